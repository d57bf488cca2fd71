//! Response encoder: writes server responses straight into the session's
//! `BytesMut`. Nothing here formats through a `String`; message bytes are
//! either appended once or, for large bodies, left to the caller to queue
//! after the literal header this module writes (see [`FetchResponse`]).

use bytes::{BufMut, BytesMut};

use crate::cursor::ASTRING;
use crate::datetime::{DateTime, MONTHS};
use crate::error::{ParseError, Recovery, Status};
use crate::fetch::{Part, Section, SectionText};
use crate::status::StatusItem;

/// Quoted strings longer than this are sent as literals: clients handle
/// both, and a literal avoids scanning for characters to escape.
const MAX_QUOTED: usize = 1024;

/// Status of a tagged or untagged condition response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespStatus {
    Ok,
    No,
    Bad,
    PreAuth,
    Bye,
}

impl RespStatus {
    fn as_bytes(self) -> &'static [u8] {
        match self {
            RespStatus::Ok => b"OK",
            RespStatus::No => b"NO",
            RespStatus::Bad => b"BAD",
            RespStatus::PreAuth => b"PREAUTH",
            RespStatus::Bye => b"BYE",
        }
    }
}

/// Response codes (RFC 9051 7.1 and extensions). Sets are given as
/// inclusive ranges, already resolved by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code<'a> {
    Alert,
    AlreadyExists,
    AppendUid {
        uid_validity: u32,
        uids: &'a [(u32, u32)],
    },
    AuthenticationFailed,
    AuthorizationFailed,
    BadCharset,
    Cannot,
    Capability(&'a [&'a str]),
    ClientBug,
    Closed,
    CompressionActive,
    ContactAdmin,
    CopyUid {
        uid_validity: u32,
        source: &'a [(u32, u32)],
        dest: &'a [(u32, u32)],
    },
    Corruption,
    Expired,
    ExpungeIssued,
    HasChildren,
    HighestModSeq(u64),
    InUse,
    Limit,
    MailboxId(&'a [u8]),
    /// RFC 9738: the command did the first n messages of its set.
    MessageLimit(u32),
    Modified(&'a [(u32, u32)]),
    NoModSeq,
    NonExistent,
    NoPerm,
    NotSaved,
    OverQuota,
    Parse,
    PermanentFlags(&'a [&'a str]),
    PrivacyRequired,
    ReadOnly,
    ReadWrite,
    ServerBug,
    TooBig,
    TryCreate,
    UidNext(u32),
    UidNotSticky,
    UidValidity(u32),
    Unavailable,
    UnknownCte,
    Unseen(u32),
    UseAttr,
    /// Anything else, written verbatim between the brackets.
    Other(&'a str),
}

/// Append a decimal number.
pub fn number(buf: &mut BytesMut, n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut n = n;
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8; // ok: i >= 0 since u64 has at most 20 digits
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(tmp.get(i..).unwrap_or(&[]));
}

/// A sequence set from inclusive ranges, e.g. `1:3,7`.
pub fn seq_set(buf: &mut BytesMut, ranges: &[(u32, u32)]) {
    for (i, &(a, b)) in ranges.iter().enumerate() {
        if i > 0 {
            buf.put_u8(b',');
        }
        number(buf, u64::from(a));
        if a != b {
            buf.put_u8(b':');
            number(buf, u64::from(b));
        }
    }
}

fn code(buf: &mut BytesMut, c: &Code<'_>) {
    buf.put_u8(b'[');
    let simple: &[u8] = match c {
        Code::Alert => b"ALERT",
        Code::AlreadyExists => b"ALREADYEXISTS",
        Code::AuthenticationFailed => b"AUTHENTICATIONFAILED",
        Code::AuthorizationFailed => b"AUTHORIZATIONFAILED",
        Code::BadCharset => b"BADCHARSET (UTF-8 US-ASCII)",
        Code::Cannot => b"CANNOT",
        Code::ClientBug => b"CLIENTBUG",
        Code::Closed => b"CLOSED",
        Code::CompressionActive => b"COMPRESSIONACTIVE",
        Code::ContactAdmin => b"CONTACTADMIN",
        Code::Corruption => b"CORRUPTION",
        Code::Expired => b"EXPIRED",
        Code::ExpungeIssued => b"EXPUNGEISSUED",
        Code::HasChildren => b"HASCHILDREN",
        Code::InUse => b"INUSE",
        Code::Limit => b"LIMIT",
        Code::NoModSeq => b"NOMODSEQ",
        Code::NonExistent => b"NONEXISTENT",
        Code::NoPerm => b"NOPERM",
        Code::NotSaved => b"NOTSAVED",
        Code::OverQuota => b"OVERQUOTA",
        Code::Parse => b"PARSE",
        Code::PrivacyRequired => b"PRIVACYREQUIRED",
        Code::ReadOnly => b"READ-ONLY",
        Code::ReadWrite => b"READ-WRITE",
        Code::ServerBug => b"SERVERBUG",
        Code::TooBig => b"TOOBIG",
        Code::TryCreate => b"TRYCREATE",
        Code::UidNotSticky => b"UIDNOTSTICKY",
        Code::Unavailable => b"UNAVAILABLE",
        Code::UnknownCte => b"UNKNOWN-CTE",
        Code::UseAttr => b"USEATTR",
        Code::Other(s) => s.as_bytes(),
        _ => b"",
    };
    buf.extend_from_slice(simple);
    match *c {
        Code::AppendUid { uid_validity, uids } => {
            buf.extend_from_slice(b"APPENDUID ");
            number(buf, u64::from(uid_validity));
            buf.put_u8(b' ');
            seq_set(buf, uids);
        }
        Code::CopyUid {
            uid_validity,
            source,
            dest,
        } => {
            buf.extend_from_slice(b"COPYUID ");
            number(buf, u64::from(uid_validity));
            buf.put_u8(b' ');
            seq_set(buf, source);
            buf.put_u8(b' ');
            seq_set(buf, dest);
        }
        Code::Capability(caps) => {
            buf.extend_from_slice(b"CAPABILITY");
            for c in caps {
                buf.put_u8(b' ');
                buf.extend_from_slice(c.as_bytes());
            }
        }
        Code::HighestModSeq(n) => {
            buf.extend_from_slice(b"HIGHESTMODSEQ ");
            number(buf, n);
        }
        Code::MessageLimit(n) => {
            buf.extend_from_slice(b"MESSAGELIMIT ");
            number(buf, u64::from(n));
        }
        Code::MailboxId(id) => {
            buf.extend_from_slice(b"MAILBOXID (");
            buf.extend_from_slice(id);
            buf.put_u8(b')');
        }
        Code::Modified(set) => {
            buf.extend_from_slice(b"MODIFIED ");
            seq_set(buf, set);
        }
        Code::PermanentFlags(flags) => {
            buf.extend_from_slice(b"PERMANENTFLAGS (");
            for (i, f) in flags.iter().enumerate() {
                if i > 0 {
                    buf.put_u8(b' ');
                }
                buf.extend_from_slice(f.as_bytes());
            }
            buf.put_u8(b')');
        }
        Code::UidNext(n) => {
            buf.extend_from_slice(b"UIDNEXT ");
            number(buf, u64::from(n));
        }
        Code::UidValidity(n) => {
            buf.extend_from_slice(b"UIDVALIDITY ");
            number(buf, u64::from(n));
        }
        Code::Unseen(n) => {
            buf.extend_from_slice(b"UNSEEN ");
            number(buf, u64::from(n));
        }
        _ => {}
    }
    buf.extend_from_slice(b"] ");
}

/// Strip CR/LF from human text so it can never break the line structure.
fn text(buf: &mut BytesMut, t: &str) {
    let t = if t.is_empty() { "OK" } else { t };
    for chunk in t.as_bytes().split(|&b| b == b'\r' || b == b'\n') {
        buf.extend_from_slice(chunk);
    }
}

/// `tag OK [CODE] text`.
pub fn tagged(buf: &mut BytesMut, tag: &[u8], status: RespStatus, c: Option<&Code<'_>>, t: &str) {
    buf.extend_from_slice(tag);
    buf.put_u8(b' ');
    buf.extend_from_slice(status.as_bytes());
    buf.put_u8(b' ');
    if let Some(c) = c {
        code(buf, c);
    }
    text(buf, t);
    buf.extend_from_slice(b"\r\n");
}

/// `* OK [CODE] text` (also NO, BAD, PREAUTH, BYE).
pub fn untagged_status(buf: &mut BytesMut, status: RespStatus, c: Option<&Code<'_>>, t: &str) {
    tagged(buf, b"*", status, c, t);
}

/// `* BYE [CODE] text`.
pub fn bye(buf: &mut BytesMut, c: Option<&Code<'_>>, t: &str) {
    untagged_status(buf, RespStatus::Bye, c, t);
}

/// `+ text`.
pub fn continuation(buf: &mut BytesMut, t: &str) {
    buf.extend_from_slice(b"+ ");
    text(buf, t);
    buf.extend_from_slice(b"\r\n");
}

/// `+ <base64>` for a SASL challenge the caller already encoded.
pub fn continuation_base64(buf: &mut BytesMut, b64: &[u8]) {
    buf.extend_from_slice(b"+ ");
    buf.extend_from_slice(b64);
    buf.extend_from_slice(b"\r\n");
}

/// The response a [`ParseError`] calls for: tagged (or untagged when the
/// tag was unreadable) BAD/NO, or `BYE` when the connection must close.
pub fn parse_error(buf: &mut BytesMut, e: &ParseError<'_>) {
    let c = e.code.map(|c| match c {
        crate::error::ErrorCode::TooBig => Code::TooBig,
        crate::error::ErrorCode::Limit => Code::Limit,
        crate::error::ErrorCode::BadCharset => Code::BadCharset,
        crate::error::ErrorCode::ClientBug => Code::ClientBug,
        crate::error::ErrorCode::Parse => Code::Parse,
    });
    if e.recovery == Recovery::Close {
        bye(buf, c.as_ref(), e.text());
        return;
    }
    let status = match e.status {
        Status::Bad => RespStatus::Bad,
        Status::No => RespStatus::No,
    };
    tagged(buf, e.tag.unwrap_or(b"*"), status, c.as_ref(), e.text());
}

/// `* n EXISTS`.
pub fn exists(buf: &mut BytesMut, n: u32) {
    buf.extend_from_slice(b"* ");
    number(buf, u64::from(n));
    buf.extend_from_slice(b" EXISTS\r\n");
}

/// `* n RECENT` (IMAP4rev1 only).
pub fn recent(buf: &mut BytesMut, n: u32) {
    buf.extend_from_slice(b"* ");
    number(buf, u64::from(n));
    buf.extend_from_slice(b" RECENT\r\n");
}

/// `* seq EXPUNGE`.
pub fn expunge(buf: &mut BytesMut, seq: u32) {
    buf.extend_from_slice(b"* ");
    number(buf, u64::from(seq));
    buf.extend_from_slice(b" EXPUNGE\r\n");
}

/// `* VANISHED [(EARLIER)] uids` (QRESYNC).
pub fn vanished(buf: &mut BytesMut, earlier: bool, uids: &[(u32, u32)]) {
    buf.extend_from_slice(b"* VANISHED ");
    if earlier {
        buf.extend_from_slice(b"(EARLIER) ");
    }
    seq_set(buf, uids);
    buf.extend_from_slice(b"\r\n");
}

/// `(f1 f2)`; flag names as stored, e.g. `\Seen`, `$Junk`.
pub fn flag_list<'f>(buf: &mut BytesMut, flags: impl IntoIterator<Item = &'f [u8]>) {
    buf.put_u8(b'(');
    for (i, f) in flags.into_iter().enumerate() {
        if i > 0 {
            buf.put_u8(b' ');
        }
        buf.extend_from_slice(f);
    }
    buf.put_u8(b')');
}

/// `* FLAGS (...)`.
pub fn flags<'f>(buf: &mut BytesMut, fl: impl IntoIterator<Item = &'f [u8]>) {
    buf.extend_from_slice(b"* FLAGS ");
    flag_list(buf, fl);
    buf.extend_from_slice(b"\r\n");
}

fn word_list(buf: &mut BytesMut, head: &[u8], words: &[&str]) {
    buf.extend_from_slice(head);
    for w in words {
        buf.put_u8(b' ');
        buf.extend_from_slice(w.as_bytes());
    }
    buf.extend_from_slice(b"\r\n");
}

/// `* CAPABILITY IMAP4rev2 ...`.
pub fn capability(buf: &mut BytesMut, caps: &[&str]) {
    word_list(buf, b"* CAPABILITY", caps);
}

/// `* ENABLED ...`.
pub fn enabled(buf: &mut BytesMut, caps: &[&str]) {
    word_list(buf, b"* ENABLED", caps);
}

fn needs_literal(s: &[u8], utf8: bool) -> bool {
    if s.len() > MAX_QUOTED {
        return true;
    }
    if s.is_ascii() {
        s.iter().any(|&b| b < 0x20 || b == 0x7f)
    } else {
        !utf8 || std::str::from_utf8(s).is_err() || s.iter().any(|&b| b < 0x20 || b == 0x7f)
    }
}

/// `{n}\r\n` or, with `binary`, `~{n}\r\n`.
pub fn literal_header(buf: &mut BytesMut, len: u64, binary: bool) {
    if binary {
        buf.put_u8(b'~');
    }
    buf.put_u8(b'{');
    number(buf, len);
    buf.extend_from_slice(b"}\r\n");
}

fn quoted(buf: &mut BytesMut, s: &[u8]) {
    buf.put_u8(b'"');
    let mut rest = s;
    while let Some(i) = memchr::memchr2(b'"', b'\\', rest) {
        buf.extend_from_slice(rest.get(..i).unwrap_or(&[]));
        buf.put_u8(b'\\');
        buf.put_u8(rest.get(i).copied().unwrap_or(b'\\'));
        rest = rest.get(i + 1..).unwrap_or(&[]);
    }
    buf.extend_from_slice(rest);
    buf.put_u8(b'"');
}

/// A `string`: quoted when short and printable (UTF-8 allowed with
/// `utf8`, i.e. IMAP4rev2 or UTF8=ACCEPT), otherwise a literal. Bytes with
/// NUL need [`literal_header`] with `binary` and are only legal in BINARY.
pub fn string(buf: &mut BytesMut, s: &[u8], utf8: bool) {
    if needs_literal(s, utf8) {
        literal_header(buf, s.len() as u64, false);
        buf.extend_from_slice(s);
    } else {
        quoted(buf, s);
    }
}

/// `nstring`: NIL for None.
pub fn nstring(buf: &mut BytesMut, s: Option<&[u8]>, utf8: bool) {
    match s {
        Some(s) => string(buf, s, utf8),
        None => buf.extend_from_slice(b"NIL"),
    }
}

/// `astring`: a bare atom when possible.
pub fn astring(buf: &mut BytesMut, s: &[u8], utf8: bool) {
    if !s.is_empty() && s.iter().all(|&b| ASTRING[b as usize]) && !s.eq_ignore_ascii_case(b"NIL") {
        buf.extend_from_slice(s);
    } else {
        string(buf, s, utf8);
    }
}

/// A mailbox name: modified UTF-7 unless `utf8` (UTF8=ACCEPT enabled).
pub fn mailbox(buf: &mut BytesMut, name: &str, utf8: bool) {
    let plain = name.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'&');
    if utf8 || plain {
        string(buf, name.as_bytes(), utf8);
    } else {
        let enc = crate::mutf7::encode(name);
        string(buf, &enc, false);
    }
}

/// `"17-Jul-1996 02:44:25 -0700"`.
pub fn date_time(buf: &mut BytesMut, d: &DateTime) {
    fn two(buf: &mut BytesMut, n: u8) {
        buf.put_u8(b'0' + (n / 10) % 10);
        buf.put_u8(b'0' + n % 10);
    }
    buf.put_u8(b'"');
    if d.date.day < 10 {
        buf.put_u8(b' ');
        buf.put_u8(b'0' + d.date.day);
    } else {
        two(buf, d.date.day);
    }
    buf.put_u8(b'-');
    let m = MONTHS
        .get(usize::from(d.date.month.saturating_sub(1)))
        .copied()
        .unwrap_or(b"Jan");
    buf.extend_from_slice(m);
    buf.put_u8(b'-');
    let y = d.date.year;
    for div in [1000u16, 100, 10, 1] {
        buf.put_u8(b'0' + ((y / div) % 10) as u8);
    }
    buf.put_u8(b' ');
    two(buf, d.hour);
    buf.put_u8(b':');
    two(buf, d.minute);
    buf.put_u8(b':');
    two(buf, d.second);
    buf.put_u8(b' ');
    buf.put_u8(if d.zone_minutes < 0 { b'-' } else { b'+' });
    let z = d.zone_minutes.unsigned_abs();
    two(buf, (z / 60).min(99) as u8);
    two(buf, (z % 60) as u8);
    buf.put_u8(b'"');
}

/// Which list response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    List,
    Lsub,
}

/// Extended data after a LIST name (RFC 5258, RFC 9051).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListExtended<'a> {
    /// `("CHILDINFO" ("SUBSCRIBED"))`.
    pub childinfo_subscribed: bool,
    /// `("OLDNAME" ("old"))` after a rename.
    pub old_name: Option<&'a str>,
}

/// `* LIST (\HasNoChildren) "/" "INBOX" [ext]`.
pub fn list(
    buf: &mut BytesMut,
    kind: ListKind,
    attrs: &[&str],
    delimiter: Option<char>,
    name: &str,
    utf8: bool,
    ext: &ListExtended<'_>,
) {
    buf.extend_from_slice(match kind {
        ListKind::List => b"* LIST (",
        ListKind::Lsub => b"* LSUB (",
    });
    for (i, a) in attrs.iter().enumerate() {
        if i > 0 {
            buf.put_u8(b' ');
        }
        buf.extend_from_slice(a.as_bytes());
    }
    buf.extend_from_slice(b") ");
    match delimiter {
        Some(d) => {
            let mut tmp = [0u8; 4];
            quoted(buf, d.encode_utf8(&mut tmp).as_bytes());
        }
        None => buf.extend_from_slice(b"NIL"),
    }
    buf.put_u8(b' ');
    mailbox(buf, name, utf8);
    if ext.childinfo_subscribed || ext.old_name.is_some() {
        buf.extend_from_slice(b" (");
        if ext.childinfo_subscribed {
            buf.extend_from_slice(b"\"CHILDINFO\" (\"SUBSCRIBED\")");
        }
        if let Some(old) = ext.old_name {
            if ext.childinfo_subscribed {
                buf.put_u8(b' ');
            }
            buf.extend_from_slice(b"\"OLDNAME\" (");
            mailbox(buf, old, utf8);
            buf.put_u8(b')');
        }
        buf.put_u8(b')');
    }
    buf.extend_from_slice(b"\r\n");
}

/// One STATUS value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusValue<'a> {
    Number(StatusItem, u64),
    /// APPENDLIMIT NIL: no limit for this mailbox.
    NoAppendLimit,
    MailboxId(&'a [u8]),
}

/// `* STATUS "name" (MESSAGES 3 UIDNEXT 7)`.
pub fn status(buf: &mut BytesMut, name: &str, utf8: bool, values: &[StatusValue<'_>]) {
    buf.extend_from_slice(b"* STATUS ");
    mailbox(buf, name, utf8);
    buf.extend_from_slice(b" (");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            buf.put_u8(b' ');
        }
        match *v {
            StatusValue::Number(item, n) => {
                buf.extend_from_slice(item.name().as_bytes());
                buf.put_u8(b' ');
                number(buf, n);
            }
            StatusValue::NoAppendLimit => buf.extend_from_slice(b"APPENDLIMIT NIL"),
            StatusValue::MailboxId(id) => {
                buf.extend_from_slice(b"MAILBOXID (");
                buf.extend_from_slice(id);
                buf.put_u8(b')');
            }
        }
    }
    buf.extend_from_slice(b")\r\n");
}

/// `* SEARCH 2 3 6 [(MODSEQ n)]` (IMAP4rev1 form).
pub fn search(buf: &mut BytesMut, nums: impl IntoIterator<Item = u32>, modseq: Option<u64>) {
    numbers(buf, b"* SEARCH", nums, modseq);
}

/// `* SORT 6 2 3 [(MODSEQ n)]` (RFC 5256; numbers in sort order).
pub fn sort(buf: &mut BytesMut, nums: impl IntoIterator<Item = u32>, modseq: Option<u64>) {
    numbers(buf, b"* SORT", nums, modseq);
}

/// `* THREAD (1 2)(3)`: `threads` is the thread-list text (RFC 5256 §4).
pub fn thread(buf: &mut BytesMut, threads: &[u8]) {
    buf.extend_from_slice(b"* THREAD");
    if !threads.is_empty() {
        buf.put_u8(b' ');
        buf.extend_from_slice(threads);
    }
    buf.extend_from_slice(b"\r\n");
}

fn numbers(
    buf: &mut BytesMut,
    head: &[u8],
    nums: impl IntoIterator<Item = u32>,
    modseq: Option<u64>,
) {
    buf.extend_from_slice(head);
    for n in nums {
        buf.put_u8(b' ');
        number(buf, u64::from(n));
    }
    if let Some(m) = modseq {
        buf.extend_from_slice(b" (MODSEQ ");
        number(buf, m);
        buf.put_u8(b')');
    }
    buf.extend_from_slice(b"\r\n");
}

/// ESEARCH result data (RFC 4731, RFC 9051 7.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Esearch<'a> {
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub count: Option<u32>,
    pub all: Option<&'a [(u32, u32)]>,
    pub modseq: Option<u64>,
    /// RFC 9394: the range asked for and the numbers in it (NIL if none).
    pub partial: Option<Partial<'a>>,
}

/// A PARTIAL range as asked for, and the numbers it covers.
pub type Partial<'a> = ((i64, i64), &'a [(u32, u32)]);

/// `* ESEARCH (TAG "a") UID MIN 1 ...`.
pub fn esearch(buf: &mut BytesMut, tag: Option<&[u8]>, uid: bool, r: &Esearch<'_>) {
    buf.extend_from_slice(b"* ESEARCH");
    if let Some(tag) = tag {
        buf.extend_from_slice(b" (TAG ");
        string(buf, tag, false);
        buf.put_u8(b')');
    }
    if uid {
        buf.extend_from_slice(b" UID");
    }
    for (name, v) in [
        (&b" MIN "[..], r.min),
        (b" MAX ", r.max),
        (b" COUNT ", r.count),
    ] {
        if let Some(v) = v {
            buf.extend_from_slice(name);
            number(buf, u64::from(v));
        }
    }
    if let Some(all) = r.all.filter(|a| !a.is_empty()) {
        buf.extend_from_slice(b" ALL ");
        seq_set(buf, all);
    }
    if let Some(((a, b), set)) = r.partial {
        buf.extend_from_slice(format!(" PARTIAL ({a}:{b} ").as_bytes());
        if set.is_empty() {
            buf.extend_from_slice(b"NIL");
        } else {
            seq_set(buf, set);
        }
        buf.put_u8(b')');
    }
    if let Some(m) = r.modseq {
        buf.extend_from_slice(b" MODSEQ ");
        number(buf, m);
    }
    buf.extend_from_slice(b"\r\n");
}

/// One `context-position SP sequence-set` pair of ADDTO or REMOVEFROM
/// (RFC 5267 §4.3.3): the numbers in the requested order.
pub type ContextPair = (u32, Vec<(u32, u32)>);

/// `* ESEARCH (TAG "a") [UID] REMOVEFROM (...) ADDTO (...)`: the changes of
/// an UPDATE context, removals first (the client applies them in order).
pub fn esearch_update(
    buf: &mut BytesMut,
    tag: &[u8],
    uid: bool,
    remove: &[ContextPair],
    add: &[ContextPair],
) {
    if remove.is_empty() && add.is_empty() {
        return;
    }
    buf.extend_from_slice(b"* ESEARCH (TAG ");
    string(buf, tag, false);
    buf.put_u8(b')');
    if uid {
        buf.extend_from_slice(b" UID");
    }
    for (name, pairs) in [(&b" REMOVEFROM ("[..], remove), (b" ADDTO (", add)] {
        if pairs.is_empty() {
            continue;
        }
        buf.extend_from_slice(name);
        for (i, (pos, set)) in pairs.iter().enumerate() {
            if i > 0 {
                buf.put_u8(b' ');
            }
            number(buf, u64::from(*pos));
            buf.put_u8(b' ');
            seq_set(buf, set);
        }
        buf.put_u8(b')');
    }
    buf.extend_from_slice(b"\r\n");
}

/// The slice of a result of `len` entries that RFC 9394's PARTIAL range
/// `(a, b)` covers, as index bounds (`lo..hi`).
pub fn partial_window(len: usize, (a, b): (i64, i64)) -> std::ops::Range<usize> {
    let (lo, hi) = (a.abs().min(b.abs()) as usize, a.abs().max(b.abs()) as usize);
    let (start, end) = if a > 0 {
        (lo - 1, hi)
    } else {
        (len.saturating_sub(hi), len.saturating_sub(lo - 1))
    };
    start.min(len)..end.min(len)
}

/// `* ID ("name" "postcore" ...)` or `* ID NIL`.
pub fn id(buf: &mut BytesMut, params: Option<&[(&str, Option<&str>)]>) {
    buf.extend_from_slice(b"* ID ");
    match params {
        None => buf.extend_from_slice(b"NIL"),
        Some(p) => {
            buf.put_u8(b'(');
            for (i, (k, v)) in p.iter().enumerate() {
                if i > 0 {
                    buf.put_u8(b' ');
                }
                string(buf, k.as_bytes(), true);
                buf.put_u8(b' ');
                nstring(buf, v.map(str::as_bytes), true);
            }
            buf.put_u8(b')');
        }
    }
    buf.extend_from_slice(b"\r\n");
}

/// `* NAMESPACE (("" "/")) NIL NIL`: each list is (prefix, delimiter);
/// an empty list is NIL.
pub fn namespace(
    buf: &mut BytesMut,
    personal: &[(&str, Option<char>)],
    other: &[(&str, Option<char>)],
    shared: &[(&str, Option<char>)],
    utf8: bool,
) {
    buf.extend_from_slice(b"* NAMESPACE");
    for ns in [personal, other, shared] {
        buf.put_u8(b' ');
        if ns.is_empty() {
            buf.extend_from_slice(b"NIL");
            continue;
        }
        buf.put_u8(b'(');
        for (prefix, delim) in ns {
            buf.put_u8(b'(');
            mailbox(buf, prefix, utf8);
            buf.put_u8(b' ');
            match delim {
                Some(d) => {
                    let mut tmp = [0u8; 4];
                    quoted(buf, d.encode_utf8(&mut tmp).as_bytes());
                }
                None => buf.extend_from_slice(b"NIL"),
            }
            buf.put_u8(b')');
        }
        buf.put_u8(b')');
    }
    buf.extend_from_slice(b"\r\n");
}

/// `* QUOTA "root" (STORAGE 10 512)`: (resource, usage, limit).
pub fn quota(buf: &mut BytesMut, root: &str, resources: &[(&str, u64, u64)]) {
    buf.extend_from_slice(b"* QUOTA ");
    astring(buf, root.as_bytes(), true);
    buf.extend_from_slice(b" (");
    for (i, (name, usage, limit)) in resources.iter().enumerate() {
        if i > 0 {
            buf.put_u8(b' ');
        }
        buf.extend_from_slice(name.as_bytes());
        buf.put_u8(b' ');
        number(buf, *usage);
        buf.put_u8(b' ');
        number(buf, *limit);
    }
    buf.extend_from_slice(b")\r\n");
}

/// `* QUOTAROOT INBOX "" ...`.
pub fn quota_root(buf: &mut BytesMut, name: &str, utf8: bool, roots: &[&str]) {
    mailbox_then_astrings(buf, b"* QUOTAROOT ", name, utf8, roots);
}

/// `prefix mailbox item item ...\r\n`.
fn mailbox_then_astrings(
    buf: &mut BytesMut,
    prefix: &[u8],
    name: &str,
    utf8: bool,
    items: &[&str],
) {
    buf.extend_from_slice(prefix);
    mailbox(buf, name, utf8);
    for i in items {
        buf.put_u8(b' ');
        astring(buf, i.as_bytes(), true);
    }
    buf.extend_from_slice(b"\r\n");
}

/// `* METADATA "INBOX" (/private/comment "value")`.
pub fn metadata(buf: &mut BytesMut, name: &str, utf8: bool, entries: &[(&str, Option<&[u8]>)]) {
    buf.extend_from_slice(b"* METADATA ");
    mailbox(buf, name, utf8);
    buf.extend_from_slice(b" (");
    for (i, (entry, value)) in entries.iter().enumerate() {
        if i > 0 {
            buf.put_u8(b' ');
        }
        astring(buf, entry.as_bytes(), true);
        buf.put_u8(b' ');
        match value {
            Some(v) if memchr::memchr(0, v).is_some() => {
                literal_header(buf, v.len() as u64, true);
                buf.extend_from_slice(v);
            }
            v => nstring(buf, *v, utf8),
        }
    }
    buf.extend_from_slice(b")\r\n");
}

/// `* METADATA "INBOX" /private/comment /shared/x`: entries that changed,
/// without their values (RFC 5464 §4.4.2, unsolicited).
pub fn metadata_changed(buf: &mut BytesMut, name: &str, utf8: bool, entries: &[&str]) {
    mailbox_then_astrings(buf, b"* METADATA ", name, utf8, entries);
}

/// One address of an ENVELOPE address list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Address<'a> {
    pub name: Option<&'a [u8]>,
    pub adl: Option<&'a [u8]>,
    pub mailbox: Option<&'a [u8]>,
    pub host: Option<&'a [u8]>,
}

/// `((name adl mailbox host) ...)` or NIL when empty.
pub fn address_list(buf: &mut BytesMut, addrs: &[Address<'_>], utf8: bool) {
    if addrs.is_empty() {
        buf.extend_from_slice(b"NIL");
        return;
    }
    buf.put_u8(b'(');
    for a in addrs {
        buf.put_u8(b'(');
        nstring(buf, a.name, utf8);
        buf.put_u8(b' ');
        nstring(buf, a.adl, utf8);
        buf.put_u8(b' ');
        nstring(buf, a.mailbox, utf8);
        buf.put_u8(b' ');
        nstring(buf, a.host, utf8);
        buf.put_u8(b')');
    }
    buf.put_u8(b')');
}

fn part(buf: &mut BytesMut, p: &Part<'_>) {
    buf.extend_from_slice(p.raw());
}

/// The section spec inside `BODY[...]`, normalised (upper-case keywords,
/// header names as astrings).
pub fn section(buf: &mut BytesMut, s: &Section<'_>) {
    buf.put_u8(b'[');
    part(buf, &s.part);
    if let Some(t) = &s.text {
        if !s.part.is_empty() {
            buf.put_u8(b'.');
        }
        match t {
            SectionText::Header => buf.extend_from_slice(b"HEADER"),
            SectionText::Text => buf.extend_from_slice(b"TEXT"),
            SectionText::Mime => buf.extend_from_slice(b"MIME"),
            SectionText::HeaderFields { not, fields } => {
                buf.extend_from_slice(if *not {
                    b"HEADER.FIELDS.NOT ("
                } else {
                    b"HEADER.FIELDS ("
                });
                for (i, f) in fields.iter().enumerate() {
                    if i > 0 {
                        buf.put_u8(b' ');
                    }
                    astring(buf, &f.to_bytes(), false);
                }
                buf.put_u8(b')');
            }
        }
    }
    buf.put_u8(b']');
}

/// Builds one `* n FETCH (...)` response item by item.
///
/// For large bodies, write the header with [`FetchResponse::literal_header`]
/// and then either append the bytes with [`FetchResponse::raw`] or split
/// the buffer (`buf().split().freeze()`), queue that, queue the body's
/// `Bytes` as they are, and continue writing the rest of the response.
pub struct FetchResponse<'b> {
    buf: &'b mut BytesMut,
    first: bool,
}

impl<'b> FetchResponse<'b> {
    pub fn begin(buf: &'b mut BytesMut, seq: u32) -> Self {
        buf.extend_from_slice(b"* ");
        number(buf, u64::from(seq));
        buf.extend_from_slice(b" FETCH (");
        FetchResponse { buf, first: true }
    }

    /// `* uid UIDFETCH (` when `uid_only` (RFC 9586), else `* seq FETCH (`.
    pub fn begin_keyed(buf: &'b mut BytesMut, seq: u32, uid: u32, uid_only: bool) -> Self {
        if uid_only {
            Self::begin_uid_only(buf, uid)
        } else {
            Self::begin(buf, seq)
        }
    }

    /// `* uid UIDFETCH (` for sessions that enabled UIDONLY (RFC 9586),
    /// where FETCH responses are keyed by UID instead of sequence number.
    pub fn begin_uid_only(buf: &'b mut BytesMut, uid: u32) -> Self {
        buf.extend_from_slice(b"* ");
        number(buf, u64::from(uid));
        buf.extend_from_slice(b" UIDFETCH (");
        FetchResponse { buf, first: true }
    }

    fn sep(&mut self) {
        if !self.first {
            self.buf.put_u8(b' ');
        }
        self.first = false;
    }

    /// The underlying buffer, e.g. to split it before queueing a body.
    pub fn buf(&mut self) -> &mut BytesMut {
        self.buf
    }

    fn num_item(&mut self, name: &[u8], n: u64) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(name);
        self.buf.put_u8(b' ');
        number(self.buf, n);
        self
    }

    pub fn uid(&mut self, uid: u32) -> &mut Self {
        self.num_item(b"UID", u64::from(uid))
    }

    pub fn rfc822_size(&mut self, n: u64) -> &mut Self {
        self.num_item(b"RFC822.SIZE", n)
    }

    pub fn modseq(&mut self, n: u64) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(b"MODSEQ (");
        number(self.buf, n);
        self.buf.put_u8(b')');
        self
    }

    pub fn flags<'f>(&mut self, fl: impl IntoIterator<Item = &'f [u8]>) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(b"FLAGS ");
        flag_list(self.buf, fl);
        self
    }

    pub fn internal_date(&mut self, d: &DateTime) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(b"INTERNALDATE ");
        date_time(self.buf, d);
        self
    }

    pub fn save_date(&mut self, d: Option<&DateTime>) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(b"SAVEDATE ");
        match d {
            Some(d) => date_time(self.buf, d),
            None => self.buf.extend_from_slice(b"NIL"),
        }
        self
    }

    pub fn email_id(&mut self, id: &[u8]) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(b"EMAILID (");
        self.buf.extend_from_slice(id);
        self.buf.put_u8(b')');
        self
    }

    pub fn thread_id(&mut self, id: Option<&[u8]>) -> &mut Self {
        self.sep();
        match id {
            Some(id) => {
                self.buf.extend_from_slice(b"THREADID (");
                self.buf.extend_from_slice(id);
                self.buf.put_u8(b')');
            }
            None => self.buf.extend_from_slice(b"THREADID NIL"),
        }
        self
    }

    pub fn preview(&mut self, text: Option<&[u8]>, utf8: bool) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(b"PREVIEW ");
        nstring(self.buf, text, utf8);
        self
    }

    /// A pre-rendered item such as `ENVELOPE (...)` or `BODYSTRUCTURE (...)`:
    /// `name` then a space then `value` verbatim.
    pub fn raw_item(&mut self, name: &[u8], value: &[u8]) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(name);
        self.buf.put_u8(b' ');
        self.buf.extend_from_slice(value);
        self
    }

    /// Item name for a body section: `BODY[1.HEADER]<0>` (responses never
    /// say `.PEEK`; the partial echoes only the origin).
    pub fn body_section_name(&mut self, s: &Section<'_>, origin: Option<u64>) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(b"BODY");
        section(self.buf, s);
        if let Some(o) = origin {
            self.buf.put_u8(b'<');
            number(self.buf, o);
            self.buf.put_u8(b'>');
        }
        self
    }

    /// Item name for `BINARY[1]<o>` / `BINARY.SIZE[1]`.
    pub fn binary_name(&mut self, p: &Part<'_>, size: bool, origin: Option<u64>) -> &mut Self {
        self.sep();
        self.buf
            .extend_from_slice(if size { b"BINARY.SIZE[" } else { b"BINARY[" });
        part(self.buf, p);
        self.buf.put_u8(b']');
        if let Some(o) = origin {
            self.buf.put_u8(b'<');
            number(self.buf, o);
            self.buf.put_u8(b'>');
        }
        self
    }

    /// ` {len}\r\n` (or ` ~{len}\r\n`) after an item name; the caller then
    /// supplies exactly `len` bytes.
    pub fn literal_header(&mut self, len: u64, binary: bool) -> &mut Self {
        self.buf.put_u8(b' ');
        literal_header(self.buf, len, binary);
        self
    }

    /// Append bytes verbatim (the body after a literal header).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// ` NIL` after an item name (section that does not exist).
    pub fn nil(&mut self) -> &mut Self {
        self.buf.extend_from_slice(b" NIL");
        self
    }

    /// A number after an item name (BINARY.SIZE).
    pub fn value_number(&mut self, n: u64) -> &mut Self {
        self.buf.put_u8(b' ');
        number(self.buf, n);
        self
    }

    /// Close the response: `)\r\n`.
    pub fn finish(self) {
        self.buf.extend_from_slice(b")\r\n");
    }
}
