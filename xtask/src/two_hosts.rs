//! `cargo xtask two-hosts`: live migration between two disposable Xen
//! hosts, of one release and from the previous release to the newest.
//! Both are Xen built from source (shadow paging: a PV guest can
//! live-migrate), booted side by side, each with one CPU, and joined by
//! a network that stays on this machine: QEMU's socket networking on
//! 127.0.0.1 (the receiver's QEMU listens, the sender's connects), an
//! e1000 NIC in each, link-local addresses (169.254.7.1 sends, .2
//! receives). Each dom0 runs one half of tests/xen_two_hosts.rs.

use anyhow::{bail, Context as _, Result};
use std::path::Path;
use std::time::Instant;

use crate::cargo::{self, Artifact};
use crate::host::{self, BootFiles, Tree};
use crate::report::{self, Ending};
use crate::vm::{self, Prepared, Watched};
use crate::{cache_dir, setup, xen_build, VmOptions, XenHost};

/// The receiver's address and port on the hosts' network.
const LISTEN: &str = "169.254.7.2:8002";

/// One of the two hosts.
struct Half {
    /// "sender" or "receiver".
    role: &'static str,
    /// dom0's address on the shared network.
    address: &'static str,
    /// The test that is its half, and the variable that gives it the
    /// receiver's address.
    test: &'static str,
    env: &'static str,
    /// How its QEMU joins the socket network: the receiver's listens, the
    /// sender's connects.
    socket: &'static str,
    /// The last byte of its NIC's MAC address.
    mac: u8,
}

const HALVES: [Half; 2] = [
    Half {
        role: "receiver",
        address: "169.254.7.2/24",
        test: "two_hosts_receive_a_guest_that_counts_on",
        env: "XENLIGHT_LISTEN",
        socket: "listen",
        mac: 2,
    },
    Half {
        role: "sender",
        address: "169.254.7.1/24",
        test: "two_hosts_send_a_counting_guest_live",
        env: "XENLIGHT_PEER",
        socket: "connect",
        mac: 1,
    },
];

/// A free TCP port on 127.0.0.1 for the socket network (closed again at
/// once, for QEMU to listen on).
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// The releases of the two hosts in each run, sender first: the same
/// release, then one release up (the direction Xen supports a migration
/// across releases in: from the previous release to the next).
pub const PAIRS: &[(&str, &str)] = &[
    (xen_build::RELEASE, xen_build::RELEASE),
    (xen_build::PREVIOUS, xen_build::RELEASE),
];

/// `cargo xtask two-hosts [SENDER-RELEASE...]`: every pair of [`PAIRS`],
/// or those whose sender's release starts with one of the arguments.
pub fn two_hosts(o: &VmOptions) -> Result<bool> {
    let started = Instant::now();
    setup::install()?;
    let pairs: Vec<_> = PAIRS
        .iter()
        .filter(|(from, _)| {
            o.filter.is_empty() || o.filter.iter().any(|f| from.starts_with(f.as_str()))
        })
        .collect();
    if pairs.is_empty() {
        bail!(
            "two-hosts: no pair sends from {:?} (the senders are {})",
            o.filter,
            PAIRS.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
        );
    }
    let mut results = Vec::new();
    for (from, to) in pairs {
        // A release whose archive is not at hand is reported SKIPPED.
        if !crate::xen_src::at_hand(&[from, to]).1.is_empty() {
            continue;
        }
        step!("==> two hosts: Xen {from} sends, Xen {to} receives");
        results.push((from, to, pair(o, from, to)?));
    }
    println!(
        "\ntwo-hosts wall time: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    for (from, to, ok) in &results {
        println!(
            "two hosts {from} -> {to}: {}",
            if *ok { "passed" } else { "FAILED" }
        );
    }
    let ok = !results.is_empty() && results.iter().all(|r| r.2);
    println!("two hosts: {}", if ok { "passed" } else { "FAILED" });
    Ok(ok)
}

/// One host of a pair, ready to boot.
struct Booted {
    o: VmOptions,
    boot: BootFiles,
    initrd: std::path::PathBuf,
}

/// Builds what `half` runs on `release`'s host: its tests and examples
/// against that release's libxl, its dom0 tree and its initrd.
fn prepare(o: &VmOptions, half: &Half, release: &'static str, boot: &BootFiles) -> Result<Booted> {
    let o = VmOptions {
        xen: XenHost::Source(release),
        cpus: 1,
        ..o.clone()
    };
    let xen = Prepared::new(o.xen)?;
    let env = xen.build_env();
    let tests: Artifact = cargo::build_executables_env(vm::HYPERVISOR_TESTS, &env)?
        .into_iter()
        .find(|a| a.kind == "test" && a.name == "xen_two_hosts")
        .context("cargo built no xen_two_hosts test")?;
    let examples = vm::build_examples(&["xen-host"], false, &env)?;
    let mut boot = boot.clone();
    let base = xen.base_archive(&mut boot)?;
    let mut t = Tree::new(cache_dir().join(format!("run-root-{}", half.role)))?;
    vm::add_guest_files(&mut t, &boot, &examples, &xen)?;
    xen.copy_exe(&mut t, &tests.path, "/opt/tests")?;
    let exe = tests.file_name();
    let mut init = xen.init_head();
    init.push_str(&format!(
        "/bin/ip addr add {} dev eth0 && /bin/ip link set eth0 up || echo 'eth0 failed'\n",
        half.address
    ));
    init.push_str(&vm::run_block(
        &format!("xen_two_hosts {}", half.role),
        &format!(
            "{}={LISTEN} /opt/tests/{exe} --ignored --exact {} --nocapture --test-threads=1 --color never",
            half.env, half.test
        ),
    ));
    init.push_str(vm::INIT_TAIL);
    t.write("/init", &init, true)?;
    let initrd = vm::dom0_initrd(&base, &t, &format!("-{}", half.role))?;
    Ok(Booted { o, boot, initrd })
}

/// Boots the receiver on `to` and the sender on `from`, joined by a socket
/// network, and reports both halves.
fn pair(o: &VmOptions, from: &'static str, to: &'static str) -> Result<bool> {
    let boot = host::boot_files()?;
    let port = free_port()?;
    let mut children = Vec::new();
    let mut logs = Vec::new();
    // Both are built before either boots: the receiver waits for its
    // sender only as long as the tests allow.
    // HALVES is receiver, then sender.
    let booted = HALVES
        .iter()
        .zip([to, from])
        .map(|(half, release)| prepare(o, half, release, &boot).map(|b| (release, b)))
        .collect::<Result<Vec<_>>>()?;
    for (half, (release, b)) in HALVES.iter().zip(booted) {
        let log = cache_dir().join(format!("serial-{}.log", half.role));
        std::fs::write(&log, "")?;
        let network = vec![
            "-netdev".to_owned(),
            format!("socket,id=lan,{}=127.0.0.1:{port}", half.socket),
            "-device".to_owned(),
            format!("e1000,netdev=lan,mac=52:54:00:07:00:{:02x}", half.mac),
        ];
        step!(
            "==> the {} host: Xen {release}, {} on 127.0.0.1:{port}",
            half.role,
            half.address
        );
        children.push(vm::spawn_qemu(&b.boot, &b.initrd, &log, &b.o, &network)?);
        logs.push(log);
        // The sender's QEMU connects to the receiver's listening socket.
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    let watchers: Vec<_> = children
        .into_iter()
        .zip(logs.clone())
        .map(|(mut child, log)| {
            let timeout = o.timeout;
            std::thread::spawn(move || vm::watch(&mut child, &log, timeout))
        })
        .collect();
    let mut ok = true;
    for ((w, log), half) in watchers.into_iter().zip(&logs).zip(&HALVES) {
        let watched = w
            .join()
            .map_err(|_| anyhow::anyhow!("watcher panicked"))??;
        ok &= report_half(half.role, log, watched)?;
    }
    Ok(ok)
}

fn report_half(role: &str, log: &Path, watched: Watched) -> Result<bool> {
    let text = String::from_utf8_lossy(&std::fs::read(log)?).into_owned();
    let (ending, timed_out) = match watched {
        Watched::Ended { ending, timed_out } => (ending, timed_out),
        Watched::BootStalled => (report::ending(&text), true),
    };
    let results = report::parse(&text);
    println!("\n===== the {role} host ({}) =====", log.display());
    for r in &results {
        print!("{}", r.output);
    }
    let (passed, failed) = report::totals(&results, ending, timed_out);
    println!("{role}: {passed} passed, {failed} failed");
    if ending != Ending::Done || timed_out {
        println!("{role}: the host did not finish ({ending:?}, timed out: {timed_out})");
        return Ok(false);
    }
    Ok(failed == 0 && passed == 1)
}
