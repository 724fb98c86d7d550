//! Tuya LAN discovery: devices broadcast a JSON announcement every few
//! seconds, plain on UDP 6666 (3.1) and AES-128-ECB encrypted under a key
//! every Tuya device shares on UDP 6667 (3.3+).

use crate::crypto::{ecb_decrypt, ecb_encrypt, md5, CryptoError};

/// The passphrase whose MD5 is the public discovery key.
pub const UDP_KEY_SEED: &[u8] = b"yGAdlopoPVldABfn";

/// md5("yGAdlopoPVldABfn") = 6c1ec8e2bb9bb59ab50b0daf649b410a
pub fn udp_key() -> [u8; 16] {
    // Computed once: it showed in the plugin's profile, once per packet.
    static KEY: std::sync::OnceLock<[u8; 16]> = std::sync::OnceLock::new();
    *KEY.get_or_init(|| md5(&[UDP_KEY_SEED]))
}

pub fn decrypt(ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    ecb_decrypt(&udp_key(), ciphertext)
}

pub fn encrypt(plaintext: &[u8]) -> Vec<u8> {
    ecb_encrypt(&udp_key(), plaintext)
}

/// The members of an announcement (and of session payloads) that name the device.
pub const GW_ID: &str = "gwId";
pub const DEV_ID: &str = "devId";
pub const IP: &str = "ip";
pub const PRODUCT_KEY: &str = "productKey";
pub const VERSION: &str = "version";

/// Whether `key` is one of the members above.
pub fn is_key(key: &str) -> bool {
    matches!(key, GW_ID | DEV_ID | IP | PRODUCT_KEY | VERSION)
}

/// The identity a device announces; every field is optional on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Announcement {
    pub gw_id: Option<String>,
    /// `devId`, in session payloads rather than announcements.
    pub dev_id: Option<String>,
    pub ip: Option<String>,
    pub product_key: Option<String>,
    pub version: Option<String>,
}

impl Announcement {
    /// The announcement in a parsed payload, its members moved out of `map`.
    pub fn take(map: &mut serde_json::Map<String, serde_json::Value>) -> Announcement {
        let mut text = |k: &str| match map.remove(k) {
            Some(serde_json::Value::String(s)) => Some(s),
            _ => None,
        };
        Announcement {
            gw_id: text(GW_ID),
            dev_id: text(DEV_ID),
            ip: text(IP),
            product_key: text(PRODUCT_KEY),
            version: text(VERSION),
        }
    }

    /// `Discovery 50650122dc4f22bd40a1 192.168.242.181 v3.3`
    pub fn info(&self) -> String {
        let mut s = String::from("Discovery");
        for part in [&self.gw_id, &self.ip] {
            if let Some(p) = part {
                s.push(' ');
                s.push_str(p);
            }
        }
        if let Some(v) = &self.version {
            s.push_str(" v");
            s.push_str(v);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_matches_the_documented_value() {
        assert_eq!(crate::crypto::hex(&udp_key()), "6c1ec8e2bb9bb59ab50b0daf649b410a");
    }

    #[test]
    fn announcement_info() {
        let json = br#"{"ip":"192.168.242.181","gwId":"50650122dc4f22bd40a1","productKey":"k","version":"3.3"}"#;
        let (_, mut map) = crate::json::parse_object(&decrypt(&encrypt(json)).unwrap()).unwrap();
        let a = Announcement::take(&mut map);
        assert_eq!(a.info(), "Discovery 50650122dc4f22bd40a1 192.168.242.181 v3.3");
        assert_eq!(a.product_key.as_deref(), Some("k"));
    }
}
