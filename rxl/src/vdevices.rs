//! `channel-list`, `vtpm-list`, `vkb-list`, `pci-list` and
//! `pci-assignable-list`: each device with its backend and xenbus state,
//! or its PCI address (formats from `tools/xl/xl_console.c`, `xl_vtpm.c`,
//! `xl_vkb.c`, `xl_pci.c`), or with `--json` the same facts.

use serde_json::{json, Value};
use xenlight::types::{ChannelinfoConnectionUnion, DeviceChannel, DeviceVkb, DeviceVtpm};
use xenlight::Context;

use crate::find_domain;

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// `xl channel-list DOMAIN...`.
pub fn channel_list(ctx: &Context, as_json: bool, which: &[String]) -> Result<(), String> {
    if !as_json {
        println!(
            "{:<3} {:<2} {:<5} {:<6} {:>8} {:<10} {:<30}",
            "Idx", "BE", "state", "evt-ch", "ring-ref", "connection", ""
        );
    }
    let mut rows = Vec::new();
    for w in which {
        let domid = find_domain(ctx, w)?;
        // As xl: a domain whose list libxl cannot read is skipped.
        let Ok(states) = ctx.device_states::<DeviceChannel>(domid) else {
            continue;
        };
        for (ch, info) in states {
            let (connection, pty) = match &info.connection {
                ChannelinfoConnectionUnion::Pty(p) => ("pty", p.path.clone()),
                ChannelinfoConnectionUnion::Socket => ("socket", None),
                _ => ("unknown", None),
            };
            if as_json {
                rows.push(
                    json!({"domid": domid.get(), "devid": ch.devid, "name": ch.name,
                    "backend_id": info.backend_id, "state": info.state, "evtch": info.evtch,
                    "rref": info.rref, "connection": connection, "pty": pty}),
                );
                continue;
            }
            let params = match &pty {
                Some(p) => format!("{p:<30} "),
                None if connection == "pty" => format!("{:<30} ", "(null)"),
                None => String::new(),
            };
            println!(
                "{:<3} {:<2} {:<5} {:<6} {:<8} {:<10} {params}",
                ch.devid, info.backend_id, info.state, info.evtch, info.rref, connection
            );
        }
    }
    if as_json {
        print_json(&Value::Array(rows));
    }
    Ok(())
}

/// `xl vtpm-list DOMAIN...` (a bad domain is reported and skipped, as xl
/// does for this command).
pub fn vtpm_list(ctx: &Context, as_json: bool, which: &[String]) -> Result<(), String> {
    if !as_json {
        println!(
            "{:<3} {:<2} {:<36} {:<6} {:<5} {:<6} {:<5} {:<10}",
            "Idx", "BE", "Uuid", "handle", "state", "evt-ch", "ring-ref", "BE-path"
        );
    }
    let mut rows = Vec::new();
    for w in which {
        let Ok(domid) = find_domain(ctx, w) else {
            eprintln!("{w} is an invalid domain identifier");
            continue;
        };
        let Ok(states) = ctx.device_states::<DeviceVtpm>(domid) else {
            continue;
        };
        for (_, info) in states {
            let backend = info.backend.as_deref().unwrap_or("(null)");
            if as_json {
                rows.push(json!({"domid": domid.get(), "devid": info.devid,
                    "backend_id": info.backend_id, "uuid": info.uuid.to_string(),
                    "state": info.state, "evtch": info.evtch, "rref": info.rref,
                    "backend": info.backend}));
                continue;
            }
            println!(
                "{:<3} {:<2} {} {:>6} {:>5} {:>6} {:>8} {backend:<30}",
                info.devid,
                info.backend_id,
                info.uuid,
                info.devid,
                info.state,
                info.evtch,
                info.rref
            );
        }
    }
    if as_json {
        print_json(&Value::Array(rows));
    }
    Ok(())
}

/// `xl vkb-list DOMAIN...`.
pub fn vkb_list(ctx: &Context, as_json: bool, which: &[String]) -> Result<(), String> {
    if !as_json {
        println!(
            "{:<3} {:<2} {:<6} {:<5} {:<6} {:>6} {:<10} {:<10} {:<30}",
            "Idx", "BE", "handle", "state", "evt-ch", "ref", "ID", "BE-type", "BE-path"
        );
    }
    let mut rows = Vec::new();
    for w in which {
        let domid = find_domain(ctx, w)?;
        let Ok(states) = ctx.device_states::<DeviceVkb>(domid) else {
            continue;
        };
        for (vkb, info) in states {
            let id = vkb.unique_id.as_deref().unwrap_or("(null)");
            let backend = info.backend.as_deref().unwrap_or("(null)");
            if as_json {
                rows.push(json!({"domid": domid.get(), "devid": info.devid,
                    "backend_id": info.backend_id, "state": info.state, "evtch": info.evtch,
                    "rref": info.rref, "unique_id": vkb.unique_id,
                    "backend_type": vkb.backend_type.to_string(), "backend": info.backend}));
                continue;
            }
            println!(
                "{:<3} {:<2} {:>6} {:>5} {:>6} {:>6} {id:<10} {:<10} {backend:<30}",
                info.devid,
                info.backend_id,
                info.devid,
                info.state,
                info.evtch,
                info.rref,
                vkb.backend_type.to_string()
            );
        }
    }
    if as_json {
        print_json(&Value::Array(rows));
    }
    Ok(())
}

/// `xl pci-list DOMAIN`: nothing when the domain has no PCI devices (or
/// libxl cannot list them), as xl.
pub fn pci_list(ctx: &Context, as_json: bool, which: &str) -> Result<(), String> {
    let domid = find_domain(ctx, which)?;
    let devs = ctx.pci_devices(domid).unwrap_or_default();
    if as_json {
        let rows: Vec<Value> = devs
            .iter()
            .map(|p| {
                json!({"vslot": (p.vdevfn >> 3) & 0x1f, "vfunc": p.vdevfn & 7,
                    "domain": p.domain, "bus": p.bus, "dev": p.dev, "func": p.func})
            })
            .collect();
        print_json(&Value::Array(rows));
        return Ok(());
    }
    if devs.is_empty() {
        return Ok(());
    }
    println!("Vdev Device");
    for p in devs {
        println!(
            "{:02x}.{:01x} {:04x}:{:02x}:{:02x}.{:01x}",
            (p.vdevfn >> 3) & 0x1f,
            p.vdevfn & 7,
            p.domain,
            p.bus,
            p.dev,
            p.func
        );
    }
    Ok(())
}

/// `xl pci-assignable-list [-n]`: the devices bound to pciback, with
/// their names under `-n`.
pub fn pci_assignable_list(ctx: &Context, as_json: bool, names: bool) -> Result<(), String> {
    let devs = ctx.pci_assignable().unwrap_or_default();
    if as_json {
        let rows: Vec<Value> = devs
            .iter()
            .map(|p| {
                json!({"domain": p.domain, "bus": p.bus, "dev": p.dev, "func": p.func,
                "name": p.name})
            })
            .collect();
        print_json(&Value::Array(rows));
        return Ok(());
    }
    for p in devs {
        let name = if names {
            p.name.as_deref().unwrap_or("")
        } else {
            ""
        };
        println!(
            "{:04x}:{:02x}:{:02x}.{:01x} {name}",
            p.domain, p.bus, p.dev, p.func
        );
    }
    Ok(())
}
