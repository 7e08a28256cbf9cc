//! The keys of `libxl_domain_create_info` and `libxl_domain_build_info`,
//! in xl's order (some keys depend on earlier ones: `maxvcpus` on `vcpus`,
//! `cpus` on both, the PCI devices on `rdm`).

use std::ffi::c_long;

use super::cstr::{prefix_of, strtoul};
use super::reader::{leading_strings, Got, Value};
use super::{devices, firmware_dir, invalid, named, Reader, XlCfgWarningKind as W};
use crate::error::Result;
use crate::ids::Uuid;
use crate::raw::Owned;
use crate::types::{self, Bitmap, DomainBuildInfoTypeUnion as Arm, DomainType};
use xenlight_sys as sys;

/// libxl's "not set" memory size.
const MEMKB_DEFAULT: u64 = u64::MAX;

/// Bits in the viridian enable/disable maps
/// (`LIBXL_BUILDINFO_HVM_VIRIDIAN_ENABLE_DISABLE_WIDTH`).
const VIRIDIAN_WIDTH: usize = 64;

/// `XEN_HVM_MCA_CAP_LMCE`.
const MCA_CAP_LMCE: u64 = 1;

/// The below-4G MMIO hole's bounds as xl checks them (xl_parse.c):
/// `HVM_BELOW_4G_MMIO_LENGTH` (2^32 - 0xF0000000, 256 MiB) to
/// `HVM_BELOW_4G_MMIO_START` (0xF0000000, 3840 MiB), xen/hvm/e820.h.
const MMIO_HOLE_MIN: u64 = (1 << 32) - 0xf000_0000;
const MMIO_HOLE_MAX: u64 = 0xf000_0000;

/// A long times 1024, as xl's `l * 1024` into a 64-bit field.
/// The most vNUMA nodes Xen takes: n*n 32-bit distances in a 4 KiB page.
const MAX_VNODES: usize = 32;

fn kib(l: i64) -> u64 {
    l.wrapping_mul(1024) as u64
}

pub(super) fn read_config(r: &mut Reader<'_>, t: &mut types::DomainConfig) -> Result<()> {
    let p = r.p;
    let c = &mut t.c_info;
    if let Got::Value(_) = p.string("init_seclabel", false)? {
        p.replace_string("init_seclabel", &mut c.ssid_label)?;
    }
    if let Got::Value(s) = p.string("seclabel", false)? {
        if c.ssid_label.is_some() {
            t.b_info.exec_ssid_label = Some(s);
        } else {
            c.ssid_label = Some(s);
        }
    }
    c.run_hotplug_scripts = Some(r.xlconf.run_hotplug_scripts);

    let mut ty = DomainType::Invalid;
    if let Got::Value(s) = p.string("type", false)? {
        ty = if prefix_of(&s, "hvm") {
            DomainType::Hvm
        } else if prefix_of(&s, "pv") {
            DomainType::Pv
        } else if prefix_of(&s, "pvh") {
            DomainType::Pvh
        } else {
            return Err(invalid(
                "type",
                format!("{s:?} is not a domain type (pv, pvh or hvm)"),
            ));
        };
    }
    if let Got::Value(s) = p.string("builder", false)? {
        let b = if prefix_of(&s, "hvm") {
            DomainType::Hvm
        } else if prefix_of(&s, "generic") {
            DomainType::Pv
        } else {
            return Err(invalid(
                "builder",
                format!("{s:?} is not a builder (generic or hvm)"),
            ));
        };
        if ty != DomainType::Invalid && ty != b {
            return Err(invalid("builder", "contradicts \"type\"".into()));
        }
        r.warn(
            "builder",
            W::Deprecated,
            "deprecated since Xen 4.10: use type = \"pv\" or \"hvm\"",
        );
        ty = b;
    }
    if ty == DomainType::Invalid {
        ty = if cfg!(any(target_arch = "arm", target_arch = "aarch64")) {
            DomainType::Pvh
        } else {
            DomainType::Pv
        };
    }
    c.type_ = ty;
    p.defbool("hap", &mut c.hap, false)?;
    if !p.replace_string("name", &mut c.name)? {
        return Err(invalid(
            "name",
            "the domain name must be given (name = \"...\")".into(),
        ));
    }
    if let Got::Value(s) = p.string("uuid", false)? {
        c.uuid = s
            .parse::<Uuid>()
            .map_err(|e| invalid("uuid", format!("{s:?}: {e}")))?;
    }
    p.defbool("oos", &mut c.oos, false)?;
    p.replace_string("pool", &mut c.pool_name)?;

    let b = &mut t.b_info;
    b.type_ = match ty {
        DomainType::Hvm => Arm::Hvm(Default::default()),
        DomainType::Pvh => Arm::Pvh(Default::default()),
        _ => Arm::Pv(Default::default()),
    };
    if let Arm::Pvh(pvh) = &mut b.type_ {
        p.defbool("pvshim", &mut pvh.pvshim, false)?;
        p.replace_string("pvshim_path", &mut pvh.pvshim_path)?;
        p.replace_string("pvshim_cmdline", &mut pvh.pvshim_cmdline)?;
        p.replace_string("pvshim_extra", &mut pvh.pvshim_extra)?;
    }
    b.blkdev_start.clone_from(&r.xlconf.blkdev_start);

    let sp = &mut b.sched_params;
    for (key, field) in [
        ("cpu_weight", &mut sp.weight),
        ("cap", &mut sp.cap),
        ("period", &mut sp.period),
        ("slice", &mut sp.slice),
        ("latency", &mut sp.latency),
        ("extratime", &mut sp.extratime),
    ] {
        if let Got::Value(l) = p.long(key, false)? {
            *field = l as i32;
        }
    }
    // MiB as xl multiplies them (l * 1024); a size no 64-bit count of
    // KiB holds, or a negative one, is no memory size.
    let mib = |key: &str, l: i64| {
        if l < 0 || l.checked_mul(1024).is_none() {
            return Err(invalid(key, format!("{l} MiB is not a memory size")));
        }
        Ok(kib(l))
    };
    if let Got::Value(l) = p.long("memory", false)? {
        b.target_memkb = mib("memory", l)?;
    }
    if let Got::Value(l) = p.long("maxmem", false)? {
        b.max_memkb = mib("maxmem", l)?;
    }
    let mut vcpus: i64 = 0;
    // Xen's NR_CPUS is at most 16383: more vCPUs than that no Xen builds
    // (libxl would allocate a map of that size first).
    let vcpu_count = |key: &str, l: i64| {
        if l < 0 || l > Bitmap::MAX_BITS as i64 {
            return Err(invalid(
                key,
                format!(
                    "{l} is not a number of vCPUs (Xen has at most {})",
                    Bitmap::MAX_BITS
                ),
            ));
        }
        Ok(l)
    };
    if let Got::Value(l) = p.long("vcpus", false)? {
        vcpus = vcpu_count("vcpus", l)?;
        b.avail_vcpus = Bitmap::first(l as usize);
    }
    // xl 4.22 reads an absent or zero `vcpus` as 1, and sets the bitmap
    // (and below max_vcpus) from it; xl up to 4.21 leaves both to libxl.
    #[cfg(xen_4_22)]
    if vcpus < 1 {
        vcpus = 1;
        b.avail_vcpus = Bitmap::first(1);
    }
    if let Got::Value(l) = p.long("maxvcpus", false)? {
        b.max_vcpus = vcpu_count("maxvcpus", l)? as i32;
    }
    if let Got::Value(s) = p.string("vuart", false)? {
        b.arch_arm.vuart = by_name!("vuart", &s, types::VuartType)?;
    }
    read_vnuma(r, &mut t.b_info)?;
    let b = &mut t.b_info;
    if b.max_memkb == MEMKB_DEFAULT {
        b.max_memkb = b.target_memkb;
    }
    if b.max_vcpus == 0 {
        b.max_vcpus = vcpus as i32;
    }
    if i64::from(b.max_vcpus) < vcpus {
        return Err(invalid(
            "maxvcpus",
            format!("maxvcpus = {} is less than vcpus = {vcpus}", b.max_vcpus),
        ));
    }
    for (key, hard) in [("cpus", true), ("cpus_soft", false)] {
        match p.list(key, true)? {
            Got::Value(items) => affinity(r, &mut t.b_info, key, Affinity::List(&items), hard)?,
            _ => {
                if let Got::Value(s) = p.string(key, false)? {
                    affinity(r, &mut t.b_info, key, Affinity::One(&s), hard)?;
                }
            }
        }
    }
    let b = &mut t.b_info;
    let grant = |key: &str, global: Option<u32>| -> Result<Option<u32>> {
        Ok(match p.bounded(key, 0, c_long::from(i32::MAX), true)? {
            Got::Absent => global,
            Got::Value(l) => Some(l as u32),
            Got::Invalid => {
                return Err(invalid(
                    key,
                    format!("must be a number from 0 to {}", i32::MAX),
                ))
            }
        })
    };
    if let Some(v) = grant("max_grant_frames", r.xlconf.max_grant_frames)? {
        b.max_grant_frames = v;
    }
    if let Some(v) = grant("max_maptrack_frames", r.xlconf.max_maptrack_frames)? {
        b.max_maptrack_frames = v;
    }
    if let Some(v) = grant("max_grant_version", r.xlconf.max_grant_version)? {
        b.max_grant_version = v as i32;
    }
    b.claim_mode = Some(r.xlconf.claim_mode);

    for (key, default, field) in [
        ("on_poweroff", "destroy", &mut t.on_poweroff),
        ("on_reboot", "restart", &mut t.on_reboot),
        ("on_watchdog", "destroy", &mut t.on_watchdog),
        ("on_crash", "destroy", &mut t.on_crash),
        ("on_soft_reset", "soft-reset", &mut t.on_soft_reset),
    ] {
        let s = p
            .string(key, false)?
            .ok()
            .unwrap_or_else(|| default.to_owned());
        *field = action(key, &s)?;
    }
    if let Arm::Pv(pv) = &mut t.b_info.type_ {
        p.defbool("e820_host", &mut pv.e820_host, false)?;
    }
    devices::read_pci(r, t)?;

    let (p, b, c) = (r.p, &mut t.b_info, &mut t.c_info);
    if let Got::Value(s) = p.string("passthrough", false)? {
        c.passthrough = by_name!("passthrough", &s, types::Passthrough)?;
    }
    if let Got::Value(l) = p.long("shadow_memory", false)? {
        b.shadow_memkb = kib(l);
    }
    p.defbool("nomigrate", &mut b.disable_migrate, false)?;
    if let Some(m) = number_or_name(r, "tsc_mode", 3, true, types::TscMode::from_raw, |s| {
        by_name!("tsc_mode", s, types::TscMode)
    })? {
        b.tsc_mode = m;
    }
    if let Got::Value(l) = p.long("rtc_timeoffset", false)? {
        b.rtc_timeoffset = l as u32;
    }
    if let Got::Value(_) = p.long("vncviewer", false)? {
        r.warn(
            "vncviewer",
            W::Ignored,
            "ignored: use xl create -V to start a viewer",
        );
    }
    p.defbool("localtime", &mut b.localtime, false)?;
    if let Got::Value(l) = p.long("videoram", false)? {
        b.video_memkb = kib(l);
    }
    if let Got::Value(l) = p.long("max_event_channels", false)? {
        b.event_channels = l as u32;
    }
    p.replace_string("kernel", &mut b.kernel)?;
    p.replace_string("ramdisk", &mut b.ramdisk)?;
    p.replace_string("device_tree", &mut b.device_tree)?;
    b.cmdline = cmdline(r)?;
    let (p, b, c) = (r.p, &mut t.b_info, &mut t.c_info);
    p.defbool("driver_domain", &mut c.driver_domain, false)?;
    p.defbool("acpi", &mut b.acpi, false)?;
    p.replace_string("bootloader", &mut b.bootloader)?;
    match p.string_list("bootloader_args", true)? {
        Got::Value(l) => b.bootloader_args = l,
        Got::Absent => {}
        Got::Invalid => {
            if let Got::Value(s) = p.string("bootloader_args", false)? {
                r.warn(
                    "bootloader_args",
                    W::Deprecated,
                    "a string is deprecated: use a list of arguments",
                );
                b.bootloader_args = super::cstr::strtok(&s, " \t\n")
                    .map(str::to_owned)
                    .collect();
                if b.bootloader_args.is_empty() {
                    return Err(invalid(
                        "bootloader_args",
                        "an empty string has no arguments".into(),
                    ));
                }
            }
        }
    }
    if matches!(b.type_, Arm::Pv(_)) && matches!(p.string("timer_mode", true)?, Got::Value(_)) {
        return Err(invalid("timer_mode", "not supported for PV guests".into()));
    }
    if let Some(m) = number_or_name(r, "timer_mode", 3, true, types::TimerMode::from_raw, |s| {
        by_name!("timer_mode", s, types::TimerMode)
    })? {
        b.timer_mode = m;
    }
    p.defbool("nestedhvm", &mut b.nested_hvm, false)?;
    if matches!(b.type_, Arm::Hvm(_)) {
        read_hvm(r, &mut t.b_info)?;
    } else {
        read_pv_firmware(r, &mut t.b_info)?;
    }
    let (p, b) = (r.p, &mut t.b_info);
    if let Some(m) = number_or_name(r, "altp2m", 3, false, types::Altp2mMode::from_raw, |s| {
        by_name!("altp2m", s, types::Altp2mMode)
    })? {
        b.altp2m = m;
    }
    if let Got::Value(l) = p.long("vmtrace_buf_kb", true)? {
        if l != 0 {
            b.vmtrace_buf_kb = l as i32;
        }
    }
    read_ranges(r, &mut t.b_info)?;
    devices::read_devices(r, t)?;
    read_device_model(r, t)?;
    devices::read_displays(r, t)?;
    let (p, b) = (r.p, &mut t.b_info);
    if let Got::Value(s) = p.string("gic_version", true)? {
        b.arch_arm.gic_version = by_name!("gic_version", &s, types::GicVersion)?;
    }
    if let Got::Value(s) = p.string("tee", true)? {
        b.tee = by_name!("tee", &s, types::TeeType)?;
    }
    devices::read_vkbs(r, t)?;
    let p = r.p;
    p.defbool(
        "xend_suspend_evtchn_compat",
        &mut t.c_info.xend_suspend_evtchn_compat,
        false,
    )?;
    if p.defbool("msr_relaxed", &mut t.b_info.arch_x86.msr_relaxed, false)? {
        r.warn(
            "msr_relaxed",
            W::Deprecated,
            "will be removed in future Xen versions",
        );
    }
    p.defbool("vpmu", &mut t.b_info.vpmu, false)?;
    Ok(())
}

/// A key xl takes as a libxl enum's name or, from older files, its number
/// (0 to `max`; xl warns about the number where it is `deprecated`).
fn number_or_name<T>(
    r: &mut Reader<'_>,
    key: &str,
    max: i64,
    deprecated: bool,
    from_raw: fn(i32) -> T,
    by_name: impl Fn(&str) -> Result<T>,
) -> Result<Option<T>> {
    match r.p.long(key, true)? {
        Got::Value(l) => {
            if deprecated {
                r.warn(
                    key,
                    W::Deprecated,
                    "a number is deprecated: use the named mode",
                );
            }
            if !(0..=max).contains(&l) {
                return Err(invalid(
                    key,
                    format!("{l} is not a valid {key} (0 to {max}, or a name)"),
                ));
            }
            Ok(Some(from_raw(l as i32)))
        }
        _ => match r.p.string(key, false)? {
            Got::Value(s) => by_name(&s).map(Some),
            _ => Ok(None),
        },
    }
}

fn action(key: &str, s: &str) -> Result<types::ActionOnShutdown> {
    // xl's words (action_on_shutdown_names), by libxl's value.
    const WORDS: [&str; 7] = [
        "destroy",
        "restart",
        "rename-restart",
        "preserve",
        "coredump-destroy",
        "coredump-restart",
        "soft-reset",
    ];
    WORDS
        .iter()
        .position(|w| *w == s)
        .map(|i| types::ActionOnShutdown::from_raw(i as i32 + 1))
        .ok_or_else(|| invalid(key, format!("unknown action {s:?} ({})", WORDS.join(", "))))
}

/// xl's `parse_cmdline`: `cmdline`, else "root=ROOT EXTRA".
fn cmdline(r: &mut Reader<'_>) -> Result<Option<String>> {
    let p = r.p;
    let buf = p.string("cmdline", false)?.ok();
    let root = p.string("root", false)?.ok();
    let extra = p.string("extra", false)?.ok();
    Ok(match (buf, root, extra) {
        (Some(c), root, extra) => {
            if root.is_some() || extra.is_some() {
                r.warn(
                    "cmdline",
                    W::Ignored,
                    "root= and extra= are ignored in favour of cmdline=",
                );
            }
            Some(c)
        }
        (None, Some(root), Some(extra)) => Some(format!("root={root} {extra}")),
        (None, Some(root), None) => Some(format!("root={root}")),
        (None, None, extra) => extra,
    })
}

enum Affinity<'a> {
    One(&'a str),
    List(&'a [Value]),
}

/// xl's `parse_vcpu_affinity`: one map for every vCPU, or one per vCPU.
fn affinity(
    r: &mut Reader<'_>,
    b: &mut types::DomainBuildInfo,
    key: &str,
    a: Affinity<'_>,
    hard: bool,
) -> Result<()> {
    let max = usize::try_from(b.max_vcpus).unwrap_or(0);
    let maps = match a {
        Affinity::One(s) => {
            let m = cpurange(r, key, s)?;
            if !hard {
                b.numa_placement = Some(false);
            }
            vec![m; max]
        }
        Affinity::List(items) => {
            let mut maps = Vec::new();
            for s in leading_strings(items).into_iter().take(max) {
                maps.push(cpurange(r, key, s)?);
            }
            b.numa_placement = Some(false);
            maps
        }
    };
    if hard {
        b.vcpu_hard_affinity = maps;
    } else {
        b.vcpu_soft_affinity = maps;
    }
    Ok(())
}

/// xl's `parse_cpurange`: "2-5,^3", "node:0", "nodes:0-1,^node:1", "all".
fn cpurange(r: &Reader<'_>, key: &str, spec: &str) -> Result<Bitmap> {
    let mut map = Bitmap::default();
    for part in super::cstr::strtok(spec, ",") {
        let (not, rest) = match part.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, part),
        };
        let (nodes, rest) = match rest
            .strip_prefix("node:")
            .or_else(|| rest.strip_prefix("nodes:"))
        {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        if rest == "all" {
            if not {
                return Err(invalid(
                    key,
                    format!("{spec:?}: \"^\" cannot be combined with \"all\""),
                ));
            }
            let host = r.host(key, spec)?;
            for i in 0..host.cpu_bits {
                map.set(i);
            }
            continue;
        }
        let (a, b) = range(rest)
            .ok_or_else(|| invalid(key, format!("{spec:?}: {part:?} is not a CPU or range")))?;
        // xl sets each bit into a host-sized map, where libxl ignores the
        // ones past its end (host_sized_raw drops them here too). A number
        // no Xen host can have (`cpus="-5"` is strtoul's 2^64-5) would only
        // make a map huge: refused.
        if b >= Bitmap::MAX_BITS as u64 {
            return Err(invalid(
                key,
                format!(
                    "{spec:?}: {b} is past the last CPU or node any Xen host has ({})",
                    Bitmap::MAX_BITS - 1
                ),
            ));
        }
        for id in a..=b {
            let cpus: Vec<usize> = if nodes {
                let host = r.host(key, spec)?;
                host.node_cpus
                    .get(id as usize)
                    .map(|m| m.iter().collect())
                    .unwrap_or_default()
            } else {
                vec![id as usize]
            };
            for cpu in cpus {
                if not {
                    map.clear(cpu);
                } else {
                    map.set(cpu);
                }
            }
        }
    }
    Ok(map)
}

/// xl's `parse_range`: "N" or "N-M" with N <= M, nothing after.
pub(super) fn range(s: &str) -> Option<(u64, u64)> {
    let (a, rest, ok) = strtoul(s, 10);
    if !ok || a == u64::MAX {
        return None;
    }
    let (b, rest) = match rest.strip_prefix('-') {
        Some(n) => {
            let (b, rest, ok) = strtoul(n, 10);
            if !ok || b == u64::MAX || b < a {
                return None;
            }
            (b, rest)
        }
        None => (a, rest),
    };
    rest.is_empty().then_some((a, b))
}

/// xl's `parse_vnuma_config`.
fn read_vnuma(r: &mut Reader<'_>, b: &mut types::DomainBuildInfo) -> Result<()> {
    let Got::Value(nodes) = r.p.list("vnuma", true)? else {
        return Ok(());
    };
    if nodes.is_empty() {
        return Ok(());
    }
    let n = nodes.len();
    // Xen keeps a guest's n*n vdistance table in one page (domctl.c), so
    // 32 nodes at most; refused before the table is allocated.
    if n > MAX_VNODES {
        return Err(invalid(
            "vnuma",
            format!("{n} vNUMA nodes: Xen takes at most {MAX_VNODES}"),
        ));
    }
    let mut vnodes = vec![
        types::VnodeInfo {
            distances: vec![0; n],
            ..Default::default()
        };
        n
    ];
    let (mut max_vcpus, mut max_memkb) = (0u64, 0u64);
    for (i, node) in nodes.iter().enumerate() {
        let Value::List(options) = node else {
            return Err(invalid(
                "vnuma",
                format!("node {i} is not a list of options"),
            ));
        };
        let v = &mut vnodes[i];
        for opt in options.iter().filter_map(Value::as_str) {
            let (o, val) = super::cstr::split_pair(opt, "=")
                .ok_or_else(|| invalid("vnuma", format!("{opt:?} is not option=value")))?;
            let (o, val) = (super::cstr::trim_space(o), super::cstr::trim_space(val));
            match o {
                "pnode" => {
                    let pnode = ulong("vnuma", val)?;
                    if let Some(host) = r.host {
                        if pnode >= u64::from(host.nr_nodes) {
                            return Err(invalid(
                                "vnuma",
                                format!("pnode {pnode}: the host has {} NUMA nodes", host.nr_nodes),
                            ));
                        }
                    }
                    v.pnode = pnode as u32;
                    b.numa_placement = Some(false);
                }
                "size" => {
                    let size = ulong("vnuma", val)?;
                    v.memkb = size
                        .checked_mul(1024)
                        .and_then(|k| max_memkb.checked_add(k).map(|_| k))
                        .ok_or_else(|| {
                            invalid("vnuma", format!("size {size} MiB is not a memory size"))
                        })?;
                    max_memkb += v.memkb;
                }
                "vcpus" => {
                    for spec in super::cstr::strtok(val, ",") {
                        let (s, e) = range(spec).unwrap_or((0, 0));
                        if e >= Bitmap::MAX_BITS as u64 {
                            return Err(invalid(
                                "vnuma",
                                format!(
                                    "vcpus {spec:?}: past the last vCPU any Xen guest has ({})",
                                    Bitmap::MAX_BITS - 1
                                ),
                            ));
                        }
                        if e - s > 1 << 16 {
                            return Err(invalid(
                                "vnuma",
                                format!("vcpus {spec:?}: range too large"),
                            ));
                        }
                        for cpu in s..=e {
                            v.vcpus.set(cpu as usize);
                            max_vcpus += 1;
                        }
                    }
                }
                "vdistances" => {
                    for (j, d) in super::cstr::strtok(val, ",").enumerate() {
                        let d = ulong("vnuma", d)?;
                        match v.distances.get_mut(j) {
                            Some(slot) => *slot = d as u32,
                            None => {
                                return Err(invalid(
                                    "vnuma",
                                    format!("node {i} has more distances than there are nodes"),
                                ))
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if b.max_vcpus != 0 {
        if u64::try_from(b.max_vcpus).ok() != Some(max_vcpus) {
            return Err(invalid(
                "vnuma",
                "the vnuma vCPUs do not add up to maxvcpus".into(),
            ));
        }
    } else {
        let host = r.host("vnuma", "vnuma without maxvcpus")?;
        if (host.online_cpus as u64) < max_vcpus {
            return Err(invalid(
                "vnuma",
                format!("the vnuma nodes have {max_vcpus} vCPUs, more than the host's {} CPUs: set maxvcpus to override", host.online_cpus),
            ));
        }
        b.max_vcpus = max_vcpus as i32;
    }
    if b.max_memkb != MEMKB_DEFAULT && b.max_memkb != max_memkb {
        return Err(invalid(
            "vnuma",
            "the vnuma memory sizes do not add up to maxmem".into(),
        ));
    }
    b.max_memkb = max_memkb;
    b.vnuma_nodes = vnodes;
    Ok(())
}

/// xl's `parse_ulong`: a decimal number or an error naming the key.
pub(super) fn ulong(key: &str, s: &str) -> Result<u64> {
    let (v, _, ok) = strtoul(s, 10);
    if !ok || v == u64::MAX {
        return Err(invalid(key, format!("{s:?} is not a number")));
    }
    Ok(v)
}

fn read_hvm(r: &mut Reader<'_>, b: &mut types::DomainBuildInfo) -> Result<()> {
    let p = r.p;
    let Arm::Hvm(h) = &mut b.type_ else {
        return Ok(());
    };
    let base = b
        .kernel
        .as_deref()
        .map(|k| k.rsplit('/').next().unwrap_or(k));
    if base == Some("hvmloader") {
        r.warn(
            "kernel",
            W::Ignored,
            "hvmloader as the kernel is ignored: use firmware_override for another firmware",
        );
        b.kernel = None;
    }
    p.replace_string("firmware_override", &mut h.firmware)?;
    p.replace_string("bios_path_override", &mut h.system_firmware)?;
    if let Got::Value(s) = p.string("bios", false)? {
        h.bios = by_name!("bios", &s, types::BiosType)?;
    } else if h.system_firmware.is_some() {
        r.warn(
            "bios_path_override",
            W::Ignored,
            "given without a specific bios name",
        );
    }
    for (key, field) in [
        ("pae", &mut h.pae),
        ("acpi_s3", &mut h.acpi_s3),
        ("acpi_s4", &mut h.acpi_s4),
        ("acpi_laptop_slate", &mut h.acpi_laptop_slate),
        ("nx", &mut h.nx),
        ("hpet", &mut h.hpet),
        ("vpt_align", &mut h.vpt_align),
    ] {
        p.defbool(key, field, false)?;
    }
    p.defbool("apic", &mut b.apic, false)?;
    match p.list("viridian", true)? {
        Got::Value(items) => {
            let items = leading_strings(&items);
            if !items.is_empty() {
                h.viridian_enable = Bitmap::with_bits(VIRIDIAN_WIDTH);
                h.viridian_disable = Bitmap::with_bits(VIRIDIAN_WIDTH);
            }
            for item in items {
                match item {
                    "all" => (0..VIRIDIAN_WIDTH).for_each(|i| h.viridian_enable.set(i)),
                    "defaults" => h.viridian = Some(true),
                    _ => {
                        let (name, disable) = match item.strip_prefix('!') {
                            Some(n) => (n, true),
                            None => (item, false),
                        };
                        let v = by_name!("viridian", name, types::ViridianEnlightenment)?.to_raw()
                            as usize;
                        let (s, c) = if disable {
                            (&mut h.viridian_disable, &mut h.viridian_enable)
                        } else {
                            (&mut h.viridian_enable, &mut h.viridian_disable)
                        };
                        if v < VIRIDIAN_WIDTH {
                            s.set(v);
                        }
                        c.clear(v);
                    }
                }
            }
        }
        Got::Absent => {}
        Got::Invalid => {
            p.defbool("viridian", &mut h.viridian, true)?;
        }
    }
    if let Got::Value(l) = p.long("mmio_hole", false)? {
        h.mmio_hole_memkb = kib(l);
        let bytes = h.mmio_hole_memkb.wrapping_mul(1024);
        if !(MMIO_HOLE_MIN..=MMIO_HOLE_MAX).contains(&bytes) {
            return Err(invalid(
                "mmio_hole",
                format!(
                    "{l} MiB is outside {} to {} MiB",
                    MMIO_HOLE_MIN >> 20,
                    MMIO_HOLE_MAX >> 20
                ),
            ));
        }
    }
    if p.defbool("altp2mhvm", &mut h.altp2m, false)? {
        r.warn("altp2mhvm", W::Deprecated, "use altp2m instead");
    }
    p.replace_string("smbios_firmware", &mut h.smbios_firmware)?;
    p.replace_string("acpi_firmware", &mut h.acpi_firmware)?;
    if let Got::Value(s) = p.string("ms_vm_genid", false)? {
        match s.as_str() {
            "generate" => h.ms_vm_genid = generation_id()?,
            "none" => {}
            _ => {
                return Err(invalid(
                    "ms_vm_genid",
                    format!("{s:?}: must be \"generate\" or \"none\""),
                ))
            }
        }
    }
    if let Got::Value(l) = p.long("rdm_mem_boundary", false)? {
        h.rdm_mem_boundary_memkb = kib(l);
    }
    match p.list("mca_caps", true)? {
        Got::Value(items) => {
            for item in leading_strings(&items) {
                if item != "lmce" {
                    return Err(invalid(
                        "mca_caps",
                        format!("{item:?} is not an MCA capability (lmce)"),
                    ));
                }
                h.mca_caps |= MCA_CAP_LMCE;
            }
        }
        Got::Absent => {}
        Got::Invalid => {
            return Err(invalid(
                "mca_caps",
                "must be a list, e.g. [ \"lmce\" ]".into(),
            ))
        }
    }
    if let Got::Value(s) = p.string("firmware", false)? {
        if let Some(bios) = types::BiosType::from_name(&s) {
            h.bios = bios;
        } else if prefix_of(&s, "uefi") {
            h.bios = types::BiosType::Ovmf;
        } else if !prefix_of(&s, "bios") {
            h.firmware = Some(s);
        }
    }
    Ok(())
}

/// A VM generation ID as libxl_ms_vm_genid_generate makes one: 16 random
/// bytes, never all zero.
fn generation_id() -> Result<[u8; 16]> {
    let mut id = [0u8; 16];
    while id == [0; 16] {
        let mut g = Owned::<sys::libxl_ms_vm_genid>::new();
        // Random bytes from the kernel, as libxl reads /dev/urandom.
        let n = unsafe {
            // SAFETY: writes at most 16 bytes into the genid's plain byte
            // array, which holds nothing _dispose frees.
            let bytes = &mut g.get_mut().bytes;
            libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0)
        };
        if n != 16 {
            return Err(crate::Error::Io {
                op: "getrandom for ms_vm_genid".into(),
                source: std::io::Error::last_os_error(),
            });
        }
        id = g.bytes;
    }
    Ok(id)
}

fn read_pv_firmware(r: &mut Reader<'_>, b: &mut types::DomainBuildInfo) -> Result<()> {
    if let Got::Value(s) = r.p.string("firmware", false)? {
        if b.kernel.is_some() {
            return Err(invalid(
                "firmware",
                "both kernel and firmware are given".into(),
            ));
        }
        if !prefix_of(&s, "pvgrub32") && !prefix_of(&s, "pvgrub64") {
            return Err(invalid(
                "firmware",
                format!("{s:?}: only pvgrub32 and pvgrub64 are supported"),
            ));
        }
        b.kernel = Some(format!("{}/{s}.bin", firmware_dir()));
    }
    if b.bootloader.is_none() && b.kernel.is_none() {
        return Err(invalid(
            "kernel",
            "neither kernel nor bootloader is given".into(),
        ));
    }
    Ok(())
}

/// ioports, irqs and iomem.
fn read_ranges(r: &mut Reader<'_>, b: &mut types::DomainBuildInfo) -> Result<()> {
    let p = r.p;
    if let Got::Value(items) = p.list("ioports", false)? {
        b.ioports = Vec::new();
        for item in &items {
            let s = item
                .as_str()
                .ok_or_else(|| invalid("ioports", "every item must be a string".into()))?;
            let bad = || {
                invalid(
                    "ioports",
                    format!("{s:?} is not a port or port range (hex)"),
                )
            };
            let (start, rest, ok) = strtoul(s, 16);
            if !ok {
                return Err(bad());
            }
            if start >= u64::from(u32::MAX) {
                return Err(invalid("ioports", format!("{start:x} is too big")));
            }
            let mut end = start;
            if let Some(n) = rest.strip_prefix('-') {
                let (e, rest, ok) = strtoul(n, 16);
                if !ok || !rest.is_empty() {
                    return Err(bad());
                }
                if e >= u64::from(u32::MAX) {
                    return Err(invalid("ioports", format!("{e:x} is too big")));
                }
                end = e;
            } else if !rest.is_empty() {
                r.warn(
                    "ioports",
                    W::Ignored,
                    format!("{s:?}: text after the port is ignored"),
                );
            }
            b.ioports.push(types::IoportRange {
                first: start as u32,
                number: (end as u32).wrapping_sub(start as u32).wrapping_add(1),
            });
        }
    }
    if let Got::Value(items) = p.list("irqs", false)? {
        b.irqs = Vec::new();
        for item in &items {
            let s = item
                .as_str()
                .ok_or_else(|| invalid("irqs", "every item must be a string".into()))?;
            let (v, rest, ok) = strtoul(s, 10);
            if !ok || !rest.is_empty() {
                return Err(invalid("irqs", format!("{s:?} is not an IRQ number")));
            }
            if v >= u64::from(u32::MAX) {
                return Err(invalid("irqs", format!("{v:x} is too big")));
            }
            b.irqs.push(v as u32);
        }
    }
    if let Got::Value(items) = p.list("iomem", false)? {
        b.iomem = Vec::new();
        for item in &items {
            let s = item
                .as_str()
                .ok_or_else(|| invalid("iomem", "every item must be a string".into()))?;
            b.iomem.push(
                iomem(s).ok_or_else(|| {
                    invalid("iomem", format!("{s:?} is not START,NUM[@GFN] (hex)"))
                })?,
            );
        }
    }
    Ok(())
}

/// `sscanf("%lx,%lx%n@%lx%n")` with nothing after.
fn iomem(s: &str) -> Option<types::IomemRange> {
    fn hex(s: &str) -> Option<(u64, &str)> {
        let (v, rest, ok) = strtoul(s, 16);
        ok.then_some((v, rest))
    }
    let (start, rest) = hex(s)?;
    let rest = rest.strip_prefix(',')?;
    let (number, rest) = hex(rest)?;
    let mut range = types::IomemRange {
        start,
        number,
        ..Default::default()
    };
    if let Some(g) = rest.strip_prefix('@') {
        match hex(g) {
            Some((gfn, "")) => range.gfn = gfn,
            Some(_) => return None,
            // "%n@%lx" failed to match the gfn: used stops before '@'.
            None => return None,
        }
    } else if !rest.is_empty() {
        return None;
    }
    Some(range)
}

/// The device model keys.
fn read_device_model(r: &mut Reader<'_>, t: &mut types::DomainConfig) -> Result<()> {
    let p = r.p;
    let hvm = matches!(t.b_info.type_, Arm::Hvm(_));
    if let Got::Value(s) = p.string("device_model", false)? {
        r.warn(
            "device_model",
            W::Ignored,
            "ignored: use device_model_override for a non-default device model",
        );
        if s.contains("stubdom-dm") && hvm {
            r.warn(
                "device_model",
                W::Ignored,
                "use device_model_stubdomain_override for stub domains",
            );
        }
    }
    let b = &mut t.b_info;
    p.replace_string("device_model_override", &mut b.device_model)?;
    if let Got::Value(s) = p.string("device_model_version", false)? {
        b.device_model_version = match s.as_str() {
            // xl 4.21 dropped qemu-xen-traditional.
            #[cfg(not(xen_4_21))]
            "qemu-xen-traditional" => types::DeviceModelVersion::QemuXenTraditional,
            "qemu-xen" => types::DeviceModelVersion::QemuXen,
            _ => {
                return Err(invalid(
                    "device_model_version",
                    format!(
                        "{s:?}: {}",
                        if cfg!(xen_4_21) {
                            "qemu-xen (xl 4.21 and later have no qemu-xen-traditional)"
                        } else {
                            "qemu-xen or qemu-xen-traditional"
                        }
                    ),
                ))
            }
        };
    } else if b.device_model.is_some() {
        r.warn(
            "device_model_override",
            W::Ignored,
            "given without a device_model_version",
        );
    }
    p.defbool(
        "device_model_stubdomain_override",
        &mut b.device_model_stubdomain,
        false,
    )?;
    p.replace_string(
        "device_model_stubdomain_seclabel",
        &mut b.device_model_ssid_label,
    )?;
    p.replace_string("device_model_user", &mut b.device_model_user)?;
    p.replace_string("stubdomain_kernel", &mut b.stubdomain_kernel)?;
    p.replace_string("stubdomain_cmdline", &mut b.stubdomain_cmdline)?;
    p.replace_string("stubdomain_ramdisk", &mut b.stubdomain_ramdisk)?;
    if let Got::Value(l) = p.long("stubdomain_memory", false)? {
        b.stubdomain_memkb = kib(l);
    }
    for (key, field) in [
        ("device_model_args", &mut b.extra),
        ("device_model_args_pv", &mut b.extra_pv),
        ("device_model_args_hvm", &mut b.extra_hvm),
    ] {
        match p.string_list(key, false)? {
            Got::Value(l) => *field = l,
            Got::Absent => {}
            Got::Invalid => return Err(invalid(key, "must be a list of arguments".into())),
        }
    }
    Ok(())
}
