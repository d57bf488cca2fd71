//! The search program: the parsed keys turned once into an owned tree with
//! everything per-command resolved (sequence sets to ranges, `*` to the
//! largest number, keywords to ids, search strings lowercased, dates to day
//! numbers), so evaluating a message does no parsing.
//!
//! Every node knows the cheapest [`Level`] of message data it needs, which
//! is what lets the evaluator decide most messages from the index alone.

use std::borrow::Cow;
use std::rc::Rc;

use imap_proto::{SearchKey, SearchKeys, SeqRange};
use store::{Flags, MessageInfo};

use super::SearchContext;
use super::date::{day_of, day_of_unix};
use super::text::Needle;
use crate::ExecError;

/// What a node needs to be decided, cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// Flags, UID, sequence number, dates, size, modseq: the index.
    Index = 0,
    /// The stored facts: envelope, Date header, part tree.
    Facts = 1,
    /// The raw header block.
    Header = 2,
    /// The whole raw message.
    Body = 3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Before,
    On,
    Since,
}

impl Cmp {
    pub(crate) fn test(self, day: i64, arg: i64) -> bool {
        match self {
            Cmp::Before => day < arg,
            Cmp::On => day == arg,
            Cmp::Since => day >= arg,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddrField {
    From,
    To,
    Cc,
    Bcc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Const(bool),
    And(Vec<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    /// The system flag is set (`want`) or not set (`!want`).
    Flag {
        flag: Flags,
        want: bool,
    },
    /// Keyword id (None: not defined in this mailbox) set or not set.
    Keyword {
        id: Option<u16>,
        want: bool,
    },
    /// Sequence numbers in these inclusive ranges (sorted, merged).
    Seq(Vec<(u32, u32)>),
    Uid(Vec<(u32, u32)>),
    /// UID in this sorted list (the saved result, or the recent set).
    UidIn(Rc<[u32]>),
    InternalDate {
        cmp: Cmp,
        day: i64,
    },
    /// The save date's UTC day; messages without a save date never match.
    SaveDate {
        cmp: Cmp,
        day: i64,
    },
    /// EMAILID / THREADID equal to this (None: an id no message can have).
    EmailId(Option<u64>),
    ThreadId(Option<u64>),
    Larger(u64),
    Smaller(u64),
    ModSeq(u64),
    /// INTERNALDATE before this instant (OLDER: more than n seconds old).
    DateBefore(i64),
    /// INTERNALDATE at or after this instant (YOUNGER: at most n seconds
    /// old, RFC 5032 "younger than or equal to").
    DateAtLeast(i64),
    Address {
        field: AddrField,
        needle: Needle,
    },
    Subject(Needle),
    Sent {
        cmp: Cmp,
        day: i64,
    },
    Header {
        name: Vec<u8>,
        needle: Needle,
    },
    Text(Needle),
    Body(Needle),
}

impl Node {
    /// The most expensive data any part of this node may need.
    pub(crate) fn max_level(&self) -> Level {
        match self {
            Node::And(v) => v.iter().map(Node::max_level).max().unwrap_or(Level::Index),
            Node::Or(a, b) => a.max_level().max(b.max_level()),
            Node::Not(n) => n.max_level(),
            Node::Address { .. } | Node::Subject(_) | Node::Sent { .. } => Level::Facts,
            Node::Header { .. } => Level::Header,
            Node::Text(_) | Node::Body(_) => Level::Body,
            _ => Level::Index,
        }
    }

    /// Whether some node can be decided (at least partly) at `level`.
    pub(crate) fn uses_level(&self, level: Level) -> bool {
        match self {
            Node::And(v) => v.iter().any(|n| n.uses_level(level)),
            Node::Or(a, b) => a.uses_level(level) || b.uses_level(level),
            Node::Not(n) => n.uses_level(level),
            // TEXT is tried on the header first: a header hit spares the body.
            Node::Text(_) => level == Level::Header || level == Level::Body,
            n => n.max_level() == level,
        }
    }
}

/// The compiled search and what its result line needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub root: Node,
    /// A MODSEQ key was used: the result carries the highest MODSEQ.
    pub uses_modseq: bool,
}

/// Turns parsed keys into a [`Plan`] for this mailbox.
pub(crate) fn compile(
    keys: &SearchKeys<'_>,
    keywords: &[String],
    msgs: &[MessageInfo],
    ctx: &SearchContext<'_>,
) -> Result<Plan, ExecError> {
    let mut c = Compiler {
        keywords,
        largest_seq: u32::try_from(msgs.len()).unwrap_or(u32::MAX),
        largest_uid: msgs.last().map_or(0, |m| m.uid),
        ctx,
        uses_modseq: false,
        saved: None,
        recent: None,
    };
    let root = c.all(keys)?;
    Ok(Plan {
        root,
        uses_modseq: c.uses_modseq,
    })
}

struct Compiler<'a> {
    keywords: &'a [String],
    largest_seq: u32,
    largest_uid: u32,
    ctx: &'a SearchContext<'a>,
    uses_modseq: bool,
    /// The sorted saved and recent sets, built once however often the
    /// keys name them (a client may repeat `$` hundreds of times).
    saved: Option<Rc<[u32]>>,
    recent: Option<Rc<[u32]>>,
}

impl Compiler<'_> {
    /// Keys ANDed, cheap ones first so a decided AND stops early.
    fn all(&mut self, keys: &SearchKeys<'_>) -> Result<Node, ExecError> {
        let mut nodes = Vec::new();
        for k in keys.iter() {
            nodes.push(self.key(k)?);
        }
        // A key list the parser validated is never empty, but a raw slice
        // that is would mean "all", the neutral element of AND.
        nodes.sort_by_key(Node::max_level);
        Ok(match nodes.len() {
            0 => Node::Const(true),
            1 => nodes.pop().unwrap_or(Node::Const(true)), // ok: len is 1
            _ => Node::And(nodes),
        })
    }

    fn key(&mut self, k: SearchKey<'_>) -> Result<Node, ExecError> {
        let flag = |flag: Flags, want: bool| Node::Flag { flag, want };
        Ok(match k {
            SearchKey::All => Node::Const(true),
            SearchKey::Answered => flag(Flags::ANSWERED, true),
            SearchKey::Unanswered => flag(Flags::ANSWERED, false),
            SearchKey::Deleted => flag(Flags::DELETED, true),
            SearchKey::Undeleted => flag(Flags::DELETED, false),
            SearchKey::Draft => flag(Flags::DRAFT, true),
            SearchKey::Undraft => flag(Flags::DRAFT, false),
            SearchKey::Flagged => flag(Flags::FLAGGED, true),
            SearchKey::Unflagged => flag(Flags::FLAGGED, false),
            SearchKey::Seen => flag(Flags::SEEN, true),
            SearchKey::Unseen => flag(Flags::SEEN, false),
            SearchKey::Recent => self.recent(),
            // NEW is RECENT UNSEEN, OLD is NOT RECENT (RFC 3501 6.4.4).
            SearchKey::New => Node::And(vec![flag(Flags::SEEN, false), self.recent()]),
            SearchKey::Old => Node::Not(Box::new(self.recent())),
            SearchKey::Keyword(name) => Node::Keyword {
                id: self.keyword_id(name),
                want: true,
            },
            SearchKey::Unkeyword(name) => Node::Keyword {
                id: self.keyword_id(name),
                want: false,
            },
            SearchKey::SequenceSet(set) if set.is_saved() => self.saved(),
            SearchKey::SequenceSet(set) => Node::Seq(ranges(set.iter(), self.largest_seq)),
            SearchKey::Uid(set) if set.is_saved() => self.saved(),
            SearchKey::Uid(set) => Node::Uid(ranges(set.iter(), self.largest_uid)),
            SearchKey::Before(d) => Node::InternalDate {
                cmp: Cmp::Before,
                day: day_of(d),
            },
            SearchKey::On(d) => Node::InternalDate {
                cmp: Cmp::On,
                day: day_of(d),
            },
            SearchKey::Since(d) => Node::InternalDate {
                cmp: Cmp::Since,
                day: day_of(d),
            },
            SearchKey::SentBefore(d) => Node::Sent {
                cmp: Cmp::Before,
                day: day_of(d),
            },
            SearchKey::SentOn(d) => Node::Sent {
                cmp: Cmp::On,
                day: day_of(d),
            },
            SearchKey::SentSince(d) => Node::Sent {
                cmp: Cmp::Since,
                day: day_of(d),
            },
            SearchKey::Larger(n) => Node::Larger(n),
            SearchKey::Smaller(n) => Node::Smaller(n),
            SearchKey::ModSeq { modseq, .. } => {
                // Per-flag entries are accepted but compared with the
                // message's MODSEQ: the store keeps one per message, which
                // RFC 7162 3.1.5 allows.
                self.uses_modseq = true;
                Node::ModSeq(modseq)
            }
            SearchKey::Older(_) | SearchKey::Younger(_) if !self.ctx.within => {
                return Err(ExecError::bad("WITHIN is not enabled on this server"));
            }
            SearchKey::Older(secs) => {
                Node::DateBefore(self.ctx.now.saturating_sub(i64::from(secs)))
            }
            SearchKey::Younger(secs) => {
                Node::DateAtLeast(self.ctx.now.saturating_sub(i64::from(secs)))
            }
            SearchKey::From(s) => self.addr(AddrField::From, &s.to_bytes()),
            SearchKey::To(s) => self.addr(AddrField::To, &s.to_bytes()),
            SearchKey::Cc(s) => self.addr(AddrField::Cc, &s.to_bytes()),
            SearchKey::Bcc(s) => self.addr(AddrField::Bcc, &s.to_bytes()),
            SearchKey::Subject(s) => Node::Subject(Needle::new(&s.to_bytes())),
            SearchKey::Header(name, value) => {
                let name: Cow<'_, [u8]> = name.to_bytes();
                Node::Header {
                    name: name.into_owned(),
                    needle: Needle::new(&value.to_bytes()),
                }
            }
            SearchKey::Text(s) => Node::Text(Needle::new(&s.to_bytes())),
            SearchKey::Body(s) => Node::Body(Needle::new(&s.to_bytes())),
            SearchKey::Not(inner) => Node::Not(Box::new(self.all(&inner)?)),
            SearchKey::Or(a, b) => Node::Or(Box::new(self.all(&a)?), Box::new(self.all(&b)?)),
            SearchKey::And(inner) => self.all(&inner)?,
            SearchKey::SavedBefore(_)
            | SearchKey::SavedOn(_)
            | SearchKey::SavedSince(_)
            | SearchKey::SaveDateSupported
                if !self.ctx.savedate =>
            {
                return Err(ExecError::bad("SAVEDATE is not enabled on this server"));
            }
            SearchKey::SavedBefore(d) => Node::SaveDate {
                cmp: Cmp::Before,
                day: day_of(d),
            },
            SearchKey::SavedOn(d) => Node::SaveDate {
                cmp: Cmp::On,
                day: day_of(d),
            },
            SearchKey::SavedSince(d) => Node::SaveDate {
                cmp: Cmp::Since,
                day: day_of(d),
            },
            // Every mailbox records save dates of what is saved into it.
            SearchKey::SaveDateSupported => Node::Const(true),
            SearchKey::EmailId(_) | SearchKey::ThreadId(_) if !self.ctx.objectid => {
                return Err(ExecError::bad("OBJECTID is not enabled on this server"));
            }
            SearchKey::EmailId(id) => Node::EmailId(crate::objectid::parse_email_id(id)),
            SearchKey::ThreadId(id) => Node::ThreadId(crate::objectid::parse_thread_id(id)),
        })
    }

    fn recent(&mut self) -> Node {
        let ctx = self.ctx;
        Node::UidIn(
            self.recent
                .get_or_insert_with(|| sorted(ctx.recent))
                .clone(),
        )
    }

    fn saved(&mut self) -> Node {
        // No saved result yet means the empty set (RFC 5182 2.1).
        let ctx = self.ctx;
        Node::UidIn(
            self.saved
                .get_or_insert_with(|| sorted(ctx.saved.unwrap_or(&[])))
                .clone(),
        )
    }

    fn keyword_id(&self, name: &[u8]) -> Option<u16> {
        self.keywords
            .iter()
            .position(|k| k.as_bytes().eq_ignore_ascii_case(name))
            .and_then(|i| u16::try_from(i).ok())
    }

    fn addr(&self, field: AddrField, s: &[u8]) -> Node {
        Node::Address {
            field,
            needle: Needle::new(s),
        }
    }
}

fn sorted(uids: &[u32]) -> Rc<[u32]> {
    let mut v = uids.to_vec();
    v.sort_unstable();
    v.dedup();
    v.into()
}

/// Inclusive ranges, `*` resolved, sorted and merged for binary search.
fn ranges(it: impl Iterator<Item = SeqRange>, largest: u32) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = it.map(|r| r.resolve(largest)).collect();
    v.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Whether `n` lies in one of the sorted, disjoint ranges.
pub(crate) fn in_ranges(r: &[(u32, u32)], n: u32) -> bool {
    let i = r.partition_point(|&(_, hi)| hi < n);
    r.get(i).is_some_and(|&(lo, _)| lo <= n)
}

/// The INTERNALDATE day of a message (UTC).
pub(crate) fn internal_day(m: &MessageInfo) -> i64 {
    day_of_unix(m.internal_date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imap_proto::SeqNum;

    #[test]
    fn ranges_merge_and_resolve_star() {
        let r = |a, b| SeqRange { start: a, end: b };
        let got = ranges(
            [
                r(SeqNum::Value(9), SeqNum::Star),
                r(SeqNum::Value(3), SeqNum::Value(1)),
                r(SeqNum::Value(4), SeqNum::Value(4)),
                r(SeqNum::Value(7), SeqNum::Value(7)),
            ]
            .into_iter(),
            8,
        );
        assert_eq!(got, vec![(1, 4), (7, 9)]);
        assert!(in_ranges(&got, 1) && in_ranges(&got, 4) && in_ranges(&got, 8));
        assert!(!in_ranges(&got, 5) && !in_ranges(&got, 10) && !in_ranges(&got, 0));
        assert!(!in_ranges(&[], 1));
    }
}
