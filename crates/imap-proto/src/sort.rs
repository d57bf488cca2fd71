//! SORT and THREAD (RFC 5256), SORT=DISPLAY keys (RFC 5957) and ESORT's
//! RETURN options (RFC 5267): the arguments before the search keys.

use crate::cursor::{Cursor, PResult};
use crate::error::ErrorKind;
use crate::search::{SearchKeys, SearchReturn};
use crate::string::AString;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    DisplayFrom,
    DisplayTo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortCriterion {
    pub key: SortKey,
    pub reverse: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadAlgorithm {
    OrderedSubject,
    References,
}

/// Sort criteria one command may give; a key twice is allowed (useless).
const MAX_CRITERIA: usize = 16;

impl<'a> Cursor<'a> {
    /// `(criterion *(SP criterion))`.
    pub(crate) fn sort_criteria(&mut self) -> PResult<Vec<SortCriterion>> {
        self.expect(b'(', ErrorKind::Syntax)?;
        let mut out = Vec::new();
        loop {
            let reverse = self.eat_word(b"REVERSE");
            if reverse {
                self.sp()?;
            }
            let word = self.atom()?;
            let is = |n: &[u8]| word.eq_ignore_ascii_case(n);
            let key = if is(b"ARRIVAL") {
                SortKey::Arrival
            } else if is(b"CC") {
                SortKey::Cc
            } else if is(b"DATE") {
                SortKey::Date
            } else if is(b"FROM") {
                SortKey::From
            } else if is(b"SIZE") {
                SortKey::Size
            } else if is(b"SUBJECT") {
                SortKey::Subject
            } else if is(b"TO") {
                SortKey::To
            } else if is(b"DISPLAYFROM") {
                SortKey::DisplayFrom
            } else if is(b"DISPLAYTO") {
                SortKey::DisplayTo
            } else {
                return Err(ErrorKind::BadParameter);
            };
            out.push(SortCriterion { key, reverse });
            if out.len() > MAX_CRITERIA {
                return Err(ErrorKind::TooManyArguments);
            }
            if !self.eat(b' ') {
                break;
            }
        }
        self.expect(b')', ErrorKind::Syntax)?;
        Ok(out)
    }

    /// The charset SORT and THREAD require (UTF-8 and US-ASCII only).
    pub(crate) fn required_charset(&mut self) -> PResult<AString<'a>> {
        let cs = self.astring()?;
        if !(cs.eq_ignore_ascii_case(b"UTF-8") || cs.eq_ignore_ascii_case(b"US-ASCII")) {
            return Err(ErrorKind::BadCharset);
        }
        Ok(cs)
    }
}

/// What follows `SORT SP`: `[RETURN (...) SP] (criteria) SP charset SP keys`.
pub(crate) type SortArgs<'a> = (
    Option<SearchReturn>,
    Vec<SortCriterion>,
    AString<'a>,
    SearchKeys<'a>,
);

pub(crate) fn sort_args<'a>(c: &mut Cursor<'a>, lim: &crate::Limits) -> PResult<SortArgs<'a>> {
    let returns = if c.eat_word(b"RETURN") {
        c.sp()?;
        let r = c.search_return()?;
        if r.save {
            // RFC 5267 leaves SAVE to SEARCH (RFC 5182 defines it there).
            return Err(ErrorKind::BadParameter);
        }
        c.sp()?;
        Some(r)
    } else {
        None
    };
    let criteria = c.sort_criteria()?;
    c.sp()?;
    let charset = c.required_charset()?;
    c.sp()?;
    let keys = c.search_keys(lim.max_depth, lim.max_arguments, lim.max_sequence_ranges)?;
    Ok((returns, criteria, charset, keys))
}

pub(crate) fn thread_args<'a>(
    c: &mut Cursor<'a>,
    lim: &crate::Limits,
) -> PResult<(ThreadAlgorithm, AString<'a>, SearchKeys<'a>)> {
    let alg = c.atom()?;
    let algorithm = if alg.eq_ignore_ascii_case(b"ORDEREDSUBJECT") {
        ThreadAlgorithm::OrderedSubject
    } else if alg.eq_ignore_ascii_case(b"REFERENCES") {
        ThreadAlgorithm::References
    } else {
        return Err(ErrorKind::BadParameter);
    };
    c.sp()?;
    let charset = c.required_charset()?;
    c.sp()?;
    let keys = c.search_keys(lim.max_depth, lim.max_arguments, lim.max_sequence_ranges)?;
    Ok((algorithm, charset, keys))
}
