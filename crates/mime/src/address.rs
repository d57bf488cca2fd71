//! RFC 5322 address lists read into IMAP ENVELOPE address structures.
//!
//! ENVELOPE returns display names exactly as written (encoded-words stay
//! encoded), while mail-parser decodes them, so the raw header is re-read
//! here. The reader is forgiving in the way Dovecot's is: obsolete routes
//! become the `adl` field, a bare local part gets `MISSING_DOMAIN`, a comment
//! after an addr-spec stands in for a missing display name, and bytes that
//! fit nowhere are skipped rather than failing the whole list.

use crate::facts::Address;
use crate::headers::{Lexer, is_wsp};

pub(crate) const MISSING_MAILBOX: &[u8] = b"MISSING_MAILBOX";
pub(crate) const MISSING_DOMAIN: &[u8] = b"MISSING_DOMAIN";
const SYNTAX_ERROR: &[u8] = b"SYNTAX_ERROR";

fn is_atom_byte(b: u8) -> bool {
    !is_wsp(b)
        && !matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b'@'
                | b','
                | b';'
                | b':'
                | b'\\'
                | b'"'
                | b'.'
                | b'['
                | b']'
        )
}

/// One lexical item of a phrase or local part.
enum Word {
    Atom(Vec<u8>),
    Quoted(Vec<u8>),
    Dot,
}

/// Parses an unfolded address-list value; at most `max` structures are
/// returned (group markers included).
pub(crate) fn parse_list(value: &[u8], max: usize) -> Vec<Address> {
    let mut lx = Lexer::new(value);
    let mut out = Vec::new();
    let mut in_group = false;
    // An empty element between two commas shows as a MISSING_* address,
    // as in Dovecot.
    let mut after_comma = false;
    while !lx.at_end() && out.len() < max {
        let before = lx.pos;
        lx.skip_cfws();
        match lx.peek() {
            None => break,
            Some(b',') => {
                lx.bump();
                if after_comma {
                    out.push(Address {
                        name: None,
                        adl: None,
                        mailbox: Some(MISSING_MAILBOX.to_vec()),
                        host: Some(MISSING_DOMAIN.to_vec()),
                    });
                }
                after_comma = true;
                continue;
            }
            Some(b';') => {
                lx.bump();
                after_comma = false;
                if in_group {
                    out.push(Address::default());
                    in_group = false;
                }
                continue;
            }
            _ => {}
        }
        after_comma = false;
        let (words, comment) = read_words(&mut lx);
        match lx.peek() {
            Some(b':') if !in_group => {
                lx.bump();
                out.push(Address {
                    mailbox: Some(phrase(&words)),
                    ..Address::default()
                });
                in_group = true;
            }
            Some(b'<') => {
                lx.bump();
                let mut addr = angle_addr(&mut lx);
                let name = phrase(&words);
                addr.name = if name.is_empty() { None } else { Some(name) };
                out.push(addr);
            }
            Some(b'@') => {
                lx.bump();
                let (host, trailing_comment) = domain_and_comment(&mut lx);
                out.push(Address {
                    name: trailing_comment.or(comment).filter(|c| !c.is_empty()),
                    adl: None,
                    mailbox: Some(local_part(&words)),
                    host: Some(host),
                });
            }
            _ => {
                // Two words side by side (not joined by a dot) make a phrase.
                let is_phrase = words
                    .windows(2)
                    .any(|w| !matches!(w, [Word::Dot, _] | [_, Word::Dot]));
                if is_phrase {
                    // `Someone Else` with no address: a name, as Dovecot
                    // reads it.
                    out.push(Address {
                        name: Some(phrase(&words)),
                        adl: None,
                        mailbox: Some(MISSING_MAILBOX.to_vec()),
                        host: Some(MISSING_DOMAIN.to_vec()),
                    });
                } else if !words.is_empty() {
                    out.push(Address {
                        name: comment.filter(|c| !c.is_empty()),
                        adl: None,
                        mailbox: Some(local_part(&words)),
                        host: Some(MISSING_DOMAIN.to_vec()),
                    });
                }
                // Skip whatever this is up to the next separator.
                lx.take_while(|b| b != b',' && b != b';');
            }
        }
        if lx.pos == before {
            lx.bump();
        }
    }
    if in_group {
        // Keep the group closed even when the list was cut at `max`.
        out.truncate(max.saturating_sub(1));
        out.push(Address::default());
    }
    out
}

/// Reads atoms, quoted strings and dots up to a special character; returns
/// them with the text of the last comment seen.
fn read_words(lx: &mut Lexer<'_>) -> (Vec<Word>, Option<Vec<u8>>) {
    let mut words = Vec::new();
    let mut comment = None;
    loop {
        if let Some(c) = lx.skip_cfws() {
            comment = Some(c);
        }
        match lx.peek() {
            Some(b'"') => words.push(Word::Quoted(lx.quoted())),
            Some(b'.') => {
                lx.bump();
                words.push(Word::Dot);
            }
            Some(b) if is_atom_byte(b) => {
                words.push(Word::Atom(lx.take_while(is_atom_byte).to_vec()))
            }
            _ => return (words, comment),
        }
    }
}

/// Display name: words joined by one space, quotes removed.
fn phrase(words: &[Word]) -> Vec<u8> {
    let mut out = Vec::new();
    for w in words {
        let text: &[u8] = match w {
            Word::Atom(a) | Word::Quoted(a) => a,
            Word::Dot => b".",
        };
        if !out.is_empty() && !matches!(w, Word::Dot) {
            out.push(b' ');
        }
        out.extend_from_slice(text);
    }
    out
}

/// Local part: words concatenated (dots kept, no spaces). An empty quoted
/// string is an empty local part; no words at all is `MISSING_MAILBOX`.
fn local_part(words: &[Word]) -> Vec<u8> {
    if words.is_empty() {
        return MISSING_MAILBOX.to_vec();
    }
    let mut out = Vec::new();
    for w in words {
        match w {
            Word::Atom(a) | Word::Quoted(a) => out.extend_from_slice(a),
            Word::Dot => out.push(b'.'),
        }
    }
    out
}

/// Domain after '@': dot-atoms or a domain literal, comments dropped.
fn domain(lx: &mut Lexer<'_>) -> Vec<u8> {
    domain_and_comment(lx).0
}

/// Domain after '@' and the last comment met while reading it.
fn domain_and_comment(lx: &mut Lexer<'_>) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut out = Vec::new();
    let mut comment = None;
    loop {
        if let Some(c) = lx.skip_cfws() {
            comment = Some(c);
        }
        match lx.peek() {
            Some(b'[') => {
                let lit = lx.take_while(|b| b != b']');
                out.extend_from_slice(lit);
                if lx.peek() == Some(b']') {
                    lx.bump();
                    out.push(b']');
                }
            }
            Some(b'.') => {
                lx.bump();
                out.push(b'.');
            }
            Some(b) if is_atom_byte(b) => out.extend_from_slice(lx.take_while(is_atom_byte)),
            _ => break,
        }
    }
    if out.is_empty() {
        out = MISSING_DOMAIN.to_vec();
    }
    (out, comment)
}

/// The inside of `<...>` after the '<': optional obsolete route, addr-spec.
fn angle_addr(lx: &mut Lexer<'_>) -> Address {
    lx.skip_cfws();
    let mut adl = None;
    if lx.peek() == Some(b'@') {
        let route = lx.take_while(|b| b != b':' && b != b'>');
        if lx.peek() == Some(b':') {
            lx.bump();
            let route: Vec<u8> = route.iter().copied().filter(|b| !is_wsp(*b)).collect();
            adl = Some(route);
        }
    }
    let (words, _) = read_words(lx);
    let (mailbox, host) = if lx.peek() == Some(b'@') {
        lx.bump();
        (local_part(&words), domain(lx))
    } else if words.is_empty() {
        // `<>`: nothing to show, filled in as Dovecot does.
        lx.skip_cfws();
        if lx.peek() == Some(b'>') {
            lx.bump();
        }
        return Address {
            name: None,
            adl,
            mailbox: Some(MISSING_MAILBOX.to_vec()),
            host: Some(MISSING_DOMAIN.to_vec()),
        };
    } else {
        (local_part(&words), MISSING_DOMAIN.to_vec())
    };
    lx.skip_cfws();
    lx.take_while(|b| b != b'>' && b != b',');
    let host = if lx.peek() == Some(b'>') {
        lx.bump();
        host
    } else {
        // `<a@b` never closed: Dovecot marks the host.
        SYNTAX_ERROR.to_vec()
    };
    Address {
        name: None,
        adl,
        mailbox: Some(mailbox),
        host: Some(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(
        name: Option<&str>,
        adl: Option<&str>,
        mailbox: Option<&str>,
        host: Option<&str>,
    ) -> Address {
        let v = |s: Option<&str>| s.map(|s| s.as_bytes().to_vec());
        Address {
            name: v(name),
            adl: v(adl),
            mailbox: v(mailbox),
            host: v(host),
        }
    }

    #[test]
    fn plain_and_named_addresses() {
        let list = parse_list(
            br#"John Doe <john@example.com>, jane@example.org, "Smith, Bob" <bob@x.y>"#,
            100,
        );
        assert_eq!(
            list,
            vec![
                a(Some("John Doe"), None, Some("john"), Some("example.com")),
                a(None, None, Some("jane"), Some("example.org")),
                a(Some("Smith, Bob"), None, Some("bob"), Some("x.y")),
            ]
        );
    }

    #[test]
    fn encoded_words_stay_encoded() {
        let list = parse_list(b"=?utf-8?q?J=C3=B6rg?= <j@example.de>", 10);
        assert_eq!(
            list,
            vec![a(
                Some("=?utf-8?q?J=C3=B6rg?="),
                None,
                Some("j"),
                Some("example.de")
            )]
        );
    }

    #[test]
    fn groups_are_flattened_with_markers() {
        let list = parse_list(
            b"undisclosed-recipients:;, Team: a@b.c, C <c@d.e>; z@z.z",
            100,
        );
        assert_eq!(
            list,
            vec![
                a(None, None, Some("undisclosed-recipients"), None),
                a(None, None, None, None),
                a(None, None, Some("Team"), None),
                a(None, None, Some("a"), Some("b.c")),
                a(Some("C"), None, Some("c"), Some("d.e")),
                a(None, None, None, None),
                a(None, None, Some("z"), Some("z.z")),
            ]
        );
    }

    #[test]
    fn unterminated_group_is_closed() {
        let list = parse_list(b"G: a@b", 10);
        assert_eq!(
            list,
            vec![
                a(None, None, Some("G"), None),
                a(None, None, Some("a"), Some("b")),
                a(None, None, None, None)
            ]
        );
    }

    #[test]
    fn comments_routes_and_missing_parts() {
        let list = parse_list(
            b"a@b.c (Alice Example), <@r1,@r2:x@y.z>, bare, \"q u\"@h, <>, \"\"@e",
            100,
        );
        assert_eq!(
            list,
            vec![
                a(Some("Alice Example"), None, Some("a"), Some("b.c")),
                a(None, Some("@r1,@r2"), Some("x"), Some("y.z")),
                a(None, None, Some("bare"), Some("MISSING_DOMAIN")),
                a(None, None, Some("q u"), Some("h")),
                a(None, None, Some("MISSING_MAILBOX"), Some("MISSING_DOMAIN")),
                a(None, None, Some(""), Some("e")),
            ]
        );
    }

    #[test]
    fn empty_elements_and_unclosed_angles_like_dovecot() {
        let list = parse_list(b"a@b.c,,d@e.f, <broken@ex.com", 10);
        assert_eq!(
            list,
            vec![
                a(None, None, Some("a"), Some("b.c")),
                a(None, None, Some("MISSING_MAILBOX"), Some("MISSING_DOMAIN")),
                a(None, None, Some("d"), Some("e.f")),
                a(None, None, Some("broken"), Some("SYNTAX_ERROR")),
            ]
        );
    }

    #[test]
    fn phrase_without_address_is_a_name() {
        assert_eq!(
            parse_list(b"Someone Else, first.last", 10),
            vec![
                a(
                    Some("Someone Else"),
                    None,
                    Some("MISSING_MAILBOX"),
                    Some("MISSING_DOMAIN")
                ),
                a(None, None, Some("first.last"), Some("MISSING_DOMAIN")),
            ]
        );
    }

    #[test]
    fn dotted_phrase_and_local_part() {
        let list = parse_list(b"John Q. Public <john.q.public@example.com>", 10);
        assert_eq!(
            list,
            vec![a(
                Some("John Q. Public"),
                None,
                Some("john.q.public"),
                Some("example.com")
            )]
        );
    }

    #[test]
    fn garbage_never_loops_and_respects_max() {
        for input in [&b"<<<>>>,,;;::@@"[..], b"\"", b"(", b"a@", b"@", b">", b"]"] {
            let list = parse_list(input, 50);
            assert!(list.len() <= 50);
        }
        let many = b"a@b, ".repeat(1000);
        assert_eq!(parse_list(&many, 10).len(), 10);
    }
}
