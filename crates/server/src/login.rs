//! The protocol-neutral part of a password login: throttling per IP and
//! user, the password check off the executor, and the delay after a
//! failure. IMAP and POP3 wrap the outcome in their own responses.

use crate::metrics::{LoginProto, Mech};
use crate::shard::Shard;
use crate::users::{LoginOutcome, verify_login};
use auth::throttle::Decision;
use std::net::IpAddr;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// The canonical user name.
    Ok(String),
    Failed,
    /// Too many recent failures: refused without checking the password.
    Locked,
}

/// Where a login came from and how it proved itself, for the metrics.
#[derive(Debug, Clone, Copy)]
pub struct Via(pub LoginProto, pub Mech);

/// Called before answering pending output is flushed, since a login can
/// wait for seconds (throttle delay, failure delay).
pub async fn password_login(
    shard: &Shard,
    via: Via,
    ip: IpAddr,
    user: &str,
    password: Vec<u8>,
) -> Login {
    let decision = shard.throttle.borrow().check(ip, user, Shard::now_ms());
    match decision {
        Decision::Locked { retry_after_ms } => {
            tracing::warn!(user, %ip, retry_after_ms, "login refused: locked out after repeated failures");
            shard.metrics.login(via.0, via.1, false);
            return Login::Locked;
        }
        Decision::Allow { delay_ms } if delay_ms > 0 => {
            glommio::timer::sleep(Duration::from_millis(delay_ms)).await;
        }
        Decision::Allow { .. } => {}
    }
    let policy = auth::scheme::VerifyPolicy {
        allow_plain_scheme: shard.cfg.auth.allow_plain_scheme,
    };
    match verify_login(&shard.users, user, password, policy).await {
        LoginOutcome::Ok(name) => {
            shard
                .throttle
                .borrow_mut()
                .record_success(ip, &name, Shard::now_ms());
            succeeded(shard, via);
            Login::Ok(name)
        }
        LoginOutcome::Failed => {
            failed(shard, via, ip, Some(user)).await;
            Login::Failed
        }
    }
}

/// Counts a login whose credentials were accepted without a password
/// check here (SCRAM, OAuth, APOP); `password_login` counts its own.
pub fn succeeded(shard: &Shard, via: Via) {
    shard.metrics.login(via.0, via.1, true);
}

/// Records a failed authentication (also a failed SASL exchange) and waits
/// the configured delay.
pub async fn failed(shard: &Shard, via: Via, ip: IpAddr, user: Option<&str>) {
    shard.metrics.login(via.0, via.1, false);
    let d = shard
        .throttle
        .borrow_mut()
        .record_failure(ip, user.unwrap_or(""), Shard::now_ms());
    tracing::info!(user = user.unwrap_or(""), %ip, "login failed");
    if let Decision::Locked { .. } = d {
        tracing::warn!(user = user.unwrap_or(""), %ip, "locked out after repeated failures");
    }
    glommio::timer::sleep(Duration::from_millis(shard.cfg.auth.failure_delay_ms)).await;
}

/// May a password cross this connection? (TLS, or plain text where the
/// configuration allows it.)
pub fn plaintext_allowed(shard: &Shard, tls: bool, peer: IpAddr) -> bool {
    use crate::config::PlaintextAuth;
    if tls {
        return true;
    }
    match shard.cfg.auth.plaintext_auth {
        PlaintextAuth::Always => true,
        PlaintextAuth::Never => false,
        PlaintextAuth::Loopback => peer.is_loopback(),
    }
}

/// Base64 of a SASL challenge.
pub fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// A client's base64 SASL response (`=` is the empty response); None when
/// it is not valid base64.
pub fn base64_decode(b: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    if b == b"=" {
        return Some(Vec::new());
    }
    base64::engine::general_purpose::STANDARD.decode(b).ok()
}

/// SASL mechanisms offered on a connection: SCRAM always; PLAIN, LOGIN and
/// (when configured) the bearer-token mechanisms only where a secret may
/// cross (`protected`: TLS or the plaintext policy allows it).
pub fn sasl_mechanisms(shard: &Shard, protected: bool) -> Vec<&'static str> {
    let mut m = Vec::with_capacity(5);
    if protected {
        m.push("PLAIN");
        m.push("LOGIN");
    }
    m.push("SCRAM-SHA-256");
    if protected && shard.oauth.is_some() {
        m.push("OAUTHBEARER");
        m.push("XOAUTH2");
    }
    m
}

/// A SASL server for `mech`, with the token validator for OAUTHBEARER and
/// XOAUTH2. None when the mechanism is not available here.
pub fn sasl_server(shard: &Shard, mech: auth::sasl::Mechanism) -> Option<auth::sasl::SaslServer> {
    use auth::sasl::{OAuthServer, SaslServer};
    if mech.uses_token() {
        let v = shard.oauth.as_ref()?;
        return OAuthServer::new(mech, std::sync::Arc::clone(v))
            .ok()
            .map(SaslServer::with_oauth);
    }
    SaslServer::new(mech).ok()
}

/// After a SASL exchange that proved an identity without a password
/// (SCRAM, a bearer token): the user must still exist here.
pub fn known_user(shard: &Shard, user: &str) -> bool {
    shard.users.load().get(user).is_some()
}
