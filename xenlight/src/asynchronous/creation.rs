//! A domain creation a program can cancel, and await the end of the
//! cancellation: [`Creation`], from [`AsyncContext::start_create`].

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{AsyncContext, SendConfig};
use crate::config::DomainConfig;
use crate::error::{Error, Result};
use crate::ids::Domid;

/// A domain being created as a libxl asynchronous operation, on a task of
/// its own ([`AsyncContext::start_create`]). Await it with
/// [`finish`](Self::finish), or stop it with [`cancel`](Self::cancel),
/// which resolves once libxl has finished or aborted and whatever was
/// half-made is gone. Dropped unfinished, it is cancelled without waiting
/// (its task still cleans up).
///
/// ```no_run
/// # async fn f(ctx: xenlight::AsyncContext, cfg: xenlight::DomainConfig) -> xenlight::Result<()> {
/// let creation = ctx.start_create(&cfg)?;
/// match creation.cancel().await? {
///     xenlight::Cancelled::Completed { domid } => println!("too late: {domid} runs"),
///     other => println!("nothing left: {other:?}"),
/// }
/// # Ok(()) }
/// ```
#[must_use = "a Creation dropped unfinished is cancelled"]
pub struct Creation {
    task: Option<JoinHandle<(Result<Domid>, Option<Domid>)>>,
    abort: Option<oneshot::Sender<()>>,
    ctx: AsyncContext,
}

/// What a [`Creation::cancel`] found.
///
/// ```
/// let c = xenlight::Cancelled::BeforeDomain;
/// assert_eq!(c.domain_left(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cancelled {
    /// Stopped before libxl gave the domain an id: nothing was made.
    BeforeDomain,
    /// libxl had made the domain (`domid`); it has been destroyed and is
    /// no longer in Xen's list.
    Destroyed {
        /// The id the half-made domain had.
        domid: Domid,
    },
    /// The creation had completed before the cancellation reached libxl:
    /// the domain exists, as [`Creation::finish`] would have returned it.
    Completed {
        /// The new domain.
        domid: Domid,
    },
}

impl Cancelled {
    /// The domain still there after the cancellation, if any.
    pub fn domain_left(&self) -> Option<Domid> {
        match self {
            Cancelled::Completed { domid } => Some(*domid),
            _ => None,
        }
    }
}

impl AsyncContext {
    /// Starts creating a domain and unpausing it, as
    /// [`create_domain`](Self::create_domain) does, on a task of the
    /// runtime; the config is checked and converted before this returns.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, cfg: xenlight::DomainConfig) -> xenlight::Result<()> {
    /// let domid = ctx.start_create(&cfg)?.finish().await?;
    /// # Ok(()) }
    /// ```
    #[doc(alias = "libxl_domain_create_new")]
    #[doc(alias = "libxl_ao_abort")]
    pub fn start_create(&self, cfg: &DomainConfig) -> Result<Creation> {
        self.start(cfg, false)
    }

    /// [`start_create`](Self::start_create), leaving the domain paused.
    #[doc(alias = "libxl_domain_create_new")]
    pub fn start_create_paused(&self, cfg: &DomainConfig) -> Result<Creation> {
        self.start(cfg, true)
    }

    fn start(&self, cfg: &DomainConfig, paused: bool) -> Result<Creation> {
        let raw = SendConfig(self.handle.shared.ctx.host_sized_raw(cfg)?);
        let name = cfg.name().to_owned();
        let (tx, rx) = oneshot::channel();
        let ctx = self.clone();
        let task = tokio::spawn(async move {
            let (made, domid) = ctx
                .create_raw_paused_abortable(raw, name, None, None, Some(rx))
                .await;
            match made {
                Ok(d) if !paused => (ctx.start_created(d).await, domid),
                other => (other, domid),
            }
        });
        Ok(Creation {
            task: Some(task),
            abort: Some(tx),
            ctx: self.clone(),
        })
    }
}

impl Creation {
    /// Waits for the creation to end: the new domain, or the error (after
    /// which nothing of the domain is left).
    pub async fn finish(mut self) -> Result<Domid> {
        let (r, _) = self.join().await;
        // Finished: nothing for Drop to cancel.
        self.abort = None;
        r
    }

    /// Whether the creation has ended (done or failed): then
    /// [`finish`](Self::finish) returns at once, and [`cancel`](Self::cancel)
    /// finds it [`Completed`](Cancelled::Completed) if it succeeded.
    ///
    /// ```no_run
    /// # async fn f(ctx: xenlight::AsyncContext, cfg: xenlight::DomainConfig) -> xenlight::Result<()> {
    /// let creation = ctx.start_create(&cfg)?;
    /// if !creation.is_finished() {
    ///     println!("still being built");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().map_or(true, |t| t.is_finished())
    }

    /// Cancels the creation (`libxl_ao_abort`) and waits until libxl has
    /// finished or aborted it and whatever was half-made has left Xen's
    /// list; says which. An error is one of the clean-up itself (a
    /// destroyed domain still listed after 30 s, say).
    pub async fn cancel(mut self) -> Result<Cancelled> {
        if let Some(tx) = self.abort.take() {
            let _ = tx.send(());
        }
        let (r, domid) = self.join().await;
        match (r, domid) {
            (Ok(domid), _) => Ok(Cancelled::Completed { domid }),
            (Err(_), None) => Ok(Cancelled::BeforeDomain),
            (Err(_), Some(domid)) => {
                self.ctx.wait_unlisted(domid).await?;
                Ok(Cancelled::Destroyed { domid })
            }
        }
    }

    /// The task's end; `finish` and `cancel` take the creation by value,
    /// so this runs once.
    async fn join(&mut self) -> (Result<Domid>, Option<Domid>) {
        let failed = |reason: String| {
            let e = Error::InvalidArgument {
                what: "creation task",
                reason,
            };
            (Err(e), None)
        };
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| failed(e.to_string())),
            None => failed("already awaited".into()),
        }
    }
}

impl Drop for Creation {
    fn drop(&mut self) {
        if let Some(tx) = self.abort.take() {
            let _ = tx.send(());
        }
    }
}

impl std::fmt::Debug for Creation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Creation")
            .field(
                "running",
                &self.task.as_ref().is_some_and(|t| !t.is_finished()),
            )
            .finish()
    }
}
