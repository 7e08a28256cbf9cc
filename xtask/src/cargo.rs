//! Runs cargo and reads the executables it built from its JSON messages.

use anyhow::{bail, Context as _, Result};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A `cargo` command using the same cargo that runs this xtask.
pub fn command() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(crate::workspace_root());
    cmd
}

/// One executable cargo built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The target's name (test file or example name).
    pub name: String,
    /// `test`, `example`, `bin`, ...
    pub kind: String,
    pub path: PathBuf,
}

impl Artifact {
    /// The executable's file name (what it is called once copied into a
    /// dom0 tree).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The environment that builds the tests against another root's libxl
/// instead of this machine's: pkg-config reads only `pkg_config_dirs`
/// (`:`-separated, in `sysroot`), cargo builds in `target/<target_dir>`
/// (its own, so this machine's build is not rebuilt), and `rustflags`
/// tell the linker where that root's libraries are.
pub fn foreign_libxl_env(
    pkg_config_dirs: String,
    sysroot: &std::path::Path,
    target_dir: &str,
    rustflags: String,
) -> Vec<(String, String)> {
    vec![
        ("PKG_CONFIG_LIBDIR".into(), pkg_config_dirs),
        ("PKG_CONFIG_PATH".into(), String::new()),
        (
            "PKG_CONFIG_SYSROOT_DIR".into(),
            sysroot.display().to_string(),
        ),
        (
            "CARGO_TARGET_DIR".into(),
            crate::workspace_root()
                .join("target")
                .join(target_dir)
                .display()
                .to_string(),
        ),
        ("RUSTFLAGS".into(), rustflags),
    ]
}

/// Runs `cargo <args> --message-format=json` and returns the executables.
pub fn build_executables(args: &[&str]) -> Result<Vec<Artifact>> {
    build_executables_env(args, &[])
}

/// [`build_executables`] with extra environment variables.
pub fn build_executables_env(args: &[&str], env: &[(String, String)]) -> Result<Vec<Artifact>> {
    step!("==> cargo {}", args.join(" "));
    let out = command()
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("--message-format=json-render-diagnostics")
        .stderr(Stdio::inherit())
        .output()
        .context("cargo")?;
    if !out.status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(parse_artifacts(&String::from_utf8_lossy(&out.stdout)))
}

/// Picks `compiler-artifact` messages that carry an executable.
pub fn parse_artifacts(json_lines: &str) -> Vec<Artifact> {
    let mut found = Vec::new();
    for line in json_lines.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(exe) = v["executable"].as_str() else {
            continue;
        };
        let target = &v["target"];
        let kind = target["kind"][0].as_str().unwrap_or("bin").to_owned();
        let name = target["name"].as_str().unwrap_or("unnamed").to_owned();
        // The library's own unit tests are named after the crate.
        let name = if kind == "lib" {
            format!("{name}-lib")
        } else {
            name
        };
        found.push(Artifact {
            name,
            kind,
            path: PathBuf::from(exe),
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_only_executables() {
        let lines = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"xenlight"},"executable":"/t/deps/xenlight-1"}
{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"libc"},"executable":null}
{"reason":"compiler-artifact","target":{"kind":["test"],"name":"domains"},"executable":"/t/deps/domains-2"}
{"reason":"build-finished","success":true}
not json"#;
        let a = parse_artifacts(lines);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].name, "xenlight-lib");
        assert_eq!(a[1].name, "domains");
        assert_eq!(a[1].kind, "test");
        assert_eq!(a[1].path, PathBuf::from("/t/deps/domains-2"));
    }
}
