//! [`AsyncContext`]'s operations beyond create, destroy and the waits:
//! each one libxl takes an `ao_how` for, run as a libxl asynchronous
//! operation, with the same checks before it and the same clean-up after
//! it as the [`Context`] call of the same name (shared with it, in
//! `devices` and `saverestore`); those libxl has no asynchronous form for
//! run the [`Context`] call on the runtime's blocking pool.

use std::ffi::c_int;
use std::os::unix::io::AsRawFd;
use std::path::Path;

use xenlight_sys as sys;

use super::{AoFuture, AsyncContext, RestoreFrom, SendConfig};
use crate::config::{Disk, Nic};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::ids::Domid;
use crate::monitor::AfterShutdown;
use crate::raw::On;

/// What an asynchronous operation reads or writes while it runs (a libxl
/// struct, a file): kept in the operation's slot until libxl's callback,
/// then handed back.
struct Held<T>(T);

// SAFETY: Held only ever holds plain owned data (libxl structs freed by
// their own _dispose, which needs no ctx, or a File); libxl uses it while
// the operation runs and this module only after the callback: one thread
// at a time.
unsafe impl<T> Send for Held<T> {}

impl AsyncContext {
    /// Runs `call` as one libxl asynchronous operation on `held`, and
    /// returns its result with `held` back (`None` only if libxl never
    /// completed it, which a completed future rules out).
    pub(super) async fn ao<T: 'static>(
        &self,
        op: &'static str,
        on: On<'_>,
        held: T,
        call: impl FnOnce(*mut sys::libxl_ctx, *mut T, *const sys::libxl_asyncop_how) -> c_int,
    ) -> (Result<()>, Option<T>) {
        let shared = &self.handle.shared;
        let started = {
            let mut held = Box::new(Held(held));
            // The box's contents do not move when the box does: libxl may
            // keep this address until its callback.
            let p: *mut T = &mut held.0;
            AoFuture::start(shared, held, move |ctx, how| call(ctx, p, how))
        };
        let done = started.await;
        let result = done.check(shared, op, on);
        let back = done
            .data
            .and_then(|d| d.downcast::<Held<T>>().ok())
            .map(|h| h.0);
        (result, back)
    }

    /// Runs the sync call `f` on the runtime's blocking pool: for the
    /// operations libxl has no asynchronous form for.
    pub(super) async fn blocking<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Context) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let shared = std::sync::Arc::clone(&self.handle.shared);
        tokio::task::spawn_blocking(move || f(&shared.ctx))
            .await
            .map_err(|e| Error::InvalidArgument {
                what: op,
                reason: format!("its blocking task failed: {e}"),
            })?
    }

    /// Asks the guest to shut down (`libxl_domain_shutdown`, as
    /// [`Context::shutdown`]); [`wait_for_shutdown`](Self::wait_for_shutdown)
    /// awaits it.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.shutdown(domid).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_shutdown")]
    pub async fn shutdown(&self, domid: Domid) -> Result<()> {
        self.domain_op("libxl_domain_shutdown", domid, |ctx, d, how| {
            // SAFETY: plain arguments; `how` is valid for the call.
            unsafe { sys::libxl_domain_shutdown(ctx, d, how) }
        })
        .await
    }

    /// Asks the guest to reboot (`libxl_domain_reboot`, as
    /// [`Context::reboot`]); what happens next is the config's
    /// `on_reboot` ([`handle_shutdown`](Self::handle_shutdown)).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.reboot(domid).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_reboot")]
    pub async fn reboot(&self, domid: Domid) -> Result<()> {
        self.domain_op("libxl_domain_reboot", domid, |ctx, d, how| {
            // SAFETY: plain arguments; `how` is valid for the call.
            unsafe { sys::libxl_domain_reboot(ctx, d, how) }
        })
        .await
    }

    /// A libxl asynchronous operation on one domain other than Domain-0.
    pub(super) async fn domain_op(
        &self,
        op: &'static str,
        domid: Domid,
        call: impl FnOnce(*mut sys::libxl_ctx, u32, *const sys::libxl_asyncop_how) -> c_int,
    ) -> Result<()> {
        if domid.is_dom0() {
            return Err(Error::Domain0Refused { op });
        }
        let raw = domid.get();
        let (r, _) = self
            .ao(op, On::Domain(domid), (), move |ctx, _, how| {
                call(ctx, raw, how)
            })
            .await;
        r
    }

    /// Sets the memory target the guest's balloon driver is asked to reach
    /// (`libxl_set_memory_target`, as [`Context::set_memory_target`]; libxl
    /// has no asynchronous form: on the blocking pool).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.set_memory_target(domid, 512 * 1024).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_set_memory_target")]
    pub async fn set_memory_target(&self, domid: Domid, target_kib: u64) -> Result<()> {
        self.blocking("libxl_set_memory_target", move |c| {
            c.set_memory_target(domid, target_kib)
        })
        .await
    }

    /// Carries out the config's `on_*` action for a domain that has shut
    /// down, as xl does ([`Context::handle_shutdown`], on the blocking
    /// pool: a restart recreates the domain).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// let after = ctx.handle_shutdown(domid).await?;
    /// println!("{after:?}");
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_retrieve_domain_configuration")]
    pub async fn handle_shutdown(&self, domid: Domid) -> Result<AfterShutdown> {
        self.blocking("handle_shutdown", move |c| c.handle_shutdown(domid))
            .await
    }

    /// Pauses all of the domain's vCPUs (`libxl_domain_pause`, as
    /// [`Context::pause`](crate::Context::pause)).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.pause(domid).await?;
    /// ctx.unpause(domid).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_pause")]
    pub async fn pause(&self, domid: Domid) -> Result<()> {
        self.domain_op("libxl_domain_pause", domid, |ctx, d, how| {
            // SAFETY: plain arguments; `how` is valid for the call.
            unsafe { sys::libxl_domain_pause(ctx, d, how) }
        })
        .await
    }

    /// Lets a paused domain run again (`libxl_domain_unpause`, as
    /// [`Context::unpause`](crate::Context::unpause)).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.unpause(domid).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_unpause")]
    pub async fn unpause(&self, domid: Domid) -> Result<()> {
        let raw = domid.get();
        let (r, _) = self
            .ao(
                "libxl_domain_unpause",
                On::Domain(domid),
                (),
                |ctx, _, how| {
                    // SAFETY: plain arguments; `how` is valid for the call.
                    unsafe { sys::libxl_domain_unpause(ctx, raw, how) }
                },
            )
            .await;
        r
    }

    /// Attaches a disk to a running domain (`libxl_device_disk_add`, as
    /// [`Context::attach_disk`](crate::Context::attach_disk): a disk
    /// already at that `vdev` is [`Error::DeviceExists`]).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.attach_disk(domid, &xenlight::Disk::new("/dev/loop0", "xvdb")).await?;
    /// ctx.detach_disk(domid, "xvdb").await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_device_disk_add")]
    pub async fn attach_disk(&self, domid: Domid, disk: &Disk) -> Result<()> {
        let raw_disk = self.context().disk_to_add(domid, disk)?;
        let raw = domid.get();
        let on = On::Device(domid, &disk.vdev);
        let (r, _) = self
            .ao("libxl_device_disk_add", on, raw_disk, |ctx, d, how| {
                // SAFETY: `d` is the held, initialised disk, valid until the
                // callback; `how` is valid for the call.
                unsafe { sys::libxl_device_disk_add(ctx, raw, (*d).as_mut_ptr(), how) }
            })
            .await;
        r
    }

    /// Detaches the disk at `vdev` (`libxl_device_disk_remove`, as
    /// [`Context::detach_disk`](crate::Context::detach_disk)).
    #[doc(alias = "libxl_device_disk_remove")]
    pub async fn detach_disk(&self, domid: Domid, vdev: &str) -> Result<()> {
        let raw_disk = self.context().disk_to_remove(domid, vdev)?;
        let raw = domid.get();
        let on = On::Device(domid, vdev);
        let (r, _) = self
            .ao("libxl_device_disk_remove", on, raw_disk, |ctx, d, how| {
                // SAFETY: as in attach_disk.
                unsafe { sys::libxl_device_disk_remove(ctx, raw, (*d).as_mut_ptr(), how) }
            })
            .await;
        r
    }

    /// Attaches a network interface and returns its devid
    /// (`libxl_device_nic_add`, as
    /// [`Context::attach_nic`](crate::Context::attach_nic): a NIC that
    /// fails half-added is removed again).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// let devid = ctx.attach_nic(domid, &xenlight::Nic::bridged("xenbr0")).await?;
    /// ctx.detach_nic(domid, devid).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_device_nic_add")]
    pub async fn attach_nic(&self, domid: Domid, nic: &Nic) -> Result<i32> {
        let (raw_nic, before) = self.context().nic_to_add(domid, nic)?;
        let raw = domid.get();
        let device = nic.devid.map_or("nic".to_owned(), |d| format!("nic {d}"));
        let (r, back) = self
            .ao(
                "libxl_device_nic_add",
                On::Device(domid, &device),
                raw_nic,
                |ctx, n, how| {
                    // SAFETY: as in attach_disk, for the held NIC.
                    unsafe { sys::libxl_device_nic_add(ctx, raw, (*n).as_mut_ptr(), how) }
                },
            )
            .await;
        let back = back.ok_or_else(|| Error::InvalidArgument {
            what: "libxl_device_nic_add",
            reason: "libxl did not hand the NIC back".into(),
        })?;
        self.context().nic_added(domid, &back, &before, r)
    }

    /// Detaches NIC `devid` (`libxl_device_nic_remove`, as
    /// [`Context::detach_nic`](crate::Context::detach_nic)).
    #[doc(alias = "libxl_device_nic_remove")]
    pub async fn detach_nic(&self, domid: Domid, devid: i32) -> Result<()> {
        let raw_nic = self.context().nic_to_remove(domid, devid)?;
        let raw = domid.get();
        let device = format!("nic {devid}");
        let (r, _) = self
            .ao(
                "libxl_device_nic_remove",
                On::Device(domid, &device),
                raw_nic,
                |ctx, n, how| {
                    // SAFETY: as in attach_disk, for the held NIC.
                    unsafe { sys::libxl_device_nic_remove(ctx, raw, (*n).as_mut_ptr(), how) }
                },
            )
            .await;
        r
    }

    /// Saves a domain to `path` and destroys it (`libxl_domain_suspend`,
    /// as [`Context::save`](crate::Context::save), whose
    /// [`Context::restore`](crate::Context::restore) reads the file): a
    /// save that fails is [`Error::Save`], the file removed and the guest
    /// resumed. Dropping the future aborts the save (`libxl_ao_abort`); the
    /// guest may then be left suspended, as after a save that fails
    /// without a resume: [`Context::resume`](crate::Context::resume) it.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.save(domid, "/var/lib/xen/save/web.save").await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_suspend")]
    pub async fn save(&self, domid: Domid, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file = self.context().save_begin(domid, path)?;
        let fd = file.as_raw_fd();
        let raw = domid.get();
        let (saved, back) = self
            .ao(
                "libxl_domain_suspend",
                On::Domain(domid),
                file,
                |ctx, _, how| {
                    // SAFETY: `fd` is the held file's, open and writable until
                    // the callback; `how` is valid for the call.
                    unsafe { sys::libxl_domain_suspend(ctx, raw, fd, 0, how) }
                },
            )
            .await;
        let file = back.ok_or_else(|| Error::InvalidArgument {
            what: "libxl_domain_suspend",
            reason: "libxl did not hand the file back".into(),
        })?;
        self.context().save_end(domid, path, file, saved)?;
        // The domain is suspended; its state is in the file. As
        // Context::save: it is gone when this returns (libxl's destroy
        // completes while Xen may still list it, dying).
        self.destroy(domid).await?;
        self.wait_unlisted(domid).await
    }

    /// Waits until a destroyed domain has left Xen's list (libxl's destroy
    /// completes while Xen may still list it, dying), for at most the
    /// 30 s `Context::destroy_and_wait` waits.
    pub(super) async fn wait_unlisted(&self, domid: Domid) -> Result<()> {
        let start = std::time::Instant::now();
        while self.context().still_listed_after_destroy(domid, start)? {
            tokio::time::sleep(crate::lifecycle::GONE_POLL).await;
        }
        Ok(())
    }

    /// Restores a domain saved by [`save`](Self::save) or
    /// [`Context::save`](crate::Context::save) and unpauses it
    /// (`libxl_domain_create_restore` as a libxl asynchronous operation,
    /// with the checks of [`Context::restore`](crate::Context::restore):
    /// the file's config read as untrusted JSON, its stream's start
    /// checked, admission). A restore that fails, or is dropped, leaves no
    /// domain behind.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext) -> xenlight::Result<()> {
    /// let domid = ctx.restore("/var/lib/xen/save/web.save").await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_create_restore")]
    pub async fn restore(&self, path: impl AsRef<Path>) -> Result<Domid> {
        let ctx = self.context();
        let (file, config) = ctx.open_save_file(path.as_ref())?;
        let name = config.c_info.name.clone().unwrap_or_default();
        let (raw, params) = ctx.restore_prepare(config, file.as_raw_fd())?;
        let restore = RestoreFrom { file, params };
        let domid = self
            .create_raw_paused(SendConfig(raw), name, None, Some(restore))
            .await?;
        if let Err(e) = self.unpause(domid).await {
            let _ = self.destroy(domid).await;
            return Err(e);
        }
        Ok(domid)
    }
}
