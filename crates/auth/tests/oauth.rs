//! Bearer-token logins (OAUTHBEARER, XOAUTH2) against real keys.
//!
//! The keys under tests/keys were made with OpenSSL 3:
//!   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key
//!   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other-rsa.key
//!   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key
//!   openssl genpkey -algorithm Ed25519 -out ed.key
//!   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 (only ec384.pub kept)
//!   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 (only rsa1024.pub kept)
//!   openssl pkey -in X.key -pubout -out X.pub
//! They exist only for these tests.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth::oauth::{OAuthConfig, OAuthConfigError, OAuthError, TokenValidator};
use auth::sasl::{MAX_RESPONSE_LEN, Mechanism, OAuthServer, Progress, SaslError, SaslServer};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.example.org";
const AUDIENCE: &str = "postcore";
/// 2027-01-15: the fixed "now" of these tests.
const NOW: u64 = 1_800_000_000;

const RSA_PUB: &str = include_str!("keys/rsa.pub");
const RSA_KEY: &str = include_str!("keys/rsa.key");
const OTHER_RSA_KEY: &str = include_str!("keys/other-rsa.key");
const EC_PUB: &str = include_str!("keys/ec.pub");
const EC_KEY: &str = include_str!("keys/ec.key");
const EC384_PUB: &str = include_str!("keys/ec384.pub");
const RSA1024_PUB: &str = include_str!("keys/rsa1024.pub");
const ED_PUB: &str = include_str!("keys/ed.pub");
const ED_KEY: &str = include_str!("keys/ed.key");

/// Made by an independent implementation, PyJWT 2.15.1 with `cryptography`:
///   claims = {"iss": "https://idp.example.org", "aud": "postcore",
///             "email": "Ann@Example.org", "sub": "ann-1",
///             "iat": 1700000000, "exp": 4102444800}
///   jwt.encode(claims, open("rsa.key").read(), algorithm="RS256")
///   jwt.encode(claims, open("ed.key").read(), algorithm="EdDSA")
const PYJWT_RS256: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLm9yZyIsImF1ZCI6InBvc3Rjb3JlIiwiZW1haWwiOiJBbm5ARXhhbXBsZS5vcmciLCJzdWIiOiJhbm4tMSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwfQ.AxtAlpbMRIsmIsxTqu5S5aoc2xWu_d0vXqZITlr9izclJngjSHKBexgyXzNLj50LZWESZ3QE7gS8RaqSrHZFDTcRESN-CFlBRCqpndMOJI9mLML5uOJl_FIBm4a09G8tWkulbI1ESslMMSIQtuBxIgsAn3mgNnWILvsQcWVXP8teOylSSmquKpb5YAsGVNjkAQFlpllVFsEXy9rAcL-IAm9on2TQ32rQVUm-omVjgLXhLUGOWFa3vq1A0v_suUReBhW6c92uHekkuZBU4yp-CKCzfySgLShShI1Hv5B0hp7QJfFfuPbCEg8uAOQikeXrV4BU_2X033MFqhxwWU-Dgw";
const PYJWT_EDDSA: &str = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLm9yZyIsImF1ZCI6InBvc3Rjb3JlIiwiZW1haWwiOiJBbm5ARXhhbXBsZS5vcmciLCJzdWIiOiJhbm4tMSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwfQ.pB3Scm1CY4AsUlPmvVs80krYIA0VfZiQbMYwlvNM5MRYFwMJfu92Pd9pYxZnMUU6a3Gj4D0TSO7TCBpCaJflCg";

fn validator(pem: &str) -> TokenValidator {
    TokenValidator::new(&OAuthConfig::new(pem, ISSUER, AUDIENCE)).unwrap()
}

fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "email": "Ann@Example.org",
        "sub": "ann-1",
        "preferred_username": "Annie",
        "iat": NOW,
        "exp": NOW + 300,
    })
}

fn sign(alg: Algorithm, private_pem: &str, claims: &Value) -> String {
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(private_pem.as_bytes()),
        Algorithm::ES256 => EncodingKey::from_ec_pem(private_pem.as_bytes()),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(private_pem.as_bytes()),
        other => panic!("no test key for {other:?}"),
    }
    .unwrap();
    encode(&Header::new(alg), claims, &key).unwrap()
}

fn rs256(claims: &Value) -> String {
    sign(Algorithm::RS256, RSA_KEY, claims)
}

fn with(change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut c = claims();
    change(c.as_object_mut().unwrap());
    c
}

#[test]
fn valid_token_for_each_key_type() {
    for (alg, public, private) in [
        (Algorithm::RS256, RSA_PUB, RSA_KEY),
        (Algorithm::ES256, EC_PUB, EC_KEY),
        (Algorithm::EdDSA, ED_PUB, ED_KEY),
    ] {
        let v = validator(public);
        assert_eq!(v.algorithm(), alg);
        let token = sign(alg, private, &claims());
        assert_eq!(
            v.validate_at(&token, NOW).unwrap().as_str(),
            "ann@example.org",
            "{alg:?}"
        );
    }
}

#[test]
fn tokens_made_by_pyjwt_are_accepted() {
    let now = SystemTime::now();
    assert_eq!(
        validator(RSA_PUB)
            .validate(PYJWT_RS256, now)
            .unwrap()
            .as_str(),
        "ann@example.org"
    );
    assert_eq!(
        validator(ED_PUB)
            .validate(PYJWT_EDDSA, now)
            .unwrap()
            .as_str(),
        "ann@example.org"
    );
    // A token is bound to its key type: the RSA token against the Ed25519 key.
    assert_eq!(
        validator(ED_PUB).validate(PYJWT_RS256, now),
        Err(OAuthError::WrongAlgorithm)
    );
    // One flipped signature byte.
    let mut bad = PYJWT_RS256.as_bytes().to_vec();
    let i = bad.len() - 20;
    bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
    let bad = String::from_utf8(bad).unwrap();
    assert_eq!(
        validator(RSA_PUB).validate(&bad, now),
        Err(OAuthError::BadSignature)
    );
}

#[test]
fn expiry_and_not_before_are_checked_against_the_given_clock_with_leeway() {
    let v = validator(RSA_PUB);
    let token = rs256(&claims()); // exp = NOW + 300, leeway 60
    assert!(v.validate_at(&token, NOW + 359).is_ok());
    assert_eq!(v.validate_at(&token, NOW + 360), Err(OAuthError::Expired));
    assert_eq!(
        v.validate(&token, UNIX_EPOCH + Duration::from_secs(NOW + 3600)),
        Err(OAuthError::Expired)
    );

    let early = rs256(&with(|c| {
        c.insert("nbf".into(), json!(NOW + 100));
    }));
    assert_eq!(v.validate_at(&early, NOW), Err(OAuthError::NotYetValid));
    assert!(v.validate_at(&early, NOW + 40).is_ok(), "within the leeway");

    // NumericDate may be fractional.
    let fractional = rs256(&with(|c| {
        c.insert("exp".into(), json!(NOW as f64 + 10.5));
    }));
    assert!(v.validate_at(&fractional, NOW).is_ok());
    assert_eq!(
        v.validate_at(&fractional, NOW + 100),
        Err(OAuthError::Expired)
    );

    let mut strict = OAuthConfig::new(RSA_PUB, ISSUER, AUDIENCE);
    strict.leeway_secs = 0;
    let strict = TokenValidator::new(&strict).unwrap();
    assert_eq!(
        strict.validate_at(&token, NOW + 300),
        Err(OAuthError::Expired)
    );
    assert!(strict.validate_at(&token, NOW + 299).is_ok());
}

#[test]
fn issuer_audience_and_claims_are_checked() {
    let v = validator(RSA_PUB);
    let t = |c: Value| v.validate_at(&rs256(&c), NOW);
    assert_eq!(
        t(with(|c| {
            c.insert("iss".into(), json!("https://evil.example"));
        })),
        Err(OAuthError::WrongIssuer)
    );
    assert_eq!(
        t(with(|c| {
            c.insert("aud".into(), json!("someone-else"));
        })),
        Err(OAuthError::WrongAudience)
    );
    // aud may be a list that includes us.
    assert!(
        t(with(|c| {
            c.insert("aud".into(), json!(["other", AUDIENCE]));
        }))
        .is_ok()
    );
    for claim in ["exp", "iss", "aud", "email"] {
        assert_eq!(
            t(with(|c| {
                c.remove(claim);
            })),
            Err(OAuthError::MissingClaim(claim.into())),
            "{claim}"
        );
    }
    // jsonwebtoken reports an unparsable exp as missing.
    assert!(matches!(
        t(with(|c| {
            c.insert("exp".into(), json!("tomorrow"));
        })),
        Err(OAuthError::MissingClaim(_) | OAuthError::BadClaim(_))
    ));
    assert_eq!(
        t(with(|c| {
            c.insert("email".into(), json!(42));
        })),
        Err(OAuthError::BadClaim("email".into()))
    );
    assert!(matches!(
        t(with(|c| {
            c.insert("email".into(), json!("a b@example.org"));
        })),
        Err(OAuthError::Username(_))
    ));

    // Another claim names the user.
    let mut cfg = OAuthConfig::new(RSA_PUB, ISSUER, AUDIENCE);
    cfg.username_claim = "preferred_username".into();
    let v = TokenValidator::new(&cfg).unwrap();
    assert_eq!(
        v.validate_at(&rs256(&claims()), NOW).unwrap().as_str(),
        "annie"
    );
}

#[test]
fn wrongly_signed_tokens_are_refused() {
    let v = validator(RSA_PUB);
    // Same algorithm, another key.
    let other = sign(Algorithm::RS256, OTHER_RSA_KEY, &claims());
    assert_eq!(v.validate_at(&other, NOW), Err(OAuthError::BadSignature));
    // Another algorithm than the key's.
    let ec = sign(Algorithm::ES256, EC_KEY, &claims());
    assert_eq!(v.validate_at(&ec, NOW), Err(OAuthError::WrongAlgorithm));
    // HS256 keyed with the public key text (the classic confusion attack).
    let hs = encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(RSA_PUB.as_bytes()),
    )
    .unwrap();
    assert_eq!(v.validate_at(&hs, NOW), Err(OAuthError::WrongAlgorithm));
    // Claims swapped under a valid signature.
    let good = rs256(&claims());
    let forged = rs256(&with(|c| {
        c.insert("email".into(), json!("root@example.org"));
    }));
    let g: Vec<&str> = good.split('.').collect();
    let f: Vec<&str> = forged.split('.').collect();
    let spliced = format!("{}.{}.{}", g[0], f[1], g[2]);
    assert_eq!(v.validate_at(&spliced, NOW), Err(OAuthError::BadSignature));
}

#[test]
fn alg_none_and_malformed_tokens_are_refused() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    let v = validator(RSA_PUB);
    let header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = B64.encode(claims().to_string());
    for none in [format!("{header}.{body}."), format!("{header}.{body}")] {
        assert!(
            matches!(
                v.validate_at(&none, NOW),
                Err(OAuthError::WrongAlgorithm | OAuthError::Malformed(_))
            ),
            "{none}"
        );
    }
    for bad in [
        "",
        "abc",
        "a.b.c",
        "....",
        "eyJhbGciOiJSUzI1NiJ9.%%%.sig",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
    ] {
        let r = v.validate_at(bad, NOW);
        assert!(
            matches!(
                r,
                Err(OAuthError::Malformed(_)
                    | OAuthError::BadSignature
                    | OAuthError::WrongAlgorithm)
            ),
            "{bad:?} gave {r:?}"
        );
    }
    let huge = "a".repeat(auth::oauth::MAX_TOKEN_LEN + 1);
    assert_eq!(v.validate_at(&huge, NOW), Err(OAuthError::TooLong));
}

#[test]
fn bad_configurations_are_refused() {
    let new =
        |pem: &str, iss: &str, aud: &str| TokenValidator::new(&OAuthConfig::new(pem, iss, aud));
    assert!(matches!(
        new("not a key", ISSUER, AUDIENCE),
        Err(OAuthConfigError::BadKey(_))
    ));
    // A private key is not a public key.
    for private in [RSA_KEY, EC_KEY, ED_KEY] {
        assert_eq!(
            new(private, ISSUER, AUDIENCE).unwrap_err(),
            OAuthConfigError::PrivateKey
        );
    }
    for unsupported in [EC384_PUB, RSA1024_PUB] {
        assert!(matches!(
            new(unsupported, ISSUER, AUDIENCE),
            Err(OAuthConfigError::UnsupportedKey(_))
        ));
    }
    // 2048 bits is the smallest RSA key accepted.
    assert!(new(RSA_PUB, ISSUER, AUDIENCE).is_ok());
    assert_eq!(
        new(RSA_PUB, "", AUDIENCE).unwrap_err(),
        OAuthConfigError::EmptyIssuer
    );
    assert_eq!(
        new(RSA_PUB, ISSUER, "").unwrap_err(),
        OAuthConfigError::EmptyAudience
    );
    let mut cfg = OAuthConfig::new(RSA_PUB, ISSUER, AUDIENCE);
    cfg.leeway_secs = 86_400;
    assert_eq!(
        TokenValidator::new(&cfg).unwrap_err(),
        OAuthConfigError::LeewayTooLong(86_400)
    );
    cfg.leeway_secs = 0;
    cfg.username_claim.clear();
    assert_eq!(
        TokenValidator::new(&cfg).unwrap_err(),
        OAuthConfigError::EmptyUsernameClaim
    );
}

// ---- SASL ----

fn shared(pem: &str) -> Arc<TokenValidator> {
    let mut cfg = OAuthConfig::new(pem, ISSUER, AUDIENCE);
    cfg.scope = Some("https://mail.example.org/".into());
    Arc::new(TokenValidator::new(&cfg).unwrap())
}

fn server(mech: Mechanism) -> SaslServer {
    let o = OAuthServer::new(mech, shared(RSA_PUB)).unwrap();
    SaslServer::with_oauth(o.at(UNIX_EPOCH + Duration::from_secs(NOW)))
}

fn bearer_msg(authzid: &str, token: &str) -> Vec<u8> {
    format!("n,{authzid},\x01host=imap.example.org\x01port=993\x01auth=Bearer {token}\x01\x01")
        .into_bytes()
}

fn xoauth2_msg(user: &str, token: &str) -> Vec<u8> {
    format!("user={user}\x01auth=Bearer {token}\x01\x01").into_bytes()
}

fn authenticated(p: Result<Progress, SaslError>) -> String {
    match p {
        Ok(Progress::Authenticated { username }) => username.into_string(),
        other => panic!("expected Authenticated, got {other:?}"),
    }
}

fn error_challenge(p: Result<Progress, SaslError>) -> Value {
    match p {
        Ok(Progress::Challenge(c)) => serde_json::from_slice(&c).unwrap(),
        other => panic!("expected a challenge, got {other:?}"),
    }
}

#[test]
fn mechanism_properties() {
    assert_eq!(
        Mechanism::from_name(b"oauthbearer"),
        Some(Mechanism::OAuthBearer)
    );
    assert_eq!(Mechanism::from_name(b"XOAUTH2"), Some(Mechanism::XOAuth2));
    assert_eq!(Mechanism::OAuthBearer.name(), "OAUTHBEARER");
    for m in [Mechanism::OAuthBearer, Mechanism::XOAuth2] {
        assert!(!m.sends_clear_password());
        assert!(m.needs_protection());
        assert!(m.uses_token());
        assert_eq!(
            SaslServer::new(m).unwrap_err(),
            SaslError::NeedsTokenValidator
        );
    }
    assert!(Mechanism::Plain.needs_protection() && Mechanism::Login.needs_protection());
    assert!(!Mechanism::ScramSha256.needs_protection());
    assert!(OAuthServer::new(Mechanism::Plain, shared(RSA_PUB)).is_err());
}

#[test]
fn oauthbearer_success_with_and_without_initial_response() {
    let token = rs256(&claims());
    let mut s = server(Mechanism::OAuthBearer);
    assert_eq!(
        authenticated(s.start(Some(&bearer_msg("a=ANN@example.org", &token)))),
        "ann@example.org"
    );
    assert_eq!(s.step(b"\x01").unwrap_err(), SaslError::UnexpectedStep);

    let mut s = server(Mechanism::OAuthBearer);
    match s.start(None) {
        Ok(Progress::Challenge(c)) => assert!(c.is_empty()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        authenticated(s.step(&bearer_msg("", &token))),
        "ann@example.org"
    );

    // A token from another implementation, with the system clock.
    let mut s =
        SaslServer::with_oauth(OAuthServer::new(Mechanism::OAuthBearer, shared(RSA_PUB)).unwrap());
    assert_eq!(
        authenticated(s.start(Some(&bearer_msg("", PYJWT_RS256)))),
        "ann@example.org"
    );
}

#[test]
fn oauthbearer_failure_sends_json_then_fails_on_x01() {
    let expired = rs256(&with(|c| {
        c.insert("exp".into(), json!(NOW - 1000));
    }));
    let mut s = server(Mechanism::OAuthBearer);
    let raw = match s.start(Some(&bearer_msg("", &expired))) {
        Ok(Progress::Challenge(c)) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        String::from_utf8(raw.clone()).unwrap(),
        r#"{"status":"invalid_token","schemes":"bearer","scope":"https://mail.example.org/"}"#
    );
    let json: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        json,
        json!({"status": "invalid_token", "schemes": "bearer", "scope": "https://mail.example.org/"})
    );
    assert_eq!(
        s.step(b"\x01").unwrap_err(),
        SaslError::Token(OAuthError::Expired)
    );
    assert_eq!(s.step(b"\x01").unwrap_err(), SaslError::UnexpectedStep);

    // A wrongly signed token; a client that answers anything but %x01 fails too.
    let forged = sign(Algorithm::RS256, OTHER_RSA_KEY, &claims());
    let mut s = server(Mechanism::OAuthBearer);
    error_challenge(s.start(Some(&bearer_msg("", &forged))));
    assert!(matches!(s.step(b"again"), Err(SaslError::Malformed(_))));
    let mut s = server(Mechanism::OAuthBearer);
    error_challenge(s.start(Some(&bearer_msg("", &forged))));
    assert_eq!(
        s.step(b"\x01").unwrap_err(),
        SaslError::Token(OAuthError::BadSignature)
    );
}

#[test]
fn authzid_must_name_the_token_user() {
    let token = rs256(&claims());
    let mut s = server(Mechanism::OAuthBearer);
    error_challenge(s.start(Some(&bearer_msg("a=bob@example.org", &token))));
    assert_eq!(s.step(b"\x01").unwrap_err(), SaslError::AuthzidNotPermitted);

    let mut s = server(Mechanism::XOAuth2);
    error_challenge(s.start(Some(&xoauth2_msg("bob@example.org", &token))));
    assert_eq!(s.step(b"").unwrap_err(), SaslError::AuthzidNotPermitted);
}

#[test]
fn oauthbearer_bad_messages_fail_at_once() {
    let token = rs256(&claims());
    let fail = |msg: &[u8]| server(Mechanism::OAuthBearer).start(Some(msg)).unwrap_err();
    assert_eq!(
        fail(format!("p=tls-unique,,\x01auth=Bearer {token}\x01\x01").as_bytes()),
        SaslError::ChannelBindingNotSupported
    );
    assert!(matches!(
        fail(format!("q,,\x01auth=Bearer {token}\x01\x01").as_bytes()),
        SaslError::Malformed(_)
    ));
    // No auth= at all.
    assert!(matches!(
        fail(b"n,,\x01host=imap.example.org\x01port=993\x01\x01"),
        SaslError::Malformed(_)
    ));
    let mut huge = bearer_msg("", &token);
    huge.extend(std::iter::repeat_n(b'a', MAX_RESPONSE_LEN));
    assert_eq!(fail(&huge), SaslError::TooLong);
    let mut s = server(Mechanism::OAuthBearer);
    let _ = s.start(None).unwrap();
    assert_eq!(s.step(&huge).unwrap_err(), SaslError::TooLong);
}

#[test]
fn xoauth2_success_and_failure() {
    let token = sign(Algorithm::RS256, RSA_KEY, &claims());
    let mut s = server(Mechanism::XOAuth2);
    assert_eq!(
        authenticated(s.start(Some(&xoauth2_msg("Ann@example.org", &token)))),
        "ann@example.org"
    );

    let wrong_aud = rs256(&with(|c| {
        c.insert("aud".into(), json!("elsewhere"));
    }));
    let mut s = server(Mechanism::XOAuth2);
    let json = error_challenge(s.start(Some(&xoauth2_msg("ann@example.org", &wrong_aud))));
    assert_eq!(json["status"], "401");
    assert_eq!(json["schemes"], "bearer");
    assert_eq!(
        s.step(b"").unwrap_err(),
        SaslError::Token(OAuthError::WrongAudience)
    );

    // user= is required in XOAUTH2.
    let mut s = server(Mechanism::XOAuth2);
    assert!(matches!(
        s.start(Some(format!("auth=Bearer {token}\x01\x01").as_bytes())),
        Err(SaslError::Malformed(_))
    ));
}

#[test]
fn validator_and_exchange_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<TokenValidator>();
    send::<SaslServer>();
    // And really used from another thread.
    let v = shared(ED_PUB);
    let user = std::thread::spawn(move || v.validate(PYJWT_EDDSA, SystemTime::now()))
        .join()
        .unwrap();
    assert_eq!(user.unwrap().as_str(), "ann@example.org");
}

#[test]
fn error_json_escapes_configured_values() {
    let mut cfg = OAuthConfig::new(RSA_PUB, ISSUER, AUDIENCE);
    cfg.scope = Some("a \"quoted\" scope".into());
    cfg.openid_configuration =
        Some("https://idp.example.org/.well-known/openid-configuration".into());
    let o = OAuthServer::new(
        Mechanism::OAuthBearer,
        Arc::new(TokenValidator::new(&cfg).unwrap()),
    )
    .unwrap();
    let mut s = SaslServer::with_oauth(o);
    let json = error_challenge(s.start(Some(&bearer_msg("", "e30.e30.AAAA"))));
    assert_eq!(
        json,
        json!({
            "status": "invalid_token",
            "schemes": "bearer",
            "scope": "a \"quoted\" scope",
            "openid-configuration": "https://idp.example.org/.well-known/openid-configuration",
        })
    );
    assert!(matches!(
        s.step(b"\x01"),
        Err(SaslError::Token(
            OAuthError::Malformed(_) | OAuthError::BadSignature
        ))
    ));
}

mod arbitrary_input {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Each case verifies one signature (slow in debug builds): few cases.
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Any one-character change to a valid token makes it invalid, and
        /// never panics.
        #[test]
        fn a_changed_token_never_validates(pos in any::<prop::sample::Index>(), c in "[A-Za-z0-9_.=-]") {
            let v = validator(ED_PUB);
            let token = sign(Algorithm::EdDSA, ED_KEY, &claims());
            let i = pos.index(token.len());
            let c = c.as_bytes()[0];
            prop_assume!(token.as_bytes()[i] != c);
            let mut changed = token.into_bytes();
            changed[i] = c;
            let changed = String::from_utf8(changed).unwrap();
            prop_assert!(v.validate_at(&changed, NOW).is_err());
        }

        /// Arbitrary client messages end in an error or the error challenge,
        /// never a panic or a login.
        #[test]
        fn arbitrary_messages_never_log_in(msg in prop::collection::vec(any::<u8>(), 0..300), google in any::<bool>()) {
            let mech = if google { Mechanism::XOAuth2 } else { Mechanism::OAuthBearer };
            let mut s = server(mech);
            let r = s.start(Some(&msg));
            let logged_in = matches!(r, Ok(Progress::Authenticated { .. }));
            prop_assert!(!logged_in);
            if let Ok(Progress::Challenge(_)) = r {
                // The error challenge, or the empty one for an empty message.
                prop_assert!(s.step(b"\x01").is_err());
            }
        }
    }
}
