use super::*;
use std::io::Cursor;
use std::path::Path;

fn read_all(data: &[u8], variant: Variant) -> (Vec<Message>, Option<u32>, Option<u32>) {
    let mut r = Reader::new(Cursor::new(data), variant);
    let msgs: Vec<Message> = r.by_ref().map(|m| m.unwrap()).collect();
    (msgs, r.uidvalidity(), r.uidnext())
}

const TRICKY: &[u8] = b"From alice@example.com Mon Jan  2 15:04:05 2006\n\
X-IMAPbase: 1700000000 0000000010 $Junk work\n\
Status: RO\n\
X-Status: AF\n\
X-Keywords: $Junk, work\n\
X-UID: 3\n\
Content-Length: 99\n\
Subject: one\n\
X-Keywords-Not: kept\n\
\n\
Body.\n\
From here on, not a separator\n\
>From quoted\n\
>>From double\n\
>not From\n\
\n\
From bob Tue Feb  3 04:05:06 2009\n\
Status: O\r\n\
X-UID: 4\r\n\
Subject: two\r\n\
\r\n\
crlf body\r\n\
\n\
From carol@example.org Sat Jan  1 00:00:00 2000\n\
X-Status: TD\n\
x-keywords: a\n \tb\n\
Subject: three\n\
\n\
\n\
From unparsable date\n\
Subject: four\n\
\n\
last line without newline";

#[test]
fn tricky_from_lines_and_metadata_headers_mboxrd() {
    let (msgs, v, n) = read_all(TRICKY, Variant::Mboxrd);
    assert_eq!((v, n), (Some(1_700_000_000), Some(10)));
    assert_eq!(msgs.len(), 4);
    assert_eq!(
        msgs[0],
        Message {
            meta: Meta {
                uid: Some(3),
                flags: SEEN | ANSWERED | FLAGGED,
                keywords: vec!["$Junk".into(), "work".into()],
                internal_date: 1_136_214_245,
            },
            raw: b"Subject: one\nX-Keywords-Not: kept\n\nBody.\n\
                   From here on, not a separator\nFrom quoted\n>From double\n>not From\n"
                .to_vec(),
        }
    );
    assert_eq!(
        msgs[1],
        Message {
            meta: Meta {
                uid: Some(4),
                flags: 0,
                keywords: vec![],
                internal_date: 1_233_633_906,
            },
            raw: b"Subject: two\r\n\r\ncrlf body\r\n".to_vec(),
        }
    );
    assert_eq!(
        msgs[2],
        Message {
            meta: Meta {
                uid: None,
                flags: DRAFT | DELETED,
                keywords: vec!["a".into(), "b".into()],
                internal_date: 946_684_800,
            },
            // Two empty lines before the next From_: one is the separator,
            // the other belongs to the message.
            raw: b"Subject: three\n\n".to_vec(),
        }
    );
    assert_eq!(
        msgs[3],
        Message {
            meta: Meta::default(),
            raw: b"Subject: four\n\nlast line without newline".to_vec(),
        }
    );
}

#[test]
fn mboxo_unquotes_only_one_level() {
    let (msgs, _, _) = read_all(TRICKY, Variant::Mboxo);
    assert_eq!(msgs.len(), 4);
    assert_eq!(
        msgs[0].raw,
        b"Subject: one\nX-Keywords-Not: kept\n\nBody.\n\
          From here on, not a separator\nFrom quoted\n>>From double\n>not From\n"
    );
    assert_eq!(msgs[1].raw, b"Subject: two\r\n\r\ncrlf body\r\n");
}

#[test]
fn not_an_mbox_is_an_error_and_empty_is_no_messages() {
    let mut r = Reader::new(
        Cursor::new(&b"Subject: x\n\nFrom a b\n"[..]),
        Variant::Mboxrd,
    )
    .with_path("/var/mail/x");
    match r.next() {
        Some(Err(Error::Format { path, line, .. })) => {
            assert_eq!(path, PathBuf::from("/var/mail/x"));
            assert_eq!(line, 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(r.next().is_none());

    // Leading blank lines are tolerated; the error names the right line.
    let mut r = Reader::new(Cursor::new(&b"\n\r\nFromage\n"[..]), Variant::Mboxrd);
    assert!(matches!(r.next(), Some(Err(Error::Format { line: 3, .. }))));

    for empty in [&b""[..], b"\n\n"] {
        let (msgs, v, n) = read_all(empty, Variant::Mboxrd);
        assert!(msgs.is_empty());
        assert_eq!((v, n), (None, None));
    }

    // Binary junk never panics.
    let junk: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let mut framed = b"From \xff\xfe\n".to_vec();
    framed.extend_from_slice(&junk);
    let msgs: Vec<_> = Reader::new(Cursor::new(&framed), Variant::Mboxrd).collect();
    assert!(msgs.iter().all(|m| m.is_ok()));
}

#[test]
fn io_errors_carry_the_path_and_end_the_stream() {
    struct Failing;
    impl std::io::Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let mut r = Reader::new(std::io::BufReader::new(Failing), Variant::Mboxo).with_path("f");
    assert!(matches!(r.next(), Some(Err(Error::Io { path, .. })) if path == Path::new("f")));
    assert!(r.next().is_none());
}

#[test]
fn uw_imap_pseudo_message_is_skipped() {
    let data = b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n\
X-IMAP: 0000000005 0000000009 $Junk\n\
Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n\
\n\
internal\n\
\n\
From a Thu Jan  1 00:00:01 1970\n\
X-UID: 8\n\
\n\
real\n";
    let (msgs, v, n) = read_all(data, Variant::Mboxrd);
    assert_eq!((v, n), (Some(5), Some(9)));
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].raw, b"\nreal\n");
    assert_eq!(msgs[0].meta.uid, Some(8));
    assert_eq!(msgs[0].meta.internal_date, 1);
}

fn sample() -> Vec<(u32, Meta, Vec<u8>)> {
    vec![
        (
            1,
            Meta {
                uid: None,
                flags: SEEN,
                keywords: vec!["$Forwarded".into(), "work".into()],
                internal_date: 1_136_214_245,
            },
            b"Subject: one\n\nFrom the start\n\nFrom x\n>From y\n>>From z\nFrom\n".to_vec(),
        ),
        (
            2,
            Meta {
                uid: None,
                flags: SEEN | ANSWERED | FLAGGED | DELETED | DRAFT,
                keywords: vec![],
                internal_date: 0,
            },
            b"Subject: crlf\r\n\r\nbody\r\n\r\nFrom me\r\n".to_vec(),
        ),
        (
            5,
            Meta {
                uid: None,
                flags: 0,
                keywords: vec!["$Junk".into()],
                internal_date: -1,
            },
            b"Subject: trailing blank lines\n\nx\n\n\n".to_vec(),
        ),
        (6, Meta::default(), b"\n".to_vec()),
    ]
}

#[test]
fn writer_reader_round_trip_is_byte_identical() {
    let mut w = Writer::new(Vec::new());
    for (i, (uid, meta, raw)) in sample().iter().enumerate() {
        let base = if i == 0 {
            Some((123, 7))
        } else {
            Some((999, 999))
        };
        w.add(*uid, meta, raw, base).unwrap();
    }
    let out = w.finish().unwrap();

    let first = b"From postcore@localhost Mon Jan  2 15:04:05 2006\n\
X-IMAPbase: 0000000123 0000000007\n\
X-UID: 1\n\
Status: RO\n\
X-Keywords: $Forwarded work\n\
Subject: one\n\n>From the start\n\n>From x\n>>From y\n>>>From z\nFrom\n\n\
From postcore@localhost Thu Jan  1 00:00:00 1970\n\
X-UID: 2\r\n\
Status: RO\r\n\
X-Status: AFTD\r\n\
Subject: crlf\r\n";
    assert_eq!(
        String::from_utf8_lossy(&out[..first.len()]),
        String::from_utf8_lossy(first)
    );

    let (msgs, v, n) = read_all(&out, Variant::Mboxrd);
    assert_eq!((v, n), (Some(123), Some(7)));
    let want: Vec<Message> = sample()
        .into_iter()
        .map(|(uid, mut meta, raw)| {
            meta.uid = Some(uid);
            Message { meta, raw }
        })
        .collect();
    assert_eq!(msgs, want);
}

#[test]
fn writer_appends_a_missing_final_newline() {
    let mut w = Writer::new(Vec::new());
    w.add(1, &Meta::default(), b"Subject: x\n\nno newline", None)
        .unwrap();
    let out = w.finish().unwrap();
    assert_eq!(
        out,
        b"From postcore@localhost Thu Jan  1 00:00:00 1970\nX-UID: 1\nStatus: O\n\
          Subject: x\n\nno newline\n\n"
    );
    let (msgs, v, _) = read_all(&out, Variant::Mboxrd);
    assert_eq!(v, None);
    assert_eq!(msgs[0].raw, b"Subject: x\n\nno newline\n");
}

#[test]
fn writer_refuses_what_mbox_cannot_hold() {
    let mut w = Writer::new(Vec::new());
    let m = Meta::default();
    assert!(matches!(w.add(0, &m, b"x\n", None), Err(Error::Invalid(_))));
    assert!(matches!(
        w.add(1, &m, b"x\n", Some((0, 5))),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        w.add(5, &m, b"x\n", Some((1, 5))),
        Err(Error::Invalid(_))
    ));
    w.add(4, &m, b"x\n", Some((1, 5))).unwrap();
    assert!(matches!(w.add(4, &m, b"x\n", None), Err(Error::Invalid(_))));
    assert!(matches!(w.add(3, &m, b"x\n", None), Err(Error::Invalid(_))));
    for bad in ["a b", "a,b", "", "tab\there"] {
        let meta = Meta {
            keywords: vec![bad.into()],
            ..Meta::default()
        };
        let mut w = Writer::new(Vec::new());
        assert!(
            matches!(w.add(1, &meta, b"x\n", None), Err(Error::Invalid(_))),
            "{bad:?}"
        );
    }
}
