//! Attaches to a domain's console like `xl console DOMAIN`: the guest's
//! output to stdout, stdin to the guest; `Ctrl-]` detaches. `-t` prints the
//! console's pty path instead. `-x` hands the terminal to Xen's own client
//! (`xenconsole`, as `xl console` does), `-x -e ^b` with another escape
//! (Xen 4.20).
//!
//! ```text
//! cargo run --example console -- web
//! cargo run --example console -- web -t
//! cargo run --example console -- web -x -e ^b
//! ```

use std::io::{Read, Write};
use std::process::ExitCode;

use xenlight::ConsoleKind;

/// The byte `Ctrl-]` sends.
const ESCAPE: u8 = 0x1d;

/// `exec`: hand over to xenconsole, with this escape (`None`: its default).
fn run(
    which: &str,
    tty_only: bool,
    exec: Option<Option<&str>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = xenlight::Context::new()?;
    let domid = ctx.find_domain(which)?;
    if tty_only {
        println!(
            "{}",
            ctx.console_tty(domid, ConsoleKind::Primary)?.display()
        );
        return Ok(());
    }
    if let Some(escape) = exec {
        // Returns only if xenconsole could not be started.
        return Err(ctx.console_exec(domid, ConsoleKind::Primary, escape).into());
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
        eprintln!("usage: console <name-or-domid> [-t | -x [-e ESCAPE]]");
        return ExitCode::from(2);
    };
    let flag = |f: &str| args.iter().position(|a| a == f);
    let escape = flag("-e").and_then(|i| args.get(i + 1)).map(String::as_str);
    let exec = flag("-x").map(|_| escape);
    match run(which, flag("-t").is_some(), exec) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("console: {e}");
            ExitCode::FAILURE
        }
    }
}
