//! LMTP (RFC 2033) sessions: how an MTA such as Postfix hands mail over.
//! Commands follow RFC 5321 with PIPELINING (RFC 2920), 8BITMIME
//! (RFC 6152), SIZE (RFC 1870), ENHANCEDSTATUSCODES (RFC 2034), SMTPUTF8
//! (RFC 6531) and STARTTLS (RFC 3207). After DATA each accepted recipient
//! gets its own reply, in RCPT order, and a 250 is sent only once that
//! recipient's copy is on disk.
//!
//! A session stays on the shard that accepted it; each copy goes to its
//! user's home shard through [`crate::deliver`], the copies of one
//! message concurrently.

mod recipient;
mod session;
mod trace;

use crate::config::ListenerConfig;
use crate::shard::Shard;
use crate::transport::Conn;
use glommio::net::TcpStream;
use std::cell::OnceCell;
use std::rc::Rc;

thread_local! {
    /// The host name of greetings and trace headers, found once per shard.
    static HOST: OnceCell<Rc<str>> = const { OnceCell::new() };
}

/// The configured host name, or the system's. Finding the system's reads a
/// file, so that runs on the blocking pool, once per shard.
async fn host_name(shard: &Shard) -> Rc<str> {
    if let Some(h) = HOST.with(|c| c.get().cloned()) {
        return h;
    }
    let cfg = std::sync::Arc::clone(&shard.cfg);
    let name: Rc<str> = glommio::executor()
        .spawn_blocking(move || cfg.host_name())
        .await
        .into();
    HOST.with(|c| Rc::clone(c.get_or_init(|| name)))
}

/// Serves a newly accepted LMTP connection.
pub async fn serve(shard: Rc<Shard>, sock: TcpStream, listener: ListenerConfig) {
    let Ok(peer) = sock.peer_addr() else { return };
    let host = host_name(&shard).await;
    let mut guard = match shard.conns.admit(peer.ip()) {
        Ok(g) => g,
        Err(why) => {
            tracing::warn!(%peer, ?why, "connection refused: limit reached");
            if let Ok(mut conn) = Conn::new(sock) {
                pop3_proto::lmtp::write_reply(
                    &mut conn.wbuf,
                    421,
                    Some(pop3_proto::lmtp::EnhancedCode::new(4, 3, 2)),
                    format!("{host} Too many connections, try later").as_bytes(),
                );
                let _ = conn.close().await;
            }
            return;
        }
    };
    let Ok(mut conn) = Conn::new(sock) else {
        return;
    };
    shard.count_connection(&listener, &mut conn, &mut guard);
    let id = shard.new_session_id();
    let span = tracing::info_span!("lmtp", session = id, %peer, shard = shard.id);
    let s = session::Session::new(shard, conn, guard, id, listener, host);
    tracing::Instrument::instrument(s.run(), span).await;
}
