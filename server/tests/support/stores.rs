//! The stores a test runs against: SQLite always, PostgreSQL when installed (a throwaway cluster, `pg`;
//! required when `REACH_REQUIRE_PG` is set). Each opens the same state every time its config is used, so a
//! test can restart a server, or start two on one PostgreSQL database as replicas.

use reach_server::{Database, ServerConfig};

use super::pg::PgCluster;

pub struct TestStore {
    pub name: &'static str,
    data: tempfile::TempDir,
    database: Database,
    _cluster: Option<PgCluster>,
}

impl TestStore {
    /// A loopback server config on this store (nothing else set).
    pub fn config(&self) -> ServerConfig {
        let mut c = ServerConfig::new(self.data.path());
        c.database = self.database.clone();
        c
    }

    /// Whether several server processes can share this store (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self.database, Database::Postgres(_))
    }
}

/// SQLite, then PostgreSQL when it is installed.
pub fn all() -> Vec<TestStore> {
    let mut all = vec![TestStore {
        name: "sqlite",
        data: tempfile::tempdir().unwrap(),
        database: Database::Sqlite,
        _cluster: None,
    }];
    if let Some(cluster) = PgCluster::start() {
        all.push(TestStore {
            name: "postgres",
            data: tempfile::tempdir().unwrap(),
            database: Database::Postgres(cluster.url()),
            _cluster: Some(cluster),
        });
    }
    all
}
