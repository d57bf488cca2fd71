//! Parse throughput for a realistic pipelined mix (what a busy client sends
//! after SELECT): UID FETCH of headers, UID STORE +FLAGS, UID SEARCH, NOOP
//! and APPEND of a 4 KiB message; plus encoding the matching FETCH responses.
//!
//! Run: `cargo bench -p postcore-imap-proto --bench parse`

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imap_proto::{CommandBody, CommandReader, Limits, Parsed, Section, encode};

/// 100 commands: 40 fetch, 20 store, 15 search, 15 noop, 10 append.
fn mix() -> (Vec<u8>, u64) {
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

fn parse_all(reader: &mut CommandReader, stream: &[u8]) -> usize {
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

fn bench_parse(c: &mut Criterion) {
    let (stream, commands) = mix();
    let mut reader = CommandReader::new(Limits::default());
    assert_eq!(parse_all(&mut reader, &stream), commands as usize + 40 * 4);
    let mut g = c.benchmark_group("parse_mix");
    g.throughput(Throughput::Elements(commands));
    g.bench_function("commands", |b| {
        b.iter(|| parse_all(&mut reader, black_box(&stream)))
    });
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.bench_function("bytes", |b| {
        b.iter(|| parse_all(&mut reader, black_box(&stream)))
    });
    g.finish();

    // The hot command alone (no APPEND payload inflating the byte rate).
    let fetch = b"f1 UID FETCH 1000:1009 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID Content-Type)])\r\n";
    let mut g = c.benchmark_group("parse_uid_fetch");
    g.throughput(Throughput::Elements(1));
    g.bench_function("commands", |b| {
        b.iter(|| parse_all(&mut reader, black_box(fetch)))
    });
    g.finish();
}

fn bench_encode(c: &mut Criterion) {
    let header = vec![b'h'; 600];
    let flags: [&[u8]; 2] = [b"\\Seen", b"$Junk"];
    let mut buf = BytesMut::with_capacity(1 << 20);
    let mut g = c.benchmark_group("encode_fetch");
    g.throughput(Throughput::Elements(100));
    g.bench_function("100_responses_600B_headers", |b| {
        b.iter(|| {
            buf.clear();
            for seq in 1..=100u32 {
                let mut f = encode::FetchResponse::begin(&mut buf, seq);
                f.uid(seq + 1000).rfc822_size(4096).flags(flags);
                f.body_section_name(&Section::default(), None)
                    .literal_header(header.len() as u64, false)
                    .raw(black_box(&header));
                f.finish();
            }
            buf.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse, bench_encode);
criterion_main!(benches);
