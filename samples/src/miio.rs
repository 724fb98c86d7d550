//! Xiaomi miIO traffic for the demo sample: an app talking to a plug on
//! the LAN (UDP 54321) whose hello reply leaks its token, built with the
//! dissector crate's own encoder.

use std::time::Duration;

use phonehome::miio::frame::{self, Token};

use crate::{Capture, Host};

/// A fictional miIO device for samples (id and token invented).
pub struct MiioDevice {
    pub host: Host,
    pub device_id: u32,
    pub token: Token,
}

pub fn demo_device() -> MiioDevice {
    MiioDevice {
        host: Host::new([0x78, 0x11, 0xdc, 0x01, 0x02, 0x03], [192, 168, 50, 31]),
        device_id: 0x0a1b2c3d,
        token: *b"phonehome-demo!!",
    }
}

pub fn demo_app() -> Host {
    Host::new([0x02, 0x00, 0x00, 0x00, 0x00, 0x10], [192, 168, 50, 10])
}

/// Hello, a hello reply that leaks the token, then `rounds` polls of
/// get_prop with their replies, one every 10 seconds.
pub fn miio_lan(device: &MiioDevice, rounds: u32) -> Capture {
    let mut cap = Capture::new();
    let app = demo_app();
    cap.udp(app, 40000, device.host, 54321, &frame::encode_hello());
    cap.udp(device.host, 54321, app, 40000, &frame::encode_hello_reply(device.device_id, 1000, &device.token));
    for id in 1..=rounds {
        let stamp = 1000 + id * 10;
        let request = format!(r#"{{"id":{id},"method":"get_prop","params":["power","temperature"]}}"#);
        let reply = format!(r#"{{"id":{id},"result":["on",{}]}}"#, 20 + id);
        cap.udp(app, 40000, device.host, 54321, &frame::encode(device.device_id, stamp, &device.token, request.as_bytes()));
        cap.wait(Duration::from_millis(40));
        cap.udp(device.host, 54321, app, 40000, &frame::encode(device.device_id, stamp, &device.token, reply.as_bytes()));
        cap.wait(Duration::from_secs(10));
    }
    cap
}
