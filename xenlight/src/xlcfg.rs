//! xl.cfg files: libxlutil's parser reads the syntax (and disk specs); the
//! mapping of keys to a [`DomainConfig`] follows xl's.

use std::ffi::{c_char, c_long, CString};
use std::io::Read;
use std::path::Path;
use std::ptr;

use xenlight_sys as sys;

use crate::config::{Disk, DomainConfig, Nic};
use crate::convert::ToLibxl;
use crate::enums::{Action, DomainType};
use crate::error::{Error, Result};
use crate::ids::Uuid;
use crate::raw::alloc::{cstring, opt_string};
use crate::raw::Owned;

/// The xl.cfg keys this crate maps.
pub const SUPPORTED_KEYS: &[&str] = &[
    "name",
    "type",
    "builder",
    "memory",
    "maxmem",
    "vcpus",
    "uuid",
    "kernel",
    "ramdisk",
    "extra",
    "cmdline",
    "root",
    "bootloader",
    "disk",
    "vif",
    "on_poweroff",
    "on_reboot",
    "on_crash",
];

fn invalid(field: &str, reason: String) -> Error {
    Error::InvalidConfig {
        field: field.to_owned(),
        reason,
    }
}

/// The top-level keys assigned in xl.cfg text (`key = value` statements),
/// skipping comments, strings and lists.
pub(crate) fn assigned_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut depth = 0usize;
    let mut at_start = true;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '#' => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                at_start = depth == 0;
            }
            '"' | '\'' => {
                for (_, d) in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
                at_start = false;
            }
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '\n' | ';' => at_start = depth == 0,
            c if c.is_whitespace() => {}
            c if at_start && (c.is_ascii_alphabetic() || c == '_') => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_ascii_alphanumeric() || d == '_' {
                        end = j + d.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                keys.push(text[i..end].to_owned());
                at_start = false;
            }
            _ => at_start = false,
        }
    }
    keys
}

/// A parsed xl.cfg (libxlutil's `XLU_Config`) with its error report file.
struct Parsed {
    cfg: *mut sys::XLU_Config,
    report: *mut libc::FILE,
}

impl Drop for Parsed {
    fn drop(&mut self) {
        // SAFETY: both were created in `parse` and are released once.
        unsafe {
            if !self.cfg.is_null() {
                sys::xlu_cfg_destroy(self.cfg);
            }
            libc::fclose(self.report);
        }
    }
}

impl Parsed {
    fn parse(text: &str, source: &str) -> Result<Self> {
        // SAFETY: tmpfile has no preconditions; checked for NULL.
        let report = unsafe { libc::tmpfile() };
        if report.is_null() {
            return Err(Error::Io {
                op: "tmpfile for libxlutil's report".into(),
                source: std::io::Error::last_os_error(),
            });
        }
        let mut p = Parsed {
            cfg: ptr::null_mut(),
            report,
        };
        let name = cstring("config source name", source)?;
        // SAFETY: report is an open FILE; name is NUL-terminated and copied.
        p.cfg = unsafe { sys::xlu_cfg_init(report.cast(), name.as_ptr()) };
        if p.cfg.is_null() {
            return Err(invalid(
                "xl.cfg",
                "libxlutil could not allocate a config".into(),
            ));
        }
        let len = i32::try_from(text.len())
            .map_err(|_| invalid("xl.cfg", "the file is too large".into()))?;
        // SAFETY: cfg valid; data/len describe `text`, which libxlutil copies.
        let rc = unsafe { sys::xlu_cfg_readdata(p.cfg, text.as_ptr().cast(), len) };
        if rc != 0 {
            return Err(invalid("syntax", p.report_text()));
        }
        Ok(p)
    }

    /// What libxlutil wrote to its report file.
    fn report_text(&self) -> String {
        // SAFETY: report is an open FILE; fflush/rewind then read its fd.
        unsafe {
            libc::fflush(self.report);
            libc::rewind(self.report);
            let fd = libc::dup(libc::fileno(self.report));
            if fd < 0 {
                return String::new();
            }
            let mut f = <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd);
            let mut s = String::new();
            let _ = std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0));
            let _ = f.read_to_string(&mut s);
            s.trim().to_owned()
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        let k = CString::new(key).map_err(|_| invalid(key, "bad key".into()))?;
        let mut v: *const c_char = ptr::null();
        // SAFETY: cfg valid; v a valid out-pointer to a string owned by cfg.
        let rc = unsafe { sys::xlu_cfg_get_string(self.cfg, k.as_ptr(), &mut v, 1) };
        match rc {
            0 => Ok(unsafe { opt_string(v) }), // SAFETY: owned by cfg, read now.
            libc::ESRCH => Ok(None),
            _ => Err(invalid(
                key,
                format!("expected a string value ({})", self.report_text()),
            )),
        }
    }

    fn long(&self, key: &str) -> Result<Option<i64>> {
        let k = CString::new(key).map_err(|_| invalid(key, "bad key".into()))?;
        let mut v: c_long = 0;
        // SAFETY: cfg valid; v a valid out-pointer.
        let rc = unsafe { sys::xlu_cfg_get_long(self.cfg, k.as_ptr(), &mut v, 1) };
        match rc {
            0 => Ok(Some(v)),
            libc::ESRCH => Ok(None),
            _ => Err(invalid(key, "expected a number".into())),
        }
    }

    fn list(&self, key: &str) -> Result<Vec<String>> {
        let k = CString::new(key).map_err(|_| invalid(key, "bad key".into()))?;
        let mut list: *mut sys::XLU_ConfigList = ptr::null_mut();
        let mut n = 0;
        // SAFETY: cfg valid; out-pointers valid; the list is owned by cfg.
        let rc = unsafe { sys::xlu_cfg_get_list(self.cfg, k.as_ptr(), &mut list, &mut n, 1) };
        match rc {
            0 => Ok((0..n)
                // SAFETY: i < n entries of a list owned by cfg.
                .filter_map(|i| unsafe { opt_string(sys::xlu_cfg_get_listitem(list, i)) })
                .collect()),
            libc::ESRCH => Ok(Vec::new()),
            _ => Err(invalid(key, "expected a list [ '...', ... ]".into())),
        }
    }

    fn disk(&self, spec: &str) -> Result<Disk> {
        let c = cstring("disk spec", spec)?;
        let specs = [c.as_ptr()];
        let mut d = Owned::<sys::libxl_device_disk>::new();
        // SAFETY: cfg valid; one spec string; d initialised and owned.
        let rc = unsafe { sys::xlu_disk_parse(self.cfg, 1, specs.as_ptr(), d.as_mut_ptr()) };
        if rc != 0 {
            return Err(invalid("disk", format!("{spec:?}: {}", self.report_text())));
        }
        // SAFETY: initialised, and filled by libxlutil.
        let disk = unsafe { Disk::from_raw(&d) }?;
        if disk.vdev.is_empty() {
            return Err(invalid("disk", format!("{spec:?} has no vdev")));
        }
        Ok(disk)
    }
}

fn vif(spec: &str) -> Result<Nic> {
    let mut nic = Nic::default();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| invalid("vif", format!("{part:?} in {spec:?} is not key=value")))?;
        let v = v.trim().to_owned();
        match k.trim() {
            "bridge" => nic.bridge = Some(v),
            "mac" => {
                nic.mac =
                    Some(v.parse().map_err(|e: crate::ids::ParseMacError| {
                        invalid("vif.mac", e.to_string())
                    })?)
            }
            "model" => nic.model = Some(v),
            "script" => nic.script = Some(v),
            "ip" => nic.ip = Some(v),
            "gatewaydev" => nic.gatewaydev = Some(v),
            other => {
                return Err(invalid(
                    &format!("vif.{other}"),
                    format!("vif key {other:?} is not supported"),
                ))
            }
        }
    }
    Ok(nic)
}

fn action(p: &Parsed, key: &str, default: Action) -> Result<Action> {
    match p.string(key)? {
        None => Ok(default),
        Some(s) => Action::from_xl(&s).ok_or_else(|| invalid(key, format!("unknown action {s:?}"))),
    }
}

/// A memory key in MiB, as KiB. Checked: a value whose KiB do not fit
/// libxl's 64-bit field is an error naming the key, never an overflow.
fn mib(p: &Parsed, key: &str) -> Result<Option<u64>> {
    match p.long(key)? {
        None => Ok(None),
        Some(v) => u64::try_from(v)
            .ok()
            .filter(|v| *v > 0)
            .and_then(|v| v.checked_mul(1024))
            .filter(|kib| *kib < u64::MAX)
            .map(Some)
            .ok_or_else(|| {
                invalid(
                    key,
                    format!(
                        "{v} MiB is not a valid amount of memory (1 to {} MiB)",
                        u64::MAX / 1024 - 1
                    ),
                )
            }),
    }
}

impl DomainConfig {
    /// Reads xl.cfg text (the format `xl create` takes) with libxlutil's
    /// parser. Keys outside [`SUPPORTED_KEYS`](crate::SUPPORTED_KEYS) are
    /// an [`Error::InvalidConfig`] naming the key, never ignored silently.
    /// Memory defaults to 128 MiB and the type to PV when not given.
    ///
    /// ```
    /// let cfg = xenlight::DomainConfig::from_xl_cfg(r#"
    ///     name = "web"
    ///     type = "pvh"
    ///     memory = 256
    ///     kernel = "/boot/vmlinuz"
    ///     extra = "console=hvc0"
    ///     disk = [ "/srv/web.img,raw,xvda,rw" ]
    ///     vif = [ "bridge=xenbr0,mac=00:16:3e:00:00:01" ]
    /// "#)?;
    /// assert_eq!(cfg.memory_kib, 256 * 1024);
    /// assert_eq!(cfg.disks[0].vdev, "xvda");
    /// assert!(xenlight::DomainConfig::from_xl_cfg("name = \"x\"\nkernel = \"/k\"\ncpus = \"0\"\n").is_err());
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn from_xl_cfg(text: &str) -> Result<Self> {
        Self::from_xl_cfg_named(text, "xl.cfg")
    }

    /// Reads an xl.cfg file; see [`DomainConfig::from_xl_cfg`].
    pub fn from_xl_cfg_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            op: format!("reading {}", path.display()),
            source,
        })?;
        Self::from_xl_cfg_named(&text, &path.display().to_string())
    }

    fn from_xl_cfg_named(text: &str, source: &str) -> Result<Self> {
        if text.contains('\0') {
            return Err(invalid("xl.cfg", "the text contains a NUL byte".into()));
        }
        if let Some(k) = assigned_keys(text)
            .into_iter()
            .find(|k| !SUPPORTED_KEYS.contains(&k.as_str()))
        {
            return Err(invalid(
                &k,
                format!(
                    "xl.cfg key {k:?} is not supported by xenlight (supported: {})",
                    SUPPORTED_KEYS.join(", ")
                ),
            ));
        }
        let p = Parsed::parse(text, source)?;
        let name = p
            .string("name")?
            .ok_or_else(|| invalid("name", "the config has no name".into()))?;
        let domain_type = match (
            p.string("type")?.as_deref(),
            p.string("builder")?.as_deref(),
        ) {
            (Some("pv"), _) | (None, None | Some("generic")) => DomainType::Pv,
            (Some("pvh"), _) => DomainType::Pvh,
            (Some("hvm"), _) | (None, Some("hvm")) => DomainType::Hvm,
            (Some(t), _) => {
                return Err(invalid(
                    "type",
                    format!("unknown type {t:?} (pv, pvh or hvm)"),
                ))
            }
            (None, Some(b)) => return Err(invalid("builder", format!("unknown builder {b:?}"))),
        };
        let mut cfg = DomainConfig::new(name, domain_type);
        if let Some(m) = mib(&p, "memory")? {
            cfg.memory_kib = m;
        }
        cfg.maxmem_kib = mib(&p, "maxmem")?;
        if let Some(v) = p.long("vcpus")? {
            cfg.vcpus = u32::try_from(v)
                .map_err(|_| invalid("vcpus", format!("{v} is not a vCPU count")))?;
        }
        if let Some(u) = p.string("uuid")? {
            cfg.uuid = Some(
                u.parse::<Uuid>()
                    .map_err(|e| invalid("uuid", e.to_string()))?,
            );
        }
        cfg.kernel = p.string("kernel")?;
        cfg.ramdisk = p.string("ramdisk")?;
        cfg.bootloader = p.string("bootloader")?;
        // As xl: `cmdline` wins; otherwise "root=ROOT EXTRA".
        cfg.cmdline = match p.string("cmdline")? {
            Some(c) => Some(c),
            None => {
                let root = p.string("root")?.map(|r| format!("root={r}"));
                let parts: Vec<String> = root.into_iter().chain(p.string("extra")?).collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            }
        };
        for spec in p.list("disk")? {
            cfg.disks.push(p.disk(&spec)?);
        }
        for spec in p.list("vif")? {
            cfg.nics.push(vif(&spec)?);
        }
        cfg.serial = p.string("serial")?;
        // xenlight's HVM guests are headless: accept only the settings that
        // say so, and name the key otherwise.
        for (key, headless) in [("vnc", 0), ("sdl", 0), ("nographic", 1)] {
            if let Some(v) = p.long(key)? {
                if v != headless {
                    return Err(invalid(
                        key,
                        format!(
                            "{key} = {v} is not supported: HVM guests are headless (serial only)"
                        ),
                    ));
                }
            }
        }
        if let Some(v) = p.string("vga")? {
            if v != "none" {
                return Err(invalid(
                    "vga",
                    format!("vga = {v:?} is not supported: only \"none\""),
                ));
            }
        }
        cfg.on_poweroff = action(&p, "on_poweroff", Action::Destroy)?;
        cfg.on_reboot = action(&p, "on_reboot", Action::Restart)?;
        cfg.on_crash = action(&p, "on_crash", Action::Destroy)?;
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_outside_strings_lists_and_comments() {
        let text = "# name = \"no\"\nname = \"a=b\"\ndisk = [ 'x=y',\n  'vdev=xvda' ]\nmemory=1; vcpus = 2\n";
        assert_eq!(assigned_keys(text), ["name", "disk", "memory", "vcpus"]);
    }

    #[test]
    fn full_config_maps_like_xl() {
        let cfg = DomainConfig::from_xl_cfg(
            "name = \"g\"\ntype = \"pv\"\nkernel = \"/k\"\nramdisk = \"/r\"\nroot = \"/dev/xvda1\"\nextra = \"console=hvc0\"\n\
             memory = 64\nmaxmem = 128\nvcpus = 2\nuuid = \"12345678-9abc-def0-1122-334455667788\"\n\
             disk = [ 'format=raw, vdev=xvdb, access=ro, target=/img' ]\nvif = [ 'bridge=xenbr0,script=vif-bridge' ]\n\
             on_crash = \"preserve\"\n",
        )
        .unwrap();
        assert_eq!(cfg.cmdline.as_deref(), Some("root=/dev/xvda1 console=hvc0"));
        assert_eq!(
            (cfg.memory_kib, cfg.maxmem_kib, cfg.vcpus),
            (65536, Some(131072), 2)
        );
        assert_eq!(cfg.disks, vec![Disk::new("/img", "xvdb").read_only(true)]);
        assert_eq!(cfg.nics[0].script.as_deref(), Some("vif-bridge"));
        assert_eq!(cfg.on_crash, Action::Preserve);
        assert_eq!(
            cfg.uuid.unwrap().to_string(),
            "12345678-9abc-def0-1122-334455667788"
        );
    }

    #[test]
    fn errors_name_the_key() {
        let field = |t: &str| match DomainConfig::from_xl_cfg(t) {
            Err(Error::InvalidConfig { field, reason }) => (field, reason),
            other => panic!("{other:?}"),
        };
        assert_eq!(field("name=\"x\"\nkernel=\"/k\"\ncpus=\"1\"\n").0, "cpus");
        assert_eq!(field("name=\"x\"\nkernel=\"/k\"\ntype=\"zz\"\n").0, "type");
        assert_eq!(
            field("name=\"x\"\nkernel=\"/k\"\non_crash=\"boom\"\n").0,
            "on_crash"
        );
        assert_eq!(
            field("name=\"x\"\nkernel=\"/k\"\nvif=['rate=10Mb/s']\n").0,
            "vif.rate"
        );
        assert_eq!(field("kernel=\"/k\"\n").0, "name");
        // Review defect 4: this used to overflow (a panic in debug builds).
        let (f, reason) = field("name=\"x\"\nkernel=\"/k\"\nmemory = 9223372036854775807\n");
        assert_eq!(f, "memory");
        assert!(reason.contains("not a valid amount"), "{reason}");
        assert_eq!(field("name=\"x\"\nkernel=\"/k\"\nmaxmem = 0\n").0, "maxmem");
        let (f, reason) = field("name = = \"x\"\n");
        assert_eq!(f, "syntax");
        assert!(!reason.is_empty());
        assert_eq!(
            field("name=\"x\"\nkernel=\"/k\"\ndisk=['nonsense,,,,,,,']\n").0,
            "disk"
        );
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{1,6}",
            "\"[ -~]{0,20}\"",
            "'[ -~]{0,20}'",
            proptest::collection::vec("\"[ -~]{0,12}\"", 0..4)
                .prop_map(|v| format!("[ {} ]", v.join(", "))),
            "[ -~]{0,10}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Arbitrary bytes-as-text: an error or a config, never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = DomainConfig::from_xl_cfg(&text);
        }

        /// Plausible xl.cfg statements with arbitrary keys and values.
        #[test]
        fn arbitrary_statements_never_panic(
            stmts in proptest::collection::vec(
                (prop_oneof![
                    proptest::sample::select(SUPPORTED_KEYS.to_vec()).prop_map(str::to_owned),
                    "[a-z_]{1,8}",
                ], value()),
                0..8,
            )
        ) {
            let text: String = stmts.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
            if let Ok(cfg) = DomainConfig::from_xl_cfg(&text) {
                // Whatever parses must also convert.
                prop_assert!(cfg.validate().is_ok());
                prop_assert!(cfg.to_raw().is_ok());
            }
        }
    }
}
