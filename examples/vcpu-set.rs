//! Sets how many vCPUs of a domain are online, like `xl vcpu-set DOMAIN N`.
//!
//! ```text
//! cargo run --example vcpu-set -- web 2
//! ```

use std::process::ExitCode;

fn run(which: &str, count: u32) -> xenlight::Result<()> {
    let ctx = xenlight::Context::new()?;
    let domid = ctx.find_domain(which)?;
    ctx.set_vcpus_online(domid, count)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = args.get(1).map(|n| n.parse::<u32>());
    let (Some(which), Some(Ok(count))) = (args.first(), count) else {
        eprintln!("usage: vcpu-set <name-or-domid> <count>");
        return ExitCode::from(2);
    };
    match run(which, count) {
        Ok(()) => {
            println!("asked {which} to run {count} vCPUs");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vcpu-set: {e}");
            ExitCode::FAILURE
        }
    }
}
