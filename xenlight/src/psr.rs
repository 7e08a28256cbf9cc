//! Intel Resource Director Technology through libxl's PSR calls (what xl's
//! `psr-*` commands use): cache monitoring (CMT), cache allocation (CAT)
//! and memory bandwidth allocation (MBA), and the host's sockets they are
//! counted per. A host without RDT (any AMD CPU, any emulated one) answers
//! each with libxl's error, or "not enabled".

use std::ffi::c_uint;
use std::ptr;

use xenlight_sys as sys;

use crate::context::Context;
use crate::error::Result;
use crate::ids::Domid;
use crate::raw::cvalue::{read_list, CValue};
use crate::raw::{try_call, LibxlArray, On, Owned};
use crate::types::{Bitmap, PsrCatInfo, PsrCbmType, PsrCmtType, PsrFeatType, PsrHwInfo};

impl Context {
    /// Whether cache monitoring is on in the hypervisor
    /// (`libxl_psr_cmt_enabled`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// println!("CMT: {}", ctx.psr_cmt_enabled());
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_psr_cmt_enabled")]
    pub fn psr_cmt_enabled(&self) -> bool {
        // SAFETY: a live ctx.
        unsafe { sys::libxl_psr_cmt_enabled(self.as_raw()) > 0 }
    }

    /// Whether the host can monitor `ty` (`libxl_psr_cmt_type_supported`).
    ///
    /// ```no_run
    /// use xenlight::types::PsrCmtType;
    /// let ctx = xenlight::Context::new()?;
    /// println!("{}", ctx.psr_cmt_type_supported(PsrCmtType::CacheOccupancy));
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_psr_cmt_type_supported")]
    pub fn psr_cmt_type_supported(&self, ty: PsrCmtType) -> bool {
        // SAFETY: a live ctx; a plain enum value.
        unsafe { sys::libxl_psr_cmt_type_supported(self.as_raw(), ty.to_raw() as _) > 0 }
    }

    /// Starts monitoring the domain (`libxl_psr_cmt_attach`, as `xl
    /// psr-cmt-attach`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.psr_cmt_attach(domid)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_psr_cmt_attach")]
    pub fn psr_cmt_attach(&self, domid: Domid) -> Result<()> {
        // SAFETY: plain arguments.
        try_call!(self, On::Domain(domid), unsafe libxl_psr_cmt_attach(domid.get()))
    }

    /// Stops monitoring the domain (`libxl_psr_cmt_detach`, as `xl
    /// psr-cmt-detach`).
    #[doc(alias = "libxl_psr_cmt_detach")]
    pub fn psr_cmt_detach(&self, domid: Domid) -> Result<()> {
        // SAFETY: plain arguments.
        try_call!(self, On::Domain(domid), unsafe libxl_psr_cmt_detach(domid.get()))
    }

    /// Whether the domain is monitored (`libxl_psr_cmt_domain_attached`).
    #[doc(alias = "libxl_psr_cmt_domain_attached")]
    pub fn psr_cmt_attached(&self, domid: Domid) -> bool {
        // SAFETY: a live ctx; plain arguments.
        unsafe { sys::libxl_psr_cmt_domain_attached(self.as_raw(), domid.get()) > 0 }
    }

    /// How many monitoring ids (RMIDs) the host has
    /// (`libxl_psr_cmt_get_total_rmid`).
    #[doc(alias = "libxl_psr_cmt_get_total_rmid")]
    pub fn psr_cmt_total_rmid(&self) -> Result<u32> {
        let mut n = 0u32;
        // SAFETY: a valid out-pointer.
        try_call!(self, On::Host, unsafe libxl_psr_cmt_get_total_rmid(&mut n))?;
        Ok(n)
    }

    /// The L3 cache size of socket `socket`, in KiB
    /// (`libxl_psr_cmt_get_l3_cache_size`).
    #[doc(alias = "libxl_psr_cmt_get_l3_cache_size")]
    pub fn psr_l3_cache_size_kib(&self, socket: u32) -> Result<u32> {
        let mut kib = 0u32;
        // SAFETY: a valid out-pointer.
        try_call!(self, On::Host, unsafe libxl_psr_cmt_get_l3_cache_size(socket, &mut kib))?;
        Ok(kib)
    }

    /// One sample of a monitored domain's `ty` on socket `socket`, and
    /// the TSC when it was read (`libxl_psr_cmt_get_sample`, what `xl
    /// psr-cmt-show` prints).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// use xenlight::types::PsrCmtType;
    /// let (bytes, tsc) = ctx.psr_cmt_sample(domid, PsrCmtType::CacheOccupancy, 0)?;
    /// println!("{bytes} bytes of L3 at tsc {tsc}");
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_psr_cmt_get_sample")]
    pub fn psr_cmt_sample(&self, domid: Domid, ty: PsrCmtType, socket: u64) -> Result<(u64, u64)> {
        let (mut sample, mut tsc) = (0u64, 0u64);
        // SAFETY: valid out-pointers; a plain enum value.
        try_call!(self, On::Domain(domid), unsafe libxl_psr_cmt_get_sample(domid.get(), ty.to_raw() as _, socket, &mut sample, &mut tsc))?;
        Ok((sample, tsc))
    }

    /// Sets the domain's cache bit mask (CAT) on the sockets of `sockets`
    /// (`libxl_psr_cat_set_cbm`, as `xl psr-cat-set`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// use xenlight::types::PsrCbmType;
    /// let sockets = ctx.online_sockets()?;
    /// ctx.psr_cat_set_cbm(domid, PsrCbmType::L3Cbm, &sockets, 0xff)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_psr_cat_set_cbm")]
    pub fn psr_cat_set_cbm(
        &self,
        domid: Domid,
        ty: PsrCbmType,
        sockets: &Bitmap,
        cbm: u64,
    ) -> Result<()> {
        let mut map = sockets.to_c()?;
        // SAFETY: an initialised bitmap libxl only reads, alive for the call.
        try_call!(self, On::Domain(domid), unsafe libxl_psr_cat_set_cbm(domid.get(), ty.to_raw() as _, map.as_mut_ptr(), cbm))
    }

    /// The host's cache allocation features at cache level `level` (3 or
    /// 2), one per socket (`libxl_psr_cat_get_info`, as `xl psr-hwinfo`).
    #[doc(alias = "libxl_psr_cat_get_info")]
    pub fn psr_cat_info(&self, level: u32) -> Result<Vec<PsrCatInfo>> {
        let (mut p, mut n): (*mut sys::libxl_psr_cat_info, c_uint) = (ptr::null_mut(), 0);
        // SAFETY: valid out-pointers; on success libxl hands us a list of n.
        try_call!(self, On::Host, unsafe libxl_psr_cat_get_info(&mut p, &mut n, level))?;
        let n = i32::try_from(n).unwrap_or(0);
        // SAFETY: libxl's list of n, freed by its own function once.
        let list = unsafe { LibxlArray::from_raw(p, n, sys::libxl_psr_cat_info_list_free) };
        // SAFETY: filled by libxl.
        unsafe { read_list(&list) }
    }

    /// The host's PSR features of kind `feature` at level `level`, one per
    /// socket (`libxl_psr_get_hw_info`, as `xl psr-hwinfo`).
    #[doc(alias = "libxl_psr_get_hw_info")]
    pub fn psr_hw_info(&self, feature: PsrFeatType, level: u32) -> Result<Vec<PsrHwInfo>> {
        let (mut p, mut n): (*mut sys::libxl_psr_hw_info, c_uint) = (ptr::null_mut(), 0);
        // SAFETY: valid out-pointers; on success libxl hands us a list of n.
        try_call!(self, On::Host, unsafe libxl_psr_get_hw_info(feature.to_raw() as _, level, &mut n, &mut p))?;
        let list = HwInfoList(p, n);
        let items = (0..n as usize)
            .map(|i| {
                // SAFETY: element i of libxl's initialised list of n.
                unsafe { PsrHwInfo::read_c(&*list.0.add(i)) }
            })
            .collect();
        drop(list);
        items
    }

    /// Sets the domain's value of `ty` (a cache mask or an MBA throttle) on
    /// the sockets of `sockets` (`libxl_psr_set_val`, as `xl psr-cat-set`
    /// and `psr-mba-set`).
    #[doc(alias = "libxl_psr_set_val")]
    pub fn psr_set_val(
        &self,
        domid: Domid,
        ty: PsrCbmType,
        sockets: &Bitmap,
        val: u64,
    ) -> Result<()> {
        let mut map = sockets.to_c()?;
        // SAFETY: an initialised bitmap libxl only reads, alive for the call.
        try_call!(self, On::Domain(domid), unsafe libxl_psr_set_val(domid.get(), ty.to_raw() as _, map.as_mut_ptr(), val))
    }

    /// The domain's value of `ty` on socket `socket` (`libxl_psr_get_val`,
    /// as `xl psr-cat-show` and `psr-mba-show`).
    #[doc(alias = "libxl_psr_get_val")]
    pub fn psr_get_val(&self, domid: Domid, ty: PsrCbmType, socket: u32) -> Result<u64> {
        let mut v = 0u64;
        // SAFETY: a valid out-pointer; a plain enum value.
        try_call!(self, On::Domain(domid), unsafe libxl_psr_get_val(domid.get(), ty.to_raw() as _, socket, &mut v))?;
        Ok(v)
    }

    /// The host's online sockets (`libxl_get_online_socketmap`): the
    /// sockets PSR values are set on.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// println!("sockets {:?}", ctx.online_sockets()?.iter().collect::<Vec<_>>());
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_online_socketmap")]
    pub fn online_sockets(&self) -> Result<Bitmap> {
        let mut map = Owned::<sys::libxl_bitmap>::new();
        // libxl only sets bits inside a map the caller has sized.
        // SAFETY: map is initialised and owned; libxl allocates its bits,
        // which its _dispose frees.
        try_call!(self, On::Host, unsafe libxl_socket_bitmap_alloc(map.as_mut_ptr(), 0))?;
        // SAFETY: map sized for the host's sockets just above.
        try_call!(self, On::Host, unsafe libxl_get_online_socketmap(map.as_mut_ptr()))?;
        // SAFETY: filled by libxl just above.
        unsafe { Bitmap::read_c(&map) }
    }
}

/// libxl's hardware-info list, freed by its own function (which takes an
/// unsigned count, unlike the other list frees).
struct HwInfoList(*mut sys::libxl_psr_hw_info, c_uint);

impl Drop for HwInfoList {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: libxl's list of self.1, freed once.
            unsafe { sys::libxl_psr_hw_info_list_free(self.0, self.1) };
        }
    }
}
