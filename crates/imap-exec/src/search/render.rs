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
            let (first, last) = (matches.first().copied(), matches.last().copied());
            let whole = r.all || r.count;
            let window: &[u32] = match r.partial {
                Some(p) => &matches[encode::partial_window(matches.len(), p)],
                None => &[],
            };
            // SAVE keeps what the other options return (RFC 5182 §2.4,
            // with PARTIAL its window, RFC 9394).
            let saved = r.save.then(|| {
                let picked: Vec<u32> = if whole || !(r.min || r.max || r.partial.is_some()) {
                    matches.to_vec()
                } else {
                    let mut v: Vec<u32> = [first.filter(|_| r.min), last.filter(|_| r.max)]
                        .into_iter()
                        .flatten()
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
            let all: Vec<(u32, u32)> = if r.all {
                compress(matches.iter().map(|&i| number(i)))
            } else {
                Vec::new()
            };
            // The MODSEQ is of the messages the response names: all of
            // them for ALL/COUNT, else the MIN/MAX ones (RFC 7162 3.1.5).
            let part = compress(window.iter().map(|&i| number(i)));
            let modseq = if whole {
                highest(&mut matches.iter().copied())
            } else {
                highest(
                    &mut [first.filter(|_| r.min), last.filter(|_| r.max)]
                        .into_iter()
                        .flatten()
                        .chain(window.iter().copied()),
                )
            };
            let data = Esearch {
                min: first.filter(|_| r.min).map(number),
                max: last.filter(|_| r.max).map(number),
                count: r
                    .count
                    .then(|| u32::try_from(matches.len()).unwrap_or(u32::MAX)),
                all: r.all.then_some(all.as_slice()),
                modseq,
                partial: r.partial.map(|p| (p, part.as_slice())),
            };
            encode::esearch(buf, Some(tag), uid, &data);
            saved
        }
    }
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
