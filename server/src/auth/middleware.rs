//! Request-level access: who the client is, who is signed in, and which pages need a session.

use std::net::SocketAddr;
use std::sync::Arc;

use app::auth::ssr::{ClientIp, SESSION_SIGNED_IN_AT, SESSION_USER_ID};
use app::auth::SessionUser;
use app::layout::encode_query_value;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;
use uuid::Uuid;

use crate::store::Store;

/// Paths anyone may fetch: the sign-in page and what it needs (its server functions), static
/// assets, health probes. Every other server function needs a session before its input is
/// even read.
const PUBLIC_PREFIXES: &[&str] = &[
    "/login",
    "/welcome/",
    "/api/welcome_link",
    "/accessibility",
    "/api/login",
    "/api/logout",
    "/api/current_user",
    "/api/single_sign_on",
    "/auth/oidc/",
    // Keys, not sessions: each handler checks `Authorization: Bearer`.
    "/api/v1/",
    "/pkg/",
    "/fonts/",
    "/favicon",
    "/healthz",
    "/readyz",
    "/language/",
];

fn is_public(path: &str) -> bool {
    PUBLIC_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

#[derive(Clone)]
pub struct ClientIpPolicy {
    pub trust_forwarded_for: bool,
}

/// Decides the client address once, for throttling and the audit log.
pub async fn identify_client(
    State(policy): State<ClientIpPolicy>,
    mut request: Request,
    next: Next,
) -> Response {
    let forwarded = policy
        .trust_forwarded_for
        .then(|| {
            request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                // The rightmost entry is the one our own proxy added; the ones before it are
                // whatever the client claimed.
                .and_then(|v| v.rsplit(',').next())
                .map(|ip| ip.trim().to_string())
        })
        .flatten();
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    let ip = forwarded.or(peer).unwrap_or_else(|| "unknown".to_string());
    request.extensions_mut().insert(ClientIp(ip));
    next.run(request).await
}

/// What loading a session's user needs: the store, and how long a session may last at most.
#[derive(Clone)]
pub struct SessionPolicy {
    pub store: Arc<dyn Store>,
    pub absolute_lifetime: std::time::Duration,
}

/// Whether a session that began at `signed_in_at` (Unix seconds) has outlived `lifetime`;
/// one without a start time (made before it was kept) has too.
fn outlived(signed_in_at: Option<u64>, lifetime: std::time::Duration) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    signed_in_at.is_none_or(|start| now.saturating_sub(start) >= lifetime.as_secs())
}

/// Loads the signed-in user for this request from the session; a session whose user is gone
/// or disabled, or that has lasted its absolute lifetime, is ended.
pub async fn load_session_user(
    State(policy): State<SessionPolicy>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let store = &policy.store;
    match session.get::<Uuid>(SESSION_USER_ID).await {
        Ok(Some(_))
            if outlived(
                session
                    .get::<u64>(SESSION_SIGNED_IN_AT)
                    .await
                    .ok()
                    .flatten(),
                policy.absolute_lifetime,
            ) =>
        {
            let _ = session.flush().await;
        }
        Ok(Some(user_id)) => match session_user(store, user_id).await {
            Ok(Some(user)) => {
                request.extensions_mut().insert(user);
            }
            Ok(None) => {
                let _ = session.flush().await;
            }
            Err(error) => {
                tracing::error!(%error, "loading the session's user failed");
                return app_unavailable();
            }
        },
        Ok(None) => {}
        // The database is out of reach: the session may be fine, so keep it (flushing would
        // sign the user out) and say the service is unavailable for a moment.
        Err(tower_sessions::session::Error::Store(
            tower_sessions::session_store::Error::Backend(error),
        )) => {
            tracing::warn!(%error, "the session store is out of reach");
            return unavailable_for(&request);
        }
        Err(error) => {
            tracing::warn!(%error, "unreadable session; starting over");
            let _ = session.flush().await;
        }
    }
    next.run(request).await
}

/// A server function's caller gets the error its page words in the user's language; anything
/// else the plain answer.
fn unavailable_for(request: &Request) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") && !path.starts_with("/api/v1/") {
        let error = app::error::AppError::Unavailable {
            retry_after_seconds: 5,
        };
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&error).unwrap_or_default(),
        )
            .into_response();
    }
    app_unavailable()
}

async fn session_user(
    store: &Arc<dyn Store>,
    user_id: Uuid,
) -> Result<Option<SessionUser>, crate::store::StoreError> {
    let Some(user) = store.user_by_id(user_id).await? else {
        return Ok(None);
    };
    if !user.active {
        return Ok(None);
    }
    let Some(organisation) = store.organisation(user.organisation_id).await? else {
        return Ok(None);
    };
    Ok(Some(user.into_session_user(organisation)))
}

pub(crate) fn app_unavailable() -> Response {
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "Tiedoksi is temporarily unavailable. Please try again shortly.",
    )
        .into_response()
}

/// Every page but the public ones needs a session: without one, go to sign-in and come back.
/// A signed-in user asking for the sign-in page goes to the front page instead.
pub async fn require_sign_in(request: Request, next: Next) -> Response {
    let signed_in = request.extensions().get::<SessionUser>().is_some();
    let path = request.uri().path();
    let is_page_read = matches!(*request.method(), Method::GET | Method::HEAD);
    if is_page_read && signed_in && path == "/login" {
        return Redirect::to("/").into_response();
    }
    if signed_in || is_public(path) {
        return next.run(request).await;
    }
    if is_page_read {
        let next_path = request
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/");
        let target = if next_path == "/" {
            "/login".to_string()
        } else {
            format!("/login?next={}", encode_query_value(next_path))
        };
        return Redirect::to(&target).into_response();
    }
    let error = app::error::AppError::Unauthenticated;
    (error.status(), axum::Json(error)).into_response()
}

/// A server function's input it could not read (a missing field, a wrong type) is answered
/// 500 by Leptos; it is the caller's mistake, so it is a 400 — with the same error body. A
/// real internal error stays 500 (its body names only a reference).
pub async fn input_errors_are_bad_requests(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !is_api || response.status() != axum::http::StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR).into_response();
    };
    if matches!(
        serde_json::from_slice::<app::error::AppError>(&bytes),
        Ok(app::error::AppError::Transport(_))
    ) {
        parts.status = axum::http::StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// What the security headers depend on.
#[derive(Clone, Copy)]
pub struct HeaderPolicy {
    /// Served over https (the public URL is `https://`): tell browsers to stay on it.
    pub https: bool,
}

/// Paths whose responses may be cached: the front end's files, which change only with a build.
const STATIC_PREFIXES: &[&str] = &["/pkg/", "/fonts/", "/favicon"];

/// Headers every response carries: no framing, no MIME sniffing, referrers only to ourselves
/// (leptos needs the same-origin Referer to send a form's errors back without wasm), a
/// Content-Security-Policy whose only inline scripts are Leptos' own, marked with this
/// request's nonce, and no caching of anything but static files. The nonce is put into the
/// request for the page renderer (`startup::provide_request_nonce`).
pub async fn security_headers(
    State(policy): State<HeaderPolicy>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = leptos::nonce::Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    let cacheable = STATIC_PREFIXES
        .iter()
        .any(|prefix| request.uri().path().starts_with(prefix));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A handler's own (the letter preview, framed by our check page) stays.
    if !headers.contains_key(header::X_FRAME_OPTIONS) {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // A handler's own policy (documents: `sandbox`) stays.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(value) = HeaderValue::from_str(&content_security_policy(&nonce.to_string())) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    if !cacheable && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if policy.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// Everything from our own origin; inline scripts only with the nonce; WebAssembly may be
/// compiled (the front end is wasm); no plugins, no framing, forms only to ourselves.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_private_but_sign_in_and_assets_are_public() {
        assert!(!is_public("/"));
        assert!(is_public("/auth/oidc/callback"));
        assert!(!is_public("/admin"));
        assert!(!is_public("/compose"));
        assert!(is_public("/login"));
        assert!(is_public("/api/login"));
        assert!(!is_public("/api/send_notice"));
        assert!(!is_public("/api/uploads"));
        assert!(is_public("/pkg/tiedoksi.js"));
        assert!(is_public("/readyz"));
    }

    #[test]
    fn the_policy_allows_no_inline_script_without_the_nonce() {
        let policy = content_security_policy("abc123");
        assert!(policy.starts_with("default-src 'self'"));
        assert!(policy.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval'"));
        assert!(!policy.contains("unsafe-inline"));
    }

    #[test]
    fn sessions_end_after_their_absolute_lifetime() {
        let hour = std::time::Duration::from_secs(3600);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(!outlived(Some(now - 60), hour));
        assert!(outlived(Some(now - 3600), hour));
        assert!(outlived(None, hour), "a session without a start time");
    }

    #[test]
    fn next_path_is_encoded_as_one_query_value() {
        assert_eq!(
            encode_query_value("/admin?tab=users&x=1"),
            "/admin%3Ftab%3Dusers%26x%3D1"
        );
    }
}
