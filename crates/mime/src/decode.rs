//! Undoing Content-Transfer-Encoding for IMAP BINARY (RFC 3516).
//!
//! The decoders are mail-parser's (`mail_parser::decoders::base64` and
//! `quoted_printable`): base64 skips whitespace and line breaks and rejects
//! any other non-alphabet byte; quoted-printable rejects a `=` not followed by
//! two hex digits or a line break. The same function computes
//! [`crate::Part::decoded_size`] at append and the bytes at FETCH time, so
//! BINARY.SIZE always matches what BINARY[] sends.

use crate::facts::TransferEncoding;

/// Why a part's body could not be decoded (IMAP: `NO [UNKNOWN-CTE]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("content transfer encoding is not one postcore can decode")]
    UnknownEncoding,
    #[error("body is not valid base64")]
    Base64,
    #[error("body is not valid quoted-printable")]
    QuotedPrintable,
}

/// Decodes a part body (the raw bytes of `BODY[section]`) according to its
/// transfer encoding. 7bit, 8bit and binary bodies come back unchanged.
pub fn decode_binary(
    raw_part_body: &[u8],
    encoding: TransferEncoding,
) -> Result<Vec<u8>, DecodeError> {
    match encoding {
        TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary => {
            Ok(raw_part_body.to_vec())
        }
        TransferEncoding::Base64 => {
            mail_parser::decoders::base64::base64_decode(raw_part_body).ok_or(DecodeError::Base64)
        }
        TransferEncoding::QuotedPrintable => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(raw_part_body)
                .ok_or(DecodeError::QuotedPrintable)
        }
        TransferEncoding::Unknown => Err(DecodeError::UnknownEncoding),
    }
}

/// Per-byte weights for [`base64_decoded_len`]: an alphabet character
/// counts 1, whitespace 0, and any other byte (`=` is split off first) a
/// large value that marks the segment invalid when summed.
const B64_BAD: u64 = 1 << 40;

static B64_WEIGHT: [u64; 256] = {
    let mut t = [B64_BAD; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = match i as u8 {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => 1,
            b' ' | b'\t' | b'\r' | b'\n' => 0,
            _ => B64_BAD,
        };
        i += 1;
    }
    t
};

/// The length [`decode_binary`] gives for a base64 body, without decoding.
/// It follows mail-parser's decoder: alphabet characters fill 3-byte groups,
/// `=` flushes a partial group (2 characters give 1 byte, 3 give 2),
/// whitespace is skipped, byte 0xFF ends the input, anything else is an
/// error. So the length is a sum over the `=`-separated segments. A property
/// test checks the two agree.
pub(crate) fn base64_decoded_len(body: &[u8]) -> Option<u64> {
    let end = memchr::memchr(0xff, body).unwrap_or(body.len());
    let body = body.get(..end).unwrap_or(body);
    let mut total = 0u64;
    let mut start = 0;
    let pads = memchr::memchr_iter(b'=', body).chain(std::iter::once(body.len()));
    for pad in pads {
        let segment = body.get(start..pad).unwrap_or_default();
        start = pad + 1;
        // ok: a u8 always indexes a 256-entry table; the sum cannot overflow
        // (at most 2^32 bytes of 2^40 each).
        let weight: u64 = segment.iter().map(|&b| B64_WEIGHT[b as usize]).sum();
        if weight >= B64_BAD {
            return None;
        }
        total += weight / 4 * 3
            + match weight % 4 {
                2 => 1,
                3 => 2,
                _ => 0,
            };
    }
    Some(total)
}

/// Classifies a Content-Transfer-Encoding value (absent means 7bit).
pub fn classify(value: Option<&[u8]>) -> TransferEncoding {
    let Some(v) = value else {
        return TransferEncoding::SevenBit;
    };
    let v = v.trim_ascii();
    if v.eq_ignore_ascii_case(b"7bit") || v.is_empty() {
        TransferEncoding::SevenBit
    } else if v.eq_ignore_ascii_case(b"8bit") {
        TransferEncoding::EightBit
    } else if v.eq_ignore_ascii_case(b"binary") {
        TransferEncoding::Binary
    } else if v.eq_ignore_ascii_case(b"base64") {
        TransferEncoding::Base64
    } else if v.eq_ignore_ascii_case(b"quoted-printable") {
        TransferEncoding::QuotedPrintable
    } else {
        TransferEncoding::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_with_line_breaks() {
        let out = decode_binary(
            b"aGVs\r\nbG8g\r\nd29y\r\nbGQ=\r\n",
            TransferEncoding::Base64,
        )
        .unwrap();
        assert_eq!(out, b"hello world");
        assert_eq!(
            decode_binary(b"aGV!sbG8=", TransferEncoding::Base64),
            Err(DecodeError::Base64)
        );
    }

    #[test]
    fn quoted_printable_soft_breaks_and_escapes() {
        let out = decode_binary(
            b"caf=C3=A9 =\r\nau lait\r\n",
            TransferEncoding::QuotedPrintable,
        )
        .unwrap();
        assert_eq!(out, "café au lait\r\n".as_bytes());
        assert_eq!(
            decode_binary(b"bad =ZZ", TransferEncoding::QuotedPrintable),
            Err(DecodeError::QuotedPrintable)
        );
    }

    #[test]
    fn identity_and_unknown() {
        assert_eq!(
            decode_binary(b"\x00\xff", TransferEncoding::Binary).unwrap(),
            b"\x00\xff"
        );
        assert_eq!(
            decode_binary(b"x", TransferEncoding::Unknown),
            Err(DecodeError::UnknownEncoding)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(1000))]

        #[test]
        fn base64_length_matches_the_decoder(
            body in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => proptest::sample::select(
                        b"ABCXYZabcxyz0189+/".to_vec()
                    ),
                    2 => proptest::sample::select(b"= \t\r\n".to_vec()),
                    1 => proptest::num::u8::ANY,
                ],
                0..200,
            )
        ) {
            let decoded = decode_binary(&body, TransferEncoding::Base64).ok().map(|d| d.len() as u64);
            proptest::prop_assert_eq!(base64_decoded_len(&body), decoded);
        }
    }

    #[test]
    fn base64_length_of_padded_and_unpadded_input() {
        assert_eq!(base64_decoded_len(b"aGVsbG8gd29y\r\nbGQ="), Some(11));
        assert_eq!(base64_decoded_len(b"aGVsbG8"), Some(5));
        assert_eq!(base64_decoded_len(b"aG!"), None);
        assert_eq!(base64_decoded_len(b""), Some(0));
    }

    #[test]
    fn classify_is_case_insensitive() {
        assert_eq!(classify(None), TransferEncoding::SevenBit);
        assert_eq!(classify(Some(b" BASE64 ")), TransferEncoding::Base64);
        assert_eq!(
            classify(Some(b"Quoted-Printable")),
            TransferEncoding::QuotedPrintable
        );
        assert_eq!(classify(Some(b"x-uuencode")), TransferEncoding::Unknown);
    }
}
