//! LMTP commands and DATA as an MTA sends them: the RFC 2033 example
//! session, every command form and every error reply.

use pop3_proto::lmtp::{
    Body, Command, EnhancedCode, Error, ErrorKind, Limits, MailParams, ReversePath, parse_command,
    write_error, write_reply,
};
use pop3_proto::{DataDecoder, Parsed, Recovery};

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

fn rcpt_local(line: &[u8]) -> Vec<u8> {
    match one(line) {
        Command::Rcpt { to } => to.local_part().into_owned(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc_2033_example_session() {
    let client = b"LHLO foo.edu\r\nMAIL FROM:<chris@bar.com>\r\nRCPT TO:<pat@foo.edu>\r\n\
                   RCPT TO:<jones@foo.edu>\r\nRCPT TO:<green@foo.edu>\r\nDATA\r\n\
                   Blah blah blah...\r\n...etc. etc. etc.\r\n.\r\nQUIT\r\n";
    let limits = Limits::default();
    let mut buf = &client[..];
    let mut cmds = Vec::new();
    loop {
        let p = parse_command(buf, &limits).unwrap().unwrap();
        buf = &buf[p.consumed..];
        let is_data = p.value == Command::Data;
        cmds.push(p.value.name());
        if is_data {
            break;
        }
    }
    assert_eq!(cmds, ["LHLO", "MAIL", "RCPT", "RCPT", "RCPT", "DATA"]);
    let mut body = Vec::new();
    let mut d = DataDecoder::new(1 << 20);
    let progress = d.decode(buf, &mut body);
    assert!(progress.done);
    assert_eq!(body, b"Blah blah blah...\r\n..etc. etc. etc.\r\n");
    buf = &buf[progress.consumed..];
    assert_eq!(one(buf), Command::Quit);
}

#[test]
fn lhlo_and_simple_verbs() {
    assert_eq!(one(b"LHLO foo.edu\r\n"), Command::Lhlo(b"foo.edu"));
    assert_eq!(one(b"lhlo [192.0.2.1]\r\n"), Command::Lhlo(b"[192.0.2.1]"));
    assert_eq!(one(b"LHLO mx_1.example\n"), Command::Lhlo(b"mx_1.example"));
    assert_eq!(one(b"DATA\r\n"), Command::Data);
    assert_eq!(one(b"rset\r\n"), Command::Rset);
    assert_eq!(one(b"NOOP\r\n"), Command::Noop);
    assert_eq!(one(b"NOOP anything at all\r\n"), Command::Noop);
    assert_eq!(one(b"QUIT\r\n"), Command::Quit);
    assert_eq!(one(b"VRFY pat\r\n"), Command::Vrfy(b"pat"));
    assert_eq!(
        one(b"VRFY <pat@foo.edu>  \r\n"),
        Command::Vrfy(b"<pat@foo.edu>")
    );
}

#[test]
fn mail_from_forms() {
    let Command::Mail { from, params } = one(b"MAIL FROM:<chris@bar.com>\r\n") else {
        panic!()
    };
    let ReversePath::Mailbox(m) = from else {
        panic!()
    };
    assert_eq!(m.local_raw(), b"chris");
    assert_eq!(m.domain(), Some(&b"bar.com"[..]));
    assert_eq!(params, MailParams::default());

    assert_eq!(
        one(b"MAIL FROM:<>\r\n"),
        Command::Mail {
            from: ReversePath::Null,
            params: MailParams::default()
        }
    );
    assert_eq!(
        one(b"mail from:<> size=1024 body=8bitmime SMTPUTF8\r\n"),
        Command::Mail {
            from: ReversePath::Null,
            params: MailParams {
                size: Some(1024),
                body: Some(Body::EightBitMime),
                smtputf8: true
            }
        }
    );
    let Command::Mail { params, .. } = one(b"MAIL FROM: <a@b> BODY=7BIT\r\n") else {
        panic!()
    };
    assert_eq!(params.body, Some(Body::SevenBit));
    let Command::Mail { params, .. } = one(b"MAIL FROM:<a@b> SIZE=99999999999999999999999999\r\n")
    else {
        panic!()
    };
    assert_eq!(params.size, Some(u64::MAX));
    let Command::Mail { from, .. } = one("MAIL FROM:<jörg@bücher.example> SMTPUTF8\r\n".as_bytes())
    else {
        panic!()
    };
    assert!(matches!(from, ReversePath::Mailbox(m) if !m.is_ascii()));
}

#[test]
fn rcpt_to_forms() {
    assert_eq!(rcpt_local(b"RCPT TO:<pat@foo.edu>\r\n"), b"pat");
    assert_eq!(rcpt_local(b"rcpt to:<Postmaster>\r\n"), b"Postmaster");
    assert_eq!(rcpt_local(b"RCPT TO:<pat>\r\n"), b"pat");
    assert_eq!(rcpt_local(b"RCPT TO: <pat@foo.edu>\r\n"), b"pat");
    assert_eq!(
        rcpt_local(b"RCPT TO:<\"pat smith\"@foo.edu>\r\n"),
        b"pat smith"
    );
    assert_eq!(
        rcpt_local(b"RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>\r\n"),
        b"userc"
    );
    let Command::Rcpt { to } = one(b"RCPT TO:<pat+lists@foo.edu>\r\n") else {
        panic!()
    };
    let parts = to.split_detail(b"+");
    assert_eq!(parts.user.as_ref(), b"pat");
    assert_eq!(parts.detail.as_deref(), Some(&b"lists"[..]));
    assert_eq!(to.domain(), Some(&b"foo.edu"[..]));
}

#[test]
fn every_error_and_its_reply() {
    use ErrorKind::*;
    let cases: &[(&[u8], ErrorKind, u16, EnhancedCode)] = &[
        (b"\r\n", EmptyLine, 500, EnhancedCode::SYNTAX_ERROR),
        (
            b"EXPN staff\r\n",
            UnknownCommand,
            500,
            EnhancedCode::INVALID_COMMAND,
        ),
        (
            b"STARTTLS\r\n",
            UnknownCommand,
            500,
            EnhancedCode::INVALID_COMMAND,
        ),
        (
            b"BDAT 10 LAST\r\n",
            UnknownCommand,
            500,
            EnhancedCode::INVALID_COMMAND,
        ),
        (
            b"HELO foo.edu\r\n",
            HeloInLmtp,
            500,
            EnhancedCode::INVALID_COMMAND,
        ),
        (
            b"ehlo foo.edu\r\n",
            HeloInLmtp,
            500,
            EnhancedCode::INVALID_COMMAND,
        ),
        (b"NOOP \0\r\n", NulByte, 500, EnhancedCode::SYNTAX_ERROR),
        (
            b"LHLO\r\n",
            MissingArgument,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"LHLO a b\r\n",
            UnexpectedArgument,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"LHLO foo..edu\r\n",
            BadDomain,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"LHLO foo@edu\r\n",
            BadDomain,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"DATA x\r\n",
            UnexpectedArgument,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"RSET x\r\n",
            UnexpectedArgument,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"QUIT x\r\n",
            UnexpectedArgument,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"VRFY\r\n",
            MissingArgument,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"MAIL\r\n",
            ExpectedFromTo,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"MAIL TO:<a@b>\r\n",
            ExpectedFromTo,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"RCPT FROM:<a@b>\r\n",
            ExpectedFromTo,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"MAIL FROM:a@b\r\n",
            BadSenderSyntax,
            501,
            EnhancedCode::BAD_SENDER_SYNTAX,
        ),
        (
            b"MAIL FROM:<a@b\r\n",
            BadSenderSyntax,
            501,
            EnhancedCode::BAD_SENDER_SYNTAX,
        ),
        (
            b"MAIL FROM:<a@b>x\r\n",
            BadSenderSyntax,
            501,
            EnhancedCode::BAD_SENDER_SYNTAX,
        ),
        (
            b"MAIL FROM:<a b@c>\r\n",
            BadSenderSyntax,
            501,
            EnhancedCode::BAD_SENDER_SYNTAX,
        ),
        (
            b"RCPT TO:<>\r\n",
            BadRecipientSyntax,
            501,
            EnhancedCode::BAD_DESTINATION_SYNTAX,
        ),
        (
            b"RCPT TO:pat\r\n",
            BadRecipientSyntax,
            501,
            EnhancedCode::BAD_DESTINATION_SYNTAX,
        ),
        (
            b"RCPT TO:<pat@>\r\n",
            BadRecipientSyntax,
            501,
            EnhancedCode::BAD_DESTINATION_SYNTAX,
        ),
        (
            b"RCPT TO:<pat@foo.edu\xff>\r\n",
            BadRecipientSyntax,
            501,
            EnhancedCode::BAD_DESTINATION_SYNTAX,
        ),
        (
            b"MAIL FROM:<> SIZE=abc\r\n",
            BadParameterValue,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"MAIL FROM:<> SIZE\r\n",
            BadParameterValue,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"MAIL FROM:<> BODY=BINARYMIME\r\n",
            BadParameterValue,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"MAIL FROM:<> SMTPUTF8=yes\r\n",
            BadParameterValue,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"MAIL FROM:<> =x\r\n",
            BadParameterValue,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"MAIL FROM:<> SIZE=1 SIZE=2\r\n",
            DuplicateParameter,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"MAIL FROM:<> BODY=7BIT BODY=7BIT\r\n",
            DuplicateParameter,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"MAIL FROM:<> SMTPUTF8 SMTPUTF8\r\n",
            DuplicateParameter,
            501,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"MAIL FROM:<> RET=FULL\r\n",
            UnknownParameter,
            555,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"MAIL FROM:<> AUTH=<>\r\n",
            UnknownParameter,
            555,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
        (
            b"RCPT TO:<a@b> NOTIFY=NEVER\r\n",
            UnknownParameter,
            555,
            EnhancedCode::INVALID_ARGUMENTS,
        ),
    ];
    for (line, kind, code, enhanced) in cases {
        let got = err(line);
        assert_eq!(got, *kind, "{:?}", String::from_utf8_lossy(line));
        assert_eq!(got.code(), *code, "{kind:?}");
        assert_eq!(got.enhanced(), *enhanced, "{kind:?}");
    }
    let mut out = Vec::new();
    let e = parse_command(b"HELO foo.edu\r\n", &Limits::default()).unwrap_err();
    write_error(&mut out, &e);
    assert_eq!(out, b"500 5.5.1 This is LMTP: use LHLO\r\n");
}

#[test]
fn too_long_and_incomplete() {
    let limits = Limits { max_line: 512 };
    let mut line = b"RCPT TO:<".to_vec();
    line.extend_from_slice(&[b'a'; 600]);
    line.extend_from_slice(b"@foo.edu>\r\nQUIT\r\n");
    let e = parse_command(&line, &limits).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LineTooLong);
    assert_eq!(
        e.recovery,
        Recovery::Resync {
            skip: line.len() - 6
        }
    );
    let mut out = Vec::new();
    write_error(&mut out, &e);
    assert_eq!(out, b"500 5.5.2 Line too long\r\n");
    let e = parse_command(&line[..600], &limits).unwrap_err();
    assert_eq!(e.recovery, Recovery::DiscardToEol { skip: 600 });
    assert_eq!(parse_command(b"RCPT TO:<pat", &limits), Ok(None));
}

#[test]
fn per_recipient_replies_after_data_too_big() {
    // 552 for each accepted recipient, then the session goes on in step.
    let mut d = DataDecoder::new(8);
    let mut body = Vec::new();
    let wire = b"0123456789\r\n.\r\nQUIT\r\n";
    let p = d.decode(wire, &mut body);
    assert!(p.done && d.too_big());
    let mut out = Vec::new();
    for _ in 0..2 {
        write_reply(
            &mut out,
            552,
            Some(EnhancedCode::MESSAGE_TOO_BIG),
            b"Message too big",
        );
    }
    assert_eq!(
        out,
        b"552 5.3.4 Message too big\r\n552 5.3.4 Message too big\r\n"
    );
    assert_eq!(one(&wire[p.consumed..]), Command::Quit);
}
