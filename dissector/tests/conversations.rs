//! A million distinct conversations: the dissectors' memory stays flat.
//! Alone in its file (its own test process) so that no other test's
//! allocations show in the resident-memory figure.

use phonehome::fuzzing::protocol;
use phonehome::iotc::{header as iotc, scramble};
use phonehome::pppp::message as pppp;
use phonehome::tuya::{discovery, frame};
use phonehome::{Dissector, Packet, Slot, State, Transport, Tree};

fn udp() -> Packet {
    Packet { transport: Transport::Udp, ..Packet::default() }
}

#[test]
fn a_million_conversations_keep_no_global_state() {
    // Per-conversation state lives in the slot the glue gives each
    // conversation (freed with the capture file). A million fresh slots,
    // one datagram each, through every protocol: each slot holds at most
    // one small value and nothing accumulates elsewhere.
    let datagrams: Vec<(&dyn Dissector, Vec<u8>)> = vec![
        (protocol("tuya").unwrap(), frame::encode_55aa_crc(0, 0x13, Some(0), &discovery::encrypt(b"{\"gwId\":\"a\"}"))),
        (protocol("pppp").unwrap(), pppp::encode(pppp::ALIVE, &[])),
        (
            protocol("iotc").unwrap(),
            scramble::scramble_datagram(&iotc::encode(
                &iotc::Header { version: 0x19, flags: 2, length: 0, seq: 0, opcode: iotc::PING, direction: 0x12 },
                &[0u8; 17],
            )),
        ),
    ];
    let mut capture = Slot::default();
    let before = rss_kib();
    for i in 0..1_000_000u32 {
        let (d, data) = &datagrams[i as usize % datagrams.len()];
        let mut conversation = Slot::default();
        let pkt = Packet { frame: i + 1, src_port: (i % 60_000) as u16, ..udp() };
        let mut t = Tree::new();
        assert!(d.dissect(&pkt, data, &mut State { conversation: &mut conversation, capture: &mut capture }, &mut t));
    }
    let grown = rss_kib().saturating_sub(before);
    assert!(grown < 8 * 1024, "resident memory grew by {grown} KiB over a million conversations");
}

/// Resident set size of this process (Linux).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}
