//! Untrusted libxl JSON, parsed and bounded in Rust before libxl sees it.
//!
//! libxl's JSON reader trusts its input, and some inputs kill the process:
//! two arms of one keyed union (`"type.pv"` and `"type.hvm"`) hit the
//! assert in `libxl_<type>_init_<key>` (gentypes.py), and a bitmap is sized
//! from its last index (`libxl__bitmap_parse_json`), so `[2147483647]`
//! overflows, the allocation fails and libxl calls `_exit`. JSON from a
//! migration peer, a save file or a caller is therefore read here first:
//! escapes decoded (so an arm spelt `"type\u002ehvm"` is seen for what
//! yajl will make of it), nesting, strings, arrays and bitmap indices
//! bounded, duplicate keys and NUL bytes refused. libxl then parses the
//! canonical text written back from what was read, never the caller's.

use std::fmt::Write as _;

use super::{Bitmap, BITMAP_KEYS};
use crate::error::{Error, Result};

/// The deepest nesting taken: libxl's deepest type (a device inside a
/// union arm inside a config) is a few levels deep.
pub(crate) const MAX_DEPTH: usize = 32;
/// The longest string taken, in bytes: no path, command line or xenstore
/// value (at most 4096 bytes) is that long.
pub(crate) const MAX_STRING: usize = 64 << 10;
/// The most elements in one array or members in one object (libxl
/// allocates a C struct per element).
pub(crate) const MAX_ITEMS: usize = 1 << 16;
/// The largest JSON text taken.
pub(crate) const MAX_TEXT: usize = 16 << 20;

/// A JSON value as read; numbers keep their text.
enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Checks untrusted libxl JSON and returns the canonical text to hand
/// libxl in its place. Every refusal is an [`Error::InvalidConfig`] whose
/// field is the JSON path of the offending value.
pub(crate) fn canonical_libxl_json(text: &str) -> Result<String> {
    if text.len() > MAX_TEXT {
        return Err(refused(
            "",
            format!("{} bytes of JSON (at most {MAX_TEXT})", text.len()),
        ));
    }
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value("", 0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.syntax("", "text after the JSON value"));
    }
    let mut out = String::with_capacity(text.len());
    write(&v, &mut out);
    Ok(out)
}

fn refused(path: &str, reason: String) -> Error {
    Error::InvalidConfig {
        field: if path.is_empty() {
            "libxl JSON".to_owned()
        } else {
            path.to_owned()
        },
        reason,
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn syntax(&self, path: &str, what: &str) -> Error {
        refused(path, format!("{what} at byte {}", self.i))
    }

    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, path: &str, depth: usize) -> Result<Json> {
        if depth > MAX_DEPTH {
            return Err(refused(path, format!("nested more than {MAX_DEPTH} deep")));
        }
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                self.object(path, depth)
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Ok(Json::Array(items));
                }
                loop {
                    if items.len() == MAX_ITEMS {
                        return Err(refused(path, format!("more than {MAX_ITEMS} elements")));
                    }
                    let p = format!("{path}[{}]", items.len());
                    items.push(self.value(&p, depth + 1)?);
                    if self.eat(b']') {
                        return Ok(Json::Array(items));
                    }
                    if !self.eat(b',') {
                        return Err(self.syntax(path, "expected ',' or ']'"));
                    }
                }
            }
            Some(b'"') => Ok(Json::String(self.string(path)?)),
            Some(b't') if self.s[self.i..].starts_with(b"true") => {
                self.i += 4;
                Ok(Json::Bool(true))
            }
            Some(b'f') if self.s[self.i..].starts_with(b"false") => {
                self.i += 5;
                Ok(Json::Bool(false))
            }
            Some(b'n') if self.s[self.i..].starts_with(b"null") => {
                self.i += 4;
                Ok(Json::Null)
            }
            Some(b'-' | b'0'..=b'9') => self.number(path),
            _ => Err(self.syntax(path, "expected a JSON value")),
        }
    }

    fn object(&mut self, path: &str, depth: usize) -> Result<Json> {
        let mut members: Vec<(String, Json)> = Vec::new();
        if self.eat(b'}') {
            return Ok(Json::Object(members));
        }
        loop {
            if members.len() == MAX_ITEMS {
                return Err(refused(path, format!("more than {MAX_ITEMS} members")));
            }
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return Err(self.syntax(path, "expected a key"));
            }
            let key = self.string(path)?;
            let p = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if members.iter().any(|(k, _)| *k == key) {
                return Err(refused(&p, "the key appears twice in one object".into()));
            }
            if !self.eat(b':') {
                return Err(self.syntax(&p, "expected ':'"));
            }
            let v = self.value(&p, depth + 1)?;
            check_member(&members, &key, &v, &p)?;
            members.push((key, v));
            if self.eat(b'}') {
                return Ok(Json::Object(members));
            }
            if !self.eat(b',') {
                return Err(self.syntax(path, "expected ',' or '}'"));
            }
        }
    }

    /// A string, escapes decoded; the cursor is on its opening quote.
    fn string(&mut self, path: &str) -> Result<String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            if out.len() > MAX_STRING {
                return Err(refused(
                    path,
                    format!("a string longer than {MAX_STRING} bytes"),
                ));
            }
            let Some(&b) = self.s.get(self.i) else {
                return Err(self.syntax(path, "unterminated string"));
            };
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return Err(self.syntax(path, "unterminated string"));
                    };
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode(path)?,
                        _ => return Err(self.syntax(path, "a bad escape")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return Err(self.syntax(path, "a control character in a string")),
                b => out.push(b),
            }
        }
        if out.contains(&0) {
            return Err(refused(
                path,
                "a NUL byte in a string (C strings end there)".into(),
            ));
        }
        String::from_utf8(out).map_err(|_| refused(path, "a string that is not UTF-8".into()))
    }

    fn hex4(&mut self, path: &str) -> Result<u32> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.syntax(path, "a bad \\u escape"))?;
        self.i += 4;
        Ok(h)
    }

    /// The character of a `\uXXXX` escape (the `\u` read), surrogate
    /// pairs joined.
    fn unicode(&mut self, path: &str) -> Result<char> {
        let hi = self.hex4(path)?;
        let code = if (0xd800..0xdc00).contains(&hi) {
            if !self.s[self.i..].starts_with(b"\\u") {
                return Err(self.syntax(path, "a lone surrogate"));
            }
            self.i += 2;
            let lo = self.hex4(path)?;
            if !(0xdc00..0xe000).contains(&lo) {
                return Err(self.syntax(path, "a lone surrogate"));
            }
            0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.syntax(path, "a lone surrogate"))
    }

    /// A number as JSON spells it (RFC 8259), kept as text.
    fn number(&mut self, path: &str) -> Result<Json> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let from = p.i;
            while matches!(p.s.get(p.i), Some(b'0'..=b'9')) {
                p.i += 1;
            }
            p.i > from
        };
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        if self.s.get(self.i) == Some(&b'0') {
            self.i += 1;
        } else if !digits(self) {
            return Err(self.syntax(path, "a bad number"));
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.syntax(path, "a bad number"));
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.syntax(path, "a bad number"));
            }
        }
        if self.i - start > 64 {
            return Err(refused(path, "a number of more than 64 characters".into()));
        }
        // ASCII digits and signs only.
        let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        // libxl's IDL holds integers only, none wider than 64 bits: a
        // fraction, an exponent (`1e7777`, found by fuzzing: no JSON reader
        // but libxl's keeps it) or a wider integer is no value of libxl's.
        let integer = text.parse::<i128>().ok();
        if !integer.is_some_and(|n| (i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&n)) {
            return Err(refused(
                path,
                format!("{text}: not an integer of 64 bits (libxl's types hold nothing else)"),
            ));
        }
        Ok(Json::Number(text))
    }
}

/// What libxl's reader would do with one member of an object, checked
/// against the members before it.
fn check_member(before: &[(String, Json)], key: &str, v: &Json, path: &str) -> Result<()> {
    // libxl selects a keyed union's arm for each `"<key>.<arm>"` member
    // whose value is an object; a second one asserts.
    if let (Some((union, _)), Json::Object(_)) = (key.split_once('.'), v) {
        let other = before.iter().find(|(k, v)| {
            matches!(v, Json::Object(_)) && k.split_once('.').is_some_and(|(u, _)| u == union)
        });
        if let Some((k, _)) = other {
            return Err(refused(
                path,
                format!("a second \"{union}.*\" union arm (after {k:?}): an object has one"),
            ));
        }
    }
    if BITMAP_KEYS.contains(&key) {
        if let Json::Array(items) = v {
            for (i, item) in items.iter().enumerate() {
                // Only numbers: libxl sets each integer as a bit (a
                // negative one before the map's start) and fails cleanly
                // on anything else; and a key names a bitmap only in some
                // types (`vcpus` is a vNUMA node's map but the array of
                // `libxl_vcpu_sched_params`, whose items are objects).
                match item {
                    // vcpu_hard_affinity and vcpu_soft_affinity: one map
                    // per vCPU.
                    Json::Array(bits) => {
                        for b in bits {
                            check_bit(b, &format!("{path}[{i}]"))?;
                        }
                    }
                    b => check_bit(b, path)?,
                }
            }
        }
    }
    Ok(())
}

/// libxl sizes a bitmap from its last index and sets each: every index
/// must be a whole number below [`Bitmap::MAX_BITS`]. Items that are not
/// numbers are left to libxl, which refuses them in a bitmap.
fn check_bit(v: &Json, path: &str) -> Result<()> {
    let Json::Number(n) = v else {
        return Ok(());
    };
    if n.parse::<u64>().is_ok_and(|b| b < Bitmap::MAX_BITS as u64) {
        Ok(())
    } else {
        let shown = n.clone();
        Err(refused(
            path,
            format!(
                "bitmap index {shown}: indices are whole numbers below {}",
                Bitmap::MAX_BITS
            ),
        ))
    }
}

/// Writes a value as compact JSON, strings escaped so that yajl reads
/// back exactly what was decoded.
fn write(v: &Json, out: &mut String) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(n),
        Json::String(s) => write_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write(v, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::canonical_libxl_json as check;

    fn refused(json: &str) -> String {
        match check(json) {
            Err(e) => e.to_string(),
            Ok(c) => panic!("{json:?} was taken as {c:?}"),
        }
    }

    #[test]
    fn two_arms_of_one_union_are_refused_however_the_key_is_spelt() {
        for json in [
            r#"{"b_info": {"type.pv": {}, "type.hvm": {"a": "}"}}}"#,
            r#"{"b_info": {"type.pv": {}, "type\u002ehvm": {}}}"#,
            r#"{"b_info": {"type\u002epv": {}, "\u0074ype.hvm": {}}}"#,
        ] {
            assert!(refused(json).contains("union arm"), "{json}");
        }
        for json in [
            r#"{"b_info": {"type.pv": {"x.y": 1}}, "usbdevs": [{"type.hostdev": {}}, {"type.hostdev": {}}]}"#,
            r#"{"k": "type.pv", "type.pv": {}}"#,
            r#"{"s": "\"type.a\": {}, \"type.b\""}"#,
            // Key-value lists are objects of strings: dotted keys are data.
            r#"{"platformdata": {"a.b": "1", "a.c": "2"}}"#,
        ] {
            check(json).unwrap();
        }
    }

    #[test]
    fn bitmap_indices_are_bounded_before_libxl_sizes_a_map() {
        for json in [
            r#"{"b_info": {"cpumap": [2147483647]}}"#,
            r#"{"b_info": {"cpumap": [0, -1]}}"#,
            r#"{"b_info": {"cpumap": [18446744073709551615]}}"#,
            r#"{"b_info": {"vcpu_hard_affinity": [[0], [99999]]}}"#,
            r#"{"vnuma_nodes": [{"vcpus": [16384]}]}"#,
        ] {
            assert!(refused(json).contains("bitmap index"), "{json}");
        }
        let ok = r#"{"b_info":{"cpumap":[0,1,16383],"vcpu_hard_affinity":[[0],[1]]}}"#;
        assert_eq!(check(ok).unwrap(), ok);
    }

    #[test]
    fn nesting_strings_and_sizes_are_bounded() {
        let deep = "[".repeat(5000) + &"]".repeat(5000);
        assert!(refused(&deep).contains("nested"));
        let deep_objects = r#"{"a":"#.repeat(5000) + "1" + &"}".repeat(5000);
        assert!(refused(&deep_objects).contains("nested"));
        let long = format!(r#"{{"name": "{}"}}"#, "x".repeat(4 << 20));
        assert!(refused(&long).contains("longer than"));
        assert!(refused(r#"{"name": "a\u0000b"}"#).contains("NUL"));
        assert!(refused(r#"{"name": "a", "name": "b"}"#).contains("twice"));
        for bad in [
            r#"{"a": }"#,
            r#"{"a" 1}"#,
            "[1,]",
            "\"x",
            "{} x",
            "01",
            "\"\\ud800\"",
        ] {
            refused(bad);
        }
        // Found by fuzzing: libxl's types hold 64-bit integers only.
        for n in [
            "1e7777777",
            "-1.5",
            "18446744073709551616",
            "-9223372036854775809",
        ] {
            assert!(refused(&format!("[{n}]")).contains("64 bits"), "{n}");
        }
        assert!(check("[18446744073709551615,-9223372036854775808]").is_ok());
        // `vcpus` is a bitmap in a vNUMA node, an array of structs in
        // libxl_vcpu_sched_params (seen in Xen 4.20's JSON).
        let sched = r#"{"sched":"credit","vcpus":[{"vcpuid":2,"weight":3}]}"#;
        assert_eq!(check(sched).unwrap(), sched);
    }

    #[test]
    fn canonical_text_reads_back_as_what_was_decoded() {
        let json = "{ \"c_info\" : { \"name\" : \"w\\u00e9b\\n\\\"q\\\"\" , \"x\" : [ -15 , true , null ] } }";
        assert_eq!(
            check(json).unwrap(),
            "{\"c_info\":{\"name\":\"w\u{e9}b\\u000a\\\"q\\\"\",\"x\":[-15,true,null]}}"
        );
    }
}
