//! `cargo xtask xl-coverage [--check]`: for each of xl's subcommands (its
//! own command table, `tools/xl/xl_cmdtable.c`, of the Xen release the
//! types come from), the libxl functions it calls, followed through xl's
//! own functions, and whether xenlight has a safe call for each: a public
//! item whose `doc(alias = "libxl_...")` names it. Writes the table to
//! docs/XL-COMMANDS.md (with `--check`: fails if that file is stale) and
//! prints `xl commands: K/N have a safe call`.
//!
//! What the crate's types stand for without a call of their own is left
//! out of the count: `_init`/`_dispose`/`_copy`/JSON/string conversions
//! of IDL types (the generated types), bitmaps and their iteration
//! macros, UUIDs, defbools, string and key-value lists, MACs (the
//! `values` module), `libxl_domid_valid_guest` (the `Domid` type), the
//! context's own setup (`Context::new`); and the OS helpers libxl exports
//! for xl's own plumbing, which Rust's std provides: whole-buffer reads
//! and writes, file contents, pipes, close-on-exec, child exit reports,
//! log files and a JSON generator.

use anyhow::{Context as _, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::{gen_types, workspace_root};

pub const TABLE: &str = "docs/XL-COMMANDS.md";

/// Library helpers the crate covers with its types, not with calls.
fn is_type_helper(f: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "_init",
        "_dispose",
        "_copy",
        "_list_free",
        "_to_json",
        "_from_json",
        "_gen_json",
        "_to_string",
        "_from_string",
        "_init_type",
        "_compare",
        "_setdefault",
    ];
    const PREFIXES: &[&str] = &[
        "libxl_bitmap_",
        "libxl_uuid_",
        "libxl_defbool_",
        "libxl_string_list_",
        "libxl_key_value_list_",
        "libxl_mac_",
        "libxl_ms_vm_genid_",
        "libxl_hwcap_",
        "libxl_ctx_",
        "libxl_cpu_bitmap_alloc",
        "libxl_node_bitmap_alloc",
        "libxl_socket_bitmap_alloc",
        "libxl_cpuid_",
        "libxl_basename",
        "libxl_dominfo_list_free",
        "libxl_for_each_",
        "libxl_domid_valid_guest",
        "libxl_read_exactly",
        "libxl_write_exactly",
        "libxl_read_file_contents",
        "libxl_pipe",
        "libxl_fd_set_",
        "libxl_postfork_child_noexec",
        "libxl_report_child_exitstatus",
        "libxl_create_logfile",
        "libxl_yajl_gen_alloc",
    ];
    SUFFIXES.iter().any(|s| f.ends_with(s)) || PREFIXES.iter().any(|p| f.starts_with(p))
}

/// C text with comments and string/char literals blanked (so a name in a
/// message or comment is not taken for a call).
fn strip(c: &str) -> String {
    let b = c.as_bytes();
    let mut out = String::with_capacity(c.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = c[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                out.extend(
                    c[i..end]
                        .chars()
                        .map(|ch| if ch == '\n' { '\n' } else { ' ' }),
                );
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = c[i..].find('\n').map_or(b.len(), |e| i + e);
                i = end;
            }
            q @ (b'"' | b'\'') => {
                out.push(' ');
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    if b.get(i) == Some(&b'\n') {
                        out.push('\n');
                    }
                    i += 1;
                }
                out.push(' ');
                i += 1;
            }
            _ => {
                let ch = c[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

/// Identifiers followed by `(`: the calls in a function body.
fn calls(body: &str) -> BTreeSet<String> {
    let b = body.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic() || b[i] == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let mut j = i;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            if b.get(j) == Some(&b'(') {
                out.insert(body[start..i].to_owned());
            }
        } else {
            i += 1;
        }
    }
    out
}

/// xl's function definitions, by name: the body of each (Xen's style puts
/// the opening and closing braces of a function at column 0).
fn functions(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let starts_decl = l
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && l.contains('(');
        if !starts_decl {
            i += 1;
            continue;
        }
        // The name is the identifier right before the first '('.
        let head = &l[..l.find('(').unwrap_or(0)];
        let name: String = head
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        // Up to the body's '{' at column 0, unless a ';' ends a prototype.
        let mut j = i;
        let mut is_def = false;
        while j < lines.len() {
            let t = lines[j];
            if t.starts_with('{') || (j == i && t.trim_end().ends_with('{')) {
                is_def = true;
                break;
            }
            if t.trim_end().ends_with(';') || (j > i && t.is_empty()) {
                break;
            }
            j += 1;
        }
        if !is_def || name.is_empty() {
            i += 1;
            continue;
        }
        let mut k = j + 1;
        let mut body = String::new();
        while k < lines.len() && !lines[k].starts_with('}') {
            body.push_str(lines[k]);
            body.push('\n');
            k += 1;
        }
        out.insert(name, body);
        i = k + 1;
    }
    out
}

/// xl's command table: each subcommand's name and `main_` function.
fn command_table(cmdtable: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = cmdtable;
    while let Some(p) = rest.find("{ \"") {
        rest = &rest[p + 3..];
        let Some(q) = rest.find('"') else { break };
        let name = rest[..q].to_owned();
        let Some(m) = rest.find("&main_") else { break };
        let f: String = rest[m + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        out.push((name, f));
    }
    out
}

/// The libxl functions a command calls, through xl's own functions (not
/// through another subcommand's `main_`, in `commands`).
fn libxl_calls(
    main: &str,
    fns: &BTreeMap<String, String>,
    commands: &BTreeSet<&str>,
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![main.to_owned()];
    let mut found = BTreeSet::new();
    while let Some(f) = todo.pop() {
        if !seen.insert(f.clone()) {
            continue;
        }
        let Some(body) = fns.get(&f) else { continue };
        for c in calls(body) {
            if c.starts_with("libxl_") {
                if !is_type_helper(&c) {
                    found.insert(c);
                }
            } else if fns.contains_key(&c) && !commands.contains(c.as_str()) {
                todo.push(c);
            }
        }
    }
    found
}

/// Every C function a `doc(alias = "...")` in the crate's sources names.
fn aliases(dir: &Path, out: &mut BTreeSet<String>) -> Result<()> {
    for e in fs::read_dir(dir)?.flatten() {
        let p = e.path();
        if p.is_dir() {
            aliases(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = fs::read_to_string(&p)?;
            for part in text.split("doc(alias = \"").skip(1) {
                if let Some(end) = part.find('"') {
                    out.insert(part[..end].to_owned());
                }
            }
        }
    }
    Ok(())
}

/// The table and the count, from xl's sources in `xl_dir`.
fn report(xl_dir: &Path, release: &str) -> Result<(String, usize, usize)> {
    let mut text = String::new();
    for e in fs::read_dir(xl_dir)?.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "c") {
            text.push_str(&strip(&fs::read_to_string(&p)?));
            text.push('\n');
        }
    }
    let fns = functions(&text);
    let table = command_table(&fs::read_to_string(xl_dir.join("xl_cmdtable.c"))?);
    let mut safe = BTreeSet::new();
    aliases(&workspace_root().join("xenlight/src"), &mut safe)?;
    let mut md = format!(
        "# xl's subcommands and xenlight's safe calls\n\n\
         @generated by `cargo xtask xl-coverage` (xtask/src/xl_coverage.rs) from xl {release}'s\n\
         sources (Debian's xen source package): each subcommand of `tools/xl/xl_cmdtable.c`, the\n\
         libxl functions it calls (followed through xl's own functions; the IDL types' init,\n\
         dispose, copy and JSON helpers, bitmaps, UUIDs and the context's setup are left out:\n\
         the crate's types stand for them), and those without a public call whose\n\
         `doc(alias)` names them. Do not edit.\n\n\
         | command | libxl functions | without a safe call |\n|---|---|---|\n"
    );
    let commands: BTreeSet<&str> = table.iter().map(|(_, m)| m.as_str()).collect();
    let mut covered = 0;
    for (name, main) in &table {
        let used = libxl_calls(main, &fns, &commands);
        let missing: Vec<&str> = used
            .iter()
            .filter(|f| !safe.contains(*f))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            covered += 1;
        }
        let _ = writeln!(
            md,
            "| `{name}` | {} | {} |",
            used.len(),
            if missing.is_empty() {
                "none".to_owned()
            } else {
                missing
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    let _ = writeln!(
        md,
        "\nxl commands: {covered}/{} have a safe call",
        table.len()
    );
    Ok((md, covered, table.len()))
}

/// `cargo xtask xl-coverage [--check]`.
pub fn xl_coverage(check: bool) -> Result<bool> {
    let (suite, release) = gen_types::SOURCE;
    let idl = gen_types::fetch_idl(suite)?;
    let xl_dir = idl.with_file_name("xl");
    let (md, covered, total) = report(&xl_dir, release).context("reading xl's sources")?;
    println!("xl commands: {covered}/{total} have a safe call (xl {release}; see {TABLE})");
    gen_types::write_generated(&[(TABLE, md)], check, "xl-coverage")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call inside a comment or a string is not one; a prototype is not
    /// a definition; calls are followed through xl's own functions.
    #[test]
    fn calls_are_followed_through_xl_functions_and_not_read_from_text() {
        let c = strip(
            "static int helper(int x);\n\
             static int helper(int x)\n{\n    /* libxl_in_comment(1) */\n    \
             return libxl_real_call(ctx, \"libxl_in_string(\");\n}\n\n\
             int main_thing(int argc, char **argv)\n{\n    helper(1);\n    \
             libxl_domain_config_init(&c);\n    return libxl_other (ctx);\n}\n",
        );
        let fns = functions(&c);
        assert_eq!(fns.keys().collect::<Vec<_>>(), ["helper", "main_thing"]);
        let used: Vec<String> = libxl_calls("main_thing", &fns, &BTreeSet::from(["main_thing"]))
            .into_iter()
            .collect();
        assert_eq!(used, ["libxl_other", "libxl_real_call"]);
    }

    #[test]
    fn the_command_table_pairs_names_with_main_functions() {
        let t = "struct cmd_spec cmd_table[] = {\n    { \"create\",\n      &main_create, 1, 1,\n      \"Create a domain\" },\n    { \"list\",\n      &main_list, 0, 0,\n      \"List\" },\n";
        assert_eq!(
            command_table(t),
            [
                ("create".to_owned(), "main_create".to_owned()),
                ("list".to_owned(), "main_list".to_owned())
            ]
        );
    }
}
