//! Incremental decoder of a dot-stuffed body: the LMTP DATA payload (and a
//! POP3 client's multi-line response).
//!
//! RFC 5321 lines end with CRLF, and only CRLF: a "." at the start of a line
//! is removed, and the line "." alone ends the body. Bare LF (and bare CR)
//! is accepted and kept as data, not treated as a line end and not
//! rewritten: a MTA that passes it through means it as data, and reading
//! "\n.\r\n" as the end would let a sender smuggle commands after a message.
//! A client that sends LF-only lines therefore has to end with CRLF.CRLF.
//! The bytes written out are the message as received, without the stuffing
//! and without the terminating ".\r\n".

use bytes::BufMut;
use memchr::memmem::Finder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Just after CRLF (or at the start of the body).
    LineStart,
    /// A "." at the start of a line, not yet known to be the terminator.
    Dot,
    /// ".\r" at the start of a line.
    DotCr,
    /// Inside a line.
    Middle,
    Done,
}

/// How far a call to [`DataDecoder::decode`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataProgress {
    /// Bytes of the input that belonged to the body (its terminator
    /// included); anything after them is the next command.
    pub consumed: usize,
    /// The terminating line has been seen.
    pub done: bool,
}

/// Decodes a DATA body fed in chunks split anywhere, and enforces a maximum
/// size without losing the stream: once the message is too big, nothing past
/// the first `max_size` bytes is written out but the input is still read to
/// its end, so the session
/// answers 552 for each recipient and stays in step with the client.
#[derive(Debug, Clone)]
pub struct DataDecoder {
    state: State,
    last_cr: bool,
    size: u64,
    max_size: u64,
    too_big: bool,
    line_dot: Finder<'static>,
}

impl DataDecoder {
    /// `max_size` is in decoded octets (as SIZE= and RFC 1870 count them).
    pub fn new(max_size: u64) -> Self {
        DataDecoder {
            state: State::LineStart,
            last_cr: false,
            size: 0,
            max_size,
            too_big: false,
            line_dot: Finder::new(b"\r\n."),
        }
    }

    /// Decoded size seen so far, including what was not written because the
    /// message was too big.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The message passed `max_size`: what was written out is only its
    /// first `max_size` bytes.
    pub fn too_big(&self) -> bool {
        self.too_big
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Writes decoded bytes while they fit; past `max_size` only counts
    /// them, so `out` ends up holding exactly the first `max_size` bytes.
    fn emit<B: BufMut>(&mut self, bytes: &[u8], out: &mut B) {
        let room = self.max_size.saturating_sub(self.size);
        self.size = self.size.saturating_add(bytes.len() as u64);
        if self.too_big {
            return;
        }
        if bytes.len() as u64 > room {
            self.too_big = true;
            let fits = usize::try_from(room).unwrap_or(usize::MAX);
            out.put_slice(bytes.get(..fits).unwrap_or(bytes));
        } else {
            out.put_slice(bytes);
        }
    }

    /// Reads body bytes from `input`, writing the decoded message to `out`.
    /// Consumes all of `input` unless the terminator is in it.
    pub fn decode<B: BufMut>(&mut self, input: &[u8], out: &mut B) -> DataProgress {
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            match self.state {
                State::Done => break,
                State::LineStart => {
                    if b == b'.' {
                        self.state = State::Dot;
                        i += 1;
                    } else {
                        self.state = State::Middle;
                    }
                }
                State::Dot => {
                    if b == b'\r' {
                        self.state = State::DotCr;
                        i += 1;
                    } else {
                        // The dot was stuffing: drop it, the rest is data.
                        self.state = State::Middle;
                    }
                }
                State::DotCr => {
                    if b == b'\n' {
                        self.state = State::Done;
                        i += 1;
                    } else {
                        // ".\r" followed by data: the dot was stuffing, the
                        // CR is data.
                        self.emit(b"\r", out);
                        self.last_cr = true;
                        self.state = State::Middle;
                    }
                }
                State::Middle => {
                    let rest = input.get(i..).unwrap_or_default();
                    if self.last_cr && b == b'\n' {
                        // CRLF split across two reads.
                        self.emit(b"\n", out);
                        self.last_cr = false;
                        self.state = State::LineStart;
                        i += 1;
                        continue;
                    }
                    // Only a dot after CRLF needs work: copy everything up
                    // to the next one in one go.
                    match self.line_dot.find(rest) {
                        Some(p) => {
                            self.emit(rest.get(..p + 2).unwrap_or_default(), out);
                            self.last_cr = false;
                            self.state = State::Dot;
                            i += p + 3;
                        }
                        None => {
                            self.emit(rest, out);
                            if rest.ends_with(b"\r\n") {
                                self.last_cr = false;
                                self.state = State::LineStart;
                            } else {
                                self.last_cr = rest.last() == Some(&b'\r');
                            }
                            i = input.len();
                        }
                    }
                }
            }
        }
        DataProgress {
            consumed: i,
            done: self.state == State::Done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8], max: u64) -> (Vec<u8>, DataProgress, bool) {
        let mut d = DataDecoder::new(max);
        let mut out = Vec::new();
        let p = d.decode(input, &mut out);
        (out, p, d.too_big())
    }

    #[test]
    fn rfc_5321_example_body() {
        let (out, p, _) = decode_all(
            b"Blah blah blah...\r\n...etc. etc. etc.\r\n.\r\nQUIT\r\n",
            1000,
        );
        assert_eq!(out, b"Blah blah blah...\r\n..etc. etc. etc.\r\n");
        assert_eq!(
            p,
            DataProgress {
                consumed: 41,
                done: true
            }
        );
    }

    #[test]
    fn empty_body() {
        let (out, p, _) = decode_all(b".\r\n", 10);
        assert!(out.is_empty());
        assert_eq!(
            p,
            DataProgress {
                consumed: 3,
                done: true
            }
        );
    }

    #[test]
    fn single_dot_lines_inside_the_body_are_unstuffed() {
        let (out, p, _) = decode_all(b"a\r\n..\r\n.x\r\n.\r\n", 100);
        assert_eq!(out, b"a\r\n.\r\nx\r\n");
        assert!(p.done);
    }

    #[test]
    fn bare_lf_is_data_and_does_not_terminate() {
        let (out, p, _) = decode_all(b"a\n.\nb\n.\r\nc\r\n.\r\n", 100);
        assert_eq!(out, b"a\n.\nb\n.\r\nc\r\n");
        assert_eq!(p.consumed, 15);
        assert!(p.done);
    }

    #[test]
    fn dot_cr_without_lf_keeps_the_cr() {
        let (out, p, _) = decode_all(b".\rx\r\n.\r\n", 100);
        assert_eq!(out, b"\rx\r\n");
        assert!(p.done);
    }

    #[test]
    fn incomplete_body_consumes_everything_and_waits() {
        let mut d = DataDecoder::new(100);
        let mut out = Vec::new();
        assert_eq!(
            d.decode(b"abc\r\n.", &mut out),
            DataProgress {
                consumed: 6,
                done: false
            }
        );
        assert_eq!(
            d.decode(b"\r", &mut out),
            DataProgress {
                consumed: 1,
                done: false
            }
        );
        assert_eq!(
            d.decode(b"\nNOOP\r\n", &mut out),
            DataProgress {
                consumed: 1,
                done: true
            }
        );
        assert_eq!(out, b"abc\r\n");
        // Done: nothing more is taken.
        assert_eq!(
            d.decode(b"more", &mut out),
            DataProgress {
                consumed: 0,
                done: true
            }
        );
    }

    #[test]
    fn too_big_keeps_reading_to_the_end_but_stops_writing() {
        let body = b"0123456789\r\n0123456789\r\n.\r\nQUIT\r\n";
        let (out, p, too_big) = decode_all(body, 15);
        assert!(too_big);
        assert_eq!(
            p,
            DataProgress {
                consumed: 27,
                done: true
            }
        );
        assert_eq!(out, b"0123456789\r\n012");
        let mut d = DataDecoder::new(15);
        d.decode(body, &mut Vec::new());
        assert_eq!(d.size(), 24);
    }

    #[test]
    fn exactly_max_size_is_accepted() {
        let (out, p, too_big) = decode_all(b"12345678\r\n.\r\n", 10);
        assert!(!too_big);
        assert!(p.done);
        assert_eq!(out.len(), 10);
    }
}
