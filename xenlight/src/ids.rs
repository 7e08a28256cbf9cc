//! Identifiers as plain data: domain ids, UUIDs and MAC addresses.
//!
//! Nothing here calls libxl; every other module may use these.

use std::fmt;
use std::str::FromStr;

/// A Xen domain id: 16 bits in Xen, below [`Domid::FIRST_RESERVED`].
///
/// libxl's functions take a `uint32_t` and pass it on to Xen's 16-bit
/// `domid_t`, so 65537 would silently mean domain 1. A `Domid` can only hold
/// an id of a real domain, which makes that check one place.
///
/// ```
/// use xenlight::Domid;
/// assert_eq!(Domid::new(7)?.get(), 7);
/// assert!(Domid::new(65537).is_err());
/// assert!(Domid::new(0x7FF0).is_err()); // DOMID_FIRST_RESERVED
/// assert_eq!("3".parse::<Domid>()?, Domid::new(3)?);
/// assert!(Domid::DOM0.is_dom0());
/// # Ok::<(), xenlight::InvalidDomid>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domid(u16);

/// The error for a number that is not a valid [`Domid`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{value} is not a domain id: domain ids run from 0 to {} \
     (ids from DOMID_FIRST_RESERVED = 0x7FF0 up are Xen's own)",
    Domid::FIRST_RESERVED - 1
)]
pub struct InvalidDomid {
    /// The value given, as text (it may not fit any integer type).
    pub value: String,
}

impl Domid {
    /// Domain-0, the control domain.
    pub const DOM0: Domid = Domid(0);

    /// Xen's `DOMID_FIRST_RESERVED`: this id and every one above it name
    /// special domains (self, IO, Xen, idle, invalid), never a guest.
    pub const FIRST_RESERVED: u32 = 0x7FF0;

    /// The domain id `id`, if it can name a domain.
    pub fn new(id: u32) -> Result<Domid, InvalidDomid> {
        match u16::try_from(id) {
            Ok(v) if id < Self::FIRST_RESERVED => Ok(Domid(v)),
            _ => Err(InvalidDomid {
                value: id.to_string(),
            }),
        }
    }

    /// An id libxl reported; libxl only reports ids of real domains, and an
    /// out-of-range one is kept visibly wrong rather than wrapped.
    pub(crate) fn from_libxl(id: u32) -> Domid {
        Domid(u16::try_from(id).unwrap_or(u16::MAX))
    }

    /// The id as libxl takes it.
    pub const fn get(self) -> u32 {
        self.0 as u32
    }

    /// Whether this is Domain-0.
    pub const fn is_dom0(self) -> bool {
        self.0 == 0
    }
}

impl TryFrom<u32> for Domid {
    type Error = InvalidDomid;
    fn try_from(id: u32) -> Result<Self, InvalidDomid> {
        Domid::new(id)
    }
}

impl TryFrom<i64> for Domid {
    type Error = InvalidDomid;
    fn try_from(id: i64) -> Result<Self, InvalidDomid> {
        u32::try_from(id)
            .ok()
            .and_then(|v| Domid::new(v).ok())
            .ok_or(InvalidDomid {
                value: id.to_string(),
            })
    }
}

impl From<Domid> for u32 {
    fn from(d: Domid) -> u32 {
        d.get()
    }
}

impl FromStr for Domid {
    type Err = InvalidDomid;
    fn from_str(s: &str) -> Result<Self, InvalidDomid> {
        s.parse::<u32>()
            .ok()
            .and_then(|v| Domid::new(v).ok())
            .ok_or_else(|| InvalidDomid {
                value: format!("{s:?}"),
            })
    }
}

impl fmt::Display for Domid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A domain's UUID (16 bytes), printed in the usual 8-4-4-4-12 form.
///
/// ```
/// let u = xenlight::Uuid::from_bytes([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
///                                     0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
/// assert_eq!(u.to_string(), "12345678-9abc-def0-1122-334455667788");
/// assert_eq!("12345678-9abc-def0-1122-334455667788".parse::<xenlight::Uuid>().unwrap(), u);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Uuid([u8; 16]);

impl Uuid {
    /// The UUID with these bytes.
    pub const fn from_bytes(b: [u8; 16]) -> Self {
        Uuid(b)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Whether every byte is zero (libxl's "no UUID set").
    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }

    /// A random (version 4) UUID, for a new domain or pool.
    ///
    /// Unlike `libxl_uuid_generate` (libuuid), it never waits for the
    /// kernel's entropy pool: libuuid retries for a second on a host whose
    /// pool is not yet initialised (a freshly booted dom0 without a
    /// hardware RNG), on every UUID. A domain's UUID is an identifier, not
    /// a secret.
    ///
    /// ```
    /// let a = xenlight::Uuid::random();
    /// assert_eq!(a.to_string().as_bytes()[14], b'4'); // version 4
    /// assert_ne!(a, xenlight::Uuid::random());
    /// ```
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        // SAFETY: writes at most 16 bytes into `b`.
        let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), libc::GRND_INSECURE) };
        if usize::try_from(n).ok() != Some(b.len()) {
            // Kernels before 5.6 lack GRND_INSECURE; /dev/urandom never
            // blocks either.
            use std::io::Read;
            let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
            if read.is_err() {
                // No randomness at all: still unique within this process.
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos();
                static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let c = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                b[..8].copy_from_slice(&(t as u64).to_le_bytes());
                b[8..].copy_from_slice(&(c ^ (u64::from(std::process::id()) << 32)).to_le_bytes());
            }
        }
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Uuid(b)
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The error for a string that is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a UUID (expected 8-4-4-4-12 hexadecimal digits)")]
pub struct ParseUuidError(String);

impl FromStr for Uuid {
    type Err = ParseUuidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseUuidError(s.to_owned());
        let groups: Vec<&str> = s.split('-').collect();
        if groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
            return Err(bad());
        }
        let hex: String = groups.concat();
        let mut out = [0u8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2).ok_or_else(bad)?;
            *o = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(Uuid(out))
    }
}

/// A MAC address.
///
/// ```
/// let m: xenlight::Mac = "00:16:3e:12:34:56".parse().unwrap();
/// assert_eq!(m.to_string(), "00:16:3e:12:34:56");
/// assert!("00:16:3e".parse::<xenlight::Mac>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Mac(pub [u8; 6]);

/// The error for a string that is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a MAC address (xx:xx:xx:xx:xx:xx)")]
pub struct ParseMacError(String);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for Mac {
    type Err = ParseMacError;

    fn from_str(s: &str) -> Result<Self, ParseMacError> {
        let bad = || ParseMacError(s.to_owned());
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut m = [0u8; 6];
        for (o, p) in m.iter_mut().zip(parts) {
            if p.len() != 2 {
                return Err(bad());
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        Ok(Mac(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review defect 2: 65537 used to reach libxl and pause domain 1, and
    /// 65536 slipped past the Domain-0 refusal.
    #[test]
    fn domids_outside_xen_range_are_rejected() {
        for bad in [65537u32, 65536, 0x7FF0, 0x7FFF, u32::MAX] {
            let e = Domid::try_from(bad).unwrap_err();
            assert!(e.to_string().contains(&bad.to_string()), "{e}");
        }
        assert!(Domid::try_from(-1i64).is_err());
        assert!("65537".parse::<Domid>().is_err());
        assert!("x".parse::<Domid>().is_err());
        assert_eq!(Domid::try_from(0x7FEFu32).unwrap().get(), 0x7FEF);
        assert_eq!(Domid::try_from(0u32).unwrap(), Domid::DOM0);
    }

    #[test]
    fn uuid_parse_errors() {
        assert!("not-a-uuid".parse::<Uuid>().is_err());
        assert!("12345678-9abc-def0-1122-33445566778g"
            .parse::<Uuid>()
            .is_err());
        assert!("12345678-9abc-def0-1122-3344556677889"
            .parse::<Uuid>()
            .is_err());
        assert!(Uuid::default().is_nil());
    }
}

/// Uuids and MACs in libxl's JSON: their usual text forms.
#[cfg(feature = "serde")]
mod serde_text {
    use super::{Mac, Uuid};
    use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

    macro_rules! as_text {
        ($($t:ty),*) => {$(
            impl Serialize for $t {
                fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.collect_str(self)
                }
            }
            impl<'de> Deserialize<'de> for $t {
                fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    let s = String::deserialize(d)?;
                    s.parse().map_err(de::Error::custom)
                }
            }
        )*};
    }
    as_text!(Uuid, Mac);
}
