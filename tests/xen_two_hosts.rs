//! Live migration between two Xen hosts: the halves `cargo xtask
//! two-hosts` runs, one in each of two disposable hosts joined by a
//! network that stays on the machine that runs them (QEMU socket
//! networking on 127.0.0.1, link-local addresses). Both are ignored in
//! every other run, and return at once where the harness set no peer.

mod common;

use common::*;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use xenlight::{Context, DomainType};

/// The migrated guest's name on both hosts.
const NAME: &str = "xlt-two-hosts";

/// How long each half waits for the other (the other host may still be
/// booting, or its guest still starting, under TCG).
const PEER_WAIT: Duration = Duration::from_secs(600);
/// How long one migration may take before its watchdog ends the test.
const MIGRATION_WAIT: Duration = Duration::from_secs(180);

/// The sending half: a counting PV guest, live-migrated over TCP to the
/// receiver at `XENLIGHT_PEER` (host:port), runs on here when the
/// receiver goes away midway, and is gone from this host once a second
/// migration succeeds.
#[test]
#[ignore = "one half of cargo xtask two-hosts"]
fn two_hosts_send_a_counting_guest_live() {
    let Ok(peer) = std::env::var("XENLIGHT_PEER") else {
        println!("not a two-host run (no XENLIGHT_PEER)");
        return;
    };
    let ctx = Context::new().unwrap();
    let guard = counting_guest(&ctx, NAME, DomainType::Pv);
    let counted = protocol::guest_counts(&console_log(NAME));
    println!("counted here: {counted:?}");
    let started = Instant::now();
    let connect = || loop {
        match TcpStream::connect(&peer) {
            Ok(s) => break s,
            Err(_) if started.elapsed() < PEER_WAIT => {
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => panic!("no receiver at {peer} within {PEER_WAIT:?}: {e}"),
        }
    };
    // The first receiver is killed midway: the migration fails and the
    // guest runs on here.
    // A migration here takes seconds; one that hangs (seen once in CI,
    // 2026-12-03: the second one never returned) ends the test with where
    // it waits.
    let mut stream = connect();
    let first = watchdog("the first migration", MIGRATION_WAIT);
    let e = ctx.migrate_send(guard.domid, &mut stream).unwrap_err();
    drop((first, stream));
    println!("the first migration: {e}");
    assert!(matches!(e, xenlight::Error::Migration { .. }), "{e:?}");
    assert_eq!(ctx.domid_by_name(NAME).unwrap(), guard.domid);
    assert_counts_on(&ctx, NAME, guard.domid, "the receiver went away");
    let before = protocol::guest_counts(&console_log(NAME));
    println!(
        "the last count here before the migration: {:?}",
        before.last()
    );
    let mut stream = connect();
    let _second = watchdog("the second migration", MIGRATION_WAIT);
    let watch = watch_downtime(guard.domid);
    let t = Instant::now();
    ctx.migrate_send(guard.domid, &mut stream)
        .expect("migrate_send");
    println!("migrated to {peer} in {:.1} s", t.elapsed().as_secs_f64());
    match downtime_seen(watch) {
        Some(down) => println!(
            "downtime at most {} ms (suspended here until the receiver had it running)",
            down.as_millis()
        ),
        None => panic!("the guest was never seen suspended here"),
    }
    assert!(
        wait_gone(&ctx, guard.domid, Duration::from_secs(30)),
        "the guest is still here after its migration"
    );
    assert!(
        ctx.domid_by_name(NAME).is_err(),
        "{NAME} is still listed here"
    );
}

/// Watches `domid` while it migrates, from another process (the hidden
/// test below): from the first sight of it suspended to the first sight
/// of it dying or gone. The sender destroys its copy only once the
/// receiver reports the guest running (`migrate_send`'s hand-over), so
/// this bounds the downtime from above, by one round trip and one poll.
///
/// Not from a thread of this process: libxl's destroy forks a child that
/// makes hypercalls, and a fork while another thread holds libxencall's
/// buffer-cache lock leaves that child waiting on the lock forever (seen
/// here: the destroy never returned; see docs/RELIABILITY.md).
/// Returns once the watcher has its context and watches.
fn watch_downtime(domid: xenlight::Domid) -> Watcher {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            WATCHER,
            "--ignored",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WATCH_DOMID, domid.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the downtime watcher");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let watching = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.ends_with(WATCHING));
    assert!(watching, "the downtime watcher did not start");
    Watcher { child, lines }
}

struct Watcher {
    child: std::process::Child,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

/// A watcher left behind by a failing test must not outlive it.
impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The downtime the watcher printed, if it saw the domain suspended.
fn downtime_seen(mut w: Watcher) -> Option<Duration> {
    w.lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.split_once(DOWNTIME)?.1.trim().parse().ok())
        .map(Duration::from_micros)
}

const WATCHER: &str = "two_hosts_watch_a_migrating_domain";
const WATCH_DOMID: &str = "XENLIGHT_WATCH_DOMID";
const DOWNTIME: &str = "xenlight-watcher: downtime-us:";
/// libtest prints the test's name and its first output on one line, so
/// the markers are looked for at the end of a line.
const WATCHING: &str = "xenlight-watcher: watching";

/// [`watch_downtime`]'s process: polls the domain every 10 ms and prints
/// how long it was seen suspended before it was dying or gone.
#[test]
#[ignore = "run by two_hosts_send_a_counting_guest_live"]
fn two_hosts_watch_a_migrating_domain() {
    let Some(domid) = std::env::var(WATCH_DOMID)
        .ok()
        .and_then(|d| d.parse::<u32>().ok())
        .and_then(|d| xenlight::Domid::new(d).ok())
    else {
        println!("no {WATCH_DOMID}");
        return;
    };
    let ctx = Context::new().unwrap();
    println!("{WATCHING}");
    let started = Instant::now();
    let mut suspended = None;
    while started.elapsed() < PEER_WAIT {
        match ctx.domain_info(domid) {
            Ok(i) if !i.dying => {
                if suspended.is_none()
                    && i.shutdown
                    && i.shutdown_reason == Some(xenlight::ShutdownReason::Suspend)
                {
                    suspended = Some(Instant::now());
                }
            }
            _ => break,
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if let Some(s) = suspended {
        println!("{DOWNTIME} {}", s.elapsed().as_micros());
    }
}

/// The receiving half: the first migration's receiver (the `migrate`
/// example at `XENLIGHT_LISTEN`, addr:port) is killed midway; then it
/// listens itself, receives the second migration under the guest's name,
/// and sees it count on from where it was (its first count here is past
/// 1, and the counts keep rising).
#[test]
#[ignore = "one half of cargo xtask two-hosts"]
fn two_hosts_receive_a_guest_that_counts_on() {
    let Ok(addr) = std::env::var("XENLIGHT_LISTEN") else {
        println!("not a two-host run (no XENLIGHT_LISTEN)");
        return;
    };
    let ctx = Context::new().unwrap();
    // The first migration goes to the example program (`migrate
    // --receive`), killed once the incoming domain exists: a receiver that
    // dies midway. What it made is left behind, as a killed xl leaves it.
    let incoming = format!("{NAME}--incoming");
    let mut example = std::process::Command::new(examples_dir().join("migrate"))
        .args(["--receive", &addr])
        .spawn()
        .expect("the migrate example");
    assert!(
        wait_until(PEER_WAIT, || ctx.domid_by_name(&incoming).is_ok()),
        "no incoming domain within {PEER_WAIT:?}"
    );
    std::thread::sleep(Duration::from_secs(1));
    example.kill().unwrap();
    let status = example.wait().unwrap();
    assert!(
        status.code().is_none(),
        "the receiver ended before it was killed: {status}"
    );
    println!("killed the first receiver midway");
    if let Ok(left) = ctx.domid_by_name(&incoming) {
        ctx.destroy(left).unwrap();
    }

    let listener = TcpListener::bind(&addr).unwrap_or_else(|e| panic!("listen at {addr}: {e}"));
    listener.set_nonblocking(true).unwrap();
    let started = Instant::now();
    let (mut stream, from) = loop {
        match listener.accept() {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    started.elapsed() < PEER_WAIT,
                    "no sender within {PEER_WAIT:?}"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("accept: {e}"),
        }
    };
    stream.set_nonblocking(false).unwrap();
    let domid = ctx.migrate_receive(&mut stream).expect("migrate_receive");
    let _guard = DomainGuard { ctx: &ctx, domid };
    println!("received from {from}: domain {domid}");
    assert_eq!(ctx.domain_name(domid).unwrap().as_deref(), Some(NAME));
    // xenconsoled logs the incoming domain under the name it was created
    // with (NAME--incoming) until the rename.
    let counts = || {
        protocol::guest_counts(&(console_log(&format!("{NAME}--incoming")) + &console_log(NAME)))
    };
    assert!(
        wait_until(Duration::from_secs(120), || counts().len() >= 3),
        "the guest does not count here: {:?}",
        counts()
    );
    let here = counts();
    println!("counted here: {here:?}");
    assert!(here[0] > 1, "the count started over: {here:?}");
    assert!(here.windows(2).all(|w| w[1] > w[0]), "{here:?}");
}
