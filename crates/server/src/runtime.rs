//! Starting and stopping the server: the data directory and certificate,
//! one executor per shard with every listener bound on each (SO_REUSEPORT),
//! the mesh of channels between shards, and a control thread that turns
//! signals into actions (SIGHUP reloads the certificate, SIGTERM/SIGINT stop
//! gracefully) and reloads the user database when its file changes.

use crate::config::{Config, Protocol, TlsMode};
use crate::conns::ConnTracker;
use crate::shard::{Shard, ShardMsg};
use crate::users::{OpenStores, UserDb};
use arc_swap::ArcSwap;
use auth::passwd_file::fs as pwfs;
use glommio::channels::channel_mesh::MeshBuilder;
use glommio::net::TcpListener;
use glommio::{LocalExecutorPoolBuilder, PoolPlacement};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("user database: {0}")]
    Users(#[from] pwfs::FsError),
    #[error("signals: {0}")]
    Signals(std::io::Error),
    #[error("starting shards: {0}")]
    Executors(String),
    #[error("oauth: {0}")]
    OAuth(String),
    #[error("listener {address}: {reason}")]
    Listen { address: String, reason: String },
}

/// How often shards look at the stop flag the signal thread sets. Stopping
/// is the only thing that waits on it.
const STOP_POLL: Duration = Duration::from_millis(100);
/// How often the control thread looks at the passwd-file's mtime.
const PASSWD_POLL: Duration = Duration::from_secs(1);
/// The token validator of `[oauth]`, when configured (the key file is read
/// here, before the executors start).
fn oauth_validator(cfg: &Config) -> Result<Option<Arc<auth::oauth::TokenValidator>>, ServerError> {
    let o = &cfg.oauth;
    if o.public_key_file.as_os_str().is_empty() {
        return Ok(None);
    }
    let pem = std::fs::read_to_string(&o.public_key_file)
        .map_err(|e| ServerError::OAuth(format!("{}: {e}", o.public_key_file.display())))?;
    let mut c = auth::oauth::OAuthConfig::new(&pem, &o.issuer, &o.audience);
    c.username_claim = o.username_claim.clone();
    c.leeway_secs = o.leeway_secs;
    if !o.scope.is_empty() {
        c.scope = Some(o.scope.clone());
    }
    auth::oauth::TokenValidator::new(&c)
        .map(|v| Some(Arc::new(v)))
        .map_err(|e| ServerError::OAuth(e.to_string()))
}

/// How long sessions get to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long a user's store stays open after their last session.
const STORE_LINGER: Duration = Duration::from_secs(30);

/// Shards leave together. A shard's executor is torn down when `shard_main`
/// returns; until every shard has closed its mesh senders and ended its
/// receive loops, a peer can still wake one of its tasks from another
/// thread, and a wake into an executor that is gone is what glommio does
/// not guard against. Counted on drop too, so a shard that failed at start
/// does not hold the others back.
struct Departure {
    left: Arc<AtomicUsize>,
    shards: usize,
    counted: bool,
}

impl Departure {
    async fn leave(mut self, id: usize) {
        self.left.fetch_add(1, Ordering::AcqRel);
        self.counted = true;
        let until = std::time::Instant::now() + SHUTDOWN_GRACE;
        while self.left.load(Ordering::Acquire) < self.shards {
            if std::time::Instant::now() >= until {
                tracing::warn!(shard = id, "other shards did not stop in time");
                return;
            }
            glommio::timer::sleep(DEPARTURE_POLL).await;
        }
    }
}

impl Drop for Departure {
    fn drop(&mut self) {
        if !self.counted {
            self.left.fetch_add(1, Ordering::AcqRel);
        }
    }
}

const DEPARTURE_POLL: Duration = Duration::from_millis(5);

/// One server per data directory: listeners use SO_REUSEPORT, so a second
/// instance would silently share the ports and compete for every user's
/// store. Held (the returned file) until `run` returns; tools that work on
/// single stores offline do not take it.
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File, ServerError> {
    let path = dir.join("server.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| ServerError::DataDir {
            path: path.clone(),
            source,
        })?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(ServerError::DataDir {
            path,
            source: std::io::Error::other(
                "another postcore server is running on this data directory",
            ),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(ServerError::DataDir { path, source }),
    }
}

/// How often a shard looks whether the user database was reloaded, to end
/// the sessions of users kicked meanwhile (`postcore user kick`).
const KICK_POLL: Duration = Duration::from_millis(500);

/// Applies kicks from each reload of the user database to this shard's
/// sessions, until the shard stops.
async fn watch_kicks(shard: Rc<Shard>) {
    let mut seen = shard.users.load_full();
    loop {
        if shard.stop.sleep_or_stopped(KICK_POLL).await {
            return;
        }
        let now = shard.users.load_full();
        if !Arc::ptr_eq(&now, &seen) {
            shard.stores.apply_kicks(&now);
            seen = now;
        }
    }
}

/// Runs the server until SIGTERM or SIGINT.
pub fn run(mut cfg: Config, config_path: Option<PathBuf>) -> Result<(), ServerError> {
    std::fs::create_dir_all(&cfg.data_dir).map_err(|source| ServerError::DataDir {
        path: cfg.data_dir.clone(),
        source,
    })?;
    // glommio opens paths relative to no directory (openat with fd -1), so
    // every path the shards use must be absolute.
    let shown_data_dir = cfg.data_dir.clone();
    cfg.data_dir = std::fs::canonicalize(&cfg.data_dir).map_err(|source| ServerError::DataDir {
        path: cfg.data_dir.clone(),
        source,
    })?;
    let _instance = lock_data_dir(&cfg.data_dir)?;
    let (cert, key) = (cfg.cert_path(), cfg.key_path());
    if cfg.tls_is_generated() && crate::tls::ensure_self_signed(&cert, &key)? {
        println!(
            "postcore: generated a self-signed certificate in {}",
            cert.display()
        );
    }
    let tls = Arc::new(ArcSwap::new(crate::tls::load_server_config(&cert, &key)?));
    let oauth = oauth_validator(&cfg)?;
    // Resolved here, off the executors: afterwards host_name() reads no file.
    if cfg.hostname.is_empty() {
        cfg.hostname = cfg.host_name();
    }
    let passwd = cfg.passwd_path();
    let users: UserDb = Arc::new(ArcSwap::from_pointee(pwfs::load(&passwd)?));
    let stopping = Arc::new(AtomicBool::new(false));

    if !cfg.auth.socket.as_os_str().is_empty() {
        // A socket left by an earlier run would make bind fail.
        match std::fs::remove_file(&cfg.auth.socket) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ServerError::Listen {
                    address: cfg.auth.socket.display().to_string(),
                    reason: e.to_string(),
                });
            }
        }
    }
    // Likewise the admin socket of an earlier run (the data-dir lock above
    // says no other server uses it).
    let admin_file = crate::admin::socket_file(&cfg.data_dir);
    match std::fs::remove_file(&admin_file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(ServerError::Listen {
                address: admin_file.display().to_string(),
                reason: e.to_string(),
            });
        }
    }
    let admin =
        Arc::new(
            crate::admin::Endpoint::open(&cfg.data_dir).map_err(|e| ServerError::Listen {
                address: admin_file.display().to_string(),
                reason: e.to_string(),
            })?,
        );
    spawn_signal_thread(Arc::clone(&stopping), Arc::clone(&tls), cert, key)?;
    spawn_passwd_watcher(Arc::clone(&stopping), Arc::clone(&users), passwd.clone());

    let shards = cfg.shard_count();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let placement = if shards <= cpus {
        PoolPlacement::MaxSpread(shards, None)
    } else {
        PoolPlacement::Unbound(shards)
    };
    let cfg = Arc::new(cfg);
    let conns = ConnTracker::new(
        cfg.limits.max_connections,
        cfg.limits.max_connections_per_ip,
    );
    let mesh = MeshBuilder::<ShardMsg, _>::full(shards, 1024);
    let metrics = crate::metrics::Metrics::new(shards);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<usize, ServerError>>();

    let handles = {
        let cfg = Arc::clone(&cfg);
        let stopping = Arc::clone(&stopping);
        let left = Arc::new(AtomicUsize::new(0));
        LocalExecutorPoolBuilder::new(placement)
            .name("postcore-shard")
            .on_all_shards(move || async move {
                let departure = Departure {
                    left,
                    shards,
                    counted: false,
                };
                shard_main(
                    cfg, tls, users, conns, oauth, stopping, mesh, metrics, admin, ready_tx,
                    departure,
                )
                .await
            })
            .map_err(|e| ServerError::Executors(e.to_string()))?
    };

    let mut started = 0;
    let mut failure = None;
    while started < shards {
        match ready_rx.recv() {
            Ok(Ok(_)) => started += 1,
            Ok(Err(e)) => {
                failure = Some(e);
                break;
            }
            Err(_) => {
                failure = Some(ServerError::Executors("a shard exited at start".into()));
                break;
            }
        }
    }
    if failure.is_none()
        && let Err(e) = set_socket_mode(&admin_file, "0600")
    {
        failure = Some(e);
    }
    if failure.is_none()
        && !cfg.auth.socket.as_os_str().is_empty()
        && let Err(e) = set_socket_mode(&cfg.auth.socket, &cfg.auth.socket_mode)
    {
        failure = Some(e);
    }
    if let Some(e) = failure {
        stopping.store(true, Ordering::Release);
        let _ = handles.join_all();
        return Err(e);
    }
    print_banner(
        &cfg,
        &shown_data_dir,
        shards,
        config_path.as_deref(),
        &passwd,
    );

    for r in handles.join_all() {
        if let Err(e) = r {
            return Err(ServerError::Executors(e.to_string()));
        }
    }
    tracing::info!("postcore stopped");
    Ok(())
}

/// The auth socket's permissions, set from this (non-executor) thread once
/// shard 0 has bound it. Until then it has the process umask's, which is
/// at least as strict for connecting (that needs write permission).
fn set_socket_mode(path: &std::path::Path, mode: &str) -> Result<(), ServerError> {
    use std::os::unix::fs::PermissionsExt;
    let bits = u32::from_str_radix(mode, 8).unwrap_or(0o660);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(bits)).map_err(|e| {
        ServerError::Listen {
            address: path.display().to_string(),
            reason: format!("setting permissions: {e}"),
        }
    })
}

fn print_banner(
    cfg: &Config,
    data_dir: &std::path::Path,
    shards: usize,
    config: Option<&std::path::Path>,
    passwd: &std::path::Path,
) {
    let mut s = String::new();
    s.push_str(&format!(
        "postcore {} serving with {} shard(s), data in {}{}\n",
        env!("CARGO_PKG_VERSION"),
        shards,
        data_dir.display(),
        match config {
            Some(p) => format!(", config {}", p.display()),
            None => " (embedded default config)".to_string(),
        }
    ));
    for l in &cfg.listeners {
        let proto = match l.protocol {
            Protocol::Imap => "IMAP",
            Protocol::Pop3 => "POP3",
            Protocol::Lmtp => "LMTP",
            Protocol::Metrics => "metrics",
        };
        let tls = match (l.protocol, l.tls) {
            (_, TlsMode::Implicit) => " (TLS)",
            (Protocol::Imap | Protocol::Lmtp, TlsMode::Starttls) => " (STARTTLS)",
            (Protocol::Pop3, TlsMode::Starttls) => " (STLS)",
            _ => "",
        };
        let state = if supported(l.protocol) {
            ""
        } else {
            " [not served by this version]"
        };
        let tls = match l.protocol {
            Protocol::Metrics if l.tls == TlsMode::Implicit => {
                format!(" (https://{}/metrics)", l.address)
            }
            Protocol::Metrics => format!(" (http://{}/metrics)", l.address),
            _ => tls.to_string(),
        };
        s.push_str(&format!("  {proto:<7} {}{tls}{state}\n", l.address));
    }
    let cfg_arg = config
        .map(|p| format!(" --config {}", p.display()))
        .unwrap_or_default();
    s.push_str(&format!(
        "users: {} user(s) in {}; add one with: postcore{cfg_arg} user add NAME\n",
        pwfs::load(passwd).map(|d| d.len()).unwrap_or(0),
        passwd.display()
    ));
    s.push_str("connect: e.g. `openssl s_client -connect HOST:PORT` or any IMAP client; the certificate is self-signed unless configured\n");
    print!("{s}");
}

/// Protocols this version serves; listeners for the others are not opened.
fn supported(p: Protocol) -> bool {
    matches!(
        p,
        Protocol::Imap | Protocol::Pop3 | Protocol::Lmtp | Protocol::Metrics
    )
}

fn spawn_signal_thread(
    stopping: Arc<AtomicBool>,
    tls: crate::tls::SharedTls,
    cert: PathBuf,
    key: PathBuf,
) -> Result<(), ServerError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGHUP, SIGINT, SIGTERM])
        .map_err(ServerError::Signals)?;
    std::thread::Builder::new()
        .name("postcore-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                match sig {
                    SIGHUP => match crate::tls::load_server_config(&cert, &key) {
                        Ok(new) => {
                            tls.store(new);
                            tracing::info!("SIGHUP: reloaded the TLS certificate");
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "SIGHUP: keeping the old certificate")
                        }
                    },
                    _ => {
                        tracing::info!(signal = sig, "stopping");
                        stopping.store(true, Ordering::Release);
                        break;
                    }
                }
            }
        })
        .map_err(ServerError::Signals)?;
    Ok(())
}

fn spawn_passwd_watcher(stopping: Arc<AtomicBool>, users: UserDb, path: PathBuf) {
    let stamp = |p: &std::path::Path| -> Option<(SystemTime, u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(p).ok()?;
        Some((m.modified().ok()?, m.len(), m.ino()))
    };
    let mut last = stamp(&path);
    let spawned = std::thread::Builder::new()
        .name("postcore-passwd".into())
        .spawn(move || {
            while !stopping.load(Ordering::Acquire) {
                std::thread::sleep(PASSWD_POLL);
                let now = stamp(&path);
                if now == last {
                    continue;
                }
                match pwfs::load(&path) {
                    Ok(db) => {
                        tracing::info!(users = db.len(), "user database reloaded");
                        users.store(Arc::new(db));
                        last = now;
                    }
                    Err(e) => tracing::error!(error = %e, "user database not reloaded"),
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot watch the user database for changes");
    }
}

#[allow(clippy::too_many_arguments)]
async fn shard_main(
    cfg: Arc<Config>,
    tls: crate::tls::SharedTls,
    users: UserDb,
    conns: Arc<ConnTracker>,
    oauth: Option<Arc<auth::oauth::TokenValidator>>,
    stopping: Arc<AtomicBool>,
    mesh: MeshBuilder<ShardMsg, glommio::channels::channel_mesh::Full>,
    metrics: Arc<crate::metrics::Metrics>,
    admin: Arc<crate::admin::Endpoint>,
    ready: std::sync::mpsc::Sender<Result<usize, ServerError>>,
    departure: Departure,
) {
    let (senders, mut receivers) = match mesh.join().await {
        Ok(pair) => pair,
        Err(e) => {
            let _ = ready.send(Err(ServerError::Executors(format!(
                "joining the shard mesh: {e}"
            ))));
            return;
        }
    };
    let id = senders.peer_id();
    let count = senders.nr_consumers();
    let mut store_cfg = crate::store_config(&cfg);
    store_cfg.observer = Some(metrics.shard(id) as Arc<dyn store::StoreObserver>);
    let stores = OpenStores::new(cfg.data_dir.clone(), store_cfg, STORE_LINGER);
    let mut shard = Shard::new(
        id,
        count,
        Arc::clone(&cfg),
        tls,
        users,
        conns,
        stores,
        senders,
        metrics,
    );
    shard.oauth = oauth;
    let shard = Rc::new(shard);

    let mut listeners = Vec::new();
    for l in cfg.listeners.iter().filter(|l| supported(l.protocol)) {
        match TcpListener::bind(l.address) {
            Ok(sock) => listeners.push((sock, l.clone())),
            Err(e) => {
                let _ = ready.send(Err(ServerError::Listen {
                    address: l.address.to_string(),
                    reason: e.to_string(),
                }));
                return;
            }
        }
    }
    let auth_socket = if id == 0 && !cfg.auth.socket.as_os_str().is_empty() {
        match glommio::net::UnixListener::bind(&cfg.auth.socket) {
            Ok(l) => Some(l),
            Err(e) => {
                let _ = ready.send(Err(ServerError::Listen {
                    address: cfg.auth.socket.display().to_string(),
                    reason: e.to_string(),
                }));
                return;
            }
        }
    } else {
        None
    };
    let admin_socket = if id == 0 {
        match glommio::net::UnixListener::bind(&admin.address) {
            Ok(l) => Some(l),
            Err(e) => {
                let _ = ready.send(Err(ServerError::Listen {
                    address: crate::admin::socket_file(&cfg.data_dir)
                        .display()
                        .to_string(),
                    reason: e.to_string(),
                }));
                return;
            }
        }
    } else {
        None
    };
    if id == 0 {
        for l in cfg.listeners.iter().filter(|l| !supported(l.protocol)) {
            tracing::warn!(address = %l.address, protocol = ?l.protocol, "listener not opened: protocol not served by this version");
        }
    }

    // Background work ends on the stop signal and is waited for, so no task
    // but this one is alive when the executor is torn down.
    let background = [
        glommio::spawn_local(watch_kicks(Rc::clone(&shard))).detach(),
        glommio::spawn_local(crate::retention::sweep(Rc::clone(&shard))).detach(),
        glommio::spawn_local(crate::metrics::sample_event_loop(
            Arc::clone(&shard.metrics),
            Rc::clone(&shard),
        ))
        .detach(),
    ];

    let gate = glommio::sync::Gate::new();
    if let Some(l) = auth_socket {
        let s = Rc::clone(&shard);
        let g = gate.clone();
        gate.spawn(async move { crate::authsock::serve(s, l, g).await })
            .map(|t| t.detach())
            .ok();
    }
    if let Some(l) = admin_socket {
        let s = Rc::clone(&shard);
        let g = gate.clone();
        gate.spawn(async move { crate::admin::serve::listen(s, l, g).await })
            .map(|t| t.detach())
            .ok();
    }
    for (listener, lcfg) in listeners {
        let shard = Rc::clone(&shard);
        let g = gate.clone();
        gate.spawn(async move { accept_loop(shard, listener, lcfg, g).await })
            .map(|t| t.detach())
            .ok();
    }
    for (_, rx) in receivers.streams() {
        let shard = Rc::clone(&shard);
        let g = gate.clone();
        gate.spawn(async move {
            loop {
                let msg = futures_lite::future::or(async { rx.recv().await }, async {
                    shard.stop.wait().await;
                    None
                })
                .await;
                let Some(msg) = msg else { break };
                match msg {
                    ShardMsg::Imap(h) => {
                        let s = Rc::clone(&shard);
                        if let Ok(t) = g.spawn(crate::imap::resume(s, *h)) {
                            t.detach();
                        }
                    }
                    ShardMsg::Pop3(h) => {
                        let s = Rc::clone(&shard);
                        if let Ok(t) = g.spawn(crate::pop3::resume(s, *h)) {
                            t.detach();
                        }
                    }
                    ShardMsg::Deliver(d) => {
                        let s = Rc::clone(&shard);
                        if let Ok(t) = g.spawn(crate::deliver::handle(s, *d)) {
                            t.detach();
                        }
                    }
                    ShardMsg::Admin(a) => {
                        let s = Rc::clone(&shard);
                        if let Ok(t) = g.spawn(crate::admin::serve::on_home_shard(s, *a)) {
                            t.detach();
                        }
                    }
                }
            }
        })
        .map(|t| t.detach())
        .ok();
    }
    let _ = ready.send(Ok(id));

    while !stopping.load(Ordering::Acquire) {
        glommio::timer::sleep(STOP_POLL).await;
    }
    shard.stop.trigger();
    // Sessions see the stop, say BYE and finish their in-flight writes. One
    // whose client does not read cannot say BYE: it is given a grace period,
    // then dropped with the executor (no store write waits on a socket).
    let closed = futures_lite::future::or(
        async {
            if let Err(e) = gate.close().await {
                tracing::warn!(shard = id, error = %e, "waiting for sessions");
            }
            true
        },
        async {
            glommio::timer::sleep(SHUTDOWN_GRACE).await;
            false
        },
    )
    .await;
    if !closed {
        tracing::warn!(
            shard = id,
            "sessions still writing after the grace period; dropping them"
        );
    }
    for task in background {
        task.await;
    }
    shard.close_channels();
    shard.stores.close_all().await;
    departure.leave(id).await;
    tracing::debug!(shard = id, "shard stopped");
}

async fn accept_loop(
    shard: Rc<Shard>,
    listener: TcpListener,
    lcfg: crate::config::ListenerConfig,
    gate: glommio::sync::Gate,
) {
    let what = lcfg.address.to_string();
    let l = &listener;
    crate::shard::accept_each(
        shard,
        gate,
        &what,
        move || l.accept(),
        |s, sock, _| {
            let l = lcfg.clone();
            async move {
                match l.protocol {
                    Protocol::Imap => crate::imap::serve(s, sock, l).await,
                    Protocol::Pop3 => crate::pop3::serve(s, sock, l).await,
                    Protocol::Lmtp => crate::lmtp::serve(s, sock, l).await,
                    Protocol::Metrics => crate::metrics::http::serve(s, sock, l).await,
                }
            }
        },
    )
    .await
}
