//! The commands that change something: create, destroy, pause, shutdown,
//! rename, memory and vCPUs, sysrq; each with xl's messages on failure.

use std::time::Duration;

use xenlight::Context;

use crate::find_domain;

/// xl's `parse_mem_size_kb`: a number with an optional unit (b, k, m, g,
/// t; none means MiB), in KiB.
pub fn mem_size_kib(text: &str) -> Option<u64> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: u64 = num.parse().ok()?;
    let shift = |bits: u32| n.checked_mul(1 << bits);
    match unit.to_ascii_lowercase().as_str() {
        "" | "m" => shift(10),
        "k" => Some(n),
        "g" => shift(20),
        "t" => shift(30),
        "b" => Some(n >> 10),
        _ => None,
    }
}

/// `xl create [-p] [-n] FILE`.
pub fn create(ctx: &Context, file: &str, paused: bool, dry_run: bool) -> Result<(), String> {
    eprintln!("Parsing config from {file}");
    let x = ctx.xl_cfg_file(file).map_err(|e| e.to_string())?;
    for w in &x.warnings {
        eprintln!("WARNING: {w}");
    }
    if dry_run {
        println!(
            "{}",
            x.config.to_libxl_json(ctx).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    let created = if paused {
        ctx.create_domain_paused(&x.config)
    } else {
        ctx.create_domain(&x.config)
    };
    created
        .map(|_| ())
        .map_err(|e| format!("libxl: error: {e}\nParsing config from {file} failed"))
}

/// `xl destroy DOMAIN`.
pub fn destroy(ctx: &Context, which: &str) -> Result<(), String> {
    let d = find_domain(ctx, which)?;
    ctx.destroy(d).map_err(|e| format!("destroy failed: {e}"))
}

/// `xl pause DOMAIN`.
pub fn pause(ctx: &Context, which: &str) -> Result<(), String> {
    let d = find_domain(ctx, which)?;
    ctx.pause(d)
        .map_err(|e| format!("Failed to pause domain {d}: {e}"))
}

/// `xl unpause DOMAIN`.
pub fn unpause(ctx: &Context, which: &str) -> Result<(), String> {
    let d = find_domain(ctx, which)?;
    ctx.unpause(d)
        .map_err(|e| format!("Failed to unpause domain {d}: {e}"))
}

/// `xl shutdown [-w] DOMAIN`.
pub fn shutdown(ctx: &Context, which: &str, wait: bool) -> Result<(), String> {
    let d = find_domain(ctx, which)?;
    ctx.shutdown(d)
        .map_err(|e| format!("Failed to shutdown domain {d}: {e}"))?;
    if wait {
        eprintln!("Waiting for 1 domains");
        let why = ctx
            .wait_for_shutdown(d, Duration::from_secs(24 * 3600))
            .map_err(|e| e.to_string())?;
        eprintln!(
            "Domain {d} has been shut down, reason code {}",
            why.to_raw()
        );
        eprintln!("All domains have been shut down");
    }
    Ok(())
}

/// `xl reboot DOMAIN`.
pub fn reboot(ctx: &Context, which: &str) -> Result<(), String> {
    let d = find_domain(ctx, which)?;
    ctx.reboot(d)
        .map_err(|e| format!("Failed to reboot domain {d}: {e}"))
}

/// `xl rename DOMAIN NEW_NAME`.
pub fn rename(ctx: &Context, which: &str, new_name: &str) -> Result<(), String> {
    let d = find_domain(ctx, which)?;
    ctx.rename(d, new_name)
        .map_err(|_| format!("Can't rename domain '{which}'."))
}

/// `xl mem-set DOMAIN SIZE`.
pub fn mem_set(ctx: &Context, which: &str, mem: &str) -> Result<(), String> {
    let d = find_domain(ctx, which)?;
    let kib = mem_size_kib(mem).ok_or_else(|| format!("invalid memory size: {mem}"))?;
    ctx.set_memory_target(d, kib)
        .map_err(|_| format!("cannot set domid {d} dynamic max memory to : {mem}"))
}

/// `xl mem-max DOMAIN SIZE`.
pub fn mem_max(ctx: &Context, which: &str, mem: &str) -> Result<(), String> {
    let d = find_domain(ctx, which)?;
    let kib = mem_size_kib(mem).ok_or_else(|| format!("invalid memory size: {mem}"))?;
    ctx.set_max_memory(d, kib)
        .map_err(|_| format!("cannot set domid {d} static max memory to : {mem}"))
}

/// `xl vcpu-set DOMAIN COUNT`.
pub fn vcpu_set(ctx: &Context, which: &str, count: u32) -> Result<(), String> {
    let d = find_domain(ctx, which)?;
    ctx.set_vcpus_online(d, count)
        .map_err(|e| format!("libxl_set_vcpuonline failed domid={d} max_vcpus={count}, rc: {e}"))
}

/// `xl sysrq DOMAIN LETTER`.
pub fn sysrq(ctx: &Context, which: &str, letter: char) -> Result<(), String> {
    let d = find_domain(ctx, which)?;
    ctx.send_sysrq(d, letter).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::mem_size_kib;

    /// As xl's parse_mem_size_kb reads them.
    #[test]
    fn memory_sizes_read_as_xl_reads_them() {
        assert_eq!(mem_size_kib("512"), Some(512 * 1024));
        assert_eq!(mem_size_kib("512m"), Some(512 * 1024));
        assert_eq!(mem_size_kib("1G"), Some(1 << 20));
        assert_eq!(mem_size_kib("262144k"), Some(262_144));
        assert_eq!(mem_size_kib("2048b"), Some(2));
        assert_eq!(mem_size_kib("12mb"), None);
        assert_eq!(mem_size_kib("lots"), None);
        assert_eq!(mem_size_kib("99999999999999999999"), None);
    }
}
