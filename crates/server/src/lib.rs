//! postcore's runtime: one glommio executor per core ("shard"), listeners on
//! every shard with SO_REUSEPORT, rustls TLS (implicit and STARTTLS), and the
//! hand-off that moves an authenticated connection to its user's home shard.
//! This is the only crate that knows about sockets and executors.

pub mod admin;
pub mod authsock;
pub mod config;
pub mod conns;
pub mod deflate;
pub mod deliver;
pub mod imap;
pub mod lmtp;
pub mod login;
pub mod metrics;
pub mod pop3;
pub mod quota;
pub mod retention;
pub mod runtime;
pub mod shard;
pub mod tls;
pub mod transport;
pub mod users;

/// The store settings of a server configuration.
pub fn store_config(cfg: &config::Config) -> store::StoreConfig {
    let s = &cfg.store;
    store::StoreConfig {
        segment_size: s.segment_size,
        flag_sync: if s.sync_flag_changes {
            store::FlagSync::Always
        } else {
            store::FlagSync::Never
        },
        compact_dead_ratio: s.compact_dead_ratio,
        max_keywords: s.max_keywords,
        max_mailboxes: s.max_mailboxes,
        max_thread_refs: s.max_thread_refs,
        max_message_size: cfg.limits.max_literal_size,
        metadata: store::MetaLimits {
            max_value: cfg.metadata.max_value_bytes,
            max_entries: cfg.metadata.max_entries_per_mailbox,
            max_user_entries: cfg.metadata.max_entries_per_user,
            max_total_bytes: cfg.metadata.max_total_bytes,
            max_name: cfg.metadata.max_entry_name,
            max_depth: cfg.metadata.max_entry_depth,
        },
        ..store::StoreConfig::default()
    }
}
