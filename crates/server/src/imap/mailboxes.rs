//! Commands on mailboxes as a whole: CREATE, DELETE, RENAME, SUBSCRIBE,
//! UNSUBSCRIBE, LIST (RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154
//! SPECIAL-USE), LSUB and STATUS.

use super::names;
use super::session::Cx;
use imap_exec::ExecError;
use imap_proto::encode::{self, Code, ListExtended, ListKind, RespStatus, StatusValue};
use imap_proto::{AString, ListCommand, Mailbox, StatusItem, StatusItems};
use store::{MailboxInfo, SpecialUse, Store};

fn special_use_attr(s: SpecialUse) -> Option<&'static str> {
    Some(match s {
        SpecialUse::None => return None,
        SpecialUse::All => "\\All",
        SpecialUse::Archive => "\\Archive",
        SpecialUse::Drafts => "\\Drafts",
        SpecialUse::Flagged => "\\Flagged",
        SpecialUse::Junk => "\\Junk",
        SpecialUse::Sent => "\\Sent",
        SpecialUse::Trash => "\\Trash",
    })
}

fn parse_special_use(attr: &[u8]) -> Option<SpecialUse> {
    let a = attr.strip_prefix(b"\\").unwrap_or(attr);
    [
        (&b"All"[..], SpecialUse::All),
        (b"Archive", SpecialUse::Archive),
        (b"Drafts", SpecialUse::Drafts),
        (b"Flagged", SpecialUse::Flagged),
        (b"Junk", SpecialUse::Junk),
        (b"Sent", SpecialUse::Sent),
        (b"Trash", SpecialUse::Trash),
    ]
    .into_iter()
    .find(|(n, _)| n.eq_ignore_ascii_case(a))
    .map(|(_, s)| s)
}

impl Cx {
    pub(super) fn store_or_err(&self) -> Result<std::rc::Rc<Store>, ExecError> {
        self.store().ok_or_else(|| ExecError::bad("Log in first"))
    }

    pub(super) async fn create(
        &mut self,
        tag: &[u8],
        mailbox: &Mailbox<'_>,
        special_use: &[&[u8]],
    ) -> Result<(), ExecError> {
        let store = self.store_or_err()?;
        let mut name = names::decode(mailbox, self.utf8())?;
        // RFC 9051: a trailing separator declares intent to create children.
        while name.ends_with(names::SEP) {
            name.pop();
        }
        if name.is_empty() {
            return Err(ExecError::no(Some("CANNOT"), "Empty mailbox name"));
        }
        let mut use_ = SpecialUse::None;
        for a in special_use {
            match parse_special_use(a) {
                Some(s) if use_ == SpecialUse::None => use_ = s,
                Some(_) => {
                    return Err(ExecError::no(
                        Some("USEATTR"),
                        "Only one special-use attribute per mailbox",
                    ));
                }
                None => {
                    return Err(ExecError::no(
                        Some("USEATTR"),
                        "Unknown special-use attribute",
                    ));
                }
            }
        }
        if name == "INBOX" {
            return Err(ExecError::no(Some("ALREADYEXISTS"), "INBOX always exists"));
        }
        let id = store.create_mailbox(&name, use_).await?;
        if self.shard.cfg.imap.allows("OBJECTID") {
            // RFC 8474 §4.1: the new mailbox's id in the tagged OK.
            let uidvalidity = store.status(id)?.uidvalidity;
            let mbid = imap_exec::objectid::mailbox_id(uidvalidity, id);
            self.tagged(
                tag,
                RespStatus::Ok,
                Some(&Code::MailboxId(&mbid)),
                "CREATE completed",
            );
        } else {
            self.ok(tag, "CREATE completed");
        }
        Ok(())
    }

    pub(super) async fn delete(
        &mut self,
        tag: &[u8],
        mailbox: &Mailbox<'_>,
    ) -> Result<(), ExecError> {
        let store = self.store_or_err()?;
        let name = names::decode(mailbox, self.utf8())?;
        if store.mailbox_id(&name).is_none() {
            return Err(ExecError::no(Some("NONEXISTENT"), "No such mailbox"));
        }
        store.delete_mailbox(&name).await?;
        if self.selected.as_ref().is_some_and(|s| s.name == name) {
            self.selected = None;
        }
        self.ok(tag, "DELETE completed");
        Ok(())
    }

    pub(super) async fn rename(
        &mut self,
        tag: &[u8],
        from: &Mailbox<'_>,
        to: &Mailbox<'_>,
    ) -> Result<(), ExecError> {
        let store = self.store_or_err()?;
        let from = names::decode(from, self.utf8())?;
        let to = names::decode(to, self.utf8())?;
        if store.mailbox_id(&from).is_none() {
            return Err(ExecError::no(Some("NONEXISTENT"), "No such mailbox"));
        }
        if store.mailbox_id(&to).is_some() {
            return Err(ExecError::no(
                Some("ALREADYEXISTS"),
                "Target mailbox exists",
            ));
        }
        store.rename_mailbox(&from, &to).await?;
        if let Some(sel) = self.selected.as_mut()
            && sel.name == from
        {
            sel.name = to.clone();
        }
        self.ok(tag, "RENAME completed");
        Ok(())
    }

    pub(super) async fn subscribe(
        &mut self,
        tag: &[u8],
        mailbox: &Mailbox<'_>,
        on: bool,
    ) -> Result<(), ExecError> {
        let store = self.store_or_err()?;
        let name = names::decode(mailbox, self.utf8())?;
        if on && store.mailbox_id(&name).is_none() {
            return Err(ExecError::no(Some("NONEXISTENT"), "No such mailbox"));
        }
        store.subscribe(&name, on).await?;
        self.ok(
            tag,
            if on {
                "SUBSCRIBE completed"
            } else {
                "UNSUBSCRIBE completed"
            },
        );
        Ok(())
    }

    pub(super) fn list(&mut self, tag: &[u8], cmd: &ListCommand<'_>) -> Result<(), ExecError> {
        let store = self.store_or_err()?;
        let utf8 = self.utf8();
        let select = cmd.select.unwrap_or_default();
        let ret = cmd.returns.unwrap_or_default();
        if let Some(items) = ret.status {
            // Refused before any LIST line is written.
            self.status_items_allowed(items)?;
        }
        let meta = match &cmd.metadata {
            Some(m) => Some((self.list_metadata_names(m)?, m.max_size)),
            None => None,
        };
        // `LIST "" ""`: the hierarchy delimiter and root.
        if cmd.patterns.len() == 1 && cmd.patterns[0].is_empty() && cmd.select.is_none() {
            encode::list(
                &mut self.conn.wbuf,
                ListKind::List,
                &["\\Noselect"],
                Some(names::SEP),
                "",
                utf8,
                &ListExtended::default(),
            );
            self.ok(tag, "LIST completed");
            return Ok(());
        }
        let patterns = cmd
            .patterns
            .iter()
            .map(|p| names::pattern(&cmd.reference, p, utf8))
            .collect::<Result<Vec<_>, _>>()?;
        let all = store.list();
        let subs = store.subscriptions();
        let matching = |n: &str| patterns.iter().any(|p| names::matches(p, n));
        let mut lines: Vec<(String, Vec<&'static str>, bool, Option<&MailboxInfo>)> = Vec::new();
        for mb in &all {
            let matched = matching(&mb.name);
            let mut childinfo = false;
            if select.subscribed && !mb.subscribed {
                // RECURSIVEMATCH: a parent of a subscribed mailbox is listed
                // with CHILDINFO even if it is not subscribed itself.
                let prefix = format!("{}/", mb.name);
                let sub_child = subs.iter().any(|s| s.starts_with(&prefix));
                if !(select.recursive_match && matched && sub_child) {
                    continue;
                }
                childinfo = true;
            }
            if select.special_use && mb.special_use == SpecialUse::None {
                continue;
            }
            if !matched {
                continue;
            }
            let mut attrs: Vec<&'static str> = Vec::new();
            if childinfo {
                attrs.push("\\NonExistent");
            }
            attrs.push(if mb.has_children {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            });
            if let Some(a) = special_use_attr(mb.special_use) {
                attrs.push(a);
            }
            if (select.subscribed || ret.subscribed) && mb.subscribed {
                attrs.push("\\Subscribed");
            }
            lines.push((mb.name.clone(), attrs, childinfo, Some(mb)));
        }
        if select.subscribed {
            // Subscriptions of mailboxes that no longer exist.
            for s in &subs {
                if all.iter().any(|m| &m.name == s) || !matching(s) {
                    continue;
                }
                lines.push((
                    s.clone(),
                    vec!["\\NonExistent", "\\Subscribed"],
                    false,
                    None,
                ));
            }
        }
        let mut longest = 0;
        for (name, attrs, childinfo, mb) in &lines {
            let ext = ListExtended {
                childinfo_subscribed: *childinfo,
                old_name: None,
            };
            encode::list(
                &mut self.conn.wbuf,
                ListKind::List,
                attrs,
                Some(names::SEP),
                name,
                utf8,
                &ext,
            );
            if let (Some(items), Some(mb)) = (ret.status, mb)
                && !*childinfo
            {
                self.write_status(&store, mb.id, name, items)?;
            }
            if let (Some((entries, max_size)), Some(mb)) = (&meta, mb)
                && !*childinfo
            {
                longest = longest.max(self.list_metadata_of(mb.id, name, entries, *max_size)?);
            }
        }
        // RFC 9590 §3: values over MAXSIZE are reported as GETMETADATA does.
        let code = (longest > 0).then(|| format!("METADATA LONGENTRIES {longest}"));
        let code = code.as_deref().map(encode::Code::Other);
        self.tagged(tag, encode::RespStatus::Ok, code.as_ref(), "LIST completed");
        Ok(())
    }

    pub(super) fn lsub(
        &mut self,
        tag: &[u8],
        reference: &Mailbox<'_>,
        pat: &AString<'_>,
    ) -> Result<(), ExecError> {
        let store = self.store_or_err()?;
        let utf8 = self.utf8();
        let pattern = names::pattern(reference, pat, utf8)?;
        let all = store.list();
        for s in store.subscriptions() {
            if !names::matches(&pattern, &s) {
                continue;
            }
            let exists = all.iter().any(|m| m.name == s);
            let attrs: &[&str] = if exists { &[] } else { &["\\Noselect"] };
            encode::list(
                &mut self.conn.wbuf,
                ListKind::Lsub,
                attrs,
                Some(names::SEP),
                &s,
                utf8,
                &ListExtended::default(),
            );
        }
        self.ok(tag, "LSUB completed");
        Ok(())
    }

    pub(super) fn status(
        &mut self,
        tag: &[u8],
        mailbox: &Mailbox<'_>,
        items: StatusItems,
    ) -> Result<(), ExecError> {
        self.status_items_allowed(items)?;
        let store = self.store_or_err()?;
        let name = names::decode(mailbox, self.utf8())?;
        let id = store
            .mailbox_id(&name)
            .ok_or_else(|| ExecError::no(Some("NONEXISTENT"), "No such mailbox"))?;
        self.write_status(&store, id, &name, items)?;
        self.ok(tag, "STATUS completed");
        Ok(())
    }

    /// Messages no session has been told of as \Recent yet.
    fn recent_count(&self, store: &Store, id: store::MailboxId) -> Result<u64, ExecError> {
        let boundary = self
            .user
            .as_ref()
            .and_then(|u| u.sref.recent.borrow().get(&id).copied());
        let Some(b) = boundary else {
            return Ok(0);
        };
        let snap = store.snapshot(id)?;
        Ok(snap.messages.iter().filter(|m| m.uid > b).count() as u64)
    }

    /// MAILBOXID is a STATUS item only with OBJECTID on.
    fn status_items_allowed(&self, items: StatusItems) -> Result<(), ExecError> {
        if items.contains(StatusItem::MailboxId) && !self.shard.cfg.imap.allows("OBJECTID") {
            return Err(ExecError::bad("OBJECTID is not enabled on this server"));
        }
        Ok(())
    }

    fn write_status(
        &mut self,
        store: &Store,
        id: store::MailboxId,
        name: &str,
        items: StatusItems,
    ) -> Result<(), ExecError> {
        let st = store.status(id)?;
        let mbid = imap_exec::objectid::mailbox_id(st.uidvalidity, id);
        let mut values: Vec<StatusValue<'_>> = Vec::new();
        for item in items.iter() {
            let v = match item {
                StatusItem::Messages => u64::from(st.messages),
                StatusItem::UidNext => u64::from(st.uidnext),
                StatusItem::UidValidity => u64::from(st.uidvalidity),
                StatusItem::Unseen => u64::from(st.unseen),
                StatusItem::Deleted => u64::from(st.deleted),
                StatusItem::Size => st.size,
                StatusItem::Recent => self.recent_count(store, id)?,
                StatusItem::AppendLimit => self.shard.cfg.limits.max_literal_size,
                StatusItem::HighestModSeq => {
                    // A CONDSTORE-enabling command (RFC 7162 §3.1).
                    self.enable_condstore()?;
                    st.highest_modseq
                }
                StatusItem::DeletedStorage => {
                    // RFC 9208 §4.2: the storage \Deleted messages hold, in KiB.
                    let snap = store.snapshot(id)?;
                    let bytes: u64 = snap
                        .messages
                        .iter()
                        .filter(|m| m.flags.contains(store::Flags::DELETED))
                        .map(|m| u64::from(m.size))
                        .sum();
                    bytes.div_ceil(1024)
                }
                StatusItem::MailboxId => {
                    values.push(StatusValue::MailboxId(&mbid));
                    continue;
                }
            };
            values.push(StatusValue::Number(item, v));
        }
        let utf8 = self.utf8();
        encode::status(&mut self.conn.wbuf, name, utf8, &values);
        Ok(())
    }
}
