//! Property tests: `compute` survives any bytes, stored facts round-trip,
//! corrupted records are rejected without panicking, and every section range
//! lies inside the message.

use mime_facts::{Facts, SectionKind, compute};
use proptest::prelude::*;

const SEEDS: &[&str] = &[
    "From: a@example.com\r\nTo: G: b@x.y, c@z;\r\nSubject: Re: [l] hi\r\nContent-Type: multipart/mixed; boundary=X\r\n\r\npre\r\n--X\r\nContent-Type: text/plain\r\n\r\nhello\r\n--X\r\nContent-Type: message/rfc822\r\n\r\nSubject: in\r\nContent-Type: multipart/alternative; boundary=Y\r\n\r\n--Y\r\n\r\na\r\n--Y\r\nContent-Type: text/html\r\n\r\n<b>b</b>\r\n--Y--\r\n\r\n--X\r\nContent-Type: application/x; name*0*=utf-8''a; name*1*=b\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--X--\r\npost\r\n",
    "Content-Type: multipart/digest; boundary=D\n\n--D\n\nSubject: one\n\n1\n--D\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogaGkKCmJvZHkK\n--D--\n",
    "Subject: =?utf-8?q?caf=C3=A9?=\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nCaf=C3=A9=\n au lait\n",
    "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogaGkKCmJvZHkK\r\n",
];

/// Fragments that make MIME structure likely when shuffled together.
const TOKENS: &[&str] = &[
    "\r\n",
    "\n",
    "\r\n\r\n",
    "--b\r\n",
    "--b--\r\n",
    "--c\r\n",
    "Content-Type: multipart/mixed; boundary=b\r\n",
    "Content-Type: multipart/digest; boundary=c\r\n",
    "Content-Type: message/rfc822\r\n",
    "Content-Type: text/html\r\n",
    "Content-Transfer-Encoding: base64\r\n",
    "Content-Transfer-Encoding: quoted-printable\r\n",
    "Content-Disposition: attachment; filename=\"x\"\r\n",
    "From: \"a\" <b@c>, (x) d@e\r\n",
    "To: g:;\r\n",
    "Subject: Fwd: x\r\n",
    " folded\r\n",
    "AAAA",
    "=C3=",
    "<p>",
    "\u{e9}",
    "(",
    "\"",
];

fn check(raw: &[u8], f: &Facts) {
    assert_eq!(f.size, raw.len() as u64);
    let bytes = f.to_bytes();
    let back = Facts::from_bytes(&bytes).expect("own encoding reads back");
    assert_eq!(&back, f);
    // Every path up to depth 3 with part numbers 0..=3, every kind.
    let mut paths: Vec<Vec<u32>> = vec![vec![]];
    let mut frontier: Vec<Vec<u32>> = vec![vec![]];
    for _ in 0..3 {
        frontier = frontier
            .iter()
            .flat_map(|p| {
                (0..=3).map(move |n| {
                    let mut q = p.clone();
                    q.push(n);
                    q
                })
            })
            .collect();
        paths.extend(frontier.iter().cloned());
    }
    for p in &paths {
        for kind in [
            SectionKind::Full,
            SectionKind::Header,
            SectionKind::Text,
            SectionKind::Mime,
        ] {
            if let Some(r) = f.section(p, kind) {
                assert!(
                    r.start <= r.end && r.end <= raw.len(),
                    "{p:?} {kind:?} {r:?} of {}",
                    raw.len()
                );
            }
        }
    }
    assert!(f.preview.chars().count() <= 200);
}

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Replace(usize, u8),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), 1usize..40).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Replace(p, b)),
        (any::<usize>(), 1usize..60).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
    ]
}

fn apply(raw: &mut Vec<u8>, m: &Mutation) {
    let len = raw.len().max(1);
    match m {
        Mutation::Insert(p, b) => {
            let at = p % (raw.len() + 1);
            raw.splice(at..at, b.iter().copied());
        }
        Mutation::Delete(p, n) => {
            let at = p % len;
            let end = (at + n).min(raw.len());
            if at < end {
                raw.drain(at..end);
            }
        }
        Mutation::Replace(p, b) => {
            if !raw.is_empty() {
                let at = p % raw.len();
                raw[at] = *b;
            }
        }
        Mutation::Duplicate(p, n) => {
            let at = p % len;
            let end = (at + n).min(raw.len());
            if at < end {
                let copy = raw[at..end].to_vec();
                raw.splice(end..end, copy);
            }
        }
    }
}

/// Case count: `PROPTEST_CASES` when set (for long local runs), else a
/// count that keeps debug-build CI fast.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(512), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
        let f = compute(&raw);
        check(&raw, &f);
    }

    #[test]
    fn token_soup(tokens in prop::collection::vec(0..TOKENS.len(), 0..120)) {
        let raw: Vec<u8> = tokens.iter().flat_map(|&t| TOKENS[t].bytes()).collect();
        let f = compute(&raw);
        check(&raw, &f);
    }

    #[test]
    fn mutated_valid_messages(seed in 0..SEEDS.len(), muts in prop::collection::vec(mutation(), 1..8)) {
        let mut raw = SEEDS[seed].as_bytes().to_vec();
        for m in &muts {
            apply(&mut raw, m);
        }
        let f = compute(&raw);
        check(&raw, &f);
    }

    #[test]
    fn corrupted_records_never_panic(
        seed in 0..SEEDS.len(),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
        misalign in 0usize..8,
    ) {
        let f = compute(SEEDS[seed].as_bytes());
        let mut bytes = f.to_bytes();
        // Read from an odd offset too: from_bytes must not assume alignment.
        let mut shifted = vec![0u8; misalign];
        shifted.extend_from_slice(&bytes);
        prop_assert_eq!(Facts::from_bytes(&shifted[misalign..]).unwrap(), f.clone());
        for (p, b) in &flips {
            let at = p % bytes.len();
            bytes[at] ^= b | 1;
        }
        if let Ok(g) = Facts::from_bytes(&bytes) {
            // Whatever validates must be a usable tree.
            for kind in [SectionKind::Full, SectionKind::Header, SectionKind::Text, SectionKind::Mime] {
                for path in [&[][..], &[1], &[1, 1], &[2, 1, 1]] {
                    if let Some(r) = g.section(path, kind) {
                        prop_assert!(r.start <= r.end && r.end as u64 <= g.size);
                    }
                }
            }
        }
        let _ = Facts::sort_keys_from_bytes(&bytes);
        let cut = cut % bytes.len();
        let _ = Facts::from_bytes(&bytes[..cut]);
        let _ = Facts::sort_keys_from_bytes(&bytes[..cut]);
    }
}

#[test]
fn wrong_version_and_empty_are_errors() {
    let f = compute(SEEDS[0].as_bytes());
    let mut bytes = f.to_bytes();
    bytes[0] = bytes[0].wrapping_add(1);
    assert!(matches!(
        Facts::from_bytes(&bytes),
        Err(mime_facts::FactsError::Version { .. })
    ));
    assert!(matches!(
        Facts::from_bytes(&[]),
        Err(mime_facts::FactsError::Empty)
    ));
    assert!(Facts::from_bytes(&[mime_facts::FORMAT_VERSION]).is_err());
    assert!(matches!(
        Facts::sort_keys_from_bytes(&bytes),
        Err(mime_facts::FactsError::Version { .. })
    ));
    assert!(Facts::sort_keys_from_bytes(&[mime_facts::FORMAT_VERSION]).is_err());
}

#[test]
fn every_seed_parses_into_its_parts() {
    let counts: Vec<usize> = SEEDS
        .iter()
        .map(|s| compute(s.as_bytes()).parts.len())
        .collect();
    assert_eq!(counts, vec![7, 5, 1, 2]);
}
