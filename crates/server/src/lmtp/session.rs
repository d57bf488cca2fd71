//! The LMTP session loop: every complete command in the read buffer is
//! answered in order and the answers leave in one write (PIPELINING); DATA
//! reads the body, delivers one copy per accepted recipient and answers for
//! each in RCPT order.
//!
//! Timeouts: outside a transaction the connection may stay silent for
//! `limits.login_timeout_secs` (an MTA keeps idle LMTP connections only
//! briefly); once MAIL has been accepted, including while the body
//! arrives, for `limits.idle_timeout_secs`. Either ends with a 421.

use super::recipient::{self, Resolved};
use super::trace::{self, Trace};
use crate::config::{ListenerConfig, TlsMode};
use crate::conns::ConnGuard;
use crate::deliver::{DeliveryError, deliver};
use crate::shard::Shard;
use crate::transport::Conn;
use bytes::{Buf, BytesMut};
use pop3_proto::lmtp::{self, Command, EnhancedCode, Mailbox, ReversePath};
use pop3_proto::{DataDecoder, Recovery, skip_to_eol};
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Consecutive refused commands after which the connection is closed, so a
/// confused or hostile client cannot loop forever.
const MAX_ERRORS: u32 = 20;
/// Bytes of message copies handed to deliveries at once; past it the next
/// copy is built only when earlier ones are done (a message of the maximum
/// size for a thousand recipients must not mean a thousand copies in RAM).
const INFLIGHT_BYTES: usize = 64 * 1024 * 1024;
/// Deliveries of one message running at once.
const MAX_PARALLEL: usize = 64;
/// The most memory reserved up front from a client's SIZE= announcement.
const PREALLOC_MAX: u64 = 1024 * 1024;

enum Flow {
    Read,
    End,
}

enum Step {
    Next,
    Quit,
    Data,
}

enum Input {
    More,
    Eof,
    Stopped,
}

struct Transaction {
    /// Reverse path without brackets; empty for `<>`.
    sender: String,
    smtputf8: bool,
    size_hint: u64,
    rcpts: Vec<Rcpt>,
}

struct Rcpt {
    /// As given in RCPT TO, without brackets.
    address: String,
    user: String,
    mailbox: String,
}

/// A copy on its way into a store.
struct Pending {
    address: String,
    user: String,
    size: usize,
    handle: glommio::task::JoinHandle<(Result<u32, DeliveryError>, String)>,
}

pub(super) struct Session {
    shard: Rc<Shard>,
    conn: Conn,
    rbuf: BytesMut,
    _guard: ConnGuard,
    id: u64,
    listener: ListenerConfig,
    host: Rc<str>,
    limits: lmtp::Limits,
    /// The name given in LHLO; MAIL needs one.
    lhlo: Option<String>,
    tx: Option<Transaction>,
    transactions: u64,
    errors: u32,
    /// Input is thrown away up to the next line end (an over-long line).
    discarding: bool,
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `local@domain` as written in the envelope (quotes kept).
fn address_text(m: &Mailbox<'_>) -> String {
    let local = String::from_utf8_lossy(m.local_raw());
    match m.domain() {
        Some(d) => format!("{local}@{}", String::from_utf8_lossy(d)),
        None => local.into_owned(),
    }
}

/// A complete `STARTTLS` line at the front of `buf` (the shared LMTP
/// grammar has no STARTTLS): bytes it takes and whether it had arguments.
fn starttls_line(buf: &[u8], max_line: usize) -> Option<(usize, bool)> {
    const VERB: &[u8] = b"STARTTLS";
    if !buf.get(..VERB.len())?.eq_ignore_ascii_case(VERB) {
        return None;
    }
    let window = buf.get(..max_line).unwrap_or(buf);
    let lf = window.iter().position(|&b| b == b'\n')?;
    let line = buf.get(..lf)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let rest = line.get(VERB.len()..)?;
    match rest.first() {
        None => Some((lf + 1, false)),
        Some(b' ' | b'\t') => Some((lf + 1, rest.iter().any(|b| !b" \t".contains(b)))),
        Some(_) => None,
    }
}

/// Runs on the shard that accepted the connection; `deliver` takes the copy
/// to the user's home. A detail mailbox that cannot be made (mailbox limit)
/// gets the message in INBOX instead, as Dovecot does.
async fn deliver_one(
    shard: Rc<Shard>,
    user: String,
    mailbox: String,
    raw: Arc<Vec<u8>>,
    date: i64,
) -> (Result<u32, DeliveryError>, String) {
    let r = deliver(&shard, &user, &mailbox, Arc::clone(&raw), date).await;
    if matches!(r, Err(DeliveryError::Limit(_))) && mailbox != store::INBOX {
        let inbox = store::INBOX.to_string();
        return (deliver(&shard, &user, &inbox, raw, date).await, inbox);
    }
    (r, mailbox)
}

impl Session {
    pub fn new(
        shard: Rc<Shard>,
        conn: Conn,
        guard: ConnGuard,
        id: u64,
        listener: ListenerConfig,
        host: Rc<str>,
    ) -> Session {
        let max_line = shard
            .cfg
            .limits
            .max_line_length
            .min(lmtp::Limits::default().max_line);
        Session {
            shard,
            conn,
            rbuf: BytesMut::new(),
            _guard: guard,
            id,
            listener,
            host,
            limits: lmtp::Limits { max_line },
            lhlo: None,
            tx: None,
            transactions: 0,
            errors: 0,
            discarding: false,
        }
    }

    /// The largest body accepted (and announced as SIZE): the configured
    /// message size less room for the trace headers, which the store counts.
    fn message_limit(&self) -> u64 {
        let room = 5 * self.limits.max_line + self.host.len() + 256;
        self.shard
            .cfg
            .limits
            .max_literal_size
            .saturating_sub(room as u64)
            .max(1)
    }

    fn starttls_offered(&self) -> bool {
        self.listener.tls == TlsMode::Starttls && !self.conn.is_tls()
    }

    fn reply(&mut self, code: u16, e: EnhancedCode, text: &str) {
        lmtp::write_reply(&mut self.conn.wbuf, code, Some(e), text.as_bytes());
    }

    /// A refusal that counts towards closing the connection.
    fn refuse(&mut self, code: u16, e: EnhancedCode, text: &str) {
        self.reply(code, e, text);
        self.errors += 1;
    }

    pub async fn run(mut self) {
        let greeting = format!("{} LMTP postcore ready", self.host);
        lmtp::write_reply(&mut self.conn.wbuf, 220, None, greeting.as_bytes());
        loop {
            match self.execute_buffered().await {
                Ok(Flow::Read) => {}
                Ok(Flow::End) => break,
                Err(e) => {
                    if e.kind() == io::ErrorKind::TimedOut {
                        self.timed_out();
                    } else {
                        tracing::debug!(error = %e, "session ended");
                    }
                    break;
                }
            }
            if self.conn.flush().await.is_err() {
                break;
            }
            match self.read_more().await {
                Ok(Input::More) => {}
                Ok(Input::Eof) => break,
                Ok(Input::Stopped) => {
                    self.shutting_down();
                    break;
                }
                Err(e) => {
                    if e.kind() == io::ErrorKind::TimedOut {
                        self.timed_out();
                    }
                    break;
                }
            }
        }
        let _ = self.conn.close().await;
    }

    fn timed_out(&mut self) {
        let text = format!("{} Timeout, closing connection", self.host);
        self.reply(421, EnhancedCode::new(4, 4, 2), &text);
    }

    fn shutting_down(&mut self) {
        let text = format!("{} Server shutting down", self.host);
        self.reply(421, EnhancedCode::new(4, 3, 2), &text);
    }

    async fn read_more(&mut self) -> io::Result<Input> {
        let limits = &self.shard.cfg.limits;
        let secs = if self.tx.is_some() {
            limits.idle_timeout_secs
        } else {
            limits.login_timeout_secs
        };
        self.read_more_within(secs).await
    }

    async fn read_more_within(&mut self, secs: u64) -> io::Result<Input> {
        self.conn
            .set_read_timeout(Some(Duration::from_secs(secs.max(1))))?;
        let shard = Rc::clone(&self.shard);
        let got = futures_lite::future::or(
            async { self.conn.fill(&mut self.rbuf).await.map(Some) },
            async {
                shard.stop.wait().await;
                Ok(None)
            },
        )
        .await?;
        Ok(match got {
            Some(0) => Input::Eof,
            Some(_) => Input::More,
            None => Input::Stopped,
        })
    }

    async fn execute_buffered(&mut self) -> io::Result<Flow> {
        loop {
            if self.shard.stop.is_stopped() {
                self.shutting_down();
                return Ok(Flow::End);
            }
            if self.errors >= MAX_ERRORS {
                let text = format!("{} Too many errors, closing connection", self.host);
                self.reply(421, EnhancedCode::new(4, 7, 0), &text);
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
            if let Some((consumed, args)) = starttls_line(&self.rbuf, self.limits.max_line) {
                self.rbuf.advance(consumed);
                if !self.starttls(args).await? {
                    return Ok(Flow::End);
                }
                continue;
            }
            // The command borrows the buffer while it is executed; nothing
            // reads input meanwhile, so the buffer steps aside.
            let rbuf = std::mem::take(&mut self.rbuf);
            let (step, consumed, name, started) = match lmtp::parse_command(&rbuf, &self.limits) {
                Ok(None) => {
                    self.rbuf = rbuf;
                    return Ok(Flow::Read);
                }
                Ok(Some(p)) => {
                    let name = p.value.name();
                    tracing::trace!(command = name, "executing");
                    let started = std::time::Instant::now();
                    (self.execute(p.value), p.consumed, name, started)
                }
                Err(e) => {
                    self.rbuf = rbuf;
                    lmtp::write_error(&mut self.conn.wbuf, &e);
                    self.errors += 1;
                    let skip = e.recovery.skip().min(self.rbuf.len());
                    self.rbuf.advance(skip);
                    if let Recovery::DiscardToEol { .. } = e.recovery {
                        self.discarding = true;
                    }
                    continue;
                }
            };
            self.rbuf = rbuf;
            self.rbuf.advance(consumed.min(self.rbuf.len()));
            // DATA is timed to its last reply: the message's transfer and
            // delivery to every recipient.
            let go_on = match step {
                Step::Next => true,
                Step::Quit => false,
                Step::Data => self.data().await?,
            };
            self.shard
                .metrics
                .command(crate::metrics::Proto::Lmtp, name, started.elapsed());
            if !go_on {
                return Ok(Flow::End);
            }
        }
    }

    /// STARTTLS (RFC 3207). False when the connection cannot go on.
    async fn starttls(&mut self, args: bool) -> io::Result<bool> {
        if args {
            self.refuse(501, EnhancedCode::INVALID_ARGUMENTS, "Syntax: STARTTLS");
            return Ok(true);
        }
        if self.conn.is_tls() {
            self.refuse(503, EnhancedCode::BAD_SEQUENCE, "TLS already active");
            return Ok(true);
        }
        if !self.starttls_offered() {
            self.refuse(502, EnhancedCode::INVALID_COMMAND, "STARTTLS not available");
            return Ok(true);
        }
        self.errors = 0;
        self.reply(220, EnhancedCode::OK, "Ready to start TLS");
        self.conn.set_read_timeout(Some(Duration::from_secs(
            self.shard.cfg.limits.login_timeout_secs.max(1),
        )))?;
        let cfg = self.shard.tls.load_full();
        if let Err(e) = self.conn.start_tls(cfg, &mut self.rbuf).await {
            tracing::debug!(error = %e, "STARTTLS handshake failed");
            return Ok(false);
        }
        self.shard.metrics.starttls(crate::metrics::Proto::Lmtp);
        // RFC 3207 §4.2: forget everything said before TLS, LHLO included.
        self.lhlo = None;
        self.tx = None;
        Ok(true)
    }

    fn write_lhlo(&mut self) {
        let size = format!("SIZE {}", self.message_limit());
        let mut lines: Vec<&[u8]> = vec![
            self.host.as_bytes(),
            b"PIPELINING",
            b"ENHANCEDSTATUSCODES",
            b"8BITMIME",
            b"SMTPUTF8",
            size.as_bytes(),
        ];
        if self.starttls_offered() {
            lines.push(b"STARTTLS");
        }
        lmtp::write_reply_lines(&mut self.conn.wbuf, 250, None, &lines);
    }

    fn execute(&mut self, cmd: Command<'_>) -> Step {
        match cmd {
            Command::Lhlo(name) => {
                self.errors = 0;
                self.lhlo = Some(String::from_utf8_lossy(name).into_owned());
                self.tx = None;
                self.write_lhlo();
            }
            Command::Mail { from, params } => {
                if self.lhlo.is_none() {
                    self.refuse(503, EnhancedCode::BAD_SEQUENCE, "Send LHLO first");
                } else if self.tx.is_some() {
                    self.refuse(503, EnhancedCode::BAD_SEQUENCE, "MAIL already given");
                } else if params.size.is_some_and(|s| s > self.message_limit()) {
                    self.errors = 0;
                    self.reply(
                        552,
                        EnhancedCode::MESSAGE_TOO_BIG,
                        "Message size exceeds fixed maximum message size",
                    );
                } else {
                    let sender = match from {
                        ReversePath::Null => String::new(),
                        ReversePath::Mailbox(m) => {
                            if !m.is_ascii() && !params.smtputf8 {
                                self.refuse(
                                    553,
                                    EnhancedCode::NEEDS_SMTPUTF8,
                                    "Non-ASCII sender needs SMTPUTF8",
                                );
                                return Step::Next;
                            }
                            address_text(&m)
                        }
                    };
                    self.errors = 0;
                    self.tx = Some(Transaction {
                        sender,
                        smtputf8: params.smtputf8,
                        size_hint: params.size.unwrap_or(0),
                        rcpts: Vec::new(),
                    });
                    self.reply(250, EnhancedCode::SENDER_OK, "OK");
                }
            }
            Command::Rcpt { to } => self.rcpt(&to),
            Command::Data => match &self.tx {
                None => self.refuse(503, EnhancedCode::BAD_SEQUENCE, "MAIL needed first"),
                Some(tx) if tx.rcpts.is_empty() => {
                    self.refuse(503, EnhancedCode::BAD_SEQUENCE, "No valid recipients")
                }
                Some(_) => {
                    self.errors = 0;
                    lmtp::write_reply(
                        &mut self.conn.wbuf,
                        354,
                        None,
                        b"Start mail input; end with <CRLF>.<CRLF>",
                    );
                    return Step::Data;
                }
            },
            Command::Rset => {
                self.errors = 0;
                self.tx = None;
                self.reply(250, EnhancedCode::OK, "OK");
            }
            Command::Noop => {
                self.errors = 0;
                self.reply(250, EnhancedCode::OK, "OK");
            }
            Command::Quit => {
                let text = format!("{} Bye", self.host);
                self.reply(221, EnhancedCode::CLOSING, &text);
                return Step::Quit;
            }
            Command::Vrfy(_) => {
                self.errors = 0;
                self.reply(
                    252,
                    EnhancedCode::new(2, 5, 2),
                    "Cannot VRFY user, but will accept message and attempt delivery",
                );
            }
        }
        Step::Next
    }

    fn rcpt(&mut self, to: &Mailbox<'_>) {
        let max = self.shard.cfg.lmtp.max_recipients;
        let Some(tx) = &self.tx else {
            self.refuse(503, EnhancedCode::BAD_SEQUENCE, "MAIL needed first");
            return;
        };
        let address = address_text(to);
        if !to.is_ascii() && !tx.smtputf8 {
            self.refuse(
                553,
                EnhancedCode::NEEDS_SMTPUTF8,
                "Non-ASCII recipient needs SMTPUTF8",
            );
            return;
        }
        if tx.rcpts.len() >= max {
            self.errors = 0;
            self.reply(
                452,
                EnhancedCode::TOO_MANY_RECIPIENTS,
                "Too many recipients",
            );
            return;
        }
        self.errors = 0;
        let db = self.shard.users.load();
        match recipient::resolve(&db, to, &self.shard.cfg.lmtp) {
            Some(Resolved { user, mailbox }) => {
                if let Some(tx) = self.tx.as_mut() {
                    tx.rcpts.push(Rcpt {
                        address,
                        user,
                        mailbox,
                    });
                }
                self.reply(250, EnhancedCode::DESTINATION_OK, "OK");
            }
            None => {
                tracing::info!(recipient = address, "unknown recipient");
                let text = format!("<{address}> User unknown");
                self.reply(550, EnhancedCode::NO_SUCH_USER, &text);
            }
        }
    }

    /// After the 354: reads the body and answers per recipient. False when
    /// the connection cannot go on.
    async fn data(&mut self) -> io::Result<bool> {
        let Some(tx) = self.tx.take() else {
            return Ok(true);
        };
        self.conn.flush().await?;
        let limit = self.message_limit();
        let mut decoder = DataDecoder::new(limit);
        let reserve = tx.size_hint.min(limit).min(PREALLOC_MAX);
        let mut body = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
        let idle = self.shard.cfg.limits.idle_timeout_secs;
        loop {
            let p = decoder.decode(&self.rbuf, &mut body);
            self.rbuf.advance(p.consumed.min(self.rbuf.len()));
            if p.done {
                break;
            }
            match self.read_more_within(idle).await? {
                Input::More => {}
                Input::Eof => {
                    tracing::info!(received = decoder.size(), "connection lost during DATA");
                    return Ok(false);
                }
                Input::Stopped => {
                    self.shutting_down();
                    return Ok(false);
                }
            }
        }
        if decoder.too_big() {
            tracing::info!(size = decoder.size(), limit, "message too big");
            for r in &tx.rcpts {
                let text = format!("<{}> Message too big", r.address);
                self.reply(552, EnhancedCode::MESSAGE_TOO_BIG, &text);
            }
            return Ok(true);
        }
        self.deliver_all(tx, body).await;
        Ok(true)
    }

    /// Delivers one copy per recipient, concurrently within the in-flight
    /// budget, and writes the replies in RCPT order.
    async fn deliver_all(&mut self, tx: Transaction, body: Vec<u8>) {
        let date = now_unix();
        self.transactions += 1;
        let id = format!("{:x}.{}.{:x}", self.id, self.transactions, date);
        let lhlo = self.lhlo.clone().unwrap_or_default();
        let peer = self.conn.peer().ip();
        let tls = self.conn.is_tls();
        let mut pending: VecDeque<Pending> = VecDeque::new();
        let mut inflight = 0usize;
        for r in &tx.rcpts {
            let mut raw = Vec::with_capacity(body.len() + 512 + 2 * r.address.len());
            trace::write_headers(
                &mut raw,
                &Trace {
                    sender: &tx.sender,
                    recipient: &r.address,
                    lhlo: &lhlo,
                    peer,
                    host: &self.host,
                    id: &id,
                    tls,
                    date,
                },
            );
            raw.extend_from_slice(&body);
            let size = raw.len();
            while !pending.is_empty()
                && (inflight + size > INFLIGHT_BYTES || pending.len() >= MAX_PARALLEL)
            {
                if let Some(p) = pending.pop_front() {
                    inflight = inflight.saturating_sub(p.size);
                    self.finish(p).await;
                }
            }
            let handle = glommio::spawn_local(deliver_one(
                Rc::clone(&self.shard),
                r.user.clone(),
                r.mailbox.clone(),
                Arc::new(raw),
                date,
            ))
            .detach();
            pending.push_back(Pending {
                address: r.address.clone(),
                user: r.user.clone(),
                size,
                handle,
            });
            inflight += size;
        }
        while let Some(p) = pending.pop_front() {
            self.finish(p).await;
        }
    }

    async fn finish(&mut self, p: Pending) {
        let Pending {
            address,
            user,
            size,
            handle,
        } = p;
        let (result, mailbox) = handle.await.unwrap_or_else(|| {
            (
                Err(DeliveryError::Temporary("delivery task ended".into())),
                String::new(),
            )
        });
        match result {
            Ok(uid) => {
                tracing::info!(user, mailbox, uid, size, "delivered");
                let text = format!("<{address}> Saved as UID {uid}");
                self.reply(250, EnhancedCode::DELIVERED, &text);
            }
            Err(DeliveryError::TooBig) => {
                tracing::info!(user, size, "not delivered: message too big");
                let text = format!("<{address}> Message too big");
                self.reply(552, EnhancedCode::MESSAGE_TOO_BIG, &text);
            }
            Err(DeliveryError::OverQuota) => {
                tracing::info!(user, size, "not delivered: over quota");
                let text = format!("<{address}> Mailbox full: over quota");
                if self.shard.cfg.quota.lmtp_tempfail {
                    self.reply(452, EnhancedCode::MAILBOX_FULL, &text);
                } else {
                    self.reply(552, EnhancedCode::new(5, 2, 2), &text);
                }
            }
            Err(DeliveryError::Limit(what)) => {
                tracing::warn!(user, mailbox, limit = what, "not delivered: limit reached");
                let text = format!("<{address}> Mailbox limit reached: {what}");
                self.reply(452, EnhancedCode::MAILBOX_FULL, &text);
            }
            Err(DeliveryError::Temporary(why)) => {
                tracing::warn!(
                    user,
                    mailbox,
                    error = why,
                    "not delivered: temporary failure"
                );
                let text = format!("<{address}> Temporary failure, try again later");
                self.reply(451, EnhancedCode::TEMPORARY_FAILURE, &text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starttls_is_recognised_only_as_a_whole_line() {
        assert_eq!(
            starttls_line(b"STARTTLS\r\nLHLO x\r\n", 512),
            Some((10, false))
        );
        assert_eq!(starttls_line(b"starttls  \n", 512), Some((11, false)));
        assert_eq!(starttls_line(b"StartTLS now\r\n", 512), Some((14, true)));
        assert_eq!(starttls_line(b"STARTTLS", 512), None);
        assert_eq!(starttls_line(b"STARTTLSX\r\n", 512), None);
        assert_eq!(starttls_line(b"LHLO x\r\nSTARTTLS\r\n", 512), None);
        assert_eq!(starttls_line(b"STAR", 512), None);
        // The line end past the line limit: left to the parser's limit.
        assert_eq!(starttls_line(b"STARTTLS          \r\n", 16), None);
    }

    #[test]
    fn addresses_are_written_as_given() {
        let line = b"RCPT TO:<\"a b\"@Example.COM>\r\n";
        let p = lmtp::parse_command(line, &lmtp::Limits::default())
            .unwrap()
            .unwrap();
        let Command::Rcpt { to } = p.value else {
            panic!("not RCPT")
        };
        assert_eq!(address_text(&to), "\"a b\"@Example.COM");
        let p = lmtp::parse_command(b"RCPT TO:<postmaster>\r\n", &lmtp::Limits::default())
            .unwrap()
            .unwrap();
        let Command::Rcpt { to } = p.value else {
            panic!("not RCPT")
        };
        assert_eq!(address_text(&to), "postmaster");
    }
}
