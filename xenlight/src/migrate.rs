//! Live migration over any connected stream (`libxl_domain_suspend` with
//! `LIBXL_SUSPEND_LIVE` at the sender, `libxl_domain_create_restore` at the
//! receiver), with xl's hand-over: the incoming domain is created paused as
//! `NAME--incoming`; once it holds the whole domain the sender renames its
//! own to `NAME--migratedaway` and says go; the receiver takes the name and
//! unpauses; the sender destroys its copy. Any failure before "go" leaves
//! the sender's domain running under its own name; a receiver that cannot
//! start its copy after "go" destroys it and tells the sender, which
//! resumes its own. The receiver trusts nothing the sender sends: the
//! config is checked in Rust before libxl reads it (`Context::from_json`).

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::ptr;

use xenlight_sys as sys;

use crate::context::Context;
use crate::enums::ShutdownReason;
use crate::error::{Error, Result};
use crate::framing;
use crate::ids::Domid;
use crate::info::DomainState;
use crate::raw::{try_call, On};

/// For the hypervisor tests: the next receiver's hand-over (after "go")
/// fails as a failed rename would, so a test can show the guest runs on
/// at the sender.
#[cfg(feature = "xen-host")]
#[doc(hidden)]
pub static HANDOVER_FAULT: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// The first bytes a sender writes.
pub(crate) const MAGIC: &[u8; 16] = b"xenlight-migr-1\n";
/// The receiver has read the config and is reading the stream.
const READY: u8 = b'r';
/// The receiver holds the domain, paused.
const RECEIVED: u8 = b'R';
/// The receiver failed to restore it; after "go": it could not start
/// its copy and has destroyed it, so the sender resumes its own.
const FAILED: u8 = b'F';
/// The sender has renamed its copy: take over.
const GO: u8 = b'G';
/// The sender could not rename its copy: destroy yours.
const ABORT: u8 = b'A';
/// The receiver's domain runs under the name.
const DONE: u8 = b'D';

fn failed(domain: &str, stage: &'static str, reason: impl Into<String>, resumed: bool) -> Error {
    Error::Migration {
        domain: domain.to_owned(),
        stage,
        reason: reason.into(),
        resumed,
    }
}

/// One byte from the peer (`None` at end of stream or on error). libxl may
/// have left the fd non-blocking; the wait is a blocking read.
fn read_byte(s: &mut (impl Read + AsRawFd)) -> Option<u8> {
    blocking(s.as_raw_fd());
    let mut b = [0u8];
    s.read_exact(&mut b).ok().map(|()| b[0])
}

fn blocking(fd: i32) {
    // SAFETY: fcntl on an open fd the caller owns; only O_NONBLOCK changes.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 && fl & libc::O_NONBLOCK != 0 {
            libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK);
        }
    }
}

impl Context {
    /// Live-migrates a running domain to the receiver at the other end of
    /// `stream` ([`Context::migrate_receive`] on the destination host, over
    /// TCP, SSH, or a socket pair). The process must ignore SIGPIPE (Rust
    /// programs do) so a receiver that goes away is an error, not a signal.
    /// On success the domain runs at the
    /// receiver under the same name and UUID and is gone here. On failure
    /// before the hand-over it runs on here ([`Error::Migration`] with
    /// `resumed: true`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?;
    /// let domid = ctx.domid_by_name("web")?;
    /// let mut stream = std::net::TcpStream::connect("169.254.7.2:8002")?;
    /// ctx.migrate_send(domid, &mut stream)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "libxl_domain_suspend")]
    #[doc(alias = "libxl_domain_resume")]
    pub fn migrate_send<S: Read + Write + AsRawFd>(
        &self,
        domid: Domid,
        stream: &mut S,
    ) -> Result<()> {
        if domid.is_dom0() {
            return Err(Error::Domain0Refused { op: "migrate_send" });
        }
        let name = self.domain_name(domid)?.unwrap_or_default();
        let config = self.domain_config(domid)?;
        let json = self.to_json(&config.libxl)?;
        let head = framing::config_frame(MAGIC, &json)
            .ok_or_else(|| failed(&name, "sending", "the domain's config is too large", true))?;
        stream
            .write_all(&head)
            .and_then(|()| stream.flush())
            .map_err(|e| failed(&name, "sending", format!("writing the config: {e}"), true))?;
        // Only start libxl once the receiver is there: libxl 4.17 crashes
        // (a NULL completion callback in libxl_save_callout.c:helper_done)
        // when the stream fails before its save helper has started.
        match read_byte(stream) {
            Some(READY) => {}
            Some(FAILED) => {
                return Err(failed(
                    &name,
                    "sending",
                    "the receiver refused the config",
                    true,
                ))
            }
            _ => {
                return Err(failed(
                    &name,
                    "sending",
                    "the receiver closed the stream before it was ready",
                    true,
                ))
            }
        }
        let fd = stream.as_raw_fd();
        // SAFETY: an open fd that outlives the call; NULL ao_how makes it
        // synchronous.
        let sent = try_call!(
            self,
            On::Domain(domid),
            unsafe libxl_domain_suspend(domid.get(), fd, sys::LIBXL_SUSPEND_LIVE as i32, ptr::null())
        );
        if let Err(e) = sent {
            return Err(self.failed_after_suspend(domid, &name, "sending", e.to_string()));
        }
        match read_byte(stream) {
            Some(RECEIVED) => {}
            other => {
                let why = match other {
                    Some(FAILED) => "the receiver could not restore the domain".to_owned(),
                    Some(b) => format!("unexpected reply {b:?} from the receiver"),
                    None => "the receiver closed the stream".to_owned(),
                };
                return Err(self.failed_after_suspend(domid, &name, "sending", why));
            }
        }
        // Free the name for the receiver; keep ours until it has taken it.
        let away = format!("{name}--migratedaway");
        if let Err(e) = self.rename(domid, &away) {
            let _ = stream.write_all(&[ABORT]);
            return Err(self.failed_after_suspend(domid, &name, "handing over", e.to_string()));
        }
        let reply = if stream.write_all(&[GO]).is_ok() {
            read_byte(stream)
        } else {
            None
        };
        if reply == Some(FAILED) {
            // The receiver could not start its copy and has destroyed it
            // (xl_migrate.c: "permission for sender to resume"): ours is
            // the only one, so it runs on under its name.
            let _ = self.rename(domid, &name);
            return Err(self.failed_after_suspend(
                domid,
                &name,
                "handing over",
                "the receiver could not start the domain and destroyed its copy".into(),
            ));
        }
        if reply != Some(DONE) {
            // The receiver may or may not run the domain now: xl keeps the
            // suspended copy for the operator in this case, and so do we.
            let _ = self.rename(domid, &name);
            return Err(failed(
                &name,
                "handing over",
                format!(
                    "the receiver did not confirm the hand-over; the suspended copy is kept here as {name} (domid {domid})"
                ),
                false,
            ));
        }
        self.destroy_and_wait(domid)
    }

    /// Receives a domain sent by [`Context::migrate_send`] over `stream` and
    /// returns its domid here, running under its name. A domain that cannot
    /// be restored is destroyed and the sender told, so its copy runs on.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?;
    /// let listener = std::net::TcpListener::bind("169.254.7.2:8002")?;
    /// let (mut stream, _) = listener.accept()?;
    /// let domid = ctx.migrate_receive(&mut stream)?;
    /// println!("now running here as domain {domid}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "libxl_domain_create_restore")]
    pub fn migrate_receive<S: Read + Write + AsRawFd>(&self, stream: &mut S) -> Result<Domid> {
        let json = match framing::read_config(stream, MAGIC) {
            Ok(json) => json,
            Err(why) => {
                let _ = stream.write_all(&[FAILED]);
                return Err(failed(
                    "?",
                    "receiving",
                    format!("the peer is not a xenlight migration sender: {why}"),
                    false,
                ));
            }
        };
        let mut config: crate::types::DomainConfig = match self.from_json(&json) {
            Ok(c) => c,
            Err(e) => {
                let _ = stream.write_all(&[FAILED]);
                return Err(e);
            }
        };
        let name = config.c_info.name.clone().unwrap_or_default();
        config.c_info.name = Some(format!("{name}--incoming"));
        stream.write_all(&[READY]).map_err(|e| {
            failed(
                &name,
                "receiving",
                format!("the sender went away: {e}"),
                false,
            )
        })?;
        let domid = match self.restore_config_from_fd(config, stream.as_raw_fd()) {
            Ok(d) => d,
            Err(e) => {
                let _ = stream.write_all(&[FAILED]);
                return Err(failed(&name, "receiving", e.to_string(), false));
            }
        };
        let go = stream.write_all(&[RECEIVED]).is_ok() && read_byte(stream) == Some(GO);
        if !go {
            let _ = self.destroy(domid);
            return Err(failed(
                &name,
                "receiving",
                "the sender did not hand the domain over",
                false,
            ));
        }
        if let Err(e) = self.take_over(domid, &name) {
            // Give the sender its domain back, but only once ours is gone,
            // so the guest never runs twice; xl's receiver does the same.
            let gone = self.destroy_and_wait(domid).is_ok();
            let why = if gone && stream.write_all(&[FAILED]).is_ok() {
                format!("{e}; the copy here was destroyed and the sender told to resume its own")
            } else {
                format!("{e}; the copy here could not be destroyed (domid {domid}), so the sender keeps its copy suspended")
            };
            return Err(failed(&name, "handing over", why, false));
        }
        let _ = stream.write_all(&[DONE]);
        Ok(domid)
    }

    /// The receiver's half of the hand-over: the name, then the vCPUs.
    fn take_over(&self, domid: Domid, name: &str) -> Result<()> {
        #[cfg(feature = "xen-host")]
        if HANDOVER_FAULT.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::InvalidArgument {
                what: "hand-over",
                reason: "a fault injected by a test (HANDOVER_FAULT)".into(),
            });
        }
        self.rename(domid, name).and_then(|()| self.unpause(domid))
    }

    /// Live-migrates a domain to this same host (as `xl migrate DOM
    /// localhost`): both halves run here over a socket pair. The domain
    /// keeps its name and UUID and gets a new domid, which is returned.
    /// Needs free memory for a second copy while the migration runs.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?;
    /// let domid = ctx.domid_by_name("web")?;
    /// let moved = ctx.migrate_local(domid)?;
    /// assert_ne!(moved, domid);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn migrate_local(&self, domid: Domid) -> Result<Domid> {
        let (mut tx, mut rx) = UnixStream::pair().map_err(|source| Error::Io {
            op: "socketpair for a local migration".into(),
            source,
        })?;
        std::thread::scope(|s| {
            let receiver = s.spawn(move || self.migrate_receive(&mut rx));
            let sent = self.migrate_send(domid, &mut tx);
            drop(tx);
            let received = receiver.join().unwrap_or_else(|_| {
                Err(failed(
                    "?",
                    "receiving",
                    "the receiving thread panicked",
                    false,
                ))
            });
            sent.and(received)
        })
    }

    /// Replicates a running domain to a backup with Remus (or COLO, with
    /// `info.colo`), as `xl remus` does (`libxl_domain_remus_start`): libxl
    /// checkpoints the domain every `info.interval` ms into `send` until
    /// replication stops, and this call returns only then. `send` and
    /// `recv` are the stream to a backup that restores a checkpointed
    /// stream (xl's `migrate-receive -r`, reached by the caller with xl's
    /// migration preamble: this crate's [`Context::migrate_receive`] does
    /// not take one), or, with `info.blackhole` and `info.allow_unsafe`,
    /// `send` alone may be `/dev/null` (`xl remus -b`). `info.colo` unset
    /// means Remus, as in xl.
    ///
    /// `Ok(())` when replication stopped because the primary domain was
    /// destroyed (to fail over to the backup). Otherwise the backup or the
    /// checkpointing failed: the primary is resumed if libxl left it
    /// suspended, as xl does, and the error is [`Error::Migration`] with
    /// stage `"replicating"` (`resumed` says whether it runs).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let domid = ctx.domid_by_name("web")?;
    /// let info = xenlight::types::DomainRemusInfo {
    ///     interval: 200,
    ///     blackhole: Some(true),
    ///     allow_unsafe: Some(true),
    ///     netbuf: Some(false),
    ///     diskbuf: Some(false),
    ///     ..Default::default()
    /// };
    /// let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    /// ctx.remus(domid, &info, &null, None)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[doc(alias = "libxl_domain_remus_start")]
    pub fn remus(
        &self,
        domid: Domid,
        info: &crate::types::DomainRemusInfo,
        send: impl AsFd,
        recv: Option<BorrowedFd<'_>>,
    ) -> Result<()> {
        use crate::types::IdlType;
        if domid.is_dom0() {
            return Err(Error::Domain0Refused { op: "remus" });
        }
        let name = self.domain_name(domid)?.unwrap_or_default();
        let mut info = info.clone();
        // libxl wants it set ("Colo mode must be enabled/disabled"); xl
        // sets it from its -c option.
        info.colo.get_or_insert(false);
        let mut raw = info.to_libxl()?;
        // SAFETY: a valid libxl_domain_remus_info we own; libxl writes only
        // its defbools (libxl_defbool_setdefault) and reads the rest until
        // the synchronous call (NULL ao_how) returns. Both fds outlive it.
        let replicated = try_call!(
            self,
            On::Domain(domid),
            unsafe libxl_domain_remus_start(raw.as_mut_ptr(), domid.get(), send.as_fd().as_raw_fd(), recv.map_or(-1, |f| f.as_raw_fd()), ptr::null())
        );
        // xl: a primary that is gone was destroyed to fail over.
        if !self.domain_exists(domid)? {
            return Ok(());
        }
        let reason = match replicated {
            Err(e) => e.to_string(),
            Ok(()) => "libxl stopped replicating".to_owned(),
        };
        Err(self.failed_after_suspend(domid, &name, "replicating", reason))
    }

    /// The error for a send that failed once libxl had started: the domain
    /// is resumed if libxl left it suspended (as xl's suspend_cancel: the
    /// guest continues where it was); if it does not run, the reason says
    /// why.
    fn failed_after_suspend(
        &self,
        domid: Domid,
        name: &str,
        stage: &'static str,
        reason: String,
    ) -> Error {
        match self.resume_if_suspended(domid) {
            None => failed(name, stage, reason, true),
            Some(why) => failed(name, stage, format!("{reason}; {why}"), false),
        }
    }

    /// Resumes a domain left suspended; `None` when it runs, else why not.
    /// A failed resume is tried again while the domain stays suspended
    /// (a few times, a quarter second apart): a resume that did take
    /// effect leaves it running, so the domain is never resumed twice.
    pub(crate) fn resume_if_suspended(&self, domid: Domid) -> Option<String> {
        let mut failure = None;
        for attempt in 0..4 {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            match self.domain_info(domid).map(|i| i.state) {
                Ok(DomainState::Shutdown(ShutdownReason::Suspend)) => match self.resume(domid) {
                    Ok(()) => return None,
                    Err(e) => failure = Some(format!("resuming it failed: {e}")),
                },
                Ok(state @ (DomainState::Shutdown(_) | DomainState::Dying)) => {
                    return Some(failure.unwrap_or(format!("it is {state:?}, not suspended")))
                }
                Ok(_) => return None,
                Err(e) => return Some(format!("its state could not be read: {e}")),
            }
        }
        failure
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_errors_say_where_the_domain_runs() {
        let e = failed("web", "sending", "the receiver closed the stream", true);
        assert_eq!(
            e.to_string(),
            "migration of web failed while sending: the receiver closed the stream (the domain runs on at the sender)"
        );
    }
}
