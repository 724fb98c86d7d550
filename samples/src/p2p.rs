//! P2P camera traffic: ThroughTek Kalay (IOTC) and CS2 PPPP. Message
//! layouts follow the public descriptions (go2rtc's `pkg/tutk`, the PPPP
//! research); every datagram is scrambled or obfuscated by the dissector
//! crate's own encoders, which its unit tests pin to published vectors.

use phonehome::iotc::{header as iotc, scramble};
use phonehome::pppp::{message as pppp, psk};

use crate::{Capture, Host};

pub const APP: Host = Host { mac: [0x02, 0, 0, 0, 0, 0x50], ip: std::net::Ipv4Addr::new(192, 168, 1, 50) };
pub const CAMERA: Host = Host { mac: [0x02, 0, 0, 0, 0, 0x60], ip: std::net::Ipv4Addr::new(192, 168, 1, 60) };
pub const PLUG: Host = Host { mac: [0x02, 0, 0, 0, 0, 0x61], ip: std::net::Ipv4Addr::new(192, 168, 1, 61) };
/// m1.iotcplatform.com, as the Supra plug's firmware lists it.
pub const KALAY_MASTER: Host = Host { mac: [0x02, 0, 0, 0, 0, 0x01], ip: std::net::Ipv4Addr::new(50, 19, 254, 134) };
pub const CS2_SERVER: Host = Host { mac: [0x02, 0, 0, 0, 0, 0x01], ip: std::net::Ipv4Addr::new(203, 0, 113, 10) };

/// Fictional Kalay UIDs (20 characters).
pub const CAMERA_UID: &str = "CFPA9X5WNKKNRA7N111A";
pub const PLUG_UID: &str = "SUPRA1B2C3D4E5F6G7H8";

/// A Kalay datagram as it goes on the wire: header + body (from byte 11),
/// scrambled.
pub fn iotc_datagram(version: u8, flags: u8, seq: u16, opcode: u16, direction: u8, body: &[u8]) -> Vec<u8> {
    let h = iotc::Header { version, flags, length: 0, seq, opcode, direction };
    scramble::scramble_datagram(&iotc::encode(&h, body))
}

/// go2rtc's ConnectByUID layouts: `len` bytes in all, UID at 16.
fn uid_body(uid: &str, len: usize) -> Vec<u8> {
    let mut body = vec![0u8; 5];
    body.extend_from_slice(uid.as_bytes());
    body.resize(len - 11, 0);
    body
}

/// Plaintexts published in go2rtc's pkg/tutk/conn.go (device ping, client
/// pong, a channel-5 session message).
pub const PUBLISHED_PING: &str = "0402120a 08000000 28041200 000000005b0d4202070aa8c0";
pub const PUBLISHED_PONG: &str = "04021a0a 08000000 27042100 000000005b0d4202070aa8c0";
pub const PUBLISHED_CH5: &str =
    "0402190a 20000400 07042100 7ecc05000c0000007ecc93c456c2561f 5a97c2f101050000000000000000000000010000";

pub fn unhex(s: &str) -> Vec<u8> {
    phonehome::crypto::unhex(&s.replace(' ', "")).expect("hex")
}

/// A Kalay session: LAN search and reply, the plug asking the master for
/// its public IP and a remote connect, then ping/pong and session data.
pub fn iotc_session() -> Capture {
    use iotc::*;
    let mut cap = Capture::new();
    let (c2d, d2c) = (CLIENT_TO_DEVICE, DEVICE_TO_CLIENT);
    cap.udp(APP, 40001, Host::broadcast(), 32761, &iotc_datagram(0x19, 0x02, 0, LAN_SEARCH, c2d, &uid_body(CAMERA_UID, 68)));
    cap.udp(CAMERA, 32761, APP, 40001, &iotc_datagram(0x19, 0x02, 0, LAN_SEARCH_REPLY, d2c, &uid_body(CAMERA_UID, 200)));
    cap.udp(PLUG, 40002, KALAY_MASTER, 10001, &iotc_datagram(0x19, 0x02, 0, GET_PUBLIC_IP, 0x18, &uid_body(PLUG_UID, 54)));
    cap.udp(PLUG, 40002, KALAY_MASTER, 10001, &iotc_datagram(0x19, 0x02, 1, GET_REMOTE_IP, 0x34, &uid_body(PLUG_UID, 112)));
    cap.udp(PLUG, 40002, KALAY_MASTER, 10001, &iotc_datagram(0x19, 0x02, 2, REMOTE_REQUEST, 0x33, &uid_body(PLUG_UID, 52)));
    for hex in [PUBLISHED_PING, PUBLISHED_PONG, PUBLISHED_CH5] {
        let (from, to) = if hex == PUBLISHED_PONG { (APP, CAMERA) } else { (CAMERA, APP) };
        cap.udp(from, 32761, to, 40001, &scramble::scramble_datagram(&unhex(hex)));
    }
    // Session data with flags bit 0: only the first 64 of 100 bytes scrambled.
    let mut body = vec![0u8; 3];
    body.push(1); // channel at 14
    body.resize(89, 0x5a);
    cap.udp(CAMERA, 32761, APP, 40001, &iotc_datagram(0x19, 0x0b, 9, SESSION_DATA_REPLY, d2c, &body));
    cap
}

pub fn pppp_uid(prefix: &str, serial: u32, check: &str) -> pppp::Uid {
    pppp::Uid { prefix: prefix.into(), serial, check: check.into() }
}

/// The channel-0 command block: flags, length (LE), JSON.
pub fn command_block(flags: [u8; 4], json: &str) -> Vec<u8> {
    let mut b = flags.to_vec();
    b.extend_from_slice(&(json.len() as u32).to_le_bytes());
    b.extend_from_slice(json.as_bytes());
    b
}

pub const CHECK_USER: &str = r#"{"pro":"check_user","cmd":100,"user":"admin","pwd":"1234"}"#;

fn obfuscated(psk_text: &str, mut msg: Vec<u8>) -> Vec<u8> {
    psk::encrypt(&psk::seed(psk_text.as_bytes()), &mut msg);
    msg
}

/// A PPPP LAN session in cleartext, one obfuscated with the published
/// "camera" PSK, one with a PSK only the user knows (`user_psk`), and a
/// device login to a P2P server.
pub fn pppp_session(user_psk: &str) -> Capture {
    use pppp::*;
    let mut cap = Capture::new();
    let clear = encode_uid(&pppp_uid("ABCD", 12345, "XYZUV"));
    cap.udp(APP, 40000, Host::broadcast(), 32108, &encode(LAN_SEARCH, &[]));
    cap.udp(CAMERA, 32108, APP, 40000, &encode(PUNCH_PKT, &clear));
    cap.udp(APP, 40000, CAMERA, 32108, &encode(PUNCH_PKT, &clear));
    cap.udp(CAMERA, 32108, APP, 40000, &encode(P2P_RDY, &clear));
    cap.udp(APP, 40000, CAMERA, 32108, &encode_drw(0, 0, &command_block([0; 4], CHECK_USER)));
    cap.udp(CAMERA, 32108, APP, 40000, &encode_drw_ack(0, &[0]));
    cap.udp(APP, 40000, CAMERA, 32108, &encode(ALIVE, &[]));
    cap.udp(CAMERA, 32108, APP, 40000, &encode(ALIVE_ACK, &[]));
    cap.udp(APP, 40000, CAMERA, 32108, &encode(CLOSE, &[]));
    let camera_psk = encode_uid(&pppp_uid("DGOA", 7, "QWERT"));
    cap.udp(PLUG, 32108, APP, 40000, &obfuscated("camera", encode(PUNCH_PKT, &camera_psk)));
    cap.udp(PLUG, 32108, APP, 40000, &obfuscated("camera", encode_drw(1, 42, b"media")));
    let secret = encode_uid(&pppp_uid("ZZZQ", 999_999, "SECRT"));
    cap.udp(PLUG, 32108, APP, 40000, &obfuscated(user_psk, encode(P2P_RDY, &secret)));
    let mut login = clear.to_vec();
    login.extend_from_slice(&[0u8; 16]);
    cap.udp(CAMERA, 32100, CS2_SERVER, 32100, &encode(DEV_LGN, &login));
    cap
}
