//! Known-good vectors made by independent tools (commands noted per vector),
//! never by this crate.

use super::*;

const PW: &[u8] = b"correct horse";
const PW_UTF8: &[u8] = "pässwörd".as_bytes();

fn ok(stored: &str, pw: &[u8]) -> bool {
    verify(stored, pw, &VerifyPolicy::default()).unwrap()
}

fn check_vector(stored: &str, pw: &[u8]) {
    assert!(ok(stored, pw), "right password refused for {stored}");
    assert!(
        !ok(stored, b"correct horsE"),
        "wrong password accepted for {stored}"
    );
    assert!(!ok(stored, b""), "empty password accepted for {stored}");
}

// `doveadm pw -s <SCHEME> -p 'correct horse'` (Dovecot 2.3.19.1).
const DOVEADM: &[&str] = &[
    "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$DTUwcVtDMOUxpI7IMPLbsw$92/VQj4uJv1sfaLq3GuxQ0SJseHWb/eUxwErh1CLbYw",
    "{SHA512-CRYPT}$6$jfh1BjnpOzoC6E.W$lB0qIpVizsmRKt.2kMLVcghVnRpVBrNLdOA49Xz/kQbwKZmWLHP985lvu.aMXOALdWopYK2SB1NF.DWOOge9r1",
    "{SHA256-CRYPT}$5$IdHS4d2ceKPsJvnN$9a1/X26CrAK16equN2a4pUaDDR6HSwbirnQJXEmtZJ/",
    "{BLF-CRYPT}$2y$05$5Qde/YxfcEqEPrBGupvwsu5/wFsIfmj1LszdjIbcmDMV5afPSwJ0K",
    "{SSHA512}1esL6pRZoWRHyGw7QbduXKPc4oIw/Me3TESJI2ZT+di7hF817INdNkq+7M6lyi35sX7dPOmTNSzxrWset/FP0E5XV8w=",
    "{SSHA256}2Y7OwCwxJWDCmWB+skombTqt8DurU3mrhj8XV2AWnNHhlOrh",
    "{SHA512}VraY3v7bWkNbY0r+MyC7rz/c2SC2xQOkRvx7endrKY1HnRumqLYXgI6wv1ec6aldZoNHvKtxSQhayTyyeZUZew==",
    "{SHA256}QQTTb42iwlQ0n4WDZ5Pr4CngyVcGOjTJHC6SAxh7VjE=",
    "{SCRAM-SHA-256}4096,JJTMHGAGthb1/H4ae1uNYA==,xy4tgD8h8b6OD0PtDJVKDzCC9Ls2SaU5dehasv/gD7A=,AJP44HYwZXqDophSpNfC2gZh8+QpX9bjg+Wf4UJ7qGE=",
    // doveadm pw -s CRYPT: Dovecot's CRYPT writes bcrypt.
    "{CRYPT}$2y$05$7l6T1EtjOU5J8Pa8jMHsQu0/Mbj/U5FRs9bqPCtiXfF1RYRhx2xS6",
];

// `doveadm pw -s <SCHEME> -p 'pässwörd'` (UTF-8 password).
const DOVEADM_UTF8: &[&str] = &[
    "{SHA512-CRYPT}$6$c.rJtVMmIJ6LfjDM$zisEDvtOPdiG8HYd3qfVskCIksL5HztoC724DXNiBm9Lq5tDIgdUa1T1TdlxtNGwjTAj.2dHJV4bVsZ0qSu/30",
    "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$/XulkkVv4Awe/USipG2gaQ$FRihYrYJb1xWoJ42n4fjZvoTVY3lebHWcumGCH4gmpY",
    "{SCRAM-SHA-256}4096,GEbnyulHrJloQOjZ1aou3A==,1gBfUQ5QIO2MX7hJIgFnMXJc5NqV7kA1hT+coSj225Q=,A1pe5DV0b1RE/E42oWR7m+Buenr1SYgo18Xo0ORckFc=",
    "{BLF-CRYPT}$2y$05$t87FRCkTFB1TIpiTzl6wAO1CaHwNjdQ9aAJnnkufIOnJIuHejNUbe",
    "{SSHA256}NyULYU8+E6pPr6up9L7oMGoX/k2rh+ols+pFEkT0g20jvBEL",
    "{SHA256.HEX}46970bef70aced8123f0d5d094717e2a5cd412041e03b26376049fe65b2834a4",
    "{SSHA512.HEX}5a5d67d0167c6d26baa7ad95c12ae56c792bf4aee35c58d8ce7e07c4a1499cd2e62138fc1aab97350d4c69f6c45b127d392085e8865e0cb82a3b9ae6b43a8e97e6601be7",
];

/// Dovecot's Argon2 default (m=64 MiB, t=3) takes seconds per check in a
/// debug build: such vectors get one right and one wrong password only.
fn slow(v: &str) -> bool {
    v.starts_with("{ARGON2ID}")
}

#[test]
fn doveadm_vectors_verify() {
    for v in DOVEADM {
        if slow(v) {
            assert!(ok(v, PW) && !ok(v, b"correct horsE"), "{v}");
        } else {
            check_vector(v, PW);
        }
    }
    for v in DOVEADM_UTF8 {
        assert!(ok(v, PW_UTF8), "{v}");
        // The same letters in Latin-1 are a different password.
        assert!(!ok(v, b"p\xe4ssw\xf6rd"), "{v}");
        if !slow(v) {
            assert!(!ok(v, "passwörd".as_bytes()), "{v}");
        }
    }
}

#[test]
fn other_tool_vectors_verify() {
    // openssl passwd -6 -salt 'Xq7bWz1pLm' 'correct horse'
    check_vector(
        "{SHA512-CRYPT}$6$Xq7bWz1pLm$IS5d5A34m2AsGyoCX/Em3NOZycAnVTx9uoG4PEBmqmNSf2m2zko1885W0RvwnwKBU9FMzAbxSLOEQtM1ELexU0",
        PW,
    );
    // openssl passwd -5 -salt 'Xq7bWz1pLm' 'correct horse'
    check_vector(
        "{SHA256-CRYPT}$5$Xq7bWz1pLm$DhCmYsBiqzBUaJ/Lxs0RqnQ2UHnBiIAubhEIdPYWgw0",
        PW,
    );
    // mkpasswd -m sha-512 -R 12000 -S 'roundsSalt1234' 'correct horse'
    check_vector(
        "{SHA512-CRYPT}$6$rounds=12000$roundsSalt1234$3Cn7Yf1YovG1B5hjVJ8HVvCqYbXGxnWdz/ZIwdoIg4O2LA8Fi0qPku1oj9MnKlbn8GJRYS7cPZxRWWK.PpA4s/",
        PW,
    );
    // mkpasswd -m sha-256 -R 6000 -S 'r5saltXYZ' 'pässwörd'
    assert!(ok(
        "{SHA256-CRYPT}$5$rounds=6000$r5saltXYZ$XGnD.Hbh3uV8UiIPZ46eLL21gcbCufdU9E83TsKn2m3",
        PW_UTF8
    ));
    // python3: crypt.crypt('correct horse', '$6$rounds=1000$shortsalt$')
    check_vector(
        "$6$rounds=1000$shortsalt$sxgVNA.elRuAoQliwiVDv2qy6K09wf27THkw3fcRZcd1OX/T3R3CrejmpGbD.YNtlIuE6Tb8jwP5JgeCXup2V1",
        PW,
    );
    // htpasswd -bnBC 6 u 'correct horse'
    check_vector(
        "{BLF-CRYPT}$2y$06$M.LmPGdo8w.Hi0rI.9LYPOudbhR5PZXsiIyg/q9vS1.OVlRwT/BxW",
        PW,
    );
    // python3 bcrypt 5.0: hashpw(b'correct horse', gensalt(5, prefix=b'2b'))
    check_vector(
        "{BLF-CRYPT}$2b$05$s.p9gnIY3Gb2h04YvoY1UOaU0nU0RpQZ581UfkNlISycPHyFZSK3G",
        PW,
    );
    // python3 bcrypt 5.0: hashpw(b'correct horse', gensalt(4, prefix=b'2a')), as bare CRYPT
    check_vector(
        "$2a$04$frnAMDuLHKj/FSR9cjdXyeCN257diybzeQkHgudPgtNBQ7lBhmvb2",
        PW,
    );
    // echo -n 'correct horse' | argon2 'saltysaltysalt' -id -t 2 -m 12 -p 1 -e
    check_vector(
        "{ARGON2ID}$argon2id$v=19$m=4096,t=2,p=1$c2FsdHlzYWx0eXNhbHQ$vu1jxzGDjLNK7NwQtjw41kLwDEJIF7acX+ev/rqzZnw",
        PW,
    );
    // echo -n 'correct horse' | argon2 'saltysaltysalt' -i -t 2 -m 10 -p 2 -e
    check_vector(
        "{ARGON2I}$argon2i$v=19$m=1024,t=2,p=2$c2FsdHlzYWx0eXNhbHQ$aNLDU6iXZmVC729m5z7D7W3v6G6/SYSZWUtorI6Mk6U",
        PW,
    );
}

#[test]
fn bare_and_libpam_fields_are_crypt() {
    // openssl passwd -5 vector, without a {SCHEME}: Dovecot's default is CRYPT.
    let bare = "$5$Xq7bWz1pLm$DhCmYsBiqzBUaJ/Lxs0RqnQ2UHnBiIAubhEIdPYWgw0";
    assert_eq!(StoredPassword::parse(bare).unwrap().scheme(), Scheme::Crypt);
    check_vector(bare, PW);
    check_vector(&format!("{bare}[13]"), PW);
    assert_eq!(
        verify("$1$abc$def[34]", PW, &VerifyPolicy::default()),
        Err(VerifyError::UnsupportedScheme("MD5-CRYPT".into()))
    );
    // Argon2 PHC strings are recognised by CRYPT too.
    check_vector(
        "{CRYPT}$argon2id$v=19$m=4096,t=2,p=1$c2FsdHlzYWx0eXNhbHQ$vu1jxzGDjLNK7NwQtjw41kLwDEJIF7acX+ev/rqzZnw",
        PW,
    );
}

#[test]
fn scheme_names_are_case_insensitive() {
    check_vector(
        "{sha256-crypt}$5$Xq7bWz1pLm$DhCmYsBiqzBUaJ/Lxs0RqnQ2UHnBiIAubhEIdPYWgw0",
        PW,
    );
}

#[test]
fn plain_needs_the_policy_flag() {
    let stored = "{PLAIN}correct horse";
    assert_eq!(
        verify(stored, PW, &VerifyPolicy::default()),
        Err(VerifyError::PlainSchemeDisabled)
    );
    let allow = VerifyPolicy {
        allow_plain_scheme: true,
    };
    assert_eq!(verify(stored, PW, &allow), Ok(true));
    assert_eq!(verify(stored, b"correct hors", &allow), Ok(false));
    assert_eq!(verify("{CLEARTEXT}x", b"x", &allow), Ok(true));
}

#[test]
fn unusable_fields_give_distinct_errors() {
    let p = VerifyPolicy::default();
    assert_eq!(verify("", PW, &p), Err(VerifyError::NoPassword));
    assert_eq!(
        verify("{NOPE}abc", PW, &p),
        Err(VerifyError::UnknownScheme("NOPE".into()))
    );
    assert_eq!(
        verify("{PLAIN-MD5}1a1dc91c907325c69271ddf0c944bc72", PW, &p),
        Err(VerifyError::UnsupportedScheme("PLAIN-MD5".into()))
    );
    assert_eq!(verify("!$6$x$y", PW, &p), Err(VerifyError::Locked));
    assert_eq!(verify("*", PW, &p), Err(VerifyError::Locked));
    assert_eq!(
        verify("abJnggxhB/yWI", PW, &p),
        Err(VerifyError::UnsupportedScheme("DES-CRYPT".into()))
    );
    assert!(matches!(
        verify(
            "{SHA512-CRYPT}$5$Xq7bWz1pLm$DhCmYsBiqzBUaJ/Lxs0RqnQ2UHnBiIAubhEIdPYWgw0",
            PW,
            &p
        ),
        Err(VerifyError::Malformed {
            scheme: "SHA512-CRYPT",
            ..
        })
    ));
    // Truncated hash part.
    assert!(matches!(
        verify("{SHA256-CRYPT}$5$Xq7bWz1pLm$DhCmYsBiqzBUaJ", PW, &p),
        Err(VerifyError::Malformed { .. })
    ));
    assert!(matches!(
        verify("{SHA256-CRYPT}$5$rounds=x$s$h", PW, &p),
        Err(VerifyError::Malformed { .. })
    ));
    assert!(matches!(
        verify("{BLF-CRYPT}$2y$05$short", PW, &p),
        Err(VerifyError::Malformed { .. })
    ));
    assert!(matches!(
        verify("{ARGON2ID}$argon2id$v=19$m=4096", PW, &p),
        Err(VerifyError::Malformed { .. })
    ));
    assert!(matches!(
        verify("{SSHA256}!!!", PW, &p),
        Err(VerifyError::Malformed { .. })
    ));
    assert!(matches!(
        verify("{SCRAM-SHA-256}4096,abc", PW, &p),
        Err(VerifyError::Malformed { .. })
    ));
    assert!(matches!(
        verify("garbage", PW, &p),
        Err(VerifyError::Malformed { .. })
    ));
}

#[test]
fn refuses_stored_hashes_that_cost_too_much() {
    let p = VerifyPolicy::default();
    // argon2 with m = 4 GiB: refused before allocating.
    assert!(matches!(
        verify(
            "{ARGON2ID}$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHlzYWx0eXNhbHQ$vu1jxzGDjLNK7NwQtjw41kLwDEJIF7acX+ev/rqzZnw",
            PW,
            &p
        ),
        Err(VerifyError::TooCostly { .. })
    ));
    assert!(matches!(
        verify(
            "{SHA512-CRYPT}$6$rounds=999999999$roundsSalt1234$3Cn7Yf1YovG1B5hjVJ8HVvCqYbXGxnWdz/ZIwdoIg4O2LA8Fi0qPku1oj9MnKlbn8GJRYS7cPZxRWWK.PpA4s/",
            PW,
            &p
        ),
        Err(VerifyError::TooCostly { .. })
    ));
    assert!(matches!(
        verify(
            "{BLF-CRYPT}$2y$31$M.LmPGdo8w.Hi0rI.9LYPOudbhR5PZXsiIyg/q9vS1.OVlRwT/BxW",
            PW,
            &p
        ),
        Err(VerifyError::TooCostly { .. })
    ));
}

#[test]
fn overlong_password_is_refused_without_hashing() {
    let long = vec![b'a'; MAX_PASSWORD_LEN + 1];
    assert_eq!(
        verify(DOVEADM[2], &long, &VerifyPolicy::default()),
        Ok(false)
    );
    assert_eq!(
        hash_password(&long, &HashScheme::default()),
        Err(HashError::PasswordTooLong(MAX_PASSWORD_LEN + 1))
    );
}

#[test]
fn new_hashes_verify_and_use_fresh_salts() {
    let cheap_argon = HashScheme::Argon2id(Argon2Params {
        memory_kib: 256,
        time_cost: 1,
        parallelism: 1,
    });
    for scheme in [
        cheap_argon,
        HashScheme::Sha512Crypt { rounds: 5000 },
        HashScheme::Sha256Crypt { rounds: 1000 },
        HashScheme::BlfCrypt { cost: 4 },
        HashScheme::ScramSha256 { iterations: 64 },
    ] {
        let a = hash_password(PW, &scheme).unwrap();
        let b = hash_password(PW, &scheme).unwrap();
        assert_ne!(a, b, "salt must differ between two hashes");
        check_vector(&a, PW);
    }
    let argon = hash_password(PW, &HashScheme::default()).unwrap();
    assert!(
        argon.starts_with("{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$"),
        "{argon}"
    );
    check_vector(&argon, PW);
    let sha = hash_password(PW, &HashScheme::Sha512Crypt { rounds: 5000 }).unwrap();
    assert!(
        sha.starts_with("{SHA512-CRYPT}$6$") && !sha.contains("rounds="),
        "{sha}"
    );
    let sha = hash_password(PW, &HashScheme::Sha256Crypt { rounds: 1000 }).unwrap();
    assert!(sha.starts_with("{SHA256-CRYPT}$5$rounds=1000$"), "{sha}");
    let blf = hash_password(PW, &HashScheme::BlfCrypt { cost: 4 }).unwrap();
    assert!(blf.starts_with("{BLF-CRYPT}$2y$04$"), "{blf}");
    assert!(matches!(
        hash_password(PW, &HashScheme::Sha512Crypt { rounds: 10 }),
        Err(HashError::Params { .. })
    ));
}

#[test]
fn scram_secrets_round_trip_and_match_doveadm() {
    let field = DOVEADM[8].strip_prefix("{SCRAM-SHA-256}").unwrap();
    let s = ScramSecrets::parse(field).unwrap();
    assert_eq!(s.iterations, 4096);
    assert_eq!(s.to_dovecot(), field);
    // Deriving with doveadm's salt and iterations gives doveadm's keys.
    let again = ScramSecrets::derive(PW, &s.salt, s.iterations).unwrap();
    assert_eq!(again, s);
    assert_eq!(
        ScramSecrets::parse("0,AA==,x,y"),
        Err(ScramError::Iterations)
    );
    assert_eq!(ScramSecrets::parse("1,,x,y"), Err(ScramError::Salt));
    assert_eq!(
        ScramSecrets::parse("1,AA==,AA==,AA=="),
        Err(ScramError::Key("StoredKey"))
    );
    assert_eq!(
        ScramSecrets::parse("1,AA==,x,y,z"),
        Err(ScramError::FieldCount)
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Arbitrary stored fields give Ok or a typed error, never a panic.
        #[test]
        fn verify_never_panics(
            prefix in prop_oneof![
                Just(""), Just("{SHA512-CRYPT}$6$"), Just("{SHA256-CRYPT}$5$rounds="),
                Just("{BLF-CRYPT}$2y$0"), Just("{ARGON2ID}$argon2id$v=19$m="),
                Just("{SSHA512}"), Just("{SHA256.HEX}"), Just("{SCRAM-SHA-256}1,"),
                Just("{CRYPT}"), Just("{"), Just("{PLAIN}"),
            ],
            rest in "[ -~]{0,60}",
            pw in proptest::collection::vec(any::<u8>(), 0..20),
        ) {
            let stored = format!("{prefix}{rest}");
            let policy = VerifyPolicy { allow_plain_scheme: true };
            let _ = verify(&stored, &pw, &policy);
        }
    }
}

#[test]
fn unknown_user_check_does_the_work_and_fails() {
    // The dummy hash is real: its own password verifies against it...
    assert_eq!(
        verify(
            &format!("{{ARGON2ID}}{DUMMY_HASH}"),
            b"postcore-no-such-user",
            &VerifyPolicy::default()
        ),
        Ok(true)
    );
    // ...but the unknown-user path refuses every password, that one included.
    assert!(!verify_unknown_user(b"postcore-no-such-user"));
    assert!(!verify_unknown_user(b""));
}
