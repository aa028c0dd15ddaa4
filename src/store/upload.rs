//! The store's part of uploading: deleting the rows the server acknowledged.

use rusqlite::params;

use super::{Result, Store};

impl Store {
    /// Deletes every event with `first <= seq <= last`; returns how many
    /// events and (estimated) bytes left, for the queue tallies.
    pub fn delete_event_range(&self, first_seq: i64, last_seq: i64) -> Result<(u64, u64)> {
        self.flush_rows().map_err(|e| e.error)?;
        let (count, bytes): (i64, i64) = self
            .conn
            .prepare_cached(
                "SELECT count(*), coalesce(sum(bytes), 0) FROM events WHERE seq BETWEEN ?1 AND ?2",
            )?
            .query_row(params![first_seq, last_seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if count > 0 {
            self.conn
                .prepare_cached("DELETE FROM events WHERE seq BETWEEN ?1 AND ?2")?
                .execute(params![first_seq, last_seq])?;
        }
        Ok((count as u64, bytes as u64))
    }
}
