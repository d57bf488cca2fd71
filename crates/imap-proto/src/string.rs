//! Borrowed IMAP strings: atoms, quoted strings (escapes kept until asked
//! for) and literals, plus mailbox names.

use std::borrow::Cow;

use crate::mutf7;

/// An `astring`/`string` argument as it appeared on the wire. Quoted
/// strings keep their backslash escapes so parsing never allocates;
/// [`AString::to_bytes`] undoes them (borrowing when there are none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AString<'a> {
    Atom(&'a [u8]),
    /// The bytes between the quotes, escapes not yet removed.
    Quoted(&'a [u8]),
    Literal(&'a [u8]),
}

impl<'a> AString<'a> {
    /// The value with quoting undone.
    pub fn to_bytes(&self) -> Cow<'a, [u8]> {
        match *self {
            AString::Atom(b) | AString::Literal(b) => Cow::Borrowed(b),
            AString::Quoted(b) => {
                if memchr::memchr(b'\\', b).is_none() {
                    Cow::Borrowed(b)
                } else {
                    Cow::Owned(unescape(b))
                }
            }
        }
    }

    /// The bytes as they were on the wire (escapes included for quoted).
    pub fn raw(&self) -> &'a [u8] {
        match *self {
            AString::Atom(b) | AString::Quoted(b) | AString::Literal(b) => b,
        }
    }

    /// Compare the unescaped value with `other`, ignoring ASCII case,
    /// without allocating.
    pub fn eq_ignore_ascii_case(&self, other: &[u8]) -> bool {
        match *self {
            AString::Atom(b) | AString::Literal(b) => b.eq_ignore_ascii_case(other),
            AString::Quoted(b) => {
                let mut it = Unescaped { raw: b };
                let mut o = other.iter();
                loop {
                    match (it.next(), o.next()) {
                        (None, None) => return true,
                        (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => {}
                        _ => return false,
                    }
                }
            }
        }
    }

    /// Unescaped length in bytes.
    pub fn len(&self) -> usize {
        match *self {
            AString::Atom(b) | AString::Literal(b) => b.len(),
            AString::Quoted(b) => Unescaped { raw: b }.count(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn unescape(b: &[u8]) -> Vec<u8> {
    Unescaped { raw: b }.collect()
}

/// Iterator over the bytes of a quoted string with escapes removed.
struct Unescaped<'a> {
    raw: &'a [u8],
}

impl Iterator for Unescaped<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        let (&b, rest) = self.raw.split_first()?;
        if b == b'\\' {
            let (&e, rest) = rest.split_first()?;
            self.raw = rest;
            Some(e)
        } else {
            self.raw = rest;
            Some(b)
        }
    }
}

/// A mailbox name argument. `INBOX` is case-insensitive (RFC 9051 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mailbox<'a>(pub AString<'a>);

impl<'a> Mailbox<'a> {
    pub fn is_inbox(&self) -> bool {
        self.0.eq_ignore_ascii_case(b"INBOX")
    }

    /// The name as sent, quoting undone (still modified UTF-7 unless the
    /// client enabled UTF8=ACCEPT).
    pub fn raw_name(&self) -> Cow<'a, [u8]> {
        self.0.to_bytes()
    }

    /// The name as Unicode: modified UTF-7 decoded (strict: non-canonical
    /// encodings are refused) or, with `utf8` (UTF8=ACCEPT enabled),
    /// validated UTF-8. `INBOX` in any case comes back as "INBOX".
    pub fn decode(&self, utf8: bool) -> Result<Cow<'a, str>, mutf7::Mutf7Error> {
        if self.is_inbox() {
            return Ok(Cow::Borrowed("INBOX"));
        }
        let raw = self.0.to_bytes();
        if utf8 {
            match raw {
                Cow::Borrowed(b) => std::str::from_utf8(b)
                    .map(Cow::Borrowed)
                    .map_err(|_| mutf7::Mutf7Error::InvalidUtf8),
                Cow::Owned(v) => String::from_utf8(v)
                    .map(Cow::Owned)
                    .map_err(|_| mutf7::Mutf7Error::InvalidUtf8),
            }
        } else {
            match raw {
                Cow::Borrowed(b) => mutf7::decode(b),
                Cow::Owned(v) => mutf7::decode(&v).map(|c| Cow::Owned(c.into_owned())),
            }
        }
    }
}
