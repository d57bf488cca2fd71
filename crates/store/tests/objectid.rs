//! Object ids (EMAILID, THREADID) and save dates: what new records carry,
//! what stores written before them (record types 6 and 9) give, and that
//! copies, moves, compaction, checkpoints and replay keep them.

mod common;

use common::{cfg, new_msg, run};
use store::{INBOX, MessageInfo, NewMessage, SpecialUse, Store, StoreConfig};

fn mail(id: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nSubject: s {id}\r\nMessage-ID: <{id}>\r\n{extra}\r\nbody {id}\r\n"
    )
    .into_bytes()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn ids(s: &Store, mb: u32) -> Vec<(u32, u64, u64, Option<i64>)> {
    s.snapshot(mb)
        .unwrap()
        .messages
        .iter()
        .map(|m: &MessageInfo| (m.uid, m.email_id, m.thread_id, m.save_date))
        .collect()
}

fn small() -> StoreConfig {
    StoreConfig {
        segment_size: 2048,
        ..cfg()
    }
}

#[test]
fn ids_follow_copies_and_threads_and_survive_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, small()).await.unwrap();
        let inbox = s.mailbox_id(INBOX).unwrap();
        let trash = s.create_mailbox("Trash", SpecialUse::Trash).await.unwrap();
        let other = s.create_mailbox("Other", SpecialUse::None).await.unwrap();
        let before = now();
        let parent = mail("p@x", "");
        let reply = mail("r@x", "In-Reply-To: <p@x>\r\nReferences: <p@x>\r\n");
        let unrelated = mail("u@x", "");
        // A grandchild naming only the root and a missing middle message.
        let deep = mail("d@x", "References: <p@x> <missing@x>\r\n");
        s.append(inbox, &[new_msg(&parent), new_msg(&reply)])
            .await
            .unwrap();
        s.append(inbox, &[new_msg(&unrelated)]).await.unwrap();
        s.append(other, &[new_msg(&deep)]).await.unwrap();
        let a = ids(&s, inbox);
        let (p, r, u) = (a[0], a[1], a[2]);
        assert!(p.1 != r.1 && r.1 != u.1 && p.1 != u.1, "{a:?}");
        assert_eq!(p.2, p.1, "a thread starts with its first message's id");
        assert_eq!(r.2, p.1, "the reply joins its parent's thread");
        assert_eq!(u.2, u.1, "an unrelated message has a thread of its own");
        assert_eq!(ids(&s, other)[0].2, p.1, "across mailboxes, by References");
        for m in &a {
            let d = m.3.expect("new messages have a save date");
            assert!(d >= before && d <= now(), "{m:?}");
        }

        // COPY and MOVE keep email and thread ids; the save date is new.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        s.copy(inbox, &[(1, 1)], trash).await.unwrap();
        s.move_messages(inbox, &[(3, 3)], trash).await.unwrap();
        let t = ids(&s, trash);
        assert_eq!((t[0].1, t[0].2), (p.1, p.2));
        assert_eq!((t[1].1, t[1].2), (u.1, u.2));
        assert!(
            t[0].3.unwrap() > p.3.unwrap(),
            "copy has the copy's save date: {t:?}"
        );
        assert_eq!(ids(&s, inbox).len(), 2);

        // Fill segments so the early ones are sealed, expunge, compact.
        for i in 0..20 {
            let m = mail(&format!("f{i}@x"), "");
            s.append(other, &[new_msg(&m)]).await.unwrap();
        }
        s.expunge(inbox, Some(&[(2, 2)]), store::ExpungeMode::Exact)
            .await
            .unwrap();
        let live_inbox = ids(&s, inbox);
        let live_trash = ids(&s, trash);
        let live_other = ids(&s, other);
        assert!(s.compact().await.unwrap() > 0);
        assert_eq!(ids(&s, trash), live_trash);
        let report = s.verify().await.unwrap();
        assert!(report.bad.is_empty() && report.index_matches, "{report:?}");
        s.close().await.unwrap();
        drop(s);

        // From the checkpoint, then from the log alone.
        for drop_ckpt in [false, true] {
            if drop_ckpt {
                Store::drop_checkpoint(&path).await.unwrap();
            }
            let s = Store::open(&path, small()).await.unwrap();
            assert_eq!(s.open_info().from_checkpoint, !drop_ckpt);
            assert_eq!(ids(&s, inbox), live_inbox);
            assert_eq!(ids(&s, trash), live_trash);
            assert_eq!(ids(&s, other), live_other);
            // Threading after a reopen finds the old messages again.
            let late = mail("late@x", "In-Reply-To: <u@x>\r\n");
            let uid = s.append(inbox, &[new_msg(&late)]).await.unwrap()[0];
            let m = s.message(inbox, uid).unwrap();
            assert_eq!(m.thread_id, u.1);
            assert!(!live_other.iter().any(|o| o.1 == m.email_id));
            s.expunge(inbox, Some(&[(uid, uid)]), store::ExpungeMode::Exact)
                .await
                .unwrap();
            s.close().await.unwrap();
        }
    });
}

#[test]
fn distinct_appends_never_share_an_email_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, small()).await.unwrap();
        let inbox = s.mailbox_id(INBOX).unwrap();
        let body = mail("same@x", "");
        let mut seen = std::collections::HashSet::new();
        // Identical bytes, batches, segment rolls, expunges, compactions
        // and reopens: every append gets an id never given before.
        for round in 0..4 {
            for n in 1..4 {
                let msgs: Vec<NewMessage<'_>> = (0..n).map(|_| new_msg(&body)).collect();
                let uids = s.append(inbox, &msgs).await.unwrap();
                for u in uids {
                    assert!(
                        seen.insert(s.message(inbox, u).unwrap().email_id),
                        "round {round}"
                    );
                }
            }
            s.expunge(inbox, None, store::ExpungeMode::Exact)
                .await
                .unwrap();
            s.compact().await.unwrap();
        }
        s.close().await.unwrap();
    });
}

#[test]
fn expunge_saved_before_spares_the_unknown_and_the_new() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let inbox = s.mailbox_id(INBOX).unwrap();
        let body = mail("x@x", "");
        let old = NewMessage {
            internal_date: 1_000_000_000,
            ..new_msg(&body)
        };
        s.append(inbox, &[old.clone(), old]).await.unwrap();
        let modseq = s.status(inbox).unwrap().highest_modseq;
        // Saved just now: a cutoff in the past takes nothing, whatever the
        // internal date says.
        assert!(
            s.expunge_saved_before(inbox, now() - 60)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.expunge_saved_before(inbox, now() + 60).await.unwrap(),
            vec![1, 2]
        );
        assert!(s.status(inbox).unwrap().highest_modseq > modseq);
        assert_eq!(s.expunged_since(inbox, modseq).unwrap(), vec![(1, 2)]);
    });
}

#[test]
fn only_the_nearest_max_thread_refs_references_count() {
    for (max, joins) in [(2, false), (3, true)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        run(move || async move {
            let s = Store::open(
                &path,
                StoreConfig {
                    max_thread_refs: max,
                    ..cfg()
                },
            )
            .await
            .unwrap();
            let inbox = s.mailbox_id(INBOX).unwrap();
            let root = mail("root@x", "");
            // The known message is the farthest of three references.
            let reply = mail("reply@x", "References: <root@x> <gone1@x> <gone2@x>\r\n");
            s.append(inbox, &[new_msg(&root)]).await.unwrap();
            s.append(inbox, &[new_msg(&reply)]).await.unwrap();
            let got = ids(&s, inbox);
            assert_eq!(got[0].2 == got[1].2, joins, "max {max}: {got:?}");
            if !joins {
                assert_eq!(got[1].2, got[1].1, "a thread of its own");
            }
            s.close().await.unwrap();
        });
    }
}

// ---------------------------------------------------------------- old format

fn frame(t: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = crc32fast::Hasher::new();
    h.update(&[t]);
    h.update(payload);
    let mut b = (payload.len() as u32).to_le_bytes().to_vec();
    b.push(t);
    b.extend_from_slice(&h.finalize().to_le_bytes());
    b.extend_from_slice(payload);
    b
}

fn seg_header(id: u32) -> Vec<u8> {
    let mut b = b"PCSTSEG1".to_vec();
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&id.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

fn create(id: u32, uv: u32, special: u8, name: &str) -> Vec<u8> {
    let mut p = id.to_le_bytes().to_vec();
    p.extend_from_slice(&uv.to_le_bytes());
    p.push(special);
    p.extend_from_slice(&(name.len() as u16).to_le_bytes());
    p.extend_from_slice(name.as_bytes());
    frame(1, &p)
}

/// A type-6 append: no ids, no save date, no facts (an empty facts record
/// is what the old code could not read back either, so give real ones).
fn legacy_append(mailbox: u32, msgs: &[(u32, &[u8])]) -> Vec<u8> {
    let mut p = mailbox.to_le_bytes().to_vec();
    p.extend_from_slice(&(msgs.len() as u32).to_le_bytes());
    for (uid, raw) in msgs {
        let facts = mime_facts::compute(raw).to_bytes();
        p.extend_from_slice(&uid.to_le_bytes());
        p.extend_from_slice(&2u64.to_le_bytes());
        p.extend_from_slice(&1_500_000_000i64.to_le_bytes());
        p.push(0);
        p.extend_from_slice(&0u16.to_le_bytes());
        p.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        p.extend_from_slice(&(facts.len() as u32).to_le_bytes());
        p.extend_from_slice(raw);
        p.extend_from_slice(&facts);
    }
    frame(6, &p)
}

/// A type-9 copy: no save date.
fn legacy_copy(src: u32, dst: u32, pairs: &[(u32, u32)]) -> Vec<u8> {
    let mut p = src.to_le_bytes().to_vec();
    p.extend_from_slice(&dst.to_le_bytes());
    p.push(0);
    p.extend_from_slice(&3u64.to_le_bytes());
    p.extend_from_slice(&3u64.to_le_bytes());
    p.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (s, d) in pairs {
        p.extend_from_slice(&s.to_le_bytes());
        p.extend_from_slice(&d.to_le_bytes());
    }
    frame(9, &p)
}

#[test]
fn a_store_in_the_old_format_opens_works_and_compacts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let m1 = mail("old1@x", "");
    let m2 = mail("old2@x", "");
    let mut seg1 = seg_header(1);
    seg1.extend(create(1, 1_600_000_000, 0, "INBOX"));
    seg1.extend(create(2, 1_600_000_001, 7, "Trash"));
    seg1.extend(legacy_append(1, &[(1, &m1), (2, &m2)]));
    seg1.extend(legacy_copy(1, 2, &[(1, 1)]));
    // A second, empty segment seals the first, so compaction may rewrite it.
    std::fs::write(path.join("seg-00000001.log"), &seg1).unwrap();
    std::fs::write(path.join("seg-00000002.log"), seg_header(2)).unwrap();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let inbox = s.mailbox_id(INBOX).unwrap();
        let trash = s.mailbox_id("Trash").unwrap();
        let a = ids(&s, inbox);
        let t = ids(&s, trash);
        assert_eq!(a.len(), 2);
        assert_ne!(a[0].1, a[1].1);
        assert_eq!(t[0].1, a[0].1, "the old copy shares its source's email id");
        for m in a.iter().chain(&t) {
            assert_eq!(m.2, m.1, "an old message is its own thread");
            assert_eq!(m.3, None, "an old message has no save date");
        }
        assert_eq!(&*s.read_message(inbox, 2).await.unwrap(), &m2[..]);
        // Old messages are never expired: their age is unknown.
        assert!(
            s.expunge_saved_before(trash, i64::MAX)
                .await
                .unwrap()
                .is_empty()
        );
        // New writes go on in the new format next to the old records.
        let new = mail("new@x", "In-Reply-To: <old1@x>\r\n");
        let uid = s.append(inbox, &[new_msg(&new)]).await.unwrap()[0];
        let n = s.message(inbox, uid).unwrap();
        assert!(n.save_date.is_some() && !a.iter().any(|m| m.1 == n.email_id));
        // Compaction rewrites the type-6 record with the ids written down.
        assert_eq!(s.compact().await.unwrap(), 1);
        assert_eq!(ids(&s, inbox)[..2], a[..]);
        assert_eq!(ids(&s, trash), t);
        let report = s.verify().await.unwrap();
        assert!(report.bad.is_empty() && report.index_matches, "{report:?}");
        s.close().await.unwrap();
        Store::drop_checkpoint(&path).await.unwrap();
        let s = Store::open(&path, cfg()).await.unwrap();
        assert!(!s.open_info().from_checkpoint);
        assert_eq!(ids(&s, inbox)[..2], a[..]);
        assert_eq!(ids(&s, trash), t);
        assert_eq!(&*s.read_message(inbox, 1).await.unwrap(), &m1[..]);
        s.close().await.unwrap();
    });
}
