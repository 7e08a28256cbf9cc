//! The async API on a real Xen host (issue 14), each side measured in the
//! same run: create+destroy as libxl asynchronous operations against the
//! same work through the sync calls, and the time from a shutdown request
//! to the shutdown event delivered against `xl shutdown -w`, which waits on
//! libxl's own events. Its own binary: the async context owns SIGCHLD, and
//! libxl wants one SIGCHLD mode per process. Run with `cargo xtask bench`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use xenlight::AsyncContext;

/// Boots a staying test guest and waits for its marker on the console, so
/// that it answers a shutdown request.
fn booted_guest(rt: &tokio::runtime::Runtime, ctx: &AsyncContext, name: &str) -> xenlight::Domid {
    let cfg = pv_guest(name).cmdline(format!(
        "console=hvc0 rdinit=/init quiet xlmarker={name} xlstay"
    ));
    let domid = rt.block_on(ctx.create_domain(&cfg)).expect("create");
    let log = format!("/var/log/xen/console/guest-{name}.log");
    let marker = format!("@@GUEST-HELLO {name}@@");
    let start = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains(&marker)
    {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{name} did not boot"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The guest's init is in its loop (poweroff handled by /sbin/poweroff).
    std::thread::sleep(Duration::from_millis(500));
    domid
}

fn main() {
    let (rt, ctx) = async_runtime();

    // Create paused + destroy of a PV guest: async operations against the
    // sync calls on the same ctx (from a blocking thread, as documented).
    let async_cfg = pv_guest("bench-async");
    let sync_cfg = pv_guest("bench-sync");
    let (a, s) = compare(
        6,
        1,
        || {
            rt.block_on(async {
                let d = ctx.create_domain_paused(&async_cfg).await.expect("create");
                ctx.destroy(d).await.expect("destroy");
            });
        },
        || {
            let c = ctx.clone();
            let cfg = sync_cfg.clone();
            rt.block_on(rt.spawn_blocking(move || {
                let d = c.context().create_domain_paused(&cfg).expect("create");
                c.context().destroy(d).expect("destroy");
            }))
            .expect("blocking task");
        },
    );
    report(
        "create -p + destroy (PV, 128 MiB)",
        "async",
        &a,
        "sync",
        &s,
        "async-create async/sync",
    );

    // Disk attach + detach on a running guest: asynchronous operations
    // against the sync calls (from a blocking thread), alternating.
    let img = "/tmp/bench-async-disk.img";
    std::fs::write(img, vec![0u8; 1 << 20]).expect("disk image");
    let d = booted_guest(&rt, &ctx, "bench-hotplug");
    let disk = xenlight::Disk::new(img, "xvdb");
    let (a, s) = compare(
        6,
        1,
        || {
            rt.block_on(async {
                ctx.attach_disk(d, &disk).await.expect("attach");
                ctx.detach_disk(d, "xvdb").await.expect("detach");
            });
        },
        || {
            let (c, disk) = (ctx.clone(), disk.clone());
            rt.block_on(rt.spawn_blocking(move || {
                c.context().attach_disk(d, &disk).expect("attach");
                c.context().detach_disk(d, "xvdb").expect("detach");
            }))
            .expect("blocking task");
        },
    );
    report(
        "disk attach + detach (PV guest, running)",
        "async",
        &a,
        "sync",
        &s,
        "async-hotplug async/sync",
    );

    // Save + restore of the same running guest, alternating sides; each
    // restore gives it a new domid.
    let save = "/tmp/bench-async.save";
    let domid = std::cell::Cell::new(d);
    // (8 rounds: with 4, one run's median was 1.155 and the cause unseen.)
    let (a, s) = compare(
        8,
        1,
        || {
            rt.block_on(async {
                ctx.save(domid.get(), save).await.expect("save");
                domid.set(ctx.restore(save).await.expect("restore"));
            });
        },
        || {
            let c = ctx.clone();
            let old = domid.get();
            domid.set(
                rt.block_on(rt.spawn_blocking(move || {
                    c.context().save(old, save).expect("save");
                    c.context().restore(save).expect("restore")
                }))
                .expect("blocking task"),
            );
        },
    );
    let _ = std::fs::remove_file(save);
    let _ = std::fs::remove_file(img);
    rt.block_on(ctx.destroy(domid.get())).expect("destroy");
    report(
        "save + restore (PV, 128 MiB, running)",
        "async",
        &a,
        "sync",
        &s,
        "async-save async/sync",
    );

    // Shutdown request to shutdown event: ours (one event thread feeding
    // the wait) against `xl shutdown -w` (xl waits on libxl's events). Only
    // the request-to-event time is measured, in alternating order; each
    // sample needs a freshly booted guest.
    let (mut ours, mut xl) = (Vec::new(), Vec::new());
    for round in 0..8 {
        for side in [round % 2, 1 - round % 2] {
            let name = format!("bench-ev-{round}-{side}");
            let d = booted_guest(&rt, &ctx, &name);
            let t = Instant::now();
            if side == 0 {
                let why = rt
                    .block_on(ctx.shutdown_and_wait(d, Duration::from_secs(120)))
                    .expect("shutdown");
                ours.push(t.elapsed());
                assert_eq!(why, xenlight::ShutdownReason::Poweroff);
            } else {
                run_quiet("xl", &["shutdown", "-w", &d.to_string()]);
                xl.push(t.elapsed());
            }
            rt.block_on(ctx.destroy(d)).expect("destroy");
        }
    }
    report(
        "shutdown request to event (PV guest powering off)",
        "async",
        &stats(ours),
        "xl shutdown -w",
        &stats(xl),
        "event-latency async/xl",
    );
}
