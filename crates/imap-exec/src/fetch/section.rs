//! Section numbers to byte ranges of the raw message (RFC 9051 §6.4.5),
//! with Dovecot's treatment of paths that go one level past a leaf.
//!
//! The top-level message behaves like a message/rfc822 part whose body is
//! `parts[0]`; inside a message, a multipart body's parts are numbered from
//! 1 and any other body is part 1. Dovecot 2.3 also accepts one extra `.1`
//! after a leaf that was reached as a part of a multipart (`BODY[1.1]` of a
//! multipart/mixed whose first part is text/plain is that text part), but
//! not after a leaf reached as "part 1" of a message (`BODY[1.1]` of a
//! plain text message is empty). We answer the same, so a client sees the
//! same bytes from both servers.

use std::ops::Range;

use mime_facts::{Facts, Part, PartKind, TransferEncoding};

/// Which slice of a section is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slice {
    /// `BODY[]`, `BODY[1.2]`.
    Full,
    /// `BODY[HEADER]`, `BODY[2.HEADER]` (also the base of HEADER.FIELDS).
    Header,
    /// `BODY[TEXT]`, `BODY[2.TEXT]`.
    Text,
    /// `BODY[1.2.MIME]`.
    Mime,
}

/// The part a non-empty path names, as an index into `facts.parts`.
pub fn find_part(facts: &Facts, path: &[u32]) -> Option<usize> {
    let (&first, rest) = path.split_first()?;
    let (mut idx, mut via_multipart) = in_message(facts, 0, first)?;
    for &n in rest {
        let part = facts.parts.get(idx)?;
        (idx, via_multipart) = match part.kind {
            PartKind::Multipart => (child(part, n)?, true),
            PartKind::Message { .. } => in_message(facts, *part.children.first()? as usize, n)?,
            PartKind::Leaf if n == 1 && via_multipart => (idx, false),
            PartKind::Leaf => return None,
        };
    }
    Some(idx)
}

/// Part `n` of the message whose body is `parts[body]`, and whether it was
/// reached as a multipart's child.
fn in_message(facts: &Facts, body: usize, n: u32) -> Option<(usize, bool)> {
    let part = facts.parts.get(body)?;
    match part.kind {
        PartKind::Multipart => Some((child(part, n)?, true)),
        _ if n == 1 => Some((body, false)),
        _ => None,
    }
}

fn child(part: &Part, n: u32) -> Option<usize> {
    let i = n.checked_sub(1)? as usize;
    part.children.get(i).map(|&c| c as usize)
}

fn range(start: u32, end: u32) -> Range<usize> {
    start as usize..(end.max(start)) as usize
}

/// Byte range of a section in the raw message; None when it does not exist
/// (FETCH then returns an empty string, as Dovecot does).
pub fn section_range(facts: &Facts, path: &[u32], slice: Slice) -> Option<Range<usize>> {
    let root = facts.parts.first()?;
    if path.is_empty() {
        return match slice {
            Slice::Full => Some(0..usize::try_from(facts.size).ok()?),
            Slice::Header => Some(range(root.header_start, root.body_start)),
            Slice::Text => Some(range(root.body_start, root.body_end)),
            Slice::Mime => None,
        };
    }
    let part = facts.parts.get(find_part(facts, path)?)?;
    match slice {
        Slice::Full => Some(range(part.body_start, part.body_end)),
        Slice::Mime => Some(range(part.header_start, part.body_start)),
        Slice::Header | Slice::Text => {
            let PartKind::Message { .. } = part.kind else {
                return None;
            };
            let inner = facts.parts.get(*part.children.first()? as usize)?;
            Some(match slice {
                Slice::Header => range(inner.header_start, inner.body_start),
                _ => range(inner.body_start, inner.body_end),
            })
        }
    }
}

/// What BINARY[path] sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinarySource {
    /// No such part: an empty string (Dovecot: `{0}`, BINARY.SIZE 0).
    Missing,
    /// A leaf: decode this range with this encoding.
    Leaf {
        range: Range<usize>,
        encoding: TransferEncoding,
        decoded_size: Option<u64>,
    },
    /// A multipart, message part or the whole message whose every leaf is
    /// 7bit/8bit/binary: the raw bytes are already the decoded form.
    Identity(Range<usize>),
    /// A container with an encoded leaf inside: decoding it would mean
    /// rewriting MIME headers; refused (`NO [UNKNOWN-CTE]`) so the client
    /// falls back to BODY[] or to BINARY of the leaves.
    EncodedContainer,
}

/// Resolves BINARY[path] / BINARY.SIZE[path].
pub fn binary_source(facts: &Facts, path: &[u32]) -> BinarySource {
    let (idx, range) = if path.is_empty() {
        let Ok(size) = usize::try_from(facts.size) else {
            return BinarySource::Missing;
        };
        (0, 0..size)
    } else {
        let Some(idx) = find_part(facts, path) else {
            return BinarySource::Missing;
        };
        let Some(p) = facts.parts.get(idx) else {
            return BinarySource::Missing;
        };
        if let PartKind::Leaf = p.kind {
            return BinarySource::Leaf {
                range: range(p.body_start, p.body_end),
                encoding: p.transfer_encoding,
                decoded_size: p.decoded_size,
            };
        }
        (idx, range(p.body_start, p.body_end))
    };
    if subtree_is_identity(facts, idx) {
        BinarySource::Identity(range)
    } else {
        BinarySource::EncodedContainer
    }
}

fn identity(e: TransferEncoding) -> bool {
    matches!(
        e,
        TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary
    )
}

/// Every part at or below `idx` has an identity transfer encoding.
fn subtree_is_identity(facts: &Facts, idx: usize) -> bool {
    // Explicit stack: the tree may be deep, and each part is visited once
    // (facts are validated to have exactly one parent per part).
    let mut stack = vec![idx];
    let mut visited = 0usize;
    while let Some(i) = stack.pop() {
        visited += 1;
        if visited > facts.parts.len() {
            return false;
        }
        let Some(p) = facts.parts.get(i) else {
            return false;
        };
        if !identity(p.transfer_encoding) {
            return false;
        }
        stack.extend(p.children.iter().map(|&c| c as usize));
    }
    true
}
