//! The server's metrics: counters and histograms that each shard keeps for
//! itself (written only by its own executor, so no cache line bounces
//! between cores on the hot path), summed over all shards when the metrics
//! listener is scraped, and written in the Prometheus text format.
//!
//! Families (docs/operations.md lists them with their labels):
//! connections by protocol and listener TLS mode, open connections,
//! STARTTLS upgrades, logins by protocol, mechanism and result, commands by
//! protocol and name with a latency histogram, bytes in and out, store
//! appends, fsyncs with their latency, compactions and bytes reclaimed, and
//! per-shard event-loop busy time and utilisation.

mod collect;
mod histogram;
pub mod http;
mod tables;

pub use histogram::Histogram;
pub use tables::{LoginProto, Mech, Proto};

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use tables::{IMAP_COMMANDS, LMTP_COMMANDS, POP3_COMMANDS, TLS_MODES, command_index};

/// A monotonically increasing count. Relaxed atomics: each counter belongs
/// to one shard, and a scrape needs no ordering between counters.
#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down. A connection handed to another shard is
/// counted up on one and down on the other, so only the sum means anything.
#[derive(Default, Debug)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn add(&self, n: i64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

const PROTOS: usize = Proto::ALL.len();

/// One shard's metrics.
#[derive(Debug)]
pub struct ShardMetrics {
    /// [protocol][listener TLS mode]
    connections: [[Counter; TLS_MODES.len()]; PROTOS],
    open: [Gauge; PROTOS],
    starttls: [Counter; PROTOS],
    /// [login protocol][mechanism][ok, failed]
    logins: [[[Counter; 2]; Mech::ALL.len()]; LoginProto::ALL.len()],
    /// Per protocol, one histogram per command name (the last: unknown).
    commands: [Box<[Histogram]>; PROTOS],
    bytes_in: [Counter; PROTOS],
    bytes_out: [Counter; PROTOS],
    appends: Counter,
    append_bytes: Counter,
    fsyncs: Histogram,
    compactions: Counter,
    reclaimed: Counter,
    /// Messages expunged by `[retention]`.
    retention_expunged: Counter,
    /// Nanoseconds the executor spent running tasks or polling for I/O.
    busy_ns: Counter,
    /// Busy fraction over the last sampling period, in millionths.
    utilisation_ppm: Counter,
}

fn histograms(names: &[&str]) -> Box<[Histogram]> {
    (0..=names.len()).map(|_| Histogram::default()).collect()
}

impl Default for ShardMetrics {
    fn default() -> Self {
        ShardMetrics {
            connections: Default::default(),
            open: Default::default(),
            starttls: Default::default(),
            logins: Default::default(),
            commands: [
                histograms(IMAP_COMMANDS),
                histograms(POP3_COMMANDS),
                histograms(LMTP_COMMANDS),
            ],
            bytes_in: Default::default(),
            bytes_out: Default::default(),
            appends: Counter::default(),
            append_bytes: Counter::default(),
            fsyncs: Histogram::default(),
            compactions: Counter::default(),
            reclaimed: Counter::default(),
            retention_expunged: Counter::default(),
            busy_ns: Counter::default(),
            utilisation_ppm: Counter::default(),
        }
    }
}

impl ShardMetrics {
    pub fn retention_expunged(&self, n: u64) {
        self.retention_expunged.add(n);
    }

    pub fn connection(&self, p: Proto, tls: crate::config::TlsMode) {
        self.connections[p as usize][tables::tls_index(tls)].inc();
    }

    pub fn connection_opened(&self, p: Proto) {
        self.open[p as usize].add(1);
    }

    pub fn closed(&self, p: Proto) {
        self.open[p as usize].add(-1);
    }

    pub fn starttls(&self, p: Proto) {
        self.starttls[p as usize].inc();
    }

    pub fn login(&self, p: LoginProto, m: Mech, ok: bool) {
        self.logins[p as usize][m as usize][usize::from(!ok)].inc();
    }

    /// A command `name` (as the protocol crate names it) took `took`.
    pub fn command(&self, p: Proto, name: &str, took: Duration) {
        let table = &self.commands[p as usize];
        table[command_index(p, name)].observe(took);
    }

    pub fn read(&self, p: Proto, n: usize) {
        self.bytes_in[p as usize].add(n as u64);
    }

    pub fn wrote(&self, p: Proto, n: usize) {
        self.bytes_out[p as usize].add(n as u64);
    }

    /// The executor was busy for `busy` of the last `period`.
    pub fn event_loop(&self, busy: Duration, period: Duration) {
        self.busy_ns.add(busy.as_nanos() as u64);
        let ppm = (busy.as_secs_f64() / period.as_secs_f64().max(1e-9) * 1e6).min(1e6);
        self.utilisation_ppm.0.store(ppm as u64, Ordering::Relaxed);
    }
}

impl store::StoreObserver for ShardMetrics {
    fn appended(&self, messages: u64, bytes: u64) {
        self.appends.add(messages);
        self.append_bytes.add(bytes);
    }
    fn synced(&self, took: Duration) {
        self.fsyncs.observe(took);
    }
    fn compacted(&self, reclaimed: u64) {
        self.compactions.inc();
        self.reclaimed.add(reclaimed);
    }
}

/// Every shard's metrics; index = shard id.
#[derive(Debug)]
pub struct Metrics {
    shards: Box<[Arc<ShardMetrics>]>,
}

impl Metrics {
    pub fn new(shards: usize) -> Arc<Metrics> {
        Arc::new(Metrics {
            shards: (0..shards.max(1))
                .map(|_| Arc::new(ShardMetrics::default()))
                .collect(),
        })
    }

    pub fn shard(&self, id: usize) -> Arc<ShardMetrics> {
        Arc::clone(&self.shards[id.min(self.shards.len() - 1)])
    }

    /// The Prometheus text exposition of the sums over all shards.
    pub fn render(self: &Arc<Self>) -> String {
        collect::render(self)
    }
}

/// How often a shard samples its executor's busy time.
pub const SAMPLE_PERIOD: Duration = Duration::from_secs(1);

/// Runs on each shard for the server's lifetime: glommio hands out (and
/// resets) the time its executor spent running tasks and polling I/O since
/// the last call; the rest of the period it slept in io_uring.
pub async fn sample_event_loop(m: Arc<ShardMetrics>, stop: std::rc::Rc<crate::shard::Shard>) {
    let mut last = std::time::Instant::now();
    // Discard what accumulated before the first period.
    let _ = glommio::executor().executor_stats();
    while !stop.stop.sleep_or_stopped(SAMPLE_PERIOD).await {
        let stats = glommio::executor().executor_stats();
        let now = std::time::Instant::now();
        m.event_loop(stats.total_runtime(), now - last);
        last = now;
    }
}
