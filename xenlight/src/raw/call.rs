//! The one path from a libxl call to a `Result`.
//!
//! `try_call!` forgets the thread's earlier libxl log
//! lines, makes the call with the context's raw pointer, names the operation
//! after the C function (written once, at the call), and hands the code to
//! [`check`], which holds the only table of normalisations:
//!
//! | code, target | error |
//! |---|---|
//! | `ERROR_DOMAIN_NOTFOUND`, any | [`Error::DomainNotFound`] |
//! | any failure, a domain that is gone | [`Error::DomainNotFound`] |
//! | `ERROR_DEVICE_EXISTS`, a device | [`Error::DeviceExists`] |
//! | `ERROR_NOTFOUND`, a device | [`Error::DeviceNotFound`] |
//! | `ERROR_INVAL`/`ERROR_NOTFOUND`, a name lookup | [`Error::DomainNotFound`] |
//! | anything else | [`Error::Libxl`] |

use std::ffi::c_int;

use xenlight_sys as sys;

use super::owned::Owned;
use crate::error::{DomainRef, Error, ErrorKind, Result};
use crate::ids::Domid;

/// What a libxl call was about, for its error.
#[derive(Debug, Clone, Copy)]
pub(crate) enum On<'a> {
    /// Nothing in particular (host-wide calls).
    Host,
    /// A domain by id.
    Domain(Domid),
    /// A domain being created or configured, by name.
    Named(&'a str),
    /// Looking a domain up by name: "invalid"/"not found" mean no such domain.
    Lookup(&'a str),
    /// A device of a domain (vdev or "nic N").
    Device(Domid, &'a str),
}

impl On<'_> {
    fn domain(self) -> Option<DomainRef> {
        match self {
            On::Host => None,
            On::Domain(d) | On::Device(d, _) => Some(DomainRef::Id(d)),
            On::Named(n) | On::Lookup(n) => Some(DomainRef::Name(n.to_owned())),
        }
    }
}

/// Turns libxl's return code into a `Result`, applying the table above.
pub(crate) fn check(
    ctx: *mut sys::libxl_ctx,
    rc: c_int,
    op: &'static str,
    on: On<'_>,
) -> Result<()> {
    if rc == 0 {
        return Ok(());
    }
    let err = error_for(rc, op, on);
    match (err, on) {
        // libxl answers a call on a vanished domain with whatever code the
        // step that noticed chose; say what happened.
        (Error::Libxl { message, .. }, On::Domain(d) | On::Device(d, _))
            if domain_is_gone(ctx, d) =>
        {
            Err(Error::DomainNotFound {
                op,
                domain: Some(DomainRef::Id(d)),
                message,
            })
        }
        (err, _) => Err(err),
    }
}

/// The error for a failure code, by the table above but for its "domain
/// gone" row (which asks libxl): also what an operation reports when its own
/// check refuses before calling libxl (a device that exists or is missing).
pub(crate) fn error_for(rc: c_int, op: &'static str, on: On<'_>) -> Error {
    let device_error = |exists: bool, domid, device: &str| {
        let (op, domain, device) = (op, DomainRef::Id(domid), device.to_owned());
        if exists {
            Error::DeviceExists { op, domain, device }
        } else {
            Error::DeviceNotFound { op, domain, device }
        }
    };
    match (ErrorKind::from_code(rc), on) {
        (ErrorKind::DeviceExists, On::Device(d, dev)) => device_error(true, d, dev),
        (ErrorKind::NotFound, On::Device(d, dev)) => device_error(false, d, dev),
        (ErrorKind::Invalid | ErrorKind::NotFound, On::Lookup(_)) => Error::DomainNotFound {
            op,
            domain: on.domain(),
            message: crate::logger::take_last_error(),
        },
        _ => Error::from_libxl(rc, op, on.domain()),
    }
}

/// Whether libxl no longer knows the domain (its lookup says not found).
fn domain_is_gone(ctx: *mut sys::libxl_ctx, domid: Domid) -> bool {
    let mut info = Owned::<sys::libxl_dominfo>::new();
    // SAFETY: ctx is the live ctx of the failed call; info is initialised
    // and owned.
    let rc = unsafe { sys::libxl_domain_info(ctx, info.as_mut_ptr(), domid.get()) };
    crate::logger::clear_last_error();
    rc == sys::libxl_error_ERROR_DOMAIN_NOTFOUND
}

/// For the list calls that return NULL both for "none" and on failure
/// (`libxl_device_*_list`, the PCI lists): only the error libxl logged
/// tells the two apart. `Some` is the failure.
pub(crate) fn null_list_failure(op: &'static str, on: On<'_>) -> Option<Error> {
    crate::logger::take_last_error().map(|message| Error::Libxl {
        op,
        domain: on.domain(),
        kind: ErrorKind::Fail,
        message: Some(message),
    })
}

/// A pointer libxl returns where NULL means failure, as a `Result`: the
/// failure goes through [`check`], so a call on a domain that is gone says
/// so.
pub(crate) fn non_null<T>(
    ctx: *mut sys::libxl_ctx,
    p: *mut T,
    op: &'static str,
    on: On<'_>,
) -> Result<*mut T> {
    if p.is_null() {
        check(ctx, sys::libxl_error_ERROR_FAIL, op, on)?;
    }
    Ok(p)
}

/// Calls a libxl function that returns an `ERROR_*` code, with the
/// context's raw ctx as first argument, and checks the code ([`check`]).
///
/// `try_call!(ctx, on, unsafe libxl_fn(args...))`: the caller writes
/// `unsafe` and a `// SAFETY:` comment for the arguments, as for any unsafe
/// call; `ctx` is a `&Context`, whose ctx is valid while it lives.
macro_rules! try_call {
    ($ctx:expr, $on:expr, unsafe $func:ident($($arg:expr),* $(,)?)) => {{
        let raw_ctx: *mut xenlight_sys::libxl_ctx = $ctx.as_raw();
        $crate::logger::clear_last_error();
        // SAFETY: raw_ctx is the live ctx of a borrowed Context; the
        // arguments' invariants are stated at the call site, which spells
        // `unsafe` to say so.
        let rc = unsafe { xenlight_sys::$func(raw_ctx, $($arg),*) };
        $crate::raw::call::check(raw_ctx, rc, stringify!($func), $on)
    }};
}

/// Calls a libxl function whose result is not an `ERROR_*` code (a
/// pointer, a count), after forgetting the thread's earlier libxl log
/// lines; evaluates to `(result, "libxl_fn")` so the caller can build an
/// error named after the function.
macro_rules! raw_call {
    ($ctx:expr, unsafe $func:ident($($arg:expr),* $(,)?)) => {{
        let raw_ctx: *mut xenlight_sys::libxl_ctx = $ctx.as_raw();
        $crate::logger::clear_last_error();
        // SAFETY: as in try_call!: a live ctx, and the call site's SAFETY
        // comment for the arguments.
        (unsafe { xenlight_sys::$func(raw_ctx, $($arg),*) }, stringify!($func))
    }};
}
pub(crate) use {raw_call, try_call};
