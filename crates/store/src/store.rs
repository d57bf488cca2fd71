//! The store handle: opening and recovery, the group-commit write path, and
//! every operation the protocols need.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use glommio::io::{BufferedFile, Directory, DmaFile, OpenOptions};

use crate::checkpoint;
use crate::config::{FlagSync, KEYWORDS_CEILING, StoreConfig};
use crate::error::{Result, StoreError};
use crate::event::Event;
use crate::index::Index;
use crate::record::{Encoder, Record, decode};
use crate::segment::{self, SEG_HEADER, Scan, read_exact_at, seg_path, write_all_at};
use crate::types::*;

pub const INBOX: &str = "INBOX";
const PROBE_FILE: &str = "probe.blk";
const PROBE_SIZE: usize = 4096;

/// One user's message store. Cheap to clone (an `Rc`); `!Send`: it lives on
/// the user's home shard and all that user's sessions share it.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Rc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) cfg: StoreConfig,
    pub(crate) st: RefCell<State>,
    /// Fired after every flush of the log.
    pub(crate) flushed: Event,
    /// Fired after every change readers can see.
    pub(crate) changed: Event,
    pub(crate) bg_busy: Cell<bool>,
    pub(crate) bg_done: Event,
    /// Test hook: compaction stops (as if the process died) after this step.
    pub(crate) compact_stop_after: Cell<Option<u8>>,
    pub(crate) open_info: OpenInfo,
    /// A batched flag sync is scheduled.
    pub(crate) sync_timer: Cell<bool>,
    /// The batched flag sync waiting to run; `close` waits for it so no
    /// timer outlives the store's last user (or the executor).
    sync_task: RefCell<Option<glommio::task::JoinHandle<()>>>,
    /// fdatasync calls on segments (group commit makes this < appends).
    pub(crate) syncs: Cell<u64>,
    /// Per mailbox, the last snapshot's message list and the state it shows
    /// ((highest modseq, visible length)).
    pub(crate) snapshots: RefCell<HashMap<MailboxId, CachedList>>,
    /// Released by `close` or when the last handle is dropped.
    pub(crate) lock: RefCell<Option<crate::lock::DirLock>>,
    /// Changes for sessions that follow every mailbox (NOTIFY).
    pub(crate) feed: crate::feed::Feed,
}

/// A snapshot's message list and the (highest modseq, visible length) it
/// was taken at.
pub(crate) type CachedList = ((u64, usize), Rc<Vec<MessageInfo>>);

pub(crate) struct State {
    pub(crate) ix: Index,
    pub(crate) wal: Wal,
    /// Segment id -> generation (bumped by each compaction of the segment).
    pub(crate) segs: BTreeMap<u32, u32>,
    pub(crate) files: HashMap<u32, Rc<BufferedFile>>,
    pub(crate) since_records: u64,
    pub(crate) since_bytes: u64,
    pub(crate) expunged_bytes: u64,
    /// Segment being compacted: its pre-rename handle must stay cached
    /// until the index switches to the new offsets.
    pub(crate) compacting: Option<u32>,
    pub(crate) poisoned: bool,
    pub(crate) closed: bool,
    /// Message-ID hash -> thread id, built on the first append that needs
    /// it (`thread::lookup`).
    pub(crate) threads: Option<HashMap<u64, u64>>,
}

pub(crate) struct Chunk {
    pub(crate) seg: u32,
    pub(crate) off: u64,
    pub(crate) bytes: Vec<u8>,
}

/// The single writer path: records are serialized into `chunks` in the
/// order operations are applied, and written + synced in batches.
pub(crate) struct Wal {
    pub(crate) cur_seg: u32,
    pub(crate) end: u64,
    pub(crate) chunks: Vec<Chunk>,
    pub(crate) next_ticket: u64,
    pub(crate) written: u64,
    pub(crate) synced: u64,
    pub(crate) need_sync: bool,
    /// (mailbox, uid) to make visible once the pending batch is durable.
    pub(crate) commits: Vec<(u32, u32)>,
    pub(crate) flushing: bool,
    pub(crate) unsynced: Vec<u32>,
}

pub(crate) fn corrupt(segment: u32, offset: u64, reason: impl Into<String>) -> StoreError {
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
pub(crate) fn replay_bytes(ix: &mut Index, seg: u32, buf: &[u8], base: u64) -> Result<Scan> {
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

impl Store {
    /// Open (or create) the store in `dir`: recover the log, load the
    /// checkpoint and replay the tail after it. Creates INBOX in a new store.
    pub async fn open(dir: impl AsRef<Path>, cfg: StoreConfig) -> Result<Store> {
        let dir = dir.as_ref().to_path_buf();
        if cfg.max_keywords > KEYWORDS_CEILING {
            return Err(StoreError::Limit("max_keywords above 4096"));
        }
        create_dirs(&dir).await?;
        let lock = crate::lock::acquire(&dir).await?;
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
                    threads: None,
                }),
                flushed: Event::default(),
                changed: Event::default(),
                bg_busy: Cell::new(false),
                bg_done: Event::default(),
                compact_stop_after: Cell::new(None),
                open_info: info,
                sync_timer: Cell::new(false),
                sync_task: RefCell::new(None),
                syncs: Cell::new(0),
                snapshots: RefCell::new(HashMap::new()),
                lock: RefCell::new(Some(lock)),
                feed: crate::feed::Feed::default(),
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

    pub(crate) fn state(&self) -> Result<std::cell::RefMut<'_, State>> {
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
    pub(crate) fn enqueue(
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
    pub(crate) fn submit(&self, st: &mut State, rec: &Record, need_sync: bool) -> u64 {
        let mut e = Encoder::new();
        e.record(rec);
        let (t, seg, _) = self.enqueue(st, e.buf, need_sync, None);
        self.inner.feed.record(rec, &st.ix);
        st.ix.apply(rec, seg);
        t
    }

    /// Wait until record `ticket` is written (and synced if `need_sync`).
    /// The first waiter to find no flush running becomes the flusher and
    /// writes everything queued so far with one sync: group commit.
    pub(crate) async fn wait(&self, ticket: u64, need_sync: bool) -> Result<()> {
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

    pub(crate) async fn flush(&self, force_sync: bool) -> Result<()> {
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
                self.inner.feed.push(crate::feed::FeedEvent::Messages {
                    mailbox: mb,
                    change: crate::feed::MessageChange::New,
                });
            }
        } else {
            // Only synced records carry commits; keep any for the next sync.
            st.wal.commits.extend(commits);
        }
        Ok(())
    }

    pub(crate) async fn sync_unsynced(&self) -> Result<()> {
        let files: Vec<Rc<BufferedFile>> = {
            let st = self.inner.st.borrow();
            st.wal
                .unsynced
                .iter()
                .filter_map(|s| st.files.get(s).cloned())
                .collect()
        };
        for f in files {
            let started = std::time::Instant::now();
            f.fdatasync().await?;
            self.inner.syncs.set(self.inner.syncs.get() + 1);
            if let Some(o) = &self.inner.cfg.observer {
                o.synced(started.elapsed());
            }
        }
        self.inner.st.borrow_mut().wal.unsynced.clear();
        Ok(())
    }

    /// Wait for durability, then tell watchers and maybe start background work.
    pub(crate) async fn finish(&self, ticket: u64, need_sync: bool) -> Result<()> {
        self.wait(ticket, need_sync).await?;
        self.inner.changed.notify();
        self.maybe_background();
        Ok(())
    }

    pub(crate) fn need_flag_sync(&self) -> bool {
        self.inner.cfg.flag_sync == FlagSync::Always
    }

    /// Under [`FlagSync::Batched`], make sure a sync happens within the
    /// window after an unsynced flag change (one timer at a time).
    pub(crate) fn schedule_flag_sync(&self, ticket: u64) {
        let FlagSync::Batched(delay) = self.inner.cfg.flag_sync else {
            return;
        };
        if self.inner.sync_timer.get() {
            return;
        }
        self.inner.sync_timer.set(true);
        let me = self.clone();
        let task = glommio::spawn_local(async move {
            glommio::timer::sleep(delay).await;
            me.inner.sync_timer.set(false);
            // Everything queued up to now, not just `ticket`, is covered.
            let upto = me.inner.st.borrow().wal.next_ticket.max(ticket);
            if let Err(e) = me.wait(upto, true).await {
                tracing::warn!(error = %e, "batched flag sync failed");
            }
        })
        .detach();
        *self.inner.sync_task.borrow_mut() = Some(task);
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

    /// Follows every change of this store from now on, keeping at most
    /// `limit` undrained events (then the subscription reports an overflow).
    pub fn subscribe_feed(&self, limit: usize) -> crate::feed::FeedSubscription {
        self.inner.feed.subscribe(limit)
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
        let pending_sync = self.inner.sync_task.borrow_mut().take();
        if let Some(task) = pending_sync {
            task.await;
        }
        while self.inner.bg_busy.get() {
            let g = self.inner.bg_done.generation();
            self.inner.bg_done.wait_past(g).await;
        }
        self.checkpoint().await?;
        self.inner.st.borrow_mut().closed = true;
        // Nothing more is written through this handle: let another process
        // (or a reopen while this handle lives on) have the store.
        self.inner.lock.borrow_mut().take();
        Ok(())
    }

    pub(crate) fn maybe_background(&self) {
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
}

pub(crate) async fn sync_dir(dir: &Path) -> Result<()> {
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
