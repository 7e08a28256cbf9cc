//! Installs what a fresh Debian 12 machine lacks (run as root).

use anyhow::{Context as _, Result};
use std::process::Command;

/// Debian packages the project needs: headers and libclang to build the
/// bindings, and the Xen host's pieces (hypervisor, toolstack, QEMU, busybox).
pub const PACKAGES: &[&str] = &[
    "pkg-config",
    // The test guest's static kexec helper (xtask/assets/guest-kexec.c).
    "gcc",
    "libc6-dev",
    "libxen-dev",
    "libclang-dev",
    "clang",
    "valgrind",
    "shellcheck",
    "xz-utils",
    "cpio",
    "busybox-static",
    "bash",
    "iproute2",
    "iptables",
    "util-linux",
    "coreutils",
    "qemu-system-x86",
    "qemu-system-xen",
    "xen-hypervisor-4.17-amd64",
    "xen-utils-4.17",
    // The Xen 4.20 host's dom0 root (trixie), `vm-test --xen 4.20`.
    "debootstrap",
    // What configure of a Xen release tree needs, for the headers of
    // releases Debian does not ship (`cargo xtask check-xen-src`).
    "libyajl-dev",
    "libjson-c-dev",
    "bison",
    "flex",
    "acpica-tools",
    "libzstd-dev",
    "libnl-3-dev",
    "libnl-route-3-dev",
    "libfdt-dev",
    // The source-built Xen's built-in FLASK policy (xen_build.rs).
    "checkpolicy",
    "uuid-dev",
];

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Installs the missing packages with apt-get.
pub fn install() -> Result<()> {
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    step!("==> installing Debian packages: {}", missing.join(" "));
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    let mut cmd = Command::new("apt-get");
    cmd.env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing);
    // Some images carry a newer qemu-utils from backports, which breaks
    // Debian 12's qemu-system-common; take the one from the release instead.
    if installed("qemu-utils") && !qemu_utils_fits() {
        cmd.args(["--allow-downgrades", "qemu-utils/bookworm"]);
    }
    run(&mut cmd)
}

fn qemu_utils_fits() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "qemu-utils"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).starts_with("1:7."))
        .unwrap_or(true)
}

fn run(cmd: &mut Command) -> Result<()> {
    crate::host::run(cmd).context("run it as root on Debian 12")
}
