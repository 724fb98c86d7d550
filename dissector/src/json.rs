//! Helpers for the JSON payloads that Tuya and miIO carry: parse leniently
//! (a trailing NUL is common) and find where a top-level value lies in the
//! text, so the tree can highlight its bytes.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The JSON text in `bytes`: trailing NULs and whitespace trimmed. Returns
/// the length of the text and the parsed object, or `None` when the bytes
/// are not a JSON object.
pub fn parse_object(bytes: &[u8]) -> Option<(usize, Map<String, Value>)> {
    parse_object_keeping(bytes, |_| true)
}

/// [`parse_object`] that keeps only the top-level members whose key `keep`
/// accepts. The others are checked as strictly (the same text is, or is
/// not, an object) but never built.
pub fn parse_object_keeping(bytes: &[u8], keep: impl Fn(&str) -> bool) -> Option<(usize, Map<String, Value>)> {
    let end = bytes.iter().rposition(|&b| b != 0 && !b.is_ascii_whitespace())? + 1;
    let mut de = serde_json::Deserializer::from_slice(&bytes[..end]);
    let map = Members(&keep).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some((end, map))
}

/// The top-level object, keeping the members `.0` accepts.
struct Members<'k, F>(&'k F);

impl<'de, F: Fn(&str) -> bool> DeserializeSeed<'de> for Members<'_, F> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        // `any`, as a `Value` reads it: anything but an object is refused.
        d.deserialize_any(self)
    }
}

impl<'de, F: Fn(&str) -> bool> Visitor<'de> for Members<'_, F> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Self::Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = members.next_key_seed(Key(self.0))? {
            match key {
                // Inserted as `Value` does it: a repeated key keeps the last value.
                Some(key) => {
                    map.insert(key, members.next_value()?);
                }
                None => {
                    members.next_value::<Checked>()?;
                }
            }
        }
        Ok(map)
    }
}

/// A member's key: `Some` (owned) when kept.
struct Key<'k, F>(&'k F);

impl<'de, F: Fn(&str) -> bool> DeserializeSeed<'de> for Key<'_, F> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, F: Fn(&str) -> bool> Visitor<'de> for Key<'_, F> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok((self.0)(key).then(|| key.to_string()))
    }
}

/// A value read and checked as `Value` reads it (numbers in range, escapes
/// valid, nesting limited) but not built.
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Checked, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Checked, A::Error> {
        while items.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Checked, A::Error> {
        while members.next_key::<IgnoredKey>()?.is_some() {
            members.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

/// A nested object's key, read as `Value` reads keys (a string).
struct IgnoredKey;

impl<'de> serde::Deserialize<'de> for IgnoredKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IgnoredKey, D::Error> {
        d.deserialize_str(IgnoredAny).map(|_| IgnoredKey)
    }
}

/// Byte range (offset, len) of the value of top-level `key` in `text`,
/// including the quotes of a string. `None` when not found.
pub fn value_span(text: &[u8], key: &str) -> Option<(usize, usize)> {
    let [span] = value_spans(text, [Some(key)]);
    span
}

/// [`value_span`] of several keys (`None`: not looked for) in one scan.
pub fn value_spans<const N: usize>(text: &[u8], keys: [Option<&str>; N]) -> [Option<(usize, usize)>; N] {
    let mut found = [None; N];
    // A key is done once found (its first occurrence wins).
    let mut done = keys.map(|k| k.is_none());
    let mut left = done.iter().filter(|d| !**d).count();
    let mut depth = 0usize;
    let mut i = 0;
    while left > 0 {
        // Only brackets and quotes matter; skip to the next.
        let Some(skip) = text[i..].iter().position(|&b| STRUCTURAL[b as usize]) else { break };
        i += skip;
        match text[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {
                let Some(end) = string_end(text, i) else { break };
                // The string's raw bytes, compared with the keys in place
                // (the keys hold no quote or backslash).
                let raw = &text[i + 1..end - 1];
                let hit = (depth == 1).then(|| (0..N).find(|&k| !done[k] && keys[k].is_some_and(|key| key.as_bytes() == raw))).flatten();
                if let Some(k) = hit {
                    let mut j = i + keys[k].map_or(0, str::len) + 2;
                    while j < text.len() && text[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if text.get(j) == Some(&b':') {
                        j += 1;
                        while j < text.len() && text[j].is_ascii_whitespace() {
                            j += 1;
                        }
                        let span = value_end(text, j).map(|end| (j, end - j));
                        for same in (k..N).filter(|&s| keys[s] == keys[k]) {
                            (done[same], found[same]) = (true, span);
                            left -= 1;
                        }
                    }
                }
                i = end;
                continue;
            }
        }
        i += 1;
    }
    found
}

/// The bytes [`value_spans`] stops at: brackets and quotes.
static STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 5 {
        table[b"{[}]\""[i] as usize] = true;
        i += 1;
    }
    table
};

/// Index just past the string starting with the quote at `start`.
fn string_end(text: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Index just past the JSON value starting at `start`.
fn value_end(text: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i < text.len() {
        match text[i] {
            b'"' => {
                i = string_end(text, i)?;
                if depth == 0 {
                    return Some(i);
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b',' if depth == 0 => return Some(i),
            _ => {}
        }
        i += 1;
    }
    (depth == 0).then_some(i)
}

/// A JSON value as display text: strings without quotes, others compact.
pub fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_values() {
        let t = br#"{"a":{"ip":"x"},"ip" : "10.0.0.1","n":12,"l":[1,2],"z":true}"#;
        let span = |k| value_span(t, k).map(|(o, l)| std::str::from_utf8(&t[o..o + l]).unwrap());
        assert_eq!(span("ip"), Some("\"10.0.0.1\""));
        assert_eq!(span("n"), Some("12"));
        assert_eq!(span("l"), Some("[1,2]"));
        assert_eq!(span("z"), Some("true"));
        assert_eq!(span("a"), Some("{\"ip\":\"x\"}"));
        assert_eq!(span("missing"), None);
    }

    #[test]
    fn parses_with_trailing_nul() {
        let (len, map) = parse_object(b"{\"id\":1}\0\0").unwrap();
        assert_eq!(len, 8);
        assert_eq!(map["id"], 1);
        assert!(parse_object(b"[1]").is_none());
        assert!(parse_object(b"\xff\xfe").is_none());
        assert!(parse_object(b"").is_none());
    }

    #[test]
    fn keeping_some_members_accepts_what_a_full_parse_accepts() {
        let texts: [&[u8]; 14] = [
            br#"{"gwId":"a","ip":"1.2.3.4","dps":{"1":true,"2":[1,2.5,null]}}"#,
            br#"{"gwId":"a","gwId":"b","x":{"gwId":"c"}}"#,
            br#"{"x":1e400,"gwId":"a"}"#,
            br#"{"x":"\ud800","gwId":"a"}"#,
            br#"{"x":"\q","gwId":"a"}"#,
            br#"{"x":[1,],"gwId":"a"}"#,
            br#"{"x":-0.5e-3,"y":18446744073709551616,"z":"\u00e9\n"}"#,
            b"{\"x\":\"\xff\",\"gwId\":\"a\"}",
            br#"{"gwId":"a"} x"#,
            br#"["gwId"]"#,
            br#""gwId""#,
            br#"{"gwId":1,"ip":{"a":[{}]}}"#,
            b"{\"gwId\":\"a\"}\0\0 \n",
            br#"{"#,
        ];
        let deep = format!("{{\"x\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        for text in texts.iter().copied().chain([deep.as_bytes()]) {
            let full = parse_object(text);
            let kept = parse_object_keeping(text, |k| k == "gwId");
            let want = full.map(|(len, map)| (len, map.into_iter().filter(|(k, _)| k == "gwId").collect::<Map<_, _>>()));
            assert_eq!(kept, want, "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn one_scan_finds_what_single_scans_find() {
        let t = br#"{"a":{"ip":"x"},"ip" : "10.0.0.1","n":12,"l":[1,2],"z":true,"ip":"again","s":"ip","bad":"#;
        let keys = ["ip", "n", "l", "z", "a", "missing", "s", "bad", "ip"];
        let one = value_spans(t, keys.map(Some));
        for (key, span) in keys.iter().zip(one) {
            assert_eq!(span, value_span(t, key), "{key}");
        }
        assert_eq!(value_spans(t, [None, Some("n")]), [None, value_span(t, "n")]);
    }

    #[test]
    fn never_panics_on_broken_text() {
        for t in [&b"{\"a\":\"unterminated"[..], b"{\"a\":", b"\"", b"{{{{", b"{\"a\"\\"] {
            let _ = value_span(t, "a");
        }
    }
}
