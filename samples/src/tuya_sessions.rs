//! Tuya device sessions on TCP 6668, one per protocol version with a
//! session key (3.3 ECB under the local key; 3.4 and 3.5 negotiating a
//! session key, then HMAC/ECB and AES-GCM frames), built with the dissector
//! crate's encoders. Used for fuzz seeds, the mutation run and the
//! benchmark; the end-to-end tests take their frames from tinytuya instead.

use phonehome::crypto::ecb_encrypt;
use phonehome::tuya::commands::*;
use phonehome::tuya::frame::{encode_55aa_crc, encode_55aa_hmac, encode_6699};
use phonehome::tuya::payload::{nonce_proof, session_key, Version};

use crate::{Capture, Host};

/// A fictional Tuya device with a local key (both invented).
pub struct SessionDevice {
    pub host: Host,
    pub dev_id: &'static str,
    pub local_key: [u8; 16],
    pub version: Version,
}

pub fn devices() -> Vec<SessionDevice> {
    let dev = |last: u8, dev_id, key: &[u8; 16], version| SessionDevice {
        host: Host::new([0x10, 0xd5, 0x61, 0x33, 0x00, last], [192, 168, 60, last]),
        dev_id,
        local_key: *key,
        version,
    };
    vec![
        dev(33, "bf33aaaaaaaaaaaaaaaa33", b"k33k33k33k33k33!", Version::V33),
        dev(34, "bf34bbbbbbbbbbbbbbbb34", b"k34k34k34k34k34!", Version::V34),
        dev(35, "bf35cccccccccccccccc35", b"k35k35k35k35k35!", Version::V35),
    ]
}

pub fn app() -> Host {
    Host::new([0x02, 0, 0, 0, 0x60, 0x01], [192, 168, 60, 1])
}

/// `"3.x"` + 12 zero bytes + `json`.
fn with_header(v: Version, json: &str) -> Vec<u8> {
    [v.as_str().as_bytes(), &[0u8; 12], json.as_bytes()].concat()
}

/// The frames of one session in order, each with its sender (0 client,
/// 1 device): `rounds` control/status exchanges after the handshake.
pub fn session_frames(d: &SessionDevice, rounds: u32) -> Vec<(usize, Vec<u8>)> {
    let key = &d.local_key;
    let control = |n: u32| format!(r#"{{"devId":"{}","dps":{{"1":{}}},"t":{}}}"#, d.dev_id, n.is_multiple_of(2), 1_704_067_200 + n);
    let status = |n: u32| format!(r#"{{"dps":{{"1":{},"20":{}}}}}"#, n.is_multiple_of(2), 230 + n);
    let mut out = Vec::new();
    match d.version {
        Version::V34 | Version::V35 => {
            let client: [u8; 16] = *b"0123456789abcdef";
            let device: [u8; 16] = *b"fedcba9876543210";
            let resp = [&device[..], &nonce_proof(key, &client)].concat();
            let finish = nonce_proof(key, &device);
            let session = session_key(d.version, key, &client, &device);
            if d.version == Version::V34 {
                out.push((0, encode_55aa_hmac(1, SESS_KEY_NEG_START, None, &ecb_encrypt(key, &client), key)));
                out.push((1, encode_55aa_hmac(1, SESS_KEY_NEG_RESP, Some(0), &ecb_encrypt(key, &resp), key)));
                out.push((0, encode_55aa_hmac(2, SESS_KEY_NEG_FINISH, None, &ecb_encrypt(key, &finish), key)));
                for n in 0..rounds {
                    let req = ecb_encrypt(&session, &with_header(d.version, &control(n)));
                    out.push((0, encode_55aa_hmac(3 + n, CONTROL_NEW, None, &req, &session)));
                    let rep = ecb_encrypt(&session, &with_header(d.version, &status(n)));
                    out.push((1, encode_55aa_hmac(3 + n, STATUS, Some(0), &rep, &session)));
                }
            } else {
                let iv = |n: u32| -> [u8; 12] { std::array::from_fn(|i| (n as u8).wrapping_add(i as u8)) };
                out.push((0, encode_6699(1, SESS_KEY_NEG_START, &iv(0), &client, key)));
                out.push((1, encode_6699(1, SESS_KEY_NEG_RESP, &iv(1), &[&[0u8; 4][..], &resp].concat(), key)));
                out.push((0, encode_6699(2, SESS_KEY_NEG_FINISH, &iv(2), &finish, key)));
                for n in 0..rounds {
                    let req = with_header(d.version, &control(n));
                    out.push((0, encode_6699(3 + n, CONTROL_NEW, &iv(10 + 2 * n), &req, &session)));
                    let rep = [&[0u8; 4][..], &with_header(d.version, &status(n))].concat();
                    out.push((1, encode_6699(3 + n, STATUS, &iv(11 + 2 * n), &rep, &session)));
                }
            }
        }
        _ => {
            for n in 0..rounds {
                let req = with_header(d.version, "");
                let req = [&req[..], &ecb_encrypt(key, control(n).as_bytes())].concat();
                out.push((0, encode_55aa_crc(1 + n, CONTROL, None, &req)));
                out.push((1, encode_55aa_crc(1 + n, STATUS, Some(0), &ecb_encrypt(key, status(n).as_bytes()))));
            }
        }
    }
    out
}

/// Every device's session on TCP 6668, each frame in its own segment.
pub fn tuya_sessions(rounds: u32) -> Capture {
    let mut cap = Capture::new();
    for (i, d) in devices().iter().enumerate() {
        let mut flow = cap.tcp(app(), 50_000 + i as u16, d.host, 6668);
        for (from, frame) in session_frames(d, rounds) {
            flow.send(from, &frame, &[]);
        }
    }
    cap
}
