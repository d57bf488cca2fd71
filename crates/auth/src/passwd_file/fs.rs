//! Loading and saving a passwd-file with `std::fs`, for the `postcore user`
//! CLI.
//!
//! **Not for executor threads**: these calls block. The server reads the file
//! through glommio's io_uring files and calls [`super::PasswdFile::parse`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::{ParseError, PasswdFile};

/// Largest passwd-file `load` reads (256 MiB, millions of users).
pub const MAX_FILE_LEN: u64 = 256 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum FsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: ParseError,
    },
    #[error("{path}: file is larger than {MAX_FILE_LEN} bytes")]
    TooLarge { path: PathBuf },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> FsError + '_ {
    move |source| FsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads and parses the file. A missing file is an empty database (the
/// first `postcore user add` creates it).
pub fn load(path: &Path) -> Result<PasswdFile, FsError> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(PasswdFile::new()),
        Err(e) => return Err(io_err(path)(e)),
    };
    if meta.len() > MAX_FILE_LEN {
        return Err(FsError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let data = fs::read(path).map_err(io_err(path))?;
    PasswdFile::parse(&data).map_err(|source| FsError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the file so that a crash leaves either the old or the new
/// version: a temporary file in the same directory is written and fsynced,
/// renamed over `path`, and the directory is fsynced. The old file's
/// permission bits are kept; a new file gets 0600 (it holds password hashes).
pub fn save_atomic(path: &Path, db: &PasswdFile) -> Result<(), FsError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mode = match fs::metadata(path) {
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0o600,
        Err(e) => return Err(io_err(path)(e)),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "passwd".to_string());
    // Unique per process and call, so concurrent savers never share a temp file.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{file_name}.tmp.{}.{seq}", std::process::id()));
    let result = write_synced(&tmp, mode, &db.to_bytes())
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(io_err(path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(&dir))
}

fn write_synced(tmp: &Path, mode: u32, data: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(tmp)?;
    // mode() is filtered by the umask; set the bits explicitly.
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    f.write_all(data)?;
    f.sync_all()
}

/// Loads the file, applies `change`, and saves the result atomically, all
/// under an exclusive lock on `<path>.lock` so two concurrent `postcore user`
/// commands cannot lose each other's change. Nothing is written when
/// `change` fails. The lock file is left in place (removing it would race
/// with a waiting process).
pub fn update<T, E>(
    path: &Path,
    change: impl FnOnce(&mut PasswdFile) -> Result<T, E>,
) -> Result<Result<T, E>, FsError> {
    let mut lock_name = path.as_os_str().to_owned();
    lock_name.push(".lock");
    let lock_path = PathBuf::from(lock_name);
    let lock = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(io_err(&lock_path))?;
    lock.lock().map_err(io_err(&lock_path))?;
    let mut db = load(path)?;
    let outcome = change(&mut db);
    if outcome.is_ok() {
        save_atomic(path, &db)?;
    }
    // Dropping `lock` closes the file, which releases the lock.
    drop(lock);
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::passwd_file::UserEntry;
    use crate::username::Username;

    #[test]
    fn save_then_load_keeps_content_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        assert!(load(&path).unwrap().is_empty());

        let mut db = PasswdFile::new();
        db.add(UserEntry::new(Username::new("Ann").unwrap(), "{PLAIN}x"))
            .unwrap();
        save_atomic(&path, &db).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"ann:{PLAIN}x\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );

        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        db.set_password("ann", "{PLAIN}y").unwrap();
        save_atomic(&path, &db).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let back = load(&path).unwrap();
        assert_eq!(back.get("ANN").unwrap().password(), Some("{PLAIN}y"));
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn concurrent_updates_are_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for j in 0..5 {
                        let name = Username::new(&format!("u{i}-{j}")).unwrap();
                        update(&path, |db| db.add(UserEntry::new(name, "{PLAIN}x")))
                            .unwrap()
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(load(&path).unwrap().len(), 40);
        // A failing change writes nothing.
        let before = fs::read(&path).unwrap();
        let r = update(&path, |db| {
            db.remove("u0-0").unwrap();
            db.add(UserEntry::new(Username::new("u1-1").unwrap(), "y"))
        })
        .unwrap();
        assert!(r.is_err());
        assert_eq!(fs::read(&path).unwrap(), before);
    }

    #[test]
    fn load_reports_path_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        fs::write(&path, "ok:x\nbad user:x\n").unwrap();
        let err = load(&path).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("users") && msg.contains("line 2"), "{msg}");
    }
}
