//! Waits for a domain to shut down and prints why, then destroys it (its
//! on_poweroff action), like xl's domain monitor.
//!
//! ```text
//! cargo run --example wait -- web 120
//! ```

use std::process::ExitCode;
use std::time::Duration;

fn run(which: &str, secs: u64) -> xenlight::Result<()> {
    let ctx = xenlight::Context::new()?;
    let domid = ctx.find_domain(which)?;
    let reason = ctx.wait_for_shutdown(domid, Duration::from_secs(secs))?;
    println!("domain {domid} shut down: {reason}");
    ctx.destroy(domid)?;
    println!("domain {domid} destroyed");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(which) = args.first() else {
        eprintln!("usage: wait <name-or-domid> [timeout-seconds]");
        return ExitCode::from(2);
    };
    let secs = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    match run(which, secs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wait: {e}");
            ExitCode::FAILURE
        }
    }
}
