//! Saves a domain to a file and destroys it, like `xl save DOMAIN FILE`.
//! The file holds the domain's config too: `restore FILE` needs nothing else.
//!
//! ```text
//! cargo run --example save -- web /var/lib/xen/save/web.save
//! ```

use std::process::ExitCode;

fn run(which: &str, file: &str) -> xenlight::Result<xenlight::Domid> {
    let ctx = xenlight::Context::new()?;
    let domid = ctx.find_domain(which)?;
    ctx.save(domid, file)?;
    Ok(domid)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [which, file] = args.as_slice() else {
        eprintln!("usage: save <name-or-domid> <file>");
        return ExitCode::from(2);
    };
    match run(which, file) {
        Ok(domid) => {
            println!("saved domain {domid} to {file}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("save: {e}");
            ExitCode::FAILURE
        }
    }
}
