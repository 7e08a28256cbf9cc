//! Creating domains, and waiting for them to shut down (libxl's events).

use std::ffi::{c_char, c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use xenlight_sys as sys;

use crate::config::{DomainConfig, RawDomainConfig};
use crate::context::Context;
use crate::domain::{Domid, ShutdownReason, Uuid};
use crate::error::{DomainRef, Error, Result};

/// Hooks registered on every ctx: all events stay queued for the waiter that
/// asks for them (mask 0), and an event-machinery disaster is logged instead
/// of libxl calling exit(). Must outlive the ctx: a `static`.
pub(crate) static EVENT_HOOKS: sys::libxl_event_hooks = sys::libxl_event_hooks {
    event_occurs_mask: 0,
    event_occurs: None,
    disaster: Some(disaster),
};

/// libxl's "the event machinery is broken" callback. Never unwinds.
unsafe extern "C" fn disaster(
    _user: *mut c_void,
    _type: sys::libxl_event_type,
    msg: *const c_char,
    errnoval: c_int,
) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: libxl passes a NUL-terminated message or NULL.
        let m = unsafe { crate::util::opt_string(msg) }.unwrap_or_default();
        log::error!(target: crate::LOG_TARGET, "libxl event machinery failed: {m} (errno {errnoval})");
    });
}

/// Distinguishes this crate's death watches from each other and from any
/// other code's events on the same ctx.
static NEXT_WATCH: AtomicU64 = AtomicU64::new(0x7865_6e00_0000_0000);

/// What the waiter's predicate matches.
struct Want {
    domid: Domid,
    for_user: u64,
}

/// Matches only this waiter's own events, so other watchers' events stay
/// queued for them.
unsafe extern "C" fn is_mine(ev: *const sys::libxl_event, user: *mut c_void) -> c_int {
    std::panic::catch_unwind(|| {
        // SAFETY: libxl passes a valid event; `user` is the &Want given to
        // libxl_event_check below, alive for that call.
        let (ev, want) = unsafe { (&*ev, &*(user as *const Want)) };
        c_int::from(ev.domid == want.domid && ev.for_user == want.for_user)
    })
    .unwrap_or(0)
}

/// An enabled domain-death watch, disabled on drop.
struct DeathWatch<'a> {
    ctx: &'a Context,
    evgen: *mut sys::libxl_evgen_domain_death,
}

impl Drop for DeathWatch<'_> {
    fn drop(&mut self) {
        // SAFETY: evgen came from libxl_evenable_domain_death on this ctx and
        // is disabled once.
        self.ctx
            .call(|c| unsafe { sys::libxl_evdisable_domain_death(c, self.evgen) });
    }
}

/// A queued event taken from libxl, freed on drop.
struct Event<'a> {
    ctx: &'a Context,
    ev: *mut sys::libxl_event,
}

impl Drop for Event<'_> {
    fn drop(&mut self) {
        // SAFETY: returned by libxl_event_check, freed once.
        unsafe { sys::libxl_event_free(self.ctx.as_raw(), self.ev) }
    }
}

impl Context {
    /// Creates a domain and starts it (`libxl_domain_create_new`, then
    /// `libxl_domain_unpause`: libxl leaves new domains paused). Returns the
    /// new domain's id.
    ///
    /// If anything fails half-way, whatever libxl created is destroyed
    /// before the error is returned.
    ///
    /// ```no_run
    /// use xenlight::{Context, DomainConfig, DomainType};
    /// let ctx = Context::new()?;
    /// let cfg = DomainConfig::new("web", DomainType::Pvh)
    ///     .memory_mib(256)
    ///     .kernel("/srv/guests/vmlinuz")
    ///     .cmdline("console=hvc0");
    /// let domid = ctx.create_domain(&cfg)?;
    /// println!("started domain {domid}");
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_create_new")]
    pub fn create_domain(&self, cfg: &DomainConfig) -> Result<Domid> {
        self.start_raw(&mut cfg.to_raw()?)
    }

    /// Creates and unpauses a domain from a libxl config; a domain that
    /// cannot be started is destroyed.
    pub(crate) fn start_raw(&self, raw: &mut RawDomainConfig) -> Result<Domid> {
        let domid = self.create_raw_paused(raw)?;
        if let Err(e) = self.unpause(domid) {
            let _ = self.destroy(domid);
            return Err(e);
        }
        Ok(domid)
    }

    /// Creates a domain and leaves it paused (as `xl create -p`); start it
    /// with [`Context::unpause`].
    #[doc(alias = "libxl_domain_create_new")]
    pub fn create_domain_paused(&self, cfg: &DomainConfig) -> Result<Domid> {
        self.create_raw_paused(&mut cfg.to_raw()?)
    }

    /// Creates a paused domain from a libxl config; on failure, destroys
    /// whatever of it libxl left behind.
    pub(crate) fn create_raw_paused(&self, raw: &mut RawDomainConfig) -> Result<Domid> {
        let uuid = Uuid::from_bytes(raw.c_info.uuid.uuid);
        let before: Vec<Domid> = self.domains()?.iter().map(|d| d.domid).collect();
        let mut domid: Domid = u32::MAX;
        let rc = self.call(|c| {
            // SAFETY: ctx and config valid; NULL ao_how makes the call
            // synchronous; domid is a valid out-pointer.
            unsafe {
                sys::libxl_domain_create_new(
                    c,
                    raw.as_mut_ptr(),
                    &mut domid,
                    ptr::null(),
                    ptr::null(),
                )
            }
        });
        if rc == 0 {
            return Ok(domid);
        }
        // SAFETY: name is NULL or a string owned by `raw`.
        let name = unsafe { crate::util::opt_string(raw.c_info.name) }.unwrap_or_default();
        let err = Error::from_libxl(rc, "libxl_domain_create_new", Some(DomainRef::Name(name)));
        // libxl normally cleans up after itself; make sure nothing of ours is
        // left (only domains that are new and carry our UUID).
        if let Ok(now) = self.domains() {
            for d in now
                .iter()
                .filter(|d| d.uuid == uuid && !before.contains(&d.domid))
            {
                let _ = self.destroy(d.domid);
            }
        }
        Err(err)
    }

    /// Waits until the domain shuts down and returns why (poweroff, reboot,
    /// crash, ...), using libxl's domain-death events
    /// (`libxl_evenable_domain_death`). The domain is left as it is:
    /// destroying it (or acting on its `on_*` setting) is up to the caller.
    ///
    /// A domain that is destroyed instead of shutting down gives
    /// [`Error::DomainNotFound`]; running out of time gives [`Error::Timeout`].
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = 1;
    /// let reason = ctx.wait_for_shutdown(domid, std::time::Duration::from_secs(60))?;
    /// println!("domain {domid} shut down: {reason}");
    /// ctx.destroy(domid)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_evenable_domain_death")]
    pub fn wait_for_shutdown(&self, domid: Domid, timeout: Duration) -> Result<ShutdownReason> {
        let info = self.domain_info(domid)?;
        if let Some(reason) = info.shutdown_reason {
            return Ok(reason);
        }
        let want = Want {
            domid,
            for_user: NEXT_WATCH.fetch_add(1, Ordering::Relaxed),
        };
        let mut evgen: *mut sys::libxl_evgen_domain_death = ptr::null_mut();
        let rc = self.call(|c| {
            // SAFETY: ctx valid; evgen a valid out-pointer.
            unsafe { sys::libxl_evenable_domain_death(c, domid, want.for_user, &mut evgen) }
        });
        crate::error::check(rc, "libxl_evenable_domain_death", Some(domid))?;
        let _watch = DeathWatch { ctx: self, evgen };
        let start = Instant::now();
        loop {
            if let Some(ev) = self.poll_event(&want, Duration::from_millis(200))? {
                // SAFETY: ev.ev is a valid event until dropped.
                let e = unsafe { &*ev.ev };
                if e.type_ == sys::libxl_event_type_LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN {
                    // SAFETY: the union arm for DOMAIN_SHUTDOWN events.
                    let r = unsafe { e.u.domain_shutdown.shutdown_reason };
                    return Ok(ShutdownReason::from_raw(i32::from(r)));
                }
                if e.type_ == sys::libxl_event_type_LIBXL_EVENT_TYPE_DOMAIN_DEATH {
                    return Err(Error::DomainNotFound {
                        op: "wait_for_shutdown (destroyed before it shut down)",
                        domain: DomainRef::Id(domid),
                        message: None,
                    });
                }
            }
            if start.elapsed() >= timeout {
                return Err(Error::Timeout {
                    op: "wait_for_shutdown",
                    domain: Some(DomainRef::Id(domid)),
                    after: timeout,
                });
            }
        }
    }

    /// Lets libxl see its file descriptors for up to `slice`, then takes the
    /// first queued event that is `want`'s, if any.
    fn poll_event(&self, want: &Want, slice: Duration) -> Result<Option<Event<'_>>> {
        let mut fds: Vec<libc::pollfd> = vec![
            libc::pollfd {
                fd: -1,
                events: 0,
                revents: 0
            };
            16
        ];
        let mut timeout_ms = c_int::try_from(slice.as_millis()).unwrap_or(c_int::MAX);
        let now = now_timeval();
        let mut nfds;
        loop {
            nfds = fds.len() as c_int;
            let rc = self.call(|c| {
                // SAFETY: fds has room for nfds entries; libxl writes at most
                // that many (or asks for more with ERROR_BUFFERFULL).
                unsafe {
                    sys::libxl_osevent_beforepoll(
                        c,
                        &mut nfds,
                        fds.as_mut_ptr().cast(),
                        &mut timeout_ms,
                        now,
                    )
                }
            });
            if rc == sys::libxl_error_ERROR_BUFFERFULL {
                fds.resize(
                    nfds as usize + 8,
                    libc::pollfd {
                        fd: -1,
                        events: 0,
                        revents: 0,
                    },
                );
                continue;
            }
            crate::error::check(rc, "libxl_osevent_beforepoll", None)?;
            break;
        }
        let wait = timeout_ms.clamp(0, c_int::try_from(slice.as_millis()).unwrap_or(c_int::MAX));
        // SAFETY: fds holds nfds valid entries.
        let _ = unsafe { libc::poll(fds.as_mut_ptr(), nfds as libc::nfds_t, wait) };
        let now = now_timeval();
        self.call(|c| {
            // SAFETY: the same fds array and count given to beforepoll.
            unsafe { sys::libxl_osevent_afterpoll(c, nfds, fds.as_ptr().cast(), now) }
        });
        let mut ev: *mut sys::libxl_event = ptr::null_mut();
        let rc = self.call(|c| {
            // SAFETY: ev a valid out-pointer; the predicate's user pointer is
            // `want`, alive for this call.
            unsafe {
                sys::libxl_event_check(
                    c,
                    &mut ev,
                    u64::MAX,
                    Some(is_mine),
                    want as *const Want as *mut c_void,
                )
            }
        });
        if rc == 0 && !ev.is_null() {
            Ok(Some(Event { ctx: self, ev }))
        } else {
            Ok(None)
        }
    }
}

fn now_timeval() -> sys::timeval {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    sys::timeval {
        tv_sec: d.as_secs() as _,
        tv_usec: d.subsec_micros() as _,
    }
}
