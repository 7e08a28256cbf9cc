//! Memory admission before a domain is built, as xl's autoballoon does
//! (xl_vmcontrol.c: freemem): what the domain needs
//! (`libxl_domain_need_memory`) against the host's free memory
//! (`libxl_get_free_memory`), ballooning dom0 down by the difference
//! (`libxl_set_memory_target` on domain 0, `libxl_wait_for_memory_target`)
//! while that makes progress.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use xenlight_sys as sys;

use crate::context::{Autoballoon, Context};
use crate::convert::RawConfig;
use crate::error::{Error, Result};
use crate::ids::Domid;
use crate::raw::{try_call, On};

/// How long ballooning may keep trying (xl's credit: 30 s).
const BALLOON_CREDIT: Duration = Duration::from_secs(30);

/// xl's lock file (`XEN_LOCK_DIR "/xl"`, xl.conf's default `lockfile`).
const XL_LOCKFILE: &str = "/var/lock/xl";

/// Whether a thread of this process holds the admission lock.
static ADMITTING: Mutex<bool> = Mutex::new(false);
static ADMISSION_FREED: Condvar = Condvar::new();

/// Held from memory admission through libxl's create, as xl holds its lock
/// from `freemem` through `libxl_domain_create_new` (xl_vmcontrol.c):
/// without it two creates measure the same free memory, and one of them
/// fails inside libxl instead of being admitted or refused. It excludes
/// the other threads of this process and, through an fcntl lock on xl's
/// own lock file, `xl create` and other processes that use it.
pub(crate) struct AdmissionLock {
    /// The locked file (closing it releases the fcntl lock); `None` when
    /// the lock directory does not exist (the in-process lock still holds).
    _file: Option<File>,
}

impl AdmissionLock {
    /// Waits for the lock.
    pub(crate) fn acquire() -> Self {
        let mut busy = crate::raw::lock(&ADMITTING);
        while *busy {
            busy = ADMISSION_FREED
                .wait(busy)
                .unwrap_or_else(|e| e.into_inner());
        }
        *busy = true;
        drop(busy);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .mode(0o200)
            .custom_flags(libc::O_CLOEXEC)
            .open(XL_LOCKFILE)
            .ok()
            .filter(|f| {
                // SAFETY: a zeroed flock is a valid value; set below.
                let mut fl: libc::flock = unsafe { std::mem::zeroed() };
                fl.l_type = libc::F_WRLCK as _;
                fl.l_whence = libc::SEEK_SET as _;
                loop {
                    // SAFETY: an open fd and a valid flock; F_SETLKW waits.
                    let rc = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLKW, &fl) };
                    if rc == 0 {
                        return true;
                    }
                    if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                        return false;
                    }
                }
            });
        AdmissionLock { _file: file }
    }
}

impl Drop for AdmissionLock {
    fn drop(&mut self) {
        // The file (and with it the fcntl lock) goes first.
        self._file.take();
        *crate::raw::lock(&ADMITTING) = false;
        ADMISSION_FREED.notify_one();
    }
}

/// Refuses a config on which libxl's defaulting would put memory from its
/// temporary allocator (libxl_create.c: a cpumap with no per-vCPU hard
/// affinities becomes an array freed when the call returns, then read by
/// the create and freed again by our `_dispose`). `Context::host_sized`
/// never makes one; this holds the line for every create path.
pub(crate) fn gc_free_defaulting(raw: &RawConfig) -> Result<()> {
    let b = &raw.b_info;
    if b.cpumap.size != 0 && b.num_vcpu_hard_affinity == 0 {
        return Err(Error::InvalidConfig {
            field: "b_info.cpumap".into(),
            reason: "a cpumap with no per-vCPU hard affinity would be expanded by libxl into memory it frees".into(),
        });
    }
    Ok(())
}

impl Context {
    /// The host's free memory in KiB (`libxl_get_free_memory`): what a new
    /// domain can have without ballooning anything.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// println!("{} MiB free", ctx.free_memory_kib()? / 1024);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_free_memory")]
    pub fn free_memory_kib(&self) -> Result<u64> {
        let mut kib = 0u64;
        // SAFETY: a valid out-pointer.
        try_call!(self, On::Host, unsafe libxl_get_free_memory(&mut kib))?;
        Ok(kib)
    }

    /// Whether ballooning is on for this host: [`Autoballoon::Auto`]
    /// means on unless Xen's command line fixes dom0's memory (`dom0_mem=`).
    pub fn autoballoon_active(&self) -> bool {
        match self.autoballoon() {
            Autoballoon::On => true,
            Autoballoon::Off => false,
            Autoballoon::Auto => !self
                .version()
                .commandline
                .split_whitespace()
                .any(|w| w.starts_with("dom0_mem=")),
        }
    }

    /// How much free memory, in KiB, the host needs to build `cfg`: the
    /// guest's memory and its overheads (shadow, video RAM, stub domain),
    /// as libxl counts them for `xl create` (`libxl_domain_need_memory`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let cfg = xenlight::DomainConfig::new("web", xenlight::DomainType::Pv)
    ///     .memory_mib(512)
    ///     .kernel("/boot/vmlinuz");
    /// println!("needs {} MiB", ctx.memory_needed_kib(&cfg)? / 1024);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_need_memory")]
    pub fn memory_needed_kib(&self, cfg: &crate::DomainConfig) -> Result<u64> {
        let raw = self.host_sized_raw(cfg)?;
        self.need_memory_raw(&raw, cfg.name())
    }

    /// libxl's count of what `cfg` needs. libxl fills defaults into the
    /// config it is given ("will be partially defaulted", libxl.h): it
    /// gets a copy of its own, disposed here, so the create reads only
    /// what it owns.
    fn need_memory_raw(&self, cfg: &RawConfig, name: &str) -> Result<u64> {
        gc_free_defaulting(cfg)?;
        let mut copy = RawConfig::new();
        // SAFETY: a live ctx; both configs initialised; libxl deep-copies
        // with malloc, so `copy` owns all it holds.
        unsafe { sys::libxl_domain_config_copy(self.as_raw(), copy.as_mut_ptr(), cfg.as_ptr()) };
        let mut need = 0u64;
        // SAFETY: `copy` is an initialised config of our own, disposed on
        // return; need is a valid out-pointer.
        try_call!(self, On::Named(name), unsafe libxl_domain_need_memory(copy.as_mut_ptr(), u32::MAX, &mut need))?;
        Ok(need)
    }

    /// Waits up to `secs` seconds for the domain to reach its memory
    /// target, as long as it keeps moving towards it
    /// (`libxl_wait_for_memory_target`, what xl does after ballooning
    /// dom0 down). A domain that stops short is an error.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// ctx.set_memory_target(xenlight::Domid::DOM0, 2 << 20)?;
    /// ctx.wait_for_memory_target(xenlight::Domid::DOM0, 10)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_wait_for_memory_target")]
    pub fn wait_for_memory_target(&self, domid: Domid, secs: u32) -> Result<()> {
        let secs = i32::try_from(secs).unwrap_or(i32::MAX);
        // SAFETY: plain arguments.
        try_call!(self, On::Domain(domid), unsafe libxl_wait_for_memory_target(domid.get(), secs))
    }

    /// Makes room for `cfg` before it is built: nothing to do when it fits
    /// in free memory; otherwise balloons dom0 down if allowed, or says by
    /// how much it does not fit.
    pub(crate) fn admit(&self, cfg: &RawConfig, name: &str) -> Result<()> {
        let need = self.need_memory_raw(cfg, name)?;
        let balloon = self.autoballoon_active();
        let started = Instant::now();
        let mut ballooned = false;
        loop {
            let free = self.free_memory_kib()?;
            if free >= need {
                return Ok(());
            }
            if !balloon || started.elapsed() >= BALLOON_CREDIT {
                return Err(Error::InsufficientMemory {
                    domain: name.to_owned(),
                    need_mib: need.div_ceil(1024),
                    free_mib: free / 1024,
                    ballooned,
                });
            }
            let short = || Error::InsufficientMemory {
                domain: name.to_owned(),
                need_mib: need.div_ceil(1024),
                free_mib: free / 1024,
                ballooned: true,
            };
            // Relative to dom0's current target: down by the shortfall.
            let delta = -i64::try_from(need - free).unwrap_or(i64::MAX);
            // SAFETY: plain arguments (relative, not enforced: as xl).
            match try_call!(self, On::Host, unsafe libxl_set_memory_target(0, delta, 1, 0)) {
                Ok(()) => {}
                // Below dom0's minimum (libxl_mem.c): it cannot give that
                // much; the guest does not fit.
                Err(Error::Libxl {
                    kind: crate::ErrorKind::Invalid,
                    ..
                }) => return Err(short()),
                Err(e) => return Err(e),
            }
            ballooned = true;
            // SAFETY: plain arguments; waits while dom0 makes progress.
            // Dom0 not reaching its target ends the ballooning, as in xl:
            // another round would lower it by the whole shortfall again.
            if try_call!(self, On::Host, unsafe libxl_wait_for_memory_target(0, 10)).is_err() {
                return Err(short());
            }
        }
    }
}
