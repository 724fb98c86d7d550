//! The demo's Tuya 3.4 session (our own encoders): decrypted with the key
//! the README gives, headers only without it, and decrypted through a
//! Wireshark profile that `filtergen install` wrote from a device profile.

use std::process::Command;

use phonehome_e2e::*;
use phonehome_samples::tuya::{demo_device, session_34, DEMO_LOCAL_KEY};

const FIELDS: &[&str] = &["tuya.cmd", "tuya.checksum.status", "tuya.json", "tuya.key_needed"];

fn session() -> std::path::PathBuf {
    write_capture("tuya-session-3.4.pcap", &session_34(DEMO_LOCAL_KEY.as_bytes().try_into().unwrap()))
}

/// What the session says, frame by frame (one row per Tuya frame).
fn expected_json() -> Vec<&'static str> {
    vec![
        "", // discovery: checked elsewhere
        "", "", "", // the key negotiation carries nonces, not JSON
        "{}",
        r#"{"dps":{"1":false,"2":"white","3":255}}"#,
        r#"{"protocol":5,"t":1704067205,"data":{"dps":{"1":true}},"devId":"bf91aa7e5c3d2b1a0f9e8d"}"#,
        r#"{"dps":{"1":true},"t":1704067205}"#,
    ]
}

fn check_decrypted(rows: &[Vec<String>]) {
    let cmds: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        cmds,
        ["0x00000023", "0x00000003", "0x00000004", "0x00000005", "0x00000010", "0x00000010", "0x0000000d", "0x00000008"]
    );
    for (row, want) in rows.iter().zip(expected_json()).skip(1) {
        assert_eq!(row[1], "1", "HMAC verifies: {row:?}");
        assert_eq!(row[2], want, "{row:?}");
        assert!(row[3].is_empty(), "no key needed: {row:?}");
    }
}

#[test]
fn demo_session_decrypts_with_the_readme_key() {
    let key = format!(r#"uat:tuya_keys:"{}","{}""#, demo_device().gw_id, DEMO_LOCAL_KEY);
    let rows = tshark().fields(&session(), &["-o", &key], Some("tuya"), FIELDS);
    check_decrypted(&rows);
}

#[test]
fn demo_session_without_a_key_shows_headers_only() {
    let rows = tshark().fields(&session(), &[], Some("tuya"), FIELDS);
    assert_eq!(rows.len(), 8);
    for row in &rows[1..] {
        assert!(row[0].starts_with("0x"), "header fields dissect: {row:?}");
        assert_eq!(row[1], "2", "HMAC unverified without a key: {row:?}");
        assert!(row[2].is_empty(), "no plaintext: {row:?}");
        assert!(!row[3].is_empty(), "the key-needed expert: {row:?}");
    }
}

#[test]
fn keys_from_a_filtergen_profile_reach_the_plugin() {
    let d = demo_device();
    let dir = scratch().join("profiles");
    std::fs::create_dir_all(&dir).unwrap();
    let profile = dir.join("demo-cam.yaml");
    std::fs::write(
        &profile,
        format!(
            "name: demo-cam\ndescription: the demo's Tuya 3.4 camera\ndevice:\n  ip: [{}]\nkeys:\n  tuya: [{{dev_id: {}, local_key: \"{}\"}}]\n",
            d.host.ip, d.gw_id, DEMO_LOCAL_KEY
        ),
    )
    .unwrap();
    let t = tshark();
    let out = Command::new(filtergen_bin())
        .arg("install")
        .arg(&profile)
        .args(["--wireshark-profile", "phonehome-e2e", "--config-dir"])
        .arg(t.config_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "filtergen install: {}", String::from_utf8_lossy(&out.stderr));
    t.hand_over();
    let rows = t.fields(&session(), &["-C", "phonehome-e2e"], Some("tuya"), FIELDS);
    check_decrypted(&rows);
}
