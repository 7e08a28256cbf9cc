//! Where am I running? A probe for programs that may run on a Xen host's
//! dom0, inside a Xen guest, or not on Xen at all. It reads only files
//! (/sys/hypervisor, /proc/xen, /proc/modules, DMI), needs no privileges and
//! no libxl, so it works in any guest.

use std::fmt;
use std::path::{Path, PathBuf};

/// Which kind of Xen domain this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum XenRole {
    /// Not running on Xen.
    NotXen,
    /// The control domain (dom0).
    Dom0,
    /// An unprivileged guest.
    DomU,
}

/// How this domain is virtualised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GuestMode {
    /// Paravirtualised.
    Pv,
    /// PVH.
    Pvh,
    /// Fully virtualised, with no Xen PV drivers loaded.
    Hvm,
    /// Fully virtualised, with Xen PV drivers (PV-on-HVM).
    HvmWithPvDrivers,
}

impl fmt::Display for GuestMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GuestMode::Pv => "pv",
            GuestMode::Pvh => "pvh",
            GuestMode::Hvm => "hvm",
            GuestMode::HvmWithPvDrivers => "hvm+pv-drivers",
        })
    }
}

impl fmt::Display for XenRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            XenRole::NotXen => "not-xen",
            XenRole::Dom0 => "dom0",
            XenRole::DomU => "domU",
        })
    }
}

/// What the probe found, with the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GuestEnvironment {
    /// dom0, domU, or not Xen.
    pub role: XenRole,
    /// The virtualisation mode, when on Xen and it could be told.
    pub mode: Option<GuestMode>,
    /// The Xen version from /sys/hypervisor, when readable.
    pub xen_version: Option<String>,
    /// The files and facts the answer rests on.
    pub evidence: Vec<String>,
}

/// Xen's PV front-end drivers: loaded in an HVM guest, they make it PV-on-HVM.
const PV_DRIVERS: &[&str] = &[
    "xen_blkfront",
    "xen_netfront",
    "xen_kbdfront",
    "xen_fbfront",
];

impl GuestEnvironment {
    /// Probes this machine.
    ///
    /// ```
    /// let env = xenlight::GuestEnvironment::detect();
    /// println!("{} {:?}", env.role, env.mode);
    /// ```
    pub fn detect() -> Self {
        Self::detect_in(Path::new("/"))
    }

    /// Probes a filesystem tree rooted at `root` (for tests and chroots).
    pub fn detect_in(root: &Path) -> Self {
        let p = |s: &str| -> PathBuf { root.join(s.trim_start_matches('/')) };
        let read = |s: &str| {
            std::fs::read_to_string(p(s))
                .ok()
                .map(|t| t.trim().to_owned())
        };
        let mut evidence = Vec::new();

        let hv_type = read("/sys/hypervisor/type");
        let dmi_xen = read("/sys/class/dmi/id/sys_vendor").is_some_and(|v| v.contains("Xen"))
            || read("/sys/class/dmi/id/product_name").is_some_and(|v| v.contains("HVM domU"));
        let on_xen = hv_type.as_deref() == Some("xen") || p("/proc/xen").is_dir() || dmi_xen;
        if let Some(t) = &hv_type {
            evidence.push(format!("/sys/hypervisor/type = {t}"));
        }
        if dmi_xen {
            evidence.push("DMI names Xen".into());
        }
        if !on_xen {
            evidence.push("no /sys/hypervisor/type, /proc/xen or Xen DMI".into());
            return GuestEnvironment {
                role: XenRole::NotXen,
                mode: None,
                xen_version: None,
                evidence,
            };
        }
        let xen_version = match (
            read("/sys/hypervisor/version/major"),
            read("/sys/hypervisor/version/minor"),
        ) {
            (Some(a), Some(b)) => Some(format!(
                "{a}.{b}{}",
                read("/sys/hypervisor/version/extra").unwrap_or_default()
            )),
            _ => None,
        };

        let caps = read("/proc/xen/capabilities");
        let uuid = read("/sys/hypervisor/uuid");
        let role = if let Some(c) = &caps {
            evidence.push(format!("/proc/xen/capabilities = {c:?}"));
            if c.contains("control_d") {
                XenRole::Dom0
            } else {
                XenRole::DomU
            }
        } else if let Some(u) = &uuid {
            // Domain-0's UUID is all zeros; guests get a real one.
            evidence.push(format!("/sys/hypervisor/uuid = {u}"));
            if u.chars().all(|c| c == '0' || c == '-') {
                XenRole::Dom0
            } else {
                XenRole::DomU
            }
        } else {
            XenRole::DomU
        };

        let modules = read("/proc/modules").unwrap_or_default();
        let pv_driver = PV_DRIVERS
            .iter()
            .find(|m| {
                modules
                    .lines()
                    .any(|l| l.split_whitespace().next() == Some(**m))
            })
            .or_else(|| p("/sys/bus/xen/devices/vbd-768").exists().then_some(&"vbd"));
        let mode = match read("/sys/hypervisor/guest_type").as_deref() {
            Some(t) => {
                evidence.push(format!("/sys/hypervisor/guest_type = {t}"));
                match t {
                    "PV" => Some(GuestMode::Pv),
                    "PVH" => Some(GuestMode::Pvh),
                    "HVM" => Some(Self::hvm_mode(pv_driver, &mut evidence)),
                    _ => None,
                }
            }
            None if dmi_xen => Some(Self::hvm_mode(pv_driver, &mut evidence)),
            None if caps.is_some() => Some(GuestMode::Pv),
            None => None,
        };
        GuestEnvironment {
            role,
            mode,
            xen_version,
            evidence,
        }
    }

    fn hvm_mode(pv_driver: Option<&&str>, evidence: &mut Vec<String>) -> GuestMode {
        match pv_driver {
            Some(m) => {
                evidence.push(format!("PV driver {m} loaded"));
                GuestMode::HvmWithPvDrivers
            }
            None => GuestMode::Hvm,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let root = std::env::temp_dir().join(format!("xenlight-probe-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (path, text) in files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        std::fs::create_dir_all(&root).unwrap();
        root
    }

    #[test]
    fn not_xen() {
        let env = GuestEnvironment::detect_in(&tree(&[]));
        assert_eq!((env.role, env.mode), (XenRole::NotXen, None));
    }

    #[test]
    fn dom0_pv() {
        let r = tree(&[
            ("sys/hypervisor/type", "xen\n"),
            ("sys/hypervisor/guest_type", "PV\n"),
            ("proc/xen/capabilities", "control_d\n"),
            ("sys/hypervisor/version/major", "4"),
            ("sys/hypervisor/version/minor", "17"),
            ("sys/hypervisor/version/extra", ".7"),
        ]);
        let env = GuestEnvironment::detect_in(&r);
        assert_eq!((env.role, env.mode), (XenRole::Dom0, Some(GuestMode::Pv)));
        assert_eq!(env.xen_version.as_deref(), Some("4.17.7"));
    }

    #[test]
    fn domu_modes() {
        let uuid = (
            "sys/hypervisor/uuid",
            "12345678-9abc-def0-1122-334455667788",
        );
        let t = |gt: &str, modules: &str| {
            GuestEnvironment::detect_in(&tree(&[
                ("sys/hypervisor/type", "xen"),
                ("sys/hypervisor/guest_type", gt),
                ("proc/modules", modules),
                uuid,
            ]))
        };
        assert_eq!(t("PV", "").role, XenRole::DomU);
        assert_eq!(t("PVH", "").mode, Some(GuestMode::Pvh));
        assert_eq!(
            t("HVM", "e1000 1 0 - Live 0x0\n").mode,
            Some(GuestMode::Hvm)
        );
        assert_eq!(
            t("HVM", "xen_blkfront 4 0 - Live 0x0\n").mode,
            Some(GuestMode::HvmWithPvDrivers)
        );
        let dom0_by_uuid = GuestEnvironment::detect_in(&tree(&[
            ("sys/hypervisor/type", "xen"),
            (
                "sys/hypervisor/uuid",
                "00000000-0000-0000-0000-000000000000",
            ),
        ]));
        assert_eq!(dom0_by_uuid.role, XenRole::Dom0);
        let hvm_dmi = GuestEnvironment::detect_in(&tree(&[("sys/class/dmi/id/sys_vendor", "Xen")]));
        assert_eq!(
            (hvm_dmi.role, hvm_dmi.mode),
            (XenRole::DomU, Some(GuestMode::Hvm))
        );
    }
}
