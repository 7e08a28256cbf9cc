//! Creating domains: libxl builds them paused; `create_domain` starts them,
//! and nothing of a creation that fails half-way is left behind.

use std::ptr;

use xenlight_sys as sys;

use crate::config::DomainConfig;
use crate::context::Context;
use crate::convert::RawConfig;
use crate::error::Error;
use crate::error::Result;
use crate::ids::{Domid, Uuid};
use crate::raw::alloc::opt_string;
use crate::raw::call::check;
use crate::raw::cvalue::CValue;
use crate::raw::On;
use crate::types;
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

    /// The config as libxl's struct, with its CPU and node maps exactly the
    /// size libxl allocates its own (`libxl_cpu_bitmap_alloc`): libxl copies
    /// a cpumap into maps of that size (`libxl_bitmap_copy` copies the
    /// source's size, so a longer map overruns them) and hands maps to Xen,
    /// which reads and writes back a whole host-sized map (so a shorter one
    /// is overrun too). Bits past the host's CPUs (or nodes) are dropped.
    pub(crate) fn host_sized_raw(&self, cfg: &DomainConfig) -> Result<RawConfig> {
        self.host_sized(cfg.to_libxl_types()?)
    }

    /// A complete config as libxl's struct, ready for libxl's defaulting
    /// (see [`Context::host_sized_raw`]): every path that creates a domain
    /// (create, restore, migration) goes through here, whatever the
    /// config's source.
    pub(crate) fn host_sized(&self, mut t: types::DomainConfig) -> Result<RawConfig> {
        let b = &mut t.b_info;
        // libxl allocates max_vcpus maps from its temporary allocator
        // (a negative count is a huge one, and its failure an _exit).
        if !(0..=Bitmap::MAX_BITS as i32).contains(&b.max_vcpus) {
            return Err(Error::InvalidConfig {
                field: "b_info.max_vcpus".into(),
                reason: format!(
                    "{} is not a number of vCPUs (Xen has at most {})",
                    b.max_vcpus,
                    Bitmap::MAX_BITS
                ),
            });
        }
        let maps_set = !b.cpumap.bytes.is_empty()
            || !b.nodemap.bytes.is_empty()
            || !b.vcpu_hard_affinity.is_empty()
            || !b.vcpu_soft_affinity.is_empty();
        if maps_set {
            let cpu_bytes = self.cpumap_bytes()?;
            let node_bytes = self.nodemap_bytes()?;
            let fit = |m: &mut Bitmap, n: usize| {
                if !m.bytes.is_empty() {
                    m.bytes.resize(n, 0);
                }
            };
            fit(&mut b.cpumap, cpu_bytes);
            for m in b
                .vcpu_hard_affinity
                .iter_mut()
                .chain(b.vcpu_soft_affinity.iter_mut())
            {
                fit(m, cpu_bytes);
            }
            fit(&mut b.nodemap, node_bytes);
        }
        // libxl 4.17 turns a cpumap into per-vCPU hard affinities itself,
        // but allocates that array from a temporary gc (libxl_create.c,
        // libxl__domain_build_info_setdefault) and leaves it in our config:
        // freed when the create returns, freed again by our _dispose. Doing
        // the same translation here, in memory the config owns, keeps libxl
        // off that path (libxl first makes a max_vcpus of 0 one vCPU).
        if !b.cpumap.bytes.is_empty() && b.vcpu_hard_affinity.is_empty() {
            let n = usize::try_from(b.max_vcpus).unwrap_or(0).max(1);
            b.vcpu_hard_affinity = vec![b.cpumap.clone(); n];
        }
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
        self.create_with(raw, "libxl_domain_create_new", |ctx, cfg, domid| {
            // SAFETY: config initialised and owned; NULL ao_how makes the
            // call synchronous; domid is a valid out-pointer.
            unsafe { sys::libxl_domain_create_new(ctx, cfg, domid, ptr::null(), ptr::null()) }
        })
    }

    /// Runs a libxl call that makes a (paused) domain from `raw`: creation
    /// or restore. On failure, destroys whatever of it libxl left behind:
    /// only domains that are new and carry the config's UUID.
    pub(crate) fn create_with(
        &self,
        raw: &mut RawConfig,
        op: &'static str,
        call: impl FnOnce(*mut sys::libxl_ctx, *mut sys::libxl_domain_config, &mut u32) -> i32,
    ) -> Result<Domid> {
        crate::memory::gc_free_defaulting(raw)?;
        let uuid = Uuid::from_bytes(raw.c_info.uuid.uuid);
        let before: Vec<Domid> = self.domains()?.iter().map(|d| d.domid).collect();
        // SAFETY: name is NULL or a string owned by `raw`.
        let name = unsafe { opt_string(raw.c_info.name) }.unwrap_or_default();
        let _admission = crate::memory::AdmissionLock::acquire();
        self.admit(raw, &name)?;
        let mut domid: u32 = u32::MAX;
        crate::logger::clear_last_error();
        let rc = call(self.as_raw(), raw.as_mut_ptr(), &mut domid);
        let Err(err) = check(self.as_raw(), rc, op, On::Named(&name)) else {
            return Ok(Domid::from_libxl(domid));
        };
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
