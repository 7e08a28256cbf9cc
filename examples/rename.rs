//! Renames a domain like `xl rename OLD NEW`.
//!
//! ```text
//! cargo run --example rename -- web web-old
//! ```

use std::process::ExitCode;

fn run(which: &str, new: &str) -> xenlight::Result<()> {
    let ctx = xenlight::Context::new()?;
    let domid = ctx.find_domain(which)?;
    ctx.rename(domid, new)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(which), Some(new)) = (args.first(), args.get(1)) else {
        eprintln!("usage: rename <name-or-domid> <new-name>");
        return ExitCode::from(2);
    };
    match run(which, new) {
        Ok(()) => {
            println!("renamed {which} to {new}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rename: {e}");
            ExitCode::FAILURE
        }
    }
}
