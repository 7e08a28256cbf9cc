//! Lists every domain's vCPUs like `xl vcpu-list`: where each runs, its
//! state, CPU time and hard/soft affinity.
//!
//! ```text
//! cargo run --example vcpu-list [-- NAME-OR-DOMID]
//! ```

use std::process::ExitCode;

/// A CPU set as xl prints it: `all`, or ranges such as `0-3,6`.
fn cpus(b: &xenlight::types::Bitmap, nr_cpus: usize) -> String {
    let set: Vec<usize> = b.iter().filter(|&c| c < nr_cpus).collect();
    if set.len() == nr_cpus {
        return "all".into();
    }
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < set.len() {
        let start = set[i];
        while i + 1 < set.len() && set[i + 1] == set[i] + 1 {
            i += 1;
        }
        out.push(if set[i] == start {
            start.to_string()
        } else {
            format!("{start}-{}", set[i])
        });
        i += 1;
    }
    if out.is_empty() {
        "none".into()
    } else {
        out.join(",")
    }
}

fn run(which: Option<&str>) -> xenlight::Result<()> {
    let ctx = xenlight::Context::new()?;
    let nr_cpus = ctx.physinfo()?.nr_cpus as usize;
    let domains = match which {
        Some(w) => vec![ctx.domain_info(ctx.find_domain(w)?)?],
        None => ctx.domains()?,
    };
    println!(
        "{:<20} {:>5} {:>5} {:>5} {:>5} {:>9}  Affinity (Hard / Soft)",
        "Name", "ID", "VCPU", "CPU", "State", "Time(s)"
    );
    for d in domains {
        for v in ctx.vcpus(d.domid)? {
            let state = match (v.online, v.running, v.blocked) {
                (false, _, _) => "-p-",
                (true, true, _) => "r--",
                (true, false, true) => "-b-",
                _ => "---",
            };
            println!(
                "{:<20} {:>5} {:>5} {:>5} {:>5} {:>9.1}  {} / {}",
                d.name.as_deref().unwrap_or("-"),
                d.domid,
                v.vcpuid,
                if v.online {
                    v.cpu.to_string()
                } else {
                    "-".into()
                },
                state,
                v.vcpu_time as f64 / 1e9,
                cpus(&v.cpumap, nr_cpus),
                cpus(&v.cpumap_soft, nr_cpus),
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let which = std::env::args().nth(1);
    match run(which.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vcpu-list: {e}");
            ExitCode::FAILURE
        }
    }
}
