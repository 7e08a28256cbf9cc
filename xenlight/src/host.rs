//! The host: physical resources (`libxl_get_physinfo`), CPU and NUMA
//! topology, the CPUs no pool holds, the VMs, debug keys and run-time
//! parameters, and the hypervisor's version (read once, when the
//! `Context` is made).

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

    /// Sets hypervisor parameters at run time (`libxl_set_parameters`, as
    /// `xl set-parameters`): Xen's command-line syntax, for the parameters
    /// Xen lets change while it runs (`loglvl=all`, ...). One Xen does not
    /// know, or will not change, is an [`Error::Libxl`].
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// ctx.set_parameters("loglvl=all guest_loglvl=all")?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_set_parameters")]
    pub fn set_parameters(&self, params: &str) -> Result<()> {
        let c = cstring("hypervisor parameters", params)?;
        if params.trim().is_empty() {
            return Err(Error::InvalidArgument {
                what: "hypervisor parameters",
                reason: "no parameters given".into(),
            });
        }
        // libxl takes `char *` but only reads it (xc_set_parameters).
        // SAFETY: c is NUL-terminated and outlives the call.
        try_call!(self, On::Host, unsafe libxl_set_parameters(c.as_ptr().cast_mut()))
    }

    /// The host's PCI devices and the NUMA node of each
    /// (`libxl_get_pci_topology`, the device part of `xl info -n`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// for d in ctx.pci_topology()? {
    ///     println!("{:04x}:{:02x}:{:02x}.{} node {}", d.seg, d.bus, d.devfn >> 3, d.devfn & 7, d.node);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_pci_topology")]
    pub fn pci_topology(&self) -> Result<Vec<crate::types::Pcitopology>> {
        let mut n = 0;
        // SAFETY: a valid out-pointer.
        let r = raw_call!(self, unsafe libxl_get_pci_topology(&mut n));
        // SAFETY: the list and count of libxl_get_pci_topology, freed by its own function.
        unsafe {
            take_list(
                self.as_raw(),
                r,
                n,
                sys::libxl_pcitopology_list_free,
                On::Host,
            )
        }
    }

    /// The XSM/FLASK mode of the hypervisor: `Ok(true)` enforcing,
    /// `Ok(false)` permissive (`libxl_flask_getenforce`, as `xl
    /// getenforce`). A Xen built without FLASK (Debian's, for one) answers
    /// with an [`Error::Libxl`].
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// match ctx.flask_enforcing() {
    ///     Ok(on) => println!("{}", if on { "Enforcing" } else { "Permissive" }),
    ///     Err(e) => println!("no FLASK: {e}"),
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_flask_getenforce")]
    pub fn flask_enforcing(&self) -> Result<bool> {
        // SAFETY: a live ctx.
        let r = unsafe { sys::libxl_flask_getenforce(self.as_raw()) };
        match r {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(crate::raw::error_for(
                r.min(-1),
                "libxl_flask_getenforce",
                On::Host,
            )),
        }
    }

    /// Sets the XSM/FLASK mode (`libxl_flask_setenforce`, as `xl
    /// setenforce`): enforcing or permissive.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// ctx.set_flask_enforcing(false)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_flask_setenforce")]
    pub fn set_flask_enforcing(&self, enforcing: bool) -> Result<()> {
        // SAFETY: plain argument.
        try_call!(self, On::Host, unsafe libxl_flask_setenforce(i32::from(enforcing)))
    }

    /// Loads an XSM/FLASK policy, the bytes of a compiled policy file
    /// (`libxl_flask_loadpolicy`, as `xl loadpolicy FILE`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let policy = std::fs::read("/boot/xenpolicy-4.17")?;
    /// ctx.flask_load_policy(&policy)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "libxl_flask_loadpolicy")]
    pub fn flask_load_policy(&self, policy: &[u8]) -> Result<()> {
        let size = u32::try_from(policy.len()).map_err(|_| Error::InvalidArgument {
            what: "FLASK policy",
            reason: format!("{} bytes is more than libxl takes", policy.len()),
        })?;
        // libxl takes `void *` but only reads it (xc_flask_load copies it
        // into a hypercall buffer).
        // SAFETY: the slice is valid for `size` bytes for the call.
        try_call!(self, On::Host, unsafe libxl_flask_loadpolicy(policy.as_ptr().cast_mut().cast(), size))
    }

    /// How many CPUs the host has online (`libxl_get_online_cpus`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// println!("{} of {} CPUs online", ctx.online_cpus()?, ctx.max_cpus()?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_online_cpus")]
    pub fn online_cpus(&self) -> Result<u32> {
        // SAFETY: a live ctx.
        count(
            unsafe { sys::libxl_get_online_cpus(self.as_raw()) },
            "libxl_get_online_cpus",
        )
    }

    /// How many CPUs the host's CPU maps have room for
    /// (`libxl_get_max_cpus`): the length of a map from
    /// [`free_cpus`](Self::free_cpus) or [`node_cpus`](Self::node_cpus).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// println!("maps of {} CPUs", ctx.max_cpus()?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_max_cpus")]
    pub fn max_cpus(&self) -> Result<u32> {
        // SAFETY: a live ctx.
        count(
            unsafe { sys::libxl_get_max_cpus(self.as_raw()) },
            "libxl_get_max_cpus",
        )
    }

    /// How many NUMA nodes the host's node maps have room for
    /// (`libxl_get_max_nodes`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// println!("maps of {} nodes", ctx.max_nodes()?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_max_nodes")]
    pub fn max_nodes(&self) -> Result<u32> {
        // SAFETY: a live ctx.
        count(
            unsafe { sys::libxl_get_max_nodes(self.as_raw()) },
            "libxl_get_max_nodes",
        )
    }

    /// The CPUs of NUMA node `node` (`libxl_node_to_cpumap`, what xl reads
    /// `node:N` as in `vcpu-pin` and `cpupool-cpu-add`); a node the host
    /// does not have holds none.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// println!("node 0: {:?}", ctx.node_cpus(0)?.iter().collect::<Vec<_>>());
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_node_to_cpumap")]
    pub fn node_cpus(&self, node: u32) -> Result<Bitmap> {
        let node = i32::try_from(node).map_err(|_| Error::InvalidArgument {
            what: "NUMA node",
            reason: format!("{node} is not a node number"),
        })?;
        let mut map = Owned::<sys::libxl_bitmap>::new();
        // libxl only sets bits inside a map the caller has sized.
        // SAFETY: map is initialised and owned; libxl allocates its bits,
        // which its _dispose frees.
        try_call!(self, On::Host, unsafe libxl_cpu_bitmap_alloc(map.as_mut_ptr(), 0))?;
        // SAFETY: map sized for the host's CPUs just above.
        try_call!(self, On::Host, unsafe libxl_node_to_cpumap(node, map.as_mut_ptr()))?;
        // SAFETY: filled by libxl just above.
        unsafe { Bitmap::read_c(&map) }
    }
}

/// A count libxl returns as an int, negative on failure.
fn count(n: i32, op: &'static str) -> Result<u32> {
    u32::try_from(n).map_err(|_| crate::raw::error_for(n, op, On::Host))
}
