//! Builds the bindings against Xen 4.20's headers (Debian trixie's
//! libxen-dev), without touching the machine's own apt sources or packages.
//!
//! The package is fetched with a private apt configuration under
//! target/xen-host/xen-4.20 and unpacked with `dpkg-deb -x`; pkg-config is
//! pointed at it with PKG_CONFIG_LIBDIR and PKG_CONFIG_SYSROOT_DIR.

use anyhow::{anyhow, bail, Context as _, Result};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::host::run;
use crate::{cache_dir, cargo, workspace_root};

/// The Debian mirror this machine already uses (from its own apt sources).
pub fn machine_mirror() -> Result<String> {
    let mut texts = Vec::new();
    for p in [
        "/etc/apt/sources.list.d/debian.sources",
        "/etc/apt/sources.list",
    ] {
        texts.push(fs::read_to_string(p).unwrap_or_default());
    }
    if let Ok(rd) = fs::read_dir("/etc/apt/sources.list.d") {
        for e in rd.flatten() {
            texts.push(fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    mirror_from_sources(&texts.join("\n")).context("no Debian mirror found in the apt sources")
}

/// The first Debian archive URI (not the security archive) in apt source text,
/// one-line (`deb URI suite ...`) or deb822 (`URIs: URI`) format.
pub fn mirror_from_sources(text: &str) -> Option<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let l = l.trim();
            if let Some(u) = l.strip_prefix("URIs:") {
                return u.split_whitespace().next();
            }
            let rest = l.strip_prefix("deb ")?;
            rest.split_whitespace().find(|w| w.contains("://"))
        })
        .find(|u| u.trim_end_matches('/').ends_with("/debian"))
        .map(str::to_owned)
}

/// Points an apt-get command at a private configuration under `apt`: its own
/// sources, lists and cache, and no view of the machine's installed packages.
pub fn private_apt(cmd: &mut Command, apt: &Path) {
    let a = apt.display();
    cmd.args([
        "-q",
        "-o",
        &format!("Dir::Etc::SourceList={a}/etc/sources.list"),
        "-o",
        &format!("Dir::Etc::SourceParts={a}/etc/sources.list.d"),
        "-o",
        &format!("Dir::Etc::PreferencesParts={a}/etc/preferences.d"),
        "-o",
        &format!("Dir::State::Lists={a}/lists"),
        "-o",
        &format!("Dir::Cache={a}/cache"),
        "-o",
        "Dir::State::status=/dev/null",
        "-o",
        "APT::Sandbox::User=root",
    ]);
}

/// Makes a private apt configuration under `apt` with one sources line,
/// and reads its package lists (`apt-get update`).
pub fn prepare_private_apt(apt: &Path, line: &str) -> Result<()> {
    for d in [
        "lists/partial",
        "cache/archives/partial",
        "etc/preferences.d",
        "etc/sources.list.d",
    ] {
        fs::create_dir_all(apt.join(d))?;
    }
    fs::write(apt.join("etc/sources.list"), format!("{line}\n"))?;
    let mut update = Command::new("apt-get");
    private_apt(&mut update, apt);
    run(update.arg("update"))
}

/// Fetches (once) and unpacks libxen-dev 4.20; returns the unpacked root.
pub fn headers() -> Result<PathBuf> {
    let dir = cache_dir().join("xen-4.20");
    let root = dir.join("root");
    let stamp = root.join(".unpacked");
    if stamp.exists() {
        return Ok(root);
    }
    let apt = dir.join("apt");
    let mirror = machine_mirror()?;
    prepare_private_apt(
        &apt,
        &format!(
            "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {mirror} trixie main"
        ),
    )?;
    let opts = |cmd: &mut Command| private_apt(cmd, &apt);
    step!(
        "==> fetching Xen 4.20's libxen-dev (Debian trixie) into {}",
        dir.display()
    );
    let debs = dir.join("debs");
    let _ = fs::remove_dir_all(&debs);
    fs::create_dir_all(&debs)?;
    let mut dl = Command::new("apt-get");
    opts(&mut dl);
    run(dl.current_dir(&debs).args(["download", "libxen-dev"]))?;
    let _ = fs::remove_dir_all(&root);
    for e in fs::read_dir(&debs)?.flatten() {
        run(Command::new("dpkg-deb").arg("-x").arg(e.path()).arg(&root))?;
    }
    fs::write(&stamp, "")?;
    Ok(root)
}

fn pkgconfig_dir(root: &Path) -> Result<PathBuf> {
    let p = root.join("usr/lib/x86_64-linux-gnu/pkgconfig");
    if p.join("xenlight.pc").is_file() {
        Ok(p)
    } else {
        Err(anyhow!("{} has no xenlight.pc", p.display()))
    }
}

/// The `libxl_have` cfgs a finished build script printed.
fn cfgs_of(target_dir: &Path) -> Result<(String, BTreeSet<String>)> {
    let build = target_dir.join("debug/build");
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for e in fs::read_dir(&build)
        .with_context(|| format!("{}", build.display()))?
        .flatten()
    {
        let out = e.path().join("output");
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("xenlight-sys-") && out.is_file() {
            let t = fs::metadata(&out).and_then(|m| m.modified())?;
            if newest.as_ref().is_none_or(|(n, _)| t > *n) {
                newest = Some((t, out));
            }
        }
    }
    let (_, out) = newest.context("no xenlight-sys build output")?;
    let text = fs::read_to_string(out)?;
    let mut version = String::new();
    let mut have = BTreeSet::new();
    for l in text.lines() {
        if let Some(v) = l.strip_prefix("cargo:version=") {
            version = v.to_owned();
        }
        if let Some(n) = l.strip_prefix("cargo::rustc-cfg=libxl_have=") {
            have.insert(n.trim_matches('"').to_owned());
        }
    }
    Ok((version, have))
}

/// `cargo xtask check-xen-4.20`.
pub fn check() -> Result<()> {
    let root = headers()?;
    let pc = pkgconfig_dir(&root)?;
    let target = workspace_root().join("target");
    let alt_target = target.join("xen-4.20-build");
    step!("==> building xenlight-sys and checking xenlight against Xen 4.20's headers");
    crate::xen_src::check_against(&pc, Some(&root), &alt_target)
        .context("the build against Xen 4.20's headers")?;
    let st = cargo::command()
        .args(["check", "-p", "xenlight-sys"])
        .status()?;
    if !st.success() {
        bail!("the build against the installed headers failed");
    }
    let (v_new, new) = cfgs_of(&alt_target)?;
    let (v_old, old) = cfgs_of(&target)?;
    println!(
        "libxl_have cfgs: {} with Xen {v_old}, {} with Xen {v_new}",
        old.len(),
        new.len()
    );
    let only_new: Vec<_> = new.difference(&old).cloned().collect();
    let only_old: Vec<_> = old.difference(&new).cloned().collect();
    println!(
        "  only with {v_new}: {}",
        if only_new.is_empty() {
            "-".into()
        } else {
            only_new.join(", ")
        }
    );
    println!(
        "  only with {v_old}: {}",
        if only_old.is_empty() {
            "-".into()
        } else {
            only_old.join(", ")
        }
    );
    if !v_new.starts_with("4.20") {
        bail!("expected Xen 4.20 headers, the build saw {v_new}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_is_found_in_both_formats() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\n\
                      Types: deb\nURIs: http://mirror.example/debian-security\n";
        assert_eq!(
            mirror_from_sources(deb822).as_deref(),
            Some("http://mirror.example/debian")
        );
        let one_line = "# deb http://old/debian x main\ndeb http://sec.example/debian-security bookworm-security main\n\
                        deb [arch=amd64] http://m.example/debian/ bookworm main\n";
        assert_eq!(
            mirror_from_sources(one_line).as_deref(),
            Some("http://m.example/debian/")
        );
        assert_eq!(mirror_from_sources("nothing here"), None);
    }
}
