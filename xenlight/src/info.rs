//! What libxl reports, as plain Rust data: a domain's state and figures
//! ([`DomainInfo`]), the host's resources ([`PhysInfo`]) and the
//! hypervisor's version ([`VersionInfo`]), each converted once from libxl's
//! struct.
// bindgen gives each C enum the integer type the platform's C compiler
// picks (int or unsigned), so the casts to i32 are not always no-ops.
#![allow(clippy::unnecessary_cast)]

use std::time::Duration;

use xenlight_sys as sys;

use crate::enums::{DomainType, ShutdownReason};
use crate::ids::{Domid, Uuid};
use crate::raw::alloc::opt_string;

/// A domain's run state, summarised from libxl's flags. The most telling
/// flag wins: dying, then shut down, then paused, running, blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DomainState {
    /// A vCPU is running on a physical CPU.
    Running,
    /// Waiting for an event (idle); the usual state of a quiet guest.
    Blocked,
    /// Paused by the toolstack.
    Paused,
    /// Shut down but not yet destroyed, with the guest's reason.
    Shutdown(ShutdownReason),
    /// Being destroyed.
    Dying,
    /// None of the flags is set (a domain between states).
    Idle,
}

/// One domain, as `libxl_domain_info` / `libxl_list_domain` report it.
///
/// Memory figures are in KiB, as libxl reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DomainInfo {
    /// Domain id.
    pub domid: Domid,
    /// Domain UUID.
    pub uuid: Uuid,
    /// Domain name (from xenstore); `None` if it has none (e.g. while dying).
    pub name: Option<String>,
    /// Run state.
    pub state: DomainState,
    /// PV, PVH or HVM. Xen itself only tells PV from HVM; for guests it
    /// reports as HVM, the type libxl recorded in xenstore tells PVH apart.
    pub domain_type: DomainType,
    /// Raw flags: a vCPU is running.
    pub running: bool,
    /// Raw flags: all vCPUs are blocked.
    pub blocked: bool,
    /// Raw flags: paused.
    pub paused: bool,
    /// Raw flags: shut down (see `shutdown_reason`).
    pub shutdown: bool,
    /// Raw flags: dying.
    pub dying: bool,
    /// The shutdown reason, when `shutdown` is set.
    pub shutdown_reason: Option<ShutdownReason>,
    /// Memory the domain currently has (its pages), in KiB.
    pub current_memkb: u64,
    /// The most memory the domain may be given (its maxmem), in KiB.
    pub max_memkb: u64,
    /// The memory target its balloon driver is asked to reach, in KiB
    /// (xenstore `memory/target`, what `xl mem-set` writes and
    /// [`Context::set_memory_target`](crate::Context::set_memory_target)
    /// sets): a new target shows here at once, in `current_memkb` once the
    /// guest has ballooned. `None` where xenstore has none (a dying domain).
    pub target_memkb: Option<u64>,
    /// Memory claimed for the domain but not yet allocated, in KiB.
    pub outstanding_memkb: u64,
    /// Memory shared with other domains (page sharing), in KiB.
    pub shared_memkb: u64,
    /// Memory paged out by the pager, in KiB.
    pub paged_memkb: u64,
    /// Number of vCPUs online.
    pub vcpu_online: u32,
    /// Number of vCPUs the domain may have (highest vCPU id + 1).
    pub vcpu_max: u32,
    /// CPU time used by the domain so far.
    pub cpu_time: Duration,
    /// The CPU pool the domain runs in.
    pub cpupool: u32,
    /// XSM security reference.
    pub ssidref: u32,
}

impl DomainInfo {
    /// Converts libxl's struct; the name is looked up separately.
    pub(crate) fn from_raw(d: &sys::libxl_dominfo, name: Option<String>) -> Self {
        let shutdown_reason = d
            .shutdown
            .then(|| ShutdownReason::from_raw(d.shutdown_reason as i32));
        let state = if d.dying {
            DomainState::Dying
        } else if let Some(r) = shutdown_reason {
            DomainState::Shutdown(r)
        } else if d.paused {
            DomainState::Paused
        } else if d.running {
            DomainState::Running
        } else if d.blocked {
            DomainState::Blocked
        } else {
            DomainState::Idle
        };
        DomainInfo {
            domid: Domid::from_libxl(d.domid),
            uuid: Uuid::from_bytes(d.uuid.uuid),
            name,
            state,
            domain_type: DomainType::from_raw(d.domain_type as i32),
            running: d.running,
            blocked: d.blocked,
            paused: d.paused,
            shutdown: d.shutdown,
            dying: d.dying,
            shutdown_reason,
            current_memkb: d.current_memkb,
            max_memkb: d.max_memkb,
            target_memkb: None,
            outstanding_memkb: d.outstanding_memkb,
            shared_memkb: d.shared_memkb,
            paged_memkb: d.paged_memkb,
            vcpu_online: d.vcpu_online,
            vcpu_max: d.vcpu_max_id.saturating_add(1),
            cpu_time: Duration::from_nanos(d.cpu_time),
            cpupool: d.cpupool,
            ssidref: d.ssidref,
        }
    }

    /// The six state letters of `xl list`: `r`unning, `b`locked, `p`aused,
    /// `s`hutdown, the shutdown reason (`-` poweroff, `r`eboot, `s`uspend,
    /// `c`rash, `w`atchdog, `S`oft reset, `?` other) and `d`ying; `-` where
    /// unset.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// assert_eq!(ctx.domain_info(xenlight::Domid::DOM0)?.state_letters().len(), 6);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn state_letters(&self) -> String {
        let flag = |set: bool, c: char| if set { c } else { '-' };
        let reason = match self.shutdown_reason {
            None | Some(ShutdownReason::Poweroff) => '-',
            Some(ShutdownReason::Reboot) => 'r',
            Some(ShutdownReason::Suspend) => 's',
            Some(ShutdownReason::Crash) => 'c',
            Some(ShutdownReason::Watchdog) => 'w',
            Some(ShutdownReason::SoftReset) => 'S',
            Some(ShutdownReason::Unknown(_)) => '?',
        };
        [
            flag(self.running, 'r'),
            flag(self.blocked, 'b'),
            flag(self.paused, 'p'),
            flag(self.shutdown, 's'),
            reason,
            flag(self.dying, 'd'),
        ]
        .iter()
        .collect()
    }
}

/// What the hypervisor reports about the machine (`libxl_physinfo`).
///
/// Memory figures are in KiB (libxl counts 4 KiB pages on x86).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PhysInfo {
    /// Logical CPUs Xen runs on.
    pub nr_cpus: u32,
    /// Highest CPU id.
    pub max_cpu_id: u32,
    /// NUMA nodes.
    pub nr_nodes: u32,
    /// Cores per socket.
    pub cores_per_socket: u32,
    /// Threads per core.
    pub threads_per_core: u32,
    /// CPU frequency in kHz.
    pub cpu_khz: u32,
    /// All memory Xen manages, in KiB.
    pub total_memkb: u64,
    /// Memory not given to any domain, in KiB.
    pub free_memkb: u64,
    /// Memory waiting to be scrubbed, in KiB.
    pub scrub_memkb: u64,
    /// Memory claimed by domains being built, in KiB.
    pub outstanding_memkb: u64,
    /// Hardware capability words, as `xl info`'s `hw_caps`.
    pub hw_caps: [u32; 8],
    /// HVM guests can run.
    pub cap_hvm: bool,
    /// PV guests can run.
    pub cap_pv: bool,
    /// Hardware-assisted paging (needed by PVH and HVM here).
    pub cap_hap: bool,
    /// Shadow paging.
    pub cap_shadow: bool,
    /// Device pass-through to HVM guests.
    pub cap_hvm_directio: bool,
    /// Grant table v1.
    pub cap_gnttab_v1: bool,
    /// Grant table v2.
    pub cap_gnttab_v2: bool,
    /// Architecture-specific capabilities (Xen 4.20's
    /// `LIBXL_HAVE_PHYSINFO_ARCH_CAPABILITIES`): on Arm the largest SVE
    /// vector length the host offers, in units of 128 bits; 0 on x86.
    #[cfg(xen_4_20)]
    pub arch_capabilities: u32,
}

/// The hypervisor's version and build (`libxl_version_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VersionInfo {
    /// Major version (4).
    pub major: i32,
    /// Minor version (17 for Xen 4.17).
    pub minor: i32,
    /// The rest, e.g. ".7".
    pub extra: String,
    /// Guest ABIs the hypervisor offers, e.g. "xen-3.0-x86_64 hvm-3.0-x86_64".
    pub capabilities: String,
    /// Xen's command line.
    pub commandline: String,
    /// The compiler that built Xen.
    pub compiler: String,
    /// Who built Xen.
    pub compile_by: String,
    /// The builder's domain.
    pub compile_domain: String,
    /// Build date.
    pub compile_date: String,
    /// Source changeset.
    pub changeset: String,
    /// Build id, if Xen has one.
    pub build_id: String,
    /// Page size in bytes.
    pub pagesize: i32,
    /// Start of the hypervisor's virtual address range.
    pub virt_start: u64,
}

impl VersionInfo {
    /// The version as Xen prints it, e.g. "4.17.7".
    pub fn version(&self) -> String {
        format!("{}.{}{}", self.major, self.minor, self.extra)
    }
}

impl PhysInfo {
    pub(crate) fn from_raw(p: &sys::libxl_physinfo) -> Self {
        let kb = |pages: u64| pages.saturating_mul(4);
        PhysInfo {
            nr_cpus: p.nr_cpus,
            max_cpu_id: p.max_cpu_id,
            nr_nodes: p.nr_nodes,
            cores_per_socket: p.cores_per_socket,
            threads_per_core: p.threads_per_core,
            cpu_khz: p.cpu_khz,
            total_memkb: kb(p.total_pages),
            free_memkb: kb(p.free_pages),
            scrub_memkb: kb(p.scrub_pages),
            outstanding_memkb: kb(p.outstanding_pages),
            hw_caps: p.hw_cap,
            cap_hvm: p.cap_hvm,
            cap_pv: p.cap_pv,
            cap_hap: p.cap_hap,
            cap_shadow: p.cap_shadow,
            cap_hvm_directio: p.cap_hvm_directio,
            cap_gnttab_v1: p.cap_gnttab_v1,
            cap_gnttab_v2: p.cap_gnttab_v2,
            #[cfg(xen_4_20)]
            arch_capabilities: p.arch_capabilities,
        }
    }
}

impl VersionInfo {
    pub(crate) fn from_raw(v: &sys::libxl_version_info) -> Self {
        // SAFETY: each field is NULL or a string owned by `v`'s owner (the
        // ctx), read while `v` is borrowed.
        let s = |p: *mut std::ffi::c_char| unsafe { opt_string(p) }.unwrap_or_default();
        VersionInfo {
            major: v.xen_version_major,
            minor: v.xen_version_minor,
            extra: s(v.xen_version_extra),
            capabilities: s(v.capabilities),
            commandline: s(v.commandline),
            compiler: s(v.compiler),
            compile_by: s(v.compile_by),
            compile_domain: s(v.compile_domain),
            compile_date: s(v.compile_date),
            changeset: s(v.changeset),
            build_id: s(v.build_id),
            pagesize: v.pagesize,
            virt_start: v.virt_start,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> sys::libxl_dominfo {
        sys::libxl_dominfo::default()
    }

    #[test]
    fn state_precedence_and_letters() {
        let mut d = raw();
        d.running = true;
        d.domain_type = sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PV as _;
        d.vcpu_max_id = 1;
        d.cpu_time = 1_500_000_000;
        let i = DomainInfo::from_raw(&d, Some("x".into()));
        assert_eq!(i.state, DomainState::Running);
        assert_eq!(i.state_letters(), "r-----");
        assert_eq!(i.domain_type, DomainType::Pv);
        assert_eq!(i.vcpu_max, 2);
        assert_eq!(i.cpu_time, Duration::from_millis(1500));
        d.paused = true;
        assert_eq!(DomainInfo::from_raw(&d, None).state, DomainState::Paused);
        d.shutdown = true;
        d.shutdown_reason = sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_CRASH as _;
        let i = DomainInfo::from_raw(&d, None);
        assert_eq!(i.state, DomainState::Shutdown(ShutdownReason::Crash));
        assert_eq!(i.state_letters(), "r-psc-");
        d.dying = true;
        assert_eq!(DomainInfo::from_raw(&d, None).state, DomainState::Dying);
    }

    /// Review defect 7 (info side): vcpu_max is derived without overflow.
    #[test]
    fn physinfo_and_version_convert_from_libxl_defaults() {
        let p = crate::raw::Owned::<sys::libxl_physinfo>::new();
        assert_eq!(PhysInfo::from_raw(&p).total_memkb, 0);
        let v = sys::libxl_version_info::default();
        assert_eq!(VersionInfo::from_raw(&v).extra, "");
    }
}
