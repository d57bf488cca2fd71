//! Envelope addresses: RFC 5321 §4.1.2 paths, with RFC 6531 UTF-8.
//!
//! Lenient where real mail needs it: a recipient may lack a domain
//! (`<user>`, `<Postmaster>`: LMTP delivers to local users), dots in an
//! unquoted local part may be leading, trailing or doubled (addresses like
//! `first..last@` exist at old mobile carriers), domain labels may hold `_`.
//! Source routes (`<@a,@b:user@c>`) are accepted and dropped as RFC 5321
//! asks. Non-ASCII must be valid UTF-8; whether SMTPUTF8 was negotiated is
//! the session's to check with [`Mailbox::is_ascii`].

use std::borrow::Cow;

/// An address as written in the envelope. Parts borrow from the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mailbox<'a> {
    local: &'a [u8],
    quoted: bool,
    domain: Option<&'a [u8]>,
}

/// The sender: `<>` (bounces) or an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReversePath<'a> {
    Null,
    Mailbox(Mailbox<'a>),
}

/// A local part split at the detail delimiter: `user+detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalParts<'a> {
    pub user: Cow<'a, [u8]>,
    pub detail: Option<Cow<'a, [u8]>>,
}

impl<'a> Mailbox<'a> {
    /// The local part as written, quotes and backslashes included.
    pub fn local_raw(&self) -> &'a [u8] {
        self.local
    }

    pub fn is_quoted(&self) -> bool {
        self.quoted
    }

    /// The domain or address literal (`[192.0.2.1]`), if any.
    pub fn domain(&self) -> Option<&'a [u8]> {
        self.domain
    }

    /// Whether the address needs SMTPUTF8.
    pub fn is_ascii(&self) -> bool {
        self.local.is_ascii() && self.domain.is_none_or(|d| d.is_ascii())
    }

    /// The local part with quoting undone: `"a b"` is `a b`, `"a\"b"` is
    /// `a"b`. Borrowed unless a backslash had to be removed.
    pub fn local_part(&self) -> Cow<'a, [u8]> {
        if !self.quoted {
            return Cow::Borrowed(self.local);
        }
        let inner = self
            .local
            .get(1..self.local.len().saturating_sub(1))
            .unwrap_or_default();
        if !inner.contains(&b'\\') {
            return Cow::Borrowed(inner);
        }
        let mut out = Vec::with_capacity(inner.len());
        let mut escaped = false;
        for &b in inner {
            if b == b'\\' && !escaped {
                escaped = true;
            } else {
                out.push(b);
                escaped = false;
            }
        }
        Cow::Owned(out)
    }

    /// Splits the (unquoted) local part at the first byte that is one of
    /// `delimiters` (Dovecot's and Postfix's `recipient_delimiter`, usually
    /// `+`). With no delimiter present, or none given, there is no detail.
    pub fn split_detail(&self, delimiters: &[u8]) -> LocalParts<'a> {
        let local = self.local_part();
        let Some(at) = local.iter().position(|b| delimiters.contains(b)) else {
            return LocalParts {
                user: local,
                detail: None,
            };
        };
        match local {
            Cow::Borrowed(s) => LocalParts {
                user: Cow::Borrowed(s.get(..at).unwrap_or_default()),
                detail: Some(Cow::Borrowed(s.get(at + 1..).unwrap_or_default())),
            },
            Cow::Owned(v) => LocalParts {
                user: Cow::Owned(v.get(..at).unwrap_or_default().to_vec()),
                detail: Some(Cow::Owned(v.get(at + 1..).unwrap_or_default().to_vec())),
            },
        }
    }
}

/// Byte classes as 256-entry tables: paths are scanned byte by byte, and a
/// table lookup beats a chain of comparisons there.
const fn table(ranges: &[(u8, u8)], extra: &[u8], utf8: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut r = 0;
    while r < ranges.len() {
        let (lo, hi) = ranges[r];
        let mut b = lo as usize;
        while b <= hi as usize {
            t[b] = true;
            b += 1;
        }
        r += 1;
    }
    let mut e = 0;
    while e < extra.len() {
        t[extra[e] as usize] = true;
        e += 1;
    }
    if utf8 {
        let mut b = 0x80;
        while b < 256 {
            t[b] = true;
            b += 1;
        }
    }
    t
}

const ALNUM: &[(u8, u8)] = &[(b'a', b'z'), (b'A', b'Z'), (b'0', b'9')];
/// RFC 5322 atext, plus UTF-8 bytes (RFC 6531).
static ATEXT: [bool; 256] = table(ALNUM, b"!#$%&'*+-/=?^_`{|}~", true);
/// RFC 5321 qtextSMTP, plus UTF-8 bytes.
static QTEXT: [bool; 256] = table(&[(32, 33), (35, 91), (93, 126)], b"", true);
/// Domain label bytes, `_` accepted leniently, plus UTF-8 (U-labels).
static LABEL: [bool; 256] = table(ALNUM, b"-_", true);

fn is_atext(b: u8) -> bool {
    ATEXT[usize::from(b)]
}

fn is_qtext(b: u8) -> bool {
    QTEXT[usize::from(b)]
}

fn is_label_byte(b: u8) -> bool {
    LABEL[usize::from(b)]
}

/// Dot-separated non-empty labels of letters, digits, `-`, `_` or UTF-8.
pub(crate) fn is_domain(s: &[u8]) -> bool {
    !s.is_empty()
        && s.split(|&b| b == b'.')
            .all(|label| !label.is_empty() && label.iter().all(|&b| is_label_byte(b)))
}

/// `[...]`: an address literal, contents printable ASCII without brackets
/// or backslash (RFC 5321 §4.1.3 general form, checked no further).
pub(crate) fn is_address_literal(s: &[u8]) -> bool {
    s.len() > 2
        && s.first() == Some(&b'[')
        && s.last() == Some(&b']')
        && s.get(1..s.len() - 1).is_some_and(|inner| {
            inner
                .iter()
                .all(|&b| (33..=126).contains(&b) && !b"[]\\".contains(&b))
        })
}

fn domain_end(s: &[u8], from: usize) -> usize {
    let rest = s.get(from..).unwrap_or_default();
    from + rest
        .iter()
        .take_while(|&&b| is_label_byte(b) || b == b'.')
        .count()
}

/// Parses a path at the start of `s` (which must start with `<`). Returns
/// `None` for `<>`, and how many bytes the path took; `Err` on bad syntax.
pub(crate) fn parse_path(s: &[u8]) -> Result<(Option<Mailbox<'_>>, usize), ()> {
    let at = |i: usize| s.get(i).copied().ok_or(());
    if at(0)? != b'<' {
        return Err(());
    }
    let mut i = 1;
    if at(i)? == b'>' {
        return Ok((None, 2));
    }
    if at(i)? == b'@' {
        loop {
            i += 1;
            let end = domain_end(s, i);
            if !is_domain(s.get(i..end).unwrap_or_default()) {
                return Err(());
            }
            i = end;
            match at(i)? {
                b',' if at(i + 1)? == b'@' => i += 1,
                b':' => {
                    i += 1;
                    break;
                }
                _ => return Err(()),
            }
        }
    }
    let start = i;
    let quoted = at(i)? == b'"';
    if quoted {
        i += 1;
        loop {
            match at(i)? {
                b'"' => {
                    i += 1;
                    break;
                }
                b'\\' => {
                    let next = at(i + 1)?;
                    if !(32..=126).contains(&next) {
                        return Err(());
                    }
                    i += 2;
                }
                b if is_qtext(b) => i += 1,
                _ => return Err(()),
            }
        }
    } else {
        while s.get(i).is_some_and(|&b| is_atext(b) || b == b'.') {
            i += 1;
        }
        if i == start {
            return Err(());
        }
    }
    let local = s.get(start..i).unwrap_or_default();
    let domain = if at(i)? == b'@' {
        i += 1;
        let ds = i;
        if at(i)? == b'[' {
            let close = s
                .get(i..)
                .unwrap_or_default()
                .iter()
                .position(|&b| b == b']');
            i += close.ok_or(())? + 1;
            if !is_address_literal(s.get(ds..i).unwrap_or_default()) {
                return Err(());
            }
        } else {
            i = domain_end(s, i);
            if !is_domain(s.get(ds..i).unwrap_or_default()) {
                return Err(());
            }
        }
        s.get(ds..i)
    } else {
        None
    };
    if at(i)? != b'>' {
        return Err(());
    }
    i += 1;
    let path = s.get(..i).unwrap_or_default();
    if !path.is_ascii() && std::str::from_utf8(path).is_err() {
        return Err(());
    }
    Ok((
        Some(Mailbox {
            local,
            quoted,
            domain,
        }),
        i,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mb(s: &[u8]) -> Mailbox<'_> {
        match parse_path(s) {
            Ok((Some(m), n)) => {
                assert_eq!(n, s.len());
                m
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(s)),
        }
    }

    #[test]
    fn plain_addresses() {
        let m = mb(b"<user@example.com>");
        assert_eq!(m.local_raw(), b"user");
        assert_eq!(m.domain(), Some(&b"example.com"[..]));
        assert!(!m.is_quoted());
        let m = mb(b"<Postmaster>");
        assert_eq!(m.local_raw(), b"Postmaster");
        assert_eq!(m.domain(), None);
        assert_eq!(parse_path(b"<> SIZE=1"), Ok((None, 2)));
    }

    #[test]
    fn quoted_local_parts() {
        let m = mb(b"<\"john doe\"@example.com>");
        assert!(m.is_quoted());
        assert_eq!(m.local_raw(), b"\"john doe\"");
        assert_eq!(m.local_part(), Cow::Borrowed(&b"john doe"[..]));
        let m = mb(b"<\"a\\\"b\\\\c@d\"@x>");
        assert_eq!(m.local_part().as_ref(), b"a\"b\\c@d");
        assert!(matches!(m.local_part(), Cow::Owned(_)));
        // A quoted ">" does not end the path.
        assert_eq!(mb(b"<\"a>b\"@x>").local_part().as_ref(), b"a>b");
    }

    #[test]
    fn source_routes_and_literals() {
        let m = mb(b"<@relay1.example,@relay2.example:joe@example.org>");
        assert_eq!(m.local_raw(), b"joe");
        assert_eq!(m.domain(), Some(&b"example.org"[..]));
        let m = mb(b"<joe@[192.0.2.1]>");
        assert_eq!(m.domain(), Some(&b"[192.0.2.1]"[..]));
        let m = mb(b"<joe@[IPv6:2001:db8::1]>");
        assert_eq!(m.domain(), Some(&b"[IPv6:2001:db8::1]"[..]));
    }

    #[test]
    fn lenient_dots_and_utf8() {
        assert_eq!(
            mb(b"<first..last.@docomo.ne.jp>").local_raw(),
            b"first..last."
        );
        let m = mb("<jörg@bücher.example>".as_bytes());
        assert!(!m.is_ascii());
        assert!(mb(b"<a@b>").is_ascii());
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            &b"user@example.com"[..],
            b"<user@example.com",
            b"<>x",
            b"<@>",
            b"<user@>",
            b"<user@exa mple.com>",
            b"<user@example..com>",
            b"<user@.example.com>",
            b"<us er@example.com>",
            b"<\"unterminated@example.com>",
            b"<a@[]>",
            b"<a@[1.2.3.4>",
            b"<@relay:>",
            b"<@relay,joe@x>",
            b"<\xff@example.com>",
            b"<a\"b@c>",
            b"<",
            b"",
        ] {
            let r = parse_path(bad);
            // "<>x" parses as the null path followed by junk the caller refuses.
            if bad == b"<>x" {
                assert_eq!(r, Ok((None, 2)));
            } else {
                assert_eq!(r, Err(()), "{:?}", String::from_utf8_lossy(bad));
            }
        }
    }

    #[test]
    fn byte_classes() {
        for b in 0..=255u8 {
            let atext =
                b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80;
            assert_eq!(is_atext(b), atext, "{b}");
            let qtext = matches!(b, 32 | 33 | 35..=91 | 93..=126) || b >= 0x80;
            assert_eq!(is_qtext(b), qtext, "{b}");
            let label = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b >= 0x80;
            assert_eq!(is_label_byte(b), label, "{b}");
        }
    }

    #[test]
    fn detail_split() {
        let m = mb(b"<user+box@example.com>");
        assert_eq!(
            m.split_detail(b"+"),
            LocalParts {
                user: Cow::Borrowed(&b"user"[..]),
                detail: Some(Cow::Borrowed(&b"box"[..]))
            }
        );
        let m = mb(b"<user-a+b@x>");
        let p = m.split_detail(b"+-");
        assert_eq!(p.user.as_ref(), b"user");
        assert_eq!(p.detail.as_deref(), Some(&b"a+b"[..]));
        let p = mb(b"<user@x>").split_detail(b"+");
        assert_eq!(p.user.as_ref(), b"user");
        assert_eq!(p.detail, None);
        assert_eq!(mb(b"<u+d@x>").split_detail(b"").detail, None);
        let p = mb(b"<\"u\\+x+d\"@x>").split_detail(b"+");
        assert_eq!(p.user.as_ref(), b"u");
        assert_eq!(p.detail.as_deref(), Some(&b"x+d"[..]));
        let p = mb(b"<user+@x>").split_detail(b"+");
        assert_eq!(p.detail.as_deref(), Some(&b""[..]));
    }
}
