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
    let e = ctx.migrate_send(guard.domid, &mut connect()).unwrap_err();
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
    let t = Instant::now();
    let watch = watch_downtime(guard.domid);
    ctx.migrate_send(guard.domid, &mut stream)
        .expect("migrate_send");
    println!("migrated to {peer} in {:.1} s", t.elapsed().as_secs_f64());
    match watch.join().unwrap() {
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

/// Watches `domid` on its own context while it migrates: from the first
/// sight of it suspended to the first sight of it dying or gone. The
/// sender destroys its copy only once the receiver reports the guest
/// running (`migrate_send`'s hand-over), so this bounds the downtime from
/// above, by one round trip and one poll.
fn watch_downtime(domid: xenlight::Domid) -> std::thread::JoinHandle<Option<Duration>> {
    std::thread::spawn(move || {
        let ctx = Context::new().unwrap();
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
                _ => return suspended.map(|s: Instant| s.elapsed()),
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    })
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
