//! Builds captures: Ethernet/IPv4 frames carrying UDP datagrams and TCP
//! streams (with a real handshake and chosen segment boundaries), written
//! as pcap. The sample generator and the end-to-end tests both build their
//! captures with this, from the dissector's own frame encoders.

pub mod corpus;
pub mod miio;
pub mod p2p;
pub mod scenarios;
pub mod tuya_sessions;
pub mod roborock_hours;
pub mod tuya;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use etherparse::PacketBuilder;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

/// The demo captures `phonehome-samples` writes, by file name: Tuya
/// discovery, a Tuya 3.4 session, Kalay/IOTC and PPPP sessions, miIO LAN
/// polls, and the six Roborock-like hours.
pub fn demo_captures() -> Vec<(String, Capture)> {
    let mut samples: Vec<(String, Capture)> = vec![
        ("tuya-discovery.pcap".into(), scenarios::tuya_discovery(&scenarios::demo_devices(), 4)),
        ("tuya-session-3.4.pcap".into(), tuya::session_34(tuya::DEMO_LOCAL_KEY.as_bytes().try_into().expect("16 bytes"))),
        ("iotc-session.pcap".into(), p2p::iotc_session()),
        ("pppp-session.pcap".into(), p2p::pppp_session("MyVendorPSK")),
        ("miio-lan.pcap".into(), miio::miio_lan(&miio::demo_device(), 3)),
    ];
    samples.extend(roborock_hours::captures().into_iter().enumerate().map(|(h, cap)| (format!("roborock-hour{h}.pcap"), cap)));
    samples
}

/// A host on the capture's LAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Host {
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
}

impl Host {
    pub fn new(mac: [u8; 6], ip: [u8; 4]) -> Host {
        Host { mac, ip: Ipv4Addr::from(ip) }
    }

    /// The all-ones broadcast address of the LAN.
    pub fn broadcast() -> Host {
        Host { mac: [0xff; 6], ip: Ipv4Addr::BROADCAST }
    }
}

/// A capture being built: frames with timestamps, in order.
#[derive(Clone, Debug, Default)]
pub struct Capture {
    frames: Vec<(Duration, Vec<u8>)>,
    /// Time of the next frame.
    pub now: Duration,
}

impl Capture {
    /// A capture starting at 2024-01-01 00:00:00 UTC.
    pub fn new() -> Capture {
        Capture { frames: Vec::new(), now: Duration::from_secs(1_704_067_200) }
    }

    /// Moves the clock forward.
    pub fn wait(&mut self, d: Duration) -> &mut Self {
        self.now += d;
        self
    }

    pub fn push_frame(&mut self, frame: Vec<u8>) {
        self.frames.push((self.now, frame));
        self.now += Duration::from_millis(1);
    }

    pub fn udp(&mut self, from: Host, sport: u16, to: Host, dport: u16, payload: &[u8]) -> &mut Self {
        let b = PacketBuilder::ethernet2(from.mac, to.mac)
            .ipv4(from.ip.octets(), to.ip.octets(), 64)
            .udp(sport, dport);
        let mut out = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut out, payload).expect("write to a Vec");
        self.push_frame(out);
        self
    }

    /// Opens a TCP connection (three-way handshake) from `client` to `server`.
    pub fn tcp(&mut self, client: Host, cport: u16, server: Host, sport: u16) -> TcpFlow<'_> {
        let mut flow = TcpFlow {
            cap: self,
            ends: [(client, cport, 1_000), (server, sport, 500_000)],
        };
        flow.segment(0, &[], Flags::Syn);
        flow.segment(1, &[], Flags::SynAck);
        flow.segment(0, &[], Flags::Ack);
        flow
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The frames' bytes, in order.
    pub fn frames(&self) -> impl Iterator<Item = &[u8]> {
        self.frames.iter().map(|(_, f)| f.as_slice())
    }

    /// Writes the capture as classic pcap (Ethernet link type).
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let mut w = pcap_writer(BufWriter::new(File::create(path)?))?;
        self.write_frames(&mut w)
    }

    /// Appends the frames to a pcap being written (large captures are
    /// written piece by piece, each piece built and dropped).
    pub fn write_frames<W: Write>(&self, w: &mut PcapWriter<W>) -> io::Result<()> {
        for (ts, data) in &self.frames {
            w.write_packet(&PcapPacket::new(*ts, data.len() as u32, data)).map_err(io::Error::other)?;
        }
        Ok(())
    }
}

/// A classic pcap writer (little-endian, Ethernet link type).
pub fn pcap_writer<W: Write>(out: W) -> io::Result<PcapWriter<W>> {
    PcapWriter::with_header(out, PcapHeader { endianness: pcap_file::Endianness::Little, ..PcapHeader::default() })
        .map_err(io::Error::other)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flags {
    Syn,
    SynAck,
    Ack,
    PshAck,
}

/// One TCP connection inside a [`Capture`]; end 0 is the client.
pub struct TcpFlow<'a> {
    cap: &'a mut Capture,
    /// (host, port, next sequence number) of client and server.
    ends: [(Host, u16, u32); 2],
}

impl TcpFlow<'_> {
    fn segment(&mut self, from: usize, payload: &[u8], flags: Flags) {
        let (src, sport, seq) = self.ends[from];
        let (dst, dport, peer_seq) = self.ends[1 - from];
        let mut b = PacketBuilder::ethernet2(src.mac, dst.mac)
            .ipv4(src.ip.octets(), dst.ip.octets(), 64)
            .tcp(sport, dport, seq, 65_535);
        b = match flags {
            Flags::Syn => b.syn(),
            Flags::SynAck => b.syn().ack(peer_seq),
            Flags::Ack => b.ack(peer_seq),
            Flags::PshAck => b.psh().ack(peer_seq),
        };
        let mut out = Vec::with_capacity(b.size(payload.len()));
        b.write(&mut out, payload).expect("write to a Vec");
        self.cap.push_frame(out);
        let used = payload.len() as u32 + u32::from(matches!(flags, Flags::Syn | Flags::SynAck));
        self.ends[from].2 = seq.wrapping_add(used);
    }

    /// The client sends `data` in one segment.
    pub fn client(&mut self, data: &[u8]) -> &mut Self {
        self.send(0, data, &[])
    }

    /// The server sends `data` in one segment.
    pub fn server(&mut self, data: &[u8]) -> &mut Self {
        self.send(1, data, &[])
    }

    /// Sends `data` from end `from` (0 client, 1 server), cut into segments
    /// at the given offsets, each segment acknowledged by the peer.
    pub fn send(&mut self, from: usize, data: &[u8], cuts: &[usize]) -> &mut Self {
        let mut start = 0;
        for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
            let cut = cut.clamp(start, data.len());
            if cut > start {
                self.segment(from, &data[start..cut], Flags::PshAck);
                self.segment(1 - from, &[], Flags::Ack);
            }
            start = cut;
        }
        self
    }

    /// Moves the capture clock forward.
    pub fn wait(&mut self, d: Duration) -> &mut Self {
        self.cap.wait(d);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_readable_pcap() {
        let mut cap = Capture::new();
        let a = Host::new([2, 0, 0, 0, 0, 1], [10, 0, 0, 1]);
        let b = Host::new([2, 0, 0, 0, 0, 2], [10, 0, 0, 2]);
        cap.udp(a, 1000, b, 2000, b"hello");
        cap.tcp(a, 40000, b, 6668).client(b"abcdef").send(1, b"0123456789", &[3, 7]);
        // handshake 3 + (1 + ack) + 3 segments with acks
        assert_eq!(cap.len(), 1 + 3 + 2 + 6);
        let dir = std::env::temp_dir().join(format!("ph-samples-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.pcap");
        cap.write(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
