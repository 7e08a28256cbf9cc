//! What a newer Xen adds to the IDL, read from its generated C header.
//!
//! The checked-in types come from Xen 4.17's `libxl_types.idl` (bookworm's
//! source package). Xen 4.20's source package cannot be fetched here, but its
//! `libxl-dev` binary package can, and it ships `_libxl_types.h`: the C that
//! libxl's own generator wrote from 4.20's IDL. Every struct, field,
//! enumeration and value is there, in IDL order, with its C type; what the
//! header does not carry are the IDL's comments and `init_val`s, which the
//! generated code does not need (struct defaults come from libxl's `_init` at
//! run time). [`add_newer`] compares such a header with the IDL model and adds
//! what only the header has, each addition marked with a cfg, so the
//! generated code carries it only when built against that Xen.

use anyhow::{bail, Context as _, Result};
use std::collections::{BTreeMap, BTreeSet};

use crate::idl::{Builtin, Dir, EnumDef, Field, Idl, StructDef, Ty, LIBXL_BUILTINS};

/// One member of a C struct or union, as the header writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `TYPE NAME;` (`cty` with single spaces, e.g. `char *`).
    Field { cty: String, name: String },
    /// `struct { ... } NAME;`
    Struct { name: String, items: Vec<Item> },
    /// `union { ... } NAME;` (its items are the arms' structs).
    Union { name: String, items: Vec<Item> },
}

impl Item {
    fn name(&self) -> &str {
        match self {
            Item::Field { name, .. } | Item::Struct { name, .. } | Item::Union { name, .. } => name,
        }
    }
}

/// A top-level `typedef` of the header (names without `libxl_`).
#[derive(Debug, Clone, PartialEq)]
pub enum Top {
    /// An enumeration: (value, C constant) pairs.
    Enum {
        name: String,
        values: Vec<(i64, String)>,
    },
    Struct {
        name: String,
        items: Vec<Item>,
        dispose: bool,
    },
}

/// Reads the `typedef enum` and `typedef struct` definitions of a
/// `_libxl_types.h`.
pub fn read(text: &str) -> Result<Vec<Top>> {
    let mut lines = text.lines().map(str::trim).enumerate().peekable();
    let mut tops = Vec::new();
    let mut disposed = BTreeSet::new();
    while let Some((n, l)) = lines.next() {
        if let Some(rest) = l.strip_prefix("typedef enum libxl_") {
            let name = rest.trim_end_matches('{').trim().to_owned();
            let mut values = Vec::new();
            loop {
                let (n, l) = lines.next().context("the header ends inside an enum")?;
                if l.starts_with('}') {
                    break;
                }
                let (c, v) = l
                    .trim_end_matches(',')
                    .split_once('=')
                    .with_context(|| format!("_libxl_types.h line {}: {l:?}", n + 1))?;
                let v: i64 = v
                    .trim()
                    .parse()
                    .with_context(|| format!("_libxl_types.h line {}: {l:?}", n + 1))?;
                values.push((v, c.trim().to_owned()));
            }
            tops.push(Top::Enum { name, values });
        } else if let Some(rest) = l.strip_prefix("typedef struct libxl_") {
            if !rest.ends_with('{') {
                continue;
            }
            let name = rest.trim_end_matches('{').trim().to_owned();
            let (items, _) = body(&mut lines).with_context(|| format!("struct libxl_{name}"))?;
            tops.push(Top::Struct {
                name,
                items,
                dispose: false,
            });
        } else if let Some(rest) = l.strip_prefix("void libxl_") {
            if let Some((name, _)) = rest.split_once("_dispose(") {
                disposed.insert(name.to_owned());
            }
        } else if l.starts_with("typedef") && l.contains('{') {
            bail!("_libxl_types.h line {}: {l:?} is new to the reader", n + 1);
        }
    }
    for t in &mut tops {
        if let Top::Struct { name, dispose, .. } = t {
            *dispose = disposed.contains(name);
        }
    }
    Ok(tops)
}

/// The members up to the closing `}`, and the name after it.
fn body<'a>(lines: &mut impl Iterator<Item = (usize, &'a str)>) -> Result<(Vec<Item>, String)> {
    let mut items = Vec::new();
    loop {
        let (n, l) = lines.next().context("the header ends inside a struct")?;
        if let Some(close) = l.strip_prefix('}') {
            return Ok((items, close.trim().trim_end_matches(';').trim().to_owned()));
        }
        match l {
            "struct {" => {
                let (inner, name) = body(lines)?;
                items.push(Item::Struct { name, items: inner });
            }
            "union {" => {
                let (inner, name) = body(lines)?;
                items.push(Item::Union { name, items: inner });
            }
            _ => {
                let decl = l
                    .strip_suffix(';')
                    .with_context(|| format!("_libxl_types.h line {}: {l:?}", n + 1))?;
                let words: Vec<&str> = decl.split_whitespace().collect();
                let Some((name, ty)) = words.split_last() else {
                    bail!("_libxl_types.h line {}: {l:?}", n + 1);
                };
                if ty.is_empty() || name.contains(['[', '(']) {
                    bail!("_libxl_types.h line {}: {l:?} is new to the reader", n + 1);
                }
                items.push(Item::Field {
                    cty: ty.join(" "),
                    name: (*name).to_owned(),
                });
            }
        }
    }
}

/// Adds to `idl` what the header `tops` has and the IDL lacks: enumerations,
/// values, structs and fields, each gated on `cfg`. Returns a line per
/// addition. Anything the IDL has and the header lacks is an error (the
/// generated code would name C that does not exist), as is a new kind of
/// addition (a union arm, a nested struct).
pub fn add_newer(idl: &mut Idl, tops: &[Top], cfg: &str) -> Result<Vec<String>> {
    let mut added = Vec::new();
    // Where the next new type goes in `idl.order`: after the last known one.
    let mut at = 0;
    for top in tops {
        match top {
            Top::Enum { name, values } => match idl.enums.iter().position(|e| &e.name == name) {
                Some(e) => {
                    at = order_pos(idl, Ok(e))? + 1;
                    add_values(idl, e, values, cfg, &mut added)?;
                }
                None => {
                    let prefix = format!("LIBXL_{}_", name.to_uppercase());
                    let mut vals = Vec::new();
                    for (v, c) in values {
                        let n = c
                            .strip_prefix(&prefix)
                            .with_context(|| format!("libxl_{name}: value {c} lacks {prefix}"))?;
                        vals.push((*v, n.to_owned(), Vec::new()));
                    }
                    idl.enums.push(EnumDef {
                        name: name.clone(),
                        values: vals,
                        init_val: None,
                        value_namespace: "libxl_".to_owned(),
                        doc: Vec::new(),
                        cfg: Some(cfg.to_owned()),
                        value_cfgs: BTreeMap::new(),
                    });
                    idl.order.insert(at, Ok(idl.enums.len() - 1));
                    at += 1;
                    added.push(format!("enum libxl_{name}"));
                }
            },
            Top::Struct {
                name,
                items,
                dispose,
            } => {
                let known = idl
                    .structs
                    .iter()
                    .position(|s| s.name.as_deref() == Some(name.as_str()));
                match known {
                    Some(s) => {
                        at = order_pos(idl, Err(s))? + 1;
                        add_fields(idl, s, items, cfg, &format!("libxl_{name}"), &mut added)?;
                    }
                    None => {
                        let fields = new_fields(idl, items, cfg, &format!("libxl_{name}"))?;
                        idl.structs.push(StructDef {
                            name: Some(name.clone()),
                            fields,
                            dir: Dir::Both,
                            dispose_fn: *dispose,
                            doc: Vec::new(),
                            cfg: Some(cfg.to_owned()),
                        });
                        idl.order.insert(at, Err(idl.structs.len() - 1));
                        at += 1;
                        added.push(format!("struct libxl_{name}"));
                    }
                }
            }
        }
    }
    for (i, e) in idl.enums.iter().enumerate() {
        if e.cfg.is_none()
            && !tops
                .iter()
                .any(|t| matches!(t, Top::Enum { name, .. } if *name == e.name))
        {
            bail!("libxl_{} (enum {i}) is not in the header", e.name);
        }
    }
    for s in &idl.structs {
        if let Some(n) = &s.name {
            if !tops
                .iter()
                .any(|t| matches!(t, Top::Struct { name, .. } if name == n))
            {
                bail!("libxl_{n} is not in the header");
            }
        }
    }
    Ok(added)
}

fn order_pos(idl: &Idl, item: std::result::Result<usize, usize>) -> Result<usize> {
    idl.order
        .iter()
        .position(|o| *o == item)
        .context("a named type missing from the IDL's order")
}

fn add_values(
    idl: &mut Idl,
    e: usize,
    values: &[(i64, String)],
    cfg: &str,
    added: &mut Vec<String>,
) -> Result<()> {
    let en = &mut idl.enums[e];
    let prefix = format!("{}{}_", en.value_namespace, en.name).to_uppercase();
    let mut known: BTreeSet<String> = en.values.iter().map(|(_, n, _)| n.to_uppercase()).collect();
    for (v, c) in values {
        let n = c
            .strip_prefix(&prefix)
            .with_context(|| format!("libxl_{}: value {c} lacks {prefix}", en.name))?;
        if known.remove(n) {
            continue;
        }
        en.values.push((*v, n.to_owned(), Vec::new()));
        en.value_cfgs.insert(n.to_owned(), cfg.to_owned());
        added.push(format!("value {c}"));
    }
    if let Some(gone) = known.iter().find(|n| !en.value_cfgs.contains_key(*n)) {
        bail!("libxl_{}: value {gone} is not in the header", en.name);
    }
    Ok(())
}

/// The header names an IDL field stands for: an array's length and a keyed
/// union's key too.
fn c_names(f: &Field) -> Vec<&str> {
    match &f.ty {
        Ty::Array { lenvar, .. } => vec![lenvar, &f.name],
        Ty::KeyedUnion(ku) => vec![&ku.keyvar, &f.name],
        _ => vec![&f.name],
    }
}

fn add_fields(
    idl: &mut Idl,
    s: usize,
    items: &[Item],
    cfg: &str,
    path: &str,
    added: &mut Vec<String>,
) -> Result<()> {
    let mut seen = BTreeSet::new();
    // Index in the IDL struct after which a new field goes.
    let mut last: Option<usize> = None;
    let mut i = 0;
    while i < items.len() {
        let item = &items[i];
        let owner = idl.structs[s]
            .fields
            .iter()
            .position(|f| c_names(f).contains(&item.name()));
        match (owner, item) {
            (Some(fi), _) => {
                seen.insert(fi);
                last = Some(fi);
                let f = idl.structs[s].fields[fi].clone();
                match (&f.ty, item) {
                    (Ty::Struct(j), Item::Struct { items, .. }) => {
                        add_fields(idl, *j, items, cfg, &format!("{path}.{}", f.name), added)?
                    }
                    (Ty::KeyedUnion(ku), Item::Union { items: arms, .. }) => {
                        for arm in arms {
                            let Item::Struct { name, items } = arm else {
                                bail!("{path}.{}: union member {arm:?}", f.name);
                            };
                            let Some((_, Some(j))) = ku.arms.iter().find(|(a, _)| a == name) else {
                                bail!("{path}.{}: arm {name} is new to the generator", f.name);
                            };
                            add_fields(
                                idl,
                                *j,
                                items,
                                cfg,
                                &format!("{path}.{}.{name}", f.name),
                                added,
                            )?;
                        }
                    }
                    (_, Item::Field { .. }) => {}
                    _ => bail!(
                        "{path}.{}: the header's {item:?} does not match the IDL",
                        f.name
                    ),
                }
                i += 1;
            }
            (None, _) => {
                let (field, used) = new_field(idl, &items[i..], cfg, path)?;
                let pos = last.map_or(0, |l| l + 1);
                idl.structs[s].fields.insert(pos, field);
                // Indices at and after `pos` moved up by one.
                seen = seen
                    .into_iter()
                    .map(|x| if x >= pos { x + 1 } else { x })
                    .collect();
                seen.insert(pos);
                last = Some(pos);
                added.push(format!("field {path}.{}", items[i + used - 1].name()));
                i += used;
            }
        }
    }
    for (fi, f) in idl.structs[s].fields.iter().enumerate() {
        if !seen.contains(&fi) && f.cfg.is_none() {
            bail!("{path}.{} is not in the header", f.name);
        }
    }
    Ok(())
}

fn new_fields(idl: &Idl, items: &[Item], cfg: &str, path: &str) -> Result<Vec<Field>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let (mut f, used) = new_field(idl, &items[i..], cfg, path)?;
        // Inside a new struct the struct's own cfg is enough.
        f.cfg = None;
        out.push(f);
        i += used;
    }
    Ok(out)
}

/// The field that starts `items`, and how many members it takes (an array
/// takes its `num_` length and its pointer).
fn new_field(idl: &Idl, items: &[Item], cfg: &str, path: &str) -> Result<(Field, usize)> {
    let Item::Field { cty, name } = &items[0] else {
        bail!(
            "{path}: a new nested {:?} is new to the generator",
            items[0]
        );
    };
    let (ty, name, used) = match (cty.as_str(), items.get(1)) {
        (
            "int",
            Some(Item::Field {
                cty: ecty,
                name: ename,
            }),
        ) if name.strip_prefix("num_") == Some(ename.as_str()) => {
            let elem = ecty
                .strip_suffix(" *")
                .with_context(|| format!("{path}.{ename}: an array of {ecty}"))?;
            let ty = Ty::Array {
                elem: Box::new(c_type(idl, elem).with_context(|| format!("{path}.{ename}"))?),
                lenvar: name.clone(),
            };
            (ty, ename.clone(), 2)
        }
        _ => (
            c_type(idl, cty).with_context(|| format!("{path}.{name}"))?,
            name.clone(),
            1,
        ),
    };
    Ok((
        Field {
            name,
            ty,
            init_val: None,
            deprecated_by: None,
            is_const: false,
            doc: Vec::new(),
            cfg: Some(cfg.to_owned()),
        },
        used,
    ))
}

/// The IDL type of a C type the header writes.
fn c_type(idl: &Idl, cty: &str) -> Result<Ty> {
    let b = match cty {
        "char *" => Builtin::String,
        "bool" => Builtin::Bool,
        "int" => Builtin::Int,
        "size_t" => Builtin::SizeT,
        "uint8_t" => Builtin::U8,
        "uint16_t" => Builtin::U16,
        "uint32_t" => Builtin::U32,
        "uint64_t" => Builtin::U64,
        _ => {
            let n = cty
                .strip_prefix("libxl_")
                .with_context(|| format!("C type {cty:?} is new to the generator"))?;
            if let Some(b) = LIBXL_BUILTINS.iter().find(|b| **b == n) {
                Builtin::Libxl(b)
            } else if let Some(e) = idl.enums.iter().position(|e| e.name == n) {
                return Ok(Ty::Enum(e));
            } else if let Some(s) = idl
                .structs
                .iter()
                .position(|s| s.name.as_deref() == Some(n))
            {
                return Ok(Ty::Struct(s));
            } else {
                bail!("C type {cty:?} is new to the generator");
            }
        }
    };
    Ok(Ty::Builtin(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDL: &str = r#"
namespace("libxl_")
libxl_defbool = Builtin("defbool")
libxl_kind = Enumeration("kind", [(1, "A"), (2, "B")])
libxl_thing = Struct("thing", [
    ("name", string),
    ("list", Array(uint32, "num_list")),
    ("u", KeyedUnion(None, libxl_kind, "kind",
        [("a", Struct(None, [("flag", libxl_defbool)])), ("b", None)])),
    ])
"#;

    const OLD: &str = "
typedef enum libxl_kind {
    LIBXL_KIND_A = 1,
    LIBXL_KIND_B = 2,
} libxl_kind;
typedef struct libxl_thing {
    char * name;
    int num_list;
    uint32_t * list;
    libxl_kind kind;
    union {
        struct {
            libxl_defbool flag;
        } a;
    } u;
} libxl_thing;
void libxl_thing_dispose(libxl_thing *p);
";

    #[test]
    fn the_header_of_the_same_idl_adds_nothing() {
        let mut idl = crate::idl::read(IDL).unwrap();
        let tops = read(OLD).unwrap();
        assert_eq!(
            add_newer(&mut idl, &tops, "new").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_newer_header_adds_gated_types_values_and_fields() {
        let newer = OLD
            .replace("    LIBXL_KIND_B = 2,\n", "    LIBXL_KIND_B = 2,\n    LIBXL_KIND_C = 3,\n")
            .replace(
                "typedef struct libxl_thing {",
                "typedef enum libxl_mode {\n    LIBXL_MODE_X = 0,\n} libxl_mode;\n\
                 typedef struct libxl_pair {\n    libxl_mode mode;\n    char * value;\n} libxl_pair;\n\
                 typedef struct libxl_thing {",
            )
            .replace(
                "            libxl_defbool flag;\n",
                "            libxl_defbool flag;\n            int num_pairs;\n            libxl_pair * pairs;\n",
            )
            .replace("    char * name;\n", "    char * name;\n    bool fast;\n");
        let mut idl = crate::idl::read(IDL).unwrap();
        let tops = read(&newer).unwrap();
        let added = add_newer(&mut idl, &tops, "new").unwrap();
        assert_eq!(
            added,
            [
                "value LIBXL_KIND_C",
                "enum libxl_mode",
                "struct libxl_pair",
                "field libxl_thing.fast",
                "field libxl_thing.u.a.pairs",
            ]
        );
        let thing = idl
            .structs
            .iter()
            .find(|s| s.name.as_deref() == Some("thing"))
            .unwrap();
        assert_eq!(thing.fields[1].name, "fast");
        assert_eq!(thing.fields[1].cfg.as_deref(), Some("new"));
        assert_eq!(
            idl.enums[0].value_cfgs.get("C").map(String::as_str),
            Some("new")
        );
        // New types sit before the struct that uses them.
        let names: Vec<String> = idl
            .order
            .iter()
            .map(|o| match o {
                Ok(e) => idl.enums[*e].name.clone(),
                Err(s) => idl.structs[*s].name.clone().unwrap(),
            })
            .collect();
        assert_eq!(names, ["kind", "mode", "pair", "thing"]);
    }

    #[test]
    fn a_header_without_an_idl_field_is_refused() {
        let mut idl = crate::idl::read(IDL).unwrap();
        let tops = read(&OLD.replace("    char * name;\n", "")).unwrap();
        let e = add_newer(&mut idl, &tops, "new").unwrap_err();
        assert!(
            e.to_string()
                .contains("libxl_thing.name is not in the header"),
            "{e}"
        );
    }
}
