//! Devices of running domains: attaching, detaching and listing disks and
//! network interfaces (what `xl block-attach` / `xl network-attach` do).

use std::ptr;

use xenlight_sys as sys;

use crate::config::{Disk, DiskBackend, DiskFormat, Mac, Nic};
use crate::context::Context;
use crate::domain::Domid;
use crate::error::{check, DomainRef, Error, Result};
use crate::util::{cstring, libxl_owned, opt_string};

libxl_owned!(
    /// An owned `libxl_device_disk`.
    OwnedDisk, libxl_device_disk, libxl_device_disk_init, libxl_device_disk_dispose
);

libxl_owned!(
    /// An owned `libxl_device_nic`.
    OwnedNic, libxl_device_nic, libxl_device_nic_init, libxl_device_nic_dispose
);

/// A device array returned by libxl, freed with its own list-free function.
struct DeviceList<T> {
    ptr: *mut T,
    len: usize,
    free: unsafe extern "C" fn(*mut T, i32),
}

impl<T> DeviceList<T> {
    fn as_slice(&self) -> &[T] {
        if self.ptr.is_null() {
            &[]
        } else {
            // SAFETY: libxl returned `len` initialised entries at `ptr`.
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }
}

impl<T> Drop for DeviceList<T> {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: pointer and count came from the matching list call.
            unsafe { (self.free)(self.ptr, self.len as i32) }
        }
    }
}

pub(crate) fn disk_from_raw(d: &sys::libxl_device_disk) -> Disk {
    // SAFETY: strings owned by `d`, read while it is alive.
    let (target, vdev) = unsafe { (opt_string(d.pdev_path), opt_string(d.vdev)) };
    Disk {
        target: target.unwrap_or_default(),
        vdev: vdev.unwrap_or_default(),
        format: DiskFormat::from_raw(d.format),
        backend: DiskBackend::from_raw(d.backend),
        read_only: d.readwrite == 0,
        cdrom: d.is_cdrom != 0,
    }
}

pub(crate) fn nic_from_raw(n: &sys::libxl_device_nic) -> Nic {
    // SAFETY: strings owned by `n`, read while it is alive.
    let s = |p| unsafe { opt_string(p) };
    Nic {
        bridge: s(n.bridge),
        mac: (n.mac != [0; 6]).then_some(Mac(n.mac)),
        model: s(n.model),
        script: s(n.script),
        ip: s(n.ip),
        gatewaydev: s(n.gatewaydev),
        devid: (n.devid >= 0).then_some(n.devid),
    }
}

impl Context {
    /// The domain's disks (`libxl_device_disk_list`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = 1;
    /// for d in ctx.disks(domid)? {
    ///     println!("{} -> {}", d.vdev, d.target);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_disk_list")]
    pub fn disks(&self, domid: Domid) -> Result<Vec<Disk>> {
        if !self.domain_exists(domid)? {
            return Err(not_found("libxl_device_disk_list", domid));
        }
        let mut n = 0;
        // SAFETY: ctx valid; n a valid out-pointer; the list is freed by
        // DeviceList with libxl_device_disk_list_free.
        let ptr = self.call(|c| unsafe { sys::libxl_device_disk_list(c, domid, &mut n) });
        let list = DeviceList {
            ptr,
            len: usize::try_from(n).unwrap_or(0),
            free: sys::libxl_device_disk_list_free,
        };
        Ok(list.as_slice().iter().map(disk_from_raw).collect())
    }

    /// Attaches a disk to a running domain (`libxl_device_disk_add`). A
    /// disk already at that `vdev` gives [`Error::DeviceExists`]; a backend
    /// failure gives [`Error::Libxl`] with libxl's message.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = 1;
    /// ctx.attach_disk(domid, &xenlight::Disk::new("/dev/loop0", "xvdb"))?;
    /// ctx.detach_disk(domid, "xvdb")?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_disk_add")]
    pub fn attach_disk(&self, domid: Domid, disk: &Disk) -> Result<()> {
        if self.disks(domid)?.iter().any(|d| d.vdev == disk.vdev) {
            return Err(Error::DeviceExists {
                op: "libxl_device_disk_add",
                domain: DomainRef::Id(domid),
                device: disk.vdev.clone(),
            });
        }
        let mut raw = OwnedDisk::new();
        disk.fill(&mut raw.0)?;
        // SAFETY: ctx valid; raw initialised and owned; NULL ao_how = sync.
        let rc = self.call(|c| unsafe {
            sys::libxl_device_disk_add(c, domid, raw.as_mut_ptr(), ptr::null())
        });
        device_result(rc, "libxl_device_disk_add", domid, &disk.vdev)
    }

    /// Detaches the disk at `vdev` (`libxl_device_disk_remove`). No such disk
    /// gives [`Error::DeviceNotFound`].
    #[doc(alias = "libxl_device_disk_remove")]
    pub fn detach_disk(&self, domid: Domid, vdev: &str) -> Result<()> {
        let c_vdev = cstring("vdev", vdev)?;
        if !self.disks(domid)?.iter().any(|d| d.vdev == vdev) {
            return Err(Error::DeviceNotFound {
                op: "libxl_device_disk_remove",
                domain: DomainRef::Id(domid),
                device: vdev.to_owned(),
            });
        }
        let mut raw = OwnedDisk::new();
        let rc = self.call(|c| {
            // SAFETY: ctx valid; vdev NUL-terminated; raw owned.
            unsafe { sys::libxl_vdev_to_device_disk(c, domid, c_vdev.as_ptr(), raw.as_mut_ptr()) }
        });
        check(rc, "libxl_vdev_to_device_disk", Some(domid))?;
        // SAFETY: as in attach_disk.
        let rc = self.call(|c| unsafe {
            sys::libxl_device_disk_remove(c, domid, raw.as_mut_ptr(), ptr::null())
        });
        device_result(rc, "libxl_device_disk_remove", domid, vdev)
    }

    /// The domain's network interfaces (`libxl_device_nic_list`), each with
    /// its `devid`.
    #[doc(alias = "libxl_device_nic_list")]
    pub fn nics(&self, domid: Domid) -> Result<Vec<Nic>> {
        if !self.domain_exists(domid)? {
            return Err(not_found("libxl_device_nic_list", domid));
        }
        let mut n = 0;
        // SAFETY: as in disks().
        let ptr = self.call(|c| unsafe { sys::libxl_device_nic_list(c, domid, &mut n) });
        let list = DeviceList {
            ptr,
            len: usize::try_from(n).unwrap_or(0),
            free: sys::libxl_device_nic_list_free,
        };
        Ok(list.as_slice().iter().map(nic_from_raw).collect())
    }

    /// Attaches a network interface (`libxl_device_nic_add`) and returns its
    /// devid. A bridge that does not exist fails in the hotplug script:
    /// [`Error::Libxl`] with libxl's message, and nothing is left attached.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = 1;
    /// let devid = ctx.attach_nic(domid, &xenlight::Nic::bridged("xenbr0"))?;
    /// ctx.detach_nic(domid, devid)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_nic_add")]
    pub fn attach_nic(&self, domid: Domid, nic: &Nic) -> Result<i32> {
        if let Some(devid) = nic.devid {
            if self.nics(domid)?.iter().any(|n| n.devid == Some(devid)) {
                return Err(Error::DeviceExists {
                    op: "libxl_device_nic_add",
                    domain: DomainRef::Id(domid),
                    device: format!("nic {devid}"),
                });
            }
        }
        let before: Vec<Option<i32>> = self.nics(domid)?.into_iter().map(|n| n.devid).collect();
        let mut raw = OwnedNic::new();
        nic.fill(&mut raw.0)?;
        // SAFETY: ctx valid; raw initialised and owned; NULL ao_how = sync.
        let rc = self.call(|c| unsafe {
            sys::libxl_device_nic_add(c, domid, raw.as_mut_ptr(), ptr::null())
        });
        if let Err(e) = device_result(rc, "libxl_device_nic_add", domid, "nic") {
            // libxl can leave the half-added vif in xenstore (e.g. when the
            // hotplug script fails): remove what is new, then report.
            for n in self.nics(domid).unwrap_or_default() {
                if let Some(devid) = n.devid.filter(|d| !before.contains(&Some(*d))) {
                    self.destroy_nic(domid, devid);
                }
            }
            return Err(e);
        }
        Ok(raw.devid)
    }

    /// Forcibly removes a NIC (`libxl_device_nic_destroy`), ignoring errors:
    /// used to clean up after a failed attach.
    fn destroy_nic(&self, domid: Domid, devid: i32) {
        let mut raw = OwnedNic::new();
        // SAFETY: ctx valid; raw owned; NULL ao_how = sync.
        let rc = self
            .call(|c| unsafe { sys::libxl_devid_to_device_nic(c, domid, devid, raw.as_mut_ptr()) });
        if rc == 0 {
            // SAFETY: as above.
            let _ = self.call(|c| unsafe {
                sys::libxl_device_nic_destroy(c, domid, raw.as_mut_ptr(), ptr::null())
            });
        }
        crate::logger::clear_last_error();
    }

    /// Detaches the network interface `devid` (`libxl_device_nic_remove`).
    /// No such interface gives [`Error::DeviceNotFound`].
    #[doc(alias = "libxl_device_nic_remove")]
    pub fn detach_nic(&self, domid: Domid, devid: i32) -> Result<()> {
        if !self.nics(domid)?.iter().any(|n| n.devid == Some(devid)) {
            return Err(Error::DeviceNotFound {
                op: "libxl_device_nic_remove",
                domain: DomainRef::Id(domid),
                device: format!("nic {devid}"),
            });
        }
        let mut raw = OwnedNic::new();
        // SAFETY: ctx valid; raw owned.
        let rc = self
            .call(|c| unsafe { sys::libxl_devid_to_device_nic(c, domid, devid, raw.as_mut_ptr()) });
        check(rc, "libxl_devid_to_device_nic", Some(domid))?;
        // SAFETY: as in attach_nic.
        let rc = self.call(|c| unsafe {
            sys::libxl_device_nic_remove(c, domid, raw.as_mut_ptr(), ptr::null())
        });
        device_result(
            rc,
            "libxl_device_nic_remove",
            domid,
            &format!("nic {devid}"),
        )
    }
}

fn not_found(op: &'static str, domid: Domid) -> Error {
    Error::DomainNotFound {
        op,
        domain: DomainRef::Id(domid),
        message: None,
    }
}

fn device_result(rc: i32, op: &'static str, domid: Domid, device: &str) -> Result<()> {
    match check(rc, op, Some(domid)) {
        Err(Error::Libxl {
            kind: crate::ErrorKind::DeviceExists,
            ..
        }) => Err(Error::DeviceExists {
            op,
            domain: DomainRef::Id(domid),
            device: device.to_owned(),
        }),
        Err(Error::Libxl {
            kind: crate::ErrorKind::NotFound,
            ..
        }) => Err(Error::DeviceNotFound {
            op,
            domain: DomainRef::Id(domid),
            device: device.to_owned(),
        }),
        other => other,
    }
}
