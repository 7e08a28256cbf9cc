//! Prints every domain's shutdowns, deaths and CD-ROM ejects as they happen, from one
//! event stream (`Context::domain_events`), for up to SECONDS (default 60).
//!
//! ```text
//! cargo run --example events -- 600
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use xenlight::DomainEvent;

fn run(secs: u64) -> xenlight::Result<()> {
    let ctx = xenlight::Context::new()?;
    let mut events = ctx.domain_events()?;
    let end = Instant::now() + Duration::from_secs(secs);
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        match events.next_event(left)? {
            Some(ev) => {
                let who = format!("domain {} ({})", ev.domid(), ev.name().unwrap_or("-"));
                match ev {
                    DomainEvent::Shutdown { reason, .. } => println!("{who}: shutdown ({reason})"),
                    DomainEvent::Death { .. } => println!("{who}: destroyed"),
                    DomainEvent::DiskEject { vdev, .. } => println!("{who}: {vdev} ejected"),
                    other => println!("{other:?}"),
                }
            }
            None => break,
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let secs = match std::env::args().nth(1).map(|s| s.parse::<u64>()) {
        None => 60,
        Some(Ok(s)) => s,
        Some(Err(_)) => {
            eprintln!("usage: events [seconds]");
            return ExitCode::from(2);
        }
    };
    match run(secs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("events: {e}");
            ExitCode::FAILURE
        }
    }
}
