#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    phonehome_fuzz::init();
    phonehome::fuzzing::exercise_any(data)
});
