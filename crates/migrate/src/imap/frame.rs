//! Cutting the server's byte stream into whole responses before anything
//! parses them. A response is a line, or a line ending in a literal
//! announcement `{n}` followed by `n` bytes and the rest of the response
//! (RFC 9051 §4.3: a literal is only ever announced at the end of a line).
//! Knowing `n` before reading the bytes is what lets us refuse an absurd
//! literal instead of allocating for it, which a streaming parser that
//! asks for "more input" cannot tell us. The parser (imap-proto) then sees
//! one complete response at a time.

use super::ImapError;
use std::io::{self, Read};
use std::ops::Range;

/// Bounds on what the server may make us hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// One line, CRLF included (literals not counted).
    pub max_line: usize,
    /// One literal.
    pub max_literal: u64,
    /// One whole response: its lines and literals.
    pub max_response: usize,
}

/// Read granularity; also the slack the buffer may hold past one response.
const CHUNK: usize = 64 << 10;

pub(crate) struct Framer<S> {
    pub(crate) stream: S,
    buf: Vec<u8>,
    /// First byte not yet handed out.
    start: usize,
    /// End of the bytes read.
    end: usize,
}

impl<S: Read> Framer<S> {
    pub(crate) fn new(stream: S) -> Self {
        Framer {
            stream,
            buf: Vec::new(),
            start: 0,
            end: 0,
        }
    }

    /// Bytes read but not yet handed out as a response. After STARTTLS
    /// this must be empty: anything the server sent before the handshake
    /// is not protected by it (the STARTTLS command-injection attack).
    pub(crate) fn buffered(&self) -> usize {
        self.end - self.start
    }

    pub(crate) fn bytes(&self, r: Range<usize>) -> &[u8] {
        &self.buf[r]
    }

    /// The next complete response, as a range for [`Framer::bytes`]; valid
    /// until the next call.
    pub(crate) fn next(&mut self, lim: &Limits) -> Result<Range<usize>, ImapError> {
        let mut frame = self.start;
        let mut line = frame;
        // Bytes of the current line already searched for its LF.
        let mut scanned = 0usize;
        loop {
            let Some(i) = memchr::memchr(b'\n', &self.buf[line + scanned..self.end]) else {
                scanned = self.end - line;
                if scanned >= lim.max_line {
                    return Err(ImapError::LineTooLong {
                        limit: lim.max_line,
                    });
                }
                let moved = self.fill(frame, self.end + 1, lim)?;
                frame -= moved;
                line -= moved;
                continue;
            };
            let lf = line + scanned + i;
            if lf + 1 - line > lim.max_line {
                return Err(ImapError::LineTooLong {
                    limit: lim.max_line,
                });
            }
            let Some(n) = literal_len(&self.buf[line..=lf]) else {
                self.start = lf + 1;
                return Ok(frame..lf + 1);
            };
            if n > lim.max_literal {
                return Err(ImapError::LiteralTooLarge {
                    size: n,
                    limit: lim.max_literal,
                });
            }
            let after = (lf + 1 - frame) as u64 + n;
            if after > lim.max_response as u64 {
                return Err(ImapError::ResponseTooLarge {
                    limit: lim.max_response,
                });
            }
            let after = frame + after as usize;
            if self.end < after {
                let moved = self.fill(frame, after, lim)?;
                frame -= moved;
                line = after - moved;
            } else {
                line = after;
            }
            scanned = 0;
        }
    }

    /// Reads until at least `want` bytes (a position in the buffer) are
    /// there. The unfinished response starting at `frame` may be moved to
    /// the front first; returns by how much it moved.
    fn fill(&mut self, frame: usize, want: usize, lim: &Limits) -> Result<usize, ImapError> {
        let mut moved = 0;
        if want > self.buf.len() && frame > 0 {
            // Moved only when the space is needed, not after every
            // response: a chunk holds hundreds of short FETCH lines.
            // `start` is where this response begins: it moves with it.
            self.buf.copy_within(frame..self.end, 0);
            self.end -= frame;
            self.start = 0;
            moved = frame;
        }
        let want = want - moved;
        if want > self.buf.len() {
            // A response is at most max_response plus the line after its
            // last literal; CHUNK is read-ahead of the next response.
            let cap = lim
                .max_response
                .saturating_add(lim.max_line)
                .saturating_add(CHUNK);
            let size = want
                .max(self.buf.len().saturating_mul(2))
                .max(CHUNK)
                .min(cap)
                .max(want);
            self.buf.resize(size, 0);
        }
        while self.end < want {
            let n = loop {
                match self.stream.read(&mut self.buf[self.end..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(ImapError::from_io(e)),
                }
            };
            if n == 0 {
                return Err(ImapError::Closed);
            }
            self.end += n;
        }
        Ok(moved)
    }
}

/// `n` when the line (ending in LF) ends with a literal announcement:
/// `{n}`, `{n+}` (LITERAL+) or `~{n}` (BINARY), then CRLF.
pub(crate) fn literal_len(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let inner = line.strip_suffix(b"}")?;
    let open = memchr::memrchr(b'{', inner)?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |v, d| {
        v.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}
