//! SASL data in POP3 AUTH (RFC 5034): the optional initial response on the
//! AUTH line and the client's continuation lines after each `+ ` challenge.
//!
//! The grammar checks the base64 strictly (RFC 4648 alphabet, padding, zero
//! trailing bits) without decoding, so the command still borrows from the
//! read buffer; [`decode_base64`] then cannot fail on what was accepted.

use super::command::Limits;
use super::error::{Error, ErrorKind};
use crate::line::{Framed, Parsed, frame, trim_end};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One piece of client SASL data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslResponse<'a> {
    /// A zero-length response: `=` as the initial response, or an empty
    /// continuation line (a lone `=` is accepted there too).
    Empty,
    /// Base64 text, checked but not decoded.
    Data(&'a [u8]),
    /// `*`: the client cancels the exchange (continuation lines only); the
    /// server answers `-ERR`.
    Cancel,
}

/// Parses one continuation line. Its limit is `limits.max_sasl_line`, not
/// the command limit: RFC 5034 lets these lines exceed 255 octets, and
/// Kerberos or OAuth tokens do.
pub fn parse_sasl_response<'a>(
    buf: &'a [u8],
    limits: &Limits,
) -> Result<Option<Parsed<SaslResponse<'a>>>, Error> {
    let (line, consumed) = match frame(buf, limits.max_sasl_line) {
        Framed::Incomplete => return Ok(None),
        Framed::TooLong(recovery) => {
            return Err(Error {
                kind: ErrorKind::LineTooLong,
                recovery,
            });
        }
        Framed::Line { line, consumed } => (trim_end(line), consumed),
    };
    let value = match line {
        b"*" => SaslResponse::Cancel,
        b"" | b"=" => SaslResponse::Empty,
        data if is_base64(data) => SaslResponse::Data(data),
        _ => return Err(Error::resync(ErrorKind::BadBase64, consumed)),
    };
    Ok(Some(Parsed { value, consumed }))
}

/// The initial response on an AUTH line: `=` is empty, `*` is not allowed.
pub(crate) fn initial_response(arg: &[u8]) -> Option<SaslResponse<'_>> {
    match arg {
        b"=" => Some(SaslResponse::Empty),
        data if is_base64(data) => Some(SaslResponse::Data(data)),
        _ => None,
    }
}

fn sextet(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Strict RFC 4648 base64, non-empty: what the STANDARD engine decodes.
pub(crate) fn is_base64(s: &[u8]) -> bool {
    if s.is_empty() || !s.len().is_multiple_of(4) {
        return false;
    }
    let pad = s.iter().rev().take_while(|&&b| b == b'=').count();
    if pad > 2 {
        return false;
    }
    let data = s.get(..s.len() - pad).unwrap_or_default();
    if !data.iter().all(|&b| sextet(b).is_some()) {
        return false;
    }
    // Bits past the last whole octet must be zero, else two encodings would
    // decode to the same bytes and the decoder refuses them.
    let unused_mask = match pad {
        1 => 0b11,
        2 => 0b1111,
        _ => 0,
    };
    match data.last().and_then(|&b| sextet(b)) {
        Some(last) => last & unused_mask == 0,
        None => false,
    }
}

/// Appends the bytes `text` encodes to `out`. `text` is what a
/// [`SaslResponse::Data`] holds.
pub fn decode_base64(text: &[u8], out: &mut Vec<u8>) -> Result<(), ErrorKind> {
    STANDARD
        .decode_vec(text, out)
        .map_err(|_| ErrorKind::BadBase64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Recovery;

    fn parse(buf: &[u8]) -> Result<Option<Parsed<SaslResponse<'_>>>, Error> {
        parse_sasl_response(buf, &Limits::default())
    }

    #[test]
    fn continuation_lines() {
        assert_eq!(
            parse(b"dGVzdAB0ZXN0AHBhc3M=\r\nSTAT\r\n"),
            Ok(Some(Parsed {
                value: SaslResponse::Data(b"dGVzdAB0ZXN0AHBhc3M="),
                consumed: 22
            }))
        );
        assert_eq!(
            parse(b"*\r\n"),
            Ok(Some(Parsed {
                value: SaslResponse::Cancel,
                consumed: 3
            }))
        );
        assert_eq!(
            parse(b"\r\n"),
            Ok(Some(Parsed {
                value: SaslResponse::Empty,
                consumed: 2
            }))
        );
        assert_eq!(parse(b"dGVz"), Ok(None));
    }

    #[test]
    fn bad_base64_is_refused_and_skipped() {
        for bad in [
            &b"dGVzd\r\n"[..],
            b"dG=z\r\n",
            b"dGVzdA===\r\n",
            b"**\r\n",
            b"dGVzdB==\r\n",
        ] {
            assert_eq!(
                parse(bad),
                Err(Error {
                    kind: ErrorKind::BadBase64,
                    recovery: Recovery::Resync { skip: bad.len() }
                }),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn long_tokens_fit_the_sasl_limit_not_the_command_limit() {
        let mut line = b"QUFB".repeat(1000);
        line.extend_from_slice(b"\r\n");
        assert!(matches!(parse(&line), Ok(Some(_))));
        let tight = Limits {
            max_line: 1024,
            max_sasl_line: 100,
        };
        assert_eq!(
            parse_sasl_response(&line, &tight).map_err(|e| e.kind),
            Err(ErrorKind::LineTooLong)
        );
    }

    #[test]
    fn decode_gives_the_bytes() {
        let mut out = Vec::new();
        assert_eq!(decode_base64(b"AHRlc3QAcGFzcw==", &mut out), Ok(()));
        assert_eq!(out, b"\0test\0pass");
    }
}
