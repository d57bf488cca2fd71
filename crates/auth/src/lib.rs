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

pub mod oauth;
pub mod passwd_file;
pub mod sasl;
pub mod scheme;
pub mod secret;
pub mod throttle;
pub mod username;
