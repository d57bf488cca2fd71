//! POP3 client commands, parsed from the front of the read buffer.
//!
//! Leniency, where clients in the field need it: keywords in any case,
//! arguments separated by runs of spaces or tabs, trailing blanks ignored
//! (except in PASS), bare LF accepted as line end. Strict where the meaning
//! would be unclear: argument counts are exact, message numbers are plain
//! decimal digits in 1..=2^31.

use super::error::{Error, ErrorKind};
use super::sasl::{SaslResponse, initial_response};
use crate::line::{Framed, Parsed, Recovery, Words, frame, split_keyword, trim_end};
use crate::number::decimal;
use memchr::memchr;

/// Largest message number (and TOP line count) accepted. No maildrop comes
/// near it, and it keeps every number in an `u32`.
pub const MAX_MESSAGE_NUMBER: u32 = 1 << 31;

/// Limits on what one client line may hold. Both count the CRLF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Command lines. RFC 2449 caps them at 255 octets, but clients send
    /// longer USER/PASS lines; the default 1024 is lenient yet small.
    /// (Dovecot reads up to 2048 and disconnects past it; postcore answers
    /// `-ERR` and carries on.)
    pub max_line: usize,
    /// SASL continuation lines and AUTH lines with an initial response, which
    /// RFC 5034 exempts from the 255-octet cap: 64 KiB holds a Kerberos
    /// ticket with a large PAC or an OAuth JWT.
    pub max_sasl_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 1024,
            max_sasl_line: 64 * 1024,
        }
    }
}

/// A client command. Byte strings borrow from the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// The rest of the line: user names with spaces exist in some
    /// directories, and the line can hold nothing else.
    User(&'a [u8]),
    /// The rest of the line verbatim, spaces included (RFC 1939 §7 note).
    Pass(&'a [u8]),
    /// The digest is decoded from its 32 hex digits (either case).
    Apop {
        name: &'a [u8],
        digest: [u8; 16],
    },
    /// `AUTH` alone asks for the mechanism list (the pre-RFC 5034 form
    /// Outlook still sends); with a mechanism it starts an exchange. The
    /// mechanism is as the client wrote it: compare it ignoring case.
    Auth {
        mechanism: Option<&'a [u8]>,
        initial: Option<SaslResponse<'a>>,
    },
    Stls,
    Capa,
    Stat,
    List(Option<u32>),
    Retr(u32),
    Dele(u32),
    Noop,
    Rset,
    Top {
        msg: u32,
        lines: u32,
    },
    Uidl(Option<u32>),
    Quit,
    /// RFC 6856: from here on user names and passwords are UTF-8.
    Utf8,
}

impl Command<'_> {
    /// The keyword, upper case, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Apop { .. } => "APOP",
            Command::Auth { .. } => "AUTH",
            Command::Stls => "STLS",
            Command::Capa => "CAPA",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Retr(_) => "RETR",
            Command::Dele(_) => "DELE",
            Command::Noop => "NOOP",
            Command::Rset => "RSET",
            Command::Top { .. } => "TOP",
            Command::Uidl(_) => "UIDL",
            Command::Quit => "QUIT",
            Command::Utf8 => "UTF8",
        }
    }
}

/// The limit for the line at the front of `buf`: an AUTH line may carry an
/// initial response as long as a continuation line.
fn line_limit(buf: &[u8], limits: &Limits) -> usize {
    let is_auth = buf
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"AUTH ") || p.eq_ignore_ascii_case(b"AUTH\t"));
    if is_auth {
        limits.max_line.max(limits.max_sasl_line)
    } else {
        limits.max_line
    }
}

/// Parses the command at the front of `buf`.
///
/// `Ok(None)`: no complete line yet (read more). `Err`: answer `-ERR` and
/// apply the error's [`Recovery`]. Never `Ok(None)` when `buf` holds a line
/// end within the limit or is at the limit, so the session always progresses.
pub fn parse_command<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<Option<Parsed<Command<'a>>>, Error> {
    let (line, consumed) = match frame(buf, line_limit(buf, limits)) {
        Framed::Incomplete => return Ok(None),
        Framed::TooLong(recovery) => {
            return Err(Error {
                kind: ErrorKind::LineTooLong,
                recovery,
            });
        }
        Framed::Line { line, consumed } => (line, consumed),
    };
    let fail = |kind| Error {
        kind,
        recovery: Recovery::Resync { skip: consumed },
    };
    if memchr(0, line).is_some() {
        return Err(fail(ErrorKind::NulByte));
    }
    let command = parse_line(line).map_err(fail)?;
    Ok(Some(Parsed {
        value: command,
        consumed,
    }))
}

fn parse_line(line: &[u8]) -> Result<Command<'_>, ErrorKind> {
    let (keyword, raw_args) = split_keyword(line);
    if keyword.is_empty() {
        return Err(if trim_end(line).is_empty() {
            ErrorKind::EmptyLine
        } else {
            ErrorKind::UnknownCommand
        });
    }
    let mut upper = [0u8; 4];
    match keyword {
        k if k.len() == 4 => {
            for (u, b) in upper.iter_mut().zip(k) {
                *u = b.to_ascii_uppercase();
            }
        }
        k if k.eq_ignore_ascii_case(b"TOP") => upper = *b"TOP ",
        _ => return Err(ErrorKind::UnknownCommand),
    }
    let args = raw_args.unwrap_or_default();
    let words = Words::new(args);
    let cmd = match &upper {
        b"USER" => Command::User(required_rest(args)?),
        b"PASS" => match raw_args {
            Some(pass) if !pass.is_empty() => Command::Pass(pass),
            _ => return Err(ErrorKind::MissingArgument),
        },
        b"APOP" => apop(args)?,
        b"AUTH" => auth(words)?,
        b"STLS" => none(words, Command::Stls)?,
        b"CAPA" => none(words, Command::Capa)?,
        b"STAT" => none(words, Command::Stat)?,
        b"NOOP" => none(words, Command::Noop)?,
        b"RSET" => none(words, Command::Rset)?,
        b"QUIT" => none(words, Command::Quit)?,
        b"UTF8" => none(words, Command::Utf8)?,
        b"LIST" => Command::List(optional_msg(words)?),
        b"UIDL" => Command::Uidl(optional_msg(words)?),
        b"RETR" => Command::Retr(one_msg(words)?),
        b"DELE" => Command::Dele(one_msg(words)?),
        b"TOP " => top(words)?,
        _ => return Err(ErrorKind::UnknownCommand),
    };
    Ok(cmd)
}

fn required_rest(args: &[u8]) -> Result<&[u8], ErrorKind> {
    let rest = trim_end(Words::new(args).remainder());
    if rest.is_empty() {
        Err(ErrorKind::MissingArgument)
    } else {
        Ok(rest)
    }
}

fn none<'a>(mut words: Words<'a>, cmd: Command<'a>) -> Result<Command<'a>, ErrorKind> {
    match words.next() {
        None => Ok(cmd),
        Some(_) => Err(ErrorKind::TooManyArguments),
    }
}

fn msg_number(word: &[u8]) -> Result<u32, ErrorKind> {
    match decimal(word, u64::from(MAX_MESSAGE_NUMBER)) {
        Some(n) if n >= 1 => u32::try_from(n).map_err(|_| ErrorKind::BadMessageNumber),
        _ => Err(ErrorKind::BadMessageNumber),
    }
}

fn optional_msg(mut words: Words<'_>) -> Result<Option<u32>, ErrorKind> {
    let Some(first) = words.next() else {
        return Ok(None);
    };
    let n = msg_number(first)?;
    match words.next() {
        None => Ok(Some(n)),
        Some(_) => Err(ErrorKind::TooManyArguments),
    }
}

fn one_msg(mut words: Words<'_>) -> Result<u32, ErrorKind> {
    let first = words.next().ok_or(ErrorKind::MissingArgument)?;
    let n = msg_number(first)?;
    match words.next() {
        None => Ok(n),
        Some(_) => Err(ErrorKind::TooManyArguments),
    }
}

fn top(mut words: Words<'_>) -> Result<Command<'_>, ErrorKind> {
    let msg = msg_number(words.next().ok_or(ErrorKind::MissingArgument)?)?;
    let count = words.next().ok_or(ErrorKind::MissingArgument)?;
    let lines = decimal(count, u64::from(MAX_MESSAGE_NUMBER))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(ErrorKind::BadLineCount)?;
    match words.next() {
        None => Ok(Command::Top { msg, lines }),
        Some(_) => Err(ErrorKind::TooManyArguments),
    }
}

/// `APOP name digest`: the digest is the last word, so names may hold spaces
/// as they may in USER.
fn apop(args: &[u8]) -> Result<Command<'_>, ErrorKind> {
    let args = trim_end(Words::new(args).remainder());
    let Some(sp) = args.iter().rposition(|&b| b == b' ' || b == b'\t') else {
        return Err(ErrorKind::MissingArgument);
    };
    let name = trim_end(args.get(..sp).unwrap_or_default());
    let hex = args.get(sp + 1..).unwrap_or_default();
    if name.is_empty() {
        return Err(ErrorKind::MissingArgument);
    }
    let digest = decode_digest(hex).ok_or(ErrorKind::BadDigest)?;
    Ok(Command::Apop { name, digest })
}

fn decode_digest(hex: &[u8]) -> Option<[u8; 16]> {
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let hi = char::from(*pair.first()?).to_digit(16)?;
        let lo = char::from(*pair.get(1)?).to_digit(16)?;
        *o = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(out)
}

/// SASL mechanism names: 1 to 20 of upper-case letters, digits, `-`, `_`
/// (RFC 4422 §3.1); lower case is accepted and left for the server to fold.
fn is_mechanism(s: &[u8]) -> bool {
    (1..=20).contains(&s.len())
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn auth(mut words: Words<'_>) -> Result<Command<'_>, ErrorKind> {
    let Some(mechanism) = words.next() else {
        return Ok(Command::Auth {
            mechanism: None,
            initial: None,
        });
    };
    if !is_mechanism(mechanism) {
        return Err(ErrorKind::BadMechanism);
    }
    let initial = match words.next() {
        None => None,
        Some(arg) => Some(initial_response(arg).ok_or(ErrorKind::BadBase64)?),
    };
    if words.next().is_some() {
        return Err(ErrorKind::TooManyArguments);
    }
    Ok(Command::Auth {
        mechanism: Some(mechanism),
        initial,
    })
}
