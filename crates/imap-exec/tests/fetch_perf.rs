//! Micro measurement of FETCH rendering over 10,000 stored 4 KiB messages.
//! Not a benchmark suite (rule: speed is measured in benchmarks, never in
//! timed unit tests): it asserts nothing about time and is ignored by
//! default. Run in release:
//!
//! ```text
//! cargo test --release -p postcore-imap-exec --test fetch_perf -- --ignored --nocapture
//! ```

mod fetch_support;

use std::time::{Duration, Instant};

use bytes::BytesMut;
use fetch_support::*;
use imap_exec::Sink;
use imap_exec::fetch::{FetchOptions, fetch};
use imap_proto::{CommandBody, CommandReader, Limits, Parsed};
use store::{Flags, NewMessage};

/// Stands in for the connection: writes out (here: counts and drops) the
/// buffer once it passes 64 KiB, as the server's sink would.
#[derive(Default)]
struct DrainSink {
    buf: BytesMut,
    bytes: usize,
}

impl Sink for DrainSink {
    fn buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }
    async fn flush_if_full(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= 64 << 10 {
            self.bytes += self.buf.len();
            self.buf.clear();
        }
        Ok(())
    }
}

fn message(n: usize) -> Vec<u8> {
    let mut m = format!(
        "Received: from mx{n}.example.net (mx{n}.example.net [192.0.2.{o}])\r\n\
         \tby mail.example.org with ESMTPS id {n:08x}; Tue, 1 Jan 2002 10:00:00 +0000\r\n\
         From: Sender Number {n} <sender{n}@example.net>\r\n\
         To: Recipient <rcpt@example.org>, other{n}@example.com\r\n\
         Cc: list@lists.example.org\r\n\
         Subject: Quarterly report number {n} for the team\r\n\
         Date: Tue, 1 Jan 2002 10:{m:02}:00 +0000\r\n\
         Message-ID: <{n}.report@example.net>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n",
        o = n % 250,
        m = n % 60
    )
    .into_bytes();
    let line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n";
    while m.len() + line.len() <= 4096 {
        m.extend_from_slice(line);
    }
    m.resize(4096, b'.');
    m
}

async fn timed(
    s: &store::Store,
    mb: store::MailboxId,
    msgs: &[(u32, store::MessageInfo)],
    keywords: &[String],
    attrs: &str,
) -> (Duration, usize) {
    let line = format!("t UID FETCH 1:* {attrs}\r\n");
    let mut reader = CommandReader::new(Limits::default());
    let Ok(Parsed::Command { command, .. }) = reader.parse(line.as_bytes()) else {
        panic!("parse");
    };
    let CommandBody::Fetch { attrs, .. } = command.body else {
        panic!("fetch");
    };
    let opts = FetchOptions {
        uid_command: true,
        read_only: true,
        ..FetchOptions::default()
    };
    let mut best = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..5 {
        let mut sink = DrainSink::default();
        let t = Instant::now();
        fetch(s, mb, keywords, msgs, &attrs, &opts, &mut sink)
            .await
            .unwrap();
        best = best.min(t.elapsed());
        bytes = sink.bytes + sink.buf.len();
    }
    (best, bytes)
}

#[test]
#[ignore = "measurement; run with --release --ignored --nocapture"]
fn fetch_10000_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let (s, mb) = open(&path).await;
        let raws: Vec<Vec<u8>> = (0..10_000).map(message).collect();
        for chunk in raws.chunks(1000) {
            let batch: Vec<NewMessage<'_>> = chunk
                .iter()
                .enumerate()
                .map(|(i, raw)| NewMessage {
                    raw,
                    flags: if i % 3 == 0 {
                        Flags::SEEN
                    } else {
                        Flags::empty()
                    },
                    keywords: if i % 7 == 0 {
                        vec!["$Forwarded".into()]
                    } else {
                        vec![]
                    },
                    internal_date: DATE + i as i64,
                })
                .collect();
            s.append(mb, &batch).await.unwrap();
        }
        let snap = s.snapshot(mb).unwrap();
        let msgs: Vec<(u32, store::MessageInfo)> = snap
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| (i as u32 + 1, m.clone()))
            .collect();
        assert_eq!(msgs.len(), 10_000);
        // The store calls FETCH builds on, alone.
        let t = Instant::now();
        for (_, m) in &msgs {
            std::hint::black_box(s.facts(mb, m.uid).await.unwrap());
        }
        println!(
            "store.facts() x10000: {:.2} us/message",
            t.elapsed().as_secs_f64() * 1e6 / 10_000.0
        );
        let t = Instant::now();
        for (_, m) in &msgs {
            std::hint::black_box(s.read_range(mb, m.uid, 0, 4096).await.unwrap());
        }
        println!(
            "store.read_range(0, 4096) x10000: {:.2} us/message",
            t.elapsed().as_secs_f64() * 1e6 / 10_000.0
        );
        for window in [4usize, 16, 64] {
            let t = Instant::now();
            for chunk in msgs.chunks(window) {
                let futs: Vec<_> = chunk
                    .iter()
                    .map(|(_, m)| Box::pin(s.read_range(mb, m.uid, 0, 4096)))
                    .collect();
                std::hint::black_box(join_all(futs).await);
            }
            println!(
                "read_range x10000, {window} at a time: {:.2} us/message",
                t.elapsed().as_secs_f64() * 1e6 / 10_000.0
            );
        }
        for attrs in [
            "(UID FLAGS)",
            "(FLAGS INTERNALDATE RFC822.SIZE)",
            "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (From To Subject Date)])",
            "(ENVELOPE)",
            "(BODYSTRUCTURE)",
            "(BODY.PEEK[])",
        ] {
            let (t, bytes) = timed(&s, mb, &msgs, &snap.keywords, attrs).await;
            println!(
                "UID FETCH 1:10000 {attrs}: {:.2} ms ({:.2} us/message, {} response bytes)",
                t.as_secs_f64() * 1e3,
                t.as_secs_f64() * 1e6 / 10_000.0,
                bytes
            );
        }
        // The implicit \Seen of a non-PEEK fetch: one store call (one flag
        // record, one fdatasync) for the 6,666 unseen messages.
        let line = b"t UID FETCH 1:* BODY[HEADER.FIELDS (Subject)]\r\n";
        let mut reader = CommandReader::new(Limits::default());
        let Ok(Parsed::Command { command, .. }) = reader.parse(line) else {
            panic!("parse");
        };
        let CommandBody::Fetch { attrs, .. } = command.body else {
            panic!("fetch");
        };
        let rw = FetchOptions {
            uid_command: true,
            ..FetchOptions::default()
        };
        let mut sink = DrainSink::default();
        let t = Instant::now();
        let out = fetch(&s, mb, &snap.keywords, &msgs, &attrs, &rw, &mut sink)
            .await
            .unwrap();
        println!(
            "UID FETCH 1:10000 BODY[HEADER.FIELDS (Subject)] setting \\Seen on {}: {:.2} ms",
            out.seen_set.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
        let t = Instant::now();
        let out = fetch(&s, mb, &snap.keywords, &msgs, &attrs, &rw, &mut sink)
            .await
            .unwrap();
        println!(
            "... the same again, nothing left to set ({}): {:.2} ms",
            out.seen_set.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
    });
}

/// Polls all futures until every one is ready (no futures crate here).
async fn join_all<F: std::future::Future + Unpin>(mut futs: Vec<F>) -> Vec<F::Output> {
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futs.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match std::pin::Pin::new(&mut *f).poll(cx) {
                    std::task::Poll::Ready(v) => *o = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}
