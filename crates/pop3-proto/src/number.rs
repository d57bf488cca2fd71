//! Decimal numbers as the grammars write them: digits only, no sign, no
//! blanks, with a bound the caller chooses.

/// Parses `s` as a decimal number no larger than `max`. Leading zeros are
/// accepted (RFC 1939 does not forbid them and some clients pad).
pub(crate) fn decimal(s: &[u8], max: u64) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        if v > max {
            return None;
        }
    }
    Some(v)
}

/// Like [`decimal`] but a value past `u64::MAX` reads as `u64::MAX`: an
/// absurd SIZE= is a size over any limit, not a syntax error.
pub(crate) fn decimal_saturating(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_only_within_bound() {
        assert_eq!(decimal(b"1", 10), Some(1));
        assert_eq!(decimal(b"007", 10), Some(7));
        assert_eq!(decimal(b"10", 10), Some(10));
        assert_eq!(decimal(b"11", 10), None);
        assert_eq!(decimal(b"", 10), None);
        assert_eq!(decimal(b"+1", 10), None);
        assert_eq!(decimal(b"-1", 10), None);
        assert_eq!(decimal(b"1a", 10), None);
        assert_eq!(decimal(b"99999999999999999999999", u64::MAX), None);
    }

    #[test]
    fn saturating_caps_instead_of_failing() {
        assert_eq!(decimal_saturating(b"123"), Some(123));
        assert_eq!(
            decimal_saturating(b"99999999999999999999999"),
            Some(u64::MAX)
        );
        assert_eq!(decimal_saturating(b"12x"), None);
    }
}
