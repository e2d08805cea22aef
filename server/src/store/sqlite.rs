//! SQLite: the embedded default. One process owns the file; WAL lets readers run beside the
//! single writer, and the busy timeout makes a second writer wait instead of failing.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::ConnectOptions;
use tower_sessions_sqlx_store::SqliteStore as SqliteSessionStore;

use super::sql::{
    claim_jobs_sql, impl_shared_event_store, impl_shared_job_queue, impl_shared_notice_store,
    impl_shared_stores,
};
use super::{Store, StoreResult};
use crate::auth::session::SessionBackend;

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .log_statements(tracing::log::LevelFilter::Trace);
        if let Some(parent) = options.get_filename().parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
            }
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        SqliteSessionStore::new(pool.clone()).migrate().await?;
        Ok(Self { pool })
    }
}

impl_shared_stores!(SqliteStore);
impl_shared_job_queue!(SqliteStore);
impl_shared_notice_store!(SqliteStore);
impl_shared_event_store!(SqliteStore);
super::sql_proof::impl_shared_proof_stores!(SqliteStore);
super::sql_replies::impl_shared_reply_store!(SqliteStore);
super::sql_mail::impl_shared_mail_store!(SqliteStore);
super::sql_accounts::impl_shared_account_store!(SqliteStore);
super::sql_services::impl_shared_service_store!(SqliteStore);
super::sql_templates::impl_shared_template_store!(SqliteStore);
super::sql_api_keys::impl_shared_api_key_store!(SqliteStore);
super::sql_batches::impl_shared_batch_store!(SqliteStore);

impl super::sql_proof::HasDatabase for SqliteStore {
    type Database = sqlx::Sqlite;
}

impl SqliteStore {
    /// How the database shows a query's plan.
    fn explain_prefix() -> &'static str {
        "EXPLAIN QUERY PLAN "
    }

    /// Run before asking for a plan: nothing on SQLite.
    fn explain_setup() -> Option<&'static str> {
        None
    }

    /// The notices whose search text holds `text` (lower-cased, three characters or more): an
    /// FTS5 trigram phrase is a case-insensitive substring match, and only `"` is special in it.
    fn push_text_matches(builder: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>, text: &str) {
        builder.push("SELECT notice_id FROM notice_search WHERE notice_search MATCH ");
        builder.push_bind(format!("\"{}\"", text.replace('"', "\"\"")));
    }

    /// One statement is atomic in SQLite, and one process owns the file: no locking clause.
    fn claim_jobs_sql() -> String {
        claim_jobs_sql("")
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn session_store(&self) -> SessionBackend {
        SessionBackend::Sqlite(SqliteSessionStore::new(self.pool.clone()))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
