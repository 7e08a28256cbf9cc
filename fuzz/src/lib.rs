//! The checks the fuzz targets run, one per target: each takes bytes an
//! outsider could send and panics only when one of xenlight's promises
//! breaks; a typed error is the expected answer to bad input. libFuzzer
//! runs them under AddressSanitizer (`cargo xtask fuzz`), and
//! tests/fuzz_regressions.rs replays every input in fuzz/regressions/ on
//! the stable toolchain.

use arbitrary::{Arbitrary, Unstructured};
use xenlight::fuzzing;
use xenlight::types::{self, IdlType};
use xenlight::DomainConfig;

/// Rust -> C (libxl's `_init`, our writer) -> Rust is the identity for
/// every value the writer takes, and the C value is disposed cleanly.
fn round_trips<T: IdlType>(v: &T) {
    let Ok(c) = v.to_libxl() else { return };
    // SAFETY: `c` was written by to_libxl, so it is initialised.
    let back = unsafe { T::from_libxl(&c) }
        .unwrap_or_else(|e| panic!("{}: what we wrote does not read back: {e}", T::LIBXL_NAME));
    assert_eq!(
        &back,
        v,
        "{}: Rust -> C -> Rust changed the value",
        T::LIBXL_NAME
    );
}

/// xl.cfg text: read or refused with a typed error, never a panic. What
/// is read converts to C and back unchanged, and its JSON passes the
/// untrusted-JSON check, so a guest created from it can be saved and
/// restored or migrated.
pub fn xl_cfg_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(x) = DomainConfig::from_xl_cfg(&text) else {
        return;
    };
    round_trips(&x.config.libxl);
    let json = serde_json::to_string(&x.config.libxl).expect("a config serializes");
    if let Err(e) = fuzzing::canonical_libxl_json(&json) {
        panic!("xl.cfg read a config whose JSON a restore refuses: {e}\n{json}");
    }
}

/// xl.cfg text through the grammar check and libxlutil's parser alone:
/// the check (which stands in front of libxlutil, whose parser leaks on
/// some refusals) refuses only what libxlutil refuses, bar lists nested
/// 1000 deep, which it refuses and libxlutil may take. libxlutil's leak
/// is expected here, so this target runs without leak detection.
pub fn xl_cfg_grammar(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    // libxlutil's lexer asserts on a NUL byte in a quoted string (found
    // here), which is why xenlight refuses NUL bytes before anything else.
    if text.contains('\0') {
        return;
    }
    if let (Some((line, column)), true) = fuzzing::xl_cfg_grammar(&text) {
        if text.matches('[').count() < 1000 {
            panic!("the grammar check refuses at {line}:{column} what libxlutil takes");
        }
    }
}

/// Untrusted libxl JSON (from a peer, a save file, `from_json`): refused,
/// or made into a canonical text that is valid JSON and its own canonical
/// form. What serde reads of that text converts to C and back unchanged.
pub fn libxl_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(canon) = fuzzing::canonical_libxl_json(text) else {
        return;
    };
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&canon) {
        panic!("the canonical text is not JSON: {e}\n{canon}");
    }
    match fuzzing::canonical_libxl_json(&canon) {
        Ok(again) => assert_eq!(
            again, canon,
            "the canonical text is not its own canonical form"
        ),
        Err(e) => panic!("the canonical text is refused: {e}\n{canon}"),
    }
    if let Ok(cfg) = serde_json::from_str::<types::DomainConfig>(&canon) {
        round_trips(&cfg);
    }
}

/// A reader of a frame's header, leaving the slice at what follows.
type HeaderReader = fn(&mut &[u8]) -> Result<String, String>;

/// A save file or a migration sender's first bytes: the header is read or
/// refused, a read header takes exactly its frame, and the stream start
/// check answers for whatever follows.
pub fn stream_header(data: &[u8]) {
    let readers: [HeaderReader; 2] = [
        |r| fuzzing::read_save_header(r),
        |r| fuzzing::read_migration_header(r),
    ];
    for read in readers {
        let mut rest = data;
        let Ok(json) = read(&mut rest) else { continue };
        assert_eq!(
            data.len() - rest.len(),
            20 + json.len(),
            "the header took more than its frame"
        );
        let _ = fuzzing::canonical_libxl_json(&json);
        if let Some(start) = rest.first_chunk::<24>() {
            let _ = fuzzing::check_stream_header(start);
        }
    }
}

/// Arbitrary values of the IDL types: each converts to C and back
/// unchanged (under AddressSanitizer: no read or free of memory it does
/// not own), or is refused with a typed error.
pub fn conversions(data: &[u8]) {
    let mut u = Unstructured::new(data);
    macro_rules! each {
        ($($t:ident),* $(,)?) => {{
            const TYPES: &[&str] = &[$(stringify!($t)),*];
            let Ok(which) = u.choose_index(TYPES.len()) else { return };
            let mut i = 0;
            $(
                if which == i {
                    if let Ok(v) = types::$t::arbitrary(&mut u) {
                        round_trips(&v);
                    }
                    return;
                }
                i += 1;
            )*
            let _ = i;
        }};
    }
    each!(
        DomainConfig,
        DomainBuildInfo,
        DomainCreateInfo,
        DeviceDisk,
        DeviceNic,
        DevicePci,
        DeviceVfb,
        DeviceVkb,
        DeviceRdm,
        DeviceUsbctrl,
        DeviceUsbdev,
        DeviceDtdev,
        DeviceVtpm,
        DeviceP9,
        DevicePvcallsif,
        DeviceChannel,
        DeviceVdispl,
        DeviceVsnd,
        DomainRestoreParams,
        DomainSchedParams,
        VcpuSchedParams,
        SchedParams,
        VnodeInfo,
        RdmReserve,
        IoportRange,
        IomemRange,
        VgaInterfaceInfo,
        VncInfo,
        SpiceInfo,
        SdlInfo,
        Dominfo,
        Cpupoolinfo,
        Channelinfo,
        Vminfo,
        VersionInfo,
        ConnectorParam,
        VsndParams,
        VsndStream,
        VsndPcm,
        Diskinfo,
        Nicinfo,
        Vtpminfo,
        Usbctrlinfo,
        Vcpuinfo,
        Physinfo,
        Connectorinfo,
        Vdisplinfo,
        Streaminfo,
        Pcminfo,
        Vsndinfo,
        Vkbinfo,
        Numainfo,
        Cputopology,
        Pcitopology,
        SchedCreditParams,
        SchedCredit2Params,
        DomainRemusInfo,
        Event,
        PsrCatInfo,
        PsrHwInfo,
    );
}
