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
    // docs.rs has no Xen headers: the logger's C half is not compiled
    // there (nothing is linked in a docs build).
    println!("cargo:rerun-if-env-changed=DOCS_RS");
    if env::var_os("DOCS_RS").is_none() {
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
    }

    // The -sys crate's facts, re-emitted as they are: the libxl features
    // found and the `xen_4_NN` flags it declared and set.
    let list = |var: &str| {
        env::var(var)
            .unwrap_or_default()
            .split(',')
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    println!("cargo::rustc-check-cfg=cfg(libxl_have, values(any()))");
    for n in list("DEP_XENLIGHT_HAVE") {
        println!("cargo::rustc-cfg=libxl_have=\"{n}\"");
    }
    for n in list("DEP_XENLIGHT_XEN_CFGS_DECLARED") {
        println!("cargo::rustc-check-cfg=cfg({n})");
    }
    for n in list("DEP_XENLIGHT_XEN_CFGS_SET") {
        println!("cargo::rustc-cfg={n}");
    }
}
