//! Tuya discovery through the installed plugin in a real tshark: the
//! project's own sample and the real capture in ../shared/captures/.

use phonehome::tuya::{commands, discovery, frame};
use phonehome_e2e::*;

const REAL: &str = "tuya-discovery-ndpi.pcap";

#[test]
fn tshark_lists_the_plugin_and_every_field() {
    let t = tshark();
    let plugins = String::from_utf8_lossy(&t.run_bare(&["-G", "plugins"]).stdout).into_owned();
    assert!(plugins.lines().any(|l| l.starts_with("phonehome.so")), "{plugins}");
    let fields = String::from_utf8_lossy(&t.run_bare(&["-G", "fields"]).stdout).into_owned();
    let abbrevs: Vec<&str> = fields.lines().filter_map(|l| l.split('\t').nth(2)).collect();
    for f in [
        "tuya", "tuya.seq", "tuya.cmd", "tuya.length", "tuya.retcode", "tuya.checksum",
        "tuya.checksum.status", "tuya.json", "tuya.gw_id", "tuya.ip", "tuya.product_key", "tuya.version",
    ] {
        assert!(abbrevs.contains(&f), "tshark -G fields lacks {f}");
    }
}

#[test]
fn real_capture_has_13_devices_and_good_checksums() {
    let Some(cap) = shared_capture(REAL) else { return };
    let rows = tshark().fields(
        &cap,
        &[],
        None,
        &["tuya.gw_id", "tuya.ip", "tuya.version", "tuya.checksum.status", "tuya.cmd", "_ws.col.Info"],
    );
    assert_eq!(rows.len(), 98);
    assert_eq!(distinct(&rows, 0).len(), 13, "device ids: {:?}", distinct(&rows, 0));
    assert_eq!(distinct(&rows, 1).len(), 13);
    for r in &rows {
        assert_eq!(r[2], "3.3");
        assert_eq!(r[3], "1", "checksum status Good on every frame: {r:?}");
        assert_eq!(r[4], "0x00000013", "cmd UDP_NEW");
        assert_eq!(r[5], format!("Discovery {} {} v3.3", r[0], r[1]));
    }
    let one = tshark().fields(&cap, &[], Some(r#"tuya.gw_id == "50650122dc4f22bd40a1""#), &["tuya.ip"]);
    assert!(!one.is_empty() && one.len() < 98);
    assert!(one.iter().all(|r| r[0] == "192.168.242.181"), "{one:?}");
    let good = tshark().fields(&cap, &[], Some(r#"tuya.checksum.status == "Good""#), &["frame.number"]);
    assert_eq!(good.len(), 98);
}

#[test]
fn sample_decodes_every_version() {
    let devices = scenarios::demo_devices();
    let cap = write_capture("sample.pcap", &scenarios::tuya_discovery(&devices, 2));
    let rows = tshark().fields(&cap, &[], Some("tuya"), &["tuya.gw_id", "tuya.ip", "tuya.product_key", "tuya.version"]);
    assert_eq!(rows.len(), 2 * devices.len());
    for d in &devices {
        let want = vec![d.gw_id.to_string(), d.host.ip.to_string(), d.product_key.to_string(), d.version.to_string()];
        assert!(rows.contains(&want), "{want:?} not in {rows:?}");
    }
}

#[test]
fn corrupted_byte_is_a_bad_checksum_not_a_crash() {
    let d = &scenarios::demo_devices()[0];
    let mut cap = Capture::new();
    let good = frame::encode_55aa_crc(0, commands::UDP_NEW, Some(0), &discovery::encrypt(d.announcement().as_bytes()));
    let mut bad = good.clone();
    bad[good.len() - 9] ^= 0x01; // last payload byte
    cap.udp(d.host, 49154, Host::broadcast(), 6667, &good);
    cap.udp(d.host, 49154, Host::broadcast(), 6667, &bad);
    let path = write_capture("corrupted.pcap", &cap);
    let rows = tshark().fields(&path, &[], None, &["tuya.checksum.status", "_ws.expert.message"]);
    assert_eq!(rows[0][0], "1");
    assert_eq!(rows[1][0], "0");
    assert!(rows[1][1].contains("Bad checksum"), "{:?}", rows[1]);
    let bad_only = tshark().fields(&path, &[], Some("tuya.checksum.bad"), &["frame.number"]);
    assert_eq!(bad_only, vec![vec!["2".to_string()]]);
}

#[test]
fn truncated_and_garbage_frames_never_crash() {
    let d = &scenarios::demo_devices()[0];
    let good = frame::encode_55aa_crc(0, commands::UDP_NEW, Some(0), &discovery::encrypt(d.announcement().as_bytes()));
    let mut cap = Capture::new();
    for cut in [4, 15, 16, 20, good.len() - 1] {
        cap.udp(d.host, 49154, Host::broadcast(), 6667, &good[..cut]);
    }
    cap.udp(d.host, 49154, Host::broadcast(), 6667, b"not tuya at all");
    cap.udp(d.host, 49154, Host::broadcast(), 6667, &[]);
    let path = write_capture("garbage.pcap", &cap);
    let rows = tshark().fields(&path, &[], None, &["frame.number", "tuya.malformed", "_ws.col.Protocol"]);
    assert_eq!(rows.len(), 7);
    for r in &rows[..5] {
        assert_eq!(r[2], "Tuya", "{r:?}");
        assert!(!r[1].is_empty(), "truncated frame {r:?} is marked malformed");
    }
    assert_ne!(rows[5][2], "Tuya", "garbage is not claimed as Tuya: {:?}", rows[5]);
}
