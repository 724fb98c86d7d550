//! Xiaomi miIO (`miio`): the LAN protocol on UDP 54321 and the same framing
//! on the cloud channel (ot.io.mi.com: UDP 8053, TCP 80 through the
//! heuristic). Payloads decrypt with a token from the `miio_tokens` table
//! or one a device leaked in a hello reply earlier in the capture.

pub mod frame;
pub mod tokens;
pub mod transactions;

use crate::crypto::hex;
use crate::json;
use crate::spec::{self, ColumnSpec, PortRange, ProtocolSpec, TableSpec};
use crate::tree::{ChecksumStatus, Enc, KeyState, PayloadState, Span, Tree, Value, CHECKSUM_STATUS_NAMES};
use crate::{experts, fields, Dissector, Packet, PduLen, State};
use frame::{FrameError, Header, HelloKind, Token};
use tokens::{Learnt, Origin};
use transactions::{Link, Transactions};

static HELLO_NAMES: &[(u32, &str)] = &[(HelloKind::Hello as u32, "Hello"), (HelloKind::Reply as u32, "Hello reply")];

fields! { pub Field, FIELDS;
    Magic => ("miio.magic", "Magic", U16, Hex),
    Length => ("miio.length", "Length", U16, Dec; "Whole message, header included"),
    Unknown => ("miio.unknown", "Unknown", U32, Hex; "0, or FFFFFFFF in hellos"),
    DeviceId => ("miio.device_id", "Device ID", U32, Hex),
    Stamp => ("miio.stamp", "Stamp", U32, Dec; "Seconds since the device booted"),
    Checksum => ("miio.checksum", "Checksum", Bytes, None; "MD5(header[0:16] + token + payload)"),
    ChecksumStatus => ("miio.checksum.status", "Checksum status", U8, None, CHECKSUM_STATUS_NAMES),
    Hello => ("miio.hello", "Hello", U8, Dec, HELLO_NAMES; "A 32-byte hello (device id all ones) or hello reply"),
    Token => ("miio.token", "Leaked token", Bytes, None; "The device token, given away in a hello reply"),
    Payload => ("miio.payload", "Encrypted payload", Bytes, None),
    Key => ("miio.key", "Token used", Str, None; "Which token decrypted the payload, and where it came from"),
    KeyLearntIn => ("miio.key.learnt_in", "Token learnt in", Frame, None; "The hello reply that leaked the token used"),
    Json => ("miio.json", "JSON", Str, None; "The decrypted JSON payload"),
    Id => ("miio.id", "Message id", U64, Dec),
    Method => ("miio.method", "Method", Str, None),
    Params => ("miio.params", "Params", Str, None),
    Result => ("miio.result", "Result", Str, None),
    Error => ("miio.error", "Error", Str, None),
    ResponseIn => ("miio.response_in", "Response in", Frame, None),
    RequestIn => ("miio.request_in", "Request in", Frame, None),
    Time => ("miio.time", "Response time", Duration, None; "Time since the request"),
}

experts! { pub Expert, EXPERTS;
    BadChecksum => ("miio.checksum.bad", Checksum, Error, "Bad checksum"),
    WrongToken => ("miio.wrong_token", Decryption, Warn, "The checksum does not verify with the token: wrong token or corrupted message"),
    TokenNeeded => ("miio.token_needed", Decryption, Warn, "Encrypted payload: a token for this device (miio_tokens table) would decrypt it"),
    TokenLeaked => ("miio.token_leaked", Security, Warn, "The device gives its token to anyone who sends a hello"),
    DecryptFailed => ("miio.decrypt_failed", Decryption, Warn, "The payload did not decrypt"),
    NotJson => ("miio.not_json", Malformed, Warn, "Decrypted payload is not a JSON object"),
}

static TOKENS: TableSpec = TableSpec {
    name: "miio_tokens",
    title: "miIO tokens",
    help: "Tokens of Xiaomi miIO devices: device id (decimal or 0x-hex) and its 32-hex-character token; \
           a device may have several rows (LAN token, cloud key)",
    columns: &[
        ColumnSpec { name: "device_id", title: "Device ID", description: "Device id, decimal or 0x-hex" },
        ColumnSpec { name: "token", title: "Token", description: "The device's token, 32 hex characters" },
    ],
};

/// Where devices listen on the LAN (and answer the hello that may leak their token).
pub const LAN_PORT: u16 = 54321;
/// The cloud channel's UDP port (ot.io.mi.com).
pub const CLOUD_PORT: u16 = 8053;

static SPEC: ProtocolSpec = ProtocolSpec {
    name: "Xiaomi miIO",
    short_name: "miIO",
    filter_name: "miio",
    fields: FIELDS,
    experts: EXPERTS,
    udp_ports: &[PortRange::one(CLOUD_PORT), PortRange::one(LAN_PORT)],
    // TCP 80 belongs to HTTP: the cloud channel there is claimed stream by
    // stream (see `shared_tcp_ports`), elsewhere by the heuristic.
    tcp_ports: &[],
    heuristic_udp: true,
    heuristic_tcp: true,
    tcp_header_len: frame::LENGTH_END as u32,
    datagrams_repeat_alike: false,
    table: Some(&TOKENS),
    prefs: &[],
};

pub struct Miio;
pub static MIIO: Miio = Miio;

impl Dissector for Miio {
    fn spec(&self) -> &'static ProtocolSpec {
        &SPEC
    }

    fn looks_like(&self, data: &[u8]) -> bool {
        frame::looks_like(data)
    }

    /// The Xiaomi cloud channel (ot.io.mi.com) on HTTP's port.
    fn shared_tcp_ports(&self) -> &'static [u16] {
        &[80]
    }

    fn pdu_len(&self, data: &[u8]) -> PduLen {
        frame::pdu_len(data)
    }

    fn check_row(&self, row: &[String]) -> Result<(), String> {
        tokens::check_row(row)
    }

    fn set_table(&self, rows: Vec<Vec<String>>) {
        tokens::set_table(rows)
    }

    fn dissect(&self, pkt: &Packet, data: &[u8], state: &mut State, t: &mut Tree) -> bool {
        if !data.starts_with(&frame::MAGIC) {
            return false;
        }
        let header = match frame::parse(data) {
            Ok(h) => h,
            Err(e) => {
                malformed(t, data, &e);
                return true;
            }
        };
        header_fields(t);
        let token = match header.hello_kind() {
            Some(kind) => {
                dissect_hello(pkt, &header, kind, state, t);
                None
            }
            None => dissect_message(pkt, data, &header, state, t),
        };
        if header.hello_kind() != Some(HelloKind::Hello) {
            device_stat(pkt, &header, token, t);
        }
        let extra = data.len() - header.length as usize;
        if extra > 0 {
            t.malformed(format!("{extra} bytes after the {}-byte message", header.length));
        }
        true
    }
}

fn malformed(t: &mut Tree, data: &[u8], e: &FrameError) {
    t.wire(Field::Magic, frame::MAGIC_AT.0, frame::MAGIC_AT.1, Enc::Big);
    if data.len() >= frame::LENGTH_END {
        t.wire(Field::Length, frame::LENGTH_AT.0, frame::LENGTH_AT.1, Enc::Big);
    }
    t.info(format!("Malformed message: {e}"));
    t.malformed(e.to_string());
}

/// Records the message in the device view under its device id; the key
/// state is read off where the `token` tried came from, the payload state
/// off what the dissection added.
fn device_stat(pkt: &Packet, h: &Header, token: Option<Origin>, t: &mut Tree) {
    if !t.wants_device() {
        return;
    }
    let learnt = t.has_expert(Expert::TokenLeaked) || matches!(token, Some(Origin::Learnt(_)));
    let tried = token.is_some();
    let key = match (learnt, tried, t.has_expert(Expert::TokenNeeded)) {
        (true, _, _) => KeyState::Learnt,
        (false, true, _) => KeyState::Configured,
        (false, false, true) => KeyState::Needed,
        _ => KeyState::NotNeeded,
    };
    let payload = if t.has_expert(Expert::WrongToken) || t.has_expert(Expert::DecryptFailed) {
        PayloadState::Failed
    } else if t.has_expert(Expert::TokenNeeded) {
        PayloadState::Unchecked
    } else if !t.sources.is_empty() {
        PayloadState::Decrypted
    } else {
        PayloadState::None
    };
    // The device is the end on a miIO port (54321 LAN, 8053 cloud).
    let address = if is_device_port(pkt.src_port) { pkt.src } else { pkt.dst };
    let facts = address.map(|a| format!("address {a}")).into_iter().collect();
    t.device(format!("device 0x{:08x}", h.device_id), facts, key, payload);
}

/// A port of [`SPEC`]'s list: where devices (and the cloud) listen.
fn is_device_port(port: u16) -> bool {
    spec::in_ranges(SPEC.udp_ports, port)
}

fn header_fields(t: &mut Tree) {
    for (field, (at, len)) in [
        (Field::Magic, frame::MAGIC_AT),
        (Field::Length, frame::LENGTH_AT),
        (Field::Unknown, frame::UNKNOWN_AT),
        (Field::DeviceId, frame::DEVICE_ID_AT),
        (Field::Stamp, frame::STAMP_AT),
    ] {
        t.wire(field, at, len, Enc::Big);
    }
}

fn say(t: &mut Tree, text: String) {
    t.summary(format!(", {text}"));
    t.info(text);
}

/// Hello (`21310020` + FF…) and hello reply; an unprovisioned device's
/// reply carries its token in the checksum field, which we learn.
fn dissect_hello(pkt: &Packet, h: &Header, kind: HelloKind, state: &mut State, t: &mut Tree) {
    t.generated(Field::Hello, Span::wire(0, frame::HEADER_LEN), Value::Uint(kind as u64));
    let Some(token) = h.leaked_token() else {
        t.wire(Field::Checksum, frame::CHECKSUM_AT, frame::TOKEN_LEN, Enc::Na);
        say(t, match kind {
            HelloKind::Hello => "Hello".to_string(),
            HelloKind::Reply => format!("Hello reply device=0x{:08x}", h.device_id),
        });
        return;
    };
    t.wire(Field::Token, frame::CHECKSUM_AT, frame::TOKEN_LEN, Enc::Na);
    let kept = state.capture.get::<Learnt>().learn(h.device_id, pkt.frame, token);
    let use_ = if kept { "; used to decrypt this device's later messages" } else { "" };
    t.expert(
        Expert::TokenLeaked,
        Some(format!("Device 0x{:08x} gives its token {} to anyone who sends a hello{use_}", h.device_id, hex(&token))),
    );
    say(t, format!("Hello reply device=0x{:08x} token leaked", h.device_id));
}

/// The token whose checksum verifies, else the first candidate.
fn choose_token(header16: &[u8], payload: &[u8], sum: &[u8; 16], candidates: &[(Origin, Token)]) -> Option<(Origin, Token, bool)> {
    candidates
        .iter()
        .find(|(_, tok)| frame::checksum(header16, tok, payload) == *sum)
        .map(|&(o, tok)| (o, tok, true))
        .or_else(|| candidates.first().map(|&(o, tok)| (o, tok, false)))
}

fn origin_text(origin: Origin) -> String {
    match origin {
        Origin::Table => "the miio_tokens table".to_string(),
        Origin::Learnt(f) => format!("the hello reply in frame {f}"),
    }
}

/// An encrypted message: checksum, token choice, decryption, JSON. Returns
/// where the token tried came from (`None`: no token known).
fn dissect_message(pkt: &Packet, data: &[u8], h: &Header, state: &mut State, t: &mut Tree) -> Option<Origin> {
    let payload_span = Span::wire(frame::HEADER_LEN, h.length as usize - frame::HEADER_LEN);
    let payload = &data[frame::HEADER_LEN..h.length as usize];
    let header16 = &data[..frame::CHECKSUM_AT];
    let candidates = tokens::candidates(state.capture.get::<Learnt>(), h.device_id, pkt.frame);
    let chosen = choose_token(header16, payload, &h.checksum, &candidates);
    let checksum_span = Span::wire(frame::CHECKSUM_AT, frame::TOKEN_LEN);
    let (status, computed) = match &chosen {
        None => (ChecksumStatus::Unverified, None),
        Some((_, tok, good)) => {
            (ChecksumStatus::from_match(*good), Some(hex(&frame::checksum(header16, tok, payload))))
        }
    };
    t.checksum(Field::Checksum, Field::ChecksumStatus, Expert::BadChecksum, checksum_span, status, computed);
    t.wire(Field::Payload, frame::HEADER_LEN, payload_span.len as usize, Enc::Na);
    let device = format!("device=0x{:08x}", h.device_id);
    let Some((origin, token, good)) = chosen else {
        t.expert(Expert::TokenNeeded, None);
        say(t, format!("Encrypted {device}"));
        return None;
    };
    t.generated(Field::Key, checksum_span, Value::Str(format!("{} from {}", hex(&token), origin_text(origin))));
    if let Origin::Learnt(f) = origin {
        t.generated(Field::KeyLearntIn, checksum_span, Value::Frame(f));
    }
    if !good {
        let tried = candidates.len();
        t.expert(
            Expert::WrongToken,
            Some(format!("The checksum verifies with none of the {tried} token(s) known for {device}: wrong token?")),
        );
    }
    let plain = match frame::decrypt(&token, payload) {
        Ok(p) => p,
        Err(e) => {
            t.expert(Expert::DecryptFailed, Some(format!("Not decrypted with {}: {e}", hex(&token))));
            say(t, format!("Encrypted {device} (did not decrypt)"));
            return Some(origin);
        }
    };
    dissect_json(pkt, plain, state, t, &device);
    Some(origin)
}

/// Longest Info-column rendering of params/result/error.
const INFO_VALUE_MAX: usize = 96;

fn clip(text: String) -> String {
    match text.char_indices().nth(INFO_VALUE_MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// The top-level keys of a miIO JSON message, in the order shown.
const KEYS: [(&str, Field); 5] =
    [("id", Field::Id), ("method", Field::Method), ("params", Field::Params), ("result", Field::Result), ("error", Field::Error)];

/// The decrypted JSON: a request `{"id","method","params"}` or a response
/// `{"id","result"|"error"}`, shown in its own data source with
/// request/response links.
fn dissect_json(pkt: &Packet, plain: Vec<u8>, state: &mut State, t: &mut Tree, device: &str) {
    let parsed = json::parse_object(&plain);
    // Where each key's value lies, found before the bytes move into the tree.
    let spans = parsed.as_ref().map(|(len, _)| KEYS.map(|(k, _)| json::value_span(&plain[..*len], k)));
    let src = t.add_source("Decrypted miIO payload", plain);
    let (Some((len, map)), Some(spans)) = (parsed, spans) else {
        t.expert(Expert::NotJson, None);
        say(t, format!("Decrypted {device} (not JSON)"));
        return;
    };
    let text_span = Span::of(src, 0, len);
    t.field(Field::Json, text_span, Value::Wire(Enc::Utf8));
    let mut text: [Option<String>; 5] = Default::default();
    let mut id = None;
    for (i, ((key, field), at)) in KEYS.iter().zip(spans).enumerate() {
        let Some(v) = map.get(*key) else { continue };
        let span = at.map_or(text_span, |(o, l)| Span::of(src, o, l));
        let value = match field {
            Field::Id => match v.as_u64() {
                Some(n) => {
                    id = Some(n);
                    Value::Uint(n)
                }
                None => continue,
            },
            _ => {
                let s = json::display(v);
                text[i] = Some(s.clone());
                Value::Str(s)
            }
        };
        t.field(*field, span, value);
    }
    let [_, method, params, result, error] = text;
    let is_request = method.is_some();
    let is_response = !is_request && (result.is_some() || error.is_some());
    if let Some(id) = id.filter(|_| is_request || is_response) {
        link(pkt, id, is_request, state, t);
    }
    t.call("json", text_span);
    let id_text = id.map_or(String::new(), |i| format!(" id={i}"));
    say(t, match (method, is_response, error) {
        (Some(m), _, _) => {
            let p = params.map_or(String::new(), |p| format!(" {}", clip(p)));
            format!("Request{id_text} {m}{p}")
        }
        (None, true, Some(e)) => format!("Response{id_text} error {}", clip(e)),
        (None, true, None) => format!("Response{id_text}"),
        (None, false, _) => format!("Message{id_text}"),
    });
}

/// Records (first pass) and shows the request/response links of `id`.
fn link(pkt: &Packet, id: u64, is_request: bool, state: &mut State, t: &mut Tree) {
    let dir = (pkt.src, pkt.src_port) > (pkt.dst, pkt.dst_port);
    let tx = state.conversation.get::<Transactions>();
    if !pkt.visited {
        if is_request {
            tx.request(dir, id, pkt.frame, pkt.time);
        } else {
            tx.response(dir, id, pkt.frame, pkt.time);
        }
    }
    let here = Span::wire(0, 0);
    match tx.link(pkt.frame, id) {
        Some(Link::ResponseIn(f)) if is_request => {
            t.generated(Field::ResponseIn, here, Value::Frame(f));
        }
        Some(Link::RequestIn { frame, seconds }) if !is_request => {
            t.generated(Field::RequestIn, here, Value::Frame(frame));
            t.generated(Field::Time, here, Value::Seconds(seconds));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
