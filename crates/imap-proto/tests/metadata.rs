//! GETMETADATA, SETMETADATA (RFC 5464) and LIST's METADATA return option
//! (RFC 9590): the forms clients send and the ones the grammar refuses.

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

fn err(input: &str) -> ErrorKind {
    let mut r = CommandReader::new(Limits::default());
    match r.parse(input.as_bytes()) {
        Err(e) => e.kind,
        other => panic!("{input:?} should fail: {other:?}"),
    }
}

fn get(input: &str) -> (Option<u32>, Option<MetadataDepth>, Vec<Vec<u8>>, Vec<u8>) {
    match parse(input).body {
        CommandBody::GetMetadata {
            max_size,
            depth,
            mailbox,
            entries,
        } => (
            max_size,
            depth,
            entries.iter().map(|e| e.to_bytes().into_owned()).collect(),
            mailbox.raw_name().into_owned(),
        ),
        other => panic!("{input:?}: {other:?}"),
    }
}

type Entries = Vec<(Vec<u8>, Option<Vec<u8>>)>;

fn set(input: &str) -> (Vec<u8>, Entries) {
    match parse(input).body {
        CommandBody::SetMetadata { mailbox, entries } => (
            mailbox.raw_name().into_owned(),
            entries
                .iter()
                .map(|(e, v)| {
                    (
                        e.to_bytes().into_owned(),
                        v.map(|v| v.to_bytes().into_owned()),
                    )
                })
                .collect(),
        ),
        other => panic!("{input:?}: {other:?}"),
    }
}

#[test]
fn getmetadata_options_in_any_order_and_case() {
    let (max, depth, entries, mbox) =
        get("a GETMETADATA (depth 1 maxsize 1024) INBOX (/shared/comment /private/comment)\r\n");
    assert_eq!(max, Some(1024));
    assert_eq!(depth, Some(MetadataDepth::One));
    assert_eq!(entries, [&b"/shared/comment"[..], b"/private/comment"]);
    assert_eq!(mbox, b"INBOX");

    let (max, depth, entries, mbox) = get("a GETMETADATA (DEPTH 0) \"\" /private\r\n");
    assert_eq!((max, depth), (None, Some(MetadataDepth::Zero)));
    assert_eq!(entries, [&b"/private"[..]]);
    assert_eq!(mbox, b"");

    let (_, depth, _, _) = get("a GETMETADATA (DEPTH INFINITY) \"\" \"/shared\"\r\n");
    assert_eq!(depth, Some(MetadataDepth::Infinity));

    // RFC 5464 4.2: the mailbox may itself be a literal.
    let (_, _, entries, mbox) = get("a GETMETADATA {5+}\r\nA b c /private/x\r\n");
    assert_eq!(mbox, b"A b c");
    assert_eq!(entries, [&b"/private/x"[..]]);
}

#[test]
fn getmetadata_refusals() {
    assert_eq!(
        err("a GETMETADATA (DEPTH 2) INBOX /private/x\r\n"),
        ErrorKind::BadParameter
    );
    assert_eq!(
        err("a GETMETADATA (BOGUS 1) INBOX /private/x\r\n"),
        ErrorKind::BadParameter
    );
    assert!(matches!(
        err("a GETMETADATA (MAXSIZE x) INBOX /private/x\r\n"),
        ErrorKind::Syntax | ErrorKind::BadNumber
    ));
    assert!(matches!(
        err("a GETMETADATA INBOX\r\n"),
        ErrorKind::MissingArguments | ErrorKind::Syntax
    ));
    assert!(matches!(
        err("a GETMETADATA INBOX (/private/x\r\n"),
        ErrorKind::Syntax | ErrorKind::MissingArguments
    ));
}

#[test]
fn setmetadata_values() {
    let (mbox, e) = set(
        "a SETMETADATA \"\" (/shared/comment \"say \\\"hi\\\"\" /private/x NIL /private/l {3+}\r\na\r\n /private/b ~{3}\r\n\0\x01\x02)\r\n",
    );
    assert_eq!(mbox, b"");
    assert_eq!(
        e,
        vec![
            (b"/shared/comment".to_vec(), Some(b"say \"hi\"".to_vec())),
            (b"/private/x".to_vec(), None),
            (b"/private/l".to_vec(), Some(b"a\r\n".to_vec())),
            (b"/private/b".to_vec(), Some(vec![0, 1, 2])),
        ]
    );
    let (_, e) = set("a SETMETADATA INBOX (/private/comment \"\")\r\n");
    assert_eq!(e, vec![(b"/private/comment".to_vec(), Some(Vec::new()))]);
}

#[test]
fn setmetadata_refusals() {
    // The entry list is required and parenthesised.
    assert!(matches!(
        err("a SETMETADATA INBOX /private/comment \"x\"\r\n"),
        ErrorKind::Syntax
    ));
    // An entry without a value.
    assert!(matches!(
        err("a SETMETADATA INBOX (/private/comment)\r\n"),
        ErrorKind::ExpectedSpace
    ));
    assert!(matches!(
        err("a SETMETADATA INBOX ()\r\n"),
        ErrorKind::Syntax | ErrorKind::MissingArguments
    ));
    assert!(matches!(
        err("a SETMETADATA INBOX\r\n"),
        ErrorKind::Syntax | ErrorKind::MissingArguments
    ));
    let many: String = (0..Limits::default().max_arguments + 1)
        .map(|i| format!("/private/e{i} NIL"))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        err(&format!("a SETMETADATA INBOX ({many})\r\n")),
        ErrorKind::TooManyArguments
    );
}

#[test]
fn list_return_metadata() {
    let c = parse(
        "a LIST \"\" \"*\" RETURN (CHILDREN METADATA (/shared/comment /private/comment))\r\n",
    );
    let CommandBody::List(l) = c.body else {
        panic!()
    };
    assert!(l.returns.is_some_and(|r| r.children));
    let m = l.metadata.unwrap();
    assert_eq!(m.max_size, None);
    assert_eq!(
        m.entries,
        vec![
            AString::Atom(b"/shared/comment"),
            AString::Atom(b"/private/comment")
        ]
    );

    let c = parse("a LIST \"\" % RETURN (METADATA (MAXSIZE 10 /private/comment))\r\n");
    let CommandBody::List(l) = c.body else {
        panic!()
    };
    let m = l.metadata.unwrap();
    assert_eq!(m.max_size, Some(10));
    assert_eq!(m.entries, vec![AString::Atom(b"/private/comment")]);

    let c = parse("a LIST \"\" % RETURN (METADATA /private/comment)\r\n");
    let CommandBody::List(l) = c.body else {
        panic!()
    };
    assert_eq!(l.metadata.unwrap().entries.len(), 1);

    let c = parse("a LIST \"\" %\r\n");
    let CommandBody::List(l) = c.body else {
        panic!()
    };
    assert!(l.metadata.is_none());

    assert!(matches!(
        err("a LIST \"\" % RETURN (METADATA ())\r\n"),
        ErrorKind::Syntax | ErrorKind::MissingArguments
    ));
    assert!(matches!(
        err("a LIST \"\" % RETURN (METADATA (MAXSIZE 10))\r\n"),
        ErrorKind::MissingArguments
    ));
    assert_eq!(
        err("a LIST \"\" % RETURN (METADATA (/a) METADATA (/b))\r\n"),
        ErrorKind::BadParameter
    );
    assert!(matches!(
        err("a LIST \"\" % RETURN (METADATA)\r\n"),
        ErrorKind::ExpectedSpace
    ));
}
