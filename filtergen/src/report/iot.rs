//! The phonehome dissectors (Tuya, miIO, Kalay/IOTC, CS2 PPPP) called
//! directly, without Wireshark, the way the plugin's glue calls them: the
//! same ports, shared ports and heuristics, one state slot per protocol and
//! conversation and one per capture (miIO tokens learnt from hellos, Tuya
//! session keys), TCP PDUs delimited with each protocol's `pdu_len`.
//! Field values come out as `tshark -T fields` prints them.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use phonehome::spec::{in_ranges, Base, Kind, PortRange};
use phonehome::tree::{Enc, Item, Value, Wanted};
use phonehome::{protocols, Dissector, Packet, PduLen, Slot, State, Transport, Tree};

/// Bytes kept for one direction of a TCP stream waiting for the rest of a
/// PDU; a stream that would need more is given up (like a capture that
/// missed the segments).
const MAX_PENDING: usize = 1 << 20;

/// What the dissectors made of one packet.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Filter names of the protocols found (`tuya`), then `json` when a
    /// payload was handed to the JSON dissector.
    pub layers: Vec<&'static str>,
    /// (index in the wanted fields, value) in tree order.
    pub fields: Vec<(usize, String)>,
}

impl Clone for Decoded {
    fn clone(&self) -> Decoded {
        Decoded { layers: self.layers.clone(), fields: self.fields.clone() }
    }

    /// Keeps `self`'s allocations (the texts' too): a repeated datagram's
    /// result is copied this way once a packet.
    fn clone_from(&mut self, source: &Decoded) {
        self.layers.clone_from(&source.layers);
        self.fields.truncate(source.fields.len());
        let kept = self.fields.len();
        for ((at, text), (source_at, source_text)) in self.fields.iter_mut().zip(&source.fields) {
            *at = *source_at;
            text.clone_from(source_text);
        }
        self.fields.extend_from_slice(&source.fields[kept..]);
    }
}

/// One conversation: transport and both (address, port) ends, in order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct ConversationKey {
    tcp: bool,
    ends: [(IpAddr, u16); 2],
}

impl ConversationKey {
    fn new(tcp: bool, src: (IpAddr, u16), dst: (IpAddr, u16)) -> ConversationKey {
        let ends = if src <= dst { [src, dst] } else { [dst, src] };
        ConversationKey { tcp, ends }
    }
}

/// One direction of a TCP stream handled by one of our protocols.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// Given up on (a PDU larger than [`MAX_PENDING`]).
    broken: bool,
}

#[derive(Default)]
struct Conversation {
    slots: Vec<Slot>,
    /// A TCP conversation claimed by a protocol (heuristic or shared port).
    owner: Option<usize>,
    /// Set when the first payload on a shared port was not ours.
    not_ours: bool,
    pending: [Pending; 2],
}

/// Dissector state for one capture.
pub struct Iot {
    protocols: &'static [&'static dyn Dissector],
    udp_ports: Vec<&'static [PortRange]>,
    tcp_ports: Vec<&'static [PortRange]>,
    /// Per protocol, per field of its table: where the field is in the
    /// wanted list (only those fields' values are rendered).
    wanted: Vec<Vec<Option<usize>>>,
    /// Per protocol, the same fields as the dissection is told them (it
    /// builds nothing else).
    builds: Vec<Wanted>,
    capture: Vec<Slot>,
    /// The tree of the last dissection, reused (and its allocations).
    tree: Tree,
    /// What the last dissection gave (its allocations reused).
    out: Decoded,
    /// (Hashed with Fx: a lookup a packet, on keys no one outside chooses.)
    conversations: FxHashMap<ConversationKey, Conversation>,
    /// Per protocol, the number of datagrams and PDUs it has dissected.
    dissections: Vec<u64>,
    /// The last datagram dissected between two ends (in this direction)
    /// by a protocol whose datagrams repeat alike (its spec says), and what it gave.
    last_datagram: FxHashMap<DatagramKey, Remembered>,
}

/// A protocol (its index) and a datagram's source and destination ends.
type DatagramKey = (usize, (IpAddr, u16), (IpAddr, u16));

/// A datagram dissected, and when.
struct Remembered {
    /// The protocol's dissection count just after it.
    at: u64,
    payload: Vec<u8>,
    /// Whether the protocol took it, and what it gave.
    accepted: bool,
    decoded: Decoded,
}

impl Iot {
    /// Dissector state for one capture, giving the values of the `wanted`
    /// fields (abbreviations; others are not rendered).
    pub fn new(wanted: &[&str]) -> Iot {
        let protocols = protocols();
        let wanted: Vec<Vec<Option<usize>>> =
            protocols.iter().map(|d| d.spec().fields.iter().map(|f| wanted.iter().position(|w| *w == f.abbrev)).collect()).collect();
        Iot {
            protocols,
            udp_ports: protocols.iter().map(|d| d.spec().udp_ports).collect(),
            tcp_ports: protocols.iter().map(|d| d.spec().tcp_ports).collect(),
            builds: wanted.iter().map(|fields| Wanted::fields((0..fields.len() as u32).filter(|&f| fields[f as usize].is_some()))).collect(),
            wanted,
            capture: protocols.iter().map(|_| Slot::default()).collect(),
            tree: Tree::new(),
            out: Decoded::default(),
            conversations: FxHashMap::default(),
            dissections: vec![0; protocols.len()],
            last_datagram: FxHashMap::default(),
        }
    }
}

/// The packet as the dissectors see it.
pub struct Context {
    pub frame: u32,
    pub time: f64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
}

impl Context {
    fn packet(&self, transport: Transport) -> Packet {
        Packet {
            frame: self.frame,
            visited: false,
            transport,
            src: Some(self.src),
            dst: Some(self.dst),
            src_port: self.src_port,
            dst_port: self.dst_port,
            time: self.time,
        }
    }

    /// Lower port first, as Wireshark tries them.
    fn ports(&self) -> [u16; 2] {
        [self.src_port.min(self.dst_port), self.src_port.max(self.dst_port)]
    }
}

/// Whether a built-in Wireshark dissector holds this port first (then our
/// heuristics are not tried). The list is [`super::layers`]' port table.
pub type Claimed<'a> = &'a dyn Fn(u16) -> bool;

impl Iot {
    fn conversation(&mut self, key: ConversationKey) -> &mut Conversation {
        let n = self.protocols.len();
        let c = self.conversations.entry(key).or_default();
        if c.slots.len() != n {
            c.slots.resize_with(n, Slot::default);
        }
        c
    }

    /// A UDP datagram: our port dissectors (lower port first), then, when no
    /// built-in dissector has either port, our heuristics.
    pub fn udp(&mut self, cx: &Context, payload: &[u8], claimed: Claimed) -> Option<&Decoded> {
        let key = ConversationKey::new(false, (cx.src, cx.src_port), (cx.dst, cx.dst_port));
        for port in cx.ports() {
            if let Some(i) = (0..self.protocols.len()).find(|&i| in_ranges(self.udp_ports[i], port)) {
                if self.dissect(i, key, cx, Transport::Udp, payload) {
                    return Some(&self.out);
                }
            } else if claimed(port) {
                return None;
            }
        }
        for i in 0..self.protocols.len() {
            if self.protocols[i].spec().heuristic_udp && self.protocols[i].looks_like(payload) && self.dissect(i, key, cx, Transport::Udp, payload) {
                return Some(&self.out);
            }
        }
        None
    }

    /// A TCP segment's payload (in order: the captures' streams are taken as
    /// they come). Returns the layers and fields of the PDUs it completes.
    pub fn tcp(&mut self, cx: &Context, payload: &[u8], claimed: Claimed) -> Option<Decoded> {
        let key = ConversationKey::new(true, (cx.src, cx.src_port), (cx.dst, cx.dst_port));
        let owner = self.tcp_owner(key, cx, payload, claimed)?;
        let direction = usize::from((cx.src, cx.src_port) != key.ends[0]);
        let proto = self.protocols[owner];
        // A segment that completes no PDU shows no layer above TCP (as
        // Wireshark's reassembly shows it), one that completes some shows ours.
        let mut out = Decoded::default();
        let mut buffer = {
            let c = self.conversation(key);
            let pending = &mut c.pending[direction];
            if pending.broken {
                return Some(out);
            }
            let mut b = std::mem::take(&mut pending.bytes);
            b.extend_from_slice(payload);
            b
        };
        let mut at = 0;
        while at < buffer.len() {
            let rest = &buffer[at..];
            let n = match proto.pdu_len(rest) {
                PduLen::Len(n) if n > 0 && n <= rest.len() => n,
                PduLen::Len(n) if n > MAX_PENDING => {
                    self.conversation(key).pending[direction].broken = true;
                    return Some(out);
                }
                PduLen::Len(_) | PduLen::NeedMore => break,
                PduLen::NotMine => rest.len(),
            };
            let pdu = buffer[at..at + n].to_vec();
            at += n;
            if out.layers.is_empty() {
                out.layers.push(proto.spec().filter_name);
            }
            if self.dissect(owner, key, cx, Transport::Tcp, &pdu) {
                out.layers.extend(self.out.layers.iter().skip(1));
                out.fields.append(&mut self.out.fields);
            } else {
                out.layers.push("data");
            }
        }
        buffer.drain(..at);
        self.conversation(key).pending[direction].bytes = buffer;
        Some(out)
    }

    /// Which of our protocols a TCP conversation belongs to, deciding it on
    /// its first payload when a heuristic or shared port is involved.
    fn tcp_owner(&mut self, key: ConversationKey, cx: &Context, payload: &[u8], claimed: Claimed) -> Option<usize> {
        if let Some(owner) = self.conversations.get(&key).and_then(|c| c.owner) {
            return Some(owner);
        }
        for port in cx.ports() {
            if let Some(i) = (0..self.protocols.len()).find(|&i| in_ranges(self.tcp_ports[i], port)) {
                return Some(i);
            }
            if let Some(i) = (0..self.protocols.len()).find(|&i| self.protocols[i].shared_tcp_ports().contains(&port)) {
                let c = self.conversation(key);
                if c.not_ours {
                    return None;
                }
                if self.protocols[i].looks_like(payload) {
                    self.conversation(key).owner = Some(i);
                    return Some(i);
                }
                self.conversation(key).not_ours = true;
                return None;
            }
            if claimed(port) {
                return None;
            }
        }
        let i = (0..self.protocols.len()).find(|&i| self.protocols[i].spec().heuristic_tcp && self.protocols[i].looks_like(payload))?;
        self.conversation(key).owner = Some(i);
        Some(i)
    }

    /// One PDU through protocol `i`, its layers and fields left in
    /// `self.out`; `false` when it says the bytes are not its.
    fn dissect(&mut self, i: usize, key: ConversationKey, cx: &Context, transport: Transport, data: &[u8]) -> bool {
        // A device announces itself every few seconds: the same datagram,
        // from a protocol whose datagrams repeat alike, is not dissected again.
        if transport == Transport::Udp && self.protocols[i].spec().datagrams_repeat_alike {
            let ends = (i, (cx.src, cx.src_port), (cx.dst, cx.dst_port));
            if let Some(r) = self.last_datagram.get(&ends).filter(|r| r.at == self.dissections[i] && r.payload == data) {
                self.out.clone_from(&r.decoded);
                return r.accepted;
            }
            let accepted = self.dissect_now(i, key, cx, transport, data);
            let at = self.dissections[i];
            let r = self.last_datagram.entry(ends).or_insert_with(|| Remembered { at, payload: Vec::new(), accepted, decoded: Decoded::default() });
            r.at = at;
            r.payload.clear();
            r.payload.extend_from_slice(data);
            r.accepted = accepted;
            r.decoded.clone_from(&self.out);
            return accepted;
        }
        self.dissect_now(i, key, cx, transport, data)
    }

    /// [`Iot::dissect`] without looking for a repeated datagram.
    fn dissect_now(&mut self, i: usize, key: ConversationKey, cx: &Context, transport: Transport, data: &[u8]) -> bool {
        self.dissections[i] += 1;
        self.out.layers.clear();
        self.out.fields.clear();
        let proto = self.protocols[i];
        let mut capture = std::mem::take(&mut self.capture[i]);
        let mut tree = std::mem::take(&mut self.tree);
        tree.reset(self.builds[i]);
        let accepted = {
            let c = self.conversation(key);
            let mut state = State { conversation: &mut c.slots[i], capture: &mut capture };
            // The plugin's glue turns a panic into "malformed"; so do we.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| proto.dissect(&cx.packet(transport), data, &mut state, &mut tree)))
                .unwrap_or(true)
        };
        self.capture[i] = capture;
        if accepted {
            let mut out = std::mem::take(&mut self.out);
            self.decoded(i, data, &mut tree, &mut out);
            self.out = out;
        }
        self.tree = tree;
        accepted
    }

    /// The layers and wanted field values of protocol `i`'s `tree` (its
    /// string values are moved out), into `out` (empty).
    fn decoded(&self, i: usize, data: &[u8], tree: &mut Tree, out: &mut Decoded) {
        let spec = self.protocols[i].spec();
        out.layers.push(spec.filter_name);
        for item in &mut tree.items {
            match item {
                Item::Field { field, span, value, .. } => {
                    let Some(at) = self.wanted[i].get(*field as usize).copied().flatten() else { continue };
                    let f = &spec.fields[*field as usize];
                    let bytes = if span.source == 0 {
                        data.get(span.offset as usize..(span.offset + span.len) as usize)
                    } else {
                        tree.sources.get(span.source as usize - 1).and_then(|s| s.bytes.get(span.offset as usize..(span.offset + span.len) as usize))
                    };
                    let text = match value {
                        Value::Str(s) => Some(std::mem::take(s)),
                        value => field_text(f.kind, f.base, value, bytes.unwrap_or(&[])),
                    };
                    if let Some(text) = text {
                        out.fields.push((at, text));
                    }
                }
                Item::Call { dissector: "json", span } if span.len > 0 && !out.layers.contains(&"json") => out.layers.push("json"),
                _ => {}
            }
        }
    }
}

/// A field's value as `tshark -T fields` prints it (integers in hex with
/// the type's width for hex fields); `None` for kinds the report never reads.
fn field_text(kind: Kind, base: Base, value: &Value, bytes: &[u8]) -> Option<String> {
    let uint = |v: u64| -> String {
        let width = match kind {
            Kind::U8 => 2,
            Kind::U16 => 4,
            Kind::U32 => 8,
            _ => 16,
        };
        match base {
            Base::Hex => format!("0x{v:0width$x}"),
            _ => v.to_string(),
        }
    };
    match value {
        Value::Str(s) => Some(s.clone()),
        Value::Uint(v) => Some(uint(*v)),
        Value::Int(v) => Some(v.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.into()),
        Value::Wire(enc) => match kind {
            Kind::Str => {
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                Some(String::from_utf8_lossy(&bytes[..end]).into_owned())
            }
            Kind::U8 | Kind::U16 | Kind::U32 | Kind::U64 => {
                let v = match enc {
                    Enc::Little => bytes.iter().rev().fold(0u64, |a, b| a << 8 | u64::from(*b)),
                    _ => bytes.iter().fold(0u64, |a, b| a << 8 | u64::from(*b)),
                };
                Some(uint(v))
            }
            // As tshark prints byte fields: hex digits, no separators.
            Kind::Bytes => Some(phonehome::crypto::hex(bytes)),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A broadcast repeated with no other Tuya dissection in between gives
    /// what a dissection would, without one; another device's in between
    /// makes the next a full dissection again.
    #[test]
    fn repeated_broadcasts_give_what_a_dissection_would() {
        let devices = phonehome_samples::scenarios::demo_devices();
        let wanted = crate::report::observe::fields();
        let tuya = protocols().iter().position(|d| d.spec().datagrams_repeat_alike).expect("tuya is one of the protocols");
        let mut iot = Iot::new(&wanted);
        let no_port_claimed = |_: u16| false;
        // (device, Tuya dissections after it)
        for (frame, (device, dissections)) in [(0, 1), (0, 1), (1, 2), (0, 3), (0, 3), (0, 3)].into_iter().enumerate() {
            let d = &devices[device];
            let (port, payload) = d.discovery_frame();
            let cx = Context { frame: frame as u32 + 1, time: frame as f64 * 5.0, src: d.host.ip.into(), dst: std::net::Ipv4Addr::BROADCAST.into(), src_port: 49154, dst_port: port };
            let got = iot.udp(&cx, &payload, &no_port_claimed).cloned().expect("a Tuya broadcast");
            let fresh = Iot::new(&wanted).udp(&cx, &payload, &no_port_claimed).cloned().expect("a Tuya broadcast");
            assert_eq!((&got.layers, &got.fields), (&fresh.layers, &fresh.fields), "frame {}", frame + 1);
            assert!(got.fields.iter().any(|(_, v)| v == d.gw_id), "frame {}: {:?}", frame + 1, got.fields);
            assert_eq!(iot.dissections[tuya], dissections, "frame {}", frame + 1);
        }
    }

    #[test]
    fn values_print_like_tshark() {
        assert_eq!(field_text(Kind::U32, Base::Hex, &Value::Uint(10), &[]).as_deref(), Some("0x0000000a"));
        assert_eq!(field_text(Kind::U16, Base::Hex, &Value::Wire(Enc::Big), &[0x12, 0x34]).as_deref(), Some("0x1234"));
        assert_eq!(field_text(Kind::Str, Base::None, &Value::Wire(Enc::Ascii), b"3.3\0").as_deref(), Some("3.3"));
        assert_eq!(field_text(Kind::Bytes, Base::None, &Value::Wire(Enc::Na), &[0x0a, 0xf0, 0x5c]).as_deref(), Some("0af05c"));
    }
}
