//! POP3 sessions (RFC 1939, CAPA and response codes RFC 2449, STLS RFC 2595,
//! SASL RFC 5034, RFC 3206 codes). Like IMAP, a session authenticates on the
//! shard that accepted it and moves to the user's home shard for the
//! transaction, so the maildrop is read where the user's store lives.

mod maildrop;
mod session;
pub mod uidl;

use crate::config::{ListenerConfig, TlsMode};
use crate::conns::ConnGuard;
use crate::shard::Shard;
use crate::transport::{Conn, Handoff};
use glommio::net::TcpStream;
use std::rc::Rc;

/// An authenticated POP3 connection on its way to the user's home shard.
pub struct HandedOff {
    pub(crate) conn: Handoff,
    pub(crate) user: String,
    pub(crate) guard: ConnGuard,
    pub(crate) session_id: u64,
    pub(crate) listener: ListenerConfig,
}

/// Serves a newly accepted POP3 connection.
pub async fn serve(shard: Rc<Shard>, sock: TcpStream, listener: ListenerConfig) {
    let refusal = b"-ERR [SYS/TEMP] Too many connections, try later\r\n";
    let Some((conn, guard)) = shard.admit(sock, &listener, refusal).await else {
        return;
    };
    let peer = conn.peer();
    let id = shard.new_session_id();
    let span = tracing::info_span!("pop3", session = id, %peer, shard = shard.id, user = tracing::field::Empty);
    let implicit = listener.tls == TlsMode::Implicit;
    let mut s = session::Session::new(shard, conn, bytes::BytesMut::new(), guard, id, listener);
    tracing::Instrument::instrument(
        async move {
            if implicit && let Err(e) = s.start_implicit_tls().await {
                tracing::debug!(error = %e, "TLS handshake failed");
                return;
            }
            s.greet();
            s.run().await;
        },
        span,
    )
    .await;
}

/// Continues a POP3 connection handed over by another shard.
pub async fn resume(shard: Rc<Shard>, h: HandedOff) {
    let (mut conn, rbuf) = Conn::from_handoff(h.conn);
    conn.set_meter((
        std::sync::Arc::clone(&shard.metrics),
        crate::metrics::Proto::Pop3,
    ));
    let peer = conn.peer();
    let span = tracing::info_span!("pop3", session = h.session_id, %peer, shard = shard.id, user = tracing::field::Empty);
    let mut s = session::Session::new(shard, conn, rbuf, h.guard, h.session_id, h.listener);
    tracing::Instrument::instrument(
        async move {
            s.enter_user(h.user).await;
            s.run().await;
        },
        span,
    )
    .await;
}
