//! What a store reports about its own work to whoever counts it (the
//! server's metrics). The store knows nothing of metrics formats; a shard
//! hands every store it opens the same observer.

use std::time::Duration;

/// Called on the store's executor thread, inline with the work, so
/// implementations must be cheap (an atomic add, not a lock or I/O).
pub trait StoreObserver: std::fmt::Debug + Send + Sync {
    /// `messages` messages of `bytes` bytes in total were made durable by
    /// one append (a delivery, APPEND, COPY's copies are not appends).
    fn appended(&self, messages: u64, bytes: u64);
    /// One fdatasync of a log segment (a group commit) took `took`.
    fn synced(&self, took: Duration);
    /// A segment was rewritten without its expunged messages, giving back
    /// `reclaimed` bytes.
    fn compacted(&self, reclaimed: u64);
}
