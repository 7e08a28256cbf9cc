//! Which keys a file assigns, found by a scanner with the token rules of
//! libxlutil's lexer (libxlu_cfg_l.l), so no quoting or dotted key can hide
//! one; and the keys xl reads.

/// Every key xl 4.17's parser reads (tools/xl/xl_parse.c). Any other key
/// in a file is ignored by xl, and reported here as a warning.
pub const SUPPORTED_KEYS: &[&str] = &[
    "acpi",
    "acpi_firmware",
    "acpi_laptop_slate",
    "acpi_s3",
    "acpi_s4",
    "altp2m",
    "altp2mhvm",
    "apic",
    "bios",
    "bios_path_override",
    "boot",
    "bootloader",
    "bootloader_args",
    "builder",
    "cap",
    "channel",
    "cmdline",
    "cpu_weight",
    "cpuid",
    "cpus",
    "cpus_soft",
    "device_model",
    "device_model_args",
    "device_model_args_hvm",
    "device_model_args_pv",
    "device_model_override",
    "device_model_stubdomain_override",
    "device_model_stubdomain_seclabel",
    "device_model_user",
    "device_model_version",
    "device_tree",
    "disk",
    "display",
    "dm_restrict",
    "driver_domain",
    "dtdev",
    "e820_host",
    "extra",
    "extratime",
    "firmware",
    "firmware_override",
    "gfx_passthru",
    "gic_version",
    "hap",
    "hdtype",
    "hpet",
    "init_seclabel",
    "iomem",
    "ioports",
    "irqs",
    "kernel",
    "keymap",
    "latency",
    "localtime",
    "max_event_channels",
    "max_grant_frames",
    "max_grant_version",
    "max_maptrack_frames",
    "maxmem",
    "maxvcpus",
    "mca_caps",
    "memory",
    "mmio_hole",
    "ms_vm_genid",
    "msr_relaxed",
    "name",
    "nestedhvm",
    "nographic",
    "nomigrate",
    "nx",
    "on_crash",
    "on_poweroff",
    "on_reboot",
    "on_soft_reset",
    "on_watchdog",
    "oos",
    "opengl",
    "p9",
    "pae",
    "passthrough",
    "pci",
    "pci_msitranslate",
    "pci_permissive",
    "pci_power_mgmt",
    "pci_seize",
    "period",
    "pool",
    "pvcalls",
    "pvshim",
    "pvshim_cmdline",
    "pvshim_extra",
    "pvshim_path",
    "ramdisk",
    "rdm",
    "rdm_mem_boundary",
    "root",
    "rtc_timeoffset",
    "sdl",
    "seclabel",
    "serial",
    "shadow_memory",
    "slice",
    "smbios_firmware",
    "soundhw",
    "spice",
    "spice_clipboard_sharing",
    "spice_image_compression",
    "spice_streaming_video",
    "spiceagent_mouse",
    "spicedisable_ticketing",
    "spicehost",
    "spicepasswd",
    "spiceport",
    "spicetls_port",
    "spiceusbredirection",
    "spicevdagent",
    "stdvga",
    "stubdomain_cmdline",
    "stubdomain_kernel",
    "stubdomain_memory",
    "stubdomain_ramdisk",
    "tee",
    "timer_mode",
    "tsc_mode",
    "type",
    "usb",
    "usbctrl",
    "usbdev",
    "usbdevice",
    "usbversion",
    "uuid",
    "vcpus",
    "vdispl",
    "vendor_device",
    "vfb",
    "vga",
    "videoram",
    "vif",
    "vif2",
    "viridian",
    "vkb",
    "vkb_device",
    "vmtrace_buf_kb",
    "vnc",
    "vncdisplay",
    "vnclisten",
    "vncpasswd",
    "vncunused",
    "vncviewer",
    "vnuma",
    "vpmu",
    "vpt_align",
    "vsnd",
    "vtpm",
    "vuart",
    "xauthority",
    "xen_platform_pci",
    "xend_suspend_evtchn_compat",
];

/// A key assigned in the file and the line it is on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Assigned {
    pub key: String,
    pub line: usize,
}

/// The keys assigned at statement level (`key = ...` or `key += ...`),
/// tokenised as libxlutil does: identifiers are `[a-z][._0-9a-z]*`, strings
/// are quoted with `'` or `"` and may hold backslash escapes, `#` starts a
/// comment to the end of the line, lists may span lines.
pub(super) fn assigned_keys(text: &str) -> Vec<Assigned> {
    let b = text.as_bytes();
    let mut keys = Vec::new();
    let (mut i, mut line, mut depth) = (0usize, 1usize, 0usize);
    let mut stmt_start = true;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                stmt_start = depth == 0;
                i += 1;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b' ' | b'\t' => i += 1,
            b';' => {
                stmt_start = depth == 0;
                i += 1;
            }
            b'[' => {
                depth += 1;
                stmt_start = false;
                i += 1;
            }
            b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'\'' | b'"' => {
                i += 1;
                while i < b.len() && b[i] != c && b[i] != b'\n' {
                    i += if b[i] == b'\\' && i + 1 < b.len() {
                        2
                    } else {
                        1
                    };
                }
                i += 1;
                stmt_start = false;
            }
            b'a'..=b'z' => {
                let start = i;
                while i < b.len() && matches!(b[i], b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_') {
                    i += 1;
                }
                if stmt_start {
                    keys.push(Assigned {
                        key: text[start..i].to_owned(),
                        line,
                    });
                }
                stmt_start = false;
            }
            _ => {
                stmt_start = false;
                i += 1;
            }
        }
    }
    keys
}

/// A token of libxlutil's lexer (libxlu_cfg_l.l), with its 1-based line
/// and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Ident,
    Atom,
    Assign,
    Newline,
    Semi,
    Open,
    Close,
    Comma,
    Bad,
    End,
}

fn tokens(text: &str) -> Vec<(Tok, usize, usize)> {
    let b = text.as_bytes();
    let (mut i, mut line, mut line_start) = (0usize, 1usize, 0usize);
    let mut out = Vec::new();
    while i < b.len() {
        let col = i - line_start + 1;
        let c = b[i];
        let tok = match c {
            b' ' | b'\t' => {
                i += 1;
                continue;
            }
            b'#' | b'\n' => {
                while b[i] != b'\n' {
                    i += 1;
                    if i == b.len() {
                        out.push((Tok::Newline, line, col));
                        return finish(out, line, i - line_start + 1);
                    }
                }
                out.push((Tok::Newline, line, col));
                i += 1;
                line += 1;
                line_start = i;
                continue;
            }
            b'a'..=b'z' => {
                while i < b.len() && matches!(b[i], b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_') {
                    i += 1;
                }
                Tok::Ident
            }
            b'0'..=b'9' => {
                while i < b.len() && matches!(b[i], b'0'..=b'9' | b'a'..=b'f' | b'x') {
                    i += 1;
                }
                Tok::Atom
            }
            b'\'' | b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != c && b[i] != b'\n' {
                    i += if b[i] == b'\\' && i + 1 < b.len() {
                        2
                    } else {
                        1
                    };
                }
                if i < b.len() && b[i] == c {
                    i += 1;
                    if escapes_dequote(&b[start..i]) {
                        Tok::Atom
                    } else {
                        Tok::Bad
                    }
                } else {
                    Tok::Bad
                }
            }
            b'+' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tok::Assign
            }
            _ => {
                i += 1;
                match c {
                    b'=' => Tok::Assign,
                    b';' => Tok::Semi,
                    b'[' => Tok::Open,
                    b']' => Tok::Close,
                    b',' => Tok::Comma,
                    _ => Tok::Bad,
                }
            }
        };
        // libxlutil's lexer reports a stray character when it reads what
        // follows it (libxlu_cfg_l.l's `lexerr` state): one that ends the
        // input is dropped without a word (found by fuzzing: `x = 1 /`).
        if tok == Tok::Bad && i == b.len() && col == i - line_start {
            break;
        }
        out.push((tok, line, col));
    }
    finish(out, line, b.len() - line_start + 1)
}

/// Whether libxlutil's `xlu__cfgl_dequote` (libxlu_cfg.c) takes the
/// escapes of `quoted` (the string with its quotes): `\` before one of
/// `"'\abfnrtv`, or before an octal digit followed by what `strtoul`
/// reads as a number of at least two characters within the next three.
/// It refuses every `\x` (its hex branch cannot succeed) and any other
/// character, and a refusal there is a parse error on whose path
/// libxlutil leaks the enclosing list.
fn escapes_dequote(quoted: &[u8]) -> bool {
    let end = quoted.len().saturating_sub(1);
    let mut p = 1;
    while p < end {
        let c = quoted[p];
        p += 1;
        if c != b'\\' {
            continue;
        }
        let nc = quoted[p];
        p += 1;
        match nc {
            b'"' | b'\'' | b'\\' | b'a' | b'b' | b'f' | b'n' | b'r' | b't' | b'v' => {}
            b'0'..=b'7' => {
                // strtoul(base 10) over strncpy(numbuf, p, 3): spaces, a
                // sign, digits; fewer than two characters is an error.
                let window = &quoted[p..quoted.len().min(p + 3)];
                let mut k = 0;
                while k < window.len()
                    && matches!(window[k], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
                {
                    k += 1;
                }
                if k < window.len() && matches!(window[k], b'+' | b'-') {
                    k += 1;
                }
                let digits = window[k..]
                    .iter()
                    .take_while(|d| d.is_ascii_digit())
                    .count();
                if digits == 0 || k + digits <= 1 {
                    return false;
                }
                p += k + digits;
            }
            _ => return false,
        }
    }
    true
}

fn finish(mut out: Vec<(Tok, usize, usize)>, line: usize, col: usize) -> Vec<(Tok, usize, usize)> {
    out.push((Tok::End, line, col));
    out
}

/// Where libxlutil's grammar (libxlu_cfg_y.y) first fails, as 1-based
/// (line, column): libxlutil's report names the line only.
pub(super) fn first_syntax_error(text: &str) -> Option<(usize, usize)> {
    let t = tokens(text);
    let mut i = 0;
    let at = |i: usize| t[i.min(t.len() - 1)];
    // value: atom | '[' nlok valuelist ']'; nesting bounded for the stack.
    fn value(t: &[(Tok, usize, usize)], i: &mut usize, depth: usize) -> Result<(), usize> {
        let at = |i: usize| t[i.min(t.len() - 1)].0;
        match at(*i) {
            Tok::Atom => {
                *i += 1;
                Ok(())
            }
            Tok::Open if depth < 1000 => {
                *i += 1;
                let nl = |i: &mut usize| {
                    while at(*i) == Tok::Newline {
                        *i += 1;
                    }
                };
                nl(i);
                if at(*i) == Tok::Close {
                    *i += 1;
                    return Ok(());
                }
                loop {
                    value(t, i, depth + 1)?;
                    nl(i);
                    match at(*i) {
                        Tok::Close => {
                            *i += 1;
                            return Ok(());
                        }
                        Tok::Comma => {
                            *i += 1;
                            nl(i);
                            if at(*i) == Tok::Close {
                                *i += 1;
                                return Ok(());
                            }
                        }
                        _ => return Err(*i),
                    }
                }
            }
            _ => Err(*i),
        }
    }
    loop {
        match at(i).0 {
            Tok::End => return None,
            Tok::Newline | Tok::Semi => i += 1,
            Tok::Ident => {
                i += 1;
                if at(i).0 != Tok::Assign {
                    break;
                }
                i += 1;
                if let Err(e) = value(&t, &mut i, 0) {
                    i = e;
                    break;
                }
                if !matches!(at(i).0, Tok::Newline | Tok::Semi | Tok::End) {
                    break;
                }
            }
            _ => break,
        }
    }
    let (_, line, col) = at(i);
    Some((line, col))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(t: &str) -> Vec<String> {
        assigned_keys(t).into_iter().map(|a| a.key).collect()
    }

    /// Found by the `xl_cfg_grammar` fuzz target: libxlutil drops a stray
    /// character that ends the input, and refuses one followed by anything.
    #[test]
    fn a_stray_character_at_the_very_end_is_dropped_as_libxlutil_drops_it() {
        for ok in ["/", "x = 1 /", "x = 1\n%", "x = 1 '"] {
            assert_eq!(first_syntax_error(ok), None, "{ok:?}");
        }
        for bad in ["x = 1 //", "x = 1 / ", "x = 1 /\n", "/x"] {
            assert!(first_syntax_error(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn keys_are_found_as_libxlutil_tokenises() {
        let text = "# name = \"no\"\nname = \"a=b\"\ndisk = [ 'x=y',\n  'vdev=xvda' ]\nmemory=1; vcpus = 2\n";
        assert_eq!(keys(text), ["name", "disk", "memory", "vcpus"]);
        // An escaped quote does not end the string; the key after it counts.
        assert_eq!(
            keys("extra = \"a\\\" b\"\ncpus = \"0\"\n"),
            ["extra", "cpus"]
        );
        // Dotted keys are one identifier to libxlutil.
        assert_eq!(
            keys("vcpus.max = 4\nvif += [ 'x' ]\n"),
            ["vcpus.max", "vif"]
        );
        assert_eq!(assigned_keys("a=1\n\nb=2\n")[1].line, 3);
    }

    #[test]
    fn the_key_table_is_sorted_and_unique() {
        assert!(SUPPORTED_KEYS.windows(2).all(|w| w[0] < w[1]));
    }
}
