#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrobeam_fuzz_targets::ans104_decode(data));
