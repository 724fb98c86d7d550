//! PPPP messages (big-endian):
//! ```text
//! 0     1     2            4
//! F1    type  length u16   payload (length bytes)
//! UID payload:  prefix char[8] | serial u32 | check char[8]   -> PREFIX-000123-CHECK
//! DRW payload:  D1 | channel u8 | index u16 | data
//! DRW_ACK:      D1 | channel u8 | count u16 | index u16 × count
//! ```
//! iLnk firmware and its open-source clients write the DRW marker as D2
//! instead of D1, and pad short messages with zeros to [`PADDED_LEN`] bytes.

pub const MAGIC: u8 = 0xF1;
pub const HEADER_LEN: usize = 4;
pub const UID_LEN: usize = 20;
pub const DRW_MAGIC: u8 = 0xD1;
/// The DRW marker values real devices send.
pub const DRW_MARKERS: [u8; 2] = [DRW_MAGIC, 0xD2];
pub static DRW_MARKER_NAMES: &[(u32, &str)] = &[(0xD1, "D1 (CS2)"), (0xD2, "D2 (iLnk)")];
pub const DRW_HEADER_LEN: usize = 4;
/// iLnk pads messages shorter than this with zero bytes.
pub const PADDED_LEN: usize = 32;

pub const HELLO: u8 = 0x00;
pub const HELLO_ACK: u8 = 0x01;
pub const DEV_LGN: u8 = 0x10;
pub const DEV_LGN_ACK: u8 = 0x11;
pub const P2P_REQ: u8 = 0x20;
pub const LAN_SEARCH: u8 = 0x30;
pub const PUNCH_PKT: u8 = 0x41;
pub const P2P_RDY: u8 = 0x42;
pub const DRW: u8 = 0xD0;
pub const DRW_ACK: u8 = 0xD1;
pub const ALIVE: u8 = 0xE0;
pub const ALIVE_ACK: u8 = 0xE1;
pub const CLOSE: u8 = 0xF0;

/// Message type names (from the public PPPP research).
pub static TYPE_NAMES: &[(u32, &str)] = &[
    (0x00, "HELLO"),
    (0x01, "HELLO_ACK"),
    (0x02, "HELLO_TO"),
    (0x03, "HELLO_TO_ACK"),
    (0x08, "QUERY_DID"),
    (0x09, "QUERY_DID_ACK"),
    (0x10, "DEV_LGN"),
    (0x11, "DEV_LGN_ACK"),
    (0x12, "DEV_LGN_CRC"),
    (0x13, "DEV_LGN_ACK_CRC"),
    (0x14, "DEV_LGN_KEY"),
    (0x15, "DEV_LGN_ACK_KEY"),
    (0x16, "DEV_LGN_DSK"),
    (0x18, "DEV_ONLINE_REQ"),
    (0x19, "DEV_ONLINE_REQ_ACK"),
    (0x20, "P2P_REQ"),
    (0x21, "P2P_REQ_ACK"),
    (0x26, "P2P_REQ_DSK"),
    (0x30, "LAN_SEARCH"),
    (0x31, "LAN_NOTIFY"),
    (0x32, "LAN_NOTIFY_ACK"),
    (0x40, "PUNCH_TO"),
    (0x41, "PUNCH_PKT"),
    (0x42, "P2P_RDY"),
    (0x43, "P2P_RDY_ACK"),
    (0x60, "RS_LGN"),
    (0x61, "RS_LGN_ACK"),
    (0x62, "RS_LGN1"),
    (0x63, "RS_LGN1_ACK"),
    (0x67, "LIST_REQ1"),
    (0x68, "LIST_REQ"),
    (0x69, "LIST_REQ_ACK"),
    (0x6A, "LIST_REQ_DSK"),
    (0x70, "RLY_HELLO"),
    (0x71, "RLY_HELLO_ACK"),
    (0x72, "RLY_PORT"),
    (0x73, "RLY_PORT_ACK"),
    (0x74, "RLY_PORT_KEY"),
    (0x75, "RLY_PORT_ACK_KEY"),
    (0x78, "RLY_BYTE_COUNT"),
    (0x80, "RLY_REQ"),
    (0x81, "RLY_REQ_ACK"),
    (0x82, "RLY_TO"),
    (0x83, "RLY_PKT"),
    (0x84, "RLY_RDY"),
    (0x85, "RLY_TO_ACK"),
    (0x87, "RLY_SERVER_REQ"),
    (0x90, "SDEV_RUN"),
    (0x91, "SDEV_LGN"),
    (0x92, "SDEV_LGN_CRC"),
    (0x94, "SDEV_REPORT"),
    (0xA0, "CONNECT_REPORT"),
    (0xA1, "REPORT_REQ"),
    (0xA2, "REPORT"),
    (0xD0, "DRW"),
    (0xD1, "DRW_ACK"),
    (0xD8, "PSR"),
    (0xE0, "ALIVE"),
    (0xE1, "ALIVE_ACK"),
    (0xF0, "CLOSE"),
    (0xF4, "MGM_DUMP_LOGIN_DID"),
    (0xF5, "MGM_DUMP_LOGIN_DID_DETAIL"),
    (0xF6, "MGM_DUMP_LOGIN_DID_1"),
    (0xF7, "MGM_LOG_CONTROL"),
    (0xF8, "MGM_REMOTE_MANAGEMENT"),
    (0xF9, "REPORT_SESSION_READY"),
];

pub fn type_name(ty: u8) -> Option<&'static str> {
    TYPE_NAMES.iter().find(|(v, _)| *v == ty as u32).map(|(_, n)| *n)
}

/// Types whose payload starts with the device UID.
pub fn carries_uid(ty: u8) -> bool {
    matches!(ty, DEV_LGN | P2P_REQ | PUNCH_PKT | P2P_RDY)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub ty: u8,
    pub length: u16,
}

impl Header {
    pub fn total_len(&self) -> usize {
        HEADER_LEN + self.length as usize
    }
}

/// The header at the start of `data`, if it has the magic.
pub fn parse_header(data: &[u8]) -> Option<Header> {
    match data.get(..HEADER_LEN)? {
        &[MAGIC, ty, hi, lo] => Some(Header { ty, length: u16::from_be_bytes([hi, lo]) }),
        _ => None,
    }
}

/// A header that can only be a PPPP message of exactly `len` bytes: the
/// check behind the heuristic and the PSK search.
pub fn is_exact_header(head: &[u8], len: usize) -> bool {
    parse_header(head).is_some_and(|h| type_name(h.ty).is_some() && h.total_len() == len)
}

/// The zero padding after the message in `datagram`, if the datagram is
/// longer than its header says and every byte after the message is zero.
pub fn padding(datagram: &[u8]) -> Option<std::ops::Range<usize>> {
    let h = parse_header(datagram)?;
    let rest = datagram.get(h.total_len()..).filter(|r| !r.is_empty())?;
    rest.iter().all(|&b| b == 0).then(|| h.total_len()..datagram.len())
}

/// A known-type message padded with zeros to exactly [`PADDED_LEN`] bytes,
/// as iLnk sends them: the heuristic's second pattern.
pub fn is_padded_message(datagram: &[u8]) -> bool {
    datagram.len() == PADDED_LEN
        && parse_header(datagram).is_some_and(|h| type_name(h.ty).is_some())
        && padding(datagram).is_some()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uid {
    pub prefix: String,
    pub serial: u32,
    pub check: String,
}

impl std::fmt::Display for Uid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{:06}-{}", self.prefix, self.serial, self.check)
    }
}

/// A NUL-padded char[8] holding 1..=7 uppercase letters or digits.
fn padded_text(raw: &[u8]) -> Option<String> {
    let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let (text, pad) = raw.split_at(len);
    let ok = (1..raw.len()).contains(&len)
        && text.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && pad.iter().all(|&b| b == 0);
    ok.then(|| String::from_utf8_lossy(text).into_owned())
}

/// Parses the 20-byte UID at the start of `payload`.
pub fn parse_uid(payload: &[u8]) -> Option<Uid> {
    let raw = payload.get(..UID_LEN)?;
    Some(Uid {
        prefix: padded_text(&raw[..8])?,
        serial: u32::from_be_bytes([raw[8], raw[9], raw[10], raw[11]]),
        check: padded_text(&raw[12..20])?,
    })
}

pub fn encode_uid(uid: &Uid) -> [u8; UID_LEN] {
    let mut out = [0u8; UID_LEN];
    let p = uid.prefix.as_bytes();
    let c = uid.check.as_bytes();
    out[..p.len().min(7)].copy_from_slice(&p[..p.len().min(7)]);
    out[8..12].copy_from_slice(&uid.serial.to_be_bytes());
    out[12..12 + c.len().min(7)].copy_from_slice(&c[..c.len().min(7)]);
    out
}

/// The DRW / DRW_ACK sub-header: marker, channel and index (DRW) or count
/// (ACK).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drw {
    pub marker: u8,
    pub channel: u8,
    pub index_or_count: u16,
}

pub fn parse_drw(payload: &[u8]) -> Option<Drw> {
    match payload.get(..DRW_HEADER_LEN)? {
        &[marker, channel, hi, lo] if DRW_MARKERS.contains(&marker) => {
            Some(Drw { marker, channel, index_or_count: u16::from_be_bytes([hi, lo]) })
        }
        _ => None,
    }
}

/// A whole message: header and payload.
pub fn encode(ty: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&[MAGIC, ty]);
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

pub fn encode_drw(channel: u8, index: u16, data: &[u8]) -> Vec<u8> {
    let mut payload = vec![DRW_MAGIC, channel];
    payload.extend_from_slice(&index.to_be_bytes());
    payload.extend_from_slice(data);
    encode(DRW, &payload)
}

pub fn encode_drw_ack(channel: u8, indexes: &[u16]) -> Vec<u8> {
    let mut payload = vec![DRW_MAGIC, channel];
    payload.extend_from_slice(&(indexes.len() as u16).to_be_bytes());
    for i in indexes {
        payload.extend_from_slice(&i.to_be_bytes());
    }
    encode(DRW_ACK, &payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid() -> Uid {
        Uid { prefix: "ABCD".into(), serial: 12345, check: "XYZUV".into() }
    }

    #[test]
    fn lan_search_is_f1300000() {
        assert_eq!(encode(LAN_SEARCH, &[]), [0xf1, 0x30, 0x00, 0x00]);
        assert_eq!(parse_header(&[0xf1, 0x30, 0, 0]), Some(Header { ty: LAN_SEARCH, length: 0 }));
        assert!(is_exact_header(&[0xf1, 0x30, 0, 0], 4));
        assert!(!is_exact_header(&[0xf1, 0x30, 0, 1], 4));
        assert!(!is_exact_header(&[0xf1, 0x3f, 0, 0], 4), "unknown type");
    }

    #[test]
    fn uid_round_trip_and_display() {
        let raw = encode_uid(&uid());
        assert_eq!(&raw[..8], b"ABCD\0\0\0\0");
        assert_eq!(&raw[8..12], &[0, 0, 0x30, 0x39]);
        assert_eq!(parse_uid(&raw), Some(uid()));
        assert_eq!(uid().to_string(), "ABCD-012345-XYZUV");
        let msg = encode(PUNCH_PKT, &raw);
        assert_eq!(parse_header(&msg), Some(Header { ty: PUNCH_PKT, length: 20 }));
    }

    #[test]
    fn uid_rejects_non_uids() {
        let mut raw = encode_uid(&uid());
        raw[2] = b'c';
        assert!(parse_uid(&raw).is_none(), "lowercase");
        let mut raw = encode_uid(&uid());
        raw[5] = b'Q';
        assert!(parse_uid(&raw).is_none(), "text after padding");
        assert!(parse_uid(&[0u8; 20]).is_none(), "empty prefix");
        assert!(parse_uid(&[b'A'; 20]).is_none(), "no padding");
    }

    #[test]
    fn drw_and_ack() {
        let m = encode_drw(0, 7, b"hi");
        assert_eq!(m, [0xf1, 0xd0, 0, 6, 0xd1, 0, 0, 7, b'h', b'i']);
        assert_eq!(parse_drw(&m[4..]), Some(Drw { marker: 0xd1, channel: 0, index_or_count: 7 }));
        let a = encode_drw_ack(1, &[7, 8]);
        assert_eq!(a, [0xf1, 0xd1, 0, 8, 0xd1, 1, 0, 2, 0, 7, 0, 8]);
        assert_eq!(parse_drw(&a[4..]), Some(Drw { marker: 0xd1, channel: 1, index_or_count: 2 }));
        assert_eq!(parse_drw(&[0xd2, 1, 0, 1]), Some(Drw { marker: 0xd2, channel: 1, index_or_count: 1 }));
        assert!(parse_drw(&[0xd3, 0, 0, 0]).is_none());
    }

    #[test]
    fn zero_padding_to_32_bytes() {
        let mut alive = encode(ALIVE, &[]);
        assert_eq!(padding(&alive), None);
        alive.resize(PADDED_LEN, 0);
        assert_eq!(padding(&alive), Some(4..32));
        assert!(is_padded_message(&alive));
        alive[20] = 1;
        assert_eq!(padding(&alive), None, "a non-zero byte is not padding");
        assert!(!is_padded_message(&alive));
        let mut long = encode(ALIVE, &[]);
        long.resize(40, 0);
        assert!(padding(&long).is_some() && !is_padded_message(&long), "the heuristic wants exactly 32");
    }

    #[test]
    fn truncation_and_garbage_never_panic() {
        let m = encode(PUNCH_PKT, &encode_uid(&uid()));
        for cut in 0..m.len() {
            let h = parse_header(&m[..cut]);
            assert_eq!(h.is_some(), cut >= HEADER_LEN);
            assert!(!is_exact_header(&m[..cut], cut) || cut == m.len());
            let _ = parse_uid(m.get(HEADER_LEN..cut).unwrap_or(&[]));
            let _ = parse_drw(&m[..cut]);
        }
        let mut x = 99u32;
        for len in 0..100 {
            let g: Vec<u8> = (0..len).map(|_| { x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345); (x >> 16) as u8 }).collect();
            let _ = (parse_header(&g), parse_uid(&g), parse_drw(&g), is_exact_header(&g, g.len()));
        }
    }
}
