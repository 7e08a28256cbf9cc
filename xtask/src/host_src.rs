//! The host of a Xen built from its release tree (`cargo xtask vm-test
//! --xen 4.22`, see xen_build.rs): that hypervisor, its toolstack as dom0's
//! Xen files, this machine's Debian for the rest of dom0 (busybox, the
//! tools the hotplug scripts call, the Debian 12 kernel and its modules),
//! and test executables built against that toolstack's libxl.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::cache_dir;
use crate::host::{self, mkdir, run, BootFiles, Tree, DOM0_DIRS, SYSTEM_DIRS};
use crate::xen_build::{SourceXen, FEATURES};

/// Bump when the base tree's recipe changes.
const RECIPE: &str = "src-base-v2";

/// Where dom0 finds the FLASK policy the hypervisor has built in.
pub const POLICY: &str = "/etc/xen/xenpolicy";

/// What of the installed toolstack dom0 never reads.
const NOT_IN_DOM0: &[&str] = &[
    "usr/include",
    "usr/lib/pkgconfig",
    "etc/init.d",
    "etc/default",
    "etc/bash_completion.d",
];

/// Where the installed toolstack's executables are.
const BIN_DIRS: &[&str] = &["usr/sbin", "usr/bin", "usr/lib/xen/bin"];

fn libdir(built: &SourceXen) -> PathBuf {
    built.dest.join("usr/lib")
}

/// The dom0 base archive, cached per build and kernel.
pub fn base_archive(boot: &BootFiles, built: &SourceXen) -> Result<PathBuf> {
    let dir = cache_dir().join(format!("xen-{}-host", built.release));
    mkdir(&dir)?;
    let archive = dir.join("base.cpio.gz");
    let stamp = dir.join("base.stamp");
    let want = format!(
        "{RECIPE} {} {}",
        built.dest.display(),
        boot.kernel.display()
    );
    if host::is_cached(&archive, &stamp, &want) {
        return Ok(archive);
    }
    step!("==> building the Xen {} dom0 base tree", built.release);
    let mut t = Tree::new(dir.join("base-root"))?;
    for d in SYSTEM_DIRS.iter().chain(DOM0_DIRS) {
        mkdir(&t.path(d))?;
    }
    run(Command::new("cp")
        .arg("-a")
        .arg(built.dest.join("."))
        .arg(&t.root))?;
    for junk in NOT_IN_DOM0 {
        let _ = fs::remove_dir_all(t.path(junk));
    }
    host::sh(&format!(
        "find '{}' -name '*.a' -delete",
        t.path("usr/lib").display()
    ))?;
    // The toolstack's own libraries are in the tree; what they and its
    // executables need of this machine's (glibc, yajl, zstd, ...) is added.
    let libs = libdir(built);
    let mut elves = Vec::new();
    for d in BIN_DIRS {
        for e in fs::read_dir(built.dest.join(d))?.flatten() {
            elves.push(e.path());
        }
    }
    for e in fs::read_dir(&libs)?.flatten() {
        let p = e.path();
        if p.to_string_lossy().contains(".so.") && !p.is_symlink() {
            elves.push(p);
        }
    }
    for exe in elves.iter().filter(|p| is_elf(p)) {
        t.copy_libs_beside(exe, &libs)?;
    }
    host::add_dom0_userland(&mut t, boot)?;
    t.copy(&built.policy, POLICY)?;
    t.pack(&archive)?;
    fs::write(&stamp, want)?;
    Ok(archive)
}

fn is_elf(p: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    fs::File::open(p)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == *b"\x7fELF"
}

/// Copies a test executable into the tree with what it needs of this
/// machine's libraries (the toolstack's are there already).
pub fn copy_exe(t: &mut Tree, built: &SourceXen, exe: &Path, inside_dir: &str) -> Result<()> {
    t.copy_exe_only(exe, inside_dir)?;
    t.copy_libs_beside(exe, &libdir(built))
}

/// The environment that builds the tests against the source-built libxl:
/// pkg-config answers from its install (paths under it as a sysroot), the
/// linker finds its libraries' own dependencies there, and the artifacts
/// go to a target directory of their own.
pub fn build_env(built: &SourceXen) -> Vec<(String, String)> {
    crate::cargo::foreign_libxl_env(
        libdir(built).join("pkgconfig").display().to_string(),
        &built.dest,
        &format!("xen-{}-run", built.release),
        format!("-C link-arg=-Wl,-rpath-link,{}", libdir(built).display()),
    )
}

/// The 4.17 dom0 init, for the installed toolstack's paths (prefix /usr),
/// telling the tests what this hypervisor was built with and where its
/// FLASK policy is.
pub fn init_head(head: &str) -> String {
    head.replace(
        "/usr/lib/xen-4.17/bin:/opt/bin",
        "/usr/sbin:/usr/lib/xen/bin:/opt/bin",
    )
    .replace(
        "XENLIGHT_HOST_FEATURES=\"qemu\"",
        &format!("XENLIGHT_HOST_FEATURES=\"{FEATURES}\" XENLIGHT_FLASK_POLICY={POLICY}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_host_init_has_its_paths_features_and_no_qemu() {
        let head = init_head(include_str!("../assets/dom0-init-head.sh"));
        assert!(head.contains("/usr/sbin:/usr/lib/xen/bin:/opt/bin"));
        assert!(!head.contains("xen-4.17"));
        assert!(head.contains(&format!("XENLIGHT_HOST_FEATURES=\"{FEATURES}\"")));
        assert!(!head.contains("\"qemu\""));
    }
}
