//! The Tuya dissector on built frames and sessions.

use super::*;
use crate::tree::Item;
use crate::Slot;

fn run(pkt: &Packet, data: &[u8]) -> (bool, Tree) {
    let (mut c, mut g) = (Slot::default(), Slot::default());
    let mut t = Tree::new();
    let ok = dissect_with_keys(pkt, data, &mut State { conversation: &mut c, capture: &mut g }, &mut t, &[]);
    t.validate(data.len()).unwrap();
    (ok, t)
}

fn udp() -> Packet {
    Packet { transport: crate::Transport::Udp, dst_port: 6667, ..Packet::default() }
}

fn strings(t: &Tree, field: Field) -> Vec<String> {
    t.items
        .iter()
        .filter_map(|i| match i {
            Item::Field { field: f, value: Value::Str(s), .. } if *f == field as u32 => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn status(t: &Tree) -> Option<u64> {
    t.items.iter().find_map(|i| match i {
        Item::Field { field, value: Value::Uint(v), .. } if *field == Field::ChecksumStatus as u32 => Some(*v),
        _ => None,
    })
}

const ANNOUNCE: &[u8] = br#"{"ip":"192.168.1.20","gwId":"bf0123456789abcdef","active":2,"ability":0,"mode":0,"encrypt":true,"productKey":"keyabc","version":"3.3"}"#;

#[test]
fn decrypts_discovery_on_6667() {
    let frame = frame::encode_55aa_crc(0, commands::UDP_NEW, Some(0), &discovery::encrypt(ANNOUNCE));
    let (ok, t) = run(&udp(), &frame);
    assert!(ok);
    assert_eq!(t.info.as_deref(), Some("Discovery bf0123456789abcdef 192.168.1.20 v3.3"));
    assert_eq!(strings(&t, Field::GwId), ["bf0123456789abcdef"]);
    assert_eq!(strings(&t, Field::ProductKey), ["keyabc"]);
    assert_eq!(status(&t), Some(ChecksumStatus::Good as u64));
    assert_eq!(t.sources[0].bytes, ANNOUNCE);
    assert!(t.items.contains(&Item::Call { dissector: "json", span: Span::of(1, 0, ANNOUNCE.len()) }));
}

#[test]
fn plain_discovery_on_6666() {
    let frame = frame::encode_55aa_crc(0, 0, Some(0), ANNOUNCE);
    let (_, t) = run(&udp(), &frame);
    assert_eq!(strings(&t, Field::GwId), ["bf0123456789abcdef"]);
    assert!(t.sources.is_empty());
}

#[test]
fn corrupted_byte_gives_bad_checksum() {
    let mut frame = frame::encode_55aa_crc(0, commands::UDP_NEW, Some(0), &discovery::encrypt(ANNOUNCE));
    frame[30] ^= 0x40;
    let (_, t) = run(&udp(), &frame);
    assert_eq!(status(&t), Some(ChecksumStatus::Bad as u64));
    assert!(t.items.contains(&Item::Expert { expert: Expert::BadChecksum as u32, text: None })
        || t.items.iter().any(|i| matches!(i, Item::Expert { expert, .. } if *expert == Expert::BadChecksum as u32)));
}

#[test]
fn garbage_is_not_tuya_and_truncation_is_malformed() {
    let (ok, _) = run(&udp(), b"hello world, not tuya at all");
    assert!(!ok);
    let frame = frame::encode_55aa_crc(0, commands::UDP_NEW, Some(0), &discovery::encrypt(ANNOUNCE));
    for cut in 4..frame.len() {
        let (ok, t) = run(&udp(), &frame[..cut]);
        assert!(ok);
        assert!(t.malformed.is_some(), "cut at {cut}");
    }
}

#[test]
fn key_table_rows_are_checked() {
    let row = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
    assert!(TUYA.check_row(&row("bf7e9b4aacf4f733d8o3zz", "0123456789abcdef")).is_ok());
    assert!(TUYA.check_row(&row("bf7e", "short")).unwrap_err().contains("16 characters"));
    assert!(TUYA.check_row(&row(" ", "0123456789abcdef")).is_err());
}

// ---- sessions, built with our own encoders (the end-to-end tests use
// tinytuya's frames) ----

const DEV: &str = "bf7e9b4aacf4f733d8o3zz";
const LOCAL: [u8; 16] = *b"0123456789abcdef";
const WRONG: [u8; 16] = *b"fedcba9876543210";
const CLIENT_NONCE: [u8; 16] = *b"ABCDEFGHIJKLMNOP";
const DEVICE_NONCE: [u8; 16] = *b"abcdefghijklmnop";
const STATUS_JSON: &[u8] = br#"{"dps":{"1":true,"2":"white","20":0}}"#;

fn table(key: [u8; 16]) -> Vec<KeyRow> {
    vec![KeyRow { dev_id: "someone-else".into(), key: WRONG }, KeyRow { dev_id: DEV.into(), key }]
}

/// (from device, frame) in conversation order.
type Flow = Vec<(bool, Vec<u8>)>;

/// A whole capture's worth of dissections through shared state.
struct Run {
    conv: Slot,
    cap: Slot,
    table: Vec<KeyRow>,
}

impl Run {
    fn new(table: Vec<KeyRow>) -> Run {
        Run { conv: Slot::default(), cap: Slot::default(), table }
    }

    fn one(&mut self, frame_no: u32, visited: bool, from_device: bool, data: &[u8]) -> Tree {
        self.one_wanting(crate::tree::Wanted::ALL, frame_no, visited, from_device, data)
    }

    fn one_wanting(&mut self, wanted: crate::tree::Wanted, frame_no: u32, visited: bool, from_device: bool, data: &[u8]) -> Tree {
        let (client, device) = (40_000, 6668);
        let (sport, dport) = if from_device { (device, client) } else { (client, device) };
        let pkt = Packet {
            frame: frame_no,
            visited,
            transport: crate::Transport::Tcp,
            src: Some([192, 168, 1, if from_device { 20 } else { 2 }].into()),
            dst: Some([192, 168, 1, if from_device { 2 } else { 20 }].into()),
            src_port: sport,
            dst_port: dport,
            ..Packet::default()
        };
        let mut t = Tree::wanting(wanted);
        let mut st = State { conversation: &mut self.conv, capture: &mut self.cap };
        dissect_with_keys(&pkt, data, &mut st, &mut t, &self.table);
        t.validate(data.len()).unwrap();
        t
    }

    fn all(&mut self, flow: &Flow, visited: bool) -> Vec<Tree> {
        flow.iter().enumerate().map(|(i, (d, f))| self.one(i as u32 + 1, visited, *d, f)).collect()
    }
}

fn jsons(t: &Tree) -> Vec<String> {
    t.items
        .iter()
        .filter_map(|i| match i {
            Item::Field { field, span, value: Value::Wire(Enc::Utf8), .. } if *field == Field::Json as u32 => {
                // Plain JSON on the wire is not kept in the tree.
                let Some(src) = (span.source as usize).checked_sub(1).map(|i| &t.sources[i].bytes) else {
                    return Some(format!("<{} bytes on the wire>", span.len));
                };
                Some(String::from_utf8_lossy(&src[span.offset as usize..(span.offset + span.len) as usize]).into_owned())
            }
            _ => None,
        })
        .collect()
}

fn has_expert(t: &Tree, e: Expert) -> bool {
    t.items.iter().any(|i| matches!(i, Item::Expert { expert, .. } if *expert == e as u32))
}

fn bytes_of(t: &Tree, field: Field) -> Option<Vec<u8>> {
    t.items.iter().find_map(|i| match i {
        Item::Field { field: f, value: Value::Bytes(b), .. } if *f == field as u32 => Some(b.clone()),
        _ => None,
    })
}

fn header(v: &[u8]) -> Vec<u8> {
    let mut h = v.to_vec();
    h.extend_from_slice(&[0; 12]);
    h
}

fn with(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A 3.4 session: negotiation, DP_QUERY_NEW, its answer, a pushed STATUS.
fn session_34(local: [u8; 16]) -> (Flow, [u8; 16]) {
    let sk = payload::session_key(Version::V34, &local, &CLIENT_NONCE, &DEVICE_NONCE);
    let ecb = |k: &[u8; 16], p: &[u8]| crate::crypto::ecb_encrypt(k, p);
    let proof = |n: &[u8]| payload::nonce_proof(&local, n);
    let flow = vec![
        (false, frame::encode_55aa_hmac(1, 3, None, &ecb(&local, &CLIENT_NONCE), &local)),
        (true, frame::encode_55aa_hmac(1, 4, Some(0), &ecb(&local, &with(&[&DEVICE_NONCE, &proof(&CLIENT_NONCE)])), &local)),
        (false, frame::encode_55aa_hmac(2, 5, None, &ecb(&local, &proof(&DEVICE_NONCE)), &local)),
        (false, frame::encode_55aa_hmac(3, 0x10, None, &ecb(&sk, b"{}"), &sk)),
        (true, frame::encode_55aa_hmac(3, 0x10, Some(0), &ecb(&sk, STATUS_JSON), &sk)),
        (true, frame::encode_55aa_hmac(0, 8, Some(0), &ecb(&sk, &with(&[&header(b"3.4"), STATUS_JSON])), &sk)),
    ];
    (flow, sk)
}

/// The same over 6699/GCM (3.5).
fn session_35(local: [u8; 16]) -> (Flow, [u8; 16]) {
    let sk = payload::session_key(Version::V35, &local, &CLIENT_NONCE, &DEVICE_NONCE);
    let proof = |n: &[u8]| payload::nonce_proof(&local, n);
    let iv = b"0123456789ab";
    let rc = [0u8; 4];
    let flow = vec![
        (false, frame::encode_6699(1, 3, iv, &CLIENT_NONCE, &local)),
        (true, frame::encode_6699(1, 4, iv, &with(&[&rc, &DEVICE_NONCE, &proof(&CLIENT_NONCE)]), &local)),
        (false, frame::encode_6699(2, 5, iv, &proof(&DEVICE_NONCE), &local)),
        (false, frame::encode_6699(3, 0x10, iv, b"{}", &sk)),
        (true, frame::encode_6699(3, 0x10, iv, &with(&[&rc, STATUS_JSON]), &sk)),
        (true, frame::encode_6699(0, 8, iv, &with(&[&rc, &header(b"3.5"), STATUS_JSON]), &sk)),
    ];
    (flow, sk)
}

fn check_decrypted_session(flow: &Flow, sk: [u8; 16]) {
    let mut run = Run::new(table(LOCAL));
    let first = run.all(flow, false);
    for (i, t) in first.iter().enumerate() {
        assert_eq!(status(t), Some(ChecksumStatus::Good as u64), "frame {}", i + 1);
        assert!(!has_expert(t, Expert::KeyNeeded) && !has_expert(t, Expert::BadProof), "frame {}", i + 1);
    }
    assert!(strings(&first[0], Field::Key)[0].contains("by trial"), "{:?}", strings(&first[0], Field::Key));
    assert_eq!(bytes_of(&first[1], Field::SessionKey), Some(sk.to_vec()));
    assert_eq!(jsons(&first[3]), ["{}"]);
    assert_eq!(jsons(&first[4]), [std::str::from_utf8(STATUS_JSON).unwrap()]);
    assert_eq!(jsons(&first[5]), [std::str::from_utf8(STATUS_JSON).unwrap()]);
    assert!(strings(&first[5], Field::Key)[0].starts_with(&format!("session key {}", hex(&sk))));
    assert_eq!(strings(&first[5], Field::DpValue), ["true", "white", "0"]);
    assert_eq!(first[5].info.as_deref(), Some("STATUS seq=0 dps: 1=true 2=white 20=0"));
    // A second pass shows the same trees.
    assert_eq!(run.all(flow, true), first);
}

#[test]
fn v34_session_decrypts_after_the_negotiation() {
    let (flow, sk) = session_34(LOCAL);
    check_decrypted_session(&flow, sk);
}

#[test]
fn v35_session_decrypts_after_the_negotiation() {
    let (flow, sk) = session_35(LOCAL);
    check_decrypted_session(&flow, sk);
}

#[test]
fn without_the_key_only_headers_and_the_key_needed_expert() {
    for (flow, _) in [session_34(LOCAL), session_35(LOCAL)] {
        for keys in [vec![], vec![KeyRow { dev_id: "x".into(), key: WRONG }]] {
            let mut run = Run::new(keys);
            for t in run.all(&flow, false) {
                assert!(has_expert(&t, Expert::KeyNeeded));
                assert_eq!(status(&t), Some(ChecksumStatus::Unverified as u64));
                assert!(t.sources.is_empty() && jsons(&t).is_empty());
            }
        }
    }
}

#[test]
fn a_wrong_key_for_a_known_device_gives_bad_checksums() {
    // Discovery told us 192.168.1.20 is DEV; the table's key for DEV is wrong.
    let (flow, _) = session_35(LOCAL);
    let mut run = Run::new(vec![KeyRow { dev_id: DEV.into(), key: WRONG }]);
    let announce = format!(r#"{{"ip":"192.168.1.20","gwId":"{DEV}","version":"3.5"}}"#);
    let disc = frame::encode_55aa_crc(0, commands::UDP_NEW, Some(0), &discovery::encrypt(announce.as_bytes()));
    let mut t = Tree::new();
    let pkt = Packet { transport: crate::Transport::Udp, src: Some([192, 168, 1, 20].into()), ..Packet::default() };
    let mut st = State { conversation: &mut Slot::default(), capture: &mut run.cap };
    dissect_with_keys(&pkt, &disc, &mut st, &mut t, &run.table);
    let trees = run.all(&flow, false);
    assert!(strings(&trees[0], Field::Key)[0].contains("by device id: 192.168.1.20 is bf7e9b4aacf4f733d8o3zz"));
    assert_eq!(status(&trees[0]), Some(ChecksumStatus::Bad as u64));
    assert!(has_expert(&trees[0], Expert::DecryptFailed));
}

#[test]
fn mid_session_capture_says_the_session_key_is_unknown() {
    let (flow, _) = session_34(LOCAL);
    let mut run = Run::new(table(LOCAL));
    // Only the negotiation's FINISH (to find the key) and what follows.
    let trees = run.all(&flow[2..].to_vec(), false);
    assert_eq!(status(&trees[0]), Some(ChecksumStatus::Good as u64));
    assert!(has_expert(&trees[1], Expert::SessionKeyUnknown));
}

#[test]
fn v33_and_v31_payloads() {
    let ct = crate::crypto::ecb_encrypt(&LOCAL, br#"{"devId":"bf7e9b4aacf4f733d8o3zz","dps":{"1":false}}"#);
    let control = frame::encode_55aa_crc(1, commands::CONTROL, None, &with(&[&header(b"3.3"), &ct]));
    let query = frame::encode_55aa_crc(2, commands::DP_QUERY, None, &ct);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&ct);
    use base64::Engine;
    let sig = payload::v31_signature(&LOCAL, b64.as_bytes());
    let v31 = frame::encode_55aa_crc(3, commands::CONTROL, None, &with(&[b"3.1", &sig, b64.as_bytes()]));
    let plain = frame::encode_55aa_crc(4, commands::STATUS, Some(0), br#"{"dps":{"1":true}}"#);
    let flow = vec![(false, control), (false, query), (false, v31), (true, plain)];
    let mut run = Run::new(table(LOCAL));
    let trees = run.all(&flow, false);
    for t in &trees {
        assert_eq!(status(t), Some(ChecksumStatus::Good as u64));
    }
    assert!(strings(&trees[0], Field::Key)[0].contains("by trial: the payload decrypts to JSON"));
    assert_eq!(strings(&trees[0], Field::Version), ["3.3"]);
    assert_eq!(strings(&trees[0], Field::DevId), [DEV]);
    assert_eq!(strings(&trees[1], Field::DpValue), ["false"]);
    assert_eq!(strings(&trees[2], Field::Version), ["3.1"]);
    assert_eq!(jsons(&trees[2]), [r#"{"devId":"bf7e9b4aacf4f733d8o3zz","dps":{"1":false}}"#]);
    assert_eq!(strings(&trees[3], Field::DpValue), ["true"]);
    // No key: 3.3 and 3.1 payloads stay encrypted, plain JSON still shows.
    let trees = Run::new(vec![]).all(&flow, false);
    assert!(has_expert(&trees[0], Expert::KeyNeeded) && has_expert(&trees[2], Expert::KeyNeeded));
    assert_eq!(jsons(&trees[3]), ["<18 bytes on the wire>"]);
}

#[test]
fn device_error_text_is_shown_not_malformed() {
    // A 3.2 plug's answer to DP_QUERY, recorded in homebridge-tuya-lan
    // issue #69 (see tests/REAL_DEVICES.md): retcode 1, clear text.
    let real = crate::crypto::unhex("000055aa000000000000000a00000021000000016a736f6e206f626a206461746120756e76616c6964d25378690000aa55").unwrap();
    // The same text encrypted, as a 3.3 device sends it after the retcode.
    let ct = crate::crypto::ecb_encrypt(&LOCAL, b"json obj data unvalid");
    let v33 = frame::encode_55aa_crc(7, commands::DP_QUERY, Some(1), &with(&[&header(b"3.3"), &ct]));
    // Bytes that are neither JSON nor text still warn.
    let junk = frame::encode_55aa_crc(8, commands::DP_QUERY, Some(1), &with(&[&header(b"3.3"), &crate::crypto::ecb_encrypt(&LOCAL, &[1, 2, 3])]));
    let flow = vec![(true, real), (true, v33), (true, junk)];
    let mut trees = Run::new(table(LOCAL)).all(&flow, false);
    assert!(has_expert(&trees.pop().unwrap(), Expert::NotJson));
    for t in &trees {
        assert_eq!(status(t), Some(ChecksumStatus::Good as u64));
        assert_eq!(strings(t, Field::Text), ["json obj data unvalid"]);
        assert!(has_expert(t, Expert::TextMessage) && !has_expert(t, Expert::NotJson));
        assert!(t.malformed.is_none());
    }
    assert_eq!(trees[0].info.as_deref(), Some("DP_QUERY seq=0 retcode=1 (Error) \"json obj data unvalid\""));
}

#[test]
fn truncated_corrupted_and_random_frames_never_panic() {
    let (f34, _) = session_34(LOCAL);
    let (f35, _) = session_35(LOCAL);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (from_device, f) in f34.iter().chain(&f35) {
        let mut run = Run::new(table(LOCAL));
        for cut in 0..f.len() {
            let mut t = Tree::new();
            let pkt = Packet { transport: crate::Transport::Tcp, ..Packet::default() };
            let mut st = State { conversation: &mut run.conv, capture: &mut run.cap };
            dissect_with_keys(&pkt, &f[..cut], &mut st, &mut t, &run.table);
            t.validate(cut).unwrap();
        }
        for _ in 0..200 {
            let mut g = f.clone();
            let at = (rand() as usize) % g.len();
            g[at] = rand() as u8;
            run.one(1, false, *from_device, &g);
        }
    }
    for _ in 0..2000 {
        let len = (rand() % 120) as usize;
        let mut g: Vec<u8> = (0..len).map(|_| rand() as u8).collect();
        if len >= 4 && rand() % 2 == 0 {
            g[..4].copy_from_slice(if rand() % 2 == 0 { &frame::PREFIX_55AA } else { &frame::PREFIX_6699 });
        }
        let (mut c, mut cap) = (Slot::default(), Slot::default());
        let mut t = Tree::new();
        let pkt = Packet { transport: crate::Transport::Tcp, src_port: 6668, ..Packet::default() };
        dissect_with_keys(&pkt, &g, &mut State { conversation: &mut c, capture: &mut cap }, &mut t, &table(LOCAL));
        t.validate(g.len()).unwrap();
    }
}

/// A caller that wants a few fields gets exactly those items of the full
/// tree (same values, spans and order), the same data sources and
/// hand-offs, and no text.
#[test]
fn wanting_some_fields_builds_only_those() {
    use crate::tree::Wanted;
    let fields = [Field::GwId, Field::DevId, Field::ProductKey, Field::Version, Field::Cmd, Field::DpValue, Field::Ip];
    let wanted = Wanted::fields(fields.iter().map(|&f| f as u32));
    let kept = |t: &Tree| -> Vec<Item> {
        let keep = |i: &&Item| match i {
            Item::Field { field, .. } => fields.iter().any(|&f| f as u32 == *field),
            Item::Call { .. } => true,
            _ => false,
        };
        t.items.iter().filter(keep).cloned().collect()
    };
    let same = |t: &Tree, full: &Tree| {
        assert!(!kept(t).is_empty());
        assert_eq!(kept(t), kept(full));
        assert_eq!(t.sources, full.sources);
        assert!(t.info.is_none() && t.summary.is_none() && t.device.is_none());
        assert!(!t.items.iter().any(|i| matches!(i, Item::Append(_))));
        assert!(full.info.is_some(), "the full tree has text");
    };
    let ct = crate::crypto::ecb_encrypt(&LOCAL, br#"{"devId":"bf7e9b4aacf4f733d8o3zz","dps":{"1":false},"t":1}"#);
    let v33 = vec![(false, frame::encode_55aa_crc(1, commands::CONTROL, None, &with(&[&header(b"3.3"), &ct])))];
    for flow in [session_34(LOCAL).0, session_35(LOCAL).0, v33] {
        let full = Run::new(table(LOCAL)).all(&flow, false);
        let mut run = Run::new(table(LOCAL));
        for (i, ((from_device, data), full)) in flow.iter().zip(&full).enumerate() {
            same(&run.one_wanting(wanted, i as u32 + 1, false, *from_device, data), full);
        }
    }
    let announce = frame::encode_55aa_crc(0, commands::UDP_NEW, Some(0), &discovery::encrypt(ANNOUNCE));
    let (mut c, mut g) = (Slot::default(), Slot::default());
    let mut t = Tree::wanting(wanted);
    dissect_with_keys(&udp(), &announce, &mut State { conversation: &mut c, capture: &mut g }, &mut t, &[]);
    t.validate(announce.len()).unwrap();
    same(&t, &run(&udp(), &announce).1);
}
