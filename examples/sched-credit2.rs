//! Shows, or sets, a domain's credit2 weight and cap like
//! `xl sched-credit2 -d DOMAIN [-w WEIGHT] [-c CAP]`.
//!
//! ```text
//! cargo run --example sched-credit2 -- web          # show
//! cargo run --example sched-credit2 -- web 512      # set the weight
//! cargo run --example sched-credit2 -- web 512 50   # and the cap (% of a CPU)
//! ```

use std::process::ExitCode;

use xenlight::types::DomainSchedParams;

fn run(which: &str, weight: Option<i32>, cap: Option<i32>) -> xenlight::Result<()> {
    let ctx = xenlight::Context::new()?;
    let domid = ctx.find_domain(which)?;
    if weight.is_some() || cap.is_some() {
        // Fields left at their defaults are not changed.
        let d = DomainSchedParams::default();
        ctx.set_sched_params(
            domid,
            &DomainSchedParams {
                weight: weight.unwrap_or(d.weight),
                cap: cap.unwrap_or(d.cap),
                ..d
            },
        )?;
    }
    let p = ctx.sched_params(domid)?;
    let name = ctx.domain_name(domid)?.unwrap_or_default();
    println!(
        "{:<20} {:>5} {:>6} {:>4}  ({})",
        "Name",
        "ID",
        "Weight",
        "Cap",
        ctx.scheduler()?
    );
    println!("{name:<20} {domid:>5} {:>6} {:>4}", p.weight, p.cap);
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| -> Result<Option<i32>, String> {
        args.get(i)
            .map(|a| a.parse().map_err(|_| format!("{a:?} is not a number")))
            .transpose()
    };
    let (Some(which), Ok(weight), Ok(cap)) = (args.first(), num(1), num(2)) else {
        eprintln!("usage: sched-credit2 <name-or-domid> [weight [cap]]");
        return ExitCode::from(2);
    };
    match run(which, weight, cap) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sched-credit2: {e}");
            ExitCode::FAILURE
        }
    }
}
