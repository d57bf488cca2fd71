#![allow(dead_code)]

use std::future::Future;

use store::{Flags, NewMessage, StoreConfig};

/// Run `f` on a fresh glommio executor of its own (small io memory so many
/// tests can run in parallel under an 8 MiB memlock limit).
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

pub fn raw(n: usize) -> Vec<u8> {
    format!(
        "From: a{n}@example.org\r\nTo: b@example.org\r\nSubject: message {n}\r\nMessage-ID: <{n}@x>\r\n\r\nbody of message {n}\r\n"
    )
    .into_bytes()
}

pub fn new_msg(raw: &[u8]) -> NewMessage<'_> {
    NewMessage {
        raw,
        flags: Flags::empty(),
        keywords: Vec::new(),
        internal_date: 1_700_000_000,
    }
}

/// Config with background work off so tests control every step.
pub fn cfg() -> StoreConfig {
    StoreConfig {
        background: false,
        ..StoreConfig::default()
    }
}
