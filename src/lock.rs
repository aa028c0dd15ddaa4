//! One Reach instance per data directory, across processes.
//!
//! An advisory lock on `reach.lock` (flock on Unix, LockFileEx on Windows,
//! through std's `File::try_lock`) is held for the instance's life. It is
//! released by the OS when the process dies, so a killed app never leaves a
//! stale lock behind, unlike a pid file.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a held lock is tried again before the directory counts as in
/// use. A process being started holds a copy of every descriptor of its
/// parent from its fork (or posix_spawn's clone) until its exec closes them,
/// this lock's included; a close and reopen of the directory on another
/// thread in that window finds the lock held by a copy about to go away.
/// Seen in CI: a test reopening its directory while another test spawned a
/// child. The window is far below a millisecond on an idle machine; only a
/// directory that really is in use (another process, a misconfiguration)
/// pays the whole wait, once, at open.
const INHERITED_LOCK_GRACE: Duration = Duration::from_millis(50);
/// Pause between the tries.
const RETRY_EVERY: Duration = Duration::from_millis(1);

#[derive(Debug)]
pub struct DirectoryLock {
    _file: File,
    path: PathBuf,
}

#[derive(Debug)]
pub enum LockError {
    Held(PathBuf),
    Io(PathBuf, std::io::Error),
}

impl DirectoryLock {
    pub fn acquire(data_dir: &Path) -> Result<DirectoryLock, LockError> {
        Self::acquire_within(data_dir, INHERITED_LOCK_GRACE)
    }

    /// `acquire`, trying a held lock again for up to `grace`.
    fn acquire_within(data_dir: &Path, grace: Duration) -> Result<DirectoryLock, LockError> {
        let path = data_dir.join("reach.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| LockError::Io(path.clone(), e))?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(DirectoryLock { _file: file, path }),
                Err(TryLockError::WouldBlock) if started.elapsed() < grace => {
                    std::thread::sleep(RETRY_EVERY)
                }
                Err(TryLockError::WouldBlock) => return Err(LockError::Held(data_dir.to_owned())),
                Err(TryLockError::Error(e)) => return Err(LockError::Io(path, e)),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Another open file description of `reach.lock`, locked: what a forked
    /// child's copy of the descriptor (or another process) holds.
    fn hold(dir: &Path) -> File {
        let f = File::create(dir.join("reach.lock")).unwrap();
        f.try_lock().unwrap();
        f
    }

    #[test]
    fn a_lock_released_within_the_grace_is_acquired() {
        let dir = tempfile::tempdir().unwrap();
        let held = hold(dir.path());
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            drop(held);
        });
        // A grace far above any scheduling delay, so the test cannot fail
        // on a busy machine; the release comes after 5 ms.
        assert!(DirectoryLock::acquire_within(dir.path(), Duration::from_secs(30)).is_ok());
        release.join().unwrap();
    }

    #[test]
    fn a_lock_held_past_the_grace_means_the_directory_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _held = hold(dir.path());
        match DirectoryLock::acquire(dir.path()) {
            Err(LockError::Held(d)) => assert_eq!(d, dir.path()),
            other => panic!("expected Held, got {other:?}"),
        }
    }
}
