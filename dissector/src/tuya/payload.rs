//! What a Tuya payload holds per protocol version, and the version-specific
//! crypto around it (facts from tinytuya's `PROTOCOL.md` and core sources):
//!
//! * 3.1: only CONTROL is encrypted: `"3.1"` + md5hex(`data=` + b64 +
//!   `||lpv=3.1||` + key)[8..24] + base64(AES-128-ECB(key, JSON)).
//! * 3.2/3.3: AES-128-ECB(local key, JSON); most commands carry a clear
//!   `"3.x"` + 12-byte header before the ciphertext.
//! * 3.4: AES-128-ECB under the session key, the `"3.4"` header inside.
//! * 3.5: AES-GCM under the session key; plaintext = [retcode] + [`"3.5"`
//!   header] + JSON.
//!
//! 3.4 and 3.5 negotiate the session key with SESS_KEY_NEG_START (client
//! nonce), SESS_KEY_NEG_RESP (device nonce ‖ HMAC(local key, client nonce))
//! and SESS_KEY_NEG_FINISH (HMAC(local key, device nonce)).

use base64::Engine;

use crate::crypto::{ecb_decrypt, ecb_encrypt_blocks, gcm_encrypt, hex, hmac_sha256, md5, CryptoError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V31,
    V32,
    V33,
    V34,
    V35,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V31 => "3.1",
            Version::V32 => "3.2",
            Version::V33 => "3.3",
            Version::V34 => "3.4",
            Version::V35 => "3.5",
        }
    }

    /// The version a `"3.x"` text names.
    pub fn from_text(text: &[u8]) -> Option<Version> {
        match text {
            b"3.1" => Some(Version::V31),
            b"3.2" => Some(Version::V32),
            b"3.3" => Some(Version::V33),
            b"3.4" => Some(Version::V34),
            b"3.5" => Some(Version::V35),
            _ => None,
        }
    }

    /// Whether the session key is negotiated (3.4 and later).
    pub fn negotiates(self) -> bool {
        self >= Version::V34
    }
}

/// `"3.x"` followed by 12 bytes (zeros from clients; device pushes put
/// other values there).
pub const VERSION_HEADER_LEN: usize = 15;

/// The version named by a version header at the start of `bytes`.
pub fn version_header(bytes: &[u8]) -> Option<Version> {
    if bytes.len() < VERSION_HEADER_LEN {
        return None;
    }
    Version::from_text(&bytes[..3])
}

pub const NONCE_LEN: usize = 16;
pub const PROOF_LEN: usize = 32;

/// Commands of the session key negotiation, sent under the local key.
pub fn is_handshake(cmd: u32) -> bool {
    use super::commands::*;
    matches!(cmd, SESS_KEY_NEG_START | SESS_KEY_NEG_RESP | SESS_KEY_NEG_FINISH)
}

/// HMAC(local key, nonce): the proof of key possession in steps 2 and 3.
pub fn nonce_proof(local_key: &[u8; 16], nonce: &[u8]) -> [u8; 32] {
    hmac_sha256(local_key, &[nonce])
}

fn xor(a: &[u8; 16], b: &[u8; 16]) -> [u8; 16] {
    std::array::from_fn(|i| a[i] ^ b[i])
}

/// The session key both ends derive after the negotiation.
pub fn session_key(version: Version, local_key: &[u8; 16], client: &[u8; 16], device: &[u8; 16]) -> [u8; 16] {
    let mixed = xor(client, device);
    let derived = if version >= Version::V35 {
        // AES-GCM(local key, IV = client nonce[..12]) of the XOR: the
        // ciphertext, without IV or tag.
        let iv: [u8; 12] = client[..12].try_into().expect("12 of 16 bytes");
        gcm_encrypt(local_key, &iv, &[], &mixed).0
    } else {
        ecb_encrypt_blocks(local_key, &mixed).expect("one whole block")
    };
    derived[..16].try_into().expect("16 bytes")
}

/// Length of the md5 slice in a 3.1 CONTROL payload.
pub const V31_SIGNATURE_LEN: usize = 16;

/// md5hex(`data=` + b64 + `||lpv=3.1||` + key)[8..24], as ASCII.
pub fn v31_signature(key: &[u8; 16], b64: &[u8]) -> [u8; 16] {
    let digest = hex(&md5(&[b"data=", b64, b"||lpv=3.1||", key]));
    digest.as_bytes()[8..24].try_into().expect("16 hex digits")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V31Error {
    Base64,
    Crypto(CryptoError),
}

impl std::fmt::Display for V31Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            V31Error::Base64 => f.write_str("the payload is not base64"),
            V31Error::Crypto(e) => e.fmt(f),
        }
    }
}

/// Decrypts the base64 part of a 3.1 CONTROL payload.
pub fn v31_decrypt(key: &[u8; 16], b64: &[u8]) -> Result<Vec<u8>, V31Error> {
    let ct = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| V31Error::Base64)?;
    ecb_decrypt(key, &ct).map_err(V31Error::Crypto)
}

/// Return codes devices put before a reply's payload (0 success; 1 with a
/// text saying what was wrong, such as `json obj data unvalid`).
pub static RETCODE_NAMES: &[(u32, &str)] = &[(0, "Success"), (1, "Error")];

/// A payload that is the device's text message rather than JSON or
/// ciphertext: UTF-8 without control characters (trailing NULs dropped).
/// Sixteen random bytes pass this with odds below 1 in 10^6.
pub fn device_text(payload: &[u8]) -> Option<&str> {
    let end = payload.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let text = std::str::from_utf8(&payload[..end]).ok().filter(|t| !t.is_empty())?;
    text.chars().all(|c| !c.is_control() || c == '\t' || c == '\n' || c == '\r').then_some(text)
}

/// Where the parts of a decrypted payload lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// A 4-byte return code at offset 0 (device→client in 3.5).
    pub retcode: bool,
    /// A version header at `body - 15`.
    pub header: Option<Version>,
    /// Offset of the JSON or handshake data.
    pub body: usize,
}

/// Lays out a plaintext; `retcode` says whether a return code may lead it
/// (it does when three zero bytes start the text, which neither JSON, a
/// version header nor a nonce usually does).
pub fn layout(plain: &[u8], retcode: bool) -> Layout {
    let retcode = retcode && super::frame::has_retcode(plain);
    let mut body = if retcode { 4 } else { 0 };
    let header = version_header(&plain[body..]);
    if header.is_some() {
        body += VERSION_HEADER_LEN;
    }
    Layout { retcode, header, body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex;

    #[test]
    fn device_text_is_text_and_not_ciphertext() {
        assert_eq!(device_text(b"json obj data unvalid"), Some("json obj data unvalid"));
        assert_eq!(device_text(b"data format error\0\0"), Some("data format error"));
        assert_eq!(device_text(b""), None);
        assert_eq!(device_text(b"\0\0"), None);
        assert_eq!(device_text(&[0x9c, 0x41, 0x07, 0xee]), None);
        assert_eq!(device_text(b"ab\x01cd"), None);
    }

    #[test]
    fn versions_and_headers() {
        assert_eq!(version_header(b"3.3\0\0\0\0\0\0\0\0\0\0\0\0xyz"), Some(Version::V33));
        assert_eq!(version_header(b"3.3\0\0"), None);
        assert_eq!(version_header(b"4.0\0\0\0\0\0\0\0\0\0\0\0\0"), None);
        assert!(Version::V35.negotiates() && !Version::V33.negotiates());
        let l = layout(b"\0\0\0\x003.5\0\0\0\0\0\0\0\0\0\0\0\0{}", true);
        assert_eq!(l, Layout { retcode: true, header: Some(Version::V35), body: 19 });
        assert_eq!(layout(b"{}", true), Layout { retcode: false, header: None, body: 0 });
        assert_eq!(layout(b"\0\0\0\0{}", false).body, 0);
        for cut in 0..20 {
            let _ = layout(&b"\0\0\0\x003.5\0\0\0\0\0\0\0\0\0\0\0\0{}"[..cut], true);
        }
    }

    #[test]
    fn session_keys_follow_the_documented_derivation() {
        let local = *b"0123456789abcdef";
        let (c, d) = (*b"0123456789abcdef", [0u8; 16]);
        // XOR with zeros leaves the client nonce: 3.4 is then ECB(local, c).
        let ecb = ecb_encrypt_blocks(&local, &c).unwrap();
        assert_eq!(session_key(Version::V34, &local, &c, &d)[..], ecb[..]);
        // 3.5: the first GCM ciphertext block is the plaintext XOR
        // AES(key, IV ‖ 00000002).
        let mut counter = [0u8; 16];
        counter[..12].copy_from_slice(&c[..12]);
        counter[15] = 2;
        let stream = ecb_encrypt_blocks(&local, &counter).unwrap();
        let want: Vec<u8> = stream.iter().zip(c).map(|(s, x)| s ^ x).collect();
        assert_eq!(session_key(Version::V35, &local, &c, &d)[..], want[..]);
        assert_ne!(session_key(Version::V34, &local, &c, &[1; 16]), session_key(Version::V34, &local, &c, &d));
    }

    #[test]
    fn v31_control_round_trip() {
        let key = *b"0123456789abcdef";
        let ct = crate::crypto::ecb_encrypt(&key, br#"{"dps":{"1":true}}"#);
        let b64 = base64::engine::general_purpose::STANDARD.encode(ct);
        assert_eq!(v31_decrypt(&key, b64.as_bytes()).unwrap(), br#"{"dps":{"1":true}}"#);
        assert_eq!(v31_decrypt(&key, b"!!notbase64"), Err(V31Error::Base64));
        assert!(matches!(v31_decrypt(b"fedcba9876543210", b64.as_bytes()), Err(V31Error::Crypto(_))));
        let sig = v31_signature(&key, b64.as_bytes());
        assert!(sig.iter().all(u8::is_ascii_hexdigit));
        assert_ne!(sig, v31_signature(b"fedcba9876543210", b64.as_bytes()));
        assert_eq!(unhex(std::str::from_utf8(&sig).unwrap()).unwrap().len(), 8);
    }
}
