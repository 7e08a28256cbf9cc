//! SIGCHLD and libxl (issue 14): libxl reaps its own children and aborts the
//! process when the application's SIGCHLD handler is in its way. Contexts
//! must refuse, or step aside, instead. Its own test binary: it changes the
//! process's signal handling.

mod common;

use xenlight::{Context, Error};

extern "C" fn app_handler(_: libc::c_int) {}

/// Sets SIGCHLD's handler; returns the previous one.
fn set_sigchld(handler: libc::sighandler_t) -> libc::sighandler_t {
    // SAFETY: a zeroed sigaction with a plain handler (or SIG_DFL); the
    // previous action is read into a valid buffer.
    unsafe {
        let mut new: libc::sigaction = std::mem::zeroed();
        new.sa_sigaction = handler;
        let mut old: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(libc::SIGCHLD, &new, &mut old), 0);
        old.sa_sigaction
    }
}

#[test]
fn an_application_sigchld_handler_is_a_typed_error_not_an_abort() {
    // The application owns SIGCHLD first: the first Context refuses.
    set_sigchld(app_handler as *const () as libc::sighandler_t);
    match Context::new() {
        Err(Error::SigchldHandlerInstalled { handler }) => assert!(!handler.is_empty()),
        other => panic!("expected SigchldHandlerInstalled, got {other:?}"),
    }
    // At its default, Context::new works and libxl installs its handler.
    set_sigchld(libc::SIG_DFL);
    let ctx = Context::new().expect("Context with SIGCHLD at its default");
    assert!(!ctx.domains().unwrap().is_empty());
    // A second Context while the first lives: libxl's own handler is fine.
    let second = Context::new().expect("a second Context");
    drop(second);
    // The application replaces libxl's handler while a Context lives:
    // dropping the last Context must not abort (libxl would assert).
    let libxls = set_sigchld(app_handler as *const () as libc::sighandler_t);
    drop(ctx);
    // Still alive; and with libxl's handler back, new Contexts work again.
    set_sigchld(libxls);
    let again = Context::new().expect("a Context after the leak");
    assert!(!again.domains().unwrap().is_empty());
}
