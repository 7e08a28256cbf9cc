//! Hypervisor regression tests for the defects a code review found (issue
//! 11); each failed before its fix.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;
use xenlight::{sys, Context, DomainType, Domid, Nic};

/// Defect 1: libxl fills `ctx->version_info` lazily and without a lock, so
/// the first calls from two threads raced, each filling the struct with its
/// own allocated strings (one set leaked). `Context::new` now fills it before
/// the ctx can be shared: a later call allocates nothing, so there is
/// nothing left to race on.
#[test]
fn version_info_is_filled_before_the_context_is_shared() {
    // Bytes in use by malloc, all arenas.
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let in_use = || unsafe { libc::mallinfo2() }.uordblks;
    for round in 0..20 {
        let ctx = Arc::new(Context::new().unwrap());
        let before = in_use();
        // SAFETY: the ctx is alive for the call; the result is not read.
        let first = unsafe { sys::libxl_get_version_info(ctx.as_raw()) };
        let after = in_use();
        assert_eq!(
            after,
            before,
            "round {round}: the first libxl_get_version_info call allocated {} bytes: \
             the cache was not filled by Context::new",
            after.wrapping_sub(before)
        );
        // And threads racing on it all see the one cached copy.
        let start = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (ctx, start) = (Arc::clone(&ctx), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    // SAFETY: as above; the pointer is only compared.
                    unsafe { sys::libxl_get_version_info(ctx.as_raw()) as usize }
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), first as usize);
        }
        assert_eq!(ctx.version_info().unwrap().major, 4);
    }
}

/// Defect 2: an id past Xen's 16 bits used to reach libxl and act on
/// another domain (65537 paused domain 1). Such ids cannot be made now,
/// and the guest they would alias is untouched.
#[test]
fn out_of_range_domids_never_reach_libxl() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}review-domid");
    let domid = ctx.create_domain(&pv_guest(&name, true)).unwrap();
    let _guard = DomainGuard { ctx: &ctx, domid };
    let alias = 65536 + domid.get();
    assert!(Domid::try_from(alias).is_err());
    assert!(ctx.find_domain(&alias.to_string()).is_err());
    assert!(ctx.find_domain("65536").is_err(), "65536 is not Domain-0");
    assert!(!ctx.domain_info(domid).unwrap().paused);
}

/// Defect 3: listing read libxl's stored config for every HVM-container
/// domain to tell PVH from HVM. The type now comes from xenstore, as libxl
/// reads it; a listing of PVH guests says PVH, and says it from xenstore.
#[test]
fn pvh_guests_are_listed_as_pvh_from_xenstore() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}review-pvh");
    let cfg = guest_of_type(&name, DomainType::Pvh, true);
    let domid = ctx.create_domain_paused(&cfg).unwrap();
    let _guard = DomainGuard { ctx: &ctx, domid };
    let path = format!("/libxl/{domid}/type");
    assert_eq!(run("xenstore-read", &[&path]).trim(), "pvh");
    let listed = ctx.domains().unwrap();
    let d = listed.iter().find(|d| d.domid == domid).unwrap();
    assert_eq!(d.domain_type, DomainType::Pvh);
    // The listing follows xenstore, not the stored config.
    run("xenstore-write", &[&path, "hvm"]);
    assert_eq!(ctx.domain_info(domid).unwrap().domain_type, DomainType::Hvm);
    run("xenstore-write", &[&path, "pvh"]);
}

/// Defect 11: a domain without a name was reported as not found, and a
/// name that is not UTF-8 could not be looked up.
#[test]
fn nameless_and_non_utf8_names_are_told_apart_from_missing_domains() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}review-name");
    let domid = ctx.create_domain_paused(&pv_guest(&name, true)).unwrap();
    let _guard = DomainGuard { ctx: &ctx, domid };
    let odd: &[u8] = b"xlt-caf\xe9";
    let old = std::ffi::CString::new(name.clone()).unwrap();
    let new = std::ffi::CString::new(odd).unwrap();
    // SAFETY: live ctx; both names NUL-terminated for the call.
    let rc =
        unsafe { sys::libxl_domain_rename(ctx.as_raw(), domid.get(), old.as_ptr(), new.as_ptr()) };
    assert_eq!(rc, 0);
    assert_eq!(ctx.domain_name_bytes(domid).unwrap().as_deref(), Some(odd));
    assert_eq!(ctx.domid_by_name_bytes(odd).unwrap(), domid);
    run("xenstore-rm", &[&format!("/local/domain/{domid}/name")]);
    assert_eq!(ctx.domain_name(domid).unwrap(), None);
    let missing = Domid::new(31_999).unwrap();
    assert!(ctx.domain_name(missing).unwrap_err().is_domain_not_found());
}

/// Defect 12: after a failed NIC attach, the cleanup removed every NIC that
/// had appeared since it started, including one another thread attached at
/// the same time. Now it removes only the devid libxl chose for it.
#[test]
fn failed_nic_attach_leaves_a_concurrent_callers_nic_alone() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}review-nic");
    let guard = booted_guest(&ctx, &name);
    let domid = guard.domid;
    for round in 0..3 {
        let start = Barrier::new(2);
        let (bad, good) = std::thread::scope(|s| {
            let bad = s.spawn(|| {
                start.wait();
                ctx.attach_nic(domid, &Nic::bridged("nosuchbr0"))
            });
            let good = s.spawn(|| {
                start.wait();
                // Start while the failing attach runs its hotplug script.
                std::thread::sleep(Duration::from_millis(200));
                ctx.attach_nic(domid, &Nic::bridged("xenbr0"))
            });
            (bad.join().unwrap(), good.join().unwrap())
        });
        assert!(
            bad.is_err(),
            "round {round}: attaching to a missing bridge succeeded"
        );
        let devid = good.expect("attach to xenbr0");
        let nics = ctx.nics(domid).unwrap();
        assert!(
            nics.iter().any(|n| n.devid == Some(devid)),
            "round {round}: the concurrent caller's nic {devid} was removed: {nics:?}"
        );
        ctx.detach_nic(domid, devid).unwrap();
    }
}
