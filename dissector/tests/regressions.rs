//! Replays every kept fuzz finding (`tests/regressions/fuzz/TARGET/*`)
//! through the function its fuzz target calls, so a fixed crash stays fixed.

use std::path::Path;

use phonehome::fuzzing;

/// What fuzz target `name` runs on its input (see fuzz/fuzz_targets/).
fn target(name: &str) -> Option<fn(&[u8])> {
    Some(match name {
        "any" => fuzzing::exercise_any,
        "tuya_frame" => fuzzing::tuya_frame,
        "iotc_scramble" => fuzzing::iotc_scramble,
        "pppp_psk" => fuzzing::pppp_psk,
        _ => return None,
    })
}

#[test]
fn kept_fuzz_findings_no_longer_fail() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/regressions/fuzz");
    let mut replayed = 0;
    for dir in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        if !dir.path().is_dir() {
            continue;
        }
        let name = dir.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let data = std::fs::read(file.path()).unwrap();
            match (target(&name), fuzzing::protocol(&name)) {
                (Some(run), _) => run(&data),
                (None, Some(d)) => fuzzing::exercise(d, &data),
                (None, None) => panic!("{}: no fuzz target {name}", file.path().display()),
            }
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} kept fuzz findings");
}
