//! App passwords: several named, revocable extra passwords per user, for
//! mail clients that cannot do OAuth (as large providers offer). Each is a
//! random password the server generates and shows once; the passwd-file
//! keeps only its hash, in an extra field `postcore_app_<name>=<hash>`, so
//! the file stays a valid Dovecot passwd-file (Dovecot ignores the field).
//!
//! They are random and long (100 bits), so a fast salted hash is enough:
//! SHA512-CRYPT with its default rounds (a few milliseconds), not Argon2.
//! They work for PLAIN/LOGIN (IMAP LOGIN, POP3 PASS, SMTP AUTH), not for
//! SCRAM, which needs secrets derived from one known password.

use super::entry::{FieldError, UserEntry};
use crate::scheme::{HashError, HashScheme, hash_password};

/// Extra-field prefix of app passwords.
pub const APP_PASSWORD_PREFIX: &str = "postcore_app_";
/// App passwords one user may have: each is tried on a login that the main
/// password did not match, so their number bounds a login's cost.
pub const MAX_APP_PASSWORDS: usize = 16;
const MAX_NAME_LEN: usize = 32;
/// Alphabet without look-alikes (no 0/o, 1/l/i), 32 symbols: 5 bits each.
const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789-";

#[derive(Debug, thiserror::Error)]
pub enum AppPasswordError {
    #[error("app password name must be 1-{MAX_NAME_LEN} letters, digits, '-' or '_'")]
    BadName,
    #[error("an app password named {0:?} exists already")]
    Exists(String),
    #[error("no app password named {0:?}")]
    NoSuch(String),
    #[error("at most {MAX_APP_PASSWORDS} app passwords per user")]
    TooMany,
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("no random numbers: {0}")]
    Random(String),
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A new random app password: 20 symbols (100 bits) in groups of four,
/// e.g. `kx3m-9qpt-...`; the dashes are part of it.
pub fn generate() -> Result<String, AppPasswordError> {
    let mut raw = [0u8; 20];
    getrandom::fill(&mut raw).map_err(|e| AppPasswordError::Random(e.to_string()))?;
    let mut out = String::with_capacity(24);
    for (i, b) in raw.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        // 31 symbols without '-' keep the groups readable.
        out.push(ALPHABET[usize::from(*b) % 31] as char);
    }
    Ok(out)
}

impl UserEntry {
    /// The user's app passwords: (name, stored hash).
    pub fn app_passwords(&self) -> impl Iterator<Item = (&str, &str)> {
        self.extra_fields().filter_map(|(k, v)| {
            let name = k.strip_prefix(APP_PASSWORD_PREFIX)?;
            Some((name, v?))
        })
    }

    /// Stores a hash of `password` as app password `name`. Blocking CPU
    /// work (one SHA512-CRYPT).
    pub fn add_app_password(
        &mut self,
        name: &str,
        password: &[u8],
    ) -> Result<(), AppPasswordError> {
        if !valid_name(name) {
            return Err(AppPasswordError::BadName);
        }
        if self.app_passwords().any(|(n, _)| n == name) {
            return Err(AppPasswordError::Exists(name.to_string()));
        }
        if self.app_passwords().count() >= MAX_APP_PASSWORDS {
            return Err(AppPasswordError::TooMany);
        }
        let hash = hash_password(password, &HashScheme::Sha512Crypt { rounds: 5000 })?;
        self.set_extra(&format!("{APP_PASSWORD_PREFIX}{name}"), &hash)?;
        Ok(())
    }

    /// Removes app password `name`; from then on it no longer logs in.
    pub fn revoke_app_password(&mut self, name: &str) -> Result<(), AppPasswordError> {
        if self.remove_extra(&format!("{APP_PASSWORD_PREFIX}{name}")) {
            Ok(())
        } else {
            Err(AppPasswordError::NoSuch(name.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passwd_file::PasswdFile;
    use crate::scheme::{VerifyPolicy, verify};

    #[test]
    fn add_list_verify_revoke_round_trip() {
        let mut db =
            PasswdFile::parse(b"ann:{PLAIN}x:1000:1000::/home/ann::userdb_quota=1G\n").unwrap();
        let e = db.get_mut("ann").unwrap();
        let pw = generate().unwrap();
        assert_eq!(pw.len(), 24);
        assert_eq!(pw.matches('-').count(), 4);
        e.add_app_password("phone", pw.as_bytes()).unwrap();
        e.add_app_password("laptop_2", b"other").unwrap();
        assert!(matches!(
            e.add_app_password("phone", b"x"),
            Err(AppPasswordError::Exists(_))
        ));
        assert!(matches!(
            e.add_app_password("bad name", b"x"),
            Err(AppPasswordError::BadName)
        ));
        let text = String::from_utf8(db.to_bytes()).unwrap();
        // The admin's own extra field survives, and the file parses again.
        assert!(text.contains("userdb_quota=1G"), "{text}");
        let db2 = PasswdFile::parse(text.as_bytes()).unwrap();
        let e2 = db2.get("ann").unwrap();
        let names: Vec<&str> = e2.app_passwords().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["phone", "laptop_2"]);
        let hash = e2.app_passwords().find(|(n, _)| *n == "phone").unwrap().1;
        assert!(verify(hash, pw.as_bytes(), &VerifyPolicy::default()).unwrap());
        assert!(!verify(hash, b"guess", &VerifyPolicy::default()).unwrap());
        let mut db3 = db2.clone();
        let e3 = db3.get_mut("ann").unwrap();
        e3.revoke_app_password("phone").unwrap();
        assert!(matches!(
            e3.revoke_app_password("phone"),
            Err(AppPasswordError::NoSuch(_))
        ));
        assert_eq!(e3.app_passwords().count(), 1);
    }

    #[test]
    fn the_number_is_bounded() {
        let mut db = PasswdFile::parse(b"ann:{PLAIN}x\n").unwrap();
        let e = db.get_mut("ann").unwrap();
        for i in 0..MAX_APP_PASSWORDS {
            e.add_app_password(&format!("a{i}"), b"pw").unwrap();
        }
        assert!(matches!(
            e.add_app_password("one-more", b"pw"),
            Err(AppPasswordError::TooMany)
        ));
    }

    #[test]
    fn generated_passwords_differ_and_use_the_alphabet() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
    }
}
