//! The host: physical resources (`libxl_get_physinfo`), CPU and NUMA
//! topology, and the hypervisor's version (read once, when the `Context`
//! is made).

use xenlight_sys as sys;

use crate::context::Context;
use crate::error::Result;
use crate::info::{PhysInfo, VersionInfo};
use crate::raw::cvalue::take_list;
use crate::raw::{raw_call, try_call, On, Owned};
use crate::types::{Cputopology, Numainfo};

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

    /// Where each CPU sits: core, socket and NUMA node
    /// (`libxl_get_cpu_topology`, as `xl info -n`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// for (cpu, t) in ctx.cpu_topology()?.iter().enumerate() {
    ///     println!("cpu {cpu}: core {} socket {} node {}", t.core, t.socket, t.node);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_cpu_topology")]
    pub fn cpu_topology(&self) -> Result<Vec<Cputopology>> {
        let mut n = 0;
        // SAFETY: a valid out-pointer.
        let r = raw_call!(self, unsafe libxl_get_cpu_topology(&mut n));
        // SAFETY: the list and count of libxl_get_cpu_topology, freed by its own function.
        unsafe {
            take_list(
                self.as_raw(),
                r,
                n,
                sys::libxl_cputopology_list_free,
                On::Host,
            )
        }
    }

    /// The host's NUMA nodes: memory size, free memory and distances
    /// (`libxl_get_numainfo`, as `xl info -n`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// for (node, n) in ctx.numa_info()?.iter().enumerate() {
    ///     println!("node {node}: {} MiB, {} MiB free", n.size >> 20, n.free >> 20);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_numainfo")]
    pub fn numa_info(&self) -> Result<Vec<Numainfo>> {
        let mut n = 0;
        // SAFETY: a valid out-pointer.
        let r = raw_call!(self, unsafe libxl_get_numainfo(&mut n));
        // SAFETY: the list and count of libxl_get_numainfo, freed by its own function.
        unsafe { take_list(self.as_raw(), r, n, sys::libxl_numainfo_list_free, On::Host) }
    }
}
