//! The stored shape of a message's facts and its versioned rkyv encoding.
//!
//! Everything here is plain data: the server renders IMAP syntax from it.
//! Byte strings are kept as `Vec<u8>` because header values may carry 8-bit
//! bytes that are not UTF-8, and IMAP hands them to clients unchanged.

use rkyv::{Archive, Deserialize, Serialize};

/// Format version written as the first byte of [`Facts::to_bytes`]. Bump it
/// whenever any type in this module changes shape; old records then fail
/// [`Facts::from_bytes`] with [`FactsError::Version`] and the store recomputes
/// them from the raw message.
pub const FORMAT_VERSION: u8 = 1;

/// Hard ceiling on tree depth accepted by [`Facts::from_bytes`], so a
/// renderer that recurses over [`Facts::parts`] is bounded even on a
/// corrupted record. [`crate::Limits::max_depth`] is clamped below it.
pub const MAX_DEPTH_CEILING: u32 = 256;

/// Everything postcore knows about one message without re-reading MIME.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Facts {
    /// Length of the raw message the facts were computed from.
    pub size: u64,
    /// ENVELOPE of the top-level message.
    pub envelope: Envelope,
    /// All MIME parts, parents before children; index 0 is the whole
    /// message's body (the root of BODYSTRUCTURE). The tree is given by
    /// [`Part::children`], not by the order of this list.
    pub parts: Vec<Part>,
    /// Keys for SORT and THREAD (RFC 5256), decoded.
    pub sort: SortKeys,
    /// RFC 8970 preview: at most 200 characters, whitespace collapsed.
    pub preview: String,
    /// A part is an attachment (disposition `attachment`) or a non-text leaf.
    pub has_attachment: bool,
    /// The message hit a [`crate::Limits`] bound; some subtree was kept as an
    /// opaque leaf.
    pub truncated: bool,
}

/// The ten ENVELOPE fields (RFC 9051 §7.5.2), raw as in the header: unfolded,
/// surrounding whitespace trimmed, RFC 2047 encoded-words left encoded.
///
/// `sender` and `reply_to` are already defaulted to `from` when the header is
/// absent or holds no address (the IMAP rule), so a renderer prints the
/// fields as they are. An empty address list renders as NIL.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Envelope {
    pub date: Option<Vec<u8>>,
    pub subject: Option<Vec<u8>>,
    pub from: Vec<Address>,
    pub sender: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub in_reply_to: Option<Vec<u8>>,
    pub message_id: Option<Vec<u8>>,
}

/// One IMAP address structure. Group syntax is flattened as IMAP does: a
/// group start has `mailbox` = group name and `host` = None, the group end has
/// both None. A plain address always has `mailbox` and `host` set
/// (`MISSING_MAILBOX` / `MISSING_DOMAIN` fill in what the header lacked, as
/// Dovecot does).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Address {
    pub name: Option<Vec<u8>>,
    pub adl: Option<Vec<u8>>,
    pub mailbox: Option<Vec<u8>>,
    pub host: Option<Vec<u8>>,
}

/// A parameter of Content-Type or Content-Disposition, attribute and value as
/// in the header (value unquoted; RFC 2231 continuations joined; no decoding).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub attr: Vec<u8>,
    pub value: Vec<u8>,
}

/// Content-Disposition: type and parameters.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    pub kind: Vec<u8>,
    pub params: Vec<Param>,
}

/// Content-Transfer-Encoding classified for BINARY[] decoding.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(derive(Debug, PartialEq, Eq))]
pub enum TransferEncoding {
    SevenBit,
    EightBit,
    Binary,
    Base64,
    QuotedPrintable,
    /// An encoding postcore cannot decode (BINARY answers `[UNKNOWN-CTE]`).
    Unknown,
}

/// What a part is, for BODYSTRUCTURE and section numbering.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum PartKind {
    /// A leaf (basic or text body).
    Leaf,
    /// multipart/*: [`Part::children`] are its parts.
    Multipart,
    /// message/rfc822 or message/global: `envelope` is the nested header's
    /// ENVELOPE, [`Part::children`] holds exactly one part, the nested
    /// message's body, whose `header_start` .. `body_start` is the nested
    /// header.
    ///
    /// When the nested message is not described part by part (a base64 or
    /// quoted-printable message part, or a [`crate::Limits`] bound reached),
    /// the child is a stand-in text/plain leaf over the nested body (and the
    /// envelope is all NIL for an encoded part), so the IMAP grammar's
    /// envelope-and-body shape for message/rfc822 still holds.
    Message { envelope: Box<Envelope> },
}

/// One MIME part: its BODYSTRUCTURE fields and its byte offsets (relative to
/// the start of the raw message).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Part {
    pub kind: PartKind,
    /// Media type and subtype as written in the message (default `text`
    /// `plain`, and for a multipart/digest child `message` `rfc822`).
    pub media_type: Vec<u8>,
    pub media_subtype: Vec<u8>,
    /// Content-Type parameters; text/* without any gets `charset=us-ascii`.
    pub params: Vec<Param>,
    pub id: Option<Vec<u8>>,
    pub description: Option<Vec<u8>>,
    /// Content-Transfer-Encoding as written, `7bit` when absent.
    pub encoding: Vec<u8>,
    pub transfer_encoding: TransferEncoding,
    pub md5: Option<Vec<u8>>,
    pub disposition: Option<Disposition>,
    pub language: Vec<Vec<u8>>,
    pub location: Option<Vec<u8>>,
    /// Start of this part's MIME header (for the root: 0).
    pub header_start: u32,
    /// Start of the body: just after the blank line ending the header.
    pub body_start: u32,
    /// End of the body (exclusive): the CRLF before a boundary is excluded.
    pub body_end: u32,
    /// LF count of the body (reported for text/* and message/rfc822).
    pub lines: u32,
    /// Octets of the body once its transfer encoding is undone (BINARY.SIZE);
    /// None for containers and when the encoding cannot be decoded.
    pub decoded_size: Option<u64>,
    /// Indices into [`Facts::parts`] of the sub-parts, in order. Always
    /// greater than this part's own index; a multipart has at least one, a
    /// message part exactly one, a leaf none.
    pub children: Vec<u32>,
}

impl Part {
    /// Body size in octets as stored (BODYSTRUCTURE body-fld-octets).
    pub fn body_size(&self) -> u32 {
        self.body_end.saturating_sub(self.body_start)
    }

    /// Whether BODYSTRUCTURE reports a line count for this part.
    pub fn has_lines(&self) -> bool {
        self.media_type.eq_ignore_ascii_case(b"text")
            || matches!(self.kind, PartKind::Message { .. })
    }
}

/// Decoded keys for SORT (RFC 5256 / RFC 5957) and THREAD.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct SortKeys {
    /// Date header as unix seconds; None when absent or unparsable.
    pub sent_date: Option<i64>,
    /// RFC 5256 §2.1 base subject (decoded, case preserved).
    pub base_subject: String,
    /// True when the subject looked like a reply or forward (THREAD=REFERENCES).
    pub subject_is_reply_or_fwd: bool,
    pub from: Option<SortAddress>,
    pub to: Option<SortAddress>,
    pub cc: Option<SortAddress>,
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// In-Reply-To msg-ids without angle brackets.
    pub in_reply_to: Vec<String>,
    /// References msg-ids without angle brackets, in header order.
    pub references: Vec<String>,
}

/// The first address of From/To/Cc, decoded and lowercased where it matters.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct SortAddress {
    /// Local part, lowercased (RFC 5256 sorts on addr-mailbox).
    pub mailbox: String,
    /// Domain, lowercased (empty when the address had none).
    pub domain: String,
    /// Display name, RFC 2047-decoded (RFC 5957 DISPLAY); empty when none.
    pub name: String,
}

/// Why stored facts could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error("facts record is empty")]
    Empty,
    #[error("facts format version {found} is not {expected}")]
    Version { found: u8, expected: u8 },
    #[error("facts record failed validation: {0}")]
    Invalid(String),
    #[error("facts tree is inconsistent: {0}")]
    Tree(&'static str),
}

impl Facts {
    /// Versioned serialization: one byte [`FORMAT_VERSION`], then an rkyv
    /// archive of `self`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.push(FORMAT_VERSION);
        match rkyv::to_bytes::<rkyv::rancor::Error>(self) {
            Ok(archive) => out.extend_from_slice(&archive),
            // rkyv only fails on allocation problems or values over its
            // size limits, neither of which a Facts can reach (offsets are
            // u32); an empty archive then reads back as an error.
            Err(_) => out.truncate(1),
        }
        out
    }

    /// Reads what [`Facts::to_bytes`] wrote, from a slice at any alignment.
    /// The archive is validated (bytecheck) and the part tree checked, so a
    /// corrupted record gives an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Facts, FactsError> {
        let (&version, archive) = bytes.split_first().ok_or(FactsError::Empty)?;
        if version != FORMAT_VERSION {
            return Err(FactsError::Version {
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        let mut aligned = rkyv::util::AlignedVec::<16>::with_capacity(archive.len());
        aligned.extend_from_slice(archive);
        let facts = rkyv::from_bytes::<Facts, rkyv::rancor::Error>(&aligned)
            .map_err(|e| FactsError::Invalid(e.to_string()))?;
        facts.check_tree()?;
        Ok(facts)
    }

    /// Only the SORT/THREAD keys of [`Facts::to_bytes`]' output: the archive
    /// is validated as a whole, but nothing else is deserialized, so SORT
    /// over a big mailbox does not build every message's MIME tree.
    pub fn sort_keys_from_bytes(bytes: &[u8]) -> Result<SortKeys, FactsError> {
        let (&version, archive) = bytes.split_first().ok_or(FactsError::Empty)?;
        if version != FORMAT_VERSION {
            return Err(FactsError::Version {
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        let mut aligned = rkyv::util::AlignedVec::<16>::with_capacity(archive.len());
        aligned.extend_from_slice(archive);
        let archived = rkyv::access::<ArchivedFacts, rkyv::rancor::Error>(&aligned)
            .map_err(|e| FactsError::Invalid(e.to_string()))?;
        rkyv::deserialize::<SortKeys, rkyv::rancor::Error>(&archived.sort)
            .map_err(|e| FactsError::Invalid(e.to_string()))
    }

    /// The tree invariants every consumer relies on: a root exists, children
    /// point forward and in range, every part but the root has exactly one
    /// parent, a message part has one child, and depth is bounded.
    fn check_tree(&self) -> Result<(), FactsError> {
        if self.parts.is_empty() {
            return Err(FactsError::Tree("no root part"));
        }
        let n = self.parts.len();
        let mut parent_seen = vec![false; n];
        let mut depth = vec![0u32; n];
        for (i, part) in self.parts.iter().enumerate() {
            if part.body_start > part.body_end
                || part.header_start > part.body_start
                || u64::from(part.body_end) > self.size
            {
                return Err(FactsError::Tree("offsets out of order or out of range"));
            }
            match (&part.kind, part.children.len()) {
                (PartKind::Leaf, 0) | (PartKind::Message { .. }, 1) => {}
                (PartKind::Multipart, n) if n > 0 => {}
                _ => return Err(FactsError::Tree("child count does not fit the part kind")),
            }
            let my_depth = depth.get(i).copied().unwrap_or(0);
            for &c in &part.children {
                let c = c as usize;
                if c <= i || c >= n {
                    return Err(FactsError::Tree("child index out of order"));
                }
                match parent_seen.get_mut(c) {
                    Some(seen) if !*seen => *seen = true,
                    _ => return Err(FactsError::Tree("part has two parents")),
                }
                let d = my_depth + 1;
                if d > MAX_DEPTH_CEILING {
                    return Err(FactsError::Tree("tree too deep"));
                }
                if let Some(slot) = depth.get_mut(c) {
                    *slot = d;
                }
            }
        }
        if parent_seen.iter().skip(1).any(|seen| !seen) {
            return Err(FactsError::Tree("orphan part"));
        }
        Ok(())
    }
}
