//! iLnk binary commands on DRW channel 0 (the cameras sold with the
//! "YsxLite" app), as published by the people who reversed them
//! (DavidVentura/cam-reverse):
//! ```text
//! 0     2        4              6            8        12
//! 11 0A command  length u16 LE  dest u16     ticket   body (length - 4 bytes)
//!       u16 BE   (ticket+body)                        obfuscated
//! ```
//! The body obfuscation flips the lowest bit of every byte and rotates the
//! buffer by a few bytes; only the bit flip is undone here, because the
//! rotation differs between commands.

use crate::wire::be16;

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

/// Undoes the bit flip of the body obfuscation (the rotation stays).
pub fn unflip(body: &[u8]) -> Vec<u8> {
    body.iter().map(|b| b ^ 1).collect()
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
        assert_eq!(unflip(&data[12..16]), [0x18, 0x0f, 0, 0]);
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
