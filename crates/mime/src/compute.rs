//! Building [`Facts`] from a raw message with mail-parser.
//!
//! mail-parser supplies the MIME tree (which part is a multipart, where each
//! header and body starts and ends) and the decoded values SORT and PREVIEW
//! need. Everything IMAP returns verbatim (ENVELOPE strings, BODYSTRUCTURE
//! parameters) is re-read from the raw header bytes by the small readers in
//! `headers`, `address` and `params`.
//!
//! What we found in mail-parser 0.11 and how it is handled:
//! - Its inline parse of message/rfc822 inside message/rfc822 inside a
//!   multipart gets the outer message's end wrong (it swallows the next
//!   boundary line) and trips a `debug_assert!(false)` on the way, and
//!   dropping its result recurses once per nested message.
//! - A base64 or quoted-printable message/rfc822 part is decoded and parsed
//!   recursively, and converting that result to owned data recurses once per
//!   level inside it: 10,000 nested messages in one base64 part overflow the
//!   stack.
//!
//! So mail-parser never sees an encapsulated message: every
//! `message/` and `/digest` token of the bytes it gets is renamed in a
//! private copy (same length, so every offset stays valid for the original;
//! see [`hide_nesting`]), which makes each message/rfc822 part an opaque
//! leaf to it and multipart/digest an ordinary multipart. This module then
//! parses each unencoded message part's body as a message of its own, with
//! a work queue rather than recursion, up to [`Limits::max_depth`] levels.
//! mail-parser is also never told about transfer encodings (the header is
//! parsed as ignored), so it decodes no body; BINARY sizes and the preview
//! are decoded here. Header values come from the original bytes through
//! mail-parser's offsets, so the renaming never shows in the facts. Any
//! panic left in mail-parser (its debug assertions) is caught and the
//! affected message is described as one opaque text part.

use std::borrow::Cow;
use std::sync::OnceLock;

use mail_parser::{Header, HeaderName, Message, MessageParser, PartType};

use crate::decode::{base64_decoded_len, classify, decode_binary};
use crate::envelope::envelope;
use crate::facts::{
    Envelope, Facts, MAX_DEPTH_CEILING, Param, Part, PartKind, SortKeys, TransferEncoding,
};
use crate::headers::{find, last_value_of, nonempty_value_of, value_of};
use crate::params;
use crate::preview::preview;
use crate::sort_keys::sort_keys;

/// Bounds on the work one message can cause. Past them, the subtree that
/// would exceed a bound is kept as one opaque leaf and [`Facts::truncated`]
/// is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Deepest part nesting walked (the top-level body is depth 0); a
    /// message part cut here still gets its one stand-in body a level
    /// deeper. Clamped to [`MAX_DEPTH_CEILING`] - 1.
    pub max_depth: u32,
    /// Most parts walked. Message parts cut by this bound add one stand-in
    /// body each, so the tree holds at most twice this many parts.
    pub max_parts: u32,
    /// Most address structures kept per ENVELOPE address field.
    pub max_addresses: usize,
    /// PREVIEW length in characters (RFC 8970 caps it at 256; 200 is its
    /// recommendation).
    pub preview_chars: usize,
    /// Each encapsulated message is parsed again on its own, so nested
    /// messages cost their size once per level. The bytes parsed in all are
    /// capped at this many times the message size (plus 64 KiB); message
    /// parts beyond the budget are cut like those beyond `max_depth`.
    pub parse_factor: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 32,
            max_parts: 10_000,
            max_addresses: 1_000,
            preview_chars: 200,
            parse_factor: 4,
        }
    }
}

/// Facts of `raw` with default [`Limits`]. Never panics; work is linear in
/// the message size and bounded in depth and part count.
pub fn compute(raw: &[u8]) -> Facts {
    compute_with(raw, &Limits::default())
}

/// Facts of `raw` under explicit limits.
pub fn compute_with(raw: &[u8], limits: &Limits) -> Facts {
    // mail-parser's offsets are u32; a larger message cannot be described
    // part by part, so it is kept whole (the store's append limit is far
    // below this).
    let Ok(size) = u32::try_from(raw.len()) else {
        return opaque(raw, raw.len());
    };
    let mut walk = Walk {
        raw,
        limits,
        max_depth: limits.max_depth.min(MAX_DEPTH_CEILING - 1),
        max_parts: limits.max_parts.max(1) as usize,
        parts: Vec::new(),
        jobs: vec![Job {
            lo: 0,
            hi: size,
            parent: None,
            depth: 0,
        }],
        truncated: false,
        preview: String::new(),
        envelope: Envelope::default(),
        sort: SortKeys::default(),
        parse_budget: u64::from(size)
            .saturating_mul(u64::from(limits.parse_factor.max(1)))
            .saturating_add(PARSE_BUDGET_SLACK),
    };
    while let Some(job) = walk.jobs.pop() {
        walk.run(job);
    }
    if walk.parts.is_empty() {
        return opaque(raw, header_end_guess(raw));
    }
    walk.give_containers_a_child();
    let has_attachment = walk.parts.iter().any(|p| {
        p.disposition
            .as_ref()
            .is_some_and(|d| d.kind.eq_ignore_ascii_case(b"attachment"))
            || (!matches!(p.kind, PartKind::Multipart)
                && !p.media_type.eq_ignore_ascii_case(b"text"))
    });
    Facts {
        size: u64::from(size),
        envelope: walk.envelope,
        parts: walk.parts,
        sort: walk.sort,
        preview: walk.preview,
        has_attachment,
        truncated: walk.truncated,
    }
}

/// The mail-parser configuration: only the headers the facts need, and
/// Content-Transfer-Encoding ignored so mail-parser never decodes a body.
fn parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        MessageParser::new()
            .with_mime_headers()
            .with_message_ids()
            .header_date(HeaderName::Date)
            .header_text(HeaderName::Subject)
            .header_address(HeaderName::From)
            .header_address(HeaderName::To)
            .header_address(HeaderName::Cc)
            .ignore_header(HeaderName::ContentTransferEncoding)
            .default_header_ignore()
    })
}

/// Runs mail-parser, turning a panic (its debug assertions) into None.
fn guarded<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> Option<T> {
    std::panic::catch_unwind(f).ok()
}

/// A copy of `bytes` with every `message/` (any case) turned into
/// `xessage/` and every `/digest` into `/xigest`, or the bytes themselves
/// when there is none, and the offset of the first change. Lengths are
/// kept, so offsets stay valid. One pass over the `/` bytes finds both.
fn hide_nesting(bytes: &[u8]) -> (Cow<'_, [u8]>, Option<usize>) {
    let mut copy: Option<Vec<u8>> = None;
    let mut first = None;
    let mut edit = |copy: &mut Option<Vec<u8>>, at: usize| {
        let buf = copy.get_or_insert_with(|| bytes.to_vec());
        if let Some(b) = buf.get_mut(at) {
            *b = b'x';
        }
        first = Some(first.map_or(at, |f: usize| f.min(at)));
    };
    for slash in memchr::memchr_iter(b'/', bytes) {
        let before = slash
            .checked_sub(7)
            .and_then(|at| Some((at, bytes.get(at..slash)?)));
        if let Some((at, word)) = before
            && word.eq_ignore_ascii_case(b"message")
        {
            edit(&mut copy, at);
        }
        let after = bytes.get(slash + 1..slash + 7);
        if after.is_some_and(|w| w.eq_ignore_ascii_case(b"digest")) {
            edit(&mut copy, slash + 1);
        }
    }
    let hidden = match copy {
        Some(buf) => Cow::Owned(buf),
        None => Cow::Borrowed(bytes),
    };
    (hidden, first)
}

/// End of the header of a message mail-parser found no header field in:
/// after the first empty line, else the whole message.
fn header_end_guess(raw: &[u8]) -> usize {
    memchr::memmem::find(raw, b"\n\r\n")
        .map(|p| p + 3)
        .or_else(|| memchr::memmem::find(raw, b"\n\n").map(|p| p + 2))
        .unwrap_or(raw.len())
}

/// A message, top-level or encapsulated, still to be described.
struct Job {
    /// The message's bytes within the raw message.
    lo: u32,
    hi: u32,
    /// The message/rfc822 part it is the body of.
    parent: Option<usize>,
    depth: u32,
}

/// A pending part within one message's mail-parser tree.
struct Item {
    /// Index into the message's `parts`.
    id: usize,
    parent: Option<usize>,
    depth: u32,
    /// The parent's body range (absolute): offsets are clamped into it.
    lo: u32,
    hi: u32,
    /// The body of the message itself: its header starts at `lo` and its
    /// body runs to `hi`.
    message_body: bool,
    in_digest: bool,
}

struct Walk<'r, 'l> {
    raw: &'r [u8],
    limits: &'l Limits,
    max_depth: u32,
    max_parts: usize,
    parts: Vec<Part>,
    jobs: Vec<Job>,
    truncated: bool,
    /// PREVIEW, ENVELOPE and sort keys of the top-level message.
    preview: String,
    envelope: Envelope,
    sort: SortKeys,
    /// Bytes mail-parser may still be given (see [`Limits::parse_factor`]).
    parse_budget: u64,
}

/// Parse budget beyond `parse_factor` times the size, so small messages
/// with a few nested levels are never cut.
const PARSE_BUDGET_SLACK: u64 = 64 * 1024;

impl Walk<'_, '_> {
    /// Describes one message: parses its bytes and walks its multipart tree;
    /// encapsulated messages become new jobs.
    fn run(&mut self, job: Job) {
        let raw = self.raw;
        let Some(bytes) = raw.get(job.lo as usize..job.hi as usize) else {
            return;
        };
        self.parse_budget = self.parse_budget.saturating_sub(bytes.len() as u64);
        let (hidden, first_edit) = hide_nesting(bytes);
        let parsed = guarded(|| parser().parse(hidden.as_ref()));
        let message = match parsed {
            Some(Some(message)) => message,
            failed => {
                // No header field, or mail-parser panicked: the message is
                // one text part.
                self.truncated |= failed.is_none();
                let header_end = job
                    .lo
                    .saturating_add(u32::try_from(header_end_guess(bytes)).unwrap_or(0));
                let root = stand_in_body(raw, job.lo, header_end.min(job.hi), job.hi);
                self.attach(root, job.parent);
                return;
            }
        };
        if let Some(parent) = job.parent.and_then(|p| self.parts.get_mut(p))
            && let Some(root) = message.parts.first()
        {
            let env = envelope(bytes, &root.headers, self.limits.max_addresses);
            parent.kind = PartKind::Message {
                envelope: Box::new(env),
            };
        }
        if job.parent.is_none()
            && let Some(root) = message.parts.first()
        {
            self.preview = preview(bytes, &message, self.limits.preview_chars);
            self.envelope = envelope(bytes, &root.headers, self.limits.max_addresses);
            // Sort keys need mail-parser's decoded values; when a renamed
            // token sits in the header, decode the original header again.
            let header_touched = first_edit.is_some_and(|at| at < root.offset_body as usize);
            self.sort = if header_touched {
                guarded(|| parser().parse_headers(bytes))
                    .flatten()
                    .and_then(|h| h.parts.into_iter().next())
                    .map(|p| sort_keys(&p.headers))
                    .unwrap_or_default()
            } else {
                sort_keys(&root.headers)
            };
        }
        self.walk_message(&message, bytes, &job);
        dismantle(message);
    }

    fn walk_message(&mut self, message: &Message<'_>, bytes: &[u8], job: &Job) {
        let raw = self.raw;
        let mut stack = vec![Item {
            id: 0,
            parent: job.parent,
            depth: job.depth,
            lo: job.lo,
            hi: job.hi,
            message_body: true,
            in_digest: false,
        }];
        while let Some(item) = stack.pop() {
            let Some(mp) = message.parts.get(item.id) else {
                continue;
            };
            let clamp = |rel: u32, floor: u32| {
                job.lo
                    .saturating_add(rel)
                    .clamp(floor.min(item.hi), item.hi)
            };
            let (header_start, body_start, body_end) = if item.message_body {
                (item.lo, clamp(mp.offset_body, item.lo), item.hi)
            } else {
                let header_start = clamp(mp.offset_header, item.lo);
                let body_start = clamp(mp.offset_body, header_start);
                (header_start, body_start, clamp(mp.offset_end, body_start))
            };
            // Dovecot ignores the Content-* fields of a message header that
            // has neither MIME-Version nor Content-Type (not a MIME
            // message); parts of a multipart are always MIME.
            let is_mime = !item.message_body
                || find(bytes, &mp.headers, "MIME-Version").is_some()
                || find(bytes, &mp.headers, "Content-Type").is_some();
            let headers: &[Header<'_>] = if is_mime { &mp.headers } else { &[] };
            let mut part = leaf_part(
                bytes,
                headers,
                item.in_digest,
                header_start,
                body_start,
                body_end,
            );
            let index = self.parts.len();
            let child_depth = item.depth + 1;
            let pending = self.parts.len() + 1 + stack.len() + self.jobs.len();
            let mut stand_in = None;
            let mut empty_child = false;
            if let PartType::Multipart(ids) = &mp.body {
                if child_depth > self.max_depth || pending + ids.len() > self.max_parts {
                    self.truncated = true;
                } else {
                    part.kind = PartKind::Multipart;
                    if !part.media_type.eq_ignore_ascii_case(b"multipart") {
                        part.media_type = b"multipart".to_vec();
                        part.media_subtype = Vec::new();
                        part.params
                            .retain(|p| !p.attr.eq_ignore_ascii_case(b"charset"));
                    }
                    if part.media_subtype.is_empty() {
                        part.media_subtype = b"x-unknown".to_vec();
                    }
                    let in_digest = part.media_subtype.eq_ignore_ascii_case(b"digest");
                    for &id in ids.iter().rev() {
                        stack.push(Item {
                            id: id as usize,
                            parent: Some(index),
                            depth: child_depth,
                            lo: body_start,
                            hi: body_end,
                            message_body: false,
                            in_digest,
                        });
                    }
                }
            } else if part.media_type.eq_ignore_ascii_case(b"multipart") {
                // No boundary (or none found): Dovecot shows a multipart
                // with one empty text/plain part, which keeps IMAP's
                // grammar (a multipart needs a part); so do we.
                part.kind = PartKind::Multipart;
                if part.media_subtype.is_empty() {
                    part.media_subtype = b"x-unknown".to_vec();
                }
                empty_child = true;
            } else if is_message_type(&part) {
                // IMAP's grammar wants an envelope and a body for every
                // message/rfc822 part; the envelope is filled in when the
                // job for its body runs. Dovecot spells the type in lower
                // case whatever the header said.
                part.media_type = b"message".to_vec();
                part.media_subtype = b"rfc822".to_vec();
                part.kind = PartKind::Message {
                    envelope: Box::default(),
                };
                let encoded = matches!(
                    part.transfer_encoding,
                    TransferEncoding::Base64 | TransferEncoding::QuotedPrintable
                );
                if encoded {
                    // Like Dovecot, which reads the encoded text as the
                    // encapsulated header: up to an empty line, if any.
                    let body = raw
                        .get(body_start as usize..body_end as usize)
                        .unwrap_or_default();
                    let header_len = u32::try_from(header_end_guess(body)).unwrap_or(0);
                    stand_in = Some(body_start.saturating_add(header_len).min(body_end));
                } else if child_depth > self.max_depth
                    || pending + 1 > self.max_parts
                    || self.reserved_budget() + u64::from(body_end - body_start) > self.parse_budget
                {
                    self.truncated = true;
                    stand_in = Some(self.cut_message(&mut part, body_start, body_end));
                } else {
                    self.jobs.push(Job {
                        lo: body_start,
                        hi: body_end,
                        parent: Some(index),
                        depth: child_depth,
                    });
                }
            }
            let body = raw
                .get(body_start as usize..body_end as usize)
                .unwrap_or_default();
            if part.has_lines() {
                part.lines = count_lines(body);
            }
            if !matches!(part.kind, PartKind::Multipart) {
                part.decoded_size = decoded_size(body, part.transfer_encoding);
            }
            self.attach(part, item.parent);
            if let Some(header_end) = stand_in {
                let child = stand_in_body(raw, body_start, header_end, body_end);
                self.attach(child, Some(index));
            } else if empty_child {
                let child = stand_in_body(raw, body_start, body_start, body_start);
                self.attach(child, Some(index));
            }
        }
    }

    /// Bytes of the jobs already queued, which will come out of the budget.
    fn reserved_budget(&self) -> u64 {
        self.jobs.iter().map(|j| u64::from(j.hi - j.lo)).sum()
    }

    /// A message part not walked into (a limit was reached) still gets its
    /// envelope; returns where its encapsulated header ends.
    fn cut_message(&self, part: &mut Part, body_start: u32, body_end: u32) -> u32 {
        let bytes = self
            .raw
            .get(body_start as usize..body_end as usize)
            .unwrap_or_default();
        let Some(Some(header)) = guarded(|| parser().parse_headers(bytes)) else {
            return body_start;
        };
        let Some(root) = header.parts.first() else {
            return body_start;
        };
        part.kind = PartKind::Message {
            envelope: Box::new(envelope(bytes, &root.headers, self.limits.max_addresses)),
        };
        body_start.saturating_add(root.offset_body).min(body_end)
    }

    /// IMAP's grammar needs at least one part in a multipart and exactly one
    /// body in a message part. A multipart that ended before its first part
    /// (`--b--` right away) gets one empty text/plain part, as in Dovecot;
    /// a message part left without a body (which the walk should never
    /// do) gets an empty one too.
    fn give_containers_a_child(&mut self) {
        for i in 0..self.parts.len() {
            let Some(part) = self.parts.get(i) else {
                continue;
            };
            let childless = part.children.is_empty()
                && matches!(part.kind, PartKind::Multipart | PartKind::Message { .. });
            if childless {
                let at = part.body_start;
                let child = stand_in_body(self.raw, at, at, at);
                self.attach(child, Some(i));
            }
        }
    }

    /// Appends `part` and records it as the next child of `parent`.
    fn attach(&mut self, part: Part, parent: Option<usize>) {
        let index = self.parts.len();
        if let Some(parent) = parent.and_then(|p| self.parts.get_mut(p)) {
            // ok: the tree stays far below u32::MAX parts.
            parent
                .children
                .push(u32::try_from(index).unwrap_or(u32::MAX));
        }
        self.parts.push(part);
    }
}

/// A message described as one text/plain body after `header_end`.
fn opaque(raw: &[u8], header_end: usize) -> Facts {
    let size = u32::try_from(raw.len()).unwrap_or(u32::MAX);
    let body_start = u32::try_from(header_end).unwrap_or(size).min(size);
    Facts {
        size: u64::from(size),
        envelope: Envelope::default(),
        parts: vec![stand_in_body(raw, 0, body_start, size)],
        sort: SortKeys::default(),
        preview: String::new(),
        has_attachment: false,
        truncated: u32::try_from(raw.len()).is_err(),
    }
}

fn us_ascii() -> Param {
    Param {
        attr: b"charset".to_vec(),
        value: b"us-ascii".to_vec(),
    }
}

fn count_lines(body: &[u8]) -> u32 {
    u32::try_from(memchr::memchr_iter(b'\n', body).count()).unwrap_or(u32::MAX)
}

/// message/rfc822 only: like Dovecot, message/global is a basic body.
fn is_message_type(part: &Part) -> bool {
    part.media_type.eq_ignore_ascii_case(b"message")
        && part.media_subtype.eq_ignore_ascii_case(b"rfc822")
}

/// BINARY.SIZE of a body: identity encodings need no decoding, base64 is
/// counted without decoding (same result as [`decode_binary`], see
/// `decode::base64_decoded_len`).
fn decoded_size(body: &[u8], te: TransferEncoding) -> Option<u64> {
    match te {
        TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary => {
            Some(body.len() as u64)
        }
        TransferEncoding::Base64 => base64_decoded_len(body),
        te => decode_binary(body, te).ok().map(|d| d.len() as u64),
    }
}

/// A text/plain leaf whose header is `start..header_end` and whose body is
/// the rest up to `end`: the body of a message part whose encapsulated
/// message is not described part by part, or a whole undescribable message.
fn stand_in_body(raw: &[u8], start: u32, header_end: u32, end: u32) -> Part {
    let body = raw
        .get(header_end as usize..end as usize)
        .unwrap_or_default();
    Part {
        kind: PartKind::Leaf,
        media_type: b"text".to_vec(),
        media_subtype: b"plain".to_vec(),
        params: vec![us_ascii()],
        id: None,
        description: None,
        encoding: b"7bit".to_vec(),
        transfer_encoding: TransferEncoding::SevenBit,
        md5: None,
        disposition: None,
        language: Vec::new(),
        location: None,
        header_start: start,
        body_start: header_end,
        body_end: end,
        lines: count_lines(body),
        decoded_size: Some(body.len() as u64),
        children: Vec::new(),
    }
}

/// A part's BODYSTRUCTURE fields from its header (offsets into `bytes`), as
/// a leaf; the caller turns it into a container when it is one.
fn leaf_part(
    bytes: &[u8],
    headers: &[Header<'_>],
    in_digest: bool,
    header_start: u32,
    body_start: u32,
    body_end: u32,
) -> Part {
    // The last Content-Type, as mail-parser's structure uses the last one
    // (Dovecot takes the first; a message with two is broken either way).
    let parsed =
        last_value_of(bytes, headers, "Content-Type").and_then(|v| params::content_type(&v));
    let (media_type, media_subtype, mut params) = match parsed {
        Some(t) => t,
        None if in_digest => (b"message".to_vec(), b"rfc822".to_vec(), Vec::new()),
        None => (b"text".to_vec(), b"plain".to_vec(), Vec::new()),
    };
    let has_charset = params
        .iter()
        .any(|p| p.attr.eq_ignore_ascii_case(b"charset"));
    if !has_charset && media_type.eq_ignore_ascii_case(b"text") {
        params.push(us_ascii());
    }
    let cte =
        value_of(bytes, headers, "Content-Transfer-Encoding").and_then(|v| params::first_token(&v));
    Part {
        kind: PartKind::Leaf,
        media_type,
        media_subtype,
        params,
        id: nonempty_value_of(bytes, headers, "Content-ID"),
        description: nonempty_value_of(bytes, headers, "Content-Description"),
        transfer_encoding: classify(cte.as_deref()),
        encoding: cte.unwrap_or_else(|| b"7bit".to_vec()),
        md5: nonempty_value_of(bytes, headers, "Content-MD5"),
        disposition: value_of(bytes, headers, "Content-Disposition")
            .map(|v| params::disposition(&v)),
        language: value_of(bytes, headers, "Content-Language")
            .map(|v| params::language(&v))
            .unwrap_or_default(),
        location: nonempty_value_of(bytes, headers, "Content-Location"),
        header_start,
        body_start,
        body_end,
        lines: 0,
        decoded_size: None,
        children: Vec::new(),
    }
}

/// Drops mail-parser's result one encapsulated message at a time. With
/// message types hidden it should hold none, but a type spelled in a way
/// [`hide_nesting`] misses would otherwise make `Drop` recurse per level.
fn dismantle(message: Message<'_>) {
    let mut pending = vec![message];
    while let Some(mut m) = pending.pop() {
        for part in m.parts.iter_mut() {
            if matches!(part.body, PartType::Message(_)) {
                let body = std::mem::replace(&mut part.body, PartType::Text(Cow::Borrowed("")));
                if let PartType::Message(inner) = body {
                    pending.push(inner);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hide_nesting_renames_in_place() {
        let input = b"Content-Type: Message/RFC822\r\nx: multipart/Digest; message/global MeSsAgE/";
        let (out, first) = hide_nesting(input);
        assert_eq!(first, Some(14));
        assert_eq!(out.len(), input.len());
        assert_eq!(
            out.as_ref(),
            &b"Content-Type: xessage/RFC822\r\nx: multipart/xigest; xessage/global xeSsAgE/"[..]
        );
        assert!(matches!(
            hide_nesting(b"plain text / and/digestive"),
            (Cow::Owned(_), Some(17))
        ));
        assert!(matches!(
            hide_nesting(b"plain/text"),
            (Cow::Borrowed(_), None)
        ));
        assert_eq!(hide_nesting(b"/").0.as_ref(), b"/");
        assert_eq!(hide_nesting(b"essage/").0.as_ref(), b"essage/");
    }
}
