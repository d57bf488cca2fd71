//! Message operations: status and snapshots, reads, append, flags,
//! copy/move, expunge, CONDSTORE/QRESYNC queries.

use std::rc::Rc;

use glommio::io::{BufferedFile, ReadResult};

use crate::error::{Result, StoreError};
use crate::flags::{Flags, KeywordSet};
use crate::index::{Mailbox, pack_loc, uid_ranges, unpack_loc};
use crate::record::{AppendMsg, Encoder, NO_SAVE_DATE, NewMsg, Record};
use crate::segment::seg_path;
use crate::store::{State, Store, corrupt};
use crate::thread::MsgRefs;
use crate::types::*;

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

fn valid_keyword(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 128
        && !k.starts_with('\\')
        && k.bytes()
            .all(|b| b > 0x20 && b < 0x7f && !b"(){%*\"\\]".contains(&b))
}

fn known_save_date(d: i64) -> Option<i64> {
    (d != NO_SAVE_DATE).then_some(d)
}

/// Seconds since the Unix epoch: the save date of what is saved now.
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(1)
        .max(1)
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
    pub(crate) fn with_mailbox<T>(
        &self,
        id: MailboxId,
        f: impl FnOnce(&Mailbox) -> T,
    ) -> Result<T> {
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

    pub(crate) fn info(mb: &Mailbox, i: usize) -> MessageInfo {
        MessageInfo {
            uid: mb.msgs.uid[i],
            flags: Flags(mb.msgs.flags[i]),
            keywords: mb.msgs.keywords(i),
            internal_date: mb.msgs.date[i],
            size: mb.msgs.size[i],
            modseq: mb.msgs.modseq[i],
            email_id: mb.msgs.email_id[i],
            thread_id: mb.msgs.thread_id[i],
            save_date: known_save_date(mb.msgs.save_date[i]),
        }
    }

    /// The visible messages of a mailbox, ordered by UID.
    pub fn snapshot(&self, id: MailboxId) -> Result<Snapshot> {
        let status = self.status(id)?;
        let messages = self.with_mailbox(id, |mb| {
            // Every change a MessageInfo shows bumps the modseq, and new
            // messages become visible by growing visible_len: together they
            // say whether a cached list is still this mailbox's state.
            let key = (mb.highest_modseq, mb.visible_len());
            let mut cache = self.inner.snapshots.borrow_mut();
            // Keep only lists some view still holds, plus the one asked for:
            // memory stays bounded by what sessions have selected.
            cache.retain(|m, (_, list)| *m == id || Rc::strong_count(list) > 1);
            match cache.get(&id) {
                Some((k, list)) if *k == key => Rc::clone(list),
                _ => {
                    let list = Rc::new(Self::infos(mb, key.1));
                    cache.insert(id, (key, Rc::clone(&list)));
                    list
                }
            }
        })?;
        self.with_mailbox(id, |mb| Snapshot {
            id,
            uidvalidity: mb.uidvalidity,
            uidnext: status.uidnext,
            highest_modseq: status.highest_modseq,
            keywords: mb.keywords.clone(),
            messages,
        })
    }

    /// The mailbox's keyword table (`KeywordSet` ids index it).
    pub fn keyword_names(&self, id: MailboxId) -> Result<Vec<String>> {
        self.with_mailbox(id, |mb| mb.keywords.clone())
    }

    /// The first `n` messages' metadata, straight from the index arrays.
    fn infos(mb: &Mailbox, n: usize) -> Vec<MessageInfo> {
        let m = &mb.msgs;
        let no_high = m.kw_high.is_empty();
        let mut out = Vec::with_capacity(n);
        for i in 0..n.min(m.uid.len()) {
            out.push(MessageInfo {
                uid: m.uid[i],
                flags: Flags(m.flags[i]),
                keywords: if no_high {
                    KeywordSet::from_low(m.kw_low[i])
                } else {
                    m.keywords(i)
                },
                internal_date: m.date[i],
                size: m.size[i],
                modseq: m.modseq[i],
                email_id: m.email_id[i],
                thread_id: m.thread_id[i],
                save_date: known_save_date(m.save_date[i]),
            });
        }
        out
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

    pub(crate) async fn file(&self, seg: u32) -> Result<Rc<BufferedFile>> {
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
    pub(crate) async fn locate(
        &self,
        id: MailboxId,
        uid: u32,
    ) -> Result<(Rc<BufferedFile>, u64, u32, u32)> {
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

    pub(crate) async fn read_at(f: &BufferedFile, off: u64, len: usize) -> Result<MessageBytes> {
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

    /// Only the SORT/THREAD keys of the message's facts (cheaper than
    /// [`Store::facts`]: no MIME tree is built).
    pub async fn sort_keys(&self, id: MailboxId, uid: u32) -> Result<mime_facts::SortKeys> {
        let (f, off, size, flen) = self.locate(id, uid).await?;
        let b = Self::read_at(&f, off + size as u64, flen as usize).await?;
        mime_facts::Facts::sort_keys_from_bytes(&b).map_err(|e| StoreError::Facts(e.to_string()))
    }

    /// Keyword ids for `names` in mailbox `mb`, defining new ones (records
    /// pushed into `defs`) up to the configured limit.
    pub(crate) fn keyword_ids(
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
        self.append_with_uids(id, msgs, None).await
    }

    /// [`Store::append`], with the UIDs given (an import keeping the old
    /// server's UIDs: strictly ascending, none below the mailbox's UIDNEXT).
    pub(crate) async fn append_with_uids(
        &self,
        id: MailboxId,
        msgs: &[NewMessage<'_>],
        given: Option<&[u32]>,
    ) -> Result<Vec<u32>> {
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
        let mut refs: Vec<MsgRefs> = Vec::with_capacity(msgs.len());
        let facts: Vec<Vec<u8>> = msgs
            .iter()
            .map(|m| {
                let f = mime_facts::compute(m.raw);
                refs.push(MsgRefs::of(&f.sort, cfg.max_thread_refs));
                f.to_bytes()
            })
            .collect();
        let (t, uids) = {
            let mut st = self.state()?;
            let mb = st
                .ix
                .mailboxes
                .get(&id)
                .ok_or_else(|| StoreError::NoSuchMailbox(id.to_string()))?;
            let uids: Vec<u32> = match given {
                None => {
                    let first = mb.uidnext;
                    if (first as u64) + msgs.len() as u64 >= u32::MAX as u64 {
                        return Err(StoreError::Limit("uid space of mailbox exhausted"));
                    }
                    (first..first + msgs.len() as u32).collect()
                }
                Some(g) => {
                    let ascending = g.windows(2).all(|w| w[0] < w[1]);
                    if g.len() != msgs.len()
                        || !ascending
                        || g.first().is_some_and(|u| *u < mb.uidnext || *u == 0)
                        || g.last().is_some_and(|u| *u == u32::MAX)
                    {
                        return Err(StoreError::ImportConflict(format!(
                            "uids must ascend from the mailbox's UIDNEXT {}",
                            mb.uidnext
                        )));
                    }
                    g.to_vec()
                }
            };
            let modseq = mb.highest_modseq + 1;
            let mut defs = Vec::new();
            let mut kws = Vec::with_capacity(msgs.len());
            for m in msgs {
                kws.push(self.keyword_ids(mb, &m.keywords, &mut defs, true)?);
            }
            for d in &defs {
                self.submit(&mut st, d, true);
            }
            // Ids unique by construction: positions inside this record's
            // frame in the log (or past the end of a segment sealed before
            // it), which no other record can ever occupy. See
            // docs/architecture.md "Object ids".
            let first_id = pack_loc(st.wal.cur_seg, st.wal.end + 1);
            let save_date = now_unix();
            let mut threads = Vec::with_capacity(msgs.len());
            {
                let State {
                    ix, threads: map, ..
                } = &mut *st;
                let map = map.get_or_insert_with(|| crate::thread::lookup(ix));
                for (i, r) in refs.iter().enumerate() {
                    let email_id = first_id + i as u64;
                    let t = r.thread_in(map).unwrap_or(email_id);
                    if r.own != 0 {
                        map.entry(r.own).or_insert(t);
                    }
                    threads.push(t);
                }
            }
            let news: Vec<NewMsg<'_>> = msgs
                .iter()
                .enumerate()
                .map(|(i, m)| NewMsg {
                    uid: uids[i],
                    modseq,
                    date: m.internal_date,
                    flags: m.flags.sanitized().0,
                    keywords: &kws[i],
                    raw: m.raw,
                    facts: &facts[i],
                    email_id: first_id + i as u64,
                    thread_id: threads[i],
                    save_date,
                    msgid: refs[i].own,
                })
                .collect();
            let mut e = Encoder::new();
            let offs = e.append(id, &news);
            let last = uids[uids.len() - 1];
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
                        email_id: n.email_id,
                        thread_id: n.thread_id,
                        save_date: n.save_date,
                        msgid: n.msgid,
                    })
                    .collect(),
            };
            st.ix.apply(&rec, seg);
            (t, uids)
        };
        self.finish(t, true).await?;
        if let Some(o) = &cfg.observer {
            o.appended(msgs.len() as u64, total);
        }
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
            if !need_sync {
                self.schedule_flag_sync(t);
            }
        }
        Ok(result)
    }

    /// Plan, apply and queue a copy/move. `pre` are records the caller has
    /// already applied to the index (the mailbox creation of an INBOX
    /// rename); they go into the same batch record so the whole change is
    /// one durable step.
    pub(crate) fn copy_locked(
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

    pub(crate) fn copy_inner(
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
                save_date: Some(now_unix()),
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
        let rec = Record::all_of(recs);
        self.inner.feed.record(&rec, &st.ix);
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

    pub(crate) async fn copy_or_move(
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
}
