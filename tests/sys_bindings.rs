//! The raw bindings, exercised without a hypervisor.

mod common;

use xenlight_sys as sys;

#[test]
fn static_inline_bitmap_helpers_are_callable() {
    // SAFETY: the bitmap is initialised, allocated by libxl and disposed once;
    // the helpers read and write within its `size` bytes.
    unsafe {
        let mut bm: sys::libxl_bitmap = std::mem::zeroed();
        sys::libxl_bitmap_init(&mut bm);
        // 16 bits = 2 bytes, malloc'd because libxl_bitmap_dispose frees it.
        bm.map = libc::calloc(2, 1).cast();
        assert!(!bm.map.is_null());
        bm.size = 2;
        sys::libxl_bitmap_set_none(&mut bm);
        assert_eq!(
            sys::libxl_bitmap_cpu_valid(&mut bm, 3),
            1,
            "bit 3 is inside 16 bits"
        );
        assert_eq!(
            sys::libxl_bitmap_cpu_valid(&mut bm, 16),
            0,
            "bit 16 is outside"
        );
        assert_eq!(sys::libxl_bitmap_test(&bm, 5), 0);
        sys::libxl_bitmap_set(&mut bm, 5);
        assert_eq!(sys::libxl_bitmap_test(&bm, 5), 1);
        assert_eq!(sys::libxl_bitmap_count_set(&bm), 1);
        sys::libxl_bitmap_set_any(&mut bm);
        assert_eq!(sys::libxl_bitmap_count_set(&bm), 16);
        sys::libxl_bitmap_dispose(&mut bm);
    }
}

#[test]
fn error_codes_and_version_constants_are_bound() {
    assert_eq!(sys::libxl_error_ERROR_FAIL, -3);
    assert_eq!(sys::libxl_error_ERROR_DOMAIN_NOTFOUND, -21);
    assert_eq!(sys::LIBXL_VERSION, 0);
}

/// Without a hypervisor, libxl_ctx_alloc must fail cleanly with ERROR_FAIL.
#[test]
fn ctx_alloc_fails_with_error_fail_off_xen() {
    if common::on_xen() {
        eprintln!("skipped: this is a Xen host");
        return;
    }
    // SAFETY: the logger is created and destroyed here; ctx_alloc writes the
    // out-pointer only on success; nothing is used after it is freed.
    unsafe {
        let lg =
            sys::xtl_createlogger_stdiostream(stdout_file(), sys::xentoollog_level_XTL_CRITICAL, 0);
        assert!(!lg.is_null());
        let mut ctx: *mut sys::libxl_ctx = std::ptr::null_mut();
        let rc = sys::libxl_ctx_alloc(&mut ctx, sys::LIBXL_VERSION as i32, 0, lg.cast());
        assert_eq!(
            rc,
            sys::libxl_error_ERROR_FAIL,
            "expected ERROR_FAIL off Xen, got {rc}"
        );
        if !ctx.is_null() {
            sys::libxl_ctx_free(ctx);
        }
        sys::xtl_logger_destroy(lg.cast());
    }
}

fn stdout_file() -> *mut sys::FILE {
    // SAFETY: fdopen on a dup of stdout gives a FILE we never close (the
    // test process ends soon); the mode string is NUL-terminated.
    unsafe { libc::fdopen(libc::dup(1), c"w".as_ptr()).cast() }
}
