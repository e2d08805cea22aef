//! What the notice pages read: the list, a notice's detail with every delivery's history,
//! and the caseworker's paper re-serve. Reads are scoped to the user's organisation; a notice
//! of another organisation is "not found".

use std::sync::Arc;

use app::auth::SessionUser;
use app::error::AppError;
use app::notices::ssr::NoticesBackend;
use app::notices::{DeliveryDetail, DocumentSummary, HistoryItem, NoticeDetail, NoticeSummary};
use async_trait::async_trait;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::store::{Delivery, Store, Timestamp};

/// How many notices the list shows.
const LIST_LIMIT: i64 = 100;

fn not_unacknowledged() -> AppError {
    AppError::Invalid(vec![app::compose::FieldProblem::new(
        "delivery_id",
        app::compose::Problem::NotUnacknowledged,
    )])
}

#[derive(Clone)]
pub struct NoticeViews {
    pub store: Arc<dyn Store>,
    pub audit: Audit,
}

impl NoticeViews {
    /// A delivery of the user's own organisation; any other is "not found".
    async fn own_delivery(&self, user: &SessionUser, id: Uuid) -> Result<Delivery, AppError> {
        self.store
            .delivery(id)
            .await
            .map_err(AppError::internal)?
            .filter(|d| d.organisation_id == user.organisation_id)
            .ok_or(AppError::NotFound)
    }

    async fn delivery_detail(&self, delivery: Delivery) -> Result<DeliveryDetail, AppError> {
        let documents = self
            .store
            .delivery_documents(delivery.id)
            .await
            .map_err(AppError::internal)?;
        let history = self
            .store
            .delivery_history(delivery.id)
            .await
            .map_err(AppError::internal)?;
        Ok(DeliveryDetail {
            id: delivery.id,
            role: delivery.role,
            recipient_name: delivery.recipient_name,
            identity_masked: delivery.identity_masked,
            requested_mode: delivery.requested_mode,
            decided_mode: delivery.decided_mode,
            reasons: serde_json::from_str(&delivery.channel_reasons).unwrap_or_default(),
            paper_addressee: delivery.paper_addressee,
            status: delivery.status,
            suomifi_message_id: delivery.suomifi_message_id,
            needs_attention_reason: delivery.needs_attention_reason,
            submitted_at: delivery.submitted_at.map(Timestamp::to_rfc3339),
            channel_taken: delivery.channel_taken,
            deemed_receipt: delivery.deemed_receipt,
            appeal_deadline: delivery.appeal_deadline,
            legal_rule: delivery.legal_rule,
            unacknowledged_at: delivery.unacknowledged_at.map(Timestamp::to_rfc3339),
            reserve_of: delivery.reserve_of,
            documents: documents
                .into_iter()
                .map(|d| DocumentSummary {
                    kind: d.kind,
                    filename: d.filename,
                    media_type: d.media_type,
                    sha256: d.sha256,
                    size_bytes: d.size_bytes,
                })
                .collect(),
            history: history
                .into_iter()
                .map(|entry| HistoryItem {
                    occurred_at: entry.occurred_at.to_rfc3339(),
                    kind: entry.kind,
                    details: entry.details,
                })
                .collect(),
        })
    }
}

#[async_trait]
impl NoticesBackend for NoticeViews {
    async fn list_notices(&self, user: &SessionUser) -> Result<Vec<NoticeSummary>, AppError> {
        let rows = self
            .store
            .notice_summaries(user.organisation_id, LIST_LIMIT)
            .await
            .map_err(AppError::internal)?;
        Ok(rows
            .into_iter()
            .map(|row| NoticeSummary {
                id: row.id,
                notice_type: row.notice_type,
                case_reference: row.case_reference,
                title: row.title,
                created_at: row.created_at.to_rfc3339(),
                recipients: row.recipients as u32,
                needs_attention: row.needs_attention as u32,
            })
            .collect())
    }

    async fn notice_detail(&self, user: &SessionUser, id: Uuid) -> Result<NoticeDetail, AppError> {
        let notice = self
            .store
            .notice(user.organisation_id, id)
            .await
            .map_err(AppError::internal)?
            .ok_or(AppError::NotFound)?;
        let attachments = self
            .store
            .notice_attachments(id)
            .await
            .map_err(AppError::internal)?;
        let mut deliveries = Vec::new();
        for delivery in self
            .store
            .deliveries(user.organisation_id, id)
            .await
            .map_err(AppError::internal)?
        {
            deliveries.push(self.delivery_detail(delivery).await?);
        }
        let entry = AuditEntry::new(AuditAction::NoticeViewed)
            .organisation(user.organisation_id)
            .actor(user.id, user.email.clone())
            .subject("notice", id)
            .client_ip(app::auth::ssr::client_ip());
        // The read is shown only once it is on record.
        self.audit.record(entry).await.map_err(AppError::internal)?;
        Ok(NoticeDetail {
            id: notice.id,
            notice_type: notice.notice_type,
            case_reference: notice.case_reference,
            title: notice.title,
            body: notice.body,
            language: notice.language,
            verifiable: notice.verifiable,
            appeal_days: notice.appeal_days,
            created_at: notice.created_at.to_rfc3339(),
            has_letter: notice.paper_letter_sha256.is_some(),
            attachments: attachments
                .into_iter()
                .map(|a| DocumentSummary {
                    kind: "attachment".into(),
                    filename: a.filename,
                    media_type: a.media_type,
                    sha256: a.sha256,
                    size_bytes: a.size_bytes,
                })
                .collect(),
            deliveries,
        })
    }

    async fn retry_delivery(&self, user: &SessionUser, delivery_id: Uuid) -> Result<(), AppError> {
        let delivery = self.own_delivery(user, delivery_id).await?;
        let retried = self
            .store
            .retry_delivery(delivery_id, Timestamp::now())
            .await
            .map_err(AppError::internal)?;
        if !retried {
            return Err(AppError::Invalid(vec![app::compose::FieldProblem::new(
                "delivery_id",
                app::compose::Problem::NotNeedingAttention,
            )]));
        }
        let entry = AuditEntry::new(AuditAction::DeliveryRetried)
            .organisation(user.organisation_id)
            .actor(user.id, user.email.clone())
            .subject("notice", delivery.notice_id)
            .client_ip(app::auth::ssr::client_ip())
            .details(json!({
                "delivery_id": delivery_id,
                "reason": delivery.needs_attention_reason,
            }));
        if let Err(error) = self.audit.record(entry).await {
            tracing::error!(%error, "could not audit a retry");
        }
        Ok(())
    }

    async fn reserve_on_paper(
        &self,
        user: &SessionUser,
        delivery_id: Uuid,
    ) -> Result<Uuid, AppError> {
        let delivery = self.own_delivery(user, delivery_id).await?;
        // Only what the watch flagged: an acknowledged or paper delivery is not served again.
        if delivery.unacknowledged_at.is_none() {
            return Err(not_unacknowledged());
        }
        let reserve = match self
            .store
            .create_reserve(delivery_id, Uuid::now_v7(), Timestamp::now())
            .await
            .map_err(AppError::internal)?
        {
            Some(created) => {
                let entry = AuditEntry::new(AuditAction::DeliveryReserved)
                    .organisation(user.organisation_id)
                    .actor(user.id, user.email.clone())
                    .subject("notice", delivery.notice_id)
                    .client_ip(app::auth::ssr::client_ip())
                    .details(json!({ "delivery_id": delivery_id, "reserve_delivery_id": created }));
                if let Err(error) = self.audit.record(entry).await {
                    tracing::error!(%error, "could not audit a re-serve");
                }
                created
            }
            // Re-served before (asking twice is fine), or acknowledged meanwhile.
            None => self
                .store
                .deliveries(user.organisation_id, delivery.notice_id)
                .await
                .map_err(AppError::internal)?
                .into_iter()
                .find(|d| d.reserve_of == Some(delivery_id))
                .map(|d| d.id)
                .ok_or_else(not_unacknowledged)?,
        };
        Ok(reserve)
    }
}
