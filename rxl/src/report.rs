//! The report commands: xl's output, byte for byte (formats from
//! `tools/xl/xl_info.c` and `xl_mem.c`), or with `--json` the same facts
//! under stable field names.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use xenlight::{Context, DomainInfo};

use crate::find_domain;

/// xl's shutdown-reason letters (`list_domains`), by libxl's code.
const SHUTDOWN_LETTERS: &[u8] = b"-rscwS";

/// The domains a report covers: all, or the one named (as xl's
/// `libxl_domain_info`, whose missing domain is "does not exist").
fn domains(ctx: &Context, which: Option<&str>) -> Result<Vec<DomainInfo>, String> {
    match which {
        None => ctx
            .domains()
            .map_err(|e| format!("libxl_list_domain failed: {e}")),
        Some(w) => {
            let domid = find_domain(ctx, w)?;
            ctx.domain_info(domid)
                .map(|i| vec![i])
                .map_err(|_| format!("Error: Domain '{w}' does not exist."))
        }
    }
}

/// A name as xl prints `libxl_domid_to_name`'s: glibc's `(null)` for none.
fn name_of(info: &DomainInfo) -> &str {
    info.name.as_deref().unwrap_or("(null)")
}

/// The memory column: current plus outstanding, in MiB.
fn mem_mib(info: &DomainInfo) -> u64 {
    (info.current_memkb + info.outstanding_memkb) / 1024
}

/// xl's `(float)cpu_time / 1e9`: nanoseconds rounded to a C float first.
fn seconds(t: Duration) -> f64 {
    f64::from(t.as_nanos() as f32) / 1e9
}

fn reason_code(info: &DomainInfo) -> i32 {
    match (info.shutdown, info.shutdown_reason) {
        (true, Some(r)) => r.to_raw(),
        _ => 0,
    }
}

fn state_letters(info: &DomainInfo) -> String {
    let flag = |on: bool, c: char| if on { c } else { '-' };
    let code = reason_code(info);
    let reason = usize::try_from(code)
        .ok()
        .and_then(|i| SHUTDOWN_LETTERS.get(i))
        .map_or('?', |&b| char::from(b));
    format!(
        "{}{}{}{}{}{}",
        flag(info.running, 'r'),
        flag(info.blocked, 'b'),
        flag(info.paused, 'p'),
        flag(info.shutdown, 's'),
        reason,
        flag(info.dying, 'd')
    )
}

fn domain_json(info: &DomainInfo) -> Value {
    json!({
        "name": info.name,
        "domid": info.domid.get(),
        "uuid": info.uuid.to_string(),
        "mem_mib": mem_mib(info),
        "current_memkb": info.current_memkb,
        "outstanding_memkb": info.outstanding_memkb,
        "shared_memkb": info.shared_memkb,
        "vcpus": info.vcpu_online,
        "state": state_letters(info),
        "shutdown_reason": info.shutdown.then(|| reason_code(info)),
        "cpu_time_s": info.cpu_time.as_secs_f64(),
        "cpupool": info.cpupool,
    })
}

/// The `--json` form of a domain listing.
fn print_domains_json(infos: &[DomainInfo]) -> Result<(), String> {
    print_json(&Value::Array(infos.iter().map(domain_json).collect()));
    Ok(())
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// `xl list [-v] [DOMAIN]`.
pub fn list(
    ctx: &Context,
    verbose: bool,
    as_json: bool,
    which: Option<&str>,
) -> Result<(), String> {
    let infos = domains(ctx, which)?;
    if as_json {
        return print_domains_json(&infos);
    }
    print!("Name                                        ID   Mem VCPUs\tState\tTime(s)");
    if verbose {
        print!("   UUID                            Reason-Code\tSecurity Label");
    }
    println!();
    for i in &infos {
        print!(
            "{:<40} {:>5} {:>5} {:>5}     {}  {:>8.1}",
            name_of(i),
            i.domid.get(),
            mem_mib(i),
            i.vcpu_online,
            state_letters(i),
            seconds(i.cpu_time)
        );
        if verbose {
            print!(" {}", i.uuid);
            if i.shutdown {
                print!(" {:>8x}", reason_code(i));
            } else {
                print!(" {:>8}", "-");
            }
            // No XSM label without FLASK (libxl's ssid_label is NULL).
            print!(" {:>16}", "-");
        }
        println!();
    }
    Ok(())
}

/// `xl claims`: the list with each domain's outstanding claim.
pub fn claims(ctx: &Context, as_json: bool) -> Result<(), String> {
    let infos = domains(ctx, None)?;
    if as_json {
        return print_domains_json(&infos);
    }
    println!("Name                                        ID   Mem VCPUs\tState\tTime(s)  Claimed");
    for i in &infos {
        println!(
            "{:<40} {:>5} {:>5} {:>5}     {}  {:>8.1} {:>5}",
            name_of(i),
            i.domid.get(),
            mem_mib(i),
            i.vcpu_online,
            state_letters(i),
            seconds(i.cpu_time),
            i.outstanding_memkb / 1024
        );
    }
    Ok(())
}

/// `xl sharing [DOMAIN]`.
pub fn sharing(ctx: &Context, as_json: bool, which: Option<&str>) -> Result<(), String> {
    let infos = domains(ctx, which)?;
    if as_json {
        return print_domains_json(&infos);
    }
    println!("Name                                        ID   Mem Shared");
    for i in &infos {
        println!(
            "{:<40} {:>5} {:>5}  {:>5}",
            name_of(i),
            i.domid.get(),
            mem_mib(i),
            i.shared_memkb / 1024
        );
    }
    Ok(())
}

/// `xl domid NAME`.
pub fn domid(ctx: &Context, name: &str) -> Result<(), String> {
    let domid = ctx.domid_by_name(name).map_err(|_| {
        format!("Can't get domid of domain name '{name}', maybe this domain does not exist.")
    })?;
    println!("{domid}");
    Ok(())
}

/// `xl domname ID` (strtol's reading of the id, as xl).
pub fn domname(ctx: &Context, id: &str) -> Result<(), String> {
    let digits: String = id
        .trim_start()
        .chars()
        .enumerate()
        .take_while(|&(n, c)| c.is_ascii_digit() || (n == 0 && (c == '-' || c == '+')))
        .map(|(_, c)| c)
        .collect();
    let value: i64 = match digits.parse() {
        Ok(v) => v,
        Err(_) => return Err("Invalid domain id.\n".into()),
    };
    let domid = value as u32;
    let missing = || {
        format!("Can't get domain name of domain id '{domid}', maybe this domain does not exist.")
    };
    let d = xenlight::Domid::new(domid).map_err(|_| missing())?;
    match ctx.domain_name(d) {
        Ok(Some(name)) => {
            println!("{name}");
            Ok(())
        }
        _ => Err(missing()),
    }
}

/// `xl vm-list`.
pub fn vm_list(ctx: &Context, as_json: bool) -> Result<(), String> {
    let vms = ctx
        .vms()
        .map_err(|e| format!("libxl_list_vm failed: {e}"))?;
    let name = |domid: u32| {
        xenlight::Domid::new(domid)
            .ok()
            .and_then(|d| ctx.domain_name(d).ok().flatten())
    };
    if as_json {
        let v: Vec<Value> = vms
            .iter()
            .map(|vm| json!({"uuid": vm.uuid.to_string(), "domid": vm.domid, "name": name(vm.domid)}))
            .collect();
        print_json(&Value::Array(v));
        return Ok(());
    }
    println!("UUID                                  ID    name");
    for vm in &vms {
        let n = name(vm.domid).unwrap_or_else(|| "(null)".into());
        println!("{}  {}    {:<30}", vm.uuid, vm.domid, n);
    }
    Ok(())
}

/// xl's `uptime_to_string`.
fn uptime_text(uptime: u64, short: bool) -> String {
    let (day, hour, min, sec) = (
        uptime / 86400,
        (uptime / 3600) % 24,
        (uptime / 60) % 60,
        uptime % 60,
    );
    let days = match day {
        0 => String::new(),
        1 => "1 day, ".to_owned(),
        d => format!("{d} days, "),
    };
    if short {
        format!("{days}{hour:>2}:{min:02}")
    } else {
        format!("{days}{hour:>2}:{min:02}:{sec:02}")
    }
}

/// The local time of day, as xl's `strftime("%H:%M:%S", localtime(now))`
/// (the tests' hosts keep UTC; a local zone needs the C library's tables).
fn time_of_day(now: u64) -> String {
    let s = now % 86400;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// `xl uptime [-s] [DOMAIN...]`.
pub fn uptime(ctx: &Context, short: bool, as_json: bool, which: &[String]) -> Result<(), String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let doms: Vec<xenlight::Domid> = if which.is_empty() {
        let mut ids = vec![xenlight::Domid::DOM0];
        let vms = ctx.vms().map_err(|_| "Could not list vms.".to_owned())?;
        ids.extend(
            vms.iter()
                .filter(|v| v.domid != 0)
                .filter_map(|v| xenlight::Domid::new(v.domid).ok()),
        );
        ids
    } else {
        which
            .iter()
            .map(|w| find_domain(ctx, w))
            .collect::<Result<_, _>>()?
    };
    let mut rows = Vec::new();
    for d in doms {
        let up = if d.is_dom0() {
            let text = std::fs::read_to_string("/proc/uptime")
                .map_err(|_| "Can not get Dom0 uptime.".to_owned())?;
            let whole = text.split(['.', ' ']).next().unwrap_or("0");
            whole.parse::<u64>().unwrap_or(0)
        } else {
            match ctx.start_time(d) {
                Ok(t) => {
                    now.saturating_sub(t.duration_since(UNIX_EPOCH).map_or(0, |t| t.as_secs()))
                }
                // xl skips a domain whose start time it cannot read.
                Err(_) => continue,
            }
        };
        let name = ctx
            .domain_name(d)
            .ok()
            .flatten()
            .unwrap_or_else(|| "(null)".into());
        rows.push((name, d, up));
    }
    if as_json {
        let v: Vec<Value> = rows
            .iter()
            .map(|(n, d, up)| json!({"name": n, "domid": d.get(), "uptime_s": up}))
            .collect();
        print_json(&Value::Array(v));
        return Ok(());
    }
    if !short {
        println!("{:<33} {:>4} Uptime", "Name", "ID");
    }
    for (name, d, up) in rows {
        if short {
            println!(
                " {} up {}, {} ({})",
                time_of_day(now),
                uptime_text(up, true),
                name,
                d.get()
            );
        } else {
            println!("{:<33} {:>4} {}", name, d.get(), uptime_text(up, false));
        }
    }
    Ok(())
}

/// `xl dmesg [-c]`.
pub fn dmesg(ctx: &Context, clear: bool) -> Result<(), String> {
    let text = ctx.xen_dmesg(clear).map_err(|e| e.to_string())?;
    print!("{text}");
    Ok(())
}
