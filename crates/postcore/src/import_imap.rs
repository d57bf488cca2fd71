//! `postcore import --from imap`: pulls a live account from another IMAP
//! server into a user's store the way imapsync would, but straight into
//! the store (opened here, or through the running server's admin socket
//! like every import): every folder under its source UIDVALIDITY,
//! every message under its source UID, UIDNEXT raised to the source's, so
//! clients keep their caches (and POP3 UIDLs rendered from UID and
//! UIDVALIDITY, Dovecot's default format included, stay the same).
//!
//! The remote side is `migrate::imap`, a blocking client; like the file
//! readers it only ever runs on the executor's blocking pool (one call per
//! batch, see `import.rs`), shared between the calls through a mutex that
//! no executor thread ever locks.
//!
//! The source is never changed: folders are opened with EXAMINE and bodies
//! read with BODY.PEEK, so no \Seen is set and nothing is expunged.
//!
//! Resuming: each batch is one durable store record, and a folder's UIDs
//! ascend, so the store's UIDNEXT says which source messages are in. The
//! state file adds what the store cannot know: which source UIDVALIDITY a
//! folder was imported under, even when the mailbox here is still empty,
//! and the highest UID done. When the source's UIDVALIDITY is not the one
//! recorded (the folder was recreated there), its UIDs name other messages
//! now, so the folder is reported as a conflict and left alone rather than
//! imported twice.

use crate::import::{
    BATCH_BYTES, BATCH_MESSAGES, Ctx, Feed, FolderReport, Item, Plan, UserReport, blocking,
    import_folder, open_target, progress_bar, too_big,
};
use crate::offline::{Job, for_each_user, select_users};
use crate::target::Target;
use anyhow::{Context, bail};
use migrate::imap::{self, Client, ConnectOptions, Fetched, ImapError, RemoteFolder};
use server::config::Config;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::SpecialUse;

/// Environment variable that may hold the remote password, so it never has
/// to be on a command line (where `ps` shows it).
const PASSWORD_ENV: &str = "POSTCORE_IMPORT_PASSWORD";
/// Skipped entries handed back per call, so a resumed folder's
/// already-imported messages also come back in bounded pieces.
const MAX_SKIPS_PER_BATCH: usize = 20 * BATCH_MESSAGES;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsMode {
    /// Plain TCP: the password crosses the network readable.
    None,
    /// STARTTLS on the plain port (143) before logging in.
    Starttls,
    /// TLS from the first byte (port 993).
    Imaps,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// AUTHENTICATE PLAIN when the server offers it, else LOGIN.
    Auto,
    Plain,
    Login,
}

#[derive(clap::Args, Clone)]
#[command(next_help_heading = "IMAP source (--from imap)")]
pub struct ImapArgs {
    /// The server to pull from.
    #[arg(long)]
    pub(crate) host: Option<String>,
    /// Its port (default 993 with --tls imaps, else 143).
    #[arg(long)]
    port: Option<u16>,
    #[arg(long, value_enum, default_value = "starttls")]
    tls: TlsMode,
    /// Accept any certificate (a self-signed server); signatures are still
    /// checked, the issuer and name are not.
    #[arg(long)]
    insecure: bool,
    /// Trusted CAs (PEM) instead of the system bundle.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// The account on the remote server (default: the target user's name).
    #[arg(long, value_name = "NAME")]
    remote_user: Option<String>,
    /// A prefix the server puts before every personal folder, removed from
    /// the names here: `INBOX.` for Courier and Cyrus (`INBOX.Sent` becomes
    /// `Sent`, INBOX stays INBOX).
    #[arg(long, value_name = "PREFIX")]
    remote_prefix: Option<String>,
    /// File whose first line is the remote password (else the environment
    /// variable POSTCORE_IMPORT_PASSWORD, else a prompt on a terminal).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "auto")]
    auth: AuthMode,
    /// Where the resume state is kept (default: in the user's store
    /// directory, one file per remote server and account).
    #[arg(long, value_name = "FILE")]
    state_file: Option<PathBuf>,
    /// Messages per UID FETCH and per store record.
    #[arg(long, default_value_t = BATCH_MESSAGES as u32, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    batch_size: u32,
    /// Seconds to wait for the server to connect, answer or take data.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    timeout: u64,
}

/// Everything a user's pull needs, shared with the executor threads.
struct Source {
    connect: ConnectOptions,
    remote_user: String,
    password: Vec<u8>,
    auth: imap::Auth,
    state_file: Option<PathBuf>,
    batch_size: usize,
    remote_prefix: Option<String>,
}

impl Source {
    fn url(&self) -> String {
        format!(
            "imap://{}@{}:{}",
            self.remote_user, self.connect.host, self.connect.port
        )
    }
}

// ---------------------------------------------------------------------------
// the feed: one folder's messages, read in batches on the blocking pool

pub(crate) struct ImapFeed {
    client: Arc<Mutex<Client>>,
    /// (UID, RFC822.SIZE) still to go, ascending.
    queue: VecDeque<(u32, u32)>,
    batch_size: usize,
    aborted: bool,
}

impl ImapFeed {
    pub(crate) fn done(&self) -> bool {
        self.queue.is_empty() || self.aborted
    }

    /// One UID FETCH of up to a batch (by count and by the sizes the server
    /// announced). Runs on the blocking pool.
    pub(crate) fn read_batch(&mut self, skip_below: u32, max_size: u64) -> Vec<Item> {
        let mut out = Vec::new();
        let mut want: Vec<u32> = Vec::new();
        let mut bytes = 0u64;
        while let Some(&(uid, size)) = self.queue.front() {
            let size = u64::from(size);
            if uid < skip_below {
                if out.len() >= MAX_SKIPS_PER_BATCH {
                    break;
                }
                out.push(Item::Skip(uid, size, 0));
            } else if size > max_size {
                out.push(Item::Fail(Some(uid), too_big(size, max_size)));
            } else {
                if want.len() >= self.batch_size || (!want.is_empty() && bytes + size > BATCH_BYTES)
                {
                    break;
                }
                want.push(uid);
                bytes += size;
            }
            self.queue.pop_front();
        }
        if want.is_empty() {
            return out;
        }
        // Servers count sizes their own way (Dovecot's are CRLF sizes of
        // files kept with LF); twice the announced total plus one message
        // is room for that, and still a bound.
        let budget = bytes.saturating_mul(2).saturating_add(max_size);
        let fetched = match self.client.lock() {
            Ok(mut c) => c.fetch(&want, budget),
            Err(_) => Err(ImapError::Protocol("the connection was lost".into())),
        };
        match fetched {
            Ok(got) => merge(&want, got, &mut out),
            Err(e) if e.is_refusal() => {
                for uid in want {
                    out.push(Item::Fail(Some(uid), e.to_string()));
                }
            }
            Err(e) => {
                self.aborted = true;
                out.push(Item::Abort(format!("reading messages: {e}")));
            }
        }
        out
    }
}

fn merge(want: &[u32], got: Vec<Fetched>, out: &mut Vec<Item>) {
    let mut got = got.into_iter().peekable();
    for &uid in want {
        match got.next_if(|f| f.uid == uid) {
            Some(Fetched { message: Ok(m), .. }) => out.push(Item::Msg(uid, m)),
            Some(Fetched {
                message: Err(reason),
                ..
            }) => out.push(Item::Fail(Some(uid), reason)),
            None => out.push(Item::Note(
                uid,
                "expunged on the source during the import".into(),
            )),
        }
    }
}

// ---------------------------------------------------------------------------
// the state file

/// Per remote folder (by its name on the server): the source UIDVALIDITY it
/// was imported under, the highest UID done and the source's UIDNEXT then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FolderState {
    uidvalidity: u32,
    done: u32,
    uidnext: u32,
}

/// A small text file, one line per folder, so an operator can read it and
/// delete a line to let a conflicting folder be imported afresh:
///
/// ```text
/// postcore-import-imap 1 imap://user@host:port
/// folder UIDVALIDITY HIGHEST-UID-DONE UIDNEXT NAME
/// ```
///
/// NAME (the server's spelling) is last and percent-encoded outside
/// printable ASCII. Written whole to a temporary file, synced and renamed
/// over the old one, so a kill leaves the old or the new state.
pub(crate) struct StateFile {
    path: PathBuf,
    source: String,
    folders: BTreeMap<String, FolderState>,
}

const STATE_MAGIC: &str = "postcore-import-imap 1";

impl StateFile {
    /// std::fs: called on the blocking pool.
    fn load(path: &Path, source: &str) -> anyhow::Result<StateFile> {
        let mut st = StateFile {
            path: path.to_path_buf(),
            source: source.to_owned(),
            folders: BTreeMap::new(),
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(st),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let bad = |n: usize| format!("{}:{}: not a state line", path.display(), n + 1);
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, head)) if head == format!("{STATE_MAGIC} {source}") => {}
            Some((_, head)) if head.starts_with(STATE_MAGIC) => bail!(
                "{}: the state of another source ({}); give --state-file for this one",
                path.display(),
                head[STATE_MAGIC.len()..].trim()
            ),
            _ => bail!("{}", bad(0)),
        }
        for (n, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let mut parts = line.splitn(5, ' ');
            let (Some("folder"), Some(v), Some(d), Some(u), Some(name)) = (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            ) else {
                bail!("{}", bad(n));
            };
            let (Ok(uidvalidity), Ok(done), Ok(uidnext), Some(name)) = (
                v.parse(),
                d.parse(),
                u.parse(),
                crate::offline::decode_dir_name(name),
            ) else {
                bail!("{}", bad(n));
            };
            st.folders.insert(
                name,
                FolderState {
                    uidvalidity,
                    done,
                    uidnext,
                },
            );
        }
        Ok(st)
    }

    /// std::fs: called on the blocking pool.
    fn save(&self) -> anyhow::Result<()> {
        use std::io::Write;
        let mut text = format!("{STATE_MAGIC} {}\n", self.source);
        for (name, f) in &self.folders {
            text.push_str(&format!(
                "folder {} {} {} {}\n",
                f.uidvalidity,
                f.done,
                f.uidnext,
                escape(name)
            ));
        }
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_data()?;
            std::fs::rename(&tmp, &self.path)?;
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        };
        write().with_context(|| format!("writing {}", self.path.display()))
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The default state file: in the user's store directory (it goes when the
/// store goes, and is copied with it), named for the source so pulls from
/// two servers into one user keep apart.
fn default_state_path(user_dir: &Path, src: &Source) -> PathBuf {
    let key = format!(
        "{}@{}:{}",
        src.remote_user, src.connect.host, src.connect.port
    );
    let mut name = String::from("import-imap-");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"@.-_:".contains(&b) {
            name.push(b as char);
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    name.push_str(".state");
    user_dir.join(name)
}

/// Records a folder's progress after each durable batch (see [`Plan`]).
pub(crate) struct StateHook {
    state: Arc<Mutex<StateFile>>,
    folder: String,
}

impl StateHook {
    pub(crate) async fn record(&self, done: u32) -> anyhow::Result<()> {
        let state = self.state.clone();
        let folder = self.folder.clone();
        blocking(move || {
            let Ok(mut st) = state.lock() else {
                bail!("state file lock poisoned");
            };
            if let Some(f) = st.folders.get_mut(&folder) {
                f.done = f.done.max(done);
            }
            st.save()
        })
        .await
    }
}

async fn with_state<R: Send + 'static>(
    state: &Arc<Mutex<StateFile>>,
    f: impl FnOnce(&mut StateFile) -> anyhow::Result<R> + Send + 'static,
) -> anyhow::Result<R> {
    let state = state.clone();
    blocking(move || {
        let Ok(mut st) = state.lock() else {
            bail!("state file lock poisoned");
        };
        f(&mut st)
    })
    .await
}

// ---------------------------------------------------------------------------
// one user

fn special_use(s: Option<imap::SpecialUse>) -> Option<SpecialUse> {
    s.map(|s| match s {
        imap::SpecialUse::Sent => SpecialUse::Sent,
        imap::SpecialUse::Trash => SpecialUse::Trash,
        imap::SpecialUse::Drafts => SpecialUse::Drafts,
        imap::SpecialUse::Junk => SpecialUse::Junk,
        imap::SpecialUse::Archive => SpecialUse::Archive,
    })
}

/// Runs `f` on the connection, on the blocking pool.
async fn remote<R: Send + 'static>(
    client: &Arc<Mutex<Client>>,
    f: impl FnOnce(&mut Client) -> Result<R, ImapError> + Send + 'static,
) -> Result<R, ImapError> {
    let client = client.clone();
    blocking(move || match client.lock() {
        Ok(mut c) => f(&mut c),
        Err(_) => Err(ImapError::Protocol("the connection was lost".into())),
    })
    .await
}

async fn import_user(job: Job, src: Arc<Source>, ctx: Arc<Ctx>) -> anyhow::Result<UserReport> {
    let start = Instant::now();
    // Log in before the store is touched: a wrong password must not leave
    // a new, empty store behind.
    let s = src.clone();
    let (client, folders) = blocking(move || -> Result<_, ImapError> {
        let mut c = Client::connect(&s.connect)?;
        c.login(&s.remote_user, &s.password, s.auth)?;
        let folders = c.folders()?;
        Ok((c, folders))
    })
    .await
    .with_context(|| src.url())?;
    let client = Arc::new(Mutex::new(client));

    let (store, existed) = open_target(&job, &ctx).await?;
    let mut rep = UserReport {
        user: job.user.clone(),
        source: PathBuf::from(src.url()),
        live: store.is_live(),
        new_store: !existed,
        folders: Vec::new(),
        skipped_folders: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let work = async {
        if let (false, Target::Local(s)) = (existed, &store) {
            server::users::provision(s).await?;
        }
        let path = src
            .state_file
            .clone()
            .unwrap_or_else(|| default_state_path(&job.dir, &src));
        let url = src.url();
        let state = blocking(move || StateFile::load(&path, &url)).await?;
        let state = Arc::new(Mutex::new(state));
        pull_folders(
            &store, &client, folders, &state, !existed, &src, &ctx, &mut rep,
        )
        .await
    };
    let r = work.await;
    // After a failure the connection may be dead: waiting out a timeout
    // for a goodbye would only delay the report.
    if r.is_ok() {
        let _ = remote(&client, |c| {
            c.logout();
            Ok(())
        })
        .await;
    }
    let closed = store.close().await;
    r?;
    closed?;
    rep.elapsed = start.elapsed();
    Ok(rep)
}

#[allow(clippy::too_many_arguments)]
async fn pull_folders(
    store: &Target,
    client: &Arc<Mutex<Client>>,
    mut folders: Vec<RemoteFolder>,
    state: &Arc<Mutex<StateFile>>,
    new_store: bool,
    src: &Source,
    ctx: &Ctx,
    rep: &mut UserReport,
) -> anyhow::Result<()> {
    // Parents before children, so created parents get their own attributes.
    folders.sort_by(|a, b| a.raw_name.cmp(&b.raw_name));
    for folder in folders {
        let raw = match &src.remote_prefix {
            Some(p) => folder
                .raw_name
                .strip_prefix(p.as_str())
                .filter(|rest| !rest.is_empty())
                .unwrap_or(&folder.raw_name),
            None => &folder.raw_name,
        };
        let name = match imap::names::local_name(raw, folder.delimiter) {
            Ok(n) => n,
            Err(e) => {
                rep.skipped_folders
                    .push(format!("{:?}: {e}", folder.raw_name));
                continue;
            }
        };
        if !folder.selectable {
            // A hierarchy level or a subscription to a name that does not
            // exist: nothing to copy, but the subscription is kept.
            if folder.subscribed {
                store.subscribe(&name, true).await?;
            }
            continue;
        }
        let f = pull_folder(store, client, &folder, name, state, new_store, src, ctx)
            .await
            .with_context(|| format!("folder {}", folder.raw_name))?;
        rep.folders.push(f);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn pull_folder(
    store: &Target,
    client: &Arc<Mutex<Client>>,
    folder: &RemoteFolder,
    name: String,
    state: &Arc<Mutex<StateFile>>,
    new_store: bool,
    src: &Source,
    ctx: &Ctx,
) -> anyhow::Result<FolderReport> {
    let mut rep = FolderReport::new(&name);
    let raw = folder.raw_name.clone();
    let examined = match remote(client, move |c| c.examine(&raw)).await {
        Ok(e) => e,
        Err(e) if e.is_refusal() => {
            rep.fail(None, e);
            return Ok(rep);
        }
        Err(e) => return Err(e.into()),
    };
    let key = folder.raw_name.clone();
    let recorded = with_state(state, move |st| Ok(st.folders.get(&key).copied())).await?;
    if let Some(r) = recorded
        && r.uidvalidity != examined.uidvalidity
    {
        rep.fail(
            None,
            format!(
                "conflict: the source's UIDVALIDITY is now {}, it was {} when this folder was \
                 imported; its UIDs name other messages now, so nothing was imported (to import \
                 it afresh, delete or rename {name} here and remove its line from the state file)",
                examined.uidvalidity, r.uidvalidity
            ),
        );
        return Ok(rep);
    }
    if let Some(st) = store.state(&name).await?
        && st.uidvalidity != examined.uidvalidity
        && st.uidnext > 1
    {
        rep.fail(
            None,
            format!(
                "conflict: {name} here already holds messages under UIDVALIDITY {}, the \
                 source's is {}; nothing was imported",
                st.uidvalidity, examined.uidvalidity
            ),
        );
        return Ok(rep);
    }
    let exists = examined.exists;
    let sizes = match remote(client, move |c| c.uid_sizes(exists)).await {
        Ok(s) => s,
        Err(e) if e.is_refusal() => {
            rep.fail(None, e);
            return Ok(rep);
        }
        Err(e) => return Err(e.into()),
    };
    ctx.bar.inc_length(sizes.len() as u64);
    let uidnext = examined
        .uidnext
        .unwrap_or(0)
        .max(sizes.last().map_or(1, |(u, _)| u.saturating_add(1)));
    let key = folder.raw_name.clone();
    let uidvalidity = examined.uidvalidity;
    with_state(state, move |st| {
        let e = st.folders.entry(key).or_insert(FolderState {
            uidvalidity,
            done: 0,
            uidnext,
        });
        e.uidnext = uidnext;
        st.save()
    })
    .await?;
    let plan = Plan {
        name: name.clone(),
        uidvalidity: Some(examined.uidvalidity),
        uidnext: Some(uidnext),
        // As for Maildir: a new store mirrors the source's subscriptions,
        // an existing one only gains some.
        subscribe: if folder.subscribed {
            Some(true)
        } else if new_store {
            Some(false)
        } else {
            None
        },
        special_use: special_use(folder.special_use),
        after_batch: Some(StateHook {
            state: state.clone(),
            folder: folder.raw_name.clone(),
        }),
    };
    let feed = Feed::Imap(Box::new(ImapFeed {
        client: client.clone(),
        queue: sizes.into(),
        batch_size: src.batch_size,
        aborted: false,
    }));
    let done = import_folder(store, plan, feed, ctx).await?;
    let key = folder.raw_name.clone();
    let last = uidnext.saturating_sub(1);
    with_state(state, move |st| {
        if let Some(f) = st.folders.get_mut(&key) {
            f.done = f.done.max(last);
        }
        st.save()
    })
    .await?;
    Ok(done)
}

// ---------------------------------------------------------------------------
// the command

/// The remote password, never from the command line. On the CLI thread,
/// before any executor starts (std::fs is fine here).
fn password(args: &ImapArgs, remote_user: &str, host: &str) -> anyhow::Result<Vec<u8>> {
    if let Some(p) = &args.password_file {
        let text = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        let line = text.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        return Ok(line.to_vec());
    }
    if let Some(p) = std::env::var_os(PASSWORD_ENV) {
        use std::os::unix::ffi::OsStrExt;
        return Ok(p.as_bytes().to_vec());
    }
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password(format!("Password for {remote_user} on {host}: "))
            .context("reading the password")?;
        return Ok(p.into_bytes());
    }
    bail!("no password for the remote account: give --password-file FILE or set {PASSWORD_ENV}")
}

pub fn run(cfg: &Config, user: String, args: ImapArgs) -> anyhow::Result<()> {
    let Some(host) = args.host.clone() else {
        bail!("--from imap needs --host");
    };
    let folded = select_users(cfg, std::slice::from_ref(&user))?;
    let remote_user = args.remote_user.clone().unwrap_or_else(|| user.clone());
    let password = password(&args, &remote_user, &host)?;
    let max_size = server::store_config(cfg).max_message_size;
    let tls = match args.tls {
        TlsMode::None => imap::Tls::None,
        TlsMode::Starttls => imap::Tls::StartTls,
        TlsMode::Imaps => imap::Tls::Imaps,
    };
    let src = Arc::new(Source {
        connect: ConnectOptions {
            port: args
                .port
                .unwrap_or(if tls == imap::Tls::Imaps { 993 } else { 143 }),
            host,
            tls,
            insecure: args.insecure,
            ca_file: args.ca_file.clone(),
            timeout: Duration::from_secs(args.timeout.max(1)),
            max_message: max_size,
        },
        remote_user,
        password,
        auth: match args.auth {
            AuthMode::Auto => imap::Auth::Auto,
            AuthMode::Plain => imap::Auth::Plain,
            AuthMode::Login => imap::Auth::Login,
        },
        state_file: args.state_file.clone(),
        remote_prefix: args.remote_prefix.clone().filter(|p| !p.is_empty()),
        batch_size: args.batch_size as usize,
    });
    let ctx = Arc::new(Ctx {
        bar: progress_bar(true),
        max_size,
        admin: server::admin::Endpoint::open(&cfg.data_dir).ok(),
    });
    let c = ctx.clone();
    let results = for_each_user(cfg, folded, move |job| {
        let (src, ctx) = (src.clone(), c.clone());
        import_user(job, src, ctx)
    })?;
    ctx.bar.finish_and_clear();
    let mut failed = false;
    for (user, r) in results {
        match r {
            Ok(rep) => {
                print!("{}", rep.render());
                failed |= rep.failed() > 0;
            }
            Err(e) => {
                failed = true;
                match e.downcast_ref::<store::StoreError>() {
                    Some(store::StoreError::Locked(_)) => {
                        println!("{user}: busy (served right now); not imported")
                    }
                    _ => println!("{user}: import failed: {e:#}"),
                }
            }
        }
    }
    if failed {
        bail!("not everything was imported (see above)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for n in [
            "INBOX",
            "Sent Items",
            "Entw&APw-rfe",
            "a%b",
            "tab\there",
            "ü",
        ] {
            assert_eq!(
                crate::offline::decode_dir_name(&escape(n)).as_deref(),
                Some(n)
            );
            assert!(!escape(n).contains(['\n', '\t']));
        }
        assert_eq!(crate::offline::decode_dir_name("bad%G0"), None);
    }

    #[test]
    fn state_file_round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("s.state");
        let src = "imap://ann@h:143";
        let mut st = StateFile::load(&path, src).unwrap_or_else(|e| panic!("{e}"));
        assert!(st.folders.is_empty());
        st.folders.insert(
            "Sent Items".into(),
            FolderState {
                uidvalidity: 7,
                done: 40,
                uidnext: 45,
            },
        );
        st.save().unwrap_or_else(|e| panic!("{e}"));
        let again = StateFile::load(&path, src).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.folders, st.folders);
        let other = StateFile::load(&path, "imap://bob@h:143");
        assert!(other.is_err_and(|e| e.to_string().contains("another source")));
        std::fs::write(&path, format!("{STATE_MAGIC} {src}\nfolder x 1 2 INBOX\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(StateFile::load(&path, src).is_err());
    }
}
