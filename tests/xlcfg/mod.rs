//! The xl.cfg corpus (tests/xlcfg/corpus) and the files xl refuses
//! (tests/xlcfg/refused, each starting with `# refused: KEY`). Written by
//! us in the styles users keep; `tests/xlcfg_corpus.rs` checks this list
//! matches the directories.

/// Every corpus file: (file name, text).
pub const CORPUS: &[(&str, &str)] = &[
    ("actions.cfg", include_str!("corpus/actions.cfg")),
    (
        "affinity-list.cfg",
        include_str!("corpus/affinity-list.cfg"),
    ),
    (
        "affinity-nodes.cfg",
        include_str!("corpus/affinity-nodes.cfg"),
    ),
    (
        "affinity-string.cfg",
        include_str!("corpus/affinity-string.cfg"),
    ),
    ("arm-style.cfg", include_str!("corpus/arm-style.cfg")),
    ("channels.cfg", include_str!("corpus/channels.cfg")),
    ("cmdline-wins.cfg", include_str!("corpus/cmdline-wins.cfg")),
    ("cpuid-host.cfg", include_str!("corpus/cpuid-host.cfg")),
    ("cpuid-xend.cfg", include_str!("corpus/cpuid-xend.cfg")),
    (
        "disks-every-form.cfg",
        include_str!("corpus/disks-every-form.cfg"),
    ),
    (
        "extra-args-pv.cfg",
        include_str!("corpus/extra-args-pv.cfg"),
    ),
    (
        "hvm-acpi-tuning.cfg",
        include_str!("corpus/hvm-acpi-tuning.cfg"),
    ),
    (
        "hvm-altp2m-legacy.cfg",
        include_str!("corpus/hvm-altp2m-legacy.cfg"),
    ),
    (
        "hvm-everything-devices.cfg",
        include_str!("corpus/hvm-everything-devices.cfg"),
    ),
    (
        "hvm-firmware-override.cfg",
        include_str!("corpus/hvm-firmware-override.cfg"),
    ),
    (
        "hvm-firmware-path.cfg",
        include_str!("corpus/hvm-firmware-path.cfg"),
    ),
    (
        "hvm-gfx-numeric.cfg",
        include_str!("corpus/hvm-gfx-numeric.cfg"),
    ),
    (
        "hvm-mmio-hole.cfg",
        include_str!("corpus/hvm-mmio-hole.cfg"),
    ),
    ("hvm-nested.cfg", include_str!("corpus/hvm-nested.cfg")),
    (
        "hvm-ovmf-bios.cfg",
        include_str!("corpus/hvm-ovmf-bios.cfg"),
    ),
    (
        "hvm-qemu-args.cfg",
        include_str!("corpus/hvm-qemu-args.cfg"),
    ),
    (
        "hvm-sdl-display.cfg",
        include_str!("corpus/hvm-sdl-display.cfg"),
    ),
    (
        "hvm-serial-file.cfg",
        include_str!("corpus/hvm-serial-file.cfg"),
    ),
    (
        "hvm-serial-list.cfg",
        include_str!("corpus/hvm-serial-list.cfg"),
    ),
    ("hvm-spice.cfg", include_str!("corpus/hvm-spice.cfg")),
    ("hvm-uefi.cfg", include_str!("corpus/hvm-uefi.cfg")),
    ("hvm-usb.cfg", include_str!("corpus/hvm-usb.cfg")),
    (
        "hvm-viridian-all.cfg",
        include_str!("corpus/hvm-viridian-all.cfg"),
    ),
    (
        "hvm-viridian-list.cfg",
        include_str!("corpus/hvm-viridian-list.cfg"),
    ),
    (
        "hvm-vnc-link-local.cfg",
        include_str!("corpus/hvm-vnc-link-local.cfg"),
    ),
    (
        "legacy-builder-generic.cfg",
        include_str!("corpus/legacy-builder-generic.cfg"),
    ),
    (
        "legacy-builder.cfg",
        include_str!("corpus/legacy-builder.cfg"),
    ),
    (
        "max-vcpus-hotplug.cfg",
        include_str!("corpus/max-vcpus-hotplug.cfg"),
    ),
    (
        "memory-and-grants.cfg",
        include_str!("corpus/memory-and-grants.cfg"),
    ),
    ("p9-pvcalls.cfg", include_str!("corpus/p9-pvcalls.cfg")),
    ("plus-equals.cfg", include_str!("corpus/plus-equals.cfg")),
    ("pv-boots.cfg", include_str!("corpus/pv-boots.cfg")),
    (
        "pv-e820-ioports.cfg",
        include_str!("corpus/pv-e820-ioports.cfg"),
    ),
    ("pvh-boots.cfg", include_str!("corpus/pvh-boots.cfg")),
    (
        "pvh-passthrough.cfg",
        include_str!("corpus/pvh-passthrough.cfg"),
    ),
    ("pvh-shim.cfg", include_str!("corpus/pvh-shim.cfg")),
    ("sched-credit.cfg", include_str!("corpus/sched-credit.cfg")),
    ("sched-rtds.cfg", include_str!("corpus/sched-rtds.cfg")),
    (
        "seclabel-only.cfg",
        include_str!("corpus/seclabel-only.cfg"),
    ),
    (
        "semicolons-and-quotes.cfg",
        include_str!("corpus/semicolons-and-quotes.cfg"),
    ),
    (
        "tsc-timer-numeric.cfg",
        include_str!("corpus/tsc-timer-numeric.cfg"),
    ),
    ("unknown-keys.cfg", include_str!("corpus/unknown-keys.cfg")),
    (
        "uuid-and-labels.cfg",
        include_str!("corpus/uuid-and-labels.cfg"),
    ),
    ("vif-colo.cfg", include_str!("corpus/vif-colo.cfg")),
    (
        "vif-every-option.cfg",
        include_str!("corpus/vif-every-option.cfg"),
    ),
    ("vkb-vdispl.cfg", include_str!("corpus/vkb-vdispl.cfg")),
    ("vmtrace-msr.cfg", include_str!("corpus/vmtrace-msr.cfg")),
    ("vnuma.cfg", include_str!("corpus/vnuma.cfg")),
    ("vsnd.cfg", include_str!("corpus/vsnd.cfg")),
    ("vtpm.cfg", include_str!("corpus/vtpm.cfg")),
    (
        "wiki-driver-domain.cfg",
        include_str!("corpus/wiki-driver-domain.cfg"),
    ),
    (
        "wiki-hvm-linux-serial.cfg",
        include_str!("corpus/wiki-hvm-linux-serial.cfg"),
    ),
    ("wiki-hvm-pci.cfg", include_str!("corpus/wiki-hvm-pci.cfg")),
    (
        "wiki-hvm-windows.cfg",
        include_str!("corpus/wiki-hvm-windows.cfg"),
    ),
    ("wiki-nat.cfg", include_str!("corpus/wiki-nat.cfg")),
    (
        "wiki-pci-passthrough.cfg",
        include_str!("corpus/wiki-pci-passthrough.cfg"),
    ),
    (
        "wiki-pv-minimal.cfg",
        include_str!("corpus/wiki-pv-minimal.cfg"),
    ),
    (
        "wiki-pv-pvgrub.cfg",
        include_str!("corpus/wiki-pv-pvgrub.cfg"),
    ),
    ("wiki-pv-sdl.cfg", include_str!("corpus/wiki-pv-sdl.cfg")),
    (
        "wiki-pv-top-level-vnc.cfg",
        include_str!("corpus/wiki-pv-top-level-vnc.cfg"),
    ),
    ("wiki-pv-vfb.cfg", include_str!("corpus/wiki-pv-vfb.cfg")),
    (
        "wiki-pvh-netboot.cfg",
        include_str!("corpus/wiki-pvh-netboot.cfg"),
    ),
    ("wiki-routed.cfg", include_str!("corpus/wiki-routed.cfg")),
    ("wiki-stubdom.cfg", include_str!("corpus/wiki-stubdom.cfg")),
    ("wrong-shapes.cfg", include_str!("corpus/wrong-shapes.cfg")),
    (
        "xen-tools-debian-pv.cfg",
        include_str!("corpus/xen-tools-debian-pv.cfg"),
    ),
    (
        "xen-tools-lvm-pvh.cfg",
        include_str!("corpus/xen-tools-lvm-pvh.cfg"),
    ),
    (
        "xen-tools-pygrub.cfg",
        include_str!("corpus/xen-tools-pygrub.cfg"),
    ),
    (
        "xen-tools-string-bootloader-args.cfg",
        include_str!("corpus/xen-tools-string-bootloader-args.cfg"),
    ),
];

/// Every refused file: (file name, text).
pub const REFUSED: &[(&str, &str)] = &[
    ("bad-action.cfg", include_str!("refused/bad-action.cfg")),
    ("bad-bios.cfg", include_str!("refused/bad-bios.cfg")),
    ("bad-cpus.cfg", include_str!("refused/bad-cpus.cfg")),
    ("bad-disk.cfg", include_str!("refused/bad-disk.cfg")),
    ("bad-pci.cfg", include_str!("refused/bad-pci.cfg")),
    ("bad-rate.cfg", include_str!("refused/bad-rate.cfg")),
    ("bad-tsc-mode.cfg", include_str!("refused/bad-tsc-mode.cfg")),
    ("bad-type.cfg", include_str!("refused/bad-type.cfg")),
    ("bad-usbctrl.cfg", include_str!("refused/bad-usbctrl.cfg")),
    ("bad-uuid.cfg", include_str!("refused/bad-uuid.cfg")),
    ("bad-vga.cfg", include_str!("refused/bad-vga.cfg")),
    ("bad-viridian.cfg", include_str!("refused/bad-viridian.cfg")),
    (
        "builder-contradicts-type.cfg",
        include_str!("refused/builder-contradicts-type.cfg"),
    ),
    (
        "channel-no-connection.cfg",
        include_str!("refused/channel-no-connection.cfg"),
    ),
    (
        "firmware-and-kernel.cfg",
        include_str!("refused/firmware-and-kernel.cfg"),
    ),
    (
        "grant-frames-negative.cfg",
        include_str!("refused/grant-frames-negative.cfg"),
    ),
    (
        "maxvcpus-below-vcpus.cfg",
        include_str!("refused/maxvcpus-below-vcpus.cfg"),
    ),
    (
        "mmio-hole-too-small.cfg",
        include_str!("refused/mmio-hole-too-small.cfg"),
    ),
    ("no-kernel.cfg", include_str!("refused/no-kernel.cfg")),
    ("no-name.cfg", include_str!("refused/no-name.cfg")),
    (
        "p9-missing-tag.cfg",
        include_str!("refused/p9-missing-tag.cfg"),
    ),
    ("syntax-error.cfg", include_str!("refused/syntax-error.cfg")),
    (
        "timer-mode-pv.cfg",
        include_str!("refused/timer-mode-pv.cfg"),
    ),
    (
        "vdispl-no-connectors.cfg",
        include_str!("refused/vdispl-no-connectors.cfg"),
    ),
    (
        "vkb-no-backend-type.cfg",
        include_str!("refused/vkb-no-backend-type.cfg"),
    ),
    (
        "vnc-display-twice.cfg",
        include_str!("refused/vnc-display-twice.cfg"),
    ),
    (
        "vnuma-mismatch.cfg",
        include_str!("refused/vnuma-mismatch.cfg"),
    ),
    (
        "vtpm-no-backend.cfg",
        include_str!("refused/vtpm-no-backend.cfg"),
    ),
];

/// The key a refused file is refused for (its first line).
pub fn refused_key(text: &str) -> &str {
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("# refused: "))
        .map(str::trim)
        .unwrap_or("")
}

/// Whether `result` refuses a refused file for the key its first line
/// names; `# refused: syntax` means xl's parser refuses the file, which
/// names no key but the place.
#[allow(dead_code)] // each test binary uses what it needs
pub fn refused_for_its_key<T: std::fmt::Debug>(
    text: &str,
    result: &Result<T, xenlight::Error>,
) -> Result<(), String> {
    match result {
        Err(xenlight::Error::InvalidConfig { field, reason })
            if field == refused_key(text) && !reason.is_empty() =>
        {
            Ok(())
        }
        Err(xenlight::Error::XlCfgSyntax { line, message, .. })
            if refused_key(text) == "syntax" && *line > 0 && !message.is_empty() =>
        {
            Ok(())
        }
        other => Err(format!(
            "expected a refusal for `{}`, got {other:?}",
            refused_key(text)
        )),
    }
}

/// Whether the Xen built against (the including test's `built_minor`)
/// accepts a refused file
/// (`# accepted from: 4.NN` on its second line).
pub fn accepted_here(text: &str) -> bool {
    let from = text
        .lines()
        .nth(1)
        .and_then(|l| l.strip_prefix("# accepted from: 4."))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|m| m.parse::<u32>().ok());
    matches!(from, Some(m) if m <= crate::built_minor())
}

/// The key for which the Xen built against refuses a corpus file that
/// older releases accept (`# refused from: 4.NN KEY`), if it does.
#[allow(dead_code)] // used by the host test only
pub fn refused_here(text: &str) -> Option<&str> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix("# refused from: 4.")?;
        let (minor, key) = rest.split_once(' ')?;
        (minor.parse::<u32>().ok()? <= crate::built_minor()).then_some(key.trim())
    })
}

/// The domain type a corpus file that boots in the Xen host has
/// (`# xenlight-test: boots KIND`).
#[allow(dead_code)] // used by the hypervisor test only
pub fn boots(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|l| l.strip_prefix("# xenlight-test: boots "))
        .map(str::trim)
}
