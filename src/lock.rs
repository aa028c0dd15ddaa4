//! One Reach instance per data directory, across processes.
//!
//! An advisory lock on `reach.lock` (flock on Unix, LockFileEx on Windows,
//! through std's `File::try_lock`) is held for the instance's life. It is
//! released by the OS when the process dies, so a killed app never leaves a
//! stale lock behind, unlike a pid file.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

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
        let path = data_dir.join("reach.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| LockError::Io(path.clone(), e))?;
        match file.try_lock() {
            Ok(()) => Ok(DirectoryLock { _file: file, path }),
            Err(TryLockError::WouldBlock) => Err(LockError::Held(data_dir.to_owned())),
            Err(TryLockError::Error(e)) => Err(LockError::Io(path, e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
