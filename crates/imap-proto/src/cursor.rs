//! Byte cursor over one complete, framed command and the grammar's leaf
//! productions (atoms, numbers, strings, literals). Framing (see
//! `reader`) guarantees every literal's bytes are present, so nothing here
//! needs to suspend: it either parses or reports an [`ErrorKind`].

use crate::error::ErrorKind;
use crate::string::AString;

pub(crate) type PResult<T> = Result<T, ErrorKind>;

const fn class_table(extra_allowed: &[u8], extra_denied: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0x21;
    while i < 0x7f {
        t[i] = true;
        i += 1;
    }
    // atom-specials: ( ) { SP CTL % * " \ ]
    let specials = b"(){%*\"\\]";
    let mut j = 0;
    while j < specials.len() {
        t[specials[j] as usize] = false;
        j += 1;
    }
    let mut k = 0;
    while k < extra_allowed.len() {
        t[extra_allowed[k] as usize] = true;
        k += 1;
    }
    let mut l = 0;
    while l < extra_denied.len() {
        t[extra_denied[l] as usize] = false;
        l += 1;
    }
    t
}

/// ATOM-CHAR.
pub(crate) static ATOM: [bool; 256] = class_table(b"", b"");
/// ASTRING-CHAR = ATOM-CHAR / "]".
pub(crate) static ASTRING: [bool; 256] = class_table(b"]", b"");
/// Tag characters: ASTRING-CHAR except "+".
pub(crate) static TAG: [bool; 256] = class_table(b"]", b"+");
/// list-char = ATOM-CHAR / list-wildcards / resp-specials.
pub(crate) static LIST: [bool; 256] = class_table(b"]%*", b"");
/// Characters of a fetch attribute or search key name up to its argument
/// (atom chars without "[", "<" so `BODY[` and `BODY.PEEK[` split there).
pub(crate) static NAME: [bool; 256] = class_table(b"", b"[<");

#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    #[inline]
    pub fn peek_at(&self, n: usize) -> Option<u8> {
        self.buf.get(self.pos + n).copied()
    }

    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    #[inline]
    pub fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    #[inline]
    pub fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    pub fn expect(&mut self, b: u8, kind: ErrorKind) -> PResult<()> {
        if self.eat(b) { Ok(()) } else { Err(kind) }
    }

    #[inline]
    pub fn sp(&mut self) -> PResult<()> {
        if self.eat(b' ') {
            Ok(())
        } else if self.at_eol() {
            Err(ErrorKind::MissingArguments)
        } else {
            Err(ErrorKind::ExpectedSpace)
        }
    }

    /// True at CRLF / LF (the framed command's end) or the buffer end.
    #[inline]
    pub fn at_eol(&self) -> bool {
        matches!(self.peek(), None | Some(b'\r') | Some(b'\n'))
    }

    /// Consume the final line end; the command must end there.
    pub fn eol(&mut self) -> PResult<()> {
        self.eat(b'\r');
        if self.eat(b'\n') && self.at_end() {
            Ok(())
        } else {
            Err(ErrorKind::ExpectedEol)
        }
    }

    /// Eat `word` case-insensitively if it is followed by a non-name char.
    pub fn eat_word(&mut self, word: &[u8]) -> bool {
        let end = self.pos + word.len();
        match self.buf.get(self.pos..end) {
            Some(s) if s.eq_ignore_ascii_case(word) => {
                let next = self.buf.get(end).copied().unwrap_or(b' ');
                if ATOM[next as usize] && next != b'[' && next != b'<' && next != b'.' {
                    return false;
                }
                self.pos = end;
                true
            }
            _ => false,
        }
    }

    /// Eat exactly these bytes, case-insensitively, no boundary check.
    pub fn eat_ci(&mut self, word: &[u8]) -> bool {
        let end = self.pos + word.len();
        match self.buf.get(self.pos..end) {
            Some(s) if s.eq_ignore_ascii_case(word) => {
                self.pos = end;
                true
            }
            _ => false,
        }
    }

    #[inline]
    pub fn take_class(&mut self, class: &[bool; 256]) -> &'a [u8] {
        let start = self.pos;
        while let Some(&b) = self.buf.get(self.pos) {
            if !class[b as usize] {
                break;
            }
            self.pos += 1;
        }
        self.buf.get(start..self.pos).unwrap_or(&[])
    }

    pub fn atom(&mut self) -> PResult<&'a [u8]> {
        let a = self.take_class(&ATOM);
        if a.is_empty() {
            Err(ErrorKind::Syntax)
        } else {
            Ok(a)
        }
    }

    /// The name part of a fetch attribute or search key.
    pub fn name(&mut self) -> PResult<&'a [u8]> {
        let a = self.take_class(&NAME);
        if a.is_empty() {
            Err(ErrorKind::Syntax)
        } else {
            Ok(a)
        }
    }

    pub fn digits(&mut self) -> &'a [u8] {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.buf.get(start..self.pos).unwrap_or(&[])
    }

    /// number64: at most 2^63-1.
    pub fn number64(&mut self) -> PResult<u64> {
        parse_u64(self.digits())
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or(ErrorKind::BadNumber)
    }

    /// number: 32-bit unsigned.
    pub fn number(&mut self) -> PResult<u32> {
        parse_u64(self.digits())
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(ErrorKind::BadNumber)
    }

    pub fn nz_number(&mut self) -> PResult<u32> {
        match self.number()? {
            0 => Err(ErrorKind::BadNumber),
            n => Ok(n),
        }
    }

    /// `quoted` body; returns the raw bytes between the quotes, escapes kept.
    pub fn quoted(&mut self) -> PResult<&'a [u8]> {
        if !self.eat(b'"') {
            return Err(ErrorKind::Syntax);
        }
        let start = self.pos;
        let rest = self.rest();
        let mut i = 0;
        loop {
            // Jump to the next byte that matters.
            let Some(off) = memchr::memchr3(b'"', b'\\', b'\n', rest.get(i..).unwrap_or(&[]))
            else {
                return Err(ErrorKind::UnterminatedQuoted);
            };
            if rest.get(i + off) == Some(&b'\n') {
                return Err(ErrorKind::UnterminatedQuoted);
            }
            let seg = rest.get(i..i + off).unwrap_or(&[]);
            check_quoted_segment(seg)?;
            i += off;
            match rest.get(i) {
                Some(b'"') => {
                    self.pos = start + i + 1;
                    return Ok(rest.get(..i).unwrap_or(&[]));
                }
                Some(b'\\') => match rest.get(i + 1) {
                    Some(b'"') | Some(b'\\') => i += 2,
                    _ => return Err(ErrorKind::BadQuotedChar),
                },
                _ => return Err(ErrorKind::UnterminatedQuoted),
            }
        }
    }

    /// `{n}` / `{n+}` (and `~{n}` when `allow8`) header plus its bytes.
    /// Returns (bytes, was literal8).
    pub fn literal(&mut self, allow8: bool) -> PResult<(&'a [u8], bool)> {
        let binary = self.eat(b'~');
        if binary && !allow8 {
            return Err(ErrorKind::BadLiteral);
        }
        if !self.eat(b'{') {
            return Err(ErrorKind::Syntax);
        }
        let n = parse_u64(self.digits()).ok_or(ErrorKind::BadLiteral)?;
        self.eat(b'+');
        self.expect(b'}', ErrorKind::BadLiteral)?;
        self.eat(b'\r');
        self.expect(b'\n', ErrorKind::BadLiteral)?;
        let n = usize::try_from(n).map_err(|_| ErrorKind::BadLiteral)?;
        let end = self.pos.checked_add(n).ok_or(ErrorKind::BadLiteral)?;
        let data = self.buf.get(self.pos..end).ok_or(ErrorKind::BadLiteral)?;
        if !binary && memchr::memchr(0, data).is_some() {
            return Err(ErrorKind::NulInLiteral);
        }
        self.pos = end;
        Ok((data, binary))
    }

    /// string = quoted / literal.
    pub fn string(&mut self) -> PResult<AString<'a>> {
        match self.peek() {
            Some(b'"') => Ok(AString::Quoted(self.quoted()?)),
            Some(b'{') => Ok(AString::Literal(self.literal(false)?.0)),
            _ => Err(ErrorKind::Syntax),
        }
    }

    /// astring = 1*ASTRING-CHAR / string.
    pub fn astring(&mut self) -> PResult<AString<'a>> {
        match self.peek() {
            Some(b'"') | Some(b'{') => self.string(),
            // literal8 where only a plain string is allowed.
            Some(b'~') if self.peek_at(1) == Some(b'{') => Err(ErrorKind::BadLiteral),
            _ => {
                let a = self.take_class(&ASTRING);
                if a.is_empty() {
                    if self.at_eol() {
                        Err(ErrorKind::MissingArguments)
                    } else {
                        Err(ErrorKind::Syntax)
                    }
                } else {
                    Ok(AString::Atom(a))
                }
            }
        }
    }

    /// nstring = string / NIL.
    pub fn nstring(&mut self) -> PResult<Option<AString<'a>>> {
        if self.eat_word(b"NIL") {
            Ok(None)
        } else {
            self.string().map(Some)
        }
    }

    /// list-mailbox = 1*list-char / string.
    pub fn list_mailbox(&mut self) -> PResult<AString<'a>> {
        match self.peek() {
            Some(b'"') | Some(b'{') => self.string(),
            _ => {
                let a = self.take_class(&LIST);
                if a.is_empty() {
                    Err(ErrorKind::Syntax)
                } else {
                    Ok(AString::Atom(a))
                }
            }
        }
    }
}

/// Characters allowed unescaped in a quoted string: TEXT-CHAR without the
/// quoted-specials, plus UTF-8 (RFC 9051 QUOTED-CHAR; RFC 6855). Invalid
/// UTF-8, NUL and CR are refused.
fn check_quoted_segment(seg: &[u8]) -> PResult<()> {
    if seg.is_ascii() {
        if seg.iter().any(|&b| b == 0 || b == b'\r') {
            return Err(ErrorKind::BadQuotedChar);
        }
        Ok(())
    } else if std::str::from_utf8(seg).is_ok() {
        if seg.iter().any(|&b| b == 0 || b == b'\r') {
            return Err(ErrorKind::BadQuotedChar);
        }
        Ok(())
    } else {
        Err(ErrorKind::BadQuotedChar)
    }
}

/// Upper-case copy of a short keyword into a stack buffer so callers can
/// `match` on it (the compiler turns that into length + memcmp checks,
/// much cheaper than a chain of case-insensitive comparisons). `None` when
/// longer than any keyword, which then matches nothing.
#[inline]
pub(crate) fn upper(name: &[u8]) -> Option<([u8; 24], usize)> {
    let mut out = [0u8; 24];
    let dst = out.get_mut(..name.len())?;
    for (d, s) in dst.iter_mut().zip(name) {
        *d = s.to_ascii_uppercase();
    }
    Some((out, name.len()))
}

/// Decimal digits to u64; None when empty or overflowing.
pub(crate) fn parse_u64(d: &[u8]) -> Option<u64> {
    if d.is_empty() || d.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in d {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}
