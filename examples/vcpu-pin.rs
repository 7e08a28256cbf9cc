//! Pins a domain's vCPU to physical CPUs like `xl vcpu-pin DOMAIN VCPU CPUS`
//! (CPUS as "0-3,^2" or "all"; the hard affinity).
//!
//! ```text
//! cargo run --example vcpu-pin -- web 0 1
//! cargo run --example vcpu-pin -- web 1 0-3,^2
//! ```

use std::process::ExitCode;

use xenlight::types::Bitmap;

/// "0-3,^2" or "all" over `ncpus` CPUs.
fn cpus(spec: &str, ncpus: usize) -> Result<Bitmap, String> {
    let mut map = Bitmap::with_bits(ncpus);
    for part in spec.split(',').filter(|p| !p.is_empty()) {
        let (off, range) = match part.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, part),
        };
        let (a, b) = if range == "all" {
            (0, ncpus.saturating_sub(1))
        } else {
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            let n = |s: &str| {
                s.parse::<usize>()
                    .map_err(|_| format!("{part:?} is not a CPU or range"))
            };
            (n(a)?, n(b)?)
        };
        if a > b || b >= ncpus {
            return Err(format!("{part:?}: the host has CPUs 0-{}", ncpus - 1));
        }
        for c in a..=b {
            if off {
                map.clear(c);
            } else {
                map.set(c);
            }
        }
    }
    Ok(map)
}

fn run(which: &str, vcpu: u32, spec: &str) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = xenlight::Context::new()?;
    let domid = ctx.find_domain(which)?;
    let map = cpus(spec, ctx.physinfo()?.nr_cpus as usize)?;
    ctx.set_vcpu_affinity(domid, vcpu, Some(&map), None)?;
    let v = ctx.vcpus(domid)?;
    let pinned: Vec<usize> = v
        .iter()
        .find(|v| v.vcpuid == vcpu)
        .map(|v| v.cpumap.iter().collect())
        .unwrap_or_default();
    println!("{which} vCPU {vcpu}: hard affinity {pinned:?}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let vcpu = args.get(1).map(|n| n.parse::<u32>());
    let (Some(which), Some(Ok(vcpu)), Some(spec)) = (args.first(), vcpu, args.get(2)) else {
        eprintln!("usage: vcpu-pin <name-or-domid> <vcpu> <cpus: 0-3,^2 | all>");
        return ExitCode::from(2);
    };
    match run(which, vcpu, spec) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vcpu-pin: {e}");
            ExitCode::FAILURE
        }
    }
}
