//! Writes `$OUT_DIR/ipv4_countries.bin`: the embedded RIR country data
//! (iptocc) as the list of IPv4 ranges with their country, so that
//! geo-blocking can list a country's blocks. iptocc answers lookups only, so
//! every address is looked up once (its data has blocks smaller than a /24,
//! some inside a /24 of another country, so no coarser walk is exact).
//!
//! Format: records of 6 bytes, sorted by address: the first address of a
//! range (u32, big-endian) and its country code (2 ASCII letters, or `--`
//! for addresses no registry delegated); a range ends where the next begins.

use std::net::Ipv4Addr;

/// Country code as 2 bytes; `--` for none.
fn code(addr: u32) -> [u8; 2] {
    match iptocc::country_code(Ipv4Addr::from(addr)) {
        Some(c) => {
            let b = c.as_bytes();
            [b[0], b[1]]
        }
        None => *b"--",
    }
}

/// The ranges starting in `[first, last]` (both /24-aligned block numbers),
/// with the country in force at `first` always recorded.
fn walk(first: u32, last: u32) -> Vec<(u32, [u8; 2])> {
    let mut out = Vec::new();
    let mut current = [0u8; 2];
    for block in first..=last {
        let base = block << 8;
        for low in 0..=255u32 {
            let cc = code(base | low);
            if cc != current || out.is_empty() {
                out.push((base | low, cc));
                current = cc;
            }
        }
    }
    out
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out_dir = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8) as u32;
    let blocks: u32 = 1 << 24;
    let per = blocks / threads;
    let parts: Vec<Vec<(u32, [u8; 2])>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let first = i * per;
                let last = if i + 1 == threads { blocks - 1 } else { first + per - 1 };
                s.spawn(move || walk(first, last))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("walker thread")).collect()
    });
    let mut bytes = Vec::new();
    let mut current: Option<[u8; 2]> = None;
    for (start, cc) in parts.into_iter().flatten() {
        // Each part restates its first country: keep only real changes.
        if current != Some(cc) {
            bytes.extend_from_slice(&start.to_be_bytes());
            bytes.extend_from_slice(&cc);
            current = Some(cc);
        }
    }
    std::fs::write(std::path::Path::new(&out_dir).join("ipv4_countries.bin"), bytes).expect("write ipv4_countries.bin");
}
