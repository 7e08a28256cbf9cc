//! The `stream_header` check of src/lib.rs under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xenlight_fuzz::stream_header(data));
