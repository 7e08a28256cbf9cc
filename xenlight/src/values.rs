//! The plain-data forms of libxl's builtin IDL types that have no Rust
//! counterpart in the standard library: bitmaps and CPUID/MSR policies.
//! (Strings are `Option<String>`, defbools `Option<bool>`, string lists
//! `Vec<String>`, key-value lists `Vec<(String, Option<String>)>`.)

/// A set of bits, as libxl keeps CPU, node and vCPU maps (`libxl_bitmap`).
///
/// The bytes are kept exactly as libxl holds them (bit `i` is bit `i % 8`
/// of byte `i / 8`), so a bitmap read from libxl converts back unchanged.
///
/// ```
/// use xenlight::types::Bitmap;
/// let mut b = Bitmap::with_bits(10);
/// b.set(3);
/// b.set(9);
/// assert!(b.test(3) && !b.test(4));
/// assert_eq!(b.iter().collect::<Vec<_>>(), vec![3, 9]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Bitmap {
    /// The map's bytes; libxl's `size` is their count.
    pub bytes: Vec<u8>,
}

impl Bitmap {
    /// The most bits a map can hold: Xen's `NR_CPUS` is at most 16383
    /// (xen/arch/Kconfig), so no CPU, node or vCPU map of any host is
    /// longer. Bits from here up are ignored, as libxl ignores bits past a
    /// map's end (`libxl_bitmap_set`), so no input can make a map huge.
    pub const MAX_BITS: usize = 16384;

    /// An empty bitmap with room for `bits` bits (at most
    /// [`MAX_BITS`](Bitmap::MAX_BITS)).
    pub fn with_bits(bits: usize) -> Self {
        Bitmap {
            bytes: vec![0; bits.min(Self::MAX_BITS).div_ceil(8)],
        }
    }

    /// A bitmap with bits `0..n` set (e.g. the first `n` vCPUs).
    ///
    /// ```
    /// use xenlight::types::Bitmap;
    /// assert_eq!(Bitmap::first(3).iter().collect::<Vec<_>>(), vec![0, 1, 2]);
    /// ```
    pub fn first(n: usize) -> Self {
        let mut b = Bitmap::with_bits(n);
        for i in 0..n {
            b.set(i);
        }
        b
    }

    /// Sets bit `i`, growing the map if needed; a bit from
    /// [`MAX_BITS`](Bitmap::MAX_BITS) up is ignored.
    ///
    /// ```
    /// use xenlight::types::Bitmap;
    /// let mut b = Bitmap::default();
    /// b.set(usize::MAX); // no CPU has this number: nothing is allocated
    /// assert!(b.bytes.is_empty());
    /// ```
    pub fn set(&mut self, i: usize) {
        if i >= Self::MAX_BITS {
            return;
        }
        if i / 8 >= self.bytes.len() {
            self.bytes.resize(i / 8 + 1, 0);
        }
        self.bytes[i / 8] |= 1 << (i % 8);
    }

    /// Clears bit `i`.
    pub fn clear(&mut self, i: usize) {
        if let Some(b) = self.bytes.get_mut(i / 8) {
            *b &= !(1 << (i % 8));
        }
    }

    /// Whether bit `i` is set.
    pub fn test(&self, i: usize) -> bool {
        self.bytes
            .get(i / 8)
            .is_some_and(|b| b & (1 << (i % 8)) != 0)
    }

    /// The indices of the set bits, in order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.bytes.len() * 8).filter(|&i| self.test(i))
    }
}

/// A guest's CPUID and MSR policy (`libxl_cpuid_policy_list`), in the
/// form libxl's JSON shows it: per-leaf register masks and per-MSR masks.
///
/// Each mask string has one character per bit, most significant first:
/// `1`/`0` force the bit, `x` leaves the default, `k` keeps the host's,
/// `s` keeps the host's across migration (see xl.cfg(5) "cpuid").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct CpuidPolicy {
    /// The CPUID leaves the policy changes.
    pub cpuid: Vec<CpuidLeaf>,
    /// The MSRs the policy changes.
    pub msr: Vec<MsrPolicy>,
}

/// One CPUID leaf of a [`CpuidPolicy`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct CpuidLeaf {
    /// The leaf (EAX input).
    pub leaf: u32,
    /// The subleaf (ECX input), for leaves that have them.
    pub subleaf: Option<u32>,
    /// Masks for EAX, EBX, ECX and EDX: 32 characters each, or `None` for
    /// a register the policy leaves alone.
    pub regs: [Option<String>; 4],
}

/// One MSR of a [`CpuidPolicy`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct MsrPolicy {
    /// The MSR's index.
    pub index: u32,
    /// Its 64-character mask.
    pub policy: String,
}

impl CpuidPolicy {
    /// Whether the policy changes nothing (libxl's default).
    pub fn is_empty(&self) -> bool {
        self.cpuid.is_empty() && self.msr.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_sets_tests_and_grows() {
        let mut b = Bitmap::default();
        assert!(!b.test(0));
        b.set(17);
        assert_eq!(b.bytes.len(), 3);
        assert!(b.test(17));
        b.clear(17);
        assert!(!b.test(17));
        b.clear(1000); // out of range: nothing to clear, no panic
        assert_eq!(Bitmap::with_bits(9).bytes.len(), 2);
    }
}

/// Bitmaps and policies in libxl's JSON form.
#[cfg(feature = "serde")]
mod serde_json_form {
    use super::{Bitmap, CpuidLeaf, CpuidPolicy, MsrPolicy};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// libxl writes a bitmap as the indices of its set bits.
    impl Serialize for Bitmap {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.iter())
        }
    }

    /// As libxl reads one: sized to hold the highest index. An index from
    /// [`Bitmap::MAX_BITS`] up is an error (libxl would size a map from it).
    impl<'de> Deserialize<'de> for Bitmap {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let bits = Vec::<u64>::deserialize(d)?;
            let max = Bitmap::MAX_BITS as u64;
            if let Some(bad) = bits.iter().find(|&&i| i >= max) {
                return Err(serde::de::Error::custom(format!(
                    "bitmap bit {bad} is past the largest map Xen has ({max} bits)"
                )));
            }
            let bits: Vec<usize> = bits.into_iter().map(|i| i as usize).collect();
            let mut b = Bitmap::with_bits(bits.iter().max().map_or(0, |m| m + 1));
            for i in bits {
                b.set(i);
            }
            Ok(b)
        }
    }

    #[derive(Serialize, Deserialize, Default)]
    struct Leaf {
        leaf: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subleaf: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        eax: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ebx: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ecx: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        edx: Option<String>,
    }

    #[derive(Serialize, Deserialize)]
    struct Msr {
        index: u32,
        policy: String,
    }

    #[derive(Serialize, Deserialize, Default)]
    struct Policy {
        #[serde(default)]
        cpuid: Vec<Leaf>,
        #[serde(default)]
        msr: Vec<Msr>,
    }

    /// `{"cpuid": [{"leaf", "subleaf", "eax".."edx"}], "msr": [{"index", "policy"}]}`,
    /// as `libxl_cpuid_policy_list_gen_json` writes it.
    impl Serialize for CpuidPolicy {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            Policy {
                cpuid: self
                    .cpuid
                    .iter()
                    .map(|l| {
                        let [eax, ebx, ecx, edx] = l.regs.clone();
                        Leaf {
                            leaf: l.leaf,
                            subleaf: l.subleaf,
                            eax,
                            ebx,
                            ecx,
                            edx,
                        }
                    })
                    .collect(),
                msr: self
                    .msr
                    .iter()
                    .map(|m| Msr {
                        index: m.index,
                        policy: m.policy.clone(),
                    })
                    .collect(),
            }
            .serialize(s)
        }
    }

    impl<'de> Deserialize<'de> for CpuidPolicy {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let p = Policy::deserialize(d)?;
            Ok(CpuidPolicy {
                cpuid: p
                    .cpuid
                    .into_iter()
                    .map(|l| CpuidLeaf {
                        leaf: l.leaf,
                        subleaf: l.subleaf,
                        regs: [l.eax, l.ebx, l.ecx, l.edx],
                    })
                    .collect(),
                msr: p
                    .msr
                    .into_iter()
                    .map(|m| MsrPolicy {
                        index: m.index,
                        policy: m.policy,
                    })
                    .collect(),
            })
        }
    }
}
