//! Errors: libxl's `ERROR_*` codes, the operation that failed, the domain it
//! concerned, and libxl's own explanation (which libxl only ever logs).

use std::fmt;
use std::time::Duration;

use xenlight_sys as sys;

use crate::ids::{Domid, InvalidDomid, ParseMacError, ParseUuidError};

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! error_kinds {
    ($( $(#[$doc:meta])* $kind:ident = $code:ident, $text:literal; )*) => {
        /// The kind of a libxl failure: one variant per `ERROR_*` code of
        /// libxl.h, plus [`ErrorKind::Unknown`] for codes a newer libxl adds.
        ///
        /// ```
        /// use xenlight::ErrorKind;
        /// assert_eq!(ErrorKind::from_code(-21), ErrorKind::DomainNotFound);
        /// assert_eq!(ErrorKind::DomainNotFound.code(), -21);
        /// assert_eq!(ErrorKind::from_code(-99), ErrorKind::Unknown(-99));
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $( $(#[$doc])* $kind, )*
            /// A code this crate does not know (from a newer libxl).
            Unknown(i32),
        }

        impl ErrorKind {
            /// The kind for a libxl return code.
            pub fn from_code(code: i32) -> Self {
                $( if code == sys::$code { return ErrorKind::$kind; } )*
                ErrorKind::Unknown(code)
            }

            /// The libxl return code (`ERROR_*`, negative).
            pub fn code(self) -> i32 {
                match self {
                    $( ErrorKind::$kind => sys::$code, )*
                    ErrorKind::Unknown(c) => c,
                }
            }

            /// The libxl name of the code, e.g. `ERROR_DOMAIN_NOTFOUND`.
            pub fn name(self) -> &'static str {
                match self {
                    $( ErrorKind::$kind => stringify!($code).trim_start_matches("libxl_error_"), )*
                    ErrorKind::Unknown(_) => "ERROR_UNKNOWN",
                }
            }

            /// A short description of the code.
            pub fn description(self) -> &'static str {
                match self {
                    $( ErrorKind::$kind => $text, )*
                    ErrorKind::Unknown(_) => "unknown libxl error",
                }
            }

            /// Every known kind, in code order (for tests and tables).
            pub const ALL: &'static [ErrorKind] = &[$( ErrorKind::$kind, )*];
        }
    };
}

error_kinds! {
    /// `ERROR_NONSPECIFIC`.
    NonSpecific = libxl_error_ERROR_NONSPECIFIC, "unspecified failure";
    /// `ERROR_VERSION`: the library does not support the requested version.
    Version = libxl_error_ERROR_VERSION, "version mismatch";
    /// `ERROR_FAIL`: a generic failure; libxl's log message says more.
    Fail = libxl_error_ERROR_FAIL, "failure";
    /// `ERROR_NI`: not implemented.
    NotImplemented = libxl_error_ERROR_NI, "not implemented";
    /// `ERROR_NOMEM`.
    NoMemory = libxl_error_ERROR_NOMEM, "out of memory";
    /// `ERROR_INVAL`: an invalid argument or configuration.
    Invalid = libxl_error_ERROR_INVAL, "invalid argument";
    /// `ERROR_BADFAIL`: a failure that left things in a bad state.
    BadFail = libxl_error_ERROR_BADFAIL, "failure leaving an inconsistent state";
    /// `ERROR_GUEST_TIMEDOUT`: the guest did not respond in time.
    GuestTimedOut = libxl_error_ERROR_GUEST_TIMEDOUT, "the guest did not respond in time";
    /// `ERROR_TIMEDOUT`.
    TimedOut = libxl_error_ERROR_TIMEDOUT, "timed out";
    /// `ERROR_NOPARAVIRT`: the guest has no PV drivers for this request.
    NoParavirt = libxl_error_ERROR_NOPARAVIRT, "the guest has no PV drivers";
    /// `ERROR_NOT_READY`.
    NotReady = libxl_error_ERROR_NOT_READY, "not ready";
    /// `ERROR_OSEVENT_REG_FAIL`.
    OseventRegFail = libxl_error_ERROR_OSEVENT_REG_FAIL, "event registration failed";
    /// `ERROR_BUFFERFULL`.
    BufferFull = libxl_error_ERROR_BUFFERFULL, "buffer full";
    /// `ERROR_UNKNOWN_CHILD`.
    UnknownChild = libxl_error_ERROR_UNKNOWN_CHILD, "unknown child process";
    /// `ERROR_LOCK_FAIL`.
    LockFail = libxl_error_ERROR_LOCK_FAIL, "could not take a lock";
    /// `ERROR_JSON_CONFIG_EMPTY`.
    JsonConfigEmpty = libxl_error_ERROR_JSON_CONFIG_EMPTY, "the stored JSON config is empty";
    /// `ERROR_DEVICE_EXISTS`: the device is already attached.
    DeviceExists = libxl_error_ERROR_DEVICE_EXISTS, "the device already exists";
    /// `ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH`.
    CheckpointDevopsDoesNotMatch = libxl_error_ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH, "checkpoint device ops do not match";
    /// `ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED`.
    CheckpointDeviceNotSupported = libxl_error_ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED, "checkpoint device not supported";
    /// `ERROR_VNUMA_CONFIG_INVALID`.
    VnumaConfigInvalid = libxl_error_ERROR_VNUMA_CONFIG_INVALID, "invalid vNUMA configuration";
    /// `ERROR_DOMAIN_NOTFOUND`: no such domain.
    DomainNotFound = libxl_error_ERROR_DOMAIN_NOTFOUND, "domain not found";
    /// `ERROR_ABORTED`.
    Aborted = libxl_error_ERROR_ABORTED, "aborted";
    /// `ERROR_NOTFOUND`: the thing asked for (device, key) does not exist.
    NotFound = libxl_error_ERROR_NOTFOUND, "not found";
    /// `ERROR_DOMAIN_DESTROYED`: the domain went away during the operation.
    DomainDestroyed = libxl_error_ERROR_DOMAIN_DESTROYED, "the domain was destroyed";
    /// `ERROR_FEATURE_REMOVED`.
    FeatureRemoved = libxl_error_ERROR_FEATURE_REMOVED, "the feature was removed";
    /// `ERROR_PROTOCOL_ERROR_QMP`.
    ProtocolErrorQmp = libxl_error_ERROR_PROTOCOL_ERROR_QMP, "QMP protocol error";
    /// `ERROR_UNKNOWN_QMP_ERROR`.
    UnknownQmpError = libxl_error_ERROR_UNKNOWN_QMP_ERROR, "unknown QMP error";
    /// `ERROR_QMP_GENERIC_ERROR`.
    QmpGenericError = libxl_error_ERROR_QMP_GENERIC_ERROR, "QMP error";
    /// `ERROR_QMP_COMMAND_NOT_FOUND`.
    QmpCommandNotFound = libxl_error_ERROR_QMP_COMMAND_NOT_FOUND, "QMP command not found";
    /// `ERROR_QMP_DEVICE_NOT_ACTIVE`.
    QmpDeviceNotActive = libxl_error_ERROR_QMP_DEVICE_NOT_ACTIVE, "QMP device not active";
    /// `ERROR_QMP_DEVICE_NOT_FOUND`.
    QmpDeviceNotFound = libxl_error_ERROR_QMP_DEVICE_NOT_FOUND, "QMP device not found";
    /// `ERROR_QEMU_API`: the device model's API failed.
    QemuApi = libxl_error_ERROR_QEMU_API, "device model API error";
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} = {})",
            self.description(),
            self.name(),
            self.code()
        )
    }
}

/// A domain, by id or by name: the domain an operation was about, and
/// what [`Context::domain_info`](crate::Context::domain_info) takes.
///
/// ```
/// use xenlight::{DomainRef, Domid};
/// assert_eq!(DomainRef::from(Domid::DOM0), DomainRef::Id(Domid::DOM0));
/// assert_eq!(DomainRef::from("web"), DomainRef::Name("web".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainRef {
    /// By domain id.
    Id(Domid),
    /// By name.
    Name(String),
}

/// A domain named by id: what [`Context::domain_info`](crate::Context::domain_info) takes.
impl From<Domid> for DomainRef {
    fn from(d: Domid) -> Self {
        DomainRef::Id(d)
    }
}

/// A domain named by name.
impl From<&str> for DomainRef {
    fn from(name: &str) -> Self {
        DomainRef::Name(name.to_owned())
    }
}

/// A domain named by name.
impl From<String> for DomainRef {
    fn from(name: String) -> Self {
        DomainRef::Name(name)
    }
}

/// A domain named by name.
impl From<&String> for DomainRef {
    fn from(name: &String) -> Self {
        DomainRef::Name(name.clone())
    }
}

impl fmt::Display for DomainRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainRef::Id(d) => write!(f, "domain {d}"),
            DomainRef::Name(n) => write!(f, "domain {n:?}"),
        }
    }
}

/// libxl's explanation, when it logged one, as a `: ...` suffix.
struct Explained<'a>(&'a Option<String>);

impl fmt::Display for Explained<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(m) => write!(f, ": libxl says: {m}"),
            None => Ok(()),
        }
    }
}

/// Where a libxl call failed: " on domain 3" or nothing.
struct On<'a>(&'a Option<DomainRef>);

impl fmt::Display for On<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, " on {d}"),
            None => Ok(()),
        }
    }
}

/// "domain 3", or "the domain" when none was named.
struct Which<'a>(&'a Option<DomainRef>);

impl fmt::Display for Which<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => d.fmt(f),
            None => f.write_str("the domain"),
        }
    }
}

/// Everything that can go wrong in this crate.
///
/// Each variant says which operation failed (`op` is the libxl function or
/// the crate's own operation) and carries libxl's last logged error line
/// when libxl wrote one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// This machine is not a Xen dom0 (or the toolstack is not running), so
    /// no libxl context can be created.
    #[error(
        "not running on a Xen dom0: {reason}; check that this is Xen's dom0 with the xen-privcmd \
         module loaded (/dev/xen/privcmd), that xenstored is running, and that you are root{}",
        Explained(message)
    )]
    NotDom0 {
        /// What was found missing.
        reason: String,
        /// libxl's own log message, if any.
        message: Option<String>,
    },

    /// The process already handles SIGCHLD (an async runtime's child
    /// reaper, signal-hook, ...): libxl, which reaps its own children,
    /// requires SIGCHLD at its default when the first [`Context`](crate::Context)
    /// is made, and would abort the process otherwise.
    #[error(
        "the process already has a SIGCHLD handler ({handler}); libxl needs SIGCHLD at its \
         default when the first Context is made: create the Context before the code that \
         installs the handler (e.g. before starting an async runtime's process support)"
    )]
    SigchldHandlerInstalled {
        /// What is installed.
        handler: String,
    },

    /// The domain does not exist (or no longer does). libxl's
    /// `ERROR_DOMAIN_NOTFOUND` always becomes this variant.
    #[error("{op}: {} does not exist{}", Which(domain), Explained(message))]
    DomainNotFound {
        /// The operation.
        op: &'static str,
        /// The domain asked for, when the operation named one.
        domain: Option<DomainRef>,
        /// libxl's own log message, if any.
        message: Option<String>,
    },

    /// A libxl call failed.
    #[error("{op}{} failed: {kind}{}", On(domain), Explained(message))]
    Libxl {
        /// The libxl function that failed.
        op: &'static str,
        /// The domain involved, if any.
        domain: Option<DomainRef>,
        /// libxl's error code.
        kind: ErrorKind,
        /// libxl's own log message, if any.
        message: Option<String>,
    },

    /// A device is already attached where one was to be added.
    #[error("{op}: {domain} already has device {device}")]
    DeviceExists {
        /// The operation.
        op: &'static str,
        /// The domain.
        domain: DomainRef,
        /// The device (vdev or nic id).
        device: String,
    },

    /// The device to detach does not exist.
    #[error("{op}: {domain} has no device {device}")]
    DeviceNotFound {
        /// The operation.
        op: &'static str,
        /// The domain.
        domain: DomainRef,
        /// The device (vdev or nic id).
        device: String,
    },

    /// The operation refuses Domain-0: pausing, stopping, destroying,
    /// saving or migrating it would take down the toolstack that asks
    /// (libxl would try anyway).
    #[error("{op} refuses Domain-0: it runs this toolstack; name a guest domain")]
    Domain0Refused {
        /// The operation.
        op: &'static str,
    },

    /// A [`Context`](crate::Context) and an `AsyncContext` in one process:
    /// libxl needs every context of a process to reap child processes the
    /// same way (one SIGCHLD mode), and would abort otherwise.
    #[error(
        "a {wanted} cannot be made while a {existing} is alive in this process: libxl needs          every context of a process to reap children the same way; make all of them with          Context::new, or all with AsyncContext::new"
    )]
    ContextModeConflict {
        /// The kind of context asked for.
        wanted: &'static str,
        /// The kind alive.
        existing: &'static str,
    },

    /// `AsyncContext::new` was called outside a tokio runtime, or in one
    /// without its drivers.
    #[error(
        "AsyncContext::new must be called inside a tokio runtime with its drivers enabled          (Builder::enable_all, or #[tokio::main])"
    )]
    NoRuntime,

    /// Saving a domain failed. libxl leaves a guest it could not save
    /// suspended; like `xl save`, the crate resumes it, and `resumed` says
    /// whether it runs again.
    #[error("saving domain {domid} failed: {reason}{}", if *resumed { " (the domain was resumed and runs on)" } else { "" })]
    Save {
        /// The domain.
        domid: Domid,
        /// Why the save failed (and, if it was not resumed, why not).
        reason: String,
        /// Whether the domain runs again.
        resumed: bool,
    },

    /// An argument cannot be passed to libxl (e.g. a string with a NUL byte).
    #[error("invalid {what}: {reason}")]
    InvalidArgument {
        /// Which argument.
        what: &'static str,
        /// Why.
        reason: String,
    },

    /// A domain configuration is invalid; `field` names the culprit.
    #[error("invalid domain configuration: {field}: {reason}")]
    InvalidConfig {
        /// The field or xl.cfg key at fault.
        field: String,
        /// Why.
        reason: String,
    },

    /// An xl.cfg file is not in xl.cfg's syntax (libxlutil's parser
    /// refused it).
    #[error("{file}:{line}:{column}: xl.cfg syntax error: {message}")]
    XlCfgSyntax {
        /// The file's name (or "xl.cfg" for text).
        file: String,
        /// The line, 1-based (libxlutil's).
        line: usize,
        /// The column, 1-based: where the grammar first fails on the line.
        column: usize,
        /// libxlutil's message.
        message: String,
    },

    /// Waiting for something took longer than allowed.
    #[error("{op}{}: timed out after {:.1} s", On(domain), after.as_secs_f64())]
    Timeout {
        /// What was being waited for.
        op: &'static str,
        /// The domain involved, if any.
        domain: Option<DomainRef>,
        /// The time allowed.
        after: Duration,
    },

    /// A domain does not fit in the host's free memory and dom0 was not (or
    /// could not be) ballooned down far enough.
    #[error(
        "{domain} needs {need_mib} MiB but the host has {free_mib} MiB free{}",
        if *ballooned { " after ballooning dom0 down" } else { " (autoballoon is off: free memory, or Context::set_autoballoon(Autoballoon::On))" }
    )]
    InsufficientMemory {
        /// The domain being created.
        domain: String,
        /// What it needs (`libxl_domain_need_memory`), MiB.
        need_mib: u64,
        /// What the host had free at the end, MiB.
        free_mib: u64,
        /// Whether dom0 was ballooned down (and it was still not enough).
        ballooned: bool,
    },

    /// A migration failed at `stage`; `resumed` says whether the domain
    /// at the sender runs on (it was resumed, or never stopped).
    #[error("migration of {domain} failed while {stage}: {reason}{}", if *resumed { " (the domain runs on at the sender)" } else { "" })]
    Migration {
        /// The domain being migrated (its name at the sender).
        domain: String,
        /// What was being done: "sending", "receiving", "handing over", or
        /// "replicating" (Remus, [`Context::remus`](crate::Context::remus)).
        stage: &'static str,
        /// Why: the peer's report or the underlying error.
        reason: String,
        /// Whether the sender's domain is running again.
        resumed: bool,
    },

    /// A wait was stopped with [`Cancel::cancel`](crate::Cancel::cancel).
    #[error("{op}{}: cancelled", On(domain))]
    Cancelled {
        /// What was being waited for.
        op: &'static str,
        /// The domain involved, if any.
        domain: Option<DomainRef>,
    },

    /// An operating-system call failed (reading a config file, say).
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The libxl error kind, if libxl returned a code.
    ///
    /// ```
    /// # use xenlight::{Error, ErrorKind};
    /// let e = Error::InvalidArgument { what: "name", reason: "NUL byte".into() };
    /// assert_eq!(e.kind(), None);
    /// ```
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::Libxl { kind, .. } => Some(*kind),
            Error::DomainNotFound { .. } => Some(ErrorKind::DomainNotFound),
            Error::DeviceExists { .. } => Some(ErrorKind::DeviceExists),
            Error::DeviceNotFound { .. } => Some(ErrorKind::NotFound),
            _ => None,
        }
    }

    /// Whether this error says the domain does not exist.
    pub fn is_domain_not_found(&self) -> bool {
        matches!(self, Error::DomainNotFound { .. })
    }

    /// libxl's own logged explanation, if there is one.
    pub fn libxl_message(&self) -> Option<&str> {
        match self {
            Error::NotDom0 { message, .. }
            | Error::DomainNotFound { message, .. }
            | Error::Libxl { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// The error for libxl return code `rc` from `op`, with the calling
    /// thread's last libxl log lines. `ERROR_DOMAIN_NOTFOUND` is always
    /// [`Error::DomainNotFound`]; the call layer (`raw::call`) applies the
    /// other normalisations.
    pub(crate) fn from_libxl(rc: i32, op: &'static str, domain: Option<DomainRef>) -> Self {
        let kind = ErrorKind::from_code(rc);
        let message = crate::logger::take_last_error();
        if kind == ErrorKind::DomainNotFound {
            return Error::DomainNotFound {
                op,
                domain,
                message,
            };
        }
        Error::Libxl {
            op,
            domain,
            kind,
            message,
        }
    }

    /// A value that could not be written into IDL field `field` (e.g. a
    /// string with a NUL byte) as an [`Error::InvalidConfig`] naming the
    /// field; other errors pass through.
    pub(crate) fn in_field(self, field: &str) -> Self {
        match self {
            Error::InvalidArgument { reason, .. } => Error::InvalidConfig {
                field: field.to_owned(),
                reason,
            },
            e => e,
        }
    }

    /// Out of memory in `op`: the one shape of that error.
    pub(crate) fn no_memory(op: &'static str) -> Self {
        Error::Libxl {
            op,
            domain: None,
            kind: ErrorKind::NoMemory,
            message: None,
        }
    }
}

impl From<InvalidDomid> for Error {
    fn from(e: InvalidDomid) -> Self {
        Error::InvalidArgument {
            what: "domid",
            reason: e.to_string(),
        }
    }
}

impl From<ParseUuidError> for Error {
    fn from(e: ParseUuidError) -> Self {
        Error::InvalidArgument {
            what: "uuid",
            reason: e.to_string(),
        }
    }
}

impl From<ParseMacError> for Error {
    fn from(e: ParseMacError) -> Self {
        Error::InvalidArgument {
            what: "mac",
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_libxl_code_maps_both_ways() {
        for code in -32..=-1 {
            let k = ErrorKind::from_code(code);
            assert!(!matches!(k, ErrorKind::Unknown(_)), "code {code} unknown");
            assert_eq!(k.code(), code);
            assert!(k.name().starts_with("ERROR_"), "{}", k.name());
        }
        assert_eq!(ErrorKind::ALL.len(), 32);
        assert_eq!(ErrorKind::from_code(-1000), ErrorKind::Unknown(-1000));
        assert_eq!(ErrorKind::Unknown(-1000).code(), -1000);
        assert_eq!(
            ErrorKind::from_code(sys::libxl_error_ERROR_FAIL),
            ErrorKind::Fail
        );
        assert_eq!(ErrorKind::DomainNotFound.name(), "ERROR_DOMAIN_NOTFOUND");
    }

    #[test]
    fn messages_name_operation_domain_and_libxl_text() {
        let e = Error::Libxl {
            op: "libxl_domain_pause",
            domain: Some(DomainRef::Id(Domid::new(7).unwrap())),
            kind: ErrorKind::Fail,
            message: Some("xc_domain_pause failed".into()),
        };
        let s = e.to_string();
        assert!(s.contains("libxl_domain_pause on domain 7 failed"), "{s}");
        assert!(s.contains("ERROR_FAIL"), "{s}");
        assert!(s.contains("xc_domain_pause failed"), "{s}");
        let e = Error::DomainNotFound {
            op: "domid_by_name",
            domain: Some(DomainRef::Name("web".into())),
            message: None,
        };
        assert_eq!(
            e.to_string(),
            "domid_by_name: domain \"web\" does not exist"
        );
        assert!(e.is_domain_not_found());
        assert_eq!(e.kind(), Some(ErrorKind::DomainNotFound));
    }

    #[test]
    fn domain_not_found_code_is_always_the_variant() {
        let e = Error::from_libxl(
            sys::libxl_error_ERROR_DOMAIN_NOTFOUND,
            "libxl_domain_info",
            Some(DomainRef::Id(Domid::new(9).unwrap())),
        );
        assert!(e.is_domain_not_found(), "{e:?}");
        let e = Error::from_libxl(sys::libxl_error_ERROR_DOMAIN_NOTFOUND, "x", None);
        assert!(e.is_domain_not_found(), "{e:?}");
        assert_eq!(e.to_string(), "x: the domain does not exist");
        let e = Error::from_libxl(sys::libxl_error_ERROR_INVAL, "libxl_x", None);
        assert_eq!(e.kind(), Some(ErrorKind::Invalid));
    }
}
