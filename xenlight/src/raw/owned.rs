//! One owner for libxl's IDL structs: `_init` on creation, `_dispose`
//! exactly once on drop.

use std::ops::Deref;

/// A libxl struct with `_init` and `_dispose` functions.
///
/// # Safety
/// `init` must fully initialise a zeroed value, and `dispose` must free
/// exactly what libxl allocated into an initialised one, leaving it safe to
/// drop as plain data.
pub unsafe trait LibxlStruct: Sized {
    /// libxl's `_init`.
    unsafe fn init(p: *mut Self);
    /// libxl's `_dispose`.
    unsafe fn dispose(p: *mut Self);
}

/// Implements [`LibxlStruct`] for libxl types: one line each.
macro_rules! libxl_structs {
    ($($ty:ident => $init:ident, $dispose:ident;)*) => {
        $(
            // SAFETY: libxl's own _init/_dispose pair for this IDL type
            // (libxl.h: "_init ... _dispose ... for each IDL type").
            unsafe impl $crate::raw::owned::LibxlStruct for ::xenlight_sys::$ty {
                unsafe fn init(p: *mut Self) {
                    // SAFETY: the caller passes a valid, writable pointer.
                    unsafe { ::xenlight_sys::$init(p) }
                }
                unsafe fn dispose(p: *mut Self) {
                    // SAFETY: the caller passes an initialised value.
                    unsafe { ::xenlight_sys::$dispose(p) }
                }
            }
        )*
    };
    // IDL types declared with `dispose_fn=None`: plain data, nothing to free.
    ($ty:ident => $init:ident, no dispose;) => {
        // SAFETY: libxl's own _init; the IDL declares no _dispose because
        // the type holds nothing allocated.
        unsafe impl $crate::raw::owned::LibxlStruct for ::xenlight_sys::$ty {
            unsafe fn init(p: *mut Self) {
                // SAFETY: the caller passes a valid, writable pointer.
                unsafe { ::xenlight_sys::$init(p) }
            }
            unsafe fn dispose(_: *mut Self) {}
        }
    };
}
pub(crate) use libxl_structs;

// The IDL types' impls are generated with them (crate::types).

/// An initialised libxl struct, disposed on drop. The struct holds no
/// pointer to itself, so it may move.
///
/// This is also the escape hatch for libxl calls the crate does not wrap:
/// [`IdlType::to_libxl`](crate::types::IdlType::to_libxl) gives one, whose
/// pointer a `sys` function can take.
///
/// Reading the C struct is safe; changing it is not, since `_dispose` frees
/// what its pointers and counts say it holds (a count raised over a NULL
/// array would make it walk NULL). So there is no `DerefMut`, and safe code
/// cannot write a field:
///
/// ```compile_fail,E0594
/// use xenlight::types::{DomainConfig, IdlType};
/// let mut c = DomainConfig::default().to_libxl().unwrap();
/// c.num_disks = 2; // refused: the owner hands out no `&mut`
/// ```
///
/// Writes go through [`Owned::as_mut_ptr`], in `unsafe` code that keeps
/// the struct disposable.
pub struct Owned<T: LibxlStruct>(T);

impl<T: LibxlStruct> Owned<T> {
    /// A fresh value with libxl's defaults (`_init`).
    pub fn new() -> Self {
        let mut v = std::mem::MaybeUninit::<T>::zeroed();
        // SAFETY: zeroed memory of T's size (what libxl's own callers hand
        // `_init`); `_init` then initialises it fully (LibxlStruct's contract).
        unsafe {
            T::init(v.as_mut_ptr());
            Owned(v.assume_init())
        }
    }

    /// The struct, for libxl calls that fill or read it. Writing through
    /// the pointer is `unsafe`: `_dispose` frees what the struct's pointers
    /// and counts say it holds, so they must stay libxl's (malloc'd, with
    /// matching counts). There is no `DerefMut` for that reason.
    pub fn as_mut_ptr(&mut self) -> *mut T {
        &mut self.0
    }

    /// The struct, mutable, for the crate's own conversions and the libxl
    /// calls' plain fields.
    ///
    /// # Safety
    /// Whatever is written must keep `_dispose` sound: pointers libxl will
    /// free come from `malloc` and agree with their counts, and nothing it
    /// owns is dropped or duplicated.
    pub(crate) unsafe fn get_mut(&mut self) -> &mut T {
        &mut self.0
    }

    /// The struct, for libxl calls that read it.
    pub fn as_ptr(&self) -> *const T {
        &self.0
    }
}

impl<T: LibxlStruct> Default for Owned<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: LibxlStruct> Deref for Owned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: LibxlStruct> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, disposed only here, once.
        unsafe { T::dispose(&mut self.0) }
    }
}

impl<T: LibxlStruct> std::fmt::Debug for Owned<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Owned<{}>", std::any::type_name::<T>())
    }
}
