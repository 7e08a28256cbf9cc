//! Domain configuration: a typed builder, and its owned conversion to
//! `libxl_domain_config` (plus libxl's JSON form of it).

use std::ffi::c_char;
use std::fmt;

use xenlight_sys as sys;

use crate::context::Context;
use crate::domain::{DomainType, Uuid};
use crate::error::{Error, Result};
use crate::util::{cstring, libxl_owned, malloc_string, take_malloced_string};

/// What the toolstack should do when a guest powers off, reboots or crashes
/// (`libxl_action_on_shutdown`).
///
/// libxl only stores these; acting on them is the toolstack's job (xl runs a
/// monitor for it). [`Context::wait_for_shutdown`] tells you when to act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Action {
    /// Destroy the domain (the default for each event).
    #[default]
    Destroy,
    /// Destroy and start it again.
    Restart,
    /// Rename it and start a new one.
    RestartRename,
    /// Keep the domain, shut down, for inspection.
    Preserve,
    /// Dump its core, then destroy it.
    CoredumpDestroy,
    /// Dump its core, then restart it.
    CoredumpRestart,
    /// Soft-reset it.
    SoftReset,
}

impl Action {
    fn to_raw(self) -> sys::libxl_action_on_shutdown {
        match self {
            Action::Destroy => sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_DESTROY,
            Action::Restart => sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_RESTART,
            Action::RestartRename => {
                sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME
            }
            Action::Preserve => sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_PRESERVE,
            Action::CoredumpDestroy => {
                sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY
            }
            Action::CoredumpRestart => {
                sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART
            }
            Action::SoftReset => sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET,
        }
    }

    pub(crate) fn from_raw(a: sys::libxl_action_on_shutdown) -> Self {
        [
            Action::Destroy,
            Action::Restart,
            Action::RestartRename,
            Action::Preserve,
            Action::CoredumpDestroy,
            Action::CoredumpRestart,
            Action::SoftReset,
        ]
        .into_iter()
        .find(|x| x.to_raw() == a)
        .unwrap_or_default()
    }

    /// Parses xl.cfg's spelling (`destroy`, `restart`, `rename-restart`,
    /// `preserve`, `coredump-destroy`, `coredump-restart`, `soft-reset`).
    ///
    /// ```
    /// assert_eq!(xenlight::Action::from_xl("coredump-restart"), Some(xenlight::Action::CoredumpRestart));
    /// assert_eq!(xenlight::Action::from_xl("explode"), None);
    /// ```
    pub fn from_xl(s: &str) -> Option<Self> {
        Some(match s {
            "destroy" => Action::Destroy,
            "restart" => Action::Restart,
            "rename-restart" => Action::RestartRename,
            "preserve" => Action::Preserve,
            "coredump-destroy" => Action::CoredumpDestroy,
            "coredump-restart" => Action::CoredumpRestart,
            "soft-reset" => Action::SoftReset,
            _ => return None,
        })
    }
}

/// A disk image's format (`libxl_disk_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DiskFormat {
    /// Raw image or block device (the default).
    #[default]
    Raw,
    /// QEMU qcow2.
    Qcow2,
    /// QEMU qcow.
    Qcow,
    /// VHD.
    Vhd,
    /// QED.
    Qed,
    /// No medium (an empty CD-ROM drive).
    Empty,
}

impl DiskFormat {
    fn to_raw(self) -> sys::libxl_disk_format {
        match self {
            DiskFormat::Raw => sys::libxl_disk_format_LIBXL_DISK_FORMAT_RAW,
            DiskFormat::Qcow2 => sys::libxl_disk_format_LIBXL_DISK_FORMAT_QCOW2,
            DiskFormat::Qcow => sys::libxl_disk_format_LIBXL_DISK_FORMAT_QCOW,
            DiskFormat::Vhd => sys::libxl_disk_format_LIBXL_DISK_FORMAT_VHD,
            DiskFormat::Qed => sys::libxl_disk_format_LIBXL_DISK_FORMAT_QED,
            DiskFormat::Empty => sys::libxl_disk_format_LIBXL_DISK_FORMAT_EMPTY,
        }
    }

    pub(crate) fn from_raw(f: sys::libxl_disk_format) -> Self {
        match f {
            sys::libxl_disk_format_LIBXL_DISK_FORMAT_QCOW2 => DiskFormat::Qcow2,
            sys::libxl_disk_format_LIBXL_DISK_FORMAT_QCOW => DiskFormat::Qcow,
            sys::libxl_disk_format_LIBXL_DISK_FORMAT_VHD => DiskFormat::Vhd,
            sys::libxl_disk_format_LIBXL_DISK_FORMAT_QED => DiskFormat::Qed,
            sys::libxl_disk_format_LIBXL_DISK_FORMAT_EMPTY => DiskFormat::Empty,
            _ => DiskFormat::Raw,
        }
    }
}

/// Which backend serves a disk (`libxl_disk_backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DiskBackend {
    /// Let libxl choose (the default).
    #[default]
    Auto,
    /// The kernel's blkback (raw files and block devices).
    Phy,
    /// blktap.
    Tap,
    /// QEMU's qdisk.
    Qdisk,
}

impl DiskBackend {
    fn to_raw(self) -> sys::libxl_disk_backend {
        match self {
            DiskBackend::Auto => sys::libxl_disk_backend_LIBXL_DISK_BACKEND_UNKNOWN,
            DiskBackend::Phy => sys::libxl_disk_backend_LIBXL_DISK_BACKEND_PHY,
            DiskBackend::Tap => sys::libxl_disk_backend_LIBXL_DISK_BACKEND_TAP,
            DiskBackend::Qdisk => sys::libxl_disk_backend_LIBXL_DISK_BACKEND_QDISK,
        }
    }

    pub(crate) fn from_raw(b: sys::libxl_disk_backend) -> Self {
        match b {
            sys::libxl_disk_backend_LIBXL_DISK_BACKEND_PHY => DiskBackend::Phy,
            sys::libxl_disk_backend_LIBXL_DISK_BACKEND_TAP => DiskBackend::Tap,
            sys::libxl_disk_backend_LIBXL_DISK_BACKEND_QDISK => DiskBackend::Qdisk,
            _ => DiskBackend::Auto,
        }
    }
}

/// A virtual disk (`libxl_device_disk`).
///
/// ```
/// use xenlight::{Disk, DiskFormat};
/// let d = Disk::new("/srv/web.img", "xvda").format(DiskFormat::Raw).read_only(true);
/// assert_eq!(d.vdev, "xvda");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Disk {
    /// The image file or block device in dom0 (`pdev_path`, xl's `target`).
    pub target: String,
    /// The guest's device name, e.g. `xvda`.
    pub vdev: String,
    /// Image format.
    pub format: DiskFormat,
    /// Backend.
    pub backend: DiskBackend,
    /// Read-only for the guest.
    pub read_only: bool,
    /// Presented as a CD-ROM.
    pub cdrom: bool,
}

impl Disk {
    /// A writable raw disk `target` shown to the guest as `vdev`.
    pub fn new(target: impl Into<String>, vdev: impl Into<String>) -> Self {
        Disk {
            target: target.into(),
            vdev: vdev.into(),
            format: DiskFormat::Raw,
            backend: DiskBackend::Auto,
            read_only: false,
            cdrom: false,
        }
    }

    /// Sets the image format.
    pub fn format(mut self, f: DiskFormat) -> Self {
        self.format = f;
        self
    }

    /// Sets the backend.
    pub fn backend(mut self, b: DiskBackend) -> Self {
        self.backend = b;
        self
    }

    /// Makes the disk read-only (or writable).
    pub fn read_only(mut self, ro: bool) -> Self {
        self.read_only = ro;
        self
    }

    /// Presents the disk as a CD-ROM.
    pub fn cdrom(mut self, cdrom: bool) -> Self {
        self.cdrom = cdrom;
        self
    }

    /// Fills an initialised `libxl_device_disk`.
    pub(crate) fn fill(&self, d: &mut sys::libxl_device_disk) -> Result<()> {
        if self.vdev.is_empty() {
            return Err(invalid(
                "disk.vdev",
                "a disk needs a guest device name such as xvda",
            ));
        }
        d.pdev_path = malloc_string("disk target", &self.target)?;
        d.vdev = malloc_string("disk vdev", &self.vdev)?;
        d.format = self.format.to_raw();
        d.backend = self.backend.to_raw();
        d.readwrite = i32::from(!self.read_only);
        d.is_cdrom = i32::from(self.cdrom);
        d.removable = i32::from(self.cdrom);
        Ok(())
    }
}

/// A MAC address.
///
/// ```
/// let m: xenlight::Mac = "00:16:3e:12:34:56".parse().unwrap();
/// assert_eq!(m.to_string(), "00:16:3e:12:34:56");
/// assert!("00:16:3e".parse::<xenlight::Mac>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl std::str::FromStr for Mac {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            invalid(
                "nic.mac",
                &format!("{s:?} is not a MAC address (xx:xx:xx:xx:xx:xx)"),
            )
        };
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut m = [0u8; 6];
        for (o, p) in m.iter_mut().zip(parts) {
            if p.len() != 2 {
                return Err(bad());
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        Ok(Mac(m))
    }
}

/// A virtual network interface (`libxl_device_nic`).
///
/// ```
/// let n = xenlight::Nic::bridged("xenbr0").mac("00:16:3e:00:00:01".parse().unwrap());
/// assert_eq!(n.bridge.as_deref(), Some("xenbr0"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Nic {
    /// The dom0 bridge the vif joins (bridged networking).
    pub bridge: Option<String>,
    /// The MAC address; libxl picks one under 00:16:3e when unset.
    pub mac: Option<Mac>,
    /// The emulated model for HVM guests (e.g. `e1000`).
    pub model: Option<String>,
    /// The hotplug script (`vif-bridge`, `vif-route`, `vif-nat`).
    pub script: Option<String>,
    /// IP address(es) for routed and NATed setups.
    pub ip: Option<String>,
    /// The dom0 interface whose address a routed or NATed vif uses
    /// (`gatewaydev`, the scripts' `netdev`).
    pub gatewaydev: Option<String>,
    /// The device id; libxl assigns one when unset. Listing fills it in.
    pub devid: Option<i32>,
}

impl Nic {
    /// A NIC on a dom0 bridge.
    pub fn bridged(bridge: impl Into<String>) -> Self {
        Nic {
            bridge: Some(bridge.into()),
            ..Nic::default()
        }
    }

    /// Sets the MAC address.
    pub fn mac(mut self, mac: Mac) -> Self {
        self.mac = Some(mac);
        self
    }

    /// Sets the hotplug script.
    pub fn script(mut self, script: impl Into<String>) -> Self {
        self.script = Some(script.into());
        self
    }

    /// Sets the IP address(es).
    pub fn ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = Some(ip.into());
        self
    }

    /// Sets the emulated model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the dom0 interface routed/NATed vifs use (`gatewaydev`).
    pub fn gatewaydev(mut self, dev: impl Into<String>) -> Self {
        self.gatewaydev = Some(dev.into());
        self
    }

    /// A NIC routed through dom0 (`vif-route`) with the guest's address.
    pub fn routed(ip: impl Into<String>) -> Self {
        Nic::default().script("vif-route").ip(ip)
    }

    /// Fills an initialised `libxl_device_nic`.
    pub(crate) fn fill(&self, n: &mut sys::libxl_device_nic) -> Result<()> {
        let opt = |what, v: &Option<String>| -> Result<*mut c_char> {
            v.as_deref()
                .map_or(Ok(std::ptr::null_mut()), |s| malloc_string(what, s))
        };
        n.bridge = opt("nic bridge", &self.bridge)?;
        n.model = opt("nic model", &self.model)?;
        n.script = opt("nic script", &self.script)?;
        n.ip = opt("nic ip", &self.ip)?;
        n.gatewaydev = opt("nic gatewaydev", &self.gatewaydev)?;
        if let Some(d) = self.devid {
            n.devid = d;
        }
        if let Some(m) = self.mac {
            n.mac = m.0;
        }
        Ok(())
    }
}

/// A guest's configuration, built in Rust or read from an xl.cfg file
/// ([`DomainConfig::from_xl_cfg`]).
///
/// ```
/// use xenlight::{Action, DomainConfig, DomainType};
///
/// let cfg = DomainConfig::new("web", DomainType::Pvh)
///     .memory_mib(256)
///     .vcpus(2)
///     .kernel("/boot/vmlinuz")
///     .ramdisk("/boot/initrd.img")
///     .cmdline("console=hvc0 root=/dev/xvda1")
///     .on_crash(Action::Preserve);
/// cfg.validate()?;
/// # Ok::<(), xenlight::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DomainConfig {
    /// Domain name (unique on the host).
    pub name: String,
    /// PV, PVH or HVM.
    pub domain_type: DomainType,
    /// Initial memory in KiB.
    pub memory_kib: u64,
    /// Maximum memory in KiB (defaults to `memory_kib`).
    pub maxmem_kib: Option<u64>,
    /// Number of vCPUs.
    pub vcpus: u32,
    /// UUID; a random one when unset.
    pub uuid: Option<Uuid>,
    /// Kernel for direct boot (a path in dom0).
    pub kernel: Option<String>,
    /// Initial ramdisk for direct boot.
    pub ramdisk: Option<String>,
    /// Kernel command line.
    pub cmdline: Option<String>,
    /// PV bootloader (e.g. `pygrub`), instead of a kernel.
    pub bootloader: Option<String>,
    /// HVM: where the emulated serial port goes (`file:/path`, `pty`, ...).
    /// HVM guests are headless: no VNC, SDL or emulated VGA.
    pub serial: Option<String>,
    /// Virtual disks.
    pub disks: Vec<Disk>,
    /// Network interfaces.
    pub nics: Vec<Nic>,
    /// What to do when the guest powers off. libxl only stores the
    /// `on_*` actions; [`Context::handle_shutdown`] carries them out.
    pub on_poweroff: Action,
    /// What to do when the guest reboots.
    pub on_reboot: Action,
    /// What to do when the guest crashes.
    pub on_crash: Action,
}

fn invalid(field: &str, reason: &str) -> Error {
    Error::InvalidConfig {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

impl DomainConfig {
    /// A configuration with 128 MiB, one vCPU, no devices, and xl's default
    /// actions (destroy on poweroff and crash, restart on reboot).
    pub fn new(name: impl Into<String>, domain_type: DomainType) -> Self {
        DomainConfig {
            name: name.into(),
            domain_type,
            memory_kib: 128 * 1024,
            maxmem_kib: None,
            vcpus: 1,
            uuid: None,
            kernel: None,
            ramdisk: None,
            cmdline: None,
            bootloader: None,
            serial: None,
            disks: Vec::new(),
            nics: Vec::new(),
            on_poweroff: Action::Destroy,
            on_reboot: Action::Restart,
            on_crash: Action::Destroy,
        }
    }

    /// Sets the initial memory in MiB.
    pub fn memory_mib(mut self, mib: u64) -> Self {
        self.memory_kib = mib.saturating_mul(1024);
        self
    }

    /// Sets the maximum memory in MiB.
    pub fn maxmem_mib(mut self, mib: u64) -> Self {
        self.maxmem_kib = Some(mib.saturating_mul(1024));
        self
    }

    /// Sets the number of vCPUs.
    pub fn vcpus(mut self, n: u32) -> Self {
        self.vcpus = n;
        self
    }

    /// Sets the UUID.
    pub fn uuid(mut self, uuid: Uuid) -> Self {
        self.uuid = Some(uuid);
        self
    }

    /// Sets the kernel for direct boot.
    pub fn kernel(mut self, path: impl Into<String>) -> Self {
        self.kernel = Some(path.into());
        self
    }

    /// Sets the initial ramdisk.
    pub fn ramdisk(mut self, path: impl Into<String>) -> Self {
        self.ramdisk = Some(path.into());
        self
    }

    /// Sets the kernel command line.
    pub fn cmdline(mut self, cmdline: impl Into<String>) -> Self {
        self.cmdline = Some(cmdline.into());
        self
    }

    /// Sets a PV bootloader (e.g. `pygrub`).
    pub fn bootloader(mut self, bootloader: impl Into<String>) -> Self {
        self.bootloader = Some(bootloader.into());
        self
    }

    /// HVM: sets the serial port's destination (e.g. `file:/tmp/g.log`).
    pub fn serial(mut self, serial: impl Into<String>) -> Self {
        self.serial = Some(serial.into());
        self
    }

    /// Adds a disk.
    pub fn disk(mut self, disk: Disk) -> Self {
        self.disks.push(disk);
        self
    }

    /// Adds a network interface.
    pub fn nic(mut self, nic: Nic) -> Self {
        self.nics.push(nic);
        self
    }

    /// Sets the action on poweroff.
    pub fn on_poweroff(mut self, a: Action) -> Self {
        self.on_poweroff = a;
        self
    }

    /// Sets the action on reboot.
    pub fn on_reboot(mut self, a: Action) -> Self {
        self.on_reboot = a;
        self
    }

    /// Sets the action on crash.
    pub fn on_crash(mut self, a: Action) -> Self {
        self.on_crash = a;
        self
    }

    /// Checks what can be checked before libxl sees the config; the error
    /// names the field at fault.
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType, Error};
    /// let e = DomainConfig::new("pv", DomainType::Pv).validate().unwrap_err();
    /// assert!(matches!(e, Error::InvalidConfig { ref field, .. } if field == "kernel"));
    /// ```
    pub fn validate(&self) -> Result<()> {
        if self.name.is_empty() {
            return Err(invalid("name", "a domain needs a name"));
        }
        if self.name.contains('\0') || self.name.contains('/') {
            return Err(invalid(
                "name",
                "a domain name cannot contain NUL bytes or '/'",
            ));
        }
        if self.memory_kib == 0 {
            return Err(invalid("memory", "memory must be greater than zero"));
        }
        if self.maxmem_kib.is_some_and(|m| m < self.memory_kib) {
            return Err(invalid("maxmem", "maxmem must not be less than memory"));
        }
        if self.vcpus == 0 {
            return Err(invalid("vcpus", "a domain needs at least one vCPU"));
        }
        if self.vcpus > 4096 {
            return Err(invalid("vcpus", "more vCPUs than Xen supports"));
        }
        match self.domain_type {
            DomainType::Pv if self.kernel.is_none() && self.bootloader.is_none() => {
                return Err(invalid(
                    "kernel",
                    "a PV guest needs a kernel or a bootloader",
                ));
            }
            DomainType::Pvh if self.kernel.is_none() => {
                return Err(invalid("kernel", "a PVH guest needs a kernel"));
            }
            DomainType::Unknown(t) => {
                return Err(invalid("type", &format!("unknown domain type {t}")));
            }
            _ => {}
        }
        if self.serial.is_some() && self.domain_type != DomainType::Hvm {
            return Err(invalid(
                "serial",
                "only HVM guests have an emulated serial port",
            ));
        }
        if self.bootloader.is_some() && self.domain_type != DomainType::Pv {
            return Err(invalid("bootloader", "only PV guests use a bootloader"));
        }
        Ok(())
    }

    /// Converts to an owned `libxl_domain_config`, after [`validate`].
    ///
    /// [`validate`]: DomainConfig::validate
    pub(crate) fn to_raw(&self) -> Result<RawDomainConfig> {
        self.validate()?;
        let mut raw = RawDomainConfig::new();
        let d = &mut raw.0;
        d.c_info.type_ = self.domain_type.to_raw();
        d.c_info.name = malloc_string("name", &self.name)?;
        match self.uuid {
            Some(u) => d.c_info.uuid.uuid = *u.as_bytes(),
            // SAFETY: writes 16 random bytes into the uuid.
            None => unsafe { sys::libxl_uuid_generate(&mut d.c_info.uuid) },
        }
        // SAFETY: b_info is initialised; init_type selects the union arm for
        // the type just set (libxl requires it for keyed unions).
        unsafe { sys::libxl_domain_build_info_init_type(&mut d.b_info, d.c_info.type_) };
        let b = &mut d.b_info;
        b.max_vcpus = i32::try_from(self.vcpus).map_err(|_| invalid("vcpus", "too many"))?;
        set_all_bits(&mut b.avail_vcpus, self.vcpus)?;
        b.target_memkb = self.memory_kib;
        b.max_memkb = self.maxmem_kib.unwrap_or(self.memory_kib);
        let opt = |what, v: &Option<String>| -> Result<*mut c_char> {
            v.as_deref()
                .map_or(Ok(std::ptr::null_mut()), |s| malloc_string(what, s))
        };
        b.kernel = opt("kernel", &self.kernel)?;
        b.ramdisk = opt("ramdisk", &self.ramdisk)?;
        b.cmdline = opt("cmdline", &self.cmdline)?;
        if self.domain_type == DomainType::Pv {
            // Writing (not reading) the PV arm, selected by init_type above.
            b.u.pv.bootloader = opt("bootloader", &self.bootloader)?;
        }
        if self.domain_type == DomainType::Hvm {
            // Headless: no VNC, SDL or emulated VGA; the console is the serial.
            let serial = opt("serial", &self.serial)?;
            // SAFETY: the HVM arm was selected by init_type above; writes
            // into initialised defbools and plain fields.
            unsafe {
                let h = &mut b.u.hvm;
                h.serial = serial;
                sys::libxl_defbool_set(&mut h.nographic, true);
                sys::libxl_defbool_set(&mut h.vnc.enable, false);
                sys::libxl_defbool_set(&mut h.sdl.enable, false);
                h.vga.kind = sys::libxl_vga_interface_type_LIBXL_VGA_INTERFACE_TYPE_NONE;
            }
        }
        d.on_poweroff = self.on_poweroff.to_raw();
        d.on_reboot = self.on_reboot.to_raw();
        d.on_crash = self.on_crash.to_raw();
        // As xl with its default xl.conf: soft resets are honoured, memory
        // is claimed up front, and libxl runs the hotplug scripts itself.
        d.on_soft_reset = sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET;
        // SAFETY: plain writes into initialised defbools.
        unsafe {
            sys::libxl_defbool_set(&mut d.b_info.claim_mode, true);
            sys::libxl_defbool_set(&mut d.c_info.run_hotplug_scripts, true);
        }

        let (disks, n) =
            alloc_devices::<sys::libxl_device_disk>(self.disks.len(), sys::libxl_device_disk_init)?;
        d.disks = disks;
        d.num_disks = n;
        for (i, disk) in self.disks.iter().enumerate() {
            // SAFETY: `i` < num_disks; each element was initialised.
            disk.fill(unsafe { &mut *d.disks.add(i) })?;
        }
        let (nics, n) =
            alloc_devices::<sys::libxl_device_nic>(self.nics.len(), sys::libxl_device_nic_init)?;
        d.nics = nics;
        d.num_nics = n;
        for (i, nic) in self.nics.iter().enumerate() {
            // SAFETY: as for disks.
            let slot = unsafe { &mut *d.nics.add(i) };
            slot.devid = i as i32;
            nic.fill(slot)?;
        }
        Ok(raw)
    }

    /// The configuration as libxl's JSON (`libxl_domain_config_to_json`),
    /// the same form `xl -N create` prints; a random UUID is filled in when
    /// none is set.
    ///
    /// ```no_run
    /// # use xenlight::{Context, DomainConfig, DomainType};
    /// let ctx = Context::new()?;
    /// let cfg = DomainConfig::new("web", DomainType::Pvh).kernel("/boot/vmlinuz");
    /// println!("{}", cfg.to_libxl_json(&ctx)?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_config_to_json")]
    pub fn to_libxl_json(&self, ctx: &Context) -> Result<String> {
        let mut raw = self.to_raw()?;
        raw.json(ctx)
    }

    /// Reads libxl's JSON form of a domain config
    /// (`libxl_domain_config_from_json`), keeping the fields this type has.
    ///
    /// ```no_run
    /// # use xenlight::{Context, DomainConfig, DomainType};
    /// let ctx = Context::new()?;
    /// let cfg = DomainConfig::new("web", DomainType::Pvh).kernel("/boot/vmlinuz");
    /// let back = DomainConfig::from_libxl_json(&ctx, &cfg.to_libxl_json(&ctx)?)?;
    /// assert_eq!(back.kernel, cfg.kernel);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_config_from_json")]
    pub fn from_libxl_json(ctx: &Context, json: &str) -> Result<Self> {
        let raw = RawDomainConfig::from_json(ctx, json)?;
        Ok(Self::from_raw(&raw))
    }

    /// The typed view of a libxl config.
    pub(crate) fn from_raw(raw: &RawDomainConfig) -> Self {
        // SAFETY (all string reads below): each pointer is NULL or a string
        // owned by `raw`, read while `raw` is alive.
        let s = |p: *mut c_char| unsafe { crate::util::opt_string(p) };
        let domain_type = DomainType::from_raw(raw.c_info.type_);
        let b = &raw.b_info;
        let uuid = Uuid::from_bytes(raw.c_info.uuid.uuid);
        let bootloader = if domain_type == DomainType::Pv {
            // SAFETY: the PV arm is the active one for a PV config.
            s(unsafe { b.u.pv.bootloader })
        } else {
            None
        };
        let serial = if domain_type == DomainType::Hvm {
            // SAFETY: the HVM arm is the active one for an HVM config.
            s(unsafe { b.u.hvm.serial })
        } else {
            None
        };
        let slice = |p: *mut sys::libxl_device_disk, n: i32| -> &[sys::libxl_device_disk] {
            if p.is_null() || n <= 0 {
                &[]
            } else {
                // SAFETY: libxl's array of n initialised disks.
                unsafe { std::slice::from_raw_parts(p, n as usize) }
            }
        };
        let disks = slice(raw.disks, raw.num_disks)
            .iter()
            .map(crate::devices::disk_from_raw)
            .collect();
        let nics: &[sys::libxl_device_nic] = if raw.nics.is_null() || raw.num_nics <= 0 {
            &[]
        } else {
            // SAFETY: libxl's array of num_nics initialised nics.
            unsafe { std::slice::from_raw_parts(raw.nics, raw.num_nics as usize) }
        };
        let nics = nics.iter().map(crate::devices::nic_from_raw).collect();
        DomainConfig {
            name: s(raw.c_info.name).unwrap_or_default(),
            domain_type,
            memory_kib: b.target_memkb,
            maxmem_kib: (b.max_memkb != b.target_memkb).then_some(b.max_memkb),
            vcpus: u32::try_from(b.max_vcpus).unwrap_or(0),
            uuid: (!uuid.is_nil()).then_some(uuid),
            kernel: s(b.kernel),
            ramdisk: s(b.ramdisk),
            cmdline: s(b.cmdline),
            bootloader,
            serial,
            disks,
            nics,
            on_poweroff: Action::from_raw(raw.on_poweroff),
            on_reboot: Action::from_raw(raw.on_reboot),
            on_crash: Action::from_raw(raw.on_crash),
        }
    }
}

libxl_owned!(
    /// An owned `libxl_domain_config`: everything in it is `malloc`'d the way
    /// `libxl_domain_config_dispose` frees it.
    RawDomainConfig, libxl_domain_config, libxl_domain_config_init, libxl_domain_config_dispose
);

impl RawDomainConfig {
    pub(crate) fn json(&mut self, ctx: &Context) -> Result<String> {
        let p = ctx.call(|c| {
            // SAFETY: ctx and config valid; the result is malloc'd and ours.
            unsafe { take_malloced_string(sys::libxl_domain_config_to_json(c, self.as_mut_ptr())) }
        });
        p.ok_or_else(|| {
            Error::from_libxl(
                sys::libxl_error_ERROR_FAIL,
                "libxl_domain_config_to_json",
                None,
            )
        })
    }

    /// Parses libxl's JSON into a fresh config (`libxl_domain_config_from_json`).
    pub(crate) fn from_json(ctx: &Context, json: &str) -> Result<Self> {
        let c = cstring("libxl JSON", json)?;
        let mut raw = RawDomainConfig::new();
        let rc = ctx.call(|x| {
            // SAFETY: ctx, config and string valid; on failure the config is
            // still disposable (dropped below).
            unsafe { sys::libxl_domain_config_from_json(x, raw.as_mut_ptr(), c.as_ptr()) }
        });
        crate::error::check(rc, "libxl_domain_config_from_json", None)?;
        Ok(raw)
    }
}

/// A `calloc`'d array of `n` initialised device structs (freed by
/// `libxl_domain_config_dispose`), or NULL for none.
fn alloc_devices<T>(n: usize, init: unsafe extern "C" fn(*mut T)) -> Result<(*mut T, i32)> {
    if n == 0 {
        return Ok((std::ptr::null_mut(), 0));
    }
    let count = i32::try_from(n).map_err(|_| invalid("devices", "too many devices"))?;
    // SAFETY: calloc of n elements; checked for NULL below.
    let p = unsafe { libc::calloc(n, std::mem::size_of::<T>()) }.cast::<T>();
    if p.is_null() {
        return Err(invalid("devices", "out of memory"));
    }
    for i in 0..n {
        // SAFETY: i < n, inside the allocation; init fully initialises.
        unsafe { init(p.add(i)) };
    }
    Ok((p, count))
}

/// Makes `bm` a `malloc`'d bitmap of `n` bits, all set (libxl frees it).
fn set_all_bits(bm: &mut sys::libxl_bitmap, n: u32) -> Result<()> {
    let bytes = (n as usize).div_ceil(8);
    // SAFETY: calloc of `bytes` bytes; checked for NULL below.
    let map = unsafe { libc::calloc(bytes, 1) }.cast::<u8>();
    if map.is_null() {
        return Err(invalid("vcpus", "out of memory"));
    }
    for bit in 0..n as usize {
        // SAFETY: bit / 8 < bytes.
        unsafe { *map.add(bit / 8) |= 1 << (bit % 8) };
    }
    // SAFETY: the old map (NULL after _init) is freed by libxl's own rules:
    // free(NULL) is a no-op.
    unsafe { libc::free(bm.map.cast()) };
    bm.map = map;
    bm.size = bytes as u32;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pv() -> DomainConfig {
        DomainConfig::new("t", DomainType::Pv)
            .kernel("/k")
            .ramdisk("/r")
            .cmdline("console=hvc0")
    }

    #[test]
    fn validation_names_the_field() {
        let field = |c: DomainConfig| match c.validate() {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(DomainConfig::new("", DomainType::Pvh).kernel("/k")),
            "name"
        );
        assert_eq!(field(pv().memory_mib(0)), "memory");
        assert_eq!(field(pv().vcpus(0)), "vcpus");
        assert_eq!(field(pv().memory_mib(256).maxmem_mib(128)), "maxmem");
        assert_eq!(field(DomainConfig::new("x", DomainType::Pv)), "kernel");
        assert_eq!(field(DomainConfig::new("x", DomainType::Pvh)), "kernel");
        assert_eq!(
            field(
                DomainConfig::new("x", DomainType::Pvh)
                    .kernel("/k")
                    .bootloader("pygrub")
            ),
            "bootloader"
        );
        assert!(DomainConfig::new("x", DomainType::Pv)
            .bootloader("pygrub")
            .validate()
            .is_ok());
        assert!(DomainConfig::new("x", DomainType::Hvm).validate().is_ok());
        assert!(pv().validate().is_ok());
    }

    #[test]
    fn conversion_fills_libxl_struct() {
        let cfg = pv()
            .memory_mib(128)
            .maxmem_mib(256)
            .vcpus(3)
            .disk(Disk::new("/img", "xvda").read_only(true))
            .nic(Nic::bridged("xenbr0").mac("00:16:3e:00:00:01".parse().unwrap()))
            .on_crash(Action::Preserve);
        let raw = cfg.to_raw().unwrap();
        assert_eq!(
            raw.c_info.type_,
            sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PV
        );
        assert_eq!(raw.b_info.target_memkb, 128 * 1024);
        assert_eq!(raw.b_info.max_memkb, 256 * 1024);
        assert_eq!(raw.b_info.max_vcpus, 3);
        assert_eq!(raw.b_info.avail_vcpus.size, 1);
        // SAFETY: map has `size` bytes.
        assert_eq!(unsafe { *raw.b_info.avail_vcpus.map }, 0b111);
        assert_eq!(raw.num_disks, 1);
        assert_eq!(raw.num_nics, 1);
        // SAFETY: one initialised disk and nic.
        unsafe {
            assert_eq!((*raw.disks).readwrite, 0);
            assert_eq!((*raw.nics).mac, [0, 0x16, 0x3e, 0, 0, 1]);
        }
        assert_eq!(
            raw.on_crash,
            sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_PRESERVE
        );
        assert!(
            !Uuid::from_bytes(raw.c_info.uuid.uuid).is_nil(),
            "a random uuid was generated"
        );
        let back = DomainConfig::from_raw(&raw);
        assert_eq!(back.uuid.map(|u| *u.as_bytes()), Some(raw.c_info.uuid.uuid));
        // As xl does, the conversion numbers NICs in order.
        let nics = vec![Nic {
            devid: Some(0),
            ..cfg.nics[0].clone()
        }];
        assert_eq!(
            back,
            DomainConfig {
                uuid: back.uuid,
                on_reboot: Action::Restart,
                nics,
                ..cfg
            }
        );
    }

    #[test]
    fn nul_bytes_in_strings_are_errors_and_nothing_leaks() {
        let e = pv().cmdline("a\0b").to_raw().unwrap_err();
        assert!(e.to_string().contains("cmdline"), "{e}");
        let e = pv().disk(Disk::new("/a\0", "xvda")).to_raw().unwrap_err();
        assert!(e.to_string().contains("disk"), "{e}");
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        "\\PC{0,24}"
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Arbitrary builder values: the conversion returns a config or an
        /// error, never panics, and what converts reads back unchanged.
        #[test]
        fn arbitrary_builder_values_convert_or_fail_cleanly(
            name in text(),
            ty in 0..4i32,
            mem in 0u64..(1 << 40),
            maxmem in proptest::option::of(0u64..(1 << 40)),
            vcpus in 0u32..5000,
            kernel in proptest::option::of(text()),
            cmdline in proptest::option::of(text()),
            bootloader in proptest::option::of(text()),
            disks in proptest::collection::vec((text(), text(), any::<bool>()), 0..3),
            nics in proptest::collection::vec((proptest::option::of(text()), any::<[u8; 6]>()), 0..3),
        ) {
            let ty = [DomainType::Pv, DomainType::Pvh, DomainType::Hvm, DomainType::Unknown(9)][ty as usize];
            let mut cfg = DomainConfig::new(name, ty);
            cfg.memory_kib = mem;
            cfg.maxmem_kib = maxmem;
            cfg.vcpus = vcpus;
            cfg.kernel = kernel;
            cfg.cmdline = cmdline;
            cfg.bootloader = bootloader;
            cfg.disks = disks.into_iter().map(|(t, v, ro)| Disk::new(t, v).read_only(ro)).collect();
            cfg.nics = nics.into_iter().map(|(b, m)| Nic { bridge: b, mac: Some(Mac(m)), ..Nic::default() }).collect();
            if let Ok(raw) = cfg.to_raw() {
                let back = DomainConfig::from_raw(&raw);
                prop_assert_eq!(&back.name, &cfg.name);
                prop_assert_eq!(back.memory_kib, cfg.memory_kib);
                prop_assert_eq!(back.vcpus, cfg.vcpus);
                prop_assert_eq!(&back.kernel, &cfg.kernel);
                prop_assert_eq!(back.disks.len(), cfg.disks.len());
                prop_assert_eq!(back.nics.len(), cfg.nics.len());
            }
        }
    }
}
