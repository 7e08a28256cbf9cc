//! Waits for a domain to shut down, prints why, then carries out its
//! `on_poweroff`/`on_reboot`/`on_crash` action (destroy, restart, ...), as
//! xl's domain monitor does.
//!
//! ```text
//! cargo run --example wait -- web 120
//! ```

use std::process::ExitCode;
use std::time::Duration;

use xenlight::AfterShutdown;

fn run(which: &str, secs: u64) -> xenlight::Result<()> {
    let ctx = xenlight::Context::new()?;
    let domid = ctx.find_domain(which)?;
    let reason = ctx.wait_for_shutdown(domid, Duration::from_secs(secs))?;
    println!("domain {domid} shut down: {reason}");
    match ctx.handle_shutdown(domid)? {
        AfterShutdown::Destroyed { core_dump } => {
            if let Some(p) = core_dump {
                println!("core dumped to {}", p.display());
            }
            println!("domain {domid} destroyed");
        }
        AfterShutdown::Preserved => println!("domain {domid} preserved"),
        AfterShutdown::Restarted {
            domid: new,
            old_renamed,
            ..
        } => {
            if let Some(n) = old_renamed {
                println!("domain {domid} kept as {n}");
            }
            println!("restarted as domain {new}");
        }
        other => println!("{other:?}"),
    }
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
