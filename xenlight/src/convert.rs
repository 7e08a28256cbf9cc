//! The boundary between the plain configuration types (`config`) and
//! libxl's structs: each conversion written once, both ways, into owned
//! values ([`Owned`]) so nothing leaks on an early return.
// bindgen gives each C enum the integer type the platform's C compiler
// picks (int or unsigned), so the casts to i32 are not always no-ops.
#![allow(clippy::unnecessary_cast)]

use xenlight_sys as sys;

use crate::config::{Disk, DomainConfig, Nic};
use crate::error::Result;
use crate::ids::Uuid;
use crate::raw::cvalue::CValue;
use crate::raw::Owned;
use crate::types;

/// An owned `libxl_domain_config`.
pub(crate) type RawConfig = Owned<sys::libxl_domain_config>;

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

impl DomainConfig {
    /// Converts to an owned `libxl_domain_config`, after
    /// [`validate`](DomainConfig::validate); a domain without a UUID gets a
    /// random one, as xl gives it. (The crate converts through
    /// [`to_libxl_types`](Self::to_libxl_types); the tests look at the C.)
    #[cfg(test)]
    pub(crate) fn to_raw(&self) -> Result<RawConfig> {
        self.to_libxl_types()?.to_c()
    }

    /// The complete config as libxl is handed it: [`libxl`](DomainConfig::libxl)
    /// after `validate`, with a random UUID where none is set.
    pub(crate) fn to_libxl_types(&self) -> Result<types::DomainConfig> {
        let mut t = self.to_types()?;
        if t.c_info.uuid.is_nil() {
            t.c_info.uuid = Uuid::random();
        }
        Ok(t)
    }

    /// A libxl config read into [`libxl`](DomainConfig::libxl), its
    /// build-info arm checked (see `DomainConfig::from_types`).
    pub(crate) fn from_raw(raw: &sys::libxl_domain_config) -> Result<Self> {
        // SAFETY: a libxl config, initialised (the caller's RawConfig).
        let t = unsafe { types::DomainConfig::read_c(raw) }?;
        DomainConfig::from_types(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::pv;
    use crate::enums::{Action, DomainType};

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
        assert_eq!(*back.libxl.c_info.uuid.as_bytes(), raw.c_info.uuid.uuid);
        // As xl does, the builder numbers NICs in order.
        assert_eq!(back.nics()[0].devid, Some(0));
        // The complete config read back is the one written.
        let mut written = cfg.to_types().unwrap();
        written.c_info.uuid = back.libxl.c_info.uuid;
        assert_eq!(back.libxl, written);
    }

    /// Review defect 7: libxl's "not set" sentinels used to surface as
    /// `memory_kib = u64::MAX` and `vcpus = 0`; they read as unset.
    #[test]
    fn libxl_defaults_read_back_as_builder_defaults() {
        let mut raw = RawConfig::new();
        // SAFETY: a plain field, then b_info (initialised) gets the arm for
        // the type.
        unsafe {
            let c = raw.get_mut();
            c.c_info.type_ = sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PVH as _;
            sys::libxl_domain_build_info_init_type(&mut c.b_info, c.c_info.type_)
        };
        let cfg = DomainConfig::from_raw(&raw).unwrap();
        assert_eq!((cfg.memory_kib(), cfg.maxmem_kib()), (None, None));
        assert_eq!(cfg.max_vcpus(), 1, "libxl's default");
    }

    /// The union arm is chosen by `b_info.type`: a PV domain with HVM build
    /// info is an error, never a read of the wrong arm.
    #[test]
    fn mismatched_build_info_arm_is_an_error() {
        let mut raw = RawConfig::new();
        // SAFETY: a plain field; b_info initialised; selects the HVM arm.
        unsafe {
            let c = raw.get_mut();
            c.c_info.type_ = sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PV as _;
            sys::libxl_domain_build_info_init_type(
                &mut c.b_info,
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
        cfg.libxl.disks[0].direct_io_safe = true;
        let back = DomainConfig::from_raw(&cfg.to_raw().unwrap()).unwrap();
        assert_eq!(back.libxl.b_info.max_grant_frames, 64);
        assert_eq!(back.libxl.c_info.xsdata, cfg.libxl.c_info.xsdata);
        assert!(back.libxl.disks[0].direct_io_safe);
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
    use crate::enums::DomainType;
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
            mem in 0u64..(1 << 30),
            maxmem in proptest::option::of(0u64..(1 << 30)),
            vcpus in 0u32..5000,
            kernel in proptest::option::of(text()),
            cmdline in proptest::option::of(text()),
            bootloader in proptest::option::of(text()),
            disks in proptest::collection::vec((text(), text(), any::<bool>()), 0..3),
            nics in proptest::collection::vec((proptest::option::of(text()), any::<[u8; 6]>()), 0..3),
        ) {
            let ty = [DomainType::Pv, DomainType::Pvh, DomainType::Hvm, DomainType::Unknown(9)][ty as usize];
            let mut cfg = DomainConfig::new(name, ty).memory_mib(mem).vcpus(vcpus);
            if let Some(m) = maxmem {
                cfg = cfg.maxmem_mib(m);
            }
            if let Some(k) = kernel {
                cfg = cfg.kernel(k);
            }
            if let Some(c) = cmdline {
                cfg = cfg.cmdline(c);
            }
            if let Some(b) = bootloader {
                cfg = cfg.bootloader(b);
            }
            for (t, v, ro) in disks {
                cfg = cfg.disk(Disk::new(t, v).read_only(ro));
            }
            for (b, m) in nics {
                cfg = cfg.nic(Nic { bridge: b, mac: Some(crate::ids::Mac(m)), ..Nic::default() });
            }
            if let Ok(raw) = cfg.to_raw() {
                let mut back = DomainConfig::from_raw(&raw).unwrap();
                back.libxl.c_info.uuid = cfg.libxl.c_info.uuid;
                prop_assert_eq!(back, cfg);
            }
        }
    }
}
