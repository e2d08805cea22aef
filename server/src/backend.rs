//! The server's side of the traits the app's server functions call.

use std::sync::Arc;

use app::admin::ssr::AdminBackend;
use app::admin::UserSummary;
use app::auth::ssr::AuthBackend;
use app::auth::SessionUser;
use app::error::AppError;
use async_trait::async_trait;
use uuid::Uuid;

use crate::auth::login::Authenticator;
use crate::store::{Store, Timestamp};

#[derive(Clone)]
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub authenticator: Authenticator,
}

#[async_trait]
impl AuthBackend for Backend {
    async fn authenticate(
        &self,
        email: &str,
        password: &str,
        client_ip: &str,
    ) -> Result<SessionUser, AppError> {
        self.authenticator
            .authenticate(email, password, client_ip)
            .await
    }

    async fn signed_out(&self, user: &SessionUser, client_ip: &str) {
        self.authenticator.signed_out(user, client_ip).await
    }

    async fn welcome_email(&self, token: &str) -> Result<Option<String>, AppError> {
        crate::admin::links::email_of(&self.store, token)
            .await
            .map_err(AppError::internal)
    }
}

#[async_trait]
impl app::templates::ssr::TemplateBackend for Backend {
    async fn templates(
        &self,
        organisation_id: Uuid,
    ) -> Result<Vec<app::templates::TemplateSummary>, AppError> {
        let rows = self
            .store
            .templates(organisation_id)
            .await
            .map_err(AppError::internal)?;
        Ok(rows.into_iter().map(template_summary).collect())
    }

    async fn template(
        &self,
        organisation_id: Uuid,
        id: Uuid,
    ) -> Result<app::templates::TemplateDetail, AppError> {
        let row = self
            .store
            .template(organisation_id, id)
            .await
            .map_err(AppError::internal)?
            .ok_or(AppError::NotFound)?;
        let versions = self
            .store
            .template_versions(organisation_id, id)
            .await
            .map_err(AppError::internal)?;
        let content = versions
            .first()
            .and_then(|latest| serde_json::from_str(&latest.content).ok())
            .unwrap_or_default();
        let mut views = Vec::new();
        for version in &versions {
            let by = match version.created_by {
                Some(user) => self
                    .store
                    .user_by_id(user)
                    .await
                    .map_err(AppError::internal)?
                    .map(|user| user.display_name)
                    .unwrap_or_default(),
                None => String::new(),
            };
            views.push(app::templates::TemplateVersionView {
                version: version.version,
                at: crate::local_time::finnish_local(version.created_at),
                by,
            });
        }
        Ok(app::templates::TemplateDetail {
            summary: template_summary(row),
            content,
            versions: views,
        })
    }
}

fn template_summary(row: crate::store::TemplateRow) -> app::templates::TemplateSummary {
    use app::domain::notice::{NoticeLanguage, NoticeType};
    app::templates::TemplateSummary {
        id: row.id,
        name: row.name,
        notice_type: NoticeType::parse(&row.notice_type).unwrap_or(NoticeType::Other),
        language: NoticeLanguage::parse(&row.language).unwrap_or_default(),
        version: row.latest_version,
        updated_at: crate::local_time::finnish_local(row.updated_at),
        archived: row.archived,
    }
}

#[async_trait]
impl AdminBackend for Backend {
    async fn api_keys(
        &self,
        organisation_id: Uuid,
    ) -> Result<Vec<app::admin::ApiKeySummary>, AppError> {
        let keys = self
            .store
            .api_keys(organisation_id)
            .await
            .map_err(AppError::internal)?;
        Ok(keys
            .into_iter()
            .map(|key| app::admin::ApiKeySummary {
                id: key.id,
                name: key.name,
                prefix: key.prefix,
                created_at: crate::local_time::finnish_local(key.created_at),
                last_used_at: key.last_used_at.map(crate::local_time::finnish_local),
                revoked: key.revoked_at.is_some(),
            })
            .collect())
    }

    async fn mail_bridge(
        &self,
        organisation_id: Uuid,
    ) -> Result<app::admin::MailBridgeView, AppError> {
        let settings = self
            .store
            .mail_settings(organisation_id)
            .await
            .map_err(AppError::internal)?;
        Ok(app::admin::MailBridgeView {
            sender_domains: self
                .store
                .sender_domains(organisation_id)
                .await
                .map_err(AppError::internal)?,
            relay_networks: self
                .store
                .relay_networks(organisation_id)
                .await
                .map_err(AppError::internal)?,
            notice_type: settings.notice_type,
            language: settings.language,
            verifiable: settings.verifiable,
            draft_mode: settings.draft_mode,
            acknowledgements: settings.acknowledgements,
            replies_to: settings.replies_to,
        })
    }

    async fn suomifi_services(
        &self,
        organisation_id: Uuid,
    ) -> Result<Vec<app::admin::ServiceSummary>, AppError> {
        use crate::suomifi::services::{PASSWORD_LIFETIME_DAYS, PASSWORD_WARNING_DAYS};
        let services = self
            .store
            .services(organisation_id)
            .await
            .map_err(AppError::internal)?;
        let day = |at: crate::store::Timestamp| {
            let date = crate::local_time::finnish_date(at.as_offset_date_time());
            format!("{}.{}.{}", date.day(), u8::from(date.month()), date.year())
        };
        let now = crate::store::Timestamp::now();
        Ok(services
            .into_iter()
            .map(|service| {
                let expires =
                    service.password_changed_at + time::Duration::days(PASSWORD_LIFETIME_DAYS);
                let warn_from = expires - time::Duration::days(PASSWORD_WARNING_DAYS);
                app::admin::ServiceSummary {
                    id: service.id,
                    name: service.name,
                    service_id: service.service_id,
                    username: service.username,
                    posti_username: service.posti_username,
                    posti_email: service.posti_email,
                    cost_pool: service.cost_pool,
                    is_default: service.is_default,
                    password_changed_on: day(service.password_changed_at),
                    password_expires_on: day(expires),
                    password_warning: now >= warn_from,
                    change_pending: service.pending_password_sealed.is_some(),
                    last_check: service
                        .last_check_at
                        .map(|at| app::admin::ServiceCheckView {
                            at: crate::local_time::finnish_local(at),
                            ok: service.last_check_ok.unwrap_or(false),
                            message: service.last_check_message.unwrap_or_default(),
                        }),
                }
            })
            .collect())
    }

    async fn organisation_settings(
        &self,
        organisation_id: Uuid,
    ) -> Result<app::admin::OrganisationDetails, AppError> {
        let organisation = self
            .store
            .organisation(organisation_id)
            .await
            .map_err(AppError::internal)?
            .ok_or(AppError::NotFound)?;
        let business_id = self
            .store
            .business_id(organisation_id)
            .await
            .map_err(AppError::internal)?;
        let settings = crate::store::delivery_settings(self.store.as_ref(), organisation_id)
            .await
            .map_err(AppError::internal)?;
        Ok(app::admin::OrganisationDetails {
            name: organisation.name,
            business_id,
            default_language: settings.default_language.as_str().to_string(),
            auto_reserve: settings.auto_reserve_unacknowledged,
            has_logo: settings.logo_sha256.is_some(),
        })
    }

    async fn audit_log(
        &self,
        organisation_id: Uuid,
        filter: app::admin::AuditFilter,
    ) -> Result<app::admin::AuditEntries, AppError> {
        use crate::admin::audit;
        let users = self
            .store
            .users_in_organisation(organisation_id)
            .await
            .map_err(AppError::internal)?
            .into_iter()
            .map(|user| (user.id, format!("{} ({})", user.display_name, user.email)))
            .collect();
        let Ok(query) = audit::query(organisation_id, &filter, audit::PAGE + 1) else {
            return Ok(app::admin::AuditEntries {
                rows: Vec::new(),
                next: None,
                users,
                problem: Some("from".into()),
            });
        };
        let mut events = self
            .store
            .search_audit(&query)
            .await
            .map_err(AppError::internal)?;
        let next = (events.len() as i64 > audit::PAGE).then(|| {
            events.truncate(audit::PAGE as usize);
            events.last().map(audit::cursor)
        });
        Ok(app::admin::AuditEntries {
            rows: events.into_iter().map(audit::row).collect(),
            next: next.flatten(),
            users,
            problem: None,
        })
    }

    async fn organisation_users(
        &self,
        organisation_id: Uuid,
    ) -> Result<Vec<UserSummary>, AppError> {
        let users = self
            .store
            .users_in_organisation(organisation_id)
            .await
            .map_err(AppError::internal)?;
        Ok(users
            .into_iter()
            .map(|user| UserSummary {
                id: user.id,
                display_name: user.display_name,
                email: user.email,
                role: user.role,
                last_login_at: user.last_login_at.map(Timestamp::to_rfc3339),
                active: user.active,
                locked: user
                    .locked_until
                    .is_some_and(|until| until > Timestamp::now()),
            })
            .collect())
    }
}
