//! Public value types returned by the store.

use crate::flags::{Flags, KeywordSet};

/// A mailbox id: stable for the mailbox's life, across renames.
pub type MailboxId = u32;

/// RFC 6154 special-use attribute of a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SpecialUse {
    #[default]
    None,
    All,
    Archive,
    Drafts,
    Flagged,
    Junk,
    Sent,
    Trash,
}

impl SpecialUse {
    pub fn to_u8(self) -> u8 {
        self as u8
    }
    pub fn from_u8(v: u8) -> SpecialUse {
        match v {
            1 => SpecialUse::All,
            2 => SpecialUse::Archive,
            3 => SpecialUse::Drafts,
            4 => SpecialUse::Flagged,
            5 => SpecialUse::Junk,
            6 => SpecialUse::Sent,
            7 => SpecialUse::Trash,
            _ => SpecialUse::None,
        }
    }
}

/// One entry of the mailbox list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    pub id: MailboxId,
    /// Full name; the hierarchy separator is `/`.
    pub name: String,
    pub special_use: SpecialUse,
    pub subscribed: bool,
    pub has_children: bool,
}

/// Counters for STATUS / SELECT. All O(1) except for messages still waiting
/// for their sync, which are subtracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub messages: u32,
    pub unseen: u32,
    pub deleted: u32,
    pub size: u64,
    pub uidnext: u32,
    pub uidvalidity: u32,
    pub highest_modseq: u64,
}

/// Metadata of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    pub uid: u32,
    pub flags: Flags,
    pub keywords: KeywordSet,
    /// INTERNALDATE as seconds since the Unix epoch.
    pub internal_date: i64,
    /// RFC822.SIZE.
    pub size: u32,
    pub modseq: u64,
    /// EMAILID (RFC 8474): the same for every copy of the message.
    pub email_id: u64,
    /// THREADID (RFC 8474): shared by the messages of one thread.
    pub thread_id: u64,
    /// When the message was saved into this mailbox (RFC 8514), Unix
    /// seconds; `None` for messages stored before save dates were kept.
    pub save_date: Option<i64>,
}

/// A consistent view of a mailbox at one moment, ordered by UID (message
/// sequence number n is `messages[n - 1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub id: MailboxId,
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub highest_modseq: u64,
    /// The mailbox's keyword table: `KeywordSet` ids index into it.
    pub keywords: Vec<String>,
    /// Shared with the store's cache and other sessions' views of the same
    /// state: SELECT of a big mailbox costs no copy (`Rc::make_mut` copies
    /// on a session's first change).
    pub messages: std::rc::Rc<Vec<MessageInfo>>,
}

/// A message to append.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub raw: &'a [u8],
    pub flags: Flags,
    pub keywords: Vec<String>,
    pub internal_date: i64,
}

/// How a STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Set,
    Add,
    Remove,
}

/// Result of a flag change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagResult {
    /// Messages whose flags changed, with their new MODSEQ.
    pub changed: Vec<(u32, u64)>,
    /// Messages left alone because their MODSEQ was above UNCHANGEDSINCE.
    pub failed: Vec<u32>,
}

/// UID mapping of a COPY/MOVE (for COPYUID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyResult {
    pub dst_uidvalidity: u32,
    /// (source uid, destination uid), ascending.
    pub pairs: Vec<(u32, u32)>,
}

/// Which messages an expunge removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpungeMode {
    /// Only those flagged `\Deleted` (IMAP EXPUNGE / UID EXPUNGE).
    DeletedOnly,
    /// Exactly the given UIDs (POP3 DELE + QUIT, internal use).
    Exact,
}

/// Output of [`crate::Store::verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub segments: u32,
    pub records: u64,
    pub bad: Vec<crate::segment::BadRecord>,
    /// Replaying the log from scratch gives the same index as the live one.
    pub index_matches: bool,
}

/// What [`crate::Store::open`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenInfo {
    /// The checkpoint was valid and used.
    pub from_checkpoint: bool,
    /// Log records replayed after the checkpoint (or all, without one).
    pub replayed_records: u64,
    /// A torn tail was cut: (segment, new length).
    pub truncated_tail: Option<(u32, u64)>,
}

/// Disk space of a store ([`crate::Store::space`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Space {
    pub segments: u32,
    /// Bytes of all segment files.
    pub log_bytes: u64,
    /// Bytes of the messages still referenced (a message copied to several
    /// mailboxes is stored, and counted, once) with their stored facts.
    pub live_bytes: u64,
}

impl Space {
    /// What compaction could give back: expunged messages, superseded
    /// records and framing.
    pub fn dead_bytes(&self) -> u64 {
        self.log_bytes.saturating_sub(self.live_bytes)
    }
}
