//! Building the application: database, first-start data, the router and its layers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use app::admin::ssr::AdminBackend;
use app::auth::ssr::AuthBackend;
use app::compose::ssr::{ComposeBackend, DraftsBackend};
use app::notices::ssr::NoticesBackend;
use app::{shell, App};
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::{provide_context, LeptosOptions};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::session_store::ExpiredDeletion;

use crate::audit::Audit;
use crate::auth::csrf::{origin_of, refuse_cross_site_writes, AllowedOrigins};
use crate::auth::login::Authenticator;
use crate::auth::middleware::{
    identify_client, input_errors_are_bad_requests, load_session_user, require_sign_in,
    security_headers, ClientIpPolicy, HeaderPolicy, SessionPolicy,
};
use crate::auth::session::session_layer;
use crate::backend::Backend;
use crate::blobs::BlobStore;
use crate::bootstrap::{ensure_first_admin, FirstStart};
use crate::config::Config;
use crate::dates::ReceiptRules;
use crate::delivery::events::EventsPollers;
use crate::delivery::retry::RetryPolicy;
use crate::delivery::send::SendThroughServices;
use crate::delivery::watch::AcknowledgementWatch;
use crate::delivery::worker::{self, Foreground, JobsByKind, WorkerSettings};
use crate::health::{healthz, readyz};
use crate::language::choose_language;
use crate::notices::compose::{ComposeService, MailboxChecks};
use crate::notices::documents::{self, Documents};
use crate::notices::drafts::{self, DraftService};
use crate::notices::letters::Letters;
use crate::notices::view::NoticeViews;
use crate::pdf_worker::{PdfWorker, PdfWorkerSettings};
use crate::secrets::{Column, DataKey, DataKeys};
use crate::smtp::acknowledge::{AcknowledgementScan, MailAcknowledgements};
use crate::smtp::ingest::IngestMail;
use crate::smtp::intake::Intake;
use crate::smtp::kept::KeptMails;
use crate::smtp::replies::{ForwardReplies, ReplyForwarding};
use crate::smtp::report::{MailReports, Relay, ReportWriter};
use crate::smtp::senders::Senders;
use crate::smtp::SmtpListener;
use crate::store::{self, JobKind, Store};
use crate::suomifi::services::{seed_configured_service, Connection, SuomiFiServices};
use crate::suomifi::sim::{self, RunningSimulator, SimConfig};
use crate::suomifi::{SuomiFiClient, SuomiFiSettings};

/// How often passwords are checked for their age (and rotated when due).
const PASSWORD_ROTATION_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// How often the acknowledgement watch looks for overdue verifiable notices.
const ACKNOWLEDGEMENT_WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Arc<dyn Store>,
    address: SocketAddr,
    first_start: Option<FirstStart>,
    suomifi: Arc<SuomiFiClient>,
    services: Arc<SuomiFiServices>,
    /// Present when no Suomi.fi URL was configured; stops with the application.
    simulator: Option<RunningSimulator>,
    data_key: DataKeys,
    blobs: Arc<dyn BlobStore>,
    worker: WorkerSettings,
    events_interval: std::time::Duration,
    receipt: ReceiptRules,
    acknowledgement_days: i64,
    login_attempt_window: time::Duration,
    authenticator: Authenticator,
    /// Present when `TIEDOKSI_SMTP_ADDR` is set.
    smtp: Option<SmtpListener>,
    ingest_mail: IngestMail,
    mail_reports: MailReports,
    mail_acknowledgements: MailAcknowledgements,
    forward_replies: ForwardReplies,
    batches: crate::batches::BatchService,
    letters: Letters,
    /// Present when `TIEDOKSI_METRICS_ADDR` is set.
    metrics: Option<TcpListener>,
}

/// The configured data key (and earlier ones): given directly, or read from its file — or,
/// for a database that holds nothing yet, created there.
pub fn configured_keys(config: &Config, fresh_database: bool) -> anyhow::Result<DataKeys> {
    let current = match config.data_key.clone() {
        Some(key) => key,
        None => load_or_create_key(&config.data_key_file, fresh_database)?,
    };
    Ok(DataKeys::new(current, config.previous_data_keys.clone()))
}

fn pdf_worker(config: &Config) -> anyhow::Result<PdfWorker> {
    let program = match &config.pdf.worker {
        Some(path) => path.into(),
        None => std::env::current_exe()?,
    };
    PdfWorker::checked(PdfWorkerSettings {
        program,
        memory_bytes: config.pdf.memory_mb * 1024 * 1024,
        timeout: config.pdf.timeout,
        concurrency: config.pdf.concurrency,
    })
    .map_err(|error| anyhow::anyhow!(error))
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.check_safety()?;
        app::error::recognise_passing_failures(store::is_passing_failure);
        let store = store::connect(&config.database_url).await?;
        let setting_up = FirstStartTurn::take_if_empty(store.as_ref()).await?;
        let fresh_database = store.count_organisations().await? == 0;
        let listener = TcpListener::bind(config.addr).await?;
        let address = listener.local_addr()?;
        let metrics = match config.metrics_addr {
            Some(metrics_address) => {
                crate::metrics::handle();
                Some(TcpListener::bind(metrics_address).await?)
            }
            None => None,
        };
        let (configured_client, simulator) = suomifi_client(&config).await?;
        let data_key = configured_keys(&config, fresh_database)?;
        check_data_key(store.as_ref(), &data_key).await?;
        let suomifi_services = Arc::new(SuomiFiServices::new(
            store.clone(),
            data_key.clone(),
            Connection {
                base_url: configured_client.base_url().to_string(),
                timeout: config.suomifi.timeout,
                requests_per_second: Some(config.suomifi.requests_per_second),
                limits: configured_client.limits().clone(),
            },
        ));
        let foreground = Arc::new(Foreground::default());
        let worker = worker_settings(&config, foreground.clone());
        let events_interval = config.worker.events_interval;
        let blobs: Arc<dyn BlobStore> = crate::blobs::configured(&config)?;
        let authenticator = Authenticator::new(store.clone(), config.login.clone());
        let audit = Audit::new(store.clone());
        let letters = Letters {
            store: store.clone(),
            blobs: blobs.clone(),
            pdf: pdf_worker(&config)?,
            limits: suomifi_services.limits().clone(),
        };
        let compose = ComposeService {
            store: store.clone(),
            services: suomifi_services.clone(),
            key: data_key.clone(),
            blobs: blobs.clone(),
            audit: audit.clone(),
            letters: letters.clone(),
            allow_test_identity_codes: config.allow_test_identity_codes,
            mailbox_checks: MailboxChecks::new(config.mailbox_checks_per_minute),
        };
        let documents = Documents {
            store: store.clone(),
            blobs: blobs.clone(),
            audit: audit.clone(),
            limits: suomifi_services.limits().clone(),
            letters: letters.clone(),
        };
        let services = Services {
            store: store.clone(),
            suomifi: suomifi_services.clone(),
            key: data_key.clone(),
            blobs: blobs.clone(),
            authenticator: authenticator.clone(),
            audit,
            compose: compose.clone(),
            documents: documents.clone(),
            foreground,
        };
        let router = router(&config, &services, address);
        let smtp = match config.smtp.addr {
            Some(smtp_address) => Some(
                SmtpListener::bind(
                    config.smtp.clone(),
                    smtp_address,
                    Senders {
                        store: store.clone(),
                    },
                    Intake {
                        store: store.clone(),
                        blobs: blobs.clone(),
                        keys: data_key.clone(),
                    },
                )
                .await?,
            ),
            None => None,
        };
        let kept = KeptMails {
            store: store.clone(),
            blobs: blobs.clone(),
            keys: data_key.clone(),
        };
        let relay = Relay::from_config(&config.smtp)?;
        let writer = ReportWriter {
            hostname: config.smtp.hostname.clone(),
            from: config.smtp.reports_from.clone(),
        };
        let mail_reports = MailReports {
            store: store.clone(),
            kept: kept.clone(),
            relay: relay.clone(),
            writer: writer.clone(),
        };
        let mail_acknowledgements = MailAcknowledgements {
            store: store.clone(),
            kept: kept.clone(),
            relay: relay.clone(),
            from: config.smtp.reports_from.clone(),
            writer,
        };
        let forward_replies = ForwardReplies {
            store: store.clone(),
            blobs: blobs.clone(),
            keys: data_key.clone(),
            relay: relay.clone(),
            hostname: config.smtp.hostname.clone(),
            from: config.smtp.reports_from.clone(),
            citizen_domain: config
                .smtp
                .recipient_domains
                .first()
                .cloned()
                .unwrap_or_else(|| "asiointitili.fi".into()),
        };
        let batches = crate::batches::BatchService {
            store: store.clone(),
            compose: compose.clone(),
            keys: data_key.clone(),
            audit: services.audit.clone(),
            check_lease: config.batch_check_lease,
        };
        let ingest_mail = IngestMail {
            store: store.clone(),
            audit: services.audit.clone(),
            kept: kept.clone(),
            keys: data_key.clone(),
            compose,
            documents,
        };
        // Last: once the first admin exists, a later start prints no password, so nothing
        // after this may fail before `main` has printed it.
        let first_start = ensure_first_admin(&store, config.admin_password.as_ref()).await?;
        let suomifi = configured_service_client(
            &store,
            &data_key,
            &config,
            &suomifi_services,
            configured_client,
        )
        .await;
        if let Some(turn) = setting_up {
            turn.done(store.as_ref()).await;
        }
        Ok(Self {
            listener,
            router,
            store,
            address,
            first_start,
            suomifi,
            services: suomifi_services,
            simulator,
            data_key,
            blobs,
            worker,
            events_interval,
            receipt: config.receipt,
            acknowledgement_days: config.acknowledgement_days,
            login_attempt_window: config.login.ip_window,
            authenticator,
            smtp,
            ingest_mail,
            mail_reports,
            mail_acknowledgements,
            forward_replies,
            batches,
            letters,
            metrics,
        })
    }

    /// How many passwords sign-ins have checked since start.
    pub fn passwords_checked(&self) -> Arc<dyn Fn() -> u64 + Send + Sync> {
        let authenticator = self.authenticator.clone();
        Arc::new(move || authenticator.passwords_checked())
    }

    pub fn data_key(&self) -> DataKeys {
        self.data_key.clone()
    }

    /// The notices' letters, rendered as the worker and the pages render them.
    pub fn letters(&self) -> Letters {
        self.letters.clone()
    }

    /// The client of the service configured in the environment (the demo's), shared with
    /// the application while its credentials are the stored ones.
    pub fn suomifi(&self) -> Arc<SuomiFiClient> {
        self.suomifi.clone()
    }

    /// Every organisation's Suomi.fi services.
    pub fn suomifi_services(&self) -> Arc<SuomiFiServices> {
        self.services.clone()
    }

    /// What tells the worker that people are waiting on this instance.
    pub fn foreground(&self) -> Arc<Foreground> {
        self.worker.foreground.clone()
    }

    /// Every method and path this application answers (pages, server functions, forms, API).
    pub fn routes(&self) -> Vec<crate::route_census::RouteEntry> {
        crate::route_census::route_census(&self.router)
    }

    /// The in-process simulator's base URL, when it runs.
    pub fn simulator_url(&self) -> Option<String> {
        self.simulator.as_ref().map(RunningSimulator::base_url)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where the SMTP bridge listens, when it does.
    pub fn smtp_address(&self) -> Option<SocketAddr> {
        self.smtp.as_ref().and_then(|smtp| smtp.local_addr().ok())
    }

    /// The certificate the SMTP bridge's STARTTLS shows (PEM), when it listens.
    pub fn smtp_certificate_pem(&self) -> Option<String> {
        self.smtp
            .as_ref()
            .map(|smtp| smtp.certificate_pem().to_string())
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Where `/metrics` listens, when it does.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// Set only on the start that created the first admin.
    pub fn first_start(&self) -> Option<&FirstStart> {
        self.first_start.as_ref()
    }

    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let sessions = self.store.session_store();
        let cleanup = tokio::spawn(
            sessions.continuously_delete_expired(tokio::time::Duration::from_secs(300)),
        );
        let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
        let send = Arc::new(SendThroughServices {
            store: self.store.clone(),
            services: self.services.clone(),
            key: self.data_key.clone(),
            blobs: self.blobs.clone(),
            letters: self.letters.clone(),
            receipt: self.receipt,
        });
        let batch_checks = tokio::spawn(tidy_interrupted_batch_checks(
            self.batches.clone(),
            worker_stopped.clone(),
        ));
        let handler = Arc::new(
            JobsByKind::default()
                .with(JobKind::SendDelivery, send)
                .with(JobKind::IngestMail, Arc::new(self.ingest_mail))
                .with(JobKind::MailReport, Arc::new(self.mail_reports))
                .with(
                    JobKind::MailAcknowledgement,
                    Arc::new(self.mail_acknowledgements),
                )
                .with(JobKind::ForwardReply, Arc::new(self.forward_replies))
                .with(
                    JobKind::ComposeBatchRow,
                    Arc::new(crate::batches::job::ComposeBatchRow {
                        batches: self.batches,
                    }),
                ),
        );
        let smtp = self
            .smtp
            .map(|smtp| tokio::spawn(smtp.run(worker_stopped.clone())));
        // The worker sees the store only as its queue (trait upcasting).
        let queue: Arc<dyn crate::store::JobQueue> = self.store.clone();
        let poller = EventsPollers {
            store: self.store.clone(),
            services: self.services.clone(),
            receipt: self.receipt,
        };
        let leader = crate::delivery::Leader::new(queue.clone(), self.worker.name.clone());
        let poller =
            tokio::spawn(poller.run(self.events_interval, worker_stopped.clone(), leader.clone()));
        let replies = crate::delivery::replies::RepliesPoller {
            store: self.store.clone(),
            services: self.services.clone(),
            blobs: self.blobs.clone(),
            keys: self.data_key.clone(),
        };
        let replies =
            tokio::spawn(replies.run(self.events_interval, worker_stopped.clone(), leader.clone()));
        let acknowledgements = AcknowledgementScan {
            store: self.store.clone(),
        };
        let acknowledgements = tokio::spawn(acknowledgements.run(
            self.events_interval,
            worker_stopped.clone(),
            leader.clone(),
        ));
        let forwarding = ReplyForwarding {
            store: self.store.clone(),
        };
        let forwarding = tokio::spawn(forwarding.run(
            self.events_interval,
            worker_stopped.clone(),
            leader.clone(),
        ));
        let watch = AcknowledgementWatch {
            store: self.store.clone(),
            acknowledgement_days: self.acknowledgement_days,
        };
        let watch = tokio::spawn(watch.run(
            ACKNOWLEDGEMENT_WATCH_INTERVAL,
            worker_stopped.clone(),
            leader.clone(),
        ));
        let pruning = tokio::spawn(prune_login_attempts(
            self.store.clone(),
            self.login_attempt_window,
            worker_stopped.clone(),
        ));
        let rotation = tokio::spawn(self.services.clone().run_rotation(
            PASSWORD_ROTATION_INTERVAL,
            worker_stopped.clone(),
            leader.clone(),
        ));
        let worker = tokio::spawn(worker::run(queue, handler, self.worker, worker_stopped));
        let metrics = self.metrics.map(|listener| {
            let router = crate::metrics::router(self.store.clone());
            tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::error!(%error, "the metrics listener stopped");
                }
            })
        });
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await;
        cleanup.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        let _ = stop_worker.send(true);
        if let Some(smtp) = smtp {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(30), smtp).await;
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), worker).await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), poller).await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), replies).await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), watch).await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), acknowledgements).await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), forwarding).await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), pruning).await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), batch_checks).await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), rotation).await;
        leader.step_down().await;
        self.store.close().await;
        drop(self.simulator);
        Ok(served?)
    }
}

/// A recipients file's check that a crash cut short is cancelled once its lease runs out
/// (by any instance: the cancel is a compare-and-set), and uploads' leftover temporary
/// files are removed.
async fn tidy_interrupted_batch_checks(
    batches: crate::batches::BatchService,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let interval = batches.check_lease.min(std::time::Duration::from_secs(60));
    crate::delivery::every(
        interval,
        stop,
        "tidying interrupted batch checks",
        || async {
            batches.abandon_interrupted_checks().await?;
            let removed = tokio::task::spawn_blocking(crate::batches::pages::remove_stale_uploads)
                .await
                .unwrap_or(0);
            if removed > 0 {
                tracing::warn!(removed, "removed uploads' temporary files left by a crash");
            }
            Ok::<(), crate::store::StoreError>(())
        },
    )
    .await
}

/// Failed sign-ins older than their window no longer count for anything: they are deleted
/// (hourly), so the table holds minutes of addresses, not years.
async fn prune_login_attempts(
    store: Arc<dyn Store>,
    window: time::Duration,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    crate::delivery::every(
        std::time::Duration::from_secs(3600),
        stop,
        "pruning old sign-in attempts",
        || async {
            store
                .prune_login_attempts(crate::store::Timestamp::now() - window)
                .await
                .map(|_| ())
        },
    )
    .await
}

/// The environment's service saved as its organisation's on the first start, and its client
/// shared with the registry while the stored credentials are the configured ones.
async fn configured_service_client(
    store: &Arc<dyn Store>,
    keys: &DataKeys,
    config: &Config,
    services: &SuomiFiServices,
    configured: Arc<SuomiFiClient>,
) -> Arc<SuomiFiClient> {
    use secrecy::ExposeSecret;
    if let Err(error) = seed_configured_service(store.as_ref(), keys, config).await {
        tracing::error!(%error, "could not save the configured Suomi.fi service");
    }
    let stored = match store
        .service_by_service_id(&config.suomifi.service_id)
        .await
    {
        Ok(Some(service)) => service,
        _ => return configured,
    };
    let same = stored.username == config.suomifi.username
        && keys
            .open(crate::secrets::Column::Credential, &stored.password_sealed)
            .is_ok_and(|password| password == config.suomifi.password.expose_secret());
    if same {
        services.adopt(&stored, configured.clone());
        configured
    } else {
        services.client(&stored).unwrap_or(configured)
    }
}

/// The configured Suomi.fi service, or the simulator started here on a loopback port and
/// reached over real HTTP like the real one.
async fn suomifi_client(
    config: &Config,
) -> anyhow::Result<(Arc<SuomiFiClient>, Option<RunningSimulator>)> {
    use secrecy::ExposeSecret;
    let suomifi = &config.suomifi;
    let (base_url, simulator) = match &suomifi.url {
        Some(url) => (url.clone(), None),
        None => {
            let simulator_config = SimConfig {
                username: suomifi.username.clone(),
                password: suomifi.password.expose_secret().to_string(),
                service_id: suomifi.service_id.clone(),
                ..SimConfig::default()
            };
            let running = sim::spawn(simulator_config, "127.0.0.1:0".parse()?).await?;
            tracing::info!(url = %running.base_url(), "built-in Suomi.fi simulator started");
            (running.base_url(), Some(running))
        }
    };
    let mut settings = SuomiFiSettings::new(
        &base_url,
        &suomifi.username,
        suomifi.password.expose_secret(),
        &suomifi.service_id,
    );
    settings.timeout = suomifi.timeout;
    settings.requests_per_second = Some(suomifi.requests_per_second);
    Ok((Arc::new(SuomiFiClient::new(settings)?), simulator))
}

/// Instances starting together take turns at setting up: on an empty database one creates
/// the first organisation, admin and service while the others wait, then find them there.
struct FirstStartTurn {
    holder: String,
}

impl FirstStartTurn {
    const LEASE: &'static str = "first_start";
    const LONGEST: std::time::Duration = std::time::Duration::from_secs(120);

    /// On an empty database, waits for this instance's turn; with data there is nothing to
    /// set up, and no turn is taken (an ordinary start writes nothing for it).
    async fn take_if_empty(store: &dyn crate::store::Store) -> anyhow::Result<Option<Self>> {
        if store.count_organisations().await? > 0 {
            return Ok(None);
        }
        Self::wait(store).await.map(Some)
    }

    async fn wait(store: &dyn crate::store::Store) -> anyhow::Result<Self> {
        let holder = format!("start-{}", uuid::Uuid::new_v4());
        let started = std::time::Instant::now();
        loop {
            let now = crate::store::Timestamp::now();
            let until = now + time::Duration::try_from(Self::LONGEST)?;
            if store.hold_lease(Self::LEASE, &holder, now, until).await? {
                return Ok(Self { holder });
            }
            if started.elapsed() > Self::LONGEST {
                anyhow::bail!(
                    "another instance has been setting up the database for two minutes; \
                     start this one again when it is up"
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// Never fails the start: a turn not handed back lapses by itself.
    async fn done(self, store: &dyn crate::store::Store) {
        if let Err(error) = store.release_leases(&self.holder).await {
            tracing::warn!(%error, "could not hand back the first-start turn; it lapses in two minutes");
        }
    }
}

/// Refuses to start with a data key that opens none of the database's sealed credentials: an
/// instance with another key would seal values no other instance can read, and read none.
async fn check_data_key(store: &dyn crate::store::Store, keys: &DataKeys) -> anyhow::Result<()> {
    let services = store.all_services().await?;
    if services.is_empty()
        || services.iter().any(|service| {
            keys.open(Column::Credential, &service.password_sealed)
                .is_ok()
        })
    {
        return Ok(());
    }
    anyhow::bail!(
        "the configured data key (TIEDOKSI_DATA_KEY / TIEDOKSI_DATA_KEY_FILE) does not open \
         this database's sealed values: every instance must use the key the database was \
         sealed with (an old key goes in TIEDOKSI_DATA_KEY_PREVIOUS during a rotation)"
    )
}

/// Marks a request as one people wait on while it runs (health checks are machines').
async fn people_are_waiting(
    axum::extract::State(foreground): axum::extract::State<Arc<Foreground>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let health_check = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .is_some_and(|route| matches!(route.as_str(), "/healthz" | "/readyz"));
    let _in_flight = (!health_check).then(|| foreground.request_started());
    next.run(request).await
}

fn worker_settings(config: &Config, foreground: Arc<Foreground>) -> WorkerSettings {
    let name = format!(
        "tiedoksi-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    WorkerSettings {
        lease: config.worker.lease,
        idle_interval: config.worker.idle,
        concurrency: config.worker.concurrency,
        concurrency_beside_users: config.worker.concurrency_beside_users,
        foreground,
        // Enough to keep every slot busy between two claims.
        batch_size: (config.worker.concurrency * 4) as i64,
        retry: RetryPolicy {
            max_attempts: config.worker.max_attempts,
            initial_delay: config.worker.retry_initial,
            max_delay: config.worker.retry_max,
            multiplier: 2.0,
        },
        ..WorkerSettings::named(name)
    }
}

/// The data key from its file, or — for a database that holds nothing yet — a new one written
/// there, readable by the owner only. A missing key for a database with data is an error:
/// a new key could open none of the sealed personal data.
fn load_or_create_key(path: &str, fresh_database: bool) -> anyhow::Result<DataKey> {
    let path = std::path::Path::new(path);
    if path.exists() {
        let encoded = std::fs::read_to_string(path)?;
        return Ok(DataKey::from_base64(&encoded)?);
    }
    if !fresh_database {
        anyhow::bail!(
            "the data key file {} is missing, and the database already holds data sealed with \
             a key: restore the file or set TIEDOKSI_DATA_KEY",
            path.display()
        );
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let key = DataKey::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options.open(path)?.write_all(key.to_base64().as_bytes())?;
    tracing::warn!(path = %path.display(), "created a new data key; back it up with the database");
    Ok(key)
}

fn leptos_options(config: &Config, address: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("tiedoksi")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(address)
        .build()
}

/// The app's routes, found once per process. Finding them renders the app with resource
/// loading switched off by a process-wide flag, and a resource first polled by a request of
/// another application in the same process meanwhile would never load (leptos-rs/leptos#4773):
/// the tests start many applications side by side.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// What the routes and server functions work with.
struct Services {
    store: Arc<dyn Store>,
    suomifi: Arc<SuomiFiServices>,
    key: DataKeys,
    blobs: Arc<dyn BlobStore>,
    authenticator: Authenticator,
    audit: Audit,
    /// Every entry point (pages, SMTP) composes through this one.
    compose: ComposeService,
    documents: Documents,
    /// Told of every request people wait on, so the worker can make room for them.
    foreground: Arc<Foreground>,
}

/// The nonce the security-headers middleware put in the request, for Leptos' inline scripts
/// (it replaces the one leptos_axum made for the render, so page and header agree).
fn provide_request_nonce() {
    if let Some(nonce) = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<leptos::nonce::Nonce>().cloned())
    {
        provide_context(nonce);
    }
}

fn router(config: &Config, services: &Services, address: SocketAddr) -> Router {
    let store = services.store.clone();
    let options = leptos_options(config, address);
    let backend = Backend {
        store: store.clone(),
        authenticator: services.authenticator.clone(),
    };
    let auth: Arc<dyn AuthBackend> = Arc::new(backend.clone());
    let templates: Arc<dyn app::templates::ssr::TemplateBackend> = Arc::new(backend.clone());
    let sso_name = app::auth::ssr::SingleSignOnName(
        config.oidc.as_ref().map(|oidc| oidc.provider_name.clone()),
    );
    let admin: Arc<dyn AdminBackend> = Arc::new(backend);
    let audit = services.audit.clone();
    let compose_service = services.compose.clone();
    let preview = Router::new()
        .route(
            "/api/letter_preview",
            post(crate::notices::compose::letter_preview),
        )
        .with_state(compose_service.clone());
    let limits = services.suomifi.limits().clone();
    let documents_state = services.documents.clone();
    let draft_service = DraftService {
        store: store.clone(),
        key: services.key.clone(),
        compose: compose_service.clone(),
        documents: documents_state.clone(),
        audit: audit.clone(),
    };
    // Multipart framing on top of the largest file Suomi.fi takes.
    let upload_limit = limits.max_upload_bytes + 64 * 1024;
    let compose_forms = Router::new()
        .route("/compose/new", post(drafts::new_draft))
        .route("/compose/{id}/save", post(drafts::save_draft))
        .route("/compose/{id}/preview", post(drafts::preview_draft))
        .route(
            "/compose/{id}/upload",
            post(drafts::upload_to_draft).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/compose/{id}/send", post(drafts::send_draft))
        .route("/compose/{id}/delete", post(drafts::delete_draft))
        .route("/compose/{id}/claim", post(drafts::claim_draft))
        .route("/compose/{id}/letter.pdf", get(drafts::draft_letter))
        .with_state(draft_service.clone());
    let drafts_backend: Arc<dyn DraftsBackend> = Arc::new(draft_service);
    let compose: Arc<dyn ComposeBackend> = Arc::new(compose_service.clone());
    let notice_views = NoticeViews {
        store: store.clone(),
        audit: audit.clone(),
        receipt: config.receipt,
        keys: services.key.clone(),
    };
    let notice_actions = Router::new()
        .route(
            "/notices/{id}/actions",
            post(crate::notices::view::delivery_action),
        )
        .route("/search", post(crate::notices::list::search))
        .with_state(notice_views.clone());
    let proofs = Router::new()
        .route(
            "/notices/{id}/deliveries/{delivery}/proof.pdf",
            get(crate::notices::proof::proof),
        )
        .with_state(crate::notices::proof::ProofState {
            views: notice_views.clone(),
            documents: documents_state.clone(),
        });
    let batch_service = crate::batches::BatchService {
        store: store.clone(),
        compose: services.compose.clone(),
        keys: services.key.clone(),
        audit: audit.clone(),
        check_lease: config.batch_check_lease,
    };
    let integration_api = crate::api::router(
        crate::api::ApiState {
            store: store.clone(),
            audit: audit.clone(),
            pace: crate::api::caller::ApiRateLimit::per_minute(config.api_requests_per_minute),
            compose: compose_service,
            documents: documents_state.clone(),
            views: notice_views.clone(),
            batches: batch_service.clone(),
        },
        upload_limit,
    );
    let batch_pages = Router::new()
        .route(
            "/batches",
            post(crate::batches::pages::upload).layer(DefaultBodyLimit::max(
                crate::batches::pages::MAX_FILE_BYTES + 64 * 1024,
            )),
        )
        .route("/batches/example.csv", get(crate::batches::pages::example))
        .route(
            "/batches/{id}/confirm",
            post(crate::batches::pages::confirm),
        )
        .route("/batches/{id}/cancel", post(crate::batches::pages::cancel))
        .route(
            "/batches/{id}/results.csv",
            get(crate::batches::pages::results),
        )
        .with_state(batch_service.clone());
    let batches: Arc<dyn app::batches::ssr::BatchesBackend> = Arc::new(batch_service);
    let notices: Arc<dyn NoticesBackend> = Arc::new(notice_views);
    let reply_views = crate::replies::ReplyViews {
        store: store.clone(),
        audit: audit.clone(),
        blobs: services.blobs.clone(),
    };
    let reply_files = Router::new()
        .route(
            "/inbox/{id}/attachments/{position}",
            get(crate::replies::attachment),
        )
        .with_state(reply_views.clone());
    let replies: Arc<dyn app::replies::ssr::RepliesBackend> = Arc::new(reply_views);
    let context = move || {
        provide_context(auth.clone());
        provide_context(admin.clone());
        provide_context(templates.clone());
        provide_context(sso_name.clone());
        provide_context(compose.clone());
        provide_context(drafts_backend.clone());
        provide_context(notices.clone());
        provide_context(batches.clone());
        provide_context(replies.clone());
        provide_request_nonce();
    };
    let documents = Router::new()
        .route(
            "/api/uploads",
            post(documents::upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/notices/{id}/letter.pdf", get(documents::letter))
        .route(
            "/notices/{id}/attachments/{position}",
            get(documents::attachment),
        )
        .with_state(documents_state);

    let pages = Router::new()
        .leptos_routes_with_context(&options, route_list(), context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        // The not-found page has the header too (its unread count): the same context.
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context, shell,
        ))
        .with_state(options);

    let user_admin = Router::new()
        .route("/admin/users", post(crate::admin::users::create))
        .route(
            "/admin/organisation",
            post(crate::admin::users::update_organisation),
        )
        .route(
            "/admin/users/{id}/role",
            post(crate::admin::users::change_role),
        )
        .route("/admin/users/{id}/{action}", post(crate::admin::users::act))
        .with_state(crate::admin::users::UserAdmin {
            store: store.clone(),
            audit: audit.clone(),
            public_url: config.public_url.clone(),
        });
    let service_admin = Router::new()
        .route("/admin/services", post(crate::admin::services::create))
        .route("/admin/services/{id}", post(crate::admin::services::update))
        .route(
            "/admin/services/{id}/test",
            post(crate::admin::services::test_connection),
        )
        .route(
            "/admin/services/{id}/rotate",
            post(crate::admin::services::rotate),
        )
        .with_state(crate::admin::services::ServiceAdmin {
            store: store.clone(),
            keys: services.key.clone(),
            services: services.suomifi.clone(),
            audit: audit.clone(),
        });
    let api_key_admin = Router::new()
        .route("/admin/api-keys", post(crate::admin::api_keys::create))
        .route(
            "/admin/api-keys/{id}/revoke",
            post(crate::admin::api_keys::revoke),
        )
        .with_state(crate::admin::api_keys::ApiKeyAdmin {
            store: store.clone(),
        });
    let logo_admin = Router::new()
        .route("/admin/organisation/logo", post(crate::admin::logo::upload))
        .with_state(crate::admin::logo::LogoAdmin {
            store: store.clone(),
            blobs: services.blobs.clone(),
            audit: audit.clone(),
        });
    let mail_admin = Router::new()
        .route("/admin/mail/domains", post(crate::admin::mail::domains))
        .route("/admin/mail/networks", post(crate::admin::mail::networks))
        .route("/admin/mail/settings", post(crate::admin::mail::settings))
        .with_state(crate::admin::mail::MailAdmin {
            store: store.clone(),
            audit: audit.clone(),
        });
    let template_admin = Router::new()
        .route("/admin/templates", post(crate::admin::templates::create))
        .route(
            "/admin/templates/{id}",
            post(crate::admin::templates::new_version),
        )
        .route(
            "/admin/templates/{id}/archive",
            post(crate::admin::templates::archive),
        )
        .with_state(crate::admin::templates::TemplateAdmin {
            store: store.clone(),
            audit: audit.clone(),
        });
    let audit_export = Router::new()
        .route("/audit.csv", get(crate::admin::audit::csv))
        .with_state(crate::admin::audit::AuditExport {
            store: store.clone(),
        });
    let welcome = Router::new()
        .route("/welcome/{token}", post(crate::admin::links::set_password))
        .with_state(crate::admin::links::Links {
            store: store.clone(),
            audit: audit.clone(),
        });
    let single_sign_on = match &config.oidc {
        Some(oidc) => {
            let base_url = config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{address}"));
            let sso = crate::auth::oidc::SingleSignOn::new(
                oidc.clone(),
                store.clone(),
                audit.clone(),
                &base_url,
            );
            Router::new()
                .route("/auth/oidc/start", get(crate::auth::oidc::start))
                .route("/auth/oidc/callback", get(crate::auth::oidc::callback))
                .with_state(sso)
        }
        None => Router::new(),
    };

    let probes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(store.clone());

    let allowed_origins = AllowedOrigins {
        public_origin: config.public_url.as_deref().and_then(origin_of),
    };
    let client_ip_policy = ClientIpPolicy {
        trust_forwarded_for: config.trust_forwarded_for,
    };

    // Layers run outermost-last: a request meets tracing, security headers, the cross-site
    // check (before anything else can act on it), client address, session, user, access.
    Router::new()
        .route("/language/{code}", get(choose_language))
        .merge(documents)
        .merge(compose_forms)
        .merge(notice_actions)
        .merge(reply_files)
        .merge(proofs)
        .merge(preview)
        .merge(probes)
        .merge(welcome)
        .merge(single_sign_on)
        .merge(user_admin)
        .merge(service_admin)
        .merge(template_admin)
        .merge(mail_admin)
        .merge(logo_admin)
        .merge(api_key_admin)
        .merge(integration_api)
        .merge(batch_pages)
        .merge(audit_export)
        .merge(pages)
        .route_layer(from_fn(crate::metrics::track_requests))
        .route_layer(from_fn_with_state(
            services.foreground.clone(),
            people_are_waiting,
        ))
        .layer(from_fn(input_errors_are_bad_requests))
        .layer(from_fn(require_sign_in))
        .layer(from_fn_with_state(
            SessionPolicy {
                store: store.clone(),
                absolute_lifetime: config.session_absolute_lifetime,
            },
            load_session_user,
        ))
        .layer(session_layer(
            store.session_store(),
            config.secure_cookies(),
            time::Duration::seconds(config.session_idle_timeout.as_secs() as i64),
        ))
        .layer(from_fn_with_state(client_ip_policy, identify_client))
        .layer(from_fn_with_state(
            allowed_origins,
            refuse_cross_site_writes,
        ))
        .layer(from_fn_with_state(
            HeaderPolicy {
                https: config.secure_cookies(),
            },
            security_headers,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        // Outermost: every request has an id (a proxy's own, or a new one) before anything
        // logs, and the answer carries it back, so a caseworker's report finds its log lines.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The span every log line of a request carries: its id, method and path — never the query,
/// which may hold a searched identity code.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id,
        method = %request.method(),
        path = request.uri().path(),
    )
}
