//! PostgreSQL: the production database, and the way to run several Tiedoksi processes on one
//! set of data (sessions, queue and events all live in the database).

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};
use tower_sessions_sqlx_store::PostgresStore as PostgresSessionStore;

use super::sql::{
    claim_jobs_sql, impl_shared_event_store, impl_shared_job_queue, impl_shared_notice_store,
    impl_shared_stores,
};
use super::{Store, StoreResult};
use crate::auth::session::SessionBackend;

pub struct PostgresStore {
    pool: PgPool,
    /// The same pool: PostgreSQL runs writers side by side (the SQLite store queues them).
    writer: PgPool,
    /// Send records that arrive while one commits go in the next commit together.
    sent_records: super::SentRecords,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        PostgresSessionStore::new(pool.clone()).migrate().await?;
        Ok(Self {
            writer: pool.clone(),
            pool,
            sent_records: super::SentRecords::default(),
        })
    }
}

impl_shared_stores!(PostgresStore);
impl_shared_job_queue!(PostgresStore);
impl_shared_notice_store!(PostgresStore);
impl_shared_event_store!(PostgresStore);
super::sql_proof::impl_shared_proof_stores!(PostgresStore);
super::sql_replies::impl_shared_reply_store!(PostgresStore);
super::sql_mail::impl_shared_mail_store!(PostgresStore);
super::sql_accounts::impl_shared_account_store!(PostgresStore);
super::sql_services::impl_shared_service_store!(PostgresStore);
super::sql_templates::impl_shared_template_store!(PostgresStore);
super::sql_api_keys::impl_shared_api_key_store!(PostgresStore);
super::sql_batches::impl_shared_batch_store!(PostgresStore);

impl super::sql_proof::HasDatabase for PostgresStore {
    type Database = sqlx::Postgres;
}

impl PostgresStore {
    /// How the database shows a query's plan.
    fn explain_prefix() -> &'static str {
        "EXPLAIN "
    }

    /// Run before asking for a plan: on PostgreSQL, sequential scans off, so the plan shows whether an index can serve the query (a small table is scanned whatever indexes it has).
    fn explain_setup() -> Option<&'static str> {
        Some("SET LOCAL enable_seqscan = off")
    }

    /// PostgreSQL weighs the trigram index against walking the list by its own statistics
    /// (the text as `n.id IN (…)`): counting first would scan the index twice.
    fn counts_text_matches_first() -> bool {
        false
    }

    /// The notices whose search text holds `text` (lower-cased, three characters or more), by
    /// the `pg_trgm` index. No ESCAPE clause: backslash is already LIKE's escape here, and an
    /// explicit one hides the pattern from the index.
    /// A GIN scan reads the posting list of every trigram in the pattern, and a case
    /// reference's `dnr`, `nro`, `202`… are in every notice: the index is asked for the text's
    /// number alone (its rare trigrams), and the whole text is checked on the rows it finds.
    fn push_text_matches(builder: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, text: &str) {
        builder.push("SELECT notice_id FROM notice_search WHERE search_text LIKE ");
        match super::sql::number_in(text) {
            Some(number) => {
                builder.push_bind(super::sql::contains_pattern(number));
                builder.push(" AND strpos(search_text, ");
                builder.push_bind(text.to_string());
                builder.push(") > 0");
            }
            None => {
                builder.push_bind(super::sql::contains_pattern(text));
            }
        }
    }

    /// Several processes may claim at once: each skips the rows another is claiming.
    fn claim_jobs_sql() -> String {
        claim_jobs_sql("FOR UPDATE SKIP LOCKED")
    }

    /// Rows are locked as a sorted `SELECT … FOR UPDATE` returns them: in id order.
    fn lock_rows_in_id_order() -> Option<&'static str> {
        Some("ORDER BY id FOR UPDATE")
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn session_store(&self) -> SessionBackend {
        SessionBackend::postgres(PostgresSessionStore::new(self.pool.clone()))
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
