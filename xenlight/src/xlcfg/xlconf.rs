//! xl's global configuration (/etc/xen/xl.conf): the defaults xl applies to
//! every domain it creates.

use std::path::Path;

use super::reader::{Got, Parsed};
use super::{invalid, read_file};
use crate::error::Result;

/// The settings of xl.conf(5) that shape a domain's config, with xl's
/// built-in values as [`Default`].
///
/// ```
/// let c = xenlight::XlConf::from_text("vif.default.bridge = \"br0\"\nclaim_mode = 0\n")?;
/// assert_eq!(c.vif_bridge.as_deref(), Some("br0"));
/// assert!(!c.claim_mode);
/// assert!(xenlight::XlConf::default().claim_mode);
/// # Ok::<(), xenlight::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XlConf {
    /// `run_hotplug_scripts` (default on): libxl runs the hotplug scripts.
    pub run_hotplug_scripts: bool,
    /// `claim_mode` (default on): memory is claimed before the build.
    pub claim_mode: bool,
    /// `vif.default.script` (or the deprecated `vifscript`).
    pub vif_script: Option<String>,
    /// `vif.default.bridge` (or the deprecated `defaultbridge`).
    pub vif_bridge: Option<String>,
    /// `vif.default.gatewaydev`.
    pub vif_gatewaydev: Option<String>,
    /// `vif.default.backend`.
    pub vif_backend: Option<String>,
    /// `blkdev_start`: the first device name libxl picks for disks.
    pub blkdev_start: Option<String>,
    /// `max_grant_frames` (`None`: libxl's default).
    pub max_grant_frames: Option<u32>,
    /// `max_maptrack_frames` (`None`: libxl's default).
    pub max_maptrack_frames: Option<u32>,
    /// `max_grant_version` (`None`: libxl's default).
    pub max_grant_version: Option<u32>,
}

impl Default for XlConf {
    fn default() -> Self {
        XlConf {
            run_hotplug_scripts: true,
            claim_mode: true,
            vif_script: None,
            vif_bridge: None,
            vif_gatewaydev: None,
            vif_backend: None,
            blkdev_start: None,
            max_grant_frames: None,
            max_maptrack_frames: None,
            max_grant_version: None,
        }
    }
}

/// Where xl reads its global configuration.
pub const XL_CONF_PATH: &str = "/etc/xen/xl.conf";

impl XlConf {
    /// Reads xl.conf text as xl does; invalid grant limits are an error
    /// (xl exits), other invalid values are ignored (xl warns).
    pub fn from_text(text: &str) -> Result<Self> {
        Self::read(text, "xl.conf")
    }

    /// Reads an xl.conf file.
    ///
    /// ```no_run
    /// let c = xenlight::XlConf::from_file("/etc/xen/xl.conf")?;
    /// println!("default bridge: {:?}", c.vif_bridge);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let (text, source) = read_file(path.as_ref())?;
        Self::read(&text, &source)
    }

    /// /etc/xen/xl.conf when it exists, else the defaults (as xl).
    pub fn system() -> Result<Self> {
        if Path::new(XL_CONF_PATH).exists() {
            Self::from_file(XL_CONF_PATH)
        } else {
            Ok(Self::default())
        }
    }

    fn read(text: &str, source: &str) -> Result<Self> {
        if text.contains('\0') {
            return Err(invalid("xl.conf", "the text contains a NUL byte".into()));
        }
        let p = Parsed::parse(text, source)?;
        let mut c = XlConf::default();
        if let Got::Value(l) = p.long("run_hotplug_scripts", false)? {
            c.run_hotplug_scripts = l != 0;
        }
        if let Got::Value(l) = p.long("claim_mode", false)? {
            c.claim_mode = l != 0;
        }
        for (keys, field) in [
            (&["vifscript", "vif.default.script"][..], &mut c.vif_script),
            (
                &["defaultbridge", "vif.default.bridge"][..],
                &mut c.vif_bridge,
            ),
            (&["vif.default.gatewaydev"][..], &mut c.vif_gatewaydev),
            (&["vif.default.backend"][..], &mut c.vif_backend),
            (&["blkdev_start"][..], &mut c.blkdev_start),
        ] {
            for k in keys {
                if let Got::Value(s) = p.string(k, false)? {
                    *field = Some(s);
                }
            }
        }
        for (k, field) in [
            ("max_grant_frames", &mut c.max_grant_frames),
            ("max_maptrack_frames", &mut c.max_maptrack_frames),
            ("max_grant_version", &mut c.max_grant_version),
        ] {
            match p.bounded(k, 0, i64::from(i32::MAX), true)? {
                Got::Value(l) => *field = Some(l as u32),
                Got::Absent => {}
                Got::Invalid => {
                    return Err(invalid(
                        k,
                        format!("xl.conf's {k} must be a number from 0 to {}", i32::MAX),
                    ))
                }
            }
        }
        Ok(c)
    }
}
