//! A domain's virtual CPUs: where each runs and may run, how many are
//! online (`libxl_list_vcpu`, `libxl_set_vcpuaffinity`,
//! `libxl_set_vcpuonline`), and SysRq keys for its kernel.

use std::ptr;

use xenlight_sys as sys;

use crate::context::Context;
use crate::error::Result;
use crate::ids::Domid;
use crate::raw::cvalue::{take_list, CValue};
use crate::raw::{raw_call, try_call, On};
use crate::types::{Bitmap, Vcpuinfo};

impl Context {
    /// The domain's vCPUs: state, the physical CPU each runs on, CPU time,
    /// hard and soft affinity (`libxl_list_vcpu`, as `xl vcpu-list`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// for v in ctx.vcpus(xenlight::Domid::DOM0)? {
    ///     println!("vcpu {} on cpu {} online {}", v.vcpuid, v.cpu, v.online);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_list_vcpu")]
    pub fn vcpus(&self, domid: Domid) -> Result<Vec<Vcpuinfo>> {
        let (mut n, mut cpus) = (0, 0);
        // SAFETY: valid out-pointers.
        let r = raw_call!(self, unsafe libxl_list_vcpu(domid.get(), &mut n, &mut cpus));
        // SAFETY: the list and count of libxl_list_vcpu, freed by its own function.
        unsafe {
            take_list(
                self.as_raw(),
                r,
                n,
                sys::libxl_vcpuinfo_list_free,
                On::Domain(domid),
            )
        }
    }

    /// Pins vCPU `vcpu` of the domain: `hard` is where it may run, `soft`
    /// where it prefers to; `None` leaves that one as it is
    /// (`libxl_set_vcpuaffinity`, as `xl vcpu-pin`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// let mut cpus = xenlight::types::Bitmap::default();
    /// cpus.set(1);
    /// ctx.set_vcpu_affinity(domid, 0, Some(&cpus), None)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_set_vcpuaffinity")]
    pub fn set_vcpu_affinity(
        &self,
        domid: Domid,
        vcpu: u32,
        hard: Option<&Bitmap>,
        soft: Option<&Bitmap>,
    ) -> Result<()> {
        self.pin_vcpu(domid, vcpu, hard, soft, false)
    }

    /// [`set_vcpu_affinity`](Self::set_vcpu_affinity) that also undoes a
    /// temporary pin the guest's kernel made of its own vCPU
    /// (`SCHEDOP_pin_override`, which dom0 uses around some firmware calls;
    /// Xen's `XEN_VCPUAFFINITY_FORCE`): `libxl_set_vcpuaffinity_force`, as
    /// `xl vcpu-pin -f`.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// let mut cpus = xenlight::types::Bitmap::default();
    /// cpus.set(0);
    /// ctx.set_vcpu_affinity_force(domid, 0, None, Some(&cpus))?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_set_vcpuaffinity_force")]
    pub fn set_vcpu_affinity_force(
        &self,
        domid: Domid,
        vcpu: u32,
        hard: Option<&Bitmap>,
        soft: Option<&Bitmap>,
    ) -> Result<()> {
        self.pin_vcpu(domid, vcpu, hard, soft, true)
    }

    fn pin_vcpu(
        &self,
        domid: Domid,
        vcpu: u32,
        hard: Option<&Bitmap>,
        soft: Option<&Bitmap>,
        force: bool,
    ) -> Result<()> {
        self.with_affinity_maps(hard, soft, |h, s| {
            // SAFETY: NULL or initialised bitmaps that outlive the call.
            if force {
                try_call!(self, On::Domain(domid), unsafe libxl_set_vcpuaffinity_force(domid.get(), vcpu, h, s))
            } else {
                try_call!(self, On::Domain(domid), unsafe libxl_set_vcpuaffinity(domid.get(), vcpu, h, s))
            }
        })
    }

    /// Pins every vCPU `0..count` of the domain alike
    /// (`libxl_set_vcpuaffinity_all`, as `xl vcpu-pin DOM all ...`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// let mut cpus = xenlight::types::Bitmap::default();
    /// cpus.set(1);
    /// let n = ctx.vcpus(domid)?.len() as u32;
    /// ctx.set_all_vcpus_affinity(domid, n, Some(&cpus), None)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_set_vcpuaffinity_all")]
    pub fn set_all_vcpus_affinity(
        &self,
        domid: Domid,
        count: u32,
        hard: Option<&Bitmap>,
        soft: Option<&Bitmap>,
    ) -> Result<()> {
        self.with_affinity_maps(hard, soft, |h, s| {
            // SAFETY: NULL or initialised bitmaps that outlive the call.
            try_call!(self, On::Domain(domid), unsafe libxl_set_vcpuaffinity_all(domid.get(), count, h, s))
        })
    }

    /// Runs `call` with the maps as libxl takes them: NULL for `None`,
    /// else host-sized (libxl hands them to Xen, which reads and writes
    /// back a map of the host's size).
    fn with_affinity_maps(
        &self,
        hard: Option<&Bitmap>,
        soft: Option<&Bitmap>,
        call: impl FnOnce(*const sys::libxl_bitmap, *const sys::libxl_bitmap) -> Result<()>,
    ) -> Result<()> {
        let host_sized = |m: Option<&Bitmap>| -> Result<Option<_>> {
            m.map(|m| {
                let mut m = m.clone();
                m.bytes.resize(self.cpumap_bytes()?, 0);
                m.to_c()
            })
            .transpose()
        };
        let (hard, soft) = (host_sized(hard)?, host_sized(soft)?);
        let ptr_of = |m: &Option<crate::raw::Owned<sys::libxl_bitmap>>| {
            m.as_ref().map_or(ptr::null(), |m| m.as_ptr())
        };
        call(ptr_of(&hard), ptr_of(&soft))
    }

    /// Sets how many of the domain's vCPUs are online: vCPUs `0..count`
    /// (`libxl_set_vcpuonline`, as `xl vcpu-set`). The guest brings them up
    /// or down itself; `count` is at most the domain's maximum.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.set_vcpus_online(domid, 2)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_set_vcpuonline")]
    pub fn set_vcpus_online(&self, domid: Domid, count: u32) -> Result<()> {
        let mut map = online_map(count)?;
        // SAFETY: an initialised bitmap that outlives the call; NULL ao_how
        // makes it synchronous.
        try_call!(self, On::Domain(domid), unsafe libxl_set_vcpuonline(domid.get(), map.as_mut_ptr(), ptr::null()))
    }

    /// Sends a magic SysRq key to the domain, as if typed on its console
    /// (`libxl_send_sysrq`, as `xl sysrq`): `'h'` prints help, `'s'` syncs.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.send_sysrq(domid, 's')?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_send_sysrq")]
    pub fn send_sysrq(&self, domid: Domid, key: char) -> Result<()> {
        if !key.is_ascii_graphic() {
            return Err(crate::error::Error::InvalidArgument {
                what: "sysrq key",
                reason: format!("{key:?} is not a printable ASCII character"),
            });
        }
        // SAFETY: plain arguments.
        try_call!(self, On::Domain(domid), unsafe libxl_send_sysrq(domid.get(), key as u8 as std::ffi::c_char))
    }

    /// The size in bytes of libxl's CPU maps on this host
    /// (`libxl_get_max_cpus`).
    pub(crate) fn cpumap_bytes(&self) -> Result<usize> {
        // SAFETY: a live ctx; reads the host's size.
        map_bytes(
            unsafe { sys::libxl_get_max_cpus(self.as_raw()) },
            "libxl_get_max_cpus",
        )
    }

    /// The size in bytes of libxl's NUMA node maps on this host
    /// (`libxl_get_max_nodes`).
    pub(crate) fn nodemap_bytes(&self) -> Result<usize> {
        // SAFETY: a live ctx; reads the host's size.
        map_bytes(
            unsafe { sys::libxl_get_max_nodes(self.as_raw()) },
            "libxl_get_max_nodes",
        )
    }
}

/// Bytes for a map of `n` bits, `n` as libxl's `libxl_get_max_*` returns it
/// (a negative error code on failure).
fn map_bytes(n: i32, op: &'static str) -> Result<usize> {
    usize::try_from(n)
        .ok()
        .filter(|n| *n > 0)
        .map(|n| n.div_ceil(8))
        .ok_or_else(|| crate::raw::error_for(n, op, On::Host))
}

/// The map of vCPUs `0..count` that `libxl_set_vcpuonline` takes; no
/// vCPU online is refused.
pub(crate) fn online_map(count: u32) -> Result<crate::raw::Owned<sys::libxl_bitmap>> {
    if count == 0 {
        return Err(crate::error::Error::InvalidArgument {
            what: "vCPU count",
            reason: "a domain needs at least one online vCPU".into(),
        });
    }
    Bitmap::first(count as usize).to_c()
}
