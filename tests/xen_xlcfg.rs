//! xl.cfg parity with xl itself, in the Xen host: every corpus file (and
//! Xen's own /etc/xen/xlexample.* files) gives the same libxl JSON as
//! `xl -N create`; every file xl refuses is refused with the key named;
//! files marked `# xenlight-test: boots KIND` start and power off; the
//! host's xl.conf defaults apply as xl applies them.

mod common;
#[path = "xlcfg/mod.rs"]
mod corpus;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::release::built_minor;
use common::*;
use corpus::{accepted_here, boots, refused_for_its_key, CORPUS, REFUSED};
use xenlight::{
    xl_cfg_keys, Context, DomainState, DomainType, Error, ShutdownReason, SUPPORTED_KEYS,
};

/// `xl -N create FILE`: its JSON, or its error output.
fn xl_dry_run(path: &Path) -> Result<String, String> {
    let out = Command::new("xl")
        .args(["-N", "create"])
        .arg(path)
        .output()
        .expect("run xl");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The JSON without c_info's UUID line: xl makes up a random UUID where
/// the file sets none, libxl leaves ours out while it is nil. libxl's JSON
/// is yajl's (`"uuid": "…"`) up to 4.21 and json-c's (`"uuid":"…"`) where
/// 4.22 is built with json-c.
fn without_uuid(json: &str) -> String {
    let mut in_c_info = false;
    let mut out = Vec::new();
    for line in json.lines() {
        if line.contains("\"c_info\"") {
            in_c_info = true;
        } else if line.contains("\"b_info\"") {
            in_c_info = false;
        }
        if in_c_info && line.trim_start().starts_with("\"uuid\":") {
            continue;
        }
        out.push(line);
    }
    out.join("\n")
}

/// The first line where two JSON texts differ, with context.
fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}: xl {:?} / ours {:?}", i + 1, x.trim(), y.trim());
        }
    }
    format!(
        "xl has {} lines, ours {}",
        a.lines().count(),
        b.lines().count()
    )
}

/// Compares one file; `Err` says how it differs.
fn compare(ctx: &Context, name: &str, text: &str) -> Result<(), String> {
    let path = Path::new("/tmp/xlcfg").join(name);
    std::fs::create_dir_all("/tmp/xlcfg").unwrap();
    std::fs::write(&path, text).unwrap();
    let xl = match xl_dry_run(&path) {
        Ok(json) => json,
        // A file this release's xl refuses (xl 4.21 dropped
        // qemu-xen-traditional) is refused by us the same way.
        Err(e) => {
            return match ctx.xl_cfg(text) {
                Err(Error::InvalidConfig { field, .. }) if e.contains(field.as_str()) => Ok(()),
                other => Err(format!("xl refused it ({e}); we: {other:?}")),
            }
        }
    };
    let ours = ctx
        .xl_cfg(text)
        .map_err(|e| format!("we refused it: {e}"))?;
    // The public path a user takes (validate, then libxl's JSON), not
    // Context::to_json of the model.
    let ours = ours
        .config
        .to_libxl_json(ctx)
        .map_err(|e| format!("to_libxl_json: {e}"))?;
    let sets_uuid = xl_cfg_keys(text).iter().any(|k| k == "uuid");
    let (xl, ours) = if sets_uuid {
        (xl, ours.trim().to_owned())
    } else {
        (without_uuid(&xl), without_uuid(ours.trim()))
    };
    if xl == ours {
        Ok(())
    } else {
        Err(first_difference(&xl, &ours))
    }
}

#[test]
fn xlcfg_parity_with_xl_dry_run() {
    let ctx = Context::new().unwrap();
    let mut files: Vec<(String, String)> = CORPUS
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    // Xen's own examples, where the packages install them.
    for e in ["xlexample.hvm", "xlexample.pvlinux", "xlexample.pvhlinux"] {
        if let Ok(t) = std::fs::read_to_string(Path::new("/etc/xen").join(e)) {
            files.push((e.to_owned(), t));
        }
    }
    let mut failures = Vec::new();
    for (name, text) in &files {
        if let Err(why) = compare(&ctx, name, text) {
            failures.push(format!("{name}: {why}"));
        }
    }
    let used: std::collections::BTreeSet<String> =
        files.iter().flat_map(|(_, t)| xl_cfg_keys(t)).collect();
    let covered = SUPPORTED_KEYS.iter().filter(|k| used.contains(**k)).count();
    println!(
        "xl.cfg parity: {}/{} identical, {covered}/{} keys covered",
        files.len() - failures.len(),
        files.len(),
        SUPPORTED_KEYS.len()
    );
    assert!(
        failures.is_empty(),
        "{} files differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        files.iter().any(|(n, _)| n.starts_with("xlexample")),
        "no /etc/xen/xlexample.* in the host"
    );
    assert_eq!(covered, SUPPORTED_KEYS.len());
}

/// Issue 25: PV guests that boot through pygrub were refused by our own
/// check. Each corpus file that names a bootloader now goes through the
/// public path to libxl's create, and fails, if at all, only inside libxl
/// (its bootloader run: the files' disks are not in this host), leaving no
/// domain behind.
#[test]
fn pv_guests_with_a_bootloader_from_xl_cfg_reach_libxls_bootloader_run() {
    let ctx = Context::new().unwrap();
    let mut tried = 0;
    for (name, text) in CORPUS {
        if !xl_cfg_keys(text).iter().any(|k| k == "bootloader") {
            continue;
        }
        let x = ctx.xl_cfg(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(x.config.domain_type(), DomainType::Pv, "{name}");
        x.config
            .validate()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let json = x.config.to_libxl_json(&ctx).unwrap();
        assert!(json.contains("\"bootloader\""), "{name}: {json}");
        let guest = x.config.name().to_owned();
        match ctx.create_domain_paused(&x.config) {
            Ok(domid) => {
                ctx.destroy(domid).unwrap();
            }
            Err(e @ xenlight::Error::Libxl { .. }) => {
                println!("{name}: libxl: {e}");
            }
            Err(e) => panic!("{name}: refused before libxl ran: {e:?}"),
        }
        assert!(
            ctx.domid_by_name(&guest).is_err(),
            "{name}: a domain {guest} is left behind"
        );
        tried += 1;
    }
    assert!(tried >= 2, "the corpus has {tried} files with a bootloader");
}

#[test]
fn xlcfg_files_xl_refuses_are_refused_naming_the_key() {
    let ctx = Context::new().unwrap();
    let mut failures = Vec::new();
    for (name, text) in REFUSED {
        let path = Path::new("/tmp/xlcfg-refused").join(name);
        std::fs::create_dir_all("/tmp/xlcfg-refused").unwrap();
        std::fs::write(&path, text).unwrap();
        if accepted_here(text) {
            // A newer xl accepts it: so must we, leaving the check to libxl.
            if let Err(e) = xl_dry_run(&path) {
                failures.push(format!("{name}: xl refused it: {e}"));
            }
            if let Err(e) = ctx.xl_cfg(text) {
                failures.push(format!("{name}: we refused it: {e}"));
            }
            continue;
        }
        if let Ok(json) = xl_dry_run(&path) {
            failures.push(format!("{name}: xl accepted it: {}", json.lines().count()));
        }
        if let Err(e) = refused_for_its_key(text, &ctx.xl_cfg(text)) {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Each corpus file marked to boot starts a guest of its type that powers
/// off after printing its greeting. Each boot is run again on its own if
/// its vCPU triple-faulted under TCG (one file's boot, not the whole list).
#[test]
fn xlcfg_guests_from_corpus_files_start() {
    let ctx = Context::new().unwrap();
    let mut started = 0;
    for (name, text) in CORPUS {
        let Some(kind) = boots(text) else { continue };
        if kind == "hvm" && !device_model_available(name) {
            continue;
        }
        retry_after_triple_fault(|| boot_corpus_guest(&ctx, name, text, kind));
        started += 1;
    }
    let least = if host_has("qemu") { 4 } else { 2 };
    assert!(
        started >= least,
        "only {started} corpus guests marked to boot"
    );
}

fn boot_corpus_guest(ctx: &Context, name: &str, text: &str, kind: &str) {
    let x = ctx.xl_cfg(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let guest = x.config.name().to_owned();
    let serial = format!("/tmp/{guest}-serial.log");
    let _ = std::fs::remove_file(&serial);
    let domid = ctx
        .create_domain(&x.config)
        .unwrap_or_else(|e| panic!("{name}: create: {e}"));
    let _guard = DomainGuard { ctx, domid };
    assert_eq!(
        Some(ctx.domain_info(domid).unwrap().domain_type),
        DomainType::from_name(kind),
        "{name}"
    );
    let output = || {
        if kind == "hvm" {
            std::fs::read_to_string(&serial).unwrap_or_default()
        } else {
            console_log(&guest)
        }
    };
    let reason = ctx
        .wait_for_shutdown(domid, Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        reason,
        ShutdownReason::Poweroff,
        "{name}; its output:\n{}",
        output()
    );
    assert_eq!(
        ctx.domain_info(domid).unwrap().state,
        DomainState::Shutdown(ShutdownReason::Poweroff)
    );
    if kind != "hvm" {
        wait_for_console(
            &guest,
            &protocol::guest_hello(&guest),
            Duration::from_secs(10),
        );
    }
    let out = output();
    assert!(
        out.contains(&protocol::guest_hello(&guest)),
        "{name}: {out}"
    );
}

#[test]
fn xlcfg_host_xl_conf_defaults_apply_as_in_xl() {
    let ctx = Context::new().unwrap();
    let conf =
        "vif.default.bridge = \"xenbr0\"\nvif.default.script = \"vif-bridge\"\nclaim_mode = 0\n\
                max_grant_frames = 48\nblkdev_start = \"xvdb\"\n";
    let old = std::fs::read_to_string("/etc/xen/xl.conf").unwrap_or_default();
    std::fs::write("/etc/xen/xl.conf", conf).unwrap();
    let text =
        "name = \"conf\"\nkernel = \"/k\"\nvif = [ 'mac=00:16:3e:00:00:09', 'bridge=xenbr1' ]\n";
    let result = compare(&ctx, "xl-conf.cfg", text);
    let x = ctx.xl_cfg(text);
    std::fs::write("/etc/xen/xl.conf", old).unwrap();
    result.unwrap();
    let x = x.unwrap();
    assert_eq!(x.config.libxl.nics[0].bridge.as_deref(), Some("xenbr0"));
    assert_eq!(x.config.libxl.nics[1].bridge.as_deref(), Some("xenbr1"));
    assert_eq!(x.config.libxl.b_info.claim_mode, Some(false));
}
