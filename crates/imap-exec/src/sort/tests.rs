use super::keys::Keyed;
use super::thread::render;
use super::*;
use imap_proto::ThreadAlgorithm;
use mime_facts::{SortAddress, SortKeys};

fn item(index: u32, subject: &str, date: i64, id: &str, refs: &[&str]) -> Keyed {
    let (base, reply) = mime_facts_base(subject);
    Keyed {
        index,
        uid: index + 1,
        internal_date: 1000 + i64::from(index),
        size: 100u32.saturating_sub(index),
        keys: std::rc::Rc::new(SortEntry::new(
            &SortKeys {
                sent_date: Some(date),
                base_subject: base,
                subject_is_reply_or_fwd: reply,
                from: Some(SortAddress {
                    mailbox: format!("user{}", 9 - i64::from(index)),
                    domain: "example.org".into(),
                    name: String::new(),
                }),
                message_id: (!id.is_empty()).then(|| id.to_string()),
                references: refs.iter().map(|s| s.to_string()).collect(),
                ..SortKeys::default()
            },
            &IDS.with(|h| h.clone()),
        )),
    }
}

thread_local! {
    static IDS: std::collections::hash_map::RandomState = std::collections::hash_map::RandomState::new();
}

fn mime_facts_base(s: &str) -> (String, bool) {
    let reply = s.to_ascii_lowercase().starts_with("re:");
    let base = if reply { s[3..].trim() } else { s.trim() };
    (base.to_string(), reply)
}

fn shown(items: &[Keyed], alg: ThreadAlgorithm) -> String {
    let t = thread(items, alg);
    let mut out = Vec::new();
    render(&mut out, &t, &|i| items[i].index + 1);
    String::from_utf8(out).unwrap_or_default()
}

fn crit(key: SortKey, reverse: bool) -> SortCriterion {
    SortCriterion { key, reverse }
}

#[test]
fn sorts_by_criteria_then_sequence() {
    let mut items = vec![
        item(0, "b", 30, "", &[]),
        item(1, "A", 10, "", &[]),
        item(2, "a", 20, "", &[]),
        item(3, "c", 10, "", &[]),
    ];
    sort(&mut items, &[crit(SortKey::Subject, false)]);
    // "A" and "a" are equal under i;ascii-casemap: sequence order.
    assert_eq!(
        items.iter().map(|k| k.index).collect::<Vec<_>>(),
        [1, 2, 0, 3]
    );
    sort(
        &mut items,
        &[crit(SortKey::Date, true), crit(SortKey::Subject, false)],
    );
    assert_eq!(
        items.iter().map(|k| k.index).collect::<Vec<_>>(),
        [0, 2, 1, 3]
    );
    sort(&mut items, &[crit(SortKey::Size, false)]);
    assert_eq!(
        items.iter().map(|k| k.index).collect::<Vec<_>>(),
        [3, 2, 1, 0]
    );
    sort(&mut items, &[crit(SortKey::From, false)]);
    assert_eq!(
        items.iter().map(|k| k.index).collect::<Vec<_>>(),
        [3, 2, 1, 0]
    );
    // A missing Date header sorts by the internal date.
    std::rc::Rc::make_mut(&mut items[0].keys).sent_date = None;
    assert_eq!(items[0].sent_date(), items[0].internal_date);
}

#[test]
fn ordered_subject_groups_by_base_subject() {
    let items = vec![
        item(0, "hello", 10, "", &[]),
        item(1, "other", 5, "", &[]),
        item(2, "Re: hello", 20, "", &[]),
        item(3, "re: HELLO", 30, "", &[]),
        item(4, "alone", 40, "", &[]),
    ];
    assert_eq!(
        shown(&items, ThreadAlgorithm::OrderedSubject),
        "(2)(1 (3)(4))(5)"
    );
}

#[test]
fn references_builds_the_tree_and_keeps_missing_parents() {
    let items = vec![
        item(0, "topic", 10, "a", &[]),
        item(1, "Re: topic", 20, "b", &["a"]),
        item(2, "Re: topic", 30, "c", &["a", "b"]),
        item(3, "Re: topic", 25, "d", &["a"]),
        // Both reply to a message not in the mailbox: a dummy root.
        item(4, "lost", 50, "e", &["gone"]),
        item(5, "Re: lost", 60, "f", &["gone"]),
        item(6, "single", 70, "g", &[]),
        // Only the subject joins it to "single".
        item(7, "Re: single", 80, "h", &[]),
    ];
    assert_eq!(
        shown(&items, ThreadAlgorithm::References),
        "(1 (2 3)(4))((5)(6))(7 8)"
    );
}

#[test]
fn references_survives_loops_and_duplicate_ids() {
    let items = vec![
        item(0, "x", 10, "a", &["b"]),
        item(1, "y", 20, "b", &["a"]),
        item(2, "z", 30, "a", &[]),
    ];
    let out = shown(&items, ThreadAlgorithm::References);
    // Every message appears exactly once.
    for n in ["1", "2", "3"] {
        assert_eq!(out.matches(n).count(), 1, "{out}");
    }
}

/// A reply chain far deeper than any stack: threading and rendering it
/// must neither recurse nor go quadratic.
#[test]
fn a_chain_of_200000_replies_is_one_thread() {
    let n = 200_000u32;
    let ids: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
    let items: Vec<Keyed> = (0..n)
        .map(|i| {
            let parent: Vec<&str> = if i == 0 {
                vec![]
            } else {
                vec![ids[i as usize - 1].as_str()]
            };
            item(i, "chain", i64::from(i), &ids[i as usize], &parent)
        })
        .collect();
    let out = shown(&items, ThreadAlgorithm::References);
    let expect: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    assert_eq!(out, format!("({})", expect.join(" ")));
    // The same chain in reverse mailbox order: every parent arrives after
    // its child.
    let rev: Vec<Keyed> = items
        .iter()
        .enumerate()
        .map(|(k, it)| Keyed {
            index: n - 1 - k as u32,
            ..it.clone()
        })
        .collect();
    let out = shown(&rev, ThreadAlgorithm::References);
    assert!(out.starts_with('(') && out.ends_with(')'));
    assert!(!out.contains(")("), "one thread");
    assert_eq!(out.split(' ').count(), n as usize);
}

#[test]
fn single_criterion_fast_path_matches_the_comparator() {
    // Long keys sharing their first eight bytes, and keys that are
    // prefixes of others, for the eight-byte prefix comparison.
    let subjects = [
        "b",
        "A",
        "a",
        "c",
        "",
        "B b",
        "b",
        "subject two",
        "subject one",
        "subject",
        "subjec",
        "subject\0",
        "subject one more",
    ];
    let items: Vec<Keyed> = (0..300u32)
        .map(|i| {
            let s = subjects[(i as usize * 7) % subjects.len()];
            item(i % 97, s, i64::from((i * 31) % 11), "", &[])
        })
        .collect();
    for key in [
        SortKey::Arrival,
        SortKey::Size,
        SortKey::Date,
        SortKey::Subject,
        SortKey::From,
        SortKey::DisplayFrom,
        SortKey::Cc,
    ] {
        for reverse in [false, true] {
            let mut fast = items.clone();
            sort(&mut fast, &[crit(key, reverse)]);
            let mut slow = items.clone();
            slow.sort_by(|a, b| {
                let o = keys::compare(a, b, key);
                let o = if reverse { o.reverse() } else { o };
                o.then(a.index.cmp(&b.index))
            });
            let order = |v: &[Keyed]| v.iter().map(|k| (k.index, k.uid)).collect::<Vec<_>>();
            let (f, s) = (order(&fast), order(&slow));
            // Equal (key, index) pairs may come in either order; compare
            // what a client sees: the index sequence.
            assert_eq!(
                f.iter().map(|x| x.0).collect::<Vec<_>>(),
                s.iter().map(|x| x.0).collect::<Vec<_>>(),
                "{key:?} reverse={reverse}"
            );
        }
    }
}

#[test]
fn remembered_order_follows_arrivals_expunges_and_subsets() {
    use std::cell::RefCell;
    let words = [
        "delta", "alpha", "echo", "bravo", "alpha", "charlie", "", "Alpha",
    ];
    let mk = |uids: &[u32]| -> Vec<Keyed> {
        uids.iter()
            .enumerate()
            .map(|(i, &u)| Keyed {
                index: i as u32,
                uid: u,
                ..item(
                    u,
                    words[(u as usize * 5) % words.len()],
                    i64::from(u % 7),
                    "",
                    &[],
                )
            })
            .collect()
    };
    let cache = RefCell::new(SortCache::new(1 << 20));
    let cr = CacheRef {
        cache: &cache,
        key: MailboxKey {
            user: "u".into(),
            mailbox: 1,
            uidvalidity: 1,
        },
    };
    let uids = |v: &[Keyed]| v.iter().map(|k| k.uid).collect::<Vec<_>>();
    for c in [
        crit(SortKey::Subject, false),
        crit(SortKey::Subject, true),
        crit(SortKey::Date, false),
    ] {
        let check = |set: &[u32], all: bool| {
            let mut fast = mk(set);
            sort_remembered(&mut fast, &[c], Some(&cr), all);
            let mut plain = mk(set);
            sort(&mut plain, &[c]);
            assert_eq!(uids(&fast), uids(&plain), "{c:?} {set:?}");
        };
        let first: Vec<u32> = (1..=40).collect();
        check(&first, true);
        // Only string keys are worth remembering.
        let text = c.key != SortKey::Date;
        assert_eq!(cache.borrow_mut().order(&cr.key, c).is_some(), text);
        // Some expunged, some arrived.
        let later: Vec<u32> = (1..=60).filter(|u| u % 3 != 0).collect();
        check(&later, true);
        // A search's subset, which must not replace the whole order.
        let subset: Vec<u32> = later.iter().copied().filter(|u| u % 2 == 0).collect();
        check(&subset, false);
        let remembered = cache.borrow_mut().order(&cr.key, c).map(|o| o.len());
        assert_eq!(remembered, text.then_some(later.len()));
        check(&later, true);
        // UIDs too sparse for a table: found by binary search.
        let sparse: Vec<u32> = (1..=30).map(|u| u * 10).chain([1000, 5000]).collect();
        check(&sparse, true);
        check(&later, true);
    }
    // With no budget nothing is remembered and the result is the same.
    let none = RefCell::new(SortCache::new(0));
    let cr0 = CacheRef {
        cache: &none,
        key: cr.key.clone(),
    };
    let mut v = mk(&[3, 1, 2]);
    v.sort_by_key(|k| k.uid);
    sort_remembered(&mut v, &[crit(SortKey::Subject, false)], Some(&cr0), true);
    assert!(
        none.borrow_mut()
            .order(&cr0.key, crit(SortKey::Subject, false))
            .is_none()
    );
}
