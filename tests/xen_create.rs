//! Hypervisor tests: creating PV and PVH guests from the builder and from
//! xl.cfg text, waiting for their shutdown, libxl JSON against `xl -N`, and
//! failures that must leave nothing behind.

mod common;

use std::time::Duration;

use common::*;
use xenlight::{
    Action, Context, DomainConfig, DomainState, DomainType, Domid, Error, ShutdownReason,
};

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
    assert_eq!(listed.name.as_deref(), Some(cfg.name()));
    assert_eq!(listed.domain_type, cfg.domain_type());
    assert_eq!(listed.vcpu_online, cfg.max_vcpus());
    // libxl adds its own slack (video, shadow) on top of maxmem for PVH.
    assert!(
        listed.max_memkb >= cfg.maxmem_kib().or(cfg.memory_kib()).unwrap(),
        "{listed:?}"
    );
    assert!(
        // PVH guests also hold a few pages of firmware tables (ACPI, start info).
        listed.current_memkb <= cfg.memory_kib().unwrap() + 1024
            && listed.current_memkb > cfg.memory_kib().unwrap() / 2,
        "current {} vs configured {}",
        listed.current_memkb,
        cfg.memory_kib().unwrap()
    );
    let reason = ctx
        .wait_for_shutdown(domid, Duration::from_secs(120))
        .expect("wait_for_shutdown");
    assert_eq!(reason, ShutdownReason::Poweroff);
    let info = ctx.domain_info(domid).unwrap();
    assert_eq!(info.state, DomainState::Shutdown(ShutdownReason::Poweroff));
    assert!(
        wait_for_console(
            cfg.name(),
            &protocol::guest_hello(cfg.name()),
            Duration::from_secs(10)
        ),
        "console: {}",
        console_log(cfg.name())
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
    retry_after_triple_fault(|| {
        let ctx = Context::new().unwrap();
        run_to_poweroff(
            &ctx,
            &builder_guest(&format!("{PREFIX}pvh"), DomainType::Pvh),
        );
    });
}

#[test]
fn guests_from_xl_cfg_run_and_power_off() {
    retry_after_triple_fault(|| {
        let ctx = Context::new().unwrap();
        for kind in ["pv", "pvh"] {
            let name = format!("{PREFIX}cfg-{kind}");
            let cfg = DomainConfig::from_xl_cfg(&guest_cfg(&name, kind, false))
                .unwrap()
                .config;
            run_to_poweroff(&ctx, &cfg);
        }
    });
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
            .filter(|d| d.name.as_deref() == Some(cfg.name()))
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
    let cfg = DomainConfig::from_xl_cfg(&guest_cfg(&name, "pv", true))
        .unwrap()
        .config;
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

/// `retry_after_triple_fault` runs a test again only when Xen logged a new
/// guest triple fault: a PVH guest whose kernel triple-faults at once
/// (xtask/assets/triple-fault.S) makes the first run fail, and it is run
/// again; a failure without one is not.
#[test]
fn a_failure_with_a_guest_triple_fault_is_run_again_and_others_are_not() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let runs = AtomicU32::new(0);
    retry_after_triple_fault(|| {
        if runs.fetch_add(1, Ordering::SeqCst) > 0 {
            return;
        }
        let ctx = Context::new().unwrap();
        let kernel = guest_dir().join("triple-fault.elf");
        let cfg = DomainConfig::new(format!("{PREFIX}triple-fault"), DomainType::Pvh)
            .memory_mib(32)
            .vcpus(1)
            .kernel(kernel.to_str().unwrap())
            .on_reboot(Action::Destroy);
        let domid = ctx.create_domain(&cfg).expect("create");
        let _guard = DomainGuard { ctx: &ctx, domid };
        let reason = ctx
            .wait_for_shutdown(domid, Duration::from_secs(60))
            .expect("wait_for_shutdown");
        // Xen's HVM shutdown action for a triple fault is a reboot.
        assert_eq!(reason, ShutdownReason::Reboot);
        panic!("the guest triple-faulted, as it should");
    });
    assert_eq!(runs.load(Ordering::SeqCst), 2, "run again once");

    let runs = AtomicU32::new(0);
    let failed = std::panic::catch_unwind(|| {
        retry_after_triple_fault(|| {
            runs.fetch_add(1, Ordering::SeqCst);
            panic!("a failure of its own");
        })
    });
    assert!(failed.is_err());
    assert_eq!(runs.load(Ordering::SeqCst), 1, "not run again");
}
