//! xl.cfg files, read as xl 4.17 reads them (tools/xl/xl_parse.c): libxlutil
//! parses the syntax and the disk, rate, PCI and RDM specs; this module maps
//! every key xl reads onto the complete libxl config ([`types::DomainConfig`]),
//! with xl's defaults, validation and quirks, so the result is the config
//! `xl -N create` prints. Keys xl ignores come back as warnings.

/// An enum value by libxl's name, or an error naming the key.
fn named<T: Copy>(
    key: &str,
    value: &str,
    from_name: impl Fn(&str) -> Option<T>,
    all: &[T],
    name: impl Fn(T) -> Option<&'static str>,
) -> Result<T> {
    from_name(value).ok_or_else(|| {
        let allowed: Vec<&str> = all.iter().filter_map(|v| name(*v)).collect();
        invalid(
            key,
            format!("{value:?} is not one of: {}", allowed.join(", ")),
        )
    })
}

/// An enum of `$ty` by libxl's name (`from_name`), or an error naming the
/// key and listing the names allowed. Defined before the submodules, which
/// use it.
macro_rules! by_name {
    ($key:expr, $value:expr, $ty:ty) => {
        named($key, $value, <$ty>::from_name, <$ty>::ALL, <$ty>::name)
    };
}

mod build;
mod cstr;
mod devices;
mod keys;
mod reader;
mod xlconf;

use std::path::Path;

use crate::config::DomainConfig;
use crate::error::{Error, Result};
use crate::types::{self, Bitmap};

pub use keys::SUPPORTED_KEYS;
pub use xlconf::XlConf;

use reader::Parsed;

pub(crate) fn invalid(field: &str, reason: String) -> Error {
    Error::InvalidConfig {
        field: field.to_owned(),
        reason,
    }
}

/// What kind of thing an [`XlCfgWarning`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum XlCfgWarningKind {
    /// A key xl does not read: xl ignores it, and so does this crate.
    UnknownKey,
    /// A value xl ignores (with a message on its stderr), e.g. a number
    /// where a list belongs, or an unrecognised vif option.
    Ignored,
    /// A deprecated spelling xl still accepts (`builder`, `altp2mhvm`,
    /// `tsc_mode = 1`, a string `bootloader_args`, ...).
    Deprecated,
    /// A report of libxlutil's parser (its warnings about value shapes).
    Parser,
}

/// Something in the file that xl accepts but warns about or ignores.
///
/// ```
/// let x = xenlight::DomainConfig::from_xl_cfg("name = 'g'\nkernel = '/k'\nfrobnicate = 1\n")?;
/// assert_eq!(x.warnings[0].key.as_deref(), Some("frobnicate"));
/// assert_eq!(x.warnings[0].kind, xenlight::XlCfgWarningKind::UnknownKey);
/// # Ok::<(), xenlight::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XlCfgWarning {
    /// The key concerned, when there is one.
    pub key: Option<String>,
    /// What kind of warning this is.
    pub kind: XlCfgWarningKind,
    /// What xl would say, in words.
    pub message: String,
}

impl std::fmt::Display for XlCfgWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(k) => write!(f, "{k}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A config read from xl.cfg text, with what xl would have warned about.
///
/// ```
/// let x = xenlight::DomainConfig::from_xl_cfg(r#"
///     name = "web"
///     type = "pvh"
///     memory = 256
///     kernel = "/boot/vmlinuz"
///     vif = [ "bridge=xenbr0,mac=00:16:3e:00:00:01,vifname=web0" ]
/// "#)?;
/// assert!(x.warnings.is_empty());
/// assert_eq!(x.config.memory_kib(), Some(256 * 1024));
/// assert_eq!(x.config.libxl.nics[0].ifname.as_deref(), Some("web0"));
/// # Ok::<(), xenlight::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct XlConfig {
    /// The configuration; [`DomainConfig::libxl`] holds all of it.
    pub config: DomainConfig,
    /// Unknown keys and ignored values, in the order xl meets them.
    pub warnings: Vec<XlCfgWarning>,
}

impl XlConfig {
    /// The keys in the file that xl does not read.
    pub fn unknown_keys(&self) -> impl Iterator<Item = &str> {
        self.warnings
            .iter()
            .filter(|w| w.kind == XlCfgWarningKind::UnknownKey)
            .filter_map(|w| w.key.as_deref())
    }
}

/// The keys xl.cfg text assigns, in order, found with libxlutil's token
/// rules (a quoted `"` or a dotted key hides nothing).
///
/// ```
/// let keys = xenlight::xl_cfg_keys("name = 'a=b' # c = d\nvcpus.max = 2; vif += [ 'x' ]\n");
/// assert_eq!(keys, ["name", "vcpus.max", "vif"]);
/// ```
pub fn xl_cfg_keys(text: &str) -> Vec<String> {
    keys::assigned_keys(text)
        .into_iter()
        .map(|a| a.key)
        .collect()
}

/// Facts about the host that some keys need, as xl asks libxl for them.
#[derive(Debug, Clone, Default)]
pub(crate) struct HostFacts {
    /// Bits in a host CPU map (`libxl_get_max_cpus`, rounded to bytes).
    pub cpu_bits: usize,
    /// The CPUs of each NUMA node (`libxl_node_to_cpumap`).
    pub node_cpus: Vec<Bitmap>,
    /// `physinfo.nr_nodes`.
    pub nr_nodes: u32,
    /// `libxl_get_online_cpus`.
    pub online_cpus: usize,
}

/// The directory xl turns `firmware = "pvgrub64"` into a kernel path in
/// (xl's build-time `XENFIRMWAREDIR`, as Debian builds it: per release).
/// A Xen built from its own tree uses `/usr/lib/xen/boot` instead, which
/// the xl.cfg reader takes on a host that has no Debian directory.
pub const XEN_FIRMWARE_DIR: &str = if cfg!(xen_4_22) {
    "/usr/lib/xen-4.22/boot"
} else if cfg!(xen_4_21) {
    "/usr/lib/xen-4.21/boot"
} else if cfg!(xen_4_20) {
    "/usr/lib/xen-4.20/boot"
} else if cfg!(xen_4_19) {
    "/usr/lib/xen-4.19/boot"
} else {
    "/usr/lib/xen-4.17/boot"
};

/// `XENFIRMWAREDIR` of a Xen built from its tree with prefix /usr.
const UPSTREAM_FIRMWARE_DIR: &str = "/usr/lib/xen/boot";

/// This host's xl's firmware directory: Debian's where Debian's layout is
/// installed (or no Xen layout is), upstream's where only that one is.
pub(crate) fn firmware_dir() -> &'static str {
    let has = |d: &str| std::path::Path::new(d).is_dir();
    if !has(XEN_FIRMWARE_DIR) && has("/usr/lib/xen") {
        UPSTREAM_FIRMWARE_DIR
    } else {
        XEN_FIRMWARE_DIR
    }
}

/// Everything one reading of a file needs.
struct Reader<'a> {
    p: &'a Parsed,
    xlconf: &'a XlConf,
    host: Option<&'a HostFacts>,
    warnings: Vec<XlCfgWarning>,
}

impl Reader<'_> {
    fn warn(&mut self, key: &str, kind: XlCfgWarningKind, message: impl Into<String>) {
        self.warnings.push(XlCfgWarning {
            key: Some(key.to_owned()),
            kind,
            message: message.into(),
        });
    }

    /// The host facts, or an error naming the key that needs them.
    fn host(&self, key: &str, value: &str) -> Result<&HostFacts> {
        self.host.ok_or_else(|| {
            invalid(
                key,
                format!(
                    "{value:?} depends on the host's CPUs and NUMA nodes: read the file with \
                     Context::xl_cfg on the Xen host"
                ),
            )
        })
    }
}

/// Reads `text` as xl does, with `xlconf` as /etc/xen/xl.conf and `host`'s
/// facts where keys need them.
pub(crate) fn read(
    text: &str,
    source: &str,
    xlconf: &XlConf,
    host: Option<&HostFacts>,
) -> Result<XlConfig> {
    if let Some(at) = text.find('\0') {
        // Named by the key whose statement holds it (C strings end there).
        let line = text[..at].matches('\n').count() + 1;
        let key = keys::assigned_keys(&text[..at])
            .into_iter()
            .rev()
            .find(|a| a.line == line)
            .map_or_else(|| "xl.cfg".to_owned(), |a| a.key);
        return Err(invalid(
            &key,
            format!("{source}:{line}: a NUL byte (C strings end there)"),
        ));
    }
    let p = Parsed::parse(text, source)?;
    let mut r = Reader {
        p: &p,
        xlconf,
        host,
        warnings: Vec::new(),
    };
    for a in keys::assigned_keys(text) {
        if SUPPORTED_KEYS.binary_search(&a.key.as_str()).is_err()
            && !r.warnings.iter().any(|w| w.key.as_deref() == Some(&a.key))
        {
            r.warn(
                &a.key,
                XlCfgWarningKind::UnknownKey,
                format!("line {}: xl does not read this key and ignores it", a.line),
            );
        }
    }
    let mut t = types::DomainConfig::default();
    build::read_config(&mut r, &mut t)?;
    let report = p.report_text();
    let mut warnings = r.warnings;
    warnings.extend(
        report
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| XlCfgWarning {
                key: None,
                kind: XlCfgWarningKind::Parser,
                message: l.trim().to_owned(),
            }),
    );
    Ok(XlConfig {
        config: DomainConfig::from_types(t)?,
        warnings,
    })
}

impl DomainConfig {
    /// Reads xl.cfg text (the format `xl create` takes) as xl does, with
    /// xl's built-in global defaults ([`XlConf::default`]): every key of
    /// xl.cfg(5) is mapped onto [`DomainConfig::libxl`], values are checked
    /// as xl checks them (an error names the key), and keys xl ignores are
    /// returned as warnings. Keys whose meaning depends on the host (CPU
    /// lists naming NUMA nodes or `all`) need [`Context::xl_cfg`](crate::Context::xl_cfg).
    ///
    /// ```
    /// let x = xenlight::DomainConfig::from_xl_cfg(r#"
    ///     name = "db"
    ///     type = "hvm"
    ///     memory = 1024
    ///     vcpus = 2
    ///     maxvcpus = 4
    ///     disk = [ "/srv/db.img,raw,xvda,rw" ]
    ///     vnc = 0
    ///     serial = "pty"
    /// "#)?;
    /// let b = &x.config.libxl.b_info;
    /// assert_eq!((b.max_vcpus, b.avail_vcpus.iter().count()), (4, 2));
    /// assert!(xenlight::DomainConfig::from_xl_cfg("name = 'x'\nkernel = '/k'\non_crash = 'boom'\n").is_err());
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn from_xl_cfg(text: &str) -> Result<XlConfig> {
        read(text, "xl.cfg", &XlConf::default(), None)
    }

    /// Reads an xl.cfg file; see [`DomainConfig::from_xl_cfg`].
    ///
    /// ```no_run
    /// let x = xenlight::DomainConfig::from_xl_cfg_file("/etc/xen/web.cfg")?;
    /// for w in &x.warnings {
    ///     eprintln!("warning: {w}");
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn from_xl_cfg_file(path: impl AsRef<Path>) -> Result<XlConfig> {
        let (text, source) = read_file(path.as_ref())?;
        read(&text, &source, &XlConf::default(), None)
    }
}

/// A file's text and its name for messages.
pub(crate) fn read_file(path: &Path) -> Result<(String, String)> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        op: format!("reading {}", path.display()),
        source,
    })?;
    Ok((text, path.display().to_string()))
}

/// For the fuzz targets: where the grammar check refuses `text` (as
/// 1-based line and column), and whether libxlutil's parser alone takes it.
#[cfg(feature = "fuzzing")]
pub(crate) fn grammar_and_libxlutil(text: &str) -> (Option<(usize, usize)>, bool) {
    (
        keys::first_syntax_error(text),
        Parsed::parse_with_libxlutil(text, "fuzz").is_ok(),
    )
}

#[cfg(test)]
mod tests;
