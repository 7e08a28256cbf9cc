//! Prints host information like `xl info` (the hypervisor part of it).
//!
//! ```text
//! cargo run --example info
//! ```

use std::process::ExitCode;

fn run() -> xenlight::Result<()> {
    let ctx = xenlight::Context::new()?;
    let p = ctx.physinfo()?;
    let v = ctx.version_info()?;
    let caps: Vec<String> = p.hw_caps.iter().map(|c| format!("{c:08x}")).collect();
    let mut virt = Vec::new();
    for (set, name) in [
        (p.cap_pv, "pv"),
        (p.cap_hvm, "hvm"),
        (p.cap_hvm && p.cap_hvm_directio, "hvm_directio"),
        (p.cap_pv && p.cap_hvm_directio, "pv_directio"),
        (p.cap_hap, "hap"),
        (p.cap_shadow, "shadow"),
        (p.cap_gnttab_v1, "gnttab-v1"),
        (p.cap_gnttab_v2, "gnttab-v2"),
    ] {
        if set {
            virt.push(name);
        }
    }
    let rows: Vec<(&str, String)> = vec![
        ("nr_cpus", p.nr_cpus.to_string()),
        ("max_cpu_id", p.max_cpu_id.to_string()),
        ("nr_nodes", p.nr_nodes.to_string()),
        ("cores_per_socket", p.cores_per_socket.to_string()),
        ("threads_per_core", p.threads_per_core.to_string()),
        (
            "cpu_mhz",
            format!("{}.{:03}", p.cpu_khz / 1000, p.cpu_khz % 1000),
        ),
        ("hw_caps", caps.join(":")),
        ("virt_caps", virt.join(" ")),
        ("total_memory", (p.total_memkb / 1024).to_string()),
        ("free_memory", (p.free_memkb / 1024).to_string()),
        ("xen_major", v.major.to_string()),
        ("xen_minor", v.minor.to_string()),
        ("xen_extra", v.extra.clone()),
        ("xen_version", v.version()),
        ("xen_caps", v.capabilities.clone()),
        ("xen_pagesize", v.pagesize.to_string()),
        ("xen_changeset", v.changeset.clone()),
        ("xen_commandline", v.commandline.clone()),
        ("cc_compiler", v.compiler.clone()),
        ("cc_compile_by", v.compile_by.clone()),
        ("cc_compile_domain", v.compile_domain.clone()),
        ("cc_compile_date", v.compile_date.clone()),
        ("build_id", v.build_id.clone()),
    ];
    for (k, val) in rows {
        println!("{k:<23}: {val}");
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("info: {e}");
            ExitCode::FAILURE
        }
    }
}
