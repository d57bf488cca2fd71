//! One message's sort keys and the comparisons of RFC 5256 §3 / RFC 5957.

use crate::error::ExecError;
use imap_proto::SortKey;
use mime_facts::SortKeys;
use std::cmp::Ordering;
use store::{MailboxId, MessageInfo, Store};

/// A match with what sorting and threading look at.
#[derive(Debug, Clone)]
pub struct Keyed {
    /// Index in the view (sequence number - 1).
    pub index: u32,
    pub uid: u32,
    pub internal_date: i64,
    pub size: u32,
    /// Empty keys when the criteria need none (or the facts were unreadable).
    pub keys: SortKeys,
}

impl Keyed {
    /// RFC 5256 DATE: the Date header's, else the internal date.
    pub fn sent_date(&self) -> i64 {
        self.keys.sent_date.unwrap_or(self.internal_date)
    }
}

/// i;ascii-casemap: ASCII letters compare without case, other bytes as
/// they are.
pub fn casemap_cmp(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_uppercase())
        .cmp(b.bytes().map(|c| c.to_ascii_uppercase()))
}

fn mailbox_of(a: &Option<mime_facts::SortAddress>) -> &str {
    a.as_ref().map_or("", |a| a.mailbox.as_str())
}

/// RFC 5957: the display name, else the address (`mailbox@domain`).
fn display_of(a: &Option<mime_facts::SortAddress>) -> String {
    match a {
        None => String::new(),
        Some(a) if !a.name.trim().is_empty() => a.name.trim().to_string(),
        Some(a) if a.domain.is_empty() => a.mailbox.clone(),
        Some(a) => format!("{}@{}", a.mailbox, a.domain),
    }
}

pub fn compare(a: &Keyed, b: &Keyed, key: SortKey) -> Ordering {
    match key {
        SortKey::Arrival => a.internal_date.cmp(&b.internal_date),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Date => a.sent_date().cmp(&b.sent_date()),
        SortKey::Subject => casemap_cmp(&a.keys.base_subject, &b.keys.base_subject),
        SortKey::From => casemap_cmp(mailbox_of(&a.keys.from), mailbox_of(&b.keys.from)),
        SortKey::To => casemap_cmp(mailbox_of(&a.keys.to), mailbox_of(&b.keys.to)),
        SortKey::Cc => casemap_cmp(mailbox_of(&a.keys.cc), mailbox_of(&b.keys.cc)),
        SortKey::DisplayFrom => casemap_cmp(&display_of(&a.keys.from), &display_of(&b.keys.from)),
        SortKey::DisplayTo => casemap_cmp(&display_of(&a.keys.to), &display_of(&b.keys.to)),
    }
}

/// Facts are read in batches whose reads overlap, as search does.
const BATCH: usize = 64;

pub async fn load(
    store: &Store,
    mailbox: MailboxId,
    msgs: &[MessageInfo],
    matches: &[u32],
    with_keys: bool,
) -> Result<Vec<Keyed>, ExecError> {
    let mut out = Vec::with_capacity(matches.len());
    for chunk in matches.chunks(BATCH) {
        let infos: Vec<(u32, &MessageInfo)> = chunk
            .iter()
            .filter_map(|&i| msgs.get(i as usize).map(|m| (i, m)))
            .collect();
        let facts: Vec<Option<Result<mime_facts::Facts, store::StoreError>>> = if with_keys {
            futures_util::future::join_all(infos.iter().map(|(_, m)| store.facts(mailbox, m.uid)))
                .await
                .into_iter()
                .map(Some)
                .collect()
        } else {
            infos.iter().map(|_| None).collect()
        };
        for ((index, m), f) in infos.into_iter().zip(facts) {
            let keys = match f {
                None => SortKeys::default(),
                Some(Ok(f)) => f.sort,
                // Expunged by another session since the search: leave it out.
                Some(Err(store::StoreError::NoSuchMessage(_))) => continue,
                Some(Err(e)) => return Err(e.into()),
            };
            out.push(Keyed {
                index,
                uid: m.uid,
                internal_date: m.internal_date,
                size: m.size,
                keys,
            });
        }
    }
    Ok(out)
}
