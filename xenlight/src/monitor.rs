//! xl's domain-monitor policy: after a domain shuts down, carry out the
//! `on_poweroff`/`on_reboot`/`on_crash`/`on_watchdog` action libxl stored
//! for it (libxl records these but leaves them to the toolstack), and
//! `on_soft_reset`.
// bindgen gives each C enum the integer type the platform's C compiler
// picks (int or unsigned), so the casts to i32 are not always no-ops.
#![allow(clippy::unnecessary_cast)]

use std::path::PathBuf;
use std::ptr;

use xenlight_sys as sys;

use crate::context::Context;
use crate::convert::RawConfig;
use crate::enums::{Action, DomainType, ShutdownReason};
use crate::error::{Error, Result};
use crate::ids::Domid;
use crate::raw::alloc::cstring;
use crate::raw::{try_call, On};

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
    /// The domain was soft-reset in place (action `soft-reset`, HVM only):
    /// the same domain, its memory kept, running again — what a guest's
    /// `kexec` (kdump, for one) asks for.
    SoftReset,
}

/// Where a domain's core dump goes: `CORE_DUMP_DIR/<name>-<domid>.core`.
/// The name comes from xenstore, where another toolstack may have put `/`
/// or `..` in it: every character outside `[A-Za-z0-9._-]` becomes `_` and
/// a leading dot too, so the file stays in the directory.
fn core_dump_path(name: &str, domid: Domid) -> PathBuf {
    let mut safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.starts_with('.') || safe.is_empty() {
        safe.insert(0, '_');
    }
    PathBuf::from(CORE_DUMP_DIR).join(format!("{safe}-{domid}.core"))
}

impl Context {
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
    /// left shut down, to be dumped again or destroyed. `soft-reset` resets
    /// an HVM domain in place with its stored configuration and lets it run
    /// (`libxl_domain_soft_reset`, as xl); libxl does this for HVM only, so
    /// on a PV or PVH domain it is [`Error::InvalidConfig`] and the domain
    /// is left as it is. A domain that has not shut down gives
    /// [`Error::InvalidArgument`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use xenlight::AfterShutdown;
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
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
        let action = Action::from_raw(raw_action as i32);
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
            Action::SoftReset => {
                if info.domain_type != DomainType::Hvm {
                    return Err(Error::InvalidConfig {
                        field: key.to_owned(),
                        reason: format!(
                            "libxl soft-resets HVM domains only; domain {domid} is {} and is left shut down",
                            info.domain_type
                        ),
                    });
                }
                self.soft_reset(domid, &mut cfg)?;
                Ok(AfterShutdown::SoftReset)
            }
            // Never guess: an action this crate does not know could be one
            // that must not destroy anything.
            Action::Unknown(raw) => Err(Error::InvalidConfig {
                field: key.to_owned(),
                reason: format!(
                    "action {raw} is unknown to this crate; domain {domid} is left shut down"
                ),
            }),
        }
    }

    /// Resets a domain that shut down for a soft reset, keeping its memory
    /// (`libxl_domain_soft_reset`: the device model is restarted and the
    /// domain rebuilt from `cfg`), then unpauses it as xl does.
    #[doc(alias = "libxl_domain_soft_reset")]
    fn soft_reset(&self, domid: Domid, cfg: &mut RawConfig) -> Result<()> {
        // SAFETY: cfg is an initialised config owned by the caller for the
        // call; NULL ao_how makes it synchronous; no console progress.
        try_call!(
            self,
            On::Domain(domid),
            unsafe libxl_domain_soft_reset(cfg.as_mut_ptr(), domid.get(), ptr::null(), ptr::null())
        )?;
        self.unpause(domid)
    }

    /// Writes the domain's memory to `CORE_DUMP_DIR/<name>-<domid>.core`
    /// (`libxl_domain_core_dump`).
    fn core_dump(&self, domid: Domid, name: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(CORE_DUMP_DIR).map_err(|source| Error::Io {
            op: format!("creating {CORE_DUMP_DIR}"),
            source,
        })?;
        let path = core_dump_path(name, domid);
        self.core_dump_to(domid, &path)?;
        Ok(path)
    }

    /// Keeps a shut-down domain under a new name and a fresh xenstore /vm
    /// path (`libxl_domain_preserve`; Xen's handle for it is unchanged) so
    /// its successor can take the old name.
    fn preserve_renamed(&self, domid: Domid, cfg: &mut RawConfig, name: &str) -> Result<String> {
        let suffix = format!("--{domid}");
        let c_suffix = cstring("name suffix", &suffix)?;
        let fresh = sys::libxl_uuid {
            uuid: *crate::ids::Uuid::random().as_bytes(),
        };
        // SAFETY: c_info belongs to the live `cfg`; c_suffix is alive for
        // the call; the UUID is passed by value.
        try_call!(
            self,
            On::Domain(domid),
            unsafe libxl_domain_preserve(domid.get(), &raw mut (*cfg.as_mut_ptr()).c_info, c_suffix.as_ptr(), fresh)
        )?;
        Ok(format!("{name}{suffix}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review defect 9: a name with `/` or `..` used to escape the dump
    /// directory.
    #[test]
    fn core_dump_path_stays_in_the_dump_directory() {
        let d = Domid::new(5).unwrap();
        for name in [
            "../../etc/passwd",
            "a/b",
            "..",
            "",
            ".hidden",
            "x\0y",
            "web",
        ] {
            let p = core_dump_path(name, d);
            assert_eq!(
                p.parent(),
                Some(std::path::Path::new(CORE_DUMP_DIR)),
                "{name:?} -> {p:?}"
            );
            let file = p.file_name().unwrap().to_str().unwrap();
            assert!(!file.starts_with('.'), "{name:?} -> {file}");
        }
        assert_eq!(
            core_dump_path("web", d),
            PathBuf::from(format!("{CORE_DUMP_DIR}/web-5.core"))
        );
    }
}
