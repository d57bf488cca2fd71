//! Behaviour of the public API on a real store in a temp directory.

mod common;

use common::{cfg, new_msg, raw, run};
use store::{
    ExpungeMode, FlagOp, FlagSync, Flags, INBOX, NewMessage, SpecialUse, Store, StoreConfig,
    StoreError,
};

#[test]
fn fresh_dir_append_then_read_back_in_same_process() {
    // Fails with EOPNOTSUPP without the iopoll probe workaround: the first
    // DmaFile of the executor must not be an empty file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users/ab/alice");
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let inbox = s.mailbox_id(INBOX).unwrap();
        let body = raw(1);
        let uids = s.append(inbox, &[new_msg(&body)]).await.unwrap();
        assert_eq!(uids, vec![1]);
        assert_eq!(&*s.read_message(inbox, 1).await.unwrap(), &body[..]);
        assert_eq!(&*s.read_range(inbox, 1, 6, 5).await.unwrap(), &body[6..11]);
        assert_eq!(s.read_range(inbox, 1, 10_000, 5).await.unwrap().len(), 0);
        let facts = s.facts(inbox, 1).await.unwrap();
        assert_eq!(facts.size as usize, body.len());
        s.checkpoint().await.unwrap();
        drop(s);
        // Reopen reads the checkpoint through a DmaFile.
        let s = Store::open(&path, cfg()).await.unwrap();
        assert_eq!(&*s.read_message(inbox, 1).await.unwrap(), &body[..]);
        let info = s.open_info();
        assert!(
            info.from_checkpoint && info.replayed_records == 0,
            "{info:?}"
        );
        // Records after the checkpoint are replayed on top of it.
        s.append(inbox, &[new_msg(&body)]).await.unwrap();
        s.store_flags(inbox, &[(1, 2)], FlagOp::Add, Flags::SEEN, &[], None)
            .await
            .unwrap();
        drop(s);
        let s = Store::open(&path, cfg()).await.unwrap();
        let info = s.open_info();
        assert!(
            info.from_checkpoint && info.replayed_records == 2,
            "{info:?}"
        );
        assert_eq!(s.status(inbox).unwrap().unseen, 0);
        assert_eq!(&*s.read_message(inbox, 2).await.unwrap(), &body[..]);
    });
}

#[test]
fn dma_reads_work_after_an_empty_dma_file_is_opened() {
    // glommio probes polled I/O with the first DmaFile an executor opens; an
    // empty one wrongly marks the device pollable and later DMA reads fail
    // with EOPNOTSUPP. Store::open opens a one-block file first.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let b = raw(1);
        s.append(ib, &[new_msg(&b)]).await.unwrap();
        s.checkpoint().await.unwrap();
        let empty = path.join("empty");
        glommio::io::BufferedFile::create(&empty)
            .await
            .unwrap()
            .close()
            .await
            .unwrap();
        glommio::io::DmaFile::open(&empty)
            .await
            .unwrap()
            .close()
            .await
            .unwrap();
        let f = glommio::io::DmaFile::open(path.join("index.rkyv"))
            .await
            .unwrap();
        let r = f.read_at(0, 64).await.expect("DMA read after the probe");
        assert_eq!(&r[..8], b"PCSTCKP1");
    });
}

#[test]
fn status_counts_and_flags_with_unchangedsince() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let bodies: Vec<Vec<u8>> = (0..4).map(raw).collect();
        let msgs: Vec<NewMessage<'_>> = bodies.iter().map(|b| new_msg(b)).collect();
        assert_eq!(s.append(ib, &msgs).await.unwrap(), vec![1, 2, 3, 4]);
        let st = s.status(ib).unwrap();
        assert_eq!(
            (st.messages, st.unseen, st.deleted, st.uidnext),
            (4, 4, 0, 5)
        );
        assert_eq!(st.size, bodies.iter().map(|b| b.len() as u64).sum::<u64>());
        let m0 = st.highest_modseq;

        let r = s
            .store_flags(
                ib,
                &[(1, 2)],
                FlagOp::Add,
                Flags::SEEN,
                &["$Work".into()],
                None,
            )
            .await
            .unwrap();
        assert_eq!(r.changed, vec![(1, m0 + 1), (2, m0 + 1)]);
        let st = s.status(ib).unwrap();
        assert_eq!((st.unseen, st.highest_modseq), (2, m0 + 1));
        // Adding again changes nothing and bumps nothing.
        let r = s
            .store_flags(ib, &[(1, 1)], FlagOp::Add, Flags::SEEN, &[], None)
            .await
            .unwrap();
        assert!(r.changed.is_empty());
        // UNCHANGEDSINCE below message 1's modseq fails it, 3 passes.
        let r = s
            .store_flags(
                ib,
                &[(1, 1), (3, 3)],
                FlagOp::Add,
                Flags::DELETED,
                &[],
                Some(m0),
            )
            .await
            .unwrap();
        assert_eq!(r.failed, vec![1]);
        assert_eq!(r.changed, vec![(3, m0 + 2)]);
        assert_eq!(s.status(ib).unwrap().deleted, 1);
        let m1 = s.message(ib, 1).unwrap();
        let snap = s.snapshot(ib).unwrap();
        let kw: Vec<&str> = m1
            .keywords
            .ids()
            .map(|k| snap.keywords[k as usize].as_str())
            .collect();
        assert_eq!(kw, vec!["$Work"]);
        assert_eq!(
            s.changed_since(ib, m0)
                .unwrap()
                .iter()
                .map(|m| m.uid)
                .collect::<Vec<_>>(),
            vec![1, 2, 3]
        );

        let gone = s.expunge(ib, None, ExpungeMode::DeletedOnly).await.unwrap();
        assert_eq!(gone, vec![3]);
        let gone = s
            .expunge(ib, Some(&[(4, 4)]), ExpungeMode::Exact)
            .await
            .unwrap();
        assert_eq!(gone, vec![4]);
        assert_eq!(s.expunged_since(ib, m0).unwrap(), vec![(3, 4)]);
        assert_eq!(s.expunged_since(ib, m0 + 3).unwrap(), vec![(4, 4)]);
        let st = s.status(ib).unwrap();
        assert_eq!((st.messages, st.uidnext, st.deleted), (2, 5, 0));
        // UIDs are never reused.
        let b = raw(9);
        assert_eq!(s.append(ib, &[new_msg(&b)]).await.unwrap(), vec![5]);
        assert!(matches!(
            s.read_message(ib, 3).await,
            Err(StoreError::NoSuchMessage(3))
        ));
    });
}

#[test]
fn mailbox_hierarchy_rename_delete_and_subscriptions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let leaf = s
            .create_mailbox("Work/2024/Q1", SpecialUse::None)
            .await
            .unwrap();
        let names: Vec<String> = s.list().into_iter().map(|m| m.name).collect();
        assert_eq!(names, vec!["INBOX", "Work", "Work/2024", "Work/2024/Q1"]);
        assert!(s.list()[1].has_children && !s.list()[3].has_children);
        assert!(matches!(
            s.create_mailbox("Work", SpecialUse::None).await,
            Err(StoreError::MailboxExists(_))
        ));
        assert!(matches!(
            s.create_mailbox("a//b", SpecialUse::None).await,
            Err(StoreError::InvalidName(_))
        ));
        assert!(matches!(
            s.delete_mailbox("Work").await,
            Err(StoreError::HasChildren(_))
        ));
        assert!(matches!(
            s.delete_mailbox("inbox").await,
            Err(StoreError::CannotDeleteInbox)
        ));
        let sent = s.create_mailbox("Sent", SpecialUse::Sent).await.unwrap();
        assert_eq!(
            s.list().iter().find(|m| m.id == sent).unwrap().special_use,
            SpecialUse::Sent
        );

        s.rename_mailbox("Work", "Archive/Old").await.unwrap();
        let names: Vec<String> = s.list().into_iter().map(|m| m.name).collect();
        assert_eq!(
            names,
            vec![
                "Archive",
                "Archive/Old",
                "Archive/Old/2024",
                "Archive/Old/2024/Q1",
                "INBOX",
                "Sent"
            ]
        );
        assert_eq!(
            s.mailbox_id("Archive/Old/2024/Q1"),
            Some(leaf),
            "ids survive rename"
        );
        assert!(matches!(
            s.rename_mailbox("Archive", "Archive/x").await,
            Err(StoreError::InvalidName(_))
        ));

        s.subscribe("Sent", true).await.unwrap();
        s.subscribe("Nowhere", true).await.unwrap();
        assert_eq!(
            s.subscriptions(),
            vec!["Nowhere".to_string(), "Sent".to_string()]
        );
        assert!(
            s.list()
                .iter()
                .find(|m| m.name == "Sent")
                .unwrap()
                .subscribed
        );

        // A deleted and re-created name gets a new, larger UIDVALIDITY.
        let uv1 = s.status(sent).unwrap().uidvalidity;
        s.delete_mailbox("Sent").await.unwrap();
        let sent2 = s.create_mailbox("Sent", SpecialUse::None).await.unwrap();
        assert_ne!(sent, sent2);
        assert!(s.status(sent2).unwrap().uidvalidity > uv1);

        // Renaming INBOX moves its messages and leaves it empty.
        let ib = s.mailbox_id("INBOX").unwrap();
        let b1 = raw(1);
        let b2 = raw(2);
        s.append(ib, &[new_msg(&b1), new_msg(&b2)]).await.unwrap();
        s.rename_mailbox("INBOX", "Old Inbox").await.unwrap();
        let old = s.mailbox_id("Old Inbox").unwrap();
        assert_eq!(s.status(ib).unwrap().messages, 0);
        assert_eq!(s.status(ib).unwrap().uidnext, 3);
        assert_eq!(s.status(old).unwrap().messages, 2);
        assert_eq!(&*s.read_message(old, 2).await.unwrap(), &b2[..]);

        drop(s);
        let s = Store::open(&path, cfg()).await.unwrap();
        assert_eq!(s.mailbox_id("Archive/Old/2024/Q1"), Some(leaf));
        assert_eq!(s.status(sent2).unwrap().messages, 0);
        assert_eq!(
            s.status(s.mailbox_id("Old Inbox").unwrap())
                .unwrap()
                .messages,
            2
        );
    });
}

#[test]
fn copy_and_move_map_uids_and_share_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let dst = s.create_mailbox("Dst", SpecialUse::None).await.unwrap();
        let bodies: Vec<Vec<u8>> = (0..3).map(raw).collect();
        let mut msgs: Vec<NewMessage<'_>> = bodies.iter().map(|b| new_msg(b)).collect();
        msgs[1].flags = Flags::FLAGGED;
        msgs[1].keywords = vec!["$Label1".into()];
        s.append(ib, &msgs).await.unwrap();
        let r = s.copy(ib, &[(2, 3)], dst).await.unwrap();
        assert_eq!(r.pairs, vec![(2, 1), (3, 2)]);
        assert_eq!(r.dst_uidvalidity, s.status(dst).unwrap().uidvalidity);
        let m = s.message(dst, 1).unwrap();
        assert_eq!(m.flags, Flags::FLAGGED);
        assert_eq!(
            s.snapshot(dst).unwrap().keywords,
            vec!["$Label1".to_string()]
        );
        assert_eq!(&*s.read_message(dst, 2).await.unwrap(), &bodies[2][..]);

        let r = s.move_messages(ib, &[(1, 2)], dst).await.unwrap();
        assert_eq!(r.pairs, vec![(1, 3), (2, 4)]);
        let snap = s.snapshot(ib).unwrap();
        assert_eq!(
            snap.messages.iter().map(|m| m.uid).collect::<Vec<_>>(),
            vec![3]
        );
        assert_eq!(s.expunged_since(ib, 0).unwrap(), vec![(1, 2)]);
        assert_eq!(&*s.read_message(dst, 3).await.unwrap(), &bodies[0][..]);
        // Copying from a nonexistent mailbox or an empty set.
        assert!(matches!(
            s.copy(999, &[(1, 1)], dst).await,
            Err(StoreError::NoSuchMailbox(_))
        ));
        assert!(
            s.copy(ib, &[(100, 200)], dst)
                .await
                .unwrap()
                .pairs
                .is_empty()
        );
    });
}

#[test]
fn limits_give_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let c = StoreConfig {
            max_message_size: 100,
            max_keywords: 2,
            max_mailboxes: 3,
            ..cfg()
        };
        let s = Store::open(&path, c).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let big = vec![b'x'; 101];
        assert!(matches!(
            s.append(ib, &[new_msg(&big)]).await,
            Err(StoreError::TooBig { size: 101, .. })
        ));
        let small = b"Subject: x\r\n\r\nx".to_vec();
        s.append(ib, &[new_msg(&small)]).await.unwrap();
        let kws = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        s.store_flags(
            ib,
            &[(1, 1)],
            FlagOp::Add,
            Flags::empty(),
            &kws(&["a", "b"]),
            None,
        )
        .await
        .unwrap();
        assert!(matches!(
            s.store_flags(
                ib,
                &[(1, 1)],
                FlagOp::Add,
                Flags::empty(),
                &kws(&["c"]),
                None
            )
            .await,
            Err(StoreError::Limit(_))
        ));
        assert!(matches!(
            s.store_flags(
                ib,
                &[(1, 1)],
                FlagOp::Add,
                Flags::empty(),
                &kws(&["bad kw"]),
                None
            )
            .await,
            Err(StoreError::InvalidKeyword(_))
        ));
        s.create_mailbox("x", SpecialUse::None).await.unwrap();
        assert!(matches!(
            s.create_mailbox("y/z", SpecialUse::None).await,
            Err(StoreError::Limit(_))
        ));
        assert_eq!(s.list().len(), 2, "a failed create leaves nothing behind");
        let long = "n".repeat(600);
        assert!(matches!(
            s.create_mailbox(&long, SpecialUse::None).await,
            Err(StoreError::InvalidName(_))
        ));
    });
}

#[test]
fn concurrent_appends_share_syncs_and_get_distinct_ascending_uids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let before = s.sync_count();
        let gen0 = s.change_generation();
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let s = s.clone();
                glommio::spawn_local(async move {
                    let b = raw(i);
                    s.append(ib, &[new_msg(&b)]).await.unwrap()[0]
                })
            })
            .collect();
        let mut uids = Vec::new();
        for t in tasks {
            uids.push(t.await);
        }
        let syncs = s.sync_count() - before;
        assert!(syncs < 40, "40 concurrent appends took {syncs} syncs");
        assert!(s.change_generation() > gen0);
        uids.sort_unstable();
        assert_eq!(uids, (1..=40).collect::<Vec<u32>>());
        // Every uid reads back its own message.
        for u in 1..=40u32 {
            let b = s.read_message(ib, u).await.unwrap();
            assert!(b.starts_with(b"From: a"), "uid {u}");
        }
    });
}

#[test]
fn new_messages_are_invisible_until_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let b = raw(1);
        let msgs = [new_msg(&b)];
        let mut fut = Box::pin(s.append(ib, &msgs));
        // One poll queues the record and starts its write + fdatasync.
        assert!(futures_lite::future::poll_once(&mut fut).await.is_none());
        let st = s.status(ib).unwrap();
        assert_eq!(
            (st.messages, st.uidnext),
            (0, 1),
            "a message not yet durable is hidden"
        );
        assert!(s.snapshot(ib).unwrap().messages.is_empty());
        assert!(matches!(
            s.read_message(ib, 1).await,
            Err(StoreError::NoSuchMessage(1))
        ));
        assert_eq!(fut.await.unwrap(), vec![1]);
        let st = s.status(ib).unwrap();
        assert_eq!((st.messages, st.uidnext), (1, 2));
    });
}

#[test]
fn wait_change_wakes_watchers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let g = s.change_generation();
        let s2 = s.clone();
        let watcher = glommio::spawn_local(async move {
            s2.wait_change(g).await;
            s2.status(ib).unwrap().messages
        });
        let b = raw(1);
        s.append(ib, &[new_msg(&b)]).await.unwrap();
        assert_eq!(watcher.await, 1);
    });
}

#[test]
fn flag_sync_never_still_persists_on_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let c = StoreConfig {
            flag_sync: FlagSync::Never,
            ..cfg()
        };
        let s = Store::open(&path, c.clone()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let b = raw(1);
        s.append(ib, &[new_msg(&b)]).await.unwrap();
        s.store_flags(ib, &[(1, 1)], FlagOp::Set, Flags::ANSWERED, &[], None)
            .await
            .unwrap();
        s.close().await.unwrap();
        assert!(matches!(
            s.append(ib, &[new_msg(&b)]).await,
            Err(StoreError::Closed)
        ));
        let s = Store::open(&path, c).await.unwrap();
        assert_eq!(s.message(ib, 1).unwrap().flags, Flags::ANSWERED);
    });
}

#[test]
fn background_checkpoint_and_compaction_run_on_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let c = StoreConfig {
        background: true,
        checkpoint_records: 5,
        segment_size: 4096,
        ..StoreConfig::default()
    };
    let c2 = c.clone();
    let p2 = path.clone();
    let sizes_before: Vec<u64> = run(move || async move {
        let s = Store::open(&p2, c2).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        for i in 0..40 {
            let b = raw(i);
            s.append(ib, &[new_msg(&b)]).await.unwrap();
        }
        let mut sizes = Vec::new();
        for seg in 1..=s.segment_count() as u32 {
            let f = glommio::io::BufferedFile::open(p2.join(format!("seg-{seg:08}.log")))
                .await
                .unwrap();
            sizes.push(f.file_size().await.unwrap());
        }
        s.expunge(ib, None, ExpungeMode::Exact).await.unwrap();
        // close() waits for background work, including work it chained.
        s.close().await.unwrap();
        sizes
    });
    assert!(
        path.join("index.rkyv").exists(),
        "background checkpoint written"
    );
    assert!(sizes_before.len() > 5);
    let sealed = sizes_before.len() - 1;
    let shrunk = (1..=sealed)
        .filter(|i| {
            std::fs::metadata(path.join(format!("seg-{i:08}.log")))
                .unwrap()
                .len()
                < sizes_before[i - 1]
        })
        .count();
    assert!(
        shrunk * 2 >= sealed,
        "background compaction rewrote {shrunk} of {sealed} sealed segments"
    );
    run(move || async move {
        let s = Store::open(&path, c).await.unwrap();
        let st = s.status(s.mailbox_id(INBOX).unwrap()).unwrap();
        assert_eq!((st.messages, st.uidnext), (0, 41));
        assert!(s.verify().await.unwrap().index_matches);
    });
}

#[test]
fn open_segment_files_stay_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let c = StoreConfig {
            segment_size: 4096,
            max_open_segments: 4,
            ..cfg()
        };
        let s = Store::open(&path, c.clone()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let bodies: Vec<Vec<u8>> = (0..40).map(raw).collect();
        for b in &bodies {
            s.append(ib, &[new_msg(b)]).await.unwrap();
        }
        assert!(s.segment_count() > 5, "{} segments", s.segment_count());
        drop(s);
        let s = Store::open(&path, c).await.unwrap();
        assert_eq!(
            s.open_segment_files(),
            1,
            "only the newest segment is open after open"
        );
        for _ in 0..2 {
            for (i, b) in bodies.iter().enumerate() {
                assert_eq!(&*s.read_message(ib, i as u32 + 1).await.unwrap(), &b[..]);
                assert!(s.open_segment_files() <= 4);
            }
        }
    });
}

#[test]
fn batched_flag_sync_syncs_within_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let window = std::time::Duration::from_millis(20);
        let c = StoreConfig {
            flag_sync: FlagSync::Batched(window),
            ..cfg()
        };
        let s = Store::open(&path, c.clone()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let b = raw(1);
        s.append(ib, &[new_msg(&b), new_msg(&b)]).await.unwrap();
        let syncs = s.sync_count();
        // Acknowledged without a sync of their own...
        s.store_flags(ib, &[(1, 1)], FlagOp::Add, Flags::SEEN, &[], None)
            .await
            .unwrap();
        s.store_flags(ib, &[(2, 2)], FlagOp::Add, Flags::FLAGGED, &[], None)
            .await
            .unwrap();
        assert_eq!(s.sync_count(), syncs);
        // ...and both covered by one sync once the window has passed (the
        // loop only bounds the wait on a slow shared disk).
        for _ in 0..500 {
            glommio::timer::sleep(window).await;
            if s.sync_count() > syncs {
                break;
            }
        }
        glommio::timer::sleep(window * 2).await;
        assert_eq!(s.sync_count(), syncs + 1);
        drop(s);
        let s = Store::open(&path, c).await.unwrap();
        assert_eq!(s.message(ib, 1).unwrap().flags, Flags::SEEN);
        assert_eq!(s.message(ib, 2).unwrap().flags, Flags::FLAGGED);
    });
}

#[test]
fn snapshots_share_one_list_until_the_mailbox_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let b = raw(1);
        s.append(ib, &[new_msg(&b), new_msg(&b)]).await.unwrap();
        let a = s.snapshot(ib).unwrap();
        let a2 = s.snapshot(ib).unwrap();
        assert!(std::rc::Rc::ptr_eq(&a.messages, &a2.messages), "no copy");
        s.store_flags(ib, &[(2, 2)], FlagOp::Add, Flags::SEEN, &[], None)
            .await
            .unwrap();
        let c = s.snapshot(ib).unwrap();
        assert!(!std::rc::Rc::ptr_eq(&a.messages, &c.messages));
        assert_eq!(c.messages[1].flags, Flags::SEEN);
        assert_eq!(
            a.messages[1].flags,
            Flags::empty(),
            "old views keep their state"
        );
        s.append(ib, &[new_msg(&b)]).await.unwrap();
        assert_eq!(s.snapshot(ib).unwrap().messages.len(), 3);
        s.expunge(ib, Some(&[(1, 1)]), ExpungeMode::Exact)
            .await
            .unwrap();
        let uids: Vec<u32> = s
            .snapshot(ib)
            .unwrap()
            .messages
            .iter()
            .map(|m| m.uid)
            .collect();
        assert_eq!(uids, [2, 3]);
        // Keywords above the inline 64 come from the side table.
        let many: Vec<String> = (0..70).map(|i| format!("k{i}")).collect();
        s.store_flags(ib, &[(3, 3)], FlagOp::Add, Flags::empty(), &many, None)
            .await
            .unwrap();
        let snap = s.snapshot(ib).unwrap();
        assert_eq!(snap.messages[1].keywords.ids().count(), 70);
    });
}
