//! Signatures that need no profile and no key: protocol facts (see
//! ../shared/protocols.md) worth an alert on any network. Their sids are
//! fixed, in [`SID_FIRST`]..=[`SID_LAST`].

use phonehome::{iotc, miio, pppp};

use super::quote;

pub const SID_FIRST: u32 = 1_770_000;
pub const SID_LAST: u32 = 1_770_099;

/// ThroughTek Kalay master servers (m1..m5.iotcplatform.com and the other
/// masters the Supra plug's firmware lists), on their UDP port.
pub const KALAY_MASTERS: [&str; 9] = [
    "50.19.254.134",
    "122.248.234.207",
    "46.137.188.54",
    "122.226.84.253",
    "61.188.37.216",
    "220.181.111.147",
    "120.24.59.150",
    "114.215.137.159",
    "175.41.238.100",
];
const KALAY_MASTER_PORT: u16 = iotc::MASTER_PORT;
pub const KALAY_MASTER_DOMAIN: &str = ".iotcplatform.com";
/// CS2 PPPP servers' UDP port; PPPP messages start with 0xF1,
/// type, length (BE); the types a device sends a server are below 0x30.
const PPPP_SERVER_PORT: u16 = pppp::SERVER_PORT;
/// miIO LAN port; a hello reply is 32 bytes `21 31 00 20 …` whose last 16
/// (the checksum field) carry the token on an unprovisioned device.
const MIIO_PORT: u16 = miio::LAN_PORT;

/// Where a LAN protocol's traffic should stay: private, link-local,
/// loopback, multicast and broadcast addresses.
const LAN: &str = "[10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,169.254.0.0/16,127.0.0.0/8,224.0.0.0/4,255.255.255.255,fc00::/7,fe80::/10,ff00::/8,::1]";

/// Each signature, one line, sids ascending.
pub fn all() -> Vec<String> {
    let sig = |offset: u32, header: &str, msg: &str, body: &str, name: &str, classtype: &str| {
        format!(
            "alert {header} (msg:{}; {body} metadata:phonehome_signature {name}; classtype:{classtype}; sid:{}; rev:1;)",
            quote(&format!("phonehome: {msg}")),
            SID_FIRST + offset
        )
    };
    let once = |bit: &str| format!("flowbits:isnotset,phonehome.{bit}; flowbits:set,phonehome.{bit};");
    let ff = "|FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF|";
    let zero = "|00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00|";
    vec![
        sig(
            0,
            &format!("udp any {MIIO_PORT} -> any any"),
            "miIO hello reply gives the device token away",
            &format!("dsize:32; content:\"|21 31 00 20|\"; depth:4; content:!\"{ff}\"; offset:16; depth:16; content:!\"{zero}\"; offset:16; depth:16;"),
            "miio-token-leak",
            "credential-theft",
        ),
        sig(
            10,
            &format!("udp any any -> [{}] {KALAY_MASTER_PORT}", KALAY_MASTERS.join(",")),
            "Kalay/IOTC traffic to a ThroughTek master server",
            &format!("dsize:>=16; {}", once("kalay")),
            "kalay-master",
            "policy-violation",
        ),
        sig(
            11,
            "dns any any -> any any",
            "DNS lookup of a ThroughTek Kalay master server",
            &format!("dns.query; content:{}; nocase; endswith;", quote(KALAY_MASTER_DOMAIN)),
            "kalay-master-dns",
            "policy-violation",
        ),
        sig(
            20,
            &format!("udp any any -> !{LAN} {PPPP_SERVER_PORT}"),
            "CS2 PPPP traffic to a P2P server",
            &format!("dsize:>=4; content:\"|F1|\"; depth:1; byte_test:1,<,0x30,1; {}", once("pppp")),
            "pppp-server",
            "policy-violation",
        ),
        sig(
            30,
            &format!("tcp any any -> !{LAN} any"),
            "Tuya LAN protocol leaving the LAN",
            &format!("content:\"|00 00 55 AA|\"; depth:4; {}", once("tuya")),
            "tuya-leaves-lan",
            "policy-violation",
        ),
        sig(
            31,
            &format!("udp any any -> !{LAN} any"),
            "Tuya LAN protocol leaving the LAN",
            &format!("content:\"|00 00 55 AA|\"; depth:4; {}", once("tuya")),
            "tuya-leaves-lan",
            "policy-violation",
        ),
        sig(
            32,
            &format!("tcp any any -> !{LAN} any"),
            "Tuya LAN protocol (3.5) leaving the LAN",
            &format!("content:\"|00 00 66 99|\"; depth:4; {}", once("tuya")),
            "tuya-leaves-lan",
            "policy-violation",
        ),
        sig(
            33,
            &format!("udp any any -> !{LAN} any"),
            "Tuya LAN protocol (3.5) leaving the LAN",
            &format!("content:\"|00 00 66 99|\"; depth:4; {}", once("tuya")),
            "tuya-leaves-lan",
            "policy-violation",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_in_range_and_unique() {
        let sids: Vec<u32> = all().iter().map(|s| s.split("sid:").nth(1).unwrap().split(';').next().unwrap().parse().unwrap()).collect();
        let mut sorted = sids.clone();
        sorted.dedup();
        assert_eq!(sorted, sids);
        assert!(sids.iter().all(|s| (SID_FIRST..=SID_LAST).contains(s)));
        assert!(all().iter().all(|s| s.contains("msg:\"phonehome: ") && s.contains("classtype:")));
    }
}
