//! Flags and flag lists (validated raw bytes, iterated without allocating).

use crate::cursor::{ATOM, Cursor, PResult};
use crate::error::ErrorKind;

/// A message flag as a client may send it (no `\Recent`, no `\*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag<'a> {
    Answered,
    Flagged,
    Deleted,
    Seen,
    Draft,
    /// A keyword (atom), e.g. `$Forwarded`.
    Keyword(&'a [u8]),
    /// A `\`-flag this grammar does not name, without the backslash.
    Extension(&'a [u8]),
}

impl<'a> Flag<'a> {
    fn parse(c: &mut Cursor<'a>) -> PResult<Flag<'a>> {
        if c.eat(b'\\') {
            let name = c.take_class(&ATOM);
            if name.is_empty() {
                return Err(ErrorKind::BadFlag);
            }
            let f = if name.eq_ignore_ascii_case(b"Answered") {
                Flag::Answered
            } else if name.eq_ignore_ascii_case(b"Flagged") {
                Flag::Flagged
            } else if name.eq_ignore_ascii_case(b"Deleted") {
                Flag::Deleted
            } else if name.eq_ignore_ascii_case(b"Seen") {
                Flag::Seen
            } else if name.eq_ignore_ascii_case(b"Draft") {
                Flag::Draft
            } else if name.eq_ignore_ascii_case(b"Recent") {
                // \Recent is server-managed (RFC 3501 2.3.2) and gone in rev2.
                return Err(ErrorKind::BadFlag);
            } else {
                Flag::Extension(name)
            };
            Ok(f)
        } else {
            let name = c.take_class(&ATOM);
            if name.is_empty() {
                return Err(ErrorKind::BadFlag);
            }
            Ok(Flag::Keyword(name))
        }
    }
}

/// A validated flag list (`(\Seen $Junk)` or, for STORE, bare flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlagList<'a> {
    /// The flags separated by single spaces, parentheses removed.
    raw: &'a [u8],
    count: usize,
}

impl<'a> FlagList<'a> {
    pub fn iter(&self) -> FlagIter<'a> {
        FlagIter {
            c: Cursor::new(self.raw),
        }
    }
    pub fn len(&self) -> usize {
        self.count
    }
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

pub struct FlagIter<'a> {
    c: Cursor<'a>,
}

impl<'a> Iterator for FlagIter<'a> {
    type Item = Flag<'a>;
    fn next(&mut self) -> Option<Flag<'a>> {
        if self.c.at_end() {
            return None;
        }
        let f = Flag::parse(&mut self.c).ok()?;
        self.c.eat(b' ');
        Some(f)
    }
}

impl<'a> Cursor<'a> {
    /// flag-list = "(" [flag *(SP flag)] ")"; with `bare_ok` also the
    /// unparenthesised form STORE allows.
    pub(crate) fn flag_list(&mut self, max: usize, bare_ok: bool) -> PResult<FlagList<'a>> {
        let paren = self.eat(b'(');
        if !paren && !bare_ok {
            return Err(ErrorKind::BadFlag);
        }
        let start = self.pos;
        let mut count = 0;
        if !(paren && self.peek() == Some(b')')) {
            loop {
                Flag::parse(self)?;
                count += 1;
                if count > max {
                    return Err(ErrorKind::TooManyArguments);
                }
                if !self.eat(b' ') {
                    break;
                }
            }
        }
        let raw = self.buf.get(start..self.pos).unwrap_or(&[]);
        if paren {
            self.expect(b')', ErrorKind::BadFlag)?;
        } else if !self.at_eol() {
            return Err(ErrorKind::BadFlag);
        }
        Ok(FlagList { raw, count })
    }
}
