//! Framing: finding where a command ends in a growing read buffer, asking
//! for continuations, and enforcing the size limits before bytes arrive.
//!
//! A command is one or more lines; a line ending in `{n}`, `{n+}` or `~{n}`
//! is followed by `n` literal bytes and then the command continues. The
//! reader walks line ends (memchr) and jumps over literals without looking
//! into them, remembering how far it got, so re-calling it as a big APPEND
//! trickles in costs nothing per call beyond the new bytes. Only when the
//! whole command is present is it parsed, in one pass, by
//! `command::parse_command`; nothing in the grammar therefore has to
//! suspend halfway.

use std::num::NonZeroUsize;

use crate::command::{Command, Head, check_head, parse_command};
use crate::error::{ErrorKind, ParseError, Recovery, Status};
use crate::limits::Limits;

/// Which non-synchronizing literal extension the server announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonSyncLiterals {
    /// LITERAL+ (RFC 7888): `{n+}` of any size up to the limits.
    #[default]
    Plus,
    /// LITERAL-: `{n+}` only up to 4096 bytes.
    Minus,
    /// Neither: `{n+}` is refused.
    None,
}

/// The outcome of [`CommandReader::parse`] when no error occurred.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A complete command; drop `consumed` bytes from the buffer after
    /// handling it (the command borrows them).
    Command {
        command: Command<'a>,
        consumed: usize,
    },
    /// Read more and call again with the same (grown) buffer. `needed` is a
    /// lower bound on the missing bytes when known (inside a literal).
    Incomplete { needed: Option<NonZeroUsize> },
    /// Send `+ ...` for a synchronizing literal of `len` bytes, then read
    /// more and call again. Asked once per literal.
    Continue { len: u64 },
}

/// Incremental command reader: one per connection.
///
/// Contract: call [`parse`](Self::parse) with the whole unconsumed buffer
/// (starting at the first byte of the next command). After `Command` drop
/// `consumed` bytes; after an error with [`Recovery::Resync`] drop `skip`
/// bytes; after `Incomplete`/`Continue` drop nothing.
#[derive(Debug, Clone, Default)]
pub struct CommandReader {
    limits: Limits,
    non_sync: NonSyncLiterals,
    scan: Scan,
}

#[derive(Debug, Clone, Copy, Default)]
struct Scan {
    /// Start of the line not yet framed.
    line_start: usize,
    literals: usize,
    /// Data offset of the literal whose continuation was already asked for.
    continued: Option<usize>,
    /// Bytes from `line_start` already searched for a line end, so a long
    /// line arriving in small reads is not rescanned from its start.
    searched: usize,
    head: Option<Head>,
}

/// A literal header found at the end of a line.
struct LiteralHeader {
    len: Option<u64>,
    non_sync: bool,
}

/// Parse `{123}`, `{123+}`, `~{123}` at the end of `line` (line end
/// stripped). `len` is None when the digits overflow.
fn literal_at_end(line: &[u8]) -> Option<LiteralHeader> {
    let body = line.strip_suffix(b"}")?;
    let (body, non_sync) = match body.strip_suffix(b"+") {
        Some(b) => (b, true),
        None => (body, false),
    };
    let open = memchr::memrchr(b'{', body)?;
    let digits = body.get(open + 1..)?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(LiteralHeader {
        len: crate::cursor::parse_u64(digits),
        non_sync,
    })
}

impl CommandReader {
    pub fn new(limits: Limits) -> Self {
        CommandReader {
            limits,
            non_sync: NonSyncLiterals::Plus,
            scan: Scan::default(),
        }
    }

    pub fn with_non_sync(mut self, non_sync: NonSyncLiterals) -> Self {
        self.non_sync = non_sync;
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Forget any partially framed command (e.g. after the session dropped
    /// its buffer).
    pub fn reset(&mut self) {
        self.scan = Scan::default();
    }

    fn fail<'a>(
        &mut self,
        tag: Option<&'a [u8]>,
        kind: ErrorKind,
        recovery: Recovery,
    ) -> ParseError<'a> {
        self.scan = Scan::default();
        let (status, code) = kind.answer();
        ParseError {
            tag,
            kind,
            code,
            status,
            recovery,
        }
    }

    /// Frame and parse the next command at the front of `buf`.
    pub fn parse<'a>(&mut self, buf: &'a [u8]) -> Result<Parsed<'a>, ParseError<'a>> {
        let lim = self.limits;
        loop {
            let start = self.scan.line_start;
            let rest = buf.get(start..).unwrap_or(&[]);
            let from = self.scan.searched.min(rest.len());
            let found = memchr::memchr(b'\n', rest.get(from..).unwrap_or(&[])).map(|i| i + from);
            let Some(nl) = found else {
                self.scan.searched = rest.len();
                if rest.len() >= lim.max_line {
                    let tag = first_line_tag(buf);
                    return Err(self.fail(tag, ErrorKind::LineTooLong, Recovery::Close));
                }
                return Ok(Parsed::Incomplete { needed: None });
            };
            let line_end = start + nl + 1;
            let mut line = rest.get(..nl).unwrap_or(&[]);
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
            let lit = literal_at_end(line);
            let non_sync_follows = lit.as_ref().is_some_and(|l| l.non_sync);
            let on_error = |skip: usize| {
                if non_sync_follows {
                    Recovery::Close
                } else {
                    Recovery::Resync { skip }
                }
            };
            // The head decides the literal limit and whether a continuation
            // may be sent; without a literal the full parse below reports
            // the same errors, so skip the extra pass.
            if start == 0 && lit.is_some() {
                let (tag, head) = check_head(line, true);
                match head {
                    Ok(h) => self.scan.head = h,
                    Err(kind) => return Err(self.fail(tag, kind, on_error(line_end))),
                }
            }
            if nl + 1 > lim.max_line {
                let tag = first_line_tag(buf);
                return Err(self.fail(tag, ErrorKind::LineTooLong, on_error(line_end)));
            }
            let Some(lit) = lit else {
                // The command ends here.
                let cmd = buf.get(..line_end).unwrap_or(&[]);
                self.scan = Scan::default();
                return match parse_command(cmd, &lim) {
                    Ok(command) => Ok(Parsed::Command {
                        command,
                        consumed: line_end,
                    }),
                    Err((tag, kind)) => {
                        Err(self.fail(tag, kind, Recovery::Resync { skip: line_end }))
                    }
                };
            };
            let tag = first_line_tag(buf);
            let literals = self.scan.literals + 1;
            if literals > lim.max_arguments {
                return Err(self.fail(tag, ErrorKind::TooManyArguments, on_error(line_end)));
            }
            let max = match self.scan.head {
                Some(Head::MessageData) => lim.max_literal,
                _ => lim.max_string_literal,
            };
            let len = match lit.len {
                Some(n) if n <= max => n,
                _ => return Err(self.fail(tag, ErrorKind::LiteralTooBig, on_error(line_end))),
            };
            if lit.non_sync {
                let refused = match self.non_sync {
                    NonSyncLiterals::Plus => false,
                    NonSyncLiterals::Minus => len > 4096,
                    NonSyncLiterals::None => true,
                };
                if refused {
                    let kind = if self.non_sync == NonSyncLiterals::None {
                        ErrorKind::BadLiteral
                    } else {
                        ErrorKind::LiteralTooBig
                    };
                    return Err(self.fail(tag, kind, Recovery::Close));
                }
            }
            let total = (line_end as u64).saturating_add(len);
            if total.saturating_add(2) > lim.max_command {
                return Err(self.fail(tag, ErrorKind::CommandTooLong, on_error(line_end)));
            }
            // ok: total <= max_command, which the caller's buffer can hold;
            // a usize smaller than u64 only matters on 32-bit targets.
            let Ok(data_end) = usize::try_from(total) else {
                return Err(self.fail(tag, ErrorKind::CommandTooLong, on_error(line_end)));
            };
            // `<=`: a client sending `{0}` still waits for the `+` before
            // the rest of its line, so nothing after the literal yet means
            // it is waiting.
            if !lit.non_sync && self.scan.continued != Some(line_end) && buf.len() <= data_end {
                self.scan.continued = Some(line_end);
                return Ok(Parsed::Continue { len });
            }
            if buf.len() < data_end {
                let missing = data_end - buf.len() + 1;
                return Ok(Parsed::Incomplete {
                    needed: NonZeroUsize::new(missing),
                });
            }
            self.scan.line_start = data_end;
            self.scan.literals = literals;
            self.scan.searched = 0;
        }
    }
}

/// The tag of the first line when it is well-formed enough to read.
fn first_line_tag(buf: &[u8]) -> Option<&[u8]> {
    let end = buf.iter().position(|&b| !crate::cursor::TAG[b as usize])?;
    if end == 0 || buf.get(end) != Some(&b' ') {
        return None;
    }
    buf.get(..end)
}

/// Result of the line-mode helpers.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<T> {
    /// A full line was read; drop `consumed` bytes.
    Done {
        value: T,
        consumed: usize,
    },
    Incomplete,
}

fn take_line<'a>(buf: &'a [u8], lim: &Limits) -> Result<Option<(&'a [u8], usize)>, ParseError<'a>> {
    let Some(nl) = memchr::memchr(b'\n', buf) else {
        if buf.len() >= lim.max_line {
            return Err(ParseError {
                tag: None,
                kind: ErrorKind::LineTooLong,
                code: None,
                status: Status::Bad,
                recovery: Recovery::Close,
            });
        }
        return Ok(None);
    };
    let line = buf.get(..nl).unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if nl + 1 > lim.max_line {
        return Err(ParseError {
            tag: None,
            kind: ErrorKind::LineTooLong,
            code: None,
            status: Status::Bad,
            recovery: Recovery::Resync { skip: nl + 1 },
        });
    }
    Ok(Some((line, nl + 1)))
}

/// While IDLE: wait for the `DONE` line (case-insensitive). Any other line
/// is an error the session answers with a tagged BAD for the IDLE command
/// (RFC 2177 leaves it open; ending IDLE is the safe reading).
pub fn parse_idle_done<'a>(buf: &'a [u8], lim: &Limits) -> Result<Line<()>, ParseError<'a>> {
    match take_line(buf, lim)? {
        None => Ok(Line::Incomplete),
        Some((line, consumed)) if line.eq_ignore_ascii_case(b"DONE") => Ok(Line::Done {
            value: (),
            consumed,
        }),
        Some((_, consumed)) => Err(ParseError {
            tag: None,
            kind: ErrorKind::Syntax,
            code: None,
            status: Status::Bad,
            recovery: Recovery::Resync { skip: consumed },
        }),
    }
}

/// A client line during AUTHENTICATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthLine<'a> {
    /// `*`: the client cancels (answer tagged BAD).
    Cancel,
    /// Base64 response as sent (empty for an empty line).
    Response(&'a [u8]),
}

/// During AUTHENTICATE: read one base64 response line or the `*` cancel.
pub fn parse_auth_line<'a>(
    buf: &'a [u8],
    lim: &Limits,
) -> Result<Line<AuthLine<'a>>, ParseError<'a>> {
    let Some((line, consumed)) = take_line(buf, lim)? else {
        return Ok(Line::Incomplete);
    };
    if line == b"*" {
        return Ok(Line::Done {
            value: AuthLine::Cancel,
            consumed,
        });
    }
    if line.is_empty() {
        return Ok(Line::Done {
            value: AuthLine::Response(line),
            consumed,
        });
    }
    let mut c = crate::cursor::Cursor::new(line);
    match crate::command::base64_or_eq(&mut c) {
        Ok(b) if c.at_end() && b != b"=" => Ok(Line::Done {
            value: AuthLine::Response(b),
            consumed,
        }),
        _ => Err(ParseError {
            tag: None,
            kind: ErrorKind::BadBase64,
            code: None,
            status: Status::Bad,
            recovery: Recovery::Resync { skip: consumed },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(line: &[u8]) -> Option<(Option<u64>, bool)> {
        literal_at_end(line).map(|l| (l.len, l.non_sync))
    }

    #[test]
    fn literal_headers_at_line_end() {
        assert_eq!(lit(b"a LOGIN {5}"), Some((Some(5), false)));
        assert_eq!(lit(b"a LOGIN {5+}"), Some((Some(5), true)));
        assert_eq!(lit(b"a APPEND x ~{0}"), Some((Some(0), false)));
        assert_eq!(
            lit(b"a LOGIN {99999999999999999999999}"),
            Some((None, false))
        );
        for not_literal in [
            &b"a LOGIN {}"[..],
            b"a LOGIN {+}",
            b"a LOGIN {5a}",
            b"a LOGIN 5}",
            b"a LOGIN {5} ",
            b"}",
            b"",
        ] {
            assert_eq!(
                lit(not_literal),
                None,
                "{:?}",
                String::from_utf8_lossy(not_literal)
            );
        }
    }

    #[test]
    fn tag_of_first_line() {
        assert_eq!(first_line_tag(b"a1 FETCH"), Some(&b"a1"[..]));
        assert_eq!(first_line_tag(b"a1"), None);
        assert_eq!(first_line_tag(b"+x FETCH"), None);
        assert_eq!(first_line_tag(b" FETCH"), None);
    }
}
