//! Sessions live in the database (tower-sessions), so a restart or a second process behind
//! the same PostgreSQL keeps everyone signed in. The cookie holds only a random id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

pub const COOKIE_NAME: &str = "tiedoksi_session";
/// Over https the `__Host-` prefix makes browsers refuse the cookie unless it is `Secure`,
/// for the whole site (`Path=/`) and not shared with subdomains (no `Domain`).
pub const SECURE_COOKIE_NAME: &str = "__Host-tiedoksi_session";

/// The session store of whichever database was configured: the session layer needs one
/// concrete type, and the backend is chosen at run time.
#[derive(Clone, Debug)]
pub struct SessionBackend {
    database: SessionDatabase,
    /// Each session as this process last read it, until the request that read it saves it.
    loaded: Arc<Mutex<HashMap<Id, Record>>>,
    /// An unchanged session is written again only when its expiry moves by this much.
    expiry_step: time::Duration,
}

#[derive(Clone, Debug)]
enum SessionDatabase {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

/// `always_save` slides the idle timeout with every request, but a write per request is a
/// commit per request (on SQLite a durable one, queued behind every other writer): an
/// unchanged session is written again only when its expiry would move by at least a step,
/// a minute (or a tenth of a shorter idle timeout).
const LONGEST_EXPIRY_STEP: time::Duration = time::Duration::seconds(60);
/// Entries of requests that never saved (an error answer) are forgotten past this many.
const MOST_REMEMBERED: usize = 10_000;

impl SessionBackend {
    pub fn sqlite(store: SqliteStore) -> Self {
        Self::new(SessionDatabase::Sqlite(store))
    }

    pub fn postgres(store: PostgresStore) -> Self {
        Self::new(SessionDatabase::Postgres(store))
    }

    fn new(database: SessionDatabase) -> Self {
        Self {
            database,
            loaded: Arc::default(),
            expiry_step: time::Duration::ZERO,
        }
    }

    /// Sliding the idle timeout in steps: a tenth of it, at most a minute.
    pub fn with_idle_timeout(mut self, idle_timeout: time::Duration) -> Self {
        self.expiry_step = (idle_timeout / 10_i32).min(LONGEST_EXPIRY_STEP);
        self
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashMap<Id, Record>> {
        self.loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The same data as read, and an expiry that moves by less than a step.
    fn unchanged(&self, record: &Record) -> bool {
        match self.remembered().remove(&record.id) {
            Some(read) => {
                read.data == record.data && record.expiry_date - read.expiry_date < self.expiry_step
            }
            None => false,
        }
    }
}

macro_rules! forward {
    ($self:expr, $method:ident($($arg:expr),*)) => {
        match &$self.database {
            SessionDatabase::Sqlite(store) => store.$method($($arg),*).await,
            SessionDatabase::Postgres(store) => store.$method($($arg),*).await,
        }
    };
}

#[async_trait]
impl SessionStore for SessionBackend {
    // Forwarded explicitly: the default `create` skips the stores' id-collision handling.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        forward!(self, create(record))
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        if self.unchanged(record) {
            return Ok(());
        }
        forward!(self, save(record))
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let record = forward!(self, load(id))?;
        if let Some(record) = &record {
            let mut remembered = self.remembered();
            if remembered.len() >= MOST_REMEMBERED {
                remembered.clear();
            }
            remembered.insert(*id, record.clone());
        }
        Ok(record)
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.remembered().remove(id);
        forward!(self, delete(id))
    }
}

#[async_trait]
impl ExpiredDeletion for SessionBackend {
    async fn delete_expired(&self) -> session_store::Result<()> {
        forward!(self, delete_expired())
    }
}

/// `HttpOnly` + `SameSite=Strict` always, `Secure` when we are served over https.
/// `always_save` makes the idle timeout slide with every request, not just with writes (in
/// steps of `EXPIRY_STEP`).
pub fn session_layer(
    store: SessionBackend,
    secure: bool,
    idle_timeout: time::Duration,
) -> SessionManagerLayer<SessionBackend> {
    SessionManagerLayer::new(store.with_idle_timeout(idle_timeout))
        .with_name(if secure {
            SECURE_COOKIE_NAME
        } else {
            COOKIE_NAME
        })
        .with_path("/")
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(secure)
        .with_expiry(Expiry::OnInactivity(idle_timeout))
        .with_always_save(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn backend() -> (SessionBackend, SqliteStore) {
        // One connection: each of an in-memory database's connections is a database of its own.
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let store = SqliteStore::new(pool);
        store.migrate().await.unwrap();
        let backend =
            SessionBackend::sqlite(store.clone()).with_idle_timeout(time::Duration::minutes(30));
        (backend, store)
    }

    /// What the database holds, read past the backend's memory.
    async fn stored(database: &SqliteStore, id: &Id) -> Record {
        database.load(id).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn an_unchanged_session_is_written_again_only_when_its_expiry_moves_a_step() {
        let (backend, database) = backend().await;
        let start = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap()
            + time::Duration::hours(1);
        let mut record = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: start,
        };
        backend.create(&mut record).await.unwrap();
        let id = record.id;

        let mut read = backend.load(&id).await.unwrap().unwrap();
        read.expiry_date = start + time::Duration::seconds(30);
        backend.save(&read).await.unwrap();
        assert_eq!(
            stored(&database, &id).await.expiry_date,
            start,
            "within a step"
        );

        let mut read = backend.load(&id).await.unwrap().unwrap();
        read.expiry_date = start + time::Duration::seconds(61);
        backend.save(&read).await.unwrap();
        assert_eq!(
            stored(&database, &id).await.expiry_date,
            read.expiry_date,
            "a step on"
        );

        let mut read = backend.load(&id).await.unwrap().unwrap();
        read.data
            .insert("user".into(), serde_json::json!("someone"));
        backend.save(&read).await.unwrap();
        assert_eq!(stored(&database, &id).await.data, read.data, "changed data");

        // Saved without this process having read it (another instance did): written.
        let mut other = read.clone();
        other.expiry_date = start + time::Duration::seconds(70);
        backend.save(&other).await.unwrap();
        assert_eq!(stored(&database, &id).await.expiry_date, other.expiry_date);
    }
}
