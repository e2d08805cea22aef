//! Test harness: a fresh database per test (a temp SQLite file, or a new PostgreSQL
//! database), the real application on port 0, and a cookie-keeping HTTP client.

use std::net::SocketAddr;
use std::sync::Arc;

use app::auth::Role;
use reqwest::header::{ACCEPT, ORIGIN};
use reqwest::redirect::Policy;
use tempfile::TempDir;
use tiedoksi::auth::password::hash_password;
use tiedoksi::config::Config;
use tiedoksi::startup::Application;
use tiedoksi::store::{self, NewUser, Organisation, Store, User};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for each named `async fn case(TestBackend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case($crate::helpers::TestBackend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case($crate::helpers::TestBackend::Postgres).await
                }
            )*
        }
    };
}

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const ADMIN_EMAIL: &str = tiedoksi::bootstrap::FIRST_ADMIN_EMAIL;

/// A database that exists only for one test.
pub struct TestDatabase {
    pub url: String,
    /// Keeps the SQLite file's directory alive for the test's duration.
    _dir: Option<TempDir>,
    postgres_name: Option<String>,
}

fn postgres_admin_url() -> String {
    std::env::var("TIEDOKSI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

impl TestDatabase {
    pub async fn new(backend: TestBackend) -> Self {
        match backend {
            TestBackend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("tiedoksi.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                    postgres_name: None,
                }
            }
            TestBackend::Postgres => {
                let name = format!("tiedoksi_test_{}", uuid::Uuid::new_v4().simple());
                let admin = sqlx::PgPool::connect(&postgres_admin_url())
                    .await
                    .expect("PostgreSQL must run at 127.0.0.1:5432 (make test starts it)");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                admin.close().await;
                let base = postgres_admin_url();
                let server = base
                    .rsplit_once('/')
                    .map(|(server, _)| server)
                    .unwrap_or(&base);
                let url = format!("{server}/{name}");
                Self {
                    url,
                    _dir: None,
                    postgres_name: Some(name),
                }
            }
        }
    }

    /// Takes the database away under a running application.
    pub async fn make_unreachable(&self, app_store: &Arc<dyn Store>) {
        match &self.postgres_name {
            Some(name) => {
                let admin = sqlx::PgPool::connect(&postgres_admin_url()).await.unwrap();
                sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await
                    .expect("drop test database");
                admin.close().await;
            }
            // A SQLite file stays readable through open handles even when deleted, so the
            // nearest thing to "gone" is a closed pool.
            None => app_store.close().await,
        }
    }
}

pub struct TestApp {
    pub address: SocketAddr,
    pub store: Arc<dyn Store>,
    pub database: TestDatabase,
    pub client: reqwest::Client,
    pub organisation: Organisation,
    pub suomifi: Arc<tiedoksi::suomifi::SuomiFiClient>,
    pub services: Arc<tiedoksi::suomifi::services::SuomiFiServices>,
    pub simulator_url: Option<String>,
    pub data_key: tiedoksi::secrets::DataKeys,
    pub letters: tiedoksi::notices::letters::Letters,
    /// How many passwords sign-ins have checked.
    pub passwords_checked: std::sync::Arc<dyn Fn() -> u64 + Send + Sync>,
    pub blob_dir: tempfile::TempDir,
    /// The SMTP bridge, when the test turned it on, and the certificate its STARTTLS shows.
    pub smtp_address: Option<SocketAddr>,
    pub smtp_certificate: Option<String>,
    /// `/metrics`' own listener, when the test turned it on.
    pub metrics_address: Option<SocketAddr>,
    /// Every method and path the application answers, from its router.
    pub routes: Vec<tiedoksi::route_census::RouteEntry>,
    /// Whether the worker thinks people are waiting on the instance.
    pub foreground: Arc<tiedoksi::delivery::worker::Foreground>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

pub async fn spawn_app(backend: TestBackend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: TestBackend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    tiedoksi::telemetry::init(false);
    let database = TestDatabase::new(backend).await;
    let mut config = Config::from_lookup(|_| None).expect("default config");
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.database_url = database.url.clone();
    config.admin_password = Some(ADMIN_PASSWORD.to_string().into());
    config.data_key = Some(tiedoksi::secrets::DataKey::generate());
    let blob_dir = tempfile::tempdir().expect("a blob directory");
    config.blob_dir = blob_dir.path().to_string_lossy().into_owned();
    // Paced like production, only faster, so hundreds of notices go in seconds.
    config.suomifi.requests_per_second = 200;
    // The test binary is not `tiedoksi`: PDFs are read by the real binary's worker.
    config.pdf.worker = Some(env!("CARGO_BIN_EXE_tiedoksi").to_string());
    adjust(&mut config);

    let application = Application::build(config)
        .await
        .expect("application builds");
    let address = application.address();
    let store = application.store();
    let suomifi = application.suomifi();
    let services = application.suomifi_services();
    let simulator_url = application.simulator_url();
    let data_key = application.data_key();
    let letters = application.letters();
    let passwords_checked = application.passwords_checked();
    let smtp_address = application.smtp_address();
    let smtp_certificate = application.smtp_certificate_pem();
    let metrics_address = application.metrics_address();
    let routes = application.routes();
    let foreground = application.foreground();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(application.run_until(async move {
        let _ = stopped.await;
    }));

    let organisation = store
        .organisation(
            store
                .user_by_email(ADMIN_EMAIL)
                .await
                .unwrap()
                .unwrap()
                .organisation_id,
        )
        .await
        .unwrap()
        .unwrap();
    TestApp {
        address,
        store,
        database,
        client: new_client(),
        organisation,
        suomifi,
        services,
        simulator_url,
        data_key,
        letters,
        passwords_checked,
        blob_dir,
        smtp_address,
        smtp_certificate,
        metrics_address,
        routes,
        foreground,
        _shutdown: shutdown,
    }
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        // A server that never answers fails the test instead of hanging the suite.
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// A server-function call as the hydrated page makes it (fetch, JSON back).
    pub async fn call(&self, function: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/{function}")))
            .header(ORIGIN, self.origin())
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .expect("server function call")
    }

    /// A server function that takes JSON (`input = Json`).
    pub async fn call_json(&self, function: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/{function}")))
            .header(ORIGIN, self.origin())
            .header(ACCEPT, "application/json")
            .json(body)
            .send()
            .await
            .expect("server function call")
    }

    /// A signed-in caseworker of another organisation, to show what it cannot see.
    pub async fn stranger(&self, email: &str) -> reqwest::Client {
        let other = self
            .store
            .create_organisation(&format!("Toinen kunta {email}"))
            .await
            .unwrap();
        let password = "stranger-password-1";
        self.store
            .create_user(&NewUser {
                organisation_id: other.id,
                email: email.to_string(),
                display_name: "Toisen kunnan käsittelijä".into(),
                password_hash: hash_password(password.to_string()).await.unwrap(),
                role: Role::Caseworker,
            })
            .await
            .unwrap();
        let client = new_client();
        let login = client
            .post(self.url("/api/login"))
            .header(ORIGIN, self.origin())
            .header(ACCEPT, "application/json")
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200, "{email} signs in");
        client
    }

    /// The same call as a plain HTML form post (no wasm): answered with a redirect.
    pub async fn post_form(
        &self,
        function: &str,
        form: &[(&str, &str)],
        referer: &str,
    ) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/{function}")))
            .header(ORIGIN, self.origin())
            .header(ACCEPT, "text/html")
            .header(reqwest::header::REFERER, self.url(referer))
            .form(form)
            .send()
            .await
            .expect("form post")
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.call("login", &[("email", email), ("password", password)])
            .await
    }

    pub async fn login_as_admin(&self) {
        let response = self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(
            response.status(),
            200,
            "admin login: {:?}",
            response.text().await
        );
    }

    pub async fn create_user(&self, email: &str, password: &str, role: Role) -> User {
        self.store
            .create_user(&NewUser {
                organisation_id: self.organisation.id,
                email: email.to_string(),
                display_name: format!("Test {}", role.as_str()),
                password_hash: hash_password(password.to_string()).await.unwrap(),
                role,
            })
            .await
            .expect("create user")
    }

    pub async fn audit_actions(&self) -> Vec<String> {
        let mut actions: Vec<String> = self
            .store
            .audit_events(Some(self.organisation.id), 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|event| event.action)
            .collect();
        actions.reverse();
        actions
    }
}

/// A fresh store on a fresh database, without a running server.
pub async fn fresh_store(backend: TestBackend) -> (Arc<dyn Store>, TestDatabase) {
    let database = TestDatabase::new(backend).await;
    let store = store::connect(&database.url).await.expect("connect");
    (store, database)
}
