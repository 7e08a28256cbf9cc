//! libxl's logger calls into the application's `log` implementation from C;
//! a panic there must not unwind into libxl (that would abort or worse).
//! On a Xen host it says so and checks nothing else.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

static CALLS: AtomicUsize = AtomicUsize::new(0);

struct PanickingLogger;

impl log::Log for PanickingLogger {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        if record.target() == xenlight::LOG_TARGET {
            CALLS.fetch_add(1, Ordering::SeqCst);
            panic!("a log implementation that panics");
        }
    }
    fn flush(&self) {}
}

#[test]
fn panicking_log_implementation_does_not_unwind_into_libxl() {
    if common::on_xen() {
        eprintln!("skipped: this is a Xen host");
        return;
    }
    log::set_logger(&PanickingLogger).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    // Off Xen, libxl_ctx_alloc logs its failure through our logger.
    for _ in 0..3 {
        let err = xenlight::Context::new().expect_err("not a dom0");
        assert!(matches!(err, xenlight::Error::NotDom0 { .. }), "{err:?}");
    }
    assert!(
        CALLS.load(Ordering::SeqCst) >= 3,
        "the logger was never called"
    );
}
