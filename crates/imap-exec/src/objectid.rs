//! How store ids look on the wire (RFC 8474 objectid:
//! 1*255(ALPHA / DIGIT / "_" / "-")): a letter saying what the id names,
//! then fixed-width lowercase hex, so the text form is one-to-one with the
//! number and a SEARCH argument is parsed back exactly.

/// `M` + 16 hex digits.
pub fn email_id(id: u64) -> [u8; 17] {
    tagged(b'M', id)
}

/// `T` + 16 hex digits.
pub fn thread_id(id: u64) -> [u8; 17] {
    tagged(b'T', id)
}

/// `F` + UIDVALIDITY and mailbox id, 8 hex digits each. The id alone is
/// already never reused within a store; the UIDVALIDITY (from a clock at
/// creation) keeps a store that was removed and made again from handing
/// out old MAILBOXIDs to new mailboxes.
pub fn mailbox_id(uidvalidity: u32, id: u32) -> [u8; 17] {
    tagged(b'F', (u64::from(uidvalidity) << 32) | u64::from(id))
}

/// The number of an EMAILID; None for anything [`email_id`] cannot have
/// produced (then it names no message).
pub fn parse_email_id(s: &[u8]) -> Option<u64> {
    parse(b'M', s)
}

pub fn parse_thread_id(s: &[u8]) -> Option<u64> {
    parse(b'T', s)
}

fn tagged(tag: u8, v: u64) -> [u8; 17] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 17];
    out[0] = tag;
    for (i, slot) in out[1..].iter_mut().enumerate() {
        *slot = HEX[((v >> (60 - 4 * i)) & 0xf) as usize];
    }
    out
}

fn parse(tag: u8, s: &[u8]) -> Option<u64> {
    let (first, hex) = s.split_first()?;
    if *first != tag || hex.len() != 16 {
        return None;
    }
    hex.iter().try_fold(0u64, |acc, b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some((acc << 4) | u64::from(d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_roundtrip_exactly() {
        assert_eq!(&email_id(0x1_0000_0019), b"M0000000100000019");
        assert_eq!(parse_email_id(b"M0000000100000019"), Some(0x1_0000_0019));
        assert_eq!(parse_email_id(&email_id(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_thread_id(&thread_id(42)), Some(42));
        assert_eq!(&mailbox_id(0x6500_0000, 3), b"F6500000000000003");
        // Another kind, case, width or digit names nothing.
        assert_eq!(parse_email_id(b"T0000000100000019"), None);
        assert_eq!(parse_email_id(b"M0000000100000019A"), None);
        assert_eq!(parse_email_id(b"M00000001000000AB"), None);
        assert_eq!(parse_email_id(b"M"), None);
        assert_eq!(parse_email_id(b""), None);
    }
}
