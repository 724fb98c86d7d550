//! ThroughTek Kalay / IOTC (`iotc`): the P2P platform of many cheap cameras
//! and plugs. UDP 10001 (master servers m1..m5.iotcplatform.com), 32761 (LAN
//! search), and a heuristic elsewhere. Every datagram is scrambled with the
//! fixed "Charlie" transform ([`scramble`]); we descramble it into its own
//! data source and dissect the plaintext header ([`header`]).

pub mod header;
pub mod scramble;

use crate::spec::{PortRange, ProtocolSpec};
use crate::tree::{Enc, KeyState, PayloadState, Span, Tree, Value};
use crate::{experts, fields, Dissector, Packet, State};
use header::Header;

fields! { pub Field, FIELDS;
    Magic => ("iotc.magic", "Magic", U16, Hex),
    Version => ("iotc.version", "Version", U8, DecHex),
    Flags => ("iotc.flags", "Flags / stage", U8, Hex; "Connection stage flags; bit 0 = only the first 64 bytes are scrambled"),
    Scramble => ("iotc.scramble", "Scramble", Str, None; "Which part of the datagram the Charlie transform covered"),
    Length => ("iotc.length", "Length", U16, Dec; "Datagram length minus the 16-byte header"),
    Seq => ("iotc.seq", "Sequence number", U16, Dec),
    Opcode => ("iotc.opcode", "Opcode", U16, Hex, header::OPCODE_NAMES),
    Direction => ("iotc.direction", "Direction", U8, Hex, header::DIRECTION_NAMES),
    Channel => ("iotc.channel", "Channel", U8, Dec; "Session channel (0 commands, 1 media, ...)"),
    Uid => ("iotc.uid", "Device UID", Str, None; "The device's 20-character identity on the Kalay platform"),
    Payload => ("iotc.payload", "Payload", Bytes, None),
}

experts! { pub Expert, EXPERTS;
    UidExposed => ("iotc.uid_exposed", Security, Warn, "Device UID exposed in cleartext (the Charlie scramble is a fixed public transform)"),
    BadLength => ("iotc.bad_length", Malformed, Warn, "Length field does not match the datagram"),
}

/// The master servers' UDP port (m1..m5.iotcplatform.com).
pub const MASTER_PORT: u16 = 10001;
/// The UDP port of LAN search.
pub const LAN_SEARCH_PORT: u16 = 32761;

static SPEC: ProtocolSpec = ProtocolSpec {
    name: "ThroughTek Kalay IOTC",
    short_name: "IOTC",
    filter_name: "iotc",
    fields: FIELDS,
    experts: EXPERTS,
    udp_ports: &[PortRange::one(MASTER_PORT), PortRange::one(LAN_SEARCH_PORT)],
    tcp_ports: &[],
    heuristic_udp: true,
    heuristic_tcp: false,
    tcp_header_len: 0,
    datagrams_repeat_alike: false,
    table: None,
    prefs: &[],
};

pub struct Iotc;
pub static IOTC: Iotc = Iotc;

/// The descrambled header of `data`, if it has the IOTC magic.
fn header_of(data: &[u8]) -> Option<Header> {
    header::parse(&scramble::header(data)?)
}

impl Dissector for Iotc {
    fn spec(&self) -> &'static ProtocolSpec {
        &SPEC
    }

    /// Magic after descrambling and a length field that matches exactly.
    fn looks_like(&self, data: &[u8]) -> bool {
        header_of(data).is_some_and(|h| h.total_len() == data.len())
    }

    fn dissect(&self, pkt: &Packet, data: &[u8], state: &mut State, t: &mut Tree) -> bool {
        let Some(h) = header_of(data) else { return false };
        let plain = scramble::descramble_datagram(data);
        let uid = if h.carries_uid() { header::uid(&plain).map(str::to_owned) } else { None };
        let channel = plain.get(header::CHANNEL_AT).copied().filter(|_| h.carries_channel());
        let end = h.total_len().min(data.len());
        let dtls = h.carries_channel() && plain.get(header::DTLS_AT..end).is_some_and(header::starts_dtls);
        let src = t.add_source("Descrambled IOTC", plain);
        let at = |off, len| Span::of(src, off, len);

        t.generated(Field::Scramble, Span::wire(0, data.len()), Value::Str(scramble_text(&h, data.len())));
        t.field(Field::Magic, at(0, 2), Value::Wire(Enc::Big));
        t.field(Field::Version, at(2, 1), Value::Wire(Enc::Little));
        t.field(Field::Flags, at(3, 1), Value::Wire(Enc::Little));
        t.field(Field::Length, at(4, 2), Value::Wire(Enc::Little));
        t.check_length(Expert::BadLength, h.total_len(), data.len());
        t.field(Field::Seq, at(6, 2), Value::Wire(Enc::Little));
        t.field(Field::Opcode, at(8, 2), Value::Wire(Enc::Little));
        t.field(Field::Direction, at(10, 1), Value::Wire(Enc::Little));
        if channel.is_some() {
            t.field(Field::Channel, at(header::CHANNEL_AT, 1), Value::Wire(Enc::Little));
        }
        let mut body_at = header::HEADER_LEN;
        if let Some(uid) = &uid {
            t.field(Field::Uid, at(header::UID_AT, header::UID_LEN), Value::Wire(Enc::Ascii));
            t.expert(Expert::UidExposed, Some(format!("Device UID {uid} exposed in cleartext (Charlie scramble is public)")));
            body_at = header::UID_AT + header::UID_LEN;
        }
        if end > body_at {
            t.field(Field::Payload, at(body_at, end - body_at), Value::Wire(Enc::Na));
        }
        if dtls {
            // DTLS-PSK inside the session: Wireshark's DTLS dissector shows it.
            t.call("dtls", at(header::DTLS_AT, end - header::DTLS_AT));
        }
        info(t, &h, uid.as_deref(), channel, dtls);
        device_stat(pkt, state, uid, dtls, t);
        true
    }
}

/// Records the datagram in the device view under the device's UID (this
/// datagram's or the conversation's). The Charlie scramble is a public
/// key; a DTLS session needs the device's PSK, which nothing here knows.
fn device_stat(pkt: &Packet, state: &mut State, uid: Option<String>, dtls: bool, t: &mut Tree) {
    let Some(device) = crate::conversation_device(pkt, state, uid) else { return };
    let (key, payload) = if dtls { (KeyState::Needed, PayloadState::Unchecked) } else { (KeyState::Public, PayloadState::Decrypted) };
    t.device(device, Vec::new(), key, payload);
}

fn scramble_text(h: &Header, len: usize) -> String {
    if scramble::is_partial_flags(h.flags) && len > scramble::PARTIAL_LEN {
        format!("Charlie, first {} of {len} bytes", scramble::PARTIAL_LEN)
    } else {
        format!("Charlie, all {len} bytes")
    }
}

fn info(t: &mut Tree, h: &Header, uid: Option<&str>, channel: Option<u8>, dtls: bool) {
    let mut text = match header::opcode_name(h.opcode) {
        Some(name) => name.to_string(),
        None => format!("Opcode 0x{:04x}", h.opcode),
    };
    if let Some(uid) = uid {
        text.push_str(&format!(" UID={uid}"));
    }
    if let Some(ch) = channel {
        text.push_str(&format!(" ch={ch}"));
    }
    text.push_str(&format!(" seq={}", h.seq));
    if dtls {
        text.push_str(" DTLS");
    }
    t.summary(format!(", {text}"));
    t.info(text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex;
    use crate::testing::{has_expert, has_field};
    use header::*;

    fn run(data: &[u8]) -> (bool, Tree) {
        crate::testing::run(&IOTC, data)
    }

    fn lan_search(uid: &[u8]) -> Vec<u8> {
        // go2rtc ConnectByUID(stageBroadcast): 68 bytes, UID at 16.
        let mut body = vec![0u8; 5];
        body.extend_from_slice(uid);
        body.resize(57, 0);
        let h = Header { version: 0x19, flags: 0x02, length: 0, seq: 0, opcode: LAN_SEARCH, direction: CLIENT_TO_DEVICE };
        scramble::scramble_datagram(&encode(&h, &body))
    }

    #[test]
    fn lan_search_shows_uid_and_info() {
        let wire = lan_search(b"CFPA9X5WNKKNRA7N111A");
        assert!(IOTC.looks_like(&wire));
        let (ok, t) = run(&wire);
        assert!(ok);
        assert_eq!(t.info.as_deref(), Some("LAN search UID=CFPA9X5WNKKNRA7N111A seq=0"));
        assert_eq!(&t.sources[0].bytes[16..36], b"CFPA9X5WNKKNRA7N111A");
        assert!(has_expert(&t, Expert::UidExposed));
        assert!(t.malformed.is_none());
    }

    #[test]
    fn published_session_sample_shows_channel() {
        // go2rtc conn.go: channel-5 message, descrambled.
        let plain = unhex(concat!(
            "0402190a", "20000400", "07042100", "7ecc05000c0000007ecc93c456c2561f",
            "5a97c2f101050000000000000000000000010000"
        )).unwrap();
        let (ok, t) = run(&scramble::scramble_datagram(&plain));
        assert!(ok);
        assert_eq!(t.info.as_deref(), Some("Session data ch=5 seq=4"));
        assert!(!has_field(&t, Field::Uid));
    }

    #[test]
    fn garbage_is_not_iotc_and_truncation_is_malformed() {
        let (ok, _) = run(b"this is not a kalay datagram at all");
        assert!(!ok);
        assert!(!IOTC.looks_like(b"this is not a kalay datagram at all"));
        let wire = lan_search(b"CFPA9X5WNKKNRA7N111A");
        for cut in 0..wire.len() {
            let (ok, t) = run(&wire[..cut]);
            if cut < HEADER_LEN {
                assert!(!ok, "cut {cut}");
            } else {
                // The header block survives, the length field no longer fits.
                assert!(ok && t.malformed.is_some(), "cut {cut}");
                assert!(!IOTC.looks_like(&wire[..cut]));
            }
        }
    }
}
