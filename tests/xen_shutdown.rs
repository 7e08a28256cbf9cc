//! Hypervisor tests: shutdown and reboot requests reaching a guest, and
//! `handle_shutdown` carrying out the guest's `on_*` action (destroy,
//! restart, rename-restart, coredump-destroy) the way xl's monitor does.

mod common;

use std::time::Duration;

use common::*;
use xenlight::{Action, AfterShutdown, Context, DomainState, Error, ShutdownReason};

const WAIT: Duration = Duration::from_secs(120);

fn count(name: &str, text: &str) -> usize {
    console_log(name).matches(text).count()
}

#[test]
fn shutdown_request_powers_the_guest_off_and_destroy_runs() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}sd-poweroff");
    let cfg = pv_guest(&name, true).on_poweroff(Action::Destroy);
    let domid = ctx.create_domain(&cfg).expect("create");
    let guard = DomainGuard { ctx: &ctx, domid };
    assert!(wait_for_console(&name, &protocol::guest_hello(&name), WAIT));

    // A running domain has nothing to handle yet.
    let e = ctx.handle_shutdown(domid).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    assert!(e.to_string().contains("has not shut down"), "{e}");

    ctx.shutdown(domid).expect("shutdown request");
    assert_eq!(
        ctx.wait_for_shutdown(domid, WAIT).unwrap(),
        ShutdownReason::Poweroff
    );
    assert!(
        console_log(&name).contains("@@GUEST-POWEROFF-REQUEST@@"),
        "the guest kernel did not run its poweroff: {}",
        console_log(&name)
    );
    let i = ctx.domain_info(domid).unwrap();
    assert_eq!(
        i.state,
        DomainState::Shutdown(ShutdownReason::Poweroff),
        "{i:?}"
    );

    assert_eq!(
        ctx.handle_shutdown(domid).unwrap(),
        AfterShutdown::Destroyed { core_dump: None }
    );
    assert!(
        !ctx.domain_exists(domid).unwrap(),
        "destroy action left the domain"
    );
    assert!(ctx.domid_by_name(&name).unwrap_err().is_domain_not_found());
    drop(guard);
}

#[test]
fn reboot_request_restarts_the_guest_from_its_stored_config() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}sd-reboot");
    let cfg = pv_guest(&name, true).on_reboot(Action::Restart);
    let old = ctx.create_domain(&cfg).expect("create");
    let old_guard = DomainGuard {
        ctx: &ctx,
        domid: old,
    };
    let hello = protocol::guest_hello(&name);
    assert!(wait_for_console(&name, &hello, WAIT));
    let uuid = ctx.domain_info(old).unwrap().uuid;
    let hellos = count(&name, &hello);

    ctx.reboot(old).expect("reboot request");
    assert_eq!(
        ctx.wait_for_shutdown(old, WAIT).unwrap(),
        ShutdownReason::Reboot
    );
    let AfterShutdown::Restarted {
        domid: new,
        core_dump: None,
        old_renamed: None,
    } = ctx.handle_shutdown(old).expect("restart")
    else {
        panic!("on_reboot=restart did not restart");
    };
    let _new_guard = DomainGuard {
        ctx: &ctx,
        domid: new,
    };
    drop(old_guard);
    assert_ne!(new, old);
    assert!(
        !ctx.domain_exists(old).unwrap(),
        "the old domain is still there"
    );
    let info = ctx.domain_info(new).unwrap();
    assert_eq!(info.name.as_deref(), Some(name.as_str()));
    assert_eq!(info.uuid, uuid, "a restart keeps the UUID");
    assert_eq!(
        ctx.domain_config(new).unwrap().actions().on_reboot,
        Action::Restart
    );
    // The new domain boots the same guest again: its console says hello
    // once more (xenconsoled appends to the same log).
    assert!(
        wait_until(WAIT, || count(&name, &hello) > hellos),
        "restarted guest never printed its marker: {}",
        console_log(&name)
    );
}

#[test]
fn rename_restart_keeps_the_old_domain_beside_the_new() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}sd-rename");
    // Powers off by itself once it has said hello.
    let cfg = pv_guest(&name, false).on_poweroff(Action::RestartRename);
    let old = ctx.create_domain(&cfg).expect("create");
    let _old_guard = DomainGuard {
        ctx: &ctx,
        domid: old,
    };
    assert_eq!(
        ctx.wait_for_shutdown(old, WAIT).unwrap(),
        ShutdownReason::Poweroff
    );
    let uuid = ctx.domain_info(old).unwrap().uuid;

    let AfterShutdown::Restarted {
        domid: new,
        old_renamed: Some(renamed),
        ..
    } = ctx.handle_shutdown(old).expect("rename-restart")
    else {
        panic!("on_poweroff=rename-restart did not rename and restart");
    };
    let _new_guard = DomainGuard {
        ctx: &ctx,
        domid: new,
    };
    assert_eq!(renamed, format!("{name}--{old}"));
    let kept = ctx.domain_info(old).unwrap();
    assert_eq!(kept.name.as_deref(), Some(renamed.as_str()));
    assert!(matches!(kept.state, DomainState::Shutdown(_)), "{kept:?}");
    // libxl_domain_preserve gives the kept domain a fresh /vm path in
    // xenstore; Xen's own handle for it (what domain_info reports) stays.
    assert_eq!(kept.uuid, uuid);
    assert_eq!(ctx.domid_by_name(&name).unwrap(), new);
    assert_eq!(ctx.domain_info(new).unwrap().uuid, uuid);
}

#[test]
fn crash_dumps_the_core_then_destroys() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}sd-crash");
    let base = pv_guest(&name, false);
    let cmdline = format!("{} xlcrash", base.libxl.b_info.cmdline.clone().unwrap());
    let cfg = base.cmdline(cmdline).on_crash(Action::CoredumpDestroy);
    let domid = ctx.create_domain(&cfg).expect("create");
    let guard = DomainGuard { ctx: &ctx, domid };
    assert_eq!(
        ctx.wait_for_shutdown(domid, WAIT).unwrap(),
        ShutdownReason::Crash,
        "console: {}",
        console_log(&name)
    );
    assert!(console_log(&name).contains("@@GUEST-CRASHING@@"));

    let after = ctx.handle_shutdown(domid).expect("coredump-destroy");
    let AfterShutdown::Destroyed {
        core_dump: Some(path),
    } = after
    else {
        panic!("on_crash=coredump-destroy gave {after:?}");
    };
    assert!(
        !ctx.domain_exists(domid).unwrap(),
        "the crashed domain is still there"
    );
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(&path);
    assert!(
        path.starts_with(xenlight::CORE_DUMP_DIR),
        "{}",
        path.display()
    );
    // An ELF core holding the guest's memory (64 MiB, less what Xen keeps).
    assert!(
        size > 32 << 20,
        "core dump {} is {size} bytes",
        path.display()
    );
    drop(guard);
}

/// Issue 14: waiters in several threads on one Context each get their own
/// domain's shutdown, at once, round after round (one poller at a time
/// under the Context's poll lock; before, they polled libxl concurrently).
#[test]
fn concurrent_waiters_on_one_context_each_see_their_own_shutdown() {
    let ctx = Context::new().unwrap();
    for round in 0..3 {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|i| {
                    let ctx = &ctx;
                    s.spawn(move || {
                        let name = format!("{PREFIX}waiter-{round}-{i}");
                        let domid = ctx.create_domain(&pv_guest(&name, false)).expect("create");
                        let _guard = DomainGuard { ctx, domid };
                        let started = std::time::Instant::now();
                        let reason = ctx
                            .wait_for_shutdown(domid, Duration::from_secs(180))
                            .unwrap_or_else(|e| panic!("{name}: {e}"));
                        (name, reason, started.elapsed())
                    })
                })
                .collect();
            for h in handles {
                let (name, reason, took) = h.join().unwrap();
                assert_eq!(reason, ShutdownReason::Poweroff, "{name} after {took:?}");
            }
        });
    }
}

/// A shutdown that happened before the wait started is reported at once
/// (the watch is enabled before the domain is checked); a zero timeout
/// looks once and returns; a wait is cancelled from another thread.
#[test]
fn waits_see_earlier_shutdowns_at_once_honour_zero_timeouts_and_cancel() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}wait-early");
    let domid = ctx.create_domain(&pv_guest(&name, false)).expect("create");
    let _guard = DomainGuard { ctx: &ctx, domid };
    assert!(wait_until(Duration::from_secs(120), || ctx
        .domain_info(domid)
        .map(|i| i.shutdown_reason.is_some())
        .unwrap_or(false)));
    let t = std::time::Instant::now();
    assert_eq!(
        ctx.wait_for_shutdown(domid, Duration::from_secs(30))
            .unwrap(),
        ShutdownReason::Poweroff
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());

    let name = format!("{PREFIX}wait-stay");
    let stay = ctx.create_domain(&pv_guest(&name, true)).expect("create");
    let _guard2 = DomainGuard {
        ctx: &ctx,
        domid: stay,
    };
    let t = std::time::Instant::now();
    assert!(matches!(
        ctx.wait_for_shutdown(stay, Duration::ZERO),
        Err(Error::Timeout { .. })
    ));
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );

    let cancel = xenlight::Cancel::new();
    let t = std::time::Instant::now();
    std::thread::scope(|s| {
        let c = cancel.clone();
        s.spawn(move || {
            std::thread::sleep(Duration::from_secs(1));
            c.cancel();
        });
        let r = ctx.wait_for_shutdown_cancellable(stay, Duration::from_secs(60), &cancel);
        assert!(matches!(r, Err(Error::Cancelled { .. })), "{r:?}");
    });
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

/// Issue 14: one thread consumes a stream of every domain's events while
/// three threads each create a guest, wait for its shutdown and destroy
/// it: every shutdown and every death arrives exactly once, shutdown
/// before death, and no wait times out. Two rounds here; the stress suite
/// (`cargo xtask stress`) runs twenty.
#[test]
fn one_event_stream_sees_every_shutdown_and_death_once_beside_waiters() {
    let ctx = Context::new().unwrap();
    for round in 0..2 {
        event_stream_round(&ctx, round);
    }
}

/// When the test hook ran: the guest had shut down by then.
static HOOK_DONE: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);

/// The hook: shut the guest down and wait until Xen says it is.
fn shut_down_between_watch_and_check(domid: xenlight::Domid) {
    let c = Context::new().unwrap();
    c.shutdown(domid).unwrap();
    assert!(wait_until(Duration::from_secs(60), || c
        .domain_info(domid)
        .map(|i| i.shutdown_reason.is_some())
        .unwrap_or(false)));
    *HOOK_DONE.lock().unwrap() = Some(std::time::Instant::now());
}

/// Matches every event of the domain in `user` (a `u32` domid).
unsafe extern "C" fn of_domain(
    ev: *const xenlight::sys::libxl_event,
    user: *mut std::ffi::c_void,
) -> i32 {
    // SAFETY: libxl passes a valid event; `user` points at the u32 below.
    unsafe { i32::from((*ev).domid == *(user as *const u32)) }
}

/// Issue 14: a guest that shuts down after a wait has enabled its watch
/// and before it looks at the domain (forced with the `xen-host` test
/// hook) is reported at once; when the wait has ended, libxl's queue holds
/// none of the domain's events.
#[test]
fn a_shutdown_between_watch_and_check_is_reported_at_once_and_leaves_no_events() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}interleave");
    let domid = ctx.create_domain(&pv_guest(&name, true)).expect("create");
    let _guard = DomainGuard { ctx: &ctx, domid };
    assert!(wait_for_console(
        &name,
        &protocol::guest_hello(&name),
        Duration::from_secs(90)
    ));
    *xenlight::WAIT_HOOK.lock().unwrap() = Some(shut_down_between_watch_and_check);
    let r = ctx.wait_for_shutdown(domid, Duration::from_secs(120));
    *xenlight::WAIT_HOOK.lock().unwrap() = None;
    let after_hook = HOOK_DONE.lock().unwrap().expect("the hook ran").elapsed();
    assert_eq!(r.unwrap(), ShutdownReason::Poweroff);
    assert!(after_hook < Duration::from_secs(1), "{after_hook:?}");
    // Nothing of this domain is left in libxl's queue.
    let mut raw_domid = domid.get();
    let mut left = 0;
    loop {
        let mut ev: *mut xenlight::sys::libxl_event = std::ptr::null_mut();
        // SAFETY: a live ctx, a valid out-pointer, a predicate whose user
        // pointer lives for the call; a returned event is freed below.
        let rc = unsafe {
            xenlight::sys::libxl_event_check(
                ctx.as_raw(),
                &mut ev,
                u64::MAX,
                Some(of_domain),
                (&mut raw_domid as *mut u32).cast(),
            )
        };
        if rc != 0 || ev.is_null() {
            break;
        }
        left += 1;
        // SAFETY: returned by libxl_event_check, freed once.
        unsafe { xenlight::sys::libxl_event_free(ctx.as_raw(), ev) };
    }
    assert_eq!(left, 0, "events of domain {domid} left in libxl's queue");
}
