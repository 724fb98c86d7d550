//! The fuzz targets' (`fuzz/`) and hostile-input tests' way in: run a
//! dissector on one input every way Wireshark can call it, and turn each
//! broken promise into a panic the fuzzer reports as a crash.
//!
//! Promises checked, beyond "never panics":
//! - every tree span lies inside the packet or its data source, and subtrees
//!   balance (a bad span would make the glue drop the tree);
//! - `pdu_len` never asks Wireshark to wait forever (`NeedMore` only while
//!   the header is incomplete) and never announces a PDU shorter than the
//!   header or larger than [`MAX_PDU`] (reassembly memory stays bounded);
//! - a delimited TCP PDU dissects like any other input.

use crate::{Dissector, Packet, PduLen, Slot, State, Transport, Tree};

/// The largest TCP PDU any protocol may announce.
pub const MAX_PDU: usize = 2 << 20;

/// Dissects `data` as one PDU; panics when the tree breaks a promise.
pub fn dissect_checked(d: &dyn Dissector, pkt: &Packet, data: &[u8], state: &mut State) -> (bool, Tree) {
    let mut tree = Tree::new();
    let accepted = d.dissect(pkt, data, state, &mut tree);
    if let Err(e) = tree.validate(data.len()) {
        panic!("{}: invalid tree for {} bytes: {e}", d.spec().filter_name, data.len());
    }
    (accepted, tree)
}

/// Runs every entry point of `d` on `data`: the heuristic, UDP dissection
/// twice in one conversation (first pass, then revisited), and TCP framing
/// followed by dissection of each delimited PDU.
pub fn exercise(d: &dyn Dissector, data: &[u8]) {
    let spec = d.spec();
    let _ = d.looks_like(data);
    let (mut conversation, mut capture) = (Slot::default(), Slot::default());
    for visited in [false, true] {
        let pkt = Packet { frame: 1, visited, transport: Transport::Udp, ..Packet::default() };
        let mut state = State { conversation: &mut conversation, capture: &mut capture };
        dissect_checked(d, &pkt, data, &mut state);
    }
    if spec.tcp_header_len == 0 {
        return;
    }
    // TCP: walk the stream as tcp_dissect_pdus does.
    let mut conversation = Slot::default();
    let mut at = 0;
    while at < data.len() {
        let rest = &data[at..];
        if rest.len() < spec.tcp_header_len as usize {
            break;
        }
        let n = match d.pdu_len(rest) {
            PduLen::Len(n) => n,
            PduLen::NeedMore => {
                assert!(
                    rest.len() < 64 * 1024,
                    "{}: still needs more after {} bytes: a stream that never ends a PDU",
                    spec.filter_name,
                    rest.len()
                );
                break;
            }
            // The glue hands the rest over as one unit.
            PduLen::NotMine => rest.len(),
        };
        assert!(
            n >= spec.tcp_header_len as usize && n <= MAX_PDU,
            "{}: PDU length {n} outside {}..={MAX_PDU}",
            spec.filter_name,
            spec.tcp_header_len
        );
        let Some(pdu) = rest.get(..n) else { break };
        let pkt = Packet { frame: 2, transport: Transport::Tcp, ..Packet::default() };
        dissect_checked(d, &pkt, pdu, &mut State { conversation: &mut conversation, capture: &mut capture });
        at += n;
    }
}

/// Runs [`exercise`] with the protocol chosen by the first byte, so one
/// target covers every registered protocol, present and future.
pub fn exercise_any(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else { return };
    let all = crate::protocols();
    exercise(all[pick as usize % all.len()], rest);
}

/// Tuya framing alone: `parse` and `pdu_len` agree, and a parsed frame's
/// parts lie inside the input.
pub fn tuya_frame(data: &[u8]) {
    use crate::tuya::frame;
    let parsed = frame::parse(data);
    let len = frame::pdu_len(data);
    if let Ok(f) = parsed {
        assert!(f.total_len() <= data.len() && f.body <= f.suffix, "{f:?} beyond {} bytes", data.len());
        let _ = frame::has_retcode(f.inner(data));
        assert_eq!(len, PduLen::Len(f.total_len()), "pdu_len disagrees with parse");
    }
}

/// Kalay scrambling: descrambling then scrambling gives the datagram back,
/// and the plaintext header parses without panicking.
pub fn iotc_scramble(data: &[u8]) {
    use crate::iotc::{header, scramble};
    let plain = scramble::descramble_datagram(data);
    assert_eq!(scramble::scramble_datagram(&plain), data, "scramble does not invert descramble");
    if let Some(h) = header::parse(&plain) {
        let _ = (h.total_len(), header::uid(&plain));
    }
}

/// PPPP obfuscation: the user PSK (first byte: its length) round-trips the
/// rest, and the PSK search never panics.
pub fn pppp_psk(data: &[u8]) {
    use crate::pppp::{message, psk};
    let Some((&n, rest)) = data.split_first() else { return };
    let (key, body) = rest.split_at((n as usize).min(rest.len()));
    let seed = psk::seed(key);
    let mut buf = body.to_vec();
    psk::encrypt(&seed, &mut buf);
    psk::decrypt(&seed, &mut buf);
    assert_eq!(buf, body, "PSK decrypt does not invert encrypt");
    let _ = psk::find(body, message::HEADER_LEN, |head| message::is_exact_header(head, body.len()));
}

pub use crate::protocol;

/// `len` deterministic pseudo-random bytes (xorshift) for garbage inputs in
/// tests: the same `seed` gives the same bytes.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_survives_garbage_of_every_length() {
        for d in crate::protocols() {
            for len in 0..300 {
                exercise(*d, &noise(len as u64 + 1, len));
            }
        }
    }

    #[test]
    fn properties_hold_on_garbage_and_on_valid_input() {
        for len in 0..200 {
            let g = noise(len as u64 + 7, len);
            tuya_frame(&g);
            iotc_scramble(&g);
            pppp_psk(&g);
        }
        tuya_frame(&crate::tuya::frame::encode_55aa_crc(1, 7, None, b"{}"));
    }

    #[test]
    fn exercise_any_reaches_every_protocol() {
        for i in 0..crate::protocols().len() as u8 {
            exercise_any(&[i, 0, 0, 0x55, 0xaa]);
        }
        exercise_any(&[]);
    }
}
