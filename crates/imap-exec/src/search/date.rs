//! Calendar days for the date search keys. BEFORE/ON/SINCE compare the
//! INTERNALDATE's day in UTC (RFC 9051 leaves the zone to the server; postcore
//! has no per-user zone, so UTC it is). SENTBEFORE/SENTON/SENTSINCE compare
//! the day written in the Date header, in that header's own zone (RFC 9051
//! §6.4.4: "disregarding time and timezone").

use imap_proto::Date;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), exact for every year the grammar can carry.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The day number of a SEARCH date argument.
pub(crate) fn day_of(d: Date) -> i64 {
    days_from_civil(i64::from(d.year), u32::from(d.month), u32::from(d.day))
}

/// The UTC day of a unix timestamp.
pub(crate) fn day_of_unix(secs: i64) -> i64 {
    secs.div_euclid(86_400)
}

/// The day a Date header names, as written (its own zone), or None when it
/// does not parse as an RFC 5322 date.
pub(crate) fn header_day(raw: &[u8]) -> Option<i64> {
    // mail-parser's date reader stops at the line end, which it needs.
    let mut line = String::from_utf8_lossy(raw).into_owned();
    line.push('\n');
    let dt = mail_parser::DateTime::parse_rfc822(&line)?;
    if !(1..=12).contains(&dt.month) || !(1..=31).contains(&dt.day) {
        return None;
    }
    Some(days_from_civil(
        i64::from(dt.year),
        u32::from(dt.month),
        u32::from(dt.day),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        // 2023-11-14 22:13:20 UTC is 1_700_000_000.
        assert_eq!(day_of_unix(1_700_000_000), days_from_civil(2023, 11, 14));
        assert_eq!(day_of_unix(-1), -1);
    }

    #[test]
    fn header_day_uses_the_written_date_not_utc() {
        // 23:30 at -0800 is already the next day in UTC; SENTON wants the 1st.
        let d = header_day(b"Tue, 1 Jul 2003 23:30:00 -0800").unwrap();
        assert_eq!(d, days_from_civil(2003, 7, 1));
        assert_eq!(
            header_day(b"2 Jan 2010 01:00:00 +1400"),
            Some(days_from_civil(2010, 1, 2))
        );
        assert_eq!(header_day(b"not a date"), None);
        assert_eq!(header_day(b""), None);
    }
}
