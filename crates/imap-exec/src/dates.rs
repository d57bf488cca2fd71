//! Conversions between IMAP date-times and Unix seconds (proleptic
//! Gregorian calendar, days-from-civil arithmetic), so no date library is
//! needed on the FETCH/APPEND path.

use imap_proto::{Date, DateTime};

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of days since 1970-01-01: (year, month 1-12, day 1-31).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Unix seconds of an IMAP date-time (its zone applied).
pub fn to_unix(d: &DateTime) -> i64 {
    let days = days_from_civil(
        i64::from(d.date.year),
        u32::from(d.date.month),
        u32::from(d.date.day),
    );
    days * 86_400 + i64::from(d.hour) * 3600 + i64::from(d.minute) * 60 + i64::from(d.second)
        - i64::from(d.zone_minutes) * 60
}

/// The UTC date-time of Unix seconds, as INTERNALDATE is rendered.
pub fn from_unix(secs: i64) -> DateTime {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    DateTime {
        date: Date {
            year: y.clamp(0, 9999) as u16,
            month: m as u8,
            day: d as u8,
        },
        hour: (rem / 3600) as u8,
        minute: (rem % 3600 / 60) as u8,
        second: (rem % 60) as u8,
        zone_minutes: 0,
    }
}

/// Unix seconds of 00:00 UTC on a date (SEARCH date keys).
pub fn date_to_unix(d: &Date) -> i64 {
    days_from_civil(i64::from(d.year), u32::from(d.month), u32::from(d.day)) * 86_400
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        // RFC 9051's example "17-Jul-1996 02:44:25 -0700".
        let d = DateTime {
            date: Date {
                year: 1996,
                month: 7,
                day: 17,
            },
            hour: 2,
            minute: 44,
            second: 25,
            zone_minutes: -420,
        };
        assert_eq!(to_unix(&d), 837_596_665);
        let back = from_unix(837_596_665);
        assert_eq!(
            (back.date.year, back.date.month, back.date.day, back.hour),
            (1996, 7, 17, 9)
        );
    }

    #[test]
    fn round_trip_over_centuries() {
        for days in (-800_000i64..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
