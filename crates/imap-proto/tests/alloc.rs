//! Zero heap allocations per hot command: a counting global allocator
//! (per thread, so parallel tests do not disturb each other) around parsing
//! and walking the parsed command.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::BytesMut;
use imap_proto::*;

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: delegates to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(|c| c.get());
    f();
    ALLOCS.with(|c| c.get()) - before
}

const HOT: &[&[u8]] = &[
    b"a1 NOOP\r\n",
    b"a2 IDLE\r\n",
    b"a3 FETCH 1:100 (FLAGS UID)\r\n",
    b"a4 UID FETCH 4827313:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID)]<0.2048>) (CHANGEDSINCE 12345)\r\n",
    b"a5 UID FETCH 1,5:9 (BODY.PEEK[1.2.MIME] BINARY.PEEK[2]<0.512> BINARY.SIZE[2] MODSEQ)\r\n",
    b"a6 UID FETCH 1:* FAST\r\n",
    b"a7 STORE 1:5 +FLAGS.SILENT (\\Seen \\Flagged $Junk)\r\n",
    b"a8 UID STORE 100:200 (UNCHANGEDSINCE 99) -FLAGS (\\Deleted)\r\n",
    b"a9 UID SEARCH UNSEEN SINCE 1-Feb-2024 UID 1:*\r\n",
    b"a10 UID SEARCH RETURN (MIN MAX COUNT) CHARSET UTF-8 OR (FLAGGED FROM \"joe\") NOT DELETED\r\n",
    b"a11 APPEND INBOX (\\Seen) \"14-Jul-2024 10:00:00 +0200\" {11+}\r\nHello world\r\n",
    b"a12 SELECT INBOX (CONDSTORE)\r\n",
];

/// Walk every part of a parsed command the way a server would.
fn walk(c: &Command<'_>) -> usize {
    let mut n = c.tag.len();
    match &c.body {
        CommandBody::Fetch { set, attrs, .. } => {
            n += set.iter().count();
            for a in attrs.iter() {
                if let FetchAttr::BodySection { section, .. } = a {
                    n += section.part.iter().count();
                    if let Some(SectionText::HeaderFields { fields, .. }) = section.text {
                        n += fields.iter().map(|f| f.len()).sum::<usize>();
                    }
                }
                n += 1;
            }
        }
        CommandBody::Store { set, flags, .. } => n += set.iter().count() + flags.iter().count(),
        CommandBody::Search { keys, .. } => {
            fn walk_keys(k: SearchKeys<'_>) -> usize {
                k.iter()
                    .map(|k| match k {
                        SearchKey::Or(a, b) => walk_keys(a) + walk_keys(b),
                        SearchKey::Not(a) | SearchKey::And(a) => walk_keys(a),
                        SearchKey::From(s) => s.len(),
                        _ => 1,
                    })
                    .sum()
            }
            n += walk_keys(*keys);
        }
        CommandBody::Append { first, .. } => n += first.data.len() + first.flags.iter().count(),
        _ => {}
    }
    n
}

#[test]
fn hot_commands_parse_without_allocating() {
    let mut reader = CommandReader::new(Limits::default());
    let mut stream = Vec::new();
    for c in HOT {
        stream.extend_from_slice(c);
    }
    stream.extend_from_slice(b"DONE\r\n");
    // Warm-up (lazy statics, thread-locals).
    let _ = reader.parse(HOT[0]);
    for cmd in HOT {
        let mut walked = 0;
        let n = allocations(|| match reader.parse(cmd) {
            Ok(Parsed::Command { command, consumed }) => {
                assert_eq!(consumed, cmd.len());
                walked = walk(&command);
            }
            other => panic!("{other:?}"),
        });
        assert!(walked > 0);
        assert_eq!(n, 0, "{} allocated {n} times", String::from_utf8_lossy(cmd));
    }
    let n = allocations(|| {
        let lim = Limits::default();
        assert!(matches!(
            parse_idle_done(b"DONE\r\n", &lim),
            Ok(Line::Done { consumed: 6, .. })
        ));
    });
    assert_eq!(n, 0);
    // A whole pipelined stream, too.
    let n = allocations(|| {
        let mut rest = &stream[..stream.len() - 6];
        let mut count = 0;
        while let Ok(Parsed::Command { command, consumed }) = reader.parse(rest) {
            count += walk(&command).min(1);
            rest = &rest[consumed..];
        }
        assert_eq!(count, HOT.len());
    });
    assert_eq!(n, 0);
}

#[test]
fn fetch_response_into_reserved_buffer_does_not_allocate() {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let body = vec![b'x'; 4096];
    let date = DateTime {
        date: Date {
            year: 2024,
            month: 7,
            day: 14,
        },
        hour: 10,
        minute: 0,
        second: 0,
        zone_minutes: 120,
    };
    let n = allocations(|| {
        for seq in 1..=10u32 {
            let mut f = encode::FetchResponse::begin(&mut buf, seq);
            f.uid(seq + 1000)
                .flags([&b"\\Seen"[..], b"$Junk"])
                .rfc822_size(4096)
                .internal_date(&date);
            f.body_section_name(&Section::default(), None)
                .literal_header(body.len() as u64, false)
                .raw(&body);
            f.finish();
        }
        encode::tagged(
            &mut buf,
            b"a4",
            encode::RespStatus::Ok,
            None,
            "FETCH completed",
        );
    });
    assert_eq!(n, 0);
    assert!(buf.starts_with(b"* 1 FETCH (UID 1001 FLAGS (\\Seen $Junk) RFC822.SIZE 4096"));
}

#[test]
fn counter_sees_allocations() {
    // The harness itself must be able to fail: a Vec-backed command allocates.
    let mut reader = CommandReader::new(Limits::default());
    let n = allocations(|| {
        let r = reader.parse(b"a ENABLE CONDSTORE QRESYNC\r\n");
        assert!(matches!(r, Ok(Parsed::Command { .. })));
    });
    assert!(n >= 1);
    let n = allocations(|| {
        std::hint::black_box(Vec::<u8>::with_capacity(8));
    });
    assert_eq!(n, 1);
}
