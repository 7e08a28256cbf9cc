//! The libxl context: one per application is enough, shared by all threads.

use std::mem::ManuallyDrop;
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::{Mutex, OnceLock};

use xenlight_sys as sys;

use crate::error::{Error, ErrorKind, Result};
use crate::info::VersionInfo;
use crate::logger::{self, Logger};
use crate::raw::hooks::{CHILDPROC_HOOKS, CHILDPROC_HOOKS_FORWARDED, EVENT_HOOKS};
use crate::raw::lock;
use crate::raw::waker::Waker;
use crate::raw::xenstore::Xenstore;

/// A connection to libxl (`libxl_ctx`), with its logger.
///
/// Create one with [`Context::new`] and share it: it is `Send + Sync`, and
/// libxl serialises what needs serialising inside. Dropping it frees the
/// libxl ctx, then the logger.
///
/// ```no_run
/// use xenlight::{Context, Domid};
///
/// let ctx = Context::new()?;
/// let dom0 = ctx.domain_info(Domid::DOM0)?;
/// println!("{} is {:?}", dom0.name.unwrap_or_default(), dom0.state);
/// # Ok::<(), xenlight::Error>(())
/// ```
pub struct Context {
    ctx: NonNull<sys::libxl_ctx>,
    /// Read once in `new`: libxl fills its cache lazily and without a lock.
    version: VersionInfo,
    /// Opened on first use, for the domain type libxl keeps in xenstore.
    xenstore: OnceLock<Option<Xenstore>>,
    /// Kept alive, unread, until after `ctx` is freed; leaked with the ctx
    /// when the ctx cannot be freed (see `Drop`).
    logger: ManuallyDrop<Logger>,
    /// [`Autoballoon`] as its discriminant (set from any thread).
    autoballoon: std::sync::atomic::AtomicU8,
    /// Held while a thread runs libxl's poll cycle (beforepoll, poll,
    /// afterpoll): libxl_event.h allows one polling thread per ctx.
    poll_lock: Mutex<()>,
    /// In every poll of `poll_once`: ends it when another thread wants the
    /// poll lock or a `Cancel` given to a wait is cancelled.
    waker: std::sync::Arc<Waker>,
    /// Who owns SIGCHLD for this ctx's child processes.
    child_mode: ChildMode,
}

/// Who reaps libxl's child processes (bootloader, hotplug scripts, device
/// model helpers). libxl requires every ctx of a process to use one mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildMode {
    /// libxl installs its SIGCHLD handler and reaps only its own children
    /// (`libxl_sigchld_owner_libxl_always_selective_reap`): [`Context::new`].
    LibxlReaps,
    /// The application owns SIGCHLD and tells libxl when one arrives
    /// (`libxl_sigchld_owner_mainloop` + `libxl_childproc_sigchld_occurred`):
    /// the async API, whose runtime (tokio::process, signal-hook) owns it.
    Forwarded,
}

/// Whether creating a domain may balloon dom0 down to make room for it,
/// as xl.conf's `autoballoon` (and libvirt's libxl driver) do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Autoballoon {
    /// On when Xen's command line does not give dom0 a fixed `dom0_mem`
    /// (xl's `autoballoon = "auto"`, the default).
    #[default]
    Auto,
    /// Always balloon dom0 down when free memory is short.
    On,
    /// Never: a domain that does not fit in free memory is refused with
    /// [`Error::InsufficientMemory`](crate::Error::InsufficientMemory).
    Off,
}

/// libxl installs its own SIGCHLD handler for the first ctx whose children
/// it reaps (`libxl_sigchld_owner_libxl_always_selective_reap`) and puts
/// back the previous one when the last such ctx is freed, asserting (an
/// abort) that SIGCHLD was at its default before and is still its handler
/// after. The crate checks both sides so that neither aborts: the number of
/// live Contexts, and the handler libxl installed.
struct SigchldState {
    live: usize,
    libxl_handler: libc::sighandler_t,
    /// Live Contexts in [`ChildMode::Forwarded`].
    forwarded: usize,
}

static SIGCHLD: Mutex<SigchldState> = Mutex::new(SigchldState {
    live: 0,
    libxl_handler: libc::SIG_DFL,
    forwarded: 0,
});

/// The process's current SIGCHLD action.
fn sigchld_action() -> libc::sigaction {
    // SAFETY: a zeroed sigaction is a valid out-buffer; a NULL new action
    // only reads the current one.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGCHLD, ptr::null(), &mut old);
        old
    }
}

// SAFETY: libxl.h, "libxl memory management": "From the point of view of the
// application (ie, libxl's caller), struct libxl_ctx* is threadsafe". The ctx
// may be used and freed from any thread; the logger keeps no shared state;
// the version is plain data; Xenstore is Send + Sync.
unsafe impl Send for Context {}
// SAFETY: as above: libxl takes its own ctx lock around shared state, so
// concurrent calls through `&Context` are allowed. The one lazily filled,
// unlocked cache libxl has (`ctx->version_info`) is filled in `new`, before
// the Context can be shared.
unsafe impl Sync for Context {}

impl Context {
    /// Allocates a libxl context (`libxl_ctx_alloc`), sets its child
    /// process mode to `libxl_sigchld_owner_libxl_always_selective_reap`,
    /// and reads the hypervisor's version once.
    ///
    /// On a machine that is not a Xen dom0 (no hypervisor, no
    /// `/dev/xen/privcmd`, or xenstored not running) this returns
    /// [`Error::NotDom0`] saying what is missing.
    ///
    /// ```no_run
    /// match xenlight::Context::new() {
    ///     Ok(_) => println!("on a Xen dom0"),
    ///     Err(e @ xenlight::Error::NotDom0 { .. }) => eprintln!("{e}"),
    ///     Err(e) => eprintln!("libxl failed: {e}"),
    /// }
    /// ```
    #[doc(alias = "libxl_ctx_alloc")]
    pub fn new() -> Result<Self> {
        Self::with_child_mode(ChildMode::LibxlReaps)
    }

    /// [`Context::new`] with the given owner of SIGCHLD.
    pub(crate) fn with_child_mode(child_mode: ChildMode) -> Result<Self> {
        let waker = Waker::new().map_err(|source| Error::Io {
            op: "eventfd for the context's poll loop".into(),
            source,
        })?;
        let logger = Logger::new().ok_or(Error::no_memory("xenlight logger"))?;
        logger::clear_last_error();
        let mut raw: *mut sys::libxl_ctx = ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer; the logger outlives the ctx
        // (it is dropped after libxl_ctx_free in Drop, or below on failure).
        let rc = unsafe {
            sys::libxl_ctx_alloc(&mut raw, sys::LIBXL_VERSION as i32, 0, logger.as_ptr())
        };
        let Some(ctx) = NonNull::new(raw).filter(|_| rc == 0) else {
            let message = logger::take_last_error();
            return Err(match not_dom0_reason() {
                Some(reason) => Error::NotDom0 { reason, message },
                None => Error::Libxl {
                    op: "libxl_ctx_alloc",
                    domain: None,
                    kind: ErrorKind::from_code(rc),
                    message,
                },
            });
        };
        {
            let mut st = lock(&SIGCHLD);
            let mixed = match child_mode {
                ChildMode::LibxlReaps => st.forwarded > 0,
                ChildMode::Forwarded => st.live > 0,
            };
            if mixed {
                // SAFETY: freed once, before its logger (dropped on return);
                // no child mode was set, so libxl touches no signal.
                unsafe { sys::libxl_ctx_free(ctx.as_ptr()) };
                let (wanted, existing) = match child_mode {
                    ChildMode::LibxlReaps => ("Context", "AsyncContext"),
                    ChildMode::Forwarded => ("AsyncContext", "Context"),
                };
                return Err(Error::ContextModeConflict { wanted, existing });
            }
            if child_mode == ChildMode::Forwarded {
                // SAFETY: ctx is valid; the hooks are a 'static that libxl
                // may keep; in this mode libxl touches no signal handler.
                unsafe {
                    sys::libxl_childproc_setmode(
                        ctx.as_ptr(),
                        &CHILDPROC_HOOKS_FORWARDED,
                        ptr::null_mut(),
                    )
                };
                st.forwarded += 1;
            } else if st.live == 0 {
                let a = sigchld_action();
                let siginfo = a.sa_flags & libc::SA_SIGINFO != 0;
                if siginfo || (a.sa_sigaction != libc::SIG_DFL && a.sa_sigaction != libc::SIG_IGN) {
                    // SAFETY: freed once, before its logger (dropped on return);
                    // no child mode was set, so libxl touches no signal.
                    unsafe { sys::libxl_ctx_free(ctx.as_ptr()) };
                    return Err(Error::SigchldHandlerInstalled {
                        handler: format!(
                            "handler {:#x}{}",
                            a.sa_sigaction,
                            if siginfo { ", SA_SIGINFO" } else { "" }
                        ),
                    });
                }
            }
            if child_mode == ChildMode::LibxlReaps {
                // SAFETY: ctx is valid; the hooks are a 'static that libxl
                // may keep. SIGCHLD is at its default, or libxl's own
                // (live > 0).
                unsafe {
                    sys::libxl_childproc_setmode(ctx.as_ptr(), &CHILDPROC_HOOKS, ptr::null_mut())
                };
                if st.live == 0 {
                    st.libxl_handler = sigchld_action().sa_sigaction;
                }
                st.live += 1;
            }
        }
        // SAFETY: no other thread can use this new ctx yet (libxl requires
        // that); the hooks are a 'static. Without a disaster hook libxl would
        // exit() the process on an event-machinery failure.
        unsafe { sys::libxl_event_register_callbacks(ctx.as_ptr(), &EVENT_HOOKS, ptr::null_mut()) };
        // SAFETY: this thread is the ctx's only user, so libxl's unlocked,
        // lazy fill of ctx->version_info cannot race; the result points into
        // the ctx and is copied at once.
        let v = unsafe { sys::libxl_get_version_info(ctx.as_ptr()) };
        // SAFETY: non-null, owned by the live ctx, read before anything else.
        let version = match unsafe { v.as_ref() } {
            Some(v) => VersionInfo::from_raw(v),
            None => {
                let message = logger::take_last_error();
                let mut st = lock(&SIGCHLD);
                match child_mode {
                    ChildMode::LibxlReaps => st.live -= 1,
                    ChildMode::Forwarded => st.forwarded -= 1,
                }
                drop(st);
                // SAFETY: freed once, before its logger (dropped on return).
                unsafe { sys::libxl_ctx_free(ctx.as_ptr()) };
                return Err(Error::Libxl {
                    op: "libxl_get_version_info",
                    domain: None,
                    kind: ErrorKind::Fail,
                    message,
                });
            }
        };
        Ok(Context {
            ctx,
            version,
            xenstore: OnceLock::new(),
            logger: ManuallyDrop::new(logger),
            autoballoon: std::sync::atomic::AtomicU8::new(Autoballoon::Auto as u8),
            poll_lock: Mutex::new(()),
            waker: std::sync::Arc::new(waker),
            child_mode,
        })
    }

    /// The raw `libxl_ctx` pointer, for calls this crate does not wrap.
    ///
    /// It stays valid while `self` is alive; do not free it.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// // SAFETY: the pointer is valid while `ctx` lives.
    /// let n = unsafe { xenlight_sys::libxl_get_max_cpus(ctx.as_raw()) };
    /// println!("{n} cpus");
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn as_raw(&self) -> *mut sys::libxl_ctx {
        self.ctx.as_ptr()
    }

    /// The hypervisor's version, read when the context was made.
    pub(crate) fn version(&self) -> &VersionInfo {
        &self.version
    }

    /// The lock of libxl's poll cycle (see the field).
    /// Takes the poll lock; if another thread is polling, its poll is
    /// ended first (the waker), so this one waits no longer than that.
    pub(crate) fn poll_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        match self.poll_lock.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                self.waker.wake();
                lock(&self.poll_lock)
            }
        }
    }

    /// The waker every poll of this context includes.
    pub(crate) fn waker(&self) -> &std::sync::Arc<Waker> {
        &self.waker
    }

    /// Sets whether creating a domain may balloon dom0 down
    /// ([`Autoballoon::Auto`] until set).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// ctx.set_autoballoon(xenlight::Autoballoon::Off);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn set_autoballoon(&self, mode: Autoballoon) {
        self.autoballoon
            .store(mode as u8, std::sync::atomic::Ordering::Relaxed);
    }

    /// The autoballoon setting.
    pub fn autoballoon(&self) -> Autoballoon {
        match self.autoballoon.load(std::sync::atomic::Ordering::Relaxed) {
            x if x == Autoballoon::On as u8 => Autoballoon::On,
            x if x == Autoballoon::Off as u8 => Autoballoon::Off,
            _ => Autoballoon::Auto,
        }
    }

    /// The xenstore connection, opened on first use; `None` if xenstored
    /// refuses it (callers fall back to libxl).
    pub(crate) fn xenstore(&self) -> Option<&Xenstore> {
        self.xenstore.get_or_init(Xenstore::open).as_ref()
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        let mut st = lock(&SIGCHLD);
        if self.child_mode == ChildMode::Forwarded {
            st.forwarded = st.forwarded.saturating_sub(1);
        } else {
            st.live = st.live.saturating_sub(1);
        }
        if self.child_mode == ChildMode::LibxlReaps
            && st.live == 0
            && sigchld_action().sa_sigaction != st.libxl_handler
        {
            // Freeing the last ctx makes libxl put back the old SIGCHLD
            // handler, and it aborts the process if the application replaced
            // libxl's meanwhile. Leak the ctx and its logger instead.
            st.live = 1;
            log::warn!(
                target: crate::logger::LOG_TARGET,
                "not freeing the last libxl context: the application replaced \
                 libxl's SIGCHLD handler, and libxl would abort the process"
            );
            return;
        }
        // SAFETY: the ctx came from libxl_ctx_alloc and is freed once, here,
        // before the logger it uses.
        unsafe { sys::libxl_ctx_free(self.ctx.as_ptr()) };
        // SAFETY: dropped once, after the ctx that used it.
        unsafe { ManuallyDrop::drop(&mut self.logger) };
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("ctx", &self.ctx).finish()
    }
}

/// Why this machine cannot be a working Xen dom0, if a reason can be seen.
pub(crate) fn not_dom0_reason() -> Option<String> {
    not_dom0_reason_in(Path::new("/"))
}

/// [`not_dom0_reason`] with a different filesystem root (for tests).
pub(crate) fn not_dom0_reason_in(root: &Path) -> Option<String> {
    let p = |s: &str| root.join(s.trim_start_matches('/'));
    if !p("/proc/xen").exists() && !p("/sys/hypervisor/type").exists() {
        return Some(
            "no Xen hypervisor found (/proc/xen and /sys/hypervisor/type are missing)".into(),
        );
    }
    let caps = std::fs::read_to_string(p("/proc/xen/capabilities")).unwrap_or_default();
    if p("/proc/xen/capabilities").exists() && !caps.contains("control_d") {
        return Some(
            "this is a Xen guest (domU), not dom0 (/proc/xen/capabilities lacks control_d)".into(),
        );
    }
    if !p("/dev/xen/privcmd").exists() && !p("/proc/xen/privcmd").exists() {
        return Some("/dev/xen/privcmd is missing (load the xen-privcmd module)".into());
    }
    let xenstore = [
        "/run/xenstored/socket",
        "/var/run/xenstored/socket",
        "/dev/xen/xenbus",
    ];
    if !xenstore.iter().any(|s| p(s).exists()) {
        return Some(
            "xenstored is not running (no /run/xenstored/socket or /dev/xen/xenbus)".into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnoses_each_missing_piece() {
        let dir = std::env::temp_dir().join(format!("xenlight-dom0-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mk = |p: &str| std::fs::create_dir_all(dir.join(p)).unwrap();
        let reason = || not_dom0_reason_in(&dir).unwrap_or_default();
        std::fs::create_dir_all(&dir).unwrap();
        assert!(reason().contains("no Xen hypervisor"), "{}", reason());
        mk("proc/xen");
        std::fs::write(dir.join("proc/xen/capabilities"), "").unwrap();
        assert!(reason().contains("domU"), "{}", reason());
        std::fs::write(dir.join("proc/xen/capabilities"), "control_d\n").unwrap();
        assert!(reason().contains("privcmd"), "{}", reason());
        mk("dev/xen/privcmd");
        assert!(reason().contains("xenstored"), "{}", reason());
        mk("dev/xen/xenbus");
        assert_eq!(not_dom0_reason_in(&dir), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
