//! A read-only xenstore connection for the facts libxl itself reads from
//! xenstore rather than from Xen (a domain's type: `/libxl/<domid>/type`,
//! as `libxl__domain_type` does), and a watch of its own for the event
//! stream (new, renamed and released domains).

use std::ffi::{c_uint, CString};
use std::ptr::NonNull;

use xenlight_sys as sys;

use crate::ids::Uuid;

/// An open `xs_handle`, closed on drop.
pub(crate) struct Xenstore(NonNull<sys::xs_handle>);

// SAFETY: libxenstore serialises requests on one handle with its
// request_mutex (xs.c, built with USE_PTHREAD on Debian), and libxl itself
// shares one xs_handle per ctx between all threads, as libxl.h's "struct
// libxl_ctx* is threadsafe" requires. We never register watches on it.
unsafe impl Send for Xenstore {}
// SAFETY: as above.
unsafe impl Sync for Xenstore {}

impl Xenstore {
    /// Connects to xenstored (`xs_open`); `None` if it cannot.
    pub(crate) fn open() -> Option<Self> {
        // SAFETY: xs_open has no preconditions; NULL means failure.
        NonNull::new(unsafe { sys::xs_open(sys::XS_OPEN_READONLY as _) }).map(Xenstore)
    }

    /// The value at `path`, if there is one (`xs_read`).
    pub(crate) fn read(&self, path: &str) -> Option<Vec<u8>> {
        let path = CString::new(path).ok()?;
        let mut len: c_uint = 0;
        // SAFETY: a live handle, a NUL-terminated path, a valid out-pointer;
        // the result is malloc'd (or NULL) and taken over below.
        let p = unsafe { sys::xs_read(self.0.as_ptr(), sys::XBT_NULL, path.as_ptr(), &mut len) };
        if p.is_null() {
            return None;
        }
        // SAFETY: xs_read returned `len` bytes at `p`.
        let v = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len as usize) }.to_vec();
        // SAFETY: malloc'd by libxenstore for us; freed once.
        unsafe { libc::free(p) };
        Some(v)
    }
}

impl Drop for Xenstore {
    fn drop(&mut self) {
        // SAFETY: opened by xs_open, closed once.
        unsafe { sys::xs_close(self.0.as_ptr()) }
    }
}

/// What fired since the last look (see [`XenstoreWatch::fired`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Fired {
    /// Something fired: a domain may have come or gone.
    pub(crate) any: bool,
    /// The UUIDs whose `/vm/<uuid>/name` was written: libxl writes it with
    /// `/local/domain/<id>/name`, in one transaction, when it makes a
    /// domain and when it renames one.
    pub(crate) named: Vec<Uuid>,
}

/// A connection of its own with watches on the paths that change when a
/// domain appears, is renamed or goes: `@introduceDomain` and
/// `@releaseDomain` (xenstored's special paths) and `/vm`, which libxl
/// writes at creation, at a rename and at destruction. Closing the
/// handle drops its watches (xenstored ends them with the connection).
pub(crate) struct XenstoreWatch(NonNull<sys::xs_handle>);

// SAFETY: libxenstore serialises requests on one handle with its
// request_mutex and queues watch events under watch_mutex (xs.c with
// USE_PTHREAD, as Debian builds it); the handle is used by its one owner
// (`&self` calls only ever come from the event stream, `&mut` behind it).
unsafe impl Send for XenstoreWatch {}

/// The token our watches carry (xenstored echoes it back).
const TOKEN: &std::ffi::CStr = c"xenlight-domains";

impl XenstoreWatch {
    /// Opens a connection and sets the watches; `None` if either fails
    /// (then the caller looks at the domain list every time instead).
    pub(crate) fn open() -> Option<Self> {
        // SAFETY: xs_open has no preconditions; NULL means failure.
        let h = NonNull::new(unsafe { sys::xs_open(0) }).map(XenstoreWatch)?;
        for path in [c"@introduceDomain", c"@releaseDomain", c"/vm"] {
            // SAFETY: a live handle and NUL-terminated strings, which
            // libxenstore copies.
            if !unsafe { sys::xs_watch(h.0.as_ptr(), path.as_ptr(), TOKEN.as_ptr()) } {
                return None;
            }
        }
        Some(h)
    }

    /// A file descriptor that is readable while watch events are queued
    /// (`xs_fileno`: libxenstore's watch pipe, made on the first call),
    /// for a poll to wake on; `None` if libxenstore could not make it.
    pub(crate) fn fd(&self) -> Option<std::os::fd::RawFd> {
        // SAFETY: a live handle; xs_fileno returns -1 on failure.
        let fd = unsafe { sys::xs_fileno(self.0.as_ptr()) };
        (fd >= 0).then_some(fd)
    }

    /// Takes every watch event queued since the last call, without
    /// blocking (`xs_check_watch`). Each watch also fires once when set,
    /// so the first call reports `any`.
    pub(crate) fn fired(&self) -> Fired {
        let mut fired = Fired::default();
        loop {
            // SAFETY: a live handle; the result is NULL (none queued) or
            // one malloc'd block holding the path and token strings.
            let ev = unsafe { sys::xs_check_watch(self.0.as_ptr()) };
            if ev.is_null() {
                return fired;
            }
            fired.any = true;
            // SAFETY: ev[XS_WATCH_PATH] (index 0, xen/io/xs_wire.h) is a
            // NUL-terminated string inside the block, alive until the
            // block is freed just below.
            let path = unsafe { std::ffi::CStr::from_ptr(*ev) };
            let uuid: Option<Uuid> = path
                .to_str()
                .ok()
                .and_then(|p| p.strip_prefix("/vm/")?.strip_suffix("/name")?.parse().ok());
            fired.named.extend(uuid);
            // SAFETY: the block xs_check_watch malloc'd for us; freed once.
            unsafe { libc::free(ev.cast()) };
        }
    }
}

impl Drop for XenstoreWatch {
    fn drop(&mut self) {
        // SAFETY: opened by xs_open, closed once (its watches end with it).
        unsafe { sys::xs_close(self.0.as_ptr()) }
    }
}
