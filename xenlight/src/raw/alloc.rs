//! Values crossing the C boundary: strings in and out, and `malloc`'d
//! arrays and bitmaps for struct fields that libxl's `_dispose` frees.

use std::ffi::{c_char, c_int, CStr, CString};

use super::owned::LibxlStruct;
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

/// Reads a C string that may be NULL (lossily, for display).
///
/// # Safety
/// `p` is NULL or a valid NUL-terminated string.
pub(crate) unsafe fn opt_string(p: *const c_char) -> Option<String> {
    // SAFETY: per the caller's contract.
    unsafe { opt_bytes(p) }.map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Reads a C string that may be NULL, byte for byte.
///
/// # Safety
/// `p` is NULL or a valid NUL-terminated string.
pub(crate) unsafe fn opt_bytes(p: *const c_char) -> Option<Vec<u8>> {
    if p.is_null() {
        None
    } else {
        // SAFETY: per the caller's contract.
        Some(unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
    }
}

/// Takes a `malloc`'d C string from libxl, frees it, and returns its bytes.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string allocated with `malloc` that no
/// one else will use or free.
pub(crate) unsafe fn take_malloced_bytes(p: *mut c_char) -> Option<Vec<u8>> {
    // SAFETY: per the caller's contract.
    let s = unsafe { opt_bytes(p) };
    // SAFETY: malloc'd and owned by us (caller's contract); free(NULL) is a no-op.
    unsafe { libc::free(p.cast()) };
    s
}

/// [`take_malloced_bytes`], read lossily as text.
///
/// # Safety
/// As for [`take_malloced_bytes`].
pub(crate) unsafe fn take_malloced_string(p: *mut c_char) -> Option<String> {
    // SAFETY: per the caller's contract.
    unsafe { take_malloced_bytes(p) }.map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// A copy of `s` in `malloc`'d memory, for fields libxl will `free`; an
/// interior NUL byte is an error naming `what`. One allocation, one copy.
pub(crate) fn malloc_string(what: &'static str, s: &str) -> Result<*mut c_char> {
    if s.as_bytes().contains(&0) {
        return cstring(what, s).map(|_| std::ptr::null_mut());
    }
    // SAFETY: malloc of len+1 bytes, checked for NULL; the bytes and the
    // terminating NUL fit.
    unsafe {
        let p = libc::malloc(s.len() + 1).cast::<u8>();
        if p.is_null() {
            return Err(Error::no_memory(what));
        }
        std::ptr::copy_nonoverlapping(s.as_ptr(), p, s.len());
        *p.add(s.len()) = 0;
        Ok(p.cast())
    }
}

/// A `calloc`'d array of `n` initialised structs, or NULL for none: what a
/// config's device arrays must be for `libxl_domain_config_dispose`.
pub(crate) fn calloc_structs<T: LibxlStruct>(
    what: &'static str,
    n: usize,
) -> Result<(*mut T, c_int)> {
    if n == 0 {
        return Ok((std::ptr::null_mut(), 0));
    }
    let count = c_int::try_from(n).map_err(|_| Error::InvalidArgument {
        what,
        reason: format!("{n} is more than libxl can hold"),
    })?;
    // SAFETY: calloc of n elements; checked for NULL below.
    let p = unsafe { libc::calloc(n, std::mem::size_of::<T>()) }.cast::<T>();
    if p.is_null() {
        return Err(Error::no_memory(what));
    }
    for i in 0..n {
        // SAFETY: i < n, inside the zeroed allocation; init initialises it.
        unsafe { T::init(p.add(i)) };
    }
    Ok((p, count))
}

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
