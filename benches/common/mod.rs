//! What the benchmarks share: timing in alternating rounds, the report
//! line with its ratio, and the test guest.
#![allow(dead_code)]

mod raw;
#[allow(unused_imports)] // the async bench has no raw side
pub use raw::Raw;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use xenlight::{Context, DomainConfig, DomainType, Domid};

/// Median and 10th/90th percentiles of per-operation times.
pub struct Stats {
    pub median: Duration,
    pub p10: Duration,
    pub p90: Duration,
}

pub fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Stats {
        median: at(0.5),
        p10: at(0.1),
        p90: at(0.9),
    }
}

pub fn fmt(d: Duration) -> String {
    if d < Duration::from_millis(10) {
        format!("{:.1} us", d.as_secs_f64() * 1e6)
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    }
}

/// Times `a` and `b` in alternating rounds of `per_round` calls; returns the
/// per-call statistics of each.
pub fn compare(
    rounds: usize,
    per_round: u32,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (Stats, Stats) {
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    let time = |f: &mut dyn FnMut(), out: &mut Vec<Duration>| {
        let t = Instant::now();
        for _ in 0..per_round {
            f();
        }
        out.push(t.elapsed() / per_round);
    };
    for r in 0..rounds {
        if r % 2 == 0 {
            time(&mut a, &mut ta);
            time(&mut b, &mut tb);
        } else {
            time(&mut b, &mut tb);
            time(&mut a, &mut ta);
        }
    }
    (stats(ta), stats(tb))
}

pub fn report(what: &str, a_name: &str, a: &Stats, b_name: &str, b: &Stats, ratio_name: &str) {
    println!(
        "{what}: {a_name} median {} (p10 {}, p90 {}) | {b_name} median {} (p10 {}, p90 {}) | ratio {ratio_name}: {:.3}",
        fmt(a.median),
        fmt(a.p10),
        fmt(a.p90),
        fmt(b.median),
        fmt(b.p10),
        fmt(b.p90),
        a.median.as_secs_f64() / b.median.as_secs_f64()
    );
}

pub fn guest_dir() -> PathBuf {
    PathBuf::from(std::env::var("XENLIGHT_GUEST_DIR").unwrap_or_else(|_| "/guest".into()))
}

pub fn pv_guest(name: &str) -> DomainConfig {
    guest_of_type(name, DomainType::Pv)
}

/// [`pv_guest`]'s kernel and ramdisk in a guest of type `ty`.
pub fn guest_of_type(name: &str, ty: DomainType) -> DomainConfig {
    let g = guest_dir();
    DomainConfig::new(name, ty)
        .memory_mib(128)
        .kernel(g.join("vmlinux").to_str().unwrap_or_default())
        .ramdisk(g.join("guest.cpio.gz").to_str().unwrap_or_default())
        .cmdline("console=hvc0 rdinit=/init quiet xlstay")
}

pub fn wait_gone(ctx: &Context, domid: Domid) {
    while matches!(ctx.domain_exists(domid), Ok(true)) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn run_quiet(cmd: &str, args: &[&str]) {
    let st = Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(st.success(), "{cmd} {args:?}: {st}");
}

/// A two-worker tokio runtime and an `AsyncContext` made inside it.
pub fn async_runtime() -> (tokio::runtime::Runtime, xenlight::AsyncContext) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ctx = rt
        .block_on(async { xenlight::AsyncContext::new() })
        .expect("AsyncContext");
    (rt, ctx)
}
