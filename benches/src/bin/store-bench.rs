//! Store benchmark: group-commit append throughput (4 KiB and 100 KiB
//! messages, many concurrent appenders), and open time + resident memory +
//! index bytes per message for a mailbox of N messages from its checkpoint.
//!
//! cargo run --release -p postcore-benches --bin store-bench -- \
//!     [--dir /tmp/postcore-store-bench] [--messages 1000000] [--runs 3]
//!
//! The open measurement runs in a fresh child process per run so RSS is the
//! store's, not the builder's.

use std::path::{Path, PathBuf};
use std::time::Instant;

use postcore_benches::{median_spread, message, rss_kib};
use store::{INBOX, NewMessage, Store, StoreConfig};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn on_executor<T: Send + 'static, F: std::future::Future<Output = T> + 'static>(
    f: impl FnOnce() -> F + Send + 'static,
) -> T {
    glommio::LocalExecutorBuilder::new(glommio::Placement::Fixed(0))
        .spawn(f)
        .expect("spawn executor")
        .join()
        .expect("executor")
}

/// Appends/s with `tasks` concurrent appenders each appending `per_task`
/// single messages: every append waits for its fdatasync; group commit
/// batches those that arrive together.
fn append_run(dir: PathBuf, size: usize, tasks: usize, per_task: usize) -> (f64, f64) {
    on_executor(move || async move {
        let cfg = StoreConfig {
            background: false,
            ..StoreConfig::default()
        };
        let s = Store::open(&dir, cfg).await.expect("open");
        let ib = s.mailbox_id(INBOX).expect("inbox");
        let body = message(1, size);
        let t0 = Instant::now();
        let syncs0 = s.sync_count();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let s = s.clone();
                let body = body.clone();
                glommio::spawn_local(async move {
                    for _ in 0..per_task {
                        let m = NewMessage {
                            raw: &body,
                            flags: Default::default(),
                            keywords: Vec::new(),
                            internal_date: 0,
                        };
                        s.append(ib, &[m]).await.expect("append");
                    }
                })
            })
            .collect();
        for h in handles {
            h.await;
        }
        let secs = t0.elapsed().as_secs_f64();
        let n = (tasks * per_task) as f64;
        let syncs = (s.sync_count() - syncs0) as f64;
        s.close().await.expect("close");
        (n / secs, n / syncs.max(1.0))
    })
}

fn build_big(dir: PathBuf, messages: usize) {
    on_executor(move || async move {
        let cfg = StoreConfig {
            background: false,
            max_batch_messages: 20_000,
            ..StoreConfig::default()
        };
        let s = Store::open(&dir, cfg).await.expect("open");
        let ib = s.mailbox_id(INBOX).expect("inbox");
        let t0 = Instant::now();
        let bodies: Vec<Vec<u8>> = (0..1000).map(|i| message(i, 300 + (i % 7) * 40)).collect();
        let mut done = 0;
        while done < messages {
            let n = (messages - done).min(10_000);
            let batch: Vec<NewMessage<'_>> = (0..n)
                .map(|i| NewMessage {
                    raw: &bodies[(done + i) % bodies.len()],
                    flags: Default::default(),
                    keywords: Vec::new(),
                    internal_date: 1_700_000_000,
                })
                .collect();
            s.append(ib, &batch).await.expect("append batch");
            done += n;
        }
        s.close().await.expect("close");
        eprintln!(
            "built {messages} messages in {:.1}s",
            t0.elapsed().as_secs_f64()
        );
    })
}

/// Child mode: open the store, print "open_ms rss_before rss_after hwm index_bytes messages".
fn open_child(dir: PathBuf) {
    let r = on_executor(move || async move {
        // Measured while the store is open, on the executor that owns it.
        let (before, _) = rss_kib();
        let t0 = Instant::now();
        let s = Store::open(
            &dir,
            StoreConfig {
                background: false,
                ..StoreConfig::default()
            },
        )
        .await
        .expect("open");
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        let (after, hwm) = rss_kib();
        let st = s
            .status(s.mailbox_id(INBOX).expect("inbox"))
            .expect("status");
        // A checkpoint of the whole index: serialization runs on the
        // executor (other tasks wait), the write is io_uring.
        let t1 = Instant::now();
        s.checkpoint().await.expect("checkpoint");
        let ckpt_ms = t1.elapsed().as_secs_f64() * 1000.0;
        (
            ms,
            before,
            after,
            hwm,
            s.index_heap_bytes(),
            st.messages,
            ckpt_ms,
        )
    });
    println!("{} {} {} {} {} {} {}", r.0, r.1, r.2, r.3, r.4, r.5, r.6);
}

fn fresh(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    dir.to_path_buf()
}

fn main() {
    let base = PathBuf::from(arg("--dir").unwrap_or_else(|| "/tmp/postcore-store-bench".into()));
    if let Some(d) = arg("--open-child") {
        open_child(PathBuf::from(d));
        return;
    }
    let messages: usize = arg("--messages")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = arg("--runs").and_then(|v| v.parse().ok()).unwrap_or(3);
    let tasks: usize = arg("--tasks").and_then(|v| v.parse().ok()).unwrap_or(64);
    let skip_append = std::env::args().any(|a| a == "--skip-append");

    if !skip_append {
        for (size, per_task) in [(4096usize, 100usize), (100 * 1024, 20)] {
            let mut rates = Vec::new();
            let mut per_sync = Vec::new();
            for r in 0..runs {
                let dir = fresh(&base.join(format!("append-{size}-{r}")));
                let (rate, ps) = append_run(dir.clone(), size, tasks, per_task);
                let _ = std::fs::remove_dir_all(&dir);
                rates.push(rate);
                per_sync.push(ps);
            }
            let (m, lo, hi) = median_spread(&mut rates);
            let (ps, _, _) = median_spread(&mut per_sync);
            println!(
                "append {:>6} B x {} tasks: {:>8.0} appends/s (min {:.0}, max {:.0}), {:.1} MiB/s, {:.1} appends per fdatasync",
                size,
                tasks,
                m,
                lo,
                hi,
                m * size as f64 / (1 << 20) as f64,
                ps
            );
        }
    }

    let big = base.join(format!("open-{messages}"));
    if !big.join("index.rkyv").exists() {
        let big = fresh(&big);
        build_big(big, messages);
    }
    let exe = std::env::current_exe().expect("current exe");
    let (mut times, mut deltas, mut per_msg, mut ckpts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let out = std::process::Command::new(&exe)
            .arg("--open-child")
            .arg(&big)
            .output()
            .expect("run child");
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Vec<f64> = text
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() != 7 {
            eprintln!(
                "child failed: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::process::exit(1);
        }
        println!(
            "open {} messages: {:.1} ms, VmRSS {} -> {} KiB (peak {} KiB), index heap {} bytes = {:.1} B/message; checkpoint {:.1} ms",
            v[5],
            v[0],
            v[1],
            v[2],
            v[3],
            v[4],
            v[4] / v[5],
            v[6]
        );
        ckpts.push(v[6]);
        times.push(v[0]);
        deltas.push((v[2] - v[1]) / 1024.0);
        per_msg.push(v[4] / v[5]);
    }
    let (t, tlo, thi) = median_spread(&mut times);
    let (d, dlo, dhi) = median_spread(&mut deltas);
    let (b, _, _) = median_spread(&mut per_msg);
    let (c, clo, chi) = median_spread(&mut ckpts);
    println!("checkpoint of the opened store: median {c:.1} ms (min {clo:.1}, max {chi:.1})");
    println!(
        "open from checkpoint: median {t:.1} ms (min {tlo:.1}, max {thi:.1}); RSS growth median {d:.1} MiB (min {dlo:.1}, max {dhi:.1}); index {b:.1} bytes/message"
    );
}
