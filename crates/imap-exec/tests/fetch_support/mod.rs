//! Shared by the fetch tests: a real store in a temp directory on a glommio
//! executor, messages appended through it, and FETCH run on parsed
//! attribute lists into a `VecSink`.
#![allow(dead_code)]

use std::future::Future;
use std::path::Path;

use imap_exec::ExecError;
use imap_exec::fetch::{FetchOptions, FetchOutcome, fetch};
use imap_exec::sink::VecSink;
use imap_proto::{CommandBody, CommandReader, Limits, Parsed};
use store::{Flags, INBOX, MailboxId, NewMessage, Store, StoreConfig};

/// Run `f` on a fresh glommio executor of its own (small io memory so tests
/// can run in parallel under an 8 MiB memlock limit).
pub fn run<F, Fut, T>(f: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T> + 'static,
    T: Send + 'static,
{
    glommio::LocalExecutorBuilder::default()
        .io_memory(512 << 10)
        .spawn(f)
        .expect("spawn executor")
        .join()
        .expect("executor thread")
}

pub fn cfg() -> StoreConfig {
    StoreConfig {
        background: false,
        ..StoreConfig::default()
    }
}

/// 1994-02-07 21:52:25 UTC, the INTERNALDATE used in the Dovecot comparisons.
pub const DATE: i64 = 760_657_945;

pub async fn open(dir: &Path) -> (Store, MailboxId) {
    let s = Store::open(dir, cfg()).await.expect("open store");
    let inbox = s.mailbox_id(INBOX).expect("inbox");
    (s, inbox)
}

/// Appends messages (bytes, flags, keywords) one by one; returns their UIDs.
pub async fn append(s: &Store, mb: MailboxId, msgs: &[(&[u8], Flags, &[&str])]) -> Vec<u32> {
    let mut uids = Vec::new();
    for (raw, flags, kws) in msgs {
        let m = NewMessage {
            raw,
            flags: *flags,
            keywords: kws.iter().map(|k| k.to_string()).collect(),
            internal_date: DATE,
        };
        uids.extend(s.append(mb, &[m]).await.expect("append"));
    }
    uids
}

pub async fn append_plain(s: &Store, mb: MailboxId, raws: &[&[u8]]) -> Vec<u32> {
    let msgs: Vec<(&[u8], Flags, &[&str])> =
        raws.iter().map(|r| (*r, Flags::empty(), &[][..])).collect();
    append(s, mb, &msgs).await
}

/// Runs `FETCH <seqs> <attrs>` (sequence numbers 1-based into the current
/// snapshot) and returns the bytes written and the result.
pub async fn fetch_raw(
    s: &Store,
    mb: MailboxId,
    seqs: &[u32],
    attrs: &str,
    opts: FetchOptions<'_>,
) -> (Vec<u8>, Result<FetchOutcome, ExecError>) {
    let snap = s.snapshot(mb).expect("snapshot");
    let msgs: Vec<(u32, store::MessageInfo)> = seqs
        .iter()
        .map(|&n| (n, snap.messages[n as usize - 1].clone()))
        .collect();
    let line = format!("t FETCH 1 {attrs}\r\n");
    let mut reader = CommandReader::new(Limits::default());
    let Ok(Parsed::Command { command, .. }) = reader.parse(line.as_bytes()) else {
        panic!("FETCH attributes do not parse: {attrs}");
    };
    let CommandBody::Fetch { attrs, .. } = command.body else {
        panic!("not a FETCH: {attrs}");
    };
    let mut sink = VecSink::default();
    let r = fetch(s, mb, &snap.keywords, &msgs, &attrs, &opts, &mut sink).await;
    (sink.out.to_vec(), r)
}

/// Like [`fetch_raw`] for a FETCH that must succeed; the output as text
/// (lossy only for bytes that are not UTF-8, which the callers avoid).
pub async fn fetch_ok(
    s: &Store,
    mb: MailboxId,
    seqs: &[u32],
    attrs: &str,
    opts: FetchOptions<'_>,
) -> String {
    let (out, r) = fetch_raw(s, mb, seqs, attrs, opts).await;
    if let Err(e) = r {
        panic!("FETCH {attrs} failed: {e:?}");
    }
    String::from_utf8(out).expect("utf-8 output")
}

pub fn opts() -> FetchOptions<'static> {
    FetchOptions::default()
}

pub fn read_only() -> FetchOptions<'static> {
    FetchOptions {
        read_only: true,
        ..FetchOptions::default()
    }
}
