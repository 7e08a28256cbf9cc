//! The host: physical resources (`libxl_get_physinfo`), CPU and NUMA
//! topology, the CPUs no pool holds, the VMs, debug keys, and the
//! hypervisor's version (read once, when the `Context` is made).

use xenlight_sys as sys;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::info::{PhysInfo, VersionInfo};
use crate::raw::alloc::cstring;
use crate::raw::cvalue::{take_list, CValue};
use crate::raw::{raw_call, try_call, On, Owned};
use crate::types::{Bitmap, Cputopology, Numainfo, Vminfo};

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

    /// The host's CPUs that no cpupool holds (`libxl_get_freecpus`, the
    /// "free cpus" of `xl info`): empty while Pool-0 has them all.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// println!("free cpus: {:?}", ctx.free_cpus()?.iter().collect::<Vec<_>>());
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_freecpus")]
    pub fn free_cpus(&self) -> Result<Bitmap> {
        let mut map = Owned::<sys::libxl_bitmap>::new();
        // SAFETY: map is initialised and owned; libxl allocates its bits,
        // which its _dispose frees.
        try_call!(self, On::Host, unsafe libxl_get_freecpus(map.as_mut_ptr()))?;
        // SAFETY: filled by libxl just above.
        unsafe { Bitmap::read_c(&map) }
    }

    /// The virtual machines (`libxl_list_vm`, as `xl vm-list`): each
    /// domain libxl lists (Domain-0 among them), with its UUID and domid.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// for vm in ctx.vms()? {
    ///     println!("{} {}", vm.uuid, vm.domid);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_list_vm")]
    pub fn vms(&self) -> Result<Vec<Vminfo>> {
        let mut n = 0;
        // SAFETY: a valid out-pointer.
        let r = raw_call!(self, unsafe libxl_list_vm(&mut n));
        // SAFETY: the list and count of libxl_list_vm, freed by its own function.
        unsafe { take_list(self.as_raw(), r, n, sys::libxl_vminfo_list_free, On::Host) }
    }

    /// Sends debug keys to the hypervisor (`libxl_send_debug_keys`, as `xl
    /// debug-keys`): each key is a handler whose output goes to Xen's
    /// console ring ([`Context::xen_dmesg`]); `h` lists them.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// ctx.send_debug_keys("q")?; // dump domain (and guest debug) info
    /// print!("{}", ctx.xen_dmesg(false)?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_send_debug_keys")]
    pub fn send_debug_keys(&self, keys: &str) -> Result<()> {
        let c = cstring("debug keys", keys)?;
        if keys.is_empty() {
            return Err(Error::InvalidArgument {
                what: "debug keys",
                reason: "no keys given".into(),
            });
        }
        // libxl takes `char *` but only reads it (xc_send_debug_keys).
        // SAFETY: c is NUL-terminated and outlives the call.
        try_call!(self, On::Host, unsafe libxl_send_debug_keys(c.as_ptr().cast_mut()))
    }
}
