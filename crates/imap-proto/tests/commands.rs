//! Every command form the server announces, parsed from complete input.

use imap_proto::*;

fn parse(input: &str) -> Command<'_> {
    let mut r = CommandReader::new(Limits::default());
    match r.parse(input.as_bytes()) {
        Ok(Parsed::Command { command, consumed }) => {
            assert_eq!(consumed, input.len(), "consumed all of {input:?}");
            command
        }
        other => panic!("{input:?}: {other:?}"),
    }
}

fn err(input: &str) -> ParseError<'_> {
    let mut r = CommandReader::new(Limits::default());
    match r.parse(input.as_bytes()) {
        Err(e) => e,
        other => panic!("{input:?} should fail: {other:?}"),
    }
}

fn ranges(s: &SequenceSet<'_>) -> Vec<(SeqNum, SeqNum)> {
    s.iter().map(|r| (r.start, r.end)).collect()
}

use SeqNum::{Star, Value as V};

#[test]
fn simple_commands() {
    for (line, body) in [
        ("a CAPABILITY\r\n", CommandBody::Capability),
        ("a noop\r\n", CommandBody::Noop),
        ("a LOGOUT\r\n", CommandBody::Logout),
        ("a STARTTLS\r\n", CommandBody::StartTls),
        ("a IDLE\r\n", CommandBody::Idle),
        ("a NAMESPACE\r\n", CommandBody::Namespace),
        ("a CHECK\r\n", CommandBody::Check),
        ("a CLOSE\r\n", CommandBody::Close),
        ("a UNSELECT\r\n", CommandBody::Unselect),
        ("a EXPUNGE\r\n", CommandBody::Expunge),
        ("a NOOP\n", CommandBody::Noop),
    ] {
        let c = parse(line);
        assert_eq!(c.tag, b"a");
        assert_eq!(c.body, body, "{line}");
    }
}

#[test]
fn login_forms() {
    let c = parse("a1 LOGIN \"fred \\\"x\\\\\" {3+}\r\nabc\r\n");
    let CommandBody::Login { user, password } = c.body else {
        panic!()
    };
    assert_eq!(&*user.to_bytes(), b"fred \"x\\");
    assert_eq!(password, AString::Literal(b"abc"));
    let c = parse("a1 LOGIN smith sesame\r\n");
    assert_eq!(
        c.body,
        CommandBody::Login {
            user: AString::Atom(b"smith"),
            password: AString::Atom(b"sesame")
        }
    );
}

#[test]
fn authenticate_with_and_without_initial_response() {
    let c = parse("a AUTHENTICATE PLAIN\r\n");
    assert_eq!(
        c.body,
        CommandBody::Authenticate {
            mechanism: b"PLAIN",
            initial_response: None
        }
    );
    let c = parse("a AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n");
    assert_eq!(
        c.body,
        CommandBody::Authenticate {
            mechanism: b"PLAIN",
            initial_response: Some(b"dGVzdAB0ZXN0AHRlc3Q=")
        }
    );
    let c = parse("a AUTHENTICATE EXTERNAL =\r\n");
    assert_eq!(
        c.body,
        CommandBody::Authenticate {
            mechanism: b"EXTERNAL",
            initial_response: Some(b"=")
        }
    );
    assert_eq!(
        err("a AUTHENTICATE PLAIN abc\r\n").kind,
        ErrorKind::BadBase64
    );
}

#[test]
fn enable_and_compress() {
    let c = parse("a ENABLE CONDSTORE QRESYNC UTF8=ACCEPT\r\n");
    assert_eq!(
        c.body,
        CommandBody::Enable {
            capabilities: vec![b"CONDSTORE", b"QRESYNC", b"UTF8=ACCEPT"]
        }
    );
    assert_eq!(err("a ENABLE\r\n").kind, ErrorKind::MissingArguments);
    assert_eq!(
        parse("a COMPRESS DEFLATE\r\n").body,
        CommandBody::Compress {
            mechanism: b"DEFLATE"
        }
    );
}

#[test]
fn select_examine_with_condstore_and_qresync() {
    let c = parse("a SELECT inbox\r\n");
    let CommandBody::Select { mailbox, params } = c.body else {
        panic!()
    };
    assert!(mailbox.is_inbox());
    assert_eq!(params, SelectParams::default());
    let c = parse("a EXAMINE \"Sent\" (CONDSTORE)\r\n");
    assert!(matches!(
        c.body,
        CommandBody::Examine {
            params: SelectParams {
                condstore: true,
                qresync: None
            },
            ..
        }
    ));
    let c = parse("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n");
    let CommandBody::Select { params, .. } = c.body else {
        panic!()
    };
    let q = params.qresync.unwrap();
    assert_eq!((q.uid_validity, q.mod_seq), (67890007, 20050715194045000));
    assert_eq!(
        ranges(&q.known_uids.unwrap()),
        vec![(V(41), V(41)), (V(43), V(211)), (V(214), V(541))]
    );
    assert!(q.seq_match.is_none());
    let c = parse(
        "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976:29979)))\r\n",
    );
    let CommandBody::Select { params, .. } = c.body else {
        panic!()
    };
    let (s, u) = params.qresync.unwrap().seq_match.unwrap();
    assert_eq!(s.iter().count(), 4);
    assert_eq!(u.iter().count(), 6);
    assert_eq!(
        err("a SELECT INBOX (FOO)\r\n").kind,
        ErrorKind::BadParameter
    );
}

#[test]
fn mailbox_management() {
    assert!(
        matches!(parse("a CREATE owatagusiam/\r\n").body, CommandBody::Create { special_use, .. } if special_use.is_empty())
    );
    let c = parse("t1 CREATE \"Important Messages\" (USE (\\Important \\Flagged))\r\n");
    assert!(
        matches!(c.body, CommandBody::Create { special_use, .. } if special_use == vec![&b"Important"[..], b"Flagged"])
    );
    assert!(matches!(
        parse("a DELETE blurdybloop\r\n").body,
        CommandBody::Delete { .. }
    ));
    let c = parse("a RENAME blurdybloop sarasoop\r\n");
    let CommandBody::Rename { from, to } = c.body else {
        panic!()
    };
    assert_eq!(from.0, AString::Atom(b"blurdybloop"));
    assert_eq!(to.0, AString::Atom(b"sarasoop"));
    assert!(matches!(
        parse("a SUBSCRIBE #news.comp.mail.mime\r\n").body,
        CommandBody::Subscribe { .. }
    ));
    assert!(matches!(
        parse("a UNSUBSCRIBE #news.comp.mail.mime\r\n").body,
        CommandBody::Unsubscribe { .. }
    ));
}

#[test]
fn list_basic_and_extended() {
    let c = parse("A101 LIST \"\" \"\"\r\n");
    let CommandBody::List(l) = c.body else {
        panic!()
    };
    assert_eq!(l.select, None);
    assert_eq!(l.patterns, vec![AString::Quoted(b"")]);
    let c = parse("A202 LIST ~/Mail/ %\r\n");
    let CommandBody::List(l) = c.body else {
        panic!()
    };
    assert_eq!(l.reference.0, AString::Atom(b"~/Mail/"));
    assert_eq!(l.patterns, vec![AString::Atom(b"%")]);
    let c = parse(
        "A03 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"%\" INBOX*) RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN SIZE))\r\n",
    );
    let CommandBody::List(l) = c.body else {
        panic!()
    };
    let s = l.select.unwrap();
    assert!(s.subscribed && s.recursive_match && !s.remote);
    assert_eq!(l.patterns.len(), 2);
    let r = l.returns.unwrap();
    assert!(r.children && r.special_use && !r.subscribed);
    let st = r.status.unwrap();
    assert_eq!(
        st.iter().collect::<Vec<_>>(),
        vec![StatusItem::Messages, StatusItem::Unseen, StatusItem::Size]
    );
    assert_eq!(
        err("a LIST (RECURSIVEMATCH) \"\" %\r\n").kind,
        ErrorKind::BadParameter
    );
    let c = parse("a LSUB \"#news.\" \"comp.mail.*\"\r\n");
    assert!(matches!(c.body, CommandBody::Lsub { .. }));
}

#[test]
fn status_items() {
    let c = parse(
        "A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ APPENDLIMIT MAILBOXID DELETED SIZE RECENT UIDVALIDITY UNSEEN DELETED-STORAGE)\r\n",
    );
    let CommandBody::Status { items, .. } = c.body else {
        panic!()
    };
    assert_eq!(items.iter().count(), 11);
    assert_eq!(err("a STATUS x (BOGUS)\r\n").kind, ErrorKind::BadStatusItem);
}

#[test]
fn append_forms() {
    let c = parse(
        "A003 APPEND saved-messages (\\Seen $Fwd) \" 7-Feb-1994 21:52:25 -0800\" {5}\r\nhello\r\n",
    );
    let CommandBody::Append {
        mailbox,
        first,
        more,
    } = c.body
    else {
        panic!()
    };
    assert_eq!(mailbox.0, AString::Atom(b"saved-messages"));
    assert_eq!(first.data, b"hello");
    assert_eq!(
        first.flags.iter().collect::<Vec<_>>(),
        vec![Flag::Seen, Flag::Keyword(b"$Fwd")]
    );
    let d = first.date.unwrap();
    assert_eq!(
        (
            d.date.year,
            d.date.month,
            d.date.day,
            d.hour,
            d.zone_minutes
        ),
        (1994, 2, 7, 21, -480)
    );
    assert!(more.is_empty());
    // MULTIAPPEND with literal8 and LITERAL+.
    let c = parse("a APPEND INBOX {3+}\r\nabc ~{4+}\r\na\0bc (\\Draft) UTF8 (~{2+}\r\nxy)\r\n");
    let CommandBody::Append { first, more, .. } = c.body else {
        panic!()
    };
    assert_eq!((first.data, first.binary), (&b"abc"[..], false));
    assert_eq!(more.len(), 2);
    assert_eq!((more[0].data, more[0].binary), (&b"a\0bc"[..], true));
    assert!(more[1].utf8 && more[1].binary && more[1].data == b"xy");
    assert_eq!(
        err("a APPEND INBOX {3}\r\na\0c\r\n").kind,
        ErrorKind::NulInLiteral
    );
    assert_eq!(err("a APPEND INBOX \"abc\"\r\n").kind, ErrorKind::BadDate);
    assert_eq!(err("a APPEND INBOX abc\r\n").kind, ErrorKind::BadLiteral);
    assert_eq!(
        err("a APPEND INBOX (\\Seen) \"31-Feb-2020 00:00:00 +0000\" {1}\r\nx\r\n").kind,
        ErrorKind::BadDate
    );
}

#[test]
fn append_catenate() {
    // RFC 4469 §5's example, with LITERAL+ for the text parts.
    let c = parse(concat!(
        "A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE ",
        "(URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER\" ",
        "TEXT {6+}\r\n\r\nab\r\n URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME\" ",
        "URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1\" TEXT ~{3+}\r\na\0b)\r\n"
    ));
    let CommandBody::Append { first, more, .. } = c.body else {
        panic!()
    };
    assert!(more.is_empty() && first.data.is_empty());
    assert_eq!(first.flags.iter().count(), 3);
    let parts: Vec<_> = first.catenate.unwrap().iter().collect();
    assert_eq!(
        parts,
        vec![
            CatPart::Url(AString::Quoted(
                b"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER"
            )),
            CatPart::Text {
                data: b"\r\nab\r\n",
                binary: false
            },
            CatPart::Url(AString::Quoted(
                b"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME"
            )),
            CatPart::Url(AString::Quoted(
                b"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1"
            )),
            CatPart::Text {
                data: b"a\0b",
                binary: true
            },
        ]
    );
    // A CATENATE message beside a plain one (MULTIAPPEND).
    let c = parse("a APPEND INBOX {1+}\r\nx CATENATE (TEXT {1+}\r\ny)\r\n");
    let CommandBody::Append { first, more, .. } = c.body else {
        panic!()
    };
    assert!(first.catenate.is_none() && more[0].catenate.is_some());
    for bad in [
        "a APPEND INBOX CATENATE ()\r\n",
        "a APPEND INBOX CATENATE (TEXT \"abc\")\r\n",
        "a APPEND INBOX CATENATE (URL)\r\n",
        "a APPEND INBOX CATENATE (BODY \"x\")\r\n",
        "a APPEND INBOX CATENATE (TEXT {1+}\r\nx\r\n",
        "a APPEND INBOX CATENATE TEXT {1+}\r\nx\r\n",
    ] {
        let _ = err(bad);
    }
}

#[test]
fn fetch_items_macros_sections_partials() {
    let c = parse("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n");
    let CommandBody::Fetch {
        uid,
        set,
        attrs,
        modifiers,
    } = c.body
    else {
        panic!()
    };
    assert!(!uid);
    assert_eq!(ranges(&set), vec![(V(2), V(4))]);
    assert_eq!(modifiers, FetchModifiers::default());
    let items: Vec<_> = attrs.iter().collect();
    assert_eq!(items[0], FetchAttr::Flags);
    let FetchAttr::BodySection {
        peek: false,
        section,
        partial: None,
    } = items[1]
    else {
        panic!()
    };
    let Some(SectionText::HeaderFields { not: false, fields }) = section.text else {
        panic!()
    };
    assert_eq!(
        fields
            .iter()
            .map(|f| f.to_bytes().into_owned())
            .collect::<Vec<_>>(),
        vec![b"DATE".to_vec(), b"FROM".to_vec()]
    );

    let c = parse(
        "a UID FETCH 1:* (UID RFC822.SIZE BODY.PEEK[1.2.HEADER.FIELDS.NOT (A B)]<0.2048> BINARY.PEEK[1]<5.10> BINARY.SIZE[2] BINARY[] MODSEQ EMAILID THREADID SAVEDATE PREVIEW (LAZY) BODY[1.MIME] BODY[] BODY[TEXT] RFC822 RFC822.HEADER RFC822.TEXT BODYSTRUCTURE BODY ENVELOPE INTERNALDATE) (CHANGEDSINCE 12345 VANISHED)\r\n",
    );
    let CommandBody::Fetch {
        uid,
        set,
        attrs,
        modifiers,
    } = c.body
    else {
        panic!()
    };
    assert!(uid);
    assert_eq!(ranges(&set), vec![(V(1), Star)]);
    assert_eq!(
        modifiers,
        FetchModifiers {
            changed_since: Some(12345),
            vanished: true
        }
    );
    let items: Vec<_> = attrs.iter().collect();
    assert_eq!(items.len(), 21);
    let FetchAttr::BodySection {
        peek: true,
        section,
        partial,
    } = items[2]
    else {
        panic!()
    };
    assert_eq!(section.part.iter().collect::<Vec<_>>(), vec![1, 2]);
    assert!(matches!(
        section.text,
        Some(SectionText::HeaderFields { not: true, .. })
    ));
    assert_eq!(
        partial,
        Some(Partial {
            offset: 0,
            length: 2048
        })
    );
    let FetchAttr::Binary {
        peek: true,
        part,
        partial,
    } = items[3]
    else {
        panic!()
    };
    assert_eq!(part.iter().collect::<Vec<_>>(), vec![1]);
    assert_eq!(
        partial,
        Some(Partial {
            offset: 5,
            length: 10
        })
    );
    assert!(matches!(items[4], FetchAttr::BinarySize { part } if part.raw() == b"2"));
    assert!(
        matches!(items[5], FetchAttr::Binary { peek: false, part, partial: None } if part.is_empty())
    );
    assert_eq!(
        &items[6..11],
        &[
            FetchAttr::ModSeq,
            FetchAttr::EmailId,
            FetchAttr::ThreadId,
            FetchAttr::SaveDate,
            FetchAttr::Preview { lazy: true }
        ]
    );
    assert!(matches!(
        items[11],
        FetchAttr::BodySection {
            section: Section {
                text: Some(SectionText::Mime),
                ..
            },
            ..
        }
    ));
    assert_eq!(
        &items[14..],
        &[
            FetchAttr::Rfc822,
            FetchAttr::Rfc822Header,
            FetchAttr::Rfc822Text,
            FetchAttr::BodyStructure,
            FetchAttr::Body,
            FetchAttr::Envelope,
            FetchAttr::InternalDate
        ]
    );

    for (m, n) in [("ALL", 4), ("FAST", 3), ("full", 5)] {
        let line = format!("a FETCH 1 {m}\r\n");
        let c = parse(&line);
        let CommandBody::Fetch { attrs, .. } = c.body else {
            panic!()
        };
        assert!(matches!(attrs, FetchAttrs::Macro(_)));
        assert_eq!(attrs.iter().count(), n);
    }
    let c = parse("a FETCH $ body.peek[]\r\n");
    let CommandBody::Fetch { set, attrs, .. } = c.body else {
        panic!()
    };
    assert!(set.is_saved());
    assert_eq!(attrs.iter().count(), 1);

    assert_eq!(
        err("a FETCH 1 (FLAGS BOGUS)\r\n").kind,
        ErrorKind::BadFetchAttribute
    );
    assert_eq!(err("a FETCH 1 BODY[MIME]\r\n").kind, ErrorKind::BadSection);
    assert_eq!(err("a FETCH 1 BODY[0]\r\n").kind, ErrorKind::BadSection);
    assert_eq!(err("a FETCH 1 BODY[]<1.0>\r\n").kind, ErrorKind::BadSection);
    assert_eq!(
        err("a FETCH 1 BODY[HEADER.FIELDS ()]\r\n").kind,
        ErrorKind::BadSection
    );
    // VANISHED needs UID FETCH and CHANGEDSINCE (RFC 7162 3.2.6).
    assert_eq!(
        err("a FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)\r\n").kind,
        ErrorKind::BadParameter
    );
    assert_eq!(
        err("a UID FETCH 1 FLAGS (VANISHED)\r\n").kind,
        ErrorKind::BadParameter
    );
}

#[test]
fn store_forms() {
    let c = parse("A003 STORE 2:4 +FLAGS (\\Deleted)\r\n");
    let CommandBody::Store {
        uid,
        set,
        unchanged_since,
        mode,
        silent,
        flags,
    } = c.body
    else {
        panic!()
    };
    assert!(!uid && !silent && unchanged_since.is_none());
    assert_eq!(mode, StoreMode::Add);
    assert_eq!(ranges(&set), vec![(V(2), V(4))]);
    assert_eq!(flags.iter().collect::<Vec<_>>(), vec![Flag::Deleted]);
    let c = parse(
        "a UID STORE 1,3:5 (UNCHANGEDSINCE 320162338) -FLAGS.SILENT \\Seen \\Answered $Junk\r\n",
    );
    let CommandBody::Store {
        uid,
        unchanged_since,
        mode,
        silent,
        flags,
        ..
    } = c.body
    else {
        panic!()
    };
    assert!(uid && silent);
    assert_eq!(unchanged_since, Some(320162338));
    assert_eq!(mode, StoreMode::Remove);
    assert_eq!(
        flags.iter().collect::<Vec<_>>(),
        vec![Flag::Seen, Flag::Answered, Flag::Keyword(b"$Junk")]
    );
    let c = parse("a STORE 1 FLAGS ()\r\n");
    assert!(
        matches!(c.body, CommandBody::Store { mode: StoreMode::Replace, flags, .. } if flags.is_empty())
    );
    assert_eq!(
        err("a STORE 1 +FLAGZ (\\Seen)\r\n").kind,
        ErrorKind::BadStoreAction
    );
    assert_eq!(
        err("a STORE 1 +FLAGS (\\Recent)\r\n").kind,
        ErrorKind::BadFlag
    );
    assert_eq!(err("a STORE 1 +FLAGS (\\*)\r\n").kind, ErrorKind::BadFlag);
    assert_eq!(
        err("a STORE 1 (FOO 1) FLAGS (\\Seen)\r\n").kind,
        ErrorKind::BadParameter
    );
}

#[test]
fn copy_move_expunge_replace() {
    let c = parse("a UID MOVE 42:69 foo\r\n");
    assert!(matches!(c.body, CommandBody::Move { uid: true, .. }));
    let c = parse("A003 COPY 2:4 MEETING\r\n");
    assert!(matches!(c.body, CommandBody::Copy { uid: false, .. }));
    let c = parse("A003 UID EXPUNGE 3000:3002\r\n");
    let CommandBody::UidExpunge { set } = c.body else {
        panic!()
    };
    assert_eq!(ranges(&set), vec![(V(3000), V(3002))]);
    let c = parse("A003 REPLACE 4 Drafts (\\Seen \\Draft) {3+}\r\nabc\r\n");
    let CommandBody::Replace {
        uid,
        target,
        mailbox,
        message,
    } = c.body
    else {
        panic!()
    };
    assert!(!uid);
    assert_eq!(target, V(4));
    assert_eq!(mailbox.0, AString::Atom(b"Drafts"));
    assert_eq!(message.data, b"abc");
    assert!(matches!(
        parse("a UID REPLACE 25 INBOX {1+}\r\nx\r\n").body,
        CommandBody::Replace { uid: true, .. }
    ));
}

#[test]
fn id_quota_metadata_notify() {
    let c = parse("a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" NIL)\r\n");
    let CommandBody::Id { params: Some(p) } = c.body else {
        panic!()
    };
    assert_eq!(p.len(), 3);
    assert_eq!(p[2].1, None);
    assert_eq!(parse("a ID NIL\r\n").body, CommandBody::Id { params: None });

    assert!(matches!(
        parse("G0001 GETQUOTA \"!partition.sda4\"\r\n").body,
        CommandBody::GetQuota { .. }
    ));
    assert!(matches!(
        parse("G0002 GETQUOTAROOT INBOX\r\n").body,
        CommandBody::GetQuotaRoot { .. }
    ));
    let c = parse("S0000 SETQUOTA \"#user/alice\" (STORAGE 510 MESSAGE 1000)\r\n");
    let CommandBody::SetQuota { limits, .. } = c.body else {
        panic!()
    };
    assert_eq!(limits, vec![(&b"STORAGE"[..], 510), (b"MESSAGE", 1000)]);

    let c = parse(
        "a GETMETADATA (MAXSIZE 1024 DEPTH infinity) \"INBOX\" (/shared/comment /private/comment)\r\n",
    );
    let CommandBody::GetMetadata {
        max_size,
        depth,
        entries,
        ..
    } = c.body
    else {
        panic!()
    };
    assert_eq!(
        (max_size, depth, entries.len()),
        (Some(1024), Some(MetadataDepth::Infinity), 2)
    );
    let c = parse("a GETMETADATA \"\" /shared/comment\r\n");
    assert!(matches!(
        c.body,
        CommandBody::GetMetadata {
            max_size: None,
            depth: None,
            ..
        }
    ));
    let c = parse(
        "a SETMETADATA INBOX (/private/comment {3+}\r\nabc /shared/x NIL /private/b ~{2+}\r\n\0z)\r\n",
    );
    let CommandBody::SetMetadata { entries, .. } = c.body else {
        panic!()
    };
    assert_eq!(entries[0].1, Some(AString::Literal(b"abc")));
    assert_eq!(entries[1].1, None);
    assert_eq!(entries[2].1, Some(AString::Literal(b"\0z")));

    let c = parse(
        "a NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER]) MessageExpunge)) (subtree Lists (MessageNew)) (mailboxes (a b) NONE)\r\n",
    );
    let CommandBody::Notify(Notify::Set { status, groups }) = c.body else {
        panic!()
    };
    assert!(status);
    assert_eq!(groups.len(), 3);
    assert_eq!(groups[0].filter, NotifyFilter::Selected);
    assert_eq!(groups[0].message_new_fetch.unwrap().iter().count(), 2);
    assert!(matches!(&groups[1].filter, NotifyFilter::Subtree(v) if v.len() == 1));
    assert!(groups[2].events.is_empty());
    assert_eq!(
        parse("a NOTIFY NONE\r\n").body,
        CommandBody::Notify(Notify::None)
    );
    // An unknown event is grammatical (event-ext); the server answers it.
    let c = parse("a NOTIFY SET (selected (Bogus MessageNew))\r\n");
    let CommandBody::Notify(Notify::Set { groups, .. }) = c.body else {
        panic!()
    };
    assert_eq!(groups[0].events, vec![&b"Bogus"[..], b"MessageNew"]);
    assert_eq!(
        err("a NOTIFY SET (bogusfilter (MessageNew))\r\n").kind,
        ErrorKind::BadParameter
    );
    assert_eq!(
        err("a NOTIFY SET (personal MessageNew)\r\n").kind,
        ErrorKind::Syntax
    );
    assert_eq!(err("a NOTIFY SET\r\n").kind, ErrorKind::MissingArguments);
    let c = parse(
        "a NOTIFY SET (SELECTED-DELAYED (messagenew (FLAGS) messageexpunge)) (Subtree \"a b\" NONE)\r\n",
    );
    let CommandBody::Notify(Notify::Set { status, groups }) = c.body else {
        panic!()
    };
    assert!(!status);
    assert_eq!(groups[0].filter, NotifyFilter::SelectedDelayed);
    assert!(groups[0].message_new_fetch.is_some());
    assert!(matches!(&groups[1].filter, NotifyFilter::Subtree(v) if v.len() == 1));
}

fn search_keys(input: &str) -> (Option<SearchReturn>, Vec<String>) {
    let c = parse(input);
    let CommandBody::Search { returns, keys, .. } = c.body else {
        panic!()
    };
    (returns, keys.iter().map(|k| format!("{k:?}")).collect())
}

#[test]
fn search_grammar() {
    let c = parse(
        "A282 SEARCH RETURN (MIN COUNT SAVE) CHARSET UTF-8 FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
    );
    let CommandBody::Search {
        uid,
        returns,
        charset,
        keys,
    } = c.body
    else {
        panic!()
    };
    assert!(!uid);
    assert_eq!(
        returns,
        Some(SearchReturn {
            min: true,
            count: true,
            save: true,
            ..Default::default()
        })
    );
    assert!(charset.unwrap().eq_ignore_ascii_case(b"utf-8"));
    let k: Vec<_> = keys.iter().collect();
    assert_eq!(k[0], SearchKey::Flagged);
    assert_eq!(
        k[1],
        SearchKey::Since(Date {
            year: 1994,
            month: 2,
            day: 1
        })
    );
    let SearchKey::Not(inner) = k[2] else {
        panic!()
    };
    assert_eq!(
        inner.iter().collect::<Vec<_>>(),
        vec![SearchKey::From(AString::Quoted(b"Smith"))]
    );

    let c = parse(
        "a UID SEARCH OR (UNSEEN FLAGGED) NOT OR 1:5,7 $ UID 1:* HEADER X-Foo \"\" LARGER 100 SMALLER 9 OLDER 10 YOUNGER 5 MODSEQ \"/flags/\\\\draft\" all 620162338 MODSEQ 5 EMAILID M6d99ac3 THREADID T64b478a7 SAVEDBEFORE 1-Jan-2020 SAVEDON \"2-Jan-2020\" SAVEDSINCE 3-Jan-2020 SAVEDATESUPPORTED KEYWORD $Junk UNKEYWORD $Fwd\r\n",
    );
    let CommandBody::Search { uid, keys, .. } = c.body else {
        panic!()
    };
    assert!(uid);
    let k: Vec<_> = keys.iter().collect();
    let SearchKey::Or(a, b) = k[0] else { panic!() };
    let SearchKey::And(group) = a.iter().next().unwrap() else {
        panic!()
    };
    assert_eq!(
        group.iter().collect::<Vec<_>>(),
        vec![SearchKey::Unseen, SearchKey::Flagged]
    );
    let SearchKey::Not(n) = b.iter().next().unwrap() else {
        panic!()
    };
    let SearchKey::Or(x, y) = n.iter().next().unwrap() else {
        panic!()
    };
    assert!(matches!(
        x.iter().next(),
        Some(SearchKey::SequenceSet(SequenceSet::Set { ranges: 2, .. }))
    ));
    assert!(matches!(
        y.iter().next(),
        Some(SearchKey::SequenceSet(SequenceSet::Saved))
    ));
    assert!(matches!(k[1], SearchKey::Uid(_)));
    assert_eq!(
        k[2],
        SearchKey::Header(AString::Atom(b"X-Foo"), AString::Quoted(b""))
    );
    assert_eq!(
        &k[3..7],
        &[
            SearchKey::Larger(100),
            SearchKey::Smaller(9),
            SearchKey::Older(10),
            SearchKey::Younger(5)
        ]
    );
    assert!(matches!(
        k[7],
        SearchKey::ModSeq {
            entry: Some((_, EntryType::All)),
            modseq: 620162338
        }
    ));
    assert_eq!(
        k[8],
        SearchKey::ModSeq {
            entry: None,
            modseq: 5
        }
    );
    assert_eq!(k[9], SearchKey::EmailId(b"M6d99ac3"));
    assert_eq!(k[10], SearchKey::ThreadId(b"T64b478a7"));
    assert_eq!(k[14], SearchKey::SaveDateSupported);
    assert_eq!(k[15], SearchKey::Keyword(b"$Junk"));
    assert_eq!(k[16], SearchKey::Unkeyword(b"$Fwd"));

    let (_, k) = search_keys(
        "a SEARCH ALL ANSWERED DELETED DRAFT NEW OLD RECENT SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED BCC x BODY y CC z TEXT t TO u SUBJECT s BEFORE 1-Jan-2000 ON 1-Jan-2000 SENTBEFORE 1-Jan-2000 SENTON 1-Jan-2000 SENTSINCE 1-Jan-2000\r\n",
    );
    assert_eq!(k.len(), 23);
    let (r, _) = search_keys("a SEARCH RETURN () ALL\r\n");
    assert_eq!(
        r.unwrap().effective(),
        SearchReturn {
            all: true,
            ..Default::default()
        }
    );

    assert_eq!(
        err("a SEARCH CHARSET KOI8-R ALL\r\n").kind,
        ErrorKind::BadCharset
    );
    assert_eq!(err("a SEARCH CHARSET KOI8-R ALL\r\n").status, Status::No);
    assert_eq!(err("a SEARCH BOGUS\r\n").kind, ErrorKind::BadSearchKey);
    assert_eq!(err("a SEARCH (ALL\r\n").kind, ErrorKind::BadSearchKey);
    assert_eq!(err("a SEARCH OR ALL\r\n").kind, ErrorKind::MissingArguments);
    assert_eq!(
        err("a SEARCH SINCE 32-Jan-2000\r\n").kind,
        ErrorKind::BadDate
    );
    assert_eq!(
        err("a SEARCH RETURN (FOO) ALL\r\n").kind,
        ErrorKind::BadParameter
    );
}

#[test]
fn mailbox_names_utf7_and_utf8() {
    let c = parse("a SELECT \"~peter/mail/&U,BTFw-/&ZeVnLIqe-\"\r\n");
    let CommandBody::Select { mailbox, .. } = c.body else {
        panic!()
    };
    assert_eq!(
        mailbox.decode(false).unwrap(),
        "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}"
    );
    let c = parse("a CREATE \"Entw\u{fc}rfe\"\r\n");
    let CommandBody::Create { mailbox, .. } = c.body else {
        panic!()
    };
    assert_eq!(mailbox.decode(true).unwrap(), "Entw\u{fc}rfe");
    assert!(mailbox.decode(false).is_err());
    let c = parse("a SELECT {5}\r\niNbOx\r\n");
    let CommandBody::Select { mailbox, .. } = c.body else {
        panic!()
    };
    assert_eq!(mailbox.decode(false).unwrap(), "INBOX");
}

#[test]
fn sort_and_thread() {
    let c = parse(
        "a UID SORT RETURN (MIN COUNT) (REVERSE DATE subject DISPLAYFROM) utf-8 SINCE 1-Jan-2020 UNSEEN\r\n",
    );
    match c.body {
        CommandBody::Sort {
            uid,
            returns,
            criteria,
            charset,
            keys,
        } => {
            assert!(uid);
            let r = returns.unwrap_or_default();
            assert!(r.min && r.count && !r.max && !r.all);
            assert_eq!(
                criteria,
                vec![
                    SortCriterion {
                        key: SortKey::Date,
                        reverse: true
                    },
                    SortCriterion {
                        key: SortKey::Subject,
                        reverse: false
                    },
                    SortCriterion {
                        key: SortKey::DisplayFrom,
                        reverse: false
                    },
                ]
            );
            assert!(charset.eq_ignore_ascii_case(b"UTF-8"));
            assert_eq!(keys.raw(), b"SINCE 1-Jan-2020 UNSEEN");
        }
        other => panic!("{other:?}"),
    }
    let c = parse("a UID SORT (DATE) UTF-8 ALL\r\n");
    assert_eq!(c.body.name(), "UID SORT");
    let c = parse("a THREAD REFERENCES US-ASCII ALL\r\n");
    assert!(matches!(
        c.body,
        CommandBody::Thread {
            uid: false,
            algorithm: ThreadAlgorithm::References,
            ..
        }
    ));
    let c = parse("a UID THREAD orderedsubject UTF-8 1:*\r\n");
    assert_eq!(c.body.name(), "UID THREAD");
    for bad in [
        "a SORT (DATE)\r\n",
        "a SORT () UTF-8 ALL\r\n",
        "a SORT (REVERSE) UTF-8 ALL\r\n",
        "a SORT (FOO) UTF-8 ALL\r\n",
        "a SORT RETURN (SAVE) (DATE) UTF-8 ALL\r\n",
        "a SORT RETURN (MIN (DATE) UTF-8 ALL\r\n",
        "a SORT (DATE) UTF-8\r\n",
        "a THREAD X UTF-8 ALL\r\n",
        "a THREAD REFERENCES\r\n",
    ] {
        err(bad);
    }
    assert_eq!(
        err("a SORT (DATE) LATIN1 ALL\r\n").kind,
        ErrorKind::BadCharset
    );
}

#[test]
fn context_return_options_and_cancelupdate() {
    // RFC 5267 §5: UPDATE and CONTEXT beside the ESEARCH options; alone
    // they ask for no result data, so the result is ALL.
    let (r, _) = search_keys("a UID SEARCH RETURN (UPDATE CONTEXT COUNT) ALL\r\n");
    let r = r.unwrap();
    assert!(r.update && r.context && r.count && !r.all);
    assert_eq!(r.effective(), r);
    let (r, _) = search_keys("a SEARCH RETURN (update) ALL\r\n");
    let r = r.unwrap().effective();
    assert!(r.update && r.all);
    let (r, _) = search_keys("a SEARCH RETURN (UPDATE PARTIAL 1:10) ALL\r\n");
    let r = r.unwrap();
    assert!(r.update && r.partial == Some((1, 10)) && !r.effective().all);
    let c = parse("a SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL\r\n");
    let CommandBody::Sort { returns, .. } = c.body else {
        panic!()
    };
    assert!(returns.unwrap().update);
    assert_eq!(
        err("a SEARCH RETURN (UPDATE BOGUS) ALL\r\n").kind,
        ErrorKind::BadParameter
    );

    let c = parse("a CANCELUPDATE \"B01\" \"x\\\"y\"\r\n");
    let CommandBody::CancelUpdate { tags } = c.body else {
        panic!()
    };
    assert_eq!(tags, vec![&b"B01"[..], &b"x\"y"[..]]);
    assert_eq!(err("a CANCELUPDATE\r\n").kind, ErrorKind::MissingArguments);
    assert_eq!(err("a CANCELUPDATE B01\r\n").kind, ErrorKind::Syntax);
    assert_eq!(
        err("a CANCELUPDATE \"B01\" B02\r\n").kind,
        ErrorKind::Syntax
    );
}

#[test]
fn stored_search_keys_parse_again() {
    let c = parse("a UID SEARCH RETURN (UPDATE) OR FLAGGED SUBJECT {3}\r\nabc UNSEEN\r\n");
    let CommandBody::Search { keys, .. } = c.body else {
        panic!()
    };
    let again = parse_search_keys(keys.raw(), &Limits::default()).unwrap();
    assert_eq!(again.iter().count(), 2);
    assert_eq!(
        again.iter().collect::<Vec<_>>(),
        keys.iter().collect::<Vec<_>>()
    );
    assert!(parse_search_keys(b"FLAGGED )", &Limits::default()).is_err());
}
