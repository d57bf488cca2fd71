//! Annotations (IMAP METADATA, RFC 5464): named binary values kept for the
//! whole account ("server" annotations) and per mailbox. Entry names are
//! `/`-separated paths; the protocol layer checks and case-folds them, the
//! store keeps them as given and bounds how much a user may keep.
//!
//! A mailbox's annotations live in its index entry, so they follow the
//! mailbox through RENAME (its id is kept) and go with DELETE; a mailbox
//! re-created under the same name is a new id and starts with none.

use std::collections::BTreeMap;

use crate::error::{Result, StoreError};
use crate::record::{META_SERVER, Record};
use crate::store::Store;
use crate::types::MailboxId;

/// (entry name, value) pairs, in name order.
pub type MetaEntries = Vec<(String, Vec<u8>)>;

/// Whose annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaOwner {
    /// The account as a whole (IMAP's mailbox name `""`).
    Server,
    Mailbox(MailboxId),
}

impl MetaOwner {
    fn id(self) -> u32 {
        match self {
            MetaOwner::Server => META_SERVER,
            MetaOwner::Mailbox(id) => id,
        }
    }
}

/// Bounds on what one user may keep, checked when annotations are set (a
/// log replay applies whatever was accepted, so lowering a limit never
/// loses data; it only refuses growth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaLimits {
    /// Largest value in bytes.
    pub max_value: usize,
    /// Entries per owner (the server, or one mailbox).
    pub max_entries: usize,
    /// Entries over all owners of the user.
    pub max_user_entries: usize,
    /// Names plus values, over all owners of the user.
    pub max_total_bytes: u64,
    /// Longest entry name in bytes (at most 65535: names are u16-length
    /// strings on disk).
    pub max_name: usize,
    /// Most `/`-separated components in a name.
    pub max_depth: usize,
}

impl Default for MetaLimits {
    fn default() -> Self {
        MetaLimits {
            max_value: 16 * 1024,
            max_entries: 100,
            max_user_entries: 1000,
            max_total_bytes: 1 << 20,
            max_name: 256,
            max_depth: 16,
        }
    }
}

/// The annotations of one owner, with their size kept up to date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    entries: BTreeMap<String, Vec<u8>>,
    bytes: u64,
}

fn cost(name: &str, value: &[u8]) -> u64 {
    (name.len() + value.len()) as u64
}

impl Annotations {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of names and values.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.entries.get(name).map(Vec::as_slice)
    }

    pub fn set(&mut self, name: &str, value: Vec<u8>) {
        self.bytes += cost(name, &value);
        if let Some(old) = self.entries.insert(name.to_owned(), value) {
            self.bytes = self.bytes.saturating_sub(cost(name, &old));
        }
    }

    pub fn remove(&mut self, name: &str) {
        if let Some(old) = self.entries.remove(name) {
            self.bytes = self.bytes.saturating_sub(cost(name, &old));
        }
    }

    /// Entries strictly below `name`, at most `depth` levels down (None:
    /// any depth), in name order.
    pub fn below(&self, name: &str, depth: Option<usize>) -> MetaEntries {
        let prefix = format!("{name}/");
        self.entries
            .range(prefix.clone()..)
            .take_while(|(n, _)| n.starts_with(&prefix))
            .filter(|(n, _)| depth.is_none_or(|d| n[prefix.len()..].split('/').count() <= d))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    }

    pub(crate) fn to_vec(&self) -> Vec<(String, Vec<u8>)> {
        self.entries
            .iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect()
    }

    pub(crate) fn from_pairs(pairs: impl Iterator<Item = (String, Vec<u8>)>) -> Self {
        let mut a = Annotations::default();
        for (n, v) in pairs {
            a.set(&n, v);
        }
        a
    }
}

/// Checks one entry name against the store's limits (the protocol layer has
/// already checked its syntax).
fn check_name(name: &str, lim: &MetaLimits) -> Result<()> {
    if name.is_empty() || name.len() > lim.max_name.min(u16::MAX as usize) {
        return Err(StoreError::MetadataName(name.to_owned()));
    }
    if name.split('/').filter(|c| !c.is_empty()).count() > lim.max_depth {
        return Err(StoreError::MetadataName(name.to_owned()));
    }
    Ok(())
}

impl Store {
    fn annotations_of(ix: &crate::index::Index, owner: MetaOwner) -> Result<&Annotations> {
        match owner {
            MetaOwner::Server => Ok(&ix.server_meta),
            MetaOwner::Mailbox(id) => ix
                .mailboxes
                .get(&id)
                .map(|m| &m.meta)
                .ok_or_else(|| StoreError::NoSuchMailbox(format!("id {id}"))),
        }
    }

    /// One entry's value and the entries below it within `depth` levels
    /// (Some(0): none; None: all).
    pub fn metadata(
        &self,
        owner: MetaOwner,
        name: &str,
        depth: Option<usize>,
    ) -> Result<(Option<Vec<u8>>, MetaEntries)> {
        let st = self.inner.st.borrow();
        let a = Self::annotations_of(&st.ix, owner)?;
        let below = if depth == Some(0) {
            Vec::new()
        } else {
            a.below(name, depth)
        };
        Ok((a.get(name).map(<[u8]>::to_vec), below))
    }

    /// Entries and bytes the user keeps, over all owners.
    pub fn metadata_usage(&self) -> (usize, u64) {
        let st = self.inner.st.borrow();
        let mut n = st.ix.server_meta.len();
        let mut b = st.ix.server_meta.bytes();
        for m in st.ix.mailboxes.values() {
            n += m.meta.len();
            b += m.meta.bytes();
        }
        (n, b)
    }

    /// Set (`Some`) or remove (`None`) annotations of one owner, all or
    /// nothing; a later change of the same name wins. Refused when a value
    /// is over `max_value`, or when the owner would hold more than
    /// `max_entries`, or the user more than `max_user_entries` or
    /// `max_total_bytes`, and the change grows that count.
    pub async fn set_metadata(
        &self,
        owner: MetaOwner,
        changes: Vec<(String, Option<Vec<u8>>)>,
    ) -> Result<()> {
        let lim = self.inner.cfg.metadata;
        let t = {
            let mut st = self.state()?;
            let mut want: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
            for (name, value) in changes {
                check_name(&name, &lim)?;
                if let Some(v) = &value
                    && v.len() > lim.max_value
                {
                    return Err(StoreError::MetadataTooBig {
                        limit: lim.max_value,
                    });
                }
                want.insert(name, value);
            }
            let mut total: u64 = st.ix.server_meta.bytes();
            let mut user_entries = st.ix.server_meta.len();
            for m in st.ix.mailboxes.values() {
                total += m.meta.bytes();
                user_entries += m.meta.len();
            }
            let a = Self::annotations_of(&st.ix, owner)?;
            let (mut count, mut bytes) = (a.len() as i64, total as i64);
            let mut sets = Vec::new();
            let mut removes = Vec::new();
            for (name, value) in want {
                let old = a.get(&name);
                if let Some(o) = old {
                    count -= 1;
                    bytes -= cost(&name, o) as i64;
                }
                match value {
                    Some(v) => {
                        count += 1;
                        bytes += cost(&name, &v) as i64;
                        sets.push((name, v));
                    }
                    None if old.is_some() => removes.push(name),
                    None => {}
                }
            }
            let growth = count - a.len() as i64;
            if growth > 0 && count as u64 > lim.max_entries as u64 {
                return Err(StoreError::MetadataTooMany {
                    limit: lim.max_entries,
                    per_user: false,
                });
            }
            if growth > 0 && user_entries as u64 + growth as u64 > lim.max_user_entries as u64 {
                return Err(StoreError::MetadataTooMany {
                    limit: lim.max_user_entries,
                    per_user: true,
                });
            }
            if bytes > total as i64 && bytes as u64 > lim.max_total_bytes {
                return Err(StoreError::MetadataQuota {
                    limit: lim.max_total_bytes,
                });
            }
            let id = owner.id();
            let mut recs = Vec::new();
            if !sets.is_empty() {
                recs.push(Record::MetaSet {
                    owner: id,
                    entries: sets,
                });
            }
            if !removes.is_empty() {
                recs.push(Record::MetaRemove {
                    owner: id,
                    names: removes,
                });
            }
            if recs.is_empty() {
                return Ok(());
            }
            let rec = Record::all_of(recs);
            self.submit(&mut st, &rec, true)
        };
        self.finish(t, true).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_sets_and_removes() {
        let mut a = Annotations::default();
        a.set("/private/a", b"xyz".to_vec());
        a.set("/private/a/b", b"1".to_vec());
        a.set("/private/a/b/c", Vec::new());
        a.set("/private/ab", b"no".to_vec());
        assert_eq!(a.bytes(), 13 + 13 + 14 + 13);
        a.set("/private/a", b"x".to_vec());
        assert_eq!(a.bytes(), 11 + 13 + 14 + 13);
        a.remove("/private/ab");
        a.remove("/private/missing");
        assert_eq!((a.len(), a.bytes()), (3, 11 + 13 + 14));
        let names = |v: Vec<(String, Vec<u8>)>| v.into_iter().map(|e| e.0).collect::<Vec<_>>();
        assert_eq!(names(a.below("/private/a", Some(1))), ["/private/a/b"]);
        assert_eq!(
            names(a.below("/private/a", None)),
            ["/private/a/b", "/private/a/b/c"]
        );
        assert_eq!(names(a.below("/private", Some(1))), ["/private/a"]);
    }
}
