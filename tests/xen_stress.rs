//! The reliability suite, run by `cargo xtask stress` (these tests are
//! `#[ignore]`d so `vm-test` stays fast). Each asserts its figure, so the
//! command exits non-zero when one does not hold.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use xenlight::{Context, Domid, Error};

#[test]
#[ignore = "reliability suite: cargo xtask stress"]
fn fifty_create_destroy_cycles_leave_nothing_and_rss_stays_flat() {
    let ctx = Context::new().unwrap();
    let cfg = pv_guest(&format!("{PREFIX}cycle"), true);
    let cycle = || {
        let d = ctx.create_domain_paused(&cfg).expect("create");
        ctx.destroy(d).expect("destroy");
        assert!(wait_gone(&ctx, d, Duration::from_secs(30)));
    };
    let start = Instant::now();
    for _ in 0..5 {
        cycle();
    }
    let before = rss_kib();
    for _ in 5..50 {
        cycle();
    }
    let after = rss_kib();
    let growth = after.saturating_sub(before);
    println!(
        "stress: 50 create/destroy cycles in {:.0} s; RSS {before} KiB -> {after} KiB over the last 45 (growth {growth} KiB, limit 1024)",
        start.elapsed().as_secs_f64()
    );
    assert!(growth < 1024, "RSS grew by {growth} KiB");
    let left: Vec<_> = ctx
        .domains()
        .unwrap()
        .into_iter()
        .filter(|d| d.name.as_deref().is_some_and(|n| n.starts_with(PREFIX)))
        .collect();
    assert!(left.is_empty(), "leftover domains: {left:?}");
}

#[test]
#[ignore = "reliability suite: cargo xtask stress"]
fn eight_threads_do_a_thousand_mixed_reads_each() {
    let ctx = Arc::new(Context::new().unwrap());
    let guest = ctx
        .create_domain_paused(&pv_guest(&format!("{PREFIX}reads"), true))
        .unwrap();
    let _guard = DomainGuard {
        ctx: &ctx,
        domid: guest,
    };
    let start = Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let ctx = Arc::clone(&ctx);
            std::thread::spawn(move || {
                for i in 0..1000 {
                    match (i + t) % 6 {
                        0 => assert!(ctx.domains().unwrap().len() >= 2),
                        1 => assert_eq!(ctx.domain_info(guest).unwrap().domid, guest),
                        2 => assert_eq!(ctx.domid_by_name("Domain-0").unwrap(), Domid::DOM0),
                        3 => assert_eq!(
                            ctx.domain_name(Domid::DOM0).unwrap().as_deref(),
                            Some("Domain-0")
                        ),
                        4 => assert!(ctx.physinfo().unwrap().nr_cpus > 0),
                        _ => assert_eq!(ctx.version_info().unwrap().major, 4),
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a reader thread panicked");
    }
    println!(
        "stress: 8 threads x 1000 mixed reads in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

#[test]
#[ignore = "reliability suite: cargo xtask stress"]
fn a_guest_destroyed_while_queried_gives_errors_not_crashes() {
    let ctx = Arc::new(Context::new().unwrap());
    let domid = ctx
        .create_domain(&pv_guest(&format!("{PREFIX}racy"), true))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let not_found = Arc::new(AtomicUsize::new(0));
    let other_errors = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..3)
        .map(|t| {
            let (ctx, stop, nf, oe) = (
                Arc::clone(&ctx),
                Arc::clone(&stop),
                Arc::clone(&not_found),
                Arc::clone(&other_errors),
            );
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    let r = match t {
                        0 => ctx.domain_info(domid).map(|_| ()),
                        1 => ctx.domain_name(domid).map(|_| ()),
                        _ => ctx.pause(domid).and_then(|_| ctx.unpause(domid)),
                    };
                    match r {
                        Ok(()) => {}
                        Err(e) if e.is_domain_not_found() => {
                            nf.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        Err(Error::Libxl { .. }) => {
                            oe.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => panic!("unexpected error kind: {e:?}"),
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    ctx.destroy(domid).unwrap();
    for t in threads {
        t.join().expect("a querying thread panicked");
    }
    stop.store(true, Ordering::SeqCst);
    println!(
        "stress: destroy under 3 querying threads: {} saw not-found, {} transient libxl errors",
        not_found.load(Ordering::SeqCst),
        other_errors.load(Ordering::SeqCst)
    );
    assert_eq!(
        not_found.load(Ordering::SeqCst),
        3,
        "every thread ends on a not-found error"
    );
    assert!(wait_gone(&ctx, domid, Duration::from_secs(30)));
}

/// Issue 14's event-stream test, twenty rounds: each round a consumer of
/// every domain's events beside three threads that create a guest and
/// wait for its shutdown; every shutdown and death arrives exactly once,
/// in order, and no wait times out.
#[test]
#[ignore = "reliability suite: cargo xtask stress"]
fn twenty_rounds_of_one_event_stream_beside_three_waiters() {
    let ctx = Context::new().unwrap();
    let start = Instant::now();
    for round in 0..20 {
        event_stream_round(&ctx, round);
    }
    println!(
        "event stream: 20 rounds x 3 guests, every shutdown and death once, in {:.0} s",
        start.elapsed().as_secs_f64()
    );
}
