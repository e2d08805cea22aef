//! The Suomi.fi services of every organisation, from the database: one client per service
//! (its own token and pace), built from the sealed credentials and rebuilt when they change,
//! also when another instance changed them. Connection checks and password rotation live here
//! because both must get a rotation's two-step write right: the new password is kept as
//! pending before Suomi.fi is asked, and becomes current only after Suomi.fi said yes, in the
//! statement that records the change. If the answer never came (a crash, a timeout), the
//! pending password is tried when the current one is refused, and kept if it works.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::config::PostiConfig;
use crate::secrets::{Column, DataKeys};
use crate::store::{ServiceCheck, Store, StoreError, SuomiFiServiceRow, Timestamp};
use crate::suomifi::limits::Limits;
use crate::suomifi::{SuomiFiClient, SuomiFiError, SuomiFiSettings};

/// DVV: a system's password must be changed at least every six months.
pub const PASSWORD_LIFETIME_DAYS: i64 = 182;
/// The admin page warns this long before the six months are up.
pub const PASSWORD_WARNING_DAYS: i64 = 14;
/// Rotated by itself this long after the last change, well before the warning.
pub const AUTOMATIC_ROTATION_DAYS: i64 = 150;

/// How every service is reached: one Suomi.fi environment per deployment.
#[derive(Debug, Clone)]
pub struct Connection {
    pub base_url: String,
    pub timeout: Duration,
    pub requests_per_second: Option<u32>,
    pub limits: Limits,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("the organisation has no Suomi.fi service")]
    NoService,
    #[error("the Suomi.fi service {0} is not known here")]
    UnknownService(String),
    #[error("a sealed password of the Suomi.fi service cannot be opened with the data key")]
    Sealed,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    SuomiFi(#[from] SuomiFiError),
    #[error("a password change of this service is under way")]
    ChangeUnderWay,
}

struct Cached {
    /// The sealed password and username the client was built from.
    built_from: (Vec<u8>, String),
    client: Arc<SuomiFiClient>,
}

pub struct SuomiFiServices {
    store: Arc<dyn Store>,
    keys: DataKeys,
    connection: Connection,
    clients: Mutex<HashMap<Uuid, Cached>>,
}

impl SuomiFiServices {
    pub fn new(store: Arc<dyn Store>, keys: DataKeys, connection: Connection) -> Self {
        Self {
            store,
            keys,
            connection,
            clients: Mutex::new(HashMap::new()),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.connection.limits
    }

    fn settings(&self, service: &SuomiFiServiceRow, password: &str) -> SuomiFiSettings {
        let mut settings = SuomiFiSettings::new(
            &self.connection.base_url,
            &service.username,
            password,
            &service.service_id,
        );
        settings.timeout = self.connection.timeout;
        settings.requests_per_second = self.connection.requests_per_second;
        settings.limits = self.connection.limits.clone();
        settings
    }

    fn open(&self, sealed: &[u8]) -> Result<String, ServiceError> {
        self.keys
            .open(Column::Credential, sealed)
            .map_err(|_| ServiceError::Sealed)
    }

    /// The service's client, shared by every task that sends through it.
    pub fn client(&self, service: &SuomiFiServiceRow) -> Result<Arc<SuomiFiClient>, ServiceError> {
        let built_from = (service.password_sealed.clone(), service.username.clone());
        let mut clients = self.clients.lock().expect("clients lock");
        if let Some(cached) = clients.get(&service.id) {
            if cached.built_from == built_from {
                return Ok(cached.client.clone());
            }
        }
        let password = self.open(&service.password_sealed)?;
        let client = Arc::new(SuomiFiClient::new(self.settings(service, &password))?);
        clients.insert(
            service.id,
            Cached {
                built_from,
                client: client.clone(),
            },
        );
        Ok(client)
    }

    /// Shares a client built elsewhere (start-up's) for the service, as long as the service's
    /// credentials stay as they are.
    pub fn adopt(&self, service: &SuomiFiServiceRow, client: Arc<SuomiFiClient>) {
        self.clients.lock().expect("clients lock").insert(
            service.id,
            Cached {
                built_from: (service.password_sealed.clone(), service.username.clone()),
                client,
            },
        );
    }

    /// The client of a notice's service (the notice keeps Suomi.fi's service id).
    pub async fn client_for_service_id(
        &self,
        service_id: &str,
    ) -> Result<(SuomiFiServiceRow, Arc<SuomiFiClient>), ServiceError> {
        let found = self.store.service_by_service_id(service_id).await?;
        self.client_of(service_id, found)
    }

    /// `client_for_service_id` with the service already read (the send job reads it with
    /// its delivery): `found` is what the store found for `service_id`.
    pub fn client_of(
        &self,
        service_id: &str,
        found: Option<SuomiFiServiceRow>,
    ) -> Result<(SuomiFiServiceRow, Arc<SuomiFiClient>), ServiceError> {
        let service = found.ok_or_else(|| ServiceError::UnknownService(service_id.to_string()))?;
        let client = self.client(&service)?;
        Ok((service, client))
    }

    /// The service a new notice goes through: the one chosen, if it is the organisation's,
    /// else the organisation's default.
    pub async fn for_organisation(
        &self,
        organisation_id: Uuid,
        chosen: Option<Uuid>,
    ) -> Result<(SuomiFiServiceRow, Arc<SuomiFiClient>), ServiceError> {
        let services = self.store.services(organisation_id).await?;
        if services.is_empty() {
            return Err(ServiceError::NoService);
        }
        let service = match chosen {
            Some(id) => services
                .into_iter()
                .find(|s| s.id == id)
                .ok_or_else(|| ServiceError::UnknownService(id.to_string()))?,
            None => services.into_iter().next().ok_or(ServiceError::NoService)?,
        };
        let client = self.client(&service)?;
        Ok((service, client))
    }

    /// Keeps what the client last learnt about the credentials on the service (for the admin
    /// page and `/readyz`), when it differs from what the service shows.
    pub async fn note_credentials(
        &self,
        service: &SuomiFiServiceRow,
        client: &SuomiFiClient,
    ) -> Result<(), ServiceError> {
        let refused = client.credentials_refused();
        let shown_ok = service.last_check_ok;
        let check = match (&refused, shown_ok) {
            (Some(reason), Some(true) | None) => ServiceCheck {
                at: Timestamp::now(),
                ok: false,
                message: format!("Suomi.fi refused our credentials: {reason}"),
            },
            (None, Some(false)) => ServiceCheck {
                at: Timestamp::now(),
                ok: true,
                message: "ok".into(),
            },
            _ => return Ok(()),
        };
        self.store.record_service_check(service.id, &check).await?;
        Ok(())
    }

    /// The printing contract's credentials sent with the service's paper mail.
    pub fn posti(&self, service: &SuomiFiServiceRow) -> Result<PostiConfig, ServiceError> {
        let password = match &service.posti_password_sealed {
            Some(sealed) => self.open(sealed)?,
            None => String::new(),
        };
        Ok(PostiConfig {
            username: service.posti_username.clone(),
            password: SecretString::from(password),
            email: service.posti_email.clone(),
            cost_pool: service.cost_pool.clone(),
        })
    }

    /// A token request with the stored credentials, the answer kept for the admin page and
    /// `/readyz`. A refused password with a pending one waiting: the pending one is tried,
    /// and made current if Suomi.fi takes it (a rotation that lost its answer).
    pub async fn test_connection(
        &self,
        service: &SuomiFiServiceRow,
    ) -> Result<ServiceCheck, ServiceError> {
        // As it is now: a rotation may have begun since the caller read it.
        let service = &self
            .store
            .service(service.organisation_id, service.id)
            .await?
            .ok_or_else(|| ServiceError::UnknownService(service.service_id.clone()))?;
        let password = self.open(&service.password_sealed)?;
        let client = SuomiFiClient::new(self.settings(service, &password))?;
        let mut outcome = client.check_credentials().await;
        // The current password still works: a pending change never reached Suomi.fi (it would
        // have replaced the current one), so it is void.
        if let (Ok(()), Some(pending)) = (&outcome, &service.pending_password_sealed) {
            self.store
                .abandon_password_change(service.id, pending)
                .await?;
        }
        if let (Err(SuomiFiError::Authentication { .. }), Some(pending)) =
            (&outcome, &service.pending_password_sealed)
        {
            let pending_password = self.open(pending)?;
            let pending_client = SuomiFiClient::new(self.settings(service, &pending_password))?;
            if pending_client.check_credentials().await.is_ok() {
                self.store
                    .complete_password_change(service.id, pending, Timestamp::now())
                    .await?;
                tracing::warn!(service = %service.service_id, "a password change that lost its answer was completed");
                outcome = Ok(());
            }
        }
        let check = ServiceCheck {
            at: Timestamp::now(),
            ok: outcome.is_ok(),
            message: match &outcome {
                Ok(()) => "ok".to_string(),
                Err(error) => error.to_string(),
            },
        };
        self.store.record_service_check(service.id, &check).await?;
        Ok(check)
    }

    /// Changes the service's REST password to a new generated one through Suomi.fi's
    /// change-password call.
    pub async fn rotate_password(&self, service: &SuomiFiServiceRow) -> Result<(), ServiceError> {
        if service.pending_password_sealed.is_some() {
            // Settle the earlier change first: its password may be the one in force.
            self.test_connection(service).await?;
            let Some(fresh) = self
                .store
                .service(service.organisation_id, service.id)
                .await?
            else {
                return Err(ServiceError::UnknownService(service.service_id.clone()));
            };
            if fresh.pending_password_sealed.is_some() {
                return Err(ServiceError::ChangeUnderWay);
            }
            return Box::pin(self.rotate_password(&fresh)).await;
        }
        let new_password = generate_password();
        let sealed = self
            .keys
            .seal(Column::Credential, new_password.expose_secret());
        let current = self.open(&service.password_sealed)?;
        let client = SuomiFiClient::new(self.settings(service, &current))?;
        // A token first: a failure here sends no change, so nothing is left pending.
        if let Err(error) = client.check_credentials().await {
            self.record_failure(service, &error).await?;
            return Err(error.into());
        }
        if !self
            .store
            .begin_password_change(service.id, &service.password_sealed, &sealed)
            .await?
        {
            // Another rotation began, or finished, since the caller read the service.
            return Err(ServiceError::ChangeUnderWay);
        }
        match client.change_password(new_password.expose_secret()).await {
            Ok(()) => {
                let at = Timestamp::now();
                self.store
                    .complete_password_change(service.id, &sealed, at)
                    .await?;
                self.store
                    .record_service_check(
                        service.id,
                        &ServiceCheck {
                            at,
                            ok: true,
                            message: "password changed".into(),
                        },
                    )
                    .await?;
                Ok(())
            }
            Err(error) => {
                // Refused: the old password is still the one. No answer: either may be; the
                // pending one stays until a check settles it.
                if matches!(
                    error,
                    SuomiFiError::Rejected { .. } | SuomiFiError::Authentication { .. }
                ) {
                    self.store
                        .abandon_password_change(service.id, &sealed)
                        .await?;
                }
                self.record_failure(service, &error).await?;
                Err(error.into())
            }
        }
    }

    async fn record_failure(
        &self,
        service: &SuomiFiServiceRow,
        error: &SuomiFiError,
    ) -> Result<(), ServiceError> {
        let check = ServiceCheck {
            at: Timestamp::now(),
            ok: false,
            message: error.to_string(),
        };
        self.store.record_service_check(service.id, &check).await?;
        Ok(())
    }

    /// Rotates every service whose password is older than the automatic rotation's age.
    pub async fn rotate_due(&self) -> Result<usize, ServiceError> {
        let now = Timestamp::now();
        let mut rotated = 0;
        for service in self.store.all_services().await? {
            if password_age_days(&service, now) < AUTOMATIC_ROTATION_DAYS
                && service.pending_password_sealed.is_none()
            {
                continue;
            }
            let outcome = self.rotate_password(&service).await;
            let entry =
                crate::audit::AuditEntry::new(crate::audit::AuditAction::SuomiFiPasswordRotated)
                    .organisation(service.organisation_id)
                    .actor_label("Tiedoksi")
                    .subject("suomifi_service", service.id)
                    .details(serde_json::json!({ "ok": outcome.is_ok(), "automatic": true }));
            if let Err(error) = crate::audit::Audit::new(self.store.clone())
                .record(entry)
                .await
            {
                tracing::error!(%error, "could not audit an automatic password rotation");
            }
            match outcome {
                Ok(()) => {
                    rotated += 1;
                    tracing::info!(service = %service.service_id, "rotated the Suomi.fi password");
                }
                Err(error) => {
                    tracing::error!(service = %service.service_id, %error, "automatic password rotation failed")
                }
            }
        }
        Ok(rotated)
    }

    /// Runs `rotate_due` now and then until stopped.
    pub async fn run_rotation(
        self: Arc<Self>,
        interval: Duration,
        stop: tokio::sync::watch::Receiver<bool>,
        leader: crate::delivery::Leader,
    ) {
        // One instance rotates: two changing one password at once could leave the stored
        // password other than Suomi.fi's.
        crate::delivery::every_as_leader(
            &leader,
            "password_rotation",
            interval,
            stop,
            "rotating Suomi.fi passwords",
            || async { self.rotate_due().await.map(|_| ()) },
        )
        .await
    }
}

/// A deployment's first start (or its first start with services in the database): the
/// service configured in the environment becomes the default service of the organisation that
/// has sent through it, else of the first organisation. The variables are the initial values
/// only; afterwards the database is what counts.
pub async fn seed_configured_service(
    store: &dyn Store,
    keys: &DataKeys,
    config: &crate::config::Config,
) -> Result<Option<SuomiFiServiceRow>, ServiceError> {
    if !store.all_services().await?.is_empty() {
        return Ok(None);
    }
    let suomifi = &config.suomifi;
    // The one organisation that sent through it, or the only organisation there is. Several
    // that sent (a shared service centre's old single service): the operator decides, since
    // whoever gets it may change the credentials the others' deliveries depend on.
    let owner = match store.organisation_for_service(&suomifi.service_id).await? {
        Some(id) => Some(id),
        None => match store.organisations().await?.as_slice() {
            [only] => Some(only.id),
            _ => None,
        },
    };
    let Some(organisation_id) = owner else {
        tracing::error!(
            service = %suomifi.service_id,
            "the configured Suomi.fi service was not saved: it is not clear whose it is; \
             an admin of the organisation adds it on /admin/services"
        );
        return Ok(None);
    };
    let now = Timestamp::now();
    let posti = &config.posti;
    let service = SuomiFiServiceRow {
        id: Uuid::now_v7(),
        organisation_id,
        name: "Suomi.fi-viestit".into(),
        service_id: suomifi.service_id.clone(),
        username: suomifi.username.clone(),
        password_sealed: keys.seal(Column::Credential, suomifi.password.expose_secret()),
        pending_password_sealed: None,
        password_changed_at: now,
        posti_username: posti.username.clone(),
        posti_password_sealed: Some(keys.seal(Column::Credential, posti.password.expose_secret())),
        posti_email: posti.email.clone(),
        cost_pool: posti.cost_pool.clone(),
        is_default: true,
        last_check_at: None,
        last_check_ok: None,
        last_check_message: None,
        created_at: now,
        updated_at: now,
    };
    store.create_service(&service).await?;
    tracing::info!(service = %service.service_id, "the configured Suomi.fi service was saved as the organisation's default");
    Ok(Some(service))
}

/// Whole days since the password was last changed.
pub fn password_age_days(service: &SuomiFiServiceRow, now: Timestamp) -> i64 {
    (now.as_offset_date_time() - service.password_changed_at.as_offset_date_time()).whole_days()
}

/// DVV's rule for a new password: at least 32 characters, lower and upper case letters,
/// digits and symbols, no backslash. Made of 40, one of each kind for certain.
pub fn generate_password() -> SecretString {
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"!#%&()*+,-.:;<=>?@[]^_{|}~";
    let mut rng = rand::rngs::OsRng;
    let all: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS].concat();
    let mut chars: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS]
        .iter()
        .map(|set| set[rng.gen_range(0..set.len())])
        .collect();
    while chars.len() < 40 {
        chars.push(all[rng.gen_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    SecretString::from(String::from_utf8(chars).expect("ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_follow_dvvs_rule() {
        for _ in 0..200 {
            let password = generate_password();
            let password = password.expose_secret();
            assert_eq!(password.chars().count(), 40);
            assert!(password.chars().any(|c| c.is_ascii_lowercase()));
            assert!(password.chars().any(|c| c.is_ascii_uppercase()));
            assert!(password.chars().any(|c| c.is_ascii_digit()));
            assert!(password.chars().any(|c| !c.is_alphanumeric()));
            assert!(!password.contains('\\'));
        }
    }
}
