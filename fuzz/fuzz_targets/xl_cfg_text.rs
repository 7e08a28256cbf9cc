//! The `xl_cfg_text` check of src/lib.rs under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xenlight_fuzz::xl_cfg_text(data));
