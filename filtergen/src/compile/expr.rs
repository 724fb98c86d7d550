//! Joining filter fragments with explicit parentheses, shared by the
//! display-filter and BPF compilers (which differ only in their operators).

/// The operators of one filter language.
#[derive(Clone, Copy, Debug)]
pub struct Syntax {
    pub and: &'static str,
    pub or: &'static str,
    pub not: &'static str,
}

pub const DFILTER: Syntax = Syntax { and: " && ", or: " || ", not: "!" };
pub const BPF: Syntax = Syntax { and: " and ", or: " or ", not: "not " };

impl Syntax {
    /// `a || b || c` with each fragment in parentheses (one fragment as is).
    pub fn any(&self, parts: &[String]) -> String {
        self.join(parts, self.or)
    }

    /// `a && b && c` with each fragment in parentheses (one fragment as is).
    pub fn all(&self, parts: &[String]) -> String {
        self.join(parts, self.and)
    }

    pub fn negate(&self, part: &str) -> String {
        format!("{}({part})", self.not)
    }

    /// `(base) && !(r1) && !(r2)…`: what `base` matches minus every rule.
    pub fn minus(&self, base: &str, rules: &[String]) -> String {
        let mut parts = vec![base.to_string()];
        parts.extend(rules.iter().map(|r| self.negate(r)));
        self.all(&parts)
    }

    fn join(&self, parts: &[String], op: &str) -> String {
        match parts {
            [one] => one.clone(),
            _ => parts.iter().map(|p| wrap(p)).collect::<Vec<_>>().join(op),
        }
    }
}

/// Parenthesizes a fragment unless it already is one `!(…)` or `(…)` group.
fn wrap(part: &str) -> String {
    if is_group(part) || part.strip_prefix('!').is_some_and(is_group) || part.strip_prefix("not ").is_some_and(is_group) {
        part.to_string()
    } else {
        format!("({part})")
    }
}

/// Whether `s` is `( … )` with the first parenthesis closing at the end.
fn is_group(s: &str) -> bool {
    if !s.starts_with('(') || !s.ends_with(')') {
        return false;
    }
    let mut depth = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => {
                depth -= 1;
                if depth == 0 && i != s.len() - 1 {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_with_parentheses() {
        let parts = vec!["a".to_string(), "(b) || (c)".to_string(), "(d)".to_string()];
        assert_eq!(DFILTER.all(&parts), "(a) && ((b) || (c)) && (d)");
        assert_eq!(DFILTER.minus("(x)", &["y".into()]), "(x) && !(y)");
        assert_eq!(BPF.minus("(x)", &["y".into()]), "(x) and not (y)");
    }
}
