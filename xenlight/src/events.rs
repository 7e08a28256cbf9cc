//! Waiting for domains through libxl's events: a domain-death watch per
//! wait, a predicate so a waiter only takes its own events, and one polling
//! thread at a time per ctx (libxl_event.h: "it is not possible to have
//! multiple threads simultaneously polling").
// bindgen gives each C enum the integer type the platform's C compiler
// picks (int or unsigned), so the casts to i32 are not always no-ops.
#![allow(clippy::unnecessary_cast)]

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use xenlight_sys as sys;

use crate::context::Context;
use crate::enums::ShutdownReason;
use crate::error::{DomainRef, Error, ErrorKind, Result};
use crate::ids::{Domid, Uuid};
use crate::info::DomainState;
use crate::raw::alloc::opt_string;
use crate::raw::lock;
use crate::raw::waker::Waker;
use crate::raw::xenstore::XenstoreWatch;
use crate::raw::{raw_call, try_call, On};

/// Distinguishes this crate's death watches from each other and from any
/// other code's events on the same ctx.
static NEXT_WATCH: AtomicU64 = AtomicU64::new(0x7865_6e00_0000_0000);

/// The longest one poll cycle waits when nothing wakes it. Another
/// thread's turn at the poll lock and a cancellation end a poll at once
/// (the context's waker), and a stream's xenstore watch is in the poll;
/// this bounds only what a wakeup nobody foresaw could delay.
const SLICE: Duration = Duration::from_secs(1);

/// A stream's poll while it holds a shut-down domain, which may be resumed
/// without any xenstore write it watches: it looks at the list this often.
const SHUT_SLICE: Duration = Duration::from_millis(100);

/// A handle that stops a wait from another thread.
///
/// ```no_run
/// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
/// let cancel = xenlight::Cancel::new();
/// let c = cancel.clone();
/// std::thread::spawn(move || { std::thread::sleep(std::time::Duration::from_secs(5)); c.cancel() });
/// let r = ctx.wait_for_shutdown_cancellable(domid, std::time::Duration::from_secs(600), &cancel);
/// assert!(matches!(r, Err(xenlight::Error::Cancelled { .. })) || r.is_ok());
/// # Ok::<(), xenlight::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<CancelState>);

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    /// The wakers of the contexts whose waits were given this handle.
    wakers: std::sync::Mutex<Vec<Weak<Waker>>>,
}

impl Cancel {
    /// A handle not yet cancelled.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Stops every wait given this handle: a wait that is polling ends
    /// its poll at once.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        for w in lock(&self.0.wakers).iter().filter_map(Weak::upgrade) {
            w.wake();
        }
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Makes [`cancel`](Self::cancel) wake `ctx`'s polls. Called before a
    /// wait first checks [`is_cancelled`](Self::is_cancelled), so a cancel
    /// between that check and the poll still ends the poll.
    pub(crate) fn wakes(&self, ctx: &Context) {
        let w = ctx.waker();
        let mut ws = lock(&self.0.wakers);
        ws.retain(|x| x.strong_count() > 0);
        if !ws.iter().any(|x| std::ptr::eq(x.as_ptr(), Arc::as_ptr(w))) {
            ws.push(Arc::downgrade(w));
        }
    }
}

/// A hypervisor-test hook (feature `xen-host`), not API: run by
/// [`Context::wait_for_shutdown`] between enabling its watch and looking
/// at the domain, so a test can make the domain shut down exactly there.
#[cfg(feature = "xen-host")]
#[doc(hidden)]
pub static WAIT_HOOK: std::sync::Mutex<Option<fn(Domid)>> = std::sync::Mutex::new(None);

/// What the waiter's predicate matches.
struct Want {
    domid: Domid,
    /// Every domain's events with this `for_user` (an event stream).
    any_domain: bool,
    for_user: u64,
    /// Also the events whose `for_user` is a key here (a stream's eject
    /// watches, one `for_user` each); NULL for none.
    also: *const EjectUsers,
}

/// A stream's eject watches by their `for_user`: the domain and drive
/// (libxl 4.17's eject events do not name the drive).
type EjectUsers = std::collections::HashMap<u64, (Domid, String)>;

/// Matches only this waiter's own events, so other watchers' events stay
/// queued for them.
unsafe extern "C" fn is_mine(ev: *const sys::libxl_event, user: *mut c_void) -> c_int {
    std::panic::catch_unwind(|| {
        // SAFETY: libxl passes a valid event; `user` is the &Want given to
        // libxl_event_check below, alive for that call.
        let (ev, want) = unsafe { (&*ev, &*(user as *const Want)) };
        // SAFETY: `also` is NULL or points at the stream's map, which the
        // stream borrows for the whole libxl_event_check call.
        let also = unsafe { want.also.as_ref() }.is_some_and(|m| m.contains_key(&ev.for_user));
        c_int::from(
            (want.any_domain || ev.domid == want.domid.get())
                && (ev.for_user == want.for_user || also),
        )
    })
    .unwrap_or(0)
}

/// An enabled libxl event generator (a domain-death watch, or a disk-eject
/// watch on one CD-ROM drive): disabled on drop, and then its events still
/// queued in libxl are taken and freed, so none outlive it.
struct EvWatch<'a, G> {
    ctx: &'a Context,
    evgen: *mut G,
    /// Its own events.
    want: Want,
    /// `libxl_evdisable_domain_death` or `libxl_evdisable_disk_eject`.
    disable: unsafe extern "C" fn(*mut sys::libxl_ctx, *mut G),
}

impl<G> Drop for EvWatch<'_, G> {
    fn drop(&mut self) {
        // SAFETY: evgen came from the matching libxl_evenable_* on this ctx
        // and is disabled once.
        unsafe { (self.disable)(self.ctx.as_raw(), self.evgen) };
        while let Ok(Some(_ev)) = self.ctx.take_event(&self.want) {}
    }
}

type DeathWatch<'a> = EvWatch<'a, sys::libxl_evgen_domain_death>;
type EjectWatch<'a> = EvWatch<'a, sys::libxl_evgen_disk_eject>;

/// What a [`DomainEvents`] stream watches of one domain. The eject
/// watches go first, then the death watch, which drains the domain's
/// queued events.
struct Watch<'a> {
    _ejects: Vec<EjectWatch<'a>>,
    _death: DeathWatch<'a>,
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
    /// Waits until the domain shuts down and returns why (poweroff, reboot,
    /// crash, ...), using libxl's domain-death events
    /// (`libxl_evenable_domain_death`). The domain is left as it is:
    /// destroying it (or acting on its `on_*` setting) is up to the caller.
    /// Any number of threads may wait on one `Context` at once.
    ///
    /// A domain that is destroyed instead of shutting down gives
    /// [`Error::DomainNotFound`]; running out of time gives
    /// [`Error::Timeout`] (a zero timeout only looks once).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// let reason = ctx.wait_for_shutdown(domid, std::time::Duration::from_secs(60))?;
    /// println!("domain {domid} shut down: {reason}");
    /// ctx.destroy(domid)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_evenable_domain_death")]
    #[doc(alias = "libxl_event_wait")]
    pub fn wait_for_shutdown(&self, domid: Domid, timeout: Duration) -> Result<ShutdownReason> {
        self.wait_for_shutdown_cancellable(domid, timeout, &Cancel::new())
    }

    /// [`wait_for_shutdown`](Self::wait_for_shutdown) that another thread
    /// can stop with [`Cancel::cancel`]: then it returns
    /// [`Error::Cancelled`].
    #[doc(alias = "libxl_evenable_domain_death")]
    pub fn wait_for_shutdown_cancellable(
        &self,
        domid: Domid,
        timeout: Duration,
        cancel: &Cancel,
    ) -> Result<ShutdownReason> {
        cancel.wakes(self);
        let start = Instant::now();
        let want = Want {
            domid,
            any_domain: false,
            for_user: NEXT_WATCH.fetch_add(1, Ordering::Relaxed),
            also: ptr::null(),
        };
        let mut evgen: *mut sys::libxl_evgen_domain_death = ptr::null_mut();
        // The watch first, then the check: a shutdown in between is in the
        // domain's state, one after is an event.
        // SAFETY: evgen is a valid out-pointer.
        try_call!(
            self,
            On::Domain(domid),
            unsafe libxl_evenable_domain_death(domid.get(), want.for_user, &mut evgen)
        )?;
        let watch = DeathWatch {
            ctx: self,
            evgen,
            want,
            disable: sys::libxl_evdisable_domain_death,
        };
        #[cfg(feature = "xen-host")]
        if let Some(hook) = *lock(&WAIT_HOOK) {
            hook(domid);
        }
        if let Some(reason) = self.domain_info(domid)?.shutdown_reason {
            return Ok(reason);
        }
        loop {
            if let Some(ev) = self.take_event(&watch.want)? {
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
                        domain: Some(DomainRef::Id(domid)),
                        message: None,
                    });
                }
                continue;
            }
            if cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    op: "wait_for_shutdown",
                    domain: Some(DomainRef::Id(domid)),
                });
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(Error::Timeout {
                    op: "wait_for_shutdown",
                    domain: Some(DomainRef::Id(domid)),
                    after: timeout,
                });
            }
            self.poll_once(left.min(SLICE))?;
        }
    }

    /// Takes the first queued event that is `want`'s, if any.
    fn take_event(&self, want: &Want) -> Result<Option<Event<'_>>> {
        let mut ev: *mut sys::libxl_event = ptr::null_mut();
        // SAFETY: ev is a valid out-pointer; the predicate's user pointer
        // is `want`, alive for this call.
        let checked = try_call!(
            self,
            On::Host,
            unsafe libxl_event_check(&mut ev, u64::MAX, Some(is_mine), want as *const Want as *mut c_void)
        );
        match checked {
            Ok(()) if !ev.is_null() => Ok(Some(Event { ctx: self, ev })),
            Ok(()) => Ok(None),
            // "Nothing of yours is queued": not an error.
            Err(e) if e.kind() == Some(ErrorKind::NotReady) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One cycle of libxl's poll loop, for up to `slice`, under the poll
    /// lock: libxl sees its file descriptors and timeouts and queues the
    /// events they produce (for whichever waiter they are).
    pub(crate) fn poll_once(&self, slice: Duration) -> Result<()> {
        self.poll_once_with(slice, None)
    }

    /// [`poll_once`](Self::poll_once) that also ends when `extra` (a
    /// caller's own fd, e.g. a xenstore watch's) becomes readable.
    pub(crate) fn poll_once_with(
        &self,
        slice: Duration,
        extra: Option<std::os::fd::RawFd>,
    ) -> Result<()> {
        let _polling = self.poll_lock();
        let mut fds: Vec<libc::pollfd> = vec![
            libc::pollfd {
                fd: -1,
                events: 0,
                revents: 0
            };
            16
        ];
        let slice_ms = c_int::try_from(slice.as_millis()).unwrap_or(c_int::MAX);
        let mut timeout_ms = slice_ms;
        let now = now_timeval();
        let mut nfds;
        loop {
            nfds = fds.len() as c_int;
            // SAFETY: fds has room for nfds entries; libxl writes at most
            // that many (or asks for more with ERROR_BUFFERFULL).
            let polled = try_call!(
                self,
                On::Host,
                unsafe libxl_osevent_beforepoll(&mut nfds, fds.as_mut_ptr().cast(), &mut timeout_ms, now)
            );
            if polled.as_ref().err().and_then(Error::kind) == Some(ErrorKind::BufferFull) {
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
            polled?;
            break;
        }
        let wait = timeout_ms.clamp(0, slice_ms);
        // After libxl's entries: the waker, then the caller's fd.
        let ours = nfds as usize;
        fds.truncate(ours);
        for fd in std::iter::once(self.waker().fd()).chain(extra) {
            fds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // SAFETY: fds holds fds.len() valid entries.
        let _ = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait) };
        if fds[ours].revents != 0 {
            self.waker().drain();
        }
        let now = now_timeval();
        // SAFETY: the same fds array and count given to beforepoll.
        let _ = raw_call!(self, unsafe libxl_osevent_afterpoll(nfds, fds.as_ptr().cast(), now));
        Ok(())
    }
}

/// What happened to a domain, as an [`DomainEvents`] stream reports it,
/// with the domain's name and UUID as the stream last saw them (it looks
/// at the domain list before it reads each event, and keeps a dying
/// domain's last name, so a death names the domain that died, after a
/// rename too).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DomainEvent {
    /// The domain shut down (it still exists until destroyed).
    Shutdown {
        /// The domain.
        domid: Domid,
        /// Its name (`None` if it had none).
        name: Option<String>,
        /// Its UUID.
        uuid: Uuid,
        /// Why: poweroff, reboot, crash, suspend, ...
        reason: ShutdownReason,
    },
    /// The domain is gone (destroyed).
    Death {
        /// The domain.
        domid: Domid,
        /// Its name (`None` if it had none).
        name: Option<String>,
        /// Its UUID.
        uuid: Uuid,
    },
    /// The medium of one of the domain's CD-ROM drives was ejected (the
    /// guest asked for it; the device model writes the eject request
    /// libxl watches).
    DiskEject {
        /// The domain.
        domid: Domid,
        /// Its name (`None` if it had none).
        name: Option<String>,
        /// Its UUID.
        uuid: Uuid,
        /// The drive, as in its config (`hdc`, `xvdc`, ...).
        vdev: String,
    },
}

impl DomainEvent {
    /// The domain the event is about.
    ///
    /// ```
    /// use xenlight::{DomainEvent, Domid, Uuid};
    /// let d = Domid::new(3)?;
    /// let ev = DomainEvent::Death { domid: d, name: Some("web".into()), uuid: Uuid::default() };
    /// assert_eq!((ev.domid(), ev.name()), (d, Some("web")));
    /// # Ok::<(), xenlight::InvalidDomid>(())
    /// ```
    pub fn domid(&self) -> Domid {
        self.who().0
    }

    /// The domain's name when the event was read.
    pub fn name(&self) -> Option<&str> {
        self.who().1.as_deref()
    }

    /// The domain's UUID.
    pub fn uuid(&self) -> Uuid {
        *self.who().2
    }

    fn who(&self) -> (Domid, &Option<String>, &Uuid) {
        match self {
            DomainEvent::Shutdown {
                domid, name, uuid, ..
            }
            | DomainEvent::Death { domid, name, uuid }
            | DomainEvent::DiskEject {
                domid, name, uuid, ..
            } => (*domid, name, uuid),
        }
    }
}

/// One stream of shutdown, death and CD-ROM eject events for every domain
/// of the host (`libxl_evenable_domain_death` on each, and
/// `libxl_evenable_disk_eject` on each CD-ROM drive a domain has when it is
/// first watched), from [`Context::domain_events`].
/// Domains that appear later are watched from the next call on: the
/// stream keeps xenstore watches of its own on `@introduceDomain`,
/// `@releaseDomain` and `/vm` (which libxl writes when it makes, renames
/// or destroys a domain) and reads Xen's domain list (one
/// `libxl_list_domain`, no xenstore reads) only when one of them fired or
/// a shut-down domain may run again; a domain's name is read when it is
/// first seen and when its `/vm/<uuid>/name` is written. An idle stream
/// over any number of domains reads nothing. A domain
/// already shut down when it is first watched is reported at once. Each
/// shutdown and each death is reported once, in order for each domain; a
/// domain that runs again after a shutdown (resumed after a suspend) is
/// watched anew, so its next shutdown is reported too. libxl reports only
/// the death of a domain that is already dying when it looks, so a domain
/// destroyed within moments of its shutdown (before this stream polled)
/// can be reported dead without its shutdown. `AsyncContext` (feature
/// `tokio`) answers its waits only after its streams have the shutdown,
/// which rules that out for its callers.
///
/// ```no_run
/// use std::time::Duration;
/// let ctx = xenlight::Context::new()?;
/// let mut events = ctx.domain_events()?;
/// while let Some(ev) = events.next_event(Duration::from_secs(60))? {
///     println!("{ev:?}");
/// }
/// # Ok::<(), xenlight::Error>(())
/// ```
pub struct DomainEvents<'a> {
    ctx: &'a Context,
    for_user: u64,
    watches: std::collections::HashMap<Domid, Watch<'a>>,
    /// Domains whose shutdown was reported (libxl reports one per watch):
    /// when one runs again (resumed after a suspend), its watch is made
    /// anew so that its next shutdown is reported too.
    shut: std::collections::HashSet<Domid>,
    /// The eject watches' `for_user` values (see [`EjectUsers`]).
    eject_users: EjectUsers,
    /// Domains whose death was reported but which are still listed:
    /// libxl reports a death when the domain starts dying, and watching it
    /// again would report it again.
    dead: std::collections::HashSet<Domid>,
    /// Each domain's name and UUID at the last look at the list, kept
    /// until its death is reported: what its events are named by.
    known: std::collections::HashMap<Domid, (Option<String>, Uuid)>,
    /// The watches that say when to look at the list again; `None` if
    /// xenstore refused them: then the stream looks at every turn.
    changes: Option<XenstoreWatch>,
    /// Whether the list has been looked at: the first look does not wait
    /// for the watches' first firing (xenstored may not have sent it yet).
    looked: bool,
}

// SAFETY: libxl.h, "libxl memory management": "From the point of view of the
// application (ie, libxl's caller), struct libxl_ctx* is threadsafe". The
// stream holds only `&Context` (Sync) and evgen handles of that ctx, which
// libxl_evdisable_domain_death takes from any thread under the ctx lock;
// the stream is used by one thread at a time (`&mut self`).
unsafe impl Send for DomainEvents<'_> {}

impl std::fmt::Debug for DomainEvents<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainEvents")
            .field("watched", &self.watches.len())
            .finish()
    }
}

/// Whose names a look at the list reads.
enum Names {
    /// Every domain's (the stream has no xenstore watch).
    All,
    /// New domains' and those whose `/vm/<uuid>/name` was written.
    Of(Vec<Uuid>),
}

impl<'a> DomainEvents<'a> {
    /// Watches every domain (but Domain-0) not watched yet, if anything
    /// may have changed since the last look.
    fn refresh(&mut self) -> Result<()> {
        let (changed, named) = match &self.changes {
            Some(w) => {
                let f = w.fired();
                (f.any, Names::Of(f.named))
            }
            None => (true, Names::All),
        };
        // A shut-down domain may be resumed without a xenstore write.
        if self.looked && !changed && self.shut.is_empty() {
            return Ok(());
        }
        self.looked = true;
        let domains = self.ctx.domains_unnamed()?;
        // A domid that left the list may come back as a new domain.
        self.dead
            .retain(|id| domains.iter().any(|d| d.domid == *id));
        // A dying domain has lost its name in xenstore (and an event may
        // be read after that): it keeps the last one seen, as does a
        // domain gone from the list while its watch may still report its
        // death. A domid reused by a new domain (another UUID) starts
        // afresh.
        let watches = &self.watches;
        self.known
            .retain(|id, _| watches.contains_key(id) || domains.iter().any(|d| d.domid == *id));
        for d in &domains {
            let mut fresh = false;
            let known = self.known.entry(d.domid).or_insert_with(|| {
                fresh = true;
                (None, d.uuid)
            });
            if known.1 != d.uuid {
                *known = (None, d.uuid);
                fresh = true;
            }
            // A domain seen before libxl wrote its name is read again
            // when the write fires.
            let read = match &named {
                Names::All => true,
                Names::Of(uuids) => fresh || uuids.contains(&d.uuid),
            };
            if read {
                if let Ok(Some(name)) = self.ctx.domain_name(d.domid) {
                    known.0 = Some(name);
                }
            }
        }
        for d in domains {
            let resumed = !matches!(d.state, DomainState::Shutdown(_) | DomainState::Dying);
            if resumed && self.shut.remove(&d.domid) {
                self.unwatch(d.domid);
            }
            if d.domid.is_dom0()
                || self.watches.contains_key(&d.domid)
                || self.dead.contains(&d.domid)
            {
                continue;
            }
            let mut evgen: *mut sys::libxl_evgen_domain_death = ptr::null_mut();
            // SAFETY: evgen is a valid out-pointer.
            let enabled = try_call!(
                self.ctx,
                On::Domain(d.domid),
                unsafe libxl_evenable_domain_death(d.domid.get(), self.for_user, &mut evgen)
            );
            match enabled {
                Ok(()) => {
                    let death = DeathWatch {
                        ctx: self.ctx,
                        evgen,
                        want: Want {
                            domid: d.domid,
                            any_domain: false,
                            for_user: self.for_user,
                            also: ptr::null(),
                        },
                        disable: sys::libxl_evdisable_domain_death,
                    };
                    let ejects = self.watch_ejects(d.domid);
                    self.watches.insert(
                        d.domid,
                        Watch {
                            _ejects: ejects,
                            _death: death,
                        },
                    );
                }
                // Gone between the listing and the watch: nothing to report.
                Err(e) if e.is_domain_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Drops a domain's watches (which drains their queued events).
    fn unwatch(&mut self, domid: Domid) {
        self.watches.remove(&domid);
        self.eject_users.retain(|_, (d, _)| *d != domid);
    }

    /// Eject watches on the domain's CD-ROM drives. A domain whose disks
    /// cannot be listed (dying) gets none.
    fn watch_ejects(&mut self, domid: Domid) -> Vec<EjectWatch<'a>> {
        let mut ejects = Vec::new();
        for disk in self.ctx.disks(domid).unwrap_or_default() {
            if !disk.cdrom {
                continue;
            }
            let Ok(vdev) = std::ffi::CString::new(disk.vdev.clone()) else {
                continue;
            };
            let mut evgen: *mut sys::libxl_evgen_disk_eject = ptr::null_mut();
            let user = NEXT_WATCH.fetch_add(1, Ordering::Relaxed);
            // SAFETY: vdev is NUL-terminated (libxl copies it); evgen is a
            // valid out-pointer.
            let enabled = try_call!(
                self.ctx,
                On::Domain(domid),
                unsafe libxl_evenable_disk_eject(domid.get(), vdev.as_ptr(), user, &mut evgen)
            );
            if enabled.is_ok() {
                self.eject_users.insert(user, (domid, disk.vdev.clone()));
                ejects.push(EjectWatch {
                    ctx: self.ctx,
                    evgen,
                    want: Want {
                        domid,
                        any_domain: false,
                        for_user: user,
                        also: ptr::null(),
                    },
                    disable: sys::libxl_evdisable_disk_eject,
                });
            }
        }
        ejects
    }

    /// The next event, waiting up to `timeout`; `None` when none came.
    /// libxl's `libxl_event_check` under the context's poll loop stands
    /// for xl's blocking `libxl_event_wait`; each event is freed
    /// (`libxl_event_free`) once read, and a watch is disabled
    /// (`libxl_evdisable_domain_death`, `libxl_evdisable_disk_eject`) once
    /// its domain is dead or the stream is dropped.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let mut events = ctx.domain_events()?;
    /// if let Some(ev) = events.next_event(std::time::Duration::from_secs(5))? {
    ///     println!("{ev:?}");
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_event_wait")]
    #[doc(alias = "libxl_event_check")]
    #[doc(alias = "libxl_event_free")]
    #[doc(alias = "libxl_evdisable_domain_death")]
    #[doc(alias = "libxl_evdisable_disk_eject")]
    pub fn next_event(&mut self, timeout: Duration) -> Result<Option<DomainEvent>> {
        self.next_event_cancellable(timeout, &Cancel::new())
    }

    /// [`next_event`](Self::next_event) that [`Cancel::cancel`] stops
    /// ([`Error::Cancelled`]).
    pub fn next_event_cancellable(
        &mut self,
        timeout: Duration,
        cancel: &Cancel,
    ) -> Result<Option<DomainEvent>> {
        cancel.wakes(self.ctx);
        let start = Instant::now();
        let any = Want {
            domid: Domid::from_libxl(0),
            any_domain: true,
            for_user: self.for_user,
            also: &self.eject_users,
        };
        loop {
            self.refresh()?;
            if let Some(ev) = self.ctx.take_event(&any)? {
                // SAFETY: ev.ev is a valid event until dropped.
                let e = unsafe { &*ev.ev };
                let domid = Domid::from_libxl(e.domid);
                let (name, uuid) = self.known.get(&domid).cloned().unwrap_or_default();
                if e.type_ == sys::libxl_event_type_LIBXL_EVENT_TYPE_DOMAIN_SHUTDOWN {
                    // SAFETY: the union arm for DOMAIN_SHUTDOWN events.
                    let r = unsafe { e.u.domain_shutdown.shutdown_reason };
                    self.shut.insert(domid);
                    return Ok(Some(DomainEvent::Shutdown {
                        domid,
                        name,
                        uuid,
                        reason: ShutdownReason::from_raw(i32::from(r)),
                    }));
                }
                if e.type_ == sys::libxl_event_type_LIBXL_EVENT_TYPE_DISK_EJECT {
                    // libxl names the drive in the event's disk (its header
                    // speaks of `vdev`, which it leaves NULL), but 4.17 reads
                    // the name from a node that does not exist: then it is
                    // the drive the watch was made for.
                    // SAFETY: the union arm for DISK_EJECT events; both
                    // fields are NULL or strings the event owns.
                    let named = unsafe {
                        opt_string(e.u.disk_eject.disk.vdev)
                            .or_else(|| opt_string(e.u.disk_eject.vdev))
                    }
                    .filter(|v| !v.is_empty());
                    let vdev = named
                        .or_else(|| self.eject_users.get(&e.for_user).map(|(_, v)| v.clone()))
                        .unwrap_or_default();
                    return Ok(Some(DomainEvent::DiskEject {
                        domid,
                        name,
                        uuid,
                        vdev,
                    }));
                }
                if e.type_ == sys::libxl_event_type_LIBXL_EVENT_TYPE_DOMAIN_DEATH {
                    // libxl reports a death once; the watch is done.
                    self.unwatch(domid);
                    self.shut.remove(&domid);
                    self.dead.insert(domid);
                    self.known.remove(&domid);
                    return Ok(Some(DomainEvent::Death { domid, name, uuid }));
                }
                continue;
            }
            if cancel.is_cancelled() {
                return Err(Error::Cancelled {
                    op: "domain events",
                    domain: None,
                });
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Ok(None);
            }
            let slice = if self.shut.is_empty() {
                SLICE
            } else {
                SHUT_SLICE
            };
            let watch = self.changes.as_ref().and_then(XenstoreWatch::fd);
            self.ctx.poll_once_with(left.min(slice), watch)?;
        }
    }
}

impl Context {
    /// A stream of shutdown and death events for every domain; see
    /// [`DomainEvents`].
    #[doc(alias = "libxl_evenable_domain_death")]
    #[doc(alias = "libxl_evenable_disk_eject")]
    pub fn domain_events(&self) -> Result<DomainEvents<'_>> {
        let mut s = DomainEvents {
            ctx: self,
            for_user: NEXT_WATCH.fetch_add(1, Ordering::Relaxed),
            watches: std::collections::HashMap::new(),
            dead: std::collections::HashSet::new(),
            shut: std::collections::HashSet::new(),
            known: std::collections::HashMap::new(),
            eject_users: EjectUsers::new(),
            changes: XenstoreWatch::open(),
            looked: false,
        };
        s.refresh()?;
        Ok(s)
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
