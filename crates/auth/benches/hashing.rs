//! Cost of the password work the server runs off its executors, and of the
//! cheap per-login bookkeeping it runs on them.
//!
//! `cargo bench -p postcore-auth --bench hashing`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use auth::passwd_file::PasswdFile;
use auth::sasl::{Mechanism, Progress, SaslServer};
use auth::scheme::{Argon2Params, HashScheme, ScramSecrets, VerifyPolicy, hash_password, verify};
use auth::throttle::{Throttle, ThrottleConfig};
use criterion::{Criterion, criterion_group, criterion_main};

fn hashing(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    let pw = b"correct horse battery staple";
    for (name, scheme) in [
        ("argon2id_default_m19456_t2", HashScheme::default()),
        (
            "argon2id_dovecot_m65536_t3",
            HashScheme::Argon2id(Argon2Params {
                memory_kib: 65536,
                time_cost: 3,
                parallelism: 1,
            }),
        ),
        (
            "sha512_crypt_5000",
            HashScheme::Sha512Crypt { rounds: 5000 },
        ),
        ("blf_crypt_cost10", HashScheme::BlfCrypt { cost: 10 }),
        (
            "scram_sha256_4096",
            HashScheme::ScramSha256 { iterations: 4096 },
        ),
    ] {
        g.bench_function(name, |b| b.iter(|| hash_password(black_box(pw), &scheme)));
    }
    g.finish();

    let mut g = c.benchmark_group("verify");
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    let stored = hash_password(pw, &HashScheme::default()).unwrap();
    g.bench_function("argon2id_default", |b| {
        b.iter(|| verify(black_box(&stored), pw, &VerifyPolicy::default()))
    });
    g.finish();
}

fn scram_exchange(c: &mut Criterion) {
    let secrets = ScramSecrets::generate(b"pencil", 4096).unwrap();
    // Server side only: the client's proof is computed once, outside the loop.
    let mut g = c.benchmark_group("sasl");
    g.bench_function("scram_server_steps_wrong_proof", |b| {
        b.iter(|| {
            let mut s = SaslServer::new(Mechanism::ScramSha256).unwrap();
            let _ = s.start(Some(b"n,,n=user,r=abcdefghijklmnop")).unwrap();
            let Progress::Challenge(first) = s.scram_secrets(Some(&secrets)).unwrap() else {
                unreachable!()
            };
            let first = String::from_utf8(first).unwrap();
            let nonce = first.split(',').next().unwrap();
            let fin = format!("c=biws,{nonce},p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
            black_box(s.step(fin.as_bytes()).unwrap_err())
        })
    });
    g.bench_function("plain_parse", |b| {
        b.iter(|| {
            let mut s = SaslServer::new(Mechanism::Plain).unwrap();
            black_box(s.start(Some(b"\0user@example.com\0secret")).unwrap())
        })
    });
    g.finish();
}

fn database(c: &mut Criterion) {
    let mut text = String::new();
    for i in 0..100_000 {
        text.push_str(&format!(
            "user{i}@example.com:{{SHA512-CRYPT}}$6$abcdefgh$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx:5000:5000::/var/vmail/{i}::userdb_quota_rule=*:storage=1G\n"
        ));
    }
    let mut g = c.benchmark_group("passwd_file");
    g.sample_size(10);
    g.bench_function("parse_100k_users", |b| {
        b.iter(|| PasswdFile::parse(black_box(text.as_bytes())).unwrap())
    });
    let db = PasswdFile::parse(text.as_bytes()).unwrap();
    g.bench_function("lookup", |b| {
        b.iter(|| black_box(db.get(black_box("User77777@example.com"))))
    });
    g.bench_function("render_100k_users", |b| b.iter(|| black_box(db.to_bytes())));
    g.finish();

    let mut t = Throttle::new(ThrottleConfig::default());
    let mut n = 0u32;
    c.bench_function("throttle/record_failure_and_check", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            let ip = IpAddr::V4(Ipv4Addr::from(n));
            t.record_failure(ip, "victim", u64::from(n));
            black_box(t.check(ip, "victim", u64::from(n)))
        })
    });
}

criterion_group!(benches, hashing, scram_exchange, database);
criterion_main!(benches);
