//! IMAP section numbering (RFC 9051 §6.4.5) over the stored part tree.
//!
//! Rules implemented: the top-level message behaves like a message/rfc822
//! part whose encapsulated body is `parts[0]`; inside a message, a multipart
//! body's parts are numbered from 1, and a non-multipart body is part 1 of
//! its message; a multipart's parts are numbered from 1; HEADER and TEXT
//! apply to the top level and to message/rfc822 parts, MIME to any non-empty
//! part path.

use std::ops::Range;

use crate::facts::{Facts, Part, PartKind};

/// Which slice of a section is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionKind {
    /// `BODY[1.2]` (or `BODY[]` for an empty path: the whole message).
    Full,
    /// `BODY[HEADER]`, `BODY[2.HEADER]`: header including its blank line.
    Header,
    /// `BODY[TEXT]`, `BODY[2.TEXT]`: body of the (encapsulated) message.
    Text,
    /// `BODY[1.2.MIME]`: the part's MIME header including its blank line.
    Mime,
}

impl Facts {
    /// Byte range of a section within the raw message, or None when the
    /// section does not exist (IMAP then returns an empty string / NIL).
    /// Part numbers are 1-based.
    pub fn section(&self, path: &[u32], kind: SectionKind) -> Option<Range<usize>> {
        let root = self.parts.first()?;
        let Some((&first, rest)) = path.split_first() else {
            return match kind {
                SectionKind::Full => Some(0..usize::try_from(self.size).ok()?),
                SectionKind::Header => Some(root.header_start as usize..root.body_start as usize),
                SectionKind::Text => Some(root.body_start as usize..root.body_end as usize),
                SectionKind::Mime => None,
            };
        };
        let mut idx = self.in_message(0, first)?;
        for &n in rest {
            idx = self.sub_part(idx, n)?;
        }
        let part = self.parts.get(idx)?;
        match kind {
            SectionKind::Full => Some(part.body_start as usize..part.body_end as usize),
            SectionKind::Mime => Some(part.header_start as usize..part.body_start as usize),
            SectionKind::Header | SectionKind::Text => {
                let PartKind::Message { .. } = part.kind else {
                    return None;
                };
                let inner = self.parts.get(*part.children.first()? as usize)?;
                Some(if kind == SectionKind::Header {
                    inner.header_start as usize..inner.body_start as usize
                } else {
                    inner.body_start as usize..inner.body_end as usize
                })
            }
        }
    }

    /// The part index reached by path, if it exists.
    pub fn part_at(&self, path: &[u32]) -> Option<&Part> {
        let (&first, rest) = path.split_first()?;
        let mut idx = self.in_message(0, first)?;
        for &n in rest {
            idx = self.sub_part(idx, n)?;
        }
        self.parts.get(idx)
    }

    /// Part `n` of the message whose body is `parts[body]`.
    fn in_message(&self, body: usize, n: u32) -> Option<usize> {
        let part = self.parts.get(body)?;
        match part.kind {
            PartKind::Multipart => self.child(part, n),
            _ if n == 1 => Some(body),
            _ => None,
        }
    }

    /// Part `n` below part `idx`.
    fn sub_part(&self, idx: usize, n: u32) -> Option<usize> {
        let part = self.parts.get(idx)?;
        match part.kind {
            PartKind::Multipart => self.child(part, n),
            PartKind::Message { .. } => self.in_message(*part.children.first()? as usize, n),
            PartKind::Leaf => None,
        }
    }

    fn child(&self, part: &Part, n: u32) -> Option<usize> {
        let i = n.checked_sub(1)? as usize;
        part.children.get(i).map(|&c| c as usize)
    }
}
