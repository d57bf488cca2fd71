//! Frames on the admin socket: a big-endian u32 length, then the payload:
//! requests an opcode and fields, replies a status byte (0 = done) and
//! fields, or a refusal code and a text. Integers are big-endian; byte
//! strings are a u32 length and the bytes.

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("admin socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("admin socket: frame of {0} bytes is over the limit")]
    TooLarge(u64),
    #[error("admin socket: malformed frame ({0})")]
    Malformed(&'static str),
    #[error("the server refused: {0}")]
    Refused(Refusal),
}

/// Why the server did not do a request, in the terms an import acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A keyword the store cannot take (bad, or too many).
    #[error("{0}")]
    Keyword(String),
    /// This message only (too big, a limit).
    #[error("{0}")]
    Message(String),
    /// The UIDs asked for are taken (mail arrived meanwhile) or the
    /// mailbox is not the one expected.
    #[error("{0}")]
    Conflict(String),
    /// Anything else: the import of this user stops.
    #[error("{0}")]
    Failed(String),
}

impl Refusal {
    fn code(&self) -> u8 {
        match self {
            Refusal::Keyword(_) => 1,
            Refusal::Message(_) => 2,
            Refusal::Conflict(_) => 3,
            Refusal::Failed(_) => 4,
        }
    }

    fn from_code(code: u8, text: String) -> Refusal {
        match code {
            1 => Refusal::Keyword(text),
            2 => Refusal::Message(text),
            3 => Refusal::Conflict(text),
            _ => Refusal::Failed(text),
        }
    }

    pub fn of(e: &StoreError) -> Refusal {
        let text = e.to_string();
        match e {
            StoreError::InvalidKeyword(_) => Refusal::Keyword(text),
            // The store's limits on one append are keyword-table or batch
            // limits; the import retries message by message without
            // keywords, as it does locally.
            StoreError::Limit(_) => Refusal::Keyword(text),
            StoreError::TooBig { .. } => Refusal::Message(text),
            StoreError::ImportConflict(_) => Refusal::Conflict(text),
            _ => Refusal::Failed(text),
        }
    }
}

#[derive(Default)]
pub struct Out(pub Vec<u8>);

impl Out {
    pub fn new(op: u8) -> Out {
        let mut o = Out(Vec::with_capacity(64));
        o.0.extend_from_slice(&[0; 4]);
        o.u8(op);
        o
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len().min(u32::MAX as usize) as u32);
        self.0.extend_from_slice(v);
        self
    }
    /// The frame with its length filled in.
    pub fn finish(mut self) -> Vec<u8> {
        let n = (self.0.len() - 4) as u32;
        self.0[..4].copy_from_slice(&n.to_be_bytes());
        self.0
    }
}

pub struct In<'a> {
    buf: &'a [u8],
}

impl<'a> In<'a> {
    pub fn new(buf: &'a [u8]) -> In<'a> {
        In { buf }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            return Err(WireError::Malformed("truncated"));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Result<u64, WireError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    pub fn i64(&mut self) -> Result<i64, WireError> {
        Ok(self.u64()? as i64)
    }
    pub fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn str(&mut self) -> Result<&'a str, WireError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| WireError::Malformed("text is not UTF-8"))
    }
    /// Reads a count that many items of at least `min_item` bytes each
    /// must follow, so a forged count cannot make the reader allocate.
    pub fn count(&mut self, min_item: usize) -> Result<usize, WireError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item.max(1)) > self.buf.len() {
            return Err(WireError::Malformed("count larger than the frame"));
        }
        Ok(n)
    }
    pub fn end(&self) -> Result<(), WireError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(WireError::Malformed("trailing bytes"))
        }
    }
}

pub async fn read_frame<S: futures_lite::AsyncRead + Unpin>(
    s: &mut S,
    max: u64,
) -> Result<Option<Vec<u8>>, WireError> {
    let mut len = [0u8; 4];
    match s.read_exact(&mut len).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let n = u32::from_be_bytes(len) as u64;
    if n > max {
        return Err(WireError::TooLarge(n));
    }
    let mut buf = vec![0u8; n as usize];
    s.read_exact(&mut buf).await?;
    Ok(Some(buf))
}

pub async fn write_frame<S: futures_lite::AsyncWrite + Unpin>(
    s: &mut S,
    frame: &[u8],
) -> Result<(), WireError> {
    s.write_all(frame).await?;
    s.flush().await?;
    Ok(())
}

/// A reply: done, with `fields` written by the caller after this.
pub fn ok() -> Out {
    Out::new(0)
}

pub fn refusal(r: &Refusal) -> Vec<u8> {
    let mut o = Out::new(r.code());
    o.bytes(r.to_string().as_bytes());
    o.finish()
}

/// Splits a reply into its fields, or the refusal it carries.
pub fn reply(frame: &[u8]) -> Result<In<'_>, WireError> {
    let mut i = In::new(frame);
    match i.u8()? {
        0 => Ok(i),
        code => {
            let text = String::from_utf8_lossy(i.bytes()?).into_owned();
            Err(WireError::Refused(Refusal::from_code(code, text)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_bad_frames_are_refused() {
        let mut o = Out::new(9);
        o.u32(7).i64(-5).bytes(b"abc").u64(1 << 40);
        let f = o.finish();
        assert_eq!(
            u32::from_be_bytes([f[0], f[1], f[2], f[3]]) as usize,
            f.len() - 4
        );
        let mut i = In::new(&f[4..]);
        assert_eq!(i.u8().ok(), Some(9));
        assert_eq!(i.u32().ok(), Some(7));
        assert_eq!(i.i64().ok(), Some(-5));
        assert_eq!(i.bytes().ok(), Some(&b"abc"[..]));
        assert_eq!(i.u64().ok(), Some(1 << 40));
        assert!(i.end().is_ok());
        assert!(matches!(i.u8(), Err(WireError::Malformed(_))));
        // A byte string claiming more than the frame holds.
        let mut o = Out::new(1);
        o.u32(1000);
        let f = o.finish();
        let mut i = In::new(&f[5..]);
        assert!(i.bytes().is_err());
        let mut i = In::new(&f[5..]);
        assert!(i.count(1).is_err());
    }

    #[test]
    fn refusals_keep_their_kind() {
        let f = refusal(&Refusal::Conflict("uids taken".into()));
        match reply(&f[4..]) {
            Err(WireError::Refused(Refusal::Conflict(t))) => assert_eq!(t, "uids taken"),
            other => panic!("{:?}", other.err()),
        }
        let mut o = ok();
        o.u32(3);
        let f = o.finish();
        assert_eq!(reply(&f[4..]).and_then(|mut i| i.u32()).ok(), Some(3));
    }
}
