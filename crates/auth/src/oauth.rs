//! Bearer tokens for OAUTHBEARER and XOAUTH2: JWTs checked against one
//! configured public key.
//!
//! postcore does not talk to the identity provider: it trusts a token that is
//! signed by the provider's key, issued by the configured issuer for the
//! configured audience, and inside its validity window. The user name is
//! read from one claim (`email` by default) and folded like every other
//! user name ([`crate::username`]), so `Ann@Example.org` in the token logs
//! in as `ann@example.org`. The server must still check that this user
//! exists in its user database.
//!
//! The algorithm follows from the key (never from the token): an RSA key
//! accepts RS256, a P-256 key ES256, an Ed25519 key EdDSA. Tokens with any
//! other `alg`, including `none` and HMAC, are refused.
//!
//! Checking a token is pure CPU work without I/O (one signature
//! verification, well under a millisecond in release builds), so the server
//! may do it on its executor.
//!
//! ```
//! use auth::oauth::{OAuthConfig, TokenValidator};
//! let pem = include_str!("../tests/keys/ed.pub");
//! let v = TokenValidator::new(&OAuthConfig::new(pem, "https://idp.example.org", "postcore"))?;
//! // Made by PyJWT (see tests/oauth.rs); expires in 2100.
//! let token = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLm9yZyIsImF1ZCI6InBvc3Rjb3JlIiwiZW1haWwiOiJBbm5ARXhhbXBsZS5vcmciLCJzdWIiOiJhbm4tMSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjo0MTAyNDQ0ODAwfQ.pB3Scm1CY4AsUlPmvVs80krYIA0VfZiQbMYwlvNM5MRYFwMJfu92Pd9pYxZnMUU6a3Gj4D0TSO7TCBpCaJflCg";
//! assert_eq!(v.validate(token, std::time::SystemTime::now())?.as_str(), "ann@example.org");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, Validation};
use serde_json::Value;
use thiserror::Error;

use crate::username::{Username, UsernameError};

/// Longest token accepted, in bytes. Provider tokens are a few KiB at most;
/// this also bounds the JSON the JWT library parses.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The claim the user name is read from unless configured otherwise.
pub const DEFAULT_USERNAME_CLAIM: &str = "email";

/// Clock skew tolerated on `exp` and `nbf`, in seconds, unless configured
/// otherwise.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// Longest leeway accepted: more would make `exp` meaningless.
pub const MAX_LEEWAY_SECS: u64 = 3600;

/// How tokens are checked. Built once into a [`TokenValidator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// The provider's public key as PEM text (`-----BEGIN PUBLIC KEY-----`,
    /// SubjectPublicKeyInfo; `openssl pkey -pubout` writes it). RSA (2048
    /// bits or more), EC P-256 or Ed25519. Reading a key file is the
    /// caller's job.
    pub public_key_pem: String,
    /// Required value of the `iss` claim.
    pub issuer: String,
    /// Required value (or member, when a list) of the `aud` claim.
    pub audience: String,
    /// The claim holding the user name: `email` (default), `sub`,
    /// `preferred_username` or any other string claim.
    pub username_claim: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds (default 60, at
    /// most [`MAX_LEEWAY_SECS`]).
    pub leeway_secs: u64,
    /// Scope named in the error sent to a client whose token was refused
    /// (RFC 7628 §3.2.2), e.g. `https://mail.example.org/`. Optional.
    pub scope: Option<String>,
    /// The provider's OpenID discovery URL, also named in that error so a
    /// client can fetch a new token. Optional.
    pub openid_configuration: Option<String>,
}

impl OAuthConfig {
    /// A configuration with the default claim, leeway and no scope.
    pub fn new(
        public_key_pem: impl Into<String>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        OAuthConfig {
            public_key_pem: public_key_pem.into(),
            issuer: issuer.into(),
            audience: audience.into(),
            username_claim: DEFAULT_USERNAME_CLAIM.to_owned(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
            scope: None,
            openid_configuration: None,
        }
    }
}

/// Why a configuration could not be turned into a [`TokenValidator`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OAuthConfigError {
    #[error("the public key is not an RSA, EC or Ed25519 public key in PEM form: {0}")]
    BadKey(String),
    #[error("that is a private key: give postcore only the provider's public key")]
    PrivateKey,
    #[error("unsupported public key: {0}")]
    UnsupportedKey(&'static str),
    #[error("the issuer must not be empty")]
    EmptyIssuer,
    #[error("the audience must not be empty")]
    EmptyAudience,
    #[error("the user name claim must not be empty")]
    EmptyUsernameClaim,
    #[error("leeway of {0} s is more than the limit of {MAX_LEEWAY_SECS} s")]
    LeewayTooLong(u64),
}

/// Why a token was refused. Every variant means "authentication failed";
/// the detail is for the log, never for the client.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OAuthError {
    #[error("token is longer than {MAX_TOKEN_LEN} bytes")]
    TooLong,
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("token algorithm is not the one of the configured key")]
    WrongAlgorithm,
    #[error("token signature does not verify with the configured key")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token issuer is not the configured one")]
    WrongIssuer,
    #[error("token audience does not include the configured one")]
    WrongAudience,
    #[error("token lacks the claim {0:?}")]
    MissingClaim(String),
    #[error("token claim {0:?} has the wrong type")]
    BadClaim(String),
    #[error("user name in the token is invalid: {0}")]
    Username(#[from] UsernameError),
}

/// Checks tokens against one configuration. Build it once (the key is parsed
/// here) and share it between sessions (it is `Send + Sync`).
#[derive(Clone)]
pub struct TokenValidator {
    key: DecodingKey,
    algorithm: Algorithm,
    validation: Validation,
    username_claim: String,
    leeway_secs: u64,
    scope: Option<String>,
    openid_configuration: Option<String>,
}

impl std::fmt::Debug for TokenValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenValidator")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .field("username_claim", &self.username_claim)
            .field("leeway_secs", &self.leeway_secs)
            .finish_non_exhaustive()
    }
}

/// Length of an uncompressed P-256 point (0x04, x, y).
const P256_POINT_LEN: usize = 65;
/// Smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_LEN: usize = 256;

fn parse_key(pem: &str) -> Result<(DecodingKey, Algorithm), OAuthConfigError> {
    // The PEM decoder would take a private key's public half; refuse it so
    // a signing key does not end up on the mail servers by mistake.
    if pem.contains("PRIVATE KEY-----") {
        return Err(OAuthConfigError::PrivateKey);
    }
    let pem = pem.as_bytes();
    if let Ok(key) = DecodingKey::from_ed_pem(pem) {
        return Ok((key, Algorithm::EdDSA));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        // The PEM decoder does not tell the curves apart; the point size does.
        return match key.kind() {
            DecodingKeyKind::SecretOrDer(point) if point.len() == P256_POINT_LEN => {
                Ok((key, Algorithm::ES256))
            }
            _ => Err(OAuthConfigError::UnsupportedKey(
                "only the P-256 curve is supported for EC keys",
            )),
        };
    }
    match DecodingKey::from_rsa_pem(pem) {
        Ok(key) => {
            if rsa_modulus_len(&key).is_some_and(|n| n < MIN_RSA_MODULUS_LEN) {
                return Err(OAuthConfigError::UnsupportedKey(
                    "RSA keys shorter than 2048 bits are refused",
                ));
            }
            Ok((key, Algorithm::RS256))
        }
        Err(e) => Err(OAuthConfigError::BadKey(e.to_string())),
    }
}

/// The modulus length of a DER `RSAPublicKey` (SEQUENCE { INTEGER n, INTEGER e }),
/// without its sign byte; `None` if the DER is not shaped so.
fn rsa_modulus_len(key: &DecodingKey) -> Option<usize> {
    let DecodingKeyKind::SecretOrDer(der) = key.kind() else {
        return None;
    };
    // Skip the SEQUENCE header, then read the INTEGER's length.
    let rest = der_content(der, 0x30)?;
    let n = der_content(rest, 0x02)?;
    let n = n.strip_prefix(&[0]).unwrap_or(n);
    Some(n.len())
}

/// The content of the DER element of type `tag` at the start of `der`.
fn der_content(der: &[u8], tag: u8) -> Option<&[u8]> {
    let (&t, rest) = der.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(count)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    rest.get(..len)
}

impl TokenValidator {
    /// Parses the key and checks the configuration.
    pub fn new(config: &OAuthConfig) -> Result<Self, OAuthConfigError> {
        if config.issuer.is_empty() {
            return Err(OAuthConfigError::EmptyIssuer);
        }
        if config.audience.is_empty() {
            return Err(OAuthConfigError::EmptyAudience);
        }
        if config.username_claim.is_empty() {
            return Err(OAuthConfigError::EmptyUsernameClaim);
        }
        if config.leeway_secs > MAX_LEEWAY_SECS {
            return Err(OAuthConfigError::LeewayTooLong(config.leeway_secs));
        }
        let (key, algorithm) = parse_key(&config.public_key_pem)?;
        let mut validation = Validation::new(algorithm);
        // jsonwebtoken reads the system clock; time is checked below against
        // the caller's clock instead, so tests and replays are deterministic.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        Ok(TokenValidator {
            key,
            algorithm,
            validation,
            username_claim: config.username_claim.clone(),
            leeway_secs: config.leeway_secs,
            scope: config.scope.clone(),
            openid_configuration: config.openid_configuration.clone(),
        })
    }

    /// The one algorithm tokens must be signed with (from the key type).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Checks `token` (the compact JWT, without `Bearer `) as of `now` and
    /// returns the user it names, in canonical form.
    pub fn validate(&self, token: &str, now: SystemTime) -> Result<Username, OAuthError> {
        // A clock before 1970 is treated as 1970: every real token then
        // looks "not yet valid", which fails safe.
        let now = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.validate_at(token, now)
    }

    /// Like [`TokenValidator::validate`] with `now` in seconds since 1970.
    pub fn validate_at(&self, token: &str, now: u64) -> Result<Username, OAuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(OAuthError::TooLong);
        }
        let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(
            token,
            &self.key,
            &self.validation,
        )
        .map_err(map_jwt_error)?;
        let claims = data.claims;
        let exp = numeric_date(&claims, "exp")?
            .ok_or_else(|| OAuthError::MissingClaim("exp".to_owned()))?;
        // RFC 7519 §4.1.4: the token must not be accepted on or after `exp`.
        if now >= exp.saturating_add(self.leeway_secs) {
            return Err(OAuthError::Expired);
        }
        if let Some(nbf) = numeric_date(&claims, "nbf")?
            && now.saturating_add(self.leeway_secs) < nbf
        {
            return Err(OAuthError::NotYetValid);
        }
        match claims.get(&self.username_claim) {
            None | Some(Value::Null) => Err(OAuthError::MissingClaim(self.username_claim.clone())),
            Some(Value::String(name)) => Ok(Username::new(name)?),
            Some(_) => Err(OAuthError::BadClaim(self.username_claim.clone())),
        }
    }

    /// The JSON error (RFC 7628 §3.2.2) sent as the final challenge when a
    /// token is refused. `google` picks XOAUTH2's variant (status `401`).
    pub(crate) fn error_json(&self, google: bool) -> Vec<u8> {
        // Written by hand to keep RFC 7628's key order (status first), which
        // a serde_json map would sort; values go through serde_json for escaping.
        let status = if google { "401" } else { "invalid_token" };
        let mut out = format!(r#"{{"status":"{status}","schemes":"bearer""#);
        let fields = [
            ("scope", &self.scope),
            ("openid-configuration", &self.openid_configuration),
        ];
        for (key, value) in fields {
            if let Some(v) = value {
                out.push_str(&format!(r#","{key}":{}"#, Value::from(v.as_str())));
            }
        }
        out.push('}');
        out.into_bytes()
    }
}

/// A NumericDate claim (RFC 7519 §2): seconds since 1970, possibly
/// fractional (the fraction is dropped).
fn numeric_date(
    claims: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<u64>, OAuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => {
            if let Some(n) = v.as_u64() {
                return Ok(Some(n));
            }
            match v.as_f64() {
                // `as` saturates: a huge date stays huge, never wraps.
                Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f as u64)),
                _ => Err(OAuthError::BadClaim(name.to_owned())),
            }
        }
    }
}

fn map_jwt_error(e: jsonwebtoken::errors::Error) -> OAuthError {
    match e.kind() {
        ErrorKind::InvalidSignature => OAuthError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm => OAuthError::WrongAlgorithm,
        ErrorKind::InvalidIssuer => OAuthError::WrongIssuer,
        ErrorKind::InvalidAudience => OAuthError::WrongAudience,
        ErrorKind::ExpiredSignature => OAuthError::Expired,
        ErrorKind::ImmatureSignature => OAuthError::NotYetValid,
        ErrorKind::MissingRequiredClaim(c) => OAuthError::MissingClaim(c.clone()),
        ErrorKind::InvalidClaimFormat(c) => OAuthError::BadClaim(c.clone()),
        _ => OAuthError::Malformed(e.to_string()),
    }
}
