//! Benchmarks on a real Xen host, each side measured in the same run:
//! the safe API against the same work in raw libxl FFI, the `list` example
//! against `xl list`, and guest create+destroy against `xl`.
//! Run with `cargo xtask bench` (it boots the disposable Xen host).

use std::time::Duration;

mod common;

use common::*;
use xenlight::types::{self, IdlType};
use xenlight::{Context, DomainConfig, DomainType, Domid, Mac};
use xenlight_sys as sys;

/// The devices of the config-convert benchmark: 10 disks and 10 NICs.
const DEVICES: usize = 10;

/// A PV config with 20 devices, as the generated types hold it.
fn twenty_device_config() -> types::DomainConfig {
    let mut t = types::DomainConfig::default();
    t.c_info.type_ = types::DomainType::Pv;
    t.c_info.name = Some("bench-convert".into());
    t.b_info.max_memkb = 131072;
    t.b_info.target_memkb = 131072;
    t.b_info.max_vcpus = 1;
    t.b_info.kernel = Some("/boot/vmlinuz".into());
    t.b_info.cmdline = Some("console=hvc0".into());
    t.b_info.type_ = types::DomainBuildInfoTypeUnion::Pv(Default::default());
    for i in 0..DEVICES {
        t.disks.push(types::DeviceDisk {
            pdev_path: Some(format!("/srv/disk{i}.img")),
            vdev: Some(format!("xvd{}", (b'a' + i as u8) as char)),
            format: types::DiskFormat::Raw,
            readwrite: 1,
            ..Default::default()
        });
        t.nics.push(types::DeviceNic {
            devid: i as i32,
            bridge: Some("xenbr0".into()),
            mac: Mac([0, 0x16, 0x3e, 0, 0, i as u8]),
            ..Default::default()
        });
    }
    t
}

/// The same config filled by hand in C and its set fields read back into
/// Rust values, as a program using only the raw bindings would.
fn raw_convert_round_trip() -> usize {
    let dup = |s: &str| {
        let c = std::ffi::CString::new(s).unwrap();
        // SAFETY: a valid C string; libxl frees the copy.
        unsafe { libc::strdup(c.as_ptr()) }
    };
    let read = |p: *const std::ffi::c_char| {
        // SAFETY: NULL or a string libxl's struct owns.
        (!p.is_null()).then(|| {
            unsafe { std::ffi::CStr::from_ptr(p) }
                .to_string_lossy()
                .into_owned()
        })
    };
    // SAFETY: the usual libxl sequence: init, fill, read, dispose.
    unsafe {
        let mut c: sys::libxl_domain_config = std::mem::zeroed();
        sys::libxl_domain_config_init(&mut c);
        c.c_info.type_ = sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PV;
        c.c_info.name = dup("bench-convert");
        sys::libxl_domain_build_info_init_type(&mut c.b_info, c.c_info.type_);
        c.b_info.max_memkb = 131072;
        c.b_info.target_memkb = 131072;
        c.b_info.max_vcpus = 1;
        c.b_info.kernel = dup("/boot/vmlinuz");
        c.b_info.cmdline = dup("console=hvc0");
        c.disks = libc::calloc(DEVICES, std::mem::size_of::<sys::libxl_device_disk>()).cast();
        c.num_disks = DEVICES as i32;
        c.nics = libc::calloc(DEVICES, std::mem::size_of::<sys::libxl_device_nic>()).cast();
        c.num_nics = DEVICES as i32;
        for i in 0..DEVICES {
            let d = &mut *c.disks.add(i);
            sys::libxl_device_disk_init(d);
            d.pdev_path = dup(&format!("/srv/disk{i}.img"));
            d.vdev = dup(&format!("xvd{}", (b'a' + i as u8) as char));
            d.format = sys::libxl_disk_format_LIBXL_DISK_FORMAT_RAW;
            d.readwrite = 1;
            let n = &mut *c.nics.add(i);
            sys::libxl_device_nic_init(n);
            n.devid = i as i32;
            n.bridge = dup("xenbr0");
            n.mac = [0, 0x16, 0x3e, 0, 0, i as u8];
        }
        let mut out = vec![
            read(c.c_info.name),
            read(c.b_info.kernel),
            read(c.b_info.cmdline),
        ];
        for i in 0..DEVICES {
            let d = &*c.disks.add(i);
            out.push(read(d.pdev_path));
            out.push(read(d.vdev));
            out.push(read((*c.nics.add(i)).bridge));
        }
        sys::libxl_domain_config_dispose(&mut c);
        std::hint::black_box(out).len()
    }
}

fn main() {
    // Conversion needs no hypervisor, but runs here with the rest.
    let cfg = twenty_device_config();
    let (s, r) = compare(
        60,
        200,
        || {
            let c = cfg.to_libxl().unwrap();
            // SAFETY: filled by to_libxl.
            let back = unsafe { types::DomainConfig::from_libxl(&c) }.unwrap();
            assert_eq!(std::hint::black_box(back).disks.len(), DEVICES);
        },
        || assert_eq!(raw_convert_round_trip(), 3 + 3 * DEVICES),
    );
    report(
        "config with 10 disks + 10 NICs to C and back",
        "safe",
        &s,
        "raw",
        &r,
        "config-convert safe/raw",
    );

    let ctx = Context::new().expect("a Xen dom0");
    let raw = Raw::new();

    let (s, r) = compare(
        30,
        200,
        || assert!(!ctx.domains().unwrap().is_empty()),
        || assert!(raw.list() > 0),
    );
    report(
        "domains() [1 domain]",
        "safe",
        &s,
        "raw",
        &r,
        "list safe/raw",
    );

    let (s, r) = compare(
        30,
        200,
        || assert!(ctx.domain_info(Domid::DOM0).unwrap().current_memkb > 0),
        || assert!(raw.info(Domid::DOM0) > 0),
    );
    report(
        "domain_info(Domain-0)",
        "safe",
        &s,
        "raw",
        &r,
        "info safe/raw",
    );

    let list =
        std::env::var("XENLIGHT_EXAMPLES_DIR").unwrap_or_else(|_| "/opt/bin".into()) + "/list";
    let (s, r) = compare(
        15,
        4,
        || run_quiet(&list, &[]),
        || run_quiet("xl", &["list"]),
    );
    report(
        "list example vs xl list (process)",
        "example",
        &s,
        "xl",
        &r,
        "list-example/xl",
    );

    // Create paused + destroy of a PV guest.
    let cfg_path = "/tmp/bench-xl.cfg";
    let g = guest_dir();
    std::fs::write(
        cfg_path,
        format!(
            "name = \"bench-xl\"\ntype = \"pv\"\nkernel = \"{}/vmlinux\"\nramdisk = \"{}/guest.cpio.gz\"\nmemory = 128\nvcpus = 1\nextra = \"console=hvc0 rdinit=/init quiet xlstay\"\n",
            g.display(),
            g.display()
        ),
    )
    .unwrap();
    let safe_cfg = pv_guest("bench-safe");
    let (s, r) = compare(
        4,
        1,
        || {
            let d = ctx.create_domain_paused(&safe_cfg).expect("create");
            ctx.destroy(d).expect("destroy");
            wait_gone(&ctx, d);
        },
        || {
            run_quiet("xl", &["create", "-p", "-q", cfg_path]);
            run_quiet("xl", &["destroy", "bench-xl"]);
            while ctx.domid_by_name("bench-xl").is_ok() {
                std::thread::sleep(Duration::from_millis(20));
            }
        },
    );
    report(
        "create -p + destroy (PV, 128 MiB)",
        "safe",
        &s,
        "xl",
        &r,
        "create safe/xl",
    );

    // How domains() grows with the number of domains.
    // Guests are created through their own Context: once a libxl ctx has
    // created a domain (or waited for events), libxenstore routes every
    // reply of its connection through a reader thread, which costs a thread
    // hand-off per xenstore read. Listing through a ctx that never did that
    // compares like with like; the cost itself is measured at the end.
    let creator = Context::new().expect("a second context");
    let lister = Context::new().expect("a third context");
    let mut guests: Vec<Domid> = Vec::new();
    for target in [1usize, 10, 30] {
        while guests.len() < target {
            let cfg = pv_guest(&format!("bench-n{}", guests.len()));
            guests.push(
                creator
                    .create_domain_paused(&cfg)
                    .expect("create paused guest"),
            );
        }
        // Many short alternating rounds (about 0.2 s each): TCG timing
        // drifts, and short rounds let both sides see the same drift.
        let per_round = (120 / (target as u32 + 1)).max(4);
        let (s, r) = compare(
            60,
            per_round,
            || assert!(lister.domains().unwrap().len() > target),
            || assert!(raw.list() > target),
        );
        report(
            &format!("domains() [{target} paused guests + dom0]"),
            "safe",
            &s,
            "raw",
            &r,
            &format!("list{target} safe/raw"),
        );
        if target == 1 {
            let g = guests[0];
            // SAFETY: init/dispose around one libxl_domain_info call.
            let raw_type = unsafe {
                let mut d: sys::libxl_dominfo = std::mem::zeroed();
                sys::libxl_dominfo_init(&mut d);
                sys::libxl_domain_info(raw.ctx, &mut d, g.get());
                let t = d.domain_type;
                sys::libxl_dominfo_dispose(&mut d);
                t
            };
            println!("guest {g}: libxl_dominfo.domain_type = {raw_type}");
            let (s, r) = compare(
                20,
                100,
                || assert!(lister.domain_info(g).is_ok()),
                || assert!(raw.info(g) > 0),
            );
            report(
                "domain_info(paused PV guest)",
                "safe",
                &s,
                "raw",
                &r,
                "guest-info safe/raw",
            );
        }
    }
    let (s, r) = compare(
        40,
        5,
        || assert!(creator.domains().unwrap().len() > 30),
        || assert!(lister.domains().unwrap().len() > 30),
    );
    report(
        "domains() [30 paused guests], ctx that created them vs fresh ctx",
        "creator",
        &s,
        "fresh",
        &r,
        "watch-thread/fresh",
    );
    for d in guests.drain(..) {
        let _ = creator.destroy(d);
        wait_gone(&creator, d);
    }

    // PVH and HVM guests: Xen reports both as HVM; domains() reads the type
    // libxl recorded in xenstore. The raw side does the same reads.
    let g = guest_dir();
    for i in 0..6 {
        let cfg = guest_of_type(&format!("bench-pvh{i}"), DomainType::Pvh);
        guests.push(
            creator
                .create_domain_paused(&cfg)
                .expect("create paused PVH guest"),
        );
    }
    for i in 0..2 {
        let cfg = DomainConfig::new(format!("bench-hvm{i}"), DomainType::Hvm)
            .memory_mib(128)
            .kernel(g.join("vmlinuz").to_str().unwrap())
            .ramdisk(g.join("guest.cpio.gz").to_str().unwrap())
            .cmdline("console=ttyS0 rdinit=/init xlstay");
        guests.push(
            creator
                .create_domain_paused(&cfg)
                .expect("create paused HVM guest"),
        );
    }
    let listed = lister.domains().unwrap();
    let count = |t| listed.iter().filter(|d| d.domain_type == t).count();
    assert_eq!(
        (count(DomainType::Pvh), count(DomainType::Hvm)),
        (6, 2),
        "{listed:?}"
    );
    let (s, r) = compare(
        60,
        12,
        || assert_eq!(lister.domains().unwrap().len(), 9),
        || assert_eq!(raw.list(), 9),
    );
    report(
        "domains() [6 paused PVH + 2 paused HVM guests + dom0]",
        "safe",
        &s,
        "raw",
        &r,
        "list-pvh-hvm safe/raw",
    );
    for d in guests {
        let _ = creator.destroy(d);
    }
}
