//! A profile and a mode compiled into filters: the shared expression tree
//! (`expr`), Wireshark display filters (`dfilter`), BPF (`bpf`), the native
//! header matcher (`native`), argument or macro delivery (`delivery`) and
//! checking the results with the real tshark and libpcap (`check`).

pub(crate) mod bpf;
pub(crate) mod check;
pub(crate) mod delivery;
pub(crate) mod dfilter;
pub(crate) mod expr;
pub(crate) mod native;
