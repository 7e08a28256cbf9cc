//! The Xen 4.20 host (`cargo xtask vm-test --xen 4.20`): Debian trixie's
//! Xen 4.20 and toolstack in a debootstrap'd dom0 root (trixie's xl needs
//! trixie's glibc), the same Debian 12 kernel and guests as the 4.17 host,
//! and test executables built against 4.20's libxl and linked with the
//! root's libraries. Recipe measured in ../shared/xen-vm/README.md.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::cache_dir;
use crate::host::{mkdir, run, sh, BootFiles, Tree, DOM0_DIRS, MODULES};

/// Bump when the root or the base archive changes.
const RECIPE: &str = "trixie-v2";

/// Where the root is built and cached.
fn dir() -> PathBuf {
    cache_dir().join("xen-4.20-host")
}

/// The trixie root with Xen 4.20's hypervisor and toolstack, and libxen-dev
/// 4.20 unpacked into it (headers, pkg-config files, the .so links), so it
/// is also the sysroot the tests are built against.
pub fn root() -> Result<PathBuf> {
    let dir = dir();
    let root = dir.join("root");
    let stamp = dir.join("root.stamp");
    if fs::read_to_string(&stamp).ok().as_deref() == Some(RECIPE) {
        return Ok(root);
    }
    mkdir(&dir)?;
    let _ = fs::remove_dir_all(&root);
    let mirror = crate::xen420::machine_mirror()?;
    step!(
        "==> debootstrap of Debian trixie with Xen 4.20 into {}",
        root.display()
    );
    run(Command::new("debootstrap")
        .args([
            "--variant=minbase",
            // qemu-system-xen: HVM guests' device model (it brings
            // SeaBIOS and the option ROMs); iptables: vif-nat's MASQUERADE.
            "--include=busybox-static,xen-utils-4.20,xen-hypervisor-4.20-amd64,iproute2,kmod,\
             qemu-system-xen,iptables",
            "trixie",
        ])
        .arg(&root)
        .arg(&mirror))?;
    let dev = crate::xen420::headers()?;
    let debs = dev.parent().context("xen-4.20 cache")?.join("debs");
    for e in fs::read_dir(&debs)?.flatten() {
        run(Command::new("dpkg-deb").arg("-x").arg(e.path()).arg(&root))?;
    }
    fs::write(&stamp, RECIPE)?;
    Ok(root)
}

/// Xen 4.20 as an ELF for QEMU's multiboot loader.
pub fn xen_elf(root: &Path) -> Result<PathBuf> {
    let elf = dir().join("xen-4.20.elf");
    if !elf.exists() {
        let gz = root.join("boot/xen-4.20-amd64.gz");
        sh(&format!("zcat '{}' > '{}'", gz.display(), elf.display()))?;
    }
    Ok(elf)
}

/// The environment that builds the tests against 4.20: pkg-config answers
/// from the root, the linker finds the 4.20 libraries' own dependencies
/// there (their glibc symbols are left for run time), and the artifacts go
/// to their own target directory.
pub fn build_env(root: &Path) -> Vec<(String, String)> {
    let pc = root.join("usr/lib/x86_64-linux-gnu/pkgconfig");
    let pc_share = root.join("usr/share/pkgconfig");
    let lib = root.join("usr/lib/x86_64-linux-gnu");
    crate::cargo::foreign_libxl_env(
        format!("{}:{}", pc.display(), pc_share.display()),
        root,
        "xen-4.20-run",
        // The root's libraries need trixie's newer glibc, which the tests
        // find at run time in that dom0, not here at link time.
        format!(
            "-C link-arg=-Wl,-rpath-link,{} -C link-arg=-Wl,--allow-shlib-undefined",
            lib.display()
        ),
    )
}

/// The dom0 base archive: the root without what dom0 never reads, plus
/// the Debian 12 kernel's Xen modules, busybox's applets where the root has
/// no tool of the name (/opt/bb, last in PATH), and the directories the
/// init uses.
pub fn base_archive(boot: &BootFiles, root: &Path) -> Result<PathBuf> {
    let dir = dir();
    let archive = dir.join("base.cpio.gz");
    let stamp = dir.join("base.stamp");
    let want = format!("{RECIPE} {}", boot.kernel.display());
    if crate::host::is_cached(&archive, &stamp, &want) {
        return Ok(archive);
    }
    step!("==> building the Xen 4.20 dom0 base tree");
    let tree = dir.join("base-root");
    let _ = fs::remove_dir_all(&tree);
    run(Command::new("cp").arg("-a").arg(root).arg(&tree))?;
    for junk in [
        "usr/share/doc",
        "usr/share/man",
        "usr/share/locale",
        "usr/share/info",
        "usr/include",
        "var/cache/apt",
        "var/lib/apt/lists",
        "usr/lib/x86_64-linux-gnu/pkgconfig",
        // Xen is booted from its own ELF; python only serves pygrub.
        "boot",
        "usr/lib/python3.13",
    ] {
        let _ = fs::remove_dir_all(tree.join(junk));
    }
    sh(&format!(
        "find '{}' -name '*.a' -delete",
        tree.join("usr/lib").display()
    ))?;
    let mut t = Tree::existing(tree.clone());
    for d in DOM0_DIRS.iter().chain(&["opt/bb", "root"]) {
        mkdir(&t.path(d))?;
    }
    let applets = Command::new(tree.join("usr/bin/busybox"))
        .arg("--list")
        .output()
        .context("busybox --list")?;
    for a in String::from_utf8_lossy(&applets.stdout).lines() {
        let _ = std::os::unix::fs::symlink("/usr/bin/busybox", t.path(&format!("opt/bb/{a}")));
    }
    t.write("/etc/xen/xl.conf", "", false)?;
    // iptables through the legacy backend: the kernel modules loaded are
    // x_tables ones, as in the 4.17 host (trixie's default is nftables).
    let ipt = t.path("usr/sbin/iptables");
    let _ = fs::remove_file(&ipt);
    std::os::unix::fs::symlink("xtables-legacy-multi", &ipt)?;
    let names = t.copy_modules(&boot.modules, MODULES)?;
    t.write("/etc/xenlight-modules", &(names.join("\n") + "\n"), false)?;
    t.pack(&archive)?;
    fs::write(&stamp, want)?;
    Ok(archive)
}

/// The 4.17 dom0 init, for 4.20's paths; poweroff is busybox's (the root
/// has no init system to ask).
pub fn init_head(head: &str) -> String {
    head.replace(
        "/usr/lib/xen-4.17/bin:/opt/bin",
        "/usr/sbin:/usr/lib/xen-4.20/bin:/opt/bin:/opt/bb",
    )
    .replacen(
        "\nexport HOME=",
        "\npoweroff() { /usr/bin/busybox poweroff \"$@\"; }\nexport HOME=",
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_4_20_init_has_4_20_paths_busybox_poweroff_and_the_shared_tmp() {
        let head = init_head(include_str!("../assets/dom0-init-head.sh"));
        assert!(head.contains("/usr/lib/xen-4.20/bin") && !head.contains("xen-4.17"));
        assert!(head.contains("poweroff() { /usr/bin/busybox poweroff"));
        assert!(head.contains("mount -t tmpfs -o size=400M tmpfs /tmp"));
    }
}
