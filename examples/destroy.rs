//! Destroys a domain at once, by name or id, like `xl destroy`.
//!
//! ```text
//! cargo run --example destroy -- web
//! ```

use std::process::ExitCode;

fn run(which: &str) -> xenlight::Result<xenlight::Domid> {
    let ctx = xenlight::Context::new()?;
    let domid = ctx.find_domain(which)?;
    ctx.destroy(domid)?;
    Ok(domid)
}

fn main() -> ExitCode {
    let Some(which) = std::env::args().nth(1) else {
        eprintln!("usage: destroy <name-or-domid>");
        return ExitCode::from(2);
    };
    match run(&which) {
        Ok(domid) => {
            println!("destroyed domain {domid}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("destroy: {e}");
            ExitCode::FAILURE
        }
    }
}
