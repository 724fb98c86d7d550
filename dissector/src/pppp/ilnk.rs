//! iLnk binary commands on DRW channel 0 (the cameras sold with the
//! "YsxLite" app), as published by the people who reversed them
//! (DavidVentura/cam-reverse):
//! ```text
//! 0     2        4              6            8        12
//! 11 0A command  length u16 LE  dest u16     ticket   body (length - 4 bytes)
//!       u16 BE   (ticket+body)                        obfuscated
//! ```
//! The body obfuscation ("XqBytesEnc" in the vendor library) flips the
//! lowest bit of every byte, then rotates the body left by 4 bytes: its
//! first 4 bytes go to the end. The published client encodes and decodes
//! every command with rotation 4; decoded that way, the camera's replies give
//! plausible values (3864 mV battery, -65 dBm).
//!
//! Decoded bodies are C structs of the vendor SDK (little-endian `u32`s,
//! NUL-padded strings); [`layout`] names their parts as the reversers did.

use super::Field;
use crate::tree::Value;
use crate::wire::{be16, le16, le32};

pub const START: [u8; 2] = [0x11, 0x0A];
pub const HEADER_LEN: usize = 12;
pub const TICKET_AT: usize = 8;
pub const TICKET_LEN: usize = 4;

/// Command ids and the vendor SDK names the reversers found for them; a
/// reply is the command plus one.
pub static COMMAND_NAMES: &[(u32, &str)] = &[
    (0x0160, "Wi-Fi settings set (CMD_NET_WIFISETTING_SET)"),
    (0x0260, "Wi-Fi settings get (CMD_NET_WIFISETTING_GET)"),
    (0x0261, "Wi-Fi settings reply"),
    (0x0360, "Wi-Fi scan (CMD_NET_WIFI_SCAN)"),
    (0x0361, "Wi-Fi scan reply"),
    (0x0810, "System status get (CMD_SYSTEM_STATUS_GET)"),
    (0x0811, "System status reply"),
    (0x0A30, "IR cut on/off (CMD_PEER_IRCUT_ONOFF)"),
    (0x1010, "Shutdown (CMD_SYSTEM_SHUTDOWN)"),
    (0x1030, "Live video start (CMD_PEER_LIVEVIDEO_START)"),
    (0x1031, "Live video start reply"),
    (0x1110, "Reboot (CMD_SYSTEM_REBOOT)"),
    (0x1130, "Live video stop (CMD_PEER_LIVEVIDEO_STOP)"),
    (0x1830, "Video parameters set (CMD_PEER_VIDEOPARAM_SET)"),
    (0x1831, "Video parameters set reply"),
    (0x1930, "Video parameters get (CMD_PEER_VIDEOPARAM_GET)"),
    (0x2010, "User login"),
    (0x2011, "User login reply"),
];

pub fn command_name(cmd: u16) -> Option<&'static str> {
    COMMAND_NAMES.iter().find(|(v, _)| *v == cmd as u32).map(|(_, n)| *n)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command {
    pub command: u16,
    /// Bytes after the length field's end that it counts: ticket and body.
    pub length: u16,
    pub dest: u16,
}

impl Command {
    /// The body's length, as far as `data` (the whole command) holds it.
    pub fn body_len(&self, data: &[u8]) -> usize {
        (self.length as usize).saturating_sub(TICKET_LEN).min(data.len().saturating_sub(HEADER_LEN))
    }
}

/// The command header at the start of channel-0 DRW data.
pub fn parse(data: &[u8]) -> Option<Command> {
    if data.get(..2)? != START || data.len() < HEADER_LEN {
        return None;
    }
    Some(Command {
        command: be16(data, 2)?,
        length: u16::from_le_bytes([data[4], data[5]]),
        dest: be16(data, 6)?,
    })
}

/// How far the obfuscation rotates the body.
const ROTATION: usize = 4;

/// Undoes the body obfuscation: the body must be whole, since its last 4
/// bytes on the wire are its first 4.
pub fn deobfuscate(body: &[u8]) -> Vec<u8> {
    let mut plain: Vec<u8> = body.iter().map(|b| b ^ 1).collect();
    if plain.len() > ROTATION {
        plain.rotate_right(ROTATION);
    }
    plain
}

/// How the bytes of a body part read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A NUL-padded string.
    Text,
    /// A NUL-padded string that is a password: flagged as exposed.
    Secret,
    U16,
    U32,
    /// An `i32`.
    Signed,
    /// One signed byte.
    Signed8,
    /// Bit 0 of a `u32`.
    Flag,
    /// A `u32` shown as four dotted numbers, highest byte first.
    Version,
    Bytes,
}

/// One part of a decoded body.
pub struct Part {
    pub field: Field,
    pub at: usize,
    pub len: usize,
    pub shape: Shape,
}

const fn part(field: Field, at: usize, len: usize, shape: Shape) -> Part {
    Part { field, at, len, shape }
}

/// A command's body: fixed parts, then records of `record_len` bytes each
/// (as many as the reply's ticket slot counts) made of `record`.
pub struct Layout {
    pub parts: &'static [Part],
    pub record_len: usize,
    pub record: &'static [Part],
}

/// `devuser_t`: the login's account and password.
static LOGIN: &[Part] = &[
    part(Field::IlnkAccount, 0, 0x20, Shape::Text),
    part(Field::IlnkPassword, 0x20, 0x80, Shape::Secret),
];

/// The login reply: the ticket later commands carry (the client reads it 4
/// bytes into the body).
static LOGIN_REPLY: &[Part] = &[part(Field::IlnkLoginTicket, 4, 4, Shape::Bytes)];

/// The status reply, where the client reads firmware, battery, signal and
/// charging.
static STATUS: &[Part] = &[
    part(Field::IlnkFirmware, 0, 4, Shape::Version),
    part(Field::IlnkBattery, 4, 2, Shape::U16),
    part(Field::IlnkSignal, 0x10, 1, Shape::Signed8),
    part(Field::IlnkCharging, 0x14, 4, Shape::Flag),
];

/// `tag_wifiParams`: the Wi-Fi settings (set, and the reply to get).
static WIFI: &[Part] = &[
    part(Field::WifiEnable, 0, 4, Shape::U32),
    part(Field::WifiStatus, 4, 4, Shape::U32),
    part(Field::WifiMode, 8, 4, Shape::U32),
    part(Field::WifiChannel, 0x0c, 4, Shape::U32),
    part(Field::WifiAuth, 0x10, 4, Shape::U32),
    part(Field::WifiDhcp, 0x14, 4, Shape::U32),
    part(Field::WifiSsid, 0x18, 0x20, Shape::Text),
    part(Field::WifiPassword, 0x38, 0x80, Shape::Secret),
    part(Field::WifiIp, 0xb8, 0x10, Shape::Text),
    part(Field::WifiMask, 0xc8, 0x10, Shape::Text),
    part(Field::WifiGateway, 0xd8, 0x10, Shape::Text),
    part(Field::WifiDns1, 0xe8, 0x10, Shape::Text),
    part(Field::WifiDns2, 0xf8, 0x10, Shape::Text),
];

/// One network of a Wi-Fi scan reply (92 bytes). Firmware differs in what it
/// writes as the BSSID: raw bytes on some, hex text on others.
static SCAN_RECORD: &[Part] = &[
    part(Field::ScanSsid, 0, 0x40, Shape::Text),
    part(Field::ScanBssid, 0x40, 8, Shape::Bytes),
    part(Field::ScanSecurity, 0x48, 4, Shape::U32),
    part(Field::ScanSignal, 0x4c, 4, Shape::Signed),
    part(Field::ScanMode, 0x54, 4, Shape::U32),
    part(Field::ScanChannel, 0x58, 4, Shape::U32),
];
pub const SCAN_RECORD_LEN: usize = 0x5c;

/// `avparamset_t`: one video parameter.
static VIDEO_PARAM: &[Part] = &[
    part(Field::ParamType, 0, 4, Shape::U32),
    part(Field::ParamValue, 4, 4, Shape::U32),
];

/// The body layout of `command`, where the reversers published it.
pub fn layout(command: u16) -> Option<Layout> {
    let fixed = |parts| Layout { parts, record_len: 0, record: &[] };
    Some(match command {
        0x2010 => fixed(LOGIN),
        0x2011 => fixed(LOGIN_REPLY),
        0x0811 => fixed(STATUS),
        0x0160 | 0x0261 => fixed(WIFI),
        0x0361 => Layout { parts: &[], record_len: SCAN_RECORD_LEN, record: SCAN_RECORD },
        0x1830 => fixed(VIDEO_PARAM),
        _ => return None,
    })
}

/// The value of a part's bytes (`bytes` is exactly `part.len` long).
pub fn value(shape: Shape, bytes: &[u8]) -> Value {
    let u32le = |b: &[u8]| le32(b, 0).unwrap_or(0);
    match shape {
        Shape::Text | Shape::Secret => {
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            Value::Str(String::from_utf8_lossy(&bytes[..end]).into_owned())
        }
        Shape::U16 => Value::Uint(le16(bytes, 0).unwrap_or(0) as u64),
        Shape::U32 => Value::Uint(u32le(bytes) as u64),
        Shape::Signed => Value::Int(u32le(bytes) as i32 as i64),
        Shape::Signed8 => Value::Int(bytes.first().map_or(0, |&b| b as i8 as i64)),
        Shape::Flag => Value::Bool(u32le(bytes) & 1 == 1),
        Shape::Version => {
            let [a, b, c, d] = u32le(bytes).to_be_bytes();
            Value::Str(format!("{a}.{b}.{c}.{d}"))
        }
        Shape::Bytes => Value::Bytes(bytes.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex;

    #[test]
    fn camera_status_reply() {
        // DRW data of the camera's status reply in cam-reverse's tests.
        let data = unhex("110a08118000000000000000190e010101010101fefefefebefefefe0100000101").unwrap();
        let c = parse(&data).unwrap();
        assert_eq!(c, Command { command: 0x0811, length: 0x80, dest: 0 });
        assert_eq!(command_name(c.command), Some("System status reply"));
        assert_eq!(c.body_len(&data), data.len() - HEADER_LEN);
        let body = deobfuscate(&data[HEADER_LEN..]);
        assert_eq!(&body[4..8], [0x18, 0x0f, 0, 0], "the flipped first bytes, 4 in");
    }

    #[test]
    fn deobfuscate_undoes_the_published_encoding() {
        // XqBytesEnc: flip bit 0, then the first 4 bytes go to the end.
        let plain: Vec<u8> = (0..40u8).collect();
        let mut wire: Vec<u8> = plain.iter().map(|b| b ^ 1).collect();
        wire.rotate_left(ROTATION);
        assert_eq!(deobfuscate(&wire), plain);
        assert_eq!(deobfuscate(&[1, 2, 3]), [0, 3, 2], "a short body is only flipped");
    }

    #[test]
    fn values_of_parts() {
        assert_eq!(value(Shape::Text, b"ACRC.NET\0\0x"), Value::Str("ACRC.NET".into()));
        assert_eq!(value(Shape::Version, &[0x35, 2, 2, 1]), Value::Str("1.2.2.53".into()));
        assert_eq!(value(Shape::Signed8, &[0xbf]), Value::Int(-65));
        assert_eq!(value(Shape::Signed, &[0xb3, 0xff, 0xff, 0xff]), Value::Int(-77));
        assert_eq!(value(Shape::Flag, &[0, 1, 1, 0]), Value::Bool(false));
        assert_eq!(value(Shape::U16, &[0x18, 0x0f]), Value::Uint(3864));
    }

    #[test]
    fn not_a_command() {
        assert_eq!(parse(b"{\"cmd\":1}"), None);
        assert_eq!(parse(&[0x11, 0x0a, 0x08]), None);
        for n in 0..HEADER_LEN + 2 {
            let d: Vec<u8> = [0x11, 0x0a].iter().copied().chain(std::iter::repeat(0xff)).take(n).collect();
            if let Some(c) = parse(&d) {
                assert!(c.body_len(&d) <= d.len());
            }
        }
    }
}
