//! User names: what postcore accepts and how it compares them.
//!
//! postcore compares user names case-insensitively by folding ASCII letters to
//! lower case (`Alice@Example.COM` and `alice@example.com` are one user). Only
//! ASCII is folded, deliberately: Unicode case mappings change between Unicode
//! versions, and the folded name picks the user's home shard and directory, so
//! it must never change under a toolchain upgrade. Non-ASCII bytes are kept as
//! they are.
//!
//! Dovecot compares case-sensitively unless `auth_username_format` lowercases
//! (`%Lu`); postcore behaves like a Dovecot configured with `%Lu`.

use thiserror::Error;

/// Longest accepted user name in bytes (an e-mail address is at most 254).
pub const MAX_USERNAME_LEN: usize = 255;

/// Why a user name was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UsernameError {
    #[error("user name is empty")]
    Empty,
    #[error("user name is {0} bytes long, the limit is {MAX_USERNAME_LEN}")]
    TooLong(usize),
    #[error("user name contains the forbidden character {0:?}")]
    ForbiddenChar(char),
    #[error("user name must not start with '#' (it would read as a comment)")]
    LeadingHash,
    #[error("user name must not be \".\" or \"..\"")]
    DotName,
}

/// A validated user name in its canonical (ASCII-lowercased) form.
///
/// The canonical form is what the user database is keyed by and what the
/// server hashes to choose a home shard and names the user's directory with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

impl Username {
    /// Validates `name` and folds it to canonical form.
    ///
    /// Refused: empty, longer than [`MAX_USERNAME_LEN`] bytes, control
    /// characters (C0, DEL, C1), whitespace, `:` (the passwd-file separator),
    /// `/` and `\` (the name becomes a directory name), a leading `#`, and the
    /// names `.` and `..`.
    pub fn new(name: &str) -> Result<Self, UsernameError> {
        validate(name)?;
        Ok(Username(name.to_ascii_lowercase()))
    }

    /// Like [`Username::new`] for raw protocol bytes; bytes that are not UTF-8
    /// are refused as [`UsernameError::ForbiddenChar`] with U+FFFD.
    pub fn from_bytes(name: &[u8]) -> Result<Self, UsernameError> {
        match std::str::from_utf8(name) {
            Ok(s) => Self::new(s),
            Err(_) => Err(UsernameError::ForbiddenChar(char::REPLACEMENT_CHARACTER)),
        }
    }

    /// The canonical form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Consumes the name, giving back the canonical form.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

fn validate(name: &str) -> Result<(), UsernameError> {
    if name.is_empty() {
        return Err(UsernameError::Empty);
    }
    if name.len() > MAX_USERNAME_LEN {
        return Err(UsernameError::TooLong(name.len()));
    }
    if name.starts_with('#') {
        return Err(UsernameError::LeadingHash);
    }
    if name == "." || name == ".." {
        return Err(UsernameError::DotName);
    }
    if let Some(c) = name
        .chars()
        .find(|&c| c.is_control() || c.is_whitespace() || matches!(c, ':' | '/' | '\\'))
    {
        return Err(UsernameError::ForbiddenChar(c));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_ascii_case_only() {
        assert_eq!(
            Username::new("Alice@Example.COM").unwrap().as_str(),
            "alice@example.com"
        );
        // Non-ASCII letters are kept: their folding is not stable across Unicode versions.
        assert_eq!(Username::new("ÄNNE").unwrap().as_str(), "Änne");
        assert_eq!(Username::new("Bob").unwrap(), Username::new("bOB").unwrap());
    }

    #[test]
    fn refuses_bad_names() {
        assert_eq!(Username::new(""), Err(UsernameError::Empty));
        assert_eq!(Username::new("a:b"), Err(UsernameError::ForbiddenChar(':')));
        assert_eq!(Username::new("a/b"), Err(UsernameError::ForbiddenChar('/')));
        assert_eq!(
            Username::new("a\\b"),
            Err(UsernameError::ForbiddenChar('\\'))
        );
        assert_eq!(Username::new("a b"), Err(UsernameError::ForbiddenChar(' ')));
        assert_eq!(
            Username::new("a\tb"),
            Err(UsernameError::ForbiddenChar('\t'))
        );
        assert_eq!(
            Username::new("a\0b"),
            Err(UsernameError::ForbiddenChar('\0'))
        );
        assert_eq!(
            Username::new("a\u{85}b"),
            Err(UsernameError::ForbiddenChar('\u{85}'))
        );
        assert_eq!(Username::new("#root"), Err(UsernameError::LeadingHash));
        assert_eq!(Username::new(".."), Err(UsernameError::DotName));
        assert_eq!(Username::new("."), Err(UsernameError::DotName));
        assert!(Username::new("..a").is_ok());
        let long = "a".repeat(MAX_USERNAME_LEN + 1);
        assert_eq!(
            Username::new(&long),
            Err(UsernameError::TooLong(MAX_USERNAME_LEN + 1))
        );
        assert!(Username::new(&long[1..]).is_ok());
        assert_eq!(
            Username::from_bytes(b"a\xffb"),
            Err(UsernameError::ForbiddenChar(char::REPLACEMENT_CHARACTER))
        );
    }
}
