//! The IMAP session loop: read, parse every complete command in the buffer,
//! execute them in order, write all their responses with one flush, and
//! between commands tell the client what other sessions changed.

use super::HandedOff;
use crate::config::{ListenerConfig, TlsMode};
use crate::conns::ConnGuard;
use crate::login::Via;
use crate::metrics::{LoginProto, Mech, Proto};
use crate::shard::{Shard, ShardMsg};
use crate::transport::Conn;
use crate::users::StoreRef;
use bytes::{Buf, BytesMut};
use imap_exec::view::{MailboxView, SyncRules};
use imap_exec::{ExecError, Sink};
use imap_proto::encode::{self, Code, RespStatus};
use imap_proto::{Command, CommandBody, CommandReader, Limits, Parsed, Recovery};
use std::io;
use std::rc::Rc;
use std::time::Duration;

/// Past this many buffered response bytes, long responses are written out
/// before more are produced (and the session waits for a slow reader).
const FLUSH_THRESHOLD: usize = 256 * 1024;

/// Extensions the client turned on with ENABLE (RFC 5161).
#[derive(Debug, Clone, Copy, Default)]
pub struct Enabled {
    pub rev2: bool,
    pub utf8: bool,
    /// RFC 7162: by ENABLE, or by any CONDSTORE-enabling command (a MODSEQ
    /// fetch or search item, CHANGEDSINCE, UNCHANGEDSINCE, SELECT
    /// (CONDSTORE), STATUS HIGHESTMODSEQ). Untagged FETCH then carry MODSEQ.
    pub condstore: bool,
    /// RFC 7162 §3.2: only by ENABLE QRESYNC (which implies CONDSTORE).
    /// Expunges are then announced as VANISHED.
    pub qresync: bool,
    /// RFC 9586, by ENABLE UIDONLY: no message numbers either way.
    pub uid_only: bool,
}

impl Enabled {
    /// Expunges go out as VANISHED (UIDs), not EXPUNGE (numbers).
    pub fn vanished(&self) -> bool {
        self.qresync || self.uid_only
    }
}

/// A read that lost to a kick (no real read returns this many bytes).
const KICKED: usize = usize::MAX;

pub(super) struct UserCx {
    pub name: String,
    pub sref: StoreRef,
    /// When this session logged in (unix ms): a kick after it ends it.
    pub login_ms: i64,
}

pub(super) struct Selected {
    pub view: MailboxView,
    pub name: String,
    pub read_only: bool,
    /// UIDs that are \Recent in this session (ascending).
    pub recent: Vec<u32>,
    /// RFC 5267 UPDATE searches, which end with the selection.
    pub contexts: super::context::Contexts,
}

impl Selected {
    /// How FETCH responses for this selection are written in a session
    /// with `enabled` on; `uid_command`: every response carries UID.
    pub fn fetch_options(
        &self,
        enabled: Enabled,
        uid_command: bool,
    ) -> imap_exec::fetch::FetchOptions<'_> {
        imap_exec::fetch::FetchOptions {
            uid_command,
            read_only: self.read_only,
            utf8: enabled.utf8,
            // Once CONDSTORE is on, every FETCH response carries MODSEQ
            // (RFC 7162 §3.1.2.2 for the ones that change flags; harmless
            // and simpler for clients on the others, as Dovecot does).
            condstore: enabled.condstore,
            rev2: enabled.rev2,
            recent: if enabled.rev2 { &[] } else { &self.recent },
            uid_only: enabled.uid_only,
        }
    }
}

/// What the loop does after a command.
pub(super) enum Next {
    Continue,
    /// LOGOUT answered, or the connection must end.
    Close,
    StartTls,
    /// COMPRESS answered OK: compress from the next byte on.
    Compress,
    Idle(Vec<u8>),
    Authenticate {
        tag: Vec<u8>,
        mechanism: auth::sasl::Mechanism,
        initial: Option<Vec<u8>>,
    },
    /// Authenticated as this user, whose home is another shard.
    Handoff {
        user: String,
        tag: Vec<u8>,
    },
}

/// Everything of a session but its read buffer, so a parsed command (which
/// borrows the buffer) can be executed with `&mut Cx`.
pub(super) struct Cx {
    pub shard: Rc<Shard>,
    pub conn: Conn,
    pub guard: Option<ConnGuard>,
    pub id: u64,
    pub listener: ListenerConfig,
    pub enabled: Enabled,
    pub user: Option<UserCx>,
    pub selected: Option<Selected>,
    /// SEARCHRES saved result, as UIDs.
    pub saved: Option<Vec<u32>>,
    /// Set when the running command's message set was cut to the first
    /// `max_messages_per_command` (RFC 9738 MESSAGELIMIT).
    pub cut_to: Option<u32>,
    /// NOTIFY SET in force (RFC 5465); `None` before it and after NONE.
    pub notify: Option<super::notify::NotifyState>,
}

pub struct Session {
    rbuf: BytesMut,
    reader: CommandReader,
    cx: Cx,
}

/// How the loop goes on after a batch of commands.
enum Flow {
    Read,
    End,
    Handoff { user: String, tag: Vec<u8> },
}

impl Sink for Conn {
    fn buf(&mut self) -> &mut BytesMut {
        &mut self.wbuf
    }

    async fn flush_if_full(&mut self) -> io::Result<()> {
        if self.wbuf.len() >= FLUSH_THRESHOLD {
            self.flush().await?;
        }
        Ok(())
    }
}

pub(super) fn parser_limits(shard: &Shard) -> Limits {
    let l = &shard.cfg.limits;
    Limits {
        max_line: l.max_line_length,
        max_literal: l.max_literal_size,
        ..Limits::default()
    }
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
        let reader = CommandReader::new(parser_limits(&shard));
        // A client that stops reading is dropped after as long as a silent
        // one would be, instead of holding its session (and store) forever.
        let _ = conn.set_write_timeout(Some(Duration::from_secs(
            shard.cfg.limits.idle_timeout_secs.max(1),
        )));
        Session {
            rbuf,
            reader,
            cx: Cx {
                shard,
                conn,
                guard: Some(guard),
                id,
                listener,
                enabled: Enabled::default(),
                user: None,
                selected: None,
                saved: None,
                cut_to: None,
                notify: None,
            },
        }
    }

    pub fn set_enabled(&mut self, e: Enabled) {
        self.cx.enabled = e;
    }

    pub async fn start_implicit_tls(&mut self) -> io::Result<()> {
        let cfg = self.cx.shard.tls.load_full();
        self.cx.conn.set_read_timeout(Some(Duration::from_secs(
            self.cx.shard.cfg.limits.login_timeout_secs,
        )))?;
        self.cx.conn.start_tls(cfg, &mut self.rbuf).await
    }

    pub fn greet(&mut self) {
        let caps = self.cx.capabilities();
        let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
        encode::untagged_status(
            &mut self.cx.conn.wbuf,
            RespStatus::Ok,
            Some(&Code::Capability(&caps)),
            "postcore ready.",
        );
    }

    /// Completes a login on the user's home shard: opens the store and
    /// answers the login command. False if the session cannot go on.
    pub async fn finish_login(&mut self, user: String, tag: &[u8]) -> bool {
        match self.cx.enter_user(user, tag).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "login could not be completed");
                let _ = self.cx.conn.flush().await;
                false
            }
        }
    }

    pub async fn run(mut self) {
        loop {
            match self.execute_buffered().await {
                Ok(Flow::Read) => {}
                Ok(Flow::End) => break,
                Ok(Flow::Handoff { user, tag }) => return self.handoff(user, tag).await,
                Err(e) => {
                    tracing::debug!(error = %e, "session ended");
                    break;
                }
            }
            if self.cx.conn.flush().await.is_err() {
                break;
            }
            match self.read_or_push().await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    if e.kind() == io::ErrorKind::TimedOut {
                        encode::bye(
                            &mut self.cx.conn.wbuf,
                            None,
                            "Autologout; idle for too long",
                        );
                    }
                    tracing::debug!(error = %e, "read ended");
                    break;
                }
            }
        }
        self.end().await
    }

    async fn end(mut self) {
        if self.cx.shard.stop.is_stopped() {
            encode::bye(&mut self.cx.conn.wbuf, None, "Server shutting down");
        }
        // Leave the mailbox and the store before the socket goes.
        self.cx.selected = None;
        if let Some(u) = self.cx.user.take() {
            tracing::info!(user = u.name, "session ended");
        }
        let _ = self.cx.conn.close().await;
    }

    /// Reads the next command; meanwhile, under NOTIFY, writes changes as
    /// they happen (only between commands: never into a half-sent one).
    async fn read_or_push(&mut self) -> io::Result<bool> {
        // The autologout counts from the client's last command, not from
        // the last change pushed to it.
        let deadline = std::time::Instant::now() + self.silence_limit();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no command"));
            }
            let store = match (&self.cx.notify, self.rbuf.is_empty()) {
                (Some(_), true) => self.cx.store(),
                _ => None,
            };
            let Some(store) = store else {
                return self.read_more_within(left).await;
            };
            let generation = store.change_generation();
            self.cx.push_notify().await?;
            self.cx.conn.flush().await?;
            let got = futures_lite::future::or(
                async { self.read_more_within(left).await.map(Some) },
                async {
                    store.wait_change(generation).await;
                    Ok(None)
                },
            )
            .await?;
            if let Some(more) = got {
                return Ok(more);
            }
        }
    }

    /// How long a session may stay silent before it is logged out.
    fn silence_limit(&self) -> Duration {
        let secs = if self.cx.user.is_some() {
            self.cx.shard.cfg.limits.idle_timeout_secs
        } else {
            self.cx.shard.cfg.limits.login_timeout_secs
        };
        Duration::from_secs(secs.max(1))
    }

    /// Reads more input. False when the client closed or the shard stops.
    async fn read_more(&mut self) -> io::Result<bool> {
        let limit = self.silence_limit();
        self.read_more_within(limit).await
    }

    async fn read_more_within(&mut self, limit: Duration) -> io::Result<bool> {
        self.cx.conn.set_read_timeout(Some(limit))?;
        let shard = Rc::clone(&self.cx.shard);
        let kick = self
            .cx
            .user
            .as_ref()
            .map(|u| u.sref.kicked_since(u.login_ms));
        let got = futures_lite::future::or(
            async { self.cx.conn.fill(&mut self.rbuf).await.map(Some) },
            futures_lite::future::or(
                async {
                    shard.stop.wait().await;
                    Ok(None)
                },
                async {
                    crate::users::kicked_or_never(kick).await;
                    Ok(Some(KICKED))
                },
            ),
        )
        .await?;
        if got == Some(KICKED) {
            self.cx.kicked();
            return Ok(false);
        }
        Ok(matches!(got, Some(n) if n > 0))
    }

    /// Executes every complete command in the buffer. False when the
    /// session is over.
    async fn execute_buffered(&mut self) -> io::Result<Flow> {
        loop {
            if self.cx.shard.stop.is_stopped() {
                return Ok(Flow::End);
            }
            let parsed = self.reader.parse(&self.rbuf);
            let (next, consumed) = match parsed {
                Ok(Parsed::Command { command, consumed }) => {
                    let name = command.body.name();
                    let started = std::time::Instant::now();
                    let next = self.cx.execute(command).await?;
                    self.cx
                        .shard
                        .metrics
                        .command(Proto::Imap, name, started.elapsed());
                    (next, consumed)
                }
                Ok(Parsed::Continue { .. }) => {
                    encode::continuation(&mut self.cx.conn.wbuf, "Ready for literal data");
                    return Ok(Flow::Read);
                }
                Ok(Parsed::Incomplete { .. }) => return Ok(Flow::Read),
                Err(e) => {
                    tracing::debug!(kind = ?e.kind, "command refused by the parser");
                    encode::parse_error(&mut self.cx.conn.wbuf, &e);
                    match e.recovery {
                        Recovery::Resync { skip } => {
                            self.rbuf.advance(skip.min(self.rbuf.len()));
                            continue;
                        }
                        Recovery::Close => return Ok(Flow::End),
                    }
                }
            };
            self.rbuf.advance(consumed);
            let next = match next {
                Next::Authenticate {
                    tag,
                    mechanism,
                    initial,
                } => match self.authenticate(&tag, mechanism, initial).await? {
                    Some(n) => n,
                    None => return Ok(Flow::End),
                },
                other => other,
            };
            match next {
                Next::Continue | Next::Authenticate { .. } => {}
                Next::Close => return Ok(Flow::End),
                Next::StartTls => {
                    let cfg = self.cx.shard.tls.load_full();
                    self.cx.conn.flush().await?;
                    if let Err(e) = self.cx.conn.start_tls(cfg, &mut self.rbuf).await {
                        tracing::debug!(error = %e, "STARTTLS handshake failed");
                        return Ok(Flow::End);
                    }
                    self.cx.shard.metrics.starttls(Proto::Imap);
                    self.reader.reset();
                }
                Next::Compress => {
                    self.cx.conn.flush().await?;
                    let level = self.cx.shard.cfg.imap.compress_level;
                    self.cx.conn.start_deflate(level);
                    // Bytes the client sent after COMPRESS are compressed.
                    let rest = self.rbuf.split();
                    self.cx.conn.received_compressed(&rest);
                }
                Next::Idle(tag) => {
                    if !self.idle(&tag).await? {
                        return Ok(Flow::End);
                    }
                }
                Next::Handoff { user, tag } => return Ok(Flow::Handoff { user, tag }),
            }
        }
    }

    /// Moves the connection to the user's home shard.
    async fn handoff(self, user: String, tag: Vec<u8>) {
        let Session { rbuf, cx, .. } = self;
        let Cx {
            shard,
            conn,
            guard,
            id,
            listener,
            enabled,
            ..
        } = cx;
        let home = shard.home_of(&user);
        let Some(guard) = guard else {
            return;
        };
        let h = match conn.into_handoff(rbuf).await {
            Ok(h) => h,
            Err(e) => {
                tracing::debug!(error = %e, "hand-off failed");
                return;
            }
        };
        let msg = ShardMsg::Imap(Box::new(HandedOff {
            conn: h,
            user,
            tag,
            guard,
            session_id: id,
            listener,
            enabled,
        }));
        if !shard.send_to(home, msg).await {
            tracing::warn!(home, "home shard is gone; connection dropped");
        } else {
            tracing::debug!(home, "handed off to the home shard");
        }
    }

    /// IDLE (RFC 2177): report changes as they happen until DONE.
    async fn idle(&mut self, tag: &[u8]) -> io::Result<bool> {
        encode::continuation(&mut self.cx.conn.wbuf, "idling");
        let limits = parser_limits(&self.cx.shard);
        loop {
            self.cx.sync_and_notify(true).await?;
            self.cx.conn.flush().await?;
            // Input first: DONE may already be buffered (pipelined).
            match imap_proto::parse_idle_done(&self.rbuf, &limits) {
                Ok(imap_proto::Line::Done { consumed, .. }) => {
                    self.rbuf.advance(consumed);
                    self.cx.sync_and_notify(true).await?;
                    encode::tagged(
                        &mut self.cx.conn.wbuf,
                        tag,
                        RespStatus::Ok,
                        None,
                        "IDLE terminated",
                    );
                    return Ok(true);
                }
                Ok(imap_proto::Line::Incomplete) => {}
                Err(e) => {
                    let skip = match e.recovery {
                        Recovery::Resync { skip } => Some(skip),
                        Recovery::Close => None,
                    };
                    let Some(skip) = skip else {
                        encode::parse_error(&mut self.cx.conn.wbuf, &e);
                        return Ok(false);
                    };
                    self.rbuf.advance(skip.min(self.rbuf.len()));
                    encode::tagged(
                        &mut self.cx.conn.wbuf,
                        tag,
                        RespStatus::Bad,
                        None,
                        "Expected DONE",
                    );
                    return Ok(true);
                }
            }
            let store = self.cx.user.as_ref().map(|u| Rc::clone(&u.sref.store));
            let generation = store.as_ref().map_or(0, |s| s.change_generation());
            let shard = Rc::clone(&self.cx.shard);
            self.cx.conn.set_read_timeout(Some(Duration::from_secs(
                shard.cfg.limits.idle_timeout_secs.max(1),
            )))?;
            enum Woke {
                Input(usize),
                Change,
                Stop,
                Kicked,
                Timeout,
            }
            let kick = self
                .cx
                .user
                .as_ref()
                .map(|u| u.sref.kicked_since(u.login_ms));
            let woke = futures_lite::future::or(
                async {
                    match self.cx.conn.fill(&mut self.rbuf).await {
                        Ok(n) => Ok(Woke::Input(n)),
                        Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(Woke::Timeout),
                        Err(e) => Err(e),
                    }
                },
                futures_lite::future::or(
                    async {
                        match &store {
                            Some(s) => s.wait_change(generation).await,
                            None => std::future::pending::<()>().await,
                        }
                        Ok(Woke::Change)
                    },
                    futures_lite::future::or(
                        async {
                            shard.stop.wait().await;
                            Ok(Woke::Stop)
                        },
                        async {
                            crate::users::kicked_or_never(kick).await;
                            Ok(Woke::Kicked)
                        },
                    ),
                ),
            )
            .await?;
            match woke {
                Woke::Input(0) | Woke::Stop => return Ok(false),
                Woke::Kicked => {
                    self.cx.kicked();
                    return Ok(false);
                }
                Woke::Timeout => {
                    encode::bye(
                        &mut self.cx.conn.wbuf,
                        None,
                        "Autologout; idle for too long",
                    );
                    return Ok(false);
                }
                Woke::Input(_) | Woke::Change => {}
            }
        }
    }

    /// AUTHENTICATE (RFC 9051 §6.2.2, SASL-IR RFC 4959). None when the
    /// connection ended during the exchange.
    async fn authenticate(
        &mut self,
        tag: &[u8],
        mechanism: auth::sasl::Mechanism,
        initial: Option<Vec<u8>>,
    ) -> io::Result<Option<Next>> {
        use auth::sasl::Progress;
        let Some(mut sasl) = crate::login::sasl_server(&self.cx.shard, mechanism) else {
            encode::tagged(
                &mut self.cx.conn.wbuf,
                tag,
                RespStatus::No,
                None,
                "Unsupported mechanism",
            );
            return Ok(Some(Next::Continue));
        };
        let limits = parser_limits(&self.cx.shard);
        let via = Via(LoginProto::Imap, mechanism.into());
        let mut progress = sasl.start(initial.as_deref());
        loop {
            let p = match progress {
                Ok(p) => p,
                Err(e) => {
                    tracing::debug!(error = %e, "SASL exchange failed");
                    self.cx.login_failed(tag, via, None).await;
                    return Ok(Some(Next::Continue));
                }
            };
            match p {
                Progress::Challenge(c) => {
                    let b64 = crate::login::base64_encode(&c);
                    encode::continuation_base64(&mut self.cx.conn.wbuf, b64.as_bytes());
                    self.cx.conn.flush().await?;
                    let line = loop {
                        match imap_proto::parse_auth_line(&self.rbuf, &limits) {
                            Ok(imap_proto::Line::Done { value, consumed }) => {
                                let v = match value {
                                    imap_proto::AuthLine::Cancel => None,
                                    imap_proto::AuthLine::Response(r) => {
                                        Some(crate::login::base64_decode(r))
                                    }
                                };
                                self.rbuf.advance(consumed);
                                break v;
                            }
                            Ok(imap_proto::Line::Incomplete) => {
                                if !self.read_more().await? {
                                    return Ok(None);
                                }
                            }
                            Err(e) => {
                                let skip = match e.recovery {
                                    Recovery::Resync { skip } => skip,
                                    Recovery::Close => return Ok(None),
                                };
                                self.rbuf.advance(skip.min(self.rbuf.len()));
                                break Some(None);
                            }
                        }
                    };
                    match line {
                        None => {
                            encode::tagged(
                                &mut self.cx.conn.wbuf,
                                tag,
                                RespStatus::Bad,
                                None,
                                "AUTHENTICATE cancelled",
                            );
                            return Ok(Some(Next::Continue));
                        }
                        Some(None) => {
                            encode::tagged(
                                &mut self.cx.conn.wbuf,
                                tag,
                                RespStatus::Bad,
                                None,
                                "Invalid base64",
                            );
                            return Ok(Some(Next::Continue));
                        }
                        Some(Some(resp)) => progress = sasl.step(&resp),
                    }
                }
                Progress::VerifyPassword(creds) => {
                    let name = creds.username.as_str().to_string();
                    let pass = creds.password.as_bytes().to_vec();
                    return self
                        .cx
                        .check_password(tag, via, &name, pass)
                        .await
                        .map(Some);
                }
                Progress::NeedScramSecrets { username } => {
                    let db = self.cx.shard.users.load();
                    let secrets = db
                        .get(username.as_str())
                        .and_then(|e| e.scram_secrets())
                        .and_then(Result::ok);
                    progress = sasl.scram_secrets(secrets.as_ref());
                }
                Progress::Authenticated { username } => {
                    let user = username.into_string();
                    if !crate::login::known_user(&self.cx.shard, &user) {
                        self.cx.login_failed(tag, via, Some(&user)).await;
                        return Ok(Some(Next::Continue));
                    }
                    crate::login::succeeded(&self.cx.shard, via);
                    return self.cx.login_succeeded(tag, user).await.map(Some);
                }
            }
        }
    }
}

/// Makes the view's messages above `after` \Recent in this session when no
/// other session has claimed them (a read-only session sees them as recent
/// but leaves them for the next read-write one).
pub(super) fn claim_recent(
    sel: &mut Selected,
    boundaries: &crate::users::RecentBoundaries,
    after: u32,
) {
    let mut b = boundaries.borrow_mut();
    let boundary = b.entry(sel.view.id).or_insert(after);
    let max = sel.view.max_uid();
    if max <= *boundary {
        return;
    }
    let msgs = sel.view.messages();
    let from = msgs.partition_point(|m| m.uid <= *boundary);
    sel.recent.extend(msgs[from..].iter().map(|m| m.uid));
    if !sel.read_only {
        *boundary = max;
    }
}

impl Cx {
    pub fn utf8(&self) -> bool {
        self.enabled.utf8
    }

    fn tls_or_trusted(&self) -> bool {
        crate::login::plaintext_allowed(&self.shard, self.conn.is_tls(), self.conn.peer().ip())
    }

    /// The CAPABILITY list for the session's current state.
    pub fn capabilities(&self) -> Vec<String> {
        let mut c: Vec<String> = [
            "IMAP4rev1",
            "IMAP4rev2",
            "LITERAL+",
            "SASL-IR",
            "ID",
            "ENABLE",
            "IDLE",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if self.user.is_none() {
            if !self.conn.is_tls() && self.listener.tls == TlsMode::Starttls {
                c.push("STARTTLS".into());
            }
            let protected = self.tls_or_trusted();
            for m in crate::login::sasl_mechanisms(&self.shard, protected) {
                c.push(format!("AUTH={m}"));
            }
            if !protected {
                c.push("LOGINDISABLED".into());
            }
        } else {
            for s in [
                "NAMESPACE",
                "UNSELECT",
                "UIDPLUS",
                "MOVE",
                "MULTIAPPEND",
                "ESEARCH",
                "SEARCHRES",
                "LIST-EXTENDED",
                "LIST-STATUS",
                "SPECIAL-USE",
                "CREATE-SPECIAL-USE",
                "CHILDREN",
                "STATUS=SIZE",
                "BINARY",
                "UTF8=ACCEPT",
                "SORT",
                "SORT=DISPLAY",
                "ESORT",
                "THREAD=ORDEREDSUBJECT",
                "THREAD=REFERENCES",
                "PREVIEW",
                "UNAUTHENTICATE",
                "REPLACE",
                "PARTIAL",
            ] {
                c.push(s.into());
            }
            if self.quota_limits().any() {
                for s in ["QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"] {
                    c.push(s.into());
                }
            }
            let imap = &self.shard.cfg.imap;
            for &(ext, cap) in crate::config::ImapSettings::OPTIONAL {
                if imap.allows(ext) && !(ext == "COMPRESS" && self.conn.is_compressed()) {
                    c.push(cap.into());
                }
            }
            c.push(format!(
                "APPENDLIMIT={}",
                self.shard.cfg.limits.max_literal_size
            ));
            let most = self.shard.cfg.limits.max_messages_per_command;
            if most > 0 {
                c.push(format!("MESSAGELIMIT={most}"));
            }
        }
        c
    }

    pub fn tagged(&mut self, tag: &[u8], status: RespStatus, code: Option<&Code<'_>>, text: &str) {
        encode::tagged(&mut self.conn.wbuf, tag, status, code, text);
    }

    pub fn ok(&mut self, tag: &[u8], text: &str) {
        self.tagged(tag, RespStatus::Ok, None, text);
    }

    pub fn bad(&mut self, tag: &[u8], text: &str) {
        self.tagged(tag, RespStatus::Bad, None, text);
    }

    pub fn no(&mut self, tag: &[u8], code: Option<&Code<'_>>, text: &str) {
        self.tagged(tag, RespStatus::No, code, text);
    }

    /// Answers a failed command: a refusal the client caused as NO/BAD, a
    /// store failure as NO [SERVERBUG] (logged), a connection failure as an
    /// error that ends the session.
    pub fn answer_error(&mut self, tag: &[u8], e: ExecError) -> io::Result<()> {
        match e {
            ExecError::Refused { status, code, text } => {
                let code = code.map(Code::Other);
                self.tagged(tag, status, code.as_ref(), &text);
                Ok(())
            }
            ExecError::Store(e) => {
                self.store_error(tag, &e);
                Ok(())
            }
            ExecError::Io(e) => Err(e),
        }
    }

    /// Ends the session for `postcore user kick` ("log out everywhere").
    pub fn kicked(&mut self) {
        let user = self
            .user
            .as_ref()
            .map(|u| u.name.clone())
            .unwrap_or_default();
        tracing::info!(user, "session ended by user kick");
        encode::bye(
            &mut self.conn.wbuf,
            None,
            "Logged out by the administrator: all sessions of this account were ended",
        );
    }

    pub fn store_error(&mut self, tag: &[u8], e: &store::StoreError) {
        use store::StoreError as E;
        match e {
            E::NoSuchMailbox(_) => self.no(tag, Some(&Code::NonExistent), "No such mailbox"),
            E::MailboxExists(_) => {
                self.no(tag, Some(&Code::AlreadyExists), "Mailbox already exists")
            }
            E::NoSuchMessage(_) => self.no(tag, Some(&Code::ExpungeIssued), "Message was expunged"),
            E::Limit(what) => self.no(tag, Some(&Code::Limit), &format!("Limit reached: {what}")),
            E::InvalidName(_) => self.no(tag, Some(&Code::Cannot), "Invalid mailbox name"),
            E::HasChildren(_) => self.no(
                tag,
                Some(&Code::HasChildren),
                "Mailbox has children; delete them first",
            ),
            E::CannotDeleteInbox => self.no(tag, Some(&Code::Cannot), "INBOX cannot be deleted"),
            E::TooBig { .. } => self.no(tag, Some(&Code::TooBig), "Message too large"),
            E::InvalidKeyword(_) => self.no(tag, Some(&Code::Cannot), "Invalid keyword"),
            other => {
                tracing::error!(error = %other, "store failure");
                self.no(
                    tag,
                    Some(&Code::ServerBug),
                    "Internal error; the change was not made",
                );
            }
        }
    }

    pub fn sync_rules(&self, allow_expunge: bool) -> SyncRules {
        SyncRules {
            allow_expunge,
            vanished: self.enabled.vanished(),
            modseq: self.enabled.condstore,
            uid_only: self.enabled.uid_only,
        }
    }

    /// Sends the selected mailbox's pending changes (new messages, flag
    /// changes and, when allowed, expunges).
    pub fn sync_selected(&mut self, allow_expunge: bool) {
        super::context::before_sync(self, allow_expunge);
        let rules = self.sync_rules(allow_expunge);
        let rev1 = !self.enabled.rev2;
        let (Some(u), Some(sel)) = (self.user.as_ref(), self.selected.as_mut()) else {
            return;
        };
        let known_max = sel.view.max_uid();
        let before_recent = sel.recent.len();
        let synced = sel.view.sync(&u.sref.store, &mut self.conn.wbuf, rules);
        if synced.is_ok() {
            claim_recent(sel, &u.sref.recent, known_max);
            sel.recent.retain(|&uid| sel.view.seq_of(uid).is_some());
            if rev1 && (sel.recent.len() != before_recent || sel.view.max_uid() != known_max) {
                encode::recent(&mut self.conn.wbuf, sel.recent.len() as u32);
            }
        }
        if let Err(e) = synced {
            match e {
                store::StoreError::NoSuchMailbox(_) => {
                    // Deleted by another session: RFC 9051 lets us end the
                    // selection; the client learns it from BYE-less NO later.
                    tracing::info!("selected mailbox vanished");
                    if let Some(sel) = self.selected.take() {
                        super::context::closed(&sel, &mut self.conn.wbuf);
                    }
                }
                e => tracing::error!(error = %e, "sync of the selected mailbox failed"),
            }
        }
    }

    pub fn store(&self) -> Option<Rc<store::Store>> {
        self.user.as_ref().map(|u| Rc::clone(&u.sref.store))
    }

    async fn execute(&mut self, cmd: Command<'_>) -> io::Result<Next> {
        let tag = cmd.tag;
        let name = cmd.body.name();
        tracing::trace!(command = name, "executing");
        let next = match cmd.body {
            CommandBody::Capability => {
                let caps = self.capabilities();
                let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
                encode::capability(&mut self.conn.wbuf, &caps);
                self.ok(tag, "CAPABILITY completed");
                Next::Continue
            }
            CommandBody::Noop => {
                self.sync_and_notify(true).await?;
                self.ok(tag, "NOOP completed");
                Next::Continue
            }
            CommandBody::Logout => {
                encode::bye(&mut self.conn.wbuf, None, "Logging out");
                self.ok(tag, "LOGOUT completed");
                Next::Close
            }
            CommandBody::Id { .. } => {
                encode::id(
                    &mut self.conn.wbuf,
                    Some(&[
                        ("name", Some("postcore")),
                        ("version", Some(env!("CARGO_PKG_VERSION"))),
                    ]),
                );
                self.ok(tag, "ID completed");
                Next::Continue
            }
            CommandBody::StartTls => self.starttls(tag),
            CommandBody::Login { user, password } => {
                if self.user.is_some() {
                    self.bad(tag, "Already authenticated");
                    return Ok(Next::Continue);
                }
                if !self.tls_or_trusted() {
                    self.no(
                        tag,
                        Some(&Code::PrivacyRequired),
                        "Use STARTTLS or the TLS port first",
                    );
                    return Ok(Next::Continue);
                }
                let user = String::from_utf8_lossy(&user.to_bytes()).into_owned();
                let pass = password.to_bytes().into_owned();
                let via = Via(LoginProto::Imap, Mech::Password);
                self.check_password(tag, via, &user, pass).await?
            }
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            } => self.start_authenticate(tag, mechanism, initial_response),
            _ if self.user.is_none() => {
                self.bad(tag, "Log in first");
                Next::Continue
            }
            CommandBody::Enable { capabilities } => {
                let mut on = Vec::new();
                for c in capabilities {
                    if c.eq_ignore_ascii_case(b"IMAP4rev2") && !self.enabled.rev2 {
                        self.enabled.rev2 = true;
                        on.push("IMAP4rev2");
                    } else if c.eq_ignore_ascii_case(b"UTF8=ACCEPT") && !self.enabled.utf8 {
                        self.enabled.utf8 = true;
                        on.push("UTF8=ACCEPT");
                    } else if c.eq_ignore_ascii_case(b"CONDSTORE")
                        && !self.enabled.condstore
                        && self.shard.cfg.imap.allows("CONDSTORE")
                    {
                        self.enabled.condstore = true;
                        on.push("CONDSTORE");
                    } else if c.eq_ignore_ascii_case(b"QRESYNC")
                        && !self.enabled.qresync
                        && self.shard.cfg.imap.allows("QRESYNC")
                    {
                        self.enabled.qresync = true;
                        self.enabled.condstore = true;
                        on.push("QRESYNC");
                    } else if c.eq_ignore_ascii_case(b"UIDONLY")
                        && !self.enabled.uid_only
                        && self.shard.cfg.imap.allows("UIDONLY")
                    {
                        self.enabled.uid_only = true;
                        on.push("UIDONLY");
                    }
                }
                encode::enabled(&mut self.conn.wbuf, &on);
                self.ok(tag, "ENABLE completed");
                Next::Continue
            }
            CommandBody::Unauthenticate => {
                // RFC 8437: all state of the identity goes (selection, the
                // store, ENABLEd extensions); TLS and COMPRESS stay.
                if let Some(sel) = self.selected.take() {
                    super::context::closed(&sel, &mut self.conn.wbuf);
                }
                self.saved = None;
                self.notify = None;
                if let Some(u) = self.user.take() {
                    tracing::info!(user = u.name, "unauthenticated");
                }
                self.enabled = Enabled::default();
                self.ok(tag, "Not authenticated any more");
                Next::Continue
            }
            CommandBody::Compress { mechanism } => {
                if !self.shard.cfg.imap.allows("COMPRESS") {
                    self.bad(tag, "COMPRESS is not enabled on this server");
                    Next::Continue
                } else if self.conn.is_compressed() {
                    self.no(
                        tag,
                        Some(&Code::CompressionActive),
                        "Compression is already active",
                    );
                    Next::Continue
                } else if !mechanism.eq_ignore_ascii_case(b"DEFLATE") {
                    self.bad(tag, "Unknown compression mechanism (DEFLATE is offered)");
                    Next::Continue
                } else {
                    self.ok(tag, "DEFLATE active");
                    Next::Compress
                }
            }
            CommandBody::Namespace => {
                let utf8 = self.utf8();
                encode::namespace(&mut self.conn.wbuf, &[("", Some('/'))], &[], &[], utf8);
                self.ok(tag, "NAMESPACE completed");
                Next::Continue
            }
            body => {
                let r = self.execute_authenticated(tag, body).await;
                match r {
                    Ok(next) => next,
                    Err(e) => {
                        self.answer_error(tag, e)?;
                        Next::Continue
                    }
                }
            }
        };
        Ok(next)
    }

    fn starttls(&mut self, tag: &[u8]) -> Next {
        if self.conn.is_tls() {
            self.bad(tag, "TLS is already active");
            return Next::Continue;
        }
        if self.listener.tls != TlsMode::Starttls {
            self.bad(tag, "STARTTLS is not offered on this port");
            return Next::Continue;
        }
        if self.user.is_some() {
            self.bad(tag, "STARTTLS only before login");
            return Next::Continue;
        }
        self.ok(tag, "Begin TLS negotiation now");
        Next::StartTls
    }

    fn start_authenticate(&mut self, tag: &[u8], mechanism: &[u8], initial: Option<&[u8]>) -> Next {
        use auth::sasl::Mechanism;
        if self.user.is_some() {
            self.bad(tag, "Already authenticated");
            return Next::Continue;
        }
        let Some(mech) = Mechanism::from_name(mechanism) else {
            self.no(tag, None, "Unsupported authentication mechanism");
            return Next::Continue;
        };
        if mech.needs_protection() && !self.tls_or_trusted() {
            self.no(
                tag,
                Some(&Code::PrivacyRequired),
                "Use STARTTLS or the TLS port first",
            );
            return Next::Continue;
        }
        let initial = match initial {
            None => None,
            Some(b64) => match crate::login::base64_decode(b64) {
                Some(v) => Some(v),
                None => {
                    self.bad(tag, "Invalid base64 in the initial response");
                    return Next::Continue;
                }
            },
        };
        Next::Authenticate {
            tag: tag.to_vec(),
            mechanism: mech,
            initial,
        }
    }

    /// Throttle, verify (off the executor) and, on success, log in.
    async fn check_password(
        &mut self,
        tag: &[u8],
        via: Via,
        user: &str,
        pass: Vec<u8>,
    ) -> io::Result<Next> {
        self.conn.flush().await?;
        let ip = self.conn.peer().ip();
        match crate::login::password_login(&self.shard, via, ip, user, pass).await {
            crate::login::Login::Ok(name) => self.login_succeeded(tag, name).await,
            crate::login::Login::Failed => {
                self.no(
                    tag,
                    Some(&Code::AuthenticationFailed),
                    "Authentication failed",
                );
                Ok(Next::Continue)
            }
            crate::login::Login::Locked => {
                self.no(
                    tag,
                    Some(&Code::Unavailable),
                    "Too many failed logins; try again later",
                );
                Ok(Next::Continue)
            }
        }
    }

    async fn login_failed(&mut self, tag: &[u8], via: Via, user: Option<&str>) {
        let _ = self.conn.flush().await;
        crate::login::failed(&self.shard, via, self.conn.peer().ip(), user).await;
        self.no(
            tag,
            Some(&Code::AuthenticationFailed),
            "Authentication failed",
        );
    }

    async fn login_succeeded(&mut self, tag: &[u8], user: String) -> io::Result<Next> {
        let home = self.shard.home_of(&user);
        if home != self.shard.id {
            return Ok(Next::Handoff {
                user,
                tag: tag.to_vec(),
            });
        }
        self.enter_user(user, tag).await?;
        Ok(Next::Continue)
    }

    /// On the home shard: open the user's store and answer the login.
    pub async fn enter_user(&mut self, user: String, tag: &[u8]) -> io::Result<()> {
        if crate::users::protocol_disabled(&self.shard.users, &user, "imap") {
            tracing::info!(user, "login refused: IMAP disabled for this user");
            self.no(
                tag,
                Some(&Code::AuthorizationFailed),
                "IMAP access is disabled for this account",
            );
            return Ok(());
        }
        let sref = match self.shard.stores.acquire(&user).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(user, error = %e, "cannot open the user's store");
                self.no(
                    tag,
                    Some(&Code::Unavailable),
                    "Mailbox store unavailable, try later",
                );
                return Ok(());
            }
        };
        if sref.sessions_of_user > self.shard.cfg.limits.max_connections_per_user {
            tracing::warn!(user, "login refused: too many sessions for this user");
            self.no(
                tag,
                Some(&Code::Limit),
                "Too many connections for this user",
            );
            return Ok(());
        }
        tracing::Span::current().record("user", user.as_str());
        tracing::info!(user, "logged in");
        self.user = Some(UserCx {
            name: user,
            sref,
            login_ms: crate::users::now_ms(),
        });
        let caps = self.capabilities();
        let caps: Vec<&str> = caps.iter().map(String::as_str).collect();
        self.tagged(
            tag,
            RespStatus::Ok,
            Some(&Code::Capability(&caps)),
            "Logged in",
        );
        Ok(())
    }
}
