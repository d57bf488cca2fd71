//! SCRAM-SHA-256 stored secrets (RFC 5802 / RFC 7677) in Dovecot's
//! `{SCRAM-SHA-256}` notation: `iterations,base64(salt),base64(StoredKey),base64(ServerKey)`.
//!
//! These let the server run the SCRAM-SHA-256 SASL mechanism without knowing
//! the password, and also check a clear-text password (PLAIN/LOGIN) by
//! recomputing the keys.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

use super::{HashError, Scheme, VerifyError, random_bytes};

type HmacSha256 = Hmac<Sha256>;

/// Iterations for newly made secrets: Dovecot's default and RFC 7677's
/// minimum recommendation. Every SCRAM client computes this many PBKDF2
/// rounds on each login, which limits how high it can reasonably go.
pub const DEFAULT_ITERATIONS: u32 = 4096;
/// Most iterations a stored secret may carry; more is refused rather than
/// computed (it would stall a thread and every client).
pub const MAX_ITERATIONS: u32 = 1_000_000;
/// Longest stored salt in bytes.
pub const MAX_SALT_LEN: usize = 256;

/// Why stored SCRAM secrets could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScramError {
    #[error("expected 4 comma-separated fields: iterations,salt,storedkey,serverkey")]
    FieldCount,
    #[error("iteration count is not a number between 1 and {MAX_ITERATIONS}")]
    Iterations,
    #[error("salt is not valid base64 of 1..={MAX_SALT_LEN} bytes")]
    Salt,
    #[error("{0} is not base64 of 32 bytes")]
    Key(&'static str),
}

/// The per-user secrets SCRAM-SHA-256 needs.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramSecrets {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl std::fmt::Debug for ScramSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramSecrets")
            .field("iterations", &self.iterations)
            .field("salt_len", &self.salt.len())
            .finish_non_exhaustive()
    }
}

pub(crate) fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so new_from_slice cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length"); // ok: infallible
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn decode_key(s: &str, what: &'static str) -> Result<[u8; 32], ScramError> {
    STANDARD
        .decode(s)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
        .ok_or(ScramError::Key(what))
}

impl ScramSecrets {
    /// Derives the secrets from a password (RFC 5802 section 3):
    /// SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, i),
    /// StoredKey = H(HMAC(SaltedPassword, "Client Key")),
    /// ServerKey = HMAC(SaltedPassword, "Server Key").
    ///
    /// The password is used as given, without SASLprep (Dovecot does the
    /// same); ASCII passwords are unaffected. Blocking CPU work.
    pub fn derive(password: &[u8], salt: &[u8], iterations: u32) -> Result<Self, HashError> {
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(HashError::Params {
                scheme: "SCRAM-SHA-256",
                reason: format!("iterations must be 1..={MAX_ITERATIONS}"),
            });
        }
        if salt.is_empty() || salt.len() > MAX_SALT_LEN {
            return Err(HashError::Params {
                scheme: "SCRAM-SHA-256",
                reason: format!("salt must be 1..={MAX_SALT_LEN} bytes"),
            });
        }
        let salted = salted_password(password, salt, iterations);
        let client_key = hmac(&salted, &[b"Client Key"]);
        Ok(ScramSecrets {
            iterations,
            salt: salt.to_vec(),
            stored_key: sha256(&client_key),
            server_key: hmac(&salted, &[b"Server Key"]),
        })
    }

    /// Derives secrets with a fresh random 16-byte salt.
    pub fn generate(password: &[u8], iterations: u32) -> Result<Self, HashError> {
        let salt: [u8; 16] = random_bytes()?;
        Self::derive(password, &salt, iterations)
    }

    /// Reads Dovecot's `iterations,salt,storedkey,serverkey` (without the
    /// `{SCRAM-SHA-256}` prefix).
    pub fn parse(s: &str) -> Result<Self, ScramError> {
        let mut fields = s.trim().split(',');
        let (Some(iter), Some(salt), Some(stored), Some(server), None) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(ScramError::FieldCount);
        };
        let iterations: u32 = iter.parse().map_err(|_| ScramError::Iterations)?;
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(ScramError::Iterations);
        }
        let salt = STANDARD.decode(salt).map_err(|_| ScramError::Salt)?;
        if salt.is_empty() || salt.len() > MAX_SALT_LEN {
            return Err(ScramError::Salt);
        }
        Ok(ScramSecrets {
            iterations,
            salt,
            stored_key: decode_key(stored, "StoredKey")?,
            server_key: decode_key(server, "ServerKey")?,
        })
    }

    /// Dovecot's notation, without the `{SCRAM-SHA-256}` prefix.
    pub fn to_dovecot(&self) -> String {
        format!(
            "{},{},{},{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(self.stored_key),
            STANDARD.encode(self.server_key)
        )
    }

    /// Checks a clear-text password by recomputing both keys. Blocking CPU work.
    pub fn verify_password(&self, password: &[u8]) -> Result<bool, VerifyError> {
        let other = Self::derive(password, &self.salt, self.iterations)
            .map_err(|e| VerifyError::malformed(Scheme::ScramSha256, e.to_string()))?;
        let stored_ok = other.stored_key.ct_eq(&self.stored_key);
        let server_ok = other.server_key.ct_eq(&self.server_key);
        Ok((stored_ok & server_ok).into())
    }
}

fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
    out
}
