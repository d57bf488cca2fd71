//! Annotations (IMAP METADATA): limits, RENAME and DELETE, and survival of
//! reopen with and without the checkpoint and of compaction.

mod common;

use common::{cfg, new_msg, raw, run};
use store::{
    ExpungeMode, INBOX, MetaLimits, MetaOwner, SpecialUse, Store, StoreConfig, StoreError,
};

fn set(name: &str, v: &[u8]) -> (String, Option<Vec<u8>>) {
    (name.to_owned(), Some(v.to_vec()))
}

fn del(name: &str) -> (String, Option<Vec<u8>>) {
    (name.to_owned(), None)
}

fn value(s: &Store, owner: MetaOwner, name: &str) -> Option<Vec<u8>> {
    s.metadata(owner, name, Some(0)).unwrap().0
}

fn small_limits() -> StoreConfig {
    StoreConfig {
        metadata: MetaLimits {
            max_value: 8,
            max_entries: 3,
            max_user_entries: 7,
            max_total_bytes: 100,
            max_name: 40,
            max_depth: 4,
        },
        ..cfg()
    }
}

#[test]
fn limits_are_all_or_nothing() {
    let base = tempfile::tempdir().unwrap();
    let d = base.path().join("s");
    run(move || async move {
        let s = Store::open(&d, small_limits()).await.unwrap();
        let ib = MetaOwner::Mailbox(s.mailbox_id(INBOX).unwrap());
        let e = s
            .set_metadata(
                ib,
                vec![set("/private/a", b"1"), set("/private/b", b"123456789")],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, StoreError::MetadataTooBig { limit: 8 }),
            "{e:?}"
        );
        assert_eq!(
            value(&s, ib, "/private/a"),
            None,
            "nothing of a refused change"
        );

        s.set_metadata(
            ib,
            vec![
                set("/private/a", b"1"),
                set("/private/b", b"2"),
                set("/shared/c", b""),
            ],
        )
        .await
        .unwrap();
        let e = s
            .set_metadata(ib, vec![set("/private/d", b"4")])
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::MetadataTooMany {
                    limit: 3,
                    per_user: false
                }
            ),
            "{e:?}"
        );
        // Replacing one and removing one while adding one stays at three.
        s.set_metadata(
            ib,
            vec![
                set("/private/a", b"x"),
                del("/private/b"),
                set("/private/d", b"4"),
            ],
        )
        .await
        .unwrap();
        assert_eq!(value(&s, ib, "/private/a").as_deref(), Some(&b"x"[..]));
        assert_eq!(value(&s, ib, "/private/b"), None);
        // Entries count per owner: the server has room of its own.
        for n in ["/shared/s1", "/shared/s2", "/shared/s3"] {
            s.set_metadata(MetaOwner::Server, vec![set(n, b"12345678")])
                .await
                .unwrap();
        }
        // Names plus values over all owners: 3 x 18 + 30-odd so far.
        let (n, bytes) = s.metadata_usage();
        assert_eq!(n, 6);
        let other = s.create_mailbox("Other", SpecialUse::None).await.unwrap();
        let e = s
            .set_metadata(
                MetaOwner::Mailbox(other),
                vec![set("/private/long-name-x", b"12345678")],
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, StoreError::MetadataQuota { limit: 100 }),
            "{e:?} at {bytes}"
        );
        // Removing always passes, whatever the limits.
        s.set_metadata(
            MetaOwner::Server,
            vec![del("/shared/s1"), del("/shared/none")],
        )
        .await
        .unwrap();
        assert_eq!(s.metadata_usage().0, 5);
        // Entries over all owners: 5 so far, 7 allowed.
        let other2 = s.create_mailbox("Other2", SpecialUse::None).await.unwrap();
        s.set_metadata(
            MetaOwner::Mailbox(other2),
            vec![set("/private/1", b""), set("/private/2", b"")],
        )
        .await
        .unwrap();
        let e = s
            .set_metadata(MetaOwner::Mailbox(other), vec![set("/private/3", b"")])
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::MetadataTooMany {
                    limit: 7,
                    per_user: true
                }
            ),
            "{e:?}"
        );
        // A replacement does not grow the count.
        s.set_metadata(MetaOwner::Mailbox(other2), vec![set("/private/1", b"x")])
            .await
            .unwrap();
        let e = s
            .set_metadata(ib, vec![set("/private/a/b/c/d", b"")])
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::MetadataName(_)), "{e:?}");
    });
}

#[test]
fn depth_lists_what_is_below() {
    let base = tempfile::tempdir().unwrap();
    let d = base.path().join("s");
    run(move || async move {
        let s = Store::open(&d, cfg()).await.unwrap();
        let o = MetaOwner::Server;
        s.set_metadata(
            o,
            vec![
                set("/shared/a", b"1"),
                set("/shared/a/b", b"2"),
                set("/shared/a/b/c", b"3"),
                set("/shared/ab", b"4"),
            ],
        )
        .await
        .unwrap();
        let names = |depth| {
            let (v, below) = s.metadata(o, "/shared/a", depth).unwrap();
            (v, below.into_iter().map(|e| e.0).collect::<Vec<_>>())
        };
        assert_eq!(names(Some(0)), (Some(b"1".to_vec()), vec![]));
        assert_eq!(
            names(Some(1)),
            (Some(b"1".to_vec()), vec!["/shared/a/b".into()])
        );
        assert_eq!(
            names(None),
            (
                Some(b"1".to_vec()),
                vec!["/shared/a/b".to_string(), "/shared/a/b/c".into()]
            )
        );
    });
}

#[test]
fn annotations_follow_rename_and_go_with_delete() {
    let base = tempfile::tempdir().unwrap();
    let d = base.path().join("s");
    run(move || async move {
        let s = Store::open(&d, cfg()).await.unwrap();
        let a = s.create_mailbox("A", SpecialUse::None).await.unwrap();
        s.create_mailbox("A/child", SpecialUse::None).await.unwrap();
        let child = s.mailbox_id("A/child").unwrap();
        s.set_metadata(MetaOwner::Mailbox(a), vec![set("/private/comment", b"a")])
            .await
            .unwrap();
        s.set_metadata(
            MetaOwner::Mailbox(child),
            vec![set("/shared/comment", b"c")],
        )
        .await
        .unwrap();
        s.rename_mailbox("A", "B").await.unwrap();
        let b = s.mailbox_id("B").unwrap();
        assert_eq!(
            value(&s, MetaOwner::Mailbox(b), "/private/comment").as_deref(),
            Some(&b"a"[..])
        );
        let bc = s.mailbox_id("B/child").unwrap();
        assert_eq!(
            value(&s, MetaOwner::Mailbox(bc), "/shared/comment").as_deref(),
            Some(&b"c"[..])
        );
        s.delete_mailbox("B/child").await.unwrap();
        let again = s.create_mailbox("B/child", SpecialUse::None).await.unwrap();
        assert_eq!(
            value(&s, MetaOwner::Mailbox(again), "/shared/comment"),
            None
        );
        assert!(matches!(
            s.metadata(MetaOwner::Mailbox(bc), "/shared/comment", Some(0)),
            Err(StoreError::NoSuchMailbox(_))
        ));
        assert_eq!(s.metadata_usage(), (1, 17));
        let rep = s.verify().await.unwrap();
        assert!(rep.index_matches && rep.bad.is_empty());
    });
}

fn compaction_cfg() -> StoreConfig {
    StoreConfig {
        segment_size: 4096,
        max_open_segments: 3,
        ..cfg()
    }
}

#[test]
fn annotations_survive_reopen_checkpoint_loss_and_compaction() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("s");
    let binary: Vec<u8> = (0..=255).collect();
    let d = dir.clone();
    let bin = binary.clone();
    run(move || async move {
        let s = Store::open(&d, compaction_cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        s.set_metadata(MetaOwner::Server, vec![set("/shared/comment", b"server")])
            .await
            .unwrap();
        s.set_metadata(MetaOwner::Mailbox(ib), vec![set("/private/bin", &bin)])
            .await
            .unwrap();
        // Enough messages to seal several segments, then all expunged so
        // compaction rewrites the segments holding the annotation records.
        for i in 0..40 {
            let b = raw(i);
            s.append(ib, &[new_msg(&b)]).await.unwrap();
        }
        s.set_metadata(
            MetaOwner::Mailbox(ib),
            vec![set("/private/later", b"l"), del("/private/none")],
        )
        .await
        .unwrap();
        s.expunge(ib, None, ExpungeMode::Exact).await.unwrap();
        assert!(s.segment_count() > 3);
        assert!(s.compact().await.unwrap() >= 1);
        s.close().await.unwrap();
    });
    let check = |dir: std::path::PathBuf, from_checkpoint: bool, bin: Vec<u8>| {
        run(move || async move {
            let s = Store::open(&dir, compaction_cfg()).await.unwrap();
            assert_eq!(s.open_info().from_checkpoint, from_checkpoint);
            let ib = MetaOwner::Mailbox(s.mailbox_id(INBOX).unwrap());
            assert_eq!(
                value(&s, MetaOwner::Server, "/shared/comment").as_deref(),
                Some(&b"server"[..])
            );
            assert_eq!(value(&s, ib, "/private/bin"), Some(bin));
            assert_eq!(value(&s, ib, "/private/later").as_deref(), Some(&b"l"[..]));
            assert_eq!(s.metadata_usage().0, 3);
            let rep = s.verify().await.unwrap();
            assert!(rep.index_matches && rep.bad.is_empty());
            s.close().await.unwrap();
        })
    };
    check(dir.clone(), true, binary.clone());
    std::fs::remove_file(dir.join("index.rkyv")).unwrap();
    check(dir.clone(), false, binary.clone());
    check(dir, true, binary);
}
