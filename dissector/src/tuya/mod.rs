//! Tuya local protocol (`tuya`): discovery broadcasts on UDP 6666/6667/7000
//! and device sessions on TCP 6668, protocol versions 3.1 to 3.5, decrypted
//! with the local keys of the `tuya_keys` table.

pub mod commands;
mod decode;
pub mod discovery;
pub mod frame;
mod keying;
pub mod keys;
pub mod payload;
mod render;
pub mod session;

use std::net::IpAddr;
use std::sync::Arc;

use crate::crypto::{ecb_decrypt, hex, hmac_sha256};
use crate::json;
use crate::spec::{ColumnSpec, PortRange, ProtocolSpec, TableSpec};
use crate::tree::{ChecksumStatus, Enc, KeyState, PayloadState, Span, Tree, Value, CHECKSUM_STATUS_NAMES};
use crate::{experts, fields, Dissector, Packet, PduLen, State, Transport};
use frame::{Frame, Framing, GcmParts};
use keys::KeyRow;
use payload::{Version, NONCE_LEN, PROOF_LEN, V31_SIGNATURE_LEN, VERSION_HEADER_LEN};
use session::{Context, Conversation, Devices, Learned, LocalKey};

use decode::*;
use keying::*;
use render::*;

fields! { pub Field, FIELDS;
    Prefix => ("tuya.prefix", "Prefix", U32, Hex),
    Reserved => ("tuya.reserved", "Reserved", U16, Hex; "Two bytes after the 6699 prefix (zero)"),
    Seq => ("tuya.seq", "Sequence number", U32, Dec),
    Cmd => ("tuya.cmd", "Command", U32, Hex, commands::NAMES),
    Length => ("tuya.length", "Length", U32, Dec; "Bytes after the length field, through the suffix"),
    Retcode => ("tuya.retcode", "Return code", U32, Dec, payload::RETCODE_NAMES),
    Version => ("tuya.version", "Protocol version", Str, None),
    Iv => ("tuya.iv", "AES-GCM IV", Bytes, None),
    Payload => ("tuya.payload", "Payload", Bytes, None; "The payload as sent (encrypted unless plain JSON)"),
    VersionHeader => ("tuya.version_header", "Version header", Str, None; "\"3.x\" + 12 bytes before the JSON (clear in 3.1-3.3, encrypted in 3.4/3.5)"),
    Signature => ("tuya.signature", "3.1 signature", Str, None; "md5hex(data=B64||lpv=3.1||KEY)[8:24]"),
    Key => ("tuya.key", "Key used", Str, None; "Which key decrypted the payload, and how it was chosen"),
    SessionKey => ("tuya.session_key", "Session key", Bytes, None; "Negotiated by SESS_KEY_NEG_START/RESP/FINISH (3.4, 3.5)"),
    Nonce => ("tuya.nonce", "Nonce", Bytes, None; "Session key negotiation nonce (client in START, device in RESP)"),
    NonceHmac => ("tuya.nonce_hmac", "Nonce HMAC", Bytes, None; "HMAC-SHA256(local key, peer's nonce)"),
    Json => ("tuya.json", "JSON", Str, None; "The plaintext JSON payload"),
    Text => ("tuya.text", "Device message", Str, None; "A plaintext payload that is text, not JSON (e.g. \"json obj data unvalid\" after return code 1)"),
    DevId => ("tuya.dev_id", "Device id", Str, None; "devId (or gwId) in the JSON payload"),
    Dp => ("tuya.dp", "Datapoint", None, None),
    DpId => ("tuya.dp.id", "Datapoint id", U32, Dec),
    DpValue => ("tuya.dp.value", "Datapoint value", Str, None; "The value as JSON text (strings without quotes)"),
    GwId => ("tuya.gw_id", "Gateway id", Str, None; "Device id announced in discovery (gwId)"),
    Ip => ("tuya.ip", "Device IP", Ipv4, None; "IP address announced in discovery"),
    ProductKey => ("tuya.product_key", "Product key", Str, None),
    Checksum => ("tuya.checksum", "CRC32", U32, Hex),
    Hmac => ("tuya.hmac", "HMAC-SHA256", Bytes, None),
    Tag => ("tuya.tag", "AES-GCM tag", Bytes, None),
    ChecksumStatus => ("tuya.checksum.status", "Checksum status", U8, None, CHECKSUM_STATUS_NAMES; "CRC32, HMAC or GCM tag: Bad, Good, Unverified (no key)"),
    Suffix => ("tuya.suffix", "Suffix", U32, Hex),
}

experts! { pub Expert, EXPERTS;
    BadChecksum => ("tuya.checksum.bad", Checksum, Error, "Bad checksum"),
    KeyNeeded => ("tuya.key_needed", Decryption, Warn, "Encrypted payload: a local key for this device would decrypt it"),
    SessionKeyUnknown => ("tuya.session_key_unknown", Decryption, Warn, "Encrypted with a session key negotiated before the capture started"),
    DecryptFailed => ("tuya.decrypt_failed", Decryption, Warn, "The payload did not decrypt"),
    BadProof => ("tuya.bad_proof", Security, Error, "Signature or nonce HMAC does not match the key"),
    NotJson => ("tuya.not_json", Malformed, Warn, "Decrypted payload is not JSON"),
    TextMessage => ("tuya.text_message", Protocol, Note, "The device answered with a text message, not JSON"),
}

static KEYS: TableSpec = TableSpec {
    name: "tuya_keys",
    title: "Tuya local keys",
    help: "Local keys of Tuya devices: device id (gwId/devId) and its 16-character local key",
    columns: &[
        ColumnSpec { name: "dev_id", title: "Device ID", description: "Tuya device id (gwId / devId)" },
        ColumnSpec { name: "local_key", title: "Local key", description: "The device's 16-character local key" },
    ],
};

/// Discovery: 6666 plain (3.1), 6667 encrypted (3.3+), 7000 (requests a device answers).
pub const DISCOVERY_PORTS: [PortRange; 2] = [PortRange { first: 6666, last: 6667 }, PortRange::one(7000)];

static SPEC: ProtocolSpec = ProtocolSpec {
    name: "Tuya local protocol",
    short_name: "Tuya",
    filter_name: "tuya",
    fields: FIELDS,
    experts: EXPERTS,
    udp_ports: &DISCOVERY_PORTS,
    tcp_ports: &[PortRange::one(session::DEVICE_PORT)],
    heuristic_udp: true,
    heuristic_tcp: true,
    tcp_header_len: frame::HEADER_6699 as u32,
    // Discovery broadcasts: decrypted with the public key, they teach the
    // id the device already announced for its address.
    datagrams_repeat_alike: true,
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
        keys::check_row(row)
    }

    fn set_table(&self, rows: Vec<Vec<String>>) {
        keys::set(keys::rows_from_table(rows));
    }

    fn dissect(&self, pkt: &Packet, data: &[u8], state: &mut State, t: &mut Tree) -> bool {
        dissect_with_keys(pkt, data, state, t, &keys::current())
    }
}

/// [`Tuya::dissect`] with an explicit key table.
pub fn dissect_with_keys(pkt: &Packet, data: &[u8], state: &mut State, t: &mut Tree, table: &[KeyRow]) -> bool {
    if data.first() == Some(&b'{') {
        // 3.1 discovery on UDP 6666 may be bare JSON.
        let facts = add_json(t, Span::wire(0, data.len()), data).map(Learned::from);
        learn_announcement(pkt, state, facts);
        return true;
    }
    let frame = match frame::parse(data) {
        Ok(f) => f,
        Err(e) if frame::framing_of(data).is_some() => {
            t.info(format!("Malformed frame: {e}"));
            t.wire(Field::Prefix, frame::PREFIX_AT.0, frame::PREFIX_AT.1, Enc::Big);
            t.malformed(e.to_string());
            return true;
        }
        Err(_) => return false,
    };
    header(t, &frame);
    if pkt.transport == Transport::Udp {
        dissect_datagram(pkt, data, &frame, state, t);
    } else {
        dissect_stream(pkt, data, &frame, state, t, table);
    }
    let (at, len) = frame.suffix_at();
    t.wire(Field::Suffix, at, len, Enc::Big);
    true
}

fn header(t: &mut Tree, f: &Frame) {
    let wire = |t: &mut Tree, field: Field, (at, len): frame::At| {
        t.wire(field, at, len, Enc::Big);
    };
    wire(t, Field::Prefix, frame::PREFIX_AT);
    if f.framing == Framing::V6699 {
        wire(t, Field::Reserved, frame::RESERVED_6699_AT);
    }
    wire(t, Field::Seq, f.seq_at());
    wire(t, Field::Cmd, f.cmd_at());
    wire(t, Field::Length, f.length_at());
    if t.wants_text() {
        t.summary(format!(", {} seq={}", commands::name(f.cmd), f.seq));
        t.info(format!("{} seq={}", commands::name(f.cmd), f.seq));
    }
}

// ---- UDP: discovery -------------------------------------------------------

fn dissect_datagram(pkt: &Packet, data: &[u8], f: &Frame, state: &mut State, t: &mut Tree) {
    let facts = match f.framing {
        Framing::V55aa => {
            let (at, end) = crc_payload_range(data, f);
            add_retcode(t, data, f, at);
            let facts = crc_payload(t, at, &data[at..end], Ok(discovery_key()), None);
            crc_trailer(t, data, end);
            facts
        }
        Framing::V6699 => gcm_frame(t, data, f, Ok(discovery_key()), true, None),
    };
    if let Some(l) = facts.as_ref().filter(|_| t.wants_device()) {
        let ip = l.announced_ip.or(pkt.src);
        let mut list = device_facts(l.dev_id.as_deref(), None);
        list.extend(l.product_key.as_ref().map(|k| format!("product key {k}")));
        list.extend(l.announced_version.as_ref().map(|v| format!("version {v}")));
        let key = if t.sources.is_empty() { KeyState::NotNeeded } else { KeyState::Public };
        device_stat(t, ip, list, key);
    }
    learn_announcement(pkt, state, facts);
}

/// Remembers which device id an announcing device has, for key choice.
fn learn_announcement(pkt: &Packet, state: &mut State, facts: Option<Learned>) {
    let Some(Learned { dev_id: Some(id), announced_ip, .. }) = &facts else { return };
    if let (Some(ip), false) = (announced_ip.or(pkt.src), pkt.visited) {
        state.capture.get::<Devices>().learn(ip, id, pkt.frame);
    }
}

// ---- TCP: sessions ---------------------------------------------------------

fn dissect_stream(pkt: &Packet, data: &[u8], f: &Frame, state: &mut State, t: &mut Tree, table: &[KeyRow]) {
    let digest = crc32fast::hash(&data[..f.total_len()]);
    let conv = state.conversation.get::<Conversation>();
    let devices = state.capture.get::<Devices>();
    let from_device = conv.from_device(pkt);
    let device_ip = if from_device { pkt.src } else { pkt.dst };
    let ctx = conv.context(pkt, digest, |ctx| choose_key(table, devices, device_ip, data, f, ctx));
    let learned = match protection(data, f, ctx.version) {
        Protection::Gcm => {
            t.generated(Field::Version, Span::wire(0, 4), Value::Str(Version::V35.as_str().into()));
            let mut l = gcm_frame(t, data, f, frame_key(&ctx, f.cmd), from_device, Some((&ctx, Version::V35)));
            l.get_or_insert_with(Default::default).version = Some(Version::V35);
            l
        }
        Protection::Hmac => {
            t.generated(Field::Version, Span::wire(0, 4), Value::Str(Version::V34.as_str().into()));
            let mut l = hmac_frame(t, data, f, &ctx);
            l.get_or_insert_with(Default::default).version = Some(Version::V34);
            l
        }
        Protection::Crc => {
            let (at, end) = crc_payload_range(data, f);
            add_retcode(t, data, f, at);
            let key = ctx.local.as_deref().map(local_key).ok_or(Expert::KeyNeeded);
            let l = crc_payload(t, at, &data[at..end], key, ctx.version);
            crc_trailer(t, data, end);
            l
        }
    };
    if t.wants_device() {
        let known_id = ctx.local.as_ref().map(|l| l.dev_id.clone()).or_else(|| {
            let from_capture = device_ip.and_then(|ip| devices.get(ip)).map(|(id, _)| id.to_string());
            from_capture.or_else(|| learned.as_ref().and_then(|l| l.dev_id.clone()))
        });
        let version = learned.as_ref().and_then(|l| l.version).or(ctx.version);
        let key = if ctx.local.is_some() { KeyState::Configured } else { KeyState::NotNeeded };
        device_stat(t, device_ip, device_facts(known_id.as_deref(), version), key);
    }
    let Some(learned) = learned else { return };
    if let (Some(id), Some(ip), false) = (&learned.dev_id, device_ip, pkt.visited) {
        devices.learn(ip, id, pkt.frame);
    }
    conv.learn(pkt, f.cmd, &learned);
}

#[cfg(test)]
mod tests;
