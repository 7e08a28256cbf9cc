//! Guest consoles and Xen's own message buffer: the pty xenconsoled gives
//! a domain's console (`libxl_console_get_tty`), opened for reading and
//! writing, and the hypervisor's console ring (`libxl_xen_console_read_*`,
//! as `xl dmesg`).

use std::ffi::c_char;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::ptr;
use std::time::Duration;

use xenlight_sys as sys;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::ids::Domid;
use crate::raw::{raw_call, try_call, On};

/// Which console of a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsoleKind {
    /// The domain's main console, whatever its type: the PV console of
    /// PV and PVH guests, the emulated serial port of HVM guests
    /// (`libxl_primary_console_get_tty`).
    Primary,
    /// PV console number `n` (`hvc<n>` in a Linux guest).
    Pv(u32),
    /// Emulated serial port number `n` of an HVM guest (`ttyS<n>`).
    Serial(u32),
}

/// A domain's console: the pty xenconsoled (or QEMU) connects to it.
/// Reading returns what the guest writes; writing types into it.
///
/// ```no_run
/// use std::io::{BufRead, BufReader};
/// use xenlight::ConsoleKind;
/// let ctx = xenlight::Context::new()?;
/// let domid = ctx.find_domain("web")?;
/// let mut console = ctx.console(domid, ConsoleKind::Primary)?;
/// console.set_read_timeout(Some(std::time::Duration::from_secs(5)));
/// for line in BufReader::new(console).lines() {
///     println!("web: {}", line?);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Console {
    path: PathBuf,
    file: File,
    timeout: Option<Duration>,
}

impl Console {
    /// The pty's path (e.g. `/dev/pts/3`), as `xl console -t` shows it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A second handle for writing into the console while another thread
    /// reads from this one.
    pub fn try_clone_writer(&self) -> std::io::Result<File> {
        self.file.try_clone()
    }

    /// How long a read waits for output before it fails with
    /// [`std::io::ErrorKind::TimedOut`]; `None` (the default) waits forever.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }
}

impl Read for Console {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(t) = self.timeout {
            let mut pfd = libc::pollfd {
                fd: self.file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = i32::try_from(t.as_millis()).unwrap_or(i32::MAX);
            // SAFETY: one valid pollfd for the duration of the call.
            let n = unsafe { libc::poll(&mut pfd, 1, ms) };
            if n < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no console output in time",
                ));
            }
        }
        self.file.read(buf)
    }
}

impl Write for Console {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl AsRawFd for Console {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// Takes a path libxl allocated.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string from malloc that nothing else frees.
unsafe fn take_path(p: *mut c_char) -> Option<PathBuf> {
    if p.is_null() {
        return None;
    }
    // SAFETY: per the contract; freed once, here.
    let s = unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned();
    unsafe { libc::free(p.cast()) };
    Some(PathBuf::from(s))
}

impl ConsoleKind {
    /// libxl's console number and type; `None` for the primary console,
    /// which libxl finds itself.
    fn numbered(self) -> Result<Option<(i32, sys::libxl_console_type)>> {
        let (n, ty) = match self {
            ConsoleKind::Primary => return Ok(None),
            ConsoleKind::Pv(n) => (n, sys::libxl_console_type_LIBXL_CONSOLE_TYPE_PV),
            ConsoleKind::Serial(n) => (n, sys::libxl_console_type_LIBXL_CONSOLE_TYPE_SERIAL),
        };
        let n = i32::try_from(n).map_err(|_| Error::InvalidArgument {
            what: "console number",
            reason: format!("{n} is too large"),
        })?;
        Ok(Some((n, ty)))
    }
}

impl Context {
    /// Replaces this process with Xen's console client, `xenconsole`,
    /// attached to a domain's console: what `xl console` does
    /// (`libxl_console_exec`, `libxl_primary_console_exec`). It returns only
    /// when it could not, with the reason. `escape` is what detaches the
    /// client (`"^]"` when `None`; `"^b"` means Ctrl-B, as `xl console -e`):
    /// Xen 4.20's `LIBXL_HAVE_CONSOLE_ESCAPE_CHARACTER`; with an older libxl
    /// an `escape` is an [`Error::InvalidArgument`]. xenconsole reads the
    /// keyboard only when standard input and output are terminals.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// let err = ctx.console_exec(domid, xenlight::ConsoleKind::Primary, Some("^b"));
    /// eprintln!("no console: {err}");
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_console_exec")]
    #[doc(alias = "libxl_primary_console_exec")]
    pub fn console_exec(&self, domid: Domid, kind: ConsoleKind, escape: Option<&str>) -> Error {
        match self.try_console_exec(domid, kind, escape) {
            Ok(()) => crate::raw::error_for(
                sys::libxl_error_ERROR_FAIL,
                "libxl_console_exec",
                On::Domain(domid),
            ),
            Err(e) => e,
        }
    }

    /// Replaces this process with a VNC viewer (`vncviewer`) on the
    /// domain's VNC display: what `xl vncviewer` and `xl create -V` do
    /// (`libxl_vncviewer_exec`). It returns only when it could not (the
    /// domain has no VNC display, or no viewer is installed), with the
    /// reason. `autopass` hands the viewer the display's password on a
    /// file descriptor.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// let err = ctx.vncviewer_exec(domid, false);
    /// eprintln!("no viewer: {err}");
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_vncviewer_exec")]
    pub fn vncviewer_exec(&self, domid: Domid, autopass: bool) -> Error {
        if let Err(e) = self.require_domain("libxl_vncviewer_exec", domid) {
            return e;
        }
        let on = On::Domain(domid);
        // SAFETY: plain arguments; libxl execs, or returns an error.
        match try_call!(self, on, unsafe libxl_vncviewer_exec(domid.get(), i32::from(autopass))) {
            Ok(()) => {
                crate::raw::error_for(sys::libxl_error_ERROR_FAIL, "libxl_vncviewer_exec", on)
            }
            Err(e) => e,
        }
    }

    fn try_console_exec(
        &self,
        domid: Domid,
        kind: ConsoleKind,
        escape: Option<&str>,
    ) -> Result<()> {
        self.require_domain("libxl_console_exec", domid)?;
        let escape = escape
            .map(|e| crate::raw::alloc::cstring("console escape", e))
            .transpose()?;
        let esc = escape
            .as_ref()
            .map_or(ptr::null_mut(), |e| e.as_ptr().cast_mut());
        let on = On::Domain(domid);
        let notify_fd = -1;
        #[cfg(libxl_have = "CONSOLE_ESCAPE_CHARACTER")]
        {
            // SAFETY: libxl only reads `esc` (NULL or NUL-terminated, alive
            // for the call) and execs; on return nothing is kept.
            match kind.numbered()? {
                None => {
                    try_call!(self, on, unsafe libxl_primary_console_exec(domid.get(), notify_fd, esc))
                }
                Some((n, ty)) => {
                    try_call!(self, on, unsafe libxl_console_exec(domid.get(), n, ty, notify_fd, esc))
                }
            }
        }
        #[cfg(not(libxl_have = "CONSOLE_ESCAPE_CHARACTER"))]
        {
            if !esc.is_null() {
                return Err(Error::InvalidArgument {
                    what: "console escape",
                    reason: "this libxl has no escape setting (it needs Xen 4.20)".into(),
                });
            }
            // SAFETY: plain values; libxl execs, or returns an error.
            match kind.numbered()? {
                None => {
                    try_call!(self, on, unsafe libxl_primary_console_exec(domid.get(), notify_fd))
                }
                Some((n, ty)) => {
                    try_call!(self, on, unsafe libxl_console_exec(domid.get(), n, ty, notify_fd))
                }
            }
        }
    }

    /// The path of a domain's console pty (`libxl_console_get_tty`,
    /// `libxl_primary_console_get_tty`, as `xl console -t`).
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// let tty = ctx.console_tty(domid, xenlight::ConsoleKind::Primary)?;
    /// println!("attach with: screen {}", tty.display());
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_console_get_tty")]
    #[doc(alias = "libxl_primary_console_get_tty")]
    pub fn console_tty(&self, domid: Domid, kind: ConsoleKind) -> Result<PathBuf> {
        let mut p: *mut c_char = ptr::null_mut();
        let on = On::Domain(domid);
        match kind.numbered()? {
            // SAFETY: p is a valid out-pointer; libxl allocates the string.
            None => try_call!(self, on, unsafe libxl_primary_console_get_tty(domid.get(), &mut p))?,
            // SAFETY: as above.
            Some((n, ty)) => {
                try_call!(self, on, unsafe libxl_console_get_tty(domid.get(), n, ty, &mut p))?
            }
        }
        // SAFETY: libxl returned a malloc'd string that the caller frees.
        unsafe { take_path(p) }.ok_or_else(|| {
            crate::raw::error_for(sys::libxl_error_ERROR_FAIL, "libxl_console_get_tty", on)
        })
    }

    /// Opens a domain's console for reading and writing. Open it before
    /// unpausing a domain created paused to see its output from the first
    /// byte. xenconsoled sets the pty up shortly after a domain appears;
    /// until then this fails (as `xl console` right after `xl create -p`).
    #[doc(alias = "libxl_console_get_tty")]
    pub fn console(&self, domid: Domid, kind: ConsoleKind) -> Result<Console> {
        let path = self.console_tty(domid, kind)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&path)
            .map_err(|source| Error::Io {
                op: format!("opening console {}", path.display()),
                source,
            })?;
        // Raw mode: bytes pass unchanged, no echo back into the guest.
        // SAFETY: a termios for an open tty fd.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(file.as_raw_fd(), &mut t) == 0 {
                libc::cfmakeraw(&mut t);
                libc::tcsetattr(file.as_raw_fd(), libc::TCSANOW, &t);
            }
        }
        Ok(Console {
            path,
            file,
            timeout: None,
        })
    }

    /// Writes the Xenstore entries of a domain's primary PV console from its
    /// event channel and the frame of its ring page, served by `backend`
    /// (`libxl_console_add_xenstore`, Xen 4.20's
    /// `LIBXL_HAVE_CONSOLE_ADD_XENSTORE`). It is meant for domains built
    /// outside libxl's creation (dom0less); libxl's own domains get their
    /// console when they are created.
    ///
    /// ```no_run
    /// # let ctx = xenlight::Context::new()?; let domid = xenlight::Domid::new(1)?;
    /// let dom0 = xenlight::Domid::new(0)?;
    /// ctx.console_add_xenstore(domid, dom0, 3, 0x1_0fef)?;
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[cfg(libxl_have = "CONSOLE_ADD_XENSTORE")]
    #[cfg_attr(docsrs, doc(cfg(libxl_have = "CONSOLE_ADD_XENSTORE")))]
    #[doc(alias = "libxl_console_add_xenstore")]
    pub fn console_add_xenstore(
        &self,
        domid: Domid,
        backend: Domid,
        evtchn: u32,
        gfn: u64,
    ) -> Result<()> {
        self.require_domain("libxl_console_add_xenstore", domid)?;
        let gfn = std::ffi::c_ulong::try_from(gfn).map_err(|_| Error::InvalidArgument {
            what: "console ring frame",
            reason: format!("{gfn:#x} does not fit this platform's unsigned long"),
        })?;
        // SAFETY: plain values; NULL ao_how = synchronous.
        try_call!(self, On::Domain(domid), unsafe libxl_console_add_xenstore(domid.get(), backend.get(), evtchn, gfn, ptr::null()))
    }

    /// The hypervisor's console ring (`libxl_xen_console_read_*`, as `xl
    /// dmesg`); with `clear`, the ring is emptied after reading (`xl dmesg -c`).
    ///
    /// ```no_run
    /// let ctx = xenlight::Context::new()?;
    /// print!("{}", ctx.xen_dmesg(false)?);
    /// # Ok::<(), xenlight::Error>(())
    /// ```
    #[doc(alias = "libxl_xen_console_read_start")]
    #[doc(alias = "libxl_xen_console_read_line")]
    #[doc(alias = "libxl_xen_console_read_finish")]
    pub fn xen_dmesg(&self, clear: bool) -> Result<String> {
        let (cr, op) = raw_call!(self, unsafe libxl_xen_console_read_start(i32::from(clear)));
        if cr.is_null() {
            return Err(crate::raw::error_for(
                sys::libxl_error_ERROR_NOMEM,
                op,
                On::Host,
            ));
        }
        let mut out = Vec::new();
        // libxl 4.17 returns 1 with each chunk and 0 at the end; 4.20
        // returns 0 with a chunk too. Either way a chunk is a non-empty
        // line, and the end is none (bounded: the ring is finite).
        let mut result = Ok(());
        for _ in 0..100_000 {
            let mut line: *mut c_char = ptr::null_mut();
            // SAFETY: cr is the live reader; line points into its buffer.
            let (n, _) = raw_call!(self, unsafe libxl_xen_console_read_line(cr, &mut line));
            if n < 0 {
                result = Err(crate::raw::error_for(
                    n,
                    "libxl_xen_console_read_line",
                    On::Host,
                ));
                break;
            }
            if line.is_null() {
                break;
            }
            // SAFETY: a NUL-terminated chunk owned by cr, copied now.
            let chunk = unsafe { std::ffi::CStr::from_ptr(line) }.to_bytes();
            if chunk.is_empty() {
                break;
            }
            out.extend_from_slice(chunk);
        }
        // SAFETY: the reader from read_start, finished once.
        unsafe { sys::libxl_xen_console_read_finish(self.as_raw(), cr) };
        result.map(|()| String::from_utf8_lossy(&out).into_owned())
    }
}
