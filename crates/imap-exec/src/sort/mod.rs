//! SORT (RFC 5256, with RFC 5957's DISPLAYFROM/DISPLAYTO) and THREAD
//! (ORDEREDSUBJECT, REFERENCES) over a search's matches, from the sort
//! keys stored with each message at delivery (no message is re-parsed).
//! Strings compare under i;ascii-casemap, the collation RFC 5256 names;
//! ties fall back to the mailbox order (sequence number).

mod keys;
mod thread;

pub use keys::Keyed;
pub use thread::{Thread, render as render_threads, thread};

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

/// The matches (indexes into `msgs`), each with its keys loaded when
/// `with_keys`. Messages expunged meanwhile are left out.
pub async fn load(
    store: &Store,
    mailbox: MailboxId,
    msgs: &[MessageInfo],
    matches: &[u32],
    with_keys: bool,
) -> Result<Vec<Keyed>, ExecError> {
    keys::load(store, mailbox, msgs, matches, with_keys).await
}

/// Sorts `items` by `criteria`, then by sequence number.
pub fn sort(items: &mut [Keyed], criteria: &[SortCriterion]) {
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

/// `* SORT ...`, or with RETURN (ESORT, RFC 5267) `* ESEARCH (TAG ..)`
/// whose MIN and MAX are the first and last in sort order and whose ALL
/// keeps the sort order (ranges only of consecutive runs).
pub fn render_sort(
    buf: &mut bytes::BytesMut,
    tag: &[u8],
    uid: bool,
    returns: Option<imap_proto::SearchReturn>,
    sorted: &[Keyed],
    modseq_of: Option<&dyn Fn(u32) -> u64>,
) {
    use imap_proto::encode;
    let number = |k: &Keyed| if uid { k.uid } else { k.index + 1 };
    let highest = |ks: &mut dyn Iterator<Item = &Keyed>| -> Option<u64> {
        let f = modseq_of?;
        ks.map(|k| f(k.index)).max()
    };
    let Some(r) = returns else {
        let modseq = highest(&mut sorted.iter());
        encode::sort(buf, sorted.iter().map(number), modseq);
        return;
    };
    let r = r.effective();
    let (first, last) = (sorted.first(), sorted.last());
    // In sort order: ranges only of consecutive ascending runs.
    let runs = |ks: &[Keyed]| {
        let mut out: Vec<(u32, u32)> = Vec::new();
        for n in ks.iter().map(number) {
            match out.last_mut() {
                Some(l) if l.1.checked_add(1) == Some(n) => l.1 = n,
                _ => out.push((n, n)),
            }
        }
        out
    };
    let all = if r.all { runs(sorted) } else { Vec::new() };
    let window: &[Keyed] = match r.partial {
        Some(p) => &sorted[encode::partial_window(sorted.len(), p)],
        None => &[],
    };
    let part = runs(window);
    let modseq = if r.all || r.count {
        highest(&mut sorted.iter())
    } else {
        highest(
            &mut [first.filter(|_| r.min), last.filter(|_| r.max)]
                .into_iter()
                .flatten()
                .chain(window.iter()),
        )
    };
    let data = encode::Esearch {
        min: first.filter(|_| r.min).map(number),
        max: last.filter(|_| r.max).map(number),
        count: r
            .count
            .then(|| u32::try_from(sorted.len()).unwrap_or(u32::MAX)),
        all: (r.all && !all.is_empty()).then_some(all.as_slice()),
        modseq,
        partial: r.partial.map(|p| (p, part.as_slice())),
    };
    encode::esearch(buf, Some(tag), uid, &data);
}

#[cfg(test)]
mod tests;
