//! `cargo xtask fuzz [TARGET] [--seconds N]`: the cargo-fuzz targets in
//! fuzz/ (libFuzzer under AddressSanitizer, on the nightly toolchain),
//! each started from its seeds and every regression input, then fuzzed
//! for N seconds. cargo-fuzz is installed from crates.io when missing.
//!
//! Inputs: fuzz/seeds/TARGET (committed), the xl.cfg corpus of
//! tests/xlcfg for `xl_cfg_text`, fuzz/regressions/TARGET (every crash
//! found, committed once fixed; also replayed on stable by
//! tests/fuzz_regressions.rs) and fuzz/corpus/TARGET, libFuzzer's working
//! corpus (not committed). A crash is left in fuzz/artifacts/TARGET.

use anyhow::{bail, Context as _, Result};
use std::path::Path;
use std::process::Command;

use crate::workspace_root;

/// The targets, as fuzz/Cargo.toml names them.
pub const TARGETS: &[&str] = &[
    "xl_cfg_text",
    "xl_cfg_grammar",
    "libxl_json",
    "stream_header",
    "conversions",
];

/// Seconds per target when none are given (what CI runs).
pub const DEFAULT_SECONDS: u64 = 20;

/// `cargo +nightly ...` through rustup's proxy, without the toolchain
/// and tool paths the stable cargo that runs xtask puts in the
/// environment.
fn nightly_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly").current_dir(workspace_root());
    for var in [
        "RUSTUP_TOOLCHAIN",
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "CARGO_TARGET_DIR",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The nightly toolchain and cargo-fuzz, installed when missing.
fn tools() -> Result<()> {
    if !succeeds(nightly_cargo().arg("--version")) {
        println!("fuzz: installing the nightly toolchain (rustup toolchain install nightly)");
        let st = Command::new("rustup")
            .args(["toolchain", "install", "nightly", "--profile", "minimal"])
            .status()
            .context("rustup")?;
        if !st.success() {
            bail!("fuzzing needs a nightly toolchain (-Zsanitizer=address); rustup could not install one");
        }
    }
    if !succeeds(nightly_cargo().args(["fuzz", "--version"])) {
        println!("fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)");
        let st = Command::new("cargo")
            .args(["install", "cargo-fuzz", "--locked"])
            .env_remove("RUSTUP_TOOLCHAIN")
            .status()
            .context("cargo install cargo-fuzz")?;
        if !st.success() {
            bail!("cargo install cargo-fuzz failed");
        }
    }
    Ok(())
}

/// What one target's run did.
struct Run {
    target: &'static str,
    executions: Option<u64>,
    corpus: Option<u64>,
    ok: bool,
}

/// libFuzzer's `-print_final_stats=1` line `stat::NAME: VALUE`.
fn stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .find_map(|l| l.strip_prefix(&format!("stat::{name}:")))
        .and_then(|v| v.trim().parse().ok())
}

/// The corpus directories of a target, the working one first (libFuzzer
/// writes new inputs there); each exists.
fn corpus_dirs(target: &str) -> Result<Vec<String>> {
    let root = workspace_root();
    let mut dirs = vec![
        format!("fuzz/corpus/{target}"),
        format!("fuzz/seeds/{target}"),
        format!("fuzz/regressions/{target}"),
    ];
    if target.starts_with("xl_cfg") {
        dirs.push("tests/xlcfg/corpus".into());
        dirs.push("tests/xlcfg/refused".into());
    }
    for d in &dirs {
        std::fs::create_dir_all(root.join(d)).with_context(|| format!("creating {d}"))?;
    }
    Ok(dirs)
}

/// Builds the targets once (`cargo fuzz build`: ASan, coverage, release);
/// each then runs as its own binary, so no run rebuilds anything.
fn build(targets: &[&str]) -> Result<()> {
    step!("==> fuzz: cargo +nightly fuzz build (AddressSanitizer)");
    let mut cmd = nightly_cargo();
    cmd.args(["fuzz", "build"]);
    if let [one] = targets {
        cmd.arg(one);
    }
    if !cmd.status().context("cargo fuzz build")?.success() {
        bail!("cargo fuzz build failed");
    }
    Ok(())
}

fn run_one(target: &'static str, seconds: u64) -> Result<Run> {
    step!("==> fuzz {target}: {seconds} s");
    let root = workspace_root();
    let artifacts = root.join(format!("fuzz/artifacts/{target}"));
    std::fs::create_dir_all(&artifacts)?;
    let out = Command::new(root.join(format!(
        "fuzz/target/x86_64-unknown-linux-gnu/release/{target}"
    )))
    .current_dir(&root)
    .arg(format!("-artifact_prefix={}/", artifacts.display()))
    .arg(format!("-max_total_time={seconds}"))
    .args(["-timeout=20", "-rss_limit_mb=4096", "-print_final_stats=1"])
    // libxlutil's parser leaks on some refusals, which this target
    // makes on purpose (see fuzz/src/lib.rs).
    .args((target == "xl_cfg_grammar").then_some("-detect_leaks=0"))
    .envs((target == "xl_cfg_grammar").then_some(("ASAN_OPTIONS", "detect_leaks=0")))
    .args(corpus_dirs(target)?)
    .output()
    .context("running the fuzz target")?;
    let log =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let log_path = root.join(format!("fuzz/target/{target}.log"));
    let _ = std::fs::create_dir_all(root.join("fuzz/target"));
    let _ = std::fs::write(&log_path, &log);
    if !out.status.success() {
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        for l in tail.into_iter().rev() {
            println!("    {l}");
        }
        println!(
            "fuzz {target}: FAILED (log: {}; the input is in fuzz/artifacts/{target}: \
             fix it, then move it to fuzz/regressions/{target})",
            log_path.display()
        );
    }
    Ok(Run {
        target,
        executions: stat(&log, "number_of_executed_units"),
        corpus: count(&root.join(format!("fuzz/corpus/{target}"))),
        ok: out.status.success(),
    })
}

fn count(dir: &Path) -> Option<u64> {
    std::fs::read_dir(dir).ok().map(|d| d.count() as u64)
}

/// Runs `target` (all when `None`) for `seconds` each; false if any
/// target found a crash.
pub fn fuzz(target: Option<&str>, seconds: u64) -> Result<bool> {
    let targets: Vec<&'static str> = match target {
        None => TARGETS.to_vec(),
        Some(t) => match TARGETS.iter().find(|x| **x == t) {
            Some(x) => vec![*x],
            None => bail!("no fuzz target {t:?}; the targets: {}", TARGETS.join(", ")),
        },
    };
    tools()?;
    build(&targets)?;
    let mut runs = Vec::new();
    for t in targets {
        runs.push(run_one(t, seconds)?);
    }
    println!("fuzz: target, executions, working corpus, result ({seconds} s each)");
    for r in &runs {
        let n = |v: Option<u64>| v.map_or("?".to_owned(), |v| v.to_string());
        println!(
            "fuzz: {:<14} {:>10} {:>6}  {}",
            r.target,
            n(r.executions),
            n(r.corpus),
            if r.ok { "ok" } else { "CRASH" }
        );
    }
    Ok(runs.iter().all(|r| r.ok))
}

/// `[TARGET] [--seconds N]`.
pub fn options(args: &[String]) -> Result<(Option<String>, u64)> {
    let mut target = None;
    let mut seconds = DEFAULT_SECONDS;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|s| *s > 0)
                    .context("--seconds takes a number of seconds")?;
            }
            t if target.is_none() && !t.starts_with('-') => target = Some(t.to_owned()),
            other => bail!("unknown fuzz option {other:?}"),
        }
    }
    Ok((target, seconds))
}
