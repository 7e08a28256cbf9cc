//! libxl's messages, routed to the `log` crate (target `xenlight`).
//!
//! libxl reports failures with a bare code and explains them only through
//! its xentoollog logger. The logger here forwards every message to `log`
//! and keeps the calling thread's latest error lines, which the next
//! [`Error`](crate::Error) built on that thread carries. Per-thread storage
//! keeps concurrent calls on a shared `Context` from swapping explanations.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr};
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;

use xenlight_sys as sys;

/// The log target libxl's messages use.
pub const LOG_TARGET: &str = "xenlight";

/// How many of the latest error lines an error keeps.
const KEPT_LINES: usize = 3;

thread_local! {
    static LAST_ERRORS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

type LogFn = unsafe extern "C" fn(c_int, c_int, *const c_char, *const c_char);
type WantedFn = extern "C" fn(c_int) -> c_int;

include!(concat!(env!("OUT_DIR"), "/logger_symbol.rs"));

/// Called from C (logger.c) with a finished message. Never unwinds: a
/// panic in the application's `log` implementation is caught and dropped, so
/// it cannot turn into undefined behaviour inside libxl.
///
/// # Safety
/// `context` and `msg` are NULL or NUL-terminated strings valid for the
/// call (logger.c passes its own buffer and libxl's context string).
unsafe extern "C" fn rust_log(
    level: c_int,
    errnoval: c_int,
    context: *const c_char,
    msg: *const c_char,
) {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: per this function's contract.
        let text = unsafe { opt_str(msg) }.unwrap_or_default();
        // SAFETY: as above.
        let context = unsafe { opt_str(context) };
        let mut line = match context {
            Some(c) if !c.is_empty() => format!("{c}: {text}"),
            _ => text,
        };
        if errnoval > 0 {
            line.push_str(&format!(
                ": {}",
                std::io::Error::from_raw_os_error(errnoval)
            ));
        }
        let level = level as sys::xentoollog_level;
        if level >= sys::xentoollog_level_XTL_ERROR {
            LAST_ERRORS.with(|l| {
                if let Ok(mut l) = l.try_borrow_mut() {
                    if l.len() == KEPT_LINES {
                        l.remove(0);
                    }
                    l.push(line.clone());
                }
            });
        }
        log::log!(target: LOG_TARGET, to_log_level(level), "{line}");
    }));
}

/// Called from C before formatting: whether a message of this level is kept
/// (errors always are, for the error they explain) or would be logged.
extern "C" fn rust_log_wanted(level: c_int) -> c_int {
    let level = level as sys::xentoollog_level;
    let wanted = panic::catch_unwind(|| {
        level >= sys::xentoollog_level_XTL_ERROR
            || log::log_enabled!(target: LOG_TARGET, to_log_level(level))
    });
    c_int::from(wanted.unwrap_or(true))
}

/// Reads an optional C string lossily.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for this call.
unsafe fn opt_str(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: non-null and NUL-terminated per the caller's contract.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

fn to_log_level(level: sys::xentoollog_level) -> log::Level {
    match level {
        l if l >= sys::xentoollog_level_XTL_ERROR => log::Level::Error,
        l if l >= sys::xentoollog_level_XTL_WARN => log::Level::Warn,
        l if l >= sys::xentoollog_level_XTL_NOTICE => log::Level::Info,
        l if l >= sys::xentoollog_level_XTL_DETAIL => log::Level::Debug,
        _ => log::Level::Trace,
    }
}

/// Forgets this thread's earlier libxl error lines (before a new call).
pub(crate) fn clear_last_error() {
    LAST_ERRORS.with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.clear();
        }
    });
}

/// Records an error line as libxl's logger would (for unit tests).
#[cfg(test)]
pub(crate) fn record_error_for_test(line: &str) {
    let msg = std::ffi::CString::new(line).unwrap_or_default();
    // SAFETY: the callback's contract: a NUL-terminated message for the call.
    unsafe {
        rust_log(
            sys::xentoollog_level_XTL_ERROR as c_int,
            0,
            std::ptr::null(),
            msg.as_ptr(),
        )
    };
}

/// Makes `message` this thread's libxl error lines: those an asynchronous
/// operation's completion took on the thread that ran it, for the error
/// built on the thread that awaited it.
#[cfg(feature = "tokio")]
pub(crate) fn put_last_error(message: Option<String>) {
    LAST_ERRORS.with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.clear();
            l.extend(message);
        }
    });
}

/// Takes this thread's libxl error lines since the last clear, joined.
pub(crate) fn take_last_error() -> Option<String> {
    LAST_ERRORS.with(|l| {
        let mut l = l.try_borrow_mut().ok()?;
        if l.is_empty() {
            None
        } else {
            let joined = l.join("; ");
            l.clear();
            Some(joined)
        }
    })
}

/// The xentoollog logger a `Context` hands libxl. Freed after the ctx.
pub(crate) struct Logger(NonNull<sys::xentoollog_logger>);

impl Logger {
    pub(crate) fn new() -> Option<Self> {
        // SAFETY: the constructor only allocates and fills a vtable; both
        // callbacks are plain functions that live as long as the program.
        NonNull::new(unsafe { xenlight_logger_new(rust_log, rust_log_wanted) }).map(Logger)
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::xentoollog_logger {
        self.0.as_ptr()
    }
}

impl Drop for Logger {
    fn drop(&mut self) {
        // SAFETY: calloc'd by the C constructor (logger.c), freed once; the
        // Context frees its libxl ctx (the only user) before the logger.
        unsafe { libc::free(self.0.as_ptr().cast()) }
    }
}

// SAFETY: the logger holds no state (the C vtable only); its callback keeps
// per-thread data in thread-locals, so it may be used from any thread.
unsafe impl Send for Logger {}
// SAFETY: as above; nothing in it is mutated after creation.
unsafe impl Sync for Logger {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review defect 10: the C half used to call an unmangled Rust
    /// symbol and export unversioned names, so two versions of the crate in
    /// one program collided at link time.
    #[test]
    fn c_logger_exports_one_versioned_symbol_and_rust_exports_none() {
        let version = env!("CARGO_PKG_VERSION").replace(['.', '-', '+'], "_");
        assert_eq!(LOGGER_NEW_SYMBOL, format!("xenlight_{version}_logger_new"));
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/xenlight/src");
        // The sources exist on the build machine (not in the Xen host).
        for entry in std::fs::read_dir(src).into_iter().flatten().flatten() {
            let path = entry.path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if path.extension().is_some_and(|e| e == "rs") {
                assert!(
                    !text.contains(&["#[no_", "mangle]"].concat()),
                    "{}",
                    path.display()
                );
            }
        }
        let c = include_str!("logger.c");
        let exported: Vec<&str> = c
            .lines()
            .filter(|l| l.starts_with("xentoollog_logger *") || l.starts_with("void xenlight"))
            .collect();
        assert_eq!(exported, ["xentoollog_logger *XENLIGHT_LOGGER_NEW(xenlight_log_fn *log, xenlight_wanted_fn *wanted)"]);
    }

    #[test]
    fn logger_forwards_error_lines_to_the_thread() {
        let lg = Logger::new().expect("logger");
        clear_last_error();
        let msg = c"boom";
        // SAFETY: the callback contract: NUL-terminated strings for the call.
        unsafe {
            rust_log(
                sys::xentoollog_level_XTL_ERROR as c_int,
                0,
                std::ptr::null(),
                msg.as_ptr(),
            )
        };
        assert_eq!(take_last_error().as_deref(), Some("boom"));
        drop(lg);
    }
}
