//! Decoding: the three frame protections (CRC32 for 3.1-3.3 and
//! discovery, HMAC for 3.4, AES-GCM for 3.5 and 6699 discovery), each
//! verified and decrypted into a plaintext for [`super::render`].

use super::*;

// ---- 3.1-3.3 and discovery: CRC32 frames -------------------------------------

/// What a CRC-protected payload holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CrcPayload {
    Empty,
    Json,
    /// Clear text that is not JSON: a device's error message.
    Text,
    /// `"3.1"` + 16-char md5 slice + base64(AES-ECB(JSON)).
    V31Control,
    /// AES-ECB ciphertext, after a clear version header or not.
    Encrypted(Option<Version>),
}

impl CrcPayload {
    pub(super) fn of(payload: &[u8]) -> CrcPayload {
        match payload.first() {
            None => CrcPayload::Empty,
            Some(b'{') => CrcPayload::Json,
            _ if payload.starts_with(b"3.1") && payload.len() > 3 + V31_SIGNATURE_LEN => CrcPayload::V31Control,
            _ => match payload::version_header(payload) {
                None if payload::device_text(payload).is_some() => CrcPayload::Text,
                header => CrcPayload::Encrypted(header),
            },
        }
    }
}

/// The payload of a CRC frame: after the retcode (if any), before the CRC.
pub(super) fn crc_payload_range(data: &[u8], f: &Frame) -> (usize, usize) {
    let end = f.suffix - frame::CRC_LEN;
    let at = if frame::has_retcode(&data[f.body..end]) { f.body + 4 } else { f.body };
    (at, end)
}

pub(super) fn add_retcode(t: &mut Tree, data: &[u8], f: &Frame, payload_at: usize) {
    if payload_at > f.body {
        t.wire(Field::Retcode, f.body, 4, Enc::Big);
        retcode_info(t, crate::wire::be32(data, f.body));
    }
}

/// Names a non-zero return code in the Info column.
pub(super) fn retcode_info(t: &mut Tree, code: Option<u32>) {
    let Some(code) = code.filter(|&c| c != 0 && t.wants_text()) else { return };
    let name = payload::RETCODE_NAMES.iter().find(|(v, _)| *v == code).map_or("unknown", |(_, n)| n);
    let base = t.info.take().unwrap_or_default();
    t.info(format!("{base} retcode={code} ({name})"));
}

pub(super) fn crc_trailer(t: &mut Tree, data: &[u8], crc_at: usize) {
    let crc = frame::crc32(&data[..crc_at]);
    let status = ChecksumStatus::from_match(crate::wire::be32(data, crc_at) == Some(crc));
    let span = Span::wire(crc_at, frame::CRC_LEN);
    let computed = t.wants_text().then(|| format!("0x{crc:08x}"));
    t.checksum(Field::Checksum, Field::ChecksumStatus, Expert::BadChecksum, span, status, computed);
}

/// Dissects a 3.1-3.3 (or discovery) payload at `at` with `key`.
pub(super) fn crc_payload(t: &mut Tree, at: usize, payload: &[u8], key: Result<UseKey, Expert>, known: Option<Version>) -> Option<Learned> {
    let kind = CrcPayload::of(payload);
    let version = match kind {
        CrcPayload::V31Control => Some(Version::V31),
        CrcPayload::Encrypted(Some(v)) => Some(v),
        _ => known,
    };
    if let Some(v) = version {
        t.generated(Field::Version, Span::wire(at, 0), Value::Str(v.as_str().into()));
    }
    let mut learned = match kind {
        CrcPayload::Empty => return None,
        CrcPayload::Json => add_json(t, Span::wire(at, payload.len()), payload).map(Learned::from),
        CrcPayload::Text => {
            add_device_text(t, Span::wire(at, payload.len()), payload);
            None
        }
        CrcPayload::V31Control => v31_control(t, at, payload, key),
        CrcPayload::Encrypted(header) => {
            let mut ct_at = at;
            if let Some(v) = header {
                t.field(Field::VersionHeader, Span::wire(at, VERSION_HEADER_LEN), Value::Str(v.as_str().into()));
                ct_at += VERSION_HEADER_LEN;
            }
            let ct = &payload[ct_at - at..];
            t.wire(Field::Payload, ct_at, ct.len(), Enc::Na);
            match key {
                Ok(k) => {
                    t.generated(Field::Key, Span::wire(ct_at, ct.len()), Value::Str(k.what));
                    match ecb_decrypt(&k.key, ct) {
                        Ok(plain) => plaintext(t, plain, 0, false, None),
                        Err(e) => {
                            t.expert(Expert::DecryptFailed, Some(format!("AES-ECB: {e}")));
                            None
                        }
                    }
                }
                Err(missing) => {
                    t.expert(missing, None);
                    None
                }
            }
        }
    };
    if let (Some(l), Some(v)) = (learned.as_mut(), version) {
        l.version = Some(v);
    }
    learned
}

/// 3.1 CONTROL: `"3.1"` + md5 slice + base64(AES-ECB(key, JSON)).
pub(super) fn v31_control(t: &mut Tree, at: usize, payload: &[u8], key: Result<UseKey, Expert>) -> Option<Learned> {
    let (sig, b64) = payload[3..].split_at(V31_SIGNATURE_LEN);
    let b64_at = at + 3 + V31_SIGNATURE_LEN;
    t.field(Field::VersionHeader, Span::wire(at, 3), Value::Wire(Enc::Ascii));
    t.field(Field::Signature, Span::wire(at + 3, V31_SIGNATURE_LEN), Value::Wire(Enc::Ascii));
    let key = match key {
        Ok(k) => k,
        Err(missing) => {
            t.wire(Field::Payload, b64_at, b64.len(), Enc::Na);
            t.expert(missing, None);
            return None;
        }
    };
    let want = payload::v31_signature(&key.key, b64);
    if want[..] == *sig {
        t.append(" [correct]");
    } else {
        t.append(format!(" incorrect, should be {}", String::from_utf8_lossy(&want)));
        t.expert(Expert::BadProof, Some("The 3.1 signature does not match the key".into()));
    }
    t.wire(Field::Payload, b64_at, b64.len(), Enc::Na);
    t.generated(Field::Key, Span::wire(b64_at, b64.len()), Value::Str(key.what));
    match payload::v31_decrypt(&key.key, b64) {
        Ok(plain) => plaintext(t, plain, commands::CONTROL, false, None),
        Err(e) => {
            t.expert(Expert::DecryptFailed, Some(format!("3.1 payload: {e}")));
            None
        }
    }
}

// ---- 3.4: HMAC frames -------------------------------------------------------

pub(super) fn hmac_frame(t: &mut Tree, data: &[u8], f: &Frame, ctx: &Context) -> Option<Learned> {
    let mac_at = f.suffix - frame::HMAC_LEN;
    let mut at = f.body;
    if frame::has_retcode(&data[at..mac_at]) {
        t.wire(Field::Retcode, at, 4, Enc::Big);
        at += 4;
    }
    let ct = &data[at..mac_at];
    t.wire(Field::Payload, at, ct.len(), Enc::Na);
    let key = frame_key(ctx, f.cmd);
    let mut plain = None;
    let status = match &key {
        Ok(k) => {
            t.generated(Field::Key, Span::wire(at, ct.len()), Value::Str(k.what.clone()));
            if !ct.is_empty() {
                match ecb_decrypt(&k.key, ct) {
                    Ok(p) => plain = Some(p),
                    Err(e) => {
                        t.expert(Expert::DecryptFailed, Some(format!("AES-ECB: {e}")));
                    }
                }
            }
            let mac = hmac_sha256(&k.key, &[&data[..mac_at]]);
            Some((ChecksumStatus::from_match(mac[..] == data[mac_at..f.suffix]), hex(&mac)))
        }
        Err(missing) => {
            t.expert(*missing, None);
            None
        }
    };
    let (status, computed) = status.map_or((ChecksumStatus::Unverified, None), |(s, c)| (s, Some(c)));
    let span = Span::wire(mac_at, frame::HMAC_LEN);
    t.checksum(Field::Hmac, Field::ChecksumStatus, Expert::BadChecksum, span, status, computed);
    let local = ctx.local.as_deref().map(|l| l.key);
    plaintext(t, plain?, f.cmd, false, local.map(|k| (ctx, Version::V34, k)))
}

// ---- 3.5 and 6699 discovery: AES-GCM frames --------------------------------

/// Dissects a 6699 frame; `session` is the conversation context and
/// version for TCP frames (`None` for discovery).
pub(super) fn gcm_frame(
    t: &mut Tree,
    data: &[u8],
    f: &Frame,
    key: Result<UseKey, Expert>,
    retcode: bool,
    session: Option<(&Context, Version)>,
) -> Option<Learned> {
    let parts = GcmParts::of(f);
    t.wire(Field::Iv, parts.iv, frame::GCM_IV_LEN, Enc::Na);
    let ct_len = parts.tag - parts.ciphertext;
    t.wire(Field::Payload, parts.ciphertext, ct_len, Enc::Na);
    let (plain, status) = match key {
        Ok(k) => {
            t.generated(Field::Key, Span::wire(parts.ciphertext, ct_len), Value::Str(k.what));
            let plain = parts.open(data, &k.key);
            if plain.is_none() {
                t.expert(Expert::DecryptFailed, Some("The GCM tag does not verify with this key".into()));
            }
            let status = ChecksumStatus::from_match(plain.is_some());
            (plain.map(|p| (p, k.key)), status)
        }
        Err(missing) => {
            t.expert(missing, None);
            (None, ChecksumStatus::Unverified)
        }
    };
    let span = Span::wire(parts.tag, frame::GCM_TAG_LEN);
    t.checksum(Field::Tag, Field::ChecksumStatus, Expert::BadChecksum, span, status, None);
    let (plain, _) = plain?;
    let local = session.and_then(|(ctx, v)| Some((ctx, v, ctx.local.as_deref()?.key)));
    plaintext(t, plain, f.cmd, retcode, local)
}
