//! The command AST and the parser of one complete, framed command.
//!
//! Hot commands (FETCH, STORE, SEARCH, NOOP, IDLE, single-message APPEND)
//! are represented with borrowed slices and validated raw lists, so parsing
//! them allocates nothing. Rare commands with open-ended lists (ENABLE, ID,
//! LIST options, METADATA, NOTIFY) use `Vec`s bounded by
//! [`Limits::max_arguments`]; an empty `Vec` does not allocate either.

use crate::cursor::{Cursor, PResult, TAG};
use crate::datetime::DateTime;
use crate::error::ErrorKind;
use crate::fetch::{FetchAttrs, FetchModifiers};
use crate::flags::FlagList;
use crate::limits::Limits;
use crate::search::{SearchKeys, SearchReturn};
use crate::sequence::{SeqNum, SequenceSet};
use crate::status::StatusItems;
use crate::string::{AString, Mailbox};

/// A parsed command borrowing from the read buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command<'a> {
    pub tag: &'a [u8],
    pub body: CommandBody<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
}

/// One message of APPEND (MULTIAPPEND sends several) or REPLACE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendMessage<'a> {
    pub flags: FlagList<'a>,
    pub date: Option<DateTime>,
    /// The message bytes, borrowed from the read buffer. To keep them
    /// without copying, freeze the consumed bytes and `Bytes::slice_ref`.
    pub data: &'a [u8],
    /// Sent as `~{n}` (BINARY, RFC 3516): may contain NUL.
    pub binary: bool,
    /// Sent as `UTF8 (~{n})` (RFC 6855).
    pub utf8: bool,
    /// `CATENATE (...)` (RFC 4469): the message is these parts joined, and
    /// `data` is empty.
    pub catenate: Option<CatParts<'a>>,
}

/// The validated parts of a CATENATE, walked lazily (like search keys) so
/// [`AppendMessage`] stays a borrow of the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatParts<'a> {
    raw: &'a [u8],
}

/// One CATENATE part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatPart<'a> {
    /// `TEXT {n}`: bytes as sent (`binary` for `~{n}`, RFC 3516).
    Text { data: &'a [u8], binary: bool },
    /// `URL "..."`: an IMAP URL (RFC 5092) of a message or part of one.
    Url(AString<'a>),
}

impl<'a> CatParts<'a> {
    pub fn iter(&self) -> impl Iterator<Item = CatPart<'a>> + 'a {
        let mut c = Cursor::new(self.raw);
        std::iter::from_fn(move || {
            if c.at_end() {
                return None;
            }
            c.eat(b' ');
            cat_part(&mut c).ok()
        })
    }
}

fn cat_part<'a>(c: &mut Cursor<'a>) -> PResult<CatPart<'a>> {
    if c.eat_word(b"TEXT") {
        c.sp()?;
        let (data, binary) = c.literal(true)?;
        Ok(CatPart::Text { data, binary })
    } else if c.eat_word(b"URL") {
        c.sp()?;
        Ok(CatPart::Url(c.astring()?))
    } else {
        Err(ErrorKind::Syntax)
    }
}

/// `CATENATE (part *(SP part))` after the word; at most `max` parts.
fn catenate<'a>(c: &mut Cursor<'a>, max: usize) -> PResult<CatParts<'a>> {
    c.sp()?;
    c.expect(b'(', ErrorKind::Syntax)?;
    let start = c.pos;
    let mut n = 0;
    loop {
        cat_part(c)?;
        n += 1;
        if n > max {
            return Err(ErrorKind::TooManyArguments);
        }
        if !c.eat(b' ') {
            break;
        }
    }
    let raw = c.buf.get(start..c.pos).unwrap_or(&[]);
    c.expect(b')', ErrorKind::Syntax)?;
    Ok(CatParts { raw })
}

/// `(QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]]))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qresync<'a> {
    pub uid_validity: u32,
    pub mod_seq: u64,
    pub known_uids: Option<SequenceSet<'a>>,
    pub seq_match: Option<(SequenceSet<'a>, SequenceSet<'a>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SelectParams<'a> {
    pub condstore: bool,
    pub qresync: Option<Qresync<'a>>,
}

/// LIST selection options (RFC 5258, RFC 6154).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListSelect {
    pub subscribed: bool,
    pub remote: bool,
    pub recursive_match: bool,
    pub special_use: bool,
}

/// LIST return options (RFC 5258, RFC 5819, RFC 6154).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListReturn {
    pub subscribed: bool,
    pub children: bool,
    pub special_use: bool,
    pub status: Option<StatusItems>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCommand<'a> {
    /// Present when the extended form `LIST (opts) ...` was used.
    pub select: Option<ListSelect>,
    pub reference: Mailbox<'a>,
    /// One pattern, or several with the extended `(p1 p2)` form.
    pub patterns: Vec<AString<'a>>,
    pub returns: Option<ListReturn>,
    /// RFC 9590 `RETURN (METADATA (entries))`: the entries to send with
    /// each listed mailbox.
    pub metadata: Option<ListMetadata<'a>>,
}

/// The METADATA return option of LIST (RFC 9590): entry names, and the
/// MAXSIZE of GETMETADATA (accepted inside the list, `(MAXSIZE n entry
/// ...)`, since entry names always start with `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListMetadata<'a> {
    pub entries: Vec<AString<'a>>,
    pub max_size: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataDepth {
    Zero,
    One,
    Infinity,
}

/// NOTIFY (RFC 5465).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notify<'a> {
    None,
    Set {
        status: bool,
        groups: Vec<NotifyGroup<'a>>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyFilter<'a> {
    Selected,
    SelectedDelayed,
    Inboxes,
    Personal,
    Subscribed,
    Subtree(Vec<Mailbox<'a>>),
    Mailboxes(Vec<Mailbox<'a>>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyGroup<'a> {
    pub filter: NotifyFilter<'a>,
    /// Event names (`MessageNew`, `FlagChange`, ...); empty for NONE.
    pub events: Vec<&'a [u8]>,
    /// FETCH attributes requested with MessageNew.
    pub message_new_fetch: Option<FetchAttrs<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandBody<'a> {
    Capability,
    Noop,
    Logout,
    StartTls,
    Authenticate {
        mechanism: &'a [u8],
        /// SASL-IR initial response: base64 as sent (`=` means empty).
        initial_response: Option<&'a [u8]>,
    },
    Login {
        user: AString<'a>,
        password: AString<'a>,
    },
    Enable {
        capabilities: Vec<&'a [u8]>,
    },
    Select {
        mailbox: Mailbox<'a>,
        params: SelectParams<'a>,
    },
    Examine {
        mailbox: Mailbox<'a>,
        params: SelectParams<'a>,
    },
    Create {
        mailbox: Mailbox<'a>,
        /// CREATE-SPECIAL-USE `(USE (\Drafts))`, names without backslash.
        special_use: Vec<&'a [u8]>,
    },
    Delete {
        mailbox: Mailbox<'a>,
    },
    Rename {
        from: Mailbox<'a>,
        to: Mailbox<'a>,
    },
    Subscribe {
        mailbox: Mailbox<'a>,
    },
    Unsubscribe {
        mailbox: Mailbox<'a>,
    },
    List(ListCommand<'a>),
    Lsub {
        reference: Mailbox<'a>,
        pattern: AString<'a>,
    },
    Namespace,
    Status {
        mailbox: Mailbox<'a>,
        items: StatusItems,
    },
    Append {
        mailbox: Mailbox<'a>,
        first: AppendMessage<'a>,
        /// MULTIAPPEND: further messages (empty, so unallocated, usually).
        more: Vec<AppendMessage<'a>>,
    },
    Idle,
    Check,
    Close,
    Unselect,
    /// RFC 8437: back to the not-authenticated state.
    Unauthenticate,
    Expunge,
    /// UID EXPUNGE (UIDPLUS).
    UidExpunge {
        set: SequenceSet<'a>,
    },
    /// RFC 5267 §4.3.5: the tags (unquoted) whose updates stop.
    CancelUpdate {
        tags: Vec<std::borrow::Cow<'a, [u8]>>,
    },
    Search {
        uid: bool,
        returns: Option<SearchReturn>,
        charset: Option<AString<'a>>,
        keys: SearchKeys<'a>,
    },
    Fetch {
        uid: bool,
        set: SequenceSet<'a>,
        attrs: FetchAttrs<'a>,
        modifiers: FetchModifiers,
    },
    Store {
        uid: bool,
        set: SequenceSet<'a>,
        unchanged_since: Option<u64>,
        mode: StoreMode,
        silent: bool,
        flags: FlagList<'a>,
    },
    Copy {
        uid: bool,
        set: SequenceSet<'a>,
        mailbox: Mailbox<'a>,
    },
    Move {
        uid: bool,
        set: SequenceSet<'a>,
        mailbox: Mailbox<'a>,
    },
    Replace {
        uid: bool,
        target: SeqNum,
        mailbox: Mailbox<'a>,
        message: AppendMessage<'a>,
    },
    Id {
        /// None for `ID NIL`.
        params: Option<Vec<(AString<'a>, Option<AString<'a>>)>>,
    },
    GetQuota {
        root: AString<'a>,
    },
    GetQuotaRoot {
        mailbox: Mailbox<'a>,
    },
    SetQuota {
        root: AString<'a>,
        limits: Vec<(&'a [u8], u64)>,
    },
    GetMetadata {
        max_size: Option<u32>,
        depth: Option<MetadataDepth>,
        mailbox: Mailbox<'a>,
        entries: Vec<AString<'a>>,
    },
    SetMetadata {
        mailbox: Mailbox<'a>,
        /// (entry, value); value None is NIL (delete). A quoted value
        /// keeps its escapes ([`AString::to_bytes`] undoes them); a
        /// literal8 (`~{n}`) is a [`AString::Literal`].
        entries: Vec<(AString<'a>, Option<AString<'a>>)>,
    },
    Notify(Notify<'a>),
    Compress {
        mechanism: &'a [u8],
    },
    /// RFC 5256 SORT; `returns` is ESORT's RETURN (RFC 5267).
    Sort {
        uid: bool,
        returns: Option<SearchReturn>,
        criteria: Vec<crate::sort::SortCriterion>,
        charset: AString<'a>,
        keys: SearchKeys<'a>,
    },
    /// RFC 5256 THREAD.
    Thread {
        uid: bool,
        algorithm: crate::sort::ThreadAlgorithm,
        charset: AString<'a>,
        keys: SearchKeys<'a>,
    },
}

impl CommandBody<'_> {
    /// Upper-case command name for logs and metrics.
    pub fn name(&self) -> &'static str {
        use CommandBody::*;
        match self {
            Capability => "CAPABILITY",
            Noop => "NOOP",
            Logout => "LOGOUT",
            StartTls => "STARTTLS",
            Authenticate { .. } => "AUTHENTICATE",
            Login { .. } => "LOGIN",
            Enable { .. } => "ENABLE",
            Select { .. } => "SELECT",
            Examine { .. } => "EXAMINE",
            Create { .. } => "CREATE",
            Delete { .. } => "DELETE",
            Rename { .. } => "RENAME",
            Subscribe { .. } => "SUBSCRIBE",
            Unsubscribe { .. } => "UNSUBSCRIBE",
            List(_) => "LIST",
            Lsub { .. } => "LSUB",
            Namespace => "NAMESPACE",
            Status { .. } => "STATUS",
            Append { .. } => "APPEND",
            Idle => "IDLE",
            Check => "CHECK",
            Close => "CLOSE",
            Unselect => "UNSELECT",
            Unauthenticate => "UNAUTHENTICATE",
            Expunge => "EXPUNGE",
            UidExpunge { .. } => "UID EXPUNGE",
            CancelUpdate { .. } => "CANCELUPDATE",
            Search { uid: false, .. } => "SEARCH",
            Search { uid: true, .. } => "UID SEARCH",
            Fetch { uid: false, .. } => "FETCH",
            Fetch { uid: true, .. } => "UID FETCH",
            Store { uid: false, .. } => "STORE",
            Store { uid: true, .. } => "UID STORE",
            Copy { uid: false, .. } => "COPY",
            Copy { uid: true, .. } => "UID COPY",
            Move { uid: false, .. } => "MOVE",
            Move { uid: true, .. } => "UID MOVE",
            Replace { uid: false, .. } => "REPLACE",
            Replace { uid: true, .. } => "UID REPLACE",
            Id { .. } => "ID",
            GetQuota { .. } => "GETQUOTA",
            GetQuotaRoot { .. } => "GETQUOTAROOT",
            SetQuota { .. } => "SETQUOTA",
            GetMetadata { .. } => "GETMETADATA",
            SetMetadata { .. } => "SETMETADATA",
            Notify(_) => "NOTIFY",
            Compress { .. } => "COMPRESS",
            Sort { uid: false, .. } => "SORT",
            Sort { uid: true, .. } => "UID SORT",
            Thread { uid: false, .. } => "THREAD",
            Thread { uid: true, .. } => "UID THREAD",
        }
    }
}

/// Which command a line starts, known from its head alone; the reader uses
/// it to pick the literal limit before any literal bytes arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Head {
    /// APPEND, REPLACE, UID REPLACE: literals carry messages.
    MessageData,
    Other,
}

const COMMANDS: &[&[u8]] = &[
    b"CAPABILITY",
    b"NOOP",
    b"LOGOUT",
    b"STARTTLS",
    b"AUTHENTICATE",
    b"LOGIN",
    b"ENABLE",
    b"SELECT",
    b"EXAMINE",
    b"CREATE",
    b"DELETE",
    b"RENAME",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"LIST",
    b"LSUB",
    b"NAMESPACE",
    b"STATUS",
    b"APPEND",
    b"IDLE",
    b"CHECK",
    b"CLOSE",
    b"UNSELECT",
    b"EXPUNGE",
    b"SEARCH",
    b"FETCH",
    b"STORE",
    b"COPY",
    b"MOVE",
    b"REPLACE",
    b"ID",
    b"GETQUOTA",
    b"GETQUOTAROOT",
    b"SETQUOTA",
    b"GETMETADATA",
    b"SETMETADATA",
    b"NOTIFY",
    b"COMPRESS",
    b"SORT",
    b"THREAD",
    b"UNAUTHENTICATE",
    b"CANCELUPDATE",
];

const UID_COMMANDS: &[&[u8]] = &[
    b"FETCH", b"STORE", b"SEARCH", b"COPY", b"MOVE", b"EXPUNGE", b"REPLACE", b"SORT", b"THREAD",
];

/// Parse `tag SP`; the tag is returned even when what follows is wrong.
pub(crate) fn parse_tag<'a>(c: &mut Cursor<'a>) -> PResult<&'a [u8]> {
    let tag = c.take_class(&TAG);
    if tag.is_empty() {
        return Err(if c.at_eol() {
            ErrorKind::EmptyLine
        } else {
            ErrorKind::BadTag
        });
    }
    match c.peek() {
        Some(b' ') => {
            c.pos += 1;
            Ok(tag)
        }
        Some(b'\r' | b'\n') | None => Err(ErrorKind::MissingCommand),
        Some(_) => Err(ErrorKind::BadTag),
    }
}

/// Check the tag and command name of a (possibly incomplete) first line.
/// `Ok(None)` means the line is too short to tell yet.
pub(crate) fn check_head(
    line: &[u8],
    complete: bool,
) -> (Option<&[u8]>, Result<Option<Head>, ErrorKind>) {
    let mut c = Cursor::new(line);
    let tag = match parse_tag(&mut c) {
        Ok(t) => t,
        Err(e) => {
            if !complete && c.at_end() {
                return (None, Ok(None));
            }
            let tag = match e {
                ErrorKind::MissingCommand => line.get(..c.pos),
                _ => None,
            };
            return (tag, Err(e));
        }
    };
    let name = c.take_class(&crate::cursor::ATOM);
    if c.at_end() && !complete {
        return (Some(tag), Ok(None));
    }
    if name.is_empty() {
        return (Some(tag), Err(ErrorKind::MissingCommand));
    }
    if name.eq_ignore_ascii_case(b"UID") {
        if !c.eat(b' ') {
            return (Some(tag), Err(ErrorKind::MissingCommand));
        }
        let sub = c.take_class(&crate::cursor::ATOM);
        if c.at_end() && !complete {
            return (Some(tag), Ok(None));
        }
        let known = crate::cursor::upper(sub)
            .is_some_and(|(u, l)| UID_COMMANDS.contains(&u.get(..l).unwrap_or(&[])));
        if !known {
            return (Some(tag), Err(ErrorKind::UnknownCommand));
        }
        let head = if sub.eq_ignore_ascii_case(b"REPLACE") {
            Head::MessageData
        } else {
            Head::Other
        };
        return (Some(tag), Ok(Some(head)));
    }
    let known = crate::cursor::upper(name)
        .is_some_and(|(u, l)| COMMANDS.contains(&u.get(..l).unwrap_or(&[])));
    if !known {
        return (Some(tag), Err(ErrorKind::UnknownCommand));
    }
    let head = if name.eq_ignore_ascii_case(b"APPEND") || name.eq_ignore_ascii_case(b"REPLACE") {
        Head::MessageData
    } else {
        Head::Other
    };
    (Some(tag), Ok(Some(head)))
}

/// Parse one complete command (`buf` ends with its final line end).
pub(crate) fn parse_command<'a>(
    buf: &'a [u8],
    lim: &Limits,
) -> Result<Command<'a>, (Option<&'a [u8]>, ErrorKind)> {
    let mut c = Cursor::new(buf);
    let tag = parse_tag(&mut c).map_err(|e| {
        // A tag alone on the line is still a readable tag.
        let tag = if e == ErrorKind::MissingCommand {
            buf.get(..c.pos)
        } else {
            None
        };
        (tag, e)
    })?;
    let body = body(&mut c, lim).map_err(|e| (Some(tag), e))?;
    Ok(Command { tag, body })
}

fn mailbox<'a>(c: &mut Cursor<'a>) -> PResult<Mailbox<'a>> {
    c.astring().map(Mailbox)
}

fn body<'a>(c: &mut Cursor<'a>, lim: &Limits) -> PResult<CommandBody<'a>> {
    let name = c.atom().map_err(|_| ErrorKind::MissingCommand)?;
    let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
    let (ubuf, ulen) = crate::cursor::upper(name).ok_or(ErrorKind::UnknownCommand)?;
    let key = ubuf.get(..ulen).unwrap_or(&[]);
    // One match on the upper-cased name instead of a chain of
    // case-insensitive comparisons (measured: the chain dominated FETCH).
    let body = match key {
        b"UID" => {
            c.sp()?;
            let sub = c.atom().map_err(|_| ErrorKind::UnknownCommand)?;
            return uid_command(c, sub, lim);
        }
        b"NOOP" => CommandBody::Noop,
        b"FETCH" => fetch(c, false, lim)?,
        b"STORE" => store(c, false, lim)?,
        b"SEARCH" => search(c, false, lim)?,
        b"SORT" => sort(c, false, lim)?,
        b"THREAD" => thread(c, false, lim)?,
        b"IDLE" => CommandBody::Idle,
        b"CAPABILITY" => CommandBody::Capability,
        b"LOGOUT" => CommandBody::Logout,
        b"STARTTLS" => CommandBody::StartTls,
        b"NAMESPACE" => CommandBody::Namespace,
        b"CHECK" => CommandBody::Check,
        b"CLOSE" => CommandBody::Close,
        b"UNSELECT" => CommandBody::Unselect,
        b"UNAUTHENTICATE" => CommandBody::Unauthenticate,
        b"EXPUNGE" => CommandBody::Expunge,
        b"LOGIN" => {
            c.sp()?;
            let user = c.astring()?;
            c.sp()?;
            CommandBody::Login {
                user,
                password: c.astring()?,
            }
        }
        b"AUTHENTICATE" => {
            c.sp()?;
            let mechanism = c.atom()?;
            let initial_response = if c.eat(b' ') {
                Some(base64_or_eq(c)?)
            } else {
                None
            };
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            }
        }
        b"ENABLE" => {
            let mut capabilities = Vec::new();
            while c.eat(b' ') {
                capabilities.push(c.atom()?);
                if capabilities.len() > lim.max_arguments {
                    return Err(ErrorKind::TooManyArguments);
                }
            }
            if capabilities.is_empty() {
                return Err(ErrorKind::MissingArguments);
            }
            CommandBody::Enable { capabilities }
        }
        b"SELECT" | b"EXAMINE" => {
            c.sp()?;
            let mailbox = mailbox(c)?;
            let params = select_params(c, lim)?;
            if is(b"SELECT") {
                CommandBody::Select { mailbox, params }
            } else {
                CommandBody::Examine { mailbox, params }
            }
        }
        b"CREATE" => {
            c.sp()?;
            let mailbox = mailbox(c)?;
            let mut special_use = Vec::new();
            if c.eat(b' ') {
                c.expect(b'(', ErrorKind::Syntax)?;
                if !c.eat_word(b"USE") {
                    return Err(ErrorKind::BadParameter);
                }
                c.sp()?;
                c.expect(b'(', ErrorKind::Syntax)?;
                loop {
                    c.expect(b'\\', ErrorKind::BadParameter)?;
                    special_use.push(c.atom()?);
                    if special_use.len() > lim.max_arguments {
                        return Err(ErrorKind::TooManyArguments);
                    }
                    if !c.eat(b' ') {
                        break;
                    }
                }
                c.expect(b')', ErrorKind::Syntax)?;
                c.expect(b')', ErrorKind::Syntax)?;
            }
            CommandBody::Create {
                mailbox,
                special_use,
            }
        }
        b"DELETE" => {
            c.sp()?;
            CommandBody::Delete {
                mailbox: mailbox(c)?,
            }
        }
        b"RENAME" => {
            c.sp()?;
            let from = mailbox(c)?;
            c.sp()?;
            CommandBody::Rename {
                from,
                to: mailbox(c)?,
            }
        }
        b"SUBSCRIBE" => {
            c.sp()?;
            CommandBody::Subscribe {
                mailbox: mailbox(c)?,
            }
        }
        b"UNSUBSCRIBE" => {
            c.sp()?;
            CommandBody::Unsubscribe {
                mailbox: mailbox(c)?,
            }
        }
        b"LIST" => list(c, lim)?,
        b"LSUB" => {
            c.sp()?;
            let reference = mailbox(c)?;
            c.sp()?;
            CommandBody::Lsub {
                reference,
                pattern: c.list_mailbox()?,
            }
        }
        b"STATUS" => {
            c.sp()?;
            let mailbox = mailbox(c)?;
            c.sp()?;
            CommandBody::Status {
                mailbox,
                items: c.status_items(lim.max_arguments)?,
            }
        }
        b"APPEND" => append(c, lim)?,
        b"COPY" | b"MOVE" => copy_move(c, false, is(b"MOVE"), lim)?,
        b"REPLACE" => replace(c, false, lim)?,
        b"ID" => id(c, lim)?,
        b"GETQUOTA" => {
            c.sp()?;
            CommandBody::GetQuota { root: c.astring()? }
        }
        b"GETQUOTAROOT" => {
            c.sp()?;
            CommandBody::GetQuotaRoot {
                mailbox: mailbox(c)?,
            }
        }
        b"SETQUOTA" => {
            c.sp()?;
            let root = c.astring()?;
            c.sp()?;
            c.expect(b'(', ErrorKind::Syntax)?;
            let mut limits = Vec::new();
            if !c.eat(b')') {
                loop {
                    let res = c.atom()?;
                    c.sp()?;
                    limits.push((res, c.number64()?));
                    if limits.len() > lim.max_arguments {
                        return Err(ErrorKind::TooManyArguments);
                    }
                    if !c.eat(b' ') {
                        break;
                    }
                }
                c.expect(b')', ErrorKind::Syntax)?;
            }
            CommandBody::SetQuota { root, limits }
        }
        b"GETMETADATA" => get_metadata(c, lim)?,
        b"SETMETADATA" => set_metadata(c, lim)?,
        b"NOTIFY" => notify(c, lim)?,
        b"CANCELUPDATE" => {
            // RFC 5267 §5: 1*(SP quoted).
            let mut tags = Vec::new();
            while c.eat(b' ') {
                if c.peek() != Some(b'"') {
                    return Err(ErrorKind::Syntax);
                }
                tags.push(AString::Quoted(c.quoted()?).to_bytes());
                if tags.len() > lim.max_arguments {
                    return Err(ErrorKind::TooManyArguments);
                }
            }
            if tags.is_empty() {
                return Err(ErrorKind::MissingArguments);
            }
            CommandBody::CancelUpdate { tags }
        }
        b"COMPRESS" => {
            c.sp()?;
            CommandBody::Compress {
                mechanism: c.atom()?,
            }
        }
        _ => return Err(ErrorKind::UnknownCommand),
    };
    c.eol()?;
    Ok(body)
}

fn uid_command<'a>(c: &mut Cursor<'a>, sub: &'a [u8], lim: &Limits) -> PResult<CommandBody<'a>> {
    let is = |n: &[u8]| sub.eq_ignore_ascii_case(n);
    let (ubuf, ulen) = crate::cursor::upper(sub).ok_or(ErrorKind::UnknownCommand)?;
    let key = ubuf.get(..ulen).unwrap_or(&[]);
    let body = match key {
        b"FETCH" => fetch(c, true, lim)?,
        b"STORE" => store(c, true, lim)?,
        b"SEARCH" => search(c, true, lim)?,
        b"SORT" => sort(c, true, lim)?,
        b"THREAD" => thread(c, true, lim)?,
        b"COPY" | b"MOVE" => copy_move(c, true, is(b"MOVE"), lim)?,
        b"EXPUNGE" => {
            c.sp()?;
            CommandBody::UidExpunge {
                set: c.sequence_set(lim.max_sequence_ranges)?,
            }
        }
        b"REPLACE" => replace(c, true, lim)?,
        _ => return Err(ErrorKind::UnknownCommand),
    };
    c.eol()?;
    Ok(body)
}

fn fetch<'a>(c: &mut Cursor<'a>, uid: bool, lim: &Limits) -> PResult<CommandBody<'a>> {
    c.sp()?;
    let set = c.sequence_set(lim.max_sequence_ranges)?;
    c.sp()?;
    let attrs = c.fetch_attrs(lim.max_arguments)?;
    let modifiers = c.fetch_modifiers(uid)?;
    Ok(CommandBody::Fetch {
        uid,
        set,
        attrs,
        modifiers,
    })
}

fn store<'a>(c: &mut Cursor<'a>, uid: bool, lim: &Limits) -> PResult<CommandBody<'a>> {
    c.sp()?;
    let set = c.sequence_set(lim.max_sequence_ranges)?;
    c.sp()?;
    let mut unchanged_since = None;
    if c.eat(b'(') {
        if !c.eat_word(b"UNCHANGEDSINCE") {
            return Err(ErrorKind::BadParameter);
        }
        c.sp()?;
        unchanged_since = Some(c.number64()?);
        c.expect(b')', ErrorKind::Syntax)?;
        c.sp()?;
    }
    let mode = if c.eat(b'+') {
        StoreMode::Add
    } else if c.eat(b'-') {
        StoreMode::Remove
    } else {
        StoreMode::Replace
    };
    if !c.eat_ci(b"FLAGS") {
        return Err(ErrorKind::BadStoreAction);
    }
    let silent = c.eat_ci(b".SILENT");
    if !matches!(c.peek(), Some(b' ')) {
        return Err(if c.at_eol() {
            ErrorKind::MissingArguments
        } else {
            ErrorKind::BadStoreAction
        });
    }
    c.pos += 1;
    let flags = c.flag_list(lim.max_arguments, true)?;
    Ok(CommandBody::Store {
        uid,
        set,
        unchanged_since,
        mode,
        silent,
        flags,
    })
}

fn search<'a>(c: &mut Cursor<'a>, uid: bool, lim: &Limits) -> PResult<CommandBody<'a>> {
    c.sp()?;
    let (returns, charset, keys) =
        c.search_args(lim.max_depth, lim.max_arguments, lim.max_sequence_ranges)?;
    Ok(CommandBody::Search {
        uid,
        returns,
        charset,
        keys,
    })
}

fn sort<'a>(c: &mut Cursor<'a>, uid: bool, lim: &Limits) -> PResult<CommandBody<'a>> {
    c.sp()?;
    let (returns, criteria, charset, keys) = crate::sort::sort_args(c, lim)?;
    Ok(CommandBody::Sort {
        uid,
        returns,
        criteria,
        charset,
        keys,
    })
}

fn thread<'a>(c: &mut Cursor<'a>, uid: bool, lim: &Limits) -> PResult<CommandBody<'a>> {
    c.sp()?;
    let (algorithm, charset, keys) = crate::sort::thread_args(c, lim)?;
    Ok(CommandBody::Thread {
        uid,
        algorithm,
        charset,
        keys,
    })
}

fn copy_move<'a>(
    c: &mut Cursor<'a>,
    uid: bool,
    is_move: bool,
    lim: &Limits,
) -> PResult<CommandBody<'a>> {
    c.sp()?;
    let set = c.sequence_set(lim.max_sequence_ranges)?;
    c.sp()?;
    let mailbox = mailbox(c)?;
    Ok(if is_move {
        CommandBody::Move { uid, set, mailbox }
    } else {
        CommandBody::Copy { uid, set, mailbox }
    })
}

/// SASL-IR initial response or AUTHENTICATE line: base64 or "=".
pub(crate) fn base64_or_eq<'a>(c: &mut Cursor<'a>) -> PResult<&'a [u8]> {
    if c.eat(b'=') {
        return Ok(b"=");
    }
    let start = c.pos;
    while matches!(
        c.peek(),
        Some(b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/')
    ) {
        c.pos += 1;
    }
    let mut pad = 0;
    while c.eat(b'=') {
        pad += 1;
    }
    let s = c.buf.get(start..c.pos).unwrap_or(&[]);
    if s.is_empty() || s.len() % 4 != 0 || pad > 2 {
        return Err(ErrorKind::BadBase64);
    }
    Ok(s)
}

fn select_params<'a>(c: &mut Cursor<'a>, lim: &Limits) -> PResult<SelectParams<'a>> {
    let mut p = SelectParams::default();
    if !c.eat(b' ') {
        return Ok(p);
    }
    c.expect(b'(', ErrorKind::Syntax)?;
    loop {
        if c.eat_word(b"CONDSTORE") {
            p.condstore = true;
        } else if c.eat_word(b"QRESYNC") {
            if p.qresync.is_some() {
                return Err(ErrorKind::BadParameter);
            }
            c.sp()?;
            c.expect(b'(', ErrorKind::Syntax)?;
            let uid_validity = c.nz_number()?;
            c.sp()?;
            let mod_seq = c.number64()?;
            let mut q = Qresync {
                uid_validity,
                mod_seq,
                known_uids: None,
                seq_match: None,
            };
            if c.eat(b' ') {
                if c.peek() != Some(b'(') {
                    let set = c.sequence_set(lim.max_sequence_ranges)?;
                    if set.is_saved() {
                        return Err(ErrorKind::BadSequenceSet);
                    }
                    q.known_uids = Some(set);
                    if c.eat(b' ') {
                        q.seq_match = Some(seq_match(c, lim)?);
                    }
                } else {
                    q.seq_match = Some(seq_match(c, lim)?);
                }
            }
            c.expect(b')', ErrorKind::Syntax)?;
            p.qresync = Some(q);
        } else {
            return Err(ErrorKind::BadParameter);
        }
        if !c.eat(b' ') {
            break;
        }
    }
    c.expect(b')', ErrorKind::Syntax)?;
    Ok(p)
}

fn seq_match<'a>(c: &mut Cursor<'a>, lim: &Limits) -> PResult<(SequenceSet<'a>, SequenceSet<'a>)> {
    c.expect(b'(', ErrorKind::Syntax)?;
    let a = c.sequence_set(lim.max_sequence_ranges)?;
    c.sp()?;
    let b = c.sequence_set(lim.max_sequence_ranges)?;
    c.expect(b')', ErrorKind::Syntax)?;
    Ok((a, b))
}

fn list<'a>(c: &mut Cursor<'a>, lim: &Limits) -> PResult<CommandBody<'a>> {
    c.sp()?;
    let mut select = None;
    if c.eat(b'(') {
        let mut s = ListSelect::default();
        if !c.eat(b')') {
            loop {
                let opt = c.atom()?;
                let is = |n: &[u8]| opt.eq_ignore_ascii_case(n);
                if is(b"SUBSCRIBED") {
                    s.subscribed = true;
                } else if is(b"REMOTE") {
                    s.remote = true;
                } else if is(b"RECURSIVEMATCH") {
                    s.recursive_match = true;
                } else if is(b"SPECIAL-USE") {
                    s.special_use = true;
                } else {
                    return Err(ErrorKind::BadParameter);
                }
                if !c.eat(b' ') {
                    break;
                }
            }
            c.expect(b')', ErrorKind::Syntax)?;
        }
        // RFC 5258 3.1: RECURSIVEMATCH alone is an error.
        if s.recursive_match && !(s.subscribed || s.special_use) {
            return Err(ErrorKind::BadParameter);
        }
        select = Some(s);
        c.sp()?;
    }
    let reference = mailbox(c)?;
    c.sp()?;
    let mut patterns = Vec::with_capacity(1);
    if c.eat(b'(') {
        loop {
            patterns.push(c.list_mailbox()?);
            if patterns.len() > lim.max_arguments {
                return Err(ErrorKind::TooManyArguments);
            }
            if !c.eat(b' ') {
                break;
            }
        }
        c.expect(b')', ErrorKind::Syntax)?;
    } else {
        patterns.push(c.list_mailbox()?);
    }
    let mut returns = None;
    let mut metadata = None;
    if c.eat(b' ') {
        if !c.eat_word(b"RETURN") {
            return Err(ErrorKind::BadParameter);
        }
        c.sp()?;
        c.expect(b'(', ErrorKind::Syntax)?;
        let mut r = ListReturn::default();
        if !c.eat(b')') {
            loop {
                let opt = c.atom()?;
                let is = |n: &[u8]| opt.eq_ignore_ascii_case(n);
                if is(b"SUBSCRIBED") {
                    r.subscribed = true;
                } else if is(b"CHILDREN") {
                    r.children = true;
                } else if is(b"SPECIAL-USE") {
                    r.special_use = true;
                } else if is(b"STATUS") {
                    c.sp()?;
                    r.status = Some(c.status_items(lim.max_arguments)?);
                } else if is(b"METADATA") && metadata.is_none() {
                    c.sp()?;
                    metadata = Some(list_metadata(c, lim)?);
                } else {
                    return Err(ErrorKind::BadParameter);
                }
                if !c.eat(b' ') {
                    break;
                }
            }
            c.expect(b')', ErrorKind::Syntax)?;
        }
        returns = Some(r);
    }
    Ok(CommandBody::List(ListCommand {
        select,
        reference,
        patterns,
        returns,
        metadata,
    }))
}

fn list_metadata<'a>(c: &mut Cursor<'a>, lim: &Limits) -> PResult<ListMetadata<'a>> {
    let mut m = ListMetadata {
        entries: Vec::new(),
        max_size: None,
    };
    if !c.eat(b'(') {
        m.entries.push(c.astring()?);
        return Ok(m);
    }
    loop {
        if m.max_size.is_none() && c.eat_word(b"MAXSIZE") {
            c.sp()?;
            m.max_size = Some(c.number()?);
        } else {
            m.entries.push(c.astring()?);
            if m.entries.len() > lim.max_arguments {
                return Err(ErrorKind::TooManyArguments);
            }
        }
        if !c.eat(b' ') {
            break;
        }
    }
    c.expect(b')', ErrorKind::Syntax)?;
    if m.entries.is_empty() {
        return Err(ErrorKind::MissingArguments);
    }
    Ok(m)
}

fn append_message<'a>(c: &mut Cursor<'a>, lim: &Limits) -> PResult<AppendMessage<'a>> {
    let mut flags = FlagList::default();
    let mut date = None;
    if c.peek() == Some(b'(') {
        flags = c.flag_list(lim.max_arguments, false)?;
        c.sp()?;
    }
    if c.peek() == Some(b'"') {
        date = Some(c.date_time()?);
        c.sp()?;
    }
    if c.eat_word(b"CATENATE") {
        let parts = catenate(c, lim.max_arguments)?;
        return Ok(AppendMessage {
            flags,
            date,
            data: &[],
            binary: false,
            utf8: false,
            catenate: Some(parts),
        });
    }
    let (data, binary, utf8) = if c.eat_word(b"UTF8") {
        c.sp()?;
        c.expect(b'(', ErrorKind::Syntax)?;
        if c.peek() != Some(b'~') {
            return Err(ErrorKind::BadLiteral);
        }
        let (d, _) = c.literal(true)?;
        c.expect(b')', ErrorKind::Syntax)?;
        (d, true, true)
    } else {
        match c.peek() {
            Some(b'{' | b'~') => {
                let (d, b) = c.literal(true)?;
                (d, b, false)
            }
            None | Some(b'\r' | b'\n') => return Err(ErrorKind::MissingArguments),
            _ => return Err(ErrorKind::BadLiteral),
        }
    };
    Ok(AppendMessage {
        flags,
        date,
        data,
        binary,
        utf8,
        catenate: None,
    })
}

fn append<'a>(c: &mut Cursor<'a>, lim: &Limits) -> PResult<CommandBody<'a>> {
    c.sp()?;
    let mailbox = mailbox(c)?;
    c.sp()?;
    let first = append_message(c, lim)?;
    let mut more = Vec::new();
    while c.eat(b' ') {
        more.push(append_message(c, lim)?);
        if more.len() >= lim.max_arguments {
            return Err(ErrorKind::TooManyArguments);
        }
    }
    Ok(CommandBody::Append {
        mailbox,
        first,
        more,
    })
}

fn replace<'a>(c: &mut Cursor<'a>, uid: bool, lim: &Limits) -> PResult<CommandBody<'a>> {
    c.sp()?;
    let target = c.seq_number()?;
    c.sp()?;
    let mailbox = mailbox(c)?;
    c.sp()?;
    let message = append_message(c, lim)?;
    Ok(CommandBody::Replace {
        uid,
        target,
        mailbox,
        message,
    })
}

fn id<'a>(c: &mut Cursor<'a>, lim: &Limits) -> PResult<CommandBody<'a>> {
    c.sp()?;
    if c.eat_word(b"NIL") {
        return Ok(CommandBody::Id { params: None });
    }
    c.expect(b'(', ErrorKind::Syntax)?;
    let mut params = Vec::new();
    if !c.eat(b')') {
        loop {
            let k = c.string()?;
            c.sp()?;
            let v = c.nstring()?;
            params.push((k, v));
            // RFC 2971 caps ID at 30 pairs.
            if params.len() > 30.min(lim.max_arguments) {
                return Err(ErrorKind::TooManyArguments);
            }
            if !c.eat(b' ') {
                break;
            }
        }
        c.expect(b')', ErrorKind::Syntax)?;
    }
    Ok(CommandBody::Id {
        params: Some(params),
    })
}

fn get_metadata<'a>(c: &mut Cursor<'a>, lim: &Limits) -> PResult<CommandBody<'a>> {
    c.sp()?;
    let mut max_size = None;
    let mut depth = None;
    if c.eat(b'(') {
        loop {
            if c.eat_word(b"MAXSIZE") {
                c.sp()?;
                max_size = Some(c.number()?);
            } else if c.eat_word(b"DEPTH") {
                c.sp()?;
                depth = Some(if c.eat_word(b"0") {
                    MetadataDepth::Zero
                } else if c.eat_word(b"1") {
                    MetadataDepth::One
                } else if c.eat_word(b"infinity") {
                    MetadataDepth::Infinity
                } else {
                    return Err(ErrorKind::BadParameter);
                });
            } else {
                return Err(ErrorKind::BadParameter);
            }
            if !c.eat(b' ') {
                break;
            }
        }
        c.expect(b')', ErrorKind::Syntax)?;
        c.sp()?;
    }
    let mailbox = mailbox(c)?;
    c.sp()?;
    let mut entries = Vec::new();
    if c.eat(b'(') {
        loop {
            entries.push(c.astring()?);
            if entries.len() > lim.max_arguments {
                return Err(ErrorKind::TooManyArguments);
            }
            if !c.eat(b' ') {
                break;
            }
        }
        c.expect(b')', ErrorKind::Syntax)?;
    } else {
        entries.push(c.astring()?);
    }
    Ok(CommandBody::GetMetadata {
        max_size,
        depth,
        mailbox,
        entries,
    })
}

fn set_metadata<'a>(c: &mut Cursor<'a>, lim: &Limits) -> PResult<CommandBody<'a>> {
    c.sp()?;
    let mailbox = mailbox(c)?;
    c.sp()?;
    c.expect(b'(', ErrorKind::Syntax)?;
    let mut entries = Vec::new();
    loop {
        let entry = c.astring()?;
        c.sp()?;
        let value = match c.peek() {
            Some(b'~') => Some(AString::Literal(c.literal(true)?.0)),
            _ => c.nstring()?,
        };
        entries.push((entry, value));
        if entries.len() > lim.max_arguments {
            return Err(ErrorKind::TooManyArguments);
        }
        if !c.eat(b' ') {
            break;
        }
    }
    c.expect(b')', ErrorKind::Syntax)?;
    Ok(CommandBody::SetMetadata { mailbox, entries })
}

fn mailbox_list<'a>(c: &mut Cursor<'a>, lim: &Limits) -> PResult<Vec<Mailbox<'a>>> {
    let mut v = Vec::new();
    if c.eat(b'(') {
        loop {
            v.push(mailbox(c)?);
            if v.len() > lim.max_arguments {
                return Err(ErrorKind::TooManyArguments);
            }
            if !c.eat(b' ') {
                break;
            }
        }
        c.expect(b')', ErrorKind::Syntax)?;
    } else {
        v.push(mailbox(c)?);
    }
    Ok(v)
}

fn notify<'a>(c: &mut Cursor<'a>, lim: &Limits) -> PResult<CommandBody<'a>> {
    c.sp()?;
    if c.eat_word(b"NONE") {
        return Ok(CommandBody::Notify(Notify::None));
    }
    if !c.eat_word(b"SET") {
        return Err(ErrorKind::BadParameter);
    }
    c.sp()?;
    let mut status = false;
    if c.eat_word(b"STATUS") {
        status = true;
        c.sp()?;
    }
    let mut groups = Vec::new();
    loop {
        c.expect(b'(', ErrorKind::Syntax)?;
        let filter = if c.eat_word(b"selected-delayed") {
            NotifyFilter::SelectedDelayed
        } else if c.eat_word(b"selected") {
            NotifyFilter::Selected
        } else if c.eat_word(b"inboxes") {
            NotifyFilter::Inboxes
        } else if c.eat_word(b"personal") {
            NotifyFilter::Personal
        } else if c.eat_word(b"subscribed") {
            NotifyFilter::Subscribed
        } else if c.eat_word(b"subtree") {
            c.sp()?;
            NotifyFilter::Subtree(mailbox_list(c, lim)?)
        } else if c.eat_word(b"mailboxes") {
            c.sp()?;
            NotifyFilter::Mailboxes(mailbox_list(c, lim)?)
        } else {
            return Err(ErrorKind::BadParameter);
        };
        c.sp()?;
        let mut events = Vec::new();
        let mut message_new_fetch = None;
        if !c.eat_word(b"NONE") {
            c.expect(b'(', ErrorKind::Syntax)?;
            loop {
                // RFC 5465: `event-ext = atom`. An event the server does
                // not know is the session's `NO [BADEVENT ...]`, not a BAD.
                let ev = c.atom()?;
                if ev.eq_ignore_ascii_case(b"MessageNew")
                    && c.peek() == Some(b' ')
                    && c.peek_at(1) == Some(b'(')
                {
                    c.pos += 1;
                    message_new_fetch = Some(c.fetch_attrs(lim.max_arguments)?);
                }
                events.push(ev);
                if events.len() > lim.max_arguments {
                    return Err(ErrorKind::TooManyArguments);
                }
                if !c.eat(b' ') {
                    break;
                }
            }
            c.expect(b')', ErrorKind::Syntax)?;
        }
        c.expect(b')', ErrorKind::Syntax)?;
        groups.push(NotifyGroup {
            filter,
            events,
            message_new_fetch,
        });
        if groups.len() > lim.max_arguments {
            return Err(ErrorKind::TooManyArguments);
        }
        if !c.eat(b' ') {
            break;
        }
    }
    Ok(CommandBody::Notify(Notify::Set { status, groups }))
}
