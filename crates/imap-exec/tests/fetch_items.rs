//! FETCH items, macros, implicit \Seen, UID/MODSEQ placement, BINARY
//! errors and partials, over a real store. Responses are compared byte for
//! byte.

mod fetch_support;

use fetch_support::*;
use imap_exec::ExecError;
use imap_exec::fetch::FetchOptions;
use imap_proto::encode::RespStatus;
use store::{ExpungeMode, FlagOp, Flags};

const PLAIN: &[u8] = b"From: a@b.c\r\nSubject: hi\r\n\r\nhello\r\n";
const MIXED: &[u8] = include_bytes!("fetch_support/m1_mixed.eml");
const UUENC: &[u8] = include_bytes!("fetch_support/m7_xuu.eml");

fn in_store<F, Fut>(f: F)
where
    F: FnOnce(store::Store, store::MailboxId) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let (s, mb) = open(&path).await;
        f(s, mb).await;
    });
}

#[test]
fn simple_items_and_macros() {
    in_store(|s, mb| async move {
        append(
            &s,
            mb,
            &[(
                PLAIN,
                Flags::FLAGGED | Flags::ANSWERED,
                &["$Forwarded", "Work"],
            )],
        )
        .await;
        let env = "ENVELOPE (NIL \"hi\" ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL)";
        let body = "BODY (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1)";
        let flags = "FLAGS (\\Answered \\Flagged $Forwarded Work)";
        let date = "INTERNALDATE \"07-Feb-1994 21:52:25 +0000\"";
        assert_eq!(
            fetch_ok(&s, mb, &[1], "FAST", opts()).await,
            format!("* 1 FETCH ({flags} {date} RFC822.SIZE 35)\r\n")
        );
        assert_eq!(
            fetch_ok(&s, mb, &[1], "ALL", opts()).await,
            format!("* 1 FETCH ({flags} {date} RFC822.SIZE 35 {env})\r\n")
        );
        assert_eq!(
            fetch_ok(&s, mb, &[1], "FULL", opts()).await,
            format!("* 1 FETCH ({flags} {date} RFC822.SIZE 35 {env} {body})\r\n")
        );
        assert_eq!(
            fetch_ok(&s, mb, &[1], "(RFC822.SIZE UID PREVIEW)", opts()).await,
            "* 1 FETCH (RFC822.SIZE 35 UID 1 PREVIEW \"hello\")\r\n"
        );
        assert_eq!(
            fetch_ok(&s, mb, &[1], "BODYSTRUCTURE", opts()).await,
            "* 1 FETCH (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1 NIL NIL NIL NIL))\r\n"
        );
        assert_eq!(
            fetch_ok(&s, mb, &[1], "(RFC822.HEADER RFC822.TEXT)", read_only()).await,
            "* 1 FETCH (RFC822.HEADER {28}\r\nFrom: a@b.c\r\nSubject: hi\r\n\r\n RFC822.TEXT {7}\r\nhello\r\n)\r\n"
        );
    });
}

#[test]
fn uid_fetch_puts_uid_first_once() {
    in_store(|s, mb| async move {
        append_plain(&s, mb, &[PLAIN, PLAIN, PLAIN]).await;
        let uid = FetchOptions {
            uid_command: true,
            ..opts()
        };
        assert_eq!(
            fetch_ok(&s, mb, &[1, 3], "(FLAGS UID)", uid).await,
            "* 1 FETCH (UID 1 FLAGS ())\r\n* 3 FETCH (UID 3 FLAGS ())\r\n"
        );
        assert_eq!(
            fetch_ok(&s, mb, &[2], "RFC822.SIZE", uid).await,
            "* 2 FETCH (UID 2 RFC822.SIZE 35)\r\n"
        );
        // A plain FETCH keeps UID where it was asked for.
        assert_eq!(
            fetch_ok(&s, mb, &[2], "(FLAGS UID)", opts()).await,
            "* 2 FETCH (FLAGS () UID 2)\r\n"
        );
    });
}

#[test]
fn modseq_when_asked_or_condstore() {
    in_store(|s, mb| async move {
        append_plain(&s, mb, &[PLAIN, PLAIN]).await;
        s.store_flags(mb, &[(2, 2)], FlagOp::Add, Flags::DRAFT, &[], None)
            .await
            .unwrap();
        let m1 = s.message(mb, 1).unwrap().modseq;
        let m2 = s.message(mb, 2).unwrap().modseq;
        assert!(m2 > m1);
        assert_eq!(
            fetch_ok(&s, mb, &[1, 2], "(MODSEQ FLAGS)", opts()).await,
            format!(
                "* 1 FETCH (MODSEQ ({m1}) FLAGS ())\r\n* 2 FETCH (MODSEQ ({m2}) FLAGS (\\Draft))\r\n"
            )
        );
        let cs = FetchOptions {
            condstore: true,
            ..opts()
        };
        assert_eq!(
            fetch_ok(&s, mb, &[2], "FLAGS", cs).await,
            format!("* 2 FETCH (FLAGS (\\Draft) MODSEQ ({m2}))\r\n")
        );
        assert_eq!(
            fetch_ok(&s, mb, &[2], "(MODSEQ UID)", cs).await,
            format!("* 2 FETCH (MODSEQ ({m2}) UID 2)\r\n")
        );
        assert_eq!(
            fetch_ok(&s, mb, &[2], "UID", opts()).await,
            "* 2 FETCH (UID 2)\r\n"
        );
    });
}

#[test]
fn body_sets_seen_and_reports_flags() {
    in_store(|s, mb| async move {
        append_plain(&s, mb, &[PLAIN, PLAIN, PLAIN]).await;
        let before = s.snapshot(mb).unwrap().highest_modseq;
        // PEEK leaves the flags alone.
        let (out, r) = fetch_raw(&s, mb, &[1], "BODY.PEEK[TEXT]", opts()).await;
        assert_eq!(out, b"* 1 FETCH (BODY[TEXT] {7}\r\nhello\r\n)\r\n");
        assert_eq!(r.unwrap().seen_set, vec![]);
        assert_eq!(s.message(mb, 1).unwrap().flags, Flags::empty());
        // BODY[] on a read-only mailbox does not set it either.
        let (out, r) = fetch_raw(&s, mb, &[1], "BODY[TEXT]", read_only()).await;
        assert_eq!(out, b"* 1 FETCH (BODY[TEXT] {7}\r\nhello\r\n)\r\n");
        assert_eq!(r.unwrap().seen_set, vec![]);
        assert_eq!(s.message(mb, 1).unwrap().flags, Flags::empty());
        // Read-write: \Seen set on both, FLAGS added after UID, one modseq.
        let uid = FetchOptions {
            uid_command: true,
            condstore: true,
            ..opts()
        };
        let (out, r) = fetch_raw(&s, mb, &[1, 2], "BODY[TEXT]<0.4>", uid).await;
        let m = before + 1;
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "* 1 FETCH (UID 1 FLAGS (\\Seen) BODY[TEXT]<0> {{4}}\r\nhell MODSEQ ({m}))\r\n\
                 * 2 FETCH (UID 2 FLAGS (\\Seen) BODY[TEXT]<0> {{4}}\r\nhell MODSEQ ({m}))\r\n"
            )
        );
        assert_eq!(r.unwrap().seen_set, vec![(1, m), (2, m)]);
        assert_eq!(s.message(mb, 1).unwrap().flags, Flags::SEEN);
        assert_eq!(s.message(mb, 2).unwrap().modseq, m);
        // Already seen: no change, no extra FLAGS.
        let (out, r) = fetch_raw(&s, mb, &[1], "BODY[TEXT]<0.4>", opts()).await;
        assert_eq!(out, b"* 1 FETCH (BODY[TEXT]<0> {4}\r\nhell)\r\n");
        assert_eq!(r.unwrap().seen_set, vec![]);
        // Asked-for FLAGS shows the new state in place, not twice.
        let (out, _) = fetch_raw(&s, mb, &[3], "(BODY[TEXT]<0.1> FLAGS)", opts()).await;
        assert_eq!(
            out,
            b"* 3 FETCH (BODY[TEXT]<0> {1}\r\nh FLAGS (\\Seen))\r\n"
        );
    });
}

#[test]
fn which_items_set_seen() {
    in_store(|s, mb| async move {
        let cases = [
            ("RFC822", true),
            ("RFC822.TEXT", true),
            ("BINARY[1]", true),
            ("BODY[HEADER.FIELDS (From)]", true),
            ("RFC822.HEADER", false),
            ("BINARY.PEEK[1]", false),
            ("BINARY.SIZE[1]", false),
            ("BODY.PEEK[]", false),
            ("BODYSTRUCTURE", false),
            ("ENVELOPE", false),
        ];
        for (i, (attrs, sets)) in cases.iter().enumerate() {
            append_plain(&s, mb, &[PLAIN]).await;
            let seq = i as u32 + 1;
            let (_, r) = fetch_raw(&s, mb, &[seq], attrs, opts()).await;
            let seen = s.message(mb, seq).unwrap().flags.contains(Flags::SEEN);
            assert_eq!(seen, *sets, "{attrs}");
            assert_eq!(r.unwrap().seen_set.len(), usize::from(*sets), "{attrs}");
        }
    });
}

#[test]
fn binary_decodes_quoted_printable_and_base64() {
    in_store(|s, mb| async move {
        append_plain(&s, mb, &[MIXED]).await;
        let (out, r) = fetch_raw(
            &s,
            mb,
            &[1],
            "(BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[1]<5.100> BINARY.PEEK[2]<3.1> BINARY.PEEK[2])",
            opts(),
        )
        .await;
        r.unwrap();
        // QP decodes to UTF-8 text (plain literal, no NUL); the base64
        // attachment holds 00 01 02 ff, so it needs literal8, but its last
        // byte alone does not.
        assert_eq!(
            out,
            b"* 1 FETCH (BINARY[1] {13}\r\ncaf\xc3\xa9 au lait BINARY.SIZE[1] 13 \
              BINARY[1]<5> {8}\r\n au lait BINARY[2]<3> {1}\r\n\xff \
              BINARY[2] ~{4}\r\n\x00\x01\x02\xff)\r\n"
        );
    });
}

#[test]
fn unknown_transfer_encoding_is_refused_but_others_answered() {
    in_store(|s, mb| async move {
        append_plain(&s, mb, &[PLAIN, UUENC, PLAIN]).await;
        for attrs in ["BINARY.PEEK[1]", "BINARY.SIZE[1]"] {
            let (out, r) = fetch_raw(&s, mb, &[1, 2, 3], attrs, opts()).await;
            match r {
                Err(ExecError::Refused {
                    status: RespStatus::No,
                    code: Some("UNKNOWN-CTE"),
                    ..
                }) => {}
                other => panic!("{attrs}: {other:?}"),
            }
            let out = String::from_utf8(out).unwrap();
            let want = if attrs.starts_with("BINARY.SIZE") {
                "* 1 FETCH (BINARY.SIZE[1] 7)\r\n* 3 FETCH (BINARY.SIZE[1] 7)\r\n"
            } else {
                "* 1 FETCH (BINARY[1] {7}\r\nhello\r\n)\r\n* 3 FETCH (BINARY[1] {7}\r\nhello\r\n)\r\n"
            };
            assert_eq!(out, want, "{attrs}");
        }
        // BODY[] of the same message is fine.
        let (_, r) = fetch_raw(&s, mb, &[2], "BODY.PEEK[1]", opts()).await;
        assert!(r.is_ok());
    });
}

#[test]
fn binary_of_container() {
    in_store(|s, mb| async move {
        let two_plain = b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\na\r\n--x\r\n\r\nb\r\n--x--\r\n";
        append_plain(&s, mb, &[MIXED, two_plain]).await;
        // Encoded parts inside: refused, the client should fetch the parts.
        let (out, r) = fetch_raw(&s, mb, &[1], "BINARY.PEEK[]", opts()).await;
        assert!(out.is_empty());
        assert!(matches!(
            r,
            Err(ExecError::Refused {
                code: Some("UNKNOWN-CTE"),
                ..
            })
        ));
        // All parts 7bit: the raw bytes are the decoded form.
        let (out, r) = fetch_raw(&s, mb, &[2], "(BINARY.SIZE[] BINARY.PEEK[]<0.12>)", opts()).await;
        r.unwrap();
        assert_eq!(
            out,
            b"* 2 FETCH (BINARY.SIZE[] 72 BINARY[]<0> {12}\r\nContent-Type)\r\n"
        );
    });
}

#[test]
fn partials() {
    in_store(|s, mb| async move {
        append_plain(&s, mb, &[PLAIN]).await;
        let cases = [
            ("BODY.PEEK[]<0.4>", "BODY[]<0> {4}\r\nFrom"),
            ("BODY.PEEK[]<30.100>", "BODY[]<30> {5}\r\nllo\r\n"),
            ("BODY.PEEK[]<35.1>", "BODY[]<35> {0}\r\n"),
            ("BODY.PEEK[]<4000000000.1>", "BODY[]<4000000000> {0}\r\n"),
            ("BODY.PEEK[TEXT]<1.3>", "BODY[TEXT]<1> {3}\r\nell"),
            ("BODY.PEEK[1]<5.2>", "BODY[1]<5> {2}\r\n\r\n"),
            (
                "BODY.PEEK[HEADER.FIELDS (SUBJECT)]<9.100>",
                "BODY[HEADER.FIELDS (SUBJECT)]<9> {6}\r\nhi\r\n\r\n",
            ),
            ("BINARY.PEEK[1]<2.2>", "BINARY[1]<2> {2}\r\nll"),
            ("BINARY.PEEK[1]<7.2>", "BINARY[1]<7> {0}\r\n"),
        ];
        for (attrs, want) in cases {
            assert_eq!(
                fetch_ok(&s, mb, &[1], attrs, opts()).await,
                format!("* 1 FETCH ({want})\r\n"),
                "{attrs}"
            );
        }
    });
}

#[test]
fn header_fields_with_folding_and_bare_lf() {
    in_store(|s, mb| async move {
        let lf = b"Subject: one\n two\nFrom: x@y\nTo: z@w\n\nbody\n";
        append_plain(&s, mb, &[lf]).await;
        assert_eq!(
            fetch_ok(
                &s,
                mb,
                &[1],
                "BODY.PEEK[HEADER.FIELDS (to subject)]",
                opts()
            )
            .await,
            "* 1 FETCH (BODY[HEADER.FIELDS (to subject)] {28}\r\nSubject: one\n two\nTo: z@w\n\r\n)\r\n"
        );
        assert_eq!(
            fetch_ok(
                &s,
                mb,
                &[1],
                "BODY.PEEK[HEADER.FIELDS.NOT (\"To\" SUBJECT)]",
                opts()
            )
            .await,
            "* 1 FETCH (BODY[HEADER.FIELDS.NOT (To SUBJECT)] {12}\r\nFrom: x@y\n\r\n)\r\n"
        );
    });
}

#[test]
fn empty_message() {
    in_store(|s, mb| async move {
        append_plain(&s, mb, &[b""]).await;
        assert_eq!(
            fetch_ok(
                &s,
                mb,
                &[1],
                "(RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1] BINARY.SIZE[1])",
                opts()
            )
            .await,
            "* 1 FETCH (RFC822.SIZE 0 ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) \
             BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \
             BODY[] {0}\r\n BODY[HEADER] {0}\r\n BODY[TEXT] {0}\r\n BODY[1] {0}\r\n BINARY.SIZE[1] 0)\r\n"
        );
    });
}

#[test]
fn utf8_sessions_get_quoted_utf8() {
    in_store(|s, mb| async move {
        append_plain(&s, mb, &[include_bytes!("fetch_support/m6_8bit.eml")]).await;
        let want_literal = "* 1 FETCH (ENVELOPE (NIL {17}\r\nGrüße aus Köln";
        let want_quoted = "* 1 FETCH (ENVELOPE (NIL \"Grüße aus Köln\"";
        let out = fetch_ok(&s, mb, &[1], "ENVELOPE", opts()).await;
        assert!(out.starts_with(want_literal), "{out}");
        for o in [
            FetchOptions {
                utf8: true,
                ..opts()
            },
            FetchOptions {
                rev2: true,
                ..opts()
            },
        ] {
            let out = fetch_ok(&s, mb, &[1], "ENVELOPE", o).await;
            assert!(out.starts_with(want_quoted), "{out}");
        }
    });
}

#[test]
fn expunged_meanwhile_is_skipped_and_reported() {
    in_store(|s, mb| async move {
        append_plain(&s, mb, &[PLAIN, PLAIN, PLAIN]).await;
        let snap = s.snapshot(mb).unwrap();
        s.store_flags(mb, &[(2, 2)], FlagOp::Add, Flags::DELETED, &[], None)
            .await
            .unwrap();
        s.expunge(mb, None, ExpungeMode::DeletedOnly).await.unwrap();
        // The session still shows message 2 (its view is older).
        let msgs: Vec<(u32, store::MessageInfo)> = snap
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| (i as u32 + 1, m.clone()))
            .collect();
        let line = b"t FETCH 1:3 (UID BODY.PEEK[TEXT])\r\n";
        let mut reader = imap_proto::CommandReader::new(imap_proto::Limits::default());
        let Ok(imap_proto::Parsed::Command { command, .. }) = reader.parse(line) else {
            panic!()
        };
        let imap_proto::CommandBody::Fetch { attrs, .. } = command.body else {
            panic!()
        };
        let mut sink = imap_exec::sink::VecSink::default();
        let r = imap_exec::fetch::fetch(&s, mb, &snap.keywords, &msgs, &attrs, &opts(), &mut sink)
            .await
            .unwrap();
        assert_eq!(r.expunged, vec![2]);
        assert_eq!(
            &sink.out[..],
            b"* 1 FETCH (UID 1 BODY[TEXT] {7}\r\nhello\r\n)\r\n* 3 FETCH (UID 3 BODY[TEXT] {7}\r\nhello\r\n)\r\n"
        );
        // One flush point per message answered.
        assert_eq!(sink.flush_points, 2);
    });
}

/// `"dd-Mon-yyyy hh:mm:ss +0000"`, independently of the crate's writer.
fn imap_date(secs: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let d = imap_exec::dates::from_unix(secs);
    format!(
        "\"{:02}-{}-{} {:02}:{:02}:{:02} +0000\"",
        d.date.day,
        MONTHS[usize::from(d.date.month) - 1],
        d.date.year,
        d.hour,
        d.minute,
        d.second
    )
}

#[test]
fn object_ids_and_save_date_come_from_the_index() {
    in_store(|s, mb| async move {
        let other = String::from_utf8_lossy(PLAIN)
            .replace("Subject:", "In-Reply-To: <unknown@x>\r\nSubject:");
        append_plain(&s, mb, &[PLAIN, PLAIN, other.as_bytes()]).await;
        let snap = s.snapshot(mb).unwrap();
        let m = &snap.messages;
        let out = fetch_ok(&s, mb, &[1, 2], "(EMAILID THREADID SAVEDATE UID)", opts()).await;
        let mut want = String::new();
        for (n, i) in m.iter().take(2).enumerate() {
            want += &format!(
                "* {} FETCH (EMAILID (M{:016x}) THREADID (T{:016x}) SAVEDATE {} UID {})\r\n",
                n + 1,
                i.email_id,
                i.thread_id,
                imap_date(i.save_date.unwrap()),
                i.uid
            );
        }
        assert_eq!(out, want);
        // Identical bytes, two appends: two messages, two ids.
        assert_ne!(m[0].email_id, m[1].email_id);
        // Not a read of the message: \Seen is untouched.
        assert!(
            fetch_ok(&s, mb, &[1], "FLAGS", opts())
                .await
                .contains("FLAGS ()")
        );
        let out = fetch_ok(&s, mb, &[3], "THREADID", opts()).await;
        assert_eq!(
            out,
            format!("* 3 FETCH (THREADID (T{:016x}))\r\n", m[2].email_id)
        );
    });
}

#[test]
fn top_level_sections_agree_with_and_without_facts() {
    in_store(|s, mb| async move {
        // A header longer than the 16 KiB first read, with and without a
        // body, a bare-LF message, and the Dovecot comparison messages.
        let mut long = Vec::new();
        for i in 0..400 {
            long.extend_from_slice(
                format!("X-Trace-{i}: hop {i} via relay.example.net\r\n").as_bytes(),
            );
        }
        long.extend_from_slice(b"Subject: long\r\n");
        let long_header_only = long.clone();
        let mut long_with_body = long;
        long_with_body.extend_from_slice(b"\r\nthe body\r\n");
        let lf: &[u8] = b"Subject: lf\nFrom: a@b\n\nbody\n";
        let mut raws: Vec<&[u8]> = vec![&long_header_only, &long_with_body, lf, PLAIN, MIXED];
        raws.push(include_bytes!("fetch_support/m2_rfc822.eml"));
        raws.push(include_bytes!("fetch_support/m4_headeronly.eml"));
        append_plain(&s, mb, &raws).await;
        for seq in 1..=raws.len() as u32 {
            for items in [
                "BODY.PEEK[HEADER]",
                "BODY.PEEK[TEXT]",
                "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]",
                "BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)]<10.50>",
                "(RFC822.HEADER RFC822.TEXT)",
            ] {
                let scanned = fetch_ok(&s, mb, &[seq], items, read_only()).await;
                let inner = items.trim_start_matches('(').trim_end_matches(')');
                let with_facts =
                    fetch_ok(&s, mb, &[seq], &format!("({inner} BODY)"), read_only()).await;
                let body_at = with_facts.rfind(" BODY (").unwrap();
                assert_eq!(
                    format!("{})\r\n", &with_facts[..body_at]),
                    scanned,
                    "message {seq} {items}"
                );
            }
        }
        // And the scan found the right places.
        assert_eq!(
            fetch_ok(
                &s,
                mb,
                &[2],
                "(BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
                read_only()
            )
            .await,
            "* 2 FETCH (BODY[TEXT] {10}\r\nthe body\r\n BODY[HEADER.FIELDS (SUBJECT)] {17}\r\nSubject: long\r\n\r\n)\r\n"
        );
        assert_eq!(
            fetch_ok(
                &s,
                mb,
                &[1],
                "(BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
                read_only()
            )
            .await,
            "* 1 FETCH (BODY[TEXT] {0}\r\n BODY[HEADER.FIELDS (SUBJECT)] {17}\r\nSubject: long\r\n\r\n)\r\n"
        );
    });
}

#[test]
fn many_messages_answered_in_order_while_loads_overlap() {
    in_store(|s, mb| async move {
        // More messages than loads in flight, three of them large enough
        // that the byte budget holds later loads back.
        let mut raws: Vec<Vec<u8>> = (0..40)
            .map(|i| {
                format!(
                    "Subject: m{i}\r\nX: {}\r\n\r\nbody {i}\r\n",
                    "y".repeat(i * 37)
                )
                .into_bytes()
            })
            .collect();
        for i in [5, 6, 7] {
            let mut big = format!("Subject: m{i}\r\n\r\n").into_bytes();
            big.resize(3 << 20, b'z');
            raws[i] = big;
        }
        let refs: Vec<&[u8]> = raws.iter().map(|r| r.as_slice()).collect();
        append_plain(&s, mb, &refs).await;
        let seqs: Vec<u32> = (1..=40).collect();
        let (out, r) = fetch_raw(
            &s,
            mb,
            &seqs,
            "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] RFC822.SIZE BODY.PEEK[TEXT]<0.6>)",
            opts(),
        )
        .await;
        r.unwrap();
        let mut want = String::new();
        for (i, raw) in raws.iter().enumerate() {
            let subject = format!("Subject: m{i}\r\n\r\n");
            let text = if (5..=7).contains(&i) {
                "zzzzzz".to_string()
            } else {
                format!("body {i}")[..6].to_string()
            };
            want.push_str(&format!(
                "* {} FETCH (BODY[HEADER.FIELDS (SUBJECT)] {{{}}}\r\n{subject} RFC822.SIZE {} BODY[TEXT]<0> {{6}}\r\n{text})\r\n",
                i + 1,
                subject.len(),
                raw.len()
            ));
        }
        assert_eq!(String::from_utf8(out).unwrap(), want);
    });
}
