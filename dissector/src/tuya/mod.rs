//! Tuya local protocol (`tuya`): discovery broadcasts on UDP 6666/6667/7000
//! and device sessions on TCP 6668, protocol versions 3.1 to 3.5, decrypted
//! with the local keys of the `tuya_keys` table.

pub mod commands;
pub mod discovery;
pub mod frame;
pub mod keys;
pub mod payload;
pub mod session;

use std::net::IpAddr;
use std::sync::Arc;

use crate::crypto::{ecb_decrypt, hex, hmac_sha256};
use crate::json;
use crate::spec::{ColumnSpec, ProtocolSpec, TableSpec};
use crate::tree::{ChecksumStatus, Enc, KeyState, PayloadState, Span, Tree, Value, CHECKSUM_STATUS_NAMES};
use crate::{experts, fields, Dissector, Packet, PduLen, State, Transport};
use frame::{Frame, Framing, GcmParts};
use keys::KeyRow;
use payload::{Version, NONCE_LEN, PROOF_LEN, V31_SIGNATURE_LEN, VERSION_HEADER_LEN};
use session::{Context, Conversation, Devices, Learned, LocalKey};

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
            t.wire(Field::Prefix, 0, 4, Enc::Big);
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
    t.wire(Field::Suffix, frame.suffix, 4, Enc::Big);
    true
}

fn header(t: &mut Tree, f: &Frame) {
    let (seq, cmd, len) = match f.framing {
        Framing::V55aa => (4, 8, 12),
        Framing::V6699 => (6, 10, 14),
    };
    t.wire(Field::Prefix, 0, 4, Enc::Big);
    if f.framing == Framing::V6699 {
        t.wire(Field::Reserved, 4, 2, Enc::Big);
    }
    t.wire(Field::Seq, seq, 4, Enc::Big);
    t.wire(Field::Cmd, cmd, 4, Enc::Big);
    t.wire(Field::Length, len, 4, Enc::Big);
    t.summary(format!(", {} seq={}", commands::name(f.cmd), f.seq));
    t.info(format!("{} seq={}", commands::name(f.cmd), f.seq));
}

// ---- what protects a frame, and with which key -----------------------------

/// The integrity check that closes a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protection {
    /// CRC32 (3.1-3.3, discovery).
    Crc,
    /// HMAC-SHA256 with the local or session key (3.4).
    Hmac,
    /// AES-GCM tag (3.5, 6699 frames).
    Gcm,
}

/// A 55AA frame whose last 4 bytes are not its CRC32 is taken as 3.4
/// (HMAC trailer), unless the conversation is known to be 3.1-3.3 (then
/// the CRC is simply bad).
fn protection(data: &[u8], f: &Frame, known: Option<Version>) -> Protection {
    match f.framing {
        Framing::V6699 => Protection::Gcm,
        Framing::V55aa if frame::crc_matches(data, f) => Protection::Crc,
        Framing::V55aa if known.is_none_or(Version::negotiates) && f.suffix >= f.body + frame::HMAC_LEN => {
            Protection::Hmac
        }
        Framing::V55aa => Protection::Crc,
    }
}

/// A key to decrypt with, and a description for the tree.
struct UseKey {
    key: [u8; 16],
    what: String,
}

/// The key of a 3.4/3.5 frame: the local key for the negotiation, the
/// session key after it; or the expert that says what is missing.
fn frame_key(ctx: &Context, cmd: u32) -> Result<UseKey, Expert> {
    let local = ctx.local.as_deref().ok_or(Expert::KeyNeeded)?;
    if payload::is_handshake(cmd) || !ctx.version.is_some_and(Version::negotiates) {
        return Ok(local_key(local));
    }
    let session = ctx.session.ok_or(Expert::SessionKeyUnknown)?;
    Ok(UseKey {
        key: session.key,
        what: format!(
            "session key {} negotiated in frame {} (local key of {}, found {})",
            hex(&session.key),
            session.frame,
            local.dev_id,
            local.how
        ),
    })
}

fn local_key(local: &LocalKey) -> UseKey {
    UseKey { key: local.key, what: format!("local key of {}, found {}", local.dev_id, local.how) }
}

fn discovery_key() -> UseKey {
    UseKey {
        key: discovery::udp_key(),
        what: format!("public discovery key {} (md5 of \"yGAdlopoPVldABfn\")", hex(&discovery::udp_key())),
    }
}

/// Picks the local key of a conversation: by the device id known for the
/// device's address, else the first key of the table that verifies this
/// frame.
fn choose_key(table: &[KeyRow], devices: &Devices, device_ip: Option<IpAddr>, data: &[u8], f: &Frame, ctx: &Context) -> Option<Arc<LocalKey>> {
    if let Some((ip, (id, frame))) = device_ip.and_then(|ip| devices.get(ip).map(|d| (ip, d))) {
        if let Some(row) = table.iter().find(|r| r.dev_id == id) {
            let how = format!("by device id: {ip} is {id} (frame {frame})");
            return Some(Arc::new(LocalKey { dev_id: row.dev_id.clone(), key: row.key, how }));
        }
    }
    table.iter().find_map(|row| {
        let check = key_fits(data, f, &row.key, ctx.version)?;
        Some(Arc::new(LocalKey { dev_id: row.dev_id.clone(), key: row.key, how: format!("by trial: {check}") }))
    })
}

/// Whether `key` is this frame's local key: its GCM tag or HMAC verifies,
/// its 3.1 signature matches, or its payload decrypts to JSON.
fn key_fits(data: &[u8], f: &Frame, key: &[u8; 16], known: Option<Version>) -> Option<&'static str> {
    match protection(data, f, known) {
        Protection::Gcm => GcmParts::of(f).open(data, key).map(|_| "the GCM tag verifies"),
        Protection::Hmac => {
            let mac_at = f.suffix - frame::HMAC_LEN;
            (hmac_sha256(key, &[&data[..mac_at]])[..] == data[mac_at..f.suffix]).then_some("the HMAC verifies")
        }
        Protection::Crc => {
            let (at, end) = crc_payload_range(data, f);
            match CrcPayload::of(&data[at..end]) {
                CrcPayload::V31Control => {
                    let (sig, b64) = data[at + 3..end].split_at(V31_SIGNATURE_LEN);
                    (payload::v31_signature(key, b64)[..] == *sig).then_some("the 3.1 signature verifies")
                }
                CrcPayload::Encrypted(header) => {
                    let skip = if header.is_some() { VERSION_HEADER_LEN } else { 0 };
                    let plain = ecb_decrypt(key, &data[at + skip..end]).ok()?;
                    let body = &plain[payload::layout(&plain, true).body..];
                    match json::parse_object(body) {
                        Some(_) => Some("the payload decrypts to JSON"),
                        None => payload::device_text(body).map(|_| "the payload decrypts to text"),
                    }
                }
                CrcPayload::Empty | CrcPayload::Json | CrcPayload::Text => None,
            }
        }
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
    if let Some(l) = &facts {
        let ip = l.announced_ip.or(pkt.src);
        let mut list = device_facts(l.dev_id.as_deref(), None);
        list.extend(l.product_key.as_ref().map(|k| format!("product key {k}")));
        list.extend(l.announced_version.as_ref().map(|v| format!("version {v}")));
        let key = if t.sources.is_empty() { KeyState::NotNeeded } else { KeyState::Public };
        device_stat(t, ip, list, key);
    }
    learn_announcement(pkt, state, facts);
}

/// "id …" and "version …" facts for the device view.
fn device_facts(dev_id: Option<&str>, version: Option<Version>) -> Vec<String> {
    let mut facts: Vec<String> = dev_id.map(|id| format!("id {id}")).into_iter().collect();
    facts.extend(version.map(|v| format!("version {}", v.as_str())));
    facts
}

/// Records the frame in the device view; the payload's fate is read off the
/// experts and data sources the dissection added.
fn device_stat(t: &mut Tree, ip: Option<IpAddr>, facts: Vec<String>, key: KeyState) {
    let payload = if t.has_expert(Expert::DecryptFailed) || t.has_expert(Expert::BadProof) {
        PayloadState::Failed
    } else if t.has_expert(Expert::KeyNeeded) || t.has_expert(Expert::SessionKeyUnknown) {
        PayloadState::Unchecked
    } else if !t.sources.is_empty() {
        PayloadState::Decrypted
    } else {
        PayloadState::None
    };
    let key = match (key, payload) {
        (KeyState::NotNeeded, PayloadState::Unchecked) => KeyState::Needed,
        (k, _) => k,
    };
    let device = ip.map_or_else(|| "address unknown".to_string(), |ip| ip.to_string());
    t.device(device, facts, key, payload);
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
    let known_id = ctx.local.as_ref().map(|l| l.dev_id.clone()).or_else(|| {
        let from_capture = device_ip.and_then(|ip| devices.get(ip)).map(|(id, _)| id.to_string());
        from_capture.or_else(|| learned.as_ref().and_then(|l| l.dev_id.clone()))
    });
    let version = learned.as_ref().and_then(|l| l.version).or(ctx.version);
    let key = if ctx.local.is_some() { KeyState::Configured } else { KeyState::NotNeeded };
    device_stat(t, device_ip, device_facts(known_id.as_deref(), version), key);
    let Some(learned) = learned else { return };
    if let (Some(id), Some(ip), false) = (&learned.dev_id, device_ip, pkt.visited) {
        devices.learn(ip, id, pkt.frame);
    }
    conv.learn(pkt, f.cmd, &learned);
}

// ---- 3.1-3.3 and discovery: CRC32 frames -------------------------------------

/// What a CRC-protected payload holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CrcPayload {
    Empty,
    Json,
    /// Clear text that is not JSON: a device's error message.
    Text,
    /// `"3.1"` + 16-char md5 slice + base64(AES-ECB(JSON)).
    V31Control,
    /// AES-ECB ciphertext, after a clear version header or not.
    Encrypted(Option<Version>),
}

impl CrcPayload {
    fn of(payload: &[u8]) -> CrcPayload {
        match payload.first() {
            None => CrcPayload::Empty,
            Some(b'{') => CrcPayload::Json,
            _ if payload.starts_with(b"3.1") && payload.len() > 3 + V31_SIGNATURE_LEN => CrcPayload::V31Control,
            _ => match payload::version_header(payload) {
                None if payload::device_text(payload).is_some() => CrcPayload::Text,
                header => CrcPayload::Encrypted(header),
            },
        }
    }
}

/// The payload of a CRC frame: after the retcode (if any), before the CRC.
fn crc_payload_range(data: &[u8], f: &Frame) -> (usize, usize) {
    let end = f.suffix - frame::CRC_LEN;
    let at = if frame::has_retcode(&data[f.body..end]) { f.body + 4 } else { f.body };
    (at, end)
}

fn add_retcode(t: &mut Tree, data: &[u8], f: &Frame, payload_at: usize) {
    if payload_at > f.body {
        t.wire(Field::Retcode, f.body, 4, Enc::Big);
        retcode_info(t, crate::wire::be32(data, f.body));
    }
}

/// Names a non-zero return code in the Info column.
fn retcode_info(t: &mut Tree, code: Option<u32>) {
    let Some(code) = code.filter(|&c| c != 0) else { return };
    let name = payload::RETCODE_NAMES.iter().find(|(v, _)| *v == code).map_or("unknown", |(_, n)| n);
    let base = t.info.take().unwrap_or_default();
    t.info(format!("{base} retcode={code} ({name})"));
}

fn crc_trailer(t: &mut Tree, data: &[u8], crc_at: usize) {
    let crc = frame::crc32(&data[..crc_at]);
    let status = ChecksumStatus::from_match(crate::wire::be32(data, crc_at) == Some(crc));
    let span = Span::wire(crc_at, frame::CRC_LEN);
    t.checksum(Field::Checksum, Field::ChecksumStatus, Expert::BadChecksum, span, status, Some(format!("0x{crc:08x}")));
}

/// Dissects a 3.1-3.3 (or discovery) payload at `at` with `key`.
fn crc_payload(t: &mut Tree, at: usize, payload: &[u8], key: Result<UseKey, Expert>, known: Option<Version>) -> Option<Learned> {
    let kind = CrcPayload::of(payload);
    let version = match kind {
        CrcPayload::V31Control => Some(Version::V31),
        CrcPayload::Encrypted(Some(v)) => Some(v),
        _ => known,
    };
    if let Some(v) = version {
        t.generated(Field::Version, Span::wire(at, 0), Value::Str(v.as_str().into()));
    }
    let mut learned = match kind {
        CrcPayload::Empty => return None,
        CrcPayload::Json => add_json(t, Span::wire(at, payload.len()), payload).map(Learned::from),
        CrcPayload::Text => {
            add_device_text(t, Span::wire(at, payload.len()), payload);
            None
        }
        CrcPayload::V31Control => v31_control(t, at, payload, key),
        CrcPayload::Encrypted(header) => {
            let mut ct_at = at;
            if let Some(v) = header {
                t.field(Field::VersionHeader, Span::wire(at, VERSION_HEADER_LEN), Value::Str(v.as_str().into()));
                ct_at += VERSION_HEADER_LEN;
            }
            let ct = &payload[ct_at - at..];
            t.wire(Field::Payload, ct_at, ct.len(), Enc::Na);
            match key {
                Ok(k) => {
                    t.generated(Field::Key, Span::wire(ct_at, ct.len()), Value::Str(k.what));
                    match ecb_decrypt(&k.key, ct) {
                        Ok(plain) => plaintext(t, plain, 0, false, None),
                        Err(e) => {
                            t.expert(Expert::DecryptFailed, Some(format!("AES-ECB: {e}")));
                            None
                        }
                    }
                }
                Err(missing) => {
                    t.expert(missing, None);
                    None
                }
            }
        }
    };
    if let (Some(l), Some(v)) = (learned.as_mut(), version) {
        l.version = Some(v);
    }
    learned
}

/// 3.1 CONTROL: `"3.1"` + md5 slice + base64(AES-ECB(key, JSON)).
fn v31_control(t: &mut Tree, at: usize, payload: &[u8], key: Result<UseKey, Expert>) -> Option<Learned> {
    let (sig, b64) = payload[3..].split_at(V31_SIGNATURE_LEN);
    let b64_at = at + 3 + V31_SIGNATURE_LEN;
    t.field(Field::VersionHeader, Span::wire(at, 3), Value::Wire(Enc::Ascii));
    t.field(Field::Signature, Span::wire(at + 3, V31_SIGNATURE_LEN), Value::Wire(Enc::Ascii));
    let key = match key {
        Ok(k) => k,
        Err(missing) => {
            t.wire(Field::Payload, b64_at, b64.len(), Enc::Na);
            t.expert(missing, None);
            return None;
        }
    };
    let want = payload::v31_signature(&key.key, b64);
    if want[..] == *sig {
        t.append(" [correct]");
    } else {
        t.append(format!(" incorrect, should be {}", String::from_utf8_lossy(&want)));
        t.expert(Expert::BadProof, Some("The 3.1 signature does not match the key".into()));
    }
    t.wire(Field::Payload, b64_at, b64.len(), Enc::Na);
    t.generated(Field::Key, Span::wire(b64_at, b64.len()), Value::Str(key.what));
    match payload::v31_decrypt(&key.key, b64) {
        Ok(plain) => plaintext(t, plain, commands::CONTROL, false, None),
        Err(e) => {
            t.expert(Expert::DecryptFailed, Some(format!("3.1 payload: {e}")));
            None
        }
    }
}

// ---- 3.4: HMAC frames -------------------------------------------------------

fn hmac_frame(t: &mut Tree, data: &[u8], f: &Frame, ctx: &Context) -> Option<Learned> {
    let mac_at = f.suffix - frame::HMAC_LEN;
    let mut at = f.body;
    if frame::has_retcode(&data[at..mac_at]) {
        t.wire(Field::Retcode, at, 4, Enc::Big);
        at += 4;
    }
    let ct = &data[at..mac_at];
    t.wire(Field::Payload, at, ct.len(), Enc::Na);
    let key = frame_key(ctx, f.cmd);
    let mut plain = None;
    let status = match &key {
        Ok(k) => {
            t.generated(Field::Key, Span::wire(at, ct.len()), Value::Str(k.what.clone()));
            if !ct.is_empty() {
                match ecb_decrypt(&k.key, ct) {
                    Ok(p) => plain = Some(p),
                    Err(e) => {
                        t.expert(Expert::DecryptFailed, Some(format!("AES-ECB: {e}")));
                    }
                }
            }
            let mac = hmac_sha256(&k.key, &[&data[..mac_at]]);
            Some((ChecksumStatus::from_match(mac[..] == data[mac_at..f.suffix]), hex(&mac)))
        }
        Err(missing) => {
            t.expert(*missing, None);
            None
        }
    };
    let (status, computed) = status.map_or((ChecksumStatus::Unverified, None), |(s, c)| (s, Some(c)));
    let span = Span::wire(mac_at, frame::HMAC_LEN);
    t.checksum(Field::Hmac, Field::ChecksumStatus, Expert::BadChecksum, span, status, computed);
    let local = ctx.local.as_deref().map(|l| l.key);
    plaintext(t, plain?, f.cmd, false, local.map(|k| (ctx, Version::V34, k)))
}

// ---- 3.5 and 6699 discovery: AES-GCM frames --------------------------------

/// Dissects a 6699 frame; `session` is the conversation context and
/// version for TCP frames (`None` for discovery).
fn gcm_frame(
    t: &mut Tree,
    data: &[u8],
    f: &Frame,
    key: Result<UseKey, Expert>,
    retcode: bool,
    session: Option<(&Context, Version)>,
) -> Option<Learned> {
    let parts = GcmParts::of(f);
    t.wire(Field::Iv, parts.iv, frame::GCM_IV_LEN, Enc::Na);
    let ct_len = parts.tag - parts.ciphertext;
    t.wire(Field::Payload, parts.ciphertext, ct_len, Enc::Na);
    let (plain, status) = match key {
        Ok(k) => {
            t.generated(Field::Key, Span::wire(parts.ciphertext, ct_len), Value::Str(k.what));
            let plain = parts.open(data, &k.key);
            if plain.is_none() {
                t.expert(Expert::DecryptFailed, Some("The GCM tag does not verify with this key".into()));
            }
            let status = ChecksumStatus::from_match(plain.is_some());
            (plain.map(|p| (p, k.key)), status)
        }
        Err(missing) => {
            t.expert(missing, None);
            (None, ChecksumStatus::Unverified)
        }
    };
    let span = Span::wire(parts.tag, frame::GCM_TAG_LEN);
    t.checksum(Field::Tag, Field::ChecksumStatus, Expert::BadChecksum, span, status, None);
    let (plain, _) = plain?;
    let local = session.and_then(|(ctx, v)| Some((ctx, v, ctx.local.as_deref()?.key)));
    plaintext(t, plain, f.cmd, retcode, local)
}

// ---- decrypted payloads ----------------------------------------------------

/// Shows a decrypted payload as its own data source: return code and
/// version header if present, then the negotiation data (with `session`:
/// conversation context, version and local key) or the JSON.
fn plaintext(
    t: &mut Tree,
    plain: Vec<u8>,
    cmd: u32,
    retcode: bool,
    session: Option<(&Context, Version, [u8; 16])>,
) -> Option<Learned> {
    let layout = payload::layout(&plain, retcode);
    let src = t.add_source("Decrypted Tuya payload", plain);
    // Borrow the bytes back while the tree grows (no copy).
    let bytes = std::mem::take(&mut t.sources[src as usize - 1].bytes);
    if layout.retcode {
        t.field(Field::Retcode, Span::of(src, 0, 4), Value::Wire(Enc::Big));
        retcode_info(t, crate::wire::be32(&bytes, 0));
    }
    if let Some(v) = layout.header {
        let span = Span::of(src, layout.body - VERSION_HEADER_LEN, VERSION_HEADER_LEN);
        t.field(Field::VersionHeader, span, Value::Str(v.as_str().into()));
    }
    let body = &bytes[layout.body..];
    let learned = match session {
        Some((ctx, version, local)) if payload::is_handshake(cmd) => {
            Some(negotiation(t, src, layout.body, body, cmd, ctx, version, &local))
        }
        _ => add_json(t, Span::of(src, layout.body, body.len()), body).map(Learned::from),
    };
    t.sources[src as usize - 1].bytes = bytes;
    learned
}

/// The session key negotiation (3.4, 3.5), its payload at `at` in `src`:
/// START = client nonce; RESP = device nonce + HMAC(local key, client
/// nonce); FINISH = HMAC(local key, device nonce).
#[allow(clippy::too_many_arguments)]
fn negotiation(t: &mut Tree, src: u32, at: usize, body: &[u8], cmd: u32, ctx: &Context, version: Version, local: &[u8; 16]) -> Learned {
    let mut learned = Learned::default();
    let need = match cmd {
        commands::SESS_KEY_NEG_START => NONCE_LEN,
        commands::SESS_KEY_NEG_RESP => NONCE_LEN + PROOF_LEN,
        _ => PROOF_LEN,
    };
    if body.len() < need {
        t.malformed(format!("{} carries {} bytes, not {need}", commands::name(cmd), body.len()));
        return learned;
    }
    let nonce = |b: &[u8]| -> [u8; 16] { b[..NONCE_LEN].try_into().expect("16 bytes") };
    let proof = |t: &mut Tree, proof_at: usize, of: Option<[u8; 16]>, whose: &str| {
        t.field(Field::NonceHmac, Span::of(src, at + proof_at, PROOF_LEN), Value::Wire(Enc::Na));
        if let Some(n) = of {
            if payload::nonce_proof(local, &n)[..] == body[proof_at..proof_at + PROOF_LEN] {
                t.append(format!(" [correct HMAC of the {whose} nonce]"));
            } else {
                t.expert(Expert::BadProof, Some(format!("Not the HMAC of the {whose} nonce under this local key")));
            }
        }
    };
    match cmd {
        commands::SESS_KEY_NEG_START => {
            t.field(Field::Nonce, Span::of(src, at, NONCE_LEN), Value::Wire(Enc::Na));
            t.append(" (client)");
            learned.client_nonce = Some(nonce(body));
        }
        commands::SESS_KEY_NEG_RESP => {
            let device = nonce(body);
            t.field(Field::Nonce, Span::of(src, at, NONCE_LEN), Value::Wire(Enc::Na));
            t.append(" (device)");
            proof(t, NONCE_LEN, ctx.client_nonce, "client");
            learned.device_nonce = Some(device);
            if let Some(client) = ctx.client_nonce {
                let key = payload::session_key(version, local, &client, &device);
                t.generated(Field::SessionKey, Span::of(src, at, NONCE_LEN + PROOF_LEN), Value::Bytes(key.to_vec()));
                learned.session_key = Some(key);
            }
        }
        _ => proof(t, 0, ctx.device_nonce, "device"),
    }
    learned
}

impl From<discovery::Announcement> for Learned {
    fn from(a: discovery::Announcement) -> Learned {
        let announced_ip = a.ip.as_deref().and_then(|s| s.parse::<IpAddr>().ok());
        Learned {
            dev_id: a.dev_id.or(a.gw_id),
            announced_ip,
            product_key: a.product_key,
            announced_version: a.version,
            ..Learned::default()
        }
    }
}

/// Adds the JSON text, the well-known values and datapoints in it, and
/// hands it to Wireshark's JSON dissector.
fn add_json(t: &mut Tree, span: Span, bytes: &[u8]) -> Option<discovery::Announcement> {
    let Some((len, map)) = json::parse_object(bytes) else {
        if !add_device_text(t, span, bytes) {
            t.expert(Expert::NotJson, None);
        }
        return None;
    };
    let text_span = span.sub(0, len);
    t.field(Field::Json, text_span, Value::Wire(Enc::Utf8));
    let a = discovery::Announcement::from_json(&map);
    let raw = &bytes[..len];
    let at = |key: &str| json::value_span(raw, key).map_or(text_span, |(o, l)| span.sub(o, l));
    if let Some(v) = a.dev_id.as_ref().or(a.gw_id.as_ref()) {
        let key = if a.dev_id.is_some() { "devId" } else { "gwId" };
        t.field(Field::DevId, at(key), Value::Str(v.clone()));
    }
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
    add_datapoints(t, raw, span, &map);
    if a.gw_id.is_some() && a.ip.is_some() {
        t.info(a.info());
    }
    t.call("json", text_span);
    Some(a)
}

/// A payload that is the device's text message (checked by its CRC, HMAC
/// or tag like any other): shown as `tuya.text` and in the Info column.
/// False when the bytes are not text.
fn add_device_text(t: &mut Tree, span: Span, bytes: &[u8]) -> bool {
    let Some(text) = payload::device_text(bytes) else { return false };
    t.field(Field::Text, span.sub(0, text.len()), Value::Str(text.to_string()));
    t.expert(Expert::TextMessage, None);
    let base = t.info.take().unwrap_or_default();
    t.info(format!("{base} \"{text}\""));
    true
}

/// One `tuya.dp` item per datapoint of `dps` (top level, or inside `data`
/// as 3.4+ CONTROL_NEW and pushes have it); the Info column lists them.
fn add_datapoints(t: &mut Tree, raw: &[u8], span: Span, map: &serde_json::Map<String, serde_json::Value>) {
    let located = |text: &[u8], key: &str, base: usize| json::value_span(text, key).map(|(o, l)| (base + o, l));
    let (dps, (dps_at, dps_len)) = match (map.get("dps"), map.get("data")) {
        (Some(serde_json::Value::Object(d)), _) => (d, located(raw, "dps", 0).unwrap_or((0, raw.len()))),
        (_, Some(serde_json::Value::Object(data))) => match data.get("dps") {
            Some(serde_json::Value::Object(d)) => {
                let (o, l) = located(raw, "data", 0).unwrap_or((0, raw.len()));
                (d, located(&raw[o..o + l], "dps", o).unwrap_or((o, l)))
            }
            _ => return,
        },
        _ => return,
    };
    let dps_text = &raw[dps_at..dps_at + dps_len];
    let mut info = String::new();
    for (id, value) in dps {
        let (o, l) = located(dps_text, id, dps_at).unwrap_or((dps_at, dps_len));
        let shown = json::display(value);
        t.field(Field::Dp, span.sub(o, l), Value::Wire(Enc::Na));
        t.append(format!(": {id} = {shown}"));
        t.subtree(|t| {
            if let Ok(n) = id.parse::<u32>() {
                t.generated(Field::DpId, span.sub(o, l), Value::Uint(n.into()));
            }
            t.generated(Field::DpValue, span.sub(o, l), Value::Str(shown.clone()));
        });
        info.push_str(&format!(" {id}={shown}"));
    }
    if !info.is_empty() {
        let base = t.info.take().unwrap_or_default();
        t.info(format!("{base} dps:{info}"));
    }
}

#[cfg(test)]
mod tests {
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
            let mut t = Tree::new();
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
}
