//! A read-only xenstore connection for the facts libxl itself reads from
//! xenstore rather than from Xen (a domain's type: `/libxl/<domid>/type`,
//! as `libxl__domain_type` does).

use std::ffi::{c_uint, CString};
use std::ptr::NonNull;

use xenlight_sys as sys;

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
