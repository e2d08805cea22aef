//! The SQL of citizens' replies, shared by both backends like `sql.rs`.

/// The event Suomi.fi sends when a citizen writes to us.
pub(crate) const FROM_END_USER: &str = "Electronic message from end user";

pub(crate) const REPLY_COLUMNS: &str = "id, organisation_id, message_id, service_id, notice_id, \
     delivery_id, in_reply_to, sender_name, sender_sealed, sender_lookup, sender_masked, \
     on_behalf_name, title, body, attachments, unavailable, sent_at, fetched_at";

/// A reply (`r`) this reader may see: not one answering a notice whose content is withheld
/// from them (a turvakielto recipient; they are neither its author, `$2`, nor an admin, `$3`).
pub(crate) const VISIBLE_TO_READER: &str = "(r.notice_id IS NULL OR $3 \
     OR EXISTS (SELECT 1 FROM notices n WHERE n.id = r.notice_id AND n.author_id = $2) \
     OR NOT EXISTS (SELECT 1 FROM deliveries d \
         WHERE d.notice_id = r.notice_id AND d.address_protected = TRUE))";

macro_rules! impl_shared_reply_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::ReplyStore for $store {
            async fn record_reply(
                &self,
                reply: &$crate::store::CitizenReply,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(&format!(
                    "INSERT INTO citizen_replies ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                     $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
                     ON CONFLICT (message_id) DO NOTHING",
                    $crate::store::sql_replies::REPLY_COLUMNS
                ))
                .bind(reply.id)
                .bind(reply.organisation_id)
                .bind(reply.message_id)
                .bind(&reply.service_id)
                .bind(reply.notice_id)
                .bind(reply.delivery_id)
                .bind(reply.in_reply_to)
                .bind(&reply.sender_name)
                .bind(&reply.sender_sealed)
                .bind(&reply.sender_lookup)
                .bind(&reply.sender_masked)
                .bind(&reply.on_behalf_name)
                .bind(&reply.title)
                .bind(&reply.body)
                .bind(&reply.attachments)
                .bind(reply.unavailable)
                .bind(reply.sent_at)
                .bind(reply.fetched_at)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn replies_to_fetch(
                &self,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<(i64, String)>> {
                Ok(sqlx::query_as(
                    "SELECT e.message_id, MIN(e.service_id) FROM suomifi_events e \
                     WHERE e.event_type = $1 AND NOT EXISTS \
                     (SELECT 1 FROM citizen_replies r WHERE r.message_id = e.message_id) \
                     GROUP BY e.message_id ORDER BY e.message_id LIMIT $2",
                )
                .bind($crate::store::sql_replies::FROM_END_USER)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn organisation_for_service(
                &self,
                service_id: &str,
            ) -> $crate::store::StoreResult<Option<uuid::Uuid>> {
                let senders: Vec<uuid::Uuid> = sqlx::query_scalar(
                    "SELECT DISTINCT organisation_id FROM notices WHERE service_id = $1 LIMIT 2",
                )
                .bind(service_id)
                .fetch_all(&self.pool)
                .await?;
                if senders.len() == 1 {
                    return Ok(senders.first().copied());
                }
                if !senders.is_empty() {
                    return Ok(None);
                }
                // Nothing sent yet: the only organisation, when there is only one.
                let organisations: Vec<uuid::Uuid> =
                    sqlx::query_scalar("SELECT id FROM organisations LIMIT 2")
                        .fetch_all(&self.pool)
                        .await?;
                Ok((organisations.len() == 1)
                    .then(|| organisations.first().copied())
                    .flatten())
            }

            async fn replies(
                &self,
                organisation_id: uuid::Uuid,
                reader: $crate::store::Reader,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::CitizenReply>> {
                let columns =
                    $crate::store::sql::qualified("r", $crate::store::sql_replies::REPLY_COLUMNS);
                Ok(sqlx::query_as(&format!(
                    "SELECT {columns} FROM citizen_replies r WHERE r.organisation_id = $1 AND {} \
                     ORDER BY r.sent_at DESC, r.id DESC LIMIT $4",
                    $crate::store::sql_replies::VISIBLE_TO_READER
                ))
                .bind(organisation_id)
                .bind(reader.user_id)
                .bind(reader.admin)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn replies_to_notice(
                &self,
                organisation_id: uuid::Uuid,
                notice_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::CitizenReply>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM citizen_replies WHERE organisation_id = $1 \
                     AND notice_id = $2 ORDER BY sent_at, id",
                    $crate::store::sql_replies::REPLY_COLUMNS
                ))
                .bind(organisation_id)
                .bind(notice_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn reply(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::CitizenReply>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM citizen_replies WHERE organisation_id = $1 AND id = $2",
                    $crate::store::sql_replies::REPLY_COLUMNS
                ))
                .bind(organisation_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn opened_replies(
                &self,
                user_id: uuid::Uuid,
                ids: &[uuid::Uuid],
            ) -> $crate::store::StoreResult<Vec<uuid::Uuid>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut builder = sqlx::QueryBuilder::new(
                    "SELECT reply_id FROM citizen_reply_openings WHERE user_id = ",
                );
                builder.push_bind(user_id);
                builder.push(" AND reply_id IN (");
                let mut list = builder.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                builder.push(")");
                Ok(builder
                    .build_query_scalar::<uuid::Uuid>()
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn record_reply_opened(
                &self,
                reply_id: uuid::Uuid,
                user_id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO citizen_reply_openings (reply_id, user_id, opened_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (reply_id, user_id) DO NOTHING",
                )
                .bind(reply_id)
                .bind(user_id)
                .bind(at)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn unread_reply_count(
                &self,
                organisation_id: uuid::Uuid,
                reader: $crate::store::Reader,
            ) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM citizen_replies r WHERE r.organisation_id = $1 \
                     AND NOT EXISTS (SELECT 1 FROM citizen_reply_openings o \
                         WHERE o.reply_id = r.id AND o.user_id = $2) AND {}",
                    $crate::store::sql_replies::VISIBLE_TO_READER
                ))
                .bind(organisation_id)
                .bind(reader.user_id)
                .bind(reader.admin)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn sealed_replies(
                &self,
                after: Option<uuid::Uuid>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<(uuid::Uuid, Vec<u8>)>> {
                Ok(sqlx::query_as(
                    "SELECT id, sender_sealed FROM citizen_replies \
                     WHERE sender_sealed IS NOT NULL AND ($1 IS NULL OR id > $1) \
                     ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn reseal_reply(
                &self,
                id: uuid::Uuid,
                previous: &[u8],
                resealed: &[u8],
                lookup: &[u8],
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE citizen_replies SET sender_sealed = $3, sender_lookup = $4 \
                     WHERE id = $1 AND sender_sealed = $2",
                )
                .bind(id)
                .bind(previous)
                .bind(resealed)
                .bind(lookup)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use impl_shared_reply_store;
