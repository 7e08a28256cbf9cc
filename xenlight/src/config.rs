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

/// A guest's configuration: libxl's complete model of it
/// ([`libxl`](DomainConfig::libxl), every field of `libxl_domain_config`),
/// built in Rust, read from an xl.cfg file ([`DomainConfig::from_xl_cfg`]),
/// from libxl's JSON, or from a running domain.
///
/// The builder's methods set fields of that model (each says which), and
/// the readers ([`name`](Self::name), [`memory_kib`](Self::memory_kib),
/// [`disks`](Self::disks), ...) read them; there is no second copy, so a
/// config converts the same way whatever it came from.
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
/// assert_eq!(cfg.memory_kib(), Some(256 * 1024));
/// assert_eq!(cfg.libxl.b_info.kernel.as_deref(), Some("/boot/vmlinuz"));
/// # Ok::<(), xenlight::Error>(())
/// ```
///
/// With the `serde` feature it is (de)serialized as libxl's JSON form of
/// the model, the form `xl -N create` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(transparent)
)]
#[non_exhaustive]
pub struct DomainConfig {
    /// The complete libxl configuration. The builder's methods write here,
    /// and whatever they do not cover is set here directly.
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

/// Wraps a complete libxl model as it is; [`DomainConfig::validate`]
/// (which every create and conversion runs) checks it.
///
/// ```
/// let t = xenlight::types::DomainConfig::default();
/// let cfg = xenlight::DomainConfig::from(t);
/// assert!(cfg.validate().is_err(), "no name, no type");
/// ```
impl From<types::DomainConfig> for DomainConfig {
    fn from(libxl: types::DomainConfig) -> Self {
        DomainConfig { libxl }
    }
}

/// The complete libxl model a config holds.
///
/// ```
/// use xenlight::{DomainConfig, DomainType};
/// let t: xenlight::types::DomainConfig = DomainConfig::new("x", DomainType::Pv).into();
/// assert_eq!(t.c_info.name.as_deref(), Some("x"));
/// ```
impl From<DomainConfig> for types::DomainConfig {
    fn from(cfg: DomainConfig) -> Self {
        cfg.libxl
    }
}

impl DomainConfig {
    /// A configuration with 128 MiB, one vCPU, no devices, and xl's
    /// defaults: destroy on poweroff, crash and watchdog, restart on
    /// reboot, memory claimed up front, hotplug scripts run by libxl (xl's
    /// standard xl.conf). HVM guests are headless (no VNC, SDL or emulated
    /// VGA; the console is the serial port).
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("web", DomainType::Hvm);
    /// assert_eq!((cfg.name(), cfg.domain_type()), ("web", DomainType::Hvm));
    /// assert_eq!((cfg.memory_kib(), cfg.max_vcpus()), (Some(128 * 1024), 1));
    /// ```
    pub fn new(name: impl Into<String>, domain_type: DomainType) -> Self {
        let ty = same(DomainType::to_raw, types::DomainType::from_raw, domain_type);
        let mut t = types::DomainConfig::default();
        t.c_info.name = Some(name.into());
        t.c_info.type_ = ty;
        t.c_info.run_hotplug_scripts = Some(true);
        let b = &mut t.b_info;
        b.type_ = fresh_arm(ty);
        b.claim_mode = Some(true);
        b.max_vcpus = 1;
        b.avail_vcpus = Bitmap::first(1);
        b.target_memkb = DEFAULT_MEMORY_KIB;
        b.max_memkb = DEFAULT_MEMORY_KIB;
        DomainConfig::from(t)
            .on_poweroff(Action::Destroy)
            .on_reboot(Action::Restart)
            .on_crash(Action::Destroy)
            .on_watchdog(Action::Destroy)
            .on_soft_reset(Action::SoftReset)
    }

    /// Sets the initial memory (`b_info.target_memkb`) in MiB; the maximum
    /// (`b_info.max_memkb`) follows it, as xl's `memory` key sets both,
    /// unless [`maxmem_mib`](Self::maxmem_mib) set it to something else.
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).maxmem_mib(1024).memory_mib(512);
    /// assert_eq!((cfg.memory_kib(), cfg.maxmem_kib()), (Some(512 << 10), Some(1024 << 10)));
    /// ```
    pub fn memory_mib(mut self, mib: u64) -> Self {
        let kib = mib.saturating_mul(1024);
        let b = &mut self.libxl.b_info;
        if b.max_memkb == MEMKB_DEFAULT || b.max_memkb == b.target_memkb {
            b.max_memkb = kib;
        }
        b.target_memkb = kib;
        self
    }

    /// Sets the maximum memory (`b_info.max_memkb`) in MiB.
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).memory_mib(256).maxmem_mib(512);
    /// assert_eq!(cfg.libxl.b_info.max_memkb, 512 * 1024);
    /// ```
    pub fn maxmem_mib(mut self, mib: u64) -> Self {
        self.libxl.b_info.max_memkb = mib.saturating_mul(1024);
        self
    }

    /// Sets the number of vCPUs, all online (`b_info.max_vcpus` and
    /// `b_info.avail_vcpus`). Zero, or more than Xen supports, is refused
    /// by [`validate`](Self::validate).
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).vcpus(4);
    /// assert_eq!((cfg.max_vcpus(), cfg.libxl.b_info.avail_vcpus.iter().count()), (4, 4));
    /// ```
    pub fn vcpus(mut self, n: u32) -> Self {
        let b = &mut self.libxl.b_info;
        b.max_vcpus = i32::try_from(n).unwrap_or(i32::MAX);
        // A map with no vCPU online, not libxl's "unset" (an empty map,
        // which it reads as one vCPU), so that validate sees the zero.
        b.avail_vcpus = Bitmap::first(n as usize);
        if n == 0 {
            b.avail_vcpus = Bitmap::with_bits(1);
        }
        self
    }

    /// Sets the UUID (`c_info.uuid`); a config without one gets a random
    /// UUID when it is created, as xl gives it.
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType, Uuid};
    /// let u: Uuid = "6c7d7cc8-07c5-4dc0-9c3b-4bdb0a6a3e4f".parse().unwrap();
    /// assert_eq!(DomainConfig::new("x", DomainType::Pvh).uuid(u).libxl.c_info.uuid, u);
    /// ```
    pub fn uuid(mut self, uuid: Uuid) -> Self {
        self.libxl.c_info.uuid = uuid;
        self
    }

    /// Sets the kernel for direct boot (`b_info.kernel`, a path in dom0).
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).kernel("/boot/vmlinuz");
    /// assert_eq!(cfg.libxl.b_info.kernel.as_deref(), Some("/boot/vmlinuz"));
    /// ```
    pub fn kernel(mut self, path: impl Into<String>) -> Self {
        self.libxl.b_info.kernel = Some(path.into());
        self
    }

    /// Sets the initial ramdisk (`b_info.ramdisk`).
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).ramdisk("/boot/initrd.img");
    /// assert_eq!(cfg.libxl.b_info.ramdisk.as_deref(), Some("/boot/initrd.img"));
    /// ```
    pub fn ramdisk(mut self, path: impl Into<String>) -> Self {
        self.libxl.b_info.ramdisk = Some(path.into());
        self
    }

    /// Sets the kernel command line (`b_info.cmdline`).
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).cmdline("console=hvc0");
    /// assert_eq!(cfg.libxl.b_info.cmdline.as_deref(), Some("console=hvc0"));
    /// ```
    pub fn cmdline(mut self, cmdline: impl Into<String>) -> Self {
        self.libxl.b_info.cmdline = Some(cmdline.into());
        self
    }

    /// Sets a bootloader (e.g. `pygrub`) that picks the kernel from the
    /// guest's disk, for PV and PVH guests (`b_info.bootloader`, where xl
    /// puts it; the deprecated `u.pv.bootloader` is cleared).
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pv).bootloader("pygrub");
    /// assert_eq!(cfg.bootloader_name(), Some("pygrub"));
    /// cfg.validate()?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn bootloader(mut self, bootloader: impl Into<String>) -> Self {
        self.libxl.b_info.bootloader = Some(bootloader.into());
        if let types::DomainBuildInfoTypeUnion::Pv(pv) = &mut self.libxl.b_info.type_ {
            pv.bootloader = None;
        }
        self
    }

    /// HVM: sets the emulated serial port's destination (`u.hvm.serial`,
    /// e.g. `pty` or `file:/tmp/g.log`). Other guest types have no emulated
    /// serial port; for them this changes nothing, as xl ignores `serial`.
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Hvm).serial("pty");
    /// let xenlight::types::DomainBuildInfoTypeUnion::Hvm(h) = &cfg.libxl.b_info.type_ else { panic!() };
    /// assert_eq!(h.serial.as_deref(), Some("pty"));
    /// ```
    pub fn serial(mut self, serial: impl Into<String>) -> Self {
        if let types::DomainBuildInfoTypeUnion::Hvm(h) = &mut self.libxl.b_info.type_ {
            h.serial = Some(serial.into());
        }
        self
    }

    /// Adds a disk (to `disks`).
    ///
    /// ```
    /// use xenlight::{Disk, DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).disk(Disk::new("/srv/x.img", "xvda"));
    /// assert_eq!(cfg.disks()[0].vdev, "xvda");
    /// ```
    pub fn disk(mut self, disk: Disk) -> Self {
        let mut d = types::DeviceDisk::default();
        disk.write_into(&mut d);
        self.libxl.disks.push(d);
        self
    }

    /// Adds a network interface (to `nics`); one without a devid gets the
    /// next number, as xl numbers them in order.
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType, Nic};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh)
    ///     .nic(Nic::bridged("xenbr0"))
    ///     .nic(Nic::bridged("xenbr1"));
    /// assert_eq!(cfg.nics()[1].devid, Some(1));
    /// ```
    pub fn nic(mut self, nic: Nic) -> Self {
        let mut n = types::DeviceNic {
            devid: nic.devid.unwrap_or(self.libxl.nics.len() as i32),
            ..Default::default()
        };
        nic.merge_into(&mut n);
        self.libxl.nics.push(n);
        self
    }

    /// Sets the action on poweroff (`on_poweroff`). libxl only stores the
    /// `on_*` actions; [`Context::handle_shutdown`](crate::Context::handle_shutdown)
    /// carries them out.
    ///
    /// ```
    /// use xenlight::{Action, DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).on_poweroff(Action::Preserve);
    /// assert_eq!(cfg.actions().on_poweroff, Action::Preserve);
    /// ```
    pub fn on_poweroff(mut self, a: Action) -> Self {
        self.libxl.on_poweroff = action_to_idl(a);
        self
    }

    /// Sets the action on reboot (`on_reboot`).
    ///
    /// ```
    /// use xenlight::{Action, DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).on_reboot(Action::Destroy);
    /// assert_eq!(cfg.actions().on_reboot, Action::Destroy);
    /// ```
    pub fn on_reboot(mut self, a: Action) -> Self {
        self.libxl.on_reboot = action_to_idl(a);
        self
    }

    /// Sets the action on crash (`on_crash`).
    ///
    /// ```
    /// use xenlight::{Action, DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).on_crash(Action::Preserve);
    /// assert_eq!(cfg.actions().on_crash, Action::Preserve);
    /// ```
    pub fn on_crash(mut self, a: Action) -> Self {
        self.libxl.on_crash = action_to_idl(a);
        self
    }

    /// Sets the action when the guest's watchdog fires (`on_watchdog`).
    ///
    /// ```
    /// use xenlight::{Action, DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).on_watchdog(Action::Restart);
    /// assert_eq!(cfg.actions().on_watchdog, Action::Restart);
    /// ```
    pub fn on_watchdog(mut self, a: Action) -> Self {
        self.libxl.on_watchdog = action_to_idl(a);
        self
    }

    /// Sets the action on a soft-reset request (`on_soft_reset`).
    ///
    /// ```
    /// use xenlight::{Action, DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).on_soft_reset(Action::Destroy);
    /// assert_eq!(cfg.actions().on_soft_reset, Action::Destroy);
    /// ```
    pub fn on_soft_reset(mut self, a: Action) -> Self {
        self.libxl.on_soft_reset = action_to_idl(a);
        self
    }

    /// The domain's name (`c_info.name`; empty when unset).
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// assert_eq!(DomainConfig::new("web", DomainType::Pvh).name(), "web");
    /// ```
    pub fn name(&self) -> &str {
        self.libxl.c_info.name.as_deref().unwrap_or("")
    }

    /// PV, PVH or HVM (`c_info.type`).
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// assert_eq!(DomainConfig::new("x", DomainType::Pv).domain_type(), DomainType::Pv);
    /// ```
    pub fn domain_type(&self) -> DomainType {
        DomainType::from_raw(self.libxl.c_info.type_.to_raw())
    }

    /// The initial memory in KiB (`b_info.target_memkb`); `None` when
    /// unset, which libxl reads as the maximum.
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// assert_eq!(DomainConfig::new("x", DomainType::Pv).memory_mib(64).memory_kib(), Some(65536));
    /// ```
    pub fn memory_kib(&self) -> Option<u64> {
        Some(self.libxl.b_info.target_memkb).filter(|&m| m != MEMKB_DEFAULT)
    }

    /// The maximum memory in KiB (`b_info.max_memkb`); `None` when unset
    /// (libxl's default).
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pv).memory_mib(64).maxmem_mib(128);
    /// assert_eq!(cfg.maxmem_kib(), Some(128 * 1024));
    /// ```
    pub fn maxmem_kib(&self) -> Option<u64> {
        Some(self.libxl.b_info.max_memkb).filter(|&m| m != MEMKB_DEFAULT)
    }

    /// The number of vCPUs (`b_info.max_vcpus`; unset reads as one, as
    /// libxl defaults it).
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType};
    /// assert_eq!(DomainConfig::new("x", DomainType::Pv).vcpus(3).max_vcpus(), 3);
    /// ```
    pub fn max_vcpus(&self) -> u32 {
        u32::try_from(self.libxl.b_info.max_vcpus)
            .ok()
            .filter(|&v| v > 0)
            .unwrap_or(1)
    }

    /// The bootloader the guest boots through, wherever the config keeps
    /// it (`b_info.bootloader`, or a PV guest's deprecated
    /// `u.pv.bootloader`, which libxl reads when the first is unset).
    ///
    /// ```
    /// let x = xenlight::DomainConfig::from_xl_cfg("name='g'\nbootloader='pygrub'\n")?;
    /// assert_eq!(x.config.bootloader_name(), Some("pygrub"));
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn bootloader_name(&self) -> Option<&str> {
        let b = &self.libxl.b_info;
        match &b.type_ {
            types::DomainBuildInfoTypeUnion::Pv(pv) if b.bootloader.is_none() => {
                pv.bootloader.as_deref()
            }
            _ => b.bootloader.as_deref(),
        }
    }

    /// The disks (`disks`), each in [`Disk`]'s terms; every field of them
    /// is in `libxl.disks`.
    ///
    /// ```
    /// use xenlight::{Disk, DomainConfig, DomainType};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).disk(Disk::new("/a.img", "xvda").read_only(true));
    /// assert!(cfg.disks()[0].read_only);
    /// ```
    pub fn disks(&self) -> Vec<Disk> {
        self.libxl.disks.iter().map(Disk::from_types).collect()
    }

    /// The network interfaces (`nics`), each in [`Nic`]'s terms; every field
    /// of them is in `libxl.nics`.
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType, Nic};
    /// let cfg = DomainConfig::new("x", DomainType::Pvh).nic(Nic::bridged("xenbr0"));
    /// assert_eq!(cfg.nics()[0].bridge.as_deref(), Some("xenbr0"));
    /// ```
    pub fn nics(&self) -> Vec<Nic> {
        self.libxl.nics.iter().map(Nic::from_types).collect()
    }

    /// What happens on each kind of shutdown (the `on_*` fields).
    ///
    /// ```
    /// use xenlight::{Action, DomainConfig, DomainType};
    /// let a = DomainConfig::new("x", DomainType::Pvh).actions();
    /// assert_eq!((a.on_poweroff, a.on_reboot), (Action::Destroy, Action::Restart));
    /// ```
    pub fn actions(&self) -> Actions {
        let t = &self.libxl;
        let a = |a: types::ActionOnShutdown| Action::from_raw(a.to_raw());
        Actions {
            on_poweroff: a(t.on_poweroff),
            on_reboot: a(t.on_reboot),
            on_crash: a(t.on_crash),
            on_watchdog: a(t.on_watchdog),
            on_soft_reset: a(t.on_soft_reset),
        }
    }

    /// Checks what can be checked before libxl sees the config, on the
    /// complete model, so the same way whatever the config came from; the
    /// error names the field at fault. A PV or PVH guest boots from a
    /// kernel (`b_info.kernel`, which xl's `firmware = "pvgrub64"` sets
    /// too) or a bootloader, as xl requires; an HVM guest from its firmware.
    ///
    /// ```
    /// use xenlight::{DomainConfig, DomainType, Error};
    /// let e = DomainConfig::new("pv", DomainType::Pv).validate().unwrap_err();
    /// assert!(matches!(e, Error::InvalidConfig { ref field, .. } if field == "kernel"));
    /// ```
    pub fn validate(&self) -> Result<()> {
        let t = &self.libxl;
        let b = &t.b_info;
        match t.c_info.name.as_deref() {
            None | Some("") => return Err(invalid("name", "a domain needs a name")),
            Some(n) if n.contains('\0') || n.contains('/') => {
                return Err(invalid(
                    "name",
                    "a domain name cannot contain NUL bytes or '/'",
                ))
            }
            Some(_) => {}
        }
        if b.target_memkb == 0 {
            return Err(invalid("memory", "memory must be greater than zero"));
        }
        if let (Some(max), Some(target)) = (self.maxmem_kib(), self.memory_kib()) {
            if max < target {
                return Err(invalid("maxmem", "maxmem must not be less than memory"));
            }
        }
        if b.max_vcpus < 0
            || (!b.avail_vcpus.bytes.is_empty() && b.avail_vcpus.iter().next().is_none())
        {
            return Err(invalid("vcpus", "a domain needs at least one vCPU"));
        }
        if b.max_vcpus > 4096 {
            return Err(invalid("vcpus", "more vCPUs than Xen supports"));
        }
        check_build_arm(t)?;
        let ty = self.domain_type();
        if let DomainType::Pv | DomainType::Pvh = ty {
            let pv_kernel = match &b.type_ {
                types::DomainBuildInfoTypeUnion::Pv(pv) => pv.kernel.is_some(),
                _ => false,
            };
            if b.kernel.is_none() && !pv_kernel && self.bootloader_name().is_none() {
                return Err(invalid(
                    "kernel",
                    &format!("a {ty} guest needs a kernel or a bootloader"),
                ));
            }
        }
        for (key, a) in [
            ("on_poweroff", t.on_poweroff),
            ("on_reboot", t.on_reboot),
            ("on_crash", t.on_crash),
            ("on_watchdog", t.on_watchdog),
            ("on_soft_reset", t.on_soft_reset),
        ] {
            if let Action::Unknown(raw) = Action::from_raw(a.to_raw()) {
                return Err(invalid(key, &format!("unknown action {raw}")));
            }
        }
        if t.disks
            .iter()
            .any(|d| d.vdev.as_deref().unwrap_or("").is_empty())
        {
            return Err(invalid(
                "disk.vdev",
                "a disk needs a guest device name such as xvda",
            ));
        }
        Ok(())
    }
}

/// What a domain's config says to do on each kind of shutdown
/// ([`DomainConfig::actions`]).
///
/// ```
/// use xenlight::{Action, DomainConfig, DomainType};
/// let a = DomainConfig::new("x", DomainType::Pv).on_crash(Action::Preserve).actions();
/// assert_eq!(a.on_crash, Action::Preserve);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Actions {
    /// When the guest powers off.
    pub on_poweroff: Action,
    /// When the guest reboots.
    pub on_reboot: Action,
    /// When the guest crashes.
    pub on_crash: Action,
    /// When the guest's watchdog fires.
    pub on_watchdog: Action,
    /// When the guest asks for a soft reset.
    pub on_soft_reset: Action,
}

fn action_to_idl(a: Action) -> types::ActionOnShutdown {
    same(Action::to_raw, types::ActionOnShutdown::from_raw, a)
}

/// The domain type is one libxl knows and the build-info union's arm is
/// its type's, the arm libxl reads (by `b_info.type`).
fn check_build_arm(t: &types::DomainConfig) -> Result<()> {
    use types::DomainBuildInfoTypeUnion as Arm;
    let domain_type = DomainType::from_raw(t.c_info.type_.to_raw());
    if let DomainType::Unknown(k) = domain_type {
        return Err(invalid("type", &format!("unknown domain type {k}")));
    }
    let build_type = match &t.b_info.type_ {
        Arm::Pv(_) => DomainType::Pv,
        Arm::Pvh(_) => DomainType::Pvh,
        Arm::Hvm(_) => DomainType::Hvm,
        Arm::Invalid => DomainType::from_raw(-1),
        Arm::Other(k) => DomainType::from_raw(*k),
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
    Ok(())
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
    /// Writes this disk over `d` (a default disk, or one libxl holds),
    /// keeping every field this type does not have; a disk without a guest
    /// device name is an error.
    pub(crate) fn merge_into(&self, d: &mut types::DeviceDisk) -> Result<()> {
        if self.vdev.is_empty() {
            return Err(invalid(
                "disk.vdev",
                "a disk needs a guest device name such as xvda",
            ));
        }
        self.write_into(d);
        Ok(())
    }

    /// [`merge_into`](Self::merge_into) unchecked, for the builder (whose
    /// config `validate` checks).
    fn write_into(&self, d: &mut types::DeviceDisk) {
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
    /// The complete libxl configuration, after
    /// [`validate`](DomainConfig::validate).
    pub(crate) fn to_types(&self) -> Result<types::DomainConfig> {
        self.validate()?;
        Ok(self.libxl.clone())
    }

    /// A complete libxl config read from libxl, a file or a peer, whose
    /// build-info arm is checked to be its type's (the rest is checked by
    /// `validate` before it is used).
    pub(crate) fn from_types(t: types::DomainConfig) -> Result<Self> {
        check_build_arm(&t)?;
        Ok(DomainConfig::from(t))
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
        assert_eq!(cfg.memory_kib(), None, "unset, as libxl has it");
        assert_eq!(
            cfg.to_types().unwrap(),
            t,
            "MEMKB_DEFAULT and <default>s stay"
        );
        // A builder method writes its field.
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
            field(DomainConfig::new("x", DomainType::Unknown(9))),
            "type"
        );
        assert_eq!(field(pv().disk(Disk::new("/img", ""))), "disk.vdev");
        let mut mixed = pv();
        mixed.libxl.b_info.type_ = fresh_arm(types::DomainType::Hvm);
        assert_eq!(field(mixed), "b_info.type");
        // xl takes a bootloader for PV and PVH alike (xl_parse.c: "Neither
        // kernel nor bootloader specified"), and libxl runs it for both.
        for ty in [DomainType::Pv, DomainType::Pvh] {
            DomainConfig::new("x", ty)
                .bootloader("pygrub")
                .validate()
                .unwrap();
        }
        // The checks read the model, so a config from xl.cfg is checked
        // the same way as one from the builder.
        let x = DomainConfig::from_xl_cfg("name='x'\ntype='pvh'\nkernel='/k'\n").unwrap();
        x.config.clone().validate().unwrap();
        assert_eq!(field(x.config.vcpus(0)), "vcpus");
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
        assert_eq!(x.config.bootloader_name(), Some("pygrub"));
        x.config.validate().unwrap();
        let back = DomainConfig::from_raw(&x.config.to_raw().unwrap()).unwrap();
        assert_eq!(back.libxl.b_info.bootloader.as_deref(), Some("pygrub"));
        assert_eq!(back.bootloader_name(), x.config.bootloader_name());
        assert_eq!(
            back.libxl.b_info, x.config.libxl.b_info,
            "the build info converts back unchanged"
        );
        let built = DomainConfig::new("b", DomainType::Pv).bootloader("pygrub");
        let raw = DomainConfig::from_raw(&built.to_raw().unwrap()).unwrap();
        assert_eq!(raw.libxl.b_info.bootloader.as_deref(), Some("pygrub"));
        assert_eq!(raw.bootloader_name(), Some("pygrub"));
    }
}
