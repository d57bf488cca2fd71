//! The per-user change feed (NOTIFY): what a subscriber is told, in order,
//! and what happens when it falls behind.

mod common;

use common::{cfg, new_msg, raw, run};
use store::{
    Drained, ExpungeMode, FeedEvent, FlagOp, Flags, INBOX, MessageChange, MetaOwner, SpecialUse,
    Store,
};

fn events(d: Drained) -> Vec<FeedEvent> {
    match d {
        Drained::Events(e) => e,
        Drained::Overflowed => panic!("unexpected overflow"),
    }
}

#[test]
fn every_kind_of_change_reaches_a_subscriber_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        // Nothing is recorded for a subscriber that did not exist yet.
        let b = raw(1);
        s.append(ib, &[new_msg(&b)]).await.unwrap();
        let sub = s.subscribe_feed(100);
        assert!(sub.is_empty());
        let work = s.create_mailbox("Work", SpecialUse::None).await.unwrap();
        s.create_mailbox("Work/a", SpecialUse::None).await.unwrap();
        let bodies: Vec<Vec<u8>> = (0..3).map(raw).collect();
        let msgs: Vec<_> = bodies.iter().map(|b| new_msg(b)).collect();
        // Three new messages in one mailbox are one event.
        s.append(work, &msgs).await.unwrap();
        s.store_flags(work, &[(1, 1)], FlagOp::Add, Flags::DELETED, &[], None)
            .await
            .unwrap();
        s.expunge(work, None, ExpungeMode::DeletedOnly)
            .await
            .unwrap();
        s.move_messages(work, &[(2, 2)], ib).await.unwrap();
        s.rename_mailbox("Work", "Job").await.unwrap();
        s.subscribe("Job", true).await.unwrap();
        let ev = events(sub.drain());
        let wa = s.mailbox_id("Job/a").unwrap();
        assert_eq!(
            ev,
            vec![
                FeedEvent::MailboxCreated {
                    mailbox: work,
                    name: "Work".into()
                },
                FeedEvent::MailboxCreated {
                    mailbox: wa,
                    name: "Work/a".into()
                },
                FeedEvent::Messages {
                    mailbox: work,
                    change: MessageChange::New
                },
                FeedEvent::Messages {
                    mailbox: work,
                    change: MessageChange::Flags
                },
                FeedEvent::Messages {
                    mailbox: work,
                    change: MessageChange::Expunge
                },
                FeedEvent::Messages {
                    mailbox: ib,
                    change: MessageChange::New
                },
                FeedEvent::MailboxRenamed {
                    mailbox: work,
                    from: "Work".into(),
                    to: "Job".into()
                },
                FeedEvent::MailboxRenamed {
                    mailbox: wa,
                    from: "Work/a".into(),
                    to: "Job/a".into()
                },
                FeedEvent::Subscription {
                    name: "Job".into(),
                    on: true
                },
            ]
        );
        assert!(sub.is_empty());
        s.set_metadata(
            MetaOwner::Mailbox(work),
            vec![
                ("/private/a".into(), Some(b"1".to_vec())),
                ("/private/b".into(), None),
            ],
        )
        .await
        .unwrap();
        s.set_metadata(MetaOwner::Server, vec![("/private/a".into(), None)])
            .await
            .unwrap();
        s.set_metadata(MetaOwner::Mailbox(work), vec![("/private/a".into(), None)])
            .await
            .unwrap();
        // Removing what is not there changes nothing.
        assert_eq!(
            events(sub.drain()),
            vec![
                FeedEvent::Metadata {
                    mailbox: Some(work),
                    entries: vec!["/private/a".into()]
                },
                FeedEvent::Metadata {
                    mailbox: Some(work),
                    entries: vec!["/private/a".into()]
                },
            ]
        );
        s.set_metadata(
            MetaOwner::Server,
            vec![("/shared/x".into(), Some(b"v".to_vec()))],
        )
        .await
        .unwrap();
        assert_eq!(
            events(sub.drain()),
            vec![FeedEvent::Metadata {
                mailbox: None,
                entries: vec!["/shared/x".into()]
            }]
        );
        s.delete_mailbox("Job/a").await.unwrap();
        assert_eq!(
            events(sub.drain()),
            vec![FeedEvent::MailboxDeleted {
                mailbox: wa,
                name: "Job/a".into()
            }]
        );
    });
}

#[test]
fn a_subscriber_that_falls_behind_is_told_and_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let slow = s.subscribe_feed(2);
        let fast = s.subscribe_feed(100);
        for name in ["A", "B", "C"] {
            s.create_mailbox(name, SpecialUse::None).await.unwrap();
        }
        assert!(!slow.is_empty());
        assert_eq!(slow.drain(), Drained::Overflowed);
        assert_eq!(events(fast.drain()).len(), 3);
        s.create_mailbox("D", SpecialUse::None).await.unwrap();
        let d = s.mailbox_id("D").unwrap();
        assert_eq!(
            events(slow.drain()),
            vec![FeedEvent::MailboxCreated {
                mailbox: d,
                name: "D".into()
            }]
        );
        // A dropped subscription is forgotten.
        drop(fast);
        s.create_mailbox("E", SpecialUse::None).await.unwrap();
        assert_eq!(events(slow.drain()).len(), 1);
    });
}
