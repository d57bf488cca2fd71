//! Command-line options.

use clap::{Parser, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Keep --depth commands of one --command type in flight per connection.
    Pipelined,
    /// imaptest-like closed loop: each connection runs a weighted random mix
    /// (FETCH new headers/bodies, STORE flags, APPEND, EXPUNGE, IDLE, NOOP, LOGOUT+LOGIN).
    Mixed,
    /// Fixed total --rate of --command; latency measured from the intended send
    /// time (coordinated-omission corrected).
    OpenLoop,
    /// Connection storm: connect (+TLS) + LOGIN + LOGOUT as fast as possible.
    Storm,
    /// Open --connections sessions in IDLE, hold them, report server memory growth per connection (RSS sum and PSS of --server-pid and its children).
    IdleDensity,
    /// POP3 sessions: USER/PASS, STAT, UIDL, RETR, TOP, DELE+RSET, QUIT.
    Pop3,
    /// LMTP delivery rate (one message per transaction).
    Lmtp,
    /// Fill each user's INBOX with --messages generated messages (APPEND or --via-lmtp).
    Populate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Command {
    Noop,
    FetchHeaders,
    FetchBody,
    Store,
    Search,
    Status,
    Append,
    Select,
    /// `UID SORT (SUBJECT) UTF-8 ALL` (RFC 5256).
    SortSubject,
    /// `UID SORT (REVERSE DATE) UTF-8 ALL`, a webmail's default order.
    SortDate,
    /// `UID THREAD REFERENCES UTF-8 ALL`.
    ThreadReferences,
}

impl Command {
    pub fn label(self) -> &'static str {
        match self {
            Command::Noop => "NOOP",
            Command::FetchHeaders => "UID FETCH HEADER",
            Command::FetchBody => "UID FETCH BODY",
            Command::Store => "UID STORE",
            Command::Search => "UID SEARCH",
            Command::Status => "STATUS",
            Command::Append => "APPEND",
            Command::Select => "SELECT",
            Command::SortSubject => "UID SORT SUBJECT",
            Command::SortDate => "UID SORT REVERSE DATE",
            Command::ThreadReferences => "UID THREAD REFERENCES",
        }
    }
}

/// postcore-loadgen: IMAP/POP3/LMTP load generator (thread-per-core, glommio).
///
/// Every mode reports per command: count, errors, throughput and latency
/// p50/p90/p99/p99.9/max (HDR histograms) over the whole run and per
/// --interval; --json, --hdr-log and --plot write the report, an HDR interval
/// log and an SVG plot. Any protocol error makes the exit status non-zero.
#[derive(Debug, Clone, Parser)]
#[command(name = "postcore-loadgen", version)]
pub struct Args {
    #[arg(long, value_enum)]
    pub mode: Mode,
    /// Server address host:port (IMAP, POP3 or LMTP per mode).
    #[arg(long, default_value = "127.0.0.1:143")]
    pub addr: String,
    /// Implicit TLS (connect with TLS from the first byte).
    #[arg(long)]
    pub tls: bool,
    /// Skip certificate verification (self-signed test servers).
    #[arg(long)]
    pub insecure: bool,
    /// PEM file of trusted CA certificates (TLS without --insecure).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Server name for TLS SNI/verification.
    #[arg(long, default_value = "localhost")]
    pub server_name: String,
    /// Executors (threads), one per core.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Concurrent connections (total, spread over threads).
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    /// User name pattern; `%d` is replaced by the user number.
    #[arg(long, default_value = "user%d")]
    pub user: String,
    /// Number of distinct users (connection i uses user (first_user + i % users)).
    #[arg(long, default_value_t = 1)]
    pub users: usize,
    #[arg(long, default_value_t = 1)]
    pub first_user: usize,
    /// File of `user:password` lines (overrides --user/--password).
    #[arg(long)]
    pub users_file: Option<PathBuf>,
    #[arg(long, default_value = "pass")]
    pub password: String,
    /// Mailbox to select.
    #[arg(long, default_value = "INBOX")]
    pub mailbox: String,
    /// Command for pipelined / open-loop modes.
    #[arg(long, value_enum, default_value = "noop")]
    pub command: Command,
    /// Commands in flight per connection (pipelined).
    #[arg(long, default_value_t = 1)]
    pub depth: usize,
    /// Total commands per second (open-loop).
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Measured seconds (after warm-up).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Stop after this many measured commands in total instead of --duration.
    #[arg(long)]
    pub count: Option<u64>,
    /// Warm-up seconds, excluded from all figures.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Reporting interval in seconds.
    #[arg(long, default_value_t = 1.0)]
    pub interval: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Message size in bytes for APPEND commands and LMTP deliveries.
    #[arg(long, default_value_t = 16384)]
    pub msg_size: usize,
    /// Messages per user (populate).
    #[arg(long, default_value_t = 100)]
    pub messages: usize,
    /// Largest generated message (populate).
    #[arg(long, default_value_t = 1 << 20)]
    pub max_msg_size: usize,
    /// Populate with plain messages of exactly --msg-size bytes instead of the realistic mix.
    #[arg(long)]
    pub fixed_size: bool,
    /// Populate through LMTP at this address instead of IMAP APPEND.
    #[arg(long)]
    pub via_lmtp: Option<String>,
    /// Mixed-mode weights, e.g. `fetch_headers=30,fetch_body=20,store=20,append=10,expunge=5,idle=5,noop=5,logout=5`.
    #[arg(
        long,
        default_value = "fetch_headers=30,fetch_body=20,store=20,append=10,expunge=5,idle=5,noop=5,logout=5"
    )]
    pub weights: String,
    /// Server PID whose memory (RSS and PSS, with its child processes) is reported (idle-density).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Domain for LMTP recipients.
    #[arg(long, default_value = "example.net")]
    pub domain: String,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write an HDR histogram interval log here.
    #[arg(long)]
    pub hdr_log: Option<PathBuf>,
    /// Write an SVG plot (latency distribution + throughput over time) here.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}

impl Args {
    pub fn user_name(&self, i: usize) -> String {
        let n = self.first_user + i % self.users.max(1);
        self.user.replace("%d", &n.to_string())
    }
}
