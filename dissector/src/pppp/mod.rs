//! CS2 Network PPPP (`pppp`): the P2P protocol of many cheap cameras. UDP
//! 32100 (P2P servers), 32108 (LAN search), and a heuristic elsewhere. Some
//! vendors obfuscate whole datagrams with a PSK ([`psk`]); we try the user's
//! PSKs, then the published vendor ones, and say which one matched.

pub mod ilnk;
pub mod message;
pub mod psk;

use crate::spec::{PortRange, PrefSpec, ProtocolSpec};
use crate::tree::{Enc, KeyState, PayloadState, Span, Tree, Value};
use crate::{experts, fields, Dissector, Packet, State};

fields! { pub Field, FIELDS;
    Psk => ("pppp.psk", "Obfuscation PSK", Str, None; "The pre-shared string whose XOR stream deobfuscated the datagram"),
    Magic => ("pppp.magic", "Magic", U8, Hex),
    Type => ("pppp.type", "Type", U8, Hex, message::TYPE_NAMES),
    Length => ("pppp.length", "Payload length", U16, Dec),
    Uid => ("pppp.uid", "Device UID", Str, None; "PREFIX-SERIAL-CHECK: the device's identity on the P2P platform"),
    UidPrefix => ("pppp.uid.prefix", "Prefix", Str, None),
    UidSerial => ("pppp.uid.serial", "Serial", U32, Dec),
    UidCheck => ("pppp.uid.check", "Check", Str, None),
    DrwMagic => ("pppp.drw.magic", "DRW marker", U8, Hex, message::DRW_MARKER_NAMES; "D1 in CS2 firmware, D2 in iLnk firmware and its clients"),
    DrwChannel => ("pppp.drw.channel", "Channel", U8, Dec),
    DrwIndex => ("pppp.drw.index", "Index", U16, Dec),
    DrwData => ("pppp.drw.data", "Data", Bytes, None),
    AckCount => ("pppp.ack.count", "Acknowledged", U16, Dec),
    AckIndex => ("pppp.ack.index", "Acknowledged index", U16, Dec),
    CmdFlags => ("pppp.cmd.flags", "Command flags", U32, Hex; "Channel-0 command block flags (06 0a a0 80: device reply)"),
    CmdLength => ("pppp.cmd.length", "Command length", U32, Dec),
    Cmd => ("pppp.cmd", "Command", Str, None; "Channel-0 JSON command or reply"),
    IlnkCommand => ("pppp.ilnk.cmd", "iLnk command", U16, Hex, ilnk::COMMAND_NAMES; "Channel-0 binary command (11 0A header) of iLnk cameras"),
    IlnkLength => ("pppp.ilnk.length", "iLnk length", U16, Dec; "Ticket and body length"),
    IlnkDest => ("pppp.ilnk.dest", "iLnk destination", U16, Hex; "FF00 login, 0000 request, AA55 reply in the published client; meaning inferred"),
    IlnkTicket => ("pppp.ilnk.ticket", "iLnk ticket", Bytes, None; "Session ticket the camera gave at login"),
    IlnkBody => ("pppp.ilnk.body", "iLnk body", Bytes, None; "Obfuscated body; deobfuscated, it is its own data source, which the fields below point into"),
    IlnkAccount => ("pppp.ilnk.account", "Account", Str, None; "Login account (command 0x2010)"),
    IlnkPassword => ("pppp.ilnk.password", "Password", Str, None; "Login password, readable by anyone on the path: the obfuscation is public"),
    IlnkLoginTicket => ("pppp.ilnk.login_ticket", "Ticket given", Bytes, None; "The ticket the login reply gives; later commands carry it"),
    IlnkFirmware => ("pppp.ilnk.firmware", "Firmware version", Str, None),
    IlnkBattery => ("pppp.ilnk.battery", "Battery (mV)", U16, Dec),
    IlnkSignal => ("pppp.ilnk.signal", "Wi-Fi signal (dBm)", I64, Dec),
    IlnkCharging => ("pppp.ilnk.charging", "Charging", Bool, None),
    WifiEnable => ("pppp.ilnk.wifi.enable", "Wi-Fi enabled", U32, Dec),
    WifiStatus => ("pppp.ilnk.wifi.status", "Wi-Fi status", U32, Dec; "Meaning inferred"),
    WifiMode => ("pppp.ilnk.wifi.mode", "Wi-Fi mode", U32, Dec),
    WifiChannel => ("pppp.ilnk.wifi.channel", "Wi-Fi channel", U32, Dec),
    WifiAuth => ("pppp.ilnk.wifi.auth", "Wi-Fi authentication", U32, Dec),
    WifiDhcp => ("pppp.ilnk.wifi.dhcp", "DHCP", U32, Dec),
    WifiSsid => ("pppp.ilnk.wifi.ssid", "SSID", Str, None),
    WifiPassword => ("pppp.ilnk.wifi.password", "Wi-Fi password", Str, None; "Readable by anyone on the path: the obfuscation is public"),
    WifiIp => ("pppp.ilnk.wifi.ip", "IP address", Str, None),
    WifiMask => ("pppp.ilnk.wifi.mask", "Netmask", Str, None),
    WifiGateway => ("pppp.ilnk.wifi.gateway", "Gateway", Str, None),
    WifiDns1 => ("pppp.ilnk.wifi.dns1", "DNS server 1", Str, None),
    WifiDns2 => ("pppp.ilnk.wifi.dns2", "DNS server 2", Str, None),
    ScanCount => ("pppp.ilnk.scan.count", "Networks", U32, Dec; "Networks in a Wi-Fi scan reply (where other commands carry the ticket)"),
    ScanNetwork => ("pppp.ilnk.scan.network", "Network", None, None),
    ScanSsid => ("pppp.ilnk.scan.ssid", "SSID", Str, None),
    ScanBssid => ("pppp.ilnk.scan.bssid", "BSSID", Bytes, None; "Raw bytes on some firmware, hex text on others"),
    ScanSecurity => ("pppp.ilnk.scan.security", "Security", U32, Dec),
    ScanSignal => ("pppp.ilnk.scan.signal", "Signal", I64, Dec; "dBm on some firmware, a positive level on others"),
    ScanMode => ("pppp.ilnk.scan.mode", "Mode", U32, Dec),
    ScanChannel => ("pppp.ilnk.scan.channel", "Channel", U32, Dec),
    ParamType => ("pppp.ilnk.param.type", "Video parameter", U32, Dec),
    ParamValue => ("pppp.ilnk.param.value", "Video parameter value", U32, Dec),
    Payload => ("pppp.payload", "Payload", Bytes, None),
    Padding => ("pppp.padding", "Padding", Bytes, None; "Zero bytes after the message (iLnk pads short messages to 32 bytes)"),
}

experts! { pub Expert, EXPERTS;
    UidExposed => ("pppp.uid_exposed", Security, Warn, "Device UID exposed in cleartext"),
    PublicPsk => ("pppp.public_psk", Security, Note, "Obfuscated with a published vendor PSK: no protection"),
    SecretExposed => ("pppp.secret_exposed", Security, Warn, "Password readable under the public iLnk obfuscation"),
    BadLength => ("pppp.bad_length", Malformed, Warn, "Length field does not match the datagram"),
    BadDrw => ("pppp.bad_drw", Malformed, Warn, "DRW payload does not start with a D1/D2 marker, channel and index"),
}

static PREFS: [PrefSpec; 1] = [PrefSpec {
    name: "psk",
    title: "Extra PSKs",
    description: "Comma-separated pre-shared strings to try for obfuscated PPPP datagrams (before the published vendor ones)",
}];

/// The P2P servers' UDP port.
pub const SERVER_PORT: u16 = 32100;
/// The UDP port of LAN search.
pub const LAN_SEARCH_PORT: u16 = 32108;

static SPEC: ProtocolSpec = ProtocolSpec {
    name: "CS2 Network PPPP",
    short_name: "PPPP",
    filter_name: "pppp",
    fields: FIELDS,
    experts: EXPERTS,
    udp_ports: &[PortRange::one(SERVER_PORT), PortRange::one(LAN_SEARCH_PORT)],
    tcp_ports: &[],
    heuristic_udp: true,
    heuristic_tcp: false,
    tcp_header_len: 0,
    datagrams_repeat_alike: false,
    table: None,
    prefs: &PREFS,
};

pub struct Pppp;
pub static PPPP: Pppp = Pppp;

/// A PSK whose deobfuscated header is an exact PPPP header for `data`.
fn find_psk(data: &[u8]) -> Option<psk::Matched> {
    psk::find(data, message::HEADER_LEN, |head| message::is_exact_header(head, data.len()))
}

impl Dissector for Pppp {
    fn spec(&self) -> &'static ProtocolSpec {
        &SPEC
    }

    fn looks_like(&self, data: &[u8]) -> bool {
        message::is_exact_header(data, data.len()) || message::is_padded_message(data) || find_psk(data).is_some()
    }

    fn set_pref(&self, index: usize, value: &str) {
        if index == 0 {
            psk::set_user_psks(value);
        }
    }

    fn dissect(&self, pkt: &Packet, data: &[u8], state: &mut State, t: &mut Tree) -> bool {
        if data.first() == Some(&message::MAGIC) {
            let ok = dissect_message(t, 0, data);
            device_stat(pkt, state, data, None, t);
            return ok;
        }
        let Some(m) = find_psk(data) else { return false };
        let mut plain = data.to_vec();
        psk::decrypt(&m.seed, &mut plain);
        let origin = match m.origin {
            psk::Origin::User => "from the preference",
            psk::Origin::Vendor => "published vendor PSK",
        };
        t.generated(Field::Psk, Span::wire(0, data.len()), Value::Str(m.psk.clone()));
        t.append(format!(" ({origin})"));
        if m.origin == psk::Origin::Vendor {
            t.expert(Expert::PublicPsk, Some(format!("Obfuscated with the published PSK \"{}\": no protection", m.psk)));
        }
        // `plain` moves into the tree; dissect it from there.
        let src = t.add_source("Deobfuscated PPPP", plain);
        let plain = std::mem::take(&mut t.sources[src as usize - 1].bytes);
        let ok = dissect_message(t, src, &plain);
        device_stat(pkt, state, &plain, Some(m.origin), t);
        t.sources[src as usize - 1].bytes = plain;
        ok
    }
}

/// Records the message (`msg`, in clear) in the device view under the
/// device's UID; `psk` is where the obfuscation PSK came from, if any.
fn device_stat(pkt: &Packet, state: &mut State, msg: &[u8], psk: Option<psk::Origin>, t: &mut Tree) {
    let uid = message::parse_header(msg)
        .filter(|h| message::carries_uid(h.ty))
        .and_then(|_| message::parse_uid(msg.get(message::HEADER_LEN..)?))
        .map(|u| u.to_string());
    let Some(device) = crate::conversation_device(pkt, state, uid) else { return };
    let (key, payload) = match psk {
        None => (KeyState::NotNeeded, PayloadState::None),
        Some(psk::Origin::User) => (KeyState::Configured, PayloadState::Decrypted),
        Some(psk::Origin::Vendor) => (KeyState::Public, PayloadState::Decrypted),
    };
    t.device(device, Vec::new(), key, payload);
}

/// Dissects a plaintext message lying in data source `src`.
fn dissect_message(t: &mut Tree, src: u32, msg: &[u8]) -> bool {
    let at = |off, len| Span::of(src, off, len);
    let Some(h) = message::parse_header(msg) else {
        t.field(Field::Magic, at(0, 1), Value::Wire(Enc::Big));
        t.info("Truncated header");
        t.malformed(format!("{} bytes, a header has {}", msg.len(), message::HEADER_LEN));
        return true;
    };
    let name = message::type_name(h.ty).map_or_else(|| format!("Type 0x{:02x}", h.ty), str::to_string);
    t.field(Field::Magic, at(0, 1), Value::Wire(Enc::Big));
    t.field(Field::Type, at(1, 1), Value::Wire(Enc::Big));
    t.field(Field::Length, at(2, 2), Value::Wire(Enc::Big));
    let padding = message::padding(msg);
    if padding.is_none() {
        t.check_length(Expert::BadLength, h.total_len(), msg.len());
    }
    let end = h.total_len().min(msg.len());
    let payload = &msg[message::HEADER_LEN..end];
    let detail = match h.ty {
        message::DRW => dissect_drw(t, src, payload),
        message::DRW_ACK => dissect_drw_ack(t, src, payload),
        ty if message::carries_uid(ty) => dissect_uid(t, src, payload, src == 0),
        _ => {
            if !payload.is_empty() {
                t.field(Field::Payload, at(message::HEADER_LEN, payload.len()), Value::Wire(Enc::Na));
            }
            String::new()
        }
    };
    if let Some(pad) = padding {
        t.field(Field::Padding, at(pad.start, pad.len()), Value::Wire(Enc::Na));
        t.append(format!(" ({} zero bytes to {})", pad.len(), msg.len()));
    }
    let text = format!("{name}{detail}");
    t.summary(format!(", {text}"));
    t.info(text);
    true
}

/// The UID at the start of a payload; returns the Info text.
fn dissect_uid(t: &mut Tree, src: u32, payload: &[u8], cleartext: bool) -> String {
    let base = message::HEADER_LEN;
    let Some(uid) = message::parse_uid(payload) else {
        if !payload.is_empty() {
            t.field(Field::Payload, Span::of(src, base, payload.len()), Value::Wire(Enc::Na));
        }
        return String::new();
    };
    let text = uid.to_string();
    t.field(Field::Uid, Span::of(src, base, message::UID_LEN), Value::Str(text.clone()));
    let how = if cleartext { "in cleartext" } else { "under a known obfuscation PSK" };
    t.expert(Expert::UidExposed, Some(format!("Device UID {text} exposed {how}")));
    t.subtree(|t| {
        t.field(Field::UidPrefix, Span::of(src, base, 8), Value::Str(uid.prefix.clone()));
        t.field(Field::UidSerial, Span::of(src, base + 8, 4), Value::Wire(Enc::Big));
        t.field(Field::UidCheck, Span::of(src, base + 12, 8), Value::Str(uid.check.clone()));
    });
    if payload.len() > message::UID_LEN {
        let rest = payload.len() - message::UID_LEN;
        t.field(Field::Payload, Span::of(src, base + message::UID_LEN, rest), Value::Wire(Enc::Na));
    }
    format!(" UID={text}")
}

/// The D1/D2 channel index/count sub-header shared by DRW and DRW_ACK.
fn drw_header(t: &mut Tree, src: u32, payload: &[u8], second: Field) -> Option<message::Drw> {
    let base = message::HEADER_LEN;
    let Some(d) = message::parse_drw(payload) else {
        t.expert(Expert::BadDrw, None);
        t.malformed("DRW payload shorter than 4 bytes or without a D1/D2 marker");
        return None;
    };
    t.field(Field::DrwMagic, Span::of(src, base, 1), Value::Wire(Enc::Big));
    t.field(Field::DrwChannel, Span::of(src, base + 1, 1), Value::Wire(Enc::Big));
    t.field(second, Span::of(src, base + 2, 2), Value::Wire(Enc::Big));
    Some(d)
}

fn dissect_drw(t: &mut Tree, src: u32, payload: &[u8]) -> String {
    let Some(d) = drw_header(t, src, payload, Field::DrwIndex) else { return String::new() };
    let data_at = message::HEADER_LEN + message::DRW_HEADER_LEN;
    let data = &payload[message::DRW_HEADER_LEN..];
    if !data.is_empty() {
        t.field(Field::DrwData, Span::of(src, data_at, data.len()), Value::Wire(Enc::Na));
    }
    let mut command = String::new();
    if d.channel == 0 {
        match ilnk::parse(data) {
            Some(c) => command = ilnk_command(t, src, data_at, data, &c),
            None => command_block(t, src, data_at, data),
        }
    }
    format!(" ch={} idx={}{}{command}", d.channel, d.index_or_count, marker_note(&d))
}

/// An iLnk binary command (see [`ilnk`]); returns the Info text.
fn ilnk_command(t: &mut Tree, src: u32, at: usize, data: &[u8], c: &ilnk::Command) -> String {
    t.field(Field::IlnkCommand, Span::of(src, at + 2, 2), Value::Wire(Enc::Big));
    t.field(Field::IlnkLength, Span::of(src, at + 4, 2), Value::Wire(Enc::Little));
    t.field(Field::IlnkDest, Span::of(src, at + 6, 2), Value::Wire(Enc::Big));
    t.field(Field::IlnkTicket, Span::of(src, at + ilnk::TICKET_AT, ilnk::TICKET_LEN), Value::Wire(Enc::Na));
    let layout = ilnk::layout(c.command);
    if layout.as_ref().is_some_and(|l| l.record_len > 0) {
        t.field(Field::ScanCount, Span::of(src, at + ilnk::TICKET_AT, ilnk::TICKET_LEN), Value::Wire(Enc::Little));
    }
    let n = c.body_len(data);
    if n > 0 {
        t.field(Field::IlnkBody, Span::of(src, at + ilnk::HEADER_LEN, n), Value::Wire(Enc::Na));
        if n + ilnk::TICKET_LEN < c.length as usize {
            // Its first bytes are the last ones on the wire.
            t.append(format!(" ({n} of {} bytes: not deobfuscated)", c.length as usize - ilnk::TICKET_LEN));
        } else {
            let body = ilnk::deobfuscate(&data[ilnk::HEADER_LEN..ilnk::HEADER_LEN + n]);
            let records = crate::wire::le32(data, ilnk::TICKET_AT).unwrap_or(0) as usize;
            let body_src = t.add_source("iLnk body (deobfuscated)", body);
            if let Some(l) = layout {
                // As in `dissect`: read the body out of the tree, then put it back.
                let body = std::mem::take(&mut t.sources[body_src as usize - 1].bytes);
                ilnk_body(t, body_src, &body, &l, records);
                t.sources[body_src as usize - 1].bytes = body;
            }
        }
    }
    match ilnk::command_name(c.command) {
        Some(name) => format!(" {name}"),
        None => format!(" iLnk command 0x{:04x}", c.command),
    }
}

/// The parts of a deobfuscated iLnk body (in data source `src`) that `l`
/// names and `body` holds whole.
fn ilnk_body(t: &mut Tree, src: u32, body: &[u8], l: &ilnk::Layout, records: usize) {
    ilnk_parts(t, src, body, 0, l.parts);
    if l.record_len == 0 {
        return;
    }
    let whole = body.len() / l.record_len;
    for i in 0..records.min(whole) {
        let at = i * l.record_len;
        t.field(Field::ScanNetwork, Span::of(src, at, l.record_len), Value::Wire(Enc::Na));
        t.subtree(|t| ilnk_parts(t, src, body, at, l.record));
    }
    if records > whole {
        t.append(format!(" ({records} announced, {whole} present)"));
    }
}

fn ilnk_parts(t: &mut Tree, src: u32, body: &[u8], base: usize, parts: &[ilnk::Part]) {
    for p in parts {
        let Some(bytes) = body.get(base + p.at..base + p.at + p.len) else { continue };
        let value = ilnk::value(p.shape, bytes);
        let exposed = p.shape == ilnk::Shape::Secret && value != Value::Str(String::new());
        t.field(p.field, Span::of(src, base + p.at, p.len), value);
        if exposed {
            t.expert(Expert::SecretExposed, None);
        }
    }
}

/// A channel-0 command block: flags u32, length u32 LE, JSON.
fn command_block(t: &mut Tree, src: u32, at: usize, data: &[u8]) {
    let Some(len) = data.get(4..8).map(|l| u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize) else { return };
    let body = &data[8..];
    if body.first() != Some(&b'{') {
        return;
    }
    let len = len.min(body.len());
    t.field(Field::CmdFlags, Span::of(src, at, 4), Value::Wire(Enc::Big));
    t.field(Field::CmdLength, Span::of(src, at + 4, 4), Value::Wire(Enc::Little));
    let json_span = Span::of(src, at + 8, len);
    t.field(Field::Cmd, json_span, Value::Wire(Enc::Utf8));
    t.call("json", json_span);
}

fn dissect_drw_ack(t: &mut Tree, src: u32, payload: &[u8]) -> String {
    let Some(d) = drw_header(t, src, payload, Field::AckCount) else { return String::new() };
    let first = message::HEADER_LEN + message::DRW_HEADER_LEN;
    let listed = (payload.len() - message::DRW_HEADER_LEN) / 2;
    let n = listed.min(d.index_or_count as usize);
    for i in 0..n {
        t.field(Field::AckIndex, Span::of(src, first + 2 * i, 2), Value::Wire(Enc::Big));
    }
    if n < d.index_or_count as usize {
        t.malformed(format!("{} acknowledged indexes announced, {listed} present", d.index_or_count));
    }
    format!(" ch={} acks={}{}", d.channel, d.index_or_count, marker_note(&d))
}

/// Names the DRW marker in the Info column when it is not CS2's D1.
fn marker_note(d: &message::Drw) -> String {
    if d.marker == message::DRW_MAGIC {
        String::new()
    } else {
        format!(" marker=0x{:02X}", d.marker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{has_expert, strings};
    use crate::tree::Item;
    use message::*;

    fn run(data: &[u8]) -> (bool, Tree) {
        crate::testing::run(&PPPP, data)
    }

    fn punch() -> Vec<u8> {
        encode(PUNCH_PKT, &encode_uid(&Uid { prefix: "ABCD".into(), serial: 12345, check: "XYZUV".into() }))
    }

    #[test]
    fn cleartext_punch_shows_uid() {
        let (ok, t) = run(&punch());
        assert!(ok);
        assert_eq!(t.info.as_deref(), Some("PUNCH_PKT UID=ABCD-012345-XYZUV"));
        assert_eq!(strings(&t, Field::Uid), ["ABCD-012345-XYZUV"]);
        assert!(t.sources.is_empty());
        assert!(PPPP.looks_like(&punch()));
    }

    #[test]
    fn camera_psk_is_found_and_named() {
        let mut wire = punch();
        psk::encrypt(&psk::seed(b"camera"), &mut wire);
        assert_eq!(wire[0], 0x2c);
        assert!(PPPP.looks_like(&wire));
        let (ok, t) = run(&wire);
        assert!(ok);
        assert_eq!(strings(&t, Field::Psk), ["camera"]);
        assert_eq!(strings(&t, Field::Uid), ["ABCD-012345-XYZUV"]);
        assert_eq!(t.sources[0].bytes, punch());
        assert!(has_expert(&t, Expert::PublicPsk) && has_expert(&t, Expert::UidExposed));
    }

    #[test]
    fn trailing_bytes_are_flagged_but_not_malformed() {
        let mut m = punch();
        m.extend_from_slice(b"xx");
        let (ok, t) = run(&m);
        assert!(ok && t.malformed.is_none());
        assert!(has_expert(&t, Expert::BadLength));
        assert_eq!(strings(&t, Field::Uid), ["ABCD-012345-XYZUV"]);
        assert!(!PPPP.looks_like(&m), "the heuristic wants an exact length");
    }

    #[test]
    fn drw_command_and_ack() {
        let json = br#"{"pro":"check_user","cmd":100,"user":"admin","pwd":"1234"}"#;
        let mut block = vec![0, 0, 0, 0];
        block.extend_from_slice(&(json.len() as u32).to_le_bytes());
        block.extend_from_slice(json);
        let (_, t) = run(&encode_drw(0, 3, &block));
        assert_eq!(t.info.as_deref(), Some("DRW ch=0 idx=3"));
        assert!(t.items.contains(&Item::Call { dissector: "json", span: Span::wire(16, json.len()) }));
        let (_, t) = run(&encode_drw_ack(0, &[3, 4]));
        assert_eq!(t.info.as_deref(), Some("DRW_ACK ch=0 acks=2"));
        assert!(t.malformed.is_none());
    }

    #[test]
    fn ilnk_body_is_deobfuscated_only_when_whole() {
        // The account part of a login body, without the password part.
        let mut body = b"admin".to_vec();
        body.resize(0x20, 0);
        let mut wire: Vec<u8> = body.iter().map(|b| b ^ 1).collect();
        wire.rotate_left(4);
        let mut data = vec![0x11, 0x0a, 0x20, 0x10, 4 + wire.len() as u8, 0, 0xff, 0, 1, 2, 3, 4];
        data.extend_from_slice(&wire);
        let (_, t) = run(&encode_drw(0, 1, &data));
        assert_eq!(strings(&t, Field::IlnkAccount), ["admin"]);
        assert!(!has_expert(&t, Expert::SecretExposed), "no password in the body");
        // The length says more than the datagram holds: the body's first
        // bytes are missing, so nothing is decoded from it.
        data[4] += 8;
        let (_, t) = run(&encode_drw(0, 1, &data));
        assert!(t.sources.is_empty() && strings(&t, Field::IlnkAccount).is_empty());
        assert!(t.items.contains(&Item::Append(" (32 of 40 bytes: not deobfuscated)".into())));
    }

    #[test]
    fn garbage_is_not_pppp_and_truncation_is_malformed() {
        assert!(!run(b"definitely not a p2p datagram").0);
        assert!(!PPPP.looks_like(b"definitely not a p2p datagram"));
        let m = punch();
        for cut in 1..m.len() {
            let (ok, t) = run(&m[..cut]);
            assert!(ok && t.malformed.is_some(), "cut {cut}");
        }
        let (ok, t) = run(&encode_drw_ack(0, &[1, 2])[..10]);
        assert!(ok && t.malformed.is_some());
    }
}
