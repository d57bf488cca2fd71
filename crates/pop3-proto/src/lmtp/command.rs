//! LMTP client commands, parsed from the front of the read buffer.
//!
//! Verbs and `FROM:`/`TO:` are matched in any case; a space after the colon
//! (`MAIL FROM: <a@b>`) is tolerated as most servers do, but the angle
//! brackets are required. Commands outside LMTP (EXPN, HELP, STARTTLS, AUTH,
//! BDAT...) are unknown commands.

use super::error::{Error, ErrorKind};
use super::path::{Mailbox, ReversePath, is_address_literal, is_domain, parse_path};
use crate::line::{Framed, Parsed, Recovery, Words, frame, split_keyword, trim_end, trim_start};
use crate::number::decimal_saturating;
use memchr::memchr;

/// Limits on what one client line may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Command lines, CRLF included. RFC 5321 §4.5.3.1.4 sets 512 as the
    /// least a server must take; the default 2048 leaves room for long
    /// addresses and parameters from MTAs that go past it.
    pub max_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_line: 2048 }
    }
}

/// BODY= (RFC 6152).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    SevenBit,
    EightBitMime,
}

/// The MAIL FROM parameters postcore announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MailParams {
    /// SIZE= (RFC 1870) in octets; a number too large for `u64` reads as
    /// `u64::MAX` so the server refuses it as too big (552), not as syntax.
    pub size: Option<u64>,
    pub body: Option<Body>,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
}

/// A client command. Byte strings borrow from the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// The client's domain or address literal.
    Lhlo(&'a [u8]),
    Mail {
        from: ReversePath<'a>,
        params: MailParams,
    },
    /// No RCPT parameter is supported (DSN is not announced).
    Rcpt {
        to: Mailbox<'a>,
    },
    Data,
    Rset,
    /// Any argument is ignored, as RFC 5321 §4.1.1.9 allows.
    Noop,
    Quit,
    /// The argument as given; postcore answers 252 without looking it up.
    Vrfy(&'a [u8]),
}

impl Command<'_> {
    /// The verb, upper case, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Lhlo(_) => "LHLO",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
            Command::Vrfy(_) => "VRFY",
        }
    }
}

/// Parses the command at the front of `buf`.
///
/// `Ok(None)`: no complete line yet (read more). `Err`: answer with the
/// error's reply, then apply its [`Recovery`]. Never `Ok(None)` when `buf`
/// holds a line end within the limit or is at the limit.
pub fn parse_command<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<Option<Parsed<Command<'a>>>, Error> {
    let (line, consumed) = match frame(buf, limits.max_line) {
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
    let (verb, args) = split_keyword(line);
    if verb.is_empty() {
        return Err(if trim_end(line).is_empty() {
            ErrorKind::EmptyLine
        } else {
            ErrorKind::UnknownCommand
        });
    }
    if verb.len() != 4 {
        return Err(ErrorKind::UnknownCommand);
    }
    let mut upper = [0u8; 4];
    for (u, b) in upper.iter_mut().zip(verb) {
        *u = b.to_ascii_uppercase();
    }
    let args = trim_end(trim_start(args.unwrap_or_default()));
    match &upper {
        b"LHLO" => lhlo(args),
        b"HELO" | b"EHLO" => Err(ErrorKind::HeloInLmtp),
        b"MAIL" => mail(args),
        b"RCPT" => rcpt(args),
        b"DATA" => no_args(args, Command::Data),
        b"RSET" => no_args(args, Command::Rset),
        b"QUIT" => no_args(args, Command::Quit),
        b"NOOP" => Ok(Command::Noop),
        b"VRFY" if args.is_empty() => Err(ErrorKind::MissingArgument),
        b"VRFY" => Ok(Command::Vrfy(args)),
        _ => Err(ErrorKind::UnknownCommand),
    }
}

fn no_args<'a>(args: &[u8], cmd: Command<'a>) -> Result<Command<'a>, ErrorKind> {
    if args.is_empty() {
        Ok(cmd)
    } else {
        Err(ErrorKind::UnexpectedArgument)
    }
}

fn lhlo(args: &[u8]) -> Result<Command<'_>, ErrorKind> {
    let mut words = Words::new(args);
    let domain = words.next().ok_or(ErrorKind::MissingArgument)?;
    if words.next().is_some() {
        return Err(ErrorKind::UnexpectedArgument);
    }
    if !(is_domain(domain) || is_address_literal(domain)) || std::str::from_utf8(domain).is_err() {
        return Err(ErrorKind::BadDomain);
    }
    Ok(Command::Lhlo(domain))
}

/// Strips `FROM:` / `TO:` and the blanks after it.
fn after_prefix<'a>(args: &'a [u8], prefix: &[u8]) -> Result<&'a [u8], ErrorKind> {
    match args.get(..prefix.len()) {
        Some(p) if p.eq_ignore_ascii_case(prefix) => {
            Ok(trim_start(args.get(prefix.len()..).unwrap_or_default()))
        }
        _ => Err(ErrorKind::ExpectedFromTo),
    }
}

/// What follows a path: nothing, or blanks and parameters.
fn params_after(rest: &[u8], bad_path: ErrorKind) -> Result<Words<'_>, ErrorKind> {
    match rest.first() {
        None => Ok(Words::new(rest)),
        Some(b' ' | b'\t') => Ok(Words::new(rest)),
        Some(_) => Err(bad_path),
    }
}

fn mail(args: &[u8]) -> Result<Command<'_>, ErrorKind> {
    let path = after_prefix(args, b"FROM:")?;
    let (mailbox, used) = parse_path(path).map_err(|()| ErrorKind::BadSenderSyntax)?;
    let rest = path.get(used..).unwrap_or_default();
    let words = params_after(rest, ErrorKind::BadSenderSyntax)?;
    let from = match mailbox {
        None => ReversePath::Null,
        Some(m) => ReversePath::Mailbox(m),
    };
    Ok(Command::Mail {
        from,
        params: mail_params(words)?,
    })
}

fn is_param_keyword(k: &[u8]) -> bool {
    k.first().is_some_and(u8::is_ascii_alphanumeric)
        && k.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
}

fn mail_params(words: Words<'_>) -> Result<MailParams, ErrorKind> {
    let mut params = MailParams::default();
    for word in words {
        let (key, value) = match word.iter().position(|&b| b == b'=') {
            Some(eq) => (
                word.get(..eq).unwrap_or_default(),
                Some(word.get(eq + 1..).unwrap_or_default()),
            ),
            None => (word, None),
        };
        if !is_param_keyword(key) {
            return Err(ErrorKind::BadParameterValue);
        }
        if key.eq_ignore_ascii_case(b"SIZE") {
            if params.size.is_some() {
                return Err(ErrorKind::DuplicateParameter);
            }
            let n = value
                .and_then(decimal_saturating)
                .ok_or(ErrorKind::BadParameterValue)?;
            params.size = Some(n);
        } else if key.eq_ignore_ascii_case(b"BODY") {
            if params.body.is_some() {
                return Err(ErrorKind::DuplicateParameter);
            }
            params.body = Some(match value {
                Some(v) if v.eq_ignore_ascii_case(b"7BIT") => Body::SevenBit,
                Some(v) if v.eq_ignore_ascii_case(b"8BITMIME") => Body::EightBitMime,
                _ => return Err(ErrorKind::BadParameterValue),
            });
        } else if key.eq_ignore_ascii_case(b"SMTPUTF8") {
            if params.smtputf8 {
                return Err(ErrorKind::DuplicateParameter);
            }
            if value.is_some() {
                return Err(ErrorKind::BadParameterValue);
            }
            params.smtputf8 = true;
        } else {
            return Err(ErrorKind::UnknownParameter);
        }
    }
    Ok(params)
}

fn rcpt(args: &[u8]) -> Result<Command<'_>, ErrorKind> {
    let path = after_prefix(args, b"TO:")?;
    let (mailbox, used) = parse_path(path).map_err(|()| ErrorKind::BadRecipientSyntax)?;
    let to = mailbox.ok_or(ErrorKind::BadRecipientSyntax)?;
    let rest = path.get(used..).unwrap_or_default();
    let mut words = params_after(rest, ErrorKind::BadRecipientSyntax)?;
    if words.next().is_some() {
        return Err(ErrorKind::UnknownParameter);
    }
    Ok(Command::Rcpt { to })
}
