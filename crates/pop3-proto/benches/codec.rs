//! Throughput of the POP3/LMTP grammar on its hot paths: pipelined POP3
//! commands, RETR dot-stuffing, LMTP command lines, and the DATA decoder.

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, black_box, criterion_group, criterion_main};
use pop3_proto::{DataDecoder, DotStuffer, NewlineMode, lmtp, pop3};

/// A plausible 64 KiB message: a header, then 72-column lines, some of them
/// starting with a dot.
fn message(bare_lf: bool) -> Vec<u8> {
    let nl: &[u8] = if bare_lf { b"\n" } else { b"\r\n" };
    let mut m = Vec::new();
    for h in ["From: a@example.com", "To: b@example.com", "Subject: bench"] {
        m.extend_from_slice(h.as_bytes());
        m.extend_from_slice(nl);
    }
    m.extend_from_slice(nl);
    let mut i = 0u32;
    while m.len() < 64 * 1024 {
        if i.is_multiple_of(20) {
            m.push(b'.');
        }
        m.extend_from_slice(&[b'x'; 71]);
        m.extend_from_slice(nl);
        i += 1;
    }
    m
}

fn pop3_commands(c: &mut Criterion) {
    let mut input = Vec::new();
    for n in 1..=1000 {
        input.extend_from_slice(format!("RETR {n}\r\nDELE {n}\r\n").as_bytes());
    }
    let limits = pop3::Limits::default();
    let mut g = c.benchmark_group("pop3");
    g.throughput(Throughput::Elements(2000));
    g.bench_function("parse_retr_dele_x1000", |b| {
        b.iter(|| {
            let mut buf = &input[..];
            let mut n = 0u64;
            while let Ok(Some(p)) = pop3::parse_command(buf, &limits) {
                if let pop3::Command::Retr(m) = p.value {
                    n += u64::from(m);
                }
                buf = &buf[p.consumed..];
            }
            black_box(n)
        })
    });
    g.finish();
}

fn stuffing(c: &mut Criterion) {
    let mut g = c.benchmark_group("dot_stuff");
    for (name, bare_lf) in [("crlf_64k", false), ("bare_lf_64k", true)] {
        let msg = message(bare_lf);
        g.throughput(Throughput::Bytes(msg.len() as u64));
        let mut out = BytesMut::with_capacity(80 * 1024);
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                let mut s = DotStuffer::new(NewlineMode::ToCrlf);
                for chunk in msg.chunks(16 * 1024) {
                    s.push(chunk, &mut out);
                }
                s.finish(&mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();
}

fn data_decoder(c: &mut Criterion) {
    let msg = message(false);
    let mut wire = Vec::new();
    let mut s = DotStuffer::new(NewlineMode::Keep);
    s.push(&msg, &mut wire);
    s.finish(&mut wire);
    let mut g = c.benchmark_group("lmtp");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("data_decode_64k", |b| {
        b.iter_batched_ref(
            || BytesMut::with_capacity(msg.len()),
            |out| {
                let mut d = DataDecoder::new(1 << 30);
                let mut consumed = 0;
                for chunk in wire.chunks(16 * 1024) {
                    consumed += d.decode(chunk, out).consumed;
                }
                black_box(consumed)
            },
            BatchSize::SmallInput,
        )
    });
    let mut cmds = Vec::new();
    for n in 0..100 {
        cmds.extend_from_slice(format!("RCPT TO:<user{n}+box@example.com>\r\n").as_bytes());
    }
    let limits = lmtp::Limits::default();
    g.throughput(Throughput::Elements(100));
    g.bench_function("parse_rcpt_x100", |b| {
        b.iter(|| {
            let mut buf = &cmds[..];
            let mut n = 0usize;
            while let Ok(Some(p)) = lmtp::parse_command(buf, &limits) {
                if let lmtp::Command::Rcpt { to } = p.value {
                    n += to.local_raw().len();
                }
                buf = &buf[p.consumed..];
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, pop3_commands, stuffing, data_decoder);
criterion_main!(benches);
