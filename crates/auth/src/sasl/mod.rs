//! SASL server mechanisms as pure state machines: PLAIN (RFC 4616), LOGIN
//! (draft-murchison-sasl-login), SCRAM-SHA-256 (RFC 5802, RFC 7677),
//! OAUTHBEARER (RFC 7628) and XOAUTH2.
//!
//! The server decodes the client's base64 and feeds the bytes in; it gets
//! back a [`Progress`] telling it what to do next. Base64 and the protocol
//! framing (`AUTHENTICATE`, `+ `, `*` to cancel, SASL-IR's `=`) are the
//! server's job; everything inside the decoded messages is checked here.
//!
//! ```text
//! let mut sasl = SaslServer::new(Mechanism::ScramSha256)?;
//! let mut p = sasl.start(initial_response)?;
//! loop {
//!     match p {
//!         Progress::Challenge(c) => p = sasl.step(&send_and_read(c))?,
//!         Progress::NeedScramSecrets { username } => {
//!             p = sasl.scram_secrets(db.get(username.as_str()).and_then(|u| u.scram_secrets()?.ok()).as_ref())?
//!         }
//!         Progress::VerifyPassword(creds) => { /* verify off-executor, answer OK or NO */ break }
//!         Progress::Authenticated { username } => { /* answer OK */ break }
//!     }
//! }
//! ```
//!
//! OAUTHBEARER and XOAUTH2 need a [`crate::oauth::TokenValidator`]: build
//! the machine with [`SaslServer::with_oauth`] (an [`OAuthServer`]);
//! [`SaslServer::new`] refuses them with [`SaslError::NeedsTokenValidator`].
//! The token is checked inside the machine (a signature verification, no
//! I/O), so the loop above works unchanged: a good token ends in
//! `Authenticated` (the user named by the token; the server must still
//! check that this user exists), a bad one in the RFC 7628 error challenge
//! and then an error.
//!
//! Every error is a failed authentication: answer `NO` (IMAP) / `-ERR`
//! (POP3), count it in the [`crate::throttle`], and drop the machine.

mod oauth;
mod plain;
mod scram;

pub use oauth::OAuthServer;
pub use scram::ScramServer;

use thiserror::Error;

use crate::oauth::OAuthError;
use crate::secret::Secret;
use crate::username::{Username, UsernameError};

/// Longest client response accepted, in bytes (after base64 decoding).
pub const MAX_RESPONSE_LEN: usize = 8 * 1024;

/// A SASL mechanism postcore offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    Plain,
    Login,
    ScramSha256,
    OAuthBearer,
    XOAuth2,
}

impl Mechanism {
    /// All mechanisms, strongest first (the order to advertise them in).
    pub const ALL: [Mechanism; 5] = [
        Mechanism::ScramSha256,
        Mechanism::OAuthBearer,
        Mechanism::XOAuth2,
        Mechanism::Plain,
        Mechanism::Login,
    ];

    /// The IANA name, as advertised in `AUTH=` / `SASL`.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::XOAuth2 => "XOAUTH2",
        }
    }

    /// Looks a mechanism up by name, case-insensitively.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// Whether the password crosses the wire in clear text (PLAIN, LOGIN).
    /// False for OAUTHBEARER and XOAUTH2, but their bearer token is a secret
    /// too: gate offering a mechanism on [`Mechanism::needs_protection`].
    pub fn sends_clear_password(self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::Login)
    }

    /// Whether whoever reads the exchange can log in with what they saw
    /// (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2): such mechanisms are offered
    /// only under TLS, on loopback, or when the plaintext policy allows.
    pub fn needs_protection(self) -> bool {
        !matches!(self, Mechanism::ScramSha256)
    }

    /// Whether the mechanism carries a bearer token (OAUTHBEARER, XOAUTH2)
    /// and so needs [`SaslServer::with_oauth`].
    pub fn uses_token(self) -> bool {
        matches!(self, Mechanism::OAuthBearer | Mechanism::XOAuth2)
    }
}

/// A user name and password to check (PLAIN and LOGIN).
#[derive(Debug)]
pub struct Credentials {
    /// The authentication identity, in canonical form.
    pub username: Username,
    pub password: Secret,
}

/// What the server does next.
#[derive(Debug)]
#[must_use]
pub enum Progress {
    /// Send this challenge (base64-encoded) and pass the client's next
    /// response to [`SaslServer::step`].
    Challenge(Vec<u8>),
    /// PLAIN/LOGIN are done: check the password (blocking CPU work, off the
    /// executor) and answer. The machine accepts no further input.
    VerifyPassword(Credentials),
    /// SCRAM: fetch this user's [`crate::scheme::ScramSecrets`] and hand them
    /// to [`SaslServer::scram_secrets`] (`None` if the user does not exist or
    /// has no SCRAM secrets; the exchange then runs on with a made-up salt
    /// and fails at the end, so the reply does not reveal whether the user
    /// exists).
    NeedScramSecrets { username: Username },
    /// SCRAM succeeded: the client proved knowledge of the password and has
    /// acknowledged the server's signature; or OAUTHBEARER/XOAUTH2 got a
    /// valid token naming this user. Answer OK.
    Authenticated { username: Username },
}

/// Why an exchange failed. All of them mean "authentication failed".
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SaslError {
    #[error("malformed SASL message: {0}")]
    Malformed(&'static str),
    #[error("SASL message is not valid UTF-8")]
    NotUtf8,
    #[error("SASL message is longer than the limit")]
    TooLong,
    #[error("invalid user name: {0}")]
    Username(#[from] UsernameError),
    #[error("authorization identity differs from the authentication identity (no master users)")]
    AuthzidNotPermitted,
    #[error("channel binding is not supported")]
    ChannelBindingNotSupported,
    #[error("mandatory SCRAM extension is not supported")]
    UnsupportedExtension,
    #[error("authentication failed")]
    AuthenticationFailed,
    #[error("the SASL exchange is already finished or not at this step")]
    UnexpectedStep,
    #[error("the system random number generator failed: {0}")]
    Random(String),
    #[error("bearer token refused: {0}")]
    Token(#[from] OAuthError),
    #[error("OAUTHBEARER and XOAUTH2 need a configured token validator")]
    NeedsTokenValidator,
}

#[derive(Debug)]
enum State {
    PlainStart,
    PlainAwaitResponse,
    LoginStart,
    LoginAwaitUser,
    LoginAwaitPassword(Username),
    Scram(Box<ScramServer>),
    OAuth(Box<OAuthServer>),
    Done,
}

/// One authentication exchange on the server side.
#[derive(Debug)]
pub struct SaslServer {
    state: State,
}

impl SaslServer {
    /// A new exchange. For SCRAM-SHA-256 a random server nonce and a
    /// process-wide fake-salt key are used; see [`ScramServer`] to supply
    /// them yourself.
    pub fn new(mechanism: Mechanism) -> Result<Self, SaslError> {
        let state = match mechanism {
            Mechanism::Plain => State::PlainStart,
            Mechanism::Login => State::LoginStart,
            Mechanism::ScramSha256 => State::Scram(Box::new(ScramServer::new()?)),
            Mechanism::OAuthBearer | Mechanism::XOAuth2 => {
                return Err(SaslError::NeedsTokenValidator);
            }
        };
        Ok(SaslServer { state })
    }

    /// A SCRAM-SHA-256 exchange driven by a prepared [`ScramServer`].
    pub fn with_scram(scram: ScramServer) -> Self {
        SaslServer {
            state: State::Scram(Box::new(scram)),
        }
    }

    /// An OAUTHBEARER or XOAUTH2 exchange driven by a prepared [`OAuthServer`].
    pub fn with_oauth(oauth: OAuthServer) -> Self {
        SaslServer {
            state: State::OAuth(Box::new(oauth)),
        }
    }

    /// Begins the exchange. `initial_response` is the decoded SASL-IR
    /// (`Some(b"")` for IMAP's `=`), or `None` when the client sent none.
    pub fn start(&mut self, initial_response: Option<&[u8]>) -> Result<Progress, SaslError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::PlainStart => match initial_response {
                None => {
                    self.state = State::PlainAwaitResponse;
                    Ok(Progress::Challenge(Vec::new()))
                }
                Some(ir) => plain::parse(ir).map(Progress::VerifyPassword),
            },
            State::LoginStart => match initial_response {
                // Some clients send the user name as initial response.
                Some(ir) if !ir.is_empty() => self.login_user(ir),
                _ => {
                    self.state = State::LoginAwaitUser;
                    Ok(Progress::Challenge(b"Username:".to_vec()))
                }
            },
            State::Scram(mut s) => match initial_response {
                Some(ir) if !ir.is_empty() => {
                    let p = s.client_first(ir)?;
                    self.state = State::Scram(s);
                    Ok(p)
                }
                _ => {
                    self.state = State::Scram(s);
                    Ok(Progress::Challenge(Vec::new()))
                }
            },
            State::OAuth(mut o) => {
                let p = o.start(initial_response)?;
                self.state = State::OAuth(o);
                Ok(p)
            }
            _ => Err(SaslError::UnexpectedStep),
        }
    }

    /// Feeds the client's (decoded) response to the last challenge.
    pub fn step(&mut self, response: &[u8]) -> Result<Progress, SaslError> {
        if response.len() > MAX_RESPONSE_LEN {
            self.state = State::Done;
            return Err(SaslError::TooLong);
        }
        match std::mem::replace(&mut self.state, State::Done) {
            State::PlainAwaitResponse => plain::parse(response).map(Progress::VerifyPassword),
            State::LoginAwaitUser => self.login_user(response),
            State::LoginAwaitPassword(username) => {
                plain::check_password(response)?;
                Ok(Progress::VerifyPassword(Credentials {
                    username,
                    password: Secret::from(response),
                }))
            }
            State::Scram(mut s) => {
                let p = s.step(response)?;
                if !matches!(p, Progress::Authenticated { .. }) {
                    self.state = State::Scram(s);
                }
                Ok(p)
            }
            State::OAuth(mut o) => {
                let p = o.step(response)?;
                if !matches!(p, Progress::Authenticated { .. }) {
                    self.state = State::OAuth(o);
                }
                Ok(p)
            }
            _ => Err(SaslError::UnexpectedStep),
        }
    }

    /// Hands over the SCRAM secrets asked for by [`Progress::NeedScramSecrets`].
    pub fn scram_secrets(
        &mut self,
        secrets: Option<&crate::scheme::ScramSecrets>,
    ) -> Result<Progress, SaslError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Scram(mut s) => {
                let p = s.server_first(secrets)?;
                self.state = State::Scram(s);
                Ok(p)
            }
            _ => Err(SaslError::UnexpectedStep),
        }
    }

    fn login_user(&mut self, name: &[u8]) -> Result<Progress, SaslError> {
        if name.len() > MAX_RESPONSE_LEN {
            return Err(SaslError::TooLong);
        }
        let name = std::str::from_utf8(name).map_err(|_| SaslError::NotUtf8)?;
        let username = Username::new(name)?;
        self.state = State::LoginAwaitPassword(username);
        Ok(Progress::Challenge(b"Password:".to_vec()))
    }
}

#[cfg(test)]
mod tests;
