//! The output of a dissection, as plain data: a flat list of tree items with
//! byte ranges, extra data sources (decrypted payloads), the Info column and
//! hand-offs to other dissectors. The Wireshark glue renders it after the
//! parser has returned, so no Rust frame is ever on the stack when Wireshark
//! throws one of its (longjmp) exceptions.

/// A byte range in the packet (`source` 0) or in an added data source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub source: u32,
    pub offset: u32,
    pub len: u32,
}

impl Span {
    /// A range of the packet's own bytes.
    pub fn wire(offset: usize, len: usize) -> Span {
        Span { source: 0, offset: offset as u32, len: len as u32 }
    }

    /// A range of data source `source` (as returned by [`Tree::add_source`]).
    pub fn of(source: u32, offset: usize, len: usize) -> Span {
        Span { source, offset: offset as u32, len: len as u32 }
    }

    /// The sub-range `offset..offset+len` relative to this span.
    pub fn sub(self, offset: usize, len: usize) -> Span {
        Span { source: self.source, offset: self.offset + offset as u32, len: len as u32 }
    }

    fn end(self) -> u64 {
        self.offset as u64 + self.len as u64
    }
}

/// Byte order / text encoding of a value read from the bytes themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Enc {
    Big = 0,
    Little = 1,
    /// No encoding (bytes, FT_NONE).
    Na = 2,
    Ascii = 3,
    Utf8 = 4,
}

/// A field's value: read from its bytes (`Wire`) or computed by the parser.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Wire(Enc),
    Uint(u64),
    Int(i64),
    Bool(bool),
    Str(String),
    Bytes(Vec<u8>),
    Ipv4([u8; 4]),
    Frame(u32),
    Seconds(f64),
    Double(f64),
}

/// Wireshark's checksum status convention (`proto_checksum_vals`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumStatus {
    Bad = 0,
    Good = 1,
    Unverified = 2,
    NotPresent = 3,
}

impl ChecksumStatus {
    pub fn from_match(good: bool) -> ChecksumStatus {
        if good {
            ChecksumStatus::Good
        } else {
            ChecksumStatus::Bad
        }
    }
}

/// Names for a checksum status field (`*.checksum.status`).
pub static CHECKSUM_STATUS_NAMES: &[(u32, &str)] =
    &[(0, "Bad"), (1, "Good"), (2, "Unverified"), (3, "Not present")];

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Field { field: u32, span: Span, value: Value, generated: bool },
    /// Following items go into a subtree of the last field.
    Open,
    /// Ends the innermost open subtree.
    Close,
    /// Appends text to the last field's label.
    Append(String),
    /// An expert info on the last field (or on the protocol item).
    Expert { expert: u32, text: Option<String> },
    /// Calls another Wireshark dissector (e.g. "json") on a range.
    Call { dissector: &'static str, span: Span },
}

/// A decrypted or descrambled payload shown as its own tab in Wireshark.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Whether the key (or token, or PSK) a device's payloads need is at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum KeyState {
    /// The packet needs no key (cleartext, a fixed public transform).
    NotNeeded = 0,
    /// From the user's key table or preference.
    Configured = 1,
    /// Learnt from the capture (a leaked token, a negotiated session key).
    Learnt = 2,
    /// A published key (Tuya's discovery key, a vendor PSK).
    Public = 3,
    /// Encrypted, and no key is known.
    Needed = 4,
}

/// What became of the packet's encrypted payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PayloadState {
    /// No encrypted payload.
    None = 0,
    Decrypted = 1,
    /// A key was tried and did not decrypt or verify.
    Failed = 2,
    /// No key, so neither decrypted nor checked.
    Unchecked = 3,
}

/// What the device view (the `phonehome` stats tree) counts for a packet.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceStat {
    /// The device as the view lists it: a UID, a device id, an address.
    pub device: String,
    /// Facts about it this packet shows ("version 3.3", "id bf01…").
    pub facts: Vec<String>,
    pub key: KeyState,
    pub payload: PayloadState,
}

/// Which parts of a dissection its caller reads; the dissectors build only
/// those, as Wireshark's own skip what no tree shows and no filter
/// references. [`Tree::new`] wants everything, [`Tree::wanting`] only the
/// values of some fields. Data sources, experts (without their text when
/// text is not wanted), hand-offs and `malformed` are always kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// Bit n: field n of the protocol's table (fields past the mask's width
    /// are always wanted).
    fields: u128,
    /// The text around the values: Info column, summary and label appends.
    text: bool,
    /// The device record for the device view (a tap only Wireshark knows
    /// whether anyone listens to).
    device: bool,
}

impl Wanted {
    pub const ALL: Wanted = Wanted { fields: u128::MAX, text: true, device: true };

    /// Only the values of `fields` (indices into the protocol's table).
    pub fn fields(fields: impl IntoIterator<Item = u32>) -> Wanted {
        let fields = fields.into_iter().filter(|&f| f < u128::BITS).fold(0, |mask, f| mask | 1u128 << f);
        Wanted { fields, text: false, device: false }
    }

    /// Bit n of `fields` for field n, whether the text and whether the
    /// device record are wanted.
    pub fn bits(fields: u128, text: bool, device: bool) -> Wanted {
        Wanted { fields, text, device }
    }

    pub fn field(self, field: impl Into<u32>) -> bool {
        let field = field.into();
        field >= u128::BITS || self.fields & 1u128 << field != 0
    }
}

impl Default for Wanted {
    fn default() -> Wanted {
        Wanted::ALL
    }
}

/// The result of dissecting one PDU.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tree {
    pub items: Vec<Item>,
    pub sources: Vec<Source>,
    /// Text for the Info column.
    pub info: Option<String>,
    /// Text appended to the protocol's own tree item.
    pub summary: Option<String>,
    /// Set when the parser gave up on malformed bytes (or panicked).
    pub malformed: Option<String>,
    /// The device this packet belongs to, for the device view.
    pub device: Option<DeviceStat>,
    /// What the caller reads: unwanted fields and text are not kept.
    pub wanted: Wanted,
}

impl Tree {
    pub fn new() -> Tree {
        Tree::default()
    }

    /// An empty tree that keeps only what `wanted` names.
    pub fn wanting(wanted: Wanted) -> Tree {
        Tree { wanted, ..Tree::default() }
    }

    /// Empties the tree for the next dissection, keeping the allocations
    /// of its lists: the same as [`Tree::wanting`] otherwise.
    pub fn reset(&mut self, wanted: Wanted) {
        let (mut items, mut sources) = (std::mem::take(&mut self.items), std::mem::take(&mut self.sources));
        items.clear();
        sources.clear();
        *self = Tree { items, sources, ..Tree::wanting(wanted) };
    }

    /// Whether the caller reads `field`'s value (build it only then).
    pub fn wants(&self, field: impl Into<u32>) -> bool {
        self.wanted.field(field)
    }

    /// Whether the caller reads the Info column, summary and label appends
    /// (format them only then).
    pub fn wants_text(&self) -> bool {
        self.wanted.text
    }

    /// Whether the caller reads the device record (build it only then).
    pub fn wants_device(&self) -> bool {
        self.wanted.device
    }

    /// Whether an expert info `expert` was added.
    pub fn has_expert(&self, expert: impl Into<u32>) -> bool {
        let expert = expert.into();
        self.items.iter().any(|i| matches!(i, Item::Expert { expert: e, .. } if *e == expert))
    }

    /// Records the device this packet belongs to, for the device view.
    pub fn device(&mut self, device: impl Into<String>, facts: Vec<String>, key: KeyState, payload: PayloadState) {
        if !self.wanted.device {
            return;
        }
        self.device = Some(DeviceStat { device: device.into(), facts, key, payload });
    }

    /// A field whose value Wireshark reads from the packet bytes.
    pub fn wire(&mut self, field: impl Into<u32>, offset: usize, len: usize, enc: Enc) -> &mut Self {
        self.field(field, Span::wire(offset, len), Value::Wire(enc))
    }

    /// A field with a value the parser computed, highlighting `span`.
    pub fn field(&mut self, field: impl Into<u32>, span: Span, value: Value) -> &mut Self {
        self.push_field(field.into(), span, value, false)
    }

    /// A generated field (shown in brackets): derived, not on the wire.
    pub fn generated(&mut self, field: impl Into<u32>, span: Span, value: Value) -> &mut Self {
        self.push_field(field.into(), span, value, true)
    }

    fn push_field(&mut self, field: u32, span: Span, value: Value, generated: bool) -> &mut Self {
        if self.wanted.field(field) {
            self.items.push(Item::Field { field, span, value, generated });
        }
        self
    }

    /// Runs `body` with its items in a subtree of the last field.
    pub fn subtree(&mut self, body: impl FnOnce(&mut Tree)) -> &mut Self {
        self.items.push(Item::Open);
        body(self);
        self.items.push(Item::Close);
        self
    }

    pub fn append(&mut self, text: impl Into<String>) -> &mut Self {
        if self.wanted.text {
            self.items.push(Item::Append(text.into()));
        }
        self
    }

    pub fn expert(&mut self, expert: impl Into<u32>, text: Option<String>) -> &mut Self {
        self.items.push(Item::Expert { expert: expert.into(), text });
        self
    }

    pub fn call(&mut self, dissector: &'static str, span: Span) -> &mut Self {
        self.items.push(Item::Call { dissector, span });
        self
    }

    /// Adds a data source tab; returns its id for [`Span::of`].
    pub fn add_source(&mut self, name: impl Into<String>, bytes: Vec<u8>) -> u32 {
        self.sources.push(Source { name: name.into(), bytes });
        self.sources.len() as u32
    }

    pub fn info(&mut self, text: impl Into<String>) {
        if self.wanted.text {
            self.info = Some(text.into());
        }
    }

    pub fn summary(&mut self, text: impl Into<String>) {
        if self.wanted.text {
            self.summary = Some(text.into());
        }
    }

    pub fn malformed(&mut self, why: impl Into<String>) {
        self.malformed.get_or_insert_with(|| why.into());
    }

    /// A checksum on the wire plus its generated status field, with the
    /// expert `bad` attached when it does not verify.
    pub fn checksum(
        &mut self,
        field: impl Into<u32>,
        status_field: impl Into<u32>,
        bad: impl Into<u32>,
        span: Span,
        status: ChecksumStatus,
        computed: Option<String>,
    ) -> &mut Self {
        let enc = if span.len <= 8 { Enc::Big } else { Enc::Na };
        self.field(field, span, Value::Wire(enc));
        if status == ChecksumStatus::Bad {
            if let Some(c) = &computed {
                self.append(format!(" incorrect, should be {c}"));
            }
        }
        self.generated(status_field, span, Value::Uint(status as u64));
        if status == ChecksumStatus::Bad {
            self.expert(bad, computed.map(|c| format!("Bad checksum, should be {c}")));
        }
        self
    }

    /// Compares the length a header announces with the bytes present: the
    /// expert `mismatch` on the last field when they differ, and malformed
    /// when bytes are missing (trailing extra bytes are only the expert).
    pub fn check_length(&mut self, mismatch: impl Into<u32>, said: usize, have: usize) -> &mut Self {
        if said != have {
            let why = format!("length field says {said} bytes, the datagram has {have}");
            if said > have {
                self.malformed(why.clone());
            }
            self.expert(mismatch, Some(why));
        }
        self
    }

    /// Checks every span against the packet length and the data sources,
    /// and that subtrees balance. Returns the first problem found.
    pub fn validate(&self, packet_len: usize) -> Result<(), String> {
        let mut depth = 0i64;
        for item in &self.items {
            let span = match item {
                Item::Field { span, .. } | Item::Call { span, .. } => Some(*span),
                Item::Open => {
                    depth += 1;
                    None
                }
                Item::Close => {
                    depth -= 1;
                    if depth < 0 {
                        return Err("subtree closed twice".into());
                    }
                    None
                }
                _ => None,
            };
            if let Some(span) = span {
                let limit = match span.source {
                    0 => packet_len,
                    n => match self.sources.get(n as usize - 1) {
                        Some(s) => s.bytes.len(),
                        None => return Err(format!("no data source {n}")),
                    },
                };
                if span.end() > limit as u64 {
                    return Err(format!(
                        "range {}+{} beyond the {limit} bytes of source {}",
                        span.offset, span.len, span.source
                    ));
                }
            }
        }
        if depth != 0 {
            return Err("unbalanced subtree".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_out_of_range_spans() {
        let mut t = Tree::new();
        t.wire(0u32, 0, 4, Enc::Big);
        assert!(t.validate(4).is_ok());
        assert!(t.validate(3).is_err());
        let src = t.add_source("x", vec![0; 2]);
        t.field(0u32, Span::of(src, 1, 2), Value::Wire(Enc::Na));
        assert!(t.validate(4).unwrap_err().contains("source 1"));
    }

    #[test]
    fn validate_rejects_unbalanced_subtrees() {
        let mut t = Tree::new();
        t.items.push(Item::Open);
        assert!(t.validate(0).is_err());
        t.items.push(Item::Close);
        t.items.push(Item::Close);
        assert!(t.validate(0).is_err());
    }
}
