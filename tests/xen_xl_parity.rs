//! Issue 26: `rxl`, the xl-compatible tool built on the public API, prints
//! what `xl` prints, byte for byte, for each report command form, on a host
//! with PV and PVH guests; errors have xl's message and exit code. Ends
//! with the line `xl parity: N/M identical`.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use xenlight::{Context, DomainType};

/// What one run of a command gave.
#[derive(Debug, PartialEq)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn ran(cmd: &str, args: &[&str]) -> Ran {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// CPU time moves by itself: a number with a decimal point may differ by
/// this many seconds between two runs a moment apart.
const CPU_TIME_TOLERANCE: f64 = 1.0;

/// Whether two outputs are the same, byte for byte except for CPU-time
/// fields within [`CPU_TIME_TOLERANCE`] (same width, same place).
fn same(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (la, lb): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
    la.len() == lb.len()
        && la.iter().zip(&lb).all(|(x, y)| {
            x.len() == y.len()
                && x.split(' ').zip(y.split(' ')).all(|(p, q)| {
                    p == q
                        || (p.contains('.')
                            && q.contains('.')
                            && p.len() == q.len()
                            && matches!((p.parse::<f64>(), q.parse::<f64>()),
                                (Ok(u), Ok(v)) if (u - v).abs() <= CPU_TIME_TOLERANCE))
                })
        })
}

/// `vcpu-list` output with each online vCPU's current physical CPU
/// masked: a vCPU that may run anywhere moves between CPUs from one
/// moment to the next (dom0's two swapped places between xl's listing and
/// ours). xl prints it as `%5u` after name, domid and vCPU
/// (`%-32s %5u %5u `), so at columns 45..50; an offline vCPU's `-` stays.
fn current_cpu_masked(out: &str) -> String {
    out.lines()
        .map(|l| match l.get(45..50) {
            Some(cpu) if cpu.trim().parse::<u32>().is_ok() => {
                format!("{}    *{}", &l[..45], &l[50..])
            }
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn rxl_report_commands_print_what_xl_prints() {
    // Its host state has a pty channel, which QEMU serves.
    if !device_model_available("rxl_report_commands_print_what_xl_prints") {
        return;
    }
    let ctx = Context::new().unwrap();
    let rxl = examples_dir().join("rxl");
    let rxl = rxl.to_str().unwrap();
    let pv_name = format!("{PREFIX}parity-pv");
    let pvh_name = format!("{PREFIX}parity-pvh");
    // A disk and a network interface for block-list and network-list,
    let img = format!("/tmp/{pv_name}.img");
    std::fs::write(&img, vec![0u8; 1 << 20]).expect("disk image");
    let _img = RemoveOnDrop(vec![img.clone()]);
    // ... and a pty channel (served by a QEMU libxl starts for it).
    let mut pv_cfg = pv_guest(&pv_name, true)
        .vcpus(2)
        .disk(xenlight::Disk::new(&img, "xvdb"))
        .nic(xenlight::Nic::bridged("xenbr0"));
    pv_cfg.libxl.channels.push(xenlight::types::DeviceChannel {
        name: Some("org.xenlight.parity".into()),
        connection: xenlight::types::DeviceChannelConnectionUnion::Pty,
        ..Default::default()
    });
    let pv = ctx.create_domain(&pv_cfg).expect("create PV");
    let _pv = DomainGuard {
        ctx: &ctx,
        domid: pv,
    };
    let pvh = ctx
        .create_domain_paused(&guest_of_type(&pvh_name, DomainType::Pvh, true))
        .expect("create PVH");
    let _pvh = DomainGuard {
        ctx: &ctx,
        domid: pvh,
    };
    let (pv_id, pvh_id) = (pv.to_string(), pvh.to_string());
    let forms: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["list", "-v"],
        vec!["list", "Domain-0"],
        vec!["list", &pv_name],
        vec!["list", "-v", &pvh_id],
        vec!["list", "no-such-domain"],
        vec!["claims"],
        vec!["sharing"],
        vec!["sharing", &pvh_name],
        vec!["domid", "Domain-0"],
        vec!["domid", &pv_name],
        vec!["domid", "no-such-domain"],
        vec!["domname", "0"],
        vec!["domname", &pv_id],
        vec!["domname", "30000"],
        vec!["domname", "zero"],
        vec!["vm-list"],
        vec!["uptime"],
        vec!["uptime", "-s"],
        vec!["uptime", &pv_name, "0"],
        vec!["dmesg"],
        vec!["vcpu-list"],
        vec!["vcpu-list", &pv_name],
        vec!["vcpu-list", &pvh_id, "Domain-0"],
        vec!["vcpu-list", "no-such-domain"],
        vec!["cpupool-list"],
        vec!["cpupool-list", "-c"],
        vec!["cpupool-list", "Pool-0"],
        vec!["cpupool-list", "no-such-pool"],
        vec!["block-list", &pv_name],
        vec!["block-list", &pv_id, &pvh_name],
        vec!["block-list", "no-such-domain"],
        vec!["network-list", &pv_name],
        vec!["network-list", &pvh_id, "no-such-domain"],
        vec!["sched-credit2"],
        vec!["sched-credit2", "-s"],
        vec!["sched-credit2", "-s", "-p", "Pool-0"],
        vec!["sched-credit2", "-p", "0"],
        vec!["sched-credit2", "-d", &pv_name],
        vec!["sched-credit2", "-p", "no-such-pool"],
        vec!["sched-credit2", "-d", "no-such-domain"],
        vec!["sched-credit2", "-p", "Pool-0", "-d", &pv_name],
        vec!["sched-credit2", "-w", "300"],
        vec!["sched-credit"],
        vec!["sched-credit", "-p", "Pool-0"],
        vec!["sched-credit", "-d", "Domain-0"],
        vec!["sched-credit", "-t", "10"],
        vec!["sched-credit", "-s", "-d", "Domain-0"],
        vec!["channel-list", &pv_name],
        vec!["channel-list", &pvh_id, "no-such-domain"],
        vec!["vtpm-list", &pv_name],
        vec!["vtpm-list", "no-such-domain", &pvh_name],
        vec!["vkb-list", &pv_name],
        vec!["pci-list", &pv_name],
        vec!["pci-list", "Domain-0"],
        vec!["pci-assignable-list"],
        vec!["pci-assignable-list", "-n"],
    ];
    let mut identical = 0;
    let mut report = String::new();
    for args in &forms {
        // xl on either side of ours: output that changes by itself
        // (uptime's seconds, a new dmesg line) matches one of the two; a
        // second that ticks over on both sides is tried again, twice.
        let mut last = None;
        for _ in 0..3 {
            let before = ran("xl", args);
            let ours = ran(rxl, args);
            let after = ran("xl", args);
            let view = |out: &str| {
                if args[0] == "vcpu-list" {
                    current_cpu_masked(out)
                } else {
                    out.to_owned()
                }
            };
            let matches = |x: &Ran| {
                x.code == ours.code
                    && same(&view(&x.stdout), &view(&ours.stdout))
                    && x.stderr == ours.stderr
            };
            if matches(&before) || matches(&after) {
                last = None;
                break;
            }
            last = Some((before, ours));
        }
        if last.is_none() {
            identical += 1;
        } else if let Some((before, ours)) = last {
            report.push_str(&format!(
                "\n=== {args:?}\n--- xl ({:?}):\n{}{}--- rxl ({:?}):\n{}{}",
                before.code, before.stdout, before.stderr, ours.code, ours.stdout, ours.stderr
            ));
        }
    }
    println!("xl parity: {identical}/{} identical", forms.len());
    assert_eq!(identical, forms.len(), "{report}");
}

/// One row of `xl list NAME`: name, id, memory (MiB), vCPUs, state.
fn xl_list_row(name: &str) -> Option<(String, u32, u64, u32, String)> {
    let r = ran("xl", &["list", name]);
    let line = r.stdout.lines().nth(1)?;
    let f: Vec<&str> = line.split_whitespace().collect();
    Some((
        f.first()?.to_string(),
        f.get(1)?.parse().ok()?,
        f.get(2)?.parse().ok()?,
        f.get(3)?.parse().ok()?,
        f.get(4)?.to_string(),
    ))
}

/// Runs rxl and insists it succeeded.
fn rxl_ok(rxl: &str, args: &[&str]) {
    let r = ran(rxl, args);
    assert_eq!(r.code, Some(0), "rxl {args:?}: {r:?}");
}

/// Issue 26: the commands that change something, run through `rxl`, each
/// checked through `xl`'s own view (or xenstore's, where xl prints none):
/// create -p, unpause, pause, rename, mem-max, mem-set, vcpu-set,
/// sched-credit2 -w and -s -r, sysrq, block-attach/-detach,
/// network-attach/-detach, vcpu-pin, cpupool-cpu-remove/-create/-migrate/
/// -rename/-destroy/-cpu-add, save, restore, shutdown -w, destroy, create
/// and reboot, on a PV guest made from an xl.cfg file.
#[test]
fn rxl_mutating_commands_take_effect_as_xl_sees_them() {
    let rxl = examples_dir().join("rxl");
    let rxl = rxl.to_str().unwrap();
    let name = format!("{PREFIX}rxl-mut");
    let moved = format!("{name}-renamed");
    let _sweep = Sweep(vec![name.clone(), moved.clone()]);
    let g = guest_dir();
    let cfg = format!("/tmp/{name}.cfg");
    std::fs::write(
        &cfg,
        format!(
            "name = \"{name}\"\ntype = \"pv\"\nkernel = \"{}\"\nramdisk = \"{}\"\n\
             extra = \"console=hvc0 rdinit=/init quiet xlmarker={name} xlstay\"\n\
             memory = 128\nmaxmem = 256\nvcpus = 1\nmaxvcpus = 2\n",
            g.join("vmlinux").display(),
            g.join("guest.cpio.gz").display()
        ),
    )
    .unwrap();
    let _cfg = RemoveOnDrop(vec![cfg.clone()]);
    let state = |n: &str| xl_list_row(n).map(|r| r.4);
    let booted = |n: &str, times: usize| {
        wait_until(Duration::from_secs(180), || {
            console_log(n).matches(&protocol::guest_hello(n)).count() >= times
        })
    };

    rxl_ok(rxl, &["create", "-p", &cfg]);
    assert!(state(&name).unwrap().contains('p'), "created paused");
    let hellos = console_log(&name)
        .matches(&protocol::guest_hello(&name))
        .count();
    rxl_ok(rxl, &["unpause", &name]);
    assert!(!state(&name).unwrap().contains('p'));
    assert!(booted(&name, hellos + 1), "{}", console_log(&name));
    rxl_ok(rxl, &["pause", &name]);
    assert!(state(&name).unwrap().contains('p'));
    rxl_ok(rxl, &["unpause", &name]);
    assert!(!state(&name).unwrap().contains('p'));

    rxl_ok(rxl, &["rename", &name, &moved]);
    assert_eq!(ran("xl", &["domid", &name]).code, Some(1));
    let id = ran("xl", &["domid", &moved]).stdout.trim().to_owned();
    rxl_ok(rxl, &["rename", &moved, &name]);
    assert_eq!(ran("xl", &["domid", &name]).stdout.trim(), id);

    let xs = |key: &str| run("xenstore-read", &[&format!("/local/domain/{id}/{key}")]);
    rxl_ok(rxl, &["mem-max", &name, "200m"]);
    assert_eq!(xs("memory/static-max").trim(), "204800");
    rxl_ok(rxl, &["mem-set", &name, "96m"]);
    assert_eq!(xs("memory/target").trim(), "98304");
    assert!(
        wait_until(Duration::from_secs(60), || xl_list_row(&name)
            .is_some_and(|r| r.2 <= 97)),
        "the guest did not balloon down to 96 MiB: {:?}",
        xl_list_row(&name)
    );

    rxl_ok(rxl, &["vcpu-set", &name, "2"]);
    assert!(
        wait_until(Duration::from_secs(60), || xl_list_row(&name)
            .is_some_and(|r| r.3 == 2)),
        "xl list does not show 2 vCPUs: {:?}",
        xl_list_row(&name)
    );

    rxl_ok(rxl, &["sched-credit2", "-d", &name, "-w", "300"]);
    let row = ran("xl", &["sched-credit2", "-d", &name]).stdout;
    assert!(
        row.lines()
            .nth(1)
            .is_some_and(|l| l.split_whitespace().nth(2) == Some("300")),
        "{row}"
    );
    let was = ran("xl", &["sched-credit2", "-s"]).stdout;
    let old = was
        .trim()
        .rsplit("ratelimit=")
        .next()
        .and_then(|r| r.strip_suffix("us"))
        .expect("xl sched-credit2 -s prints the rate limit")
        .to_owned();
    rxl_ok(rxl, &["sched-credit2", "-s", "-r", "1500"]);
    let now = ran("xl", &["sched-credit2", "-s"]).stdout;
    ran("xl", &["sched-credit2", "-s", "-r", &old]);
    assert_eq!(now, "Cpupool Pool-0: ratelimit=1500us\n");

    rxl_ok(rxl, &["sysrq", &name, "h"]);
    assert!(
        wait_until(Duration::from_secs(30), || console_log(&name)
            .contains("sysrq: HELP")),
        "{}",
        console_log(&name)
    );

    // Devices: a disk and a NIC attached and detached, as xl's lists show.
    let rows = |cmd: &str| {
        ran("xl", &[cmd, &name])
            .stdout
            .lines()
            .count()
            .saturating_sub(1)
    };
    let img = format!("/tmp/{name}-b.img");
    std::fs::write(&img, vec![0u8; 1 << 20]).unwrap();
    let _img = RemoveOnDrop(vec![img.clone()]);
    rxl_ok(rxl, &["block-attach", &name, &format!("{img},raw,xvdc,w")]);
    assert_eq!(
        rows("block-list"),
        1,
        "{}",
        ran("xl", &["block-list", &name]).stdout
    );
    rxl_ok(rxl, &["block-detach", &name, "xvdc"]);
    assert!(
        wait_until(Duration::from_secs(30), || rows("block-list") == 0),
        "{}",
        ran("xl", &["block-list", &name]).stdout
    );
    rxl_ok(rxl, &["network-attach", &name, "bridge=xenbr0"]);
    assert_eq!(
        rows("network-list"),
        1,
        "{}",
        ran("xl", &["network-list", &name]).stdout
    );
    rxl_ok(rxl, &["network-detach", &name, "0"]);
    assert!(
        wait_until(Duration::from_secs(30), || rows("network-list") == 0),
        "{}",
        ran("xl", &["network-list", &name]).stdout
    );
    // vcpu-pin: xl vcpu-list's hard affinity of vCPU 0.
    rxl_ok(rxl, &["vcpu-pin", &name, "0", "1"]);
    let pinned = ran("xl", &["vcpu-list", &name]).stdout;
    assert!(
        pinned
            .lines()
            .nth(1)
            .is_some_and(|l| l.ends_with("1 / all")),
        "{pinned}"
    );

    // Pools: CPU 1 leaves Pool-0 for a new pool, the guest follows it and
    // comes back, the pool is renamed and destroyed (put back however the
    // test ends).
    struct PoolBack;
    impl Drop for PoolBack {
        fn drop(&mut self) {
            for args in [
                vec!["cpupool-destroy", "xlt-rxl-pool"],
                vec!["cpupool-destroy", "xlt-rxl-pool2"],
                vec!["cpupool-cpu-add", "Pool-0", "1"],
            ] {
                let _ = Command::new("xl").args(args).output();
            }
        }
    }
    let _pools = PoolBack;
    let pool_row = |pool: &str| {
        ran("xl", &["cpupool-list", pool])
            .stdout
            .lines()
            .nth(1)
            .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
    };
    rxl_ok(rxl, &["cpupool-cpu-remove", "Pool-0", "1"]);
    rxl_ok(rxl, &["cpupool-create", "name=xlt-rxl-pool", "cpus=1"]);
    assert_eq!(
        pool_row("xlt-rxl-pool").map(|r| r[1].clone()).as_deref(),
        Some("1")
    );
    rxl_ok(rxl, &["cpupool-migrate", &name, "xlt-rxl-pool"]);
    assert_eq!(
        pool_row("xlt-rxl-pool").map(|r| r[4].clone()).as_deref(),
        Some("1")
    );
    rxl_ok(rxl, &["cpupool-migrate", &name, "Pool-0"]);
    rxl_ok(rxl, &["cpupool-rename", "xlt-rxl-pool", "xlt-rxl-pool2"]);
    assert!(pool_row("xlt-rxl-pool2").is_some());
    rxl_ok(rxl, &["cpupool-destroy", "xlt-rxl-pool2"]);
    assert_eq!(ran("xl", &["cpupool-list", "xlt-rxl-pool2"]).code, Some(1));
    rxl_ok(rxl, &["cpupool-cpu-add", "Pool-0", "1"]);
    assert_eq!(
        pool_row("Pool-0").map(|r| r[1].clone()).as_deref(),
        Some("2")
    );

    // save and restore: gone, then back under its name, running.
    let save = format!("/tmp/{name}.save");
    let _save = RemoveOnDrop(vec![save.clone()]);
    rxl_ok(rxl, &["save", &name, &save]);
    assert_eq!(ran("xl", &["list", &name]).code, Some(1), "saved and gone");
    rxl_ok(rxl, &["restore", &save]);
    assert!(
        state(&name).is_some_and(|s| !s.contains('p') && !s.contains('s')),
        "restored: {:?}",
        state(&name)
    );

    // rxl, like `xl create -F`, runs no daemon to carry out on_poweroff
    // and on_reboot: the domain stays, shut down, with its reason in xl's
    // State column (`---s-` powered off, `---sr` rebooted).
    let reason = |n: &str| {
        state(n).and_then(|s| {
            let s: Vec<char> = s.chars().collect();
            (s.get(3) == Some(&'s')).then(|| s.get(4).copied())?
        })
    };
    rxl_ok(rxl, &["shutdown", "-w", &name]);
    assert_eq!(reason(&name), Some('-'), "powered off: {:?}", state(&name));
    rxl_ok(rxl, &["destroy", &name]);
    assert_eq!(ran("xl", &["list", &name]).code, Some(1), "destroyed");

    let hellos = console_log(&name)
        .matches(&protocol::guest_hello(&name))
        .count();
    rxl_ok(rxl, &["create", &cfg]);
    assert!(booted(&name, hellos + 1), "{}", console_log(&name));
    rxl_ok(rxl, &["reboot", &name]);
    assert!(
        wait_until(Duration::from_secs(120), || reason(&name) == Some('r')),
        "not shut down for a reboot: {:?}",
        state(&name)
    );
    rxl_ok(rxl, &["destroy", &name]);
    assert_eq!(ran("xl", &["list", &name]).code, Some(1), "destroyed");
}

/// Destroys the named domains however the test ends.
struct Sweep(Vec<String>);

impl Drop for Sweep {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Command::new("xl").args(["destroy", n]).output();
        }
    }
}
