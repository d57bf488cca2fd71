//! A whole login as the server will run it: passwd-file text as Dovecot
//! writes it, a SASL exchange, password check, throttle bookkeeping.

use std::net::{IpAddr, Ipv4Addr};

use auth::passwd_file::PasswdFile;
use auth::sasl::{Mechanism, Progress, SaslError, SaslServer};
use auth::scheme::{VerifyPolicy, verify, verify_unknown_user};
use auth::throttle::{Decision, Throttle, ThrottleConfig};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

// Hashes from `doveadm pw -s <SCHEME> -p 'correct horse'` (Dovecot 2.3.19.1).
const USERS: &str = "\
# mail users
ann@example.com:{SHA512-CRYPT}$6$jfh1BjnpOzoC6E.W$lB0qIpVizsmRKt.2kMLVcghVnRpVBrNLdOA49Xz/kQbwKZmWLHP985lvu.aMXOALdWopYK2SB1NF.DWOOge9r1:5000:5000::/var/vmail/ann::
bob@example.com:{SCRAM-SHA-256}4096,JJTMHGAGthb1/H4ae1uNYA==,xy4tgD8h8b6OD0PtDJVKDzCC9Ls2SaU5dehasv/gD7A=,AJP44HYwZXqDophSpNfC2gZh8+QpX9bjg+Wf4UJ7qGE=
";

const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));

/// PLAIN login: returns whether the password was right, counting the result.
fn plain_login(db: &PasswdFile, t: &mut Throttle, now: u64, msg: &[u8]) -> Result<bool, SaslError> {
    let mut sasl = SaslServer::new(Mechanism::Plain)?;
    let Progress::VerifyPassword(c) = sasl.start(Some(msg))? else {
        panic!("PLAIN with an initial response ends at once");
    };
    let user = c.username.as_str();
    if let Decision::Locked { .. } = t.check(IP, user, now) {
        return Ok(false);
    }
    let good = match db.get(user).and_then(|u| u.password()) {
        Some(stored) => {
            verify(stored, c.password.as_bytes(), &VerifyPolicy::default()).unwrap_or(false)
        }
        None => verify_unknown_user(c.password.as_bytes()),
    };
    if good {
        t.record_success(IP, user, now);
    } else {
        t.record_failure(IP, user, now);
    }
    Ok(good)
}

#[test]
fn plain_login_against_dovecot_file() {
    let db = PasswdFile::parse(USERS.as_bytes()).unwrap();
    let mut t = Throttle::new(ThrottleConfig {
        user_lockout_failures: 3,
        ..ThrottleConfig::default()
    });
    assert_eq!(
        plain_login(&db, &mut t, 0, b"\0Ann@Example.com\0correct horse"),
        Ok(true)
    );
    // SCRAM secrets as the main scheme also check a clear-text password.
    assert_eq!(
        plain_login(&db, &mut t, 0, b"\0bob@example.com\0correct horse"),
        Ok(true)
    );
    assert_eq!(
        plain_login(&db, &mut t, 0, b"\0nobody\0correct horse"),
        Ok(false)
    );
    for now in 1..=3 {
        assert_eq!(
            plain_login(&db, &mut t, now, b"\0ann@example.com\0guess"),
            Ok(false)
        );
    }
    // Locked now: even the right password is refused without checking.
    assert!(matches!(
        t.check(IP, "ann@example.com", 4),
        Decision::Locked { .. }
    ));
    assert_eq!(
        plain_login(&db, &mut t, 4, b"\0ann@example.com\0correct horse"),
        Ok(false)
    );
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// A SCRAM-SHA-256 client written from RFC 5802 section 3, against the
/// secrets doveadm stored.
#[test]
fn scram_login_with_doveadm_secrets() {
    let db = PasswdFile::parse(USERS.as_bytes()).unwrap();
    for (password, should_pass) in [("correct horse", true), ("wrong", false)] {
        let client_first_bare = "n=bob@example.com,r=clientnonce123";
        let mut sasl = SaslServer::new(Mechanism::ScramSha256).unwrap();
        let Progress::NeedScramSecrets { username } = sasl
            .start(Some(format!("n,,{client_first_bare}").as_bytes()))
            .unwrap()
        else {
            panic!()
        };
        let secrets = db
            .get(username.as_str())
            .and_then(|u| u.scram_secrets())
            .map(|r| r.unwrap());
        let Progress::Challenge(server_first) = sasl.scram_secrets(secrets.as_ref()).unwrap()
        else {
            panic!()
        };
        let server_first = String::from_utf8(server_first).unwrap();
        let mut nonce = "";
        let mut salt = Vec::new();
        let mut iterations = 0;
        for attr in server_first.split(',') {
            match attr.split_at(2) {
                ("r=", v) => nonce = v,
                ("s=", v) => salt = STANDARD.decode(v).unwrap(),
                ("i=", v) => iterations = v.parse().unwrap(),
                _ => panic!("{attr}"),
            }
        }
        assert!(nonce.starts_with("clientnonce123") && nonce.len() > 14);
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iterations, &mut salted);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = Sha256::digest(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let client_final = format!("{without_proof},p={}", STANDARD.encode(proof));

        let result = sasl.step(client_final.as_bytes());
        if !should_pass {
            assert_eq!(result.unwrap_err(), SaslError::AuthenticationFailed);
            continue;
        }
        let Progress::Challenge(server_final) = result.unwrap() else {
            panic!()
        };
        let expected = hmac(&hmac(&salted, b"Server Key"), auth_message.as_bytes());
        assert_eq!(
            String::from_utf8(server_final).unwrap(),
            format!("v={}", STANDARD.encode(expected))
        );
        match sasl.step(b"").unwrap() {
            Progress::Authenticated { username } => {
                assert_eq!(username.as_str(), "bob@example.com")
            }
            other => panic!("{other:?}"),
        }
    }
}
