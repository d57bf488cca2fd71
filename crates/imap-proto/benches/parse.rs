//! Parse throughput for a realistic pipelined mix (what a busy client sends
//! after SELECT): UID FETCH of headers, UID STORE +FLAGS, UID SEARCH, NOOP
//! and APPEND of a 4 KiB message; plus encoding the matching FETCH responses.
//!
//! Run: `cargo bench -p postcore-imap-proto --bench parse`

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imap_proto::{CommandReader, Limits, Section, encode};

mod mix;
use mix::{mix, parse_all};

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
    let fetch = mix::FETCH;
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
