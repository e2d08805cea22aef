//! Cross-site request forgery: a state-changing request from another site is refused with 403
//! before any handler runs. The session cookie is also `SameSite=Strict`; this check does not
//! rely on it.
//!
//! Browsers send `Origin` on every cross-origin POST (and on same-origin ones too); where it is
//! missing, `Sec-Fetch-Site` says the same thing. A request with neither comes from a
//! non-browser client, which cannot carry a victim's cookie, so it passes.

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

#[derive(Clone, Debug, Default)]
pub struct AllowedOrigins {
    /// The configured public URL's origin (`https://host[:port]`), if any.
    pub public_origin: Option<String>,
}

pub async fn refuse_cross_site_writes(
    State(allowed): State<AllowedOrigins>,
    request: Request,
    next: Next,
) -> Response {
    // The integration API takes API keys only, never the session cookie a forged
    // cross-site request could ride on.
    let keys_only = request.uri().path().starts_with("/api/v1/");
    if is_state_changing(request.method()) && !keys_only && !is_same_site(&request, &allowed) {
        tracing::warn!(
            method = %request.method(),
            path = request.uri().path(),
            origin = ?request.headers().get(header::ORIGIN),
            "refused a cross-site request"
        );
        return (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
    }
    next.run(request).await
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn is_same_site(request: &Request, allowed: &AllowedOrigins) -> bool {
    let headers = request.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        // `Origin: null` (sandboxed frames, some redirects) and anything unparsable match
        // nothing.
        let Some(origin) = origin.to_str().ok().and_then(Origin::parse) else {
            return false;
        };
        return match allowed.public_origin.as_deref().and_then(Origin::parse) {
            // Behind a proxy: exactly the public URL's scheme, host and port.
            Some(public) => origin == public,
            // Served directly (plain http on loopback): our own host, as addressed.
            None => {
                let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
                host.and_then(|host| Origin::parse(&format!("http://{host}")))
                    .is_some_and(|ours| origin == ours)
            }
        };
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => true,
    }
}

/// An origin as browsers compare them: scheme, host (case-insensitive) and port, the
/// scheme's default port filled in.
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn parse(text: &str) -> Option<Self> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.split('/').next()?;
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        // `[::1]:3000`, `host:3000`, `host`.
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse().ok()?),
            _ => (authority, default_port),
        };
        Some(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

/// `https://host:port` of a public URL, the form browsers put in `Origin`.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn post(headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().method(Method::POST).uri("/api/logout");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    fn no_public_origin() -> AllowedOrigins {
        AllowedOrigins::default()
    }

    #[test]
    fn same_host_origin_passes() {
        let request = post(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ]);
        assert!(is_same_site(&request, &no_public_origin()));
    }

    #[test]
    fn other_origin_is_refused() {
        let request = post(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "https://evil.example"),
        ]);
        assert!(!is_same_site(&request, &no_public_origin()));
        let null = post(&[("host", "127.0.0.1:3000"), ("origin", "null")]);
        assert!(!is_same_site(&null, &no_public_origin()));
    }

    #[test]
    fn scheme_and_port_must_match_too() {
        let public = AllowedOrigins {
            public_origin: origin_of("https://tiedoksi.example.fi"),
        };
        let request = |origin: &str| post(&[("host", "10.0.0.5:3000"), ("origin", origin)]);
        assert!(is_same_site(
            &request("https://tiedoksi.example.fi:443"),
            &public
        ));
        assert!(is_same_site(
            &request("https://TIEDOKSI.example.fi"),
            &public
        ));
        assert!(!is_same_site(
            &request("http://tiedoksi.example.fi"),
            &public
        ));
        assert!(!is_same_site(
            &request("https://tiedoksi.example.fi:8443"),
            &public
        ));
        assert!(!is_same_site(
            &request("https://tiedoksi.example.fi.evil.example"),
            &public
        ));

        let direct = |origin: &str| post(&[("host", "127.0.0.1:3000"), ("origin", origin)]);
        assert!(!is_same_site(
            &direct("https://127.0.0.1:3000"),
            &no_public_origin()
        ));
        assert!(!is_same_site(
            &direct("http://127.0.0.1:3001"),
            &no_public_origin()
        ));
        assert!(is_same_site(
            &direct("http://127.0.0.1:3000"),
            &no_public_origin()
        ));
    }

    #[test]
    fn configured_public_origin_passes_behind_a_proxy() {
        let allowed = AllowedOrigins {
            public_origin: origin_of("https://tiedoksi.example.fi/app"),
        };
        let request = post(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://tiedoksi.example.fi"),
        ]);
        assert!(is_same_site(&request, &allowed));
    }

    #[test]
    fn without_origin_sec_fetch_site_decides() {
        assert!(!is_same_site(
            &post(&[("sec-fetch-site", "cross-site")]),
            &no_public_origin()
        ));
        assert!(!is_same_site(
            &post(&[("sec-fetch-site", "same-site")]),
            &no_public_origin()
        ));
        assert!(is_same_site(
            &post(&[("sec-fetch-site", "same-origin")]),
            &no_public_origin()
        ));
        assert!(is_same_site(&post(&[]), &no_public_origin()));
    }

    #[test]
    fn reads_are_never_checked() {
        assert!(!is_state_changing(&Method::GET));
        assert!(is_state_changing(&Method::DELETE));
    }
}
