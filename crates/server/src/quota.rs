//! Per-user quotas (RFC 9208's STORAGE and MESSAGE resources) over the
//! whole account, one quota root `""`: limits from `[quota]`, overridden
//! per user by the passwd-file fields `quota_storage_kib=` and
//! `quota_messages=` (0 = no limit). Usage is what the store holds: the sum
//! of RFC822.SIZE over every message (in KiB, rounded up) and their count.

use crate::users::UserDb;
use store::Store;

pub const STORAGE_FIELD: &str = "quota_storage_kib";
pub const MESSAGES_FIELD: &str = "quota_messages";

/// A user's limits; `None` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    pub storage_kib: Option<u64>,
    pub messages: Option<u64>,
}

impl Limits {
    pub fn any(&self) -> bool {
        self.storage_kib.is_some() || self.messages.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub bytes: u64,
    pub messages: u64,
}

impl Usage {
    pub fn storage_kib(&self) -> u64 {
        self.bytes.div_ceil(1024)
    }
}

fn positive(v: u64) -> Option<u64> {
    (v > 0).then_some(v)
}

pub fn limits_for(cfg: &crate::config::QuotaSettings, users: &UserDb, user: &str) -> Limits {
    let db = users.load();
    let entry = db.get(user);
    let field = |name: &str, default: u64| -> Option<u64> {
        match entry.and_then(|e| e.extra(name)).map(str::parse::<u64>) {
            Some(Ok(v)) => positive(v),
            // An unreadable value must not lift the limit.
            Some(Err(_)) | None => positive(default),
        }
    };
    Limits {
        storage_kib: field(STORAGE_FIELD, cfg.storage_kib),
        messages: field(MESSAGES_FIELD, cfg.messages),
    }
}

/// Everything in the store, all mailboxes (visible messages only).
pub fn usage(store: &Store) -> Result<Usage, store::StoreError> {
    let mut u = Usage::default();
    for mb in store.list() {
        let st = store.status(mb.id)?;
        u.bytes += st.size;
        u.messages += u64::from(st.messages);
    }
    Ok(u)
}

/// Whether adding `messages` messages of `bytes` bytes stays within
/// `limits` (RFC 9208 §4: the operation must fit whole).
pub fn fits(limits: &Limits, now: &Usage, messages: u64, bytes: u64) -> bool {
    let after = Usage {
        bytes: now.bytes.saturating_add(bytes),
        messages: now.messages.saturating_add(messages),
    };
    limits.storage_kib.is_none_or(|l| after.storage_kib() <= l)
        && limits.messages.is_none_or(|l| after.messages <= l)
}

/// The `(name usage limit)` triples of a QUOTA response.
pub fn resources(limits: &Limits, now: &Usage) -> Vec<(&'static str, u64, u64)> {
    let mut r = Vec::new();
    if let Some(l) = limits.storage_kib {
        r.push(("STORAGE", now.storage_kib(), l));
    }
    if let Some(l) = limits.messages {
        r.push(("MESSAGE", now.messages, l));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_fits_whole_or_not_at_all() {
        let l = Limits {
            storage_kib: Some(10),
            messages: Some(3),
        };
        let now = Usage {
            bytes: 9 * 1024,
            messages: 2,
        };
        assert!(fits(&l, &now, 1, 1024));
        assert!(!fits(&l, &now, 1, 1025)); // 10 KiB + 1 byte rounds up to 11
        assert!(!fits(&l, &now, 2, 10));
        assert!(fits(&Limits::default(), &now, 1_000_000, u64::MAX));
        assert_eq!(
            resources(&l, &now),
            vec![("STORAGE", 9, 10), ("MESSAGE", 2, 3)]
        );
        assert!(resources(&Limits::default(), &now).is_empty());
    }
}
