//! Tuya local protocol (`tuya`): discovery broadcasts on UDP 6666/6667/7000
//! and device sessions on TCP 6668.

pub mod commands;
pub mod discovery;
pub mod frame;

use crate::crypto::hex;
use crate::json;
use crate::spec::{ProtocolSpec, TableSpec};
use crate::tree::{ChecksumStatus, Enc, Span, Tree, Value, CHECKSUM_STATUS_NAMES};
use crate::{experts, fields, Dissector, Packet, PduLen, State};
use frame::{Frame, Framing};

fields! { pub Field, FIELDS;
    Prefix => ("tuya.prefix", "Prefix", U32, Hex),
    Seq => ("tuya.seq", "Sequence number", U32, Dec),
    Cmd => ("tuya.cmd", "Command", U32, Hex, commands::NAMES),
    Length => ("tuya.length", "Length", U32, Dec; "Bytes after the length field, through the suffix"),
    Retcode => ("tuya.retcode", "Return code", U32, Dec),
    Payload => ("tuya.payload", "Payload", Bytes, None),
    VersionHeader => ("tuya.version_header", "Version header", Str, None; "Clear \"3.x\" prefix of an encrypted payload"),
    Checksum => ("tuya.checksum", "CRC32", U32, Hex),
    ChecksumStatus => ("tuya.checksum.status", "Checksum status", U8, None, CHECKSUM_STATUS_NAMES),
    Suffix => ("tuya.suffix", "Suffix", U32, Hex),
    Key => ("tuya.key", "Key used", Str, None; "Which key decrypted the payload, and how it was chosen"),
    Json => ("tuya.json", "JSON", Str, None; "The plaintext JSON payload"),
    GwId => ("tuya.gw_id", "Gateway id", Str, None; "Device id announced in discovery (gwId)"),
    Ip => ("tuya.ip", "Device IP", Ipv4, None; "IP address announced in discovery"),
    ProductKey => ("tuya.product_key", "Product key", Str, None),
    Version => ("tuya.version", "Protocol version", Str, None),
}

experts! { pub Expert, EXPERTS;
    BadChecksum => ("tuya.checksum.bad", Checksum, Error, "Bad checksum"),
    KeyNeeded => ("tuya.key_needed", Decryption, Warn, "Encrypted payload: a local key for this device would decrypt it"),
    DecryptFailed => ("tuya.decrypt_failed", Decryption, Warn, "The payload did not decrypt"),
    NotJson => ("tuya.not_json", Malformed, Warn, "Decrypted payload is not JSON"),
}

static KEYS: TableSpec = TableSpec {
    name: "tuya_keys",
    title: "Tuya local keys",
    help: "Local keys of Tuya devices: device id (gwId/devId) and its 16-character local key",
    columns: &[
        crate::spec::ColumnSpec { name: "dev_id", title: "Device ID", description: "Tuya device id (gwId / devId)" },
        crate::spec::ColumnSpec { name: "local_key", title: "Local key", description: "The device's 16-character local key" },
    ],
};

static SPEC: ProtocolSpec = ProtocolSpec {
    name: "Tuya local protocol",
    short_name: "Tuya",
    filter_name: "tuya",
    fields: FIELDS,
    experts: EXPERTS,
    udp_ports: "6666-6667,7000",
    tcp_ports: "6668",
    heuristic_udp: true,
    heuristic_tcp: true,
    tcp_header_len: frame::HEADER_6699 as u32,
    table: Some(&KEYS),
    prefs: &[],
};

pub struct Tuya;
pub static TUYA: Tuya = Tuya;

impl Dissector for Tuya {
    fn spec(&self) -> &'static ProtocolSpec {
        &SPEC
    }

    fn looks_like(&self, data: &[u8]) -> bool {
        frame::parse(data).is_ok()
    }

    fn pdu_len(&self, data: &[u8]) -> PduLen {
        frame::pdu_len(data)
    }

    fn check_row(&self, row: &[String]) -> Result<(), String> {
        match row {
            [id, key] if id.trim().is_empty() => Err(format!("device id is empty (key {key:?})")),
            [_, key] if key.len() != 16 => {
                Err(format!("a local key has 16 characters; {key:?} has {}", key.len()))
            }
            [_, _] => Ok(()),
            _ => Err("expected 2 columns: device id, local key".into()),
        }
    }

    fn dissect(&self, pkt: &Packet, data: &[u8], _state: &mut State, t: &mut Tree) -> bool {
        if data.first() == Some(&b'{') {
            // 3.1 discovery on UDP 6666 may be bare JSON.
            add_json(t, Span::wire(0, data.len()), data);
            return true;
        }
        let frame = match frame::parse(data) {
            Ok(f) => f,
            Err(e) if frame::framing_of(data).is_some() => {
                t.info(format!("Malformed frame: {e}"));
                t.wire(Field::Prefix, 0, 4, Enc::Big);
                t.malformed(e.to_string());
                return true;
            }
            Err(_) => return false,
        };
        header(t, &frame);
        match frame.framing {
            Framing::V55aa => dissect_55aa(pkt, data, &frame, t),
            Framing::V6699 => dissect_6699(data, &frame, t),
        }
        t.wire(Field::Suffix, frame.suffix, 4, Enc::Big);
        true
    }
}

fn header(t: &mut Tree, f: &Frame) {
    let (seq, cmd, len) = match f.framing {
        Framing::V55aa => (4, 8, 12),
        Framing::V6699 => (6, 10, 14),
    };
    t.wire(Field::Prefix, 0, 4, Enc::Big);
    t.wire(Field::Seq, seq, 4, Enc::Big);
    t.wire(Field::Cmd, cmd, 4, Enc::Big);
    t.wire(Field::Length, len, 4, Enc::Big);
    t.summary(format!(", {} seq={}", commands::name(f.cmd), f.seq));
    t.info(format!("{} seq={}", commands::name(f.cmd), f.seq));
}

fn dissect_55aa(pkt: &Packet, data: &[u8], f: &Frame, t: &mut Tree) {
    let crc_at = f.suffix - frame::CRC_LEN;
    let mut payload_at = f.body;
    if frame::has_retcode(&data[f.body..crc_at]) {
        t.wire(Field::Retcode, f.body, 4, Enc::Big);
        payload_at += 4;
    }
    let payload = &data[payload_at..crc_at];
    let crc = frame::crc32(&data[..crc_at]);
    let status = ChecksumStatus::from_match(crc == frame::be32(data, crc_at));
    decode_payload(pkt, f, t, payload_at, payload);
    t.checksum(
        Field::Checksum,
        Field::ChecksumStatus,
        Expert::BadChecksum,
        Span::wire(crc_at, frame::CRC_LEN),
        status,
        Some(format!("0x{crc:08x}")),
    );
}

fn dissect_6699(data: &[u8], f: &Frame, t: &mut Tree) {
    let inner = f.inner(data);
    t.wire(Field::Payload, f.body, inner.len(), Enc::Na);
    t.expert(Expert::KeyNeeded, None);
}

/// Decodes a 55AA payload: plain JSON, or discovery encrypted under the
/// public UDP key.
fn decode_payload(pkt: &Packet, f: &Frame, t: &mut Tree, at: usize, payload: &[u8]) {
    if payload.is_empty() {
        return;
    }
    if payload.first() == Some(&b'{') {
        add_json(t, Span::wire(at, payload.len()), payload);
        return;
    }
    t.wire(Field::Payload, at, payload.len(), Enc::Na);
    let discovery = matches!(f.cmd, commands::UDP_NEW | commands::BOARDCAST_LPV34 | commands::REQ_DEVINFO)
        || pkt.transport == crate::Transport::Udp;
    if !discovery {
        t.expert(Expert::KeyNeeded, None);
        return;
    }
    match discovery::decrypt(payload) {
        Ok(plain) => {
            let key = discovery::udp_key();
            let src = t.add_source("Decrypted Tuya payload", plain.clone());
            t.generated(
                Field::Key,
                Span::wire(at, payload.len()),
                Value::Str(format!("public discovery key {} (md5 of \"yGAdlopoPVldABfn\")", hex(&key))),
            );
            add_json(t, Span::of(src, 0, plain.len()), &plain);
        }
        Err(e) => {
            t.expert(Expert::DecryptFailed, Some(format!("Not decrypted with the public discovery key: {e}")));
        }
    }
}

/// Adds the JSON text, the well-known values in it, and hands it to
/// Wireshark's JSON dissector.
fn add_json(t: &mut Tree, span: Span, bytes: &[u8]) {
    let Some((len, map)) = json::parse_object(bytes) else {
        t.expert(Expert::NotJson, None);
        return;
    };
    let text_span = span.sub(0, len);
    t.field(Field::Json, text_span, Value::Wire(Enc::Utf8));
    let a = discovery::Announcement::from_json(&map);
    let raw = &bytes[..len];
    let at = |key: &str| json::value_span(raw, key).map_or(text_span, |(o, l)| span.sub(o, l));
    if let Some(v) = &a.gw_id {
        t.field(Field::GwId, at("gwId"), Value::Str(v.clone()));
    }
    if let Some(ip) = a.ip.as_deref().and_then(|s| s.parse::<std::net::Ipv4Addr>().ok()) {
        t.field(Field::Ip, at("ip"), Value::Ipv4(ip.octets()));
    }
    if let Some(v) = &a.product_key {
        t.field(Field::ProductKey, at("productKey"), Value::Str(v.clone()));
    }
    if let Some(v) = &a.version {
        t.field(Field::Version, at("version"), Value::Str(v.clone()));
    }
    if a.gw_id.is_some() {
        t.info(a.info());
    }
    t.call("json", text_span);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Item;
    use crate::Slot;

    fn run(pkt: &Packet, data: &[u8]) -> (bool, Tree) {
        let (mut c, mut g) = (Slot::default(), Slot::default());
        let mut t = Tree::new();
        let ok = TUYA.dissect(pkt, data, &mut State { conversation: &mut c, capture: &mut g }, &mut t);
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
}
