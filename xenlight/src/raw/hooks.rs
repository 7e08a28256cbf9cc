//! The callback tables libxl keeps pointers to: `static`s, so they outlive
//! every ctx. The callbacks never unwind into C.

use std::ffi::{c_char, c_int, c_void};

use xenlight_sys as sys;

/// libxl keeps a pointer to these hooks, so they must outlive every ctx.
///
/// `libxl_sigchld_owner_libxl_always_selective_reap` (libxl_event.h): libxl
/// installs its SIGCHLD handler but reaps only its own children, so an
/// application's `std::process::Command` children keep working: their
/// `wait()` still gets their status. Every ctx of a process must use the same
/// mode, which this crate guarantees by setting it on each `Context`.
pub(crate) static CHILDPROC_HOOKS: sys::libxl_childproc_hooks = sys::libxl_childproc_hooks {
    chldowner: sys::libxl_sigchld_owner_libxl_sigchld_owner_libxl_always_selective_reap,
    fork_replacement: Some(super::fork::fork_replacement),
    reaped_callback: None,
};

/// The async API's mode: the application (its runtime) owns SIGCHLD and
/// the crate calls `libxl_childproc_sigchld_occurred` when one arrives.
pub(crate) static CHILDPROC_HOOKS_FORWARDED: sys::libxl_childproc_hooks =
    sys::libxl_childproc_hooks {
        chldowner: sys::libxl_sigchld_owner_libxl_sigchld_owner_mainloop,
        fork_replacement: Some(super::fork::fork_replacement),
        reaped_callback: None,
    };

/// Hooks registered on every ctx: all events stay queued for the waiter that
/// asks for them (mask 0), and an event-machinery disaster is logged instead
/// of libxl calling exit().
pub(crate) static EVENT_HOOKS: sys::libxl_event_hooks = sys::libxl_event_hooks {
    event_occurs_mask: 0,
    event_occurs: None,
    disaster: Some(disaster),
};

/// libxl's "the event machinery is broken" callback. Never unwinds.
unsafe extern "C" fn disaster(
    _user: *mut c_void,
    _type: sys::libxl_event_type,
    msg: *const c_char,
    errnoval: c_int,
) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: libxl passes a NUL-terminated message or NULL.
        let m = unsafe { super::alloc::opt_string(msg) }.unwrap_or_default();
        log::error!(target: crate::logger::LOG_TARGET, "libxl event machinery failed: {m} (errno {errnoval})");
    });
}
