//! Which user (and mailbox) an RCPT TO address delivers to.
//!
//! The local part is unquoted and split at the first of the configured
//! `detail_delimiters` (`alice+lists` is user `alice`, detail `lists`).
//! Then these names are looked up in the user database, first match wins
//! (names are case-folded as everywhere in postcore):
//!
//! 1. `user@domain`, when the address has a domain: for databases keyed by
//!    full addresses;
//! 2. `user` alone: for databases of bare names (the domain is whatever the
//!    MTA routed to us);
//! 3. only when a detail was split off, the same two with the local part
//!    unsplit, so a user whose name really contains the delimiter is found.
//!
//! The detail picks the mailbox when `detail_to_mailbox` is on and it is a
//! name the store can hold without hierarchy; otherwise (and with no
//! detail) the message goes to INBOX.

use crate::config::LmtpSettings;
use auth::passwd_file::PasswdFile;
use auth::username::Username;
use pop3_proto::lmtp::Mailbox;

/// Longest detail taken as a mailbox name.
const MAX_DETAIL_MAILBOX: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Resolved {
    /// Canonical user name (the store's key).
    pub user: String,
    pub mailbox: String,
}

fn found(db: &PasswdFile, name: &str) -> Option<String> {
    let folded = Username::new(name).ok()?.into_string();
    db.get(&folded).map(|_| folded)
}

fn lookup(db: &PasswdFile, local: &[u8], domain: Option<&[u8]>) -> Option<String> {
    let local = std::str::from_utf8(local).ok()?;
    if let Some(domain) = domain.and_then(|d| std::str::from_utf8(d).ok())
        && let Some(u) = found(db, &format!("{local}@{domain}"))
    {
        return Some(u);
    }
    found(db, local)
}

/// The mailbox a detail names, if it is usable as one: one level (no `/`),
/// no wildcard or control characters, valid UTF-8.
fn detail_mailbox(detail: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(detail).ok()?;
    let usable = !s.is_empty()
        && s.len() <= MAX_DETAIL_MAILBOX
        && !s
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '*' | '%'));
    usable.then(|| s.to_string())
}

/// The user and mailbox for `to`, or `None` when no such user exists.
pub(super) fn resolve(db: &PasswdFile, to: &Mailbox<'_>, cfg: &LmtpSettings) -> Option<Resolved> {
    let parts = to.split_detail(cfg.detail_delimiters.as_bytes());
    if let Some(user) = lookup(db, &parts.user, to.domain()) {
        let mailbox = match parts.detail.as_deref() {
            Some(d) if cfg.detail_to_mailbox => detail_mailbox(d),
            _ => None,
        };
        return Some(Resolved {
            user,
            mailbox: mailbox.unwrap_or_else(|| store::INBOX.to_string()),
        });
    }
    parts.detail.as_ref()?;
    lookup(db, &to.local_part(), to.domain()).map(|user| Resolved {
        user,
        mailbox: store::INBOX.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pop3_proto::lmtp::{Command, Limits, parse_command};

    fn db() -> PasswdFile {
        PasswdFile::parse(
            b"alice:{PLAIN}x::::::\n\
              Bob@Example.COM:{PLAIN}x::::::\n\
              bob:{PLAIN}x::::::\n\
              odd+name:{PLAIN}x::::::\n",
        )
        .unwrap()
    }

    fn cfg(delims: &str, to_mailbox: bool) -> LmtpSettings {
        LmtpSettings {
            detail_delimiters: delims.into(),
            detail_to_mailbox: to_mailbox,
            max_recipients: 10,
        }
    }

    fn rcpt(line: &str, cfg: &LmtpSettings) -> Option<Resolved> {
        let line = format!("RCPT TO:{line}\r\n");
        let parsed = parse_command(line.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap();
        let Command::Rcpt { to } = parsed.value else {
            panic!("not RCPT")
        };
        resolve(&db(), &to, cfg)
    }

    fn r(user: &str, mailbox: &str) -> Option<Resolved> {
        Some(Resolved {
            user: user.into(),
            mailbox: mailbox.into(),
        })
    }

    #[test]
    fn full_address_first_then_local_part() {
        let c = cfg("+", false);
        assert_eq!(rcpt("<bob@example.com>", &c), r("bob@example.com", "INBOX"));
        assert_eq!(rcpt("<BOB@other.example>", &c), r("bob", "INBOX"));
        assert_eq!(rcpt("<Alice@anywhere.example>", &c), r("alice", "INBOX"));
        assert_eq!(rcpt("<ALICE>", &c), r("alice", "INBOX"));
        assert_eq!(rcpt("<carol@example.com>", &c), None);
        assert_eq!(rcpt("<\"alice\"@x.example>", &c), r("alice", "INBOX"));
        assert_eq!(rcpt("<\"al ice\"@x.example>", &c), None);
    }

    #[test]
    fn details_go_to_inbox_or_their_mailbox() {
        let off = cfg("+-", false);
        let on = cfg("+-", true);
        assert_eq!(rcpt("<alice+lists@x>", &off), r("alice", "INBOX"));
        assert_eq!(rcpt("<alice-lists@x>", &on), r("alice", "lists"));
        assert_eq!(
            rcpt("<bob+Rust.Lang@example.com>", &on),
            r("bob@example.com", "Rust.Lang")
        );
        // Unusable as a mailbox name: INBOX.
        assert_eq!(rcpt("<alice+@x>", &on), r("alice", "INBOX"));
        assert_eq!(rcpt("<\"alice+a/b\"@x>", &on), r("alice", "INBOX"));
        assert_eq!(rcpt("<alice+a*b@x>", &on), r("alice", "INBOX"));
        // No delimiters configured: no detail, the whole local part is the user.
        assert_eq!(rcpt("<alice+lists@x>", &cfg("", true)), None);
    }

    #[test]
    fn a_name_containing_the_delimiter_is_still_found() {
        let on = cfg("+", true);
        assert_eq!(rcpt("<odd+name@x>", &on), r("odd+name", "INBOX"));
        assert_eq!(rcpt("<nobody+name@x>", &on), None);
    }
}
