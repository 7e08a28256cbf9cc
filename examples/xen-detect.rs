//! Tells whether this program runs on Xen, as dom0 or a guest, and in which
//! mode (PV, PVH, HVM, HVM with PV drivers). Works inside guests too: it
//! reads /sys/hypervisor, /proc/xen and the loaded modules, no libxl call.
//!
//! ```text
//! cargo run --example xen-detect
//! xen-detect: role=dom0 mode=pv xen=4.17.7
//! ```

fn main() {
    let env = xenlight::GuestEnvironment::detect();
    let mode = env.mode.map_or("-".to_owned(), |m| m.to_string());
    let xen = env.xen_version.as_deref().unwrap_or("-");
    println!("xen-detect: role={} mode={mode} xen={xen}", env.role);
    for e in &env.evidence {
        println!("  {e}");
    }
}
