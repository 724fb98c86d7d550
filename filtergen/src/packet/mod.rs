//! Packets without tshark: reading and writing pcap/pcapng (gzip too), and
//! the link, network and transport headers the native filter decides on.

pub(crate) mod capture;
pub(crate) mod headers;
