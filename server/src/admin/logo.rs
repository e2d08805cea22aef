//! The organisation's letterhead logo: uploaded by an admin (a PNG that decodes whole or an SVG
//! that parses, at most 512 KB and 4000 pixels a side), kept in the document store, drawn on
//! every paper letter made from then on; removable. Audited.

use std::sync::Arc;

use app::auth::Actor;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::blobs::BlobStore;
use crate::pdf::{check_logo, LogoProblem, LOGO_MAX_BYTES};
use crate::store::Store;

#[derive(Clone)]
pub struct LogoAdmin {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub audit: Audit,
}

fn back(problem: Option<&str>) -> Response {
    match problem {
        Some(code) => Redirect::to(&format!("/admin?problem={code}#problem")).into_response(),
        None => Redirect::to("/admin#organisation-heading").into_response(),
    }
}

fn failed(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "a logo change failed");
    crate::auth::middleware::app_unavailable()
}

/// `POST /admin/organisation/logo` (multipart): a `logo` file, or `remove`.
pub async fn upload(
    State(admin): State<LogoAdmin>,
    actor: Actor,
    mut multipart: Multipart,
) -> Response {
    if !actor.is_admin() {
        return (
            axum::http::StatusCode::FORBIDDEN,
            "Only an organisation's admins may do this.",
        )
            .into_response();
    }
    let mut logo = None;
    let mut remove = false;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return back(Some("logo_not_png")),
        };
        match field.name() {
            Some("remove") => remove = true,
            Some("logo") => match field.bytes().await {
                Ok(bytes) if bytes.len() > LOGO_MAX_BYTES => return back(Some("logo_too_large")),
                Ok(bytes) if !bytes.is_empty() => logo = Some(bytes.to_vec()),
                Ok(_) => {}
                Err(_) => return back(Some("logo_too_large")),
            },
            _ => {}
        }
    }
    let sha256 = match (remove, logo) {
        (true, _) => None,
        (false, None) => return back(Some("logo_missing")),
        (false, Some(bytes)) => {
            // Parsing is work: off the async threads.
            let (checked, bytes) =
                match tokio::task::spawn_blocking(move || (check_logo(&bytes), bytes)).await {
                    Ok(done) => done,
                    Err(error) => return failed(error),
                };
            match checked {
                Ok(_) => {}
                Err(LogoProblem::TooLarge) => return back(Some("logo_too_large")),
                Err(LogoProblem::NotPng) => return back(Some("logo_not_png")),
                Err(LogoProblem::TooManyPixels) => return back(Some("logo_too_many_pixels")),
            }
            match admin.blobs.put(&bytes).await {
                Ok(digest) => Some(digest.to_string()),
                Err(error) => return failed(error),
            }
        }
    };
    let organisation = actor.organisation_id;
    let mut settings =
        match crate::store::delivery_settings(admin.store.as_ref(), organisation).await {
            Ok(settings) => settings,
            Err(error) => return failed(error),
        };
    settings.logo_sha256 = sha256.clone();
    let saved = match serde_json::to_string(&settings) {
        Ok(json) => admin.store.set_delivery_settings(organisation, &json).await,
        Err(error) => return failed(error),
    };
    if let Err(error) = saved {
        return failed(error);
    }
    let entry = AuditEntry::new(AuditAction::OrganisationUpdated)
        .by(&actor)
        .subject("organisation", organisation)
        .details(json!({ "logo_sha256": sha256 }));
    if let Err(error) = admin.audit.record(entry).await {
        tracing::error!(%error, "could not audit a logo change");
    }
    back(None)
}
