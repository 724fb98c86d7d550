#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| phonehome::fuzzing::tuya_frame(data));
