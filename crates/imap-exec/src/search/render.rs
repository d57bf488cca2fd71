//! Writing a search result: `* SEARCH` (IMAP4rev1, with `(MODSEQ n)` after
//! a MODSEQ key, RFC 7162) or `* ESEARCH` per the RETURN options (RFC 4731,
//! IMAP4rev2), and the set RETURN (SAVE) keeps (RFC 5182).

use bytes::BytesMut;
use imap_proto::SearchReturn;
use imap_proto::encode::{self, Esearch};
use store::MessageInfo;

use super::SearchOutcome;

/// Which response form to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchResponse<'a> {
    /// `* SEARCH n n n`: IMAP4rev1 without RETURN.
    Plain,
    /// `* ESEARCH (TAG "t") [UID] ...`: a RETURN option was given, or the
    /// session speaks IMAP4rev2 (pass `SearchReturn::default()`, which
    /// means ALL).
    Esearch {
        tag: &'a [u8],
        returns: SearchReturn,
    },
}

/// Writes the response for `outcome` (found over `msgs`) with UIDs when
/// `uid`, else sequence numbers. Returns the UIDs to remember as the saved
/// result when RETURN (SAVE) was given (the caller replaces `$` with it,
/// even when empty); None otherwise.
///
/// SAVE with MIN and/or MAX (and neither ALL nor COUNT) saves just those
/// messages (RFC 5182 §2.1); SAVE alone writes no ESEARCH response.
pub fn render_result(
    buf: &mut BytesMut,
    msgs: &[MessageInfo],
    outcome: &SearchOutcome,
    uid: bool,
    response: SearchResponse<'_>,
) -> Option<Vec<u32>> {
    let info = |idx: u32| msgs.get(idx as usize);
    let number = |idx: u32| {
        if uid {
            info(idx).map_or(0, |m| m.uid)
        } else {
            idx.saturating_add(1)
        }
    };
    let matches = &outcome.matches;
    let highest = |idxs: &mut dyn Iterator<Item = u32>| -> Option<u64> {
        if !outcome.uses_modseq {
            return None;
        }
        idxs.filter_map(|i| info(i).map(|m| m.modseq)).max()
    };
    match response {
        SearchResponse::Plain => {
            let modseq = highest(&mut matches.iter().copied());
            encode::search(buf, matches.iter().map(|&i| number(i)), modseq);
            None
        }
        SearchResponse::Esearch { tag, returns } => {
            let r = returns.effective();
            let (first, last, window) = picks(&r, matches);
            // SAVE keeps what the other options return (RFC 5182 §2.4,
            // with PARTIAL its window, RFC 9394).
            let saved = r.save.then(|| {
                let picked: Vec<u32> =
                    if r.all || r.count || !(r.min || r.max || r.partial.is_some()) {
                        matches.to_vec()
                    } else {
                        let mut v: Vec<u32> = first
                            .into_iter()
                            .chain(last)
                            .chain(window.iter().copied())
                            .collect();
                        v.sort_unstable();
                        v.dedup();
                        v
                    };
                picked
                    .into_iter()
                    .filter_map(|i| info(i).map(|m| m.uid))
                    .collect()
            });
            if r.save && !(r.min || r.max || r.all || r.count || r.partial.is_some()) {
                return saved;
            }
            let modseq_of = |i: u32| info(i).map_or(0, |m| m.modseq);
            let modseq: Option<&dyn Fn(u32) -> u64> = outcome.uses_modseq.then_some(&modseq_of);
            write_esearch(buf, tag, uid, &r, matches, &number, modseq);
            saved
        }
    }
}

/// What MIN, MAX and PARTIAL pick from `ordered` (view indexes in response
/// order: ascending for SEARCH, sort order for SORT).
fn picks<'o>(r: &SearchReturn, ordered: &'o [u32]) -> (Option<u32>, Option<u32>, &'o [u32]) {
    let window: &[u32] = match r.partial {
        Some(p) => &ordered[encode::partial_window(ordered.len(), p)],
        None => &[],
    };
    (
        ordered.first().copied().filter(|_| r.min),
        ordered.last().copied().filter(|_| r.max),
        window,
    )
}

/// `* ESEARCH` for the RETURN options `r` (already effective) over
/// `ordered`; `number` maps a view index to what the client sees, and
/// `modseq` (after a MODSEQ key) gives the MODSEQ reported: the highest of
/// the messages the response names (RFC 7162 §3.1.5). ALL keeps the order:
/// ranges are made only of consecutive ascending runs.
pub(crate) fn write_esearch(
    buf: &mut BytesMut,
    tag: &[u8],
    uid: bool,
    r: &SearchReturn,
    ordered: &[u32],
    number: &dyn Fn(u32) -> u32,
    modseq: Option<&dyn Fn(u32) -> u64>,
) {
    let (first, last, window) = picks(r, ordered);
    let all = if r.all {
        compress(ordered.iter().map(|&i| number(i)))
    } else {
        Vec::new()
    };
    let part = compress(window.iter().map(|&i| number(i)));
    let named: &mut dyn Iterator<Item = u32> = if r.all || r.count {
        &mut ordered.iter().copied()
    } else {
        &mut first.into_iter().chain(last).chain(window.iter().copied())
    };
    let modseq = modseq.and_then(|f| named.map(f).max());
    let data = Esearch {
        min: first.map(number),
        max: last.map(number),
        count: r
            .count
            .then(|| u32::try_from(ordered.len()).unwrap_or(u32::MAX)),
        all: r.all.then_some(all.as_slice()),
        modseq,
        partial: r.partial.map(|p| (p, part.as_slice())),
    };
    encode::esearch(buf, Some(tag), uid, &data);
}

/// Ascending numbers as inclusive ranges (`1:3,7`).
fn compress(nums: impl Iterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for n in nums {
        match out.last_mut() {
            Some(last) if last.1.checked_add(1) == Some(n) => last.1 = n,
            _ => out.push((n, n)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_joins_runs() {
        assert_eq!(
            compress([1, 2, 3, 5, 7, 8].into_iter()),
            vec![(1, 3), (5, 5), (7, 8)]
        );
        assert_eq!(compress(std::iter::empty()), vec![]);
    }
}
