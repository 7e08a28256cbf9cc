//! [`AsyncContext`]'s forms of the sync calls on a domain's resources and
//! the host's: vCPUs, scheduling, CPU pools, PCI devices, memory limits,
//! names, consoles, core dumps, triggers, suspend and resume, and
//! migration over a stream the caller opened. Those libxl takes an
//! `ao_how` for run as libxl asynchronous operations, with the sync call's
//! checks (shared with it); the rest run the [`Context`](crate::Context) call on the
//! runtime's blocking pool.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use xenlight_sys as sys;

use super::AsyncContext;
use crate::console::{Console, ConsoleKind};
use crate::error::Result;
use crate::ids::Domid;
use crate::raw::alloc::cstring;
use crate::raw::cvalue::CValue;
use crate::raw::On;
use crate::types::{Bitmap, DevicePci, DomainSchedParams, Scheduler, Trigger};

impl AsyncContext {
    /// Sets how many of the domain's vCPUs are online, vCPUs `0..count`
    /// (`libxl_set_vcpuonline` as a libxl asynchronous operation; as
    /// [`Context::set_vcpus_online`](crate::Context::set_vcpus_online)).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.set_vcpus_online(domid, 2).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_set_vcpuonline")]
    pub async fn set_vcpus_online(&self, domid: Domid, count: u32) -> Result<()> {
        let map = crate::vcpus::online_map(count)?;
        let raw = domid.get();
        let (r, _) = self
            .ao(
                "libxl_set_vcpuonline",
                On::Domain(domid),
                map,
                move |ctx, m, how| {
                    // SAFETY: `m` is the initialised bitmap the operation holds
                    // until libxl's callback; `how` is valid for the call.
                    unsafe { sys::libxl_set_vcpuonline(ctx, raw, (*m).as_mut_ptr(), how) }
                },
            )
            .await;
        r
    }

    /// Sets where a vCPU may run (hard) and prefers to run (soft), as
    /// [`Context::set_vcpu_affinity`](crate::Context::set_vcpu_affinity) (`libxl_set_vcpuaffinity`, which
    /// has no asynchronous form: on the blocking pool).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// let mut cpus = xenlight::types::Bitmap::default();
    /// cpus.set(1);
    /// ctx.set_vcpu_affinity(domid, 0, Some(cpus), None).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_set_vcpuaffinity")]
    pub async fn set_vcpu_affinity(
        &self,
        domid: Domid,
        vcpu: u32,
        hard: Option<Bitmap>,
        soft: Option<Bitmap>,
    ) -> Result<()> {
        self.blocking("libxl_set_vcpuaffinity", move |c| {
            c.set_vcpu_affinity(domid, vcpu, hard.as_ref(), soft.as_ref())
        })
        .await
    }

    /// Sets a domain's scheduler parameters, as
    /// [`Context::set_sched_params`](crate::Context::set_sched_params) (`libxl_domain_sched_params_set`, on
    /// the blocking pool).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// let mut p = ctx.context().sched_params(domid)?;
    /// p.weight = 512;
    /// ctx.set_sched_params(domid, p).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_sched_params_set")]
    pub async fn set_sched_params(&self, domid: Domid, params: DomainSchedParams) -> Result<()> {
        self.blocking("libxl_domain_sched_params_set", move |c| {
            c.set_sched_params(domid, &params)
        })
        .await
    }

    /// Makes a CPU pool of free CPUs, as [`Context::create_cpupool`](crate::Context::create_cpupool)
    /// (`libxl_cpupool_create`, on the blocking pool); returns its id.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext) -> xenlight::Result<()> {
    /// use xenlight::types::{Bitmap, Scheduler};
    /// let pool = ctx.create_cpupool("rt", Scheduler::Credit2, Bitmap::default()).await?;
    /// ctx.destroy_cpupool(pool).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_cpupool_create")]
    pub async fn create_cpupool(&self, name: &str, sched: Scheduler, cpus: Bitmap) -> Result<u32> {
        let name = name.to_owned();
        self.blocking("libxl_cpupool_create", move |c| {
            c.create_cpupool(&name, sched, &cpus)
        })
        .await
    }

    /// Destroys an empty CPU pool, as [`Context::destroy_cpupool`](crate::Context::destroy_cpupool)
    /// (`libxl_cpupool_destroy`, on the blocking pool).
    #[doc(alias = "libxl_cpupool_destroy")]
    pub async fn destroy_cpupool(&self, poolid: u32) -> Result<()> {
        self.blocking("libxl_cpupool_destroy", move |c| c.destroy_cpupool(poolid))
            .await
    }

    /// Adds a free CPU to a pool, as [`Context::cpupool_add_cpu`](crate::Context::cpupool_add_cpu)
    /// (`libxl_cpupool_cpuadd`, on the blocking pool).
    #[doc(alias = "libxl_cpupool_cpuadd")]
    pub async fn cpupool_add_cpu(&self, poolid: u32, cpu: u32) -> Result<()> {
        self.blocking("libxl_cpupool_cpuadd", move |c| {
            c.cpupool_add_cpu(poolid, cpu)
        })
        .await
    }

    /// Takes a CPU out of its pool, as [`Context::cpupool_remove_cpu`](crate::Context::cpupool_remove_cpu)
    /// (`libxl_cpupool_cpuremove`, on the blocking pool).
    #[doc(alias = "libxl_cpupool_cpuremove")]
    pub async fn cpupool_remove_cpu(&self, poolid: u32, cpu: u32) -> Result<()> {
        self.blocking("libxl_cpupool_cpuremove", move |c| {
            c.cpupool_remove_cpu(poolid, cpu)
        })
        .await
    }

    /// Moves a domain to another CPU pool, as [`Context::move_to_cpupool`](crate::Context::move_to_cpupool)
    /// (`libxl_cpupool_movedomain`, on the blocking pool).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.move_to_cpupool(domid, 0).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_cpupool_movedomain")]
    pub async fn move_to_cpupool(&self, domid: Domid, poolid: u32) -> Result<()> {
        self.blocking("libxl_cpupool_movedomain", move |c| {
            c.move_to_cpupool(domid, poolid)
        })
        .await
    }

    /// Passes an assignable PCI device through to a domain
    /// (`libxl_device_pci_add` as a libxl asynchronous operation; as
    /// [`Context::attach_pci`](crate::Context::attach_pci)).
    #[doc(alias = "libxl_device_pci_add")]
    pub async fn attach_pci(&self, domid: Domid, pci: &DevicePci) -> Result<()> {
        self.pci_op("libxl_device_pci_add", domid, pci, |ctx, d, p, how| {
            // SAFETY: as in pci_op.
            unsafe { sys::libxl_device_pci_add(ctx, d, p, how) }
        })
        .await
    }

    /// Removes a passed-through PCI device from a domain
    /// (`libxl_device_pci_remove` as a libxl asynchronous operation; as
    /// [`Context::detach_pci`](crate::Context::detach_pci)).
    #[doc(alias = "libxl_device_pci_remove")]
    pub async fn detach_pci(&self, domid: Domid, pci: &DevicePci) -> Result<()> {
        self.pci_op("libxl_device_pci_remove", domid, pci, |ctx, d, p, how| {
            // SAFETY: as in pci_op.
            unsafe { sys::libxl_device_pci_remove(ctx, d, p, how) }
        })
        .await
    }

    /// A PCI call on `pci`, converted and held until libxl's callback.
    async fn pci_op(
        &self,
        op: &'static str,
        domid: Domid,
        pci: &DevicePci,
        call: fn(
            *mut sys::libxl_ctx,
            u32,
            *mut sys::libxl_device_pci,
            *const sys::libxl_asyncop_how,
        ) -> std::ffi::c_int,
    ) -> Result<()> {
        let raw = pci.to_c()?;
        let d = domid.get();
        // `p` points to the initialised device the operation holds until
        // libxl's callback; `how` is valid for the call.
        let (r, _) = self
            .ao(op, On::Domain(domid), raw, move |ctx, p, how| {
                // SAFETY: see above.
                call(ctx, d, unsafe { (*p).as_mut_ptr() }, how)
            })
            .await;
        r
    }

    /// Sets the most memory the domain may have, as
    /// [`Context::set_max_memory`](crate::Context::set_max_memory) (`libxl_domain_setmaxmem`, on the
    /// blocking pool: it writes xenstore and calls Xen).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.set_max_memory(domid, 512 * 1024).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_setmaxmem")]
    pub async fn set_max_memory(&self, domid: Domid, max_kib: u64) -> Result<()> {
        self.blocking("libxl_domain_setmaxmem", move |c| {
            c.set_max_memory(domid, max_kib)
        })
        .await
    }

    /// Renames a domain, as [`Context::rename`](crate::Context::rename) (`libxl_domain_rename`, on
    /// the blocking pool: a xenstore transaction).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.rename(domid, "web-old").await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_rename")]
    pub async fn rename(&self, domid: Domid, new_name: &str) -> Result<()> {
        let name = new_name.to_owned();
        self.blocking("libxl_domain_rename", move |c| c.rename(domid, &name))
            .await
    }

    /// Opens a domain's console, as [`Context::console`](crate::Context::console)
    /// (`libxl_console_get_tty`, on the blocking pool: it may wait on
    /// xenstore); the [`Console`] reads and writes blocking, so read it on
    /// the blocking pool or a thread of its own.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// let console = ctx.console(domid, xenlight::ConsoleKind::Primary).await?;
    /// println!("{}", console.path().display());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_console_get_tty")]
    pub async fn console(&self, domid: Domid, kind: ConsoleKind) -> Result<Console> {
        self.blocking("libxl_console_get_tty", move |c| c.console(domid, kind))
            .await
    }

    /// Writes the domain's memory to a core file (`libxl_domain_core_dump`
    /// as a libxl asynchronous operation; as [`Context::core_dump_to`](crate::Context::core_dump_to): a
    /// partial file is removed on failure).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.core_dump_to(domid, "/var/lib/xen/dump/web.core").await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_core_dump")]
    pub async fn core_dump_to(&self, domid: Domid, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let c_path: CString = cstring("core dump path", &path.to_string_lossy())?;
        let d = domid.get();
        let (dumped, _) = self
            .ao(
                "libxl_domain_core_dump",
                On::Domain(domid),
                c_path,
                move |ctx, p, how| {
                    // SAFETY: `p` is the NUL-terminated path the operation
                    // holds until libxl's callback; `how` is valid for the call.
                    unsafe { sys::libxl_domain_core_dump(ctx, d, (*p).as_ptr(), how) }
                },
            )
            .await;
        if dumped.is_err() {
            let _ = std::fs::remove_file(path);
        }
        dumped
    }

    /// Sends a trigger (power or sleep button, NMI, INIT, reset, S3
    /// resume) to vCPU `vcpu` (`libxl_send_trigger` as a libxl
    /// asynchronous operation; as [`Context::send_trigger`](crate::Context::send_trigger)).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.send_trigger(domid, xenlight::types::Trigger::Nmi, 0).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_send_trigger")]
    pub async fn send_trigger(&self, domid: Domid, trigger: Trigger, vcpu: u32) -> Result<()> {
        let (d, t) = (domid.get(), trigger.to_raw() as sys::libxl_trigger);
        let (r, _) = self
            .ao(
                "libxl_send_trigger",
                On::Domain(domid),
                (),
                move |ctx, _, how| {
                    // SAFETY: plain arguments; `how` is valid for the call.
                    unsafe { sys::libxl_send_trigger(ctx, d, t, vcpu, how) }
                },
            )
            .await;
        r
    }

    /// Asks the guest to suspend itself and leaves it suspended in memory
    /// (`libxl_domain_suspend_only` as a libxl asynchronous operation; as
    /// [`Context::suspend_only`](crate::Context::suspend_only)); [`resume`](Self::resume) undoes it.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.suspend_only(domid).await?;
    /// ctx.resume(domid).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_suspend_only")]
    pub async fn suspend_only(&self, domid: Domid) -> Result<()> {
        self.domain_op("libxl_domain_suspend_only", domid, |ctx, d, how| {
            // SAFETY: plain arguments; `how` is valid for the call.
            unsafe { sys::libxl_domain_suspend_only(ctx, d, how) }
        })
        .await
    }

    /// Resumes a domain left suspended (`libxl_domain_resume` with
    /// `suspend_cancel`, as a libxl asynchronous operation; as
    /// [`Context::resume`](crate::Context::resume)).
    #[doc(alias = "libxl_domain_resume")]
    pub async fn resume(&self, domid: Domid) -> Result<()> {
        let d = domid.get();
        let (r, _) = self
            .ao(
                "libxl_domain_resume",
                On::Domain(domid),
                (),
                move |ctx, _, how| {
                    // SAFETY: plain arguments; `how` is valid for the call.
                    unsafe { sys::libxl_domain_resume(ctx, d, 1, how) }
                },
            )
            .await;
        r
    }

    /// Migrates a domain to the receiver at the other end of `stream`, as
    /// [`Context::migrate_send`](crate::Context::migrate_send) (on the blocking pool: libxl's stream and
    /// the hand-over protocol are blocking I/O on the caller's stream).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> Result<(), Box<dyn std::error::Error>> {
    /// let stream = std::net::TcpStream::connect("169.254.7.2:8002")?;
    /// ctx.migrate_send(domid, stream).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_suspend")]
    pub async fn migrate_send<S>(&self, domid: Domid, mut stream: S) -> Result<()>
    where
        S: Read + Write + AsRawFd + Send + 'static,
    {
        self.blocking("migrate_send", move |c| c.migrate_send(domid, &mut stream))
            .await
    }

    /// Receives a domain migrated by a sender at the other end of
    /// `stream`, as [`Context::migrate_receive`](crate::Context::migrate_receive) (on the blocking pool);
    /// returns its domid here.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext) -> Result<(), Box<dyn std::error::Error>> {
    /// let listener = std::net::TcpListener::bind("169.254.7.2:8002")?;
    /// let (stream, _) = listener.accept()?;
    /// let domid = ctx.migrate_receive(stream).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_create_restore")]
    pub async fn migrate_receive<S>(&self, mut stream: S) -> Result<Domid>
    where
        S: Read + Write + AsRawFd + Send + 'static,
    {
        self.blocking("migrate_receive", move |c| c.migrate_receive(&mut stream))
            .await
    }

    /// Live-migrates a domain to this same host, as
    /// [`Context::migrate_local`](crate::Context::migrate_local) (on the
    /// blocking pool: both ends run there, over a socket pair); returns the
    /// new domid. Needs a guest Xen can track dirty pages of (PVH or HVM
    /// with HAP; a PV guest needs shadow paging).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// let moved = ctx.migrate_local(domid).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_suspend")]
    #[doc(alias = "libxl_domain_create_restore")]
    pub async fn migrate_local(&self, domid: Domid) -> Result<Domid> {
        self.blocking("migrate_local", move |c| c.migrate_local(domid))
            .await
    }

    /// Replicates a domain with Remus or COLO, as
    /// [`Context::remus`](crate::Context::remus), on the blocking pool for
    /// as long as replication lasts; the streams are taken, and closed
    /// when it ends.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> Result<(), Box<dyn std::error::Error>> {
    /// let info = xenlight::types::DomainRemusInfo {
    ///     blackhole: Some(true),
    ///     allow_unsafe: Some(true),
    ///     netbuf: Some(false),
    ///     diskbuf: Some(false),
    ///     ..Default::default()
    /// };
    /// let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    /// ctx.remus(domid, info, null.into(), None).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_remus_start")]
    pub async fn remus(
        &self,
        domid: Domid,
        info: crate::types::DomainRemusInfo,
        send: std::os::fd::OwnedFd,
        recv: Option<std::os::fd::OwnedFd>,
    ) -> Result<()> {
        use std::os::fd::AsFd;
        self.blocking("remus", move |c| {
            c.remus(domid, &info, &send, recv.as_ref().map(|f| f.as_fd()))
        })
        .await
    }
}
