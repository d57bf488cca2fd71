//! One shard: the state an executor owns (its open user stores, its login
//! throttle, its sessions) and its channels to the other shards.

use crate::config::Config;
use crate::conns::ConnTracker;
use crate::tls::SharedTls;
use crate::users::{OpenStores, UserDb};
use auth::throttle::Throttle;
use glommio::channels::channel_mesh::Senders;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

/// Messages between shards.
pub enum ShardMsg {
    /// An authenticated IMAP connection of a user homed on the receiver.
    Imap(Box<crate::imap::HandedOff>),
    /// An authenticated POP3 connection of a user homed on the receiver.
    Pop3(Box<crate::pop3::HandedOff>),
    /// A message for a user homed on the receiver.
    Deliver(Box<crate::deliver::Delivery>),
    /// An admin-socket request for a user homed on the receiver.
    Admin(Box<crate::admin::serve::Forwarded>),
}

/// A shard-local "stop now" signal that any number of tasks can wait on.
#[derive(Default)]
pub struct Stop {
    stopped: Cell<bool>,
    event: event_listener::Event,
}

impl Stop {
    pub fn trigger(&self) {
        self.stopped.set(true);
        self.event.notify(usize::MAX);
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    /// Resolves once `trigger` has been called.
    pub async fn wait(&self) {
        loop {
            if self.stopped.get() {
                return;
            }
            let listener = self.event.listen();
            if self.stopped.get() {
                return;
            }
            listener.await;
        }
    }

    /// Sleeps for `d` on a glommio timer; true if the shard stopped first.
    pub async fn sleep_or_stopped(&self, d: std::time::Duration) -> bool {
        futures_lite::future::or(
            async {
                glommio::timer::sleep(d).await;
                false
            },
            async {
                self.wait().await;
                true
            },
        )
        .await
    }
}

pub struct Shard {
    pub id: usize,
    pub count: usize,
    pub cfg: Arc<Config>,
    pub tls: SharedTls,
    pub users: UserDb,
    pub conns: Arc<ConnTracker>,
    pub stores: std::rc::Rc<OpenStores>,
    pub throttle: RefCell<Throttle>,
    pub stop: Stop,
    /// Bearer-token validator when `[oauth]` is configured.
    pub oauth: Option<Arc<auth::oauth::TokenValidator>>,
    /// This shard's metrics, and every shard's (for the metrics listener).
    pub metrics: Arc<crate::metrics::ShardMetrics>,
    pub metrics_all: Arc<crate::metrics::Metrics>,
    /// Stores held open for admin-socket connections of this shard's users.
    pub admin: crate::admin::serve::Held,
    /// Sort keys of recently sorted mailboxes, all users of this shard.
    pub sort_cache: RefCell<imap_exec::sort::SortCache>,
    senders: Senders<ShardMsg>,
    next_session: Cell<u64>,
}

impl Shard {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: usize,
        count: usize,
        cfg: Arc<Config>,
        tls: SharedTls,
        users: UserDb,
        conns: Arc<ConnTracker>,
        stores: std::rc::Rc<OpenStores>,
        senders: Senders<ShardMsg>,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Self {
        let sort_budget = (cfg.imap.sort_cache_mib as usize).saturating_mul(1 << 20);
        Shard {
            id,
            count,
            cfg,
            tls,
            users,
            conns,
            stores,
            throttle: RefCell::new(Throttle::new(Default::default())),
            stop: Stop::default(),
            oauth: None,
            metrics: metrics.shard(id),
            metrics_all: metrics,
            admin: Default::default(),
            sort_cache: RefCell::new(imap_exec::sort::SortCache::new(sort_budget)),
            senders,
            next_session: Cell::new(0),
        }
    }

    /// A session id unique in this process: shard id in the low bits.
    pub fn new_session_id(&self) -> u64 {
        let n = self.next_session.get() + 1;
        self.next_session.set(n);
        n * self.count as u64 + self.id as u64
    }

    pub fn home_of(&self, user: &str) -> usize {
        crate::users::home_shard(user, self.count)
    }

    /// Sends a message to another shard. False if it could not be
    /// delivered (that shard is stopping); the message is then dropped,
    /// which for a connection means closing it.
    pub async fn send_to(&self, shard: usize, msg: ShardMsg) -> bool {
        match self.senders.send_to(shard, msg).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(shard, error = %e, "cross-shard send failed");
                false
            }
        }
    }

    pub fn close_channels(&self) {
        self.senders.close();
    }

    /// Admits a newly accepted connection against the connection limits.
    /// A refused one gets `refusal` (inside TLS on an implicit-TLS port)
    /// and None comes back.
    pub async fn admit(
        &self,
        sock: glommio::net::TcpStream,
        listener: &crate::config::ListenerConfig,
        refusal: &[u8],
    ) -> Option<(crate::transport::Conn, crate::conns::ConnGuard)> {
        let peer = sock.peer_addr().ok()?;
        match self.conns.admit(peer.ip()) {
            Ok(mut guard) => {
                let mut conn = crate::transport::Conn::new(sock).ok()?;
                self.count_connection(listener, &mut conn, &mut guard);
                Some((conn, guard))
            }
            Err(why) => {
                tracing::warn!(%peer, ?why, "connection refused: limit reached");
                let tls = (listener.tls == crate::config::TlsMode::Implicit)
                    .then(|| self.tls.load_full());
                let timeout =
                    std::time::Duration::from_secs(self.cfg.limits.login_timeout_secs.max(1));
                crate::transport::Conn::refuse(sock, tls, refusal, timeout).await;
                None
            }
        }
    }

    /// Counts an admitted connection in this shard's metrics: accepted,
    /// open until its guard drops, and its bytes.
    pub fn count_connection(
        &self,
        listener: &crate::config::ListenerConfig,
        conn: &mut crate::transport::Conn,
        guard: &mut crate::conns::ConnGuard,
    ) {
        if let Some(p) = crate::metrics::Proto::of(listener.protocol) {
            self.metrics.connection(p, listener.tls);
            guard.count_open((Arc::clone(&self.metrics), p));
            conn.set_meter((Arc::clone(&self.metrics), p));
        }
    }

    pub fn now_ms() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// Accepts until the shard stops, running `serve` for each connection
/// (numbered from 1) inside `gate`. A failed accept (out of descriptors)
/// is logged with `what` and backs off briefly instead of spinning.
pub async fn accept_each<S, E, A, AF, F, Fut>(
    shard: std::rc::Rc<Shard>,
    gate: glommio::sync::Gate,
    what: &str,
    mut accept: A,
    serve: F,
) where
    A: FnMut() -> AF,
    AF: std::future::Future<Output = Result<S, E>>,
    E: std::fmt::Display,
    F: Fn(std::rc::Rc<Shard>, S, u64) -> Fut,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let mut next: u64 = 0;
    loop {
        let accepted = futures_lite::future::or(async { Some(accept().await) }, async {
            shard.stop.wait().await;
            None
        })
        .await;
        let Some(accepted) = accepted else { break };
        let stream = match accepted {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(listener = what, error = %e, "accept failed");
                glommio::timer::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        next += 1;
        if let Ok(t) = gate.spawn(serve(std::rc::Rc::clone(&shard), stream, next)) {
            t.detach();
        }
    }
}

/// [`accept_each`] on a unix socket.
pub async fn accept_unix<F, Fut>(
    shard: std::rc::Rc<Shard>,
    listener: glommio::net::UnixListener,
    gate: glommio::sync::Gate,
    what: &'static str,
    serve: F,
) where
    F: Fn(std::rc::Rc<Shard>, glommio::net::UnixStream, u64) -> Fut,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let l = &listener;
    accept_each(shard, gate, what, move || l.accept(), serve).await
}
