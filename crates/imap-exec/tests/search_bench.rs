//! SEARCH speed on a generated mailbox. Ignored by default; run with
//! `cargo test --release -p postcore-imap-exec --test search_bench -- --ignored --nocapture`
//! (`SEARCH_BENCH_MESSAGES` sets the mailbox size, default 10 000).
//! Prints timings; asserts only results and I/O counts, never time.

use std::time::Instant;

use imap_exec::search::{self, SearchContext};
use imap_proto::{CommandBody, CommandReader, Limits, Parsed};
use store::{Flags, INBOX, NewMessage, Store, StoreConfig};

fn message(i: usize) -> Vec<u8> {
    let topic = ["budget", "meeting", "holiday", "release", "invoice"][i % 5];
    let mut m = format!(
        "From: User {i} <user{i}@example.org>\r\nTo: team@example.com\r\n\
         Subject: {topic} number {i}\r\nDate: Mon, 2 Jan 2023 10:00:00 +0000\r\n\
         Message-ID: <{i}@example.org>\r\n\r\n"
    );
    for line in 0..40 {
        m.push_str(&format!(
            "Line {line} of the body of message {i} about the {topic}.\r\n"
        ));
    }
    if i % 1000 == 7 {
        m.push_str("The needle is here.\r\n");
    }
    m.into_bytes()
}

#[test]
#[ignore]
fn search_speed() {
    let n: usize = std::env::var("SEARCH_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    glommio::LocalExecutorBuilder::default()
        .spawn(move || async move {
            let dir = tempfile::tempdir().unwrap();
            let cfg = StoreConfig { background: false, ..StoreConfig::default() };
            let store = Store::open(dir.path(), cfg).await.unwrap();
            let mb = store.mailbox_id(INBOX).unwrap();
            let t = Instant::now();
            for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
                let raws: Vec<Vec<u8>> = chunk.iter().map(|&i| message(i)).collect();
                let msgs: Vec<NewMessage<'_>> = raws
                    .iter()
                    .zip(chunk)
                    .map(|(raw, &i)| NewMessage {
                        raw,
                        flags: if i % 10 == 0 { Flags::FLAGGED } else { Flags::SEEN },
                        keywords: Vec::new(),
                        internal_date: 1_672_000_000 + i as i64,
                    })
                    .collect();
                store.append(mb, &msgs).await.unwrap();
            }
            println!("appended {n} messages in {:?}", t.elapsed());
            let snap = store.snapshot(mb).unwrap();
            if std::env::var("SEARCH_BENCH_PROFILE").is_ok() {
                let t = Instant::now();
                for m in snap.messages.iter() {
                    store.facts(mb, m.uid).await.unwrap();
                }
                println!("store.facts x{n}: {:?}", t.elapsed());
                let f = store.facts(mb, 1).await.unwrap();
                let bytes = f.to_bytes();
                let t = Instant::now();
                for _ in 0..n {
                    mime_facts::Facts::from_bytes(&bytes).unwrap();
                }
                println!("Facts::from_bytes x{n} ({} bytes): {:?}", bytes.len(), t.elapsed());
                let t = Instant::now();
                for m in snap.messages.iter() {
                    store.read_range(mb, m.uid, 0, 64).await.unwrap();
                }
                println!("read_range 64 B x{n}: {:?}", t.elapsed());
            }
            let ctx = SearchContext { now: 1_700_000_000, ..SearchContext::default() };
            for (cmd, want, rounds) in [
                ("SEARCH FLAGGED", n.div_ceil(10), 20),
                ("SEARCH UNSEEN NOT DELETED LARGER 100 SINCE 1-Jan-2020", n.div_ceil(10), 20),
                ("SEARCH SUBJECT invoice", n / 5, 3),
                ("SEARCH FROM \"user77@\"", usize::from(n > 77), 3),
                ("SEARCH HEADER Message-ID <7@", 1, 3),
                ("SEARCH BODY needle", n.div_ceil(1000).min(n.saturating_sub(7).div_ceil(1000)), 3),
                ("SEARCH TEXT needle", n.saturating_sub(7).div_ceil(1000), 3),
            ] {
                let buf = format!("t {cmd}\r\n").into_bytes();
                let mut reader = CommandReader::new(Limits::default());
                let Ok(Parsed::Command { command, .. }) = reader.parse(&buf) else { panic!() };
                let CommandBody::Search { keys, .. } = command.body else { panic!() };
                let mut best = f64::MAX;
                let mut last = None;
                for _ in 0..rounds {
                    let t = Instant::now();
                    let o = search::search(&store, mb, &snap.keywords, &snap.messages, &keys, &ctx)
                        .await
                        .unwrap();
                    best = best.min(t.elapsed().as_secs_f64());
                    last = Some(o);
                }
                let o = last.unwrap();
                assert_eq!(o.matches.len(), want, "{cmd}");
                assert!(o.messages_read <= n as u64 && o.facts_read <= n as u64);
                println!(
                    "{cmd:<60} {n} msgs: best {:>9.3} ms ({:>6.2} us/msg), {} matches, {} facts read, {} messages read",
                    best * 1e3,
                    best * 1e6 / n as f64,
                    o.matches.len(),
                    o.facts_read,
                    o.messages_read
                );
            }
        })
        .unwrap()
        .join()
        .unwrap();
}
