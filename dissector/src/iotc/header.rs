//! The IOTC header, after descrambling (little-endian):
//! ```text
//! 0     2       3      4          6     8        10         11     16           36
//! 04 02 version flags  length-16  seq   opcode   direction  ...    UID char[20] ...
//!                                       (u16 LE, e.g. 01 06 = LAN search)
//! ```
//! Discovery and connect messages carry the device UID at 16; session data
//! carries its channel at 14.

use crate::wire::le16;

pub const MAGIC: [u8; 2] = [0x04, 0x02];
pub const HEADER_LEN: usize = 16;
pub const UID_AT: usize = 16;
pub const UID_LEN: usize = 20;
pub const CHANNEL_AT: usize = 14;
/// Where session data (0x0407/0x0408) carries its DTLS records in the
/// Kalay versions that secure the session with DTLS-PSK (go2rtc
/// `pkg/tutk/dtls`: 16-byte header, 12 bytes of session id, records).
pub const DTLS_AT: usize = 28;

// Opcodes: bytes 8..10 read as a little-endian u16.
pub const LAN_SEARCH: u16 = 0x0601;
pub const LAN_SEARCH_REPLY: u16 = 0x0602;
pub const GET_PUBLIC_IP: u16 = 0x1007;
pub const GET_REMOTE_IP: u16 = 0x0203;
pub const REMOTE_IP_REPLY: u16 = 0x0301;
pub const REMOTE_REQUEST: u16 = 0x0401;
/// On the LAN the client's query to the device, answered by 0x0404.
pub const SESSION_REQUEST: u16 = 0x0402;
pub const SESSION_RESPONSE: u16 = 0x0404;
pub const SESSION_DATA: u16 = 0x0407;
pub const SESSION_DATA_REPLY: u16 = 0x0408;
pub const SESSION_KEEPALIVE: u16 = 0x0417;
pub const SESSION_PROBE: u16 = 0x0418;
pub const PONG: u16 = 0x0427;
pub const PING: u16 = 0x0428;

/// Every opcode the frames of the published native-library clients use
/// (go2rtc `pkg/tutk`, recorded device sessions). Names ending in
/// "(inferred)" come from where the message appears and what answers it,
/// not from a published name.
pub static OPCODE_NAMES: &[(u32, &str)] = &[
    (LAN_SEARCH as u32, "LAN search"),
    (LAN_SEARCH_REPLY as u32, "LAN search reply"),
    (GET_PUBLIC_IP as u32, "Get public IP"),
    (GET_REMOTE_IP as u32, "Get remote IP"),
    (REMOTE_IP_REPLY as u32, "Remote IP reply"),
    (REMOTE_REQUEST as u32, "Remote request"),
    (SESSION_REQUEST as u32, "Session request"),
    (SESSION_RESPONSE as u32, "Session response"),
    (SESSION_DATA as u32, "Session data"),
    (SESSION_DATA_REPLY as u32, "Session data reply"),
    (SESSION_KEEPALIVE as u32, "LAN session keepalive/close (inferred)"),
    (SESSION_PROBE as u32, "Session probe (inferred)"),
    (PONG as u32, "Pong"),
    (PING as u32, "Ping"),
];

pub const CLIENT_TO_DEVICE: u8 = 0x21;
pub const DEVICE_TO_CLIENT: u8 = 0x12;

pub static DIRECTION_NAMES: &[(u32, &str)] =
    &[(CLIENT_TO_DEVICE as u32, "Client to device"), (DEVICE_TO_CLIENT as u32, "Device to client")];

/// Opcodes whose message carries the device UID at [`UID_AT`].
const WITH_UID: [u16; 8] =
    [LAN_SEARCH, LAN_SEARCH_REPLY, GET_PUBLIC_IP, GET_REMOTE_IP, REMOTE_IP_REPLY, REMOTE_REQUEST, SESSION_REQUEST, SESSION_RESPONSE];

/// Whether `body` (session data from [`DTLS_AT`] on) starts with a DTLS
/// record: content type 20-25, version FEFF (1.0) or FEFD (1.2), and a
/// record length that fits.
pub fn starts_dtls(body: &[u8]) -> bool {
    match body.get(..13) {
        Some(&[ty, 0xFE, v, .., hi, lo]) => {
            (20..=25).contains(&ty) && (v == 0xFF || v == 0xFD) && 13 + u16::from_be_bytes([hi, lo]) as usize <= body.len()
        }
        _ => false,
    }
}

pub fn opcode_name(opcode: u16) -> Option<&'static str> {
    OPCODE_NAMES.iter().find(|(v, _)| *v == opcode as u32).map(|(_, n)| *n)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub flags: u8,
    /// The length field: datagram length minus 16.
    pub length: u16,
    pub seq: u16,
    pub opcode: u16,
    pub direction: u8,
}

impl Header {
    /// The datagram length the header announces.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + self.length as usize
    }

    pub fn carries_uid(&self) -> bool {
        WITH_UID.contains(&self.opcode)
    }

    pub fn carries_channel(&self) -> bool {
        matches!(self.opcode, SESSION_DATA | SESSION_DATA_REPLY)
    }
}

/// Parses a descrambled header; `None` without the `04 02` magic.
pub fn parse(plain: &[u8]) -> Option<Header> {
    let h = plain.get(..HEADER_LEN)?;
    if h[..2] != MAGIC {
        return None;
    }
    Some(Header {
        version: h[2],
        flags: h[3],
        length: le16(h, 4)?,
        seq: le16(h, 6)?,
        opcode: le16(h, 8)?,
        direction: h[10],
    })
}

/// The UID at [`UID_AT`]: 20 ASCII letters and digits.
pub fn uid(plain: &[u8]) -> Option<&str> {
    let raw = plain.get(UID_AT..UID_AT + UID_LEN)?;
    if raw.iter().all(u8::is_ascii_alphanumeric) {
        std::str::from_utf8(raw).ok()
    } else {
        None
    }
}

/// Builds a plaintext datagram: the header, then `body` from byte 11 on
/// (so `body[5]` lands at 16, where a UID goes).
pub fn encode(h: &Header, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(11 + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[h.version, h.flags]);
    out.extend_from_slice(&((11 + body.len()).saturating_sub(HEADER_LEN) as u16).to_le_bytes());
    out.extend_from_slice(&h.seq.to_le_bytes());
    out.extend_from_slice(&h.opcode.to_le_bytes());
    out.push(h.direction);
    out.extend_from_slice(body);
    out.resize(out.len().max(HEADER_LEN), 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex;

    /// go2rtc pkg/tutk/conn.go documents a device ping and the client's
    /// pong, descrambled: `0402120a 08000000 28041200 00000000 5b0d4202 070aa8c0`.
    const PING_SAMPLE: &str = "0402120a080000002804120000000000 5b0d4202070aa8c0";

    #[test]
    fn parses_the_published_ping() {
        let b = unhex(&PING_SAMPLE.replace(' ', "")).unwrap();
        let h = parse(&b).unwrap();
        assert_eq!(
            h,
            Header { version: 0x12, flags: 0x0a, length: 8, seq: 0, opcode: PING, direction: DEVICE_TO_CLIENT }
        );
        assert_eq!(h.total_len(), b.len());
        assert_eq!(opcode_name(h.opcode), Some("Ping"));
        assert!(!h.carries_uid());
    }

    #[test]
    fn encode_round_trips_and_places_the_uid() {
        let mut body = vec![0u8; 5];
        body.extend_from_slice(b"ABCDEFGHJKLMNPRSTUV1");
        body.resize(57, 0);
        let h = Header { version: 0x19, flags: 0x02, length: 0, seq: 3, opcode: LAN_SEARCH, direction: CLIENT_TO_DEVICE };
        let b = encode(&h, &body);
        assert_eq!(b.len(), 68);
        let p = parse(&b).unwrap();
        assert_eq!(p, Header { length: 52, ..h });
        assert_eq!(uid(&b), Some("ABCDEFGHJKLMNPRSTUV1"));
    }

    #[test]
    fn truncation_and_garbage_never_panic() {
        let b = unhex(&PING_SAMPLE.replace(' ', "")).unwrap();
        for cut in 0..b.len() {
            let p = parse(&b[..cut]);
            assert_eq!(p.is_some(), cut >= HEADER_LEN, "cut {cut}");
            assert!(uid(&b[..cut]).is_none());
        }
        assert!(parse(b"\x05\x02 not iotc at all").is_none());
        let mut x = 0x1234_5678u32;
        for len in 0..200 {
            let g: Vec<u8> = (0..len).map(|_| { x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345); (x >> 16) as u8 }).collect();
            let _ = parse(&g).map(|h| (h.total_len(), h.carries_uid()));
            let _ = uid(&g);
        }
    }
}
