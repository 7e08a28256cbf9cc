//! `cargo xtask gen-types`: Rust types for every type of libxl's IDL.
//!
//! Reads `libxl_types.idl` from the Xen source package Debian ships for the
//! oldest supported release (fetched with a private apt configuration,
//! never committed), adds what each newer release's IDL (vendored in
//! xtask/idl) adds, gated on that release's cfg, and writes `xenlight/src/types/generated.rs`: one plain Rust
//! type per IDL type with its conversions to and from the C struct, and
//! `tests/idl/samples.rs`: a value of every type with every field set, for
//! the round-trip tests. `--check` fails when the checked-in files differ
//! from a fresh generation. `cargo xtask type-coverage` counts, for each
//! release, the IDL's types that the generated code covers.

use anyhow::{bail, Context as _, Result};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::host::run;
use crate::idl::{self, Builtin, Dir, Field, Idl, KeyedUnion, Ty};
use crate::idl_merge;
use crate::{cache_dir, workspace_root};

/// The Debian source package whose IDL the checked-in code is generated from.
pub const SOURCE: (&str, &str) = ("bookworm", "4.17");

pub const GENERATED: &str = "xenlight/src/types/generated.rs";
pub const SAMPLES: &str = "tests/idl/samples.rs";

/// Fetches (once) Debian's `xen` source package for `suite` and returns the
/// path of its libxl_types.idl; xl's sources (`tools/xl/*.c`, read by
/// `cargo xtask xl-coverage`) are kept beside it, in `xl/`.
pub fn fetch_idl(suite: &str) -> Result<PathBuf> {
    let dir = cache_dir().join(format!("xen-src-{suite}"));
    let idl = dir.join("libxl_types.idl");
    let xl = dir.join("xl");
    if idl.is_file() && xl.is_dir() {
        return Ok(idl);
    }
    let mirror = crate::xen420::machine_mirror()?;
    let apt = dir.join("apt");
    step!("==> fetching Debian {suite}'s xen source package (for libxl_types.idl)");
    crate::xen420::prepare_private_apt(
        &apt,
        &format!("deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {mirror} {suite} main"),
    )?;
    let src = dir.join("src");
    let _ = fs::remove_dir_all(&src);
    fs::create_dir_all(&src)?;
    let mut dl = Command::new("apt-get");
    crate::xen420::private_apt(&mut dl, &apt);
    run(dl
        .current_dir(&src)
        .args(["source", "--download-only", &format!("xen/{suite}")]))?;
    let orig = fs::read_dir(&src)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".orig.tar.xz"))
        .context("the source package has no .orig.tar.xz")?;
    run(Command::new("tar")
        .arg("-xJf")
        .arg(&orig)
        .arg("-C")
        .arg(&src)
        .args([
            "--wildcards",
            "*/tools/libs/light/libxl_types.idl",
            "*/tools/xl/*.c",
            "*/tools/xl/*.h",
        ]))?;
    let found = find_file(&src, "libxl_types.idl").context("no libxl_types.idl in the package")?;
    let xl_src = find_file(&src, "xl_cmdtable.c")
        .and_then(|f| f.parent().map(Path::to_path_buf))
        .context("no tools/xl in the package")?;
    let _ = fs::remove_dir_all(&xl);
    fs::create_dir_all(&xl)?;
    for e in fs::read_dir(&xl_src)?.flatten() {
        fs::copy(e.path(), xl.join(e.file_name()))?;
    }
    let version = orig
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    fs::copy(&found, &idl)?;
    fs::write(dir.join("origin"), version)?;
    Ok(idl)
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_file(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

/// The newer releases whose IDLs are vendored in xtask/idl (see its
/// README), oldest first, each with the cfg that gates what it adds to the
/// releases before it. Xen 4.18's IDL is not among them: built against
/// 4.18, the types lack what 4.18 added (gated on 4.19).
pub const NEWER: &[(&str, &str)] = &[
    ("4.19.6", "xen_4_19"),
    ("4.20.4", "xen_4_20"),
    ("4.21.2", "xen_4_21"),
    ("4.22.0", "xen_4_22"),
];

/// The doc line of an item gated on `cfg` (`xen_4_21` -> "Xen 4.21").
fn gate_note(cfg: &str) -> String {
    let release = cfg.trim_start_matches("xen_").replace('_', ".");
    format!("Only built against Xen {release} or newer (`{cfg}`).")
}

/// The IDL of a vendored release, read.
fn vendored_idl(release: &str) -> Result<Idl> {
    let path = workspace_root().join(format!("xtask/idl/libxl_types-{release}.idl"));
    let src = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    idl::read(&src).with_context(|| format!("reading {}", path.display()))
}

/// The IDL of [`SOURCE`], read.
fn source_idl() -> Result<(Idl, String)> {
    let (suite, release) = SOURCE;
    let idl_path = fetch_idl(suite)?;
    let origin = fs::read_to_string(idl_path.with_file_name("origin")).unwrap_or_default();
    let src = fs::read_to_string(&idl_path)?;
    let model = idl::read(&src).context("reading libxl_types.idl")?;
    Ok((model, format!("Xen {release} (Debian {suite}: {origin})")))
}

/// The model the code is generated from: the IDL of [`SOURCE`], and what
/// each of the [`NEWER`] releases' IDLs adds, gated on that release's cfg;
/// and a line naming the origins.
pub fn model() -> Result<(Idl, String)> {
    let (mut model, origin) = source_idl()?;
    let mut what = format!("libxl_types.idl of {origin}");
    for (release, cfg) in NEWER {
        let newer = vendored_idl(release)?;
        let added = idl_merge::add_release(&mut model, &newer, cfg)
            .with_context(|| format!("merging Xen {release}'s IDL"))?;
        write!(
            what,
            ",\n// gated on `{cfg}` the {} additions of Xen {release}'s",
            added.len()
        )?;
    }
    what.push_str(" (xtask/idl)");
    Ok((model, what))
}

/// The IDL's types a model has: enumerations, named structs, and keyed
/// unions (as `struct.field`), as the generated code's `// idl:` lines
/// name them.
fn idl_types(model: &Idl) -> BTreeSet<String> {
    let mut types = BTreeSet::new();
    for e in &model.enums {
        types.insert(format!("libxl_{}", e.name));
    }
    for s in &model.structs {
        if let Some(n) = &s.name {
            types.insert(format!("libxl_{n}"));
        }
        for f in &s.fields {
            if let Ty::KeyedUnion(_) = f.ty {
                let root = s.name.clone().unwrap_or_default();
                types.insert(format!("libxl_{root}.{}", f.name));
            }
        }
    }
    types
}

/// `cargo xtask gen-types [--check]`.
pub fn gen_types(check: bool) -> Result<bool> {
    let (model, what) = model()?;
    let header = format!(
        "// @generated by `cargo xtask gen-types` (xtask/src/gen_types.rs) from\n\
         // {what}. Do not edit.\n"
    );
    let outputs = [
        (GENERATED, format!("{header}{}", Gen::new(&model).types()?)),
        (SAMPLES, format!("{header}{}", Gen::new(&model).samples()?)),
    ];
    let outputs = outputs
        .into_iter()
        .map(|(rel, text)| Ok((rel, rustfmt(&text)?)))
        .collect::<Result<Vec<_>>>()?;
    write_generated(&outputs, check, "gen-types")
}

/// Writes generated files, or with `check` only compares them: true when
/// every checked-in file equals its fresh generation.
pub fn write_generated(files: &[(&str, String)], check: bool, command: &str) -> Result<bool> {
    let mut stale = Vec::new();
    for (rel, text) in files {
        let path = workspace_root().join(rel);
        if fs::read_to_string(&path).unwrap_or_default() == *text {
            println!("{rel} is current");
        } else if check {
            stale.push(*rel);
        } else {
            fs::write(&path, text)?;
            println!("wrote {rel} ({} lines)", text.lines().count());
        }
    }
    if !stale.is_empty() {
        println!(
            "{command}: {} differ from a fresh generation; run `cargo xtask {command}`",
            stale.join(", ")
        );
        return Ok(false);
    }
    Ok(true)
}

fn rustfmt(text: &str) -> Result<String> {
    use std::io::Write;
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("rustfmt")?;
    child
        .stdin
        .take()
        .context("rustfmt stdin")?
        .write_all(text.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("rustfmt failed on the generated code");
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// `cargo xtask type-coverage`: each supported release's IDL types
/// (structs, enums and keyed unions) against the generated code, a line
/// per release, and the merged model's.
pub fn type_coverage() -> Result<bool> {
    let generated = fs::read_to_string(workspace_root().join(GENERATED))?;
    let covered: BTreeSet<String> = generated
        .lines()
        .filter_map(|l| l.trim().strip_prefix("// idl: "))
        .map(str::to_owned)
        .collect();
    let mut releases = vec![(SOURCE.1.to_owned(), source_idl()?.0)];
    for (release, _) in NEWER {
        releases.push(((*release).to_owned(), vendored_idl(release)?));
    }
    let mut complete = true;
    for (release, idl) in &releases {
        let types = idl_types(idl);
        let missing: Vec<_> = types.difference(&covered).collect();
        for m in &missing {
            println!("  Xen {release}: not covered: {m}");
        }
        complete &= missing.is_empty();
        println!(
            "Xen {release}: idl types covered: {}/{}",
            types.len() - missing.len(),
            types.len()
        );
    }
    let (model, _) = model()?;
    let all = idl_types(&model);
    let missing = all.difference(&covered).count();
    complete &= missing == 0;
    let gated = |cfg: &str| {
        model
            .enums
            .iter()
            .filter(|e| e.cfg.as_deref() == Some(cfg))
            .count()
            + model
                .structs
                .iter()
                .filter(|s| s.cfg.as_deref() == Some(cfg))
                .count()
    };
    let gated_fields = |cfg: &str| {
        model
            .structs
            .iter()
            .flat_map(|s| &s.fields)
            .filter(|f| f.cfg.as_deref() == Some(cfg))
            .count()
    };
    for (release, cfg) in NEWER {
        println!(
            "  added by Xen {release} ({cfg}): {} types, {} fields in older types",
            gated(cfg),
            gated_fields(cfg)
        );
    }
    let fields: usize = generated
        .lines()
        .filter(|l| l.trim().starts_with("// field: "))
        .count();
    println!("fields reachable safely: {fields}");
    println!(
        "idl types covered (every release): {}/{}",
        all.len() - missing,
        all.len()
    );
    Ok(complete)
}

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

/// A field or arm name as Rust (and bindgen) spell it: keywords get a `_`.
/// The Rust name of a struct field: a keyed union is named by its key.
fn rust_field(f: &Field) -> String {
    match &f.ty {
        Ty::KeyedUnion(ku) => ident(&ku.keyvar),
        _ => ident(&f.name),
    }
}

fn ident(n: &str) -> String {
    if KEYWORDS.contains(&n) {
        format!("{n}_")
    } else {
        n.to_owned()
    }
}

/// `#[cfg(..)]` for an item only a newer Xen has, else nothing.
fn cfg_attr(cfg: &Option<String>) -> String {
    cfg.as_ref()
        .map(|c| format!("#[cfg({c})]\n"))
        .unwrap_or_default()
}

/// Wraps the items of a type only a newer Xen has in a module gated on
/// its cfg, re-exported.
fn gate_items(items: &str, module: &str, cfg: &str, reexport: bool) -> String {
    let mut o = format!("#[cfg({cfg})]\nmod {module} {{\nuse super::*;\n{items}}}\n");
    if reexport {
        let _ = writeln!(o, "#[cfg({cfg})]\npub use {module}::*;\n");
    }
    o
}

fn doc(lines: &[String], indent: &str) -> String {
    let mut s = String::new();
    for l in lines {
        let l = l
            .replace('[', "\\[")
            .replace(']', "\\]")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let _ = writeln!(s, "{indent}/// {l}");
    }
    s
}

/// Where an anonymous struct or union sits: its named root struct and the
/// C path from the root to it.
#[derive(Clone)]
struct Place {
    /// The root's IDL name (e.g. `domain_build_info`).
    root: String,
    /// The C path below the root, e.g. `u.hvm.` (ends with '.' or is empty).
    path: String,
    /// For a union arm: (keyvar, key value) to select it with `_init_<key>`.
    arm: Option<(String, i64)>,
}

struct Gen<'a> {
    idl: &'a Idl,
    /// Rust name of each struct (anonymous ones get their place's name).
    names: Vec<String>,
    places: Vec<Option<Place>>,
    out: String,
}

impl<'a> Gen<'a> {
    fn new(idl: &'a Idl) -> Self {
        let mut g = Gen {
            idl,
            names: vec![String::new(); idl.structs.len()],
            places: vec![None; idl.structs.len()],
            out: String::new(),
        };
        for (i, s) in idl.structs.iter().enumerate() {
            if let Some(n) = &s.name {
                g.names[i] = Idl::camel(n);
                g.name_children(i, n.clone(), Idl::camel(n), String::new());
            }
        }
        g
    }

    fn name_children(&mut self, i: usize, root: String, rust: String, path: String) {
        for f in self.idl.structs[i].fields.clone() {
            match &f.ty {
                Ty::Struct(j) if self.idl.structs[*j].name.is_none() => {
                    let name = format!("{rust}{}", Idl::camel(&f.name));
                    self.names[*j] = name.clone();
                    let p = format!("{path}{}.", ident(&f.name));
                    self.places[*j] = Some(Place {
                        root: root.clone(),
                        path: p.clone(),
                        arm: None,
                    });
                    self.name_children(*j, root.clone(), name, p);
                }
                Ty::KeyedUnion(ku) => {
                    let uname = format!("{rust}{}", Idl::camel(&ku.keyvar));
                    // Arms: `DomainBuildInfoTypeHvm`.
                    for (arm, st) in &ku.arms {
                        if let Some(j) = st {
                            let name = format!("{uname}{}", Idl::camel(arm));
                            self.names[*j] = name.clone();
                            let p = format!("{path}{}.{}.", ident(&f.name), ident(arm));
                            let key = self.key_value(ku, arm);
                            self.places[*j] = Some(Place {
                                root: root.clone(),
                                path: p.clone(),
                                arm: Some((ku.keyvar.clone(), key)),
                            });
                            self.name_children(*j, root.clone(), name, p);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn key_value(&self, ku: &KeyedUnion, arm: &str) -> i64 {
        self.idl.enums[ku.key_enum]
            .values
            .iter()
            .find(|(_, n, _)| n.eq_ignore_ascii_case(arm))
            .map_or(0, |(v, _, _)| *v)
    }

    /// As Xen's Go bindings name it (`DomainBuildInfoTypeUnion`): the key's
    /// name alone can be an IDL type's (`libxl_event`'s `type`).
    fn union_name(&self, parent: usize, ku: &KeyedUnion) -> String {
        format!("{}{}Union", self.names[parent], Idl::camel(&ku.keyvar))
    }

    fn rust_ty(&self, t: &Ty, parent: usize) -> String {
        match t {
            Ty::Builtin(b) | Ty::Number { base: b, .. } => builtin_ty(*b).to_owned(),
            Ty::Enum(e) => Idl::camel(&self.idl.enums[*e].name),
            Ty::Struct(s) => self.names[*s].clone(),
            Ty::Array { elem, .. } => format!("Vec<{}>", self.rust_ty(elem, parent)),
            Ty::KeyedUnion(ku) => self.union_name(parent, ku),
        }
    }

    /// The fields a Rust struct carries: private and const ones are libxl's.
    fn fields(&self, s: usize) -> Vec<&'a idl::Field> {
        self.idl.structs[s]
            .fields
            .iter()
            .filter(|f| !f.is_const && f.ty != Ty::Builtin(Builtin::Libxl("ev_link")))
            .collect()
    }

    fn types(mut self) -> Result<String> {
        self.out.push_str(
            "//! Every type of libxl's IDL as plain Rust, with its conversions.\n\
             #![allow(clippy::unnecessary_cast, clippy::needless_update, clippy::identity_op, clippy::large_enum_variant, clippy::manual_range_patterns)]\n\n\
             use super::*;\n\n",
        );
        for item in self.idl.order.clone() {
            match item {
                Ok(e) => self.gen_enum(e),
                Err(s) => self.gen_struct_tree(s)?,
            }
        }
        self.gen_bitmap_keys();
        Ok(self.out)
    }

    /// The JSON keys whose values are bitmaps (or arrays of them), for the
    /// check of untrusted JSON before libxl's parser sizes a map from it.
    fn gen_bitmap_keys(&mut self) {
        let bitmap = Ty::Builtin(Builtin::Libxl("bitmap"));
        let mut keys: Vec<&str> = self
            .idl
            .structs
            .iter()
            .flat_map(|s| &s.fields)
            .filter(|f| match &f.ty {
                Ty::Array { elem, .. } => **elem == bitmap,
                t => *t == bitmap,
            })
            .map(|f| f.name.as_str())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let list: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
        let _ = writeln!(
            self.out,
            "/// The JSON keys of every `libxl_bitmap` field (or array of them) in the IDL.\n\
             pub(crate) const BITMAP_KEYS: &[&str] = &[{}];\n",
            list.join(", ")
        );
    }

    fn gen_enum(&mut self, e: usize) {
        let en = &self.idl.enums[e];
        let name = Idl::camel(&en.name);
        let mut s = String::new();
        let _ = writeln!(s, "// idl: libxl_{}", en.name);
        s += &cfg_attr(&en.cfg);
        s += "idl_enum! {\n";
        s += &doc(&en.doc, "    ");
        let _ = writeln!(
            s,
            "    /// libxl: `libxl_{}`{}.",
            en.name,
            en.init_val
                .as_ref()
                .map(|v| format!(" (default `{v}`)"))
                .unwrap_or_default()
        );
        // The default is the IDL's init_val (what libxl's _init gives a
        // field of this type), else zero.
        let default = en
            .init_val
            .as_ref()
            .and_then(|iv| {
                en.values.iter().find(|(_, n, _)| {
                    iv.to_uppercase()
                        .ends_with(&format!("_{}", n.to_uppercase()))
                })
            })
            .map_or(0, |(v, _, _)| *v);
        let _ = writeln!(
            s,
            "    {name} = libxl_{0}, libxl_{0}_to_json, libxl_{0}_from_json, default {default} {{",
            en.name
        );
        for (v, n, d) in &en.values {
            s += &doc(d, "        ");
            let _ = writeln!(
                s,
                "        /// libxl: `{}{}_{}`.",
                en.value_namespace.to_uppercase(),
                en.name.to_uppercase(),
                n.to_uppercase()
            );
            let gate = en
                .value_cfgs
                .get(n)
                .map(|c| format!(", cfg({c})"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "        {} = {v}, {:?}{gate};",
                Idl::variant(n),
                n.to_lowercase()
            );
        }
        s += "    }\n}\n\n";
        self.out.push_str(&s);
    }

    /// A named struct and the anonymous structs and unions inside it.
    fn gen_struct_tree(&mut self, s: usize) -> Result<()> {
        let start = self.out.len();
        let mut inner = Vec::new();
        self.collect_inner(s, &mut inner);
        for (kind, idx, parent) in inner {
            match kind {
                Inner::Struct => self.gen_struct(idx)?,
                Inner::Union(field) => self.gen_union(parent, field)?,
            }
        }
        self.gen_struct(s)?;
        if let Some(c) = &self.idl.structs[s].cfg {
            let items = self.out.split_off(start);
            let module = format!("{}_{c}", snake(&self.names[s]));
            self.out += &gate_items(&items, &module, c, true);
        }
        Ok(())
    }

    fn collect_inner(&self, s: usize, out: &mut Vec<(Inner, usize, usize)>) {
        for (fi, f) in self.idl.structs[s].fields.iter().enumerate() {
            match &f.ty {
                Ty::Struct(j) if self.idl.structs[*j].name.is_none() => {
                    self.collect_inner(*j, out);
                    out.push((Inner::Struct, *j, s));
                }
                Ty::KeyedUnion(ku) => {
                    for j in ku.arms.iter().filter_map(|(_, st)| *st) {
                        self.collect_inner(j, out);
                        out.push((Inner::Struct, j, s));
                    }
                    out.push((Inner::Union(fi), s, s));
                }
                _ => {}
            }
        }
    }

    fn place(&self, s: usize) -> Place {
        match &self.places[s] {
            Some(p) => p.clone(),
            None => Place {
                root: self.idl.structs[s].name.clone().unwrap_or_default(),
                path: String::new(),
                arm: None,
            },
        }
    }

    fn gen_struct(&mut self, s: usize) -> Result<()> {
        let st = &self.idl.structs[s];
        let name = self.names[s].clone();
        let place = self.place(s);
        let root_c = format!("sys::libxl_{}", place.root);
        let mut o = String::new();
        if let Some(n) = &st.name {
            let _ = writeln!(o, "// idl: libxl_{n}");
        }
        o += &doc(&st.doc, "");
        match &st.name {
            Some(n) => {
                let dir = match st.dir {
                    Dir::In => " Passed to libxl.",
                    Dir::Out => " Filled by libxl.",
                    Dir::Both => "",
                };
                let _ = writeln!(o, "///\n/// libxl: `libxl_{n}`.{dir}");
                if let Some(c) = &st.cfg {
                    let _ = writeln!(o, "///\n/// {}", gate_note(c));
                }
            }
            None => {
                let _ = writeln!(
                    o,
                    "/// Part of [`{}`]: libxl's `{}`.",
                    Idl::camel(&place.root),
                    place.path.trim_end_matches('.')
                );
            }
        }
        o += "#[derive(Debug, Clone, PartialEq, Eq)]\n";
        o += "#[cfg_attr(feature = \"arbitrary\", derive(arbitrary::Arbitrary))]\n";
        // Missing fields take libxl's defaults, as libxl's own parser does.
        o += "#[cfg_attr(feature = \"serde\", derive(serde::Serialize, serde::Deserialize), serde(default))]\n";
        let _ = writeln!(o, "pub struct {name} {{");
        let fields = self.fields(s);
        for f in &fields {
            let _ = writeln!(o, "    // field: {}", f.name);
            o += &doc(&f.doc, "    ");
            if let Some(by) = &f.deprecated_by {
                let _ = writeln!(o, "    ///\n    /// Deprecated: libxl uses `{by}` instead.");
            }
            if f.doc.is_empty() && f.deprecated_by.is_none() {
                let _ = writeln!(o, "    /// libxl: `{}`.", f.name);
            }
            let fname = rust_field(f);
            if let Some(c) = &f.cfg {
                let _ = writeln!(o, "    ///\n    /// {}", gate_note(c));
                let _ = write!(o, "    {}", cfg_attr(&f.cfg));
            }
            if let Some(attr) = serde_attr(f, &fname) {
                let _ = writeln!(o, "    #[cfg_attr(feature = \"serde\", serde({attr}))]");
            }
            let _ = writeln!(o, "    pub {fname}: {},", self.rust_ty(&f.ty, s));
        }
        o += "}\n\n";

        // Reading and writing, through the root's C struct.
        let what = format!("libxl_{}.{}", place.root, place.path);
        let mut rd = String::new();
        let mut wr = String::new();
        let mut drops = String::new();
        let sn = snake(&name);
        for (k, f) in fields.iter().enumerate() {
            let cpath = format!("c.{}{}", place.path, ident(&f.name));
            let what_f = format!("{what}{}", f.name);
            rd += &cfg_attr(&f.cfg);
            wr += &cfg_attr(&f.cfg);
            let fname = rust_field(f);
            drops += &cfg_attr(&f.cfg);
            let _ = writeln!(drops, "{k}: {fname};");
            match &f.ty {
                Ty::KeyedUnion(ku) => {
                    let uname = self.union_name(s, ku);
                    let _ = writeln!(
                        rd,
                        "{k}: put_field(read_{}(c), addr_of_mut!((*p).{fname}));",
                        snake(&uname)
                    );
                    let _ = writeln!(wr, "write_{}(&v.{fname}, c)?;", snake(&uname));
                }
                Ty::Struct(j) if st_anon(self.idl, *j) => {
                    let n = snake(&self.names[*j]);
                    let _ = writeln!(
                        rd,
                        "{k}: read_{n}_into(c, &mut *addr_of_mut!((*p).{fname}).cast());"
                    );
                    let _ = writeln!(wr, "write_{n}(&v.{fname}, c)?;");
                }
                Ty::Array { lenvar, .. } => {
                    let lp = format!("c.{}{}", place.path, ident(lenvar));
                    let _ = writeln!(
                        rd,
                        "{k}: put_field(read_array({cpath}, {lp}), addr_of_mut!((*p).{fname}));"
                    );
                    let _ = writeln!(
                        wr,
                        "write_array({what_f:?}, &v.{fname}, &mut {cpath}, &mut {lp})?;"
                    );
                }
                _ => {
                    let _ = writeln!(rd, "{k}: read_field(&{cpath}, addr_of_mut!((*p).{fname}));");
                    let _ = writeln!(
                        wr,
                        "CValue::write_c(&v.{fname}, &mut {cpath}).map_err(|e| e.in_field({what_f:?}))?;"
                    );
                }
            }
        }
        let _ = write!(
            o,
            "/// # Safety\n/// `c` is initialised.\n\
             #[inline]\n\
             unsafe fn read_{sn}(c: &{root_c}) -> Result<{name}> {{\n\
             let mut out = MaybeUninit::uninit();\n\
             // SAFETY: caller's contract; `out` is initialised on `Ok`.\n\
             unsafe {{ read_{sn}_into(c, &mut out)?; Ok(out.assume_init()) }}\n}}\n\n\
             /// # Safety\n/// `c` is initialised.\n\
             unsafe fn read_{sn}_into(c: &{root_c}, out: &mut MaybeUninit<{name}>) -> Result<()> {{\n\
             // Field by field in place: a struct literal would be built\n\
             // elsewhere and moved, and device structs are large.\n\
             let p = out.as_mut_ptr();\n\
             // SAFETY: `c` is initialised (caller's contract); union arms are\n\
             // read only under their key (see the union readers). Each field\n\
             // of `*p` is written once, in order; on an error the ones written\n\
             // are dropped and `out` is left uninitialised.\n\
             unsafe {{ read_fields! {{ p, drop_{sn}_fields;\n{rd}}} }}\nOk(())\n}}\n\n\
             /// Drops the first `done` fields of a value whose read failed.\n\
             ///\n/// # Safety\n/// Those fields of `*p` are initialised; they are not used again.\n\
             #[cold]\n#[inline(never)]\n\
             unsafe fn drop_{sn}_fields(p: *mut {name}, done: usize, e: crate::error::Error) -> crate::error::Error {{\n\
             let _ = (p, done);\n\
             // SAFETY: caller's contract.\n\
             unsafe {{ drop_fields! {{ p, done;\n{drops}}} }}\ne\n}}\n\n\
             /// # Safety\n/// `c` is as `_init` left it (and its union arm selected).\n\
             unsafe fn write_{sn}(v: &{name}, c: &mut {root_c}) -> Result<()> {{\n\
             let _ = &v;\n\
             // SAFETY: `c` is as `_init` left it (caller's contract).\n\
             unsafe {{\n{wr}}}\nOk(())\n}}\n\n"
        );
        match &st.name {
            Some(n) => {
                let _ = write!(
                    o,
                    "impl CValue for {name} {{\n\
                     type C = sys::libxl_{n};\n\
                     #[inline]\n\
                     unsafe fn read_c(c: &Self::C) -> Result<Self> {{\n\
                     // SAFETY: caller's contract.\n unsafe {{ read_{sn}(c) }}\n}}\n\
                     unsafe fn read_into(c: &Self::C, out: &mut MaybeUninit<Self>) -> Result<()> {{\n\
                     // SAFETY: caller's contract.\n unsafe {{ read_{sn}_into(c, out) }}\n}}\n\
                     unsafe fn write_c(&self, c: &mut Self::C) -> Result<()> {{\n\
                     // SAFETY: caller's contract.\n unsafe {{ write_{sn}(self, c) }}\n}}\n}}\n\n\
                     impl JsonC for {name} {{\n\
                     unsafe fn gen_json(ctx: *mut sys::libxl_ctx, c: &mut Self::C) -> *mut c_char {{\n\
                     // SAFETY: caller's contract.\n unsafe {{ sys::libxl_{n}_to_json(ctx, c) }}\n}}\n\
                     unsafe fn parse_json(ctx: *mut sys::libxl_ctx, c: &mut Self::C, s: *const c_char) -> c_int {{\n\
                     // SAFETY: caller's contract.\n unsafe {{ sys::libxl_{n}_from_json(ctx, c, s) }}\n}}\n}}\n\n\
                     impl IdlType for {name} {{\n const LIBXL_NAME: &'static str = \"libxl_{n}\";\n}}\n\n\
                     impl Default for {name} {{\n\
                     /// libxl's defaults (`libxl_{n}_init`).\n\
                     fn default() -> Self {{\n default_of::<Self>()\n}}\n}}\n\n"
                );
                if st.dispose_fn {
                    let _ = writeln!(
                        o,
                        "libxl_structs! {{ libxl_{n} => libxl_{n}_init, libxl_{n}_dispose; }}\n"
                    );
                } else {
                    let _ = writeln!(
                        o,
                        "libxl_structs! {{ libxl_{n} => libxl_{n}_init, no dispose; }}\n"
                    );
                }
            }
            None => {
                let select = match &place.arm {
                    Some((keyvar, key)) => format!(
                        "// SAFETY: a fresh value; its key is still the init value.\n\
                         unsafe {{ sys::libxl_{}_init_{keyvar}(c.as_mut_ptr(), {key} as _) }};\n",
                        place.root
                    ),
                    None => String::new(),
                };
                let _ = write!(
                    o,
                    "impl Default for {name} {{\n\
                     /// libxl's defaults (from `libxl_{root}_init`{arm}).\n\
                     fn default() -> Self {{\n\
                     #[allow(unused_mut)]\n\
                     let mut c = Owned::<{root_c}>::new();\n{select}\
                     // SAFETY: initialised above.\n\
                     let r = unsafe {{ read_{sn}(&c) }};\n\
                     r.unwrap_or_else(|e| unreachable!(\"libxl's _init left an unreadable value: {{e}}\"))\n}}\n}}\n\n",
                    root = place.root,
                    arm = place
                        .arm
                        .as_ref()
                        .map(|(k, _)| format!(" and `_init_{k}`"))
                        .unwrap_or_default(),
                );
            }
        }
        self.out.push_str(&o);
        Ok(())
    }

    fn gen_union(&mut self, parent: usize, field: usize) -> Result<()> {
        let f = &self.idl.structs[parent].fields[field];
        let Ty::KeyedUnion(ku) = &f.ty else {
            bail!("not a union")
        };
        let place = self.place(parent);
        if !place.path.is_empty() {
            bail!(
                "a keyed union below the top of libxl_{} is new to the generator",
                place.root
            );
        }
        let root = place.root.clone();
        let name = self.union_name(parent, ku);
        let key_enum = &self.idl.enums[ku.key_enum];
        let key_ty = Idl::camel(&key_enum.name);
        let keyvar = ident(&ku.keyvar);
        let u = ident(&f.name);
        let mut o = String::new();
        let _ = writeln!(o, "// idl: libxl_{root}.{}", f.name);
        let _ = writeln!(
            o,
            "/// libxl's `{}` union of [`{}`], keyed by `{}`: only the arm the key\n\
             /// names can be read.\n#[derive(Debug, Clone, PartialEq, Eq)]\n\
             #[cfg_attr(feature = \"arbitrary\", derive(arbitrary::Arbitrary))]\npub enum {name} {{",
            f.name,
            Idl::camel(&root),
            ku.keyvar
        );
        let mut rd = String::new();
        let mut wr = String::new();
        let mut listed = Vec::new();
        for (arm, st) in &ku.arms {
            let v = Idl::camel(arm);
            let key = self.key_value(ku, arm);
            listed.push(key.to_string());
            let _ = writeln!(o, "    /// `{key_ty}::{v}`.");
            match st {
                Some(j) => {
                    let an = &self.names[*j];
                    let _ = writeln!(o, "    {v}({an}),");
                    let _ = writeln!(rd, "{key} => {name}::{v}(read_{}(c)?),", snake(an));
                    let _ = writeln!(
                        wr,
                        "{name}::{v}(a) => {{ sys::libxl_{root}_init_{}(c, {key} as _); write_{}(a, c)?; }}",
                        ku.keyvar,
                        snake(an)
                    );
                }
                None => {
                    let _ = writeln!(o, "    {v},");
                    let _ = writeln!(rd, "{key} => {name}::{v},");
                    let _ = writeln!(
                        wr,
                        "{name}::{v} => sys::libxl_{root}_init_{}(c, {key} as _),",
                        ku.keyvar
                    );
                }
            }
        }
        let _ = writeln!(
            o,
            "    /// A key this crate's IDL does not know (from a newer libxl); its\n    \
             /// arm cannot be read.\n    Other(i32),\n}}\n"
        );
        let sn = snake(&name);
        let _ = write!(
            o,
            "/// # Safety\n/// `c` is initialised.\n\
             unsafe fn read_{sn}(c: &sys::libxl_{root}) -> Result<{name}> {{\n\
             // SAFETY: each arm is read only when the key names it.\n\
             unsafe {{ Ok(match c.{keyvar} as i32 {{\n{rd}other => {name}::Other(other),\n}}) }}\n}}\n\n\
             /// # Safety\n/// `c` is as `_init` left it: the key is unselected.\n\
             unsafe fn write_{sn}(v: &{name}, c: &mut sys::libxl_{root}) -> Result<()> {{\n\
             // SAFETY: `_init_{kv}` runs once, on a fresh value (caller's\n\
             // contract), and selects the arm that is then written.\n\
             unsafe {{ match v {{\n{wr}\
             // A listed key needs its arm's `_init`: `Other` has no arm to give.\n\
             {name}::Other(k @ {listed_keys}) => return Err(crate::Error::InvalidConfig {{\n\
             field: \"libxl_{root}.{kv}\".into(),\n\
             reason: format!(\"Other({{k}}) names a key libxl lists: use its arm\"),\n\
             }}),\n\
             {name}::Other(k) => c.{keyvar} = *k as _,\n}} }}\nOk(())\n}}\n\n\
             impl Default for {name} {{\n\
             /// libxl's default key (from `libxl_{root}_init`).\n\
             fn default() -> Self {{\n\
             let c = Owned::<sys::libxl_{root}>::new();\n\
             // SAFETY: initialised.\n\
             let r = unsafe {{ read_{sn}(&c) }};\n\
             r.unwrap_or_else(|e| unreachable!(\"libxl's _init left an unreadable value: {{e}}\"))\n}}\n}}\n\n",
            kv = ku.keyvar,
            listed_keys = if listed.len() == 1 {
                listed.concat()
            } else {
                format!("({})", listed.join(" | "))
            },
        );
        let _ = u;
        o += &self.union_serde(&name, ku);
        self.out.push_str(&o);
        Ok(())
    }

    /// A keyed union in libxl's JSON: the arm as `"type.hvm": {...}` (`{}`
    /// for an arm without data) in the parent's object (the parent flattens
    /// the union field). A key libxl does not list is written as
    /// `"type": <integer>`; `"type": "hvm"` is read too.
    fn union_serde(&self, name: &str, ku: &KeyedUnion) -> String {
        let key_enum = &self.idl.enums[ku.key_enum];
        let key_ty = Idl::camel(&key_enum.name);
        let k = &ku.keyvar;
        let (mut ser, mut de_arm, mut de_key, mut raw) =
            (String::new(), String::new(), String::new(), String::new());
        for (arm, st) in &ku.arms {
            let v = Idl::camel(arm);
            let key = self.key_value(ku, arm);
            let lname = arm.to_lowercase();
            let _ = writeln!(
                raw,
                "{name}::{v}{} => {key},",
                if st.is_some() { "(_)" } else { "" }
            );
            match st {
                Some(_) => {
                    let _ = writeln!(
                        ser,
                        "{name}::{v}(a) => m.serialize_entry(\"{k}.{lname}\", a)?,"
                    );
                    let _ = writeln!(
                        de_arm,
                        "\"{k}.{lname}\" => {{ if arm.is_some() {{ return Err(serde_impl::two_arms(\"{k}\")); }} arm = Some({name}::{v}(m.next_value()?)); }}"
                    );
                    let _ = writeln!(de_key, "{key} => {name}::{v}(Default::default()),");
                }
                None => {
                    // libxl writes an arm without data as an empty object.
                    let _ = writeln!(
                        ser,
                        "{name}::{v} => m.serialize_entry(\"{k}.{lname}\", &Empty {{}})?,"
                    );
                    let _ = writeln!(
                        de_arm,
                        "\"{k}.{lname}\" => {{ if arm.is_some() {{ return Err(serde_impl::two_arms(\"{k}\")); }} m.next_value::<serde::de::IgnoredAny>()?; arm = Some({name}::{v}); }}"
                    );
                    let _ = writeln!(de_key, "{key} => {name}::{v},");
                }
            }
        }
        format!(
            "impl {name} {{\n\
             /// libxl's integer for the key of this arm.\n\
             #[allow(dead_code)]\n\
             fn key_raw(&self) -> i32 {{\n match self {{\n{raw}{name}::Other(k) => *k,\n}}\n}}\n}}\n\n\
             #[cfg(feature = \"serde\")]\n\
             impl serde::Serialize for {name} {{\n\
             fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {{\n\
             use serde::ser::SerializeMap;\n\
             #[derive(serde::Serialize)]\n\
             #[allow(dead_code)]\n\
             struct Empty {{}}\n\
             let mut m = s.serialize_map(None)?;\n\
             match self {{\n{ser}{name}::Other(k) => m.serialize_entry(\"{k}\", k)?,\n}}\n\
             m.end()\n}}\n}}\n\n\
             #[cfg(feature = \"serde\")]\n\
             impl<'de> serde::Deserialize<'de> for {name} {{\n\
             fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {{\n\
             struct V;\n\
             impl<'de> serde::de::Visitor<'de> for V {{\n\
             type Value = {name};\n\
             fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {{\n\
             f.write_str(\"libxl's \\\"{k}\\\" and \\\"{k}.<arm>\\\" keys\")\n}}\n\
             fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> std::result::Result<{name}, A::Error> {{\n\
             let mut key: Option<{key_ty}> = None;\n\
             let mut arm: Option<{name}> = None;\n\
             while let Some(k) = m.next_key::<String>()? {{\n\
             match k.as_str() {{\n\
             \"{k}\" => key = Some(m.next_value()?),\n{de_arm}\
             _ => {{ m.next_value::<serde::de::IgnoredAny>()?; }}\n}}\n}}\n\
             match (key.map({key_ty}::to_raw), arm) {{\n\
             (Some(named), Some(a)) if named != a.key_raw() => Err(serde_impl::key_mismatch(\"{k}\", named, a.key_raw())),\n\
             (_, Some(a)) => Ok(a),\n\
             (Some(named), None) => Ok(match named {{\n{de_key}other => {name}::Other(other),\n}}),\n\
             (None, None) => Ok({name}::default()),\n}}\n}}\n}}\n\
             d.deserialize_map(V)\n}}\n}}\n\n"
        )
    }

    /// `tests/idl/samples.rs`: a value of every type with every field set
    /// to something other than its default, one per union arm.
    fn samples(mut self) -> Result<String> {
        self.out.push_str(
            "//! A value of every IDL type with every field set away from its\n\
             //! default, for the round-trip tests (Xen's gentest.py, in Rust).\n\
             #![allow(clippy::all, dead_code)]\n\n\
             use xenlight::types::*;\n\
             use xenlight::{Mac, Uuid};\n\n\
             /// Builds a value from a seed; different seeds give different values.\n\
             pub trait Sample: Sized {\n    fn sample(seed: u32) -> Self;\n}\n\n\
             include!(\"builtin_samples.rs\");\n\n",
        );
        let mut visit = String::new();
        for item in self.idl.order.clone() {
            match item {
                Ok(e) => {
                    let en = &self.idl.enums[e];
                    let name = Idl::camel(&en.name);
                    let default = en.init_val.as_ref().and_then(|iv| {
                        en.values.iter().find(|(_, n, _)| {
                            iv.to_uppercase()
                                .ends_with(&format!("_{}", n.to_uppercase()))
                        })
                    });
                    let choices: Vec<String> = en
                        .values
                        .iter()
                        .filter(|(v, n, _)| {
                            Some(*v) != default.map(|d| d.0)
                                && (*v != 0 || default.is_some())
                                && !n.is_empty()
                        })
                        .map(|(_, n, _)| {
                            let gate = en
                                .value_cfgs
                                .get(n)
                                .map(|c| format!("#[cfg({c})] "))
                                .unwrap_or_default();
                            format!("{gate}{name}::{}", Idl::variant(n))
                        })
                        .collect();
                    let gate = cfg_attr(&en.cfg);
                    let _ = write!(
                        self.out,
                        "{gate}impl Sample for {name} {{\n fn sample(seed: u32) -> Self {{\n\
                         const C: &[{name}] = &[{}];\n C[seed as usize % C.len()]\n}}\n}}\n\n",
                        choices.join(", ")
                    );
                    let _ = writeln!(visit, "{gate}v.visit::<{name}>(\"libxl_{}\", 1);", en.name);
                }
                Err(s) => {
                    let start = self.out.len();
                    let mut inner = Vec::new();
                    self.collect_inner(s, &mut inner);
                    for (kind, idx, parent) in inner {
                        match kind {
                            Inner::Struct => self.sample_struct(idx),
                            Inner::Union(field) => self.sample_union(parent, field),
                        }
                    }
                    self.sample_struct(s);
                    let cfg = self.idl.structs[s].cfg.clone();
                    if let Some(c) = &cfg {
                        let items = self.out.split_off(start);
                        let module = format!("{}_{c}", snake(&self.names[s]));
                        self.out += &gate_items(&items, &module, c, false);
                    }
                    let arms = self.idl.structs[s]
                        .fields
                        .iter()
                        .filter_map(|f| match &f.ty {
                            Ty::KeyedUnion(ku) => Some(ku.arms.len()),
                            _ => None,
                        })
                        .max()
                        .unwrap_or(1);
                    let n = self.idl.structs[s].name.clone().unwrap_or_default();
                    let _ = writeln!(
                        visit,
                        "{}v.visit::<{}>(\"libxl_{n}\", {arms});",
                        cfg_attr(&cfg),
                        self.names[s]
                    );
                }
            }
        }
        let _ = write!(
            self.out,
            "/// Called once per IDL type, with the number of samples (union arms) it has.\n\
             pub trait Visitor {{\n fn visit<T: IdlType + Sample>(&mut self, name: &str, arms: u32);\n}}\n\n\
             /// How many types the IDL has (enumerations and named structs).\n\
             pub const IDL_TYPES: usize = {};\n\n\
             /// Visits every type of the IDL, in the IDL's order.\n\
             pub fn for_each_type(v: &mut impl Visitor) {{\n{visit}}}\n",
            self.type_count()
        );
        Ok(self.out)
    }

    /// The number of named types, as a Rust expression: those only a newer
    /// Xen has count only when built against it.
    fn type_count(&self) -> String {
        let mut by_cfg: std::collections::BTreeMap<Option<String>, usize> = Default::default();
        for item in &self.idl.order {
            let cfg = match item {
                Ok(e) => self.idl.enums[*e].cfg.clone(),
                Err(s) => self.idl.structs[*s].cfg.clone(),
            };
            *by_cfg.entry(cfg).or_default() += 1;
        }
        by_cfg
            .iter()
            .map(|(cfg, n)| match cfg {
                None => n.to_string(),
                Some(c) => format!("if cfg!({c}) {{ {n} }} else {{ 0 }}"),
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }

    fn sample_struct(&mut self, s: usize) {
        let name = self.names[s].clone();
        let mut body = String::new();
        for (i, f) in self.fields(s).iter().enumerate() {
            let fname = rust_field(f);
            let expr = match &f.ty {
                Ty::Array { .. } => format!(
                    "vec![Sample::sample(seed + {i}), Sample::sample(seed + {})]",
                    i + 1
                ),
                // Unions take the seed as is: it picks the arm.
                Ty::KeyedUnion(_) => "Sample::sample(seed)".to_owned(),
                _ => format!("Sample::sample(seed + {i})"),
            };
            let _ = writeln!(body, "{}{fname}: {expr},", cfg_attr(&f.cfg));
        }
        let _ = write!(
            self.out,
            "impl Sample for {name} {{\n fn sample(seed: u32) -> Self {{\n {name} {{\n{body}}}\n}}\n}}\n\n"
        );
    }

    fn sample_union(&mut self, parent: usize, field: usize) {
        let Ty::KeyedUnion(ku) = &self.idl.structs[parent].fields[field].ty else {
            return;
        };
        let name = self.union_name(parent, ku);
        let mut arms = String::new();
        for (i, (arm, st)) in ku.arms.iter().enumerate() {
            let v = Idl::camel(arm);
            let e = match st {
                Some(_) => format!("{name}::{v}(Sample::sample(seed))"),
                None => format!("{name}::{v}"),
            };
            let _ = writeln!(arms, "{i} => {e},");
        }
        let _ = write!(
            self.out,
            "impl Sample for {name} {{\n fn sample(seed: u32) -> Self {{\n\
             match seed as usize % {} {{\n{arms}_ => unreachable!(),\n}}\n}}\n}}\n\n",
            ku.arms.len()
        );
    }
}

/// The serde attribute a field needs for libxl's JSON form, if any.
fn serde_attr(f: &idl::Field, rust_name: &str) -> Option<String> {
    let mut attrs = Vec::new();
    match &f.ty {
        Ty::KeyedUnion(_) => return Some("flatten".to_owned()),
        Ty::Builtin(Builtin::Libxl("defbool")) => {
            attrs.push("with = \"serde_impl::defbool\"".to_owned())
        }
        Ty::Builtin(Builtin::Libxl("key_value_list")) => {
            attrs.push("with = \"serde_impl::kv\"".to_owned())
        }
        Ty::Builtin(Builtin::Libxl("hwcap")) => {
            attrs.push("with = \"serde_impl::hwcap\"".to_owned())
        }
        _ => {}
    }
    if rust_name != f.name {
        attrs.push(format!("rename = {:?}", f.name));
    }
    (!attrs.is_empty()).then(|| attrs.join(", "))
}

#[derive(Clone, Copy)]
enum Inner {
    Struct,
    /// A keyed union: the index of its field in the parent.
    Union(usize),
}

fn st_anon(idl: &Idl, s: usize) -> bool {
    idl.structs[s].name.is_none()
}

fn builtin_ty(b: Builtin) -> &'static str {
    match b {
        Builtin::Bool => "bool",
        Builtin::Int => "i32",
        Builtin::SizeT => "usize",
        Builtin::U8 => "u8",
        Builtin::U16 => "u16",
        Builtin::U32 => "u32",
        Builtin::U64 => "u64",
        Builtin::String => "Option<String>",
        Builtin::Void => "()",
        Builtin::Libxl(n) => match n {
            "defbool" => "Option<bool>",
            "domid" => "u32",
            "devid" => "i32",
            "uuid" => "Uuid",
            "mac" => "Mac",
            "bitmap" => "Bitmap",
            "cpuid_policy_list" => "CpuidPolicy",
            "string_list" => "Vec<String>",
            "key_value_list" => "Vec<(String, Option<String>)>",
            "hwcap" => "[u32; 8]",
            "ms_vm_genid" => "[u8; 16]",
            _ => "()",
        },
    }
}

/// `DomainBuildInfoTypeHvm` -> `domain_build_info_type_hvm`.
fn snake(camel: &str) -> String {
    let mut s = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_rust_names() {
        assert_eq!(ident("type"), "type_");
        assert_eq!(ident("kernel"), "kernel");
        assert_eq!(
            snake("DomainBuildInfoTypeHvm"),
            "domain_build_info_type_hvm"
        );
    }

    #[test]
    fn a_small_idl_generates_every_kind_of_item() {
        let src = r#"
namespace("libxl_")
libxl_defbool = Builtin("defbool")
libxl_kind = Enumeration("kind", [(-1, "INVALID"), (1, "A"), (2, "B")], init_val = "LIBXL_KIND_INVALID")
libxl_thing = Struct("thing", [
    ("name", string),
    ("list", Array(uint32, "num_list")),
    ("u", KeyedUnion(None, libxl_kind, "kind",
        [("a", Struct(None, [("flag", libxl_defbool)])), ("b", None), ("invalid", None)])),
    ])
"#;
        let model = idl::read(src).unwrap();
        let out = Gen::new(&model).types().unwrap();
        for want in [
            "// idl: libxl_kind",
            "// idl: libxl_thing",
            "// idl: libxl_thing.u",
            "pub struct Thing {",
            "pub kind: ThingKindUnion,",
            "pub list: Vec<u32>,",
            "pub enum ThingKindUnion {",
            "A(ThingKindA),",
            "1 => ThingKindUnion::A(read_thing_kind_a(c)?),",
            "sys::libxl_thing_init_kind(c, 1 as _); write_thing_kind_a(a, c)?;",
            // Read in place, field by field; a failure drops fields 0..k.
            "read_fields! { p, drop_thing_fields;",
            "1: put_field(read_array(c.list, c.num_list), addr_of_mut!((*p).list));",
            "2: put_field(read_thing_kind_union(c), addr_of_mut!((*p).kind));",
            "0: read_field(&c.u.a.flag, addr_of_mut!((*p).flag));",
            "drop_fields! { p, done;\n0: name;\n1: list;\n2: kind;\n}",
        ] {
            assert!(out.contains(want), "missing {want:?} in\n{out}");
        }
        let samples = Gen::new(&model).samples().unwrap();
        assert!(
            samples.contains("v.visit::<Thing>(\"libxl_thing\", 3);"),
            "{samples}"
        );
        // The default INVALID is never a sample value.
        assert!(
            samples.contains("const C: &[Kind] = &[Kind::A, Kind::B];"),
            "{samples}"
        );
    }
}
