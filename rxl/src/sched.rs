//! `sched-credit` and `sched-credit2`: a pool's parameters and its
//! domains' weights and caps, listed or set (formats and checks from
//! `tools/xl/xl_sched.c`), or with `--json` the same facts.

use serde_json::{json, Value};
use xenlight::types::{Cpupoolinfo, DomainSchedParams, SchedCredit2Params, Scheduler};
use xenlight::{Context, Domid};

use crate::find_domain;

/// What `sched-credit` / `sched-credit2` were asked, as xl's options.
pub struct SchedArgs {
    /// `-d DOMAIN`.
    pub domain: Option<String>,
    /// `-w WEIGHT`.
    pub weight: Option<i32>,
    /// `-c CAP`.
    pub cap: Option<i32>,
    /// `-s`: the pool's parameters instead of the domains'.
    pub schedparam: bool,
    /// `-p POOL`.
    pub cpupool: Option<String>,
    /// `-t TSLICE` (credit only).
    pub tslice_ms: Option<i32>,
    /// `-r RATELIMIT`.
    pub ratelimit_us: Option<i32>,
    /// `-m DELAY` (credit only).
    pub migration_delay_us: Option<i32>,
    /// `--json`.
    pub json: bool,
}

/// xl's reading of a POOL argument: a number is an id, anything else a
/// name ([`Context::find_cpupool`]), with xl's message when none is.
fn pool_id(ctx: &Context, which: &str) -> Result<u32, String> {
    ctx.find_cpupool(which)
        .map_err(|_| format!("unknown cpupool '{which}'"))
}

/// xl's `libxl_cpupoolid_to_name`, printed as glibc prints NULL.
fn pool_name(ctx: &Context, poolid: u32) -> String {
    ctx.cpupool_name(poolid)
        .ok()
        .flatten()
        .unwrap_or_else(|| "(null)".into())
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// `xl sched-credit` (`sched` is credit) or `xl sched-credit2` (credit2).
pub fn sched(ctx: &Context, sched: Scheduler, a: &SchedArgs) -> Result<(), String> {
    let credit = sched == Scheduler::Credit;
    let domain_options = a.domain.is_some() || a.weight.is_some() || a.cap.is_some();
    // xl's refusals, in xl's order and words.
    if credit && (a.cpupool.is_some() || a.schedparam) && domain_options {
        return Err(
            "Specifying a cpupool or schedparam is not allowed with domain options.".into(),
        );
    }
    if !credit && a.cpupool.is_some() && domain_options {
        return Err("Specifying a cpupool is not allowed with other options.".into());
    }
    if a.domain.is_none() && (a.weight.is_some() || a.cap.is_some()) {
        return Err("Must specify a domain.".into());
    }
    let pool_options =
        a.tslice_ms.is_some() || a.ratelimit_us.is_some() || a.migration_delay_us.is_some();
    if credit && !a.schedparam && pool_options {
        return Err("Must specify schedparam to set schedule parameter values.".into());
    }
    let pools = ctx
        .cpupools()
        .map_err(|_| "error getting cpupool info".to_owned())?;
    if a.schedparam {
        let poolid = match &a.cpupool {
            Some(p) => pool_id(ctx, p)?,
            None => 0,
        };
        return if pool_options {
            set_pool_params(ctx, credit, poolid, a)
        } else {
            pool_output(ctx, credit, poolid, a.json);
            Ok(())
        };
    }
    match &a.domain {
        None => all_domains(ctx, &pools, sched, a),
        Some(which) => {
            let domid = find_domain(ctx, which)?;
            if a.weight.is_none() && a.cap.is_none() {
                if !a.json {
                    header();
                }
                return domain_output(ctx, sched, domid, a.json);
            }
            let params = DomainSchedParams {
                sched,
                weight: a.weight.unwrap_or(-1),
                cap: a.cap.unwrap_or(-1),
                ..DomainSchedParams::default()
            };
            ctx.set_sched_params(domid, &params)
                .map_err(|_| "libxl_domain_sched_params_set failed.".to_owned())
        }
    }
}

/// xl's `sched_credit{,2}_params_set` after reading the current values.
fn set_pool_params(ctx: &Context, credit: bool, poolid: u32, a: &SchedArgs) -> Result<(), String> {
    if credit {
        let mut p = ctx
            .credit_params(poolid)
            .map_err(|_| "libxl_sched_credit_params_get failed.".to_owned())?;
        if let Some(t) = a.tslice_ms {
            p.tslice_ms = t;
        }
        if let Some(r) = a.ratelimit_us {
            p.ratelimit_us = r;
        }
        if let Some(m) = a.migration_delay_us {
            p.vcpu_migr_delay_us = m;
        }
        ctx.set_credit_params(poolid, &p)
            .map_err(|_| "libxl_sched_credit_params_set failed.".to_owned())
    } else {
        // xl sets only the rate limit (0 when -r is not given).
        let p = SchedCredit2Params {
            ratelimit_us: a.ratelimit_us.unwrap_or(0),
        };
        ctx.set_credit2_params(poolid, &p)
            .map_err(|_| "libxl_sched_credit2_params_set failed.".to_owned())
    }
}

/// xl's `sched_credit{,2}_pool_output`: a line of the pool's parameters,
/// or "[sched params unavailable]" (on stderr first, xl's get failure).
fn pool_output(ctx: &Context, credit: bool, poolid: u32, as_json: bool) {
    let name = pool_name(ctx, poolid);
    let (line, facts) = if credit {
        match ctx.credit_params(poolid) {
            Ok(p) => (
                format!(
                    "tslice={}ms ratelimit={}us migration-delay={}us",
                    p.tslice_ms, p.ratelimit_us, p.vcpu_migr_delay_us
                ),
                json!({"tslice_ms": p.tslice_ms, "ratelimit_us": p.ratelimit_us,
                       "migration_delay_us": p.vcpu_migr_delay_us}),
            ),
            Err(_) => {
                eprintln!("libxl_sched_credit_params_get failed.");
                ("[sched params unavailable]".into(), Value::Null)
            }
        }
    } else {
        match ctx.credit2_params(poolid) {
            Ok(p) => (
                format!("ratelimit={}us", p.ratelimit_us),
                json!({"ratelimit_us": p.ratelimit_us}),
            ),
            Err(_) => {
                eprintln!("libxl_sched_credit2_params_get failed.");
                ("[sched params unavailable]".into(), Value::Null)
            }
        }
    };
    if as_json {
        print_json(&json!({"cpupool": name, "poolid": poolid, "params": facts}));
    } else {
        println!("Cpupool {name}: {line}");
    }
}

fn header() {
    println!("{:<33} {:>4} {:>6} {:>4}", "Name", "ID", "Weight", "Cap");
}

/// One domain's line (xl's `sched_credit{,2}_domain_output`); a domain
/// under another scheduler is xl's error.
fn domain_output(
    ctx: &Context,
    sched: Scheduler,
    domid: Domid,
    as_json: bool,
) -> Result<(), String> {
    let row = domain_row(ctx, sched, domid)?;
    if as_json {
        print_json(&row.json(None));
    } else {
        println!(
            "{:<33} {:>4} {:>6} {:>4}",
            row.name.as_deref().unwrap_or("(null)"),
            domid,
            row.weight,
            row.cap
        );
    }
    Ok(())
}

/// A domain's weight and cap, as `sched-credit{,2}` shows them.
struct Row {
    name: Option<String>,
    domid: Domid,
    weight: i32,
    cap: i32,
}

impl Row {
    fn json(&self, cpupool: Option<&str>) -> Value {
        let mut v = json!({"name": self.name, "domid": self.domid.get(),
                           "weight": self.weight, "cap": self.cap});
        if let Some(p) = cpupool {
            v["cpupool"] = json!(p);
        }
        v
    }
}

fn domain_row(ctx: &Context, sched: Scheduler, domid: Domid) -> Result<Row, String> {
    let p = ctx
        .sched_params(domid)
        .map_err(|_| "libxl_domain_sched_params_get failed.".to_owned())?;
    if p.sched != sched {
        return Err(format!(
            "libxl_domain_sched_params_get returned {} not {}.",
            p.sched, sched
        ));
    }
    Ok(Row {
        name: ctx.domain_name(domid).ok().flatten(),
        domid,
        weight: p.weight,
        cap: p.cap,
    })
}

/// xl's `sched_domain_output`: for each pool under this scheduler (or
/// the one asked for), its parameters, the header and its domains.
fn all_domains(
    ctx: &Context,
    pools: &[Cpupoolinfo],
    sched: Scheduler,
    a: &SchedArgs,
) -> Result<(), String> {
    let only = match &a.cpupool {
        Some(p) => Some(pool_id(ctx, p)?),
        None => None,
    };
    let domains = ctx
        .domains()
        .map_err(|_| "libxl_list_domain failed.".to_owned())?;
    let mut rows = Vec::new();
    for pool in pools
        .iter()
        .filter(|p| p.sched == sched && only.is_none_or(|id| id == p.poolid))
    {
        if !a.json {
            pool_output(ctx, sched == Scheduler::Credit, pool.poolid, false);
            header();
        }
        for d in domains.iter().filter(|d| d.cpupool == pool.poolid) {
            if a.json {
                let row = domain_row(ctx, sched, d.domid)?;
                rows.push(row.json(pool.pool_name.as_deref()));
            } else if let Err(message) = domain_output(ctx, sched, d.domid, false) {
                // xl stops at the first domain it cannot read, and still
                // exits 0 (sched_domain_output returns 0).
                eprintln!("{message}");
                return Ok(());
            }
        }
    }
    if a.json {
        print_json(&Value::Array(rows));
    }
    Ok(())
}
