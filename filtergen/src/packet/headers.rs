//! What a frame's link, network and transport headers say, as far as they
//! settle the display-filter fields a profile's rules test (`eth.addr`,
//! `ip.addr`, `ipv6.addr`, `tcp.port`, `udp.port`, header protocols).
//!
//! `certain` is the important part: it is true only when Wireshark (4.x,
//! default preferences) would find no further header of those kinds inside
//! the frame, so a field absent here is absent in tshark too. It is false for
//! anything this decoder does not fully understand: other link types and
//! ethertypes, LLC other than STP/CDP, IP fragments, IPv6 extension headers
//! other than hop-by-hop, ICMP errors and redirects (they quote an inner IP
//! packet), IP protocols other than TCP/UDP/ICMP/ICMPv6/IGMP, truncated or
//! bogus headers, and UDP/TCP payloads that Wireshark would open as a tunnel
//! (by port, `ENCAP_UDP_PORTS`/`ENCAP_TCP_PORTS`, or by a heuristic that is
//! enabled by default and decodes inner frames: rpcap, e100, mp2t,
//! peekremote, rftap). Facts that are present are always true.

use pcap_file::DataLink;

/// UDP ports Wireshark decodes as a tunnel or a packet carrier: L2TP,
/// GTP-U, Teredo, LISP, GRE/MPLS-in-UDP, VXLAN(-GPE), peekremote, CAPWAP,
/// Geneve, sFlow, LWAPP, ZEP, Thread, Juniper mirror, TZSP, rpcap, AYIYA.
pub const ENCAP_UDP_PORTS: [u16; 21] =
    [1701, 2152, 3544, 4341, 4754, 4789, 4790, 5000, 5246, 5247, 6081, 6343, 6635, 12222, 12223, 17754, 19788, 30030, 37008, 2002, 5072];
/// TCP ports likewise: rpcap, OpenFlow (carries frames), STT.
pub const ENCAP_TCP_PORTS: [u16; 4] = [2002, 6633, 6653, 7471];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Llc {
    pub dsap: u8,
    pub ssap: u8,
    /// SNAP organization code and protocol id.
    pub snap: Option<(u32, u16)>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub certain: bool,
    /// Outer Ethernet source and destination.
    pub eth: Option<([u8; 6], [u8; 6])>,
    pub vlan: bool,
    /// The ethertype after any VLAN tags (None for 802.3 length frames).
    pub ethertype: Option<u16>,
    pub llc: Option<Llc>,
    pub ip4: Option<(u32, u32)>,
    pub ip6: Option<(u128, u128)>,
    /// IP protocol / IPv6 next header of an unfragmented packet.
    pub ip_proto: Option<u8>,
    pub tcp: Option<(u16, u16)>,
    pub udp: Option<(u16, u16)>,
    /// TCP segment or UDP datagram with a payload (it may carry host names).
    pub l4_payload: bool,
    /// Where that payload is in the frame: start and end offsets.
    pub payload: (usize, usize),
    /// TCP flags (the byte holding SYN, ACK, FIN, RST, ...).
    pub tcp_flags: u8,
}

impl Facts {
    /// Whether a port is `tcp` or `udp` source or destination.
    pub fn tcp_port(&self, f: impl Fn(u16) -> bool) -> bool {
        self.tcp.is_some_and(|(a, b)| f(a) || f(b))
    }
    pub fn udp_port(&self, f: impl Fn(u16) -> bool) -> bool {
        self.udp.is_some_and(|(a, b)| f(a) || f(b))
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Decodes one frame of the given link type.
pub fn decode(linktype: DataLink, frame: &[u8]) -> Facts {
    let mut f = Facts::default();
    if linktype == DataLink::ETHERNET {
        ethernet(frame, &mut f);
    }
    f
}

fn ethernet(b: &[u8], f: &mut Facts) {
    if b.len() < 14 {
        return;
    }
    let mut dst = [0u8; 6];
    let mut src = [0u8; 6];
    dst.copy_from_slice(&b[0..6]);
    src.copy_from_slice(&b[6..12]);
    f.eth = Some((src, dst));
    let mut at = 12;
    let mut ethertype = be16(b, at);
    while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
        if b.len() < at + 6 {
            return;
        }
        f.vlan = true;
        at += 4;
        ethertype = be16(b, at);
    }
    let payload = &b[at + 2..];
    if ethertype <= 1500 {
        llc(payload, f);
        return;
    }
    f.ethertype = Some(ethertype);
    match ethertype {
        0x0806 | 0x88cc => f.certain = true,
        0x0800 => ipv4(payload, at + 2, f),
        0x86dd => ipv6(payload, at + 2, f),
        _ => {}
    }
}

/// 802.3 frames: STP (DSAP 0x42), CDP and PVST+ (Cisco SNAP) are certain.
fn llc(b: &[u8], f: &mut Facts) {
    if b.len() < 3 {
        return;
    }
    let mut llc = Llc { dsap: b[0], ssap: b[1], snap: None };
    if b[0] == 0xaa && b[1] == 0xaa {
        if b.len() < 8 {
            return;
        }
        let oui = u32::from_be_bytes([0, b[3], b[4], b[5]]);
        llc.snap = Some((oui, be16(b, 6)));
    }
    f.llc = Some(llc);
    f.certain = llc.dsap == 0x42 && llc.ssap == 0x42 || matches!(llc.snap, Some((0x00000c, 0x2000 | 0x010b)));
}

/// `b` starts at frame offset `at`.
fn ipv4(b: &[u8], at: usize, f: &mut Facts) {
    if b.len() < 20 || b[0] >> 4 != 4 {
        return;
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    let total = usize::from(be16(b, 2));
    if ihl < 20 || b.len() < ihl || total < ihl {
        return;
    }
    f.ip4 = Some((u32::from_be_bytes([b[12], b[13], b[14], b[15]]), u32::from_be_bytes([b[16], b[17], b[18], b[19]])));
    let fragment = b[6] & 0x20 != 0 || be16(b, 6) & 0x1fff != 0;
    if fragment {
        return;
    }
    let proto = b[9];
    f.ip_proto = Some(proto);
    transport(proto, &b[ihl..total.min(b.len())], at + ihl, false, f);
}

fn ipv6(b: &[u8], at: usize, f: &mut Facts) {
    if b.len() < 40 || b[0] >> 4 != 6 {
        return;
    }
    let addr = |at: usize| u128::from_be_bytes(b[at..at + 16].try_into().expect("16 bytes"));
    f.ip6 = Some((addr(8), addr(24)));
    let length = usize::from(be16(b, 4));
    if length == 0 {
        return; // jumbogram
    }
    let mut next = b[6];
    let mut payload = &b[40..(40 + length).min(b.len())];
    let mut at = at + 40;
    if next == 0 {
        if payload.len() < 2 {
            return;
        }
        let len = (usize::from(payload[1]) + 1) * 8;
        if payload.len() < len {
            return;
        }
        next = payload[0];
        payload = &payload[len..];
        at += len;
    }
    f.ip_proto = Some(next);
    transport(next, payload, at, true, f);
}

fn transport(proto: u8, p: &[u8], at: usize, v6: bool, f: &mut Facts) {
    match (proto, v6) {
        (6, _) => {
            if p.len() < 20 {
                return;
            }
            let ports = (be16(p, 0), be16(p, 2));
            f.tcp = Some(ports);
            let offset = usize::from(p[12] >> 4) * 4;
            f.l4_payload = p.len() > offset;
            f.tcp_flags = p[13];
            if offset >= 20 {
                f.payload = (at + offset.min(p.len()), at + p.len());
            }
            f.certain = offset >= 20 && !f.tcp_port(|x| ENCAP_TCP_PORTS.contains(&x));
        }
        (17, _) => {
            if p.len() < 8 {
                return;
            }
            f.udp = Some((be16(p, 0), be16(p, 2)));
            let length = usize::from(be16(p, 4));
            if length < 8 {
                return;
            }
            let payload = &p[8..length.min(p.len())];
            f.l4_payload = !payload.is_empty();
            f.payload = (at + 8, at + 8 + payload.len());
            f.certain = !f.udp_port(|x| ENCAP_UDP_PORTS.contains(&x)) && !looks_encapsulated(payload);
        }
        // ICMP errors (3, 4, 5, 11, 12) quote the packet that caused them.
        (1, false) => f.certain = p.first().is_some_and(|t| !matches!(t, 3 | 4 | 5 | 11 | 12)),
        // ICMPv6 errors (1-4) and redirects (137) quote a packet too.
        (58, true) => f.certain = p.first().is_some_and(|t| !matches!(t, 1..=4 | 137)),
        (2, false) | (59, true) => f.certain = true,
        _ => {}
    }
}

/// Loose versions of the signatures of UDP heuristics that are enabled by
/// default and decode a captured frame inside the payload: anything that
/// could pass them is left to tshark.
fn looks_encapsulated(p: &[u8]) -> bool {
    let rpcap = p.len() >= 8 && p[0] == 0 && u32::from_be_bytes([p[4], p[5], p[6], p[7]]) as usize == p.len() - 8;
    // Arbor E100: a 28-byte header, version 1, bytes captured (offset 20) = the rest.
    let e100 = p.len() >= 28 && p[0] == 1 && u32::from_be_bytes([p[20], p[21], p[22], p[23]]) as usize == p.len() - 28;
    let mp2t = !p.is_empty() && p[0] == 0x47 && p.len() % 188 == 0;
    let peekremote = p.starts_with(&[0x00, 0xff, 0xab, 0xcd]);
    let rftap = p.starts_with(b"RFta");
    rpcap || e100 || mp2t || peekremote || rftap
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[0x64, 0x90, 0xc1, 0x1d, 0x24, 0xc4]);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn ipv4_udp(flags_frag: u16, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let total = 20 + 8 + payload.len();
        let mut p = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 1];
        p.extend_from_slice(&flags_frag.to_be_bytes());
        p.extend_from_slice(&[64, 17, 0, 0, 10, 10, 10, 8, 8, 8, 4, 4]);
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn plain_udp_is_certain() {
        let f = decode(DataLink::ETHERNET, &eth(0x0800, &ipv4_udp(0, 6667, 6667, &[0, 0, 0x55, 0xaa, 1, 2, 3])));
        assert!(f.certain);
        assert_eq!(f.ip4, Some((0x0a0a0a08, 0x08080404)));
        assert_eq!(f.udp, Some((6667, 6667)));
        assert!(f.l4_payload);
    }

    #[test]
    fn tunnels_fragments_and_short_frames_are_not_certain() {
        let vxlan = decode(DataLink::ETHERNET, &eth(0x0800, &ipv4_udp(0, 40000, 4789, &[8, 0, 0, 0, 0, 0, 1, 0])));
        assert!(!vxlan.certain);
        let fragment = decode(DataLink::ETHERNET, &eth(0x0800, &ipv4_udp(0x2000, 1, 2, b"x")));
        assert!(!fragment.certain);
        assert!(fragment.udp.is_none(), "Wireshark dissects the transport only after reassembly");
        assert!(fragment.ip4.is_some());
        assert!(!decode(DataLink::ETHERNET, &[0u8; 10]).certain);
        assert!(!decode(DataLink::ETHERNET, &eth(0x8864, &[0u8; 40])).certain);
        assert!(!decode(DataLink::LINUX_SLL, &eth(0x0800, &ipv4_udp(0, 1, 2, b"x"))).certain);
    }

    #[test]
    fn vlan_and_llc() {
        let mut tagged = eth(0x8100, &[0, 5]);
        tagged.extend_from_slice(&0x0806u16.to_be_bytes());
        tagged.extend_from_slice(&[0u8; 28]);
        let f = decode(DataLink::ETHERNET, &tagged);
        assert!(f.vlan && f.certain);
        assert_eq!(f.ethertype, Some(0x0806));
        let stp = decode(DataLink::ETHERNET, &eth(38, &[0x42, 0x42, 3, 0, 0]));
        assert!(stp.certain && stp.llc.is_some_and(|l| l.dsap == 0x42));
        let netbios = decode(DataLink::ETHERNET, &eth(38, &[0xf0, 0xf0, 3, 0, 0]));
        assert!(!netbios.certain);
    }
}
