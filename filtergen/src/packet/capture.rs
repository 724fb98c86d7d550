//! Streaming capture I/O for `run`: reads pcap, pcapng and gzip-compressed
//! captures block by block (a fixed-size buffer, never the whole file) with
//! the byte offset of every block, and writes pcapng. Parsing is pcap-file's;
//! this module only feeds it and turns both formats into one event stream.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::blocks::unknown::UnknownBlock;
use pcap_file::pcapng::{Block, PcapNgParser, PcapNgWriter};
use pcap_file::{DataLink, PcapError, TsResolution};

use crate::error::Error;

/// pcapng Decryption Secrets Block: kept, since packets after it may need it.
const DECRYPTION_SECRETS_BLOCK: u32 = 0x0000_000A;
const CHUNK: usize = 1 << 20;

/// One thing read from a capture, in file order. Interface numbers are
/// global across pcapng sections (a new section's interfaces are appended).
pub enum Event<'a> {
    Interface(InterfaceDescriptionBlock<'a>),
    Packet(PacketRef<'a>),
    /// A block forwarded as is (decryption secrets).
    Forward(UnknownBlock<'a>),
}

/// A packet: its bytes, its interface's link type, and what a writer needs.
pub struct PacketRef<'a> {
    pub interface: u32,
    pub linktype: DataLink,
    /// Raw timestamp in the interface's units.
    pub timestamp: u64,
    pub original_len: u32,
    pub data: &'a [u8],
    pub options: Vec<EnhancedPacketOption<'a>>,
}

/// A read that stopped early: where and why. Packets before it were delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub offset: u64,
    pub reason: String,
}

/// What a whole read delivered.
#[derive(Clone, Debug, Default)]
pub struct ReadSummary {
    pub packets: u64,
    pub problem: Option<Problem>,
}

/// Counts the bytes read from the file (compressed bytes for gzip), for progress.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A byte source with a sliding window: `window()` holds unparsed bytes.
struct Window {
    source: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    eof: bool,
}

impl Window {
    fn window(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    /// Reads more bytes (growing the buffer when a block is bigger than it);
    /// false at the end of the stream.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = self.buf.len() * 2;
            self.buf.resize(grown, 0);
        }
        loop {
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Fills until at least `n` bytes are buffered or the stream ends.
    fn want(&mut self, n: usize) -> io::Result<()> {
        while self.end - self.start < n && self.fill()? {}
        Ok(())
    }
}

/// Opens `path` (gzip detected by its magic bytes, not its name).
/// `bytes_read` counts the file bytes consumed.
pub fn open(path: &Path, bytes_read: Arc<AtomicU64>) -> Result<(Box<dyn Read + Send>, bool), Error> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic).map_err(|e| Error::io(path, e))?;
    let gz = n == 2 && magic == [0x1f, 0x8b];
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let counted = Counting { inner: file, count: bytes_read };
    Ok(if gz {
        (Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::with_capacity(CHUNK, counted))), true)
    } else {
        (Box::new(counted), false)
    })
}

/// Reads every event of the capture at `path`, in order, calling `each`.
/// A damaged capture is not an `Err`: the summary names the offset and reason
/// and every packet before it has been delivered. `Err` is for a file that
/// cannot be opened, or an error returned by `each`.
pub fn read(
    path: &Path,
    bytes_read: Arc<AtomicU64>,
    mut each: impl FnMut(Event) -> Result<(), Error>,
) -> Result<ReadSummary, Error> {
    let (source, compressed) = open(path, bytes_read)?;
    let mut w = Window { source, buf: vec![0; CHUNK], start: 0, end: 0, offset: 0, eof: false };
    let mut summary = ReadSummary::default();
    let result = match w.want(4) {
        Ok(()) => match w.window() {
            [0x0a, 0x0d, 0x0d, 0x0a, ..] => read_pcapng(&mut w, &mut summary, &mut each),
            [0xa1, 0xb2, 0xc3, 0xd4, ..] | [0xd4, 0xc3, 0xb2, 0xa1, ..] | [0xa1, 0xb2, 0x3c, 0x4d, ..] | [0x4d, 0x3c, 0xb2, 0xa1, ..] => {
                read_pcap(&mut w, &mut summary, &mut each)
            }
            [] => Err(Stop::Damaged("empty file".into())),
            _ => Err(Stop::Damaged("not a pcap or pcapng capture (unknown magic number)".into())),
        },
        Err(e) => Err(Stop::Damaged(format!("read error: {e}"))),
    };
    match result {
        Ok(()) => Ok(summary),
        Err(Stop::Callback(e)) => Err(e),
        Err(Stop::Damaged(reason)) => {
            let reason = if compressed { format!("{reason} (offset in the decompressed data)") } else { reason };
            summary.problem = Some(Problem { offset: w.offset, reason });
            Ok(summary)
        }
    }
}

enum Stop {
    Damaged(String),
    Callback(Error),
}

fn damaged(w: &Window, e: PcapError) -> Stop {
    let at_end = w.eof && w.start == w.end;
    match e {
        PcapError::IncompleteBuffer if at_end => Stop::Damaged("ends here".into()),
        PcapError::IncompleteBuffer => Stop::Damaged(format!("truncated: the last record needs more than the {} bytes left", w.end - w.start)),
        other => Stop::Damaged(other.to_string()),
    }
}

fn read_pcap(w: &mut Window, summary: &mut ReadSummary, each: &mut impl FnMut(Event) -> Result<(), Error>) -> Result<(), Stop> {
    w.want(24).map_err(|e| Stop::Damaged(format!("read error: {e}")))?;
    let (header, rest_len) = match PcapParser::new(w.window()) {
        Ok((rest, parser)) => (parser, rest.len()),
        Err(e) => return Err(damaged(w, e)),
    };
    let used = w.end - w.start - rest_len;
    w.consume(used);
    let h = header.header();
    let tsresol = match h.ts_resolution {
        TsResolution::MicroSecond => 6u8,
        TsResolution::NanoSecond => 9u8,
    };
    let scale: u64 = if tsresol == 6 { 1_000_000 } else { 1_000_000_000 };
    let idb = InterfaceDescriptionBlock {
        linktype: h.datalink,
        snaplen: h.snaplen,
        options: vec![InterfaceDescriptionOption::IfTsResol(tsresol)],
    };
    each(Event::Interface(idb)).map_err(Stop::Callback)?;
    loop {
        if w.start == w.end && !w.fill().map_err(|e| Stop::Damaged(format!("read error: {e}")))? {
            return Ok(());
        }
        match header.next_raw_packet(w.window()) {
            Ok((rest, raw)) => {
                let used = w.end - w.start - rest.len();
                if raw.incl_len > h.snaplen.max(262_144) {
                    return Err(Stop::Damaged(format!("packet length {} is over the snapshot length {}", raw.incl_len, h.snaplen)));
                }
                let packet = PacketRef {
                    interface: 0,
                    linktype: h.datalink,
                    timestamp: raw.ts_sec as u64 * scale + raw.ts_frac as u64,
                    original_len: raw.orig_len,
                    data: &raw.data,
                    options: Vec::new(),
                };
                each(Event::Packet(packet)).map_err(Stop::Callback)?;
                summary.packets += 1;
                w.consume(used);
            }
            Err(PcapError::IncompleteBuffer) => {
                let had = w.end - w.start;
                if !w.fill().map_err(|e| Stop::Damaged(format!("read error: {e}")))? || w.end - w.start == had {
                    return Err(damaged(w, PcapError::IncompleteBuffer));
                }
            }
            Err(e) => return Err(damaged(w, e)),
        }
    }
}

fn read_pcapng(w: &mut Window, summary: &mut ReadSummary, each: &mut impl FnMut(Event) -> Result<(), Error>) -> Result<(), Stop> {
    let io_err = |e: io::Error| Stop::Damaged(format!("read error: {e}"));
    // Interfaces of earlier sections, and the link types of this section's.
    let mut base: u32 = 0;
    let mut linktypes: Vec<DataLink> = Vec::new();
    let mut parser: Option<PcapNgParser> = None;
    loop {
        if w.start == w.end && !w.fill().map_err(io_err)? {
            return Ok(());
        }
        let window_len = w.end - w.start;
        let step = match &mut parser {
            None => PcapNgParser::new(&w.buf[w.start..w.end]).map(|(rest, p)| (rest.len(), None, Some(p))),
            Some(p) => p.next_block(&w.buf[w.start..w.end]).map(|(rest, b)| (rest.len(), Some(b), None)),
        };
        match step {
            Ok((rest_len, block, new_parser)) => {
                let used = window_len - rest_len;
                if let Some(p) = new_parser {
                    parser = Some(p);
                    w.consume(used);
                    continue;
                }
                match block.expect("a block") {
                    Block::SectionHeader(_) => {
                        // A new section: its interfaces are numbered after the earlier ones.
                        base += linktypes.len() as u32;
                        linktypes.clear();
                        let (_, p) = PcapNgParser::new(&w.buf[w.start..w.end]).map_err(|e| damaged(w, e))?;
                        parser = Some(p);
                    }
                    Block::InterfaceDescription(idb) => {
                        linktypes.push(idb.linktype);
                        each(Event::Interface(idb)).map_err(Stop::Callback)?;
                    }
                    Block::EnhancedPacket(epb) => {
                        let Some(&linktype) = linktypes.get(epb.interface_id as usize) else {
                            return Err(Stop::Damaged(format!("packet on undeclared interface {}", epb.interface_id)));
                        };
                        let data: &[u8] = match &epb.data {
                            Cow::Borrowed(d) => d,
                            Cow::Owned(_) => unreachable!("the parser borrows"),
                        };
                        let packet = PacketRef {
                            interface: base + epb.interface_id,
                            linktype,
                            timestamp: epb.timestamp.as_nanos() as u64,
                            original_len: epb.original_len,
                            data,
                            options: epb.options.clone(),
                        };
                        each(Event::Packet(packet)).map_err(Stop::Callback)?;
                        summary.packets += 1;
                    }
                    Block::SimplePacket(spb) => {
                        let Some(&linktype) = linktypes.first() else {
                            return Err(Stop::Damaged("simple packet before any interface".into()));
                        };
                        let data: &[u8] = match &spb.data {
                            Cow::Borrowed(d) => d,
                            Cow::Owned(_) => unreachable!("the parser borrows"),
                        };
                        let packet = PacketRef {
                            interface: base,
                            linktype,
                            timestamp: 0,
                            original_len: spb.original_len,
                            data,
                            options: Vec::new(),
                        };
                        each(Event::Packet(packet)).map_err(Stop::Callback)?;
                        summary.packets += 1;
                    }
                    Block::Unknown(u) if u.type_ == DECRYPTION_SECRETS_BLOCK => {
                        each(Event::Forward(u)).map_err(Stop::Callback)?;
                    }
                    _ => {}
                }
                w.consume(used);
            }
            Err(PcapError::IncompleteBuffer) => {
                if !w.fill().map_err(io_err)? {
                    return Err(damaged(w, PcapError::IncompleteBuffer));
                }
            }
            Err(e) => return Err(damaged(w, e)),
        }
    }
}

/// A pcapng output: one section; every input interface is declared (so
/// interface numbers stay those of the input), packets written as EPBs.
pub struct Writer<W: Write> {
    inner: PcapNgWriter<BufWriter<W>>,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> io::Result<Writer<W>> {
        let shb = SectionHeaderBlock {
            endianness: pcap_file::Endianness::Big,
            options: vec![SectionHeaderOption::UserApplication(Cow::Borrowed("filtergen run"))],
            ..Default::default()
        };
        let inner = PcapNgWriter::with_section_header(BufWriter::with_capacity(CHUNK, out), shb).map_err(to_io)?;
        Ok(Writer { inner })
    }

    /// Writes the event if it is an interface or forwarded block.
    pub fn declare(&mut self, event: &Event) -> io::Result<()> {
        match event {
            Event::Interface(idb) => self.inner.write_block(&Block::InterfaceDescription(idb.clone())).map(drop).map_err(to_io),
            Event::Forward(u) => self.inner.write_block(&Block::Unknown(u.clone())).map(drop).map_err(to_io),
            Event::Packet(_) => Ok(()),
        }
    }

    pub fn packet(&mut self, p: &PacketRef) -> io::Result<()> {
        if p.options.is_empty() {
            return self.plain_packet(p);
        }
        let epb = EnhancedPacketBlock {
            interface_id: p.interface,
            timestamp: std::time::Duration::from_nanos(p.timestamp),
            original_len: p.original_len,
            data: Cow::Borrowed(p.data),
            options: p.options.clone(),
        };
        self.inner.write_block(&Block::EnhancedPacket(epb)).map(drop).map_err(to_io)
    }

    /// An EPB without options, written straight into the buffer (the
    /// section is big-endian, as [`Writer::new`] declares it). Interface
    /// numbers are the caller's, already declared with [`Writer::declare`].
    fn plain_packet(&mut self, p: &PacketRef) -> io::Result<()> {
        const EPB: u32 = 6;
        let pad = (4 - p.data.len() % 4) % 4;
        let total = (32 + p.data.len() + pad) as u32;
        let mut head = [0u8; 28];
        for (i, v) in [EPB, total, p.interface, (p.timestamp >> 32) as u32, p.timestamp as u32, p.data.len() as u32, p.original_len]
            .into_iter()
            .enumerate()
        {
            head[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
        }
        let out = self.inner.get_mut();
        out.write_all(&head)?;
        out.write_all(p.data)?;
        out.write_all(&[0u8; 3][..pad])?;
        out.write_all(&total.to_be_bytes())
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(self) -> io::Result<W> {
        self.inner.into_inner().into_inner().map_err(|e| e.into_error())
    }
}

fn to_io(e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}
