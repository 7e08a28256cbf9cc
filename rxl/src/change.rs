//! The changing commands for devices, vCPUs, pools, triggers and saved
//! state: block and network attach/detach, cd-insert/eject, vcpu-pin,
//! trigger, save, restore and the cpupool commands, each as xl's
//! (`xl_block.c`, `xl_nic.c`, `xl_cdrom.c`, `xl_vcpu.c`, `xl_misc.c`,
//! `xl_saverestore.c`, `xl_cpupool.c`), with xl's argument forms.

use xenlight::types::{Bitmap, Scheduler, Trigger};
use xenlight::{Context, Domid};

use crate::find_domain;

/// A device spec xl reads like an xl.cfg entry (`disk` or `vif`), read
/// through the public xl.cfg reader: `key = [ "a,b,c" ]` in a config of
/// its own.
fn device_from_spec(
    ctx: &Context,
    key: &str,
    parts: &[String],
) -> Result<xenlight::DomainConfig, String> {
    let spec = parts.join(",");
    if spec.contains('"') {
        return Err(format!(
            "{key}: a spec with a double quote is not supported"
        ));
    }
    let text = format!("name = \"spec\"\ntype = \"pv\"\nkernel = \"/\"\n{key} = [ \"{spec}\" ]\n");
    ctx.xl_cfg(&text)
        .map(|x| x.config)
        .map_err(|e| format!("{key} spec {spec:?}: {e}"))
}

/// `xl block-attach DOMAIN DISK-SPEC...`.
pub fn block_attach(ctx: &Context, which: &str, spec: &[String]) -> Result<(), String> {
    let domid = find_domain(ctx, which)?;
    let cfg = device_from_spec(ctx, "disk", spec)?;
    let disk = cfg
        .disks()
        .into_iter()
        .next()
        .ok_or("no disk in the spec")?;
    ctx.attach_disk(domid, &disk)
        .map_err(|e| format!("libxl_device_disk_add failed: {e}"))
}

/// `xl block-detach [-f] DOMAIN VDEV`: the guest must let it go, unless
/// forced.
pub fn block_detach(ctx: &Context, which: &str, vdev: &str, force: bool) -> Result<(), String> {
    let domid = find_domain(ctx, which)?;
    let done = if force {
        ctx.destroy_disk(domid, vdev)
    } else {
        ctx.detach_disk_safely(domid, vdev)
    };
    done.map_err(|e| {
        format!(
            "libxl_device_disk_{} failed: {e}",
            if force { "destroy" } else { "safe_remove" }
        )
    })
}

/// `xl network-attach DOMAIN [key=value...]`; prints nothing on success,
/// as xl.
pub fn network_attach(ctx: &Context, which: &str, spec: &[String]) -> Result<(), String> {
    let domid = find_domain(ctx, which)?;
    let cfg = device_from_spec(ctx, "vif", spec)?;
    let nic = cfg.nics().into_iter().next().ok_or("no vif in the spec")?;
    ctx.attach_nic(domid, &nic)
        .map(drop)
        .map_err(|e| format!("libxl_device_nic_add failed: {e}"))
}

/// `xl network-detach DOMAIN DEVID|MAC`.
pub fn network_detach(ctx: &Context, which: &str, nic: &str) -> Result<(), String> {
    let domid = find_domain(ctx, which)?;
    let unknown = || format!("Unknown device {nic}.");
    let devid = if nic.contains(':') {
        let mac: xenlight::Mac = nic.parse().map_err(|_| unknown())?;
        ctx.nics(domid)
            .map_err(|_| unknown())?
            .into_iter()
            .find(|n| n.mac == Some(mac))
            .and_then(|n| n.devid)
            .ok_or_else(unknown)?
    } else {
        nic.parse::<i32>().map_err(|_| unknown())?
    };
    ctx.detach_nic(domid, devid).map_err(|e| match e {
        xenlight::Error::DeviceNotFound { .. } => unknown(),
        e => format!("libxl_device_nic_remove failed: {e}"),
    })
}

/// `xl cd-insert DOMAIN VDEV PATH`.
pub fn cd_insert(ctx: &Context, which: &str, vdev: &str, path: &str) -> Result<(), String> {
    let domid = find_domain(ctx, which)?;
    ctx.cdrom_insert(domid, vdev, path).map_err(|e| match e {
        xenlight::Error::Io { .. } => format!("Cannot stat file: {path}"),
        e => e.to_string(),
    })
}

/// `xl cd-eject DOMAIN VDEV`.
pub fn cd_eject(ctx: &Context, which: &str, vdev: &str) -> Result<(), String> {
    let domid = find_domain(ctx, which)?;
    ctx.cdrom_eject(domid, vdev).map_err(|e| e.to_string())
}

/// xl's CPU list arguments: `all`, `N`, `N-M`, `^N` (taken out),
/// `node:N` / `nodes:N-M` (a node's CPUs), joined by commas.
pub fn cpu_list(ctx: &Context, text: &str) -> Result<Bitmap, String> {
    let bad = || format!("Invalid argument: {text}");
    let mut map = Bitmap::default();
    let all = |map: &mut Bitmap| -> Result<(), String> {
        let n = ctx.max_cpus().map_err(|e| e.to_string())?;
        for c in 0..n as usize {
            map.set(c);
        }
        Ok(())
    };
    for part in text.split(',') {
        let (minus, part) = match part.strip_prefix('^') {
            Some(p) => (true, p),
            None => (false, part),
        };
        let mut one = Bitmap::default();
        if part == "all" {
            all(&mut one)?;
        } else if let Some(nodes) = part
            .strip_prefix("nodes:")
            .or_else(|| part.strip_prefix("node:"))
        {
            let (a, b) = range(nodes).ok_or_else(bad)?;
            for n in a..=b {
                let cpus = ctx.node_cpus(n).map_err(|e| e.to_string())?;
                for c in cpus.iter() {
                    one.set(c);
                }
            }
        } else {
            let (a, b) = range(part).ok_or_else(bad)?;
            for c in a..=b {
                one.set(c as usize);
            }
        }
        for c in one.iter() {
            if minus {
                map.clear(c);
            } else {
                map.set(c);
            }
        }
    }
    Ok(map)
}

fn range(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b) = (a.parse().ok()?, b.parse().ok()?);
    (a <= b && b < 4096).then_some((a, b))
}

/// `xl vcpu-pin [-f] DOMAIN VCPU|all HARD|-|all [SOFT|-|all]`.
pub fn vcpu_pin(
    ctx: &Context,
    force: bool,
    which: &str,
    vcpu: &str,
    hard: &str,
    soft: Option<&str>,
) -> Result<(), String> {
    let domid = find_domain(ctx, which)?;
    let map = |s: Option<&str>| -> Result<Option<Bitmap>, String> {
        match s {
            None | Some("-") => Ok(None),
            Some(s) => cpu_list(ctx, s).map(Some),
        }
    };
    let (hard, soft) = (map(Some(hard))?, map(soft)?);
    let done = if vcpu == "all" {
        let n = ctx.vcpus(domid).map_err(|e| e.to_string())?.len() as u32;
        ctx.set_all_vcpus_affinity(domid, n, hard.as_ref(), soft.as_ref())
    } else {
        let v: u32 = vcpu.parse().map_err(|_| format!("Invalid vcpu: {vcpu}"))?;
        if force {
            ctx.set_vcpu_affinity_force(domid, v, hard.as_ref(), soft.as_ref())
        } else {
            ctx.set_vcpu_affinity(domid, v, hard.as_ref(), soft.as_ref())
        }
    };
    done.map_err(|e| format!("Setting vcpu affinity failed: {e}"))
}

/// `xl trigger DOMAIN nmi|reset|init|power|sleep|s3resume [VCPU]`.
pub fn trigger(ctx: &Context, which: &str, name: &str, vcpu: u32) -> Result<(), String> {
    let domid = find_domain(ctx, which)?;
    let t = Trigger::from_name(name)
        .filter(|t| !matches!(t, Trigger::Unknown))
        .ok_or_else(|| format!("Invalid trigger \"{name}\""))?;
    ctx.send_trigger(domid, t, vcpu)
        .map_err(|e| format!("libxl_send_trigger failed: {e}"))
}

/// `xl save DOMAIN FILE`: the domain's state in FILE (xenlight's save
/// format, the config in its header), the domain gone.
pub fn save(ctx: &Context, which: &str, file: &str) -> Result<(), String> {
    let domid = find_domain(ctx, which)?;
    ctx.save(domid, file).map_err(|e| e.to_string())
}

/// `xl restore FILE`: the domain back, running.
pub fn restore(ctx: &Context, file: &str) -> Result<(), String> {
    ctx.restore(file).map(drop).map_err(|e| e.to_string())
}

/// `xl cpupool-create [name=NAME] [sched=SCHED] [cpus=LIST]`: the pool made
/// from free CPUs (the keys as in a cpupool config file).
pub fn cpupool_create(ctx: &Context, vars: &[String]) -> Result<(), String> {
    let mut name = None;
    let mut sched = ctx.scheduler().map_err(|e| e.to_string())?;
    let mut cpus = None;
    for v in vars {
        let (k, val) = v
            .split_once('=')
            .ok_or_else(|| format!("Failed to parse config: {v}"))?;
        let val = val.trim().trim_matches(['"', '\'', '[', ']']);
        match k.trim() {
            "name" => name = Some(val.to_owned()),
            "sched" => {
                sched = Scheduler::from_name(val)
                    .filter(|s| !matches!(s, Scheduler::Unknown))
                    .ok_or_else(|| format!("Unknown scheduler {val}"))?
            }
            "cpus" => cpus = Some(cpu_list(ctx, val)?),
            k => return Err(format!("Unknown key {k}")),
        }
    }
    let name = name.ok_or("Missing cpupool name")?;
    let cpus = match cpus {
        Some(c) => c,
        None => ctx.free_cpus().map_err(|e| e.to_string())?,
    };
    ctx.create_cpupool(&name, sched, &cpus)
        .map(drop)
        .map_err(|e| format!("error on creating cpupool: {e}"))
}

fn pool(ctx: &Context, which: &str) -> Result<u32, String> {
    ctx.find_cpupool(which)
        .map_err(|_| format!("cpupool '{which}' is not valid"))
}

/// `xl cpupool-destroy POOL`.
pub fn cpupool_destroy(ctx: &Context, which: &str) -> Result<(), String> {
    let p = pool(ctx, which)?;
    ctx.destroy_cpupool(p).map_err(|e| e.to_string())
}

/// `xl cpupool-rename POOL NEWNAME`.
pub fn cpupool_rename(ctx: &Context, which: &str, name: &str) -> Result<(), String> {
    let p = pool(ctx, which)?;
    ctx.rename_cpupool(p, name)
        .map_err(|_| format!("Can't rename cpupool '{which}'"))
}

/// `xl cpupool-cpu-add POOL CPUS` and `cpupool-cpu-remove POOL CPUS`.
pub fn cpupool_cpus(ctx: &Context, which: &str, cpus: &str, add: bool) -> Result<(), String> {
    let p = pool(ctx, which)?;
    let map = cpu_list(ctx, cpus)?;
    let done = if add {
        ctx.cpupool_add_cpus(p, &map)
    } else {
        ctx.cpupool_remove_cpus(p, &map)
    };
    done.map_err(|e| e.to_string())
}

/// `xl cpupool-migrate DOMAIN POOL`.
pub fn cpupool_migrate(ctx: &Context, which: &str, to: &str) -> Result<(), String> {
    let domid: Domid = find_domain(ctx, which)?;
    let p = pool(ctx, to)?;
    ctx.move_to_cpupool(domid, p).map_err(|e| e.to_string())
}
