//! A Tuya 3.4 session for the demo: the device's discovery broadcast, then
//! an app on TCP 6668 negotiating the session key (SESS_KEY_NEG_*), asking
//! for the data points, switching the device on, and the device pushing
//! its new state. Built with the dissector's own encoders.

use std::time::Duration;

use phonehome::crypto::ecb_encrypt;
use phonehome::tuya::{commands, frame, payload};

use crate::scenarios::{demo_devices, TuyaDevice};
use crate::{Capture, Host};

/// The demo device's 16-character local key (invented).
pub const DEMO_LOCAL_KEY: &str = "phdemo34localkey";

const CLIENT_NONCE: [u8; 16] = *b"0123456789abcdef";
const DEVICE_NONCE: [u8; 16] = *b"fedcba9876543210";

/// The 3.4 device of [`demo_devices`].
pub fn demo_device() -> TuyaDevice {
    demo_devices().into_iter().find(|d| d.version == "3.4").expect("a 3.4 demo device")
}

/// "3.4" and 12 zero bytes: the version header 3.4 puts inside the ciphertext.
fn version_header() -> Vec<u8> {
    let mut h = b"3.4".to_vec();
    h.resize(payload::VERSION_HEADER_LEN, 0);
    h
}

/// The session, with `key` as the device's local key.
pub fn session_34(key: &[u8; 16]) -> Capture {
    let device = demo_device();
    let app = Host::new([0x02, 0x42, 0xac, 0x11, 0x00, 0x0a], [192, 168, 50, 10]);
    let sk = payload::session_key(payload::Version::V34, key, &CLIENT_NONCE, &DEVICE_NONCE);
    let proof = |nonce: &[u8]| payload::nonce_proof(key, nonce);
    let with_header = |json: &[u8]| [version_header().as_slice(), json].concat();

    let mut cap = Capture::new();
    let (port, broadcast) = device.discovery_frame();
    cap.udp(device.host, 49154, Host::broadcast(), port, &broadcast);
    cap.wait(Duration::from_secs(2));
    let mut flow = cap.tcp(app, 51000, device.host, 6668);
    flow.client(&frame::encode_55aa_hmac(1, commands::SESS_KEY_NEG_START, None, &ecb_encrypt(key, &CLIENT_NONCE), key));
    let resp = [DEVICE_NONCE.as_slice(), &proof(&CLIENT_NONCE)].concat();
    flow.server(&frame::encode_55aa_hmac(1, commands::SESS_KEY_NEG_RESP, Some(0), &ecb_encrypt(key, &resp), key));
    flow.client(&frame::encode_55aa_hmac(2, commands::SESS_KEY_NEG_FINISH, None, &ecb_encrypt(key, &proof(&DEVICE_NONCE)), key));
    flow.client(&frame::encode_55aa_hmac(3, commands::DP_QUERY_NEW, None, &ecb_encrypt(&sk, b"{}"), &sk));
    let state = br#"{"dps":{"1":false,"2":"white","3":255}}"#;
    flow.server(&frame::encode_55aa_hmac(3, commands::DP_QUERY_NEW, Some(0), &ecb_encrypt(&sk, state), &sk));
    flow.wait(Duration::from_secs(3));
    let control = format!(r#"{{"protocol":5,"t":1704067205,"data":{{"dps":{{"1":true}}}},"devId":"{}"}}"#, device.gw_id);
    // A frame cut over two segments, as TCP may deliver it.
    let control = frame::encode_55aa_hmac(4, commands::CONTROL_NEW, None, &ecb_encrypt(&sk, &with_header(control.as_bytes())), &sk);
    flow.send(0, &control, &[20]);
    let pushed = br#"{"dps":{"1":true},"t":1704067205}"#;
    flow.server(&frame::encode_55aa_hmac(0, commands::STATUS, Some(0), &ecb_encrypt(&sk, &with_header(pushed)), &sk));
    cap
}
