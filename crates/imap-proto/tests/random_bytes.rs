//! Fuzzing inside `cargo test`: 100k random and mutated byte strings
//! through the reader, the line helpers and the UTF-7 decoder. Nothing may
//! panic, hang or claim bytes it was not given. (The libFuzzer target in
//! `fuzz/` does the same for longer, coverage-guided.)

use imap_proto::*;
use proptest::prelude::*;

const SEEDS: &[&[u8]] = &[
    b"a1 UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.2048>) (CHANGEDSINCE 5 VANISHED)\r\n",
    b"a2 UID STORE 1,3:5 (UNCHANGEDSINCE 3) +FLAGS.SILENT (\\Seen $Junk)\r\na3 NOOP\r\n",
    b"a4 UID SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR (UNSEEN FLAGGED) NOT OR 1:5 $ SINCE 1-Feb-1994\r\n",
    b"a5 APPEND INBOX (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {5}\r\nhello ~{3+}\r\na\0c\r\n",
    b"a6 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"%\" INBOX*) RETURN (CHILDREN STATUS (MESSAGES SIZE))\r\n",
    b"a7 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211 (1:5 2:6)))\r\n",
    b"a8 NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER]) MessageExpunge))\r\n",
    b"a9 LOGIN {4+}\r\nfred \"x\\\"y\"\r\na10 AUTHENTICATE PLAIN dGVzdA==\r\n",
    b"a11 SETMETADATA INBOX (/private/comment {3+}\r\nabc)\r\na12 GETMETADATA (DEPTH 1) \"\" /shared\r\n",
];

fn limits() -> Limits {
    Limits {
        max_line: 256,
        max_literal: 1024,
        max_string_literal: 64,
        max_command: 4096,
        max_depth: 6,
        max_sequence_ranges: 8,
        max_arguments: 16,
    }
}

fn drain(data: &[u8]) -> usize {
    let mut r = CommandReader::new(limits());
    let mut buf = data;
    let mut n = 0;
    // Each step consumes at least one byte or stops: bounded by the input.
    for _ in 0..=data.len() {
        match r.parse(buf) {
            Ok(Parsed::Command { command, consumed }) => {
                assert!(consumed > 0 && consumed <= buf.len());
                if let CommandBody::Search { keys, .. } = &command.body {
                    let _ = keys.iter().count();
                }
                if let CommandBody::Fetch { attrs, set, .. } = &command.body {
                    let _ = attrs.iter().count() + set.iter().count();
                }
                buf = &buf[consumed..];
                n += 1;
            }
            Ok(_) => break,
            Err(e) => match e.recovery {
                Recovery::Resync { skip } => {
                    assert!(skip > 0 && skip <= buf.len(), "{e:?}");
                    buf = &buf[skip..];
                }
                Recovery::Close => break,
            },
        }
    }
    n
}

fn check(data: &[u8]) {
    drain(data);
    let lim = limits();
    if let Ok(Line::Done { consumed, .. }) = parse_idle_done(data, &lim) {
        assert!(consumed <= data.len());
    }
    if let Ok(Line::Done { consumed, .. }) = parse_auth_line(data, &lim) {
        assert!(consumed <= data.len());
    }
    if let Ok(name) = mutf7::decode(data) {
        assert_eq!(mutf7::encode(&name), data);
    }
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::sample::select(SEEDS),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..6),
    )
        .prop_map(|(seed, edits)| {
            let mut v = seed.to_vec();
            for (idx, byte, op) in edits {
                if v.is_empty() {
                    v.push(byte);
                    continue;
                }
                let i = idx.index(v.len());
                match op {
                    0 => v[i] = byte,
                    1 => v.insert(i, byte),
                    2 => {
                        v.remove(i);
                    }
                    _ => {
                        // Duplicate a slice: grows nesting and pipelining.
                        let end = (i + 1 + byte as usize % 16).min(v.len());
                        let chunk = v[i..end].to_vec();
                        v.splice(i..i, chunk);
                    }
                }
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 50_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        check(&data);
    }

    #[test]
    fn mutated_commands_never_panic(data in mutated()) {
        check(&data);
    }
}
