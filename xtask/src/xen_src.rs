//! Builds the bindings against the headers of Xen releases Debian does not
//! ship (4.19, 4.21, 4.22), made from Xen's own release trees: the git
//! archives of the release tags in the project's shared material
//! (`../shared/xen-src/xen-X.Y.Z.tar.xz`).
//!
//! Per release, once (cached under target/xen-host/xen-src/X.Y.Z): the
//! archive is unpacked, configured without firmware, stubdoms or QEMU,
//! `make -C tools/include` links the public headers in, and libxl's
//! generated headers (`_libxl_types.h`, `_libxl_types_json.h`, which
//! `libxl.h` includes) are made from that release's IDL and copied beside
//! them. pkg-config files of our own point at that include directory with
//! the release's version, so xenlight-sys's build script, bindgen and the
//! feature probe see exactly what an installed libxl of that release gives.
//! Nothing is linked: the check is `cargo check`.

use anyhow::{bail, Context as _, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::host::run;
use crate::{cache_dir, cargo, workspace_root};

/// The releases checked from source, with no Debian package to fetch.
pub const RELEASES: &[&str] = &["4.19.6", "4.21.2", "4.22.0"];

/// Where the release archives are (`XENLIGHT_XEN_SRC` overrides).
pub fn archive_dir() -> PathBuf {
    std::env::var_os("XENLIGHT_XEN_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/xen-src"))
}

/// The releases of `releases` whose archive is at hand, and the others,
/// each reported `SKIPPED`.
pub fn at_hand<'a>(releases: &[&'a str]) -> (Vec<&'a str>, Vec<String>) {
    let (present, missing): (Vec<&str>, Vec<&str>) =
        releases.iter().partition(|r| archive(r).is_some());
    for release in &missing {
        println!(
            "SKIPPED: Xen {release}: no xen-{release}.tar.xz in {} (set XENLIGHT_XEN_SRC)",
            archive_dir().display()
        );
    }
    (present, missing.into_iter().map(str::to_owned).collect())
}

/// Unpacks a release archive into `dir`; returns its tree.
pub fn unpack(tar: &Path, dir: &Path, release: &str) -> Result<PathBuf> {
    run(Command::new("tar").arg("-xJf").arg(tar).arg("-C").arg(dir))?;
    Ok(dir.join(format!("xen-{release}")))
}

/// The archive of `release`, if it is at hand.
pub fn archive(release: &str) -> Option<PathBuf> {
    Some(archive_dir().join(format!("xen-{release}.tar.xz"))).filter(|p| p.is_file())
}

/// The options that configure a tree for its tools' headers (and, later,
/// the tools): no docs, firmware, stub domains, OCaml, Go, QEMU of its own.
pub const CONFIGURE: &[&str] = &[
    "--disable-docs",
    "--disable-stubdom",
    "--disable-qemu-traditional",
    "--disable-rombios",
    "--disable-seabios",
    "--disable-ovmf",
    "--disable-ipxe",
    "--disable-ocamltools",
    "--disable-golang",
    "--disable-pvshim",
    "--disable-xsmpolicy",
    "--disable-systemd",
    "--with-system-qemu=/usr/bin/qemu-system-i386",
];

/// The libraries xenlight-sys asks pkg-config for (its build.rs), each
/// given a `.pc` file over the release's headers.
const PC_LIBS: &[&str] = &["xenlight", "xlutil", "xentoollog", "xenstore", "xencall"];

/// The pkg-config directory for `release`'s headers, made once (again
/// when `PC_LIBS` changes: the marker names them).
pub fn pkgconfig(release: &str) -> Result<PathBuf> {
    let dir = cache_dir().join("xen-src").join(release);
    let pc = dir.join("pkgconfig");
    let done = pc.join(format!(".done {}", PC_LIBS.join(" ")));
    if done.exists() {
        return Ok(pc);
    }
    let tar = archive(release)
        .with_context(|| format!("xen-{release}.tar.xz is not in {}", archive_dir().display()))?;
    step!("==> Xen {release}'s headers from {}", tar.display());
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    let tree = unpack(&tar, &dir, release)?;
    let quiet = |cmd: &mut Command| -> Result<()> {
        let out = cmd.current_dir(&tree).output().context("configure/make")?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = err.lines().rev().take(20).collect();
            bail!(
                "{cmd:?} failed:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        Ok(())
    };
    quiet(Command::new("./configure").args(CONFIGURE))?;
    quiet(Command::new("make").args(["-s", "-C", "tools/include"]))?;
    quiet(Command::new("make").args([
        "-s",
        "-C",
        "tools/libs/light",
        "_libxl_types.h",
        "_libxl_types_json.h",
    ]))?;
    let include = tree.join("tools/include");
    for h in ["_libxl_types.h", "_libxl_types_json.h"] {
        fs::copy(tree.join("tools/libs/light").join(h), include.join(h))?;
    }
    fs::create_dir_all(&pc)?;
    for lib in PC_LIBS {
        fs::write(
            pc.join(format!("{lib}.pc")),
            format!(
                "Name: {lib}\nDescription: Xen {release}'s {lib} headers, from its release tree\n\
                 Version: {}\nCflags: -I{}\nLibs: -l{lib}\n",
                version_of(release),
                include.display()
            ),
        )?;
    }
    fs::write(done, "")?;
    Ok(pc)
}

/// The version an installed libxl of the release reports (`4.22.0` for
/// every 4.22.z: libxl's pkg-config files carry the minor release only).
fn version_of(release: &str) -> String {
    let mut parts = release.split('.');
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) => format!("{a}.{b}.0"),
        _ => release.to_owned(),
    }
}

/// `cargo xtask check-xen-src [RELEASE...]`: `cargo check` of xenlight-sys
/// and xenlight (all targets, every feature but fuzzing) against each
/// release's headers, in one target directory of their own. Returns the
/// releases skipped because their archive is not at hand.
pub fn check(releases: &[&str]) -> Result<Vec<String>> {
    let target = workspace_root().join("target/xen-src-build");
    let (present, skipped) = at_hand(releases);
    for release in present {
        let pc = pkgconfig(release)?;
        step!("==> checking xenlight-sys and xenlight against Xen {release}'s headers");
        check_against(&pc, None, &target)
            .with_context(|| format!("the build against Xen {release}'s headers"))?;
    }
    Ok(skipped)
}

/// `cargo check` of both crates (all targets, every feature but fuzzing)
/// with pkg-config pointed at `pc` (and its paths under `sysroot`, for an
/// unpacked package), in `target`.
pub fn check_against(pc: &Path, sysroot: Option<&Path>, target: &Path) -> Result<()> {
    let mut cmd = cargo::command();
    cmd.args([
        "check",
        "-p",
        "xenlight-sys",
        "-p",
        "xenlight",
        "--all-targets",
        "--features",
        "xenlight/xen-host,xenlight/serde,xenlight/tokio",
    ])
    .env("PKG_CONFIG_LIBDIR", pc)
    .env("PKG_CONFIG_PATH", pc)
    .env("CARGO_TARGET_DIR", target);
    if let Some(root) = sysroot {
        cmd.env("PKG_CONFIG_SYSROOT_DIR", root);
    }
    if !cmd.status()?.success() {
        bail!("cargo check failed");
    }
    Ok(())
}

/// The releases whose tool libraries the host tests are linked with and
/// run against (4.17 is this machine's, 4.20 is compiled against trixie's,
/// 4.22 runs in the source-built host).
pub const LINKED_RELEASES: &[&str] = &["4.19.6", "4.21.2"];

/// `cargo xtask host-tests-xen-src [RELEASE...]`: the host tests (those
/// that need no hypervisor: unit, conversion, xl.cfg and libxl JSON tests)
/// of both crates, built against each release's tool libraries as
/// `xen_build::libraries` builds them from the release tree, linked with
/// them and run with them (`LD_LIBRARY_PATH`). Returns the releases
/// skipped because their archive is not at hand.
pub fn host_tests(releases: &[&str]) -> Result<Vec<String>> {
    let (present, skipped) = at_hand(releases);
    for release in present {
        let built = crate::xen_build::libraries(release)?;
        step!("==> host tests of xenlight-sys and xenlight linked with Xen {release}'s libraries");
        let mut cmd = cargo::command();
        cmd.args([
            "test",
            "-p",
            "xenlight-sys",
            "-p",
            "xenlight",
            "--lib",
            "--tests",
        ]);
        for (k, v) in crate::host_src::build_env(&built) {
            cmd.env(k, v);
        }
        cmd.env(
            "CARGO_TARGET_DIR",
            workspace_root().join("target/xen-src-tests"),
        )
        .env("LD_LIBRARY_PATH", built.dest.join("usr/lib"));
        if !cmd.status()?.success() {
            bail!("the host tests linked with Xen {release}'s libraries failed");
        }
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_reports_its_minor_version_as_libxl_does() {
        assert_eq!(version_of("4.22.0"), "4.22.0");
        assert_eq!(version_of("4.19.6"), "4.19.0");
    }
}
