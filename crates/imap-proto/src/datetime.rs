//! Dates (`date`, SEARCH) and date-times (`date-time`, APPEND).

use crate::cursor::{Cursor, PResult};
use crate::error::ErrorKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: u16,
    /// 1..=12
    pub month: u8,
    /// 1..=31, valid for the month.
    pub day: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    pub date: Date,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Offset from UTC in minutes (`-0700` is -420).
    pub zone_minutes: i16,
}

pub(crate) const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 => {
            let leap =
                (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
            if leap { 29 } else { 28 }
        }
        _ => 31,
    }
}

impl<'a> Cursor<'a> {
    fn fixed_digits(&mut self, n: usize) -> PResult<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.peek() {
                Some(d @ b'0'..=b'9') => {
                    v = v * 10 + u32::from(d - b'0');
                    self.pos += 1;
                }
                _ => return Err(ErrorKind::BadDate),
            }
        }
        Ok(v)
    }

    fn month(&mut self) -> PResult<u8> {
        let m = self
            .buf
            .get(self.pos..self.pos + 3)
            .ok_or(ErrorKind::BadDate)?;
        let idx = MONTHS
            .iter()
            .position(|name| name.eq_ignore_ascii_case(m))
            .ok_or(ErrorKind::BadDate)?;
        self.pos += 3;
        Ok(idx as u8 + 1)
    }

    fn date_text(&mut self, fixed_day: bool) -> PResult<Date> {
        let day = if fixed_day {
            if self.eat(b' ') {
                self.fixed_digits(1)?
            } else {
                self.fixed_digits(2)?
            }
        } else {
            let d = self.fixed_digits(1)?;
            if let Some(x @ b'0'..=b'9') = self.peek() {
                self.pos += 1;
                d * 10 + u32::from(x - b'0')
            } else {
                d
            }
        };
        self.expect(b'-', ErrorKind::BadDate)?;
        let month = self.month()?;
        self.expect(b'-', ErrorKind::BadDate)?;
        let year = self.fixed_digits(4)? as u16;
        if day == 0 || day > u32::from(days_in_month(year, month)) {
            return Err(ErrorKind::BadDate);
        }
        Ok(Date {
            year,
            month,
            day: day as u8,
        })
    }

    /// date = date-text / DQUOTE date-text DQUOTE.
    pub(crate) fn date(&mut self) -> PResult<Date> {
        if self.eat(b'"') {
            let d = self.date_text(false)?;
            self.expect(b'"', ErrorKind::BadDate)?;
            Ok(d)
        } else {
            self.date_text(false)
        }
    }

    /// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year
    ///             SP time SP zone DQUOTE
    pub(crate) fn date_time(&mut self) -> PResult<DateTime> {
        self.expect(b'"', ErrorKind::BadDate)?;
        let date = self.date_text(true)?;
        self.expect(b' ', ErrorKind::BadDate)?;
        let hour = self.fixed_digits(2)?;
        self.expect(b':', ErrorKind::BadDate)?;
        let minute = self.fixed_digits(2)?;
        self.expect(b':', ErrorKind::BadDate)?;
        let second = self.fixed_digits(2)?;
        self.expect(b' ', ErrorKind::BadDate)?;
        let sign: i16 = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(ErrorKind::BadDate),
        };
        self.pos += 1;
        let zh = self.fixed_digits(2)?;
        let zm = self.fixed_digits(2)?;
        self.expect(b'"', ErrorKind::BadDate)?;
        // 60 for a leap second.
        if hour > 23 || minute > 59 || second > 60 || zm > 59 || zh > 99 {
            return Err(ErrorKind::BadDate);
        }
        Ok(DateTime {
            date,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
            zone_minutes: sign * (zh as i16 * 60 + zm as i16),
        })
    }
}
