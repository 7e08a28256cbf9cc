//! Issue 14's async API in the Xen host: guests created concurrently as
//! libxl asynchronous operations under a multi-thread tokio runtime,
//! consoles read through their ptys, shutdowns awaited, the event stream,
//! and tokio::process children reaped beside libxl's own.
//!
//! Its own test binary: libxl wants every ctx of a process in one SIGCHLD
//! mode, and this one's runtime owns SIGCHLD.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::*;
use xenlight::{AsyncContext, ConsoleKind, Context, DomainEvent, Domid, Error, ShutdownReason};

/// Guests created at once.
const GUESTS: usize = 10;

/// Held by the tests that need much of the host: ten guests at once make
/// admission balloon dom0 down, and a save writes a guest's memory into
/// dom0's RAM-backed /tmp; side by side (libtest runs a binary's tests in
/// parallel) the save ran out of space.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Reads a console until `marker` shows, or `timeout` passes; returns what
/// was read.
fn read_console_until(ctx: &Context, domid: Domid, marker: &str, timeout: Duration) -> String {
    let start = Instant::now();
    // xenconsoled makes the pty shortly after the domain appears.
    let mut console = loop {
        match ctx.console(domid, ConsoleKind::Primary) {
            Ok(c) => break c,
            Err(e) if start.elapsed() > timeout => panic!("no console pty: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    console.set_read_timeout(Some(Duration::from_secs(1)));
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < timeout {
        match console.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("reading the console: {e}"),
        }
        if String::from_utf8_lossy(&text).contains(marker) {
            break;
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// Waits (off the runtime's workers) until the guest `name` has booted.
async fn wait_booted(name: &str) {
    let hello = protocol::guest_hello(name);
    let owned = name.to_owned();
    let booted = tokio::task::spawn_blocking(move || {
        wait_for_console(&owned, &hello, Duration::from_secs(120))
    });
    assert!(booted.await.unwrap(), "{}", console_log(name));
}

/// Destroys what is left of this binary's guests (after a failure).
async fn sweep(ctx: &AsyncContext, prefix: &str) {
    for d in ctx.context().domains().unwrap_or_default() {
        if d.name.as_deref().is_some_and(|n| n.starts_with(prefix)) {
            let _ = ctx.destroy(d.domid).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_guests_made_concurrently_start_print_on_their_ptys_and_shut_down_beside_tokio_children(
) {
    let _heavy = HEAVY.lock().await;
    let ctx = AsyncContext::new().expect("AsyncContext");
    let prefix = format!("{PREFIX}async-");
    let mut events = ctx.domain_events();
    // The runtime's own children, spawned and reaped while libxl runs its
    // hotplug scripts: neither side may reap the other's.
    let children = tokio::spawn(async {
        let mut ok = 0;
        for i in 0..30 {
            let out = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(format!("sleep 0.2; echo child-{i}"))
                .output()
                .await
                .expect("spawn a child");
            assert!(out.status.success(), "child {i}: {:?}", out.status);
            assert_eq!(String::from_utf8_lossy(&out.stdout), format!("child-{i}\n"));
            ok += 1;
        }
        ok
    });
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..GUESTS {
        let ctx = ctx.clone();
        let name = format!("{prefix}{i}");
        tasks.spawn(async move {
            // The console is reported available while libxl creates the
            // domain; its pty is opened before the guest runs, and the
            // marker read from the pty itself, not from xenconsoled's log.
            let hello = protocol::guest_hello(&name);
            let (ready_tx, mut ready_rx) = tokio::sync::oneshot::channel();
            let domid = ctx
                .create_domain_paused_with_console(&pv_guest(&name, true), ready_tx)
                .await
                .unwrap_or_else(|e| panic!("{name}: create: {e}"));
            // libxl reported the console during the creation, before it
            // completed.
            assert_eq!(ready_rx.try_recv(), Ok(domid), "{name}");
            let reader = {
                let ctx = ctx.clone();
                let hello = hello.clone();
                tokio::task::spawn_blocking(move || {
                    read_console_until(ctx.context(), domid, &hello, Duration::from_secs(240))
                })
            };
            // The reader has the pty open before the guest runs.
            tokio::time::sleep(Duration::from_millis(300)).await;
            ctx.context().unpause(domid).expect("unpause");
            let text = reader.await.expect("console reader");
            assert!(text.contains(&hello), "{name}: console said {text:?}");
            let why = ctx
                .shutdown_and_wait(domid, Duration::from_secs(240))
                .await
                .unwrap_or_else(|e| panic!("{name}: shutdown: {e}"));
            assert_eq!(why, ShutdownReason::Poweroff, "{name}");
            let uuid = ctx.context().domain_info(domid).expect("info").uuid;
            ctx.destroy(domid)
                .await
                .unwrap_or_else(|e| panic!("{name}: destroy: {e}"));
            (domid, name, uuid)
        });
    }
    let mut made = Vec::new();
    let mut failures = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(made_one) => made.push(made_one),
            Err(e) => failures.push(e.to_string()),
        }
    }
    sweep(&ctx, &prefix).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(children.await.expect("children task"), 30);
    // The stream saw each guest shut down, then die, once.
    let mut seen: Vec<DomainEvent> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let deaths = seen
            .iter()
            .filter(|e| {
                matches!(e, DomainEvent::Death { .. }) && made.iter().any(|m| m.0 == e.domid())
            })
            .count();
        if deaths == GUESTS {
            break;
        }
        if let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
            seen.push(ev);
        }
    }
    for (domid, name, uuid) in made {
        let mine: Vec<DomainEvent> = seen
            .iter()
            .filter(|e| e.domid() == domid)
            .cloned()
            .collect();
        // Each names its guest, the death too.
        let name = Some(name);
        assert_eq!(
            mine,
            [
                DomainEvent::Shutdown {
                    domid,
                    name: name.clone(),
                    uuid,
                    reason: ShutdownReason::Poweroff
                },
                DomainEvent::Death { domid, name, uuid }
            ],
            "{seen:?}"
        );
    }
}

/// A create whose future is dropped early is aborted (`libxl_ao_abort`)
/// or completes; either way no domain of it is left once the context has
/// settled, and the context keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_create_leaves_no_domain_and_the_context_works_on() {
    let ctx = AsyncContext::new().expect("AsyncContext");
    let name = format!("{PREFIX}async-dropped");
    let r = tokio::time::timeout(
        Duration::from_millis(50),
        ctx.create_domain(&pv_guest(&name, true)),
    )
    .await;
    if let Ok(Ok(domid)) = r {
        // It finished within the time: destroy it the normal way.
        ctx.destroy(domid).await.unwrap();
    }
    let gone = || {
        ctx.context()
            .domains()
            .unwrap()
            .iter()
            .all(|d| d.name.as_deref() != Some(name.as_str()))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !gone() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(gone(), "{name} is still there");
    // The context still creates and destroys.
    let name2 = format!("{PREFIX}async-after");
    let domid = ctx.create_domain(&pv_guest(&name2, true)).await.unwrap();
    ctx.destroy(domid).await.unwrap();
}

/// `Creation::cancel` says what became of the creation, in each of its
/// three outcomes, and leaves only a completed domain: cancelled at once
/// (libxl never asked), once libxl has given the domain an id (its vif's
/// hotplug still running: destroyed and gone from Xen's list), and after
/// the creation ended (the domain runs on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_says_before_domain_destroyed_or_completed_and_leaves_only_a_completed_domain() {
    use xenlight::{Cancelled, Nic};
    let ctx = AsyncContext::new().expect("AsyncContext");
    let listed = |name: &str| ctx.context().domain_info(name).ok().map(|d| d.domid);

    let early = format!("{PREFIX}cancel-early");
    let outcome = ctx
        .start_create(&pv_guest(&early, true))
        .unwrap()
        .cancel()
        .await
        .unwrap();
    assert_eq!(outcome, Cancelled::BeforeDomain);
    assert_eq!(listed(&early), None, "{early} was made");

    let mid = format!("{PREFIX}cancel-mid");
    let creation = ctx
        .start_create(&pv_guest(&mid, true).nic(Nic::bridged("xenbr0")))
        .unwrap();
    let start = Instant::now();
    let seen = loop {
        if let Some(d) = listed(&mid) {
            break d;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{mid} never listed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        !creation.is_finished(),
        "{mid} was built before the vif's hotplug ended"
    );
    let outcome = creation.cancel().await.unwrap();
    assert_eq!(outcome, Cancelled::Destroyed { domid: seen });
    assert_eq!(outcome.domain_left(), None);
    assert!(
        !ctx.context().domain_exists(seen).unwrap(),
        "{mid} still listed"
    );

    let late = format!("{PREFIX}cancel-late");
    let creation = ctx.start_create(&pv_guest(&late, true)).unwrap();
    let start = Instant::now();
    while !creation.is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{late} not built"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let outcome = creation.cancel().await.unwrap();
    let Cancelled::Completed { domid } = outcome else {
        panic!("{late}: {outcome:?}");
    };
    assert_eq!(outcome.domain_left(), Some(domid));
    let info = ctx.context().domain_info(domid).unwrap();
    assert_eq!(info.name.as_deref(), Some(late.as_str()));
    assert!(!info.paused, "a completed start_create runs");
    ctx.destroy(domid).await.unwrap();
}

/// Typed errors: a missing domain, Domain-0, and a `Context::new` in a
/// process whose contexts leave SIGCHLD to the runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_errors_are_typed() {
    let ctx = AsyncContext::new().expect("AsyncContext");
    let missing = Domid::new(4003).unwrap();
    let e = ctx.destroy(missing).await.unwrap_err();
    assert!(e.is_domain_not_found(), "{e:?}");
    let e = ctx
        .wait_for_shutdown(missing, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(e.is_domain_not_found(), "{e:?}");
    let e = ctx.destroy(Domid::DOM0).await.unwrap_err();
    assert!(matches!(e, Error::Domain0Refused { .. }), "{e:?}");
    let e = Context::new().unwrap_err();
    assert!(
        matches!(
            e,
            Error::ContextModeConflict {
                wanted: "Context",
                existing: "AsyncContext"
            }
        ),
        "{e:?}"
    );
    // A wait that runs out says so.
    let name = format!("{PREFIX}async-wait");
    let domid = ctx.create_domain(&pv_guest(&name, true)).await.unwrap();
    let t = Instant::now();
    let r = ctx
        .wait_for_shutdown(domid, Duration::from_millis(500))
        .await;
    assert!(matches!(r, Ok(None)), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    ctx.destroy(domid).await.unwrap();
}

/// A guest suspended in place, resumed, then shut down: the stream and the
/// waits report both shutdowns (libxl reports one per watch; the stream
/// watches a resumed domain anew), then its death.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_guests_next_shutdown_is_reported_too() {
    let ctx = AsyncContext::new().expect("AsyncContext");
    let mut events = ctx.domain_events();
    let name = format!("{PREFIX}async-resume");
    let domid = ctx.create_domain(&pv_guest(&name, true)).await.unwrap();
    let uuid = ctx.context().domain_info(domid).unwrap().uuid;
    wait_booted(&name).await;
    let c = ctx.clone();
    tokio::task::spawn_blocking(move || c.context().suspend_only(domid))
        .await
        .unwrap()
        .expect("suspend");
    let why = ctx.wait_for_shutdown(domid, Duration::from_secs(60)).await;
    assert_eq!(why.unwrap(), Some(ShutdownReason::Suspend));
    let c = ctx.clone();
    tokio::task::spawn_blocking(move || c.context().resume(domid))
        .await
        .unwrap()
        .expect("resume");
    let why = ctx
        .shutdown_and_wait(domid, Duration::from_secs(120))
        .await
        .expect("shutdown after the resume");
    assert_eq!(why, ShutdownReason::Poweroff);
    ctx.destroy(domid).await.unwrap();
    let mut mine = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let named = Some(name.clone());
    let death = DomainEvent::Death {
        domid,
        name: named.clone(),
        uuid,
    };
    while Instant::now() < deadline && !mine.contains(&death) {
        if let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
            if ev.domid() == domid {
                mine.push(ev);
            }
        }
    }
    assert_eq!(
        mine,
        [
            DomainEvent::Shutdown {
                domid,
                name: named.clone(),
                uuid,
                reason: ShutdownReason::Suspend
            },
            DomainEvent::Shutdown {
                domid,
                name: named,
                uuid,
                reason: ShutdownReason::Poweroff
            },
            death
        ]
    );
}

/// The context the wait hook below suspends its domain with.
static HOOKED: std::sync::Mutex<Option<(AsyncContext, Domid)>> = std::sync::Mutex::new(None);

/// Suspends the hooked domain inside `wait_for_shutdown`, between its look
/// at the domain and its registration, and gives the event thread time to
/// record the shutdown.
fn suspend_between_look_and_registration(domid: Domid) {
    let hooked = HOOKED.lock().unwrap().clone();
    if let Some((ctx, d)) = hooked.filter(|(_, d)| *d == domid) {
        ctx.context().suspend_only(d).expect("suspend in the hook");
        std::thread::sleep(Duration::from_secs(3));
    }
}

/// Issue 24, finding 9: a shutdown the event thread records after
/// `wait_for_shutdown` has seen the domain running, but before it has
/// registered, used to be dropped as stale (and libxl never repeats it):
/// the wait timed out. It is the answer now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_between_the_waits_look_and_its_registration_is_not_lost() {
    let ctx = AsyncContext::new().expect("AsyncContext");
    let name = format!("{PREFIX}async-race");
    let domid = ctx.create_domain(&pv_guest(&name, true)).await.unwrap();
    wait_booted(&name).await;
    *HOOKED.lock().unwrap() = Some((ctx.clone(), domid));
    *xenlight::ASYNC_WAIT_HOOK.lock().unwrap() = Some(suspend_between_look_and_registration);
    let why = ctx.wait_for_shutdown(domid, Duration::from_secs(20)).await;
    *xenlight::ASYNC_WAIT_HOOK.lock().unwrap() = None;
    *HOOKED.lock().unwrap() = None;
    let _ = ctx.destroy(domid).await;
    assert_eq!(why.unwrap(), Some(ShutdownReason::Suspend));
}

/// Issue 25: pause, save, restore, disk and NIC hotplug, a memory target,
/// a reboot and its restart, a shutdown and its destroy, all through
/// AsyncContext (libxl asynchronous operations where libxl has them),
/// checked through the sync view; the save's and restore's futures are
/// `Send` (spawned).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_hotplug_save_and_restore_run_as_libxl_asynchronous_operations() {
    let _heavy = HEAVY.lock().await;
    use xenlight::{Disk, DomainState, Nic};
    let ctx = AsyncContext::new().expect("AsyncContext");
    let name = format!("{PREFIX}async-ops");
    let domid = ctx.create_domain(&pv_guest(&name, true)).await.unwrap();
    wait_booted(&name).await;
    let sync = ctx.context();
    ctx.pause(domid).await.unwrap();
    assert_eq!(sync.domain_info(domid).unwrap().state, DomainState::Paused);
    ctx.unpause(domid).await.unwrap();
    assert!(!sync.domain_info(domid).unwrap().paused);
    assert!(matches!(
        ctx.pause(Domid::DOM0).await,
        Err(Error::Domain0Refused { .. })
    ));
    // Saved and restored (each suspends the guest, which answers while
    // it is as it booted).
    let path = format!("/tmp/{name}.save");
    let img = format!("/tmp/{name}.img");
    // Removed however the test ends: dom0's /tmp is RAM, and a guest's
    // save file fills much of it.
    let _files = RemoveOnDrop(vec![path.clone(), img.clone()]);
    let _guest = DestroyNamed(sync, name.clone());
    let (c, p) = (ctx.clone(), path.clone());
    tokio::spawn(async move { c.save(domid, &p).await })
        .await
        .unwrap()
        .expect("async save");
    assert!(!sync.domain_exists(domid).unwrap(), "saved and destroyed");
    let (c, p) = (ctx.clone(), path.clone());
    let domid = tokio::spawn(async move { c.restore(&p).await })
        .await
        .unwrap()
        .expect("restore what the async save wrote");
    let info = sync.domain_info(domid).unwrap();
    assert!(!info.paused, "restored and running");
    assert_eq!(info.name.as_deref(), Some(name.as_str()));
    assert!(
        ctx.restore("/nonexistent.save").await.is_err(),
        "a missing file is an error"
    );
    // Hotplug and a memory target on the restored guest.
    std::fs::write(&img, vec![0u8; 8 << 20]).unwrap();
    ctx.attach_disk(domid, &Disk::new(&img, "xvdb"))
        .await
        .unwrap();
    assert!(sync.disks(domid).unwrap().iter().any(|d| d.vdev == "xvdb"));
    assert!(matches!(
        ctx.attach_disk(domid, &Disk::new(&img, "xvdb")).await,
        Err(Error::DeviceExists { .. })
    ));
    ctx.detach_disk(domid, "xvdb").await.unwrap();
    assert!(!sync.disks(domid).unwrap().iter().any(|d| d.vdev == "xvdb"));
    let has_nic = |devid| {
        sync.nics(domid)
            .unwrap()
            .iter()
            .any(|n| n.devid == Some(devid))
    };
    let devid = ctx
        .attach_nic(domid, &Nic::bridged("xenbr0"))
        .await
        .unwrap();
    assert!(has_nic(devid));
    ctx.detach_nic(domid, devid).await.unwrap();
    assert!(!has_nic(devid));
    ctx.set_memory_target(domid, 96 * 1024).await.unwrap();
    assert_eq!(
        sync.domain_info(domid).unwrap().target_memkb,
        Some(96 * 1024)
    );
    // A reboot request (asynchronous libxl_domain_reboot) and its
    // on_reboot, restart: a new domain of the same name boots.
    ctx.reboot(domid).await.expect("reboot request");
    let why = ctx.wait_for_shutdown(domid, Duration::from_secs(120)).await;
    assert_eq!(why.unwrap(), Some(ShutdownReason::Reboot));
    let xenlight::AfterShutdown::Restarted { domid: new, .. } =
        ctx.handle_shutdown(domid).await.expect("on_reboot")
    else {
        panic!("on_reboot=restart did not restart");
    };
    assert_eq!(
        sync.domain_info(new).unwrap().name.as_deref(),
        Some(name.as_str())
    );
    // Booted again: its hello twice in the console log.
    let (hello, owned) = (protocol::guest_hello(&name), name.clone());
    let again = tokio::task::spawn_blocking(move || {
        wait_until(Duration::from_secs(120), || {
            console_log(&owned).matches(hello.as_str()).count() >= 2
        })
    });
    assert!(again.await.unwrap(), "{}", console_log(&name));
    // It shuts down when asked (asynchronous libxl_domain_shutdown), and
    // its on_poweroff (destroy) is carried out.
    let why = ctx
        .shutdown_and_wait(new, Duration::from_secs(120))
        .await
        .expect("the restarted guest shuts down");
    assert_eq!(why, ShutdownReason::Poweroff);
    ctx.handle_shutdown(new).await.expect("on_poweroff");
    assert!(
        wait_gone(sync, new, Duration::from_secs(30)),
        "destroyed on poweroff"
    );
    assert!(!sync.domain_exists(domid).unwrap(), "the old one is gone");
}

/// Destroys the domain of this name (whichever domid it has by then) when
/// the test ends, passed or not.
struct DestroyNamed<'a>(&'a Context, String);

impl Drop for DestroyNamed<'_> {
    fn drop(&mut self) {
        if let Ok(domid) = self.0.domid_by_name(&self.1) {
            let _ = self.0.destroy(domid);
        }
    }
}
