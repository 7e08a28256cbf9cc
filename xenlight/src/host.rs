//! The host: physical resources (`libxl_get_physinfo`) and the hypervisor's
//! version (`libxl_get_version_info`).

use xenlight_sys as sys;

use crate::context::Context;
use crate::error::{check, Error, Result};
use crate::util::{libxl_owned, opt_string};

libxl_owned!(
    /// An owned `libxl_physinfo`.
    Physinfo, libxl_physinfo, libxl_physinfo_init, libxl_physinfo_dispose
);

/// What the hypervisor reports about the machine (`libxl_physinfo`).
///
/// Memory figures are in KiB (libxl counts 4 KiB pages on x86).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PhysInfo {
    /// Logical CPUs Xen runs on.
    pub nr_cpus: u32,
    /// Highest CPU id.
    pub max_cpu_id: u32,
    /// NUMA nodes.
    pub nr_nodes: u32,
    /// Cores per socket.
    pub cores_per_socket: u32,
    /// Threads per core.
    pub threads_per_core: u32,
    /// CPU frequency in kHz.
    pub cpu_khz: u32,
    /// All memory Xen manages, in KiB.
    pub total_memkb: u64,
    /// Memory not given to any domain, in KiB.
    pub free_memkb: u64,
    /// Memory waiting to be scrubbed, in KiB.
    pub scrub_memkb: u64,
    /// Memory claimed by domains being built, in KiB.
    pub outstanding_memkb: u64,
    /// Hardware capability words, as `xl info`'s `hw_caps`.
    pub hw_caps: [u32; 8],
    /// HVM guests can run.
    pub cap_hvm: bool,
    /// PV guests can run.
    pub cap_pv: bool,
    /// Hardware-assisted paging (needed by PVH and HVM here).
    pub cap_hap: bool,
    /// Shadow paging.
    pub cap_shadow: bool,
    /// Device pass-through to HVM guests.
    pub cap_hvm_directio: bool,
    /// Grant table v1.
    pub cap_gnttab_v1: bool,
    /// Grant table v2.
    pub cap_gnttab_v2: bool,
}

/// The hypervisor's version and build (`libxl_version_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VersionInfo {
    /// Major version (4).
    pub major: i32,
    /// Minor version (17 for Xen 4.17).
    pub minor: i32,
    /// The rest, e.g. ".7".
    pub extra: String,
    /// Guest ABIs the hypervisor offers, e.g. "xen-3.0-x86_64 hvm-3.0-x86_64".
    pub capabilities: String,
    /// Xen's command line.
    pub commandline: String,
    /// The compiler that built Xen.
    pub compiler: String,
    /// Who built Xen.
    pub compile_by: String,
    /// The builder's domain.
    pub compile_domain: String,
    /// Build date.
    pub compile_date: String,
    /// Source changeset.
    pub changeset: String,
    /// Build id, if Xen has one.
    pub build_id: String,
    /// Page size in bytes.
    pub pagesize: i32,
    /// Start of the hypervisor's virtual address range.
    pub virt_start: u64,
}

impl VersionInfo {
    /// The version as Xen prints it, e.g. "4.17.7".
    pub fn version(&self) -> String {
        format!("{}.{}{}", self.major, self.minor, self.extra)
    }
}

impl Context {
    /// The host's CPUs, memory and capabilities (`libxl_get_physinfo`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let p = ctx.physinfo()?;
    /// println!("{} cpus, {} MiB free, hvm: {}", p.nr_cpus, p.free_memkb / 1024, p.cap_hvm);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_physinfo")]
    pub fn physinfo(&self) -> Result<PhysInfo> {
        let mut p = Physinfo::new();
        self.call(|ctx| {
            // SAFETY: ctx valid; p initialised and owned.
            check(
                unsafe { sys::libxl_get_physinfo(ctx, p.as_mut_ptr()) },
                "libxl_get_physinfo",
                None,
            )
        })?;
        let kb = |pages: u64| pages * 4;
        Ok(PhysInfo {
            nr_cpus: p.nr_cpus,
            max_cpu_id: p.max_cpu_id,
            nr_nodes: p.nr_nodes,
            cores_per_socket: p.cores_per_socket,
            threads_per_core: p.threads_per_core,
            cpu_khz: p.cpu_khz,
            total_memkb: kb(p.total_pages),
            free_memkb: kb(p.free_pages),
            scrub_memkb: kb(p.scrub_pages),
            outstanding_memkb: kb(p.outstanding_pages),
            hw_caps: p.hw_cap,
            cap_hvm: p.cap_hvm,
            cap_pv: p.cap_pv,
            cap_hap: p.cap_hap,
            cap_shadow: p.cap_shadow,
            cap_hvm_directio: p.cap_hvm_directio,
            cap_gnttab_v1: p.cap_gnttab_v1,
            cap_gnttab_v2: p.cap_gnttab_v2,
        })
    }

    /// The hypervisor's version (`libxl_get_version_info`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// println!("Xen {}", ctx.version_info()?.version());
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_get_version_info")]
    pub fn version_info(&self) -> Result<VersionInfo> {
        let v = self.call(|ctx| {
            // SAFETY: ctx valid; the result points into the ctx (valid until
            // libxl_ctx_free) and is only read below, while `self` lives.
            unsafe { sys::libxl_get_version_info(ctx) }
        });
        if v.is_null() {
            return Err(Error::from_libxl(
                sys::libxl_error_ERROR_FAIL,
                "libxl_get_version_info",
                None,
            ));
        }
        // SAFETY: non-null, owned by the live ctx.
        let v = unsafe { &*v };
        // SAFETY: each field is NULL or a string owned by the ctx.
        let s = |p: *mut std::ffi::c_char| unsafe { opt_string(p) }.unwrap_or_default();
        Ok(VersionInfo {
            major: v.xen_version_major,
            minor: v.xen_version_minor,
            extra: s(v.xen_version_extra),
            capabilities: s(v.capabilities),
            commandline: s(v.commandline),
            compiler: s(v.compiler),
            compile_by: s(v.compile_by),
            compile_domain: s(v.compile_domain),
            compile_date: s(v.compile_date),
            changeset: s(v.changeset),
            build_id: s(v.build_id),
            pagesize: v.pagesize,
            virt_start: v.virt_start,
        })
    }
}
