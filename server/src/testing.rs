//! Fresh databases for tests and benchmarks: a temp SQLite file by default, or a new PostgreSQL database on the
//! server named by `ROSTER_TEST_POSTGRES_URL` (for example `postgres://postgres@127.0.0.1:5432/postgres`).
use std::path::PathBuf;

/// Which backend the tests use.
pub const POSTGRES_ENV: &str = "ROSTER_TEST_POSTGRES_URL";

/// A database that exists for one test. SQLite files are removed on drop; PostgreSQL test databases are named
/// `roster_test_*` and dropped by `.ci/run` before each run.
pub struct TestDb {
    pub url: String,
    files: Option<PathBuf>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(p) = &self.files {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
            }
        }
    }
}

impl TestDb {
    pub async fn fresh() -> anyhow::Result<TestDb> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => {
                use sqlx::Connection;
                let name = format!("roster_test_{id}");
                let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(&format!("create database {name}")).execute(&mut conn).await?;
                let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin_url);
                Ok(TestDb { url: format!("{base}/{name}"), files: None })
            }
            None => {
                let path = std::env::temp_dir().join(format!("roster-test-{id}.db"));
                Ok(TestDb { url: format!("sqlite://{}", path.display()), files: Some(path) })
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.files.is_none()
    }
}
