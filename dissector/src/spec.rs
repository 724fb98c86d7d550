//! Static descriptions of a protocol: its fields, expert infos, key tables
//! and ports. These are plain Rust data; the Wireshark glue turns them into
//! `hf_register_info`, `ei_register_info`, UATs and port registrations.

/// The value type of a field, mapped by the glue to Wireshark's `FT_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A label or a subtree head without a value (`FT_NONE`).
    None = 0,
    U8 = 1,
    U16 = 2,
    U32 = 3,
    U64 = 4,
    Bool = 5,
    Str = 6,
    Bytes = 7,
    Ipv4 = 8,
    /// A frame number, shown as a link (`FT_FRAMENUM`).
    Frame = 9,
    /// A relative time in seconds (`FT_RELATIVE_TIME`).
    Duration = 10,
    I64 = 11,
    Double = 12,
}

/// How an integer field is displayed (`BASE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Base {
    None = 0,
    Dec = 1,
    Hex = 2,
    DecHex = 3,
}

/// One filterable field, e.g. `tuya.seq`.
#[derive(Debug)]
pub struct FieldSpec {
    pub abbrev: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    pub base: Base,
    /// Names for integer values (command names, status codes, ...).
    pub names: &'static [(u32, &'static str)],
    pub blurb: &'static str,
}

/// Expert info groups (a subset of Wireshark's `PI_*` groups).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Group {
    Checksum = 0,
    Malformed = 1,
    Undecoded = 2,
    Protocol = 3,
    Security = 4,
    Decryption = 5,
    Sequence = 6,
}

/// Expert info severities (`PI_CHAT` .. `PI_ERROR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Severity {
    Chat = 0,
    Note = 1,
    Warn = 2,
    Error = 3,
}

#[derive(Debug)]
pub struct ExpertSpec {
    pub abbrev: &'static str,
    pub group: Group,
    pub severity: Severity,
    pub summary: &'static str,
}

/// A user-editable table (a Wireshark UAT) of string columns, e.g. keys.
#[derive(Debug)]
pub struct TableSpec {
    /// The UAT name, used on the tshark command line as `-o uat:NAME:...`.
    pub name: &'static str,
    pub title: &'static str,
    pub help: &'static str,
    pub columns: &'static [ColumnSpec],
}

#[derive(Debug)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
}

/// A free-text preference of the protocol.
#[derive(Debug)]
pub struct PrefSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
}

/// An inclusive range of ports (`first == last` for one port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    /// The single port `port`.
    pub const fn one(port: u16) -> PortRange {
        PortRange { first: port, last: port }
    }

    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

/// Whether one of `ranges` holds `port`.
pub fn in_ranges(ranges: &[PortRange], port: u16) -> bool {
    ranges.iter().any(|r| r.contains(port))
}

/// `ranges` as a Wireshark range string, e.g. "6666-6667,7000".
pub fn range_text(ranges: &[PortRange]) -> String {
    let one = |r: &PortRange| if r.first == r.last { r.first.to_string() } else { format!("{}-{}", r.first, r.last) };
    ranges.iter().map(one).collect::<Vec<_>>().join(",")
}

/// Everything the glue needs to register one protocol.
#[derive(Debug)]
pub struct ProtocolSpec {
    pub name: &'static str,
    pub short_name: &'static str,
    pub filter_name: &'static str,
    pub fields: &'static [FieldSpec],
    pub experts: &'static [ExpertSpec],
    /// The UDP and TCP ports Wireshark hands to the protocol.
    pub udp_ports: &'static [PortRange],
    pub tcp_ports: &'static [PortRange],
    pub heuristic_udp: bool,
    pub heuristic_tcp: bool,
    /// Bytes needed before [`crate::Dissector::pdu_len`] can tell a TCP PDU's length.
    pub tcp_header_len: u32,
    /// A datagram identical to the last one the protocol dissected between
    /// the same two ends, with no other dissection of the protocol in
    /// between, gives the same tree and writes nothing new to the state: a
    /// caller may reuse the first result (`filtergen report` does).
    pub datagrams_repeat_alike: bool,
    pub table: Option<&'static TableSpec>,
    pub prefs: &'static [PrefSpec],
}

/// Declares a field enum and its spec table in one go, so the enum value is
/// always the index of its spec:
///
/// ```ignore
/// fields! { pub Field, FIELDS;
///     Seq => ("tuya.seq", "Sequence number", U32, Dec),
///     Cmd => ("tuya.cmd", "Command", U32, Hex, CMD_NAMES),
/// }
/// ```
#[macro_export]
macro_rules! fields {
    ($vis:vis $enum:ident, $table:ident;
     $($variant:ident => ($abbrev:expr, $name:expr, $kind:ident, $base:ident $(, $names:expr)? $(; $blurb:expr)?)),+ $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u32)]
        $vis enum $enum { $($variant),+ }
        $vis static $table: &[$crate::spec::FieldSpec] = &[
            $($crate::spec::FieldSpec {
                abbrev: $abbrev,
                name: $name,
                kind: $crate::spec::Kind::$kind,
                base: $crate::spec::Base::$base,
                names: $crate::fields!(@names $($names)?),
                blurb: $crate::fields!(@blurb $($blurb)?),
            }),+
        ];
        impl From<$enum> for u32 {
            fn from(f: $enum) -> u32 { f as u32 }
        }
    };
    (@names) => { &[] };
    (@names $names:expr) => { $names };
    (@blurb) => { "" };
    (@blurb $blurb:expr) => { $blurb };
}

/// Declares an expert enum and its spec table, like [`fields!`].
#[macro_export]
macro_rules! experts {
    ($vis:vis $enum:ident, $table:ident;
     $($variant:ident => ($abbrev:expr, $group:ident, $severity:ident, $summary:expr)),+ $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u32)]
        $vis enum $enum { $($variant),+ }
        $vis static $table: &[$crate::spec::ExpertSpec] = &[
            $($crate::spec::ExpertSpec {
                abbrev: $abbrev,
                group: $crate::spec::Group::$group,
                severity: $crate::spec::Severity::$severity,
                summary: $summary,
            }),+
        ];
        impl From<$enum> for u32 {
            fn from(e: $enum) -> u32 { e as u32 }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_print_as_wireshark_reads_them() {
        let r = [PortRange { first: 6666, last: 6667 }, PortRange::one(7000)];
        assert_eq!(range_text(&r), "6666-6667,7000");
        assert_eq!(range_text(&[]), "");
        assert!(in_ranges(&r, 6667) && in_ranges(&r, 7000) && !in_ranges(&r, 6668));
    }
}
