//! SEARCH and UID SEARCH (RFC 9051 §6.4.4, RFC 3501), with ESEARCH result
//! options (RFC 4731), SEARCHRES `$` (RFC 5182), OLDER/YOUNGER (RFC 5032)
//! and the MODSEQ key (RFC 7162).
//!
//! [`search`] evaluates parsed keys over the caller's view of a mailbox and
//! returns the matching sequence positions; [`render_result`] writes the
//! `* SEARCH` or `* ESEARCH` response and gives back what SAVE keeps.
//!
//! Cost: keys answered by the index (flags, numbers, dates, sizes, modseq)
//! never touch the disk; envelope keys (FROM, SUBJECT, SENT*) read the
//! stored facts; HEADER reads the header block; BODY and TEXT read the whole
//! message, at most once. A message is read only if cheaper keys did not
//! decide it (see [`eval`](self) for the three-valued evaluation).
//!
//! Choices the RFCs leave open or postcore's store dictates:
//! - RECENT is session state: the caller passes the UIDs recent to this
//!   session ([`SearchContext::recent`]); an empty slice (IMAP4rev2, where
//!   \Recent is gone) makes RECENT and NEW match nothing and OLD everything.
//! - BEFORE/ON/SINCE use the INTERNALDATE's UTC day; SENT* the Date
//!   header's own day.
//! - SAVEDBEFORE/SAVEDON/SAVEDSINCE use the save date's UTC day; a message
//!   stored before save dates were kept (FETCH SAVEDATE NIL) matches none
//!   of them. SAVEDATESUPPORTED matches every message: every mailbox keeps
//!   save dates.
//! - EMAILID/THREADID compare the whole id; an id of another form matches
//!   nothing. With OBJECTID or SAVEDATE off ([`SearchContext`]) their keys
//!   are refused with BAD.
//! - Text comparison: Unicode simple lowercasing (see `text`).

mod date;
mod eval;
mod plan;
pub(crate) mod render;
mod text;

use imap_proto::SearchKeys;
use store::{MailboxId, MessageInfo, Store};

use crate::ExecError;
use plan::Level;

pub use render::{SearchResponse, render_result};

/// The response code for an unsupported CHARSET (RFC 9051 §6.4.4).
pub const BADCHARSET_CODE: &str = "BADCHARSET (UTF-8 US-ASCII)";

/// Session state a search depends on.
#[derive(Debug, Clone, Copy, Default)]
pub struct SearchContext<'a> {
    /// The saved result (SEARCHRES `$`) as UIDs; None when nothing was
    /// saved yet (then `$` is the empty set).
    pub saved: Option<&'a [u32]>,
    /// UIDs that are \Recent in this session (any order).
    pub recent: &'a [u32],
    /// The current time, unix seconds (OLDER/YOUNGER).
    pub now: i64,
    /// UTF8=ACCEPT is enabled. Search strings are taken as UTF-8 either
    /// way (the only charsets accepted are UTF-8 and its subset US-ASCII),
    /// so this changes nothing today; it is here so the session hands over
    /// its whole state and a future charset rule has it.
    pub utf8: bool,
    /// The CHARSET argument, if one was given.
    pub charset: Option<&'a [u8]>,
    /// OBJECTID is on: EMAILID/THREADID keys are accepted (else BAD).
    pub objectid: bool,
    /// SAVEDATE is on: SAVED* keys are accepted (else BAD).
    pub savedate: bool,
    /// WITHIN is on: OLDER/YOUNGER are accepted (else BAD).
    pub within: bool,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchOutcome {
    /// Indexes into the caller's `msgs` (sequence number - 1), ascending.
    pub matches: Vec<u32>,
    /// A MODSEQ key was used: the response reports the highest MODSEQ of
    /// the matches (RFC 7162 §3.1.5).
    pub uses_modseq: bool,
    /// Whole messages read from disk (for tests of the I/O promises).
    pub messages_read: u64,
    /// Facts records read from disk.
    pub facts_read: u64,
}

/// Told how far a long search is, so the session can send RFC 9585
/// INPROGRESS responses while it runs.
pub trait Progress {
    /// `done` of `total` messages decided. Called often (every batch):
    /// the implementation decides whether to say anything.
    fn report(&mut self, done: u32, total: u32) -> impl std::future::Future<Output = ()>;
}

/// For searches nobody watches.
pub struct NoProgress;

impl Progress for NoProgress {
    async fn report(&mut self, _done: u32, _total: u32) {}
}

/// Messages the index decides between two progress reports.
const REPORT_EVERY: usize = 4096;

/// Evaluates `keys` over `msgs` (the session's view, in sequence order;
/// `keywords` is the mailbox's keyword table that `msgs`' keyword ids
/// index).
pub async fn search(
    store: &Store,
    mailbox: MailboxId,
    keywords: &[String],
    msgs: &[MessageInfo],
    keys: &SearchKeys<'_>,
    ctx: &SearchContext<'_>,
) -> Result<SearchOutcome, ExecError> {
    search_reporting(store, mailbox, keywords, msgs, keys, ctx, &mut NoProgress).await
}

/// [`search`], telling `progress` how far it is between batches.
pub async fn search_reporting<P: Progress>(
    store: &Store,
    mailbox: MailboxId,
    keywords: &[String],
    msgs: &[MessageInfo],
    keys: &SearchKeys<'_>,
    ctx: &SearchContext<'_>,
    progress: &mut P,
) -> Result<SearchOutcome, ExecError> {
    if let Some(cs) = ctx.charset {
        // The parser admits only these two today; checked again here so a
        // wider parser cannot make us misread the search strings.
        if !(cs.eq_ignore_ascii_case(b"UTF-8") || cs.eq_ignore_ascii_case(b"US-ASCII")) {
            return Err(ExecError::no(Some(BADCHARSET_CODE), "Unsupported charset"));
        }
    }
    let plan = plan::compile(keys, keywords, msgs, ctx)?;
    run(
        store,
        mailbox,
        &plan,
        msgs.iter().enumerate(),
        msgs.len(),
        progress,
    )
    .await
}

/// Evaluates `keys` for only the messages at `among` (indexes into `msgs`,
/// ascending), with `msgs` as the whole view: `*` and message numbers mean
/// what they would in a full search. An RFC 5267 UPDATE context uses it to
/// re-decide just the messages that changed.
pub async fn search_among(
    store: &Store,
    mailbox: MailboxId,
    keywords: &[String],
    msgs: &[MessageInfo],
    among: &[u32],
    keys: &SearchKeys<'_>,
    ctx: &SearchContext<'_>,
) -> Result<SearchOutcome, ExecError> {
    let plan = plan::compile(keys, keywords, msgs, ctx)?;
    let some = among
        .iter()
        .filter_map(|&i| msgs.get(i as usize).map(|m| (i as usize, m)));
    run(store, mailbox, &plan, some, among.len(), &mut NoProgress).await
}

async fn run<'m, P: Progress>(
    store: &Store,
    mailbox: MailboxId,
    plan: &plan::Plan,
    msgs: impl Iterator<Item = (usize, &'m MessageInfo)>,
    count: usize,
    progress: &mut P,
) -> Result<SearchOutcome, ExecError> {
    let root = &plan.root;
    let max = root.max_level();
    let levels: Vec<Level> = [Level::Facts, Level::Header, Level::Body]
        .into_iter()
        .filter(|&l| l <= max && root.uses_level(l))
        .collect();
    let mut out = SearchOutcome {
        uses_modseq: plan.uses_modseq,
        ..SearchOutcome::default()
    };
    // Messages the index could not decide are evaluated in batches whose
    // store reads overlap (one read's latency instead of one per message);
    // a batch is bounded in messages and in bytes so BODY on large mail
    // does not hold much in memory.
    let mut batch: Vec<(u32, &MessageInfo)> = Vec::new();
    let mut batch_bytes = 0u64;
    let total = u32::try_from(count).unwrap_or(u32::MAX);
    for (n, (i, m)) in msgs.enumerate() {
        let Ok(idx) = u32::try_from(i) else { break };
        if n % REPORT_EVERY == REPORT_EVERY - 1 {
            progress.report(idx, total).await;
        }
        let seq = idx.saturating_add(1);
        let mut d = eval::MsgData::default();
        match eval::eval(root, seq, m, &mut d, Level::Index) {
            Some(true) => out.matches.push(idx),
            Some(false) => {}
            None => {
                batch.push((idx, m));
                batch_bytes += u64::from(m.size);
                if batch.len() >= BATCH_MESSAGES || batch_bytes >= BATCH_BYTES {
                    run_batch(store, mailbox, root, &levels, &batch, &mut out).await?;
                    batch.clear();
                    batch_bytes = 0;
                    progress.report(idx + 1, total).await;
                }
            }
        }
    }
    run_batch(store, mailbox, root, &levels, &batch, &mut out).await?;
    // Batched matches arrive after index-decided ones.
    out.matches.sort_unstable();
    Ok(out)
}

/// Most messages whose reads one search keeps in flight.
const BATCH_MESSAGES: usize = 32;
/// Most message bytes one batch may read (a lone larger message still goes).
const BATCH_BYTES: u64 = 8 << 20;

/// Decides the undecided messages of `batch` concurrently, loading level
/// after level only for those still undecided.
async fn run_batch(
    store: &Store,
    mailbox: MailboxId,
    root: &plan::Node,
    levels: &[Level],
    batch: &[(u32, &MessageInfo)],
    out: &mut SearchOutcome,
) -> Result<(), ExecError> {
    let results = futures_util::future::join_all(
        batch
            .iter()
            .map(|&(idx, m)| decide(store, mailbox, root, levels, idx, m)),
    )
    .await;
    for res in results {
        let (idx, matched, facts_reads, reads) = res?;
        out.facts_read += u64::from(facts_reads);
        out.messages_read += u64::from(reads);
        if matched {
            out.matches.push(idx);
        }
    }
    Ok(())
}

/// Loads level after level for one message until it is decided.
/// Returns (index, matched, facts reads, message reads).
async fn decide(
    store: &Store,
    mailbox: MailboxId,
    root: &plan::Node,
    levels: &[Level],
    idx: u32,
    m: &MessageInfo,
) -> Result<(u32, bool, u32, u32), ExecError> {
    let seq = idx.saturating_add(1);
    let mut d = eval::MsgData::default();
    let mut r = None;
    for &level in levels {
        if !eval::load(store, mailbox, m.uid, &mut d, level).await? {
            r = Some(false);
            break;
        }
        r = eval::eval(root, seq, m, &mut d, level);
        if r.is_some() {
            break;
        }
    }
    Ok((idx, r == Some(true), d.facts_reads, d.reads))
}
