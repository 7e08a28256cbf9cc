//! Steering running domains: thin wrappers over libxl's pause, unpause,
//! shutdown, reboot, destroy, memory and rename calls.

use std::ptr;
use std::time::{Duration, Instant};

use xenlight_sys as sys;

use crate::context::Context;
use crate::error::{DomainRef, Error, Result};
use crate::ids::Domid;
use crate::raw::alloc::cstring;
use crate::raw::{try_call, On};

/// How often a wait for a destroyed domain to leave Xen's list looks.
pub(crate) const GONE_POLL: Duration = Duration::from_millis(50);
impl Context {
    /// Refuses to stop Domain-0: pausing, stopping or destroying it takes
    /// down the very toolstack that is asking; libxl would try anyway.
    fn refuse_dom0(op: &'static str, domid: Domid) -> Result<()> {
        if domid.is_dom0() {
            return Err(Error::Domain0Refused { op });
        }
        Ok(())
    }

    /// Pauses all of the domain's vCPUs (`libxl_domain_pause`).
    ///
    /// Like `shutdown`, `reboot` and `destroy`, it refuses Domain-0 with
    /// [`Error::Domain0Refused`]: that would stop the caller's own domain.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.pause(domid)?;
    /// assert!(ctx.domain_info(domid)?.paused);
    /// ctx.unpause(domid)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_pause")]
    pub fn pause(&self, domid: Domid) -> Result<()> {
        Self::refuse_dom0("libxl_domain_pause", domid)?;
        // SAFETY: a NULL ao_how makes the call synchronous.
        try_call!(self, On::Domain(domid), unsafe libxl_domain_pause(domid.get(), ptr::null()))
    }

    /// Lets a paused domain run again (`libxl_domain_unpause`). New domains
    /// start paused; [`Context::create_domain`] unpauses them for you.
    #[doc(alias = "libxl_domain_unpause")]
    pub fn unpause(&self, domid: Domid) -> Result<()> {
        // SAFETY: a NULL ao_how makes the call synchronous.
        try_call!(self, On::Domain(domid), unsafe libxl_domain_unpause(domid.get(), ptr::null()))
    }

    /// Asks the guest to shut down (`libxl_domain_shutdown`). It needs the
    /// guest's cooperation (PV drivers): [`ErrorKind::NoParavirt`] otherwise.
    /// Returns once the request is sent; use [`Context::wait_for_shutdown`]
    /// to wait for it.
    ///
    /// [`ErrorKind::NoParavirt`]: crate::ErrorKind::NoParavirt
    #[doc(alias = "libxl_domain_shutdown")]
    pub fn shutdown(&self, domid: Domid) -> Result<()> {
        Self::refuse_dom0("libxl_domain_shutdown", domid)?;
        // SAFETY: a NULL ao_how makes the call synchronous.
        try_call!(self, On::Domain(domid), unsafe libxl_domain_shutdown(domid.get(), ptr::null()))
    }

    /// Asks the guest to reboot (`libxl_domain_reboot`); needs PV drivers.
    /// The guest then shuts down with reason reboot; libxl does not restart
    /// it: [`Context::handle_shutdown`] carries out its `on_reboot` action.
    #[doc(alias = "libxl_domain_reboot")]
    pub fn reboot(&self, domid: Domid) -> Result<()> {
        Self::refuse_dom0("libxl_domain_reboot", domid)?;
        // SAFETY: a NULL ao_how makes the call synchronous.
        try_call!(self, On::Domain(domid), unsafe libxl_domain_reboot(domid.get(), ptr::null()))
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
        Self::refuse_dom0("libxl_domain_destroy", domid)?;
        // SAFETY: a NULL ao_how makes the call synchronous.
        try_call!(self, On::Domain(domid), unsafe libxl_domain_destroy(domid.get(), ptr::null()))
    }

    /// Sets the domain's memory target in KiB (`libxl_set_memory_target`,
    /// absolute, enforced): the balloon driver in the guest moves towards it.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.set_memory_target(domid, 256 * 1024)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_set_memory_target")]
    pub fn set_memory_target(&self, domid: Domid, target_kib: u64) -> Result<()> {
        let target = i64::try_from(target_kib).map_err(|_| Error::InvalidArgument {
            what: "memory target",
            reason: format!("{target_kib} KiB is too large"),
        })?;
        // SAFETY: plain integer arguments.
        try_call!(self, On::Domain(domid), unsafe libxl_set_memory_target(domid.get(), target, 0, 1))
    }

    /// Sets the most memory the domain may have, in KiB
    /// (`libxl_domain_setmaxmem`, as `xl mem-max`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.set_max_memory(domid, 512 * 1024)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_setmaxmem")]
    pub fn set_max_memory(&self, domid: Domid, max_kib: u64) -> Result<()> {
        // SAFETY: plain integer arguments.
        try_call!(self, On::Domain(domid), unsafe libxl_domain_setmaxmem(domid.get(), max_kib))
    }

    /// The domain's current memory target in KiB
    /// (`libxl_get_memory_target`): what [`set_memory_target`](Self::set_memory_target)
    /// last set, or the target it was created with.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// println!("target: {} KiB", ctx.memory_target(domid)?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_memory_target")]
    pub fn memory_target(&self, domid: Domid) -> Result<u64> {
        let mut kib = 0u64;
        // SAFETY: a valid out-pointer.
        try_call!(self, On::Domain(domid), unsafe libxl_get_memory_target(domid.get(), &mut kib))?;
        Ok(kib)
    }

    /// Renames a domain (`libxl_domain_rename`, as `xl rename`). The name
    /// must be free; a NUL byte or `/` in it is an error.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.rename(domid, "web-old")?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_rename")]
    pub fn rename(&self, domid: Domid, new_name: &str) -> Result<()> {
        if new_name.is_empty() || new_name.contains('/') {
            return Err(Error::InvalidArgument {
                what: "domain name",
                reason: format!("{new_name:?} is empty or contains '/'"),
            });
        }
        let name = cstring("domain name", new_name)?;
        // SAFETY: a NUL-terminated name; NULL old name means "whatever it is".
        try_call!(self, On::Domain(domid), unsafe libxl_domain_rename(domid.get(), ptr::null(), name.as_ptr()))
    }

    /// Keeps a domain's remains under another name and UUID, so that a new
    /// instance of it can be created beside them
    /// (`libxl_domain_preserve`, what xl does for `on_crash="preserve"`):
    /// the domain is renamed to its name followed by `suffix`, and its
    /// xenstore `vm` entry moves to a fresh UUID, which is returned.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// let kept = ctx.preserve(domid, "--crashed")?;
    /// println!("kept as {kept}");
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_preserve")]
    pub fn preserve(&self, domid: Domid, suffix: &str) -> Result<crate::ids::Uuid> {
        if domid.is_dom0() {
            return Err(Error::Domain0Refused { op: "preserve" });
        }
        if suffix.is_empty() || suffix.contains('/') {
            return Err(Error::InvalidArgument {
                what: "name suffix",
                reason: format!("{suffix:?} is empty or contains '/'"),
            });
        }
        let c_suffix = cstring("name suffix", suffix)?;
        let name = self
            .domain_name(domid)?
            .ok_or_else(|| Error::InvalidArgument {
                what: "domain",
                reason: format!("domain {domid} has no name to keep"),
            })?;
        let info = crate::types::DomainCreateInfo {
            name: Some(name),
            ..Default::default()
        };
        let mut raw = crate::types::IdlType::to_libxl(&info)?;
        let uuid = crate::ids::Uuid::random();
        let new_uuid = sys::libxl_uuid {
            uuid: *uuid.as_bytes(),
        };
        // SAFETY: raw is an initialised create-info libxl only reads (its
        // name); the suffix is NUL-terminated; both outlive the call.
        try_call!(self, On::Domain(domid), unsafe libxl_domain_preserve(domid.get(), raw.as_mut_ptr(), c_suffix.as_ptr(), new_uuid))?;
        Ok(uuid)
    }

    /// Destroys a domain and waits until Xen has released it, so that its
    /// name and UUID can be used again.
    pub(crate) fn destroy_and_wait(&self, domid: Domid) -> Result<()> {
        self.destroy(domid)?;
        let start = Instant::now();
        while self.still_listed_after_destroy(domid, start)? {
            std::thread::sleep(GONE_POLL);
        }
        Ok(())
    }

    /// Whether a domain destroyed at `start` is still in Xen's list (libxl's
    /// destroy completes while Xen may still list it, dying); a
    /// [`Error::Timeout`] once it has stayed 30 s. Polled every
    /// [`GONE_POLL`] by the sync and the async waits.
    pub(crate) fn still_listed_after_destroy(&self, domid: Domid, start: Instant) -> Result<bool> {
        const GONE_WAIT: Duration = Duration::from_secs(30);
        if !self.domain_exists(domid)? {
            return Ok(false);
        }
        if start.elapsed() > GONE_WAIT {
            return Err(Error::Timeout {
                op: "destroy (waiting for the domain to go)",
                domain: Some(DomainRef::Id(domid)),
                after: GONE_WAIT,
            });
        }
        Ok(true)
    }
    /// Writes the domain's memory and vCPU state to `path` as an ELF core
    /// file (`libxl_domain_core_dump`, as `xl dump-core`); the domain keeps
    /// running. A partial file is removed on failure.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.core_dump_to(domid, "/var/lib/xen/dump/web.core")?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_core_dump")]
    pub fn core_dump_to(&self, domid: Domid, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        let c_path = cstring("core dump path", &path.to_string_lossy())?;
        // SAFETY: c_path is a NUL-terminated string alive for the call; a
        // NULL ao_how makes it synchronous.
        let dumped = try_call!(
            self,
            On::Domain(domid),
            unsafe libxl_domain_core_dump(domid.get(), c_path.as_ptr(), ptr::null())
        );
        if dumped.is_err() {
            // A partial dump is of no use and may fill the disk.
            let _ = std::fs::remove_file(path);
        }
        dumped
    }

    /// Sends a trigger to the domain (`libxl_send_trigger`, as `xl
    /// trigger`): an ACPI power or sleep button press, an NMI, an INIT, a
    /// reset, or an S3 resume, on vCPU `vcpu` where that matters (NMI,
    /// INIT). Power, sleep and reset need an HVM guest.
    ///
    /// ```no_run
    /// use xenlight::types::Trigger;
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.send_trigger(domid, Trigger::Power, 0)?; // the guest's OS shuts down
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_send_trigger")]
    pub fn send_trigger(
        &self,
        domid: Domid,
        trigger: crate::types::Trigger,
        vcpu: u32,
    ) -> Result<()> {
        // SAFETY: plain arguments; NULL ao_how makes it synchronous.
        try_call!(
            self,
            On::Domain(domid),
            unsafe libxl_send_trigger(domid.get(), trigger.to_raw() as sys::libxl_trigger, vcpu, ptr::null())
        )
    }
    /// Asks the guest to suspend itself and leaves it suspended in memory
    /// (`libxl_domain_suspend_only`): its state becomes
    /// `Shutdown(Suspend)` until [`resume`](Self::resume). Nothing is saved.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.suspend_only(domid)?;
    /// ctx.resume(domid)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_suspend_only")]
    pub fn suspend_only(&self, domid: Domid) -> Result<()> {
        Self::refuse_dom0("suspend_only", domid)?;
        // SAFETY: plain arguments; NULL ao_how makes it synchronous.
        try_call!(self, On::Domain(domid), unsafe libxl_domain_suspend_only(domid.get(), ptr::null()))
    }

    /// Resumes a domain left suspended by [`suspend_only`](Self::suspend_only)
    /// or by a failed save (`libxl_domain_resume` with `suspend_cancel`: the
    /// guest continues where it stopped, with its devices as they were).
    #[doc(alias = "libxl_domain_resume")]
    pub fn resume(&self, domid: Domid) -> Result<()> {
        // SAFETY: plain arguments; NULL ao_how makes it synchronous.
        try_call!(self, On::Domain(domid), unsafe libxl_domain_resume(domid.get(), 1, ptr::null()))
    }
}
