//! Incremental framing, continuations, pipelining, limits and every error
//! class with its exact kind, code, status and resync decision.

use std::num::NonZeroUsize;

use imap_proto::*;

fn reader() -> CommandReader {
    CommandReader::new(Limits::default())
}

fn err_with(limits: Limits, input: &[u8]) -> ParseError<'_> {
    let mut r = CommandReader::new(limits);
    match r.parse(input) {
        Err(e) => e,
        other => panic!(
            "{:?} should fail: {other:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

fn err(input: &[u8]) -> ParseError<'_> {
    err_with(Limits::default(), input)
}

fn expect(
    e: ParseError<'_>,
    tag: Option<&[u8]>,
    kind: ErrorKind,
    code: Option<ErrorCode>,
    status: Status,
    recovery: Recovery,
) {
    assert_eq!(e.tag, tag, "tag of {e:?}");
    assert_eq!(e.kind, kind, "kind of {e:?}");
    assert_eq!(e.code, code, "code of {e:?}");
    assert_eq!(e.status, status, "status of {e:?}");
    assert_eq!(e.recovery, recovery, "recovery of {e:?}");
}

fn resync(n: usize) -> Recovery {
    Recovery::Resync { skip: n }
}

#[test]
fn partial_line_needs_more() {
    let mut r = reader();
    assert_eq!(
        r.parse(b"a1 NO").unwrap(),
        Parsed::Incomplete { needed: None }
    );
    assert_eq!(r.parse(b"").unwrap(), Parsed::Incomplete { needed: None });
    let Parsed::Command { command, consumed } = r.parse(b"a1 NOOP\r\n").unwrap() else {
        panic!()
    };
    assert_eq!((command.tag, consumed), (&b"a1"[..], 9));
}

#[test]
fn synchronizing_literal_asks_once() {
    let mut r = reader();
    let mut buf = b"a LOGIN {4}\r\n".to_vec();
    assert_eq!(r.parse(&buf).unwrap(), Parsed::Continue { len: 4 });
    // Called again without the data: no second continuation.
    assert_eq!(
        r.parse(&buf).unwrap(),
        Parsed::Incomplete {
            needed: NonZeroUsize::new(5)
        }
    );
    buf.extend_from_slice(b"fr");
    assert_eq!(
        r.parse(&buf).unwrap(),
        Parsed::Incomplete {
            needed: NonZeroUsize::new(3)
        }
    );
    buf.extend_from_slice(b"ed {3}\r\n");
    // Second literal of the same command gets its own continuation.
    assert_eq!(r.parse(&buf).unwrap(), Parsed::Continue { len: 3 });
    assert_eq!(
        r.parse(&buf).unwrap(),
        Parsed::Incomplete {
            needed: NonZeroUsize::new(4)
        }
    );
    buf.extend_from_slice(b"pwd\r\n");
    let Parsed::Command { command, consumed } = r.parse(&buf).unwrap() else {
        panic!()
    };
    assert_eq!(consumed, buf.len());
    assert_eq!(
        command.body,
        CommandBody::Login {
            user: AString::Literal(b"fred"),
            password: AString::Literal(b"pwd")
        }
    );
}

#[test]
fn non_synchronizing_literal_needs_no_continuation() {
    let mut r = reader();
    let buf = b"a LOGIN {4+}\r\nfr";
    assert_eq!(
        r.parse(buf).unwrap(),
        Parsed::Incomplete {
            needed: NonZeroUsize::new(3)
        }
    );
    let Parsed::Command { .. } = r.parse(b"a LOGIN {4+}\r\nfred x\r\n").unwrap() else {
        panic!()
    };
}

#[test]
fn complete_literal_already_buffered_needs_no_continuation() {
    let mut r = reader();
    assert!(matches!(
        r.parse(b"a LOGIN {4}\r\nfred x\r\n").unwrap(),
        Parsed::Command { .. }
    ));
}

#[test]
fn pipelined_commands_one_after_another() {
    let mut r = reader();
    let stream = b"a1 NOOP\r\na2 UID FETCH 1:* FLAGS\r\na3 APPEND x {2+}\r\nhi\r\na4 IDLE\r\n";
    let mut buf = &stream[..];
    let mut tags = Vec::new();
    while let Ok(Parsed::Command { command, consumed }) = r.parse(buf) {
        tags.push(command.tag.to_vec());
        buf = &buf[consumed..];
    }
    assert_eq!(
        tags,
        vec![
            b"a1".to_vec(),
            b"a2".to_vec(),
            b"a3".to_vec(),
            b"a4".to_vec()
        ]
    );
    assert!(buf.is_empty());
}

#[test]
fn line_limit() {
    let lim = Limits {
        max_line: 32,
        ..Limits::default()
    };
    // No line end within the limit: cannot resync, close.
    let long = [b'a'; 40];
    expect(
        err_with(lim, &long),
        None,
        ErrorKind::LineTooLong,
        None,
        Status::Bad,
        Recovery::Close,
    );
    let line = b"a1 LOGIN aaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbb\r\n";
    expect(
        err_with(lim, line),
        Some(b"a1"),
        ErrorKind::LineTooLong,
        None,
        Status::Bad,
        resync(line.len()),
    );
    // Too long and followed by a non-synchronizing literal: close.
    let line = b"a1 APPEND aaaaaaaaaaaaaaaaaaaaaaaaaaaaa {5+}\r\nhello\r\n";
    expect(
        err_with(lim, line),
        Some(b"a1"),
        ErrorKind::LineTooLong,
        None,
        Status::Bad,
        Recovery::Close,
    );
}

#[test]
fn literal_limits_before_bytes_arrive() {
    let lim = Limits {
        max_literal: 100,
        max_string_literal: 10,
        ..Limits::default()
    };
    // Synchronizing: NO [TOOBIG], no continuation, skip just the header line.
    let line = b"A1 APPEND INBOX {101}\r\n";
    expect(
        err_with(lim, line),
        Some(b"A1"),
        ErrorKind::LiteralTooBig,
        Some(ErrorCode::TooBig),
        Status::No,
        resync(line.len()),
    );
    // Message literals get the big limit, strings the small one.
    let mut r = CommandReader::new(lim);
    assert_eq!(
        r.parse(b"A1 APPEND INBOX {100}\r\n").unwrap(),
        Parsed::Continue { len: 100 }
    );
    let line = b"A2 LOGIN {11}\r\n";
    expect(
        err_with(lim, line),
        Some(b"A2"),
        ErrorKind::LiteralTooBig,
        Some(ErrorCode::TooBig),
        Status::No,
        resync(line.len()),
    );
    // Non-synchronizing: the bytes are coming anyway; close (RFC 7888 allows it).
    expect(
        err_with(lim, b"A3 APPEND INBOX {101+}\r\n"),
        Some(b"A3"),
        ErrorKind::LiteralTooBig,
        Some(ErrorCode::TooBig),
        Status::No,
        Recovery::Close,
    );
    // Number that does not even fit in 64 bits.
    let line = b"A4 APPEND INBOX {99999999999999999999999}\r\n";
    expect(
        err_with(lim, line),
        Some(b"A4"),
        ErrorKind::LiteralTooBig,
        Some(ErrorCode::TooBig),
        Status::No,
        resync(line.len()),
    );
}

#[test]
fn literal_minus_and_no_non_sync() {
    let mut r = reader().with_non_sync(NonSyncLiterals::Minus);
    assert!(matches!(
        r.parse(b"a LOGIN {4096+}\r\n").unwrap(),
        Parsed::Incomplete { .. }
    ));
    let mut r = reader().with_non_sync(NonSyncLiterals::Minus);
    let e = r.parse(b"a APPEND x {4097+}\r\n").unwrap_err();
    expect(
        e,
        Some(b"a"),
        ErrorKind::LiteralTooBig,
        Some(ErrorCode::TooBig),
        Status::No,
        Recovery::Close,
    );
    let mut r = reader().with_non_sync(NonSyncLiterals::None);
    let e = r.parse(b"a LOGIN {1+}\r\n").unwrap_err();
    expect(
        e,
        Some(b"a"),
        ErrorKind::BadLiteral,
        None,
        Status::Bad,
        Recovery::Close,
    );
}

#[test]
fn command_and_literal_count_limits() {
    let lim = Limits {
        max_command: 50,
        max_arguments: 2,
        ..Limits::default()
    };
    let line = b"a APPEND x {60}\r\n";
    expect(
        err_with(lim, line),
        Some(b"a"),
        ErrorKind::CommandTooLong,
        Some(ErrorCode::TooBig),
        Status::No,
        resync(line.len()),
    );
    let input = b"a APPEND x {1+}\r\n1 {1+}\r\n2 {1+}\r\n3\r\n";
    let e = err_with(lim, input);
    expect(
        e,
        Some(b"a"),
        ErrorKind::TooManyArguments,
        Some(ErrorCode::Limit),
        Status::Bad,
        Recovery::Close,
    );
    let input = b"a APPEND x {1}\r\n1 {1}\r\n2 {1}\r\n";
    let e = err_with(lim, input);
    expect(
        e,
        Some(b"a"),
        ErrorKind::TooManyArguments,
        Some(ErrorCode::Limit),
        Status::Bad,
        resync(input.len()),
    );
}

#[test]
fn nesting_range_and_argument_limits() {
    let lim = Limits {
        max_depth: 3,
        max_sequence_ranges: 3,
        max_arguments: 4,
        ..Limits::default()
    };
    let ok = b"a SEARCH ((NOT SEEN))\r\n";
    assert!(matches!(
        CommandReader::new(lim).parse(ok).unwrap(),
        Parsed::Command { .. }
    ));
    let deep = b"a SEARCH (((NOT SEEN)))\r\n";
    expect(
        err_with(lim, deep),
        Some(b"a"),
        ErrorKind::TooDeep,
        Some(ErrorCode::Limit),
        Status::Bad,
        resync(deep.len()),
    );
    let deep = b"a SEARCH OR NOT NOT NOT SEEN ALL\r\n";
    expect(
        err_with(lim, deep),
        Some(b"a"),
        ErrorKind::TooDeep,
        Some(ErrorCode::Limit),
        Status::Bad,
        resync(deep.len()),
    );
    let many = b"a FETCH 1,2,3,4 FLAGS\r\n";
    expect(
        err_with(lim, many),
        Some(b"a"),
        ErrorKind::TooManyRanges,
        Some(ErrorCode::Limit),
        Status::Bad,
        resync(many.len()),
    );
    let many = b"a FETCH 1 (UID FLAGS RFC822.SIZE ENVELOPE INTERNALDATE)\r\n";
    expect(
        err_with(lim, many),
        Some(b"a"),
        ErrorKind::TooManyArguments,
        Some(ErrorCode::Limit),
        Status::Bad,
        resync(many.len()),
    );
    let many = b"a STORE 1 +FLAGS (a b c d e)\r\n";
    expect(
        err_with(lim, many),
        Some(b"a"),
        ErrorKind::TooManyArguments,
        Some(ErrorCode::Limit),
        Status::Bad,
        resync(many.len()),
    );
    let many = b"a SEARCH SEEN SEEN SEEN SEEN SEEN\r\n";
    expect(
        err_with(lim, many),
        Some(b"a"),
        ErrorKind::TooManyArguments,
        Some(ErrorCode::Limit),
        Status::Bad,
        resync(many.len()),
    );
    // The default depth limit stops a deep recursion without a stack overflow.
    let mut deep = b"a SEARCH ".to_vec();
    deep.extend(std::iter::repeat_n(b'(', 10_000));
    deep.extend_from_slice(b"SEEN");
    deep.extend(std::iter::repeat_n(b')', 10_000));
    deep.extend_from_slice(b"\r\n");
    assert_eq!(err(&deep).kind, ErrorKind::TooDeep);
}

#[test]
fn bad_tags_and_command_names() {
    expect(
        err(b"\r\n"),
        None,
        ErrorKind::EmptyLine,
        None,
        Status::Bad,
        resync(2),
    );
    expect(
        err(b"+a NOOP\r\n"),
        None,
        ErrorKind::BadTag,
        None,
        Status::Bad,
        resync(9),
    );
    expect(
        err(b"a+ NOOP\r\n"),
        None,
        ErrorKind::BadTag,
        None,
        Status::Bad,
        resync(9),
    );
    expect(
        err(b"* NOOP\r\n"),
        None,
        ErrorKind::BadTag,
        None,
        Status::Bad,
        resync(8),
    );
    expect(
        err(b"a\"b NOOP\r\n"),
        None,
        ErrorKind::BadTag,
        None,
        Status::Bad,
        resync(10),
    );
    expect(
        err(b"(x NOOP\r\n"),
        None,
        ErrorKind::BadTag,
        None,
        Status::Bad,
        resync(9),
    );
    expect(
        err(b"a1\r\n"),
        Some(b"a1"),
        ErrorKind::MissingCommand,
        None,
        Status::Bad,
        resync(4),
    );
    expect(
        err(b"a1 \r\n"),
        Some(b"a1"),
        ErrorKind::MissingCommand,
        None,
        Status::Bad,
        resync(5),
    );
    expect(
        err(b"a1 FROB x\r\n"),
        Some(b"a1"),
        ErrorKind::UnknownCommand,
        None,
        Status::Bad,
        resync(11),
    );
    expect(
        err(b"a1 UID FROB 1\r\n"),
        Some(b"a1"),
        ErrorKind::UnknownCommand,
        None,
        Status::Bad,
        resync(15),
    );
    // Unknown command with a synchronizing literal: refused before the continuation.
    expect(
        err(b"a1 FROB {5}\r\n"),
        Some(b"a1"),
        ErrorKind::UnknownCommand,
        None,
        Status::Bad,
        resync(13),
    );
    expect(
        err(b"a1 NOOP extra\r\n"),
        Some(b"a1"),
        ErrorKind::ExpectedEol,
        None,
        Status::Bad,
        resync(15),
    );
}

#[test]
fn bad_literals_and_quoted_strings() {
    expect(
        err(b"a LOGIN \"fred x\r\n"),
        Some(b"a"),
        ErrorKind::UnterminatedQuoted,
        None,
        Status::Bad,
        resync(17),
    );
    expect(
        err(b"a LOGIN \"fr\\ed\" x\r\n"),
        Some(b"a"),
        ErrorKind::BadQuotedChar,
        None,
        Status::Bad,
        resync(19),
    );
    expect(
        err(b"a LOGIN \"fr\red\" x\r\n"),
        Some(b"a"),
        ErrorKind::BadQuotedChar,
        None,
        Status::Bad,
        resync(19),
    );
    expect(
        err(b"a LOGIN \"\xff\" x\r\n"),
        Some(b"a"),
        ErrorKind::BadQuotedChar,
        None,
        Status::Bad,
        resync(15),
    );
    // UTF-8 in quoted strings is fine (RFC 9051, RFC 6855).
    assert!(matches!(
        reader()
            .parse("a LOGIN \"j\u{f6}rg\" x\r\n".as_bytes())
            .unwrap(),
        Parsed::Command { .. }
    ));
    // A brace that is not a literal header is just bad syntax.
    expect(
        err(b"a LOGIN {x} y\r\n"),
        Some(b"a"),
        ErrorKind::BadLiteral,
        None,
        Status::Bad,
        resync(15),
    );
    // Literal bytes run past what the header said: the rest is garbage.
    expect(
        err(b"a LOGIN {3}\r\nabcdef\r\n"),
        Some(b"a"),
        ErrorKind::ExpectedSpace,
        None,
        Status::Bad,
        resync(21),
    );
    expect(
        err(b"a LOGIN {3}\r\na\0c d\r\n"),
        Some(b"a"),
        ErrorKind::NulInLiteral,
        None,
        Status::Bad,
        resync(20),
    );
    // literal8 only where BINARY allows it.
    expect(
        err(b"a LOGIN ~{1}\r\nx y\r\n"),
        Some(b"a"),
        ErrorKind::BadLiteral,
        None,
        Status::Bad,
        resync(19),
    );
}

#[test]
fn invalid_sequence_sets_and_star_misuse() {
    for (input, kind) in [
        (&b"a FETCH 0 FLAGS\r\n"[..], ErrorKind::BadSequenceSet),
        (b"a FETCH 1: FLAGS\r\n", ErrorKind::BadSequenceSet),
        (b"a FETCH :5 FLAGS\r\n", ErrorKind::BadSequenceSet),
        (b"a FETCH 1,,2 FLAGS\r\n", ErrorKind::BadSequenceSet),
        (b"a FETCH 1, FLAGS\r\n", ErrorKind::BadSequenceSet),
        (b"a FETCH 1:2:3 FLAGS\r\n", ErrorKind::BadSequenceSet),
        (b"a FETCH 4294967296 FLAGS\r\n", ErrorKind::BadSequenceSet),
        (b"a FETCH 1a FLAGS\r\n", ErrorKind::BadSequenceSet),
        (b"a FETCH ** FLAGS\r\n", ErrorKind::BadSequenceSet),
        (b"a FETCH *5 FLAGS\r\n", ErrorKind::BadSequenceSet),
        (b"a FETCH 1:*:* FLAGS\r\n", ErrorKind::BadSequenceSet),
        (b"a FETCH $$ FLAGS\r\n", ErrorKind::ExpectedSpace),
        (b"a FETCH FLAGS\r\n", ErrorKind::BadSequenceSet),
        (b"a FETCH\r\n", ErrorKind::MissingArguments),
        (b"a UID EXPUNGE *x\r\n", ErrorKind::BadSequenceSet),
        (b"a STORE 1 +FLAGS (\\*)\r\n", ErrorKind::BadFlag),
        (b"a SEARCH UID *:\r\n", ErrorKind::BadSequenceSet),
        (
            b"a SELECT INBOX (QRESYNC (1 2 $))\r\n",
            ErrorKind::BadSequenceSet,
        ),
    ] {
        let e = err(input);
        expect(e, Some(b"a"), kind, None, Status::Bad, resync(input.len()));
    }
    // `*` and reversed ranges are fine.
    let mut r = reader();
    let Parsed::Command { command, .. } = r.parse(b"a FETCH 5:2,*,*:3 FLAGS\r\n").unwrap() else {
        panic!()
    };
    let CommandBody::Fetch { set, .. } = command.body else {
        panic!()
    };
    let v: Vec<_> = set.iter().map(|r| r.resolve(10)).collect();
    assert_eq!(v, vec![(2, 5), (10, 10), (3, 10)]);
    assert!(set.has_star());
}

#[test]
fn resync_after_error_continues_with_next_command() {
    let mut r = reader();
    let stream = b"a1 FETCH 0 FLAGS\r\na2 NOOP\r\n";
    let e = r.parse(stream).unwrap_err();
    let Recovery::Resync { skip } = e.recovery else {
        panic!()
    };
    let Parsed::Command { command, .. } = r.parse(&stream[skip..]).unwrap() else {
        panic!()
    };
    assert_eq!(command.tag, b"a2");
    // An error after a literal skips the literal too.
    let stream = b"a1 LOGIN {3+}\r\nabc BAD\"\r\na2 NOOP\r\n";
    let e = r.parse(stream).unwrap_err();
    let Recovery::Resync { skip } = e.recovery else {
        panic!()
    };
    assert_eq!(&stream[skip..], b"a2 NOOP\r\n");
}

#[test]
fn byte_by_byte_feeding_matches_whole_buffer() {
    let stream: &[u8] = b"a1 LOGIN {4}\r\nfred {6+}\r\nsecret\r\na2 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From)])\r\na3 APPEND INBOX (\\Seen) {3}\r\nabc\r\n";
    let mut r = reader();
    let mut buf: Vec<u8> = Vec::new();
    let mut got = Vec::new();
    let mut continuations = Vec::new();
    for &b in stream {
        buf.push(b);
        loop {
            match r.parse(&buf).unwrap() {
                Parsed::Command { command, consumed } => {
                    got.push(format!("{:?}", command));
                    buf.drain(..consumed);
                }
                Parsed::Continue { len } => {
                    continuations.push(len);
                    break;
                }
                Parsed::Incomplete { .. } => break,
            }
        }
    }
    assert_eq!(continuations, vec![4, 3]);
    let mut whole = Vec::new();
    let mut rest = stream;
    let mut r = reader();
    while let Ok(Parsed::Command { command, consumed }) = r.parse(rest) {
        whole.push(format!("{:?}", command));
        rest = &rest[consumed..];
    }
    assert_eq!(got, whole);
    assert_eq!(got.len(), 3);
}

#[test]
fn idle_done_line() {
    let lim = Limits::default();
    assert_eq!(parse_idle_done(b"DO", &lim).unwrap(), Line::Incomplete);
    assert_eq!(
        parse_idle_done(b"done\r\na NOOP\r\n", &lim).unwrap(),
        Line::Done {
            value: (),
            consumed: 6
        }
    );
    let e = parse_idle_done(b"a NOOP\r\n", &lim).unwrap_err();
    assert_eq!((e.kind, e.recovery), (ErrorKind::Syntax, resync(8)));
    let small = Limits { max_line: 8, ..lim };
    assert_eq!(
        parse_idle_done(b"DONEDONEDONE", &small)
            .unwrap_err()
            .recovery,
        Recovery::Close
    );
}

#[test]
fn authenticate_lines() {
    let lim = Limits::default();
    assert_eq!(parse_auth_line(b"dGVz", &lim).unwrap(), Line::Incomplete);
    assert_eq!(
        parse_auth_line(b"dGVzdA==\r\n", &lim).unwrap(),
        Line::Done {
            value: AuthLine::Response(b"dGVzdA=="),
            consumed: 10
        }
    );
    assert_eq!(
        parse_auth_line(b"*\r\n", &lim).unwrap(),
        Line::Done {
            value: AuthLine::Cancel,
            consumed: 3
        }
    );
    assert_eq!(
        parse_auth_line(b"\r\n", &lim).unwrap(),
        Line::Done {
            value: AuthLine::Response(b""),
            consumed: 2
        }
    );
    let e = parse_auth_line(b"not base64!\r\n", &lim).unwrap_err();
    assert_eq!((e.kind, e.recovery), (ErrorKind::BadBase64, resync(13)));
    assert_eq!(
        parse_auth_line(b"abc\r\n", &lim).unwrap_err().kind,
        ErrorKind::BadBase64
    );
}

#[test]
fn long_line_arriving_in_small_reads() {
    let mut line = b"a LOGIN ".to_vec();
    line.extend(std::iter::repeat_n(b'x', 5000));
    line.extend_from_slice(b" {3}\r\nabc\r\n");
    let mut r = reader();
    let mut got = None;
    for end in (1..=line.len()).step_by(7).chain([line.len()]) {
        match r.parse(&line[..end]).unwrap() {
            Parsed::Command { command, consumed } => {
                got = Some((command.body.name(), consumed));
                break;
            }
            Parsed::Continue { len } => assert_eq!(len, 3),
            Parsed::Incomplete { .. } => {}
        }
    }
    assert_eq!(got, Some(("LOGIN", line.len())));
}

#[test]
fn zero_length_synchronizing_literal_gets_its_continuation() {
    let mut r = reader();
    assert_eq!(
        r.parse(b"a LOGIN {0}\r\n").unwrap(),
        Parsed::Continue { len: 0 }
    );
    assert_eq!(
        r.parse(b"a LOGIN {0}\r\n").unwrap(),
        Parsed::Incomplete { needed: None }
    );
    let Parsed::Command { command, .. } = r.parse(b"a LOGIN {0}\r\n pw\r\n").unwrap() else {
        panic!()
    };
    assert_eq!(
        command.body,
        CommandBody::Login {
            user: AString::Literal(b""),
            password: AString::Atom(b"pw")
        }
    );
}
