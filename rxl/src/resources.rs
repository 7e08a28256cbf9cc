//! Report commands about a domain's resources: vCPUs, CPU pools, disks
//! and network interfaces (formats from `tools/xl/xl_vcpu.c`,
//! `xl_cpupool.c`, `xl_block.c`, `xl_nic.c`), or with `--json` the same
//! facts under stable field names.

use serde_json::{json, Value};
use xenlight::types::Bitmap;
use xenlight::{Context, Domid};

use crate::find_domain;

/// xl's `print_bitmap` of the first `bits` bits: ranges like `0-3,6`,
/// `all` when every bit is set from 0, `none` when none is.
fn cpu_ranges(map: &Bitmap, bits: usize) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for i in (0..bits).filter(|&i| map.test(i)) {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == i => *end = i,
            _ => ranges.push((i, i)),
        }
    }
    match ranges.as_slice() {
        [] => "none".into(),
        [(0, end)] if *end + 1 == bits => "all".into(),
        _ => ranges
            .iter()
            .map(|&(a, b)| {
                if b > a {
                    format!("{a}-{b}")
                } else {
                    a.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(","),
    }
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// `xl vcpu-list [DOMAIN...]`.
pub fn vcpu_list(ctx: &Context, as_json: bool, which: &[String]) -> Result<(), String> {
    let physinfo = ctx
        .physinfo()
        .map_err(|_| "libxl_physinfo failed.".to_owned())?;
    let bits = physinfo.max_cpu_id as usize + 1;
    let mut rows = Vec::new();
    if !as_json {
        println!(
            "{:<32} {:>5} {:>5} {:>5} {:>5} {:>9} Affinity (Hard / Soft)",
            "Name", "ID", "VCPU", "CPU", "State", "Time(s)"
        );
    }
    // As xl: the header first, then each domain looked up as it comes.
    let all: Vec<String> = if which.is_empty() {
        ctx.domains()
            .map_err(|_| "libxl_list_domain failed.".to_owned())?
            .iter()
            .map(|d| d.domid.to_string())
            .collect()
    } else {
        which.to_vec()
    };
    for w in &all {
        let domid = find_domain(ctx, w)?;
        // As xl: a domain whose vCPUs libxl cannot list prints nothing.
        let Ok(vcpus) = ctx.vcpus(domid) else {
            continue;
        };
        let name = ctx.domain_name(domid).ok().flatten();
        for v in &vcpus {
            let (hard, soft) = (
                cpu_ranges(&v.cpumap, bits),
                cpu_ranges(&v.cpumap_soft, bits),
            );
            if as_json {
                rows.push(json!({
                    "name": name,
                    "domid": domid.get(),
                    "vcpu": v.vcpuid,
                    "online": v.online,
                    "cpu": v.online.then_some(v.cpu),
                    "running": v.running,
                    "blocked": v.blocked,
                    "time_s": v.vcpu_time as f64 / 1e9,
                    "hard_affinity": hard,
                    "soft_affinity": soft,
                }));
                continue;
            }
            let head = format!(
                "{:<32} {:>5} {:>5}",
                name.as_deref().unwrap_or("(null)"),
                domid.get(),
                v.vcpuid
            );
            let state = if v.online {
                format!(
                    "{:>5} {:>3}{}- ",
                    v.cpu,
                    if v.running { 'r' } else { '-' },
                    if v.blocked { 'b' } else { '-' }
                )
            } else {
                format!("{:>5} {:>3}-p ", '-', '-')
            };
            // xl's `(float)vcpu_time / 1e9`: rounded to a C float first.
            let time = f64::from(v.vcpu_time as f32) / 1e9;
            println!("{head}{state}{time:>9.1}  {hard} / {soft}");
        }
    }
    if as_json {
        print_json(&Value::Array(rows));
    }
    Ok(())
}

/// `xl cpupool-list [-c] [POOL]`.
pub fn cpupool_list(
    ctx: &Context,
    cpus: bool,
    as_json: bool,
    pool: Option<&str>,
) -> Result<(), String> {
    let pools = ctx
        .cpupools()
        .map_err(|_| "error getting cpupool info".to_owned())?;
    if let Some(p) = pool {
        if !pools.iter().any(|i| i.pool_name.as_deref() == Some(p)) {
            return Err(format!("Pool '{p}' does not exist"));
        }
    }
    let shown = pools
        .iter()
        .filter(|i| pool.is_none() || i.pool_name.as_deref() == pool);
    if as_json {
        let rows: Vec<Value> = shown
            .map(|i| {
                json!({
                    "name": i.pool_name,
                    "poolid": i.poolid,
                    "cpus": i.cpumap.iter().collect::<Vec<_>>(),
                    "sched": i.sched.to_string(),
                    "domains": i.n_dom,
                })
            })
            .collect();
        print_json(&Value::Array(rows));
        return Ok(());
    }
    if cpus {
        println!("{:<19}CPU list", "Name");
    } else {
        println!("{:<19}CPUs   Sched     Active   Domain count", "Name");
    }
    for i in shown {
        let name = i.pool_name.as_deref().unwrap_or("(null)");
        let list: Vec<usize> = i.cpumap.iter().collect();
        if cpus {
            let text: Vec<String> = list.iter().map(usize::to_string).collect();
            println!("{name:<19}{}", text.join(","));
        } else {
            println!(
                "{name:<19}{:>3} {:>9}       y       {:>4}",
                list.len(),
                i.sched.to_string(),
                i.n_dom
            );
        }
    }
    Ok(())
}

/// xl's `libxl_domain_qualifier_to_domid` for `block-list`: a bad one is
/// reported and skipped, not fatal.
fn qualified(ctx: &Context, which: &str) -> Option<Domid> {
    match find_domain(ctx, which) {
        Ok(d) => Some(d),
        Err(_) => {
            eprintln!("{which} is an invalid domain identifier");
            None
        }
    }
}

/// `xl block-list DOMAIN...`.
pub fn block_list(ctx: &Context, as_json: bool, which: &[String]) -> Result<(), String> {
    let mut rows = Vec::new();
    if !as_json {
        println!(
            "{:<5} {:<3} {:<6} {:<5} {:<6} {:<8} {:<30}",
            "Vdev", "BE", "handle", "state", "evt-ch", "ring-ref", "BE-path"
        );
    }
    for w in which {
        let Some(domid) = qualified(ctx, w) else {
            continue;
        };
        // As xl: a domain libxl lists no disks for prints nothing.
        let Ok(states) = ctx.disk_states(domid) else {
            continue;
        };
        for (disk, s) in states {
            let backend = s.backend.unwrap_or_default();
            if as_json {
                rows.push(json!({
                    "domid": domid.get(),
                    "vdev": disk.vdev,
                    "devid": s.devid,
                    "backend_id": s.backend_id,
                    "frontend_id": s.frontend_id,
                    "state": s.state,
                    "evtch": s.evtch,
                    "ring_ref": s.rref,
                    "backend": backend,
                }));
                continue;
            }
            println!(
                "{:<5} {:<3} {:<6} {:<5} {:<6} {:<8} {:<30}",
                s.devid, s.backend_id, s.frontend_id, s.state, s.evtch, s.rref, backend
            );
        }
    }
    if as_json {
        print_json(&Value::Array(rows));
    }
    Ok(())
}

/// `xl network-list DOMAIN...`.
pub fn network_list(ctx: &Context, as_json: bool, which: &[String]) -> Result<(), String> {
    let mut rows = Vec::new();
    if !as_json {
        println!(
            "{:<3} {:<2} {:<17} {:<6} {:<5} {:<6} {:>5}/{:<5} {:<30}",
            "Idx", "BE", "Mac Addr.", "handle", "state", "evt-ch", "tx-", "rx-ring-ref", "BE-path"
        );
    }
    for w in which {
        let domid = find_domain(ctx, w)?;
        let Ok(states) = ctx.nic_states(domid) else {
            continue;
        };
        for (nic, s) in states {
            let mac = nic.mac.unwrap_or(xenlight::Mac([0; 6])).to_string();
            let backend = s.backend.unwrap_or_default();
            if as_json {
                rows.push(json!({
                    "domid": domid.get(),
                    "devid": s.devid,
                    "backend_id": s.backend_id,
                    "mac": mac,
                    "state": s.state,
                    "evtch": s.evtch,
                    "tx_ring_ref": s.rref_tx,
                    "rx_ring_ref": s.rref_rx,
                    "backend": backend,
                }));
                continue;
            }
            println!(
                "{:<3} {:<2} {mac}{:>6} {:>5} {:>6} {:>5}/{:<11} {:<30}",
                s.devid, s.backend_id, s.devid, s.state, s.evtch, s.rref_tx, s.rref_rx, backend
            );
        }
    }
    if as_json {
        print_json(&Value::Array(rows));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(bits: &[usize]) -> Bitmap {
        let mut m = Bitmap::default();
        for &b in bits {
            m.set(b);
        }
        m
    }

    /// The CPU lists read as xl's print_bitmap prints them.
    #[test]
    fn cpu_ranges_read_as_xls_print_bitmap() {
        assert_eq!(cpu_ranges(&map(&[0, 1, 2, 3]), 4), "all");
        assert_eq!(cpu_ranges(&map(&[]), 4), "none");
        assert_eq!(cpu_ranges(&map(&[1]), 4), "1");
        assert_eq!(cpu_ranges(&map(&[0, 1, 3]), 4), "0-1,3");
        assert_eq!(cpu_ranges(&map(&[1, 2, 3]), 4), "1-3");
        // Bits past the host's CPUs are not shown.
        assert_eq!(cpu_ranges(&map(&[0, 1, 9]), 2), "all");
    }
}
