#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| phonehome_fuzz::dissect("miio", data));
