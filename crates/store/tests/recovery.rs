//! Crash recovery: torn tails at every byte of the last record, bit flips
//! found by verify, compaction interrupted at each step, checkpoint loss;
//! UIDs and UIDVALIDITY stay stable through all of them.

mod common;

use std::path::{Path, PathBuf};

use common::{cfg, new_msg, raw, run};
use store::{ExpungeMode, FlagOp, Flags, INBOX, SpecialUse, Store, StoreConfig, StoreError};

/// The operation that writes a test's last record.
type LastOp =
    for<'a> fn(&'a Store, u32) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>;

/// What a reopened store must show for one mailbox.
#[derive(Debug, Clone, PartialEq)]
struct View {
    uidvalidity: u32,
    uidnext: u32,
    msgs: Vec<(u32, u8, Vec<u8>)>,
}

async fn view(s: &Store, name: &str) -> View {
    let id = s.mailbox_id(name).expect("mailbox");
    let snap = s.snapshot(id).unwrap();
    let mut msgs = Vec::new();
    for m in snap.messages.iter() {
        msgs.push((
            m.uid,
            m.flags.0,
            s.read_message(id, m.uid).await.unwrap().to_vec(),
        ));
    }
    View {
        uidvalidity: snap.uidvalidity,
        uidnext: snap.uidnext,
        msgs,
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn last_segment(dir: &Path) -> PathBuf {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("seg-"))
        .collect();
    segs.sort();
    segs.pop().unwrap()
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

/// Build a store whose last record is written by `last`; returns the views
/// before and after it and the segment's final length.
fn build_with_last_record<F>(dir: &Path, last: F) -> (View, View, u64)
where
    F: for<'a> FnOnce(
            &'a Store,
            u32,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>
        + Send
        + 'static,
{
    let path = dir.to_path_buf();
    let (before, after) = run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        for i in 0..3 {
            let b = raw(i);
            s.append(ib, &[new_msg(&b)]).await.unwrap();
        }
        s.store_flags(ib, &[(2, 2)], FlagOp::Add, Flags::SEEN, &[], None)
            .await
            .unwrap();
        let before = view(&s, INBOX).await;
        last(&s, ib).await;
        let after = view(&s, INBOX).await;
        // Crash: no close, no checkpoint.
        (before, after)
    });
    let seg = last_segment(dir);
    (before, after, file_len(&seg))
}

fn torn_tail_at_every_offset(kind: &str, last: LastOp) {
    let base = tempfile::tempdir().unwrap();
    let full = base.path().join("full");
    let (before, after, end) = build_with_last_record(&full, last);
    assert_ne!(
        before, after,
        "{kind}: the last record must change the state"
    );
    // Find where the last record starts: the file as it was before it.
    let seg_name = last_segment(&full).file_name().unwrap().to_owned();
    let rec_start = {
        // Build the same store without the last record to learn its length.
        let probe = base.path().join("probe");
        build_with_last_record(&probe, |_, _| Box::pin(async {}));
        file_len(&probe.join(&seg_name))
    };
    assert!(rec_start < end);
    for cut in rec_start..end {
        let d = base.path().join(format!("cut-{cut}"));
        copy_dir(&full, &d);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(d.join(&seg_name))
            .unwrap();
        f.set_len(cut).unwrap();
        drop(f);
        let dd = d.clone();
        let (got, report) = run(move || async move {
            let s = Store::open(&dd, cfg()).await.unwrap();
            let v = view(&s, INBOX).await;
            let r = s.verify().await.unwrap();
            (v, r)
        });
        assert_eq!(got, before, "{kind}: cut at {cut} of [{rec_start}, {end})");
        assert!(
            report.bad.is_empty() && report.index_matches,
            "{kind}: cut at {cut}: {report:?}"
        );
        assert_eq!(
            file_len(&d.join(&seg_name)),
            rec_start,
            "{kind}: truncated to the last good record"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
    // The whole record reopens as the acknowledged state.
    let got =
        run(move || async move { view(&Store::open(&full, cfg()).await.unwrap(), INBOX).await });
    assert_eq!(got, after);
}

#[test]
fn torn_append_record_at_every_byte() {
    torn_tail_at_every_offset("append", |s, ib| {
        Box::pin(async move {
            let b = b"Subject: t\r\n\r\nx".to_vec();
            s.append(ib, &[new_msg(&b)]).await.unwrap();
        })
    });
}

#[test]
fn torn_flags_record_at_every_byte() {
    torn_tail_at_every_offset("flags", |s, ib| {
        Box::pin(async move {
            s.store_flags(ib, &[(1, 3)], FlagOp::Add, Flags::FLAGGED, &[], None)
                .await
                .unwrap();
        })
    });
}

#[test]
fn uid_after_torn_tail_continues_from_acknowledged_state() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("s");
    let d2 = dir.clone();
    run(move || async move {
        let s = Store::open(&d2, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let b = raw(1);
        s.append(ib, &[new_msg(&b)]).await.unwrap();
        s.append(ib, &[new_msg(&b)]).await.unwrap();
    });
    let seg = last_segment(&dir);
    let len = file_len(&seg);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    run(move || async move {
        let s = Store::open(&dir, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let st = s.status(ib).unwrap();
        assert_eq!((st.messages, st.uidnext), (1, 2));
        let b = raw(3);
        assert_eq!(s.append(ib, &[new_msg(&b)]).await.unwrap(), vec![2]);
    });
}

#[test]
fn bit_flip_is_reported_by_verify_and_refused_by_replay() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("s");
    let d2 = dir.clone();
    let body_marker = b"FLIPME-FLIPME".to_vec();
    let marker = body_marker.clone();
    run(move || async move {
        let s = Store::open(&d2, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let mut b = raw(1);
        b.extend_from_slice(&marker);
        s.append(ib, &[new_msg(&b)]).await.unwrap();
        for i in 2..5 {
            let b = raw(i);
            s.append(ib, &[new_msg(&b)]).await.unwrap();
        }
        s.close().await.unwrap();
    });
    let seg = last_segment(&dir);
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = bytes
        .windows(body_marker.len())
        .position(|w| w == &body_marker[..])
        .unwrap();
    bytes[at + 3] ^= 0x04;
    std::fs::write(&seg, &bytes).unwrap();

    // With the checkpoint, open does not need the damaged record; verify finds it.
    let d3 = dir.clone();
    let report = run(move || async move {
        Store::open(&d3, cfg())
            .await
            .unwrap()
            .verify()
            .await
            .unwrap()
    });
    assert_eq!(report.bad.len(), 1, "{report:?}");
    let bad = &report.bad[0];
    assert_eq!(bad.segment, 1);
    assert!(bad.offset < at as u64 && !bad.torn_tail);
    assert!(!report.index_matches);
    assert_eq!(
        report.records, 4,
        "the records around the bad one are still read (INBOX create + 3 good appends)"
    );

    // Without the checkpoint, replay meets the damage mid-log and refuses to
    // open rather than skip or truncate acknowledged records.
    std::fs::remove_file(dir.join("index.rkyv")).unwrap();
    let d4 = dir.clone();
    let r = run(move || async move { Store::open(&d4, cfg()).await.map(|_| ()) });
    assert!(
        matches!(r, Err(StoreError::Corrupt { segment: 1, .. })),
        "{r:?}"
    );
    assert_eq!(std::fs::read(&seg).unwrap(), bytes, "nothing was truncated");
}

fn compaction_cfg() -> StoreConfig {
    StoreConfig {
        segment_size: 4096,
        max_open_segments: 3,
        ..cfg()
    }
}

/// A store with several sealed segments, half of their messages expunged.
fn build_for_compaction(dir: &Path) -> (View, View) {
    let d = dir.to_path_buf();
    run(move || async move {
        let s = Store::open(&d, compaction_cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let other = s.create_mailbox("Other", SpecialUse::None).await.unwrap();
        for i in 0..30 {
            let b = raw(i);
            s.append(ib, &[new_msg(&b)]).await.unwrap();
        }
        // Copies share bytes: expunging the source must keep them alive.
        s.copy(ib, &[(3, 4)], other).await.unwrap();
        s.store_flags(ib, &[(1, 30)], FlagOp::Add, Flags::DELETED, &[], None)
            .await
            .unwrap();
        s.store_flags(
            ib,
            &[(5, 5), (20, 22)],
            FlagOp::Remove,
            Flags::DELETED,
            &[],
            None,
        )
        .await
        .unwrap();
        s.checkpoint().await.unwrap();
        s.expunge(ib, None, ExpungeMode::DeletedOnly).await.unwrap();
        assert!(s.segment_count() > 3);
        (view(&s, INBOX).await, view(&s, "Other").await)
    })
}

#[test]
fn compaction_interrupted_at_every_step_reopens_to_the_same_state() {
    let base = tempfile::tempdir().unwrap();
    let orig = base.path().join("orig");
    let (inbox, other) = build_for_compaction(&orig);
    let seg1 = orig.join("seg-00000001.log");
    let size_before = file_len(&seg1);
    for step in 1..=7u8 {
        let d = base.path().join(format!("step-{step}"));
        copy_dir(&orig, &d);
        let d2 = d.clone();
        let rewritten = run(move || async move {
            let s = Store::open(&d2, compaction_cfg()).await.unwrap();
            // Step 7 = not interrupted.
            s.set_compact_stop_after((step < 7).then_some(step));
            s.compact().await.unwrap()
            // Dropped without close: the process "dies" here.
        });
        assert!(rewritten >= 1, "step {step}: something to compact");
        let d3 = d.clone();
        let (vi, vo, report, next, info) = run(move || async move {
            let s = Store::open(&d3, compaction_cfg()).await.unwrap();
            let info = s.open_info();
            let vi = view(&s, INBOX).await;
            let vo = view(&s, "Other").await;
            let report = s.verify().await.unwrap();
            let ib = s.mailbox_id(INBOX).unwrap();
            let b = raw(99);
            let next = s.append(ib, &[new_msg(&b)]).await.unwrap();
            (vi, vo, report, next, info)
        });
        // After the rename and before the new checkpoint, the generation
        // check must reject the old checkpoint (its offsets are stale).
        assert_eq!(
            info.from_checkpoint,
            !(3..=5).contains(&step),
            "step {step}: {info:?}"
        );
        assert_eq!(vi, inbox, "step {step}: INBOX");
        assert_eq!(vo, other, "step {step}: Other");
        assert!(
            report.bad.is_empty() && report.index_matches,
            "step {step}: {report:?}"
        );
        assert_eq!(
            next,
            vec![inbox.uidnext],
            "step {step}: UIDs continue, never reused"
        );
        if step >= 3 {
            assert!(
                file_len(&d.join("seg-00000001.log")) < size_before,
                "step {step}: new segment in place"
            );
        } else {
            assert_eq!(
                file_len(&d.join("seg-00000001.log")),
                size_before,
                "step {step}: old segment authoritative"
            );
        }
        // A later full compaction from the interrupted state also converges.
        let d4 = d.clone();
        let (vi2, vo2) = run(move || async move {
            let s = Store::open(&d4, compaction_cfg()).await.unwrap();
            s.compact().await.unwrap();
            s.close().await.unwrap();
            let s = Store::open(&d4, compaction_cfg()).await.unwrap();
            (view(&s, INBOX).await, view(&s, "Other").await)
        });
        assert_eq!(
            vi2.msgs[..inbox.msgs.len()],
            inbox.msgs[..],
            "step {step}: after recompaction"
        );
        assert_eq!((vi2.uidvalidity, vo2), (inbox.uidvalidity, other.clone()));
    }
}

#[test]
fn lost_or_corrupt_checkpoint_falls_back_to_full_replay() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("s");
    let (inbox, _) = build_for_compaction(&dir);
    let mut ck = std::fs::read(dir.join("index.rkyv")).unwrap();
    let n = ck.len();
    ck[n - 10] ^= 0xff;
    std::fs::write(dir.join("index.rkyv"), &ck).unwrap();
    let d = dir.clone();
    let got = run(move || async move {
        view(&Store::open(&d, compaction_cfg()).await.unwrap(), INBOX).await
    });
    assert_eq!(got, inbox);
    std::fs::remove_file(dir.join("index.rkyv")).unwrap();
    let d = dir.clone();
    let got = run(move || async move {
        view(&Store::open(&d, compaction_cfg()).await.unwrap(), INBOX).await
    });
    assert_eq!(got, inbox);
}

#[test]
fn uidvalidity_is_stable_across_reopen_compaction_and_checkpoint() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("s");
    let d = dir.clone();
    run(move || async move {
        let s = Store::open(&d, compaction_cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let a = s.create_mailbox("A", SpecialUse::None).await.unwrap();
        let uv = (
            s.status(ib).unwrap().uidvalidity,
            s.status(a).unwrap().uidvalidity,
        );
        assert!(uv.1 > uv.0);
        for i in 0..20 {
            let b = raw(i);
            s.append(a, &[new_msg(&b)]).await.unwrap();
        }
        s.expunge(a, None, ExpungeMode::Exact).await.unwrap();
        s.compact().await.unwrap();
        drop(s);
        let s = Store::open(&d, compaction_cfg()).await.unwrap();
        assert_eq!(
            (
                s.status(ib).unwrap().uidvalidity,
                s.status(a).unwrap().uidvalidity
            ),
            uv
        );
        assert_eq!(
            s.status(a).unwrap().uidnext,
            21,
            "expunged and compacted away, UIDNEXT stays"
        );
        std::mem::drop(s);
    });
    std::fs::remove_file(dir.join("index.rkyv")).unwrap();
    run(move || async move {
        let s = Store::open(&dir, compaction_cfg()).await.unwrap();
        let a = s.mailbox_id("A").unwrap();
        assert_eq!(
            s.status(a).unwrap().uidnext,
            21,
            "full replay after compaction keeps UIDNEXT"
        );
        let b = raw(1);
        assert_eq!(s.append(a, &[new_msg(&b)]).await.unwrap(), vec![21]);
    });
}

#[test]
fn compaction_runs_alongside_appends_and_reads() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("s");
    run(move || async move {
        let s = Store::open(&dir, compaction_cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let mut bodies = std::collections::BTreeMap::new();
        for i in 0..30 {
            let b = raw(i);
            let u = s.append(ib, &[new_msg(&b)]).await.unwrap()[0];
            bodies.insert(u, b);
        }
        let odd: Vec<(u32, u32)> = (1..=30).filter(|u| u % 2 == 1).map(|u| (u, u)).collect();
        s.expunge(ib, Some(&odd), ExpungeMode::Exact).await.unwrap();
        bodies.retain(|u, _| u % 2 == 0);
        let bodies = std::rc::Rc::new(std::cell::RefCell::new(bodies));

        let (s1, s2, s3) = (s.clone(), s.clone(), s.clone());
        let compactor = glommio::spawn_local(async move { s1.compact().await.unwrap() });
        let b2 = bodies.clone();
        let appender = glommio::spawn_local(async move {
            for i in 100..120 {
                let b = raw(i);
                let u = s2.append(ib, &[new_msg(&b)]).await.unwrap()[0];
                b2.borrow_mut().insert(u, b);
            }
        });
        let b3 = bodies.clone();
        let reader = glommio::spawn_local(async move {
            let mut reads = 0;
            for _ in 0..10 {
                let snap = s3.snapshot(ib).unwrap();
                for m in snap.messages.iter().cloned() {
                    let got = s3.read_message(ib, m.uid).await.unwrap();
                    let want = b3.borrow().get(&m.uid).cloned().unwrap();
                    assert_eq!(&*got, &want[..], "uid {} read during compaction", m.uid);
                    reads += 1;
                }
            }
            reads
        });
        assert!(compactor.await >= 1);
        appender.await;
        assert!(reader.await > 100);
        let r = s.verify().await.unwrap();
        assert!(r.bad.is_empty() && r.index_matches, "{r:?}");
        let want = bodies.borrow().clone();
        drop(s);
        let s = Store::open(&dir, compaction_cfg()).await.unwrap();
        let snap = s.snapshot(ib).unwrap();
        assert_eq!(
            snap.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
            want.keys().copied().collect::<Vec<_>>()
        );
        for (u, b) in &want {
            assert_eq!(&*s.read_message(ib, *u).await.unwrap(), &b[..]);
        }
    });
}

#[test]
fn torn_new_segment_header_and_stray_temp_files_are_cleaned_up() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("s");
    let d = dir.clone();
    let before = run(move || async move {
        let s = Store::open(&d, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let b = raw(1);
        s.append(ib, &[new_msg(&b)]).await.unwrap();
        view(&s, INBOX).await
    });
    // A crash while creating the next segment, and during a checkpoint and
    // a compaction.
    std::fs::write(dir.join("seg-00000002.log"), b"PCSTS").unwrap();
    std::fs::write(dir.join("index.rkyv.tmp"), b"half a checkpoint").unwrap();
    std::fs::write(dir.join("compact.tmp"), b"half a segment").unwrap();
    let d = dir.clone();
    let (got, after_append) = run(move || async move {
        let s = Store::open(&d, cfg()).await.unwrap();
        let got = view(&s, INBOX).await;
        let ib = s.mailbox_id(INBOX).unwrap();
        let b = raw(2);
        s.append(ib, &[new_msg(&b)]).await.unwrap();
        (got, view(&s, INBOX).await)
    });
    assert_eq!(got, before);
    assert!(!dir.join("index.rkyv.tmp").exists() && !dir.join("compact.tmp").exists());
    assert_eq!(
        &std::fs::read(dir.join("seg-00000002.log")).unwrap()[..8],
        b"PCSTSEG1"
    );
    let d = dir.clone();
    let reopened =
        run(move || async move { view(&Store::open(&d, cfg()).await.unwrap(), INBOX).await });
    assert_eq!(reopened, after_append);
    assert_eq!(reopened.msgs.len(), 2);
}
