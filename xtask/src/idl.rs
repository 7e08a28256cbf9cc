//! A reader for libxl's type definitions (`libxl_types.idl`).
//!
//! The IDL is a Python file that calls the classes of Xen's `idl.py`
//! (`Struct`, `Enumeration`, `KeyedUnion`, `Array`, `Builtin`, ...). It uses
//! a small part of Python: assignments of calls, tuples, lists, dicts,
//! strings, integers, names and comments. This module parses that part and
//! builds the same model idl.py builds (types in file order, fields with
//! their keyword options), so the generator never runs Python.

use anyhow::{anyhow, bail, Context as _, Result};
use std::collections::BTreeMap;

/// A call's keyword arguments, in order.
pub type Kwargs = Vec<(String, Value)>;

/// A Python value as the IDL writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Name(String),
    None,
    Bool(bool),
    /// A tuple, with the comments above it and after it on its line (the
    /// IDL documents fields and values this way).
    Tuple(Vec<Value>, Vec<String>),
    List(Vec<Value>),
    Dict(Vec<(String, Value)>),
    Call {
        func: String,
        args: Vec<Value>,
        kwargs: Vec<(String, Value)>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    Int(i64),
    Punct(char),
    /// A comment's text, kept so fields can be documented from it.
    Comment(String),
    Newline,
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>> {
    let mut out = Vec::new();
    let b: Vec<char> = src.chars().collect();
    let (mut i, mut line) = (0, 1);
    while i < b.len() {
        let c = b[i];
        match c {
            '\n' => {
                out.push((line, Tok::Newline));
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '#' => {
                let start = i + 1;
                while i < b.len() && b[i] != '\n' {
                    i += 1;
                }
                let text: String = b[start..i].iter().collect();
                out.push((line, Tok::Comment(text.trim().to_owned())));
            }
            '"' | '\'' => {
                let q = c;
                i += 1;
                let mut s = String::new();
                while i < b.len() && b[i] != q {
                    if b[i] == '\\' && i + 1 < b.len() {
                        i += 1;
                    }
                    if b[i] == '\n' {
                        bail!("line {line}: newline inside a string");
                    }
                    s.push(b[i]);
                    i += 1;
                }
                if i >= b.len() {
                    bail!("line {line}: unterminated string");
                }
                i += 1;
                out.push((line, Tok::Str(s)));
            }
            c if c.is_ascii_digit()
                || (c == '-' && b.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
                let text: String = b[start..i].iter().collect();
                let (neg, digits) = match text.strip_prefix('-') {
                    Some(d) => (true, d),
                    None => (false, text.as_str()),
                };
                let v = match digits
                    .strip_prefix("0x")
                    .or_else(|| digits.strip_prefix("0X"))
                {
                    Some(h) => i64::from_str_radix(h, 16),
                    None => digits.parse(),
                }
                .map_err(|e| anyhow!("line {line}: bad number {text:?}: {e}"))?;
                out.push((line, Tok::Int(if neg { -v } else { v })));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                    i += 1;
                }
                out.push((line, Tok::Name(b[start..i].iter().collect())));
            }
            '(' | ')' | '[' | ']' | '{' | '}' | ',' | '=' | ':' => {
                out.push((line, Tok::Punct(c)));
                i += 1;
            }
            other => bail!("line {line}: unexpected character {other:?}"),
        }
    }
    Ok(out)
}

/// A statement of the IDL file: `name = value`, or a bare call.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub line: usize,
    /// The comment block just above the statement.
    pub doc: Vec<String>,
    pub target: Option<String>,
    pub value: Value,
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    /// Comments seen since the last one was taken, for field documentation.
    pending: Vec<String>,
}

impl Parser {
    fn line(&self) -> usize {
        self.toks.get(self.pos).map_or(0, |t| t.0)
    }

    /// The next token that is not a newline (inside brackets, newlines do
    /// not matter); comments are collected on the way.
    fn peek_sig(&mut self) -> Option<Tok> {
        while let Some((_, t)) = self.toks.get(self.pos) {
            match t {
                Tok::Newline => self.pos += 1,
                Tok::Comment(c) => {
                    self.pending.push(c.clone());
                    self.pos += 1;
                }
                t => return Some(t.clone()),
            }
        }
        None
    }

    fn next_sig(&mut self) -> Result<Tok> {
        let t = self
            .peek_sig()
            .ok_or_else(|| anyhow!("unexpected end of file"))?;
        self.pos += 1;
        Ok(t)
    }

    fn expect(&mut self, c: char) -> Result<()> {
        let line = self.line();
        match self.next_sig()? {
            Tok::Punct(p) if p == c => Ok(()),
            t => bail!("line {line}: expected {c:?}, found {t:?}"),
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek_sig() == Some(Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Value> {
        let line = self.line();
        match self.next_sig()? {
            Tok::Str(s) => Ok(Value::Str(s)),
            Tok::Int(i) => Ok(Value::Int(i)),
            Tok::Name(n) if n == "None" => Ok(Value::None),
            Tok::Name(n) if n == "True" => Ok(Value::Bool(true)),
            Tok::Name(n) if n == "False" => Ok(Value::Bool(false)),
            Tok::Name(n) => {
                if self.eat('(') {
                    let (args, kwargs) = self.call_args()?;
                    Ok(Value::Call {
                        func: n,
                        args,
                        kwargs,
                    })
                } else {
                    Ok(Value::Name(n))
                }
            }
            Tok::Punct('(') => {
                let doc = std::mem::take(&mut self.pending);
                Ok(Value::Tuple(self.items(')')?, doc))
            }
            Tok::Punct('[') => Ok(Value::List(self.items(']')?)),
            Tok::Punct('{') => {
                let mut d = Vec::new();
                while !self.eat('}') {
                    let k = match self.value()? {
                        Value::Str(s) => s,
                        v => bail!("line {line}: dict key must be a string, found {v:?}"),
                    };
                    self.expect(':')?;
                    d.push((k, self.value()?));
                    if !self.eat(',') {
                        self.expect('}')?;
                        break;
                    }
                }
                Ok(Value::Dict(d))
            }
            t => bail!("line {line}: unexpected {t:?}"),
        }
    }

    fn items(&mut self, close: char) -> Result<Vec<Value>> {
        let mut v = Vec::new();
        while !self.eat(close) {
            v.push(self.value()?);
            let comma = self.eat(',');
            // A comment on the same line, after the item, documents it.
            let line = self.toks.get(self.pos.saturating_sub(1)).map_or(0, |t| t.0);
            if let (Some((l, Tok::Comment(c))), Some(Value::Tuple(_, doc))) =
                (self.toks.get(self.pos), v.last_mut())
            {
                if *l == line {
                    doc.push(c.clone());
                    self.pos += 1;
                }
            }
            self.pending.clear();
            if !comma {
                self.expect(close)?;
                break;
            }
        }
        Ok(v)
    }

    fn call_args(&mut self) -> Result<(Vec<Value>, Kwargs)> {
        let (mut args, mut kwargs) = (Vec::new(), Vec::new());
        while !self.eat(')') {
            // `name = value` is a keyword argument.
            let (save, seen) = (self.pos, self.pending.len());
            let kw = match (self.next_sig()?, self.peek_sig()) {
                (Tok::Name(n), Some(Tok::Punct('='))) => {
                    self.pos += 1;
                    Some(n)
                }
                _ => {
                    self.pos = save;
                    self.pending.truncate(seen);
                    None
                }
            };
            let v = self.value()?;
            match kw {
                Some(k) => kwargs.push((k, v)),
                None => args.push(v),
            }
            if !self.eat(',') {
                self.expect(')')?;
                break;
            }
        }
        Ok((args, kwargs))
    }
}

/// Parses IDL source into its statements.
pub fn parse_statements(src: &str) -> Result<Vec<Stmt>> {
    let mut p = Parser {
        toks: lex(src)?,
        pos: 0,
        pending: Vec::new(),
    };
    let mut out = Vec::new();
    while p.peek_sig().is_some() {
        let line = p.line();
        let doc = std::mem::take(&mut p.pending);
        let first = p.value()?;
        let stmt = if p.eat('=') {
            let Value::Name(target) = first else {
                bail!("line {line}: can only assign to a name");
            };
            Stmt {
                line,
                doc,
                target: Some(target),
                value: p.value()?,
            }
        } else {
            Stmt {
                line,
                doc,
                target: None,
                value: first,
            }
        };
        out.push(stmt);
    }
    Ok(out)
}

/// The builtin types of idl.py and libxl's IDL, each with a fixed Rust form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Builtin {
    Bool,
    Int,
    SizeT,
    U8,
    U16,
    U32,
    U64,
    String,
    Void,
    /// A named libxl builtin (`libxl_defbool`, `libxl_uuid`, ...).
    Libxl(&'static str),
}

/// libxl's named builtins the generator knows how to carry.
pub const LIBXL_BUILTINS: &[&str] = &[
    "defbool",
    "domid",
    "devid",
    "uuid",
    "mac",
    "bitmap",
    "cpuid_policy_list",
    "string_list",
    "key_value_list",
    "hwcap",
    "ms_vm_genid",
    "ev_link",
];

/// A type as a field uses it.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Builtin(Builtin),
    /// An unsigned 64-bit number with its own `_init` value (`MemKB`).
    Number {
        base: Builtin,
        init_val: Option<String>,
    },
    /// Index into [`Idl::enums`].
    Enum(usize),
    /// Index into [`Idl::structs`].
    Struct(usize),
    Array {
        elem: Box<Ty>,
        lenvar: String,
    },
    KeyedUnion(Box<KeyedUnion>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: Ty,
    pub init_val: Option<String>,
    pub deprecated_by: Option<String>,
    pub is_const: bool,
    /// The comment lines just above the field, if any.
    pub doc: Vec<String>,
    /// The cfg a field only a newer Xen has is gated on (see header.rs).
    pub cfg: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyedUnion {
    /// The enumeration of the key (index into [`Idl::enums`]).
    pub key_enum: usize,
    /// The key's field name in the parent struct (e.g. `type`).
    pub keyvar: String,
    pub keyvar_init_val: Option<String>,
    /// The arms: value name (lower case, as in the IDL) and its struct, if any.
    pub arms: Vec<(String, Option<usize>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnumDef {
    /// The IDL's name without the namespace, e.g. `domain_type`.
    pub name: String,
    /// (value, name as the IDL spells it, comment)
    pub values: Vec<(i64, String, Vec<String>)>,
    pub init_val: Option<String>,
    pub value_namespace: String,
    pub doc: Vec<String>,
    /// The cfg of an enumeration only a newer Xen has.
    pub cfg: Option<String>,
    /// Values only a newer Xen has: value name -> cfg.
    pub value_cfgs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StructDef {
    /// `None` for an anonymous struct (a union arm or a nested struct).
    pub name: Option<String>,
    pub fields: Vec<Field>,
    pub dir: Dir,
    pub dispose_fn: bool,
    pub doc: Vec<String>,
    /// The cfg of a struct only a newer Xen has.
    pub cfg: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    In,
    Out,
    Both,
}

/// The whole IDL: its enumerations and structs in file order.
#[derive(Debug, Default)]
pub struct Idl {
    pub enums: Vec<EnumDef>,
    pub structs: Vec<StructDef>,
    /// Named top-level types in file order: `Ok(enum)` or `Err(struct)` index.
    pub order: Vec<Result<usize, usize>>,
}

/// What a name in the IDL refers to while reading it.
#[derive(Debug, Clone)]
enum Binding {
    Ty(Ty),
}

fn kw<'a>(kwargs: &'a [(String, Value)], k: &str) -> Option<&'a Value> {
    kwargs.iter().find(|(n, _)| n == k).map(|(_, v)| v)
}

fn kw_str(kwargs: &[(String, Value)], k: &str) -> Option<String> {
    match kw(kwargs, k) {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

struct Reader {
    idl: Idl,
    names: BTreeMap<String, Binding>,
    namespace: String,
}

impl Reader {
    fn new() -> Self {
        let mut names = BTreeMap::new();
        for (n, b) in [
            ("bool", Builtin::Bool),
            ("integer", Builtin::Int),
            ("size_t", Builtin::SizeT),
            ("uint8", Builtin::U8),
            ("uint16", Builtin::U16),
            ("uint32", Builtin::U32),
            ("uint64", Builtin::U64),
            ("string", Builtin::String),
            ("void", Builtin::Void),
        ] {
            names.insert(n.to_owned(), Binding::Ty(Ty::Builtin(b)));
        }
        Reader {
            idl: Idl::default(),
            names,
            namespace: String::new(),
        }
    }

    fn ty(&mut self, v: &Value, doc: Vec<String>) -> Result<Ty> {
        match v {
            Value::Name(n) => match self.names.get(n) {
                Some(Binding::Ty(t)) => Ok(t.clone()),
                None => bail!("unknown type {n:?}"),
            },
            Value::Call { .. } => self.call(v, doc),
            other => bail!("expected a type, found {other:?}"),
        }
    }

    fn fields(&mut self, list: &Value) -> Result<Vec<Field>> {
        let Value::List(items) = list else {
            bail!("expected a list of fields, found {list:?}");
        };
        let mut out = Vec::new();
        for it in items {
            let Value::Tuple(parts, doc) = it else {
                bail!("expected a (name, type[, options]) tuple, found {it:?}");
            };
            let (Some(Value::Str(name)), Some(tv)) = (parts.first(), parts.get(1)) else {
                bail!("bad field {it:?}");
            };
            let opts: &[(String, Value)] = match parts.get(2) {
                Some(Value::Dict(d)) => d,
                None => &[],
                Some(o) => bail!("bad field options {o:?}"),
            };
            let ty = self.ty(tv, Vec::new())?;
            out.push(Field {
                name: name.clone(),
                ty,
                init_val: kw_str(opts, "init_val"),
                deprecated_by: kw_str(opts, "deprecated_by"),
                is_const: matches!(kw(opts, "const"), Some(Value::Bool(true))),
                doc: clean_doc(doc),
                cfg: None,
            });
        }
        Ok(out)
    }

    fn call(&mut self, v: &Value, doc: Vec<String>) -> Result<Ty> {
        let Value::Call { func, args, kwargs } = v else {
            bail!("expected a call");
        };
        let name_arg = |i: usize| -> Result<Option<String>> {
            match args.get(i) {
                Some(Value::Str(s)) => Ok(Some(s.clone())),
                Some(Value::None) => Ok(None),
                other => bail!("{func}: expected a name, found {other:?}"),
            }
        };
        match func.as_str() {
            "Builtin" => {
                let n = name_arg(0)?.context("a builtin needs a name")?;
                let known = LIBXL_BUILTINS
                    .iter()
                    .find(|b| **b == n)
                    .ok_or_else(|| anyhow!("builtin {n:?} is new to the generator"))?;
                Ok(Ty::Builtin(Builtin::Libxl(known)))
            }
            "UInt" => {
                let w = match args.first() {
                    Some(Value::Int(w)) => *w,
                    o => bail!("UInt needs a width, found {o:?}"),
                };
                let base = match w {
                    8 => Builtin::U8,
                    16 => Builtin::U16,
                    32 => Builtin::U32,
                    64 => Builtin::U64,
                    _ => bail!("UInt({w})"),
                };
                Ok(Ty::Number {
                    base,
                    init_val: kw_str(kwargs, "init_val"),
                })
            }
            "Enumeration" => {
                let n = name_arg(0)?.context("an enumeration needs a name")?;
                let Some(Value::List(vals)) = args.get(1) else {
                    bail!("enumeration {n}: expected a list of values");
                };
                let mut values = Vec::new();
                for v in vals {
                    match v {
                        Value::Tuple(t, doc) => match (t.first(), t.get(1)) {
                            (Some(Value::Int(i)), Some(Value::Str(s))) => {
                                values.push((*i, s.clone(), clean_doc(doc)))
                            }
                            _ => bail!("enumeration {n}: bad value {v:?}"),
                        },
                        _ => bail!("enumeration {n}: bad value {v:?}"),
                    }
                }
                self.idl.enums.push(EnumDef {
                    name: n,
                    values,
                    init_val: kw_str(kwargs, "init_val"),
                    value_namespace: kw_str(kwargs, "value_namespace")
                        .unwrap_or_else(|| self.namespace.clone()),
                    doc,
                    cfg: None,
                    value_cfgs: BTreeMap::new(),
                });
                let i = self.idl.enums.len() - 1;
                self.idl.order.push(Ok(i));
                Ok(Ty::Enum(i))
            }
            "Struct" => {
                let n = name_arg(0)?;
                let fields = self.fields(args.get(1).context("a struct needs fields")?)?;
                let dir = match kw(kwargs, "dir") {
                    Some(Value::Name(d)) if d == "DIR_IN" => Dir::In,
                    Some(Value::Name(d)) if d == "DIR_OUT" => Dir::Out,
                    _ => Dir::Both,
                };
                let dispose_fn = !matches!(kw(kwargs, "dispose_fn"), Some(Value::None));
                self.idl.structs.push(StructDef {
                    name: n.clone(),
                    fields,
                    dir,
                    dispose_fn,
                    doc,
                    cfg: None,
                });
                let i = self.idl.structs.len() - 1;
                if n.is_some() {
                    self.idl.order.push(Err(i));
                }
                Ok(Ty::Struct(i))
            }
            "KeyedUnion" => {
                if name_arg(0)?.is_some() {
                    bail!("a named KeyedUnion is new to the generator");
                }
                let key_enum = match self.ty(args.get(1).context("KeyedUnion key type")?, vec![])? {
                    Ty::Enum(e) => e,
                    t => bail!("KeyedUnion keyed by {t:?}"),
                };
                let keyvar = match args.get(2) {
                    Some(Value::Str(s)) => s.clone(),
                    o => bail!("KeyedUnion key name: {o:?}"),
                };
                let Some(Value::List(items)) = args.get(3) else {
                    bail!("KeyedUnion arms");
                };
                let mut arms = Vec::new();
                for it in items {
                    let Value::Tuple(t, _) = it else {
                        bail!("KeyedUnion arm {it:?}");
                    };
                    let (Some(Value::Str(arm)), Some(tv)) = (t.first(), t.get(1)) else {
                        bail!("KeyedUnion arm {it:?}");
                    };
                    let st = match tv {
                        Value::None => None,
                        tv => match self.ty(tv, vec![])? {
                            Ty::Struct(s) => Some(s),
                            t => bail!("KeyedUnion arm {arm} of type {t:?}"),
                        },
                    };
                    if !self.idl.enums[key_enum]
                        .values
                        .iter()
                        .any(|(_, v, _)| v.eq_ignore_ascii_case(arm))
                    {
                        bail!("KeyedUnion arm {arm} is not a value of its key");
                    }
                    arms.push((arm.clone(), st));
                }
                Ok(Ty::KeyedUnion(Box::new(KeyedUnion {
                    key_enum,
                    keyvar,
                    keyvar_init_val: kw_str(kwargs, "keyvar_init_val"),
                    arms,
                })))
            }
            "Array" => {
                let elem = self.ty(args.first().context("Array element")?, vec![])?;
                let lenvar = match args.get(1) {
                    Some(Value::Str(s)) => s.clone(),
                    o => bail!("Array length name: {o:?}"),
                };
                Ok(Ty::Array {
                    elem: Box::new(elem),
                    lenvar,
                })
            }
            other => bail!("{other}(...) is new to the generator"),
        }
    }
}

/// Reads an IDL file (libxl_types.idl) into its model.
pub fn read(src: &str) -> Result<Idl> {
    let stmts = parse_statements(src)?;
    let mut r = Reader::new();
    for s in stmts {
        let ctx = || format!("libxl_types.idl line {}", s.line);
        match (&s.target, &s.value) {
            (None, Value::Call { func, args, .. }) if func == "namespace" => match args.first() {
                Some(Value::Str(ns)) => r.namespace = ns.clone(),
                o => bail!("{}: namespace({o:?})", ctx()),
            },
            (None, Value::Call { func, .. }) if func == "hidden" => {}
            (Some(target), v) => {
                let ty = r.ty(v, clean_doc(&s.doc)).with_context(ctx)?;
                r.names.insert(target.clone(), Binding::Ty(ty));
            }
            (None, v) => bail!("{}: unexpected statement {v:?}", ctx()),
        }
    }
    Ok(r.idl)
}

/// Comment lines as documentation: the file's mode line and empty lines go.
fn clean_doc(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| !l.is_empty() && !l.contains("-*-"))
        .cloned()
        .collect()
}

impl Idl {
    /// The Rust name of an enumeration value: camel case, with a `V` before
    /// a leading digit (`sve_type`'s `128` -> `V128`).
    pub fn variant(s: &str) -> String {
        let c = Self::camel(s);
        if c.starts_with(|ch: char| ch.is_ascii_digit()) {
            format!("V{c}")
        } else {
            c
        }
    }

    /// The Rust-facing name of a type: `domain_build_info` -> `DomainBuildInfo`.
    pub fn camel(s: &str) -> String {
        s.split('_')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let mut c = p.chars();
                match c.next() {
                    Some(f) => {
                        f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()
                    }
                    None => String::new(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
# -*- python -*-
namespace("libxl_")
libxl_defbool = Builtin("defbool", passby=PASS_BY_REFERENCE, copy_fn=None)
MemKB = UInt(64, init_val = "LIBXL_MEMKB_DEFAULT")

# How a domain is virtualised.
libxl_domain_type = Enumeration("domain_type", [
    (-1, "INVALID"),
    (1, "HVM"),
    (0x2, "PV"), # paravirtualised
    ], init_val = "LIBXL_DOMAIN_TYPE_INVALID")

libxl_info = Struct("info", [
    # the memory
    ("memkb", MemKB),
    ("list", Array(uint32, "num_list")),
    ("weight", integer, {'init_val': 'LIBXL_W_DEFAULT'}),
    ("u", KeyedUnion(None, libxl_domain_type, "type",
        [("hvm", Struct(None, [("acpi", libxl_defbool),])),
         ("pv", None),
        ], keyvar_init_val = "LIBXL_DOMAIN_TYPE_INVALID")),
    ], dir=DIR_OUT)
"#;

    #[test]
    fn sample_idl_is_read_like_idl_py() {
        let idl = read(SAMPLE).unwrap();
        assert_eq!(idl.enums.len(), 1);
        let vals: Vec<_> = idl.enums[0]
            .values
            .iter()
            .map(|(i, n, _)| (*i, n.as_str()))
            .collect();
        assert_eq!(vals, vec![(-1, "INVALID"), (1, "HVM"), (2, "PV")]);
        assert_eq!(idl.enums[0].values[2].2, vec!["paravirtualised"]);
        assert_eq!(
            idl.enums[0].init_val.as_deref(),
            Some("LIBXL_DOMAIN_TYPE_INVALID")
        );
        assert_eq!(idl.enums[0].doc, vec!["How a domain is virtualised."]);
        // The anonymous arm struct comes first, then the named one.
        assert_eq!(idl.structs.len(), 2);
        let info = &idl.structs[1];
        assert_eq!(info.name.as_deref(), Some("info"));
        assert_eq!(info.dir, Dir::Out);
        assert_eq!(info.fields.len(), 4);
        assert_eq!(info.fields[0].doc, vec!["the memory"]);
        assert!(
            matches!(&info.fields[0].ty, Ty::Number { init_val: Some(v), .. } if v == "LIBXL_MEMKB_DEFAULT")
        );
        assert!(matches!(&info.fields[1].ty, Ty::Array { lenvar, .. } if lenvar == "num_list"));
        assert_eq!(info.fields[2].init_val.as_deref(), Some("LIBXL_W_DEFAULT"));
        let Ty::KeyedUnion(ku) = &info.fields[3].ty else {
            panic!("not a union")
        };
        assert_eq!(ku.keyvar, "type");
        assert_eq!(ku.arms, vec![("hvm".into(), Some(0)), ("pv".into(), None)]);
        assert_eq!(idl.order, vec![Ok(0), Err(1)]);
    }

    #[test]
    fn unknown_constructs_are_errors_not_guesses() {
        assert!(read("x = Frobnicate(1)").is_err());
        assert!(read("x = Builtin(\"newthing\")").is_err());
        assert!(read("x = Struct(\"s\", [(\"a\", undefined_type)])").is_err());
        assert!(read("x = (").is_err());
        assert!(read("x = 'unterminated").is_err());
    }

    #[test]
    fn camel_case_names() {
        assert_eq!(Idl::camel("domain_build_info"), "DomainBuildInfo");
        assert_eq!(Idl::camel("QEMU_XEN"), "QemuXen");
        assert_eq!(Idl::camel("S16_LE"), "S16Le");
    }
}
