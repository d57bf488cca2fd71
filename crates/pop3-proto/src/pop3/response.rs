//! POP3 server responses, written straight into the connection's output
//! buffer. Multi-line bodies go through [`crate::DotStuffer`] and end with
//! [`write_multiline_end`] (or the stuffer's `finish`).

use super::error::Error;
use crate::text::{put_text, put_u64};
use crate::{DotStuffer, NewlineMode};
use bytes::BufMut;

/// Extended response codes (RFC 2449 §8, RFC 3206, RFC 6856) for `-ERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespCode {
    /// The maildrop is locked by another session.
    InUse,
    /// Logged in too soon after the last login.
    LoginDelay,
    /// Temporary server trouble: try again later.
    SysTemp,
    /// Permanent server trouble: do not retry.
    SysPerm,
    /// The credentials were wrong (as opposed to a system failure).
    Auth,
    /// The user name or mailbox needs UTF8 mode.
    Utf8,
}

impl RespCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RespCode::InUse => "IN-USE",
            RespCode::LoginDelay => "LOGIN-DELAY",
            RespCode::SysTemp => "SYS/TEMP",
            RespCode::SysPerm => "SYS/PERM",
            RespCode::Auth => "AUTH",
            RespCode::Utf8 => "UTF8",
        }
    }
}

/// `+OK text` (`+OK` alone when `text` is empty).
pub fn write_ok<B: BufMut>(out: &mut B, text: &[u8]) {
    out.put_slice(b"+OK");
    if !text.is_empty() {
        out.put_u8(b' ');
        put_text(out, text);
    }
    out.put_slice(b"\r\n");
}

/// `-ERR [CODE] text`.
pub fn write_err<B: BufMut>(out: &mut B, code: Option<RespCode>, text: &[u8]) {
    out.put_slice(b"-ERR");
    if let Some(code) = code {
        out.put_slice(b" [");
        out.put_slice(code.as_str().as_bytes());
        out.put_u8(b']');
    }
    if !text.is_empty() {
        out.put_u8(b' ');
        put_text(out, text);
    }
    out.put_slice(b"\r\n");
}

/// The answer to a refused line.
pub fn write_error<B: BufMut>(out: &mut B, error: &Error) {
    write_err(out, None, error.kind.text().as_bytes());
}

/// `+ challenge` during AUTH; `challenge` is already base64 (may be empty).
pub fn write_sasl_challenge<B: BufMut>(out: &mut B, challenge: &[u8]) {
    out.put_slice(b"+ ");
    put_text(out, challenge);
    out.put_slice(b"\r\n");
}

/// `+OK count size` for STAT.
pub fn write_stat<B: BufMut>(out: &mut B, count: u64, size: u64) {
    out.put_slice(b"+OK ");
    put_u64(out, count);
    out.put_u8(b' ');
    put_u64(out, size);
    out.put_slice(b"\r\n");
}

/// `+OK msg size` for LIST with an argument.
pub fn write_ok_scan<B: BufMut>(out: &mut B, msg: u32, size: u64) {
    out.put_slice(b"+OK ");
    put_u64(out, u64::from(msg));
    out.put_u8(b' ');
    put_u64(out, size);
    out.put_slice(b"\r\n");
}

/// One `msg size` line of a LIST listing (no stuffing needed: it starts
/// with a digit).
pub fn write_listing<B: BufMut>(out: &mut B, msg: u32, size: u64) {
    put_u64(out, u64::from(msg));
    out.put_u8(b' ');
    put_u64(out, size);
    out.put_slice(b"\r\n");
}

/// One `msg uid` line of a UIDL listing. `uid` is the server's own
/// (RFC 1939: 1 to 70 characters 0x21..=0x7E); it is written as given.
pub fn write_uidl<B: BufMut>(out: &mut B, msg: u32, uid: &[u8]) {
    put_u64(out, u64::from(msg));
    out.put_u8(b' ');
    put_text(out, uid);
    out.put_slice(b"\r\n");
}

/// The `.` line that ends a multi-line response whose lines were written
/// without the stuffer (listings).
pub fn write_multiline_end<B: BufMut>(out: &mut B) {
    out.put_slice(b".\r\n");
}

/// Writes a whole stored message as the body of a RETR response: CRLF
/// lines, dot-stuffed, then the `.` line. For a message read in pieces, use
/// a [`DotStuffer`] with [`NewlineMode::ToCrlf`] directly.
pub fn write_message<B: BufMut>(out: &mut B, message: &[u8]) {
    let mut stuffer = DotStuffer::new(NewlineMode::ToCrlf);
    stuffer.push(message, out);
    stuffer.finish(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pop3::ErrorKind;
    use crate::{DotStuffer, NewlineMode, Recovery};

    #[test]
    fn status_lines() {
        let mut out = Vec::new();
        write_ok(&mut out, b"");
        write_ok(&mut out, b"mrose's maildrop has 2 messages (320 octets)");
        write_err(&mut out, None, b"no such message");
        write_err(
            &mut out,
            Some(RespCode::InUse),
            b"Do you have another POP session running?",
        );
        write_err(&mut out, Some(RespCode::SysTemp), b"");
        assert_eq!(
            out,
            b"+OK\r\n+OK mrose's maildrop has 2 messages (320 octets)\r\n\
              -ERR no such message\r\n\
              -ERR [IN-USE] Do you have another POP session running?\r\n\
              -ERR [SYS/TEMP]\r\n"
        );
    }

    #[test]
    fn injected_line_breaks_are_neutralised() {
        let mut out = Vec::new();
        write_ok(&mut out, b"hello user\r\n+OK fake");
        assert_eq!(out, b"+OK hello user  +OK fake\r\n");
    }

    #[test]
    fn rfc_1939_listings() {
        let mut out = Vec::new();
        write_stat(&mut out, 2, 320);
        write_ok(&mut out, b"2 messages (320 octets)");
        write_listing(&mut out, 1, 120);
        write_listing(&mut out, 2, 200);
        write_multiline_end(&mut out);
        write_ok_scan(&mut out, 2, 200);
        write_ok(&mut out, b"");
        write_uidl(&mut out, 1, b"whqtswO00WBw418f9t5JxYwZ");
        write_multiline_end(&mut out);
        assert_eq!(
            out,
            b"+OK 2 320\r\n+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n\
              +OK 2 200\r\n+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n.\r\n"
        );
    }

    #[test]
    fn retr_response_with_stuffer() {
        let mut out = Vec::new();
        write_ok(&mut out, b"120 octets");
        let mut s = DotStuffer::new(NewlineMode::ToCrlf);
        s.push(b"Subject: x\n\n.signature\n", &mut out);
        s.finish(&mut out);
        assert_eq!(
            out,
            b"+OK 120 octets\r\nSubject: x\r\n\r\n..signature\r\n.\r\n"
        );
        let mut whole = Vec::new();
        write_ok(&mut whole, b"120 octets");
        write_message(&mut whole, b"Subject: x\n\n.signature\n");
        assert_eq!(whole, out);
    }

    #[test]
    fn sasl_challenge_and_error() {
        let mut out = Vec::new();
        write_sasl_challenge(&mut out, b"");
        write_sasl_challenge(&mut out, b"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2U+");
        write_error(
            &mut out,
            &Error {
                kind: ErrorKind::UnknownCommand,
                recovery: Recovery::Resync { skip: 6 },
            },
        );
        assert_eq!(
            out,
            b"+ \r\n+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2U+\r\n-ERR Unknown command\r\n"
        );
    }
}
