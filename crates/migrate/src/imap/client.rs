//! The commands an import needs, one at a time (no pipelining: every
//! command's answer decides the next), over [`super::frame`] and
//! imap-proto's response parser.

use super::frame::{Framer, Limits};
use super::transport::{Stream, TlsSetup, connect_tcp, needs_tls};
use super::{Auth, ConnectOptions, Examined, Fetched, ImapError, RemoteFolder, SpecialUse, Tls};
use crate::{ANSWERED, DELETED, DRAFT, FLAGGED, Message, Meta, SEEN, push_unique};
use base64::Engine as _;
use imap_response::{
    AttributeValue, Capability, MailboxDatum, NameAttribute, Response, ResponseCode, Status,
};
use std::collections::HashMap;
use std::io::Write;

/// Lines (a LIST entry, a FETCH of flags) are short; this only stops a
/// server that never ends one.
const MAX_LINE: usize = 1 << 20;
/// What a FETCH response may hold besides the message literal.
const RESPONSE_SLACK: usize = 1 << 20;
/// Literals in commands up to this size may be sent without waiting for
/// the server's go-ahead under LITERAL- (RFC 7888).
const LITERAL_MINUS_MAX: usize = 4096;
/// Folders one account may list: far above any real account, and a bound
/// on what a server that lists forever can make us hold.
const MAX_FOLDERS: usize = 100_000;
/// Messages that may appear in a folder between EXAMINE and the listing of
/// its UIDs (deliveries meanwhile), beyond those EXAMINE counted.
const LISTING_SLACK: u64 = 100_000;

pub struct Client {
    framer: Framer<Stream>,
    limits: Limits,
    next_tag: u32,
    /// Upper-cased, from the latest CAPABILITY.
    caps: Vec<String>,
    tls: Option<TlsSetup>,
    preauth: bool,
}

/// One argument of a command we send.
enum Arg<'a> {
    /// Sent as is (command names, fixed syntax).
    Raw(&'a str),
    /// An astring: quoted when it can be, else a literal.
    Str(&'a [u8]),
}

/// The tagged end of a command.
struct Done {
    status: Status,
    text: String,
}

impl Done {
    fn ok(&self) -> bool {
        self.status == Status::Ok
    }
}

impl Client {
    /// Connects, reads the greeting, does STARTTLS when asked to and learns
    /// the capabilities. Not logged in yet.
    pub fn connect(opts: &ConnectOptions) -> Result<Client, ImapError> {
        let tcp = connect_tcp(&opts.host, opts.port, opts.timeout)?;
        let tls = if needs_tls(opts.tls) {
            Some(TlsSetup::new(
                &opts.host,
                opts.insecure,
                opts.ca_file.as_deref(),
            )?)
        } else {
            None
        };
        let stream = match (&tls, opts.tls) {
            (Some(t), Tls::Imaps) => t.wrap(tcp)?,
            _ => Stream::Plain(tcp),
        };
        let max_literal = opts.max_message;
        let mut c = Client {
            framer: Framer::new(stream),
            limits: Limits {
                max_line: MAX_LINE,
                max_literal,
                max_response: usize::try_from(max_literal)
                    .unwrap_or(usize::MAX)
                    .saturating_add(RESPONSE_SLACK),
            },
            next_tag: 1,
            caps: Vec::new(),
            tls,
            preauth: false,
        };
        c.greeting()?;
        if opts.tls == Tls::StartTls {
            c.capability()?;
            c.starttls()?;
        }
        c.capability()?;
        Ok(c)
    }

    pub fn has_capability(&self, cap: &str) -> bool {
        self.caps.iter().any(|c| c.eq_ignore_ascii_case(cap))
    }

    fn greeting(&mut self) -> Result<(), ImapError> {
        let r = self.framer.next(&self.limits)?;
        let bytes = self.framer.bytes(r);
        match parse(bytes) {
            Ok(Response::Data {
                status: Status::Ok, ..
            }) => Ok(()),
            Ok(Response::Data {
                status: Status::PreAuth,
                ..
            }) => {
                self.preauth = true;
                Ok(())
            }
            Ok(Response::Data {
                status: Status::Bye,
                ..
            }) => Err(ImapError::Bye(status_text(bytes))),
            _ => Err(ImapError::Protocol(format!(
                "not an IMAP server greeting: {}",
                excerpt(bytes)
            ))),
        }
    }

    fn starttls(&mut self) -> Result<(), ImapError> {
        if !self.has_capability("STARTTLS") {
            return Err(ImapError::Tls(
                "the server does not offer STARTTLS; use imaps or (on a trusted network) none"
                    .into(),
            ));
        }
        let done = self.simple("STARTTLS", &[Arg::Raw("STARTTLS")], |_| Ok(()))?;
        if !done.ok() {
            return Err(ImapError::Tls(format!("STARTTLS refused: {}", done.text)));
        }
        if self.framer.buffered() != 0 {
            return Err(ImapError::Tls(
                "the server sent data after its STARTTLS answer, before the handshake".into(),
            ));
        }
        let Some(tls) = &self.tls else {
            return Err(ImapError::Tls("no TLS setup".into()));
        };
        let Stream::Plain(tcp) = std::mem::replace(&mut self.framer.stream, Stream::Gone) else {
            return Err(ImapError::Tls(
                "STARTTLS on a connection that has TLS".into(),
            ));
        };
        self.framer.stream = tls.wrap(tcp)?;
        // What was said before TLS is forgotten (RFC 9051 §6.2.1).
        self.caps.clear();
        Ok(())
    }

    fn capability(&mut self) -> Result<(), ImapError> {
        let mut caps = Vec::new();
        let done = self.run_command("CAPABILITY", &[Arg::Raw("CAPABILITY")], |resp, raw| {
            if let Some(r) = resp {
                if let Response::Capabilities(list) = r {
                    caps = list.iter().map(cap_name).collect();
                }
            } else if let Some(list) = capability_line(raw) {
                caps = list;
            }
            Ok(())
        })?;
        if !done.ok() {
            return Err(ImapError::Protocol(format!(
                "CAPABILITY refused: {}",
                done.text
            )));
        }
        self.caps = caps;
        Ok(())
    }

    /// Logs in; `Auth::Auto` takes AUTHENTICATE PLAIN when offered.
    pub fn login(&mut self, user: &str, password: &[u8], auth: Auth) -> Result<(), ImapError> {
        if self.preauth {
            return Ok(());
        }
        if self.has_capability("LOGINDISABLED") && !self.has_capability("AUTH=PLAIN") {
            return Err(ImapError::Protocol(
                "the server refuses to log in without TLS (LOGINDISABLED): use STARTTLS or imaps"
                    .into(),
            ));
        }
        let plain = match auth {
            Auth::Plain => true,
            Auth::Login => false,
            Auth::Auto => self.has_capability("AUTH=PLAIN"),
        };
        let done = if plain {
            self.authenticate_plain(user, password)?
        } else {
            self.simple(
                "LOGIN",
                &[
                    Arg::Raw("LOGIN"),
                    Arg::Str(user.as_bytes()),
                    Arg::Str(password),
                ],
                |_| Ok(()),
            )?
        };
        if !done.ok() {
            return Err(ImapError::Auth {
                user: user.to_owned(),
                text: done.text,
            });
        }
        self.capability()
    }

    fn authenticate_plain(&mut self, user: &str, password: &[u8]) -> Result<Done, ImapError> {
        let mut creds = Vec::with_capacity(user.len() + password.len() + 2);
        creds.push(0);
        creds.extend_from_slice(user.as_bytes());
        creds.push(0);
        creds.extend_from_slice(password);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&creds);
        let tag = self.tag();
        if self.has_capability("SASL-IR") {
            self.write(format!("{tag} AUTHENTICATE PLAIN {b64}\r\n").as_bytes())?;
        } else {
            self.write(format!("{tag} AUTHENTICATE PLAIN\r\n").as_bytes())?;
            if let Some(done) = self.wait_continue(&tag)? {
                return Ok(done);
            }
            self.write(format!("{b64}\r\n").as_bytes())?;
        }
        self.finish(&tag, "AUTHENTICATE", |_, _| Ok(()))
    }

    /// Every folder, with its special use and whether it is subscribed;
    /// subscribed names that are not folders come as non-selectable ones.
    pub fn folders(&mut self) -> Result<Vec<RemoteFolder>, ImapError> {
        let extended = self.has_capability("LIST-EXTENDED");
        let list = if extended && self.has_capability("SPECIAL-USE") {
            "LIST \"\" \"*\" RETURN (SPECIAL-USE)"
        } else {
            "LIST \"\" \"*\""
        };
        let mut folders: Vec<RemoteFolder> = Vec::new();
        let done = self.simple("LIST", &[Arg::Raw(list)], |resp| {
            if let Response::MailboxData(MailboxDatum::List(l)) = resp {
                if folders.len() >= MAX_FOLDERS {
                    return Err(ImapError::Protocol(format!(
                        "the server lists over {MAX_FOLDERS} folders"
                    )));
                }
                let mut f = RemoteFolder {
                    raw_name: l.name.to_string(),
                    delimiter: l.delimiter.as_ref().and_then(|d| d.chars().next()),
                    special_use: None,
                    selectable: true,
                    subscribed: false,
                };
                for a in &l.name_attributes {
                    apply_attribute(&mut f, a);
                }
                folders.push(f);
            }
            Ok(())
        })?;
        if !done.ok() {
            return Err(ImapError::Protocol(format!("LIST refused: {}", done.text)));
        }
        // RFC 9051 drops LSUB; LIST-EXTENDED servers answer LIST (SUBSCRIBED).
        let (name, cmd) = if extended {
            ("LIST (SUBSCRIBED)", "LIST (SUBSCRIBED) \"\" \"*\"")
        } else {
            ("LSUB", "LSUB \"\" \"*\"")
        };
        let mut subscribed: Vec<(String, Option<char>)> = Vec::new();
        let done = self.simple(name, &[Arg::Raw(cmd)], |resp| {
            if let Response::MailboxData(MailboxDatum::List(l)) = resp {
                if subscribed.len() >= MAX_FOLDERS {
                    return Err(ImapError::Protocol(format!(
                        "the server lists over {MAX_FOLDERS} subscriptions"
                    )));
                }
                subscribed.push((
                    l.name.to_string(),
                    l.delimiter.as_ref().and_then(|d| d.chars().next()),
                ));
            }
            Ok(())
        })?;
        if !done.ok() {
            return Err(ImapError::Protocol(format!(
                "{name} refused: {}",
                done.text
            )));
        }
        for (raw, delimiter) in subscribed {
            match folders.iter_mut().find(|f| f.raw_name == raw) {
                Some(f) => f.subscribed = true,
                None => folders.push(RemoteFolder {
                    raw_name: raw,
                    delimiter,
                    special_use: None,
                    selectable: false,
                    subscribed: true,
                }),
            }
        }
        Ok(folders)
    }

    /// Opens a folder read-only. A refusal (the folder vanished, no
    /// rights) is [`ImapError::Refused`]: the connection goes on.
    pub fn examine(&mut self, raw_name: &str) -> Result<Examined, ImapError> {
        let (mut uidvalidity, mut uidnext, mut exists) = (None, None, 0u32);
        let done = self.simple(
            "EXAMINE",
            &[Arg::Raw("EXAMINE"), Arg::Str(raw_name.as_bytes())],
            |resp| {
                match resp {
                    Response::Data {
                        outcome:
                            imap_response::Outcome {
                                code: Some(code), ..
                            },
                        ..
                    } => match code {
                        ResponseCode::UidValidity(v) => uidvalidity = Some(v),
                        ResponseCode::UidNext(n) => uidnext = Some(n),
                        _ => {}
                    },
                    Response::MailboxData(MailboxDatum::Exists(n)) => exists = n,
                    _ => {}
                }
                Ok(())
            },
        )?;
        if !done.ok() {
            return Err(ImapError::Refused {
                command: format!("EXAMINE {raw_name}"),
                text: done.text,
            });
        }
        let Some(uidvalidity) = uidvalidity.filter(|v| *v != 0) else {
            return Err(ImapError::Refused {
                command: format!("EXAMINE {raw_name}"),
                text: "the answer has no UIDVALIDITY".into(),
            });
        };
        Ok(Examined {
            uidvalidity,
            uidnext: uidnext.filter(|n| *n != 0),
            exists,
        })
    }

    /// (UID, RFC822.SIZE) of every message of the examined folder, by UID.
    /// `exists` bounds how many entries are taken (plus some for mail
    /// delivered meanwhile), so a server cannot feed us entries forever.
    pub fn uid_sizes(&mut self, exists: u32) -> Result<Vec<(u32, u32)>, ImapError> {
        if exists == 0 {
            return Ok(Vec::new());
        }
        let bound = u64::from(exists) + LISTING_SLACK;
        let mut out: Vec<(u32, u32)> = Vec::new();
        let done = self.simple(
            "UID FETCH",
            &[Arg::Raw("UID FETCH 1:* (UID RFC822.SIZE)")],
            |resp| {
                let Response::Fetch(_, attrs) = resp else {
                    return Ok(());
                };
                let (mut uid, mut size) = (None, None);
                for a in &attrs {
                    match a {
                        AttributeValue::Uid(u) => uid = Some(*u),
                        AttributeValue::Rfc822Size(s) => size = Some(*s),
                        _ => {}
                    }
                }
                if let (Some(u), Some(s)) = (uid, size) {
                    if out.len() as u64 >= bound {
                        return Err(ImapError::Protocol(
                            "more FETCH answers than the folder has messages".into(),
                        ));
                    }
                    out.push((u, s));
                }
                Ok(())
            },
        )?;
        if !done.ok() {
            return Err(ImapError::Refused {
                command: "UID FETCH (UID RFC822.SIZE)".into(),
                text: done.text,
            });
        }
        out.sort_unstable();
        out.dedup_by_key(|e| e.0);
        Ok(out)
    }

    /// The messages `uids` (ascending) of the examined folder. Messages
    /// expunged meanwhile are simply missing from the result. `max_bytes`
    /// bounds what the whole answer may hold (the sizes announced before,
    /// with room for a server that counts differently).
    pub fn fetch(&mut self, uids: &[u32], max_bytes: u64) -> Result<Vec<Fetched>, ImapError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uid_set(uids);
        let cmd = format!("UID FETCH {set} (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])");
        let mut got: HashMap<u32, Fetched> = HashMap::with_capacity(uids.len());
        let mut bytes = 0u64;
        let done = self.simple("UID FETCH", &[Arg::Raw(&cmd)], |resp| {
            let Response::Fetch(_, attrs) = resp else {
                return Ok(());
            };
            let mut uid = None;
            let mut flags = None;
            let mut date = None;
            let mut body = None;
            for a in attrs {
                match a {
                    AttributeValue::Uid(u) => uid = Some(u),
                    AttributeValue::Flags(f) => flags = Some(f),
                    AttributeValue::InternalDate(d) => date = Some(d),
                    AttributeValue::BodySection {
                        section: None,
                        index: None,
                        data,
                    } => body = Some(data),
                    _ => {}
                }
            }
            // A FETCH without the body is an unsolicited flag update.
            let (Some(uid), Some(body)) = (uid, body) else {
                return Ok(());
            };
            if uids.binary_search(&uid).is_err() || got.contains_key(&uid) {
                return Ok(());
            }
            let message = match body {
                None => Err("the server sent NIL for the message's body".to_owned()),
                Some(raw) => {
                    bytes += raw.len() as u64;
                    if bytes > max_bytes {
                        return Err(ImapError::Protocol(format!(
                            "the server sent over {max_bytes} bytes for {} messages, \
                             far more than their RFC822.SIZE",
                            uids.len()
                        )));
                    }
                    message(uid, flags.as_deref(), date.as_deref(), raw.into_owned())
                }
            };
            got.insert(uid, Fetched { uid, message });
            Ok(())
        })?;
        if !done.ok() {
            return Err(ImapError::Refused {
                command: "UID FETCH".into(),
                text: done.text,
            });
        }
        let mut out: Vec<Fetched> = got.into_values().collect();
        out.sort_unstable_by_key(|f| f.uid);
        Ok(out)
    }

    /// Says goodbye; errors do not matter any more at this point.
    pub fn logout(&mut self) {
        let _ = self.simple("LOGOUT", &[Arg::Raw("LOGOUT")], |_| Ok(()));
    }

    // -----------------------------------------------------------------
    // sending and receiving

    fn tag(&mut self) -> String {
        let t = format!("P{:04}", self.next_tag);
        self.next_tag = self.next_tag.wrapping_add(1);
        t
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), ImapError> {
        self.framer
            .stream
            .write_all(bytes)
            .and_then(|()| self.framer.stream.flush())
            .map_err(ImapError::from_io)
    }

    /// Sends a command and reads to its end, handing parsed untagged
    /// responses to `untagged`.
    fn simple<F>(
        &mut self,
        name: &str,
        args: &[Arg<'_>],
        mut untagged: F,
    ) -> Result<Done, ImapError>
    where
        F: FnMut(Response<'_>) -> Result<(), ImapError>,
    {
        self.run_command(name, args, |resp, _| match resp {
            Some(r) => untagged(r),
            None => Ok(()),
        })
    }

    fn run_command<F>(
        &mut self,
        name: &str,
        args: &[Arg<'_>],
        untagged: F,
    ) -> Result<Done, ImapError>
    where
        F: FnMut(Option<Response<'_>>, &[u8]) -> Result<(), ImapError>,
    {
        let tag = self.tag();
        let mut line = tag.clone().into_bytes();
        for arg in args {
            line.push(b' ');
            match arg {
                Arg::Raw(s) => line.extend_from_slice(s.as_bytes()),
                Arg::Str(s) if quotable(s) => {
                    line.push(b'"');
                    for &b in *s {
                        if b == b'"' || b == b'\\' {
                            line.push(b'\\');
                        }
                        line.push(b);
                    }
                    line.push(b'"');
                }
                Arg::Str(s) => {
                    let plus = self.has_capability("LITERAL+")
                        || (self.has_capability("LITERAL-") && s.len() <= LITERAL_MINUS_MAX);
                    line.extend_from_slice(
                        format!("{{{}{}}}\r\n", s.len(), if plus { "+" } else { "" }).as_bytes(),
                    );
                    self.write(&line)?;
                    line.clear();
                    if !plus && let Some(done) = self.wait_continue(&tag)? {
                        return Ok(done);
                    }
                    line.extend_from_slice(s);
                }
            }
        }
        line.extend_from_slice(b"\r\n");
        self.write(&line)?;
        self.finish(&tag, name, untagged)
    }

    /// After a literal announcement: `None` once the server says go on, or
    /// its tagged answer when it refuses instead.
    fn wait_continue(&mut self, tag: &str) -> Result<Option<Done>, ImapError> {
        loop {
            let r = self.framer.next(&self.limits)?;
            let bytes = self.framer.bytes(r);
            if bytes.starts_with(b"+") {
                return Ok(None);
            }
            if let Some(done) = tagged(bytes, tag)? {
                return Ok(Some(done));
            }
            if let Ok(Response::Data {
                status: Status::Bye,
                ..
            }) = parse(bytes)
            {
                return Err(ImapError::Bye(status_text(bytes)));
            }
        }
    }

    /// Reads responses up to the tagged one for `tag`.
    fn finish<F>(&mut self, tag: &str, name: &str, mut untagged: F) -> Result<Done, ImapError>
    where
        F: FnMut(Option<Response<'_>>, &[u8]) -> Result<(), ImapError>,
    {
        loop {
            let r = self.framer.next(&self.limits)?;
            let bytes = self.framer.bytes(r);
            if let Some(done) = tagged(bytes, tag)? {
                return Ok(done);
            }
            match parse(bytes) {
                Ok(Response::Data {
                    status: Status::Bye,
                    ..
                }) if name != "LOGOUT" => return Err(ImapError::Bye(status_text(bytes))),
                Ok(Response::Continue(_)) => {
                    return Err(ImapError::Protocol(format!(
                        "unexpected continuation request during {name}"
                    )));
                }
                Ok(Response::Done { .. }) => {
                    return Err(ImapError::Protocol(format!(
                        "an answer to a command never sent: {}",
                        excerpt(bytes)
                    )));
                }
                Ok(resp) => untagged(Some(resp), bytes)?,
                // A message we asked for must be readable; other untagged
                // data we have no use for may be beyond the parser.
                Err(e) if is_fetch(bytes) => return Err(e),
                Err(_) => untagged(None, bytes)?,
            }
        }
    }
}

/// Parses one framed response. imap-proto unwraps an `INTERNALDATE NIL`,
/// which a server may send, so a panic in it is caught and is a parse
/// error like any other.
fn parse(bytes: &[u8]) -> Result<Response<'_>, ImapError> {
    let r = std::panic::catch_unwind(|| Response::parse(bytes));
    match r {
        Ok(Ok((&[], resp))) => Ok(resp),
        Ok(_) => Err(ImapError::Parse(excerpt(bytes))),
        Err(_) => Err(ImapError::Parse(format!(
            "{} (the parser gave up on it)",
            excerpt(bytes)
        ))),
    }
}

/// The tagged answer to `tag`, read from the raw line: the status word is
/// all we need of it, and 8-bit text after it (seen from real servers)
/// must not make a finished command unreadable.
fn tagged(bytes: &[u8], tag: &str) -> Result<Option<Done>, ImapError> {
    let Some(rest) = bytes
        .strip_prefix(tag.as_bytes())
        .and_then(|r| r.strip_prefix(b" "))
    else {
        return Ok(None);
    };
    let word_end = rest
        .iter()
        .position(|b| *b == b' ' || *b == b'\r' || *b == b'\n')
        .unwrap_or(rest.len());
    let status = match rest[..word_end].to_ascii_uppercase().as_slice() {
        b"OK" => Status::Ok,
        b"NO" => Status::No,
        b"BAD" => Status::Bad,
        _ => {
            return Err(ImapError::Parse(excerpt(bytes)));
        }
    };
    Ok(Some(Done {
        status,
        text: status_text(bytes),
    }))
}

fn is_fetch(bytes: &[u8]) -> bool {
    let mut words = bytes.split(|b| *b == b' ');
    words.next() == Some(b"*")
        && words
            .next()
            .is_some_and(|n| n.iter().all(u8::is_ascii_digit))
        && words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case(b"FETCH"))
}

/// `* CAPABILITY a b c` split by hand, for lists imap-proto refuses.
fn capability_line(bytes: &[u8]) -> Option<Vec<String>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix("* ")?;
    let (word, list) = rest.split_once(' ')?;
    if !word.eq_ignore_ascii_case("CAPABILITY") {
        return None;
    }
    Some(
        list.split_ascii_whitespace()
            .map(str::to_ascii_uppercase)
            .collect(),
    )
}

fn cap_name(c: &Capability<'_>) -> String {
    match c {
        Capability::Imap4rev1 => "IMAP4REV1".into(),
        Capability::Auth(m) => format!("AUTH={}", m.to_ascii_uppercase()),
        Capability::Atom(a) => a.to_ascii_uppercase(),
    }
}

fn apply_attribute(f: &mut RemoteFolder, a: &NameAttribute<'_>) {
    match a {
        NameAttribute::NoSelect => f.selectable = false,
        NameAttribute::Sent => f.special_use = Some(SpecialUse::Sent),
        NameAttribute::Trash => f.special_use = Some(SpecialUse::Trash),
        NameAttribute::Drafts => f.special_use = Some(SpecialUse::Drafts),
        NameAttribute::Junk => f.special_use = Some(SpecialUse::Junk),
        NameAttribute::Archive => f.special_use = Some(SpecialUse::Archive),
        NameAttribute::Extension(e) if e.eq_ignore_ascii_case("\\NonExistent") => {
            f.selectable = false
        }
        NameAttribute::Extension(e) if e.eq_ignore_ascii_case("\\Subscribed") => {
            f.subscribed = true
        }
        _ => {}
    }
}

fn message(
    uid: u32,
    flags: Option<&[std::borrow::Cow<'_, str>]>,
    date: Option<&str>,
    raw: Vec<u8>,
) -> Result<Message, String> {
    let Some(date) = date else {
        return Err("the server sent no INTERNALDATE".into());
    };
    let Some(internal_date) = crate::date::parse_internal_date(date) else {
        return Err(format!("unreadable INTERNALDATE {date:?}"));
    };
    let mut meta = Meta {
        uid: Some(uid),
        flags: 0,
        keywords: Vec::new(),
        internal_date,
    };
    for f in flags.unwrap_or_default() {
        let bit = match f.to_ascii_lowercase().as_str() {
            "\\seen" => SEEN,
            "\\answered" => ANSWERED,
            "\\flagged" => FLAGGED,
            "\\deleted" => DELETED,
            "\\draft" => DRAFT,
            // \Recent is the session's, not the message's; other system
            // flags do not exist.
            s if s.starts_with('\\') => 0,
            _ => {
                push_unique(&mut meta.keywords, f);
                0
            }
        };
        meta.flags |= bit;
    }
    Ok(Message { meta, raw })
}

/// Quoted strings cannot hold CR, LF, NUL or (without UTF8=ACCEPT) 8-bit.
fn quotable(s: &[u8]) -> bool {
    s.iter()
        .all(|b| (0x01..=0x7f).contains(b) && *b != b'\r' && *b != b'\n')
}

/// `1:3,7,9:12` for ascending UIDs.
pub(crate) fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// The text after the tag (or `*`) and the status word, for messages.
fn status_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut parts = text.trim_end().splitn(3, ' ');
    let _ = parts.next();
    let _ = parts.next();
    let rest = parts.next().unwrap_or("").trim();
    rest.chars().take(300).collect()
}

fn excerpt(bytes: &[u8]) -> String {
    let n = bytes.len().min(120);
    let mut s = String::from_utf8_lossy(&bytes[..n]).trim_end().to_string();
    if bytes.len() > n {
        s.push_str("...");
    }
    s.escape_debug().to_string()
}
