//! Ready-made traffic: what the demo sample and the tests put on the wire.
//! Every frame comes from the dissector crate's own encoders.

use std::time::Duration;

use phonehome::tuya::{commands, discovery, frame};

use crate::{Capture, Host};

/// A fictional Tuya device for samples.
pub struct TuyaDevice {
    pub host: Host,
    pub gw_id: &'static str,
    pub product_key: &'static str,
    pub version: &'static str,
}

impl TuyaDevice {
    /// The JSON a device puts in its discovery broadcast.
    pub fn announcement(&self) -> String {
        format!(
            r#"{{"ip":"{}","gwId":"{}","active":2,"ability":0,"mode":0,"encrypt":true,"productKey":"{}","version":"{}"}}"#,
            self.host.ip, self.gw_id, self.product_key, self.version
        )
    }

    /// The broadcast frame: plain JSON for 3.1 (UDP 6666), encrypted under
    /// the public key for later versions (UDP 6667).
    pub fn discovery_frame(&self) -> (u16, Vec<u8>) {
        let json = self.announcement();
        if self.version == "3.1" {
            (6666, frame::encode_55aa_crc(0, 0, Some(0), json.as_bytes()))
        } else {
            let cmd = if self.version >= "3.4" { commands::BOARDCAST_LPV34 } else { commands::UDP_NEW };
            (6667, frame::encode_55aa_crc(0, cmd, Some(0), &discovery::encrypt(json.as_bytes())))
        }
    }
}

/// The devices of the shipped demo sample (addresses from the documentation
/// ranges; ids and keys invented).
pub fn demo_devices() -> Vec<TuyaDevice> {
    vec![
        TuyaDevice {
            host: Host::new([0x10, 0xd5, 0x61, 0x01, 0x02, 0x03], [192, 168, 50, 21]),
            gw_id: "bf5d4a1c2e3f4a5b6c7d8e",
            product_key: "phdemoplug000001",
            version: "3.3",
        },
        TuyaDevice {
            host: Host::new([0x10, 0xd5, 0x61, 0x0a, 0x0b, 0x0c], [192, 168, 50, 22]),
            gw_id: "03200117dc4f22a1b2c3",
            product_key: "phdemobulb000002",
            version: "3.1",
        },
        TuyaDevice {
            host: Host::new([0x84, 0xe3, 0x42, 0x11, 0x22, 0x33], [192, 168, 50, 23]),
            gw_id: "bf91aa7e5c3d2b1a0f9e8d",
            product_key: "phdemocam0000003",
            version: "3.4",
        },
    ]
}

/// Discovery broadcasts of `devices`, each every 5 seconds for `rounds`
/// rounds, as Tuya devices do.
pub fn tuya_discovery(devices: &[TuyaDevice], rounds: usize) -> Capture {
    let mut cap = Capture::new();
    for _ in 0..rounds {
        for d in devices {
            let (port, frame) = d.discovery_frame();
            cap.udp(d.host, 49154, Host::broadcast(), port, &frame);
        }
        cap.wait(Duration::from_secs(5));
    }
    cap
}
