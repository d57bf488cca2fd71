//! Raw header access on top of mail-parser's header offsets.
//!
//! mail-parser decodes header values (RFC 2047, RFC 2231, charsets), but IMAP
//! ENVELOPE and BODYSTRUCTURE return header text as it was written. Each
//! `mail_parser::Header` records where its value starts and ends in the raw
//! message, so the raw text is a slice away; these helpers take that slice,
//! unfold it and cut it into the small lexical pieces (tokens, quoted strings,
//! comments) the structured fields need.

use mail_parser::Header;

/// The first header whose name, as written in `raw`, is `name` (ASCII
/// case-insensitive, whitespace inside the name ignored as mail-parser does).
///
/// The name is read from the raw bytes rather than from mail-parser's
/// `HeaderName` because `compute` may hand mail-parser a copy of the message
/// with a header renamed (see `compute::neutralize`); offsets are the same in
/// both, names are not.
pub(crate) fn find<'h, 'x>(
    raw: &[u8],
    headers: &'h [Header<'x>],
    name: &str,
) -> Option<&'h Header<'x>> {
    headers.iter().find(|h| is_named(raw, h, name))
}

/// Whether `header`, as written in `raw`, is named `name`.
fn is_named(raw: &[u8], header: &Header<'_>, name: &str) -> bool {
    let start = header.offset_field as usize;
    let end = (header.offset_start as usize).saturating_sub(1);
    raw.get(start..end)
        .is_some_and(|written| name_matches(written, name.as_bytes()))
}

fn name_matches(written: &[u8], name: &[u8]) -> bool {
    let mut want = name.iter();
    for &b in written.iter().filter(|b| !is_wsp(**b)) {
        match want.next() {
            Some(w) if w.eq_ignore_ascii_case(&b) => {}
            _ => return false,
        }
    }
    want.next().is_none()
}

/// The header's value as written, folding and trailing CRLF included.
pub(crate) fn raw_value<'a>(raw: &'a [u8], header: &Header<'_>) -> &'a [u8] {
    let start = header.offset_start as usize;
    let end = (header.offset_end as usize).min(raw.len());
    raw.get(start.min(end)..end).unwrap_or_default()
}

/// RFC 5322 unfolding (every CR and LF inside a field value is folding or the
/// field's end) plus trimming of surrounding whitespace.
pub(crate) fn unfold(value: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = value
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    let end = out.iter().rposition(|b| !is_wsp(*b)).map_or(0, |p| p + 1);
    out.truncate(end);
    let start = out.iter().position(|b| !is_wsp(*b)).unwrap_or(out.len());
    out.drain(..start);
    out
}

/// Unfolding as Dovecot's ENVELOPE shows it: a line break and the
/// whitespace after it become one space, a tab becomes a space; then
/// trimmed.
pub(crate) fn unfold_collapsed(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if b == b'\r' || b == b'\n' {
            while bytes.next_if(|&n| is_wsp(n)).is_some() {}
            out.push(b' ');
        } else if b == b'\t' {
            out.push(b' ');
        } else {
            out.push(b);
        }
    }
    let end = out.iter().rposition(|b| !is_wsp(*b)).map_or(0, |p| p + 1);
    out.truncate(end);
    let start = out.iter().position(|b| !is_wsp(*b)).unwrap_or(out.len());
    out.drain(..start);
    out
}

/// Every `name` header, in order.
pub(crate) fn all<'h, 'x>(
    raw: &'h [u8],
    headers: &'h [Header<'x>],
    name: &'h str,
) -> impl Iterator<Item = &'h Header<'x>> {
    headers.iter().filter(move |h| is_named(raw, h, name))
}

/// The unfolded, trimmed value of the first `name` header, if present.
pub(crate) fn value_of(raw: &[u8], headers: &[Header<'_>], name: &str) -> Option<Vec<u8>> {
    find(raw, headers, name).map(|h| unfold(raw_value(raw, h)))
}

/// The unfolded, trimmed value of the last `name` header, if present.
pub(crate) fn last_value_of(raw: &[u8], headers: &[Header<'_>], name: &str) -> Option<Vec<u8>> {
    headers
        .iter()
        .rev()
        .find(|h| is_named(raw, h, name))
        .map(|h| unfold(raw_value(raw, h)))
}

/// Like [`value_of`], but an empty value counts as absent (IMAP NIL).
pub(crate) fn nonempty_value_of(raw: &[u8], headers: &[Header<'_>], name: &str) -> Option<Vec<u8>> {
    value_of(raw, headers, name).filter(|v| !v.is_empty())
}

pub(crate) fn is_wsp(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Comments may nest; a hostile header could nest them without end, so past
/// this depth the rest of the comment is skipped flat.
const MAX_COMMENT_DEPTH: usize = 64;

/// A cursor over an unfolded structured header value.
pub(crate) struct Lexer<'a> {
    pub(crate) s: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(s: &'a [u8]) -> Self {
        Lexer { s, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    pub(crate) fn bump(&mut self) {
        self.pos = (self.pos + 1).min(self.s.len());
    }

    /// Skips whitespace and comments; returns the text of the last comment
    /// seen (used as a display name fallback for `addr (Name)`).
    pub(crate) fn skip_cfws(&mut self) -> Option<Vec<u8>> {
        let mut last_comment = None;
        loop {
            match self.peek() {
                Some(b) if is_wsp(b) => self.bump(),
                Some(b'(') => last_comment = Some(self.comment()),
                _ => return last_comment,
            }
        }
    }

    /// Reads a comment starting at '(' and returns its text without the outer
    /// parentheses.
    fn comment(&mut self) -> Vec<u8> {
        let mut depth = 0usize;
        let mut text = Vec::new();
        while let Some(b) = self.peek() {
            self.bump();
            match b {
                b'\\' => {
                    if let Some(n) = self.peek() {
                        text.push(n);
                        self.bump();
                    }
                }
                b'(' => {
                    if depth > 0 {
                        text.push(b);
                    }
                    depth = (depth + 1).min(MAX_COMMENT_DEPTH);
                }
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                    text.push(b);
                }
                _ => text.push(b),
            }
        }
        text
    }

    /// Reads a quoted string starting at '"', unescaping backslash pairs.
    /// An unterminated string runs to the end of the value.
    pub(crate) fn quoted(&mut self) -> Vec<u8> {
        self.bump();
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.bump();
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.bump();
                    }
                }
                _ => out.push(b),
            }
        }
        out
    }

    /// Reads bytes while `keep` holds.
    pub(crate) fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if !keep(b) {
                break;
            }
            self.bump();
        }
        self.s.get(start..self.pos).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_compare_like_mail_parser() {
        assert!(name_matches(b"Content-Type", b"content-type"));
        assert!(name_matches(b" Sub ject ", b"Subject"));
        assert!(!name_matches(b"Subjects", b"Subject"));
        assert!(!name_matches(b"Subjec", b"Subject"));
        assert!(!name_matches(b"", b"Subject"));
    }

    #[test]
    fn collapsed_unfolding_turns_each_fold_into_one_space() {
        assert_eq!(
            unfold_collapsed(b" fold\r\n\tagain\r\n   and again\r\n"),
            b"fold again and again".to_vec()
        );
        assert_eq!(unfold_collapsed(b"a\r\n"), b"a".to_vec());
    }

    #[test]
    fn unfold_removes_line_breaks_and_trims() {
        assert_eq!(unfold(b" hello\r\n  world \r\n"), b"hello  world".to_vec());
        assert_eq!(unfold(b"\r\n"), Vec::<u8>::new());
        assert_eq!(unfold(b"a\n\tb\n"), b"a\tb".to_vec());
    }

    #[test]
    fn lexer_reads_comments_and_quoted_strings() {
        let mut l = Lexer::new(br#" (a (nested) \) c) "q\"x" rest"#);
        assert_eq!(l.skip_cfws(), Some(b"a (nested) ) c".to_vec()));
        assert_eq!(l.quoted(), b"q\"x".to_vec());
        l.skip_cfws();
        assert_eq!(l.take_while(|b| b != b' '), b"rest");
        assert!(l.at_end());
    }

    #[test]
    fn unterminated_comment_and_quote_end_at_value_end() {
        let mut l = Lexer::new(b"((((((x");
        l.skip_cfws();
        assert!(l.at_end());
        let mut l = Lexer::new(b"\"abc");
        assert_eq!(l.quoted(), b"abc".to_vec());
        assert!(l.at_end());
    }
}
