//! Where an import writes: the user's store opened here (no server runs on
//! the data directory), or the running server's copy of it through the
//! admin socket (`server::admin`). Both give the same operations and the
//! same kinds of refusal, so the import itself does not care which.

use server::admin::{MailboxState, Refusal, WireError, client::Client};
use std::cell::RefCell;
use store::{MailboxId, NewMessage, SpecialUse, Store, StoreError};

pub enum Target {
    Local(Store),
    /// `None` while a request is in flight (requests are sequential).
    Live(RefCell<Option<Client>>),
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Wire(#[from] WireError),
}

impl TargetError {
    /// What the import does about it (see `Refusal`).
    pub fn refusal(&self) -> Refusal {
        match self {
            TargetError::Store(e) => Refusal::of(e),
            TargetError::Wire(WireError::Refused(r)) => r.clone(),
            TargetError::Wire(e) => Refusal::Failed(e.to_string()),
        }
    }
}

type R<T> = Result<T, TargetError>;

impl Target {
    fn client(&self) -> R<Client> {
        match self {
            Target::Live(c) => {
                c.borrow_mut()
                    .take()
                    .ok_or(TargetError::Wire(WireError::Malformed(
                        "request already in flight",
                    )))
            }
            Target::Local(_) => Err(TargetError::Wire(WireError::Malformed("not live"))),
        }
    }

    fn give_back(&self, c: Client) {
        if let Target::Live(slot) = self {
            *slot.borrow_mut() = Some(c);
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self, Target::Live(_))
    }

    pub async fn state(&self, name: &str) -> R<Option<MailboxState>> {
        if let Target::Local(s) = self {
            return Ok(MailboxState::of(s, name)?);
        }
        let mut c = self.client()?;
        let r = c.state(name).await;
        self.give_back(c);
        Ok(r?)
    }

    pub async fn import_mailbox(
        &self,
        name: &str,
        uidvalidity: u32,
        su: SpecialUse,
    ) -> R<MailboxId> {
        if let Target::Local(s) = self {
            return Ok(s.import_mailbox(name, uidvalidity, su).await?);
        }
        let mut c = self.client()?;
        let r = c.import_mailbox(name, uidvalidity, su).await;
        self.give_back(c);
        Ok(r?)
    }

    pub async fn import_append(
        &self,
        id: MailboxId,
        uids: &[u32],
        msgs: &[NewMessage<'_>],
    ) -> R<()> {
        if let Target::Local(s) = self {
            return Ok(s.import_append(id, uids, msgs).await?);
        }
        let mut c = self.client()?;
        let r = c.import_append(id, uids, msgs).await;
        self.give_back(c);
        Ok(r?)
    }

    /// Appends under new UIDs (the source's are taken).
    pub async fn append(&self, id: MailboxId, msgs: &[NewMessage<'_>]) -> R<Vec<u32>> {
        if let Target::Local(s) = self {
            return Ok(s.append(id, msgs).await?);
        }
        let mut c = self.client()?;
        let r = c.append(id, msgs).await;
        self.give_back(c);
        Ok(r?)
    }

    pub async fn raise_uidnext(&self, id: MailboxId, uidnext: u32) -> R<()> {
        if let Target::Local(s) = self {
            return Ok(s.raise_uidnext(id, uidnext).await?);
        }
        let mut c = self.client()?;
        let r = c.raise_uidnext(id, uidnext).await;
        self.give_back(c);
        Ok(r?)
    }

    pub async fn subscribe(&self, name: &str, on: bool) -> R<()> {
        if let Target::Local(s) = self {
            return Ok(s.subscribe(name, on).await?);
        }
        let mut c = self.client()?;
        let r = c.subscribe(name, on).await;
        self.give_back(c);
        Ok(r?)
    }

    /// Closes a local store (a checkpoint, the lock released); a live one
    /// stays with the server.
    pub async fn close(&self) -> R<()> {
        match self {
            Target::Local(s) => Ok(s.close().await?),
            Target::Live(_) => Ok(()),
        }
    }
}
