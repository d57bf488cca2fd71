//! Response encoder output, byte for byte.

use bytes::BytesMut;
use imap_proto::encode::*;
use imap_proto::*;

fn out(f: impl FnOnce(&mut BytesMut)) -> String {
    let mut b = BytesMut::new();
    f(&mut b);
    String::from_utf8(b.to_vec()).unwrap()
}

#[test]
fn tagged_and_untagged_with_codes() {
    assert_eq!(
        out(|b| tagged(
            b,
            b"A003",
            RespStatus::Ok,
            Some(&Code::AppendUid {
                uid_validity: 38505,
                uids: &[(3955, 3955)]
            }),
            "APPEND completed"
        )),
        "A003 OK [APPENDUID 38505 3955] APPEND completed\r\n"
    );
    assert_eq!(
        out(|b| tagged(
            b,
            b"A004",
            RespStatus::Ok,
            Some(&Code::CopyUid {
                uid_validity: 38505,
                source: &[(304, 304), (319, 320)],
                dest: &[(3956, 3958)]
            }),
            "Done"
        )),
        "A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"
    );
    assert_eq!(
        out(|b| tagged(b, b"a", RespStatus::No, Some(&Code::TooBig), "too big")),
        "a NO [TOOBIG] too big\r\n"
    );
    assert_eq!(
        out(|b| untagged_status(
            b,
            RespStatus::Ok,
            Some(&Code::HighestModSeq(715194045007)),
            "Highest"
        )),
        "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n"
    );
    assert_eq!(
        out(|b| untagged_status(
            b,
            RespStatus::Ok,
            Some(&Code::Capability(&["IMAP4rev2", "IDLE"])),
            "hi"
        )),
        "* OK [CAPABILITY IMAP4rev2 IDLE] hi\r\n"
    );
    assert_eq!(
        out(|b| untagged_status(
            b,
            RespStatus::Ok,
            Some(&Code::PermanentFlags(&["\\Deleted", "\\Seen", "\\*"])),
            "Limited"
        )),
        "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"
    );
    assert_eq!(
        out(|b| untagged_status(
            b,
            RespStatus::Ok,
            Some(&Code::UidValidity(3857529045)),
            "UIDs valid"
        )),
        "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
    );
    assert_eq!(
        out(|b| tagged(
            b,
            b"a",
            RespStatus::Ok,
            Some(&Code::Modified(&[(7, 7), (9, 9)])),
            "Conditional STORE failed"
        )),
        "a OK [MODIFIED 7,9] Conditional STORE failed\r\n"
    );
    assert_eq!(
        out(|b| bye(b, None, "Logging out")),
        "* BYE Logging out\r\n"
    );
    // Text can never break the line.
    assert_eq!(
        out(|b| tagged(b, b"a", RespStatus::Bad, None, "x\r\ny")),
        "a BAD xy\r\n"
    );
    assert_eq!(out(|b| continuation(b, "Ready")), "+ Ready\r\n");
    assert_eq!(
        out(|b| continuation_base64(b, b"YGgGCSqG")),
        "+ YGgGCSqG\r\n"
    );
}

#[test]
fn parse_errors_become_responses() {
    let mut r = CommandReader::new(Limits {
        max_literal: 10,
        ..Limits::default()
    });
    let e = r.parse(b"A1 APPEND INBOX {11}\r\n").unwrap_err();
    assert_eq!(
        out(|b| parse_error(b, &e)),
        "A1 NO [TOOBIG] Literal too big\r\n"
    );
    let e = r.parse(b"A1 APPEND INBOX {11+}\r\n").unwrap_err();
    assert_eq!(
        out(|b| parse_error(b, &e)),
        "* BYE [TOOBIG] Literal too big\r\n"
    );
    let e = r.parse(b"+ NOOP\r\n").unwrap_err();
    assert_eq!(out(|b| parse_error(b, &e)), "* BAD Invalid tag\r\n");
    let e = r.parse(b"t SEARCH CHARSET X ALL\r\n").unwrap_err();
    assert_eq!(
        out(|b| parse_error(b, &e)),
        "t NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n"
    );
}

#[test]
fn mailbox_data() {
    assert_eq!(out(|b| exists(b, 172)), "* 172 EXISTS\r\n");
    assert_eq!(out(|b| recent(b, 1)), "* 1 RECENT\r\n");
    assert_eq!(out(|b| expunge(b, 44)), "* 44 EXPUNGE\r\n");
    assert_eq!(
        out(|b| vanished(b, true, &[(41, 41), (43, 116)])),
        "* VANISHED (EARLIER) 41,43:116\r\n"
    );
    assert_eq!(
        out(|b| flags(b, [&b"\\Answered"[..], b"\\Seen"])),
        "* FLAGS (\\Answered \\Seen)\r\n"
    );
    assert_eq!(
        out(|b| capability(b, &["IMAP4rev2", "AUTH=PLAIN"])),
        "* CAPABILITY IMAP4rev2 AUTH=PLAIN\r\n"
    );
    assert_eq!(
        out(|b| enabled(b, &["CONDSTORE"])),
        "* ENABLED CONDSTORE\r\n"
    );
    assert_eq!(
        out(|b| list(
            b,
            ListKind::List,
            &["\\HasNoChildren"],
            Some('/'),
            "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}",
            false,
            &ListExtended::default()
        )),
        "* LIST (\\HasNoChildren) \"/\" \"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"\r\n"
    );
    assert_eq!(
        out(|b| list(
            b,
            ListKind::List,
            &[],
            Some('/'),
            "Entw\u{fc}rfe",
            true,
            &ListExtended {
                childinfo_subscribed: true,
                old_name: Some("Old")
            }
        )),
        "* LIST () \"/\" \"Entw\u{fc}rfe\" (\"CHILDINFO\" (\"SUBSCRIBED\") \"OLDNAME\" (\"Old\"))\r\n"
    );
    assert_eq!(
        out(|b| list(
            b,
            ListKind::Lsub,
            &["\\Noselect"],
            None,
            "a\"b",
            false,
            &ListExtended::default()
        )),
        "* LSUB (\\Noselect) NIL \"a\\\"b\"\r\n"
    );
    assert_eq!(
        out(|b| status(
            b,
            "blurdybloop",
            false,
            &[
                StatusValue::Number(StatusItem::Messages, 231),
                StatusValue::Number(StatusItem::UidNext, 44292),
                StatusValue::NoAppendLimit,
                StatusValue::MailboxId(b"F2212ea87")
            ]
        )),
        "* STATUS \"blurdybloop\" (MESSAGES 231 UIDNEXT 44292 APPENDLIMIT NIL MAILBOXID (F2212ea87))\r\n"
    );
    assert_eq!(
        out(|b| search(b, [2, 84, 882], None)),
        "* SEARCH 2 84 882\r\n"
    );
    assert_eq!(out(|b| search(b, [], Some(9))), "* SEARCH (MODSEQ 9)\r\n");
    assert_eq!(
        out(|b| esearch(
            b,
            Some(b"A282"),
            false,
            &Esearch {
                min: Some(2),
                count: Some(3),
                ..Default::default()
            }
        )),
        "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n"
    );
    assert_eq!(
        out(|b| esearch(
            b,
            Some(b"A1"),
            true,
            &Esearch {
                all: Some(&[(1, 3), (5, 5)]),
                modseq: Some(917162500),
                ..Default::default()
            }
        )),
        "* ESEARCH (TAG \"A1\") UID ALL 1:3,5 MODSEQ 917162500\r\n"
    );
    assert_eq!(
        out(|b| id(b, Some(&[("name", Some("postcore")), ("os", None)]))),
        "* ID (\"name\" \"postcore\" \"os\" NIL)\r\n"
    );
    assert_eq!(out(|b| id(b, None)), "* ID NIL\r\n");
    assert_eq!(
        out(|b| namespace(b, &[("", Some('/'))], &[], &[("Shared/", Some('/'))], false)),
        "* NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\"))\r\n"
    );
    assert_eq!(
        out(|b| quota(b, "", &[("STORAGE", 10, 512)])),
        "* QUOTA \"\" (STORAGE 10 512)\r\n"
    );
    assert_eq!(
        out(|b| quota_root(b, "INBOX", false, &[""])),
        "* QUOTAROOT \"INBOX\" \"\"\r\n"
    );
    assert_eq!(
        out(|b| metadata(
            b,
            "INBOX",
            false,
            &[
                ("/private/comment", Some(b"My comment")),
                ("/shared/x", None),
                ("/private/bin", Some(b"a\0b"))
            ]
        )),
        "* METADATA \"INBOX\" (/private/comment \"My comment\" /shared/x NIL /private/bin ~{3}\r\na\0b)\r\n"
    );
}

#[test]
fn strings_quoted_or_literal() {
    assert_eq!(out(|b| string(b, b"plain", false)), "\"plain\"");
    assert_eq!(out(|b| string(b, b"q\"b\\s", false)), "\"q\\\"b\\\\s\"");
    assert_eq!(
        out(|b| string(b, b"two\r\nlines", false)),
        "{10}\r\ntwo\r\nlines"
    );
    assert_eq!(
        out(|b| string(b, "m\u{fc}".as_bytes(), false)),
        "{3}\r\nm\u{fc}"
    );
    assert_eq!(
        out(|b| string(b, "m\u{fc}".as_bytes(), true)),
        "\"m\u{fc}\""
    );
    let long = vec![b'x'; 2000];
    assert!(out(|b| string(b, &long, true)).starts_with("{2000}\r\nxx"));
    assert_eq!(out(|b| nstring(b, None, false)), "NIL");
    assert_eq!(out(|b| astring(b, b"atom", false)), "atom");
    assert_eq!(out(|b| astring(b, b"NIL", false)), "\"NIL\"");
    assert_eq!(out(|b| astring(b, b"", false)), "\"\"");
    assert_eq!(out(|b| astring(b, b"two words", false)), "\"two words\"");
    assert_eq!(out(|b| literal_header(b, 5, true)), "~{5}\r\n");
    assert_eq!(
        out(|b| address_list(
            b,
            &[Address {
                name: Some(b"Fred Foobar"),
                adl: None,
                mailbox: Some(b"foobar"),
                host: Some(b"Blurdybloop.COM")
            }],
            false
        )),
        "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.COM\"))"
    );
    assert_eq!(out(|b| address_list(b, &[], false)), "NIL");
}

#[test]
fn fetch_responses_item_by_item() {
    // Re-use a parsed section to echo it back.
    let mut r = CommandReader::new(Limits::default());
    let Ok(Parsed::Command { command, .. }) = r.parse(b"a UID FETCH 1 (BODY.PEEK[1.2.header.fields (From \"X Y\")]<0.2048> BODY[] BINARY.PEEK[1] BINARY.SIZE[2])\r\n") else { panic!() };
    let CommandBody::Fetch { attrs, .. } = command.body else {
        panic!()
    };
    let items: Vec<_> = attrs.iter().collect();
    let FetchAttr::BodySection { section: s1, .. } = items[0] else {
        panic!()
    };
    let FetchAttr::BodySection { section: s2, .. } = items[1] else {
        panic!()
    };
    let FetchAttr::Binary { part: p3, .. } = items[2] else {
        panic!()
    };
    let FetchAttr::BinarySize { part: p4 } = items[3] else {
        panic!()
    };
    let body = b"From: a\r\n\r\n";
    let date = DateTime {
        date: Date {
            year: 1996,
            month: 7,
            day: 7,
        },
        hour: 2,
        minute: 44,
        second: 25,
        zone_minutes: -420,
    };
    let text = out(|b| {
        let mut f = FetchResponse::begin(b, 12);
        f.uid(4827313)
            .flags([&b"\\Seen"[..]])
            .modseq(624140003)
            .rfc822_size(44827)
            .internal_date(&date);
        f.body_section_name(&s1, Some(0))
            .literal_header(body.len() as u64, false)
            .raw(body);
        f.body_section_name(&s2, None).nil();
        f.binary_name(&p3, false, None)
            .literal_header(3, true)
            .raw(b"a\0b");
        f.binary_name(&p4, true, None).value_number(77);
        f.email_id(b"M6d99ac3")
            .thread_id(None)
            .save_date(None)
            .preview(Some(b"Hi"), false);
        f.raw_item(b"ENVELOPE", b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
        f.finish();
    });
    assert_eq!(
        text,
        "* 12 FETCH (UID 4827313 FLAGS (\\Seen) MODSEQ (624140003) RFC822.SIZE 44827 INTERNALDATE \" 7-Jul-1996 02:44:25 -0700\" BODY[1.2.HEADER.FIELDS (From \"X Y\")]<0> {11}\r\nFrom: a\r\n\r\n BODY[] NIL BINARY[1] ~{3}\r\na\0b BINARY.SIZE[2] 77 EMAILID (M6d99ac3) THREADID NIL SAVEDATE NIL PREVIEW \"Hi\" ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n"
    );
}

#[test]
fn uid_only_fetch_response() {
    let text = out(|b| {
        let mut f = FetchResponse::begin_uid_only(b, 4827313);
        f.flags([&b"\\Seen"[..]]).modseq(7);
        f.finish();
    });
    assert_eq!(text, "* 4827313 UIDFETCH (FLAGS (\\Seen) MODSEQ (7))\r\n");
}

#[test]
fn large_body_can_be_queued_without_copy() {
    let body = bytes::Bytes::from(vec![b'x'; 100_000]);
    let mut buf = BytesMut::new();
    let mut f = FetchResponse::begin(&mut buf, 1);
    f.body_section_name(&Section::default(), None)
        .literal_header(body.len() as u64, false);
    // The session queues the header, then the body's own Bytes, then the rest.
    let head = f.buf().split().freeze();
    f.finish();
    let tail = buf.split().freeze();
    assert_eq!(&head[..], b"* 1 FETCH (BODY[] {100000}\r\n");
    assert_eq!(&tail[..], b")\r\n");
}
