//! Password schemes in Dovecot's `{SCHEME}data` notation: verifying a client's
//! password against a stored value, and hashing new passwords.
//!
//! Verifying and hashing are deliberately slow (that is what makes a stolen
//! password file expensive to attack): they are blocking CPU work of tens of
//! milliseconds. The server must run them off its glommio executors (a
//! dedicated thread pool), never inline in a session task.
//!
//! | Scheme | Verify | Hash | Notes |
//! | --- | --- | --- | --- |
//! | `ARGON2ID` | yes | yes (default) | PHC string `$argon2id$v=19$m=..,t=..,p=..$salt$hash` |
//! | `ARGON2I` | yes | no | PHC string |
//! | `SHA512-CRYPT`, `SHA256-CRYPT` | yes | yes | `$6$` / `$5$` crypt strings, `rounds=` honoured |
//! | `BLF-CRYPT` | yes | yes | bcrypt `$2y$`, `$2b$`, `$2a$`, `$2x$` |
//! | `CRYPT` (and no prefix) | yes | no | autodetected from the `$id$` prefix of the above |
//! | `SCRAM-SHA-256` | yes | yes | `iterations,salt,StoredKey,ServerKey` (base64) |
//! | `SSHA512`, `SSHA256` | yes | no | base64(digest ‖ salt); `.HEX` suffix accepted |
//! | `SHA512`, `SHA256` | yes | no | base64 or hex digest; `.HEX`/`.B64` suffix accepted |
//! | `PLAIN`, `CLEAR`, `CLEARTEXT` | only if [`VerifyPolicy::allow_plain_scheme`] | no | |
//!
//! Not supported (verification reports [`VerifyError::UnsupportedScheme`]):
//! `MD5-CRYPT` (`$1$`, also libpam `password[34]`), `DES-CRYPT`, `PLAIN-MD5`
//! and the other legacy Dovecot schemes.
//!
//! Secrets are compared in constant time (`subtle`), either here or inside
//! the RustCrypto / bcrypt crates doing the hashing.

mod argon2id;
mod crypt;
pub mod scram;
mod sha;

pub use argon2id::Argon2Params;
pub use scram::{ScramError, ScramSecrets};

use thiserror::Error;

/// A password scheme postcore knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Argon2id,
    Argon2i,
    Sha512Crypt,
    Sha256Crypt,
    BlfCrypt,
    Crypt,
    ScramSha256,
    Ssha512,
    Ssha256,
    Sha512,
    Sha256,
    Plain,
}

impl Scheme {
    /// Dovecot's name for the scheme (what goes between the braces).
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Argon2id => "ARGON2ID",
            Scheme::Argon2i => "ARGON2I",
            Scheme::Sha512Crypt => "SHA512-CRYPT",
            Scheme::Sha256Crypt => "SHA256-CRYPT",
            Scheme::BlfCrypt => "BLF-CRYPT",
            Scheme::Crypt => "CRYPT",
            Scheme::ScramSha256 => "SCRAM-SHA-256",
            Scheme::Ssha512 => "SSHA512",
            Scheme::Ssha256 => "SSHA256",
            Scheme::Sha512 => "SHA512",
            Scheme::Sha256 => "SHA256",
            Scheme::Plain => "PLAIN",
        }
    }

    /// Looks a scheme up by name, case-insensitively (Dovecot does the same).
    /// `Ok(None)` is a name Dovecot knows that postcore does not support.
    fn lookup(name: &str) -> Result<Option<Scheme>, VerifyError> {
        let upper = name.to_ascii_uppercase();
        let scheme = match upper.as_str() {
            "ARGON2ID" => Scheme::Argon2id,
            "ARGON2I" => Scheme::Argon2i,
            "SHA512-CRYPT" => Scheme::Sha512Crypt,
            "SHA256-CRYPT" => Scheme::Sha256Crypt,
            "BLF-CRYPT" => Scheme::BlfCrypt,
            "CRYPT" => Scheme::Crypt,
            "SCRAM-SHA-256" => Scheme::ScramSha256,
            "SSHA512" => Scheme::Ssha512,
            "SSHA256" => Scheme::Ssha256,
            "SHA512" => Scheme::Sha512,
            "SHA256" => Scheme::Sha256,
            "PLAIN" | "CLEAR" | "CLEARTEXT" => Scheme::Plain,
            "MD5-CRYPT" | "DES-CRYPT" | "MD5" | "SMD5" | "PLAIN-MD5" | "LDAP-MD5" | "SHA"
            | "SHA1" | "SSHA" | "PLAIN-MD4" | "CRAM-MD5" | "HMAC-MD5" | "DIGEST-MD5"
            | "PLAIN-TRUNC" | "SCRAM-SHA-1" | "PBKDF2" | "OTP" | "LANMAN" | "NTLM" | "RPA"
            | "SKEY" => {
                return Ok(None);
            }
            _ => return Err(VerifyError::UnknownScheme(name.to_string())),
        };
        Ok(Some(scheme))
    }
}

/// How the data of a digest scheme is encoded (Dovecot's `.HEX` / `.B64` suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Default,
    Hex,
    Base64,
}

/// Settings that change what verification accepts.
#[derive(Debug, Clone, Default)]
pub struct VerifyPolicy {
    /// Accept `{PLAIN}` (clear text) stored passwords. Off by default: a
    /// clear-text password in the file is refused with
    /// [`VerifyError::PlainSchemeDisabled`] so an admin notices.
    pub allow_plain_scheme: bool,
}

/// Why a stored password could not be checked. A wrong password is not an
/// error: [`verify`] returns `Ok(false)` for it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    #[error("unknown password scheme {{{0}}}")]
    UnknownScheme(String),
    #[error("password scheme {0} is not supported by postcore")]
    UnsupportedScheme(String),
    #[error("the {{PLAIN}} password scheme is disabled (allow_plain_scheme)")]
    PlainSchemeDisabled,
    #[error("the account has no password set")]
    NoPassword,
    #[error("the account is locked (password field starts with '!' or '*')")]
    Locked,
    #[error("stored {scheme} password is malformed: {reason}")]
    Malformed {
        scheme: &'static str,
        reason: String,
    },
    #[error("stored {scheme} password asks for more work than the limit: {reason}")]
    TooCostly {
        scheme: &'static str,
        reason: String,
    },
}

impl VerifyError {
    fn malformed(scheme: Scheme, reason: impl Into<String>) -> Self {
        VerifyError::Malformed {
            scheme: scheme.name(),
            reason: reason.into(),
        }
    }
}

/// Why a new hash could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HashError {
    #[error("the system random number generator failed: {0}")]
    Random(String),
    #[error("invalid {scheme} parameters: {reason}")]
    Params {
        scheme: &'static str,
        reason: String,
    },
    #[error("{0} cannot be used to hash new passwords")]
    NotForHashing(&'static str),
    #[error("password is {0} bytes long; the limit is {MAX_PASSWORD_LEN}")]
    PasswordTooLong(usize),
}

/// Longest password accepted for hashing and verification, in bytes. Longer
/// passwords are refused before any hashing so they cannot be used to make
/// the server do unbounded work.
pub const MAX_PASSWORD_LEN: usize = 4096;

/// A password field split into scheme and data, without verifying anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredPassword<'a> {
    scheme: Scheme,
    encoding: Encoding,
    data: &'a str,
}

impl<'a> StoredPassword<'a> {
    /// Parses a passwd-file password field: `{SCHEME}data`, `{SCHEME.HEX}data`,
    /// bare `data` (Dovecot's default scheme, CRYPT) or libpam-pwdfile's
    /// `data[13]` (CRYPT).
    pub fn parse(field: &'a str) -> Result<Self, VerifyError> {
        if field.is_empty() {
            return Err(VerifyError::NoPassword);
        }
        if let Some(rest) = field.strip_prefix('{')
            && let Some(end) = rest.find('}')
        {
            let (full_name, data) = (&rest[..end], &rest[end + 1..]);
            let (name, encoding) = match full_name.rsplit_once('.') {
                Some((n, enc)) if enc.eq_ignore_ascii_case("HEX") => (n, Encoding::Hex),
                Some((n, enc))
                    if enc.eq_ignore_ascii_case("B64") || enc.eq_ignore_ascii_case("BASE64") =>
                {
                    (n, Encoding::Base64)
                }
                _ => (full_name, Encoding::Default),
            };
            return match Scheme::lookup(name)? {
                Some(scheme) => Ok(StoredPassword {
                    scheme,
                    encoding,
                    data,
                }),
                None => Err(VerifyError::UnsupportedScheme(name.to_ascii_uppercase())),
            };
        }
        if let Some(data) = field.strip_suffix("[13]") {
            return Ok(StoredPassword {
                scheme: Scheme::Crypt,
                encoding: Encoding::Default,
                data,
            });
        }
        if field.ends_with("[34]") {
            return Err(VerifyError::UnsupportedScheme("MD5-CRYPT".into()));
        }
        Ok(StoredPassword {
            scheme: Scheme::Crypt,
            encoding: Encoding::Default,
            data: field,
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The part after `{SCHEME}`.
    pub fn data(&self) -> &'a str {
        self.data
    }

    /// Checks `password` against this stored value. Blocking CPU work.
    pub fn verify(&self, password: &[u8], policy: &VerifyPolicy) -> Result<bool, VerifyError> {
        if password.len() > MAX_PASSWORD_LEN {
            // Refusing to hash is safe: no stored password can be this long.
            return Ok(false);
        }
        match self.scheme {
            Scheme::Argon2id | Scheme::Argon2i => {
                argon2id::verify(self.scheme, self.data, password)
            }
            Scheme::Sha512Crypt | Scheme::Sha256Crypt | Scheme::BlfCrypt => {
                crypt::verify_expecting(self.scheme, self.data, password)
            }
            Scheme::Crypt => crypt::verify_autodetect(self.data, password),
            Scheme::ScramSha256 => ScramSecrets::parse(self.data)
                .map_err(|e| VerifyError::malformed(Scheme::ScramSha256, e.to_string()))?
                .verify_password(password),
            Scheme::Ssha512 | Scheme::Ssha256 | Scheme::Sha512 | Scheme::Sha256 => {
                sha::verify(self.scheme, self.encoding, self.data, password)
            }
            Scheme::Plain => {
                if !policy.allow_plain_scheme {
                    return Err(VerifyError::PlainSchemeDisabled);
                }
                use subtle::ConstantTimeEq;
                Ok(self.data.as_bytes().ct_eq(password).into())
            }
        }
    }
}

/// Checks `password` against a stored password field (see
/// [`StoredPassword::parse`]). `Ok(false)` is a wrong password.
///
/// Blocking CPU work (up to tens of milliseconds): run it off the executor.
pub fn verify(stored: &str, password: &[u8], policy: &VerifyPolicy) -> Result<bool, VerifyError> {
    StoredPassword::parse(stored)?.verify(password, policy)
}

/// Argon2id hash with the default cost, of a password nobody has (made with
/// the `argon2` CLI: `echo -n postcore-no-such-user | argon2
/// postcore-dummy-salt -id -t 2 -k 19456 -p 1 -e`).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$cG9zdGNvcmUtZHVtbXktc2FsdA$YqdrWg2LjjF3gm/teXgUZYZf3uhx2fnYZM2w7NQJ01M";

/// Spends the time a real verification with the default scheme would, and
/// always fails. Call it for a user that does not exist (or has no
/// password) so the reply time does not tell an attacker which user names
/// exist. Blocking CPU work.
pub fn verify_unknown_user(password: &[u8]) -> bool {
    // The dummy is well-formed and its password is not guessable: `false` either way.
    let _ = argon2id::verify(Scheme::Argon2id, DUMMY_HASH, password);
    false
}

/// Scheme used for new passwords and its cost settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashScheme {
    Argon2id(Argon2Params),
    Sha512Crypt { rounds: u32 },
    Sha256Crypt { rounds: u32 },
    BlfCrypt { cost: u32 },
    ScramSha256 { iterations: u32 },
}

impl Default for HashScheme {
    fn default() -> Self {
        HashScheme::Argon2id(Argon2Params::default())
    }
}

/// Hashes a new password, returning the complete password field, e.g.
/// `{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$...`. Uses a fresh random salt.
///
/// Blocking CPU work (see [`Argon2Params::default`] for the measured cost).
pub fn hash_password(password: &[u8], scheme: &HashScheme) -> Result<String, HashError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(HashError::PasswordTooLong(password.len()));
    }
    match scheme {
        HashScheme::Argon2id(params) => {
            Ok(format!("{{ARGON2ID}}{}", argon2id::hash(password, params)?))
        }
        HashScheme::Sha512Crypt { rounds } => Ok(format!(
            "{{SHA512-CRYPT}}{}",
            crypt::hash_sha_crypt(Scheme::Sha512Crypt, password, *rounds)?
        )),
        HashScheme::Sha256Crypt { rounds } => Ok(format!(
            "{{SHA256-CRYPT}}{}",
            crypt::hash_sha_crypt(Scheme::Sha256Crypt, password, *rounds)?
        )),
        HashScheme::BlfCrypt { cost } => Ok(format!(
            "{{BLF-CRYPT}}{}",
            crypt::hash_bcrypt(password, *cost)?
        )),
        HashScheme::ScramSha256 { iterations } => Ok(format!(
            "{{SCRAM-SHA-256}}{}",
            ScramSecrets::generate(password, *iterations)?.to_dovecot()
        )),
    }
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], HashError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| HashError::Random(e.to_string()))?;
    Ok(buf)
}

#[cfg(test)]
mod tests;
