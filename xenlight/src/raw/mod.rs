//! The raw layer: the only place that knows how libxl owns memory and
//! reports failure. Most of the crate's `unsafe` lives here.
//!
//! * [`Owned`]: one owner for every libxl struct with `_init`/`_dispose`.
//! * [`LibxlArray`]: one owner for arrays libxl allocates and frees itself.
//! * [`cvalue`]: Rust values to and from libxl's C values, one rule per
//!   kind of value; the generated IDL types are built from them.
//! * [`alloc`]: strings, arrays and bitmaps in `malloc`'d memory, for
//!   fields libxl will free.
//! * [`call`]: the one path from a libxl call to a `Result`
//!   (`try_call!`), with one table of normalisations.
//! * [`hooks`]: the `static` callback tables libxl keeps pointers to.
//! * [`fork`]: the fork libxl's children are made with, safe beside other
//!   threads' hypercalls.
//! * [`xenstore`]: a read-only xenstore connection, for the facts libxl
//!   itself reads from there.

pub(crate) mod alloc;
pub(crate) mod array;
pub(crate) mod call;
pub(crate) mod cvalue;
pub(crate) mod fork;
pub(crate) mod hooks;
pub(crate) mod owned;
pub(crate) mod waker;
pub(crate) mod xenstore;

pub(crate) use array::LibxlArray;
pub(crate) use call::{error_for, non_null, raw_call, try_call, On};
pub(crate) use owned::Owned;

/// Locks a mutex whose data stays valid even if a holder panicked (flags,
/// maps and queues updated in single steps): the poison is ignored.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
