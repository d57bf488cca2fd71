//! LMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 2034,
//! RFC 3463), written straight into the connection's output buffer.

use super::error::Error;
use crate::text::{put_text, put_u64};
use bytes::BufMut;

/// `class.subject.detail`, e.g. 2.1.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnhancedCode {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl EnhancedCode {
    pub const fn new(class: u8, subject: u16, detail: u16) -> Self {
        EnhancedCode {
            class,
            subject,
            detail,
        }
    }

    pub const OK: Self = Self::new(2, 0, 0);
    pub const SENDER_OK: Self = Self::new(2, 1, 0);
    pub const DESTINATION_OK: Self = Self::new(2, 1, 5);
    pub const DELIVERED: Self = Self::new(2, 0, 0);
    pub const CLOSING: Self = Self::new(2, 0, 0);
    pub const NO_SUCH_USER: Self = Self::new(5, 1, 1);
    pub const BAD_DESTINATION_SYNTAX: Self = Self::new(5, 1, 3);
    pub const BAD_SENDER_SYNTAX: Self = Self::new(5, 1, 7);
    pub const MAILBOX_FULL: Self = Self::new(4, 2, 2);
    pub const MESSAGE_TOO_BIG: Self = Self::new(5, 3, 4);
    pub const TEMPORARY_FAILURE: Self = Self::new(4, 3, 0);
    pub const INVALID_COMMAND: Self = Self::new(5, 5, 1);
    pub const SYNTAX_ERROR: Self = Self::new(5, 5, 2);
    pub const BAD_SEQUENCE: Self = Self::new(5, 5, 1);
    pub const TOO_MANY_RECIPIENTS: Self = Self::new(4, 5, 3);
    pub const INVALID_ARGUMENTS: Self = Self::new(5, 5, 4);
    pub const NEEDS_SMTPUTF8: Self = Self::new(5, 6, 7);
}

/// What LHLO announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    Pipelining,
    EightBitMime,
    EnhancedStatusCodes,
    /// The largest message in octets; 0 announces `SIZE` without a limit.
    Size(u64),
    SmtpUtf8,
}

fn put_code<B: BufMut>(out: &mut B, code: u16) {
    // Reply codes are the server's constants, 200..=599; clamp rather than
    // write something that is not three digits.
    put_u64(out, u64::from(code.clamp(100, 999)));
}

fn put_enhanced<B: BufMut>(out: &mut B, e: EnhancedCode) {
    put_u64(out, u64::from(e.class));
    out.put_u8(b'.');
    put_u64(out, u64::from(e.subject));
    out.put_u8(b'.');
    put_u64(out, u64::from(e.detail));
}

fn put_line<B: BufMut>(
    out: &mut B,
    code: u16,
    last: bool,
    enhanced: Option<EnhancedCode>,
    text: &[u8],
) {
    put_code(out, code);
    out.put_u8(if last { b' ' } else { b'-' });
    if let Some(e) = enhanced {
        put_enhanced(out, e);
        if !text.is_empty() {
            out.put_u8(b' ');
        }
    }
    put_text(out, text);
    out.put_slice(b"\r\n");
}

/// One reply line: `250 2.1.5 text`.
pub fn write_reply<B: BufMut>(out: &mut B, code: u16, enhanced: Option<EnhancedCode>, text: &[u8]) {
    put_line(out, code, true, enhanced, text);
}

/// A multi-line reply (`250-a`, `250 b`); RFC 2034 puts the enhanced code
/// on every line. No lines writes one line without text.
pub fn write_reply_lines<B: BufMut>(
    out: &mut B,
    code: u16,
    enhanced: Option<EnhancedCode>,
    lines: &[&[u8]],
) {
    let Some((last, first)) = lines.split_last() else {
        put_line(out, code, true, enhanced, b"");
        return;
    };
    for line in first {
        put_line(out, code, false, enhanced, line);
    }
    put_line(out, code, true, enhanced, last);
}

/// The reply to LHLO: the server's name, then one extension a line. No
/// enhanced codes here: RFC 2034 §3 leaves them out of the EHLO reply.
pub fn write_lhlo<B: BufMut>(out: &mut B, hostname: &[u8], extensions: &[Extension]) {
    put_line(out, 250, extensions.is_empty(), None, hostname);
    for (i, ext) in extensions.iter().enumerate() {
        put_code(out, 250);
        out.put_u8(if i + 1 == extensions.len() {
            b' '
        } else {
            b'-'
        });
        match ext {
            Extension::Pipelining => out.put_slice(b"PIPELINING"),
            Extension::EightBitMime => out.put_slice(b"8BITMIME"),
            Extension::EnhancedStatusCodes => out.put_slice(b"ENHANCEDSTATUSCODES"),
            Extension::Size(0) => out.put_slice(b"SIZE"),
            Extension::Size(n) => {
                out.put_slice(b"SIZE ");
                put_u64(out, *n);
            }
            Extension::SmtpUtf8 => out.put_slice(b"SMTPUTF8"),
        }
        out.put_slice(b"\r\n");
    }
}

/// The reply to a refused line.
pub fn write_error<B: BufMut>(out: &mut B, error: &Error) {
    write_reply(
        out,
        error.kind.code(),
        Some(error.kind.enhanced()),
        error.kind.text().as_bytes(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multi_line() {
        let mut out = Vec::new();
        write_reply(&mut out, 220, None, b"foo.edu LMTP server ready");
        write_reply(
            &mut out,
            250,
            Some(EnhancedCode::DESTINATION_OK),
            b"Recipient ok",
        );
        write_reply(
            &mut out,
            354,
            None,
            b"Start mail input; end with <CRLF>.<CRLF>",
        );
        write_reply_lines(&mut out, 250, Some(EnhancedCode::OK), &[b"one", b"two"]);
        write_reply_lines(&mut out, 221, Some(EnhancedCode::CLOSING), &[]);
        assert_eq!(
            out,
            b"220 foo.edu LMTP server ready\r\n250 2.1.5 Recipient ok\r\n\
              354 Start mail input; end with <CRLF>.<CRLF>\r\n\
              250-2.0.0 one\r\n250 2.0.0 two\r\n221 2.0.0\r\n"
        );
    }

    #[test]
    fn lhlo_reply_lists_extensions() {
        let mut out = Vec::new();
        write_lhlo(
            &mut out,
            b"foo.edu",
            &[
                Extension::Pipelining,
                Extension::EightBitMime,
                Extension::EnhancedStatusCodes,
                Extension::Size(52428800),
                Extension::SmtpUtf8,
            ],
        );
        assert_eq!(
            out,
            b"250-foo.edu\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n\
              250-SIZE 52428800\r\n250 SMTPUTF8\r\n"
        );
        let mut out = Vec::new();
        write_lhlo(&mut out, b"foo.edu", &[Extension::Size(0)]);
        write_lhlo(&mut out, b"bar.edu", &[]);
        assert_eq!(out, b"250-foo.edu\r\n250 SIZE\r\n250 bar.edu\r\n");
    }

    #[test]
    fn text_cannot_break_the_line() {
        let mut out = Vec::new();
        write_reply(
            &mut out,
            550,
            Some(EnhancedCode::NO_SUCH_USER),
            b"<a\r\n250 x>",
        );
        assert_eq!(out, b"550 5.1.1 <a  250 x>\r\n");
    }
}
