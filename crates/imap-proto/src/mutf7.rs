//! Modified UTF-7 for mailbox names (RFC 3501 5.1.3), strict in both
//! directions: the decoder refuses every encoding the encoder would not
//! produce, so one name has exactly one wire form and two clients cannot
//! create look-alike mailboxes.
//!
//! Hand-written rather than a crate: it is forty lines of bit-shuffling over
//! a nonstandard base64 alphabet ("," instead of "/", no padding) and the
//! strictness rules are IMAP-specific.

use std::borrow::Cow;

use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Mutf7Error {
    #[error("byte outside printable US-ASCII in a modified UTF-7 name")]
    NonAscii,
    #[error("unterminated '&' shift sequence")]
    Unterminated,
    #[error("invalid modified base64")]
    BadBase64,
    #[error("shift sequence encodes printable ASCII or is empty")]
    NonCanonical,
    #[error("invalid UTF-16 in shift sequence")]
    BadUtf16,
    #[error("name is not valid UTF-8")]
    InvalidUtf8,
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b',' => Some(63),
        _ => None,
    }
}

fn is_direct(c: char) -> bool {
    (' '..='~').contains(&c)
}

/// Decode a wire mailbox name. Borrows when there is no `&` shift.
pub fn decode(input: &[u8]) -> Result<Cow<'_, str>, Mutf7Error> {
    if input.iter().any(|&b| !(0x20..=0x7e).contains(&b)) {
        return Err(Mutf7Error::NonAscii);
    }
    if memchr::memchr(b'&', input).is_none() {
        // ok: every byte was checked to be printable ASCII just above.
        return std::str::from_utf8(input)
            .map(Cow::Borrowed)
            .map_err(|_| Mutf7Error::NonAscii);
    }
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    let mut prev_was_shift = false;
    while let Some(&b) = input.get(i) {
        if b != b'&' {
            out.push(char::from(b));
            i += 1;
            prev_was_shift = false;
            continue;
        }
        let rel_end = memchr::memchr(b'-', input.get(i + 1..).unwrap_or(&[]))
            .ok_or(Mutf7Error::Unterminated)?;
        let seq = input.get(i + 1..i + 1 + rel_end).unwrap_or(&[]);
        i += rel_end + 2;
        if seq.is_empty() {
            out.push('&');
            prev_was_shift = false;
            continue;
        }
        // Two adjacent shifts must have been one: non-canonical.
        if prev_was_shift {
            return Err(Mutf7Error::NonCanonical);
        }
        decode_shift(seq, &mut out)?;
        prev_was_shift = true;
    }
    Ok(Cow::Owned(out))
}

fn decode_shift(seq: &[u8], out: &mut String) -> Result<(), Mutf7Error> {
    let mut bits: u32 = 0;
    let mut nbits = 0u32;
    let mut units: [u16; 2] = [0; 2];
    let mut have_high = false;
    for &c in seq {
        let v = b64_value(c).ok_or(Mutf7Error::BadBase64)?;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 16 {
            nbits -= 16;
            let unit = ((bits >> nbits) & 0xffff) as u16;
            bits &= (1 << nbits) - 1;
            if have_high {
                units[1] = unit;
                have_high = false;
                let c = char::decode_utf16(units.iter().copied())
                    .next()
                    .and_then(|r| r.ok())
                    .ok_or(Mutf7Error::BadUtf16)?;
                out.push(c);
            } else if (0xd800..0xdc00).contains(&unit) {
                units[0] = unit;
                have_high = true;
            } else {
                let c = char::from_u32(u32::from(unit)).ok_or(Mutf7Error::BadUtf16)?;
                if is_direct(c) {
                    return Err(Mutf7Error::NonCanonical);
                }
                out.push(c);
            }
        }
    }
    // Leftover bits must be padding zeros, fewer than 6 of them.
    if have_high {
        return Err(Mutf7Error::BadUtf16);
    }
    if nbits >= 6 || bits != 0 {
        return Err(Mutf7Error::BadBase64);
    }
    Ok(())
}

/// Encode a Unicode name into modified UTF-7, appending to `out`.
pub fn encode_into(name: &str, out: &mut Vec<u8>) {
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_direct(c) {
            flush(&mut pending, out);
            if c == '&' {
                out.extend_from_slice(b"&-");
            } else {
                out.push(c as u8);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, out);
}

/// Encode into a new buffer.
pub fn encode(name: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.len() + 8);
    encode_into(name, &mut v);
    v
}

fn flush(pending: &mut Vec<u16>, out: &mut Vec<u8>) {
    if pending.is_empty() {
        return;
    }
    out.push(b'&');
    let mut bits: u32 = 0;
    let mut nbits = 0u32;
    for &u in pending.iter() {
        bits = (bits << 16) | u32::from(u);
        nbits += 16;
        while nbits >= 6 {
            nbits -= 6;
            // ok: masked to 0..=63, the alphabet has 64 entries.
            out.push(ALPHABET[((bits >> nbits) & 0x3f) as usize]);
        }
        bits &= (1 << nbits) - 1;
    }
    if nbits > 0 {
        // ok: masked to 0..=63.
        out.push(ALPHABET[((bits << (6 - nbits)) & 0x3f) as usize]);
    }
    out.push(b'-');
    pending.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_example() {
        let wire = b"~peter/mail/&U,BTFw-/&ZeVnLIqe-";
        let name = decode(wire).unwrap();
        assert_eq!(
            name,
            "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}"
        );
        assert_eq!(encode(&name), wire.to_vec());
    }

    #[test]
    fn ampersand_and_plain() {
        assert_eq!(decode(b"Tom &- Jerry").unwrap(), "Tom & Jerry");
        assert_eq!(encode("Tom & Jerry"), b"Tom &- Jerry".to_vec());
        assert!(matches!(decode(b"INBOX").unwrap(), Cow::Borrowed("INBOX")));
    }

    #[test]
    fn astral_plane_round_trip() {
        let s = "mail \u{1F600} x\u{e9}";
        assert_eq!(decode(&encode(s)).unwrap(), s);
    }

    #[test]
    fn rejects_non_canonical_and_broken() {
        // "A" (printable) encoded in base64: must be direct.
        assert_eq!(decode(b"&AEE-"), Err(Mutf7Error::NonCanonical));
        // Two adjacent shifts.
        assert_eq!(decode(b"&U,A-&U,A-"), Err(Mutf7Error::NonCanonical));
        assert_eq!(decode(b"&U,BTFw"), Err(Mutf7Error::Unterminated));
        assert_eq!(decode(b"&U/A-"), Err(Mutf7Error::BadBase64));
        // Non-zero padding bits.
        assert_eq!(decode(b"&U,B-"), Err(Mutf7Error::BadBase64));
        // Lone high surrogate.
        assert_eq!(decode(b"&2D0-"), Err(Mutf7Error::BadUtf16));
        assert_eq!(decode("caf\u{e9}".as_bytes()), Err(Mutf7Error::NonAscii));
    }
}
