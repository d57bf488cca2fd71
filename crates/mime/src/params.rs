//! Content-Type, Content-Disposition and Content-Language as BODYSTRUCTURE
//! reports them: raw parameter values (quoted strings unquoted), RFC 2231
//! continuations joined the way Dovecot joins them (`name*0*`, `name*1*` become
//! one `name*` whose value stays percent-encoded), nothing decoded.
//!
//! mail-parser's own `ContentType` decodes RFC 2231 and RFC 2047 into UTF-8
//! and drops the `*` markers, which is right for a mail client but not for
//! IMAP, so these few lines re-read the raw value.

use crate::facts::{Disposition, Param};
use crate::headers::{Lexer, is_wsp};

/// Parameters beyond this count in one header are ignored.
const MAX_PARAMS: usize = 128;

fn is_token_byte(b: u8) -> bool {
    !is_wsp(b) && !matches!(b, b';' | b'=' | b'(' | b')' | b'"' | b'/' | b',')
}

/// `type/subtype; params` from an unfolded Content-Type value. None when
/// the value has no type token; a missing subtype is empty (Dovecot shows
/// `"text" ""` for `Content-Type: text`).
pub(crate) fn content_type(value: &[u8]) -> Option<(Vec<u8>, Vec<u8>, Vec<Param>)> {
    let mut lx = Lexer::new(value);
    lx.skip_cfws();
    let main = lx.take_while(is_token_byte).to_vec();
    if main.is_empty() {
        return None;
    }
    lx.skip_cfws();
    let mut sub = Vec::new();
    if lx.peek() == Some(b'/') {
        lx.bump();
        lx.skip_cfws();
        sub = lx.take_while(is_token_byte).to_vec();
    }
    Some((main, sub, params(&mut lx)))
}

/// The value as one token (Content-Transfer-Encoding: `base64 (comment)`
/// is `base64`); None when it is empty or more than one token (`8 bit`),
/// which Dovecot then treats as absent.
pub(crate) fn first_token(value: &[u8]) -> Option<Vec<u8>> {
    let mut lx = Lexer::new(value);
    lx.skip_cfws();
    let token = lx.take_while(is_token_byte);
    lx.skip_cfws();
    (!token.is_empty() && lx.at_end()).then(|| token.to_vec())
}

/// `kind; params` from an unfolded Content-Disposition value. A field
/// without a type still counts, with an empty one (as Dovecot shows it).
pub(crate) fn disposition(value: &[u8]) -> Disposition {
    let mut lx = Lexer::new(value);
    lx.skip_cfws();
    let kind = lx.take_while(is_token_byte).to_vec();
    Disposition {
        kind,
        params: params(&mut lx),
    }
}

/// Content-Language: comma-separated tags.
pub(crate) fn language(value: &[u8]) -> Vec<Vec<u8>> {
    let mut lx = Lexer::new(value);
    let mut out = Vec::new();
    while !lx.at_end() && out.len() < MAX_PARAMS {
        lx.skip_cfws();
        let tag = lx.take_while(|b| !is_wsp(b) && b != b',' && b != b'(');
        if !tag.is_empty() {
            out.push(tag.to_vec());
        }
        lx.skip_cfws();
        if lx.peek() == Some(b',') {
            lx.bump();
        } else if !lx.at_end() && tag.is_empty() {
            // A stray byte that starts no tag: skip it so the loop advances.
            lx.bump();
        }
    }
    out
}

/// Reads `; attr=value` pairs to the end of the value, then joins RFC 2231
/// continuations.
fn params(lx: &mut Lexer<'_>) -> Vec<Param> {
    let mut raw: Vec<Param> = Vec::new();
    while !lx.at_end() && raw.len() < MAX_PARAMS {
        lx.skip_cfws();
        match lx.peek() {
            Some(b';') => {
                lx.bump();
                continue;
            }
            None => break,
            _ => {}
        }
        let attr = lx.take_while(is_token_byte).to_vec();
        lx.skip_cfws();
        // `=value` without a name is kept with an empty one, as in Dovecot.
        if lx.peek() != Some(b'=') {
            // Not a parameter: skip to the next ';'.
            lx.take_while(|b| b != b';');
            continue;
        }
        lx.bump();
        lx.skip_cfws();
        let value = if lx.peek() == Some(b'"') {
            lx.quoted()
        } else {
            lx.take_while(is_value_token_byte).to_vec()
        };
        // A value is one token or quoted string; whatever follows it up to
        // the next ';' (a missing ';' between parameters, `@host` after a
        // token) is skipped, as Dovecot skips it.
        lx.skip_cfws();
        if !matches!(lx.peek(), None | Some(b';')) {
            lx.take_while(|b| b != b';');
        }
        raw.push(Param { attr, value });
    }
    join_continuations(raw)
}

/// RFC 2045 token characters: printable ASCII except tspecials.
fn is_value_token_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

/// `name*N` / `name*N*` / `name*` segments, if `attr` is one: (name, N,
/// extended).
fn split_continuation(attr: &[u8]) -> Option<(&[u8], u32, bool)> {
    let (attr, extended) = match attr.strip_suffix(b"*") {
        Some(a) => (a, true),
        None => (attr, false),
    };
    let Some(star) = attr.iter().rposition(|&b| b == b'*') else {
        // `name*=charset'lang'value`: one extended segment.
        return (extended && !attr.is_empty()).then_some((attr, 0, true));
    };
    let (name, index) = (attr.get(..star)?, attr.get(star + 1..)?);
    if name.is_empty()
        || index.is_empty()
        || index.len() > 4
        || !index.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let n = std::str::from_utf8(index).ok()?.parse().ok()?;
    Some((name, n, extended))
}

/// One parameter split into RFC 2231 segments.
struct Continued {
    /// Base name, lowercased, to match segments case-insensitively.
    key: Vec<u8>,
    /// Where the joined parameter goes in the output.
    slot: usize,
    /// (index, extended, value) of each segment.
    segments: Vec<(u32, bool, Vec<u8>)>,
}

fn join_continuations(raw: Vec<Param>) -> Vec<Param> {
    if !raw.iter().any(|p| split_continuation(&p.attr).is_some()) {
        return raw;
    }
    // Plain parameters first, then the RFC 2231 ones joined and sorted by
    // name, as Dovecot lists them.
    let mut groups: Vec<Continued> = Vec::new();
    let mut out: Vec<Param> = Vec::new();
    let mut joined: Vec<Param> = Vec::new();
    for p in raw {
        match split_continuation(&p.attr) {
            Some((name, n, extended)) => {
                let key = name.to_ascii_lowercase();
                let segment = (n, extended, p.value);
                if let Some(g) = groups.iter_mut().find(|g| g.key == key) {
                    g.segments.push(segment);
                } else {
                    joined.push(Param {
                        attr: name.to_vec(),
                        value: Vec::new(),
                    });
                    groups.push(Continued {
                        key,
                        slot: joined.len() - 1,
                        segments: vec![segment],
                    });
                }
            }
            None => out.push(p),
        }
    }
    for Continued {
        slot, mut segments, ..
    } in groups
    {
        segments.sort_by_key(|s| s.0);
        let extended = segments.first().is_some_and(|s| s.1);
        if let Some(param) = joined.get_mut(slot) {
            if extended {
                param.attr.push(b'*');
            }
            for (_, _, value) in segments {
                param.value.extend_from_slice(&value);
            }
        }
    }
    joined.sort_by_key(|p| p.attr.to_ascii_lowercase());
    out.extend(joined);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(a: &str, v: &str) -> Param {
        Param {
            attr: a.as_bytes().to_vec(),
            value: v.as_bytes().to_vec(),
        }
    }

    #[test]
    fn content_type_with_quoted_and_commented_params() {
        let (t, s, ps) =
            content_type(br#"Text/Plain (comment) ; charset="utf-8"; format=flowed (x)"#).unwrap();
        assert_eq!((t.as_slice(), s.as_slice()), (&b"Text"[..], &b"Plain"[..]));
        assert_eq!(ps, vec![p("charset", "utf-8"), p("format", "flowed")]);
    }

    #[test]
    fn content_type_without_subtype_has_an_empty_one() {
        let (t, s, ps) = content_type(b"text; charset=x").unwrap();
        assert_eq!((t.as_slice(), s.as_slice()), (&b"text"[..], &b""[..]));
        assert_eq!(ps, vec![p("charset", "x")]);
        assert_eq!(content_type(b"text/").unwrap().1, b"".to_vec());
        assert!(content_type(b"").is_none());
        assert!(content_type(b";;x").is_none());
    }

    #[test]
    fn encoded_words_in_params_stay_raw() {
        let (_, _, ps) =
            content_type(br#"application/pdf; name="=?utf-8?q?r=C3=A9sum=C3=A9?=.pdf""#).unwrap();
        assert_eq!(ps, vec![p("name", "=?utf-8?q?r=C3=A9sum=C3=A9?=.pdf")]);
    }

    #[test]
    fn rfc2231_continuations_join_like_dovecot() {
        let d = disposition(
            b"attachment; filename*1*=%20b.txt; filename*0*=utf-8''a; size=3; title*0=\"x \"; title*1=y",
        );
        assert_eq!(d.kind, b"attachment".to_vec());
        assert_eq!(
            d.params,
            vec![
                p("size", "3"),
                p("filename*", "utf-8''a%20b.txt"),
                p("title", "x y")
            ]
        );
        // A single extended value keeps its star and its encoding, and RFC
        // 2231 parameters come after the plain ones, sorted.
        let (_, _, ps) = content_type(b"text/plain; z*=a''b; name*=utf-8''%E2%82%AC; x=1").unwrap();
        assert_eq!(
            ps,
            vec![p("x", "1"), p("name*", "utf-8''%E2%82%AC"), p("z*", "a''b")]
        );
    }

    #[test]
    fn garbage_params_are_skipped() {
        let (_, _, ps) = content_type(b"text/plain; junk; =x; a=1;;b=\"2").unwrap();
        assert_eq!(ps, vec![p("", "x"), p("a", "1"), p("b", "2")]);
        let d = disposition(b";filename=x");
        assert_eq!((d.kind, d.params), (Vec::new(), vec![p("filename", "x")]));
    }

    #[test]
    fn text_after_a_value_is_skipped_to_the_next_semicolon() {
        let (_, _, ps) = content_type(
            b"a/b; access-type=mail-server\r\n server=\"x@y\"; ok=1; t=x@y; c=\"\" c=\"2\"",
        )
        .unwrap();
        assert_eq!(
            ps,
            vec![
                p("access-type", "mail-server"),
                p("ok", "1"),
                p("t", "x"),
                p("c", "")
            ]
        );
    }

    #[test]
    fn first_token_skips_comments() {
        assert_eq!(first_token(b" (x) base64 (y)"), Some(b"base64".to_vec()));
        assert_eq!(first_token(b"  "), None);
        assert_eq!(first_token(b"8 bit"), None);
    }

    #[test]
    fn language_list() {
        assert_eq!(
            language(b"en, de-CH (Swiss) ,,fr"),
            vec![b"en".to_vec(), b"de-CH".to_vec(), b"fr".to_vec()]
        );
        assert!(language(b"  ").is_empty());
    }
}
