//! What opening does with a database it cannot use as it is.
//!
//! Three cases, told apart because each needs a different answer:
//! - damaged (random bytes, a zeroed header, a truncated file): the file and
//!   its `-wal`/`-shm` are moved aside as `reach.db.corrupt-<ms>` (kept for
//!   support, never deleted) and a new database is started;
//! - written by a newer Reach (a higher schema version): the file belongs to
//!   that newer app and is never moved, migrated or written; the store runs
//!   in memory until an app that understands it opens it;
//! - unavailable (read-only directory, permissions, no space to create it):
//!   the store runs in memory and the next open tries again.
//!
//! Never deletes a file and never touches a path other than the database's.

use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// SQLite's file header: its magic and the offsets of the fields read here
/// (<https://www.sqlite.org/fileformat.html#the_database_header>).
const HEADER_MAGIC: &[u8; 16] = b"SQLite format 3\0";
const HEADER_LEN: usize = 100;

/// Why a database file could not be opened.
#[derive(Debug)]
pub enum OpenFailure {
    /// The file is damaged: move it aside and start again.
    Damaged(String),
    /// Written by a newer Reach: leave it alone.
    TooNew { found: u32 },
    /// Cannot be opened now (permissions, space): retry at the next open.
    Unavailable(rusqlite::Error),
}

impl From<rusqlite::Error> for OpenFailure {
    fn from(e: rusqlite::Error) -> Self {
        let damaged = matches!(
            e.sqlite_error_code(),
            Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase)
        );
        if damaged {
            OpenFailure::Damaged(e.to_string())
        } else {
            OpenFailure::Unavailable(e)
        }
    }
}

/// Checks what SQLite itself only finds when it reads a missing page: a file
/// shorter than its header says (a truncated copy or a cut-off write). A file
/// that is missing or empty is a new database, not a damaged one.
pub fn check_length(path: &Path) -> Result<(), OpenFailure> {
    // A checkpoint copies pages in page order, page 1 (with the new page
    // count) first: killed half-way, the file is legitimately shorter than
    // its header until SQLite replays the WAL at open. Only a file without a
    // WAL to finish it is truncated.
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    if std::fs::metadata(&wal)
        .map(|m| m.len() > 0)
        .unwrap_or(false)
    {
        return Ok(());
    }
    let Ok(mut file) = std::fs::File::open(path) else {
        return Ok(());
    };
    // Not a regular file (a directory in its place): not damage to move
    // aside, SQLite's own error says what it is.
    let Ok(meta) = file.metadata() else {
        return Ok(());
    };
    let len = meta.len();
    if !meta.is_file() || len == 0 {
        return Ok(());
    }
    let mut header = [0u8; HEADER_LEN];
    match file.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(OpenFailure::Damaged(format!(
                "the file is {len} bytes, shorter than a database header"
            )));
        }
        // Unreadable now (permissions, I/O): SQLite will say so.
        Err(_) => return Ok(()),
    }
    if &header[..16] != HEADER_MAGIC {
        return Err(OpenFailure::Damaged(
            "the file is not a SQLite database".into(),
        ));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    // The page count is valid only when the change counter (24) equals the
    // "version-valid-for" number (92); older writers leave it stale.
    let counter_valid = header[24..28] == header[92..96];
    if counter_valid && page_size > 0 && len < pages * page_size {
        return Err(OpenFailure::Damaged(format!(
            "the file is truncated: {len} bytes, its header says {pages} pages of {page_size}"
        )));
    }
    Ok(())
}

/// Where a damaged database goes: next to it, named by the time it was found.
pub fn aside_path(path: &Path, now_ms: i64) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "reach.db".into());
    path.with_file_name(format!("{name}.corrupt-{now_ms}"))
}

/// Moves the database and its `-wal` and `-shm` aside, keeping all three:
/// the WAL may hold the last commits, which support may want to recover.
pub fn move_aside(path: &Path, now_ms: i64) -> std::io::Result<PathBuf> {
    let mut aside = aside_path(path, now_ms);
    // Two faults in one millisecond (tests, a crash loop) must not overwrite
    // the first copy.
    let mut n = 1;
    while aside.exists() {
        aside = PathBuf::from(format!("{}.{n}", aside_path(path, now_ms).display()));
        n += 1;
    }
    std::fs::rename(path, &aside)?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let _ = std::fs::rename(&side, PathBuf::from(format!("{}{suffix}", aside.display())));
        }
    }
    Ok(aside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_file_is_a_new_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reach.db");
        assert!(check_length(&path).is_ok());
        std::fs::write(&path, b"").unwrap();
        assert!(check_length(&path).is_ok());
    }

    #[test]
    fn a_file_shorter_than_its_header_says_is_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reach.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(20000));")
            .unwrap();
        drop(conn);
        assert!(check_length(&path).is_ok());
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(matches!(check_length(&path), Err(OpenFailure::Damaged(_))));
    }

    #[test]
    fn a_short_file_with_a_wal_to_finish_it_is_not_damaged() {
        // What a kill in the middle of a checkpoint leaves: page 1 (with the
        // new page count) written, later pages not yet; the WAL has them.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reach.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (zeroblob(20000));")
            .unwrap();
        drop(conn);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        std::fs::write(dir.path().join("reach.db-wal"), b"frames").unwrap();
        assert!(check_length(&path).is_ok());
    }

    #[test]
    fn moving_aside_twice_in_one_millisecond_keeps_both_copies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reach.db");
        std::fs::write(&path, b"first").unwrap();
        let a = move_aside(&path, 7).unwrap();
        std::fs::write(&path, b"second").unwrap();
        let b = move_aside(&path, 7).unwrap();
        assert_ne!(a, b);
        assert_eq!(std::fs::read(a).unwrap(), b"first");
        assert_eq!(std::fs::read(b).unwrap(), b"second");
    }
}
