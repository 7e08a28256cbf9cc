//! One model of several Xen releases' `libxl_types.idl`: the oldest
//! release's IDL, and each newer release's additions (enumerations,
//! values, structs, fields) gated on the cfg of the release that made
//! them (`xen_4_19`, ...), so the generated code carries each only when
//! built against a libxl that has it.
//!
//! libxl's IDL only grows between releases (its ABI is kept): something a
//! newer release lacks, or a type that changed, is an error here rather
//! than a gate the generator cannot express.

use anyhow::{bail, Context as _, Result};

use crate::idl::{EnumDef, Field, Idl, KeyedUnion, StructDef, Ty};

/// Adds to `base` what `newer` has and `base` lacks, each addition gated
/// on `cfg`. Returns a line per addition.
pub fn add_release(base: &mut Idl, newer: &Idl, cfg: &str) -> Result<Vec<String>> {
    let mut m = Merge {
        base,
        newer,
        cfg,
        added: Vec::new(),
    };
    m.check_nothing_removed()?;
    // Where the next new type goes in the base's order: after the last
    // type both have, as the newer IDL places it.
    let mut at = 0;
    for item in &newer.order {
        match *item {
            Ok(e) => at = m.enumeration(e, at)?,
            Err(s) => at = m.named_struct(s, at)?,
        }
    }
    Ok(m.added)
}

struct Merge<'a> {
    base: &'a mut Idl,
    newer: &'a Idl,
    cfg: &'a str,
    added: Vec<String>,
}

impl Merge<'_> {
    fn base_enum(&self, name: &str) -> Option<usize> {
        self.base.enums.iter().position(|e| e.name == name)
    }

    fn base_struct(&self, name: &str) -> Option<usize> {
        self.base
            .structs
            .iter()
            .position(|s| s.name.as_deref() == Some(name))
    }

    fn order_pos(&self, item: std::result::Result<usize, usize>) -> Result<usize> {
        self.base
            .order
            .iter()
            .position(|o| *o == item)
            .context("a named type missing from the IDL's order")
    }

    /// Every enumeration, value, struct and field of the base is in the
    /// newer release too.
    fn check_nothing_removed(&self) -> Result<()> {
        for e in &self.base.enums {
            let Some(n) = self.newer.enums.iter().find(|n| n.name == e.name) else {
                bail!("libxl_{} is gone from the newer IDL", e.name);
            };
            for (_, v, _) in &e.values {
                if !n.values.iter().any(|(_, w, _)| w == v) {
                    bail!("libxl_{}: value {v} is gone from the newer IDL", e.name);
                }
            }
        }
        for s in &self.base.structs {
            let Some(name) = &s.name else { continue };
            let Some(n) = self
                .newer
                .structs
                .iter()
                .position(|n| n.name.as_ref() == Some(name))
            else {
                bail!("libxl_{name} is gone from the newer IDL");
            };
            self.check_fields(s, &self.newer.structs[n], &format!("libxl_{name}"))?;
        }
        Ok(())
    }

    fn check_fields(&self, old: &StructDef, new: &StructDef, path: &str) -> Result<()> {
        for f in &old.fields {
            let Some(g) = new.fields.iter().find(|g| g.name == f.name) else {
                bail!("{path}.{} is gone from the newer IDL", f.name);
            };
            let here = format!("{path}.{}", f.name);
            match (&f.ty, &g.ty) {
                (Ty::Struct(a), Ty::Struct(b)) if self.base.structs[*a].name.is_none() => {
                    self.check_fields(&self.base.structs[*a], &self.newer.structs[*b], &here)?;
                }
                (Ty::KeyedUnion(a), Ty::KeyedUnion(b)) => {
                    for (arm, s) in &a.arms {
                        let Some((_, t)) = b.arms.iter().find(|(n, _)| n == arm) else {
                            bail!("{here}: arm {arm} is gone from the newer IDL");
                        };
                        if let (Some(s), Some(t)) = (s, t) {
                            self.check_fields(
                                &self.base.structs[*s],
                                &self.newer.structs[*t],
                                &format!("{here}.{arm}"),
                            )?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The newer release's enumeration `e`: added whole, or its new values.
    fn enumeration(&mut self, e: usize, at: usize) -> Result<usize> {
        let new = &self.newer.enums[e];
        let Some(b) = self.base_enum(&new.name) else {
            self.base.enums.push(EnumDef {
                cfg: Some(self.cfg.to_owned()),
                value_cfgs: Default::default(),
                ..new.clone()
            });
            self.base.order.insert(at, Ok(self.base.enums.len() - 1));
            self.added.push(format!("enum libxl_{}", new.name));
            return Ok(at + 1);
        };
        for (v, name, doc) in &new.values {
            let old = &self.base.enums[b];
            match old.values.iter().find(|(_, n, _)| n == name) {
                Some((w, ..)) if w != v => {
                    bail!(
                        "libxl_{}: {name} is {w} in one release, {v} in a newer",
                        new.name
                    )
                }
                Some(_) => {}
                None => {
                    let cfg = self.cfg.to_owned();
                    let old = &mut self.base.enums[b];
                    old.values.push((*v, name.clone(), doc.clone()));
                    old.value_cfgs.insert(name.clone(), cfg);
                    self.added.push(format!("libxl_{}: {name}", new.name));
                }
            }
        }
        Ok(self.order_pos(Ok(b))? + 1)
    }

    /// The newer release's named struct `s`: added whole, or its new fields.
    fn named_struct(&mut self, s: usize, at: usize) -> Result<usize> {
        let new = &self.newer.structs[s];
        let name = new
            .name
            .clone()
            .context("an anonymous struct in the IDL's order")?;
        let Some(b) = self.base_struct(&name) else {
            let def = self.import_struct(s, Some(self.cfg.to_owned()))?;
            self.base.structs.push(def);
            self.base.order.insert(at, Err(self.base.structs.len() - 1));
            self.added.push(format!("struct libxl_{name}"));
            return Ok(at + 1);
        };
        self.add_fields(b, s, &format!("libxl_{name}"))?;
        Ok(self.order_pos(Err(b))? + 1)
    }

    /// Adds the fields of newer struct `s` that base struct `b` lacks, in
    /// the newer order, and looks into the anonymous structs and union
    /// arms both have.
    fn add_fields(&mut self, b: usize, s: usize, path: &str) -> Result<()> {
        let newer = self.newer;
        for (i, g) in newer.structs[s].fields.iter().enumerate() {
            let here = format!("{path}.{}", g.name);
            let old = self.base.structs[b]
                .fields
                .iter()
                .find(|f| f.name == g.name)
                .map(|f| f.ty.clone());
            match old {
                None => {
                    let field = Field {
                        ty: self.import_ty(&g.ty)?,
                        cfg: Some(self.cfg.to_owned()),
                        ..g.clone()
                    };
                    // After the field that precedes it in the newer IDL.
                    let pos = match i.checked_sub(1) {
                        None => 0,
                        Some(p) => {
                            let prev = &newer.structs[s].fields[p].name;
                            self.base.structs[b]
                                .fields
                                .iter()
                                .position(|f| &f.name == prev)
                                .map_or(self.base.structs[b].fields.len(), |q| q + 1)
                        }
                    };
                    self.base.structs[b].fields.insert(pos, field);
                    self.added.push(here);
                }
                Some(Ty::Struct(a)) if self.base.structs[a].name.is_none() => {
                    let Ty::Struct(t) = g.ty else {
                        bail!("{here} changed type in a newer release");
                    };
                    self.add_fields(a, t, &here)?;
                }
                Some(Ty::KeyedUnion(ku)) => {
                    let Ty::KeyedUnion(nu) = &g.ty else {
                        bail!("{here} changed type in a newer release");
                    };
                    for (arm, t) in &nu.arms {
                        match ku.arms.iter().find(|(n, _)| n == arm) {
                            Some((_, Some(a))) => {
                                let t = t.with_context(|| {
                                    format!("{here}: arm {arm} lost its struct")
                                })?;
                                self.add_fields(*a, t, &format!("{here}.{arm}"))?;
                            }
                            Some((_, None)) if t.is_some() => {
                                bail!("{here}: arm {arm} gained a struct in a newer release")
                            }
                            Some(_) => {}
                            // A new arm needs a new key value, whose gate the
                            // arm would share; no release has added one yet.
                            None => bail!("{here}: arm {arm} is new, which the merge cannot gate"),
                        }
                    }
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// A newer struct (and the anonymous structs inside it) as base structs.
    fn import_struct(&mut self, s: usize, cfg: Option<String>) -> Result<StructDef> {
        let new = &self.newer.structs[s];
        let mut fields = Vec::new();
        for f in &new.fields {
            fields.push(Field {
                ty: self.import_ty(&f.ty)?,
                cfg: None,
                ..f.clone()
            });
        }
        Ok(StructDef {
            fields,
            cfg,
            ..new.clone()
        })
    }

    /// A newer type with its indices moved to the base's: named types by
    /// name (merged before their users: the IDL defines a type before it
    /// is used), anonymous structs copied.
    fn import_ty(&mut self, ty: &Ty) -> Result<Ty> {
        Ok(match ty {
            Ty::Builtin(_) | Ty::Number { .. } => ty.clone(),
            Ty::Enum(e) => {
                let name = &self.newer.enums[*e].name;
                Ty::Enum(
                    self.base_enum(name)
                        .with_context(|| format!("libxl_{name} used before it is merged"))?,
                )
            }
            Ty::Struct(s) => match &self.newer.structs[*s].name {
                Some(name) => Ty::Struct(
                    self.base_struct(name)
                        .with_context(|| format!("libxl_{name} used before it is merged"))?,
                ),
                None => {
                    let def = self.import_struct(*s, None)?;
                    self.base.structs.push(def);
                    Ty::Struct(self.base.structs.len() - 1)
                }
            },
            Ty::Array { elem, lenvar } => Ty::Array {
                elem: Box::new(self.import_ty(elem)?),
                lenvar: lenvar.clone(),
            },
            Ty::KeyedUnion(ku) => {
                let key = &self.newer.enums[ku.key_enum].name;
                let key_enum = self
                    .base_enum(key)
                    .with_context(|| format!("libxl_{key} used before it is merged"))?;
                let mut arms = Vec::new();
                for (arm, s) in &ku.arms {
                    let s = match s {
                        Some(s) => {
                            let def = self.import_struct(*s, None)?;
                            self.base.structs.push(def);
                            Some(self.base.structs.len() - 1)
                        }
                        None => None,
                    };
                    arms.push((arm.clone(), s));
                }
                Ty::KeyedUnion(Box::new(KeyedUnion {
                    key_enum,
                    arms,
                    ..(**ku).clone()
                }))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idl;

    const OLD: &str = r#"
namespace("libxl_")
libxl_kind = Enumeration("kind", [(0, "a")])
libxl_box = Struct("box", [("size", uint32), ("kind", libxl_kind)])
"#;

    const NEW: &str = r#"
namespace("libxl_")
libxl_kind = Enumeration("kind", [(0, "a"), (1, "b")])
libxl_lid = Struct("lid", [("open", bool)])
libxl_box = Struct("box", [("size", uint32), ("lid", libxl_lid), ("kind", libxl_kind)])
"#;

    #[test]
    fn a_newer_releases_values_structs_and_fields_are_added_under_its_cfg() {
        let mut base = idl::read(OLD).unwrap();
        let added = add_release(&mut base, &idl::read(NEW).unwrap(), "xen_4_99").unwrap();
        assert_eq!(
            added,
            ["libxl_kind: b", "struct libxl_lid", "libxl_box.lid"]
        );
        let kind = &base.enums[0];
        assert_eq!(
            kind.value_cfgs.get("b").map(String::as_str),
            Some("xen_4_99")
        );
        let lid = base
            .structs
            .iter()
            .position(|s| s.name.as_deref() == Some("lid"))
            .unwrap();
        assert_eq!(base.structs[lid].cfg.as_deref(), Some("xen_4_99"));
        let bx = base
            .structs
            .iter()
            .find(|s| s.name.as_deref() == Some("box"))
            .unwrap();
        let names: Vec<&str> = bx.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["size", "lid", "kind"], "in the newer order");
        assert_eq!(bx.fields[1].ty, Ty::Struct(lid));
        assert_eq!(bx.fields[1].cfg.as_deref(), Some("xen_4_99"));
        assert_eq!(bx.fields[0].cfg, None);
        // The new struct comes before its user in the generation order.
        let pos = |i: std::result::Result<usize, usize>| base.order.iter().position(|o| *o == i);
        let user = base
            .structs
            .iter()
            .position(|s| s.name.as_deref() == Some("box"));
        assert!(pos(Err(lid)) < pos(Err(user.unwrap())));
    }

    #[test]
    fn a_field_a_newer_release_lacks_is_an_error_not_a_gate() {
        let mut base = idl::read(NEW).unwrap();
        let e = add_release(&mut base, &idl::read(OLD).unwrap(), "xen_4_99").unwrap_err();
        assert!(e.to_string().contains("gone from the newer IDL"), "{e}");
    }
}
