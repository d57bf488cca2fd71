//! SEARCH: return options, charset and the key grammar. Keys are validated
//! once (depth- and count-bounded) and then walked lazily from the raw
//! bytes: `OR`, `NOT` and parentheses hand back sub-[`SearchKeys`] instead
//! of boxed trees, so even nested searches parse without allocating.

use crate::cursor::{Cursor, PResult};
use crate::datetime::Date;
use crate::error::ErrorKind;
use crate::sequence::SequenceSet;
use crate::string::AString;

/// RETURN options of ESEARCH (RFC 4731) and SEARCHRES (RFC 5182).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SearchReturn {
    pub min: bool,
    pub max: bool,
    pub all: bool,
    pub count: bool,
    pub save: bool,
    /// RFC 9394 `PARTIAL first:last` (1-based positions in the result;
    /// negative counts from its end), as sent.
    pub partial: Option<(i64, i64)>,
    /// RFC 5267 §4.3 UPDATE: keep telling the client how the result changes.
    pub update: bool,
    /// RFC 5267 §4.2 CONTEXT: a hint that the search will be used again.
    pub context: bool,
}

impl SearchReturn {
    /// `RETURN ()` means ALL (RFC 4731 3.1); so does a list of only
    /// UPDATE and CONTEXT, which ask for no result data themselves (the
    /// client maintaining the result needs it first).
    pub fn effective(self) -> SearchReturn {
        if !(self.min || self.max || self.all || self.count || self.save || self.partial.is_some())
        {
            SearchReturn { all: true, ..self }
        } else {
            self
        }
    }
}

/// Entry type in `MODSEQ "/flags/\\Seen" all 620162338`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    Private,
    Shared,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKey<'a> {
    All,
    Answered,
    Bcc(AString<'a>),
    Before(Date),
    Body(AString<'a>),
    Cc(AString<'a>),
    Deleted,
    Draft,
    Flagged,
    From(AString<'a>),
    Header(AString<'a>, AString<'a>),
    Keyword(&'a [u8]),
    Larger(u64),
    New,
    Not(SearchKeys<'a>),
    Old,
    On(Date),
    Or(SearchKeys<'a>, SearchKeys<'a>),
    Recent,
    Seen,
    SentBefore(Date),
    SentOn(Date),
    SentSince(Date),
    Since(Date),
    Smaller(u64),
    Subject(AString<'a>),
    Text(AString<'a>),
    To(AString<'a>),
    Uid(SequenceSet<'a>),
    Unanswered,
    Undeleted,
    Undraft,
    Unflagged,
    Unkeyword(&'a [u8]),
    Unseen,
    SequenceSet(SequenceSet<'a>),
    /// A parenthesised group: all of these.
    And(SearchKeys<'a>),
    ModSeq {
        entry: Option<(AString<'a>, EntryType)>,
        modseq: u64,
    },
    Older(u32),
    Younger(u32),
    EmailId(&'a [u8]),
    ThreadId(&'a [u8]),
    SavedBefore(Date),
    SavedOn(Date),
    SavedSince(Date),
    SaveDateSupported,
}

/// Parses search keys kept from an earlier command (an RFC 5267 UPDATE
/// context re-evaluates them as the mailbox changes).
pub fn parse_search_keys<'a>(
    raw: &'a [u8],
    lim: &crate::Limits,
) -> Result<SearchKeys<'a>, ErrorKind> {
    let mut c = Cursor::new(raw);
    let keys = c.search_keys(lim.max_depth, lim.max_arguments, lim.max_sequence_ranges)?;
    if !c.at_end() {
        return Err(ErrorKind::Syntax);
    }
    Ok(keys)
}

/// A validated run of search keys (implicitly ANDed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchKeys<'a> {
    raw: &'a [u8],
    max_ranges: usize,
}

impl<'a> SearchKeys<'a> {
    pub fn iter(&self) -> SearchIter<'a> {
        SearchIter {
            c: Cursor::new(self.raw),
            max_ranges: self.max_ranges,
        }
    }
    /// The keys as sent.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

pub struct SearchIter<'a> {
    c: Cursor<'a>,
    max_ranges: usize,
}

impl<'a> Iterator for SearchIter<'a> {
    type Item = SearchKey<'a>;
    fn next(&mut self) -> Option<SearchKey<'a>> {
        if self.c.at_end() {
            return None;
        }
        let mut budget = Budget {
            depth_left: usize::MAX,
            args_left: usize::MAX,
        };
        let k = key(&mut self.c, &mut budget, self.max_ranges).ok()?;
        self.c.eat(b' ');
        Some(k)
    }
}

struct Budget {
    depth_left: usize,
    args_left: usize,
}

fn sub_keys<'a>(
    c: &mut Cursor<'a>,
    b: &mut Budget,
    max_ranges: usize,
    one: bool,
) -> PResult<SearchKeys<'a>> {
    if b.depth_left == 0 {
        return Err(ErrorKind::TooDeep);
    }
    b.depth_left -= 1;
    let start = c.pos;
    if one {
        key(c, b, max_ranges)?;
    } else {
        loop {
            key(c, b, max_ranges)?;
            if c.peek() == Some(b' ') && c.peek_at(1) != Some(b')') {
                c.pos += 1;
            } else {
                break;
            }
        }
    }
    b.depth_left += 1;
    Ok(SearchKeys {
        raw: c.buf.get(start..c.pos).unwrap_or(&[]),
        max_ranges,
    })
}

fn key<'a>(c: &mut Cursor<'a>, b: &mut Budget, max_ranges: usize) -> PResult<SearchKey<'a>> {
    if b.args_left == 0 {
        return Err(ErrorKind::TooManyArguments);
    }
    b.args_left -= 1;
    match c.peek() {
        Some(b'(') => {
            c.pos += 1;
            let inner = sub_keys(c, b, max_ranges, false)?;
            c.expect(b')', ErrorKind::BadSearchKey)?;
            return Ok(SearchKey::And(inner));
        }
        Some(b'0'..=b'9' | b'*' | b'$') => {
            return Ok(SearchKey::SequenceSet(c.sequence_set(max_ranges)?));
        }
        None | Some(b'\r' | b'\n') => return Err(ErrorKind::MissingArguments),
        _ => {}
    }
    let name = c.atom().map_err(|_| ErrorKind::BadSearchKey)?;
    let (ubuf, ulen) = crate::cursor::upper(name).ok_or(ErrorKind::BadSearchKey)?;
    macro_rules! arg {
        ($e:expr) => {{
            c.sp()?;
            $e
        }};
    }
    let k = match ubuf.get(..ulen).unwrap_or(&[]) {
        b"ALL" => SearchKey::All,
        b"ANSWERED" => SearchKey::Answered,
        b"DELETED" => SearchKey::Deleted,
        b"DRAFT" => SearchKey::Draft,
        b"FLAGGED" => SearchKey::Flagged,
        b"NEW" => SearchKey::New,
        b"OLD" => SearchKey::Old,
        b"RECENT" => SearchKey::Recent,
        b"SEEN" => SearchKey::Seen,
        b"UNANSWERED" => SearchKey::Unanswered,
        b"UNDELETED" => SearchKey::Undeleted,
        b"UNDRAFT" => SearchKey::Undraft,
        b"UNFLAGGED" => SearchKey::Unflagged,
        b"UNSEEN" => SearchKey::Unseen,
        b"SAVEDATESUPPORTED" => SearchKey::SaveDateSupported,
        b"BCC" => arg!(SearchKey::Bcc(c.astring()?)),
        b"BODY" => arg!(SearchKey::Body(c.astring()?)),
        b"CC" => arg!(SearchKey::Cc(c.astring()?)),
        b"FROM" => arg!(SearchKey::From(c.astring()?)),
        b"SUBJECT" => arg!(SearchKey::Subject(c.astring()?)),
        b"TEXT" => arg!(SearchKey::Text(c.astring()?)),
        b"TO" => arg!(SearchKey::To(c.astring()?)),
        b"HEADER" => {
            c.sp()?;
            let f = c.astring()?;
            c.sp()?;
            SearchKey::Header(f, c.astring()?)
        }
        b"KEYWORD" => arg!(SearchKey::Keyword(keyword(c)?)),
        b"UNKEYWORD" => arg!(SearchKey::Unkeyword(keyword(c)?)),
        b"BEFORE" => arg!(SearchKey::Before(c.date()?)),
        b"ON" => arg!(SearchKey::On(c.date()?)),
        b"SINCE" => arg!(SearchKey::Since(c.date()?)),
        b"SENTBEFORE" => arg!(SearchKey::SentBefore(c.date()?)),
        b"SENTON" => arg!(SearchKey::SentOn(c.date()?)),
        b"SENTSINCE" => arg!(SearchKey::SentSince(c.date()?)),
        b"SAVEDBEFORE" => arg!(SearchKey::SavedBefore(c.date()?)),
        b"SAVEDON" => arg!(SearchKey::SavedOn(c.date()?)),
        b"SAVEDSINCE" => arg!(SearchKey::SavedSince(c.date()?)),
        b"LARGER" => arg!(SearchKey::Larger(c.number64()?)),
        b"SMALLER" => arg!(SearchKey::Smaller(c.number64()?)),
        b"OLDER" => arg!(SearchKey::Older(c.nz_number()?)),
        b"YOUNGER" => arg!(SearchKey::Younger(c.nz_number()?)),
        b"UID" => arg!(SearchKey::Uid(c.sequence_set(max_ranges)?)),
        b"EMAILID" => arg!(SearchKey::EmailId(object_id(c)?)),
        b"THREADID" => arg!(SearchKey::ThreadId(object_id(c)?)),
        b"NOT" => arg!(SearchKey::Not(sub_keys(c, b, max_ranges, true)?)),
        b"OR" => {
            c.sp()?;
            let a = sub_keys(c, b, max_ranges, true)?;
            c.sp()?;
            SearchKey::Or(a, sub_keys(c, b, max_ranges, true)?)
        }
        b"MODSEQ" => {
            c.sp()?;
            let entry = if c.peek() == Some(b'"') {
                let name = AString::Quoted(c.quoted()?);
                c.sp()?;
                let t = if c.eat_word(b"priv") {
                    EntryType::Private
                } else if c.eat_word(b"shared") {
                    EntryType::Shared
                } else if c.eat_word(b"all") {
                    EntryType::All
                } else {
                    return Err(ErrorKind::BadSearchKey);
                };
                c.sp()?;
                Some((name, t))
            } else {
                None
            };
            SearchKey::ModSeq {
                entry,
                modseq: c.number64()?,
            }
        }
        _ => return Err(ErrorKind::BadSearchKey),
    };
    Ok(k)
}

fn keyword<'a>(c: &mut Cursor<'a>) -> PResult<&'a [u8]> {
    if c.peek() == Some(b'\\') {
        return Err(ErrorKind::BadFlag);
    }
    c.atom().map_err(|_| ErrorKind::BadFlag)
}

/// objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474).
fn object_id<'a>(c: &mut Cursor<'a>) -> PResult<&'a [u8]> {
    let start = c.pos;
    while matches!(
        c.peek(),
        Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-')
    ) {
        c.pos += 1;
    }
    let id = c.buf.get(start..c.pos).unwrap_or(&[]);
    if id.is_empty() || id.len() > 255 {
        return Err(ErrorKind::Syntax);
    }
    Ok(id)
}

impl<'a> Cursor<'a> {
    /// `[RETURN (...)] [CHARSET x] keys` after `SEARCH SP`.
    pub(crate) fn search_args(
        &mut self,
        max_depth: usize,
        max_args: usize,
        max_ranges: usize,
    ) -> PResult<(Option<SearchReturn>, Option<AString<'a>>, SearchKeys<'a>)> {
        let mut ret = None;
        if self.eat_word(b"RETURN") {
            self.sp()?;
            ret = Some(self.search_return()?);
            self.sp()?;
        }
        let mut charset = None;
        if self.eat_word(b"CHARSET") {
            self.sp()?;
            let cs = self.astring()?;
            if !(cs.eq_ignore_ascii_case(b"UTF-8") || cs.eq_ignore_ascii_case(b"US-ASCII")) {
                return Err(ErrorKind::BadCharset);
            }
            charset = Some(cs);
            self.sp()?;
        }
        let keys = self.search_keys(max_depth, max_args, max_ranges)?;
        Ok((ret, charset, keys))
    }

    /// `(opt *(SP opt))` of RETURN (RFC 4731; ESORT uses the same).
    pub(crate) fn search_return(&mut self) -> PResult<SearchReturn> {
        self.expect(b'(', ErrorKind::Syntax)?;
        let mut r = SearchReturn::default();
        if !self.eat(b')') {
            loop {
                let opt = self.atom()?;
                let is = |n: &[u8]| opt.eq_ignore_ascii_case(n);
                if is(b"MIN") {
                    r.min = true;
                } else if is(b"MAX") {
                    r.max = true;
                } else if is(b"ALL") {
                    r.all = true;
                } else if is(b"COUNT") {
                    r.count = true;
                } else if is(b"SAVE") {
                    r.save = true;
                } else if is(b"UPDATE") {
                    r.update = true;
                } else if is(b"CONTEXT") {
                    r.context = true;
                } else if is(b"PARTIAL") && r.partial.is_none() {
                    self.sp()?;
                    r.partial = Some(self.partial_range()?);
                } else {
                    return Err(ErrorKind::BadParameter);
                }
                if !self.eat(b' ') {
                    break;
                }
            }
            self.expect(b')', ErrorKind::Syntax)?;
        }
        // RFC 9394 §3: PARTIAL is a window, ALL the whole; not both.
        if r.partial.is_some() && r.all {
            return Err(ErrorKind::BadParameter);
        }
        Ok(r)
    }

    /// `n:m` or `-n:-m` (both ends the same sign, none zero).
    fn partial_range(&mut self) -> PResult<(i64, i64)> {
        let neg = self.eat(b'-');
        let a = i64::from(self.nz_number()?);
        self.expect(b':', ErrorKind::Syntax)?;
        if neg != self.eat(b'-') {
            return Err(ErrorKind::Syntax);
        }
        let b = i64::from(self.nz_number()?);
        Ok(if neg { (-a, -b) } else { (a, b) })
    }

    /// One or more search keys, validated; kept as the raw text.
    pub(crate) fn search_keys(
        &mut self,
        max_depth: usize,
        max_args: usize,
        max_ranges: usize,
    ) -> PResult<SearchKeys<'a>> {
        let mut budget = Budget {
            depth_left: max_depth,
            args_left: max_args,
        };
        let start = self.pos;
        loop {
            key(self, &mut budget, max_ranges)?;
            if !self.eat(b' ') {
                break;
            }
        }
        Ok(SearchKeys {
            raw: self.buf.get(start..self.pos).unwrap_or(&[]),
            max_ranges,
        })
    }
}
