//! Cost of checking one bearer token (signature + claims), per key type:
//! tells whether the server may check tokens on its executor.

use std::hint::black_box;

use auth::oauth::{OAuthConfig, TokenValidator};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

const NOW: u64 = 1_800_000_000;

fn token_validation(c: &mut Criterion) {
    let claims = serde_json::json!({
        "iss": "https://idp.example.org", "aud": "postcore",
        "email": "ann@example.org", "iat": NOW, "exp": NOW + 300,
    });
    let cases = [
        (
            "RS256",
            Algorithm::RS256,
            include_str!("../tests/keys/rsa.pub"),
            include_str!("../tests/keys/rsa.key"),
        ),
        (
            "ES256",
            Algorithm::ES256,
            include_str!("../tests/keys/ec.pub"),
            include_str!("../tests/keys/ec.key"),
        ),
        (
            "EdDSA",
            Algorithm::EdDSA,
            include_str!("../tests/keys/ed.pub"),
            include_str!("../tests/keys/ed.key"),
        ),
    ];
    for (name, alg, public, private) in cases {
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(private.as_bytes()),
            Algorithm::ES256 => EncodingKey::from_ec_pem(private.as_bytes()),
            _ => EncodingKey::from_ed_pem(private.as_bytes()),
        }
        .expect("test key");
        let token = encode(&Header::new(alg), &claims, &key).expect("signing");
        let v = TokenValidator::new(&OAuthConfig::new(
            public,
            "https://idp.example.org",
            "postcore",
        ))
        .expect("validator");
        c.bench_function(&format!("validate_token/{name}"), |b| {
            b.iter(|| v.validate_at(black_box(&token), NOW).expect("valid"))
        });
    }
}

criterion_group!(benches, token_validation);
criterion_main!(benches);
