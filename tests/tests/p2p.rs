//! Kalay (IOTC) and CS2 PPPP through the plugin in a real tshark. Captures
//! come from samples/src/p2p.rs: go2rtc's published plaintexts and message
//! layouts, scrambled/obfuscated by the dissector crate's encoders (whose
//! unit tests pin them to published vectors).

use phonehome::iotc::header as iotc;
use phonehome::pppp::message as pppp;
use phonehome_e2e::*;
use phonehome_samples::p2p::{self, *};

fn col(rows: &[Vec<String>], c: usize) -> Vec<&str> {
    rows.iter().map(|r| r[c].as_str()).collect()
}

#[test]
fn tshark_lists_every_p2p_field() {
    let fields = String::from_utf8_lossy(&tshark().run_bare(&["-G", "fields"]).stdout).into_owned();
    let abbrevs: Vec<&str> = fields.lines().filter_map(|l| l.split('\t').nth(2)).collect();
    for f in [
        "iotc", "iotc.version", "iotc.flags", "iotc.length", "iotc.seq", "iotc.opcode", "iotc.direction",
        "iotc.uid", "iotc.channel", "iotc.uid_exposed", "pppp", "pppp.type", "pppp.length", "pppp.uid",
        "pppp.drw.channel", "pppp.drw.index", "pppp.psk", "pppp.uid_exposed", "pppp.cmd",
    ] {
        assert!(abbrevs.contains(&f), "tshark -G fields lacks {f}");
    }
}

#[test]
fn iotc_uids_and_opcode_names() {
    let cap = write_capture("iotc.pcap", &p2p::iotc_session());
    let rows = tshark().fields(&cap, &[], Some("iotc.uid"), &["frame.number", "iotc.uid", "iotc.opcode", "_ws.col.Info"]);
    assert_eq!(col(&rows, 0), ["1", "2", "3", "4", "5"]);
    assert_eq!(col(&rows, 1), [CAMERA_UID, CAMERA_UID, PLUG_UID, PLUG_UID, PLUG_UID]);
    assert_eq!(col(&rows, 2), ["0x0601", "0x0602", "0x1007", "0x0203", "0x0401"]);
    assert_eq!(rows[0][3], format!("LAN search UID={CAMERA_UID} seq=0"));
    assert_eq!(rows[2][3], format!("Get public IP UID={PLUG_UID} seq=0"));
    assert_eq!(rows[4][3], format!("Remote request UID={PLUG_UID} seq=2"));
    let exposed = tshark().fields(&cap, &[], Some("iotc.uid_exposed"), &["frame.number"]);
    assert_eq!(exposed.len(), 5);
    let one = tshark().fields(&cap, &[], Some(&format!("iotc.uid == \"{PLUG_UID}\"")), &["ip.dst", "udp.dstport"]);
    assert_eq!(one, vec![vec!["50.19.254.134".to_string(), "10001".to_string()]; 3]);
}

#[test]
fn iotc_published_go2rtc_plaintexts_decode_to_their_values() {
    // Values read off go2rtc's comments in pkg/tutk/conn.go:
    // ping 0402120a 08000000 28041200 ..., pong 04021a0a 08000000 27042100 ...,
    // ch5  0402190a 20000400 07042100 7ecc0500 ...
    let cap = write_capture("iotc-published.pcap", &p2p::iotc_session());
    let rows = tshark().fields(
        &cap,
        &[],
        Some("frame.number >= 6"),
        &["iotc.version", "iotc.flags", "iotc.length", "iotc.seq", "iotc.opcode", "iotc.direction", "iotc.channel", "iotc.scramble", "_ws.col.Info"],
    );
    let want = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(rows[0], want(&["18", "0x0a", "8", "0", "0x0428", "0x12", "", "Charlie, all 24 bytes", "Ping seq=0"]));
    assert_eq!(rows[1], want(&["26", "0x0a", "8", "0", "0x0427", "0x21", "", "Charlie, all 24 bytes", "Pong seq=0"]));
    assert_eq!(rows[2], want(&["25", "0x0a", "32", "4", "0x0407", "0x21", "5", "Charlie, all 48 bytes", "Session data ch=5 seq=4"]));
    assert_eq!(rows[3][1], "0x0b");
    assert_eq!(rows[3][6], "1");
    assert_eq!(rows[3][7], "Charlie, first 64 of 100 bytes");
    let payload = tshark().fields(&cap, &[], Some("frame.number == 9"), &["iotc.payload"]);
    assert_eq!(payload[0][0], "5a".repeat(84));
}

#[test]
fn iotc_heuristic_finds_kalay_on_other_ports() {
    let mut cap = Capture::new();
    let body = {
        let mut b = vec![0u8; 5];
        b.extend_from_slice(CAMERA_UID.as_bytes());
        b.resize(57, 0);
        b
    };
    let wire = iotc_datagram(0x1a, 0x02, 7, iotc::LAN_SEARCH, iotc::CLIENT_TO_DEVICE, &body);
    cap.udp(APP, 45000, CAMERA, 46000, &wire);
    cap.udp(APP, 45000, CAMERA, 46000, b"0123456789abcdef0123");
    let path = write_capture("iotc-heur.pcap", &cap);
    let rows = tshark().fields(&path, &[], None, &["_ws.col.Protocol", "iotc.uid", "iotc.seq"]);
    assert_eq!(rows[0], vec!["IOTC".to_string(), CAMERA_UID.to_string(), "7".to_string()]);
    assert_ne!(rows[1][0], "IOTC");
}

#[test]
fn pppp_uids_types_and_drw() {
    let cap = write_capture("pppp.pcap", &p2p::pppp_session("MyVendorPSK"));
    let rows = tshark().fields(&cap, &[], Some("pppp.uid"), &["frame.number", "pppp.uid", "pppp.type", "pppp.psk", "_ws.col.Info"]);
    assert_eq!(col(&rows, 0), ["2", "3", "4", "10", "13"], "{rows:?}");
    assert_eq!(col(&rows, 1), ["ABCD-012345-XYZUV", "ABCD-012345-XYZUV", "ABCD-012345-XYZUV", "DGOA-000007-QWERT", "ABCD-012345-XYZUV"]);
    assert_eq!(col(&rows, 2), ["0x41", "0x41", "0x42", "0x41", "0x10"]);
    assert_eq!(col(&rows, 3), ["", "", "", "camera", ""]);
    assert_eq!(rows[0][4], "PUNCH_PKT UID=ABCD-012345-XYZUV");
    assert_eq!(rows[4][4], "DEV_LGN UID=ABCD-012345-XYZUV");

    let all = tshark().fields(&cap, &[], None, &["_ws.col.Protocol", "_ws.col.Info"]);
    assert_eq!(all[0], vec!["PPPP".to_string(), "LAN_SEARCH".to_string()]);
    assert_eq!(all[5][1], "DRW_ACK ch=0 acks=1");
    assert_eq!(all[8][1], "CLOSE");
    assert_ne!(all[11][0], "PPPP", "a PSK nobody told us stays undecoded");

    let drw = tshark().fields(&cap, &[], Some("pppp.drw.index"), &["pppp.drw.channel", "pppp.drw.index", "pppp.cmd", "json.value.string"]);
    assert_eq!(drw[0][..3], ["0".to_string(), "0".to_string(), CHECK_USER.to_string()]);
    assert!(drw[0][3].contains("admin") && drw[0][3].contains("1234"), "{:?}", drw[0]);
    assert_eq!(drw[1][..2], ["1".to_string(), "42".to_string()]);
}

#[test]
fn pppp_psk_preference_decodes_a_private_vendor() {
    let cap = write_capture("pppp-pref.pcap", &p2p::pppp_session("MyVendorPSK"));
    let rows = tshark().fields(&cap, &["-o", "pppp.psk:other, MyVendorPSK"], Some("frame.number == 12"), &["pppp.psk", "pppp.uid", "pppp.type"]);
    assert_eq!(rows, vec![vec!["MyVendorPSK".to_string(), "ZZZQ-999999-SECRT".to_string(), "0x42".to_string()]]);
}

#[test]
fn garbage_on_p2p_ports_is_not_claimed_or_malformed() {
    let mut cap = Capture::new();
    let mut x = 0x2545_f491u32;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n).map(|_| { x ^= x << 13; x ^= x >> 17; x ^= x << 5; x as u8 }).collect()
    };
    let lan = iotc_datagram(0x19, 0x02, 0, iotc::LAN_SEARCH, iotc::CLIENT_TO_DEVICE, &{
        let mut b = vec![0u8; 5];
        b.extend_from_slice(CAMERA_UID.as_bytes());
        b.resize(57, 0);
        b
    });
    let punch = pppp::encode(pppp::PUNCH_PKT, &pppp::encode_uid(&pppp_uid("ABCD", 1, "XYZUV")));
    for port in [10001u16, 32761, 32100, 32108] {
        for n in [0, 1, 3, 15, 16, 40, 300] {
            let g = noise(n);
            cap.udp(APP, 50000, KALAY_MASTER, port, &g);
        }
    }
    // Truncated but recognisable: malformed, on the protocol's own port.
    for cut in [16, 30, 67] {
        cap.udp(APP, 50000, KALAY_MASTER, 10001, &lan[..cut]);
    }
    for cut in [1, 3, 4, 10, 23] {
        cap.udp(APP, 50000, CS2_SERVER, 32100, &punch[..cut]);
    }
    cap.udp(APP, 50000, CS2_SERVER, 32100, &pppp::encode_drw_ack(0, &[1, 2, 3])[..9]);
    let path = write_capture("p2p-garbage.pcap", &cap);
    let rows = tshark().fields(&path, &[], None, &["frame.number", "_ws.col.Protocol", "iotc.malformed", "pppp.malformed"]);
    assert_eq!(rows.len(), 28 + 3 + 5 + 1);
    for r in &rows[..28] {
        let claimed = r[1] == "IOTC" || r[1] == "PPPP";
        let flagged = !r[2].is_empty() || !r[3].is_empty();
        assert!(!claimed || flagged, "garbage claimed without a malformed mark: {r:?}");
    }
    for r in &rows[28..31] {
        assert_eq!(r[1], "IOTC", "{r:?}");
        assert!(!r[2].is_empty(), "truncated IOTC is malformed: {r:?}");
    }
    for r in &rows[31..] {
        assert_eq!(r[1], "PPPP", "{r:?}");
        assert!(!r[3].is_empty(), "truncated PPPP is malformed: {r:?}");
    }
}
