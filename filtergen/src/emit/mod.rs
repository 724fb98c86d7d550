//! Outputs for other tools: tshark command lines (`command`), batch scripts
//! (`script`), Wireshark configuration profiles (`wsprofile`, with the UAT
//! file format in `uat`), RFC 8520 MUD files (`mud`), Suricata rules
//! (`suricata`) and router rules (`firewall`: nftables, OpenWrt fw4, dnsmasq
//! nftset lines).

pub(crate) mod command;
pub(crate) mod firewall;
pub(crate) mod mud;
pub(crate) mod script;
pub(crate) mod shell;
pub(crate) mod suricata;
pub(crate) mod uat;
pub(crate) mod wsprofile;
