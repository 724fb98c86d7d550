//! phonehome: Wireshark dissectors for smart-home protocols.
//!
//! The protocol modules are pure Rust: they read bytes and produce a
//! [`tree::Tree`], a description of what Wireshark should show. The `ffi`
//! module (feature `plugin`) is the only place that talks to Wireshark's C
//! glue in `glue/plugin.c`.

pub mod crypto;
/// Fuzz-target entry points and test noise: built for the crate's tests and
/// with the `fuzzing` feature (fuzz/), not into the shipped plugin.
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod iotc;
pub mod json;
pub mod miio;
pub mod pppp;
pub mod spec;
pub mod tree;
pub mod tuya;
pub mod wire;

#[cfg(feature = "plugin")]
mod exports;
#[cfg(feature = "plugin")]
mod ffi;
#[cfg(feature = "plugin")]
pub use exports::WIRESHARK_VERSION;

use std::any::Any;
use std::net::IpAddr;

pub use spec::ProtocolSpec;
pub use tree::Tree;

/// What the dissectors know about the packet being dissected.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Packet {
    pub frame: u32,
    /// True when Wireshark dissects the frame again (not the first pass).
    pub visited: bool,
    pub transport: Transport,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub src_port: u16,
    pub dst_port: u16,
    /// Capture time, seconds since the epoch.
    pub time: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    #[default]
    Other,
    Udp,
    Tcp,
}

/// How long the PDU at the start of a TCP stream is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PduLen {
    /// The whole PDU, header included.
    Len(usize),
    /// Not enough bytes to tell yet.
    NeedMore,
    /// The bytes do not start a PDU of this protocol.
    NotMine,
}

/// State a protocol keeps between packets. The glue owns one slot per
/// conversation (released with the capture file) and one per capture.
#[derive(Default)]
pub struct Slot(Option<Box<dyn Any + Send>>);

impl Slot {
    /// The slot's value, created with `T::default()` on first use (or when
    /// the slot held another type).
    pub fn get<T: Default + Send + 'static>(&mut self) -> &mut T {
        if !self.0.as_ref().is_some_and(|b| b.is::<T>()) {
            self.0 = Some(Box::new(T::default()));
        }
        self.0.as_mut().and_then(|b| b.downcast_mut::<T>()).expect("slot holds T")
    }
}

/// The per-conversation and per-capture state handed to a dissection.
pub struct State<'a> {
    pub conversation: &'a mut Slot,
    pub capture: &'a mut Slot,
}

/// One protocol of the plugin.
pub trait Dissector: Sync {
    fn spec(&self) -> &'static ProtocolSpec;

    /// Dissects one PDU (a UDP payload or a delimited TCP PDU). Returns
    /// false when the bytes are not this protocol at all, so Wireshark can
    /// try others.
    fn dissect(&self, pkt: &Packet, data: &[u8], state: &mut State, tree: &mut Tree) -> bool;

    /// Heuristic: do these bytes (on a port not registered) look like ours?
    fn looks_like(&self, _data: &[u8]) -> bool {
        false
    }

    /// TCP ports this protocol shares with a built-in dissector (the miIO
    /// cloud channel on HTTP's port 80): a stream there is ours only when its
    /// first bytes pass [`Dissector::looks_like`]; any other stream goes to
    /// the dissector that had the port before.
    fn shared_tcp_ports(&self) -> &'static [u16] {
        &[]
    }

    /// Length of the PDU at the start of `data` (TCP reassembly).
    fn pdu_len(&self, _data: &[u8]) -> PduLen {
        PduLen::NotMine
    }

    /// Checks one row of the protocol's table before Wireshark accepts it.
    fn check_row(&self, _row: &[String]) -> Result<(), String> {
        Ok(())
    }

    /// The protocol's table after the user changed it.
    fn set_table(&self, _rows: Vec<Vec<String>>) {}

    /// A preference (index into `spec().prefs`) changed.
    fn set_pref(&self, _index: usize, _value: &str) {}
}

/// The device name a conversation showed last (a UID that only discovery
/// and connect messages carry), kept in the conversation slot.
#[derive(Default)]
struct SeenDevice(Option<String>);

/// `shown` if this packet names its device, else the name the conversation
/// showed before; a first pass remembers `shown` for the packets after.
pub(crate) fn conversation_device(pkt: &Packet, state: &mut State, shown: Option<String>) -> Option<String> {
    let seen = state.conversation.get::<SeenDevice>();
    if let (Some(name), false) = (&shown, pkt.visited) {
        seen.0 = Some(name.clone());
    }
    shown.or_else(|| seen.0.clone())
}

/// Every protocol of the plugin, in registration order.
pub fn protocols() -> &'static [&'static dyn Dissector] {
    static ALL: [&dyn Dissector; 4] = [&tuya::TUYA, &miio::MIIO, &iotc::IOTC, &pppp::PPPP];
    &ALL
}

/// The protocol whose filter name is `name` (`tuya`, `miio`, `iotc`, `pppp`).
pub fn protocol(name: &str) -> Option<&'static dyn Dissector> {
    protocols().iter().copied().find(|d| d.spec().filter_name == name)
}

/// Helpers for the protocol modules' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::tree::{Item, Value};
    use crate::{Dissector, Packet, Slot, State, Tree};

    /// Dissects `data` with fresh state; asserts the tree's spans are valid.
    pub fn run(d: &dyn Dissector, data: &[u8]) -> (bool, Tree) {
        let (mut c, mut g) = (Slot::default(), Slot::default());
        let mut t = Tree::new();
        let ok = d.dissect(&Packet::default(), data, &mut State { conversation: &mut c, capture: &mut g }, &mut t);
        t.validate(data.len()).unwrap();
        (ok, t)
    }

    /// The string values of every `field` item.
    pub fn strings(t: &Tree, field: impl Into<u32>) -> Vec<String> {
        let field = field.into();
        t.items
            .iter()
            .filter_map(|i| match i {
                Item::Field { field: f, value: Value::Str(s), .. } if *f == field => Some(s.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn has_field(t: &Tree, field: impl Into<u32>) -> bool {
        let field = field.into();
        t.items.iter().any(|i| matches!(i, Item::Field { field: f, .. } if *f == field))
    }

    pub fn has_expert(t: &Tree, expert: impl Into<u32>) -> bool {
        t.has_expert(expert)
    }
}
