//! Domains as plain Rust data: ids, UUIDs, state and [`DomainInfo`], and the
//! `Context` calls that list and look them up.

use std::fmt;
use std::time::Duration;

use xenlight_sys as sys;

use crate::context::Context;
use crate::error::{check, DomainRef, Error, Result};
use crate::util::{cstring, libxl_owned, opt_string, take_malloced_string};

/// A Xen domain id. Domain-0 is 0.
pub type Domid = u32;

/// A domain's UUID (16 bytes), printed in the usual 8-4-4-4-12 form.
///
/// ```
/// let u = xenlight::Uuid::from_bytes([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
///                                     0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
/// assert_eq!(u.to_string(), "12345678-9abc-def0-1122-334455667788");
/// assert_eq!("12345678-9abc-def0-1122-334455667788".parse::<xenlight::Uuid>().unwrap(), u);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Uuid([u8; 16]);

impl Uuid {
    /// The UUID with these bytes.
    pub const fn from_bytes(b: [u8; 16]) -> Self {
        Uuid(b)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Whether every byte is zero (libxl's "no UUID set").
    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The error for a string that is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a UUID (expected 8-4-4-4-12 hexadecimal digits)")]
pub struct ParseUuidError(String);

impl std::str::FromStr for Uuid {
    type Err = ParseUuidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseUuidError(s.to_owned());
        let groups: Vec<&str> = s.split('-').collect();
        if groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
            return Err(bad());
        }
        let hex: String = groups.concat();
        let mut out = [0u8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2).ok_or_else(bad)?;
            *o = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Uuid(out))
    }
}

/// Why a domain shut down (`libxl_shutdown_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShutdownReason {
    /// The guest powered off.
    Poweroff,
    /// The guest asked to reboot.
    Reboot,
    /// The guest suspended (e.g. for save or migration).
    Suspend,
    /// The guest crashed.
    Crash,
    /// The guest's watchdog fired.
    Watchdog,
    /// The guest asked for a soft reset.
    SoftReset,
    /// libxl did not say, or a value this crate does not know.
    Unknown(i32),
}

impl ShutdownReason {
    pub(crate) fn from_raw(r: sys::libxl_shutdown_reason) -> Self {
        match r {
            sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_POWEROFF => Self::Poweroff,
            sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_REBOOT => Self::Reboot,
            sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_SUSPEND => Self::Suspend,
            sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_CRASH => Self::Crash,
            sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_WATCHDOG => Self::Watchdog,
            sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_SOFT_RESET => Self::SoftReset,
            other => Self::Unknown(other),
        }
    }
}

impl fmt::Display for ShutdownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Poweroff => f.write_str("poweroff"),
            Self::Reboot => f.write_str("reboot"),
            Self::Suspend => f.write_str("suspend"),
            Self::Crash => f.write_str("crash"),
            Self::Watchdog => f.write_str("watchdog"),
            Self::SoftReset => f.write_str("soft_reset"),
            Self::Unknown(r) => write!(f, "unknown ({r})"),
        }
    }
}

/// How a domain is virtualised (`libxl_domain_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DomainType {
    /// Paravirtualised: a Xen-aware kernel, no emulated hardware.
    Pv,
    /// PVH: a PV kernel in a hardware-virtualised container, no device model.
    Pvh,
    /// Fully virtualised with emulated devices (QEMU), optionally with PV drivers.
    Hvm,
    /// libxl did not say, or a value this crate does not know.
    Unknown(i32),
}

impl DomainType {
    pub(crate) fn from_raw(t: sys::libxl_domain_type) -> Self {
        match t {
            sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PV => Self::Pv,
            sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PVH => Self::Pvh,
            sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_HVM => Self::Hvm,
            other => Self::Unknown(other),
        }
    }

    pub(crate) fn to_raw(self) -> sys::libxl_domain_type {
        match self {
            Self::Pv => sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PV,
            Self::Pvh => sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PVH,
            Self::Hvm => sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_HVM,
            Self::Unknown(r) => r,
        }
    }
}

impl fmt::Display for DomainType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pv => f.write_str("pv"),
            Self::Pvh => f.write_str("pvh"),
            Self::Hvm => f.write_str("hvm"),
            Self::Unknown(r) => write!(f, "unknown ({r})"),
        }
    }
}

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
    /// reports as HVM, libxl's stored config tells PVH apart.
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
            .then(|| ShutdownReason::from_raw(d.shutdown_reason));
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
            domid: d.domid,
            uuid: Uuid(d.uuid.uuid),
            name,
            state,
            domain_type: DomainType::from_raw(d.domain_type),
            running: d.running,
            blocked: d.blocked,
            paused: d.paused,
            shutdown: d.shutdown,
            dying: d.dying,
            shutdown_reason,
            current_memkb: d.current_memkb,
            max_memkb: d.max_memkb,
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
    /// assert_eq!(ctx.domain_info(0)?.state_letters().len(), 6);
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

libxl_owned!(
    /// An owned `libxl_dominfo`.
    Dominfo, libxl_dominfo, libxl_dominfo_init, libxl_dominfo_dispose
);

/// The array `libxl_list_domain` returns, freed with its own free function.
struct DominfoList {
    ptr: *mut sys::libxl_dominfo,
    len: usize,
}

impl DominfoList {
    fn as_slice(&self) -> &[sys::libxl_dominfo] {
        // SAFETY: libxl returned `len` initialised entries at non-null `ptr`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for DominfoList {
    fn drop(&mut self) {
        // SAFETY: the array and count came from libxl_list_domain; freed once.
        unsafe { sys::libxl_dominfo_list_free(self.ptr, self.len as i32) }
    }
}

impl Context {
    /// Every domain, Domain-0 included, with its name
    /// (`libxl_list_domain`, then `libxl_domid_to_name` for each).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// for d in ctx.domains()? {
    ///     println!("{:>5} {}", d.domid, d.name.as_deref().unwrap_or("-"));
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_list_domain")]
    pub fn domains(&self) -> Result<Vec<DomainInfo>> {
        let list = self.call(|ctx| {
            let mut n = 0;
            // SAFETY: ctx is valid; n is a valid out-pointer.
            let ptr = unsafe { sys::libxl_list_domain(ctx, &mut n) };
            (ptr, n)
        });
        let (ptr, n) = list;
        if ptr.is_null() {
            // NULL is libxl's failure signal, not an empty list.
            return Err(Error::from_libxl(
                sys::libxl_error_ERROR_FAIL,
                "libxl_list_domain",
                None,
            ));
        }
        let list = DominfoList {
            ptr,
            len: usize::try_from(n).unwrap_or(0),
        };
        Ok(list
            .as_slice()
            .iter()
            .map(|d| self.refined(DomainInfo::from_raw(d, self.name_of(d.domid))))
            .collect())
    }

    /// One domain (`libxl_domain_info`). An unknown domid gives
    /// [`Error::DomainNotFound`].
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let dom0 = ctx.domain_info(0)?;
    /// println!("Domain-0 has {} KiB", dom0.current_memkb);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_info")]
    pub fn domain_info(&self, domid: Domid) -> Result<DomainInfo> {
        let info = self.raw_dominfo(domid)?;
        Ok(self.refined(DomainInfo::from_raw(&info, self.name_of(domid))))
    }

    /// libxl's own record of one domain.
    fn raw_dominfo(&self, domid: Domid) -> Result<Dominfo> {
        let mut info = Dominfo::new();
        self.call(|ctx| {
            // SAFETY: ctx valid; info initialised and owned.
            check(
                unsafe { sys::libxl_domain_info(ctx, info.as_mut_ptr(), domid) },
                "libxl_domain_info",
                Some(domid),
            )
        })?;
        Ok(info)
    }

    /// The domain with this name or, if `which` is a number, this id: what
    /// `xl` accepts wherever it takes a domain.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// assert_eq!(ctx.find_domain("Domain-0")?, ctx.find_domain("0")?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn find_domain(&self, which: &str) -> Result<Domid> {
        match which.parse::<Domid>() {
            Ok(domid) if self.domain_exists(domid)? => Ok(domid),
            Ok(domid) => Err(Error::DomainNotFound {
                op: "find_domain",
                domain: DomainRef::Id(domid),
                message: None,
            }),
            Err(_) => self.domid_by_name(which),
        }
    }

    /// Xen reports PVH guests as HVM (both are hardware containers); the
    /// config libxl stored for the domain says which it is.
    fn refined(&self, mut info: DomainInfo) -> DomainInfo {
        if info.domain_type == DomainType::Hvm && info.domid != 0 {
            if let Ok(cfg) = self.stored_config(info.domid) {
                info.domain_type = DomainType::from_raw(cfg.c_info.type_);
            }
            crate::logger::clear_last_error();
        }
        info
    }

    /// The configuration libxl keeps for a domain it created
    /// (`libxl_retrieve_domain_configuration`): what it was created with,
    /// updated with what libxl filled in (devids, MACs, the UUID) and the
    /// devices attached since. Domain-0 has none: an error.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let domid = ctx.find_domain("web")?;
    /// let cfg = ctx.domain_config(domid)?;
    /// println!("{} has {} disks, on_reboot {:?}", cfg.name, cfg.disks.len(), cfg.on_reboot);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_retrieve_domain_configuration")]
    pub fn domain_config(&self, domid: Domid) -> Result<crate::DomainConfig> {
        Ok(crate::DomainConfig::from_raw(&self.stored_config(domid)?))
    }

    pub(crate) fn stored_config(&self, domid: Domid) -> Result<crate::config::RawDomainConfig> {
        let mut cfg = crate::config::RawDomainConfig::new();
        let rc = self.call(|ctx| {
            // SAFETY: ctx valid; cfg initialised and owned; NULL ao_how
            // makes the call synchronous.
            unsafe {
                sys::libxl_retrieve_domain_configuration(
                    ctx,
                    domid,
                    cfg.as_mut_ptr(),
                    std::ptr::null(),
                )
            }
        });
        self.check_on_domain(rc, "libxl_retrieve_domain_configuration", domid)?;
        Ok(cfg)
    }

    /// Checks libxl's return code for an operation on `domid`; a failure on
    /// a domain that does not exist becomes [`Error::DomainNotFound`],
    /// whatever code libxl chose.
    pub(crate) fn check_on_domain(&self, rc: i32, op: &'static str, domid: Domid) -> Result<()> {
        match check(rc, op, Some(domid)) {
            Err(Error::Libxl { message, .. }) if matches!(self.domain_exists(domid), Ok(false)) => {
                Err(Error::DomainNotFound {
                    op,
                    domain: DomainRef::Id(domid),
                    message,
                })
            }
            other => other,
        }
    }

    /// Whether a domain with this id exists (it may be dying).
    pub fn domain_exists(&self, domid: Domid) -> Result<bool> {
        // libxl's record alone: no name lookup, and no stored-config read
        // (which itself asks this on failure).
        match self.raw_dominfo(domid) {
            Ok(_) => Ok(true),
            Err(e) if e.is_domain_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The id of the domain with this name (`libxl_name_to_domid`). An
    /// unknown name gives [`Error::DomainNotFound`]; a name with a NUL byte
    /// gives [`Error::InvalidArgument`].
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// assert_eq!(ctx.domid_by_name("Domain-0")?, 0);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_name_to_domid")]
    pub fn domid_by_name(&self, name: &str) -> Result<Domid> {
        let c = cstring("domain name", name)?;
        let mut domid: Domid = 0;
        let rc = self.call(|ctx| {
            // SAFETY: ctx valid, c NUL-terminated, domid a valid out-pointer.
            unsafe { sys::libxl_name_to_domid(ctx, c.as_ptr(), &mut domid) }
        });
        match rc {
            0 => Ok(domid),
            // libxl answers ERROR_INVAL when no domain has the name.
            rc if rc == sys::libxl_error_ERROR_INVAL || rc == sys::libxl_error_ERROR_NOTFOUND => {
                Err(Error::DomainNotFound {
                    op: "domid_by_name",
                    domain: DomainRef::Name(name.to_owned()),
                    message: crate::logger::take_last_error(),
                })
            }
            rc => Err(Error::from_libxl(
                rc,
                "libxl_name_to_domid",
                Some(DomainRef::Name(name.to_owned())),
            )),
        }
    }

    /// The name of a domain (`libxl_domid_to_name`). An unknown domid gives
    /// [`Error::DomainNotFound`].
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// assert_eq!(ctx.domain_name(0)?, "Domain-0");
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domid_to_name")]
    pub fn domain_name(&self, domid: Domid) -> Result<String> {
        match self.name_of(domid) {
            Some(n) => Ok(n),
            None => Err(Error::DomainNotFound {
                op: "libxl_domid_to_name",
                domain: DomainRef::Id(domid),
                message: crate::logger::take_last_error(),
            }),
        }
    }

    fn name_of(&self, domid: Domid) -> Option<String> {
        self.call(|ctx| {
            // SAFETY: ctx valid; the result is malloc'd (or NULL) and ours.
            unsafe { take_malloced_string(sys::libxl_domid_to_name(ctx, domid)) }
        })
    }

    /// The domain's XSM label, if XSM is in use (`libxl_dominfo.ssid_label`).
    pub fn domain_ssid_label(&self, domid: Domid) -> Result<Option<String>> {
        let info = self.raw_dominfo(domid)?;
        // SAFETY: ssid_label is NULL or a string owned by `info`.
        Ok(unsafe { opt_string(info.ssid_label) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> sys::libxl_dominfo {
        sys::libxl_dominfo::default()
    }

    #[test]
    fn uuid_parse_errors() {
        assert!("not-a-uuid".parse::<Uuid>().is_err());
        assert!("12345678-9abc-def0-1122-33445566778g"
            .parse::<Uuid>()
            .is_err());
        assert!("12345678-9abc-def0-1122-3344556677889"
            .parse::<Uuid>()
            .is_err());
        assert!(Uuid::default().is_nil());
    }

    #[test]
    fn state_precedence_and_letters() {
        let mut d = raw();
        d.running = true;
        d.domain_type = sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PV;
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
        d.shutdown_reason = sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_CRASH;
        let i = DomainInfo::from_raw(&d, None);
        assert_eq!(i.state, DomainState::Shutdown(ShutdownReason::Crash));
        assert_eq!(i.state_letters(), "r-psc-");
        d.dying = true;
        assert_eq!(DomainInfo::from_raw(&d, None).state, DomainState::Dying);
    }

    #[test]
    fn unknown_enum_values_are_kept() {
        assert_eq!(DomainType::from_raw(77), DomainType::Unknown(77));
        assert_eq!(DomainType::Unknown(77).to_raw(), 77);
        assert_eq!(ShutdownReason::from_raw(42), ShutdownReason::Unknown(42));
        assert_eq!(
            DomainType::Pvh.to_raw(),
            sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PVH
        );
    }
}
