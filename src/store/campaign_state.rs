//! The person's campaign state that lives beyond one event: pending delays,
//! sequence progress, variant assignments and the last explanation per
//! campaign. Written by the worker inside
//! its group commit, so each change lands together with the event that
//! caused it.

use rusqlite::params;

use super::{Result, Store};
use crate::engine::assignment::Assignment;
use crate::engine::delays::PendingDelay;
use crate::engine::sequences::Progress;

/// A campaign's last decision as `explain()` worded it when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredExplanation {
    pub event: String,
    pub event_ms: i64,
    /// `offered`, `scheduled` or `not offered`.
    pub outcome: String,
    pub reasons: Vec<String>,
}

impl Store {
    pub fn load_pending_delays(&self) -> Result<Vec<PendingDelay>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT campaign_id, trigger_ms, due_ms, expires_ms FROM pending_delays",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PendingDelay {
                campaign_id: r.get(0)?,
                trigger_ms: r.get(1)?,
                due_ms: r.get(2)?,
                expires_ms: r.get(3)?,
            })
        })?;
        rows.collect()
    }

    /// Stores the campaign's pending delay, or deletes it (`None`).
    pub fn save_pending_delay(&self, campaign_id: &str, d: Option<&PendingDelay>) -> Result<()> {
        match d {
            Some(d) => self
                .conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO pending_delays (campaign_id, trigger_ms, due_ms, expires_ms)
                     VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![campaign_id, d.trigger_ms, d.due_ms, d.expires_ms])?,
            None => self
                .conn
                .prepare_cached("DELETE FROM pending_delays WHERE campaign_id = ?1")?
                .execute([campaign_id])?,
        };
        Ok(())
    }

    pub fn load_sequence_progress(&self) -> Result<Vec<(String, Progress)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT campaign_id, done, last_ms FROM sequence_progress")?;
        let rows = stmt.query_map([], |r| {
            let done: i64 = r.get(1)?;
            Ok((
                r.get(0)?,
                Progress {
                    done: usize::try_from(done).unwrap_or(0),
                    last_ms: r.get(2)?,
                },
            ))
        })?;
        rows.collect()
    }

    pub fn save_sequence_progress(&self, campaign_id: &str, p: Option<&Progress>) -> Result<()> {
        match p {
            Some(p) => self
                .conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO sequence_progress (campaign_id, done, last_ms)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![campaign_id, p.done as i64, p.last_ms])?,
            None => self
                .conn
                .prepare_cached("DELETE FROM sequence_progress WHERE campaign_id = ?1")?
                .execute([campaign_id])?,
        };
        Ok(())
    }

    pub fn load_assignments(&self) -> Result<Vec<(String, Assignment)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT campaign_id, variant, unit_id, assigned_ms FROM variant_assignments",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                Assignment {
                    variant: r.get(1)?,
                    unit_id: r.get(2)?,
                    assigned_ms: r.get(3)?,
                },
            ))
        })?;
        rows.collect()
    }

    pub fn save_assignment(&self, campaign_id: &str, a: &Assignment) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO variant_assignments (campaign_id, variant, unit_id, assigned_ms)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![campaign_id, a.variant, a.unit_id, a.assigned_ms])?;
        Ok(())
    }
}

impl Store {
    pub fn load_explanations(&self) -> Result<Vec<(String, StoredExplanation)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT campaign_id, event, event_ms, outcome, reasons FROM last_explanations",
        )?;
        let rows = stmt.query_map([], |r| {
            let reasons: String = r.get(4)?;
            Ok((
                r.get(0)?,
                StoredExplanation {
                    event: r.get(1)?,
                    event_ms: r.get(2)?,
                    outcome: r.get(3)?,
                    // A row this version cannot read loses its reasons, not
                    // the rest.
                    reasons: serde_json::from_str(&reasons).unwrap_or_default(),
                },
            ))
        })?;
        rows.collect()
    }

    pub fn save_explanation(&self, campaign_id: &str, e: &StoredExplanation) -> Result<()> {
        let reasons = serde_json::to_string(&e.reasons)
            .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?;
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO last_explanations (campaign_id, event, event_ms, outcome, reasons)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![campaign_id, e.event, e.event_ms, e.outcome, reasons])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn campaign_state_round_trips_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&super::super::database_path(dir.path()), 0);
        let d = PendingDelay {
            campaign_id: "cart".into(),
            trigger_ms: 1,
            due_ms: 2,
            expires_ms: 3,
        };
        store.save_pending_delay("cart", Some(&d)).unwrap();
        assert_eq!(store.load_pending_delays().unwrap(), vec![d]);
        store.save_pending_delay("cart", None).unwrap();
        assert!(store.load_pending_delays().unwrap().is_empty());

        let p = Progress {
            done: 2,
            last_ms: 9,
        };
        store.save_sequence_progress("seq", Some(&p)).unwrap();
        assert_eq!(
            store.load_sequence_progress().unwrap(),
            vec![("seq".into(), p)]
        );

        let a = Assignment {
            variant: "control".into(),
            unit_id: "anon-1".into(),
            assigned_ms: 5,
        };
        store.save_assignment("vip", &a).unwrap();
        assert_eq!(store.load_assignments().unwrap(), vec![("vip".into(), a)]);

        let e = StoredExplanation {
            event: "login".into(),
            event_ms: 7,
            outcome: "not offered".into(),
            reasons: vec!["the count was 1".into()],
        };
        store.save_explanation("streak", &e).unwrap();
        assert_eq!(
            store.load_explanations().unwrap(),
            vec![("streak".into(), e)]
        );

        store.clear_engine_state().unwrap();
        assert!(store.load_explanations().unwrap().is_empty());
        assert!(store.load_sequence_progress().unwrap().is_empty());
        assert!(store.load_assignments().unwrap().is_empty());
    }
}
