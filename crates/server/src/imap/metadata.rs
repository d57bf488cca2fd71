//! METADATA and METADATA-SERVER (RFC 5464): GETMETADATA and SETMETADATA on
//! the server (mailbox `""`) and on mailboxes, and the METADATA return
//! option of LIST (RFC 9590, LIST-METADATA).
//!
//! A store holds one user, so `/private` and `/shared` entries are both
//! that user's: both are kept and returned, and NOPRIVATE never arises.
//! The server entry `/shared/admin` comes from `[metadata] admin` and
//! cannot be set.

use std::collections::BTreeSet;

use super::names;
use super::session::Cx;
use imap_exec::ExecError;
use imap_proto::encode::{self, Code, RespStatus};
use imap_proto::{AString, Mailbox, MetadataDepth};
use store::{MetaOwner, StoreError};

const ADMIN: &str = "/shared/admin";

/// An entry name checked against RFC 5464 §3.2 and folded to lower case
/// (entry names are case-insensitive).
fn entry_name(e: &AString<'_>, max_len: usize, max_depth: usize) -> Result<String, ExecError> {
    let raw = e.to_bytes();
    let ok_chars = raw
        .iter()
        .all(|&b| (0x21..0x7f).contains(&b) && b != b'*' && b != b'%');
    let name = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let rooted = ["/private", "/shared"]
        .iter()
        .any(|r| name == *r || name.strip_prefix(r).is_some_and(|t| t.starts_with('/')));
    if !ok_chars || !rooted || name.contains("//") || name.ends_with('/') {
        return Err(ExecError::bad(
            "Invalid entry name: /private/... or /shared/..., printable ASCII without * % or //",
        ));
    }
    if name.len() > max_len || name.split('/').count() - 1 > max_depth {
        return Err(ExecError::no(
            Some("LIMIT"),
            format!("Entry names are limited to {max_len} bytes and {max_depth} levels"),
        ));
    }
    Ok(name)
}

/// Adds an entry to a METADATA response unless it was sent already or is
/// over the client's MAXSIZE (then only its size is remembered, for
/// `[METADATA LONGENTRIES n]`).
struct Collect {
    max_size: Option<u32>,
    longest: usize,
    seen: BTreeSet<String>,
    out: Vec<(String, Option<Vec<u8>>)>,
}

impl Collect {
    fn new(max_size: Option<u32>) -> Self {
        Collect {
            max_size,
            longest: 0,
            seen: BTreeSet::new(),
            out: Vec::new(),
        }
    }

    fn push(&mut self, name: String, value: Option<Vec<u8>>) {
        if self.seen.contains(&name) {
            return;
        }
        if let (Some(v), Some(max)) = (&value, self.max_size)
            && v.len() > max as usize
        {
            self.longest = self.longest.max(v.len());
            return;
        }
        self.seen.insert(name.clone());
        self.out.push((name, value));
    }

    /// One requested entry: its value (NIL when it has none and nothing
    /// below it was found), then what is below it.
    fn entry(&mut self, name: String, value: Option<Vec<u8>>, below: Vec<(String, Vec<u8>)>) {
        if value.is_some() || below.is_empty() {
            self.push(name, value);
        }
        for (n, v) in below {
            self.push(n, Some(v));
        }
    }

    fn write(&self, buf: &mut bytes::BytesMut, mailbox: &str, utf8: bool) {
        if self.out.is_empty() {
            return;
        }
        let entries: Vec<(&str, Option<&[u8]>)> = self
            .out
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_deref()))
            .collect();
        encode::metadata(buf, mailbox, utf8, &entries);
    }

    fn code(&self) -> Option<String> {
        (self.longest > 0).then(|| format!("METADATA LONGENTRIES {}", self.longest))
    }
}

impl Cx {
    fn entry_name(&self, e: &AString<'_>) -> Result<String, ExecError> {
        let m = &self.shard.cfg.metadata;
        entry_name(e, m.max_entry_name, m.max_entry_depth)
    }

    /// Whose annotations a mailbox argument names, with the name to answer
    /// with; refused when that kind of annotation is disabled.
    fn meta_owner(&self, mailbox: &Mailbox<'_>) -> Result<(MetaOwner, String), ExecError> {
        let imap = &self.shard.cfg.imap;
        if mailbox.0.is_empty() {
            if !imap.allows("METADATA-SERVER") {
                return Err(ExecError::bad(
                    "METADATA-SERVER is not enabled on this server",
                ));
            }
            return Ok((MetaOwner::Server, String::new()));
        }
        if !imap.allows("METADATA") {
            return Err(ExecError::bad(
                "METADATA (mailbox annotations) is not enabled on this server",
            ));
        }
        let store = self.store_or_err()?;
        let name = names::decode(mailbox, self.utf8())?;
        let id = store
            .mailbox_id(&name)
            .ok_or_else(|| ExecError::no(Some("NONEXISTENT"), "No such mailbox"))?;
        Ok((MetaOwner::Mailbox(id), name))
    }

    /// Looks one requested entry up, with the configured `/shared/admin`
    /// on the server.
    fn lookup(
        &self,
        owner: MetaOwner,
        name: &str,
        depth: Option<usize>,
        into: &mut Collect,
    ) -> Result<(), ExecError> {
        let store = self.store_or_err()?;
        let (mut value, mut below) = store.metadata(owner, name, depth)?;
        let admin = &self.shard.cfg.metadata.admin;
        if owner == MetaOwner::Server && !admin.is_empty() {
            if name == ADMIN {
                value = Some(admin.as_bytes().to_vec());
            } else if name == "/shared" && depth != Some(0) {
                let at = below.partition_point(|(n, _)| n.as_str() < ADMIN);
                below.insert(at, (ADMIN.to_owned(), admin.as_bytes().to_vec()));
            }
        }
        into.entry(name.to_owned(), value, below);
        Ok(())
    }

    pub(super) fn get_metadata(
        &mut self,
        tag: &[u8],
        max_size: Option<u32>,
        depth: Option<MetadataDepth>,
        mailbox: &Mailbox<'_>,
        entries: &[AString<'_>],
    ) -> Result<(), ExecError> {
        let (owner, mbox) = self.meta_owner(mailbox)?;
        let names = entries
            .iter()
            .map(|e| self.entry_name(e))
            .collect::<Result<Vec<_>, _>>()?;
        let depth = match depth.unwrap_or(MetadataDepth::Zero) {
            MetadataDepth::Zero => Some(0),
            MetadataDepth::One => Some(1),
            MetadataDepth::Infinity => None,
        };
        let mut c = Collect::new(max_size);
        for n in &names {
            self.lookup(owner, n, depth, &mut c)?;
        }
        let utf8 = self.utf8();
        c.write(&mut self.conn.wbuf, &mbox, utf8);
        let code = c.code();
        let code = code.as_deref().map(Code::Other);
        self.tagged(tag, RespStatus::Ok, code.as_ref(), "GETMETADATA completed");
        Ok(())
    }

    pub(super) async fn set_metadata(
        &mut self,
        tag: &[u8],
        mailbox: &Mailbox<'_>,
        entries: &[(AString<'_>, Option<AString<'_>>)],
    ) -> Result<(), ExecError> {
        let (owner, _) = self.meta_owner(mailbox)?;
        let max_value = self.shard.cfg.metadata.max_value_bytes;
        let mut changes = Vec::with_capacity(entries.len());
        for (e, v) in entries {
            let name = self.entry_name(e)?;
            if name == "/private" || name == "/shared" {
                return Err(ExecError::bad(
                    "Entries are set below /private or /shared, not on them",
                ));
            }
            if owner == MetaOwner::Server && name == ADMIN {
                return Err(ExecError::no(
                    Some("NOPERM"),
                    "/shared/admin is set by the administrator",
                ));
            }
            let value = v.map(|v| v.to_bytes().into_owned());
            if value.as_ref().is_some_and(|v| v.len() > max_value) {
                return self.meta_too_big(tag, max_value);
            }
            changes.push((name, value));
        }
        let store = self.store_or_err()?;
        match store.set_metadata(owner, changes).await {
            Ok(()) => {}
            Err(StoreError::MetadataTooBig { limit }) => return self.meta_too_big(tag, limit),
            Err(StoreError::MetadataTooMany { limit, per_user }) => {
                let text = if per_user {
                    format!("At most {limit} entries in all")
                } else {
                    format!("At most {limit} entries per mailbox and on the server")
                };
                return Err(ExecError::no(Some("METADATA TOOMANY"), text));
            }
            Err(StoreError::MetadataQuota { limit }) => {
                return Err(ExecError::no(
                    Some("METADATA TOOMANY"),
                    format!("Annotations are limited to {limit} bytes in all"),
                ));
            }
            Err(StoreError::MetadataName(_)) => return Err(ExecError::bad("Invalid entry name")),
            Err(e) => return Err(e.into()),
        }
        self.ok(tag, "SETMETADATA completed");
        Ok(())
    }

    fn meta_too_big(&mut self, tag: &[u8], limit: usize) -> Result<(), ExecError> {
        let code = format!("METADATA MAXSIZE {limit}");
        self.no(
            tag,
            Some(&Code::Other(&code)),
            "Value larger than the server allows",
        );
        Ok(())
    }

    /// The checked entry names of LIST's METADATA return option (RFC 9590).
    pub(super) fn list_metadata_names(
        &self,
        m: &imap_proto::ListMetadata<'_>,
    ) -> Result<Vec<String>, ExecError> {
        if !self.shard.cfg.imap.allows("LIST-METADATA") {
            return Err(ExecError::bad(
                "LIST-METADATA is not enabled on this server",
            ));
        }
        m.entries.iter().map(|e| self.entry_name(e)).collect()
    }

    /// `* METADATA mailbox (...)` for one listed mailbox; returns the size
    /// of the largest value left out for being over MAXSIZE.
    pub(super) fn list_metadata_of(
        &mut self,
        id: store::MailboxId,
        mailbox: &str,
        names: &[String],
        max_size: Option<u32>,
    ) -> Result<usize, ExecError> {
        let mut c = Collect::new(max_size);
        for n in names {
            self.lookup(MetaOwner::Mailbox(id), n, Some(0), &mut c)?;
        }
        let utf8 = self.utf8();
        c.write(&mut self.conn.wbuf, mailbox, utf8);
        Ok(c.longest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Result<String, ExecError> {
        entry_name(&AString::Atom(s.as_bytes()), 64, 4)
    }

    #[test]
    fn entry_names() {
        assert_eq!(name("/Private/Comment").unwrap(), "/private/comment");
        assert_eq!(name("/shared").unwrap(), "/shared");
        for bad in [
            "/privatex/a",
            "/other/a",
            "private/a",
            "/private//a",
            "/private/a/",
            "/private/a*",
            "/shared/%",
            "/shared/\u{e9}",
            "",
        ] {
            assert!(
                matches!(
                    name(bad),
                    Err(ExecError::Refused {
                        status: RespStatus::Bad,
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            name("/private/a/b/c/d"),
            Err(ExecError::Refused {
                status: RespStatus::No,
                code: Some("LIMIT"),
                ..
            })
        ));
        assert!(name("/private/a/b/c").is_ok());
        assert!(name(&format!("/private/{}", "x".repeat(60))).is_err());
    }

    #[test]
    fn collect_skips_repeats_and_long_values() {
        let mut c = Collect::new(Some(3));
        c.entry(
            "/private/a".into(),
            Some(b"abc".to_vec()),
            vec![("/private/a/b".into(), b"toolong".to_vec())],
        );
        c.entry("/private/a".into(), Some(b"abc".to_vec()), Vec::new());
        c.entry("/private/none".into(), None, Vec::new());
        c.entry(
            "/private".into(),
            None,
            vec![("/private/a".into(), b"abc".to_vec())],
        );
        assert_eq!(
            c.out,
            vec![
                ("/private/a".to_string(), Some(b"abc".to_vec())),
                ("/private/none".to_string(), None),
            ]
        );
        assert_eq!(c.code().as_deref(), Some("METADATA LONGENTRIES 7"));
    }
}
