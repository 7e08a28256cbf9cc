//! Hypervisor tests of what only Xen 4.20 has: at least one per
//! `LIBXL_HAVE_*` flag 4.20 adds over 4.17 that an x86 dom0 can reach
//! (README, "Xen releases"). The fields come from the generated types,
//! gated on `xen_4_20`; built against Xen 4.17 this file is empty.
#![cfg(xen_4_20)]

mod common;

use common::*;
use xenlight::types::{self, DomainBuildInfoTypeUnion as Arm};
use xenlight::{Context, Disk, DomainConfig, DomainType, Error};

/// Creates `cfg`, reads its stored config back and destroys it.
fn create_and_read_back(ctx: &Context, cfg: &DomainConfig) -> types::DomainConfig {
    let domid = ctx.create_domain(cfg).expect("create_domain");
    let _guard = DomainGuard { ctx, domid };
    ctx.domain_config(domid).expect("domain_config").libxl
}

/// A headless HVM guest with its arm set by `edit`.
fn hvm_guest(name: &str, edit: impl FnOnce(&mut types::DomainBuildInfoTypeHvm)) -> DomainConfig {
    let mut cfg = direct_boot_guest(name, DomainType::Hvm);
    let mut h = types::DomainBuildInfoTypeHvm::default();
    headless(&mut h);
    edit(&mut h);
    cfg.libxl.b_info.type_ = Arm::Hvm(h);
    cfg
}

fn hvm_arm(c: &types::DomainConfig) -> &types::DomainBuildInfoTypeHvm {
    match &c.b_info.type_ {
        Arm::Hvm(h) => h,
        other => panic!("the HVM arm came back as {other:?}"),
    }
}

/// `LIBXL_HAVE_BOOTLOADER_RESTRICT`.
#[test]
fn v420_bootloader_restrict_and_user_are_kept_by_a_created_domain() {
    let ctx = Context::new().unwrap();
    let mut cfg = pv_guest(&format!("{PREFIX}v420-boot"), false);
    cfg.libxl.b_info.bootloader_restrict = Some(true);
    cfg.libxl.b_info.bootloader_user = Some("nobody".into());
    let back = create_and_read_back(&ctx, &cfg);
    assert_eq!(back.b_info.bootloader_restrict, Some(true));
    assert_eq!(back.b_info.bootloader_user.as_deref(), Some("nobody"));
}

/// `LIBXL_HAVE_BUILDINFO_HVM_SMBIOS` and `LIBXL_HAVE_HVM_PIRQ`.
#[test]
fn v420_hvm_smbios_strings_and_pirq_are_kept_by_a_created_hvm_domain() {
    if !device_model_available("v420_hvm_smbios_strings_and_pirq_are_kept_by_a_created_hvm_domain")
    {
        return;
    }
    let ctx = Context::new().unwrap();
    let smbios = vec![
        types::Smbios {
            key: types::SmbiosType::SystemManufacturer,
            value: Some("xenlight".into()),
        },
        types::Smbios {
            key: types::SmbiosType::SystemSerialNumber,
            value: Some("issue-16".into()),
        },
    ];
    let cfg = hvm_guest("v420-smbios", |h| {
        h.smbios = smbios.clone();
        h.pirq = Some(false);
    });
    let back = create_and_read_back(&ctx, &cfg);
    let h = hvm_arm(&back);
    assert_eq!(h.smbios, smbios);
    assert_eq!(h.pirq, Some(false));
}

/// `LIBXL_HAVE_DISK_GRANT_USAGE`.
#[test]
fn v420_a_disks_grant_usage_is_kept_by_a_created_domain() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}v420-disk");
    let img = format!("/tmp/{name}.img");
    std::fs::write(&img, vec![0u8; 1 << 20]).unwrap();
    let mut cfg = pv_guest(&name, false).disk(Disk::new(&img, "xvdb"));
    // One model: the builder's disk is the model's, set in place.
    cfg.libxl.disks[0].grant_usage = Some(true);
    let back = create_and_read_back(&ctx, &cfg);
    let d = back
        .disks
        .iter()
        .find(|d| d.vdev.as_deref() == Some("xvdb"))
        .expect("the disk is read back");
    assert_eq!(d.grant_usage, Some(true));
    assert_eq!(d.pdev_path.as_deref(), Some(img.as_str()));
}

/// `LIBXL_HAVE_XEN_9PFS`: a 9pfs share served by Xen's own `xen-9pfsd`.
#[test]
fn v420_a_xen_9pfsd_share_is_kept_by_a_created_domain() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}v420-9p");
    let dir = format!("/tmp/{name}");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cfg = pv_guest(&name, false);
    cfg.libxl.p9s.push(types::DeviceP9 {
        tag: Some("share".into()),
        path: Some(dir.clone()),
        security_model: Some("none".into()),
        type_: types::P9Type::Xen9pfsd,
        max_files: 64,
        max_open_files: 16,
        max_space: 1,
        auto_delete: true,
        ..Default::default()
    });
    let back = create_and_read_back(&ctx, &cfg);
    let p = back.p9s.first().expect("the share is read back");
    assert_eq!(p.type_, types::P9Type::Xen9pfsd);
    assert_eq!(p.path.as_deref(), Some(dir.as_str()));
    assert_eq!((p.max_files, p.max_open_files), (64, 16));
}

/// `LIBXL_HAVE_P9_ADD`: a share added to a running domain lands in
/// Xenstore where its backend reads it; a missing domain is a typed error.
#[test]
fn v420_add_9pfs_writes_a_running_domains_share_and_refuses_a_missing_domain() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}v420-9padd");
    let dir = format!("/tmp/{name}");
    std::fs::create_dir_all(&dir).unwrap();
    let domid = ctx
        .create_domain(&pv_guest(&name, true))
        .expect("create_domain");
    let _guard = DomainGuard { ctx: &ctx, domid };
    let share = types::DeviceP9 {
        tag: Some("added".into()),
        path: Some(dir.clone()),
        security_model: Some("none".into()),
        type_: types::P9Type::Xen9pfsd,
        ..Default::default()
    };
    ctx.add_9pfs(domid, &share).expect("add_9pfs");
    // The backend reads the path; the frontend (the guest) the tag.
    let fe = format!("/local/domain/{domid}/device/9pfs/0");
    let be = run("xenstore-read", &[&format!("{fe}/backend")])
        .trim()
        .to_owned();
    assert_eq!(run("xenstore-read", &[&format!("{be}/path")]).trim(), dir);
    assert_eq!(
        run("xenstore-read", &[&format!("{fe}/tag")]).trim(),
        "added"
    );
    let gone = xenlight::Domid::new(32000).unwrap();
    assert!(
        matches!(
            ctx.add_9pfs(gone, &share),
            Err(Error::DomainNotFound { .. })
        ),
        "a missing domain"
    );
}

/// `LIBXL_HAVE_CONSOLE_ADD_XENSTORE`: a domain's console entries, taken
/// away, are written back from its event channel and ring frame.
#[test]
fn v420_console_add_xenstore_writes_a_domains_console_entries_back() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}v420-cons");
    let domid = ctx
        .create_domain_paused(&pv_guest(&name, true))
        .expect("create_domain_paused");
    let _guard = DomainGuard { ctx: &ctx, domid };
    let node = format!("/local/domain/{domid}/console");
    let port: u32 = run("xenstore-read", &[&format!("{node}/port")])
        .trim()
        .parse()
        .unwrap();
    let ring: u64 = run("xenstore-read", &[&format!("{node}/ring-ref")])
        .trim()
        .parse()
        .unwrap();
    run("xenstore-rm", &[&format!("{node}/port")]);
    run("xenstore-rm", &[&format!("{node}/ring-ref")]);
    let dom0 = xenlight::Domid::new(0).unwrap();
    ctx.console_add_xenstore(domid, dom0, port, ring)
        .expect("console_add_xenstore");
    assert_eq!(
        run("xenstore-read", &[&format!("{node}/port")]).trim(),
        port.to_string()
    );
    assert_eq!(
        run("xenstore-read", &[&format!("{node}/ring-ref")]).trim(),
        ring.to_string()
    );
}

/// `LIBXL_HAVE_CONSOLE_ESCAPE_CHARACTER`: the console example hands its
/// terminal to xenconsole with `Ctrl-B` as the escape; `Ctrl-]` (the
/// default) then goes to the guest, and `Ctrl-B` detaches.
#[test]
fn v420_console_exec_detaches_on_its_own_escape_character() {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    use std::time::{Duration, Instant};
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}v420-exec");
    let _guard = booted_guest(&ctx, &name);
    // xenconsole reads keys only from a terminal: give it a pty.
    let (mut m, mut s) = (-1, -1);
    // SAFETY: valid out-pointers; NULL name, termios and winsize.
    let r = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: fresh descriptors, each owned once.
    let (mut master, slave) =
        unsafe { (std::fs::File::from_raw_fd(m), std::fs::File::from_raw_fd(s)) };
    let mut child = std::process::Command::new(examples_dir().join("console"))
        .args([name.as_str(), "-x", "-e", "^b"])
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave)
        .spawn()
        .unwrap();
    // Keep what xenconsole prints (it must never block on a full pty).
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (mut reader, sink) = (master.try_clone().unwrap(), seen.clone());
    std::thread::spawn(move || {
        use std::io::Read;
        let mut b = [0u8; 1024];
        while let Ok(n @ 1..) = reader.read(&mut b) {
            sink.lock().unwrap().extend_from_slice(&b[..n]);
        }
    });
    let printed = || String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    std::thread::sleep(Duration::from_secs(2));
    master.write_all(&[0x1d]).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    if let Some(st) = child.try_wait().unwrap() {
        panic!(
            "the console client ended ({st}) before Ctrl-B: {:?}",
            printed()
        );
    }
    // Each Ctrl-B on its own: xenconsole detaches on a read of that byte alone.
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "Ctrl-B did not detach"
        );
        master.write_all(&[0x02]).unwrap();
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(status.success(), "xenconsole: {status}");
}

/// `LIBXL_HAVE_DT_OVERLAY_DOMAIN`: libxl.h defines the flag on every
/// architecture, but x86's libxenlight does not export
/// `libxl_dt_overlay_domain` (device-tree overlays are Arm's), so the crate
/// cannot bind it here. This notices the day x86's library has it.
#[cfg(target_arch = "x86_64")]
#[test]
fn v420_dt_overlay_domain_is_not_exported_by_x86s_libxenlight() {
    // SAFETY: dlsym on the process's loaded libraries with NUL-terminated names.
    let sym = |n: &std::ffi::CStr| unsafe { libc::dlsym(libc::RTLD_DEFAULT, n.as_ptr()) };
    assert!(
        !sym(c"libxl_device_9pfs_add").is_null(),
        "libxenlight 4.20 is loaded"
    );
    assert!(sym(c"libxl_dt_overlay_domain").is_null());
}

/// `LIBXL_HAVE_PHYSINFO_ARCH_CAPABILITIES`: the field carries Arm's SVE
/// vector length, so an x86 host reports 0.
#[test]
fn v420_physinfo_arch_capabilities_are_zero_on_an_x86_host() {
    let ctx = Context::new().unwrap();
    let safe = ctx.physinfo().unwrap().arch_capabilities;
    assert_eq!(safe, 0, "x86 has no SVE");
}

/// Creates a PV guest with an Arm-only field set: its stored config, or
/// the error (and then no domain of that name is left).
fn arm_only(
    ctx: &Context,
    name: &str,
    edit: impl FnOnce(&mut types::DomainBuildInfo),
) -> Result<types::DomainConfig, Error> {
    let name = format!("{PREFIX}{name}");
    let mut cfg = pv_guest(&name, false);
    edit(&mut cfg.libxl.b_info);
    match ctx.create_domain(&cfg) {
        Ok(domid) => {
            let _guard = DomainGuard { ctx, domid };
            Ok(ctx.domain_config(domid).expect("domain_config").libxl)
        }
        Err(e) => {
            assert!(
                ctx.domid_by_name(&name).is_err(),
                "{name} was left behind after {e}"
            );
            Err(e)
        }
    }
}

/// `LIBXL_HAVE_BUILDINFO_LLC_COLORS`: cache colouring needs a hypervisor
/// built with it (Arm only); this one refuses, and libxl's reason arrives
/// in the typed error.
#[test]
fn v420_llc_colors_are_a_typed_error_without_llc_coloring_and_leave_no_domain() {
    let ctx = Context::new().unwrap();
    match arm_only(&ctx, "v420-llc", |b| b.llc_colors = vec![0, 1]) {
        Err(Error::Libxl {
            message: Some(m), ..
        }) => {
            assert!(m.contains("LLC coloring not enabled"), "{m}")
        }
        other => panic!("expected libxl's refusal, got {other:?}"),
    }
}

/// `LIBXL_HAVE_BUILDINFO_ARCH_ARM_SVE_VL`: stored (x86 ignores Arm's part).
#[test]
fn v420_arm_sve_vector_length_is_kept_by_a_created_domain() {
    let ctx = Context::new().unwrap();
    let back = arm_only(&ctx, "v420-sve", |b| {
        b.arch_arm.sve_vl = types::SveType::V128
    })
    .unwrap();
    assert_eq!(back.b_info.arch_arm.sve_vl, types::SveType::V128);
}

/// `LIBXL_HAVE_BUILDINFO_ARCH_NR_SPIS`: stored (x86 ignores Arm's part).
#[test]
fn v420_arm_nr_spis_is_kept_by_a_created_domain() {
    let ctx = Context::new().unwrap();
    let back = arm_only(&ctx, "v420-spis", |b| b.arch_arm.nr_spis = 32).unwrap();
    assert_eq!(back.b_info.arch_arm.nr_spis, 32);
}

/// `LIBXL_HAVE_BUILDINFO_ARCH_ARM_TEE_FFA`: the new TEE value is stored.
#[test]
fn v420_tee_ffa_is_kept_by_a_created_domain() {
    let ctx = Context::new().unwrap();
    let back = arm_only(&ctx, "v420-tee", |b| b.tee = types::TeeType::Ffa).unwrap();
    assert_eq!(back.b_info.tee, types::TeeType::Ffa);
}
