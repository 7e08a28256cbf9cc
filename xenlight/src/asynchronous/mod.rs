//! The async API (feature `tokio`): libxl's long operations as libxl
//! asynchronous operations whose completion callback wakes a future, one
//! event thread per context that drives libxl's event loop and reads every
//! domain's shutdown and death, and SIGCHLD forwarded from the runtime.
//!
//! Why a thread: libxl runs an asynchronous operation's callback from
//! inside its own event processing (libxl.h, "Some libxl operations can
//! take a long time"), so some thread must keep polling libxl while any
//! operation is outstanding, and libxl_event.h allows one polling thread
//! per ctx. That thread is also the one event machinery the waits and the
//! event streams share.

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::future::Future;
use std::os::unix::io::AsRawFd;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use xenlight_sys as sys;

use crate::config::DomainConfig;
use crate::context::{ChildMode, Context};
use crate::convert::RawConfig;
use crate::enums::ShutdownReason;
use crate::error::{DomainRef, Error, Result};
use crate::events::{Cancel, DomainEvent};
use crate::ids::{Domid, Uuid};
use crate::info::DomainState;
use crate::raw::call::check;
use crate::raw::lock;
use crate::raw::On;

mod creation;
mod ops;
mod resources;
pub use creation::{Cancelled, Creation};

/// How long the event thread waits in one poll when nothing happens: a
/// new libxl operation (libxl wakes its poller), a dropped future (the
/// context's waker), the stream's xenstore watch and a stop (its cancel)
/// each end a poll at once, so this bounds only a wakeup nobody foresaw.
const IDLE_SLICE: Duration = Duration::from_secs(1);

/// A libxl context for async programs (tokio).
///
/// Made with [`AsyncContext::new`] inside a tokio runtime; cheap to clone
/// (clones share one libxl ctx and one event thread). Long operations
/// return futures: creation and destruction run as libxl asynchronous
/// operations, waits and the event stream are fed by the context's event
/// thread. Dropping a future before it completes asks libxl to abort the
/// operation (`libxl_ao_abort`); libxl then cleans up as on any failure
/// (a half-made domain is destroyed).
///
/// **SIGCHLD**: the runtime owns it. The context is made in libxl's
/// `libxl_sigchld_owner_mainloop` mode and a task forwards every SIGCHLD
/// to libxl (`libxl_childproc_sigchld_occurred`), which reaps only its own
/// children, so `tokio::process` and libxl's hotplug scripts and helpers
/// live side by side. libxl requires all contexts of a process to share
/// one mode: a program using `AsyncContext` cannot also use
/// [`Context::new`] (that gives a typed error, not an abort). Use the
/// sync API of [`AsyncContext::context`] from blocking threads only: a sync
/// call whose child process exits needs a runtime worker to forward the
/// signal.
///
/// ```no_run
/// # async fn f() -> xenlight::Result<()> {
/// use std::time::Duration;
/// use xenlight::{AsyncContext, DomainConfig, DomainType};
///
/// let ctx = AsyncContext::new()?;
/// let cfg = DomainConfig::new("web", DomainType::Pvh)
///     .memory_mib(256)
///     .kernel("/boot/vmlinuz");
/// let domid = ctx.create_domain(&cfg).await?;
/// let why = ctx.shutdown_and_wait(domid, Duration::from_secs(60)).await?;
/// println!("web stopped: {why}");
/// ctx.destroy(domid).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AsyncContext {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for AsyncContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncContext")
            .field("ctx", &self.handle.shared.ctx)
            .finish()
    }
}

/// The users' side: when the last clone goes, the event thread is told to
/// stop (it ends once no operation is outstanding) and frees the ctx.
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.cancel.cancel();
    }
}

/// What the event thread, the futures and libxl's callbacks share.
struct Shared {
    ctx: Context,
    /// Asynchronous operations started and not yet completed.
    outstanding: AtomicUsize,
    stop: AtomicBool,
    /// Cancels the event thread's current wait (on stop).
    cancel: Cancel,
    /// Waits for a domain's shutdown, and the shutdowns reported so far.
    shutdowns: Mutex<Shutdowns>,
    /// Event streams.
    subscribers: Mutex<Vec<mpsc::UnboundedSender<DomainEvent>>>,
    /// Creations whose future was dropped before they completed: when
    /// they complete (aborted or not), the event thread destroys whatever
    /// domain they made.
    orphans: Mutex<Vec<Arc<AoSlot>>>,
}

impl AsyncContext {
    /// Allocates a libxl context whose children the runtime's SIGCHLD
    /// reaps, starts its event thread, and the task that forwards SIGCHLD.
    /// Must be called inside a tokio runtime with signals enabled
    /// (`enable_all`).
    ///
    /// Errors: [`Error::NotDom0`] off a dom0; [`Error::NoRuntime`]
    /// outside a tokio runtime (or one without its drivers);
    /// [`Error::ContextModeConflict`] when a [`Context::new`] context is
    /// alive in the process; [`Error::Io`] when
    /// the runtime cannot deliver SIGCHLD.
    ///
    /// ```no_run
    /// # async fn f() -> xenlight::Result<()> {
    /// let ctx = xenlight::AsyncContext::new()?;
    /// println!("{} domains", ctx.context().domains()?.len());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_childproc_setmode")]
    pub fn new() -> Result<Self> {
        let no_runtime = || Error::NoRuntime;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(no_runtime());
        }
        // tokio panics instead of failing when its signal driver is off.
        let mut sigchld = std::panic::catch_unwind(|| {
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())
        })
        .map_err(|_| no_runtime())?
        .map_err(|source| Error::Io {
            op: "listening for SIGCHLD in the tokio runtime".into(),
            source,
        })?;
        let shared = Arc::new(Shared {
            ctx: Context::with_child_mode(ChildMode::Forwarded)?,
            outstanding: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            cancel: Cancel::new(),
            shutdowns: Mutex::new(Shutdowns::default()),
            subscribers: Mutex::new(Vec::new()),
            orphans: Mutex::new(Vec::new()),
        });
        let weak: Weak<Shared> = Arc::downgrade(&shared);
        tokio::spawn(async move {
            while sigchld.recv().await.is_some() {
                let Some(shared) = weak.upgrade() else { break };
                // SAFETY: the ctx is alive (we hold it) and in mainloop
                // mode; this is a task, not a signal handler, as libxl
                // requires.
                unsafe { sys::libxl_childproc_sigchld_occurred(shared.ctx.as_raw()) };
            }
        });
        let for_thread = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("xenlight-events".into())
            .spawn(move || event_thread(for_thread))
            .map_err(|source| Error::Io {
                op: "starting the xenlight event thread".into(),
                source,
            })?;
        Ok(AsyncContext {
            handle: Arc::new(Handle { shared }),
        })
    }

    /// The sync API on the same libxl ctx (listing, info, devices, ...).
    /// Call what may run child processes (creation, hotplug) from a
    /// blocking thread, e.g. `tokio::task::spawn_blocking`.
    pub fn context(&self) -> &Context {
        &self.handle.shared.ctx
    }

    /// Creates a domain as a libxl asynchronous operation
    /// (`libxl_domain_create_new`) and starts it; see
    /// [`Context::create_domain`] for the checks and memory admission,
    /// which run on a blocking thread (ballooning dom0 can take seconds).
    /// On failure, or when the future is dropped before the end, nothing of
    /// the domain is left.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, cfg: xenlight::DomainConfig) -> xenlight::Result<()> {
    /// let domid = ctx.create_domain(&cfg).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_create_new")]
    pub async fn create_domain(&self, cfg: &DomainConfig) -> Result<Domid> {
        let domid = self.create_domain_paused(cfg).await?;
        self.start_created(domid).await
    }

    /// Lets a domain just created paused run; one that cannot run is
    /// destroyed, so a failed create leaves nothing.
    pub(super) async fn start_created(&self, domid: Domid) -> Result<Domid> {
        if let Err(e) = self.context().unpause(domid) {
            let _ = self.destroy(domid).await;
            return Err(e);
        }
        Ok(domid)
    }

    /// [`create_domain`](Self::create_domain), leaving the domain paused:
    /// attach to its console ([`Context::console`]) before
    /// [`Context::unpause`] to read it from the first byte.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, cfg: xenlight::DomainConfig) -> xenlight::Result<()> {
    /// let domid = ctx.create_domain_paused(&cfg).await?;
    /// let console = ctx.context().console(domid, xenlight::ConsoleKind::Primary)?;
    /// ctx.context().unpause(domid)?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_create_new")]
    pub async fn create_domain_paused(&self, cfg: &DomainConfig) -> Result<Domid> {
        self.create_paused(cfg, None).await
    }

    /// [`create_domain_paused`](Self::create_domain_paused) that sends the
    /// new domid on `console_ready` as soon as the domain's console pty
    /// exists, while libxl is still setting the domain up (libxl's
    /// `DOMAIN_CREATE_CONSOLE_AVAILABLE` progress report): a client can
    /// attach before the guest writes its first byte. Nothing is sent if
    /// the creation fails first.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, cfg: xenlight::DomainConfig) -> xenlight::Result<()> {
    /// let (tx, rx) = tokio::sync::oneshot::channel();
    /// let (created, attached) = tokio::join!(ctx.create_domain_paused_with_console(&cfg, tx), async {
    ///     let domid = rx.await.ok()?;
    ///     ctx.context().console(domid, xenlight::ConsoleKind::Primary).ok()
    /// });
    /// let domid = created?;
    /// ctx.context().unpause(domid)?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_asyncprogress_how")]
    pub async fn create_domain_paused_with_console(
        &self,
        cfg: &DomainConfig,
        console_ready: oneshot::Sender<Domid>,
    ) -> Result<Domid> {
        self.create_paused(cfg, Some(console_ready)).await
    }

    async fn create_paused(
        &self,
        cfg: &DomainConfig,
        console_ready: Option<oneshot::Sender<Domid>>,
    ) -> Result<Domid> {
        let raw = SendConfig(self.handle.shared.ctx.host_sized_raw(cfg)?);
        self.create_raw_paused(raw, cfg.name().to_owned(), console_ready, None)
            .await
    }

    /// Creates (or, with `restore`, restores) the domain `raw` describes,
    /// paused, as a libxl asynchronous operation, after admission; a
    /// failed one leaves no domain with its UUID behind.
    async fn create_raw_paused(
        &self,
        raw: SendConfig,
        name: String,
        console_ready: Option<oneshot::Sender<Domid>>,
        restore: Option<RestoreFrom>,
    ) -> Result<Domid> {
        self.create_raw_paused_abortable(raw, name, console_ready, restore, None)
            .await
            .0
    }

    /// [`create_raw_paused`](Self::create_raw_paused) that `abort` (when
    /// it fires; a dropped sender is no abort) asks libxl to abort, and
    /// that still waits for libxl's completion and the clean-up after it.
    /// Also returns the domid libxl gave the domain, if it got that far.
    async fn create_raw_paused_abortable(
        &self,
        raw: SendConfig,
        name: String,
        console_ready: Option<oneshot::Sender<Domid>>,
        restore: Option<RestoreFrom>,
        mut abort: Option<oneshot::Receiver<()>>,
    ) -> (Result<Domid>, Option<Domid>) {
        let shared = Arc::clone(&self.handle.shared);
        let uuid = Uuid::from_bytes(raw.c_info.uuid.uuid);
        let op_name = if restore.is_some() {
            "libxl_domain_create_restore"
        } else {
            "libxl_domain_create_new"
        };
        let admitted = name.clone();
        let before: Vec<Domid> = match shared.ctx.domains() {
            Ok(list) => list.iter().map(|d| d.domid).collect(),
            Err(e) => return (Err(e), None),
        };
        // Admission may balloon dom0 and wait for it: not on a runtime worker.
        // The admission lock is held until libxl's create has finished.
        let admission = tokio::task::spawn_blocking(move || {
            let admission = crate::memory::AdmissionLock::acquire();
            shared
                .ctx
                .admit(&raw.0, &admitted)
                .map(|()| (shared, raw, admission))
        })
        .await
        .map_err(|e| Error::InvalidArgument {
            what: "admission task",
            reason: e.to_string(),
        });
        let (shared, raw, _admission) = match admission {
            Ok(Ok(a)) => a,
            Ok(Err(e)) | Err(e) => return (Err(e), None),
        };
        if let Some(rx) = abort.as_mut() {
            if rx.try_recv().is_ok() {
                // Cancelled while admitted: libxl was never asked.
                return (Err(cancelled(op_name, &name)), None);
            }
        }
        let op = start_create(
            &shared,
            CreateData {
                cfg: raw,
                domid: u32::MAX,
                console: ConsoleNotify(Mutex::new(console_ready)),
                restore,
            },
        );
        let done = match abort {
            None => op.await,
            Some(rx) => {
                let mut op = op;
                // A dropped sender is no abort: then only the operation ends it.
                let asked = async {
                    if rx.await.is_err() {
                        std::future::pending::<()>().await;
                    }
                };
                let mut asked = std::pin::pin!(asked);
                let mut aborted = false;
                std::future::poll_fn(|cx| {
                    if !aborted && asked.as_mut().poll(cx).is_ready() {
                        op.abort();
                        aborted = true;
                    }
                    Pin::new(&mut op).poll(cx)
                })
                .await
            }
        };
        let domid = done
            .data
            .as_ref()
            .and_then(|d| d.downcast_ref::<CreateData>())
            .map_or(u32::MAX, |d| d.domid);
        let made = (domid != u32::MAX).then(|| Domid::from_libxl(domid));
        match done.check(&shared, op_name, On::Named(&name)) {
            Ok(()) => (Ok(Domid::from_libxl(domid)), made),
            Err(err) => {
                // As the sync path: only new domains with the config's UUID.
                if let Ok(now) = shared.ctx.domains() {
                    for d in now
                        .iter()
                        .filter(|d| d.uuid == uuid && !before.contains(&d.domid))
                    {
                        let _ = self.destroy(d.domid).await;
                    }
                }
                (Err(err), made)
            }
        }
    }

    /// Destroys a domain as a libxl asynchronous operation
    /// (`libxl_domain_destroy`); Domain-0 is refused, as by
    /// [`Context::destroy`].
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// ctx.destroy(domid).await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_destroy")]
    pub async fn destroy(&self, domid: Domid) -> Result<()> {
        if domid.is_dom0() {
            return Err(Error::Domain0Refused {
                op: "libxl_domain_destroy",
            });
        }
        let shared = &self.handle.shared;
        let done = start_destroy(shared, domid).await;
        done.check(shared, "libxl_domain_destroy", On::Domain(domid))
    }

    /// Waits until the domain shuts down and returns why; a domain already
    /// shut down answers at once. `None` after `timeout`.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// if let Some(why) = ctx.wait_for_shutdown(domid, std::time::Duration::from_secs(60)).await? {
    ///     println!("{why}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait_for_shutdown(
        &self,
        domid: Domid,
        timeout: Duration,
    ) -> Result<Option<ShutdownReason>> {
        let shared = &self.handle.shared;
        let (tx, rx) = oneshot::channel();
        // The answer comes from the event thread only, after it has told
        // the event streams: a caller that destroys the domain at once
        // cannot make a stream see its death without its shutdown. A
        // shutdown reported before this wait began is remembered.
        let seen = lock(&shared.shutdowns).recorded;
        let info = shared.ctx.domain_info(domid);
        #[cfg(feature = "xen-host")]
        if let Some(hook) = *lock(&ASYNC_WAIT_HOOK) {
            hook(domid);
        }
        let running = matches!(&info, Ok(i) if !matches!(i.state, DomainState::Shutdown(_)));
        let already = {
            let mut s = lock(&shared.shutdowns);
            // A "running" read before a shutdown the event thread has
            // recorded since is stale: that shutdown is the answer.
            if running && s.recorded == seen {
                // Resumed since (suspend and resume): the next shutdown
                // counts, and the stream re-arms its watch for it.
                s.reported.remove(&domid);
            }
            let r = s.reported.get(&domid).copied();
            if r.is_none() {
                s.waiting.entry(domid).or_default().push(tx);
            }
            r
        };
        let result = match (info, already) {
            (Err(e), _) => Err(e),
            (Ok(_), Some(r)) => Ok(Some(r)),
            (Ok(_), None) => match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(r)) => Ok(Some(r)),
                // The domain died without a shutdown the thread saw.
                Ok(Err(_)) => Err(Error::DomainNotFound {
                    op: "wait_for_shutdown",
                    domain: Some(DomainRef::Id(domid)),
                    message: Some("the domain was destroyed without shutting down".into()),
                }),
                Err(_) => Ok(None),
            },
        };
        // Leave no closed senders behind for this domain.
        if let Some(v) = lock(&shared.shutdowns).waiting.get_mut(&domid) {
            v.retain(|s| !s.is_closed());
        }
        result
    }

    /// Asks the guest to shut down (`libxl_domain_shutdown`, as
    /// [`Context::shutdown`]) and waits for it; `Error::Timeout` after
    /// `timeout`.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, domid: xenlight::Domid) -> xenlight::Result<()> {
    /// let why = ctx.shutdown_and_wait(domid, std::time::Duration::from_secs(60)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn shutdown_and_wait(
        &self,
        domid: Domid,
        timeout: Duration,
    ) -> Result<ShutdownReason> {
        self.shutdown(domid).await?;
        self.wait_for_shutdown(domid, timeout)
            .await?
            .ok_or(Error::Timeout {
                op: "shutdown",
                domain: Some(DomainRef::Id(domid)),
                after: timeout,
            })
    }

    /// Every domain's shutdowns, deaths and CD-ROM ejects from now on, as a
    /// `futures::Stream` (see [`DomainEvents`](crate::DomainEvents) for
    /// what is reported).
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext) {
    /// let mut events = ctx.domain_events();
    /// while let Some(ev) = events.recv().await {
    ///     println!("{ev:?}");
    /// }
    /// # }
    /// ```
    pub fn domain_events(&self) -> DomainEventStream {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.handle.shared.subscribers).push(tx);
        DomainEventStream {
            rx,
            _handle: Arc::clone(&self.handle),
        }
    }
}

/// Shutdown, death and CD-ROM eject events of every domain, from
/// [`AsyncContext::domain_events`]: a `futures_core::Stream`, or read
/// with [`recv`](Self::recv).
pub struct DomainEventStream {
    rx: mpsc::UnboundedReceiver<DomainEvent>,
    /// Keeps the context (and its event thread) alive.
    _handle: Arc<Handle>,
}

impl std::fmt::Debug for DomainEventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainEventStream").finish_non_exhaustive()
    }
}

impl DomainEventStream {
    /// The next event; `None` once the context's event thread has ended.
    ///
    /// ```no_run
    /// # async fn f(mut events: xenlight::DomainEventStream) {
    /// if let Some(ev) = events.recv().await {
    ///     println!("{ev:?}");
    /// }
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Option<DomainEvent> {
        self.rx.recv().await
    }
}

impl futures_core::Stream for DomainEventStream {
    type Item = DomainEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<DomainEvent>> {
        self.rx.poll_recv(cx)
    }
}

/// The one thread that polls libxl for this context: it reads every
/// domain's events (dispatching them to waits and streams) and, by
/// polling, lets libxl run the completion callbacks of asynchronous
/// operations. It ends when the last handle is gone and no operation is
/// outstanding, and then frees the ctx (outside any libxl callback).
fn event_thread(shared: Arc<Shared>) {
    let mut destroys: Vec<AoFuture> = Vec::new();
    {
        let ctx = &shared.ctx;
        let mut events = match ctx.domain_events() {
            Ok(e) => Some(e),
            Err(e) => {
                log::error!(target: crate::logger::LOG_TARGET, "xenlight event thread: {e}");
                None
            }
        };
        loop {
            // libxl's lines from here on belong to what completes in this
            // cycle (taken by its callback).
            crate::logger::clear_last_error();
            // Children libxl started may have ended without the runtime's
            // SIGCHLD reaching us (the runtime shut down first): check.
            // SAFETY: the ctx is alive and in mainloop mode; not a signal
            // handler.
            unsafe { sys::libxl_childproc_sigchld_occurred(ctx.as_raw()) };
            reap_orphans(&shared, &mut destroys);
            if shared.stop.load(Ordering::SeqCst) {
                // The streams end; operations still running need polling.
                lock(&shared.subscribers).clear();
                *lock(&shared.shutdowns) = Shutdowns::default();
                if shared.outstanding.load(Ordering::SeqCst) == 0 {
                    break;
                }
                let _ = ctx.poll_once(IDLE_SLICE);
                continue;
            }
            let next = match events.as_mut() {
                Some(ev) => ev.next_event_cancellable(IDLE_SLICE, &shared.cancel),
                None => ctx.poll_once(IDLE_SLICE).map(|()| None),
            };
            match next {
                Ok(Some(ev)) => dispatch(&shared, ev),
                Ok(None) | Err(Error::Cancelled { .. }) => {}
                Err(e) => {
                    log::warn!(target: crate::logger::LOG_TARGET, "xenlight event thread: {e}");
                    std::thread::sleep(IDLE_SLICE);
                }
            }
        }
        drop(events);
    }
    drop(destroys);
    drop(shared);
}

/// The shutdown waits of a context and what they are answered from.
#[derive(Default)]
struct Shutdowns {
    /// Waits, by domain.
    waiting: HashMap<Domid, Vec<oneshot::Sender<ShutdownReason>>>,
    /// Shutdowns reported for domains not dead yet.
    reported: HashMap<Domid, ShutdownReason>,
    /// How many shutdowns have been recorded, so a wait can tell whether
    /// its own look at the domain is older than one.
    recorded: u64,
}

/// For the hypervisor tests: called by `wait_for_shutdown` between its
/// look at the domain and its registration, so a test can make the
/// domain shut down exactly there.
#[cfg(feature = "xen-host")]
#[doc(hidden)]
pub static ASYNC_WAIT_HOOK: Mutex<Option<fn(Domid)>> = Mutex::new(None);

/// Hands an event to the streams, then to the waits (so a wait's caller
/// acts on a domain only after every stream has its event).
fn dispatch(shared: &Shared, ev: DomainEvent) {
    lock(&shared.subscribers).retain(|tx| tx.send(ev.clone()).is_ok());
    let mut s = lock(&shared.shutdowns);
    match ev {
        DomainEvent::Shutdown { domid, reason, .. } => {
            s.reported.insert(domid, reason);
            s.recorded += 1;
            for tx in s.waiting.remove(&domid).unwrap_or_default() {
                let _ = tx.send(reason);
            }
        }
        DomainEvent::Death { domid, .. } => {
            // Waits for a domain that died without a shutdown end (their
            // senders drop: DomainNotFound).
            s.reported.remove(&domid);
            s.waiting.remove(&domid);
        }
        _ => {}
    }
}

/// The error of a creation cancelled before libxl was asked.
fn cancelled(op: &'static str, name: &str) -> Error {
    Error::Cancelled {
        op,
        domain: Some(DomainRef::Name(name.to_owned())),
    }
}

/// Starts `libxl_domain_create_new` (or, for a restore,
/// `libxl_domain_create_restore`) on `data` (a plain function: the raw
/// pointers stay out of the async caller's state, which must be `Send`).
fn start_create(shared: &Arc<Shared>, data: CreateData) -> AoFuture {
    // Boxed first: libxl keeps these addresses, and moving a box does not
    // move what it holds.
    let mut data = Box::new(data);
    let cfg_ptr = data.cfg.0.as_mut_ptr();
    let domid_ptr: *mut u32 = &mut data.domid;
    let console = if lock(&data.console.0).is_some() {
        Some(sys::libxl_asyncprogress_how {
            callback: Some(console_available),
            for_event: 0,
            for_callback: ptr::from_ref(&data.console).cast_mut().cast(),
        })
    } else {
        None
    };
    let restore = data
        .restore
        .as_ref()
        .map(|r| (r.file.as_raw_fd(), r.params.as_ptr()));
    AoFuture::start(shared, data, |ctx, how| {
        let console = console.as_ref().map_or(ptr::null(), ptr::from_ref);
        // SAFETY: the config, the domid cell, the console notifier and a
        // restore's file and parameters are in the box the slot owns until
        // the operation has completed (and libxl reports progress before
        // completion); `how` and `console` are valid for the call (libxl
        // copies them).
        unsafe {
            match restore {
                None => sys::libxl_domain_create_new(ctx, cfg_ptr, domid_ptr, how, console),
                Some((fd, params)) => sys::libxl_domain_create_restore(
                    ctx, cfg_ptr, domid_ptr, fd, -1, params, how, console,
                ),
            }
        }
    })
}

/// Starts `libxl_domain_destroy` as an asynchronous operation.
fn start_destroy(shared: &Arc<Shared>, domid: Domid) -> AoFuture {
    let raw_domid = domid.get();
    AoFuture::start(shared, Box::new(()), |ctx, how| {
        // SAFETY: plain arguments; `how` is valid for the call.
        unsafe { sys::libxl_domain_destroy(ctx, raw_domid, how) }
    })
}

/// Destroys what the orphaned creations that have completed made (libxl
/// destroys a domain whose creation fails, but a creation may finish
/// despite the abort), and forgets the destructions that have ended.
fn reap_orphans(shared: &Arc<Shared>, destroys: &mut Vec<AoFuture>) {
    let done: Vec<Arc<AoSlot>> = {
        let mut orphans = lock(&shared.orphans);
        let (done, running) = orphans.drain(..).partition(|s| lock(&s.state).rc.is_some());
        *orphans = running;
        done
    };
    for slot in done {
        let data = lock(&slot.state).data.take();
        let Some(c) = data.and_then(|d| d.downcast::<CreateData>().ok()) else {
            continue;
        };
        let uuid = Uuid::from_bytes(c.cfg.c_info.uuid.uuid);
        let domid = Domid::from_libxl(c.domid);
        // Only the domain this creation made, if it is still there.
        let made =
            c.domid != u32::MAX && shared.ctx.domain_info(domid).is_ok_and(|i| i.uuid == uuid);
        if made {
            destroys.push(start_destroy(shared, domid));
        }
    }
    destroys.retain(|f| lock(&f.slot.state).rc.is_none());
}

/// Where a create's console-available report goes.
struct ConsoleNotify(Mutex<Option<oneshot::Sender<Domid>>>);

/// libxl's progress callback for `DOMAIN_CREATE_CONSOLE_AVAILABLE`.
unsafe extern "C" fn console_available(
    ctx: *mut sys::libxl_ctx,
    ev: *mut sys::libxl_event,
    for_callback: *mut c_void,
) {
    // Never unwind into libxl.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: libxl hands over a valid event, ours to free (libxl.h:
        // "the callback is responsible for freeing the event").
        let domid = unsafe { ev.as_ref() }.map(|e| e.domid);
        if !ev.is_null() {
            // SAFETY: as above; freed once.
            unsafe { sys::libxl_event_free(ctx, ev) };
        }
        // SAFETY: for_callback is the ConsoleNotify in the create's boxed
        // data, alive until the create completes; libxl reports progress
        // before then.
        let notify = unsafe { &*(for_callback as *const ConsoleNotify) };
        if let (Some(tx), Some(d)) = (lock(&notify.0).take(), domid) {
            let _ = tx.send(Domid::from_libxl(d));
        }
    });
}

/// A libxl config handed to an asynchronous create, with the domid cell
/// libxl writes: both must outlive the operation (libxl.h: "All other
/// parameters must remain valid for the lifetime of the asynchronous
/// operation").
struct CreateData {
    cfg: SendConfig,
    domid: u32,
    console: ConsoleNotify,
    /// For a restore: where the stream is, and libxl's parameters.
    restore: Option<RestoreFrom>,
}

/// A restore's stream (a save file, at its offset) and parameters.
struct RestoreFrom {
    file: std::fs::File,
    params: crate::raw::Owned<sys::libxl_domain_restore_params>,
}

// SAFETY: a File and a plain-integer libxl struct (its _dispose frees
// nothing), owned by this value and used by one thread at a time: the
// caller, then libxl during the operation.
unsafe impl Send for RestoreFrom {}

/// An owned libxl config moved between threads.
struct SendConfig(RawConfig);

// SAFETY: the config is plain heap data owned by this value (freed by its
// Drop with libxl_domain_config_dispose, which needs no ctx); it is used
// by one thread at a time: the caller, then libxl during the operation.
unsafe impl Send for SendConfig {}

impl std::ops::Deref for SendConfig {
    type Target = RawConfig;
    fn deref(&self) -> &RawConfig {
        &self.0
    }
}

/// What an operation's completion callback and its future share. Owned by
/// an `Arc` one reference of which libxl holds (`for_callback`) from a
/// successful start until the callback.
struct AoSlot {
    state: Mutex<AoState>,
    /// The counter of the context's outstanding operations.
    shared: Weak<Shared>,
}

struct AoState {
    rc: Option<c_int>,
    /// libxl's error lines logged on the thread that completed it.
    message: Option<String>,
    waker: Option<Waker>,
    /// What libxl reads and writes during the operation.
    data: Option<Box<dyn std::any::Any + Send>>,
}

/// libxl's completion callback for every asynchronous operation.
unsafe extern "C" fn ao_complete(_ctx: *mut sys::libxl_ctx, rc: c_int, for_callback: *mut c_void) {
    // Never unwind into libxl.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: for_callback is the Arc::into_raw of AoFuture::start,
        // and libxl calls this once per successfully started operation.
        let slot = unsafe { Arc::from_raw(for_callback as *const AoSlot) };
        let waker = {
            let mut st = lock(&slot.state);
            st.rc = Some(rc);
            if rc != 0 {
                st.message = crate::logger::take_last_error();
            }
            st.waker.take()
        };
        if let Some(s) = slot.shared.upgrade() {
            s.outstanding.fetch_sub(1, Ordering::SeqCst);
        }
        if let Some(w) = waker {
            w.wake();
        }
    });
}

/// A started libxl asynchronous operation. Resolves to libxl's rc and the
/// data given to [`AoFuture::start`]; dropped early, it asks libxl to abort.
struct AoFuture {
    slot: Arc<AoSlot>,
    shared: Arc<Shared>,
    finished: bool,
}

impl AoFuture {
    /// Starts `call` with an `ao_how` whose callback completes this future.
    /// A start that fails resolves at once with the start's rc.
    fn start(
        shared: &Arc<Shared>,
        data: Box<dyn std::any::Any + Send>,
        call: impl FnOnce(*mut sys::libxl_ctx, *const sys::libxl_asyncop_how) -> c_int,
    ) -> AoFuture {
        let slot = Arc::new(AoSlot {
            state: Mutex::new(AoState {
                rc: None,
                message: None,
                waker: None,
                data: Some(data),
            }),
            shared: Arc::downgrade(shared),
        });
        let for_callback = Arc::into_raw(Arc::clone(&slot)) as *mut c_void;
        let how = how(for_callback);
        shared.outstanding.fetch_add(1, Ordering::SeqCst);
        crate::logger::clear_last_error();
        let rc = call(shared.ctx.as_raw(), &how);
        if rc != 0 {
            // Not started: libxl will not call back; take its reference.
            shared.outstanding.fetch_sub(1, Ordering::SeqCst);
            // SAFETY: the reference made above, not handed to libxl.
            drop(unsafe { Arc::from_raw(for_callback as *const AoSlot) });
            let mut st = lock(&slot.state);
            st.rc = Some(rc);
            st.message = crate::logger::take_last_error();
        }
        AoFuture {
            slot,
            shared: Arc::clone(shared),
            finished: false,
        }
    }
}

fn how(for_callback: *mut c_void) -> sys::libxl_asyncop_how {
    sys::libxl_asyncop_how {
        callback: Some(ao_complete),
        u: sys::libxl_asyncop_how__bindgen_ty_1 { for_callback },
    }
}

/// What a finished operation gives back.
struct AoDone {
    rc: c_int,
    /// libxl's error lines for it (see [`AoState::message`]).
    message: Option<String>,
    /// The data given to [`AoFuture::start`].
    data: Option<Box<dyn std::any::Any + Send>>,
}

impl AoDone {
    /// The operation's result as this crate's error, with libxl's lines.
    fn check(&self, shared: &Shared, op: &'static str, on: On<'_>) -> Result<()> {
        crate::logger::put_last_error(self.message.clone());
        check(shared.ctx.as_raw(), self.rc, op, on)
    }
}

impl Future for AoFuture {
    type Output = AoDone;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<AoDone> {
        let mut st = lock(&self.slot.state);
        if let Some(rc) = st.rc {
            let done = AoDone {
                rc,
                message: st.message.take(),
                data: st.data.take(),
            };
            drop(st);
            self.finished = true;
            return Poll::Ready(done);
        }
        st.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for AoFuture {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        {
            let st = lock(&self.slot.state);
            if st.data.as_ref().is_some_and(|d| d.is::<CreateData>()) {
                // Whatever the outcome, the event thread cleans up after it.
                lock(&self.shared.orphans).push(Arc::clone(&self.slot));
                // The event thread reaps it at once, not after its poll.
                self.shared.ctx.waker().wake();
            }
        }
        self.abort();
    }
}

impl AoFuture {
    /// Asks libxl to abort the operation (`libxl_ao_abort`) unless it has
    /// completed; libxl still completes it (with `ERROR_ABORTED`, or as it
    /// would have, if it was past the point of no return), so the future
    /// resolves as before.
    fn abort(&self) {
        if self.finished || lock(&self.slot.state).rc.is_some() {
            return;
        }
        let how = how(Arc::as_ptr(&self.slot) as *mut c_void);
        // SAFETY: `how` names the operation this future started (libxl
        // matches callback and for_callback); the ctx is alive (we hold
        // it). libxl still calls back, freeing the slot's data then.
        let _ = unsafe { sys::libxl_ao_abort(self.shared.ctx.as_raw(), &how) };
    }
}
