//! libxl's fork, made safe for a multi-threaded process
//! (`libxl_childproc_hooks.fork_replacement`).
//!
//! Some of libxl's children do not exec: `libxl_domain_destroy`'s child
//! (libxl_domain.c, `devices_destroy_cb`) opens a new xencall handle and
//! makes the destroy hypercall itself, as xencall.h allows a child to. But
//! libxencall guards its hypercall-buffer cache with one process-wide mutex
//! (`cache_mutex`, tools/libs/call/buffer.c) and libxentoolcore its handle
//! list with another (`handles_lock`), and neither registers a fork
//! handler. A fork while another thread of the process is inside either
//! (any libxl call that makes a hypercall, e.g. `domain_info` in a polling
//! thread) gives a child whose copy of that mutex is locked by a thread it
//! does not have: the child waits on it forever, and the destroy never
//! returns. Seen in the two-host migration test (the destroy's child on a
//! futex in libxencall's data, 1 run in 5).
//!
//! So each fork is checked: the child takes both locks once (opening a
//! xencall handle, allocating and freeing a buffer page, closing it) and
//! says so over a pipe before it becomes libxl's child. A child that does
//! not report within [`CHECK_WAIT`] is stuck on an inherited lock: it is
//! killed and reaped here, and the fork is made again (the other thread has
//! long released the lock by then). libxl never sees the discarded child.

use std::time::{Duration, Instant};

use xenlight_sys as sys;

/// How long a forked child may take to take libxencall's locks.
const CHECK_WAIT: Duration = Duration::from_secs(5);

/// Forks made before giving up (libxl then reports that fork failed).
const ATTEMPTS: usize = 4;

/// libxl's `fork_replacement`: behaves as fork(2) (returns the child's pid
/// in the parent, 0 in the child, -1 with errno set on failure), but the
/// child it returns can take libxencall's locks. Does not reenter libxl, as
/// libxl_event.h requires, and never unwinds (nothing here panics).
pub(crate) unsafe extern "C" fn fork_replacement(_user: *mut std::ffi::c_void) -> libc::pid_t {
    let mut errno = libc::EAGAIN;
    for _ in 0..ATTEMPTS {
        match checked_fork() {
            Ok(pid) => return pid,
            Err(Forked::Failed(e)) => {
                errno = e;
                break;
            }
            Err(Forked::Stuck) => errno = libc::EAGAIN,
        }
    }
    // SAFETY: errno is this thread's; writing it is how fork reports.
    unsafe { *libc::__errno_location() = errno };
    -1
}

enum Forked {
    /// fork or pipe failed with this errno.
    Failed(i32),
    /// The child did not get libxencall's locks; it was killed and reaped.
    Stuck,
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn checked_fork() -> Result<libc::pid_t, Forked> {
    let mut fds = [0; 2];
    // SAFETY: a valid two-int out-array; the fds are closed on every path
    // below (close-on-exec too, so no exec'd child keeps them).
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Forked::Failed(last_errno()));
    }
    let [read_end, write_end] = fds;
    // SAFETY: fork as libxl would call it; the child runs only the check
    // below (calls libxl's own children make) before returning to libxl.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = last_errno();
        // SAFETY: both ends are ours and open.
        unsafe {
            libc::close(read_end);
            libc::close(write_end);
        }
        return Err(Forked::Failed(e));
    }
    if pid == 0 {
        // SAFETY: in the child, which has only this thread; the ends are
        // its copies.
        unsafe {
            libc::close(read_end);
            take_xencall_locks();
            let ok = 1u8;
            libc::write(write_end, (&ok as *const u8).cast(), 1);
            libc::close(write_end);
        }
        return Ok(0);
    }
    // SAFETY: the parent's copy of the write end; the child holds its own.
    unsafe { libc::close(write_end) };
    let reported = wait_readable(read_end, CHECK_WAIT) && {
        let mut b = 0u8;
        // SAFETY: a one-byte buffer we own; read_end is open.
        unsafe { libc::read(read_end, (&mut b as *mut u8).cast(), 1) == 1 }
    };
    // SAFETY: ours, open, not used again.
    unsafe { libc::close(read_end) };
    if reported {
        return Ok(pid);
    }
    // SAFETY: pid is our own child, not yet known to libxl, so reaping it
    // here takes nothing from libxl's bookkeeping.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0 && last_errno() == libc::EINTR {}
    }
    Err(Forked::Stuck)
}

/// Takes and releases xentoolcore's handle lock (open and close) and
/// libxencall's buffer-cache lock (allocating and freeing a page): returns
/// only if neither was inherited locked.
///
/// # Safety
/// Only in a freshly forked child, before it returns to libxl.
unsafe fn take_xencall_locks() {
    // SAFETY: a NULL logger makes libxencall log to stderr; the handle is
    // new in this child (xencall.h: a child must open its own) and closed
    // here; the page is freed on the handle that allocated it.
    unsafe {
        let h = sys::xencall_open(std::ptr::null_mut(), 0);
        if h.is_null() {
            // No hypercall driver: the child will fail as libxl's would.
            return;
        }
        let page = sys::xencall_alloc_buffer_pages(h, 1);
        if !page.is_null() {
            sys::xencall_free_buffer_pages(h, page, 1);
        }
        sys::xencall_close(h);
    }
}

/// Waits up to `limit` for `fd` to be readable (data or end of file),
/// through signals.
fn wait_readable(fd: i32, limit: Duration) -> bool {
    let start = Instant::now();
    loop {
        let left = limit.saturating_sub(start.elapsed());
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r > 0 {
            return true;
        }
        if r == 0 || last_errno() != libc::EINTR || left.is_zero() {
            return false;
        }
    }
}
