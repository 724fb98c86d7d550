//! Helpers for the JSON payloads that Tuya and miIO carry: parse leniently
//! (a trailing NUL is common) and find where a top-level value lies in the
//! text, so the tree can highlight its bytes.

use serde_json::{Map, Value};

/// The JSON text in `bytes`: trailing NULs and whitespace trimmed. Returns
/// the length of the text and the parsed object, or `None` when the bytes
/// are not a JSON object.
pub fn parse_object(bytes: &[u8]) -> Option<(usize, Map<String, Value>)> {
    let end = bytes.iter().rposition(|&b| b != 0 && !b.is_ascii_whitespace())? + 1;
    match serde_json::from_slice::<Value>(&bytes[..end]).ok()? {
        Value::Object(map) => Some((end, map)),
        _ => None,
    }
}

/// Byte range (offset, len) of the value of top-level `key` in `text`,
/// including the quotes of a string. `None` when not found.
pub fn value_span(text: &[u8], key: &str) -> Option<(usize, usize)> {
    let key = key.as_bytes();
    // `"key"`, compared in place.
    let quoted = |at: usize| text.get(at + 1..at + 1 + key.len()) == Some(key) && text.get(at + 1 + key.len()) == Some(&b'"');
    let mut depth = 0usize;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                if depth == 1 && quoted(i) {
                    let mut j = i + key.len() + 2;
                    while j < text.len() && text[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if text.get(j) == Some(&b':') {
                        j += 1;
                        while j < text.len() && text[j].is_ascii_whitespace() {
                            j += 1;
                        }
                        let end = value_end(text, j)?;
                        return Some((j, end - j));
                    }
                }
                i = string_end(text, i)?;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

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
    fn never_panics_on_broken_text() {
        for t in [&b"{\"a\":\"unterminated"[..], b"{\"a\":", b"\"", b"{{{{", b"{\"a\"\\"] {
            let _ = value_span(t, "a");
        }
    }
}
