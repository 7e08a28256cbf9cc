//! Saving a domain to a file and restoring it from that file alone
//! (`libxl_domain_suspend`, `libxl_domain_create_restore`), as `xl save`
//! and `xl restore` do: the file starts with the domain's complete config,
//! then libxl's migration stream.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::ptr;

use xenlight_sys as sys;

use crate::config::DomainConfig;
use crate::context::Context;
use crate::convert::RawConfig;
use crate::error::{Error, Result};
use crate::framing;
use crate::ids::Domid;
use crate::raw::{try_call, On, Owned};
use crate::types;

/// The first bytes of a save file written by this crate.
pub(crate) const MAGIC: &[u8; 16] = b"xenlight-save-1\n";

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| Error::Io {
        op: format!("{op} {}", path.display()),
        source: e,
    }
}

fn bad_file(path: &Path, why: &str) -> Error {
    Error::InvalidArgument {
        what: "save file",
        reason: format!("{}: {why}", path.display()),
    }
}

/// Reads a save file's header (the frame's magic, the config's length and
/// its JSON). Leaves the reader at the start of libxl's stream.
fn read_header(r: &mut impl Read, path: &Path) -> Result<String> {
    framing::read_config(r, MAGIC)
        .map_err(|why| bad_file(path, &format!("not a save file written by xenlight: {why}")))
}

impl Context {
    /// Saves a domain to `path` and destroys it, as `xl save` does: the
    /// file holds the domain's complete config and its memory and state
    /// (`libxl_domain_suspend`); [`Context::restore`] needs nothing else.
    /// A save that fails is [`Error::Save`]: the file is removed and the
    /// guest resumed (`resumed` says whether it runs again), as xl does.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.save(domid, "/var/lib/xen/save/web.save")?;
    /// let domid = ctx.restore("/var/lib/xen/save/web.save")?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_suspend")]
    pub fn save(&self, domid: Domid, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file = self.save_begin(domid, path)?;
        let fd = file.as_raw_fd();
        // SAFETY: an open, writable fd that outlives the call; NULL ao_how
        // makes it synchronous.
        let saved = try_call!(self, On::Domain(domid), unsafe libxl_domain_suspend(domid.get(), fd, 0, ptr::null()));
        self.save_end(domid, path, file, saved)?;
        // The domain is suspended; its state is in the file.
        self.destroy_and_wait(domid)
    }

    /// A save's start: the file, created, with the domain's config in its
    /// header; libxl's stream follows (`libxl_domain_suspend` on its fd).
    pub(crate) fn save_begin(&self, domid: Domid, path: &Path) -> Result<File> {
        if domid.is_dom0() {
            return Err(Error::Domain0Refused { op: "save" });
        }
        let config = self.domain_config(domid)?;
        let json = self.to_json(&config.libxl)?;
        let frame = framing::config_frame(MAGIC, &json)
            .ok_or_else(|| bad_file(path, "the domain's config is too large"))?;
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(io("open", path))?;
        file.write_all(&frame)
            .and_then(|()| file.flush())
            .map_err(io("write", path))?;
        Ok(file)
    }

    /// A save's end, once `libxl_domain_suspend` returned `saved`: the file
    /// synced, or, when the save failed, removed and the guest resumed.
    pub(crate) fn save_end(
        &self,
        domid: Domid,
        path: &Path,
        file: File,
        saved: Result<()>,
    ) -> Result<()> {
        let saved = saved.and_then(|()| file.sync_all().map_err(io("write", path)));
        if let Err(e) = saved {
            drop(file);
            let _ = std::fs::remove_file(path);
            // libxl leaves a guest it failed to save suspended
            // (libxl_domain.c); xl resumes it (xl_saverestore.c), and so
            // do we: a failed save never loses the guest.
            let (reason, resumed) = match self.resume_if_suspended(domid) {
                None => (e.to_string(), true),
                Some(why) => (format!("{e}; {why}"), false),
            };
            return Err(Error::Save {
                domid,
                reason,
                resumed,
            });
        }
        Ok(())
    }

    /// Restores a domain saved by [`Context::save`] and unpauses it
    /// (`libxl_domain_create_restore`); it continues where it was saved.
    /// Returns its new domid. A domain that cannot be restored is destroyed.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let domid = ctx.restore("/var/lib/xen/save/web.save")?;
    /// println!("restored as domain {domid}");
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_create_restore")]
    pub fn restore(&self, path: impl AsRef<Path>) -> Result<Domid> {
        let (file, config) = self.open_save_file(path.as_ref())?;
        // The stream follows the header: libxl reads from the file's offset.
        let domid = self.restore_config_from_fd(config, file.as_raw_fd())?;
        if let Err(e) = self.unpause(domid) {
            let _ = self.destroy(domid);
            return Err(e);
        }
        Ok(domid)
    }
}

impl Context {
    /// A save file opened and read up to libxl's stream: the file, at the
    /// stream, and the config its header holds, checked (untrusted JSON).
    pub(crate) fn open_save_file(&self, path: &Path) -> Result<(File, types::DomainConfig)> {
        let mut file = File::open(path).map_err(io("open", path))?;
        let json = read_header(&mut file, path)?;
        let config: types::DomainConfig = self.from_json(&json)?;
        Ok((file, config))
    }

    /// What a restore hands libxl for `config` and the stream on `fd`: the
    /// build-info arm and the stream's start checked before libxl reads
    /// them, the config sized for this host and expanded as for a create
    /// (it came from a file or a peer, not from this host's libxl), and
    /// the restore parameters.
    pub(crate) fn restore_prepare(
        &self,
        config: types::DomainConfig,
        fd: std::os::unix::io::RawFd,
    ) -> Result<(RawConfig, Owned<sys::libxl_domain_restore_params>)> {
        DomainConfig::from_types(config.clone())?;
        framing::check_stream_start(fd)?;
        let raw = self.host_sized(config)?;
        let mut params = Owned::<sys::libxl_domain_restore_params>::new();
        // libxl_domain_suspend writes a version 2 stream (version 1, the
        // init value, would send it through convert-legacy-stream).
        // SAFETY: plain integer fields, nothing _dispose frees.
        unsafe {
            let p = params.get_mut();
            p.checkpointed_stream = 0;
            p.stream_version = 2;
        }
        Ok((raw, params))
    }

    /// Creates a domain from `config` and the libxl stream on `fd` (as
    /// `libxl_domain_suspend` wrote it), paused. Shared by restore and the
    /// migration receiver.
    pub(crate) fn restore_config_from_fd(
        &self,
        config: types::DomainConfig,
        fd: std::os::unix::io::RawFd,
    ) -> Result<Domid> {
        let (mut raw, params) = self.restore_prepare(config, fd)?;
        self.create_with(
            &mut raw,
            "libxl_domain_create_restore",
            |ctx, cfg, domid| {
                // SAFETY: config and params initialised and owned; `fd` is open
                // for reading and outlives the call; NULL ao_how makes it
                // synchronous.
                unsafe {
                    sys::libxl_domain_create_restore(
                        ctx,
                        cfg,
                        domid,
                        fd,
                        -1,
                        params.as_ptr(),
                        ptr::null(),
                        ptr::null(),
                    )
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_file_headers_are_checked_before_libxl_reads_them() {
        let p = Path::new("x.save");
        let mut good = MAGIC.to_vec();
        good.extend(2u32.to_le_bytes());
        good.extend(b"{}stream");
        let mut r = &good[..];
        assert_eq!(read_header(&mut r, p).unwrap(), "{}");
        assert_eq!(r, b"stream", "the reader is left at libxl's stream");
        for bad in [
            &b"xen"[..],
            &b"not a save file, but long enough\n"[..],
            &good[..21],
        ] {
            let e = read_header(&mut &bad[..], p).unwrap_err();
            assert!(e.to_string().contains("x.save"), "{e}");
        }
        let mut huge = MAGIC.to_vec();
        huge.extend(u32::MAX.to_le_bytes());
        assert!(read_header(&mut &huge[..], p).is_err());
    }
}
