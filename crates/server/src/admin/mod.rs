//! The admin socket: `<data_dir>/admin.sock`, mode 0600, through which
//! `postcore import` writes into the stores of a running server (which owns
//! them: a store is locked by the process that opened it). The tool reads
//! the source itself, with its own permissions, and sends the store
//! operations an import needs; the user's home shard applies them to the
//! same store its sessions use, so an IDLE client sees the messages arrive.
//!
//! Shard 0 accepts; the first request names the user, and the connection
//! moves to that user's home shard like an IMAP login does.

pub mod client;
pub mod serve;
mod wire;

pub use wire::{Refusal, WireError};

use std::path::{Path, PathBuf};

/// The socket's file, `<data_dir>/admin.sock`.
pub fn socket_file(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.sock")
}

/// The address to bind or connect to for a data directory. A unix socket
/// address holds at most 107 bytes of path, and data directories can be
/// deeper than that; then the address goes through an open descriptor of
/// the directory (`/proc/self/fd/N/admin.sock`), which the kernel resolves
/// to the same file. Keep the endpoint alive while the address is used.
/// Opened with std::fs: call it before any executor runs.
pub struct Endpoint {
    _dir: Option<std::fs::File>,
    pub address: PathBuf,
}

impl Endpoint {
    pub fn open(data_dir: &Path) -> std::io::Result<Endpoint> {
        let file = socket_file(data_dir);
        if file.as_os_str().len() < 100 {
            return Ok(Endpoint {
                _dir: None,
                address: file,
            });
        }
        let dir = std::fs::File::open(data_dir)?;
        let address = PathBuf::from(format!(
            "/proc/self/fd/{}/admin.sock",
            std::os::fd::AsRawFd::as_raw_fd(&dir)
        ));
        Ok(Endpoint {
            _dir: Some(dir),
            address,
        })
    }
}

/// A mailbox as an import sees it: enough to resume and to prove a
/// uid-less source is the one that filled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxState {
    pub id: store::MailboxId,
    pub uidvalidity: u32,
    pub uidnext: u32,
    /// Sorted.
    pub uids: Vec<u32>,
    /// The newest message's (uid, size, internal date).
    pub last: Option<(u32, u64, i64)>,
}

impl MailboxState {
    /// The state of `name` in `store`, if it exists.
    pub fn of(store: &store::Store, name: &str) -> Result<Option<MailboxState>, store::StoreError> {
        let Some(id) = store.mailbox_id(name) else {
            return Ok(None);
        };
        let snap = store.snapshot(id)?;
        let status = store.status(id)?;
        Ok(Some(MailboxState {
            id,
            uidvalidity: status.uidvalidity,
            uidnext: status.uidnext,
            uids: snap.messages.iter().map(|m| m.uid).collect(),
            last: snap
                .messages
                .last()
                .map(|m| (m.uid, m.size as u64, m.internal_date)),
        }))
    }
}

/// Request opcodes.
mod op {
    pub const HELLO: u8 = 1;
    pub const STATE: u8 = 2;
    pub const MAILBOX: u8 = 3;
    pub const IMPORT_APPEND: u8 = 4;
    pub const APPEND: u8 = 5;
    pub const RAISE_UIDNEXT: u8 = 6;
    pub const SUBSCRIBE: u8 = 7;
}

/// The largest request frame: a batch of messages, each at most the
/// server's message limit, plus the batch size an import sends.
pub fn max_frame(max_message_size: u64) -> u64 {
    max_message_size.saturating_add(48 << 20)
}
