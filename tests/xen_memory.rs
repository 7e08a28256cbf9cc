//! Memory admission like xl's autoballoon. In the usual Xen host (dom0 has
//! a fixed `dom0_mem`) a guest larger than free memory is refused with the
//! shortfall; in the host booted without `dom0_mem` (`cargo xtask vm-test
//! --no-dom0-mem balloon`, part of `cargo xtask test`) dom0 holds all
//! memory and creating a 512 MiB guest balloons it down, as `xl create`
//! does there.

mod common;

use std::time::Duration;

use common::*;
use xenlight::{Autoballoon, Context, Error};

fn dom0_mem_fixed(ctx: &Context) -> bool {
    ctx.version_info()
        .unwrap()
        .commandline
        .split_whitespace()
        .any(|w| w.starts_with("dom0_mem="))
}

fn guest(name: &str, mib: u64) -> xenlight::DomainConfig {
    pv_guest(&format!("{PREFIX}{name}"), true).memory_mib(mib)
}

#[test]
fn balloon_refuses_a_guest_larger_than_free_memory_when_off_and_leaves_nothing() {
    let ctx = Context::new().unwrap();
    ctx.set_autoballoon(Autoballoon::Off);
    let free_mib = ctx.free_memory_kib().unwrap() / 1024;
    let before = ctx.domains().unwrap().len();
    let e = ctx
        .create_domain(&guest("mem-big", free_mib + 256))
        .expect_err("does not fit");
    match &e {
        Error::InsufficientMemory {
            need_mib,
            free_mib: free,
            ballooned,
            ..
        } => {
            assert!(*need_mib > free_mib + 256, "{e}");
            assert!(*free <= free_mib + 64, "{e}");
            assert!(!ballooned);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("MiB"), "{e}");
    assert_eq!(
        ctx.domains().unwrap().len(),
        before,
        "something was left behind"
    );
}

#[test]
fn balloon_dom0_down_to_create_a_512_mib_guest_where_dom0_holds_all_memory() {
    let ctx = Context::new().unwrap();
    if dom0_mem_fixed(&ctx) {
        println!("skipped: this Xen host fixes dom0_mem (run with --no-dom0-mem)");
        assert!(
            !ctx.autoballoon_active(),
            "Auto is off where dom0_mem is fixed"
        );
        return;
    }
    assert!(ctx.autoballoon_active(), "Auto is on without dom0_mem");
    let free = ctx.free_memory_kib().unwrap() / 1024;
    assert!(
        free < 512,
        "dom0 should hold nearly everything, {free} MiB free"
    );
    let dom0_before = ctx.memory_target(xenlight::Domid::new(0).unwrap()).unwrap();
    // Off: the same guest is refused with the shortfall, nothing left.
    ctx.set_autoballoon(Autoballoon::Off);
    let before = ctx.domains().unwrap().len();
    assert!(matches!(
        ctx.create_domain(&guest("mem-512-off", 512)),
        Err(Error::InsufficientMemory { .. })
    ));
    assert_eq!(ctx.domains().unwrap().len(), before);
    // Auto: dom0 is ballooned down and the guest starts.
    ctx.set_autoballoon(Autoballoon::Auto);
    let name = format!("{PREFIX}mem-512");
    let domid = ctx
        .create_domain(&guest("mem-512", 512))
        .expect("create by ballooning");
    let _guard = DomainGuard { ctx: &ctx, domid };
    assert!(
        wait_for_console(
            &name,
            &protocol::guest_hello(&name),
            Duration::from_secs(120)
        ),
        "{}",
        console_log(&name)
    );
    let dom0_after = ctx.memory_target(xenlight::Domid::new(0).unwrap()).unwrap();
    // Down by at least the shortfall (what the guest needs beyond what
    // was free).
    assert!(
        dom0_before - dom0_after >= (512 - free) * 1024,
        "dom0 {dom0_before} -> {dom0_after} KiB with {free} MiB free before"
    );
}
