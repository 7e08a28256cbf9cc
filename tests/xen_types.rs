//! Hypervisor tests of the generated IDL types (issue 12): libxl's own JSON
//! for every type, the complete config of created domains, and the union
//! arm checks.

mod common;
#[path = "idl/samples.rs"]
mod samples;

use common::*;
use samples::{for_each_type, Sample, Visitor, IDL_TYPES};
use xenlight::types::{self, IdlType};
use xenlight::{Context, DomainConfig, DomainType, Error};

/// Rust -> C -> `libxl_<type>_to_json` -> `libxl_<type>_from_json` -> C ->
/// Rust, for every sample of every type (Xen's gentest.py, in Rust).
struct LibxlJson<'a> {
    ctx: &'a Context,
    types: usize,
    values: usize,
    failures: Vec<String>,
}

impl Visitor for LibxlJson<'_> {
    fn visit<T: IdlType + Sample>(&mut self, name: &str, arms: u32) {
        self.types += 1;
        for seed in 0..arms.max(1) * 2 {
            let v = T::sample(seed);
            let json = match self.ctx.to_json(&v) {
                Ok(j) => j,
                Err(e) => {
                    self.failures.push(format!("{name} #{seed}: to_json: {e}"));
                    continue;
                }
            };
            // The serde form is libxl's: libxl reads ours, and we read libxl's.
            let ours = serde_json::to_string_pretty(&v).expect("serialize");
            match self.ctx.from_json::<T>(&ours) {
                Ok(back) if back == v => {}
                Ok(back) => self.failures.push(format!(
                    "{name} #{seed}: libxl read our serde JSON differently\n json: {ours}\n got: {back:?}"
                )),
                Err(e) => self
                    .failures
                    .push(format!("{name} #{seed}: libxl refused our serde JSON: {e}\n json: {ours}")),
            }
            match serde_json::from_str::<T>(&json) {
                Ok(back) if back == v => {}
                Ok(back) => self.failures.push(format!(
                    "{name} #{seed}: serde read libxl's JSON differently\n json: {json}\n got: {back:?}"
                )),
                Err(e) => self
                    .failures
                    .push(format!("{name} #{seed}: serde refused libxl's JSON: {e}\n json: {json}")),
            }
            match self.ctx.from_json::<T>(&json) {
                Ok(back) if back == v => self.values += 1,
                Ok(back) => self.failures.push(format!(
                    "{name} #{seed}: differs after libxl's JSON\n json: {json}\n want: {v:?}\n got:  {back:?}"
                )),
                Err(e) => self
                    .failures
                    .push(format!("{name} #{seed}: from_json: {e}\n json: {json}")),
            }
        }
    }
}

#[test]
fn every_idl_type_survives_libxls_own_json_and_serde_speaks_it() {
    let ctx = Context::new().unwrap();
    let mut v = LibxlJson {
        ctx: &ctx,
        types: 0,
        values: 0,
        failures: Vec::new(),
    };
    for_each_type(&mut v);
    println!(
        "libxl JSON round trip: {} types, {} values, {} failures",
        v.types,
        v.values,
        v.failures.len()
    );
    assert_eq!(v.types, IDL_TYPES);
    assert!(v.failures.is_empty(), "{}", v.failures.join("\n"));
}

/// Declares the fields the builder has no method for, once: a function that
/// sets them and one that checks a read-back config has them.
macro_rules! extra_fields {
    ($($($path:ident).+ = $val:expr;)*) => {
        /// Sets the fields; returns how many.
        fn set_fields_the_builder_lacks(cfg: &mut DomainConfig) -> usize {
            let t = &mut cfg.libxl;
            $( t.$($path).+ = $val; )*
            [$(stringify!($($path).+)),*].len()
        }

        /// Each field set above, as read back.
        fn assert_fields_read_back(want: &DomainConfig, got: &DomainConfig) {
            let (w, g) = (&want.libxl, &got.libxl);
            $( assert_eq!(g.$($path).+, w.$($path).+, stringify!($($path).+)); )*
        }
    };
}

extra_fields! {
    c_info.xsdata = vec![("xl-test".into(), Some("issue-12".into()))];
    c_info.platformdata = vec![("xl-platform".into(), Some("1".into()))];
    c_info.xend_suspend_evtchn_compat = Some(false);
    c_info.passthrough = types::Passthrough::Disabled;
    c_info.driver_domain = Some(false);
    c_info.oos = Some(true);
    b_info.max_grant_frames = 64;
    b_info.max_maptrack_frames = 1024;
    b_info.max_grant_version = 1;
    b_info.event_channels = 1023;
    b_info.blkdev_start = Some("xvda".into());
    b_info.localtime = Some(false);
    b_info.disable_migrate = Some(true);
    b_info.rtc_timeoffset = 5;
    b_info.tsc_mode = types::TscMode::AlwaysEmulate;
    b_info.numa_placement = Some(false);
    b_info.sched_params.weight = 512;
    b_info.sched_params.cap = 0;
    b_info.extra_pv = vec!["-unused-pv".into()];
    // A real QEMU option: HVM guests start QEMU with it.
    b_info.extra_hvm = vec!["-no-user-config".into()];
    b_info.acpi = Some(true);
    b_info.nested_hvm = Some(false);
    b_info.apic = Some(true);
    b_info.dm_restrict = Some(false);
    b_info.vpmu = Some(false);
    b_info.arch_x86.msr_relaxed = Some(false);
    b_info.cpumap = types::Bitmap { bytes: vec![0b11] };
    b_info.timer_mode = types::TimerMode::NoDelayForMissedTicks;
    b_info.device_model_stubdomain = Some(false);
    // Used only with a stub domain (off here), but stored.
    b_info.stubdomain_memkb = 8192;
    // A CPUID policy that changes nothing: every bit of leaf 1 ECX at 'x'.
    b_info.cpuid = types::CpuidPolicy {
        cpuid: vec![types::CpuidLeaf {
            leaf: 1,
            subleaf: None,
            regs: [None, None, Some("x".repeat(32)), None],
        }],
        msr: vec![],
    };
}

fn create_and_read_back(cfg: &mut DomainConfig, arm_fields: usize) {
    let n = set_fields_the_builder_lacks(cfg) + arm_fields;
    assert!(n >= 30, "{n} fields");
    let ctx = Context::new().unwrap();
    let domid = ctx.create_domain(cfg).expect("create_domain");
    let _guard = DomainGuard { ctx: &ctx, domid };
    let back = ctx.domain_config(domid).expect("domain_config");
    assert_fields_read_back(cfg, &back);
    match (&cfg.libxl.b_info.type_, &back.libxl.b_info.type_) {
        (types::DomainBuildInfoTypeUnion::Hvm(w), types::DomainBuildInfoTypeUnion::Hvm(g)) => {
            assert_eq!(
                (g.pae, g.hpet, g.vpt_align, g.viridian),
                (w.pae, w.hpet, w.vpt_align, w.viridian)
            );
            assert_eq!(
                (g.acpi_s3, g.acpi_s4, g.nx, g.usb),
                (w.acpi_s3, w.acpi_s4, w.nx, w.usb)
            );
            assert_eq!(
                (g.acpi_laptop_slate, &g.boot),
                (w.acpi_laptop_slate, &w.boot)
            );
        }
        (types::DomainBuildInfoTypeUnion::Pv(w), types::DomainBuildInfoTypeUnion::Pv(g)) => {
            assert_eq!(g.e820_host, w.e820_host);
        }
        (types::DomainBuildInfoTypeUnion::Pvh(w), types::DomainBuildInfoTypeUnion::Pvh(g)) => {
            assert_eq!(g.pvshim, w.pvshim);
        }
        (w, g) => panic!("build-info arm changed: {w:?} -> {g:?}"),
    }
    println!("{}: {n} fields beyond the builder read back", cfg.name());
}

#[test]
fn pv_domain_keeps_30_fields_the_builder_cannot_set() {
    let mut cfg = direct_boot_guest("types-pv", DomainType::Pv);
    cfg.libxl.b_info.type_ = types::DomainBuildInfoTypeUnion::Pv(types::DomainBuildInfoTypePv {
        e820_host: Some(false),
        ..Default::default()
    });
    create_and_read_back(&mut cfg, 1);
}

#[test]
fn pvh_domain_keeps_30_fields_the_builder_cannot_set() {
    let mut cfg = direct_boot_guest("types-pvh", DomainType::Pvh);
    cfg.libxl.b_info.type_ = types::DomainBuildInfoTypeUnion::Pvh(types::DomainBuildInfoTypePvh {
        pvshim: Some(false),
        ..Default::default()
    });
    create_and_read_back(&mut cfg, 1);
}

#[test]
fn hvm_domain_keeps_30_fields_the_builder_cannot_set() {
    if !device_model_available("hvm_domain_keeps_30_fields_the_builder_cannot_set") {
        return;
    }
    let mut cfg = direct_boot_guest("types-hvm", DomainType::Hvm);
    let mut h = types::DomainBuildInfoTypeHvm {
        pae: Some(true),
        hpet: Some(false),
        vpt_align: Some(true),
        viridian: Some(false),
        acpi_s3: Some(false),
        acpi_s4: Some(false),
        nx: Some(true),
        usb: Some(false),
        acpi_laptop_slate: Some(false),
        boot: Some("dc".into()),
        ..Default::default()
    };
    headless(&mut h);
    cfg.libxl.b_info.type_ = types::DomainBuildInfoTypeUnion::Hvm(h);
    create_and_read_back(&mut cfg, 10);
}

/// Issue 12: a PV config whose build info carries the HVM arm used to make
/// the safe reader read the wrong union arm.
#[test]
fn json_with_a_build_info_arm_of_another_type_is_a_typed_error() {
    let ctx = Context::new().unwrap();
    let json = r#"{"c_info": {"type": "pv", "name": "x"},
                   "b_info": {"type.hvm": {"serial": "pty"}}}"#;
    match DomainConfig::from_libxl_json(&ctx, json) {
        Err(Error::InvalidConfig { field, .. }) => assert_eq!(field, "b_info.type"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

/// Two build-info arms in one JSON: an error, never libxl's assert.
#[test]
fn json_with_two_build_info_arms_is_a_typed_error() {
    let ctx = Context::new().unwrap();
    let json = r#"{"c_info": {"type": "pv", "name": "x"},
                   "b_info": {"type.pv": {"kernel": "/k"}, "type.hvm": {"serial": "pty"}}}"#;
    let r = DomainConfig::from_libxl_json(&ctx, json);
    assert!(r.is_err(), "accepted two arms: {r:?}");
    let r = ctx.from_json::<types::DomainBuildInfo>(
        r#"{"type.pv": {"kernel": "/k"}, "type.hvm": {"serial": "pty"}}"#,
    );
    assert!(r.is_err(), "accepted two arms: {r:?}");
}

/// libxl 4.17 turns a `cpumap` into per-vCPU affinities in memory from a
/// temporary gc and leaves it in the caller's config, which then frees it a
/// second time (heap corruption, seen as SIGSEGV/"free(): invalid pointer"
/// here before the crate did the translation itself).
#[test]
fn a_cpumap_alone_creates_and_reads_back_without_heap_corruption() {
    let ctx = Context::new().unwrap();
    let mut cfg = direct_boot_guest("types-cpumap", DomainType::Pv);
    cfg.libxl.b_info.cpumap = types::Bitmap { bytes: vec![0b1] };
    let domid = ctx.create_domain(&cfg).expect("create_domain");
    let _guard = DomainGuard { ctx: &ctx, domid };
    let back = ctx.domain_config(domid).expect("domain_config");
    assert!(back.libxl.b_info.cpumap.test(0));
    assert_eq!(back.libxl.b_info.vcpu_hard_affinity.len(), 1);
}

/// Issue 25: one model, whatever the source. A config from the builder
/// (with fields the builder never sets), from xl.cfg, from serde and from
/// a running domain converts to libxl's JSON and back to itself, and the
/// builder's readers see the same values after the trip.
#[test]
fn every_source_converts_to_one_model_and_back_unchanged() {
    let ctx = Context::new().unwrap();
    let trip = |what: &str, cfg: &DomainConfig| {
        let json = cfg.to_libxl_json(&ctx).unwrap();
        let back = DomainConfig::from_libxl_json(&ctx, &json).unwrap();
        assert_eq!(&back, cfg, "{what}: JSON and back\n{json}");
        assert_eq!(
            back.to_libxl_json(&ctx).unwrap(),
            json,
            "{what}: JSON again"
        );
        // serde's form is libxl's, both ways.
        let ours = serde_json::to_string(cfg).unwrap();
        assert_eq!(
            &serde_json::from_str::<DomainConfig>(&ours).unwrap(),
            cfg,
            "{what}: serde"
        );
        assert_eq!(
            &DomainConfig::from_libxl_json(&ctx, &ours).unwrap(),
            cfg,
            "{what}: libxl reads serde"
        );
        assert_eq!(
            &serde_json::from_str::<DomainConfig>(&json).unwrap(),
            cfg,
            "{what}: serde reads libxl"
        );
        back
    };
    let uuid: xenlight::Uuid = "6c7d7cc8-07c5-4dc0-9c3b-4bdb0a6a3e4f".parse().unwrap();
    // The builder, and two fields it has no method for.
    let mut built = pv_guest(&format!("{PREFIX}one-model"), true)
        .uuid(uuid)
        .vcpus(2)
        .maxmem_mib(192)
        .disk(xenlight::Disk::new("/tmp/one-model.img", "xvdb").read_only(true))
        .nic(xenlight::Nic::bridged("xenbr0"))
        .on_crash(xenlight::Action::Preserve);
    built.libxl.b_info.max_grant_frames = 64;
    built
        .libxl
        .c_info
        .xsdata
        .push(("owner".into(), Some("agent-7".into())));
    let back = trip("builder", &built);
    assert_eq!(
        (
            back.name(),
            back.memory_kib(),
            back.maxmem_kib(),
            back.max_vcpus()
        ),
        (built.name(), Some(128 << 10), Some(192 << 10), 2)
    );
    assert_eq!((back.disks(), back.nics()), (built.disks(), built.nics()));
    assert_eq!(back.actions(), built.actions());
    // xl.cfg, with keys the builder has no method for.
    let x = ctx
        .xl_cfg(
            "name = 'one-model-xl'\ntype = 'pvh'\nkernel = '/k'\nmemory = 256\nmaxmem = 512\n\
             vcpus = 2\nmaxvcpus = 4\nbootloader_args = [ '-q' ]\nmax_grant_frames = 48\n\
             disk = [ '/srv/a.img,raw,xvda,rw', 'format=qcow2,vdev=xvdb,access=ro,target=/srv/b.qcow2' ]\n\
             vif = [ 'bridge=xenbr0,mac=00:16:3e:00:00:07,vifname=om0' ]\non_reboot = 'destroy'\n\
             uuid = '6c7d7cc8-07c5-4dc0-9c3b-4bdb0a6a3e50'\n",
        )
        .unwrap();
    assert!(x.warnings.is_empty(), "{:?}", x.warnings);
    let back = trip("xl.cfg", &x.config);
    assert_eq!(back.max_vcpus(), 4);
    assert_eq!(back.libxl.b_info.avail_vcpus.iter().count(), 2);
    assert_eq!(back.disks()[1].format, xenlight::DiskFormat::Qcow2);
    // A running domain's config as libxl stored it.
    std::fs::write("/tmp/one-model.img", vec![0u8; 1 << 20]).unwrap();
    let _img = RemoveOnDrop(vec!["/tmp/one-model.img".into()]);
    let domid = ctx.create_domain_paused(&built).unwrap();
    let _guard = DomainGuard { ctx: &ctx, domid };
    let stored = ctx.domain_config(domid).unwrap();
    trip("domain_config", &stored);
    assert_eq!(stored.name(), built.name());
    assert_eq!(stored.libxl.c_info.uuid, uuid);
    assert_eq!(stored.libxl.b_info.max_grant_frames, 64);
    assert_eq!(stored.disks(), built.disks());
}
