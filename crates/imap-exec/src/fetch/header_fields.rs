//! BODY[HEADER.FIELDS (...)] and BODY[HEADER.FIELDS.NOT (...)]: the header
//! fields whose names are (or are not) in the list, each with its folded
//! continuation lines, in message order, followed by the blank line.

use bytes::BytesMut;
use memchr::memchr;

/// Field names as the client listed them (quoting undone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldNames(Vec<Vec<u8>>);

impl FieldNames {
    pub fn new(names: Vec<Vec<u8>>) -> Self {
        FieldNames(names)
    }

    fn contains(&self, name: &[u8]) -> bool {
        self.0.iter().any(|n| n.eq_ignore_ascii_case(name))
    }
}

/// Appends to `out` the fields of `header` (the raw header block, ending
/// with or without its blank line) selected by `names` (`not`: all others),
/// then CRLF. A line without a colon is not a field of any name; it goes
/// with the NOT form only.
pub fn select(out: &mut BytesMut, header: &[u8], names: &FieldNames, not: bool) {
    let mut rest = header;
    let mut keep = false;
    while !rest.is_empty() {
        let end = memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            let name = match memchr(b':', line) {
                Some(colon) => line.get(..colon).unwrap_or_default().trim_ascii_end(),
                None => &[][..],
            };
            let listed = !name.is_empty() && names.contains(name);
            keep = listed != not;
        }
        if keep {
            out.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                // The header's last line had no line end (a message that is
                // only a header): the result still needs one.
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(header: &[u8], names: &[&str], not: bool) -> String {
        let names = FieldNames::new(names.iter().map(|n| n.as_bytes().to_vec()).collect());
        let mut out = BytesMut::new();
        select(&mut out, header, &names, not);
        String::from_utf8(out.to_vec()).unwrap()
    }

    const H: &[u8] = b"Subject: hi\r\nX-Long: one\r\n\ttwo\r\n  three\r\nfrom: a@b\r\nTo: c@d\r\nFrom : e@f\r\n\r\n";

    #[test]
    fn picks_fields_with_continuations_in_message_order() {
        assert_eq!(
            run(H, &["FROM", "x-long"], false),
            "X-Long: one\r\n\ttwo\r\n  three\r\nfrom: a@b\r\nFrom : e@f\r\n\r\n"
        );
    }

    #[test]
    fn not_form_keeps_the_rest() {
        assert_eq!(
            run(H, &["x-long", "SUBJECT"], true),
            "from: a@b\r\nTo: c@d\r\nFrom : e@f\r\n\r\n"
        );
    }

    #[test]
    fn nothing_matching_gives_the_blank_line() {
        assert_eq!(run(H, &["Nope"], false), "\r\n");
        assert_eq!(run(b"", &["Nope"], true), "\r\n");
    }

    #[test]
    fn prefix_of_a_name_does_not_match() {
        assert_eq!(
            run(b"Subjects: x\r\nSubject: y\r\n\r\n", &["Subject"], false),
            "Subject: y\r\n\r\n"
        );
    }

    #[test]
    fn stops_at_blank_line_and_handles_missing_line_end() {
        assert_eq!(
            run(b"A: 1\r\n\r\nB: 2\r\n", &["B", "A"], false),
            "A: 1\r\n\r\n"
        );
        assert_eq!(run(b"A: 1\r\nB: 2", &["B"], false), "B: 2\r\n\r\n");
        assert_eq!(run(b"A: 1\nB: 2\n\n", &["a"], false), "A: 1\n\r\n");
    }

    #[test]
    fn line_without_colon_only_in_not_form() {
        assert_eq!(run(b"garbage\r\nA: 1\r\n\r\n", &["garbage"], false), "\r\n");
        assert_eq!(
            run(b"garbage\r\nA: 1\r\n\r\n", &["A"], true),
            "garbage\r\n\r\n"
        );
    }
}
