//! The xl.cfg corpus without a hypervisor: every file is listed, every key
//! xl reads is used by some file, each file reads (or needs only the host's
//! CPU layout), and each refused file is refused for the key it names.
//! `tests/xen_xlcfg.rs` compares the same files with `xl -N create`.

#[path = "xlcfg/mod.rs"]
mod corpus;
#[path = "common/release.rs"]
mod release;

use release::built_minor;

use corpus::{accepted_here, refused_for_its_key, refused_here, CORPUS, REFUSED};
use xenlight::{xl_cfg_keys, DomainConfig, Error, SUPPORTED_KEYS};

/// Checks the list against the directory; skips where the source tree is
/// not there to compare with (the test binary runs in the Xen host too).
fn listed(dir: &str, list: &[(&str, &str)]) {
    let path = format!("{}/tests/xlcfg/{dir}", env!("CARGO_MANIFEST_DIR"));
    let Ok(entries) = std::fs::read_dir(&path) else {
        println!("skipped: {path} is not on this machine");
        return;
    };
    let mut on_disk: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let names: Vec<&str> = list.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names, on_disk,
        "tests/xlcfg/mod.rs must list every file of tests/xlcfg/{dir}"
    );
}

#[test]
fn the_corpus_lists_every_file() {
    listed("corpus", CORPUS);
    listed("refused", REFUSED);
    assert!(CORPUS.len() >= 60, "the corpus has {} files", CORPUS.len());
}

#[test]
fn the_corpus_uses_every_key_xl_reads() {
    let used: std::collections::BTreeSet<String> =
        CORPUS.iter().flat_map(|(_, t)| xl_cfg_keys(t)).collect();
    let missing: Vec<&str> = SUPPORTED_KEYS
        .iter()
        .copied()
        .filter(|k| !used.contains(*k))
        .collect();
    println!(
        "keys covered: {}/{}",
        SUPPORTED_KEYS.len() - missing.len(),
        SUPPORTED_KEYS.len()
    );
    assert!(missing.is_empty(), "keys no corpus file uses: {missing:?}");
}

#[test]
fn every_corpus_file_reads_or_needs_the_host() {
    for (name, text) in CORPUS {
        if let Some(key) = refused_here(text) {
            let r = DomainConfig::from_xl_cfg(text);
            assert!(
                matches!(&r, Err(Error::InvalidConfig { field, .. }) if field == key),
                "{name}: refused for {key} by this release's xl: {r:?}"
            );
            continue;
        }
        match DomainConfig::from_xl_cfg(text) {
            Ok(x) => {
                assert!(!x.config.name().is_empty(), "{name}");
                for w in &x.warnings {
                    println!("{name}: warning: {w}");
                }
            }
            // Only CPU maps naming nodes or "all", and vnuma without
            // maxvcpus, depend on the host.
            Err(Error::InvalidConfig { field, reason }) if reason.contains("Context::xl_cfg") => {
                assert!(
                    ["cpus", "cpus_soft", "vnuma"].contains(&field.as_str()),
                    "{name}: {field}: {reason}"
                );
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
}

#[test]
fn every_refused_file_is_refused_for_its_key() {
    for (name, text) in REFUSED {
        if accepted_here(text) {
            assert!(DomainConfig::from_xl_cfg(text).is_ok(), "{name}");
            continue;
        }
        if let Err(e) = refused_for_its_key(text, &DomainConfig::from_xl_cfg(text)) {
            panic!("{name}: {e}");
        }
    }
}
