//! `postcore export`: a user's mailboxes out of the store, offline, into a
//! Maildir++ tree with Dovecot's uidlist/keywords/subscriptions files, or
//! into one mbox file per mailbox; UIDVALIDITY, UIDs, UIDNEXT, flags,
//! keywords and internal dates go along, so `postcore import` (or Dovecot)
//! gives clients back the same mailboxes. The store is read through
//! io_uring on the executor; the migrate crate's blocking writers run on the
//! blocking pool, a batch per call (see the import module for why).

use crate::import::blocking;
use crate::offline::{Job, for_each_user, select_users};
use anyhow::{Context, bail};
use migrate::{Meta, maildir, mbox};
use server::config::Config;
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use store::{MailboxInfo, MessageInfo, Snapshot, Store, StoreError};

/// Messages read from the store per hand-off to the blocking writer.
const BATCH_MESSAGES: usize = 256;
const BATCH_BYTES: u64 = 16 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetFormat {
    /// A Maildir++ tree: PATH is INBOX, other mailboxes are `.A.B`
    /// subfolders (modified UTF-7 names), with dovecot-uidlist,
    /// dovecot-keywords and subscriptions.
    Maildir,
    /// One mboxrd file per mailbox under the directory PATH (X-IMAPbase,
    /// X-UID, Status, X-Status, X-Keywords headers); mailbox `A/B` is the
    /// file `PATH/A.sbd/B`, the layout Thunderbird uses, so a mailbox and
    /// its children never compete for one path.
    Mbox,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// Target format.
    #[arg(long, value_enum)]
    to: TargetFormat,
    /// The user whose mailboxes are exported (their store must exist and
    /// not be in use by the server).
    user: String,
    /// Target: the Maildir root, or the directory for the mbox files.
    /// Existing folders or files holding mail are never overwritten.
    path: PathBuf,
}

#[derive(Default)]
struct Exported {
    name: String,
    messages: u64,
    bytes: u64,
    failed: Vec<String>,
    note: Option<String>,
    uidvalidity: u32,
    uidnext: u32,
}

/// Where mailbox `name` goes in an mbox export; `None` for a name that
/// could escape the directory.
fn mbox_path(root: &Path, name: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = name.split('/').collect();
    let mut p = root.to_path_buf();
    for (i, c) in parts.iter().enumerate() {
        if c.is_empty() || *c == "." || *c == ".." || c.contains('\0') {
            return None;
        }
        if i + 1 < parts.len() {
            p.push(format!("{c}.sbd"));
        } else {
            p.push(c);
        }
    }
    Some(p)
}

fn meta_of(info: &MessageInfo, snap: &Snapshot) -> Meta {
    Meta {
        uid: None,
        flags: info.flags.0,
        keywords: info
            .keywords
            .ids()
            .filter_map(|i| snap.keywords.get(usize::from(i)).cloned())
            .collect(),
        internal_date: info.internal_date,
    }
}

/// Reads the next batch of messages of the snapshot from the store.
async fn read_batch(
    store: &Store,
    snap: &Snapshot,
    from: usize,
) -> Result<Vec<(u32, Meta, Vec<u8>)>, StoreError> {
    let mut out = Vec::new();
    let mut bytes = 0u64;
    for info in snap.messages.iter().skip(from) {
        if out.len() >= BATCH_MESSAGES || bytes >= BATCH_BYTES {
            break;
        }
        let raw = store.read_message(snap.id, info.uid).await?.to_vec();
        bytes += raw.len() as u64;
        out.push((info.uid, meta_of(info, snap), raw));
    }
    Ok(out)
}

enum Sink {
    Maildir(maildir::Writer),
    Mbox(Box<mbox::Writer<File>>, (u32, u32)),
}

impl Sink {
    fn add(&mut self, uid: u32, meta: &Meta, raw: &[u8]) -> Result<(), migrate::Error> {
        match self {
            Sink::Maildir(w) => w.add(uid, meta, raw),
            Sink::Mbox(w, base) => w.add(uid, meta, raw, Some(*base)),
        }
    }
}

async fn export_mailbox(
    store: &Store,
    mb: &MailboxInfo,
    to: TargetFormat,
    root: &Path,
) -> anyhow::Result<Exported> {
    let snap = store.snapshot(mb.id)?;
    let mut rep = Exported {
        name: mb.name.clone(),
        uidvalidity: snap.uidvalidity,
        uidnext: snap.uidnext,
        ..Exported::default()
    };
    let (root2, name) = (root.to_path_buf(), mb.name.clone());
    let base = (snap.uidvalidity, snap.uidnext);
    let opened: Result<(Sink, PathBuf), String> = blocking(move || match to {
        TargetFormat::Maildir => maildir::Writer::create(&root2, &name)
            .map(|w| {
                let p = w.path().to_path_buf();
                (Sink::Maildir(w), p)
            })
            .map_err(|e| e.to_string()),
        TargetFormat::Mbox => {
            let Some(p) = mbox_path(&root2, &name) else {
                return Err("the name cannot be a file path".to_owned());
            };
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            // create_new: an export never overwrites mail already there.
            let f = File::create_new(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let w = mbox::Writer::new(f).with_path(&p);
            Ok((Sink::Mbox(Box::new(w), base), p))
        }
    })
    .await;
    let (mut sink, path) = match opened {
        Ok(s) => s,
        Err(e) => {
            rep.failed.push(format!("not exported: {e}"));
            return Ok(rep);
        }
    };
    let mut done = 0;
    while done < snap.messages.len() {
        let batch = read_batch(store, &snap, done).await?;
        done += batch.len();
        let (s, added, errs) = blocking(move || {
            let (mut added, mut errs) = (0u64, Vec::new());
            for (uid, meta, raw) in &batch {
                match sink.add(*uid, meta, raw) {
                    Ok(()) => added += raw.len() as u64,
                    Err(e) => errs.push(format!("uid {uid}: {e}")),
                }
            }
            let ok = batch.len() as u64 - errs.len() as u64;
            (sink, (ok, added), errs)
        })
        .await;
        sink = s;
        rep.messages += added.0;
        rep.bytes += added.1;
        rep.failed.extend(errs);
    }
    let finished: Result<(), migrate::Error> = blocking(move || match sink {
        Sink::Maildir(w) => w.finish(base.0, base.1),
        Sink::Mbox(w, _) => {
            let f = w.finish()?;
            f.sync_all()
                .map_err(|e| migrate::Error::Io { path, source: e })
        }
    })
    .await;
    if let Err(e) = finished {
        rep.failed.push(format!("finishing: {e}"));
    }
    if to == TargetFormat::Mbox && snap.messages.is_empty() {
        rep.note = Some(
            "empty: mbox keeps UIDVALIDITY/UIDNEXT in the first message, so they are not kept"
                .into(),
        );
    }
    Ok(rep)
}

/// Subscriptions a Maildir++ `subscriptions` file can hold (no `.` inside
/// a name component); the rest are returned for the report.
fn maildir_subscriptions(names: Vec<String>) -> (Vec<String>, Vec<String>) {
    names
        .into_iter()
        .partition(|n| n.split('/').all(|c| !c.is_empty() && !c.contains('.')))
}

async fn export_user(job: Job, to: TargetFormat, root: PathBuf) -> anyhow::Result<(String, bool)> {
    job.existing().await?;
    let store = Store::open(&job.dir, job.cfg.clone()).await?;
    let work = async {
        let mut out = String::new();
        let mut failed = false;
        let (mut msgs, mut bytes) = (0u64, 0u64);
        let list = store.list();
        for mb in &list {
            let r = export_mailbox(&store, mb, to, &root)
                .await
                .with_context(|| format!("mailbox {}", mb.name))?;
            msgs += r.messages;
            bytes += r.bytes;
            let _ = writeln!(
                out,
                "  {:<30} {:>8} messages {:>12} bytes  uidvalidity {} uidnext {}",
                r.name, r.messages, r.bytes, r.uidvalidity, r.uidnext
            );
            if let Some(n) = &r.note {
                let _ = writeln!(out, "      note: {n}");
            }
            for f in &r.failed {
                failed = true;
                let _ = writeln!(out, "      failed: {f}");
            }
        }
        if to == TargetFormat::Maildir {
            let (subs, unfit) = maildir_subscriptions(store.subscriptions());
            let n = subs.len();
            let r2 = root.clone();
            blocking(move || maildir::write_subscriptions(&r2, &subs))
                .await
                .context("writing subscriptions")?;
            let _ = writeln!(out, "  {n} subscription(s) written");
            for u in unfit {
                failed = true;
                let _ = writeln!(
                    out,
                    "      failed: subscription {u:?}: a '.' cannot appear in a Maildir++ name"
                );
            }
        }
        let head = format!(
            "{}: exported {} mailbox(es), {msgs} messages, {bytes} bytes to {}\n",
            job.user,
            list.len(),
            root.display()
        );
        Ok::<_, anyhow::Error>((head + &out, failed))
    };
    let r = work.await;
    let closed = store.close().await;
    let r = r?;
    closed?;
    Ok(r)
}

pub fn run(cfg: &Config, args: ExportArgs) -> anyhow::Result<()> {
    let users = select_users(cfg, std::slice::from_ref(&args.user))?;
    let (to, root) = (args.to, args.path);
    let results = for_each_user(cfg, users, move |job| export_user(job, to, root.clone()))?;
    let mut failed = false;
    for (user, r) in results {
        match r {
            Ok((text, f)) => {
                print!("{text}");
                failed |= f;
            }
            Err(e) => {
                failed = true;
                match e.downcast_ref::<StoreError>() {
                    Some(StoreError::Locked(_)) => {
                        println!("{user}: busy (served right now); not exported")
                    }
                    _ => println!("{user}: export failed: {e:#}"),
                }
            }
        }
    }
    if failed {
        bail!("export incomplete");
    }
    Ok(())
}
