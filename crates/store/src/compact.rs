//! Compaction: rewriting sealed segments without their dead messages,
//! crash-safely (steps documented on `compact_segment`).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use glommio::io::{BufferedFile, OpenOptions};

use crate::error::Result;
use crate::index::{pack_loc, unpack_loc};
use crate::record::{AppendMsg, Encoder, NewMsg, Record, T_APPEND, T_APPEND2, T_PAD, decode};
use crate::segment::{self, SEG_HEADER, read_exact_at, seg_path, write_all_at};
use crate::store::{Store, corrupt, sync_dir};

impl Store {
    /// Rewrite every sealed segment that holds dead bytes. Returns the
    /// number of segments rewritten.
    pub async fn compact(&self) -> Result<usize> {
        self.compact_with_ratio(0.0).await
    }

    #[doc(hidden)]
    /// Test hook: make compaction stop after step `n` (1..=6) as if the
    /// process died there. See docs/architecture.md for the steps.
    pub fn set_compact_stop_after(&self, n: Option<u8>) {
        self.inner.compact_stop_after.set(n);
    }

    pub(crate) fn stop_at(&self, step: u8) -> bool {
        self.inner
            .compact_stop_after
            .get()
            .is_some_and(|s| s <= step)
    }

    pub(crate) async fn compact_with_ratio(&self, ratio: f64) -> Result<usize> {
        let (candidates, ticket) = {
            let st = self.state()?;
            let c: Vec<u32> = st
                .segs
                .keys()
                .copied()
                .filter(|s| *s < st.wal.cur_seg)
                .collect();
            (c, st.wal.next_ticket)
        };
        // A segment sealed by the queue may still have records waiting to be
        // written; everything queued before now goes to these segments or
        // the current one, so once it is synced they are final.
        self.wait(ticket, true).await?;
        let mut done = 0;
        for seg in candidates {
            if self.compact_segment(seg, ratio).await? {
                done += 1;
            }
            if self.inner.compact_stop_after.get().is_some() && done > 0 {
                break;
            }
        }
        Ok(done)
    }

    /// Compaction of one segment. Steps (crash-safe after each):
    /// 1 write the live records to `compact.tmp` and fdatasync it;
    /// 2 fsync the directory; 3 rename over the segment; 4 fsync the
    /// directory; 5 switch the index to the new offsets; 6 checkpoint.
    /// Until 3 the old segment is authoritative; from 3 on the new one is,
    /// and its bumped generation makes an older checkpoint stale.
    pub(crate) async fn compact_segment(&self, seg: u32, ratio: f64) -> Result<bool> {
        let (live, live_bytes, generation) = {
            let st = self.state()?;
            let mut live: HashSet<u64> = HashSet::new();
            let mut live_bytes = 0u64;
            for mb in st.ix.mailboxes.values() {
                let m = &mb.msgs;
                for (i, l) in m.loc.iter().enumerate() {
                    if unpack_loc(*l).0 == seg && live.insert(*l) {
                        live_bytes += m.size[i] as u64 + m.facts_len[i] as u64;
                    }
                }
            }
            (live, live_bytes, st.segs.get(&seg).copied().unwrap_or(0))
        };
        let f = self.file(seg).await?;
        let size = f.file_size().await?;
        // The message bytes still referenced bound the dead bytes from
        // above: skip segments that cannot pass the threshold without
        // reading them.
        if ratio > 0.0 && (size.saturating_sub(live_bytes) as f64) < ratio * size as f64 {
            return Ok(false);
        }
        let buf = read_exact_at(&f, 0, size as usize).await?;
        let scan = segment::scan(
            seg,
            buf.get(SEG_HEADER as usize..).unwrap_or(&[]),
            SEG_HEADER,
        );
        if scan.bad.is_some() {
            tracing::warn!(
                segment = seg,
                "not compacting a segment with bad records; run verify"
            );
            return Ok(false);
        }
        let mut out = segment::encode_header(seg, generation + 1);
        let mut remap: HashMap<u64, u64> = HashMap::new();
        let mut dropped = 0u64;
        for r in &scan.records {
            // In bounds: the scan only yields frames inside `buf`, and
            // decode only yields bodies inside their payload.
            let frame = &buf[r.off as usize..r.payload_off as usize + r.payload_len];
            if r.rtype == T_PAD {
                // A quarantined record: compaction is where its bytes go.
                dropped += 1;
                continue;
            }
            if r.rtype != T_APPEND && r.rtype != T_APPEND2 {
                out.extend_from_slice(frame);
                continue;
            }
            let payload = &buf[r.payload_off as usize..][..r.payload_len];
            let Ok(Record::Append { mailbox, msgs }) = decode(r.rtype, payload, r.payload_off)
            else {
                return Err(corrupt(seg, r.off, "undecodable append record"));
            };
            let keep: Vec<&AppendMsg> = msgs
                .iter()
                .filter(|m| live.contains(&pack_loc(seg, m.raw_off)))
                .collect();
            // A type-6 record is always rewritten as type 12: its messages'
            // ids are their locations, which this rewrite is about to change.
            let legacy = r.rtype == T_APPEND;
            if keep.len() == msgs.len() && !legacy {
                let base = out.len() as u64;
                for m in &msgs {
                    remap.insert(m.raw_off, base + (m.raw_off - r.off));
                }
                out.extend_from_slice(frame);
                continue;
            }
            dropped += (msgs.len() - keep.len()) as u64;
            if legacy {
                // Counts as work even when nothing is dropped: the ids
                // become explicit.
                dropped += 1;
            }
            if keep.is_empty() {
                continue;
            }
            let bodies: Vec<(&[u8], &[u8])> = keep
                .iter()
                .map(|m| {
                    let raw = &buf[m.raw_off as usize..][..m.raw_len as usize];
                    let facts =
                        &buf[(m.raw_off + m.raw_len as u64) as usize..][..m.facts_len as usize];
                    (raw, facts)
                })
                .collect();
            let news: Vec<NewMsg<'_>> = keep
                .iter()
                .zip(&bodies)
                .map(|(m, (raw, facts))| NewMsg {
                    uid: m.uid,
                    modseq: m.modseq,
                    date: m.date,
                    flags: m.flags,
                    keywords: &m.keywords,
                    raw,
                    facts,
                    email_id: if m.email_id == 0 {
                        pack_loc(seg, m.raw_off)
                    } else {
                        m.email_id
                    },
                    thread_id: match (m.thread_id, m.email_id) {
                        (0, 0) => pack_loc(seg, m.raw_off),
                        (0, e) => e,
                        (t, _) => t,
                    },
                    save_date: m.save_date,
                    msgid: m.msgid,
                })
                .collect();
            let mut e = Encoder::new();
            let offs = e.append(mailbox, &news);
            let base = out.len() as u64;
            for (m, o) in keep.iter().zip(offs) {
                remap.insert(m.raw_off, base + o as u64);
            }
            out.extend_from_slice(&e.buf);
        }
        let dead = size.saturating_sub(out.len() as u64);
        if dropped == 0 || (dead as f64) < ratio * size as f64 {
            return Ok(false);
        }

        let dir = &self.inner.dir;
        let tmp = segment::compact_tmp_path(dir);
        let t = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .buffered_open(&tmp)
            .await?;
        write_all_at(&t, out, 0).await?;
        t.fdatasync().await?;
        t.close().await?;
        if self.stop_at(1) {
            return Ok(true);
        }
        sync_dir(dir).await?;
        if self.stop_at(2) {
            return Ok(true);
        }
        {
            let mut st = self.inner.st.borrow_mut();
            st.compacting = Some(seg);
            st.files.entry(seg).or_insert_with(|| f.clone());
        }
        glommio::io::rename(&tmp, seg_path(dir, seg)).await?;
        if self.stop_at(3) {
            return Ok(true);
        }
        sync_dir(dir).await?;
        if self.stop_at(4) {
            return Ok(true);
        }
        let newf = Rc::new(BufferedFile::open(seg_path(dir, seg)).await?);
        {
            // One synchronous step: readers see old offsets + old file or
            // new offsets + new file, never a mix.
            let mut st = self.inner.st.borrow_mut();
            for mb in st.ix.mailboxes.values_mut() {
                for l in mb.msgs.loc.iter_mut() {
                    let (s, o) = unpack_loc(*l);
                    if s == seg
                        && let Some(n) = remap.get(&o)
                    {
                        *l = pack_loc(seg, *n);
                    }
                }
            }
            st.segs.insert(seg, generation + 1);
            st.files.insert(seg, newf);
            st.compacting = None;
        }
        if self.stop_at(5) {
            return Ok(true);
        }
        self.checkpoint().await?;
        if let Some(o) = &self.inner.cfg.observer {
            o.compacted(dead);
        }
        tracing::info!(
            segment = seg,
            bytes_before = size,
            bytes_after = size - dead,
            "compacted segment"
        );
        Ok(true)
    }
}
