//! Sequence sets (`1:4,7,9:*`, `$`): validated once, then iterated from the
//! raw bytes so a FETCH never allocates for its set.

use crate::cursor::{Cursor, PResult, parse_u64};
use crate::error::ErrorKind;

/// One end of a range: a number or `*` (the largest in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqNum {
    Value(u32),
    Star,
}

impl SeqNum {
    /// Resolve `*` against the largest number in use.
    pub fn resolve(self, largest: u32) -> u32 {
        match self {
            SeqNum::Value(n) => n,
            SeqNum::Star => largest,
        }
    }
}

/// `a:b` or a single number (then `start == end`). Order as sent: `5:2`
/// means the same as `2:5` (RFC 9051 9), [`SeqRange::resolve`] sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqRange {
    pub start: SeqNum,
    pub end: SeqNum,
}

impl SeqRange {
    /// Inclusive (low, high) once `*` is known.
    pub fn resolve(self, largest: u32) -> (u32, u32) {
        let a = self.start.resolve(largest);
        let b = self.end.resolve(largest);
        if a <= b { (a, b) } else { (b, a) }
    }
}

/// A validated sequence set, or `$` (SEARCHRES saved result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceSet<'a> {
    Saved,
    Set { raw: &'a [u8], ranges: usize },
}

impl<'a> SequenceSet<'a> {
    /// Ranges in the order sent. Empty for `$`.
    pub fn iter(&self) -> SeqIter<'a> {
        match *self {
            SequenceSet::Saved => SeqIter { raw: &[] },
            SequenceSet::Set { raw, .. } => SeqIter { raw },
        }
    }

    /// The set as sent (`$` for the saved result).
    pub fn raw(&self) -> &'a [u8] {
        match *self {
            SequenceSet::Saved => b"$",
            SequenceSet::Set { raw, .. } => raw,
        }
    }

    pub fn is_saved(&self) -> bool {
        matches!(self, SequenceSet::Saved)
    }

    /// True if `*` appears anywhere (servers resolve it once per command).
    pub fn has_star(&self) -> bool {
        memchr::memchr(b'*', self.raw()).is_some() && !self.is_saved()
    }
}

pub struct SeqIter<'a> {
    raw: &'a [u8],
}

impl Iterator for SeqIter<'_> {
    type Item = SeqRange;
    fn next(&mut self) -> Option<SeqRange> {
        if self.raw.is_empty() {
            return None;
        }
        let end = memchr::memchr(b',', self.raw).unwrap_or(self.raw.len());
        let item = self.raw.get(..end)?;
        self.raw = self.raw.get(end + 1..).unwrap_or(&[]);
        // Validated at parse time, so a failure here cannot happen; stop
        // rather than panic if it ever did.
        parse_range(item).ok()
    }
}

fn parse_seq_num(b: &[u8]) -> PResult<SeqNum> {
    if b == b"*" {
        return Ok(SeqNum::Star);
    }
    match parse_u64(b) {
        Some(n) if n > 0 && n <= u64::from(u32::MAX) => Ok(SeqNum::Value(n as u32)),
        _ => Err(ErrorKind::BadSequenceSet),
    }
}

fn parse_range(item: &[u8]) -> PResult<SeqRange> {
    match memchr::memchr(b':', item) {
        None => {
            let n = parse_seq_num(item)?;
            Ok(SeqRange { start: n, end: n })
        }
        Some(i) => {
            let a = parse_seq_num(item.get(..i).unwrap_or(&[]))?;
            let b = parse_seq_num(item.get(i + 1..).unwrap_or(&[]))?;
            Ok(SeqRange { start: a, end: b })
        }
    }
}

impl<'a> Cursor<'a> {
    /// sequence-set / "$".
    pub(crate) fn sequence_set(&mut self, max_ranges: usize) -> PResult<SequenceSet<'a>> {
        if self.eat(b'$') {
            return Ok(SequenceSet::Saved);
        }
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9' | b':' | b',' | b'*')) {
            self.pos += 1;
        }
        let raw = self.buf.get(start..self.pos).unwrap_or(&[]);
        if raw.is_empty() {
            return Err(if self.at_eol() {
                ErrorKind::MissingArguments
            } else {
                ErrorKind::BadSequenceSet
            });
        }
        // The set must end at a delimiter, not glued to other text.
        if !matches!(self.peek(), None | Some(b' ' | b')' | b'\r' | b'\n')) {
            return Err(ErrorKind::BadSequenceSet);
        }
        let mut ranges = 0usize;
        for item in raw.split(|&b| b == b',') {
            ranges += 1;
            if ranges > max_ranges {
                return Err(ErrorKind::TooManyRanges);
            }
            if memchr::memchr(b':', item).is_some()
                && item.iter().filter(|&&b| b == b':').count() > 1
            {
                return Err(ErrorKind::BadSequenceSet);
            }
            parse_range(item)?;
        }
        Ok(SequenceSet::Set { raw, ranges })
    }

    /// A single seq-number (REPLACE target).
    pub(crate) fn seq_number(&mut self) -> PResult<SeqNum> {
        if self.eat(b'*') {
            return Ok(SeqNum::Star);
        }
        match self.number() {
            Ok(n) if n > 0 => Ok(SeqNum::Value(n)),
            _ => Err(ErrorKind::BadSequenceSet),
        }
    }
}
