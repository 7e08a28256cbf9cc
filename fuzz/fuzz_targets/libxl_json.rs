//! The `libxl_json` check of src/lib.rs under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xenlight_fuzz::libxl_json(data));
