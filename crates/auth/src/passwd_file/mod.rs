//! Dovecot's passwd-file user database, parsed from and rendered to bytes.
//!
//! Format (one user per line): `user:password:uid:gid:gecos:home:shell:extra_fields`.
//! Every field after the password is optional; `extra_fields` is a
//! space-separated list of `key=value` (or bare `key`) and may contain `:`.
//! Blank lines and lines starting with `#` are ignored. The password field
//! is `{SCHEME}data` or bare crypt(3) data (see [`crate::scheme`]).
//!
//! Rewriting keeps the admin's file intact: comments, blank lines, line
//! order, CRLF line ends, unknown extra fields and the exact text of every
//! line that was not changed survive a parse/modify/render cycle.
//!
//! User names are compared after ASCII lowercasing ([`Username`]). Two lines
//! whose names differ only in case are therefore the same user, and such a
//! file is refused with both line numbers (Dovecot would silently use one).
//!
//! No I/O here; [`fs`] has a `std::fs` load/save for the CLI.

pub mod app_password;
mod entry;
pub mod fs;

pub use entry::{FieldError, SCRAM_EXTRA_FIELD, UserEntry};

use std::collections::HashMap;

use thiserror::Error;

use crate::username::{Username, UsernameError};

/// Longest accepted line in bytes.
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// A line of the file that failed to parse; `line` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("passwd-file line {line}: {kind}")]
pub struct ParseError {
    pub line: usize,
    pub kind: ParseErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseErrorKind {
    #[error("the line is not valid UTF-8")]
    NotUtf8,
    #[error("the line is longer than {MAX_LINE_LEN} bytes")]
    TooLong,
    #[error("invalid user name: {0}")]
    Username(#[from] UsernameError),
    #[error(
        "user {user:?} is already defined on line {first_line} (names are compared case-insensitively)"
    )]
    Duplicate { user: String, first_line: usize },
}

/// Why a change to the database was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DbError {
    #[error("user {0:?} already exists")]
    Exists(String),
    #[error("user {0:?} does not exist")]
    NotFound(String),
    #[error("invalid user name: {0}")]
    Username(#[from] UsernameError),
    #[error(transparent)]
    Field(#[from] FieldError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    /// Comment, blank line: kept verbatim.
    Verbatim(String),
    User(UserEntry),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    body: Body,
    /// The line ended in `\r\n` rather than `\n`.
    crlf: bool,
}

/// An in-memory passwd-file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswdFile {
    lines: Vec<Line>,
    /// Canonical user name → index into `lines`.
    index: HashMap<String, usize>,
    /// The last line had no line terminator.
    no_final_newline: bool,
}

impl PasswdFile {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a whole file.
    pub fn parse(data: &[u8]) -> Result<Self, ParseError> {
        let mut db = PasswdFile::new();
        if data.is_empty() {
            return Ok(db);
        }
        let mut raw_lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        // split() yields an empty piece after a final '\n'.
        if raw_lines.last().is_some_and(|l| l.is_empty()) {
            raw_lines.pop();
        } else {
            db.no_final_newline = true;
        }
        let count = raw_lines.len();
        for (i, raw) in raw_lines.into_iter().enumerate() {
            let line_no = i + 1;
            let terminated = line_no < count || !db.no_final_newline;
            let err = |kind| ParseError {
                line: line_no,
                kind,
            };
            let (raw, crlf) = match raw.strip_suffix(b"\r") {
                Some(r) if terminated => (r, true),
                _ => (raw, false),
            };
            if raw.len() > MAX_LINE_LEN {
                return Err(err(ParseErrorKind::TooLong));
            }
            let text = std::str::from_utf8(raw).map_err(|_| err(ParseErrorKind::NotUtf8))?;
            let body = if text.trim().is_empty() || text.starts_with('#') {
                Body::Verbatim(text.to_string())
            } else {
                let entry = UserEntry::parse(text).map_err(|e| err(e.into()))?;
                let key = entry.username().as_str().to_string();
                if let Some(&first) = db.index.get(&key) {
                    return Err(err(ParseErrorKind::Duplicate {
                        user: entry.written_username().to_string(),
                        first_line: first + 1,
                    }));
                }
                db.index.insert(key, db.lines.len());
                Body::User(entry)
            };
            db.lines.push(Line { body, crlf });
        }
        Ok(db)
    }

    /// Renders the file. Unchanged lines come out exactly as they were read.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        let last = self.lines.len().saturating_sub(1);
        for (i, line) in self.lines.iter().enumerate() {
            match &line.body {
                Body::Verbatim(t) => out.push_str(t),
                Body::User(e) => e.render_into(&mut out),
            }
            if i == last && self.no_final_newline {
                break;
            }
            out.push_str(if line.crlf { "\r\n" } else { "\n" });
        }
        out.into_bytes()
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn position(&self, name: &str) -> Option<usize> {
        let key = Username::new(name).ok()?;
        self.index.get(key.as_str()).copied()
    }

    /// Looks a user up by name (case-insensitively, see [`Username`]). An
    /// invalid name is simply not found.
    pub fn get(&self, name: &str) -> Option<&UserEntry> {
        match &self.lines.get(self.position(name)?)?.body {
            Body::User(e) => Some(e),
            Body::Verbatim(_) => None,
        }
    }

    /// Mutable access to a user, for changes other than the password.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut UserEntry> {
        let pos = self.position(name)?;
        match &mut self.lines.get_mut(pos)?.body {
            Body::User(e) => Some(e),
            Body::Verbatim(_) => None,
        }
    }

    /// All users in file order.
    pub fn users(&self) -> impl Iterator<Item = &UserEntry> {
        self.lines.iter().filter_map(|l| match &l.body {
            Body::User(e) => Some(e),
            Body::Verbatim(_) => None,
        })
    }

    /// Appends a new user. Refuses a name that exists (in any case).
    pub fn add(&mut self, entry: UserEntry) -> Result<(), DbError> {
        let key = entry.username().as_str().to_string();
        if self.index.contains_key(&key) {
            return Err(DbError::Exists(key));
        }
        // Keep the file's line-end style for new lines.
        let crlf = self.lines.last().is_some_and(|l| l.crlf);
        self.index.insert(key, self.lines.len());
        // A file whose last line lacked '\n' gets one now, and so does the new line.
        self.no_final_newline = false;
        self.lines.push(Line {
            body: Body::User(entry),
            crlf,
        });
        Ok(())
    }

    /// Replaces a user's password field (e.g. with the output of
    /// [`crate::scheme::hash_password`]). Other fields are kept, except stale
    /// SCRAM secrets (see [`UserEntry::set_password`]).
    pub fn set_password(&mut self, name: &str, password_field: &str) -> Result<(), DbError> {
        let entry = self
            .get_mut(name)
            .ok_or_else(|| DbError::NotFound(name.to_string()))?;
        entry.set_password(password_field)?;
        Ok(())
    }

    /// Removes a user and returns the entry. Comments stay where they are.
    pub fn remove(&mut self, name: &str) -> Result<UserEntry, DbError> {
        let pos = self
            .position(name)
            .ok_or_else(|| DbError::NotFound(name.to_string()))?;
        let line = self.lines.remove(pos);
        for idx in self.index.values_mut() {
            if *idx > pos {
                *idx -= 1;
            }
        }
        match line.body {
            Body::User(e) => {
                self.index.remove(e.username().as_str());
                Ok(e)
            }
            Body::Verbatim(_) => Err(DbError::NotFound(name.to_string())),
        }
    }
}

#[cfg(test)]
mod tests;
