//! Boots the disposable Xen host in QEMU and runs programs in its dom0.

use anyhow::{bail, Context as _, Result};
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cargo::{self, Artifact};
use crate::host::{self, BootFiles, Tree};
use crate::protocol;
use crate::report::{self, Ending, RunResult};
use crate::XenHost;
use crate::{cache_dir, setup, workspace_root, VmOptions};

/// dom0's init up to the point where the toolstack is ready (a shell script
/// in xtask/assets, shellchecked by `cargo xtask test` when shellcheck is there).
const INIT_HEAD: &str = include_str!("../assets/dom0-init-head.sh");

pub(crate) const INIT_TAIL: &str = include_str!("../assets/dom0-init-tail.sh");

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The init lines that run one program between result markers.
pub(crate) fn run_block(name: &str, cmdline: &str) -> String {
    format!(
        "echo '{}'\n{cmdline} 2>&1\necho \"{}{name} rc=$?{}\"\n",
        protocol::run_begin(name),
        protocol::RUN_END,
        protocol::MARK
    )
}

/// The programs of the full suite that run alone, after the two lanes:
/// they compare whole-host views with xl's (domain lists, free memory, Xen's
/// log, which `xen_domains` clears), fill the host's memory, check that
/// no test guest is left anywhere, or (`xen_agent`) save and migrate a PVH
/// guest, whose vCPU triple-faulted under TCG with another lane beside it.
const SOLO: &[&str] = &[
    "xen_agent",
    "xen_xl_parity",
    "xen_hostile",
    "xen_domains",
    "xen_memory",
    "xen_stress",
    "not_dom0",
    "downstream",
];

/// Programs that leave the host changed for good (xen_rtds: an RTDS pool
/// that cannot be emptied without crashing Xen where RTDS exists): every
/// suite runs them after all the others, in this order.
const LAST: &[&str] = &["xen_rtds"];

/// Puts the [`LAST`] programs' runs at the end, keeping the others' order.
fn last_at_the_end<T>(runs: &mut [(String, T)]) {
    runs.sort_by_key(|(name, _)| LAST.iter().position(|l| l == name));
}

/// Seconds each program took in the two lanes of a full run under TCG
/// (commit 7d72922 with lanes), to balance them; a program not listed
/// counts 10.
const EXPECTED_SECONDS: &[(&str, u32)] = &[
    ("xen_ops", 491),
    ("xen_devices", 313),
    ("xen_xlcfg", 251),
    ("xen_shutdown", 173),
    ("xen_async", 130),
    ("xen_create", 43),
    ("xenlight-lib", 38),
    ("xen_detect", 29),
    ("xen_review", 22),
    ("xen_types", 17),
];

/// Splits the programs (by name) into two lanes of about the same expected
/// time, longest first, and the solo programs.
fn plan_lanes(names: &[String]) -> ([Vec<usize>; 2], Vec<usize>) {
    let weight = |n: &str| {
        EXPECTED_SECONDS
            .iter()
            .find(|(name, _)| *name == n)
            .map_or(10, |(_, s)| *s)
    };
    let mut shared: Vec<usize> = (0..names.len())
        .filter(|&i| !SOLO.contains(&names[i].as_str()) && !LAST.contains(&names[i].as_str()))
        .collect();
    shared.sort_by_key(|&i| std::cmp::Reverse(weight(&names[i])));
    let mut lanes: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
    let mut load = [0u32; 2];
    for i in shared {
        let l = usize::from(load[1] < load[0]);
        load[l] += weight(&names[i]);
        lanes[l].push(i);
    }
    let solo = (0..names.len())
        .filter(|&i| SOLO.contains(&names[i].as_str()) || LAST.contains(&names[i].as_str()))
        .collect();
    (lanes, solo)
}

/// A shell function for the lanes: prints a finished program's output
/// (kept in /tmp/runs) between its result markers, one program at a time.
fn lane_report_function() -> String {
    format!(
        "mkdir -p /tmp/runs\nreport() {{\n  {{\n    flock 9\n    echo \"{}\"\n    \
         cat \"/tmp/runs/$1.out\"\n    echo \"{}$1 rc=$2{}\"\n  }} 9>/tmp/runs/console.lock\n}}\n",
        protocol::run_begin("$1"),
        protocol::RUN_END,
        protocol::MARK
    )
}

/// The init lines that run one program in a lane: its output goes to a
/// file and is printed whole when it ends, so two lanes never interleave.
fn lane_block(name: &str, cmdline: &str) -> String {
    format!("echo 'lane: {name} starts'\n{cmdline} >/tmp/runs/{name}.out 2>&1; report {name} $?\n")
}

/// Builds the examples and the xl-compatible tool `rxl` (in `env`: the
/// 4.20 host's build environment, or none) and returns them by name.
pub(crate) fn build_examples(
    features: &[&str],
    release: bool,
    env: &[(String, String)],
) -> Result<Vec<Artifact>> {
    let mut args = vec![
        "build",
        "-p",
        "xenlight",
        "--examples",
        "-p",
        "rxl",
        "--bins",
    ];
    if release {
        args.push("--release");
    }
    let features: Vec<String> = features.iter().map(|f| format!("xenlight/{f}")).collect();
    for f in &features {
        args.extend(["--features", f.as_str()]);
    }
    Ok(cargo::build_executables_env(&args, env)?
        .into_iter()
        .filter(|a| a.kind == "example" || (a.kind == "bin" && a.name == "rxl"))
        .collect())
}

/// A Xen host made ready to boot: what the tests are built against and
/// what its dom0 holds.
pub(crate) enum Prepared {
    /// This machine's Debian 12 Xen 4.17: dom0 is built from its files.
    Bookworm,
    /// The trixie root of the 4.20 host (host420.rs).
    Trixie(PathBuf),
    /// A Xen built from its release tree (xen_build.rs, host_src.rs).
    Source(crate::xen_build::SourceXen),
}

impl Prepared {
    pub(crate) fn new(xen: XenHost) -> Result<Self> {
        Ok(match xen {
            XenHost::Debian417 => Prepared::Bookworm,
            XenHost::Debian420 => Prepared::Trixie(crate::host420::root()?),
            XenHost::Source(release) => Prepared::Source(crate::xen_build::build(release)?),
        })
    }

    /// The environment cargo builds the host's executables in.
    pub(crate) fn build_env(&self) -> Vec<(String, String)> {
        match self {
            Prepared::Bookworm => Vec::new(),
            Prepared::Trixie(root) => crate::host420::build_env(root),
            Prepared::Source(b) => crate::host_src::build_env(b),
        }
    }

    /// The cached dom0 base archive; points `boot` at this host's Xen.
    pub(crate) fn base_archive(&self, boot: &mut BootFiles) -> Result<PathBuf> {
        match self {
            Prepared::Bookworm => host::base_archive(boot),
            Prepared::Trixie(root) => {
                boot.xen = crate::host420::xen_elf(root)?;
                crate::host420::base_archive(boot, root)
            }
            Prepared::Source(b) => {
                boot.xen = b.xen.clone();
                crate::host_src::base_archive(boot, b)
            }
        }
    }

    pub(crate) fn init_head(&self) -> String {
        match self {
            Prepared::Bookworm => String::from(INIT_HEAD),
            Prepared::Trixie(_) => crate::host420::init_head(INIT_HEAD),
            Prepared::Source(_) => crate::host_src::init_head(INIT_HEAD),
        }
    }

    /// Copies an executable built for this host into dom0's tree, with the
    /// libraries of this machine's that the root lacks.
    pub(crate) fn copy_exe(&self, t: &mut Tree, exe: &Path, inside: &str) -> Result<()> {
        match self {
            Prepared::Bookworm => t.copy_exe(exe, inside),
            // The trixie root has every library the executables need.
            Prepared::Trixie(_) => t.copy_exe_only(exe, inside),
            Prepared::Source(b) => crate::host_src::copy_exe(t, b, exe, inside),
        }
    }
}

/// Files every run puts in dom0: the guest kernel and initrd, the test
/// guests' xl.cfg files and the examples.
pub(crate) fn add_guest_files(
    t: &mut Tree,
    boot: &BootFiles,
    examples: &[Artifact],
    xen: &Prepared,
) -> Result<()> {
    let detect: Vec<PathBuf> = examples
        .iter()
        .filter(|a| a.name == "xen-detect")
        .map(|a| a.path.clone())
        .collect();
    let initrd = host::guest_initrd(&detect, &boot.modules)?;
    t.copy(&boot.kernel, "/guest/vmlinuz")?;
    t.copy(&boot.vmlinux, "/guest/vmlinux")?;
    t.copy(&initrd, "/guest/guest.cpio.gz")?;
    t.copy(&host::triple_fault_kernel()?, "/guest/triple-fault.elf")?;
    t.copy(&host::idle_kernel()?, "/guest/idle-guest.elf")?;
    let cfgs = workspace_root().join("tests/guests");
    if cfgs.is_dir() {
        for e in fs::read_dir(&cfgs)? {
            let p = e?.path();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            t.copy(&p, &format!("/guest/{name}"))?;
        }
    }
    for a in examples {
        xen.copy_exe(t, &a.path, "/opt/bin")?;
    }
    Ok(())
}

/// What to run in the Xen host and how.
struct Suite {
    /// Heading of the report ("vm-test", "stress", "bench").
    name: &'static str,
    /// The cargo command that builds the executables (without JSON flags).
    build: &'static [&'static str],
    /// Which artifact kinds to run.
    kinds: &'static [&'static str],
    /// Run only the executables with these names (all when empty).
    only: &'static [&'static str],
    /// Arguments for every executable.
    args: String,
    /// Build the examples in release mode (for fair timings).
    release_examples: bool,
    /// Also run the downstream crate's test (built against the packaged
    /// crates, see `publish::downstream_test`).
    downstream: bool,
    /// Run the programs in two lanes side by side (then the [`SOLO`] ones):
    /// one lane keeps one emulated CPU busy, and the host has two.
    lanes: bool,
}

/// The cargo command that builds the hypervisor tests (vm-test and stress).
pub(crate) const HYPERVISOR_TESTS: &[&str] = &[
    "test",
    "-p",
    "xenlight",
    "--features",
    "xen-host",
    "--no-run",
];

/// The test-name filters of a run, each quoted for dom0's shell and
/// preceded by a space.
fn filter_args(o: &VmOptions) -> String {
    o.filter
        .iter()
        .map(|f| format!(" {}", shell_quote(f)))
        .collect()
}

/// `cargo xtask vm-test`: the hypervisor tests, run in the Xen host.
pub fn vm_test(o: &VmOptions) -> Result<bool> {
    let filter = filter_args(o);
    run_suite(
        &Suite {
            name: "vm-test",
            build: HYPERVISOR_TESTS,
            kinds: &["test", "lib"],
            only: &[],
            args: format!(
                "--test-threads=1 --color never{}{filter}",
                // The tests that need 4 CPUs are ignored on smaller hosts.
                if o.cpus >= 4 {
                    " --include-ignored"
                } else {
                    ""
                }
            ),
            release_examples: false,
            // A filter selects tests of this workspace only.
            downstream: o.filter.is_empty(),
            // The full suite; a focused run stays in one lane, easier to read.
            lanes: o.filter.is_empty(),
        },
        o,
    )
}

/// `cargo xtask stress`: the reliability suite (the ignored `xen_stress`
/// tests), run in the Xen host.
pub fn stress(o: &VmOptions) -> Result<bool> {
    let filter = filter_args(o);
    run_suite(
        &Suite {
            name: "stress",
            build: HYPERVISOR_TESTS,
            kinds: &["test"],
            only: &["xen_stress"],
            args: format!("--ignored --test-threads=1 --color never --nocapture{filter}"),
            release_examples: false,
            downstream: false,
            lanes: false,
        },
        o,
    )
}

/// `cargo xtask xlcfg-parity`: the xl.cfg corpus against `xl -N create`
/// in the Xen host (tests/xen_xlcfg.rs), ending with the test's summary.
pub fn xlcfg_parity(o: &VmOptions) -> Result<bool> {
    let ok = run_suite(
        &Suite {
            name: "xlcfg-parity",
            build: HYPERVISOR_TESTS,
            kinds: &["test"],
            only: &["xen_xlcfg"],
            args: "--test-threads=1 --color never --nocapture xlcfg_".into(),
            release_examples: false,
            downstream: false,
            lanes: false,
        },
        o,
    )?;
    let log = fs::read_to_string(cache_dir().join("serial.log")).unwrap_or_default();
    match log
        .lines()
        .rev()
        .find_map(|l| l.find("xl.cfg parity:").map(|i| &l[i..]))
    {
        Some(line) => println!("{}", line.trim_end()),
        None => {
            println!("xl.cfg parity: no summary (the parity test did not finish)");
            return Ok(false);
        }
    }
    Ok(ok)
}

/// `cargo xtask bench`: the benchmarks (release build), run in the Xen host.
pub fn bench(o: &VmOptions) -> Result<bool> {
    run_suite(
        &Suite {
            name: "bench",
            build: &[
                "bench",
                "-p",
                "xenlight",
                "--features",
                "xen-host",
                "--no-run",
            ],
            kinds: &["bench"],
            only: if o.scale {
                &["xen_scale_bench"]
            } else {
                &["xen_bench", "xen_async_bench"]
            },
            args: String::new(),
            release_examples: true,
            downstream: false,
            lanes: false,
        },
        o,
    )
}

fn run_suite(suite: &Suite, o: &VmOptions) -> Result<bool> {
    let started = Instant::now();
    setup::install()?;
    let xen = Prepared::new(o.xen)?;
    let env = xen.build_env();
    let mut programs: Vec<Artifact> = cargo::build_executables_env(suite.build, &env)?
        .into_iter()
        .filter(|a| suite.kinds.contains(&a.kind.as_str()))
        .filter(|a| suite.only.is_empty() || suite.only.contains(&a.name.as_str()))
        .collect();
    // The downstream crate is packaged against this machine's libxl only.
    if suite.downstream && matches!(xen, Prepared::Bookworm) {
        programs.push(crate::publish::downstream_test()?);
    }
    if programs.is_empty() {
        bail!("cargo built nothing to run for {}", suite.name);
    }
    let examples = build_examples(&["xen-host"], suite.release_examples, &env)?;
    let mut boot = host::boot_files()?;
    let base = xen.base_archive(&mut boot)?;

    let mut t = Tree::new(cache_dir().join("run-root"))?;
    add_guest_files(&mut t, &boot, &examples, &xen)?;
    let mut init = xen.init_head();
    let mut runs = Vec::new();
    for a in &programs {
        xen.copy_exe(&mut t, &a.path, "/opt/tests")?;
        runs.push((
            a.name.clone(),
            format!("/opt/tests/{} {}", a.file_name(), suite.args),
        ));
    }
    last_at_the_end(&mut runs);
    if suite.lanes {
        let names: Vec<String> = runs.iter().map(|r| r.0.clone()).collect();
        let (lanes, solo) = plan_lanes(&names);
        init.push_str(&lane_report_function());
        for lane in &lanes {
            init.push_str("(\n");
            for &i in lane {
                init.push_str(&lane_block(&runs[i].0, &runs[i].1));
            }
            init.push_str(") &\n");
        }
        init.push_str("wait\n");
        for i in solo {
            init.push_str(&run_block(&runs[i].0, &runs[i].1));
        }
    } else {
        for (name, cmdline) in &runs {
            init.push_str(&run_block(name, cmdline));
        }
    }
    init.push_str(INIT_TAIL);
    t.write("/init", &init, true)?;
    let (results, ending, timed_out) = boot_and_collect(&boot, &base, &t, o)?;

    for r in &results {
        println!("\n===== {} (exit status {}) =====", r.name, rc_text(r));
        print!("{}", r.output);
    }
    explain_ending(ending, timed_out, o);
    println!(
        "\n{} wall time: {:.0} s",
        suite.name,
        started.elapsed().as_secs_f64()
    );
    if suite.kinds.contains(&"bench") {
        let ok = ending == Ending::Done && !timed_out && results.iter().all(|r| r.rc == Some(0));
        println!("bench: {}", if ok { "completed" } else { "FAILED" });
        return Ok(ok);
    }
    let retried: Vec<&String> = results.iter().flat_map(|r| &r.retried).collect();
    if !retried.is_empty() {
        println!(
            "\nran again after a guest's triple fault under TCG ({}):",
            retried.len()
        );
        for r in &retried {
            println!("  {r}");
        }
    }
    let (passed, failed) = report::totals(&results, ending, timed_out);
    println!("{passed} passed, {failed} failed");
    Ok(failed == 0)
}

/// The example programs `cargo xtask demo` runs in dom0, in order.
const DEMO: &[(&str, &str)] = &[
    ("list", ""),
    ("info", ""),
    ("domain", "Domain-0"),
    ("domain", "0"),
    ("xen-detect", ""),
    ("create", "/guest/demo-pv.cfg"),
    ("wait", "demo-pv 120"),
    ("create", "--paused --name demo-flags --kernel /guest/vmlinuz --ramdisk /guest/guest.cpio.gz --memory 128 --cmdline 'console=hvc0 rdinit=/init quiet xlstay'"),
    ("list", ""),
    ("attach", "demo-flags disk /tmp/demo.img xvdb"),
    ("attach", "demo-flags nic xenbr0 00:16:3e:00:00:42"),
    ("detach", "demo-flags disk xvdb"),
    ("detach", "demo-flags disk xvdz"),
    ("vcpu-list", ""),
    ("cpupool-list", ""),
    ("sched-credit2", "demo-flags 512"),
    ("vcpu-pin", "demo-flags 0 0"),
    ("mem-max", "demo-flags 256"),
    ("rename", "demo-flags demo-renamed"),
    ("rename", "demo-renamed demo-flags"),
    ("dmesg", ""),
    ("destroy", "demo-flags"),
    ("list", ""),
    ("domain", "no-such-domain"),
    ("async-create", "--wait /guest/demo-pv.cfg /guest/demo-pvh.cfg"),
];

/// `cargo xtask demo`: the examples, run in the Xen host.
pub fn demo(o: &VmOptions) -> Result<bool> {
    setup::install()?;
    let examples = build_examples(&["tokio"], false, &[])?;
    let boot = host::boot_files()?;
    let base = host::base_archive(&boot)?;
    let mut t = Tree::new(cache_dir().join("run-root"))?;
    add_guest_files(&mut t, &boot, &examples, &Prepared::Bookworm)?;
    let mut init = String::from(INIT_HEAD);
    let mut expected_ok = Vec::new();
    init.push_str("dd if=/dev/zero of=/tmp/demo.img bs=1M count=8 2>/dev/null\n");
    for (i, (name, args)) in DEMO.iter().enumerate() {
        if !examples.iter().any(|a| a.name == *name) {
            continue;
        }
        let label = format!("{i:02} {name} {args}");
        init.push_str(&format!(
            "echo; echo '$ {name} {}'\n",
            args.replace('\'', "")
        ));
        // By full path: `wait` would otherwise be the shell's builtin.
        init.push_str(&run_block(&label, &format!("/opt/bin/{name} {args}")));
        // The two demonstrations of errors are expected to fail.
        expected_ok.push((label, !args.contains("no-such") && !args.contains("xvdz")));
    }
    init.push_str("echo '$ xl list'; xl list\n");
    init.push_str(INIT_TAIL);
    t.write("/init", &init, true)?;
    let (results, ending, timed_out) = boot_and_collect(&boot, &base, &t, o)?;
    let mut ok = ending == Ending::Done && !timed_out;
    for r in &results {
        println!(
            "\n$ {}",
            r.name.split_once(' ').map(|x| x.1).unwrap_or(&r.name)
        );
        print!("{}", r.output);
        let want_success = expected_ok
            .iter()
            .find(|(l, _)| *l == r.name)
            .is_none_or(|(_, s)| *s);
        if (r.rc == Some(0)) != want_success {
            println!("(unexpected exit status {})", rc_text(r));
            ok = false;
        }
    }
    explain_ending(ending, timed_out, o);
    Ok(ok)
}

fn rc_text(r: &RunResult) -> String {
    r.rc.map_or("none: did not finish".into(), |c| c.to_string())
}

fn explain_ending(ending: Ending, timed_out: bool, o: &VmOptions) {
    let log = cache_dir().join("serial.log");
    let text = fs::read_to_string(&log).unwrap_or_default();
    if timed_out || ending != Ending::Done {
        let why = if timed_out {
            format!("the run timed out after {} s", o.timeout.as_secs())
        } else if ending == Ending::Crashed {
            "Xen or dom0 crashed".to_owned()
        } else {
            "QEMU exited before dom0 finished".to_owned()
        };
        println!(
            "\n!!!!! {why}; the last lines of the Xen console ({}):",
            log.display()
        );
        let lines: Vec<&str> = text.lines().collect();
        for l in &lines[lines.len().saturating_sub(60)..] {
            println!("  {l}");
        }
    }
}

/// Packs the overlay, boots, waits for the end, and parses the results.
fn boot_and_collect(
    boot: &BootFiles,
    base: &Path,
    overlay: &Tree,
    o: &VmOptions,
) -> Result<(Vec<RunResult>, Ending, bool)> {
    let dir = cache_dir();
    let initrd = dom0_initrd(base, overlay, "")?;
    let log = dir.join("serial.log");
    let mut attempt = 1;
    let (ending, timed_out) = loop {
        let _ = fs::remove_file(&log);
        fs::write(&log, "")?;
        let mut child = spawn_qemu(boot, &initrd, &log, o, &[])?;
        match watch(&mut child, &log, o.timeout)? {
            Watched::BootStalled if attempt < BOOT_ATTEMPTS => {
                let text = String::from_utf8_lossy(&fs::read(&log)?).into_owned();
                step!(
                    "==> dom0 did not come up within {} s (last console line: {:?}); booting again",
                    BOOT_LIMIT.as_secs(),
                    text.lines().last().unwrap_or_default()
                );
                attempt += 1;
            }
            Watched::BootStalled => {
                step!(
                    "==> dom0 did not come up within {} s, {BOOT_ATTEMPTS} times: giving up",
                    BOOT_LIMIT.as_secs()
                );
                break (report::ending(&fs::read_to_string(&log)?), true);
            }
            Watched::Ended { ending, timed_out } => break (ending, timed_out),
        }
    };
    let text = String::from_utf8_lossy(&fs::read(&log)?).into_owned();
    // QEMU may have exited after the watcher's last read.
    let ending = match ending {
        Ending::Running => report::ending(&text),
        seen => seen,
    };
    if !o.keep {
        let _ = fs::remove_dir_all(&overlay.root);
    }
    Ok((report::parse(&text), ending, timed_out))
}

/// Starts QEMU on `boot` and `initrd`, the serial console to `log` and
/// QEMU's own output beside it (`.qemu.out`); `network` stands for the
/// machine's NICs (`-nic none` when empty).
/// dom0's initramfs: the cached base archive, then `overlay` packed
/// (Linux unpacks the two in order), written under the cache directory
/// with `suffix` in its names (one per host where several boot).
pub(crate) fn dom0_initrd(base: &Path, overlay: &Tree, suffix: &str) -> Result<PathBuf> {
    let dir = cache_dir();
    let over = dir.join(format!("run{suffix}.cpio.gz"));
    overlay.pack(&over)?;
    let initrd = dir.join(format!("dom0{suffix}.cpio.gz"));
    let mut bytes = fs::read(base)?;
    bytes.extend(fs::read(&over)?);
    fs::write(&initrd, bytes)?;
    Ok(initrd)
}

pub(crate) fn spawn_qemu(
    boot: &BootFiles,
    initrd: &Path,
    log: &Path,
    o: &VmOptions,
    network: &[String],
) -> Result<Child> {
    let no_dom0_mem = o.no_dom0_mem;
    let accel: &[&str] = if std::env::var("XENLIGHT_VM_ACCEL").as_deref() == Ok("kvm") {
        &["-accel", "kvm", "-cpu", "host,-arch-capabilities"]
    } else {
        // +svm,+npt: Xen gets HVM with HAP, so PVH and HVM guests can start.
        &["-accel", "tcg,thread=multi", "-cpu", "qemu64,+svm,+npt"]
    };
    for p in [&boot.xen, &boot.kernel, &initrd.to_path_buf()] {
        if p.to_string_lossy().contains(',') {
            bail!(
                "{}: QEMU's multiboot loader cannot take a path with a comma",
                p.display()
            );
        }
    }
    // The 4.20 host's dom0 unpacks a larger root (trixie's toolstack and
    // QEMU beside our executables) into its RAM: it gets more of it.
    let dom0_mem = if o.xen == XenHost::Debian420 {
        "dom0_mem=1536M,max:1536M "
    } else {
        "dom0_mem=1024M,max:1024M "
    };
    // A source-built Xen has FLASK with its built-in policy: permissive, so
    // the suite runs as on a Xen without XSM, and the tests can switch it.
    let flask = match o.xen {
        XenHost::Source(_) => " flask=permissive",
        _ => "",
    };
    let extra = std::env::var("XENLIGHT_XEN_ARGS").unwrap_or_default();
    let xen_cmdline = format!(
        "console=com1 com1=115200,8n1 {}bootscrub=0 loglvl=warning guest_loglvl=warning noreboot{flask} {extra}",
        if no_dom0_mem { "" } else { dom0_mem }
    );
    let modules = format!(
        "{} console=hvc0 earlyprintk=xen rdinit=/init loglevel=4,{}",
        boot.kernel.display(),
        initrd.display()
    );
    let qemu_out = fs::File::create(log.with_extension("qemu.out"))?;
    step!(
        "==> booting {} in QEMU ({}, {} CPUs{})",
        boot.xen
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        accel[1],
        o.cpus,
        if no_dom0_mem {
            ", no dom0_mem: dom0 holds all memory"
        } else {
            ""
        }
    );
    Command::new("qemu-system-x86_64")
        .args(accel)
        .args([
            "-m",
            // The scale bench's 200 guests of 32 MiB beside dom0's GiB.
            if o.scale { "10240" } else { "6144" },
            "-smp",
            &o.cpus.to_string(),
            "-nographic",
            "-monitor",
            "none",
            // A PCI device for the passthrough tests: QEMU's educational
            // device, which talks to nothing outside the machine.
            "-device",
            "edu",
        ])
        .args(if network.is_empty() {
            vec!["-nic".to_owned(), "none".to_owned()]
        } else {
            network.to_vec()
        })
        .args(["-no-reboot", "-serial"])
        .arg(format!("file:{}", log.display()))
        .arg("-kernel")
        .arg(&boot.xen)
        .args(["-append", &xen_cmdline, "-initrd", &modules])
        .stdin(Stdio::null())
        .stdout(qemu_out.try_clone()?)
        .stderr(qemu_out)
        .spawn()
        .context("qemu-system-x86_64 did not start; run `cargo xtask setup`")
}

/// How long dom0 may take to say it is up (it takes 10 to 60 s): under
/// TCG a boot now and then stops early in the kernel (seen once, at
/// "Poking KASLR using RDTSC..." with 4 CPUs), and is then booted again.
const BOOT_LIMIT: Duration = Duration::from_secs(240);
const BOOT_ATTEMPTS: u32 = 2;

/// How a watched boot ended.
pub(crate) enum Watched {
    /// dom0 never said it was up within [`BOOT_LIMIT`]; QEMU was ended.
    BootStalled,
    /// The run ended (or timed out, `timed_out`).
    Ended { ending: Ending, timed_out: bool },
}

/// Follows the serial log until init is done, Xen or dom0 crashed, QEMU
/// exited, dom0 did not come up in time, or the timeout passed; QEMU is
/// ended in every case.
pub(crate) fn watch(child: &mut Child, log: &Path, timeout: Duration) -> Result<Watched> {
    let start = Instant::now();
    let mut file = fs::File::open(log)?;
    let mut seen = String::new();
    let mut pos = 0u64;
    let mut ended_at: Option<Instant> = None;
    loop {
        std::thread::sleep(Duration::from_millis(300));
        file.seek(SeekFrom::Start(pos))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)?;
        pos += buf.len() as u64;
        let chunk = String::from_utf8_lossy(&buf);
        for line in chunk.lines() {
            let l = line.trim_end_matches('\r');
            if l.starts_with(protocol::RUN_BEGIN)
                || l.starts_with(protocol::RUN_END)
                || l.starts_with(protocol::UP)
                || l.starts_with(protocol::DONE)
            {
                println!("   [{:>5.1}s] {l}", start.elapsed().as_secs_f64());
            }
        }
        seen.push_str(&chunk);
        let ending = report::ending(&seen);
        let exited = child.try_wait()?.is_some();
        match ending {
            Ending::Done | Ending::Crashed if ended_at.is_none() => ended_at = Some(Instant::now()),
            _ => {}
        }
        // After the end, give QEMU a moment to power off (or Xen to finish its
        // crash dump), then stop it.
        let grace = if ending == Ending::Done { 30 } else { 3 };
        let stalled = ending == Ending::Running
            && !seen.contains(protocol::UP)
            && start.elapsed() > BOOT_LIMIT;
        let over = exited || ended_at.is_some_and(|t| t.elapsed() > Duration::from_secs(grace));
        let outcome = if over {
            Some(Watched::Ended {
                ending,
                timed_out: false,
            })
        } else if stalled {
            Some(Watched::BootStalled)
        } else if start.elapsed() > timeout {
            Some(Watched::Ended {
                ending,
                timed_out: true,
            })
        } else {
            None
        };
        if let Some(w) = outcome {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shell side of the protocol (the asset scripts) prints the markers
    /// the Rust side reads.
    #[test]
    fn init_scripts_speak_the_protocol() {
        assert!(INIT_HEAD.contains(&format!("echo \"{}", protocol::UP)));
        assert!(INIT_TAIL.contains(protocol::DONE));
        let block = run_block("t", "/bin/true");
        assert!(block.contains(&protocol::run_begin("t")));
        let end = format!("{}t rc=0{}", protocol::RUN_END, protocol::MARK);
        assert_eq!(protocol::parse_run_end(&end), Some("t rc=0"));
        assert!(crate::host::GUEST_INIT.contains(protocol::GUEST_HELLO.trim_end()));
        assert!(crate::host::GUEST_INIT.contains(protocol::GUEST_COUNT.trim_end()));
        assert!(crate::host::GUEST_INIT.contains(protocol::GUEST_ACPI_ARMED));
        assert!(crate::host::GUEST_INIT.contains(protocol::GUEST_POWER_BUTTON));
        assert!(crate::host::GUEST_INIT.contains(protocol::GUEST_KEXEC));
        assert!(crate::host::GUEST_INIT.contains(protocol::GUEST_CPUS.trim_end()));
        assert!(
            include_str!("../assets/guest-poweroff.sh").contains(protocol::GUEST_POWEROFF_REQUEST)
        );
    }

    /// Two lanes of programs run side by side print each program's output
    /// whole between its markers, and every program is read back with its
    /// exit status (run here with the host's sh and flock).
    #[test]
    fn lanes_print_each_program_whole() {
        let dir = std::env::temp_dir().join(format!("xtask-lanes-{}", std::process::id()));
        let mut script = lane_report_function();
        script.push_str("(\n");
        script.push_str(&lane_block(
            "a",
            "sh -c 'echo a1; sleep 0.2; echo a2; exit 3'",
        ));
        script.push_str(&lane_block("b", "sh -c 'echo b1'"));
        script.push_str(") &\n(\n");
        script.push_str(&lane_block("c", "sh -c 'sleep 0.1; echo c1; echo c2'"));
        script.push_str(") &\nwait\n");
        script.push_str(&run_block("solo", "echo s1"));
        let script = script.replace("/tmp/runs", &dir.to_string_lossy());
        let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        let _ = fs::remove_dir_all(&dir);
        let log = String::from_utf8_lossy(&out.stdout);
        let results = report::parse(&log);
        let find = |n: &str| results.iter().find(|r| r.name == n).unwrap();
        assert_eq!(find("a").rc, Some(3), "{log}");
        assert_eq!(find("a").output, "a1\na2\n", "{log}");
        assert_eq!(find("b").output, "b1\n");
        assert_eq!(find("c").output, "c1\nc2\n");
        assert_eq!(find("solo").rc, Some(0));
        // The solo program runs after both lanes.
        assert_eq!(results.last().unwrap().name, "solo");
    }

    /// Every program is in exactly one lane or among the solo ones, the
    /// solo ones never in a lane, and the lanes are balanced.
    #[test]
    fn lanes_are_planned_balanced_with_solo_programs_apart() {
        let names: Vec<String> = [
            "xen_ops",
            "xen_xlcfg",
            "xen_devices",
            "xen_shutdown",
            "xen_async",
            "xen_domains",
            "xen_hostile",
            "downstream",
            "xenlight-lib",
            "unknown",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (lanes, solo) = plan_lanes(&names);
        let mut all: Vec<usize> = lanes.iter().flatten().chain(&solo).copied().collect();
        all.sort();
        assert_eq!(all, (0..names.len()).collect::<Vec<_>>());
        for &i in &solo {
            assert!(SOLO.contains(&names[i].as_str()));
        }
        assert_eq!(solo.len(), 3);
        assert!(lanes[0].contains(&0), "the longest program leads lane 0");
        assert!(lanes.iter().all(|l| !l.is_empty()));
    }

    /// A program that leaves the host changed runs after every other, in
    /// a focused run (one list) and in a full one (after the solo ones).
    #[test]
    fn programs_that_change_the_host_run_last() {
        let mut runs: Vec<(String, ())> = ["xen_ops", "xen_rtds", "xen_domains", "xen_async"]
            .iter()
            .map(|n| (n.to_string(), ()))
            .collect();
        last_at_the_end(&mut runs);
        let names: Vec<String> = runs.into_iter().map(|r| r.0).collect();
        assert_eq!(names, ["xen_ops", "xen_domains", "xen_async", "xen_rtds"]);
        let (lanes, solo) = plan_lanes(&names);
        assert!(lanes.iter().flatten().all(|&i| names[i] != "xen_rtds"));
        assert_eq!(
            solo.iter().map(|&i| names[i].as_str()).collect::<Vec<_>>(),
            ["xen_domains", "xen_rtds"]
        );
    }
}
