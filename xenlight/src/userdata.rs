//! Data an application keeps with a domain (`libxl_userdata_*`): libxl
//! stores it beside the domain and deletes it with the domain, so an agent
//! that restarts can find its domains again (libvirt keeps its domain XML
//! this way).

use std::ptr;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ids::Domid;
use crate::raw::alloc::cstring;
use crate::raw::{try_call, On};

/// libxl's rule for a userdata id: it becomes part of a file name.
fn check_id(id: &str) -> Result<std::ffi::CString> {
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    {
        return Err(Error::InvalidArgument {
            what: "userdata id",
            reason: format!("{id:?}: use letters, digits, '-' and '_'"),
        });
    }
    cstring("userdata id", id)
}

impl Context {
    /// Stores `data` with the domain under `id` (`libxl_userdata_store`),
    /// replacing what was there.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.store_userdata(domid, "my-agent", b"{\"owner\": \"team-a\"}")?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_userdata_store")]
    pub fn store_userdata(&self, domid: Domid, id: &str, data: &[u8]) -> Result<()> {
        let id = check_id(id)?;
        let len = i32::try_from(data.len()).map_err(|_| Error::InvalidArgument {
            what: "userdata",
            reason: format!("{} bytes is more than libxl stores", data.len()),
        })?;
        // SAFETY: id NUL-terminated; data valid for len bytes.
        try_call!(self, On::Domain(domid), unsafe libxl_userdata_store(domid.get(), id.as_ptr(), data.as_ptr(), len))
    }

    /// The data stored with the domain under `id`, or `None`
    /// (`libxl_userdata_retrieve`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// if let Some(d) = ctx.userdata(domid, "my-agent")? {
    ///     println!("{}", String::from_utf8_lossy(&d));
    /// }
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_userdata_retrieve")]
    pub fn userdata(&self, domid: Domid, id: &str) -> Result<Option<Vec<u8>>> {
        let id = check_id(id)?;
        let (mut p, mut len): (*mut u8, i32) = (ptr::null_mut(), 0);
        // SAFETY: valid out-pointers; id NUL-terminated.
        try_call!(self, On::Domain(domid), unsafe libxl_userdata_retrieve(domid.get(), id.as_ptr(), &mut p, &mut len))?;
        if p.is_null() {
            return Ok(None);
        }
        // SAFETY: libxl malloc'd `len` bytes at `p` for us; freed once here.
        let data = unsafe {
            let v = std::slice::from_raw_parts(p, usize::try_from(len).unwrap_or(0)).to_vec();
            libc::free(p.cast());
            v
        };
        Ok(Some(data))
    }

    /// Deletes the data stored with the domain under `id`
    /// (`libxl_userdata_unlink`); none there is not an error.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// ctx.remove_userdata(domid, "my-agent")?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_userdata_unlink")]
    pub fn remove_userdata(&self, domid: Domid, id: &str) -> Result<()> {
        let id = check_id(id)?;
        // SAFETY: id NUL-terminated.
        try_call!(self, On::Domain(domid), unsafe libxl_userdata_unlink(domid.get(), id.as_ptr()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn userdata_ids_that_are_not_file_names_are_refused() {
        for bad in ["", "a/b", "../x", "a b", "nul\0"] {
            assert!(super::check_id(bad).is_err(), "{bad:?}");
        }
        assert!(super::check_id("xl-agent_2").is_ok());
    }
}
