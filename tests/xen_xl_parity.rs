//! Issue 26: `rxl`, the xl-compatible tool built on the public API, prints
//! what `xl` prints, byte for byte, for each report command form, on a host
//! with PV and PVH guests; errors have xl's message and exit code. Ends
//! with the line `xl parity: N/M identical`.

mod common;

use std::process::Command;

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

#[test]
fn rxl_report_commands_print_what_xl_prints() {
    let ctx = Context::new().unwrap();
    let rxl = examples_dir().join("rxl");
    let rxl = rxl.to_str().unwrap();
    let pv_name = format!("{PREFIX}parity-pv");
    let pvh_name = format!("{PREFIX}parity-pvh");
    let pv = ctx
        .create_domain(&pv_guest(&pv_name, true).vcpus(2))
        .expect("create PV");
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
            let matches = |x: &Ran| {
                x.code == ours.code && same(&x.stdout, &ours.stdout) && x.stderr == ours.stderr
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
