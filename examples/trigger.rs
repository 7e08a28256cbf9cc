//! Sends a trigger to a domain like `xl trigger DOMAIN TRIGGER [VCPU]`:
//! power, sleep, nmi, init, reset or s3resume.
//!
//! ```text
//! cargo run --example trigger -- win10 power
//! cargo run --example trigger -- web nmi 0
//! ```

use std::process::ExitCode;

use xenlight::types::Trigger;

fn run(which: &str, trigger: Trigger, vcpu: u32) -> xenlight::Result<()> {
    let ctx = xenlight::Context::new()?;
    let domid = ctx.find_domain(which)?;
    ctx.send_trigger(domid, trigger, vcpu)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let trigger = args.get(1).and_then(|t| Trigger::from_name(t));
    let vcpu = args.get(2).map_or(Ok(0), |v| v.parse::<u32>());
    let (Some(which), Some(trigger), Ok(vcpu)) = (args.first(), trigger, vcpu) else {
        eprintln!("usage: trigger <name-or-domid> <power|sleep|nmi|init|reset|s3resume> [vcpu]");
        return ExitCode::from(2);
    };
    match run(which, trigger, vcpu) {
        Ok(()) => {
            println!("sent {} to {which}", trigger.name().unwrap_or("?"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("trigger: {e}");
            ExitCode::FAILURE
        }
    }
}
