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
use crate::ids::{Mac, Uuid};
use crate::raw::alloc::{
    bitmap_set_all, calloc_structs, malloc_opt_string, malloc_string, opt_string,
};
use crate::raw::owned::LibxlStruct;
use crate::raw::Owned;

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

/// Reads a C string field owned by a struct that is borrowed for the call.
fn field(p: *const std::ffi::c_char) -> Option<String> {
    // SAFETY: every caller passes a field of a libxl struct it borrows: NULL
    // or a NUL-terminated string owned by that struct.
    unsafe { opt_string(p) }
}

/// The elements of one of `cfg`'s device arrays (NULL or `n` items).
fn items<T>(_cfg: &sys::libxl_domain_config, p: *const T, n: i32) -> &[T] {
    if p.is_null() || n <= 0 {
        &[]
    } else {
        // SAFETY: an array of `cfg` (libxl's or calloc_structs'), holding n
        // initialised elements, borrowed no longer than `cfg`.
        unsafe { std::slice::from_raw_parts(p, n as usize) }
    }
}

/// A plain device type and the libxl struct it fills.
pub(crate) trait ToLibxl {
    /// The libxl struct.
    type Raw: LibxlStruct;

    /// Fills an initialised libxl struct.
    fn fill(&self, raw: &mut Self::Raw) -> Result<()>;

    /// An owned, filled libxl struct (disposed on every return).
    fn to_raw(&self) -> Result<Owned<Self::Raw>> {
        let mut raw = Owned::new();
        self.fill(&mut raw)?;
        Ok(raw)
    }
}

impl ToLibxl for Disk {
    type Raw = sys::libxl_device_disk;

    fn fill(&self, d: &mut sys::libxl_device_disk) -> Result<()> {
        if self.vdev.is_empty() {
            return Err(invalid(
                "disk.vdev",
                "a disk needs a guest device name such as xvda",
            ));
        }
        d.pdev_path = malloc_string("disk target", &self.target)?;
        d.vdev = malloc_string("disk vdev", &self.vdev)?;
        d.format = self.format.to_raw() as _;
        d.backend = self.backend.to_raw() as _;
        d.readwrite = i32::from(!self.read_only);
        d.is_cdrom = i32::from(self.cdrom);
        d.removable = i32::from(self.cdrom);
        Ok(())
    }
}

impl Disk {
    pub(crate) fn from_raw(d: &sys::libxl_device_disk) -> Self {
        Disk {
            target: field(d.pdev_path).unwrap_or_default(),
            vdev: field(d.vdev).unwrap_or_default(),
            format: DiskFormat::from_raw(d.format as i32),
            backend: DiskBackend::from_raw(d.backend as i32),
            read_only: d.readwrite == 0,
            cdrom: d.is_cdrom != 0,
        }
    }
}

impl ToLibxl for Nic {
    type Raw = sys::libxl_device_nic;

    fn fill(&self, n: &mut sys::libxl_device_nic) -> Result<()> {
        n.bridge = malloc_opt_string("nic bridge", self.bridge.as_deref())?;
        n.model = malloc_opt_string("nic model", self.model.as_deref())?;
        n.script = malloc_opt_string("nic script", self.script.as_deref())?;
        n.ip = malloc_opt_string("nic ip", self.ip.as_deref())?;
        n.gatewaydev = malloc_opt_string("nic gatewaydev", self.gatewaydev.as_deref())?;
        if let Some(d) = self.devid {
            n.devid = d;
        }
        if let Some(m) = self.mac {
            n.mac = m.0;
        }
        Ok(())
    }
}

impl Nic {
    pub(crate) fn from_raw(n: &sys::libxl_device_nic) -> Self {
        Nic {
            bridge: field(n.bridge),
            mac: (n.mac != [0; 6]).then_some(Mac(n.mac)),
            model: field(n.model),
            script: field(n.script),
            ip: field(n.ip),
            gatewaydev: field(n.gatewaydev),
            devid: (n.devid >= 0).then_some(n.devid),
        }
    }
}

impl DomainConfig {
    /// Converts to an owned `libxl_domain_config`, after
    /// [`validate`](DomainConfig::validate).
    pub(crate) fn to_raw(&self) -> Result<RawConfig> {
        self.validate()?;
        let mut raw = RawConfig::new();
        let d = &mut *raw;
        d.c_info.type_ = self.domain_type.to_raw() as _;
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
        bitmap_set_all("vcpus", &mut b.avail_vcpus, self.vcpus)?;
        b.target_memkb = self.memory_kib;
        b.max_memkb = self.maxmem_kib.unwrap_or(self.memory_kib);
        b.kernel = malloc_opt_string("kernel", self.kernel.as_deref())?;
        b.ramdisk = malloc_opt_string("ramdisk", self.ramdisk.as_deref())?;
        b.cmdline = malloc_opt_string("cmdline", self.cmdline.as_deref())?;
        if self.domain_type == DomainType::Pv {
            let bootloader = malloc_opt_string("bootloader", self.bootloader.as_deref())?;
            // Writing (not reading) the PV arm, selected by init_type above.
            b.u.pv.bootloader = bootloader;
        }
        if self.domain_type == DomainType::Hvm {
            // Headless: no VNC, SDL or emulated VGA; the console is the serial.
            let serial = malloc_opt_string("serial", self.serial.as_deref())?;
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
        d.on_poweroff = self.on_poweroff.to_raw() as _;
        d.on_reboot = self.on_reboot.to_raw() as _;
        d.on_crash = self.on_crash.to_raw() as _;
        d.on_watchdog = self.on_watchdog.to_raw() as _;
        d.on_soft_reset = self.on_soft_reset.to_raw() as _;
        // As xl with its default xl.conf: memory is claimed up front, and
        // libxl runs the hotplug scripts itself.
        // SAFETY: plain writes into initialised defbools.
        unsafe {
            sys::libxl_defbool_set(&mut d.b_info.claim_mode, true);
            sys::libxl_defbool_set(&mut d.c_info.run_hotplug_scripts, true);
        }

        (d.disks, d.num_disks) = calloc_structs("disks", self.disks.len())?;
        for (i, disk) in self.disks.iter().enumerate() {
            // SAFETY: `i` < num_disks; each element was initialised.
            disk.fill(unsafe { &mut *d.disks.add(i) })?;
        }
        (d.nics, d.num_nics) = calloc_structs("nics", self.nics.len())?;
        for (i, nic) in self.nics.iter().enumerate() {
            // SAFETY: as for disks.
            let slot = unsafe { &mut *d.nics.add(i) };
            slot.devid = i as i32;
            nic.fill(slot)?;
        }
        Ok(raw)
    }

    /// The typed view of a libxl config. libxl's "not set" values become
    /// this type's defaults (those of [`DomainConfig::new`]), never huge
    /// numbers; the build-info union is read by `b_info.type`, the key libxl
    /// itself uses.
    pub(crate) fn from_raw(raw: &sys::libxl_domain_config) -> Result<Self> {
        let b = &raw.b_info;
        let domain_type = DomainType::from_raw(raw.c_info.type_ as i32);
        let build_type = DomainType::from_raw(b.type_ as i32);
        if build_type != domain_type {
            return Err(invalid(
                "b_info.type",
                &format!(
                    "the build info is for {build_type} but the domain is {domain_type}: \
                     libxl would read the wrong union arm"
                ),
            ));
        }
        let uuid = Uuid::from_bytes(raw.c_info.uuid.uuid);
        let bootloader = if build_type == DomainType::Pv {
            // SAFETY: the PV arm is the active one: b_info.type is PV.
            field(unsafe { b.u.pv.bootloader })
        } else {
            None
        };
        let serial = if build_type == DomainType::Hvm {
            // SAFETY: the HVM arm is the active one: b_info.type is HVM.
            field(unsafe { b.u.hvm.serial })
        } else {
            None
        };
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
        Ok(DomainConfig {
            name: field(raw.c_info.name).unwrap_or_default(),
            domain_type,
            memory_kib,
            maxmem_kib,
            vcpus: u32::try_from(b.max_vcpus)
                .ok()
                .filter(|v| *v > 0)
                .unwrap_or(defaults.vcpus),
            uuid: (!uuid.is_nil()).then_some(uuid),
            kernel: field(b.kernel),
            ramdisk: field(b.ramdisk),
            cmdline: field(b.cmdline),
            bootloader,
            serial,
            disks: items(raw, raw.disks, raw.num_disks)
                .iter()
                .map(Disk::from_raw)
                .collect(),
            nics: items(raw, raw.nics, raw.num_nics)
                .iter()
                .map(Nic::from_raw)
                .collect(),
            on_poweroff: Action::from_raw(raw.on_poweroff as i32),
            on_reboot: Action::from_raw(raw.on_reboot as i32),
            on_crash: Action::from_raw(raw.on_crash as i32),
            on_watchdog: Action::from_raw(raw.on_watchdog as i32),
            on_soft_reset: Action::from_raw(raw.on_soft_reset as i32),
        })
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
        assert_eq!(
            raw.c_info.type_,
            sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PV as _
        );
        assert_eq!(raw.b_info.target_memkb, 128 * 1024);
        assert_eq!(raw.b_info.max_memkb, 256 * 1024);
        assert_eq!(raw.b_info.max_vcpus, 3);
        assert_eq!(raw.b_info.avail_vcpus.size, 1);
        // SAFETY: map has `size` bytes.
        assert_eq!(unsafe { *raw.b_info.avail_vcpus.map }, 0b111);
        assert_eq!(raw.num_disks, 1);
        assert_eq!(raw.num_nics, 1);
        assert_eq!(items(&raw, raw.disks, raw.num_disks)[0].readwrite, 0);
        assert_eq!(
            items(&raw, raw.nics, raw.num_nics)[0].mac,
            [0, 0x16, 0x3e, 0, 0, 1]
        );
        assert_eq!(
            raw.on_crash,
            sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_PRESERVE as _
        );
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
        assert_eq!(
            back,
            DomainConfig {
                uuid: back.uuid,
                nics,
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
