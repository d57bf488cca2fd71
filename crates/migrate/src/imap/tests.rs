//! The framer on byte streams split every way, and the client against a
//! scripted server on loopback, including servers that try to make us
//! allocate without bound, never answer, or send what crashes parsers.

use super::frame::{Framer, Limits, literal_len};
use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

/// Hands out its bytes a few at a time, as TCP may.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

const LIM: Limits = Limits {
    max_line: 200,
    max_literal: 1000,
    max_response: 2000,
};

fn frames(data: &[u8], step: usize, lim: &Limits) -> Result<Vec<Vec<u8>>, ImapError> {
    let mut f = Framer::new(Trickle {
        data: data.to_vec(),
        pos: 0,
        step,
    });
    let mut out = Vec::new();
    loop {
        match f.next(lim) {
            Ok(r) => out.push(f.bytes(r).to_vec()),
            Err(ImapError::Closed) => return Ok(out),
            Err(e) => return Err(e),
        }
    }
}

#[test]
fn literal_announcements() {
    assert_eq!(literal_len(b"* 1 FETCH (BODY[] {12}\r\n"), Some(12));
    assert_eq!(literal_len(b"a LOGIN {3+}\r\n"), Some(3));
    assert_eq!(literal_len(b"* 1 FETCH (BINARY[] ~{0}\n"), Some(0));
    assert_eq!(literal_len(b"* OK {x}\r\n"), None);
    assert_eq!(literal_len(b"* OK {}\r\n"), None);
    assert_eq!(literal_len(b"* OK done\r\n"), None);
    assert_eq!(literal_len(b"* OK {99999999999999999999}\r\n"), None);
}

#[test]
fn responses_are_whole_however_the_bytes_arrive() {
    let data = b"* OK hi\r\n* 1 FETCH (UID 5 BODY[] {10}\r\nab\r\n{3}\r\ncd) \r\n* 2 FETCH (X {0}\r\n)\r\nP1 OK done\r\n";
    let want: Vec<&[u8]> = vec![
        b"* OK hi\r\n",
        b"* 1 FETCH (UID 5 BODY[] {10}\r\nab\r\n{3}\r\ncd) \r\n",
        b"* 2 FETCH (X {0}\r\n)\r\n",
        b"P1 OK done\r\n",
    ];
    for step in [1, 2, 3, 7, 64, 100_000] {
        let got = frames(data, step, &LIM).unwrap_or_default();
        assert_eq!(got, want, "step {step}");
    }
}

#[test]
fn the_framer_refuses_what_would_need_unbounded_memory() {
    let mut huge = b"* 1 FETCH (BODY[] {4000000000}\r\n".to_vec();
    huge.extend_from_slice(b"abc");
    assert!(matches!(
        frames(&huge, 5, &LIM),
        Err(ImapError::LiteralTooLarge {
            size: 4_000_000_000,
            ..
        })
    ));
    let endless = vec![b'x'; 10_000];
    assert!(matches!(
        frames(&endless, 64, &LIM),
        Err(ImapError::LineTooLong { limit: 200 })
    ));
    // Many literals, each within bounds, adding up past the response limit.
    let mut many = b"* 1 FETCH (A {900}\r\n".to_vec();
    for _ in 0..3 {
        many.extend_from_slice(&[b'a'; 900]);
        many.extend_from_slice(b" B {900}\r\n");
    }
    assert!(matches!(
        frames(&many, 4096, &LIM),
        Err(ImapError::ResponseTooLarge { limit: 2000 })
    ));
}

// ---------------------------------------------------------------------------
// a scripted server

/// What the scripted server does with each command it reads (by command
/// name, tag stripped): the reply with `TAG` replaced.
fn serve(script: Vec<(&'static str, String)>) -> (u16, thread::JoinHandle<Vec<String>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
    let h = thread::spawn(move || {
        let mut seen = Vec::new();
        let Ok((s, _)) = l.accept() else {
            return seen;
        };
        let mut w = s.try_clone().unwrap_or_else(|e| panic!("clone: {e}"));
        let mut r = BufReader::new(s);
        let _ = w.write_all(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n");
        let mut last_tag = String::new();
        for (expect, reply) in script {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            // A line that does not start with one of our tags is what
            // follows a literal: it belongs to the last command.
            let (tag, rest) = match line.split_once(' ') {
                Some((t, r))
                    if t.starts_with('P') && t[1..].bytes().all(|b| b.is_ascii_digit()) =>
                {
                    (t.to_string(), r)
                }
                _ => (last_tag.clone(), line.as_str()),
            };
            last_tag = tag.clone();
            seen.push(rest.trim_end().to_string());
            assert!(rest.starts_with(expect), "expected {expect}, got {rest}");
            if w.write_all(reply.replace("TAG", &tag).as_bytes()).is_err() {
                break;
            }
        }
        seen
    });
    (port, h)
}

fn opts(port: u16) -> ConnectOptions {
    ConnectOptions {
        host: "127.0.0.1".into(),
        port,
        tls: Tls::None,
        insecure: false,
        ca_file: None,
        timeout: std::time::Duration::from_secs(5),
        max_message: 1000,
    }
}

fn caps() -> (&'static str, String) {
    (
        "CAPABILITY",
        "* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\nTAG OK done\r\n".into(),
    )
}

#[test]
fn a_whole_pull_conversation() {
    let body = "Subject: hi\r\n\r\nhello\r\n";
    let (port, h) = serve(vec![
        caps(),
        ("AUTHENTICATE PLAIN AGFubgBwdw==", "TAG OK logged in\r\n".into()),
        caps(),
        (
            "LIST",
            "* LIST (\\HasNoChildren) \".\" INBOX\r\n\
             * LIST (\\HasChildren \\Noselect) \".\" Work\r\n\
             * LIST (\\Sent) \".\" \"Sent Items\"\r\n\
             * LIST () \".\" Work.Entw&APw-rfe\r\n\
             TAG OK\r\n"
                .into(),
        ),
        (
            "LSUB",
            "* LSUB () \".\" INBOX\r\n* LSUB () \".\" Gone\r\nTAG OK\r\n".into(),
        ),
        (
            "EXAMINE \"Sent Items\"",
            "* 2 EXISTS\r\n* OK [UIDVALIDITY 77] x\r\n* OK [UIDNEXT 10] x\r\nTAG OK [READ-ONLY] done\r\n"
                .into(),
        ),
        (
            "UID FETCH 1:* (UID RFC822.SIZE)",
            "* 1 FETCH (UID 3 RFC822.SIZE 22)\r\n* 2 FETCH (RFC822.SIZE 5 UID 8)\r\nTAG OK\r\n"
                .into(),
        ),
        (
            "UID FETCH 3,8 (",
            format!(
                "* 1 FETCH (UID 3 FLAGS (\\Seen \\Recent $Label1 work) INTERNALDATE \"02-Jan-2006 15:04:05 -0700\" RFC822.SIZE 22 BODY[] {{{}}}\r\n{body})\r\n\
                 * 2 FETCH (FLAGS (\\Deleted))\r\n\
                 TAG OK\r\n",
                body.len()
            ),
        ),
        ("LOGOUT", "* BYE bye\r\nTAG OK\r\n".into()),
    ]);
    let mut c = Client::connect(&opts(port)).unwrap_or_else(|e| panic!("connect: {e}"));
    c.login("ann", b"pw", Auth::Auto)
        .unwrap_or_else(|e| panic!("login: {e}"));
    let folders = c.folders().unwrap_or_else(|e| panic!("folders: {e}"));
    let names: Vec<(&str, bool, bool)> = folders
        .iter()
        .map(|f| (f.raw_name.as_str(), f.selectable, f.subscribed))
        .collect();
    assert_eq!(
        names,
        vec![
            ("INBOX", true, true),
            ("Work", false, false),
            ("Sent Items", true, false),
            ("Work.Entw&APw-rfe", true, false),
            ("Gone", false, true),
        ]
    );
    assert_eq!(folders[2].special_use, Some(SpecialUse::Sent));
    assert_eq!(folders[0].delimiter, Some('.'));
    let ex = c
        .examine("Sent Items")
        .unwrap_or_else(|e| panic!("examine: {e}"));
    assert_eq!(
        ex,
        Examined {
            uidvalidity: 77,
            uidnext: Some(10),
            exists: 2
        }
    );
    let sizes = c
        .uid_sizes(ex.exists)
        .unwrap_or_else(|e| panic!("sizes: {e}"));
    assert_eq!(sizes, vec![(3, 22), (8, 5)]);
    let got = c
        .fetch(&[3, 8], 10_000)
        .unwrap_or_else(|e| panic!("fetch: {e}"));
    assert_eq!(got.len(), 1, "uid 8 was expunged meanwhile: absent");
    let m = got[0].message.as_ref().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.raw, body.as_bytes());
    assert_eq!(m.meta.flags, crate::SEEN);
    assert_eq!(m.meta.keywords, vec!["$Label1", "work"]);
    assert_eq!(m.meta.internal_date, 1_136_239_445);
    c.logout();
    let seen = h.join().unwrap_or_default();
    assert_eq!(seen.len(), 9, "{seen:?}");
}

#[test]
fn a_wrong_password_is_an_auth_error() {
    let (port, h) = serve(vec![
        caps(),
        (
            "AUTHENTICATE",
            "TAG NO [AUTHENTICATIONFAILED] Authentication failed.\r\n".into(),
        ),
    ]);
    let mut c = Client::connect(&opts(port)).unwrap_or_else(|e| panic!("connect: {e}"));
    match c.login("ann", b"bad", Auth::Auto) {
        Err(ImapError::Auth { user, text }) => {
            assert_eq!(user, "ann");
            assert!(text.contains("AUTHENTICATIONFAILED"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    drop(c);
    let _ = h.join();
}

#[test]
fn login_sends_awkward_passwords_as_literals() {
    let (port, h) = serve(vec![
        ("CAPABILITY", "* CAPABILITY IMAP4rev1\r\nTAG OK\r\n".into()),
        ("LOGIN \"a\\\"b\" {6}", "+ go on\r\n".into()),
        ("pä ss", "TAG OK\r\n".into()),
        ("CAPABILITY", "* CAPABILITY IMAP4rev1\r\nTAG OK\r\n".into()),
    ]);
    let mut c = Client::connect(&opts(port)).unwrap_or_else(|e| panic!("connect: {e}"));
    c.login("a\"b", "pä ss".as_bytes(), Auth::Auto)
        .unwrap_or_else(|e| panic!("login: {e}"));
    drop(c);
    let seen = h.join().unwrap_or_default();
    // The literal's bytes and the line end after it come as the next "line".
    assert_eq!(seen[1], "LOGIN \"a\\\"b\" {6}");
}

#[test]
fn hostile_answers_are_errors_not_crashes() {
    // INTERNALDATE NIL makes imap-proto unwrap a None.
    let (port, h) = serve(vec![
        caps(),
        (
            "UID FETCH",
            "* 1 FETCH (UID 1 INTERNALDATE NIL BODY[] {1}\r\nx)\r\nTAG OK\r\n".into(),
        ),
    ]);
    let mut c = Client::connect(&opts(port)).unwrap_or_else(|e| panic!("connect: {e}"));
    assert!(matches!(c.fetch(&[1], 100), Err(ImapError::Parse(_))));
    drop(c);
    let _ = h.join();

    // A literal far over the message size limit: refused before reading it.
    let (port, h) = serve(vec![
        caps(),
        (
            "UID FETCH",
            "* 1 FETCH (UID 1 BODY[] {9999999999}\r\n".into(),
        ),
    ]);
    let mut c = Client::connect(&opts(port)).unwrap_or_else(|e| panic!("connect: {e}"));
    assert!(matches!(
        c.fetch(&[1], 100),
        Err(ImapError::LiteralTooLarge { .. })
    ));
    drop(c);
    let _ = h.join();

    // Bodies adding up to far more than announced.
    let big = "y".repeat(900);
    let (port, h) = serve(vec![
        caps(),
        (
            "UID FETCH",
            format!(
                "* 1 FETCH (UID 1 BODY[] {{900}}\r\n{big})\r\n* 2 FETCH (UID 2 BODY[] {{900}}\r\n{big})\r\nTAG OK\r\n"
            ),
        ),
    ]);
    let mut c = Client::connect(&opts(port)).unwrap_or_else(|e| panic!("connect: {e}"));
    assert!(matches!(
        c.fetch(&[1, 2], 1000),
        Err(ImapError::Protocol(_))
    ));
    drop(c);
    let _ = h.join();
}

#[test]
fn a_silent_server_times_out() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
    let h = thread::spawn(move || {
        let held: Option<TcpStream> = l.accept().ok().map(|(s, _)| s);
        thread::sleep(std::time::Duration::from_millis(1500));
        drop(held);
    });
    let mut o = opts(port);
    o.timeout = std::time::Duration::from_millis(300);
    assert!(matches!(Client::connect(&o), Err(ImapError::Timeout)));
    let _ = h.join();
}

#[test]
fn uid_sets() {
    assert_eq!(client::uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
    assert_eq!(client::uid_set(&[5]), "5");
    assert_eq!(
        client::uid_set(&[u32::MAX - 1, u32::MAX]),
        "4294967294:4294967295"
    );
}
