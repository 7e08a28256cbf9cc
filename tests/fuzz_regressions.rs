//! Every input in fuzz/regressions (what fuzzing found, and kept once
//! fixed) and fuzz/seeds through the fuzz targets' own checks, on the
//! stable toolchain: what libFuzzer found stays found without nightly.
//! `cargo xtask fuzz` runs the same inputs under AddressSanitizer.

#[allow(dead_code)] // the checks are the fuzz targets'; all are used here
#[path = "../fuzz/src/lib.rs"]
mod checks;

use std::path::Path;

/// Runs `check` on each file under fuzz/{regressions,seeds}/TARGET;
/// returns how many ran. Skips where the source tree is not there (the
/// test binary runs in the Xen host too).
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut ran = 0;
    for kind in ["regressions", "seeds"] {
        let Ok(dir) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        for entry in dir {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            println!("{}", path.display());
            check(&data);
            ran += 1;
        }
    }
    ran
}

#[test]
fn xl_cfg_text_regressions_pass() {
    replay("xl_cfg_text", checks::xl_cfg_text);
    replay("xl_cfg_grammar", checks::xl_cfg_text);
}

#[test]
fn xl_cfg_grammar_regressions_pass() {
    replay("xl_cfg_grammar", checks::xl_cfg_grammar);
    replay("xl_cfg_text", checks::xl_cfg_grammar);
}

#[test]
fn libxl_json_regressions_pass() {
    replay("libxl_json", checks::libxl_json);
}

#[test]
fn stream_header_regressions_pass() {
    replay("stream_header", checks::stream_header);
}

#[test]
fn conversions_regressions_pass() {
    assert!(
        replay("conversions", checks::conversions) > 0,
        "fuzz/regressions/conversions holds what fuzzing found"
    );
}
