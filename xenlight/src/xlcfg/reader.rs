//! The parsed file: libxlutil's `XLU_Config`, read with libxlutil's own
//! getters so every value means what it means to xl (numbers through
//! `strtol`, `+=`, the last assignment winning, lists vs single values).

use std::ffi::{c_char, c_int, c_long, CString};
use std::io::{Read, Seek, SeekFrom};
use std::ptr;

use xenlight_sys as sys;

use super::invalid;
use crate::error::{Error, Result};
use crate::raw::alloc::{cstring, opt_string};

/// A value read from the file: a string (numbers are strings too) or a
/// list, possibly nested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    Str(String),
    List(Vec<Value>),
}

impl Value {
    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::List(_) => None,
        }
    }
}

/// The items of a list up to the first one that is not a string, as xl's
/// `while ((buf = xlu_cfg_get_listitem(list, i)) != NULL)` loops see them.
pub(super) fn leading_strings(items: &[Value]) -> Vec<&str> {
    items.iter().map_while(Value::as_str).collect()
}

/// What a libxlutil getter found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Got<T> {
    /// The key is not in the file (`ESRCH`).
    Absent,
    /// The key is there with a value of the wrong shape or out of range
    /// (`EINVAL`/`ERANGE`; libxlutil reported it unless told not to).
    Invalid,
    Value(T),
}

impl<T> Got<T> {
    pub(super) fn ok(self) -> Option<T> {
        match self {
            Got::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// A parsed xl.cfg with the FILE libxlutil writes its reports to.
pub(super) struct Parsed {
    cfg: *mut sys::XLU_Config,
    report: *mut libc::FILE,
}

impl Drop for Parsed {
    fn drop(&mut self) {
        // SAFETY: both were created in `parse` and are released once here.
        unsafe {
            if !self.cfg.is_null() {
                sys::xlu_cfg_destroy(self.cfg);
            }
            libc::fclose(self.report);
        }
    }
}

/// The deepest list nesting read (xl's deepest, vnuma, is 2).
const MAX_LIST_DEPTH: usize = 8;

/// A value longer than [`crate::types::untrusted::MAX_STRING`] is refused: no
/// path, command line or xenstore value (at most 4096 bytes) is that long.
fn bounded_string(key: &str, s: String) -> Result<String> {
    if s.len() > crate::types::untrusted::MAX_STRING {
        return Err(invalid(
            key,
            format!(
                "a value of {} bytes (at most {} are taken)",
                s.len(),
                crate::types::untrusted::MAX_STRING
            ),
        ));
    }
    Ok(s)
}

fn key_c(key: &str) -> Result<CString> {
    CString::new(key).map_err(|_| invalid(key, "a key cannot contain a NUL byte".into()))
}

/// The text at 1-based (line, column), as libxlutil names the token it
/// stopped at: a word, or one character.
fn near(text: &str, line: usize, column: usize) -> String {
    let Some(rest) = text.lines().nth(line - 1).and_then(|l| l.get(column - 1..)) else {
        return "end of file".into();
    };
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || "_.-/".contains(*c))
        .take(40)
        .collect();
    match (word.is_empty(), rest.chars().next()) {
        (false, _) => word,
        (true, Some(c)) => c.to_string(),
        (true, None) => "end of line".into(),
    }
}

impl Parsed {
    pub(super) fn parse(text: &str, source: &str) -> Result<Self> {
        // libxlutil's parser leaks part of a list it gives up on (42 bytes
        // for `x = [1, 2%3]`, found by fuzzing): a file its grammar refuses
        // is refused here, the same way, before libxlutil sees it.
        if let Some((line, column)) = super::keys::first_syntax_error(text) {
            return Err(Error::XlCfgSyntax {
                file: source.to_owned(),
                line,
                column,
                message: format!(
                    "config parsing error near `{}': syntax error",
                    near(text, line, column)
                ),
            });
        }
        Self::parse_with_libxlutil(text, source)
    }

    /// libxlutil's parser alone (what [`Parsed::parse`] does once the
    /// grammar check has passed).
    pub(super) fn parse_with_libxlutil(text: &str, source: &str) -> Result<Self> {
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
            return Err(Error::no_memory("xlu_cfg_init"));
        }
        let len = c_int::try_from(text.len())
            .map_err(|_| invalid("xl.cfg", "the file is larger than 2 GiB".into()))?;
        // SAFETY: cfg valid; data/len describe `text`, which libxlutil copies.
        let rc = unsafe { sys::xlu_cfg_readdata(p.cfg, text.as_ptr().cast(), len) };
        if rc != 0 {
            let report = p.report_text();
            // libxlutil reports "SOURCE:LINE: config parsing error near
            // `X': ..." and no column. A file whose column the grammar
            // check can tell was refused by it before libxlutil
            // (Parsed::parse), so what reaches here has no column: 1.
            let first = report.lines().next().unwrap_or("");
            let line = first
                .strip_prefix(source)
                .and_then(|r| r.strip_prefix(':'))
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            let column = 1;
            let message = match first.split_once(": ") {
                Some((_, m)) if line > 0 => m.to_owned(),
                _ if report.is_empty() => {
                    format!("libxlutil could not parse the file (errno {rc})")
                }
                _ => report.clone(),
            };
            return Err(Error::XlCfgSyntax {
                file: source.to_owned(),
                line,
                column,
                message,
            });
        }
        Ok(p)
    }

    /// Everything libxlutil has written to its report so far.
    pub(super) fn report_text(&self) -> String {
        // SAFETY: report is an open FILE; flush it and read its fd from
        // the start through a dup, leaving the FILE itself as it was.
        unsafe {
            libc::fflush(self.report);
            let fd = libc::dup(libc::fileno(self.report));
            if fd < 0 {
                return String::new();
            }
            let mut f = <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd);
            let mut s = String::new();
            let _ = f.seek(SeekFrom::Start(0));
            let _ = f.read_to_string(&mut s);
            s.trim().to_owned()
        }
    }

    /// `xlu_cfg_get_string`. Like all getters here, `dont_warn` is
    /// libxlutil's: false lets it report a value of the wrong shape.
    pub(super) fn string(&self, key: &str, dont_warn: bool) -> Result<Got<String>> {
        let k = key_c(key)?;
        let mut v: *const c_char = ptr::null();
        // SAFETY: cfg valid; v is an out-pointer to a string owned by cfg,
        // copied before cfg changes.
        let rc = unsafe {
            sys::xlu_cfg_get_string(self.cfg, k.as_ptr(), &mut v, c_int::from(dont_warn))
        };
        Ok(match rc {
            // SAFETY: NUL-terminated, owned by cfg, read now.
            0 => Got::Value(bounded_string(
                key,
                unsafe { opt_string(v) }.unwrap_or_default(),
            )?),
            libc::ESRCH => Got::Absent,
            _ => Got::Invalid,
        })
    }

    /// `xlu_cfg_get_bounded_long`.
    pub(super) fn bounded(
        &self,
        key: &str,
        min: c_long,
        max: c_long,
        dont_warn: bool,
    ) -> Result<Got<i64>> {
        let k = key_c(key)?;
        let mut v: c_long = 0;
        // SAFETY: cfg valid; v a valid out-pointer.
        let rc = unsafe {
            sys::xlu_cfg_get_bounded_long(
                self.cfg,
                k.as_ptr(),
                min,
                max,
                &mut v,
                c_int::from(dont_warn),
            )
        };
        Ok(match rc {
            0 => Got::Value(v),
            libc::ESRCH => Got::Absent,
            _ => Got::Invalid,
        })
    }

    /// `xlu_cfg_get_long`.
    pub(super) fn long(&self, key: &str, dont_warn: bool) -> Result<Got<i64>> {
        self.bounded(key, c_long::MIN, c_long::MAX, dont_warn)
    }

    /// `xlu_cfg_get_defbool`: sets `target` when the key holds a number.
    pub(super) fn defbool(
        &self,
        key: &str,
        target: &mut Option<bool>,
        dont_warn: bool,
    ) -> Result<bool> {
        Ok(match self.long(key, dont_warn)? {
            Got::Value(l) => {
                *target = Some(l != 0);
                true
            }
            _ => false,
        })
    }

    /// `xlu_cfg_replace_string`: sets `target` when the key holds a string.
    pub(super) fn replace_string(&self, key: &str, target: &mut Option<String>) -> Result<bool> {
        Ok(match self.string(key, false)? {
            Got::Value(s) => {
                *target = Some(s);
                true
            }
            _ => false,
        })
    }

    /// `xlu_cfg_get_list`, with every item read (nested lists included).
    pub(super) fn list(&self, key: &str, dont_warn: bool) -> Result<Got<Vec<Value>>> {
        let k = key_c(key)?;
        let mut list: *mut sys::XLU_ConfigList = ptr::null_mut();
        let mut n: c_int = 0;
        // SAFETY: cfg valid; out-pointers valid; the list is owned by cfg.
        let rc = unsafe {
            sys::xlu_cfg_get_list(
                self.cfg,
                k.as_ptr(),
                &mut list,
                &mut n,
                c_int::from(dont_warn),
            )
        };
        Ok(match rc {
            // SAFETY: a list of n values owned by cfg.
            0 => Got::Value(unsafe { self.read_list(key, list, n) }?),
            libc::ESRCH => Got::Absent,
            _ => Got::Invalid,
        })
    }

    /// `xlu_cfg_get_list_as_string_list`: the items up to the first that
    /// is not a string (libxl's string lists end at the first NULL).
    pub(super) fn string_list(&self, key: &str, dont_warn: bool) -> Result<Got<Vec<String>>> {
        Ok(match self.list(key, dont_warn)? {
            Got::Value(items) => Got::Value(
                leading_strings(&items)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            ),
            Got::Absent => Got::Absent,
            Got::Invalid => Got::Invalid,
        })
    }

    /// # Safety
    /// `list` is a list of `n` values owned by `self.cfg`.
    unsafe fn read_list(
        &self,
        key: &str,
        list: *const sys::XLU_ConfigList,
        n: c_int,
    ) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for i in 0..n {
            // SAFETY: i < n; the value is owned by cfg.
            let v = unsafe { sys::xlu_cfg_get_listitem2(list, i) };
            if v.is_null() {
                break;
            }
            // SAFETY: v is a value of this config.
            out.push(unsafe { self.read_value(key, v, 1) }?);
        }
        Ok(out)
    }

    /// # Safety
    /// `v` is a value owned by `self.cfg`, `depth` lists deep.
    unsafe fn read_value(
        &self,
        key: &str,
        v: *mut sys::XLU_ConfigValue,
        depth: usize,
    ) -> Result<Value> {
        if depth > MAX_LIST_DEPTH {
            return Err(invalid(
                key,
                format!("lists nested more than {MAX_LIST_DEPTH} deep"),
            ));
        }
        // SAFETY: per the contract.
        let ty = unsafe { sys::xlu_cfg_value_type(v) };
        if ty == sys::XLU_ConfigValueType_XLU_STRING {
            let mut s: *mut c_char = ptr::null_mut();
            // SAFETY: v is a string value; s points into cfg.
            unsafe { sys::xlu_cfg_value_get_string(self.cfg, v, &mut s, 1) };
            // SAFETY: NULL or a NUL-terminated string owned by cfg.
            let s = unsafe { opt_string(s) }.unwrap_or_default();
            Ok(Value::Str(bounded_string(key, s)?))
        } else {
            let mut l: *mut sys::XLU_ConfigList = ptr::null_mut();
            // SAFETY: v is a list value; l points into cfg.
            unsafe { sys::xlu_cfg_value_get_list(self.cfg, v, &mut l, 1) };
            if l.is_null() {
                return Ok(Value::List(Vec::new()));
            }
            // The count is not exposed: read until listitem2 says NULL.
            let mut out = Vec::new();
            for i in 0.. {
                // SAFETY: listitem2 bounds-checks i against the list.
                let item = unsafe { sys::xlu_cfg_get_listitem2(l, i) };
                if item.is_null() {
                    break;
                }
                // SAFETY: an item of this config, one list deeper.
                out.push(unsafe { self.read_value(key, item, depth + 1) }?);
            }
            Ok(Value::List(out))
        }
    }

    /// The raw config, for libxlutil's spec parsers (disk, rate, PCI, RDM),
    /// which report into the same file.
    pub(super) fn raw(&self) -> *mut sys::XLU_Config {
        self.cfg
    }
}
