//! The server side: shard 0 reads requests off the socket and forwards
//! each to the user's home shard (glommio's unix streams cannot be handed
//! to another executor), which applies it to the user's store and answers.

use super::wire::{self, In, Out, Refusal, WireError, read_frame, write_frame};
use super::{MailboxState, op};
use crate::shard::{Shard, ShardMsg};
use crate::users::StoreRef;
use glommio::net::{UnixListener, UnixStream};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use store::{Flags, NewMessage, SpecialUse};

/// The first request is small: an opcode and a user name.
const MAX_HELLO: u64 = 4096;

/// A request for the home shard, and where its answer goes.
pub struct Forwarded {
    pub conn: u64,
    pub user: String,
    /// `None`: the connection ended, let go of the store.
    pub frame: Option<Vec<u8>>,
    pub reply: futures_channel::oneshot::Sender<Vec<u8>>,
}

/// On each shard, the stores held for admin connections of its users.
#[derive(Default)]
pub struct Held(RefCell<HashMap<u64, StoreRef>>);

pub async fn listen(shard: Rc<Shard>, listener: UnixListener, gate: glommio::sync::Gate) {
    crate::shard::accept_unix(
        shard,
        listener,
        gate,
        "admin socket",
        |s, stream, conn| async move {
            let span = tracing::info_span!("admin", conn);
            tracing::Instrument::instrument(connection(s, stream, conn), span).await;
        },
    )
    .await
}

async fn connection(shard: Rc<Shard>, mut stream: UnixStream, conn: u64) {
    let max = super::max_frame(shard.cfg.limits.max_literal_size);
    let user = match hello_user(&mut stream).await {
        Ok(u) => u,
        Err(e) => {
            tracing::info!(error = %e, "admin connection refused");
            let _ = write_frame(&mut stream, &wire::refusal(&Refusal::Failed(e.to_string()))).await;
            return;
        }
    };
    tracing::info!(user, "admin connection: import into a live store");
    let mut frame = Some({
        let mut o = Out::new(op::HELLO);
        o.bytes(user.as_bytes());
        o.finish().split_off(4)
    });
    while let Some(f) = frame.take() {
        let answer = forward(&shard, conn, &user, Some(f)).await;
        if write_frame(&mut stream, &answer).await.is_err() {
            break;
        }
        let next = futures_lite::future::or(async { read_frame(&mut stream, max).await }, async {
            shard.stop.wait().await;
            Ok(None)
        })
        .await;
        match next {
            Ok(Some(f)) => frame = Some(f),
            Ok(None) => break,
            Err(e) => {
                tracing::info!(error = %e, "admin connection ended");
                let _ =
                    write_frame(&mut stream, &wire::refusal(&Refusal::Failed(e.to_string()))).await;
                break;
            }
        }
    }
    let _ = forward(&shard, conn, &user, None).await;
}

async fn hello_user(stream: &mut UnixStream) -> Result<String, WireError> {
    let Some(f) = read_frame(stream, MAX_HELLO).await? else {
        return Err(WireError::Malformed("closed before HELLO"));
    };
    let mut i = In::new(&f);
    if i.u8()? != op::HELLO {
        return Err(WireError::Malformed("the first request must be HELLO"));
    }
    let name = i.str()?;
    i.end()?;
    auth::username::Username::new(name)
        .map(|u| u.into_string())
        .map_err(|_| WireError::Malformed("not a valid user name"))
}

/// Runs a request on the user's home shard and returns the reply frame.
async fn forward(shard: &Rc<Shard>, conn: u64, user: &str, frame: Option<Vec<u8>>) -> Vec<u8> {
    let home = shard.home_of(user);
    if home == shard.id {
        return handle(shard, conn, user, frame).await;
    }
    let (tx, rx) = futures_channel::oneshot::channel();
    let msg = ShardMsg::Admin(Box::new(Forwarded {
        conn,
        user: user.to_string(),
        frame,
        reply: tx,
    }));
    if !shard.send_to(home, msg).await {
        return wire::refusal(&Refusal::Failed("the user's shard is stopping".into()));
    }
    rx.await
        .unwrap_or_else(|_| wire::refusal(&Refusal::Failed("the user's shard is stopping".into())))
}

/// On the home shard: a forwarded request.
pub async fn on_home_shard(shard: Rc<Shard>, f: Forwarded) {
    let answer = handle(&shard, f.conn, &f.user, f.frame).await;
    let _ = f.reply.send(answer);
}

async fn handle(shard: &Rc<Shard>, conn: u64, user: &str, frame: Option<Vec<u8>>) -> Vec<u8> {
    let Some(frame) = frame else {
        shard.admin.0.borrow_mut().remove(&conn);
        return Vec::new();
    };
    match apply(shard, conn, user, &frame).await {
        Ok(reply) => reply,
        Err(WireError::Refused(r)) => wire::refusal(&r),
        Err(e) => wire::refusal(&Refusal::Failed(e.to_string())),
    }
}

fn refused(e: store::StoreError) -> WireError {
    WireError::Refused(Refusal::of(&e))
}

async fn apply(
    shard: &Rc<Shard>,
    conn: u64,
    user: &str,
    frame: &[u8],
) -> Result<Vec<u8>, WireError> {
    let mut i = In::new(frame);
    let opcode = i.u8()?;
    if opcode == op::HELLO {
        let dir = crate::users::user_dir(&shard.cfg.data_dir, user);
        let is_new = glommio::io::Directory::open(&dir).await.is_err();
        let sref = shard.stores.acquire(user).await.map_err(refused)?;
        shard.admin.0.borrow_mut().insert(conn, sref);
        let mut o = wire::ok();
        o.u8(u8::from(is_new));
        return Ok(o.finish());
    }
    let store = {
        let held = shard.admin.0.borrow();
        match held.get(&conn) {
            Some(r) => Rc::clone(&r.store),
            None => return Err(WireError::Malformed("HELLO first")),
        }
    };
    let mut o = wire::ok();
    match opcode {
        op::STATE => {
            let name = i.str()?;
            i.end()?;
            match MailboxState::of(&store, name).map_err(refused)? {
                None => {
                    o.u8(0);
                }
                Some(s) => {
                    o.u8(1).u32(s.id).u32(s.uidvalidity).u32(s.uidnext);
                    o.u32(s.uids.len() as u32);
                    for u in &s.uids {
                        o.u32(*u);
                    }
                    match s.last {
                        None => o.u8(0),
                        Some((u, size, date)) => o.u8(1).u32(u).u64(size).i64(date),
                    };
                }
            }
        }
        op::MAILBOX => {
            let name = i.str()?;
            let uidvalidity = i.u32()?;
            let special = SpecialUse::from_u8(i.u8()?);
            i.end()?;
            let id = store
                .import_mailbox(name, uidvalidity, special)
                .await
                .map_err(refused)?;
            o.u32(id);
        }
        op::IMPORT_APPEND | op::APPEND => {
            let id = i.u32()?;
            let n = i.count(4 + 1 + 8 + 4 + 4)?;
            let mut uids = Vec::with_capacity(n);
            let mut msgs = Vec::with_capacity(n);
            for _ in 0..n {
                uids.push(i.u32()?);
                let flags = Flags(i.u8()?).sanitized();
                let internal_date = i.i64()?;
                let nk = i.count(4)?;
                let mut keywords = Vec::with_capacity(nk);
                for _ in 0..nk {
                    keywords.push(i.str()?.to_string());
                }
                let raw = i.bytes()?;
                msgs.push(NewMessage {
                    raw,
                    flags,
                    keywords,
                    internal_date,
                });
            }
            i.end()?;
            if opcode == op::IMPORT_APPEND {
                store
                    .import_append(id, &uids, &msgs)
                    .await
                    .map_err(refused)?;
            } else {
                let got = store.append(id, &msgs).await.map_err(refused)?;
                o.u32(got.len() as u32);
                for u in got {
                    o.u32(u);
                }
            }
        }
        op::RAISE_UIDNEXT => {
            let id = i.u32()?;
            let next = i.u32()?;
            i.end()?;
            store.raise_uidnext(id, next).await.map_err(refused)?;
        }
        op::SUBSCRIBE => {
            let name = i.str()?;
            let on = i.u8()? != 0;
            i.end()?;
            store.subscribe(name, on).await.map_err(refused)?;
        }
        _ => return Err(WireError::Malformed("unknown request")),
    }
    Ok(o.finish())
}
