//! A small blocking IMAP client that reads a remote account without
//! changing it, for `postcore import --from imap`: log in (LOGIN or
//! AUTHENTICATE PLAIN, over plain TCP, STARTTLS or implicit TLS), list the
//! folders with their special use and subscriptions, EXAMINE each one
//! (read-only: no flag, \Recent or expunge is ever changed on the source)
//! and UID FETCH its messages with flags, keywords, internal date and the
//! exact bytes.
//!
//! Blocking on purpose: the caller runs it on a blocking thread pool (one
//! call per batch), never on an async executor thread.
//!
//! Responses are parsed by the `imap-proto` crate (renamed `imap_response`
//! here, as this workspace's command-side grammar crate already owns the
//! name `imap_proto`). Before it sees a response, [`frame`] cuts the byte
//! stream into whole responses under size limits, so a hostile or broken
//! server cannot make us allocate without bound; socket timeouts bound
//! every read and write. Two things imap-proto does not do for us, and
//! which are done by hand here: `CAPABILITY` lists without `IMAP4rev1`
//! (imap-proto refuses them; an IMAP4rev2-only server sends such lists)
//! are split into atoms directly, and the parser is run under
//! `catch_unwind`, because it unwraps an `INTERNALDATE NIL`, which a server
//! can send; that becomes a parse error, not a crash.

mod client;
mod frame;
pub mod names;
mod transport;

#[cfg(test)]
mod tests;

pub use client::Client;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain TCP; the password crosses the network readable.
    None,
    /// Plain TCP, then `STARTTLS` before anything else is said.
    StartTls,
    /// TLS from the first byte (port 993).
    Imaps,
}

/// Which login command to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// AUTHENTICATE PLAIN when the server offers it, else LOGIN.
    Auto,
    Plain,
    Login,
}

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    /// Accept any certificate (self-signed servers).
    pub insecure: bool,
    /// PEM file of trusted CAs; `None` takes the system bundle.
    pub ca_file: Option<PathBuf>,
    /// Bound on connecting and on every read and write.
    pub timeout: Duration,
    /// Largest message accepted: a literal over it is refused before any
    /// of its bytes are read.
    pub max_message: u64,
}

/// The special-use attributes (RFC 6154) an import keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecialUse {
    Sent,
    Trash,
    Drafts,
    Junk,
    Archive,
}

/// One folder as LIST showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFolder {
    /// The name as the server spells it (modified UTF-7); what EXAMINE needs.
    pub raw_name: String,
    pub delimiter: Option<char>,
    pub special_use: Option<SpecialUse>,
    /// `\Noselect` / `\NonExistent`: a hierarchy level without messages.
    pub selectable: bool,
    pub subscribed: bool,
}

/// What EXAMINE says about a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Examined {
    pub uidvalidity: u32,
    /// `None` when the server does not say (old servers); then the highest
    /// UID seen plus one is all that is known.
    pub uidnext: Option<u32>,
    pub exists: u32,
}

/// One message of a UID FETCH: its bytes and what the server records about
/// it, or why it cannot be taken.
#[derive(Debug)]
pub struct Fetched {
    pub uid: u32,
    pub message: Result<crate::Message, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("connecting to {addr}: {source}")]
    Connect { addr: String, source: io::Error },
    #[error("connection to the server: {0}")]
    Io(io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the server did not answer in time (timeout)")]
    Timeout,
    #[error("the server closed the connection")]
    Closed,
    #[error("the server sent a line over {limit} bytes")]
    LineTooLong { limit: usize },
    #[error("the server announced a literal of {size} bytes, over the limit of {limit}")]
    LiteralTooLarge { size: u64, limit: u64 },
    #[error("the server sent a response over {limit} bytes")]
    ResponseTooLarge { limit: usize },
    #[error("unreadable response from the server: {0}")]
    Parse(String),
    /// The login was refused: a wrong user name or password, usually.
    #[error("the server refused the login as {user:?}: {text}")]
    Auth { user: String, text: String },
    /// A command was answered NO or BAD; the connection is still usable.
    #[error("{command} refused by the server: {text}")]
    Refused { command: String, text: String },
    #[error("the server ended the session: {0}")]
    Bye(String),
    #[error("{0}")]
    Protocol(String),
}

impl ImapError {
    pub(crate) fn from_io(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ImapError::Timeout,
            io::ErrorKind::UnexpectedEof => ImapError::Closed,
            _ => match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                Some(t) => ImapError::Tls(t.to_string()),
                None => ImapError::Io(e),
            },
        }
    }

    /// True when the connection can go on (one command was refused).
    pub fn is_refusal(&self) -> bool {
        matches!(self, ImapError::Refused { .. })
    }
}
