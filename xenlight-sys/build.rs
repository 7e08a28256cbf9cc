//! Generates the libxl bindings, links libxenlight/libxlutil/libxentoollog and
//! turns the libxl features found in the headers into cfg flags.
//!
//! Everything that is found is passed on to dependants as `links` metadata
//! (`DEP_XENLIGHT_VERSION`, `DEP_XENLIGHT_HAVE`), so the safe crate can gate
//! on the same flags without probing again.

use std::collections::BTreeSet;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// The libxl API we pin: the newest value both Xen 4.17 and 4.20 accept (see
/// "libxl API compatibility" in libxl.h). Pinning keeps function signatures
/// stable across Xen releases.
const LIBXL_API_VERSION: &str = "0x041400";

/// Xen minor versions (4.x) for which `xen_4_x` cfg flags are declared.
const XEN_MINORS: std::ops::RangeInclusive<u32> = 13..=25;

/// The oldest Xen this crate supports (4.x).
const MIN_XEN_MINOR: u32 = 17;

/// The `LIBXL_HAVE_*` flags of the Xen the pre-generated docs bindings
/// (src/docs_bindings.rs) were made from; docs builds set these.
const DOCS_LIBXL_HAVE: &[&str] = include!("docs_have.in");
/// That Xen's version.
const DOCS_XEN_VERSION: &str = "4.17.0";

/// `LIBXL_HAVE_*` names known from the Xen 4.17 and 4.20 headers. Names found
/// in the headers being built against are declared as well, so a newer Xen
/// never produces `unexpected_cfgs` warnings.
const KNOWN_LIBXL_HAVE: &[&str] = include!("known_libxl_have.in");

const HEADERS: &[&str] = &[
    "libxl.h",
    "libxl_utils.h",
    "libxl_event.h",
    "libxlutil.h",
    "xentoollog.h",
    "xenstore.h",
    "xencall.h",
];

const INSTALL_HINT: &str = "install the Debian packages libxen-dev, libclang-dev and pkg-config \
     (apt-get install libxen-dev libclang-dev pkg-config), or point PKG_CONFIG_PATH \
     (and PKG_CONFIG_SYSROOT_DIR) at another Xen's .pc files";

fn fail(what: &str) -> ! {
    eprintln!("\nerror: xenlight-sys: {what}; {INSTALL_HINT}.\n");
    std::process::exit(1);
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=known_libxl_have.in");
    for var in [
        "PKG_CONFIG_PATH",
        "PKG_CONFIG_SYSROOT_DIR",
        "PKG_CONFIG_LIBDIR",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-env-changed=DOCS_RS");
    println!("cargo:rerun-if-changed=docs_have.in");
    println!("cargo::rustc-check-cfg=cfg(xenlight_docs_bindings)");
    if env::var_os("DOCS_RS").is_some() {
        // docs.rs has no Xen: use the pre-generated bindings, link nothing,
        // compile no C.
        println!("cargo::rustc-cfg=xenlight_docs_bindings");
        let have: BTreeSet<String> = DOCS_LIBXL_HAVE.iter().map(|s| s.to_string()).collect();
        emit_cfgs(DOCS_XEN_VERSION, &have, &[]);
        return;
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let mut includes: Vec<PathBuf> = Vec::new();
    let mut version = String::new();
    for (lib, pc) in [
        ("libxenlight", "xenlight"),
        ("libxlutil", "xlutil"),
        ("libxentoollog", "xentoollog"),
        ("libxenstore", "xenstore"),
        ("libxencall", "xencall"),
    ] {
        let found = pkg_config::Config::new()
            .print_system_libs(false)
            .probe(pc)
            .unwrap_or_else(|e| {
                let first = e.to_string().lines().next().unwrap_or_default().to_owned();
                fail(&format!("{lib} was not found by pkg-config ({first})"))
            });
        if pc == "xenlight" {
            version = found.version.clone();
            require_min_version(&version);
        }
        for p in found.include_paths {
            if !includes.contains(&p) {
                includes.push(p);
            }
        }
    }
    // pkg-config drops -I/usr/include; a sysroot (Xen 4.20 check) needs it back.
    if let Some(sysroot) = env::var_os("PKG_CONFIG_SYSROOT_DIR") {
        let inc = Path::new(&sysroot).join("usr/include");
        if !includes.contains(&inc) {
            includes.insert(0, inc);
        }
    }
    let header_dir = includes
        .iter()
        .chain([PathBuf::from("/usr/include")].iter())
        .find(|d| d.join("libxl.h").is_file())
        .cloned()
        .unwrap_or_else(|| fail("libxl.h was not found"));
    for h in HEADERS {
        let p = header_dir.join(h);
        if !p.is_file() {
            fail(&format!("{} is missing", p.display()));
        }
        println!("cargo:rerun-if-changed={}", p.display());
    }

    let wrapper = out.join("xenlight_wrapper.h");
    let mut text = format!("#define LIBXL_API_VERSION {LIBXL_API_VERSION}\n");
    for h in HEADERS {
        let _ = writeln!(text, "#include <{h}>");
    }
    fs::write(&wrapper, text).expect("write wrapper header");

    // Feature probe: names come from the header text, presence from the
    // preprocessor (several LIBXL_HAVE_* are defined with no value).
    let header_text: String = HEADERS
        .iter()
        .map(|h| fs::read_to_string(header_dir.join(h)).unwrap_or_default())
        .collect();
    let have_names = macro_names(&header_text, "LIBXL_HAVE_");
    let alias_names = compat_alias_names(&header_text);
    let mut probe = format!("#include \"{}\"\n", wrapper.display());
    for n in &have_names {
        let _ = writeln!(probe, "#ifdef {n}\nxenlight_have_{n}\n#endif");
    }
    for n in &alias_names {
        let _ = writeln!(probe, "#ifdef {n}\nxenlight_alias_{n} {n}\n#endif");
    }
    let probe_path = out.join("xenlight_probe.c");
    fs::write(&probe_path, probe).expect("write probe");
    let mut build = cc::Build::new();
    build.file(&probe_path).cargo_metadata(false);
    for i in &includes {
        build.include(i);
    }
    let expanded = build
        .try_expand()
        .unwrap_or_else(|e| fail(&format!("the libxl headers do not preprocess ({e})")));
    let expanded = String::from_utf8_lossy(&expanded);
    let mut have: BTreeSet<String> = BTreeSet::new();
    let mut aliases: Vec<(String, String)> = Vec::new();
    for line in expanded.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("xenlight_have_LIBXL_HAVE_") {
            have.insert(rest.to_owned());
        } else if let Some(rest) = line.strip_prefix("xenlight_alias_") {
            let mut it = rest.split_whitespace();
            if let (Some(from), Some(to)) = (it.next(), it.next()) {
                if from != to {
                    aliases.push((from.to_owned(), to.to_owned()));
                }
            }
        }
    }

    // Bindings. bindgen panics when libclang is missing: turn that into the
    // same one-sentence hint as a missing header.
    let wrap_c = out.join("xenlight_static_fns");
    let mut builder = bindgen::Builder::default()
        .header(wrapper.display().to_string())
        .allowlist_function(
            "libxl_.*|xlu_.*|xtl_.*|xs_open|xs_close|xs_read|xs_watch|xs_check_watch|xs_fileno|\
             xencall_open|xencall_close|xencall_alloc_buffer_pages|xencall_free_buffer_pages",
        )
        .allowlist_type("libxl_.*|xlu_.*|XLU_.*|xentoollog_.*|xtl_.*|xencall_handle")
        .allowlist_var("LIBXL_.*|ERROR_.*|XTL_.*|XLU_.*|XS_OPEN_.*|XBT_NULL")
        .blocklist_function("libxl__.*")
        .default_enum_style(bindgen::EnumVariation::Consts)
        .derive_default(true)
        .generate_comments(false)
        .layout_tests(true)
        .wrap_static_fns(true)
        .wrap_static_fns_path(&wrap_c)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for i in &includes {
        builder = builder.clang_arg(format!("-I{}", i.display()));
    }
    let prev_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let generated =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || builder.generate()));
    std::panic::set_hook(prev_hook);
    let bindings = match generated {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => fail(&format!("bindgen could not parse the libxl headers ({e})")),
        Err(_) => fail("bindgen could not load libclang"),
    };
    let mut rust = bindings.to_string();
    // libxl's #define'd compatibility names. Where the header also declares
    // the real function under that name, bindgen already bound it, and the
    // shim stays callable under its own (versioned) name.
    rust.push_str("\n// libxl's #define'd compatibility names.\n");
    for (from, to) in &aliases {
        if rust.contains(&format!("pub fn {to}(")) && !rust.contains(&format!("pub fn {from}(")) {
            let _ = writeln!(rust, "pub use self::{to} as {from};");
        }
    }
    fs::write(out.join("bindings.rs"), rust).expect("write bindings");

    // The C wrappers that make `static inline` functions callable.
    let wrap_c = wrap_c.with_extension("c");
    if wrap_c.is_file() {
        let mut cc = cc::Build::new();
        cc.file(&wrap_c).include(&out).warnings(false);
        for i in &includes {
            cc.include(i);
        }
        cc.compile("xenlight_static_fns");
    }

    emit_cfgs(&version, &have, &includes);
}

/// The cfg flags for this crate, and the same facts for dependants as
/// `links` metadata: the version, the `libxl_have` names, and the
/// `xen_4_NN` flags declared and set (so dependants copy no version range).
fn emit_cfgs(version: &str, have: &BTreeSet<String>, includes: &[PathBuf]) {
    let minor = xen_minor(version);
    let mut declared: BTreeSet<String> = KNOWN_LIBXL_HAVE.iter().map(|s| s.to_string()).collect();
    declared.extend(have.iter().cloned());
    let values: Vec<String> = declared.iter().map(|n| format!("\"{n}\"")).collect();
    println!(
        "cargo::rustc-check-cfg=cfg(libxl_have, values({}))",
        values.join(", ")
    );
    for n in have {
        println!("cargo::rustc-cfg=libxl_have=\"{n}\"");
    }
    let (mut names, mut set) = (Vec::new(), Vec::new());
    for m in XEN_MINORS {
        let name = format!("xen_4_{m}");
        println!("cargo::rustc-check-cfg=cfg({name})");
        if minor >= m {
            println!("cargo::rustc-cfg={name}");
            set.push(name.clone());
        }
        names.push(name);
    }
    println!("cargo:version={version}");
    println!(
        "cargo:have={}",
        have.iter().cloned().collect::<Vec<_>>().join(",")
    );
    println!("cargo:xen_cfgs_declared={}", names.join(","));
    println!("cargo:xen_cfgs_set={}", set.join(","));
    println!(
        "cargo:include={}",
        env::join_paths(includes)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
}

/// Stops the build, in one sentence, on a Xen older than the minimum.
fn require_min_version(version: &str) {
    if xen_minor(version) < MIN_XEN_MINOR {
        eprintln!(
            "\nerror: xenlight-sys needs Xen 4.{MIN_XEN_MINOR} or newer, but pkg-config found \
             libxenlight {version}; install a newer libxen-dev or point PKG_CONFIG_PATH at a \
             newer Xen's .pc files.\n"
        );
        std::process::exit(1);
    }
}

/// The 4.x minor version from a pkg-config version string such as "4.17.0".
fn xen_minor(version: &str) -> u32 {
    let mut it = version.split('.');
    match (it.next(), it.next().and_then(|m| m.parse().ok())) {
        (Some("4"), Some(m)) => m,
        _ => fail(&format!(
            "libxenlight reports version {version:?}, expected 4.x"
        )),
    }
}

/// Every distinct identifier starting with `prefix` in `text`.
fn macro_names(text: &str, prefix: &str) -> BTreeSet<String> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.split(|c: char| !is_ident(c))
        .filter(|w| w.starts_with(prefix) && w.len() > prefix.len() && !w.ends_with('_'))
        .map(str::to_owned)
        .collect()
}

/// Names of object-like `#define libxl_x libxl_y` compatibility renames.
fn compat_alias_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start().strip_prefix('#')?.trim_start();
            let mut it = l.strip_prefix("define")?.split_whitespace();
            let name = it.next()?;
            let ok = name.starts_with("libxl_")
                && !name.contains('(')
                && it
                    .next()
                    .is_some_and(|t| t.starts_with("libxl_") || t == "\\");
            ok.then(|| name.to_owned())
        })
        .collect()
}
