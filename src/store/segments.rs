//! The server's segments for the current person (`GET /v1/segments`), kept
//! so they serve offline and across restarts. One person's row at most:
//! saving a person's segments deletes every other row, and `reset()` deletes
//! them all, so one person's segments can never match for another.

use rusqlite::{params, OptionalExtension};

use super::{Result, Store};

/// A person's segments as last answered by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSegments {
    /// Whom they belong to (`SegmentsPerson::key`).
    pub person: String,
    /// The segment names, as a JSON array of strings.
    pub segments_json: String,
    /// The answer's ETag, sent back as If-None-Match.
    pub etag: Option<String>,
    /// When they were fetched (the clock's ms).
    pub fetched_ms: i64,
}

impl Store {
    /// The stored segments of `person`, if the server has answered for them.
    pub fn load_segments(&self, person: &str) -> Result<Option<StoredSegments>> {
        self.conn
            .prepare_cached(
                "SELECT person, segments, etag, fetched_ms FROM server_segments WHERE person = ?1",
            )?
            .query_row([person], |r| {
                Ok(StoredSegments {
                    person: r.get(0)?,
                    segments_json: r.get(1)?,
                    etag: r.get(2)?,
                    fetched_ms: r.get(3)?,
                })
            })
            .optional()
    }

    /// Replaces whatever is stored by this person's segments.
    pub fn save_segments(&self, s: &StoredSegments) -> Result<()> {
        self.clear_segments()?;
        self.conn
            .prepare_cached(
                "INSERT INTO server_segments (person, segments, etag, fetched_ms) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![s.person, s.segments_json, s.etag, s.fetched_ms])?;
        Ok(())
    }

    /// Forgets every person's segments (a new person, `reset()`).
    pub fn clear_segments(&self) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM server_segments")?
            .execute([])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(person: &str) -> StoredSegments {
        StoredSegments {
            person: person.into(),
            segments_json: r#"["vip"]"#.into(),
            etag: Some("\"e1\"".into()),
            fetched_ms: 5,
        }
    }

    #[test]
    fn only_the_last_saved_person_keeps_segments() {
        let store = Store::in_memory();
        store.save_segments(&row("user:a")).unwrap();
        assert_eq!(store.load_segments("user:a").unwrap(), Some(row("user:a")));
        store.save_segments(&row("user:b")).unwrap();
        assert_eq!(store.load_segments("user:a").unwrap(), None);
        assert_eq!(store.load_segments("user:b").unwrap(), Some(row("user:b")));
        store.clear_segments().unwrap();
        assert_eq!(store.load_segments("user:b").unwrap(), None);
    }
}
