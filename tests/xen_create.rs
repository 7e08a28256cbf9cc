//! Hypervisor tests: creating PV and PVH guests from the builder and from
//! xl.cfg text, waiting for their shutdown, libxl JSON against `xl -N`, and
//! failures that must leave nothing behind.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use serde_json::Value;
use xenlight::{Context, DomainConfig, DomainState, DomainType, Domid, Error, ShutdownReason};

fn builder_guest(name: &str, ty: DomainType) -> DomainConfig {
    let g = guest_dir();
    DomainConfig::new(name, ty)
        .memory_mib(128)
        .vcpus(1)
        .kernel(g.join("vmlinux").to_str().unwrap())
        .ramdisk(g.join("guest.cpio.gz").to_str().unwrap())
        .cmdline(format!("console=hvc0 rdinit=/init quiet xlmarker={name}"))
}

/// Starts `cfg`, checks what `domains()` says, waits for the guest's own
/// poweroff, checks its console marker, and destroys it.
fn run_to_poweroff(ctx: &Context, cfg: &DomainConfig) {
    let domid = ctx.create_domain(cfg).expect("create_domain");
    let guard = DomainGuard { ctx, domid };
    let listed = ctx
        .domains()
        .unwrap()
        .into_iter()
        .find(|d| d.domid == domid)
        .expect("listed");
    assert_eq!(listed.name.as_deref(), Some(cfg.name.as_str()));
    assert_eq!(listed.domain_type, cfg.domain_type);
    assert_eq!(listed.vcpu_online, cfg.vcpus);
    // libxl adds its own slack (video, shadow) on top of maxmem for PVH.
    assert!(
        listed.max_memkb >= cfg.maxmem_kib.unwrap_or(cfg.memory_kib),
        "{listed:?}"
    );
    assert!(
        // PVH guests also hold a few pages of firmware tables (ACPI, start info).
        listed.current_memkb <= cfg.memory_kib + 1024 && listed.current_memkb > cfg.memory_kib / 2,
        "current {} vs configured {}",
        listed.current_memkb,
        cfg.memory_kib
    );
    let reason = ctx
        .wait_for_shutdown(domid, Duration::from_secs(120))
        .expect("wait_for_shutdown");
    assert_eq!(reason, ShutdownReason::Poweroff);
    let info = ctx.domain_info(domid).unwrap();
    assert_eq!(info.state, DomainState::Shutdown(ShutdownReason::Poweroff));
    assert!(
        wait_for_console(
            &cfg.name,
            &protocol::guest_hello(&cfg.name),
            Duration::from_secs(10)
        ),
        "console: {}",
        console_log(&cfg.name)
    );
    ctx.destroy(domid).unwrap();
    assert!(wait_gone(ctx, domid, Duration::from_secs(30)));
    drop(guard);
}

#[test]
fn pv_guest_from_builder_runs_and_powers_off() {
    let ctx = Context::new().unwrap();
    run_to_poweroff(&ctx, &builder_guest(&format!("{PREFIX}pv"), DomainType::Pv));
}

#[test]
fn pvh_guest_from_builder_runs_and_powers_off() {
    let ctx = Context::new().unwrap();
    run_to_poweroff(
        &ctx,
        &builder_guest(&format!("{PREFIX}pvh"), DomainType::Pvh),
    );
}

#[test]
fn guests_from_xl_cfg_run_and_power_off() {
    let ctx = Context::new().unwrap();
    for kind in ["pv", "pvh"] {
        let name = format!("{PREFIX}cfg-{kind}");
        let cfg = DomainConfig::from_xl_cfg(&guest_cfg(&name, kind, false)).unwrap();
        run_to_poweroff(&ctx, &cfg);
    }
}

#[test]
fn paused_create_stays_paused_until_unpaused() {
    let ctx = Context::new().unwrap();
    let cfg = builder_guest(&format!("{PREFIX}paused"), DomainType::Pv);
    let domid = ctx.create_domain_paused(&cfg).unwrap();
    let _guard = DomainGuard { ctx: &ctx, domid };
    assert_eq!(ctx.domain_info(domid).unwrap().state, DomainState::Paused);
    // A second domain with the same name is refused, and nothing is left.
    let e = ctx.create_domain(&cfg).unwrap_err();
    assert!(matches!(e, Error::Libxl { .. }), "{e:?}");
    assert_eq!(
        ctx.domains()
            .unwrap()
            .iter()
            .filter(|d| d.name.as_deref() == Some(cfg.name.as_str()))
            .count(),
        1
    );
    ctx.unpause(domid).unwrap();
    assert_eq!(
        ctx.wait_for_shutdown(domid, Duration::from_secs(120))
            .unwrap(),
        ShutdownReason::Poweroff
    );
}

#[test]
fn rejected_config_is_a_typed_error_with_libxl_message_and_leaves_nothing() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}bad");
    let cfg = builder_guest(&name, DomainType::Pv).kernel("/no/such/kernel");
    let e = ctx.create_domain(&cfg).unwrap_err();
    match &e {
        Error::Libxl { op, message, .. } => {
            assert_eq!(*op, "libxl_domain_create_new");
            assert!(
                message.as_deref().is_some_and(|m| !m.is_empty()),
                "no libxl message: {e}"
            );
        }
        other => panic!("expected Error::Libxl, got {other:?}"),
    }
    let xl = run("xl", &["list"]);
    assert!(!xl.contains(&name), "leftover domain:\n{xl}");
    assert!(ctx.domid_by_name(&name).unwrap_err().is_domain_not_found());
}

#[test]
fn wait_for_shutdown_times_out_and_reports_unknown_domains() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}stay");
    let cfg = DomainConfig::from_xl_cfg(&guest_cfg(&name, "pv", true)).unwrap();
    let domid = ctx.create_domain(&cfg).unwrap();
    let _guard = DomainGuard { ctx: &ctx, domid };
    let e = ctx
        .wait_for_shutdown(domid, Duration::from_secs(2))
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(ctx
        .wait_for_shutdown(Domid::new(31_999).unwrap(), Duration::from_secs(1))
        .unwrap_err()
        .is_domain_not_found());
}

/// Flattens JSON into path -> scalar.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| flatten(&format!("{prefix}/{k}"), v, out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| flatten(&format!("{prefix}/{i}"), v, out)),
        scalar => {
            out.insert(prefix.to_owned(), scalar.clone());
        }
    }
}

/// Fields that differ by design between our conversion and xl's: the random
/// UUID; and the vCPU count, which xl leaves to libxl's default (1) when the
/// file has no `vcpus`, while DomainConfig always states it (as 1).
const DIFFERENT_BY_DESIGN: &[(&str, Option<Value>)] = &[
    ("/c_info/uuid", None),
    ("/b_info/max_vcpus", Some(Value::Null)),
    ("/b_info/avail_vcpus/0", Some(Value::Null)),
];

fn by_design(path: &str, xl: Option<&Value>, ours: Option<&Value>) -> bool {
    DIFFERENT_BY_DESIGN.iter().any(|(p, when)| {
        path == *p
            && match when {
                None => true,
                // Only where xl has nothing and ours is the default of one vCPU.
                Some(_) => xl.is_none() && matches!(ours.and_then(Value::as_u64), Some(0 | 1)),
            }
    })
}

#[test]
fn libxl_json_matches_xl_dry_run() {
    let ctx = Context::new().unwrap();
    let g = guest_dir();
    let base = |name: &str, ty: &str| {
        format!(
            "name = \"{name}\"\ntype = \"{ty}\"\nkernel = \"{k}/vmlinuz\"\nramdisk = \"{k}/guest.cpio.gz\"\nmemory = 128\n",
            k = g.display()
        )
    };
    let files = [
        base("j-pv", "pv"),
        base("j-pvh", "pvh"),
        format!("{}vcpus = 2\nmaxmem = 256\n", base("j-mem", "pv")),
        format!("{}extra = \"console=hvc0 quiet\"\nroot = \"/dev/xvda1\"\n", base("j-cmd", "pv")),
        format!("{}cmdline = \"console=hvc0 init=/bin/sh\"\n", base("j-cmdline", "pvh")),
        format!("{}disk = [ '/tmp/a.img,raw,xvda,rw', 'format=raw, vdev=xvdb, access=ro, target=/tmp/b.img' ]\n", base("j-disk", "pv")),
        format!("{}vif = [ 'bridge=xenbr0,mac=00:16:3e:00:00:01', 'script=vif-route,ip=169.254.1.2' ]\n", base("j-vif", "pv")),
        format!("{}on_poweroff = \"preserve\"\non_reboot = \"destroy\"\non_crash = \"coredump-restart\"\n", base("j-on", "pvh")),
        format!("{}uuid = \"12345678-9abc-def0-1122-334455667788\"\n", base("j-uuid", "pv")),
    ];
    let mut failures = Vec::new();
    for (i, text) in files.iter().enumerate() {
        let path = format!("/tmp/json-{i}.cfg");
        std::fs::write(&path, text).unwrap();
        let xl: Value =
            serde_json::from_str(&run("xl", &["-N", "create", &path])).expect("xl -N prints JSON");
        let ours: Value = serde_json::from_str(
            &DomainConfig::from_xl_cfg(text)
                .unwrap()
                .to_libxl_json(&ctx)
                .unwrap(),
        )
        .unwrap();
        let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
        flatten("", &xl, &mut a);
        flatten("", &ours, &mut b);
        for k in a
            .keys()
            .chain(b.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            if by_design(k, a.get(k), b.get(k)) {
                continue;
            }
            if a.get(k) != b.get(k) {
                failures.push(format!(
                    "file {i}: {k}: xl {:?} ours {:?}",
                    a.get(k),
                    b.get(k)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
