//! Taking one command line off the front of the read buffer, within a length
//! limit, so a client can neither make the session buffer without bound nor
//! leave it waiting for a line that was already refused.

use memchr::memchr;

/// A complete item taken from the front of the read buffer: the session
/// handles `value`, then drops `consumed` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed<T> {
    pub value: T,
    pub consumed: usize,
}

/// What the session does with its read buffer after a refused line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Drop `skip` bytes (the refused line with its terminator); the next
    /// command starts right after them.
    Resync { skip: usize },
    /// The line is over the limit and its end has not arrived yet: drop
    /// `skip` bytes (everything that was passed in), then drop what arrives
    /// up to and including the next LF (see [`skip_to_eol`]) before parsing
    /// again. The error is reported once, when the limit is passed, whatever
    /// way the line is split across reads.
    DiscardToEol { skip: usize },
}

impl Recovery {
    /// Bytes to drop from the front of the buffer now.
    pub fn skip(self) -> usize {
        match self {
            Recovery::Resync { skip } | Recovery::DiscardToEol { skip } => skip,
        }
    }
}

/// After [`Recovery::DiscardToEol`]: how many bytes of `buf` belong to the
/// refused line (its LF included), or `None` when the whole of `buf` does and
/// more is to be discarded.
pub fn skip_to_eol(buf: &[u8]) -> Option<usize> {
    memchr(b'\n', buf).map(|lf| lf + 1)
}

/// Below this a limit would refuse even `QUIT`; configured values are raised
/// to it rather than trusted, so a zero cannot stop the session progressing.
pub(crate) const MIN_LINE: usize = 16;

pub(crate) enum Framed<'a> {
    /// The line without its CRLF (or bare LF) terminator.
    Line {
        line: &'a [u8],
        consumed: usize,
    },
    Incomplete,
    TooLong(Recovery),
}

/// Finds the first line of `buf`. `max_line` counts the terminator, as
/// RFC 2449 and RFC 5321 count it. Bare LF ends a line too: clients typed
/// by hand and some scripts send it, and nothing else can be meant by it.
pub(crate) fn frame(buf: &[u8], max_line: usize) -> Framed<'_> {
    let max = max_line.max(MIN_LINE);
    let window = buf.get(..max).unwrap_or(buf);
    match memchr(b'\n', window) {
        Some(lf) => {
            let line = buf.get(..lf).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            Framed::Line {
                line,
                consumed: lf + 1,
            }
        }
        None if buf.len() < max => Framed::Incomplete,
        None => {
            let rest = buf.get(max..).unwrap_or_default();
            Framed::TooLong(match memchr(b'\n', rest) {
                Some(off) => Recovery::Resync {
                    skip: max + off + 1,
                },
                None => Recovery::DiscardToEol { skip: buf.len() },
            })
        }
    }
}

/// Splits a line into words separated by runs of spaces or tabs.
#[derive(Clone)]
pub(crate) struct Words<'a> {
    rest: &'a [u8],
}

impl<'a> Words<'a> {
    pub fn new(rest: &'a [u8]) -> Self {
        Words { rest }
    }

    /// What is left after the words taken so far, leading blanks removed.
    pub fn remainder(&self) -> &'a [u8] {
        trim_start(self.rest)
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let s = trim_start(self.rest);
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let end = s.iter().position(|&b| is_blank(b)).unwrap_or(s.len());
        let (word, rest) = s.split_at(end);
        self.rest = rest;
        Some(word)
    }
}

pub(crate) fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(crate) fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_blank(b)).count();
    s.get(n..).unwrap_or_default()
}

pub(crate) fn trim_end(s: &[u8]) -> &[u8] {
    let n = s.iter().rev().take_while(|&&b| is_blank(b)).count();
    s.get(..s.len() - n).unwrap_or_default()
}

/// Splits off the command keyword: the bytes up to the first blank, and the
/// rest after exactly that one blank (PASS needs its argument verbatim).
pub(crate) fn split_keyword(line: &[u8]) -> (&[u8], Option<&[u8]>) {
    match line.iter().position(|&b| is_blank(b)) {
        Some(sp) => (
            line.get(..sp).unwrap_or_default(),
            Some(line.get(sp + 1..).unwrap_or_default()),
        ),
        None => (line, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_of(buf: &[u8], max: usize) -> Option<(&[u8], usize)> {
        match frame(buf, max) {
            Framed::Line { line, consumed } => Some((line, consumed)),
            _ => None,
        }
    }

    #[test]
    fn crlf_and_bare_lf_both_end_a_line() {
        assert_eq!(line_of(b"STAT\r\nQUIT\r\n", 64), Some((&b"STAT"[..], 6)));
        assert_eq!(line_of(b"STAT\nQUIT", 64), Some((&b"STAT"[..], 5)));
        assert_eq!(line_of(b"\r\n", 64), Some((&b""[..], 2)));
    }

    #[test]
    fn incomplete_until_lf_or_limit() {
        assert!(matches!(frame(b"STA", 64), Framed::Incomplete));
        assert!(matches!(frame(b"STAT\r", 64), Framed::Incomplete));
        assert!(matches!(frame(b"", 64), Framed::Incomplete));
    }

    #[test]
    fn limit_counts_the_terminator() {
        let mut ok = vec![b'a'; 30];
        ok.extend_from_slice(b"\r\n");
        assert!(matches!(frame(&ok, 32), Framed::Line { consumed: 32, .. }));
        let mut long = vec![b'a'; 31];
        long.extend_from_slice(b"\r\nNOOP\r\n");
        assert!(matches!(
            frame(&long, 32),
            Framed::TooLong(Recovery::Resync { skip: 33 })
        ));
    }

    #[test]
    fn too_long_without_end_discards_everything_then_to_eol() {
        let buf = vec![b'x'; 40];
        assert!(matches!(
            frame(&buf, 32),
            Framed::TooLong(Recovery::DiscardToEol { skip: 40 })
        ));
        assert_eq!(skip_to_eol(b"xxxx"), None);
        assert_eq!(skip_to_eol(b"xx\r\nQUIT\r\n"), Some(4));
    }

    #[test]
    fn tiny_limits_are_raised_so_short_commands_still_fit() {
        assert!(matches!(
            frame(b"QUIT\r\n", 0),
            Framed::Line { consumed: 6, .. }
        ));
    }

    #[test]
    fn words_split_on_runs_of_blanks() {
        let w: Vec<&[u8]> = Words::new(b"  1 \t 20  ").collect();
        assert_eq!(w, vec![&b"1"[..], &b"20"[..]]);
        let mut w = Words::new(b"PLAIN  dGVzdA== ");
        assert_eq!(w.next(), Some(&b"PLAIN"[..]));
        assert_eq!(w.remainder(), b"dGVzdA== ");
        assert_eq!(Words::new(b"   ").next(), None);
    }

    #[test]
    fn keyword_split_keeps_argument_verbatim() {
        assert_eq!(
            split_keyword(b"PASS  a b "),
            (&b"PASS"[..], Some(&b" a b "[..]))
        );
        assert_eq!(split_keyword(b"STAT"), (&b"STAT"[..], None));
        assert_eq!(trim_end(b"ab \t"), b"ab");
    }
}
