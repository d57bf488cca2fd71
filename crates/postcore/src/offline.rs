//! Store work outside the server (`check`, `compact`, `stats`, `import`,
//! `export`): one glommio executor per shard, each taking the users whose
//! home shard it is, so users are processed in parallel and every store file
//! is touched through io_uring exactly as the server does. Stores lock their
//! directory, so a user with a live session is reported busy, never shared.

use anyhow::Context;
use server::config::Config;
use server::users::{home_shard, user_dir};
use std::future::Future;
use std::path::{Path, PathBuf};
use store::StoreConfig;

/// What a job on one user needs.
#[derive(Clone)]
pub struct Job {
    pub user: String,
    pub dir: PathBuf,
    pub cfg: StoreConfig,
}

impl Job {
    /// Fails unless the user has a store: upkeep commands must not create one.
    pub async fn existing(&self) -> anyhow::Result<()> {
        match glommio::io::Directory::open(&self.dir).await {
            Ok(d) => {
                let _ = d.close().await;
                Ok(())
            }
            Err(_) => anyhow::bail!("no store at {}", self.dir.display()),
        }
    }
}

/// Users with a store on disk (whether or not still in the passwd file),
/// sorted. Plain std::fs: this runs on the CLI thread, before any executor.
pub fn users_on_disk(data_dir: &Path) -> anyhow::Result<Vec<String>> {
    let root = data_dir.join("users");
    let mut out = Vec::new();
    let buckets = match std::fs::read_dir(&root) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading {}", root.display())),
    };
    for bucket in buckets {
        let bucket = bucket?;
        if !bucket.file_type()?.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(bucket.path())? {
            let entry = entry?;
            if entry.file_type()?.is_dir()
                && let Some(name) = entry.file_name().to_str().and_then(decode_dir_name)
            {
                out.push(name);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Inverse of the percent-encoding `user_dir` applies (`%XX` per byte;
/// the import state file escapes folder names the same way).
pub(crate) fn decode_dir_name(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The users named, or with none named, every user with a store.
pub fn select_users(cfg: &Config, named: &[String]) -> anyhow::Result<Vec<String>> {
    if named.is_empty() {
        return users_on_disk(&cfg.data_dir);
    }
    named
        .iter()
        .map(|n| {
            auth::username::Username::new(n)
                .map(|u| u.into_string())
                .with_context(|| format!("user name {n:?}"))
        })
        .collect()
}

/// Run `work` for every user on their home shard's executor; results come
/// back in the order of `users`.
pub fn for_each_user<T, F, Fut>(
    cfg: &Config,
    users: Vec<String>,
    work: F,
) -> anyhow::Result<Vec<(String, anyhow::Result<T>)>>
where
    T: Send + 'static,
    F: Fn(Job) -> Fut + Send + Clone + 'static,
    Fut: Future<Output = anyhow::Result<T>> + 'static,
{
    let shards = cfg.shard_count().max(1);
    let mut store_cfg = server::store_config(cfg);
    // A tool run is short: no background compaction racing the tool's own.
    store_cfg.background = false;
    let mut per_shard: Vec<Vec<(usize, Job)>> = (0..shards).map(|_| Vec::new()).collect();
    for (i, user) in users.iter().enumerate() {
        per_shard[home_shard(user, shards)].push((
            i,
            Job {
                user: user.clone(),
                dir: user_dir(&cfg.data_dir, user),
                cfg: store_cfg.clone(),
            },
        ));
    }
    let mut handles = Vec::new();
    for jobs in per_shard.into_iter().filter(|j| !j.is_empty()) {
        let work = work.clone();
        let h = glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
            .name("postcore-tool")
            .spawn(move || async move {
                let mut out = Vec::new();
                for (i, job) in jobs {
                    out.push((i, work(job).await));
                }
                out
            })
            .map_err(|e| anyhow::anyhow!("starting an executor: {e}"))?;
        handles.push(h);
    }
    let mut results: Vec<Option<anyhow::Result<T>>> = users.iter().map(|_| None).collect();
    for h in handles {
        let done = h
            .join()
            .map_err(|e| anyhow::anyhow!("executor failed: {e}"))?;
        for (i, r) in done {
            results[i] = Some(r);
        }
    }
    Ok(users
        .into_iter()
        .zip(results)
        .map(|(u, r)| (u, r.unwrap_or_else(|| Err(anyhow::anyhow!("not run")))))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_names_decode_back_to_user_names() {
        for name in ["ann", "bob.smith@example.org", "a/b", ".hidden", "x y"] {
            let dir = user_dir(Path::new("/d"), name);
            let last = dir.file_name().and_then(|f| f.to_str()).unwrap_or("");
            assert_eq!(decode_dir_name(last).as_deref(), Some(name));
        }
        assert_eq!(decode_dir_name("bad%G0"), None);
        assert_eq!(decode_dir_name("cut%4"), None);
    }
}
