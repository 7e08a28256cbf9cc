//! Device keys: each list item is read as xl reads it (xl's token loops,
//! with their `strtok` splitting and `atoi` numbers), and libxlutil's own
//! parsers for disk, rate, PCI and RDM specs.

use std::ffi::CString;

use super::build::ulong;
use super::cstr::{
    atoi, option, scanf_hex, skip_spaces, split_pair, strtok, strtoul, trim_space, ul0,
};
use super::named;
use super::reader::{leading_strings, Got, Value};
use super::{invalid, Reader, XlCfgWarningKind as W};
use crate::error::Result;
use crate::ids::{Mac, Uuid};
use crate::raw::cvalue::CValue;
use crate::raw::Owned;
use crate::types::{self, DomainBuildInfoTypeUnion as Arm, IdlType};
use xenlight_sys as sys;

fn spec_c(key: &str, spec: &str) -> Result<CString> {
    CString::new(spec).map_err(|_| invalid(key, "a spec cannot contain a NUL byte".into()))
}

/// The devid xl's `ARRAY_EXTEND_INIT` gives the n-th device of a list.
fn devid(n: usize) -> i32 {
    n as i32
}

/// rdm, pci and dtdev (xl reads them together, before the other devices).
pub(super) fn read_pci(r: &mut Reader<'_>, t: &mut types::DomainConfig) -> Result<()> {
    let p = r.p;
    let mut flags = [0i64; 4];
    for (i, key) in [
        "pci_msitranslate",
        "pci_power_mgmt",
        "pci_permissive",
        "pci_seize",
    ]
    .iter()
    .enumerate()
    {
        if let Got::Value(l) = p.long(key, false)? {
            flags[i] = l;
        }
    }
    // xl keeps the global RDM policy in the HVM arm; for other types its
    // bytes are zero (STRICT) unless `rdm` wrote them.
    let mut rdm = match &t.b_info.type_ {
        Arm::Hvm(h) => h.rdm.clone(),
        _ => types::RdmReserve {
            strategy: types::RdmReserveStrategy::from_raw(0),
            policy: types::RdmReservePolicy::from_raw(0),
        },
    };
    if let Got::Value(s) = p.string("rdm", false)? {
        let c = spec_c("rdm", &s)?;
        let mut raw = rdm.to_libxl()?;
        // SAFETY: cfg valid; raw an initialised rdm; c NUL-terminated.
        let rc = unsafe { sys::xlu_rdm_parse(p.raw(), raw.as_mut_ptr(), c.as_ptr()) };
        if rc == 0 {
            // SAFETY: initialised, and written by libxlutil.
            rdm = unsafe { types::RdmReserve::from_libxl(&raw) }?;
            if let Arm::Hvm(h) = &mut t.b_info.type_ {
                h.rdm = rdm.clone();
            }
        } else {
            r.warn(
                "rdm",
                W::Ignored,
                format!("{s:?} is not a valid RDM spec and is ignored"),
            );
        }
    }
    if let Got::Value(items) = p.list("pci", false)? {
        t.pcidevs = Vec::new();
        for spec in leading_strings(&items) {
            let pci = types::DevicePci {
                msitranslate: flags[0] != 0,
                power_mgmt: flags[1] != 0,
                permissive: flags[2] != 0,
                seize: flags[3] != 0,
                rdm_policy: rdm.policy,
                ..Default::default()
            };
            let mut pci = pci;
            spec_c("pci", spec)?;
            pci_spec(&mut pci, spec).map_err(|why| {
                invalid("pci", format!("{spec:?} is not a PCI_SPEC_STRING: {why}"))
            })?;
            t.pcidevs.push(pci);
        }
        if !t.pcidevs.is_empty() {
            if let Arm::Pv(pv) = &mut t.b_info.type_ {
                pv.e820_host = Some(true);
            }
        }
    }
    if let Got::Value(items) = p.list("dtdev", false)? {
        t.dtdevs = leading_strings(&items)
            .into_iter()
            .map(|s| types::DeviceDtdev {
                path: Some(s.to_owned()),
            })
            .collect();
    }
    Ok(())
}

/// A PCI address as libxlutil's `parse_bdf` reads it (`[DDDD:]BB:DD.F`,
/// or `.*` for every function; each number as `sscanf("%x")`), written
/// into `pci`'s domain, bus, device, function and function mask (nothing
/// written when it is not one); where the address ends.
fn pci_bdf(pci: &mut types::DevicePci, text: &str) -> Option<usize> {
    let s = text.as_bytes();
    let colons = s
        .iter()
        .take_while(|b| b.is_ascii_hexdigit() || **b == b':')
        .filter(|b| **b == b':')
        .count();
    let mut at = 0;
    let num = |at: &mut usize| {
        let (v, n) = scanf_hex(&text[*at..])?;
        *at += n;
        Some(v)
    };
    let expect = |at: &mut usize, c: u8| (s.get(*at) == Some(&c)).then(|| *at += 1);
    let domain = match colons {
        1 => 0,
        2 => {
            let d = num(&mut at)?;
            expect(&mut at, b':')?;
            d
        }
        _ => return None,
    };
    let bus = num(&mut at)?;
    expect(&mut at, b':')?;
    let dev = num(&mut at)?;
    // libxlutil 4.17 goes on without the '.', moving by an uninitialised
    // `%n` (a fuzzed xl.cfg crashed it there); it is refused here.
    expect(&mut at, b'.')?;
    if domain > 0xffff || bus > 0xff || dev > 0x1f {
        return None;
    }
    let (func, mask) = if s.get(at) == Some(&b'*') {
        at += 1;
        (0, u32::MAX)
    } else {
        let f = num(&mut at)?;
        if f > 7 {
            return None;
        }
        (f, 1)
    };
    (pci.domain, pci.bus, pci.dev, pci.func, pci.vfunc_mask) =
        (domain as i32, bus as u8, dev as u8, func as u8, mask);
    Some(at)
}

/// A virtual slot as libxlutil's `parse_vslot` reads it: the devfn, and
/// where the number ends.
fn pci_vslot(s: &str) -> Option<(u32, usize)> {
    let (v, n) = scanf_hex(s)?;
    (v <= 0x1f).then_some((v << 3, n))
}

/// A PCI_SPEC_STRING read as libxlutil's `xlu_pci_parse_spec_string`
/// reads it (a positional BDF with an optional `@vslot`, then `key=value`
/// pairs; exactly one of a BDF and a name), in Rust because libxlutil's
/// reading of a BDF without its '.' is undefined (see `pci_bdf`). The
/// test below runs both on the specs libxlutil reads soundly.
fn pci_spec(pci: &mut types::DevicePci, spec: &str) -> std::result::Result<(), String> {
    let s = spec.as_bytes();
    let (mut bdf, mut named) = (false, false);
    let mut at = 0;
    if let Some(end) = pci_bdf(pci, spec) {
        bdf = true;
        at = end;
        if s.get(at) == Some(&b'@') {
            let (v, n) =
                pci_vslot(&spec[at + 1..]).ok_or("the virtual slot after '@' is not 0 to 1f")?;
            pci.vdevfn = v;
            at += 1 + n;
        }
        match s.get(at) {
            Some(b',') => at += 1,
            Some(_) => return Err(format!("{:?} follows the address", &spec[at..])),
            None => {}
        }
    }
    let mut rest = &spec[at..];
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once('=')
            .ok_or_else(|| format!("{rest:?} is not key=value"))?;
        let (val, next) = after.split_once(',').unwrap_or((after, ""));
        rest = next;
        match key {
            "bdf" => {
                pci_bdf(pci, val).ok_or_else(|| format!("bdf={val:?} is not [DDDD:]BB:DD.F"))?;
                bdf = true;
            }
            "vslot" => {
                pci.vdevfn = pci_vslot(val)
                    .ok_or_else(|| format!("vslot={val:?} is not 0 to 1f"))?
                    .0;
            }
            "permissive" => pci.permissive = atoi(val) != 0,
            "msitranslate" => pci.msitranslate = atoi(val) != 0,
            "seize" => pci.seize = atoi(val) != 0,
            "power_mgmt" => pci.power_mgmt = atoi(val) != 0,
            "rdm_policy" => {
                pci.rdm_policy = types::RdmReservePolicy::from_name(val)
                    .ok_or_else(|| format!("unknown RDM policy {val:?}"))?;
            }
            "name" => {
                named = true;
                pci.name = Some(val.to_owned());
            }
            _ => return Err(format!("unknown option {key:?}")),
        }
    }
    if bdf == named {
        return Err("it needs exactly one of an address and name=".into());
    }
    Ok(())
}

/// The keys of one `key=value,...` device spec, as xl's loops see them:
/// `strtok` at ',', leading spaces skipped, and the loop ends at the first
/// token without '='.
fn kv_tokens(spec: &str) -> impl Iterator<Item = (&str, &str)> {
    strtok(spec, ",")
        .map(skip_spaces)
        .map_while(|t| t.split_once('='))
}

/// disk, p9, vtpm, vdispl, pvcalls, vsnd, channel, vif, vfb, usbctrl,
/// usbdev and cpuid, in xl's order.
pub(super) fn read_devices(r: &mut Reader<'_>, t: &mut types::DomainConfig) -> Result<()> {
    let p = r.p;
    if let Got::Value(items) = p.list("disk", false)? {
        t.disks = Vec::new();
        for spec in leading_strings(&items) {
            t.disks.push(disk(r, spec)?);
        }
    }
    if let Got::Value(items) = p.list("p9", false)? {
        t.p9s = Vec::new();
        // xl 4.17 keeps these across items: a later item without a field
        // reuses the one before. From 4.19 every item starts empty.
        let (mut sm, mut path, mut tag, mut backend) = (None, None, None, None);
        for spec in leading_strings(&items) {
            if cfg!(xen_4_20) {
                (sm, path, tag, backend) = (None, None, None, None);
            }
            for (k, v) in kv_tokens(spec) {
                let v = Some(v.to_owned());
                match k {
                    "security_model" => sm = v,
                    "path" => path = v,
                    "tag" => tag = v,
                    "backend" => backend = v,
                    _ => {
                        return Err(invalid(
                            "p9",
                            format!(
                            "{spec:?}: unknown option {k:?} (tag, path, security_model, backend)"
                        ),
                        ))
                    }
                }
            }
            // From 4.19 xl leaves the check to libxl, at create time.
            if !cfg!(xen_4_20) && (path.is_none() || sm.is_none() || tag.is_none()) {
                return Err(invalid(
                    "p9",
                    format!("{spec:?}: tag, path and security_model are required"),
                ));
            }
            // xl numbers the device, then runs libxl_device_p9_init on it
            // again, which resets the devid to "not set" (libxl picks).
            t.p9s.push(types::DeviceP9 {
                tag: tag.clone(),
                security_model: sm.clone(),
                path: path.clone(),
                backend_domname: backend.clone(),
                ..Default::default()
            });
        }
    }
    if let Got::Value(items) = p.list("vtpm", false)? {
        t.vtpms = Vec::new();
        for (n, spec) in leading_strings(&items).into_iter().enumerate() {
            let mut v = types::DeviceVtpm {
                devid: devid(n),
                ..Default::default()
            };
            let mut got_backend = false;
            for (k, val) in kv_tokens(spec) {
                match k {
                    "backend" => {
                        v.backend_domname = Some(val.to_owned());
                        got_backend = true;
                    }
                    "uuid" => {
                        v.uuid = val
                            .parse::<Uuid>()
                            .map_err(|e| invalid("vtpm", format!("{val:?}: {e}")))?
                    }
                    _ => {
                        return Err(invalid(
                            "vtpm",
                            format!("{spec:?}: unknown option {k:?} (backend, uuid)"),
                        ))
                    }
                }
            }
            if !got_backend {
                return Err(invalid("vtpm", format!("{spec:?}: backend= is required")));
            }
            t.vtpms.push(v);
        }
    }
    if let Got::Value(items) = p.list("vdispl", false)? {
        t.vdispls = Vec::new();
        for (n, spec) in leading_strings(&items).into_iter().enumerate() {
            t.vdispls.push(vdispl(spec, n)?);
        }
    }
    if let Got::Value(items) = p.list("pvcalls", false)? {
        t.pvcallsifs = Vec::new();
        for (n, spec) in leading_strings(&items).into_iter().enumerate() {
            let mut backend = None;
            for (k, v) in kv_tokens(spec) {
                match k {
                    "backend" => backend = Some(v.to_owned()),
                    _ => {
                        return Err(invalid(
                            "pvcalls",
                            format!("{spec:?}: unknown option {k:?} (backend)"),
                        ))
                    }
                }
            }
            t.pvcallsifs.push(types::DevicePvcallsif {
                devid: devid(n),
                backend_domname: backend,
                ..Default::default()
            });
        }
    }
    if let Got::Value(cards) = p.list("vsnd", false)? {
        t.vsnds = Vec::new();
        for (n, card) in cards.iter().enumerate() {
            t.vsnds.push(vsnd(card, n)?);
        }
    }
    if let Got::Value(items) = p.list("channel", false)? {
        t.channels = Vec::new();
        for (n, spec) in leading_strings(&items).into_iter().enumerate() {
            t.channels.push(channel(r, spec, n)?);
        }
    }
    if let Got::Value(items) = p.list("vif", false)? {
        t.nics = Vec::new();
        for (n, spec) in leading_strings(&items).into_iter().enumerate() {
            t.nics.push(vif(r, spec, n)?);
        }
    }
    if let Got::Value(_) = p.list("vif2", false)? {
        r.warn(
            "vif2",
            W::Ignored,
            "netchannel2 is deprecated and not supported by xl",
        );
    }
    t.vfbs = Vec::new();
    t.vkbs = Vec::new();
    if let Got::Value(items) = p.list("vfb", false)? {
        for spec in leading_strings(&items) {
            let mut vfb = types::DeviceVfb {
                devid: devid(t.vfbs.len()),
                ..Default::default()
            };
            for (k, v) in kv_tokens(spec) {
                let v_s = Some(v.to_owned());
                match k {
                    "vnc" => vfb.vnc.enable = Some(atoi(v) != 0),
                    "vnclisten" => vfb.vnc.listen = v_s,
                    "vncpasswd" => vfb.vnc.passwd = v_s,
                    "vncdisplay" => vfb.vnc.display = atoi(v),
                    "vncunused" => vfb.vnc.findunused = Some(atoi(v) != 0),
                    "keymap" => vfb.keymap = v_s,
                    "sdl" => vfb.sdl.enable = Some(atoi(v) != 0),
                    "opengl" => vfb.sdl.opengl = Some(atoi(v) != 0),
                    "display" => vfb.sdl.display = v_s,
                    "xauthority" => vfb.sdl.xauthority = v_s,
                    _ => r.warn(
                        "vfb",
                        W::Ignored,
                        format!("{spec:?}: unknown option {k:?} is ignored"),
                    ),
                }
            }
            t.vkbs.push(types::DeviceVkb {
                devid: devid(t.vkbs.len()),
                ..Default::default()
            });
            t.vfbs.push(vfb);
        }
    }
    if let Got::Value(items) = p.list("usbctrl", false)? {
        t.usbctrls = Vec::new();
        for (n, spec) in leading_strings(&items).into_iter().enumerate() {
            let mut c = types::DeviceUsbctrl {
                devid: devid(n),
                ..Default::default()
            };
            for tok in strtok(spec, ",").map(skip_spaces) {
                if let Some(v) = option(tok, "type") {
                    c.type_ = by_name!("usbctrl", v, types::UsbctrlType)?;
                } else if let Some(v) = option(tok, "version") {
                    c.version = atoi(v);
                } else if let Some(v) = option(tok, "ports") {
                    c.ports = atoi(v);
                } else {
                    return Err(invalid(
                        "usbctrl",
                        format!("{spec:?}: unknown option {tok:?} (type, version, ports)"),
                    ));
                }
            }
            t.usbctrls.push(c);
        }
    }
    if let Got::Value(items) = p.list("usbdev", false)? {
        t.usbdevs = Vec::new();
        for spec in leading_strings(&items) {
            t.usbdevs.push(usbdev(spec)?);
        }
    }
    cpuid(r, &mut t.b_info)?;
    Ok(())
}

fn disk(r: &Reader<'_>, spec: &str) -> Result<types::DeviceDisk> {
    let c = spec_c("disk", spec)?;
    let specs = [c.as_ptr()];
    let mut d = Owned::<sys::libxl_device_disk>::new();
    // SAFETY: cfg valid; one NUL-terminated spec; d initialised and owned.
    let rc = unsafe { sys::xlu_disk_parse(r.p.raw(), 1, specs.as_ptr(), d.as_mut_ptr()) };
    if rc != 0 {
        return Err(invalid("disk", format!("{spec:?}: {}", r.p.report_text())));
    }
    // SAFETY: initialised, and filled by libxlutil.
    unsafe { types::DeviceDisk::from_libxl(&d) }
}

/// xl's `parse_nic_config` for every token; like xl, a bad token is
/// reported and skipped (only a bad `rate`, `devid` or `mtu` is fatal).
fn vif(r: &mut Reader<'_>, spec: &str, n: usize) -> Result<types::DeviceNic> {
    let g = r.xlconf;
    let mut nic = types::DeviceNic {
        devid: devid(n),
        script: g.vif_script.clone(),
        bridge: g.vif_bridge.clone(),
        gatewaydev: g.vif_gatewaydev.clone(),
        backend_domname: g.vif_backend.clone(),
        ..Default::default()
    };
    for tok in strtok(spec, ",").map(skip_spaces) {
        let (k, v) = match tok.split_once('=') {
            Some((k, v)) => (k, v),
            None => (tok, ""),
        };
        let v_s = Some(v.to_owned());
        let has_value = tok.contains('=');
        macro_rules! colo {
            ($($name:ident),* $(,)?) => {
                match k {
                    $(stringify!($name) if has_value => { nic.$name = v_s; continue; })*
                    _ => {}
                }
            };
        }
        colo!(
            colo_sock_mirror_id,
            colo_sock_mirror_ip,
            colo_sock_mirror_port,
            colo_sock_compare_sec_in_id,
            colo_sock_compare_sec_in_ip,
            colo_sock_compare_sec_in_port,
            colo_sock_redirector0_id,
            colo_sock_redirector0_ip,
            colo_sock_redirector0_port,
            colo_sock_redirector1_id,
            colo_sock_redirector1_ip,
            colo_sock_redirector1_port,
            colo_sock_redirector2_id,
            colo_sock_redirector2_ip,
            colo_sock_redirector2_port,
            colo_sock_compare_pri_in_id,
            colo_sock_compare_pri_in_ip,
            colo_sock_compare_pri_in_port,
            colo_sock_compare_notify_id,
            colo_sock_compare_notify_ip,
            colo_sock_compare_notify_port,
            colo_filter_mirror_queue,
            colo_filter_mirror_outdev,
            colo_filter_redirector0_queue,
            colo_filter_redirector0_indev,
            colo_filter_redirector0_outdev,
            colo_filter_redirector1_queue,
            colo_filter_redirector1_indev,
            colo_filter_redirector1_outdev,
            colo_compare_pri_in,
            colo_compare_sec_in,
            colo_compare_out,
            colo_compare_notify_dev,
            colo_sock_sec_redirector0_id,
            colo_sock_sec_redirector0_ip,
            colo_sock_sec_redirector0_port,
            colo_sock_sec_redirector1_id,
            colo_sock_sec_redirector1_ip,
            colo_sock_sec_redirector1_port,
            colo_filter_sec_redirector0_queue,
            colo_filter_sec_redirector0_indev,
            colo_filter_sec_redirector0_outdev,
            colo_filter_sec_redirector1_queue,
            colo_filter_sec_redirector1_indev,
            colo_filter_sec_redirector1_outdev,
            colo_filter_sec_rewriter0_queue,
            colo_checkpoint_host,
            colo_checkpoint_port,
        );
        match (k, has_value) {
            ("type", true) => match v {
                "vif" => nic.nictype = types::NicType::Vif,
                "ioemu" => nic.nictype = types::NicType::VifIoemu,
                _ => r.warn(
                    "vif",
                    W::Ignored,
                    format!("{spec:?}: type {v:?} is not vif or ioemu and is ignored"),
                ),
            },
            ("mac", true) => {
                if let Err(bytes) = mac(v, &mut nic.mac) {
                    r.warn(
                        "vif",
                        W::Ignored,
                        format!("{spec:?}: mac {v:?} is invalid; {bytes} bytes were read"),
                    );
                }
            }
            ("bridge", true) => nic.bridge = v_s,
            ("netdev", true) => {
                r.warn("vif", W::Deprecated, "netdev is deprecated: use gatewaydev");
                nic.gatewaydev = v_s;
            }
            ("gatewaydev", true) => nic.gatewaydev = v_s,
            ("ip", true) => nic.ip = v_s,
            ("script", true) => nic.script = v_s,
            ("backend", true) => nic.backend_domname = v_s,
            ("vifname", true) => nic.ifname = v_s,
            ("model", true) => nic.model = v_s,
            ("rate", true) => rate(r, v, &mut nic)?,
            ("forwarddev", true) => nic.coloft_forwarddev = v_s,
            ("accel", true) => r.warn("vif", W::Ignored, "accel is not supported and is ignored"),
            ("devid", true) => nic.devid = ulong("vif", v)? as i32,
            ("mtu", true) => nic.mtu = ulong("vif", v)? as i32,
            ("trusted", false) => nic.trusted = Some(true),
            ("untrusted", false) => nic.trusted = Some(false),
            _ => r.warn(
                "vif",
                W::Ignored,
                format!("{spec:?}: unrecognised option {tok:?} is ignored"),
            ),
        }
    }
    Ok(nic)
}

/// xl's MAC loop: six hex numbers, each followed by one separator byte.
/// On error the bytes read so far stay (as in xl) and their count is returned.
fn mac(s: &str, out: &mut Mac) -> std::result::Result<(), usize> {
    let mut rest = s;
    for i in 0..6 {
        let (v, after, ok) = strtoul(rest, 16);
        if !ok || v > 255 {
            return Err(i);
        }
        out.0[i] = v as u8;
        if i < 5 {
            // xl steps over one byte, whatever it is; past the end is an error here.
            let mut chars = after.chars();
            if chars.next().is_none() {
                return Err(i + 1);
            }
            rest = chars.as_str();
        }
    }
    Ok(())
}

fn rate(r: &Reader<'_>, v: &str, nic: &mut types::DeviceNic) -> Result<()> {
    let c = spec_c("vif", v)?;
    let mut raw = Owned::<sys::libxl_device_nic>::new();
    // SAFETY: cfg valid; c NUL-terminated; raw an initialised NIC.
    let rc = unsafe { sys::xlu_vif_parse_rate(r.p.raw(), c.as_ptr(), raw.as_mut_ptr()) };
    if rc != 0 {
        return Err(invalid("vif", format!("rate {v:?}: {}", r.p.report_text())));
    }
    nic.rate_bytes_per_interval = raw.rate_bytes_per_interval;
    nic.rate_interval_usecs = raw.rate_interval_usecs;
    Ok(())
}

fn vdispl(spec: &str, n: usize) -> Result<types::DeviceVdispl> {
    let mut v = types::DeviceVdispl {
        devid: devid(n),
        ..Default::default()
    };
    for tok in strtok(spec, ",").map(skip_spaces) {
        if let Some(b) = option(tok, "backend") {
            v.backend_domname = Some(b.to_owned());
        } else if let Some(b) = option(tok, "be-alloc") {
            v.be_alloc = ul0(b) != 0;
        } else if let Some(c) = option(tok, "connectors") {
            v.connectors = Vec::new();
            for conn in strtok(c, ";") {
                let (id, res) = split_pair(conn, ":").ok_or_else(|| {
                    invalid(
                        "vdispl",
                        format!("connector {conn:?} is not ID:WIDTHxHEIGHT"),
                    )
                })?;
                let (w, h) = res
                    .split_once('x')
                    .and_then(|(w, h)| {
                        let (w, _, okw) = strtoul(w, 10);
                        let (h, _, okh) = strtoul(h, 10);
                        (okw && okh).then_some((w as u32, h as u32))
                    })
                    .ok_or_else(|| {
                        invalid(
                            "vdispl",
                            format!("connector {conn:?}: the resolution is not WIDTHxHEIGHT"),
                        )
                    })?;
                v.connectors.push(types::ConnectorParam {
                    unique_id: Some(id.to_owned()),
                    width: w,
                    height: h,
                });
            }
        } else {
            return Err(invalid(
                "vdispl",
                format!("{spec:?}: unknown option {tok:?} (backend, be-alloc, connectors)"),
            ));
        }
    }
    if v.connectors.is_empty() {
        return Err(invalid(
            "vdispl",
            format!("{spec:?}: at least one connector is required"),
        ));
    }
    Ok(v)
}

/// One `vsnd` card: a list of item strings ("card, ...", "pcm, ...",
/// "stream, ..."), as xl's `parse_vsnd_item`.
fn vsnd(card: &Value, n: usize) -> Result<types::DeviceVsnd> {
    let Value::List(items) = card else {
        return Err(invalid("vsnd", "each card must be a list of items".into()));
    };
    let mut v = types::DeviceVsnd {
        devid: devid(n),
        ..Default::default()
    };
    for item in leading_strings(items) {
        let mut toks = strtok(item, ",").map(skip_spaces);
        let Some(kind) = toks.next() else { continue };
        let kind = kind.to_ascii_lowercase();
        match kind.as_str() {
            "card" => {}
            "pcm" => v.pcms.push(types::VsndPcm::default()),
            "stream" => {
                if v.pcms.is_empty() {
                    v.pcms.push(types::VsndPcm::default());
                }
                if let Some(pcm) = v.pcms.last_mut() {
                    pcm.streams.push(types::VsndStream::default());
                }
            }
            _ => {
                return Err(invalid(
                    "vsnd",
                    format!("{item:?}: an item starts with card, pcm or stream"),
                ))
            }
        }
        for tok in toks {
            match kind.as_str() {
                "card" => {
                    if !vsnd_params(&mut v.params, tok)? {
                        if let Some(b) = option(tok, "backend") {
                            v.backend_domname = Some(b.to_owned());
                        } else if let Some(s) = option(tok, "short-name") {
                            v.short_name = Some(s.to_owned());
                        } else if let Some(s) = option(tok, "long-name") {
                            v.long_name = Some(s.to_owned());
                        } else {
                            return Err(invalid(
                                "vsnd",
                                format!("card parameter {tok:?} is not known"),
                            ));
                        }
                    }
                }
                "pcm" => {
                    let pcm = v
                        .pcms
                        .last_mut()
                        .ok_or_else(|| invalid("vsnd", "no pcm".into()))?;
                    if !vsnd_params(&mut pcm.params, tok)? {
                        match option(tok, "name") {
                            Some(s) => pcm.name = Some(s.to_owned()),
                            None => {
                                return Err(invalid(
                                    "vsnd",
                                    format!("pcm parameter {tok:?} is not known"),
                                ))
                            }
                        }
                    }
                }
                _ => {
                    let stream = v
                        .pcms
                        .last_mut()
                        .and_then(|p| p.streams.last_mut())
                        .ok_or_else(|| invalid("vsnd", "no stream".into()))?;
                    if !vsnd_params(&mut stream.params, tok)? {
                        if let Some(s) = option(tok, "unique-id") {
                            stream.unique_id = Some(s.to_owned());
                        } else if let Some(s) = option(tok, "type") {
                            stream.type_ = by_name!("vsnd", s, types::VsndStreamType)?;
                        } else {
                            return Err(invalid(
                                "vsnd",
                                format!("stream parameter {tok:?} is not known"),
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(v)
}

/// The parameters cards, PCMs and streams share; false if `tok` is none.
fn vsnd_params(p: &mut types::VsndParams, tok: &str) -> Result<bool> {
    if let Some(v) = option(tok, "sample-rates") {
        p.sample_rates = strtok(v, ";").map(|s| ul0(s) as u32).collect();
    } else if let Some(v) = option(tok, "sample-formats") {
        p.sample_formats = Vec::new();
        for f in strtok(v, ";") {
            p.sample_formats
                .push(by_name!("vsnd", f, types::VsndPcmFormat)?);
        }
    } else if let Some(v) = option(tok, "channels-min") {
        p.channels_min = ul0(v) as u32;
    } else if let Some(v) = option(tok, "channels-max") {
        p.channels_max = ul0(v) as u32;
    } else if let Some(v) = option(tok, "buffer-size") {
        p.buffer_size = ul0(v) as u32;
    } else {
        return Ok(false);
    }
    Ok(true)
}

fn channel(r: &mut Reader<'_>, spec: &str, n: usize) -> Result<types::DeviceChannel> {
    let mut c = types::DeviceChannel::default();
    // xl 4.17 numbers channels in order; xl 4.20 leaves the devid to libxl
    // (measured with `xl -N create` in both Xen hosts).
    if !cfg!(xen_4_20) {
        c.devid = devid(n);
    }
    let (mut path, mut connection) = (None, None);
    for pair in strtok(spec, ",") {
        let (k, v) = split_pair(pair, "=")
            .ok_or_else(|| invalid("channel", format!("{pair:?} is not key=value")))?;
        let (k, v) = (trim_space(k), trim_space(v));
        match k {
            "backend" => c.backend_domname = Some(v.to_owned()),
            "name" => c.name = Some(v.to_owned()),
            "path" => path = Some(v.to_owned()),
            "connection" => match v {
                "pty" | "socket" => connection = Some(v.to_owned()),
                _ => {
                    return Err(invalid(
                        "channel",
                        format!("connection {v:?} is not pty or socket"),
                    ))
                }
            },
            _ => r.warn(
                "channel",
                W::Ignored,
                format!("{spec:?}: unknown parameter {k:?} is ignored"),
            ),
        }
    }
    c.connection = match connection.as_deref() {
        Some("pty") => types::DeviceChannelConnectionUnion::Pty,
        Some(_) => {
            types::DeviceChannelConnectionUnion::Socket(types::DeviceChannelConnectionSocket {
                path: Some(path.ok_or_else(|| {
                    invalid(
                        "channel",
                        format!("{spec:?}: connection=socket needs path="),
                    )
                })?),
            })
        }
        None => {
            return Err(invalid(
                "channel",
                format!("{spec:?}: connection= (pty or socket) is required"),
            ))
        }
    };
    Ok(c)
}

fn usbdev(spec: &str) -> Result<types::DeviceUsbdev> {
    let mut d = types::DeviceUsbdev::default();
    let (mut ty, mut bus, mut addr) = (None, 0u8, 0u8);
    for tok in strtok(spec, ",").map(skip_spaces) {
        if let Some(v) = option(tok, "type") {
            ty = Some(by_name!("usbdev", v, types::UsbdevType)?);
        } else if let Some(v) = option(tok, "hostbus") {
            bus = ul0(v) as u8;
        } else if let Some(v) = option(tok, "hostaddr") {
            addr = ul0(v) as u8;
        } else if let Some(v) = option(tok, "controller") {
            d.ctrl = atoi(v);
        } else if let Some(v) = option(tok, "port") {
            d.port = atoi(v);
        } else {
            return Err(invalid(
                "usbdev",
                format!(
                    "{spec:?}: unknown option {tok:?} (type, hostbus, hostaddr, controller, port)"
                ),
            ));
        }
    }
    d.type_ = match ty {
        Some(types::UsbdevType::Hostdev) => {
            types::DeviceUsbdevTypeUnion::Hostdev(types::DeviceUsbdevTypeHostdev {
                hostbus: bus,
                hostaddr: addr,
            })
        }
        // As xl: without a type the device has none (libxl refuses it at create).
        _ => types::DeviceUsbdevTypeUnion::default(),
    };
    Ok(d)
}

/// libxl's `libxl_cpuid_parse_config_xend` (libxl_cpuid.c), done here on
/// the crate's model, with libxl's results: a spec's registers are set in
/// order and those before a bad one stay; a register given again keeps the
/// last mask; the return is libxl's code (0, or 1 to 5). libxl itself
/// overwrites the pointer of a register given again and leaks the earlier
/// mask (found by fuzzing: `fuzz/regressions/xl_cfg_text`), and a leaf of
/// 0xffffffff (`XEN_CPUID_INPUT_UNUSED`, its list's terminator) hides the
/// entry, so such a spec changes nothing.
fn xend_cpuid(policy: &mut types::CpuidPolicy, spec: &str) -> i32 {
    let (leaf, rest, any) = strtoul(spec, 0);
    if !any {
        return 1;
    }
    // C's `uint32_t leaf = value`: modulo 2^32.
    let leaf = leaf as u32;
    let mut subleaf = None;
    let mut rest = rest;
    if let Some(after) = rest.strip_prefix(',') {
        let (v, after, any) = strtoul(after, 0);
        if !any {
            return 2;
        }
        subleaf = Some(v as u32).filter(|&v| v != u32::MAX);
        rest = after;
    }
    let Some(mut s) = rest.strip_prefix(':') else {
        return 3;
    };
    let mut hidden = types::CpuidLeaf::default();
    let entry = if leaf == u32::MAX {
        &mut hidden
    } else {
        let at = match policy
            .cpuid
            .iter()
            .position(|e| e.leaf == leaf && e.subleaf == subleaf)
        {
            Some(i) => i,
            None => {
                policy.cpuid.push(types::CpuidLeaf {
                    leaf,
                    subleaf,
                    regs: Default::default(),
                });
                policy.cpuid.len() - 1
            }
        };
        &mut policy.cpuid[at]
    };
    while !s.is_empty() {
        let b = s.as_bytes();
        if b[0] != b'e' || b.get(2) != Some(&b'x') {
            return 4;
        }
        let reg = usize::from(b[1].wrapping_sub(b'a'));
        let Some(eq) = s.find('=') else {
            return 4;
        };
        if reg > 3 {
            return 4;
        }
        let value = &s[eq + 1..];
        let end = value.find(',').unwrap_or(value.len());
        if end != 32 {
            return 5;
        }
        entry.regs[reg] = Some(value[..32].to_owned());
        if end == value.len() {
            break;
        }
        s = value[end + 1..].trim_start_matches([' ', '\n']);
    }
    0
}

/// `cpuid`: a list of xend-style leaf specs, or "host,flag=value,...".
/// As in xl, a bad entry is reported and skipped.
fn cpuid(r: &mut Reader<'_>, b: &mut types::DomainBuildInfo) -> Result<()> {
    let p = r.p;
    match p.list("cpuid", true)? {
        Got::Value(items) => {
            for spec in leading_strings(&items) {
                spec_c("cpuid", spec)?;
                let e = xend_cpuid(&mut b.cpuid, spec);
                if e != 0 {
                    let why = match e {
                        1 => "illegal leaf number",
                        2 => "illegal subleaf number",
                        3 => "missing colon",
                        4 => "invalid register name (must be e[abcd]x)",
                        5 => "policy string must be exactly 32 characters long",
                        _ => "unknown error",
                    };
                    r.warn("cpuid", W::Ignored, format!("{spec:?}: {why}; ignored"));
                }
            }
        }
        Got::Invalid => {
            if let Got::Value(s) = p.string("cpuid", false)? {
                let mut words = strtok(&s, ",");
                match words.next() {
                    Some("host") => {
                        // libxl's flag table stays libxl's: its parser
                        // fills a C policy list, read back once.
                        let mut list = b.cpuid.to_c()?;
                        for w in words {
                            let c = spec_c("cpuid", w)?;
                            // SAFETY: list is an initialised policy list; c
                            // is NUL-terminated.
                            let e = unsafe {
                                sys::libxl_cpuid_parse_config(list.as_mut_ptr(), c.as_ptr())
                            };
                            if e != 0 {
                                let why = match e {
                                    1 => "missing \"=\" in key=value",
                                    2 => "unknown CPUID flag name",
                                    3 => "illegal CPUID value (must be: [0|1|x|k|s])",
                                    _ => "unknown error",
                                };
                                r.warn("cpuid", W::Ignored, format!("{w:?}: {why}; ignored"));
                            }
                        }
                        // SAFETY: the list libxl's parser filled.
                        b.cpuid = unsafe { types::CpuidPolicy::read_c(&list) }?;
                    }
                    Some(_) => r.warn(
                        "cpuid",
                        W::Ignored,
                        format!("{s:?}: the first word must be \"host\"; ignored"),
                    ),
                    None => {}
                }
            }
        }
        Got::Absent => {}
    }
    Ok(())
}

/// Top-level vnc/sdl/spice keys, dm_restrict and the HVM display keys.
pub(super) fn read_displays(r: &mut Reader<'_>, t: &mut types::DomainConfig) -> Result<()> {
    let p = r.p;
    let is_pv = matches!(t.b_info.type_, Arm::Pv(_));
    if is_pv && t.vfbs.is_empty() {
        let on = p.long("vnc", false)?.ok().unwrap_or(0);
        if on != 0 {
            let mut vfb = types::DeviceVfb {
                devid: devid(t.vfbs.len()),
                ..Default::default()
            };
            top_level_vnc(r, &mut vfb.vnc)?;
            top_level_sdl(r, &mut vfb.sdl)?;
            p.replace_string("keymap", &mut vfb.keymap)?;
            t.vfbs.push(vfb);
            t.vkbs.push(types::DeviceVkb {
                devid: devid(t.vkbs.len()),
                ..Default::default()
            });
        }
    } else if let Arm::Hvm(h) = &mut t.b_info.type_ {
        top_level_vnc(r, &mut h.vnc)?;
        top_level_sdl(r, &mut h.sdl)?;
    }
    p.defbool("dm_restrict", &mut t.b_info.dm_restrict, false)?;
    let Arm::Hvm(h) = &mut t.b_info.type_ else {
        return Ok(());
    };
    if let Got::Value(s) = p.string("vga", false)? {
        h.vga.kind = match s.as_str() {
            "stdvga" => types::VgaInterfaceType::Std,
            "cirrus" => types::VgaInterfaceType::Cirrus,
            "none" => types::VgaInterfaceType::None,
            "qxl" => types::VgaInterfaceType::Qxl,
            _ => {
                return Err(invalid(
                    "vga",
                    format!("{s:?} is not stdvga, cirrus, qxl or none"),
                ))
            }
        };
    } else if let Got::Value(l) = p.long("stdvga", false)? {
        h.vga.kind = if l != 0 {
            types::VgaInterfaceType::Std
        } else {
            types::VgaInterfaceType::Cirrus
        };
    }
    if let Got::Value(s) = p.string("hdtype", false)? {
        h.hdtype = by_name!("hdtype", &s, types::Hdtype)?;
    }
    p.replace_string("keymap", &mut h.keymap)?;
    let sp = &mut h.spice;
    p.defbool("spice", &mut sp.enable, false)?;
    if let Got::Value(l) = p.long("spiceport", false)? {
        sp.port = l as i32;
    }
    if let Got::Value(l) = p.long("spicetls_port", false)? {
        sp.tls_port = l as i32;
    }
    p.replace_string("spicehost", &mut sp.host)?;
    p.defbool("spicedisable_ticketing", &mut sp.disable_ticketing, false)?;
    p.replace_string("spicepasswd", &mut sp.passwd)?;
    p.defbool("spiceagent_mouse", &mut sp.agent_mouse, false)?;
    p.defbool("spicevdagent", &mut sp.vdagent, false)?;
    p.defbool("spice_clipboard_sharing", &mut sp.clipboard_sharing, false)?;
    if let Got::Value(l) = p.long("spiceusbredirection", false)? {
        sp.usbredirection = l as i32;
    }
    p.replace_string("spice_image_compression", &mut sp.image_compression)?;
    p.replace_string("spice_streaming_video", &mut sp.streaming_video)?;
    p.defbool("nographic", &mut h.nographic, false)?;
    match p.long("gfx_passthru", true)? {
        Got::Value(l) => h.gfx_passthru = Some(l != 0),
        _ => {
            if let Got::Value(s) = p.string("gfx_passthru", false)? {
                h.gfx_passthru_kind = by_name!("gfx_passthru", &s, types::GfxPassthruKind)?;
                h.gfx_passthru = Some(true);
            }
        }
    }
    for (key, list, one) in [
        ("serial", &mut h.serial_list, &mut h.serial),
        ("usbdevice", &mut h.usbdevice_list, &mut h.usbdevice),
    ] {
        match p.string_list(key, true)? {
            Got::Value(l) => *list = l,
            Got::Absent => {}
            Got::Invalid => {
                if !p.replace_string(key, one)? {
                    return Err(invalid(key, "must be a string or a list of strings".into()));
                }
            }
        }
        if key == "serial" {
            p.replace_string("boot", &mut h.boot)?;
            p.defbool("usb", &mut h.usb, false)?;
            if let Got::Value(l) = p.long("usbversion", false)? {
                h.usbversion = l as i32;
            }
        }
    }
    p.defbool("vkb_device", &mut h.vkb_device, false)?;
    p.replace_string("soundhw", &mut h.soundhw)?;
    p.defbool("xen_platform_pci", &mut h.xen_platform_pci, false)?;
    if h.vnc.display != 0 && h.vnc.listen.as_deref().is_some_and(|l| l.contains(':')) {
        return Err(invalid(
            "vncdisplay",
            "the display is given both in vnclisten and vncdisplay".into(),
        ));
    }
    if let Got::Value(s) = p.string("vendor_device", false)? {
        h.vendor_device = by_name!("vendor_device", &s, types::VendorDevice)?;
    }
    Ok(())
}

fn top_level_vnc(r: &Reader<'_>, v: &mut types::VncInfo) -> Result<()> {
    let p = r.p;
    p.defbool("vnc", &mut v.enable, false)?;
    p.replace_string("vnclisten", &mut v.listen)?;
    p.replace_string("vncpasswd", &mut v.passwd)?;
    if let Got::Value(l) = p.long("vncdisplay", false)? {
        v.display = l as i32;
    }
    p.defbool("vncunused", &mut v.findunused, false)?;
    Ok(())
}

fn top_level_sdl(r: &Reader<'_>, s: &mut types::SdlInfo) -> Result<()> {
    let p = r.p;
    p.defbool("sdl", &mut s.enable, false)?;
    p.defbool("opengl", &mut s.opengl, false)?;
    p.replace_string("display", &mut s.display)?;
    p.replace_string("xauthority", &mut s.xauthority)?;
    Ok(())
}

/// `vkb`: xl's `parse_vkb_list`, appended after the vfbs' keyboards.
pub(super) fn read_vkbs(r: &mut Reader<'_>, t: &mut types::DomainConfig) -> Result<()> {
    let Got::Value(items) = r.p.list("vkb", false)? else {
        return Ok(());
    };
    for spec in leading_strings(&items) {
        let mut k = types::DeviceVkb {
            devid: devid(t.vkbs.len()),
            ..Default::default()
        };
        for tok in strtok(spec, ",").map(skip_spaces) {
            let (key, v) = tok.split_once('=').unwrap_or((tok, ""));
            if !tok.contains('=') {
                return Err(invalid(
                    "vkb",
                    format!("{spec:?}: {tok:?} is not key=value"),
                ));
            }
            let num = || ul0(v) as u32;
            match key {
                "backend" => k.backend_domname = Some(v.to_owned()),
                "backend-type" => k.backend_type = by_name!("vkb", v, types::VkbBackend)?,
                "unique-id" => k.unique_id = Some(v.to_owned()),
                "feature-disable-keyboard" => k.feature_disable_keyboard = num() != 0,
                "feature-disable-pointer" => k.feature_disable_pointer = num() != 0,
                "feature-abs-pointer" => k.feature_abs_pointer = num() != 0,
                "feature-raw-pointer" => k.feature_raw_pointer = num() != 0,
                "feature-multi-touch" => k.feature_multi_touch = num() != 0,
                "multi-touch-width" => k.multi_touch_width = num(),
                "multi-touch-height" => k.multi_touch_height = num(),
                "multi-touch-num-contacts" => k.multi_touch_num_contacts = num(),
                "width" => k.width = num(),
                "height" => k.height = num(),
                _ => return Err(invalid("vkb", format!("{spec:?}: unknown option {key:?}"))),
            }
        }
        if k.backend_type == types::VkbBackend::Unknown {
            return Err(invalid(
                "vkb",
                format!("{spec:?}: backend-type= is required (qemu or linux)"),
            ));
        }
        let mt = k.multi_touch_height != 0
            || k.multi_touch_width != 0
            || k.multi_touch_num_contacts != 0;
        if mt {
            k.feature_multi_touch = true;
        }
        if k.feature_multi_touch && !mt {
            return Err(invalid(
                "vkb",
                format!("{spec:?}: multi touch needs multi-touch-width, -height and -num-contacts"),
            ));
        }
        t.vkbs.push(k);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Rust reading of xend cpuid specs gives what libxl's own parser
    /// gives (run here, beside it, on the same specs): the codes and the
    /// policy, for good specs, bad ones, a spec whose second register is
    /// bad, and subleaves. (Only specs libxl reads soundly: the valgrind job
    /// runs this test.)
    #[test]
    fn xend_cpuid_specs_read_as_libxls_parser_reads_them() {
        let a = "x".repeat(32);
        let b = format!("{}1", "0".repeat(31));
        let cases: Vec<Vec<String>> = vec![
            vec![format!("1:ecx={a}")],
            vec![format!("0x80000001,2:eax={a},ebx={b}")],
            vec![format!("1:eax={a},ebx=short,ecx={b}")],
            vec![format!("1:eax={a}, \n ebx={b}")],
            vec![format!("1:eaxyz={a}")],
            vec![format!("1,4294967295:eax={a}"), format!("1:ebx={b}")],
            vec![format!("7,0:edx={a}"), format!("7:edx={b}")],
            vec![format!("1:exx={a}")],
            vec!["1:eax".into()],
            vec!["x:".into(), "1,:".into(), "1".into(), "1:".into()],
            vec![format!("1: eax={a}")],
            vec![format!("010:ecx={a}"), format!("0x8:edx={b}")],
        ];
        for specs in cases {
            let mut ours = types::CpuidPolicy::default();
            let mut list = types::CpuidPolicy::default().to_c().unwrap();
            for spec in &specs {
                let c = CString::new(spec.as_str()).unwrap();
                // SAFETY: an initialised policy list; c NUL-terminated.
                let theirs =
                    unsafe { sys::libxl_cpuid_parse_config_xend(list.as_mut_ptr(), c.as_ptr()) };
                assert_eq!(xend_cpuid(&mut ours, spec), theirs, "{specs:?}");
            }
            // SAFETY: the list libxl's parser filled.
            let theirs = unsafe { types::CpuidPolicy::read_c(&list) }.unwrap();
            assert_eq!(ours, theirs, "{specs:?}");
        }
    }

    /// PCI specs read in Rust as libxlutil reads them (run here, beside it,
    /// on the same specs): whether each is accepted, and the device. Only
    /// specs libxlutil reads soundly: a BDF without its '.' is the
    /// Rust-only test below.
    #[test]
    fn pci_specs_read_as_libxlutils_parser_reads_them() {
        let specs = [
            "01:00.0",
            "0000:01:00.1",
            "1:2.3@4",
            "01:1f.*",
            "01:00.*@1f,permissive=1",
            "01:00.0@20",
            "01:00.8",
            "1:20.0",
            "100:01.0",
            "10000:00:00.0",
            "ffff:ff:1f.7",
            " 1:2.3",
            "1: 2.3",
            "1:-2.3",
            "1:0x2.3",
            "0x1:2.3",
            "1:2.0x3",
            "1:2.3x",
            "1:2.3,",
            "1:2.3,,",
            "1:2.3,seize=1,msitranslate=12",
            "1:2.3,power_mgmt=-1,permissive=0",
            "1:2.3,rdm_policy=relaxed",
            "1:2.3,rdm_policy=STRICT",
            "1:2.3,rdm_policy=invalid",
            "1:2.3,rdm_policy=x",
            "1:2.3,vslot=1f",
            "1:2.3,vslot=g",
            "1:2.3,vslot=",
            "bdf=1:2.3",
            "bdf=1:2.3junk",
            "bdf=1:2.9",
            "bdf=1:2.3,name=x",
            "name=gpu",
            "name=gpu,vslot=3,permissive=1",
            "name=",
            "1:2.3,name=x",
            "",
            ",",
            "=",
            "1:2.3,=1",
            "1:2.3,foo=1",
            "1:2.3,permissive",
            "permissive=1",
            "1:2:3:4.5",
            "1:2.3@",
            "1:2.3@x",
            "1:2.3@1,bdf=4:5.6",
            "é=1",
            "1:2.3,name=é",
        ];
        for spec in specs {
            let base = types::DevicePci {
                msitranslate: true,
                rdm_policy: types::RdmReservePolicy::from_raw(1),
                ..Default::default()
            };
            let mut ours = base.clone();
            let ok = pci_spec(&mut ours, spec).is_ok();
            let mut raw = base.to_libxl().unwrap();
            let c = CString::new(spec).unwrap();
            // SAFETY: a NULL cfg is allowed (libxlutil reports only to a
            // cfg's stream); raw an initialised device; c NUL-terminated.
            let rc = unsafe {
                sys::xlu_pci_parse_spec_string(std::ptr::null_mut(), raw.as_mut_ptr(), c.as_ptr())
            };
            assert_eq!(ok, rc == 0, "{spec:?}: ours {ok}, libxlutil {rc}");
            if ok {
                // SAFETY: initialised, and written by libxlutil.
                let theirs = unsafe { types::DevicePci::from_libxl(&raw) }.unwrap();
                assert_eq!(ours, theirs, "{spec:?}");
            }
        }
    }

    /// A BDF without its function's '.' (where libxlutil 4.17 moves by an
    /// uninitialised offset) is refused, positional or as `bdf=`.
    #[test]
    fn a_pci_address_without_its_function_is_refused() {
        for spec in [
            "01:00",
            "0000:01:00",
            "1:2,permissive=1",
            "1:2@3",
            "bdf=1:2",
            "1:2:3",
        ] {
            let mut pci = types::DevicePci::default();
            assert!(pci_spec(&mut pci, spec).is_err(), "{spec:?}");
        }
        // A name given twice: the last counts (libxlutil leaks the first,
        // so it is not in the test against libxlutil, which valgrind runs).
        let mut pci = types::DevicePci::default();
        pci_spec(&mut pci, "name=a,name=b").unwrap();
        assert_eq!(pci.name.as_deref(), Some("b"));
    }

    /// Where libxl's parser is unsound, the Rust reading gives what libxl
    /// means: a register given again keeps the last mask (libxl leaks the
    /// first), a register name cut short is refused (libxl reads past the
    /// string's end: valgrind "Invalid read of size 1"), and a leaf of
    /// 0xffffffff, libxl's terminator, changes nothing (libxl hides the
    /// entry behind its terminator and leaks its masks).
    #[test]
    fn xend_cpuid_keeps_the_last_mask_and_refuses_a_cut_register() {
        let a = "x".repeat(32);
        let b = format!("{}1", "0".repeat(31));
        let mut p = types::CpuidPolicy::default();
        assert_eq!(xend_cpuid(&mut p, &format!("1:eax={a}")), 0);
        assert_eq!(xend_cpuid(&mut p, &format!("1:eax={b},eax={a},eax={b}")), 0);
        assert_eq!(p.cpuid.len(), 1);
        assert_eq!(p.cpuid[0].regs[0].as_deref(), Some(b.as_str()));
        assert_eq!(xend_cpuid(&mut p, "1:e"), 4);
        assert_eq!(xend_cpuid(&mut p, "1:"), 0);
        assert_eq!(xend_cpuid(&mut p, &format!("-1:eax={a}")), 0);
        assert_eq!(xend_cpuid(&mut p, &format!("4294967295:ebx={a}")), 0);
        assert_eq!(p.cpuid.len(), 1);
    }
}
