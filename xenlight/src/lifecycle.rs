//! Steering running domains: pause, unpause, shutdown, reboot, destroy and
//! the memory target.

use std::ptr;

use xenlight_sys as sys;

use crate::context::Context;
use crate::domain::Domid;
use crate::error::{check, DomainRef, Error, Result};

impl Context {
    /// Runs a libxl call on `domid`; a failure on a domain that does not
    /// exist becomes [`Error::DomainNotFound`], whatever code libxl chose.
    fn on_domain(
        &self,
        op: &'static str,
        domid: Domid,
        f: impl FnOnce(*mut sys::libxl_ctx) -> i32,
    ) -> Result<()> {
        if domid == 0 && op != "libxl_set_memory_target" && op != "libxl_domain_unpause" {
            // Pausing, stopping or destroying Domain-0 takes down the very
            // toolstack that is asking; libxl would try anyway.
            return Err(Error::InvalidArgument {
                what: "domid",
                reason: format!("{op} refuses Domain-0: it runs this toolstack"),
            });
        }
        let result = check(self.call(f), op, Some(domid));
        match result {
            Err(Error::Libxl { message, .. }) if matches!(self.domain_exists(domid), Ok(false)) => {
                Err(Error::DomainNotFound {
                    op,
                    domain: DomainRef::Id(domid),
                    message,
                })
            }
            other => other,
        }
    }

    /// Pauses all of the domain's vCPUs (`libxl_domain_pause`).
    ///
    /// Like `shutdown`, `reboot` and `destroy`, it refuses Domain-0 with
    /// [`Error::InvalidArgument`]: that would stop the caller's own domain.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = 1;
    /// ctx.pause(domid)?;
    /// assert!(ctx.domain_info(domid)?.paused);
    /// ctx.unpause(domid)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_pause")]
    pub fn pause(&self, domid: Domid) -> Result<()> {
        self.on_domain("libxl_domain_pause", domid, |ctx| {
            // SAFETY: ctx valid; a NULL ao_how makes the call synchronous.
            unsafe { sys::libxl_domain_pause(ctx, domid, ptr::null()) }
        })
    }

    /// Lets a paused domain run again (`libxl_domain_unpause`). New domains
    /// start paused; [`Context::create_domain`] unpauses them for you.
    #[doc(alias = "libxl_domain_unpause")]
    pub fn unpause(&self, domid: Domid) -> Result<()> {
        self.on_domain("libxl_domain_unpause", domid, |ctx| {
            // SAFETY: as in pause.
            unsafe { sys::libxl_domain_unpause(ctx, domid, ptr::null()) }
        })
    }

    /// Asks the guest to shut down (`libxl_domain_shutdown`). It needs the
    /// guest's cooperation (PV drivers): [`ErrorKind::NoParavirt`] otherwise.
    /// Returns once the request is sent; use [`Context::wait_for_shutdown`]
    /// to wait for it.
    ///
    /// [`ErrorKind::NoParavirt`]: crate::ErrorKind::NoParavirt
    #[doc(alias = "libxl_domain_shutdown")]
    pub fn shutdown(&self, domid: Domid) -> Result<()> {
        self.on_domain("libxl_domain_shutdown", domid, |ctx| {
            // SAFETY: as in pause.
            unsafe { sys::libxl_domain_shutdown(ctx, domid, ptr::null()) }
        })
    }

    /// Asks the guest to reboot (`libxl_domain_reboot`); needs PV drivers.
    /// The guest then shuts down with reason reboot: restarting it is the
    /// toolstack's job (see the crate docs on `on_reboot`).
    #[doc(alias = "libxl_domain_reboot")]
    pub fn reboot(&self, domid: Domid) -> Result<()> {
        self.on_domain("libxl_domain_reboot", domid, |ctx| {
            // SAFETY: as in pause.
            unsafe { sys::libxl_domain_reboot(ctx, domid, ptr::null()) }
        })
    }

    /// Destroys the domain at once, without asking the guest
    /// (`libxl_domain_destroy`). For a moment afterwards the domain may still
    /// be listed as dying.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?;
    /// let domid = ctx.domid_by_name("scratch")?;
    /// ctx.destroy(domid)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_destroy")]
    pub fn destroy(&self, domid: Domid) -> Result<()> {
        self.on_domain("libxl_domain_destroy", domid, |ctx| {
            // SAFETY: as in pause.
            unsafe { sys::libxl_domain_destroy(ctx, domid, ptr::null()) }
        })
    }

    /// Sets the domain's memory target in KiB (`libxl_set_memory_target`,
    /// absolute, enforced): the balloon driver in the guest moves towards it.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = 1;
    /// ctx.set_memory_target(domid, 256 * 1024)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_set_memory_target")]
    pub fn set_memory_target(&self, domid: Domid, target_kib: u64) -> Result<()> {
        let target = i64::try_from(target_kib).map_err(|_| Error::InvalidArgument {
            what: "memory target",
            reason: format!("{target_kib} KiB is too large"),
        })?;
        self.on_domain("libxl_set_memory_target", domid, |ctx| {
            // SAFETY: ctx valid; plain integer arguments.
            unsafe { sys::libxl_set_memory_target(ctx, domid, target, 0, 1) }
        })
    }
}
