use super::*;
use crate::crypto::unhex;
use crate::tree::Item;
use crate::{Slot, Transport};

const TOKEN: Token = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];
const DEVICE: u32 = 0x0a1b2c3d;

/// Built by python-miio 0.5.12 (`Message.build`, token 00112233…eeff,
/// device 0x0a1b2c3d, stamp 101): `{"id": 1, "method": "get_prop",
/// "params": ["power"]}` + NUL.
const PYTHON_MIIO_GET_PROP: &str = "21310060000000000a1b2c3d00000065ba3b3aafab6b94935005eb69790f5e3c2a36b2b7afa85bd6a9f1ed82b485a3d68628cb0ba48901152cb9ce59f42b292529bf9211d2778169fd9d357e85849a2e8fef8363055a49d402cdfb63054804d6";
const GET_PROP_TEXT: &str = r#"{"id": 1, "method": "get_prop", "params": ["power"]}"#;

/// A capture's worth of state: one conversation, one capture file.
#[derive(Default)]
struct Session {
    conversation: Slot,
    capture: Slot,
}

impl Session {
    fn run(&mut self, pkt: &Packet, data: &[u8]) -> (bool, Tree) {
        let mut t = Tree::new();
        let mut state = State { conversation: &mut self.conversation, capture: &mut self.capture };
        let ok = MIIO.dissect(pkt, data, &mut state, &mut t);
        t.validate(data.len()).unwrap();
        (ok, t)
    }
}

fn pkt(frame: u32, from_device: bool, time: f64) -> Packet {
    let (a, b) = ("192.168.1.10".parse().ok(), "192.168.1.50".parse().ok());
    let (src, dst, sp, dp) = if from_device { (b, a, 54321, 40000) } else { (a, b, 40000, 54321) };
    Packet { frame, visited: false, transport: Transport::Udp, src, dst, src_port: sp, dst_port: dp, time }
}

fn values(t: &Tree, field: Field) -> Vec<Value> {
    t.items
        .iter()
        .filter_map(|i| match i {
            Item::Field { field: f, value, .. } if *f == field as u32 => Some(value.clone()),
            _ => None,
        })
        .collect()
}

fn one(t: &Tree, field: Field) -> Option<Value> {
    values(t, field).into_iter().next()
}

fn has_expert(t: &Tree, e: Expert) -> bool {
    t.items.iter().any(|i| matches!(i, Item::Expert { expert, .. } if *expert == e as u32))
}

fn get_prop() -> Vec<u8> {
    unhex(PYTHON_MIIO_GET_PROP).unwrap()
}

#[test]
fn without_a_token_the_header_dissects_and_the_payload_stays_encrypted() {
    let (ok, t) = Session::default().run(&pkt(1, false, 0.0), &get_prop());
    assert!(ok);
    assert_eq!(one(&t, Field::ChecksumStatus), Some(Value::Uint(ChecksumStatus::Unverified as u64)));
    assert!(has_expert(&t, Expert::TokenNeeded));
    assert_eq!(values(&t, Field::Payload).len(), 1);
    assert!(t.sources.is_empty());
    assert_eq!(t.info.as_deref(), Some("Encrypted device=0x0a1b2c3d"));
    assert!(t.malformed.is_none());
}

#[test]
fn a_leaked_token_decrypts_later_messages_only() {
    let mut s = Session::default();
    let reply = frame::encode_hello_reply(DEVICE, 100, &TOKEN);
    // Before the hello reply: no token yet.
    let (_, early) = s.run(&pkt(1, false, 0.0), &get_prop());
    assert!(has_expert(&early, Expert::TokenNeeded));
    let (_, r) = s.run(&pkt(2, true, 0.1), &reply);
    assert_eq!(one(&r, Field::Hello), Some(Value::Uint(HelloKind::Reply as u64)));
    assert_eq!(one(&r, Field::Token), Some(Value::Wire(Enc::Na)));
    assert!(has_expert(&r, Expert::TokenLeaked));
    assert_eq!(r.info.as_deref(), Some("Hello reply device=0x0a1b2c3d token leaked"));
    let (_, t) = s.run(&pkt(3, false, 0.2), &get_prop());
    assert_eq!(one(&t, Field::ChecksumStatus), Some(Value::Uint(ChecksumStatus::Good as u64)));
    assert_eq!(one(&t, Field::KeyLearntIn), Some(Value::Frame(2)));
    assert_eq!(
        one(&t, Field::Key),
        Some(Value::Str("00112233445566778899aabbccddeeff from the hello reply in frame 2".into()))
    );
    assert_eq!(t.sources[0].bytes, format!("{GET_PROP_TEXT}\0").as_bytes());
    assert_eq!(one(&t, Field::Id), Some(Value::Uint(1)));
    assert_eq!(one(&t, Field::Method), Some(Value::Str("get_prop".into())));
    assert_eq!(one(&t, Field::Params), Some(Value::Str(r#"["power"]"#.into())));
    assert_eq!(t.info.as_deref(), Some(r#"Request id=1 get_prop ["power"]"#));
    assert!(t.items.contains(&Item::Call { dissector: "json", span: Span::of(1, 0, GET_PROP_TEXT.len()) }));
    // The method's value is highlighted in the decrypted tab.
    let method_at = GET_PROP_TEXT.find("\"get_prop\"").unwrap();
    assert!(t.items.iter().any(|i| matches!(i, Item::Field { field, span, .. }
        if *field == Field::Method as u32 && *span == Span::of(1, method_at, 10))));
    // Dissected again (a second pass): frame 1 still has no token.
    let (_, again) = s.run(&Packet { visited: true, ..pkt(1, false, 0.0) }, &get_prop());
    assert!(has_expert(&again, Expert::TokenNeeded));
}

#[test]
fn requests_and_responses_are_linked() {
    let mut s = Session::default();
    s.run(&pkt(1, true, 0.0), &frame::encode_hello_reply(DEVICE, 100, &TOKEN));
    let request = frame::encode(DEVICE, 5, &TOKEN, br#"{"id":42,"method":"set_power","params":["on"]}"#);
    let response = frame::encode(DEVICE, 6, &TOKEN, b"{\"id\":42,\"result\":[\"ok\"]}\0");
    let (_, q) = s.run(&pkt(2, false, 10.0), &request);
    assert!(one(&q, Field::ResponseIn).is_none(), "first pass: the response is not seen yet");
    let (_, r) = s.run(&pkt(3, true, 10.25), &response);
    assert_eq!(one(&r, Field::RequestIn), Some(Value::Frame(2)));
    assert_eq!(one(&r, Field::Time), Some(Value::Seconds(0.25)));
    assert_eq!(one(&r, Field::Result), Some(Value::Str(r#"["ok"]"#.into())));
    assert_eq!(r.info.as_deref(), Some("Response id=42"));
    let (_, q2) = s.run(&Packet { visited: true, ..pkt(2, false, 10.0) }, &request);
    assert_eq!(one(&q2, Field::ResponseIn), Some(Value::Frame(3)));
    // A response the same way as the request is not its answer.
    let (_, stray) = s.run(&pkt(4, false, 11.0), &response);
    assert!(one(&stray, Field::RequestIn).is_none());
}

#[test]
fn error_responses_say_so() {
    let mut s = Session::default();
    s.run(&pkt(1, true, 0.0), &frame::encode_hello_reply(DEVICE, 100, &TOKEN));
    let err = frame::encode(DEVICE, 6, &TOKEN, br#"{"id":7,"error":{"code":-5001,"message":"unknown method"}}"#);
    let (_, t) = s.run(&pkt(2, true, 1.0), &err);
    assert_eq!(one(&t, Field::Error), Some(Value::Str(r#"{"code":-5001,"message":"unknown method"}"#.into())));
    assert_eq!(t.info.as_deref(), Some(r#"Response id=7 error {"code":-5001,"message":"unknown method"}"#));
}

/// The only test that touches the (global) token table; it uses its own
/// device id so the other tests never see its rows.
#[test]
fn table_tokens_are_tried_in_turn_and_a_wrong_one_is_reported() {
    const OTHER: u32 = 0x77;
    let row = |t: &str| vec!["0x77".to_string(), t.to_string()];
    let wrong = "ffeeddccbbaa99887766554433221100";
    let msg = frame::encode(OTHER, 5, &TOKEN, br#"{"id":1,"method":"miIO.info","params":[]}"#);
    tokens::set_table(vec![row(wrong)]);
    let (_, bad) = Session::default().run(&pkt(1, false, 0.0), &msg);
    assert_eq!(one(&bad, Field::ChecksumStatus), Some(Value::Uint(ChecksumStatus::Bad as u64)));
    assert!(has_expert(&bad, Expert::BadChecksum) && has_expert(&bad, Expert::WrongToken));
    assert!(has_expert(&bad, Expert::DecryptFailed) || has_expert(&bad, Expert::NotJson));
    assert!(one(&bad, Field::Method).is_none());
    // LAN token and cloud key side by side: the checksum picks the right one.
    tokens::set_table(vec![row(wrong), row("00112233445566778899AABBCCDDEEFF")]);
    let (_, good) = Session::default().run(&pkt(1, false, 0.0), &msg);
    tokens::set_table(vec![]);
    assert_eq!(one(&good, Field::ChecksumStatus), Some(Value::Uint(ChecksumStatus::Good as u64)));
    assert_eq!(one(&good, Field::Method), Some(Value::Str("miIO.info".into())));
    assert_eq!(
        one(&good, Field::Key),
        Some(Value::Str("00112233445566778899aabbccddeeff from the miio_tokens table".into()))
    );
}

#[test]
fn hellos_and_provisioned_hello_replies() {
    let mut s = Session::default();
    let (ok, t) = s.run(&pkt(1, false, 0.0), &frame::encode_hello());
    assert!(ok);
    assert_eq!(one(&t, Field::Hello), Some(Value::Uint(HelloKind::Hello as u64)));
    assert_eq!(t.info.as_deref(), Some("Hello"));
    let (_, r) = s.run(&pkt(2, true, 0.0), &frame::encode_hello_reply(DEVICE, 9, &[0xff; 16]));
    assert!(one(&r, Field::Token).is_none() && !has_expert(&r, Expert::TokenLeaked));
    assert_eq!(r.info.as_deref(), Some("Hello reply device=0x0a1b2c3d"));
    let (_, m) = s.run(&pkt(3, false, 0.0), &get_prop());
    assert!(has_expert(&m, Expert::TokenNeeded));
}

#[test]
fn truncated_messages_are_malformed_never_a_panic() {
    let mut s = Session::default();
    s.run(&pkt(1, true, 0.0), &frame::encode_hello_reply(DEVICE, 100, &TOKEN));
    let m = get_prop();
    for cut in 0..m.len() {
        let (ok, t) = s.run(&pkt(2, false, 0.0), &m[..cut]);
        assert_eq!(ok, cut >= 2, "cut {cut}");
        if ok {
            assert!(t.malformed.is_some(), "cut {cut}");
        }
    }
    let mut long = m.clone();
    long.extend_from_slice(b"xyz");
    let (_, t) = s.run(&pkt(3, false, 0.0), &long);
    assert_eq!(t.malformed.as_deref(), Some("3 bytes after the 96-byte message"));
    assert_eq!(one(&t, Field::Method), Some(Value::Str("get_prop".into())));
}

#[test]
fn garbage_is_not_claimed_and_never_panics() {
    let mut s = Session::default();
    s.run(&pkt(1, true, 0.0), &frame::encode_hello_reply(DEVICE, 100, &TOKEN));
    let (ok, _) = s.run(&pkt(2, false, 0.0), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(!ok);
    for round in 0..5_000u32 {
        let len = 2 + (round % 120) as usize;
        let mut buf = crate::fuzzing::noise(round.into(), len);
        buf[..2].copy_from_slice(&frame::MAGIC);
        if round % 2 == 0 && len >= 4 {
            // Keep the length field honest and the device known, so the
            // decrypt and JSON paths see garbage too.
            buf[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            if len >= 12 {
                buf[8..12].copy_from_slice(&DEVICE.to_be_bytes());
            }
        }
        let (ok, _) = s.run(&pkt(3 + round, false, 0.0), &buf);
        assert!(ok);
    }
    // Valid framing and token, ciphertext of non-JSON (a fresh capture: the
    // garbage above included "hello replies" of DEVICE with other tokens).
    let mut s = Session::default();
    s.run(&pkt(1, true, 0.0), &frame::encode_hello_reply(DEVICE, 100, &TOKEN));
    let not_json = frame::encode(DEVICE, 1, &TOKEN, b"\x01\x02 not json");
    let (_, t) = s.run(&pkt(9_000, false, 0.0), &not_json);
    assert!(has_expert(&t, Expert::NotJson));
    assert_eq!(t.sources.len(), 1);
}

#[test]
fn pdu_len_and_heuristic_follow_the_framing() {
    let m = get_prop();
    assert_eq!(MIIO.pdu_len(&m), PduLen::Len(96));
    assert!(MIIO.looks_like(&m));
    assert!(!MIIO.looks_like(b"HTTP/1.1 200 OK\r\n\r\n"));
    assert_eq!(SPEC.table.unwrap().name, "miio_tokens");
    assert_eq!(SPEC.table.unwrap().columns.len(), 2);
}
