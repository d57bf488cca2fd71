//! Imports that keep another server's identity of messages: a mailbox's
//! UIDVALIDITY, each message's UID and the mailbox's UIDNEXT, so clients
//! that cached the old server's state keep their caches.

use crate::error::{Result, StoreError};
use crate::record::{Encoder, Record};
use crate::store::Store;
use crate::types::*;

impl Store {
    /// The mailbox `name`, ready to receive an import under `uidvalidity`.
    /// Created with it when missing. An existing mailbox that never held a
    /// message (INBOX and the default folders of a new store) is recreated
    /// with it; one that already has this UIDVALIDITY is returned as it is,
    /// so a resumed import goes on from its UIDNEXT. Anything else is an
    /// [`StoreError::ImportConflict`]: the old UIDs would clash with ours.
    pub async fn import_mailbox(
        &self,
        name: &str,
        uidvalidity: u32,
        special_use: SpecialUse,
    ) -> Result<MailboxId> {
        if uidvalidity == 0 {
            return Err(StoreError::ImportConflict("UIDVALIDITY 0".into()));
        }
        let name = self.normalized(name)?;
        let (t, id) = {
            let mut st = self.state()?;
            let existing = st
                .ix
                .by_name
                .get(&name)
                .and_then(|id| st.ix.mailboxes.get(id).map(|m| (*id, m)));
            match existing {
                Some((id, mb)) if mb.uidvalidity == uidvalidity => return Ok(id),
                Some((_, mb)) if mb.uidnext > 1 => {
                    return Err(StoreError::ImportConflict(format!(
                        "{} already holds messages under UIDVALIDITY {} (importing {uidvalidity})",
                        mb.name, mb.uidvalidity
                    )));
                }
                Some((_, mb)) => {
                    let keep_use = SpecialUse::from_u8(mb.special_use);
                    let rec = Record::Create {
                        id: st.ix.next_mailbox_id,
                        uidvalidity,
                        special_use: if special_use == SpecialUse::None {
                            keep_use
                        } else {
                            special_use
                        }
                        .to_u8(),
                        name: mb.name.clone(),
                    };
                    let id = st.ix.next_mailbox_id;
                    (self.submit(&mut st, &rec, true), id)
                }
                None => {
                    let mut recs = Vec::new();
                    let id = self.create_records(&mut st, &name, special_use, &mut recs)?;
                    if let Some(Record::Create { uidvalidity: u, .. }) = recs.last_mut() {
                        *u = uidvalidity;
                    }
                    let rec = Record::all_of(recs);
                    (self.submit(&mut st, &rec, true), id)
                }
            }
        };
        self.finish(t, true).await?;
        Ok(id)
    }

    /// Append messages under the UIDs they had (strictly ascending, none
    /// below the mailbox's UIDNEXT), atomically, durable on return.
    pub async fn import_append(
        &self,
        id: MailboxId,
        uids: &[u32],
        msgs: &[NewMessage<'_>],
    ) -> Result<()> {
        self.append_with_uids(id, msgs, Some(uids)).await?;
        Ok(())
    }

    /// Raise the mailbox's UIDNEXT to `uidnext` (the old server's, which is
    /// above its last message when the newest ones were expunged), so no UID
    /// a client saw there is ever given to another message. Recorded as an
    /// expunge of the gap, which is what happened to those UIDs.
    pub async fn raise_uidnext(&self, id: MailboxId, uidnext: u32) -> Result<()> {
        let t = {
            let mut st = self.state()?;
            let mb = st
                .ix
                .mailboxes
                .get(&id)
                .ok_or_else(|| StoreError::NoSuchMailbox(id.to_string()))?;
            if uidnext <= mb.uidnext {
                return Ok(());
            }
            let rec = Record::Expunge {
                mailbox: id,
                modseq: mb.highest_modseq + 1,
                ranges: vec![(mb.uidnext, uidnext - 1)],
            };
            // Like an append, the raise becomes visible (STATUS UIDNEXT)
            // once its record is synced, not only after a reopen.
            let mut e = Encoder::new();
            e.record(&rec);
            let (t, seg, _) = self.enqueue(&mut st, e.buf, true, Some((id, uidnext)));
            st.ix.apply(&rec, seg);
            t
        };
        self.finish(t, true).await
    }
}
