//! The C baseline of the benchmarks: what a careful C program holds and
//! calls for the same facts the safe API returns.

use std::ptr;

use xenlight::Domid;
use xenlight_sys as sys;

/// A raw libxl ctx with a stderr logger, and a xenstore connection, as a
/// C program would hold them.
pub struct Raw {
    pub ctx: *mut sys::libxl_ctx,
    lg: *mut sys::xentoollog_logger_stdiostream,
    xs: *mut sys::xs_handle,
}

impl Raw {
    pub fn new() -> Raw {
        // SAFETY: fdopen of a dup of stderr; logger and ctx are freed in Drop.
        unsafe {
            let f = libc::fdopen(libc::dup(2), c"w".as_ptr());
            let lg =
                sys::xtl_createlogger_stdiostream(f.cast(), sys::xentoollog_level_XTL_ERROR, 0);
            let mut ctx = ptr::null_mut();
            let rc = sys::libxl_ctx_alloc(&mut ctx, sys::LIBXL_VERSION as i32, 0, lg.cast());
            assert_eq!(rc, 0, "libxl_ctx_alloc");
            let xs = sys::xs_open(0);
            assert!(!xs.is_null(), "xenstore connection");
            Raw { ctx, lg, xs }
        }
    }

    /// A domain's memory target, read from xenstore as `DomainInfo`'s is.
    pub fn target(&self, domid: u32) {
        let path = std::ffi::CString::new(format!("/local/domain/{domid}/memory/target")).unwrap();
        // SAFETY: valid handle and path; the value is freed.
        unsafe {
            let mut len = 0;
            libc::free(sys::xs_read(self.xs, sys::XBT_NULL, path.as_ptr(), &mut len).cast());
        }
    }

    /// For a domain Xen reports as HVM, the type libxl recorded in
    /// xenstore (read as libxl__domain_type reads it), which tells PVH
    /// from HVM: what `domains()` and `domain_info()` read too.
    pub fn typed(&self, domid: u32, hvm: bool) {
        if !hvm || domid == 0 {
            return;
        }
        let path = std::ffi::CString::new(format!("/libxl/{domid}/type")).unwrap();
        // SAFETY: valid handle and path; the value is freed.
        unsafe {
            let mut len = 0;
            let v = sys::xs_read(self.xs, sys::XBT_NULL, path.as_ptr(), &mut len);
            assert!(!v.is_null(), "no type recorded for domain {domid}");
            libc::free(v);
        }
    }

    /// libxl_list_domain + a name, a memory target and (for HVM-flagged
    /// domains) the recorded type per domain + free: what `domains()` does.
    pub fn list(&self) -> usize {
        // SAFETY: valid ctx; the list and names are freed as libxl documents.
        unsafe {
            let mut n = 0;
            let l = sys::libxl_list_domain(self.ctx, &mut n);
            assert!(!l.is_null());
            let mut named = 0;
            for d in std::slice::from_raw_parts(l, n as usize) {
                let name = sys::libxl_domid_to_name(self.ctx, d.domid);
                named += usize::from(!name.is_null());
                libc::free(name.cast());
                self.target(d.domid);
                self.typed(
                    d.domid,
                    d.domain_type == sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_HVM as _,
                );
            }
            sys::libxl_dominfo_list_free(l, n);
            named
        }
    }

    /// libxl_domain_info + its name and memory target: what `domain_info()`
    /// does.
    pub fn info(&self, domid: Domid) -> u64 {
        // SAFETY: init/dispose pair around the call; the name is freed.
        unsafe {
            let mut d: sys::libxl_dominfo = std::mem::zeroed();
            sys::libxl_dominfo_init(&mut d);
            assert_eq!(sys::libxl_domain_info(self.ctx, &mut d, domid.get()), 0);
            let name = sys::libxl_domid_to_name(self.ctx, domid.get());
            libc::free(name.cast());
            self.target(domid.get());
            self.typed(
                domid.get(),
                d.domain_type == sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_HVM as _,
            );
            let m = d.current_memkb;
            sys::libxl_dominfo_dispose(&mut d);
            m
        }
    }
}

impl Raw {
    /// libxl_name_to_domid + [`Raw::info`]: what `domain_info(name)` does.
    pub fn info_by_name(&self, name: &std::ffi::CStr) -> u64 {
        let mut domid = 0;
        // SAFETY: valid ctx, a NUL-terminated name and an out-pointer.
        let rc = unsafe { sys::libxl_name_to_domid(self.ctx, name.as_ptr(), &mut domid) };
        assert_eq!(rc, 0, "libxl_name_to_domid({name:?})");
        self.info(Domid::new(domid).expect("a domid"))
    }

    /// libxl_retrieve_domain_configuration into a config that is then
    /// disposed: what `domain_config()` does before its conversion.
    pub fn config(&self, domid: Domid) -> usize {
        // SAFETY: init/dispose pair around the call; NULL ao_how makes it
        // synchronous.
        unsafe {
            let mut c: sys::libxl_domain_config = std::mem::zeroed();
            sys::libxl_domain_config_init(&mut c);
            let rc = sys::libxl_retrieve_domain_configuration(
                self.ctx,
                domid.get(),
                &mut c,
                ptr::null(),
            );
            assert_eq!(rc, 0, "libxl_retrieve_domain_configuration");
            let n =
                c.num_disks as usize + c.num_nics as usize + usize::from(!c.c_info.name.is_null());
            sys::libxl_domain_config_dispose(&mut c);
            n
        }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        // SAFETY: freed once, ctx before its logger.
        unsafe {
            sys::xs_close(self.xs);
            sys::libxl_ctx_free(self.ctx);
            sys::xtl_logger_destroy(self.lg.cast());
        }
    }
}
