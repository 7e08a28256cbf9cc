//! Conversions at the C boundary, used by every module: strings in and out,
//! and owners for libxl's `_init`/`_dispose` structs.

use std::ffi::{c_char, CStr, CString};

use crate::error::{Error, Result};

/// A Rust string as a C string; an interior NUL byte is an error naming
/// `what`, never a panic.
pub(crate) fn cstring(what: &'static str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|e| Error::InvalidArgument {
        what,
        reason: format!(
            "{s:?} contains a NUL byte at offset {}, which cannot be passed to libxl",
            e.nul_position()
        ),
    })
}

/// Reads a C string that may be NULL.
///
/// # Safety
/// `p` is NULL or a valid NUL-terminated string.
pub(crate) unsafe fn opt_string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: per the caller's contract.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// Takes ownership of a `malloc`'d C string from libxl, frees it, and
/// returns its contents.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string allocated with `malloc` that no
/// one else will use or free.
pub(crate) unsafe fn take_malloced_string(p: *mut c_char) -> Option<String> {
    // SAFETY: per the caller's contract.
    let s = unsafe { opt_string(p) };
    if !p.is_null() {
        // SAFETY: malloc'd and owned by us (caller's contract).
        unsafe { libc::free(p.cast()) };
    }
    s
}

/// A copy of `s` in `malloc`'d memory, for fields libxl will `free`.
pub(crate) fn malloc_string(what: &'static str, s: &str) -> Result<*mut c_char> {
    let c = cstring(what, s)?;
    // SAFETY: `c` is a valid NUL-terminated string; strdup copies it.
    let p = unsafe { libc::strdup(c.as_ptr()) };
    if p.is_null() {
        Err(Error::InvalidArgument {
            what,
            reason: "out of memory copying the string".into(),
        })
    } else {
        Ok(p)
    }
}

/// Declares an owner for a libxl IDL struct: `_init` in `new`, `_dispose`
/// exactly once in `Drop`. `Deref` gives read access to the C struct.
macro_rules! libxl_owned {
    ($(#[$doc:meta])* $name:ident, $ty:ident, $init:ident, $dispose:ident) => {
        $(#[$doc])*
        pub(crate) struct $name(pub(crate) xenlight_sys::$ty);

        impl $name {
            pub(crate) fn new() -> Self {
                // SAFETY: the struct is plain data; `_init` fully initialises
                // it (zeroing first is what libxl's own callers do).
                unsafe {
                    let mut raw: xenlight_sys::$ty = std::mem::zeroed();
                    xenlight_sys::$init(&mut raw);
                    $name(raw)
                }
            }

            #[allow(dead_code)]
            pub(crate) fn as_mut_ptr(&mut self) -> *mut xenlight_sys::$ty {
                &mut self.0
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                // SAFETY: initialised in `new`, disposed only here, once.
                unsafe { xenlight_sys::$dispose(&mut self.0) }
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($ty))
            }
        }

        impl std::ops::Deref for $name {
            type Target = xenlight_sys::$ty;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }
    };
}
pub(crate) use libxl_owned;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_byte_is_an_error_not_a_panic() {
        let e = cstring("domain name", "bad\0name").unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("domain name") && s.contains("NUL byte at offset 3"),
            "{s}"
        );
        assert!(malloc_string("x", "a\0").is_err());
    }

    #[test]
    fn malloced_strings_round_trip() {
        let p = malloc_string("x", "hello").unwrap();
        // SAFETY: p is a fresh malloc'd string we own.
        assert_eq!(unsafe { take_malloced_string(p) }.as_deref(), Some("hello"));
        // SAFETY: NULL is allowed.
        assert_eq!(unsafe { take_malloced_string(std::ptr::null_mut()) }, None);
    }
}
