//! Retention (`[retention]`): messages saved into a `\Trash` or `\Junk`
//! mailbox longer ago than the configured days are expunged, lazily when
//! the mailbox is selected and by a sweep of every open store on each
//! shard. Age is the save date (RFC 8514): mail moved to Trash today stays
//! its full term however old its internal date is. The expunges go through
//! the store's ordinary expunge, so open sessions get EXPUNGE or VANISHED
//! and the MODSEQ history stays exact.

use std::rc::Rc;
use std::time::Duration;

use store::{MailboxId, SpecialUse, Store, StoreError};

use crate::config::RetentionSettings;
use crate::shard::Shard;

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Expire one mailbox by the policy of its special use. Returns how many
/// messages went.
pub async fn expire_mailbox(
    cfg: &RetentionSettings,
    metrics: &crate::metrics::ShardMetrics,
    store: &Store,
    id: MailboxId,
    special_use: SpecialUse,
) -> Result<usize, StoreError> {
    let Some(max_age) = cfg.max_age_secs(special_use) else {
        return Ok(0);
    };
    let gone = store
        .expunge_saved_before(id, now_unix().saturating_sub(max_age))
        .await?;
    if !gone.is_empty() {
        metrics.retention_expunged(gone.len() as u64);
        tracing::info!(mailbox = id, messages = gone.len(), "retention expunged");
    }
    Ok(gone.len())
}

/// The lazy half: before SELECT/EXAMINE of `id`.
pub async fn expire_one(shard: &Shard, store: &Store, id: MailboxId) -> Result<usize, StoreError> {
    let cfg = &shard.cfg.retention;
    if cfg.trash_days <= 0.0 && cfg.junk_days <= 0.0 {
        return Ok(0);
    }
    let Some(info) = store.list().into_iter().find(|m| m.id == id) else {
        return Ok(0);
    };
    expire_mailbox(cfg, &shard.metrics, store, id, info.special_use).await
}

/// Expire every mailbox with a policy in one store.
async fn expire_store(shard: &Shard, store: &Store) -> Result<usize, StoreError> {
    let mut n = 0;
    for mb in store.list() {
        n += expire_mailbox(
            &shard.cfg.retention,
            &shard.metrics,
            store,
            mb.id,
            mb.special_use,
        )
        .await?;
    }
    Ok(n)
}

/// The background half: every `sweep_interval_secs`, the stores open on
/// this shard (a closed store is expired when its mailboxes are next
/// selected). Runs until the shard stops; glommio timers only.
pub async fn sweep(shard: Rc<Shard>) {
    let cfg = &shard.cfg.retention;
    if cfg.trash_days <= 0.0 && cfg.junk_days <= 0.0 {
        return;
    }
    let every = Duration::from_secs(cfg.sweep_interval_secs.max(1));
    loop {
        if shard.stop.sleep_or_stopped(every).await {
            return;
        }
        for (user, store) in shard.stores.open_stores() {
            if let Err(e) = expire_store(&shard, &store).await {
                // A closed or poisoned store is skipped; the next sweep or
                // SELECT tries again.
                tracing::debug!(user, error = %e, "retention sweep skipped a store");
            }
        }
    }
}
