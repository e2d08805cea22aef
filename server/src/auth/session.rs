//! Sessions live in the database (tower-sessions), so a restart or a second process behind
//! the same PostgreSQL keeps everyone signed in. The cookie holds only a random id.

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
pub enum SessionBackend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

macro_rules! forward {
    ($self:expr, $method:ident($($arg:expr),*)) => {
        match $self {
            SessionBackend::Sqlite(store) => store.$method($($arg),*).await,
            SessionBackend::Postgres(store) => store.$method($($arg),*).await,
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
        forward!(self, save(record))
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        forward!(self, load(id))
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
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
/// `always_save` makes the idle timeout slide with every request, not just with writes.
pub fn session_layer(
    store: SessionBackend,
    secure: bool,
    idle_timeout: time::Duration,
) -> SessionManagerLayer<SessionBackend> {
    SessionManagerLayer::new(store)
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
