//! A minimal, server-agnostic IMAP response reader: splits the byte stream
//! into whole responses (a line plus any `{n}` / `{n+}` literals it carries)
//! and classifies them, so tagged completions can be matched to commands.

use futures_lite::{AsyncRead, AsyncReadExt};

/// Longest response line (outside literals) accepted from a server.
pub const MAX_LINE: usize = 16 << 20;
/// Largest literal accepted from a server.
pub const MAX_LITERAL: usize = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("connection closed by server")]
    Eof,
    #[error("response line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("literal of {0} bytes exceeds the limit")]
    LiteralTooLarge(u64),
}

/// What kind of response a complete response is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `* ...`
    Untagged,
    /// `+ ...`
    Continuation,
    /// `<tag> OK|NO|BAD ...`
    Tagged { tag: Vec<u8>, status: Status },
    /// Anything else (a protocol error by the server).
    Garbage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
    /// A tagged line whose status word is none of the three.
    Other,
}

/// Classifies the first line of a response.
pub fn classify(line: &[u8]) -> Kind {
    if line.starts_with(b"* ") || line == b"*" {
        return Kind::Untagged;
    }
    if line.starts_with(b"+") {
        return Kind::Continuation;
    }
    let mut parts = line.splitn(3, |b| *b == b' ');
    let tag = parts.next().unwrap_or_default();
    let word = parts.next().unwrap_or_default();
    if tag.is_empty() || word.is_empty() {
        return Kind::Garbage;
    }
    let status = if word.eq_ignore_ascii_case(b"OK") {
        Status::Ok
    } else if word.eq_ignore_ascii_case(b"NO") {
        Status::No
    } else if word.eq_ignore_ascii_case(b"BAD") {
        Status::Bad
    } else {
        Status::Other
    };
    Kind::Tagged {
        tag: tag.to_vec(),
        status,
    }
}

/// If `line` (without CRLF) ends in a literal announcement `{n}` or `{n+}`,
/// the literal's length.
pub fn literal_len(line: &[u8]) -> Option<u64> {
    let body = line.strip_suffix(b"}")?;
    let open = memchr::memrchr(b'{', body)?;
    let digits = body.get(open + 1..)?;
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Buffered reader yielding whole responses.
pub struct Reader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes of the current response (first line without CRLF, literals appended).
    pub resp: Vec<u8>,
    /// The current response's first line (without CRLF).
    pub first_line_len: usize,
}

impl<R: AsyncRead + Unpin> Reader<R> {
    pub fn new(inner: R) -> Self {
        Reader {
            inner,
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            resp: Vec::new(),
            first_line_len: 0,
        }
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    async fn fill(&mut self) -> Result<(), ReadError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = self.buf.len() * 2;
            self.buf.resize(grown, 0);
        }
        let spare = self.buf.get_mut(self.end..).ok_or(ReadError::Eof)?;
        let n = self.inner.read(spare).await?;
        if n == 0 {
            return Err(ReadError::Eof);
        }
        self.end += n;
        Ok(())
    }

    /// Appends one CRLF-terminated line (without the CRLF) to `resp`.
    async fn read_line_into_resp(&mut self) -> Result<usize, ReadError> {
        let before = self.resp.len();
        loop {
            let avail = self.buf.get(self.start..self.end).unwrap_or_default();
            if let Some(pos) = memchr::memchr(b'\n', avail) {
                let mut line = avail.get(..pos).unwrap_or_default();
                if let Some(l) = line.strip_suffix(b"\r") {
                    line = l;
                }
                if self.resp.len() - before + line.len() > MAX_LINE {
                    return Err(ReadError::LineTooLong);
                }
                self.resp.extend_from_slice(line);
                self.start += pos + 1;
                return Ok(self.resp.len() - before);
            }
            if self.resp.len() - before + avail.len() > MAX_LINE {
                return Err(ReadError::LineTooLong);
            }
            self.resp.extend_from_slice(avail);
            self.start = self.end;
            self.fill().await?;
        }
    }

    async fn read_exact_into_resp(&mut self, mut n: usize) -> Result<(), ReadError> {
        while n > 0 {
            if self.start == self.end {
                self.fill().await?;
            }
            let take = n.min(self.end - self.start);
            let chunk = self
                .buf
                .get(self.start..self.start + take)
                .unwrap_or_default();
            self.resp.extend_from_slice(chunk);
            self.start += take;
            n -= take;
        }
        Ok(())
    }

    /// Reads one plain line (POP3/LMTP); the result is in `resp`.
    pub async fn read_line(&mut self) -> Result<&[u8], ReadError> {
        self.resp.clear();
        let n = self.read_line_into_resp().await?;
        self.first_line_len = n;
        Ok(&self.resp)
    }

    /// Reads one complete IMAP response, literals included, and classifies it.
    pub async fn read_response(&mut self) -> Result<Kind, ReadError> {
        self.resp.clear();
        let first = self.read_line_into_resp().await?;
        self.first_line_len = first;
        let mut line_start = 0;
        loop {
            let line = self.resp.get(line_start..).unwrap_or_default();
            let Some(n) = literal_len(line) else { break };
            if n > MAX_LITERAL as u64 {
                return Err(ReadError::LiteralTooLarge(n));
            }
            self.read_exact_into_resp(n as usize).await?;
            line_start = self.resp.len();
            self.read_line_into_resp().await?;
        }
        let first_line = self.resp.get(..first).unwrap_or_default();
        Ok(classify(first_line))
    }

    /// The first line of the last response.
    pub fn first_line(&self) -> &[u8] {
        self.resp.get(..self.first_line_len).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Vec<(Kind, Vec<u8>)> {
        let mut r = Reader::new(futures_lite::io::Cursor::new(input.to_vec()));
        r.buf = vec![0; 7]; // tiny buffer: exercise refills and growth
        let mut out = Vec::new();
        futures_lite::future::block_on(async {
            loop {
                match r.read_response().await {
                    Ok(k) => out.push((k, r.resp.clone())),
                    Err(ReadError::Eof) => break,
                    Err(e) => panic!("{e}"),
                }
            }
        });
        out
    }

    #[test]
    fn literals_are_part_of_the_response() {
        let input = b"* 1 FETCH (BODY[] {5}\r\nab\r\nc UID 7)\r\na1 OK done\r\n";
        let got = read_all(input);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, Kind::Untagged);
        assert_eq!(got[0].1, b"* 1 FETCH (BODY[] {5}ab\r\nc UID 7)".to_vec());
        assert_eq!(
            got[1].0,
            Kind::Tagged {
                tag: b"a1".to_vec(),
                status: Status::Ok
            }
        );
    }

    #[test]
    fn literal_containing_fake_tagged_line_is_not_a_completion() {
        let input = b"* 2 FETCH (BODY[] {14}\r\na1 OK fake\r\n\r\n)\r\na1 NO real\r\n";
        let got = read_all(input);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1].0,
            Kind::Tagged {
                tag: b"a1".to_vec(),
                status: Status::No
            }
        );
    }

    #[test]
    fn two_literals_and_zero_length() {
        let input = b"* 3 FETCH (A {0}\r\n B {3+}\r\nxyz)\r\n+ go\r\nt BAD x\r\n";
        let got = read_all(input);
        assert_eq!(got[0].1, b"* 3 FETCH (A {0} B {3+}xyz)".to_vec());
        assert_eq!(got[1].0, Kind::Continuation);
        assert_eq!(
            got[2].0,
            Kind::Tagged {
                tag: b"t".to_vec(),
                status: Status::Bad
            }
        );
    }

    #[test]
    fn classify_and_literal_len_edges() {
        assert_eq!(classify(b"garbage"), Kind::Garbage);
        assert_eq!(
            classify(b"x WHAT y"),
            Kind::Tagged {
                tag: b"x".to_vec(),
                status: Status::Other
            }
        );
        assert_eq!(literal_len(b"abc {12}"), Some(12));
        assert_eq!(literal_len(b"abc {}"), None);
        assert_eq!(literal_len(b"abc {1x}"), None);
        assert_eq!(literal_len(b"abc {99999999999999999999}"), None);
        assert_eq!(literal_len(b"abc"), None);
    }

    #[test]
    fn oversized_literal_is_an_error_not_an_allocation() {
        let mut r = Reader::new(futures_lite::io::Cursor::new(
            b"* X {999999999999}\r\n".to_vec(),
        ));
        let res = futures_lite::future::block_on(r.read_response());
        assert!(matches!(res, Err(ReadError::LiteralTooLarge(999999999999))));
    }

    #[test]
    fn truncated_stream_is_eof() {
        let mut r = Reader::new(futures_lite::io::Cursor::new(
            b"* 1 FETCH {10}\r\nabc".to_vec(),
        ));
        let res = futures_lite::future::block_on(r.read_response());
        assert!(matches!(res, Err(ReadError::Eof)));
    }
}
