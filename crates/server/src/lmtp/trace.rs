//! The trace headers put in front of each delivered copy, in the order and
//! form Dovecot's LMTP writes them, so that filters and clients that read
//! them after a migration see the same thing:
//!
//! ```text
//! Return-Path: <sender@example.org>
//! Delivered-To: rcpt@example.com
//! Received: from mta.example.com ([192.0.2.1])
//!     by mail.example.com with LMTP id 1f.2.6560f3a0
//!     (envelope-from <sender@example.org>)
//!     for <rcpt@example.com>; Sun, 22 Nov 2026 05:27:52 +0000
//! ```
//!
//! (continuation lines start with a tab). Unlike Dovecot, which leaves
//! `Delivered-To` out when a transaction has several recipients, every copy
//! here names its own recipient: each copy is built for one recipient anyway. The date is in UTC: the local time
//! zone would need the tz database, read from disk.

use std::net::IpAddr;

/// What the trace headers of one copy say.
pub(super) struct Trace<'a> {
    /// The reverse path without brackets; empty for the null sender `<>`.
    pub sender: &'a str,
    /// The recipient as given in RCPT TO, without brackets.
    pub recipient: &'a str,
    /// The name the client gave in LHLO.
    pub lhlo: &'a str,
    pub peer: IpAddr,
    pub host: &'a str,
    /// The transaction id, also logged.
    pub id: &'a str,
    /// The connection is TLS-protected (RFC 3848 `LMTPS`).
    pub tls: bool,
    /// Arrival time, Unix seconds.
    pub date: i64,
}

/// Appends the trace headers (each ending in CRLF) to `out`. Every piece
/// came through the command parser, which refuses CR, LF and NUL in a
/// command line, so no piece can start a header of its own.
pub(super) fn write_headers(out: &mut Vec<u8>, t: &Trace<'_>) {
    let peer = match t.peer {
        IpAddr::V6(v6) => v6.to_canonical(),
        v4 => v4,
    };
    let with = if t.tls { "LMTPS" } else { "LMTP" };
    let date = rfc5322_date(t.date);
    let text = format!(
        "Return-Path: <{sender}>\r\n\
         Delivered-To: {rcpt}\r\n\
         Received: from {lhlo} ([{peer}])\r\n\
         \tby {host} with {with} id {id}\r\n\
         \t(envelope-from <{sender}>)\r\n\
         \tfor <{rcpt}>; {date}\r\n",
        sender = t.sender,
        rcpt = t.recipient,
        lhlo = t.lhlo,
        host = t.host,
        id = t.id,
    );
    out.extend_from_slice(text.as_bytes());
}

/// Days since 1970-01-01 to a (year, month, day) civil date (proleptic
/// Gregorian; Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Sun, 22 Nov 2026 05:27:52 +0000` (RFC 5322 §3.3), in UTC.
pub(super) fn rfc5322_date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let weekday = WEEKDAYS
        .get(days.rem_euclid(7) as usize)
        .copied()
        .unwrap_or("Thu");
    let month = MONTHS
        .get((m as usize).saturating_sub(1))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{weekday}, {d} {month} {y:04} {:02}:{:02}:{:02} +0000",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_known_instants() {
        assert_eq!(rfc5322_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        // `date -u -d @1700000000`: Tue Nov 14 22:13:20 UTC 2023.
        assert_eq!(
            rfc5322_date(1_700_000_000),
            "Tue, 14 Nov 2023 22:13:20 +0000"
        );
        // A leap day, and the last second of a century leap year.
        assert_eq!(rfc5322_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(rfc5322_date(978_307_199), "Sun, 31 Dec 2000 23:59:59 +0000");
        assert_eq!(rfc5322_date(-1), "Wed, 31 Dec 1969 23:59:59 +0000");
    }

    #[test]
    fn headers_in_dovecot_order_and_form() {
        let mut out = b"preexisting".to_vec();
        write_headers(
            &mut out,
            &Trace {
                sender: "a@example.org",
                recipient: "bob+x@example.com",
                lhlo: "mta.example.org",
                peer: "::ffff:192.0.2.7".parse().unwrap(),
                host: "mx.example.com",
                id: "7.1.0",
                tls: false,
                date: 1_700_000_000,
            },
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "preexistingReturn-Path: <a@example.org>\r\n\
             Delivered-To: bob+x@example.com\r\n\
             Received: from mta.example.org ([192.0.2.7])\r\n\
             \tby mx.example.com with LMTP id 7.1.0\r\n\
             \t(envelope-from <a@example.org>)\r\n\
             \tfor <bob+x@example.com>; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        );
    }

    #[test]
    fn null_sender_and_tls() {
        let mut out = Vec::new();
        write_headers(
            &mut out,
            &Trace {
                sender: "",
                recipient: "bob",
                lhlo: "[10.0.0.1]",
                peer: "::1".parse().unwrap(),
                host: "h",
                id: "1",
                tls: true,
                date: 0,
            },
        );
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.starts_with("Return-Path: <>\r\nDelivered-To: bob\r\n"),
            "{s}"
        );
        assert!(s.contains("from [10.0.0.1] ([::1])\r\n\tby h with LMTPS id 1\r\n"));
        assert!(s.contains("(envelope-from <>)"));
    }
}
