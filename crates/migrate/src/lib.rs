//! Reading and writing the on-disk mail formats other servers keep, for
//! `postcore import` and `postcore export`: Maildir / Maildir++ with Dovecot's
//! `dovecot-uidlist`, `dovecot-keywords` and `subscriptions` files
//! ([`maildir`]), and mbox in its mboxrd and mboxo dialects ([`mbox`]); and
//! reading a live account from another IMAP server ([`imap`]).
//!
//! Blocking file and socket I/O: run it on plain threads or a blocking
//! pool, never on an async executor. Nothing the input files or a remote
//! server send can make it panic; every problem is an [`Error`] naming the
//! file (and line, where there is one) or an [`imap::ImapError`].

use std::io;
use std::path::{Path, PathBuf};

mod date;
pub mod imap;
pub mod maildir;
pub mod mbox;

/// Flag bits, same values as postcore's `store::Flags`.
pub const SEEN: u8 = 1;
pub const ANSWERED: u8 = 2;
pub const FLAGGED: u8 = 4;
pub const DELETED: u8 = 8;
pub const DRAFT: u8 = 16;

/// What a source records about a message besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    /// UID on the old server, when the source records it.
    pub uid: Option<u32>,
    /// [`SEEN`] | [`ANSWERED`] | ...
    pub flags: u8,
    /// IMAP keywords, e.g. `$Forwarded`, `$Junk`, `work`.
    pub keywords: Vec<String>,
    /// INTERNALDATE, unix seconds.
    pub internal_date: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub meta: Meta,
    pub raw: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// A file's content does not follow its format. `line` is 1-based; 0
    /// when the problem is not tied to one line.
    #[error("{}:{line}: {reason}", path.display())]
    Format {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    /// A message file listed a moment ago is gone (the old server expunged
    /// or renamed it meanwhile); callers count it as skipped.
    #[error("{}: message file vanished before it could be read", .0.display())]
    Vanished(PathBuf),
    /// The directory is not a Maildir (neither `cur/` nor `new/`).
    #[error("{}: not a Maildir (no cur/ or new/)", .0.display())]
    NotMaildir(PathBuf),
    /// A folder name that cannot be mapped between postcore and Maildir++.
    #[error("folder name {name:?}: {reason}")]
    FolderName { name: String, reason: String },
    /// A value handed to a writer that the target format cannot hold.
    #[error("{0}")]
    Invalid(String),
}

pub(crate) fn io_err(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn format_err(path: &Path, line: u64, reason: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}

/// Keywords end up in whitespace-separated lists in both formats, so a
/// keyword that would split or corrupt such a list is refused rather than
/// mangled. `also_forbidden` adds separators a format's readers also split on.
pub(crate) fn check_keyword(kw: &str, also_forbidden: &[char]) -> Result<(), Error> {
    let bad = kw.is_empty()
        || kw
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || also_forbidden.contains(&c));
    if bad {
        return Err(Error::Invalid(format!(
            "keyword {kw:?} cannot be stored: empty, or contains whitespace, \
             a control character or one of {also_forbidden:?}"
        )));
    }
    Ok(())
}

pub(crate) fn push_unique(list: &mut Vec<String>, kw: &str) {
    if !list.iter().any(|k| k == kw) {
        list.push(kw.to_owned());
    }
}
