//! `postcore import`: mail from another server's Maildir++ tree (Dovecot's
//! `dovecot-uidlist`, `dovecot-keywords`, `subscriptions`), from an mbox
//! file, or pulled from a live IMAP server ([`crate::import_imap`]) into a
//! user's store, keeping UIDVALIDITY, UIDs and UIDNEXT wherever the source
//! records them so clients keep their caches.
//!
//! Blocking I/O: the migrate crate reads with std::fs, which must never run
//! on a glommio executor thread (it would stall every store on the shard).
//! Its readers run on the executor's blocking pool through `spawn_blocking`,
//! one call per batch, and the next batch is read while the store makes the
//! current one durable. A plain std thread with a channel would do the same,
//! but `spawn_blocking` hands back a future the executor can await directly
//! (no cross-thread channel to build), the pool already exists per
//! executor, and batching keeps the per-call hand-off cost negligible.
//!
//! Resuming: every batch is one atomic, durable store record, so a killed
//! import leaves a prefix of the source in the store. Source UIDs are
//! assigned deterministically (the same source gives the same UIDs on every
//! run), and a re-run skips every source message whose UID is below the
//! mailbox's UIDNEXT. Where the source has no UIDVALIDITY of its own (a
//! folder without `dovecot-uidlist`, an mbox without `X-IMAPbase`), nothing
//! proves the mailbox was filled from this source, so a non-empty mailbox
//! is only resumed when its newest message matches the source message that
//! would have that UID (same size and internal date); otherwise the import
//! stops with a conflict. A source that changed between runs (new
//! deliveries sort by file name, usually last) may shift UIDs of its
//! uid-less messages: re-run against the same source.

use crate::import_imap::{self, ImapArgs, ImapFeed, StateHook};
use crate::offline::{Job, for_each_user, select_users};
use crate::target::{Target, TargetError};
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use migrate::{Message, maildir, mbox};
use server::admin::{Refusal, WireError, client::Client};
use server::config::Config;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use store::{Flags, MailboxId, NewMessage, SpecialUse, Store, StoreError};

/// One store record per batch: big enough that the fdatasync per record is
/// amortised, small enough to bound memory (messages are held in full).
pub(crate) const BATCH_MESSAGES: usize = 1000;
pub(crate) const BATCH_BYTES: u64 = 32 << 20;
/// Failure reasons printed per folder; the rest are counted.
const MAX_REASONS: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceFormat {
    /// A Maildir / Maildir++ tree as Dovecot or Courier keep it.
    Maildir,
    /// A single mbox file.
    Mbox,
    /// A live IMAP server, read without changing it (see --host).
    Imap,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MboxVariant {
    /// Body lines `>From `, `>>From `, ... lose one `>` (mutt, Dovecot).
    Mboxrd,
    /// Only `>From ` lines lose their `>` (classic mbox).
    Mboxo,
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("target").args(["user", "users_dir"]).required(true)))]
pub struct ImportArgs {
    /// Source format.
    #[arg(long, value_enum)]
    from: SourceFormat,
    /// Dialect of the mbox file (with --from mbox).
    #[arg(long, value_enum, default_value = "mboxrd")]
    mbox_variant: MboxVariant,
    /// Mailbox the mbox file goes into (with --from mbox).
    #[arg(long, default_value = store::INBOX)]
    mailbox: String,
    /// Import every user at once: DIR holds one Maildir per user
    /// (DIR/<user>/cur, DIR/<user>/.Sent, ...); users are imported in
    /// parallel, each on its home shard. Only with --from maildir.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["user", "path"])]
    users_dir: Option<PathBuf>,
    /// The user to import into (their store is created, with the default
    /// folders, when it does not exist yet).
    user: Option<String>,
    /// The Maildir root (it is INBOX; Maildir++ subfolders are its `.X`
    /// directories), or the mbox file. Not with --from imap.
    path: Option<PathBuf>,
    #[command(flatten)]
    imap: ImapArgs,
}

#[derive(Clone)]
enum Source {
    Maildir(PathBuf),
    Mbox {
        path: PathBuf,
        variant: mbox::Variant,
        mailbox: String,
    },
}

/// Runs blocking file work on the executor's blocking pool (see the module
/// comment for why).
pub(crate) async fn blocking<R, F>(f: F) -> R
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    glommio::executor().spawn_blocking(f).await
}

fn now_uidvalidity() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs().clamp(1, u32::MAX as u64) as u32)
        .unwrap_or(1)
}

/// The special use a folder gets when an import creates it, from the names
/// common servers and clients give those folders.
fn special_use_for(name: &str) -> SpecialUse {
    let name = name.to_ascii_lowercase();
    match name.as_str() {
        "sent" | "sent messages" | "sent items" | "sent mail" => SpecialUse::Sent,
        "drafts" => SpecialUse::Drafts,
        "trash" | "deleted messages" | "deleted items" => SpecialUse::Trash,
        "junk" | "spam" => SpecialUse::Junk,
        "archive" | "archives" => SpecialUse::Archive,
        _ => SpecialUse::None,
    }
}

// ---------------------------------------------------------------------------
// reading the source in batches (on the blocking pool)

/// One source message as the reader saw it.
pub(crate) enum Item {
    /// UID below the mailbox's UIDNEXT: imported by an earlier run. Carries
    /// (size, internal date) to check a resume against the store.
    Skip(u32, u64, i64),
    Fail(Option<u32>, String),
    Msg(u32, Message),
    /// Not imported, and rightly so (expunged on the source meanwhile):
    /// reported, not counted as a failure.
    Note(u32, String),
    /// The source cannot go on (the IMAP connection broke): the folder
    /// stops here, before its UIDNEXT is raised past what was not read.
    Abort(String),
}

pub(crate) struct MaildirFeed {
    queue: VecDeque<(u32, maildir::Entry)>,
}

pub(crate) struct MboxFeed {
    reader: mbox::Reader<BufReader<File>>,
    last_uid: u32,
    done: bool,
}

pub(crate) enum Feed {
    Maildir(MaildirFeed),
    Mbox(Box<MboxFeed>),
    Imap(Box<ImapFeed>),
}

impl Feed {
    fn done(&self) -> bool {
        match self {
            Feed::Maildir(f) => f.queue.is_empty(),
            Feed::Mbox(f) => f.done,
            Feed::Imap(f) => f.done(),
        }
    }

    /// Up to one batch of messages (skipped and failed ones do not count
    /// towards it, so a resumed import races through what is already in).
    fn read_batch(&mut self, skip_below: u32, max_size: u64) -> Vec<Item> {
        if let Feed::Imap(f) = self {
            return f.read_batch(skip_below, max_size);
        }
        let mut out = Vec::new();
        let (mut msgs, mut bytes) = (0usize, 0u64);
        while msgs < BATCH_MESSAGES && bytes < BATCH_BYTES && out.len() < 20 * BATCH_MESSAGES {
            let item = match self {
                Feed::Maildir(f) => {
                    let Some((uid, e)) = f.queue.pop_front() else {
                        break;
                    };
                    if uid < skip_below {
                        Item::Skip(uid, e.size, e.meta.internal_date)
                    } else if e.size > max_size {
                        Item::Fail(Some(uid), too_big(e.size, max_size))
                    } else {
                        match maildir::read(&e) {
                            Ok(m) => Item::Msg(uid, m),
                            Err(err) => Item::Fail(Some(uid), err.to_string()),
                        }
                    }
                }
                Feed::Imap(_) => break,
                Feed::Mbox(f) => {
                    if f.done {
                        break;
                    }
                    match f.reader.next() {
                        None => {
                            f.done = true;
                            break;
                        }
                        Some(Err(err)) => {
                            f.done = true;
                            Item::Fail(None, format!("{err}; the rest of the file is not imported"))
                        }
                        Some(Ok(m)) => {
                            let uid = match m.meta.uid {
                                Some(u) if u > f.last_uid => Some(u),
                                _ => f.last_uid.checked_add(1).filter(|u| *u < u32::MAX),
                            };
                            match uid {
                                None => {
                                    f.done = true;
                                    Item::Fail(None, "UID space exhausted".into())
                                }
                                Some(uid) => {
                                    f.last_uid = uid;
                                    let size = m.raw.len() as u64;
                                    if uid < skip_below {
                                        Item::Skip(uid, size, m.meta.internal_date)
                                    } else if size > max_size {
                                        Item::Fail(Some(uid), too_big(size, max_size))
                                    } else {
                                        Item::Msg(uid, m)
                                    }
                                }
                            }
                        }
                    }
                }
            };
            if let Item::Msg(_, m) = &item {
                msgs += 1;
                bytes += m.raw.len() as u64;
            }
            out.push(item);
        }
        out
    }
}

pub(crate) fn too_big(size: u64, limit: u64) -> String {
    format!("{size} bytes, over the size limit of {limit} bytes")
}

/// Reads the next batch on the blocking pool, handing the feed back.
async fn next_batch(mut feed: Feed, skip_below: u32, max_size: u64) -> (Feed, Vec<Item>) {
    blocking(move || {
        let items = feed.read_batch(skip_below, max_size);
        (feed, items)
    })
    .await
}

// ---------------------------------------------------------------------------
// reports

#[derive(Default)]
pub(crate) struct FolderReport {
    name: String,
    imported: u64,
    skipped: u64,
    failed: u64,
    bytes: u64,
    reasons: Vec<String>,
    notes: Vec<String>,
    /// Imported under new UIDs: the live mailbox had taken the source's.
    renumbered: u64,
    uidvalidity: u32,
    uidnext: u32,
}

impl FolderReport {
    pub(crate) fn new(name: &str) -> Self {
        FolderReport {
            name: name.to_owned(),
            ..FolderReport::default()
        }
    }

    pub(crate) fn fail(&mut self, uid: Option<u32>, reason: impl std::fmt::Display) {
        self.failed += 1;
        if self.reasons.len() < MAX_REASONS {
            self.reasons.push(match uid {
                Some(u) => format!("uid {u}: {reason}"),
                None => reason.to_string(),
            });
        }
    }
}

pub struct UserReport {
    pub(crate) user: String,
    pub(crate) source: PathBuf,
    pub(crate) new_store: bool,
    /// Written through the running server (admin socket).
    pub(crate) live: bool,
    pub(crate) folders: Vec<FolderReport>,
    /// Folders not imported (undecodable names), with reasons.
    pub(crate) skipped_folders: Vec<String>,
    pub(crate) elapsed: Duration,
}

impl UserReport {
    pub(crate) fn failed(&self) -> u64 {
        self.folders.iter().map(|f| f.failed).sum::<u64>() + self.skipped_folders.len() as u64
    }

    pub(crate) fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{}: from {}{}{}",
            self.user,
            self.source.display(),
            if self.new_store { " (new store)" } else { "" },
            if self.live {
                " (into the running server)"
            } else {
                ""
            }
        );
        let (mut imp, mut skip, mut bytes) = (0u64, 0u64, 0u64);
        for f in &self.folders {
            imp += f.imported;
            skip += f.skipped;
            bytes += f.bytes;
            let _ = writeln!(
                s,
                "  {:<30} {:>8} imported {:>8} skipped (already there) {:>6} failed   uidvalidity {} uidnext {}",
                f.name, f.imported, f.skipped, f.failed, f.uidvalidity, f.uidnext
            );
            if f.renumbered > 0 {
                let _ = writeln!(
                    s,
                    "      note: {} message(s) got new UIDs: mail arrived in this mailbox during the import",
                    f.renumbered
                );
            }
            for n in &f.notes {
                let _ = writeln!(s, "      note: {n}");
            }
            for r in &f.reasons {
                let _ = writeln!(s, "      failed: {r}");
            }
            if f.failed as usize > f.reasons.len() {
                let _ = writeln!(
                    s,
                    "      ... and {} more",
                    f.failed as usize - f.reasons.len()
                );
            }
        }
        for sf in &self.skipped_folders {
            let _ = writeln!(s, "  folder not imported: {sf}");
        }
        let secs = self.elapsed.as_secs_f64().max(1e-6);
        let _ = writeln!(
            s,
            "{}: {imp} imported, {skip} skipped, {} failed; {:.1} MB in {:.2} s ({:.0} messages/s, {:.1} MB/s)",
            self.user,
            self.failed(),
            bytes as f64 / 1e6,
            secs,
            imp as f64 / secs,
            bytes as f64 / 1e6 / secs
        );
        s
    }
}

// ---------------------------------------------------------------------------
// importing

/// What the source says about one folder before its messages are read.
pub(crate) struct Plan {
    pub(crate) name: String,
    /// From the source; `None` takes the time (or the resumed mailbox's).
    pub(crate) uidvalidity: Option<u32>,
    /// The source's UIDNEXT, when it records one (known up front).
    pub(crate) uidnext: Option<u32>,
    /// `Some` when the subscription state should be set from the source.
    pub(crate) subscribe: Option<bool>,
    /// From the source (IMAP's LIST); `None` guesses from the name.
    pub(crate) special_use: Option<SpecialUse>,
    /// Told the highest source UID dealt with after each durable batch.
    pub(crate) after_batch: Option<StateHook>,
}

fn new_message(m: &Message, keywords: bool) -> NewMessage<'_> {
    NewMessage {
        raw: &m.raw,
        flags: Flags(m.meta.flags).sanitized(),
        keywords: if keywords {
            m.meta.keywords.clone()
        } else {
            Vec::new()
        },
        internal_date: m.meta.internal_date,
    }
}

/// Appends one batch as one record; when the store refuses it for a reason
/// tied to one message (a bad keyword, a limit), the batch is retried one
/// message at a time so only that message fails. Errors returned abort
/// the user (disk trouble: the store is poisoned).
///
/// Into a live store, the source's UIDs may be taken by mail delivered
/// during the import (UIDs only grow): the batch then gets new UIDs, which
/// the report says, rather than being lost.
async fn append_batch(
    store: &Target,
    id: MailboxId,
    batch: &[(u32, Message)],
    rep: &mut FolderReport,
) -> Result<(), TargetError> {
    if batch.is_empty() {
        return Ok(());
    }
    let uids: Vec<u32> = batch.iter().map(|(u, _)| *u).collect();
    let msgs: Vec<NewMessage<'_>> = batch.iter().map(|(_, m)| new_message(m, true)).collect();
    let bytes = batch.iter().map(|(_, m)| m.raw.len() as u64).sum::<u64>();
    match store.import_append(id, &uids, &msgs).await {
        Ok(()) => {
            rep.imported += batch.len() as u64;
            rep.bytes += bytes;
            return Ok(());
        }
        Err(e) => match e.refusal() {
            Refusal::Keyword(_) | Refusal::Message(_) => {}
            Refusal::Conflict(_) if store.is_live() => {
                store.append(id, &msgs).await?;
                rep.imported += batch.len() as u64;
                rep.bytes += bytes;
                rep.renumbered += batch.len() as u64;
                return Ok(());
            }
            _ => return Err(e),
        },
    }
    for (uid, m) in batch {
        let r = store
            .import_append(id, &[*uid], &[new_message(m, true)])
            .await;
        let r = match r {
            Err(e) if matches!(e.refusal(), Refusal::Keyword(_)) && !m.meta.keywords.is_empty() => {
                // A keyword this store cannot hold must not cost the message.
                let again = store
                    .import_append(id, &[*uid], &[new_message(m, false)])
                    .await;
                if again.is_ok() && rep.notes.len() < MAX_REASONS {
                    rep.notes
                        .push(format!("uid {uid}: imported without its keywords ({e})"));
                }
                again
            }
            r => r,
        };
        match r {
            Ok(()) => {
                rep.imported += 1;
                rep.bytes += m.raw.len() as u64;
            }
            Err(e) => match e.refusal() {
                Refusal::Keyword(t) | Refusal::Message(t) => rep.fail(Some(*uid), t),
                _ => return Err(e),
            },
        }
    }
    Ok(())
}

pub(crate) struct Ctx {
    pub(crate) bar: ProgressBar,
    pub(crate) max_size: u64,
    /// The running server's admin socket, if one can be addressed.
    pub(crate) admin: Option<server::admin::Endpoint>,
}

/// Imports one folder's messages from `feed`. For mbox the feed has to be
/// read before the mailbox can be chosen (X-IMAPbase is in its first
/// message), so the first batch is read here, before anything else.
pub(crate) async fn import_folder(
    store: &Target,
    mut plan: Plan,
    feed: Feed,
    ctx: &Ctx,
) -> anyhow::Result<FolderReport> {
    let mut rep = FolderReport {
        name: plan.name.clone(),
        ..FolderReport::default()
    };
    let is_mbox = matches!(feed, Feed::Mbox(_));
    let (mut feed, mut items) = if is_mbox {
        let (mut feed, items) = next_batch(feed, 0, ctx.max_size).await;
        if let Feed::Mbox(f) = &mut feed {
            plan.uidvalidity = f.reader.uidvalidity().filter(|v| *v != 0);
            plan.uidnext = f.reader.uidnext();
        }
        (feed, Some(items))
    } else {
        (feed, None)
    };

    // Which mailbox, under which UIDVALIDITY; and for a source without a
    // UIDVALIDITY of its own resuming into a non-empty mailbox, which
    // message must match to prove it is this source's (module comment).
    let mut must_match: Option<(u32, u64, i64)> = None;
    let uidvalidity = match plan.uidvalidity {
        Some(v) => v,
        None => match store.state(&plan.name).await? {
            Some(st) if st.uidnext > 1 => {
                let Some(last) = st.last else {
                    bail!(
                        "import conflict: {} has no messages but has been used (UIDNEXT {}), \
                         and the source has no UIDVALIDITY to resume under",
                        plan.name,
                        st.uidnext
                    );
                };
                must_match = Some(last);
                st.uidvalidity
            }
            _ => now_uidvalidity(),
        },
    };
    let special_use = plan
        .special_use
        .unwrap_or_else(|| special_use_for(&plan.name));
    let id = store
        .import_mailbox(&plan.name, uidvalidity, special_use)
        .await?;
    let st = store
        .state(&plan.name)
        .await?
        .with_context(|| format!("mailbox {} vanished during the import", plan.name))?;
    let skip_below = st.uidnext;
    // Sorted UIDs present, to tell "already there" from "passed but absent".
    let present: Vec<u32> = st.uids;
    let mut last_uid = 0u32;
    loop {
        let batch_items = match items.take() {
            Some(i) => i,
            None => {
                if feed.done() {
                    break;
                }
                let (f, i) = next_batch(feed, skip_below, ctx.max_size).await;
                feed = f;
                i
            }
        };
        // Read ahead while this batch is made durable.
        let ahead = (!feed.done()).then(|| {
            let f = std::mem::replace(
                &mut feed,
                Feed::Maildir(MaildirFeed {
                    queue: VecDeque::new(),
                }),
            );
            glommio::spawn_local(next_batch(f, skip_below, ctx.max_size))
        });
        let n = batch_items.len() as u64;
        let mut batch = Vec::new();
        for item in batch_items {
            let (uid, size, date, msg) = match item {
                Item::Fail(uid, reason) => {
                    if let Some(u) = uid {
                        last_uid = last_uid.max(u);
                    }
                    rep.fail(uid, reason);
                    continue;
                }
                Item::Note(uid, note) => {
                    last_uid = last_uid.max(uid);
                    if rep.notes.len() < MAX_REASONS {
                        rep.notes.push(format!("uid {uid}: {note}"));
                    }
                    continue;
                }
                Item::Abort(reason) => {
                    if let Some(t) = ahead {
                        let _ = t.await;
                    }
                    bail!("{reason}; what was imported so far is kept, run again to resume");
                }
                Item::Skip(uid, size, date) => (uid, size, date, None),
                Item::Msg(uid, m) => {
                    let (size, date) = (m.raw.len() as u64, m.meta.internal_date);
                    (uid, size, date, Some(m))
                }
            };
            last_uid = last_uid.max(uid);
            if uid < skip_below {
                if let Some((want, wsize, wdate)) = must_match
                    && want == uid
                {
                    if (wsize, wdate) != (size, date) {
                        bail!(
                            "import conflict: {} already holds messages that are not this source's \
                             (uid {uid} differs) and the source has no UIDVALIDITY to tell; \
                             import into another mailbox or user",
                            plan.name
                        );
                    }
                    must_match = None;
                }
                if present.binary_search(&uid).is_ok() {
                    rep.skipped += 1;
                } else {
                    rep.fail(
                        Some(uid),
                        "below the mailbox's UIDNEXT but not in it (failed or expunged after an earlier run)",
                    );
                }
                continue;
            }
            if must_match.is_some() {
                bail!(
                    "import conflict: {} already holds {} message(s) that do not match the start \
                     of this source, which has no UIDVALIDITY to tell; import into another \
                     mailbox or user",
                    plan.name,
                    present.len()
                );
            }
            if let Some(m) = msg {
                batch.push((uid, m));
            }
        }
        append_batch(store, id, &batch, &mut rep).await?;
        if let Some(hook) = &plan.after_batch {
            hook.record(last_uid).await?;
        }
        ctx.bar.inc(n);
        match ahead {
            Some(t) => {
                let (f, i) = t.await;
                feed = f;
                items = Some(i);
            }
            None => break,
        }
    }
    if must_match.is_some() {
        bail!(
            "import conflict: {} holds more messages than this source, which has no \
             UIDVALIDITY to tell; import into another mailbox or user",
            plan.name
        );
    }
    if let Feed::Mbox(f) = &feed {
        plan.uidnext = plan.uidnext.or(f.reader.uidnext());
    }
    let want_next = plan
        .uidnext
        .unwrap_or(0)
        .max(last_uid.saturating_add(1))
        .min(u32::MAX - 1);
    store.raise_uidnext(id, want_next).await?;
    if let Some(on) = plan.subscribe {
        store.subscribe(&plan.name, on).await?;
    }
    if let Some(st) = store.state(&plan.name).await? {
        rep.uidvalidity = st.uidvalidity;
        rep.uidnext = st.uidnext;
    }
    Ok(rep)
}

/// UIDs for a folder's entries: the uidlist's where listed; the rest (new
/// deliveries, in file-name order as [`maildir::entries`] gives them) after
/// both the listed ones and the uidlist's next UID, as Dovecot would give.
fn assign_uids(
    folder: &maildir::Folder,
    entries: Vec<maildir::Entry>,
) -> VecDeque<(u32, maildir::Entry)> {
    let listed_max = entries.iter().filter_map(|e| e.meta.uid).max().unwrap_or(0);
    let mut next = folder
        .uidnext
        .unwrap_or(1)
        .max(listed_max.saturating_add(1))
        .max(1);
    entries
        .into_iter()
        .map(|e| match e.meta.uid {
            Some(u) => (u, e),
            None => {
                let u = next;
                next = next.saturating_add(1);
                (u, e)
            }
        })
        .collect()
}

type Listing = (
    maildir::Scan,
    Vec<Result<Vec<maildir::Entry>, migrate::Error>>,
    bool,
);

async fn import_maildir(
    store: &Target,
    root: PathBuf,
    new_store: bool,
    ctx: &Ctx,
    rep: &mut UserReport,
) -> anyhow::Result<()> {
    let listing: Result<Listing, migrate::Error> = blocking(move || {
        let scan = maildir::scan(&root)?;
        let entries = scan.folders.iter().map(maildir::entries).collect();
        let has_subs = root.join("subscriptions").is_file();
        Ok((scan, entries, has_subs))
    })
    .await;
    let (scan, entries, has_subs) = listing?;
    for s in &scan.skipped {
        rep.skipped_folders
            .push(format!("{}: {}", s.path.display(), s.reason));
    }
    let total: usize = entries.iter().map(|e| e.as_ref().map_or(0, Vec::len)).sum();
    ctx.bar.inc_length(total as u64);
    for (folder, listed) in scan.folders.into_iter().zip(entries) {
        let listed = match listed {
            Ok(l) => l,
            Err(e) => {
                let mut f = FolderReport {
                    name: folder.name.clone(),
                    ..FolderReport::default()
                };
                f.fail(None, format!("cannot list the folder: {e}"));
                rep.folders.push(f);
                continue;
            }
        };
        let plan = Plan {
            name: folder.name.clone(),
            uidvalidity: folder.uidvalidity.filter(|v| *v != 0),
            uidnext: folder.uidnext,
            // A new store mirrors the source's subscriptions (when it has
            // them); an existing one only gains subscriptions.
            special_use: None,
            after_batch: None,
            subscribe: if folder.subscribed {
                Some(true)
            } else if new_store && has_subs {
                Some(false)
            } else {
                None
            },
        };
        let queue = assign_uids(&folder, listed);
        let feed = Feed::Maildir(MaildirFeed { queue });
        let f = import_folder(store, plan, feed, ctx)
            .await
            .with_context(|| format!("folder {}", folder.name))?;
        rep.folders.push(f);
    }
    Ok(())
}

/// The user's store to import into, and whether it existed before. A
/// running server owns the stores: write through it (admin socket). No
/// server (nothing listens, or no socket): open the store here.
pub(crate) async fn open_target(job: &Job, ctx: &Ctx) -> anyhow::Result<(Target, bool)> {
    let existed = match glommio::io::Directory::open(&job.dir).await {
        Ok(d) => {
            let _ = d.close().await;
            true
        }
        Err(_) => false,
    };
    let live = match &ctx.admin {
        Some(ep) => Client::connect(&ep.address, &job.user).await,
        None => Err(WireError::Io(std::io::ErrorKind::NotFound.into())),
    };
    Ok(match live {
        Ok(c) => {
            let existed = !c.new_store;
            (Target::Live(RefCell::new(Some(c))), existed)
        }
        Err(WireError::Io(_)) => (
            Target::Local(Store::open(&job.dir, job.cfg.clone()).await?),
            existed,
        ),
        Err(e) => return Err(e.into()),
    })
}

async fn import_user(job: Job, source: Source, ctx: Arc<Ctx>) -> anyhow::Result<UserReport> {
    let start = Instant::now();
    let (store, existed) = open_target(&job, &ctx).await?;
    let mut rep = UserReport {
        user: job.user.clone(),
        live: store.is_live(),
        source: match &source {
            Source::Maildir(p) => p.clone(),
            Source::Mbox { path, .. } => path.clone(),
        },
        new_store: !existed,
        folders: Vec::new(),
        skipped_folders: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let work = async {
        if let (false, Target::Local(s)) = (existed, &store) {
            server::users::provision(s).await?;
        }
        match source {
            Source::Maildir(root) => import_maildir(&store, root, !existed, &ctx, &mut rep).await,
            Source::Mbox {
                path,
                variant,
                mailbox,
            } => {
                let p = path.clone();
                let reader = blocking(move || File::open(&p))
                    .await
                    .with_context(|| format!("opening {}", path.display()))?;
                let reader =
                    mbox::Reader::new(BufReader::with_capacity(256 << 10, reader), variant)
                        .with_path(&path);
                let feed = Feed::Mbox(Box::new(MboxFeed {
                    reader,
                    last_uid: 0,
                    done: false,
                }));
                let plan = Plan {
                    name: mailbox.clone(),
                    uidvalidity: None,
                    uidnext: None,
                    subscribe: None,
                    special_use: None,
                    after_batch: None,
                };
                let f = import_folder(&store, plan, feed, &ctx)
                    .await
                    .with_context(|| format!("mailbox {mailbox}"))?;
                rep.folders.push(f);
                Ok(())
            }
        }
    };
    let r = work.await;
    let closed = store.close().await;
    r?;
    closed?;
    rep.elapsed = start.elapsed();
    Ok(rep)
}

pub(crate) fn progress_bar(known_length: bool) -> ProgressBar {
    use std::io::IsTerminal;
    let bar = if known_length {
        ProgressBar::new(0)
    } else {
        ProgressBar::new_spinner()
    };
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
        return bar;
    }
    let template = if known_length {
        "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} messages, {rate}, ETA {eta}"
    } else {
        "{spinner} {elapsed_precise} {human_pos} messages, {rate}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        // indicatif's own {per_sec} prints four decimals of messages.
        bar.set_style(style.with_key(
            "rate",
            |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} messages/s", s.per_sec());
            },
        ));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Users and their Maildirs under `dir` (std::fs: the CLI thread, before
/// any executor starts).
fn users_in(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            bail!(
                "{}: user directory name is not UTF-8",
                entry.path().display()
            );
        };
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        out.push((name.to_owned(), entry.path()));
    }
    out.sort();
    Ok(out)
}

pub fn run(cfg: &Config, args: ImportArgs) -> anyhow::Result<()> {
    if args.from == SourceFormat::Imap {
        if args.users_dir.is_some() || args.path.is_some() {
            bail!("--from imap takes USER and the --host options, no PATH or --users-dir");
        }
        let Some(user) = args.user else {
            bail!("give the USER to import into");
        };
        return import_imap::run(cfg, user, args.imap);
    }
    if args.imap.host.is_some() {
        bail!("--host is for --from imap");
    }
    let mut jobs: Vec<(String, Source)> = Vec::new();
    let variant = match args.mbox_variant {
        MboxVariant::Mboxrd => mbox::Variant::Mboxrd,
        MboxVariant::Mboxo => mbox::Variant::Mboxo,
    };
    if let Some(dir) = &args.users_dir {
        if args.from != SourceFormat::Maildir {
            bail!("--users-dir takes one Maildir per user: use it with --from maildir");
        }
        for (name, path) in users_in(dir)? {
            jobs.push((name, Source::Maildir(path)));
        }
        if jobs.is_empty() {
            bail!("{}: no user directories found", dir.display());
        }
    } else {
        let (Some(user), Some(path)) = (args.user, args.path) else {
            bail!("give USER and PATH, or --users-dir DIR");
        };
        match std::fs::metadata(&path) {
            Ok(_) => {}
            Err(e) => bail!("{}: {e} (the source to import)", path.display()),
        }
        let source = match args.from {
            SourceFormat::Mbox => Source::Mbox {
                path,
                variant,
                mailbox: args.mailbox,
            },
            // --from imap returned above.
            SourceFormat::Maildir | SourceFormat::Imap => Source::Maildir(path),
        };
        jobs.push((user, source));
    }
    let names: Vec<String> = jobs.iter().map(|(n, _)| n.clone()).collect();
    let folded = select_users(cfg, &names)?;
    let sources: Arc<std::collections::HashMap<String, Source>> = Arc::new(
        folded
            .iter()
            .cloned()
            .zip(jobs.into_iter().map(|(_, s)| s))
            .collect(),
    );
    if sources.len() != folded.len() {
        bail!("two source directories name the same user");
    }
    let ctx = Arc::new(Ctx {
        bar: progress_bar(args.from == SourceFormat::Maildir),
        max_size: server::store_config(cfg).max_message_size,
        admin: server::admin::Endpoint::open(&cfg.data_dir).ok(),
    });
    let start = Instant::now();
    let c = ctx.clone();
    let results = for_each_user(cfg, folded, move |job| {
        let source = sources.get(&job.user).cloned();
        let ctx = c.clone();
        async move {
            let Some(source) = source else {
                bail!("no source for {}", job.user);
            };
            import_user(job, source, ctx).await
        }
    })?;
    ctx.bar.finish_and_clear();
    let (mut failed_users, mut failed_msgs, mut total, mut bytes) = (0, 0u64, 0u64, 0u64);
    let n_users = results.len();
    for (user, r) in results {
        match r {
            Ok(rep) => {
                print!("{}", rep.render());
                failed_msgs += rep.failed();
                total += rep.folders.iter().map(|f| f.imported).sum::<u64>();
                bytes += rep.folders.iter().map(|f| f.bytes).sum::<u64>();
            }
            Err(e) => {
                failed_users += 1;
                match e.downcast_ref::<StoreError>() {
                    Some(StoreError::Locked(_)) => {
                        println!("{user}: busy (served right now); not imported")
                    }
                    _ => println!("{user}: import failed: {e:#}"),
                }
            }
        }
    }
    if n_users > 1 {
        let secs = start.elapsed().as_secs_f64().max(1e-6);
        println!(
            "all {n_users} users: {total} messages imported, {:.1} MB in {secs:.2} s ({:.0} messages/s, {:.1} MB/s)",
            bytes as f64 / 1e6,
            total as f64 / secs,
            bytes as f64 / 1e6 / secs
        );
    }
    if failed_users > 0 || failed_msgs > 0 {
        bail!("{failed_users} user(s) not imported, {failed_msgs} message(s) or folder(s) failed");
    }
    Ok(())
}
