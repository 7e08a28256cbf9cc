//! libxl's JSON form of a domain configuration (what `xl -N create`
//! prints and `xl create` accepts): `DomainConfig` methods that need a ctx.

use crate::config::DomainConfig;
use crate::context::Context;
use crate::error::Result;
use crate::raw::alloc::{cstring, take_malloced_string};
use crate::raw::call::check;
use crate::raw::{non_null, On, Owned};
use crate::types::IdlType;

impl DomainConfig {
    /// The configuration as libxl's JSON (`libxl_domain_config_to_json`),
    /// the same form `xl -N create` prints; a random UUID is filled in when
    /// none is set.
    ///
    /// ```no_run
    /// # use xenlight::{Context, DomainConfig, DomainType};
    /// let ctx = Context::new()?;
    /// let cfg = DomainConfig::new("web", DomainType::Pvh).kernel("/boot/vmlinuz");
    /// println!("{}", cfg.to_libxl_json(&ctx)?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_config_to_json")]
    pub fn to_libxl_json(&self, ctx: &Context) -> Result<String> {
        ctx.to_json(&self.to_libxl_types()?)
    }

    /// Reads libxl's JSON form of a domain config
    /// (`libxl_domain_config_from_json`), every field of it (the complete
    /// config is in [`libxl`](DomainConfig::libxl)). JSON whose build-info
    /// arm does not match its type, or that has two arms, is an
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig).
    ///
    /// ```no_run
    /// # use xenlight::{Context, DomainConfig, DomainType};
    /// let ctx = Context::new()?;
    /// let cfg = DomainConfig::new("web", DomainType::Pvh).kernel("/boot/vmlinuz");
    /// let back = DomainConfig::from_libxl_json(&ctx, &cfg.to_libxl_json(&ctx)?)?;
    /// assert_eq!(back, cfg.clone().uuid(back.libxl.c_info.uuid), "one model: the same config");
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_config_from_json")]
    pub fn from_libxl_json(ctx: &Context, json: &str) -> Result<Self> {
        DomainConfig::from_types(ctx.from_json(json)?)
    }
}

impl Context {
    /// Any IDL type as libxl's JSON (`libxl_<type>_to_json`), the form `xl`
    /// prints and libxl stores.
    ///
    /// ```no_run
    /// use xenlight::types::DeviceDisk;
    /// let ctx = xenlight::Context::new()?;
    /// let disk = DeviceDisk { vdev: Some("xvda".into()), ..DeviceDisk::default() };
    /// assert!(ctx.to_json(&disk)?.contains("\"vdev\": \"xvda\""));
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_config_to_json")]
    #[doc(alias = "libxl_device_disk_to_json")]
    pub fn to_json<T: IdlType>(&self, value: &T) -> Result<String> {
        let mut c = value.to_c()?;
        // SAFETY: live ctx; `c` initialised and owned.
        crate::logger::clear_last_error();
        let p = unsafe { T::gen_json(self.as_raw(), c.get_mut()) };
        let p = non_null(self.as_raw(), p, T::LIBXL_NAME, On::Host)?;
        // SAFETY: a malloc'd string that is ours.
        Ok(unsafe { take_malloced_string(p) }.unwrap_or_default())
    }

    /// Reads libxl's JSON form of any IDL type (`libxl_<type>_from_json`).
    ///
    /// The text may come from anyone (a migration peer, a save file): it
    /// is parsed and bounded in Rust first, and libxl reads only the
    /// canonical text written back from that. JSON that would trip libxl's
    /// reader (two arms of one union however their keys are escaped, a
    /// bitmap index of 16384 or more, nesting deeper than 32, a string
    /// over 64 KiB, a key given twice, a NUL byte) is an
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) naming the
    /// JSON path; JSON libxl refuses is an
    /// [`Error::Libxl`](crate::Error::Libxl) with libxl's message.
    ///
    /// ```no_run
    /// use xenlight::types::DeviceNic;
    /// let ctx = xenlight::Context::new()?;
    /// let nic: DeviceNic = ctx.from_json(r#"{"bridge": "xenbr0", "devid": 2}"#)?;
    /// assert_eq!(nic.devid, 2);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_domain_config_from_json")]
    #[doc(alias = "libxl_device_disk_from_json")]
    pub fn from_json<T: IdlType>(&self, json: &str) -> Result<T> {
        // libxl reads only what Rust has checked (crate::untrusted).
        let json = crate::types::untrusted::canonical_libxl_json(json)?;
        let s = cstring("libxl JSON", &json)?;
        let mut c = Owned::<T::C>::new();
        crate::logger::clear_last_error();
        // SAFETY: live ctx; `c` initialised (libxl re-inits it) and owned, so
        // whatever libxl allocated is disposed on every return.
        let rc = unsafe { T::parse_json(self.as_raw(), c.get_mut(), s.as_ptr()) };
        check(self.as_raw(), rc, T::LIBXL_NAME, On::Host)?;
        // SAFETY: filled by libxl.
        unsafe { T::read_c(&c) }
    }
}
