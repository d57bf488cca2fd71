use super::*;
use crate::scheme::{ScramSecrets, VerifyPolicy, verify};

// Password hashes from `doveadm pw -p 'correct horse'` (Dovecot 2.3.19.1).
const ADMIN_FILE: &str = "\
# Dovecot users, edited by hand
# user:password:uid:gid:gecos:home:shell:extra_fields

alice:{SHA512-CRYPT}$6$jfh1BjnpOzoC6E.W$lB0qIpVizsmRKt.2kMLVcghVnRpVBrNLdOA49Xz/kQbwKZmWLHP985lvu.aMXOALdWopYK2SB1NF.DWOOge9r1:5000:5000::/home/alice::userdb_mail=maildir:~/Maildir userdb_quota_rule=*:storage=1G
bob:{PLAIN}secret
Carol:{BLF-CRYPT}$2y$05$5Qde/YxfcEqEPrBGupvwsu5/wFsIfmj1LszdjIbcmDMV5afPSwJ0K:::::
   \t
dave@example.com:$5$IdHS4d2ceKPsJvnN$9a1/X26CrAK16equN2a4pUaDDR6HSwbirnQJXEmtZJ/:1001:1001:Dave Example:/var/vmail/example.com/dave:/bin/false:nodelay allow_nets=192.0.2.0/24 unknown_thing=42
erin
#trailing comment
";

#[test]
fn parses_real_looking_file() {
    let db = PasswdFile::parse(ADMIN_FILE.as_bytes()).unwrap();
    assert_eq!(db.len(), 5);
    let names: Vec<_> = db.users().map(|u| u.username().as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol", "dave@example.com", "erin"]);

    let alice = db.get("alice").unwrap();
    assert_eq!(alice.uid(), Some("5000"));
    assert_eq!(alice.gid(), Some("5000"));
    assert_eq!(alice.gecos(), None);
    assert_eq!(alice.home(), Some("/home/alice"));
    assert_eq!(alice.shell(), None);
    // Extra fields may contain ':'.
    assert_eq!(alice.extra("userdb_mail"), Some("maildir:~/Maildir"));
    assert_eq!(alice.extra("userdb_quota_rule"), Some("*:storage=1G"));
    assert_eq!(
        verify(
            alice.password().unwrap(),
            b"correct horse",
            &VerifyPolicy::default()
        ),
        Ok(true)
    );

    let bob = db.get("BOB").unwrap();
    assert_eq!(bob.password(), Some("{PLAIN}secret"));
    assert_eq!(bob.uid(), None);
    assert_eq!(bob.extra_fields().count(), 0);

    // Looked up case-insensitively, written as the admin wrote it.
    let carol = db.get("carol").unwrap();
    assert_eq!(carol.written_username(), "Carol");
    assert_eq!(carol.home(), None);

    let dave = db.get("Dave@Example.com").unwrap();
    assert_eq!(dave.gecos(), Some("Dave Example"));
    assert_eq!(dave.shell(), Some("/bin/false"));
    let extras: Vec<_> = dave.extra_fields().collect();
    assert_eq!(
        extras,
        [
            ("nodelay", None),
            ("allow_nets", Some("192.0.2.0/24")),
            ("unknown_thing", Some("42"))
        ]
    );
    // A bare password (no {SCHEME}) is CRYPT, here SHA256-CRYPT.
    assert_eq!(
        verify(
            dave.password().unwrap(),
            b"correct horse",
            &VerifyPolicy::default()
        ),
        Ok(true)
    );

    // A user line with no password at all.
    assert_eq!(db.get("erin").unwrap().password(), None);
    assert!(db.get("nobody").is_none());
    assert!(db.get("bad:name").is_none());
}

#[test]
fn unchanged_file_renders_byte_for_byte() {
    for text in [
        ADMIN_FILE.to_string(),
        ADMIN_FILE.replace('\n', "\r\n"),
        ADMIN_FILE.trim_end().to_string(),
        String::new(),
        "\n\n".to_string(),
    ] {
        let db = PasswdFile::parse(text.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(db.to_bytes()).unwrap(), text);
    }
}

#[test]
fn passwd_round_trip_keeps_everything_else() {
    let mut db = PasswdFile::parse(ADMIN_FILE.as_bytes()).unwrap();
    db.set_password("DAVE@example.com", "{PLAIN}new").unwrap();
    let out = String::from_utf8(db.to_bytes()).unwrap();
    let expected = ADMIN_FILE.replace(
        "dave@example.com:$5$IdHS4d2ceKPsJvnN$9a1/X26CrAK16equN2a4pUaDDR6HSwbirnQJXEmtZJ/:",
        "dave@example.com:{PLAIN}new:",
    );
    assert_eq!(out, expected);
    // And the result parses again to the same database.
    assert_eq!(PasswdFile::parse(out.as_bytes()).unwrap(), db);
}

#[test]
fn setting_password_on_a_short_line_adds_only_what_is_needed() {
    let mut db = PasswdFile::parse(b"erin\n").unwrap();
    db.set_password("erin", "{PLAIN}x").unwrap();
    assert_eq!(db.to_bytes(), b"erin:{PLAIN}x\n");
    let e = db.get_mut("erin").unwrap();
    e.set_home("/srv/erin").unwrap();
    assert_eq!(db.to_bytes(), b"erin:{PLAIN}x::::/srv/erin\n");
}

#[test]
fn extra_fields_are_edited_in_place() {
    let mut db = PasswdFile::parse(ADMIN_FILE.as_bytes()).unwrap();
    let dave = db.get_mut("dave@example.com").unwrap();
    dave.set_extra("allow_nets", "198.51.100.0/24").unwrap();
    assert_eq!(
        dave.extra_raw(),
        Some("nodelay allow_nets=198.51.100.0/24 unknown_thing=42")
    );
    dave.set_extra("quota", "1G").unwrap();
    assert!(dave.remove_extra("nodelay"));
    assert!(!dave.remove_extra("nodelay"));
    assert_eq!(
        dave.extra_raw(),
        Some("allow_nets=198.51.100.0/24 unknown_thing=42 quota=1G")
    );
    assert_eq!(dave.set_extra("a b", "x"), Err(FieldError::Forbidden(' ')));
    assert_eq!(dave.set_extra("k", "x y"), Err(FieldError::Forbidden(' ')));
    assert_eq!(dave.set_password("a:b"), Err(FieldError::Forbidden(':')));
    assert_eq!(dave.set_password("a\nb"), Err(FieldError::Forbidden('\n')));

    // Adding an extra field to a line without one pads the missing fields.
    let bob = db.get_mut("bob").unwrap();
    bob.set_extra("nodelay", "y").unwrap();
    assert!(
        String::from_utf8(db.to_bytes())
            .unwrap()
            .contains("\nbob:{PLAIN}secret::::::nodelay=y\n")
    );
}

#[test]
fn scram_secrets_live_in_password_or_extra_field() {
    // doveadm pw -s SCRAM-SHA-256 -p 'correct horse'
    let scram = "4096,JJTMHGAGthb1/H4ae1uNYA==,xy4tgD8h8b6OD0PtDJVKDzCC9Ls2SaU5dehasv/gD7A=,AJP44HYwZXqDophSpNfC2gZh8+QpX9bjg+Wf4UJ7qGE=";
    let text = format!("s1:{{SCRAM-SHA-256}}{scram}\ns2:{{PLAIN}}x\n");
    let mut db = PasswdFile::parse(text.as_bytes()).unwrap();
    let s1 = db.get("s1").unwrap().scram_secrets().unwrap().unwrap();
    assert_eq!(s1.to_dovecot(), scram);
    assert!(db.get("s2").unwrap().scram_secrets().is_none());

    let secrets = ScramSecrets::parse(scram).unwrap();
    db.get_mut("s2").unwrap().set_scram_secrets(&secrets);
    let out = String::from_utf8(db.to_bytes()).unwrap();
    assert!(out.contains(&format!("s2:{{PLAIN}}x::::::{SCRAM_EXTRA_FIELD}={scram}\n")));
    let db = PasswdFile::parse(out.as_bytes()).unwrap();
    assert_eq!(
        db.get("s2").unwrap().scram_secrets().unwrap().unwrap(),
        secrets
    );
}

#[test]
fn add_remove_and_list() {
    let mut db = PasswdFile::parse(ADMIN_FILE.as_bytes()).unwrap();
    let frank = UserEntry::new(Username::new("Frank").unwrap(), "{PLAIN}f");
    db.add(frank.clone()).unwrap();
    assert_eq!(db.add(frank), Err(DbError::Exists("frank".into())));
    assert_eq!(
        db.add(UserEntry::new(Username::new("ALICE").unwrap(), "x")),
        Err(DbError::Exists("alice".into()))
    );
    assert_eq!(db.len(), 6);
    assert!(
        String::from_utf8(db.to_bytes())
            .unwrap()
            .ends_with("#trailing comment\nfrank:{PLAIN}f\n")
    );

    let removed = db.remove("BOB").unwrap();
    assert_eq!(removed.password(), Some("{PLAIN}secret"));
    assert_eq!(db.remove("bob"), Err(DbError::NotFound("bob".into())));
    assert_eq!(
        db.set_password("bob", "x"),
        Err(DbError::NotFound("bob".into()))
    );
    // Lookups after the removal still find the right lines.
    assert_eq!(db.get("carol").unwrap().written_username(), "Carol");
    assert_eq!(db.get("frank").unwrap().password(), Some("{PLAIN}f"));
    let out = String::from_utf8(db.to_bytes()).unwrap();
    assert!(!out.contains("bob"));
    assert!(out.starts_with("# Dovecot users, edited by hand\n"));
    assert_eq!(PasswdFile::parse(out.as_bytes()).unwrap(), db);
}

#[test]
fn add_after_a_last_line_without_newline() {
    let mut db = PasswdFile::parse(b"a:x").unwrap();
    db.add(UserEntry::new(Username::new("b").unwrap(), "y"))
        .unwrap();
    assert_eq!(db.to_bytes(), b"a:x\nb:y\n");
    let mut db = PasswdFile::parse(b"a:x\r\n").unwrap();
    db.add(UserEntry::new(Username::new("b").unwrap(), "y"))
        .unwrap();
    assert_eq!(db.to_bytes(), b"a:x\r\nb:y\r\n");
}

#[test]
fn malformed_lines_are_reported_with_their_number() {
    let e = PasswdFile::parse(b"# c\nok:x\n bad:x\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(matches!(e.kind, ParseErrorKind::Username(_)));
    assert!(e.to_string().starts_with("passwd-file line 3:"), "{e}");

    let e = PasswdFile::parse(b"a:x\nb/c:y\n").unwrap_err();
    assert_eq!(
        e,
        ParseError {
            line: 2,
            kind: ParseErrorKind::Username(UsernameError::ForbiddenChar('/'))
        }
    );
    let e = PasswdFile::parse(b"a:x\n:nouser\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert_eq!(e.kind, ParseErrorKind::Username(UsernameError::Empty));

    let e = PasswdFile::parse(b"a:x\nb:\xff\n").unwrap_err();
    assert_eq!(
        e,
        ParseError {
            line: 2,
            kind: ParseErrorKind::NotUtf8
        }
    );
    let e = PasswdFile::parse(b"Ann:x\n\nann:y\n").unwrap_err();
    assert_eq!(
        e,
        ParseError {
            line: 3,
            kind: ParseErrorKind::Duplicate {
                user: "ann".into(),
                first_line: 1
            }
        }
    );
    let mut long = b"a:".to_vec();
    long.extend(std::iter::repeat_n(b'x', MAX_LINE_LEN));
    let e = PasswdFile::parse(&long).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::TooLong);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever bytes come in: no panic, and what parses renders back
        /// unchanged.
        #[test]
        fn parse_never_panics_and_round_trips(data in proptest::collection::vec(
            prop_oneof![Just(b':'), Just(b'\n'), Just(b'\r'), Just(b'#'), Just(b' '),
                        Just(b'='), any::<u8>(), 97u8..123], 0..200)) {
            if let Ok(db) = PasswdFile::parse(&data) {
                prop_assert_eq!(db.to_bytes(), data);
            }
        }
    }
}

#[test]
fn new_password_replaces_stale_scram_secrets() {
    use crate::scheme::{Argon2Params, HashScheme};
    let cheap = HashScheme::Argon2id(Argon2Params {
        memory_kib: 64,
        time_cost: 1,
        parallelism: 1,
    });
    let mut db = PasswdFile::parse(b"# keep me\nann:{PLAIN}old::::::quota=1G\n").unwrap();
    let ann = db.get_mut("ann").unwrap();
    ann.set_new_password(b"first", &cheap, Some(64)).unwrap();
    let first_scram = ann.scram_secrets().unwrap().unwrap();
    assert_eq!(first_scram.verify_password(b"first"), Ok(true));
    assert_eq!(ann.extra("quota"), Some("1G"));
    assert_eq!(
        verify(ann.password().unwrap(), b"first", &VerifyPolicy::default()),
        Ok(true)
    );

    // A raw password change drops the SCRAM secrets of the old password.
    db.set_password("ann", "{PLAIN}second").unwrap();
    let ann = db.get("ann").unwrap();
    assert!(ann.scram_secrets().is_none());
    assert_eq!(ann.extra("quota"), Some("1G"));

    // SCRAM as the main scheme needs no extra field.
    let ann = db.get_mut("ann").unwrap();
    ann.set_new_password(
        b"third",
        &HashScheme::ScramSha256 { iterations: 64 },
        Some(64),
    )
    .unwrap();
    assert!(ann.extra(SCRAM_EXTRA_FIELD).is_none());
    assert_eq!(
        ann.scram_secrets()
            .unwrap()
            .unwrap()
            .verify_password(b"third"),
        Ok(true)
    );
    let out = String::from_utf8(db.to_bytes()).unwrap();
    assert!(
        out.starts_with("# keep me\nann:{SCRAM-SHA-256}64,"),
        "{out}"
    );
    assert!(out.ends_with("::::::quota=1G\n"), "{out}");
}

#[test]
fn debug_output_leaves_out_secrets() {
    let db = PasswdFile::parse(ADMIN_FILE.as_bytes()).unwrap();
    let s = format!("{:?}", db.get("alice").unwrap());
    assert!(s.contains("\"alice\"") && s.contains("SHA512-CRYPT"), "{s}");
    assert!(!s.contains("$6$"), "{s}");
    let s = format!("{:?}", db.get("dave@example.com").unwrap());
    assert!(s.contains("CRYPT") && !s.contains("$5$"), "{s}");
}
