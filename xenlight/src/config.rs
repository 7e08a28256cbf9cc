//! Domain configuration as plain data: a typed builder and its checks.
//! The conversion to and from libxl's structs is in `convert`.

use crate::enums::{Action, DiskBackend, DiskFormat, DomainType};
use crate::error::{Error, Result};
use crate::ids::{Mac, Uuid};

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
    /// Read back from libxl, it holds everything libxl stored; when the
    /// config is converted, the fields above are written over it (`None`
    /// ones leave its value), disks over the disk with the same `vdev`,
    /// NICs over the NIC with the same devid.
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
            on_watchdog: Action::Destroy,
            on_soft_reset: Action::SoftReset,
            libxl: crate::types::DomainConfig::default(),
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

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
}
