//! `GET /notices/{id}/deliveries/{delivery}/proof.pdf`: the proof of service of one delivery,
//! rendered like the paper letter, in the reader's language. Its documents open under the
//! same rule as the notice's (a turvakielto recipient's: the author and administrators), and
//! every download is audited.

use app::error::AppError;
use app::notices::proof::proof_text;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;
use uuid::Uuid;

use super::documents::{openable_notice, pdf_to_show, refusal, Documents};
use super::view::NoticeViews;
use crate::audit::{AuditAction, AuditEntry};
use crate::local_time::finnish_local;
use crate::pdf::{Letter, LetterLanguage};
use crate::store::Timestamp;

#[derive(Clone)]
pub struct ProofState {
    pub views: NoticeViews,
    pub documents: Documents,
}

pub async fn proof(
    State(state): State<ProofState>,
    actor: app::auth::Actor,
    headers: HeaderMap,
    Path((notice_id, delivery_id)): Path<(Uuid, Uuid)>,
) -> Response {
    let notice = match openable_notice(&state.documents, &actor, notice_id).await {
        Ok(notice) => notice,
        Err(error) => return refusal(error),
    };
    let detail = match state.views.detail(&actor, notice_id, false).await {
        Ok(detail) => detail,
        Err(error) => return refusal(error),
    };
    let Some(delivery) = detail.deliveries.iter().find(|d| d.id == delivery_id) else {
        return refusal(AppError::NotFound);
    };
    let organisation = match state
        .documents
        .store
        .organisation(actor.organisation_id)
        .await
    {
        Ok(Some(organisation)) => organisation.name,
        Ok(None) => String::new(),
        Err(error) => return refusal(AppError::internal(error)),
    };
    let printed_by = match actor.user_id() {
        Some(user) => match state.documents.store.user_by_id(user).await {
            Ok(user) => user.map(|u| u.display_name).unwrap_or_default(),
            Err(error) => return refusal(AppError::internal(error)),
        },
        None => String::new(),
    };
    let locale = crate::language::request_locale(&headers);
    let now = Timestamp::now();
    let text = proof_text(locale, &detail, delivery, &finnish_local(now), &printed_by);
    let letter = Letter {
        organisation_name: organisation,
        sender_lines: Vec::new(),
        language: LetterLanguage::parse(locale.as_ref()),
        date: crate::delivery::legal::finnish_date(now.as_offset_date_time()),
        case_reference: notice.case_reference.clone(),
        title: text.title,
        body: text.body,
        markdown: true,
        appeal_instructions: None,
        header: Default::default(),
        logo: None,
    };
    let limits = state.documents.limits.clone();
    // Our own text only, no attachments: rendered here, off the async threads.
    let rendered =
        tokio::task::spawn_blocking(move || crate::pdf::render(&letter, &[], &limits)).await;
    let bytes = match rendered {
        Ok(Ok(rendered)) => rendered.bytes,
        Ok(Err(error)) => return refusal(AppError::internal(error)),
        Err(error) => return refusal(AppError::internal(error)),
    };
    let entry = AuditEntry::new(AuditAction::ProofDownloaded)
        .by(&actor)
        .subject("notice", notice_id)
        .details(json!({ "delivery_id": delivery_id }));
    if let Err(error) = state.documents.audit.record(entry).await {
        return refusal(AppError::internal(error));
    }
    pdf_to_show(bytes, "todistus-tiedoksiannosta.pdf")
}
