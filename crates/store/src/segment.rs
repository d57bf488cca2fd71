//! Segment files: naming, the 24-byte header, whole-file reads and the
//! record scan shared by replay, recovery, verify and compaction.

use std::path::{Path, PathBuf};

use glommio::io::BufferedFile;

use crate::error::{Result, StoreError};
use crate::record::{FRAME_HEADER, Frame, read_frame};

pub const SEG_MAGIC: [u8; 8] = *b"PCSTSEG1";
pub const SEG_VERSION: u32 = 1;
pub const SEG_HEADER: u64 = 24;

pub fn seg_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("seg-{id:08}.log"))
}

/// Where compaction writes a segment's replacement before the rename.
pub fn compact_tmp_path(dir: &Path) -> PathBuf {
    dir.join("compact.tmp")
}

pub fn encode_header(id: u32, generation: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(SEG_HEADER as usize);
    h.extend_from_slice(&SEG_MAGIC);
    h.extend_from_slice(&SEG_VERSION.to_le_bytes());
    h.extend_from_slice(&id.to_le_bytes());
    h.extend_from_slice(&generation.to_le_bytes());
    let crc = crc32fast::hash(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

/// Parse a segment header; returns its generation.
pub fn decode_header(buf: &[u8], id: u32) -> Result<u32> {
    let bad = |reason: &str| StoreError::Corrupt {
        segment: id,
        offset: 0,
        reason: reason.into(),
    };
    let h = buf
        .get(..SEG_HEADER as usize)
        .ok_or_else(|| bad("segment shorter than its header"))?;
    if h[..8] != SEG_MAGIC {
        return Err(bad("bad segment magic"));
    }
    let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    if crc32fast::hash(&h[..20]) != word(20) {
        return Err(bad("segment header crc mismatch"));
    }
    if word(8) != SEG_VERSION {
        return Err(bad("unsupported segment version"));
    }
    if word(12) != id {
        return Err(bad("segment id does not match its file name"));
    }
    Ok(word(16))
}

/// Read `len` bytes from `off` (short only at end of file).
pub async fn read_exact_at(file: &BufferedFile, off: u64, len: usize) -> Result<Vec<u8>> {
    const CHUNK: usize = 8 << 20;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let want = (len - out.len()).min(CHUNK);
        let got = file.read_at(off + out.len() as u64, want).await?;
        if got.is_empty() {
            break;
        }
        out.extend_from_slice(&got);
    }
    Ok(out)
}

/// Write all of `buf` at `off`. The buffer is handed to the kernel without
/// a copy; a short write on a regular file only happens when the disk is
/// full or failing, so it is reported as an error (the caller stops using
/// the log) rather than retried.
pub async fn write_all_at(file: &BufferedFile, buf: Vec<u8>, off: u64) -> Result<()> {
    let len = buf.len();
    if len == 0 {
        return Ok(());
    }
    let n = file.write_at(buf, off).await?;
    if n != len {
        return Err(StoreError::Io(std::io::Error::new(
            std::io::ErrorKind::WriteZero,
            format!("short write: {n} of {len} bytes at offset {off}"),
        )));
    }
    Ok(())
}

/// One good record found by a scan.
pub struct Scanned {
    pub off: u64,
    pub rtype: u8,
    pub payload_off: u64,
    pub payload_len: usize,
}

/// A record that failed its framing or crc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    pub segment: u32,
    pub offset: u64,
    pub reason: String,
    /// True when nothing valid follows it: a torn tail, not corruption.
    pub torn_tail: bool,
}

pub struct Scan {
    pub records: Vec<Scanned>,
    /// End of the last good record.
    pub good_end: u64,
    pub bad: Option<BadRecord>,
}

/// Scan records in `buf` (the file's bytes from `base`) until the end or the
/// first bad frame.
pub fn scan(seg: u32, buf: &[u8], base: u64) -> Scan {
    let mut pos = 0usize;
    let mut records = Vec::new();
    while pos < buf.len() {
        let rest = &buf[pos..];
        match read_frame(rest) {
            Frame::Good { rtype, payload } => {
                records.push(Scanned {
                    off: base + pos as u64,
                    rtype,
                    payload_off: base + (pos + FRAME_HEADER) as u64,
                    payload_len: payload.len(),
                });
                pos += FRAME_HEADER + payload.len();
            }
            Frame::Short => {
                return Scan {
                    records,
                    good_end: base + pos as u64,
                    bad: Some(BadRecord {
                        segment: seg,
                        offset: base + pos as u64,
                        reason: "truncated record".into(),
                        torn_tail: true,
                    }),
                };
            }
            Frame::BadCrc { len } => {
                // A good frame right after the damaged one means this is not
                // a torn write at the end but damage in the middle.
                let next = pos + FRAME_HEADER + len as usize;
                let followed = buf
                    .get(next..)
                    .is_some_and(|r| matches!(read_frame(r), Frame::Good { .. }));
                return Scan {
                    records,
                    good_end: base + pos as u64,
                    bad: Some(BadRecord {
                        segment: seg,
                        offset: base + pos as u64,
                        reason: "crc mismatch".into(),
                        torn_tail: !followed,
                    }),
                };
            }
        }
    }
    Scan {
        records,
        good_end: base + pos as u64,
        bad: None,
    }
}
