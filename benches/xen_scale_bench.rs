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

use std::collections::HashMap;
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

/// How long the idle supervisors are watched.
const IDLE: Duration = Duration::from_secs(60);

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

/// Creates guests `guests` paused, with at most `width` creations in
/// flight at a time; returns their domids.
async fn create_guests(
    ctx: &AsyncContext,
    guests: std::ops::Range<usize>,
    width: usize,
) -> Vec<Domid> {
    let mut set: tokio::task::JoinSet<xenlight::Result<Domid>> = tokio::task::JoinSet::new();
    let mut made = Vec::new();
    for i in guests {
        if set.len() >= width {
            let r = set.join_next().await.expect("a task");
            made.push(r.expect("a create task").expect("create_domain_paused"));
        }
        let (c, cfg) = (ctx.clone(), guest(i));
        set.spawn(async move { c.create_domain_paused(&cfg).await });
    }
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
    let (rt, ctx) = async_runtime();
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
        rt.block_on(create_guests(&ctx, have..n, n - have));
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

    // Creation: CREATE guests through the async API with 1 (one after
    // another), 2, 4, 8 and all of them in flight, and CREATE `xl create
    // -p` processes side by side.
    let count = CREATE.min(room);
    let mut widths = Vec::new();
    for width in [1, 2, 4, 8, count] {
        let t = Instant::now();
        rt.block_on(create_guests(&ctx, 0..count, width));
        let took = t.elapsed();
        rt.block_on(destroy_all(&ctx));
        println!(
            "create {count} paused guests, {width} at a time: {:.1} s ({:.1} guests/s)",
            took.as_secs_f64(),
            count as f64 / took.as_secs_f64()
        );
        widths.push(took);
    }
    let (sequential, concurrent) = (widths[0], widths[widths.len() - 1]);
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

    poweroffs(&rt, &ctx, COUNTS[4].min(room));

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

/// Resident and proportional set sizes of a process, in KiB
/// (/proc/PID/smaps_rollup).
fn memory_kib(pid: &str) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("Rss:"), field("Pss:"))
}

/// A process's user + system CPU time in clock ticks (/proc/PID/stat).
fn cpu_ticks(pid: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces).
    let rest = text.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let at = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    at(11) + at(12)
}

/// The pids of xl's monitoring children (`xl create` leaves one per domain).
fn xl_monitors() -> Vec<String> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().into_owned();
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            (comm.trim() == "xl").then_some(pid)
        })
        .collect()
}

fn percentile(v: &mut [Duration], q: f64) -> Duration {
    v.sort();
    v.get(((v.len().max(1) - 1) as f64 * q).round() as usize)
        .copied()
        .unwrap_or_default()
}

/// Waits for the poweroff of every guest of `ids`, each unpaused at the
/// time given: counts each one's Shutdown and Death events, destroying it
/// at its Shutdown when `destroy` (else its xl monitor does), and returns
/// the delays from unpause to Shutdown and to Death.
fn collect_poweroffs(
    rt: &tokio::runtime::Runtime,
    ctx: &AsyncContext,
    events: &mut xenlight::DomainEventStream,
    unpaused: &HashMap<Domid, Instant>,
    destroy: bool,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut shut: HashMap<Domid, (u32, Duration)> = HashMap::new();
    let mut dead: HashMap<Domid, (u32, Duration)> = HashMap::new();
    rt.block_on(async {
        let mut destroys = tokio::task::JoinSet::new();
        loop {
            // Past the last death, two more seconds to catch a duplicate.
            let wait = if dead.len() == unpaused.len() {
                Duration::from_secs(2)
            } else {
                Duration::from_secs(120)
            };
            let Ok(ev) = tokio::time::timeout(wait, events.recv()).await else {
                break;
            };
            match ev.expect("the event stream ended") {
                xenlight::DomainEvent::Shutdown { domid, reason, .. }
                    if unpaused.contains_key(&domid) =>
                {
                    assert_eq!(reason, xenlight::ShutdownReason::Poweroff, "domain {domid}");
                    let e = shut.entry(domid).or_insert((0, unpaused[&domid].elapsed()));
                    e.0 += 1;
                    if destroy {
                        let c = ctx.clone();
                        destroys.spawn(async move { c.destroy(domid).await });
                    }
                }
                xenlight::DomainEvent::Death { domid, .. } if unpaused.contains_key(&domid) => {
                    dead.entry(domid)
                        .or_insert((0, unpaused[&domid].elapsed()))
                        .0 += 1;
                }
                _ => {}
            }
        }
        while let Some(r) = destroys.join_next().await {
            r.expect("a destroy task").expect("destroy");
        }
    });
    let once = |m: &HashMap<Domid, (u32, Duration)>, what: &str| {
        assert_eq!(
            m.len(),
            unpaused.len(),
            "{what} events of {} of {} guests",
            m.len(),
            unpaused.len()
        );
        let twice: Vec<_> = m.iter().filter(|(_, v)| v.0 != 1).collect();
        assert!(
            twice.is_empty(),
            "{what} delivered more than once: {twice:?}"
        );
        m.values().map(|v| v.1).collect::<Vec<_>>()
    };
    (once(&shut, "Shutdown"), once(&dead, "Death"))
}

/// `n` guests powering off at the same moment, and an idle supervisor
/// over them against xl's monitoring children.
fn poweroffs(rt: &tokio::runtime::Runtime, ctx: &AsyncContext, n: usize) {
    let sync = ctx.context();
    let me = std::process::id().to_string();
    let mut events = ctx.domain_events();

    // Ours: one context and one event stream over n paused guests, idle
    // for a minute; then every guest unpaused at once (each powers off at
    // its first instructions) and each destroyed at its Shutdown event.
    let (rss0, _) = memory_kib(&me);
    // Eight at a time: with 200 in flight, xenconsoled did not publish
    // every console within libxl's 10 s (console_xswait_callback: "console
    // tty: timed out") and the creations failed.
    let ids = rt.block_on(create_guests(ctx, 0..n, 8));
    let cpu0 = cpu_ticks(&me);
    std::thread::sleep(IDLE);
    let cpu = cpu_ticks(&me) - cpu0;
    let (rss, pss) = memory_kib(&me);
    let mut unpaused = HashMap::new();
    for d in &ids {
        sync.unpause(*d).expect("unpause");
        unpaused.insert(*d, Instant::now());
    }
    let (mut to_shut, mut to_dead) = collect_poweroffs(rt, ctx, &mut events, &unpaused, true);

    // xl's: n `xl create -p`, each leaving a monitoring child that waits
    // on the domain's events and destroys it when it powers off.
    let children: Vec<_> = (0..n)
        .map(|i| {
            std::process::Command::new("xl")
                .args(["create", "-p", "-q", &xl_cfg(i)])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("xl create")
        })
        .collect();
    for mut c in children {
        assert!(c.wait().expect("xl create").success(), "xl create -p");
    }
    let monitors = xl_monitors();
    let xl_cpu0: u64 = monitors.iter().map(|p| cpu_ticks(p)).sum();
    std::thread::sleep(IDLE);
    let xl_cpu = monitors.iter().map(|p| cpu_ticks(p)).sum::<u64>() - xl_cpu0;
    let (xl_rss, xl_pss) = monitors
        .iter()
        .map(|p| memory_kib(p))
        .fold((0, 0), |a, m| (a.0 + m.0, a.1 + m.1));
    let xl_ids: Vec<Domid> = (0..n)
        .map(|i| sync.domid_by_name(&name(i)).expect("an xl guest"))
        .collect();
    let mut unpaused = HashMap::new();
    for d in &xl_ids {
        sync.unpause(*d).expect("unpause");
        unpaused.insert(*d, Instant::now());
    }
    let (_, mut xl_dead) = collect_poweroffs(rt, ctx, &mut events, &unpaused, false);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    // SAFETY: sysconf has no preconditions.
    let tick = 1e3 / unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    println!(
        "{n} simultaneous poweroffs: {n} Shutdown + {n} Death events on one stream, each once | unpause to Shutdown event p50 {:.0} ms p99 {:.0} ms | unpause to destroyed by us p50 {:.0} ms p99 {:.0} ms | by xl's monitors p50 {:.0} ms p99 {:.0} ms | ratio scale-poweroff p99 ours/xl: {:.3}",
        ms(percentile(&mut to_shut, 0.5)),
        ms(percentile(&mut to_shut, 0.99)),
        ms(percentile(&mut to_dead, 0.5)),
        ms(percentile(&mut to_dead, 0.99)),
        ms(percentile(&mut xl_dead, 0.5)),
        ms(percentile(&mut xl_dead, 0.99)),
        percentile(&mut to_dead, 0.99).as_secs_f64() / percentile(&mut xl_dead, 0.99).as_secs_f64(),
    );
    println!(
        "idle supervisor over {n} domains for {} s: ours RSS {} KiB (PSS {pss} KiB; {} KiB before the guests), CPU {:.0} ms | {} xl monitors RSS {xl_rss} KiB (PSS {xl_pss} KiB), CPU {:.0} ms | ratio scale-idle-memory PSS ours/xl: {:.3}",
        IDLE.as_secs(),
        rss,
        rss0,
        cpu as f64 * tick,
        monitors.len(),
        xl_cpu as f64 * tick,
        pss as f64 / xl_pss.max(1) as f64,
    );
}
