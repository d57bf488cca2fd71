//! `postcore user add|passwd|del|list`: edits the passwd-file with std::fs
//! (this is a CLI process, not an executor) under an exclusive lock so two
//! concurrent edits cannot lose each other's change. A running server picks
//! the change up by itself.

use anyhow::{Context, bail};
use auth::passwd_file::{PasswdFile, UserEntry, fs as pwfs};
use auth::scheme::{HashScheme, ScramSecrets, hash_password, scram};
use auth::username::Username;
use clap::Subcommand;
use server::config::Config;
use std::io::{BufRead, IsTerminal};
use std::path::Path;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is read from standard input (one line) when
    /// it is not a terminal, else prompted for twice.
    Add { name: String },
    /// Change a user's password (read like `add`).
    Passwd { name: String },
    /// Remove a user from the database (their mail stays on disk).
    Del { name: String },
    /// List the users (with the protocols disabled for them, if any).
    List,
    /// Refuse new IMAP and/or POP3 logins of a user (both without a flag);
    /// their password and mail stay. A running server applies it to the
    /// next login; sessions already open continue.
    Disable {
        name: String,
        #[arg(long)]
        imap: bool,
        #[arg(long)]
        pop3: bool,
    },
    /// Log a user out everywhere ("log out on all devices"): a running
    /// server ends every IMAP and POP3 session of the user that logged in
    /// before now, within about a second (BYE / -ERR). New logins work.
    Kick { name: String },
    /// Allow IMAP and/or POP3 logins again (both without a flag).
    Enable {
        name: String,
        #[arg(long)]
        imap: bool,
        #[arg(long)]
        pop3: bool,
    },
    /// Show or set a user's quota (RFC 9208 STORAGE and MESSAGE). A value
    /// is a size (`500M`, `2G`; K/M/G/T are powers of 1024) or a count,
    /// `unlimited`, or `default` (the `[quota]` setting). Applied by a
    /// running server from the next operation on.
    Quota {
        name: String,
        #[arg(long)]
        storage: Option<String>,
        #[arg(long)]
        messages: Option<String>,
    },
    /// Manage a user's app passwords: extra, revocable passwords for mail
    /// clients (IMAP, POP3, SMTP AUTH with PLAIN/LOGIN).
    #[command(subcommand, name = "app-password")]
    AppPassword(AppPasswordCommand),
}

#[derive(Subcommand)]
pub enum AppPasswordCommand {
    /// Generate an app password NAME for USER and print it (shown once).
    Add { user: String, name: String },
    /// List USER's app passwords by name.
    List { user: String },
    /// Revoke USER's app password NAME.
    Revoke { user: String, name: String },
}

pub fn run(cfg: &Config, cmd: UserCommand) -> anyhow::Result<()> {
    let path = cfg.passwd_path();
    match cmd {
        UserCommand::List => {
            let db = pwfs::load(&path)?;
            for u in db.users() {
                match u.extra(server::users::DISABLED_FIELD) {
                    Some(d) => println!("{} (disabled: {d})", u.written_username()),
                    None => println!("{}", u.written_username()),
                }
            }
            Ok(())
        }
        UserCommand::Disable { name, imap, pop3 } => {
            set_disabled(&path, &name, protocols(imap, pop3), true)
        }
        UserCommand::Kick { name } => {
            let user = Username::new(&name).with_context(|| format!("user name {name:?}"))?;
            let _lock = lock(&path)?;
            let mut db = pwfs::load(&path)?;
            let Some(entry) = db.get_mut(user.as_str()) else {
                bail!("no user {}", user.as_str());
            };
            // The server compares this with each session's login time.
            entry.set_extra(
                server::users::KICKED_FIELD,
                &server::users::now_ms().to_string(),
            )?;
            save(&path, &db)?;
            println!(
                "kicked {}: a running server ends their sessions within a second",
                user.as_str()
            );
            Ok(())
        }
        UserCommand::Quota {
            name,
            storage,
            messages,
        } => set_quota(cfg, &path, &name, storage, messages),
        UserCommand::Enable { name, imap, pop3 } => {
            set_disabled(&path, &name, protocols(imap, pop3), false)
        }
        UserCommand::Add { name } => {
            let user = Username::new(&name).with_context(|| format!("user name {name:?}"))?;
            let _lock = lock(&path)?;
            let mut db = pwfs::load(&path)?;
            if db.get(user.as_str()).is_some() {
                bail!("user {} already exists", user.as_str());
            }
            let password = read_new_password()?;
            let mut entry = UserEntry::new(
                user.clone(),
                hash_password(&password, &HashScheme::default())?,
            );
            entry.set_scram_secrets(&ScramSecrets::generate(
                &password,
                scram::DEFAULT_ITERATIONS,
            )?);
            db.add(entry)?;
            save(&path, &db)?;
            println!("added user {}", user.as_str());
            Ok(())
        }
        UserCommand::Passwd { name } => {
            let user = Username::new(&name).with_context(|| format!("user name {name:?}"))?;
            let _lock = lock(&path)?;
            let mut db = pwfs::load(&path)?;
            let Some(entry) = db.get_mut(user.as_str()) else {
                bail!("no user {}", user.as_str());
            };
            let password = read_new_password()?;
            entry.set_password(hash_password(&password, &HashScheme::default())?)?;
            entry.set_scram_secrets(&ScramSecrets::generate(
                &password,
                scram::DEFAULT_ITERATIONS,
            )?);
            save(&path, &db)?;
            println!("changed the password of {}", user.as_str());
            Ok(())
        }
        UserCommand::AppPassword(cmd) => app_password(&path, cmd),
        UserCommand::Del { name } => {
            let user = Username::new(&name).with_context(|| format!("user name {name:?}"))?;
            let _lock = lock(&path)?;
            let mut db = pwfs::load(&path)?;
            db.remove(user.as_str())?;
            save(&path, &db)?;
            println!(
                "removed user {} (their mail is kept on disk)",
                user.as_str()
            );
            Ok(())
        }
    }
}

/// A quota value: `Some(Some(n))` to set n (0 = unlimited), `Some(None)`
/// to fall back to `[quota]`.
fn quota_value(v: &str, size: bool) -> anyhow::Result<Option<u64>> {
    let v = v.trim();
    if v.eq_ignore_ascii_case("default") {
        return Ok(None);
    }
    if v.eq_ignore_ascii_case("unlimited") {
        return Ok(Some(0));
    }
    let (digits, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => v.split_at(i),
        None => (v, ""),
    };
    let n: u64 = digits
        .parse()
        .with_context(|| format!("{v:?}: a number, `unlimited` or `default`"))?;
    let kib = match (size, unit.to_ascii_uppercase().as_str()) {
        (false, "") => return Ok(Some(n)),
        (true, "" | "K" | "KB" | "KIB") => 1,
        (true, "M" | "MB" | "MIB") => 1 << 10,
        (true, "G" | "GB" | "GIB") => 1 << 20,
        (true, "T" | "TB" | "TIB") => 1 << 30,
        _ => bail!("{v:?}: unknown unit (K, M, G or T)"),
    };
    n.checked_mul(kib)
        .map(Some)
        .with_context(|| format!("{v:?} is too large"))
}

fn set_quota(
    cfg: &Config,
    path: &Path,
    name: &str,
    storage: Option<String>,
    messages: Option<String>,
) -> anyhow::Result<()> {
    use server::quota::{MESSAGES_FIELD, STORAGE_FIELD};
    let user = Username::new(name).with_context(|| format!("user name {name:?}"))?;
    let _lock = lock(path)?;
    let mut db = pwfs::load(path)?;
    let Some(entry) = db.get_mut(user.as_str()) else {
        bail!("no user {}", user.as_str());
    };
    let changes = [
        (STORAGE_FIELD, storage, true),
        (MESSAGES_FIELD, messages, false),
    ];
    let mut changed = false;
    for (field, value, size) in changes {
        let Some(v) = value else { continue };
        match quota_value(&v, size)? {
            None => {
                entry.remove_extra(field);
            }
            Some(n) => entry.set_extra(field, &n.to_string())?,
        }
        changed = true;
    }
    if changed {
        save(path, &db)?;
    }
    let Some(entry) = db.get(user.as_str()) else {
        bail!("no user {}", user.as_str());
    };
    let show = |field: &str, default: u64, unit: &str| -> String {
        let (v, from) = match entry.extra(field).and_then(|v| v.parse::<u64>().ok()) {
            Some(v) => (v, "the user's"),
            None => (default, "[quota]"),
        };
        if v == 0 {
            format!("unlimited ({from})")
        } else {
            format!("{v}{unit} ({from})")
        }
    };
    println!(
        "{}: storage {}, messages {}",
        user.as_str(),
        show(STORAGE_FIELD, cfg.quota.storage_kib, " KiB"),
        show(MESSAGES_FIELD, cfg.quota.messages, "")
    );
    Ok(())
}

/// The protocols a disable/enable names: both when neither flag is given.
fn protocols(imap: bool, pop3: bool) -> Vec<&'static str> {
    match (imap, pop3) {
        (true, false) => vec!["imap"],
        (false, true) => vec!["pop3"],
        _ => vec!["imap", "pop3"],
    }
}

/// Adds (`off`) or removes protocols in the user's `disabled=` extra field.
fn set_disabled(path: &Path, name: &str, protos: Vec<&str>, off: bool) -> anyhow::Result<()> {
    let user = Username::new(name).with_context(|| format!("user name {name:?}"))?;
    let _lock = lock(path)?;
    let mut db = pwfs::load(path)?;
    let Some(entry) = db.get_mut(user.as_str()) else {
        bail!("no user {}", user.as_str());
    };
    let field = server::users::DISABLED_FIELD;
    let mut set: Vec<String> = entry
        .extra(field)
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    for p in &protos {
        set.retain(|q| q != p);
        if off {
            set.push((*p).to_owned());
        }
    }
    set.sort();
    if set.is_empty() {
        entry.remove_extra(field);
    } else {
        entry.set_extra(field, &set.join(","))?;
    }
    save(path, &db)?;
    let now = if set.is_empty() {
        "none".to_owned()
    } else {
        set.join(", ")
    };
    println!(
        "{} {}: {} (disabled now: {now})",
        if off { "disabled" } else { "enabled" },
        user.as_str(),
        protos.join(", ")
    );
    Ok(())
}

fn save(path: &Path, db: &PasswdFile) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    pwfs::save_atomic(path, db)?;
    Ok(())
}

/// An exclusive lock held while the file is read, changed and replaced.
fn lock(path: &Path) -> anyhow::Result<std::fs::File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let lock_path = path.with_extension("lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    f.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    Ok(f)
}

fn read_new_password() -> anyhow::Result<Vec<u8>> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        let first = rpassword::prompt_password("New password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        first.into_bytes()
    } else {
        let mut line = Vec::new();
        stdin.lock().read_until(b'\n', &mut line)?;
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        line
    };
    if password.is_empty() {
        bail!("empty password");
    }
    Ok(password)
}

fn app_password(path: &Path, cmd: AppPasswordCommand) -> anyhow::Result<()> {
    use auth::passwd_file::app_password::generate;
    let user_of = |name: &str| -> anyhow::Result<Username> {
        Username::new(name).with_context(|| format!("user name {name:?}"))
    };
    match cmd {
        AppPasswordCommand::List { user } => {
            let user = user_of(&user)?;
            let db = pwfs::load(path)?;
            let Some(entry) = db.get(user.as_str()) else {
                bail!("no user {}", user.as_str());
            };
            for (name, _) in entry.app_passwords() {
                println!("{name}");
            }
            Ok(())
        }
        AppPasswordCommand::Add { user, name } => {
            let user = user_of(&user)?;
            let _lock = lock(path)?;
            let mut db = pwfs::load(path)?;
            let Some(entry) = db.get_mut(user.as_str()) else {
                bail!("no user {}", user.as_str());
            };
            let password = generate()?;
            entry.add_app_password(&name, password.as_bytes())?;
            save(path, &db)?;
            println!("{password}");
            eprintln!(
                "app password {name:?} for {} (shown only now)",
                user.as_str()
            );
            Ok(())
        }
        AppPasswordCommand::Revoke { user, name } => {
            let user = user_of(&user)?;
            let _lock = lock(path)?;
            let mut db = pwfs::load(path)?;
            let Some(entry) = db.get_mut(user.as_str()) else {
                bail!("no user {}", user.as_str());
            };
            entry.revoke_app_password(&name)?;
            save(path, &db)?;
            println!("revoked app password {name:?} of {}", user.as_str());
            Ok(())
        }
    }
}
