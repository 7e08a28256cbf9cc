//! Issue 24 in the Xen host: the review's findings that need libxl at run
//! time, each a regression test named for what it proves. Where the
//! failure mode was an abort, a double free or an `_exit` inside libxl,
//! the test body runs in a child process (`common::in_child`), so the
//! crash is seen as one and the run goes on.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::*;
use xenlight::{Context, DomainConfig, Error};

/// The first bytes of the crate's migration stream (migrate.rs): what a
/// sender says before its config.
const MIGRATION_MAGIC: &[u8; 16] = b"xenlight-migr-1\n";

/// The domains whose names start with `prefix`.
fn named(ctx: &Context, prefix: &str) -> Vec<String> {
    ctx.domains()
        .unwrap()
        .into_iter()
        .filter_map(|d| d.name)
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// A PV test guest's config as libxl's JSON, to be made hostile.
fn guest_json(ctx: &Context, name: &str) -> serde_json::Value {
    let json = pv_guest(name, false).to_libxl_json(ctx).unwrap();
    serde_json::from_str(&json).unwrap()
}

/// Runs `body` in a child process and asserts that it passed there.
fn in_a_child(test: &str, body: impl FnOnce()) {
    if let Some(out) = in_child(test, body) {
        print!("{}", String::from_utf8_lossy(&out.stdout));
        assert_child_passed(&out);
    }
}

/// Finding 1(b): libxl's defaulting once put a per-vCPU affinity array
/// from its temporary allocator into the caller's config (a cpumap, no
/// hard affinity, max_vcpus 0), freed at return and freed again by our
/// dispose. The config now reaches libxl expanded in memory it owns.
#[test]
fn a_cpumap_without_vcpus_from_libxl_json_creates_a_guest_without_a_double_free() {
    in_a_child(
        "a_cpumap_without_vcpus_from_libxl_json_creates_a_guest_without_a_double_free",
        || {
            let ctx = Context::new().unwrap();
            let name = format!("{PREFIX}hostile-cpumap");
            let mut v = guest_json(&ctx, &name);
            let b = v["b_info"].as_object_mut().unwrap();
            b.remove("max_vcpus");
            b.remove("avail_vcpus");
            b.remove("vcpu_hard_affinity");
            b.insert("cpumap".into(), serde_json::json!([0]));
            let cfg = DomainConfig::from_libxl_json(&ctx, &v.to_string()).unwrap();
            for _ in 0..3 {
                let domid = ctx.create_domain_paused(&cfg).expect("create");
                let guard = DomainGuard { ctx: &ctx, domid };
                let back = ctx.domain_config(domid).unwrap();
                assert_eq!(back.libxl.b_info.vcpu_hard_affinity.len(), 1);
                drop(guard);
            }
        },
    );
}

/// Finding 1(a): a restore (or migration) config from a file or a peer
/// never went through host sizing: a cpumap of another size than the
/// host's hit libxl's assert in libxl_bitmap_copy, and one without hard
/// affinities the double free above.
#[test]
fn a_save_file_whose_config_has_an_odd_sized_cpumap_restores_and_counts_on() {
    in_a_child(
        "a_save_file_whose_config_has_an_odd_sized_cpumap_restores_and_counts_on",
        || {
            let ctx = Context::new().unwrap();
            let name = format!("{PREFIX}hostile-restore");
            let guard = counting_guest(&ctx, &name, xenlight::DomainType::Pv);
            let path = format!("/tmp/{name}.save");
            ctx.save(guard.domid, &path).expect("save");
            drop(guard);
            // Rewrite the header: a 2-byte cpumap (bits 0 and 9; the host
            // has 1 byte's worth of CPUs), no per-vCPU affinity.
            let file = std::fs::read(&path).unwrap();
            let len = u32::from_le_bytes(file[16..20].try_into().unwrap()) as usize;
            let mut v: serde_json::Value = serde_json::from_slice(&file[20..20 + len]).unwrap();
            let b = v["b_info"].as_object_mut().unwrap();
            b.remove("vcpu_hard_affinity");
            b.insert("cpumap".into(), serde_json::json!([0, 9]));
            let json = v.to_string();
            let mut out = file[..16].to_vec();
            out.extend((json.len() as u32).to_le_bytes());
            out.extend(json.as_bytes());
            out.extend(&file[20 + len..]);
            std::fs::write(&path, out).unwrap();
            let counts = || protocol::guest_counts(&console_log(&name));
            let last = *counts().last().unwrap();
            let domid = ctx.restore(&path).expect("restore");
            let _guard = DomainGuard { ctx: &ctx, domid };
            assert!(
                wait_until(Duration::from_secs(90), || counts()
                    .last()
                    .is_some_and(|n| *n > last + 1)),
                "the restored guest does not count on: {}",
                console_log(&name)
            );
            let _ = std::fs::remove_file(&path);
        },
    );
}

/// Finding 4: libxl's own JSON reader asserted on an escaped second union
/// arm and `_exit`ed on a huge bitmap index; both are now refused in
/// Rust, typed, with the process alive.
#[test]
fn hostile_json_through_libxls_reader_is_a_typed_error_not_an_abort() {
    in_a_child(
        "hostile_json_through_libxls_reader_is_a_typed_error_not_an_abort",
        || {
            let ctx = Context::new().unwrap();
            for json in [
                r#"{"b_info": {"type.pv": {}, "type\u002ehvm": {}}}"#,
                r#"{"b_info": {"type.pv": {}, "type.hvm": {}}}"#,
                r#"{"b_info": {"cpumap": [2147483647]}}"#,
                r#"{"b_info": {"cpumap": [0, -4]}}"#,
                r#"{"b_info": {"vcpu_hard_affinity": [[0], [4294967295]]}}"#,
            ] {
                let e = ctx
                    .from_json::<xenlight::types::DomainConfig>(json)
                    .unwrap_err();
                assert!(matches!(e, Error::InvalidConfig { .. }), "{json}: {e:?}");
                println!("{json}: {e}");
                let e = DomainConfig::from_libxl_json(&ctx, json).unwrap_err();
                assert!(matches!(e, Error::InvalidConfig { .. }), "{json}: {e:?}");
            }
            // A negative vCPU count would be a huge allocation at create.
            let name = format!("{PREFIX}hostile-vcpus");
            let mut v = guest_json(&ctx, &name);
            v["b_info"]["max_vcpus"] = serde_json::json!(-1);
            let e = DomainConfig::from_libxl_json(&ctx, &v.to_string())
                .and_then(|c| ctx.create_domain_paused(&c))
                .unwrap_err();
            assert!(matches!(e, Error::InvalidConfig { .. }), "{e:?}");
        },
    );
}

/// A sender that speaks the migration protocol, then sends `json` (and
/// `stream` after the receiver says it is ready); returns the receiver's
/// result and the byte it answered the config with.
fn hostile_sender(
    ctx: &Context,
    json: &[u8],
    stream: &[u8],
) -> (xenlight::Result<xenlight::Domid>, Option<u8>) {
    let (mut tx, mut rx) = UnixStream::pair().unwrap();
    std::thread::scope(|s| {
        let receiver = s.spawn(|| ctx.migrate_receive(&mut rx));
        let mut head = MIGRATION_MAGIC.to_vec();
        head.extend((json.len() as u32).to_le_bytes());
        head.extend(json);
        let _ = tx.write_all(&head);
        let mut reply = [0u8];
        let answer = tx.read_exact(&mut reply).ok().map(|()| reply[0]);
        let _ = tx.write_all(stream);
        drop(tx);
        (
            receiver.join().expect("the receiver does not panic"),
            answer,
        )
    })
}

/// Finding 4's peer: an unauthenticated sender with hostile JSON (an
/// escaped second arm, a huge cpumap), a config cut short, and a valid
/// config followed by a truncated stream: each leaves the receiving
/// process running, no domain behind, and a typed error.
#[test]
fn a_hostile_migration_sender_leaves_the_receiver_running_and_no_domain() {
    in_a_child(
        "a_hostile_migration_sender_leaves_the_receiver_running_and_no_domain",
        || {
            let ctx = Context::new().unwrap();
            let name = format!("{PREFIX}hostile-peer");
            let good = pv_guest(&name, false).to_libxl_json(&ctx).unwrap();
            let arms = good.replacen("\"type.pv\"", "\"type.hvm\": {}, \"type\\u002epv\"", 1);
            // After b_info's brace, whether libxl's JSON is yajl's
            // (`"b_info": {`) or json-c's (`"b_info":{`, Xen 4.22).
            let at = good.find("\"b_info\":").expect("b_info");
            let brace = at + good[at..].find('{').expect("b_info's object") + 1;
            let cpumap = format!(
                "{}\"cpumap\": [2147483647],{}",
                &good[..brace],
                &good[brace..]
            );
            for (what, json) in [("escaped second arm", arms), ("huge cpumap", cpumap)] {
                let (r, answer) = hostile_sender(&ctx, json.as_bytes(), b"");
                let e = r.unwrap_err();
                assert!(matches!(e, Error::InvalidConfig { .. }), "{what}: {e:?}");
                assert_eq!(answer, Some(b'F'), "{what}: the sender is told");
                println!("{what}: {e}");
            }
            println!("a config cut short");
            // A header whose length runs past the end of the stream.
            let (mut tx, mut rx) = UnixStream::pair().unwrap();
            let mut head = MIGRATION_MAGIC.to_vec();
            head.extend(1000u32.to_le_bytes());
            head.extend(b"{\"c_info\"");
            tx.write_all(&head).unwrap();
            drop(tx);
            let e = ctx.migrate_receive(&mut rx).unwrap_err();
            assert!(matches!(e, Error::Migration { .. }), "{e:?}");
            // A valid config, then no libxl stream (libxl 4.17 crashed
            // when its stream failed before the save helper started); then
            // libxl's header and libxc's record, and a libxc stream that
            // is garbage and cut short.
            let mut libxl_start = 0x4c69_6278_6c46_6d74u64.to_be_bytes().to_vec();
            libxl_start.extend(2u32.to_be_bytes());
            libxl_start.extend(0u32.to_be_bytes());
            libxl_start.extend(1u32.to_le_bytes());
            libxl_start.extend(0u32.to_le_bytes());
            let mut cut = libxl_start.clone();
            cut.extend(b"garbage, not a libxc stream");
            for (what, stream) in [
                (
                    "garbage for a stream",
                    &b"\x00\x00garbage, not a libxl stream"[..],
                ),
                ("a libxl stream cut short", &libxl_start[..10]),
                ("a libxc stream of garbage", &cut[..]),
            ] {
                println!("{what}");
                let (r, answer) = hostile_sender(&ctx, good.as_bytes(), stream);
                assert_eq!(answer, Some(b'r'), "the config is taken");
                let e = r.unwrap_err();
                assert!(matches!(e, Error::Migration { .. }), "{e:?}");
                println!("{what}: {e}");
            }
            assert!(
                wait_until(Duration::from_secs(30), || named(&ctx, &name).is_empty()),
                "left behind: {:?}",
                named(&ctx, &name)
            );
            // The context works on.
            assert!(ctx.domains().unwrap().iter().any(|d| d.domid.is_dom0()));
        },
    );
}

/// Finding 6: libxl leaves a guest it failed to save suspended; the save
/// now resumes it (as xl does), and says so.
#[test]
fn a_save_that_fails_resumes_the_guest_which_counts_on() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}hostile-savefail");
    let guard = counting_guest(&ctx, &name, xenlight::DomainType::Pv);
    // A 1 MiB tmpfs: the guest's memory does not fit, the write fails
    // after libxl has suspended it.
    let dir = format!("/tmp/{name}");
    std::fs::create_dir_all(&dir).unwrap();
    run("mount", &["-t", "tmpfs", "-o", "size=1m", "tmpfs", &dir]);
    let e = ctx.save(guard.domid, format!("{dir}/g.save")).unwrap_err();
    let _ = std::process::Command::new("umount").arg(&dir).status();
    println!("{e}");
    assert!(matches!(e, Error::Save { resumed: true, .. }), "{e:?}");
    assert_counts_on(&ctx, &name, guard.domid, "the failed save");
}

/// Finding 7: a receiver whose hand-over fails after "go" destroys its
/// copy and tells the sender, which resumes its own: the guest runs on
/// at the sender under its name, and nothing is left at the receiver.
/// PVH: live migration of a PV guest fails earlier here (libxc refuses
/// its shadow log-dirty), before any "go", so it would prove nothing.
#[test]
fn a_receiver_that_fails_after_go_gives_the_guest_back_to_the_sender() {
    retry_after_triple_fault(|| {
        let ctx = Context::new().unwrap();
        let name = format!("{PREFIX}hostile-handover");
        let guard = counting_guest(&ctx, &name, xenlight::DomainType::Pvh);
        xenlight::HANDOVER_FAULT.store(true, std::sync::atomic::Ordering::SeqCst);
        let e = ctx.migrate_local(guard.domid).unwrap_err();
        xenlight::HANDOVER_FAULT.store(false, std::sync::atomic::Ordering::SeqCst);
        println!("{e}");
        assert!(
            matches!(
                e,
                Error::Migration {
                    stage: "handing over",
                    resumed: true,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(
            ctx.domain_name(guard.domid).unwrap().as_deref(),
            Some(name.as_str())
        );
        assert!(
            wait_until(Duration::from_secs(30), || named(&ctx, &name)
                == [name.clone()]),
            "{:?}",
            named(&ctx, &name)
        );
        let counts = || protocol::guest_counts(&console_log(&name));
        let last = *counts().last().unwrap();
        assert!(
            wait_until(Duration::from_secs(60), || counts()
                .last()
                .is_some_and(|n| *n > last + 1)),
            "the guest does not run at the sender"
        );
    });
}

/// Finding 10: without pciback libxl returns NULL and logs why; that is an
/// error, not an empty list. The child hides the pciback driver from
/// libxl with a tmpfs over /sys/bus/pci/drivers in a mount namespace of
/// its own.
#[test]
fn pci_lists_without_pciback_are_an_error_not_an_empty_list() {
    in_a_child(
        "pci_lists_without_pciback_are_an_error_not_an_empty_list",
        || {
            // SAFETY: plain syscalls on this (single-threaded) child.
            unsafe {
                assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0, "unshare");
                let root = c"/";
                assert_eq!(
                    libc::mount(
                        std::ptr::null(),
                        root.as_ptr(),
                        std::ptr::null(),
                        libc::MS_REC | libc::MS_PRIVATE,
                        std::ptr::null()
                    ),
                    0
                );
                let (src, dir, fs) = (c"none", c"/sys/bus/pci/drivers", c"tmpfs");
                assert_eq!(
                    libc::mount(src.as_ptr(), dir.as_ptr(), fs.as_ptr(), 0, std::ptr::null()),
                    0,
                    "mount a tmpfs over the PCI drivers"
                );
            }
            let ctx = Context::new().unwrap();
            let e = ctx.pci_assignable().unwrap_err();
            println!("{e}");
            assert!(e.to_string().contains("pciback"), "{e}");
        },
    );
}

/// Finding 8: two creates at once that do not both fit: with admission
/// held through the create (as xl holds its lock), one is made and the
/// other is refused as InsufficientMemory, never a libxl failure.
#[test]
fn two_creates_that_do_not_both_fit_give_one_guest_and_one_insufficient_memory() {
    let ctx = Context::new().unwrap();
    ctx.set_autoballoon(xenlight::Autoballoon::Off);
    let free_mib = ctx.free_memory_kib().unwrap() / 1024;
    let each = free_mib * 6 / 10;
    let cfg = |i: usize| pv_guest(&format!("{PREFIX}hostile-admit{i}"), true).memory_mib(each);
    let results: Vec<_> = std::thread::scope(|s| {
        let a = s.spawn(|| ctx.create_domain_paused(&cfg(0)));
        let b = s.spawn(|| ctx.create_domain_paused(&cfg(1)));
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let guards: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|&domid| DomainGuard { ctx: &ctx, domid })
        .collect();
    println!("{free_mib} MiB free, {each} MiB each: {results:?}");
    assert_eq!(guards.len(), 1, "{results:?}");
    let e = results.into_iter().find_map(Result::err).unwrap();
    assert!(matches!(e, Error::InsufficientMemory { .. }), "{e:?}");
}
