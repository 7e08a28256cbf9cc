//! Compiles the C half of the logger (xentoollog hands loggers a `va_list`,
//! which stable Rust cannot take) and re-emits xenlight-sys's feature cfgs,
//! so this crate can gate on the libxl features of the Xen it is built for.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=xenlight/src/logger.c");
    // The logger's one C symbol carries the crate version, so two versions
    // of xenlight in one program link side by side.
    let version = env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let symbol = format!(
        "xenlight_{}_logger_new",
        version.replace(['.', '-', '+'], "_")
    );
    let out = std::path::PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(
        out.join("logger_symbol.rs"),
        format!("/// The versioned name of the C logger constructor.\n#[allow(dead_code)]\npub(crate) const LOGGER_NEW_SYMBOL: &str = {symbol:?};\nextern \"C\" {{\n    #[link_name = {symbol:?}]\n    fn xenlight_logger_new(log: LogFn, wanted: WantedFn) -> *mut sys::xentoollog_logger;\n}}\n"),
    )
    .expect("write logger_symbol.rs");
    let mut build = cc::Build::new();
    build
        .file("xenlight/src/logger.c")
        .define("XENLIGHT_LOGGER_NEW", symbol.as_str());
    if let Some(inc) = env::var_os("DEP_XENLIGHT_INCLUDE") {
        for p in env::split_paths(&inc) {
            build.include(p);
        }
    }
    build.compile("xenlight_logger");

    let xen_version = env::var("DEP_XENLIGHT_VERSION").unwrap_or_default();
    let minor: u32 = xen_version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let have = env::var("DEP_XENLIGHT_HAVE").unwrap_or_default();
    println!("cargo::rustc-check-cfg=cfg(libxl_have, values(any()))");
    for n in have.split(',').filter(|n| !n.is_empty()) {
        println!("cargo::rustc-cfg=libxl_have=\"{n}\"");
    }
    for m in 13..=25 {
        println!("cargo::rustc-check-cfg=cfg(xen_4_{m})");
        if minor >= m {
            println!("cargo::rustc-cfg=xen_4_{m}");
        }
    }
}
