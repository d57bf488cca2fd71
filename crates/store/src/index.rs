//! The in-memory index: per mailbox, dense struct-of-arrays of message
//! metadata, plus the mailbox list, keyword tables and subscriptions. Live
//! operations and log replay change it through the same [`Index::apply`], so
//! a reopened store is the same state the running one had.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::flags::{Flags, KeywordSet};
use crate::metadata::Annotations;
use crate::record::{AppendMsg, NO_SAVE_DATE, Record};

/// Bits of a packed location used for the offset within a segment.
const OFF_BITS: u32 = 40;

/// Pack a segment id (24 bits) and an offset (40 bits, 1 TiB) into one word.
pub fn pack_loc(seg: u32, off: u64) -> u64 {
    ((seg as u64) << OFF_BITS) | (off & ((1u64 << OFF_BITS) - 1))
}

pub fn unpack_loc(loc: u64) -> (u32, u64) {
    ((loc >> OFF_BITS) as u32, loc & ((1u64 << OFF_BITS) - 1))
}

/// Message metadata of one mailbox, one array per field, sorted by UID.
/// 77 bytes per message plus keyword ids >= 64 in `kw_high`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Msgs {
    pub uid: Vec<u32>,
    pub flags: Vec<u8>,
    pub kw_low: Vec<u64>,
    pub date: Vec<i64>,
    pub size: Vec<u32>,
    pub modseq: Vec<u64>,
    /// Packed segment + offset of the raw bytes (see [`pack_loc`]).
    pub loc: Vec<u64>,
    /// Facts follow the raw bytes; this is their length.
    pub facts_len: Vec<u32>,
    /// EMAILID (RFC 8474): the same for every copy of one message.
    pub email_id: Vec<u64>,
    /// THREADID: the email id of the thread's first message.
    pub thread_id: Vec<u64>,
    /// SAVEDATE (RFC 8514), Unix seconds; `NO_SAVE_DATE` when unknown.
    pub save_date: Vec<i64>,
    /// Hash of the Message-ID, for threading later messages (0: none).
    pub msgid: Vec<u64>,
    /// Keyword ids >= 64, by UID; rare, so kept out of the dense arrays.
    pub kw_high: HashMap<u32, Vec<u16>>,
}

impl Msgs {
    pub fn len(&self) -> usize {
        self.uid.len()
    }

    pub fn find(&self, uid: u32) -> Option<usize> {
        self.uid.binary_search(&uid).ok()
    }

    pub fn keywords(&self, i: usize) -> KeywordSet {
        KeywordSet {
            low: self.kw_low.get(i).copied().unwrap_or(0),
            high: self
                .uid
                .get(i)
                .and_then(|u| self.kw_high.get(u))
                .cloned()
                .unwrap_or_default(),
        }
    }

    fn set_keywords(&mut self, i: usize, kw: &KeywordSet) {
        if let (Some(slot), Some(uid)) = (self.kw_low.get_mut(i), self.uid.get(i)) {
            *slot = kw.low;
            if kw.high.is_empty() {
                self.kw_high.remove(uid);
            } else {
                self.kw_high.insert(*uid, kw.high.clone());
            }
        }
    }

    /// Bytes of heap this mailbox's message arrays use (capacity, not length).
    pub fn heap_bytes(&self) -> usize {
        self.uid.capacity() * 4
            + self.flags.capacity()
            + self.kw_low.capacity() * 8
            + self.date.capacity() * 8
            + self.size.capacity() * 4
            + self.modseq.capacity() * 8
            + self.loc.capacity() * 8
            + self.facts_len.capacity() * 4
            + (self.email_id.capacity()
                + self.thread_id.capacity()
                + self.save_date.capacity()
                + self.msgid.capacity())
                * 8
            + self.kw_high.capacity() * 40
            + self
                .kw_high
                .values()
                .map(|v| v.capacity() * 2)
                .sum::<usize>()
    }
}

/// One message's metadata on its way into the arrays.
struct Row<'a> {
    uid: u32,
    flags: u8,
    kw: &'a KeywordSet,
    date: i64,
    size: u32,
    modseq: u64,
    loc: u64,
    facts_len: u32,
    ids: Ids,
}

/// The object ids and save date of one message in one mailbox.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ids {
    pub email_id: u64,
    pub thread_id: u64,
    pub save_date: i64,
    pub msgid: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mailbox {
    pub id: u32,
    pub name: String,
    pub special_use: u8,
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub highest_modseq: u64,
    /// Messages with UID >= this are appended but not yet durable, and
    /// hidden from readers.
    pub visible_uidnext: u32,
    pub keywords: Vec<String>,
    pub msgs: Msgs,
    pub unseen: u32,
    pub deleted: u32,
    pub total_size: u64,
    /// Expunge history: (modseq, first uid, last uid), in log order.
    pub expunged: Vec<(u64, u32, u32)>,
    /// The mailbox's annotations (RFC 5464).
    pub meta: Annotations,
}

impl Mailbox {
    pub fn new(id: u32, name: String, uidvalidity: u32, special_use: u8) -> Self {
        Mailbox {
            id,
            name,
            special_use,
            uidvalidity,
            uidnext: 1,
            highest_modseq: 1,
            visible_uidnext: 1,
            keywords: Vec::new(),
            msgs: Msgs::default(),
            unseen: 0,
            deleted: 0,
            total_size: 0,
            expunged: Vec::new(),
            meta: Annotations::default(),
        }
    }

    pub fn keyword_id(&self, name: &str) -> Option<u16> {
        self.keywords
            .iter()
            .position(|k| k.eq_ignore_ascii_case(name))
            .map(|p| p as u16)
    }

    /// Number of visible messages (a prefix of the arrays).
    pub fn visible_len(&self) -> usize {
        self.msgs.uid.partition_point(|u| *u < self.visible_uidnext)
    }

    fn count_in(&mut self, flags: u8, size: u32, sign: i64) {
        let f = Flags(flags);
        let adj = |v: u32| (v as i64 + sign).max(0) as u32;
        if !f.contains(Flags::SEEN) {
            self.unseen = adj(self.unseen);
        }
        if f.contains(Flags::DELETED) {
            self.deleted = adj(self.deleted);
        }
        self.total_size = (self.total_size as i64 + sign * size as i64).max(0) as u64;
    }

    fn push(&mut self, r: Row<'_>) {
        let Row {
            uid,
            flags,
            kw,
            date,
            size,
            modseq,
            loc,
            facts_len,
            ids,
        } = r;
        if self.msgs.uid.last().is_some_and(|last| *last >= uid) {
            // UIDs only ascend; a record breaking that is ignored rather
            // than corrupting the sorted arrays.
            tracing::warn!(mailbox = self.id, uid, "ignoring out-of-order uid in log");
            return;
        }
        let m = &mut self.msgs;
        m.uid.push(uid);
        m.flags.push(flags);
        m.kw_low.push(0);
        m.date.push(date);
        m.size.push(size);
        m.modseq.push(modseq);
        m.loc.push(loc);
        m.facts_len.push(facts_len);
        m.email_id.push(ids.email_id);
        m.thread_id.push(ids.thread_id);
        m.save_date.push(ids.save_date);
        m.msgid.push(ids.msgid);
        let i = m.len() - 1;
        m.set_keywords(i, kw);
        self.count_in(flags, size, 1);
        self.uidnext = self.uidnext.max(uid.saturating_add(1));
        self.highest_modseq = self.highest_modseq.max(modseq);
    }

    fn expunge_ranges(&mut self, modseq: u64, ranges: &[(u32, u32)]) {
        let inside = |u: u32| ranges.iter().any(|(lo, hi)| *lo <= u && u <= *hi);
        let mut keep = Vec::with_capacity(self.msgs.len());
        for i in 0..self.msgs.len() {
            let u = self.msgs.uid[i];
            let k = !inside(u);
            if !k {
                let (f, s) = (self.msgs.flags[i], self.msgs.size[i]);
                self.count_in(f, s, -1);
                self.msgs.kw_high.remove(&u);
            }
            keep.push(k);
        }
        retain_by(&mut self.msgs.uid, &keep);
        retain_by(&mut self.msgs.flags, &keep);
        retain_by(&mut self.msgs.kw_low, &keep);
        retain_by(&mut self.msgs.date, &keep);
        retain_by(&mut self.msgs.size, &keep);
        retain_by(&mut self.msgs.modseq, &keep);
        retain_by(&mut self.msgs.loc, &keep);
        retain_by(&mut self.msgs.facts_len, &keep);
        retain_by(&mut self.msgs.email_id, &keep);
        retain_by(&mut self.msgs.thread_id, &keep);
        retain_by(&mut self.msgs.save_date, &keep);
        retain_by(&mut self.msgs.msgid, &keep);
        for (lo, hi) in ranges {
            match self.expunged.last_mut() {
                Some(last) if last.0 == modseq && last.2.checked_add(1) == Some(*lo) => {
                    last.2 = *hi
                }
                _ => self.expunged.push((modseq, *lo, *hi)),
            }
            self.uidnext = self.uidnext.max(hi.saturating_add(1));
        }
        self.highest_modseq = self.highest_modseq.max(modseq);
    }
}

fn retain_by<T>(v: &mut Vec<T>, keep: &[bool]) {
    let mut it = keep.iter();
    v.retain(|_| it.next().copied().unwrap_or(true));
}

/// Every mailbox of one user.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Index {
    pub mailboxes: BTreeMap<u32, Mailbox>,
    pub by_name: BTreeMap<String, u32>,
    pub subscriptions: BTreeSet<String>,
    pub next_mailbox_id: u32,
    pub next_uidvalidity: u32,
    /// Annotations of the account as a whole (IMAP's mailbox `""`).
    pub server_meta: Annotations,
}

impl Index {
    pub fn new() -> Self {
        Index {
            next_mailbox_id: 1,
            next_uidvalidity: 1,
            ..Default::default()
        }
    }

    pub fn by_name(&self, name: &str) -> Option<&Mailbox> {
        self.by_name.get(name).and_then(|id| self.mailboxes.get(id))
    }

    /// Apply one record. `seg` is the segment holding it (append locations
    /// are offsets in that segment).
    pub fn apply(&mut self, rec: &Record, seg: u32) {
        match rec {
            Record::Create {
                id,
                uidvalidity,
                special_use,
                name,
            } => {
                if let Some(old) = self.by_name.remove(name) {
                    self.mailboxes.remove(&old);
                }
                self.mailboxes.insert(
                    *id,
                    Mailbox::new(*id, name.clone(), *uidvalidity, *special_use),
                );
                self.by_name.insert(name.clone(), *id);
                self.next_mailbox_id = self.next_mailbox_id.max(id.saturating_add(1));
                self.next_uidvalidity = self.next_uidvalidity.max(uidvalidity.saturating_add(1));
            }
            Record::Rename { entries } => {
                for (id, _) in entries {
                    if let Some(mb) = self.mailboxes.get(id) {
                        self.by_name.remove(&mb.name);
                    }
                }
                for (id, name) in entries {
                    if let Some(mb) = self.mailboxes.get_mut(id) {
                        mb.name = name.clone();
                        self.by_name.insert(name.clone(), *id);
                    }
                }
            }
            Record::Delete { id } => {
                if let Some(mb) = self.mailboxes.remove(id) {
                    self.by_name.remove(&mb.name);
                }
            }
            Record::Subscribe { on, name } => {
                if *on {
                    self.subscriptions.insert(name.clone());
                } else {
                    self.subscriptions.remove(name);
                }
            }
            Record::Keyword { mailbox, id, name } => {
                if let Some(mb) = self.mailboxes.get_mut(mailbox)
                    && *id as usize == mb.keywords.len()
                {
                    mb.keywords.push(name.clone());
                }
            }
            Record::Append { mailbox, msgs } => {
                if let Some(mb) = self.mailboxes.get_mut(mailbox) {
                    for m in msgs {
                        apply_append(mb, m, seg);
                    }
                }
            }
            Record::Flags {
                mailbox,
                modseq,
                changes,
            } => {
                if let Some(mb) = self.mailboxes.get_mut(mailbox) {
                    for (uid, flags, kws) in changes {
                        if let Some(i) = mb.msgs.find(*uid) {
                            let (old, size) = (mb.msgs.flags[i], mb.msgs.size[i]);
                            mb.count_in(old, size, -1);
                            mb.count_in(*flags, size, 1);
                            mb.msgs.flags[i] = *flags;
                            mb.msgs.modseq[i] = *modseq;
                            mb.msgs
                                .set_keywords(i, &KeywordSet::from_ids(kws.iter().copied()));
                        }
                    }
                    mb.highest_modseq = mb.highest_modseq.max(*modseq);
                }
            }
            Record::Expunge {
                mailbox,
                modseq,
                ranges,
            } => {
                if let Some(mb) = self.mailboxes.get_mut(mailbox) {
                    mb.expunge_ranges(*modseq, ranges);
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
                let save_date = save_date.unwrap_or(NO_SAVE_DATE);
                self.apply_copy(*src, *dst, *dst_modseq, save_date, pairs);
                if *is_move && let Some(mb) = self.mailboxes.get_mut(src) {
                    let ranges: Vec<(u32, u32)> = uid_ranges(pairs.iter().map(|p| p.0));
                    mb.expunge_ranges(*src_modseq, &ranges);
                }
            }
            Record::Batch(items) => {
                for item in items {
                    self.apply(item, seg);
                }
            }
            Record::Pad => {}
            Record::MetaSet { owner, entries } => {
                if let Some(a) = self.annotations_mut(*owner) {
                    for (name, value) in entries {
                        a.set(name, value.clone());
                    }
                }
            }
            Record::MetaRemove { owner, names } => {
                if let Some(a) = self.annotations_mut(*owner) {
                    for name in names {
                        a.remove(name);
                    }
                }
            }
        }
    }

    /// Annotations of an owner id (a record naming a deleted mailbox gets
    /// None and is ignored, like any record naming a missing mailbox).
    fn annotations_mut(&mut self, owner: u32) -> Option<&mut Annotations> {
        if owner == crate::record::META_SERVER {
            Some(&mut self.server_meta)
        } else {
            self.mailboxes.get_mut(&owner).map(|m| &mut m.meta)
        }
    }

    fn apply_copy(
        &mut self,
        src: u32,
        dst: u32,
        modseq: u64,
        save_date: i64,
        pairs: &[(u32, u32)],
    ) {
        let mut rows = Vec::with_capacity(pairs.len());
        if let Some(s) = self.mailboxes.get(&src) {
            for (su, du) in pairs {
                if let Some(i) = s.msgs.find(*su) {
                    let names: Vec<&str> = s
                        .msgs
                        .keywords(i)
                        .ids()
                        .filter_map(|k| s.keywords.get(k as usize).map(String::as_str))
                        .collect();
                    rows.push((
                        *du,
                        Some((
                            s.msgs.flags[i],
                            names.into_iter().map(String::from).collect::<Vec<_>>(),
                            s.msgs.date[i],
                            s.msgs.size[i],
                            s.msgs.loc[i],
                            s.msgs.facts_len[i],
                            Ids {
                                email_id: s.msgs.email_id[i],
                                thread_id: s.msgs.thread_id[i],
                                save_date,
                                msgid: s.msgs.msgid[i],
                            },
                        )),
                    ));
                } else {
                    rows.push((*du, None));
                }
            }
        }
        let Some(d) = self.mailboxes.get_mut(&dst) else {
            return;
        };
        for (du, row) in rows {
            match row {
                Some((flags, names, date, size, loc, facts_len, ids)) => {
                    // Keywords the destination does not know are dropped: the
                    // live path defines them first (within the limit).
                    let kw = KeywordSet::from_ids(names.iter().filter_map(|n| d.keyword_id(n)));
                    d.push(Row {
                        uid: du,
                        flags,
                        kw: &kw,
                        date,
                        size,
                        modseq,
                        loc,
                        facts_len,
                        ids,
                    });
                }
                None => d.uidnext = d.uidnext.max(du.saturating_add(1)),
            }
        }
        d.highest_modseq = d.highest_modseq.max(modseq);
    }

    /// After replay everything in the log is durable and visible.
    pub fn make_all_visible(&mut self) {
        for mb in self.mailboxes.values_mut() {
            mb.visible_uidnext = mb.uidnext;
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.mailboxes
            .values()
            .map(|m| m.msgs.heap_bytes() + m.expunged.capacity() * 16)
            .sum()
    }
}

fn apply_append(mb: &mut Mailbox, m: &AppendMsg, seg: u32) {
    let kw = KeywordSet::from_ids(m.keywords.iter().copied());
    let loc = pack_loc(seg, m.raw_off);
    // A type-6 record has no ids: its message's location is one nobody
    // else can have (the log only grows, and compaction writes it down as
    // the email id before moving the bytes), and it is its own thread.
    let email_id = if m.email_id == 0 { loc } else { m.email_id };
    let thread_id = if m.thread_id == 0 {
        email_id
    } else {
        m.thread_id
    };
    mb.push(Row {
        uid: m.uid,
        flags: m.flags,
        kw: &kw,
        date: m.date,
        size: m.raw_len,
        modseq: m.modseq,
        loc,
        facts_len: m.facts_len,
        ids: Ids {
            email_id,
            thread_id,
            save_date: m.save_date,
            msgid: m.msgid,
        },
    });
}

/// Collapse ascending-or-not UIDs into sorted inclusive ranges.
pub fn uid_ranges(uids: impl Iterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut v: Vec<u32> = uids.collect();
    v.sort_unstable();
    v.dedup();
    let mut out: Vec<(u32, u32)> = Vec::new();
    for u in v {
        match out.last_mut() {
            Some(r) if r.1.checked_add(1) == Some(u) => r.1 = u,
            _ => out.push((u, u)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_pack_and_unpack() {
        assert_eq!(
            unpack_loc(pack_loc(7, 123_456_789_012)),
            (7, 123_456_789_012)
        );
        assert_eq!(unpack_loc(pack_loc(0xff_ffff, 1)), (0xff_ffff, 1));
    }

    #[test]
    fn uid_ranges_collapse() {
        assert_eq!(
            uid_ranges([5, 1, 2, 3, 9, 8].into_iter()),
            vec![(1, 3), (5, 5), (8, 9)]
        );
    }

    #[test]
    fn expunge_keeps_counters_and_uidnext() {
        let mut ix = Index::new();
        ix.apply(
            &Record::Create {
                id: 1,
                uidvalidity: 10,
                special_use: 0,
                name: "INBOX".into(),
            },
            1,
        );
        let msg = |uid, flags| AppendMsg {
            uid,
            modseq: 2,
            date: 0,
            flags,
            keywords: vec![70],
            raw_off: 100,
            raw_len: 10,
            facts_len: 0,
            email_id: 0,
            thread_id: 0,
            save_date: NO_SAVE_DATE,
            msgid: 0,
        };
        ix.apply(
            &Record::Append {
                mailbox: 1,
                msgs: vec![msg(1, 0), msg(2, 8), msg(3, 1)],
            },
            1,
        );
        let mb = &ix.mailboxes[&1];
        assert_eq!(
            (mb.unseen, mb.deleted, mb.total_size, mb.uidnext),
            (2, 1, 30, 4)
        );
        ix.apply(
            &Record::Expunge {
                mailbox: 1,
                modseq: 5,
                ranges: vec![(2, 3)],
            },
            1,
        );
        let mb = &ix.mailboxes[&1];
        assert_eq!(mb.msgs.uid, vec![1]);
        assert_eq!(
            (mb.unseen, mb.deleted, mb.total_size, mb.highest_modseq),
            (1, 0, 10, 5)
        );
        assert_eq!(mb.msgs.kw_high.len(), 1);
        ix.apply(
            &Record::Expunge {
                mailbox: 1,
                modseq: 6,
                ranges: vec![(9, 9)],
            },
            1,
        );
        assert_eq!(
            ix.mailboxes[&1].uidnext, 10,
            "expunge of a compacted-away uid still bumps uidnext"
        );
    }
}
