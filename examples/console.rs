//! Attaches to a domain's console like `xl console DOMAIN`: the guest's
//! output to stdout, stdin to the guest; `Ctrl-]` detaches. `-t` prints the
//! console's pty path instead.
//!
//! ```text
//! cargo run --example console -- web
//! cargo run --example console -- web -t
//! ```

use std::io::{Read, Write};
use std::process::ExitCode;

use xenlight::ConsoleKind;

/// The byte `Ctrl-]` sends.
const ESCAPE: u8 = 0x1d;

fn run(which: &str, tty_only: bool) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = xenlight::Context::new()?;
    let domid = ctx.find_domain(which)?;
    if tty_only {
        println!(
            "{}",
            ctx.console_tty(domid, ConsoleKind::Primary)?.display()
        );
        return Ok(());
    }
    let mut console = ctx.console(domid, ConsoleKind::Primary)?;
    let mut to_guest = console.try_clone_writer()?;
    eprintln!("Connected to {which}; Ctrl-] detaches.");
    // stdin -> guest, until Ctrl-] or end of input.
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut b = [0u8; 256];
        while let Ok(n) = stdin.read(&mut b) {
            if n == 0 {
                break;
            }
            if let Some(i) = b[..n].iter().position(|&c| c == ESCAPE) {
                let _ = to_guest.write_all(&b[..i]);
                std::process::exit(0);
            }
            if to_guest.write_all(&b[..n]).is_err() {
                break;
            }
        }
    });
    // guest -> stdout.
    let mut stdout = std::io::stdout().lock();
    let mut b = [0u8; 4096];
    loop {
        let n = console.read(&mut b)?;
        if n == 0 {
            return Ok(());
        }
        stdout.write_all(&b[..n])?;
        stdout.flush()?;
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(which) = args.first() else {
        eprintln!("usage: console <name-or-domid> [-t]");
        return ExitCode::from(2);
    };
    match run(which, args.iter().any(|a| a == "-t")) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("console: {e}");
            ExitCode::FAILURE
        }
    }
}
