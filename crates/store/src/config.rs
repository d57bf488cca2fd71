//! Store configuration with documented defaults.

/// When a flag change (STORE, and the flag part of nothing else) is
/// acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagSync {
    /// Acknowledge only after the record is fdatasync'ed. The default: group
    /// commit lets concurrent flag changes and appends share one sync, so the
    /// cost is one sync per batch, and a client is never told a flag is set
    /// that a crash forgets.
    Always,
    /// Acknowledge once the record is written to the OS (page cache) and
    /// sync it within this delay (one sync for all flag changes in the
    /// window, unless an append syncs them sooner). A power loss may forget
    /// flag changes of the last window, never a message.
    Batched(std::time::Duration),
    /// Acknowledge once the record is written to the OS (page cache); it
    /// becomes durable with the next synced record, checkpoint or close. A
    /// power loss may forget the last few flag changes (never a message).
    Never,
}

/// Tunables of one user's store. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// A segment is sealed and a new one started once it would grow past this
    /// size (a single record larger than this gets a segment of its own).
    /// Default 64 MiB.
    pub segment_size: u64,
    /// Write a checkpoint after this many records since the last one.
    /// Default 10 000.
    pub checkpoint_records: u64,
    /// ... or after this many log bytes since the last one. Default 64 MiB.
    pub checkpoint_bytes: u64,
    /// Flag-change durability. Default [`FlagSync::Always`].
    pub flag_sync: FlagSync,
    /// A sealed segment whose dead (expunged) bytes exceed this fraction of
    /// its size is rewritten by background compaction. Default 0.5.
    pub compact_dead_ratio: f64,
    /// Run background compaction/checkpoints automatically. Default true.
    pub background: bool,
    /// Distinct keywords one mailbox may define. Default 128, at most 4096.
    pub max_keywords: usize,
    /// Largest message accepted (RFC822.SIZE). Default 64 MiB.
    pub max_message_size: u64,
    /// Largest MULTIAPPEND batch in messages. Default 10 000.
    pub max_batch_messages: usize,
    /// Mailboxes per user. Default 10 000.
    pub max_mailboxes: usize,
    /// Longest mailbox name in bytes. Default 512.
    pub max_mailbox_name: usize,
    /// Segment files kept open for reading (the newest is always open).
    /// Bounds file descriptors per store; default 16, at least 2.
    pub max_open_segments: usize,
    /// In-Reply-To and References ids of a new message looked up to find
    /// its thread (nearest first). Default 100.
    pub max_thread_refs: usize,
    /// Told of appends, syncs and compactions (the server's metrics).
    /// Default none.
    pub observer: Option<std::sync::Arc<dyn crate::StoreObserver>>,
    /// Bounds on annotations (RFC 5464). Default [`crate::MetaLimits::default`].
    pub metadata: crate::MetaLimits,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            segment_size: 64 << 20,
            checkpoint_records: 10_000,
            checkpoint_bytes: 64 << 20,
            flag_sync: FlagSync::Always,
            compact_dead_ratio: 0.5,
            background: true,
            max_keywords: 128,
            max_message_size: 64 << 20,
            max_batch_messages: 10_000,
            max_mailboxes: 10_000,
            max_mailbox_name: 512,
            max_open_segments: 16,
            max_thread_refs: 100,
            observer: None,
            metadata: crate::MetaLimits::default(),
        }
    }
}

/// Hard ceiling on `max_keywords`: keyword ids are u16 on disk and a
/// mailbox's keyword table must stay small.
pub const KEYWORDS_CEILING: usize = 4096;
