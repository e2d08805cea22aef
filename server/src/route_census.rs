//! Every method and path the router answers, read from the router itself, so a route added
//! anywhere (a page, a server function, a form, the API) is listed without anyone listing it.
//! The authorisation matrix test walks this list.
//!
//! axum has no listing API, but its `Debug` names every path (`RouteId(3): "/notices/{id}"`)
//! and every route's method router (`get: Route, head: None, …`). Reading it is tied to axum
//! 0.8's format; the unit test below and the matrix test (which expects every page, server
//! function and API route it knows of) fail loudly if that changes.

use std::collections::BTreeMap;

/// One method on one path pattern (`GET /notices/{id}`); `ANY` for a service on every method.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteEntry {
    pub method: String,
    pub path: String,
}

const METHOD_FIELDS: [&str; 9] = [
    "get", "head", "delete", "options", "patch", "post", "put", "trace", "connect",
];

/// The methods a `MethodRouter { get: Route, head: None, … }` serves.
fn served_methods(body: &str) -> Vec<String> {
    body.split(", ")
        .filter_map(|field| field.split_once(": "))
        .filter(|(method, endpoint)| {
            METHOD_FIELDS.contains(method) && !endpoint.trim_start().starts_with("None")
        })
        .map(|(method, _)| method.to_uppercase())
        .collect()
}

pub fn route_census<S>(router: &axum::Router<S>) -> Vec<RouteEntry> {
    let text = format!("{router:?}");
    // The routes are the path router's; the fallback router (numbered from zero too) holds
    // only axum's own catch-alls.
    let routed = text
        .split_once("path_router: PathRouter {")
        .map(|(_, rest)| rest.split(", fallback_router:").next().unwrap_or(rest))
        .unwrap_or_default();
    let mut routes = routes_of_path_router(routed);
    routes.sort();
    routes.dedup();
    routes
}

fn routes_of_path_router(text: &str) -> Vec<RouteEntry> {
    let mut paths: BTreeMap<&str, &str> = BTreeMap::new();
    let mut methods: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut rest = text;
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at + "RouteId(".len()..];
        let Some(close) = rest.find(')') else { break };
        let id = &rest[..close];
        let Some(entry) = rest[close + 1..].strip_prefix(": ") else {
            continue;
        };
        if let Some(quoted) = entry.strip_prefix('"') {
            if let Some(end) = quoted.find('"') {
                paths.insert(id, &quoted[..end]);
            }
        } else if let Some(body) = entry.strip_prefix("MethodRouter(MethodRouter { ") {
            let end = body.find(", fallback:").unwrap_or(body.len());
            methods.insert(id, served_methods(&body[..end]));
        } else if entry.starts_with("Route(") {
            methods.insert(id, vec!["ANY".into()]);
        }
    }
    paths
        .into_iter()
        // axum's own catch-alls for fallbacks and nesting.
        .filter(|(_, path)| !path.contains("__private__axum"))
        .flat_map(|(id, path)| {
            methods
                .get(id)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |method| RouteEntry {
                    method,
                    path: path.to_string(),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use axum::routing::{get, post};

    use super::*;

    #[test]
    fn every_route_with_its_methods_even_layered_and_merged() {
        let forms = axum::Router::new()
            .route("/notices/{id}/actions", post(|| async { "" }))
            .layer(axum::extract::DefaultBodyLimit::max(10));
        let router: axum::Router = axum::Router::new()
            .route("/notices/{id}", get(|| async { "" }).post(|| async { "" }))
            .route_service(
                "/pkg/{*file}",
                tower::service_fn(|_| async {
                    Ok::<_, std::convert::Infallible>(axum::response::Response::new(
                        axum::body::Body::empty(),
                    ))
                }),
            )
            .merge(forms)
            .layer(axum::middleware::from_fn(
                |request: axum::extract::Request, next: axum::middleware::Next| async move {
                    next.run(request).await
                },
            ));
        let entry = |method: &str, path: &str| RouteEntry {
            method: method.into(),
            path: path.into(),
        };
        assert_eq!(
            route_census(&router),
            vec![
                entry("ANY", "/pkg/{*file}"),
                entry("GET", "/notices/{id}"),
                entry("POST", "/notices/{id}"),
                entry("POST", "/notices/{id}/actions"),
            ]
        );
    }
}
