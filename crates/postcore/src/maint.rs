//! `postcore check`, `compact` and `stats`: offline upkeep of users' stores
//! (a user being served right now is reported busy and left alone).

use crate::offline::{Job, for_each_user, select_users};
use anyhow::bail;
use server::config::Config;
use std::fmt::Write as _;
use store::{Store, StoreError};

fn busy(e: &StoreError) -> bool {
    matches!(e, StoreError::Locked(_))
}

/// One user's figures for `stats`.
async fn stats_of(job: Job, per_mailbox: bool) -> anyhow::Result<String> {
    job.existing().await?;
    let store = Store::open(&job.dir, job.cfg).await?;
    let space = store.space().await?;
    let mut lines = String::new();
    let (mut msgs, mut bytes, mut unseen) = (0u64, 0u64, 0u64);
    let list = store.list();
    for mb in &list {
        let st = store.status(mb.id)?;
        msgs += st.messages as u64;
        bytes += st.size;
        unseen += st.unseen as u64;
        if per_mailbox {
            let _ = writeln!(
                lines,
                "  {:<30} {:>9} messages {:>9} unseen {:>14} bytes  uidvalidity {} uidnext {}",
                mb.name, st.messages, st.unseen, st.size, st.uidvalidity, st.uidnext
            );
        }
    }
    store.close().await?;
    Ok(format!(
        "{}: {} mailboxes, {msgs} messages ({unseen} unseen), {bytes} message bytes; log {} bytes in {} segments, {} dead\n{lines}",
        job.user,
        list.len(),
        space.log_bytes,
        space.segments,
        space.dead_bytes()
    ))
}

pub fn stats(cfg: &Config, users: &[String]) -> anyhow::Result<()> {
    let names = select_users(cfg, users)?;
    let per_mailbox = !users.is_empty();
    let mut failed = 0;
    for (user, r) in for_each_user(cfg, names, move |job| stats_of(job, per_mailbox))? {
        match r {
            Ok(text) => print!("{text}"),
            Err(e) => {
                failed += 1;
                eprintln!("{user}: {e:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} user(s) could not be read");
    }
    Ok(())
}

/// The verdict on one user's store.
struct Checked {
    report: String,
    /// Problems left after this run (none when all was well or repaired).
    problems: usize,
}

async fn check_one(job: Job, repair: bool) -> anyhow::Result<Checked> {
    job.existing().await?;
    let mut report = String::new();
    let scan = Store::scan_log(&job.dir).await?;
    let _ = write!(
        report,
        "{}: {} segments, {} records, {} bytes",
        job.user, scan.segments, scan.records, scan.bytes
    );
    for d in &scan.damage {
        let what = if d.torn_tail {
            "torn tail (an interrupted write; opening truncates it)"
        } else {
            "DAMAGED"
        };
        let _ = write!(
            report,
            "\n  segment {} offset {} ({} bytes): {}: {what}",
            d.segment, d.offset, d.len, d.reason
        );
    }
    let corrupt = scan.corrupt().count();
    if corrupt > 0 && !repair {
        let _ = write!(report, "\n  {corrupt} damaged record(s); run with --repair");
        return Ok(Checked {
            report,
            problems: corrupt,
        });
    }
    if corrupt > 0 {
        let r = Store::repair_log(&job.dir).await?;
        let _ = write!(
            report,
            "\n  repaired: {} bytes quarantined in {} file(s) under {}/quarantine; index rebuilt from the log",
            r.bytes,
            r.quarantined.len(),
            job.dir.display()
        );
    }
    let store = Store::open(&job.dir, job.cfg.clone()).await?;
    let v = store.verify().await?;
    let mut problems = v.bad.len() + usize::from(!v.index_matches);
    if !v.index_matches && v.bad.is_empty() {
        if repair {
            store.close().await?;
            Store::drop_checkpoint(&job.dir).await?;
            let store = Store::open(&job.dir, job.cfg).await?;
            let again = store.verify().await?;
            problems = again.bad.len() + usize::from(!again.index_matches);
            store.checkpoint().await?;
            store.close().await?;
            let _ = write!(
                report,
                "\n  index disagreed with the log: rebuilt from the log{}",
                if problems == 0 { "" } else { ", still wrong" }
            );
            return Ok(Checked { report, problems });
        }
        let _ = write!(
            report,
            "\n  index disagrees with the log; run with --repair to rebuild it"
        );
    } else if repair && corrupt > 0 {
        store.checkpoint().await?;
    }
    store.close().await?;
    if problems == 0 {
        let _ = write!(
            report,
            "\n  ok: every record's crc and the index agree with the log"
        );
    }
    Ok(Checked { report, problems })
}

pub fn check(cfg: &Config, users: &[String], repair: bool) -> anyhow::Result<()> {
    let names = select_users(cfg, users)?;
    let mut problems = 0;
    for (user, r) in for_each_user(cfg, names, move |job| check_one(job, repair))? {
        match r {
            Ok(c) => {
                println!("{}", c.report);
                problems += c.problems;
            }
            Err(e) => {
                problems += 1;
                match e.downcast_ref::<StoreError>() {
                    Some(se) if busy(se) => {
                        println!("{user}: busy (served right now); not checked")
                    }
                    _ => println!("{user}: cannot check: {e:#}"),
                }
            }
        }
    }
    if problems > 0 {
        bail!("{problems} problem(s) found");
    }
    Ok(())
}

async fn compact_one(job: Job) -> anyhow::Result<String> {
    job.existing().await?;
    let store = Store::open(&job.dir, job.cfg).await?;
    let before = store.space().await?;
    let rewritten = store.compact().await?;
    store.checkpoint().await?;
    let after = store.space().await?;
    store.close().await?;
    Ok(format!(
        "{}: {rewritten} segment(s) rewritten, log {} -> {} bytes ({} reclaimed)",
        job.user,
        before.log_bytes,
        after.log_bytes,
        before.log_bytes.saturating_sub(after.log_bytes)
    ))
}

pub fn compact(cfg: &Config, users: &[String]) -> anyhow::Result<()> {
    let names = select_users(cfg, users)?;
    let mut failed = 0;
    for (user, r) in for_each_user(cfg, names, compact_one)? {
        match r {
            Ok(line) => println!("{line}"),
            Err(e) => {
                failed += 1;
                println!("{user}: not compacted: {e:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} user(s) not compacted");
    }
    Ok(())
}
