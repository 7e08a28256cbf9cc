//! Live-migrates a domain like `xl migrate`: to a receiver listening on
//! HOST:PORT, or to this same host with `--local`. `--receive ADDR:PORT`
//! is the receiving side (run it on the destination first).
//!
//! ```text
//! cargo run --example migrate -- --receive 169.254.7.2:8002   # on the destination
//! cargo run --example migrate -- web 169.254.7.2:8002         # on the source
//! cargo run --example migrate -- web --local                  # both halves here
//! ```

use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;

fn run(args: &[String]) -> Result<String, Box<dyn std::error::Error>> {
    let ctx = xenlight::Context::new()?;
    match args {
        [flag, addr] if flag == "--receive" => {
            let listener = TcpListener::bind(addr.as_str())?;
            let (mut stream, peer) = listener.accept()?;
            let domid = ctx.migrate_receive(&mut stream)?;
            let name = ctx.domain_name(domid)?.unwrap_or_default();
            Ok(format!("received {name} from {peer}: now domain {domid}"))
        }
        [which, flag] if flag == "--local" => {
            let domid = ctx.find_domain(which)?;
            let moved = ctx.migrate_local(domid)?;
            Ok(format!("migrated {which} on this host: domain {domid} is now domain {moved}"))
        }
        [which, addr] => {
            let domid = ctx.find_domain(which)?;
            let mut stream = TcpStream::connect(addr.as_str())?;
            ctx.migrate_send(domid, &mut stream)?;
            Ok(format!("migrated {which} to {addr}"))
        }
        _ => Err("usage: migrate <name-or-domid> <host:port> | <name-or-domid> --local | --receive <addr:port>".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(done) => {
            println!("{done}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("migrate: {e}");
            ExitCode::FAILURE
        }
    }
}
