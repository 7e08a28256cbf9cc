//! Safe Rust bindings to Xen's libxenlight (libxl), the library behind `xl`.
//!
//! Run on a Xen host's dom0 (as root) to list, inspect, create and manage
//! domains. Everything goes through a [`Context`], which is `Send + Sync` and
//! meant to be shared.
//!
//! ```no_run
//! use xenlight::Context;
//!
//! let ctx = Context::new()?; // Error::NotDom0 when this is not a Xen dom0
//! for d in ctx.domains()? {
//!     println!(
//!         "{:<20} {:>5} {:>6} MiB {}",
//!         d.name.as_deref().unwrap_or("-"),
//!         d.domid,
//!         d.current_memkb / 1024,
//!         d.state_letters()
//!     );
//! }
//! # Ok::<(), xenlight::Error>(())
//! ```
//!
//! * libxl's messages go to the [`log`] crate under the target `xenlight`;
//!   the latest error lines are also attached to the returned [`Error`].
//! * Every libxl struct the crate creates is owned: `_init` when it is made,
//!   `_dispose` when it is dropped.
//! * libxl's child-process handling is set to
//!   `libxl_sigchld_owner_libxl_always_selective_reap`, so the application's
//!   own child processes keep working. libxl then owns SIGCHLD: if the
//!   process already has a SIGCHLD handler when the first `Context` is made,
//!   [`Context::new`] returns [`Error::SigchldHandlerInstalled`] (libxl would
//!   abort); make the `Context` first. If the application replaces libxl's
//!   handler later, dropping the last `Context` leaks it rather than let
//!   libxl abort.
//! * libxl stores a guest's `on_poweroff`/`on_reboot`/`on_crash` actions but
//!   does not carry them out; after [`Context::wait_for_shutdown`],
//!   [`Context::handle_shutdown`] does, as xl's domain monitor would.
//!
//! The raw bindings are in [`xenlight_sys`], re-exported as [`sys`].
#![warn(missing_docs)]
// docs.rs (nightly) marks items that need a feature or a libxl_have flag.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_op_in_unsafe_fn)]

// The IDL samples (tests/idl/samples.rs) name the crate as its users do.
#[cfg(test)]
extern crate self as xenlight;

// Layers, bottom up; a module imports only from layers below it (checked
// by tests/module_layers.rs). See ARCHITECTURE.md.
// 0. Plain data and the logger: no libxl calls.
mod enums;
mod guest;
mod ids;
mod logger;
mod values;
// 1. Errors.
mod error;
// 2. The raw layer: owners, the call path, C callbacks.
mod raw;
// 3. Data converted from and to libxl's structs.
mod config;
mod convert;
mod info;
pub mod types;
mod xlcfg;
// 4. The context.
mod context;
// 5. Operations, one concept each (all `impl Context`).
#[cfg(feature = "tokio")]
mod asynchronous;
mod console;
mod create;
mod devices;
mod domains;
mod events;
mod framing;
mod host;
mod json;
mod lifecycle;
mod memory;
mod migrate;
mod monitor;
mod pci;
mod psr;
mod saverestore;
mod sched;
mod userdata;
mod vcpus;
mod vdevices;
mod xlcfg_host;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

#[cfg(all(feature = "tokio", feature = "xen-host"))]
#[doc(hidden)]
pub use asynchronous::ASYNC_WAIT_HOOK;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use asynchronous::{AsyncContext, Cancelled, Creation, DomainEventStream};
pub use config::{Actions, Disk, DomainConfig, Nic};
pub use console::{Console, ConsoleKind};
pub use context::{Autoballoon, Context};
pub use enums::{Action, DiskBackend, DiskFormat, DomainType, ShutdownReason};
pub use error::{DomainRef, Error, ErrorKind, Result};
#[cfg(feature = "xen-host")]
#[doc(hidden)]
pub use events::WAIT_HOOK;
pub use events::{Cancel, DomainEvent, DomainEvents};
pub use guest::{GuestEnvironment, GuestMode, XenRole};
pub use ids::{Domid, InvalidDomid, Mac, ParseMacError, ParseUuidError, Uuid};
pub use info::{DomainInfo, DomainState, PhysInfo, VersionInfo};
pub use logger::LOG_TARGET;
#[cfg(feature = "xen-host")]
#[doc(hidden)]
pub use migrate::HANDOVER_FAULT;
pub use monitor::{AfterShutdown, CORE_DUMP_DIR};
pub use pci::pci_address;
pub use vdevices::{
    AttachableDevice, DestroyableDevice, DeviceWithState, DevidDevice, ListedDevice,
};
pub use xenlight_sys as sys;
pub use xlcfg::{
    xl_cfg_keys, XlCfgWarning, XlCfgWarningKind, XlConf, XlConfig, SUPPORTED_KEYS, XEN_FIRMWARE_DIR,
};
