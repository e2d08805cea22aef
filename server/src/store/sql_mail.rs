//! The SQL of the SMTP bridge, shared by both backends like `sql.rs`.

pub(crate) const MAIL_COLUMNS: &str = "id, organisation_id, message_key, raw_sha256, size_bytes, \
     envelope_from, recipients_sealed, recipient_count, client_ip, helo, tls, received_at, \
     state, notice_id, draft_id, outcome, settled_at";

pub(crate) const SETTINGS_COLUMNS: &str = "organisation_id, bridge_user_id, notice_type, \
     verifiable, draft_mode, language, acknowledgements, replies_to";

/// The milestone a delivery status has reached, in SQL (`d` is the delivery).
pub(crate) const MILESTONE_OF_STATUS: &str = "CASE d.status \
     WHEN 'receipt_confirmed' THEN 'receipt_confirmed' \
     WHEN 'read' THEN 'read' ELSE 'sent' END";

/// Statuses that mean the notice is in the recipient's mailbox.
pub(crate) const ACKNOWLEDGED_STATUSES: &str =
    "('sent', 'delivered_electronically', 'read', 'receipt_confirmed')";

pub(crate) const CREDENTIAL_COLUMNS: &str =
    "id, organisation_id, name, secret_sha256, created_at, last_used_at, revoked_at";

/// The bridge account's address: unique per organisation, and never deliverable (`.invalid`).
pub(crate) fn bridge_account_email(organisation_id: uuid::Uuid) -> String {
    format!("smtp-bridge+{}@tiedoksi.invalid", organisation_id.simple())
}

macro_rules! impl_shared_mail_store {
    ($store:ty) => {
        impl $store {
            /// Queues a job inside the transaction that keeps its subject: both or neither.
            async fn queue_job_in(
                tx: &mut sqlx::Transaction<
                    '_,
                    <$store as $crate::store::sql_proof::HasDatabase>::Database,
                >,
                organisation_id: uuid::Uuid,
                kind: $crate::store::JobKind,
                subject_id: uuid::Uuid,
                run_after: $crate::store::Timestamp,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO outbox_jobs (id, organisation_id, kind, subject_id, state, \
                     run_after, created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
                )
                .bind(uuid::Uuid::now_v7())
                .bind(organisation_id)
                .bind(kind.as_str())
                .bind(subject_id)
                .bind(run_after)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::MailStore for $store {
            async fn sealed_mails(
                &self,
                after: Option<uuid::Uuid>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::SealedMail>> {
                Ok(sqlx::query_as(
                    "SELECT id, raw_sha256, recipients_sealed FROM smtp_messages \
                     WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn reseal_mail(
                &self,
                previous: &$crate::store::SealedMail,
                resealed: &$crate::store::SealedMail,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE smtp_messages SET raw_sha256 = $2, recipients_sealed = $3 \
                     WHERE id = $1 AND raw_sha256 = $4 AND recipients_sealed = $5",
                )
                .bind(previous.id)
                .bind(&resealed.raw_sha256)
                .bind(&resealed.recipients_sealed)
                .bind(&previous.raw_sha256)
                .bind(&previous.recipients_sealed)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn replies_to_forward(
                &self,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<(uuid::Uuid, uuid::Uuid)>> {
                let since = $crate::store::Timestamp::now() - time::Duration::days(7);
                Ok(sqlx::query_as(
                    "SELECT r.id, r.organisation_id FROM citizen_replies r \
                     JOIN smtp_settings s ON s.organisation_id = r.organisation_id \
                     WHERE s.replies_to IS NOT NULL AND r.fetched_at > $1 AND NOT EXISTS \
                     (SELECT 1 FROM smtp_forwarded_replies f WHERE f.reply_id = r.id) \
                     ORDER BY r.fetched_at, r.id LIMIT $2",
                )
                .bind(since)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn record_reply_forwarding(
                &self,
                reply_id: uuid::Uuid,
                organisation_id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer.begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO smtp_forwarded_replies (reply_id, organisation_id, created_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (reply_id) DO NOTHING",
                )
                .bind(reply_id)
                .bind(organisation_id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                if inserted.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                <$store>::queue_job_in(
                    &mut tx,
                    organisation_id,
                    $crate::store::JobKind::ForwardReply,
                    reply_id,
                    at,
                )
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn mail_of_notice(
                &self,
                notice_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::InboundMail>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM smtp_messages WHERE notice_id = $1",
                    $crate::store::sql_mail::MAIL_COLUMNS
                ))
                .bind(notice_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn citizen_reply_by_message_id(
                &self,
                organisation_id: uuid::Uuid,
                message_id: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::CitizenReply>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM citizen_replies WHERE organisation_id = $1 \
                     AND message_id = $2",
                    $crate::store::sql_replies::REPLY_COLUMNS
                ))
                .bind(organisation_id)
                .bind(message_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn acknowledgement_candidates(
                &self,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::AcknowledgementCandidate>> {
                let since = $crate::store::Timestamp::now() - time::Duration::days(60);
                Ok(sqlx::query_as(&format!(
                    "SELECT m.id AS smtp_message_id, m.organisation_id, d.id AS delivery_id, \
                     d.status FROM smtp_messages m \
                     JOIN smtp_settings s ON s.organisation_id = m.organisation_id \
                     JOIN deliveries d ON d.notice_id = m.notice_id \
                     WHERE s.acknowledgements = TRUE AND m.received_at > $1 \
                     AND d.status IN {} AND NOT EXISTS (SELECT 1 FROM smtp_acknowledgements a \
                     WHERE a.delivery_id = d.id AND a.milestone = {}) \
                     ORDER BY m.received_at LIMIT $2",
                    $crate::store::sql_mail::ACKNOWLEDGED_STATUSES,
                    $crate::store::sql_mail::MILESTONE_OF_STATUS,
                ))
                .bind(since)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn failed_mail_deliveries(
                &self,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::AcknowledgementCandidate>> {
                let since = $crate::store::Timestamp::now() - time::Duration::days(60);
                Ok(sqlx::query_as(
                    "SELECT m.id AS smtp_message_id, m.organisation_id, d.id AS delivery_id, \
                     d.status FROM smtp_messages m \
                     JOIN deliveries d ON d.notice_id = m.notice_id \
                     WHERE m.received_at > $1 AND d.status = 'needs_attention' \
                     AND NOT EXISTS (SELECT 1 FROM smtp_acknowledgements a \
                     WHERE a.delivery_id = d.id AND a.milestone = 'failed') \
                     ORDER BY m.received_at LIMIT $2",
                )
                .bind(since)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn record_acknowledgement(
                &self,
                acknowledgement: &$crate::store::Acknowledgement,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer.begin().await?;
                let inserted = sqlx::query(
                    "INSERT INTO smtp_acknowledgements (id, organisation_id, smtp_message_id, \
                     delivery_id, milestone, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (delivery_id, milestone) DO NOTHING",
                )
                .bind(acknowledgement.id)
                .bind(acknowledgement.organisation_id)
                .bind(acknowledgement.smtp_message_id)
                .bind(acknowledgement.delivery_id)
                .bind(&acknowledgement.milestone)
                .bind(acknowledgement.created_at)
                .execute(&mut *tx)
                .await?;
                if inserted.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                <$store>::queue_job_in(
                    &mut tx,
                    acknowledgement.organisation_id,
                    $crate::store::JobKind::MailAcknowledgement,
                    acknowledgement.id,
                    acknowledgement.created_at,
                )
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn acknowledgement(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::Acknowledgement>> {
                Ok(sqlx::query_as(
                    "SELECT id, organisation_id, smtp_message_id, delivery_id, milestone, \
                     created_at FROM smtp_acknowledgements WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn create_smtp_credential(
                &self,
                credential: &$crate::store::SmtpCredential,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO smtp_credentials (id, organisation_id, name, secret_sha256, \
                     created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(credential.id)
                .bind(credential.organisation_id)
                .bind(&credential.name)
                .bind(&credential.secret_sha256)
                .bind(credential.created_at)
                .execute(&self.writer)
                .await
                .map_err(|e| $crate::store::on_unique_violation(e, "SMTP credential name"))?;
                Ok(())
            }

            async fn smtp_credential(
                &self,
                name: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::SmtpCredential>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM smtp_credentials WHERE name = $1",
                    $crate::store::sql_mail::CREDENTIAL_COLUMNS
                ))
                .bind(name)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn smtp_credentials(
                &self,
                organisation_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::SmtpCredential>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM smtp_credentials WHERE organisation_id = $1 ORDER BY name",
                    $crate::store::sql_mail::CREDENTIAL_COLUMNS
                ))
                .bind(organisation_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn revoke_smtp_credential(
                &self,
                organisation_id: uuid::Uuid,
                name: &str,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE smtp_credentials SET revoked_at = $3 WHERE organisation_id = $1 \
                     AND name = $2 AND revoked_at IS NULL",
                )
                .bind(organisation_id)
                .bind(name)
                .bind(at)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn smtp_credential_used(
                &self,
                id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE smtp_credentials SET last_used_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(at)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn add_sender_domain(
                &self,
                organisation_id: uuid::Uuid,
                domain: &str,
            ) -> $crate::store::StoreResult<bool> {
                let domain = domain.trim().to_lowercase();
                let owner: Option<uuid::Uuid> = sqlx::query_scalar(
                    "SELECT organisation_id FROM smtp_sender_domains WHERE domain = $1",
                )
                .bind(&domain)
                .fetch_optional(&self.pool)
                .await?;
                match owner {
                    Some(owner) if owner == organisation_id => return Ok(false),
                    Some(_) => {
                        return Err($crate::store::StoreError::Conflict(
                            "sender domain of another organisation",
                        ))
                    }
                    None => {}
                }
                sqlx::query(
                    "INSERT INTO smtp_sender_domains (domain, organisation_id, created_at) \
                     VALUES ($1, $2, $3)",
                )
                .bind(&domain)
                .bind(organisation_id)
                .bind($crate::store::Timestamp::now())
                .execute(&self.writer)
                .await
                .map_err(|e| $crate::store::on_unique_violation(e, "sender domain"))?;
                Ok(true)
            }

            async fn remove_sender_domain(
                &self,
                organisation_id: uuid::Uuid,
                domain: &str,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "DELETE FROM smtp_sender_domains WHERE organisation_id = $1 AND domain = $2",
                )
                .bind(organisation_id)
                .bind(domain.trim().to_lowercase())
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn sender_domains(
                &self,
                organisation_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT domain FROM smtp_sender_domains WHERE organisation_id = $1 \
                     ORDER BY domain",
                )
                .bind(organisation_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn organisation_of_sender_domain(
                &self,
                domain: &str,
            ) -> $crate::store::StoreResult<Option<uuid::Uuid>> {
                Ok(sqlx::query_scalar(
                    "SELECT organisation_id FROM smtp_sender_domains WHERE domain = $1",
                )
                .bind(domain.trim().to_lowercase())
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn add_relay_network(
                &self,
                organisation_id: uuid::Uuid,
                network: &str,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO smtp_relay_networks (organisation_id, network, created_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (organisation_id, network) DO NOTHING",
                )
                .bind(organisation_id)
                .bind(network)
                .bind($crate::store::Timestamp::now())
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn remove_relay_network(
                &self,
                organisation_id: uuid::Uuid,
                network: &str,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "DELETE FROM smtp_relay_networks WHERE organisation_id = $1 AND network = $2",
                )
                .bind(organisation_id)
                .bind(network)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn relay_networks(
                &self,
                organisation_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT network FROM smtp_relay_networks WHERE organisation_id = $1 \
                     ORDER BY network",
                )
                .bind(organisation_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn bridge_account(
                &self,
                organisation_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<uuid::Uuid>> {
                Ok(sqlx::query_scalar(
                    "SELECT bridge_user_id FROM smtp_settings WHERE organisation_id = $1",
                )
                .bind(organisation_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn mail_settings(
                &self,
                organisation_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<$crate::store::MailSettings> {
                let select = format!(
                    "SELECT {} FROM smtp_settings WHERE organisation_id = $1",
                    $crate::store::sql_mail::SETTINGS_COLUMNS
                );
                if let Some(settings) = sqlx::query_as(&select)
                    .bind(organisation_id)
                    .fetch_optional(&self.pool)
                    .await?
                {
                    return Ok(settings);
                }
                // First use: the bridge account and the settings together, or neither (two
                // first uses at once leave one account).
                let mut tx = self.writer.begin().await?;
                let account = uuid::Uuid::now_v7();
                let created = sqlx::query(
                    "INSERT INTO users (id, organisation_id, email, display_name, password_hash, \
                     role, active, created_at) VALUES ($1, $2, $3, $4, '!', 'caseworker', FALSE, $5) \
                     ON CONFLICT (email) DO NOTHING",
                )
                .bind(account)
                .bind(organisation_id)
                .bind($crate::store::sql_mail::bridge_account_email(organisation_id))
                .bind("SMTP")
                .bind($crate::store::Timestamp::now())
                .execute(&mut *tx)
                .await?;
                if created.rows_affected() == 1 {
                    sqlx::query(
                        "INSERT INTO smtp_settings (organisation_id, bridge_user_id) \
                         VALUES ($1, $2) ON CONFLICT (organisation_id) DO NOTHING",
                    )
                    .bind(organisation_id)
                    .bind(account)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok(sqlx::query_as(&select)
                    .bind(organisation_id)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn save_mail_settings(
                &self,
                settings: &$crate::store::MailSettings,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE smtp_settings SET notice_type = $2, verifiable = $3, \
                     draft_mode = $4, language = $5, acknowledgements = $6, replies_to = $7 \
                     WHERE organisation_id = $1",
                )
                .bind(settings.organisation_id)
                .bind(&settings.notice_type)
                .bind(settings.verifiable)
                .bind(settings.draft_mode)
                .bind(&settings.language)
                .bind(settings.acknowledgements)
                .bind(&settings.replies_to)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn recipients_with_mail(
                &self,
                organisation_id: uuid::Uuid,
                message_key: &str,
                lookups: &[Vec<u8>],
            ) -> $crate::store::StoreResult<Vec<Vec<u8>>> {
                if lookups.is_empty() {
                    return Ok(Vec::new());
                }
                // One query for every recipient (and every key's hash of it).
                let placeholders: Vec<String> =
                    (0..lookups.len()).map(|n| format!("${}", n + 3)).collect();
                let sql = format!(
                    "SELECT recipient_lookup FROM smtp_message_recipients \
                     WHERE organisation_id = $1 AND message_key = $2 \
                     AND recipient_lookup IN ({})",
                    placeholders.join(", ")
                );
                let mut query = sqlx::query_scalar(&sql)
                    .bind(organisation_id)
                    .bind(message_key);
                for lookup in lookups {
                    query = query.bind(lookup);
                }
                Ok(query.fetch_all(&self.pool).await?)
            }

            async fn accept_mail(
                &self,
                mail: &$crate::store::AcceptedMail,
            ) -> $crate::store::StoreResult<$crate::store::MailAcceptance> {
                let mut tx = self.writer.begin().await?;
                sqlx::query(&format!(
                    "INSERT INTO smtp_messages ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                     $10, $11, $12, 'received', NULL, NULL, '{{}}', NULL)",
                    $crate::store::sql_mail::MAIL_COLUMNS
                ))
                .bind(mail.id)
                .bind(mail.organisation_id)
                .bind(&mail.message_key)
                .bind(&mail.raw_sha256)
                .bind(mail.size_bytes)
                .bind(&mail.envelope_from)
                .bind(&mail.recipients_sealed)
                .bind(mail.recipient_lookups.len() as i32)
                .bind(&mail.client_ip)
                .bind(&mail.helo)
                .bind(mail.tls)
                .bind(mail.received_at)
                .execute(&mut *tx)
                .await?;
                let mut new_recipients = 0;
                for lookup in &mail.recipient_lookups {
                    let done = sqlx::query(
                        "INSERT INTO smtp_message_recipients (organisation_id, message_key, \
                         recipient_lookup, smtp_message_id) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (organisation_id, message_key, recipient_lookup) DO NOTHING",
                    )
                    .bind(mail.organisation_id)
                    .bind(&mail.message_key)
                    .bind(lookup)
                    .bind(mail.id)
                    .execute(&mut *tx)
                    .await?;
                    new_recipients += done.rows_affected();
                }
                if new_recipients == 0 {
                    tx.rollback().await?;
                    return Ok($crate::store::MailAcceptance::AlreadyAccepted);
                }
                if new_recipients as usize != mail.recipient_lookups.len() {
                    tx.rollback().await?;
                    return Err($crate::store::StoreError::Conflict(
                        "a recipient received this mail meanwhile",
                    ));
                }
                <$store>::queue_job_in(
                    &mut tx,
                    mail.organisation_id,
                    $crate::store::JobKind::IngestMail,
                    mail.id,
                    mail.received_at,
                )
                .await?;
                tx.commit().await?;
                Ok($crate::store::MailAcceptance::Accepted)
            }

            async fn inbound_mail(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::InboundMail>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM smtp_messages WHERE id = $1",
                    $crate::store::sql_mail::MAIL_COLUMNS
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn inbound_mails(
                &self,
                organisation_id: uuid::Uuid,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::InboundMail>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM smtp_messages WHERE organisation_id = $1 \
                     ORDER BY received_at DESC, id DESC LIMIT $2",
                    $crate::store::sql_mail::MAIL_COLUMNS
                ))
                .bind(organisation_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn settle_mail(
                &self,
                id: uuid::Uuid,
                settlement: &$crate::store::MailSettlement,
                outcome: &str,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                use $crate::store::MailSettlement;
                let (state, notice_id, draft_id) = match settlement {
                    MailSettlement::Queued { notice_id } => ("queued", Some(*notice_id), None),
                    MailSettlement::Drafted { draft_id } => ("drafted", None, Some(*draft_id)),
                    MailSettlement::Refused => ("refused", None, None),
                };
                let done = sqlx::query(
                    "UPDATE smtp_messages SET state = $2, notice_id = $3, draft_id = $4, \
                     outcome = $5, settled_at = $6 WHERE id = $1 AND state = 'received'",
                )
                .bind(id)
                .bind(state)
                .bind(notice_id)
                .bind(draft_id)
                .bind(outcome)
                .bind(at)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use impl_shared_mail_store;
