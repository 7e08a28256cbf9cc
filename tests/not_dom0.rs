//! Off Xen (development and CI machines), `Context::new` must say clearly
//! that this is not a dom0, and what to check.
//! On a Xen host it says so and checks nothing else.

mod common;

#[test]
fn context_new_off_xen_is_not_dom0_with_a_hint() {
    if common::on_xen() {
        eprintln!("skipped: this is a Xen host");
        return;
    }
    let err = xenlight::Context::new().expect_err("this machine is not a Xen dom0");
    match &err {
        xenlight::Error::NotDom0 { reason, .. } => assert!(!reason.is_empty()),
        other => panic!("expected Error::NotDom0, got {other:?}"),
    }
    let text = err.to_string();
    for hint in ["not running on a Xen dom0", "/dev/xen/privcmd", "xenstored"] {
        assert!(text.contains(hint), "{hint:?} missing from: {text}");
    }
}
