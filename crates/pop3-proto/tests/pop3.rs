//! POP3 commands as clients send them: every form, every error class, and
//! the RFC 1939 example session parsed from one pipelined buffer.

use pop3_proto::pop3::{
    Command, Error, ErrorClass, ErrorKind, Limits, SaslResponse, parse_command, parse_sasl_response,
};
use pop3_proto::{Parsed, Recovery, skip_to_eol};

fn one(line: &[u8]) -> Command<'_> {
    match parse_command(line, &Limits::default()) {
        Ok(Some(Parsed { value, consumed })) => {
            assert_eq!(consumed, line.len(), "{:?}", String::from_utf8_lossy(line));
            value
        }
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(line)),
    }
}

fn err(line: &[u8]) -> ErrorKind {
    match parse_command(line, &Limits::default()) {
        Err(Error {
            kind,
            recovery: Recovery::Resync { skip },
        }) => {
            assert_eq!(skip, line.len(), "{:?}", String::from_utf8_lossy(line));
            kind
        }
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(line)),
    }
}

#[test]
fn rfc_1939_example_session_pipelined() {
    let input = b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\nSTAT\r\nLIST\r\n\
                  RETR 1\r\nDELE 1\r\nRETR 2\r\nDELE 2\r\nQUIT\r\n";
    let mut buf = &input[..];
    let mut got = Vec::new();
    while let Some(p) = parse_command(buf, &Limits::default()).unwrap() {
        got.push(p.value);
        buf = &buf[p.consumed..];
    }
    assert!(buf.is_empty());
    let digest = [
        0xc4, 0xc9, 0x33, 0x4b, 0xac, 0x56, 0x0e, 0xcc, 0x97, 0x9e, 0x58, 0x00, 0x1b, 0x3e, 0x22,
        0xfb,
    ];
    assert_eq!(
        got,
        vec![
            Command::Apop {
                name: b"mrose",
                digest
            },
            Command::Stat,
            Command::List(None),
            Command::Retr(1),
            Command::Dele(1),
            Command::Retr(2),
            Command::Dele(2),
            Command::Quit,
        ]
    );
}

#[test]
fn authorization_commands() {
    assert_eq!(one(b"USER mrose\r\n"), Command::User(b"mrose"));
    assert_eq!(one(b"user  mrose  \r\n"), Command::User(b"mrose"));
    assert_eq!(one(b"USER John Smith\r\n"), Command::User(b"John Smith"));
    // PASS keeps every byte after the single separator.
    assert_eq!(one(b"PASS secret\r\n"), Command::Pass(b"secret"));
    assert_eq!(one(b"PASS  two words \r\n"), Command::Pass(b" two words "));
    assert_eq!(one(b"pass x\n"), Command::Pass(b"x"));
    assert_eq!(
        one(b"APOP John Smith C4C9334BAC560ECC979E58001B3E22FB\r\n"),
        Command::Apop {
            name: b"John Smith",
            digest: [
                0xc4, 0xc9, 0x33, 0x4b, 0xac, 0x56, 0x0e, 0xcc, 0x97, 0x9e, 0x58, 0x00, 0x1b, 0x3e,
                0x22, 0xfb
            ]
        }
    );
    assert_eq!(one(b"STLS\r\n"), Command::Stls);
    assert_eq!(one(b"CAPA\r\n"), Command::Capa);
    assert_eq!(one(b"UTF8\r\n"), Command::Utf8);
    assert_eq!(one(b"QUIT\r\n"), Command::Quit);
}

#[test]
fn auth_forms() {
    assert_eq!(
        one(b"AUTH\r\n"),
        Command::Auth {
            mechanism: None,
            initial: None
        }
    );
    assert_eq!(
        one(b"AUTH PLAIN\r\n"),
        Command::Auth {
            mechanism: Some(b"PLAIN"),
            initial: None
        }
    );
    assert_eq!(
        one(b"auth plain dGVzdAB0ZXN0AHRlc3Q=\r\n"),
        Command::Auth {
            mechanism: Some(b"plain"),
            initial: Some(SaslResponse::Data(b"dGVzdAB0ZXN0AHRlc3Q="))
        }
    );
    assert_eq!(
        one(b"AUTH EXTERNAL =\r\n"),
        Command::Auth {
            mechanism: Some(b"EXTERNAL"),
            initial: Some(SaslResponse::Empty)
        }
    );
    assert_eq!(
        one(b"AUTH SCRAM-SHA-256\r\n"),
        Command::Auth {
            mechanism: Some(b"SCRAM-SHA-256"),
            initial: None
        }
    );
}

#[test]
fn auth_initial_response_may_exceed_the_command_limit() {
    let mut line = b"AUTH XOAUTH2 ".to_vec();
    line.extend_from_slice(&b"QUFB".repeat(1000));
    line.extend_from_slice(b"\r\n");
    assert!(matches!(
        one(&line),
        Command::Auth {
            initial: Some(SaslResponse::Data(d)),
            ..
        } if d.len() == 4000
    ));
    // Any other command is held to max_line.
    let mut user = b"USER ".to_vec();
    user.extend_from_slice(&[b'a'; 2000]);
    user.extend_from_slice(b"\r\n");
    assert_eq!(
        parse_command(&user, &Limits::default()).map_err(|e| e.kind),
        Err(ErrorKind::LineTooLong)
    );
}

#[test]
fn sasl_exchange_lines() {
    let limits = Limits::default();
    let mut buf: &[u8] = b"dXNlcg==\r\ncGFzcw==\r\n*\r\n\r\n";
    let mut got = Vec::new();
    while let Some(p) = parse_sasl_response(buf, &limits).unwrap() {
        got.push(p.value);
        buf = &buf[p.consumed..];
    }
    assert_eq!(
        got,
        vec![
            SaslResponse::Data(b"dXNlcg=="),
            SaslResponse::Data(b"cGFzcw=="),
            SaslResponse::Cancel,
            SaslResponse::Empty
        ]
    );
    let e = parse_sasl_response(b"not base64!\r\nSTAT\r\n", &limits).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadBase64);
    assert_eq!(e.class(), ErrorClass::BadSasl);
    assert_eq!(e.recovery, Recovery::Resync { skip: 13 });
}

#[test]
fn transaction_commands() {
    assert_eq!(one(b"STAT\r\n"), Command::Stat);
    assert_eq!(one(b"LIST\r\n"), Command::List(None));
    assert_eq!(one(b"LIST 2\r\n"), Command::List(Some(2)));
    assert_eq!(one(b"list 02 \r\n"), Command::List(Some(2)));
    assert_eq!(one(b"RETR 1\r\n"), Command::Retr(1));
    assert_eq!(one(b"DELE 1\r\n"), Command::Dele(1));
    assert_eq!(one(b"NOOP\r\n"), Command::Noop);
    assert_eq!(one(b"RSET\r\n"), Command::Rset);
    assert_eq!(one(b"TOP 1 10\r\n"), Command::Top { msg: 1, lines: 10 });
    assert_eq!(one(b"top 1 0\r\n"), Command::Top { msg: 1, lines: 0 });
    assert_eq!(one(b"UIDL\r\n"), Command::Uidl(None));
    assert_eq!(one(b"UIDL 2\r\n"), Command::Uidl(Some(2)));
    assert_eq!(one(b"RETR\t3\r\n"), Command::Retr(3));
    assert_eq!(one(b"RETR 2147483648\r\n"), Command::Retr(1 << 31));
    assert_eq!(one(b"ReTr 7\n"), Command::Retr(7));
    assert_eq!(one(b"RETR 1\r\n").name(), "RETR");
}

#[test]
fn unknown_commands() {
    for line in [
        &b"XYZZY\r\n"[..],
        b"LANG\r\n",
        b"LANG en\r\n",
        b"RETRX 1\r\n",
        b"RET 1\r\n",
        b"TO 1 2\r\n",
        b" STAT\r\n",
        b"\xc3\xa9TAT\r\n",
    ] {
        assert_eq!(err(line), ErrorKind::UnknownCommand);
        assert_eq!(err(line).class(), ErrorClass::UnknownCommand);
    }
    assert_eq!(err(b"\r\n"), ErrorKind::EmptyLine);
    assert_eq!(err(b"  \r\n"), ErrorKind::EmptyLine);
}

#[test]
fn wrong_arguments() {
    use ErrorKind::*;
    let cases: &[(&[u8], ErrorKind)] = &[
        (b"USER\r\n", MissingArgument),
        (b"USER   \r\n", MissingArgument),
        (b"PASS\r\n", MissingArgument),
        (b"PASS \r\n", MissingArgument),
        (b"APOP mrose\r\n", MissingArgument),
        (b"APOP\r\n", MissingArgument),
        (b"APOP mrose c4c9334bac560ecc979e58001b3e22f\r\n", BadDigest),
        (
            b"APOP mrose c4c9334bac560ecc979e58001b3e22fbb\r\n",
            BadDigest,
        ),
        (
            b"APOP mrose g4c9334bac560ecc979e58001b3e22fb\r\n",
            BadDigest,
        ),
        (b"AUTH PL@IN\r\n", BadMechanism),
        (b"AUTH ABCDEFGHIJKLMNOPQRSTU\r\n", BadMechanism),
        (b"AUTH PLAIN dGVzd\r\n", BadBase64),
        (b"AUTH PLAIN *\r\n", BadBase64),
        (b"AUTH PLAIN dGVz dGVz\r\n", TooManyArguments),
        (b"STAT 1\r\n", TooManyArguments),
        (b"QUIT now\r\n", TooManyArguments),
        (b"CAPA x\r\n", TooManyArguments),
        (b"STLS x\r\n", TooManyArguments),
        (b"NOOP x\r\n", TooManyArguments),
        (b"RSET x\r\n", TooManyArguments),
        (b"UTF8 x\r\n", TooManyArguments),
        (b"LIST 1 2\r\n", TooManyArguments),
        (b"UIDL 1 2\r\n", TooManyArguments),
        (b"RETR 1 2\r\n", TooManyArguments),
        (b"DELE 1 2\r\n", TooManyArguments),
        (b"TOP 1 2 3\r\n", TooManyArguments),
        (b"RETR\r\n", MissingArgument),
        (b"DELE\r\n", MissingArgument),
        (b"TOP\r\n", MissingArgument),
        (b"TOP 1\r\n", MissingArgument),
        (b"RETR 0\r\n", BadMessageNumber),
        (b"RETR -1\r\n", BadMessageNumber),
        (b"RETR +1\r\n", BadMessageNumber),
        (b"RETR 1a\r\n", BadMessageNumber),
        (b"RETR 0x10\r\n", BadMessageNumber),
        (b"RETR 2147483649\r\n", BadMessageNumber),
        (b"RETR 99999999999999999999999\r\n", BadMessageNumber),
        (b"LIST abc\r\n", BadMessageNumber),
        (b"UIDL 0\r\n", BadMessageNumber),
        (b"DELE 1.0\r\n", BadMessageNumber),
        (b"TOP 0 1\r\n", BadMessageNumber),
        (b"TOP 1 -1\r\n", BadLineCount),
        (b"TOP 1 x\r\n", BadLineCount),
        (b"TOP 1 2147483649\r\n", BadLineCount),
        (b"USER a\0b\r\n", NulByte),
    ];
    for (line, kind) in cases {
        assert_eq!(err(line), *kind, "{:?}", String::from_utf8_lossy(line));
        let expected_class = if *kind == BadBase64 {
            ErrorClass::BadSasl
        } else {
            ErrorClass::BadArguments
        };
        assert_eq!(kind.class(), expected_class);
    }
}

#[test]
fn an_error_skips_only_its_own_line() {
    let buf = b"RETR x\r\nSTAT\r\n";
    let e = parse_command(buf, &Limits::default()).unwrap_err();
    assert_eq!(e.recovery, Recovery::Resync { skip: 8 });
    let next = parse_command(&buf[8..], &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(next.value, Command::Stat);
}

#[test]
fn incomplete_lines_ask_for_more() {
    for partial in [&b""[..], b"S", b"STAT", b"STAT\r", b"PASS a b"] {
        assert_eq!(parse_command(partial, &Limits::default()), Ok(None));
    }
}

#[test]
fn too_long_lines_with_and_without_their_end() {
    let limits = Limits {
        max_line: 32,
        max_sasl_line: 64,
    };
    // The end is there: skip the line, the next command is intact.
    let mut buf = b"USER ".to_vec();
    buf.extend_from_slice(&[b'a'; 40]);
    buf.extend_from_slice(b"\r\nNOOP\r\n");
    let e = parse_command(&buf, &limits).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LineTooLong);
    assert_eq!(e.class(), ErrorClass::LineTooLong);
    assert_eq!(e.recovery, Recovery::Resync { skip: 47 });
    assert_eq!(
        parse_command(&buf[47..], &limits).unwrap().unwrap().value,
        Command::Noop
    );

    // The end has not arrived: discard it all, then up to the next LF.
    let first = vec![b'a'; 40];
    let e = parse_command(&first, &limits).unwrap_err();
    assert_eq!(e.recovery, Recovery::DiscardToEol { skip: 40 });
    assert_eq!(skip_to_eol(b"aaaaaaa"), None);
    let second = b"aaa\r\nQUIT\r\n";
    let skip = skip_to_eol(second).unwrap();
    assert_eq!(
        parse_command(&second[skip..], &limits)
            .unwrap()
            .unwrap()
            .value,
        Command::Quit
    );

    // Exactly at the limit (CRLF counted) is fine.
    let mut at = b"USER ".to_vec();
    at.extend_from_slice(&[b'b'; 25]);
    at.extend_from_slice(b"\r\n");
    assert_eq!(at.len(), 32);
    assert!(matches!(
        parse_command(&at, &limits),
        Ok(Some(Parsed { value: Command::User(u), consumed: 32 })) if u.len() == 25
    ));
    at.insert(5, b'b');
    assert_eq!(
        parse_command(&at, &limits).map_err(|e| e.kind),
        Err(ErrorKind::LineTooLong)
    );
}
