//! The realistic pipelined command mix shared by the criterion bench and
//! the CPU-time example.

use imap_proto::{CommandBody, CommandReader, Parsed};

/// The UID FETCH of the mix, timed alone too.
pub const FETCH: &[u8] = b"f1 UID FETCH 1000:1009 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID Content-Type)])\r\n";

/// 100 commands: 40 fetch, 20 store, 15 search, 15 noop, 10 append.
pub fn mix() -> (Vec<u8>, u64) {
    let message = {
        let mut m = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hello\r\n\r\n".to_vec();
        while m.len() < 4096 {
            m.extend_from_slice(b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n");
        }
        m.truncate(4096);
        m
    };
    let mut s = Vec::new();
    let mut n = 0;
    for i in 0..10u32 {
        for j in 0..4 {
            let uid = 1000 + i * 40 + j * 10;
            s.extend_from_slice(format!("f{i}{j} UID FETCH {uid}:{} (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID Content-Type)])\r\n", uid + 9).as_bytes());
            n += 1;
        }
        for j in 0..2 {
            s.extend_from_slice(
                format!(
                    "s{i}{j} UID STORE {} +FLAGS.SILENT (\\Seen)\r\n",
                    1000 + i * 7 + j
                )
                .as_bytes(),
            );
            n += 1;
        }
        s.extend_from_slice(format!("q{i} UID SEARCH UNSEEN UID {}:*\r\n", 1000 + i).as_bytes());
        n += 1;
        if i % 2 == 0 {
            s.extend_from_slice(
                format!("r{i} UID SEARCH OR FROM \"alice\" SUBJECT report SINCE 1-Jan-2024\r\n")
                    .as_bytes(),
            );
            n += 1;
        }
        for j in 0..2 {
            if i % 2 == 1 && j == 1 {
                continue;
            }
            s.extend_from_slice(format!("n{i}{j} NOOP\r\n").as_bytes());
            n += 1;
        }
        s.extend_from_slice(
            format!("a{i} APPEND INBOX (\\Seen) {{{}+}}\r\n", message.len()).as_bytes(),
        );
        s.extend_from_slice(&message);
        s.extend_from_slice(b"\r\n");
        n += 1;
    }
    (s, n)
}

pub fn parse_all(reader: &mut CommandReader, stream: &[u8]) -> usize {
    let mut rest = stream;
    let mut count = 0;
    while let Ok(Parsed::Command { command, consumed }) = reader.parse(rest) {
        if let CommandBody::Fetch { attrs, .. } = &command.body {
            count += attrs.iter().count();
        }
        count += 1;
        rest = &rest[consumed..];
    }
    count
}
