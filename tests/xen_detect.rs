//! Hypervisor tests of the guest-environment probe: in dom0, and inside a
//! PV guest (its initrd runs the xen-detect example and prints the result on
//! its console).

mod common;

use std::time::Duration;

use common::*;
use xenlight::{Context, DomainType, GuestEnvironment, GuestMode, XenRole};

#[test]
fn dom0_is_detected_as_dom0_pv() {
    let env = GuestEnvironment::detect();
    assert_eq!(
        (env.role, env.mode),
        (XenRole::Dom0, Some(GuestMode::Pv)),
        "{env:?}"
    );
    let out = run(examples_dir().join("xen-detect").to_str().unwrap(), &[]);
    let xen = format!("4.{}", release::built_minor());
    assert!(
        out.contains(&format!("role=dom0 mode=pv xen={xen}")),
        "{out}"
    );
}

fn detect_in_guest(kind: &str, ty: DomainType) -> String {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}detect-{kind}");
    let cfg = xenlight::DomainConfig::from_xl_cfg(&guest_cfg(&name, kind, false))
        .unwrap()
        .config;
    assert_eq!(cfg.domain_type(), ty);
    let domid = ctx.create_domain(&cfg).unwrap();
    let _guard = DomainGuard { ctx: &ctx, domid };
    ctx.wait_for_shutdown(domid, Duration::from_secs(120))
        .unwrap();
    assert!(wait_for_console(
        &name,
        "@@GUEST-DETECT-END@@",
        Duration::from_secs(10)
    ));
    let log = console_log(&name);
    let start = log.find("@@GUEST-DETECT-BEGIN@@").expect("probe output");
    log[start..].to_owned()
}

#[test]
fn pv_guest_is_detected_as_domu_pv() {
    let out = detect_in_guest("pv", DomainType::Pv);
    assert!(out.contains("role=domU mode=pv "), "{out}");
}

#[test]
fn pvh_guest_is_detected_as_domu_pvh() {
    retry_after_triple_fault(|| {
        let out = detect_in_guest("pvh", DomainType::Pvh);
        assert!(out.contains("role=domU mode=pvh "), "{out}");
    });
}
