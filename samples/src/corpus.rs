//! Every sample capture by protocol, with the keys that decrypt it. The
//! fuzz targets (seeds and key configuration), the whole-plugin mutation
//! run and the benchmark all read this one list: a new protocol adds its
//! capture and its keys here and is fuzzed, mutated and benchmarked.

use std::net::Ipv4Addr;

use etherparse::{NetHeaders, PacketHeaders, TransportHeader};
use phonehome::{Packet, Transport};
pub use phonehome::protocol;

use crate::{miio, p2p, scenarios, tuya, tuya_sessions, Capture};

/// User PSK of the PPPP sample (the datagram no published PSK opens).
pub const PPPP_USER_PSK: &str = "MyVendorPSK";

/// A sample capture of one protocol.
pub struct Sample {
    /// The protocol's filter name (`tuya`, `iotc`, ...).
    pub protocol: &'static str,
    /// File name for the capture.
    pub name: &'static str,
    pub capture: Capture,
}

/// The sample captures of every protocol.
pub fn samples() -> Vec<Sample> {
    vec![
        Sample {
            protocol: "tuya",
            name: "tuya-discovery.pcap",
            capture: scenarios::tuya_discovery(&scenarios::demo_devices(), 2),
        },
        Sample { protocol: "tuya", name: "tuya-sessions.pcap", capture: tuya_sessions::tuya_sessions(3) },
        Sample {
            protocol: "tuya",
            name: "tuya-session-34.pcap",
            capture: tuya::session_34(tuya::DEMO_LOCAL_KEY.as_bytes().try_into().expect("16 bytes")),
        },
        Sample { protocol: "iotc", name: "iotc-session.pcap", capture: p2p::iotc_session() },
        Sample { protocol: "pppp", name: "pppp-session.pcap", capture: p2p::pppp_session(PPPP_USER_PSK) },
        Sample { protocol: "miio", name: "miio-lan.pcap", capture: miio::miio_lan(&miio::demo_device(), 3) },
    ]
}

/// The keys a protocol needs for its samples: rows of its key table and
/// preference values by name.
pub struct Keys {
    pub protocol: &'static str,
    pub table: Vec<Vec<String>>,
    pub prefs: Vec<(&'static str, String)>,
}

/// The keys of every sample (fictional, as the samples are).
pub fn keys() -> Vec<Keys> {
    let row = |cols: &[&str]| cols.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    vec![
        Keys {
            protocol: "tuya",
            table: tuya_sessions::devices()
                .iter()
                .map(|d| row(&[d.dev_id, std::str::from_utf8(&d.local_key).expect("ASCII key")]))
                .chain([row(&[tuya::demo_device().gw_id, tuya::DEMO_LOCAL_KEY])])
                .collect(),
            prefs: vec![],
        },
        Keys {
            protocol: "miio",
            table: vec![row(&[&miio::demo_device().device_id.to_string(), &phonehome::crypto::hex(&miio::demo_device().token)])],
            prefs: vec![],
        },
        Keys { protocol: "pppp", table: vec![], prefs: vec![("psk", PPPP_USER_PSK.to_string())] },
    ]
}

/// Hands [`keys`] to the pure-Rust dissectors (fuzz targets, benchmarks),
/// as Wireshark does when the user sets them.
pub fn configure_dissectors() {
    for k in keys() {
        let Some(d) = protocol(k.protocol) else { continue };
        if !k.table.is_empty() {
            d.set_table(k.table.clone());
        }
        for (name, value) in &k.prefs {
            if let Some(i) = d.spec().prefs.iter().position(|p| p.name == *name) {
                d.set_pref(i, value);
            }
        }
    }
}

/// The same keys as tshark options (`-o uat:...`, `-o proto.pref:...`).
pub fn tshark_key_options() -> Vec<String> {
    let mut opts = Vec::new();
    for k in keys() {
        let Some(d) = protocol(k.protocol) else { continue };
        if let Some(table) = d.spec().table {
            if !k.table.is_empty() {
                let rows: Vec<String> = k
                    .table
                    .iter()
                    .map(|r| r.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(","))
                    .collect();
                // One -o per row: each adds a row to the table.
                for r in rows {
                    opts.push("-o".into());
                    opts.push(format!("uat:{}:{r}", table.name));
                }
            }
        }
        for (name, value) in &k.prefs {
            opts.push("-o".into());
            opts.push(format!("{}.{name}:{value}", k.protocol));
        }
    }
    opts
}

impl Capture {
    /// Each UDP or TCP frame with a payload, as the dissectors see it: the
    /// packet facts (addresses, ports, transport, frame number) and the
    /// payload.
    pub fn packets(&self) -> Vec<(Packet, Vec<u8>)> {
        self.frames()
            .enumerate()
            .filter_map(|(i, frame)| {
                let h = PacketHeaders::from_ethernet_slice(frame).ok()?;
                let Some(NetHeaders::Ipv4(ip, _)) = h.net else { return None };
                let (transport, src_port, dst_port) = match h.transport? {
                    TransportHeader::Udp(u) => (Transport::Udp, u.source_port, u.destination_port),
                    TransportHeader::Tcp(t) => (Transport::Tcp, t.source_port, t.destination_port),
                    _ => return None,
                };
                let payload = h.payload.slice();
                let pkt = Packet {
                    frame: i as u32 + 1,
                    transport,
                    src: Some(Ipv4Addr::from(ip.source).into()),
                    dst: Some(Ipv4Addr::from(ip.destination).into()),
                    src_port,
                    dst_port,
                    ..Packet::default()
                };
                (!payload.is_empty()).then(|| (pkt, payload.to_vec()))
            })
            .collect()
    }

    /// The UDP and TCP payloads of the capture's frames (empty ones left
    /// out), in order.
    pub fn payloads(&self) -> Vec<Vec<u8>> {
        self.packets().into_iter().map(|(_, p)| p).collect()
    }
}

/// Fuzz seeds: each sample's payloads, by protocol, and each Tuya session
/// as one stream (the fuzz harness walks it frame by frame in one
/// conversation, so session keys get negotiated and used).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut seeds: Vec<(&'static str, Vec<u8>)> =
        samples().into_iter().flat_map(|s| s.capture.payloads().into_iter().map(move |p| (s.protocol, p))).collect();
    for d in tuya_sessions::devices() {
        seeds.push(("tuya", tuya_sessions::session_frames(&d, 2).into_iter().flat_map(|(_, f)| f).collect()));
    }
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_names_a_registered_protocol_and_has_seeds() {
        for s in samples() {
            assert!(protocol(s.protocol).is_some(), "{}", s.protocol);
        }
        for k in keys() {
            assert!(protocol(k.protocol).is_some(), "{}", k.protocol);
        }
        let seeds = seeds();
        for s in samples() {
            assert!(seeds.iter().any(|(p, _)| *p == s.protocol), "no seeds for {}", s.protocol);
        }
    }

    #[test]
    fn tuya_sessions_decrypt_with_the_configured_keys() {
        use phonehome::tree::Item;
        use phonehome::{Packet, Slot, State, Transport};
        configure_dissectors();
        let tuya = protocol("tuya").unwrap();
        let json = tuya.spec().fields.iter().position(|f| f.abbrev == "tuya.json").unwrap() as u32;
        for d in tuya_sessions::devices() {
            let (mut conv, mut cap) = (Slot::default(), Slot::default());
            let mut decrypted = 0;
            for (from, frame) in tuya_sessions::session_frames(&d, 2) {
                let (src, dst) = (Some(crate::tuya_sessions::app().ip.into()), Some(d.host.ip.into()));
                let (src, dst, src_port, dst_port) = if from == 0 { (src, dst, 50000, 6668) } else { (dst, src, 6668, 50000) };
                let pkt = Packet { transport: Transport::Tcp, src, dst, src_port, dst_port, ..Packet::default() };
                let mut t = phonehome::Tree::new();
                assert!(tuya.dissect(&pkt, &frame, &mut State { conversation: &mut conv, capture: &mut cap }, &mut t));
                assert!(t.malformed.is_none(), "{:?}: {:?}", d.version, t.malformed);
                decrypted += t.items.iter().filter(|i| matches!(i, Item::Field { field, .. } if *field == json)).count();
            }
            // Two control/status exchanges, each side's JSON decrypted.
            assert_eq!(decrypted, 4, "{:?}", d.version);
        }
    }

    #[test]
    fn key_options_have_tshark_syntax() {
        let opts = tshark_key_options();
        assert!(opts.iter().any(|o| o.starts_with("uat:tuya_keys:\"")));
        assert!(opts.contains(&format!("pppp.psk:{PPPP_USER_PSK}")));
    }
}
