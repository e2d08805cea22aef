//! Organisation administration: users (and later credentials, templates, audit log).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Role;
use crate::error::{AppError, ErrorText};
use crate::i18n::*;
use crate::layout::Forbidden;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    /// RFC 3339, UTC.
    pub last_login_at: Option<String>,
}

/// The users of the signed-in admin's own organisation.
#[server(prefix = "/api", endpoint = "organisation_users")]
pub async fn organisation_users() -> Result<Vec<UserSummary>, AppError> {
    crate::error::with_status(
        async {
            let admin = crate::auth::ssr::require_role(&[Role::Admin])?;
            let backend = use_context::<std::sync::Arc<dyn ssr::AdminBackend>>()
                .ok_or_else(|| AppError::internal("AdminBackend missing from context"))?;
            backend.organisation_users(admin.organisation_id).await
        }
        .await,
    )
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let i18n = use_i18n();
    let users = Resource::new_blocking(|| (), |_| organisation_users());
    view! {
        <leptos_meta::Title text={format!("{} – {}", t_string!(i18n, admin.title), t_string!(i18n, app_name))} />
        <Suspense>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(users) => view! { <UserTable users /> }.into_any(),
                    Err(AppError::Forbidden) => view! { <Forbidden /> }.into_any(),
                    Err(error) => view! { <p class="error-text" role="alert"><ErrorText error /></p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn UserTable(users: Vec<UserSummary>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h1>{t!(i18n, admin.title)}</h1>
        <h2 id="users-heading">{t!(i18n, admin.users)}</h2>
        <table class="table" aria-labelledby="users-heading">
            <thead>
                <tr>
                    <th scope="col">{t!(i18n, admin.name)}</th>
                    <th scope="col">{t!(i18n, admin.email)}</th>
                    <th scope="col">{t!(i18n, admin.role)}</th>
                    <th scope="col">{t!(i18n, admin.last_login)}</th>
                </tr>
            </thead>
            <tbody>
                {users.into_iter().map(|user| view! {
                    <tr>
                        <td>{user.display_name}</td>
                        <td>{user.email}</td>
                        <td><RoleName role=user.role /></td>
                        <td>{match user.last_login_at {
                            Some(at) => view! { <time datetime=at.clone()>{at.replace('T', " ").chars().take(16).collect::<String>()}" UTC"</time> }.into_any(),
                            None => t!(i18n, admin.never).into_any(),
                        }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn RoleName(role: Role) -> impl IntoView {
    let i18n = use_i18n();
    move || match role {
        Role::Admin => t_string!(i18n, admin.roles.admin),
        Role::Caseworker => t_string!(i18n, admin.roles.caseworker),
        Role::Auditor => t_string!(i18n, admin.roles.auditor),
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use async_trait::async_trait;
    use uuid::Uuid;

    use super::UserSummary;
    use crate::error::AppError;

    #[async_trait]
    pub trait AdminBackend: Send + Sync {
        async fn organisation_users(
            &self,
            organisation_id: Uuid,
        ) -> Result<Vec<UserSummary>, AppError>;
    }
}
