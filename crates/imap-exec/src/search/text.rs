//! Text matching for SEARCH: header fields unfolded and RFC 2047-decoded,
//! body parts with their transfer encoding undone and their charset turned
//! into UTF-8, and the IMAP rule of a case-insensitive substring match.
//!
//! Case-insensitivity is Unicode simple lowercasing of both sides
//! (`str::to_lowercase`), not full case folding: "Straße" does not match
//! "STRASSE". Whitespace is compared as written (header values unfolded;
//! whitespace between adjacent encoded-words dropped, as RFC 2047 says).

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::parsers::MessageStream;
use mime_facts::{Address, Facts, Part, PartKind, decode_binary};

/// A search string, lowercased once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Needle(String);

impl Needle {
    pub(crate) fn new(raw: &[u8]) -> Needle {
        Needle(String::from_utf8_lossy(raw).to_lowercase())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the needle occurs in `hay`, which is already lowercased.
    pub(crate) fn in_lowered(&self, hay: &str) -> bool {
        memchr::memmem::find(hay.as_bytes(), self.0.as_bytes()).is_some()
    }

    /// Whether the needle occurs in `text` ignoring case.
    pub(crate) fn in_text(&self, text: &str) -> bool {
        if self.0.is_empty() {
            return true;
        }
        // Most header values and needles are ASCII: search without
        // allocating a lowered copy when both are.
        if text.is_ascii() && self.0.is_ascii() {
            let n = self.0.as_bytes();
            return text
                .as_bytes()
                .windows(n.len())
                .any(|w| w.eq_ignore_ascii_case(n));
        }
        self.in_lowered(&text.to_lowercase())
    }
}

/// One header field: name as written and raw value (folds still in).
pub(crate) struct Field<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
}

/// Iterates the fields of a header block (up to the blank line). Lines that
/// are neither a field nor a continuation (no colon) are skipped, as a
/// parser that must not fail on bad mail does.
pub(crate) fn fields(header: &[u8]) -> impl Iterator<Item = Field<'_>> {
    let mut rest = header;
    std::iter::from_fn(move || {
        loop {
            if rest.is_empty() || rest.starts_with(b"\r\n") || rest.starts_with(b"\n") {
                return None;
            }
            // The field runs until a line end not followed by WSP.
            let mut end = 0;
            let mut next = rest.len();
            let mut from = 0;
            while let Some(i) = memchr::memchr(b'\n', rest.get(from..).unwrap_or(&[])) {
                let nl = from + i;
                match rest.get(nl + 1) {
                    Some(b' ' | b'\t') => from = nl + 1,
                    _ => {
                        end = nl + 1;
                        next = nl + 1;
                        break;
                    }
                }
            }
            if end == 0 {
                end = rest.len();
            }
            let line = rest.get(..end).unwrap_or(&[]);
            rest = rest.get(next..).unwrap_or(&[]);
            if let Some(colon) = memchr::memchr(b':', line) {
                let name = line.get(..colon).unwrap_or(&[]).trim_ascii_end();
                if !name.is_empty() && !name.contains(&b' ') {
                    return Some(Field {
                        name,
                        value: line.get(colon + 1..).unwrap_or(&[]),
                    });
                }
            }
        }
    })
}

/// A header value unfolded, RFC 2047 encoded-words decoded (charsets through
/// mail-parser's decoders), as UTF-8 (invalid bytes replaced).
pub(crate) fn decode_value(raw: &[u8]) -> String {
    let mut line = Vec::with_capacity(raw.len() + 1);
    for &b in raw {
        if b != b'\r' && b != b'\n' {
            line.push(b);
        }
    }
    line.push(b'\n');
    match MessageStream::new(&line).parse_unstructured() {
        mail_parser::HeaderValue::Text(t) => t.into_owned(),
        _ => String::new(),
    }
}

/// All fields of a header block as one lowercased text (`name: value` lines,
/// values decoded), for TEXT.
pub(crate) fn header_text(header: &[u8]) -> String {
    let mut out = String::with_capacity(header.len());
    for f in fields(header) {
        out.push_str(&String::from_utf8_lossy(f.name));
        out.push_str(": ");
        out.push_str(&decode_value(f.value));
        out.push('\n');
    }
    out.to_lowercase()
}

/// Whether some field called `name` contains the needle (an empty needle
/// matches any message that has the field, RFC 9051 §6.4.4).
pub(crate) fn header_matches(header: &[u8], name: &[u8], needle: &Needle) -> bool {
    fields(header)
        .filter(|f| f.name.eq_ignore_ascii_case(name))
        .any(|f| needle.is_empty() || needle.in_text(&decode_value(f.value)))
}

/// Whether one address of the list contains the needle. Each address is
/// written and compared on its own, as Dovecot does: `"Name" <l@d>` (the
/// name decoded, quoted when it was more than one atom), `<l@d>` without a
/// name, and a group as `name:` (an empty group as `name:;`). An empty
/// needle matches any non-empty list.
pub(crate) fn address_matches(list: &[Address], needle: &Needle) -> bool {
    if list.is_empty() {
        return false;
    }
    if needle.is_empty() {
        return true;
    }
    let lossy = |v: &Option<Vec<u8>>| {
        v.as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let mut items = list.iter().peekable();
    while let Some(a) = items.next() {
        let text = match (&a.mailbox, &a.host) {
            (None, None) => continue,
            (Some(_), None) => {
                let mut t = lossy(&a.mailbox);
                t.push(':');
                if items
                    .peek()
                    .is_some_and(|n| n.mailbox.is_none() && n.host.is_none())
                {
                    t.push(';');
                }
                t
            }
            _ => {
                let addr = format!("<{}@{}>", lossy(&a.mailbox), lossy(&a.host));
                match a.name.as_deref() {
                    Some(name) if !name.is_empty() => {
                        let decoded = decode_value(name);
                        if name.iter().all(|&b| is_atext(b)) {
                            format!("{decoded} {addr}")
                        } else {
                            format!("\"{decoded}\" {addr}")
                        }
                    }
                    _ => addr,
                }
            }
        };
        if needle.in_text(&text) {
            return true;
        }
    }
    false
}

/// RFC 5322 atext (encoded-words are made of it, so they stay unquoted).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

/// The charset parameter of a part, if any.
fn charset(part: &Part) -> Option<&[u8]> {
    part.params
        .iter()
        .find(|p| p.attr.eq_ignore_ascii_case(b"charset"))
        .map(|p| p.value.as_slice())
}

/// Bytes in a declared charset as UTF-8. Bytes that are valid UTF-8 under
/// an ASCII or missing label are taken as UTF-8 (common in the wild);
/// unknown charsets fall back to UTF-8 with replacement characters.
pub(crate) fn to_utf8(bytes: &[u8], cs: Option<&[u8]>) -> String {
    let cs = cs.map(<[u8]>::trim_ascii).unwrap_or(b"us-ascii");
    let utf8ish = cs.eq_ignore_ascii_case(b"utf-8")
        || cs.eq_ignore_ascii_case(b"utf8")
        || cs.eq_ignore_ascii_case(b"us-ascii")
        || cs.eq_ignore_ascii_case(b"ascii");
    if utf8ish && let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    if !cs.eq_ignore_ascii_case(b"utf-8")
        && let Some(dec) = charset_decoder(cs)
    {
        return dec(bytes);
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// The headers of every MIME part and nested message (not the top-level
/// header), decoded and lowercased: TEXT searches them, BODY does not.
pub(crate) fn part_headers_text(raw: &[u8], facts: &Facts) -> String {
    let mut out = String::new();
    let mut seen: Vec<(u32, u32)> = Vec::new();
    for part in facts.parts.iter().skip(1) {
        let range = (part.header_start, part.body_start);
        if range.0 == range.1 || seen.contains(&range) {
            continue;
        }
        seen.push(range);
        if let Some(h) = raw.get(range.0 as usize..range.1 as usize) {
            out.push_str(&header_text(h));
        }
    }
    out
}

/// The text of every text/* leaf of the message (nested messages' bodies
/// included, their headers not), decoded and lowercased, parts separated by
/// a newline so a match cannot span two parts.
pub(crate) fn body_text(raw: &[u8], facts: &Facts) -> String {
    let mut out = String::new();
    for part in &facts.parts {
        if !matches!(part.kind, PartKind::Leaf) || !part.media_type.eq_ignore_ascii_case(b"text") {
            continue;
        }
        let Some(body) = raw.get(part.body_start as usize..part.body_end as usize) else {
            continue;
        };
        // A body whose encoding does not decode is searched as stored.
        let decoded = decode_binary(body, part.transfer_encoding);
        let bytes = decoded.as_deref().unwrap_or(body);
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&to_utf8(bytes, charset(part)).to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_unfold_and_skip_garbage() {
        let h = b"Subject: a\r\n b\r\nnot a field\r\nX-A:1\r\n\r\nbody: no\r\n";
        let got: Vec<(Vec<u8>, Vec<u8>)> = fields(h)
            .map(|f| (f.name.to_vec(), f.value.to_vec()))
            .collect();
        assert_eq!(
            got,
            vec![
                (b"Subject".to_vec(), b" a\r\n b\r\n".to_vec()),
                (b"X-A".to_vec(), b"1\r\n".to_vec()),
            ]
        );
    }

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(
            decode_value(b" =?ISO-8859-1?Q?Caf=E9?= =?utf-8?B?w7xiZXI=?= x\r\n"),
            "Caféüber x"
        );
        // Unfolding removes only the line break (RFC 5322 2.2.3).
        assert_eq!(decode_value(b" plain\r\n  text"), "plain  text");
    }

    #[test]
    fn needle_is_case_insensitive_beyond_ascii() {
        let n = Needle::new("ÜBER".as_bytes());
        assert!(n.in_text("Nachricht über alles"));
        assert!(!n.in_text("uber"));
        let a = Needle::new(b"HeLLo");
        assert!(a.in_text("say hello"));
        assert!(!a.in_text("say hell o"));
        assert!(Needle::new(b"").in_text(""));
    }

    #[test]
    fn latin1_body_becomes_utf8() {
        assert_eq!(to_utf8(b"caf\xe9", Some(b"ISO-8859-1")), "café");
        assert_eq!(to_utf8("café".as_bytes(), None), "café");
        assert_eq!(to_utf8(b"a\xffb", Some(b"x-unknown")), "a\u{fffd}b");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Header and body decoding take any bytes without panicking (mail-parser
        /// has debug assertions; tests run in debug).
        #[test]
        fn any_bytes_decode_without_panic(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            soup in proptest::collection::vec(
                proptest::sample::select(vec![
                    "=?", "?=", "?Q?", "?B?", "utf-8", "iso-8859-1", "x", "=E9", "\r\n ", ":", "\n",
                    "_", "=", "?", "Subject", "\u{ff}",
                ]),
                0..40,
            ),
        ) {
            let soup: String = soup.concat();
            for bytes in [raw.as_slice(), soup.as_bytes()] {
                let _ = decode_value(bytes);
                let _ = header_text(bytes);
                let _ = header_matches(bytes, b"subject", &Needle::new(b"x"));
                let _ = to_utf8(bytes, Some(b"iso-2022-jp"));
                let _ = to_utf8(bytes, Some(b"utf-16"));
                let _ = super::super::date::header_day(bytes);
            }
        }
    }
}
