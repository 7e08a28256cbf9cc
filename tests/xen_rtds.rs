//! The RTDS scheduler's calls, in an RTDS cpupool where the host's Xen has
//! RTDS (the Xen built from source), its refusal where it has not.
//!
//! The pool, once made, is never emptied: Xen 4.19 to 4.22 crash when the
//! CPU that holds RTDS's replenishment timer leaves an RTDS pool
//! (`schedule_cpu_rm` clears the CPU's `cpupool` before
//! `rt_deinit_pdata` → `move_repl_timer` reads `cpupool->res_valid`: a
//! page fault at 0x10 in the hypervisor, measured on 4.22.0; see
//! docs/RELIABILITY.md). So CPU 1 stays in that pool until the host powers
//! off, and `cargo xtask vm-test` runs this program after every other.

mod common;

use common::*;
use xenlight::types::{Bitmap, Scheduler};
use xenlight::{Context, Domid, Error};

/// `xl sched-rtds -v`: per-vCPU parameters. A credit2 domain has none
/// (libxl's error); in an RTDS pool made of CPU 1 a guest's vCPU gets a
/// period and budget that read back. A Xen built without RTDS (Debian's)
/// refuses the pool, which the test then asserts instead, and Pool-0 gets
/// CPU 1 back. Where the pool is made, it stays: see the module's comment.
#[test]
fn per_vcpu_rtds_parameters_are_set_and_read_back_in_an_rtds_pool() {
    use xenlight::types::{SchedParams, VcpuSchedParams};
    let ctx = Context::new().unwrap();
    let g = paused_guest(&ctx, "ops-rtds");
    let e = ctx.vcpu_sched_params(g.domid).unwrap_err();
    assert!(matches!(e, Error::Libxl { .. }), "{e:?}");
    // Pool-0 gets CPU 1 back unless an RTDS pool holds it (which stays).
    struct Restore<'a>(&'a Context, bool);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            if self.1 {
                let _ = self.0.move_to_cpupool(
                    self.0
                        .domid_by_name(&format!("{PREFIX}ops-rtds"))
                        .unwrap_or(Domid::DOM0),
                    0,
                );
            } else {
                let _ = self.0.cpupool_add_cpu(0, 1);
            }
        }
    }
    ctx.cpupool_remove_cpu(0, 1).unwrap();
    let mut restore = Restore(&ctx, false);
    let mut cpus = Bitmap::default();
    cpus.set(1);
    let pool = match ctx.create_cpupool(&format!("{PREFIX}rtds"), Scheduler::Rtds, &cpus) {
        Ok(p) => p,
        Err(e) => {
            println!("no RTDS pool in this Xen: {e}");
            assert!(!host_has("rtds"), "this Xen has RTDS: {e}");
            assert!(matches!(e, Error::Libxl { .. }), "{e:?}");
            return;
        }
    };
    assert!(host_has("rtds"), "a Xen without RTDS made an RTDS pool");
    restore.1 = true;
    ctx.move_to_cpupool(g.domid, pool).unwrap();
    let now = ctx.vcpu_sched_params(g.domid).unwrap();
    assert_eq!(now.sched, Scheduler::Rtds);
    assert_eq!(now.vcpus.len(), 1, "{now:?}");
    let want = VcpuSchedParams {
        sched: Scheduler::Rtds,
        vcpus: vec![SchedParams {
            vcpuid: 0,
            period: 20_000,
            budget: 5_000,
            ..SchedParams::default()
        }],
    };
    ctx.set_vcpu_sched_params(g.domid, &want).unwrap();
    let one = ctx.vcpu_sched_params_of(g.domid, &want).unwrap();
    assert_eq!(
        (one.vcpus[0].period, one.vcpus[0].budget),
        (20_000, 5_000),
        "{one:?}"
    );
    let all = VcpuSchedParams {
        sched: Scheduler::Rtds,
        vcpus: vec![SchedParams {
            period: 30_000,
            budget: 6_000,
            ..SchedParams::default()
        }],
    };
    ctx.set_all_vcpu_sched_params(g.domid, &all).unwrap();
    let now = ctx.vcpu_sched_params(g.domid).unwrap();
    assert_eq!(
        (now.vcpus[0].period, now.vcpus[0].budget),
        (30_000, 6_000),
        "{now:?}"
    );
    ctx.move_to_cpupool(g.domid, 0).unwrap();
}
