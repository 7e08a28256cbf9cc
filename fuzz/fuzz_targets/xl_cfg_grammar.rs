//! The `xl_cfg_grammar` check of src/lib.rs under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xenlight_fuzz::xl_cfg_grammar(data));
