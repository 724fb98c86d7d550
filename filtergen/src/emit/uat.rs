//! Wireshark's UAT and `dfilters` line formats, and merging our lines into a
//! file that may hold the user's own.

/// A UAT field in double quotes: `"`, `\` and non-printable bytes as `\xHH`.
pub fn quote(field: &str) -> String {
    let mut out = String::from("\"");
    for b in field.bytes() {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            out.push_str(&format!("\\x{b:02x}"));
        } else {
            out.push(b as char);
        }
    }
    out.push('"');
    out
}

/// One UAT record line.
pub fn record(fields: &[&str]) -> String {
    fields.iter().map(|f| quote(f)).collect::<Vec<_>>().join(",")
}

/// Replaces the lines of `existing` whose key (per `key_of`) is among the new
/// lines' keys, keeps every other line (comments, the user's own entries) and
/// appends the new lines.
pub fn merge(existing: &str, new_lines: &[String], key_of: impl Fn(&str) -> Option<String>) -> String {
    let new_keys: Vec<Option<String>> = new_lines.iter().map(|l| key_of(l)).collect();
    let mut out: Vec<&str> = existing
        .lines()
        .filter(|line| match key_of(line) {
            Some(key) => !new_keys.contains(&Some(key)),
            None => true,
        })
        .collect();
    out.extend(new_lines.iter().map(String::as_str));
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// The key of a UAT record: its first field, raw.
pub fn first_field(line: &str) -> Option<String> {
    let rest = line.strip_prefix('"')?;
    rest.find("\",").or_else(|| rest.strip_suffix('"').map(|r| r.len())).map(|end| rest[..end].to_string())
}

/// The key of a `dfilter_buttons` record: its label (second field).
pub fn second_field(line: &str) -> Option<String> {
    let rest = line.strip_prefix('"')?;
    let after = &rest[rest.find("\",")? + 2..];
    first_field(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_merges() {
        assert_eq!(quote("a \"b\" \\c"), r#""a \x22b\x22 \x5cc""#);
        let merged = merge("# c\n\"x\",\"old\"\n\"y\",\"keep\"\n", &[record(&["x", "new"])], first_field);
        assert_eq!(merged, "# c\n\"y\",\"keep\"\n\"x\",\"new\"\n");
        assert_eq!(second_field(r#""TRUE","lab","e","c""#).as_deref(), Some("lab"));
    }
}
