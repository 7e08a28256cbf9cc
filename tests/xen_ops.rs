//! Hypervisor tests of the everyday operations built on the generated
//! types: vCPUs, memory, scheduling, CPU pools, topology, rename, userdata.

mod common;

use common::*;
use std::time::Duration;
use xenlight::types::{Bitmap, DomainSchedParams, Scheduler};

use xenlight::{Context, DomainState, Domid, Error};

#[test]
fn dom0_vcpus_are_listed_online_with_their_affinity() {
    let ctx = Context::new().unwrap();
    let v = ctx.vcpus(Domid::DOM0).unwrap();
    let info = ctx.domain_info(Domid::DOM0).unwrap();
    assert_eq!(v.len() as u32, info.vcpu_max, "{v:?}");
    assert!(v.iter().all(|v| v.online), "{v:?}");
    assert!(v.iter().all(|v| v.cpumap.iter().count() > 0), "{v:?}");
}

/// `xl vcpu-pin` in its three forms (one vCPU, `-f`, `all`) reads back
/// pinned; the guest's memory is on node 0, the host's only node.
#[test]
fn a_vcpu_pinned_to_one_cpu_reads_back_pinned() {
    let ctx = Context::new().unwrap();
    let g = paused_guest(&ctx, "ops-pin");
    let only = |cpu: usize| {
        let mut m = Bitmap::default();
        m.set(cpu);
        m
    };
    let pinned_to =
        |ctx: &Context| -> Vec<usize> { ctx.vcpus(g.domid).unwrap()[0].cpumap.iter().collect() };
    ctx.set_vcpu_affinity(g.domid, 0, Some(&only(1)), None)
        .unwrap();
    assert_eq!(pinned_to(&ctx), [1]);
    ctx.set_vcpu_affinity_force(g.domid, 0, Some(&only(0)), None)
        .unwrap();
    assert_eq!(pinned_to(&ctx), [0]);
    ctx.set_all_vcpus_affinity(g.domid, 1, Some(&only(1)), None)
        .unwrap();
    assert_eq!(pinned_to(&ctx), [1]);
    assert!(ctx.set_all_vcpus_affinity(g.domid, 1, None, None).is_err());
    assert_eq!(
        ctx.node_affinity(g.domid)
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        [0]
    );
}

#[test]
fn max_memory_and_memory_target_read_back() {
    let ctx = Context::new().unwrap();
    let g = paused_guest(&ctx, "ops-mem");
    assert_eq!(ctx.memory_target(g.domid).unwrap(), 128 * 1024);
    ctx.set_max_memory(g.domid, 256 * 1024).unwrap();
    let max = ctx.domain_info(g.domid).unwrap().max_memkb;
    assert!(max >= 256 * 1024, "max_memkb {max}");
}

#[test]
fn a_guests_scheduler_weight_is_set_and_read_back() {
    let ctx = Context::new().unwrap();
    let sched = ctx.scheduler().unwrap();
    assert!(
        matches!(sched, Scheduler::Credit | Scheduler::Credit2),
        "{sched}"
    );
    let g = paused_guest(&ctx, "ops-sched");
    ctx.set_sched_params(
        g.domid,
        &DomainSchedParams {
            weight: 512,
            ..Default::default()
        },
    )
    .unwrap();
    let p = ctx.sched_params(g.domid).unwrap();
    assert_eq!((p.sched, p.weight), (sched, 512));
}

#[test]
fn pool0_holds_dom0_and_every_cpu() {
    let ctx = Context::new().unwrap();
    let pools = ctx.cpupools().unwrap();
    let p0 = pools.iter().find(|p| p.poolid == 0).expect("Pool-0");
    assert!(p0.n_dom >= 1, "{p0:?}");
    let cpus = ctx.physinfo().unwrap().nr_cpus as usize;
    assert_eq!(p0.cpumap.iter().count(), cpus, "{p0:?}");
    assert_eq!(p0.sched, ctx.scheduler().unwrap());
}

/// `on_crash="preserve"`'s call: the domain is kept under NAME + suffix
/// with its xenstore `vm` entry at a fresh UUID; Domain-0 and bad suffixes
/// are refused. `xl vncviewer` of a guest without VNC is libxl's error
/// (it returns instead of exec'ing). FLASK: Debian's Xen has no XSM, and
/// each call says so with libxl's error; the Xen built from source has it,
/// booted permissive: the mode reads back as set, its built-in policy
/// loads again, and a file that is no policy is refused.
#[test]
fn a_preserved_domain_is_renamed_with_a_new_vm_uuid_and_flask_answers_as_xen_was_built() {
    let ctx = Context::new().unwrap();
    let g = paused_guest(&ctx, "ops-keep");
    let name = format!("{PREFIX}ops-keep");
    let uuid = ctx.preserve(g.domid, "--kept").unwrap();
    assert_eq!(
        ctx.domain_name(g.domid).unwrap().as_deref(),
        Some(format!("{name}--kept").as_str())
    );
    let vm = run("xenstore-read", &[&format!("/local/domain/{}/vm", g.domid)]);
    assert_eq!(vm.trim(), format!("/vm/{uuid}"));
    assert_eq!(
        run("xenstore-read", &[&format!("/vm/{uuid}/uuid")]).trim(),
        uuid.to_string()
    );
    assert!(matches!(
        ctx.preserve(Domid::DOM0, "--x"),
        Err(Error::Domain0Refused { .. })
    ));
    assert!(matches!(
        ctx.preserve(g.domid, "a/b"),
        Err(Error::InvalidArgument { .. })
    ));

    // `xl vncviewer` of a guest without a VNC display returns (no exec).
    let e = ctx.vncviewer_exec(g.domid, false);
    assert!(matches!(e, Error::Libxl { .. }), "{e:?}");

    if host_has("flask") {
        assert!(!ctx.flask_enforcing().unwrap(), "booted flask=permissive");
        ctx.set_flask_enforcing(true).unwrap();
        let on = ctx.flask_enforcing();
        ctx.set_flask_enforcing(false).unwrap();
        assert!(on.unwrap(), "setenforce 1 did not read back");
        assert!(!ctx.flask_enforcing().unwrap());
        let policy = std::fs::read(std::env::var("XENLIGHT_FLASK_POLICY").unwrap()).unwrap();
        ctx.flask_load_policy(&policy).unwrap();
        let r = ctx.flask_load_policy(b"not a policy");
        assert!(matches!(r, Err(Error::Libxl { .. })), "{r:?}");
        return;
    }
    for (what, r) in [
        ("getenforce", ctx.flask_enforcing().map(drop)),
        ("setenforce", ctx.set_flask_enforcing(false)),
        ("loadpolicy", ctx.flask_load_policy(b"not a policy")),
    ] {
        println!("{what}: {r:?}");
        assert!(matches!(r, Err(Error::Libxl { .. })), "{what}: {r:?}");
    }
}

/// xl's `psr-*` on a host without Intel RDT (QEMU's emulated CPU): no
/// monitoring, each query and setting libxl's typed error; the host's one
/// socket is online.
#[test]
fn psr_calls_say_this_host_has_no_rdt() {
    use xenlight::types::{PsrCbmType, PsrCmtType, PsrFeatType};
    let ctx = Context::new().unwrap();
    let g = paused_guest(&ctx, "ops-psr");
    assert_eq!(
        ctx.online_sockets().unwrap().iter().collect::<Vec<_>>(),
        [0]
    );
    assert!(!ctx.psr_cmt_enabled());
    assert!(!ctx.psr_cmt_type_supported(PsrCmtType::CacheOccupancy));
    assert!(!ctx.psr_cmt_attached(g.domid));
    let sockets = ctx.online_sockets().unwrap();
    let results = [
        ("psr_cmt_attach", ctx.psr_cmt_attach(g.domid)),
        ("psr_cmt_detach", ctx.psr_cmt_detach(g.domid)),
        ("psr_cmt_total_rmid", ctx.psr_cmt_total_rmid().map(drop)),
        (
            "psr_l3_cache_size_kib",
            ctx.psr_l3_cache_size_kib(0).map(drop),
        ),
        (
            "psr_cmt_sample",
            ctx.psr_cmt_sample(g.domid, PsrCmtType::CacheOccupancy, 0)
                .map(drop),
        ),
        (
            "psr_cat_set_cbm",
            ctx.psr_cat_set_cbm(g.domid, PsrCbmType::L3Cbm, &sockets, 0xf),
        ),
        ("psr_cat_info", ctx.psr_cat_info(3).map(drop)),
        (
            "psr_hw_info",
            ctx.psr_hw_info(PsrFeatType::Cat, 3).map(drop),
        ),
        (
            "psr_set_val",
            ctx.psr_set_val(g.domid, PsrCbmType::MbaThrtl, &sockets, 10),
        ),
        (
            "psr_get_val",
            ctx.psr_get_val(g.domid, PsrCbmType::L3Cbm, 0).map(drop),
        ),
    ];
    for (what, r) in results {
        println!("{what}: {r:?}");
        assert!(matches!(r, Err(Error::Libxl { .. })), "{what}: {r:?}");
    }
}

/// What `xl create` counts before it balloons: a 128 MiB PV guest needs
/// its memory and a little more; dom0 is at its target. The host's PCI
/// devices are listed with their node (the host bridge at 00:00.0).
#[test]
fn memory_needed_dom0_at_target_and_the_pci_topology() {
    let ctx = Context::new().unwrap();
    let cfg = pv_guest(&format!("{PREFIX}ops-need"), false);
    let need = ctx.memory_needed_kib(&cfg).unwrap();
    assert!((128 * 1024..160 * 1024).contains(&need), "{need} KiB");
    ctx.wait_for_memory_target(Domid::DOM0, 1).unwrap();
    let pci = ctx.pci_topology().unwrap();
    assert!(
        pci.iter().any(|d| (d.seg, d.bus, d.devfn) == (0, 0, 0)),
        "{pci:?}"
    );
}

/// xl's pool arguments (`sched-credit2 -p`, `cpupool-*`): a name or an id,
/// Pool-0's name read back, unknown pools refused with a typed error.
#[test]
fn cpupools_are_found_by_name_or_id_and_unknown_ones_are_refused() {
    let ctx = Context::new().unwrap();
    assert_eq!(ctx.cpupool_name(0).unwrap().as_deref(), Some("Pool-0"));
    assert_eq!(ctx.cpupool_name(4321).unwrap(), None);
    assert_eq!(ctx.find_cpupool("Pool-0").unwrap(), 0);
    assert_eq!(ctx.find_cpupool("0").unwrap(), 0);
    for bad in ["no-such-pool", "4321", "Pool-0\0x"] {
        let e = ctx.find_cpupool(bad).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{bad:?}: {e:?}");
    }
}

/// `xl sched-credit2 -s [-r]`: Pool-0's rate limit is set and read back
/// (then put back); the credit scheduler's parameters of a credit2 pool,
/// and a rate limit out of libxl's range, are libxl errors.
#[test]
fn a_credit2_pools_rate_limit_is_set_and_read_back() {
    use xenlight::types::SchedCredit2Params;
    let ctx = Context::new().unwrap();
    assert_eq!(ctx.scheduler().unwrap(), Scheduler::Credit2);
    let was = ctx.credit2_params(0).unwrap();
    let _restore = Restore(&ctx, was.clone());
    ctx.set_credit2_params(0, &SchedCredit2Params { ratelimit_us: 1500 })
        .unwrap();
    assert_eq!(ctx.credit2_params(0).unwrap().ratelimit_us, 1500);
    let e = ctx
        .set_credit2_params(0, &SchedCredit2Params { ratelimit_us: 5 })
        .unwrap_err();
    assert!(matches!(e, Error::Libxl { .. }), "{e:?}");
    assert_eq!(ctx.credit2_params(0).unwrap().ratelimit_us, 1500);
    let e = ctx.credit_params(0).unwrap_err();
    assert!(matches!(e, Error::Libxl { .. }), "{e:?}");

    struct Restore<'a>(&'a Context, SchedCredit2Params);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let _ = self.0.set_credit2_params(0, &self.1);
        }
    }
}

/// The host counts xl reads (`libxl_get_online_cpus`, `_max_cpus`,
/// `_max_nodes`), a node's CPUs (`node:0` is every CPU of this one-node
/// host; a node it lacks has none) and run-time hypervisor parameters.
#[test]
fn host_cpu_counts_node_cpus_and_runtime_parameters_answer() {
    let ctx = Context::new().unwrap();
    let p = ctx.physinfo().unwrap();
    assert_eq!(ctx.online_cpus().unwrap(), p.nr_cpus);
    assert!(ctx.max_cpus().unwrap() >= p.nr_cpus);
    assert!(ctx.max_nodes().unwrap() >= p.nr_nodes);
    let node0: Vec<usize> = ctx.node_cpus(0).unwrap().iter().collect();
    assert_eq!(node0, (0..p.nr_cpus as usize).collect::<Vec<_>>());
    assert_eq!(ctx.node_cpus(5).unwrap().iter().count(), 0);
    ctx.set_parameters("loglvl=warning").unwrap();
    assert!(matches!(
        ctx.set_parameters(" "),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(ctx.set_parameters("no-such-parameter=1").is_err());
}

#[test]
fn topology_and_numa_cover_the_hosts_cpus_and_memory() {
    let ctx = Context::new().unwrap();
    let p = ctx.physinfo().unwrap();
    let topo = ctx.cpu_topology().unwrap();
    assert_eq!(topo.len() as u32, p.max_cpu_id + 1, "{topo:?}");
    let numa = ctx.numa_info().unwrap();
    assert_eq!(numa.len() as u32, p.nr_nodes, "{numa:?}");
    let total: u64 = numa.iter().map(|n| n.size).sum();
    assert!(
        total >= p.total_memkb * 1024 / 2,
        "{numa:?} vs {} KiB",
        p.total_memkb
    );
}

#[test]
fn a_renamed_domain_is_found_under_its_new_name_and_bad_names_are_refused() {
    let ctx = Context::new().unwrap();
    let g = paused_guest(&ctx, "ops-rename");
    let new = format!("{PREFIX}ops-renamed");
    ctx.rename(g.domid, &new).unwrap();
    assert_eq!(ctx.domid_by_name(&new).unwrap(), g.domid);
    assert!(matches!(
        ctx.rename(g.domid, "a/b"),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(ctx.rename(g.domid, "nul\0").is_err());
}

#[test]
fn userdata_is_stored_read_back_and_removed() {
    let ctx = Context::new().unwrap();
    let g = paused_guest(&ctx, "ops-userdata");
    assert_eq!(ctx.userdata(g.domid, "xlt-agent").unwrap(), None);
    ctx.store_userdata(g.domid, "xlt-agent", b"owner=team-a\n")
        .unwrap();
    assert_eq!(
        ctx.userdata(g.domid, "xlt-agent").unwrap().as_deref(),
        Some(&b"owner=team-a\n"[..])
    );
    ctx.remove_userdata(g.domid, "xlt-agent").unwrap();
    assert_eq!(ctx.userdata(g.domid, "xlt-agent").unwrap(), None);
    assert!(ctx.store_userdata(g.domid, "../x", b"").is_err());
}

#[test]
fn operations_on_a_missing_domain_say_so() {
    let ctx = Context::new().unwrap();
    let gone = Domid::new(4000).unwrap();
    for (what, r) in [
        ("vcpus", ctx.vcpus(gone).map(|_| ())),
        ("sched_params", ctx.sched_params(gone).map(|_| ())),
        ("memory_target", ctx.memory_target(gone).map(|_| ())),
        ("set_max_memory", ctx.set_max_memory(gone, 1 << 20)),
    ] {
        let e = r.expect_err(what);
        assert!(e.is_domain_not_found(), "{what}: {e:?}");
    }
}

/// Issue 15: a guest that counts on its console is saved to a file,
/// destroyed, restored from the file alone, and counts on from where it
/// stopped, not from 1.
#[test]
fn a_counting_guest_saved_and_restored_from_the_file_alone_counts_on() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}ops-save");
    let guard = counting_guest(&ctx, &name, xenlight::DomainType::Pv);
    let domid = guard.domid;
    let counts = || protocol::guest_counts(&console_log(&name));
    let path = format!("/tmp/{name}.save");
    ctx.save(domid, &path).expect("save");
    assert!(
        !ctx.domain_exists(domid).unwrap(),
        "save destroys the domain"
    );
    drop(guard);
    let before = counts();
    let last = *before.last().unwrap();
    let restored = ctx.restore(&path).expect("restore");
    let _guard = DomainGuard {
        ctx: &ctx,
        domid: restored,
    };
    assert_eq!(
        ctx.domain_name(restored).unwrap().as_deref(),
        Some(name.as_str())
    );
    assert!(
        wait_until(Duration::from_secs(90), || counts().len()
            >= before.len() + 3),
        "the restored guest did not count on: {}",
        console_log(&name)
    );
    let after = counts()[before.len()..].to_vec();
    assert!(
        after.iter().all(|&n| n > last) && after[0] <= last + 2,
        "counted {before:?} before the save, {after:?} after the restore"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn restoring_a_file_that_is_not_a_save_file_is_a_typed_error() {
    let ctx = Context::new().unwrap();
    let path = format!("/tmp/{PREFIX}not-a-save");
    std::fs::write(&path, b"definitely not a xenlight save file").unwrap();
    let e = ctx.restore(&path).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    assert!(ctx.restore("/tmp/no-such-save-file").is_err());
    assert!(ctx.save(Domid::DOM0, "/tmp/dom0.save").is_err());
}

/// `xl vcpu-set`: a guest booted with 1 of 2 vCPUs online brings the
/// second up when asked, gives it back at 1 and takes it again at 2, each
/// step seen inside the guest (its /sys/devices/system/cpu/online) and in
/// `libxl_list_vcpu`.
#[test]
fn vcpu_set_takes_a_guest_from_1_to_2_to_1_to_2_vcpus_seen_inside() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}ops-vcpuset");
    let mut cfg = pv_guest(&name, true);
    // Two vCPUs, one online at boot.
    cfg.libxl.b_info.max_vcpus = 2;
    cfg.libxl.b_info.avail_vcpus = Bitmap::with_bits(2);
    cfg.libxl.b_info.avail_vcpus.set(0);
    let domid = ctx.create_domain(&cfg).expect("create");
    let _g = DomainGuard { ctx: &ctx, domid };
    // What the guest said its online CPUs were, in order.
    let seen = || -> Vec<String> {
        console_log(&name)
            .lines()
            .filter_map(|l| l.split(protocol::GUEST_CPUS).nth(1))
            .filter_map(|l| l.split("@@").next())
            .map(str::to_owned)
            .collect()
    };
    let online = || {
        ctx.vcpus(domid)
            .unwrap()
            .iter()
            .filter(|v| v.online)
            .count()
    };
    let mut want: Vec<String> = Vec::new();
    for (step, n) in [(0, 1u32), (1, 2), (2, 1), (3, 2)] {
        if step > 0 {
            ctx.set_vcpus_online(domid, n).unwrap();
        }
        want.push(if n == 1 { "0" } else { "0-1" }.to_owned());
        assert!(
            wait_until(Duration::from_secs(60), || seen() == want
                && online() == n as usize),
            "step {step} ({n} vCPUs): the guest said {:?}, libxl lists {} online\n{}",
            seen(),
            online(),
            console_log(&name)
        );
    }
    assert!(
        ctx.set_vcpus_online(domid, 3).is_err(),
        "more than the maximum"
    );
    assert!(ctx.set_vcpus_online(domid, 0).is_err());
}

/// `xl sysrq`: the guest's kernel handles the key ('h' prints its help).
#[test]
fn a_sysrq_key_reaches_the_guests_kernel() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}ops-sysrq");
    let g = booted_guest(&ctx, &name);
    ctx.send_sysrq(g.domid, 'h').unwrap();
    assert!(
        wait_until(Duration::from_secs(30), || console_log(&name)
            .contains("sysrq: HELP")),
        "{}",
        console_log(&name)
    );
    assert!(ctx.send_sysrq(g.domid, '\n').is_err());
}

/// `xl cpupool-create` / `cpupool-migrate` / `cpupool-rename` /
/// `cpupool-destroy`: CPU 1 moves to a new pool, a guest follows it, and
/// everything is put back (also when the test fails).
#[test]
fn a_cpu_pool_is_made_from_a_free_cpu_holds_a_guest_and_goes_away() {
    let ctx = Context::new().unwrap();
    if ctx.physinfo().unwrap().nr_cpus < 2 {
        panic!("the Xen host needs 2 CPUs for this test");
    }
    ctx.cpupool_remove_cpu(0, 1).unwrap();
    let mut restore = PoolRestore {
        ctx: &ctx,
        pool: None,
        cpus: &[1],
    };
    let mut cpus = Bitmap::default();
    cpus.set(1);
    let sched = ctx.scheduler().unwrap();
    let name = format!("{PREFIX}pool");
    let pool = ctx.create_cpupool(&name, sched, &cpus).unwrap();
    restore.pool = Some(pool);
    let info = ctx.cpupools().unwrap();
    let p = info
        .iter()
        .find(|p| p.poolid == pool)
        .expect("the new pool");
    assert_eq!(p.pool_name.as_deref(), Some(name.as_str()));
    assert_eq!(p.cpumap.iter().collect::<Vec<_>>(), vec![1]);
    // By NUMA node: node 0's CPUs in the pool leave it (CPU 1), and its
    // free CPUs join it again (CPU 1; CPU 0 stays in Pool-0).
    assert_eq!(ctx.cpupool_remove_node(pool, 0).unwrap(), 1);
    assert_eq!(ctx.cpupool_add_node(pool, 0).unwrap(), 1);
    // By CPU map (xl cpupool-cpu-remove / -add POOL 1).
    ctx.cpupool_remove_cpus(pool, &cpus).unwrap();
    assert_eq!(ctx.free_cpus().unwrap().iter().collect::<Vec<_>>(), [1]);
    ctx.cpupool_add_cpus(pool, &cpus).unwrap();
    assert_eq!(ctx.free_cpus().unwrap().iter().count(), 0);
    let cpus_now = |ctx: &Context| {
        ctx.cpupools()
            .unwrap()
            .iter()
            .find(|p| p.poolid == pool)
            .map(|p| p.cpumap.iter().collect::<Vec<_>>())
    };
    assert_eq!(cpus_now(&ctx), Some(vec![1]));
    {
        let g = paused_guest(&ctx, "ops-pool");
        ctx.move_to_cpupool(g.domid, pool).unwrap();
        assert_eq!(ctx.domain_info(g.domid).unwrap().cpupool, pool);
        let renamed = format!("{PREFIX}pool2");
        ctx.rename_cpupool(pool, &renamed).unwrap();
        let info = ctx.cpupools().unwrap();
        let p = info.iter().find(|p| p.poolid == pool).unwrap();
        assert_eq!(
            (p.pool_name.as_deref(), p.n_dom),
            (Some(renamed.as_str()), 1)
        );
        assert!(
            ctx.destroy_cpupool(pool).is_err(),
            "a pool with a domain in it"
        );
    }
    // The guest is gone: the pool can go, and CPU 1 goes back to Pool-0.
    drop(restore);
    let p0 = ctx.cpupools().unwrap();
    assert!(p0.iter().all(|p| p.poolid != pool));
    let cpus0 = p0
        .iter()
        .find(|p| p.poolid == 0)
        .unwrap()
        .cpumap
        .iter()
        .count();
    assert_eq!(cpus0, ctx.physinfo().unwrap().nr_cpus as usize);
}

/// Issue 15: a counting guest is live-migrated to this same host over a
/// socket pair: the new domain has the name and UUID, the old one is gone,
/// and the guest counts on without starting over.
#[test]
fn a_counting_guest_live_migrated_locally_keeps_name_uuid_and_count() {
    retry_after_triple_fault(|| {
        let ctx = Context::new().unwrap();
        let name = format!("{PREFIX}ops-migrate");
        // PVH: live migration tracks dirty pages with HAP (PV guests need
        // shadow log-dirty, which this Xen host's libxc save refuses).
        let guard = counting_guest(&ctx, &name, xenlight::DomainType::Pvh);
        let domid = guard.domid;
        // xenconsoled logs the incoming domain under the name it was created
        // with (NAME--incoming).
        let counts = || {
            let log = console_log(&name) + &console_log(&format!("{name}--incoming"));
            protocol::guest_counts(&log)
        };
        let uuid = ctx.domain_info(domid).unwrap().uuid;
        let before = counts().len();
        let moved = ctx.migrate_local(domid).expect("migrate_local");
        let _guard = DomainGuard {
            ctx: &ctx,
            domid: moved,
        };
        drop(guard);
        assert_ne!(moved, domid);
        assert!(!ctx.domain_exists(domid).unwrap(), "the old domain is gone");
        assert_eq!(
            ctx.domain_name(moved).unwrap().as_deref(),
            Some(name.as_str())
        );
        assert_eq!(ctx.domain_info(moved).unwrap().uuid, uuid);
        // The console log of the name continues with the new domain's output.
        assert!(
            wait_until(Duration::from_secs(90), || counts().len() >= before + 3),
            "the migrated guest did not count on: {}",
            console_log(&name)
        );
        let all = counts();
        assert!(
            all.windows(2).all(|w| w[1] > w[0]),
            "the count started over: {all:?}"
        );
    });
}

/// Issue 26: `xl remus -b` as a safe call. A PV guest's replication ends
/// with a typed error and the guest counts on: at once on Debian's Xen
/// (its log-dirty mode needs shadow paging, which that build leaves out),
/// after its memory and checkpoints went out on a Xen with shadow paging,
/// when the reader stops as a lost backup host does. Dom0 and a missing
/// domain are refused before libxl is asked.
#[test]
fn remus_of_a_pv_guest_ends_with_its_reader_and_the_guest_counts_on() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}ops-remus");
    let guard = counting_guest(&ctx, &name, xenlight::DomainType::Pv);
    let (info, send, reader) = remus_into_a_reader_that_stops();
    let e = ctx.remus(guard.domid, &info, &send, None).unwrap_err();
    drop(send);
    println!("{e}");
    assert_replicated_as_xen_allows(reader.join().unwrap());
    assert!(
        matches!(
            e,
            Error::Migration {
                stage: "replicating",
                resumed: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert_counts_on(&ctx, &name, guard.domid, "the failed replication");
    let null = std::fs::File::create("/dev/null").unwrap();
    assert!(matches!(
        ctx.remus(Domid::DOM0, &info, &null, None),
        Err(Error::Domain0Refused { .. })
    ));
    assert!(ctx
        .remus(Domid::new(4004).unwrap(), &info, &null, None)
        .unwrap_err()
        .is_domain_not_found());
}

/// A migration whose receiver goes away (before it is ready, or halfway
/// through the stream) leaves the original running under its name, with a
/// typed error that says so.
#[test]
fn a_migration_whose_receiver_fails_leaves_the_original_running() {
    retry_after_triple_fault(|| {
        use std::io::{Read, Write};
        let ctx = Context::new().unwrap();
        let name = format!("{PREFIX}ops-migrate-fail");
        let cfg = guest_of_type(&name, xenlight::DomainType::Pvh, true);
        let domid = ctx.create_domain(&cfg).expect("create");
        let _guard = DomainGuard { ctx: &ctx, domid };
        // (receiver reads this much of the libxl stream, then hangs up)
        for stream_bytes in [None, Some(256 * 1024)] {
            let (mut tx, rx) = std::os::unix::net::UnixStream::pair().unwrap();
            let receiver = std::thread::spawn(move || {
                let mut rx = rx;
                let mut head = [0u8; 20];
                let _ = rx.read_exact(&mut head);
                let len = u32::from_le_bytes([head[16], head[17], head[18], head[19]]) as usize;
                let _ = rx.read_exact(&mut vec![0u8; len]);
                if let Some(n) = stream_bytes {
                    let _ = rx.write_all(b"r");
                    let _ = rx.read_exact(&mut vec![0u8; n]);
                }
            });
            let e = ctx
                .migrate_send(domid, &mut tx)
                .expect_err("the receiver hung up");
            receiver.join().unwrap();
            assert!(
                matches!(e, Error::Migration { resumed: true, .. }),
                "{stream_bytes:?}: {e:?}"
            );
            let info = ctx.domain_info(domid).unwrap();
            assert!(
                matches!(
                    info.state,
                    DomainState::Running | DomainState::Blocked | DomainState::Idle
                ),
                "{stream_bytes:?}: {:?}",
                info.state
            );
            assert_eq!(
                ctx.domain_name(domid).unwrap().as_deref(),
                Some(name.as_str())
            );
        }
        assert!(ctx
            .migrate_local(Domid::new(4001).unwrap())
            .unwrap_err()
            .is_domain_not_found());
    });
}

/// Issue 15: the ACPI power-button trigger shuts an HVM guest down (its OS
/// sees the button and powers off); PV guests have no ACPI and the trigger
/// is refused with a typed error, the guest untouched.
#[test]
fn the_power_button_trigger_powers_off_an_hvm_guest_and_is_refused_for_pv() {
    if !device_model_available(
        "the_power_button_trigger_powers_off_an_hvm_guest_and_is_refused_for_pv",
    ) {
        return;
    }
    retry_after_triple_fault(|| {
        use xenlight::types::Trigger;
        let ctx = Context::new().unwrap();
        let name = format!("{PREFIX}ops-power");
        let (cfg, serial) = hvm_serial_guest(&name, "xlacpi xlstay");
        let domid = ctx.create_domain(&cfg).expect("create HVM guest");
        let _guard = DomainGuard { ctx: &ctx, domid };
        let log = || std::fs::read_to_string(&serial).unwrap_or_default();
        assert!(
            wait_until(Duration::from_secs(240), || log()
                .contains(protocol::GUEST_ACPI_ARMED)),
            "the guest did not arm its power button: {}",
            log()
        );
        ctx.send_trigger(domid, Trigger::Power, 0)
            .expect("power button");
        let reason = ctx
            .wait_for_shutdown(domid, Duration::from_secs(120))
            .expect("wait");
        assert_eq!(reason, xenlight::ShutdownReason::Poweroff);
        assert!(log().contains(protocol::GUEST_POWER_BUTTON), "{}", log());

        let pv = paused_guest(&ctx, "ops-power-pv");
        let e = ctx
            .send_trigger(pv.domid, Trigger::Power, 0)
            .expect_err("PV has no ACPI");
        assert!(matches!(e, Error::Libxl { .. }), "{e:?}");
        assert!(ctx.domain_exists(pv.domid).unwrap());
        assert!(ctx
            .send_trigger(Domid::new(4002).unwrap(), Trigger::Nmi, 0)
            .unwrap_err()
            .is_domain_not_found());
    });
}

/// A core dump of a running domain is an ELF file of its memory; the
/// domain runs on; a missing domain is DomainNotFound and leaves no file.
#[test]
fn a_core_dump_is_an_elf_file_and_the_domain_runs_on() {
    let ctx = Context::new().unwrap();
    // A booted guest: before its kernel has set up its p2m (e.g. paused
    // at creation), libxc has nothing to dump.
    let name = format!("{PREFIX}ops-dump");
    let domid = ctx.create_domain(&pv_guest(&name, true)).expect("create");
    let g = DomainGuard { ctx: &ctx, domid };
    assert!(wait_for_console(
        &name,
        &protocol::guest_hello(&name),
        Duration::from_secs(90)
    ));
    let path = format!("/tmp/{PREFIX}ops-dump.core");
    ctx.core_dump_to(g.domid, &path).expect("core dump");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert!(
        bytes.len() > 100 << 20,
        "{} bytes for a 128 MiB guest",
        bytes.len()
    );
    assert!(ctx.domain_exists(g.domid).unwrap());
    let _ = std::fs::remove_file(&path);
    let missing = format!("/tmp/{PREFIX}ops-dump-missing.core");
    assert!(ctx
        .core_dump_to(Domid::new(4003).unwrap(), &missing)
        .unwrap_err()
        .is_domain_not_found());
    assert!(!std::path::Path::new(&missing).exists());
}

/// suspend_only leaves a counting guest suspended in memory (it stops
/// counting); resume lets it count on from where it stopped.
#[test]
fn a_guest_suspended_in_place_stops_and_counts_on_after_resume() {
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}ops-suspend");
    let guard = counting_guest(&ctx, &name, xenlight::DomainType::Pv);
    let domid = guard.domid;
    let counts = || protocol::guest_counts(&console_log(&name));
    ctx.suspend_only(domid).expect("suspend_only");
    assert_eq!(
        ctx.domain_info(domid).unwrap().state,
        DomainState::Shutdown(xenlight::ShutdownReason::Suspend)
    );
    let at_suspend = counts().len();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        counts().len() <= at_suspend + 1,
        "a suspended guest counted on"
    );
    ctx.resume(domid).expect("resume");
    assert!(
        wait_until(Duration::from_secs(60), || counts().len() >= at_suspend + 3),
        "the resumed guest did not count on: {}",
        console_log(&name)
    );
    let all = counts();
    assert!(all.windows(2).all(|w| w[1] > w[0]), "{all:?}");
    assert!(ctx.suspend_only(Domid::new(0).unwrap()).is_err());
}

/// Issue 14: a guest's console is read through its pty (not xenconsoled's
/// log file) from the first byte: opened while the guest is still paused.
#[test]
fn a_guest_console_is_read_through_its_pty_from_the_first_byte() {
    use std::io::Read;
    use xenlight::ConsoleKind;
    let ctx = Context::new().unwrap();
    let name = format!("{PREFIX}ops-console");
    let domid = ctx
        .create_domain_paused(&pv_guest(&name, true))
        .expect("create paused");
    let _guard = DomainGuard { ctx: &ctx, domid };
    // xenconsoled sets the pty up shortly after the domain appears.
    assert!(
        wait_until(Duration::from_secs(20), || ctx
            .console_tty(domid, ConsoleKind::Primary)
            .is_ok()),
        "no console pty"
    );
    let mut console = ctx.console(domid, ConsoleKind::Primary).unwrap();
    assert_eq!(
        ctx.console_tty(domid, ConsoleKind::Pv(0)).unwrap(),
        console.path()
    );
    console.set_read_timeout(Some(Duration::from_secs(90)));
    ctx.unpause(domid).unwrap();
    let hello = protocol::guest_hello(&name);
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(&hello) {
        match console.read(&mut buf) {
            Ok(0) => panic!("console closed: {}", String::from_utf8_lossy(&seen)),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) => panic!("{e}: read so far: {}", String::from_utf8_lossy(&seen)),
        }
    }
    // From the first byte: everything xenconsoled logged up to the marker
    // came through the pty too.
    let strip = |s: &str| s.replace('\r', "");
    let log = strip(&console_log(&name));
    let upto = &log[..log.find(&hello).expect("the log has the marker") + hello.len()];
    let seen = strip(&String::from_utf8_lossy(&seen));
    assert!(seen.contains(upto.trim()), "log:\n{upto}\npty:\n{seen}");
    assert!(ctx
        .console_tty(Domid::new(4005).unwrap(), ConsoleKind::Primary)
        .unwrap_err()
        .is_domain_not_found());
}

/// Xen's console ring holds the hypervisor's boot messages (`xl dmesg`).
#[test]
fn xen_dmesg_holds_the_hypervisor_boot_messages() {
    let ctx = Context::new().unwrap();
    let text = ctx.xen_dmesg(false).unwrap();
    // The C baseline: `xl dmesg` reads the same ring.
    let xl = run("xl", &["dmesg"]);
    let first = xl
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    assert!(
        !text.is_empty() && text.contains(first.trim()),
        "ours ({} bytes): {}\nxl dmesg ({} bytes): {}",
        text.len(),
        &text[..text.len().min(500)],
        xl.len(),
        &xl[..xl.len().min(500)]
    );
}

/// A guest's kexec shuts its HVM domain down for a soft reset;
/// `handle_shutdown` resets it in place (same domid, as xl does) and the
/// kexec'd kernel then boots in it and powers off.
#[test]
fn a_soft_reset_of_an_hvm_guest_is_carried_out_in_place() {
    if !device_model_available("a_soft_reset_of_an_hvm_guest_is_carried_out_in_place") {
        return;
    }
    retry_after_triple_fault(|| {
        let ctx = Context::new().unwrap();
        let name = format!("{PREFIX}ops-softreset");
        let g = guest_dir();
        // The guest reads its next kernel and initrd from two disks, padded
        // to whole sectors.
        let disk_of = |file: &str| {
            let mut b = std::fs::read(g.join(file)).unwrap();
            b.resize(b.len().div_ceil(512) * 512, 0);
            let path = format!("/tmp/{name}-{file}.img");
            std::fs::write(&path, b).unwrap();
            path
        };
        let (cfg, serial) = hvm_serial_guest(&name, "xlkexec");
        let cfg = cfg
            .memory_mib(192)
            .disk(xenlight::Disk::new(disk_of("vmlinuz"), "xvda"))
            .disk(xenlight::Disk::new(disk_of("guest.cpio.gz"), "xvdb"))
            .on_soft_reset(xenlight::Action::SoftReset);
        let domid = ctx.create_domain(&cfg).expect("create HVM guest");
        let _guard = DomainGuard { ctx: &ctx, domid };
        let log = || std::fs::read_to_string(&serial).unwrap_or_default();
        let reason = ctx
            .wait_for_shutdown(domid, Duration::from_secs(300))
            .expect("wait for the kexec");
        assert_eq!(reason, xenlight::ShutdownReason::SoftReset, "{}", log());
        assert!(log().contains(protocol::GUEST_KEXEC), "{}", log());

        assert_eq!(
            ctx.handle_shutdown(domid).expect("soft reset"),
            xenlight::AfterShutdown::SoftReset
        );
        assert_eq!(ctx.domain_info(domid).unwrap().shutdown_reason, None);
        let reset_hello = format!("@@GUEST-HELLO {name}-reset@@");
        assert!(
            wait_until(Duration::from_secs(300), || log().contains(&reset_hello)),
            "the kexec'd kernel did not boot in the reset domain: {}",
            log()
        );
        let reason = ctx
            .wait_for_shutdown(domid, Duration::from_secs(120))
            .expect("wait for the poweroff");
        assert_eq!(reason, xenlight::ShutdownReason::Poweroff);
    });
}

/// Issue 15 with 4 CPUs (`cargo xtask vm-test --cpus 4 four_cpus`): a
/// credit2 pool made of CPUs 2 and 3 takes a 2-vCPU guest, whose vCPUs
/// are pinned one to each CPU and seen so in `libxl_list_vcpu`, whose
/// weight is set and read back; then the pool goes and Pool-0 has every
/// CPU again.
#[test]
#[ignore = "needs a Xen host with 4 CPUs: cargo xtask vm-test --cpus 4 four_cpus"]
fn four_cpus_a_two_cpu_credit2_pool_runs_a_pinned_guest() {
    let ctx = Context::new().unwrap();
    let nr_cpus = ctx.physinfo().unwrap().nr_cpus;
    assert!(nr_cpus >= 4, "the Xen host has {nr_cpus} CPUs");
    let mut restore = PoolRestore {
        ctx: &ctx,
        pool: None,
        cpus: &[2, 3],
    };
    let mut cpus = Bitmap::default();
    for cpu in [2, 3] {
        ctx.cpupool_remove_cpu(0, cpu).unwrap();
        cpus.set(cpu as usize);
    }
    let pool = ctx
        .create_cpupool(&format!("{PREFIX}pool4"), Scheduler::Credit2, &cpus)
        .unwrap();
    restore.pool = Some(pool);
    let info = ctx.cpupools().unwrap();
    let p = info.iter().find(|p| p.poolid == pool).unwrap();
    assert_eq!(
        (p.sched, p.cpumap.iter().collect::<Vec<_>>()),
        (Scheduler::Credit2, vec![2, 3])
    );
    {
        let name = format!("{PREFIX}ops-pool4");
        let domid = ctx
            .create_domain(&pv_guest(&name, true).vcpus(2))
            .expect("create a 2-vCPU guest");
        let _guard = DomainGuard { ctx: &ctx, domid };
        ctx.move_to_cpupool(domid, pool).unwrap();
        assert_eq!(ctx.domain_info(domid).unwrap().cpupool, pool);
        for (vcpu, cpu) in [(0u32, 2usize), (1, 3)] {
            let mut hard = Bitmap::default();
            hard.set(cpu);
            ctx.set_vcpu_affinity(domid, vcpu, Some(&hard), None)
                .unwrap();
        }
        // Pinned: each vCPU's hard affinity is its one CPU, and once it
        // has run there, it is seen on it.
        let pinned = || {
            let v = ctx.vcpus(domid).unwrap();
            v.len() == 2
                && v.iter().all(|v| {
                    let want = if v.vcpuid == 0 { 2 } else { 3 };
                    v.cpumap.iter().collect::<Vec<_>>() == vec![want] && v.cpu as usize == want
                })
        };
        assert!(
            wait_until(Duration::from_secs(60), pinned),
            "{:?}",
            ctx.vcpus(domid).unwrap()
        );
        ctx.set_sched_params(
            domid,
            &DomainSchedParams {
                weight: 768,
                ..Default::default()
            },
        )
        .unwrap();
        let params = ctx.sched_params(domid).unwrap();
        assert_eq!((params.sched, params.weight), (Scheduler::Credit2, 768));
    }
    drop(restore);
    let pools = ctx.cpupools().unwrap();
    assert!(pools.iter().all(|p| p.poolid != pool));
    let pool0 = pools.iter().find(|p| p.poolid == 0).unwrap();
    assert_eq!(pool0.cpumap.iter().count(), nr_cpus as usize);
}

/// Operations that would stop, freeze or move Domain-0 (which runs this
/// toolstack) are typed refusals naming it, never calls into libxl; dom0
/// runs on afterwards.
#[test]
fn domain_0_is_refused_by_save_suspend_and_migration() {
    let ctx = Context::new().unwrap();
    let (mut tx, _rx) = std::os::unix::net::UnixStream::pair().unwrap();
    for (op, r) in [
        ("save", ctx.save(Domid::DOM0, "/tmp/dom0.save")),
        ("suspend_only", ctx.suspend_only(Domid::DOM0)),
        ("migrate_send", ctx.migrate_send(Domid::DOM0, &mut tx)),
        ("migrate_local", ctx.migrate_local(Domid::DOM0).map(|_| ())),
    ] {
        let e = r.expect_err(op);
        assert!(matches!(e, Error::Domain0Refused { .. }), "{op}: {e:?}");
        assert!(e.to_string().contains("Domain-0"), "{op}: {e}");
    }
    assert!(!std::path::Path::new("/tmp/dom0.save").exists());
    let d0 = ctx.domain_info(Domid::DOM0).unwrap();
    assert_eq!(d0.shutdown_reason, None);
    assert!(
        matches!(d0.state, DomainState::Running | DomainState::Blocked),
        "{:?}",
        d0.state
    );
}

/// Before Xen 4.20 libxl has no console escape setting: asking for one is
/// refused before anything is executed.
#[cfg(not(libxl_have = "CONSOLE_ESCAPE_CHARACTER"))]
#[test]
fn console_exec_with_an_escape_is_refused_before_xen_4_20() {
    let ctx = Context::new().unwrap();
    let dom0 = xenlight::Domid::new(0).unwrap();
    let e = ctx.console_exec(dom0, xenlight::ConsoleKind::Primary, Some("^b"));
    assert!(
        matches!(
            e,
            Error::InvalidArgument {
                what: "console escape",
                ..
            }
        ),
        "{e:?}"
    );
}

/// libxl's destroy forks a child that makes the destroy hypercall itself.
/// A fork while another thread holds libxencall's buffer-cache lock (any
/// hypercall) gave a child stuck on that lock and a destroy that never
/// returned; the crate's fork hook discards such a child and forks again
/// (docs/RELIABILITY.md). Two threads make hypercalls without pause while
/// this one creates and destroys guests; a hung destroy trips the watchdog.
#[test]
fn destroy_returns_while_other_threads_make_hypercalls() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    const CYCLES: usize = 80;
    let ctx = Context::new().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let pollers: Vec<_> = (0..2)
        .map(|_| {
            let (stop, calls) = (stop.clone(), calls.clone());
            // A context's close frees libxencall's cached buffers under
            // the lock: the widest window there is, so each round opens one.
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let ctx = Context::new().unwrap();
                    for _ in 0..4 {
                        ctx.domains().expect("domains");
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let cfg = pv_guest(&format!("{PREFIX}fork-lock"), true);
    for _ in 0..CYCLES {
        let _dog = watchdog(
            "a create and destroy beside threads that make hypercalls",
            Duration::from_secs(90),
        );
        let d = ctx.create_domain_paused(&cfg).expect("create");
        ctx.destroy(d).expect("destroy");
        assert!(wait_gone(&ctx, d, Duration::from_secs(30)), "{d} stays");
    }
    stop.store(true, Ordering::Relaxed);
    for p in pollers {
        p.join().unwrap();
    }
    let calls = calls.load(Ordering::Relaxed);
    println!(
        "{CYCLES} destroys beside {calls} contexts opened, used and closed on two other threads"
    );
    assert!(calls > CYCLES, "the other threads barely ran: {calls}");
}
