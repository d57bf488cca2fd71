//! SORT (RFC 5256, with RFC 5957's DISPLAYFROM/DISPLAYTO) and THREAD
//! (ORDEREDSUBJECT, REFERENCES) over a search's matches, from the sort
//! keys stored with each message at delivery (no message is re-parsed).
//! Strings compare under i;ascii-casemap, the collation RFC 5256 names;
//! ties fall back to the mailbox order (sequence number).

mod cache;
mod entry;
mod keys;
mod thread;

pub use cache::{MailboxKey, SortCache};
pub use entry::SortEntry;
pub use keys::{CacheRef, Keyed};
pub use thread::{Threads, render as render_threads, thread};

use crate::error::ExecError;
use imap_proto::{SortCriterion, SortKey};
use std::cmp::Ordering;
use store::{MailboxId, MessageInfo, Store};

/// Whether any criterion needs the stored keys (ARRIVAL and SIZE are in
/// the index).
pub fn needs_keys(criteria: &[SortCriterion]) -> bool {
    criteria
        .iter()
        .any(|c| !matches!(c.key, SortKey::Arrival | SortKey::Size))
}

/// The matches (indexes into `msgs`), each with its keys, from the cache
/// or the stored facts, when `with_keys` says where to cache them.
/// Messages expunged meanwhile are left out.
pub async fn load(
    store: &Store,
    mailbox: MailboxId,
    msgs: &[MessageInfo],
    matches: &[u32],
    with_keys: Option<CacheRef<'_>>,
) -> Result<Vec<Keyed>, ExecError> {
    keys::load(store, mailbox, msgs, matches, with_keys).await
}

/// Sorts `items` by `criteria`, then by sequence number.
pub fn sort(items: &mut Vec<Keyed>, criteria: &[SortCriterion]) {
    if let [one] = criteria {
        return sort_by_one(items, *one);
    }
    items.sort_by(|a, b| {
        for c in criteria {
            let o = keys::compare(a, b, c.key);
            let o = if c.reverse { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.index.cmp(&b.index)
    });
}

/// [`sort`], remembering in the cache the order of a single-criterion
/// SORT of the whole mailbox (`all`: `items` are every message), so the
/// next SORT by that criterion walks the remembered order, skipping UIDs
/// that are gone or did not match, and only sorts the messages that
/// arrived since, merging them in. Keys never change and ties go by UID,
/// so a remembered order stays right however the mailbox changes.
pub fn sort_remembered(
    items: &mut Vec<Keyed>,
    criteria: &[SortCriterion],
    cache: Option<&CacheRef<'_>>,
    all: bool,
) {
    // Numbers (dates, sizes) sort faster than the remembered order is
    // walked; strings are what is worth remembering.
    let (Some(cr), [one]) = (cache, criteria) else {
        return sort(items, criteria);
    };
    if keys::text_field(one.key).is_none() {
        return sort(items, criteria);
    }
    let known = cr.cache.borrow_mut().order(&cr.key, *one);
    // The remembered order is already this one: nothing to store again.
    let mut unchanged = false;
    match known {
        None => sort(items, criteria),
        Some(prev) => {
            let mut placed = vec![false; items.len()];
            let at = Positions::new(items);
            let walked: Vec<usize> = prev
                .iter()
                .filter_map(|&u| at.of(items, u))
                .inspect(|&p| placed[p] = true)
                .collect();
            let mut fresh: Vec<Keyed> = items
                .iter()
                .zip(&placed)
                .filter(|(_, p)| !**p)
                .map(|(k, _)| k.clone())
                .collect();
            unchanged = fresh.is_empty() && walked.len() == prev.len();
            sort(&mut fresh, criteria);
            // Moved, not cloned: a clone would touch every entry's count,
            // a cache miss per message on a million.
            let mut slots: Vec<Option<Keyed>> =
                std::mem::take(items).into_iter().map(Some).collect();
            let mut out = Vec::with_capacity(slots.len());
            let mut fresh = fresh.into_iter().peekable();
            for p in walked {
                let Some(k) = slots.get_mut(p).and_then(Option::take) else {
                    continue;
                };
                while let Some(f) = fresh.next_if(|f| compare(f, &k, criteria) == Ordering::Less) {
                    out.push(f);
                }
                out.push(k);
            }
            out.extend(fresh);
            *items = out;
        }
    }
    if all && !unchanged {
        let order = items.iter().map(|k| k.uid).collect();
        cr.cache.borrow_mut().put_order(&cr.key, *one, order);
    }
}

/// Where a UID is in `items`, which are in mailbox order (by UID): a
/// table by UID where UIDs are dense (the usual mailbox), else a binary
/// search, which on a million messages is twenty cache misses a lookup.
enum Positions {
    Table { first: u32, at: Vec<u32> },
    Search,
}

impl Positions {
    fn new(items: &[Keyed]) -> Positions {
        let (Some(a), Some(b)) = (items.first(), items.last()) else {
            return Positions::Search;
        };
        let span = (b.uid - a.uid) as usize + 1;
        if span > items.len().saturating_mul(4) {
            return Positions::Search;
        }
        let mut at = vec![u32::MAX; span];
        for (p, k) in items.iter().enumerate() {
            if let Some(slot) = at.get_mut((k.uid - a.uid) as usize) {
                *slot = p as u32;
            }
        }
        Positions::Table { first: a.uid, at }
    }

    fn of(&self, items: &[Keyed], u: u32) -> Option<usize> {
        match self {
            Positions::Table { first, at } => {
                let p = *at.get(u.checked_sub(*first)? as usize)?;
                (p != u32::MAX).then_some(p as usize)
            }
            Positions::Search => items.binary_search_by_key(&u, |k| k.uid).ok(),
        }
    }
}

/// The order [`sort`] gives, for placing one message among sorted ones.
/// Ties go by UID, which is mailbox order and, unlike `index`, does not
/// change when messages before it are expunged.
pub fn compare(a: &Keyed, b: &Keyed, criteria: &[SortCriterion]) -> Ordering {
    for c in criteria {
        let o = keys::compare(a, b, c.key);
        let o = if c.reverse { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.uid.cmp(&b.uid)
}

/// The common single-criterion SORT: the keys are gathered into one
/// contiguous array first, so comparisons do not chase each message's
/// entry through the cache (a third of the time on 100,000 messages).
fn sort_by_one(items: &mut Vec<Keyed>, c: SortCriterion) {
    let dir = |o: Ordering| if c.reverse { o.reverse() } else { o };
    let perm: Vec<u32> = match keys::text_field(c.key) {
        Some(f) => {
            // The first eight bytes as a big-endian number order like the
            // bytes do (shorter keys pad with zeros, and a key that is a
            // prefix of another sorts first either way), and most pairs
            // differ there, so most comparisons never reach memcmp.
            let mut v: Vec<(u64, &[u8], u32, u32)> = items
                .iter()
                .enumerate()
                .map(|(p, k)| {
                    let t = k.keys.text(f);
                    (text_prefix(t), t, k.index, p as u32)
                })
                .collect();
            v.sort_unstable_by(|a, b| {
                dir(a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1))).then(a.2.cmp(&b.2))
            });
            v.into_iter().map(|x| x.3).collect()
        }
        None => {
            let mut v: Vec<(i64, u32, u32)> = items
                .iter()
                .enumerate()
                .map(|(p, k)| (keys::number(k, c.key), k.index, p as u32))
                .collect();
            v.sort_unstable_by(|a, b| dir(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
            v.into_iter().map(|x| x.2).collect()
        }
    };
    // Moved, not cloned: a clone would touch every entry's count, a cache
    // miss per message on a million.
    let mut slots: Vec<Option<Keyed>> = std::mem::take(items).into_iter().map(Some).collect();
    *items = perm
        .iter()
        .filter_map(|&p| slots.get_mut(p as usize).and_then(Option::take))
        .collect();
}

fn text_prefix(t: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = t.len().min(8);
    b[..n].copy_from_slice(&t[..n]);
    u64::from_be_bytes(b)
}

/// `* SORT ...`, or with RETURN (ESORT, RFC 5267) `* ESEARCH (TAG ..)`
/// whose MIN and MAX are the first and last in sort order and whose ALL
/// keeps the sort order (ranges only of consecutive runs). `msgs` is the
/// view the items index; `uses_modseq`: a MODSEQ key was searched on.
pub fn render_sort(
    buf: &mut bytes::BytesMut,
    tag: &[u8],
    uid: bool,
    returns: Option<imap_proto::SearchReturn>,
    sorted: &[Keyed],
    msgs: &[MessageInfo],
    uses_modseq: bool,
) {
    let number = |i: u32| {
        if uid {
            msgs.get(i as usize).map_or(0, |m| m.uid)
        } else {
            i + 1
        }
    };
    let modseq_of = |i: u32| msgs.get(i as usize).map_or(0, |m| m.modseq);
    let modseq: Option<&dyn Fn(u32) -> u64> = uses_modseq.then_some(&modseq_of);
    let ordered: Vec<u32> = sorted.iter().map(|k| k.index).collect();
    match returns {
        None => {
            let highest = modseq.and_then(|f| ordered.iter().map(|&i| f(i)).max());
            imap_proto::encode::sort(buf, ordered.iter().map(|&i| number(i)), highest);
        }
        Some(r) => crate::search::render::write_esearch(
            buf,
            tag,
            uid,
            &r.effective(),
            &ordered,
            &number,
            modseq,
        ),
    }
}

#[cfg(test)]
mod tests;
