//! libxl's enumerations as Rust enums, each declared once in a table: the
//! libxl constant, the Rust name and the spelling users know. Every enum
//! keeps values it does not know in `Unknown(raw)`: libxl adds values
//! between releases, and a value read back must never turn into another.
// bindgen gives each C enum the integer type the platform's C compiler
// picks (int or unsigned), so the casts to i32 are not always no-ops.
#![allow(clippy::unnecessary_cast)]

use std::fmt;

use xenlight_sys as sys;

/// Declares a `#[non_exhaustive]` enum with an `Unknown(i32)` arm, its
/// conversions to and from libxl's integer, and `Display` with the names in
/// the table.
macro_rules! libxl_enum {
    (
        $(#[$doc:meta])*
        pub enum $name:ident {
            $( $(#[$vdoc:meta])* $variant:ident = $raw:path, $text:literal; )*
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vdoc])* $variant, )*
            /// A value this crate does not know (from a newer libxl), kept as is.
            Unknown(i32),
        }

        impl $name {
            /// Every known value, in table order.
            pub const ALL: &'static [$name] = &[$( $name::$variant, )*];

            /// The value for libxl's integer; unknown integers are kept.
            pub fn from_raw(raw: i32) -> Self {
                $( if raw == $raw as i32 { return $name::$variant; } )*
                $name::Unknown(raw)
            }

            /// libxl's integer for this value.
            pub fn to_raw(self) -> i32 {
                match self {
                    $( $name::$variant => $raw as i32, )*
                    $name::Unknown(raw) => raw,
                }
            }

            /// The name users know (xl's spelling where xl has one).
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( $name::$variant => Some($text), )*
                    $name::Unknown(_) => None,
                }
            }

            /// The value with this name, as [`name`](Self::name) spells it.
            pub fn from_name(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.name() == Some(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "unknown ({})", self.to_raw()),
                }
            }
        }
    };
}

libxl_enum! {
    /// How a domain is virtualised (`libxl_domain_type`).
    ///
    /// ```
    /// use xenlight::DomainType;
    /// assert_eq!(DomainType::from_name("pvh"), Some(DomainType::Pvh));
    /// assert_eq!(DomainType::from_raw(77), DomainType::Unknown(77));
    /// ```
    pub enum DomainType {
        /// Paravirtualised: a Xen-aware kernel, no emulated hardware.
        Pv = sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PV, "pv";
        /// PVH: a PV kernel in a hardware-virtualised container, no device model.
        Pvh = sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_PVH, "pvh";
        /// Fully virtualised with emulated devices (QEMU), optionally with PV drivers.
        Hvm = sys::libxl_domain_type_LIBXL_DOMAIN_TYPE_HVM, "hvm";
    }
}

libxl_enum! {
    /// Why a domain shut down (`libxl_shutdown_reason`).
    pub enum ShutdownReason {
        /// The guest powered off.
        Poweroff = sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_POWEROFF, "poweroff";
        /// The guest asked to reboot.
        Reboot = sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_REBOOT, "reboot";
        /// The guest suspended (e.g. for save or migration).
        Suspend = sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_SUSPEND, "suspend";
        /// The guest crashed.
        Crash = sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_CRASH, "crash";
        /// The guest's watchdog fired.
        Watchdog = sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_WATCHDOG, "watchdog";
        /// The guest asked for a soft reset.
        SoftReset = sys::libxl_shutdown_reason_LIBXL_SHUTDOWN_REASON_SOFT_RESET, "soft_reset";
    }
}

libxl_enum! {
    /// What the toolstack should do when a guest powers off, reboots or
    /// crashes (`libxl_action_on_shutdown`), spelled as in xl.cfg.
    ///
    /// libxl only stores these; [`Context::handle_shutdown`] carries them
    /// out, as xl's monitor does. An `Unknown` action is refused there,
    /// never taken for another.
    ///
    /// ```
    /// use xenlight::Action;
    /// assert_eq!(Action::from_name("coredump-restart"), Some(Action::CoredumpRestart));
    /// assert_eq!(Action::from_name("explode"), None);
    /// ```
    ///
    /// [`Context::handle_shutdown`]: crate::Context::handle_shutdown
    pub enum Action {
        /// Destroy the domain.
        Destroy = sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_DESTROY, "destroy";
        /// Destroy and start it again.
        Restart = sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_RESTART, "restart";
        /// Rename it and start a new one.
        RestartRename = sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_RESTART_RENAME, "rename-restart";
        /// Keep the domain, shut down, for inspection.
        Preserve = sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_PRESERVE, "preserve";
        /// Dump its core, then destroy it.
        CoredumpDestroy = sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_DESTROY, "coredump-destroy";
        /// Dump its core, then restart it.
        CoredumpRestart = sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_COREDUMP_RESTART, "coredump-restart";
        /// Soft-reset it.
        SoftReset = sys::libxl_action_on_shutdown_LIBXL_ACTION_ON_SHUTDOWN_SOFT_RESET, "soft-reset";
    }
}

impl Action {
    /// Parses xl.cfg's spelling; the same as [`Action::from_name`].
    pub fn from_xl(s: &str) -> Option<Self> {
        Self::from_name(s)
    }
}

libxl_enum! {
    /// A disk image's format (`libxl_disk_format`).
    pub enum DiskFormat {
        /// libxl decides (`LIBXL_DISK_FORMAT_UNKNOWN`).
        Auto = sys::libxl_disk_format_LIBXL_DISK_FORMAT_UNKNOWN, "unknown";
        /// QEMU qcow.
        Qcow = sys::libxl_disk_format_LIBXL_DISK_FORMAT_QCOW, "qcow";
        /// QEMU qcow2.
        Qcow2 = sys::libxl_disk_format_LIBXL_DISK_FORMAT_QCOW2, "qcow2";
        /// VHD.
        Vhd = sys::libxl_disk_format_LIBXL_DISK_FORMAT_VHD, "vhd";
        /// Raw image or block device.
        Raw = sys::libxl_disk_format_LIBXL_DISK_FORMAT_RAW, "raw";
        /// No medium (an empty CD-ROM drive).
        Empty = sys::libxl_disk_format_LIBXL_DISK_FORMAT_EMPTY, "empty";
        /// QED.
        Qed = sys::libxl_disk_format_LIBXL_DISK_FORMAT_QED, "qed";
    }
}

libxl_enum! {
    /// Which backend serves a disk (`libxl_disk_backend`).
    pub enum DiskBackend {
        /// Let libxl choose.
        Auto = sys::libxl_disk_backend_LIBXL_DISK_BACKEND_UNKNOWN, "unknown";
        /// The kernel's blkback (raw files and block devices).
        Phy = sys::libxl_disk_backend_LIBXL_DISK_BACKEND_PHY, "phy";
        /// blktap.
        Tap = sys::libxl_disk_backend_LIBXL_DISK_BACKEND_TAP, "tap";
        /// QEMU's qdisk.
        Qdisk = sys::libxl_disk_backend_LIBXL_DISK_BACKEND_QDISK, "qdisk";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review defect 5: an unknown action used to become `Destroy`.
    #[test]
    fn unknown_values_are_kept_never_mapped_to_another() {
        assert_eq!(Action::from_raw(99), Action::Unknown(99));
        assert_eq!(Action::Unknown(99).to_raw(), 99);
        assert_eq!(DomainType::from_raw(77), DomainType::Unknown(77));
        assert_eq!(ShutdownReason::from_raw(42), ShutdownReason::Unknown(42));
        assert_eq!(DiskFormat::from_raw(42), DiskFormat::Unknown(42));
        assert_eq!(DiskBackend::from_raw(42), DiskBackend::Unknown(42));
        assert_eq!(Action::Unknown(99).to_string(), "unknown (99)");
    }

    #[test]
    fn every_table_entry_round_trips() {
        for a in Action::ALL {
            assert_eq!(Action::from_raw(a.to_raw()), *a);
            assert_eq!(Action::from_name(a.name().unwrap()), Some(*a));
        }
        for t in DomainType::ALL {
            assert_eq!(DomainType::from_raw(t.to_raw()), *t);
        }
        assert_eq!(DiskFormat::Raw.to_string(), "raw");
        assert_eq!(ShutdownReason::SoftReset.to_string(), "soft_reset");
    }
}
