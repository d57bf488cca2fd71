//! The per-user change feed: what changed in which mailbox, for sessions
//! that follow more than their selected mailbox (IMAP NOTIFY).
//!
//! Every subscriber has its own bounded queue, filled on the store's
//! thread as changes are applied (flags, expunges, mailbox changes) or
//! become visible (new messages, at their sync). With no subscriber a
//! change costs one empty-`Vec` check, so deliveries and FETCH pay nothing
//! for a feature nobody uses.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use crate::index::Index;
use crate::record::Record;
use crate::types::MailboxId;

/// What happened to a mailbox's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageChange {
    /// Messages were appended, copied or moved in (and are now visible).
    New,
    /// Messages were expunged (or moved out).
    Expunge,
    /// Flags or keywords of messages changed.
    Flags,
}

/// One change, as a subscriber receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    Messages {
        mailbox: MailboxId,
        change: MessageChange,
    },
    MailboxCreated {
        mailbox: MailboxId,
        name: String,
    },
    MailboxDeleted {
        mailbox: MailboxId,
        name: String,
    },
    MailboxRenamed {
        mailbox: MailboxId,
        from: String,
        to: String,
    },
    Subscription {
        name: String,
        on: bool,
    },
    /// Annotations (METADATA) set or removed: of a mailbox, or of the
    /// server (`None`).
    Metadata {
        mailbox: Option<MailboxId>,
        entries: Vec<String>,
    },
}

struct Queue {
    events: RefCell<VecDeque<FeedEvent>>,
    limit: usize,
    overflowed: Cell<bool>,
}

/// A session's place in the feed. Dropping it unsubscribes.
pub struct FeedSubscription {
    q: Rc<Queue>,
}

/// The events queued so far, or the news that more arrived than the
/// subscription's limit (some were lost: the subscriber must resynchronise).
#[derive(Debug, PartialEq, Eq)]
pub enum Drained {
    Events(Vec<FeedEvent>),
    Overflowed,
}

impl FeedSubscription {
    /// Takes everything queued. After an overflow the queue starts afresh.
    pub fn drain(&self) -> Drained {
        let events = std::mem::take(&mut *self.q.events.borrow_mut());
        if self.q.overflowed.replace(false) {
            return Drained::Overflowed;
        }
        Drained::Events(events.into())
    }

    pub fn is_empty(&self) -> bool {
        !self.q.overflowed.get() && self.q.events.borrow().is_empty()
    }
}

#[derive(Default)]
pub(crate) struct Feed {
    subs: RefCell<Vec<Weak<Queue>>>,
}

impl Feed {
    pub(crate) fn subscribe(&self, limit: usize) -> FeedSubscription {
        let q = Rc::new(Queue {
            events: RefCell::new(VecDeque::new()),
            limit: limit.max(1),
            overflowed: Cell::new(false),
        });
        let mut subs = self.subs.borrow_mut();
        subs.retain(|w| w.strong_count() > 0);
        subs.push(Rc::downgrade(&q));
        FeedSubscription { q }
    }

    pub(crate) fn active(&self) -> bool {
        !self.subs.borrow().is_empty()
    }

    pub(crate) fn push(&self, ev: FeedEvent) {
        let mut subs = self.subs.borrow_mut();
        subs.retain(|w| w.strong_count() > 0);
        for q in subs.iter().filter_map(Weak::upgrade) {
            if q.overflowed.get() {
                continue;
            }
            let mut events = q.events.borrow_mut();
            // A burst (an import, a big MOVE) to one mailbox is one event:
            // a subscriber reports the mailbox's state, not each message.
            if matches!(ev, FeedEvent::Messages { .. }) && events.contains(&ev) {
                continue;
            }
            if events.len() >= q.limit {
                events.clear();
                q.overflowed.set(true);
                continue;
            }
            events.push_back(ev.clone());
        }
    }

    /// The events a record applied to `ix` (which has not seen it yet)
    /// gives. New messages are not among them: they count when synced.
    pub(crate) fn record(&self, rec: &Record, ix: &Index) {
        if !self.active() {
            return;
        }
        let mut out = Vec::new();
        events_of(rec, ix, &mut out);
        for ev in out {
            self.push(ev);
        }
    }
}

fn name_of(ix: &Index, id: MailboxId) -> Option<String> {
    ix.mailboxes.get(&id).map(|m| m.name.clone())
}

fn meta_owner(owner: u32) -> Option<MailboxId> {
    (owner != crate::record::META_SERVER).then_some(owner)
}

fn events_of(rec: &Record, ix: &Index, out: &mut Vec<FeedEvent>) {
    let msgs = |mailbox, change| FeedEvent::Messages { mailbox, change };
    match rec {
        Record::Create { id, name, .. } => out.push(FeedEvent::MailboxCreated {
            mailbox: *id,
            name: name.clone(),
        }),
        Record::Rename { entries } => {
            for (id, to) in entries {
                if let Some(from) = name_of(ix, *id) {
                    out.push(FeedEvent::MailboxRenamed {
                        mailbox: *id,
                        from,
                        to: to.clone(),
                    });
                }
            }
        }
        Record::Delete { id } => {
            if let Some(name) = name_of(ix, *id) {
                out.push(FeedEvent::MailboxDeleted { mailbox: *id, name });
            }
        }
        Record::Subscribe { on, name } => out.push(FeedEvent::Subscription {
            name: name.clone(),
            on: *on,
        }),
        Record::Flags { mailbox, .. } => out.push(msgs(*mailbox, MessageChange::Flags)),
        Record::Expunge { mailbox, .. } => out.push(msgs(*mailbox, MessageChange::Expunge)),
        Record::Copy {
            src, is_move: true, ..
        } => out.push(msgs(*src, MessageChange::Expunge)),
        Record::MetaSet { owner, entries } => out.push(FeedEvent::Metadata {
            mailbox: meta_owner(*owner),
            entries: entries.iter().map(|(n, _)| n.clone()).collect(),
        }),
        Record::MetaRemove { owner, names } => out.push(FeedEvent::Metadata {
            mailbox: meta_owner(*owner),
            entries: names.clone(),
        }),
        Record::Batch(items) => {
            for r in items {
                events_of(r, ix, out);
            }
        }
        _ => {}
    }
}
