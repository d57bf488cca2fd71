//! Imports keeping the old server's UIDVALIDITY, UIDs and UIDNEXT, and the
//! one-process-per-store lock.

mod common;

use common::{cfg, new_msg, raw, run};
use store::{INBOX, SpecialUse, Store, StoreError};

#[test]
fn a_second_open_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let a = Store::open(&path, cfg()).await.unwrap();
        assert!(matches!(
            Store::open(&path, cfg()).await,
            Err(StoreError::Locked(_))
        ));
        assert!(matches!(
            Store::scan_log(&path).await,
            Err(StoreError::Locked(_))
        ));
        a.close().await.unwrap();
        let b = Store::open(&path, cfg()).await.unwrap();
        drop(b);
        // Dropped without close: the lock goes with the last handle.
        Store::open(&path, cfg()).await.unwrap();
    });
}

#[test]
fn imported_uids_uidvalidity_and_uidnext_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let ib = s
            .import_mailbox(INBOX, 1_234_567, SpecialUse::None)
            .await
            .unwrap();
        let bodies: Vec<Vec<u8>> = (1..=3).map(raw).collect();
        let msgs: Vec<_> = bodies.iter().map(|b| new_msg(b)).collect();
        s.import_append(ib, &[5, 9, 20], &msgs).await.unwrap();
        s.raise_uidnext(ib, 30).await.unwrap();
        assert_eq!(s.status(ib).unwrap().uidnext, 30, "visible before a reopen");
        // Lower is a no-op, never a decrease.
        s.raise_uidnext(ib, 25).await.unwrap();
        let work = s
            .import_mailbox("Work/Projects", 77, SpecialUse::None)
            .await
            .unwrap();
        s.close().await.unwrap();

        let s = Store::open(&path, cfg()).await.unwrap();
        let ib = s.mailbox_id(INBOX).unwrap();
        let st = s.status(ib).unwrap();
        assert_eq!(
            (st.uidvalidity, st.uidnext, st.messages),
            (1_234_567, 30, 3)
        );
        let uids: Vec<u32> = s
            .snapshot(ib)
            .unwrap()
            .messages
            .iter()
            .map(|m| m.uid)
            .collect();
        assert_eq!(uids, [5, 9, 20]);
        assert_eq!(&s.read_message(ib, 9).await.unwrap()[..], &raw(2)[..]);
        // The gap 21..29 reads as expunged to a QRESYNC client.
        let gone = s.expunged_since(ib, 0).unwrap();
        assert!(gone.contains(&(21, 29)), "{gone:?}");
        assert_eq!(s.status(work).unwrap().uidvalidity, 77);
        assert!(s.mailbox_id("Work").is_some(), "parent created");

        // Our own appends continue above the old server's UIDNEXT.
        let b = raw(4);
        assert_eq!(s.append(ib, &[new_msg(&b)]).await.unwrap(), [30]);

        // A resumed import finds the mailbox as it left it...
        assert_eq!(
            s.import_mailbox(INBOX, 1_234_567, SpecialUse::None)
                .await
                .unwrap(),
            ib
        );
        // ...refuses UIDs at or below what it holds, and a different
        // UIDVALIDITY once messages are in.
        let again = new_msg(&b);
        assert!(matches!(
            s.import_append(ib, &[20], std::slice::from_ref(&again))
                .await,
            Err(StoreError::ImportConflict(_))
        ));
        assert!(matches!(
            s.import_append(ib, &[40, 40], &[new_msg(&b), new_msg(&b)])
                .await,
            Err(StoreError::ImportConflict(_))
        ));
        assert!(matches!(
            s.import_mailbox(INBOX, 999, SpecialUse::None).await,
            Err(StoreError::ImportConflict(_))
        ));
        assert!(matches!(
            s.import_mailbox("Other", 0, SpecialUse::None).await,
            Err(StoreError::ImportConflict(_))
        ));
    });
}

#[test]
fn an_empty_default_folder_takes_the_imported_uidvalidity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    run(move || async move {
        let s = Store::open(&path, cfg()).await.unwrap();
        let sent = s.create_mailbox("Sent", SpecialUse::Sent).await.unwrap();
        s.subscribe("Sent", true).await.unwrap();
        let before = s.status(sent).unwrap().uidvalidity;
        let id = s
            .import_mailbox("Sent", before + 1000, SpecialUse::None)
            .await
            .unwrap();
        let info = s.list().into_iter().find(|m| m.name == "Sent").unwrap();
        assert_eq!(info.id, id);
        assert_eq!(info.special_use, SpecialUse::Sent, "special use kept");
        assert!(info.subscribed, "subscription kept");
        assert_eq!(s.status(id).unwrap().uidvalidity, before + 1000);
    });
}
