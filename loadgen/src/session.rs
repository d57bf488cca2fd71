//! Protocol sessions used by the modes: IMAP (tagged commands over the
//! response reader), POP3 and LMTP line protocols.

use crate::conn::{self, ConnError, Stream};
use crate::reader::{Kind, ReadError, Reader, Status};
use futures_lite::AsyncWriteExt;
use futures_lite::io::{ReadHalf, WriteHalf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Conn(#[from] ConnError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("write: {0}")]
    Write(#[from] std::io::Error),
    #[error("protocol: {0}")]
    Protocol(String),
}

pub fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b.get(..b.len().min(200)).unwrap_or_default());
    s.into_owned()
}

/// Quotes an IMAP string.
pub fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

pub struct Target {
    pub addr: String,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub server_name: String,
}

pub async fn open(
    t: &Target,
) -> Result<(Reader<ReadHalf<Stream>>, WriteHalf<Stream>), SessionError> {
    let s = conn::connect(&t.addr, t.tls.as_ref().map(|c| (c, t.server_name.as_str()))).await?;
    let (r, w) = futures_lite::io::split(s);
    Ok((Reader::new(r), w))
}

pub struct Imap {
    pub r: Reader<ReadHalf<Stream>>,
    pub w: WriteHalf<Stream>,
    next_tag: u64,
    pub literal_plus: bool,
    /// First lines of the untagged responses of the last command.
    pub untagged: Vec<Vec<u8>>,
}

impl Imap {
    pub async fn connect(t: &Target) -> Result<Imap, SessionError> {
        let (mut r, w) = open(t).await?;
        let k = r.read_response().await?;
        if k != Kind::Untagged || !r.first_line().starts_with(b"* OK") {
            return Err(SessionError::Protocol(format!(
                "greeting: {}",
                show(r.first_line())
            )));
        }
        Ok(Imap {
            r,
            w,
            next_tag: 1,
            literal_plus: false,
            untagged: Vec::new(),
        })
    }

    pub fn tag(&mut self) -> String {
        self.next_tag += 1;
        format!("s{}", self.next_tag)
    }

    /// Runs one command (the text after the tag, without CRLF) to completion.
    pub async fn cmd(&mut self, text: &str) -> Result<Status, SessionError> {
        let tag = self.tag();
        self.w
            .write_all(format!("{tag} {text}\r\n").as_bytes())
            .await?;
        self.w.flush().await?;
        self.complete(&tag).await
    }

    /// Reads responses until the tagged completion of `tag`.
    pub async fn complete(&mut self, tag: &str) -> Result<Status, SessionError> {
        self.untagged.clear();
        loop {
            match self.r.read_response().await? {
                Kind::Untagged => {
                    if self.r.first_line().starts_with(b"* BYE") {
                        // A BYE outside LOGOUT: the server is closing on us.
                        return Err(SessionError::Protocol(format!(
                            "unexpected {}",
                            show(self.r.first_line())
                        )));
                    }
                    self.untagged.push(self.r.first_line().to_vec());
                }
                Kind::Tagged { tag: t, status } if t == tag.as_bytes() => {
                    if status != Status::Ok {
                        self.untagged.push(self.r.first_line().to_vec());
                    }
                    return Ok(status);
                }
                Kind::Tagged { .. } => {
                    return Err(SessionError::Protocol(format!(
                        "completion for another tag: {}",
                        show(self.r.first_line())
                    )));
                }
                Kind::Continuation => {
                    return Err(SessionError::Protocol("unexpected continuation".into()));
                }
                Kind::Garbage => {
                    return Err(SessionError::Protocol(format!(
                        "garbage: {}",
                        show(self.r.first_line())
                    )));
                }
            }
        }
    }

    pub async fn ok(&mut self, text: &str) -> Result<(), SessionError> {
        match self.cmd(text).await? {
            Status::Ok => Ok(()),
            _ => Err(SessionError::Protocol(format!(
                "{} -> {}",
                text.split(' ').next().unwrap_or_default(),
                show(self.r.first_line())
            ))),
        }
    }

    pub async fn login(&mut self, user: &str, pass: &str) -> Result<(), SessionError> {
        self.ok(&format!("LOGIN {} {}", quote(user), quote(pass)))
            .await?;
        self.ok("CAPABILITY").await?;
        self.literal_plus = self.untagged.iter().any(|l| {
            l.starts_with(b"* CAPABILITY")
                && l.split(|b| *b == b' ')
                    .any(|w| w.eq_ignore_ascii_case(b"LITERAL+"))
        });
        Ok(())
    }

    /// SELECTs `mailbox`, returning the EXISTS count.
    pub async fn select(&mut self, mailbox: &str) -> Result<u64, SessionError> {
        self.ok(&format!("SELECT {}", quote(mailbox))).await?;
        Ok(self
            .untagged
            .iter()
            .find_map(|l| parse_exists(l))
            .unwrap_or(0))
    }

    /// All UIDs of the selected mailbox.
    pub async fn uids(&mut self) -> Result<Vec<u32>, SessionError> {
        self.ok("UID SEARCH ALL").await?;
        let mut out = Vec::new();
        for l in &self.untagged {
            if let Some(rest) = l.strip_prefix(b"* SEARCH") {
                out.extend(
                    rest.split(|b| *b == b' ')
                        .filter_map(|w| std::str::from_utf8(w).ok()?.parse::<u32>().ok()),
                );
            }
        }
        Ok(out)
    }

    /// APPENDs one message (LITERAL+ when offered), returning the APPENDUID uid if given.
    pub async fn append(
        &mut self,
        mailbox: &str,
        msg: &[u8],
    ) -> Result<(Status, Option<u32>), SessionError> {
        let tag = self.tag();
        self.send_append(&tag, mailbox, msg).await?;
        let st = self.complete(&tag).await?;
        Ok((st, appenduid(self.r.first_line())))
    }

    /// Sends an APPEND; without LITERAL+ waits for the continuation first.
    pub async fn send_append(
        &mut self,
        tag: &str,
        mailbox: &str,
        msg: &[u8],
    ) -> Result<(), SessionError> {
        if self.literal_plus {
            let mut buf =
                format!("{tag} APPEND {} {{{}+}}\r\n", quote(mailbox), msg.len()).into_bytes();
            buf.extend_from_slice(msg);
            buf.extend_from_slice(b"\r\n");
            self.w.write_all(&buf).await?;
            self.w.flush().await?;
        } else {
            self.w
                .write_all(
                    format!("{tag} APPEND {} {{{}}}\r\n", quote(mailbox), msg.len()).as_bytes(),
                )
                .await?;
            self.w.flush().await?;
            loop {
                match self.r.read_response().await? {
                    Kind::Continuation => break,
                    Kind::Untagged => {}
                    _ => {
                        return Err(SessionError::Protocol(format!(
                            "APPEND refused: {}",
                            show(self.r.first_line())
                        )));
                    }
                }
            }
            self.w.write_all(msg).await?;
            self.w.write_all(b"\r\n").await?;
            self.w.flush().await?;
        }
        Ok(())
    }

    pub async fn logout(&mut self) -> Result<(), SessionError> {
        let tag = "logout";
        self.w.write_all(b"logout LOGOUT\r\n").await?;
        self.w.flush().await?;
        loop {
            match self.r.read_response().await? {
                Kind::Untagged => {}
                Kind::Tagged {
                    tag: t,
                    status: Status::Ok,
                } if t == tag.as_bytes() => return Ok(()),
                _ => {
                    return Err(SessionError::Protocol(format!(
                        "LOGOUT: {}",
                        show(self.r.first_line())
                    )));
                }
            }
        }
    }
}

pub fn parse_exists(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"* ")?;
    let sp = memchr::memchr(b' ', rest)?;
    let (num, word) = rest.split_at(sp);
    if word.eq_ignore_ascii_case(b" EXISTS") {
        std::str::from_utf8(num).ok()?.parse().ok()
    } else {
        None
    }
}

/// The UID from `[APPENDUID <validity> <uid>]` in a tagged OK.
pub fn appenduid(line: &[u8]) -> Option<u32> {
    let pos = memchr::memmem::find(line, b"[APPENDUID ")?;
    let rest = line.get(pos + 11..)?;
    let end = memchr::memchr(b']', rest)?;
    let mut it = rest.get(..end)?.split(|b| *b == b' ');
    it.next()?;
    std::str::from_utf8(it.next()?).ok()?.parse().ok()
}

/// Line-oriented sessions (POP3 and LMTP).
pub struct Lines {
    pub r: Reader<ReadHalf<Stream>>,
    pub w: WriteHalf<Stream>,
}

impl Lines {
    pub async fn connect(t: &Target) -> Result<Lines, SessionError> {
        let (r, w) = open(t).await?;
        Ok(Lines { r, w })
    }

    pub async fn send(&mut self, line: &str) -> Result<(), SessionError> {
        self.w.write_all(format!("{line}\r\n").as_bytes()).await?;
        self.w.flush().await?;
        Ok(())
    }

    /// One POP3 status line; true for `+OK`.
    pub async fn pop_status(&mut self) -> Result<bool, SessionError> {
        let l = self.r.read_line().await?;
        if l.starts_with(b"+OK") {
            Ok(true)
        } else if l.starts_with(b"-ERR") {
            Ok(false)
        } else {
            Err(SessionError::Protocol(format!("POP3: {}", show(l))))
        }
    }

    /// A POP3 command with a multi-line answer; returns the number of lines read.
    pub async fn pop_multi(&mut self, cmd: &str) -> Result<Option<u64>, SessionError> {
        self.send(cmd).await?;
        if !self.pop_status().await? {
            return Ok(None);
        }
        let mut n = 0u64;
        loop {
            let l = self.r.read_line().await?;
            if l == b"." {
                return Ok(Some(n));
            }
            n += 1;
        }
    }

    pub async fn pop_cmd(&mut self, cmd: &str) -> Result<bool, SessionError> {
        self.send(cmd).await?;
        self.pop_status().await
    }

    /// An SMTP/LMTP reply (multi-line aware); returns the code.
    pub async fn smtp_reply(&mut self) -> Result<u16, SessionError> {
        loop {
            let l = self.r.read_line().await?;
            let code = l
                .get(..3)
                .and_then(|c| std::str::from_utf8(c).ok()?.parse::<u16>().ok());
            let Some(code) = code else {
                return Err(SessionError::Protocol(format!("LMTP: {}", show(l))));
            };
            if l.get(3) != Some(&b'-') {
                return Ok(code);
            }
        }
    }
}

/// Dot-stuffs a message for SMTP DATA and appends the terminator.
pub fn dot_stuff(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 16);
    let mut at_line_start = true;
    for &b in msg {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(parse_exists(b"* 172 EXISTS"), Some(172));
        assert_eq!(parse_exists(b"* 172 RECENT"), None);
        assert_eq!(
            appenduid(b"a OK [APPENDUID 38505 3955] APPEND completed"),
            Some(3955)
        );
        assert_eq!(appenduid(b"a OK done"), None);
        assert_eq!(dot_stuff(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n".to_vec());
        assert_eq!(dot_stuff(b"x"), b"x\r\n.\r\n".to_vec());
    }
}
