//! The store's error type.

use std::io;

/// Everything a store operation can fail with. Client-caused conditions
/// (unknown mailbox, limits) are distinct variants so the protocol layer can
/// map them to precise responses.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    #[error("no such mailbox: {0}")]
    NoSuchMailbox(String),
    #[error("mailbox already exists: {0}")]
    MailboxExists(String),
    #[error("invalid mailbox name: {0}")]
    InvalidName(String),
    #[error("mailbox has children, delete them first: {0}")]
    HasChildren(String),
    #[error("INBOX cannot be deleted")]
    CannotDeleteInbox,
    #[error("limit exceeded: {0}")]
    Limit(&'static str),
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooBig { size: u64, limit: u64 },
    #[error("no such message: uid {0}")]
    NoSuchMessage(u32),
    #[error("invalid keyword: {0}")]
    InvalidKeyword(String),
    #[error("corrupt log: segment {segment} offset {offset}: {reason}")]
    Corrupt {
        segment: u32,
        offset: u64,
        reason: String,
    },
    #[error("corrupt message facts: {0}")]
    Facts(String),
    #[error("store is unusable after an earlier write failure; reopen it")]
    Poisoned,
    #[error("store is closed")]
    Closed,
    #[error("store {0} is in use by another process (a running server or tool)")]
    Locked(String),
    #[error("annotation value over the limit of {limit} bytes")]
    MetadataTooBig { limit: usize },
    #[error("more than {limit} annotations (per_user: {per_user})")]
    MetadataTooMany { limit: usize, per_user: bool },
    #[error("annotations would take more than {limit} bytes")]
    MetadataQuota { limit: u64 },
    #[error("annotation name too long or too deep: {0}")]
    MetadataName(String),
    #[error("import conflict: {0}")]
    ImportConflict(String),
}

impl From<glommio::GlommioError<()>> for StoreError {
    fn from(e: glommio::GlommioError<()>) -> Self {
        StoreError::Io(e.into())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;
