use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::*;
use crate::scheme::ScramSecrets;

fn creds(p: Progress) -> Credentials {
    match p {
        Progress::VerifyPassword(c) => c,
        other => panic!("expected VerifyPassword, got {other:?}"),
    }
}

fn challenge(p: Progress) -> Vec<u8> {
    match p {
        Progress::Challenge(c) => c,
        other => panic!("expected Challenge, got {other:?}"),
    }
}

#[test]
fn mechanism_names() {
    assert_eq!(
        Mechanism::from_name(b"scram-sha-256"),
        Some(Mechanism::ScramSha256)
    );
    assert_eq!(Mechanism::from_name(b"PLAIN"), Some(Mechanism::Plain));
    assert_eq!(Mechanism::from_name(b"login"), Some(Mechanism::Login));
    assert_eq!(Mechanism::from_name(b"CRAM-MD5"), None);
    assert!(Mechanism::Plain.sends_clear_password());
    assert!(!Mechanism::ScramSha256.sends_clear_password());
}

#[test]
fn plain_with_initial_response() {
    let mut s = SaslServer::new(Mechanism::Plain).unwrap();
    let c = creds(s.start(Some(b"\0Tim\0tanstaaftanstaaf")).unwrap());
    assert_eq!(c.username.as_str(), "tim");
    assert_eq!(c.password.as_bytes(), b"tanstaaftanstaaf");
    // Finished: no further input.
    assert_eq!(s.step(b"x").unwrap_err(), SaslError::UnexpectedStep);
}

#[test]
fn plain_without_initial_response_sends_empty_challenge() {
    let mut s = SaslServer::new(Mechanism::Plain).unwrap();
    assert_eq!(challenge(s.start(None).unwrap()), b"");
    let c = creds(s.step(b"tim\0tim\0pw").unwrap());
    assert_eq!(c.username.as_str(), "tim");
    assert_eq!(c.password.as_bytes(), b"pw");
}

fn plain(msg: &[u8]) -> Result<Credentials, SaslError> {
    let mut s = SaslServer::new(Mechanism::Plain).unwrap();
    s.start(Some(msg)).map(creds)
}

#[test]
fn plain_authzid_rules() {
    // Equal (after case folding) is accepted.
    assert_eq!(plain(b"TIM\0tim\0pw").unwrap().username.as_str(), "tim");
    assert_eq!(
        plain(b"admin\0tim\0pw").unwrap_err(),
        SaslError::AuthzidNotPermitted
    );
    assert_eq!(
        plain(b"bad/name\0tim\0pw").unwrap_err(),
        SaslError::AuthzidNotPermitted
    );
}

#[test]
fn plain_edge_cases() {
    let malformed = |m: &[u8]| matches!(plain(m), Err(SaslError::Malformed(_)));
    assert!(malformed(b""));
    assert!(malformed(b"tim"));
    assert!(malformed(b"\0tim"));
    assert!(malformed(b"\0tim\0"), "empty password");
    assert!(malformed(b"\0tim\0pw\0extra"), "fourth field");
    assert_eq!(
        plain(b"\0\0pw").unwrap_err(),
        SaslError::Username(crate::username::UsernameError::Empty)
    );
    assert_eq!(plain(b"\0t\xffm\0pw").unwrap_err(), SaslError::NotUtf8);
    assert_eq!(plain(b"\xff\0tim\0pw").unwrap_err(), SaslError::NotUtf8);
    // 8-bit passwords pass through for the stored hash to judge.
    assert_eq!(
        plain(b"\0tim\0p\xe4ss").unwrap().password.as_bytes(),
        b"p\xe4ss"
    );
    let mut long = b"\0tim\0".to_vec();
    long.extend(std::iter::repeat_n(b'x', MAX_RESPONSE_LEN));
    assert_eq!(plain(&long).unwrap_err(), SaslError::TooLong);
    let mut s = SaslServer::new(Mechanism::Plain).unwrap();
    let _ = s.start(None).unwrap();
    assert_eq!(s.step(&long).unwrap_err(), SaslError::TooLong);
}

#[test]
fn login_exchange() {
    let mut s = SaslServer::new(Mechanism::Login).unwrap();
    assert_eq!(challenge(s.start(None).unwrap()), b"Username:");
    assert_eq!(challenge(s.step(b"Tim").unwrap()), b"Password:");
    let c = creds(s.step(b"secret").unwrap());
    assert_eq!(c.username.as_str(), "tim");
    assert_eq!(c.password.as_bytes(), b"secret");
    assert_eq!(s.step(b"").unwrap_err(), SaslError::UnexpectedStep);

    // User name as initial response.
    let mut s = SaslServer::new(Mechanism::Login).unwrap();
    assert_eq!(challenge(s.start(Some(b"tim")).unwrap()), b"Password:");
    assert_eq!(creds(s.step(b"pw").unwrap()).password.as_bytes(), b"pw");

    // IMAP's "=" (empty initial response) is the same as none.
    let mut s = SaslServer::new(Mechanism::Login).unwrap();
    assert_eq!(challenge(s.start(Some(b"")).unwrap()), b"Username:");
}

#[test]
fn login_edge_cases() {
    let mut s = SaslServer::new(Mechanism::Login).unwrap();
    let _ = s.start(None).unwrap();
    assert_eq!(s.step(b"t\xffm").unwrap_err(), SaslError::NotUtf8);

    let mut s = SaslServer::new(Mechanism::Login).unwrap();
    let _ = s.start(None).unwrap();
    assert!(matches!(s.step(b"").unwrap_err(), SaslError::Username(_)));

    let mut s = SaslServer::new(Mechanism::Login).unwrap();
    let _ = s.start(Some(b"tim")).unwrap();
    assert!(matches!(s.step(b"").unwrap_err(), SaslError::Malformed(_)));

    let mut s = SaslServer::new(Mechanism::Login).unwrap();
    let _ = s.start(Some(b"tim")).unwrap();
    assert!(matches!(
        s.step(b"a\0b").unwrap_err(),
        SaslError::Malformed(_)
    ));

    // Errors end the exchange.
    assert_eq!(s.step(b"pw").unwrap_err(), SaslError::UnexpectedStep);
}

const RFC_SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

fn rfc7677_secrets() -> ScramSecrets {
    // Derived once: 4096 PBKDF2 rounds are slow in a debug build.
    static SECRETS: std::sync::OnceLock<ScramSecrets> = std::sync::OnceLock::new();
    SECRETS
        .get_or_init(|| {
            let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
            ScramSecrets::derive(b"pencil", &salt, 4096).unwrap()
        })
        .clone()
}

fn rfc_server() -> SaslServer {
    SaslServer::with_scram(ScramServer::with_params(
        RFC_SERVER_NONCE.to_string(),
        [7u8; 32],
    ))
}

/// RFC 7677 section 3: user "user", password "pencil", fixed nonces.
#[test]
fn scram_rfc7677_vector() {
    let mut s = rfc_server();
    assert_eq!(challenge(s.start(None).unwrap()), b"");
    match s.step(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO").unwrap() {
        Progress::NeedScramSecrets { username } => assert_eq!(username.as_str(), "user"),
        other => panic!("{other:?}"),
    }
    let server_first = challenge(s.scram_secrets(Some(&rfc7677_secrets())).unwrap());
    assert_eq!(
        String::from_utf8(server_first).unwrap(),
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    );
    let server_final = challenge(
        s.step(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            .unwrap(),
    );
    assert_eq!(
        String::from_utf8(server_final).unwrap(),
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    );
    match s.step(b"").unwrap() {
        Progress::Authenticated { username } => assert_eq!(username.as_str(), "user"),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.step(b"").unwrap_err(), SaslError::UnexpectedStep);
}

fn rfc_until_final(client_first: &[u8]) -> SaslServer {
    let mut s = rfc_server();
    let _ = s.start(Some(client_first)).unwrap();
    let _ = s.scram_secrets(Some(&rfc7677_secrets())).unwrap();
    s
}

const RFC_FINAL: &[u8] = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

#[test]
fn scram_wrong_proof_fails() {
    let mut s = rfc_until_final(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    let bad = String::from_utf8(RFC_FINAL.to_vec())
        .unwrap()
        .replace("p=dHzb", "p=dHzc");
    assert_eq!(
        s.step(bad.as_bytes()).unwrap_err(),
        SaslError::AuthenticationFailed
    );
}

#[test]
fn scram_unknown_user_runs_to_the_end_then_fails() {
    let mut s = rfc_server();
    let _ = s.start(Some(b"n,,n=ghost,r=abc")).unwrap();
    let first = String::from_utf8(challenge(s.scram_secrets(None).unwrap())).unwrap();
    assert!(
        first.starts_with(&format!("r=abc{RFC_SERVER_NONCE},s=")),
        "{first}"
    );
    assert!(first.ends_with(",i=4096"), "{first}");
    // The made-up salt is stable for a name, like a real user's.
    let mut again = rfc_server();
    let _ = again.start(Some(b"n,,n=ghost,r=abc")).unwrap();
    assert_eq!(
        String::from_utf8(challenge(again.scram_secrets(None).unwrap())).unwrap(),
        first
    );
    let fin = format!(
        "c=biws,r=abc{RFC_SERVER_NONCE},p={}",
        STANDARD.encode([0u8; 32])
    );
    assert_eq!(
        s.step(fin.as_bytes()).unwrap_err(),
        SaslError::AuthenticationFailed
    );
}

#[test]
fn scram_gs2_header_rules() {
    let start = |m: &[u8]| {
        let mut s = rfc_server();
        s.start(Some(m))
            .map(|p| matches!(p, Progress::NeedScramSecrets { .. }))
    };
    assert_eq!(start(b"y,,n=user,r=abc"), Ok(true));
    assert_eq!(start(b"n,a=user,n=user,r=abc"), Ok(true));
    assert_eq!(start(b"n,a=USER,n=user,r=abc"), Ok(true));
    assert_eq!(
        start(b"p=tls-unique,,n=user,r=abc"),
        Err(SaslError::ChannelBindingNotSupported)
    );
    assert_eq!(
        start(b"n,a=admin,n=user,r=abc"),
        Err(SaslError::AuthzidNotPermitted)
    );
    assert_eq!(
        start(b"n,,m=ext,n=user,r=abc"),
        Err(SaslError::UnsupportedExtension)
    );
    for bad in [
        &b"x,,n=user,r=abc"[..],
        b"n",
        b"n,",
        b"n,,user,r=abc",
        b"n,,n=user",
        b"n,,n=user,r=",
        b"n,,n=user,r=a\x7fb",
        b"n,,n=us=er,r=abc",
        b"n,,n=,r=abc",
        b"n,x,n=user,r=abc",
    ] {
        assert!(
            matches!(start(bad), Err(SaslError::Malformed(_))),
            "{:?}: {:?}",
            String::from_utf8_lossy(bad),
            start(bad)
        );
    }
    assert_eq!(start(b"n,,n=\xff,r=abc"), Err(SaslError::NotUtf8));
    // Escaped ',' in a name: "a,b" is not a valid user name (no, ',' is fine; ':' is not).
    assert_eq!(start(b"n,,n=a=2Cb,r=abc"), Ok(true));
    assert!(matches!(
        start(b"n,,n=a:b,r=abc"),
        Err(SaslError::Username(_))
    ));
    // Extensions after the nonce are ignored.
    assert_eq!(start(b"n,,n=user,r=abc,x=1"), Ok(true));
}

#[test]
fn scram_client_final_checks() {
    let y_header_final = {
        // c= must match the client's own GS2 header: "y,," is "eSws".
        let mut s = rfc_until_final(b"y,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        s.step(RFC_FINAL).unwrap_err()
    };
    assert!(matches!(y_header_final, SaslError::Malformed(_)));

    for bad in [
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
        "c=biws,r=rOprNGfwEbeRWgbNEkqOXXX,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        "c=!!!,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA",
    ] {
        let mut s = rfc_until_final(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        assert!(
            matches!(s.step(bad.as_bytes()), Err(SaslError::Malformed(_))),
            "{bad}"
        );
    }
    // A non-empty answer to the server signature is refused.
    let mut s = rfc_until_final(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    let _ = s.step(RFC_FINAL).unwrap();
    assert!(matches!(s.step(b"x"), Err(SaslError::Malformed(_))));
}

#[test]
fn scram_steps_out_of_order() {
    let mut s = rfc_server();
    assert_eq!(
        s.scram_secrets(None).unwrap_err(),
        SaslError::UnexpectedStep
    );
    let mut s = rfc_server();
    let _ = s.start(Some(b"n,,n=user,r=abc")).unwrap();
    // Input while the server owes the secrets.
    assert_eq!(s.step(b"c=biws").unwrap_err(), SaslError::UnexpectedStep);
    let mut plain = SaslServer::new(Mechanism::Plain).unwrap();
    assert_eq!(
        plain.scram_secrets(None).unwrap_err(),
        SaslError::UnexpectedStep
    );
}

#[test]
fn scram_random_nonces_differ() {
    let first = |mut s: SaslServer| {
        let _ = s.start(Some(b"n,,n=user,r=abc")).unwrap();
        challenge(s.scram_secrets(Some(&rfc7677_secrets())).unwrap())
    };
    let a = first(SaslServer::new(Mechanism::ScramSha256).unwrap());
    let b = first(SaslServer::new(Mechanism::ScramSha256).unwrap());
    assert_ne!(a, b);
}

/// Runs Python's `scramp` (an independent SCRAM implementation) as the
/// client against this server. Needs `python3` with `pip install scramp`;
/// run with `cargo test -p postcore-auth -- --ignored`.
#[test]
#[ignore = "needs python3 with the scramp package"]
fn scram_against_python_scramp_client() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    let script = r#"
import sys
from scramp import ScramClient
c = ScramClient(['SCRAM-SHA-256'], sys.argv[1], sys.argv[2])
print(c.get_client_first(), flush=True)
c.set_server_first(sys.stdin.readline().rstrip('\n'))
print(c.get_client_final(), flush=True)
c.set_server_final(sys.stdin.readline().rstrip('\n'))
print('verified', flush=True)
"#;
    for (user, password, stored_pw) in [
        ("Alice", "correct horse", "correct horse"),
        ("bob", "wrong", "right"),
    ] {
        let secrets = ScramSecrets::generate(stored_pw.as_bytes(), 4096).unwrap();
        let mut child = Command::new("python3")
            .args(["-c", script, user, password])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();

        let mut s = SaslServer::new(Mechanism::ScramSha256).unwrap();
        out.read_line(&mut line).unwrap();
        match s.start(Some(line.trim_end().as_bytes())).unwrap() {
            Progress::NeedScramSecrets { username } => {
                assert_eq!(username.as_str(), user.to_ascii_lowercase())
            }
            other => panic!("{other:?}"),
        }
        let first = challenge(s.scram_secrets(Some(&secrets)).unwrap());
        stdin.write_all(&first).unwrap();
        stdin.write_all(b"\n").unwrap();
        line.clear();
        out.read_line(&mut line).unwrap();
        let result = s.step(line.trim_end().as_bytes());
        if password != stored_pw {
            assert_eq!(result.unwrap_err(), SaslError::AuthenticationFailed);
            drop(stdin);
            let _ = child.wait();
            continue;
        }
        let fin = challenge(result.unwrap());
        stdin.write_all(&fin).unwrap();
        stdin.write_all(b"\n").unwrap();
        line.clear();
        out.read_line(&mut line).unwrap();
        assert_eq!(
            line.trim_end(),
            "verified",
            "scramp rejected our server signature"
        );
        assert!(matches!(
            s.step(b"").unwrap(),
            Progress::Authenticated { .. }
        ));
        assert!(child.wait().unwrap().success());
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn drive(mech: Mechanism, ir: Option<Vec<u8>>, steps: Vec<Vec<u8>>, give_secrets: bool) {
        let secrets = rfc7677_secrets();
        let mut s = SaslServer::new(mech).unwrap();
        let mut p = s.start(ir.as_deref());
        for input in steps {
            p = match p {
                Ok(Progress::Challenge(_)) => s.step(&input),
                Ok(Progress::NeedScramSecrets { .. }) => {
                    s.scram_secrets(give_secrets.then_some(&secrets))
                }
                // Finished or failed: every further input is refused.
                Ok(_) | Err(_) => {
                    assert!(s.step(&input).is_err());
                    return;
                }
            };
        }
    }

    fn scram_like() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            "[nyp]=?[a-z]{0,3},(a=[a-z=23CD]{0,6})?,(n=[a-zA-Z=,23CD]{0,8})?,?(r=[!-~]{0,12})?(,[a-z]=[a-z]{0,3})?"
                .prop_map(String::into_bytes),
            "c=[a-zA-Z0-9+/=]{0,8},r=[!-~]{0,20}(,p=[a-zA-Z0-9+/=]{0,48})?".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// No input sequence makes a machine panic, and none gets past
        /// SCRAM without the password.
        #[test]
        fn machines_never_panic(
            mech in prop_oneof![Just(Mechanism::Plain), Just(Mechanism::Login), Just(Mechanism::ScramSha256)],
            ir in proptest::option::of(scram_like()),
            steps in proptest::collection::vec(scram_like(), 0..5),
            give in any::<bool>(),
        ) {
            drive(mech, ir, steps, give);
        }

        #[test]
        fn plain_splits_exactly_three_fields(a in "[a-z]{0,5}", c in "[a-z]{1,5}", p in "[ -~]{1,10}") {
            let msg = format!("{a}\0{c}\0{p}");
            let r = plain(msg.as_bytes());
            if a.is_empty() || a == c {
                let got = r.unwrap();
                prop_assert_eq!(got.username.as_str(), c.as_str());
                prop_assert_eq!(got.password.as_bytes(), p.as_bytes());
            } else {
                prop_assert_eq!(r.unwrap_err(), SaslError::AuthzidNotPermitted);
            }
        }
    }
}
