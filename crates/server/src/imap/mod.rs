//! IMAP sessions (RFC 9051, with RFC 3501 compatibility). A session starts on
//! the shard that accepted the connection; after authentication it moves to
//! the user's home shard (see [`HandedOff`]) and stays there.

mod catenate;
mod context;
mod mailboxes;
mod metadata;
mod names;
mod notify;
mod progress;
mod quota;
mod resync;
mod selected;
mod session;
mod uidonly;

use crate::config::{ListenerConfig, TlsMode};
use crate::conns::ConnGuard;
use crate::shard::Shard;
use crate::transport::{Conn, Handoff};
use glommio::net::TcpStream;
use std::rc::Rc;

pub use session::Enabled;

/// An authenticated connection on its way to the user's home shard. The
/// home shard opens the user's store, answers the login command's tag and
/// carries on with whatever the client pipelined behind it.
pub struct HandedOff {
    pub(crate) conn: Handoff,
    pub(crate) user: String,
    pub(crate) tag: Vec<u8>,
    pub(crate) guard: ConnGuard,
    pub(crate) session_id: u64,
    pub(crate) listener: ListenerConfig,
    pub(crate) enabled: Enabled,
}

/// Serves a newly accepted IMAP connection.
pub async fn serve(shard: Rc<Shard>, sock: TcpStream, listener: ListenerConfig) {
    let refusal = b"* BYE [UNAVAILABLE] Too many connections, try later\r\n";
    let Some((conn, guard)) = shard.admit(sock, &listener, refusal).await else {
        return;
    };
    let peer = conn.peer();
    let id = shard.new_session_id();
    let span = tracing::info_span!("imap", session = id, %peer, shard = shard.id, user = tracing::field::Empty);
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

/// Continues a connection handed over by another shard.
pub async fn resume(shard: Rc<Shard>, h: HandedOff) {
    let (mut conn, rbuf) = Conn::from_handoff(h.conn);
    conn.set_meter((
        std::sync::Arc::clone(&shard.metrics),
        crate::metrics::Proto::Imap,
    ));
    let peer = conn.peer();
    let span = tracing::info_span!("imap", session = h.session_id, %peer, shard = shard.id, user = tracing::field::Empty);
    let mut s = session::Session::new(shard, conn, rbuf, h.guard, h.session_id, h.listener);
    s.set_enabled(h.enabled);
    tracing::Instrument::instrument(
        async move {
            if s.finish_login(h.user, &h.tag).await {
                s.run().await;
            }
        },
        span,
    )
    .await;
}
