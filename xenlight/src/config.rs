//! Domain configuration as plain data: a typed builder and its checks.
//! The conversion to and from libxl's structs is in `convert`.

use crate::enums::{Action, DiskBackend, DiskFormat, DomainType};
use crate::error::{Error, Result};
use crate::ids::{Mac, Uuid};
use crate::types;
use crate::values::Bitmap;

/// The builder's memory when none is set (libxl's own default is 32 MiB).
const DEFAULT_MEMORY_KIB: u64 = 128 * 1024;
/// libxl's `LIBXL_MEMKB_DEFAULT`: "not set" in a memory field.
const MEMKB_DEFAULT: u64 = u64::MAX;

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
    /// `on_*` actions; [`Context::handle_shutdown`](crate::Context::handle_shutdown) carries them out.
    pub on_poweroff: Action,
    /// What to do when the guest reboots.
    pub on_reboot: Action,
    /// What to do when the guest crashes.
    pub on_crash: Action,
    /// What to do when the guest's watchdog fires.
    pub on_watchdog: Action,
    /// What to do when the guest asks for a soft reset.
    pub on_soft_reset: Action,
    /// The complete libxl configuration (every field of
    /// `libxl_domain_config`), for what the fields above do not cover.
    /// Read back from libxl, it holds everything libxl stored. When the
    /// config is converted, each field above that differs from what this
    /// one says is written over it (disks over the disk with the same
    /// `vdev`, NICs over the NIC with the same devid), so a config read from
    /// libxl converts back unchanged.
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// let mut cfg = DomainConfig::new("web", DomainType::Pvh).kernel("/boot/vmlinuz");
    /// cfg.libxl.b_info.max_grant_frames = 64;
    /// cfg.libxl.c_info.xsdata.push(("owner".into(), Some("agent-7".into())));
    /// ```
    pub libxl: crate::types::DomainConfig,
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
        let mut cfg = DomainConfig {
            name: name.into(),
            domain_type,
            memory_kib: DEFAULT_MEMORY_KIB,
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
            on_watchdog: Action::Destroy,
            on_soft_reset: Action::SoftReset,
            libxl: types::DomainConfig::default(),
        };
        // The complete config says what the typed fields say, with xl's
        // defaults from its standard xl.conf: memory is claimed up front,
        // and libxl runs the hotplug scripts itself.
        let mut t = types::DomainConfig::default();
        t.b_info.claim_mode = Some(true);
        t.c_info.run_hotplug_scripts = Some(true);
        // Writing the builder's defaults cannot fail (no strings, 1 vCPU).
        if cfg.overlay(&mut t, None).is_ok() {
            cfg.libxl = t;
        }
        cfg
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

    /// Sets the action when the guest's watchdog fires.
    pub fn on_watchdog(mut self, a: Action) -> Self {
        self.on_watchdog = a;
        self
    }

    /// Sets the action on a soft-reset request.
    pub fn on_soft_reset(mut self, a: Action) -> Self {
        self.on_soft_reset = a;
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
        for (key, a) in [
            ("on_poweroff", self.on_poweroff),
            ("on_reboot", self.on_reboot),
            ("on_crash", self.on_crash),
            ("on_watchdog", self.on_watchdog),
            ("on_soft_reset", self.on_soft_reset),
        ] {
            if let Action::Unknown(raw) = a {
                return Err(invalid(key, &format!("unknown action {raw}")));
            }
        }
        if self.bootloader.is_some() && self.domain_type != DomainType::Pv {
            return Err(invalid("bootloader", "only PV guests use a bootloader"));
        }
        Ok(())
    }
}

/// A hand enum and the generated one for the same libxl enumeration.
fn same<A, B>(to_raw: impl Fn(A) -> i32, from_raw: impl Fn(i32) -> B, a: A) -> B {
    from_raw(to_raw(a))
}

/// A build-info arm for `ty` with this crate's defaults (headless HVM: no
/// VNC, SDL or emulated VGA; the console is the serial port).
fn fresh_arm(ty: types::DomainType) -> types::DomainBuildInfoTypeUnion {
    use types::DomainBuildInfoTypeUnion as Arm;
    match ty {
        types::DomainType::Pv => Arm::Pv(Default::default()),
        types::DomainType::Pvh => Arm::Pvh(Default::default()),
        types::DomainType::Hvm => {
            let d = types::DomainBuildInfoTypeHvm::default();
            Arm::Hvm(types::DomainBuildInfoTypeHvm {
                nographic: Some(true),
                vnc: types::VncInfo {
                    enable: Some(false),
                    ..d.vnc
                },
                sdl: types::SdlInfo {
                    enable: Some(false),
                    ..d.sdl
                },
                vga: types::VgaInterfaceInfo {
                    kind: types::VgaInterfaceType::None,
                },
                ..d
            })
        }
        types::DomainType::Invalid => Arm::Invalid,
        other => Arm::Other(other.to_raw()),
    }
}

impl Disk {
    /// Writes this disk over `d` (the disk libxl holds for the same vdev,
    /// or a default one), keeping every field this type does not have.
    pub(crate) fn merge_into(&self, d: &mut types::DeviceDisk) -> Result<()> {
        if self.vdev.is_empty() {
            return Err(invalid(
                "disk.vdev",
                "a disk needs a guest device name such as xvda",
            ));
        }
        d.pdev_path = Some(self.target.clone());
        d.vdev = Some(self.vdev.clone());
        d.format = same(DiskFormat::to_raw, types::DiskFormat::from_raw, self.format);
        d.backend = same(
            DiskBackend::to_raw,
            types::DiskBackend::from_raw,
            self.backend,
        );
        d.readwrite = i32::from(!self.read_only);
        d.is_cdrom = i32::from(self.cdrom);
        d.removable = i32::from(self.cdrom);
        Ok(())
    }

    /// The typed view of a libxl disk.
    pub(crate) fn from_types(d: &types::DeviceDisk) -> Self {
        Disk {
            target: d.pdev_path.clone().unwrap_or_default(),
            vdev: d.vdev.clone().unwrap_or_default(),
            format: DiskFormat::from_raw(d.format.to_raw()),
            backend: DiskBackend::from_raw(d.backend.to_raw()),
            read_only: d.readwrite == 0,
            cdrom: d.is_cdrom != 0,
        }
    }
}

impl Nic {
    /// Writes this NIC's settings over `n`; unset (`None`) ones keep `n`'s.
    pub(crate) fn merge_into(&self, n: &mut types::DeviceNic) {
        let set = |dst: &mut Option<String>, v: &Option<String>| {
            if v.is_some() {
                dst.clone_from(v);
            }
        };
        set(&mut n.bridge, &self.bridge);
        set(&mut n.model, &self.model);
        set(&mut n.script, &self.script);
        set(&mut n.ip, &self.ip);
        set(&mut n.gatewaydev, &self.gatewaydev);
        if let Some(d) = self.devid {
            n.devid = d;
        }
        if let Some(m) = self.mac {
            n.mac = m;
        }
    }

    /// The typed view of a libxl NIC.
    pub(crate) fn from_types(n: &types::DeviceNic) -> Self {
        Nic {
            bridge: n.bridge.clone(),
            mac: (n.mac.0 != [0; 6]).then_some(n.mac),
            model: n.model.clone(),
            script: n.script.clone(),
            ip: n.ip.clone(),
            gatewaydev: n.gatewaydev.clone(),
            devid: (n.devid >= 0).then_some(n.devid),
        }
    }
}

impl DomainConfig {
    /// The complete libxl configuration: [`libxl`](DomainConfig::libxl)
    /// with the typed fields that differ from it written over it, after
    /// [`validate`](DomainConfig::validate).
    pub(crate) fn to_types(&self) -> Result<types::DomainConfig> {
        self.validate()?;
        let mut t = self.libxl.clone();
        let view = DomainConfig::from_types(self.libxl.clone()).ok();
        self.overlay(&mut t, view.as_ref())?;
        Ok(t)
    }

    /// Writes the typed fields over `t`: all of them, or with `view` (what
    /// `t` says in the typed fields' terms) only those that differ from it,
    /// so libxl's "not set" values stay unset.
    fn overlay(&self, t: &mut types::DomainConfig, view: Option<&DomainConfig>) -> Result<()> {
        macro_rules! changed {
            ($($f:ident),+) => { view.map_or(true, |v| false $(|| v.$f != self.$f)+) };
        }
        let ty = same(
            DomainType::to_raw,
            types::DomainType::from_raw,
            self.domain_type,
        );
        use types::DomainBuildInfoTypeUnion as Arm;
        let arm_matches = matches!(
            (&t.b_info.type_, ty),
            (Arm::Pv(_), types::DomainType::Pv)
                | (Arm::Pvh(_), types::DomainType::Pvh)
                | (Arm::Hvm(_), types::DomainType::Hvm)
        );
        if changed!(domain_type) || !arm_matches {
            t.c_info.type_ = ty;
            // The build-info arm must be the domain type's.
            if !arm_matches {
                t.b_info.type_ = fresh_arm(ty);
            }
        }
        if changed!(name) {
            t.c_info.name = Some(self.name.clone());
        }
        if changed!(uuid) {
            t.c_info.uuid = self.uuid.unwrap_or_default();
        }
        let b = &mut t.b_info;
        if changed!(vcpus) {
            b.max_vcpus = i32::try_from(self.vcpus).map_err(|_| invalid("vcpus", "too many"))?;
            b.avail_vcpus = Bitmap::first(self.vcpus as usize);
        }
        if changed!(memory_kib, maxmem_kib) {
            b.target_memkb = self.memory_kib;
            b.max_memkb = self.maxmem_kib.unwrap_or(self.memory_kib);
        }
        if changed!(kernel) {
            b.kernel.clone_from(&self.kernel);
        }
        if changed!(ramdisk) {
            b.ramdisk.clone_from(&self.ramdisk);
        }
        if changed!(cmdline) {
            b.cmdline.clone_from(&self.cmdline);
        }
        if changed!(bootloader) {
            // `b_info.bootloader` is where libxl (LIBXL_HAVE_BUILDINFO_BOOTLOADER)
            // and xl keep it; `u.pv.bootloader` is its deprecated place.
            b.bootloader.clone_from(&self.bootloader);
            if let Arm::Pv(pv) = &mut b.type_ {
                pv.bootloader = None;
            }
        }
        if let Arm::Hvm(h) = &mut b.type_ {
            if changed!(serial) {
                h.serial.clone_from(&self.serial);
            }
        }
        let action = |a: Action| same(Action::to_raw, types::ActionOnShutdown::from_raw, a);
        if changed!(on_poweroff) {
            t.on_poweroff = action(self.on_poweroff);
        }
        if changed!(on_reboot) {
            t.on_reboot = action(self.on_reboot);
        }
        if changed!(on_crash) {
            t.on_crash = action(self.on_crash);
        }
        if changed!(on_watchdog) {
            t.on_watchdog = action(self.on_watchdog);
        }
        if changed!(on_soft_reset) {
            t.on_soft_reset = action(self.on_soft_reset);
        }
        // Devices: each typed one over libxl's for the same vdev / devid.
        if changed!(disks) {
            let old = std::mem::take(&mut t.disks);
            for disk in &self.disks {
                let mut d = old
                    .iter()
                    .find(|d| d.vdev.as_deref() == Some(disk.vdev.as_str()))
                    .cloned()
                    .unwrap_or_default();
                disk.merge_into(&mut d)?;
                t.disks.push(d);
            }
        }
        if changed!(nics) {
            let old = std::mem::take(&mut t.nics);
            for (i, nic) in self.nics.iter().enumerate() {
                // As xl does, NICs without a devid are numbered in order.
                let devid = nic.devid.unwrap_or(i as i32);
                let mut n = old
                    .iter()
                    .find(|n| n.devid == devid)
                    .cloned()
                    .unwrap_or_default();
                n.devid = devid;
                nic.merge_into(&mut n);
                t.nics.push(n);
            }
        }
        Ok(())
    }

    /// The typed view of a complete libxl config. libxl's "not set" values
    /// become this type's defaults (those of [`DomainConfig::new`]), never
    /// huge numbers; the build-info union is read by `b_info.type`, the key
    /// libxl itself uses.
    pub(crate) fn from_types(t: types::DomainConfig) -> Result<Self> {
        use types::DomainBuildInfoTypeUnion as Arm;
        let domain_type = DomainType::from_raw(t.c_info.type_.to_raw());
        let b = &t.b_info;
        let (build_type, bootloader, serial) = match &b.type_ {
            Arm::Pv(pv) => (
                DomainType::Pv,
                b.bootloader.clone().or_else(|| pv.bootloader.clone()),
                None,
            ),
            Arm::Pvh(_) => (DomainType::Pvh, None, None),
            Arm::Hvm(h) => (DomainType::Hvm, None, h.serial.clone()),
            Arm::Invalid => (DomainType::from_raw(-1), None, None),
            Arm::Other(k) => (DomainType::from_raw(*k), None, None),
        };
        if build_type != domain_type {
            return Err(invalid(
                "b_info.type",
                &format!(
                    "the build info is for {build_type} but the domain is {domain_type}: \
                     libxl would read the wrong union arm"
                ),
            ));
        }
        let memory_kib = match b.target_memkb {
            MEMKB_DEFAULT => match b.max_memkb {
                MEMKB_DEFAULT => DEFAULT_MEMORY_KIB,
                max => max,
            },
            m => m,
        };
        let maxmem_kib = match b.max_memkb {
            MEMKB_DEFAULT => None,
            m if m == memory_kib => None,
            m => Some(m),
        };
        let action = |a: types::ActionOnShutdown| Action::from_raw(a.to_raw());
        Ok(DomainConfig {
            name: t.c_info.name.clone().unwrap_or_default(),
            domain_type,
            memory_kib,
            maxmem_kib,
            vcpus: u32::try_from(b.max_vcpus)
                .ok()
                .filter(|v| *v > 0)
                .unwrap_or(1),
            uuid: (!t.c_info.uuid.is_nil()).then_some(t.c_info.uuid),
            kernel: b.kernel.clone(),
            ramdisk: b.ramdisk.clone(),
            cmdline: b.cmdline.clone(),
            bootloader,
            serial,
            disks: t.disks.iter().map(Disk::from_types).collect(),
            nics: t.nics.iter().map(Nic::from_types).collect(),
            on_poweroff: action(t.on_poweroff),
            on_reboot: action(t.on_reboot),
            on_crash: action(t.on_crash),
            on_watchdog: action(t.on_watchdog),
            on_soft_reset: action(t.on_soft_reset),
            libxl: t,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A complete config read from libxl and converted back is unchanged:
    /// libxl's "not set" values stay unset, every field survives.
    #[test]
    fn complete_configs_convert_back_unchanged() {
        use crate::types::samples::Sample;
        use types::DomainBuildInfoTypeUnion as Arm;
        for seed in 0..8 {
            let mut t = types::DomainConfig::sample(seed);
            t.c_info.type_ = match t.b_info.type_ {
                Arm::Hvm(_) => types::DomainType::Hvm,
                Arm::Pv(_) => types::DomainType::Pv,
                Arm::Pvh(_) => types::DomainType::Pvh,
                _ => continue,
            };
            t.b_info.max_memkb = t.b_info.target_memkb;
            let cfg = DomainConfig::from_types(t.clone()).unwrap();
            assert_eq!(cfg.to_types().unwrap(), t, "sample {seed}");
        }
        // libxl's defaults (a JSON config that sets almost nothing) stay.
        let mut t = types::DomainConfig::default();
        t.c_info.name = Some("x".into());
        t.c_info.type_ = types::DomainType::Pvh;
        t.b_info.type_ = Arm::Pvh(Default::default());
        t.b_info.kernel = Some("/k".into());
        let cfg = DomainConfig::from_types(t.clone()).unwrap();
        assert_eq!(
            cfg.memory_kib, DEFAULT_MEMORY_KIB,
            "the typed view's default"
        );
        assert_eq!(
            cfg.to_types().unwrap(),
            t,
            "MEMKB_DEFAULT and <default>s stay"
        );
        // A typed field set to something else is written.
        let cfg = cfg.memory_mib(256).cmdline("quiet");
        let t2 = cfg.to_types().unwrap();
        assert_eq!(
            (t2.b_info.target_memkb, t2.b_info.max_memkb),
            (256 * 1024, 256 * 1024)
        );
        assert_eq!(t2.b_info.cmdline.as_deref(), Some("quiet"));
    }

    /// A valid PV config, the starting point of the conversion tests too.
    pub(crate) fn pv() -> DomainConfig {
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

    /// Issue 25: a PV guest booting through pygrub, read from xl.cfg (which
    /// sets `b_info.bootloader`, as xl does), was refused for want of a
    /// kernel; the builder wrote the deprecated `u.pv.bootloader`.
    #[test]
    fn a_pv_guest_with_pygrub_from_xl_cfg_validates_and_keeps_its_bootloader() {
        let x = DomainConfig::from_xl_cfg(
            "name = 'pv-pygrub'\nmemory = 512\nbootloader = 'pygrub'\n\
             disk = [ '/srv/pv.img,raw,xvda,rw' ]\n",
        )
        .unwrap();
        assert_eq!(x.config.bootloader.as_deref(), Some("pygrub"));
        x.config.validate().unwrap();
        let back = DomainConfig::from_raw(&x.config.to_raw().unwrap()).unwrap();
        assert_eq!(back.libxl.b_info.bootloader.as_deref(), Some("pygrub"));
        assert_eq!(back.bootloader, x.config.bootloader);
        assert_eq!(
            back.libxl.b_info, x.config.libxl.b_info,
            "the build info converts back unchanged"
        );
        let built = DomainConfig::new("b", DomainType::Pv).bootloader("pygrub");
        let raw = DomainConfig::from_raw(&built.to_raw().unwrap()).unwrap();
        assert_eq!(raw.libxl.b_info.bootloader.as_deref(), Some("pygrub"));
        assert_eq!(raw.bootloader.as_deref(), Some("pygrub"));
    }
}
