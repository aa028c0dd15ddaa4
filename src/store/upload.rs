//! The store's part of uploading: reading the oldest events, and deleting
//! the rows the server acknowledged.

use std::sync::Arc;

use rusqlite::{params, OptionalExtension};

use super::{Result, Store};
use crate::event::{EventKind, StoredEvent};

/// An identity's anonymous id and user id.
type Identity = (Arc<str>, Option<Arc<str>>);

/// The texts events point at (session, identity, context), read once per
/// batch and shared by every event that points at the same row: a batch of
/// 500 events has one or two of each (a linear search finds them). Joining
/// them per row cost the worker three B-tree lookups and four copies per
/// event, and the network thread the same four frees and a JSON check of
/// the same context 500 times.
#[derive(Default)]
struct SharedTexts {
    sessions: Vec<(i64, Arc<str>)>,
    identities: Vec<(i64, Identity)>,
    contexts: Vec<(i64, Arc<str>)>,
}

/// The entry for `id`, read with `read` the first time; `None` when the row
/// is missing (its events are skipped, as the inner join did before).
fn shared<T: Clone>(
    cache: &mut Vec<(i64, T)>,
    id: i64,
    read: impl FnOnce() -> Result<Option<T>>,
) -> Result<Option<T>> {
    if let Some((_, v)) = cache.iter().find(|(k, _)| *k == id) {
        return Ok(Some(v.clone()));
    }
    let v = read()?;
    if let Some(v) = &v {
        cache.push((id, v.clone()));
    }
    Ok(v)
}

impl Store {
    /// Events in sequence order, starting after `after_seq`. An event whose
    /// session, identity or context row is missing is left out (the delete
    /// of its range removes it).
    pub fn read_events(&self, after_seq: i64, limit: usize) -> Result<Vec<StoredEvent>> {
        self.flush_rows().map_err(|e| e.error)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, message_id, kind, name, props, ts, session, identity, context, props_crc
             FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut texts = SharedTexts::default();
        let mut out = Vec::with_capacity(limit.min(1024));
        let mut rows = stmt.query(params![after_seq, limit as i64])?;
        while let Some(r) = rows.next()? {
            let (session, identity, context): (i64, i64, i64) = (r.get(6)?, r.get(7)?, r.get(8)?);
            let Some(session_id) = shared(&mut texts.sessions, session, || {
                self.text_of("SELECT session_id FROM sessions WHERE id = ?1", session)
            })?
            else {
                continue;
            };
            let Some((anonymous_id, user_id)) = shared(&mut texts.identities, identity, || {
                self.identity_of(identity)
            })?
            else {
                continue;
            };
            let Some(context_json) = shared(&mut texts.contexts, context, || {
                self.text_of("SELECT json FROM contexts WHERE id = ?1", context)
            })?
            else {
                continue;
            };
            // A damaged id (not 16 bytes) goes as the nil UUID rather than
            // holding up its batch; the server's dedupe would merge such events.
            let id = r.get_ref(1)?;
            let message_id =
                uuid::Uuid::from_slice(id.as_blob().unwrap_or_default()).unwrap_or_default();
            out.push(StoredEvent {
                seq: r.get(0)?,
                message_id,
                kind: EventKind::from_code(r.get(2)?).unwrap_or(EventKind::Track),
                name: r.get(3)?,
                properties_json: r.get(4)?,
                properties_crc: r.get(9)?,
                timestamp_ms: r.get(5)?,
                session_id,
                anonymous_id,
                user_id,
                context_json,
            });
        }
        Ok(out)
    }

    fn text_of(&self, sql: &str, id: i64) -> Result<Option<Arc<str>>> {
        self.conn
            .prepare_cached(sql)?
            .query_row([id], |r| Ok(Arc::from(r.get_ref(0)?.as_str()?)))
            .optional()
    }

    fn identity_of(&self, id: i64) -> Result<Option<Identity>> {
        self.conn
            .prepare_cached("SELECT anonymous_id, user_id FROM identities WHERE id = ?1")?
            .query_row([id], |r| {
                let user: Option<&str> = r.get_ref(1)?.as_str_or_null()?;
                Ok((Arc::from(r.get_ref(0)?.as_str()?), user.map(Arc::from)))
            })
            .optional()
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(store: &Store, seq: i64, session: i64, identity: i64, context: i64) {
        let props = format!("{{\"n\":{seq}}}");
        store.insert_test_event(seq, &props, [session, identity, context], 10);
    }

    #[test]
    fn each_event_gets_its_own_texts_and_equal_ones_are_shared() {
        let store = Store::in_memory();
        let (ctx_a, ctx_b) = (
            store.context_id(r#"{"app":"1"}"#).unwrap(),
            store.context_id(r#"{"app":"2"}"#).unwrap(),
        );
        let (anon, user) = (
            store.identity_id("anon", None).unwrap(),
            store.identity_id("anon", Some("u-1")).unwrap(),
        );
        let (s1, s2) = (
            store.session_row("s-1", 0).unwrap(),
            store.session_row("s-2", 5).unwrap(),
        );
        insert(&store, 1, s1, anon, ctx_a);
        insert(&store, 2, s1, anon, ctx_a);
        insert(&store, 3, s2, user, ctx_b);
        insert(&store, 4, s1, anon, ctx_a);
        let got = store.read_events(0, 10).unwrap();
        let seen: Vec<_> = got
            .iter()
            .map(|e| {
                (
                    e.seq,
                    &*e.session_id,
                    &*e.anonymous_id,
                    e.user_id.as_deref(),
                    &*e.context_json,
                    &*e.properties_json,
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (1, "s-1", "anon", None, r#"{"app":"1"}"#, r#"{"n":1}"#),
                (2, "s-1", "anon", None, r#"{"app":"1"}"#, r#"{"n":2}"#),
                (
                    3,
                    "s-2",
                    "anon",
                    Some("u-1"),
                    r#"{"app":"2"}"#,
                    r#"{"n":3}"#
                ),
                (4, "s-1", "anon", None, r#"{"app":"1"}"#, r#"{"n":4}"#),
            ]
        );
        assert!(Arc::ptr_eq(&got[0].context_json, &got[3].context_json));
        assert!(Arc::ptr_eq(&got[0].session_id, &got[1].session_id));
        assert!(!Arc::ptr_eq(&got[0].context_json, &got[2].context_json));
        assert_eq!(got[0].message_id, uuid::Uuid::from_bytes([1; 16]));
    }

    #[test]
    fn each_row_carries_the_checksum_of_its_properties_as_written() {
        let store = Store::in_memory();
        let [sess, ident, ctx] = store.test_rows();
        insert(&store, 1, sess, ident, ctx);
        insert(&store, 2, sess, ident, ctx);
        store.flush_rows().map_err(|e| e.error).unwrap();
        // Row 2's text changes after it was written; row 3 is a row from
        // before schema version 6, which has no checksum.
        store
            .conn
            .execute(r#"UPDATE events SET props = '{"n":9}' WHERE seq = 2"#, [])
            .unwrap();
        insert(&store, 3, sess, ident, ctx);
        store.flush_rows().map_err(|e| e.error).unwrap();
        store
            .conn
            .execute("UPDATE events SET props_crc = NULL WHERE seq = 3", [])
            .unwrap();
        let got = store.read_events(0, 10).unwrap();
        let crc = |s: &str| Some(crate::event::properties_checksum(s));
        let seen: Vec<_> = got
            .iter()
            .map(|e| (e.seq, &*e.properties_json, e.properties_crc))
            .collect();
        assert_eq!(
            seen,
            vec![
                (1, r#"{"n":1}"#, crc(r#"{"n":1}"#)),
                (2, r#"{"n":9}"#, crc(r#"{"n":2}"#)),
                (3, r#"{"n":3}"#, None),
            ]
        );
    }

    #[test]
    fn an_event_whose_context_row_is_gone_is_left_out() {
        let store = Store::in_memory();
        let [sess, ident, ctx] = store.test_rows();
        insert(&store, 1, sess, ident, ctx);
        insert(&store, 2, sess, ident, ctx + 100);
        insert(&store, 3, sess, ident + 100, ctx);
        insert(&store, 4, sess + 100, ident, ctx);
        insert(&store, 5, sess, ident, ctx);
        let seqs: Vec<i64> = store
            .read_events(0, 10)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, vec![1, 5]);
    }
}
