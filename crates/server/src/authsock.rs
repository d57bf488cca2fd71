//! The server side of Dovecot's authentication protocol (client protocol
//! v1.x, the one Postfix speaks with `smtpd_sasl_type = dovecot`) on a unix
//! socket, backed by postcore's user database: Postfix submission then
//! authenticates users against the same passwords as IMAP and POP3.
//!
//! Line based, TAB separated, LF terminated:
//! server `VERSION 1 2`, `MECH ...`, `SPID`, `CUID`, `COOKIE`, `DONE`;
//! client `VERSION 1 x`, `CPID`, then `AUTH <id> <mech> service=.. [secured]
//! [rip=..] [resp=<base64>]` and `CONT <id> <base64>`; answers `CONT <id>
//! <base64>`, `OK <id> user=<name>` or `FAIL <id> [user=<name>]`.

use crate::login::{Login, base64_decode, base64_encode, password_login};
use crate::shard::Shard;
use auth::sasl::{Mechanism, Progress, SaslServer};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::{UnixListener, UnixStream};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;

/// Longest line accepted (Dovecot's documented 16 KiB).
const MAX_LINE: usize = 16 * 1024;
/// Requests one connection may have in progress.
const MAX_PENDING: usize = 64;

/// Accepts auth clients until the shard stops.
pub async fn serve(shard: Rc<Shard>, listener: UnixListener, gate: glommio::sync::Gate) {
    crate::shard::accept_unix(
        shard,
        listener,
        gate,
        "auth socket",
        |s, stream, cuid| async move {
            let span = tracing::info_span!("auth-socket", cuid);
            tracing::Instrument::instrument(client(s, stream, cuid), span).await;
        },
    )
    .await
}

struct Request {
    sasl: SaslServer,
    ip: IpAddr,
    via: crate::login::Via,
}

async fn client(shard: Rc<Shard>, mut stream: UnixStream, cuid: u64) {
    let mut raw = [0u8; 16];
    // A cookie only matters to the master interface, which postcore does
    // not offer; a failed random source still gives a well-formed one.
    let _ = getrandom::fill(&mut raw);
    let cookie: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let token_mechs = if shard.oauth.is_some() {
        "MECH\tOAUTHBEARER\tplaintext\nMECH\tXOAUTH2\tplaintext\n"
    } else {
        ""
    };
    let handshake = format!(
        "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nMECH\tSCRAM-SHA-256\tmutual-auth\n{token_mechs}SPID\t{}\nCUID\t{cuid}\nCOOKIE\t{cookie}\nDONE\n",
        std::process::id()
    );
    if stream.write_all(handshake.as_bytes()).await.is_err() {
        return;
    }
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = vec![0u8; 4096];
    let mut pending: HashMap<u32, Request> = HashMap::new();
    loop {
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            let line = line.strip_suffix(b"\n").unwrap_or(&line);
            let reply = match handle_line(&shard, line, &mut pending).await {
                Ok(r) => r,
                Err(why) => {
                    tracing::info!(why, "auth client dropped");
                    return;
                }
            };
            if let Some(r) = reply
                && stream.write_all(r.as_bytes()).await.is_err()
            {
                return;
            }
        }
        if buf.len() > MAX_LINE {
            tracing::info!("auth client line too long");
            return;
        }
        let stopped =
            futures_lite::future::or(async { Some(stream.read(&mut chunk).await) }, async {
                shard.stop.wait().await;
                None
            })
            .await;
        match stopped {
            Some(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return,
        }
    }
}

/// Handles one line; Ok(Some(reply)) to send, Err to drop the client.
async fn handle_line(
    shard: &Rc<Shard>,
    line: &[u8],
    pending: &mut HashMap<u32, Request>,
) -> Result<Option<String>, &'static str> {
    let line = std::str::from_utf8(line).map_err(|_| "line is not UTF-8")?;
    let mut fields = line.split('\t');
    match fields.next() {
        Some("VERSION") => {
            if fields.next() != Some("1") {
                return Err("unsupported protocol major version");
            }
            Ok(None)
        }
        Some("CPID") => Ok(None),
        Some("AUTH") => {
            let id: u32 = fields
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or("AUTH without a numeric id")?;
            let mech = fields.next().ok_or("AUTH without a mechanism")?;
            let mut secured = false;
            let mut ip = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
            let mut resp: Option<&str> = None;
            for f in fields {
                if f == "secured" {
                    secured = true;
                } else if let Some(r) = f.strip_prefix("rip=") {
                    ip = r.parse().unwrap_or(ip);
                } else if let Some(r) = f.strip_prefix("resp=") {
                    // resp= is last: anything after it is ignored.
                    resp = Some(r);
                    break;
                }
            }
            if pending.len() >= MAX_PENDING {
                return Err("too many requests in progress");
            }
            let Some(mechanism) = Mechanism::from_name(mech.as_bytes()) else {
                return Ok(Some(format!("FAIL\t{id}\treason=Unsupported mechanism\n")));
            };
            let plaintext_ok = secured || crate::login::plaintext_allowed(shard, false, ip);
            if mechanism.needs_protection() && !plaintext_ok {
                return Ok(Some(format!(
                    "FAIL\t{id}\treason=Plaintext authentication disallowed on non-secure connections\n"
                )));
            }
            let Some(mut sasl) = crate::login::sasl_server(shard, mechanism) else {
                return Ok(Some(format!("FAIL\t{id}\treason=Unsupported mechanism\n")));
            };
            let initial = match resp {
                None => None,
                Some(r) => match base64_decode(r.as_bytes()) {
                    Some(v) => Some(v),
                    None => return Ok(Some(format!("FAIL\t{id}\treason=Invalid base64 data\n"))),
                },
            };
            let progress = sasl.start(initial.as_deref());
            let via = crate::login::Via(crate::metrics::LoginProto::AuthSocket, mechanism.into());
            drive(shard, id, Request { sasl, ip, via }, progress, pending)
                .await
                .map(Some)
        }
        Some("CONT") => {
            let id: u32 = fields
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or("CONT without a numeric id")?;
            let Some(mut req) = pending.remove(&id) else {
                return Ok(Some(format!("FAIL\t{id}\treason=Unknown request\n")));
            };
            let data = fields.next().unwrap_or("");
            let Some(bytes) = base64_decode(data.as_bytes()) else {
                return Ok(Some(format!("FAIL\t{id}\treason=Invalid base64 data\n")));
            };
            let progress = req.sasl.step(&bytes);
            drive(shard, id, req, progress, pending).await.map(Some)
        }
        // Unknown commands are ignored, as the protocol asks.
        _ => Ok(None),
    }
}

/// Carries a request on from a SASL step to the next line to send.
async fn drive(
    shard: &Rc<Shard>,
    id: u32,
    mut req: Request,
    mut progress: Result<Progress, auth::sasl::SaslError>,
    pending: &mut HashMap<u32, Request>,
) -> Result<String, &'static str> {
    loop {
        let p = match progress {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "SASL exchange failed");
                crate::login::failed(shard, req.via, req.ip, None).await;
                return Ok(format!("FAIL\t{id}\n"));
            }
        };
        match p {
            Progress::Challenge(c) => {
                let line = format!("CONT\t{id}\t{}\n", base64_encode(&c));
                pending.insert(id, req);
                return Ok(line);
            }
            Progress::VerifyPassword(creds) => {
                let name = creds.username.as_str().to_string();
                let pw = creds.password.as_bytes().to_vec();
                return Ok(
                    match password_login(shard, req.via, req.ip, &name, pw).await {
                        Login::Ok(user) => {
                            tracing::info!(user, "authenticated for an auth-socket client");
                            format!("OK\t{id}\tuser={user}\n")
                        }
                        Login::Failed | Login::Locked => format!("FAIL\t{id}\tuser={name}\n"),
                    },
                );
            }
            Progress::NeedScramSecrets { username } => {
                let db = shard.users.load();
                let secrets = db
                    .get(username.as_str())
                    .and_then(|e| e.scram_secrets())
                    .and_then(Result::ok);
                progress = req.sasl.scram_secrets(secrets.as_ref());
            }
            Progress::Authenticated { username } => {
                let user = username.into_string();
                if !crate::login::known_user(shard, &user) {
                    crate::login::failed(shard, req.via, req.ip, Some(&user)).await;
                    return Ok(format!("FAIL\t{id}\tuser={user}\n"));
                }
                crate::login::succeeded(shard, req.via);
                tracing::info!(user, "authenticated for an auth-socket client");
                return Ok(format!("OK\t{id}\tuser={user}\n"));
            }
        }
    }
}
