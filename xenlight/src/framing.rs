//! The frame this crate puts around libxl's migration stream, in a save
//! file and on a migration connection: a magic line, the config's length
//! and its JSON, then libxl's stream, whose start is checked before libxl
//! reads it. Everything here reads what an outsider wrote, so it is
//! bounded and fuzzed (fuzz/fuzz_targets/stream_header.rs).

use std::io::Read;

use crate::error::{Error, Result};

/// A config larger than this is not a config (a corrupt header).
pub(crate) const MAX_CONFIG: u32 = 16 << 20;

/// `magic`, the length of `json` and `json`: what a reader of
/// [`read_config`] takes. `None` when the config is over [`MAX_CONFIG`].
pub(crate) fn config_frame(magic: &[u8; 16], json: &str) -> Option<Vec<u8>> {
    let len = u32::try_from(json.len())
        .ok()
        .filter(|l| *l <= MAX_CONFIG)?;
    let mut head = magic.to_vec();
    head.extend(len.to_le_bytes());
    head.extend(json.as_bytes());
    Some(head)
}

/// Reads a frame's header: `magic`, the config's length (little-endian
/// u32, at most [`MAX_CONFIG`]) and its JSON, which must be UTF-8. Leaves
/// the reader at the start of libxl's stream. The error says what is wrong
/// for the caller's own error.
pub(crate) fn read_config(
    r: &mut impl Read,
    magic: &[u8; 16],
) -> std::result::Result<String, String> {
    let mut head = [0u8; 20];
    r.read_exact(&mut head)
        .map_err(|e| format!("the header is cut short ({e})"))?;
    if &head[..16] != magic {
        return Err(format!(
            "it does not start with {:?}",
            String::from_utf8_lossy(magic).trim_end()
        ));
    }
    let len = u32::from_le_bytes([head[16], head[17], head[18], head[19]]);
    if len > MAX_CONFIG {
        return Err(format!("corrupt header: a config of {len} bytes"));
    }
    let mut json = Vec::new();
    r.take(u64::from(len))
        .read_to_end(&mut json)
        .map_err(|e| format!("reading the config: {e}"))?;
    if json.len() != len as usize {
        return Err("the config is cut short".into());
    }
    String::from_utf8(json).map_err(|_| "the config is not UTF-8".into())
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
pub(crate) fn check_stream_start(fd: std::os::unix::io::RawFd) -> Result<()> {
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
    stream_header(&b).map_err(bad)
}

/// What [`check_stream_start`] checks of the first 24 bytes: libxl's
/// header, version 2, x86 options, then the empty libxc context record.
pub(crate) fn stream_header(b: &[u8; 24]) -> std::result::Result<(), String> {
    let ident = u64::from_be_bytes(b[0..8].try_into().unwrap_or_default());
    let version = u32::from_be_bytes(b[8..12].try_into().unwrap_or_default());
    let options = u32::from_be_bytes(b[12..16].try_into().unwrap_or_default());
    let rec_type = u32::from_le_bytes(b[16..20].try_into().unwrap_or_default());
    let rec_len = u32::from_le_bytes(b[20..24].try_into().unwrap_or_default());
    if ident != STREAM_IDENT || version != STREAM_VERSION || options & STREAM_ODD_OPTIONS != 0 {
        return Err(format!(
            "header {ident:#x} version {version} options {options:#x}"
        ));
    }
    if rec_type != REC_LIBXC_CONTEXT || rec_len != 0 {
        return Err(format!("first record {rec_type} of {rec_len} bytes"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::io::AsRawFd;

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
        let mut file = std::fs::File::open(&path).unwrap();
        let mut head = [0u8; 4];
        file.read_exact(&mut head).unwrap();
        check_stream_start(file.as_raw_fd()).unwrap();
        f.truncate(20);
        std::fs::write(&path, &f).unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        file.read_exact(&mut head).unwrap();
        assert!(check_stream_start(file.as_raw_fd()).is_err());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn config_frames_are_read_back_and_bad_ones_refused() {
        let magic = b"xenlight-test-1\n";
        let mut good = config_frame(magic, "{}").unwrap();
        good.extend(b"stream");
        let mut r = &good[..];
        assert_eq!(read_config(&mut r, magic).unwrap(), "{}");
        assert_eq!(r, b"stream", "the reader is left at libxl's stream");
        for bad in [
            &b"xen"[..],
            &b"not the magic line, but long enough"[..],
            &good[..21],
        ] {
            assert!(read_config(&mut &bad[..], magic).is_err(), "{bad:?}");
        }
        let mut huge = magic.to_vec();
        huge.extend(u32::MAX.to_le_bytes());
        assert!(read_config(&mut &huge[..], magic).is_err());
        let mut not_utf8 = magic.to_vec();
        not_utf8.extend(1u32.to_le_bytes());
        not_utf8.push(0xff);
        assert!(read_config(&mut &not_utf8[..], magic).is_err());
    }
}
