//! FETCH attributes, macros, body sections and partials. The attribute list
//! is validated once and then iterated from the raw bytes: a UID FETCH of
//! `(UID FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)])` allocates nothing.

use crate::cursor::{Cursor, PResult};
use crate::error::ErrorKind;
use crate::string::AString;

/// `ALL`, `FAST`, `FULL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Macro {
    All,
    Fast,
    Full,
}

impl Macro {
    /// The attributes a macro stands for (RFC 9051 6.4.5).
    pub fn expand(self) -> &'static [FetchAttr<'static>] {
        match self {
            Macro::All => &[
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Envelope,
            ],
            Macro::Fast => &[
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
            ],
            Macro::Full => &[
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Envelope,
                FetchAttr::Body,
            ],
        }
    }
}

/// A section part path such as `1.2.3` (empty: the whole message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Part<'a> {
    raw: &'a [u8],
}

impl<'a> Part<'a> {
    /// The part numbers in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + 'a {
        self.raw
            .split(|&b| b == b'.')
            .filter(|s| !s.is_empty())
            .filter_map(|s| crate::cursor::parse_u64(s).and_then(|n| u32::try_from(n).ok()))
    }
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
    /// As sent, e.g. `1.2`.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

/// `(Field1 Field2)` of HEADER.FIELDS, validated, iterated lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderList<'a> {
    raw: &'a [u8],
    count: usize,
}

impl<'a> HeaderList<'a> {
    pub fn iter(&self) -> HeaderIter<'a> {
        HeaderIter {
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

pub struct HeaderIter<'a> {
    c: Cursor<'a>,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = AString<'a>;
    fn next(&mut self) -> Option<AString<'a>> {
        if self.c.at_end() {
            return None;
        }
        let s = self.c.astring().ok()?;
        self.c.eat(b' ');
        Some(s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionText<'a> {
    Header,
    HeaderFields {
        not: bool,
        fields: HeaderList<'a>,
    },
    Text,
    /// Only after a part number.
    Mime,
}

/// The inside of `BODY[...]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Section<'a> {
    pub part: Part<'a>,
    pub text: Option<SectionText<'a>>,
}

/// `<offset.length>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partial {
    pub offset: u64,
    pub length: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchAttr<'a> {
    Envelope,
    Flags,
    InternalDate,
    Rfc822,
    Rfc822Header,
    Rfc822Size,
    Rfc822Text,
    /// `BODY` without a section: the non-extensible BODYSTRUCTURE.
    Body,
    BodyStructure,
    Uid,
    BodySection {
        peek: bool,
        section: Section<'a>,
        partial: Option<Partial>,
    },
    Binary {
        peek: bool,
        part: Part<'a>,
        partial: Option<Partial>,
    },
    BinarySize {
        part: Part<'a>,
    },
    ModSeq,
    EmailId,
    ThreadId,
    SaveDate,
    Preview {
        lazy: bool,
    },
}

/// What FETCH asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchAttrs<'a> {
    Macro(Macro),
    /// One attribute or a parenthesised list; `raw` holds the attributes
    /// separated by single spaces.
    List {
        raw: &'a [u8],
        count: usize,
    },
}

impl<'a> FetchAttrs<'a> {
    /// Every attribute, macros expanded.
    pub fn iter(&self) -> FetchIter<'a> {
        match *self {
            FetchAttrs::Macro(m) => FetchIter(IterInner::Macro(m.expand().iter())),
            FetchAttrs::List { raw, .. } => FetchIter(IterInner::List(Cursor::new(raw))),
        }
    }
}

pub struct FetchIter<'a>(IterInner<'a>);

enum IterInner<'a> {
    Macro(std::slice::Iter<'static, FetchAttr<'static>>),
    List(Cursor<'a>),
}

impl<'a> Iterator for FetchIter<'a> {
    type Item = FetchAttr<'a>;
    fn next(&mut self) -> Option<FetchAttr<'a>> {
        match &mut self.0 {
            IterInner::Macro(it) => it.next().copied(),
            IterInner::List(c) => {
                if c.at_end() {
                    return None;
                }
                let a = fetch_attr(c, usize::MAX).ok()?;
                c.eat(b' ');
                Some(a)
            }
        }
    }
}

/// FETCH modifiers (CONDSTORE/QRESYNC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FetchModifiers {
    pub changed_since: Option<u64>,
    pub vanished: bool,
}

fn part(c: &mut Cursor<'_>) -> PResult<()> {
    // section-part = nz-number *("." nz-number); stops before ".HEADER" etc.
    loop {
        c.nz_number().map_err(|_| ErrorKind::BadSection)?;
        if c.peek() == Some(b'.') && matches!(c.peek_at(1), Some(b'1'..=b'9')) {
            c.pos += 1;
        } else {
            return Ok(());
        }
    }
}

fn section<'a>(c: &mut Cursor<'a>, max_args: usize) -> PResult<Section<'a>> {
    c.expect(b'[', ErrorKind::BadSection)?;
    let mut s = Section::default();
    if c.eat(b']') {
        return Ok(s);
    }
    let start = c.pos;
    let has_part = matches!(c.peek(), Some(b'1'..=b'9'));
    if has_part {
        part(c)?;
        s.part = Part {
            raw: c.buf.get(start..c.pos).unwrap_or(&[]),
        };
        if c.eat(b']') {
            return Ok(s);
        }
        c.expect(b'.', ErrorKind::BadSection)?;
    }
    let text = if c.eat_ci(b"HEADER.FIELDS.NOT") {
        Some((true, true))
    } else if c.eat_ci(b"HEADER.FIELDS") {
        Some((true, false))
    } else {
        None
    };
    s.text = Some(match text {
        Some((_, not)) => {
            c.expect(b' ', ErrorKind::BadSection)?;
            c.expect(b'(', ErrorKind::BadSection)?;
            let fstart = c.pos;
            let mut count = 0;
            loop {
                c.astring().map_err(|_| ErrorKind::BadSection)?;
                count += 1;
                if count > max_args {
                    return Err(ErrorKind::TooManyArguments);
                }
                if !c.eat(b' ') {
                    break;
                }
            }
            let raw = c.buf.get(fstart..c.pos).unwrap_or(&[]);
            c.expect(b')', ErrorKind::BadSection)?;
            SectionText::HeaderFields {
                not,
                fields: HeaderList { raw, count },
            }
        }
        None if c.eat_ci(b"HEADER") => SectionText::Header,
        None if c.eat_ci(b"TEXT") => SectionText::Text,
        None if has_part && c.eat_ci(b"MIME") => SectionText::Mime,
        None => return Err(ErrorKind::BadSection),
    });
    c.expect(b']', ErrorKind::BadSection)?;
    Ok(s)
}

fn binary_part<'a>(c: &mut Cursor<'a>) -> PResult<Part<'a>> {
    c.expect(b'[', ErrorKind::BadSection)?;
    let start = c.pos;
    if !c.eat(b']') {
        part(c)?;
        let p = Part {
            raw: c.buf.get(start..c.pos).unwrap_or(&[]),
        };
        c.expect(b']', ErrorKind::BadSection)?;
        return Ok(p);
    }
    Ok(Part::default())
}

fn partial(c: &mut Cursor<'_>) -> PResult<Option<Partial>> {
    if !c.eat(b'<') {
        return Ok(None);
    }
    let offset = c.number64().map_err(|_| ErrorKind::BadSection)?;
    c.expect(b'.', ErrorKind::BadSection)?;
    let length = c.number64().map_err(|_| ErrorKind::BadSection)?;
    if length == 0 {
        return Err(ErrorKind::BadSection);
    }
    c.expect(b'>', ErrorKind::BadSection)?;
    Ok(Some(Partial { offset, length }))
}

#[derive(Debug, Clone, Copy)]
enum Name {
    Uid,
    Flags,
    Body,
    BodyPeek,
    BodyStructure,
    Envelope,
    InternalDate,
    Rfc822Size,
    Rfc822Header,
    Rfc822Text,
    Rfc822,
    Binary,
    BinaryPeek,
    BinarySize,
    ModSeq,
    EmailId,
    ThreadId,
    SaveDate,
    Preview,
}

/// Most frequent first.
const NAMES: &[(&[u8], Name)] = &[
    (b"UID", Name::Uid),
    (b"FLAGS", Name::Flags),
    (b"BODY.PEEK", Name::BodyPeek),
    (b"RFC822.SIZE", Name::Rfc822Size),
    (b"BODY", Name::Body),
    (b"BODYSTRUCTURE", Name::BodyStructure),
    (b"ENVELOPE", Name::Envelope),
    (b"INTERNALDATE", Name::InternalDate),
    (b"MODSEQ", Name::ModSeq),
    (b"RFC822.HEADER", Name::Rfc822Header),
    (b"RFC822.TEXT", Name::Rfc822Text),
    (b"RFC822", Name::Rfc822),
    (b"BINARY", Name::Binary),
    (b"BINARY.PEEK", Name::BinaryPeek),
    (b"BINARY.SIZE", Name::BinarySize),
    (b"EMAILID", Name::EmailId),
    (b"THREADID", Name::ThreadId),
    (b"SAVEDATE", Name::SaveDate),
    (b"PREVIEW", Name::Preview),
];

/// Table lookup comparing length and first letter before the
/// case-insensitive compare: no copy of the name (an upper-cased stack
/// copy caused a store-forwarding stall here, measured with perf).
fn lookup(name: &[u8]) -> Option<Name> {
    let first = name.first()?.to_ascii_uppercase();
    NAMES
        .iter()
        .find(|(k, _)| {
            k.len() == name.len() && k.first() == Some(&first) && k.eq_ignore_ascii_case(name)
        })
        .map(|&(_, n)| n)
}

pub(crate) fn fetch_attr<'a>(c: &mut Cursor<'a>, max_args: usize) -> PResult<FetchAttr<'a>> {
    let name = c.name().map_err(|_| ErrorKind::BadFetchAttribute)?;
    let kind = lookup(name).ok_or(ErrorKind::BadFetchAttribute)?;
    let a = match kind {
        Name::Uid => FetchAttr::Uid,
        Name::Flags => FetchAttr::Flags,
        Name::Body if c.peek() == Some(b'[') => {
            let section = section(c, max_args)?;
            FetchAttr::BodySection {
                peek: false,
                section,
                partial: partial(c)?,
            }
        }
        Name::BodyPeek => {
            let section = section(c, max_args)?;
            FetchAttr::BodySection {
                peek: true,
                section,
                partial: partial(c)?,
            }
        }
        Name::Body => FetchAttr::Body,
        Name::BodyStructure => FetchAttr::BodyStructure,
        Name::Envelope => FetchAttr::Envelope,
        Name::InternalDate => FetchAttr::InternalDate,
        Name::Rfc822Size => FetchAttr::Rfc822Size,
        Name::Rfc822Header => FetchAttr::Rfc822Header,
        Name::Rfc822Text => FetchAttr::Rfc822Text,
        Name::Rfc822 => FetchAttr::Rfc822,
        Name::Binary | Name::BinaryPeek => {
            let peek = matches!(kind, Name::BinaryPeek);
            let part = binary_part(c)?;
            FetchAttr::Binary {
                peek,
                part,
                partial: partial(c)?,
            }
        }
        Name::BinarySize => FetchAttr::BinarySize {
            part: binary_part(c)?,
        },
        Name::ModSeq => FetchAttr::ModSeq,
        Name::EmailId => FetchAttr::EmailId,
        Name::ThreadId => FetchAttr::ThreadId,
        Name::SaveDate => FetchAttr::SaveDate,
        Name::Preview => {
            let lazy = if c.peek() == Some(b' ') && c.peek_at(1) == Some(b'(') {
                let save = c.pos;
                c.pos += 2;
                if c.eat_ci(b"LAZY)") {
                    true
                } else {
                    c.pos = save;
                    false
                }
            } else {
                false
            };
            FetchAttr::Preview { lazy }
        }
    };
    Ok(a)
}

impl<'a> Cursor<'a> {
    /// FETCH's attribute argument: a macro, one attribute, or a list.
    pub(crate) fn fetch_attrs(&mut self, max_args: usize) -> PResult<FetchAttrs<'a>> {
        if self.eat(b'(') {
            let start = self.pos;
            let mut count = 0;
            loop {
                fetch_attr(self, max_args)?;
                count += 1;
                if count > max_args {
                    return Err(ErrorKind::TooManyArguments);
                }
                if !self.eat(b' ') {
                    break;
                }
            }
            let raw = self.buf.get(start..self.pos).unwrap_or(&[]);
            self.expect(b')', ErrorKind::BadFetchAttribute)?;
            return Ok(FetchAttrs::List { raw, count });
        }
        if self.eat_word(b"ALL") {
            return Ok(FetchAttrs::Macro(Macro::All));
        }
        if self.eat_word(b"FAST") {
            return Ok(FetchAttrs::Macro(Macro::Fast));
        }
        if self.eat_word(b"FULL") {
            return Ok(FetchAttrs::Macro(Macro::Full));
        }
        let start = self.pos;
        fetch_attr(self, max_args)?;
        Ok(FetchAttrs::List {
            raw: self.buf.get(start..self.pos).unwrap_or(&[]),
            count: 1,
        })
    }

    /// `(CHANGEDSINCE n [VANISHED])` after the attribute list.
    pub(crate) fn fetch_modifiers(&mut self, uid: bool) -> PResult<FetchModifiers> {
        let mut m = FetchModifiers::default();
        if !self.eat(b' ') {
            return Ok(m);
        }
        self.expect(b'(', ErrorKind::Syntax)?;
        loop {
            if self.eat_word(b"CHANGEDSINCE") {
                self.sp()?;
                let n = self.number64()?;
                if n == 0 || m.changed_since.is_some() {
                    return Err(ErrorKind::BadParameter);
                }
                m.changed_since = Some(n);
            } else if self.eat_word(b"VANISHED") {
                if m.vanished {
                    return Err(ErrorKind::BadParameter);
                }
                m.vanished = true;
            } else {
                return Err(ErrorKind::BadParameter);
            }
            if !self.eat(b' ') {
                break;
            }
        }
        self.expect(b')', ErrorKind::Syntax)?;
        // RFC 7162 3.2.6: VANISHED only in UID FETCH and with CHANGEDSINCE.
        if m.vanished && (!uid || m.changed_since.is_none()) {
            return Err(ErrorKind::BadParameter);
        }
        Ok(m)
    }
}
