//! Users: the passwd-file database every shard reads (swapped in whole when
//! the file changes), where a user's store lives on disk, which shard is a
//! user's home, and the home shard's table of open stores.

use arc_swap::ArcSwap;
use auth::passwd_file::PasswdFile;
use auth::scheme::VerifyPolicy;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use store::{SpecialUse, Store, StoreConfig, StoreError};

/// The user database as last read from disk.
pub type UserDb = Arc<ArcSwap<PasswdFile>>;

/// A stable hash of a (case-folded) user name: it picks both the home shard
/// and the directory prefix, so it must never change between versions.
fn name_hash(user: &str) -> u32 {
    crc32fast::hash(user.as_bytes())
}

pub fn home_shard(user: &str, shards: usize) -> usize {
    (name_hash(user) as usize) % shards.max(1)
}

/// `<data>/users/<2 hex digits>/<name>`; bytes of the name that are not
/// safe in a file name (and a leading dot) are percent-encoded, so no user
/// name can reach outside its directory.
pub fn user_dir(data_dir: &Path, user: &str) -> PathBuf {
    let mut enc = String::with_capacity(user.len());
    for (i, b) in user.bytes().enumerate() {
        let safe = b.is_ascii_alphanumeric() || b"-_@+".contains(&b) || (b == b'.' && i > 0);
        if safe {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    data_dir
        .join("users")
        .join(format!("{:02x}", name_hash(user) & 0xff))
        .join(enc)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The canonical (case-folded) user name.
    Ok(String),
    Failed,
}

/// Checks a password. The hash comparison is blocking CPU work, so it runs on
/// the executor's blocking thread pool. An unknown user costs the same as a
/// wrong password, so response times do not reveal which names exist.
pub async fn verify_login(
    db: &UserDb,
    name: &str,
    password: Vec<u8>,
    policy: VerifyPolicy,
) -> LoginOutcome {
    let folded = match auth::username::Username::new(name) {
        Ok(u) => u.into_string(),
        Err(_) => return LoginOutcome::Failed,
    };
    let entry = db.load().get(&folded).map(|e| {
        let main = e.password().map(str::to_owned);
        let apps: Vec<String> = e.app_passwords().map(|(_, h)| h.to_owned()).collect();
        (main, apps)
    });
    let ok = glommio::executor()
        .spawn_blocking(move || match entry {
            Some((main, apps)) => {
                let main_ok = main
                    .as_deref()
                    .is_some_and(|s| auth::scheme::verify(s, &password, &policy).unwrap_or(false));
                // App passwords (bounded in number) are tried when the main
                // password does not match.
                main_ok
                    || apps
                        .iter()
                        .any(|h| auth::scheme::verify(h, &password, &policy).unwrap_or(false))
            }
            None => {
                auth::scheme::verify_unknown_user(&password);
                false
            }
        })
        .await;
    if ok {
        LoginOutcome::Ok(folded)
    } else {
        LoginOutcome::Failed
    }
}

/// Extra field of a passwd-file entry listing the protocols the user may
/// not log in with (`disabled=imap,pop3`; `postcore user disable`).
pub const DISABLED_FIELD: &str = "disabled";

/// Whether `user` (canonical name) is barred from `protocol` ("imap",
/// "pop3"). Read at each login from the live database, so a change applies
/// to the next login without a restart.
pub fn protocol_disabled(db: &UserDb, user: &str, protocol: &str) -> bool {
    db.load()
        .get(user)
        .and_then(|e| {
            e.extra(DISABLED_FIELD)
                .map(|v| v.split(',').any(|p| p == protocol))
        })
        .unwrap_or(false)
}

/// Extra field holding the time (unix milliseconds) of the user's last
/// `postcore user kick`: sessions that logged in before it end.
pub const KICKED_FIELD: &str = "kicked";

fn kicked_ms(db: &PasswdFile, user: &str) -> i64 {
    db.get(user)
        .and_then(|e| e.extra(KICKED_FIELD))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Unix time in milliseconds (login and kick times compare in it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Mailboxes a new user starts with (RFC 6154 special use).
const DEFAULT_FOLDERS: [(&str, SpecialUse); 5] = [
    ("Drafts", SpecialUse::Drafts),
    ("Sent", SpecialUse::Sent),
    ("Trash", SpecialUse::Trash),
    ("Junk", SpecialUse::Junk),
    ("Archive", SpecialUse::Archive),
];

/// Gives a new store the default folders, all subscribed. Every path that
/// creates a user's store (first login, delivery, `postcore import`) calls it.
pub async fn provision(store: &Store) -> Result<(), StoreError> {
    for (name, special) in DEFAULT_FOLDERS {
        if store.mailbox_id(name).is_none() {
            store.create_mailbox(name, special).await?;
            store.subscribe(name, true).await?;
        }
    }
    store.subscribe(store::INBOX, true).await
}

/// Per mailbox, the highest UID already announced as \Recent to some
/// session (IMAP4rev1). Kept on the home shard while the user's store is
/// open; when it is reopened, messages already there are not \Recent.
pub type RecentBoundaries = Rc<RefCell<HashMap<store::MailboxId, u32>>>;

struct Slot {
    store: RefCell<Option<Rc<Store>>>,
    recent: RecentBoundaries,
    pop3_busy: Cell<bool>,
    opening: glommio::sync::Semaphore,
    users: Cell<usize>,
    /// Bumped on every acquire, so a delayed close knows whether the store
    /// was used again meanwhile.
    epoch: Cell<u64>,
    /// The user's last `kicked=` time (unix ms) seen in the database, and
    /// the event its sessions wait on to learn that it moved.
    kicked_ms: Cell<i64>,
    kick: event_listener::Event,
}

/// The home shard's open stores, one per user with sessions (or a delivery)
/// on it, kept open for `linger` after the last one ends.
pub struct OpenStores {
    data_dir: PathBuf,
    cfg: StoreConfig,
    linger: Duration,
    slots: RefCell<HashMap<String, Rc<Slot>>>,
    /// Linger timers, cut short and waited for by `close_all`, so none is
    /// left sleeping when the shard's executor goes away.
    lingering: glommio::sync::Gate,
    closing: crate::shard::Stop,
}

/// A session's use of a user's store; the store closes some time after the
/// last of these is dropped.
pub struct StoreRef {
    pub store: Rc<Store>,
    pub recent: RecentBoundaries,
    slot: Rc<Slot>,
    pub sessions_of_user: usize,
    user: String,
    owner: Rc<OpenStores>,
}

impl StoreRef {
    /// Resolves once the user was kicked at or after `login_ms`; a session
    /// races it against its reads and ends when it wins. Owns what it
    /// needs, so it can be raced against a borrow of the session.
    pub fn kicked_since(&self, login_ms: i64) -> impl std::future::Future<Output = ()> + 'static {
        let slot = Rc::clone(&self.slot);
        async move {
            loop {
                if slot.kicked_ms.get() >= login_ms {
                    return;
                }
                let listener = slot.kick.listen();
                if slot.kicked_ms.get() >= login_ms {
                    return;
                }
                listener.await;
            }
        }
    }
}

/// A session's kick watch ([`StoreRef::kicked_since`]); never resolves
/// for a session with no user logged in yet.
pub async fn kicked_or_never(kick: Option<impl std::future::Future<Output = ()>>) {
    match kick {
        Some(k) => k.await,
        None => std::future::pending().await,
    }
}

/// The POP3 maildrop lock of a user (RFC 1939 §8: one POP3 session at a
/// time); released when dropped.
pub struct Pop3Lock(Rc<Slot>);

impl Drop for Pop3Lock {
    fn drop(&mut self) {
        self.0.pop3_busy.set(false);
    }
}

impl StoreRef {
    /// The maildrop lock, unless another POP3 session holds it.
    pub fn try_lock_pop3(&self) -> Option<Pop3Lock> {
        if self.slot.pop3_busy.replace(true) {
            return None;
        }
        Some(Pop3Lock(Rc::clone(&self.slot)))
    }
}

impl Drop for StoreRef {
    fn drop(&mut self) {
        self.owner.release(&self.user);
    }
}

impl OpenStores {
    pub fn new(data_dir: PathBuf, cfg: StoreConfig, linger: Duration) -> Rc<Self> {
        Rc::new(OpenStores {
            data_dir,
            cfg,
            linger,
            slots: RefCell::new(HashMap::new()),
            lingering: glommio::sync::Gate::new(),
            closing: crate::shard::Stop::default(),
        })
    }

    pub fn open_count(&self) -> usize {
        self.slots.borrow().len()
    }

    /// Every store open now, with its user (for the retention sweep).
    pub fn open_stores(&self) -> Vec<(String, Rc<Store>)> {
        self.slots
            .borrow()
            .iter()
            .filter_map(|(u, s)| s.store.borrow().clone().map(|st| (u.clone(), st)))
            .collect()
    }

    pub async fn acquire(self: &Rc<Self>, user: &str) -> Result<StoreRef, StoreError> {
        let slot = {
            let mut slots = self.slots.borrow_mut();
            Rc::clone(slots.entry(user.to_string()).or_insert_with(|| {
                Rc::new(Slot {
                    store: RefCell::new(None),
                    recent: Rc::new(RefCell::new(HashMap::new())),
                    pop3_busy: Cell::new(false),
                    opening: glommio::sync::Semaphore::new(1),
                    users: Cell::new(0),
                    epoch: Cell::new(0),
                    kicked_ms: Cell::new(0),
                    kick: event_listener::Event::new(),
                })
            }))
        };
        slot.users.set(slot.users.get() + 1);
        slot.epoch.set(slot.epoch.get() + 1);
        // From here on the count is ours; give it back on any failure.
        let release = scopeguard::guard((), |_| self.release(user));
        let existing = slot.store.borrow().clone();
        let store = match existing {
            Some(s) => s,
            None => {
                let _permit = slot
                    .opening
                    .acquire_permit(1)
                    .await
                    .map_err(|_| StoreError::Io(std::io::Error::other("store slot closed")))?;
                let again = slot.store.borrow().clone();
                match again {
                    Some(s) => s,
                    None => {
                        let s = Rc::new(self.open_store(user).await?);
                        *slot.store.borrow_mut() = Some(Rc::clone(&s));
                        s
                    }
                }
            }
        };
        scopeguard::ScopeGuard::into_inner(release);
        Ok(StoreRef {
            store,
            recent: Rc::clone(&slot.recent),
            slot: Rc::clone(&slot),
            sessions_of_user: slot.users.get(),
            user: user.to_string(),
            owner: Rc::clone(self),
        })
    }

    async fn open_store(&self, user: &str) -> Result<Store, StoreError> {
        let dir = user_dir(&self.data_dir, user);
        let is_new = glommio::io::Directory::open(&dir).await.is_err();
        let store = Store::open(&dir, self.cfg.clone()).await?;
        if is_new {
            provision(&store).await?;
            tracing::info!(user, dir = %dir.display(), "created a new mail store");
        }
        Ok(store)
    }

    fn release(self: &Rc<Self>, user: &str) {
        let Some(slot) = self.slots.borrow().get(user).cloned() else {
            return;
        };
        let left = slot.users.get().saturating_sub(1);
        slot.users.set(left);
        if left > 0 {
            return;
        }
        let epoch = slot.epoch.get();
        let this = Rc::clone(self);
        let user = user.to_string();
        let lingering = self.lingering.spawn(async move {
            if this.closing.sleep_or_stopped(this.linger).await {
                return;
            }
            let idle = slot.users.get() == 0 && slot.epoch.get() == epoch;
            if !idle {
                return;
            }
            this.slots.borrow_mut().remove(&user);
            slot.recent.borrow_mut().clear();
            let store = slot.store.borrow_mut().take();
            if let Some(store) = store
                && let Err(e) = store.close().await
            {
                tracing::warn!(user, error = %e, "closing a store failed");
            }
        });
        // Refused only once `close_all` began, and that closes the store.
        if let Ok(task) = lingering {
            task.detach();
        }
    }

    /// Wakes the sessions of every user with an open store whose kick time
    /// in `db` moved (the shard calls it when the database was reloaded).
    pub fn apply_kicks(&self, db: &PasswdFile) {
        for (user, slot) in self.slots.borrow().iter() {
            let ms = kicked_ms(db, user);
            if ms > slot.kicked_ms.get() {
                slot.kicked_ms.set(ms);
                slot.kick.notify(usize::MAX);
            }
        }
    }

    /// Closes every open store (graceful shutdown).
    pub async fn close_all(&self) {
        self.closing.trigger();
        if let Err(e) = self.lingering.close().await {
            tracing::debug!(error = %e, "waiting for linger timers");
        }
        let slots: Vec<(String, Rc<Slot>)> = self.slots.borrow_mut().drain().collect();
        for (user, slot) in slots {
            let store = slot.store.borrow_mut().take();
            if let Some(store) = store
                && let Err(e) = store.close().await
            {
                tracing::warn!(user, error = %e, "closing a store failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_dirs_stay_inside_the_data_dir() {
        let d = Path::new("/data");
        for name in [
            "..",
            ".",
            "../../etc",
            "a/b",
            "ann",
            "x\0y",
            ".hidden",
            "bob.smith@example.org",
        ] {
            let p = user_dir(d, name);
            assert!(p.starts_with("/data/users/"), "{p:?}");
            assert_eq!(p.components().count(), 5, "{name:?} -> {p:?}");
            let last = p.file_name().unwrap().to_str().unwrap();
            assert!(!last.starts_with('.') && !last.contains('/'), "{last}");
        }
        assert!(user_dir(d, "bob.smith@example.org").ends_with("bob.smith@example.org"));
        assert_ne!(user_dir(d, "a/b"), user_dir(d, "a%2Fb"));
    }

    #[test]
    fn home_shard_is_stable() {
        // Pinned values: changing the hash would move every user's home.
        assert_eq!(name_hash("alice"), crc32fast::hash(b"alice"));
        assert_eq!(home_shard("alice", 1), 0);
        let s = home_shard("alice", 7);
        assert!(s < 7);
        assert_eq!(s, home_shard("alice", 7));
    }
}
