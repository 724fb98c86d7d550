//! The fixed "Charlie" scramble of ThroughTek Kalay (IOTC) datagrams.
//!
//! Key: the first 16 bytes of `Charlie is the designer of P2P!!`. The
//! datagram is cut into 16-byte blocks; descrambling one block:
//! ```text
//! 1. rotate little-endian u32 word i (i = 0..3) left by 3 + 4i
//! 2. permute bytes: out[i] = in[P[i]], P = (11,9,8,15,13,10,12,14,2,1,5,0,6,4,7,3)
//! 3. XOR the key
//! 4. rotate word i left by 1 + 4i
//! ```
//! A tail of n < 16 bytes is permuted with the 2-, 4- or 8-byte swap (other
//! lengths as they are) and XORed with the key. Scrambling is the exact
//! inverse. When bit 0 of the (descrambled) flags byte is set, only the
//! first 64 bytes are scrambled and the rest travels as is.

/// The scramble key.
pub const KEY: [u8; 16] = *b"Charlie is the d";

/// Bytes scrambled in the "partial" variant (flags bit 0).
pub const PARTIAL_LEN: usize = 64;

const BLOCK: usize = 16;
const BLOCK_PERM: [usize; 16] = [11, 9, 8, 15, 13, 10, 12, 14, 2, 1, 5, 0, 6, 4, 7, 3];
const SWAP2: [usize; 2] = [1, 0];
const SWAP4: [usize; 4] = [2, 3, 0, 1];
const SWAP8: [usize; 8] = [7, 4, 3, 2, 1, 6, 5, 0];

/// Rotates each little-endian u32 word `i` of a block left by `base + 4i`
/// (right when `left` is false).
fn rotate_words(block: &mut [u8], base: u32, left: bool) {
    for (i, word) in block.chunks_exact_mut(4).enumerate() {
        let w = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        let by = base + 4 * i as u32;
        let w = if left { w.rotate_left(by) } else { w.rotate_right(by) };
        word.copy_from_slice(&w.to_le_bytes());
    }
}

fn xor_key(bytes: &mut [u8]) {
    for (b, k) in bytes.iter_mut().zip(KEY) {
        *b ^= k;
    }
}

/// `out[i] = in[perm[i]]` (`inverse`: `out[perm[i]] = in[i]`).
fn permute(bytes: &mut [u8], perm: &[usize], inverse: bool) {
    let mut tmp = [0u8; BLOCK];
    tmp[..bytes.len()].copy_from_slice(bytes);
    for (i, &p) in perm.iter().enumerate() {
        if inverse {
            bytes[p] = tmp[i];
        } else {
            bytes[i] = tmp[p];
        }
    }
}

fn tail_perm(n: usize) -> &'static [usize] {
    match n {
        2 => &SWAP2,
        4 => &SWAP4,
        8 => &SWAP8,
        _ => &[],
    }
}

/// Descrambles `buf` in place (every byte).
pub fn descramble(buf: &mut [u8]) {
    let mut blocks = buf.chunks_exact_mut(BLOCK);
    for block in &mut blocks {
        rotate_words(block, 3, true);
        permute(block, &BLOCK_PERM, false);
        xor_key(block);
        rotate_words(block, 1, true);
    }
    let tail = blocks.into_remainder();
    permute(tail, tail_perm(tail.len()), false);
    xor_key(tail);
}

/// Scrambles `buf` in place (every byte): the inverse of [`descramble`].
pub fn scramble(buf: &mut [u8]) {
    let mut blocks = buf.chunks_exact_mut(BLOCK);
    for block in &mut blocks {
        rotate_words(block, 1, false);
        xor_key(block);
        permute(block, &BLOCK_PERM, true);
        rotate_words(block, 3, false);
    }
    let tail = blocks.into_remainder();
    xor_key(tail);
    permute(tail, tail_perm(tail.len()), true);
}

/// The descrambled 16-byte header of a datagram, if it has one.
pub fn header(wire: &[u8]) -> Option<[u8; 16]> {
    let mut h: [u8; 16] = wire.get(..BLOCK)?.try_into().ok()?;
    descramble(&mut h);
    Some(h)
}

/// Whether a header's flags ask for the partial (first 64 bytes) variant.
pub fn is_partial(header: &[u8; 16]) -> bool {
    is_partial_flags(header[3])
}

/// Bit 0 of the flags byte: only the first 64 bytes are scrambled.
pub fn is_partial_flags(flags: u8) -> bool {
    flags & 1 != 0
}

/// Descrambles a whole datagram: every byte, or only the first 64 when the
/// descrambled flags say so.
pub fn descramble_datagram(wire: &[u8]) -> Vec<u8> {
    let mut out = wire.to_vec();
    let partial = header(wire).is_some_and(|h| is_partial(&h));
    let end = if partial { out.len().min(PARTIAL_LEN) } else { out.len() };
    descramble(&mut out[..end]);
    out
}

/// Scrambles a plaintext datagram as a device would (the inverse of
/// [`descramble_datagram`]).
pub fn scramble_datagram(plain: &[u8]) -> Vec<u8> {
    let mut out = plain.to_vec();
    let partial = plain.get(3).is_some_and(|&f| is_partial_flags(f)) && plain.len() >= BLOCK;
    let end = if partial { out.len().min(PARTIAL_LEN) } else { out.len() };
    scramble(&mut out[..end]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{hex, unhex};

    use crate::fuzzing::noise;

    #[test]
    fn sixteen_zero_bytes_scramble_to_the_published_frame_key() {
        // Published in a CuboAI/TUTK LAN client: "XOR frame key (==
        // TransCodePartial of zeros): 6e2e8d8c40d040ca2d6d280c40e4cad8".
        let mut b = [0u8; 16];
        scramble(&mut b);
        assert_eq!(hex(&b), "6e2e8d8c40d040ca2d6d280c40e4cad8");
        descramble(&mut b);
        assert_eq!(b, [0u8; 16]);
    }

    #[test]
    fn zero_tail_shows_the_key_text() {
        // The Enabot write-up spotted "Charlie is" at the end of a packet: a
        // 10-byte tail of zeros (no swap for that length) is the key itself.
        let mut b = vec![0u8; 26];
        scramble(&mut b);
        assert_eq!(&b[16..], b"Charlie is");
        assert_eq!(&b[..16], unhex("6e2e8d8c40d040ca2d6d280c40e4cad8").unwrap());
    }

    #[test]
    fn tails_of_2_4_8_are_swapped() {
        for (n, perm) in [(2usize, &SWAP2[..]), (4, &SWAP4[..]), (8, &SWAP8[..])] {
            let plain: Vec<u8> = (1..=n as u8).collect();
            let mut s = plain.clone();
            scramble(&mut s);
            // descramble: out[i] = (s[perm[i]]) ^ key[i]
            let by_hand: Vec<u8> = (0..n).map(|i| s[perm[i]] ^ KEY[i]).collect();
            assert_eq!(by_hand, plain, "tail {n}");
        }
    }

    #[test]
    fn round_trip_over_many_lengths() {
        for len in 0..600 {
            for seed in 0..4u64 {
                let plain = noise(seed * 1000 + len as u64, len);
                let mut s = plain.clone();
                scramble(&mut s);
                if len >= 16 {
                    assert_ne!(s, plain, "len {len} scrambled to itself");
                }
                descramble(&mut s);
                assert_eq!(s, plain, "len {len} seed {seed}");
                assert_eq!(descramble_datagram(&scramble_datagram(&plain)), plain, "datagram len {len}");
            }
        }
    }

    #[test]
    fn partial_variant_leaves_bytes_after_64_alone() {
        let mut plain = noise(7, 100);
        plain[3] = 0x0b; // flags with bit 0
        let wire = scramble_datagram(&plain);
        assert_eq!(&wire[64..], &plain[64..]);
        assert_ne!(&wire[..64], &plain[..64]);
        assert_eq!(descramble_datagram(&wire), plain);
        plain[3] = 0x0a;
        let wire = scramble_datagram(&plain);
        assert_ne!(&wire[64..], &plain[64..]);
    }

    #[test]
    fn short_inputs_do_not_panic() {
        for len in 0..16 {
            let d = noise(len as u64, len);
            assert!(header(&d).is_none());
            let _ = descramble_datagram(&d);
        }
    }
}
