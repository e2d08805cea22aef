//! SQLite: the embedded default. One process owns the file; WAL lets readers run beside the
//! single writer. The store's writes queue for one connection in the order they came; the busy
//! handler makes any other writer (the session store's) wait instead of failing.

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
    /// Readers, and the session store's writes.
    pool: SqlitePool,
    /// The one connection every write of the store goes through, see [`fair_writer`].
    writer: SqlitePool,
    /// Send records that arrive while one commits go in the next commit together.
    sent_records: super::SentRecords,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(BUSY_TIMEOUT)
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
            // A file's connection does not go stale; a ping would double every read's hops to
            // the connection's thread.
            .test_before_acquire(false)
            .after_connect(|connection, _| Box::pin(wait_for_the_write_lock_briefly(connection)))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
        SqliteSessionStore::new(pool.clone()).migrate().await?;
        let writer = fair_writer(options).await?;
        Ok(Self {
            pool,
            writer,
            sent_records: super::SentRecords::default(),
        })
    }
}

/// SQLite has one writer at a time; writers that meet in the file wait in its busy handler,
/// which polls, so a writer that has waited long is no likelier to go next than one that just
/// came, and the last in a burst of the worker's commits waits for all of them. Writes queue
/// for this pool's one connection instead: sqlx hands it on in the order it was asked for
/// (its semaphore is fair), without polling, the moment the last write commits.
async fn fair_writer(options: SqliteConnectOptions) -> StoreResult<SqlitePool> {
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(BUSY_TIMEOUT)
        // A file's connection does not go stale; a ping would be one more hop per write.
        .test_before_acquire(false)
        // The session store still writes beside it, through the readers' pool.
        .after_connect(|connection, _| Box::pin(wait_for_the_write_lock_briefly(connection)))
        .connect_with(options)
        .await?)
}

/// How long a writer waits for another's commit before it is told the database is busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite's own busy handler (what `busy_timeout` sets) backs off to sleeps of 25 to 100 ms:
/// a writer that finds another's 2 ms commit in its way may sleep 100 ms, which is most of a
/// request's tail. This one looks again after 0.1 ms, then 1 ms, then every 5 ms, up to the
/// same ten seconds; it sleeps on the connection's own thread (sqlx gives each its own).
extern "C" fn look_again_soon(
    _: *mut std::ffi::c_void,
    attempts: std::ffi::c_int,
) -> std::ffi::c_int {
    let pause = match attempts {
        0..20 => Duration::from_micros(100),
        20..40 => Duration::from_millis(1),
        _ => Duration::from_millis(5),
    };
    let waited = Duration::from_micros(100) * attempts.clamp(0, 20) as u32
        + Duration::from_millis(1) * (attempts.clamp(20, 40) - 20) as u32
        + Duration::from_millis(5) * (attempts.max(40) - 40) as u32;
    if waited >= BUSY_TIMEOUT {
        return 0;
    }
    std::thread::sleep(pause);
    1
}

async fn wait_for_the_write_lock_briefly(
    connection: &mut sqlx::SqliteConnection,
) -> Result<(), sqlx::Error> {
    let mut handle = connection.lock_handle().await?;
    // SAFETY: the pointer is this connection's open database handle, locked to us for the
    // call; the handler is a plain function that touches no memory of its own argument.
    let code = unsafe {
        libsqlite3_sys::sqlite3_busy_handler(
            handle.as_raw_handle().as_ptr(),
            Some(look_again_soon),
            std::ptr::null_mut(),
        )
    };
    if code == libsqlite3_sys::SQLITE_OK {
        Ok(())
    } else {
        Err(sqlx::Error::Protocol(format!(
            "could not set SQLite's busy handler: {code}"
        )))
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

    /// SQLite plans by rules: whether the trigram index or the list's own starts the query is
    /// decided by counting the index's matches first.
    fn counts_text_matches_first() -> bool {
        true
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

    /// One writer holds the whole file: there are no rows to take in order.
    fn lock_rows_in_id_order() -> Option<&'static str> {
        None
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    fn session_store(&self) -> SessionBackend {
        SessionBackend::sqlite(SqliteSessionStore::new(self.pool.clone()))
    }

    async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}
