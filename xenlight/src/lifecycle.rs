//! Steering running domains: pause, unpause, shutdown, reboot, destroy, the
//! memory target, and carrying out a domain's `on_*` action once it has shut
//! down (libxl stores those actions but leaves them to the toolstack).

use std::path::PathBuf;
use std::ptr;
use std::time::Duration;

use xenlight_sys as sys;

use crate::config::Action;
use crate::context::Context;
use crate::domain::{Domid, ShutdownReason};
use crate::error::{DomainRef, Error, Result};
use crate::util::cstring;

/// Where [`Context::handle_shutdown`] writes core dumps: xl's directory.
pub const CORE_DUMP_DIR: &str = "/var/lib/xen/dump";

/// What [`Context::handle_shutdown`] did with a domain that shut down.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AfterShutdown {
    /// The domain was destroyed (action `destroy` or `coredump-destroy`).
    Destroyed {
        /// The core dump written first, for `coredump-destroy`.
        core_dump: Option<PathBuf>,
    },
    /// The domain was left as it is, shut down (action `preserve`, or a
    /// suspend, which belongs to whoever is saving or migrating it).
    Preserved,
    /// The domain was replaced by a new one started from its stored
    /// configuration (`restart`, `rename-restart`, `coredump-restart`).
    Restarted {
        /// The new domain's id.
        domid: Domid,
        /// The core dump written first, for `coredump-restart`.
        core_dump: Option<PathBuf>,
        /// For `rename-restart`: the name the old domain keeps, shut down,
        /// beside the new one.
        old_renamed: Option<String>,
    },
}

impl Context {
    /// Runs a libxl call on `domid` (refusing Domain-0 where that would
    /// stop the caller's own domain), checked by `check_on_domain`.
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
        self.check_on_domain(self.call(f), op, domid)
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
    /// The guest then shuts down with reason reboot; libxl does not restart
    /// it: [`Context::handle_shutdown`] carries out its `on_reboot` action.
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

    /// Carries out the `on_poweroff`, `on_reboot`, `on_crash` or
    /// `on_watchdog` action stored for a domain that has shut down, as xl's
    /// domain monitor does: libxl records these actions but never acts on
    /// them. Call it after [`Context::wait_for_shutdown`].
    ///
    /// A restart destroys the old domain and creates a new one from the
    /// stored configuration (same name and UUID); if that creation fails
    /// nothing of it is left and the error is returned. Core dumps go to
    /// [`CORE_DUMP_DIR`]`/<name>-<domid>.core`; if one fails (a full disk,
    /// say) the partial file is removed, the error returned, and the domain
    /// left shut down, to be dumped again or destroyed. `soft-reset` is not
    /// carried out: [`Error::InvalidConfig`], and the domain is left as it
    /// is. A domain that has not shut down gives [`Error::InvalidArgument`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use xenlight::AfterShutdown;
    /// # let ctx = xenlight::Context::new()?; let domid = 1;
    /// let reason = ctx.wait_for_shutdown(domid, Duration::from_secs(600))?;
    /// match ctx.handle_shutdown(domid)? {
    ///     AfterShutdown::Restarted { domid: new, .. } => println!("{reason}: restarted as {new}"),
    ///     after => println!("{reason}: {after:?}"),
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn handle_shutdown(&self, domid: Domid) -> Result<AfterShutdown> {
        let info = self.domain_info(domid)?;
        let Some(reason) = info.shutdown_reason else {
            return Err(Error::InvalidArgument {
                what: "domid",
                reason: format!("domain {domid} has not shut down (it is {:?})", info.state),
            });
        };
        let mut cfg = self.stored_config(domid)?;
        let name = info.name.unwrap_or_else(|| format!("domain-{domid}"));
        let (key, raw_action) = match reason {
            ShutdownReason::Poweroff => ("on_poweroff", cfg.on_poweroff),
            ShutdownReason::Reboot => ("on_reboot", cfg.on_reboot),
            ShutdownReason::Crash => ("on_crash", cfg.on_crash),
            ShutdownReason::Watchdog => ("on_watchdog", cfg.on_watchdog),
            ShutdownReason::SoftReset => ("on_soft_reset", cfg.on_soft_reset),
            ShutdownReason::Suspend | ShutdownReason::Unknown(_) => {
                return Ok(AfterShutdown::Preserved)
            }
        };
        let action = Action::from_raw(raw_action);
        let core_dump = match action {
            Action::CoredumpDestroy | Action::CoredumpRestart => {
                Some(self.core_dump(domid, &name)?)
            }
            _ => None,
        };
        match action {
            Action::Preserve => Ok(AfterShutdown::Preserved),
            Action::Destroy | Action::CoredumpDestroy => {
                self.destroy_and_wait(domid)?;
                Ok(AfterShutdown::Destroyed { core_dump })
            }
            Action::Restart | Action::RestartRename | Action::CoredumpRestart => {
                let old_renamed = if action == Action::RestartRename {
                    Some(self.preserve_renamed(domid, &mut cfg, &name)?)
                } else {
                    self.destroy_and_wait(domid)?;
                    None
                };
                let new = self.start_raw(&mut cfg)?;
                Ok(AfterShutdown::Restarted {
                    domid: new,
                    core_dump,
                    old_renamed,
                })
            }
            Action::SoftReset => Err(Error::InvalidConfig {
                field: key.to_owned(),
                reason: format!(
                    "soft-reset is not carried out by this crate; domain {domid} is left shut down"
                ),
            }),
        }
    }

    /// Destroys a domain and waits until Xen has released it, so that its
    /// name and UUID can be used again.
    fn destroy_and_wait(&self, domid: Domid) -> Result<()> {
        self.destroy(domid)?;
        let start = std::time::Instant::now();
        while self.domain_exists(domid)? {
            if start.elapsed() > Duration::from_secs(30) {
                return Err(Error::Timeout {
                    op: "destroy (waiting for the domain to go)",
                    domain: Some(DomainRef::Id(domid)),
                    after: Duration::from_secs(30),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Writes the domain's memory to `CORE_DUMP_DIR/<name>-<domid>.core`
    /// (`libxl_domain_core_dump`).
    fn core_dump(&self, domid: Domid, name: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(CORE_DUMP_DIR).map_err(|source| Error::Io {
            op: format!("creating {CORE_DUMP_DIR}"),
            source,
        })?;
        let path = PathBuf::from(format!("{CORE_DUMP_DIR}/{name}-{domid}.core"));
        let c_path = cstring("core dump path", &path.to_string_lossy())?;
        let dumped = self.on_domain("libxl_domain_core_dump", domid, |ctx| {
            // SAFETY: ctx valid; c_path a NUL-terminated string alive for the
            // call; NULL ao_how makes it synchronous.
            unsafe { sys::libxl_domain_core_dump(ctx, domid, c_path.as_ptr(), ptr::null()) }
        });
        if let Err(e) = dumped {
            // A partial dump is of no use and may fill the disk.
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        Ok(path)
    }

    /// Keeps a shut-down domain under a new name and a fresh xenstore /vm
    /// path (`libxl_domain_preserve`; Xen's handle for it is unchanged) so
    /// its successor can take the old name.
    fn preserve_renamed(
        &self,
        domid: Domid,
        cfg: &mut crate::config::RawDomainConfig,
        name: &str,
    ) -> Result<String> {
        let suffix = format!("--{domid}");
        let c_suffix = cstring("name suffix", &suffix)?;
        let mut fresh = sys::libxl_uuid { uuid: [0; 16] };
        // SAFETY: writes 16 random bytes into `fresh`.
        unsafe { sys::libxl_uuid_generate(&mut fresh) };
        self.on_domain("libxl_domain_preserve", domid, |ctx| {
            // SAFETY: ctx valid; c_info belongs to the live `cfg`; c_suffix
            // alive for the call; the UUID is passed by value.
            unsafe {
                sys::libxl_domain_preserve(ctx, domid, &mut cfg.0.c_info, c_suffix.as_ptr(), fresh)
            }
        })?;
        Ok(format!("{name}{suffix}"))
    }
}
