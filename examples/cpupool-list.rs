//! Lists the host's CPU pools like `xl cpupool-list`.
//!
//! ```text
//! cargo run --example cpupool-list
//! ```

use std::process::ExitCode;

fn run() -> xenlight::Result<()> {
    let ctx = xenlight::Context::new()?;
    println!(
        "{:<16} {:>4} {:<10} {:>6} {:>6}",
        "Name", "CPUs", "Sched", "Active", "Domain count"
    );
    for p in ctx.cpupools()? {
        println!(
            "{:<16} {:>4} {:<10} {:>6} {:>6}",
            p.pool_name.as_deref().unwrap_or("-"),
            p.cpumap.iter().count(),
            p.sched.to_string(),
            "y",
            p.n_dom
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cpupool-list: {e}");
            ExitCode::FAILURE
        }
    }
}
