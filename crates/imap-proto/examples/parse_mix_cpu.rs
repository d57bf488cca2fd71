//! Parse the bench's pipelined mix `N` times and print what was parsed.
//! For a figure that time-sharing on a busy machine does not distort, run
//! it under `perf stat -e task-clock` and divide by CPU time:
//!
//! `cargo build --release -p postcore-imap-proto --example parse_mix_cpu &&
//!  perf stat -e task-clock target/release/examples/parse_mix_cpu 20000`
//!
//! A second argument `fetch`, `store` or `noop` parses one such command
//! `N` times instead of the mix.

use imap_proto::{CommandReader, Limits};

#[path = "../benches/mix.rs"]
mod mix;

fn main() {
    let rounds: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let (stream, commands) = match std::env::args().nth(2).as_deref() {
        Some("fetch") => (mix::FETCH.to_vec(), 1),
        Some("store") => (b"s1 UID STORE 1007 +FLAGS.SILENT (\\Seen)\r\n".to_vec(), 1),
        Some("noop") => (b"n1 NOOP\r\n".to_vec(), 1),
        _ => mix::mix(),
    };
    let mut reader = CommandReader::new(Limits::default());
    let mut items = 0usize;
    for _ in 0..rounds {
        items += mix::parse_all(&mut reader, std::hint::black_box(&stream));
    }
    println!(
        "rounds {rounds}: {} commands, {} bytes ({} items walked)",
        rounds * commands,
        rounds * stream.len() as u64,
        items
    );
}
