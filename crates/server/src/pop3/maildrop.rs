//! The POP3 maildrop of a session: the messages of the configured mailboxes
//! as they were at login, numbered from 1, with the deletion marks that are
//! carried out when the session ends with QUIT (RFC 1939 §6).

use crate::config::Pop3Settings;
use crate::users::{Pop3Lock, StoreRef};
use store::{ExpungeMode, FlagOp, Flags, MailboxId, StoreError};

pub(super) struct Message {
    pub mailbox: MailboxId,
    pub uidvalidity: u32,
    pub uid: u32,
    pub size: u64,
    pub internal_date: i64,
    pub deleted: bool,
}

pub(super) struct Maildrop {
    pub sref: StoreRef,
    _lock: Pop3Lock,
    pub msgs: Vec<Message>,
}

impl Maildrop {
    /// Takes the maildrop lock and lists the messages. None when another
    /// POP3 session of the user holds the lock.
    pub fn open(sref: StoreRef, settings: &Pop3Settings) -> Result<Option<Maildrop>, StoreError> {
        let Some(lock) = sref.try_lock_pop3() else {
            return Ok(None);
        };
        let store = &sref.store;
        let mut msgs = Vec::new();
        for name in &settings.maildrop {
            let Some(id) = store.mailbox_id(name) else {
                continue;
            };
            let snap = store.snapshot(id)?;
            msgs.extend(snap.messages.iter().map(|m| Message {
                mailbox: id,
                uidvalidity: snap.uidvalidity,
                uid: m.uid,
                size: u64::from(m.size),
                internal_date: m.internal_date,
                deleted: false,
            }));
        }
        Ok(Some(Maildrop {
            sref,
            _lock: lock,
            msgs,
        }))
    }

    /// The message numbered `n`, unless it does not exist or is marked.
    pub fn get(&self, n: u32) -> Option<&Message> {
        let i = (n as usize).checked_sub(1)?;
        self.msgs.get(i).filter(|m| !m.deleted)
    }

    pub fn mark(&mut self, n: u32) -> bool {
        let Some(i) = (n as usize).checked_sub(1) else {
            return false;
        };
        match self.msgs.get_mut(i) {
            Some(m) if !m.deleted => {
                m.deleted = true;
                true
            }
            _ => false,
        }
    }

    pub fn unmark_all(&mut self) {
        for m in &mut self.msgs {
            m.deleted = false;
        }
    }

    /// (count, octets) of the messages not marked.
    pub fn stat(&self) -> (u64, u64) {
        self.msgs
            .iter()
            .filter(|m| !m.deleted)
            .fold((0, 0), |(c, s), m| (c + 1, s + m.size))
    }

    /// The UIDL of a message: its UID and its mailbox's UIDVALIDITY in the
    /// configured format (Dovecot's `%08Xu%08Xv` by default), so it never
    /// changes for the message and a migrated maildrop keeps its UIDLs.
    pub fn uidl(m: &Message, format: &str) -> String {
        // The format was checked when the configuration was loaded.
        super::uidl::render(format, m.uid, m.uidvalidity).unwrap_or_default()
    }

    pub async fn mark_seen(&self, m: &Message) -> Result<(), StoreError> {
        let r = [(m.uid, m.uid)];
        self.sref
            .store
            .store_flags(m.mailbox, &r, FlagOp::Add, Flags::SEEN, &[], None)
            .await
            .map(|_| ())
    }

    /// The UPDATE state: removes the marked messages (when the policy lets
    /// DELE delete) and those past `delete_after_days`. Returns how many
    /// were removed.
    pub async fn update(&self, settings: &Pop3Settings, now: i64) -> Result<usize, StoreError> {
        let cutoff = (settings.delete_after_days > 0)
            .then(|| now - i64::from(settings.delete_after_days) * 86_400);
        let mut by_mailbox: std::collections::BTreeMap<MailboxId, Vec<u32>> = Default::default();
        for m in &self.msgs {
            let expired = cutoff.is_some_and(|c| m.internal_date < c);
            if (m.deleted && settings.delete) || expired {
                by_mailbox.entry(m.mailbox).or_default().push(m.uid);
            }
        }
        let mut removed = 0;
        for (id, uids) in by_mailbox {
            let ranges = imap_exec::view::compress(uids);
            removed += self
                .sref
                .store
                .expunge(id, Some(&ranges), ExpungeMode::Exact)
                .await?
                .len();
        }
        Ok(removed)
    }
}
