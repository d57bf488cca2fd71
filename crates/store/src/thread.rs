//! THREADID (RFC 8474) at append: a new message joins the thread of the
//! first existing message of this user whose Message-ID it names (its own
//! id for a duplicate, then In-Reply-To, then References nearest first),
//! else it starts a thread of its own (its email id). Thread ids are stored
//! with the message and never change.

use std::collections::HashMap;

use mime_facts::SortKeys;

use crate::index::Index;
use crate::record::msgid_hash;

/// Message-ID hashes a new message names.
pub(crate) struct MsgRefs {
    /// Its own Message-ID (0: none).
    pub own: u64,
    /// Parents to look for, nearest first.
    parents: Vec<u64>,
}

impl MsgRefs {
    /// At most `max` parents are looked at (a References header is client
    /// data of any length; the nearest ancestors are the ones that count).
    pub fn of(keys: &SortKeys, max: usize) -> MsgRefs {
        let parents = keys
            .in_reply_to
            .iter()
            .chain(keys.references.iter().rev())
            .map(|s| msgid_hash(s))
            .filter(|h| *h != 0)
            .take(max)
            .collect();
        MsgRefs {
            own: keys.message_id.as_deref().map(msgid_hash).unwrap_or(0),
            parents,
        }
    }

    pub fn thread_in(&self, map: &HashMap<u64, u64>) -> Option<u64> {
        std::iter::once(self.own)
            .chain(self.parents.iter().copied())
            .filter(|h| *h != 0)
            .find_map(|h| map.get(&h).copied())
    }
}

/// Message-ID hash -> thread id over every message of the user, built the
/// first time an append needs it (not checkpointed: it is derived from the
/// index's `msgid` and `thread_id` arrays). A message id seen in several
/// threads keeps the oldest (lowest email id) thread.
pub(crate) fn lookup(ix: &Index) -> HashMap<u64, u64> {
    let mut rows: Vec<(u64, u64, u64)> = Vec::new();
    for mb in ix.mailboxes.values() {
        let m = &mb.msgs;
        for i in 0..m.len() {
            if m.msgid[i] != 0 {
                rows.push((m.email_id[i], m.msgid[i], m.thread_id[i]));
            }
        }
    }
    rows.sort_unstable();
    let mut map = HashMap::with_capacity(rows.len());
    for (_, h, t) in rows {
        map.entry(h).or_insert(t);
    }
    map
}
