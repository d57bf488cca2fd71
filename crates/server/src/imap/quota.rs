//! QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT, SETQUOTA (refused: limits are
//! the administrator's), and the check APPEND and COPY make first.

use super::names;
use super::session::Cx;
use crate::quota::{Limits, fits, limits_for, resources, usage};
use imap_exec::ExecError;
use imap_proto::encode;
use imap_proto::{AString, Mailbox};

/// The one quota root: the whole account.
const ROOT: &str = "";

impl Cx {
    /// The logged-in user's limits (none when not logged in).
    pub(super) fn quota_limits(&self) -> Limits {
        match &self.user {
            Some(u) => limits_for(&self.shard.cfg.quota, &self.shard.users, &u.name),
            None => Limits::default(),
        }
    }

    fn quota_on(&self) -> Result<Limits, ExecError> {
        let l = self.quota_limits();
        if !l.any() {
            return Err(ExecError::bad("QUOTA is not enabled for this account"));
        }
        Ok(l)
    }

    /// Refuses an operation that would add `messages` messages of `bytes`
    /// bytes beyond the user's quota.
    pub(super) fn check_quota(&self, messages: u64, bytes: u64) -> Result<(), ExecError> {
        let l = self.quota_limits();
        if !l.any() {
            return Ok(());
        }
        let store = self.store_or_err()?;
        if fits(&l, &usage(&store)?, messages, bytes) {
            Ok(())
        } else {
            Err(ExecError::no(Some("OVERQUOTA"), "Quota exceeded"))
        }
    }

    pub(super) fn get_quota(&mut self, root: &AString<'_>) -> Result<(), ExecError> {
        let l = self.quota_on()?;
        if !root.is_empty() {
            return Err(ExecError::no(Some("NONEXISTENT"), "No such quota root"));
        }
        let store = self.store_or_err()?;
        let now = usage(&store)?;
        encode::quota(&mut self.conn.wbuf, ROOT, &resources(&l, &now));
        Ok(())
    }

    pub(super) fn get_quota_root(&mut self, mailbox: &Mailbox<'_>) -> Result<(), ExecError> {
        let l = self.quota_on()?;
        let store = self.store_or_err()?;
        let name = names::decode(mailbox, self.utf8())?;
        if store.mailbox_id(&name).is_none() {
            return Err(ExecError::no(Some("NONEXISTENT"), "No such mailbox"));
        }
        let now = usage(&store)?;
        let utf8 = self.utf8();
        encode::quota_root(&mut self.conn.wbuf, &name, utf8, &[ROOT]);
        encode::quota(&mut self.conn.wbuf, ROOT, &resources(&l, &now));
        Ok(())
    }

    pub(super) fn set_quota(&mut self) -> Result<(), ExecError> {
        self.quota_on()?;
        Err(ExecError::no(
            Some("NOPERM"),
            "Quotas are set by the administrator (postcore user quota)",
        ))
    }
}
