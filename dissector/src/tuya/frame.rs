//! Tuya framing, without any crypto knowledge beyond the CRC.
//!
//! 55AA (3.1–3.4), big-endian:
//! ```text
//! 0       4      8      12       16                          -4-N    -4
//! 000055AA seqno  cmd    length   [retcode] payload            CRC32/HMAC 0000AA55
//!                        `length` counts from byte 16 through the suffix
//! ```
//! 6699 (3.5):
//! ```text
//! 0       4    6      10     14      18     30                   -20    -4
//! 00006699 0000 seqno  cmd    length  IV(12) ciphertext          tag(16) 00009966
//!                             `length` = IV + ciphertext + tag
//! ```

use crate::wire::be32;
use crate::PduLen;

pub const PREFIX_55AA: [u8; 4] = [0x00, 0x00, 0x55, 0xAA];
pub const SUFFIX_55AA: [u8; 4] = [0x00, 0x00, 0xAA, 0x55];
pub const PREFIX_6699: [u8; 4] = [0x00, 0x00, 0x66, 0x99];
pub const SUFFIX_6699: [u8; 4] = [0x00, 0x00, 0x99, 0x66];

/// Bytes before the payload of a 55AA frame and of a 6699 frame.
pub const HEADER_55AA: usize = 16;
pub const HEADER_6699: usize = 18;
pub const CRC_LEN: usize = 4;
pub const HMAC_LEN: usize = 32;
pub const GCM_IV_LEN: usize = 12;
pub const GCM_TAG_LEN: usize = 16;

/// Frames larger than this are taken as garbage rather than waited for.
pub const MAX_FRAME: usize = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `000055AA` … `0000AA55`
    V55aa,
    /// `00006699` … `00009966` (protocol 3.5)
    V6699,
}

/// The header of a frame and where its parts lie; offsets are into the
/// buffer given to [`parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub framing: Framing,
    pub seq: u32,
    pub cmd: u32,
    pub length: u32,
    /// Offset of the first byte after the header (retcode or payload; for
    /// 6699, the IV).
    pub body: usize,
    /// Offset of the suffix; the frame ends 4 bytes later.
    pub suffix: usize,
    /// Offset of the sequence number; command and length follow it.
    pub seq_at: usize,
}

/// Where a part of a frame lies: offset and length.
pub type At = (usize, usize);

pub const PREFIX_AT: At = (0, 4);
/// The two bytes after a 6699 prefix.
pub const RESERVED_6699_AT: At = (4, 2);

impl Frame {
    pub fn seq_at(&self) -> At {
        (self.seq_at, 4)
    }

    pub fn cmd_at(&self) -> At {
        (self.seq_at + 4, 4)
    }

    pub fn length_at(&self) -> At {
        (self.seq_at + 8, 4)
    }

    pub fn suffix_at(&self) -> At {
        (self.suffix, 4)
    }

    pub fn total_len(&self) -> usize {
        self.suffix + 4
    }

    /// Bytes between the header and the suffix: for 55AA, [retcode] +
    /// payload + CRC/HMAC; for 6699, IV + ciphertext + tag.
    pub fn inner<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        &data[self.body..self.suffix]
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer bytes than the header or than `length` says.
    Truncated { need: usize, have: usize },
    BadPrefix,
    BadSuffix([u8; 4]),
    /// `length` too small to hold the trailer, or absurdly large.
    BadLength(u32),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Truncated { need, have } => write!(f, "frame truncated: {have} of {need} bytes"),
            FrameError::BadPrefix => write!(f, "no 000055AA/00006699 prefix"),
            FrameError::BadSuffix(s) => write!(f, "bad suffix {}", crate::crypto::hex(s)),
            FrameError::BadLength(l) => write!(f, "implausible length field {l}"),
        }
    }
}

/// Which framing `data` starts with, if any.
pub fn framing_of(data: &[u8]) -> Option<Framing> {
    match data.get(..4)? {
        p if p == PREFIX_55AA => Some(Framing::V55aa),
        p if p == PREFIX_6699 => Some(Framing::V6699),
        _ => None,
    }
}

/// Header size, minimum `length` and total size for a frame whose length
/// field says `length`.
fn geometry(framing: Framing, length: u32) -> Result<(usize, usize), FrameError> {
    let (header, min) = match framing {
        Framing::V55aa => (HEADER_55AA, CRC_LEN + 4),
        Framing::V6699 => (HEADER_6699, GCM_IV_LEN + GCM_TAG_LEN),
    };
    let len = length as usize;
    if len < min || len > MAX_FRAME {
        return Err(FrameError::BadLength(length));
    }
    let total = match framing {
        Framing::V55aa => header + len,
        Framing::V6699 => header + len + 4,
    };
    Ok((header, total))
}

/// The length of the frame at the start of a TCP stream.
pub fn pdu_len(data: &[u8]) -> PduLen {
    let Some(framing) = framing_of(data) else {
        return if data.len() < 4 { PduLen::NeedMore } else { PduLen::NotMine };
    };
    let header = if framing == Framing::V55aa { HEADER_55AA } else { HEADER_6699 };
    if data.len() < header {
        return PduLen::NeedMore;
    }
    match be32(data, header - 4).map(|length| geometry(framing, length)) {
        Some(Ok((_, total))) => PduLen::Len(total),
        Some(Err(_)) => PduLen::NotMine,
        None => PduLen::NeedMore,
    }
}

/// Parses the frame at the start of `data` (trailing bytes are ignored).
pub fn parse(data: &[u8]) -> Result<Frame, FrameError> {
    let framing = framing_of(data).ok_or(FrameError::BadPrefix)?;
    let header = if framing == Framing::V55aa { HEADER_55AA } else { HEADER_6699 };
    let word = |at: usize| be32(data, at).ok_or(FrameError::Truncated { need: header, have: data.len() });
    // The sequence number follows the prefix (and the 6699 reserved bytes).
    let seq_at = match framing {
        Framing::V55aa => PREFIX_AT.1,
        Framing::V6699 => RESERVED_6699_AT.0 + RESERVED_6699_AT.1,
    };
    let length = word(seq_at + 8)?;
    let (_, total) = geometry(framing, length)?;
    if data.len() < total {
        return Err(FrameError::Truncated { need: total, have: data.len() });
    }
    let suffix = total - 4;
    let expected = if framing == Framing::V55aa { SUFFIX_55AA } else { SUFFIX_6699 };
    let got: [u8; 4] = data[suffix..total].try_into().expect("4 bytes");
    if got != expected {
        return Err(FrameError::BadSuffix(got));
    }
    Ok(Frame {
        framing,
        seq: word(seq_at)?,
        cmd: word(seq_at + 4)?,
        length,
        body: header,
        suffix,
        seq_at,
    })
}

/// Whether a 55AA payload seen from an unknown direction starts with a
/// return code (device→client frames do). Return codes are small numbers
/// while payloads start with "3.x", '{' or ciphertext, so three zero bytes
/// decide it (wrong for 1 in 2^24 ciphertexts).
pub fn has_retcode(payload: &[u8]) -> bool {
    payload.len() >= 4 && payload[..3] == [0, 0, 0]
}

/// CRC32 of a 55AA frame: from the prefix through the end of the payload.
pub fn crc32(frame_up_to_crc: &[u8]) -> u32 {
    crc32fast::hash(frame_up_to_crc)
}

/// Whether the 4 bytes before the suffix of a 55AA frame are the CRC32 of
/// what precedes them (3.1–3.3); otherwise the trailer may be an HMAC (3.4).
pub fn crc_matches(data: &[u8], f: &Frame) -> bool {
    let crc_at = f.suffix - CRC_LEN;
    crc_at >= f.body && be32(data, crc_at) == Some(crc32(&data[..crc_at]))
}

/// The parts of a 6699 frame: additional authenticated data (header after
/// the prefix), IV, ciphertext and tag, as offsets into the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcmParts {
    pub iv: usize,
    pub ciphertext: usize,
    pub tag: usize,
}

impl GcmParts {
    pub const AAD: std::ops::Range<usize> = 4..HEADER_6699;

    pub fn of(f: &Frame) -> GcmParts {
        // parse() guarantees length >= IV + tag.
        GcmParts { iv: f.body, ciphertext: f.body + GCM_IV_LEN, tag: f.suffix - GCM_TAG_LEN }
    }

    pub fn iv<'a>(&self, data: &'a [u8]) -> &'a [u8; GCM_IV_LEN] {
        data[self.iv..self.ciphertext].try_into().expect("12 bytes")
    }

    pub fn tag<'a>(&self, data: &'a [u8]) -> &'a [u8; GCM_TAG_LEN] {
        data[self.tag..self.tag + GCM_TAG_LEN].try_into().expect("16 bytes")
    }

    /// Decrypts and authenticates the frame with `key`.
    pub fn open(&self, data: &[u8], key: &[u8; 16]) -> Option<Vec<u8>> {
        crate::crypto::gcm_decrypt(key, self.iv(data), &data[Self::AAD], &data[self.ciphertext..self.tag], self.tag(data))
    }
}

/// Builds a 55AA frame: CRC32 trailer (3.1–3.3 and discovery) without
/// `hmac_key`, HMAC-SHA256 trailer (3.4) with it.
fn encode_55aa(seq: u32, cmd: u32, retcode: Option<u32>, payload: &[u8], hmac_key: Option<&[u8]>) -> Vec<u8> {
    let body_len = retcode.map_or(0, |_| 4) + payload.len();
    let trailer = if hmac_key.is_some() { HMAC_LEN } else { CRC_LEN };
    let mut out = Vec::with_capacity(HEADER_55AA + body_len + trailer + 4);
    out.extend_from_slice(&PREFIX_55AA);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&cmd.to_be_bytes());
    out.extend_from_slice(&((body_len + trailer + 4) as u32).to_be_bytes());
    if let Some(rc) = retcode {
        out.extend_from_slice(&rc.to_be_bytes());
    }
    out.extend_from_slice(payload);
    match hmac_key {
        Some(key) => {
            let mac = crate::crypto::hmac_sha256(key, &[&out]);
            out.extend_from_slice(&mac);
        }
        None => {
            let crc = crc32(&out);
            out.extend_from_slice(&crc.to_be_bytes());
        }
    }
    out.extend_from_slice(&SUFFIX_55AA);
    out
}

/// Builds a 55AA frame with a CRC32 trailer (3.1–3.3 and discovery).
pub fn encode_55aa_crc(seq: u32, cmd: u32, retcode: Option<u32>, payload: &[u8]) -> Vec<u8> {
    encode_55aa(seq, cmd, retcode, payload, None)
}

/// Builds a 55AA frame with an HMAC-SHA256 trailer keyed with `key` (3.4).
pub fn encode_55aa_hmac(seq: u32, cmd: u32, retcode: Option<u32>, payload: &[u8], key: &[u8; 16]) -> Vec<u8> {
    encode_55aa(seq, cmd, retcode, payload, Some(key))
}

/// Builds a 6699 frame (3.5): `plaintext` (retcode and version header
/// included, if any) sealed with AES-GCM under `key`.
pub fn encode_6699(seq: u32, cmd: u32, iv: &[u8; 12], plaintext: &[u8], key: &[u8; 16]) -> Vec<u8> {
    let length = GCM_IV_LEN + plaintext.len() + GCM_TAG_LEN;
    let mut out = Vec::with_capacity(HEADER_6699 + length + 4);
    out.extend_from_slice(&PREFIX_6699);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&cmd.to_be_bytes());
    out.extend_from_slice(&(length as u32).to_be_bytes());
    let (ct, tag) = crate::crypto::gcm_encrypt(key, iv, &out[GcmParts::AAD], plaintext);
    out.extend_from_slice(iv);
    out.extend_from_slice(&ct);
    out.extend_from_slice(&tag);
    out.extend_from_slice(&SUFFIX_6699);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_55aa() {
        let f = encode_55aa_crc(7, 0x13, Some(0), b"abc");
        assert_eq!(pdu_len(&f), PduLen::Len(f.len()));
        let p = parse(&f).unwrap();
        assert_eq!((p.seq, p.cmd, p.framing), (7, 0x13, Framing::V55aa));
        assert_eq!(p.total_len(), f.len());
        assert_eq!(p.inner(&f), &f[16..f.len() - 4]);
        assert!(has_retcode(&f[16..]));
        let crc_at = f.len() - 8;
        assert_eq!(be32(&f, crc_at), Some(crc32(&f[..crc_at])));
    }

    #[test]
    fn hmac_and_gcm_frames_round_trip() {
        let key = *b"0123456789abcdef";
        let f = encode_55aa_hmac(3, 0x10, None, &[0x11; 32], &key);
        let p = parse(&f).unwrap();
        assert!(!crc_matches(&f, &p));
        let mac_at = p.suffix - HMAC_LEN;
        assert_eq!(&f[mac_at..p.suffix], &crate::crypto::hmac_sha256(&key, &[&f[..mac_at]]));
        assert!(crc_matches(&encode_55aa_crc(1, 8, None, b"{}"), &parse(&encode_55aa_crc(1, 8, None, b"{}")).unwrap()));

        let g = encode_6699(9, 8, b"0123456789ab", b"\0\0\0\0{\"dps\":{}}", &key);
        let p = parse(&g).unwrap();
        assert_eq!((p.framing, p.seq, p.cmd, p.total_len()), (Framing::V6699, 9, 8, g.len()));
        assert_eq!(pdu_len(&g), PduLen::Len(g.len()));
        let parts = GcmParts::of(&p);
        assert_eq!(parts.open(&g, &key).unwrap(), b"\0\0\0\0{\"dps\":{}}");
        assert_eq!(parts.open(&g, b"fedcba9876543210"), None);
        let mut bad = g.clone();
        bad[9] ^= 1; // seqno is authenticated
        assert_eq!(GcmParts::of(&parse(&bad).unwrap()).open(&bad, &key), None);
        for cut in 0..g.len() {
            assert!(parse(&g[..cut]).is_err());
        }
    }

    #[test]
    fn rejects_bad_frames_without_panicking() {
        let f = encode_55aa_crc(1, 8, None, b"{}");
        for cut in 0..f.len() {
            let _ = parse(&f[..cut]);
            assert_ne!(pdu_len(&f[..cut]), PduLen::Len(cut + 1000));
        }
        assert_eq!(parse(&f[..10]), Err(FrameError::Truncated { need: 16, have: 10 }));
        let mut bad = f.clone();
        *bad.last_mut().unwrap() = 0;
        assert!(matches!(parse(&bad), Err(FrameError::BadSuffix(_))));
        let mut huge = f.clone();
        huge[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(pdu_len(&huge), PduLen::NotMine);
        assert_eq!(pdu_len(b"GET / HTTP/1.1"), PduLen::NotMine);
        assert_eq!(pdu_len(&[0, 0]), PduLen::NeedMore);
    }
}
