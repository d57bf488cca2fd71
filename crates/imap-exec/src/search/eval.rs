//! Evaluating a [`Plan`] message by message, paying only for the data that
//! decides it.
//!
//! A message is first evaluated with the index alone. Nodes that need more
//! answer "undecided" and AND/OR/NOT combine three-valued, so `FLAGGED
//! SUBJECT x` decides every unflagged message without touching the disk.
//! Only an undecided message gets the next level loaded (facts, then the
//! header block, then the whole message) and is evaluated again; each level
//! is read at most once per message.

use mime_facts::Facts;
use store::{MailboxId, MessageBytes, MessageInfo, Store, StoreError};

use super::date::{day_of_unix, header_day};
use super::plan::{AddrField, Level, Node, in_ranges, internal_day};
use super::text::{
    address_matches, body_text, decode_value, header_matches, header_text, part_headers_text,
};
use crate::ExecError;

/// What has been loaded for the message being evaluated.
#[derive(Default)]
pub(crate) struct MsgData {
    facts: Option<Facts>,
    header: Option<MessageBytes>,
    /// Bytes of `header` that are the header block.
    header_len: usize,
    raw: Option<MessageBytes>,
    /// Lowercased decoded header fields (TEXT), computed on first use.
    header_text: Option<String>,
    /// Lowercased decoded text parts (BODY, TEXT), computed on first use.
    body_text: Option<String>,
    /// Lowercased decoded MIME part and nested message headers (TEXT).
    part_headers: Option<String>,
    /// Whole messages read from disk for this message (0 or 1).
    pub reads: u32,
    /// Facts records read from disk for this message (0 or 1).
    pub facts_reads: u32,
}

impl MsgData {
    fn header_bytes(&self) -> &[u8] {
        if let Some(raw) = &self.raw {
            // The whole message is only ever loaded with its facts.
            let end = self
                .facts
                .as_ref()
                .and_then(|f| f.parts.first())
                .map_or(0, |p| p.body_start as usize);
            return raw.get(..end).unwrap_or(raw);
        }
        let h = self.header.as_deref().unwrap_or(&[]);
        h.get(..self.header_len).unwrap_or(h)
    }

    fn header_text(&mut self) -> &str {
        if self.header_text.is_none() {
            self.header_text = Some(header_text(self.header_bytes()));
        }
        self.header_text.as_deref().unwrap_or("")
    }

    fn part_headers(&mut self) -> &str {
        if self.part_headers.is_none() {
            let text = match (&self.raw, &self.facts) {
                (Some(raw), Some(f)) => part_headers_text(raw, f),
                _ => String::new(),
            };
            self.part_headers = Some(text);
        }
        self.part_headers.as_deref().unwrap_or("")
    }

    fn body_text(&mut self) -> &str {
        if self.body_text.is_none() {
            let text = match (&self.raw, &self.facts) {
                (Some(raw), Some(f)) => body_text(raw, f),
                _ => String::new(),
            };
            self.body_text = Some(text);
        }
        self.body_text.as_deref().unwrap_or("")
    }
}

/// How much of a message is read to find its header when the facts are not
/// needed otherwise; a longer header costs a facts read and a second read.
const HEADER_PROBE: u32 = 16 << 10;

/// Loads what `level` needs. Returns false when the message is gone
/// (expunged by another session since the caller's snapshot): it then
/// matches nothing.
pub(crate) async fn load(
    store: &Store,
    mailbox: MailboxId,
    uid: u32,
    d: &mut MsgData,
    level: Level,
) -> Result<bool, ExecError> {
    let read = match level {
        Level::Index => Ok(()),
        Level::Facts => return load_facts(store, mailbox, uid, d).await,
        Level::Header if d.raw.is_some() || d.header.is_some() => Ok(()),
        Level::Header if d.facts.is_none() => {
            // Header keys alone need no facts: the header ends at the first
            // blank line, which a short read from the start usually holds.
            match store.read_range(mailbox, uid, 0, HEADER_PROBE).await {
                Ok(h) => match header_end(&h) {
                    Some(end) => {
                        d.header_len = end;
                        d.header = Some(h);
                        Ok(())
                    }
                    None => {
                        if !load_facts(store, mailbox, uid, d).await? {
                            return Ok(false);
                        }
                        read_header(store, mailbox, uid, d).await
                    }
                },
                Err(e) => Err(e),
            }
        }
        Level::Header => read_header(store, mailbox, uid, d).await,
        Level::Body => {
            if !load_facts(store, mailbox, uid, d).await? {
                return Ok(false);
            }
            if d.raw.is_none() {
                store.read_message(mailbox, uid).await.map(|r| {
                    d.reads += 1;
                    d.raw = Some(r);
                })
            } else {
                Ok(())
            }
        }
    };
    match read {
        Ok(()) => Ok(true),
        Err(StoreError::NoSuchMessage(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The header block as the facts delimit it.
async fn read_header(
    store: &Store,
    mailbox: MailboxId,
    uid: u32,
    d: &mut MsgData,
) -> Result<(), StoreError> {
    if d.raw.is_some() {
        return Ok(());
    }
    let len = d
        .facts
        .as_ref()
        .and_then(|f| f.parts.first())
        .map_or(0, |p| p.body_start);
    let h = store.read_range(mailbox, uid, 0, len).await?;
    d.header_len = h.len();
    d.header = Some(h);
    Ok(())
}

/// Loads the facts if they are not yet. False: the message is gone.
async fn load_facts(
    store: &Store,
    mailbox: MailboxId,
    uid: u32,
    d: &mut MsgData,
) -> Result<bool, ExecError> {
    if d.facts.is_some() {
        return Ok(true);
    }
    d.facts_reads += 1;
    match store.facts(mailbox, uid).await {
        Ok(f) => d.facts = Some(f),
        Err(StoreError::NoSuchMessage(_)) => return Ok(false),
        // Facts of an older format (or damaged): recompute them from the
        // message, which is the truth, rather than fail the search.
        Err(StoreError::Facts(_)) => {
            let raw = match store.read_message(mailbox, uid).await {
                Ok(r) => r,
                Err(StoreError::NoSuchMessage(_)) => return Ok(false),
                Err(e) => return Err(e.into()),
            };
            d.reads += 1;
            d.facts = Some(mime_facts::compute(&raw));
            d.raw = Some(raw);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(true)
}

/// Length of the header block including the blank line that ends it, if
/// the blank line is in `buf` (CRLF or bare LF line ends).
pub(crate) fn header_end(buf: &[u8]) -> Option<usize> {
    if buf.starts_with(b"\r\n") {
        return Some(2);
    }
    if buf.starts_with(b"\n") {
        return Some(1);
    }
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\n', buf.get(from..)?) {
        let nl = from + i;
        match buf.get(nl + 1..) {
            Some([b'\n', ..]) => return Some(nl + 2),
            Some([b'\r', b'\n', ..]) => return Some(nl + 3),
            _ => from = nl + 1,
        }
    }
    None
}

/// Evaluates `node` for message number `seq` with the data of `level`
/// loaded. None: the node needs more data than that.
pub(crate) fn eval(
    node: &Node,
    seq: u32,
    m: &MessageInfo,
    d: &mut MsgData,
    level: Level,
) -> Option<bool> {
    match node {
        Node::Const(b) => Some(*b),
        Node::And(nodes) => {
            let mut undecided = false;
            for n in nodes {
                match eval(n, seq, m, d, level) {
                    Some(false) => return Some(false),
                    Some(true) => {}
                    None => undecided = true,
                }
            }
            if undecided { None } else { Some(true) }
        }
        Node::Or(a, b) => match eval(a, seq, m, d, level) {
            Some(true) => Some(true),
            first => match (first, eval(b, seq, m, d, level)) {
                (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
        },
        Node::Not(n) => eval(n, seq, m, d, level).map(|b| !b),
        Node::Flag { flag, want } => Some(m.flags.contains(*flag) == *want),
        Node::Keyword { id, want } => Some(id.is_some_and(|id| m.keywords.contains(id)) == *want),
        Node::Seq(r) => Some(in_ranges(r, seq)),
        Node::Uid(r) => Some(in_ranges(r, m.uid)),
        Node::UidIn(uids) => Some(uids.binary_search(&m.uid).is_ok()),
        Node::InternalDate { cmp, day } => Some(cmp.test(internal_day(m), *day)),
        Node::SaveDate { cmp, day } => {
            Some(m.save_date.is_some_and(|d| cmp.test(day_of_unix(d), *day)))
        }
        Node::EmailId(id) => Some(*id == Some(m.email_id)),
        Node::ThreadId(id) => Some(*id == Some(m.thread_id)),
        Node::Larger(n) => Some(u64::from(m.size) > *n),
        Node::Smaller(n) => Some(u64::from(m.size) < *n),
        Node::ModSeq(n) => Some(m.modseq >= *n),
        Node::DateBefore(t) => Some(m.internal_date < *t),
        Node::DateAtLeast(t) => Some(m.internal_date >= *t),
        Node::Address { field, needle } => {
            if level < Level::Facts {
                return None;
            }
            let f = d.facts.as_ref()?;
            let env = &f.envelope;
            let list = match field {
                AddrField::From => &env.from,
                AddrField::To => &env.to,
                AddrField::Cc => &env.cc,
                AddrField::Bcc => &env.bcc,
            };
            Some(address_matches(list, needle))
        }
        Node::Subject(needle) => {
            if level < Level::Facts {
                return None;
            }
            let f = d.facts.as_ref()?;
            Some(
                f.envelope
                    .subject
                    .as_deref()
                    .is_some_and(|s| needle.is_empty() || needle.in_text(&decode_value(s))),
            )
        }
        Node::Sent { cmp, day } => {
            if level < Level::Facts {
                return None;
            }
            let f = d.facts.as_ref()?;
            // The day as written in the Date header; if only the parsed
            // instant survived, its UTC day. A message without a usable
            // Date counts as sent on 1970-01-01, as in Dovecot (SENTBEFORE
            // finds it).
            let sent = f
                .envelope
                .date
                .as_deref()
                .and_then(header_day)
                .or_else(|| f.sort.sent_date.map(day_of_unix))
                .unwrap_or(0);
            Some(cmp.test(sent, *day))
        }
        Node::Header { name, needle } => {
            if level < Level::Header {
                return None;
            }
            Some(header_matches(d.header_bytes(), name, needle))
        }
        Node::Text(needle) => {
            if level < Level::Header {
                return None;
            }
            if needle.is_empty() || needle.in_lowered(d.header_text()) {
                return Some(true);
            }
            if level < Level::Body {
                return None;
            }
            // Dovecot's TEXT also covers MIME part headers and the headers
            // of attached messages; BODY covers neither.
            Some(needle.in_lowered(d.part_headers()) || needle.in_lowered(d.body_text()))
        }
        Node::Body(needle) => {
            if level < Level::Body {
                return None;
            }
            Some(needle.is_empty() || needle.in_lowered(d.body_text()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::header_end;

    #[test]
    fn header_end_finds_the_blank_line() {
        assert_eq!(header_end(b"A: b\r\nC: d\r\n\r\nbody"), Some(14));
        assert_eq!(header_end(b"A: b\n\nbody"), Some(6));
        assert_eq!(header_end(b"\r\nbody"), Some(2));
        assert_eq!(header_end(b"A: b\r\n folded\r\n"), None);
        assert_eq!(header_end(b""), None);
    }
}
