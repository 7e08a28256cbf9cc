//! Creating domains: libxl builds them paused; `create_domain` starts them,
//! and nothing of a creation that fails half-way is left behind.

use std::ptr;

use crate::config::DomainConfig;
use crate::context::Context;
use crate::convert::RawConfig;
use crate::error::Result;
use crate::ids::{Domid, Uuid};
use crate::raw::alloc::opt_string;
use crate::raw::cvalue::CValue;
use crate::raw::{try_call, On};
use crate::values::Bitmap;

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
        self.start_raw(&mut self.host_sized_raw(cfg)?)
    }

    /// The config as libxl's struct, with its CPU and node maps at least as
    /// large as this host's: libxl hands them to Xen, which reads (and for
    /// vCPU affinity writes back) a whole host-sized map, so a shorter map
    /// would be read and written past its end.
    fn host_sized_raw(&self, cfg: &DomainConfig) -> Result<RawConfig> {
        let mut t = cfg.to_types()?;
        let p = self.physinfo()?;
        let cpu_bytes = (p.max_cpu_id as usize + 1).div_ceil(8);
        // Xen's node maps are sized by its highest node id, which physinfo
        // does not give; 64 nodes covers every x86 host Xen supports.
        let node_bytes = (p.nr_nodes as usize).div_ceil(8).max(8);
        let b = &mut t.b_info;
        let pad = |m: &mut Bitmap, n: usize| {
            if !m.bytes.is_empty() && m.bytes.len() < n {
                m.bytes.resize(n, 0);
            }
        };
        pad(&mut b.cpumap, cpu_bytes);
        for m in b
            .vcpu_hard_affinity
            .iter_mut()
            .chain(b.vcpu_soft_affinity.iter_mut())
        {
            pad(m, cpu_bytes);
        }
        pad(&mut b.nodemap, node_bytes);
        t.to_c()
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
        self.create_raw_paused(&mut self.host_sized_raw(cfg)?)
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
