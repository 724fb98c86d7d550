//! POSIX shell quoting.

/// Quotes `s` as one shell word: bare when it holds only characters the
/// shell never interprets, else in single quotes (a `'` becomes `'\''`).
pub fn quote(s: &str) -> String {
    let bare = !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-./,:=@%+".contains(&b));
    if bare {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_what_the_shell_would_interpret() {
        assert_eq!(quote("a.pcap"), "a.pcap");
        assert_eq!(quote("it's $(x) `y`"), r"'it'\''s $(x) `y`'");
        assert_eq!(quote(""), "''");
    }
}
