//! Request-level access: who the client is, who is signed in, and which pages need a session.

use std::net::SocketAddr;
use std::sync::Arc;

use app::auth::ssr::{ClientIp, SESSION_USER_ID};
use app::auth::SessionUser;
use app::layout::encode_query_value;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;
use uuid::Uuid;

use crate::store::Store;

/// Paths anyone may fetch: the sign-in page and what it needs, static assets, health probes,
/// and server functions (each of which checks the session itself).
const PUBLIC_PREFIXES: &[&str] = &[
    "/login",
    "/api/",
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

/// Loads the signed-in user for this request from the session; a session whose user is gone
/// or disabled is ended.
pub async fn load_session_user(
    State(store): State<Arc<dyn Store>>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    match session.get::<Uuid>(SESSION_USER_ID).await {
        Ok(Some(user_id)) => match session_user(&store, user_id).await {
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
        Err(error) => {
            tracing::warn!(%error, "unreadable session; starting over");
            let _ = session.flush().await;
        }
    }
    next.run(request).await
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

fn app_unavailable() -> Response {
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
    (axum::http::StatusCode::UNAUTHORIZED, "Sign-in required.").into_response()
}

/// Headers every response carries: no framing, no MIME sniffing, referrers only to ourselves
/// (leptos needs the same-origin Referer to send a form's errors back without wasm).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_private_but_sign_in_and_assets_are_public() {
        assert!(!is_public("/"));
        assert!(!is_public("/admin"));
        assert!(!is_public("/compose"));
        assert!(is_public("/login"));
        assert!(is_public("/pkg/tiedoksi.js"));
        assert!(is_public("/readyz"));
    }

    #[test]
    fn next_path_is_encoded_as_one_query_value() {
        assert_eq!(
            encode_query_value("/admin?tab=users&x=1"),
            "/admin%3Ftab%3Dusers%26x%3D1"
        );
    }
}
