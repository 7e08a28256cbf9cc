//! Repository automation for xenlight (`cargo xtask <command>`).
//!
//! The hypervisor tests need a real Xen dom0, and no development or CI machine
//! is one, so this crate builds a disposable Xen host: Debian's Xen 4.17
//! hypervisor with a Debian kernel as PV dom0, booted in QEMU, with the
//! toolstack and our test binaries in its initramfs. Results come back over
//! the serial console.

/// Prints a step heading (`==> ...`) with the time since xtask started,
/// so a log shows where a run's minutes went.
macro_rules! step {
    ($($arg:tt)*) => {
        crate::print_step(&format!($($arg)*))
    };
}

mod cargo;
mod fuzz;
mod gen_types;
mod host;
mod host420;
mod host_src;
mod idl;
mod idl_merge;
mod plot;
#[path = "../../tests/common/protocol.rs"]
mod protocol;
mod publish;
mod report;
mod setup;
mod two_hosts;
mod vm;
mod xen420;
mod xen_build;
mod xen_src;
mod xl_coverage;

use anyhow::{anyhow, bail, Context as _, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  setup              install the Debian packages the project needs (as root)
  vm-test [FILTER]   build the hypervisor tests, boot the Xen host, run them there
  demo               boot the Xen host and run the example programs in dom0
  xlcfg-parity       compare every corpus xl.cfg (tests/xlcfg) with `xl -N create` in the
                     Xen host; ends with `xl.cfg parity: N/M identical, K/L keys covered`
  bench              run the benchmarks in the Xen host (ratios against raw FFI and xl)
  stress [FILTER]    the reliability suite: valgrind and fuzzing on this machine, then
                     create/destroy cycles, RSS growth, concurrency and 20 rounds of the
                     event stream in the Xen host (a FILTER runs only those Xen tests)
  gen-types [--check] generate xenlight/src/types/generated.rs and tests/idl/samples.rs
                     from libxl_types.idl (--check: fail if the checked-in files differ)
  type-coverage      count the IDL's types the generated code covers
  xl-coverage [--check] which of xl's subcommands have a safe call for every libxl
                     function they use; writes docs/XL-COMMANDS.md (--check: fail if stale)
  gen-bindings [--check] copy the -sys bindings for docs builds (xenlight-sys/src/docs_bindings.rs)
  publish-check      what publishing needs: docs.rs-style docs build, minimum-version error,
                     cargo package and cargo publish --dry-run for both crates
  check-xen-4.20     build xenlight-sys and check xenlight against Xen 4.20 headers
  check-xen-src [RELEASE...]
                     check xenlight-sys and xenlight against the headers of Xen releases
                     made from their release trees (../shared/xen-src: 4.19.6 4.21.2 4.22.0)
  two-hosts [SENDER] live-migrate a counting PV guest between two Xen hosts built from source,
                     booted side by side on a socket network on 127.0.0.1: 4.22 to 4.22,
                     then 4.21 to 4.22 (SENDER: only the pairs whose sender is 4.21 or 4.22)
  host-tests-xen-src [RELEASE...]
                     the host tests linked with and run against the tool libraries of Xen
                     releases built from their trees (default 4.19.6 4.21.2)
  build-xen [RELEASE]
                     build a Xen release (default 4.22.0) from its tree: hypervisor with
                     FLASK, RTDS, ARINC653 and shadow paging, and dom0's toolstack; cached
                     outside the clone (XENLIGHT_BUILD_CACHE, else ~/.cache/xenlight)
  scale-plot LOG [OUT]
                     draw the scale bench's curves (from its output LOG) as an SVG (default
                     docs/scale.svg)
  valgrind           run the config conversion and xl.cfg tests under valgrind memcheck
  fuzz [TARGET] [--seconds N]
                     the cargo-fuzz targets in fuzz/ (xl_cfg_text, xl_cfg_grammar, libxl_json,
                     stream_header, conversions) under AddressSanitizer on nightly, N s each (default 20),
                     from their seeds and every regression input; prints executions per target
  test               everything CI runs: setup, then host-checks (at nice 19) beside the
                     hypervisor suites (4.17, the balloon run, the 4.20 set, the 4.22 set
                     in the Xen built from source, two-hosts)
  host-checks        the checks that need no hypervisor: fmt, clippy, host tests, docs,
                     generated code, publishing, shellcheck, valgrind, fuzzing, 4.20 build,
                     the 4.19/4.21/4.22 builds from source, host tests linked with 4.19/4.21

options for vm-test and demo:
  --timeout SECS     give up after SECS (default 900)
  --keep             keep the serial log and staging tree in target/xen-host
  --no-dom0-mem      boot Xen without dom0_mem (dom0 holds all memory, as on a stock host)
  --cpus N           give the machine N CPUs (default 2); with 4 or more, the tests that
                     need 4 CPUs (ignored otherwise) run too
  --xen 4.20         vm-test in the Xen 4.20 host (Debian trixie dom0, built by debootstrap)
  --xen 4.22         vm-test in a Xen 4.22 built from its release tree (build-xen): FLASK,
                     RTDS, ARINC653 and shadow paging; no device model, so no HVM guests
  --xen 4.21         the same with Xen 4.21.2
  --scale            (bench) the scale bench instead: up to 200 paused PV and PVH guests of
                     32 MiB in a machine of 10 GiB; listing, lookups and configs at N = 1 to
                     200, concurrent creation against xl

environment:
  XENLIGHT_VM_ACCEL=kvm   try KVM instead of TCG (TCG is the default: KVM ran no guest here)
  XENLIGHT_XEN_ARGS=...   more of Xen's command line (later options win: loglvl=all for a
                          crash's register dump and stack)
";

/// When this xtask process started (for [`print_step`]).
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Prints `==> [m:ss] heading` for `==> heading`.
fn print_step(line: &str) {
    let t = STARTED
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs();
    match line.strip_prefix("==> ") {
        Some(rest) => println!("==> [{}:{:02}] {rest}", t / 60, t % 60),
        None => println!("{line}"),
    }
}

fn main() -> ExitCode {
    STARTED.get_or_init(std::time::Instant::now);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "setup" => setup::install().map(|_| true),
        "vm-test" => vm_options(rest).and_then(|o| vm::vm_test(&o)),
        "demo" => vm_options(rest).and_then(|o| vm::demo(&o)),
        "bench" => vm_options(rest).and_then(|o| vm::bench(&o)),
        "xlcfg-parity" => vm_options(rest).and_then(|o| vm::xlcfg_parity(&o)),
        "stress" => vm_options(rest).and_then(|o| stress(&o)),
        "two-hosts" => vm_options(rest).and_then(|o| two_hosts::two_hosts(&o)),
        "check-xen-4.20" => xen420::check().map(|_| true),
        "check-xen-src" => {
            let asked: Vec<&str> = args[1..].iter().map(String::as_str).collect();
            let releases = if asked.is_empty() {
                xen_src::RELEASES
            } else {
                &asked[..]
            };
            xen_src::check(releases).map(|_| true)
        }
        "build-xen" => xen_build::build_command(rest.first().map(String::as_str)).map(|_| true),
        "host-tests-xen-src" => {
            let asked: Vec<&str> = args[1..].iter().map(String::as_str).collect();
            let releases = if asked.is_empty() {
                xen_src::LINKED_RELEASES
            } else {
                &asked[..]
            };
            xen_src::host_tests(releases).map(|_| true)
        }
        "gen-types" => gen_types::gen_types(rest.iter().any(|a| a == "--check")),
        "type-coverage" => gen_types::type_coverage(),
        "xl-coverage" => xl_coverage::xl_coverage(rest.iter().any(|a| a == "--check")),
        "scale-plot" => match rest {
            [log] => plot::scale_plot(log.as_ref(), &workspace_root().join("docs/scale.svg"))
                .map(|_| true),
            [log, out] => plot::scale_plot(log.as_ref(), out.as_ref()).map(|_| true),
            _ => Err(anyhow::anyhow!("scale-plot takes LOG [OUT]")),
        },
        "gen-bindings" => publish::gen_bindings(rest.iter().any(|a| a == "--check")),
        "publish-check" => publish_check().map(|_| true),
        "valgrind" => valgrind(),
        "fuzz" => fuzz::options(rest).and_then(|(t, s)| fuzz::fuzz(t.as_deref(), s)),
        "test" => run_all(),
        "host-checks" => host_checks(),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(true)
        }
        other => Err(anyhow!("unknown command {other:?}\n{USAGE}")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The Xen hosts a run can boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XenHost {
    /// Debian 12's Xen 4.17 and toolstack, from this machine's packages.
    Debian417,
    /// Debian 13's Xen 4.20 in a debootstrap'd trixie dom0 (host420.rs).
    Debian420,
    /// A release built from its tree by xtask (xen_build.rs, host_src.rs).
    Source(&'static str),
}

/// Options shared by the commands that boot the Xen host.
#[derive(Debug, Clone)]
pub struct VmOptions {
    pub timeout: Duration,
    pub keep: bool,
    pub filter: Vec<String>,
    /// Boot Xen without `dom0_mem`: dom0 starts holding all memory, as on
    /// a stock host (creating a domain then needs ballooning).
    pub no_dom0_mem: bool,
    /// Which Xen host to boot.
    pub xen: XenHost,
    /// CPUs of the emulated machine (Xen's physical CPUs). With 4 or more
    /// the tests that need them (ignored otherwise) run too.
    pub cpus: u32,
    /// `bench --scale`: the scale bench, in a machine with the memory for
    /// 200 small guests.
    pub scale: bool,
}

fn vm_options(args: &[String]) -> Result<VmOptions> {
    let mut o = VmOptions {
        timeout: Duration::from_secs(900),
        keep: false,
        filter: Vec::new(),
        no_dom0_mem: false,
        xen: XenHost::Debian417,
        cpus: 2,
        scale: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--timeout" => {
                let v = it.next().context("--timeout needs a value")?;
                let secs: u64 = v.parse().with_context(|| format!("bad --timeout {v:?}"))?;
                o.timeout = Duration::from_secs(secs);
            }
            "--keep" => o.keep = true,
            "--no-dom0-mem" => o.no_dom0_mem = true,
            "--scale" => o.scale = true,
            "--cpus" => {
                let v = it.next().context("--cpus needs a value")?;
                o.cpus = match v.parse() {
                    Ok(n @ 1..=8) => n,
                    _ => bail!("--cpus takes 1 to 8, not {v:?}"),
                };
            }
            "--xen" => {
                o.xen = match it.next().map(String::as_str) {
                    Some("4.17") => XenHost::Debian417,
                    Some("4.20") => XenHost::Debian420,
                    Some("4.21" | "4.21.2") => XenHost::Source(xen_build::PREVIOUS),
                    Some("4.22" | "4.22.0") => XenHost::Source(xen_build::RELEASE),
                    other => bail!("--xen takes 4.17, 4.20, 4.21 or 4.22, not {other:?}"),
                }
            }
            f if !f.starts_with('-') => o.filter.push(f.to_owned()),
            f => bail!("unknown option {f:?}"),
        }
    }
    Ok(o)
}

/// The limit, in seconds, of a run of every hypervisor test. The suite's
/// VM run (boot to power-off) took 1496 s and 1415 s in two full runs of
/// 2026-12-03 and, in a third on the same machine when it ran slower (its
/// lanes alone 1307 s instead of 720 s), did not end within 1800 s: the
/// limit is for a hung run, well above a slow one.
const FULL_SUITE_TIMEOUT: &str = "3000";

/// Everything CI runs. The host checks (fmt, clippy, host tests, docs,
/// generated code, publishing, valgrind, fuzzing, the 4.20 and source-tree
/// builds) run in a child process at the lowest CPU priority beside the
/// hypervisor tests, so the Xen host boots at once. Measured on fresh
/// worktrees (2026-12-03): 30 and 31 minutes in all, the 4.17 suite the
/// long pole; 47 when the machine ran 1.8x slower. The child's output goes
/// to a log that is summarised at the end.
fn run_all() -> Result<bool> {
    setup::install()?;
    let log = workspace_root().join("target").join("host-checks.log");
    std::fs::create_dir_all(log.parent().unwrap_or(&log))?;
    let out = std::fs::File::create(&log).with_context(|| format!("{}", log.display()))?;
    step!(
        "==> host checks (cargo xtask host-checks) beside the hypervisor tests, at nice 19; log: {}",
        log.display()
    );
    // A target directory of its own: cargo's lock would otherwise hold the
    // hypervisor side's builds behind a niced one, and both sides run
    // `cargo package`.
    let mut child = std::process::Command::new("nice")
        .args(["-n", "19"])
        .arg(std::env::current_exe().context("xtask's own path")?)
        .arg("host-checks")
        .env(
            "CARGO_TARGET_DIR",
            workspace_root().join("target/host-checks"),
        )
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .context("nice")?;
    let vm = hypervisor_checks();
    if vm.is_err() {
        step!("==> waiting for the host checks to end");
    }
    let host = child.wait().context("the host checks")?.success();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    println!("host checks (from {}):", log.display());
    for line in text.lines().filter(|l| l.starts_with("==> ")) {
        println!("  {line}");
    }
    if !host {
        let lines: Vec<&str> = text.lines().collect();
        println!("host checks FAILED; the end of their log:");
        for line in &lines[lines.len().saturating_sub(150)..] {
            println!("  {line}");
        }
    }
    Ok(vm? && host)
}

/// The checks that need no hypervisor, in order: the first failure ends
/// them (`cargo xtask host-checks`).
fn host_checks() -> Result<bool> {
    let steps: &[(&str, &[&str])] = &[
        ("fmt", &["fmt", "--all", "--", "--check"]),
        (
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--features",
                "xenlight/xen-host,xenlight/fuzzing",
                "--",
                "-D",
                "warnings",
            ],
        ),
        // The doctests run once, below, with the async API's too.
        (
            "host tests",
            &[
                "test",
                "--workspace",
                "--lib",
                "--bins",
                "--tests",
                "--examples",
            ],
        ),
        (
            "host tests with serde",
            &[
                "test",
                "-p",
                "xenlight",
                "--lib",
                "--test",
                "hostile_input",
                "--features",
                "serde",
            ],
        ),
        (
            "fuzz regressions on stable (every input in fuzz/regressions)",
            &[
                "test",
                "-p",
                "xenlight",
                "--test",
                "fuzz_regressions",
                "--features",
                "fuzzing",
            ],
        ),
        (
            "doc tests (the async API's too)",
            &[
                "test",
                "-p",
                "xenlight",
                "-p",
                "xenlight-sys",
                "--doc",
                "--features",
                "xenlight/tokio",
            ],
        ),
        ("docs", publish::DOC_ARGS),
    ];
    for (name, args) in steps {
        step!("==> {name}: cargo {}", args.join(" "));
        let mut cmd = cargo::command();
        cmd.args(*args);
        if *name == "docs" {
            cmd.env("RUSTDOCFLAGS", "-D warnings -D missing_docs");
        }
        let st = cmd.status().context("cargo")?;
        if !st.success() {
            bail!("{name} failed");
        }
    }
    step!("==> generated IDL types are current (cargo xtask gen-types --check)");
    if !gen_types::gen_types(true)? {
        bail!("the generated IDL types are stale");
    }
    if !gen_types::type_coverage()? {
        bail!("the generated code does not cover every IDL type");
    }
    step!("==> xl's subcommands with a safe call (cargo xtask xl-coverage --check)");
    if !xl_coverage::xl_coverage(true)? {
        bail!(
            "{} is stale: run cargo xtask xl-coverage",
            xl_coverage::TABLE
        );
    }
    step!(
        "==> publishing: docs.rs build, minimum Xen version, cargo package and publish --dry-run"
    );
    publish_check()?;
    step!("==> shellcheck of the Xen host's scripts (xtask/assets)");
    shellcheck()?;
    step!("==> valgrind memcheck of the config conversion");
    if !valgrind()? {
        bail!("valgrind found leaks or invalid accesses");
    }
    step!(
        "==> fuzzing: each target {} s under AddressSanitizer (cargo xtask fuzz)",
        fuzz::DEFAULT_SECONDS
    );
    if !fuzz::fuzz(None, fuzz::DEFAULT_SECONDS)? {
        bail!("fuzzing found a crash");
    }
    step!("==> Xen 4.20 headers");
    xen420::check()?;
    step!(
        "==> Xen {} headers from their release trees (cargo xtask check-xen-src)",
        xen_src::RELEASES.join(", ")
    );
    xen_src::check(xen_src::RELEASES)?;
    step!(
        "==> host tests linked with Xen {}'s libraries, built from their trees (cargo xtask host-tests-xen-src)",
        xen_src::LINKED_RELEASES.join(" and ")
    );
    xen_src::host_tests(xen_src::LINKED_RELEASES)?;
    Ok(true)
}

/// The hypervisor suite in the 4.17 host, the balloon and 4-CPU run, and
/// the 4.20 set.
fn hypervisor_checks() -> Result<bool> {
    step!("==> hypervisor tests in the disposable Xen host");
    // The whole suite runs about 20 minutes under TCG beside the host
    // checks; the default 900 s limit is for focused runs.
    let all = vm::vm_test(&vm_options(&[
        "--timeout".into(),
        FULL_SUITE_TIMEOUT.into(),
    ])?)?;
    step!(
        "==> memory admission in a Xen host without dom0_mem (dom0 holds all memory), \
         and the tests that need 4 CPUs"
    );
    let balloon = vm::vm_test(&vm_options(&[
        "--no-dom0-mem".into(),
        "--cpus".into(),
        "4".into(),
        "balloon".into(),
        "four_cpus".into(),
    ])?)?;
    step!("==> the same crate against Xen 4.20 at run time (a trixie dom0, tests built against its libxl)");
    let mut args = vec!["--xen".to_owned(), "4.20".to_owned()];
    args.extend(XEN_420_TESTS.iter().map(|t| t.to_string()));
    let xen420 = vm::vm_test(&vm_options(&args)?)?;
    step!(
        "==> the same crate against Xen {} built from its release tree (FLASK, RTDS, shadow paging)",
        xen_build::RELEASE
    );
    let source_built = !xen_src::at_hand(&[xen_build::RELEASE]).0.is_empty();
    let xen422 = if !source_built {
        true
    } else {
        let mut args = vec!["--xen".to_owned(), xen_build::RELEASE.to_owned()];
        args.extend(
            XEN_420_TESTS
                .iter()
                .chain(XEN_422_TESTS)
                .map(|t| t.to_string()),
        );
        vm::vm_test(&vm_options(&args)?)?
    };
    step!("==> live migration between two Xen hosts side by side (cargo xtask two-hosts)");
    let two = if !source_built {
        true
    } else {
        two_hosts::two_hosts(&vm_options(&[])?)?
    };
    Ok(all && balloon && xen420 && xen422 && two)
}

/// What CI runs in the source-built host beside the 4.20 set: the tests
/// of what only that build has (FLASK, RTDS, PV live migration and Remus
/// with shadow paging) and the host's own version.
const XEN_422_TESTS: &[&str] = &[
    "flask_answers",
    "per_vcpu_rtds",
    "remus_of",
    "an_async_migration_and",
    "host_reports",
    "dom0_detects",
];

/// The hypervisor tests CI also runs in the Xen 4.20 host (name filters):
/// listing, lookups, lifecycle, creation of PV and PVH guests from the
/// builder and from xl.cfg, typed errors, threads sharing a Context; the
/// tests of what only 4.20 has and every IDL type through libxl's JSON.
const XEN_420_TESTS: &[&str] = &[
    "domains_include_domain0",
    "lookups_agree",
    "unknown_domains",
    "bad_input",
    "host_reports",
    "pause_unpause",
    "eight_threads",
    "builder_runs",
    "guests_from_xl_cfg",
    "paused_create",
    "rejected_config",
    "wait_for_shutdown",
    "xlcfg_parity",
    "v420",
    "every_idl_type",
];

/// The publishing checks (docs.rs build, minimum version, packaging).
fn publish_check() -> Result<()> {
    if !publish::gen_bindings(true)? {
        bail!("the docs bindings are stale");
    }
    publish::docs_rs_build()?;
    publish::min_version_check()?;
    publish::package()
}

/// Lints the shell scripts the Xen host runs (busybox sh, so POSIX sh).
fn shellcheck() -> Result<()> {
    let assets = workspace_root().join("xtask/assets");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&assets)
        .with_context(|| format!("reading {}", assets.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sh"))
        .collect();
    scripts.sort();
    let st = std::process::Command::new("shellcheck")
        .args(["-s", "sh", "-S", "warning"])
        .args(&scripts)
        .status()
        .context("shellcheck did not run; `cargo xtask setup` installs it")?;
    if !st.success() {
        bail!("shellcheck found problems in xtask/assets");
    }
    println!("shellcheck: {} scripts clean", scripts.len());
    Ok(())
}

/// `cargo xtask stress`: the host-side checks, then the hypervisor suite.
fn stress(o: &VmOptions) -> Result<bool> {
    // A filter picks hypervisor tests only.
    if o.filter.is_empty() && !valgrind()? {
        bail!("valgrind found leaks or invalid accesses");
    }
    vm::stress(o)
}

/// Runs the crate's config-conversion and xl.cfg unit tests under valgrind
/// memcheck: any definite leak or invalid access fails. No hypervisor needed.
fn valgrind() -> Result<bool> {
    setup::install()?;
    let exes = cargo::build_executables(&["test", "-p", "xenlight", "--lib", "--no-run"])?;
    let lib = exes
        .iter()
        .find(|a| a.kind == "lib")
        .context("no unit-test executable for xenlight")?;
    let st = std::process::Command::new("valgrind")
        .args([
            "--quiet",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect",
            "--error-exitcode=99",
        ])
        .arg(format!(
            "--suppressions={}",
            workspace_root().join("xtask/valgrind.supp").display()
        ))
        .arg(&lib.path)
        .args([
            "--test-threads=1",
            "config::",
            "convert::",
            "xlcfg::",
            "raw::",
            "devices::",
            "types::",
            "json::",
        ])
        .status()
        .context("valgrind")?;
    println!(
        "valgrind: {}",
        if st.success() {
            "no leaks, no invalid accesses"
        } else {
            "FAILED"
        }
    );
    Ok(st.success())
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, else `target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Where the Xen host's downloads, unpacked packages and logs are cached.
pub fn cache_dir() -> PathBuf {
    target_dir().join("xen-host")
}
