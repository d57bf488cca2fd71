//! SCRAM-SHA-256 server (RFC 5802, RFC 7677), without channel binding.
//!
//! Accepted GS2 flags: `n` (client does not support channel binding) and
//! `y` (client does, thinks the server does not; true, since postcore does
//! not advertise SCRAM-SHA-256-PLUS). `p=` is refused. An authzid is
//! accepted only when it names the authenticating user.

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

use super::{MAX_RESPONSE_LEN, Progress, SaslError};
use crate::scheme::ScramSecrets;
use crate::scheme::scram::{DEFAULT_ITERATIONS, hmac, sha256};
use crate::username::Username;

/// Length of the random part of the server nonce, in bytes (base64-encoded on the wire).
const SERVER_NONCE_BYTES: usize = 18;

#[derive(Debug)]
enum Stage {
    ClientFirst,
    NeedSecrets {
        first: ClientFirst,
    },
    ClientFinal {
        first: ClientFirst,
        server_first: String,
        /// `None`: unknown user, the exchange must fail.
        keys: Option<([u8; 32], [u8; 32])>,
    },
    Ack {
        username: Username,
    },
    Done,
}

#[derive(Debug)]
struct ClientFirst {
    gs2_header: Vec<u8>,
    bare: String,
    nonce: String,
    username: Username,
}

/// The server side of one SCRAM-SHA-256 exchange.
#[derive(Debug)]
pub struct ScramServer {
    server_nonce: String,
    fake_salt_key: [u8; 32],
    stage: Stage,
}

fn process_fake_salt_key() -> Result<[u8; 32], SaslError> {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    if let Some(k) = KEY.get() {
        return Ok(*k);
    }
    let mut k = [0u8; 32];
    getrandom::fill(&mut k).map_err(|e| SaslError::Random(e.to_string()))?;
    Ok(*KEY.get_or_init(|| k))
}

impl ScramServer {
    /// An exchange with a random nonce and a fake-salt key made once per
    /// process.
    pub fn new() -> Result<Self, SaslError> {
        let mut raw = [0u8; SERVER_NONCE_BYTES];
        getrandom::fill(&mut raw).map_err(|e| SaslError::Random(e.to_string()))?;
        Ok(Self::with_params(
            STANDARD.encode(raw),
            process_fake_salt_key()?,
        ))
    }

    /// An exchange with a given server nonce (printable ASCII without `,`;
    /// must be unpredictable in production) and fake-salt key. Use a key
    /// kept across restarts so an unknown user's made-up salt stays the
    /// same, like a real user's would.
    pub fn with_params(server_nonce: String, fake_salt_key: [u8; 32]) -> Self {
        ScramServer {
            server_nonce,
            fake_salt_key,
            stage: Stage::ClientFirst,
        }
    }

    pub(super) fn step(&mut self, msg: &[u8]) -> Result<Progress, SaslError> {
        match self.stage {
            Stage::ClientFirst => self.client_first(msg),
            Stage::ClientFinal { .. } => self.client_final(msg),
            Stage::Ack { .. } => self.ack(msg),
            Stage::NeedSecrets { .. } | Stage::Done => Err(SaslError::UnexpectedStep),
        }
    }

    pub(super) fn client_first(&mut self, msg: &[u8]) -> Result<Progress, SaslError> {
        if !matches!(self.stage, Stage::ClientFirst) {
            return Err(SaslError::UnexpectedStep);
        }
        self.stage = Stage::Done;
        if msg.len() > MAX_RESPONSE_LEN {
            return Err(SaslError::TooLong);
        }
        let msg = std::str::from_utf8(msg).map_err(|_| SaslError::NotUtf8)?;
        // gs2-header = gs2-cbind-flag "," [ authzid ] ","
        let (flag, rest) = msg
            .split_once(',')
            .ok_or(SaslError::Malformed("missing GS2 header"))?;
        match flag {
            "n" | "y" => {}
            f if f.starts_with("p=") => return Err(SaslError::ChannelBindingNotSupported),
            _ => return Err(SaslError::Malformed("bad GS2 channel binding flag")),
        }
        let (authzid, bare) = rest
            .split_once(',')
            .ok_or(SaslError::Malformed("missing GS2 header"))?;
        let gs2_len = flag.len() + authzid.len() + 2;
        let gs2_header = msg.as_bytes().get(..gs2_len).unwrap_or_default().to_vec();
        let authzid = match authzid {
            "" => None,
            a => Some(decode_saslname(
                a.strip_prefix("a=")
                    .ok_or(SaslError::Malformed("bad GS2 authzid"))?,
            )?),
        };

        let mut attrs = bare.split(',');
        let user_attr = attrs.next().unwrap_or_default();
        if user_attr.starts_with("m=") {
            return Err(SaslError::UnsupportedExtension);
        }
        let name = decode_saslname(
            user_attr
                .strip_prefix("n=")
                .ok_or(SaslError::Malformed("expected n=username"))?,
        )?;
        let nonce = attrs
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or(SaslError::Malformed("expected r=nonce"))?;
        if nonce.is_empty()
            || !nonce
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
        {
            return Err(SaslError::Malformed("nonce must be printable ASCII"));
        }
        // Further attributes are optional extensions, which we ignore (RFC 5802 5.1).
        let username = Username::new(&name)?;
        if let Some(z) = authzid {
            match Username::new(&z) {
                Ok(z) if z == username => {}
                _ => return Err(SaslError::AuthzidNotPermitted),
            }
        }
        self.stage = Stage::NeedSecrets {
            first: ClientFirst {
                gs2_header,
                bare: bare.to_string(),
                nonce: nonce.to_string(),
                username: username.clone(),
            },
        };
        Ok(Progress::NeedScramSecrets { username })
    }

    pub(super) fn server_first(
        &mut self,
        secrets: Option<&ScramSecrets>,
    ) -> Result<Progress, SaslError> {
        let Stage::NeedSecrets { first } = std::mem::replace(&mut self.stage, Stage::Done) else {
            return Err(SaslError::UnexpectedStep);
        };
        let (salt, iterations, keys) = match secrets {
            Some(s) => (
                s.salt.clone(),
                s.iterations,
                Some((s.stored_key, s.server_key)),
            ),
            None => {
                let fake = hmac(&self.fake_salt_key, &[first.username.as_str().as_bytes()]);
                (
                    fake.get(..16).unwrap_or_default().to_vec(),
                    DEFAULT_ITERATIONS,
                    None,
                )
            }
        };
        let server_first = format!(
            "r={}{},s={},i={}",
            first.nonce,
            self.server_nonce,
            STANDARD.encode(&salt),
            iterations
        );
        let challenge = server_first.clone().into_bytes();
        self.stage = Stage::ClientFinal {
            first,
            server_first,
            keys,
        };
        Ok(Progress::Challenge(challenge))
    }

    fn client_final(&mut self, msg: &[u8]) -> Result<Progress, SaslError> {
        let Stage::ClientFinal {
            first,
            server_first,
            keys,
        } = std::mem::replace(&mut self.stage, Stage::Done)
        else {
            return Err(SaslError::UnexpectedStep);
        };
        let msg = std::str::from_utf8(msg).map_err(|_| SaslError::NotUtf8)?;
        // client-final-message = channel-binding "," nonce ["," extensions] "," proof
        let (without_proof, proof) = msg
            .rsplit_once(",p=")
            .ok_or(SaslError::Malformed("expected p=proof"))?;
        let mut attrs = without_proof.split(',');
        let cbind = attrs
            .next()
            .and_then(|a| a.strip_prefix("c="))
            .ok_or(SaslError::Malformed("expected c=channel-binding"))?;
        let cbind = STANDARD
            .decode(cbind)
            .map_err(|_| SaslError::Malformed("c= is not base64"))?;
        if cbind != first.gs2_header {
            return Err(SaslError::Malformed("c= does not match the GS2 header"));
        }
        let nonce = attrs
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or(SaslError::Malformed("expected r=nonce"))?;
        let expected_nonce = format!("{}{}", first.nonce, self.server_nonce);
        if nonce != expected_nonce {
            return Err(SaslError::Malformed("nonce does not match"));
        }
        let proof = STANDARD
            .decode(proof)
            .ok()
            .and_then(|p| <[u8; 32]>::try_from(p.as_slice()).ok())
            .ok_or(SaslError::Malformed("p= is not base64 of 32 bytes"))?;
        let Some((stored_key, server_key)) = keys else {
            return Err(SaslError::AuthenticationFailed);
        };
        let auth_message = format!("{},{},{}", first.bare, server_first, without_proof);
        let client_signature = hmac(&stored_key, &[auth_message.as_bytes()]);
        let mut client_key = proof;
        for (k, s) in client_key.iter_mut().zip(client_signature) {
            *k ^= s;
        }
        if !bool::from(sha256(&client_key).ct_eq(&stored_key)) {
            return Err(SaslError::AuthenticationFailed);
        }
        let server_signature = hmac(&server_key, &[auth_message.as_bytes()]);
        self.stage = Stage::Ack {
            username: first.username,
        };
        Ok(Progress::Challenge(
            format!("v={}", STANDARD.encode(server_signature)).into_bytes(),
        ))
    }

    fn ack(&mut self, msg: &[u8]) -> Result<Progress, SaslError> {
        let Stage::Ack { username } = std::mem::replace(&mut self.stage, Stage::Done) else {
            return Err(SaslError::UnexpectedStep);
        };
        if !msg.is_empty() {
            return Err(SaslError::Malformed(
                "expected an empty response after the server signature",
            ));
        }
        Ok(Progress::Authenticated { username })
    }
}

/// saslname: `,` and `=` are sent as `=2C` and `=3D`; any other `=` is an error.
fn decode_saslname(s: &str) -> Result<String, SaslError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('=') {
        out.push_str(rest.get(..pos).unwrap_or_default());
        let esc = rest.get(pos..pos + 3);
        match esc {
            Some("=2C") | Some("=2c") => out.push(','),
            Some("=3D") | Some("=3d") => out.push('='),
            _ => return Err(SaslError::Malformed("bad '=' escape in saslname")),
        }
        rest = rest.get(pos + 3..).unwrap_or_default();
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err(SaslError::Malformed("empty saslname"));
    }
    Ok(out)
}
