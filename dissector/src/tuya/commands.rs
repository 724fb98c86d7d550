//! Tuya command numbers (the `cmd` field of both framings).

pub const SESS_KEY_NEG_START: u32 = 0x03;
pub const SESS_KEY_NEG_RESP: u32 = 0x04;
pub const SESS_KEY_NEG_FINISH: u32 = 0x05;
pub const CONTROL: u32 = 0x07;
pub const STATUS: u32 = 0x08;
pub const HEART_BEAT: u32 = 0x09;
pub const DP_QUERY: u32 = 0x0a;
pub const CONTROL_NEW: u32 = 0x0d;
pub const DP_QUERY_NEW: u32 = 0x10;
pub const UPDATEDPS: u32 = 0x12;
pub const UDP_NEW: u32 = 0x13;
pub const BOARDCAST_LPV34: u32 = 0x23;
pub const REQ_DEVINFO: u32 = 0x25;
pub const LAN_EXT_STREAM: u32 = 0x40;

pub static NAMES: &[(u32, &str)] = &[
    (0x00, "UDP"),
    (0x01, "AP_CONFIG"),
    (0x02, "ACTIVE"),
    (SESS_KEY_NEG_START, "SESS_KEY_NEG_START"),
    (SESS_KEY_NEG_RESP, "SESS_KEY_NEG_RESP"),
    (SESS_KEY_NEG_FINISH, "SESS_KEY_NEG_FINISH"),
    (0x06, "UNBIND"),
    (CONTROL, "CONTROL"),
    (STATUS, "STATUS"),
    (HEART_BEAT, "HEART_BEAT"),
    (DP_QUERY, "DP_QUERY"),
    (0x0b, "QUERY_WIFI"),
    (0x0c, "TOKEN_BIND"),
    (CONTROL_NEW, "CONTROL_NEW"),
    (0x0e, "ENABLE_WIFI"),
    (0x0f, "WIFI_INFO"),
    (DP_QUERY_NEW, "DP_QUERY_NEW"),
    (0x11, "SCENE_EXECUTE"),
    (UPDATEDPS, "UPDATEDPS"),
    (UDP_NEW, "UDP_NEW"),
    (0x14, "AP_CONFIG_NEW"),
    (0x1c, "BOARDCAST_LPV34_OLD"),
    (BOARDCAST_LPV34, "BOARDCAST_LPV34"),
    (REQ_DEVINFO, "REQ_DEVINFO"),
    (LAN_EXT_STREAM, "LAN_EXT_STREAM"),
];

/// The command's name, or its number in hex.
pub fn name(cmd: u32) -> String {
    NAMES
        .iter()
        .find(|(n, _)| *n == cmd)
        .map_or_else(|| format!("0x{cmd:02x}"), |(_, s)| (*s).to_string())
}
