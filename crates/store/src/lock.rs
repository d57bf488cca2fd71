//! One process at a time per store: an exclusive `flock` on `<dir>/lock`,
//! held for the store's lifetime, so `postcore import`, `check --repair` or
//! `compact` and a running server never append to the same log.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use glommio::io::OpenOptions;

use crate::error::{Result, StoreError};

pub(crate) const LOCK_FILE: &str = "lock";

/// Holds the lock until dropped. The descriptor is a plain `OwnedFd` (a dup
/// of the glommio file's), because glommio closes dropped files on the next
/// reactor turn and a store reopened at once would find itself still locked.
pub(crate) struct DirLock {
    _fd: OwnedFd,
}

pub(crate) async fn acquire(dir: &Path) -> Result<DirLock> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .buffered_open(dir.join(LOCK_FILE))
        .await?;
    // SAFETY: `f` owns this descriptor and outlives the borrow (it is closed
    // below, after the dup).
    let borrowed = unsafe { BorrowedFd::borrow_raw(f.as_raw_fd()) };
    let dup = rustix::io::fcntl_dupfd_cloexec(borrowed, 0).map_err(std::io::Error::from);
    let _ = f.close().await;
    let fd = dup?;
    // LOCK_NB: fails at once instead of waiting, so this never blocks the
    // executor.
    match rustix::fs::flock(&fd, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(DirLock { _fd: fd }),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(StoreError::Locked(dir.display().to_string())),
        Err(e) => Err(std::io::Error::from(e).into()),
    }
}
