//! Offline check and repair of a store's log (`postcore check`). A store
//! with a damaged record in the middle of its log refuses to open, so the
//! scan here reads the segment files directly; repair copies each damaged
//! byte range to `quarantine/` and overwrites it in place with a pad record
//! of the same length, which keeps every later offset valid, then drops the
//! checkpoint so the next open rebuilds the index from the log.

use std::path::{Path, PathBuf};

use glommio::io::{BufferedFile, OpenOptions};

use crate::checkpoint;
use crate::error::Result;
use crate::lock;
use crate::record::{Frame, decode, pad_frame, read_frame};
use crate::segment::{self, SEG_HEADER, read_exact_at, seg_path, write_all_at};
use crate::store::sync_dir;

/// A damaged byte range of one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub segment: u32,
    pub offset: u64,
    /// Bytes up to the next good record (or the end of the segment).
    pub len: u64,
    pub reason: String,
    /// Nothing good follows in the newest segment: an interrupted write
    /// that opening truncates by itself, not corruption.
    pub torn_tail: bool,
}

/// What a scan of the whole log found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogScan {
    pub segments: u32,
    pub records: u64,
    pub bytes: u64,
    pub damage: Vec<Damage>,
}

impl LogScan {
    /// Damage that repair must handle (torn tails heal on open).
    pub fn corrupt(&self) -> impl Iterator<Item = &Damage> {
        self.damage.iter().filter(|d| !d.torn_tail)
    }
}

/// What a repair did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repaired {
    pub quarantined: Vec<PathBuf>,
    pub bytes: u64,
    pub headers_rewritten: u32,
}

async fn segments(dir: &Path) -> Result<Vec<(u32, BufferedFile)>> {
    let mut out = Vec::new();
    for id in 1u32.. {
        match OpenOptions::new()
            .read(true)
            .write(true)
            .buffered_open(seg_path(dir, id))
            .await
        {
            Ok(f) => out.push((id, f)),
            Err(e) => {
                let e = std::io::Error::from(e);
                if e.kind() == std::io::ErrorKind::NotFound {
                    break;
                }
                return Err(e.into());
            }
        }
    }
    Ok(out)
}

/// A frame at `buf[at..]` that is whole, has a good crc and decodes.
fn good_at(buf: &[u8], at: usize) -> bool {
    match buf.get(at..).map(read_frame) {
        Some(Frame::Good { rtype, payload }) => decode(rtype, payload, at as u64).is_ok(),
        _ => false,
    }
}

/// Good records and damaged ranges of one segment's bytes (header included).
fn scan_segment(seg: u32, buf: &[u8], newest: bool) -> (u64, Vec<Damage>) {
    let mut records = 0u64;
    let mut damage = Vec::new();
    let mut pos = SEG_HEADER as usize;
    if segment::decode_header(buf, seg).is_err() {
        damage.push(Damage {
            segment: seg,
            offset: 0,
            len: SEG_HEADER,
            reason: "bad segment header".into(),
            torn_tail: false,
        });
    }
    while pos < buf.len() {
        let s = segment::scan(seg, &buf[pos..], pos as u64);
        records += s.records.len() as u64;
        let Some(bad) = s.bad else { break };
        let at = bad.offset as usize;
        // The next place a good record starts: where the damaged frame's own
        // length points, else the first offset that holds a good record
        // (a false match needs a crc32 collision and a decodable payload).
        let by_len = buf
            .get(at..at + 4)
            .map(|l| at + 9 + u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize)
            .filter(|n| *n < buf.len() && good_at(buf, *n));
        let next = by_len.or_else(|| (at + 1..buf.len()).find(|p| good_at(buf, *p)));
        let end = next.unwrap_or(buf.len());
        damage.push(Damage {
            segment: seg,
            offset: at as u64,
            len: (end - at) as u64,
            reason: bad.reason,
            torn_tail: newest && next.is_none(),
        });
        match next {
            Some(n) => pos = n,
            None => break,
        }
    }
    (records, damage)
}

impl crate::Store {
    /// Check framing and crc of every record of the store in `dir` without
    /// opening it. Takes the store's lock for the duration.
    pub async fn scan_log(dir: &Path) -> Result<LogScan> {
        let _lock = lock::acquire(dir).await?;
        let segs = segments(dir).await?;
        let mut report = LogScan {
            segments: segs.len() as u32,
            ..LogScan::default()
        };
        let newest = segs.last().map(|s| s.0);
        for (id, f) in segs {
            let size = f.file_size().await?;
            let buf = read_exact_at(&f, 0, size as usize).await?;
            let _ = f.close().await;
            let (records, damage) = scan_segment(id, &buf, Some(id) == newest);
            report.records += records;
            report.bytes += size;
            report.damage.extend(damage);
        }
        Ok(report)
    }

    /// Quarantine every damaged range [`Store::scan_log`] reports (torn
    /// tails are left to the next open, which truncates them) and remove the
    /// checkpoint, so the next open rebuilds the index from the log.
    pub async fn repair_log(dir: &Path) -> Result<Repaired> {
        let scan = Self::scan_log(dir).await?;
        let _lock = lock::acquire(dir).await?;
        let qdir = dir.join("quarantine");
        let mut out = Repaired::default();
        let bad: Vec<&Damage> = scan.corrupt().collect();
        if !bad.is_empty() && glommio::io::Directory::open(&qdir).await.is_err() {
            glommio::io::Directory::create(&qdir).await?;
        }
        for d in bad {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .buffered_open(seg_path(dir, d.segment))
                .await?;
            let bytes = read_exact_at(&f, d.offset, d.len as usize).await?;
            // The damaged bytes are kept (and durable) before they are
            // overwritten: a repair never destroys the only copy.
            let qpath = qdir.join(format!("seg-{:08}-{}.bin", d.segment, d.offset));
            let q = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .buffered_open(&qpath)
                .await?;
            write_all_at(&q, bytes, 0).await?;
            q.fdatasync().await?;
            q.close().await?;
            sync_dir(&qdir).await?;
            if d.offset == 0 && d.len == SEG_HEADER {
                write_all_at(&f, segment::encode_header(d.segment, 0), 0).await?;
                out.headers_rewritten += 1;
            } else if let Some(pad) = pad_frame(d.len as usize) {
                write_all_at(&f, pad, d.offset).await?;
            } else {
                // Too short for a frame: only possible at the very end.
                f.truncate(d.offset).await?;
            }
            f.fdatasync().await?;
            f.close().await?;
            out.bytes += d.len;
            out.quarantined.push(qpath);
        }
        let _ = glommio::io::remove(checkpoint::ckpt_path(dir)).await;
        sync_dir(dir).await?;
        Ok(out)
    }

    /// Remove the checkpoint, so the next open rebuilds the index from the
    /// log alone (`check --repair` when the index disagrees with the log).
    pub async fn drop_checkpoint(dir: &Path) -> Result<()> {
        let _lock = lock::acquire(dir).await?;
        let _ = glommio::io::remove(checkpoint::ckpt_path(dir)).await;
        sync_dir(dir).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Encoder, Record};

    fn seg_with(records: &[Record]) -> Vec<u8> {
        let mut b = segment::encode_header(1, 0);
        let mut e = Encoder::new();
        for r in records {
            e.record(r);
        }
        b.extend_from_slice(&e.buf);
        b
    }

    fn sub(name: &str) -> Record {
        Record::Subscribe {
            on: true,
            name: name.into(),
        }
    }

    #[test]
    fn a_flipped_byte_is_one_damaged_record_and_the_rest_counts() {
        let mut b = seg_with(&[sub("a"), sub("bb"), sub("ccc")]);
        let first_len = 9 + 1 + 2 + 1;
        let second = SEG_HEADER as usize + first_len;
        b[second + 11] ^= 0xff; // inside the second record's payload
        let (records, damage) = scan_segment(1, &b, true);
        assert_eq!(records, 2);
        assert_eq!(damage.len(), 1);
        assert_eq!(damage[0].offset, second as u64);
        assert_eq!(damage[0].len, 9 + 1 + 2 + 2);
        assert!(!damage[0].torn_tail);
    }

    #[test]
    fn a_broken_length_resyncs_on_the_next_good_record() {
        let mut b = seg_with(&[sub("a"), sub("bb"), sub("ccc")]);
        let second = SEG_HEADER as usize + 13;
        b[second + 2] = 0x7f; // length now points far away
        let (records, damage) = scan_segment(1, &b, true);
        assert_eq!(records, 2, "{damage:?}");
        assert_eq!(damage.len(), 1);
        assert_eq!(damage[0].len, 14);
    }

    #[test]
    fn a_cut_last_record_is_a_torn_tail() {
        let b = seg_with(&[sub("a"), sub("bb")]);
        let (records, damage) = scan_segment(1, &b[..b.len() - 3], true);
        assert_eq!(records, 1);
        assert!(damage[0].torn_tail);
        let (_, older) = scan_segment(1, &b[..b.len() - 3], false);
        assert!(!older[0].torn_tail, "only the newest segment can be torn");
    }

    #[test]
    fn pads_replace_damage_exactly() {
        let mut b = seg_with(&[sub("a"), sub("bb"), sub("ccc")]);
        let second = SEG_HEADER as usize + 13;
        b[second + 11] ^= 0xff;
        let (_, damage) = scan_segment(1, &b, true);
        let pad = pad_frame(damage[0].len as usize).expect("pad");
        b[second..second + pad.len()].copy_from_slice(&pad);
        let (records, damage) = scan_segment(1, &b, true);
        assert_eq!((records, damage.len()), (3, 0));
        assert!(pad_frame(8).is_none());
    }
}
