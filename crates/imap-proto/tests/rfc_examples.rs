//! The client side of the example exchanges in RFC 3501 and RFC 9051,
//! played through a reader the way a session would: each client line (or
//! literal) arrives as its own read, continuations are counted, IDLE and
//! AUTHENTICATE switch to the line-mode helpers.

use imap_proto::*;

#[derive(PartialEq)]
enum Mode {
    Command,
    Idle,
    Auth,
}

/// Feed the chunks; return (command names, continuations asked, errors).
fn play(chunks: &[&[u8]]) -> (Vec<String>, usize, Vec<ErrorKind>) {
    let lim = Limits::default();
    let mut r = CommandReader::new(lim);
    let mut buf: Vec<u8> = Vec::new();
    let mut names = Vec::new();
    let mut conts = 0;
    let mut errors = Vec::new();
    let mut mode = Mode::Command;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match mode {
                Mode::Idle => match parse_idle_done(&buf, &lim).expect("DONE") {
                    Line::Done { consumed, .. } => {
                        names.push("DONE".to_string());
                        buf.drain(..consumed);
                        mode = Mode::Command;
                        continue;
                    }
                    Line::Incomplete => break,
                },
                Mode::Auth => match parse_auth_line(&buf, &lim).expect("auth line") {
                    Line::Done { consumed, value } => {
                        // The examples end the exchange after an empty line.
                        let last = value == AuthLine::Response(b"");
                        names.push(match value {
                            AuthLine::Cancel => "*".to_string(),
                            AuthLine::Response(_) => "SASL".to_string(),
                        });
                        buf.drain(..consumed);
                        if last {
                            mode = Mode::Command;
                        }
                        continue;
                    }
                    Line::Incomplete => break,
                },
                Mode::Command => {}
            }
            match r.parse(&buf) {
                Ok(Parsed::Command { command, consumed }) => {
                    names.push(command.body.name().to_string());
                    match command.body {
                        CommandBody::Idle => mode = Mode::Idle,
                        CommandBody::Authenticate {
                            initial_response: None,
                            ..
                        } => mode = Mode::Auth,
                        _ => {}
                    }
                    buf.drain(..consumed);
                }
                Ok(Parsed::Continue { .. }) => {
                    conts += 1;
                    break;
                }
                Ok(Parsed::Incomplete { .. }) => break,
                Err(e) => {
                    errors.push(e.kind);
                    let Recovery::Resync { skip } = e.recovery else {
                        panic!("close: {e:?}")
                    };
                    buf.drain(..skip);
                }
            }
        }
    }
    assert!(
        buf.is_empty(),
        "left over: {:?}",
        String::from_utf8_lossy(&buf)
    );
    (names, conts, errors)
}

const MESSAGE_3501: &str = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.COM>\r\nSubject: afternoon meeting\r\nTo: mooch@owatagu.siam.edu\r\nMessage-Id: <B27397-0100000@Blurdybloop.COM>\r\nMIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

#[test]
fn rfc3501_examples() {
    assert_eq!(MESSAGE_3501.len(), 310);
    let append = format!(
        "A003 APPEND saved-messages (\\Seen) {{{}}}\r\n",
        MESSAGE_3501.len()
    );
    let msg = format!("{MESSAGE_3501}\r\n");
    let chunks: Vec<&[u8]> = vec![
        b"abcd CAPABILITY\r\n",
        b"a002 NOOP\r\n",
        b"a047 NOOP\r\n",
        b"A023 LOGOUT\r\n",
        b"a001 CAPABILITY\r\n",
        b"a002 STARTTLS\r\n",
        b"a003 CAPABILITY\r\n",
        b"a004 LOGIN joe password\r\n",
        b"A001 AUTHENTICATE GSSAPI\r\n",
        b"YIIB+wYJKoZIhvcSAQICAQBuggHqMIIB5qADAgEFoQMCAQ6iBwMFACAAAACjggEmYYIBIjCCAR6gAwIBBaESGxB1Lndhc2hpbmd0b24uZWR1oi0wK6ADAgEDoSQwIhsEaW1hcBsac2hpdmFzLmNhYy53YXNoaW5ndG9uLmVkdQ==\r\n",
        b"\r\n",
        b"a001 LOGIN SMITH SESAME\r\n",
        b"A142 SELECT INBOX\r\n",
        b"A932 EXAMINE blurdybloop\r\n",
        b"A003 CREATE owatagusiam/\r\n",
        b"A004 CREATE owatagusiam/blurdybloop\r\n",
        b"A682 LIST \"\" *\r\n",
        b"A683 DELETE blurdybloop\r\n",
        b"A684 DELETE foo\r\n",
        b"A685 DELETE foo/bar\r\n",
        b"A86 LIST \"\" %\r\n",
        b"A683 RENAME blurdybloop sarasoop\r\n",
        b"A684 RENAME foo zowie\r\n",
        b"Z433 RENAME INBOX old-mail\r\n",
        b"A002 SUBSCRIBE #news.comp.mail.mime\r\n",
        b"A002 UNSUBSCRIBE #news.comp.mail.mime\r\n",
        b"A101 LIST \"\" \"\"\r\n",
        b"A102 LIST #news.comp.mail.misc \"\"\r\n",
        b"A103 LIST /usr/staff/jones \"\"\r\n",
        b"A202 LIST ~/Mail/ %\r\n",
        b"A002 LSUB \"#news.\" \"comp.mail.*\"\r\n",
        b"A003 LSUB \"#news.\" \"comp.%\"\r\n",
        b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n",
        append.as_bytes(),
        msg.as_bytes(),
        b"FXXZ CHECK\r\n",
        b"A341 CLOSE\r\n",
        b"A202 EXPUNGE\r\n",
        b"A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
        b"A283 SEARCH TEXT \"string not in mailbox\"\r\n",
        b"A284 SEARCH CHARSET UTF-8 TEXT {6}\r\n",
        "\u{422}\u{435}\u{441}\r\n".as_bytes(),
        b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
        b"A003 STORE 2:4 +FLAGS (\\Deleted)\r\n",
        b"A003 COPY 2:4 MEETING\r\n",
        b"A999 UID FETCH 4827313:4828442 FLAGS\r\n",
        b"a001 login mrc secret\r\n",
        b"a002 select inbox\r\n",
        b"a003 fetch 12 full\r\n",
        b"a004 fetch 12 body[header]\r\n",
        b"a005 store 12 +flags \\deleted\r\n",
        b"a006 logout\r\n",
    ];
    let (names, conts, errors) = play(&chunks);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(conts, 2);
    let expected = [
        "CAPABILITY",
        "NOOP",
        "NOOP",
        "LOGOUT",
        "CAPABILITY",
        "STARTTLS",
        "CAPABILITY",
        "LOGIN",
        "AUTHENTICATE",
        "SASL",
        "SASL",
        "LOGIN",
        "SELECT",
        "EXAMINE",
        "CREATE",
        "CREATE",
        "LIST",
        "DELETE",
        "DELETE",
        "DELETE",
        "LIST",
        "RENAME",
        "RENAME",
        "RENAME",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "LIST",
        "LIST",
        "LIST",
        "LIST",
        "LSUB",
        "LSUB",
        "STATUS",
        "APPEND",
        "CHECK",
        "CLOSE",
        "EXPUNGE",
        "SEARCH",
        "SEARCH",
        "SEARCH",
        "FETCH",
        "STORE",
        "COPY",
        "UID FETCH",
        "LOGIN",
        "SELECT",
        "FETCH",
        "FETCH",
        "STORE",
        "LOGOUT",
    ];
    assert_eq!(names, expected);
}

#[test]
fn rfc9051_examples() {
    let chunks: Vec<&[u8]> = vec![
        b"a002 NOOP\r\n",
        b"A001 AUTHENTICATE GSSAPI\r\n",
        b"YDMGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=\r\n",
        b"\r\n",
        b"A001 AUTHENTICATE PLAIN\r\n",
        b"*\r\n",
        b"\r\n",
        b"A002 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n",
        b"A001 ENABLE UTF8=ACCEPT\r\n",
        b"A142 SELECT INBOX\r\n",
        b"A002 NAMESPACE\r\n",
        b"A002 IDLE\r\n",
        b"DONE\r\n",
        b"A003 CLOSE\r\n",
        b"A342 UNSELECT\r\n",
        b"A004 CREATE \"Important Messages\"\r\n",
        b"A02 LIST (SUBSCRIBED) \"\" \"*\"\r\n",
        b"A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n",
        b"A04 LIST \"\" \"%\" RETURN (STATUS (MESSAGES UNSEEN))\r\n",
        b"A05 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)\r\n",
        b"A01 LIST \"\" % RETURN (SPECIAL-USE)\r\n",
        b"A02 LIST (SPECIAL-USE) \"\" *\r\n",
        b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n",
        b"A042 STATUS blurdybloop (SIZE DELETED)\r\n",
        b"A003 APPEND saved-messages (\\Seen) {5+}\r\nHello\r\n",
        b"A202 EXPUNGE\r\n",
        b"A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
        b"A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
        b"A284 SEARCH TEXT \"string not in mailbox\"\r\n",
        b"A285 SEARCH RETURN (MIN MAX) CHARSET UTF-8 TEXT {12}\r\n",
        "\u{422}\u{435}\u{441}\u{442}\u{43e}\u{432}\r\n".as_bytes(),
        b"A286 SEARCH CHARSET KOI8-R (OR $ 1,3000:3021) TEXT {8}\r\n",
        b"\xf0\xd2\xcf\xd7\xc5\xd2\xcb\xc1\r\n",
        b"A301 SEARCH RETURN (SAVE) SINCE 1-Jan-2004 NOT FROM \"Smith\" UID 443:557\r\n",
        b"A302 FETCH $ (UID FLAGS)\r\n",
        b"A303 UID SEARCH UID $ SMALLER 4096\r\n",
        b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
        b"A003 STORE 2:4 +FLAGS (\\Deleted)\r\n",
        b"A003 COPY 2:4 MEETING\r\n",
        b"A003 MOVE 2:4 MEETING\r\n",
        b"A004 UID MOVE 42:69 foo\r\n",
        b"A003 UID EXPUNGE 3000:3002\r\n",
        b"A999 UID FETCH 4827313:4828442 FLAGS\r\n",
        b"a1 FETCH 1 (BINARY.PEEK[1.2]<0.100> BINARY.SIZE[1])\r\n",
        b"a2 ID (\"name\" \"sodr\" \"version\" \"19.34\")\r\n",
    ];
    let (names, conts, errors) = play(&chunks);
    // A286 uses an unsupported charset: as in the RFC, the literal is
    // accepted (the command is judged once complete) and then refused with
    // NO [BADCHARSET].
    assert_eq!(errors, vec![ErrorKind::BadCharset]);
    assert_eq!(conts, 2);
    let expected = [
        "NOOP",
        "AUTHENTICATE",
        "SASL",
        "SASL",
        "AUTHENTICATE",
        "*",
        "SASL",
        "AUTHENTICATE",
        "ENABLE",
        "SELECT",
        "NAMESPACE",
        "IDLE",
        "DONE",
        "CLOSE",
        "UNSELECT",
        "CREATE",
        "LIST",
        "LIST",
        "LIST",
        "LIST",
        "LIST",
        "LIST",
        "STATUS",
        "STATUS",
        "APPEND",
        "EXPUNGE",
        "SEARCH",
        "SEARCH",
        "SEARCH",
        "SEARCH",
        "SEARCH",
        "FETCH",
        "UID SEARCH",
        "FETCH",
        "STORE",
        "COPY",
        "MOVE",
        "UID MOVE",
        "UID EXPUNGE",
        "UID FETCH",
        "FETCH",
        "ID",
    ];
    assert_eq!(names, expected);
}
