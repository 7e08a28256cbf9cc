//! The serial-console protocol of the disposable Xen host, in one place for
//! both sides: dom0's init (xtask/assets/*.sh) prints these markers around
//! each program it runs, the test guest prints its own, `cargo xtask` reads
//! them from the serial log (xtask includes this file), and the hypervisor
//! tests look for the guest's in console logs. A marker is `@@WORDS@@` on a
//! line of its own.
#![allow(dead_code)]

/// Opens and closes every marker.
pub const MARK: &str = "@@";
/// dom0 is up and the toolstack ready: `@@XENLIGHT-UP <uptime>@@`.
pub const UP: &str = "@@XENLIGHT-UP ";
/// A program starts: `@@RUN-BEGIN <name>@@`.
pub const RUN_BEGIN: &str = "@@RUN-BEGIN ";
/// A program ended: `@@RUN-END <name> rc=<status>@@`.
pub const RUN_END: &str = "@@RUN-END ";
/// Every program ran; dom0 powers off next.
pub const DONE: &str = "@@XENLIGHT-DONE@@";
/// The test guest booted: `@@GUEST-HELLO <marker>@@`.
pub const GUEST_HELLO: &str = "@@GUEST-HELLO ";
/// The test guest counts, once a second, with `xlcount`: `@@GUEST-COUNT <n>@@`.
pub const GUEST_COUNT: &str = "@@GUEST-COUNT ";
/// The test guest listens for the ACPI power button (`xlacpi`).
pub const GUEST_ACPI_ARMED: &str = "@@GUEST-ACPI-ARMED@@";
/// The test guest saw the ACPI power button pressed and powers off.
pub const GUEST_POWER_BUTTON: &str = "@@GUEST-POWER-BUTTON@@";
/// The staying test guest's online CPUs, as the guest sees them
/// (/sys/devices/system/cpu/online), each time they change:
/// `@@GUEST-CPUS 0-1@@`.
pub const GUEST_CPUS: &str = "@@GUEST-CPUS ";
/// The test guest (`xlkexec`) is about to kexec into a new kernel.
pub const GUEST_KEXEC: &str = "@@GUEST-KEXEC@@";
/// The test guest's /sbin/poweroff ran (the toolstack asked it to stop).
pub const GUEST_POWEROFF_REQUEST: &str = "@@GUEST-POWEROFF-REQUEST@@";

/// The line the test guest named `name` prints when it has booted.
pub fn guest_hello(name: &str) -> String {
    format!("{GUEST_HELLO}{name}{MARK}")
}

/// The counts a `xlcount` guest printed, in order, from its console log.
pub fn guest_counts(log: &str) -> Vec<u64> {
    log.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix(GUEST_COUNT)?
                .strip_suffix(MARK)?
                .parse()
                .ok()
        })
        .collect()
}

/// A hypervisor test failed while Xen logged a guest's triple fault, and
/// ran again: `@@TEST-RETRIED <test>: <Xen's line>@@` (see
/// `common::retry_after_triple_fault`).
pub const TEST_RETRIED: &str = "@@TEST-RETRIED ";

/// The body of a `TEST-RETRIED` line, if `line` is one.
pub fn parse_test_retried(line: &str) -> Option<&str> {
    line.strip_prefix(TEST_RETRIED)?.strip_suffix(MARK)
}

/// The marker line before a program runs.
pub fn run_begin(name: &str) -> String {
    format!("{RUN_BEGIN}{name}{MARK}")
}

/// The body of a `RUN-BEGIN` line, if `line` is one.
pub fn parse_run_begin(line: &str) -> Option<&str> {
    line.strip_prefix(RUN_BEGIN)?.strip_suffix(MARK)
}

/// The body of a `RUN-END` line (`<name> rc=<status>`), if `line` is one.
pub fn parse_run_end(line: &str) -> Option<&str> {
    line.strip_prefix(RUN_END)?.strip_suffix(MARK)
}
