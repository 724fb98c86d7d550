//! Rendering: a decrypted payload into the tree (negotiation, JSON,
//! datapoints, a device's text message) and the frame into the device view.

use super::*;

/// Shows a decrypted payload as its own data source: return code and
/// version header if present, then the negotiation data (with `session`:
/// conversation context, version and local key) or the JSON.
pub(super) fn plaintext(
    t: &mut Tree,
    plain: Vec<u8>,
    cmd: u32,
    retcode: bool,
    session: Option<(&Context, Version, [u8; 16])>,
) -> Option<Learned> {
    let layout = payload::layout(&plain, retcode);
    let src = t.add_source("Decrypted Tuya payload", plain);
    // Borrow the bytes back while the tree grows (no copy).
    let bytes = std::mem::take(&mut t.sources[src as usize - 1].bytes);
    if layout.retcode {
        t.field(Field::Retcode, Span::of(src, 0, 4), Value::Wire(Enc::Big));
        retcode_info(t, crate::wire::be32(&bytes, 0));
    }
    if let Some(v) = layout.header {
        let span = Span::of(src, layout.body - VERSION_HEADER_LEN, VERSION_HEADER_LEN);
        t.field(Field::VersionHeader, span, Value::Str(v.as_str().into()));
    }
    let body = &bytes[layout.body..];
    let learned = match session {
        Some((ctx, version, local)) if payload::is_handshake(cmd) => {
            Some(negotiation(t, src, layout.body, body, cmd, ctx, version, &local))
        }
        _ => add_json(t, Span::of(src, layout.body, body.len()), body).map(Learned::from),
    };
    t.sources[src as usize - 1].bytes = bytes;
    learned
}

/// The session key negotiation (3.4, 3.5), its payload at `at` in `src`:
/// START = client nonce; RESP = device nonce + HMAC(local key, client
/// nonce); FINISH = HMAC(local key, device nonce).
#[allow(clippy::too_many_arguments)]
pub(super) fn negotiation(t: &mut Tree, src: u32, at: usize, body: &[u8], cmd: u32, ctx: &Context, version: Version, local: &[u8; 16]) -> Learned {
    let mut learned = Learned::default();
    let need = match cmd {
        commands::SESS_KEY_NEG_START => NONCE_LEN,
        commands::SESS_KEY_NEG_RESP => NONCE_LEN + PROOF_LEN,
        _ => PROOF_LEN,
    };
    if body.len() < need {
        t.malformed(format!("{} carries {} bytes, not {need}", commands::name(cmd), body.len()));
        return learned;
    }
    let nonce = |b: &[u8]| -> [u8; 16] { b[..NONCE_LEN].try_into().expect("16 bytes") };
    let proof = |t: &mut Tree, proof_at: usize, of: Option<[u8; 16]>, whose: &str| {
        t.field(Field::NonceHmac, Span::of(src, at + proof_at, PROOF_LEN), Value::Wire(Enc::Na));
        if let Some(n) = of {
            if payload::nonce_proof(local, &n)[..] == body[proof_at..proof_at + PROOF_LEN] {
                t.append(format!(" [correct HMAC of the {whose} nonce]"));
            } else {
                t.expert(Expert::BadProof, Some(format!("Not the HMAC of the {whose} nonce under this local key")));
            }
        }
    };
    match cmd {
        commands::SESS_KEY_NEG_START => {
            t.field(Field::Nonce, Span::of(src, at, NONCE_LEN), Value::Wire(Enc::Na));
            t.append(" (client)");
            learned.client_nonce = Some(nonce(body));
        }
        commands::SESS_KEY_NEG_RESP => {
            let device = nonce(body);
            t.field(Field::Nonce, Span::of(src, at, NONCE_LEN), Value::Wire(Enc::Na));
            t.append(" (device)");
            proof(t, NONCE_LEN, ctx.client_nonce, "client");
            learned.device_nonce = Some(device);
            if let Some(client) = ctx.client_nonce {
                let key = payload::session_key(version, local, &client, &device);
                t.generated(Field::SessionKey, Span::of(src, at, NONCE_LEN + PROOF_LEN), Value::Bytes(key.to_vec()));
                learned.session_key = Some(key);
            }
        }
        _ => proof(t, 0, ctx.device_nonce, "device"),
    }
    learned
}

impl From<discovery::Announcement> for Learned {
    fn from(a: discovery::Announcement) -> Learned {
        let announced_ip = a.ip.as_deref().and_then(|s| s.parse::<IpAddr>().ok());
        Learned {
            dev_id: a.dev_id.or(a.gw_id),
            announced_ip,
            product_key: a.product_key,
            announced_version: a.version,
            ..Learned::default()
        }
    }
}

/// Adds the JSON text, the well-known values and datapoints in it, and
/// hands it to Wireshark's JSON dissector. Builds only the members the
/// dissection needs (the announcement's, which key choice uses) and those
/// of wanted fields.
pub(super) fn add_json(t: &mut Tree, span: Span, bytes: &[u8]) -> Option<discovery::Announcement> {
    let datapoints = t.wants_text() || [Field::Dp, Field::DpId, Field::DpValue].into_iter().any(|f| t.wants(f));
    let keep = |k: &str| discovery::is_key(k) || (datapoints && matches!(k, DPS | DATA));
    let Some((len, mut map)) = json::parse_object_keeping(bytes, keep) else {
        // Broken JSON stays malformed; other text is the device's message.
        if bytes.first() == Some(&b'{') || !add_device_text(t, span, bytes) {
            t.expert(Expert::NotJson, None);
        }
        return None;
    };
    let text_span = span.sub(0, len);
    t.field(Field::Json, text_span, Value::Wire(Enc::Utf8));
    // Takes the announcement's members; the datapoints' stay in `map`.
    let a = discovery::Announcement::take(&mut map);
    let raw = &bytes[..len];
    let ip = a.ip.as_deref().and_then(|s| s.parse::<std::net::Ipv4Addr>().ok());
    let str_value = |v: &Option<String>| v.clone().map(Value::Str);
    let wanted = |field: Field, key: &'static str, value: Option<Value>| value.filter(|_| t.wants(field)).map(|v| (field, key, v));
    let shown = [
        wanted(
            Field::DevId,
            if a.dev_id.is_some() { discovery::DEV_ID } else { discovery::GW_ID },
            str_value(if a.dev_id.is_some() { &a.dev_id } else { &a.gw_id }),
        ),
        wanted(Field::GwId, discovery::GW_ID, str_value(&a.gw_id)),
        wanted(Field::Ip, discovery::IP, ip.map(|ip| Value::Ipv4(ip.octets()))),
        wanted(Field::ProductKey, discovery::PRODUCT_KEY, str_value(&a.product_key)),
        wanted(Field::Version, discovery::VERSION, str_value(&a.version)),
    ];
    // Where each value lies, in one scan of the text.
    let spans = json::value_spans(raw, shown.each_ref().map(|s| s.as_ref().map(|(_, key, _)| *key)));
    for (shown, at) in shown.into_iter().zip(spans) {
        if let Some((field, _, value)) = shown {
            t.field(field, at.map_or(text_span, |(o, l)| span.sub(o, l)), value);
        }
    }
    if datapoints {
        add_datapoints(t, raw, span, &map);
    }
    if a.gw_id.is_some() && a.ip.is_some() && t.wants_text() {
        t.info(a.info());
    }
    t.call("json", text_span);
    Some(a)
}

/// The members that hold datapoints: `dps`, at the top or inside `data`.
const DPS: &str = "dps";
const DATA: &str = "data";

/// A payload that is the device's text message (checked by its CRC, HMAC
/// or tag like any other): shown as `tuya.text` and in the Info column.
/// False when the bytes are not text.
pub(super) fn add_device_text(t: &mut Tree, span: Span, bytes: &[u8]) -> bool {
    let Some(text) = payload::device_text(bytes) else { return false };
    if t.wants(Field::Text) {
        t.field(Field::Text, span.sub(0, text.len()), Value::Str(text.to_string()));
    }
    t.expert(Expert::TextMessage, None);
    if t.wants_text() {
        let base = t.info.take().unwrap_or_default();
        t.info(format!("{base} \"{text}\""));
    }
    true
}

/// One `tuya.dp` item per datapoint of `dps` (top level, or inside `data`
/// as 3.4+ CONTROL_NEW and pushes have it); the Info column lists them.
pub(super) fn add_datapoints(t: &mut Tree, raw: &[u8], span: Span, map: &serde_json::Map<String, serde_json::Value>) {
    let located = |text: &[u8], key: &str, base: usize| json::value_span(text, key).map(|(o, l)| (base + o, l));
    let (dps, (dps_at, dps_len)) = match (map.get(DPS), map.get(DATA)) {
        (Some(serde_json::Value::Object(d)), _) => (d, located(raw, DPS, 0).unwrap_or((0, raw.len()))),
        (_, Some(serde_json::Value::Object(data))) => match data.get(DPS) {
            Some(serde_json::Value::Object(d)) => {
                let (o, l) = located(raw, DATA, 0).unwrap_or((0, raw.len()));
                (d, located(&raw[o..o + l], DPS, o).unwrap_or((o, l)))
            }
            _ => return,
        },
        _ => return,
    };
    let dps_text = &raw[dps_at..dps_at + dps_len];
    let mut info = String::new();
    for (id, value) in dps {
        let (o, l) = located(dps_text, id, dps_at).unwrap_or((dps_at, dps_len));
        let shown = json::display(value);
        t.field(Field::Dp, span.sub(o, l), Value::Wire(Enc::Na));
        t.append(format!(": {id} = {shown}"));
        t.subtree(|t| {
            if let Ok(n) = id.parse::<u32>() {
                t.generated(Field::DpId, span.sub(o, l), Value::Uint(n.into()));
            }
            t.generated(Field::DpValue, span.sub(o, l), Value::Str(shown.clone()));
        });
        info.push_str(&format!(" {id}={shown}"));
    }
    if !info.is_empty() {
        let base = t.info.take().unwrap_or_default();
        t.info(format!("{base} dps:{info}"));
    }
}

/// "id …" and "version …" facts for the device view.
pub(super) fn device_facts(dev_id: Option<&str>, version: Option<Version>) -> Vec<String> {
    let mut facts: Vec<String> = dev_id.map(|id| format!("id {id}")).into_iter().collect();
    facts.extend(version.map(|v| format!("version {}", v.as_str())));
    facts
}

/// Records the frame in the device view; the payload's fate is read off the
/// experts and data sources the dissection added.
pub(super) fn device_stat(t: &mut Tree, ip: Option<IpAddr>, facts: Vec<String>, key: KeyState) {
    let payload = if t.has_expert(Expert::DecryptFailed) || t.has_expert(Expert::BadProof) {
        PayloadState::Failed
    } else if t.has_expert(Expert::KeyNeeded) || t.has_expert(Expert::SessionKeyUnknown) {
        PayloadState::Unchecked
    } else if !t.sources.is_empty() {
        PayloadState::Decrypted
    } else {
        PayloadState::None
    };
    let key = match (key, payload) {
        (KeyState::NotNeeded, PayloadState::Unchecked) => KeyState::Needed,
        (k, _) => k,
    };
    let device = ip.map_or_else(|| "address unknown".to_string(), |ip| ip.to_string());
    t.device(device, facts, key, payload);
}
