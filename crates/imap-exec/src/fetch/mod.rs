//! FETCH: renders `* n FETCH (...)` responses for a batch of messages of the
//! selected mailbox (RFC 9051 §6.4.5 and §7.5.2, RFC 3501 RFC822.* items,
//! RFC 3516 BINARY, RFC 7162 MODSEQ, RFC 8970 PREVIEW).
//!
//! Per command the attribute list is planned once (module `plan`); per message
//! the store is asked only for what the plan needs: nothing beyond the
//! index for FLAGS/UID/RFC822.SIZE/INTERNALDATE/MODSEQ (the flag-sync hot
//! path), the stored facts (one read) for ENVELOPE/BODYSTRUCTURE/part
//! sections, a read of the message's start for top-level HEADER/TEXT/
//! HEADER.FIELDS (the header end is found by scanning, no facts needed), and
//! one read of the smallest byte range covering every section asked. The
//! reads of up to 32 messages (8 MiB) are in flight while responses are
//! written in order, straight into the sink's buffer.
//!
//! Choices where the RFCs leave room follow Dovecot 2.3 (compared by hand
//! against a running Dovecot, see the tests): body sections are always
//! literals, a section that does not exist is an empty literal `{0}`,
//! BINARY of a missing part is `{0}` and its BINARY.SIZE 0, section paths
//! one `.1` past a multipart's leaf name that leaf (see module `section`).
//! Differences: BINARY uses literal8 only when the decoded bytes contain
//! NUL (Dovecot: whenever the part was encoded), and BINARY of a container
//! holding encoded parts is refused with `[UNKNOWN-CTE]` (Dovecot rewrites
//! the MIME headers).

mod header_fields;
mod plan;
mod section;

use std::ops::Range;

use bytes::{BufMut, BytesMut};
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use imap_proto::encode::{FetchResponse, literal_header};
use imap_proto::{FetchAttrs, Part, Partial};
use mime_facts::{Facts, TransferEncoding, decode_binary};
use store::{FlagOp, Flags, KeywordSet, MailboxId, MessageBytes, MessageInfo, Store, StoreError};

use crate::{ExecError, Sink};
use header_fields::FieldNames;
pub use plan::disabled_item;
use plan::{Item, Plan, SectionName, SectionSpec};
use section::{BinarySource, binary_source};
pub use section::{Slice, find_part, section_range};

/// How the session wants FETCH answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FetchOptions<'a> {
    /// A UID FETCH: every response carries UID (first, as Dovecot does).
    pub uid_command: bool,
    /// The mailbox was opened with EXAMINE (or is read-only): \Seen is
    /// never set implicitly.
    pub read_only: bool,
    /// UTF8=ACCEPT is enabled: 8-bit UTF-8 may go in quoted strings.
    pub utf8: bool,
    /// Add MODSEQ to every response (CONDSTORE enabled, or CHANGEDSINCE
    /// given, where RFC 7162 §3.1.4.1 requires it).
    pub condstore: bool,
    /// IMAP4rev2 session: like `utf8`, quoted strings may hold UTF-8.
    pub rev2: bool,
    /// UIDs that are `\Recent` in this session (IMAP4rev1), ascending;
    /// FLAGS includes `\Recent` for them.
    pub recent: &'a [u32],
    /// UIDONLY (RFC 9586): `* uid UIDFETCH` responses, UID only where the
    /// client listed it (the response is already keyed by it).
    pub uid_only: bool,
}

/// What a FETCH changed or could not do, for the session to act on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchOutcome {
    /// Messages whose \Seen was set implicitly, with their new MODSEQ
    /// (ascending UID).
    pub seen_set: Vec<(u32, u64)>,
    /// UIDs that were expunged (by another session) before their bytes
    /// could be read: no response was written for them. The session may
    /// answer `NO [EXPUNGEISSUED]` or plain OK.
    pub expunged: Vec<u32>,
}

/// Why one message got no response.
enum Skip {
    /// Gone from the store since the session's view was taken.
    Expunged,
    /// A client-visible refusal (UNKNOWN-CTE); other messages still go out.
    Refused(ExecError),
    /// The store or the connection failed: stop.
    Fatal(ExecError),
}

impl From<StoreError> for Skip {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchMessage(_) => Skip::Expunged,
            e => Skip::Fatal(ExecError::Store(e)),
        }
    }
}

fn unknown_cte(text: &str) -> Skip {
    Skip::Refused(ExecError::no(Some("UNKNOWN-CTE"), text))
}

/// Runs FETCH `attrs` over `msgs` (sequence number and index entry of each
/// message, in the order to answer) of `mailbox`, whose keyword table is
/// `keywords` (the snapshot's, which `MessageInfo::keywords` ids index).
///
/// Non-PEEK body sections, BINARY, RFC822 and RFC822.TEXT set \Seen on a
/// read-write mailbox: with one store call for the whole batch, before any
/// response is written, so each response already shows the new flags (FLAGS
/// is added to a response when the client did not ask for it).
///
/// Errors: a BAD for items postcore does not offer (EMAILID, THREADID,
/// SAVEDATE) before anything is written; `NO [UNKNOWN-CTE]` after all other
/// messages were answered when some BINARY part cannot be decoded (that
/// message gets no response); store and connection failures stop at once.
pub async fn fetch<S: Sink>(
    store: &Store,
    mailbox: MailboxId,
    keywords: &[String],
    msgs: &[(u32, MessageInfo)],
    attrs: &FetchAttrs<'_>,
    opts: &FetchOptions<'_>,
    sink: &mut S,
) -> Result<FetchOutcome, ExecError> {
    let plan = Plan::new(attrs, opts.uid_command && !opts.uid_only)?;
    let mut outcome = FetchOutcome::default();
    if plan.sets_seen && !opts.read_only {
        let ranges = unseen_ranges(msgs);
        if !ranges.is_empty() {
            let r = store
                .store_flags(mailbox, &ranges, FlagOp::Add, Flags::SEEN, &[], None)
                .await?;
            outcome.seen_set = r.changed;
            outcome.seen_set.sort_unstable();
        }
    }
    let ctx = Ctx {
        store,
        mailbox,
        keywords,
        plan: &plan,
        opts,
        utf8: opts.utf8 || opts.rev2,
    };
    let mut fields = BytesMut::new();
    let mut refused = None;
    let seen_of = |uid: u32| {
        outcome
            .seen_set
            .binary_search_by_key(&uid, |c| c.0)
            .ok()
            .and_then(|i| outcome.seen_set.get(i))
            .map(|c| c.1)
    };
    let mut expunged = Vec::new();
    if !(plan.needs_facts || plan.locates || plan.needs_header_end) {
        // Index data only (the flag-sync hot path): nothing to wait for.
        let nothing = Loaded::default();
        for (seq, info) in msgs {
            let seen = seen_of(info.uid);
            render_result(
                render(&ctx, *seq, info, seen, &nothing, sink, &mut fields),
                info,
                &mut expunged,
                &mut refused,
            )?;
            sink.flush_if_full().await?;
        }
    } else {
        // Loads of the next messages run while this one is written: the
        // store's reads are io_uring operations, and a few in flight cost
        // little more than one. Bounded by count and by bytes.
        let mut inflight = FuturesOrdered::new();
        let mut costs = std::collections::VecDeque::new();
        let mut in_bytes = 0usize;
        let mut queued = msgs.iter();
        let mut answered = msgs.iter();
        loop {
            while inflight.len() < LOAD_WINDOW {
                let Some((_, info)) = queued.as_slice().first() else {
                    break;
                };
                let cost = load_cost(&plan, info);
                if !inflight.is_empty() && in_bytes + cost > LOAD_BYTES {
                    break;
                }
                queued.next();
                in_bytes += cost;
                costs.push_back(cost);
                inflight.push_back(load(&ctx, info));
            }
            let Some(loaded) = inflight.next().await else {
                break;
            };
            in_bytes = in_bytes.saturating_sub(costs.pop_front().unwrap_or(0));
            let Some((seq, info)) = answered.next() else {
                break;
            };
            let seen = seen_of(info.uid);
            let r = loaded.and_then(|l| render(&ctx, *seq, info, seen, &l, sink, &mut fields));
            if render_result(r, info, &mut expunged, &mut refused)? {
                sink.flush_if_full().await?;
            }
        }
    }
    outcome.expunged = expunged;
    match refused {
        Some(e) => Err(e),
        None => Ok(outcome),
    }
}

/// Messages whose loads may be in flight at once, and the bytes they may
/// read together (a single larger message still goes alone).
const LOAD_WINDOW: usize = 32;
const LOAD_BYTES: usize = 8 << 20;

/// Upper bound of what loading one message reads.
fn load_cost(plan: &Plan<'_>, info: &MessageInfo) -> usize {
    let facts = if plan.needs_facts { 4096 } else { 0 };
    let bytes = if plan.locates || plan.needs_header_end {
        info.size as usize
    } else {
        0
    };
    facts + bytes
}

/// Sorts one message's outcome: true when a response was written; a
/// fatal error ends the FETCH.
fn render_result(
    r: Result<(), Skip>,
    info: &MessageInfo,
    expunged: &mut Vec<u32>,
    refused: &mut Option<ExecError>,
) -> Result<bool, ExecError> {
    match r {
        Ok(()) => Ok(true),
        Err(Skip::Expunged) => {
            expunged.push(info.uid);
            Ok(false)
        }
        Err(Skip::Refused(e)) => {
            refused.get_or_insert(e);
            Ok(false)
        }
        Err(Skip::Fatal(e)) => Err(e),
    }
}

/// UIDs without \Seen as inclusive ranges, for one store call.
fn unseen_ranges(msgs: &[(u32, MessageInfo)]) -> Vec<(u32, u32)> {
    let mut uids: Vec<u32> = msgs
        .iter()
        .filter(|(_, m)| !m.flags.contains(Flags::SEEN))
        .map(|(_, m)| m.uid)
        .collect();
    uids.sort_unstable();
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for uid in uids {
        match ranges.last_mut() {
            Some((_, hi)) if hi.checked_add(1) == Some(uid) || *hi == uid => *hi = uid,
            _ => ranges.push((uid, uid)),
        }
    }
    ranges
}

struct Ctx<'c, 'a> {
    store: &'c Store,
    mailbox: MailboxId,
    keywords: &'c [String],
    plan: &'c Plan<'a>,
    opts: &'c FetchOptions<'a>,
    utf8: bool,
}

/// An item's data located in the message, before the bytes are read.
#[derive(Debug, Clone)]
enum Resolved {
    /// The item reads nothing.
    Nothing,
    /// Send these bytes (partial already applied) as a literal; an empty
    /// range is the empty string of a missing section.
    Bytes(Range<usize>),
    /// HEADER.FIELDS: filter this header, then apply the partial.
    Fields(Range<usize>),
    /// BINARY of an encoded leaf: decode the range, then apply the partial.
    Decode(Range<usize>, TransferEncoding),
    /// BINARY.SIZE.
    Size(u64),
}

impl Resolved {
    fn range(&self) -> Option<&Range<usize>> {
        match self {
            Resolved::Bytes(r) | Resolved::Fields(r) | Resolved::Decode(r, _) if !r.is_empty() => {
                Some(r)
            }
            _ => None,
        }
    }
}

/// The sub-range `<offset.length>` of `r`; an offset past the end gives
/// an empty range (RFC 9051: the empty string).
fn apply_partial(r: Range<usize>, p: Option<Partial>) -> Range<usize> {
    let Some(p) = p else { return r };
    let len = r.len() as u64;
    let off = p.offset.min(len);
    let n = p.length.min(len - off);
    // ok: off + n <= len, which came from a usize.
    r.start + off as usize..r.start + (off + n) as usize
}

fn partial_of(data: &[u8], p: Option<Partial>) -> &[u8] {
    let r = apply_partial(0..data.len(), p);
    data.get(r).unwrap_or_default()
}

/// The stored facts, or (when the stored record is unreadable, e.g. written
/// by an older format) facts computed again from the message.
async fn load_facts(ctx: &Ctx<'_, '_>, uid: u32) -> Result<Facts, Skip> {
    match ctx.store.facts(ctx.mailbox, uid).await {
        Ok(f) => Ok(f),
        Err(StoreError::Facts(why)) => {
            tracing::warn!(uid, %why, "stored message facts unreadable; recomputing");
            let raw = ctx.store.read_message(ctx.mailbox, uid).await?;
            Ok(mime_facts::compute(&raw))
        }
        Err(e) => Err(e.into()),
    }
}

/// Where the message's own parts are, as far as this message's items
/// need to know.
#[derive(Clone, Copy)]
struct Layout<'f> {
    facts: Option<&'f Facts>,
    /// End of the top-level header, from a scan when no facts were read.
    header_end: Option<usize>,
    size: usize,
}

impl Layout<'_> {
    fn section(&self, path: &[u32], slice: Slice) -> Option<Range<usize>> {
        if path.is_empty() {
            let he = match (self.facts, self.header_end) {
                (_, _) if slice == Slice::Full => return Some(0..self.size),
                (Some(f), _) => return section_range(f, path, slice),
                (None, Some(he)) => he.min(self.size),
                (None, None) => return None,
            };
            return match slice {
                Slice::Header => Some(0..he),
                Slice::Text => Some(he..self.size),
                _ => None,
            };
        }
        self.facts.and_then(|f| section_range(f, path, slice))
    }
}

/// Where the header ends: just after the first empty line (CRLF or bare
/// LF), or None when the bytes hold no empty line. The same place the
/// stored facts record, except for a message that starts with an empty
/// line, whose header is that line here and the whole message there.
fn find_header_end(raw: &[u8]) -> Option<usize> {
    match raw {
        [b'\r', b'\n', ..] => return Some(2),
        [b'\n', ..] => return Some(1),
        _ => {}
    }
    memchr::memchr_iter(b'\n', raw).find_map(|i| match raw.get(i + 1..i + 3) {
        Some([b'\n', _]) => Some(i + 2),
        Some([b'\r', b'\n']) => Some(i + 3),
        _ if raw.get(i + 1) == Some(&b'\n') => Some(i + 2),
        _ => None,
    })
}

/// Bytes read to find the header end without the facts: most headers fit,
/// and reading 16 KiB costs about what reading 4 KiB does.
const HEADER_PREFIX: u32 = 16 << 10;

/// Reads the start of the message and finds the header end (the whole
/// message is read when the header is longer than [`HEADER_PREFIX`]).
async fn scan_header(ctx: &Ctx<'_, '_>, info: &MessageInfo) -> Result<(MessageBytes, usize), Skip> {
    let prefix = ctx
        .store
        .read_range(ctx.mailbox, info.uid, 0, info.size.min(HEADER_PREFIX))
        .await?;
    if let Some(he) = find_header_end(&prefix) {
        return Ok((prefix, he));
    }
    if info.size <= HEADER_PREFIX {
        // No empty line at all: the message is all header.
        let len = prefix.len();
        return Ok((prefix, len));
    }
    let all = ctx
        .store
        .read_range(ctx.mailbox, info.uid, 0, info.size)
        .await?;
    let he = find_header_end(&all).unwrap_or(all.len());
    Ok((all, he))
}

fn resolve(item: &Item<'_>, layout: Layout<'_>) -> Result<Resolved, Skip> {
    let facts = layout.facts;
    Ok(match item {
        Item::Section {
            path,
            spec,
            partial,
            ..
        } => {
            let slice = match spec {
                SectionSpec::Slice(s) => *s,
                SectionSpec::Fields { .. } => Slice::Header,
            };
            match (layout.section(path, slice), spec) {
                (None, _) => Resolved::Bytes(0..0),
                (Some(r), SectionSpec::Fields { .. }) => Resolved::Fields(r),
                (Some(r), SectionSpec::Slice(_)) => Resolved::Bytes(apply_partial(r, *partial)),
            }
        }
        Item::Binary { path, partial, .. } => {
            match facts.map_or(BinarySource::Missing, |f| binary_source(f, path)) {
                BinarySource::Missing => Resolved::Bytes(0..0),
                BinarySource::Identity(r) => Resolved::Bytes(apply_partial(r, *partial)),
                BinarySource::Leaf {
                    range, encoding, ..
                } if is_identity(encoding) => Resolved::Bytes(apply_partial(range, *partial)),
                BinarySource::Leaf {
                    decoded_size: None, ..
                } => {
                    return Err(unknown_cte(
                        "cannot decode the part's Content-Transfer-Encoding",
                    ));
                }
                BinarySource::Leaf {
                    range, encoding, ..
                } => Resolved::Decode(range, encoding),
                BinarySource::EncodedContainer => {
                    return Err(unknown_cte(
                        "BINARY of a multipart or message with encoded parts; fetch its parts",
                    ));
                }
            }
        }
        Item::BinarySize { path, .. } => {
            match facts.map_or(BinarySource::Missing, |f| binary_source(f, path)) {
                BinarySource::Missing => Resolved::Size(0),
                BinarySource::Identity(r) => Resolved::Size(r.len() as u64),
                BinarySource::Leaf {
                    decoded_size: Some(n),
                    ..
                } => Resolved::Size(n),
                BinarySource::Leaf { .. } => {
                    return Err(unknown_cte(
                        "cannot decode the part's Content-Transfer-Encoding",
                    ));
                }
                BinarySource::EncodedContainer => {
                    return Err(unknown_cte(
                        "BINARY.SIZE of a multipart or message with encoded parts",
                    ));
                }
            }
        }
        _ => Resolved::Nothing,
    })
}

fn is_identity(e: TransferEncoding) -> bool {
    matches!(
        e,
        TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary
    )
}

const SYSTEM_FLAGS: [(Flags, &[u8]); 5] = [
    (Flags::ANSWERED, b"\\Answered"),
    (Flags::FLAGGED, b"\\Flagged"),
    (Flags::DELETED, b"\\Deleted"),
    (Flags::SEEN, b"\\Seen"),
    (Flags::DRAFT, b"\\Draft"),
];

/// The flag names of a message in FETCH order, without allocating: system
/// flags (Dovecot's order), `\Recent` when asked, then keywords by name.
pub fn flag_names<'k>(
    flags: Flags,
    recent: bool,
    kw: &'k KeywordSet,
    names: &'k [String],
) -> impl Iterator<Item = &'k [u8]> {
    let keywords = (!kw.is_empty())
        .then(|| kw.ids().filter_map(|id| names.get(usize::from(id))))
        .into_iter()
        .flatten()
        .map(|s| s.as_bytes());
    SYSTEM_FLAGS
        .iter()
        .filter(move |(f, _)| flags.contains(*f))
        .map(|(_, n)| *n)
        .chain(recent.then_some(&b"\\Recent"[..]))
        .chain(keywords)
}

/// The bytes of `range` (message offsets) out of `data`, which holds the
/// message from offset `base`; clamped, so damaged facts give short data,
/// never a panic.
fn slice_of<'d>(data: &'d [u8], base: usize, range: &Range<usize>) -> &'d [u8] {
    let start = range.start.saturating_sub(base).min(data.len());
    let end = range.end.saturating_sub(base).clamp(start, data.len());
    data.get(start..end).unwrap_or_default()
}

/// Everything one message's response needs from the store.
#[derive(Default)]
struct Loaded {
    facts: Option<Facts>,
    /// Message bytes from offset `base` (the hull of all sections).
    data: Option<MessageBytes>,
    base: usize,
    /// Per item of the plan, where its data is.
    resolved: Vec<Resolved>,
}

/// Reads what the plan needs of one message: facts (one read) when needed,
/// then the smallest byte range covering every section (one read; none
/// when the header scan already read it).
async fn load(ctx: &Ctx<'_, '_>, info: &MessageInfo) -> Result<Loaded, Skip> {
    let plan = ctx.plan;
    let facts = match plan.needs_facts {
        true => Some(load_facts(ctx, info.uid).await?),
        false => None,
    };
    let mut prefix = None;
    let mut header_end = None;
    if plan.needs_header_end && facts.is_none() {
        let (bytes, he) = scan_header(ctx, info).await?;
        prefix = Some(bytes);
        header_end = Some(he);
    }
    let layout = Layout {
        facts: facts.as_ref(),
        header_end,
        size: info.size as usize,
    };
    let mut hull: Option<Range<usize>> = None;
    let mut resolved = Vec::new();
    if plan.locates {
        resolved.reserve(plan.items.len());
        for item in &plan.items {
            let r = resolve(item, layout)?;
            if let Some(range) = r.range() {
                hull = Some(match hull {
                    Some(h) => h.start.min(range.start)..h.end.max(range.end),
                    None => range.clone(),
                });
            }
            resolved.push(r);
        }
    }
    let (data, base) = match hull {
        Some(h) if prefix.as_ref().is_some_and(|p| h.end <= p.len()) => (prefix, 0),
        Some(h) => {
            let start = u32::try_from(h.start).unwrap_or(u32::MAX);
            let len = u32::try_from(h.len()).unwrap_or(u32::MAX);
            let bytes = ctx
                .store
                .read_range(ctx.mailbox, info.uid, start, len)
                .await?;
            (Some(bytes), h.start)
        }
        None => (None, 0),
    };
    Ok(Loaded {
        facts,
        data,
        base,
        resolved,
    })
}

/// Writes one message's response; on a refusal nothing of it stays in the
/// buffer.
fn render<S: Sink>(
    ctx: &Ctx<'_, '_>,
    seq: u32,
    info: &MessageInfo,
    seen_modseq: Option<u64>,
    loaded: &Loaded,
    sink: &mut S,
    fields: &mut BytesMut,
) -> Result<(), Skip> {
    let plan = ctx.plan;
    let flags = match seen_modseq {
        Some(_) => info.flags | Flags::SEEN,
        None => info.flags,
    };
    let modseq = seen_modseq.unwrap_or(info.modseq);
    let start_len = sink.buf().len();
    let mut r = FetchResponse::begin_keyed(sink.buf(), seq, info.uid, ctx.opts.uid_only);
    if plan.uid_first {
        r.uid(info.uid);
    }
    if seen_modseq.is_some() && !plan.flags_asked {
        r.flags(flag_names(
            flags,
            ctx.opts.recent.binary_search(&info.uid).is_ok(),
            &info.keywords,
            ctx.keywords,
        ));
    }
    let written = write_items(ctx, &mut r, info, flags, modseq, loaded, fields);
    if let Err(e) = written {
        // Nothing of a refused message's response may go out.
        sink.buf().truncate(start_len);
        return Err(e);
    }
    if ctx.opts.condstore && !plan.modseq_asked {
        r.modseq(modseq);
    }
    r.finish();
    Ok(())
}

fn write_items(
    ctx: &Ctx<'_, '_>,
    r: &mut FetchResponse<'_>,
    info: &MessageInfo,
    flags: Flags,
    modseq: u64,
    loaded: &Loaded,
    fields: &mut BytesMut,
) -> Result<(), Skip> {
    let utf8 = ctx.utf8;
    let facts = loaded.facts.as_ref();
    let data: &[u8] = loaded.data.as_deref().unwrap_or_default();
    let base = loaded.base;
    for (i, item) in ctx.plan.items.iter().enumerate() {
        let resolved = loaded.resolved.get(i).unwrap_or(&Resolved::Nothing);
        match item {
            Item::Uid => {
                r.uid(info.uid);
            }
            Item::Flags => {
                r.flags(flag_names(
                    flags,
                    ctx.opts.recent.binary_search(&info.uid).is_ok(),
                    &info.keywords,
                    ctx.keywords,
                ));
            }
            Item::InternalDate => {
                r.raw_item(b"INTERNALDATE", b"");
                internal_date(r.buf(), info.internal_date);
            }
            Item::Rfc822Size => {
                r.rfc822_size(u64::from(info.size));
            }
            Item::EmailId => {
                r.email_id(&crate::objectid::email_id(info.email_id));
            }
            Item::ThreadId => {
                r.thread_id(Some(&crate::objectid::thread_id(info.thread_id)));
            }
            Item::SaveDate => match info.save_date {
                Some(d) => {
                    r.raw_item(b"SAVEDATE", b"");
                    internal_date(r.buf(), d);
                }
                // Saved before save dates were recorded: unknown (RFC
                // 8514 allows NIL; see docs/imap.md).
                None => {
                    r.save_date(None);
                }
            },
            Item::ModSeq => {
                r.modseq(modseq);
            }
            Item::Envelope => {
                if let Some(f) = facts {
                    r.raw_item(b"ENVELOPE", b"");
                    crate::render::envelope(r.buf(), &f.envelope, utf8);
                }
            }
            Item::Structure { extensible } => {
                if let Some(f) = facts {
                    r.raw_item(
                        if *extensible {
                            &b"BODYSTRUCTURE"[..]
                        } else {
                            &b"BODY"[..]
                        },
                        b"",
                    );
                    crate::render::body_structure(r.buf(), f, 0, *extensible, utf8);
                }
            }
            Item::Preview => {
                r.preview(facts.map(|f| f.preview.as_bytes()), utf8);
            }
            Item::Section {
                name,
                spec,
                partial,
                ..
            } => {
                let origin = partial.map(|p| p.offset);
                match (resolved, spec) {
                    (Resolved::Fields(range), SectionSpec::Fields { names, not }) => {
                        select_fields(fields, slice_of(data, base, range), names, *not);
                        section_name(r, name, origin);
                        literal(r, partial_of(fields, *partial), false);
                    }
                    (Resolved::Bytes(range), _) => {
                        section_name(r, name, origin);
                        literal(r, slice_of(data, base, range), false);
                    }
                    _ => {
                        section_name(r, name, origin);
                        literal(r, &[], false);
                    }
                }
            }
            Item::Binary { part, partial, .. } => {
                let origin = partial.map(|p| p.offset);
                match resolved {
                    Resolved::Decode(range, enc) => {
                        let decoded = decode_binary(slice_of(data, base, range), *enc)
                            .map_err(|e| unknown_cte(&e.to_string()))?;
                        binary_name(r, part, origin);
                        let out = partial_of(&decoded, *partial);
                        literal(r, out, memchr::memchr(0, out).is_some());
                    }
                    Resolved::Bytes(range) => {
                        binary_name(r, part, origin);
                        let out = slice_of(data, base, range);
                        literal(r, out, memchr::memchr(0, out).is_some());
                    }
                    _ => {
                        binary_name(r, part, origin);
                        literal(r, &[], false);
                    }
                }
            }
            Item::BinarySize { part, .. } => {
                let n = match resolved {
                    Resolved::Size(n) => *n,
                    _ => 0,
                };
                r.binary_name(part, true, None).value_number(n);
            }
        }
    }
    Ok(())
}

/// `"07-Feb-1994 21:52:25 +0000"`. The day is zero-padded as Dovecot and
/// most servers send it; `encode::date_time` pads with a space, which the
/// grammar also allows but some clients' date parsers trip over.
fn internal_date(buf: &mut BytesMut, secs: i64) {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    fn two(buf: &mut BytesMut, n: u8) {
        buf.put_u8(b'0' + (n / 10) % 10);
        buf.put_u8(b'0' + n % 10);
    }
    let d = crate::dates::from_unix(secs);
    buf.put_u8(b'"');
    two(buf, d.date.day);
    buf.put_u8(b'-');
    let month = MONTHS
        .get(usize::from(d.date.month.saturating_sub(1)))
        .copied()
        .unwrap_or(b"Jan");
    buf.extend_from_slice(month);
    buf.put_u8(b'-');
    let y = d.date.year.min(9999);
    two(buf, (y / 100) as u8);
    two(buf, (y % 100) as u8);
    buf.put_u8(b' ');
    two(buf, d.hour);
    buf.put_u8(b':');
    two(buf, d.minute);
    buf.put_u8(b':');
    two(buf, d.second);
    buf.extend_from_slice(b" +0000\"");
}

fn select_fields(out: &mut BytesMut, header: &[u8], names: &FieldNames, not: bool) {
    out.clear();
    header_fields::select(out, header, names, not);
}

/// The item name of a section, followed by the space before its value.
fn section_name(r: &mut FetchResponse<'_>, name: &SectionName<'_>, origin: Option<u64>) {
    match name {
        SectionName::Body(s) => {
            r.body_section_name(s, origin).raw(b" ");
        }
        SectionName::Rfc822 => {
            r.raw_item(b"RFC822", b"");
        }
        SectionName::Rfc822Header => {
            r.raw_item(b"RFC822.HEADER", b"");
        }
        SectionName::Rfc822Text => {
            r.raw_item(b"RFC822.TEXT", b"");
        }
    }
}

fn binary_name(r: &mut FetchResponse<'_>, part: &Part<'_>, origin: Option<u64>) {
    r.binary_name(part, false, origin).raw(b" ");
}

/// Body data always goes as a literal (`~{n}` when it holds NUL), as
/// Dovecot sends it: it may contain CR, LF or 8-bit bytes anyway.
fn literal(r: &mut FetchResponse<'_>, bytes: &[u8], binary: bool) {
    literal_header(r.buf(), bytes.len() as u64, binary);
    r.raw(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_ranges() {
        let p = |offset, length| Some(Partial { offset, length });
        assert_eq!(apply_partial(10..20, None), 10..20);
        assert_eq!(apply_partial(10..20, p(2, 3)), 12..15);
        assert_eq!(apply_partial(10..20, p(8, 100)), 18..20);
        assert_eq!(apply_partial(10..20, p(10, 5)), 20..20);
        assert_eq!(apply_partial(10..20, p(u64::MAX, u64::MAX)), 20..20);
        // A zero count (the grammar forbids it, but it must not misbehave).
        assert_eq!(apply_partial(10..20, p(3, 0)), 13..13);
    }

    #[test]
    fn internal_date_is_zero_padded_utc() {
        let mut b = BytesMut::new();
        internal_date(&mut b, 760_657_945);
        assert_eq!(&b[..], b"\"07-Feb-1994 21:52:25 +0000\"");
        b.clear();
        internal_date(&mut b, 1_700_000_000);
        assert_eq!(&b[..], b"\"14-Nov-2023 22:13:20 +0000\"");
        b.clear();
        internal_date(&mut b, -1);
        assert_eq!(&b[..], b"\"31-Dec-1969 23:59:59 +0000\"");
    }

    #[test]
    fn header_end_is_after_the_first_empty_line() {
        assert_eq!(find_header_end(b"A: 1\r\nB: 2\r\n\r\nbody"), Some(14));
        assert_eq!(find_header_end(b"A: 1\nB: 2\n\nbody"), Some(11));
        assert_eq!(find_header_end(b"A: 1\r\nB: 2\n\r\nbody"), Some(13));
        assert_eq!(find_header_end(b"A: 1\r\n \r\nB: 2\r\n\r\n"), Some(17));
        assert_eq!(find_header_end(b"A: 1\r\nB: 2\r\n"), None);
        assert_eq!(find_header_end(b"A: 1\n"), None);
        assert_eq!(find_header_end(b"\r\nbody"), Some(2));
        assert_eq!(find_header_end(b"\nbody"), Some(1));
        assert_eq!(find_header_end(b""), None);
        assert_eq!(find_header_end(b"A: 1\r\n\r"), None);
    }

    #[test]
    fn slices_are_clamped() {
        let data = b"0123456789";
        assert_eq!(slice_of(data, 100, &(102..105)), b"234");
        assert_eq!(slice_of(data, 100, &(105..200)), b"56789");
        assert_eq!(slice_of(data, 100, &(50..60)), b"");
        assert_eq!(slice_of(data, 100, &(300..400)), b"");
    }

    fn info(uid: u32, flags: Flags) -> (u32, MessageInfo) {
        (
            uid,
            MessageInfo {
                uid,
                flags,
                keywords: KeywordSet::new(),
                internal_date: 0,
                size: 0,
                modseq: 1,
                email_id: u64::from(uid),
                thread_id: u64::from(uid),
                save_date: None,
            },
        )
    }

    #[test]
    fn unseen_uids_coalesce_into_ranges() {
        let msgs = [
            info(5, Flags::empty()),
            info(1, Flags::empty()),
            info(2, Flags::SEEN),
            info(3, Flags::empty()),
            info(4, Flags::DRAFT),
            info(u32::MAX, Flags::empty()),
        ];
        assert_eq!(
            unseen_ranges(&msgs),
            vec![(1, 1), (3, 5), (u32::MAX, u32::MAX)]
        );
    }

    #[test]
    fn flag_names_in_dovecot_order_then_keywords() {
        let names = vec!["$Junk".to_string(), "$Forwarded".to_string()];
        let kw = KeywordSet::from_ids([1, 0, 7]);
        let got: Vec<&[u8]> = flag_names(
            Flags::SEEN | Flags::ANSWERED | Flags::DRAFT,
            false,
            &kw,
            &names,
        )
        .collect();
        assert_eq!(
            got,
            vec![
                &b"\\Answered"[..],
                b"\\Seen",
                b"\\Draft",
                b"$Junk",
                b"$Forwarded"
            ]
        );
    }
}
