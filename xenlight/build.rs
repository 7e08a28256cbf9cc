//! Compiles the C half of the logger (xentoollog hands loggers a `va_list`,
//! which stable Rust cannot take) and re-emits xenlight-sys's feature cfgs,
//! so this crate can gate on the libxl features of the Xen it is built for.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=src/logger.c");
    let mut build = cc::Build::new();
    build.file("src/logger.c");
    if let Some(inc) = env::var_os("DEP_XENLIGHT_INCLUDE") {
        for p in env::split_paths(&inc) {
            build.include(p);
        }
    }
    build.compile("xenlight_logger");

    let version = env::var("DEP_XENLIGHT_VERSION").unwrap_or_default();
    let minor: u32 = version
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
