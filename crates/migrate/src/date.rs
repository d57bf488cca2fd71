//! asctime dates of mbox From_ lines, and IMAP's INTERNALDATE. Hand-written: the grammar is one line
//! and the calendar arithmetic (Howard Hinnant's days/civil conversion) is
//! a dozen lines, not worth a date crate.

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range a four-digit
/// asctime year can show; also keeps the arithmetic far from overflow.
const MIN_TIME: i64 = -62_135_596_800;
const MAX_TIME: i64 = 253_402_300_799;

pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both are small positive numbers by construction (1..=31, 1..=12).
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `Mon Jan  2 15:04:05 2006` in UTC. Times outside years 1..=9999 are
/// clamped to that range.
pub(crate) fn format_asctime(t: i64) -> String {
    let t = t.clamp(MIN_TIME, MAX_TIME);
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let wd = (days + 4).rem_euclid(7) as usize;
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        WEEKDAYS[wd],
        MONTHS[(m - 1) as usize],
        d,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        y
    )
}

fn month_number(tok: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(tok))
        .map(|i| i as u32 + 1)
}

fn is_weekday(tok: &str) -> bool {
    WEEKDAYS.iter().any(|w| w.eq_ignore_ascii_case(tok))
}

fn parse_num<T: std::str::FromStr>(tok: &str) -> Option<T> {
    if tok.is_empty() || !tok.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    tok.parse().ok()
}

fn parse_year(tok: &str) -> Option<i64> {
    let y: i64 = parse_num(tok)?;
    // RFC 5322's reading of short years, for old mailers that wrote them.
    Some(match tok.len() {
        1 | 2 if y < 50 => y + 2000,
        1 | 2 => y + 1900,
        3 => y + 1900,
        4 => y,
        _ => return None,
    })
}

/// Offset east of UTC in seconds.
fn parse_zone(tok: &str) -> Option<i64> {
    let b = tok.as_bytes();
    if b.len() == 5 && (b[0] == b'+' || b[0] == b'-') {
        let hh: i64 = parse_num(tok.get(1..3)?)?;
        let mm: i64 = parse_num(tok.get(3..5)?)?;
        if mm >= 60 {
            return None;
        }
        let off = hh * 3600 + mm * 60;
        return Some(if b[0] == b'-' { -off } else { off });
    }
    if b.is_empty() || !b.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    // RFC 822's North American names; other names are ambiguous, read as UTC.
    let hours = match tok.to_ascii_uppercase().as_str() {
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        _ => 0,
    };
    Some(hours * 3600)
}

/// The date of a From_ line, given what follows `"From "`: the sender, then
/// `Www Mmm dd hh:mm[:ss] yyyy`, with a zone tolerated before or after the
/// year and anything after that ignored (UUCP's "remote from ...").
pub(crate) fn parse_from_line(rest: &[u8]) -> Option<i64> {
    let text = String::from_utf8_lossy(rest);
    let toks: Vec<&str> = text.split_ascii_whitespace().collect();
    // The sender may contain spaces (quoted local parts) or be missing, so
    // look for the weekday-month pair instead of counting tokens.
    let i = (0..toks.len().saturating_sub(1))
        .find(|&i| is_weekday(toks[i]) && month_number(toks[i + 1]).is_some())?;
    let month = month_number(toks[i + 1])?;
    let mut rest = toks.get(i + 2..)?.iter().copied();
    let day: u32 = parse_num(rest.next()?)?;
    let time = rest.next()?;
    let mut parts = time.split(':');
    let hh: i64 = parse_num(parts.next()?)?;
    let mi: i64 = parse_num(parts.next()?)?;
    let ss: i64 = match parts.next() {
        Some(s) => parse_num(s)?,
        None => 0,
    };
    if parts.next().is_some() || hh >= 24 || mi >= 60 || ss > 60 {
        return None;
    }
    let (year, zone) = {
        let a = rest.next()?;
        if let Some(y) = parse_year(a) {
            (y, rest.next().and_then(parse_zone).unwrap_or(0))
        } else {
            let z = parse_zone(a)?;
            (parse_year(rest.next()?)?, z)
        }
    };
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hh * 3600 + mi * 60 + ss - zone)
}

/// An IMAP `date-time` without its quotes, as a FETCH INTERNALDATE carries
/// it: `dd-Mmm-yyyy hh:mm:ss +zzzz`, the day space-padded or not.
pub(crate) fn parse_internal_date(s: &str) -> Option<i64> {
    let s = s.trim_start();
    let (date, rest) = s.split_once(' ')?;
    let (time, zone) = rest.split_once(' ')?;
    let mut d = date.split('-');
    let day: u32 = parse_num(d.next()?)?;
    let month = month_number(d.next()?)?;
    let year_tok = d.next()?;
    if d.next().is_some() || year_tok.len() != 4 {
        return None;
    }
    let year = parse_year(year_tok)?;
    let mut t = time.split(':');
    let hh: i64 = parse_num(t.next()?)?;
    let mi: i64 = parse_num(t.next()?)?;
    let ss: i64 = parse_num(t.next()?)?;
    if t.next().is_some() || hh >= 24 || mi >= 60 || ss > 60 {
        return None;
    }
    if !zone.starts_with(['+', '-']) {
        return None;
    }
    let zone = parse_zone(zone)?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hh * 3600 + mi * 60 + ss - zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        for z in [-800_000i64, -1, 0, 59, 60, 11_016, 19_000, 2_900_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn asctime_format() {
        assert_eq!(format_asctime(1_136_214_245), "Mon Jan  2 15:04:05 2006");
        assert_eq!(format_asctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(format_asctime(-1), "Wed Dec 31 23:59:59 1969");
        assert_eq!(format_asctime(951_782_400), "Tue Feb 29 00:00:00 2000");
        assert_eq!(format_asctime(i64::MAX), "Fri Dec 31 23:59:59 9999");
    }

    #[test]
    fn from_line_dates() {
        let p = |s: &str| parse_from_line(s.as_bytes());
        assert_eq!(p("a@b Mon Jan  2 15:04:05 2006"), Some(1_136_214_245));
        assert_eq!(p("a@b Mon Jan 2 15:04:05 2006\r\n"), Some(1_136_214_245));
        assert_eq!(p("a@b Mon Jan  2 15:04:05 2006 -0700"), Some(1_136_239_445));
        assert_eq!(p("a@b Mon Jan  2 15:04:05 MST 2006"), Some(1_136_239_445));
        assert_eq!(p("a@b Mon Jan  2 15:04 2006"), Some(1_136_214_240));
        assert_eq!(
            p("\"a b\"@c Mon Jan  2 15:04:05 2006 remote from x"),
            Some(1_136_214_245)
        );
        assert_eq!(p("MAILER-DAEMON Thu Jan  1 00:00:00 1970"), Some(0));
        assert_eq!(p("a@b"), None);
        assert_eq!(p("a@b Mon Feb 30 15:04:05 2006"), None);
        assert_eq!(p("a@b Mon Jan  2 25:04:05 2006"), None);
        assert_eq!(p("a@b Mon Jan  2 15:04:05"), None);
        assert_eq!(p("a@b Mon Jan"), None);
        assert_eq!(p(""), None);
    }

    #[test]
    fn internal_dates() {
        let p = parse_internal_date;
        assert_eq!(p("02-Jan-2006 15:04:05 +0000"), Some(1_136_214_245));
        assert_eq!(p(" 2-Jan-2006 15:04:05 -0700"), Some(1_136_239_445));
        assert_eq!(p("2-jan-2006 15:04:05 +0130"), Some(1_136_208_845));
        assert_eq!(p("01-Jan-1970 00:00:00 +0000"), Some(0));
        assert_eq!(p("30-Feb-2006 15:04:05 +0000"), None);
        assert_eq!(p("02-Jan-06 15:04:05 +0000"), None);
        assert_eq!(p("02-Jan-2006 15:04:05 UTC"), None);
        assert_eq!(p("02-Jan-2006 15:04 +0000"), None);
        assert_eq!(p(""), None);
    }
}
