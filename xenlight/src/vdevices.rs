//! The other kinds of devices a domain has beside disks and NICs: vTPMs,
//! virtual keyboards, displays and sound cards, channels, USB controllers
//! and USB devices. libxl lists, reads, attaches and detaches each kind
//! with functions of one shape (`libxl_device_<kind>_list/_getinfo/_add/
//! _remove`, `libxl_devid_to_device_<kind>`), so the crate has one generic
//! call for each, over the kinds' generated [`types`](crate::types) (as
//! xl's `vtpm-*`, `vkb-*`, `vdispl-*`, `vsnd-*`, `channel-list`,
//! `usbctrl-*`, `usbdev-*` and `usb-list` use them).

use std::ffi::c_int;
use std::ptr;

use xenlight_sys as sys;

use crate::context::Context;
use crate::error::Result;
use crate::ids::Domid;
use crate::raw::{error_for, try_call, LibxlArray, On, Owned};
use crate::types::{
    Channelinfo, DeviceChannel, DeviceUsbctrl, DeviceUsbdev, DeviceVdispl, DeviceVkb, DeviceVsnd,
    DeviceVtpm, IdlType, Usbctrlinfo, Vdisplinfo, Vkbinfo, Vsndinfo, Vtpminfo,
};

mod sealed {
    pub trait Sealed {}
}

/// A kind of device libxl lists per domain (`libxl_device_<kind>_list`):
/// [`DeviceVtpm`], [`DeviceVkb`], [`DeviceVdispl`], [`DeviceVsnd`],
/// [`DeviceChannel`], [`DeviceUsbctrl`], [`DeviceUsbdev`]. Sealed: the
/// kinds are libxl's.
pub trait ListedDevice: IdlType + sealed::Sealed {
    /// libxl's list function, for messages.
    #[doc(hidden)]
    const LIST: &'static str;
    /// `libxl_device_<kind>_list`.
    ///
    /// # Safety
    /// A live ctx and a valid out-pointer.
    #[doc(hidden)]
    unsafe fn list(ctx: *mut sys::libxl_ctx, domid: u32, n: *mut c_int) -> *mut Self::C;
    /// What frees that list.
    #[doc(hidden)]
    const FREE: unsafe extern "C" fn(*mut Self::C, c_int);
}

/// A kind whose state libxl reads per device (`libxl_device_<kind>_getinfo`).
pub trait DeviceWithState: ListedDevice {
    /// The kind's state: backend and frontend, xenbus state, rings.
    type State: IdlType;
    /// libxl's getinfo function, for messages.
    #[doc(hidden)]
    const GETINFO: &'static str;
    /// `libxl_device_<kind>_getinfo`.
    ///
    /// # Safety
    /// A live ctx; `dev` initialised; `info` initialised and writable.
    #[doc(hidden)]
    unsafe fn getinfo(
        ctx: *mut sys::libxl_ctx,
        domid: u32,
        dev: *const Self::C,
        info: *mut <Self::State as crate::raw::cvalue::CValue>::C,
    ) -> c_int;
}

/// A kind libxl attaches to and detaches from a running domain
/// (`libxl_device_<kind>_add`, `_remove`).
pub trait AttachableDevice: ListedDevice {
    /// libxl's add and remove functions, for messages.
    #[doc(hidden)]
    const ADD: &'static str;
    #[doc(hidden)]
    const REMOVE: &'static str;
    /// `libxl_device_<kind>_add`.
    ///
    /// # Safety
    /// A live ctx; `dev` initialised; `how` NULL or valid.
    #[doc(hidden)]
    unsafe fn add(
        ctx: *mut sys::libxl_ctx,
        domid: u32,
        dev: *mut Self::C,
        how: *const sys::libxl_asyncop_how,
    ) -> c_int;
    /// What must hold before libxl may see `dev` (nothing, for most kinds).
    #[doc(hidden)]
    fn precheck(&self, _ctx: &Context, _domid: Domid, _op: &'static str) -> Result<()> {
        Ok(())
    }
    /// `libxl_device_<kind>_remove`.
    ///
    /// # Safety
    /// As [`add`](Self::add).
    #[doc(hidden)]
    unsafe fn remove(
        ctx: *mut sys::libxl_ctx,
        domid: u32,
        dev: *mut Self::C,
        how: *const sys::libxl_asyncop_how,
    ) -> c_int;
}

/// A kind libxl can also take away at once, without the guest
/// (`libxl_device_<kind>_destroy`).
pub trait DestroyableDevice: AttachableDevice {
    /// libxl's destroy function, for messages.
    #[doc(hidden)]
    const DESTROY: &'static str;
    /// `libxl_device_<kind>_destroy`.
    ///
    /// # Safety
    /// As [`AttachableDevice::add`].
    #[doc(hidden)]
    unsafe fn destroy(
        ctx: *mut sys::libxl_ctx,
        domid: u32,
        dev: *mut Self::C,
        how: *const sys::libxl_asyncop_how,
    ) -> c_int;
}

/// A kind libxl finds by device id (`libxl_devid_to_device_<kind>`).
pub trait DevidDevice: ListedDevice {
    /// libxl's lookup function, for messages.
    #[doc(hidden)]
    const BY_DEVID: &'static str;
    /// `libxl_devid_to_device_<kind>`.
    ///
    /// # Safety
    /// A live ctx; `dev` initialised and writable.
    #[doc(hidden)]
    unsafe fn by_devid(
        ctx: *mut sys::libxl_ctx,
        domid: u32,
        devid: c_int,
        dev: *mut Self::C,
    ) -> c_int;
}

macro_rules! listed {
    ($ty:ty, $list:ident, $free:path) => {
        impl sealed::Sealed for $ty {}
        impl ListedDevice for $ty {
            const LIST: &'static str = stringify!($list);
            const FREE: unsafe extern "C" fn(*mut Self::C, c_int) = $free;
            unsafe fn list(ctx: *mut sys::libxl_ctx, domid: u32, n: *mut c_int) -> *mut Self::C {
                // SAFETY: the caller's contract.
                unsafe { sys::$list(ctx, domid, n) }
            }
        }
    };
}

macro_rules! with_state {
    ($ty:ty, $info:ty, $getinfo:ident) => {
        impl DeviceWithState for $ty {
            type State = $info;
            const GETINFO: &'static str = stringify!($getinfo);
            unsafe fn getinfo(
                ctx: *mut sys::libxl_ctx,
                domid: u32,
                dev: *const Self::C,
                info: *mut <$info as crate::raw::cvalue::CValue>::C,
            ) -> c_int {
                // SAFETY: the caller's contract.
                unsafe { sys::$getinfo(ctx, domid, dev, info) }
            }
        }
    };
}

macro_rules! attachable {
    ($ty:ty, $add:ident, $remove:ident) => {
        attachable!($ty, $add, $remove, {});
    };
    ($ty:ty, $add:ident, $remove:ident, { $($precheck:tt)* }) => {
        impl AttachableDevice for $ty {
            const ADD: &'static str = stringify!($add);
            const REMOVE: &'static str = stringify!($remove);
            $($precheck)*
            unsafe fn add(
                ctx: *mut sys::libxl_ctx,
                domid: u32,
                dev: *mut Self::C,
                how: *const sys::libxl_asyncop_how,
            ) -> c_int {
                // SAFETY: the caller's contract.
                unsafe { sys::$add(ctx, domid, dev, how) }
            }
            unsafe fn remove(
                ctx: *mut sys::libxl_ctx,
                domid: u32,
                dev: *mut Self::C,
                how: *const sys::libxl_asyncop_how,
            ) -> c_int {
                // SAFETY: the caller's contract.
                unsafe { sys::$remove(ctx, domid, dev, how) }
            }
        }
    };
}

macro_rules! destroyable {
    ($ty:ty, $f:ident) => {
        impl DestroyableDevice for $ty {
            const DESTROY: &'static str = stringify!($f);
            unsafe fn destroy(
                ctx: *mut sys::libxl_ctx,
                domid: u32,
                dev: *mut Self::C,
                how: *const sys::libxl_asyncop_how,
            ) -> c_int {
                // SAFETY: the caller's contract.
                unsafe { sys::$f(ctx, domid, dev, how) }
            }
        }
    };
}

macro_rules! by_devid {
    ($ty:ty, $f:ident) => {
        impl DevidDevice for $ty {
            const BY_DEVID: &'static str = stringify!($f);
            unsafe fn by_devid(
                ctx: *mut sys::libxl_ctx,
                domid: u32,
                devid: c_int,
                dev: *mut Self::C,
            ) -> c_int {
                // SAFETY: the caller's contract.
                unsafe { sys::$f(ctx, domid, devid, dev) }
            }
        }
    };
}

/// libxl has no list-free function for channels: each element is
/// disposed, then the array freed, as libxl's other list frees do.
///
/// # Safety
/// `p` and `n` come from `libxl_device_channel_list`.
unsafe extern "C" fn free_channels(p: *mut sys::libxl_device_channel, n: c_int) {
    if p.is_null() {
        return;
    }
    for i in 0..usize::try_from(n).unwrap_or(0) {
        // SAFETY: element i of libxl's initialised array of n.
        unsafe { sys::libxl_device_channel_dispose(p.add(i)) };
    }
    // SAFETY: malloc'd by libxl, freed once.
    unsafe { libc::free(p.cast()) };
}

listed!(
    DeviceVtpm,
    libxl_device_vtpm_list,
    sys::libxl_device_vtpm_list_free
);
listed!(
    DeviceVkb,
    libxl_device_vkb_list,
    sys::libxl_device_vkb_list_free
);
listed!(
    DeviceVdispl,
    libxl_device_vdispl_list,
    sys::libxl_device_vdispl_list_free
);
listed!(
    DeviceVsnd,
    libxl_device_vsnd_list,
    sys::libxl_device_vsnd_list_free
);
listed!(DeviceChannel, libxl_device_channel_list, free_channels);
listed!(
    DeviceUsbctrl,
    libxl_device_usbctrl_list,
    sys::libxl_device_usbctrl_list_free
);
listed!(
    DeviceUsbdev,
    libxl_device_usbdev_list,
    sys::libxl_device_usbdev_list_free
);

with_state!(DeviceVtpm, Vtpminfo, libxl_device_vtpm_getinfo);
with_state!(DeviceVkb, Vkbinfo, libxl_device_vkb_getinfo);
with_state!(DeviceVdispl, Vdisplinfo, libxl_device_vdispl_getinfo);
with_state!(DeviceVsnd, Vsndinfo, libxl_device_vsnd_getinfo);
with_state!(DeviceChannel, Channelinfo, libxl_device_channel_getinfo);
with_state!(DeviceUsbctrl, Usbctrlinfo, libxl_device_usbctrl_getinfo);

attachable!(DeviceVtpm, libxl_device_vtpm_add, libxl_device_vtpm_remove);
attachable!(DeviceVkb, libxl_device_vkb_add, libxl_device_vkb_remove);
attachable!(
    DeviceVdispl,
    libxl_device_vdispl_add,
    libxl_device_vdispl_remove
);
attachable!(DeviceVsnd, libxl_device_vsnd_add, libxl_device_vsnd_remove);
attachable!(
    DeviceUsbctrl,
    libxl_device_usbctrl_add,
    libxl_device_usbctrl_remove
);
attachable!(
    DeviceUsbdev,
    libxl_device_usbdev_add,
    libxl_device_usbdev_remove,
    {
        fn precheck(&self, ctx: &Context, domid: Domid, op: &'static str) -> Result<()> {
            // Only an add may leave the controller to libxl (-1: it picks or
            // makes one); a remove always names one.
            if self.ctrl == -1 && op == Self::ADD {
                return Ok(());
            }
            ctx.require_usbctrl(domid, self.ctrl, op)
        }
    }
);

destroyable!(DeviceVtpm, libxl_device_vtpm_destroy);
destroyable!(DeviceVkb, libxl_device_vkb_destroy);
destroyable!(DeviceVdispl, libxl_device_vdispl_destroy);
destroyable!(DeviceVsnd, libxl_device_vsnd_destroy);
destroyable!(DeviceUsbctrl, libxl_device_usbctrl_destroy);

by_devid!(DeviceVtpm, libxl_devid_to_device_vtpm);
by_devid!(DeviceVkb, libxl_devid_to_device_vkb);
by_devid!(DeviceVdispl, libxl_devid_to_device_vdispl);
by_devid!(DeviceVsnd, libxl_devid_to_device_vsnd);
by_devid!(DeviceUsbctrl, libxl_devid_to_device_usbctrl);

impl Context {
    /// The domain's devices of kind `D` (`libxl_device_<kind>_list`, as
    /// `xl vtpm-list`, `vkb-list`, `vdispl-list`, `vsnd-list`,
    /// `channel-list`, `usb-list`). NULL from libxl with an error logged is
    /// an error, not an empty list.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// use xenlight::types::DeviceChannel;
    /// for ch in ctx.devices::<DeviceChannel>(domid)? {
    ///     println!("channel {:?}", ch.name);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_vtpm_list")]
    #[doc(alias = "libxl_device_vkb_list")]
    #[doc(alias = "libxl_device_vdispl_list")]
    #[doc(alias = "libxl_device_vsnd_list")]
    #[doc(alias = "libxl_device_channel_list")]
    #[doc(alias = "libxl_device_usbctrl_list")]
    #[doc(alias = "libxl_device_usbdev_list")]
    pub fn devices<D: ListedDevice>(&self, domid: Domid) -> Result<Vec<D>> {
        let list = self.device_array::<D>(domid)?;
        // SAFETY: libxl's initialised devices.
        list.iter().map(|d| unsafe { D::from_libxl(d) }).collect()
    }

    /// Each device of kind `D` with its state: backend and frontend domain
    /// and path, xenbus state, event channel and rings
    /// (`libxl_device_<kind>_getinfo` on each listed device, as the `-list`
    /// commands print).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// use xenlight::types::DeviceChannel;
    /// for (ch, state) in ctx.device_states::<DeviceChannel>(domid)? {
    ///     println!("{:?} state {} {:?}", ch.name, state.state, state.connection);
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_vtpm_getinfo")]
    #[doc(alias = "libxl_device_vkb_getinfo")]
    #[doc(alias = "libxl_device_vdispl_getinfo")]
    #[doc(alias = "libxl_device_vsnd_getinfo")]
    #[doc(alias = "libxl_device_channel_getinfo")]
    #[doc(alias = "libxl_device_usbctrl_getinfo")]
    pub fn device_states<D: DeviceWithState>(&self, domid: Domid) -> Result<Vec<(D, D::State)>> {
        let list = self.device_array::<D>(domid)?;
        list.iter()
            .map(|d| {
                let mut info = Owned::<<D::State as crate::raw::cvalue::CValue>::C>::new();
                let (ctx, id) = (self.as_raw(), domid.get());
                crate::logger::clear_last_error();
                // SAFETY: `d` is libxl's initialised device, alive for the
                // call; `info` is initialised, owned and disposed on drop.
                let rc = unsafe { D::getinfo(ctx, id, d, info.as_mut_ptr()) };
                if rc != 0 {
                    return Err(error_for(rc, D::GETINFO, On::Domain(domid)));
                }
                // SAFETY: initialised libxl values.
                unsafe { Ok((D::from_libxl(d)?, D::State::from_libxl(&info)?)) }
            })
            .collect()
    }

    /// Attaches a device of kind `D` to a running domain
    /// (`libxl_device_<kind>_add`, as `xl vtpm-attach`, `vkb-attach`,
    /// `vdispl-attach`, `vsnd-attach`, `usbctrl-attach`, `usbdev-attach`).
    /// Its backend must be there (a vTPM manager domain, a display or
    /// sound backend, QEMU for a USB controller of the `devicemodel`
    /// kind): libxl's failure to reach it is an [`Error::Libxl`](crate::Error::Libxl).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// use xenlight::types::DeviceVkb;
    /// ctx.attach_device(domid, &DeviceVkb::default())?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_vtpm_add")]
    #[doc(alias = "libxl_device_vkb_add")]
    #[doc(alias = "libxl_device_vdispl_add")]
    #[doc(alias = "libxl_device_vsnd_add")]
    #[doc(alias = "libxl_device_usbctrl_add")]
    #[doc(alias = "libxl_device_usbdev_add")]
    pub fn attach_device<D: AttachableDevice>(&self, domid: Domid, device: &D) -> Result<()> {
        self.require_domain(D::ADD, domid)?;
        device.precheck(self, domid, D::ADD)?;
        self.device_call(domid, device, D::ADD, D::add)
    }

    /// Detaches a device of kind `D`, as listed by
    /// [`devices`](Self::devices) or found by
    /// [`device_by_devid`](Self::device_by_devid)
    /// (`libxl_device_<kind>_remove`, as the `-detach` commands). A USB
    /// device on a controller the domain does not have is
    /// [`Error::DeviceNotFound`](crate::Error::DeviceNotFound) (see
    /// [`usbdev_at`](Self::usbdev_at)).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// use xenlight::types::DeviceVkb;
    /// let vkb: DeviceVkb = ctx.device_by_devid(domid, 0)?;
    /// ctx.detach_device(domid, &vkb)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_vtpm_remove")]
    #[doc(alias = "libxl_device_vkb_remove")]
    #[doc(alias = "libxl_device_vdispl_remove")]
    #[doc(alias = "libxl_device_vsnd_remove")]
    #[doc(alias = "libxl_device_usbctrl_remove")]
    #[doc(alias = "libxl_device_usbdev_remove")]
    pub fn detach_device<D: AttachableDevice>(&self, domid: Domid, device: &D) -> Result<()> {
        self.require_domain(D::REMOVE, domid)?;
        device.precheck(self, domid, D::REMOVE)?;
        self.device_call(domid, device, D::REMOVE, D::remove)
    }

    /// Takes a device of kind `D` away at once, without waiting for the
    /// guest to let it go (`libxl_device_<kind>_destroy`): for a device
    /// whose [`detach_device`](Self::detach_device) timed out because the
    /// guest never connected it or does not answer.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// use xenlight::types::DeviceUsbctrl;
    /// let ctrl: DeviceUsbctrl = ctx.device_by_devid(domid, 0)?;
    /// if ctx.detach_device(domid, &ctrl).is_err() {
    ///     ctx.destroy_device(domid, &ctrl)?;
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_device_vtpm_destroy")]
    #[doc(alias = "libxl_device_vkb_destroy")]
    #[doc(alias = "libxl_device_vdispl_destroy")]
    #[doc(alias = "libxl_device_vsnd_destroy")]
    #[doc(alias = "libxl_device_usbctrl_destroy")]
    pub fn destroy_device<D: DestroyableDevice>(&self, domid: Domid, device: &D) -> Result<()> {
        self.require_domain(D::DESTROY, domid)?;
        self.device_call(domid, device, D::DESTROY, D::destroy)
    }

    /// One of libxl's add/remove/destroy calls on `device`, synchronous.
    fn device_call<D: ListedDevice>(
        &self,
        domid: Domid,
        device: &D,
        op: &'static str,
        call: unsafe fn(
            *mut sys::libxl_ctx,
            u32,
            *mut D::C,
            *const sys::libxl_asyncop_how,
        ) -> c_int,
    ) -> Result<()> {
        let mut raw = device.to_libxl()?;
        crate::logger::clear_last_error();
        // SAFETY: a live ctx; raw initialised and owned for the call; NULL
        // ao_how makes it synchronous (the contract of D's functions).
        let rc = unsafe { call(self.as_raw(), domid.get(), raw.as_mut_ptr(), ptr::null()) };
        if rc != 0 {
            return Err(error_for(rc, op, On::Domain(domid)));
        }
        Ok(())
    }

    /// The device of kind `D` with id `devid` (`libxl_devid_to_device_<kind>`,
    /// how xl's `-detach` commands find what they detach). None with that
    /// id is an error.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// use xenlight::types::DeviceUsbctrl;
    /// let ctrl: DeviceUsbctrl = ctx.device_by_devid(domid, 0)?;
    /// println!("{} ports", ctrl.ports);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_devid_to_device_vtpm")]
    #[doc(alias = "libxl_devid_to_device_vkb")]
    #[doc(alias = "libxl_devid_to_device_vdispl")]
    #[doc(alias = "libxl_devid_to_device_vsnd")]
    #[doc(alias = "libxl_devid_to_device_usbctrl")]
    pub fn device_by_devid<D: DevidDevice>(&self, domid: Domid, devid: i32) -> Result<D> {
        let mut raw = Owned::<D::C>::new();
        crate::logger::clear_last_error();
        // SAFETY: raw initialised and owned (libxl fills it).
        let rc = unsafe { D::by_devid(self.as_raw(), domid.get(), devid, raw.as_mut_ptr()) };
        if rc != 0 {
            return Err(error_for(rc, D::BY_DEVID, On::Domain(domid)));
        }
        // SAFETY: filled by libxl.
        unsafe { D::from_libxl(&raw) }
    }

    /// The USB device at port `port` of USB controller `ctrl`
    /// (`libxl_ctrlport_to_device_usbdev`, as `xl usbdev-detach DOM CTRL
    /// PORT` finds it). A controller the domain does not have is
    /// [`Error::DeviceNotFound`](crate::Error::DeviceNotFound), checked
    /// before libxl looks: libxl (4.17 to 4.22) reads the controller's
    /// missing `type` node as NULL and crashes on it.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// let dev = ctx.usbdev_at(domid, 0, 1)?;
    /// ctx.detach_device(domid, &dev)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_ctrlport_to_device_usbdev")]
    pub fn usbdev_at(&self, domid: Domid, ctrl: i32, port: i32) -> Result<DeviceUsbdev> {
        self.require_usbctrl(domid, ctrl, "libxl_ctrlport_to_device_usbdev")?;
        let mut raw = Owned::<sys::libxl_device_usbdev>::new();
        // SAFETY: raw initialised and owned (libxl fills it).
        try_call!(self, On::Domain(domid), unsafe libxl_ctrlport_to_device_usbdev(domid.get(), ctrl, port, raw.as_mut_ptr()))?;
        // SAFETY: filled by libxl.
        unsafe { DeviceUsbdev::from_libxl(&raw) }
    }

    /// Refuses a USB controller the domain does not have: libxl's lookup
    /// of one (`vusb_be_from_xs_libxl`, libxl_usb.c) passes the missing
    /// xenstore `type` node, NULL, to `libxl_usbctrl_type_from_string`,
    /// which dereferences it (found by this crate's test: a segfault).
    fn require_usbctrl(&self, domid: Domid, ctrl: i32, op: &'static str) -> Result<()> {
        if self
            .devices::<DeviceUsbctrl>(domid)?
            .iter()
            .any(|c| c.devid == ctrl)
        {
            return Ok(());
        }
        Err(crate::error::Error::DeviceNotFound {
            op,
            domain: crate::error::DomainRef::Id(domid),
            device: format!("usbctrl {ctrl}"),
        })
    }

    /// libxl's list of the domain's devices of kind `D`, owned.
    fn device_array<D: ListedDevice>(&self, domid: Domid) -> Result<LibxlArray<D::C>> {
        self.require_domain(D::LIST, domid)?;
        let mut n = 0;
        crate::logger::clear_last_error();
        // SAFETY: a live ctx and a valid out-pointer.
        let p = unsafe { D::list(self.as_raw(), domid.get(), &mut n) };
        if p.is_null() {
            if let Some(e) = crate::raw::call::null_list_failure(D::LIST, On::Domain(domid)) {
                return Err(e);
            }
        }
        // SAFETY: from D's list function, freed by its free function.
        Ok(unsafe { LibxlArray::from_raw(p, n, D::FREE) })
    }
}
