//! Keying: what protects a frame (CRC, HMAC, GCM tag) and which key opens
//! it: the local key of the conversation's device, the negotiated session
//! key, or the public discovery key.

use super::*;

/// The integrity check that closes a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Protection {
    /// CRC32 (3.1-3.3, discovery).
    Crc,
    /// HMAC-SHA256 with the local or session key (3.4).
    Hmac,
    /// AES-GCM tag (3.5, 6699 frames).
    Gcm,
}

/// A 55AA frame whose last 4 bytes are not its CRC32 is taken as 3.4
/// (HMAC trailer), unless the conversation is known to be 3.1-3.3 (then
/// the CRC is simply bad).
pub(super) fn protection(data: &[u8], f: &Frame, known: Option<Version>) -> Protection {
    match f.framing {
        Framing::V6699 => Protection::Gcm,
        Framing::V55aa if frame::crc_matches(data, f) => Protection::Crc,
        Framing::V55aa if known.is_none_or(Version::negotiates) && f.suffix >= f.body + frame::HMAC_LEN => {
            Protection::Hmac
        }
        Framing::V55aa => Protection::Crc,
    }
}

/// A key to decrypt with, and a description for the tree.
pub(super) struct UseKey {
    pub(super) key: [u8; 16],
    pub(super) what: String,
}

/// The key of a 3.4/3.5 frame: the local key for the negotiation, the
/// session key after it; or the expert that says what is missing.
pub(super) fn frame_key(ctx: &Context, cmd: u32) -> Result<UseKey, Expert> {
    let local = ctx.local.as_deref().ok_or(Expert::KeyNeeded)?;
    if payload::is_handshake(cmd) || !ctx.version.is_some_and(Version::negotiates) {
        return Ok(local_key(local));
    }
    let session = ctx.session.ok_or(Expert::SessionKeyUnknown)?;
    Ok(UseKey {
        key: session.key,
        what: format!(
            "session key {} negotiated in frame {} (local key of {}, found {})",
            hex(&session.key),
            session.frame,
            local.dev_id,
            local.how
        ),
    })
}

pub(super) fn local_key(local: &LocalKey) -> UseKey {
    UseKey { key: local.key, what: format!("local key of {}, found {}", local.dev_id, local.how) }
}

pub(super) fn discovery_key() -> UseKey {
    // The text is the same for every packet: written once.
    static WHAT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let what = WHAT.get_or_init(|| format!("public discovery key {} (md5 of \"yGAdlopoPVldABfn\")", hex(&discovery::udp_key())));
    UseKey { key: discovery::udp_key(), what: what.clone() }
}

/// Picks the local key of a conversation: by the device id known for the
/// device's address, else the first key of the table that verifies this
/// frame.
pub(super) fn choose_key(table: &[KeyRow], devices: &Devices, device_ip: Option<IpAddr>, data: &[u8], f: &Frame, ctx: &Context) -> Option<Arc<LocalKey>> {
    if let Some((ip, (id, frame))) = device_ip.and_then(|ip| devices.get(ip).map(|d| (ip, d))) {
        if let Some(row) = table.iter().find(|r| r.dev_id == id) {
            let how = format!("by device id: {ip} is {id} (frame {frame})");
            return Some(Arc::new(LocalKey { dev_id: row.dev_id.clone(), key: row.key, how }));
        }
    }
    table.iter().find_map(|row| {
        let check = key_fits(data, f, &row.key, ctx.version)?;
        Some(Arc::new(LocalKey { dev_id: row.dev_id.clone(), key: row.key, how: format!("by trial: {check}") }))
    })
}

/// Whether `key` is this frame's local key: its GCM tag or HMAC verifies,
/// its 3.1 signature matches, or its payload decrypts to JSON.
pub(super) fn key_fits(data: &[u8], f: &Frame, key: &[u8; 16], known: Option<Version>) -> Option<&'static str> {
    match protection(data, f, known) {
        Protection::Gcm => GcmParts::of(f).open(data, key).map(|_| "the GCM tag verifies"),
        Protection::Hmac => {
            let mac_at = f.suffix - frame::HMAC_LEN;
            (hmac_sha256(key, &[&data[..mac_at]])[..] == data[mac_at..f.suffix]).then_some("the HMAC verifies")
        }
        Protection::Crc => {
            let (at, end) = crc_payload_range(data, f);
            match CrcPayload::of(&data[at..end]) {
                CrcPayload::V31Control => {
                    let (sig, b64) = data[at + 3..end].split_at(V31_SIGNATURE_LEN);
                    (payload::v31_signature(key, b64)[..] == *sig).then_some("the 3.1 signature verifies")
                }
                CrcPayload::Encrypted(header) => {
                    let skip = if header.is_some() { VERSION_HEADER_LEN } else { 0 };
                    let plain = ecb_decrypt(key, &data[at + skip..end]).ok()?;
                    let body = &plain[payload::layout(&plain, true).body..];
                    // Only whether it is a JSON object: no member is built.
                    match json::parse_object_keeping(body, |_| false) {
                        Some(_) => Some("the payload decrypts to JSON"),
                        None => payload::device_text(body).map(|_| "the payload decrypts to text"),
                    }
                }
                CrcPayload::Empty | CrcPayload::Json | CrcPayload::Text => None,
            }
        }
    }
}
