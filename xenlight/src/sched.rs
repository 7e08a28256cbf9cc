//! Scheduling: the host's scheduler, a domain's scheduler parameters
//! (weight, cap, ...) and the CPU pools (`libxl_get_scheduler`,
//! `libxl_domain_sched_params_get/set`, `libxl_list_cpupool`).

use xenlight_sys as sys;

use crate::context::Context;
use crate::error::Result;
use crate::ids::Domid;
use crate::raw::alloc::cstring;
use crate::raw::cvalue::{take_list, CValue};
use crate::raw::{error_for, raw_call, try_call, On, Owned};
use crate::types::{Bitmap, Cpupoolinfo, DomainSchedParams, Scheduler};

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
