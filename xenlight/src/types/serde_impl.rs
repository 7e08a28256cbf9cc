//! libxl's JSON spellings of its builtin types, for the `serde` feature:
//! defbools are `"True"`/`"False"`/`"<default>"`, key-value lists are
//! objects, `hw_cap` is an array of words. (Uuids, MACs, bitmaps and CPUID
//! policies carry their own impls; enums and unions are generated.)

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use std::fmt;

/// `libxl_defbool` as libxl writes it (`libxl_defbool_to_string`).
pub mod defbool {
    use super::*;

    /// `None` is `"<default>"`.
    pub fn serialize<S: Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match v {
            None => "<default>",
            Some(true) => "True",
            Some(false) => "False",
        })
    }

    /// Also takes JSON `true`/`false`/`null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<bool>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"True\", \"False\" or \"<default>\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                // libxl compares prefixes, so "True" and "true" differ.
                match s {
                    "True" => Ok(Some(true)),
                    "False" => Ok(Some(false)),
                    "<default>" => Ok(None),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
                Ok(Some(b))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
        }
        d.deserialize_any(V)
    }
}

/// `libxl_key_value_list` as a JSON object, in order; values may be null.
pub mod kv {
    use super::*;

    /// As an object.
    pub fn serialize<S: Serializer>(
        v: &[(String, Option<String>)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(v.len()))?;
        for (k, val) in v {
            m.serialize_entry(k, val)?;
        }
        m.end()
    }

    /// From an object, keeping its order.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, Option<String>)>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<(String, Option<String>)>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry()? {
                    out.push((k, v));
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

/// `libxl_hwcap`: libxl writes and reads the first 4 of its 8 words; all 8
/// are written here, and up to 8 read.
pub mod hwcap {
    use super::*;

    /// All 8 words.
    pub fn serialize<S: Serializer>(v: &[u32; 8], s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(Some(8))?;
        for w in v {
            q.serialize_element(w)?;
        }
        q.end()
    }

    /// Up to 8 words; the rest are zero.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u32; 8], D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = [u32; 8];
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of up to 8 integers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut q: A) -> Result<Self::Value, A::Error> {
                let mut out = [0u32; 8];
                let mut i = 0;
                while let Some(w) = q.next_element::<u32>()? {
                    let slot = out
                        .get_mut(i)
                        .ok_or_else(|| de::Error::invalid_length(i + 1, &self))?;
                    *slot = w;
                    i += 1;
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

/// The error for a keyed union given two arms in one object.
pub fn two_arms<E: de::Error>(key: &str) -> E {
    E::custom(format!("more than one \"{key}.*\" union arm in one object"))
}

/// The error for a union whose key names another arm than its payload.
pub fn key_mismatch<E: de::Error>(key: &str, named: i32, arm: i32) -> E {
    E::custom(format!(
        "\"{key}\" names value {named} but the object holds the arm of value {arm}"
    ))
}

/// An IDL enumeration from libxl's name for it (any case, as
/// `libxl_<type>_from_string`) or from its integer.
pub fn enum_from<'de, D: Deserializer<'de>, E>(
    d: D,
    from_name: fn(&str) -> Option<E>,
    from_raw: fn(i32) -> E,
    what: &'static str,
) -> Result<E, D::Error> {
    struct V<E> {
        from_name: fn(&str) -> Option<E>,
        from_raw: fn(i32) -> E,
        what: &'static str,
    }
    impl<'de, E> Visitor<'de> for V<E> {
        type Value = E;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a {} name", self.what)
        }
        fn visit_str<Er: de::Error>(self, s: &str) -> Result<E, Er> {
            (self.from_name)(s).ok_or_else(|| Er::invalid_value(de::Unexpected::Str(s), &self))
        }
        fn visit_i64<Er: de::Error>(self, v: i64) -> Result<E, Er> {
            i32::try_from(v)
                .map(self.from_raw)
                .map_err(|_| Er::invalid_value(de::Unexpected::Signed(v), &self))
        }
        fn visit_u64<Er: de::Error>(self, v: u64) -> Result<E, Er> {
            i32::try_from(v)
                .map(self.from_raw)
                .map_err(|_| Er::invalid_value(de::Unexpected::Unsigned(v), &self))
        }
    }
    d.deserialize_any(V {
        from_name,
        from_raw,
        what,
    })
}
