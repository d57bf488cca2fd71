//! Authentication for postcore: who may log in, and how they prove it.
//!
//! - [`passwd_file`]: a Dovecot-compatible passwd-file user database, parsed
//!   from and rendered to bytes without losing the admin's comments or
//!   unknown fields (plus [`passwd_file::fs`], a blocking load/save for the CLI).
//! - [`scheme`]: Dovecot password schemes (`{ARGON2ID}`, `{SHA512-CRYPT}`,
//!   `{BLF-CRYPT}`, `{SCRAM-SHA-256}`, ...): [`scheme::verify`] and
//!   [`scheme::hash_password`].
//! - [`sasl`]: PLAIN, LOGIN, SCRAM-SHA-256, OAUTHBEARER and XOAUTH2 server
//!   state machines.
//! - [`oauth`]: bearer tokens (JWTs) checked against a configured public key.
//! - [`throttle`]: per-IP and per-user failure delays and lockouts.
//! - [`username`]: validation and ASCII case folding of user names; the
//!   folded name keys the database and picks the user's home shard.
//!
//! The crate does no I/O apart from [`passwd_file::fs`]. Hashing and
//! verifying passwords is blocking CPU work (tens of milliseconds by
//! design): the server must run it off its executors.
//!
//! # Login with PLAIN or LOGIN
//!
//! For a user that does not exist, call [`scheme::verify_unknown_user`] so
//! the answer takes as long as for a real one; count failures in a
//! [`throttle::Throttle`].
//!
//! ```
//! use auth::{passwd_file::PasswdFile, sasl::*, scheme::{verify, VerifyPolicy}};
//! // doveadm pw -s SHA256-CRYPT -p 'correct horse'
//! let db = PasswdFile::parse(b"ann:{SHA256-CRYPT}$5$IdHS4d2ceKPsJvnN$9a1/X26CrAK16equN2a4pUaDDR6HSwbirnQJXEmtZJ/\n")?;
//! let mut sasl = SaslServer::new(Mechanism::Plain)?;
//! let Progress::VerifyPassword(creds) = sasl.start(Some(b"\0Ann\0correct horse"))? else { panic!() };
//! let user = db.get(creds.username.as_str()).expect("known user");
//! let stored = user.password().unwrap_or_default();
//! assert!(verify(stored, creds.password.as_bytes(), &VerifyPolicy::default())?); // off-executor
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Adding a user that can use every mechanism (the CLI)
//!
//! The password field gets an `{ARGON2ID}` hash (for PLAIN/LOGIN) and the
//! [`passwd_file::SCRAM_EXTRA_FIELD`] extra field gets SCRAM-SHA-256
//! secrets (SCRAM cannot work from an Argon2 hash):
//!
//! ```
//! use auth::{passwd_file::{PasswdFile, UserEntry}, scheme::*, username::Username};
//! let mut db = PasswdFile::new();
//! let cheap = HashScheme::Argon2id(Argon2Params { memory_kib: 64, time_cost: 1, parallelism: 1 });
//! let mut entry = UserEntry::new(Username::new("Ann")?, hash_password(b"pw", &cheap)?);
//! entry.set_scram_secrets(&ScramSecrets::generate(b"pw", scram::DEFAULT_ITERATIONS)?);
//! db.add(entry)?;
//! assert!(String::from_utf8(db.to_bytes())?.starts_with("ann:{ARGON2ID}$argon2id$"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Login with a bearer token (OAUTHBEARER, XOAUTH2)
//!
//! The server needs, per listener or globally, this configuration (a
//! suggested `[oauth]` section; every field maps to [`oauth::OAuthConfig`]):
//!
//! ```text
//! [oauth]
//! public_key_file = "/etc/postcore/idp.pub"   # PEM "PUBLIC KEY": RSA >= 2048 bits, P-256 or Ed25519
//! issuer = "https://idp.example.org"          # required `iss`
//! audience = "postcore"                       # required in `aud`
//! username_claim = "email"                    # or "sub", "preferred_username", ...
//! leeway_secs = 60                            # clock skew on exp/nbf, at most 3600
//! scope = "https://mail.example.org/"         # optional, named in the error JSON
//! openid_configuration = "https://idp.example.org/.well-known/openid-configuration"  # optional
//! ```
//!
//! Wiring: read the key file at start-up (off the executors), build one
//! [`oauth::TokenValidator`], share it as an `Arc`. Advertise `AUTH=OAUTHBEARER
//! AUTH=XOAUTH2` (IMAP) / `SASL OAUTHBEARER XOAUTH2` (POP3) only when it is
//! configured, and like PLAIN only where [`sasl::Mechanism::needs_protection`]
//! allows (TLS, loopback or the plaintext policy): a bearer token is as good
//! as a password while it lives. Per exchange:
//! `SaslServer::with_oauth(OAuthServer::new(mech, validator.clone())?)`, then
//! the usual loop; `Progress::Authenticated { username }` names the token's
//! user, whom the server must still find in its user database (unknown user:
//! fail like a bad password). Errors are counted in the throttle like any
//! failed login. Checking a token costs one signature verification (about
//! 50 µs for EdDSA, 250 µs RS256, 420 µs ES256 in release builds on this
//! 2-core machine under load; `cargo bench -p postcore-auth --bench token`),
//! small enough for the executor; `SaslServer` is `Send` should the server
//! prefer its blocking pool.
//!
//! ```
//! use std::sync::Arc;
//! use auth::{oauth::*, sasl::*};
//! let cfg = OAuthConfig::new(include_str!("../tests/keys/ed.pub"), "https://idp.example.org", "postcore");
//! let validator = Arc::new(TokenValidator::new(&cfg)?);
//! let mut sasl = SaslServer::with_oauth(OAuthServer::new(Mechanism::OAuthBearer, validator)?);
//! // An expired or forged token gets the RFC 7628 JSON error as a challenge ...
//! let Progress::Challenge(json) = sasl.start(Some(b"n,,\x01auth=Bearer e30.e30.AAAA\x01\x01"))? else { panic!() };
//! assert!(json.starts_with(br#"{"status":"invalid_token""#));
//! // ... and the client's %x01 ends the exchange with the reason.
//! assert!(matches!(sasl.step(b"\x01"), Err(SaslError::Token(_))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod oauth;
pub mod passwd_file;
pub mod sasl;
pub mod scheme;
pub mod secret;
pub mod throttle;
pub mod username;
