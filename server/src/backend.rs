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
impl AdminBackend for Backend {
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
