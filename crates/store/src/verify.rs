//! The verify pass (every record's framing and crc, and index against
//! log) and store statistics.

use crate::error::{Result, StoreError};
use crate::index::Index;
use crate::segment::{self, BadRecord, SEG_HEADER, read_exact_at};
use crate::store::{Store, replay_bytes};
use crate::types::*;

impl Store {
    /// Read every record of every segment and check framing and crc; then
    /// replay the log from scratch and compare with the live index. Bad
    /// records are reported, never skipped silently.
    pub async fn verify(&self) -> Result<VerifyReport> {
        let (segs, end) = {
            let st = self.state()?;
            (
                st.segs.keys().copied().collect::<Vec<u32>>(),
                (st.wal.cur_seg, st.wal.next_ticket),
            )
        };
        self.wait(end.1, false).await?;
        let (live, limit) = {
            let st = self.inner.st.borrow();
            let mut ix = st.ix.clone();
            ix.make_all_visible();
            (ix, (st.wal.cur_seg, st.wal.end))
        };
        let mut report = VerifyReport {
            segments: segs.len() as u32,
            ..Default::default()
        };
        let mut ix = Index::new();
        for seg in segs {
            let f = self.file(seg).await?;
            let size = if seg == limit.0 {
                limit.1
            } else {
                f.file_size().await?
            };
            let buf = read_exact_at(&f, 0, size as usize).await?;
            if let Err(StoreError::Corrupt {
                segment,
                offset,
                reason,
            }) = segment::decode_header(&buf, seg)
            {
                report.bad.push(BadRecord {
                    segment,
                    offset,
                    reason,
                    torn_tail: false,
                });
                continue;
            }
            let mut pos = SEG_HEADER as usize;
            while pos < buf.len() {
                let scan = replay_bytes(&mut ix, seg, &buf[pos..], pos as u64)?;
                report.records += scan.records.len() as u64;
                let Some(bad) = scan.bad else { break };
                // Skip the damaged frame when its length leads to a good
                // frame; otherwise the rest of the segment is unreadable.
                let at = bad.offset as usize;
                report.bad.push(bad);
                let next = buf
                    .get(at..at + 4)
                    .map(|l| at + 9 + u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize);
                match next {
                    Some(n)
                        if n < buf.len()
                            && matches!(
                                crate::record::read_frame(&buf[n..]),
                                crate::record::Frame::Good { .. }
                            ) =>
                    {
                        pos = n
                    }
                    _ => break,
                }
            }
        }
        ix.make_all_visible();
        ix.next_uidvalidity = ix.next_uidvalidity.max(live.next_uidvalidity);
        report.index_matches = report.bad.is_empty() && ix == live;
        Ok(report)
    }

    /// Segment files and how much of them is live.
    pub async fn space(&self) -> Result<Space> {
        let (segs, live_bytes) = {
            let st = self.state()?;
            let mut seen = std::collections::HashSet::new();
            let mut live = 0u64;
            for mb in st.ix.mailboxes.values() {
                let m = &mb.msgs;
                for (i, l) in m.loc.iter().enumerate() {
                    if seen.insert(*l) {
                        live += m.size[i] as u64 + m.facts_len[i] as u64;
                    }
                }
            }
            (st.segs.keys().copied().collect::<Vec<u32>>(), live)
        };
        let mut log_bytes = 0;
        for seg in &segs {
            log_bytes += self.file(*seg).await?.file_size().await?;
        }
        Ok(Space {
            segments: segs.len() as u32,
            log_bytes,
            live_bytes,
        })
    }

    /// Heap bytes of the message index (all mailboxes).
    pub fn index_heap_bytes(&self) -> usize {
        self.inner.st.borrow().ix.heap_bytes()
    }

    /// Total messages over all mailboxes (visible or pending).
    pub fn total_messages(&self) -> usize {
        self.inner
            .st
            .borrow()
            .ix
            .mailboxes
            .values()
            .map(|m| m.msgs.len())
            .sum()
    }

    /// How the last open went (checkpoint used, records replayed, tail cut).
    pub fn open_info(&self) -> OpenInfo {
        self.inner.open_info
    }

    /// Log fdatasyncs issued since open.
    pub fn sync_count(&self) -> u64 {
        self.inner.syncs.get()
    }

    /// Segment files currently held open.
    pub fn open_segment_files(&self) -> usize {
        self.inner.st.borrow().files.len()
    }

    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.inner.st.borrow().segs.len()
    }
}
