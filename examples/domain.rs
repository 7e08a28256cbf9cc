//! Shows one domain in detail, by name or id.
//!
//! ```text
//! cargo run --example domain -- Domain-0
//! cargo run --example domain -- 0
//! ```

use std::process::ExitCode;

fn run(which: &str) -> xenlight::Result<()> {
    let ctx = xenlight::Context::new()?;
    let domid = ctx.find_domain(which)?;
    let d = ctx.domain_info(domid)?;
    println!("name:          {}", d.name.as_deref().unwrap_or("-"));
    println!("domid:         {}", d.domid);
    println!("uuid:          {}", d.uuid);
    println!("type:          {}", d.domain_type);
    println!("state:         {:?} ({})", d.state, d.state_letters());
    println!(
        "memory:        {} KiB (max {} KiB)",
        d.current_memkb, d.max_memkb
    );
    println!(
        "vcpus:         {} online, {} max",
        d.vcpu_online, d.vcpu_max
    );
    println!("cpu time:      {:.1} s", d.cpu_time.as_secs_f64());
    println!("cpupool:       {}", d.cpupool);
    Ok(())
}

fn main() -> ExitCode {
    let Some(which) = std::env::args().nth(1) else {
        eprintln!("usage: domain <name-or-domid>");
        return ExitCode::from(2);
    };
    match run(&which) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("domain: {e}");
            ExitCode::FAILURE
        }
    }
}
