//! The selected mailbox as one session sees it: the message list that gives
//! sequence numbers their meaning, and the rules for telling the client what
//! changed (RFC 9051 §7.5 and §5.2). Sequence numbers only change when this
//! session announces EXPUNGE, so the view keeps messages another session
//! expunged until an EXPUNGE response may be sent.

use bytes::BytesMut;
use imap_proto::encode;
use imap_proto::{SeqNum, SequenceSet};
use std::rc::Rc;
use store::{MailboxId, MessageInfo, Store};

/// What a sync may announce.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncRules {
    /// False while answering FETCH, STORE or SEARCH (RFC 9051 §7.5.1: no
    /// EXPUNGE then, so sequence numbers the client used stay valid).
    pub allow_expunge: bool,
    /// QRESYNC enabled: announce removals as VANISHED (UIDs) instead.
    pub vanished: bool,
    /// CONDSTORE enabled: unsolicited FETCH responses carry MODSEQ.
    pub modseq: bool,
    /// UIDONLY enabled: flag changes go out as `* uid UIDFETCH`.
    pub uid_only: bool,
}

#[derive(Debug)]
pub struct MailboxView {
    pub id: MailboxId,
    pub uidvalidity: u32,
    /// The mailbox's keyword table as last seen (KeywordSet ids index it).
    pub keywords: Vec<String>,
    /// What the client knows, in sequence order. Shared with the store's
    /// snapshot (and other sessions that selected the same state) until this
    /// view changes: SELECT of a big mailbox copies nothing.
    msgs: Rc<Vec<MessageInfo>>,
    /// Flag changes and new messages up to here have been announced.
    seen_modseq: u64,
    /// Expunges up to here have been announced.
    expunge_modseq: u64,
    /// Flag changes this session reported itself (STORE, implicit \Seen),
    /// not to be announced again: (uid, modseq).
    own_changes: Vec<(u32, u64)>,
}

impl MailboxView {
    /// Opens the view on the mailbox's current contents (SELECT/EXAMINE).
    pub fn open(store: &Store, id: MailboxId) -> Result<MailboxView, store::StoreError> {
        let snap = store.snapshot(id)?;
        Ok(MailboxView {
            id,
            uidvalidity: snap.uidvalidity,
            keywords: snap.keywords,
            msgs: snap.messages,
            seen_modseq: snap.highest_modseq,
            expunge_modseq: snap.highest_modseq,
            own_changes: Vec::new(),
        })
    }

    pub fn len(&self) -> u32 {
        self.msgs.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    pub fn messages(&self) -> &[MessageInfo] {
        &self.msgs
    }

    /// Highest modseq whose changes this session has announced.
    pub fn highest_modseq(&self) -> u64 {
        self.seen_modseq
    }

    /// Modseq up to which expunges have been announced: what
    /// `expunged_since` from here returns is what the next sync (allowed
    /// to expunge) announces.
    pub fn announced_expunges(&self) -> u64 {
        self.expunge_modseq
    }

    /// Sequence number of a UID, if the view has it.
    pub fn seq_of(&self, uid: u32) -> Option<u32> {
        self.msgs
            .binary_search_by_key(&uid, |m| m.uid)
            .ok()
            .map(|i| i as u32 + 1)
    }

    pub fn max_uid(&self) -> u32 {
        self.msgs.last().map_or(0, |m| m.uid)
    }

    /// First unseen message's sequence number (the rev1 `[UNSEEN n]`).
    pub fn first_unseen(&self) -> Option<u32> {
        self.msgs
            .iter()
            .position(|m| !m.flags.contains(store::Flags::SEEN))
            .map(|i| i as u32 + 1)
    }

    /// Resolves a sequence set (message numbers, or UIDs when `uid`) to
    /// indexes into the view, ascending and without duplicates. `*` is the
    /// last message (or the highest UID); `$` is the saved search result
    /// (`saved`, as UIDs; RFC 5182: empty when nothing was saved). For
    /// message numbers, a number past the end is an error (RFC 9051 §6.4:
    /// BAD); UIDs that do not exist are simply skipped.
    pub fn resolve(
        &self,
        set: &SequenceSet<'_>,
        uid: bool,
        saved: Option<&[u32]>,
    ) -> Result<Vec<usize>, BadSet> {
        if set.is_saved() {
            return Ok(self.resolve_uids(saved.unwrap_or(&[])));
        }
        let mut out = Vec::new();
        if self.msgs.is_empty() {
            // "*" in an empty mailbox matches nothing; numbers are invalid.
            if !uid && set.iter().any(|r| !is_star(r.start) || !is_star(r.end)) {
                return Err(BadSet);
            }
            return Ok(out);
        }
        let last_uid = self.max_uid();
        let n = self.msgs.len() as u32;
        for r in set.iter() {
            if uid {
                let (lo, hi) = r.resolve(last_uid);
                let from = self.msgs.partition_point(|m| m.uid < lo);
                let to = self.msgs.partition_point(|m| m.uid <= hi);
                out.extend(from..to);
            } else {
                let (lo, hi) = r.resolve(n);
                if lo == 0 || hi > n {
                    return Err(BadSet);
                }
                out.extend((lo - 1) as usize..hi as usize);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Resolves a set of UIDs given as plain ranges (the saved search
    /// result `$`) to view indexes.
    pub fn resolve_uids(&self, uids: &[u32]) -> Vec<usize> {
        let mut out: Vec<usize> = uids
            .iter()
            .filter_map(|u| self.msgs.binary_search_by_key(u, |m| m.uid).ok())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Records flag changes this session has already told its client about
    /// (the FETCH of a non-silent STORE, an implicit \Seen), so the next
    /// sync does not repeat them.
    pub fn note_own_changes(&mut self, store: &Store, changed: &[(u32, u64)]) {
        for &(uid, modseq) in changed {
            self.own_changes.push((uid, modseq));
            if let Ok(i) = self.msgs.binary_search_by_key(&uid, |m| m.uid)
                && let Ok(info) = store.message(self.id, uid)
                && self.msgs[i] != info
            {
                Rc::make_mut(&mut self.msgs)[i] = info;
            }
        }
    }

    /// Brings the view up to date with the store and writes the untagged
    /// responses that tell the client: EXPUNGE (or VANISHED), then EXISTS
    /// for new messages, then FETCH for flag changes. Returns whether
    /// anything was written.
    pub fn sync(
        &mut self,
        store: &Store,
        out: &mut BytesMut,
        rules: SyncRules,
    ) -> Result<bool, store::StoreError> {
        let start_len = out.len();
        let status = store.status(self.id)?;
        if rules.allow_expunge && status.highest_modseq > self.expunge_modseq {
            let gone = store.expunged_since(self.id, self.expunge_modseq)?;
            self.announce_expunges(&gone, out, rules.vanished);
            self.expunge_modseq = status.highest_modseq;
        }
        if status.highest_modseq > self.seen_modseq {
            let changed = store.changed_since(self.id, self.seen_modseq)?;
            let old_count = self.msgs.len();
            let max_uid = self.max_uid();
            let mut flag_updates = Vec::new();
            for info in changed {
                if info.uid > max_uid {
                    Rc::make_mut(&mut self.msgs).push(info);
                    continue;
                }
                let Ok(i) = self.msgs.binary_search_by_key(&info.uid, |m| m.uid) else {
                    continue;
                };
                let own = self
                    .own_changes
                    .iter()
                    .any(|&(u, m)| u == info.uid && m >= info.modseq);
                let differs =
                    self.msgs[i].flags != info.flags || self.msgs[i].keywords != info.keywords;
                if self.msgs[i] != info {
                    Rc::make_mut(&mut self.msgs)[i] = info;
                }
                if !own && differs {
                    flag_updates.push(i);
                }
            }
            self.refresh_keywords(store)?;
            if self.msgs.len() != old_count {
                encode::exists(out, self.msgs.len() as u32);
            }
            for i in flag_updates {
                let m = &self.msgs[i];
                let mut f =
                    encode::FetchResponse::begin_keyed(out, i as u32 + 1, m.uid, rules.uid_only);
                if !rules.uid_only {
                    f.uid(m.uid);
                }
                f.flags(crate::fetch::flag_names(
                    m.flags,
                    false,
                    &m.keywords,
                    &self.keywords,
                ));
                if rules.modseq {
                    f.modseq(m.modseq);
                }
                f.finish();
            }
            self.seen_modseq = status.highest_modseq;
            self.own_changes.clear();
        }
        Ok(out.len() != start_len)
    }

    /// Reloads the keyword table when a message carries a keyword id the
    /// view has not seen named yet (a STORE or APPEND defined a keyword).
    pub fn refresh_keywords(&mut self, store: &Store) -> Result<(), store::StoreError> {
        if self.needs_keyword_refresh() {
            self.keywords = store.keyword_names(self.id)?;
        }
        Ok(())
    }

    fn needs_keyword_refresh(&self) -> bool {
        let known = self.keywords.len();
        self.msgs
            .iter()
            .rev()
            .take(64)
            .any(|m| m.keywords.ids().any(|id| id as usize >= known))
    }

    fn announce_expunges(&mut self, gone: &[(u32, u32)], out: &mut BytesMut, vanished: bool) {
        let mut removed: Vec<usize> = Vec::new();
        for &(lo, hi) in gone {
            let from = self.msgs.partition_point(|m| m.uid < lo);
            let to = self.msgs.partition_point(|m| m.uid <= hi);
            removed.extend(from..to);
        }
        if removed.is_empty() {
            return;
        }
        removed.sort_unstable();
        removed.dedup();
        if vanished {
            let uids: Vec<(u32, u32)> = compress(removed.iter().map(|&i| self.msgs[i].uid));
            encode::vanished(out, false, &uids);
        } else {
            // Lowest first, each number as it is after the EXPUNGEs already
            // announced (what Dovecot sends; clients renumber as they go).
            for (k, &i) in removed.iter().enumerate() {
                encode::expunge(out, (i - k) as u32 + 1);
            }
        }
        remove_indexes(Rc::make_mut(&mut self.msgs), &removed);
    }

    /// Removes messages this session expunged itself and writes their
    /// EXPUNGE/VANISHED responses (EXPUNGE, CLOSE-less UID EXPUNGE, MOVE).
    pub fn expunged_by_self(&mut self, uids: &[u32], out: &mut BytesMut, vanished: bool) {
        let ranges = compress(uids.iter().copied());
        self.announce_expunges(&ranges, out, vanished);
    }
}

/// A message number outside the mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadSet;

fn is_star(n: SeqNum) -> bool {
    matches!(n, SeqNum::Star)
}

/// Sorted UIDs into (lo, hi) ranges.
pub fn compress(uids: impl IntoIterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut v: Vec<u32> = uids.into_iter().collect();
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

/// Removes the elements at `sorted` (ascending, distinct) in one pass.
fn remove_indexes<T>(v: &mut Vec<T>, sorted: &[usize]) {
    let mut k = 0;
    let mut i = 0;
    v.retain(|_| {
        let drop = sorted.get(k) == Some(&i);
        if drop {
            k += 1;
        }
        i += 1;
        !drop
    });
}
