//! Lists domains like `xl list`: name, id, memory (MiB), vCPUs, state, time.
//!
//! ```text
//! cargo run --example list
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let ctx = match xenlight::Context::new() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("list: {e}");
            return ExitCode::FAILURE;
        }
    };
    let domains = match ctx.domains() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("list: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Name                                        ID   Mem VCPUs\tState\tTime(s)");
    for d in domains {
        println!(
            "{:<40} {:>5} {:>5} {:>5}     {}  {:>8.1}",
            d.name.as_deref().unwrap_or("(null)"),
            d.domid,
            (d.current_memkb + d.outstanding_memkb) / 1024,
            d.vcpu_online,
            d.state_letters(),
            d.cpu_time.as_secs_f64()
        );
    }
    ExitCode::SUCCESS
}
