//! The host: physical resources (`libxl_get_physinfo`) and the hypervisor's
//! version (read once, when the `Context` is made).

use xenlight_sys as sys;

use crate::context::Context;
use crate::error::Result;
use crate::info::{PhysInfo, VersionInfo};
use crate::raw::{try_call, On, Owned};

impl Context {
    /// The host's CPUs, memory and capabilities (`libxl_get_physinfo`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let p = ctx.physinfo()?;
    /// println!("{} cpus, {} MiB free, hvm: {}", p.nr_cpus, p.free_memkb / 1024, p.cap_hvm);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_physinfo")]
    pub fn physinfo(&self) -> Result<PhysInfo> {
        let mut p = Owned::<sys::libxl_physinfo>::new();
        // SAFETY: p is initialised and owned.
        try_call!(self, On::Host, unsafe libxl_get_physinfo(p.as_mut_ptr()))?;
        Ok(PhysInfo::from_raw(&p))
    }

    /// The hypervisor's version (`libxl_get_version_info`). It is read
    /// once, in [`Context::new`]: libxl fills its cache of it lazily and
    /// without a lock, so two threads asking first at once would race.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// println!("Xen {}", ctx.version_info()?.version());
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_version_info")]
    pub fn version_info(&self) -> Result<VersionInfo> {
        Ok(self.version().clone())
    }
}
