//! The block-cipher and digest helpers shared by the protocols, all from the
//! RustCrypto crates. Decryption never panics: bad lengths and bad padding
//! come back as errors for the caller to report.

use cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyInit, KeyIvInit};
use md5::{Digest, Md5};

/// Why a payload did not decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// The ciphertext is not a whole number of 16-byte blocks (or empty).
    Length,
    /// The PKCS#7 padding of the last block is invalid: usually a wrong key.
    Padding,
}

impl std::fmt::Display for CryptoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CryptoError::Length => "ciphertext is not a whole number of 16-byte blocks",
            CryptoError::Padding => "invalid PKCS#7 padding (wrong key?)",
        })
    }
}

fn check_blocks(data: &[u8]) -> Result<(), CryptoError> {
    if data.is_empty() || data.len() % 16 != 0 {
        return Err(CryptoError::Length);
    }
    Ok(())
}

/// AES-128-ECB decryption with PKCS#7 padding removed.
pub fn ecb_decrypt(key: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    check_blocks(data)?;
    ecb::Decryptor::<aes::Aes128>::new(key.into())
        .decrypt_padded_vec_mut::<Pkcs7>(data)
        .map_err(|_| CryptoError::Padding)
}

/// AES-128-ECB encryption with PKCS#7 padding.
pub fn ecb_encrypt(key: &[u8; 16], data: &[u8]) -> Vec<u8> {
    ecb::Encryptor::<aes::Aes128>::new(key.into()).encrypt_padded_vec_mut::<Pkcs7>(data)
}

/// AES-128-CBC decryption with PKCS#7 padding removed.
pub fn cbc_decrypt(key: &[u8; 16], iv: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    check_blocks(data)?;
    cbc::Decryptor::<aes::Aes128>::new(key.into(), iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(data)
        .map_err(|_| CryptoError::Padding)
}

/// AES-128-CBC encryption with PKCS#7 padding.
pub fn cbc_encrypt(key: &[u8; 16], iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<aes::Aes128>::new(key.into(), iv.into()).encrypt_padded_vec_mut::<Pkcs7>(data)
}

/// AES-128-ECB encryption of whole blocks without padding (key derivations).
pub fn ecb_encrypt_blocks(key: &[u8; 16], data: &[u8]) -> Option<Vec<u8>> {
    if !data.len().is_multiple_of(16) {
        return None;
    }
    ecb::Encryptor::<aes::Aes128>::new(key.into())
        .encrypt_padded_vec_mut::<cipher::block_padding::NoPadding>(data)
        .into()
}

/// HMAC-SHA256 of the concatenated `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// AES-128-GCM with a 12-byte nonce: decrypts `ciphertext` and checks the
/// 16-byte `tag` over `aad`. `None` when the tag does not verify.
pub fn gcm_decrypt(key: &[u8; 16], iv: &[u8; 12], aad: &[u8], ciphertext: &[u8], tag: &[u8; 16]) -> Option<Vec<u8>> {
    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::{Aes128Gcm, KeyInit as _};
    let mut buf = ciphertext.to_vec();
    Aes128Gcm::new(key.into())
        .decrypt_in_place_detached(iv.into(), aad, &mut buf, tag.into())
        .ok()
        .map(|()| buf)
}

/// AES-128-GCM encryption; returns ciphertext and tag.
pub fn gcm_encrypt(key: &[u8; 16], iv: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> (Vec<u8>, [u8; 16]) {
    use aes_gcm::aead::AeadInPlace;
    use aes_gcm::{Aes128Gcm, KeyInit as _};
    let mut buf = plaintext.to_vec();
    let tag = Aes128Gcm::new(key.into())
        .encrypt_in_place_detached(iv.into(), aad, &mut buf)
        .expect("GCM encrypts any length below 64 GiB");
    (buf, tag.into())
}

pub fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Parses hex text (even length, any case) into bytes.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    if t.len() % 2 != 0 || !t.is_ascii() {
        return None;
    }
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&t[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecb_round_trip_and_errors() {
        let key = *b"0123456789abcdef";
        let ct = ecb_encrypt(&key, b"{\"dps\":{}}");
        assert_eq!(ct.len(), 16);
        assert_eq!(ecb_decrypt(&key, &ct).unwrap(), b"{\"dps\":{}}");
        assert_eq!(ecb_decrypt(&key, &ct[..15]), Err(CryptoError::Length));
        assert_eq!(ecb_decrypt(&key, &[]), Err(CryptoError::Length));
        assert_eq!(ecb_decrypt(b"fedcba9876543210", &ct), Err(CryptoError::Padding));
    }

    #[test]
    fn cbc_round_trip() {
        let (key, iv) = ([7u8; 16], [9u8; 16]);
        let ct = cbc_encrypt(&key, &iv, b"hello");
        assert_eq!(cbc_decrypt(&key, &iv, &ct).unwrap(), b"hello");
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn gcm_matches_the_nist_test_case_3_and_rejects_a_bad_tag() {
        // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 3.
        let key: [u8; 16] = unhex("feffe9928665731c6d6a8f9467308308").unwrap().try_into().unwrap();
        let iv: [u8; 12] = unhex("cafebabefacedbaddecaf888").unwrap().try_into().unwrap();
        let pt = unhex(concat!(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72",
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
        ))
        .unwrap();
        let (ct, tag) = gcm_encrypt(&key, &iv, &[], &pt);
        assert_eq!(hex(&ct[..16]), "42831ec2217774244b7221b784d0d49c");
        assert_eq!(hex(&tag), "4d5c2af327cd64a62cf35abd2ba6fab4");
        assert_eq!(gcm_decrypt(&key, &iv, &[], &ct, &tag).unwrap(), pt);
        let mut bad = tag;
        bad[0] ^= 1;
        assert_eq!(gcm_decrypt(&key, &iv, &[], &ct, &bad), None);
        assert_eq!(gcm_decrypt(&key, &iv, b"aad", &ct, &tag), None);
    }

    #[test]
    fn md5_and_hex() {
        // The public Tuya UDP key, as documented in protocols.md.
        assert_eq!(hex(&md5(&[b"yGAdlopoPVldABfn"])), "6c1ec8e2bb9bb59ab50b0daf649b410a");
        assert_eq!(unhex("0aFF"), Some(vec![0x0a, 0xff]));
        assert_eq!(unhex("0a F"), None);
    }
}
