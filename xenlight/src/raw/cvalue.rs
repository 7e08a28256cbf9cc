//! Conversions between Rust values and libxl's C values, written once per
//! kind of value (string, defbool, bitmap, list, array, ...). The generated
//! IDL types (`crate::types`) convert field by field through these.

// bindgen gives each C enum the integer type the platform's C compiler
// picks, so some casts are no-ops on some platforms.
#![allow(clippy::unnecessary_cast)]

use std::ffi::{c_char, c_int};
use std::mem::MaybeUninit;

use xenlight_sys as sys;

use super::alloc::{calloc_structs, malloc_string, opt_bytes};
use super::owned::{LibxlStruct, Owned};
use crate::error::{Error, Result};
use crate::ids::{Mac, Uuid};
use crate::values::{Bitmap, CpuidLeaf, CpuidPolicy, MsrPolicy};

/// A Rust value with a C form in libxl's IDL.
///
/// The trait is public only so it can bound [`crate::types::IdlType`]; it
/// lives in a private module, so users can neither name nor implement it.
pub trait CValue: Sized {
    /// The C form: initialised by [`LibxlStruct::init`], freed by
    /// [`LibxlStruct::dispose`].
    type C: LibxlStruct;

    /// Reads the value.
    ///
    /// # Safety
    /// `c` is initialised (libxl's `_init`, or filled by libxl).
    unsafe fn read_c(c: &Self::C) -> Result<Self>;

    /// Reads the value into `out`, which is initialised on `Ok` and left
    /// uninitialised on `Err`. Large structs build themselves there, so an
    /// array of device structs is read without moving each element.
    ///
    /// # Safety
    /// As [`read_c`](Self::read_c).
    #[inline]
    unsafe fn read_into(c: &Self::C, out: &mut MaybeUninit<Self>) -> Result<()> {
        // SAFETY: caller's contract.
        out.write(unsafe { Self::read_c(c) }?);
        Ok(())
    }

    /// Writes the value into `c`; what it allocates becomes `c`'s and is
    /// freed by its `_dispose`, also when an error stops the write halfway.
    ///
    /// # Safety
    /// `c` holds what libxl's `_init` left there and nothing else has been
    /// written to it (keyed unions are selected once, by `_init_<key>`).
    unsafe fn write_c(&self, c: &mut Self::C) -> Result<()>;

    /// The value in a fresh, owned C value.
    fn to_c(&self) -> Result<Owned<Self::C>> {
        let mut c = Owned::<Self::C>::new();
        // SAFETY: `c` is freshly initialised; write_c keeps it disposable
        // (its contract); on error it is disposed on drop.
        unsafe { self.write_c(c.get_mut())? };
        Ok(c)
    }
}

// Numbers and enumerations' C forms need no `_init` or `_dispose`.
macro_rules! plain_c {
    ($($t:ty),*) => {$(
        // SAFETY: plain data: zero is a valid value, nothing to free.
        unsafe impl LibxlStruct for $t {
            unsafe fn init(_: *mut Self) {}
            unsafe fn dispose(_: *mut Self) {}
        }
    )*};
}
plain_c!(bool, u8, u16, i32, u32, u64);

/// Numbers and booleans: the same value on both sides.
macro_rules! same_c {
    ($($t:ty),*) => {$(
        impl CValue for $t {
            type C = $t;
            #[inline]
            unsafe fn read_c(c: &$t) -> Result<Self> {
                Ok(*c)
            }
            #[inline]
            unsafe fn write_c(&self, c: &mut $t) -> Result<()> {
                *c = *self;
                Ok(())
            }
        }
    )*};
}
same_c!(bool, u8, u16, i32, u32, u64);

fn not_utf8(what: &str) -> Error {
    Error::InvalidConfig {
        field: what.to_owned(),
        reason: "libxl holds a string that is not UTF-8".to_owned(),
    }
}

/// Reads a C string that may be NULL; invalid UTF-8 is an error naming it.
///
/// # Safety
/// `p` is NULL or a valid NUL-terminated string.
unsafe fn read_string(p: *const c_char) -> Result<Option<String>> {
    // SAFETY: per the caller's contract.
    match unsafe { opt_bytes(p) } {
        None => Ok(None),
        Some(b) => String::from_utf8(b)
            .map(Some)
            .map_err(|_| not_utf8("string")),
    }
}

/// [`read_string`] into `out` (initialised on `Ok`).
///
/// # Safety
/// As [`read_string`].
unsafe fn read_string_into(p: *const c_char, out: &mut MaybeUninit<Option<String>>) -> Result<()> {
    // SAFETY: caller's contract.
    out.write(unsafe { read_string(p) }?);
    Ok(())
}

/// A string field: `None` is NULL (libxl's "not set").
///
/// The C form is the field itself, a pointer libxl frees with `free()`;
/// `LibxlStruct` for it frees it too, so an owned one does not leak.
impl CValue for Option<String> {
    type C = *mut c_char;
    // Most string fields of a config are unset: the NULL case is inlined.
    #[inline(always)]
    unsafe fn read_c(c: &*mut c_char) -> Result<Self> {
        if c.is_null() {
            return Ok(None);
        }
        // SAFETY: libxl string fields are NULL or NUL-terminated.
        unsafe { read_string(*c) }
    }
    // In place: no `Result<Option<String>>` is built and moved per field.
    #[inline(always)]
    unsafe fn read_into(c: &*mut c_char, out: &mut MaybeUninit<Self>) -> Result<()> {
        if c.is_null() {
            out.write(None);
            return Ok(());
        }
        // SAFETY: libxl string fields are NULL or NUL-terminated.
        unsafe { read_string_into(*c, out) }
    }
    #[inline(always)]
    unsafe fn write_c(&self, c: &mut *mut c_char) -> Result<()> {
        if let Some(s) = self {
            let p = malloc_string("string field", s)?;
            // SAFETY: the old value is NULL or malloc'd and owned by `c`.
            unsafe { libc::free(c.cast()) };
            *c = p;
        }
        Ok(())
    }
}

// SAFETY: a string field is NULL (init) or malloc'd; dispose frees it once.
unsafe impl LibxlStruct for *mut c_char {
    unsafe fn init(p: *mut Self) {
        // SAFETY: the caller passes a writable pointer.
        unsafe { p.write(std::ptr::null_mut()) }
    }
    unsafe fn dispose(p: *mut Self) {
        // SAFETY: NULL or malloc'd (see above); reset so a second dispose is harmless.
        unsafe {
            libc::free((*p).cast());
            p.write(std::ptr::null_mut());
        }
    }
}

/// libxl's three-valued boolean: `None` is "let libxl decide".
impl CValue for Option<bool> {
    type C = sys::libxl_defbool;
    #[inline]
    unsafe fn read_c(c: &sys::libxl_defbool) -> Result<Self> {
        // libxl.h: val 0 is default, > 0 true, < 0 false.
        Ok(match c.val {
            0 => None,
            v => Some(v > 0),
        })
    }
    #[inline]
    unsafe fn write_c(&self, c: &mut sys::libxl_defbool) -> Result<()> {
        // libxl.h's encoding (libxl_defbool_set/unset, without the calls).
        c.val = match self {
            None => 0,
            Some(true) => 1,
            Some(false) => -1,
        };
        Ok(())
    }
}
plain_c!(sys::libxl_defbool, sys::libxl_uuid, sys::libxl_ms_vm_genid);

impl CValue for Uuid {
    type C = sys::libxl_uuid;
    unsafe fn read_c(c: &sys::libxl_uuid) -> Result<Self> {
        Ok(Uuid::from_bytes(c.uuid))
    }
    unsafe fn write_c(&self, c: &mut sys::libxl_uuid) -> Result<()> {
        c.uuid = *self.as_bytes();
        Ok(())
    }
}

/// `libxl_mac` is a `[u8; 6]`.
impl CValue for Mac {
    type C = [u8; 6];
    unsafe fn read_c(c: &[u8; 6]) -> Result<Self> {
        Ok(Mac(*c))
    }
    unsafe fn write_c(&self, c: &mut [u8; 6]) -> Result<()> {
        *c = self.0;
        Ok(())
    }
}

/// `libxl_hwcap` is a `[u32; 8]`.
impl CValue for [u32; 8] {
    type C = [u32; 8];
    unsafe fn read_c(c: &[u32; 8]) -> Result<Self> {
        Ok(*c)
    }
    unsafe fn write_c(&self, c: &mut [u32; 8]) -> Result<()> {
        *c = *self;
        Ok(())
    }
}
plain_c!([u8; 6], [u32; 8]);

/// The VM generation id (`libxl_ms_vm_genid`): 16 bytes, zero when unset.
impl CValue for [u8; 16] {
    type C = sys::libxl_ms_vm_genid;
    unsafe fn read_c(c: &sys::libxl_ms_vm_genid) -> Result<Self> {
        Ok(c.bytes)
    }
    unsafe fn write_c(&self, c: &mut sys::libxl_ms_vm_genid) -> Result<()> {
        c.bytes = *self;
        Ok(())
    }
}

impl CValue for Bitmap {
    type C = sys::libxl_bitmap;
    unsafe fn read_c(c: &sys::libxl_bitmap) -> Result<Self> {
        let bytes = if c.map.is_null() {
            Vec::new()
        } else {
            // SAFETY: libxl's bitmap holds `size` bytes at `map`.
            unsafe { std::slice::from_raw_parts(c.map, c.size as usize) }.to_vec()
        };
        Ok(Bitmap { bytes })
    }
    unsafe fn write_c(&self, c: &mut sys::libxl_bitmap) -> Result<()> {
        if self.bytes.is_empty() {
            return Ok(());
        }
        let size = u32::try_from(self.bytes.len()).map_err(|_| Error::InvalidArgument {
            what: "bitmap",
            reason: "more bits than libxl can hold".into(),
        })?;
        // SAFETY: malloc of `size` bytes, checked below.
        let map = unsafe { libc::malloc(self.bytes.len()) }.cast::<u8>();
        if map.is_null() {
            return Err(Error::no_memory("bitmap"));
        }
        // SAFETY: `map` has room for the bytes; the old map is NULL or
        // malloc'd and owned by `c`.
        unsafe {
            std::ptr::copy_nonoverlapping(self.bytes.as_ptr(), map, self.bytes.len());
            libc::free(c.map.cast());
        }
        c.map = map;
        c.size = size;
        Ok(())
    }
}

// SAFETY: libxl's own bitmap init/dispose.
unsafe impl LibxlStruct for sys::libxl_bitmap {
    unsafe fn init(p: *mut Self) {
        // SAFETY: the caller passes a writable bitmap.
        unsafe { sys::libxl_bitmap_init(p) }
    }
    unsafe fn dispose(p: *mut Self) {
        // SAFETY: an initialised bitmap.
        unsafe { sys::libxl_bitmap_dispose(p) }
    }
}

/// Reads a NULL-terminated array of strings.
///
/// # Safety
/// `p` is NULL or a NULL-terminated array of valid C strings.
unsafe fn read_strings(p: *const *mut c_char) -> Result<Vec<Option<String>>> {
    let mut out = Vec::new();
    if p.is_null() {
        return Ok(out);
    }
    for i in 0.. {
        // SAFETY: within the array: it ends at the first NULL.
        let s = unsafe { *p.add(i) };
        if s.is_null() {
            break;
        }
        // SAFETY: a valid C string.
        out.push(unsafe { read_string(s) }?);
    }
    Ok(out)
}

/// Writes a NULL-terminated array of `malloc`'d strings, `None` as NULL
/// (only key-value values may be NULL, and never the last slot's key).
fn write_strings(items: &[Option<&str>], c: &mut *mut *mut c_char) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    // SAFETY: calloc of n+1 pointers (the last one the NULL terminator).
    let arr = unsafe { libc::calloc(items.len() + 1, std::mem::size_of::<*mut c_char>()) }
        .cast::<*mut c_char>();
    if arr.is_null() {
        return Err(Error::no_memory("string list"));
    }
    *c = arr;
    for (i, s) in items.iter().enumerate() {
        if let Some(s) = s {
            // The array is `c`'s from here on: an error leaves it
            // NULL-terminated at the first unfilled slot, for _dispose.
            let p = malloc_string("string list entry", s)?;
            // SAFETY: i < len, inside the allocation.
            unsafe { *arr.add(i) = p };
        }
    }
    Ok(())
}

/// A string list (`libxl_string_list`); empty is NULL.
impl CValue for Vec<String> {
    type C = sys::libxl_string_list;
    unsafe fn read_c(c: &sys::libxl_string_list) -> Result<Self> {
        // SAFETY: a string list is NULL or NULL-terminated.
        Ok(unsafe { read_strings(*c) }?.into_iter().flatten().collect())
    }
    unsafe fn write_c(&self, c: &mut sys::libxl_string_list) -> Result<()> {
        let items: Vec<Option<&str>> = self.iter().map(|s| Some(s.as_str())).collect();
        write_strings(&items, c)
    }
}

/// A key-value list (`libxl_key_value_list`) in libxl's order; a value may
/// be `None` (JSON null).
impl CValue for Vec<(String, Option<String>)> {
    type C = sys::libxl_key_value_list;
    unsafe fn read_c(c: &sys::libxl_key_value_list) -> Result<Self> {
        let mut out = Vec::new();
        if c.is_null() {
            return Ok(out);
        }
        let p = *c;
        for i in (0..).step_by(2) {
            // The key first: libxl allocates 2n+1 slots (libxl_json.c,
            // libxl.c), so the terminating NULL key has no value slot.
            // SAFETY: keys end at the first NULL key, inside the array.
            let k = unsafe { *p.add(i) };
            if k.is_null() {
                break;
            }
            // SAFETY: a non-NULL key is followed by its value slot.
            let v = unsafe { *p.add(i + 1) };
            // SAFETY: valid C strings (or a NULL value).
            let (k, v) = unsafe { (read_string(k)?, read_string(v)?) };
            out.push((k.unwrap_or_default(), v));
        }
        Ok(out)
    }
    unsafe fn write_c(&self, c: &mut sys::libxl_key_value_list) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        // n pairs + the NULL key terminator, as libxl allocates them
        // (2n+1), so the reader is checked against libxl's own layout.
        let n = self.len() * 2 + 1;
        // SAFETY: calloc of n pointers, checked below.
        let arr =
            unsafe { libc::calloc(n, std::mem::size_of::<*mut c_char>()) }.cast::<*mut c_char>();
        if arr.is_null() {
            return Err(Error::no_memory("key-value list"));
        }
        *c = arr;
        for (i, (k, v)) in self.iter().enumerate() {
            // Value first: libxl's dispose stops at the first NULL key, so
            // a value written without its key would leak.
            let vp = match v {
                Some(v) => malloc_string("key-value list value", v)?,
                None => std::ptr::null_mut(),
            };
            let kp = match malloc_string("key-value list key", k) {
                Ok(p) => p,
                Err(e) => {
                    // SAFETY: ours, malloc'd or NULL.
                    unsafe { libc::free(vp.cast()) };
                    return Err(e);
                }
            };
            // SAFETY: 2i+1 < n.
            unsafe {
                *arr.add(2 * i + 1) = vp;
                *arr.add(2 * i) = kp;
            }
        }
        Ok(())
    }
}

// SAFETY: libxl's own list disposers; init is NULL.
unsafe impl LibxlStruct for *mut *mut c_char {
    unsafe fn init(p: *mut Self) {
        // SAFETY: writable.
        unsafe { p.write(std::ptr::null_mut()) }
    }
    unsafe fn dispose(p: *mut Self) {
        // String lists and key-value lists share this C type. An owner of
        // one on its own is only ever a string list; key-value lists live
        // inside IDL structs, whose own `_dispose` frees them by pairs.
        // SAFETY: NULL or a NULL-terminated malloc'd list.
        unsafe { sys::libxl_string_list_dispose(p) }
    }
}

// The CPUID policy's C layout. libxl keeps it in a `struct
// libxl__cpu_policy` (libxl_internal.h: `{ struct xc_xend_cpuid *cpuid;
// struct xc_msr *msr; }`) of xenctrl.h's structs, the same in Xen 4.17 and
// 4.20; libxl_cpuid_dispose frees it with free(), so it is built here with
// calloc/malloc. Each list ends with an entry whose input/index is
// XEN_CPUID_INPUT_UNUSED / XC_MSR_INPUT_UNUSED.
#[repr(C)]
struct CpuPolicy {
    cpuid: *mut XendCpuid,
    msr: *mut XcMsr,
}
#[repr(C)]
struct XendCpuid {
    input: [u32; 2],
    policy: [*mut c_char; 4],
}
#[repr(C)]
struct XcMsr {
    index: u32,
    policy: [c_char; 65],
}
const UNUSED: u32 = 0xFFFF_FFFF;

fn bad_policy(reason: String) -> Error {
    Error::InvalidConfig {
        field: "cpuid".into(),
        reason,
    }
}

impl CValue for CpuidPolicy {
    type C = sys::libxl_cpuid_policy_list;
    unsafe fn read_c(c: &sys::libxl_cpuid_policy_list) -> Result<Self> {
        let mut out = CpuidPolicy::default();
        let p = (*c).cast::<CpuPolicy>();
        if p.is_null() {
            return Ok(out);
        }
        // SAFETY: libxl's policy object, laid out as above.
        let (cpuid, msr) = unsafe { ((*p).cpuid, (*p).msr) };
        if !cpuid.is_null() {
            for i in 0.. {
                // SAFETY: the list ends with an UNUSED entry.
                let e = unsafe { &*cpuid.add(i) };
                if e.input[0] == UNUSED {
                    break;
                }
                let mut regs: [Option<String>; 4] = Default::default();
                for (r, p) in regs.iter_mut().zip(e.policy) {
                    // libxl writes exactly 32 characters (plus NUL).
                    // SAFETY: NULL or a 33-byte string.
                    *r = unsafe { read_string(p) }?;
                }
                out.cpuid.push(CpuidLeaf {
                    leaf: e.input[0],
                    subleaf: (e.input[1] != UNUSED).then_some(e.input[1]),
                    regs,
                });
            }
        }
        if !msr.is_null() {
            for i in 0.. {
                // SAFETY: the list ends with an UNUSED entry.
                let m = unsafe { &*msr.add(i) };
                if m.index == UNUSED {
                    break;
                }
                let bytes: Vec<u8> = m
                    .policy
                    .iter()
                    .take_while(|&&b| b != 0)
                    .map(|&b| b as u8)
                    .collect();
                let policy = String::from_utf8(bytes).map_err(|_| not_utf8("cpuid msr"))?;
                out.msr.push(MsrPolicy {
                    index: m.index,
                    policy,
                });
            }
        }
        Ok(out)
    }

    unsafe fn write_c(&self, c: &mut sys::libxl_cpuid_policy_list) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        for l in &self.cpuid {
            if l.leaf == UNUSED || l.subleaf == Some(UNUSED) {
                return Err(bad_policy(format!("leaf {:#x} is reserved", l.leaf)));
            }
            if let Some(r) = l.regs.iter().flatten().find(|r| r.len() != 32) {
                return Err(bad_policy(format!(
                    "register mask {r:?} of leaf {:#x} must have 32 characters",
                    l.leaf
                )));
            }
        }
        for m in &self.msr {
            if m.index == UNUSED || m.policy.len() != 64 || m.policy.contains('\0') {
                return Err(bad_policy(format!(
                    "MSR {:#x}: the mask must have 64 characters",
                    m.index
                )));
            }
        }
        // SAFETY: calloc'd objects, checked for NULL; each is linked into
        // `c` as soon as it exists, so libxl_cpuid_dispose frees all of it
        // on any early return below.
        unsafe {
            let p = libc::calloc(1, std::mem::size_of::<CpuPolicy>()).cast::<CpuPolicy>();
            if p.is_null() {
                return Err(Error::no_memory("cpuid policy"));
            }
            *c = p.cast();
            let n = self.cpuid.len();
            let cpuid = libc::calloc(n + 1, std::mem::size_of::<XendCpuid>()).cast::<XendCpuid>();
            if cpuid.is_null() {
                return Err(Error::no_memory("cpuid policy"));
            }
            for i in 0..=n {
                (*cpuid.add(i)).input = [UNUSED; 2];
            }
            (*p).cpuid = cpuid;
            for (i, l) in self.cpuid.iter().enumerate() {
                let e = &mut *cpuid.add(i);
                for (slot, r) in e.policy.iter_mut().zip(&l.regs) {
                    if let Some(r) = r {
                        *slot = malloc_string("cpuid register mask", r)?;
                    }
                }
                e.input = [l.leaf, l.subleaf.unwrap_or(UNUSED)];
            }
            let m = self.msr.len();
            let msr = libc::calloc(m + 1, std::mem::size_of::<XcMsr>()).cast::<XcMsr>();
            if msr.is_null() {
                return Err(Error::no_memory("cpuid policy"));
            }
            for (i, src) in self.msr.iter().enumerate() {
                let d = &mut *msr.add(i);
                d.index = src.index;
                for (dst, b) in d.policy.iter_mut().zip(src.policy.bytes()) {
                    *dst = b as c_char;
                }
            }
            (*msr.add(m)).index = UNUSED;
            (*p).msr = msr;
        }
        Ok(())
    }
}

// SAFETY: libxl's own disposer; init is NULL.
unsafe impl LibxlStruct for sys::libxl_cpuid_policy_list {
    unsafe fn init(p: *mut Self) {
        // SAFETY: writable.
        unsafe { p.write(std::ptr::null_mut()) }
    }
    unsafe fn dispose(p: *mut Self) {
        // SAFETY: NULL or a policy built by libxl or by write_c above.
        unsafe { sys::libxl_cpuid_dispose(p) }
    }
}

/// Reads a field of a struct that is being built in place: straight into
/// `out` (so a nested struct is not built elsewhere and moved).
///
/// # Safety
/// As [`CValue::read_c`]; `out` is valid for writes and is initialised on
/// `Ok`, left uninitialised on `Err`.
#[inline(always)]
pub(crate) unsafe fn read_field<T: CValue>(c: &T::C, out: *mut T) -> Result<()> {
    // SAFETY: caller's contract; MaybeUninit<T> has T's layout.
    unsafe { T::read_into(c, &mut *out.cast()) }
}

/// Stores a value read by a reader that returns it (union and array
/// fields) in the field `out` of a struct being built in place.
///
/// # Safety
/// `out` is valid for writes; what it held is not dropped.
#[inline(always)]
pub(crate) unsafe fn put_field<T>(r: Result<T>, out: *mut T) -> Result<()> {
    // SAFETY: caller's contract.
    r.map(|v| unsafe { out.write(v) })
}

/// Reads an IDL array field (`ptr`, `len`).
///
/// # Safety
/// `p` points to `n` initialised elements (or is NULL with `n == 0`).
pub(crate) unsafe fn read_array<T: CValue>(p: *const T::C, n: c_int) -> Result<Vec<T>> {
    let n = usize::try_from(n).unwrap_or(0);
    if p.is_null() || n == 0 {
        return Ok(Vec::new());
    }
    // A loop, not `collect::<Result<_>>()`: that cannot size the vector up
    // front, and the elements (device structs) are large to move.
    let mut v = Vec::<T>::with_capacity(n);
    for i in 0..n {
        // Built in the vector's next slot (no move of a large element).
        // SAFETY: i < n elements, each initialised (caller's contract);
        // the slot is counted only once `read_into` initialised it.
        unsafe {
            T::read_into(&*p.add(i), &mut v.spare_capacity_mut()[0])?;
            v.set_len(i + 1);
        }
    }
    Ok(v)
}

/// Writes an IDL array field: `calloc`'d, every element `_init`ed, then
/// filled. The array and its length are stored before the elements are
/// filled, so the parent's `_dispose` frees everything on an error.
///
/// # Safety
/// `p` and `n` are the parent's array and length, as `_init` left them
/// (NULL and 0).
pub(crate) unsafe fn write_array<T: CValue>(
    what: &'static str,
    v: &[T],
    p: &mut *mut T::C,
    n: &mut c_int,
) -> Result<()> {
    let (arr, count) = calloc_structs::<T::C>(what, v.len())?;
    *p = arr;
    *n = count;
    for (i, x) in v.iter().enumerate() {
        // SAFETY: i < count, an element `_init`ed by calloc_structs.
        unsafe { x.write_c(&mut *arr.add(i))? };
    }
    Ok(())
}

/// A [`CValue`] with libxl's JSON functions (`libxl_<type>_to_json` and
/// `_from_json`): every IDL type.
pub trait JsonC: CValue {
    /// `libxl_<type>_to_json`: a malloc'd string, or NULL on failure.
    ///
    /// # Safety
    /// `ctx` is a live context; `c` is initialised.
    unsafe fn gen_json(ctx: *mut sys::libxl_ctx, c: &mut Self::C) -> *mut c_char;

    /// `libxl_<type>_from_json`: fills `c` (which libxl `_init`s first).
    ///
    /// # Safety
    /// `ctx` is a live context; `c` is initialised and owns nothing yet;
    /// `s` is a NUL-terminated string.
    unsafe fn parse_json(ctx: *mut sys::libxl_ctx, c: &mut Self::C, s: *const c_char) -> c_int;
}

/// Reads every element of a list libxl returned.
///
/// # Safety
/// The elements are initialised (libxl filled them).
pub(crate) unsafe fn read_list<T: CValue>(list: &[T::C]) -> Result<Vec<T>> {
    let mut v = Vec::with_capacity(list.len());
    for c in list {
        // SAFETY: caller's contract.
        v.push(unsafe { T::read_c(c) }?);
    }
    Ok(v)
}

/// A list a libxl call returned (NULL on failure), read into Rust values
/// and freed with the call's own `*_list_free`.
///
/// # Safety
/// `p` (with the call's name) and `n` come from that libxl call, whose
/// list `free` releases; nothing else frees it.
pub(crate) unsafe fn take_list<T: CValue>(
    ctx: *mut sys::libxl_ctx,
    (p, op): (*mut T::C, &'static str),
    n: c_int,
    free: super::array::ListFree<T::C>,
    on: super::call::On<'_>,
) -> Result<Vec<T>> {
    let p = super::call::non_null(ctx, p, op, on)?;
    // SAFETY: per this function's contract; freed once, when dropped.
    let list = unsafe { super::array::LibxlArray::from_raw(p, n, free) };
    // SAFETY: filled by libxl.
    unsafe { read_list(&list) }
}
