//! Mailbox names on the wire: decoding (modified UTF-7, or UTF-8 once
//! UTF8=ACCEPT is enabled), the case-insensitive INBOX, and LIST pattern
//! matching with `*` and `%` (RFC 9051 §6.3.9).

use imap_exec::ExecError;
use imap_proto::{AString, Mailbox};

pub const SEP: char = '/';

/// The store's name for a mailbox the client named.
pub fn decode(m: &Mailbox<'_>, utf8: bool) -> Result<String, ExecError> {
    let name = m
        .decode(utf8)
        .map_err(|_| ExecError::bad("Invalid mailbox name encoding"))?;
    Ok(canonical(&name))
}

/// INBOX is case-insensitive, also as the first level of a hierarchy.
pub fn canonical(name: &str) -> String {
    if name.eq_ignore_ascii_case("INBOX") {
        return "INBOX".into();
    }
    match name.get(..6) {
        Some(head) if head.eq_ignore_ascii_case("INBOX/") => format!("INBOX{}", &name[5..]),
        _ => name.to_string(),
    }
}

/// A LIST pattern: the reference joined to the mailbox pattern, decoded.
pub fn pattern(
    reference: &Mailbox<'_>,
    pat: &AString<'_>,
    utf8: bool,
) -> Result<String, ExecError> {
    let reference = reference
        .decode(utf8)
        .map_err(|_| ExecError::bad("Invalid reference name encoding"))?;
    let raw = pat.to_bytes();
    let pat = if utf8 {
        String::from_utf8(raw.into_owned())
            .map_err(|_| ExecError::bad("Invalid UTF-8 in pattern"))?
    } else {
        imap_proto::mutf7::decode(&raw)
            .map_err(|_| ExecError::bad("Invalid pattern encoding"))?
            .into_owned()
    };
    let joined = if pat.starts_with(SEP) || reference.is_empty() {
        pat
    } else if reference.ends_with(SEP) {
        format!("{reference}{pat}")
    } else {
        format!("{reference}{SEP}{pat}")
    };
    Ok(canonical_pattern(&joined))
}

fn canonical_pattern(p: &str) -> String {
    match p.get(..5) {
        Some(head)
            if head.eq_ignore_ascii_case("INBOX")
                && matches!(p.as_bytes().get(5), None | Some(b'/')) =>
        {
            format!("INBOX{}", &p[5..])
        }
        _ => p.to_string(),
    }
}

/// Does `name` match `pattern`? `*` matches anything, `%` anything but
/// the hierarchy separator. Dynamic programming over (pattern, name)
/// positions: linear in their product whatever the client sends.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p = pattern.as_bytes();
    let n = name.as_bytes();
    // reach[j]: the pattern prefix seen so far can end at name position j.
    let mut reach = vec![false; n.len() + 1];
    reach[0] = true;
    for &c in p {
        let mut next = vec![false; n.len() + 1];
        match c {
            b'*' => {
                let mut on = false;
                for j in 0..=n.len() {
                    on |= reach[j];
                    next[j] = on;
                }
            }
            b'%' => {
                let mut on = false;
                for j in 0..=n.len() {
                    on |= reach[j];
                    next[j] = on;
                    if n.get(j) == Some(&b'/') {
                        on = false;
                    }
                }
            }
            c => {
                for j in 0..n.len() {
                    next[j + 1] = reach[j] && n[j] == c;
                }
            }
        }
        reach = next;
        if !reach.iter().any(|&r| r) {
            return false;
        }
    }
    reach[n.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("*", "a/b/c"));
        assert!(matches("%", "INBOX"));
        assert!(!matches("%", "a/b"));
        assert!(matches("a/%", "a/b"));
        assert!(!matches("a/%", "a/b/c"));
        assert!(matches("a/*", "a/b/c"));
        assert!(matches("*b*", "a/b/c"));
        assert!(matches("Sent", "Sent"));
        assert!(!matches("Sent", "Sent/2024"));
        assert!(!matches("", "x"));
        assert!(matches("%/%", "a/b"));
    }

    #[test]
    fn inbox_is_case_insensitive() {
        assert_eq!(canonical("inbox"), "INBOX");
        assert_eq!(canonical("Inbox/Work"), "INBOX/Work");
        assert_eq!(canonical("Inboxes"), "Inboxes");
        assert_eq!(canonical_pattern("inbox*"), "inbox*");
        assert_eq!(canonical_pattern("inbox/%"), "INBOX/%");
        assert_eq!(canonical_pattern("InBoX"), "INBOX");
    }

    #[test]
    fn many_stars_stay_bounded() {
        let p = "*".repeat(200) + "x";
        assert!(!matches(&p, &"a".repeat(300)));
    }
}
