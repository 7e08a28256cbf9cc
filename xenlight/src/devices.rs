//! Devices of running domains: attaching, detaching and listing disks and
//! network interfaces (what `xl block-attach` / `xl network-attach` do).

use std::ffi::c_int;
use std::ptr;

use xenlight_sys as sys;

use crate::config::{Disk, Nic};
use crate::context::Context;
use crate::convert::ToLibxl;
use crate::error::{DomainRef, Error, Result};
use crate::ids::Domid;
use crate::raw::alloc::cstring;
use crate::raw::array::ListFree;
use crate::raw::{error_for, raw_call, try_call, LibxlArray, On, Owned};

/// A device list from libxl. `libxl_device_*_list` returns NULL both for
/// "no devices" and on failure; only the error it logged tells them apart.
///
/// # Safety
/// `ptr` and `n` come from the libxl list call whose free function is `free`.
unsafe fn device_list<T>(
    ptr: *mut T,
    n: c_int,
    free: ListFree<T>,
    op: &'static str,
    domid: Domid,
) -> Result<LibxlArray<T>> {
    if ptr.is_null() {
        if let Some(e) = crate::raw::call::null_list_failure(op, On::Domain(domid)) {
            return Err(e);
        }
    }
    // SAFETY: per this function's contract.
    Ok(unsafe { LibxlArray::from_raw(ptr, n, free) })
}

impl Context {
    /// The domain's disks (`libxl_device_disk_list`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// for d in ctx.disks(domid)? {
    ///     println!("{} -> {}", d.vdev, d.target);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_disk_list")]
    pub fn disks(&self, domid: Domid) -> Result<Vec<Disk>> {
        self.require_domain("libxl_device_disk_list", domid)?;
        let mut n = 0;
        // SAFETY: n is a valid out-pointer.
        let (p, op) = raw_call!(self, unsafe libxl_device_disk_list(domid.get(), &mut n));
        // SAFETY: from libxl_device_disk_list, freed by its own free function.
        let list = unsafe { device_list(p, n, sys::libxl_device_disk_list_free, op, domid) }?;
        // SAFETY: libxl's initialised disks.
        list.iter().map(|d| unsafe { Disk::from_raw(d) }).collect()
    }

    /// Each of the domain's disks with its frontend/backend state: the
    /// backend's and frontend's domain and xenstore path, the device's
    /// xenbus state, event channel and ring reference
    /// (`libxl_device_disk_getinfo` on each disk of
    /// `libxl_device_disk_list`, as `xl block-list`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// for (disk, state) in ctx.disk_states(domid)? {
    ///     println!("{} devid {} state {}", disk.vdev, state.devid, state.state);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_disk_getinfo")]
    pub fn disk_states(&self, domid: Domid) -> Result<Vec<(Disk, crate::types::Diskinfo)>> {
        use crate::types::IdlType;
        self.require_domain("libxl_device_disk_list", domid)?;
        let mut n = 0;
        // SAFETY: n is a valid out-pointer.
        let (p, op) = raw_call!(self, unsafe libxl_device_disk_list(domid.get(), &mut n));
        // SAFETY: from libxl_device_disk_list, freed by its own free function.
        let list = unsafe { device_list(p, n, sys::libxl_device_disk_list_free, op, domid) }?;
        list.iter()
            .map(|d| {
                let mut info = Owned::<sys::libxl_diskinfo>::new();
                // SAFETY: `d` is libxl's initialised disk, alive for the
                // call; `info` is initialised, owned and disposed on drop.
                try_call!(self, On::Domain(domid), unsafe libxl_device_disk_getinfo(domid.get(), d, info.as_mut_ptr()))?;
                // SAFETY: initialised libxl values.
                unsafe { Ok((Disk::from_raw(d)?, crate::types::Diskinfo::from_libxl(&info)?)) }
            })
            .collect()
    }

    /// Attaches a disk to a running domain (`libxl_device_disk_add`). A
    /// disk already at that `vdev` gives [`Error::DeviceExists`]; a backend
    /// failure gives [`Error::Libxl`] with libxl's message.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.attach_disk(domid, &xenlight::Disk::new("/dev/loop0", "xvdb"))?;
    /// ctx.detach_disk(domid, "xvdb")?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_disk_add")]
    pub fn attach_disk(&self, domid: Domid, disk: &Disk) -> Result<()> {
        let mut raw = self.disk_to_add(domid, disk)?;
        let on = On::Device(domid, &disk.vdev);
        // SAFETY: raw initialised and owned; NULL ao_how = synchronous.
        try_call!(self, on, unsafe libxl_device_disk_add(domid.get(), raw.as_mut_ptr(), ptr::null()))
    }

    /// Puts a medium in an HVM guest's CD-ROM drive `vdev`
    /// (`libxl_cdrom_insert`, as `xl cd-insert DOM VDEV FILE`): the drive
    /// must exist (the guest's config has it); `file` is read-only to the
    /// guest. A file that does not exist is refused before libxl, as xl
    /// refuses it (libxl does not check, for remote protocols' sake).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.cdrom_insert(domid, "hdc", "/srv/iso/debian.iso")?;
    /// ctx.cdrom_eject(domid, "hdc")?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_cdrom_insert")]
    pub fn cdrom_insert(&self, domid: Domid, vdev: &str, file: &str) -> Result<()> {
        if let Err(source) = std::fs::metadata(file) {
            return Err(Error::Io {
                op: format!("cd-insert: {file}"),
                source,
            });
        }
        let disk = Disk::new(file, vdev).read_only(true).cdrom(true);
        self.cdrom_change(domid, &disk)
    }

    /// Empties an HVM guest's CD-ROM drive `vdev` (`libxl_cdrom_insert`
    /// of an empty medium, as `xl cd-eject DOM VDEV`).
    #[doc(alias = "libxl_cdrom_insert")]
    pub fn cdrom_eject(&self, domid: Domid, vdev: &str) -> Result<()> {
        let disk = Disk::new("", vdev)
            .format(crate::enums::DiskFormat::Empty)
            .read_only(true)
            .cdrom(true);
        self.cdrom_change(domid, &disk)
    }

    fn cdrom_change(&self, domid: Domid, disk: &Disk) -> Result<()> {
        self.require_domain("libxl_cdrom_insert", domid)?;
        let mut raw = disk.to_raw()?;
        // SAFETY: raw initialised and owned; NULL ao_how = synchronous.
        try_call!(self, On::Device(domid, &disk.vdev), unsafe libxl_cdrom_insert(domid.get(), raw.as_mut_ptr(), ptr::null()))
    }

    /// Sends a command to the domain's device model, QEMU, and returns its
    /// answer (`libxl_qemu_monitor_command`, as `xl qemu-monitor-command
    /// DOM "info block"`): a human monitor command, run through QMP. A
    /// domain without a device model is an [`Error::Libxl`].
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// print!("{}", ctx.qemu_monitor_command(domid, "info block")?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_qemu_monitor_command")]
    pub fn qemu_monitor_command(&self, domid: Domid, command: &str) -> Result<String> {
        let c = cstring("QEMU monitor command", command)?;
        let mut out: *mut std::ffi::c_char = ptr::null_mut();
        // SAFETY: c is NUL-terminated and outlives the call; out is a valid
        // out-pointer; NULL ao_how makes it synchronous.
        let done = try_call!(self, On::Domain(domid), unsafe libxl_qemu_monitor_command(domid.get(), c.as_ptr(), &mut out, ptr::null()));
        // SAFETY: NULL or a malloc'd string that is ours, freed once.
        let text = unsafe { crate::raw::alloc::take_malloced_string(out) };
        done?;
        Ok(text.unwrap_or_default())
    }

    /// The libxl disk [`attach_disk`](Self::attach_disk) hands
    /// `libxl_device_disk_add` (also asynchronously), once no disk holds
    /// its `vdev`.
    pub(crate) fn disk_to_add(
        &self,
        domid: Domid,
        disk: &Disk,
    ) -> Result<Owned<sys::libxl_device_disk>> {
        if self.disks(domid)?.iter().any(|d| d.vdev == disk.vdev) {
            return Err(error_for(
                sys::libxl_error_ERROR_DEVICE_EXISTS,
                "libxl_device_disk_add",
                On::Device(domid, &disk.vdev),
            ));
        }
        disk.to_raw()
    }

    /// Gives a running domain its primary 9pfs share: writes the share's
    /// Xenstore entries and starts its backend daemon if it needs one
    /// (`libxl_device_9pfs_add`, Xen 4.20's `LIBXL_HAVE_P9_ADD`). It is
    /// meant for domains built outside libxl's creation (dom0less); a domain
    /// libxl creates gets its shares from the config's `p9s`.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// use xenlight::types::{DeviceP9, P9Type};
    /// let share = DeviceP9 {
    ///     tag: Some("share".into()),
    ///     path: Some("/srv/share".into()),
    ///     security_model: Some("none".into()),
    ///     type_: P9Type::Xen9pfsd,
    ///     ..Default::default()
    /// };
    /// ctx.add_9pfs(domid, &share)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[cfg(libxl_have = "P9_ADD")]
    #[cfg_attr(docsrs, doc(cfg(libxl_have = "P9_ADD")))]
    #[doc(alias = "libxl_device_9pfs_add")]
    pub fn add_9pfs(&self, domid: Domid, p9: &crate::types::DeviceP9) -> Result<()> {
        use crate::types::IdlType;
        self.require_domain("libxl_device_9pfs_add", domid)?;
        let mut raw = p9.to_libxl()?;
        // SAFETY: raw initialised and owned; NULL ao_how = synchronous.
        try_call!(self, On::Domain(domid), unsafe libxl_device_9pfs_add(domid.get(), raw.as_mut_ptr(), ptr::null()))
    }

    /// Detaches the disk at `vdev` (`libxl_device_disk_remove`). No such disk
    /// gives [`Error::DeviceNotFound`].
    #[doc(alias = "libxl_device_disk_remove")]
    #[doc(alias = "libxl_vdev_to_device_disk")]
    pub fn detach_disk(&self, domid: Domid, vdev: &str) -> Result<()> {
        let mut raw = self.disk_to_remove(domid, vdev)?;
        // SAFETY: as in attach_disk.
        try_call!(self, On::Device(domid, vdev), unsafe libxl_device_disk_remove(domid.get(), raw.as_mut_ptr(), ptr::null()))
    }

    /// Detaches the disk at `vdev` only if the guest lets it go
    /// (`libxl_device_disk_safe_remove`, what `xl block-detach` does): where
    /// [`detach_disk`](Self::detach_disk) takes the disk away once the
    /// guest has had its time, this fails and leaves it attached. No such
    /// disk gives [`Error::DeviceNotFound`].
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.detach_disk_safely(domid, "xvdb")?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_disk_safe_remove")]
    pub fn detach_disk_safely(&self, domid: Domid, vdev: &str) -> Result<()> {
        let mut raw = self.disk_to_remove(domid, vdev)?;
        // SAFETY: as in attach_disk.
        try_call!(self, On::Device(domid, vdev), unsafe libxl_device_disk_safe_remove(domid.get(), raw.as_mut_ptr(), ptr::null()))
    }

    /// Takes the disk at `vdev` away at once, without asking the guest
    /// (`libxl_device_disk_destroy`, as `xl block-detach --force`). No such
    /// disk gives [`Error::DeviceNotFound`].
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.destroy_disk(domid, "xvdb")?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_disk_destroy")]
    pub fn destroy_disk(&self, domid: Domid, vdev: &str) -> Result<()> {
        let mut raw = self.disk_to_remove(domid, vdev)?;
        // SAFETY: as in attach_disk.
        try_call!(self, On::Device(domid, vdev), unsafe libxl_device_disk_destroy(domid.get(), raw.as_mut_ptr(), ptr::null()))
    }

    /// The libxl disk at `vdev` that [`detach_disk`](Self::detach_disk)
    /// hands `libxl_device_disk_remove`.
    pub(crate) fn disk_to_remove(
        &self,
        domid: Domid,
        vdev: &str,
    ) -> Result<Owned<sys::libxl_device_disk>> {
        let c_vdev = cstring("vdev", vdev)?;
        let on = On::Device(domid, vdev);
        if !self.disks(domid)?.iter().any(|d| d.vdev == vdev) {
            return Err(error_for(
                sys::libxl_error_ERROR_NOTFOUND,
                "libxl_device_disk_remove",
                on,
            ));
        }
        let mut raw = Owned::<sys::libxl_device_disk>::new();
        // SAFETY: vdev NUL-terminated; raw initialised and owned.
        try_call!(self, on, unsafe libxl_vdev_to_device_disk(domid.get(), c_vdev.as_ptr(), raw.as_mut_ptr()))?;
        Ok(raw)
    }

    /// The domain's network interfaces (`libxl_device_nic_list`), each with
    /// its `devid`.
    #[doc(alias = "libxl_device_nic_list")]
    pub fn nics(&self, domid: Domid) -> Result<Vec<Nic>> {
        self.require_domain("libxl_device_nic_list", domid)?;
        let mut n = 0;
        // SAFETY: n is a valid out-pointer.
        let (p, op) = raw_call!(self, unsafe libxl_device_nic_list(domid.get(), &mut n));
        // SAFETY: from libxl_device_nic_list, freed by its own free function.
        let list = unsafe { device_list(p, n, sys::libxl_device_nic_list_free, op, domid) }?;
        // SAFETY: libxl's initialised NICs.
        list.iter().map(|n| unsafe { Nic::from_raw(n) }).collect()
    }

    /// Each of the domain's network interfaces with its frontend/backend
    /// state: the backend's and frontend's domain and xenstore path, the
    /// device's xenbus state, event channel and TX/RX ring references
    /// (`libxl_device_nic_getinfo` on each of `libxl_device_nic_list`, as
    /// `xl network-list`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// for (nic, state) in ctx.nic_states(domid)? {
    ///     println!("{:?} devid {} state {}", nic.mac, state.devid, state.state);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_nic_getinfo")]
    pub fn nic_states(&self, domid: Domid) -> Result<Vec<(Nic, crate::types::Nicinfo)>> {
        use crate::types::IdlType;
        self.require_domain("libxl_device_nic_list", domid)?;
        let mut n = 0;
        // SAFETY: n is a valid out-pointer.
        let (p, op) = raw_call!(self, unsafe libxl_device_nic_list(domid.get(), &mut n));
        // SAFETY: from libxl_device_nic_list, freed by its own free function.
        let list = unsafe { device_list(p, n, sys::libxl_device_nic_list_free, op, domid) }?;
        list.iter()
            .map(|d| {
                let mut info = Owned::<sys::libxl_nicinfo>::new();
                // SAFETY: `d` is libxl's initialised NIC, alive for the
                // call; `info` is initialised, owned and disposed on drop.
                try_call!(self, On::Domain(domid), unsafe libxl_device_nic_getinfo(domid.get(), d, info.as_mut_ptr()))?;
                // SAFETY: initialised libxl values.
                unsafe { Ok((Nic::from_raw(d)?, crate::types::Nicinfo::from_libxl(&info)?)) }
            })
            .collect()
    }

    /// Attaches a network interface (`libxl_device_nic_add`) and returns its
    /// devid. A bridge that does not exist fails in the hotplug script:
    /// [`Error::Libxl`] with libxl's message, and nothing is left attached.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// let devid = ctx.attach_nic(domid, &xenlight::Nic::bridged("xenbr0"))?;
    /// ctx.detach_nic(domid, devid)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_nic_add")]
    pub fn attach_nic(&self, domid: Domid, nic: &Nic) -> Result<i32> {
        let (mut raw, before) = self.nic_to_add(domid, nic)?;
        let device = nic.devid.map_or("nic".to_owned(), |d| format!("nic {d}"));
        // SAFETY: raw initialised and owned; NULL ao_how = synchronous.
        let added = try_call!(self, On::Device(domid, &device), unsafe libxl_device_nic_add(domid.get(), raw.as_mut_ptr(), ptr::null()));
        self.nic_added(domid, &raw, &before, added)
    }

    /// The libxl NIC [`attach_nic`](Self::attach_nic) hands
    /// `libxl_device_nic_add` (also asynchronously), and the devids the
    /// domain had before, for [`nic_added`](Self::nic_added).
    pub(crate) fn nic_to_add(
        &self,
        domid: Domid,
        nic: &Nic,
    ) -> Result<(Owned<sys::libxl_device_nic>, Vec<Option<i32>>)> {
        let before: Vec<Option<i32>> = self.nics(domid)?.into_iter().map(|n| n.devid).collect();
        if nic.devid.is_some() && before.contains(&nic.devid) {
            let device = nic.devid.map_or("nic".to_owned(), |d| format!("nic {d}"));
            let exists = sys::libxl_error_ERROR_DEVICE_EXISTS;
            return Err(error_for(
                exists,
                "libxl_device_nic_add",
                On::Device(domid, &device),
            ));
        }
        Ok((nic.to_raw()?, before))
    }

    /// After `libxl_device_nic_add`: its devid, or, when it failed, its
    /// error once the half-added NIC is gone.
    pub(crate) fn nic_added(
        &self,
        domid: Domid,
        raw: &sys::libxl_device_nic,
        before: &[Option<i32>],
        added: Result<()>,
    ) -> Result<i32> {
        if let Err(e) = added {
            // libxl can leave the half-added vif in xenstore (e.g. when the
            // hotplug script fails). It wrote the devid it chose into `raw`:
            // remove that one only, never a NIC another caller added since.
            if raw.devid >= 0 && !before.contains(&Some(raw.devid)) {
                self.destroy_nic(domid, raw.devid);
            }
            return Err(e);
        }
        Ok(raw.devid)
    }

    /// Forcibly removes a NIC (`libxl_device_nic_destroy`), ignoring errors:
    /// used to clean up after a failed attach.
    fn destroy_nic(&self, domid: Domid, devid: i32) {
        let mut raw = Owned::<sys::libxl_device_nic>::new();
        // SAFETY: raw initialised and owned.
        let found = try_call!(self, On::Domain(domid), unsafe libxl_devid_to_device_nic(domid.get(), devid, raw.as_mut_ptr()));
        if found.is_ok() {
            // SAFETY: as above; NULL ao_how = synchronous.
            let _ = try_call!(self, On::Domain(domid), unsafe libxl_device_nic_destroy(domid.get(), raw.as_mut_ptr(), ptr::null()));
        }
        crate::logger::clear_last_error();
    }

    /// Detaches the network interface `devid` (`libxl_device_nic_remove`).
    /// No such interface gives [`Error::DeviceNotFound`].
    #[doc(alias = "libxl_device_nic_remove")]
    #[doc(alias = "libxl_devid_to_device_nic")]
    pub fn detach_nic(&self, domid: Domid, devid: i32) -> Result<()> {
        let mut raw = self.nic_to_remove(domid, devid)?;
        let device = format!("nic {devid}");
        // SAFETY: as in attach_nic.
        try_call!(self, On::Device(domid, &device), unsafe libxl_device_nic_remove(domid.get(), raw.as_mut_ptr(), ptr::null()))
    }

    /// The libxl NIC `devid` that [`detach_nic`](Self::detach_nic) hands
    /// `libxl_device_nic_remove`.
    pub(crate) fn nic_to_remove(
        &self,
        domid: Domid,
        devid: i32,
    ) -> Result<Owned<sys::libxl_device_nic>> {
        let device = format!("nic {devid}");
        let on = On::Device(domid, &device);
        if !self.nics(domid)?.iter().any(|n| n.devid == Some(devid)) {
            return Err(error_for(
                sys::libxl_error_ERROR_NOTFOUND,
                "libxl_device_nic_remove",
                on,
            ));
        }
        let mut raw = Owned::<sys::libxl_device_nic>::new();
        // SAFETY: raw initialised and owned.
        try_call!(self, on, unsafe libxl_devid_to_device_nic(domid.get(), devid, raw.as_mut_ptr()))?;
        Ok(raw)
    }

    /// `DomainNotFound` unless the domain exists.
    pub(crate) fn require_domain(&self, op: &'static str, domid: Domid) -> Result<()> {
        if self.domain_exists(domid)? {
            Ok(())
        } else {
            Err(Error::DomainNotFound {
                op,
                domain: Some(DomainRef::Id(domid)),
                message: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe extern "C" fn no_free(_: *mut sys::libxl_device_disk, _: c_int) {}

    /// Review defect 8: a NULL list with a logged error used to read as
    /// "no devices", so detach said DeviceNotFound for a listing failure.
    #[test]
    fn null_device_list_with_logged_error_is_an_error() {
        let d = Domid::new(3).unwrap();
        crate::logger::clear_last_error();
        // SAFETY: NULL with n = 0 is allowed; nothing to free.
        let empty = unsafe { device_list(ptr::null_mut(), 0, no_free, "op", d) }.unwrap();
        assert!(empty.is_empty());
        crate::logger::record_error_for_test("libxl: cannot read /local/domain/3/device/vbd");
        // SAFETY: as above.
        let e = match unsafe { device_list(ptr::null_mut(), 0, no_free, "op", d) } {
            Err(e) => e,
            Ok(_) => panic!("a NULL list with a logged error must be an error"),
        };
        assert!(e.to_string().contains("cannot read"), "{e}");
    }
}
