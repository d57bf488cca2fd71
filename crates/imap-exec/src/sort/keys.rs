//! One message's sort keys and the comparisons of RFC 5256 §3 / RFC 5957.

use super::cache::{MailboxKey, SortCache};
use super::entry::{SortEntry, Text};
use crate::error::ExecError;
use imap_proto::SortKey;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::rc::Rc;
use store::{MailboxId, MessageInfo, Store};

/// A match with what sorting and threading look at.
#[derive(Debug, Clone)]
pub struct Keyed {
    /// Index in the view (sequence number - 1).
    pub index: u32,
    pub uid: u32,
    pub internal_date: i64,
    pub size: u32,
    /// Empty keys when the criteria need none.
    pub keys: Rc<SortEntry>,
}

impl Keyed {
    /// RFC 5256 DATE: the Date header's, else the internal date.
    pub fn sent_date(&self) -> i64 {
        self.keys.sent_date.unwrap_or(self.internal_date)
    }
}

/// The string a key compares, or None for the numeric keys.
pub fn text_field(key: SortKey) -> Option<Text> {
    match key {
        SortKey::Arrival | SortKey::Size | SortKey::Date => None,
        SortKey::Subject => Some(Text::Subject),
        SortKey::From => Some(Text::From),
        SortKey::To => Some(Text::To),
        SortKey::Cc => Some(Text::Cc),
        SortKey::DisplayFrom => Some(Text::DisplayFrom),
        SortKey::DisplayTo => Some(Text::DisplayTo),
    }
}

/// The value a numeric key compares (0 for the string keys).
pub fn number(k: &Keyed, key: SortKey) -> i64 {
    match key {
        SortKey::Arrival => k.internal_date,
        SortKey::Size => i64::from(k.size),
        SortKey::Date => k.sent_date(),
        _ => 0,
    }
}

pub fn compare(a: &Keyed, b: &Keyed, key: SortKey) -> Ordering {
    match text_field(key) {
        Some(f) => a.keys.text(f).cmp(b.keys.text(f)),
        None => number(a, key).cmp(&number(b, key)),
    }
}

/// Facts are read in batches whose reads overlap, as search does.
const BATCH: usize = 64;

/// Where [`load`] finds and keeps keys: the shard's cache and this
/// mailbox's place in it.
#[derive(Clone)]
pub struct CacheRef<'a> {
    pub cache: &'a RefCell<SortCache>,
    pub key: MailboxKey,
}

pub async fn load(
    store: &Store,
    mailbox: MailboxId,
    msgs: &[MessageInfo],
    matches: &[u32],
    with_keys: Option<CacheRef<'_>>,
) -> Result<Vec<Keyed>, ExecError> {
    let infos: Vec<(u32, &MessageInfo)> = matches
        .iter()
        .filter_map(|&i| msgs.get(i as usize).map(|m| (i, m)))
        .collect();
    let keyed = |(index, m): (u32, &MessageInfo), keys: Rc<SortEntry>| Keyed {
        index,
        uid: m.uid,
        internal_date: m.internal_date,
        size: m.size,
        keys,
    };
    let Some(cr) = with_keys else {
        let none = Rc::new(SortEntry::default());
        return Ok(infos.into_iter().map(|i| keyed(i, none.clone())).collect());
    };
    let uids: Vec<u32> = infos.iter().map(|(_, m)| m.uid).collect();
    let all = infos.len() == msgs.len();
    let mut found = cr.cache.borrow_mut().get(&cr.key, &uids, all);
    let missing: Vec<usize> = (0..found.len()).filter(|&i| found[i].is_none()).collect();
    for chunk in missing.chunks(BATCH) {
        let read = futures_util::future::join_all(
            chunk.iter().map(|&i| store.sort_keys(mailbox, uids[i])),
        )
        .await;
        let mut fresh = Vec::with_capacity(chunk.len());
        {
            let cache = cr.cache.borrow();
            for (&i, r) in chunk.iter().zip(read) {
                match r {
                    Ok(k) => {
                        let e = Rc::new(SortEntry::new(&k, cache.hasher()));
                        fresh.push((uids[i], e.clone()));
                        found[i] = Some(e);
                    }
                    // Expunged by another session since the search: left out.
                    Err(store::StoreError::NoSuchMessage(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        cr.cache.borrow_mut().put(&cr.key, &fresh);
    }
    Ok(infos
        .into_iter()
        .zip(found)
        .filter_map(|(info, e)| e.map(|e| keyed(info, e)))
        .collect())
}
