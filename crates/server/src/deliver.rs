//! Delivering a message into a user's store from any shard: the message goes
//! to the user's home shard (the only one that opens that store) as one
//! cross-shard message, is appended there, and the answer comes back once the
//! append is durable. Used by LMTP (and anything else that delivers mail).

use crate::shard::{Shard, ShardMsg};
use futures_channel::oneshot;
use std::rc::Rc;
use std::sync::Arc;
use store::{Flags, NewMessage, StoreError};

/// Why a delivery did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The message is larger than the store accepts.
    #[error("message too large")]
    TooBig,
    /// A limit of the user's store (mailboxes, keywords) was reached.
    #[error("limit reached: {0}")]
    Limit(String),
    /// The message would take the user over their quota.
    #[error("over quota")]
    OverQuota,
    /// The store could not take it now (I/O error, shutting down); the MTA
    /// should retry later.
    #[error("temporary failure: {0}")]
    Temporary(String),
}

impl DeliveryError {
    fn from_store(e: StoreError) -> DeliveryError {
        match e {
            StoreError::TooBig { .. } => DeliveryError::TooBig,
            StoreError::Limit(what) => DeliveryError::Limit(what.to_string()),
            other => DeliveryError::Temporary(other.to_string()),
        }
    }
}

/// A message for one user, as it crosses shards.
pub struct Delivery {
    /// Canonical (case-folded) user name.
    pub user: String,
    /// Target mailbox; created if missing. INBOX when in doubt.
    pub mailbox: String,
    /// The complete message as it will be stored (headers added by the
    /// delivering protocol already in place).
    pub raw: Arc<Vec<u8>>,
    /// Unix seconds of arrival (INTERNALDATE).
    pub internal_date: i64,
    pub reply: oneshot::Sender<Result<u32, DeliveryError>>,
}

/// Delivers on the user's home shard and waits for the durable result (the
/// new message's UID).
pub async fn deliver(
    shard: &Rc<Shard>,
    user: &str,
    mailbox: &str,
    raw: Arc<Vec<u8>>,
    internal_date: i64,
) -> Result<u32, DeliveryError> {
    let home = shard.home_of(user);
    if home == shard.id {
        return deliver_here(shard, user, mailbox, &raw, internal_date).await;
    }
    let (tx, rx) = oneshot::channel();
    let d = Delivery {
        user: user.to_string(),
        mailbox: mailbox.to_string(),
        raw,
        internal_date,
        reply: tx,
    };
    if !shard.send_to(home, ShardMsg::Deliver(Box::new(d))).await {
        return Err(DeliveryError::Temporary("home shard unavailable".into()));
    }
    rx.await.unwrap_or_else(|_| {
        Err(DeliveryError::Temporary(
            "home shard dropped the delivery".into(),
        ))
    })
}

/// Runs on the home shard for a delivery that came from another shard.
pub async fn handle(shard: Rc<Shard>, d: Delivery) {
    let r = deliver_here(&shard, &d.user, &d.mailbox, &d.raw, d.internal_date).await;
    // The sender may have gone (connection closed); nothing to do then.
    let _ = d.reply.send(r);
}

async fn deliver_here(
    shard: &Rc<Shard>,
    user: &str,
    mailbox: &str,
    raw: &[u8],
    internal_date: i64,
) -> Result<u32, DeliveryError> {
    let sref = shard
        .stores
        .acquire(user)
        .await
        .map_err(DeliveryError::from_store)?;
    let store = &sref.store;
    let id = match store.mailbox_id(mailbox) {
        Some(id) => id,
        None if mailbox.eq_ignore_ascii_case(store::INBOX) => {
            return Err(DeliveryError::Temporary("INBOX is missing".into()));
        }
        None => match store.create_mailbox(mailbox, store::SpecialUse::None).await {
            Ok(id) => id,
            Err(StoreError::MailboxExists(_)) => store
                .mailbox_id(mailbox)
                .ok_or_else(|| DeliveryError::Temporary("mailbox vanished".into()))?,
            Err(e) => return Err(DeliveryError::from_store(e)),
        },
    };
    let raw = crlf_normalized(raw);
    let limits = crate::quota::limits_for(&shard.cfg.quota, &shard.users, user);
    if limits.any() {
        let now = crate::quota::usage(store).map_err(DeliveryError::from_store)?;
        if !crate::quota::fits(&limits, &now, 1, raw.len() as u64) {
            return Err(DeliveryError::OverQuota);
        }
    }
    let msg = NewMessage {
        raw: &raw,
        flags: Flags::empty(),
        keywords: Vec::new(),
        internal_date,
    };
    let uids = store
        .append(id, std::slice::from_ref(&msg))
        .await
        .map_err(DeliveryError::from_store)?;
    uids.first()
        .copied()
        .ok_or_else(|| DeliveryError::Temporary("append returned no UID".into()))
}

/// A message with every bare LF turned into CRLF; borrowed when it has none.
///
/// IMAP and POP3 present messages with CRLF line ends (RFC 9051 §2.2,
/// RFC 1939 §3) and their sizes count them; Dovecot converts on output.
/// Storing the CRLF form instead makes RFC822.SIZE, POP3 LIST/STAT and the
/// bytes sent agree with no per-read conversion.
pub fn crlf_normalized(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let bare = memchr::memchr_iter(b'\n', raw).any(|i| i == 0 || raw[i - 1] != b'\r');
    if !bare {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    let mut prev = 0u8;
    for &b in raw {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::crlf_normalized;
    use std::borrow::Cow;

    #[test]
    fn bare_lf_becomes_crlf_and_crlf_stays() {
        assert!(matches!(crlf_normalized(b"a\r\nb\r\n"), Cow::Borrowed(_)));
        assert_eq!(
            &*crlf_normalized(b"Subject: x\n\nbody\n"),
            b"Subject: x\r\n\r\nbody\r\n"
        );
        assert_eq!(&*crlf_normalized(b"\n"), b"\r\n");
        assert_eq!(&*crlf_normalized(b"a\r\nb\nc"), b"a\r\nb\r\nc");
        // A lone CR is left alone: only line feeds define lines here.
        assert_eq!(&*crlf_normalized(b"a\rb"), b"a\rb");
        assert!(matches!(crlf_normalized(b""), Cow::Borrowed(_)));
    }
}
