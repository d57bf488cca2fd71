use super::*;
use std::time::{Duration, UNIX_EPOCH};

fn put(path: &Path, body: &[u8], mtime: i64) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, body).unwrap();
    let t = if mtime >= 0 {
        UNIX_EPOCH + Duration::from_secs(mtime as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(mtime.unsigned_abs())
    };
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn mkmaildir(dir: &Path) {
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
}

fn names(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// A Maildir++ tree as Dovecot 2.x leaves it.
fn dovecot_tree(root: &Path) {
    mkmaildir(root);
    fs::write(
        root.join(UIDLIST),
        "3 V1234567 N10 G0123456789abcdef0123456789abcdef\n\
         1 W123 S120 :1000.M1P1.host,S=120,W=123\n\
         2 :1002.M3P1.host\n\
         3 G1a2b :1001.M2P1.host,S=50\n\
         5 W10 :999.gone.host\n",
    )
    .unwrap();
    fs::write(root.join(KEYWORDS), "0 $Junk\n1 work\n").unwrap();
    put(
        &root.join("cur/1000.M1P1.host,S=120,W=123:2,FRSab"),
        b"Subject: one\n\nbody\n",
        1_600_000_000,
    );
    put(
        &root.join("cur/1001.M2P1.host,S=50:2,PS"),
        b"two",
        1_600_000_100,
    );
    // 'z' has no keyword and 'X' no meaning: both ignored.
    put(
        &root.join("cur/1002.M3P1.host:2,TXz"),
        b"three",
        1_600_000_200,
    );
    put(
        &root.join("cur/1005.M7P1.host:2,S"),
        b"unlisted cur",
        1_700_000_300,
    );
    put(&root.join("new/1003.M4P1.host"), b"new one", 1_700_000_000);
    // Flags on a new/ file mean nothing.
    put(
        &root.join("new/1004.M5P1.host:2,S"),
        b"new two",
        1_700_000_100,
    );
    put(&root.join("cur/.hidden"), b"not a message", 1);
    fs::write(
        root.join(SUBSCRIPTIONS),
        "INBOX\nWork.Projects\nEntw&APw-rfe\n",
    )
    .unwrap();

    let projects = root.join(".Work.Projects");
    mkmaildir(&projects);
    fs::write(projects.join(UIDLIST), "3 N7 X1 V99 G00\n4 :77.a.host\n").unwrap();
    put(&projects.join("cur/77.a.host:2,"), b"project", 1_000);

    let drafts = root.join(".Entw&APw-rfe");
    fs::create_dir_all(drafts.join("new")).unwrap();

    // Not Maildirs: ignored without a word.
    fs::create_dir_all(root.join(".notamaildir/sub")).unwrap();
    fs::write(root.join(".dovecot.index"), b"x").unwrap();
}

#[test]
fn dovecot_maildir_is_listed_with_uids_flags_keywords_and_dates() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    dovecot_tree(root);

    let folders = folders(root).unwrap();
    assert_eq!(
        folders,
        vec![
            Folder {
                name: "INBOX".into(),
                path: root.to_path_buf(),
                uidvalidity: Some(1_234_567),
                uidnext: Some(10),
                subscribed: true,
            },
            Folder {
                name: "Entwürfe".into(),
                path: root.join(".Entw&APw-rfe"),
                uidvalidity: None,
                uidnext: None,
                subscribed: true,
            },
            Folder {
                name: "Work/Projects".into(),
                path: root.join(".Work.Projects"),
                uidvalidity: Some(99),
                uidnext: Some(7),
                subscribed: true,
            },
        ]
    );

    let inbox = entries(&folders[0]).unwrap();
    assert_eq!(
        names(&inbox),
        [
            "1000.M1P1.host,S=120,W=123:2,FRSab",
            "1002.M3P1.host:2,TXz",
            "1001.M2P1.host,S=50:2,PS",
            "1003.M4P1.host",
            "1004.M5P1.host:2,S",
            "1005.M7P1.host:2,S",
        ]
    );
    let metas: Vec<&Meta> = inbox.iter().map(|e| &e.meta).collect();
    assert_eq!(
        *metas[0],
        Meta {
            uid: Some(1),
            flags: FLAGGED | ANSWERED | SEEN,
            keywords: vec!["$Junk".into(), "work".into()],
            internal_date: 1_600_000_000,
        }
    );
    assert_eq!(
        *metas[1],
        Meta {
            uid: Some(2),
            flags: DELETED,
            keywords: vec![],
            internal_date: 1_600_000_200,
        }
    );
    assert_eq!(
        *metas[2],
        Meta {
            uid: Some(3),
            flags: SEEN,
            keywords: vec!["$Forwarded".into()],
            internal_date: 1_600_000_100,
        }
    );
    assert_eq!(
        *metas[3],
        Meta {
            uid: None,
            flags: 0,
            keywords: vec![],
            internal_date: 1_700_000_000,
        }
    );
    assert_eq!(metas[4].flags, 0);
    assert_eq!(metas[4].uid, None);
    assert_eq!(metas[5].flags, SEEN);
    assert_eq!(metas[5].uid, None);
    assert_eq!(inbox[0].size, 19);

    let msg = read(&inbox[0]).unwrap();
    assert_eq!(msg.raw, b"Subject: one\n\nbody\n");
    assert_eq!(msg.meta, inbox[0].meta);

    assert!(entries(&folders[1]).unwrap().is_empty());
    let projects = entries(&folders[2]).unwrap();
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0].meta.uid, Some(4));
    assert_eq!(projects[0].meta.flags, 0);
    assert_eq!(projects[0].meta.internal_date, 1_000);
}

#[test]
fn subscriptions_in_dovecot_v2_and_courier_forms() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    mkmaildir(root);
    mkmaildir(&root.join(".A.B"));
    mkmaildir(&root.join(".C"));
    mkmaildir(&root.join(".D"));
    fs::write(root.join(SUBSCRIPTIONS), "V\t2\n\nA\tB\nD\n").unwrap();
    let subs: Vec<(String, bool)> = folders(root)
        .unwrap()
        .into_iter()
        .map(|f| (f.name, f.subscribed))
        .collect();
    assert_eq!(
        subs,
        [
            ("INBOX".to_owned(), false),
            ("A/B".to_owned(), true),
            ("C".to_owned(), false),
            ("D".to_owned(), true),
        ]
    );
    // Courier: "INBOX." in front of every folder.
    fs::write(root.join(SUBSCRIPTIONS), "INBOX\nINBOX.C\n").unwrap();
    let subscribed: Vec<String> = folders(root)
        .unwrap()
        .into_iter()
        .filter(|f| f.subscribed)
        .map(|f| f.name)
        .collect();
    assert_eq!(subscribed, ["INBOX", "C"]);
}

#[test]
fn writer_round_trips_through_folders_entries_and_read() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("export");

    let inbox_msgs = vec![
        (
            3u32,
            Meta {
                uid: None,
                flags: SEEN | FLAGGED,
                keywords: vec!["$Forwarded".into(), "$Junk".into(), "work".into()],
                internal_date: 1_500_000_000,
            },
            b"Subject: crlf\r\n\r\nbody\r\n".to_vec(),
        ),
        (
            7,
            Meta {
                uid: None,
                flags: DRAFT | ANSWERED | DELETED,
                keywords: vec!["work".into(), "later".into()],
                internal_date: -86_400,
            },
            b"Subject: lf\n\nFrom me\n".to_vec(),
        ),
        (8, Meta::default(), Vec::new()),
    ];
    let mut w = Writer::create(&root, "INBOX").unwrap();
    // Added out of UID order on purpose: the uidlist is sorted anyway.
    for i in [1, 0, 2] {
        let (uid, meta, raw) = &inbox_msgs[i];
        w.add(*uid, meta, raw).unwrap();
    }
    w.finish(42, 100).unwrap();

    let mut w = Writer::create(&root, "Entwürfe/2024").unwrap();
    assert_eq!(w.path(), root.join(".Entw&APw-rfe.2024"));
    let sub_meta = Meta {
        uid: None,
        flags: SEEN,
        keywords: vec![],
        internal_date: 1_700_000_000,
    };
    w.add(11, &sub_meta, b"sub\n").unwrap();
    // A uidnext below the highest UID would hand out UIDs twice.
    w.finish(77, 1).unwrap();
    assert!(
        root.join(".Entw&APw-rfe.2024")
            .join(MAILDIRFOLDER)
            .is_file()
    );

    write_subscriptions(&root, &["INBOX".into(), "Entwürfe/2024".into()]).unwrap();
    assert_eq!(
        fs::read_to_string(root.join(SUBSCRIPTIONS)).unwrap(),
        "V\t2\n\nINBOX\nEntw&APw-rfe\t2024\n"
    );
    let uidlist = fs::read_to_string(root.join(UIDLIST)).unwrap();
    let header = uidlist.lines().next().unwrap();
    assert!(header.starts_with("3 V42 N100 G"), "{header}");
    let guid = &header["3 V42 N100 G".len()..];
    assert_eq!(guid.len(), 32);
    assert!(guid.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        fs::read_to_string(root.join(KEYWORDS)).unwrap(),
        "0 work\n1 later\n2 $Junk\n"
    );
    let mut cur: Vec<String> = fs::read_dir(root.join("cur"))
        .unwrap()
        .map(|d| d.unwrap().file_name().into_string().unwrap())
        .collect();
    cur.sort();
    assert_eq!(
        cur,
        [
            "-86400.P7Q0.postcore:2,DRTab",
            "0.P8Q2.postcore:2,",
            "1500000000.P3Q1.postcore:2,FPSac",
        ]
    );
    assert!(fs::read_dir(root.join("tmp")).unwrap().next().is_none());

    let folders = folders(&root).unwrap();
    assert_eq!(
        folders,
        vec![
            Folder {
                name: "INBOX".into(),
                path: root.clone(),
                uidvalidity: Some(42),
                uidnext: Some(100),
                subscribed: true,
            },
            Folder {
                name: "Entwürfe/2024".into(),
                path: root.join(".Entw&APw-rfe.2024"),
                uidvalidity: Some(77),
                uidnext: Some(12),
                subscribed: true,
            },
        ]
    );
    let got: Vec<Message> = entries(&folders[0])
        .unwrap()
        .iter()
        .map(|e| read(e).unwrap())
        .collect();
    let mut want: Vec<Message> = inbox_msgs
        .into_iter()
        .map(|(uid, mut meta, raw)| {
            meta.uid = Some(uid);
            Message { meta, raw }
        })
        .collect();
    want.sort_by_key(|m| m.meta.uid);
    // Keywords come back in flag-letter order: P first, then a..z.
    want[0].meta.keywords = vec!["$Forwarded".into(), "work".into(), "$Junk".into()];
    assert_eq!(got, want);

    let sub = entries(&folders[1]).unwrap();
    assert_eq!(sub.len(), 1);
    let msg = read(&sub[0]).unwrap();
    assert_eq!(msg.raw, b"sub\n");
    assert_eq!(
        msg.meta,
        Meta {
            uid: Some(11),
            ..sub_meta
        }
    );
}

#[test]
fn writer_refuses_what_maildir_cannot_hold() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for bad in ["a.b", "x/", "/x", "a//b", ""] {
        match Writer::create(root, bad) {
            Err(Error::FolderName { name, .. }) => assert_eq!(name, bad),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert!(matches!(
        write_subscriptions(root, &["v1.2".into()]),
        Err(Error::FolderName { .. })
    ));

    let mut w = Writer::create(root, "INBOX").unwrap();
    let meta = Meta::default();
    assert!(matches!(w.add(0, &meta, b"x"), Err(Error::Invalid(_))));
    w.add(1, &meta, b"x").unwrap();
    assert!(matches!(w.add(1, &meta, b"x"), Err(Error::Invalid(_))));
    let spaced = Meta {
        keywords: vec!["two words".into()],
        ..Meta::default()
    };
    assert!(matches!(w.add(2, &spaced, b"x"), Err(Error::Invalid(_))));
    let many = Meta {
        keywords: (0..27).map(|i| format!("k{i}")).collect(),
        ..Meta::default()
    };
    assert!(matches!(w.add(3, &many, b"x"), Err(Error::Invalid(_))));
    // Nothing half-written is left behind by the failed adds.
    assert!(fs::read_dir(root.join("tmp")).unwrap().next().is_none());
    assert_eq!(fs::read_dir(root.join("cur")).unwrap().count(), 1);
    assert!(matches!(w.finish(0, 5), Err(Error::Invalid(_))));

    // The folder now holds a message: a second export into it is refused.
    assert!(matches!(
        Writer::create(root, "inbox"),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn malformed_uidlist_is_a_format_error_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    mkmaildir(root);
    let check = |content: &str, want_line: u64| {
        fs::write(root.join(UIDLIST), content).unwrap();
        let err = folders(root).and_then(|f| entries(&f[0]));
        match err {
            Err(Error::Format { path, line, .. }) => {
                assert_eq!(path, root.join(UIDLIST), "{content:?}");
                assert_eq!(line, want_line, "{content:?}");
            }
            other => panic!("{content:?}: {other:?}"),
        }
    };
    check("3 V1 N5\n1 :a\nthis is garbage\n", 3);
    check("3 V1 N5\n1 W12 a\n", 2);
    check("3 V1 N5\n0 :a\n", 2);
    check("3 V1 N5\n1 :a\n1 :b\n", 3);
    check("3 V1 N5\n1 :a\n2 :a\n", 3);
    check("3 V1 N5\n1 :\n", 2);
    check("3 Vx N5\n", 1);
    check("7 V1 N5\n", 1);
    check("1 12\n", 1);
    check("\u{fffd}garbage\n", 1);

    // Version 1 and an empty file are fine.
    fs::write(root.join(UIDLIST), "1 12 9\n4 file1\n").unwrap();
    put(&root.join("cur/file1:2,S"), b"m", 5);
    let f = folders(root).unwrap();
    assert_eq!((f[0].uidvalidity, f[0].uidnext), (Some(12), Some(9)));
    let e = entries(&f[0]).unwrap();
    assert_eq!((e[0].meta.uid, e[0].meta.flags), (Some(4), SEEN));
    fs::write(root.join(UIDLIST), "").unwrap();
    let f = folders(root).unwrap();
    assert_eq!((f[0].uidvalidity, f[0].uidnext), (None, None));
    assert_eq!(entries(&f[0]).unwrap()[0].meta.uid, None);

    fs::write(root.join(UIDLIST), "3 V1 N5\n").unwrap();
    fs::write(root.join(KEYWORDS), "0 ok\nnonsense\n").unwrap();
    match entries(&folders(root).unwrap()[0]) {
        Err(Error::Format { line: 2, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn undecodable_folder_names_are_skipped_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    mkmaildir(root);
    mkmaildir(&root.join(".Good"));
    mkmaildir(&root.join(".Bad&Name"));
    mkmaildir(&root.join(".A..B"));
    mkmaildir(&root.join(".inbox"));
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        mkmaildir(&root.join(std::ffi::OsStr::from_bytes(b".Latin\xe9")));
    }

    let scan = scan(root).unwrap();
    let names: Vec<&str> = scan.folders.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["INBOX", "Good"]);
    let skipped: Vec<String> = scan
        .skipped
        .iter()
        .map(|s| match &s.reason {
            Error::FolderName { name, .. } => {
                assert_eq!(s.path.file_name().unwrap().to_string_lossy(), *name);
                name.clone()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    let mut want = vec![".A..B", ".Bad&Name", ".inbox"];
    if cfg!(unix) {
        want.insert(2, ".Latin\u{fffd}");
    }
    assert_eq!(skipped, want);
    assert!(
        scan.skipped[1]
            .reason
            .to_string()
            .contains("modified UTF-7"),
        "{}",
        scan.skipped[1].reason
    );

    // The strict listing does not skip silently.
    assert!(matches!(folders(root), Err(Error::FolderName { .. })));
}

#[test]
fn missing_maildir_and_vanished_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    assert!(matches!(folders(root), Err(Error::NotMaildir(p)) if p == root));
    assert!(matches!(
        folders(&root.join("nope")),
        Err(Error::NotMaildir(_))
    ));

    mkmaildir(root);
    put(&root.join("new/1.a.host"), b"x", 1);
    let f = folders(root).unwrap();
    let e = entries(&f[0]).unwrap();
    fs::remove_file(&e[0].path).unwrap();
    assert!(matches!(read(&e[0]), Err(Error::Vanished(p)) if p == e[0].path));
}
