//! mbox, streaming: one message in memory at a time, because mbox files
//! reach tens of GiB.
//!
//! A message starts at a line beginning `"From "` at the start of the file
//! or right after an empty line; the empty line is the separator and not
//! part of the message. A `"From "` line anywhere else is body text. Both
//! dialects quote body lines that would look like a separator by prefixing
//! `>`; they differ in unquoting (see [`Variant`]).
//!
//! The metadata headers Dovecot and mutt keep in the file (`Status`,
//! `X-Status`, `X-Keywords`, `X-UID`, `X-IMAPbase`, `X-IMAP`,
//! `Content-Length`) are turned into [`Meta`] and removed from the message
//! bytes, since IMAP clients of those servers never saw them. A message
//! that itself carried such a header loses it, as under Dovecot. If the
//! first message has `X-IMAP` (not `X-IMAPbase`) it is UW-IMAP's internal
//! pseudo message and is skipped after reading its UIDVALIDITY.
//!
//! Round trips through [`Writer`] and [`Reader`] are byte-identical for
//! messages that end in a newline (all that MTAs deliver). A message not
//! ending in one gets `\n` appended by the writer, which the reader cannot
//! tell apart from content.

use std::io::{BufRead, BufWriter, Write};
use std::mem;
use std::path::PathBuf;

use crate::{
    ANSWERED, DELETED, DRAFT, Error, FLAGGED, Message, Meta, SEEN, check_keyword, date, format_err,
    io_err, push_unique,
};

const DEFAULT_PATH: &str = "<mbox>";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Body lines matching `^>+From ` lose one `>`; the writer quotes
    /// `^>*From `, so every line survives a round trip.
    Mboxrd,
    /// Only `^>From ` lines lose their `>` (`>>From ` stays as is): the
    /// classic format, which cannot tell a quoted `From ` from a real
    /// `>From `.
    Mboxo,
}

fn is_blank(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n"
}

fn is_quoted_from(line: &[u8]) -> bool {
    let gt = line.iter().take_while(|&&b| b == b'>').count();
    line[gt..].starts_with(b"From ")
}

fn unquote_into(variant: Variant, line: &[u8], out: &mut Vec<u8>) {
    let unquote = match variant {
        Variant::Mboxrd => line.first() == Some(&b'>') && is_quoted_from(line),
        Variant::Mboxo => line.starts_with(b">From "),
    };
    out.extend_from_slice(if unquote { &line[1..] } else { line });
}

/// Streaming mbox reader; each item is one message.
pub struct Reader<R: BufRead> {
    r: R,
    variant: Variant,
    path: PathBuf,
    line_no: u64,
    line: Vec<u8>,
    /// The From_ line that ended the previous message and opens the next.
    pending: Option<Vec<u8>>,
    started: bool,
    done: bool,
    first: bool,
    uidvalidity: Option<u32>,
    uidnext: Option<u32>,
}

/// What the metadata headers of one message said.
#[derive(Default)]
struct Headers {
    flags: u8,
    keywords: Vec<String>,
    uid: Option<u32>,
    base: Option<(u32, u32)>,
    pseudo: bool,
}

fn header_name(field: &[u8]) -> Option<&[u8]> {
    let colon = field.iter().position(|&b| b == b':')?;
    let name = &field[..colon];
    // Some writers put spaces before the colon ("Status :").
    let end = name
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    Some(&name[..end])
}

fn parse_base(value: &str) -> Option<(u32, u32)> {
    let mut t = value.split_ascii_whitespace();
    Some((t.next()?.parse().ok()?, t.next()?.parse().ok()?))
}

/// Applies a metadata field to `h`; false when the field is not one of
/// them and stays in the message.
fn take_header(field: &[u8], h: &mut Headers) -> bool {
    let Some(name) = header_name(field) else {
        return false;
    };
    let value = String::from_utf8_lossy(&field[name.len()..]);
    let value = value.trim_start().strip_prefix(':').unwrap_or(&value);
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    if is("Status") {
        if value.contains('R') {
            h.flags |= SEEN;
        }
    } else if is("X-Status") {
        for (c, bit) in [
            ('A', ANSWERED),
            ('F', FLAGGED),
            ('T', DRAFT),
            ('D', DELETED),
        ] {
            if value.contains(c) {
                h.flags |= bit;
            }
        }
    } else if is("X-Keywords") {
        for kw in value.split(|c: char| c.is_ascii_whitespace() || c == ',') {
            if !kw.is_empty() {
                push_unique(&mut h.keywords, kw);
            }
        }
    } else if is("X-UID") {
        h.uid = value.trim().parse().ok().filter(|&u| u != 0);
    } else if is("X-IMAPbase") {
        h.base = parse_base(value);
    } else if is("X-IMAP") {
        h.base = parse_base(value);
        h.pseudo = true;
    } else if !is("Content-Length") {
        return false;
    }
    true
}

/// Splits the metadata headers off `raw`, keeping everything else byte for
/// byte. Header fields run until the first empty line; folded lines belong
/// to the field above them.
fn strip_headers(raw: Vec<u8>) -> (Vec<u8>, Headers) {
    let mut h = Headers::default();
    let mut lines = Vec::new();
    let mut pos = 0;
    while pos < raw.len() {
        let end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| pos + i + 1);
        if is_blank(&raw[pos..end]) {
            break;
        }
        lines.push((pos, end));
        pos = end;
    }
    let header_end = pos;
    // Folded lines go with their field, so a removed field takes its
    // continuation lines along.
    let mut fields: Vec<(usize, usize)> = Vec::new();
    for (s, e) in lines {
        let folded = matches!(raw[s], b' ' | b'\t');
        match fields.last_mut() {
            Some(last) if folded => last.1 = e,
            _ => fields.push((s, e)),
        }
    }
    let keep: Vec<bool> = fields
        .iter()
        .map(|&(s, e)| !take_header(&raw[s..e], &mut h))
        .collect();
    if keep.iter().all(|&k| k) {
        return (raw, h);
    }
    let mut out = Vec::with_capacity(raw.len());
    for (&(s, e), _) in fields.iter().zip(&keep).filter(|(_, k)| **k) {
        out.extend_from_slice(&raw[s..e]);
    }
    out.extend_from_slice(&raw[header_end..]);
    (out, h)
}

impl<R: BufRead> Reader<R> {
    pub fn new(r: R, variant: Variant) -> Self {
        Reader {
            r,
            variant,
            path: PathBuf::from(DEFAULT_PATH),
            line_no: 0,
            line: Vec::new(),
            pending: None,
            started: false,
            done: false,
            first: true,
            uidvalidity: None,
            uidnext: None,
        }
    }

    /// Names the source in errors (default `<mbox>`).
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = path.into();
        self
    }

    /// From the first message's `X-IMAPbase` (or UW-IMAP's `X-IMAP`);
    /// known once the first message has been read.
    pub fn uidvalidity(&self) -> Option<u32> {
        self.uidvalidity
    }

    pub fn uidnext(&self) -> Option<u32> {
        self.uidnext
    }

    /// Reads one line into `self.line`; false at end of input.
    fn read_line(&mut self) -> Result<bool, Error> {
        self.line.clear();
        let n = self
            .r
            .read_until(b'\n', &mut self.line)
            .map_err(|e| io_err(&self.path, e))?;
        if n > 0 {
            self.line_no += 1;
        }
        Ok(n > 0)
    }

    fn next_message(&mut self) -> Result<Option<Message>, Error> {
        loop {
            let from_line = match self.pending.take() {
                Some(l) => l,
                None if self.started => return Ok(None),
                None => {
                    self.started = true;
                    // Tolerate blank lines before the first separator.
                    loop {
                        if !self.read_line()? {
                            return Ok(None);
                        }
                        if !is_blank(&self.line) {
                            break;
                        }
                    }
                    if !self.line.starts_with(b"From ") {
                        return Err(format_err(
                            &self.path,
                            self.line_no,
                            "not an mbox file: expected a \"From \" line",
                        ));
                    }
                    mem::take(&mut self.line)
                }
            };
            let mut raw = Vec::new();
            let mut last_start = 0;
            let mut last_blank = false;
            loop {
                if !self.read_line()? {
                    if last_blank {
                        raw.truncate(last_start);
                    }
                    break;
                }
                if last_blank && self.line.starts_with(b"From ") {
                    raw.truncate(last_start);
                    self.pending = Some(mem::take(&mut self.line));
                    break;
                }
                last_start = raw.len();
                last_blank = is_blank(&self.line);
                unquote_into(self.variant, &self.line, &mut raw);
            }
            let internal_date = date::parse_from_line(&from_line[5..]).unwrap_or(0);
            let (raw, h) = strip_headers(raw);
            if self.first {
                self.first = false;
                if let Some((v, n)) = h.base {
                    self.uidvalidity = Some(v);
                    self.uidnext = Some(n);
                }
                if h.pseudo {
                    continue;
                }
            }
            return Ok(Some(Message {
                meta: Meta {
                    uid: h.uid,
                    flags: h.flags,
                    keywords: h.keywords,
                    internal_date,
                },
                raw,
            }));
        }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Message, Error>;

    /// After an error the reader is finished: mbox has no record framing to
    /// resynchronise on that would be safer than stopping.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_message() {
            Ok(Some(m)) => Some(Ok(m)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Streaming mboxrd writer. Buffers internally; [`Writer::finish`] flushes.
pub struct Writer<W: Write> {
    w: BufWriter<W>,
    path: PathBuf,
    first: bool,
    last_uid: u32,
    uidnext: Option<u32>,
}

impl<W: Write> Writer<W> {
    pub fn new(w: W) -> Self {
        Writer {
            w: BufWriter::with_capacity(64 * 1024, w),
            path: PathBuf::from(DEFAULT_PATH),
            first: true,
            last_uid: 0,
            uidnext: None,
        }
    }

    /// Names the target in errors (default `<mbox>`).
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = path.into();
        self
    }

    /// Appends one message: From_ line (`postcore@localhost`, asctime UTC
    /// of `internal_date`), then `X-IMAPbase` (first message only, when
    /// `base` = (uidvalidity, uidnext) is given; ignored later), `X-UID`,
    /// `Status`, `X-Status`, `X-Keywords` above the message's own header,
    /// in the message's line ending. `meta.uid` is ignored. UIDs must
    /// ascend and stay below the `uidnext` given, because Dovecot
    /// renumbers messages whose X-UID breaks that.
    pub fn add(
        &mut self,
        uid: u32,
        meta: &Meta,
        raw: &[u8],
        base: Option<(u32, u32)>,
    ) -> Result<(), Error> {
        if uid == 0 {
            return Err(Error::Invalid("UID 0 is not a valid UID".to_owned()));
        }
        if uid <= self.last_uid {
            return Err(Error::Invalid(format!(
                "mbox UIDs must ascend: {uid} after {}",
                self.last_uid
            )));
        }
        let base = if self.first { base } else { None };
        if let Some((v, n)) = base {
            if v == 0 {
                return Err(Error::Invalid("UIDVALIDITY 0 is not valid".to_owned()));
            }
            self.uidnext = Some(n);
        }
        if let Some(n) = self.uidnext
            && uid >= n
        {
            return Err(Error::Invalid(format!(
                "UID {uid} is not below the UIDNEXT {n} written in X-IMAPbase"
            )));
        }
        for kw in &meta.keywords {
            check_keyword(kw, &[','])?;
        }
        let first_line_end = raw.iter().position(|&b| b == b'\n');
        let eol: &[u8] = match first_line_end {
            Some(i) if i > 0 && raw[i - 1] == b'\r' => b"\r\n",
            _ => b"\n",
        };
        let mut head = Vec::with_capacity(256);
        head.extend_from_slice(b"From postcore@localhost ");
        head.extend_from_slice(date::format_asctime(meta.internal_date).as_bytes());
        head.push(b'\n');
        let mut field = |name: &str, value: &str| {
            head.extend_from_slice(name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(eol);
        };
        if let Some((v, n)) = base {
            // Zero-padded like Dovecot, which rewrites the value in place.
            field("X-IMAPbase", &format!("{v:010} {n:010}"));
        }
        field("X-UID", &uid.to_string());
        field("Status", if meta.flags & SEEN != 0 { "RO" } else { "O" });
        let xstatus: String = [
            (ANSWERED, 'A'),
            (FLAGGED, 'F'),
            (DRAFT, 'T'),
            (DELETED, 'D'),
        ]
        .into_iter()
        .filter(|(bit, _)| meta.flags & bit != 0)
        .map(|(_, c)| c)
        .collect();
        if !xstatus.is_empty() {
            field("X-Status", &xstatus);
        }
        if !meta.keywords.is_empty() {
            field("X-Keywords", &meta.keywords.join(" "));
        }
        let io = |e| io_err(&self.path, e);
        self.w.write_all(&head).map_err(io)?;
        for line in raw.split_inclusive(|&b| b == b'\n') {
            if is_quoted_from(line) {
                self.w.write_all(b">").map_err(io)?;
            }
            self.w.write_all(line).map_err(io)?;
        }
        if !raw.ends_with(b"\n") {
            self.w.write_all(b"\n").map_err(io)?;
        }
        // The separator line before the next From_ (or at the end).
        self.w.write_all(b"\n").map_err(io)?;
        self.first = false;
        self.last_uid = uid;
        Ok(())
    }

    /// Flushes and hands back the inner writer (fsync a file yourself).
    pub fn finish(mut self) -> Result<W, Error> {
        self.w.flush().map_err(|e| io_err(&self.path, e))?;
        let path = self.path;
        self.w
            .into_inner()
            .map_err(|e| io_err(&path, e.into_error()))
    }
}

#[cfg(test)]
mod tests;
