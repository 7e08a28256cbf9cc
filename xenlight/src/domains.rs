//! Listing and looking up domains: `Context` calls over libxl's domain
//! records, names, and the configuration libxl stores for each domain.

use std::ffi::CString;

use xenlight_sys as sys;

use crate::config::DomainConfig;
use crate::context::Context;
use crate::convert::RawConfig;
use crate::enums::DomainType;
use crate::error::{DomainRef, Error, Result};
use crate::ids::Domid;
use crate::info::DomainInfo;
use crate::raw::alloc::{cstring, opt_string, take_malloced_bytes};
use crate::raw::{error_for, non_null, raw_call, try_call, LibxlArray, On, Owned};

impl Context {
    /// Every domain, Domain-0 included, with its name
    /// (`libxl_list_domain`, then `libxl_domid_to_name` for each).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// for d in ctx.domains()? {
    ///     println!("{:>5} {}", d.domid, d.name.as_deref().unwrap_or("-"));
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_list_domain")]
    pub fn domains(&self) -> Result<Vec<DomainInfo>> {
        self.list_domains_with(|d| self.to_info(d))
    }

    /// Every domain as Xen lists it (`libxl_list_domain` alone): no name,
    /// no xenstore read, the type as Xen reports it (PVH as HVM), for the
    /// event stream's looks at the list.
    pub(crate) fn domains_unnamed(&self) -> Result<Vec<DomainInfo>> {
        self.list_domains_with(|d| DomainInfo::from_raw(d, None))
    }

    fn list_domains_with(
        &self,
        each: impl Fn(&sys::libxl_dominfo) -> DomainInfo,
    ) -> Result<Vec<DomainInfo>> {
        Ok(self.raw_domain_list()?.iter().map(each).collect())
    }

    /// libxl's list of every domain, as it returned it.
    fn raw_domain_list(&self) -> Result<LibxlArray<sys::libxl_dominfo>> {
        let mut n = 0;
        // SAFETY: n is a valid out-pointer.
        let (ptr, op) = raw_call!(self, unsafe libxl_list_domain(&mut n));
        // NULL is libxl's failure signal, not an empty list.
        let ptr = non_null(self.as_raw(), ptr, op, On::Host)?;
        // SAFETY: n initialised entries from libxl_list_domain, freed once
        // by the array with the matching free function.
        Ok(unsafe { LibxlArray::from_raw(ptr, n, sys::libxl_dominfo_list_free) })
    }

    /// One domain (`libxl_domain_info`), by id or by name. An unknown
    /// domain gives [`Error::DomainNotFound`]. By name it is one call: the
    /// name is looked up, the domain read, and the name read with it
    /// checked, so a domain renamed in between is looked up again rather
    /// than reported under the wrong name.
    ///
    /// ```no_run
    /// use xenlight::Domid;
    /// let ctx = xenlight::Context::new()?;
    /// let dom0 = ctx.domain_info(Domid::DOM0)?;
    /// println!("Domain-0 has {} KiB", dom0.current_memkb);
    /// let web = ctx.domain_info("web")?;
    /// println!("web is domain {}, target {:?} KiB", web.domid, web.target_memkb);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_info")]
    #[doc(alias = "libxl_name_to_domid")]
    pub fn domain_info(&self, which: impl Into<DomainRef>) -> Result<DomainInfo> {
        let name = match which.into() {
            DomainRef::Id(domid) => {
                let info = self.raw_dominfo(domid)?;
                return Ok(self.to_info(&info));
            }
            DomainRef::Name(name) => name,
        };
        // A rename between the lookup and the read moves the name: look
        // again, a few times, as a caller retrying would.
        for _ in 0..3 {
            let domid = self.domid_by_name(&name)?;
            match self.raw_dominfo(domid) {
                Ok(raw) => {
                    let info = self.to_info(&raw);
                    if info.name.as_deref() == Some(name.as_str()) {
                        return Ok(info);
                    }
                }
                Err(e) if e.is_domain_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Err(Error::DomainNotFound {
            op: "domain_info",
            domain: Some(DomainRef::Name(name)),
            message: Some("the name kept moving between domains".into()),
        })
    }

    /// When the domain was started (`libxl_vm_get_start_time`, from which
    /// `xl uptime` counts): the time xenstore recorded at its creation.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let domid = ctx.find_domain("web")?;
    /// let up = ctx.start_time(domid)?.elapsed().unwrap_or_default();
    /// println!("web is up {} s", up.as_secs());
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_vm_get_start_time")]
    pub fn start_time(&self, domid: Domid) -> Result<std::time::SystemTime> {
        // libxl answers 0 for a domain it cannot read (and logs why):
        // look the domain up first for a typed error.
        self.raw_dominfo(domid)?;
        // SAFETY: plain integer argument.
        let (secs, op) = raw_call!(self, unsafe libxl_vm_get_start_time(domid.get()));
        if secs == 0 {
            let fail = sys::libxl_error_ERROR_FAIL;
            return Err(error_for(fail, op, On::Domain(domid)));
        }
        Ok(std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(secs)))
    }

    /// libxl's own record of one domain.
    fn raw_dominfo(&self, domid: Domid) -> Result<Owned<sys::libxl_dominfo>> {
        let mut info = Owned::<sys::libxl_dominfo>::new();
        // SAFETY: info is initialised and owned.
        try_call!(self, On::Domain(domid), unsafe libxl_domain_info(info.as_mut_ptr(), domid.get()))?;
        Ok(info)
    }

    /// The Rust view of a record, with its name and its exact type.
    fn to_info(&self, d: &sys::libxl_dominfo) -> DomainInfo {
        let domid = Domid::from_libxl(d.domid);
        let name = self
            .name_bytes(domid)
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let mut info = DomainInfo::from_raw(d, name);
        info.domain_type = self.refined_type(domid, info.domain_type);
        info.target_memkb = self.memory_target_kib(domid);
        info
    }

    /// xenstore's `memory/target` of a domain (KiB), as libxl reads it
    /// (`libxl_get_memory_target`), without a transaction.
    fn memory_target_kib(&self, domid: Domid) -> Option<u64> {
        let t = self
            .xenstore()?
            .read(&format!("/local/domain/{domid}/memory/target"))?;
        std::str::from_utf8(&t).ok()?.trim().parse().ok()
    }

    /// Xen reports PVH guests as HVM (both are hardware containers). libxl
    /// records the type in xenstore at creation and reads it from there
    /// (`libxl__domain_type`); so do we: one read, no lock, no QMP.
    fn refined_type(&self, domid: Domid, reported: DomainType) -> DomainType {
        if reported != DomainType::Hvm || domid.is_dom0() {
            return reported;
        }
        self.xenstore()
            .and_then(|xs| xs.read(&format!("/libxl/{domid}/type")))
            .and_then(|t| DomainType::from_name(std::str::from_utf8(&t).ok()?))
            .unwrap_or(reported)
    }

    /// The domain with this name or, if `which` is a number, this id: what
    /// `xl` accepts wherever it takes a domain (its
    /// `libxl_domain_qualifier_to_domid`; a number must also name a domain
    /// that exists).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// assert_eq!(ctx.find_domain("Domain-0")?, ctx.find_domain("0")?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_qualifier_to_domid")]
    pub fn find_domain(&self, which: &str) -> Result<Domid> {
        if which.bytes().all(|b| b.is_ascii_digit()) && !which.is_empty() {
            let domid: Domid = which.parse()?;
            return if self.domain_exists(domid)? {
                Ok(domid)
            } else {
                Err(Error::DomainNotFound {
                    op: "find_domain",
                    domain: Some(DomainRef::Id(domid)),
                    message: None,
                })
            };
        }
        self.domid_by_name(which)
    }

    /// The configuration libxl keeps for a domain it created
    /// (`libxl_retrieve_domain_configuration`): what it was created with,
    /// updated with what libxl filled in (devids, MACs, the UUID) and the
    /// devices attached since. Domain-0 has none: an error.
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// let domid = ctx.find_domain("web")?;
    /// let cfg = ctx.domain_config(domid)?;
    /// println!("{} has {} disks, on_reboot {:?}", cfg.name(), cfg.disks().len(), cfg.actions().on_reboot);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_retrieve_domain_configuration")]
    pub fn domain_config(&self, domid: Domid) -> Result<DomainConfig> {
        let raw = self.stored_config(domid)?;
        DomainConfig::from_raw(&raw)
    }

    pub(crate) fn stored_config(&self, domid: Domid) -> Result<RawConfig> {
        let mut cfg = RawConfig::new();
        // SAFETY: cfg initialised and owned; NULL ao_how makes the call
        // synchronous.
        try_call!(
            self,
            On::Domain(domid),
            unsafe libxl_retrieve_domain_configuration(domid.get(), cfg.as_mut_ptr(), std::ptr::null())
        )?;
        Ok(cfg)
    }

    /// Whether a domain with this id exists (it may be dying).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// assert!(ctx.domain_exists(xenlight::Domid::DOM0)?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    pub fn domain_exists(&self, domid: Domid) -> Result<bool> {
        match self.raw_dominfo(domid) {
            Ok(_) => Ok(true),
            Err(e) if e.is_domain_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The id of the domain with this name (`libxl_name_to_domid`). An
    /// unknown name gives [`Error::DomainNotFound`]; a name with a NUL byte
    /// gives [`Error::InvalidArgument`].
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// assert!(ctx.domid_by_name("Domain-0")?.is_dom0());
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_name_to_domid")]
    pub fn domid_by_name(&self, name: &str) -> Result<Domid> {
        self.lookup(cstring("domain name", name)?, name)
    }

    /// [`domid_by_name`](Self::domid_by_name) for a name that is not UTF-8
    /// (set by another toolstack): the bytes as xenstore holds them.
    #[doc(alias = "libxl_name_to_domid")]
    pub fn domid_by_name_bytes(&self, name: &[u8]) -> Result<Domid> {
        let shown = String::from_utf8_lossy(name).into_owned();
        let c = CString::new(name).map_err(|_| Error::InvalidArgument {
            what: "domain name",
            reason: format!("{shown:?} contains a NUL byte"),
        })?;
        self.lookup(c, &shown)
    }

    fn lookup(&self, c: CString, shown: &str) -> Result<Domid> {
        // libxl_name_to_domid's own loop (libxl_utils.c: the list, then
        // each name until one matches), with the names read as
        // `name_bytes` reads them. A name not found goes to libxl, whose
        // answer (and error) is the reference.
        if self.xenstore().is_some() {
            let want = c.as_bytes();
            let list = self.raw_domain_list()?;
            if let Some(d) = list
                .iter()
                .map(|d| Domid::from_libxl(d.domid))
                .find(|&d| self.name_bytes(d).as_deref() == Some(want))
            {
                return Ok(d);
            }
        }
        let mut raw: u32 = 0;
        // SAFETY: c is NUL-terminated; raw is a valid out-pointer.
        try_call!(self, On::Lookup(shown), unsafe libxl_name_to_domid(c.as_ptr(), &mut raw))?;
        Ok(Domid::from_libxl(raw))
    }

    /// The name of a domain (`libxl_domid_to_name`): `None` for a domain
    /// that exists without one (as while it is built or dying). An unknown
    /// domid gives [`Error::DomainNotFound`]. A name that is not UTF-8 is
    /// shown lossily: [`domain_name_bytes`](Self::domain_name_bytes) keeps it.
    ///
    /// ```no_run
    /// use xenlight::Domid;
    /// let ctx = xenlight::Context::new()?;
    /// assert_eq!(ctx.domain_name(Domid::DOM0)?.as_deref(), Some("Domain-0"));
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domid_to_name")]
    pub fn domain_name(&self, domid: Domid) -> Result<Option<String>> {
        Ok(self
            .domain_name_bytes(domid)?
            .map(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// The domain's name as xenstore holds it, byte for byte.
    #[doc(alias = "libxl_domid_to_name")]
    pub fn domain_name_bytes(&self, domid: Domid) -> Result<Option<Vec<u8>>> {
        match self.name_bytes(domid) {
            Some(n) => Ok(Some(n)),
            // NULL means "no such domain" or "no name": tell them apart.
            None if self.domain_exists(domid)? => Ok(None),
            None => Err(Error::DomainNotFound {
                op: "libxl_domid_to_name",
                domain: Some(DomainRef::Id(domid)),
                message: None,
            }),
        }
    }

    /// `libxl_domid_to_name` is one `xs_read` of `/local/domain/<id>/name`
    /// on the ctx's xenstore handle (libxl_utils.c). Once libxl has set a
    /// watch on that handle (any event stream, any creation), libxenstore
    /// hands every reply over from its reader thread (xs.c,
    /// `xs_watch_helper`); the same read on the crate's own handle, which
    /// never watches, is answered on the calling thread.
    fn name_bytes(&self, domid: Domid) -> Option<Vec<u8>> {
        if let Some(xs) = self.xenstore() {
            let mut name = xs.read(&format!("/local/domain/{domid}/name"))?;
            // As libxl's C string: up to the first NUL.
            if let Some(end) = name.iter().position(|&b| b == 0) {
                name.truncate(end);
            }
            return Some(name);
        }
        // SAFETY: a plain integer argument.
        let (p, _) = raw_call!(self, unsafe libxl_domid_to_name(domid.get()));
        // SAFETY: the result is malloc'd (or NULL) and ours.
        unsafe { take_malloced_bytes(p) }
    }

    /// The domain's XSM label, if XSM is in use (`libxl_dominfo.ssid_label`).
    pub fn domain_ssid_label(&self, domid: Domid) -> Result<Option<String>> {
        let info = self.raw_dominfo(domid)?;
        // SAFETY: ssid_label is NULL or a string owned by `info`.
        Ok(unsafe { opt_string(info.ssid_label) })
    }
}
