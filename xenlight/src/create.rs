//! Creating domains: libxl builds them paused; `create_domain` starts them,
//! and nothing of a creation that fails half-way is left behind.

use std::ptr;

use crate::config::DomainConfig;
use crate::context::Context;
use crate::convert::RawConfig;
use crate::error::Result;
use crate::ids::{Domid, Uuid};
use crate::raw::alloc::opt_string;
use crate::raw::{try_call, On};

impl Context {
    /// Creates a domain and starts it (`libxl_domain_create_new`, then
    /// `libxl_domain_unpause`: libxl leaves new domains paused). Returns the
    /// new domain's id.
    ///
    /// If anything fails half-way, whatever libxl created is destroyed
    /// before the error is returned.
    ///
    /// ```no_run
    /// use xenlight::{Context, DomainConfig, DomainType};
    /// let ctx = Context::new()?;
    /// let cfg = DomainConfig::new("web", DomainType::Pvh)
    ///     .memory_mib(256)
    ///     .kernel("/srv/guests/vmlinuz")
    ///     .cmdline("console=hvc0");
    /// let domid = ctx.create_domain(&cfg)?;
    /// println!("started domain {domid}");
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_create_new")]
    pub fn create_domain(&self, cfg: &DomainConfig) -> Result<Domid> {
        self.start_raw(&mut cfg.to_raw()?)
    }

    /// Creates and unpauses a domain from a libxl config; a domain that
    /// cannot be started is destroyed.
    pub(crate) fn start_raw(&self, raw: &mut RawConfig) -> Result<Domid> {
        let domid = self.create_raw_paused(raw)?;
        if let Err(e) = self.unpause(domid) {
            let _ = self.destroy(domid);
            return Err(e);
        }
        Ok(domid)
    }

    /// Creates a domain and leaves it paused (as `xl create -p`); start it
    /// with [`Context::unpause`].
    #[doc(alias = "libxl_domain_create_new")]
    pub fn create_domain_paused(&self, cfg: &DomainConfig) -> Result<Domid> {
        self.create_raw_paused(&mut cfg.to_raw()?)
    }

    /// Creates a paused domain from a libxl config; on failure, destroys
    /// whatever of it libxl left behind.
    pub(crate) fn create_raw_paused(&self, raw: &mut RawConfig) -> Result<Domid> {
        let uuid = Uuid::from_bytes(raw.c_info.uuid.uuid);
        let before: Vec<Domid> = self.domains()?.iter().map(|d| d.domid).collect();
        // SAFETY: name is NULL or a string owned by `raw`.
        let name = unsafe { opt_string(raw.c_info.name) }.unwrap_or_default();
        let mut domid: u32 = u32::MAX;
        // SAFETY: config initialised and owned; NULL ao_how makes the call
        // synchronous; domid is a valid out-pointer.
        let created = try_call!(
            self,
            On::Named(&name),
            unsafe libxl_domain_create_new(raw.as_mut_ptr(), &mut domid, ptr::null(), ptr::null())
        );
        let Err(err) = created else {
            return Ok(Domid::from_libxl(domid));
        };
        // libxl normally cleans up after itself; make sure nothing of ours is
        // left (only domains that are new and carry our UUID).
        if let Ok(now) = self.domains() {
            for d in now
                .iter()
                .filter(|d| d.uuid == uuid && !before.contains(&d.domid))
            {
                let _ = self.destroy(d.domid);
            }
        }
        Err(err)
    }
}
