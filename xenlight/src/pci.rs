//! PCI passthrough: devices made assignable (bound to dom0's pciback), and
//! PCI devices of a domain (`libxl_device_pci_*`).

use std::ptr;

use xenlight_sys as sys;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ids::Domid;
use crate::raw::cvalue::{take_list, CValue};
use crate::raw::{raw_call, try_call, On};
use crate::types::DevicePci;

/// A PCI address, `[DOMAIN:]BUS:DEV.FUNC` in hex (as `lspci -D` prints
/// and xl takes), as a [`DevicePci`] with everything else at its default.
///
/// ```
/// let d = xenlight::pci_address("0000:00:1f.3")?;
/// assert_eq!((d.domain, d.bus, d.dev, d.func), (0, 0, 0x1f, 3));
/// assert!(xenlight::pci_address("00:20.0").is_err()); // device numbers end at 1f
/// # Ok::<(), xenlight::Error>(())
/// ```
pub fn pci_address(bdf: &str) -> Result<DevicePci> {
    let bad = || Error::InvalidArgument {
        what: "PCI address",
        reason: format!("{bdf:?} is not [DOMAIN:]BUS:DEV.FUNC in hex (e.g. 0000:03:00.1)"),
    };
    let hex = |s: &str, max: u32| {
        (!s.is_empty() && s.len() <= 4)
            .then(|| u32::from_str_radix(s, 16).ok())
            .flatten()
            .filter(|v| *v <= max)
            .ok_or_else(bad)
    };
    let (rest, func) = bdf.rsplit_once('.').ok_or_else(bad)?;
    let parts: Vec<&str> = rest.split(':').collect();
    let (domain, bus, dev) = match parts.as_slice() {
        [b, d] => (0, *b, *d),
        [s, b, d] => (hex(s, 0xffff)?, *b, *d),
        _ => return Err(bad()),
    };
    Ok(DevicePci {
        domain: domain as i32,
        bus: hex(bus, 0xff)? as u8,
        dev: hex(dev, 0x1f)? as u8,
        func: hex(func, 7)? as u8,
        ..DevicePci::default()
    })
}

/// A list of PCI devices from libxl, or none when libxl says there are none.
/// NULL is also libxl's failure (no pciback: "pciback driver not loaded");
/// the error it logged tells them apart.
///
/// # Safety
/// `p` and `n` come from the libxl list call `op`; `free` is its function.
unsafe fn pci_list(
    ctx: &Context,
    p: *mut sys::libxl_device_pci,
    n: i32,
    op: &'static str,
    free: unsafe extern "C" fn(*mut sys::libxl_device_pci, i32),
    on: On<'_>,
) -> Result<Vec<DevicePci>> {
    if p.is_null() && n == 0 {
        return match crate::raw::call::null_list_failure(op, on) {
            Some(e) => Err(e),
            None => Ok(Vec::new()),
        };
    }
    // SAFETY: per this function's contract.
    unsafe { take_list(ctx.as_raw(), (p, op), n, free, on) }
}

impl Context {
    /// The PCI devices that can be passed through: bound to dom0's
    /// `xen-pciback` (`libxl_device_pci_assignable_list`, as `xl
    /// pci-assignable-list`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// for d in ctx.pci_assignable()? {
    ///     println!("{:04x}:{:02x}:{:02x}.{}", d.domain, d.bus, d.dev, d.func);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_pci_assignable_list")]
    pub fn pci_assignable(&self) -> Result<Vec<DevicePci>> {
        let mut n = 0;
        // SAFETY: n is a valid out-pointer.
        let (p, op) = raw_call!(self, unsafe libxl_device_pci_assignable_list(&mut n));
        // SAFETY: from that call, freed by its own function.
        unsafe {
            pci_list(
                self,
                p,
                n,
                op,
                sys::libxl_device_pci_assignable_list_free,
                On::Host,
            )
        }
    }

    /// Makes a host PCI device assignable: unbinds it from its dom0 driver
    /// and binds it to `xen-pciback` (`libxl_device_pci_assignable_add`, as
    /// `xl pci-assignable-add`); with `rebind`, libxl remembers the driver
    /// for [`pci_assignable_remove`](Self::pci_assignable_remove).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// ctx.pci_assignable_add(&xenlight::pci_address("0000:03:00.0")?, true)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_pci_assignable_add")]
    pub fn pci_assignable_add(&self, pci: &DevicePci, rebind: bool) -> Result<()> {
        let mut raw = pci.to_c()?;
        // SAFETY: an initialised PCI device owned for the call.
        try_call!(self, On::Host, unsafe libxl_device_pci_assignable_add(raw.as_mut_ptr(), i32::from(rebind)))
    }

    /// Gives an assignable device back to dom0 (`libxl_device_pci_assignable_remove`,
    /// as `xl pci-assignable-remove`); with `rebind`, to the driver it had.
    #[doc(alias = "libxl_device_pci_assignable_remove")]
    pub fn pci_assignable_remove(&self, pci: &DevicePci, rebind: bool) -> Result<()> {
        let mut raw = pci.to_c()?;
        // SAFETY: an initialised PCI device owned for the call.
        try_call!(self, On::Host, unsafe libxl_device_pci_assignable_remove(raw.as_mut_ptr(), i32::from(rebind)))
    }

    /// The PCI devices passed through to a domain (`libxl_device_pci_list`).
    #[doc(alias = "libxl_device_pci_list")]
    pub fn pci_devices(&self, domid: Domid) -> Result<Vec<DevicePci>> {
        self.require_domain("libxl_device_pci_list", domid)?;
        let mut n = 0;
        // SAFETY: n is a valid out-pointer.
        let (p, op) = raw_call!(self, unsafe libxl_device_pci_list(domid.get(), &mut n));
        // SAFETY: from that call, freed by its own function.
        unsafe {
            pci_list(
                self,
                p,
                n,
                op,
                sys::libxl_device_pci_list_free,
                On::Domain(domid),
            )
        }
    }

    /// Passes an assignable PCI device through to a domain
    /// (`libxl_device_pci_add`, as `xl pci-attach`). Needs an IOMMU that Xen
    /// uses; without one libxl refuses with [`Error::Libxl`].
    #[doc(alias = "libxl_device_pci_add")]
    pub fn attach_pci(&self, domid: Domid, pci: &DevicePci) -> Result<()> {
        let mut raw = pci.to_c()?;
        // SAFETY: an initialised PCI device owned for the call; NULL ao_how
        // makes it synchronous.
        try_call!(self, On::Domain(domid), unsafe libxl_device_pci_add(domid.get(), raw.as_mut_ptr(), ptr::null()))
    }

    /// Removes a passed-through PCI device from a domain
    /// (`libxl_device_pci_remove`, as `xl pci-detach`).
    #[doc(alias = "libxl_device_pci_remove")]
    pub fn detach_pci(&self, domid: Domid, pci: &DevicePci) -> Result<()> {
        let mut raw = pci.to_c()?;
        // SAFETY: as in attach_pci.
        try_call!(self, On::Domain(domid), unsafe libxl_device_pci_remove(domid.get(), raw.as_mut_ptr(), ptr::null()))
    }

    /// Takes a passed-through PCI device away from a domain at once,
    /// without waiting for the guest to release it
    /// (`libxl_device_pci_destroy`, as `xl pci-detach -f`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// let pci = xenlight::pci_address("0000:03:00.0")?;
    /// ctx.destroy_pci(domid, &pci)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_pci_destroy")]
    pub fn destroy_pci(&self, domid: Domid, pci: &DevicePci) -> Result<()> {
        let mut raw = pci.to_c()?;
        // SAFETY: as in attach_pci.
        try_call!(self, On::Domain(domid), unsafe libxl_device_pci_destroy(domid.get(), raw.as_mut_ptr(), ptr::null()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pci_addresses_parse_as_xl_takes_them() {
        let d = pci_address("03:00.1").unwrap();
        assert_eq!((d.domain, d.bus, d.dev, d.func), (0, 3, 0, 1));
        let d = pci_address("abcd:ff:1f.7").unwrap();
        assert_eq!((d.domain, d.bus, d.dev, d.func), (0xabcd, 0xff, 0x1f, 7));
        for bad in [
            "",
            "03:00",
            "03:00.8",
            "1:2:3:4.0",
            "g0:00.0",
            "0000:100:00.0",
            "00:00.0\0",
        ] {
            assert!(pci_address(bad).is_err(), "{bad:?}");
        }
    }
}
