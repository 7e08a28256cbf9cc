//! Sets a domain's maximum memory like `xl mem-max DOMAIN MiB`, and shows
//! its current target.
//!
//! ```text
//! cargo run --example mem-max -- web 512
//! ```

use std::process::ExitCode;

fn run(which: &str, mib: u64) -> xenlight::Result<()> {
    let ctx = xenlight::Context::new()?;
    let domid = ctx.find_domain(which)?;
    ctx.set_max_memory(domid, mib * 1024)?;
    let target = ctx.memory_target(domid)?;
    println!(
        "{which}: max memory {mib} MiB, target {} MiB",
        target / 1024
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mib = args.get(1).map(|n| n.parse::<u64>());
    let (Some(which), Some(Ok(mib))) = (args.first(), mib) else {
        eprintln!("usage: mem-max <name-or-domid> <MiB>");
        return ExitCode::from(2);
    };
    match run(which, mib) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mem-max: {e}");
            ExitCode::FAILURE
        }
    }
}
