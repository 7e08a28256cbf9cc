//! Prints the hypervisor's console ring, like `xl dmesg` (`-c` clears it).
//!
//! ```text
//! cargo run --example dmesg
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let clear = std::env::args().skip(1).any(|a| a == "-c");
    match xenlight::Context::new().and_then(|ctx| ctx.xen_dmesg(clear)) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dmesg: {e}");
            ExitCode::FAILURE
        }
    }
}
