//! Outputs for other tools: tshark command lines (`command`), batch scripts
//! (`script`), Wireshark configuration profiles (`wsprofile`, with the UAT
//! file format in `uat`) and RFC 8520 MUD files (`mud`).

pub(crate) mod command;
pub(crate) mod mud;
pub(crate) mod script;
pub(crate) mod shell;
pub(crate) mod uat;
pub(crate) mod wsprofile;
