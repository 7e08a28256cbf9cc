//! Helpers shared by the hypervisor tests (run in the Xen host by
//! `cargo xtask vm-test`).
#![allow(dead_code)]

pub mod protocol;
pub mod release;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use xenlight::{Context, Domid};

/// Xen's console lines about guest triple faults.
fn triple_faults(dmesg: &str) -> Vec<String> {
    dmesg
        .lines()
        .filter(|l| l.contains("Triple fault"))
        .map(str::to_owned)
        .collect()
}

/// Runs `body` (a test that boots PVH or HVM guests), and again (at most
/// [`TRIPLE_FAULT_RETRIES`] times) when it failed while Xen logged a
/// triple fault of a guest vCPU that it had not logged before. Under
/// QEMU's TCG emulation a PVH/HVM guest's vCPU now and then triple-faults
/// (Xen: `d18v0 Triple fault - invoking HVM shutdown action 1`; in full
/// suites with two lanes, two to five times a run) and the guest reboots
/// instead of doing what the test waits for: a fault of the emulated CPU,
/// not of the toolstack. Any other failure, and a failure once the
/// retries are spent, fail the test; each retry is printed past libtest's
/// capture as a `TEST-RETRIED` marker (named by libtest's thread for the
/// test), which `cargo xtask vm-test` reports.
pub fn retry_after_triple_fault(body: impl Fn()) {
    let ctx = Context::new().expect("a Xen dom0");
    retry_after_triple_fault_in(|| ctx.xen_dmesg(false).unwrap_or_default(), body);
}

/// How many times [`retry_after_triple_fault`] runs a test again.
pub const TRIPLE_FAULT_RETRIES: usize = 4;

/// [`retry_after_triple_fault`] in a process that has no sync `Context`
/// (an `AsyncContext`'s: libxl wants one SIGCHLD mode per process): Xen's
/// log is read with `xl dmesg`.
pub fn retry_after_triple_fault_xl(body: impl Fn()) {
    retry_after_triple_fault_in(|| run("xl", &["dmesg"]), body);
}

fn retry_after_triple_fault_in(dmesg: impl Fn() -> String, body: impl Fn()) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    for retry in 0..=TRIPLE_FAULT_RETRIES {
        let before = triple_faults(&dmesg());
        let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&body)) else {
            return;
        };
        let after = triple_faults(&dmesg());
        let fault = after.iter().find(|l| !before.contains(l));
        let (Some(fault), true) = (fault, retry < TRIPLE_FAULT_RETRIES) else {
            std::panic::resume_unwind(panic);
        };
        let _ = writeln!(
            std::io::stderr(),
            "{}{test}: {}{}",
            protocol::TEST_RETRIED,
            fault.trim(),
            protocol::MARK
        );
        // Faults come in runs (a CI run of 2026-12-03 saw one guest fault
        // five boots in a row while the other lane was busy, and pass alone
        // right after): wait longer before each retry, so the next boot
        // meets a different moment of the other lane.
        std::thread::sleep(RETRY_BACKOFF * (1 << retry));
    }
}

/// How long [`retry_after_triple_fault`] waits before its first retry;
/// each further wait doubles (5 + 10 + 20 + 40 s at most).
const RETRY_BACKOFF: Duration = Duration::from_secs(5);

/// Runs `body` in a child process (this test executable again, running
/// only the test named `test`), so an abort, `_exit` or signal there is
/// seen as such here instead of killing the test run. In the child it runs
/// `body` and returns `None`; in the parent it returns how the child ended.
pub fn in_child(test: &str, body: impl FnOnce()) -> Option<std::process::Output> {
    const CHILD: &str = "XENLIGHT_TEST_CHILD";
    if std::env::var(CHILD).as_deref() == Ok(test) {
        body();
        return None;
    }
    let exe = std::env::current_exe().expect("the test executable");
    let out = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .output()
        .expect("run the test executable as a child");
    Some(out)
}

/// Asserts that a child run by [`in_child`] ran its test to the end and
/// passed: no panic, no abort, no signal, no `_exit`.
pub fn assert_child_passed(out: &std::process::Output) {
    use std::os::unix::process::ExitStatusExt;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child ended with {:?} (signal {:?}):\n{stdout}\n{}",
        out.status.code(),
        out.status.signal(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether this machine is a Xen host (dom0 or guest): the off-Xen tests
/// check what happens without one, and say so and pass when there is one.
pub fn on_xen() -> bool {
    std::path::Path::new("/proc/xen/capabilities").exists()
        || std::path::Path::new("/sys/hypervisor/type").exists()
}

/// Whether this Xen host offers `feature` beyond the common set, as the
/// harness that built it says (`XENLIGHT_HOST_FEATURES` in dom0's init):
/// `qemu` (a device model: Debian's hosts), `flask`, `rtds`, `arinc653`,
/// `shadow` (the Xen built from source). A test that depends on one asserts
/// the host's documented refusal where it is absent, so it can fail on
/// either kind of host.
pub fn host_has(feature: &str) -> bool {
    std::env::var("XENLIGHT_HOST_FEATURES")
        .unwrap_or_else(|_| "qemu".into())
        .split_whitespace()
        .any(|f| f == feature)
}

/// For a test that needs QEMU as device model (an HVM guest, or a PV
/// guest's devices QEMU serves: channels, vkb): false, with the reason
/// printed, on a host without one (the source-built Xen has no QEMU).
pub fn device_model_available(test: &str) -> bool {
    let ok = host_has("qemu");
    if !ok {
        println!("SKIPPED {test}: this host has no QEMU device model (a Xen built without QEMU)");
    }
    ok
}

/// Every test domain's name starts with this, so leftovers are recognisable.
pub const PREFIX: &str = "xlt-";

/// Where the Xen host keeps the test guest's kernel and initrd.
pub fn guest_dir() -> PathBuf {
    PathBuf::from(std::env::var("XENLIGHT_GUEST_DIR").unwrap_or_else(|_| "/guest".into()))
}

/// Where the Xen host keeps the example programs.
pub fn examples_dir() -> PathBuf {
    PathBuf::from(std::env::var("XENLIGHT_EXAMPLES_DIR").unwrap_or_else(|_| "/opt/bin".into()))
}

/// Runs a command and returns its stdout, failing the test on error.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A domain that is destroyed when the guard drops, even if the test fails.
pub struct DomainGuard<'a> {
    pub ctx: &'a Context,
    pub domid: Domid,
}

impl Drop for DomainGuard<'_> {
    fn drop(&mut self) {
        let _ = self.ctx.destroy(self.domid);
        let _ = wait_gone(self.ctx, self.domid, Duration::from_secs(30));
    }
}

/// CPUs a test took from Pool-0 and the pool it made of them: when the
/// guard drops (also when the test fails) the pool is destroyed, once
/// made, and the CPUs go back into Pool-0.
pub struct PoolRestore<'a> {
    pub ctx: &'a Context,
    pub pool: Option<u32>,
    pub cpus: &'static [u32],
}

impl Drop for PoolRestore<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.pool {
            let _ = self.ctx.destroy_cpupool(p);
        }
        for &cpu in self.cpus {
            let _ = self.ctx.cpupool_add_cpu(0, cpu);
        }
    }
}

/// Starts a PV test guest that stays up, guarded, and waits until it has
/// booted (its `@@GUEST-HELLO <name>@@` line).
pub fn booted_guest<'a>(ctx: &'a Context, name: &str) -> DomainGuard<'a> {
    let domid = ctx
        .create_domain(&pv_guest(name, true))
        .expect("create_domain");
    let guard = DomainGuard { ctx, domid };
    assert!(
        wait_for_console(name, &protocol::guest_hello(name), Duration::from_secs(60)),
        "{name} did not boot: {}",
        console_log(name)
    );
    guard
}

/// A running guest of type `ty` that prints `@@GUEST-COUNT n@@` once a
/// second (`xlcount`), returned once it has counted twice.
pub fn counting_guest<'a>(
    ctx: &'a Context,
    name: &str,
    ty: xenlight::DomainType,
) -> DomainGuard<'a> {
    let mut cfg = guest_of_type(name, ty, true);
    let b = &mut cfg.libxl.b_info;
    b.cmdline = b.cmdline.take().map(|c| format!("{c} xlcount"));
    let domid = ctx.create_domain(&cfg).expect("create a counting guest");
    let guard = DomainGuard { ctx, domid };
    assert!(
        wait_until(Duration::from_secs(90), || {
            protocol::guest_counts(&console_log(name)).len() >= 2
        }),
        "the guest did not count: {}",
        console_log(name)
    );
    guard
}

/// Polls until the domain no longer exists (libxl may report it as dying
/// for a moment after destroy).
pub fn wait_gone(ctx: &Context, domid: Domid, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if matches!(ctx.domain_exists(domid), Ok(false)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Polls `f` until it returns true or the timeout passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The console log xenconsoled writes for a guest.
pub fn console_log(name: &str) -> String {
    std::fs::read_to_string(format!("/var/log/xen/console/guest-{name}.log")).unwrap_or_default()
}

/// Waits until the guest's console shows `text`.
pub fn wait_for_console(name: &str, text: &str, timeout: Duration) -> bool {
    wait_until(timeout, || console_log(name).contains(text))
}

/// An xl.cfg for the test guest: a PV (or PVH) busybox guest that prints
/// `@@GUEST-HELLO <name>@@`, then powers off or, with `stay`, stays up.
pub fn guest_cfg(name: &str, kind: &str, stay: bool) -> String {
    let g = guest_dir();
    format!(
        "name = \"{name}\"\ntype = \"{kind}\"\nkernel = \"{}/vmlinux\"\nramdisk = \"{}/guest.cpio.gz\"\n\
         memory = 128\nvcpus = 1\nextra = \"console=hvc0 rdinit=/init quiet xlmarker={name}{}\"\n\
         on_poweroff = \"destroy\"\n",
        g.display(),
        g.display(),
        if stay { " xlstay" } else { "" }
    )
}

/// Starts the test guest with `xl create` and returns its domid.
pub fn xl_create_guest(ctx: &Context, name: &str, stay: bool) -> Domid {
    let path = format!("/tmp/{name}.cfg");
    std::fs::write(&path, guest_cfg(name, "pv", stay)).expect("write cfg");
    run("xl", &["create", "-q", &path]);
    ctx.domid_by_name(name)
        .expect("the guest xl created is listed")
}

/// A PV test guest built with the builder (uncompressed kernel, 128 MiB).
pub fn pv_guest(name: &str, stay: bool) -> xenlight::DomainConfig {
    guest_of_type(name, xenlight::DomainType::Pv, stay)
}

/// [`pv_guest`] as a guest of type `ty` (the same kernel and ramdisk).
pub fn guest_of_type(name: &str, ty: xenlight::DomainType, stay: bool) -> xenlight::DomainConfig {
    let g = guest_dir();
    xenlight::DomainConfig::new(name, ty)
        .memory_mib(128)
        .kernel(g.join("vmlinux").to_str().unwrap())
        .ramdisk(g.join("guest.cpio.gz").to_str().unwrap())
        .cmdline(format!(
            "console=hvc0 rdinit=/init quiet xlmarker={name}{}",
            if stay { " xlstay" } else { "" }
        ))
}

/// A guest booted straight from the test kernel (compressed for HVM,
/// whose firmware loads it), named with [`PREFIX`], that stays up.
pub fn direct_boot_guest(name: &str, ty: xenlight::DomainType) -> xenlight::DomainConfig {
    let g = guest_dir();
    let kernel = if ty == xenlight::DomainType::Hvm {
        "vmlinuz"
    } else {
        "vmlinux"
    };
    xenlight::DomainConfig::new(format!("{PREFIX}{name}"), ty)
        .memory_mib(128)
        .kernel(g.join(kernel).to_str().unwrap())
        .ramdisk(g.join("guest.cpio.gz").to_str().unwrap())
        .cmdline("console=hvc0 rdinit=/init quiet xlstay")
}

/// An HVM test guest started straight from its kernel and initrd, its
/// console on the emulated serial port and logged to the returned file (an
/// old log removed first); `words` go to the guest's init (`xlacpi`, ...).
pub fn hvm_serial_guest(name: &str, words: &str) -> (xenlight::DomainConfig, String) {
    let serial = format!("/tmp/{name}-serial.log");
    let _ = std::fs::remove_file(&serial);
    let g = guest_dir();
    let cfg = xenlight::DomainConfig::new(name, xenlight::DomainType::Hvm)
        .memory_mib(128)
        .kernel(g.join("vmlinuz").to_str().unwrap())
        .ramdisk(g.join("guest.cpio.gz").to_str().unwrap())
        .cmdline(format!(
            "console=ttyS0 rdinit=/init xlmarker={name} {words}"
        ))
        .serial(format!("file:{serial}"));
    (cfg, serial)
}

/// An HVM arm made headless, as the builder's own HVM default: no
/// graphics, VNC, SDL or emulated VGA.
pub fn headless(h: &mut xenlight::types::DomainBuildInfoTypeHvm) {
    h.nographic = Some(true);
    h.vnc.enable = Some(false);
    h.sdl.enable = Some(false);
    h.vga.kind = xenlight::types::VgaInterfaceType::None;
}

/// This process's resident set size in KiB.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The hotplug scripts' log (xen-hotplug-common.sh sends stderr there).
pub fn hotplug_log() -> String {
    std::fs::read_to_string("/var/log/xen/xen-hotplug.log").unwrap_or_default()
}

/// One round of the event-stream test (issue 14): a thread consumes
/// [`Context::domain_events`] while three threads each create a guest,
/// wait for its shutdown and destroy it; every shutdown and every death
/// must arrive exactly once, shutdown before death, no wait timing out.
pub fn event_stream_round(ctx: &Context, round: usize) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use xenlight::{DomainEvent, ShutdownReason};
    let created = Mutex::new(Vec::<(xenlight::Domid, String, xenlight::Uuid)>::new());
    let finished = AtomicUsize::new(0);
    let seen = std::thread::scope(|s| {
        let mut events = ctx.domain_events().unwrap();
        let (fin, mine) = (&finished, &created);
        let consumer = s.spawn(move || {
            let mut seen = Vec::new();
            let deadline = std::time::Instant::now() + Duration::from_secs(300);
            loop {
                if let Some(ev) = events.next_event(Duration::from_millis(500)).unwrap() {
                    seen.push(ev);
                }
                // Only this round's deaths count: another test's guests
                // may die meanwhile (the full suite runs two lanes).
                let all_done = fin.load(Ordering::SeqCst) == 3;
                let mine = mine.lock().unwrap();
                let deaths = seen
                    .iter()
                    .filter(|e| {
                        matches!(e, DomainEvent::Death { .. })
                            && mine.iter().any(|(d, ..)| *d == e.domid())
                    })
                    .count();
                drop(mine);
                if (all_done && deaths >= 3) || std::time::Instant::now() > deadline {
                    return seen;
                }
            }
        });
        for i in 0..3 {
            let (ctx, created, finished) = (&ctx, &created, &finished);
            s.spawn(move || {
                let name = format!("{PREFIX}stream-{round}-{i}");
                let domid = ctx.create_domain(&pv_guest(&name, false)).expect("create");
                let uuid = ctx.domain_info(domid).expect("info").uuid;
                created.lock().unwrap().push((domid, name.clone(), uuid));
                let guard = DomainGuard { ctx, domid };
                let reason = ctx
                    .wait_for_shutdown(domid, Duration::from_secs(180))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(reason, ShutdownReason::Poweroff);
                drop(guard);
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        consumer.join().unwrap()
    });
    for (domid, name, uuid) in created.into_inner().unwrap() {
        let mine: Vec<&DomainEvent> = seen.iter().filter(|e| e.domid() == domid).collect();
        // Each event names its domain, the death too (the domain is gone
        // by then: the stream kept its name).
        let name = Some(name);
        assert_eq!(
            mine,
            [
                &DomainEvent::Shutdown {
                    domid,
                    name: name.clone(),
                    uuid,
                    reason: ShutdownReason::Poweroff
                },
                &DomainEvent::Death { domid, name, uuid }
            ],
            "round {round}, domain {domid}: {seen:?}"
        );
    }
}

/// A paused PV guest named [`PREFIX`] + `name`, destroyed when the guard drops.
pub fn paused_guest<'a>(ctx: &'a Context, name: &str) -> DomainGuard<'a> {
    let domid = ctx
        .create_domain_paused(&pv_guest(&format!("{PREFIX}{name}"), true))
        .expect("create paused");
    DomainGuard { ctx, domid }
}

/// Files a test removes when it ends, passed or not (dom0's /tmp is RAM).
pub struct RemoveOnDrop(pub Vec<String>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for f in &self.0 {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// `xl remus -b`'s settings (unsafe, no network or disk buffering: no
/// backup host) and a socket to write the checkpoints to, whose reader
/// takes at most [`REMUS_READ`] bytes and then closes its end: on a Xen
/// that can replicate (shadow paging for the guest's log-dirty mode) that
/// is the guest's whole memory and checkpoints after it, and then the
/// replication fails as it does when a backup host goes away. The reader
/// returns how many bytes it got.
pub fn remus_into_a_reader_that_stops() -> (
    xenlight::types::DomainRemusInfo,
    std::os::fd::OwnedFd,
    std::thread::JoinHandle<u64>,
) {
    use std::io::Read;
    let info = xenlight::types::DomainRemusInfo {
        interval: 100,
        blackhole: Some(true),
        allow_unsafe: Some(true),
        netbuf: Some(false),
        diskbuf: Some(false),
        ..Default::default()
    };
    let (send, mut recv) = std::os::unix::net::UnixStream::pair().expect("a socket pair");
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut got = 0u64;
        while got < REMUS_READ {
            match recv.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n as u64,
            }
        }
        got
    });
    (info, send.into(), reader)
}

/// What [`remus_into_a_reader_that_stops`] reads: more than a 128 MiB
/// guest's first full pass.
pub const REMUS_READ: u64 = 160 << 20;

/// Asserts what a replication that [`remus_into_a_reader_that_stops`]
/// ended did on this host: no byte of guest memory where Xen cannot
/// replicate, [`REMUS_READ`] and the rest of the reader's last read where
/// it can (`shadow`).
pub fn assert_replicated_as_xen_allows(read: u64) {
    if host_has("shadow") {
        assert!(
            read >= REMUS_READ,
            "the replication stopped after {read} bytes, before the reader did"
        );
    } else {
        assert!(
            read < 1 << 20,
            "{read} bytes replicated without shadow paging"
        );
    }
}

/// Asserts that a counting guest ([`counting_guest`]) counts on: its
/// count grows by two within a minute. `after` says after what.
pub fn assert_counts_on(ctx: &Context, name: &str, domid: Domid, after: &str) {
    let counts = || protocol::guest_counts(&console_log(name));
    let last = *counts().last().expect("the guest has counted");
    assert!(
        wait_until(Duration::from_secs(60), || counts()
            .last()
            .is_some_and(|n| *n > last + 1)),
        "the guest does not run after {after}: {:?}",
        ctx.domain_info(domid).map(|i| i.state)
    );
}

/// Ends this test process, after printing where each of its threads waits,
/// if it is still running `after` from now (unless the guard has dropped):
/// a test that hangs in the Xen host then fails with its own evidence
/// instead of leaving the host to its harness's timeout.
pub fn watchdog(what: &'static str, after: Duration) -> Watchdog {
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = done.clone();
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < after {
            if seen.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        use std::fmt::Write as _;
        // Written straight to fd 2: libtest captures eprintln! in the
        // threads a test spawns, and the exit below would drop that.
        let mut report = format!("\n{what}: still running after {after:?}; where it waits:\n");
        let _ = writeln!(report, "{}", thread_stacks("self"));
        for child in children_of(std::process::id()) {
            let _ = writeln!(
                report,
                "child process {child}:\n{}",
                thread_stacks(&child.to_string())
            );
        }
        let ran = |cmd: &str, args: &[&str]| {
            Command::new(cmd)
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_else(|e| format!("{cmd}: {e}"))
        };
        let _ = writeln!(report, "xl list:\n{}", ran("xl", &["list"]));
        let _ = writeln!(
            report,
            "/proc/net/tcp:\n{}",
            std::fs::read_to_string("/proc/net/tcp").unwrap_or_default()
        );
        let dmesg = ran("xl", &["dmesg"]);
        let tail: Vec<&str> = dmesg.lines().rev().take(20).collect();
        let _ = writeln!(report, "xl dmesg (last 20 lines):");
        for l in tail.iter().rev() {
            let _ = writeln!(report, "{l}");
        }
        let _ = writeln!(report, "{what}: FAILED (watchdog)");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), report.as_bytes());
        std::process::exit(3);
    });
    Watchdog { done }
}

/// Disarms [`watchdog`] when dropped.
pub struct Watchdog {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                == Some(pid)
        })
        .collect()
}

/// Each thread of process `pid` ("self" or a number): its name, the
/// system call it is in (`/proc/PID/task/N/syscall`: number and
/// arguments), the mapping that holds a futex it waits on, and its kernel
/// stack; then its open fds.
fn thread_stacks(pid: &str) -> String {
    let mut out = String::new();
    let proc = PathBuf::from("/proc").join(pid);
    let maps = std::fs::read_to_string(proc.join("maps")).unwrap_or_default();
    let Ok(tasks) = std::fs::read_dir(proc.join("task")) else {
        return format!("no {}/task", proc.display());
    };
    for t in tasks.flatten() {
        let p = t.path();
        let read = |f: &str| std::fs::read_to_string(p.join(f)).unwrap_or_default();
        let syscall = read("syscall");
        let mut words = syscall.split_whitespace();
        // 202 is futex on x86-64: name the mapping its address lies in.
        let futex = match (words.next(), words.next()) {
            (Some("202"), Some(addr)) => u64::from_str_radix(addr.trim_start_matches("0x"), 16)
                .ok()
                .and_then(|a| mapping_of(&maps, a))
                .map(|m| format!("\n    futex in: {m}"))
                .unwrap_or_default(),
            _ => String::new(),
        };
        out += &format!(
            "thread {} ({}): syscall {}{futex}{}\n",
            t.file_name().to_string_lossy(),
            read("comm").trim(),
            syscall.trim(),
            read("stack")
                .lines()
                .map(|l| format!("\n    {l}"))
                .collect::<String>()
        );
    }
    let fds: Vec<String> = std::fs::read_dir(proc.join("fd"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|fd| {
            let to = std::fs::read_link(fd.path()).unwrap_or_default();
            format!("{} -> {}", fd.file_name().to_string_lossy(), to.display())
        })
        .collect();
    out + &format!("fds: {}\n", fds.join(", "))
}

/// The line of a `/proc/PID/maps` text whose range holds `addr`, and the
/// file-backed mapping just before it (a library's .bss follows its
/// file's last mapping).
fn mapping_of(maps: &str, addr: u64) -> Option<String> {
    let mut previous = "";
    for line in maps.lines() {
        let range = line.split_whitespace().next()?;
        let (lo, hi) = range.split_once('-')?;
        let (lo, hi) = (
            u64::from_str_radix(lo, 16).ok()?,
            u64::from_str_radix(hi, 16).ok()?,
        );
        if (lo..hi).contains(&addr) {
            return Some(format!("{line} (after: {previous})"));
        }
        if line.split_whitespace().nth(5).is_some() {
            previous = line;
        }
    }
    None
}
