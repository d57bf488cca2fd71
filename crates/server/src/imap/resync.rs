//! CONDSTORE/QRESYNC (RFC 7162) pieces that are not one command's: UID
//! sets against the expunge history, and the resync a SELECT/EXAMINE
//! (QRESYNC ...) answers with.

use super::session::Selected;
use imap_exec::fetch::flag_names;
use imap_proto::SequenceSet;
use imap_proto::encode;
use store::Store;

/// A UID set as sorted, merged, inclusive ranges; `*` is `largest`.
pub fn uid_ranges(set: &SequenceSet<'_>, largest: u32) -> Vec<(u32, u32)> {
    let mut r: Vec<(u32, u32)> = set.iter().map(|x| x.resolve(largest)).collect();
    merge(&mut r);
    r
}

fn merge(r: &mut Vec<(u32, u32)>) {
    r.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(r.len());
    for &(lo, hi) in r.iter() {
        match out.last_mut() {
            Some(l) if lo <= l.1.saturating_add(1) => l.1 = l.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    *r = out;
}

/// The UIDs in both range lists (each sorted and merged).
pub fn intersect(a: &[(u32, u32)], b: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let lo = a[i].0.max(b[j].0);
        let hi = a[i].1.min(b[j].1);
        if lo <= hi {
            out.push((lo, hi));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// `* VANISHED (EARLIER)` for the UIDs of `within` expunged after
/// `modseq`; nothing when none were.
pub fn vanished_earlier(
    store: &Store,
    sel: &Selected,
    modseq: u64,
    within: &[(u32, u32)],
    out: &mut bytes::BytesMut,
) -> Result<(), store::StoreError> {
    let gone = store.expunged_since(sel.view.id, modseq)?;
    let gone = intersect(&gone, within);
    if !gone.is_empty() {
        encode::vanished(out, true, &gone);
    }
    Ok(())
}

/// The SELECT/EXAMINE (QRESYNC (uidvalidity modseq [known-uids ...]))
/// answer after the usual responses: what was expunged among the known
/// UIDs, then every message changed since `modseq`, as
/// `FETCH (UID FLAGS MODSEQ)`. A UIDVALIDITY other than the mailbox's
/// means the client's cache is void: nothing is sent (it refetches).
pub fn after_select(
    store: &Store,
    sel: &Selected,
    q: &imap_proto::Qresync<'_>,
    rev1: bool,
    uid_only: bool,
    out: &mut bytes::BytesMut,
) -> Result<(), store::StoreError> {
    if q.uid_validity != sel.view.uidvalidity {
        return Ok(());
    }
    // `*` in known-uids is the largest UID the mailbox ever had; the
    // seq-match data only helps servers without a full expunge history.
    let largest = store.status(sel.view.id)?.uidnext.saturating_sub(1).max(1);
    let known = match &q.known_uids {
        Some(set) => uid_ranges(set, largest),
        None => vec![(1, u32::MAX)],
    };
    vanished_earlier(store, sel, q.mod_seq, &known, out)?;
    for (i, m) in sel.view.messages().iter().enumerate() {
        if m.modseq <= q.mod_seq {
            continue;
        }
        let recent = rev1 && sel.recent.binary_search(&m.uid).is_ok();
        let mut r = encode::FetchResponse::begin_keyed(out, i as u32 + 1, m.uid, uid_only);
        if !uid_only {
            r.uid(m.uid);
        }
        r.flags(flag_names(m.flags, recent, &m.keywords, &sel.view.keywords));
        r.modseq(m.modseq);
        r.finish();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersections_of_range_lists() {
        assert_eq!(intersect(&[(1, 10)], &[(5, 20)]), vec![(5, 10)]);
        assert_eq!(
            intersect(&[(1, 3), (7, 9), (15, 15)], &[(2, 8), (15, 30)]),
            vec![(2, 3), (7, 8), (15, 15)]
        );
        assert!(intersect(&[(1, 3)], &[(4, 9)]).is_empty());
        assert!(intersect(&[], &[(1, 9)]).is_empty());
        let mut r = vec![(9, 12), (1, 3), (4, 4), (11, 20)];
        merge(&mut r);
        assert_eq!(r, vec![(1, 4), (9, 20)]);
    }
}
