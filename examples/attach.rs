//! Attaches a disk or a network interface to a running domain, like
//! `xl block-attach` and `xl network-attach`, then lists its devices.
//!
//! ```text
//! cargo run --example attach -- web disk /srv/data.img xvdb [ro]
//! cargo run --example attach -- web nic xenbr0 [00:16:3e:00:00:01]
//! ```

use std::process::ExitCode;

use xenlight::{Context, Disk, Nic};

fn run(args: &[String]) -> Result<(), String> {
    let [domain, kind, rest @ ..] = args else {
        return Err("usage: attach <domain> disk <target> <vdev> [ro] | nic <bridge> [mac]".into());
    };
    let ctx = Context::new().map_err(|e| e.to_string())?;
    let domid = ctx.find_domain(domain).map_err(|e| e.to_string())?;
    match (kind.as_str(), rest) {
        ("disk", [target, vdev, opts @ ..]) => {
            let disk =
                Disk::new(target.as_str(), vdev.as_str()).read_only(opts.iter().any(|o| o == "ro"));
            ctx.attach_disk(domid, &disk).map_err(|e| e.to_string())?;
            println!("attached {target} as {vdev} to domain {domid}");
        }
        ("nic", [bridge, opts @ ..]) => {
            let mut nic = Nic::bridged(bridge.as_str());
            if let Some(mac) = opts.first() {
                nic = nic.mac(
                    mac.parse()
                        .map_err(|e: xenlight::ParseMacError| e.to_string())?,
                );
            }
            let devid = ctx.attach_nic(domid, &nic).map_err(|e| e.to_string())?;
            println!("attached nic {devid} on {bridge} to domain {domid}");
        }
        _ => {
            return Err(
                "usage: attach <domain> disk <target> <vdev> [ro] | nic <bridge> [mac]".into(),
            )
        }
    }
    for d in ctx.disks(domid).map_err(|e| e.to_string())? {
        println!(
            "  disk {:<6} {} {}",
            d.vdev,
            d.target,
            if d.read_only { "ro" } else { "rw" }
        );
    }
    for n in ctx.nics(domid).map_err(|e| e.to_string())? {
        let mac = n.mac.map(|m| m.to_string()).unwrap_or_default();
        println!(
            "  nic  {:<6} {} {}",
            n.devid.unwrap_or(-1),
            n.bridge.as_deref().unwrap_or("-"),
            mac
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("attach: {e}");
            ExitCode::FAILURE
        }
    }
}
