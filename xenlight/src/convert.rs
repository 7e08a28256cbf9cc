//! The boundary between the plain configuration types (`config`) and
//! libxl's structs: each conversion written once, both ways, into owned
//! values ([`Owned`]) so nothing leaks on an early return.
// bindgen gives each C enum the integer type the platform's C compiler
// picks (int or unsigned), so the casts to i32 are not always no-ops.
#![allow(clippy::unnecessary_cast)]

use xenlight_sys as sys;

use crate::config::{Disk, DomainConfig, Nic};
use crate::enums::{Action, DiskBackend, DiskFormat, DomainType};
use crate::error::{Error, Result};
use crate::ids::Uuid;
use crate::raw::cvalue::CValue;
use crate::raw::Owned;
use crate::types;
use crate::values::Bitmap;

/// libxl's `LIBXL_MEMKB_DEFAULT`: "not set" in a memory field.
const MEMKB_DEFAULT: u64 = u64::MAX;

/// An owned `libxl_domain_config`.
pub(crate) type RawConfig = Owned<sys::libxl_domain_config>;

fn invalid(field: &str, reason: &str) -> Error {
    Error::InvalidConfig {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

/// A plain device type and the libxl struct it fills: through its
/// generated IDL type, written over libxl's defaults.
pub(crate) trait ToLibxl {
    /// The generated IDL type.
    type Idl: CValue + Default;

    /// Writes this device's settings over `d`.
    fn merge(&self, d: &mut Self::Idl) -> Result<()>;

    /// The typed view of a libxl device.
    fn from_idl(d: &Self::Idl) -> Self;

    /// An owned, filled libxl struct (disposed on every return).
    fn to_raw(&self) -> Result<Owned<<Self::Idl as CValue>::C>> {
        let mut d = Self::Idl::default();
        self.merge(&mut d)?;
        d.to_c()
    }

    /// Reads a libxl device struct.
    ///
    /// # Safety
    /// `raw` is initialised.
    unsafe fn from_raw(raw: &<Self::Idl as CValue>::C) -> Result<Self>
    where
        Self: Sized,
    {
        // SAFETY: caller's contract.
        Ok(Self::from_idl(&unsafe { Self::Idl::read_c(raw) }?))
    }
}

impl ToLibxl for Disk {
    type Idl = types::DeviceDisk;
    fn merge(&self, d: &mut types::DeviceDisk) -> Result<()> {
        self.merge_into(d)
    }
    fn from_idl(d: &types::DeviceDisk) -> Self {
        Disk::from_types(d)
    }
}

impl ToLibxl for Nic {
    type Idl = types::DeviceNic;
    fn merge(&self, n: &mut types::DeviceNic) -> Result<()> {
        self.merge_into(n);
        Ok(())
    }
    fn from_idl(n: &types::DeviceNic) -> Self {
        Nic::from_types(n)
    }
}

/// A hand enum and the generated one for the same libxl enumeration.
fn same<A, B>(to_raw: impl Fn(A) -> i32, from_raw: impl Fn(i32) -> B, a: A) -> B {
    from_raw(to_raw(a))
}

impl Disk {
    /// Writes this disk over `d` (the disk libxl holds for the same vdev,
    /// or a default one), keeping every field this type does not have.
    fn merge_into(&self, d: &mut types::DeviceDisk) -> Result<()> {
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
}

impl Nic {
    /// Writes this NIC's settings over `n`; unset (`None`) ones keep `n`'s.
    fn merge_into(&self, n: &mut types::DeviceNic) {
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
}

impl DomainConfig {
    /// The complete libxl configuration: [`libxl`](DomainConfig::libxl)
    /// with the typed fields written over it, after
    /// [`validate`](DomainConfig::validate).
    pub(crate) fn to_types(&self) -> Result<types::DomainConfig> {
        self.validate()?;
        let mut t = self.libxl.clone();
        let ty = same(
            DomainType::to_raw,
            types::DomainType::from_raw,
            self.domain_type,
        );
        t.c_info.type_ = ty;
        t.c_info.name = Some(self.name.clone());
        match self.uuid {
            Some(u) => t.c_info.uuid = u,
            None if t.c_info.uuid.is_nil() => {
                let mut raw = sys::libxl_uuid { uuid: [0; 16] };
                // SAFETY: writes 16 random bytes into the uuid.
                unsafe { sys::libxl_uuid_generate(&mut raw) };
                t.c_info.uuid = Uuid::from_bytes(raw.uuid);
            }
            None => {}
        }
        let b = &mut t.b_info;
        // The build-info arm must be the domain type's; a fresh one gets
        // this crate's defaults (headless HVM: no VNC, SDL or VGA).
        let arm_matches = matches!(
            (&b.type_, ty),
            (
                types::DomainBuildInfoTypeUnion::Pv(_),
                types::DomainType::Pv
            ) | (
                types::DomainBuildInfoTypeUnion::Pvh(_),
                types::DomainType::Pvh
            ) | (
                types::DomainBuildInfoTypeUnion::Hvm(_),
                types::DomainType::Hvm
            )
        );
        if !arm_matches {
            b.type_ = match ty {
                types::DomainType::Pv => types::DomainBuildInfoTypeUnion::Pv(Default::default()),
                types::DomainType::Pvh => types::DomainBuildInfoTypeUnion::Pvh(Default::default()),
                types::DomainType::Hvm => {
                    let d = types::DomainBuildInfoTypeHvm::default();
                    types::DomainBuildInfoTypeUnion::Hvm(types::DomainBuildInfoTypeHvm {
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
                other => types::DomainBuildInfoTypeUnion::Other(other.to_raw()),
            };
        }
        b.max_vcpus = i32::try_from(self.vcpus).map_err(|_| invalid("vcpus", "too many"))?;
        b.avail_vcpus = Bitmap::with_bits(self.vcpus as usize);
        for i in 0..self.vcpus as usize {
            b.avail_vcpus.set(i);
        }
        b.target_memkb = self.memory_kib;
        b.max_memkb = self.maxmem_kib.unwrap_or(self.memory_kib);
        for (dst, v) in [
            (&mut b.kernel, &self.kernel),
            (&mut b.ramdisk, &self.ramdisk),
            (&mut b.cmdline, &self.cmdline),
        ] {
            if v.is_some() {
                dst.clone_from(v);
            }
        }
        match &mut b.type_ {
            types::DomainBuildInfoTypeUnion::Pv(pv) if self.bootloader.is_some() => {
                pv.bootloader.clone_from(&self.bootloader)
            }
            types::DomainBuildInfoTypeUnion::Hvm(h) if self.serial.is_some() => {
                h.serial.clone_from(&self.serial)
            }
            _ => {}
        }
        // As xl with its default xl.conf: memory is claimed up front, and
        // libxl runs the hotplug scripts itself (unless set otherwise).
        b.claim_mode.get_or_insert(true);
        t.c_info.run_hotplug_scripts.get_or_insert(true);
        t.on_poweroff = same(
            Action::to_raw,
            types::ActionOnShutdown::from_raw,
            self.on_poweroff,
        );
        t.on_reboot = same(
            Action::to_raw,
            types::ActionOnShutdown::from_raw,
            self.on_reboot,
        );
        t.on_crash = same(
            Action::to_raw,
            types::ActionOnShutdown::from_raw,
            self.on_crash,
        );
        t.on_watchdog = same(
            Action::to_raw,
            types::ActionOnShutdown::from_raw,
            self.on_watchdog,
        );
        t.on_soft_reset = same(
            Action::to_raw,
            types::ActionOnShutdown::from_raw,
            self.on_soft_reset,
        );

        // Devices: each typed one over libxl's for the same vdev / devid.
        let old_disks = std::mem::take(&mut t.disks);
        for disk in &self.disks {
            let mut d = old_disks
                .iter()
                .find(|d| d.vdev.as_deref() == Some(disk.vdev.as_str()))
                .cloned()
                .unwrap_or_default();
            disk.merge_into(&mut d)?;
            t.disks.push(d);
        }
        let old_nics = std::mem::take(&mut t.nics);
        for (i, nic) in self.nics.iter().enumerate() {
            // As xl does, NICs without a devid are numbered in order.
            let devid = nic.devid.unwrap_or(i as i32);
            let mut n = old_nics
                .iter()
                .find(|n| n.devid == devid)
                .cloned()
                .unwrap_or_default();
            n.devid = devid;
            nic.merge_into(&mut n);
            t.nics.push(n);
        }
        Ok(t)
    }

    /// Converts to an owned `libxl_domain_config`, after
    /// [`validate`](DomainConfig::validate).
    pub(crate) fn to_raw(&self) -> Result<RawConfig> {
        self.to_types()?.to_c()
    }

    /// The typed view of a libxl config, with the complete config in
    /// [`libxl`](DomainConfig::libxl). libxl's "not set" values become
    /// this type's defaults (those of [`DomainConfig::new`]), never huge
    /// numbers; the build-info union is read by `b_info.type`, the key libxl
    /// itself uses.
    pub(crate) fn from_raw(raw: &sys::libxl_domain_config) -> Result<Self> {
        // SAFETY: a libxl config, initialised (the caller's RawConfig).
        let t = unsafe { types::DomainConfig::read_c(raw) }?;
        DomainConfig::from_types(t)
    }

    /// The typed view of a complete libxl config (see [`from_raw`](Self::from_raw)).
    pub(crate) fn from_types(t: types::DomainConfig) -> Result<Self> {
        let domain_type = DomainType::from_raw(t.c_info.type_.to_raw());
        let b = &t.b_info;
        let (build_type, bootloader, serial) = match &b.type_ {
            types::DomainBuildInfoTypeUnion::Pv(pv) => {
                (DomainType::Pv, pv.bootloader.clone(), None)
            }
            types::DomainBuildInfoTypeUnion::Pvh(_) => (DomainType::Pvh, None, None),
            types::DomainBuildInfoTypeUnion::Hvm(h) => (DomainType::Hvm, None, h.serial.clone()),
            types::DomainBuildInfoTypeUnion::Invalid => (DomainType::from_raw(-1), None, None),
            types::DomainBuildInfoTypeUnion::Other(k) => (DomainType::from_raw(*k), None, None),
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
        let defaults = DomainConfig::new("", domain_type);
        let memory_kib = match b.target_memkb {
            MEMKB_DEFAULT => match b.max_memkb {
                MEMKB_DEFAULT => defaults.memory_kib,
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
                .unwrap_or(defaults.vcpus),
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

impl Disk {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::pv;

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
        assert_eq!(raw.c_info.type_ as i32, DomainType::Pv.to_raw());
        assert_eq!(raw.b_info.target_memkb, 128 * 1024);
        assert_eq!(raw.b_info.max_memkb, 256 * 1024);
        assert_eq!(raw.b_info.max_vcpus, 3);
        assert_eq!(raw.b_info.avail_vcpus.size, 1);
        // SAFETY: map has `size` bytes.
        assert_eq!(unsafe { *raw.b_info.avail_vcpus.map }, 0b111);
        assert_eq!(raw.num_disks, 1);
        assert_eq!(raw.num_nics, 1);
        // SAFETY: one disk and one NIC, initialised.
        unsafe {
            assert_eq!((*raw.disks).readwrite, 0);
            assert_eq!((*raw.nics).mac, [0, 0x16, 0x3e, 0, 0, 1]);
        }
        assert_eq!(raw.on_crash as i32, Action::Preserve.to_raw());
        assert!(
            !Uuid::from_bytes(raw.c_info.uuid.uuid).is_nil(),
            "a random uuid was generated"
        );
        let back = DomainConfig::from_raw(&raw).unwrap();
        assert_eq!(back.uuid.map(|u| *u.as_bytes()), Some(raw.c_info.uuid.uuid));
        // As xl does, the conversion numbers NICs in order.
        let nics = vec![Nic {
            devid: Some(0),
            ..cfg.nics[0].clone()
        }];
        // The complete config read back is the one written.
        let mut written = cfg.to_types().unwrap();
        written.c_info.uuid = back.uuid.unwrap();
        assert_eq!(back.libxl, written);
        assert_eq!(
            back,
            DomainConfig {
                uuid: back.uuid,
                nics,
                libxl: back.libxl.clone(),
                ..cfg
            }
        );
    }

    /// Review defect 7: libxl's "not set" sentinels used to surface as
    /// `memory_kib = u64::MAX` and `vcpus = 0`.
    #[test]
    fn libxl_defaults_read_back_as_builder_defaults() {
        let mut raw = RawConfig::new();
        raw.c_info.type_ = sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PVH as _;
        // SAFETY: b_info initialised; selects the arm for the type.
        unsafe { sys::libxl_domain_build_info_init_type(&mut raw.b_info, raw.c_info.type_) };
        let cfg = DomainConfig::from_raw(&raw).unwrap();
        let defaults = DomainConfig::new("", DomainType::Pvh);
        assert_eq!(cfg.memory_kib, defaults.memory_kib);
        assert_eq!(cfg.maxmem_kib, None);
        assert_eq!(cfg.vcpus, defaults.vcpus);
    }

    /// The union arm is chosen by `b_info.type`: a PV domain with HVM build
    /// info is an error, never a read of the wrong arm.
    #[test]
    fn mismatched_build_info_arm_is_an_error() {
        let mut raw = RawConfig::new();
        raw.c_info.type_ = sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PV as _;
        // SAFETY: b_info initialised; selects the HVM arm.
        unsafe {
            sys::libxl_domain_build_info_init_type(
                &mut raw.b_info,
                sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_HVM as _,
            )
        };
        let e = DomainConfig::from_raw(&raw).unwrap_err();
        assert!(e.to_string().contains("b_info.type"), "{e}");
    }

    /// Fields the typed view does not have survive a read and a write.
    #[test]
    fn fields_outside_the_typed_view_survive_a_round_trip() {
        let mut cfg = pv().disk(Disk::new("/img", "xvda"));
        cfg.libxl.b_info.max_grant_frames = 64;
        cfg.libxl.c_info.xsdata = vec![("owner".into(), Some("agent".into()))];
        cfg.libxl.disks = vec![types::DeviceDisk {
            vdev: Some("xvda".into()),
            direct_io_safe: true,
            ..Default::default()
        }];
        let back = DomainConfig::from_raw(&cfg.to_raw().unwrap()).unwrap();
        assert_eq!(back.libxl.b_info.max_grant_frames, 64);
        assert_eq!(back.libxl.c_info.xsdata, cfg.libxl.c_info.xsdata);
        assert!(back.libxl.disks[0].direct_io_safe, "merged by vdev");
        assert_eq!(back.libxl.disks[0].pdev_path.as_deref(), Some("/img"));
        // And once more: reading and writing again changes nothing.
        let again = DomainConfig::from_raw(&back.to_raw().unwrap()).unwrap();
        assert_eq!(again, back);
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
            cfg.nics = nics.into_iter().map(|(b, m)| Nic { bridge: b, mac: Some(crate::ids::Mac(m)), ..Nic::default() }).collect();
            if let Ok(raw) = cfg.to_raw() {
                let back = DomainConfig::from_raw(&raw).unwrap();
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
