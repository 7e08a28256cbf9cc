//! Which Xen release the tests were built against (shared by
//! tests/common and tests/xlcfg, which include this file).

/// The Xen minor release the tests were built against, which is the one
/// they run on (`vm-test` builds them against 4.17, `--xen 4.20` and
/// `--xen 4.22` against those hosts' libxl; the host tests against the
/// headers and libraries they are pointed at).
pub fn built_minor() -> u32 {
    [
        (22, cfg!(xen_4_22)),
        (21, cfg!(xen_4_21)),
        (20, cfg!(xen_4_20)),
        (19, cfg!(xen_4_19)),
    ]
    .into_iter()
    .find_map(|(m, on)| on.then_some(m))
    .unwrap_or(17)
}
