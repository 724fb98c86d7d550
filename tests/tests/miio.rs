//! Xiaomi miIO through the plugin in a real tshark, on captures whose
//! messages python-miio 0.5.12 (tests/peers/miio_peer.py) built; the
//! expected values are python-miio's own reading of the same frames.

use phonehome_e2e::*;
use serde_json::{json, Value};

const DEVICE: u32 = 0x0a1b2c3d;
const DEVICE_HEX: &str = "0x0a1b2c3d";
const TOKEN: &str = "5a2c6f11d3e84b7a9c0f1e2d3b4a5968";
const WRONG: &str = "00112233445566778899aabbccddeeff";
/// The device's cloud key (the cloud channel does not use the LAN token).
const CLOUD_KEY: &str = "c10d0c10d0c10d0c10d0c10d0c10d0aa";

fn app() -> Host {
    Host::new([0x02, 0, 0, 0, 0, 0x10], [192, 168, 1, 10])
}
fn plug() -> Host {
    Host::new([0x78, 0x11, 0xdc, 0, 0, 0x31], [192, 168, 1, 31])
}
fn cloud() -> Host {
    Host::new([0x02, 0, 0, 0, 0, 0xfe], [203, 0, 113, 80])
}

fn table(token: &str) -> String {
    format!(r#"uat:miio_tokens:"{DEVICE_HEX}","{token}""#)
}

/// Frames python-miio builds for `spec` (see miio_peer.py).
fn peer_build(spec: &Value) -> Vec<Vec<u8>> {
    let out: Vec<String> = serde_json::from_str(&run_peer("miio_peer.py", &["build", &spec.to_string()])).unwrap();
    out.iter().map(|h| phonehome::crypto::unhex(h).unwrap()).collect()
}

/// python-miio's reading of `frames` with `token`.
fn peer_parse(frames: &[&Vec<u8>], token: &str) -> Vec<Value> {
    let spec: Vec<Value> =
        frames.iter().map(|f| json!({"frame": phonehome::crypto::hex(f), "token": token})).collect();
    serde_json::from_str(&run_peer("miio_peer.py", &["parse", &Value::from(spec).to_string()])).unwrap()
}

fn msg(stamp: u32, token: &str, payload: Value) -> Value {
    json!({"kind": "message", "device_id": DEVICE, "stamp": stamp, "token": token, "payload": payload})
}

/// The LAN exchange: hello, hello reply (leaking the token or not), then
/// requests and replies, all from python-miio. Returns the capture and
/// the frames (capture frame n+1 carries frames[n]).
fn lan_capture(name: &str, leak: bool) -> (std::path::PathBuf, Vec<Vec<u8>>) {
    let spec = json!([
        {"kind": "hello"},
        {"kind": "hello_reply", "device_id": DEVICE, "stamp": 3600, "token": if leak { Value::from(TOKEN) } else { Value::Null }},
        msg(3601, TOKEN, json!({"id": 1, "method": "get_prop", "params": ["power", "temperature"]})),
        msg(3601, TOKEN, json!({"id": 1, "result": ["on", 23.5]})),
        msg(3602, TOKEN, json!({"id": 2, "method": "set_power", "params": ["off"]})),
        msg(3602, TOKEN, json!({"id": 2, "result": ["ok"]})),
        msg(3603, TOKEN, json!({"id": 3, "method": "miIO.ota", "params": {"mode": "normal"}})),
        msg(3603, TOKEN, json!({"id": 3, "error": {"code": -9999, "message": "user ack timeout"}})),
    ]);
    let frames = peer_build(&spec);
    let mut cap = Capture::new();
    for (i, f) in frames.iter().enumerate() {
        if i % 2 == 0 {
            cap.udp(app(), 50000, plug(), 54321, f);
        } else {
            cap.wait(std::time::Duration::from_millis(30));
            cap.udp(plug(), 54321, app(), 50000, f);
            cap.wait(std::time::Duration::from_secs(1));
        }
    }
    (write_capture(name, &cap), frames)
}

#[test]
fn tshark_lists_every_field() {
    let out = tshark().run_bare(&["-G", "fields"]);
    let fields = String::from_utf8_lossy(&out.stdout).into_owned();
    let abbrevs: Vec<&str> = fields.lines().filter_map(|l| l.split('\t').nth(2)).collect();
    for f in [
        "miio", "miio.length", "miio.unknown", "miio.device_id", "miio.stamp", "miio.checksum",
        "miio.checksum.status", "miio.hello", "miio.token", "miio.json", "miio.id", "miio.method",
        "miio.params", "miio.result", "miio.error", "miio.response_in", "miio.request_in", "miio.time",
    ] {
        assert!(abbrevs.contains(&f), "tshark -G fields lacks {f}");
    }
}

/// The issue's "done when": the table's token finds the get_prop request
/// and prints its plaintext, exactly as python-miio put it in.
#[test]
fn table_token_finds_get_prop_and_prints_its_plaintext() {
    let (cap, frames) = lan_capture("lan.pcap", false);
    let opt = table(TOKEN);
    let rows = tshark().fields(&cap, &["-o", &opt], Some(r#"miio.method == "get_prop""#), &["frame.number", "miio.json", "miio.params", "miio.id", "_ws.col.Info"]);
    let parsed = peer_parse(&[&frames[2]], TOKEN);
    assert_eq!(
        rows,
        vec![vec![
            "3".to_string(),
            parsed[0]["plaintext"].as_str().unwrap().to_string(),
            r#"["power","temperature"]"#.to_string(),
            "1".to_string(),
            r#"Request id=1 get_prop ["power","temperature"]"#.to_string(),
        ]]
    );
}

#[test]
fn every_message_matches_python_miio_and_pairs_up() {
    let (cap, frames) = lan_capture("lan-all.pcap", false);
    let opt = table(TOKEN);
    let rows = tshark().fields(
        &cap,
        &["-2", "-o", &opt],
        None,
        &[
            "miio.length", "miio.unknown", "miio.device_id", "miio.stamp", "miio.checksum.status", "miio.json",
            "miio.id", "miio.method", "miio.result", "miio.error", "miio.request_in", "miio.response_in",
            "miio.time", "_ws.col.Info", "miio.hello",
        ],
    );
    assert_eq!(rows.len(), 8);
    let messages: Vec<&Vec<u8>> = frames[2..].iter().collect();
    let parsed = peer_parse(&messages, TOKEN);
    for (i, (r, p)) in rows[2..].iter().zip(&parsed).enumerate() {
        let frame = i + 3;
        assert_eq!(r[0], p["length"].to_string(), "frame {frame}");
        assert_eq!(r[1], format!("0x{:08x}", p["unknown"].as_u64().unwrap()));
        assert_eq!(r[2], format!("0x{:08x}", p["device_id"].as_u64().unwrap()));
        assert_eq!(r[3], p["stamp"].to_string());
        assert_eq!(r[4], "1", "checksum Good in frame {frame}");
        assert_eq!(r[5], p["plaintext"].as_str().unwrap(), "frame {frame}");
        assert_eq!(r[6], p["payload"]["id"].to_string());
        assert_eq!(r[14], "", "not a hello");
        if frame % 2 == 1 {
            // Request in frame n, answered in n+1.
            assert_eq!(r[7], p["payload"]["method"].as_str().unwrap());
            assert_eq!(r[11], (frame + 1).to_string());
        } else {
            assert_eq!(r[10], (frame - 1).to_string());
            // 30 ms of waiting plus the capture builder's 1 ms per frame.
            assert_eq!(r[12], "0.031000000", "response time");
        }
    }
    assert_eq!(rows[3][8], r#"["on",23.5]"#);
    assert_eq!(rows[3][13], "Response id=1");
    assert_eq!(rows[7][9], r#"{"code":-9999,"message":"user ack timeout"}"#);
    assert_eq!(rows[7][13], r#"Response id=3 error {"code":-9999,"message":"user ack timeout"}"#);
    assert_eq!(rows[6][13], r#"Request id=3 miIO.ota {"mode":"normal"}"#);
    assert_eq!((rows[0][14].as_str(), rows[0][13].as_str()), ("0", "Hello"));
    assert_eq!((rows[1][14].as_str(), rows[1][13].as_str()), ("1", "Hello reply device=0x0a1b2c3d"));
}

#[test]
fn without_a_token_headers_dissect_and_an_expert_asks_for_one() {
    let (cap, frames) = lan_capture("lan-notoken.pcap", false);
    let rows = tshark().fields(
        &cap,
        &[],
        Some("miio && !miio.hello"),
        &["miio.device_id", "miio.stamp", "miio.checksum.status", "miio.json", "miio.token_needed", "_ws.col.Info", "miio.payload"],
    );
    assert_eq!(rows.len(), 6);
    let parsed = peer_parse(&frames[2..].iter().collect::<Vec<_>>(), TOKEN);
    for (r, p) in rows.iter().zip(&parsed) {
        assert_eq!(r[0], DEVICE_HEX);
        assert_eq!(r[1], p["stamp"].to_string());
        assert_eq!(r[2], "2", "Unverified: {r:?}");
        assert_eq!(r[3], "");
        assert!(!r[4].is_empty(), "miio.token_needed expert: {r:?}");
        assert_eq!(r[5], "Encrypted device=0x0a1b2c3d");
        assert!(!r[6].is_empty());
    }
}

#[test]
fn wrong_token_is_a_bad_checksum_with_an_expert() {
    let (cap, _) = lan_capture("lan-wrong.pcap", false);
    let opt = table(WRONG);
    let rows = tshark().fields(
        &cap,
        &["-o", &opt],
        Some("miio && !miio.hello"),
        &["miio.checksum.status", "miio.checksum.bad", "miio.wrong_token", "miio.method", "_ws.expert.message"],
    );
    assert_eq!(rows.len(), 6);
    for r in &rows {
        assert_eq!(r[0], "0", "{r:?}");
        assert!(!r[1].is_empty() && !r[2].is_empty(), "{r:?}");
        assert_eq!(r[3], "");
        assert!(r[4].contains("wrong token"), "{r:?}");
    }
}

#[test]
fn leaked_token_decrypts_with_no_configuration() {
    // A request sent before the hello cannot use the token leaked later.
    let early = peer_build(&json!([msg(3599, TOKEN, json!({"id": 99, "method": "miIO.info", "params": []}))]));
    let (_, frames) = lan_capture("unused.pcap", true);
    let mut cap = Capture::new();
    cap.udp(app(), 50000, plug(), 54321, &early[0]);
    for (i, f) in frames.iter().enumerate() {
        let (from, sp, to, dp) = if i % 2 == 0 { (app(), 50000, plug(), 54321) } else { (plug(), 54321, app(), 50000) };
        cap.udp(from, sp, to, dp, f);
    }
    let cap = write_capture("lan-leak.pcap", &cap);
    let rows = tshark().fields(
        &cap,
        &["-2"],
        None,
        &["miio.token", "miio.token_leaked", "miio.checksum.status", "miio.key.learnt_in", "miio.method", "_ws.col.Info"],
    );
    assert_eq!(rows.len(), 9);
    assert_eq!(rows[0][2], "2", "frame 1 precedes the leak: {:?}", rows[0]);
    assert_eq!(rows[2][0], TOKEN, "hello reply in frame 3 carries the token");
    assert!(!rows[2][1].is_empty());
    assert_eq!(rows[2][5], "Hello reply device=0x0a1b2c3d token leaked");
    for r in &rows[3..] {
        assert_eq!((r[2].as_str(), r[3].as_str()), ("1", "3"), "{r:?}");
    }
    assert_eq!(rows[3][4], "get_prop");
    let found = tshark().fields(&cap, &[], Some(r#"miio.method == "set_power""#), &["frame.number"]);
    assert_eq!(found, vec![vec!["6".to_string()]]);
}

/// A device's cloud-channel TCP stream to `port`: python-miio frames under
/// the cloud key, the cloud hellos of protocols.md, several messages per
/// segment and messages cut across segments. Returns the capture and the
/// five messages.
fn cloud_stream(name: &str, port: u16) -> (std::path::PathBuf, Vec<Vec<u8>>) {
    let frames = peer_build(&json!([
        msg(1_700_000_001, CLOUD_KEY, json!({"id": 10, "method": "_otc.info", "params": {"fw_ver": "2.1.8", "model": "chuangmi.plug.m3"}})),
        msg(1_700_000_001, CLOUD_KEY, json!({"id": 11, "method": "props", "params": {"power": "on"}})),
        msg(1_700_000_002, CLOUD_KEY, json!({"id": 12, "method": "event.click", "params": []})),
        msg(1_700_000_003, CLOUD_KEY, json!({"id": 10, "result": {"otu_stat": [101, 74, 5343, 0, 5, 34]}})),
        msg(1_700_000_003, CLOUD_KEY, json!({"id": 11, "result": "ok"})),
    ]));
    let unhex = |h: String| phonehome::crypto::unhex(&h).unwrap();
    let client_hello = unhex(format!("21310020{}{}", "ff".repeat(8), "00".repeat(20)));
    let server_hello = unhex(format!("21310020{}{:08x}{}", "ff".repeat(8), 1_700_000_000u32, "00".repeat(16)));
    let up = [client_hello, frames[0].clone(), frames[1].clone(), frames[2].clone()].concat();
    let down = [frames[3].clone(), frames[4].clone()].concat();
    let mut cap = Capture::new();
    let mut flow = cap.tcp(plug(), 41000, cloud(), port);
    // Segment 1: hello, two messages and the start of the third; segment 2
    // its last 20 bytes.
    flow.send(0, &up, &[up.len() - 20]);
    flow.server(&server_hello);
    // The reply to id 10 cut 7 bytes into the reply to id 11.
    flow.send(1, &down, &[frames[3].len() + 7]);
    (write_capture(name, &cap), frames)
}

/// Checks the cloud stream's rows: every message in the frame where it
/// completes, checksums good under the cloud key, responses linked.
fn check_cloud_rows(cap: &std::path::Path, frames: &[Vec<u8>], opts: &[&str]) {
    let key = format!(r#"uat:miio_tokens:"{DEVICE}","{CLOUD_KEY}""#);
    let mut args = vec!["-2", "-o", &key];
    args.extend_from_slice(opts);
    let rows = tshark().fields(
        cap,
        &args,
        Some("miio"),
        &["frame.number", "miio.id", "miio.method", "miio.checksum.status", "miio.hello", "miio.request_in", "miio.json"],
    );
    let parsed = peer_parse(&frames.iter().collect::<Vec<_>>(), CLOUD_KEY);
    let id = |i: usize| parsed[i]["payload"]["id"].to_string();
    let text = |i: usize| parsed[i]["plaintext"].as_str().unwrap().to_string();
    let ids: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(ids, [format!("{},{}", id(0), id(1)), id(2), String::new(), id(3), id(4)], "{rows:?}");
    assert_eq!(rows[0][2], "_otc.info,props");
    assert_eq!(rows[0][3], "1,1", "a hello has no checksum; both messages verify: {rows:?}");
    assert_eq!(rows[0][4], "0", "the device's hello");
    assert_eq!(rows[0][6], format!("{},{}", text(0), text(1)));
    assert_eq!((rows[1][2].as_str(), rows[1][3].as_str(), rows[1][6].clone()), ("event.click", "1", text(2)));
    assert_eq!(rows[2][4], "0", "the server's hello");
    assert_eq!(rows[3][5], rows[0][0], "the reply to id 10 points at the first segment");
    assert_eq!(rows[4][5], rows[0][0], "so does the reply to id 11");
    assert_eq!(rows[4][6], text(4));
}

/// TCP 80 is HTTP's: the plugin shares the port, claiming a stream that
/// starts with miIO messages and leaving every other stream to HTTP. Decode
/// As still works too.
#[test]
fn cloud_channel_on_tcp_80_by_default_and_with_decode_as() {
    let (cap, frames) = cloud_stream("cloud-tcp80.pcap", 80);
    check_cloud_rows(&cap, &frames, &[]);
    check_cloud_rows(&cap, &frames, &["-d", "tcp.port==80,miio"]);
}

/// Sharing port 80 must not take it from HTTP.
#[test]
fn http_on_tcp_80_stays_http() {
    let mut cap = Capture::new();
    cap.tcp(plug(), 41001, cloud(), 80)
        .client(b"GET /gslb?tver=2 HTTP/1.1\r\nHost: ot.io.mi.com\r\n\r\n")
        .server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let path = write_capture("http-tcp80.pcap", &cap);
    let rows = tshark().fields(&path, &[], Some("tcp.len > 0"), &["_ws.col.Protocol", "http.host", "miio"]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0][..2], ["HTTP".to_string(), "ot.io.mi.com".to_string()], "{rows:?}");
    assert_eq!(rows[1][0], "HTTP", "{rows:?}");
    assert!(rows.iter().all(|r| r[2].is_empty()), "no miIO on plain HTTP: {rows:?}");
}

/// On a port nobody registered, the heuristic alone finds the stream.
#[test]
fn cloud_channel_on_another_tcp_port_by_heuristic() {
    let (cap, frames) = cloud_stream("cloud-tcp8053.pcap", 8053);
    check_cloud_rows(&cap, &frames, &[]);
}

#[test]
fn udp_8053_by_port_and_other_ports_by_heuristic() {
    let frames = peer_build(&json!([
        msg(5, TOKEN, json!({"id": 1, "method": "get_prop", "params": ["power"]})),
    ]));
    let mut cap = Capture::new();
    cap.udp(plug(), 54322, cloud(), 8053, &frames[0]);
    cap.udp(app(), 50001, plug(), 12345, &frames[0]);
    cap.udp(app(), 50001, plug(), 12345, b"\x21\x31 not miio at all, wrong length");
    cap.udp(app(), 50001, plug(), 54321, b"definitely not miio");
    let cap = write_capture("ports.pcap", &cap);
    let opt = table(TOKEN);
    let rows = tshark().fields(&cap, &["-o", &opt], None, &["_ws.col.Protocol", "miio.method"]);
    assert_eq!(rows[0], ["miIO", "get_prop"]);
    assert_eq!(rows[1], ["miIO", "get_prop"]);
    assert_ne!(rows[2][0], "miIO", "{:?}", rows[2]);
    assert_ne!(rows[3][0], "miIO", "{:?}", rows[3]);
}

#[test]
fn demo_sample_decrypts_through_its_leak() {
    use phonehome_samples::miio::{demo_device, miio_lan};
    let cap = write_capture("demo.pcap", &miio_lan(&demo_device(), 3));
    let rows = tshark().fields(&cap, &["-2"], Some("miio.method"), &["miio.method", "miio.response_in"]);
    assert_eq!(rows, vec![vec!["get_prop".to_string(), "4".to_string()], vec!["get_prop".into(), "6".into()], vec!["get_prop".into(), "8".into()]]);
}
