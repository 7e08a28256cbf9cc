//! A Xen release built from its release tree (`../shared/xen-src`): the
//! hypervisor, configured with what Debian's build leaves out, and the
//! toolstack a dom0 needs (the tool libraries, xl, the C xenstored,
//! xenconsoled, xen-init-dom0, the xenstore clients, xen-9pfsd, the hotplug
//! scripts).
//! No QEMU device model and no firmware: HVM guests cannot start there.
//!
//! The build is cached outside the clone (`XENLIGHT_BUILD_CACHE`, else
//! `$XDG_CACHE_HOME/xenlight`, else `~/.cache/xenlight`) in a directory
//! keyed by the archive's SHA-256 and by this recipe, so a second run and
//! a second clone reuse it. Measured on this machine kind (2 cores): about
//! 2 minutes cold (xen 78 s, tools 44 s beside it), nothing when cached.

use anyhow::{bail, Context as _, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The release the source-built host runs.
pub const RELEASE: &str = "4.22.0";

/// The release before it, built the same way: the sender of two-hosts'
/// migration across releases.
pub const PREVIOUS: &str = "4.21.2";

/// Hypervisor options merged into `defconfig` (`olddefconfig` resolves
/// the rest): shadow paging (PV guests' live migration and Remus need its
/// log-dirty mode), XSM with FLASK and its built-in policy (checkpolicy is
/// installed by setup), and the RTDS and ARINC653 schedulers, which Xen
/// offers only with UNSUPPORTED.
const KCONFIG: &str = "\
CONFIG_EXPERT=y
CONFIG_UNSUPPORTED=y
CONFIG_SHADOW_PAGING=y
CONFIG_XSM=y
CONFIG_XSM_FLASK=y
CONFIG_XSM_FLASK_POLICY=y
CONFIG_SCHED_RTDS=y
CONFIG_SCHED_ARINC653=y
";

/// What the host's features are, as the tests read them
/// (`XENLIGHT_HOST_FEATURES` in dom0): what [`KCONFIG`] turns on.
pub const FEATURES: &str = "flask rtds arinc653 shadow";

/// The tool directories built and installed, in build order
/// (`tools/include` first: without it the libraries compile against the
/// machine's own, older, public headers in /usr/include/xen).
const TOOLS: &[&str] = &[
    "include",
    "libs",
    "xl",
    "xenstored",
    "console",
    "helpers",
    "xs-clients",
    // xen-9pfsd: the 9pfs backend libxl starts for a guest's share.
    "9pfsd",
    // Xen's example configs (/etc/xen/xlexample.*), which the xl.cfg
    // parity test reads; its xl.conf is replaced by dom0's empty one.
    "examples",
    // hotplugpath.sh, which every hotplug script sources.
    "hotplug/common",
    "hotplug/Linux",
];

/// Bump when the steps below change what is built.
const RECIPE: &str = "src-v1";

/// A finished build.
#[derive(Debug, Clone)]
pub struct SourceXen {
    pub release: String,
    /// The hypervisor as the ELF QEMU's multiboot loader takes (`xen/xen`).
    pub xen: PathBuf,
    /// The tools installed with `DESTDIR` (prefix /usr): the dom0 root's
    /// Xen files, and the sysroot the tests are built against.
    pub dest: PathBuf,
    /// The FLASK policy the hypervisor has built in, as a file dom0 can
    /// load (`xl loadpolicy`).
    pub policy: PathBuf,
}

/// Where builds are cached, outside the clone.
pub fn build_cache() -> PathBuf {
    if let Some(d) = std::env::var_os("XENLIGHT_BUILD_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("xenlight");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/xenlight")
}

/// The configure options: those of the header check, with prefix /usr.
fn configure_args() -> Vec<&'static str> {
    let mut a = vec!["--prefix=/usr"];
    a.extend(crate::xen_src::CONFIGURE);
    a
}

/// A short fingerprint of the recipe (options, tool list, Kconfig).
fn recipe_key() -> String {
    fingerprint(&format!(
        "{RECIPE}\n{}\n{}\n{KCONFIG}",
        configure_args().join(" "),
        TOOLS.join(" ")
    ))
}

/// FNV-1a of `text` in hex: stable across Rust releases, unlike
/// `DefaultHasher`, so a cache key outlives a toolchain update.
fn fingerprint(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn sha256(path: &Path) -> Result<String> {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .context("sha256sum")?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.split_whitespace().next() {
        Some(h) if out.status.success() && h.len() == 64 => Ok(h.to_owned()),
        _ => bail!("sha256sum {} failed", path.display()),
    }
}

/// Builds `release`'s hypervisor and toolstack once (or finds them in the
/// cache).
pub fn build(release: &str) -> Result<SourceXen> {
    build_in(release, true)
}

/// Builds only `release`'s tool libraries and their headers (`include`,
/// `libs`: what the host tests link), once. The returned build has no
/// hypervisor or policy.
pub fn libraries(release: &str) -> Result<SourceXen> {
    build_in(release, false)
}

/// The tool directories of a libraries-only build.
const LIBRARIES: &[&str] = &["include", "libs"];

fn build_in(release: &str, hypervisor: bool) -> Result<SourceXen> {
    let tools = if hypervisor { TOOLS } else { LIBRARIES };
    let tar = crate::xen_src::archive(release).with_context(|| {
        format!(
            "xen-{release}.tar.xz is not in {} (set XENLIGHT_XEN_SRC)",
            crate::xen_src::archive_dir().display()
        )
    })?;
    let key = format!("{}-{}", &sha256(&tar)?[..16], recipe_key());
    let kind = if hypervisor { "" } else { "libs-" };
    let dir = build_cache().join(format!("xen-{release}-{kind}{key}"));
    let built = SourceXen {
        release: release.to_owned(),
        xen: dir.join("xen.elf"),
        dest: dir.join("dest"),
        policy: dir.join("xenpolicy"),
    };
    let stamp = dir.join("done");
    if stamp.exists() {
        step!(
            "==> Xen {release} built from source: cached in {}",
            dir.display()
        );
        return Ok(built);
    }
    crate::setup::install()?;
    step!(
        "==> building Xen {release} ({}) from {} in {}",
        if hypervisor {
            format!("hypervisor with {FEATURES}; toolstack")
        } else {
            "tool libraries".to_owned()
        },
        tar.display(),
        dir.display()
    );
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    let log = dir.join("build.log");
    let started = Instant::now();
    let tree = crate::xen_src::unpack(&tar, &dir, release)?;
    let jobs = format!(
        "-j{}",
        std::thread::available_parallelism().map_or(2, |n| n.get())
    );
    let logged = |args: &[&str], what: &str| -> Result<()> {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let st = Command::new(args[0])
            .args(&args[1..])
            .current_dir(&tree)
            .stdout(out.try_clone()?)
            .stderr(out)
            .status()
            .with_context(|| what.to_owned())?;
        if !st.success() {
            let text = fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(25).collect();
            bail!(
                "{what} failed ({st}); the end of {}:\n{}",
                log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        Ok(())
    };
    let mut configure = vec!["./configure"];
    configure.extend(configure_args());
    logged(&configure, "configure")?;
    if hypervisor {
        logged(&["make", "-C", "xen", "defconfig"], "make defconfig")?;
        let config = tree.join("xen/.config");
        let mut text = fs::read_to_string(&config)?;
        text.push_str(KCONFIG);
        fs::write(&config, text)?;
        logged(&["make", "-C", "xen", "olddefconfig"], "make olddefconfig")?;
        check_kconfig(&fs::read_to_string(&config)?)?;
        logged(&["make", &jobs, "xen"], "building the hypervisor")?;
    }
    let t_xen = started.elapsed().as_secs();
    for d in tools {
        let sub = format!("tools/{d}");
        logged(&["make", &jobs, "-C", &sub], &format!("building {sub}"))?;
    }
    // Xen's install rules expect the pkg-config directory to exist: without
    // it the first .pc installed becomes a file of that name.
    fs::create_dir_all(built.dest.join("usr/lib/pkgconfig"))?;
    let destdir = format!("DESTDIR={}", built.dest.display());
    for d in tools {
        let sub = format!("tools/{d}");
        logged(
            &["make", "-C", &sub, "install", &destdir],
            &format!("installing {sub}"),
        )?;
    }
    if hypervisor {
        fs::copy(tree.join("xen/xen"), &built.xen)?;
        fs::copy(tree.join("xen/xsm/flask/policy.bin"), &built.policy)?;
    }
    // The tree is about 1 GB once built; the results above are what is kept.
    fs::remove_dir_all(&tree)?;
    let secs = started.elapsed().as_secs();
    fs::write(
        &stamp,
        format!(
            "built in {secs} s (hypervisor {t_xen} s, toolstack {} s)\n",
            secs - t_xen
        ),
    )?;
    step!("==> Xen {release} built in {secs} s (hypervisor {t_xen} s)");
    Ok(built)
}

/// Fails unless `olddefconfig` kept every option of [`KCONFIG`] (an option
/// whose dependencies are not met is silently dropped).
fn check_kconfig(config: &str) -> Result<()> {
    let missing: Vec<&str> = KCONFIG
        .lines()
        .filter(|want| !config.lines().any(|l| l == *want))
        .collect();
    if !missing.is_empty() {
        bail!(
            "the hypervisor's .config lacks {} after olddefconfig",
            missing.join(", ")
        );
    }
    Ok(())
}

/// `cargo xtask build-xen [RELEASE]`.
pub fn build_command(release: Option<&str>) -> Result<()> {
    let b = build(release.unwrap_or(RELEASE))?;
    println!("hypervisor: {}", b.xen.display());
    println!("toolstack:  {}", b.dest.display());
    println!("policy:     {}", b.policy.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kconfig_option_dropped_by_olddefconfig_is_an_error() {
        assert!(check_kconfig(KCONFIG).is_ok());
        let dropped = KCONFIG.replace("CONFIG_SCHED_RTDS=y\n", "# CONFIG_SCHED_RTDS is not set\n");
        let e = check_kconfig(&dropped).unwrap_err().to_string();
        assert!(e.contains("CONFIG_SCHED_RTDS=y"), "{e}");
    }

    #[test]
    fn the_cache_key_is_fnv1a_so_it_outlives_a_toolchain_update() {
        assert_eq!(fingerprint(""), "cbf29ce484222325");
        assert_eq!(fingerprint("a"), "af63dc4c8601ec8c");
        assert_ne!(recipe_key(), fingerprint(RECIPE));
    }
}
