//! What a Tuya TCP conversation remembers between frames: the local key it
//! uses (and how it was found), the version, the negotiation nonces and the
//! session key. The first pass records, per frame, the context it was
//! dissected with, so later passes (Wireshark re-dissects frames in the GUI
//! and with `tshark -2`) show exactly the same thing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::payload::Version;
use crate::Packet;

/// The TCP port of a device's local API.
pub const DEVICE_PORT: u16 = 6668;

/// The local key a conversation uses and how it was found.
#[derive(Debug, PartialEq, Eq)]
pub struct LocalKey {
    pub dev_id: String,
    pub key: [u8; 16],
    /// "by device id ..." or "by trial ...", for the tree.
    pub how: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionKey {
    pub key: [u8; 16],
    /// The frame whose SESS_KEY_NEG_RESP completed the negotiation.
    pub frame: u32,
}

/// Everything the dissection of one frame needs from the frames before.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub local: Option<Arc<LocalKey>>,
    pub session: Option<SessionKey>,
    pub client_nonce: Option<[u8; 16]>,
    pub device_nonce: Option<[u8; 16]>,
    pub version: Option<Version>,
}

/// What one frame taught, applied after its first-pass dissection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Learned {
    pub version: Option<Version>,
    pub client_nonce: Option<[u8; 16]>,
    pub device_nonce: Option<[u8; 16]>,
    pub session_key: Option<[u8; 16]>,
    /// A device id read from decrypted JSON (devId / gwId).
    pub dev_id: Option<String>,
    /// The IP address a discovery announcement gave for the device.
    pub announced_ip: Option<IpAddr>,
    /// Product key and version as a discovery announcement gave them.
    pub product_key: Option<String>,
    pub announced_version: Option<String>,
}

#[derive(Default)]
pub struct Conversation {
    current: Context,
    /// The client end, known once it sent SESS_KEY_NEG_START.
    client: Option<(Option<IpAddr>, u16)>,
    /// (frame, digest of the PDU, index into `contexts`) in first-pass
    /// order: 12 bytes a PDU; contexts are stored once per change.
    seen: Vec<(u32, u32, u32)>,
    contexts: Vec<Context>,
}

impl Conversation {
    /// Whether this packet goes from the device (the TCP server) to the client.
    pub fn from_device(&self, pkt: &Packet) -> bool {
        if pkt.src_port == DEVICE_PORT || pkt.dst_port == DEVICE_PORT {
            return pkt.src_port == DEVICE_PORT;
        }
        match self.client {
            Some(client) => client != (pkt.src, pkt.src_port),
            // Devices listen on a low, fixed port; clients use ephemeral ones.
            None => pkt.src_port < pkt.dst_port,
        }
    }

    /// The context to dissect this PDU with: the recorded one on a later
    /// pass, otherwise the current one (after `choose` picked a local key
    /// if none is known yet), which is then recorded.
    pub fn context(&mut self, pkt: &Packet, digest: u32, choose: impl FnOnce(&Context) -> Option<Arc<LocalKey>>) -> Context {
        if pkt.visited {
            let from = self.seen.partition_point(|s| s.0 < pkt.frame);
            let hit = self.seen[from..].iter().take_while(|s| s.0 == pkt.frame).find(|s| s.1 == digest);
            if let Some(&(_, _, i)) = hit {
                return self.contexts[i as usize].clone();
            }
        }
        if self.current.local.is_none() {
            self.current.local = choose(&self.current);
        }
        if !pkt.visited {
            if self.contexts.last() != Some(&self.current) {
                self.contexts.push(self.current.clone());
            }
            self.seen.push((pkt.frame, digest, self.contexts.len() as u32 - 1));
        }
        self.current.clone()
    }

    /// Applies what a frame taught (first pass only).
    pub fn learn(&mut self, pkt: &Packet, cmd: u32, learned: &Learned) {
        if pkt.visited {
            return;
        }
        let c = &mut self.current;
        if let Some(v) = learned.version {
            c.version = Some(v);
        }
        if cmd == super::commands::SESS_KEY_NEG_START {
            if let Some(n) = learned.client_nonce {
                // A new negotiation: forget the previous one.
                (c.client_nonce, c.device_nonce, c.session) = (Some(n), None, None);
                self.client = Some((pkt.src, pkt.src_port));
            }
        }
        if let Some(n) = learned.device_nonce {
            c.device_nonce = Some(n);
        }
        if let Some(key) = learned.session_key {
            c.session = Some(SessionKey { key, frame: pkt.frame });
        }
    }

    #[cfg(test)]
    pub fn records(&self) -> (usize, usize) {
        (self.seen.len(), self.contexts.len())
    }
}

/// Device ids by IP address, learned from discovery and decrypted JSON
/// (capture-wide; bounded).
#[derive(Default)]
pub struct Devices {
    by_ip: HashMap<IpAddr, (String, u32)>,
}

/// More devices than any home has; beyond it new addresses are ignored.
const MAX_DEVICES: usize = 4096;

impl Devices {
    pub fn learn(&mut self, ip: IpAddr, dev_id: &str, frame: u32) {
        if let Some(known) = self.by_ip.get_mut(&ip) {
            if known.0 != dev_id {
                *known = (dev_id.to_string(), frame);
            }
        } else if self.by_ip.len() < MAX_DEVICES {
            self.by_ip.insert(ip, (dev_id.to_string(), frame));
        }
    }

    /// The device id at `ip` and the frame that told us.
    pub fn get(&self, ip: IpAddr) -> Option<(&str, u32)> {
        self.by_ip.get(&ip).map(|(id, frame)| (id.as_str(), *frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(frame: u32, visited: bool, sport: u16, dport: u16) -> Packet {
        Packet { frame, visited, src_port: sport, dst_port: dport, ..Packet::default() }
    }

    #[test]
    fn later_passes_see_the_first_pass_context() {
        let mut c = Conversation::default();
        let key = Arc::new(LocalKey { dev_id: "d".into(), key: [1; 16], how: "test".into() });
        let first = c.context(&pkt(1, false, 40000, 6668), 7, |_| None);
        assert_eq!(first.local, None);
        let l = Learned { client_nonce: Some([3; 16]), version: Some(Version::V34), ..Learned::default() };
        c.learn(&pkt(1, false, 40000, 6668), super::super::commands::SESS_KEY_NEG_START, &l);
        let second = c.context(&pkt(2, false, 6668, 40000), 8, |_| Some(key.clone()));
        assert_eq!(second.client_nonce, Some([3; 16]));
        c.learn(&pkt(2, false, 6668, 40000), 4, &Learned { session_key: Some([9; 16]), ..Learned::default() });
        // Two PDUs in frame 3 with different digests.
        let a = c.context(&pkt(3, false, 6668, 40000), 1, |_| unreachable!());
        let b = c.context(&pkt(3, false, 6668, 40000), 2, |_| unreachable!());
        assert_eq!(a.session.map(|s| (s.key, s.frame)), Some(([9; 16], 2)));
        assert_eq!(a, b);
        assert_eq!(c.records(), (4, 3));
        // Later passes.
        assert_eq!(c.context(&pkt(1, true, 40000, 6668), 7, |_| unreachable!()), first);
        assert_eq!(c.context(&pkt(2, true, 6668, 40000), 8, |_| unreachable!()), second);
        assert_eq!(c.context(&pkt(3, true, 6668, 40000), 2, |_| unreachable!()), b);
        assert_eq!(c.records(), (4, 3));
    }

    #[test]
    fn direction_from_port_then_from_the_handshake() {
        let mut c = Conversation::default();
        assert!(c.from_device(&pkt(1, false, 6668, 50000)));
        assert!(!c.from_device(&pkt(1, false, 50000, 6668)));
        assert!(c.from_device(&pkt(1, false, 7000, 50000)));
        c.learn(&pkt(1, false, 7000, 50000), 3, &Learned { client_nonce: Some([0; 16]), ..Learned::default() });
        assert!(!c.from_device(&pkt(2, false, 7000, 50000)));
        assert!(c.from_device(&pkt(2, false, 50000, 7000)));
    }

    #[test]
    fn devices_are_bounded() {
        let mut d = Devices::default();
        for i in 0..(MAX_DEVICES as u32 + 10) {
            d.learn(IpAddr::from(i.to_be_bytes()), "x", i);
        }
        assert_eq!(d.by_ip.len(), MAX_DEVICES);
        let ip = IpAddr::from([0, 0, 0, 1]);
        d.learn(ip, "y", 99);
        assert_eq!(d.get(ip), Some(("y", 99)));
    }
}
