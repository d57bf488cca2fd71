//! Free text in a response line. It comes from the server, but may carry
//! client-provided pieces (a user name, an address): a CR or LF in it would
//! let a client forge extra response lines, so they become spaces.

use bytes::BufMut;
use memchr::memchr3;

pub(crate) fn put_text<B: BufMut>(out: &mut B, text: &[u8]) {
    let mut rest = text;
    while let Some(i) = memchr3(b'\r', b'\n', 0, rest) {
        out.put_slice(rest.get(..i).unwrap_or_default());
        out.put_u8(b' ');
        rest = rest.get(i + 1..).unwrap_or_default();
    }
    out.put_slice(rest);
}

pub(crate) fn put_u64<B: BufMut>(out: &mut B, n: u64) {
    let mut buf = itoa::Buffer::new();
    out.put_slice(buf.format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_and_nul_cannot_reach_the_wire() {
        let mut out = Vec::new();
        put_text(&mut out, b"bad\r\n+OK forged\0x");
        assert_eq!(out, b"bad  +OK forged x");
    }

    #[test]
    fn numbers_are_decimal() {
        let mut out = Vec::new();
        put_u64(&mut out, 0);
        out.push(b' ');
        put_u64(&mut out, 18446744073709551615);
        assert_eq!(out, b"0 18446744073709551615");
    }
}
