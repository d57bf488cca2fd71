//! Parse the bench's pipelined mix `N` times and print what was parsed.
//! For a figure that time-sharing on a busy machine does not distort, run
//! it under `perf stat -e task-clock` and divide by CPU time:
//!
//! `cargo build --release -p postcore-imap-proto --example parse_mix_cpu &&
//!  perf stat -e task-clock target/release/examples/parse_mix_cpu 20000`

use imap_proto::{CommandReader, Limits};

#[path = "../benches/mix.rs"]
mod mix;

fn main() {
    let rounds: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let (stream, commands) = mix::mix();
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
