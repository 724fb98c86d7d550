//! The optional PPPP obfuscation ("P2P_Proprietary_Encrypt" in CS2's
//! library): a self-synchronising XOR stream over a fixed 256-byte table,
//! keyed by a 4-byte seed hashed from a pre-shared string (PSK).
//! ```text
//! seed = [ sum(psk), -sum(psk), sum(b / 3), xor(psk) ]        (all mod 256)
//! out[i] = in[i] ^ TABLE[(seed[c & 3] + c) & 0xff],  c = previous ciphertext byte (0 at first)
//! ```
//! Vendors pick the PSK; the public research lists the known ones
//! ([`VENDOR_PSKS`]), and the user can add more through a preference.

use std::sync::{OnceLock, RwLock};

pub type Seed = [u8; 4];

/// The fixed table shared by every PPPP implementation.
pub static TABLE: [u8; 256] = [
    0x7c, 0x9c, 0xe8, 0x4a, 0x13, 0xde, 0xdc, 0xb2, 0x2f, 0x21, 0x23, 0xe4, 0x30, 0x7b, 0x3d, 0x8c,
    0xbc, 0x0b, 0x27, 0x0c, 0x3c, 0xf7, 0x9a, 0xe7, 0x08, 0x71, 0x96, 0x00, 0x97, 0x85, 0xef, 0xc1,
    0x1f, 0xc4, 0xdb, 0xa1, 0xc2, 0xeb, 0xd9, 0x01, 0xfa, 0xba, 0x3b, 0x05, 0xb8, 0x15, 0x87, 0x83,
    0x28, 0x72, 0xd1, 0x8b, 0x5a, 0xd6, 0xda, 0x93, 0x58, 0xfe, 0xaa, 0xcc, 0x6e, 0x1b, 0xf0, 0xa3,
    0x88, 0xab, 0x43, 0xc0, 0x0d, 0xb5, 0x45, 0x38, 0x4f, 0x50, 0x22, 0x66, 0x20, 0x7f, 0x07, 0x5b,
    0x14, 0x98, 0x1d, 0x9b, 0xa7, 0x2a, 0xb9, 0xa8, 0xcb, 0xf1, 0xfc, 0x49, 0x47, 0x06, 0x3e, 0xb1,
    0x0e, 0x04, 0x3a, 0x94, 0x5e, 0xee, 0x54, 0x11, 0x34, 0xdd, 0x4d, 0xf9, 0xec, 0xc7, 0xc9, 0xe3,
    0x78, 0x1a, 0x6f, 0x70, 0x6b, 0xa4, 0xbd, 0xa9, 0x5d, 0xd5, 0xf8, 0xe5, 0xbb, 0x26, 0xaf, 0x42,
    0x37, 0xd8, 0xe1, 0x02, 0x0a, 0xae, 0x5f, 0x1c, 0xc5, 0x73, 0x09, 0x4e, 0x69, 0x24, 0x90, 0x6d,
    0x12, 0xb3, 0x19, 0xad, 0x74, 0x8a, 0x29, 0x40, 0xf5, 0x2d, 0xbe, 0xa5, 0x59, 0xe0, 0xf4, 0x79,
    0xd2, 0x4b, 0xce, 0x89, 0x82, 0x48, 0x84, 0x25, 0xc6, 0x91, 0x2b, 0xa2, 0xfb, 0x8f, 0xe9, 0xa6,
    0xb0, 0x9e, 0x3f, 0x65, 0xf6, 0x03, 0x31, 0x2e, 0xac, 0x0f, 0x95, 0x2c, 0x5c, 0xed, 0x39, 0xb7,
    0x33, 0x6c, 0x56, 0x7e, 0xb4, 0xa0, 0xfd, 0x7a, 0x81, 0x53, 0x51, 0x86, 0x8d, 0x9f, 0x77, 0xff,
    0x6a, 0x80, 0xdf, 0xe2, 0xbf, 0x10, 0xd7, 0x75, 0x64, 0x57, 0x76, 0xf3, 0x55, 0xcd, 0xd0, 0xc8,
    0x18, 0xe6, 0x36, 0x41, 0x62, 0xcf, 0x99, 0xf2, 0x32, 0x4c, 0x67, 0x60, 0x61, 0x92, 0xca, 0xd3,
    0xea, 0x63, 0x7d, 0x16, 0xb6, 0x8e, 0xd4, 0x68, 0x35, 0xc3, 0x52, 0x9d, 0x46, 0x44, 0x1e, 0x17,
];

/// PSKs published for PPPP vendors (the P2P servers use "SSD@cs2-network.").
pub static VENDOR_PSKS: &[&str] = &[
    "camera",
    "SHIX",
    "SSD@cs2-network.",
    "@@@@....",
    "VMSV",
    "FERRY@88",
    "mycamera",
    "Deng123abc",
    "Duncom",
    "JX20130716",
    "hyWHzyhtzH",
    "JYDGAOZHANP2P",
    "SZGMBESTER",
];

/// The 4-byte seed of a PSK.
pub fn seed(psk: &[u8]) -> Seed {
    let sum = psk.iter().fold(0u8, |a, &b| a.wrapping_add(b));
    let thirds = psk.iter().fold(0u8, |a, &b| a.wrapping_add(b / 3));
    let xor = psk.iter().fold(0u8, |a, &b| a ^ b);
    [sum, sum.wrapping_neg(), thirds, xor]
}

fn keystream(seed: &Seed, prev_cipher: u8) -> u8 {
    TABLE[seed[(prev_cipher & 3) as usize].wrapping_add(prev_cipher) as usize]
}

/// Deobfuscates `data` in place.
pub fn decrypt(seed: &Seed, data: &mut [u8]) {
    let mut prev = 0u8;
    for b in data {
        let c = *b;
        *b ^= keystream(seed, prev);
        prev = c;
    }
}

/// Obfuscates `data` in place (the inverse of [`decrypt`]).
pub fn encrypt(seed: &Seed, data: &mut [u8]) {
    let mut prev = 0u8;
    for b in data {
        *b ^= keystream(seed, prev);
        prev = *b;
    }
}

/// Where a PSK came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The user's preference list.
    User,
    /// The published vendor list.
    Vendor,
}

/// A PSK that deobfuscated a datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched {
    pub psk: String,
    pub origin: Origin,
    pub seed: Seed,
}

fn vendor_seeds() -> &'static [(&'static str, Seed)] {
    static SEEDS: OnceLock<Vec<(&'static str, Seed)>> = OnceLock::new();
    SEEDS.get_or_init(|| VENDOR_PSKS.iter().map(|p| (*p, seed(p.as_bytes()))).collect())
}

static USER: RwLock<Vec<(String, Seed)>> = RwLock::new(Vec::new());

/// Replaces the user's PSKs with a comma-separated list.
pub fn set_user_psks(list: &str) {
    let psks = list.split(',').map(str::trim).filter(|p| !p.is_empty()).map(|p| (p.to_string(), seed(p.as_bytes())));
    if let Ok(mut user) = USER.write() {
        *user = psks.collect();
    }
}

/// The first PSK (user list first, then vendors) under which `accept`
/// likes the first `probe` deobfuscated bytes of `data`.
pub fn find(data: &[u8], probe: usize, accept: impl Fn(&[u8]) -> bool) -> Option<Matched> {
    let head = data.get(..probe)?;
    let mut buf = [0u8; 16];
    let buf = buf.get_mut(..probe)?;
    let mut try_seed = |s: &Seed| {
        buf.copy_from_slice(head);
        decrypt(s, buf);
        accept(buf)
    };
    if let Ok(user) = USER.read() {
        if let Some((p, s)) = user.iter().find(|(_, s)| try_seed(s)) {
            return Some(Matched { psk: p.clone(), origin: Origin::User, seed: *s });
        }
    }
    vendor_seeds()
        .iter()
        .find(|(_, s)| try_seed(s))
        .map(|(p, s)| Matched { psk: p.to_string(), origin: Origin::Vendor, seed: *s })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_a_permutation() {
        let mut seen = [false; 256];
        for &b in TABLE.iter() {
            seen[b as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn camera_matches_the_published_dissector() {
        // magicus/pppp-dissector decrypts with the fixed seed 69 97 cc 19
        // and treats a first byte 0x2c as an obfuscated 0xF1 magic.
        assert_eq!(seed(b"camera"), [0x69, 0x97, 0xcc, 0x19]);
        let mut b = [0x2c];
        decrypt(&seed(b"camera"), &mut b);
        assert_eq!(b, [0xf1]);
    }

    #[test]
    fn round_trip_and_self_synchronisation() {
        let s = seed(b"SSD@cs2-network.");
        let plain: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut c = plain.clone();
        encrypt(&s, &mut c);
        assert_ne!(c, plain);
        let mut d = c.clone();
        decrypt(&s, &mut d);
        assert_eq!(d, plain);
        // Ciphertext feedback: a decrypt started mid-stream recovers after one byte.
        let mut tail = c[10..].to_vec();
        decrypt(&s, &mut tail);
        assert_eq!(&tail[1..], &plain[11..]);
    }

    #[test]
    fn find_prefers_the_user_list() {
        let mut wire = vec![0xf1, 0x41, 0x00, 0x14];
        encrypt(&seed(b"NotAVendorKey"), &mut wire);
        let is_punch = |b: &[u8]| b == [0xf1, 0x41, 0x00, 0x14];
        assert!(find(&wire, 4, is_punch).is_none());
        set_user_psks(" , NotAVendorKey ,other");
        let m = find(&wire, 4, is_punch).unwrap();
        assert_eq!((m.psk.as_str(), m.origin), ("NotAVendorKey", Origin::User));
        set_user_psks("");
        assert!(find(&wire, 4, is_punch).is_none());
        assert!(find(&wire[..2], 4, is_punch).is_none());
    }
}
