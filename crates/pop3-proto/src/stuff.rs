//! Dot-stuffing for multi-line output: POP3 RETR/TOP on the server side and
//! the DATA body of an LMTP client (the load generator, tests).
//!
//! Lines end with CRLF on the wire. A line that starts with "." gets a second
//! "." and the body ends with ".\r\n" on a line of its own. Messages are
//! stored as received, which may include bare LF line ends (imports from
//! mbox, local tools): POP3 must send CRLF lines (RFC 1939 §3), so the POP3
//! server uses [`NewlineMode::ToCrlf`], as Dovecot does; the size it
//! announces in LIST/STAT is then [`crlf_len`] of the stored bytes.

use bytes::BufMut;
use memchr::memchr;

/// What to do with a LF that has no CR before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewlineMode {
    /// Send it as CRLF: the bytes are then CRLF lines as RFC 1939 requires.
    ToCrlf,
    /// Send it unchanged as data; only CRLF ends a line. Decoding with
    /// [`crate::DataDecoder`] then gives back exactly the input.
    Keep,
}

/// Streaming dot-stuffer: feed the message in chunks of any size, then call
/// [`DotStuffer::finish`] for the terminating line.
#[derive(Debug, Clone)]
pub struct DotStuffer {
    mode: NewlineMode,
    at_line_start: bool,
    prev_cr: bool,
}

impl DotStuffer {
    pub fn new(mode: NewlineMode) -> Self {
        DotStuffer {
            mode,
            at_line_start: true,
            prev_cr: false,
        }
    }

    /// Writes `chunk` stuffed. Bytes that need no change are copied in runs
    /// as long as possible, not line by line.
    pub fn push<B: BufMut>(&mut self, chunk: &[u8], out: &mut B) {
        let mut run_start = 0;
        let mut pos = 0;
        while pos < chunk.len() {
            if self.at_line_start {
                if chunk.get(pos) == Some(&b'.') {
                    out.put_slice(chunk.get(run_start..pos).unwrap_or_default());
                    out.put_u8(b'.');
                    run_start = pos;
                }
                self.at_line_start = false;
            }
            let rest = chunk.get(pos..).unwrap_or_default();
            let Some(off) = memchr(b'\n', rest) else {
                self.prev_cr = chunk.last() == Some(&b'\r');
                break;
            };
            let lf = pos + off;
            let cr_before = match lf.checked_sub(1) {
                Some(p) => chunk.get(p) == Some(&b'\r'),
                None => self.prev_cr,
            };
            match self.mode {
                NewlineMode::ToCrlf => {
                    if !cr_before {
                        out.put_slice(chunk.get(run_start..lf).unwrap_or_default());
                        out.put_u8(b'\r');
                        run_start = lf;
                    }
                    self.at_line_start = true;
                }
                NewlineMode::Keep => self.at_line_start = cr_before,
            }
            self.prev_cr = false;
            pos = lf + 1;
        }
        out.put_slice(chunk.get(run_start..).unwrap_or_default());
    }

    /// Ends the last line if the message did not, then writes ".\r\n".
    /// The stuffer is ready for a new message afterwards.
    pub fn finish<B: BufMut>(&mut self, out: &mut B) {
        if !self.at_line_start {
            if self.prev_cr {
                out.put_u8(b'\n');
            } else {
                out.put_slice(b"\r\n");
            }
        }
        out.put_slice(b".\r\n");
        self.at_line_start = true;
        self.prev_cr = false;
    }
}

/// The size of `message` once every bare LF is sent as CRLF: what POP3
/// announces in STAT and LIST (RFC 1939 counts the octets as sent, before
/// stuffing).
pub fn crlf_len(message: &[u8]) -> u64 {
    let mut extra: u64 = 0;
    let mut prev: Option<u8> = None;
    let mut rest = message;
    while let Some(lf) = memchr(b'\n', rest) {
        let before = match lf.checked_sub(1) {
            Some(p) => rest.get(p).copied(),
            None => prev,
        };
        if before != Some(b'\r') {
            extra += 1;
        }
        prev = Some(b'\n');
        rest = rest.get(lf + 1..).unwrap_or_default();
    }
    message.len() as u64 + extra
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuff(mode: NewlineMode, chunks: &[&[u8]]) -> Vec<u8> {
        let mut s = DotStuffer::new(mode);
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn leading_dots_are_doubled_only_at_line_start() {
        assert_eq!(
            stuff(NewlineMode::ToCrlf, &[b".hidden\r\na.b\r\n..\r\n"]),
            b"..hidden\r\na.b\r\n...\r\n.\r\n"
        );
    }

    #[test]
    fn bare_lf_becomes_crlf_in_pop3_mode() {
        assert_eq!(
            stuff(NewlineMode::ToCrlf, &[b"a\n.b\nc"]),
            b"a\r\n..b\r\nc\r\n.\r\n"
        );
    }

    #[test]
    fn keep_mode_only_treats_crlf_as_line_end() {
        assert_eq!(
            stuff(NewlineMode::Keep, &[b"a\n.b\r\n.c\r\n"]),
            b"a\n.b\r\n..c\r\n.\r\n"
        );
    }

    #[test]
    fn state_carries_across_chunks() {
        // CR at the end of one chunk, LF at the start of the next.
        assert_eq!(
            stuff(NewlineMode::ToCrlf, &[b"a\r", b"\n", b".", b"x\n"]),
            b"a\r\n..x\r\n.\r\n"
        );
        assert_eq!(
            stuff(NewlineMode::ToCrlf, &[b"a", b"\n", b"b\r"]),
            b"a\r\nb\r\n.\r\n"
        );
    }

    #[test]
    fn empty_message_is_just_the_terminator() {
        assert_eq!(stuff(NewlineMode::ToCrlf, &[]), b".\r\n");
        assert_eq!(stuff(NewlineMode::ToCrlf, &[b""]), b".\r\n");
    }

    #[test]
    fn crlf_len_counts_added_crs() {
        assert_eq!(crlf_len(b"a\r\nb\r\n"), 6);
        assert_eq!(crlf_len(b"a\nb\n"), 6);
        assert_eq!(crlf_len(b"\n\r\n\n"), 6);
        assert_eq!(crlf_len(b""), 0);
    }
}
