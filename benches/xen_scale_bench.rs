//! The crate at scale (issue 28): listing, lookups and configs among N
//! paused guests (N = 1, 10, 50, 100, 200, PV and PVH by turns), safe
//! against raw libxl at each N, and the creation of many guests at once
//! through `AsyncContext` against the same one after another and against
//! as many `xl create -p` run side by side. The guests run xtask's idle
//! kernel (xtask/assets/idle-guest.S: a few hundred bytes), so what grows
//! with N is the hypervisor's and xenstore's work, not image copies.
//! Run with `cargo xtask bench --scale` (a host with the memory for 200
//! guests of 32 MiB).

mod common;

use std::ffi::CString;
use std::time::{Duration, Instant};

use common::*;
use xenlight::{AsyncContext, DomainConfig, DomainType, Domid};

/// The guest counts measured at.
const COUNTS: [usize; 5] = [1, 10, 50, 100, 200];

/// Each guest's memory: the idle kernel needs a few pages of it.
const GUEST_MIB: u64 = 32;

/// How many guests the creation comparison makes at once.
const CREATE: usize = 50;

fn name(i: usize) -> String {
    format!("scale-{i:03}")
}

/// Even guests are PV, odd ones PVH.
fn domain_type(i: usize) -> DomainType {
    if i % 2 == 0 {
        DomainType::Pv
    } else {
        DomainType::Pvh
    }
}

fn idle_kernel() -> String {
    guest_dir().join("idle-guest.elf").display().to_string()
}

fn guest(i: usize) -> DomainConfig {
    DomainConfig::new(name(i), domain_type(i))
        .memory_mib(GUEST_MIB)
        .kernel(idle_kernel())
}

/// The same guest as an xl.cfg file.
fn xl_cfg(i: usize) -> String {
    let path = format!("/tmp/scale-xl-{i:03}.cfg");
    let ty = match domain_type(i) {
        DomainType::Pv => "pv",
        _ => "pvh",
    };
    std::fs::write(
        &path,
        format!(
            "name = \"{}\"\ntype = \"{ty}\"\nkernel = \"{}\"\nmemory = {GUEST_MIB}\nvcpus = 1\n",
            name(i),
            idle_kernel()
        ),
    )
    .expect("writing an xl.cfg");
    path
}

/// Creates guests `from..to` paused, all at once.
async fn create_concurrently(ctx: &AsyncContext, from: usize, to: usize) -> Vec<Domid> {
    let mut set = tokio::task::JoinSet::new();
    for i in from..to {
        let (c, cfg) = (ctx.clone(), guest(i));
        set.spawn(async move { c.create_domain_paused(&cfg).await });
    }
    let mut made = Vec::new();
    while let Some(r) = set.join_next().await {
        made.push(r.expect("a create task").expect("create_domain_paused"));
    }
    made
}

/// Destroys every guest of this bench, all at once.
async fn destroy_all(ctx: &AsyncContext) {
    let doomed: Vec<Domid> = ctx
        .context()
        .domains()
        .expect("domains")
        .into_iter()
        .filter(|d| d.name.as_deref().is_some_and(|n| n.starts_with("scale-")))
        .map(|d| d.domid)
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for d in doomed {
        let c = ctx.clone();
        set.spawn(async move { c.destroy(d).await });
    }
    while let Some(r) = set.join_next().await {
        r.expect("a destroy task").expect("destroy");
    }
}

/// Rounds and calls per round that keep one comparison near a few
/// seconds whatever the cost of one call.
fn rounds_for(per_call: Duration) -> (usize, u32) {
    let per_round = (Duration::from_millis(40).as_secs_f64() / per_call.as_secs_f64().max(1e-6))
        .clamp(1.0, 200.0) as u32;
    (30, per_round)
}

fn once(f: &mut dyn FnMut()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

/// A comparison at one N: safe and raw in alternating rounds.
fn line(
    n: usize,
    what: &str,
    tag: &str,
    mut safe: impl FnMut(),
    mut raw: impl FnMut(),
) -> (f64, Duration) {
    let (rounds, per) = rounds_for(once(&mut safe));
    let (s, r) = compare(rounds, per, &mut safe, &mut raw);
    report(
        &format!("N={n} {what}"),
        "safe",
        &s,
        "raw",
        &r,
        &format!("{tag}@{n} safe/raw"),
    );
    (s.median.as_secs_f64() / r.median.as_secs_f64(), s.median)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ctx = rt
        .block_on(async { AsyncContext::new() })
        .expect("AsyncContext");
    let sync = ctx.context();
    let raw = Raw::new();
    rt.block_on(destroy_all(&ctx));

    // Room for the largest N: each guest costs its memory and a little of
    // the hypervisor's for its page tables.
    let free_mib = sync.free_memory_kib().expect("free memory") / 1024;
    let room = (free_mib / (GUEST_MIB + 2)) as usize;
    println!("scale: {free_mib} MiB free, room for {room} guests of {GUEST_MIB} MiB");

    let mut worst: Option<(f64, String)> = None;
    let mut per_domain = Vec::new();
    let mut have = 0;
    for n in COUNTS {
        if n > room {
            println!("SKIPPED: N={n}: room for {room} guests only (cargo xtask bench --scale sizes the host)");
            continue;
        }
        let t = Instant::now();
        rt.block_on(create_concurrently(&ctx, have, n));
        println!(
            "N={n}: created guests {have}..{n} in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        have = n;
        let last = sync.domid_by_name(&name(n - 1)).expect("the last guest");
        let last_c = CString::new(name(n - 1)).expect("a name");
        let mut ratios = Vec::new();

        let (ratio, median) = line(
            n,
            "domains()",
            "scale-list",
            || assert_eq!(sync.domains().unwrap().len(), n + 1),
            || assert_eq!(raw.list(), n + 1),
        );
        ratios.push((ratio, format!("domains()@{n}")));
        let each = median / (n as u32 + 1);
        per_domain.push((n, each));
        println!(
            "N={n} domains() per domain: {} ({} domains)",
            fmt(each),
            n + 1
        );
        let (ratio, _) = line(
            n,
            "domain_info(domid) of one guest",
            "scale-info-id",
            || assert!(sync.domain_info(last).unwrap().max_memkb > 0),
            || assert!(raw.info(last) > 0),
        );
        ratios.push((ratio, format!("domain_info(domid)@{n}")));
        let (ratio, _) = line(
            n,
            "domain_info(name) of one guest",
            "scale-info-name",
            || assert!(sync.domain_info(name(n - 1)).unwrap().max_memkb > 0),
            || assert!(raw.info_by_name(&last_c) > 0),
        );
        ratios.push((ratio, format!("domain_info(name)@{n}")));
        let (ratio, _) = line(
            n,
            "domain_config(domid) of one guest",
            "scale-config",
            || assert!(sync.domain_config(last).is_ok()),
            || assert!(raw.config(last) > 0),
        );
        ratios.push((ratio, format!("domain_config@{n}")));
        if n == *COUNTS.last().unwrap_or(&0) {
            worst = ratios.into_iter().max_by(|a, b| a.0.total_cmp(&b.0));
        }
    }
    rt.block_on(destroy_all(&ctx));

    // Creation: CREATE guests at once through the async API, the same one
    // after another, and CREATE `xl create -p` processes side by side.
    let count = CREATE.min(room);
    let t = Instant::now();
    rt.block_on(create_concurrently(&ctx, 0, count));
    let concurrent = t.elapsed();
    rt.block_on(destroy_all(&ctx));
    let t = Instant::now();
    rt.block_on(async {
        for i in 0..count {
            ctx.create_domain_paused(&guest(i)).await.expect("create");
        }
    });
    let sequential = t.elapsed();
    rt.block_on(destroy_all(&ctx));
    let cfgs: Vec<String> = (0..count).map(xl_cfg).collect();
    let t = Instant::now();
    let children: Vec<_> = cfgs
        .iter()
        .map(|c| {
            std::process::Command::new("xl")
                .args(["create", "-p", "-q", c])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("xl create")
        })
        .collect();
    for mut c in children {
        let st = c.wait().expect("xl create");
        assert!(st.success(), "xl create -p: {st}");
    }
    let xl = t.elapsed();
    rt.block_on(destroy_all(&ctx));
    let rate = |d: Duration| count as f64 / d.as_secs_f64();
    println!(
        "create {count} paused guests: async concurrent {:.1} s ({:.1} guests/s) | async one after another {:.1} s ({:.1} guests/s) | {count} xl create -p side by side {:.1} s ({:.1} guests/s) | ratio scale-create concurrent/xl: {:.3} | ratio scale-create concurrent/sequential: {:.3}",
        concurrent.as_secs_f64(),
        rate(concurrent),
        sequential.as_secs_f64(),
        rate(sequential),
        xl.as_secs_f64(),
        rate(xl),
        concurrent.as_secs_f64() / xl.as_secs_f64(),
        concurrent.as_secs_f64() / sequential.as_secs_f64(),
    );

    if let Some((ratio, what)) = worst {
        println!(
            "scale: the worst safe/raw ratio at N={}: {ratio:.3} ({what})",
            COUNTS[4]
        );
    }
    let at = |n: usize| per_domain.iter().find(|p| p.0 == n).map(|p| p.1);
    if let (Some(small), Some(large)) = (at(10), at(COUNTS[4])) {
        println!(
            "scale: domains() per domain at N={}: {} against {} at N=10: {:.3}x",
            COUNTS[4],
            fmt(large),
            fmt(small),
            large.as_secs_f64() / small.as_secs_f64()
        );
    }
}
