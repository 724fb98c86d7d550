//! The C API that `glue/plugin.c` calls; cbindgen turns this file into the
//! header the glue includes. Every entry point runs inside `catch_unwind`:
//! a panic becomes a malformed-packet result (or a refusal), never an
//! unwind into Wireshark. Nothing here calls back into Wireshark.

// The PH_* constants are read by the C glue, not by Rust.
#![allow(dead_code)]

use std::ffi::{c_char, CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::OnceLock;

use crate::tree::{Item, KeyState, PayloadState, Value, Wanted};
use crate::spec::{Base, Group, Kind, Severity};
use crate::tree::Enc;
use crate::{protocols, Dissector, Packet, PduLen, Slot, State, Transport, Tree};

/// A name for an integer value (`value_string`).
#[repr(C)]
pub struct PhValueName {
    pub value: u32,
    pub name: *const c_char,
}

#[repr(C)]
pub struct PhFieldInfo {
    pub abbrev: *const c_char,
    pub name: *const c_char,
    pub blurb: *const c_char,
    pub kind: Kind,
    pub base: Base,
    pub names: *const PhValueName,
    pub n_names: usize,
}

#[repr(C)]
pub struct PhExpertInfo {
    pub abbrev: *const c_char,
    pub summary: *const c_char,
    pub group: Group,
    pub severity: Severity,
}

/// A table column or a preference: name, title, description.
#[repr(C)]
pub struct PhNamedText {
    pub name: *const c_char,
    pub title: *const c_char,
    pub description: *const c_char,
}

#[repr(C)]
pub struct PhProtoInfo {
    pub name: *const c_char,
    pub short_name: *const c_char,
    pub filter_name: *const c_char,
    pub fields: *const PhFieldInfo,
    pub n_fields: usize,
    pub experts: *const PhExpertInfo,
    pub n_experts: usize,
    pub udp_ports: *const c_char,
    pub tcp_ports: *const c_char,
    pub heuristic_udp: bool,
    pub heuristic_tcp: bool,
    /// TCP ports shared with the dissector that had them before.
    pub shared_tcp_ports: *const u16,
    pub n_shared_tcp_ports: usize,
    pub tcp_header_len: u32,
    /// NULL when the protocol has no table.
    pub table_name: *const c_char,
    pub table_title: *const c_char,
    pub table_help: *const c_char,
    pub columns: *const PhNamedText,
    pub n_columns: usize,
    pub prefs: *const PhNamedText,
    pub n_prefs: usize,
}

/// Address kinds in [`PhPacket`].
pub const PH_ADDR_NONE: u8 = 0;
pub const PH_ADDR_IPV4: u8 = 4;
pub const PH_ADDR_IPV6: u8 = 6;
/// Transports in [`PhPacket`].
pub const PH_TRANSPORT_OTHER: u8 = 0;
pub const PH_TRANSPORT_UDP: u8 = 1;
pub const PH_TRANSPORT_TCP: u8 = 2;

/// The packet facts the glue reads from `packet_info`.
#[repr(C)]
pub struct PhPacket {
    pub frame: u32,
    pub visited: bool,
    pub transport: u8,
    pub src_kind: u8,
    pub dst_kind: u8,
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub src_port: u16,
    pub dst_port: u16,
    pub time: f64,
    /// The fields Wireshark reads of this dissection (bit n: field n of the
    /// protocol's table; all set when the tree is shown), in two halves.
    pub wanted_low: u64,
    pub wanted_high: u64,
    /// Whether it reads the text: Info column, labels.
    pub wanted_text: bool,
    /// Whether it reads the device record (the device view listens).
    pub wanted_device: bool,
}

/// Item kinds in [`PhItem`].
pub const PH_ITEM_FIELD: u8 = 0;
pub const PH_ITEM_OPEN: u8 = 1;
pub const PH_ITEM_CLOSE: u8 = 2;
pub const PH_ITEM_APPEND: u8 = 3;
pub const PH_ITEM_EXPERT: u8 = 4;
pub const PH_ITEM_CALL: u8 = 5;
/// Value kinds in [`PhItem`].
pub const PH_VALUE_WIRE: u8 = 0;
pub const PH_VALUE_UINT: u8 = 1;
pub const PH_VALUE_INT: u8 = 2;
pub const PH_VALUE_BOOL: u8 = 3;
pub const PH_VALUE_STR: u8 = 4;
pub const PH_VALUE_BYTES: u8 = 5;
pub const PH_VALUE_IPV4: u8 = 6;
pub const PH_VALUE_FRAME: u8 = 7;
pub const PH_VALUE_SECONDS: u8 = 8;
pub const PH_VALUE_DOUBLE: u8 = 9;

/// One tree item, flattened for C. `id` is the field (or expert) index;
/// `text` holds a string value, appended text, expert text or the name of
/// the dissector to call; `bytes` a byte or IPv4 value.
#[repr(C)]
pub struct PhItem {
    pub kind: u8,
    pub generated: bool,
    pub id: u32,
    pub source: u32,
    pub offset: u32,
    pub length: u32,
    pub value_kind: u8,
    /// The encoding of a `PH_VALUE_WIRE` value.
    pub enc: Enc,
    pub uint: u64,
    pub sint: i64,
    pub dbl: f64,
    pub text: *const c_char,
    pub bytes: *const u8,
    pub n_bytes: usize,
}

/// The device a packet belongs to, for the device view (stats tree).
#[repr(C)]
pub struct PhDevice {
    pub device: *const c_char,
    /// Facts about the device, one a line (empty when none).
    pub facts: *const c_char,
    pub key: KeyState,
    pub payload: PayloadState,
}

/// A finished dissection; read with the `ph_result_*` functions and
/// release with [`ph_result_free`].
pub struct PhResult {
    accepted: bool,
    /// The device record and the strings it points into.
    device: Option<(PhDevice, CString, CString)>,
    items: Vec<PhItem>,
    sources: Vec<(CString, Vec<u8>)>,
    info: Option<CString>,
    summary: Option<CString>,
    malformed: Option<CString>,
    // Owners of the strings and bytes the items point into.
    strings: Vec<CString>,
    blobs: Vec<Vec<u8>>,
}

/// Opaque per-conversation or per-capture protocol state.
pub struct PhSlot(Slot);

struct Infos(Vec<PhProtoInfo>);
// The pointers are to leaked, immutable strings and arrays.
unsafe impl Send for Infos {}
unsafe impl Sync for Infos {}

static INFOS: OnceLock<Infos> = OnceLock::new();

/// A C string for `s`; NUL bytes (never valid in our texts) become "\0".
/// One allocation of the final size, one copy and one scan for NUL when
/// there is none.
fn cstring(s: &str) -> CString {
    let mut bytes = Vec::with_capacity(s.len() + 1);
    bytes.extend_from_slice(s.as_bytes());
    CString::new(bytes).unwrap_or_else(|_| CString::new(s.replace('\0', "\\0")).expect("no NUL left"))
}

fn leak_str(s: &str) -> *const c_char {
    cstring(s).into_raw()
}

fn leak_slice<T>(v: Vec<T>) -> (*const T, usize) {
    let n = v.len();
    (Box::leak(v.into_boxed_slice()).as_ptr(), n)
}

fn named_texts(items: impl Iterator<Item = (&'static str, &'static str, &'static str)>) -> (*const PhNamedText, usize) {
    leak_slice(
        items
            .map(|(n, t, d)| PhNamedText { name: leak_str(n), title: leak_str(t), description: leak_str(d) })
            .collect(),
    )
}

fn proto_info(d: &dyn Dissector) -> PhProtoInfo {
    let spec = d.spec();
    let (fields, n_fields) = leak_slice(
        spec.fields
            .iter()
            .map(|f| {
                let (names, n_names) = leak_slice(
                    f.names.iter().map(|(v, n)| PhValueName { value: *v, name: leak_str(n) }).collect(),
                );
                PhFieldInfo {
                    abbrev: leak_str(f.abbrev),
                    name: leak_str(f.name),
                    blurb: if f.blurb.is_empty() { ptr::null() } else { leak_str(f.blurb) },
                    kind: f.kind,
                    base: f.base,
                    names,
                    n_names,
                }
            })
            .collect(),
    );
    let (experts, n_experts) = leak_slice(
        spec.experts
            .iter()
            .map(|e| PhExpertInfo {
                abbrev: leak_str(e.abbrev),
                summary: leak_str(e.summary),
                group: e.group,
                severity: e.severity,
            })
            .collect(),
    );
    let table = spec.table;
    let (columns, n_columns) =
        named_texts(table.into_iter().flat_map(|t| t.columns).map(|c| (c.name, c.title, c.description)));
    let (prefs, n_prefs) = named_texts(spec.prefs.iter().map(|p| (p.name, p.title, p.description)));
    PhProtoInfo {
        name: leak_str(spec.name),
        short_name: leak_str(spec.short_name),
        filter_name: leak_str(spec.filter_name),
        fields,
        n_fields,
        experts,
        n_experts,
        udp_ports: leak_str(&crate::spec::range_text(spec.udp_ports)),
        tcp_ports: leak_str(&crate::spec::range_text(spec.tcp_ports)),
        heuristic_udp: spec.heuristic_udp,
        heuristic_tcp: spec.heuristic_tcp,
        shared_tcp_ports: d.shared_tcp_ports().as_ptr(),
        n_shared_tcp_ports: d.shared_tcp_ports().len(),
        tcp_header_len: spec.tcp_header_len,
        table_name: table.map_or(ptr::null(), |t| leak_str(t.name)),
        table_title: table.map_or(ptr::null(), |t| leak_str(t.title)),
        table_help: table.map_or(ptr::null(), |t| leak_str(t.help)),
        columns,
        n_columns,
        prefs,
        n_prefs,
    }
}

fn infos() -> &'static [PhProtoInfo] {
    &INFOS.get_or_init(|| Infos(protocols().iter().map(|d| proto_info(*d)).collect())).0
}

fn dissector(proto: usize) -> Option<&'static dyn Dissector> {
    protocols().get(proto).copied()
}

thread_local! {
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Replaces the default panic message on stderr (which would interleave
/// with tshark's output) with a record that the malformed-packet expert
/// info reports.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg}{at}")));
    }));
}

fn guarded<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Number of protocols the plugin registers.
#[no_mangle]
pub extern "C" fn ph_proto_count() -> usize {
    guarded(0, || infos().len())
}

/// Registration facts of protocol `proto`, or NULL past the end. The
/// pointers stay valid for the life of the process.
#[no_mangle]
pub extern "C" fn ph_proto_info(proto: usize) -> *const PhProtoInfo {
    guarded(ptr::null(), || infos().get(proto).map_or(ptr::null(), |i| i as *const PhProtoInfo))
}

/// A new, empty state slot (for a conversation or a capture file).
#[no_mangle]
pub extern "C" fn ph_slot_new() -> *mut PhSlot {
    Box::into_raw(Box::new(PhSlot(Slot::default())))
}

/// Frees a slot from [`ph_slot_new`]; NULL is ignored.
///
/// # Safety
/// `slot` must come from `ph_slot_new` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ph_slot_free(slot: *mut PhSlot) {
    if !slot.is_null() {
        let boxed = Box::from_raw(slot);
        // A protocol's Drop must not unwind into C either.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
    }
}

fn addr(kind: u8, bytes: &[u8; 16]) -> Option<IpAddr> {
    match kind {
        PH_ADDR_IPV4 => Some(IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))),
        PH_ADDR_IPV6 => Some(IpAddr::V6(Ipv6Addr::from(*bytes))),
        _ => None,
    }
}

fn packet(p: &PhPacket) -> Packet {
    Packet {
        frame: p.frame,
        visited: p.visited,
        transport: match p.transport {
            PH_TRANSPORT_UDP => Transport::Udp,
            PH_TRANSPORT_TCP => Transport::Tcp,
            _ => Transport::Other,
        },
        src: addr(p.src_kind, &p.src),
        dst: addr(p.dst_kind, &p.dst),
        src_port: p.src_port,
        dst_port: p.dst_port,
        time: p.time,
    }
}

/// What the glue says Wireshark will read of the dissection.
fn wanted(p: &PhPacket) -> Wanted {
    Wanted::bits(u128::from(p.wanted_high) << 64 | u128::from(p.wanted_low), p.wanted_text, p.wanted_device)
}

/// Borrows `len` bytes at `data` (a NULL or empty buffer is `&[]`).
unsafe fn bytes<'a>(data: *const u8, len: usize) -> &'a [u8] {
    if data.is_null() || len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(data, len)
    }
}

fn flatten(tree: Tree, accepted: bool) -> PhResult {
    let device = tree.device.map(|d| {
        let (name, facts) = (cstring(&d.device), cstring(&d.facts.join("\n")));
        (PhDevice { device: name.as_ptr(), facts: facts.as_ptr(), key: d.key, payload: d.payload }, name, facts)
    });
    let mut r = PhResult {
        accepted,
        device,
        items: Vec::with_capacity(tree.items.len()),
        sources: tree.sources.into_iter().map(|s| (cstring(&s.name), s.bytes)).collect(),
        info: tree.info.as_deref().map(cstring),
        summary: tree.summary.as_deref().map(cstring),
        malformed: tree.malformed.as_deref().map(cstring),
        strings: Vec::new(),
        blobs: Vec::new(),
    };
    for item in tree.items {
        let mut out = PhItem {
            kind: PH_ITEM_FIELD,
            generated: false,
            id: 0,
            source: 0,
            offset: 0,
            length: 0,
            value_kind: PH_VALUE_WIRE,
            enc: Enc::Na,
            uint: 0,
            sint: 0,
            dbl: 0.0,
            text: ptr::null(),
            bytes: ptr::null(),
            n_bytes: 0,
        };
        // CString and Vec buffers do not move when their owner is pushed.
        let mut text = |s: &str, out: &mut PhItem| {
            let c = cstring(s);
            out.text = c.as_ptr();
            r.strings.push(c);
        };
        match item {
            Item::Field { field, span, value, generated } => {
                out.id = field;
                out.generated = generated;
                (out.source, out.offset, out.length) = (span.source, span.offset, span.len);
                match value {
                    Value::Wire(enc) => out.enc = enc,
                    Value::Uint(v) => (out.value_kind, out.uint) = (PH_VALUE_UINT, v),
                    Value::Int(v) => (out.value_kind, out.sint) = (PH_VALUE_INT, v),
                    Value::Bool(v) => (out.value_kind, out.uint) = (PH_VALUE_BOOL, v as u64),
                    Value::Frame(v) => (out.value_kind, out.uint) = (PH_VALUE_FRAME, v as u64),
                    Value::Seconds(v) => (out.value_kind, out.dbl) = (PH_VALUE_SECONDS, v),
                    Value::Double(v) => (out.value_kind, out.dbl) = (PH_VALUE_DOUBLE, v),
                    Value::Str(s) => {
                        out.value_kind = PH_VALUE_STR;
                        text(&s, &mut out);
                    }
                    Value::Bytes(b) => {
                        out.value_kind = PH_VALUE_BYTES;
                        (out.bytes, out.n_bytes) = (b.as_ptr(), b.len());
                        r.blobs.push(b);
                    }
                    Value::Ipv4(a) => {
                        out.value_kind = PH_VALUE_IPV4;
                        out.uint = u32::from_be_bytes(a) as u64;
                    }
                }
            }
            Item::Open => out.kind = PH_ITEM_OPEN,
            Item::Close => out.kind = PH_ITEM_CLOSE,
            Item::Append(s) => {
                out.kind = PH_ITEM_APPEND;
                text(&s, &mut out);
            }
            Item::Expert { expert, text: t } => {
                out.kind = PH_ITEM_EXPERT;
                out.id = expert;
                if let Some(t) = t {
                    text(&t, &mut out);
                }
            }
            Item::Call { dissector, span } => {
                out.kind = PH_ITEM_CALL;
                (out.source, out.offset, out.length) = (span.source, span.offset, span.len);
                text(dissector, &mut out);
            }
        }
        r.items.push(out);
    }
    r
}

fn malformed_result(why: String) -> PhResult {
    let mut t = Tree::new();
    t.malformed(why);
    flatten(t, true)
}

/// Dissects `len` bytes at `data` as protocol `proto`. Never returns NULL;
/// the caller frees the result with [`ph_result_free`].
///
/// # Safety
/// `pkt` must point to a valid `PhPacket`, `data` to `len` readable bytes,
/// and `conversation` / `capture` to live slots (or be NULL).
#[no_mangle]
pub unsafe extern "C" fn ph_dissect(
    proto: usize,
    pkt: *const PhPacket,
    data: *const u8,
    len: usize,
    conversation: *mut PhSlot,
    capture: *mut PhSlot,
) -> *mut PhResult {
    let run = || {
        let d = dissector(proto).ok_or_else(|| format!("no protocol {proto}"))?;
        let (pkt, wanted) = if pkt.is_null() { (Packet::default(), Wanted::ALL) } else { (packet(&*pkt), wanted(&*pkt)) };
        let data = bytes(data, len);
        let (mut spare_conv, mut spare_cap) = (Slot::default(), Slot::default());
        let conversation = if conversation.is_null() { &mut spare_conv } else { &mut (*conversation).0 };
        let capture = if capture.is_null() { &mut spare_cap } else { &mut (*capture).0 };
        let mut tree = Tree::wanting(wanted);
        let accepted = d.dissect(&pkt, data, &mut State { conversation, capture }, &mut tree);
        if let Err(e) = tree.validate(data.len()) {
            return Err(format!("internal error, tree dropped: {e}"));
        }
        Ok(flatten(tree, accepted))
    };
    let result = match catch_unwind(AssertUnwindSafe(run)) {
        Ok(Ok(r)) => r,
        Ok(Err(why)) => malformed_result(why),
        Err(_) => {
            let why = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "panic".into());
            malformed_result(format!("dissector failed: {why}"))
        }
    };
    Box::into_raw(Box::new(result))
}

/// # Safety
/// `r` must come from [`ph_dissect`] and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ph_result_free(r: *mut PhResult) {
    if !r.is_null() {
        drop(Box::from_raw(r));
    }
}

/// False when the bytes are not this protocol (let Wireshark try others).
///
/// # Safety
/// `r` must be a live result from [`ph_dissect`]; likewise below.
#[no_mangle]
pub unsafe extern "C" fn ph_result_accepted(r: *const PhResult) -> bool {
    (*r).accepted
}

/// # Safety
/// See [`ph_result_accepted`].
#[no_mangle]
pub unsafe extern "C" fn ph_result_items(r: *const PhResult, n: *mut usize) -> *const PhItem {
    let r = &*r;
    *n = r.items.len();
    r.items.as_ptr()
}

fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |c| c.as_ptr())
}

/// Info column text, or NULL.
///
/// # Safety
/// See [`ph_result_accepted`].
#[no_mangle]
pub unsafe extern "C" fn ph_result_info(r: *const PhResult) -> *const c_char {
    opt_ptr(&(&*r).info)
}

/// Text to append to the protocol item, or NULL.
///
/// # Safety
/// See [`ph_result_accepted`].
#[no_mangle]
pub unsafe extern "C" fn ph_result_summary(r: *const PhResult) -> *const c_char {
    opt_ptr(&(&*r).summary)
}

/// Why the packet is malformed, or NULL.
///
/// # Safety
/// See [`ph_result_accepted`].
#[no_mangle]
pub unsafe extern "C" fn ph_result_malformed(r: *const PhResult) -> *const c_char {
    opt_ptr(&(&*r).malformed)
}

/// The device the packet belongs to, or NULL.
///
/// # Safety
/// See [`ph_result_accepted`].
#[no_mangle]
pub unsafe extern "C" fn ph_result_device(r: *const PhResult) -> *const PhDevice {
    (&*r).device.as_ref().map_or(ptr::null(), |(d, _, _)| d as *const PhDevice)
}

/// Number of added data sources; source ids in items are 1-based.
///
/// # Safety
/// See [`ph_result_accepted`].
#[no_mangle]
pub unsafe extern "C" fn ph_result_source_count(r: *const PhResult) -> usize {
    (&*r).sources.len()
}

/// Name of data source `i` (0-based), its bytes in `data` / `len`.
///
/// # Safety
/// See [`ph_result_accepted`]; `data` and `len` must be writable.
#[no_mangle]
pub unsafe extern "C" fn ph_result_source(
    r: *const PhResult,
    i: usize,
    data: *mut *const u8,
    len: *mut usize,
) -> *const c_char {
    match (&*r).sources.get(i) {
        Some((name, bytes)) => {
            *data = bytes.as_ptr();
            *len = bytes.len();
            name.as_ptr()
        }
        None => {
            *data = ptr::null();
            *len = 0;
            ptr::null()
        }
    }
}

/// Length of the TCP PDU at `data`: > 0 the whole PDU, 0 need more bytes,
/// -1 not this protocol.
///
/// # Safety
/// `data` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ph_pdu_len(proto: usize, data: *const u8, len: usize) -> i64 {
    guarded(-1, || match dissector(proto).map(|d| d.pdu_len(bytes(data, len))) {
        Some(PduLen::Len(n)) => n as i64,
        Some(PduLen::NeedMore) => 0,
        _ => -1,
    })
}

/// Heuristic check for bytes on an unregistered port.
///
/// # Safety
/// `data` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ph_looks_like(proto: usize, data: *const u8, len: usize) -> bool {
    guarded(false, || dissector(proto).is_some_and(|d| d.looks_like(bytes(data, len))))
}

unsafe fn strings(cells: *const *const c_char, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let p = *cells.add(i);
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        })
        .collect()
}

/// Checks one table row of `n` cells. Returns NULL when it is fine, else an
/// error message to free with [`ph_string_free`].
///
/// # Safety
/// `cells` must point to `n` NUL-terminated strings (or NULLs).
#[no_mangle]
pub unsafe extern "C" fn ph_table_check(proto: usize, cells: *const *const c_char, n: usize) -> *mut c_char {
    let verdict = guarded(Err("internal error while checking the row".to_string()), || {
        dissector(proto).map_or(Ok(()), |d| d.check_row(&strings(cells, n)))
    });
    match verdict {
        Ok(()) => ptr::null_mut(),
        Err(e) => cstring(&e).into_raw(),
    }
}

/// Replaces the protocol's table with `rows` rows of `cols` cells each,
/// row-major.
///
/// # Safety
/// `cells` must point to `rows * cols` NUL-terminated strings (or NULLs).
#[no_mangle]
pub unsafe extern "C" fn ph_table_set(proto: usize, cells: *const *const c_char, rows: usize, cols: usize) {
    guarded((), || {
        if let Some(d) = dissector(proto) {
            let flat = strings(cells, rows * cols);
            d.set_table(flat.chunks(cols.max(1)).map(|c| c.to_vec()).collect());
        }
    })
}

/// Sets preference `index` of the protocol.
///
/// # Safety
/// `value` must be a NUL-terminated string or NULL.
#[no_mangle]
pub unsafe extern "C" fn ph_pref_set(proto: usize, index: usize, value: *const c_char) {
    guarded((), || {
        if let Some(d) = dissector(proto) {
            let v = if value.is_null() { String::new() } else { CStr::from_ptr(value).to_string_lossy().into_owned() };
            d.set_pref(index, &v);
        }
    })
}

/// Frees a string returned by this API.
///
/// # Safety
/// `s` must come from this API and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ph_string_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

#[cfg(test)]
mod tests {
    use super::cstring;

    #[test]
    fn c_strings_keep_text_and_spell_out_nul() {
        assert_eq!(cstring("gwId 3.3").to_bytes(), b"gwId 3.3");
        assert_eq!(cstring("").to_bytes(), b"");
        assert_eq!(cstring("a\0b\0").to_bytes(), b"a\\0b\\0");
    }
}
