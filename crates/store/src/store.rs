//! The store handle: opening and recovery, the group-commit write path, and
//! every operation the protocols need.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use glommio::io::{BufferedFile, Directory, DmaFile, OpenOptions, ReadResult};

use crate::checkpoint;
use crate::config::{FlagSync, KEYWORDS_CEILING, StoreConfig};
use crate::error::{Result, StoreError};
use crate::event::Event;
use crate::flags::{Flags, KeywordSet};
use crate::index::{Index, Mailbox, pack_loc, uid_ranges, unpack_loc};
use crate::record::{AppendMsg, Encoder, NewMsg, Record, T_APPEND, decode};
use crate::segment::{self, BadRecord, SEG_HEADER, Scan, read_exact_at, seg_path, write_all_at};
use crate::types::*;

pub const INBOX: &str = "INBOX";
const PROBE_FILE: &str = "probe.blk";
const PROBE_SIZE: usize = 4096;

/// One user's message store. Cheap to clone (an `Rc`); `!Send`: it lives on
/// the user's home shard and all that user's sessions share it.
#[derive(Clone)]
pub struct Store {
    inner: Rc<Inner>,
}

struct Inner {
    dir: PathBuf,
    cfg: StoreConfig,
    st: RefCell<State>,
    /// Fired after every flush of the log.
    flushed: Event,
    /// Fired after every change readers can see.
    changed: Event,
    bg_busy: Cell<bool>,
    bg_done: Event,
    /// Test hook: compaction stops (as if the process died) after this step.
    compact_stop_after: Cell<Option<u8>>,
    open_info: OpenInfo,
    /// fdatasync calls on segments (group commit makes this < appends).
    syncs: Cell<u64>,
}

struct State {
    ix: Index,
    wal: Wal,
    /// Segment id -> generation (bumped by each compaction of the segment).
    segs: BTreeMap<u32, u32>,
    files: HashMap<u32, Rc<BufferedFile>>,
    since_records: u64,
    since_bytes: u64,
    expunged_bytes: u64,
    /// Segment being compacted: its pre-rename handle must stay cached
    /// until the index switches to the new offsets.
    compacting: Option<u32>,
    poisoned: bool,
    closed: bool,
}

struct Chunk {
    seg: u32,
    off: u64,
    bytes: Vec<u8>,
}

/// The single writer path: records are serialized into `chunks` in the
/// order operations are applied, and written + synced in batches.
struct Wal {
    cur_seg: u32,
    end: u64,
    chunks: Vec<Chunk>,
    next_ticket: u64,
    written: u64,
    synced: u64,
    need_sync: bool,
    /// (mailbox, uid) to make visible once the pending batch is durable.
    commits: Vec<(u32, u32)>,
    flushing: bool,
    unsynced: Vec<u32>,
}

fn corrupt(segment: u32, offset: u64, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        segment,
        offset,
        reason: reason.into(),
    }
}

fn now_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().min(u32::MAX as u64 - 1) as u32)
        .unwrap_or(1)
}

/// Replay the records in `buf` (segment bytes starting at `base`) into `ix`.
fn replay_bytes(ix: &mut Index, seg: u32, buf: &[u8], base: u64) -> Result<Scan> {
    let scan = segment::scan(seg, buf, base);
    for r in &scan.records {
        let start = (r.payload_off - base) as usize;
        let payload = buf
            .get(start..start + r.payload_len)
            .ok_or_else(|| corrupt(seg, r.off, "record out of bounds"))?;
        let rec = decode(r.rtype, payload, r.payload_off)
            .map_err(|e| corrupt(seg, r.off, e.to_string()))?;
        ix.apply(&rec, seg);
    }
    Ok(scan)
}

/// Bytes of a message: a view into the read buffer, no copy.
pub struct MessageBytes(ReadResult);

impl std::ops::Deref for MessageBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for MessageBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Check and normalize a mailbox name (`INBOX` is case-insensitive).
fn normalize_name(name: &str, max: usize) -> Result<String> {
    let bad = || StoreError::InvalidName(name.to_owned());
    if name.is_empty()
        || name.len() > max
        || name.starts_with('/')
        || name.ends_with('/')
        || name.contains("//")
    {
        return Err(bad());
    }
    if name.chars().any(|c| c.is_control() || c == '*' || c == '%') {
        return Err(bad());
    }
    let first = name.split('/').next().unwrap_or(name);
    if first.eq_ignore_ascii_case(INBOX) {
        return Ok(format!("{INBOX}{}", &name[first.len()..]));
    }
    Ok(name.to_owned())
}

fn valid_keyword(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 128
        && !k.starts_with('\\')
        && k.bytes()
            .all(|b| b > 0x20 && b < 0x7f && !b"(){%*\"\\]".contains(&b))
}

/// Visible message indices of `mb` whose UIDs fall in `ranges`.
fn select(mb: &Mailbox, ranges: &[(u32, u32)]) -> Vec<usize> {
    let vis = &mb.msgs.uid[..mb.visible_len()];
    let mut out = Vec::new();
    for (lo, hi) in ranges {
        let (lo, hi) = ((*lo).min(*hi), (*lo).max(*hi));
        let a = vis.partition_point(|u| *u < lo);
        let b = vis.partition_point(|u| *u <= hi);
        out.extend(a..b);
    }
    out.sort_unstable();
    out.dedup();
    out
}

impl Store {
    /// Open (or create) the store in `dir`: recover the log, load the
    /// checkpoint and replay the tail after it. Creates INBOX in a new store.
    pub async fn open(dir: impl AsRef<Path>, cfg: StoreConfig) -> Result<Store> {
        let dir = dir.as_ref().to_path_buf();
        if cfg.max_keywords > KEYWORDS_CEILING {
            return Err(StoreError::Limit("max_keywords above 4096"));
        }
        create_dirs(&dir).await?;
        probe_dma(&dir).await?;
        checkpoint::remove_tmp(&dir).await;
        let _ = glommio::io::remove(segment::compact_tmp_path(&dir)).await;

        // Segments are numbered densely from 1: probe names until one is missing.
        let mut found: Vec<(u32, Rc<BufferedFile>, u64)> = Vec::new();
        for id in 1u32.. {
            match OpenOptions::new()
                .read(true)
                .write(true)
                .buffered_open(seg_path(&dir, id))
                .await
            {
                Ok(f) => {
                    let size = f.file_size().await?;
                    found.push((id, Rc::new(f), size));
                }
                Err(e) => {
                    let e = std::io::Error::from(e);
                    if e.kind() == std::io::ErrorKind::NotFound {
                        break;
                    }
                    return Err(e.into());
                }
            }
        }

        let mut segs = BTreeMap::new();
        let last_id = found.last().map(|f| f.0);
        for (id, f, size) in &found {
            let head = read_exact_at(f, 0, SEG_HEADER as usize).await?;
            match segment::decode_header(&head, *id) {
                Ok(generation) => {
                    segs.insert(*id, generation);
                }
                Err(e) if Some(*id) == last_id => {
                    // A crash while creating the newest segment: acceptable
                    // only if nothing valid follows the header position.
                    let rest =
                        read_exact_at(f, SEG_HEADER, (*size).saturating_sub(SEG_HEADER) as usize)
                            .await?;
                    if !segment::scan(*id, &rest, SEG_HEADER).records.is_empty() {
                        return Err(e);
                    }
                    tracing::warn!(segment = id, "re-initialising torn segment header");
                    f.truncate(0).await?;
                    write_all_at(f, segment::encode_header(*id, 0), 0).await?;
                    f.fdatasync().await?;
                    segs.insert(*id, 0);
                }
                Err(e) => return Err(e),
            }
        }

        let sizes: HashMap<u32, u64> = found.iter().map(|f| (f.0, f.2)).collect();
        let loaded = checkpoint::load(&dir).await.filter(|l| {
            l.segments.iter().all(|(id, g)| segs.get(id) == Some(g))
                && sizes
                    .get(&l.log_segment)
                    .is_some_and(|s| l.log_offset <= *s && l.log_offset >= SEG_HEADER)
        });
        let mut info = OpenInfo {
            from_checkpoint: loaded.is_some(),
            ..OpenInfo::default()
        };
        let (mut ix, start_seg, start_off) = match loaded {
            Some(l) => (l.index, l.log_segment, l.log_offset),
            None => (Index::new(), 1, SEG_HEADER),
        };

        let mut end = SEG_HEADER;
        for (id, f, size) in &found {
            if *id < start_seg {
                continue;
            }
            let from = if *id == start_seg {
                start_off
            } else {
                SEG_HEADER
            };
            let buf = read_exact_at(f, from, size.saturating_sub(from) as usize).await?;
            let scan = replay_bytes(&mut ix, *id, &buf, from)?;
            info.replayed_records += scan.records.len() as u64;
            end = scan.good_end;
            if let Some(bad) = scan.bad {
                if Some(*id) == last_id && bad.torn_tail {
                    tracing::warn!(segment = id, offset = bad.offset, reason = %bad.reason, "torn log tail: truncating to the last good record");
                    f.truncate(scan.good_end).await?;
                    f.fdatasync().await?;
                    info.truncated_tail = Some((*id, scan.good_end));
                } else {
                    return Err(corrupt(bad.segment, bad.offset, bad.reason));
                }
            }
        }
        ix.make_all_visible();

        // Only the newest segment stays open; older ones are opened on
        // demand for reads, at most `max_open_segments` at a time.
        let mut files: HashMap<u32, Rc<BufferedFile>> = found
            .iter()
            .filter(|f| Some(f.0) == last_id)
            .map(|f| (f.0, f.1.clone()))
            .collect();
        let cur_seg = match last_id {
            Some(id) => id,
            None => {
                let f = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .buffered_open(seg_path(&dir, 1))
                    .await?;
                write_all_at(&f, segment::encode_header(1, 0), 0).await?;
                f.fdatasync().await?;
                sync_dir(&dir).await?;
                files.insert(1, Rc::new(f));
                segs.insert(1, 0);
                end = SEG_HEADER;
                1
            }
        };
        if ix.next_uidvalidity < now_secs() {
            ix.next_uidvalidity = now_secs();
        }

        let store = Store {
            inner: Rc::new(Inner {
                dir,
                cfg,
                st: RefCell::new(State {
                    ix,
                    wal: Wal {
                        cur_seg,
                        end,
                        chunks: Vec::new(),
                        next_ticket: 0,
                        written: 0,
                        synced: 0,
                        need_sync: false,
                        commits: Vec::new(),
                        flushing: false,
                        unsynced: Vec::new(),
                    },
                    segs,
                    files,
                    since_records: 0,
                    since_bytes: 0,
                    expunged_bytes: 0,
                    compacting: None,
                    poisoned: false,
                    closed: false,
                }),
                flushed: Event::default(),
                changed: Event::default(),
                bg_busy: Cell::new(false),
                bg_done: Event::default(),
                compact_stop_after: Cell::new(None),
                open_info: info,
                syncs: Cell::new(0),
            }),
        };
        if store.inner.st.borrow().ix.by_name(INBOX).is_none() {
            store.create_mailbox(INBOX, SpecialUse::None).await?;
        }
        Ok(store)
    }

    pub fn config(&self) -> &StoreConfig {
        &self.inner.cfg
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    // ------------------------------------------------------------ write path

    fn state(&self) -> Result<std::cell::RefMut<'_, State>> {
        let st = self.inner.st.borrow_mut();
        if st.closed {
            return Err(StoreError::Closed);
        }
        if st.poisoned {
            return Err(StoreError::Poisoned);
        }
        Ok(st)
    }

    /// Queue encoded records; returns (ticket, segment, offset of the bytes).
    fn enqueue(
        &self,
        st: &mut State,
        bytes: Vec<u8>,
        need_sync: bool,
        commit: Option<(u32, u32)>,
    ) -> (u64, u32, u64) {
        let len = bytes.len() as u64;
        let w = &mut st.wal;
        if w.end > SEG_HEADER && w.end + len > self.inner.cfg.segment_size {
            w.cur_seg += 1;
            st.segs.insert(w.cur_seg, 0);
            w.chunks.push(Chunk {
                seg: w.cur_seg,
                off: 0,
                bytes: segment::encode_header(w.cur_seg, 0),
            });
            w.end = SEG_HEADER;
        }
        let base = w.end;
        match w.chunks.last_mut() {
            Some(c) if c.seg == w.cur_seg && c.off + c.bytes.len() as u64 == base => {
                c.bytes.extend_from_slice(&bytes)
            }
            _ => w.chunks.push(Chunk {
                seg: w.cur_seg,
                off: base,
                bytes,
            }),
        }
        w.end += len;
        w.next_ticket += 1;
        w.need_sync |= need_sync;
        if let Some(c) = commit {
            w.commits.push(c);
        }
        st.since_records += 1;
        st.since_bytes += len;
        (st.wal.next_ticket, st.wal.cur_seg, base)
    }

    /// Encode, apply and queue one metadata record.
    fn submit(&self, st: &mut State, rec: &Record, need_sync: bool) -> u64 {
        let mut e = Encoder::new();
        e.record(rec);
        let (t, seg, _) = self.enqueue(st, e.buf, need_sync, None);
        st.ix.apply(rec, seg);
        t
    }

    /// Wait until record `ticket` is written (and synced if `need_sync`).
    /// The first waiter to find no flush running becomes the flusher and
    /// writes everything queued so far with one sync: group commit.
    async fn wait(&self, ticket: u64, need_sync: bool) -> Result<()> {
        enum Next {
            Done,
            Flush,
            Wait(u64),
        }
        let inner = &self.inner;
        loop {
            let next = {
                let mut st = inner.st.borrow_mut();
                if st.poisoned {
                    return Err(StoreError::Poisoned);
                }
                // `synced` is a high-water mark: a syncing flush syncs every
                // file written before it, so all tickets up to it are durable.
                let done = if need_sync {
                    st.wal.synced >= ticket
                } else {
                    st.wal.written >= ticket
                };
                if done {
                    Next::Done
                } else if !st.wal.flushing {
                    st.wal.flushing = true;
                    Next::Flush
                } else {
                    Next::Wait(inner.flushed.generation())
                }
            };
            match next {
                Next::Done => return Ok(()),
                Next::Wait(seen) => inner.flushed.wait_past(seen).await,
                Next::Flush => {
                    // Let tasks that are ready run first: writers released by
                    // the previous sync queue their next records and join
                    // this batch instead of waiting for the one after.
                    glommio::executor().yield_now().await;
                    let r = self.flush(need_sync).await;
                    {
                        let mut st = inner.st.borrow_mut();
                        st.wal.flushing = false;
                        if r.is_err() {
                            st.poisoned = true;
                        }
                    }
                    inner.flushed.notify();
                    r?;
                }
            }
        }
    }

    async fn flush(&self, force_sync: bool) -> Result<()> {
        let (chunks, last, need_sync, commits) = {
            let mut st = self.inner.st.borrow_mut();
            let w = &mut st.wal;
            let need = w.need_sync || force_sync;
            w.need_sync = false;
            (
                std::mem::take(&mut w.chunks),
                w.next_ticket,
                need,
                std::mem::take(&mut w.commits),
            )
        };
        let mut created = false;
        for c in chunks {
            if c.off == 0 {
                // Seal the previous segment before starting the next, so a
                // torn tail can only ever be in the newest segment.
                self.sync_unsynced().await?;
                let f = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .buffered_open(seg_path(&self.inner.dir, c.seg))
                    .await?;
                self.inner.st.borrow_mut().files.insert(c.seg, Rc::new(f));
                created = true;
            }
            let f = self.inner.st.borrow().files.get(&c.seg).cloned();
            let f = f.ok_or_else(|| corrupt(c.seg, c.off, "segment file missing"))?;
            write_all_at(&f, c.bytes, c.off).await?;
            let mut st = self.inner.st.borrow_mut();
            if !st.wal.unsynced.contains(&c.seg) {
                st.wal.unsynced.push(c.seg);
            }
        }
        if need_sync {
            self.sync_unsynced().await?;
        }
        if created {
            sync_dir(&self.inner.dir).await?;
        }
        let mut st = self.inner.st.borrow_mut();
        st.wal.written = last;
        if need_sync {
            st.wal.synced = last;
            for (mb, next) in commits {
                if let Some(m) = st.ix.mailboxes.get_mut(&mb) {
                    m.visible_uidnext = m.visible_uidnext.max(next);
                }
            }
        } else {
            // Only synced records carry commits; keep any for the next sync.
            st.wal.commits.extend(commits);
        }
        Ok(())
    }

    async fn sync_unsynced(&self) -> Result<()> {
        let files: Vec<Rc<BufferedFile>> = {
            let st = self.inner.st.borrow();
            st.wal
                .unsynced
                .iter()
                .filter_map(|s| st.files.get(s).cloned())
                .collect()
        };
        for f in files {
            f.fdatasync().await?;
            self.inner.syncs.set(self.inner.syncs.get() + 1);
        }
        self.inner.st.borrow_mut().wal.unsynced.clear();
        Ok(())
    }

    /// Wait for durability, then tell watchers and maybe start background work.
    async fn finish(&self, ticket: u64, need_sync: bool) -> Result<()> {
        self.wait(ticket, need_sync).await?;
        self.inner.changed.notify();
        self.maybe_background();
        Ok(())
    }

    fn need_flag_sync(&self) -> bool {
        self.inner.cfg.flag_sync == FlagSync::Always
    }

    // ------------------------------------------------------------ change notification

    /// A counter that moves whenever a change becomes visible.
    pub fn change_generation(&self) -> u64 {
        self.inner.changed.generation()
    }

    /// Resolves once something changed after `generation` was read (IDLE).
    pub async fn wait_change(&self, generation: u64) {
        self.inner.changed.wait_past(generation).await
    }

    // ------------------------------------------------------------ mailboxes

    pub fn mailbox_id(&self, name: &str) -> Option<MailboxId> {
        let name = normalize_name(name, self.inner.cfg.max_mailbox_name).ok()?;
        self.inner.st.borrow().ix.by_name.get(&name).copied()
    }

    pub fn mailbox_name(&self, id: MailboxId) -> Option<String> {
        self.inner
            .st
            .borrow()
            .ix
            .mailboxes
            .get(&id)
            .map(|m| m.name.clone())
    }

    /// Every mailbox, sorted by name.
    pub fn list(&self) -> Vec<MailboxInfo> {
        let st = self.inner.st.borrow();
        st.ix
            .by_name
            .iter()
            .filter_map(|(name, id)| {
                let mb = st.ix.mailboxes.get(id)?;
                let prefix = format!("{name}/");
                let has_children = st
                    .ix
                    .by_name
                    .range(prefix.clone()..)
                    .next()
                    .is_some_and(|(n, _)| n.starts_with(&prefix));
                Some(MailboxInfo {
                    id: *id,
                    name: name.clone(),
                    special_use: SpecialUse::from_u8(mb.special_use),
                    subscribed: st.ix.subscriptions.contains(name),
                    has_children,
                })
            })
            .collect()
    }

    /// Subscribed names (they need not exist).
    pub fn subscriptions(&self) -> Vec<String> {
        self.inner
            .st
            .borrow()
            .ix
            .subscriptions
            .iter()
            .cloned()
            .collect()
    }

    fn create_records(
        &self,
        st: &mut State,
        name: &str,
        special_use: SpecialUse,
        out: &mut Vec<Record>,
    ) -> Result<u32> {
        let mut parents: Vec<&str> = Vec::new();
        for (i, c) in name.char_indices() {
            if c == '/' {
                parents.push(&name[..i]);
            }
        }
        let mut missing: Vec<(String, u8)> = parents
            .into_iter()
            .filter(|p| {
                !st.ix.by_name.contains_key(*p)
                    && !out
                        .iter()
                        .any(|r| matches!(r, Record::Create { name: n, .. } if n == p))
            })
            .map(|p| (p.to_owned(), 0))
            .collect();
        missing.push((name.to_owned(), special_use.to_u8()));
        let pending = out
            .iter()
            .filter(|r| matches!(r, Record::Create { .. }))
            .count();
        if st.ix.mailboxes.len() + pending + missing.len() > self.inner.cfg.max_mailboxes {
            return Err(StoreError::Limit("too many mailboxes"));
        }
        let mut id = st.ix.next_mailbox_id;
        let mut uv = st.ix.next_uidvalidity.max(1);
        for r in out.iter() {
            if let Record::Create {
                id: i,
                uidvalidity: u,
                ..
            } = r
            {
                id = id.max(i + 1);
                uv = uv.max(u + 1);
            }
        }
        for (n, su) in missing {
            out.push(Record::Create {
                id,
                uidvalidity: uv,
                special_use: su,
                name: n,
            });
            id += 1;
            uv += 1;
        }
        Ok(id - 1)
    }

    /// Create a mailbox (and any missing parents). Returns its id.
    pub async fn create_mailbox(&self, name: &str, special_use: SpecialUse) -> Result<MailboxId> {
        let name = normalize_name(name, self.inner.cfg.max_mailbox_name)?;
        let (t, id) = {
            let mut st = self.state()?;
            if st.ix.by_name.contains_key(&name) {
                return Err(StoreError::MailboxExists(name));
            }
            let mut recs = Vec::new();
            let id = self.create_records(&mut st, &name, special_use, &mut recs)?;
            let rec = if recs.len() == 1 {
                recs.remove(0)
            } else {
                Record::Batch(recs)
            };
            (self.submit(&mut st, &rec, true), id)
        };
        self.finish(t, true).await?;
        Ok(id)
    }

    /// Delete a mailbox and its messages. INBOX cannot be deleted; a mailbox
    /// with children cannot either (delete the children first): postcore has
    /// no \Noselect placeholders.
    pub async fn delete_mailbox(&self, name: &str) -> Result<()> {
        let name = normalize_name(name, self.inner.cfg.max_mailbox_name)?;
        if name == INBOX {
            return Err(StoreError::CannotDeleteInbox);
        }
        let t = {
            let mut st = self.state()?;
            let id = *st
                .ix
                .by_name
                .get(&name)
                .ok_or_else(|| StoreError::NoSuchMailbox(name.clone()))?;
            let prefix = format!("{name}/");
            if st
                .ix
                .by_name
                .range(prefix.clone()..)
                .next()
                .is_some_and(|(n, _)| n.starts_with(&prefix))
            {
                return Err(StoreError::HasChildren(name));
            }
            let bytes: u64 = st.ix.mailboxes.get(&id).map(|m| m.total_size).unwrap_or(0);
            st.expunged_bytes += bytes;
            self.submit(&mut st, &Record::Delete { id }, true)
        };
        self.finish(t, true).await
    }

    /// Rename a mailbox and all its children (ids are kept). Renaming INBOX
    /// creates the new mailbox, moves INBOX's messages into it and leaves
    /// INBOX empty (its children stay where they are).
    pub async fn rename_mailbox(&self, from: &str, to: &str) -> Result<()> {
        let max = self.inner.cfg.max_mailbox_name;
        let from = normalize_name(from, max)?;
        let to = normalize_name(to, max)?;
        let t = {
            let mut st = self.state()?;
            let src = *st
                .ix
                .by_name
                .get(&from)
                .ok_or_else(|| StoreError::NoSuchMailbox(from.clone()))?;
            if st.ix.by_name.contains_key(&to) {
                return Err(StoreError::MailboxExists(to));
            }
            if to.starts_with(&format!("{from}/")) || (from == INBOX && to.starts_with("INBOX/")) {
                return Err(StoreError::InvalidName(to));
            }
            let mut recs = Vec::new();
            if from == INBOX {
                let dst = self.create_records(&mut st, &to, SpecialUse::None, &mut recs)?;
                for r in &recs {
                    st.ix.apply(r, 0);
                }
                let all = [(1, u32::MAX)];
                self.copy_locked(&mut st, src, &all, dst, true, recs)?.0
            } else {
                let prefix = format!("{from}/");
                let mut entries = vec![(src, to.clone())];
                for (n, id) in st.ix.by_name.range(prefix.clone()..) {
                    if !n.starts_with(&prefix) {
                        break;
                    }
                    let new = format!("{to}/{}", &n[prefix.len()..]);
                    if new.len() > max {
                        return Err(StoreError::InvalidName(new));
                    }
                    entries.push((*id, new));
                }
                for (_, n) in &entries[1..] {
                    if st.ix.by_name.contains_key(n) {
                        return Err(StoreError::MailboxExists(n.clone()));
                    }
                }
                // Parents of the new name that do not exist yet are created
                // first (a parent cannot be the mailbox being renamed: checked above).
                let mut parents = Vec::new();
                if let Some(pos) = to.rfind('/') {
                    let parent = &to[..pos];
                    if !st.ix.by_name.contains_key(parent) {
                        self.create_records(&mut st, parent, SpecialUse::None, &mut parents)?;
                    }
                }
                recs.extend(parents);
                recs.push(Record::Rename { entries });
                let rec = if recs.len() == 1 {
                    recs.remove(0)
                } else {
                    Record::Batch(recs)
                };
                self.submit(&mut st, &rec, true)
            }
        };
        self.finish(t, true).await
    }

    pub async fn subscribe(&self, name: &str, on: bool) -> Result<()> {
        let name = normalize_name(name, self.inner.cfg.max_mailbox_name)?;
        let t = {
            let mut st = self.state()?;
            if st.ix.subscriptions.contains(&name) == on {
                return Ok(());
            }
            if on && st.ix.subscriptions.len() >= self.inner.cfg.max_mailboxes {
                return Err(StoreError::Limit("too many subscriptions"));
            }
            self.submit(&mut st, &Record::Subscribe { on, name }, true)
        };
        self.finish(t, true).await
    }

    // ------------------------------------------------------------ reading

    fn with_mailbox<T>(&self, id: MailboxId, f: impl FnOnce(&Mailbox) -> T) -> Result<T> {
        let st = self.inner.st.borrow();
        let mb = st
            .ix
            .mailboxes
            .get(&id)
            .ok_or_else(|| StoreError::NoSuchMailbox(id.to_string()))?;
        Ok(f(mb))
    }

    pub fn status(&self, id: MailboxId) -> Result<Status> {
        self.with_mailbox(id, |mb| {
            let vis = mb.visible_len();
            let (mut unseen, mut deleted, mut size) = (mb.unseen, mb.deleted, mb.total_size);
            let mut min_hidden_modseq = u64::MAX;
            for i in vis..mb.msgs.len() {
                let f = Flags(mb.msgs.flags[i]);
                unseen = unseen.saturating_sub(u32::from(!f.contains(Flags::SEEN)));
                deleted = deleted.saturating_sub(u32::from(f.contains(Flags::DELETED)));
                size = size.saturating_sub(mb.msgs.size[i] as u64);
                min_hidden_modseq = min_hidden_modseq.min(mb.msgs.modseq[i]);
            }
            Status {
                messages: vis as u32,
                unseen,
                deleted,
                size,
                uidnext: mb.visible_uidnext,
                uidvalidity: mb.uidvalidity,
                highest_modseq: mb.highest_modseq.min(min_hidden_modseq.saturating_sub(1)),
            }
        })
    }

    fn info(mb: &Mailbox, i: usize) -> MessageInfo {
        MessageInfo {
            uid: mb.msgs.uid[i],
            flags: Flags(mb.msgs.flags[i]),
            keywords: mb.msgs.keywords(i),
            internal_date: mb.msgs.date[i],
            size: mb.msgs.size[i],
            modseq: mb.msgs.modseq[i],
        }
    }

    /// The visible messages of a mailbox, ordered by UID.
    pub fn snapshot(&self, id: MailboxId) -> Result<Snapshot> {
        let status = self.status(id)?;
        self.with_mailbox(id, |mb| Snapshot {
            id,
            uidvalidity: mb.uidvalidity,
            uidnext: status.uidnext,
            highest_modseq: status.highest_modseq,
            keywords: mb.keywords.clone(),
            messages: (0..mb.visible_len()).map(|i| Self::info(mb, i)).collect(),
        })
    }

    /// One message's metadata.
    pub fn message(&self, id: MailboxId, uid: u32) -> Result<MessageInfo> {
        self.with_mailbox(id, |mb| {
            select(mb, &[(uid, uid)])
                .first()
                .map(|i| Self::info(mb, *i))
        })?
        .ok_or(StoreError::NoSuchMessage(uid))
    }

    /// Messages whose MODSEQ is above `modseq` (CONDSTORE CHANGEDSINCE).
    pub fn changed_since(&self, id: MailboxId, modseq: u64) -> Result<Vec<MessageInfo>> {
        self.with_mailbox(id, |mb| {
            (0..mb.visible_len())
                .filter(|i| mb.msgs.modseq[*i] > modseq)
                .map(|i| Self::info(mb, i))
                .collect()
        })
    }

    /// UID ranges expunged with a MODSEQ above `modseq` (QRESYNC VANISHED).
    pub fn expunged_since(&self, id: MailboxId, modseq: u64) -> Result<Vec<(u32, u32)>> {
        self.with_mailbox(id, |mb| {
            let mut r: Vec<(u32, u32)> = mb
                .expunged
                .iter()
                .filter(|e| e.0 > modseq)
                .map(|e| (e.1, e.2))
                .collect();
            r.sort_unstable();
            let mut out: Vec<(u32, u32)> = Vec::with_capacity(r.len());
            for (lo, hi) in r {
                match out.last_mut() {
                    Some(l) if lo <= l.1.saturating_add(1) => l.1 = l.1.max(hi),
                    _ => out.push((lo, hi)),
                }
            }
            out
        })
    }

    async fn file(&self, seg: u32) -> Result<Rc<BufferedFile>> {
        if let Some(f) = self.inner.st.borrow().files.get(&seg) {
            return Ok(f.clone());
        }
        let f = Rc::new(BufferedFile::open(seg_path(&self.inner.dir, seg)).await?);
        let mut st = self.inner.st.borrow_mut();
        let f = st.files.entry(seg).or_insert(f).clone();
        let cap = self.inner.cfg.max_open_segments.max(2);
        if st.files.len() > cap {
            // Evict a sealed, synced segment that is not being compacted.
            // Dropping the handle closes it asynchronously; readers holding
            // a clone keep it open until they finish.
            let victim = st
                .files
                .keys()
                .copied()
                .filter(|s| {
                    *s != seg
                        && *s < st.wal.cur_seg
                        && !st.wal.unsynced.contains(s)
                        && st.compacting != Some(*s)
                })
                .min();
            if let Some(v) = victim {
                st.files.remove(&v);
            }
        }
        Ok(f)
    }

    /// Location of a visible message: (file, raw offset, size, facts length),
    /// taken in one borrow so compaction cannot swap them apart.
    async fn locate(&self, id: MailboxId, uid: u32) -> Result<(Rc<BufferedFile>, u64, u32, u32)> {
        loop {
            let (seg, off, size, flen) = self
                .with_mailbox(id, |mb| {
                    select(mb, &[(uid, uid)]).first().map(|i| {
                        let (s, o) = unpack_loc(mb.msgs.loc[*i]);
                        (s, o, mb.msgs.size[*i], mb.msgs.facts_len[*i])
                    })
                })?
                .ok_or(StoreError::NoSuchMessage(uid))?;
            if let Some(f) = self.inner.st.borrow().files.get(&seg) {
                return Ok((f.clone(), off, size, flen));
            }
            self.file(seg).await?;
        }
    }

    async fn read_at(f: &BufferedFile, off: u64, len: usize) -> Result<MessageBytes> {
        let r = f.read_at(off, len).await?;
        if r.len() != len {
            let seg = f
                .path()
                .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                .unwrap_or_default();
            let seg = seg.trim_start_matches("seg-").parse().unwrap_or(0);
            return Err(corrupt(seg, off, "message extends past end of segment"));
        }
        Ok(MessageBytes(r))
    }

    /// The whole raw message.
    pub async fn read_message(&self, id: MailboxId, uid: u32) -> Result<MessageBytes> {
        let (f, off, size, _) = self.locate(id, uid).await?;
        Self::read_at(&f, off, size as usize).await
    }

    /// `len` bytes of the message from `start` (clamped to the message).
    pub async fn read_range(
        &self,
        id: MailboxId,
        uid: u32,
        start: u32,
        len: u32,
    ) -> Result<MessageBytes> {
        let (f, off, size, _) = self.locate(id, uid).await?;
        let start = start.min(size);
        let len = len.min(size - start);
        if len == 0 {
            return Ok(MessageBytes(ReadResult::default()));
        }
        Self::read_at(&f, off + start as u64, len as usize).await
    }

    /// The message facts computed at append (ENVELOPE, BODYSTRUCTURE, ...).
    pub async fn facts(&self, id: MailboxId, uid: u32) -> Result<mime_facts::Facts> {
        let (f, off, size, flen) = self.locate(id, uid).await?;
        let b = Self::read_at(&f, off + size as u64, flen as usize).await?;
        mime_facts::Facts::from_bytes(&b).map_err(|e| StoreError::Facts(e.to_string()))
    }

    // ------------------------------------------------------------ messages

    /// Keyword ids for `names` in mailbox `mb`, defining new ones (records
    /// pushed into `defs`) up to the configured limit.
    fn keyword_ids(
        &self,
        mb: &Mailbox,
        names: &[String],
        defs: &mut Vec<Record>,
        strict: bool,
    ) -> Result<Vec<u16>> {
        let mut ids = Vec::with_capacity(names.len());
        for n in names {
            if !valid_keyword(n) {
                return Err(StoreError::InvalidKeyword(n.clone()));
            }
            if let Some(id) = mb.keyword_id(n) {
                ids.push(id);
                continue;
            }
            let known = defs.iter().find_map(|d| match d {
                Record::Keyword { id, name, .. } if name.eq_ignore_ascii_case(n) => Some(*id),
                _ => None,
            });
            if let Some(id) = known {
                ids.push(id);
                continue;
            }
            let next = mb.keywords.len() + defs.len();
            if next >= self.inner.cfg.max_keywords {
                if strict {
                    return Err(StoreError::Limit("too many keywords in mailbox"));
                }
                continue;
            }
            defs.push(Record::Keyword {
                mailbox: mb.id,
                id: next as u16,
                name: n.clone(),
            });
            ids.push(next as u16);
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// Append messages atomically (one record: MULTIAPPEND is all or
    /// nothing). Returns their UIDs once they are durable.
    pub async fn append(&self, id: MailboxId, msgs: &[NewMessage<'_>]) -> Result<Vec<u32>> {
        let cfg = &self.inner.cfg;
        if msgs.is_empty() {
            return Ok(Vec::new());
        }
        if msgs.len() > cfg.max_batch_messages {
            return Err(StoreError::Limit("too many messages in one append"));
        }
        let mut total = 0u64;
        for m in msgs {
            let size = m.raw.len() as u64;
            if size > cfg.max_message_size || size > u32::MAX as u64 {
                return Err(StoreError::TooBig {
                    size,
                    limit: cfg.max_message_size,
                });
            }
            total += size;
        }
        if total > u32::MAX as u64 / 2 {
            return Err(StoreError::Limit("append batch too large"));
        }
        // MIME parsing happens before touching the store state: CPU only.
        let facts: Vec<Vec<u8>> = msgs
            .iter()
            .map(|m| mime_facts::compute(m.raw).to_bytes())
            .collect();
        let (t, uids) = {
            let mut st = self.state()?;
            let mb = st
                .ix
                .mailboxes
                .get(&id)
                .ok_or_else(|| StoreError::NoSuchMailbox(id.to_string()))?;
            let first = mb.uidnext;
            if (first as u64) + msgs.len() as u64 >= u32::MAX as u64 {
                return Err(StoreError::Limit("uid space of mailbox exhausted"));
            }
            let modseq = mb.highest_modseq + 1;
            let mut defs = Vec::new();
            let mut kws = Vec::with_capacity(msgs.len());
            for m in msgs {
                kws.push(self.keyword_ids(mb, &m.keywords, &mut defs, true)?);
            }
            for d in &defs {
                self.submit(&mut st, d, true);
            }
            let news: Vec<NewMsg<'_>> = msgs
                .iter()
                .enumerate()
                .map(|(i, m)| NewMsg {
                    uid: first + i as u32,
                    modseq,
                    date: m.internal_date,
                    flags: m.flags.sanitized().0,
                    keywords: &kws[i],
                    raw: m.raw,
                    facts: &facts[i],
                })
                .collect();
            let mut e = Encoder::new();
            let offs = e.append(id, &news);
            let last = first + msgs.len() as u32 - 1;
            let (t, seg, base) = self.enqueue(&mut st, e.buf, true, Some((id, last + 1)));
            let rec = Record::Append {
                mailbox: id,
                msgs: news
                    .iter()
                    .zip(&offs)
                    .map(|(n, o)| AppendMsg {
                        uid: n.uid,
                        modseq,
                        date: n.date,
                        flags: n.flags,
                        keywords: n.keywords.to_vec(),
                        raw_off: base + *o as u64,
                        raw_len: n.raw.len() as u32,
                        facts_len: n.facts.len() as u32,
                    })
                    .collect(),
            };
            st.ix.apply(&rec, seg);
            (t, (first..=last).collect::<Vec<u32>>())
        };
        self.finish(t, true).await?;
        Ok(uids)
    }

    /// Change flags of the messages in `uids` (inclusive ranges). With
    /// `unchanged_since`, messages whose MODSEQ is above it are left alone
    /// and reported in `failed` (CONDSTORE).
    pub async fn store_flags(
        &self,
        id: MailboxId,
        uids: &[(u32, u32)],
        op: FlagOp,
        flags: Flags,
        keywords: &[String],
        unchanged_since: Option<u64>,
    ) -> Result<FlagResult> {
        let need_sync = self.need_flag_sync();
        let (t, result) = {
            let mut st = self.state()?;
            let mb = st
                .ix
                .mailboxes
                .get(&id)
                .ok_or_else(|| StoreError::NoSuchMailbox(id.to_string()))?;
            let mut defs = Vec::new();
            let kw_ids = if op == FlagOp::Remove {
                let mut v: Vec<u16> = Vec::new();
                for k in keywords {
                    if !valid_keyword(k) {
                        return Err(StoreError::InvalidKeyword(k.clone()));
                    }
                    v.extend(mb.keyword_id(k));
                }
                v
            } else {
                self.keyword_ids(mb, keywords, &mut defs, true)?
            };
            let flags = flags.sanitized();
            let modseq = mb.highest_modseq + 1;
            let mut result = FlagResult::default();
            let mut changes = Vec::new();
            for i in select(mb, uids) {
                let uid = mb.msgs.uid[i];
                if unchanged_since.is_some_and(|u| mb.msgs.modseq[i] > u) {
                    result.failed.push(uid);
                    continue;
                }
                let old_f = Flags(mb.msgs.flags[i]);
                let old_k = mb.msgs.keywords(i);
                let (new_f, new_k) = match op {
                    FlagOp::Set => (flags, KeywordSet::from_ids(kw_ids.iter().copied())),
                    FlagOp::Add => {
                        let mut k = old_k.clone();
                        kw_ids.iter().for_each(|x| k.insert(*x));
                        (old_f.union(flags), k)
                    }
                    FlagOp::Remove => {
                        let mut k = old_k.clone();
                        kw_ids.iter().for_each(|x| k.remove(*x));
                        (old_f.minus(flags), k)
                    }
                };
                if new_f != old_f || new_k != old_k {
                    changes.push((uid, new_f.0, new_k.ids().collect::<Vec<u16>>()));
                    result.changed.push((uid, modseq));
                }
            }
            let mut t = 0;
            for d in &defs {
                t = self.submit(&mut st, d, need_sync);
            }
            if !changes.is_empty() {
                t = self.submit(
                    &mut st,
                    &Record::Flags {
                        mailbox: id,
                        modseq,
                        changes,
                    },
                    need_sync,
                );
            }
            (t, result)
        };
        if t > 0 {
            self.finish(t, need_sync).await?;
        }
        Ok(result)
    }

    /// Plan, apply and queue a copy/move. `pre` are records the caller has
    /// already applied to the index (the mailbox creation of an INBOX
    /// rename); they go into the same batch record so the whole change is
    /// one durable step.
    fn copy_locked(
        &self,
        st: &mut State,
        src: MailboxId,
        uids: &[(u32, u32)],
        dst: MailboxId,
        is_move: bool,
        pre: Vec<Record>,
    ) -> Result<(u64, CopyResult)> {
        let had_pre = !pre.is_empty();
        let r = self.copy_inner(st, src, uids, dst, is_move, pre);
        if r.is_err() && had_pre {
            // The index already holds `pre` but the log will not: only a
            // reopen (replaying the log) makes them agree again.
            st.poisoned = true;
        }
        r
    }

    fn copy_inner(
        &self,
        st: &mut State,
        src: MailboxId,
        uids: &[(u32, u32)],
        dst: MailboxId,
        is_move: bool,
        mut recs: Vec<Record>,
    ) -> Result<(u64, CopyResult)> {
        let smb = st
            .ix
            .mailboxes
            .get(&src)
            .ok_or_else(|| StoreError::NoSuchMailbox(src.to_string()))?;
        let idx = select(smb, uids);
        let src_uids: Vec<u32> = idx.iter().map(|i| smb.msgs.uid[*i]).collect();
        let mut names: Vec<String> = Vec::new();
        for i in &idx {
            for k in smb.msgs.keywords(*i).ids() {
                if let Some(n) = smb.keywords.get(k as usize)
                    && !names.contains(n)
                {
                    names.push(n.clone());
                }
            }
        }
        let src_modseq = smb.highest_modseq + 1;
        // Destination state after the sources are read: both may be one mailbox.
        let dmb = st
            .ix
            .mailboxes
            .get(&dst)
            .ok_or_else(|| StoreError::NoSuchMailbox(dst.to_string()))?;
        if (dmb.uidnext as u64) + src_uids.len() as u64 >= u32::MAX as u64 {
            return Err(StoreError::Limit("uid space of mailbox exhausted"));
        }
        let mut defs = Vec::new();
        self.keyword_ids(dmb, &names, &mut defs, false)?;
        let pairs: Vec<(u32, u32)> = src_uids
            .iter()
            .enumerate()
            .map(|(n, s)| (*s, dmb.uidnext + n as u32))
            .collect();
        let dst_modseq = dmb.highest_modseq + 1;
        let dst_uv = dmb.uidvalidity;
        let src_modseq = if src == dst { dst_modseq } else { src_modseq };
        let mut commit = None;
        if !pairs.is_empty() {
            for d in &defs {
                st.ix.apply(d, 0);
            }
            recs.extend(defs);
            let last = pairs.last().map(|p| p.1).unwrap_or(0);
            let rec = Record::Copy {
                src,
                dst,
                is_move,
                dst_modseq,
                src_modseq,
                pairs: pairs.clone(),
            };
            st.ix.apply(&rec, 0);
            recs.push(rec);
            commit = Some((dst, last + 1));
        }
        let result = CopyResult {
            dst_uidvalidity: dst_uv,
            pairs,
        };
        if recs.is_empty() {
            return Ok((0, result));
        }
        let rec = if recs.len() == 1 {
            recs.remove(0)
        } else {
            Record::Batch(recs)
        };
        let mut e = Encoder::new();
        e.record(&rec);
        let (t, _, _) = self.enqueue(st, e.buf, true, commit);
        Ok((t, result))
    }

    /// Copy messages (sharing their bytes: nothing is rewritten). Keywords
    /// the destination cannot take (its keyword limit) are dropped.
    pub async fn copy(
        &self,
        src: MailboxId,
        uids: &[(u32, u32)],
        dst: MailboxId,
    ) -> Result<CopyResult> {
        self.copy_or_move(src, uids, dst, false).await
    }

    /// Move messages: copy and expunge of the sources in one record, so a
    /// crash leaves either both or neither.
    pub async fn move_messages(
        &self,
        src: MailboxId,
        uids: &[(u32, u32)],
        dst: MailboxId,
    ) -> Result<CopyResult> {
        self.copy_or_move(src, uids, dst, true).await
    }

    async fn copy_or_move(
        &self,
        src: MailboxId,
        uids: &[(u32, u32)],
        dst: MailboxId,
        is_move: bool,
    ) -> Result<CopyResult> {
        let (t, r) = {
            let mut st = self.state()?;
            self.copy_locked(&mut st, src, uids, dst, is_move, Vec::new())?
        };
        if t > 0 {
            self.finish(t, true).await?;
        }
        Ok(r)
    }

    /// Expunge messages in `uids` (`None`: the whole mailbox); with
    /// [`ExpungeMode::DeletedOnly`] only those flagged `\Deleted`. Returns
    /// the expunged UIDs.
    pub async fn expunge(
        &self,
        id: MailboxId,
        uids: Option<&[(u32, u32)]>,
        mode: ExpungeMode,
    ) -> Result<Vec<u32>> {
        let all = [(1u32, u32::MAX)];
        let uids = uids.unwrap_or(&all);
        let (t, gone) = {
            let mut st = self.state()?;
            let mb = st
                .ix
                .mailboxes
                .get(&id)
                .ok_or_else(|| StoreError::NoSuchMailbox(id.to_string()))?;
            let mut bytes = 0u64;
            let gone: Vec<u32> = select(mb, uids)
                .into_iter()
                .filter(|i| {
                    mode == ExpungeMode::Exact || Flags(mb.msgs.flags[*i]).contains(Flags::DELETED)
                })
                .map(|i| {
                    bytes += mb.msgs.size[i] as u64;
                    mb.msgs.uid[i]
                })
                .collect();
            if gone.is_empty() {
                return Ok(gone);
            }
            let modseq = mb.highest_modseq + 1;
            st.expunged_bytes += bytes;
            let rec = Record::Expunge {
                mailbox: id,
                modseq,
                ranges: uid_ranges(gone.iter().copied()),
            };
            (self.submit(&mut st, &rec, true), gone)
        };
        self.finish(t, true).await?;
        Ok(gone)
    }

    // ------------------------------------------------------------ checkpoint, close

    /// Write a checkpoint of the index (atomically) covering everything
    /// applied so far.
    pub async fn checkpoint(&self) -> Result<()> {
        let (bytes, ticket) = {
            let mut st = self.state()?;
            let pos = (st.wal.cur_seg, st.wal.end);
            let st = &mut *st;
            let img = checkpoint::take_image(&mut st.ix, pos, &st.segs);
            let bytes = checkpoint::serialize(&img);
            checkpoint::restore(&mut st.ix, img);
            let bytes = bytes?;
            st.since_records = 0;
            st.since_bytes = 0;
            (bytes, st.wal.next_ticket)
        };
        // The image may contain records still queued: make them durable first.
        self.wait(ticket, true).await?;
        let bytes = glommio::executor()
            .spawn_blocking(move || checkpoint::seal(bytes))
            .await;
        checkpoint::write(&self.inner.dir, bytes).await
    }

    /// Finish background work, sync, checkpoint and refuse further use.
    pub async fn close(&self) -> Result<()> {
        while self.inner.bg_busy.get() {
            let g = self.inner.bg_done.generation();
            self.inner.bg_done.wait_past(g).await;
        }
        self.checkpoint().await?;
        self.inner.st.borrow_mut().closed = true;
        Ok(())
    }

    fn maybe_background(&self) {
        let cfg = &self.inner.cfg;
        if !cfg.background || self.inner.bg_busy.get() {
            return;
        }
        let (ckpt, compact) = {
            let st = self.inner.st.borrow();
            (
                st.since_records >= cfg.checkpoint_records
                    || st.since_bytes >= cfg.checkpoint_bytes,
                st.expunged_bytes >= cfg.segment_size / 2,
            )
        };
        if !ckpt && !compact {
            return;
        }
        self.inner.bg_busy.set(true);
        let me = self.clone();
        glommio::spawn_local(async move {
            let r = if compact {
                me.inner.st.borrow_mut().expunged_bytes = 0;
                me.compact_with_ratio(me.inner.cfg.compact_dead_ratio)
                    .await
                    .map(|_| ())
            } else {
                me.checkpoint().await
            };
            if let Err(e) = r {
                tracing::warn!(error = %e, "background store maintenance failed");
            }
            me.inner.bg_busy.set(false);
            me.inner.bg_done.notify();
            // Work that came due while this ran (e.g. compaction after a
            // checkpoint) starts now rather than at the next operation.
            if me.inner.st.borrow().closed {
                return;
            }
            me.maybe_background();
        })
        .detach();
    }

    // ------------------------------------------------------------ compaction

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

    fn stop_at(&self, step: u8) -> bool {
        self.inner
            .compact_stop_after
            .get()
            .is_some_and(|s| s <= step)
    }

    async fn compact_with_ratio(&self, ratio: f64) -> Result<usize> {
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
    async fn compact_segment(&self, seg: u32, ratio: f64) -> Result<bool> {
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
            if r.rtype != T_APPEND {
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
            if keep.len() == msgs.len() {
                let base = out.len() as u64;
                for m in &msgs {
                    remap.insert(m.raw_off, base + (m.raw_off - r.off));
                }
                out.extend_from_slice(frame);
                continue;
            }
            dropped += (msgs.len() - keep.len()) as u64;
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
        tracing::info!(
            segment = seg,
            bytes_before = size,
            bytes_after = size - dead,
            "compacted segment"
        );
        Ok(true)
    }

    // ------------------------------------------------------------ verify, stats

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

async fn sync_dir(dir: &Path) -> Result<()> {
    let d = Directory::open(dir).await?;
    d.sync().await?;
    d.close().await?;
    Ok(())
}

async fn create_dirs(dir: &Path) -> Result<()> {
    let mut acc = PathBuf::new();
    for c in dir.components() {
        acc.push(c);
        if Directory::open(&acc).await.is_ok() {
            continue;
        }
        match Directory::create(&acc).await {
            Ok(_) => {}
            Err(e) => {
                let e = std::io::Error::from(e);
                if e.kind() != std::io::ErrorKind::AlreadyExists {
                    return Err(e.into());
                }
            }
        }
    }
    Ok(())
}

/// Work around glommio's iopoll probe: the first DmaFile an executor opens
/// decides whether the device is treated as pollable, and an empty file
/// makes it wrongly say yes (every later DMA read then fails with
/// EOPNOTSUPP). Open a file of one full block first.
async fn probe_dma(dir: &Path) -> Result<()> {
    let path = dir.join(PROBE_FILE);
    let ok = match BufferedFile::open(&path).await {
        Ok(f) => {
            let size = f.file_size().await?;
            f.close().await?;
            size >= PROBE_SIZE as u64
        }
        Err(_) => false,
    };
    if !ok {
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .buffered_open(&path)
            .await?;
        write_all_at(&f, vec![0u8; PROBE_SIZE], 0).await?;
        f.fdatasync().await?;
        f.close().await?;
        sync_dir(dir).await?;
    }
    let f = DmaFile::open(&path).await?;
    f.close().await?;
    Ok(())
}
