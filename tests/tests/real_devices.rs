//! Frames recorded from real devices (and built exactly as published
//! clients build them), through the plugin in a real tshark. Where each
//! frame comes from: tests/REAL_DEVICES.md.

use std::path::Path;
use std::process::Command;

use phonehome::iotc::{header as iotc, scramble};
use phonehome_e2e::*;
use phonehome_samples::p2p::{unhex, APP, CAMERA, CAMERA_UID};

/// A Tuya 3.2 plug's answer to DP_QUERY (homebridge-tuya-lan #69).
const TUYA_32_ERROR: &str = "000055aa000000000000000a00000021000000016a736f6e206f626a206461746120756e76616c6964d25378690000aa55";
/// cam-reverse tests: an iLnk camera's PunchPkt and status reply.
const ILNK_PUNCH: &str = "f14100144241544400000000000262ca574f4e4a4d000000";
const ILNK_STATUS_REPLY: &str = "f1d0008cd1000009110a08118000000000000000190e010101010101fefefefebefefefe01000001010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010100010101010001030101010101010101010101010101fefefefefe010101010101010134030300";
const ILNK_WIFI_SCAN_REPLY: &str = concat!(
    "f1d00238d1000009110a03612c020100060000002f4f44550101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101a741a15822a1010101010101b2fefefe650101010101010101010101",
    "404253422f4674647275010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101ab41a158605c010101010101b6fefefe650101010101010101010101",
    "404253422f4f44550101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101a741a158605c010101010101c3fefefe650101010101010101010101",
    "404253422f4674647275010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101af41a15822a1010101010101c8fefefe650101010101010101010101",
    "404253422f4f44550101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101933aac0b5330010101010101b4fefefe650101010101010101010101",
    "404253422f4674647275010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101973aac0b5330010101010101b4fefefe650101010101010101010101",
    "40425342"
);
/// cam-reverse tests: its client's login (account and password "admin") and
/// Wi-Fi settings (SSID "skynet", password "supercrap", DHCP).
const ILNK_LOGIN: &str = "f1d000b0d1000000110a2010a400ff00000000006f01010101010101010101010101010101010101010101010101010160656c686f01010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010160656c68";
const ILNK_WIFI_SET: &str = concat!(
    "f1d00118d1000002110a01600c01000001020304",
    "0101010101010101010101010101010100010101",
    "726a786f64750101010101010101010101010101010101010101010101010101",
    "72747164736273607101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101",
    "01010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101",
    "312f312f312f31010101010101010101312f3334342f3334342f333434010101",
    "312f312f312f31010101010101010101312f312f312f31010101010101010101",
    "312f312f312f3101010101010101010101010101"
);
/// A DTLS 1.2 PSK ClientHello as OpenSSL 3 sends it.
const DTLS_CLIENT_HELLO: &str = "16feff00000000000000000074010000680000000000000068fefd662de4f705d85e69fb5c771f231a00764bf35e0e1dbcfcea35b5a5de8eac495500000004c0a800ff0100003a002300000016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602";

/// cam-reverse's client DRW_ACK: marker D2, one index, zeros to 32 bytes.
fn ilnk_drw_ack(channel: u8, index: u16) -> Vec<u8> {
    let mut b = vec![0xf1, 0xd1, 0x00, 0x06, 0xd2, channel, 0x00, 0x01];
    b.extend_from_slice(&index.to_be_bytes());
    b.resize(32, 0);
    b
}

/// Frames with a warning or error expert info, or malformed.
fn warned(cap: &std::path::Path) -> Vec<Vec<String>> {
    tshark().fields(cap, &[], Some("_ws.expert.severity >= 0x00600000 || _ws.malformed"), &["frame.number", "_ws.expert.message"])
}

fn col(rows: &[Vec<String>], c: usize) -> Vec<&str> {
    rows.iter().map(|r| r[c].as_str()).collect()
}

fn tuya_capture() -> Capture {
    let mut cap = Capture::new();
    let plug = Host::new([2, 0, 0, 0, 0, 0x20], [192, 168, 1, 20]);
    cap.tcp(APP, 50123, plug, 6668).server(&unhex(TUYA_32_ERROR));
    cap
}

#[test]
fn tuya_device_error_text_is_a_filterable_message_not_malformed() {
    let cap = write_capture("real-tuya-error.pcap", &tuya_capture());
    let rows = tshark().fields(
        &cap,
        &[],
        Some("tuya"),
        &["tuya.cmd", "tuya.retcode", "tuya.text", "tuya.checksum.status", "_ws.col.Info"],
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][..4], ["0x0000000a", "1", "json obj data unvalid", "1"]);
    assert!(rows[0][4].ends_with("retcode=1 (Error) \"json obj data unvalid\""), "{}", rows[0][4]);
    assert!(warned(&cap).is_empty(), "{:?}", warned(&cap));
    let hit = tshark().fields(&cap, &[], Some("tuya.text contains \"unvalid\" && tuya.retcode == 1"), &["frame.number"]);
    assert_eq!(hit.len(), 1);
    let tree = tshark().run_ok(&cap, &["-V", "-Y", "tuya"]);
    assert!(tree.contains("Return code: Error (1)"), "{tree}");
    assert!(tree.contains("The device answered with a text message, not JSON"), "{tree}");
}

fn ilnk_capture(camera_port: u16, app_port: u16) -> Capture {
    let mut cap = Capture::new();
    cap.udp(CAMERA, camera_port, APP, app_port, &unhex(ILNK_PUNCH));
    cap.udp(CAMERA, camera_port, APP, app_port, &unhex(ILNK_STATUS_REPLY));
    cap.udp(APP, app_port, CAMERA, camera_port, &ilnk_drw_ack(0, 9));
    cap.udp(CAMERA, camera_port, APP, app_port, &unhex(ILNK_WIFI_SCAN_REPLY));
    cap
}

#[test]
fn ilnk_d2_acks_padding_and_binary_commands() {
    // On the LAN search port, then between arbitrary ports (the heuristic).
    for (name, camera_port) in [("real-ilnk.pcap", 32108), ("real-ilnk-heur.pcap", 41234)] {
        let cap = write_capture(name, &ilnk_capture(camera_port, 52000));
        let rows = tshark().fields(
            &cap,
            &[],
            None,
            &["_ws.col.Protocol", "pppp.type", "pppp.drw.magic", "pppp.drw.channel", "pppp.ack.count", "pppp.ack.index", "pppp.padding", "pppp.ilnk.cmd", "pppp.ilnk.length", "_ws.col.Info"],
        );
        assert_eq!(col(&rows, 0), ["PPPP"; 4], "{name}: {rows:?}");
        assert_eq!(col(&rows, 1), ["0x41", "0xd0", "0xd1", "0xd0"]);
        assert_eq!(col(&rows, 2), ["", "0xd1", "0xd2", "0xd1"]);
        assert_eq!(rows[2][3..7], ["0", "1", "9", &"00".repeat(22)]);
        assert_eq!(col(&rows, 7), ["", "0x0811", "", "0x0361"]);
        assert_eq!(rows[1][8], "128");
        assert_eq!(rows[0][9], "PUNCH_PKT UID=BATD-156362-WONJM");
        assert_eq!(rows[1][9], "DRW ch=0 idx=9 System status reply");
        assert_eq!(rows[2][9], "DRW_ACK ch=0 acks=1 marker=0xD2");
        assert_eq!(rows[3][9], "DRW ch=0 idx=9 Wi-Fi scan reply");
        // Only the UID the PunchPkt shows in clear is worth a warning.
        assert_eq!(col(&warned(&cap), 0), ["1"], "{name}");
    }
    let cap = write_capture("real-ilnk-body.pcap", &ilnk_capture(32108, 52000));
    let v = tshark().run_ok(&cap, &["-V", "-x", "-Y", "frame.number == 2"]);
    assert!(v.contains("iLnk command: System status reply (0x0811)"), "{v}");
    assert!(v.contains("iLnk body (deobfuscated)"), "{v}");
    // The last 4 body bytes (34 03 03 00), then the first (19 0e 01 01),
    // each with its low bit flipped.
    assert!(v.contains("0000  35 02 02 01 18 0f 00 00"), "{v}");
}

/// tshark's fields output writes a boolean as 0/1 up to 4.2 and False/True
/// from 4.4 on; compare both as digits.
fn booleans_as_digits(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let digit = |v: String| match v.as_str() {
        "False" => "0".to_string(),
        "True" => "1".to_string(),
        _ => v,
    };
    rows.into_iter().map(|row| row.into_iter().map(digit).collect()).collect()
}

/// The bodies of iLnk binary commands, deobfuscated into fields: the
/// camera's status and Wi-Fi scan replies, the client's login and Wi-Fi
/// settings (whose passwords are flagged).
#[test]
fn ilnk_command_bodies_decode_into_fields() {
    let mut cap = ilnk_capture(32108, 52000);
    cap.udp(APP, 52000, CAMERA, 32108, &unhex(ILNK_LOGIN));
    cap.udp(APP, 52000, CAMERA, 32108, &unhex(ILNK_WIFI_SET));
    let cap = write_capture("real-ilnk-bodies.pcap", &cap);
    let status = tshark().fields(
        &cap,
        &[],
        Some("pppp.ilnk.cmd == 0x0811"),
        &["pppp.ilnk.firmware", "pppp.ilnk.battery", "pppp.ilnk.signal", "pppp.ilnk.charging"],
    );
    assert_eq!(booleans_as_digits(status), [["1.2.2.53", "3864", "-65", "0"]]);
    let scan = tshark().fields(
        &cap,
        &[],
        Some("pppp.ilnk.cmd == 0x0361"),
        &["pppp.ilnk.scan.count", "pppp.ilnk.scan.ssid", "pppp.ilnk.scan.signal", "pppp.ilnk.scan.channel"],
    );
    assert_eq!(
        scan,
        [[
            "6",
            "ACRC.NET,ACRC.Guest,ACRC.NET,ACRC.Guest,ACRC.NET,ACRC.Guest",
            "-77,-73,-62,-55,-75,-75",
            "0,0,0,0,0,0"
        ]]
    );
    let bssid = tshark().fields(&cap, &[], Some("pppp.ilnk.scan.ssid == \"ACRC.Guest\""), &["pppp.ilnk.scan.bssid"]);
    let bssid: Vec<&str> = bssid[0][0].split(',').collect();
    assert_eq!(bssid[..2], ["a640a05923a00000", "aa40a059615d0000"], "6 raw MACs, each in 8 bytes");
    let login = tshark().fields(&cap, &[], Some("pppp.ilnk.cmd == 0x2010"), &["pppp.ilnk.account", "pppp.ilnk.password", "_ws.expert.message"]);
    assert_eq!(login, [["admin", "admin", "Password readable under the public iLnk obfuscation"]]);
    let wifi = tshark().fields(
        &cap,
        &[],
        Some("pppp.ilnk.cmd == 0x0160"),
        &["pppp.ilnk.wifi.ssid", "pppp.ilnk.wifi.password", "pppp.ilnk.wifi.channel", "pppp.ilnk.wifi.dhcp", "pppp.ilnk.wifi.mask"],
    );
    assert_eq!(booleans_as_digits(wifi), [["skynet", "supercrap", "0", "1", "0.255.255.255"]]);
    let hit = tshark().fields(&cap, &[], Some("pppp.ilnk.wifi.password || pppp.ilnk.password"), &["frame.number"]);
    assert_eq!(hit, [["5"], ["6"]]);
    // Warnings: the UID in clear, and the two passwords.
    assert_eq!(col(&warned(&cap), 0), ["1", "5", "6"]);
}

/// An IOTC datagram scrambled like the wire: a full-Charlie plaintext.
fn iotc_wire(plain: &[u8]) -> Vec<u8> {
    scramble::scramble_datagram(plain)
}

/// go2rtc's msgSession layout (52 bytes): header, UID, session id, time.
fn session_message(opcode: u16, direction: u8) -> Vec<u8> {
    let mut b = vec![0x04, 0x02, 0x1a, 0x02, 36, 0, 0, 0];
    b.extend_from_slice(&opcode.to_le_bytes());
    b.extend_from_slice(&[direction, 0, 0, 0, 0, 0]);
    b.extend_from_slice(CAMERA_UID.as_bytes());
    b.extend_from_slice(&[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    b.extend_from_slice(&[0, 0, 0, 0, 0x3c, 0x4b, 0x5a, 0x65]);
    b
}

/// go2rtc's msgTxData layout: DTLS records at 28, channel at 14.
fn dtls_data(channel: u8, seq: u16, record: &[u8]) -> Vec<u8> {
    let mut b = vec![0x04, 0x02, 0x1a, 0x0b];
    b.extend_from_slice(&((12 + record.len()) as u16).to_le_bytes());
    b.extend_from_slice(&seq.to_le_bytes());
    b.extend_from_slice(&iotc::SESSION_DATA.to_le_bytes());
    b.extend_from_slice(&[iotc::CLIENT_TO_DEVICE, 0, 0x11, 0x22, channel, 0x01]);
    b.extend_from_slice(&[0x0c, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
    b.extend_from_slice(record);
    b
}

fn kalay_capture() -> Capture {
    let mut cap = Capture::new();
    let ping = unhex(phonehome_samples::p2p::PUBLISHED_PING);
    let mut keepalive = ping.clone();
    keepalive[8..10].copy_from_slice(&iotc::SESSION_KEEPALIVE.to_le_bytes());
    cap.udp(APP, 40001, CAMERA, 32761, &iotc_wire(&session_message(iotc::SESSION_REQUEST, 0x33)));
    cap.udp(CAMERA, 32761, APP, 40001, &iotc_wire(&session_message(iotc::SESSION_RESPONSE, 0x33)));
    cap.udp(APP, 40001, CAMERA, 32761, &iotc_wire(&dtls_data(0, 0, &unhex(DTLS_CLIENT_HELLO))));
    cap.udp(CAMERA, 32761, APP, 40001, &iotc_wire(&ping));
    cap.udp(APP, 40001, CAMERA, 32761, &iotc_wire(&keepalive));
    cap
}

#[test]
fn kalay_opcode_names_and_dtls_handed_to_wireshark() {
    let cap = write_capture("real-kalay.pcap", &kalay_capture());
    let rows = tshark().fields(&cap, &[], None, &["_ws.col.Protocol", "iotc.opcode", "dtls.record.content_type", "dtls.handshake.type", "_ws.col.Info"]);
    assert_eq!(col(&rows, 0), ["IOTC"; 5], "{rows:?}");
    assert_eq!(col(&rows, 1), ["0x0402", "0x0404", "0x0407", "0x0428", "0x0417"]);
    assert_eq!(rows[2][2..4], ["22", "1"], "DTLS ClientHello, decoded by Wireshark's dtls dissector");
    assert_eq!(rows[0][4], format!("Session request UID={CAMERA_UID} seq=0"));
    assert_eq!(rows[1][4], format!("Session response UID={CAMERA_UID} seq=0"));
    assert_eq!(rows[2][4], "Session data ch=0 seq=0 DTLS");
    assert_eq!(rows[3][4], "Ping seq=0");
    assert_eq!(rows[4][4], "LAN session keepalive/close (inferred) seq=0");
    let v = tshark().run_ok(&cap, &["-V", "-Y", "frame.number == 3"]);
    assert!(v.contains("Datagram Transport Layer Security"), "{v}");
    assert!(v.contains("Client Hello"), "{v}");
}

/// The real frames of every protocol, for the device view.
fn devices_capture() -> Capture {
    let mut cap = tuya_capture();
    for (from, sport, to, dport, bytes) in [
        (CAMERA, 32108, APP, 52000, unhex(ILNK_PUNCH)),
        (CAMERA, 32108, APP, 52000, unhex(ILNK_STATUS_REPLY)),
        (APP, 52000, CAMERA, 32108, ilnk_drw_ack(0, 9)),
    ] {
        cap.udp(from, sport, to, dport, &bytes);
    }
    for f in kalay_capture().frames() {
        cap.push_frame(f.to_vec());
    }
    cap
}

/// The rows of `tshark -z phonehome,tree`: indentation depth, name, packets.
fn device_view_rows(out: &str) -> Vec<(usize, String, u64)> {
    out.lines()
        .filter_map(|l| {
            let depth = l.len() - l.trim_start().len();
            let (name, rest) = l.trim().split_once("  ")?;
            Some((depth, name.to_string(), rest.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

/// The device view lists every device of the real frames, per protocol,
/// with its packets, key state and payload outcomes.
#[test]
fn device_view_lists_devices_keys_and_payloads() {
    let path = write_capture("real-devices.pcap", &devices_capture());
    let out = tshark().run_ok(&path, &["-q", "-z", "phonehome,tree"]);
    assert!(out.contains("phonehome/Devices:"), "{out}");
    let rows = device_view_rows(&out);
    // The count of `path` (names from the root down).
    let count = |path: &[&str]| -> u64 {
        let mut from = 0;
        let mut found = None;
        for (depth, name) in path.iter().enumerate() {
            let i = rows[from..]
                .iter()
                .take_while(|r| depth == 0 || r.0 >= depth)
                .position(|r| r.0 == depth && r.1 == *name)
                .unwrap_or_else(|| panic!("no {path:?} in\n{out}"));
            found = Some(rows[from + i].2);
            from += i + 1;
        }
        found.unwrap()
    };
    assert_eq!(count(&["Devices by protocol"]), 1 + 3 + 5);
    let tuya = ["Devices by protocol", "Tuya", "192.168.1.20"];
    assert_eq!(count(&tuya), 1);
    assert_eq!(count(&[&tuya[..], &["key: none needed"]].concat()), 1, "a clear-text reply");
    let cam = ["Devices by protocol", "PPPP", "BATD-156362-WONJM"];
    assert_eq!(count(&cam), 3, "the UID of the PunchPkt holds for the DRW after it");
    assert_eq!(count(&[&cam[..], &["key: none needed"]].concat()), 3);
    let kalay = ["Devices by protocol", "IOTC", CAMERA_UID];
    assert_eq!(count(&kalay), 5);
    assert_eq!(count(&[&kalay[..], &["key: public"]].concat()), 4, "the Charlie scramble is public");
    assert_eq!(count(&[&kalay[..], &["key: NEEDED"]].concat()), 1, "the DTLS session needs the device's PSK");
    assert_eq!(count(&[&kalay[..], &["payloads unchecked (no key)"]].concat()), 1);
}

/// The device view in the real Wireshark GUI (on Xvfb): opened from the
/// Statistics menu through the GUI's accessibility interface, its rows read
/// back the same way must be tshark's, and the screenshot
/// (target/tmp/device-view.png) must show more than a blank screen.
#[test]
fn device_view_in_the_wireshark_gui() {
    let path = write_capture("gui-devices.pcap", &devices_capture());
    let copy = tshark().readable_copy(&path);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/gui/stats-tree.sh");
    let shot = tshark().home_dir().join("device-view.png");
    let out = tshark().run_program("timeout", &["-k", "5", "90", "dbus-run-session", "--", script, &copy.to_string_lossy(), &shot.to_string_lossy()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let name = copy.file_name().unwrap().to_string_lossy().into_owned();
    // 4.0 names the dialog after the menu item, 4.4 and 4.6 after its whole path.
    let titles = ["Devices", "phonehome/Devices"].map(|item| format!("Wireshark \u{b7} {item} \u{b7} {name}"));
    let title = titles.iter().find(|t| stdout.lines().any(|l| l == format!("title: {t}"))).unwrap_or_else(|| panic!("no device view title: {stdout}"));
    assert!(stdout.lines().any(|l| l == format!("window: {title}")), "the X window: {stdout}");
    let mut gui: Vec<(String, u64)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("row: "))
        .map(|l| {
            let (n, c) = l.split_once('\t').unwrap_or_else(|| panic!("row {l:?}"));
            (n.to_string(), c.parse().unwrap_or_else(|_| panic!("count in {l:?}")))
        })
        .collect();
    // The GUI sorts each level by name; tshark keeps the order of arrival.
    let mut cli: Vec<(String, u64)> =
        device_view_rows(&tshark().run_ok(&path, &["-q", "-z", "phonehome,tree"])).into_iter().map(|(_, n, c)| (n, c)).collect();
    gui.sort();
    cli.sort();
    assert_eq!(gui, cli);
    assert!(gui.contains(&(CAMERA_UID.to_string(), 5)), "{gui:?}");
    // The screenshot: the whole 1280x800 screen, in more than a few colours.
    let png = Path::new(env!("CARGO_TARGET_TMPDIR")).join("device-view.png");
    std::fs::copy(&shot, &png).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
    let id = Command::new("identify").args(["-format", "%w %h %k"]).arg(&png).output().expect("identify (imagemagick)");
    let id = String::from_utf8_lossy(&id.stdout).into_owned();
    let v: Vec<u64> = id.split_whitespace().filter_map(|n| n.parse().ok()).collect();
    assert_eq!(v[..2], [1280, 800], "{id}");
    assert!(v[2] > 50, "{} colours: a blank screen? {}", v[2], png.display());
}
