//! One owner for the arrays libxl allocates (`libxl_list_domain`,
//! `libxl_device_*_list`), freed with their own `*_list_free`.

use std::ffi::c_int;
use std::ops::Deref;

/// libxl's `*_list_free(list, count)`.
pub(crate) type ListFree<T> = unsafe extern "C" fn(*mut T, c_int);

/// An array of `len` initialised `T` from libxl.
pub(crate) struct LibxlArray<T> {
    ptr: *mut T,
    len: usize,
    free: ListFree<T>,
}

impl<T> LibxlArray<T> {
    /// Takes ownership of libxl's array.
    ///
    /// # Safety
    /// `ptr` is NULL (with `n` = 0) or points to `n` initialised elements
    /// that `free` releases, and nothing else frees them.
    pub(crate) unsafe fn from_raw(ptr: *mut T, n: c_int, free: ListFree<T>) -> Self {
        let len = if ptr.is_null() {
            0
        } else {
            usize::try_from(n).unwrap_or(0)
        };
        LibxlArray { ptr, len, free }
    }
}

impl<T> Deref for LibxlArray<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        if self.ptr.is_null() {
            &[]
        } else {
            // SAFETY: `len` initialised elements at non-null `ptr` (from_raw).
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }
}

impl<T> Drop for LibxlArray<T> {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: pointer and count from the matching libxl call; freed once.
            unsafe { (self.free)(self.ptr, self.len as c_int) }
        }
    }
}
