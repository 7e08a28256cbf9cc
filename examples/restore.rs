//! Restores a domain from a file written by `save`, like `xl restore FILE`.
//!
//! ```text
//! cargo run --example restore -- /var/lib/xen/save/web.save
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(file) = std::env::args().nth(1) else {
        eprintln!("usage: restore <file>");
        return ExitCode::from(2);
    };
    let restored = xenlight::Context::new().and_then(|ctx| ctx.restore(&file));
    match restored {
        Ok(domid) => {
            println!("restored {file} as domain {domid}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("restore: {e}");
            ExitCode::FAILURE
        }
    }
}
