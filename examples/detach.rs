//! Detaches a disk (by vdev) or a network interface (by devid) from a
//! running domain, like `xl block-detach` and `xl network-detach`.
//!
//! ```text
//! cargo run --example detach -- web disk xvdb
//! cargo run --example detach -- web nic 1
//! ```

use std::process::ExitCode;

fn run(args: &[String]) -> Result<String, String> {
    let [domain, kind, which] = args else {
        return Err("usage: detach <domain> disk <vdev> | nic <devid>".into());
    };
    let ctx = xenlight::Context::new().map_err(|e| e.to_string())?;
    let domid = ctx.find_domain(domain).map_err(|e| e.to_string())?;
    match kind.as_str() {
        "disk" => ctx.detach_disk(domid, which).map_err(|e| e.to_string())?,
        "nic" => {
            let devid = which
                .parse()
                .map_err(|_| format!("{which:?} is not a nic devid"))?;
            ctx.detach_nic(domid, devid).map_err(|e| e.to_string())?
        }
        _ => return Err("usage: detach <domain> disk <vdev> | nic <devid>".into()),
    }
    Ok(format!("detached {kind} {which} from domain {domid}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(msg) => {
            println!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("detach: {e}");
            ExitCode::FAILURE
        }
    }
}
