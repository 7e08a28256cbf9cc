//! The C string functions xl's parser is written with, with their exact
//! results (`strtoul`'s prefixes and wrap-around, `strtok`'s skipping of
//! empty fields), so values mean here what they mean to xl.

/// `strtoul(s, &end, base)`: the value (saturated at `u64::MAX`, negated
/// modulo 2^64 after a `-`, as C does), the unparsed rest, and whether any
/// digit was read.
pub(super) fn strtoul(s: &str, base: u32) -> (u64, &str, bool) {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let has_hex_prefix = |t: &str| {
        (t.starts_with("0x") || t.starts_with("0X"))
            && t[2..].chars().next().is_some_and(|c| c.is_ascii_hexdigit())
    };
    let (base, t) = match base {
        0 if has_hex_prefix(t) => (16, &t[2..]),
        0 if t.starts_with('0') => (8, t),
        0 => (10, t),
        16 if has_hex_prefix(t) => (16, &t[2..]),
        b => (b, t),
    };
    let digits = t.chars().take_while(|c| c.is_digit(base)).count();
    if digits == 0 {
        return (0, s, false);
    }
    let mut v: u64 = 0;
    let mut overflow = false;
    for c in t[..digits].chars() {
        let d = u64::from(c.to_digit(base).unwrap_or(0));
        match v
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(d))
        {
            Some(n) => v = n,
            None => overflow = true,
        }
    }
    let v = if overflow {
        u64::MAX
    } else if neg {
        v.wrapping_neg()
    } else {
        v
    };
    (v, &t[digits..], true)
}

/// `sscanf(s, "%x%n", &v, &n)` as glibc reads it: `strtoul(s, &end, 16)`
/// cut to 32 bits, except that a `0x` no hex digit follows reads as 0
/// with its `x` taken (where `strtoul` stops after the `0`). The value and
/// `n`, or `None` where sscanf converts nothing.
pub(super) fn scanf_hex(s: &str) -> Option<(u32, usize)> {
    let (v, rest, read) = strtoul(s, 16);
    if !read {
        return None;
    }
    let n = s.len() - rest.len();
    let number = s[..n].trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let number = number.strip_prefix(['+', '-']).unwrap_or(number);
    let bare_prefix = number == "0" && rest.starts_with(['x', 'X']);
    Some((v as u32, n + usize::from(bare_prefix)))
}

/// `strtol(s, NULL, 10)`: saturating at the `long` range.
pub(super) fn strtol(s: &str) -> i64 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    let mut v: i128 = 0;
    for c in t[..digits].chars() {
        v = (v * 10 + i128::from(c.to_digit(10).unwrap_or(0))).min(i128::from(i64::MAX) + 1);
    }
    let v = if neg { -v } else { v };
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// `atoi(s)`: glibc's, which is `(int)strtol(s, NULL, 10)`.
pub(super) fn atoi(s: &str) -> i32 {
    strtol(s) as i32
}

/// `strtoul(s, NULL, 0)` truncated to the C field's width, as xl assigns it.
pub(super) fn ul0(s: &str) -> u64 {
    strtoul(s, 0).0
}

/// `strtok`'s fields: split at any of `delims`, empty fields skipped.
pub(super) fn strtok<'a>(s: &'a str, delims: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    s.split(move |c| delims.contains(c))
        .filter(|t| !t.is_empty())
}

/// xl's `split_string_into_pair`: the first two `strtok` fields.
pub(super) fn split_pair<'a>(s: &'a str, delim: &'a str) -> Option<(&'a str, &'a str)> {
    let mut it = strtok(s, delim);
    Some((it.next()?, it.next()?))
}

/// xl's `trim(isspace, ..)`.
pub(super) fn trim_space(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
}

/// xl's `MATCH_OPTION(key, token, oparg)`: the text after `key=`.
pub(super) fn option<'a>(token: &'a str, key: &str) -> Option<&'a str> {
    token.strip_prefix(key)?.strip_prefix('=')
}

/// `strncmp(buf, word, strlen(buf)) == 0`: `buf` is a prefix of `word`
/// (xl's test for `type`, `builder` and `firmware` words; "" matches).
pub(super) fn prefix_of(buf: &str, word: &str) -> bool {
    word.starts_with(buf)
}

/// Skips leading spaces (xl's `while (*p == ' ') p++`).
pub(super) fn skip_spaces(s: &str) -> &str {
    s.trim_start_matches(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoul_matches_c() {
        assert_eq!(strtoul("0x1f,", 0), (31, ",", true));
        assert_eq!(strtoul("017", 0), (15, "", true));
        assert_eq!(strtoul(" 12-3", 10), (12, "-3", true));
        assert_eq!(strtoul("ff", 16), (255, "", true));
        assert_eq!(strtoul("0xff", 16), (255, "", true));
        assert_eq!(strtoul("x", 10), (0, "x", false));
        assert_eq!(strtoul("-1", 10).0, u64::MAX);
        assert_eq!(strtoul("99999999999999999999999", 10).0, u64::MAX);
        assert_eq!(atoi("12abc"), 12);
        assert_eq!(atoi("-3"), -3);
    }

    /// `scanf_hex` reads as glibc's `sscanf("%x%n")` (run beside it) every
    /// string of up to four characters from the ones a hex number's reading
    /// turns on, and numbers past 32 and 64 bits.
    #[test]
    fn scanf_hex_reads_as_glibcs_sscanf() {
        let alphabet = b" +-0xXfg9:.";
        let mut cases: Vec<Vec<u8>> = vec![
            b"fffffffff".to_vec(),
            b"100000000".to_vec(),
            b"-100000001".to_vec(),
            b"1ffffffffffffffff".to_vec(),
            b"-0x1ffffffffffffffff".to_vec(),
            b"\t\n\x0b\x0c\r 7".to_vec(),
        ];
        for len in 0..=4u32 {
            for mut i in 0..alphabet.len().pow(len) {
                let mut s = Vec::new();
                for _ in 0..len {
                    s.push(alphabet[i % alphabet.len()]);
                    i /= alphabet.len();
                }
                cases.push(s);
            }
        }
        for s in cases {
            let s = String::from_utf8(s).unwrap();
            let c = std::ffi::CString::new(s.as_str()).unwrap();
            let (mut v, mut n): (libc::c_uint, libc::c_int) = (0, -1);
            // SAFETY: c is NUL-terminated; the format's conversions are an
            // unsigned int and an int, given as such.
            let r = unsafe {
                libc::sscanf(
                    c.as_ptr(),
                    c"%x%n".as_ptr(),
                    &mut v as *mut libc::c_uint,
                    &mut n as *mut libc::c_int,
                )
            };
            let theirs = (r == 1).then_some((v, n as usize));
            assert_eq!(scanf_hex(&s), theirs, "{s:?}");
        }
    }

    #[test]
    fn strtok_and_pairs_match_c() {
        assert_eq!(strtok(",a,,b,", ",").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(split_pair("k=v=w", "="), Some(("k", "v")));
        assert_eq!(split_pair("=v", "="), None);
        assert!(prefix_of("pv", "pvh") && prefix_of("", "hvm") && !prefix_of("pvhx", "pvh"));
    }
}
