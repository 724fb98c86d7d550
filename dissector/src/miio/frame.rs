//! miIO framing and crypto, big-endian:
//! ```text
//! 0     2       4         8          12      16                 32
//! 2131  length  unknown   device id  stamp   checksum (16)      payload
//!       whole message     0 or FFFFFFFF      MD5(header[0:16] ‖ token ‖ payload)
//! ```
//! The payload is AES-128-CBC with key = MD5(token), IV = MD5(key ‖ token)
//! and PKCS#7 padding. A 32-byte message without payload is a hello; in a
//! hello reply the checksum field carries the token on unprovisioned devices.

use crate::crypto::{self, CryptoError};
use crate::wire::{be16, be32};
use crate::PduLen;

pub const MAGIC: [u8; 2] = [0x21, 0x31];
pub const HEADER_LEN: usize = 32;
pub const TOKEN_LEN: usize = 16;
/// Where the checksum (or a hello reply's token) lies in the header.
pub const CHECKSUM_AT: usize = 16;
/// Where each header field lies: offset and length (one source for the
/// parser below and the tree).
pub type At = (usize, usize);
pub const MAGIC_AT: At = (0, 2);
pub const LENGTH_AT: At = (2, 2);
pub const UNKNOWN_AT: At = (4, 4);
pub const DEVICE_ID_AT: At = (8, 4);
pub const STAMP_AT: At = (12, 4);
/// Bytes needed to read the length field.
pub const LENGTH_END: usize = LENGTH_AT.0 + LENGTH_AT.1;

pub type Token = [u8; TOKEN_LEN];

/// The 32-byte header of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub length: u16,
    pub unknown: u32,
    pub device_id: u32,
    pub stamp: u32,
    pub checksum: [u8; 16],
}

/// A hello's device id: all ones (the hello of python-miio's discovery and
/// of the cloud channel); a hello reply carries the device's own id.
pub const HELLO_DEVICE_ID: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelloKind {
    Hello = 0,
    Reply = 1,
}

impl Header {
    pub fn is_hello(&self) -> bool {
        self.length as usize == HEADER_LEN
    }

    pub fn hello_kind(&self) -> Option<HelloKind> {
        match (self.is_hello(), self.device_id) {
            (false, _) => None,
            (true, HELLO_DEVICE_ID) => Some(HelloKind::Hello),
            (true, _) => Some(HelloKind::Reply),
        }
    }

    /// The token a hello reply leaks: its checksum field, unless that is
    /// all FF or all 00 (provisioned devices).
    pub fn leaked_token(&self) -> Option<Token> {
        let c = self.checksum;
        (self.hello_kind() == Some(HelloKind::Reply) && c != [0xff; 16] && c != [0; 16]).then_some(c)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The bytes do not start with the 0x2131 magic.
    NotMiio,
    /// Fewer bytes than the header or than the length field says.
    Truncated { need: usize, have: usize },
    /// A length field smaller than the header.
    BadLength(u16),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::NotMiio => write!(f, "no 0x2131 magic"),
            FrameError::Truncated { need, have } => write!(f, "message truncated: {have} of {need} bytes"),
            FrameError::BadLength(l) => write!(f, "length field {l} is shorter than the 32-byte header"),
        }
    }
}

/// The length field of the message at the start of `data`, checked.
fn length_of(data: &[u8]) -> Result<u16, FrameError> {
    if data.len() < MAGIC.len() {
        return Err(FrameError::Truncated { need: LENGTH_END, have: data.len() });
    }
    if data[..2] != MAGIC {
        return Err(FrameError::NotMiio);
    }
    let length = be16(data, LENGTH_AT.0).ok_or(FrameError::Truncated { need: LENGTH_END, have: data.len() })?;
    if (length as usize) < HEADER_LEN {
        return Err(FrameError::BadLength(length));
    }
    Ok(length)
}

/// Parses the message at the start of `data` (bytes after `length` are
/// left to the caller).
pub fn parse(data: &[u8]) -> Result<Header, FrameError> {
    let length = length_of(data)?;
    let need = length as usize;
    let (Some(unknown), Some(device_id), Some(stamp), Some(checksum)) = (
        be32(data, UNKNOWN_AT.0),
        be32(data, DEVICE_ID_AT.0),
        be32(data, STAMP_AT.0),
        data.get(CHECKSUM_AT..HEADER_LEN).and_then(|c| <[u8; 16]>::try_from(c).ok()),
    ) else {
        return Err(FrameError::Truncated { need, have: data.len() });
    };
    if data.len() < need {
        return Err(FrameError::Truncated { need, have: data.len() });
    }
    Ok(Header { length, unknown, device_id, stamp, checksum })
}

/// The length of the message at the start of a TCP stream.
pub fn pdu_len(data: &[u8]) -> PduLen {
    match length_of(data) {
        Ok(l) => PduLen::Len(l as usize),
        Err(FrameError::Truncated { .. }) => PduLen::NeedMore,
        Err(_) => PduLen::NotMine,
    }
}

/// Whether a header is plausible for the heuristic: a length that is the
/// header plus whole AES blocks, and an unknown field of 0 or FFFFFFFF.
fn plausible(data: &[u8]) -> Option<usize> {
    let length = length_of(data).ok()? as usize;
    let unknown = be32(data, UNKNOWN_AT.0)?;
    ((length - HEADER_LEN) % 16 == 0 && (unknown == 0 || unknown == u32::MAX)).then_some(length)
}

/// Heuristic for ports not registered: `data` is one or more plausible
/// messages back to back, the last one possibly cut (a TCP segment
/// boundary) but with at least its first 16 header bytes.
pub fn looks_like(data: &[u8]) -> bool {
    let mut at = 0;
    while at < data.len() {
        let rest = &data[at..];
        let Some(length) = plausible(rest).filter(|_| rest.len() >= CHECKSUM_AT) else {
            return false;
        };
        at += length;
    }
    !data.is_empty()
}

/// MD5(header[0:16] ‖ token ‖ payload): the checksum a message should carry.
pub fn checksum(header16: &[u8], token: &Token, payload: &[u8]) -> [u8; 16] {
    crypto::md5(&[header16, token, payload])
}

/// Key = MD5(token), IV = MD5(key ‖ token).
pub fn key_iv(token: &Token) -> ([u8; 16], [u8; 16]) {
    let key = crypto::md5(&[token]);
    let iv = crypto::md5(&[&key, token]);
    (key, iv)
}

pub fn decrypt(token: &Token, payload: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let (key, iv) = key_iv(token);
    crypto::cbc_decrypt(&key, &iv, payload)
}

pub fn encrypt(token: &Token, plaintext: &[u8]) -> Vec<u8> {
    let (key, iv) = key_iv(token);
    crypto::cbc_encrypt(&key, &iv, plaintext)
}

fn header16(length: usize, unknown: u32, device_id: u32, stamp: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(length);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&(length as u16).to_be_bytes());
    out.extend_from_slice(&unknown.to_be_bytes());
    out.extend_from_slice(&device_id.to_be_bytes());
    out.extend_from_slice(&stamp.to_be_bytes());
    out
}

/// Builds an encrypted message (for samples and tests).
pub fn encode(device_id: u32, stamp: u32, token: &Token, plaintext: &[u8]) -> Vec<u8> {
    let payload = encrypt(token, plaintext);
    let mut out = header16(HEADER_LEN + payload.len(), 0, device_id, stamp);
    let sum = checksum(&out, token, &payload);
    out.extend_from_slice(&sum);
    out.extend_from_slice(&payload);
    out
}

/// The discovery hello: `21310020` + 28 × FF.
pub fn encode_hello() -> Vec<u8> {
    let mut out = header16(HEADER_LEN, u32::MAX, HELLO_DEVICE_ID, u32::MAX);
    out.extend_from_slice(&[0xff; 16]);
    out
}

/// A hello reply; `token` is what the checksum field carries (the token
/// itself on unprovisioned devices, else all FF).
pub fn encode_hello_reply(device_id: u32, stamp: u32, token: &Token) -> Vec<u8> {
    let mut out = header16(HEADER_LEN, 0, device_id, stamp);
    out.extend_from_slice(token);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: Token = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff];

    /// Built by python-miio 0.5.12 (`Message.build`, token 00112233…eeff,
    /// device 0x0a1b2c3d, stamp 101) with payload
    /// `{"id": 1, "method": "get_prop", "params": ["power"]}` + NUL.
    const PYTHON_MIIO_GET_PROP: &str = "21310060000000000a1b2c3d00000065ba3b3aafab6b94935005eb69790f5e3c\
        2a36b2b7afa85bd6a9f1ed82b485a3d68628cb0ba48901152cb9ce59f42b292529bf9211d2778169fd9d357e85849a2e\
        8fef8363055a49d402cdfb63054804d6";

    fn get_prop() -> Vec<u8> {
        crypto::unhex(&PYTHON_MIIO_GET_PROP.replace(' ', "")).unwrap()
    }

    #[test]
    fn reads_a_python_miio_message() {
        let m = get_prop();
        let h = parse(&m).unwrap();
        assert_eq!((h.length, h.unknown, h.device_id, h.stamp), (96, 0, 0x0a1b2c3d, 101));
        assert_eq!(checksum(&m[..16], &TOKEN, &m[32..]), h.checksum);
        let plain = decrypt(&TOKEN, &m[32..]).unwrap();
        assert_eq!(plain, b"{\"id\": 1, \"method\": \"get_prop\", \"params\": [\"power\"]}\0");
        assert_eq!(pdu_len(&m), PduLen::Len(96));
        assert!(looks_like(&m));
        assert_eq!(h.hello_kind(), None);
    }

    #[test]
    fn our_encoder_matches_python_miio() {
        let plain = b"{\"id\": 1, \"method\": \"get_prop\", \"params\": [\"power\"]}\0";
        assert_eq!(encode(0x0a1b2c3d, 101, &TOKEN, plain), get_prop());
    }

    #[test]
    fn hellos() {
        let hello = encode_hello();
        assert_eq!(crypto::hex(&hello), format!("21310020{}", "ff".repeat(28)));
        let h = parse(&hello).unwrap();
        assert_eq!((h.hello_kind(), h.leaked_token()), (Some(HelloKind::Hello), None));
        let reply = parse(&encode_hello_reply(7, 9, &TOKEN)).unwrap();
        assert_eq!((reply.hello_kind(), reply.leaked_token()), (Some(HelloKind::Reply), Some(TOKEN)));
        let provisioned = parse(&encode_hello_reply(7, 9, &[0xff; 16])).unwrap();
        assert_eq!(provisioned.leaked_token(), None);
        assert_eq!(parse(&encode_hello_reply(7, 9, &[0; 16])).unwrap().leaked_token(), None);
        // The cloud channel's hellos (protocols.md): device id all ones.
        let cloud = crypto::unhex(&format!("21310020{}{}", "ff".repeat(8), "00".repeat(20))).unwrap();
        assert_eq!(parse(&cloud).unwrap().hello_kind(), Some(HelloKind::Hello));
        assert!(looks_like(&cloud));
    }

    #[test]
    fn truncation_at_every_byte() {
        let m = get_prop();
        for cut in 0..m.len() {
            let part = &m[..cut];
            assert!(
                matches!(parse(part), Err(FrameError::Truncated { have, .. }) if have == cut),
                "cut {cut}: {:?}",
                parse(part)
            );
            let want = if cut < LENGTH_END { PduLen::NeedMore } else { PduLen::Len(96) };
            assert_eq!(pdu_len(part), want, "cut {cut}");
            assert_eq!(looks_like(part), cut >= CHECKSUM_AT, "cut {cut}");
        }
    }

    #[test]
    fn several_messages_in_one_segment() {
        let mut seg = encode_hello();
        seg.extend_from_slice(&get_prop());
        assert!(looks_like(&seg));
        let mut cut = seg.clone();
        cut.extend_from_slice(&get_prop()[..20]);
        assert!(looks_like(&cut), "the last message may continue in the next segment");
        assert_eq!(pdu_len(&cut), PduLen::Len(32));
        seg.extend_from_slice(b"GET / HTTP/1.1\r\n");
        assert!(!looks_like(&seg));
    }

    #[test]
    fn rejects_what_is_not_miio() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(FrameError::NotMiio));
        assert_eq!(pdu_len(b"GET / HTTP/1.1"), PduLen::NotMine);
        assert_eq!(pdu_len(&[0x21]), PduLen::NeedMore);
        let mut short = encode_hello();
        short[3] = 31;
        assert_eq!(parse(&short), Err(FrameError::BadLength(31)));
        assert_eq!(pdu_len(&short), PduLen::NotMine);
        let mut odd = get_prop();
        odd[3] = 95; // not whole AES blocks
        assert!(!looks_like(&odd[..95]));
        let mut unknown = get_prop();
        unknown[5] = 1;
        assert!(!looks_like(&unknown));
        assert!(!looks_like(&[]));
    }

    #[test]
    fn random_garbage_never_panics() {
        // Deterministic garbage, some of it starting with the magic.
        for round in 0..20_000u64 {
            let len = (round % 90) as usize;
            let mut buf = crate::fuzzing::noise(round, len);
            if round % 3 == 0 && len >= 2 {
                buf[..2].copy_from_slice(&MAGIC);
            }
            let _ = parse(&buf);
            let _ = pdu_len(&buf);
            let _ = looks_like(&buf);
            if buf.len() > 32 {
                let _ = decrypt(&TOKEN, &buf[32..]);
            }
        }
    }
}
