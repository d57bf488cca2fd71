//! TOP (RFC 1939 §7): the header, the blank line after it, and the first n
//! lines of the body.

use crate::{DotStuffer, NewlineMode};
use bytes::BufMut;
use memchr::memchr;

/// How many leading bytes of the stored `message` TOP sends for `lines`
/// body lines; feed that prefix to the [`crate::DotStuffer`]. The header ends
/// at the first empty line (CRLF or bare LF, as stored); a message without
/// one is all header. A last body line without a line end counts as a line.
pub fn top_len(message: &[u8], lines: u32) -> usize {
    let mut pos = 0;
    // Header: up to and including the first empty line.
    loop {
        let rest = message.get(pos..).unwrap_or_default();
        let Some(lf) = memchr(b'\n', rest) else {
            return message.len();
        };
        let line = rest.get(..lf).unwrap_or_default();
        pos += lf + 1;
        if line.is_empty() || line == b"\r" {
            break;
        }
    }
    for _ in 0..lines {
        let rest = message.get(pos..).unwrap_or_default();
        match memchr(b'\n', rest) {
            Some(lf) => pos += lf + 1,
            None => return message.len(),
        }
    }
    pos
}

/// Writes the body of a TOP response: the prefix [`top_len`] picks,
/// dot-stuffed with CRLF line ends, and the terminating `.` line.
pub fn write_top<B: BufMut>(out: &mut B, message: &[u8], lines: u32) {
    let mut stuffer = DotStuffer::new(NewlineMode::ToCrlf);
    stuffer.push(
        message.get(..top_len(message, lines)).unwrap_or(message),
        out,
    );
    stuffer.finish(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_top_stuffs_and_terminates() {
        let mut out = Vec::new();
        write_top(&mut out, b"A: 1\n\n.x\n.y\n", 1);
        assert_eq!(out, b"A: 1\r\n\r\n..x\r\n.\r\n");
        let mut out = Vec::new();
        write_top(&mut out, b"A: 1", 0);
        assert_eq!(out, b"A: 1\r\n.\r\n");
    }

    const MSG: &[u8] = b"From: a\r\nSubject: b\r\n\r\nline1\r\nline2\r\nline3";

    fn top(msg: &[u8], n: u32) -> &[u8] {
        &msg[..top_len(msg, n)]
    }

    #[test]
    fn zero_lines_is_header_and_blank_line() {
        assert_eq!(top(MSG, 0), b"From: a\r\nSubject: b\r\n\r\n");
    }

    #[test]
    fn n_body_lines() {
        assert_eq!(top(MSG, 1), b"From: a\r\nSubject: b\r\n\r\nline1\r\n");
        assert_eq!(
            top(MSG, 2),
            b"From: a\r\nSubject: b\r\n\r\nline1\r\nline2\r\n"
        );
        // The unterminated last line, and more lines than there are.
        assert_eq!(top(MSG, 3), MSG);
        assert_eq!(top(MSG, 1000), MSG);
    }

    #[test]
    fn bare_lf_messages() {
        let m = b"A: 1\nB: 2\n\nx\ny\n";
        assert_eq!(top(m, 0), b"A: 1\nB: 2\n\n");
        assert_eq!(top(m, 1), b"A: 1\nB: 2\n\nx\n");
    }

    #[test]
    fn no_body_or_empty_message() {
        assert_eq!(top(b"A: 1\r\nB: 2\r\n", 5), b"A: 1\r\nB: 2\r\n");
        assert_eq!(top(b"", 5), b"");
        assert_eq!(top(b"\r\nbody\r\n", 0), b"\r\n");
    }
}
