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
use crate::error::{Error, Result};
use crate::ids::Domid;
use crate::raw::{try_call, On, Owned};
use crate::types;

/// The first bytes of a save file written by this crate.
const MAGIC: &[u8; 16] = b"xenlight-save-1\n";
/// A config larger than this is not a config (a corrupt header).
const MAX_CONFIG: u32 = 16 << 20;

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

/// Reads a save file's header: the magic, then the config's length and its
/// JSON. Leaves the reader at the start of libxl's stream.
fn read_header(r: &mut impl Read, path: &Path) -> Result<String> {
    let mut head = [0u8; 20];
    r.read_exact(&mut head)
        .map_err(|_| bad_file(path, "too short to be a save file"))?;
    if &head[..16] != MAGIC {
        return Err(bad_file(path, "not a save file written by xenlight"));
    }
    let len = u32::from_le_bytes([head[16], head[17], head[18], head[19]]);
    if len > MAX_CONFIG {
        return Err(bad_file(path, "corrupt header"));
    }
    let mut json = vec![0u8; len as usize];
    r.read_exact(&mut json)
        .map_err(|_| bad_file(path, "the config is cut short"))?;
    String::from_utf8(json).map_err(|_| bad_file(path, "the config is not UTF-8"))
}

/// libxl's stream header (libxl_sr_stream_format.h): "LibxlFmt", big-endian.
const STREAM_IDENT: u64 = 0x4c69_6278_6c46_6d74;
/// The stream version `libxl_domain_suspend` writes.
const STREAM_VERSION: u32 = 2;
/// `RESTORE_OPT_BIG_ENDIAN | RESTORE_OPT_LEGACY`: neither is written on x86.
const STREAM_ODD_OPTIONS: u32 = 0b11;
/// `REC_TYPE_LIBXC_CONTEXT`: the record the writer puts first (empty).
const REC_LIBXC_CONTEXT: u32 = 1;
/// How long the check waits for the stream's first bytes.
const STREAM_START_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Checks that `fd` holds the start of a stream as `libxl_domain_suspend`
/// writes it (header, then the empty libxc context record), without taking
/// it from libxl: peeked on a socket, read at the current offset of a file.
/// libxl 4.17 crashes (SIGSEGV) when a restore's stream fails before its
/// save helper has started, so a peer or file that sends anything else is
/// refused here. A pipe, which can be neither peeked nor re-read, is left
/// to libxl.
fn check_stream_start(fd: std::os::unix::io::RawFd) -> Result<()> {
    let mut b = [0u8; 24];
    let bad = |why: String| Error::InvalidArgument {
        what: "migration stream",
        reason: format!(
            "{why}: not the start of a libxl stream (\"LibxlFmt\" v2, then the libxc context)"
        ),
    };
    let started = std::time::Instant::now();
    loop {
        // SAFETY: a valid fd and a buffer of b.len() bytes.
        let n = unsafe {
            libc::recv(
                fd,
                b.as_mut_ptr().cast(),
                b.len(),
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if n == b.len() as isize {
            break;
        }
        if n == 0 {
            return Err(bad("the stream ends at once".into()));
        }
        let err = std::io::Error::last_os_error();
        if n < 0 && err.raw_os_error() == Some(libc::ENOTSOCK) {
            // SAFETY: plain syscalls on a valid fd; pread leaves the offset.
            let got = unsafe {
                let at = libc::lseek(fd, 0, libc::SEEK_CUR);
                if at < 0 {
                    return Ok(());
                }
                libc::pread(fd, b.as_mut_ptr().cast(), b.len(), at)
            };
            if got != b.len() as isize {
                return Err(bad("the stream is cut short".into()));
            }
            break;
        }
        if n < 0
            && err.raw_os_error() != Some(libc::EAGAIN)
            && err.raw_os_error() != Some(libc::EINTR)
        {
            return Err(bad(format!("reading its first bytes: {err}")));
        }
        // Part of it, and the peer has closed: it never comes.
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN | libc::POLLRDHUP,
            revents: 0,
        };
        // SAFETY: one valid pollfd; no wait.
        let ready = unsafe { libc::poll(&mut p, 1, 0) };
        if n > 0 && ready > 0 && p.revents & (libc::POLLHUP | libc::POLLRDHUP) != 0 {
            return Err(bad("the stream is cut short".into()));
        }
        if started.elapsed() > STREAM_START_WAIT {
            return Err(bad("nothing came within 60 s".into()));
        }
        // Nothing or part of it yet: wait a little (poll says readable as
        // soon as one byte is there, so it cannot wait for all of them).
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let ident = u64::from_be_bytes(b[0..8].try_into().unwrap_or_default());
    let version = u32::from_be_bytes(b[8..12].try_into().unwrap_or_default());
    let options = u32::from_be_bytes(b[12..16].try_into().unwrap_or_default());
    let rec_type = u32::from_le_bytes(b[16..20].try_into().unwrap_or_default());
    let rec_len = u32::from_le_bytes(b[20..24].try_into().unwrap_or_default());
    if ident != STREAM_IDENT || version != STREAM_VERSION || options & STREAM_ODD_OPTIONS != 0 {
        return Err(bad(format!(
            "header {ident:#x} version {version} options {options:#x}"
        )));
    }
    if rec_type != REC_LIBXC_CONTEXT || rec_len != 0 {
        return Err(bad(format!("first record {rec_type} of {rec_len} bytes")));
    }
    Ok(())
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
        if domid.is_dom0() {
            return Err(Error::Domain0Refused { op: "save" });
        }
        let config = self.domain_config(domid)?;
        let json = self.to_json(&config.libxl)?;
        let len = u32::try_from(json.len())
            .ok()
            .filter(|l| *l <= MAX_CONFIG)
            .ok_or_else(|| bad_file(path, "the domain's config is too large"))?;
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(io("open", path))?;
        file.write_all(MAGIC)
            .and_then(|()| file.write_all(&len.to_le_bytes()))
            .and_then(|()| file.write_all(json.as_bytes()))
            .and_then(|()| file.flush())
            .map_err(io("write", path))?;
        let fd = file.as_raw_fd();
        // SAFETY: an open, writable fd that outlives the call; NULL ao_how
        // makes it synchronous.
        let saved = try_call!(self, On::Domain(domid), unsafe libxl_domain_suspend(domid.get(), fd, 0, ptr::null()))
            .and_then(|()| file.sync_all().map_err(io("write", path)));
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
        // The domain is suspended; its state is in the file.
        self.destroy_and_wait(domid)
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
        let path = path.as_ref();
        let mut file = File::open(path).map_err(io("open", path))?;
        let json = read_header(&mut file, path)?;
        let config: types::DomainConfig = self.from_json(&json)?;
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
    /// Creates a domain from `config` and the libxl stream on `fd` (as
    /// `libxl_domain_suspend` wrote it), paused. Shared by restore and the
    /// migration receiver.
    pub(crate) fn restore_config_from_fd(
        &self,
        config: types::DomainConfig,
        fd: std::os::unix::io::RawFd,
    ) -> Result<Domid> {
        // Check the build-info arm before libxl reads it.
        DomainConfig::from_types(config.clone())?;
        check_stream_start(fd)?;
        // Sized for this host and expanded as for a create: the config
        // came from a file or a peer, not from this host's libxl.
        let mut raw = self.host_sized(config)?;
        let mut params = Owned::<sys::libxl_domain_restore_params>::new();
        // libxl_domain_suspend writes a version 2 stream (version 1, the
        // init value, would send it through convert-legacy-stream).
        // SAFETY: plain integer fields, nothing _dispose frees.
        unsafe {
            let p = params.get_mut();
            p.checkpointed_stream = 0;
            p.stream_version = 2;
        }
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

    /// libxl 4.17 crashed on a restore stream that failed before its save
    /// helper started: the stream's start is checked first, peeked (a
    /// socket) or re-read (a file), never taken from libxl.
    #[test]
    fn a_stream_that_is_not_libxls_is_refused_and_a_good_one_left_in_place() {
        use std::os::unix::net::UnixStream;
        let mut good = STREAM_IDENT.to_be_bytes().to_vec();
        good.extend(STREAM_VERSION.to_be_bytes());
        good.extend(0u32.to_be_bytes());
        good.extend(REC_LIBXC_CONTEXT.to_le_bytes());
        good.extend(0u32.to_le_bytes());
        let (mut tx, rx) = UnixStream::pair().unwrap();
        tx.write_all(&good[..7]).unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            tx.write_all(&good[7..]).unwrap();
            tx
        });
        check_stream_start(rx.as_raw_fd()).unwrap();
        drop(writer.join().unwrap());
        let mut all = Vec::new();
        (&rx).read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 24, "the check takes nothing from the stream");
        for bad in [&b"\x00\x00garbage, not a libxl stream"[..], &all[..10], b""] {
            let (mut tx, rx) = UnixStream::pair().unwrap();
            tx.write_all(bad).unwrap();
            drop(tx);
            assert!(check_stream_start(rx.as_raw_fd()).is_err(), "{bad:?}");
        }
        let path = std::env::temp_dir().join(format!("xenlight-stream-{}", std::process::id()));
        let mut f = [&b"head"[..], &all].concat();
        std::fs::write(&path, &f).unwrap();
        let mut file = File::open(&path).unwrap();
        let mut head = [0u8; 4];
        file.read_exact(&mut head).unwrap();
        check_stream_start(file.as_raw_fd()).unwrap();
        f.truncate(20);
        std::fs::write(&path, &f).unwrap();
        let mut file = File::open(&path).unwrap();
        file.read_exact(&mut head).unwrap();
        assert!(check_stream_start(file.as_raw_fd()).is_err());
        let _ = std::fs::remove_file(&path);
    }

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
