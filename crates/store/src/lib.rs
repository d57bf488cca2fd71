//! postcore's message store: one append-only, log-structured store per user.
//! Records framed with crc32 in rotating segment files are the truth; an
//! in-memory index per mailbox (checkpointed as an rkyv archive) is the cache.
//! All file I/O runs on glommio's io_uring files; nothing here knows a protocol.
//!
//! Use: [`Store::open`] on the user's home shard, share the handle (`Rc`
//! inside, `!Send`) among that user's sessions. Every mutating call returns
//! once its record is durable (flag changes: per [`FlagSync`]); concurrent
//! calls share one fdatasync (group commit). New messages become visible to
//! readers ([`Store::snapshot`], [`Store::status`]) only when durable; other
//! changes are visible as soon as they are applied. [`Store::wait_change`]
//! wakes IDLE-style watchers after any visible change.
//!
//! - mailboxes: [`Store::list`], [`Store::create_mailbox`],
//!   [`Store::rename_mailbox`], [`Store::delete_mailbox`], [`Store::subscribe`]
//! - messages: [`Store::append`], [`Store::read_message`],
//!   [`Store::read_range`], [`Store::facts`], [`Store::store_flags`],
//!   [`Store::copy`], [`Store::move_messages`], [`Store::expunge`],
//!   [`Store::changed_since`], [`Store::expunged_since`]
//! - annotations (IMAP METADATA): [`Store::metadata`],
//!   [`Store::set_metadata`], [`Store::metadata_usage`]
//! - upkeep: [`Store::checkpoint`], [`Store::compact`], [`Store::verify`],
//!   [`Store::close`], [`Store::open_info`], [`Store::sync_count`]
//! - offline tools: [`Store::scan_log`], [`Store::repair_log`],
//!   [`Store::drop_checkpoint`]; imports keeping UIDs:
//!   [`Store::import_mailbox`], [`Store::import_append`],
//!   [`Store::raise_uidnext`]
//!
//! One process at a time: a store holds an exclusive lock on its directory
//! while open, and a second open answers [`StoreError::Locked`].
//!
//! After any write or sync error the store answers `Poisoned` to writes:
//! reopen it (the log is the truth; replay rebuilds the index). The on-disk
//! format is specified in docs/architecture.md.

mod checkpoint;
mod compact;
mod config;
mod error;
mod event;
mod expire;
mod feed;
mod flags;
mod import;
mod index;
mod lock;
mod mailboxes;
mod messages;
mod metadata;
mod observer;
mod record;
mod repair;
mod segment;
mod store;
mod thread;
mod types;
mod verify;

pub use config::{FlagSync, KEYWORDS_CEILING, StoreConfig};
pub use error::{Result, StoreError};
pub use feed::{Drained, FeedEvent, FeedSubscription, MessageChange};
pub use flags::{Flags, KeywordSet};
pub use messages::MessageBytes;
pub use metadata::{Annotations, MetaEntries, MetaLimits, MetaOwner};
pub use observer::StoreObserver;
pub use repair::{Damage, LogScan, Repaired};
pub use segment::BadRecord;
pub use store::{INBOX, Store};
pub use types::*;
