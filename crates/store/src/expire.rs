//! Retention's part in the store: expunging what was saved into a mailbox
//! before a moment, through the ordinary expunge (one record, a new
//! MODSEQ, expunge history for QRESYNC, sessions told by their next sync).

use crate::error::{Result, StoreError};
use crate::record::NO_SAVE_DATE;
use crate::store::Store;
use crate::types::*;

impl Store {
    /// Expunge the visible messages of `id` saved before `cutoff` (Unix
    /// seconds). Messages without a save date (stored before save dates
    /// were kept) are never expired: their age is unknown, and guessing it
    /// from the internal date would delete mail just moved there.
    /// Returns the expunged UIDs.
    pub async fn expunge_saved_before(&self, id: MailboxId, cutoff: i64) -> Result<Vec<u32>> {
        let uids: Vec<u32> = {
            let st = self.state()?;
            let mb = st
                .ix
                .mailboxes
                .get(&id)
                .ok_or_else(|| StoreError::NoSuchMailbox(id.to_string()))?;
            let m = &mb.msgs;
            (0..mb.visible_len())
                .filter(|i| m.save_date[*i] != NO_SAVE_DATE && m.save_date[*i] < cutoff)
                .map(|i| m.uid[i])
                .collect()
        };
        if uids.is_empty() {
            return Ok(uids);
        }
        let ranges = crate::index::uid_ranges(uids.into_iter());
        self.expunge(id, Some(&ranges), ExpungeMode::Exact).await
    }
}
