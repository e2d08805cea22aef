//! The integration API for case-management systems (`/api/v1`): API keys as the actor, the
//! same compose, upload and view services as the pages, errors as RFC 9457 problem details,
//! and an OpenAPI 3.1 document generated from the handlers (`/api/v1/openapi.json`, read as
//! a page at `/api/v1/reference`).

pub mod batches;
pub mod body;
pub mod caller;
pub mod documents;
pub mod events;
pub mod idempotency;
pub mod keys;
pub mod notices;
pub mod problem;
pub mod reference;

use std::sync::Arc;

use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::Audit;
use crate::notices::compose::ComposeService;
use crate::notices::documents::Documents;
use crate::notices::view::NoticeViews;
use crate::store::Store;

/// What every `/api/v1` handler works with.
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn Store>,
    pub audit: Audit,
    pub pace: Arc<caller::ApiRateLimit>,
    pub compose: ComposeService,
    pub documents: Documents,
    pub views: NoticeViews,
    pub batches: crate::batches::BatchService,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tiedoksi integration API",
        version = "1",
        description = "Serve official notices through Suomi.fi Messages from a case-management \
            system: upload documents, queue notices (exactly once, by `Idempotency-Key`), read \
            their deliveries and legal dates, and follow the organisation's change feed. Every \
            call needs `Authorization: Bearer <API key>`; errors are RFC 9457 problem details \
            (`application/problem+json`) whose `errors` name the field, a stable code and a \
            sentence in the language of `Accept-Language` (fi, sv or en)."
    ),
    modifiers(&BearerKey),
    security(("api_key" = [])),
    tags(
        (name = "documents", description = "Files to attach to notices"),
        (name = "notices", description = "Notices and their deliveries"),
        (name = "events", description = "The organisation's change feed"),
        (name = "batches", description = "One notice to many recipients"),
    ),
    components(schemas(problem::Problem, problem::FieldError))
)]
struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (`tdk_…`) made by an organisation's admin or the operator.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The documented routes: only what is registered here is served under `/api/v1`, so the
/// document and the router cannot drift apart.
fn documented() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(documents::upload))
        .routes(routes!(notices::create, notices::list))
        .routes(routes!(notices::notice))
        .routes(routes!(notices::letter))
        .routes(routes!(notices::attachment))
        .routes(routes!(notices::retry))
        .routes(routes!(notices::reserve_on_paper))
        .routes(routes!(events::feed))
        .routes(routes!(batches::create))
        .routes(routes!(batches::batch))
}

/// The OpenAPI document of `/api/v1`, as served.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().into_openapi()
}

/// `/api/v1`: the documented routes, the document itself and its reference page.
pub fn router(state: ApiState, upload_limit: usize) -> axum::Router {
    let (routes, document) = documented().with_state(state).split_for_parts();
    let document = Arc::new(document);
    routes
        .layer(axum::extract::DefaultBodyLimit::max(upload_limit))
        .merge(
            axum::Router::new()
                .route("/api/v1/openapi.json", get(reference::openapi_json))
                .route("/api/v1/reference", get(reference::page))
                .with_state(document),
        )
}
