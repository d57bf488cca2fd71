//! The POP3 session loop: AUTHORIZATION (USER/PASS, AUTH, STLS, CAPA) on
//! the accepting shard, TRANSACTION and UPDATE on the user's home shard.
//! Pipelined commands (RFC 2449 PIPELINING) are answered in order with one
//! write per batch.

use super::HandedOff;
use super::maildrop::Maildrop;
use crate::config::{ListenerConfig, TlsMode};
use crate::conns::ConnGuard;
use crate::login::{Login, Via, password_login, plaintext_allowed};
use crate::metrics::{LoginProto, Mech};
use crate::shard::{Shard, ShardMsg};
use crate::transport::Conn;
use bytes::{Buf, BytesMut};
use pop3_proto::pop3::{
    self, Capability, Command, Expire, RespCode, SaslResponse, write_err, write_ok,
};
use pop3_proto::{Recovery, skip_to_eol};
use std::io;
use std::rc::Rc;
use std::time::Duration;

/// Consecutive refused commands after which the connection is closed (as
/// Dovecot does), so a confused or hostile client cannot loop forever.
const MAX_ERRORS: u32 = 20;
/// Past this many buffered bytes a long listing or message is written out.
const FLUSH_THRESHOLD: usize = 256 * 1024;

enum State {
    Authorization { user: Option<String> },
    Transaction(Box<Maildrop>),
}

enum Flow {
    Read,
    End,
    Handoff(String),
}

pub(super) struct Session {
    shard: Rc<Shard>,
    conn: Conn,
    rbuf: BytesMut,
    guard: Option<ConnGuard>,
    id: u64,
    listener: ListenerConfig,
    state: State,
    /// When the transaction state began (unix ms): a kick after it ends it.
    login_ms: i64,
    limits: pop3::Limits,
    /// Input is being thrown away up to the next line end (a line over the
    /// limit whose end has not arrived yet).
    discarding: bool,
    errors: u32,
    /// The APOP timestamp of the greeting, when APOP is offered.
    apop_stamp: Option<String>,
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Session {
    pub fn new(
        shard: Rc<Shard>,
        conn: Conn,
        rbuf: BytesMut,
        guard: ConnGuard,
        id: u64,
        listener: ListenerConfig,
    ) -> Session {
        // A client that stops reading is dropped after as long as a silent
        // one would be.
        let _ = conn.set_write_timeout(Some(Duration::from_secs(
            shard.cfg.limits.idle_timeout_secs.max(600),
        )));
        Session {
            shard,
            conn,
            rbuf,
            guard: Some(guard),
            id,
            listener,
            state: State::Authorization { user: None },
            login_ms: 0,
            limits: pop3::Limits::default(),
            discarding: false,
            errors: 0,
            apop_stamp: None,
        }
    }

    pub async fn start_implicit_tls(&mut self) -> io::Result<()> {
        let cfg = self.shard.tls.load_full();
        self.conn.set_read_timeout(Some(Duration::from_secs(
            self.shard.cfg.limits.login_timeout_secs.max(1),
        )))?;
        self.conn.start_tls(cfg, &mut self.rbuf).await
    }

    pub fn greet(&mut self) {
        if self.shard.cfg.pop3.apop {
            // RFC 1939 §7: unique per connection; the session id is.
            let stamp = format!(
                "<{}.{}.{}@{}>",
                std::process::id(),
                self.id,
                now_unix(),
                self.shard.cfg.host_name()
            );
            write_ok(
                &mut self.conn.wbuf,
                format!("postcore POP3 ready. {stamp}").as_bytes(),
            );
            self.apop_stamp = Some(stamp);
        } else {
            write_ok(&mut self.conn.wbuf, b"postcore POP3 ready.");
        }
    }

    fn plaintext_ok(&self) -> bool {
        plaintext_allowed(&self.shard, self.conn.is_tls(), self.conn.peer().ip())
    }

    fn capabilities<'m>(&self, mechanisms: &'m [&'static str]) -> Vec<Capability<'m>> {
        let mut caps = vec![
            Capability::Top,
            Capability::Uidl,
            Capability::RespCodes,
            Capability::AuthRespCode,
            Capability::Pipelining,
        ];
        let days = self.shard.cfg.pop3.delete_after_days;
        caps.push(Capability::Expire {
            expire: if days == 0 {
                Expire::Never
            } else {
                Expire::Days(days)
            },
            per_user: false,
        });
        if let State::Authorization { .. } = self.state {
            if self.plaintext_ok() {
                caps.push(Capability::User);
            }
            caps.push(Capability::Sasl(mechanisms));
            if !self.conn.is_tls() && self.listener.tls == TlsMode::Starttls {
                caps.push(Capability::Stls);
            }
        }
        caps.push(Capability::Implementation("postcore"));
        caps
    }

    pub async fn run(mut self) {
        loop {
            match self.execute_buffered().await {
                Ok(Flow::Read) => {}
                Ok(Flow::End) => break,
                Ok(Flow::Handoff(user)) => return self.handoff(user).await,
                Err(e) => {
                    tracing::debug!(error = %e, "session ended");
                    break;
                }
            }
            if self.conn.flush().await.is_err() {
                break;
            }
            match self.read_more().await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    if e.kind() == io::ErrorKind::TimedOut {
                        write_err(&mut self.conn.wbuf, None, b"Disconnected for inactivity");
                    }
                    break;
                }
            }
        }
        if self.shard.stop.is_stopped() {
            write_err(
                &mut self.conn.wbuf,
                Some(RespCode::SysTemp),
                b"Server shutting down",
            );
        }
        // Leaving without QUIT: nothing is deleted (RFC 1939 §6).
        self.state = State::Authorization { user: None };
        let _ = self.conn.close().await;
    }

    async fn read_more(&mut self) -> io::Result<bool> {
        let secs = match self.state {
            State::Authorization { .. } => self.shard.cfg.limits.login_timeout_secs,
            // RFC 1939 §3: at least 10 minutes.
            State::Transaction(_) => self.shard.cfg.limits.idle_timeout_secs.max(600),
        };
        self.conn
            .set_read_timeout(Some(Duration::from_secs(secs.max(1))))?;
        let shard = Rc::clone(&self.shard);
        let kick = match &self.state {
            State::Transaction(m) => Some(m.sref.kicked_since(self.login_ms)),
            State::Authorization { .. } => None,
        };
        // usize::MAX: the kick won (no read returns that many bytes).
        let got = futures_lite::future::or(
            async { self.conn.fill(&mut self.rbuf).await.map(Some) },
            futures_lite::future::or(
                async {
                    shard.stop.wait().await;
                    Ok(None)
                },
                async {
                    crate::users::kicked_or_never(kick).await;
                    Ok(Some(usize::MAX))
                },
            ),
        )
        .await?;
        if got == Some(usize::MAX) {
            tracing::info!("session ended by user kick");
            // Leaving without QUIT: nothing is deleted (RFC 1939 §6).
            write_err(
                &mut self.conn.wbuf,
                None,
                b"Logged out by the administrator: all sessions of this account were ended",
            );
            return Ok(false);
        }
        Ok(matches!(got, Some(n) if n > 0))
    }

    async fn execute_buffered(&mut self) -> io::Result<Flow> {
        loop {
            if self.shard.stop.is_stopped() {
                return Ok(Flow::End);
            }
            if self.discarding {
                match skip_to_eol(&self.rbuf) {
                    Some(n) => {
                        self.rbuf.advance(n);
                        self.discarding = false;
                    }
                    None => {
                        self.rbuf.clear();
                        return Ok(Flow::Read);
                    }
                }
            }
            // The command borrows the buffer while the session executes it;
            // nothing reads input meanwhile, so the buffer steps aside.
            let rbuf = std::mem::take(&mut self.rbuf);
            let parsed = pop3::parse_command(&rbuf, &self.limits);
            let (flow, consumed) = match parsed {
                Ok(None) => {
                    self.rbuf = rbuf;
                    return Ok(Flow::Read);
                }
                Ok(Some(p)) => {
                    let name = p.value.name();
                    tracing::trace!(command = name, "executing");
                    let consumed = p.consumed;
                    let started = std::time::Instant::now();
                    let flow = self.execute(p.value).await;
                    self.shard.metrics.command(
                        crate::metrics::Proto::Pop3,
                        name,
                        started.elapsed(),
                    );
                    self.rbuf = rbuf;
                    (flow?, consumed)
                }
                Err(e) => {
                    self.rbuf = rbuf;
                    pop3::write_error(&mut self.conn.wbuf, &e);
                    self.errors += 1;
                    let skip = e.recovery.skip().min(self.rbuf.len());
                    self.rbuf.advance(skip);
                    if let Recovery::DiscardToEol { .. } = e.recovery {
                        self.discarding = true;
                    }
                    if self.errors >= MAX_ERRORS {
                        write_err(&mut self.conn.wbuf, None, b"Too many errors, bye");
                        return Ok(Flow::End);
                    }
                    continue;
                }
            };
            self.rbuf.advance(consumed);
            match flow {
                Step::Next => {}
                Step::Quit => return Ok(Flow::End),
                Step::Stls => {
                    let cfg = self.shard.tls.load_full();
                    self.conn.flush().await?;
                    if let Err(e) = self.conn.start_tls(cfg, &mut self.rbuf).await {
                        tracing::debug!(error = %e, "STLS handshake failed");
                        return Ok(Flow::End);
                    }
                    self.shard.metrics.starttls(crate::metrics::Proto::Pop3);
                    // RFC 2595: forget what was said before TLS.
                    self.state = State::Authorization { user: None };
                }
                Step::Sasl(mech, initial) => match self.sasl(mech, initial).await? {
                    Some(Step::LoggedIn(user)) => {
                        if let Some(user) = self.logged_in(user).await {
                            return Ok(Flow::Handoff(user));
                        }
                    }
                    Some(_) => {}
                    None => return Ok(Flow::End),
                },
                Step::LoggedIn(user) => {
                    if let Some(user) = self.logged_in(user).await {
                        return Ok(Flow::Handoff(user));
                    }
                }
            }
            if self.conn.wbuf.len() >= FLUSH_THRESHOLD {
                self.conn.flush().await?;
            }
        }
    }

    /// After a successful authentication: continue here if this is the
    /// user's home shard, else return the user to hand the connection off.
    async fn logged_in(&mut self, user: String) -> Option<String> {
        if self.shard.home_of(&user) != self.shard.id {
            return Some(user);
        }
        self.enter_user(user).await;
        None
    }

    async fn handoff(self, user: String) {
        let Session {
            shard,
            conn,
            rbuf,
            guard,
            id,
            listener,
            ..
        } = self;
        let Some(guard) = guard else { return };
        let home = shard.home_of(&user);
        let h = match conn.into_handoff(rbuf).await {
            Ok(h) => h,
            Err(e) => {
                tracing::debug!(error = %e, "hand-off failed");
                return;
            }
        };
        let msg = ShardMsg::Pop3(Box::new(HandedOff {
            conn: h,
            user,
            guard,
            session_id: id,
            listener,
        }));
        if !shard.send_to(home, msg).await {
            tracing::warn!(home, "home shard is gone; connection dropped");
        }
    }

    /// On the home shard: lock and list the maildrop, answer the login.
    pub async fn enter_user(&mut self, user: String) {
        if crate::users::protocol_disabled(&self.shard.users, &user, "pop3") {
            tracing::info!(user, "login refused: POP3 disabled for this user");
            write_err(
                &mut self.conn.wbuf,
                Some(RespCode::Auth),
                b"POP3 access is disabled for this account",
            );
            return;
        }
        let sref = match self.shard.stores.acquire(&user).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(user, error = %e, "cannot open the user's store");
                write_err(
                    &mut self.conn.wbuf,
                    Some(RespCode::SysTemp),
                    b"Mailbox unavailable, try later",
                );
                return;
            }
        };
        if sref.sessions_of_user > self.shard.cfg.limits.max_connections_per_user {
            write_err(
                &mut self.conn.wbuf,
                Some(RespCode::InUse),
                b"Too many connections for this user",
            );
            return;
        }
        match Maildrop::open(sref, &self.shard.cfg.pop3) {
            Ok(Some(m)) => {
                tracing::Span::current().record("user", user.as_str());
                let (n, size) = m.stat();
                tracing::info!(user, messages = n, octets = size, "logged in");
                write_ok(
                    &mut self.conn.wbuf,
                    format!("Logged in, {n} messages ({size} octets)").as_bytes(),
                );
                self.login_ms = crate::users::now_ms();
                self.state = State::Transaction(Box::new(m));
            }
            Ok(None) => {
                tracing::info!(user, "maildrop in use");
                write_err(
                    &mut self.conn.wbuf,
                    Some(RespCode::InUse),
                    b"Mailbox is locked by another POP3 session",
                );
            }
            Err(e) => {
                tracing::error!(user, error = %e, "cannot list the maildrop");
                write_err(
                    &mut self.conn.wbuf,
                    Some(RespCode::SysTemp),
                    b"Mailbox unavailable, try later",
                );
            }
        }
    }

    async fn execute(&mut self, cmd: Command<'_>) -> io::Result<Step> {
        self.errors = 0;
        let plain_ok = self.plaintext_ok();
        let can_stls = !self.conn.is_tls() && self.listener.tls == TlsMode::Starttls;
        let out = &mut self.conn.wbuf;
        match (&mut self.state, cmd) {
            (_, Command::Capa) => {
                let mechanisms = crate::login::sasl_mechanisms(&self.shard, plain_ok);
                let caps = self.capabilities(&mechanisms);
                pop3::write_capa(&mut self.conn.wbuf, &caps);
            }
            (_, Command::Noop) => write_ok(out, b""),
            (State::Authorization { .. }, Command::Quit) => {
                write_ok(out, b"Bye");
                return Ok(Step::Quit);
            }
            (State::Authorization { .. }, Command::Stls) => {
                if !can_stls {
                    write_err(out, None, b"STLS not available");
                } else {
                    write_ok(out, b"Begin TLS negotiation");
                    return Ok(Step::Stls);
                }
            }
            (State::Authorization { user }, Command::User(name)) => {
                // Whether the user exists is only revealed after PASS.
                if !plain_ok {
                    write_err(
                        out,
                        Some(RespCode::Auth),
                        b"Plaintext authentication disallowed on non-secure connections",
                    );
                } else {
                    *user = Some(String::from_utf8_lossy(name).into_owned());
                    write_ok(out, b"");
                }
            }
            (State::Authorization { user }, Command::Pass(pw)) => {
                let Some(name) = user.take() else {
                    write_err(out, None, b"USER first");
                    return Ok(Step::Next);
                };
                let pw = pw.to_vec();
                self.conn.flush().await?;
                let via = Via(LoginProto::Pop3, Mech::Password);
                match password_login(&self.shard, via, self.conn.peer().ip(), &name, pw).await {
                    Login::Ok(u) => return Ok(Step::LoggedIn(u)),
                    Login::Failed => write_err(
                        &mut self.conn.wbuf,
                        Some(RespCode::Auth),
                        b"Authentication failed",
                    ),
                    Login::Locked => write_err(
                        &mut self.conn.wbuf,
                        Some(RespCode::Auth),
                        b"Too many failed logins; try again later",
                    ),
                }
            }
            (State::Authorization { .. }, Command::Apop { name, digest }) => {
                let Some(stamp) = self.apop_stamp.clone() else {
                    write_err(out, None, b"APOP is not enabled");
                    return Ok(Step::Next);
                };
                let name = String::from_utf8_lossy(name).into_owned();
                let ip = self.conn.peer().ip();
                self.conn.flush().await?;
                match apop_check(&self.shard, &name, &stamp, &digest) {
                    Some(user) => {
                        self.shard
                            .throttle
                            .borrow_mut()
                            .record_success(ip, &user, Shard::now_ms());
                        crate::login::succeeded(&self.shard, Via(LoginProto::Pop3, Mech::Apop));
                        return Ok(Step::LoggedIn(user));
                    }
                    None => {
                        let via = Via(LoginProto::Pop3, Mech::Apop);
                        crate::login::failed(&self.shard, via, ip, Some(&name)).await;
                        write_err(
                            &mut self.conn.wbuf,
                            Some(RespCode::Auth),
                            b"Authentication failed",
                        );
                    }
                }
            }
            (
                State::Authorization { .. },
                Command::Auth {
                    mechanism: None, ..
                },
            ) => {
                // The pre-RFC 5034 mechanism listing.
                write_ok(out, b"");
                for m in crate::login::sasl_mechanisms(&self.shard, plain_ok) {
                    out.extend_from_slice(m.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b".\r\n");
            }
            (
                State::Authorization { .. },
                Command::Auth {
                    mechanism: Some(m),
                    initial,
                },
            ) => {
                let Some(mech) = auth::sasl::Mechanism::from_name(m) else {
                    write_err(out, None, b"Unsupported authentication mechanism");
                    return Ok(Step::Next);
                };
                if mech.needs_protection() && !plain_ok {
                    write_err(
                        &mut self.conn.wbuf,
                        Some(RespCode::Auth),
                        b"Plaintext authentication disallowed on non-secure connections",
                    );
                    return Ok(Step::Next);
                }
                let initial = match initial {
                    None => None,
                    Some(SaslResponse::Empty) => Some(Vec::new()),
                    Some(SaslResponse::Data(d)) => match crate::login::base64_decode(d) {
                        Some(v) => Some(v),
                        None => {
                            write_err(&mut self.conn.wbuf, None, b"Invalid base64");
                            return Ok(Step::Next);
                        }
                    },
                    Some(SaslResponse::Cancel) => {
                        write_err(&mut self.conn.wbuf, None, b"Authentication cancelled");
                        return Ok(Step::Next);
                    }
                };
                return Ok(Step::Sasl(mech, initial));
            }
            (State::Authorization { .. }, _) => write_err(out, None, b"Log in first"),
            (State::Transaction(_), Command::Quit) => {
                self.quit().await;
                return Ok(Step::Quit);
            }
            (State::Transaction(m), cmd) => transaction(m, cmd, &self.shard, out).await,
        }
        Ok(Step::Next)
    }

    /// QUIT in the TRANSACTION state: the UPDATE state (RFC 1939 §6).
    async fn quit(&mut self) {
        let State::Transaction(m) = &self.state else {
            return;
        };
        match m.update(&self.shard.cfg.pop3, now_unix()).await {
            Ok(n) => {
                tracing::info!(deleted = n, "POP3 session ended");
                write_ok(
                    &mut self.conn.wbuf,
                    format!("Logging out, {n} messages deleted").as_bytes(),
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "POP3 deletions failed");
                write_err(
                    &mut self.conn.wbuf,
                    Some(RespCode::SysTemp),
                    b"Some deleted messages were not removed",
                );
            }
        }
        self.state = State::Authorization { user: None };
    }

    /// AUTH exchange. None when the connection ended meanwhile.
    async fn sasl(
        &mut self,
        mech: auth::sasl::Mechanism,
        initial: Option<Vec<u8>>,
    ) -> io::Result<Option<Step>> {
        use auth::sasl::Progress;
        let Some(mut sasl) = crate::login::sasl_server(&self.shard, mech) else {
            write_err(
                &mut self.conn.wbuf,
                None,
                b"Unsupported authentication mechanism",
            );
            return Ok(Some(Step::Next));
        };
        let ip = self.conn.peer().ip();
        let via = Via(LoginProto::Pop3, mech.into());
        let mut progress = sasl.start(initial.as_deref());
        loop {
            let p = match progress {
                Ok(p) => p,
                Err(e) => {
                    tracing::debug!(error = %e, "SASL exchange failed");
                    self.conn.flush().await?;
                    crate::login::failed(&self.shard, via, ip, None).await;
                    write_err(
                        &mut self.conn.wbuf,
                        Some(RespCode::Auth),
                        b"Authentication failed",
                    );
                    return Ok(Some(Step::Next));
                }
            };
            match p {
                Progress::Challenge(c) => {
                    pop3::write_sasl_challenge(
                        &mut self.conn.wbuf,
                        crate::login::base64_encode(&c).as_bytes(),
                    );
                    self.conn.flush().await?;
                    let resp = loop {
                        match pop3::parse_sasl_response(&self.rbuf, &self.limits) {
                            Ok(Some(r)) => {
                                let v = match r.value {
                                    SaslResponse::Cancel => None,
                                    SaslResponse::Empty => Some(Some(Vec::new())),
                                    SaslResponse::Data(d) => Some(crate::login::base64_decode(d)),
                                };
                                self.rbuf.advance(r.consumed);
                                break v;
                            }
                            Ok(None) => {
                                if !self.read_more().await? {
                                    return Ok(None);
                                }
                            }
                            Err(e) => {
                                self.rbuf.advance(e.recovery.skip().min(self.rbuf.len()));
                                if let pop3_proto::Recovery::DiscardToEol { .. } = e.recovery {
                                    // The rest of this line is still coming
                                    // and must not be taken for a command.
                                    self.discarding = true;
                                    write_err(&mut self.conn.wbuf, None, b"Line too long");
                                    return Ok(Some(Step::Next));
                                }
                                break Some(None);
                            }
                        }
                    };
                    match resp {
                        None => {
                            write_err(&mut self.conn.wbuf, None, b"Authentication cancelled");
                            return Ok(Some(Step::Next));
                        }
                        Some(None) => {
                            write_err(&mut self.conn.wbuf, None, b"Invalid base64");
                            return Ok(Some(Step::Next));
                        }
                        Some(Some(bytes)) => progress = sasl.step(&bytes),
                    }
                }
                Progress::VerifyPassword(creds) => {
                    let name = creds.username.as_str().to_string();
                    let pass = creds.password.as_bytes().to_vec();
                    self.conn.flush().await?;
                    return Ok(Some(
                        match password_login(&self.shard, via, ip, &name, pass).await {
                            Login::Ok(u) => Step::LoggedIn(u),
                            Login::Failed | Login::Locked => {
                                write_err(
                                    &mut self.conn.wbuf,
                                    Some(RespCode::Auth),
                                    b"Authentication failed",
                                );
                                Step::Next
                            }
                        },
                    ));
                }
                Progress::NeedScramSecrets { username } => {
                    let db = self.shard.users.load();
                    let secrets = db
                        .get(username.as_str())
                        .and_then(|e| e.scram_secrets())
                        .and_then(Result::ok);
                    progress = sasl.scram_secrets(secrets.as_ref());
                }
                Progress::Authenticated { username } => {
                    let user = username.into_string();
                    if !crate::login::known_user(&self.shard, &user) {
                        self.conn.flush().await?;
                        crate::login::failed(&self.shard, via, ip, Some(&user)).await;
                        write_err(
                            &mut self.conn.wbuf,
                            Some(RespCode::Auth),
                            b"Authentication failed",
                        );
                        return Ok(Some(Step::Next));
                    }
                    crate::login::succeeded(&self.shard, via);
                    return Ok(Some(Step::LoggedIn(user)));
                }
            }
        }
    }
}

enum Step {
    Next,
    Quit,
    Stls,
    Sasl(auth::sasl::Mechanism, Option<Vec<u8>>),
    LoggedIn(String),
}

/// Commands of the TRANSACTION state.
async fn transaction(m: &mut Maildrop, cmd: Command<'_>, shard: &Shard, out: &mut BytesMut) {
    const NO_SUCH: &[u8] = b"No such message";
    match cmd {
        Command::Stat => {
            let (n, size) = m.stat();
            pop3::write_stat(out, n, size);
        }
        Command::List(None) => {
            write_ok(out, b"");
            for (i, msg) in m.msgs.iter().enumerate() {
                if !msg.deleted {
                    pop3::write_listing(out, i as u32 + 1, msg.size);
                }
            }
            pop3::write_multiline_end(out);
        }
        Command::List(Some(n)) => match m.get(n) {
            Some(msg) => pop3::write_ok_scan(out, n, msg.size),
            None => write_err(out, None, NO_SUCH),
        },
        Command::Uidl(None) => {
            write_ok(out, b"");
            for (i, msg) in m.msgs.iter().enumerate() {
                if !msg.deleted {
                    pop3::write_uidl(
                        out,
                        i as u32 + 1,
                        Maildrop::uidl(msg, &shard.cfg.pop3.uidl_format).as_bytes(),
                    );
                }
            }
            pop3::write_multiline_end(out);
        }
        Command::Uidl(Some(n)) => match m.get(n) {
            Some(msg) => {
                out.extend_from_slice(b"+OK ");
                out.extend_from_slice(n.to_string().as_bytes());
                out.extend_from_slice(b" ");
                out.extend_from_slice(Maildrop::uidl(msg, &shard.cfg.pop3.uidl_format).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            None => write_err(out, None, NO_SUCH),
        },
        Command::Retr(n) | Command::Top { msg: n, .. } => {
            let Some(msg) = m.get(n) else {
                write_err(out, None, NO_SUCH);
                return;
            };
            let bytes = match m.sref.store.read_message(msg.mailbox, msg.uid).await {
                Ok(b) => b,
                Err(store::StoreError::NoSuchMessage(_)) => {
                    write_err(out, None, b"Message was deleted by another session");
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, uid = msg.uid, "reading a message failed");
                    write_err(out, Some(RespCode::SysTemp), b"Cannot read the message now");
                    return;
                }
            };
            if let Command::Top { lines, .. } = cmd {
                write_ok(out, b"");
                pop3::write_top(out, &bytes, lines);
            } else {
                write_ok(out, format!("{} octets", msg.size).as_bytes());
                pop3::write_message(out, &bytes);
                if shard.cfg.pop3.mark_seen_on_retr
                    && let Err(e) = m.mark_seen(msg).await
                {
                    tracing::warn!(error = %e, "setting \\Seen after RETR failed");
                }
            }
        }
        Command::Dele(n) => {
            if m.mark(n) {
                write_ok(out, b"Marked to be deleted");
            } else {
                write_err(out, None, NO_SUCH);
            }
        }
        Command::Rset => {
            m.unmark_all();
            let (n, size) = m.stat();
            write_ok(out, format!("{n} messages ({size} octets)").as_bytes());
        }
        Command::User(_)
        | Command::Pass(_)
        | Command::Apop { .. }
        | Command::Auth { .. }
        | Command::Stls => {
            write_err(out, None, b"Already logged in");
        }
        Command::Utf8 => write_err(out, None, b"UTF8 is not supported"),
        Command::Capa | Command::Noop | Command::Quit => write_ok(out, b""),
    }
}

/// APOP (RFC 1939 §7): MD5 of the greeting's timestamp and the password.
/// Only possible with the password in clear text, so only for `{PLAIN}`
/// entries when `[auth] allow_plain_scheme` is on. The canonical user name
/// on success.
fn apop_check(shard: &Shard, name: &str, stamp: &str, digest: &[u8; 16]) -> Option<String> {
    use md5::{Digest, Md5};
    use subtle::ConstantTimeEq;
    let user = auth::username::Username::new(name).ok()?.into_string();
    if !shard.cfg.auth.allow_plain_scheme {
        return None;
    }
    let db = shard.users.load();
    let field = db.get(&user)?.password()?.to_owned();
    let stored = auth::scheme::StoredPassword::parse(&field).ok()?;
    if stored.scheme() != auth::scheme::Scheme::Plain {
        return None;
    }
    let mut h = Md5::new();
    h.update(stamp.as_bytes());
    h.update(stored.data().as_bytes());
    let ours: [u8; 16] = h.finalize().into();
    bool::from(ours.ct_eq(digest)).then_some(user)
}
