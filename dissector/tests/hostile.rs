//! Hostile inputs, named: what an attacker on the audited network can put
//! in front of the dissectors. Each goes through `phonehome::fuzzing`,
//! which panics when a tree span leaves the data, when a TCP PDU length
//! would stall or blow up reassembly, or when a parser panics; the tests
//! then pin the outcome the user sees (malformed, an expert, not ours).

use phonehome::crypto::{ecb_decrypt, ecb_encrypt, CryptoError};
use phonehome::fuzzing::{dissect_checked, exercise, protocol, MAX_PDU};
use phonehome::iotc::{header as iotc, scramble};
use phonehome::pppp::message as pppp;
use phonehome::tree::{Item, Tree, Value};
use phonehome::tuya::{discovery, frame};
use phonehome::{Packet, PduLen, Slot, State, Transport};

fn udp() -> Packet {
    Packet { transport: Transport::Udp, ..Packet::default() }
}

/// Dissects `data` once as UDP with fresh state (spans checked).
fn dissect(name: &str, data: &[u8]) -> (bool, Tree) {
    let d = protocol(name).unwrap();
    exercise(d, data);
    let (mut c, mut g) = (Slot::default(), Slot::default());
    dissect_checked(d, &udp(), data, &mut State { conversation: &mut c, capture: &mut g })
}

fn expert_names(name: &str, t: &Tree) -> Vec<&'static str> {
    let experts = protocol(name).unwrap().spec().experts;
    t.items
        .iter()
        .filter_map(|i| match i {
            Item::Expert { expert, .. } => experts.get(*expert as usize).map(|e| e.abbrev),
            _ => None,
        })
        .collect()
}

fn string_values(t: &Tree) -> Vec<&str> {
    t.items
        .iter()
        .filter_map(|i| match i {
            Item::Field { value: Value::Str(s), .. } => Some(s.as_str()),
            _ => None,
        })
        .collect()
}

// ---- length fields: larger than the frame, zero, wrapping ----------------

fn tuya_with_length(length: u32) -> Vec<u8> {
    let mut f = frame::encode_55aa_crc(1, 7, None, b"{\"dps\":{\"1\":true}}");
    f[12..16].copy_from_slice(&length.to_be_bytes());
    f
}

#[test]
fn tuya_length_larger_than_the_frame_is_malformed() {
    let f = tuya_with_length(10_000);
    let (ok, t) = dissect("tuya", &f);
    assert!(ok);
    assert_eq!(t.malformed.as_deref(), Some(format!("frame truncated: {} of 10016 bytes", f.len()).as_str()));
    // On TCP the frame is waited for, up to the 1 MiB cap, never beyond.
    assert_eq!(frame::pdu_len(&f), PduLen::Len(10_016));
}

#[test]
fn tuya_length_zero_and_wrapping_are_refused_not_waited_for() {
    for length in [0, 1, 7, u32::MAX, u32::MAX - 15, (frame::MAX_FRAME + 1) as u32] {
        let f = tuya_with_length(length);
        assert_eq!(frame::pdu_len(&f), PduLen::NotMine, "length {length:#x}");
        let (ok, t) = dissect("tuya", &f);
        assert!(ok);
        assert_eq!(t.malformed, Some(format!("implausible length field {length}")));
    }
}

#[test]
fn iotc_length_field_that_lies_is_flagged() {
    for length in [0u16, 1, 0xffff] {
        let mut plain = iotc::encode(
            &iotc::Header { version: 0x19, flags: 2, length: 0, seq: 0, opcode: iotc::LAN_SEARCH, direction: 0x21 },
            &[0u8; 57],
        );
        plain[4..6].copy_from_slice(&length.to_le_bytes());
        let (ok, t) = dissect("iotc", &scramble::scramble_datagram(&plain));
        assert!(ok);
        assert!(expert_names("iotc", &t).contains(&"iotc.bad_length"), "length {length}");
    }
}

#[test]
fn pppp_length_field_that_lies_is_flagged() {
    for length in [0u16, 3, 0xffff] {
        let mut msg = pppp::encode(pppp::DRW, &pppp::encode_drw(0, 1, b"data")[4..]);
        msg[2..4].copy_from_slice(&length.to_be_bytes());
        let (ok, t) = dissect("pppp", &msg);
        assert!(ok);
        assert!(expert_names("pppp", &t).contains(&"pppp.bad_length"), "length {length}");
        // Too short for the DRW header, or longer than the datagram.
        assert!(t.malformed.is_some(), "length {length}");
    }
}

// ---- a TCP stream that never ends a frame ---------------------------------

#[test]
fn tcp_stream_never_ending_a_frame_is_bounded() {
    let tuya = protocol("tuya").unwrap();
    // A header announcing the largest frame we accept: reassembly waits for
    // at most that much, then the frame fails its suffix check.
    let mut stream = tuya_with_length(frame::MAX_FRAME as u32);
    assert_eq!(tuya.pdu_len(&stream), PduLen::Len(frame::MAX_FRAME + 16));
    const { assert!(frame::MAX_FRAME + 16 <= MAX_PDU) };
    stream.resize(frame::MAX_FRAME + 16, 0x41);
    let (ok, t) = dissect("tuya", &stream);
    assert!(ok);
    assert!(t.malformed.as_deref().unwrap().starts_with("bad suffix"));
    // Bytes that never form a header are handed over, never waited on.
    assert_eq!(tuya.pdu_len(&[0x41; 64]), PduLen::NotMine);
    assert_eq!(tuya.pdu_len(&[0, 0, 0x55, 0xaa, 0, 0]), PduLen::NeedMore);
    exercise(tuya, &stream);
}

// ---- padding that lies, and decryption that fails -------------------------

#[test]
fn lying_pkcs7_padding_is_an_error_not_a_panic() {
    let key = discovery::udp_key();
    for pad in [0u8, 17, 0xff] {
        // A block whose last byte claims `pad` bytes of padding.
        let mut block = [b'x'; 16];
        block[15] = pad;
        let ct = ecb_encrypt(&key, &block);
        // Encrypted with real padding after it: drop that block so the
        // lying byte is the last one the decryptor sees.
        assert_eq!(ecb_decrypt(&key, &ct[..16]), Err(CryptoError::Padding), "pad {pad}");
    }
    // Padding bytes that disagree with each other.
    let mut block = [3u8; 16];
    block[14] = 2;
    assert_eq!(ecb_decrypt(&key, &ecb_encrypt(&key, &block)[..16]), Err(CryptoError::Padding));
}

#[test]
fn discovery_that_does_not_decrypt_gets_an_expert() {
    let key = discovery::udp_key();
    let mut block = [b'{'; 16];
    block[15] = 0x40;
    let payload = ecb_encrypt(&key, &block)[..16].to_vec();
    let f = frame::encode_55aa_crc(0, 0x13, Some(0), &payload);
    let (ok, t) = dissect("tuya", &f);
    assert!(ok && t.malformed.is_none());
    assert!(expert_names("tuya", &t).contains(&"tuya.decrypt_failed"));
    // Not a whole number of blocks.
    let f = frame::encode_55aa_crc(0, 0x13, Some(0), &[0x99; 21]);
    assert!(expert_names("tuya", &dissect("tuya", &f).1).contains(&"tuya.decrypt_failed"));
}

// ---- JSON that is not JSON, deep, enormous; text that is not UTF-8 --------

fn tuya_json(json: &[u8]) -> (bool, Tree) {
    dissect("tuya", &frame::encode_55aa_crc(0, 0x13, Some(0), &discovery::encrypt(json)))
}

#[test]
fn json_that_is_not_json() {
    for text in [&b"{not json"[..], b"{\"a\":}", b"{\"gwId\":\"x\"", b"{}}}}", b"{\"a\":1e999999}"] {
        let (ok, t) = tuya_json(text);
        assert!(ok, "{:?}", String::from_utf8_lossy(text));
        assert!(expert_names("tuya", &t).contains(&"tuya.not_json"), "{:?}", String::from_utf8_lossy(text));
    }
}

#[test]
fn deeply_nested_json_is_refused_without_exhausting_the_stack() {
    // 100 000 levels: serde_json stops at 128, and our span finder is
    // iterative. Run on a small thread stack to prove no recursion.
    let mut text = b"{\"gwId\":\"deep\",\"x\":".to_vec();
    text.extend(std::iter::repeat_n(b'[', 100_000));
    text.extend(std::iter::repeat_n(b']', 100_000));
    text.push(b'}');
    let t = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || tuya_json(&text).1)
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert!(expert_names("tuya", &t).contains(&"tuya.not_json"));
}

#[test]
fn enormous_json_decodes_in_bounded_time() {
    // 900 KB of JSON, just under the frame cap; the announced id is found.
    let filler = "a".repeat(900_000);
    let text = format!(r#"{{"pad":"{filler}","gwId":"bf0000000000000000big","ip":"10.9.8.7"}}"#);
    let start = std::time::Instant::now();
    let (ok, t) = tuya_json(text.as_bytes());
    assert!(ok);
    assert!(string_values(&t).contains(&"bf0000000000000000big"));
    assert!(start.elapsed() < std::time::Duration::from_secs(2), "{:?}", start.elapsed());
}

#[test]
fn text_that_is_not_utf8() {
    // JSON with an invalid UTF-8 byte in a string: refused as not JSON.
    let (ok, t) = tuya_json(b"{\"gwId\":\"\xff\xfe\",\"ip\":\"1.2.3.4\"}");
    assert!(ok);
    assert!(expert_names("tuya", &t).contains(&"tuya.not_json"));
    // A Kalay UID slot with non-ASCII bytes: no UID field, no panic.
    let mut body = vec![0u8; 5];
    body.extend_from_slice(b"ABCD\xff\xfe\xc3\x28EFGHIJKLMNOP");
    body.resize(57, 0);
    let plain = iotc::encode(
        &iotc::Header { version: 0x19, flags: 2, length: 0, seq: 0, opcode: iotc::LAN_SEARCH, direction: 0x21 },
        &body,
    );
    let (ok, t) = dissect("iotc", &scramble::scramble_datagram(&plain));
    assert!(ok);
    assert!(!string_values(&t).iter().any(|s| s.contains("ABCD")));
    // A PPPP UID with a non-ASCII prefix.
    let mut uid = pppp::encode_uid(&pppp::Uid { prefix: "ABCD".into(), serial: 1, check: "EFGHI".into() });
    uid[1] = 0xff;
    let (ok, _) = dissect("pppp", &pppp::encode(pppp::PUNCH_PKT, &uid));
    assert!(ok);
}

// ---- a GCM tag or an HMAC that fails ----------------------------------------

fn checksum_status(t: &Tree) -> Option<u64> {
    let fields = protocol("tuya").unwrap().spec().fields;
    let status = fields.iter().position(|f| f.abbrev == "tuya.checksum.status").unwrap() as u32;
    t.items.iter().find_map(|i| match i {
        Item::Field { field, value: Value::Uint(v), .. } if *field == status => Some(*v),
        _ => None,
    })
}

#[test]
fn failing_gcm_tags_and_hmacs_decrypt_nothing() {
    use phonehome::tuya::commands::SESS_KEY_NEG_START;
    let key = *b"hostile-key-0001";
    protocol("tuya").unwrap().set_table(vec![vec!["bfhostile0000000000001".into(), "hostile-key-0001".into()]]);
    let nonce = *b"0123456789abcdef";
    let gcm = frame::encode_6699(1, SESS_KEY_NEG_START, &[7; 12], &nonce, &key);
    let hmac = frame::encode_55aa_hmac(1, SESS_KEY_NEG_START, None, &ecb_encrypt(&key, &nonce), &key);
    // On TCP (on UDP a 6699 frame is discovery, under the public key).
    let tcp = |data: &[u8]| {
        let (mut c, mut g) = (Slot::default(), Slot::default());
        let pkt = Packet { transport: Transport::Tcp, ..Packet::default() };
        dissect_checked(protocol("tuya").unwrap(), &pkt, data, &mut State { conversation: &mut c, capture: &mut g })
    };
    for (what, good, tamper_at) in [("GCM tag", gcm.clone(), gcm.len() - 5), ("HMAC", hmac.clone(), hmac.len() - 5)] {
        let (ok, t) = tcp(&good);
        assert!(ok && !t.sources.is_empty(), "{what}: the untouched frame decrypts: {:?} {:?}", expert_names("tuya", &t), t.info);
        assert_eq!(checksum_status(&t), Some(1), "{what}: Good");
        let mut bad = good.clone();
        bad[tamper_at] ^= 0x01;
        let (ok, t) = tcp(&bad);
        assert!(ok, "{what}");
        assert!(t.sources.is_empty(), "{what}: nothing decrypted from a frame that fails its check");
        assert_ne!(checksum_status(&t), Some(1), "{what}: not Good");
    }
}
