//! Signing in and out, the signed-in user, and role checks for server functions.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, ErrorText};
use crate::i18n::*;

mod welcome;
pub use welcome::{welcome_link, WelcomePage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Caseworker,
    Auditor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Caseworker => "caseworker",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "admin" => Some(Role::Admin),
            "caseworker" => Some(Role::Caseworker),
            "auditor" => Some(Role::Auditor),
            _ => None,
        }
    }
}

/// The signed-in user as every page and server function sees them: always one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub organisation_name: String,
    pub display_name: String,
    pub email: String,
    pub role: Role,
}

/// Who is acting, whatever the entry point (a page, later the integration API or the SMTP
/// bridge): services take this, never the UI's session or Leptos context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub organisation_id: Uuid,
    pub organisation_name: String,
    pub principal: Principal,
    /// As the server decided it (the peer, or a trusted proxy's forwarded address).
    pub client_ip: String,
}

/// The one on whose behalf an actor acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User {
        id: Uuid,
        email: String,
        role: Role,
    },
    /// A mail the SMTP bridge accepted: the organisation's bridge account authors the notice
    /// (a user row that cannot sign in); `sender` is the mail's envelope sender.
    Mail {
        account_id: Uuid,
        sender: String,
    },
    /// A case-management system with an API key: the key's account authors its notices;
    /// `label` (`API: <key's name>`) is what the audit log says.
    ApiKey {
        key_id: Uuid,
        account_id: Uuid,
        label: String,
    },
}

impl Actor {
    pub fn user(user: SessionUser, client_ip: impl Into<String>) -> Self {
        Self {
            organisation_id: user.organisation_id,
            organisation_name: user.organisation_name,
            principal: Principal::User {
                id: user.id,
                email: user.email,
                role: user.role,
            },
            client_ip: client_ip.into(),
        }
    }

    /// A mail composes like a caseworker, and nothing else.
    pub fn role(&self) -> Role {
        match &self.principal {
            Principal::User { role, .. } => *role,
            Principal::Mail { .. } | Principal::ApiKey { .. } => Role::Caseworker,
        }
    }

    /// The user behind the actor (for a mail, the bridge account), when there is one.
    pub fn user_id(&self) -> Option<Uuid> {
        match &self.principal {
            Principal::User { id, .. } => Some(*id),
            Principal::Mail { account_id, .. } | Principal::ApiKey { account_id, .. } => {
                Some(*account_id)
            }
        }
    }

    /// How the audit log names the actor.
    pub fn label(&self) -> &str {
        match &self.principal {
            Principal::User { email, .. } => email,
            Principal::Mail { sender, .. } => sender,
            Principal::ApiKey { label, .. } => label,
        }
    }

    /// A person at a screen: whose mailbox checks are limited, since a person could probe
    /// identity codes one by one. A mail is a notice being sent, not a probe.
    pub fn is_person(&self) -> bool {
        matches!(self.principal, Principal::User { .. })
    }

    pub fn is_admin(&self) -> bool {
        self.role() == Role::Admin
    }

    /// Caseworkers and admins compose and act on notices; auditors only read.
    pub fn may_compose(&self) -> bool {
        matches!(self.role(), Role::Caseworker | Role::Admin)
    }
}

#[server(prefix = "/api", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    Ok(ssr::session_user())
}

/// Signs in with e-mail and password; `next` is where to go afterwards (a local path only).
#[server(prefix = "/api", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    crate::error::with_status(ssr::login(email, password, next).await)
}

#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    crate::error::with_status(ssr::logout().await)
}

/// Only local paths: an open redirect would make our login page a phishing tool.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and newlines from URLs (so `/<tab>/evil` becomes `//evil`) and read
        // a backslash as a slash: refuse both anywhere, percent-encoded too.
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control)
                && !path.to_ascii_lowercase().contains("%5c")
                && !path.contains("%0") =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/admin?tab=users")), "/admin?tab=users");
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/%09/evil.example",
            "/%5C%5Cevil.example",
            "https://evil.example",
            "/ok\r\nSet-Cookie: x=y",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

/// The name of the organisation's sign-in provider, when single sign-on is configured.
#[server(prefix = "/api", endpoint = "single_sign_on")]
pub async fn single_sign_on() -> Result<Option<String>, AppError> {
    Ok(use_context::<ssr::SingleSignOnName>().and_then(|name| name.0))
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    let provider = Resource::new_blocking(|| (), |_| single_sign_on());
    let start = format!(
        "/auth/oidc/start?next={}",
        crate::layout::encode_query_value(&safe_next(
            Some(next.as_str()).filter(|n| !n.is_empty())
        ))
    );
    view! {
        <leptos_meta::Title text={format!("{} – {}", t_string!(i18n, login.title), t_string!(i18n, app_name))} />
        <div class="narrow">
            <h1>{t!(i18n, login.title)}</h1>
            <Suspense>
                {move || {
                    let start = start.clone();
                    Suspend::new(async move {
                        provider.await.ok().flatten().map(|name| view! {
                            <p>
                                <a class="button button--primary" href=start data-testid="sso-start">
                                    {move || t_string!(i18n, login.single_sign_on, provider = name.clone()).to_string()}
                                </a>
                            </p>
                            <p class="muted">{t!(i18n, login.or_password)}</p>
                        })
                    })
                }}
            </Suspense>
            <LoginForm next />
        </div>
    }
}

/// The sign-in form. An island, so a refused attempt answers in place and keeps the e-mail
/// address typed; without wasm it posts and comes back with the error.
#[island]
fn LoginForm(next: String) -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<Login>::new();
    let error = move || action.value().get().and_then(Result::err);
    view! {
        {move || error().map(|error| view! {
            <div class="error-summary" role="alert" tabindex="-1" aria-labelledby="login-error-title">
                <h2 id="login-error-title" class="error-summary__title">{t!(i18n, login.error_summary_title)}</h2>
                <p id="login-error"><ErrorText error /></p>
            </div>
        })}
        <p>{t!(i18n, login.intro)}</p>
        <ActionForm action attr:class="form" attr:novalidate="">
            <input type="hidden" name="next" value=next />
            <div class="field">
                <label for="email">{t!(i18n, login.email)}</label>
                <input id="email" name="email" type="email" autocomplete="username"
                    required aria-describedby=move || error().map(|_| "login-error") />
            </div>
            <div class="field">
                <label for="password">{t!(i18n, login.password)}</label>
                <input id="password" name="password" type="password"
                    autocomplete="current-password" required />
            </div>
            <button type="submit" class="button button--primary">{t!(i18n, login.submit)}</button>
        </ActionForm>
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! What server functions need from the server: the backend trait, the request's user and
    //! client address, and the role guard.

    use std::sync::Arc;

    use async_trait::async_trait;
    use axum::http::request::Parts;
    use leptos::prelude::*;
    use tower_sessions::Session;

    use super::{safe_next, Role, SessionUser};
    use crate::error::{AppError, LoginRefusal};

    /// Where the session keeps the signed-in user's id.
    pub const SESSION_USER_ID: &str = "user_id";
    /// When the user signed in (Unix seconds): a session ends a fixed time after it however
    /// active it is.
    pub const SESSION_SIGNED_IN_AT: &str = "signed_in_at";

    /// The provider's name on the sign-in page; `None` without single sign-on.
    #[derive(Debug, Clone)]
    pub struct SingleSignOnName(pub Option<String>);

    /// The client's address as the server decided it (direct peer, or the trusted proxy's
    /// forwarded address); put into request extensions by the server.
    #[derive(Debug, Clone)]
    pub struct ClientIp(pub String);

    #[async_trait]
    pub trait AuthBackend: Send + Sync {
        /// Checks the password, applies throttling and lockout, and audits the attempt.
        async fn authenticate(
            &self,
            email: &str,
            password: &str,
            client_ip: &str,
        ) -> Result<SessionUser, AppError>;
        async fn signed_out(&self, user: &SessionUser, client_ip: &str);
        /// The address of a live one-time password link's user.
        async fn welcome_email(&self, token: &str) -> Result<Option<String>, AppError>;
    }

    fn parts() -> Option<Parts> {
        use_context::<Parts>()
    }

    /// The user the server's session middleware loaded for this request.
    pub fn session_user() -> Option<SessionUser> {
        parts().and_then(|parts| parts.extensions.get::<SessionUser>().cloned())
    }

    pub fn client_ip() -> String {
        parts()
            .and_then(|parts| parts.extensions.get::<ClientIp>().map(|ip| ip.0.clone()))
            .unwrap_or_else(|| "unknown".to_string())
    }

    /// The signed-in user, if their role is one of `roles`.
    pub fn require_role(roles: &[Role]) -> Result<SessionUser, AppError> {
        let user = session_user().ok_or(AppError::Unauthenticated)?;
        if roles.contains(&user.role) {
            Ok(user)
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The signed-in user as an actor, if they may compose and act on notices (the same rule
    /// as `Actor::may_compose`).
    pub fn require_composer() -> Result<super::Actor, AppError> {
        let actor = actor()?;
        if actor.may_compose() {
            Ok(actor)
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The signed-in user as an actor, whatever their role.
    pub fn actor() -> Result<super::Actor, AppError> {
        let user = session_user().ok_or(AppError::Unauthenticated)?;
        Ok(super::Actor::user(user, client_ip()))
    }

    /// Axum handlers take the actor as an extractor: without a session the answer is a 401
    /// with the same error body server functions give, never a 500 naming a missing type.
    impl<S: Send + Sync> axum::extract::FromRequestParts<S> for super::Actor {
        type Rejection = axum::response::Response;

        async fn from_request_parts(
            parts: &mut Parts,
            _state: &S,
        ) -> Result<Self, Self::Rejection> {
            use axum::response::IntoResponse;
            let Some(user) = parts.extensions.get::<SessionUser>().cloned() else {
                let error = AppError::Unauthenticated;
                return Err((error.status(), axum::Json(error)).into_response());
            };
            let client_ip = parts
                .extensions
                .get::<ClientIp>()
                .map(|ip| ip.0.clone())
                .unwrap_or_else(|| "unknown".to_string());
            Ok(super::Actor::user(user, client_ip))
        }
    }

    fn backend() -> Result<Arc<dyn AuthBackend>, AppError> {
        use_context::<Arc<dyn AuthBackend>>()
            .ok_or_else(|| AppError::internal("AuthBackend missing from context"))
    }

    async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>()
            .await
            .map_err(AppError::internal)
    }

    pub async fn login(
        email: String,
        password: String,
        next: Option<String>,
    ) -> Result<(), AppError> {
        if email.trim().is_empty() || password.is_empty() {
            return Err(AppError::LoginRefused(LoginRefusal::MissingFields));
        }
        let user = backend()?
            .authenticate(&email, &password, &client_ip())
            .await?;
        let session = session().await?;
        // A new id at sign-in: an id planted before login (session fixation) is worth nothing.
        session.cycle_id().await.map_err(AppError::internal)?;
        session
            .insert(SESSION_USER_ID, user.id)
            .await
            .map_err(AppError::internal)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or_default();
        session
            .insert(SESSION_SIGNED_IN_AT, now)
            .await
            .map_err(AppError::internal)?;
        leptos_axum::redirect(&safe_next(next.as_deref()));
        Ok(())
    }

    pub async fn logout() -> Result<(), AppError> {
        let session = session().await?;
        if let Some(user) = session_user() {
            backend()?.signed_out(&user, &client_ip()).await;
        }
        session.flush().await.map_err(AppError::internal)?;
        leptos_axum::redirect("/login");
        Ok(())
    }
}
