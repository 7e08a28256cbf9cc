//! Scheduling: the host's scheduler, a domain's scheduler parameters
//! (weight, cap, ...), a pool's credit/credit2 parameters and the CPU
//! pools (`libxl_get_scheduler`, `libxl_domain_sched_params_get/set`,
//! `libxl_sched_credit{,2}_params_get/set`, `libxl_list_cpupool`).

use xenlight_sys as sys;

use crate::context::Context;
use crate::error::Result;
use crate::ids::Domid;
use crate::raw::alloc::{cstring, take_malloced_string};
use crate::raw::cvalue::{take_list, CValue};
use crate::raw::{error_for, raw_call, try_call, On, Owned};
use crate::types::{
    Bitmap, Cpupoolinfo, DomainSchedParams, SchedCredit2Params, SchedCreditParams, Scheduler,
    VcpuSchedParams,
};

impl Context {
    /// The scheduler of the host's default CPU pool (`libxl_get_scheduler`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// println!("scheduler: {}", ctx.scheduler()?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_scheduler")]
    pub fn scheduler(&self) -> Result<Scheduler> {
        // SAFETY: a live ctx.
        let s = unsafe { sys::libxl_get_scheduler(self.as_raw()) };
        if s < 0 {
            return Err(error_for(s, "libxl_get_scheduler", On::Host));
        }
        Ok(Scheduler::from_raw(s))
    }

    /// The domain's scheduler parameters: weight and cap for credit and
    /// credit2, period/budget for RTDS (`libxl_domain_sched_params_get`,
    /// as `xl sched-credit2 -d`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let p = ctx.sched_params(xenlight::Domid::DOM0)?;
    /// println!("{}: weight {} cap {}", p.sched, p.weight, p.cap);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_sched_params_get")]
    pub fn sched_params(&self, domid: Domid) -> Result<DomainSchedParams> {
        let mut p = Owned::<sys::libxl_domain_sched_params>::new();
        // SAFETY: initialised and owned.
        try_call!(self, On::Domain(domid), unsafe libxl_domain_sched_params_get(domid.get(), p.as_mut_ptr()))?;
        // SAFETY: filled by libxl.
        unsafe { DomainSchedParams::read_c(&p) }
    }

    /// Sets the domain's scheduler parameters; fields left at their
    /// defaults (`-1`, see [`DomainSchedParams::default`]) are not changed
    /// (`libxl_domain_sched_params_set`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// use xenlight::types::DomainSchedParams;
    /// ctx.set_sched_params(domid, &DomainSchedParams { weight: 512, ..Default::default() })?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_sched_params_set")]
    pub fn set_sched_params(&self, domid: Domid, params: &DomainSchedParams) -> Result<()> {
        let p = params.to_c()?;
        // SAFETY: initialised, owned, outlives the call.
        try_call!(self, On::Domain(domid), unsafe libxl_domain_sched_params_set(domid.get(), p.as_ptr()))
    }

    /// The host's CPU pools: id, name, scheduler, number of domains and
    /// CPUs (`libxl_list_cpupool`, as `xl cpupool-list`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// for p in ctx.cpupools()? {
    ///     println!("{} {} {} domains", p.pool_name.unwrap_or_default(), p.sched, p.n_dom);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_list_cpupool")]
    pub fn cpupools(&self) -> Result<Vec<Cpupoolinfo>> {
        let mut n = 0;
        // SAFETY: a valid out-pointer.
        let r = raw_call!(self, unsafe libxl_list_cpupool(&mut n));
        // SAFETY: the list and count of libxl_list_cpupool, freed by its own function.
        unsafe {
            take_list(
                self.as_raw(),
                r,
                n,
                sys::libxl_cpupoolinfo_list_free,
                On::Host,
            )
        }
    }

    /// Creates a CPU pool of the host's free `cpus` with scheduler `sched`
    /// and returns its id (`libxl_cpupool_create`, as `xl cpupool-create`).
    /// CPUs must first leave the pool they are in
    /// ([`cpupool_remove_cpu`](Self::cpupool_remove_cpu)).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?;
    /// use xenlight::types::{Bitmap, Scheduler};
    /// ctx.cpupool_remove_cpu(0, 3)?;
    /// let mut cpus = Bitmap::default();
    /// cpus.set(3);
    /// let pool = ctx.create_cpupool("rt", Scheduler::Credit2, &cpus)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_cpupool_create")]
    pub fn create_cpupool(&self, name: &str, sched: Scheduler, cpus: &Bitmap) -> Result<u32> {
        let c_name = cstring("cpupool name", name)?;
        let map = cpus.to_c()?;
        let mut uuid = sys::libxl_uuid {
            uuid: *crate::ids::Uuid::random().as_bytes(),
        };
        let mut poolid = sys::LIBXL_CPUPOOL_POOLID_ANY;
        // SAFETY: name NUL-terminated; the bitmap is passed by value and
        // only read (it stays ours); valid out-pointers.
        try_call!(self, On::Host, unsafe libxl_cpupool_create(c_name.as_ptr(), sched.to_raw() as _, *map, &mut uuid, &mut poolid))?;
        Ok(poolid)
    }

    /// Destroys an empty CPU pool; its CPUs become free
    /// (`libxl_cpupool_destroy`).
    #[doc(alias = "libxl_cpupool_destroy")]
    pub fn destroy_cpupool(&self, poolid: u32) -> Result<()> {
        // SAFETY: plain arguments.
        try_call!(self, On::Host, unsafe libxl_cpupool_destroy(poolid))
    }

    /// Renames a CPU pool (`libxl_cpupool_rename`).
    #[doc(alias = "libxl_cpupool_rename")]
    pub fn rename_cpupool(&self, poolid: u32, name: &str) -> Result<()> {
        let c_name = cstring("cpupool name", name)?;
        // SAFETY: name NUL-terminated.
        try_call!(self, On::Host, unsafe libxl_cpupool_rename(c_name.as_ptr(), poolid))
    }

    /// Adds a free CPU to a pool (`libxl_cpupool_cpuadd`).
    #[doc(alias = "libxl_cpupool_cpuadd")]
    pub fn cpupool_add_cpu(&self, poolid: u32, cpu: u32) -> Result<()> {
        let cpu = cpu_arg(cpu)?;
        // SAFETY: plain arguments.
        try_call!(self, On::Host, unsafe libxl_cpupool_cpuadd(poolid, cpu))
    }

    /// Takes a CPU out of its pool, leaving it free
    /// (`libxl_cpupool_cpuremove`).
    #[doc(alias = "libxl_cpupool_cpuremove")]
    pub fn cpupool_remove_cpu(&self, poolid: u32, cpu: u32) -> Result<()> {
        let cpu = cpu_arg(cpu)?;
        // SAFETY: plain arguments.
        try_call!(self, On::Host, unsafe libxl_cpupool_cpuremove(poolid, cpu))
    }

    /// Adds the free CPUs of `cpus` to a pool
    /// (`libxl_cpupool_cpuadd_cpumap`, as `xl cpupool-cpu-add POOL 2,3`);
    /// libxl adds what it can and fails if any CPU was not free.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?;
    /// let cpus = ctx.free_cpus()?;
    /// ctx.cpupool_add_cpus(1, &cpus)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_cpupool_cpuadd_cpumap")]
    pub fn cpupool_add_cpus(&self, poolid: u32, cpus: &Bitmap) -> Result<()> {
        let map = cpus.to_c()?;
        // SAFETY: an initialised bitmap that outlives the call.
        try_call!(self, On::Host, unsafe libxl_cpupool_cpuadd_cpumap(poolid, map.as_ptr()))
    }

    /// Takes the CPUs of `cpus` out of a pool, leaving them free
    /// (`libxl_cpupool_cpuremove_cpumap`, as `xl cpupool-cpu-remove POOL
    /// 2,3`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?;
    /// let mut cpus = xenlight::types::Bitmap::default();
    /// cpus.set(3);
    /// ctx.cpupool_remove_cpus(0, &cpus)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_cpupool_cpuremove_cpumap")]
    pub fn cpupool_remove_cpus(&self, poolid: u32, cpus: &Bitmap) -> Result<()> {
        let map = cpus.to_c()?;
        // SAFETY: an initialised bitmap that outlives the call.
        try_call!(self, On::Host, unsafe libxl_cpupool_cpuremove_cpumap(poolid, map.as_ptr()))
    }

    /// The NUMA nodes the domain's memory is placed on
    /// (`libxl_domain_get_nodeaffinity`, the NODE Affinity of `xl list
    /// -n`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// println!("nodes {:?}", ctx.node_affinity(domid)?.iter().collect::<Vec<_>>());
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_get_nodeaffinity")]
    pub fn node_affinity(&self, domid: Domid) -> Result<Bitmap> {
        let mut map = Owned::<sys::libxl_bitmap>::new();
        // Xen writes a map of the host's node count into the caller's.
        // SAFETY: map is initialised and owned; libxl allocates its bits,
        // which its _dispose frees.
        try_call!(self, On::Host, unsafe libxl_node_bitmap_alloc(map.as_mut_ptr(), 0))?;
        // SAFETY: map sized for the host's nodes just above.
        try_call!(self, On::Domain(domid), unsafe libxl_domain_get_nodeaffinity(domid.get(), map.as_mut_ptr()))?;
        // SAFETY: filled by libxl just above.
        unsafe { Bitmap::read_c(&map) }
    }

    /// Adds every free CPU of NUMA node `node` to a pool
    /// (`libxl_cpupool_cpuadd_node`, as `xl cpupool-cpu-add POOL node:N`)
    /// and returns how many were added.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?;
    /// let added = ctx.cpupool_add_node(1, 0)?;
    /// println!("{added} CPUs of node 0 joined pool 1");
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_cpupool_cpuadd_node")]
    pub fn cpupool_add_node(&self, poolid: u32, node: u32) -> Result<u32> {
        let node = cpu_arg(node)?;
        let mut n = 0;
        // SAFETY: plain arguments and a valid out-pointer.
        try_call!(self, On::Host, unsafe libxl_cpupool_cpuadd_node(poolid, node, &mut n))?;
        Ok(u32::try_from(n).unwrap_or(0))
    }

    /// Takes every CPU of NUMA node `node` out of a pool, leaving them free
    /// (`libxl_cpupool_cpuremove_node`), and returns how many were removed.
    #[doc(alias = "libxl_cpupool_cpuremove_node")]
    pub fn cpupool_remove_node(&self, poolid: u32, node: u32) -> Result<u32> {
        let node = cpu_arg(node)?;
        let mut n = 0;
        // SAFETY: plain arguments and a valid out-pointer.
        try_call!(self, On::Host, unsafe libxl_cpupool_cpuremove_node(poolid, node, &mut n))?;
        Ok(u32::try_from(n).unwrap_or(0))
    }

    /// The name of CPU pool `poolid` (`libxl_cpupoolid_to_name`); `None`
    /// when there is no such pool.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// assert_eq!(ctx.cpupool_name(0)?.as_deref(), Some("Pool-0"));
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_cpupoolid_to_name")]
    pub fn cpupool_name(&self, poolid: u32) -> Result<Option<String>> {
        // SAFETY: a live ctx; the result is NULL or a string we own.
        let p = unsafe { sys::libxl_cpupoolid_to_name(self.as_raw(), poolid) };
        // SAFETY: malloc'd by libxl and ours to free.
        Ok(unsafe { take_malloced_string(p) })
    }

    /// The id of the CPU pool `which` names: a number is a pool id, anything
    /// else a pool name, as xl reads every POOL argument
    /// (`libxl_cpupool_qualifier_to_cpupoolid`, then
    /// `libxl_cpupoolid_is_valid`). No such pool is an
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// assert_eq!(ctx.find_cpupool("Pool-0")?, ctx.find_cpupool("0")?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_cpupool_qualifier_to_cpupoolid")]
    #[doc(alias = "libxl_cpupoolid_is_valid")]
    #[doc(alias = "libxl_name_to_cpupoolid")]
    pub fn find_cpupool(&self, which: &str) -> Result<u32> {
        let c = cstring("cpupool", which)?;
        let missing = || crate::error::Error::InvalidArgument {
            what: "cpupool",
            reason: format!("there is no cpupool {which:?}"),
        };
        let mut poolid = 0u32;
        // SAFETY: c is NUL-terminated and outlives the call; poolid is a
        // valid out-pointer; NULL was_name_r is allowed.
        let rc = unsafe {
            sys::libxl_cpupool_qualifier_to_cpupoolid(
                self.as_raw(),
                c.as_ptr(),
                &mut poolid,
                std::ptr::null_mut(),
            )
        };
        if rc != 0 {
            return Err(missing());
        }
        // SAFETY: a live ctx; plain argument.
        if unsafe { sys::libxl_cpupoolid_is_valid(self.as_raw(), poolid) } == 0 {
            return Err(missing());
        }
        Ok(poolid)
    }

    /// The per-vCPU scheduler parameters of a domain in an RTDS pool:
    /// each vCPU's period and budget (`libxl_vcpu_sched_params_get_all`,
    /// as `xl sched-rtds -d DOM -v all`). Other schedulers keep no per-vCPU
    /// parameters: an [`Error::Libxl`](crate::Error::Libxl).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// for v in ctx.vcpu_sched_params(domid)?.vcpus {
    ///     println!("vcpu {} period {} budget {}", v.vcpuid, v.period, v.budget);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_vcpu_sched_params_get_all")]
    pub fn vcpu_sched_params(&self, domid: Domid) -> Result<VcpuSchedParams> {
        let mut p = Owned::<sys::libxl_vcpu_sched_params>::new();
        // SAFETY: initialised and owned; libxl allocates the vCPU array,
        // which _dispose frees.
        try_call!(self, On::Domain(domid), unsafe libxl_vcpu_sched_params_get_all(domid.get(), p.as_mut_ptr()))?;
        // SAFETY: filled by libxl.
        unsafe { VcpuSchedParams::read_c(&p) }
    }

    /// The per-vCPU parameters of the vCPUs `params.vcpus` names
    /// (`libxl_vcpu_sched_params_get`, as `xl sched-rtds -d DOM -v 0 -v 1`):
    /// each entry's `vcpuid` says which.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// use xenlight::types::{SchedParams, Scheduler, VcpuSchedParams};
    /// let ask = VcpuSchedParams {
    ///     sched: Scheduler::Rtds,
    ///     vcpus: vec![SchedParams { vcpuid: 0, ..Default::default() }],
    /// };
    /// println!("{:?}", ctx.vcpu_sched_params_of(domid, &ask)?.vcpus[0]);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_vcpu_sched_params_get")]
    pub fn vcpu_sched_params_of(
        &self,
        domid: Domid,
        params: &VcpuSchedParams,
    ) -> Result<VcpuSchedParams> {
        let mut p = params.to_c()?;
        // SAFETY: initialised and owned; libxl fills the entries it holds.
        try_call!(self, On::Domain(domid), unsafe libxl_vcpu_sched_params_get(domid.get(), p.as_mut_ptr()))?;
        // SAFETY: filled by libxl.
        unsafe { VcpuSchedParams::read_c(&p) }
    }

    /// Sets the period and budget of the vCPUs `params.vcpus` names
    /// (`libxl_vcpu_sched_params_set`, as `xl sched-rtds -d DOM -v 0 -p
    /// 10000 -b 4000`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// use xenlight::types::{SchedParams, Scheduler, VcpuSchedParams};
    /// let p = VcpuSchedParams {
    ///     sched: Scheduler::Rtds,
    ///     vcpus: vec![SchedParams { vcpuid: 0, period: 10_000, budget: 4_000, ..Default::default() }],
    /// };
    /// ctx.set_vcpu_sched_params(domid, &p)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_vcpu_sched_params_set")]
    pub fn set_vcpu_sched_params(&self, domid: Domid, params: &VcpuSchedParams) -> Result<()> {
        let p = params.to_c()?;
        // SAFETY: initialised, owned, outlives the call.
        try_call!(self, On::Domain(domid), unsafe libxl_vcpu_sched_params_set(domid.get(), p.as_ptr()))
    }

    /// Sets every vCPU of the domain to the one entry of `params.vcpus`
    /// (`libxl_vcpu_sched_params_set_all`, as `xl sched-rtds -d DOM -v all
    /// -p 10000 -b 4000`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// use xenlight::types::{SchedParams, Scheduler, VcpuSchedParams};
    /// let p = VcpuSchedParams {
    ///     sched: Scheduler::Rtds,
    ///     vcpus: vec![SchedParams { period: 10_000, budget: 4_000, ..Default::default() }],
    /// };
    /// ctx.set_all_vcpu_sched_params(domid, &p)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_vcpu_sched_params_set_all")]
    pub fn set_all_vcpu_sched_params(&self, domid: Domid, params: &VcpuSchedParams) -> Result<()> {
        let p = params.to_c()?;
        // SAFETY: initialised, owned, outlives the call.
        try_call!(self, On::Domain(domid), unsafe libxl_vcpu_sched_params_set_all(domid.get(), p.as_ptr()))
    }

    /// The credit scheduler's parameters of a pool that runs it: time
    /// slice, rate limit and migration delay (`libxl_sched_credit_params_get`,
    /// as `xl sched-credit -s -p POOL`). A pool with another scheduler is
    /// an [`Error::Libxl`](crate::Error::Libxl).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let p = ctx.credit_params(0)?;
    /// println!("tslice={}ms ratelimit={}us", p.tslice_ms, p.ratelimit_us);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_sched_credit_params_get")]
    pub fn credit_params(&self, poolid: u32) -> Result<SchedCreditParams> {
        let mut p = Owned::<sys::libxl_sched_credit_params>::new();
        // SAFETY: initialised and owned; a valid out-pointer.
        try_call!(self, On::Host, unsafe libxl_sched_credit_params_get(poolid, p.as_mut_ptr()))?;
        // SAFETY: filled by libxl.
        unsafe { SchedCreditParams::read_c(&p) }
    }

    /// Sets a credit pool's parameters (`libxl_sched_credit_params_set`,
    /// as `xl sched-credit -s -t/-r/-m`); libxl checks their ranges
    /// (a time slice of 1 to 1000 ms; a rate limit of 0, none, or 100 to
    /// 500000 µs and not above the time slice).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?;
    /// let mut p = ctx.credit_params(0)?;
    /// p.ratelimit_us = 2000;
    /// ctx.set_credit_params(0, &p)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_sched_credit_params_set")]
    pub fn set_credit_params(&self, poolid: u32, params: &SchedCreditParams) -> Result<()> {
        let mut p = params.to_c()?;
        // SAFETY: initialised, owned, outlives the call.
        try_call!(self, On::Host, unsafe libxl_sched_credit_params_set(poolid, p.as_mut_ptr()))
    }

    /// The credit2 scheduler's parameters of a pool that runs it: its rate
    /// limit (`libxl_sched_credit2_params_get`, as `xl sched-credit2 -s -p
    /// POOL`). A pool with another scheduler is an
    /// [`Error::Libxl`](crate::Error::Libxl).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// println!("ratelimit={}us", ctx.credit2_params(0)?.ratelimit_us);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_sched_credit2_params_get")]
    pub fn credit2_params(&self, poolid: u32) -> Result<SchedCredit2Params> {
        let mut p = Owned::<sys::libxl_sched_credit2_params>::new();
        // SAFETY: initialised and owned; a valid out-pointer.
        try_call!(self, On::Host, unsafe libxl_sched_credit2_params_get(poolid, p.as_mut_ptr()))?;
        // SAFETY: filled by libxl.
        unsafe { SchedCredit2Params::read_c(&p) }
    }

    /// Sets a credit2 pool's rate limit (`libxl_sched_credit2_params_set`,
    /// as `xl sched-credit2 -s -r`; libxl takes 0, none, or 100 to
    /// 500000 µs).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?;
    /// use xenlight::types::SchedCredit2Params;
    /// ctx.set_credit2_params(0, &SchedCredit2Params { ratelimit_us: 1500 })?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_sched_credit2_params_set")]
    pub fn set_credit2_params(&self, poolid: u32, params: &SchedCredit2Params) -> Result<()> {
        let mut p = params.to_c()?;
        // SAFETY: initialised, owned, outlives the call.
        try_call!(self, On::Host, unsafe libxl_sched_credit2_params_set(poolid, p.as_mut_ptr()))
    }

    /// Moves a domain to another CPU pool (`libxl_cpupool_movedomain`, as
    /// `xl cpupool-migrate`).
    #[doc(alias = "libxl_cpupool_movedomain")]
    pub fn move_to_cpupool(&self, domid: Domid, poolid: u32) -> Result<()> {
        // SAFETY: plain arguments.
        try_call!(self, On::Domain(domid), unsafe libxl_cpupool_movedomain(poolid, domid.get()))
    }
}

fn cpu_arg(cpu: u32) -> Result<i32> {
    i32::try_from(cpu).map_err(|_| crate::error::Error::InvalidArgument {
        what: "cpu",
        reason: format!("{cpu} is not a CPU number"),
    })
}
