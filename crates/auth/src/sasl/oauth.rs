//! OAUTHBEARER (RFC 7628) and XOAUTH2 (Google's older form) servers.
//!
//! OAUTHBEARER's message is a GS2 header and `\x01`-separated key=value
//! pairs: `n,a=user@example.org,\x01host=imap.example.org\x01port=993\x01auth=Bearer <token>\x01\x01`.
//! The GS2 flag may be `n` or `y` (postcore offers no channel binding);
//! `p=` is refused. The authzid (`a=`) is optional. XOAUTH2's message is
//! `user=<name>\x01auth=Bearer <token>\x01\x01`.
//!
//! The token is checked inside the machine by the [`TokenValidator`] it was
//! given (pure CPU, no I/O), so the server sees the same [`Progress`] as for
//! SCRAM: `Authenticated`, or an error. A refused token (or an authzid /
//! `user=` that names someone else than the token) is answered, as RFC 7628
//! §3.2.2 wants, with a challenge carrying a JSON error; the client then
//! sends `\x01` (OAUTHBEARER) or an empty response (XOAUTH2) and the
//! exchange fails with the reason ([`SaslError::Token`] or
//! [`SaslError::AuthzidNotPermitted`]).

use std::sync::Arc;
use std::time::SystemTime;

use super::{MAX_RESPONSE_LEN, Mechanism, Progress, SaslError};
use crate::oauth::TokenValidator;
use crate::username::Username;

#[derive(Debug)]
enum Stage {
    Start,
    AwaitMessage,
    /// The error challenge was sent; whatever comes next ends in this error.
    AwaitErrorAck(SaslError),
    Done,
}

/// The server side of one OAUTHBEARER or XOAUTH2 exchange.
#[derive(Debug)]
pub struct OAuthServer {
    google: bool,
    validator: Arc<TokenValidator>,
    /// `None`: the system clock at validation time.
    now: Option<SystemTime>,
    stage: Stage,
}

/// What a client message carried.
#[derive(Debug)]
struct ClientMessage<'a> {
    /// `a=` (OAUTHBEARER) or `user=` (XOAUTH2), if sent.
    authzid: Option<Username>,
    token: &'a str,
}

impl OAuthServer {
    /// An exchange for `mechanism` (OAUTHBEARER or XOAUTH2; other mechanisms
    /// give [`SaslError::UnexpectedStep`]) checking tokens with `validator`.
    pub fn new(mechanism: Mechanism, validator: Arc<TokenValidator>) -> Result<Self, SaslError> {
        let google = match mechanism {
            Mechanism::OAuthBearer => false,
            Mechanism::XOAuth2 => true,
            _ => return Err(SaslError::UnexpectedStep),
        };
        Ok(OAuthServer {
            google,
            validator,
            now: None,
            stage: Stage::Start,
        })
    }

    /// Checks `exp`/`nbf` against `now` instead of the system clock.
    pub fn at(mut self, now: SystemTime) -> Self {
        self.now = Some(now);
        self
    }

    pub(super) fn start(&mut self, initial_response: Option<&[u8]>) -> Result<Progress, SaslError> {
        if !matches!(self.stage, Stage::Start) {
            self.stage = Stage::Done;
            return Err(SaslError::UnexpectedStep);
        }
        match initial_response {
            Some(ir) if !ir.is_empty() => self.message(ir),
            _ => {
                self.stage = Stage::AwaitMessage;
                Ok(Progress::Challenge(Vec::new()))
            }
        }
    }

    pub(super) fn step(&mut self, response: &[u8]) -> Result<Progress, SaslError> {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::AwaitMessage => self.message(response),
            Stage::AwaitErrorAck(err) => {
                // RFC 7628 §3.2.3: the client answers the error with a lone
                // %x01; Google's XOAUTH2 clients send an empty response.
                // Anything else is a protocol error, and a failure either way.
                let ack_ok = if self.google {
                    response.is_empty() || response == b"\x01"
                } else {
                    response == b"\x01"
                };
                if ack_ok {
                    Err(err)
                } else {
                    Err(SaslError::Malformed(
                        "expected %x01 after the error challenge",
                    ))
                }
            }
            _ => Err(SaslError::UnexpectedStep),
        }
    }

    fn message(&mut self, msg: &[u8]) -> Result<Progress, SaslError> {
        self.stage = Stage::Done;
        let parsed = if self.google {
            parse_xoauth2(msg)?
        } else {
            parse_oauthbearer(msg)?
        };
        let now = self.now.unwrap_or_else(SystemTime::now);
        let outcome = match self.validator.validate(parsed.token, now) {
            Ok(user) => match parsed.authzid {
                Some(z) if z != user => Err(SaslError::AuthzidNotPermitted),
                _ => Ok(user),
            },
            Err(e) => Err(SaslError::Token(e)),
        };
        match outcome {
            Ok(username) => Ok(Progress::Authenticated { username }),
            Err(e) => {
                self.stage = Stage::AwaitErrorAck(e);
                Ok(Progress::Challenge(self.validator.error_json(self.google)))
            }
        }
    }
}

const KVSEP: u8 = 0x01;

/// `n,[a=<saslname>],\x01<kvpairs>\x01`.
fn parse_oauthbearer(msg: &[u8]) -> Result<ClientMessage<'_>, SaslError> {
    if msg.len() > MAX_RESPONSE_LEN {
        return Err(SaslError::TooLong);
    }
    let mut header = msg.splitn(3, |&b| b == b',');
    let (Some(flag), Some(authzid), Some(rest)) = (header.next(), header.next(), header.next())
    else {
        return Err(SaslError::Malformed("expected a GS2 header"));
    };
    match flag {
        b"n" | b"y" => {}
        f if f.starts_with(b"p=") => return Err(SaslError::ChannelBindingNotSupported),
        _ => return Err(SaslError::Malformed("bad GS2 channel binding flag")),
    }
    let authzid = match authzid {
        b"" => None,
        a => match a.strip_prefix(b"a=") {
            Some(name) => Some(Username::new(&decode_saslname(name)?)?),
            None => return Err(SaslError::Malformed("bad GS2 authzid")),
        },
    };
    let Some(pairs) = rest.strip_prefix(&[KVSEP]) else {
        return Err(SaslError::Malformed("expected %x01 after the GS2 header"));
    };
    let token = find_token(pairs, |_, _| Ok(()))?;
    Ok(ClientMessage { authzid, token })
}

/// `user=<name>\x01auth=Bearer <token>\x01\x01`.
fn parse_xoauth2(msg: &[u8]) -> Result<ClientMessage<'_>, SaslError> {
    if msg.len() > MAX_RESPONSE_LEN {
        return Err(SaslError::TooLong);
    }
    let mut user = None;
    let token = find_token(msg, |key, value| {
        if key == b"user" {
            if user.is_some() {
                return Err(SaslError::Malformed("user given twice"));
            }
            user = Some(Username::from_bytes(value)?);
        }
        Ok(())
    })?;
    let Some(user) = user else {
        return Err(SaslError::Malformed("XOAUTH2 message without user="));
    };
    Ok(ClientMessage {
        authzid: Some(user),
        token,
    })
}

/// Walks `key=value\x01 ... \x01` (RFC 7628 §3.1), hands every pair other
/// than `auth` to `other`, and returns the bearer token of the one `auth`.
fn find_token(
    pairs: &[u8],
    mut other: impl FnMut(&[u8], &[u8]) -> Result<(), SaslError>,
) -> Result<&str, SaslError> {
    // Every pair ends in %x01 and the list ends in one more.
    let Some(body) = pairs.strip_suffix(&[KVSEP, KVSEP]) else {
        return Err(SaslError::Malformed("message must end with %x01 %x01"));
    };
    let mut token = None;
    if body.is_empty() {
        return Err(SaslError::Malformed("no auth= in the message"));
    }
    for pair in body.split(|&b| b == KVSEP) {
        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
            return Err(SaslError::Malformed("key=value pair without ="));
        };
        let (key, value) = (&pair[..eq], &pair[eq + 1..]); // ok: eq < pair.len()
        if key.is_empty() || !key.iter().all(u8::is_ascii_alphabetic) {
            return Err(SaslError::Malformed("bad key in key=value pair"));
        }
        if !value
            .iter()
            .all(|&b| matches!(b, 0x21..=0x7e | b' ' | b'\t' | b'\r' | b'\n'))
        {
            return Err(SaslError::Malformed("bad character in a value"));
        }
        if key == b"auth" {
            if token.is_some() {
                return Err(SaslError::Malformed("auth given twice"));
            }
            token = Some(bearer_token(value)?);
        } else {
            other(key, value)?;
        }
    }
    token.ok_or(SaslError::Malformed("no auth= in the message"))
}

/// `Bearer 1*SP b64token` (RFC 6750 §2.1; the scheme is case-insensitive).
fn bearer_token(value: &[u8]) -> Result<&str, SaslError> {
    let scheme = b"bearer ";
    let Some(head) = value.get(..scheme.len()) else {
        return Err(SaslError::Malformed("auth= is not a Bearer token"));
    };
    if !head.eq_ignore_ascii_case(scheme) {
        return Err(SaslError::Malformed("auth= is not a Bearer token"));
    }
    let token = value
        .get(scheme.len()..)
        .unwrap_or_default()
        .trim_ascii_start();
    let body_len = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = token.get(..body_len).unwrap_or_default();
    if body.is_empty()
        || !body.iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
    {
        return Err(SaslError::Malformed("bad bearer token"));
    }
    // Checked above: all ASCII.
    std::str::from_utf8(token).map_err(|_| SaslError::NotUtf8)
}

/// RFC 5801 saslname: `=2C` is `,` and `=3D` is `=`; any other `=` is an error.
fn decode_saslname(name: &[u8]) -> Result<String, SaslError> {
    let mut out = Vec::with_capacity(name.len());
    let mut i = 0;
    while let Some(&b) = name.get(i) {
        if b == b'=' {
            match name.get(i + 1..i + 3) {
                Some(b"2C") => out.push(b','),
                Some(b"3D") => out.push(b'='),
                _ => return Err(SaslError::Malformed("bad escape in authzid")),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| SaslError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_oauthbearer_message() {
        let m = parse_oauthbearer(
            b"n,a=Ann@Example.org,\x01host=imap.example.org\x01port=993\x01auth=Bearer abc.DEF-_~+/==\x01\x01",
        )
        .unwrap();
        assert_eq!(m.authzid.unwrap().as_str(), "ann@example.org");
        assert_eq!(m.token, "abc.DEF-_~+/==");
        let m = parse_oauthbearer(b"y,,\x01auth=bearer   tok\x01\x01").unwrap();
        assert!(m.authzid.is_none());
        assert_eq!(m.token, "tok");
        let m = parse_oauthbearer(b"n,a=a=3Db=2Cc,\x01auth=Bearer t\x01\x01").unwrap();
        assert_eq!(m.authzid.unwrap().as_str(), "a=b,c");
    }

    #[test]
    fn refuses_bad_oauthbearer_messages() {
        let err = |m: &[u8]| parse_oauthbearer(m).unwrap_err();
        assert_eq!(
            err(b"p=tls-unique,,\x01auth=Bearer t\x01\x01"),
            SaslError::ChannelBindingNotSupported
        );
        for bad in [
            &b"x,,\x01auth=Bearer t\x01\x01"[..],
            b"n,user,\x01auth=Bearer t\x01\x01",
            b"n,a=b=2x,\x01auth=Bearer t\x01\x01",
            b"n,,auth=Bearer t\x01\x01",
            b"n,,\x01auth=Bearer t\x01",
            b"n,,\x01\x01",
            b"n,,\x01host=x\x01\x01",
            b"n,,\x01auth=Basic dXNlcg==\x01\x01",
            b"n,,\x01auth=Bearer \x01\x01",
            b"n,,\x01auth=Bearer a b\x01\x01",
            b"n,,\x01auth=Bearer =\x01\x01",
            b"n,,\x01auth=Bearer t\x01auth=Bearer u\x01\x01",
            b"n,,\x01a1=x\x01auth=Bearer t\x01\x01",
            b"n,,\x01=x\x01auth=Bearer t\x01\x01",
            b"n,,\x01noequals\x01auth=Bearer t\x01\x01",
            b"n,,\x01host=\x7f\x01auth=Bearer t\x01\x01",
            b"n",
            b"",
        ] {
            assert!(
                matches!(parse_oauthbearer(bad), Err(SaslError::Malformed(_))),
                "{:?} gave {:?}",
                String::from_utf8_lossy(bad),
                parse_oauthbearer(bad)
            );
        }
    }

    #[test]
    fn parses_xoauth2_message() {
        let m = parse_xoauth2(b"user=Ann@Example.org\x01auth=Bearer ya29.abc\x01\x01").unwrap();
        assert_eq!(m.authzid.unwrap().as_str(), "ann@example.org");
        assert_eq!(m.token, "ya29.abc");
        for bad in [
            &b"auth=Bearer t\x01\x01"[..],
            b"user=ann\x01\x01",
            b"user=ann\x01user=bob\x01auth=Bearer t\x01\x01",
            b"user=ann\x01auth=Bearer t",
        ] {
            assert!(matches!(parse_xoauth2(bad), Err(SaslError::Malformed(_))));
        }
        assert!(matches!(
            parse_xoauth2(b"user=a/b\x01auth=Bearer t\x01\x01"),
            Err(SaslError::Username(_))
        ));
    }
}
