//! CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4): searches kept up to
//! date. A SEARCH or SORT with `RETURN (UPDATE)` leaves an update context
//! in the selection; whenever the session syncs the mailbox, each context
//! re-decides the messages that changed since it last looked and tells the
//! client with `* ESEARCH (TAG "t") [UID] REMOVEFROM (...) ADDTO (...)`.
//!
//! Order with the other unsolicited responses (RFC 5267 §4.3.3–4.3.4):
//! removals of expunged messages go out before the EXPUNGE/VANISHED that
//! retires their numbers ([`before_sync`], [`expunged_by_self`]); additions
//! and flag-caused changes after EXISTS and FETCH ([`Cx::update_contexts`]).
//!
//! A context keeps its result as UIDs (and, for SORT, each member's sort
//! keys, shared with the shard's sort cache), so numbers are those of the
//! view at the moment a response is written. Contexts belong to the
//! selection: they end with it (SELECT, EXAMINE, CLOSE, UNSELECT, the
//! mailbox deleted), with `* NO [NOUPDATE "t"]` so the client knows.

use super::session::{Cx, Selected, parser_limits};
use imap_exec::ExecError;
use imap_exec::sort::{self, Keyed};
use imap_exec::view::compress;
use imap_proto::encode::{self, Code, ContextPair, RespStatus};
use imap_proto::{SearchKey, SearchKeys, SearchReturn, SortCriterion};
use std::cmp::Ordering;

/// The update contexts of the selected mailbox.
#[derive(Default)]
pub(super) struct Contexts {
    list: Vec<UpdateContext>,
}

struct UpdateContext {
    tag: Vec<u8>,
    uid: bool,
    /// The search keys as sent, parsed again for each batch of changes.
    keys: Vec<u8>,
    charset: Option<Vec<u8>>,
    /// UIDs in the result, ascending.
    members: Vec<u32>,
    /// SORT: the criteria and the result in sort order.
    sorted: Option<Sorted>,
    /// Changes up to here are reflected in `members`.
    seen_modseq: u64,
}

struct Sorted {
    criteria: Vec<SortCriterion>,
    items: Vec<Keyed>,
}

/// What a SEARCH or SORT registers after answering.
pub(super) struct Request<'a> {
    pub tag: &'a [u8],
    pub uid: bool,
    pub keys: &'a SearchKeys<'a>,
    pub charset: Option<&'a [u8]>,
    /// Indexes into the view: ascending for SEARCH (ignored for SORT,
    /// whose `sorted` items say it).
    pub matches: &'a [u32],
    pub sorted: Option<(&'a [SortCriterion], Vec<Keyed>)>,
}

fn noupdate(wbuf: &mut bytes::BytesMut, tag: &[u8], text: &str) {
    // Tags are astring-chars without quoted-specials, so they quote as is.
    let code = format!("NOUPDATE \"{}\"", String::from_utf8_lossy(tag));
    encode::untagged_status(wbuf, RespStatus::No, Some(&Code::Other(&code)), text);
}

/// Refuses UPDATE and CONTEXT where the capability is off, and UPDATE
/// under a tag an update context already has (RFC 5267 §4.3: BAD).
pub(super) fn check_request(
    cx: &Cx,
    tag: &[u8],
    returns: Option<SearchReturn>,
    sort: bool,
) -> Result<(), ExecError> {
    let Some(r) = returns.filter(|r| r.update || r.context) else {
        return Ok(());
    };
    let cap = if sort {
        "CONTEXT=SORT"
    } else {
        "CONTEXT=SEARCH"
    };
    if !cx.shard.cfg.imap.allows(cap) {
        return Err(ExecError::bad(format!(
            "{cap} is not enabled on this server (no UPDATE or CONTEXT)"
        )));
    }
    let in_use = cx
        .selected
        .as_ref()
        .is_some_and(|s| s.contexts.list.iter().any(|c| c.tag == tag));
    if r.update && in_use {
        return Err(ExecError::bad(
            "Tag reuse: an UPDATE search already has this tag",
        ));
    }
    Ok(())
}

/// Keys whose meaning is fixed when the command runs (message numbers,
/// `$`) or moves with the clock (OLDER, YOUNGER): re-deciding them as the
/// mailbox changes would not give what RFC 5267 §4.3 promises, so such a
/// search gets NOUPDATE. The parser bounds the nesting, so the recursion.
fn frozen(keys: &SearchKeys<'_>) -> bool {
    keys.iter().any(|k| match k {
        SearchKey::SequenceSet(_) | SearchKey::Older(_) | SearchKey::Younger(_) => true,
        SearchKey::Uid(set) => set.is_saved(),
        SearchKey::Not(inner) | SearchKey::And(inner) => frozen(&inner),
        SearchKey::Or(a, b) => frozen(&a) || frozen(&b),
        _ => false,
    })
}

/// Keeps an update context for a SEARCH or SORT that asked for one and
/// has answered, or says NOUPDATE (RFC 5267 §4.3.1) when it cannot.
pub(super) fn register(cx: &mut Cx, req: Request<'_>) {
    let max = cx.shard.cfg.imap.context_max_updates;
    let max_results = cx.shard.cfg.imap.context_max_results;
    let wbuf = &mut cx.conn.wbuf;
    let Some(sel) = cx.selected.as_mut() else {
        return;
    };
    if frozen(req.keys) {
        noupdate(
            wbuf,
            req.tag,
            "Updates need search keys without message numbers, $, OLDER or YOUNGER",
        );
        return;
    }
    if sel.contexts.list.len() >= max {
        noupdate(wbuf, req.tag, "Too many update contexts");
        return;
    }
    let found = req.sorted.as_ref().map_or(req.matches.len(), |s| s.1.len());
    if found > max_results {
        noupdate(wbuf, req.tag, "Result too large to follow");
        return;
    }
    let msgs = sel.view.messages();
    let uid_of = |i: u32| msgs.get(i as usize).map(|m| m.uid);
    let (members, sorted) = match req.sorted {
        None => (
            req.matches.iter().filter_map(|&i| uid_of(i)).collect(),
            None,
        ),
        Some((criteria, items)) => {
            let mut m: Vec<u32> = items.iter().map(|k| k.uid).collect();
            m.sort_unstable();
            let criteria = criteria.to_vec();
            (m, Some(Sorted { criteria, items }))
        }
    };
    sel.contexts.list.push(UpdateContext {
        tag: req.tag.to_vec(),
        uid: req.uid,
        keys: req.keys.raw().to_vec(),
        charset: req.charset.map(<[u8]>::to_vec),
        members,
        sorted,
        seen_modseq: sel.view.highest_modseq(),
    });
}

/// CANCELUPDATE (RFC 5267 §4.3.5). A tag without a context (never one,
/// or ended by NOUPDATE) gets NO and nothing is cancelled.
pub(super) fn cancel(cx: &mut Cx, tags: &[std::borrow::Cow<'_, [u8]>]) -> Result<(), ExecError> {
    let imap = &cx.shard.cfg.imap;
    if !(imap.allows("CONTEXT=SEARCH") || imap.allows("CONTEXT=SORT")) {
        return Err(ExecError::bad("CANCELUPDATE is not enabled on this server"));
    }
    let sel = cx
        .selected
        .as_mut()
        .ok_or_else(|| ExecError::bad("No mailbox selected"))?;
    if let Some(t) = tags
        .iter()
        .find(|t| !sel.contexts.list.iter().any(|c| c.tag == t.as_ref()))
    {
        return Err(ExecError::no(
            None,
            format!(
                "No update context has tag {}",
                String::from_utf8_lossy(t.as_ref())
            ),
        ));
    }
    sel.contexts
        .list
        .retain(|c| !tags.iter().any(|t| t.as_ref() == c.tag));
    Ok(())
}

/// The selection ends: so do its contexts, each with NOUPDATE.
pub(super) fn closed(sel: &Selected, wbuf: &mut bytes::BytesMut) {
    for c in &sel.contexts.list {
        noupdate(wbuf, &c.tag, "Mailbox closed, no more updates");
    }
}

/// Before a sync that may announce expunges: REMOVEFROM for the members
/// it will retire, while their numbers are still valid.
pub(super) fn before_sync(cx: &mut Cx, allow_expunge: bool) {
    if !allow_expunge {
        return;
    }
    let (Some(u), Some(sel)) = (cx.user.as_ref(), cx.selected.as_mut()) else {
        return;
    };
    if sel.contexts.list.is_empty() {
        return;
    }
    let store = &u.sref.store;
    let since = sel.view.announced_expunges();
    let pending = store
        .status(sel.view.id)
        .is_ok_and(|s| s.highest_modseq > since);
    if !pending {
        return;
    }
    // A failure here is the sync's to report; it will fail the same way.
    if let Ok(gone) = store.expunged_since(sel.view.id, since) {
        remove_gone(sel, &gone, &mut cx.conn.wbuf);
    }
}

/// The session's own EXPUNGE, UID EXPUNGE, MOVE or REPLACE: REMOVEFROM,
/// then the view's EXPUNGE/VANISHED.
pub(super) fn expunged_by_self(
    sel: &mut Selected,
    uids: &[u32],
    wbuf: &mut bytes::BytesMut,
    vanished: bool,
) {
    if !sel.contexts.list.is_empty() {
        remove_gone(sel, &compress(uids.iter().copied()), wbuf);
    }
    sel.view.expunged_by_self(uids, wbuf, vanished);
}

fn in_ranges(uid: u32, ranges: &[(u32, u32)]) -> bool {
    let i = ranges.partition_point(|r| r.1 < uid);
    ranges.get(i).is_some_and(|r| r.0 <= uid)
}

fn remove_gone(sel: &mut Selected, gone: &[(u32, u32)], wbuf: &mut bytes::BytesMut) {
    let view = &sel.view;
    for c in &mut sel.contexts.list {
        let removed: Vec<u32> = c
            .members
            .iter()
            .copied()
            .filter(|&u| in_ranges(u, gone))
            .collect();
        if removed.is_empty() {
            continue;
        }
        let by_uid = c.uid;
        let pairs = c.remove(&removed, &|u| number(view, by_uid, u));
        encode::esearch_update(wbuf, &c.tag, c.uid, &pairs, &[]);
    }
}

fn number(view: &imap_exec::view::MailboxView, uid: bool, u: u32) -> u32 {
    if uid { u } else { view.seq_of(u).unwrap_or(0) }
}

/// Numbers in the requested order as ranges: only ascending runs join.
fn in_order(nums: impl IntoIterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for n in nums {
        match out.last_mut() {
            Some(r) if r.1.checked_add(1) == Some(n) => r.1 = n,
            _ => out.push((n, n)),
        }
    }
    out
}

impl UpdateContext {
    /// Takes `removed` (ascending UIDs, all members) out and returns the
    /// REMOVEFROM pairs that say so.
    fn remove(&mut self, removed: &[u32], number: &dyn Fn(u32) -> u32) -> Vec<ContextPair> {
        self.members.retain(|u| removed.binary_search(u).is_err());
        let Some(s) = self.sorted.as_mut() else {
            return vec![(0, compress(removed.iter().map(|&u| number(u))))];
        };
        // Runs of adjacent positions, last run first: removing one does
        // not move the positions of those before it.
        let mut runs: Vec<(usize, Vec<u32>)> = Vec::new();
        for (p, k) in s.items.iter().enumerate() {
            if removed.binary_search(&k.uid).is_err() {
                continue;
            }
            match runs.last_mut() {
                Some((start, v)) if *start + v.len() == p => v.push(k.uid),
                _ => runs.push((p, vec![k.uid])),
            }
        }
        s.items.retain(|k| removed.binary_search(&k.uid).is_err());
        runs.iter()
            .rev()
            .map(|(p, v)| {
                let pos = u32::try_from(p + 1).unwrap_or(u32::MAX);
                (pos, in_order(v.iter().map(|&u| number(u))))
            })
            .collect()
    }

    /// Puts `added` (not members) in and returns the ADDTO pairs.
    fn add(&mut self, mut added: Vec<Keyed>, number: &dyn Fn(u32) -> u32) -> Vec<ContextPair> {
        for k in &added {
            if let Err(i) = self.members.binary_search(&k.uid) {
                self.members.insert(i, k.uid);
            }
        }
        let Some(s) = self.sorted.as_mut() else {
            return vec![(0, compress(added.iter().map(|k| number(k.uid))))];
        };
        let crit = &s.criteria;
        // In final order, so each insertion point is already the final
        // position: everything before it in the result is in place.
        added.sort_by(|a, b| sort::compare(a, b, crit));
        let mut runs: Vec<(usize, Vec<u32>)> = Vec::new();
        for k in added {
            let p = s
                .items
                .partition_point(|x| sort::compare(x, &k, crit) == Ordering::Less);
            match runs.last_mut() {
                Some((start, v)) if *start + v.len() == p => v.push(k.uid),
                _ => runs.push((p, vec![k.uid])),
            }
            s.items.insert(p, k);
        }
        runs.iter()
            .map(|(p, v)| {
                let pos = u32::try_from(p + 1).unwrap_or(u32::MAX);
                (pos, in_order(v.iter().map(|&u| number(u))))
            })
            .collect()
    }
}

/// How one context came out of a batch of changes.
enum Step {
    Keep,
    /// Ended; NOUPDATE with this text.
    Drop(&'static str),
}

impl Cx {
    /// After a sync: ADDTO and REMOVEFROM for messages that changed (new,
    /// or flags changed) since each context last looked.
    pub(super) async fn update_contexts(&mut self) {
        if self
            .selected
            .as_ref()
            .is_none_or(|s| s.contexts.list.is_empty())
        {
            return;
        }
        let Some(store) = self.store() else {
            return;
        };
        let Some(sel) = self.selected.as_mut() else {
            return;
        };
        // One scan of the mailbox for all contexts, from the oldest mark.
        let since = sel.contexts.list.iter().map(|c| c.seen_modseq).min();
        let since = since.unwrap_or(0);
        if sel.view.highest_modseq() <= since {
            return;
        }
        let changed = match store.changed_since(sel.view.id, since) {
            Ok(c) => c,
            Err(e) => {
                // The sync just read the same mailbox; it reports failures.
                tracing::warn!(error = %e, "changes for the update contexts");
                return;
            }
        };
        let list = std::mem::take(&mut sel.contexts.list);
        let mut keep = Vec::with_capacity(list.len());
        for mut c in list {
            let step = match self.step(&store, &changed, &mut c).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "update context failed");
                    Step::Drop("Updates stopped by an internal error")
                }
            };
            match step {
                Step::Keep => keep.push(c),
                Step::Drop(text) => noupdate(&mut self.conn.wbuf, &c.tag, text),
            }
        }
        if let Some(sel) = self.selected.as_mut() {
            // Contexts registered meanwhile cannot exist (no command ran),
            // but keep any rather than lose them.
            keep.append(&mut sel.contexts.list);
            sel.contexts.list = keep;
        }
    }

    async fn step(
        &mut self,
        store: &store::Store,
        changed: &[store::MessageInfo],
        c: &mut UpdateContext,
    ) -> Result<Step, ExecError> {
        let Some(sel) = self.selected.as_ref() else {
            return Ok(Step::Keep);
        };
        let view = &sel.view;
        let upto = view.highest_modseq();
        if upto <= c.seen_modseq {
            return Ok(Step::Keep);
        }
        let since = c.seen_modseq;
        c.seen_modseq = upto;
        let mine = changed.iter().filter(|m| m.modseq > since);
        if mine.clone().count() > self.shard.cfg.imap.context_max_changes {
            return Ok(Step::Drop("Too many changes at once, no more updates"));
        }
        let mut among: Vec<u32> = mine
            .filter_map(|m| view.seq_of(m.uid))
            .map(|s| s - 1)
            .collect();
        among.sort_unstable();
        among.dedup();
        if among.is_empty() {
            return Ok(Step::Keep);
        }
        let limits = parser_limits(&self.shard);
        let Ok(keys) = imap_proto::parse_search_keys(&c.keys, &limits) else {
            return Ok(Step::Drop("Search keys no longer valid"));
        };
        let ctx = imap_exec::search::SearchContext {
            saved: None,
            recent: if self.enabled.rev2 { &[] } else { &sel.recent },
            now: now_unix(),
            utf8: self.enabled.utf8,
            charset: c.charset.as_deref(),
            objectid: self.shard.cfg.imap.allows("OBJECTID"),
            savedate: self.shard.cfg.imap.allows("SAVEDATE"),
            within: self.shard.cfg.imap.allows("WITHIN"),
        };
        let msgs = view.messages();
        let outcome = imap_exec::search::search_among(
            store,
            view.id,
            &view.keywords,
            msgs,
            &among,
            &keys,
            &ctx,
        )
        .await?;
        let mut removed = Vec::new();
        let mut added = Vec::new();
        for &i in &among {
            let Some(m) = msgs.get(i as usize) else {
                continue;
            };
            let is = outcome.matches.binary_search(&i).is_ok();
            let was = c.members.binary_search(&m.uid).is_ok();
            if was && !is {
                removed.push(m.uid);
            } else if is && !was {
                added.push(i);
            }
        }
        if removed.is_empty() && added.is_empty() {
            return Ok(Step::Keep);
        }
        let added: Vec<Keyed> = match c.sorted.as_ref() {
            Some(s) => {
                let cache = sort::needs_keys(&s.criteria).then(|| sort::CacheRef {
                    cache: &self.shard.sort_cache,
                    key: sort::MailboxKey {
                        user: self.user.as_ref().map_or("", |u| u.name.as_str()).into(),
                        mailbox: view.id,
                        uidvalidity: view.uidvalidity,
                    },
                });
                sort::load(store, view.id, msgs, &added, cache).await?
            }
            // SEARCH needs only the UIDs.
            None => sort::load(store, view.id, msgs, &added, None).await?,
        };
        let by_uid = c.uid;
        let number = |u: u32| number(view, by_uid, u);
        let remove = if removed.is_empty() {
            Vec::new()
        } else {
            c.remove(&removed, &number)
        };
        let add = if added.is_empty() {
            Vec::new()
        } else {
            c.add(added, &number)
        };
        encode::esearch_update(&mut self.conn.wbuf, &c.tag, c.uid, &remove, &add);
        if c.members.len() > self.shard.cfg.imap.context_max_results {
            return Ok(Step::Drop("Result too large to follow, no more updates"));
        }
        Ok(Step::Keep)
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_joins_only_ascending_runs() {
        assert_eq!(in_order([5, 6, 7, 3, 4, 9]), vec![(5, 7), (3, 4), (9, 9)]);
        assert_eq!(in_order([7, 6]), vec![(7, 7), (6, 6)]);
    }

    #[test]
    fn in_ranges_finds_members() {
        let r = [(2, 4), (9, 9)];
        assert!(in_ranges(2, &r) && in_ranges(4, &r) && in_ranges(9, &r));
        assert!(!in_ranges(1, &r) && !in_ranges(5, &r) && !in_ranges(10, &r));
    }
}
