//! The workloads: one async task per connection, run on the executor that
//! owns the connection; every finished command goes to that executor's recorder.

use crate::cli::{Args, Command, Mode};
use crate::msggen;
use crate::reader::{Kind, Status};
use crate::session::{Imap, Lines, SessionError, Target, dot_stuff, quote, show};
use crate::stats::Recorder;
use futures_lite::AsyncWriteExt;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// State shared by all executors.
pub struct Ctx {
    pub args: Args,
    pub target: Target,
    pub users: Vec<(String, String)>,
    pub measure_from: Instant,
    pub deadline: Instant,
    /// Measured commands started so far (for --count).
    pub started: AtomicU64,
    pub ok: AtomicU64,
    pub errors: AtomicU64,
    /// idle-density: sessions in IDLE / failed to get there; release when set.
    pub established: AtomicU64,
    pub failed: AtomicU64,
    pub release: AtomicBool,
    pub weights: Vec<(String, u32)>,
}

impl Ctx {
    /// Whether another command may start now.
    pub fn may_start(&self) -> bool {
        let now = Instant::now();
        if now >= self.deadline {
            return false;
        }
        if let Some(limit) = self.args.count
            && now >= self.measure_from
        {
            return self.started.fetch_add(1, Ordering::Relaxed) < limit;
        }
        true
    }

    pub fn user(&self, i: usize) -> (String, String) {
        if self.users.is_empty() {
            (self.args.user_name(i), self.args.password.clone())
        } else {
            // ok: users is non-empty in this branch.
            self.users[i % self.users.len()].clone()
        }
    }
}

pub type Rec = Rc<RefCell<Recorder>>;

fn record(ctx: &Ctx, rec: &Rec, label: &str, sent: Instant, ok: bool) {
    let now = Instant::now();
    rec.borrow_mut().record(label, sent, now, ok);
    if sent >= ctx.measure_from {
        if ok { &ctx.ok } else { &ctx.errors }.fetch_add(1, Ordering::Relaxed);
    }
}

fn conn_error(ctx: &Ctx, rec: &Rec, c: usize, e: &SessionError) {
    rec.borrow_mut()
        .connection_error(Instant::now().max(ctx.measure_from));
    ctx.errors.fetch_add(1, Ordering::Relaxed);
    eprintln!("connection {c}: {e}");
}

/// Runs connection `c` of the chosen mode.
pub async fn run_connection(ctx: Arc<Ctx>, c: usize, rec: Rec) {
    let res = match ctx.args.mode {
        Mode::Pipelined => pipelined(&ctx, c, &rec).await,
        Mode::Mixed => mixed(&ctx, c, &rec).await,
        Mode::OpenLoop => open_loop(&ctx, c, &rec).await,
        Mode::Storm => storm(&ctx, c, &rec).await,
        Mode::IdleDensity => idle(&ctx, c, &rec).await,
        Mode::Pop3 => pop3(&ctx, c, &rec).await,
        Mode::Lmtp => lmtp(&ctx, c, &rec).await,
        Mode::Populate => populate(&ctx, c, &rec).await,
    };
    if let Err(e) = res {
        if ctx.args.mode == Mode::IdleDensity {
            ctx.failed.fetch_add(1, Ordering::Relaxed);
        }
        conn_error(&ctx, &rec, c, &e);
    }
}

async fn login_select(ctx: &Ctx, c: usize) -> Result<(Imap, Vec<u32>), SessionError> {
    let mut s = Imap::connect(&ctx.target).await?;
    let (u, p) = ctx.user(c);
    s.login(&u, &p).await?;
    s.select(&ctx.args.mailbox).await?;
    let uids = s.uids().await?;
    Ok((s, uids))
}

fn seed_for(ctx: &Ctx, c: usize) -> SmallRng {
    SmallRng::seed_from_u64(ctx.args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ c as u64)
}

/// Text of one command of `kind` (without tag), or None for APPEND (has a literal).
fn command_text(
    ctx: &Ctx,
    kind: Command,
    uids: &[u32],
    rng: &mut SmallRng,
    flip: &mut bool,
) -> String {
    let uid = if uids.is_empty() {
        1
    } else {
        uids[rng.gen_range(0..uids.len())]
    };
    match kind {
        Command::Noop => "NOOP".into(),
        Command::FetchHeaders => format!("UID FETCH {uid} (FLAGS BODY.PEEK[HEADER])"),
        Command::FetchBody => format!("UID FETCH {uid} (BODY.PEEK[])"),
        Command::Store => {
            *flip = !*flip;
            format!(
                "UID STORE {uid} {}FLAGS.SILENT (\\Flagged)",
                if *flip { '+' } else { '-' }
            )
        }
        Command::Search => "UID SEARCH FLAGGED".into(),
        Command::Status => format!(
            "STATUS {} (MESSAGES UIDNEXT UNSEEN)",
            quote(&ctx.args.mailbox)
        ),
        Command::Select => format!("SELECT {}", quote(&ctx.args.mailbox)),
        Command::Append => String::new(),
        Command::SortSubject => "UID SORT (SUBJECT) UTF-8 ALL".into(),
        Command::SortDate => "UID SORT (REVERSE DATE) UTF-8 ALL".into(),
        Command::ThreadReferences => "UID THREAD REFERENCES UTF-8 ALL".into(),
    }
}

async fn send_one(
    ctx: &Ctx,
    s: &mut Imap,
    tag: &str,
    kind: Command,
    uids: &[u32],
    (rng, flip): (&mut SmallRng, &mut bool),
    msg: &[u8],
) -> Result<(), SessionError> {
    if kind == Command::Append {
        s.send_append(tag, &ctx.args.mailbox, msg).await
    } else {
        let text = command_text(ctx, kind, uids, rng, flip);
        s.w.write_all(format!("{tag} {text}\r\n").as_bytes())
            .await?;
        Ok(())
    }
}

async fn pipelined(ctx: &Ctx, c: usize, rec: &Rec) -> Result<(), SessionError> {
    let (mut s, uids) = login_select(ctx, c).await?;
    let kind = ctx.args.command;
    let label = kind.label();
    let mut rng = seed_for(ctx, c);
    let msg = msggen::sized(&mut rng, c as u64, ctx.args.msg_size);
    // Without LITERAL+ an APPEND waits for a continuation, so only one can be in flight.
    let depth = if kind == Command::Append && !s.literal_plus {
        1
    } else {
        ctx.args.depth.max(1)
    };
    let mut inflight: HashMap<u64, Instant> = HashMap::new();
    let mut next = 0u64;
    let mut flip = false;
    let mut stopping = false;
    for _ in 0..depth {
        if !ctx.may_start() {
            stopping = true;
            break;
        }
        next += 1;
        inflight.insert(next, Instant::now());
        send_one(
            ctx,
            &mut s,
            &format!("p{next}"),
            kind,
            &uids,
            (&mut rng, &mut flip),
            &msg,
        )
        .await?;
    }
    s.w.flush().await?;
    while !inflight.is_empty() {
        match s.r.read_response().await? {
            Kind::Untagged => {
                if s.r.first_line().starts_with(b"* BYE") {
                    return Err(SessionError::Protocol(format!(
                        "unexpected {}",
                        show(s.r.first_line())
                    )));
                }
            }
            Kind::Tagged { tag, status } => {
                let n = tag
                    .strip_prefix(b"p")
                    .and_then(|d| std::str::from_utf8(d).ok()?.parse::<u64>().ok());
                let Some(sent) = n.and_then(|n| inflight.remove(&n)) else {
                    return Err(SessionError::Protocol(format!(
                        "unknown tag: {}",
                        show(s.r.first_line())
                    )));
                };
                if status != Status::Ok {
                    eprintln!("connection {c}: {}", show(s.r.first_line()));
                }
                record(ctx, rec, label, sent, status == Status::Ok);
                if !stopping && ctx.may_start() {
                    next += 1;
                    inflight.insert(next, Instant::now());
                    send_one(
                        ctx,
                        &mut s,
                        &format!("p{next}"),
                        kind,
                        &uids,
                        (&mut rng, &mut flip),
                        &msg,
                    )
                    .await?;
                    s.w.flush().await?;
                } else {
                    stopping = true;
                }
            }
            Kind::Continuation => {
                return Err(SessionError::Protocol("unexpected continuation".into()));
            }
            Kind::Garbage => {
                return Err(SessionError::Protocol(format!(
                    "garbage: {}",
                    show(s.r.first_line())
                )));
            }
        }
    }
    s.logout().await
}

async fn open_loop(ctx: &Ctx, c: usize, rec: &Rec) -> Result<(), SessionError> {
    let (s, uids) = login_select(ctx, c).await?;
    let Imap {
        mut r,
        mut w,
        literal_plus,
        ..
    } = s;
    let kind = if ctx.args.command == Command::Append && !literal_plus {
        Command::Noop
    } else {
        ctx.args.command
    };
    if kind != ctx.args.command {
        return Err(SessionError::Protocol(
            "open-loop APPEND needs LITERAL+".into(),
        ));
    }
    let per_conn = (ctx.args.rate / ctx.args.connections.max(1) as f64).max(0.001);
    let gap = Duration::from_secs_f64(1.0 / per_conn);
    let inflight: Rc<RefCell<HashMap<u64, Instant>>> = Rc::new(RefCell::new(HashMap::new()));
    let inflight_w = inflight.clone();
    let mut rng = seed_for(ctx, c);
    let msg = msggen::sized(&mut rng, c as u64, ctx.args.msg_size);
    let ctx_ptr: &Ctx = ctx;
    // Stagger connections so they do not all send at the same instant.
    let anchor = Instant::now() + gap.mul_f64(rng.gen_range(0.0..1.0));
    let mailbox = quote(&ctx.args.mailbox);
    let writer = async move {
        let mut k = 0u64;
        let mut flip = false;
        loop {
            let intended = anchor + gap.mul_f64(k as f64);
            if intended >= ctx_ptr.deadline || !ctx_ptr.may_start() {
                break;
            }
            let now = Instant::now();
            if intended > now {
                glommio::timer::sleep(intended - now).await;
            }
            k += 1;
            inflight_w.borrow_mut().insert(k, intended);
            let buf = if kind == Command::Append {
                let mut b = format!("o{k} APPEND {mailbox} {{{}+}}\r\n", msg.len()).into_bytes();
                b.extend_from_slice(&msg);
                b.extend_from_slice(b"\r\n");
                b
            } else {
                format!(
                    "o{k} {}\r\n",
                    command_text(ctx_ptr, kind, &uids, &mut rng, &mut flip)
                )
                .into_bytes()
            };
            w.write_all(&buf).await?;
            w.flush().await?;
        }
        w.write_all(b"logout LOGOUT\r\n").await?;
        w.flush().await?;
        Ok::<_, SessionError>(w)
    };
    let reader = async {
        loop {
            match r.read_response().await? {
                Kind::Untagged => {}
                Kind::Tagged { tag, status } => {
                    if tag == b"logout" {
                        return Ok::<_, SessionError>(());
                    }
                    let n = tag
                        .strip_prefix(b"o")
                        .and_then(|d| std::str::from_utf8(d).ok()?.parse::<u64>().ok());
                    let sent = n.and_then(|n| inflight.borrow_mut().remove(&n));
                    let Some(sent) = sent else {
                        return Err(SessionError::Protocol(format!(
                            "unknown tag: {}",
                            show(r.first_line())
                        )));
                    };
                    record(ctx, rec, kind.label(), sent, status == Status::Ok);
                }
                _ => {
                    return Err(SessionError::Protocol(format!(
                        "unexpected: {}",
                        show(r.first_line())
                    )));
                }
            }
        }
    };
    let (wres, rres) = futures_lite::future::zip(writer, reader).await;
    wres?;
    rres
}

async fn storm(ctx: &Ctx, c: usize, rec: &Rec) -> Result<(), SessionError> {
    while ctx.may_start() {
        let t0 = Instant::now();
        let res = async {
            let mut s = Imap::connect(&ctx.target).await?;
            let (u, p) = ctx.user(c);
            s.ok(&format!("LOGIN {} {}", quote(&u), quote(&p))).await?;
            s.logout().await
        }
        .await;
        if let Err(e) = &res {
            eprintln!("connection {c}: {e}");
        }
        record(ctx, rec, "CONNECT+LOGIN+LOGOUT", t0, res.is_ok());
    }
    Ok(())
}

async fn idle(ctx: &Ctx, c: usize, rec: &Rec) -> Result<(), SessionError> {
    let t0 = Instant::now();
    let (mut s, _) = login_select(ctx, c).await?;
    s.w.write_all(b"idle IDLE\r\n").await?;
    s.w.flush().await?;
    loop {
        match s.r.read_response().await? {
            Kind::Continuation => break,
            Kind::Untagged => {}
            _ => {
                return Err(SessionError::Protocol(format!(
                    "IDLE: {}",
                    show(s.r.first_line())
                )));
            }
        }
    }
    record(
        ctx,
        rec,
        "CONNECT+LOGIN+IDLE",
        t0.max(ctx.measure_from),
        true,
    );
    ctx.established.fetch_add(1, Ordering::Relaxed);
    while !ctx.release.load(Ordering::Relaxed) {
        glommio::timer::sleep(Duration::from_millis(100)).await;
    }
    let t1 = Instant::now();
    s.w.write_all(b"DONE\r\n").await?;
    s.w.flush().await?;
    let st = s.complete("idle").await?;
    record(ctx, rec, "DONE", t1, st == Status::Ok);
    s.logout().await
}

const MIXED_OPS: &[&str] = &[
    "fetch_headers",
    "fetch_body",
    "store",
    "append",
    "expunge",
    "idle",
    "noop",
    "logout",
];

pub fn parse_weights(spec: &str) -> Result<Vec<(String, u32)>, String> {
    let mut out = Vec::new();
    for part in spec.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("weight `{part}`: expected name=number"))?;
        if !MIXED_OPS.contains(&k) {
            return Err(format!(
                "unknown operation `{k}` (known: {})",
                MIXED_OPS.join(", ")
            ));
        }
        let v: u32 = v
            .parse()
            .map_err(|_| format!("weight `{part}`: not a number"))?;
        if v > 1_000_000 {
            return Err(format!("weight `{part}` too large"));
        }
        out.push((k.to_string(), v));
    }
    if out.iter().all(|(_, v)| *v == 0) {
        return Err("all weights are zero".into());
    }
    Ok(out)
}

fn pick<'a>(weights: &'a [(String, u32)], rng: &mut SmallRng) -> &'a str {
    let total: u32 = weights.iter().map(|(_, w)| *w).sum();
    let mut x = rng.gen_range(0..total.max(1));
    for (k, w) in weights {
        if x < *w {
            return k;
        }
        x -= w;
    }
    "noop"
}

async fn mixed(ctx: &Ctx, c: usize, rec: &Rec) -> Result<(), SessionError> {
    let mut rng = seed_for(ctx, c);
    let mut n = 0u64;
    'session: while ctx.may_start() {
        let t0 = Instant::now();
        let mut s = Imap::connect(&ctx.target).await?;
        let (u, p) = ctx.user(c);
        s.login(&u, &p).await?;
        record(ctx, rec, "LOGIN", t0, true);
        let t1 = Instant::now();
        let exists = s.select(&ctx.args.mailbox).await?;
        record(ctx, rec, "SELECT", t1, true);
        let mut uids = s.uids().await?;
        let _ = exists;
        let mut mine: Vec<u32> = Vec::new();
        while ctx.may_start() {
            let op = pick(&ctx.weights, &mut rng);
            let uid = if uids.is_empty() {
                1
            } else {
                uids[rng.gen_range(0..uids.len())]
            };
            let t = Instant::now();
            let (label, st) = match op {
                "fetch_headers" => {
                    let last = uids.last().copied().unwrap_or(1);
                    (
                        "FETCH new headers",
                        s.cmd(&format!(
                            "UID FETCH {}:* (FLAGS BODY.PEEK[HEADER])",
                            last.saturating_sub(9).max(1)
                        ))
                        .await?,
                    )
                }
                "fetch_body" => (
                    "FETCH body",
                    s.cmd(&format!("UID FETCH {uid} (BODY.PEEK[])")).await?,
                ),
                "store" => {
                    let sign = if rng.r#gen::<bool>() { '+' } else { '-' };
                    (
                        "STORE flags",
                        s.cmd(&format!("UID STORE {uid} {sign}FLAGS (\\Seen)"))
                            .await?,
                    )
                }
                "append" => {
                    n += 1;
                    let msg = msggen::message(&mut rng, n, 256 << 10);
                    let (st, new_uid) = s.append(&ctx.args.mailbox, &msg).await?;
                    if let Some(u) = new_uid {
                        mine.push(u);
                        uids.push(u);
                    }
                    ("APPEND", st)
                }
                "expunge" => {
                    let Some(u) = mine.pop() else { continue };
                    uids.retain(|x| *x != u);
                    s.ok(&format!("UID STORE {u} +FLAGS.SILENT (\\Deleted)"))
                        .await?;
                    ("EXPUNGE", s.cmd(&format!("UID EXPUNGE {u}")).await?)
                }
                "idle" => {
                    s.w.write_all(b"idle IDLE\r\n").await?;
                    s.w.flush().await?;
                    loop {
                        match s.r.read_response().await? {
                            Kind::Continuation => break,
                            Kind::Untagged => {}
                            _ => {
                                return Err(SessionError::Protocol(format!(
                                    "IDLE: {}",
                                    show(s.r.first_line())
                                )));
                            }
                        }
                    }
                    glommio::timer::sleep(Duration::from_millis(20)).await;
                    s.w.write_all(b"DONE\r\n").await?;
                    s.w.flush().await?;
                    ("IDLE 20ms", s.complete("idle").await?)
                }
                "logout" => {
                    s.logout().await?;
                    record(ctx, rec, "LOGOUT", t, true);
                    continue 'session;
                }
                _ => ("NOOP", s.cmd("NOOP").await?),
            };
            if st != Status::Ok {
                eprintln!("connection {c}: {label}: {}", show(s.r.first_line()));
            }
            record(ctx, rec, label, t, st == Status::Ok);
        }
        s.logout().await?;
        break;
    }
    Ok(())
}

async fn pop3(ctx: &Ctx, c: usize, rec: &Rec) -> Result<(), SessionError> {
    let mut rng = seed_for(ctx, c);
    while ctx.may_start() {
        let t0 = Instant::now();
        let mut s = Lines::connect(&ctx.target).await?;
        if !s.pop_status().await? {
            return Err(SessionError::Protocol("POP3 greeting -ERR".into()));
        }
        let (u, p) = ctx.user(c);
        let ok = s.pop_cmd(&format!("USER {u}")).await? && s.pop_cmd(&format!("PASS {p}")).await?;
        record(ctx, rec, "USER+PASS", t0, ok);
        if !ok {
            return Err(SessionError::Protocol(format!(
                "POP3 login: {}",
                show(s.r.first_line())
            )));
        }
        let t = Instant::now();
        s.send("STAT").await?;
        let ok = s.pop_status().await?;
        let count: u64 = std::str::from_utf8(s.r.first_line())
            .ok()
            .and_then(|l| l.split(' ').nth(1)?.parse().ok())
            .unwrap_or(0);
        record(ctx, rec, "STAT", t, ok);
        let t = Instant::now();
        let uidl = s.pop_multi("UIDL").await?;
        record(ctx, rec, "UIDL", t, uidl == Some(count));
        if count > 0 {
            let k = rng.gen_range(1..=count);
            let t = Instant::now();
            let ok = s.pop_multi(&format!("RETR {k}")).await?.is_some();
            record(ctx, rec, "RETR", t, ok);
            let t = Instant::now();
            let ok = s.pop_multi(&format!("TOP {k} 0")).await?.is_some();
            record(ctx, rec, "TOP", t, ok);
            let t = Instant::now();
            let ok = s.pop_cmd(&format!("DELE {k}")).await?;
            record(ctx, rec, "DELE", t, ok);
            // RSET keeps the maildrop intact so every round sees the same data.
            let t = Instant::now();
            let ok = s.pop_cmd("RSET").await?;
            record(ctx, rec, "RSET", t, ok);
        }
        let t = Instant::now();
        let ok = s.pop_cmd("QUIT").await?;
        record(ctx, rec, "QUIT", t, ok);
    }
    Ok(())
}

async fn lmtp_session(ctx: &Ctx, addr: &str) -> Result<Lines, SessionError> {
    let t = Target {
        addr: addr.to_string(),
        tls: None,
        server_name: ctx.target.server_name.clone(),
    };
    let mut s = Lines::connect(&t).await?;
    if s.smtp_reply().await? != 220 {
        return Err(SessionError::Protocol(format!(
            "LMTP greeting: {}",
            show(s.r.first_line())
        )));
    }
    s.send("LHLO loadgen.example").await?;
    if s.smtp_reply().await? != 250 {
        return Err(SessionError::Protocol(format!(
            "LHLO: {}",
            show(s.r.first_line())
        )));
    }
    Ok(s)
}

/// One LMTP transaction; true when the recipient's reply to DATA is 250.
async fn deliver(s: &mut Lines, rcpt: &str, msg: &[u8]) -> Result<bool, SessionError> {
    s.send("MAIL FROM:<loadgen@example.org>").await?;
    if s.smtp_reply().await? != 250 {
        return Ok(false);
    }
    s.send(&format!("RCPT TO:<{rcpt}>")).await?;
    if s.smtp_reply().await? != 250 {
        s.send("RSET").await?;
        s.smtp_reply().await?;
        return Ok(false);
    }
    s.send("DATA").await?;
    if s.smtp_reply().await? != 354 {
        return Ok(false);
    }
    s.w.write_all(&dot_stuff(msg)).await?;
    s.w.flush().await?;
    Ok(s.smtp_reply().await? == 250)
}

fn rcpt(ctx: &Ctx, user: &str) -> String {
    if user.contains('@') {
        user.to_string()
    } else {
        format!("{user}@{}", ctx.args.domain)
    }
}

async fn lmtp(ctx: &Ctx, c: usize, rec: &Rec) -> Result<(), SessionError> {
    let mut rng = seed_for(ctx, c);
    let mut s = lmtp_session(ctx, &ctx.target.addr).await?;
    let (u, _) = ctx.user(c);
    let to = rcpt(ctx, &u);
    let mut n = 0;
    while ctx.may_start() {
        n += 1;
        let msg = msggen::sized(&mut rng, n, ctx.args.msg_size);
        let t = Instant::now();
        let ok = deliver(&mut s, &to, &msg).await?;
        record(ctx, rec, "LMTP delivery", t, ok);
    }
    s.send("QUIT").await?;
    s.smtp_reply().await?;
    Ok(())
}

/// Connection `c` fills users c, c + connections, ... with `--messages` each.
/// Messages depend only on the seed and the user number, so two servers get
/// the same data.
async fn populate(ctx: &Ctx, c: usize, rec: &Rec) -> Result<(), SessionError> {
    let conns = ctx.args.connections.max(1);
    let n_users = if ctx.users.is_empty() {
        ctx.args.users.max(1)
    } else {
        ctx.users.len()
    };
    let mut ui = c;
    while ui < n_users {
        let (u, p) = ctx.user(ui);
        let mut rng = SmallRng::seed_from_u64(
            ctx.args
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add(ui as u64),
        );
        let mut gen_msg = |i: u64| {
            if ctx.args.fixed_size {
                msggen::sized(&mut rng, i, ctx.args.msg_size)
            } else {
                msggen::message(&mut rng, i, ctx.args.max_msg_size)
            }
        };
        if let Some(addr) = &ctx.args.via_lmtp {
            let mut s = lmtp_session(ctx, addr).await?;
            let to = rcpt(ctx, &u);
            for i in 0..ctx.args.messages as u64 {
                let msg = gen_msg(i);
                let t = Instant::now();
                let ok = deliver(&mut s, &to, &msg).await?;
                record(ctx, rec, "LMTP delivery", t, ok);
            }
            s.send("QUIT").await?;
            s.smtp_reply().await?;
        } else {
            let mut s = Imap::connect(&ctx.target).await?;
            s.login(&u, &p).await?;
            let depth = if s.literal_plus {
                ctx.args.depth.clamp(1, 64)
            } else {
                1
            };
            let mut inflight: HashMap<u64, Instant> = HashMap::new();
            let total = ctx.args.messages as u64;
            let mut sent = 0u64;
            while sent < total || !inflight.is_empty() {
                while sent < total && inflight.len() < depth {
                    let msg = gen_msg(sent);
                    sent += 1;
                    inflight.insert(sent, Instant::now());
                    s.send_append(&format!("a{sent}"), &ctx.args.mailbox, &msg)
                        .await?;
                }
                s.w.flush().await?;
                match s.r.read_response().await? {
                    Kind::Untagged => {}
                    Kind::Tagged { tag, status } => {
                        let n = tag
                            .strip_prefix(b"a")
                            .and_then(|d| std::str::from_utf8(d).ok()?.parse::<u64>().ok());
                        let Some(t) = n.and_then(|n| inflight.remove(&n)) else {
                            return Err(SessionError::Protocol(format!(
                                "unknown tag: {}",
                                show(s.r.first_line())
                            )));
                        };
                        if status != Status::Ok {
                            eprintln!("populate {u}: {}", show(s.r.first_line()));
                        }
                        record(ctx, rec, "APPEND", t, status == Status::Ok);
                    }
                    _ => {
                        return Err(SessionError::Protocol(format!(
                            "unexpected: {}",
                            show(s.r.first_line())
                        )));
                    }
                }
            }
            s.logout().await?;
        }
        ui += conns;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_parse_and_pick() {
        let w = parse_weights("fetch_body=3,noop=1").unwrap();
        let mut rng = SmallRng::seed_from_u64(3);
        let mut counts = HashMap::new();
        for _ in 0..4000 {
            *counts.entry(pick(&w, &mut rng).to_string()).or_insert(0) += 1;
        }
        let fb = counts["fetch_body"] as f64 / 4000.0;
        assert!((0.70..0.80).contains(&fb), "{fb}");
        assert!(parse_weights("bogus=1").is_err());
        assert!(parse_weights("noop=x").is_err());
        assert!(parse_weights("noop=0").is_err());
    }
}
