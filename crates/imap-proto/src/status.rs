//! STATUS data items as a bitset: no allocation, duplicates harmless.

use crate::cursor::{Cursor, PResult};
use crate::error::ErrorKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum StatusItem {
    Messages = 1 << 0,
    UidNext = 1 << 1,
    UidValidity = 1 << 2,
    Unseen = 1 << 3,
    Deleted = 1 << 4,
    Size = 1 << 5,
    Recent = 1 << 6,
    HighestModSeq = 1 << 7,
    AppendLimit = 1 << 8,
    MailboxId = 1 << 9,
    DeletedStorage = 1 << 10,
}

impl StatusItem {
    pub const ALL: [StatusItem; 11] = [
        StatusItem::Messages,
        StatusItem::UidNext,
        StatusItem::UidValidity,
        StatusItem::Unseen,
        StatusItem::Deleted,
        StatusItem::Size,
        StatusItem::Recent,
        StatusItem::HighestModSeq,
        StatusItem::AppendLimit,
        StatusItem::MailboxId,
        StatusItem::DeletedStorage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Deleted => "DELETED",
            StatusItem::Size => "SIZE",
            StatusItem::Recent => "RECENT",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
            StatusItem::AppendLimit => "APPENDLIMIT",
            StatusItem::MailboxId => "MAILBOXID",
            StatusItem::DeletedStorage => "DELETED-STORAGE",
        }
    }

    fn from_name(n: &[u8]) -> Option<StatusItem> {
        StatusItem::ALL
            .into_iter()
            .find(|i| i.name().as_bytes().eq_ignore_ascii_case(n))
    }
}

/// The set of items requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusItems(u16);

impl StatusItems {
    pub fn contains(self, item: StatusItem) -> bool {
        self.0 & item as u16 != 0
    }
    pub fn insert(&mut self, item: StatusItem) {
        self.0 |= item as u16;
    }
    pub fn iter(self) -> impl Iterator<Item = StatusItem> {
        StatusItem::ALL
            .into_iter()
            .filter(move |i| self.contains(*i))
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl Cursor<'_> {
    /// "(" status-att *(SP status-att) ")"
    pub(crate) fn status_items(&mut self, max: usize) -> PResult<StatusItems> {
        self.expect(b'(', ErrorKind::Syntax)?;
        let mut items = StatusItems::default();
        let mut n = 0;
        loop {
            let name = self.atom().map_err(|_| ErrorKind::BadStatusItem)?;
            items.insert(StatusItem::from_name(name).ok_or(ErrorKind::BadStatusItem)?);
            n += 1;
            if n > max {
                return Err(ErrorKind::TooManyArguments);
            }
            if !self.eat(b' ') {
                break;
            }
        }
        self.expect(b')', ErrorKind::Syntax)?;
        Ok(items)
    }
}
