//! The disposable Xen host's files: the hypervisor, the dom0/guest kernel, a
//! tiny busybox guest, and the dom0 initramfs.
//!
//! The initramfs is two concatenated gzip'd cpio archives (Linux unpacks them
//! in order): a cached base with busybox, the Xen 4.17 toolstack, its
//! libraries and the Xen kernel modules, and a small per-run overlay with
//! `/init` and the binaries under test.

use anyhow::{anyhow, bail, Context as _, Result};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache_dir;

/// Bump when the base tree's recipe changes, so cached bases are rebuilt.
const BASE_RECIPE: &str = "base-v9";
const XEN_BIN: &str = "/usr/lib/xen-4.17/bin";
const XTABLES_DIR: &str = "/usr/lib/x86_64-linux-gnu/xtables";

/// Dom0 kernel modules, in load order (the package has no modules.dep).
pub const MODULES: &[&str] = &[
    "drivers/xen/xen-evtchn.ko",
    "drivers/xen/xen-privcmd.ko",
    "drivers/xen/xenfs/xenfs.ko",
    "drivers/xen/xen-gntdev.ko",
    "drivers/xen/xen-gntalloc.ko",
    "drivers/block/xen-blkback/xen-blkback.ko",
    "drivers/net/xen-netback/xen-netback.ko",
    "net/llc/llc.ko",
    "net/802/stp.ko",
    "net/bridge/bridge.ko",
    "drivers/block/loop.ko",
    "drivers/net/dummy.ko",
    // NAT for vif-nat guests (iptables MASQUERADE) and the veth pair to the
    // simulated LAN.
    "crypto/crc32c_generic.ko",
    "lib/libcrc32c.ko",
    "net/netfilter/x_tables.ko",
    "net/ipv4/netfilter/ip_tables.ko",
    "net/ipv4/netfilter/nf_defrag_ipv4.ko",
    "net/ipv6/netfilter/nf_defrag_ipv6.ko",
    "net/netfilter/nf_conntrack.ko",
    "net/netfilter/nf_nat.ko",
    "net/ipv4/netfilter/iptable_nat.ko",
    "net/netfilter/xt_MASQUERADE.ko",
    "drivers/net/veth.ko",
    // PCI passthrough's dom0 half (the QEMU `edu` device is made assignable).
    "drivers/xen/xen-pciback/xen-pciback.ko",
    // The NIC of `cargo xtask two-hosts` (QEMU's e1000 on a socket network).
    "drivers/net/ethernet/intel/e1000/e1000.ko",
];

/// The directories every dom0 root has (both hosts): our executables and
/// the guest files, and what xenstored, xenconsoled and the toolstack write.
pub const DOM0_DIRS: &[&str] = &[
    "opt/bin",
    "opt/tests",
    "lib/modules",
    "var/run/xen",
    "var/lib/xen",
    "var/log/xen/console",
    "var/lib/xenstored",
    "guest",
];

/// The system directories of a dom0 root built from nothing (the 4.20
/// host's comes from debootstrap).
pub const SYSTEM_DIRS: &[&str] = &[
    "bin", "sbin", "etc/xen", "proc", "sys", "dev", "tmp", "run", "root",
];

/// Where dom0's init (vm.rs) finds the names of [`MODULES`], one per line,
/// in load order.
const MODULE_LIST: &str = "/etc/xenlight-modules";

/// Guest front-end drivers, loaded by the test guest's init.
pub const GUEST_MODULES: &[&str] = &[
    "drivers/block/xen-blkfront.ko",
    "drivers/net/xen-netfront.ko",
    // The ACPI power button and its input events, for `xlacpi`.
    "drivers/acpi/button.ko",
    "drivers/input/evdev.ko",
];

/// The HVM device model and the firmware it and hvmloader need.
const HVM_FILES: &[&str] = &[
    "/usr/share/seabios",
    "/usr/share/qemu",
    "/usr/lib/xen-4.17/boot",
];
const DEVICE_MODEL: &str = "/usr/libexec/xen-qemu-system-i386";

/// What QEMU boots.
#[derive(Debug, Clone)]
pub struct BootFiles {
    /// Xen as an ELF (QEMU's multiboot loader does not take the .gz).
    pub xen: PathBuf,
    /// The Debian kernel, used for dom0 and for test guests.
    pub kernel: PathBuf,
    /// The same kernel uncompressed (an ELF): PV and PVH guests start from
    /// it without dom0 decompressing ~60 MB of xz at every create.
    pub vmlinux: PathBuf,
    /// Directory of the unpacked kernel package's modules.
    pub modules: PathBuf,
}

pub fn run(cmd: &mut Command) -> Result<()> {
    let st = cmd
        .status()
        .with_context(|| format!("{:?}", cmd.get_program()))?;
    if st.success() {
        Ok(())
    } else {
        Err(anyhow!("{cmd:?} failed ({st})"))
    }
}

pub fn sh(script: &str) -> Result<()> {
    run(Command::new("sh").args(["-ec", script]))
}

pub fn mkdir(p: &Path) -> Result<()> {
    fs::create_dir_all(p).with_context(|| format!("mkdir {}", p.display()))
}

/// Fetches (once) and unpacks the kernel package; extracts the Xen ELF.
pub fn boot_files() -> Result<BootFiles> {
    let dir = cache_dir().join("kernel");
    let pkg = dir.join("pkg");
    let stamp = pkg.join(".unpacked");
    if !stamp.exists() {
        mkdir(&dir)?;
        let out = Command::new("apt-cache")
            .args(["depends", "linux-image-amd64"])
            .output()
            .context("apt-cache")?;
        let deps = String::from_utf8_lossy(&out.stdout);
        let name = deps
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Depends: "))
            .find(|d| d.starts_with("linux-image-") && d.as_bytes().get(12).is_some_and(u8::is_ascii_digit))
            .context("apt-cache found no linux-image-<version> behind linux-image-amd64; run apt-get update")?
            .to_owned();
        step!(
            "==> downloading kernel package {name} (cached in {})",
            dir.display()
        );
        let _ = fs::remove_dir_all(&pkg);
        sh(&format!(
            "cd '{d}' && rm -f *.deb && apt-get download -q '{name}' 2>&1 | grep -v '^W: Download is performed unsandboxed' || true; \
             ls *.deb >/dev/null && dpkg-deb -x *.deb pkg && rm -f *.deb",
            d = dir.display()
        ))?;
        fs::write(&stamp, &name)?;
    }
    let kernel = find_one(&pkg.join("boot"), "vmlinuz-")?;
    let kver = kernel
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("vmlinuz-"))
        .context("odd kernel file name")?
        .to_owned();
    let modules = pkg.join("lib/modules").join(kver).join("kernel");
    let xen = cache_dir().join("xen-4.17.elf");
    if !xen.exists() {
        let gz = find_one(Path::new("/boot"), "xen-4.17")?;
        sh(&format!("zcat '{}' > '{}'", gz.display(), xen.display()))?;
    }
    let vmlinux = dir.join("vmlinux");
    if !vmlinux.exists() {
        extract_vmlinux(&kernel, &vmlinux)?;
    }
    Ok(BootFiles {
        xen,
        kernel,
        vmlinux,
        modules,
    })
}

/// Offset of the xz stream inside a bzImage.
pub fn xz_offset(image: &[u8]) -> Option<usize> {
    const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0];
    image.windows(XZ_MAGIC.len()).position(|w| w == XZ_MAGIC)
}

/// Decompresses the ELF kernel out of a bzImage (what extract-vmlinux does).
fn extract_vmlinux(bzimage: &Path, out: &Path) -> Result<()> {
    use std::io::Write;
    let image = fs::read(bzimage).with_context(|| format!("{}", bzimage.display()))?;
    let off = xz_offset(&image).context("the kernel image has no xz payload")?;
    let tmp = out.with_extension("tmp");
    let file = fs::File::create(&tmp)?;
    let mut child = Command::new("xz")
        .args(["-dc", "--single-stream"])
        .stdin(std::process::Stdio::piped())
        .stdout(file)
        .spawn()
        .context("xz")?;
    if let Some(mut stdin) = child.stdin.take() {
        // xz stops reading after the stream; a broken pipe then is expected.
        let _ = stdin.write_all(&image[off..]);
    }
    let st = child.wait()?;
    let head = fs::read(&tmp)
        .map(|b| b.get(..4).map(<[u8]>::to_vec))
        .unwrap_or_default();
    if !st.success() || head.as_deref() != Some(b"\x7fELF".as_slice()) {
        bail!("could not extract an ELF kernel from {}", bzimage.display());
    }
    Ok(fs::rename(&tmp, out)?)
}

fn find_one(dir: &Path, prefix: &str) -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("{}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && !n.ends_with(".config"))
        })
        .collect();
    found.sort();
    found
        .pop()
        .with_context(|| format!("no {prefix}* in {}; run `cargo xtask setup`", dir.display()))
}

/// A staging tree that becomes one cpio archive.
pub struct Tree {
    pub root: PathBuf,
    libs: BTreeSet<PathBuf>,
}

impl Tree {
    pub fn new(root: PathBuf) -> Result<Self> {
        let _ = fs::remove_dir_all(&root);
        mkdir(&root)?;
        Ok(Tree {
            root,
            libs: BTreeSet::new(),
        })
    }

    /// A tree over a directory that already holds files (kept).
    pub fn existing(root: PathBuf) -> Self {
        Tree {
            root,
            libs: BTreeSet::new(),
        }
    }

    /// Copies an executable without its libraries (the tree has its own),
    /// without debug info: it would fill dom0's RAM-backed root (the test
    /// binaries carry hundreds of MB of it); symbols stay, for backtraces.
    pub fn copy_exe_only(&mut self, exe: &Path, inside_dir: &str) -> Result<()> {
        let name = exe
            .file_name()
            .context("no file name")?
            .to_string_lossy()
            .into_owned();
        let inside = format!("{}/{name}", inside_dir.trim_end_matches('/'));
        self.copy(exe, &inside)?;
        run(Command::new("strip")
            .arg("--strip-debug")
            .arg(self.path(&inside)))
    }

    pub fn path(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    pub fn write(&self, inside: &str, text: &str, exec: bool) -> Result<()> {
        let p = self.path(inside);
        if let Some(d) = p.parent() {
            mkdir(d)?;
        }
        fs::write(&p, text).with_context(|| format!("{}", p.display()))?;
        if exec {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755))?;
        }
        Ok(())
    }

    pub fn copy(&self, from: &Path, inside: &str) -> Result<()> {
        let to = self.path(inside);
        if let Some(d) = to.parent() {
            mkdir(d)?;
        }
        run(Command::new("cp").arg("-rL").arg(from).arg(&to))
    }

    /// Copies an executable and every shared library `ldd` says it needs.
    pub fn copy_exe(&mut self, exe: &Path, inside_dir: &str) -> Result<()> {
        self.copy_exe_only(exe, inside_dir)?;
        let out = Command::new("ldd").arg(exe).output().context("ldd")?;
        for lib in ldd_paths(&String::from_utf8_lossy(&out.stdout)) {
            if self.libs.insert(lib.clone()) {
                self.copy(&lib, &lib.to_string_lossy())?;
            }
        }
        Ok(())
    }

    /// Copies the shared libraries `exe` needs when the dynamic linker
    /// searches `libdir` first (a staged root's library directory), except
    /// those found in `libdir` itself: the tree has them already.
    pub fn copy_libs_beside(&mut self, exe: &Path, libdir: &Path) -> Result<()> {
        let out = Command::new("ldd")
            .arg(exe)
            .env("LD_LIBRARY_PATH", libdir)
            .output()
            .context("ldd")?;
        for lib in ldd_paths(&String::from_utf8_lossy(&out.stdout)) {
            if !lib.starts_with(libdir) && self.libs.insert(lib.clone()) {
                self.copy(&lib, &lib.to_string_lossy())?;
            }
        }
        Ok(())
    }

    /// Copies kernel modules (paths relative to `from`) to /lib/modules and
    /// returns their names without `.ko`, in the same order.
    pub fn copy_modules(&mut self, from: &Path, modules: &[&str]) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for m in modules {
            let file = Path::new(m)
                .file_name()
                .context("module name")?
                .to_string_lossy()
                .into_owned();
            self.copy(&from.join(m), &format!("/lib/modules/{file}"))?;
            names.push(file.trim_end_matches(".ko").to_owned());
        }
        Ok(names)
    }

    /// Packs the tree as a gzip'd newc cpio archive.
    pub fn pack(&self, archive: &Path) -> Result<()> {
        sh(&format!(
            "cd '{}' && find . | cpio -o -H newc --quiet | gzip -1 > '{}'",
            self.root.display(),
            archive.display()
        ))
    }
}

/// Absolute library paths in `ldd` output.
pub fn ldd_paths(ldd: &str) -> Vec<PathBuf> {
    ldd.lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = match l.split_once("=>") {
                Some((_, rhs)) => rhs.split_whitespace().next()?,
                None => l.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// Whether `archive` was built by the recipe `want`, as its stamp says.
pub fn is_cached(archive: &Path, stamp: &Path, want: &str) -> bool {
    archive.exists() && fs::read_to_string(stamp).ok().as_deref() == Some(want)
}

/// The cached base archive: busybox, the Xen toolstack and its libraries,
/// hotplug scripts and the Xen kernel modules.
pub fn base_archive(boot: &BootFiles) -> Result<PathBuf> {
    let dir = cache_dir();
    let archive = dir.join("base.cpio.gz");
    let stamp = dir.join("base.stamp");
    let want = format!("{BASE_RECIPE} {}", boot.kernel.display());
    if is_cached(&archive, &stamp, &want) {
        return Ok(archive);
    }
    step!(
        "==> building the dom0 base tree (cached in {})",
        dir.display()
    );
    let mut t = Tree::new(dir.join("base-root"))?;
    for d in SYSTEM_DIRS.iter().chain(DOM0_DIRS) {
        mkdir(&t.path(d))?;
    }
    add_dom0_userland(&mut t, boot)?;
    // libxl-save-helper: libxl runs it to save and restore domains.
    for b in [
        "xl",
        "xenstored",
        "xenconsoled",
        "xen-init-dom0",
        "libxl-save-helper",
    ] {
        t.copy_exe(&Path::new(XEN_BIN).join(b), XEN_BIN)?;
    }
    t.copy_exe(Path::new("/usr/bin/xenstore-ls"), "/usr/bin")?;
    // HVM guests: QEMU as device model, SeaBIOS, option ROMs, keymaps, hvmloader.
    t.copy_exe(Path::new(DEVICE_MODEL), "/usr/libexec")?;
    for d in HVM_FILES {
        t.copy(Path::new(d), d)?;
    }
    for s in [
        "xenstore-read",
        "xenstore-write",
        "xenstore-list",
        "xenstore-rm",
        "xenstore-exists",
    ] {
        let _ = std::os::unix::fs::symlink("xenstore-ls", t.path(&format!("usr/bin/{s}")));
    }
    // Xen's own example configs (xen-utils-common), read by the xl.cfg
    // parity test where the packages install them.
    for e in ["xlexample.hvm", "xlexample.pvlinux", "xlexample.pvhlinux"] {
        let p = Path::new("/etc/xen").join(e);
        if p.is_file() {
            t.copy(&p, &format!("/etc/xen/{e}"))?;
        }
    }
    if Path::new("/etc/xen/scripts").is_dir() {
        t.copy(Path::new("/etc/xen/scripts"), "/etc/xen/scripts")?;
    }
    t.pack(&archive)?;
    fs::write(&stamp, want)?;
    Ok(archive)
}

/// What every dom0 built from this machine's Debian has beside its Xen
/// toolstack: busybox's applets, the real tools the hotplug scripts need,
/// iptables for NAT, libgcc_s, an empty xl.conf and the Xen kernel modules.
pub fn add_dom0_userland(t: &mut Tree, boot: &BootFiles) -> Result<()> {
    t.copy(Path::new("/bin/busybox"), "/bin/busybox")?;
    let applets = Command::new("/bin/busybox").arg("--list").output()?;
    for a in String::from_utf8_lossy(&applets.stdout).lines() {
        let link = t.path(&format!("bin/{a}"));
        if !link.exists() {
            std::os::unix::fs::symlink("busybox", &link)?;
        }
    }
    // The hotplug scripts are bash, and they call options busybox lacks
    // (`ip -o addr show primary`, util-linux losetup output): the real tools
    // replace busybox's applets.
    t.copy_exe(Path::new("/bin/bash"), "/bin")?;
    for tool in [
        "/bin/ip",
        "/sbin/losetup",
        "/usr/bin/stat",
        "/usr/bin/flock",
    ] {
        let name = Path::new(tool)
            .file_name()
            .context("tool name")?
            .to_string_lossy()
            .into_owned();
        let _ = fs::remove_file(t.path(&format!("bin/{name}")));
        t.copy_exe(Path::new(tool), "/bin")?;
    }
    // glibc dlopens libgcc_s for pthread_cancel; without it `xl create` aborts.
    t.copy(
        Path::new("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
        "/lib/x86_64-linux-gnu/libgcc_s.so.1",
    )?;
    t.write("/etc/xen/xl.conf", "", false)?;
    // iptables (legacy backend: only the x_tables modules above) for
    // MASQUERADE, with the two extensions a NAT rule loads.
    t.copy_exe(Path::new("/usr/sbin/xtables-legacy-multi"), "/sbin")?;
    std::os::unix::fs::symlink("xtables-legacy-multi", t.path("sbin/iptables"))?;
    for ext in ["libxt_MASQUERADE.so", "libxt_standard.so"] {
        t.copy_exe(&Path::new(XTABLES_DIR).join(ext), XTABLES_DIR)?;
    }
    let names = t.copy_modules(&boot.modules, MODULES)?;
    t.write(MODULE_LIST, &(names.join("\n") + "\n"), false)?;
    Ok(())
}

/// A PVH guest kernel that triple-faults at its first instruction
/// (xtask/assets/triple-fault.S): one 1 MiB load segment and Xen's
/// PHYS32_ENTRY note.
pub fn triple_fault_kernel() -> Result<PathBuf> {
    assembled_kernel("triple-fault", include_str!("../assets/triple-fault.S"))
}

/// The scale bench's guest kernel (xtask/assets/idle-guest.S): loads as
/// PV and as PVH, powers off once unpaused.
pub fn idle_kernel() -> Result<PathBuf> {
    assembled_kernel("idle-guest", include_str!("../assets/idle-guest.S"))
}

/// Assembles a guest kernel of a few instructions into `<name>.elf`,
/// loaded at 1 MiB.
fn assembled_kernel(name: &str, source: &str) -> Result<PathBuf> {
    let dir = cache_dir();
    let src = dir.join(format!("{name}.S"));
    fs::write(&src, source)?;
    let out = dir.join(format!("{name}.elf"));
    run(Command::new("cc")
        .args(["-nostdlib", "-static", "-no-pie", "-Wl,-z,noseparate-code"])
        .args(["-Wl,-Ttext-segment=0x100000", "-Wl,--build-id=none", "-o"])
        .arg(&out)
        .arg(&src))?;
    Ok(out)
}

/// Builds the guest initrd: busybox and an init that prints
/// `@@GUEST-HELLO <marker>@@` and powers off, or stays up with `xlstay` on
/// its command line. Extra executables (e.g. `xen-detect`) go to /bin.
pub fn guest_initrd(extra: &[PathBuf], modules: &Path) -> Result<PathBuf> {
    let dir = cache_dir();
    let mut t = Tree::new(dir.join("guest-root"))?;
    t.copy(Path::new("/bin/busybox"), "/bin/busybox")?;
    for a in [
        "sh", "echo", "poweroff", "sleep", "cat", "mount", "grep", "ls", "dmesg", "mkdir", "lsmod",
        "sync",
    ] {
        std::os::unix::fs::symlink("busybox", t.path(&format!("bin/{a}")))?;
    }
    for d in ["proc", "sys", "dev", "tmp"] {
        mkdir(&t.path(d))?;
    }
    for x in extra {
        t.copy_exe(x, "/bin")?;
    }
    // The guest's kexec (for `xlkexec`), static: the initrd has no libc.
    let kexec = dir.join("guest-kexec.c");
    fs::write(&kexec, include_str!("../assets/guest-kexec.c"))?;
    run(Command::new("cc")
        .args(["-static", "-Os", "-Wall", "-Werror", "-o"])
        .arg(t.path("/bin/xlkexec"))
        .arg(&kexec))?;
    t.copy_modules(modules, GUEST_MODULES)?;
    t.write("/init", GUEST_INIT, true)?;
    // The kernel runs /sbin/poweroff when the toolstack asks the guest to
    // power off (`xl shutdown`); the init above is a plain shell, so power
    // off directly.
    t.write(
        "/sbin/poweroff",
        include_str!("../assets/guest-poweroff.sh"),
        true,
    )?;
    let archive = dir.join("guest.cpio.gz");
    t.pack(&archive)?;
    Ok(archive)
}

pub(crate) const GUEST_INIT: &str = include_str!("../assets/guest-init.sh");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xz_payload_is_found() {
        let mut img = vec![0u8; 100];
        img.extend([0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2]);
        assert_eq!(xz_offset(&img), Some(100));
        assert_eq!(xz_offset(b"no payload here"), None);
    }

    #[test]
    fn ldd_output_is_parsed() {
        let out = "\tlinux-vdso.so.1 (0x00007ffc)\n\
                   \tlibxenlight.so.4.17 => /lib/x86_64-linux-gnu/libxenlight.so.4.17 (0x00007f)\n\
                   \tlibnotfound.so => not found\n\
                   \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            ldd_paths(out),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libxenlight.so.4.17"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
    }
}
