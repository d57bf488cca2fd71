//! Mailbox operations: list, create, rename, delete, subscriptions.

use crate::error::{Result, StoreError};
use crate::record::Record;
use crate::store::{INBOX, State, Store};
use crate::types::*;

/// Check and normalize a mailbox name (`INBOX` is case-insensitive).
fn normalize_name(name: &str, max: usize) -> Result<String> {
    let bad = || StoreError::InvalidName(name.to_owned());
    if name.is_empty()
        || name.len() > max
        || name.starts_with('/')
        || name.ends_with('/')
        || name.contains("//")
    {
        return Err(bad());
    }
    if name.chars().any(|c| c.is_control() || c == '*' || c == '%') {
        return Err(bad());
    }
    let first = name.split('/').next().unwrap_or(name);
    if first.eq_ignore_ascii_case(INBOX) {
        return Ok(format!("{INBOX}{}", &name[first.len()..]));
    }
    Ok(name.to_owned())
}

impl Store {
    pub(crate) fn normalized(&self, name: &str) -> Result<String> {
        normalize_name(name, self.inner.cfg.max_mailbox_name)
    }

    pub fn mailbox_id(&self, name: &str) -> Option<MailboxId> {
        let name = normalize_name(name, self.inner.cfg.max_mailbox_name).ok()?;
        self.inner.st.borrow().ix.by_name.get(&name).copied()
    }

    pub fn mailbox_name(&self, id: MailboxId) -> Option<String> {
        self.inner
            .st
            .borrow()
            .ix
            .mailboxes
            .get(&id)
            .map(|m| m.name.clone())
    }

    /// Every mailbox, sorted by name.
    pub fn list(&self) -> Vec<MailboxInfo> {
        let st = self.inner.st.borrow();
        st.ix
            .by_name
            .iter()
            .filter_map(|(name, id)| {
                let mb = st.ix.mailboxes.get(id)?;
                let prefix = format!("{name}/");
                let has_children = st
                    .ix
                    .by_name
                    .range(prefix.clone()..)
                    .next()
                    .is_some_and(|(n, _)| n.starts_with(&prefix));
                Some(MailboxInfo {
                    id: *id,
                    name: name.clone(),
                    special_use: SpecialUse::from_u8(mb.special_use),
                    subscribed: st.ix.subscriptions.contains(name),
                    has_children,
                })
            })
            .collect()
    }

    /// Subscribed names (they need not exist).
    pub fn subscriptions(&self) -> Vec<String> {
        self.inner
            .st
            .borrow()
            .ix
            .subscriptions
            .iter()
            .cloned()
            .collect()
    }

    pub(crate) fn create_records(
        &self,
        st: &mut State,
        name: &str,
        special_use: SpecialUse,
        out: &mut Vec<Record>,
    ) -> Result<u32> {
        let mut parents: Vec<&str> = Vec::new();
        for (i, c) in name.char_indices() {
            if c == '/' {
                parents.push(&name[..i]);
            }
        }
        let mut missing: Vec<(String, u8)> = parents
            .into_iter()
            .filter(|p| {
                !st.ix.by_name.contains_key(*p)
                    && !out
                        .iter()
                        .any(|r| matches!(r, Record::Create { name: n, .. } if n == p))
            })
            .map(|p| (p.to_owned(), 0))
            .collect();
        missing.push((name.to_owned(), special_use.to_u8()));
        let pending = out
            .iter()
            .filter(|r| matches!(r, Record::Create { .. }))
            .count();
        if st.ix.mailboxes.len() + pending + missing.len() > self.inner.cfg.max_mailboxes {
            return Err(StoreError::Limit("too many mailboxes"));
        }
        let mut id = st.ix.next_mailbox_id;
        let mut uv = st.ix.next_uidvalidity.max(1);
        for r in out.iter() {
            if let Record::Create {
                id: i,
                uidvalidity: u,
                ..
            } = r
            {
                id = id.max(i + 1);
                uv = uv.max(u + 1);
            }
        }
        for (n, su) in missing {
            out.push(Record::Create {
                id,
                uidvalidity: uv,
                special_use: su,
                name: n,
            });
            id += 1;
            uv += 1;
        }
        Ok(id - 1)
    }

    /// Create a mailbox (and any missing parents). Returns its id.
    pub async fn create_mailbox(&self, name: &str, special_use: SpecialUse) -> Result<MailboxId> {
        let name = normalize_name(name, self.inner.cfg.max_mailbox_name)?;
        let (t, id) = {
            let mut st = self.state()?;
            if st.ix.by_name.contains_key(&name) {
                return Err(StoreError::MailboxExists(name));
            }
            let mut recs = Vec::new();
            let id = self.create_records(&mut st, &name, special_use, &mut recs)?;
            let rec = Record::all_of(recs);
            (self.submit(&mut st, &rec, true), id)
        };
        self.finish(t, true).await?;
        Ok(id)
    }

    /// Delete a mailbox and its messages. INBOX cannot be deleted; a mailbox
    /// with children cannot either (delete the children first): postcore has
    /// no \Noselect placeholders.
    pub async fn delete_mailbox(&self, name: &str) -> Result<()> {
        let name = normalize_name(name, self.inner.cfg.max_mailbox_name)?;
        if name == INBOX {
            return Err(StoreError::CannotDeleteInbox);
        }
        let t = {
            let mut st = self.state()?;
            let id = *st
                .ix
                .by_name
                .get(&name)
                .ok_or_else(|| StoreError::NoSuchMailbox(name.clone()))?;
            let prefix = format!("{name}/");
            if st
                .ix
                .by_name
                .range(prefix.clone()..)
                .next()
                .is_some_and(|(n, _)| n.starts_with(&prefix))
            {
                return Err(StoreError::HasChildren(name));
            }
            let bytes: u64 = st.ix.mailboxes.get(&id).map(|m| m.total_size).unwrap_or(0);
            st.expunged_bytes += bytes;
            self.submit(&mut st, &Record::Delete { id }, true)
        };
        self.finish(t, true).await
    }

    /// Rename a mailbox and all its children (ids are kept). Renaming INBOX
    /// creates the new mailbox, moves INBOX's messages into it and leaves
    /// INBOX empty (its children stay where they are).
    pub async fn rename_mailbox(&self, from: &str, to: &str) -> Result<()> {
        let max = self.inner.cfg.max_mailbox_name;
        let from = normalize_name(from, max)?;
        let to = normalize_name(to, max)?;
        let t = {
            let mut st = self.state()?;
            let src = *st
                .ix
                .by_name
                .get(&from)
                .ok_or_else(|| StoreError::NoSuchMailbox(from.clone()))?;
            if st.ix.by_name.contains_key(&to) {
                return Err(StoreError::MailboxExists(to));
            }
            if to.starts_with(&format!("{from}/")) || (from == INBOX && to.starts_with("INBOX/")) {
                return Err(StoreError::InvalidName(to));
            }
            let mut recs = Vec::new();
            if from == INBOX {
                let dst = self.create_records(&mut st, &to, SpecialUse::None, &mut recs)?;
                for r in &recs {
                    st.ix.apply(r, 0);
                }
                let all = [(1, u32::MAX)];
                self.copy_locked(&mut st, src, &all, dst, true, recs)?.0
            } else {
                let prefix = format!("{from}/");
                let mut entries = vec![(src, to.clone())];
                for (n, id) in st.ix.by_name.range(prefix.clone()..) {
                    if !n.starts_with(&prefix) {
                        break;
                    }
                    let new = format!("{to}/{}", &n[prefix.len()..]);
                    if new.len() > max {
                        return Err(StoreError::InvalidName(new));
                    }
                    entries.push((*id, new));
                }
                for (_, n) in &entries[1..] {
                    if st.ix.by_name.contains_key(n) {
                        return Err(StoreError::MailboxExists(n.clone()));
                    }
                }
                // Parents of the new name that do not exist yet are created
                // first (a parent cannot be the mailbox being renamed: checked above).
                let mut parents = Vec::new();
                if let Some(pos) = to.rfind('/') {
                    let parent = &to[..pos];
                    if !st.ix.by_name.contains_key(parent) {
                        self.create_records(&mut st, parent, SpecialUse::None, &mut parents)?;
                    }
                }
                recs.extend(parents);
                recs.push(Record::Rename { entries });
                let rec = Record::all_of(recs);
                self.submit(&mut st, &rec, true)
            }
        };
        self.finish(t, true).await
    }

    pub async fn subscribe(&self, name: &str, on: bool) -> Result<()> {
        let name = normalize_name(name, self.inner.cfg.max_mailbox_name)?;
        let t = {
            let mut st = self.state()?;
            if st.ix.subscriptions.contains(&name) == on {
                return Ok(());
            }
            if on && st.ix.subscriptions.len() >= self.inner.cfg.max_mailboxes {
                return Err(StoreError::Limit("too many subscriptions"));
            }
            self.submit(&mut st, &Record::Subscribe { on, name }, true)
        };
        self.finish(t, true).await
    }
}
