//! One user line of a passwd-file: `user:password:uid:gid:gecos:home:shell:extra_fields`.

use crate::scheme::{HashError, HashScheme, ScramError, ScramSecrets, hash_password};
use crate::username::{Username, UsernameError};

/// Extra field where postcore keeps SCRAM-SHA-256 secrets next to a
/// password hash of another scheme (value in Dovecot's `{SCRAM-SHA-256}`
/// notation without the prefix). Dovecot ignores passdb extra fields it does
/// not know, so the line stays usable by Dovecot.
pub const SCRAM_EXTRA_FIELD: &str = "postcore_scram_sha_256";

/// Number of `:`-separated fields before `extra_fields`.
const FIXED_FIELDS: usize = 7;

/// A user line. Fields are kept as written (including empty and absent
/// trailing ones), so an entry that is not changed renders byte for byte
/// as it was read. `Debug` leaves out the password field and extra fields
/// (they hold hashes and SCRAM keys, which do not belong in logs).
#[derive(Clone, PartialEq, Eq)]
pub struct UserEntry {
    name: Username,
    /// The user name as written in the file (may differ from `name` in case).
    written_name: String,
    /// password, uid, gid, gecos, home, shell, extra: only as many as the
    /// line had. `extra` may itself contain `:`.
    fields: Vec<String>,
}

impl std::fmt::Debug for UserEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.password().map(|p| {
            p.strip_prefix('{')
                .and_then(|r| r.split_once('}'))
                .map_or("CRYPT", |(n, _)| n)
        });
        f.debug_struct("UserEntry")
            .field("name", &self.written_name)
            .field("scheme", &scheme)
            .field("uid", &self.uid())
            .field("gid", &self.gid())
            .field("home", &self.home())
            .finish_non_exhaustive()
    }
}

impl UserEntry {
    /// A new entry with only user name and password field (e.g. from
    /// [`crate::scheme::hash_password`]), written in canonical lower case.
    pub fn new(name: Username, password_field: impl Into<String>) -> Self {
        UserEntry {
            written_name: name.as_str().to_string(),
            name,
            fields: vec![password_field.into()],
        }
    }

    /// Parses a line (without its line terminator).
    pub(crate) fn parse(line: &str) -> Result<Self, UsernameError> {
        let mut parts = line.splitn(FIXED_FIELDS + 1, ':');
        let written_name = parts.next().unwrap_or_default();
        let name = Username::new(written_name)?;
        Ok(UserEntry {
            name,
            written_name: written_name.to_string(),
            fields: parts.map(str::to_string).collect(),
        })
    }

    pub(crate) fn render_into(&self, out: &mut String) {
        out.push_str(&self.written_name);
        for f in &self.fields {
            out.push(':');
            out.push_str(f);
        }
    }

    /// The canonical user name (the lookup key).
    pub fn username(&self) -> &Username {
        &self.name
    }

    /// The user name exactly as the file writes it.
    pub fn written_username(&self) -> &str {
        &self.written_name
    }

    fn field(&self, i: usize) -> Option<&str> {
        self.fields
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    fn set_field(&mut self, i: usize, value: String) {
        while self.fields.len() <= i {
            self.fields.push(String::new());
        }
        if let Some(f) = self.fields.get_mut(i) {
            *f = value;
        }
    }

    /// The password field (`{SCHEME}data`), `None` when absent or empty.
    /// Check it with [`crate::scheme::verify`].
    pub fn password(&self) -> Option<&str> {
        self.field(0)
    }
    pub fn uid(&self) -> Option<&str> {
        self.field(1)
    }
    pub fn gid(&self) -> Option<&str> {
        self.field(2)
    }
    pub fn gecos(&self) -> Option<&str> {
        self.field(3)
    }
    pub fn home(&self) -> Option<&str> {
        self.field(4)
    }
    pub fn shell(&self) -> Option<&str> {
        self.field(5)
    }
    /// The raw extra fields text.
    pub fn extra_raw(&self) -> Option<&str> {
        self.field(6)
    }

    /// Replaces the password field. Refuses values that would break the
    /// line (`:` or a line break).
    ///
    /// SCRAM secrets in the [`SCRAM_EXTRA_FIELD`] extra field belong to the
    /// old password and are removed, so the old password cannot keep working
    /// through SCRAM-SHA-256; add new ones with [`Self::set_scram_secrets`]
    /// (or use [`Self::set_new_password`], which does both).
    pub fn set_password(&mut self, password_field: impl Into<String>) -> Result<(), FieldError> {
        let v = password_field.into();
        check_field(&v, ":\r\n")?;
        self.set_field(0, v);
        self.remove_extra(SCRAM_EXTRA_FIELD);
        Ok(())
    }

    /// Hashes `password` with `scheme` into the password field and, when
    /// `scram_iterations` is given, stores matching SCRAM-SHA-256 secrets so
    /// every SASL mechanism works. What `postcore user add` / `user passwd`
    /// call. Blocking CPU work.
    pub fn set_new_password(
        &mut self,
        password: &[u8],
        scheme: &HashScheme,
        scram_iterations: Option<u32>,
    ) -> Result<(), HashError> {
        let field = hash_password(password, scheme)?;
        // hash_password writes `{NAME}` and crypt/PHC/base64 text: no `:` or line break.
        self.set_password(field).map_err(|e| HashError::Params {
            scheme: "passwd-file",
            reason: e.to_string(),
        })?;
        let scram_main = matches!(scheme, HashScheme::ScramSha256 { .. });
        if let Some(iterations) = scram_iterations
            && !scram_main
        {
            self.set_scram_secrets(&ScramSecrets::generate(password, iterations)?);
        }
        Ok(())
    }

    /// Sets the home directory field.
    pub fn set_home(&mut self, home: impl Into<String>) -> Result<(), FieldError> {
        let v = home.into();
        check_field(&v, ":\r\n")?;
        self.set_field(4, v);
        Ok(())
    }

    /// Extra fields as `(key, value)`; a bare `key` has value `None`
    /// (Dovecot's boolean fields such as `nodelay`).
    pub fn extra_fields(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.extra_raw()
            .unwrap_or_default()
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(|t| match t.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (t, None),
            })
    }

    /// The value of extra field `key` (first occurrence).
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extra_fields()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v)
    }

    /// Sets extra field `key=value`, replacing an existing one in place and
    /// keeping every other field as written.
    pub fn set_extra(&mut self, key: &str, value: &str) -> Result<(), FieldError> {
        check_field(key, " =:\r\n")?;
        check_field(value, " \r\n")?;
        if key.is_empty() {
            return Err(FieldError::Forbidden('='));
        }
        let mut replaced = false;
        let mut tokens: Vec<String> = Vec::new();
        for t in self.extra_raw().unwrap_or_default().split(' ') {
            if t.is_empty() {
                continue;
            }
            let k = t.split_once('=').map_or(t, |(k, _)| k);
            if k == key {
                if !replaced {
                    tokens.push(format!("{key}={value}"));
                    replaced = true;
                }
            } else {
                tokens.push(t.to_string());
            }
        }
        if !replaced {
            tokens.push(format!("{key}={value}"));
        }
        self.set_field(6, tokens.join(" "));
        Ok(())
    }

    /// Removes extra field `key`; returns whether it was there.
    pub fn remove_extra(&mut self, key: &str) -> bool {
        let Some(raw) = self.extra_raw() else {
            return false;
        };
        let mut found = false;
        let kept: Vec<&str> = raw
            .split(' ')
            .filter(|t| !t.is_empty())
            .filter(|t| {
                let k = t.split_once('=').map_or(*t, |(k, _)| k);
                let hit = k == key;
                found |= hit;
                !hit
            })
            .collect();
        if found {
            let joined = kept.join(" ");
            self.set_field(6, joined);
        }
        found
    }

    /// SCRAM-SHA-256 secrets for this user: from the password field when its
    /// scheme is `{SCRAM-SHA-256}`, else from the [`SCRAM_EXTRA_FIELD`] extra
    /// field. `None` when the user has none (SCRAM login is then impossible).
    pub fn scram_secrets(&self) -> Option<Result<ScramSecrets, ScramError>> {
        if let Some(pw) = self.password()
            && let Some(rest) = pw.strip_prefix('{')
            && let Some((name, data)) = rest.split_once('}')
            && name.eq_ignore_ascii_case("SCRAM-SHA-256")
        {
            return Some(ScramSecrets::parse(data));
        }
        self.extra(SCRAM_EXTRA_FIELD).map(ScramSecrets::parse)
    }

    /// Stores SCRAM-SHA-256 secrets in the [`SCRAM_EXTRA_FIELD`] extra field.
    pub fn set_scram_secrets(&mut self, secrets: &ScramSecrets) {
        // The Dovecot notation is digits, base64 and commas: always a valid value.
        let _ = self.set_extra(SCRAM_EXTRA_FIELD, &secrets.to_dovecot());
    }
}

/// A value that cannot be stored in a passwd-file field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("the value contains {0:?}, which the passwd-file format cannot hold there")]
    Forbidden(char),
}

fn check_field(v: &str, forbidden: &str) -> Result<(), FieldError> {
    match v.chars().find(|c| forbidden.contains(*c) || *c == '\0') {
        Some(c) => Err(FieldError::Forbidden(c)),
        None => Ok(()),
    }
}
