//! Log records: framing (`[len u32][type u8][crc32 u32][payload]`) and the
//! little-endian payload encoding of every record type. Pure functions, no
//! I/O; the on-disk format is specified in docs/architecture.md.

/// Bytes before a record's payload.
pub const FRAME_HEADER: usize = 9;

pub const T_CREATE: u8 = 1;
pub const T_RENAME: u8 = 2;
pub const T_DELETE: u8 = 3;
pub const T_SUBSCRIBE: u8 = 4;
pub const T_KEYWORD: u8 = 5;
pub const T_APPEND: u8 = 6;
pub const T_FLAGS: u8 = 7;
pub const T_EXPUNGE: u8 = 8;
pub const T_COPY: u8 = 9;
pub const T_BATCH: u8 = 10;
/// Filler written over a quarantined (damaged) record by `check --repair`:
/// it keeps every later offset in the segment valid. Payload ignored.
pub const T_PAD: u8 = 11;
/// Append with object ids and save date (RFC 8474, RFC 8514); replaces
/// [`T_APPEND`], which stays decodable for stores written before it.
pub const T_APPEND2: u8 = 12;
/// Copy/move carrying the destination's save date; replaces [`T_COPY`]
/// for new writes, which stays decodable.
pub const T_COPY2: u8 = 13;

/// A save date of 0 means "not known" (messages of a type-6 record).
pub const NO_SAVE_DATE: i64 = 0;

/// Annotations set (RFC 5464): an owner and (entry, value) pairs.
pub const T_META_SET: u8 = 14;
/// Annotations removed: an owner and entry names.
pub const T_META_REMOVE: u8 = 15;
/// The owner id of server annotations; mailbox ids start at 1.
pub const META_SERVER: u32 = 0;

/// Where a message's bytes are, relative to the start of its segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMsg {
    pub uid: u32,
    pub modseq: u64,
    pub date: i64,
    pub flags: u8,
    pub keywords: Vec<u16>,
    /// Absolute offset of the raw message in the segment.
    pub raw_off: u64,
    pub raw_len: u32,
    /// The facts follow the raw bytes immediately.
    pub facts_len: u32,
    /// EMAILID; 0 in a type-6 record: the index then uses the message's
    /// location (see `Index::apply`), which compaction writes down here.
    pub email_id: u64,
    /// THREADID; 0 in a type-6 record (then the email id).
    pub thread_id: u64,
    /// Unix seconds the message was saved into this mailbox;
    /// [`NO_SAVE_DATE`] in a type-6 record.
    pub save_date: i64,
    /// Hash of the Message-ID ([`msgid_hash`]), 0 when none or unknown.
    pub msgid: u64,
}

/// Stable 64-bit hash (FNV-1a) of a Message-ID without angle brackets and
/// surrounding blanks; 0 (never produced for an id) means none. It is
/// written to disk, so it must never change.
pub fn msgid_hash(id: &str) -> u64 {
    let id = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    if id.is_empty() {
        return 0;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h.max(1)
}

/// A decoded record. Append records carry positions of the message bytes,
/// not the bytes themselves, so replay never copies bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Create {
        id: u32,
        uidvalidity: u32,
        special_use: u8,
        name: String,
    },
    Rename {
        entries: Vec<(u32, String)>,
    },
    Delete {
        id: u32,
    },
    Subscribe {
        on: bool,
        name: String,
    },
    Keyword {
        mailbox: u32,
        id: u16,
        name: String,
    },
    Append {
        mailbox: u32,
        msgs: Vec<AppendMsg>,
    },
    /// Absolute new state of each listed message.
    Flags {
        mailbox: u32,
        modseq: u64,
        changes: Vec<(u32, u8, Vec<u16>)>,
    },
    Expunge {
        mailbox: u32,
        modseq: u64,
        ranges: Vec<(u32, u32)>,
    },
    Copy {
        src: u32,
        dst: u32,
        is_move: bool,
        dst_modseq: u64,
        src_modseq: u64,
        pairs: Vec<(u32, u32)>,
        /// Save date of the destination messages; `None` only in a type-9
        /// record (written before save dates existed).
        save_date: Option<i64>,
    },
    Batch(Vec<Record>),
    /// Bytes of a quarantined record (see [`T_PAD`]); means nothing.
    Pad,
    /// Annotations set on `owner` (a mailbox id, or [`META_SERVER`]).
    MetaSet {
        owner: u32,
        entries: Vec<(String, Vec<u8>)>,
    },
    /// Annotations removed from `owner`.
    MetaRemove {
        owner: u32,
        names: Vec<String>,
    },
}

impl Record {
    /// One record as itself, several as one all-or-nothing batch.
    pub fn all_of(mut recs: Vec<Record>) -> Record {
        if recs.len() == 1 {
            recs.remove(0)
        } else {
            Record::Batch(recs)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("payload too short")]
    Short,
    #[error("unknown record type {0}")]
    UnknownType(u8),
    #[error("invalid utf-8 in a name")]
    Utf8,
    #[error("trailing bytes in payload")]
    Trailing,
}

/// A message body to encode into an append record.
pub struct NewMsg<'a> {
    pub uid: u32,
    pub modseq: u64,
    pub date: i64,
    pub flags: u8,
    pub keywords: &'a [u16],
    pub raw: &'a [u8],
    pub facts: &'a [u8],
    pub email_id: u64,
    pub thread_id: u64,
    pub save_date: i64,
    pub msgid: u64,
}

// ---------------------------------------------------------------- encoding

/// Accumulates framed records into one buffer.
#[derive(Default)]
pub struct Encoder {
    pub buf: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn begin(&mut self, t: u8) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0u8; 4]);
        self.buf.push(t);
        self.buf.extend_from_slice(&[0u8; 4]);
        start
    }

    fn finish(&mut self, start: usize) {
        let payload_len = (self.buf.len() - start - FRAME_HEADER) as u32;
        let mut h = crc32fast::Hasher::new();
        h.update(&self.buf[start + 4..start + 5]);
        h.update(&self.buf[start + FRAME_HEADER..]);
        let crc = h.finalize();
        self.buf[start..start + 4].copy_from_slice(&payload_len.to_le_bytes());
        self.buf[start + 5..start + 9].copy_from_slice(&crc.to_le_bytes());
    }

    /// Encode one framed record. Returns offsets (relative to the start of
    /// this encoder's buffer) of each appended message's raw bytes.
    pub fn record(&mut self, r: &Record) -> usize {
        let start = self.begin(type_of(r));
        encode_payload(&mut self.buf, r);
        self.finish(start);
        start
    }

    /// Encode an append record from bodies. Returns the buffer-relative
    /// offset of each message's raw bytes.
    pub fn append(&mut self, mailbox: u32, msgs: &[NewMsg<'_>]) -> Vec<usize> {
        let start = self.begin(T_APPEND2);
        let b = &mut self.buf;
        put_u32(b, mailbox);
        put_u32(b, msgs.len() as u32);
        let mut offs = Vec::with_capacity(msgs.len());
        for m in msgs {
            put_u32(b, m.uid);
            put_u64(b, m.modseq);
            b.extend_from_slice(&m.date.to_le_bytes());
            b.extend_from_slice(&m.save_date.to_le_bytes());
            put_u64(b, m.email_id);
            put_u64(b, m.thread_id);
            put_u64(b, m.msgid);
            b.push(m.flags);
            put_u16(b, m.keywords.len() as u16);
            for k in m.keywords {
                put_u16(b, *k);
            }
            put_u32(b, m.raw.len() as u32);
            put_u32(b, m.facts.len() as u32);
            offs.push(b.len());
            b.extend_from_slice(m.raw);
            b.extend_from_slice(m.facts);
        }
        self.finish(start);
        offs
    }
}

fn type_of(r: &Record) -> u8 {
    match r {
        Record::Create { .. } => T_CREATE,
        Record::Rename { .. } => T_RENAME,
        Record::Delete { .. } => T_DELETE,
        Record::Subscribe { .. } => T_SUBSCRIBE,
        Record::Keyword { .. } => T_KEYWORD,
        Record::Append { .. } => T_APPEND2,
        Record::Flags { .. } => T_FLAGS,
        Record::Expunge { .. } => T_EXPUNGE,
        Record::Copy {
            save_date: None, ..
        } => T_COPY,
        Record::Copy { .. } => T_COPY2,
        Record::Batch(_) => T_BATCH,
        Record::Pad => T_PAD,
        Record::MetaSet { .. } => T_META_SET,
        Record::MetaRemove { .. } => T_META_REMOVE,
    }
}

fn put_u16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put_u64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}
fn put_str(b: &mut Vec<u8>, s: &str) {
    // Names are bounded by config far below 64 KiB; clamp defensively.
    let bytes = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
    put_u16(b, bytes.len() as u16);
    b.extend_from_slice(bytes);
}

/// Payload of a non-append record (append payloads carry bodies and are
/// written by [`Encoder::append`] or copied verbatim by compaction).
fn encode_payload(b: &mut Vec<u8>, r: &Record) {
    match r {
        Record::Create {
            id,
            uidvalidity,
            special_use,
            name,
        } => {
            put_u32(b, *id);
            put_u32(b, *uidvalidity);
            b.push(*special_use);
            put_str(b, name);
        }
        Record::Rename { entries } => {
            put_u32(b, entries.len() as u32);
            for (id, name) in entries {
                put_u32(b, *id);
                put_str(b, name);
            }
        }
        Record::Delete { id } => put_u32(b, *id),
        Record::Subscribe { on, name } => {
            b.push(u8::from(*on));
            put_str(b, name);
        }
        Record::Keyword { mailbox, id, name } => {
            put_u32(b, *mailbox);
            put_u16(b, *id);
            put_str(b, name);
        }
        // Append payloads carry the bodies, which a decoded record does not
        // hold: they are written by `Encoder::append` (or copied verbatim
        // by compaction) and never reach this function.
        Record::Append { .. } => {}
        Record::Flags {
            mailbox,
            modseq,
            changes,
        } => {
            put_u32(b, *mailbox);
            put_u64(b, *modseq);
            put_u32(b, changes.len() as u32);
            for (uid, flags, kws) in changes {
                put_u32(b, *uid);
                b.push(*flags);
                put_u16(b, kws.len() as u16);
                for k in kws {
                    put_u16(b, *k);
                }
            }
        }
        Record::Expunge {
            mailbox,
            modseq,
            ranges,
        } => {
            put_u32(b, *mailbox);
            put_u64(b, *modseq);
            put_u32(b, ranges.len() as u32);
            for (lo, hi) in ranges {
                put_u32(b, *lo);
                put_u32(b, *hi);
            }
        }
        Record::Copy {
            src,
            dst,
            is_move,
            dst_modseq,
            src_modseq,
            pairs,
            save_date,
        } => {
            put_u32(b, *src);
            put_u32(b, *dst);
            b.push(u8::from(*is_move));
            put_u64(b, *dst_modseq);
            put_u64(b, *src_modseq);
            if let Some(d) = save_date {
                b.extend_from_slice(&d.to_le_bytes());
            }
            put_u32(b, pairs.len() as u32);
            for (s, d) in pairs {
                put_u32(b, *s);
                put_u32(b, *d);
            }
        }
        Record::Pad => {}
        Record::MetaSet { owner, entries } => {
            put_u32(b, *owner);
            put_u32(b, entries.len() as u32);
            for (name, value) in entries {
                put_str(b, name);
                put_u32(b, value.len() as u32);
                b.extend_from_slice(value);
            }
        }
        Record::MetaRemove { owner, names } => {
            put_u32(b, *owner);
            put_u32(b, names.len() as u32);
            for name in names {
                put_str(b, name);
            }
        }
        Record::Batch(items) => {
            for item in items {
                b.push(type_of(item));
                let len_at = b.len();
                put_u32(b, 0);
                encode_payload(b, item);
                let len = (b.len() - len_at - 4) as u32;
                b[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
            }
        }
    }
}

// ---------------------------------------------------------------- framing

/// A valid pad frame exactly `total` bytes long (header included), or None
/// when `total` cannot hold a frame header.
pub fn pad_frame(total: usize) -> Option<Vec<u8>> {
    let payload = total.checked_sub(FRAME_HEADER)?;
    let len = u32::try_from(payload).ok()?;
    let mut b = Vec::with_capacity(total);
    b.extend_from_slice(&len.to_le_bytes());
    b.push(T_PAD);
    let mut h = crc32fast::Hasher::new();
    h.update(&[T_PAD]);
    let zeros = vec![0u8; payload];
    h.update(&zeros);
    b.extend_from_slice(&h.finalize().to_le_bytes());
    b.extend_from_slice(&zeros);
    Some(b)
}

/// Outcome of reading the frame at the start of `buf`.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole record with a good crc: type, payload.
    Good { rtype: u8, payload: &'a [u8] },
    /// Fewer bytes than the header or the declared length.
    Short,
    /// Complete but the crc does not match.
    BadCrc { len: u32 },
}

pub fn read_frame(buf: &[u8]) -> Frame<'_> {
    let Some(h) = buf.get(..FRAME_HEADER) else {
        return Frame::Short;
    };
    let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let rtype = h[4];
    let crc = u32::from_le_bytes([h[5], h[6], h[7], h[8]]);
    let Some(payload) = buf.get(FRAME_HEADER..FRAME_HEADER + len as usize) else {
        return Frame::Short;
    };
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&[rtype]);
    hasher.update(payload);
    if hasher.finalize() != crc {
        return Frame::BadCrc { len };
    }
    Frame::Good { rtype, payload }
}

// ---------------------------------------------------------------- decoding

struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Short)?;
        let s = self.b.get(self.pos..end).ok_or(DecodeError::Short)?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    fn str(&mut self) -> Result<String, DecodeError> {
        let n = self.u16()? as usize;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| DecodeError::Utf8)
    }
    /// A count that will be followed by at least `min_each` bytes per item,
    /// checked against the remaining bytes so a corrupt count cannot make
    /// us allocate unboundedly.
    fn count(&mut self, min_each: usize) -> Result<usize, DecodeError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_each) > self.b.len() - self.pos {
            return Err(DecodeError::Short);
        }
        Ok(n)
    }
    fn kws(&mut self) -> Result<Vec<u16>, DecodeError> {
        let n = self.u16()? as usize;
        if n * 2 > self.b.len() - self.pos {
            return Err(DecodeError::Short);
        }
        (0..n).map(|_| self.u16()).collect()
    }
    fn done(&self) -> Result<(), DecodeError> {
        if self.pos == self.b.len() {
            Ok(())
        } else {
            Err(DecodeError::Trailing)
        }
    }
}

/// Decode a payload. `payload_off` is the payload's absolute offset in its
/// segment, used to turn body positions into segment offsets.
pub fn decode(rtype: u8, payload: &[u8], payload_off: u64) -> Result<Record, DecodeError> {
    let mut r = Rd { b: payload, pos: 0 };
    let rec = match rtype {
        T_CREATE => Record::Create {
            id: r.u32()?,
            uidvalidity: r.u32()?,
            special_use: r.u8()?,
            name: r.str()?,
        },
        T_RENAME => {
            let n = r.count(6)?;
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                entries.push((r.u32()?, r.str()?));
            }
            Record::Rename { entries }
        }
        T_DELETE => Record::Delete { id: r.u32()? },
        T_SUBSCRIBE => Record::Subscribe {
            on: r.u8()? != 0,
            name: r.str()?,
        },
        T_KEYWORD => Record::Keyword {
            mailbox: r.u32()?,
            id: r.u16()?,
            name: r.str()?,
        },
        T_APPEND | T_APPEND2 => {
            let v2 = rtype == T_APPEND2;
            let mailbox = r.u32()?;
            let n = r.count(if v2 { 63 } else { 31 })?;
            let mut msgs = Vec::with_capacity(n);
            for _ in 0..n {
                let uid = r.u32()?;
                let modseq = r.u64()?;
                let date = r.u64()? as i64;
                let (save_date, email_id, thread_id, msgid) = if v2 {
                    (r.u64()? as i64, r.u64()?, r.u64()?, r.u64()?)
                } else {
                    (NO_SAVE_DATE, 0, 0, 0)
                };
                let flags = r.u8()?;
                let keywords = r.kws()?;
                let raw_len = r.u32()?;
                let facts_len = r.u32()?;
                let raw_off = payload_off + r.pos as u64;
                r.take(raw_len as usize)?;
                r.take(facts_len as usize)?;
                msgs.push(AppendMsg {
                    uid,
                    modseq,
                    date,
                    flags,
                    keywords,
                    raw_off,
                    raw_len,
                    facts_len,
                    email_id,
                    thread_id,
                    save_date,
                    msgid,
                });
            }
            Record::Append { mailbox, msgs }
        }
        T_FLAGS => {
            let mailbox = r.u32()?;
            let modseq = r.u64()?;
            let n = r.count(7)?;
            let mut changes = Vec::with_capacity(n);
            for _ in 0..n {
                changes.push((r.u32()?, r.u8()?, r.kws()?));
            }
            Record::Flags {
                mailbox,
                modseq,
                changes,
            }
        }
        T_EXPUNGE => {
            let mailbox = r.u32()?;
            let modseq = r.u64()?;
            let n = r.count(8)?;
            let mut ranges = Vec::with_capacity(n);
            for _ in 0..n {
                ranges.push((r.u32()?, r.u32()?));
            }
            Record::Expunge {
                mailbox,
                modseq,
                ranges,
            }
        }
        T_COPY | T_COPY2 => {
            let src = r.u32()?;
            let dst = r.u32()?;
            let is_move = r.u8()? != 0;
            let dst_modseq = r.u64()?;
            let src_modseq = r.u64()?;
            let save_date = if rtype == T_COPY2 {
                Some(r.u64()? as i64)
            } else {
                None
            };
            let n = r.count(8)?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                pairs.push((r.u32()?, r.u32()?));
            }
            Record::Copy {
                src,
                dst,
                is_move,
                dst_modseq,
                src_modseq,
                pairs,
                save_date,
            }
        }
        T_BATCH => {
            let mut items = Vec::new();
            while r.pos < payload.len() {
                let t = r.u8()?;
                if t == T_BATCH {
                    // Batches do not nest; refusing bounds recursion depth.
                    return Err(DecodeError::UnknownType(t));
                }
                let len = r.u32()? as usize;
                let off = payload_off + r.pos as u64;
                let inner = r.take(len)?;
                items.push(decode(t, inner, off)?);
            }
            Record::Batch(items)
        }
        T_PAD => {
            r.pos = payload.len();
            Record::Pad
        }
        T_META_SET => {
            let owner = r.u32()?;
            let n = r.count(6)?;
            let mut entries = Vec::with_capacity(n);
            for _ in 0..n {
                let name = r.str()?;
                let len = r.u32()? as usize;
                entries.push((name, r.take(len)?.to_vec()));
            }
            Record::MetaSet { owner, entries }
        }
        T_META_REMOVE => {
            let owner = r.u32()?;
            let n = r.count(2)?;
            let mut names = Vec::with_capacity(n);
            for _ in 0..n {
                names.push(r.str()?);
            }
            Record::MetaRemove { owner, names }
        }
        t => return Err(DecodeError::UnknownType(t)),
    };
    r.done()?;
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(r: Record) {
        let mut e = Encoder::new();
        e.record(&r);
        let Frame::Good { rtype, payload } = read_frame(&e.buf) else {
            panic!("frame did not read back");
        };
        assert_eq!(decode(rtype, payload, 9).unwrap(), r);
    }

    #[test]
    fn every_metadata_record_roundtrips() {
        roundtrip(Record::Create {
            id: 7,
            uidvalidity: 99,
            special_use: 3,
            name: "a/b".into(),
        });
        roundtrip(Record::Rename {
            entries: vec![(1, "x".into()), (2, "x/y".into())],
        });
        roundtrip(Record::Delete { id: 4 });
        roundtrip(Record::Subscribe {
            on: true,
            name: "Sent".into(),
        });
        roundtrip(Record::Keyword {
            mailbox: 2,
            id: 65,
            name: "$Junk".into(),
        });
        roundtrip(Record::Flags {
            mailbox: 2,
            modseq: 9,
            changes: vec![(5, 3, vec![1, 70])],
        });
        roundtrip(Record::Expunge {
            mailbox: 1,
            modseq: 3,
            ranges: vec![(1, 4), (9, 9)],
        });
        roundtrip(Record::Copy {
            src: 1,
            dst: 2,
            is_move: true,
            dst_modseq: 5,
            src_modseq: 6,
            pairs: vec![(3, 1)],
            save_date: Some(1_700_000_123),
        });
        // Type 9 (no save date) stays readable and writable.
        roundtrip(Record::Copy {
            src: 1,
            dst: 2,
            is_move: false,
            dst_modseq: 5,
            src_modseq: 6,
            pairs: vec![(3, 1), (4, 2)],
            save_date: None,
        });
        roundtrip(Record::MetaSet {
            owner: META_SERVER,
            entries: vec![
                ("/shared/comment".into(), b"hello".to_vec()),
                ("/private/vendor/x/bin".into(), vec![0, 255, 13, 10]),
                ("/private/empty".into(), Vec::new()),
            ],
        });
        roundtrip(Record::MetaRemove {
            owner: 7,
            names: vec!["/private/comment".into(), "/shared/a/b".into()],
        });
        roundtrip(Record::Batch(vec![
            Record::MetaSet {
                owner: 3,
                entries: vec![("/private/comment".into(), b"c".to_vec())],
            },
            Record::MetaRemove {
                owner: 3,
                names: vec!["/shared/comment".into()],
            },
        ]));
        roundtrip(Record::Batch(vec![
            Record::Keyword {
                mailbox: 2,
                id: 0,
                name: "k".into(),
            },
            Record::Flags {
                mailbox: 2,
                modseq: 9,
                changes: vec![(5, 3, vec![0])],
            },
        ]));
    }

    #[test]
    fn append_positions_point_at_bodies() {
        let mut e = Encoder::new();
        e.buf.extend_from_slice(b"HEADERPAD");
        let offs = e.append(
            3,
            &[
                NewMsg {
                    uid: 1,
                    modseq: 2,
                    date: -5,
                    flags: 1,
                    keywords: &[2],
                    raw: b"hello",
                    facts: b"F1",
                    email_id: 0x1_0000_0019,
                    thread_id: 0x1_0000_0001,
                    save_date: 1_700_000_000,
                    msgid: msgid_hash("a@b"),
                },
                NewMsg {
                    uid: 2,
                    modseq: 2,
                    date: 7,
                    flags: 0,
                    keywords: &[],
                    raw: b"world!",
                    facts: b"",
                    email_id: 0x1_0000_001a,
                    thread_id: 0x1_0000_001a,
                    save_date: -1,
                    msgid: 0,
                },
            ],
        );
        let Frame::Good { rtype, payload } = read_frame(&e.buf[9..]) else {
            panic!("bad frame")
        };
        let Record::Append { mailbox, msgs } = decode(rtype, payload, 18).unwrap() else {
            panic!("not append")
        };
        assert_eq!(mailbox, 3);
        assert_eq!(msgs.len(), 2);
        for (m, off) in msgs.iter().zip(&offs) {
            assert_eq!(m.raw_off as usize, *off);
        }
        let m = &msgs[0];
        assert_eq!(&e.buf[m.raw_off as usize..][..5], b"hello");
        assert_eq!(&e.buf[m.raw_off as usize + 5..][..2], b"F1");
        assert_eq!(
            (msgs[0].date, msgs[1].raw_len, msgs[0].keywords.clone()),
            (-5, 6, vec![2])
        );
        assert_eq!(
            (msgs[0].email_id, msgs[0].thread_id, msgs[0].save_date),
            (0x1_0000_0019, 0x1_0000_0001, 1_700_000_000)
        );
        assert_eq!(msgs[0].msgid, msgid_hash("<a@b>"));
        assert_eq!(
            (
                msgs[1].email_id,
                msgs[1].thread_id,
                msgs[1].save_date,
                msgs[1].msgid
            ),
            (0x1_0000_001a, 0x1_0000_001a, -1, 0)
        );
    }

    /// An append payload as written before record type 12 (type 6).
    fn legacy_append(mailbox: u32, msgs: &[(u32, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        put_u32(&mut b, mailbox);
        put_u32(&mut b, msgs.len() as u32);
        for (uid, raw) in msgs {
            put_u32(&mut b, *uid);
            put_u64(&mut b, 2);
            b.extend_from_slice(&1_600_000_000i64.to_le_bytes());
            b.push(1);
            put_u16(&mut b, 1);
            put_u16(&mut b, 3);
            put_u32(&mut b, raw.len() as u32);
            put_u32(&mut b, 0);
            b.extend_from_slice(raw);
        }
        b
    }

    #[test]
    fn type_6_appends_decode_without_ids() {
        let p = legacy_append(4, &[(1, b"abc"), (2, b"defg")]);
        let Record::Append { mailbox, msgs } = decode(T_APPEND, &p, 100).unwrap() else {
            panic!("not append")
        };
        assert_eq!(mailbox, 4);
        assert_eq!(msgs.len(), 2);
        let m = &msgs[1];
        assert_eq!(
            (m.uid, m.modseq, m.date, m.flags, m.keywords.clone()),
            (2, 2, 1_600_000_000, 1, vec![3])
        );
        assert_eq!((m.raw_len, m.facts_len), (4, 0));
        assert_eq!(&p[(m.raw_off - 100) as usize..][..4], b"defg");
        assert_eq!(
            (m.email_id, m.thread_id, m.save_date, m.msgid),
            (0, 0, NO_SAVE_DATE, 0)
        );
        // The same bytes under type 12 are too short: the fields differ.
        assert_eq!(decode(T_APPEND2, &p, 100), Err(DecodeError::Short));
    }

    #[test]
    fn msgid_hash_ignores_brackets_and_blanks() {
        assert_eq!(msgid_hash(" <x@y> "), msgid_hash("x@y"));
        assert_ne!(msgid_hash("x@y"), msgid_hash("X@y"));
        assert_eq!(msgid_hash("<>"), 0);
        assert_eq!(msgid_hash(""), 0);
        // Written to disk: the function must never change.
        assert_eq!(msgid_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn damaged_frames_are_detected() {
        let mut e = Encoder::new();
        e.record(&Record::Delete { id: 1 });
        let good = e.buf.clone();
        for cut in 0..good.len() {
            assert_eq!(read_frame(&good[..cut]), Frame::Short, "cut at {cut}");
        }
        for i in 4..good.len() {
            let mut b = good.clone();
            b[i] ^= 0x10;
            assert!(
                matches!(read_frame(&b), Frame::BadCrc { .. }),
                "flip at {i}"
            );
        }
    }

    #[test]
    fn corrupt_counts_do_not_allocate_or_panic() {
        let mut p = Vec::new();
        put_u32(&mut p, 1);
        put_u64(&mut p, 1);
        put_u32(&mut p, u32::MAX);
        assert_eq!(decode(T_EXPUNGE, &p, 0), Err(DecodeError::Short));
        assert_eq!(
            decode(T_APPEND, &[1, 0, 0, 0, 255, 255, 255, 255], 0),
            Err(DecodeError::Short)
        );
        assert_eq!(decode(200, &[], 0), Err(DecodeError::UnknownType(200)));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// Whatever the disk holds, framing and decoding return a value or
        /// an error, never a panic or a runaway allocation.
        #[test]
        fn random_bytes_never_panic(t in 0u8..16, bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = decode(t, &bytes, 0);
            let _ = read_frame(&bytes);
            let scan = crate::segment::scan(1, &bytes, 24);
            proptest::prop_assert!(scan.good_end >= 24 && scan.good_end <= 24 + bytes.len() as u64);
        }

        /// A valid record with one byte changed is rejected by its crc.
        #[test]
        fn any_single_byte_change_is_caught(id in 0u32..1000, at in 4usize..13, x in 1u8..=255) {
            let mut e = Encoder::new();
            e.record(&Record::Delete { id });
            let mut b = e.buf.clone();
            b[at] ^= x;
            let good = matches!(read_frame(&b), Frame::Good { .. });
            proptest::prop_assert!(!good, "changed byte {} went unnoticed", at);
        }
    }
}
