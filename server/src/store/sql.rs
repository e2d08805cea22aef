//! SQL that reads the same in SQLite and PostgreSQL, implemented once for each backend.
//!
//! A macro rather than generic code: sqlx code generic over `Database` needs a wall of
//! higher-ranked bounds per method and trips the compiler's `Send` inference in async traits.
//! Each backend invokes `impl_shared_stores!` on its own store type and pool.

use app::auth::Role;
use uuid::Uuid;

use super::{StoreError, Timestamp, User};

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: Uuid,
    organisation_id: Uuid,
    email: String,
    display_name: String,
    password_hash: String,
    role: String,
    active: bool,
    failed_login_count: i32,
    locked_until: Option<Timestamp>,
    last_login_at: Option<Timestamp>,
    created_at: Timestamp,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        let role = Role::parse(&row.role).ok_or_else(|| {
            StoreError::Database(sqlx::Error::Decode(
                format!("unknown role {:?}", row.role).into(),
            ))
        })?;
        Ok(User {
            id: row.id,
            organisation_id: row.organisation_id,
            email: row.email,
            display_name: row.display_name,
            password_hash: row.password_hash,
            role,
            active: row.active,
            failed_login_count: row.failed_login_count,
            locked_until: row.locked_until,
            last_login_at: row.last_login_at,
            created_at: row.created_at,
        })
    }
}

pub(super) const JOB_COLUMNS: &str = "id, organisation_id, kind, subject_id, state, attempts, \
     run_after, leased_until, lease_owner, last_error";

pub(super) const USER_COLUMNS: &str = "id, organisation_id, email, display_name, password_hash, \
     role, active, failed_login_count, locked_until, last_login_at, created_at";

macro_rules! impl_shared_stores {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::OrganisationStore for $store {
            async fn create_organisation(
                &self,
                name: &str,
            ) -> $crate::store::StoreResult<$crate::store::Organisation> {
                let organisation = $crate::store::Organisation {
                    id: uuid::Uuid::now_v7(),
                    name: name.to_owned(),
                    created_at: $crate::store::Timestamp::now(),
                };
                sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(organisation.id)
                    .bind(&organisation.name)
                    .bind(organisation.created_at)
                    .execute(&self.writer)
                    .await?;
                Ok(organisation)
            }

            async fn organisation(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::Organisation>> {
                Ok(sqlx::query_as("SELECT id, name, created_at FROM organisations WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn count_organisations(&self) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM organisations")
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn organisations(
                &self,
            ) -> $crate::store::StoreResult<Vec<$crate::store::Organisation>> {
                Ok(sqlx::query_as(
                    "SELECT id, name, created_at FROM organisations ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn delivery_settings(
                &self,
                organisation_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<String> {
                let settings: Option<String> = sqlx::query_scalar(
                    "SELECT delivery_settings FROM organisations WHERE id = $1",
                )
                .bind(organisation_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(settings.unwrap_or_else(|| "{}".to_string()))
            }

            async fn set_delivery_settings(
                &self,
                organisation_id: uuid::Uuid,
                settings: &str,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE organisations SET delivery_settings = $2 WHERE id = $1")
                    .bind(organisation_id)
                    .bind(settings)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::UserStore for $store {
            async fn create_user(
                &self,
                user: &$crate::store::NewUser,
            ) -> $crate::store::StoreResult<$crate::store::User> {
                let row: $crate::store::sql::UserRow = sqlx::query_as(&format!(
                    "INSERT INTO users (id, organisation_id, email, display_name, password_hash, \
                     role, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     RETURNING {}",
                    $crate::store::sql::USER_COLUMNS
                ))
                .bind(uuid::Uuid::now_v7())
                .bind(user.organisation_id)
                .bind(user.email.trim().to_lowercase())
                .bind(&user.display_name)
                .bind(&user.password_hash)
                .bind(user.role.as_str())
                .bind($crate::store::Timestamp::now())
                .fetch_one(&self.writer)
                .await
                .map_err(|e| $crate::store::on_unique_violation(e, "e-mail address"))?;
                row.try_into()
            }

            async fn user_by_email(
                &self,
                email: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::User>> {
                let row: Option<$crate::store::sql::UserRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM users WHERE email = $1",
                    $crate::store::sql::USER_COLUMNS
                ))
                .bind(email.trim().to_lowercase())
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn user_by_id(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::User>> {
                let row: Option<$crate::store::sql::UserRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM users WHERE id = $1",
                    $crate::store::sql::USER_COLUMNS
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn users_in_organisation(
                &self,
                organisation_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::User>> {
                let rows: Vec<$crate::store::sql::UserRow> = sqlx::query_as(&format!(
                    // The SMTP bridge's account authors mailed notices but is no one to manage.
                    "SELECT {} FROM users WHERE organisation_id = $1 AND id NOT IN \
                     (SELECT bridge_user_id FROM smtp_settings) ORDER BY display_name, email",
                    $crate::store::sql::USER_COLUMNS
                ))
                .bind(organisation_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn record_failed_login(
                &self,
                user_id: uuid::Uuid,
                lock_threshold: i32,
                lock_until: $crate::store::Timestamp,
                now: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<$crate::store::User> {
                let row: $crate::store::sql::UserRow = sqlx::query_as(&format!(
                    // A lock that has run out starts the count again: one typo after it must
                    // not lock the account for another full period.
                    "UPDATE users SET \
                     failed_login_count = CASE WHEN locked_until <= $4 THEN 1 \
                                               ELSE failed_login_count + 1 END, \
                     locked_until = CASE \
                         WHEN (CASE WHEN locked_until <= $4 THEN 1 \
                                    ELSE failed_login_count + 1 END) >= $2 THEN $3 \
                         WHEN locked_until <= $4 THEN NULL \
                         ELSE locked_until END \
                     WHERE id = $1 RETURNING {}",
                    $crate::store::sql::USER_COLUMNS
                ))
                .bind(user_id)
                .bind(lock_threshold)
                .bind(lock_until)
                .bind(now)
                .fetch_one(&self.writer)
                .await?;
                row.try_into()
            }

            async fn record_successful_login(
                &self,
                user_id: uuid::Uuid,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE users SET failed_login_count = 0, locked_until = NULL, \
                     last_login_at = $2 WHERE id = $1",
                )
                .bind(user_id)
                .bind(at)
                .execute(&self.writer)
                .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::LoginAttemptStore for $store {
            async fn record_login_attempt(
                &self,
                client_ip: &str,
                succeeded: bool,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO login_attempts (client_ip, succeeded, attempted_at) \
                     VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(client_ip)
                .bind(succeeded)
                .bind(at)
                .fetch_one(&self.writer)
                .await?)
            }

            async fn mark_login_attempt_succeeded(
                &self,
                id: i64,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query("UPDATE login_attempts SET succeeded = TRUE WHERE id = $1")
                    .bind(id)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn prune_login_attempts(
                &self,
                before: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<u64> {
                Ok(sqlx::query("DELETE FROM login_attempts WHERE attempted_at < $1")
                    .bind(before)
                    .execute(&self.writer)
                    .await?
                    .rows_affected())
            }

            async fn failed_login_attempts_since(
                &self,
                client_ip: &str,
                since: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<i64> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM login_attempts \
                     WHERE client_ip = $1 AND succeeded = FALSE AND attempted_at >= $2",
                )
                .bind(client_ip)
                .bind(since)
                .fetch_one(&self.pool)
                .await?)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::AuditStore for $store {
            async fn append_audit_event(
                &self,
                event: &$crate::store::AuditEvent,
            ) -> $crate::store::StoreResult<()> {
                Ok(Self::insert_audit_event(&self.writer, event).await?)
            }

            async fn search_audit(
                &self,
                query: &$crate::store::AuditQuery,
            ) -> $crate::store::StoreResult<Vec<$crate::store::AuditEvent>> {
                let (before_at, before_id) = query.before.unzip();
                Ok(sqlx::query_as(
                    "SELECT id, organisation_id, occurred_at, actor_user_id, actor_label, action, \
                     subject_kind, subject_id, client_ip, details FROM audit_events \
                     WHERE organisation_id = $1 \
                     AND ($2 IS NULL OR actor_user_id = $2) \
                     AND ($3 IS NULL OR action = $3) \
                     AND ($4 IS NULL OR subject_id = $4) \
                     AND ($5 IS NULL OR occurred_at >= $5) \
                     AND ($6 IS NULL OR occurred_at < $6) \
                     AND ($7 IS NULL OR occurred_at < $7 OR (occurred_at = $7 AND id < $8)) \
                     ORDER BY occurred_at DESC, id DESC LIMIT $9",
                )
                .bind(query.organisation_id)
                .bind(query.actor_user_id)
                .bind(&query.action)
                .bind(&query.subject_id)
                .bind(query.from)
                .bind(query.until)
                .bind(before_at)
                .bind(before_id)
                .bind(query.limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn audit_events(
                &self,
                organisation_id: Option<uuid::Uuid>,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::AuditEvent>> {
                // `IS NOT DISTINCT FROM` would say this in one word, but SQLite spells it `IS`.
                Ok(sqlx::query_as(
                    "SELECT id, organisation_id, occurred_at, actor_user_id, actor_label, action, \
                     subject_kind, subject_id, client_ip, details FROM audit_events \
                     WHERE ($1 IS NULL AND organisation_id IS NULL) OR organisation_id = $1 \
                     ORDER BY occurred_at DESC, id DESC LIMIT $2",
                )
                .bind(organisation_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}

/// The outbox, shared but for the claim query: each backend names its own `CLAIM_JOBS`
/// (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a plain atomic `UPDATE … RETURNING` on SQLite).
macro_rules! impl_shared_job_queue {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::JobQueue for $store {
            async fn enqueue_job(
                &self,
                organisation_id: uuid::Uuid,
                kind: $crate::store::JobKind,
                subject_id: uuid::Uuid,
                run_after: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                let inserted = sqlx::query(
                    "INSERT INTO outbox_jobs (id, organisation_id, kind, subject_id, state, \
                     run_after, created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $6) \
                     ON CONFLICT (kind, subject_id) DO NOTHING",
                )
                .bind(uuid::Uuid::now_v7())
                .bind(organisation_id)
                .bind(kind.as_str())
                .bind(subject_id)
                .bind(run_after)
                .bind($crate::store::Timestamp::now())
                .execute(&self.writer)
                .await?;
                Ok(inserted.rows_affected() == 1)
            }

            async fn claim_jobs(
                &self,
                worker: &str,
                now: $crate::store::Timestamp,
                lease_until: $crate::store::Timestamp,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::Job>> {
                Ok(sqlx::query_as(&<$store>::claim_jobs_sql())
                    .bind(now)
                    .bind(lease_until)
                    .bind(worker)
                    .bind(limit)
                    .fetch_all(&self.writer)
                    .await?)
            }

            async fn hold_lease(
                &self,
                name: &str,
                holder: &str,
                now: $crate::store::Timestamp,
                until: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                // One statement decides: two instances asking at once cannot both hold it.
                let held = sqlx::query(
                    "INSERT INTO leader_leases (name, holder, held_until) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                     held_until = excluded.held_until \
                     WHERE leader_leases.holder = excluded.holder OR leader_leases.held_until < $4",
                )
                .bind(name)
                .bind(holder)
                .bind(until)
                .bind(now)
                .execute(&self.writer)
                .await?;
                Ok(held.rows_affected() == 1)
            }

            async fn release_leases(&self, holder: &str) -> $crate::store::StoreResult<()> {
                sqlx::query("DELETE FROM leader_leases WHERE holder = $1")
                    .bind(holder)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn extend_lease(
                &self,
                id: uuid::Uuid,
                worker: &str,
                until: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                let updated = sqlx::query(
                    "UPDATE outbox_jobs SET leased_until = $3 \
                     WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
                )
                .bind(id)
                .bind(worker)
                .bind(until)
                .execute(&self.writer)
                .await?;
                Ok(updated.rows_affected() == 1)
            }

            async fn complete_jobs(
                &self,
                ids: &[uuid::Uuid],
                worker: &str,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<u64> {
                if ids.is_empty() {
                    return Ok(0);
                }
                let placeholders: Vec<String> =
                    (0..ids.len()).map(|n| format!("${}", n + 3)).collect();
                let sql = format!(
                    "UPDATE outbox_jobs SET state = 'done', finished_at = $2, leased_until = NULL \
                     WHERE lease_owner = $1 AND state = 'running' AND id IN ({})",
                    placeholders.join(", ")
                );
                let mut query = sqlx::query(&sql).bind(worker).bind(at);
                for id in ids {
                    query = query.bind(*id);
                }
                Ok(query.execute(&self.writer).await?.rows_affected())
            }

            async fn retry_job(
                &self,
                id: uuid::Uuid,
                worker: &str,
                run_after: $crate::store::Timestamp,
                error: &str,
            ) -> $crate::store::StoreResult<bool> {
                self.settle_job(id, worker, "pending", Some(run_after), Some(error), None)
                    .await
            }

            async fn fail_job(
                &self,
                id: uuid::Uuid,
                worker: &str,
                error: &str,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                self.settle_job(id, worker, "failed", None, Some(error), Some(at))
                    .await
            }

            async fn job(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::Job>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM outbox_jobs WHERE id = $1",
                    $crate::store::sql::JOB_COLUMNS
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn job_counts(&self) -> $crate::store::StoreResult<$crate::store::JobCounts> {
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT state, COUNT(*) FROM outbox_jobs GROUP BY state")
                        .fetch_all(&self.pool)
                        .await?;
                let mut counts = $crate::store::JobCounts::default();
                for (state, count) in rows {
                    match state.as_str() {
                        "pending" => counts.pending = count,
                        "running" => counts.running = count,
                        "done" => counts.done = count,
                        _ => counts.failed = count,
                    }
                }
                Ok(counts)
            }

            async fn oldest_pending_job(
                &self,
            ) -> $crate::store::StoreResult<Option<$crate::store::Timestamp>> {
                Ok(sqlx::query_scalar(
                    "SELECT run_after FROM outbox_jobs WHERE state = 'pending' \
                     ORDER BY run_after LIMIT 1",
                )
                .fetch_optional(&self.pool)
                .await?)
            }
        }

        impl $store {
            /// Moves on a job this worker holds; `false` when it no longer holds it.
            async fn settle_job(
                &self,
                id: uuid::Uuid,
                worker: &str,
                state: &str,
                run_after: Option<$crate::store::Timestamp>,
                error: Option<&str>,
                finished_at: Option<$crate::store::Timestamp>,
            ) -> $crate::store::StoreResult<bool> {
                let updated = sqlx::query(
                    "UPDATE outbox_jobs SET state = $3, run_after = COALESCE($4, run_after), \
                     last_error = COALESCE($5, last_error), finished_at = $6, \
                     leased_until = NULL, \
                     lease_owner = CASE WHEN $3 = 'failed' THEN lease_owner END \
                     WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
                )
                .bind(id)
                .bind(worker)
                .bind(state)
                .bind(run_after)
                .bind(error)
                .bind(finished_at)
                .execute(&self.writer)
                .await?;
                Ok(updated.rows_affected() == 1)
            }
        }
    };
}

/// The claim: mark up to `$4` claimable jobs running under `$3`'s lease until `$2` — those
/// running under a lease that ran out before `$1` (their worker died) first, then those
/// pending and due. `lock_clause` is what the backend adds to each inner SELECT.
///
/// Two selects rather than one with `OR`: each walks the `(state, run_after)` index in order
/// and stops at the limit, where the `OR` made both databases gather and sort every due job
/// for each claim (5 ms rather than 0.5 ms with 10 000 queued, and growing with the queue).
pub(super) fn claim_jobs_sql(lock_clause: &str) -> String {
    format!(
        "UPDATE outbox_jobs SET state = 'running', attempts = attempts + 1, \
         leased_until = $2, lease_owner = $3 \
         WHERE id IN ( \
             SELECT id FROM (SELECT id FROM outbox_jobs \
                             WHERE state = 'running' AND leased_until < $1 \
                             ORDER BY run_after LIMIT $4 {lock_clause}) AS expired \
             UNION ALL \
             SELECT id FROM (SELECT id FROM outbox_jobs \
                             WHERE state = 'pending' AND run_after <= $1 \
                             ORDER BY run_after LIMIT $4 {lock_clause}) AS due \
             LIMIT $4) \
         RETURNING {JOB_COLUMNS}"
    )
}

/// `'a', 'b'`: statuses as an SQL list (stored forms are plain identifiers, never input).
pub(crate) fn status_list(statuses: &[app::domain::lifecycle::DeliveryStatus]) -> String {
    statuses
        .iter()
        .map(|status| format!("'{}'", status.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A delivery (`d`) that needs a person: failed; a letter Posti could not deliver with no
/// other service recorded; a verifiable notice unacknowledged and not re-served; a
/// turvakielto letter at the forwarding address whose onward service is not recorded.
pub(super) const NEEDS_ATTENTION: &str = "(d.status = 'needs_attention' \
     OR (d.status IN ('returned', 'unresolved') \
         AND NOT EXISTS (SELECT 1 FROM service_records s \
             WHERE s.delivery_id = d.id AND s.kind <> 'forwarding')) \
     OR (d.unacknowledged_at IS NOT NULL \
         AND d.status IN ('sent', 'delivered_electronically') \
         AND NOT EXISTS (SELECT 1 FROM deliveries r WHERE r.reserve_of = d.id)) \
     OR (d.paper_addressee = 'organisation_forwarding' \
         AND d.channel_taken = 'paper' \
         AND d.status IN ('paper_created', 'sent_for_printing') \
         AND NOT EXISTS (SELECT 1 FROM service_records s \
             WHERE s.delivery_id = d.id AND s.kind = 'forwarding')))";

pub(super) const INSERT_HISTORY: &str = "INSERT INTO delivery_history \
     (id, organisation_id, delivery_id, occurred_at, kind, details) \
     VALUES ($1, $2, $3, $4, $5, $6)";

pub(super) const NOTICE_COLUMNS: &str = "id, organisation_id, author_id, notice_type, \
     case_reference, title, body, body_format, language, verifiable, appeal_days, service_id, \
     created_at, appeal_instructions, paper_letter_sha256, decision_date, decision_maker, \
     parties, contact_person, contact_details, automated_decision, electronic_body, \
     in_reply_to_message_id, template_id, template_version, replies_allowed, letter_input, \
     request_sha256";

/// A filter that matches at most this many rows starts the list's query: those few are
/// found by their own index and sorted. A broader one is checked while walking the list's
/// index, which finds a page of matches sooner than sorting them all would.
pub(super) const SELECTIVE_AT_MOST: i64 = 4_000;

/// Where a page of the notice list starts.
pub(super) enum NoticeSearchStart {
    /// The list's own index (organisation, created_at, id), filters checked on the way.
    List,
    /// A person's deliveries, by the identity lookup hash.
    Person,
    /// The notices whose search text holds the query's text, by the trigram index.
    Text,
    /// The notices with a delivery in the query's status.
    Status,
}

/// What the list's free text finds a notice by: its case reference, title and its
/// recipients' names, lower-cased, one per line.
pub(super) fn notice_search_text(notice: &super::NewNotice) -> String {
    let mut text = format!("{}\n{}", notice.case_reference, notice.title);
    for delivery in &notice.deliveries {
        text.push('\n');
        text.push_str(&delivery.recipient_name);
    }
    text.to_lowercase()
}

/// The free text long enough for the trigram index (three characters), lower-cased.
pub(super) fn indexable_text(query: &super::NoticeQuery) -> Option<String> {
    let text = query.text.as_deref()?.to_lowercase();
    (text.chars().count() >= 3).then_some(text)
}

/// The longest run of letters and digits in `text` that has a digit and at least three
/// characters, when the text holds more than it: the part of a case reference (`dnro
/// 1234/2026`) that few notices share.
pub(super) fn number_in(text: &str) -> Option<&str> {
    // The first of the longest: a case number comes before its year (`1234/2026`).
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| word.chars().count() >= 3 && word.chars().any(|c| c.is_ascii_digit()))
        .rev()
        .max_by_key(|word| word.chars().count())
        .filter(|word| word.len() < text.len())
}

/// `%text%` for a `LIKE` escaped by backslashes: the user's `%`, `_` and backslash are
/// characters, not wildcards.
pub(super) fn contains_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// `column` in lower case for a case-insensitive search on both databases. SQLite's `LOWER`
/// folds ASCII only, so the capitals Finnish and Swedish names use are folded first (Rust
/// lower-cases the pattern fully); PostgreSQL's `LOWER` folds them anyway.
pub(super) fn folded(column: &str) -> String {
    const CAPITALS: [(&str, &str); 6] = [
        ("Ä", "ä"),
        ("Ö", "ö"),
        ("Å", "å"),
        ("Ü", "ü"),
        ("É", "é"),
        ("Š", "š"),
    ];
    let replaced = CAPITALS
        .iter()
        .fold(column.to_string(), |inner, (upper, lower)| {
            format!("REPLACE({inner}, '{upper}', '{lower}')")
        });
    format!("LOWER({replaced})")
}

/// `columns` (a `*_COLUMNS` list) with each name qualified by `alias`, for joins.
pub(super) fn qualified(alias: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|column| format!("{alias}.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) const DELIVERY_COLUMNS: &str = "id, organisation_id, notice_id, position, role, \
     recipient_name, identity_kind, identity_sealed, identity_lookup, identity_masked, \
     address_sealed, facts, requested_mode, decided_mode, channel_reasons, paper_addressee, \
     status, suomifi_message_id, needs_attention_reason, submitted_at, channel_taken, \
     deemed_receipt, appeal_deadline, legal_rule, unacknowledged_at, reserve_of, \
     address_protected, content_not_for_others, recipient_minor, mailbox_check_deferred, \
     legal_basis";

/// `columns` (a `*_COLUMNS` list) qualified by `alias` and renamed with `prefix`, for a join
/// whose tables share column names.
fn prefixed(alias: &str, columns: &str, prefix: &str) -> String {
    columns
        .split(',')
        .map(|column| format!("{alias}.{0} AS {prefix}{0}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the send job's row calls column `$name` of the notice's Suomi.fi service: the
/// delivery's and the notice's own names (`id`, `service_id`, …) are taken. A literal, so
/// that the row's reader names its columns without building a string for each.
macro_rules! joined_service_column {
    ($name:literal) => {
        concat!("svc_", $name)
    };
}
pub(crate) use joined_service_column;

/// A delivery's columns, its notice's, its organisation's settings, whether the notice has
/// attachments, and the Suomi.fi service the notice names (its columns named by
/// `joined_service_column`; all null when no service has that id), in one row. Delivery and
/// notice are read by column name and share two names: `organisation_id` is the same in
/// both, and `id` is the delivery's, so the reader takes the notice's id from the delivery's
/// `notice_id`. Built once: every send job runs it.
pub(super) static DELIVERY_TO_SEND_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| {
        let notice_columns = NOTICE_COLUMNS
            .split(',')
            .map(str::trim)
            .filter(|column| !matches!(*column, "id" | "organisation_id"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SELECT {}, {}, o.delivery_settings, \
                CASE WHEN EXISTS (SELECT 1 FROM notice_attachments a \
                                  WHERE a.notice_id = n.id) THEN 1 ELSE 0 END \
                    AS has_attachments, {} \
         FROM deliveries d \
         JOIN notices n ON n.id = d.notice_id AND n.organisation_id = d.organisation_id \
         JOIN organisations o ON o.id = d.organisation_id \
         LEFT JOIN suomifi_services s ON s.service_id = n.service_id \
         WHERE d.id = $1",
            qualified("d", DELIVERY_COLUMNS),
            qualified("n", &notice_columns),
            prefixed(
                "s",
                super::sql_services::SERVICE_COLUMNS,
                joined_service_column!("")
            ),
        )
    });

macro_rules! impl_shared_notice_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::NoticeStore for $store {
            async fn create_notice(
                &self,
                notice: &$crate::store::NewNotice,
            ) -> $crate::store::StoreResult<$crate::store::NoticeCreation> {
                if let Some(existing) = self.existing_notice(notice).await? {
                    return Ok($crate::store::NoticeCreation::AlreadyCreated(existing));
                }
                match self.insert_notice(notice).await {
                    Ok(()) => Ok($crate::store::NoticeCreation::Created(notice.id)),
                    // A concurrent submit of the same form won the race: answer with its notice.
                    Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                        match self.existing_notice(notice).await? {
                            Some(existing) => Ok($crate::store::NoticeCreation::AlreadyCreated(existing)),
                            None => Err(sqlx::Error::Database(error).into()),
                        }
                    }
                    Err(error) => Err(error.into()),
                }
            }

            async fn notice_by_idempotency_key(
                &self,
                organisation_id: uuid::Uuid,
                author_id: uuid::Uuid,
                key: &str,
            ) -> $crate::store::StoreResult<Option<uuid::Uuid>> {
                Ok(sqlx::query_scalar(
                    "SELECT id FROM notices \
                     WHERE organisation_id = $1 AND author_id = $2 AND idempotency_key = $3",
                )
                .bind(organisation_id)
                .bind(author_id)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn notice(
                &self,
                organisation_id: uuid::Uuid,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::Notice>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM notices WHERE organisation_id = $1 AND id = $2",
                    $crate::store::sql::NOTICE_COLUMNS
                ))
                .bind(organisation_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn keep_notice_letter(
                &self,
                id: uuid::Uuid,
                sha256: &str,
            ) -> $crate::store::StoreResult<Option<String>> {
                sqlx::query(
                    "UPDATE notices SET paper_letter_sha256 = $2 \
                     WHERE id = $1 AND paper_letter_sha256 IS NULL",
                )
                .bind(id)
                .bind(sha256)
                .execute(&self.writer)
                .await?;
                let kept: Option<Option<String>> =
                    sqlx::query_scalar("SELECT paper_letter_sha256 FROM notices WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(kept.flatten())
            }

            async fn notice_summaries(
                &self,
                organisation_id: uuid::Uuid,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::NoticeSummaryRow>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT n.id, n.notice_type, n.case_reference, n.title, n.created_at, \
                     COUNT(d.id) AS recipients, \
                     COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0) AS needs_attention \
                     FROM notices n LEFT JOIN deliveries d ON d.notice_id = n.id \
                     WHERE n.organisation_id = $1 \
                     GROUP BY n.id, n.notice_type, n.case_reference, n.title, n.created_at \
                     ORDER BY n.created_at DESC, n.id DESC LIMIT $2",
                    $crate::store::sql::NEEDS_ATTENTION
                ))
                .bind(organisation_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn search_notices(
                &self,
                query: &$crate::store::NoticeQuery,
            ) -> $crate::store::StoreResult<Vec<$crate::store::Notice>> {
                let start = self.notice_search_start(query).await?;
                let mut builder = sqlx::QueryBuilder::new("");
                Self::push_notice_search(&mut builder, query, &start);
                let mut rows: Vec<$crate::store::Notice> =
                    builder.build_query_as().fetch_all(&self.pool).await?;
                if query.before.is_some() {
                    rows.reverse();
                }
                Ok(rows)
            }

            async fn explain_notice_search(
                &self,
                query: &$crate::store::NoticeQuery,
            ) -> $crate::store::StoreResult<String> {
                let start = self.notice_search_start(query).await?;
                // In a transaction that is rolled back: the setup ends with it.
                let mut tx = self.pool.begin().await?;
                if let Some(setup) = <$store>::explain_setup() {
                    sqlx::query(setup).execute(&mut *tx).await?;
                }
                let mut builder = sqlx::QueryBuilder::new(<$store>::explain_prefix());
                Self::push_notice_search(&mut builder, query, &start);
                let rows = builder.build().fetch_all(&mut *tx).await?;
                tx.rollback().await?;
                let mut plan = Vec::new();
                for row in rows {
                    use sqlx::Row;
                    // PostgreSQL: one text column; SQLite: id, parent, notused, detail.
                    let line: String = row
                        .try_get("QUERY PLAN")
                        .or_else(|_| row.try_get("detail"))
                        .unwrap_or_default();
                    plan.push(line);
                }
                Ok(plan.join("\n"))
            }

            async fn deliveries_of(
                &self,
                organisation_id: uuid::Uuid,
                notice_ids: &[uuid::Uuid],
            ) -> $crate::store::StoreResult<Vec<$crate::store::Delivery>> {
                if notice_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut builder = sqlx::QueryBuilder::new(format!(
                    "SELECT {} FROM deliveries WHERE organisation_id = ",
                    $crate::store::sql::DELIVERY_COLUMNS
                ));
                builder.push_bind(organisation_id);
                builder.push(" AND notice_id IN (");
                let mut ids = builder.separated(", ");
                for id in notice_ids {
                    ids.push_bind(*id);
                }
                builder.push(") ORDER BY notice_id, position");
                Ok(builder.build_query_as().fetch_all(&self.pool).await?)
            }

            async fn has_protected_recipient(
                &self,
                notice_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<bool> {
                Ok(sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM deliveries \
                     WHERE notice_id = $1 AND address_protected = TRUE)",
                )
                .bind(notice_id)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn notices_by_ids(
                &self,
                organisation_id: uuid::Uuid,
                ids: &[uuid::Uuid],
            ) -> $crate::store::StoreResult<Vec<$crate::store::Notice>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut builder = sqlx::QueryBuilder::new(format!(
                    "SELECT {} FROM notices WHERE organisation_id = ",
                    $crate::store::sql::NOTICE_COLUMNS
                ));
                builder.push_bind(organisation_id);
                builder.push(" AND id IN (");
                let mut list = builder.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                builder.push(")");
                Ok(builder.build_query_as().fetch_all(&self.pool).await?)
            }

            async fn deliveries_needing_attention_among(
                &self,
                organisation_id: uuid::Uuid,
                notice_ids: &[uuid::Uuid],
            ) -> $crate::store::StoreResult<Vec<uuid::Uuid>> {
                if notice_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut builder = sqlx::QueryBuilder::new(
                    "SELECT d.id FROM deliveries d WHERE d.organisation_id = ",
                );
                builder.push_bind(organisation_id);
                builder.push(" AND d.notice_id IN (");
                let mut ids = builder.separated(", ");
                for id in notice_ids {
                    ids.push_bind(*id);
                }
                builder.push(format!(") AND {}", $crate::store::sql::NEEDS_ATTENTION));
                Ok(builder
                    .build_query_scalar::<uuid::Uuid>()
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn deliveries_needing_attention(
                &self,
                organisation_id: uuid::Uuid,
                limit: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::Delivery>> {
                let columns =
                    $crate::store::sql::qualified("d", $crate::store::sql::DELIVERY_COLUMNS);
                Ok(sqlx::query_as(&format!(
                    "SELECT {columns} FROM deliveries d WHERE d.organisation_id = $1 AND {} \
                     ORDER BY d.updated_at, d.id LIMIT $2",
                    $crate::store::sql::NEEDS_ATTENTION
                ))
                .bind(organisation_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn deliveries(
                &self,
                organisation_id: uuid::Uuid,
                notice_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::Delivery>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM deliveries WHERE organisation_id = $1 AND notice_id = $2 \
                     ORDER BY position",
                    $crate::store::sql::DELIVERY_COLUMNS
                ))
                .bind(organisation_id)
                .bind(notice_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn record_delivery_sent(
                &self,
                id: uuid::Uuid,
                message_id: i64,
                at: $crate::store::Timestamp,
                documents: &[$crate::store::SentDocument],
                first_legal: Option<&$crate::store::LegalDatesUpdate>,
            ) -> $crate::store::StoreResult<bool> {
                let record = $crate::store::SentRecord {
                    id,
                    message_id,
                    at,
                    documents: documents.to_vec(),
                    first_legal: first_legal.cloned(),
                };
                self.sent_records
                    .submit(record, |records| self.commit_sent_records(records))
                    .await
                    .unwrap_or(Err($crate::store::StoreError::Abandoned))
            }

            async fn record_delivery_needs_attention(
                &self,
                id: uuid::Uuid,
                reason: &str,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer.begin().await?;
                let Some(organisation_id) =
                    Self::set_needs_attention(&mut tx, id, reason, at)
                        .await?
                else {
                    return Ok(());
                };
                let details = serde_json::json!({ "reason": reason }).to_string();
                Self::insert_history(&mut tx, organisation_id, id, at, app::domain::lifecycle::HistoryKind::NeedsAttention.as_str(), &details)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delivery_status_counts(&self) -> $crate::store::StoreResult<Vec<(String, i64)>> {
                Ok(sqlx::query_as(
                    "SELECT status, COUNT(*) FROM deliveries GROUP BY status ORDER BY status",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn reserve_of(
                &self,
                original_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::Delivery>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM deliveries WHERE reserve_of = $1",
                    $crate::store::sql::DELIVERY_COLUMNS
                ))
                .bind(original_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn cancel_delivery(
                &self,
                id: uuid::Uuid,
                reason: &str,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer.begin().await?;
                let organisation_id: Option<uuid::Uuid> = sqlx::query_scalar(
                    "UPDATE deliveries SET status = 'cancelled', updated_at = $2 \
                     WHERE id = $1 AND status = 'queued' AND suomifi_message_id IS NULL \
                     RETURNING organisation_id",
                )
                .bind(id)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(organisation_id) = organisation_id else {
                    return Ok(false);
                };
                let details = serde_json::json!({ "reason": reason }).to_string();
                Self::insert_history(&mut tx, organisation_id, id, at, app::domain::lifecycle::HistoryKind::Cancelled.as_str(), &details)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn record_mailbox_checked(
                &self,
                id: uuid::Uuid,
                active: bool,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer.begin().await?;
                let organisation_id: Option<uuid::Uuid> = sqlx::query_scalar(
                    "UPDATE deliveries SET mailbox_check_deferred = FALSE, updated_at = $2 \
                     WHERE id = $1 RETURNING organisation_id",
                )
                .bind(id)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(organisation_id) = organisation_id else {
                    return Ok(());
                };
                let details = serde_json::json!({ "mailbox_active": active }).to_string();
                Self::insert_history(&mut tx, organisation_id, id, at, app::domain::lifecycle::HistoryKind::MailboxChecked.as_str(), &details)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn change_delivery_mode(
                &self,
                id: uuid::Uuid,
                change: &$crate::store::ModeChange,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.writer.begin().await?;
                let changed: Option<(uuid::Uuid, String)> = sqlx::query_as(
                    "UPDATE deliveries SET decided_mode = $2, channel_reasons = $3, \
                     status = 'queued', needs_attention_reason = NULL, \
                     mailbox_check_deferred = FALSE, updated_at = $4 \
                     WHERE id = $1 AND status = 'needs_attention' AND suomifi_message_id IS NULL \
                     RETURNING organisation_id, requested_mode",
                )
                .bind(id)
                .bind(change.mode.as_str())
                .bind(serde_json::json!(change.reasons).to_string())
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((organisation_id, _)) = changed else {
                    return Ok(false);
                };
                sqlx::query(
                    "UPDATE outbox_jobs SET state = 'pending', attempts = 0, run_after = $3, \
                     leased_until = NULL, lease_owner = NULL, last_error = NULL, finished_at = NULL \
                     WHERE kind = $1 AND subject_id = $2 AND state IN ('failed', 'done')",
                )
                .bind($crate::store::JobKind::SendDelivery.as_str())
                .bind(id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                let details = serde_json::json!({
                    "decided_mode": change.mode,
                    "reasons": change.reasons,
                    "by": change.by,
                })
                .to_string();
                Self::insert_history(&mut tx, organisation_id, id, at, app::domain::lifecycle::HistoryKind::ModeChanged.as_str(), &details)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn record_facts_at_sending(
                &self,
                id: uuid::Uuid,
                recipient_minor: bool,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.writer.begin().await?;
                let organisation_id: Option<uuid::Uuid> = sqlx::query_scalar(
                    "UPDATE deliveries SET recipient_minor = $2, updated_at = $3 \
                     WHERE id = $1 RETURNING organisation_id",
                )
                .bind(id)
                .bind(recipient_minor)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(organisation_id) = organisation_id else {
                    return Ok(());
                };
                let details = serde_json::json!({ "recipient_minor": recipient_minor }).to_string();
                Self::insert_history(&mut tx, organisation_id, id, at, app::domain::lifecycle::HistoryKind::FactsAtSending.as_str(), &details)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delivery_by_message_id(
                &self,
                message_id: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::Delivery>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM deliveries WHERE suomifi_message_id = $1",
                    $crate::store::sql::DELIVERY_COLUMNS
                ))
                .bind(message_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn delivery(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::Delivery>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM deliveries WHERE id = $1",
                    $crate::store::sql::DELIVERY_COLUMNS
                ))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn delivery_to_send(
                &self,
                id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Option<$crate::store::DeliveryToSend>> {
                let Some(row) = sqlx::query(&$crate::store::sql::DELIVERY_TO_SEND_SQL)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                else {
                    return Ok(None);
                };
                let (mut to_send, has_attachments) =
                    $crate::store::delivery_to_send_from_row(&row)?;
                if has_attachments {
                    to_send.attachments = $crate::store::DocumentStore::notice_attachments(
                        self,
                        to_send.notice.id,
                    )
                    .await?;
                }
                Ok(Some(to_send))
            }

            async fn deliveries_by_ids(
                &self,
                ids: &[uuid::Uuid],
            ) -> $crate::store::StoreResult<Vec<$crate::store::Delivery>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut builder = sqlx::QueryBuilder::new(format!(
                    "SELECT {} FROM deliveries WHERE id IN (",
                    $crate::store::sql::DELIVERY_COLUMNS
                ));
                let mut list = builder.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                builder.push(")");
                Ok(builder.build_query_as().fetch_all(&self.pool).await?)
            }
        }

        impl $store {
            /// Commits a group of send records in one transaction (one durable flush for
            /// all). Should one of them fail, each is tried again alone, so that it fails only
            /// itself: a send is recorded at most once either way (see `claim_sent`).
            async fn commit_sent_records(
                &self,
                records: Vec<$crate::store::SentRecord>,
            ) -> Vec<$crate::store::StoreResult<bool>> {
                if records.len() > 1 {
                    if let Ok(answers) = self.commit_sent_together(&records).await {
                        return answers.into_iter().map(Ok).collect();
                    }
                }
                let mut answers = Vec::with_capacity(records.len());
                for record in &records {
                    answers.push(self.commit_sent_together(std::slice::from_ref(record)).await.map(|mut a| a.remove(0)));
                }
                answers
            }

            async fn commit_sent_together(
                &self,
                records: &[$crate::store::SentRecord],
            ) -> $crate::store::StoreResult<Vec<bool>> {
                use std::collections::HashSet;
                // A delivery recorded twice in one group (a job run again beside itself) is
                // the first record's: the later one finds it recorded, as it would alone.
                let mut seen = HashSet::new();
                let first: Vec<&$crate::store::SentRecord> =
                    records.iter().filter(|record| seen.insert(record.id)).collect();
                let mut tx = self.writer.begin().await?;
                // Every delivery's row first (in id order), then the history and its feed
                // lock: the order every writer keeps, so that no two wait on each other.
                Self::lock_deliveries_in_id_order(&mut tx, &first).await?;
                let claimed = Self::claim_sent(&mut tx, &first).await?;
                let claimed: Vec<(&$crate::store::SentRecord, uuid::Uuid)> = first
                    .into_iter()
                    .filter_map(|record| claimed.get(&record.id).map(|organisation| (record, *organisation)))
                    .collect();
                Self::insert_sent_documents(&mut tx, &claimed).await?;
                let legal_stored = Self::apply_first_legal_dates(&mut tx, &claimed).await?;
                Self::insert_sent_history(&mut tx, &claimed, &legal_stored).await?;
                tx.commit().await?;
                let claimed: HashSet<uuid::Uuid> = claimed.iter().map(|(record, _)| record.id).collect();
                let mut answered = HashSet::new();
                Ok(records
                    .iter()
                    .map(|record| {
                        answered.insert(record.id)
                            && claimed.contains(&record.id)
                            && legal_stored.contains(&record.id)
                    })
                    .collect())
            }

            /// Where the database locks rows (PostgreSQL), the group's deliveries' rows, taken
            /// in id order by one statement (rows are locked as the sorted rows come out).
            async fn lock_deliveries_in_id_order(
                tx: &mut sqlx::Transaction<'_, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                records: &[&$crate::store::SentRecord],
            ) -> Result<(), sqlx::Error> {
                // One row is taken by the update itself, in no order to keep.
                let Some(clause) = <$store>::lock_rows_in_id_order().filter(|_| records.len() > 1) else {
                    return Ok(());
                };
                let mut lock = sqlx::QueryBuilder::new("SELECT id FROM deliveries WHERE id IN (");
                let mut ids = lock.separated(", ");
                for record in records {
                    ids.push_bind(record.id);
                }
                lock.push(") ");
                lock.push(clause);
                lock.build().fetch_all(&mut **tx).await?;
                Ok(())
            }

            /// Suomi.fi has the messages: each delivery's status and message id, once, in one
            /// statement. The organisation of each delivery this recorded; one recorded before
            /// is not among them.
            async fn claim_sent(
                tx: &mut sqlx::Transaction<'_, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                records: &[&$crate::store::SentRecord],
            ) -> Result<std::collections::HashMap<uuid::Uuid, uuid::Uuid>, sqlx::Error> {
                use app::domain::lifecycle::DeliveryStatus;
                // Once: a job run again after its lease lapsed (another instance, a stall) may
                // record the same send; the first record keeps the documents and the history.
                // Statuses only move forward: a late "sent" must not overwrite "read".
                let sendable = $crate::store::sql::status_list(&DeliveryStatus::SENDABLE);
                let mut claim = sqlx::QueryBuilder::new(format!(
                    "UPDATE deliveries SET suomifi_message_id = sent.column2, \
                     status = CASE WHEN status IN ({sendable}) THEN '{}' ELSE status END, \
                     needs_attention_reason = CASE WHEN status IN ({sendable}) THEN NULL \
                                                   ELSE needs_attention_reason END, \
                     submitted_at = COALESCE(submitted_at, sent.column3), updated_at = sent.column3 \
                     FROM (",
                    DeliveryStatus::Sent.as_str()
                ));
                claim.push_values(records, |mut row, record| {
                    row.push_bind(record.id).push_bind(record.message_id).push_bind(record.at);
                });
                claim.push(
                    ") AS sent WHERE deliveries.id = sent.column1 \
                     AND deliveries.suomifi_message_id IS NULL \
                     RETURNING deliveries.id, deliveries.organisation_id",
                );
                let claimed: Vec<(uuid::Uuid, uuid::Uuid)> =
                    claim.build_query_as().fetch_all(&mut **tx).await?;
                Ok(claimed.into_iter().collect())
            }

            /// The hashes of every document the claimed sends carried, in one statement.
            async fn insert_sent_documents(
                tx: &mut sqlx::Transaction<'_, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                claimed: &[(&$crate::store::SentRecord, uuid::Uuid)],
            ) -> Result<(), sqlx::Error> {
                let documents: Vec<_> = claimed
                    .iter()
                    .flat_map(|(record, organisation_id)| {
                        record.documents.iter().map(move |document| (*record, *organisation_id, document))
                    })
                    .collect();
                if documents.is_empty() {
                    return Ok(());
                }
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO delivery_documents (id, organisation_id, delivery_id, kind, \
                     filename, media_type, sha256, size_bytes, sent_at) ",
                );
                insert.push_values(documents, |mut row, (record, organisation_id, document)| {
                    row.push_bind(uuid::Uuid::now_v7())
                        .push_bind(organisation_id)
                        .push_bind(record.id)
                        .push_bind(document.kind.clone())
                        .push_bind(document.filename.clone())
                        .push_bind(document.media_type.clone())
                        .push_bind(document.sha256.clone())
                        .push_bind(document.size_bytes)
                        .push_bind(record.at);
                });
                insert.build().execute(&mut **tx).await?;
                Ok(())
            }

            /// The first legal dates of the claimed sends, in the send's own commit (no moment
            /// in which a sent delivery has no dates), each only where the dates are still
            /// those it was computed against. The deliveries whose dates were stored.
            async fn apply_first_legal_dates(
                tx: &mut sqlx::Transaction<'_, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                claimed: &[(&$crate::store::SentRecord, uuid::Uuid)],
            ) -> Result<std::collections::HashSet<uuid::Uuid>, sqlx::Error> {
                let updates: Vec<_> = claimed
                    .iter()
                    .filter_map(|(record, _)| record.first_legal.as_ref().map(|update| (record.id, update)))
                    .collect();
                if updates.is_empty() {
                    return Ok(Default::default());
                }
                let mut apply = sqlx::QueryBuilder::new(
                    "UPDATE deliveries SET channel_taken = dates.column2, \
                     deemed_receipt = dates.column3, appeal_deadline = dates.column4, \
                     legal_rule = dates.column5, updated_at = dates.column6, \
                     legal_basis = dates.column7 FROM (",
                );
                apply.push_values(updates, |mut row, (id, update)| {
                    let (channel, receipt, deadline) = &update.previous;
                    row.push_bind(id)
                        .push_bind(update.channel_taken.clone())
                        .push_bind(update.deemed_receipt.clone())
                        .push_bind(update.appeal_deadline.clone())
                        .push_bind(update.legal_rule.clone())
                        .push_bind(update.history.occurred_at)
                        .push_bind(update.legal_basis.clone())
                        .push_bind(channel.clone())
                        .push_bind(receipt.clone())
                        .push_bind(deadline.clone())
                        .push_bind(update.previous_rule.clone());
                });
                apply.push(
                    ") AS dates WHERE deliveries.id = dates.column1 \
                     AND deliveries.channel_taken IS NOT DISTINCT FROM dates.column8 \
                     AND deliveries.deemed_receipt IS NOT DISTINCT FROM dates.column9 \
                     AND deliveries.appeal_deadline IS NOT DISTINCT FROM dates.column10 \
                     AND deliveries.legal_rule IS NOT DISTINCT FROM dates.column11 \
                     RETURNING deliveries.id",
                );
                let stored: Vec<(uuid::Uuid,)> = apply.build_query_as().fetch_all(&mut **tx).await?;
                Ok(stored.into_iter().map(|(id,)| id).collect())
            }

            /// Each claimed send's history entry, then its legal dates' entry where they were
            /// stored, in one statement (the feed numbers them in this order).
            async fn insert_sent_history(
                tx: &mut sqlx::Transaction<'_, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                claimed: &[(&$crate::store::SentRecord, uuid::Uuid)],
                legal_stored: &std::collections::HashSet<uuid::Uuid>,
            ) -> Result<(), sqlx::Error> {
                use app::domain::lifecycle::HistoryKind;
                let mut entries = Vec::new();
                for (record, organisation_id) in claimed {
                    let details = serde_json::json!({
                        "message_id": record.message_id,
                        "documents": record.documents.iter().map(|d| serde_json::json!({
                            "kind": d.kind, "filename": d.filename, "sha256": d.sha256,
                        })).collect::<Vec<_>>(),
                    });
                    entries.push((*organisation_id, record.id, record.at, HistoryKind::Submitted.as_str().to_string(), details.to_string()));
                    if let Some(update) = record.first_legal.as_ref().filter(|_| legal_stored.contains(&record.id)) {
                        let entry = &update.history;
                        entries.push((entry.organisation_id, entry.delivery_id, entry.occurred_at, entry.kind.clone(), entry.details.clone()));
                    }
                }
                if entries.is_empty() {
                    return Ok(());
                }
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO delivery_history (id, organisation_id, delivery_id, occurred_at, kind, details) ",
                );
                insert.push_values(entries, |mut row, (organisation_id, delivery_id, at, kind, details)| {
                    row.push_bind(uuid::Uuid::now_v7())
                        .push_bind(organisation_id)
                        .push_bind(delivery_id)
                        .push_bind(at)
                        .push_bind(kind)
                        .push_bind(details);
                });
                insert.build().execute(&mut **tx).await?;
                Ok(())
            }

            /// Whether a selective filter should start the query (`NoticeSearchStart`): its
            /// index is asked how many rows it holds, up to one past the limit.
            async fn notice_search_start(
                &self,
                query: &$crate::store::NoticeQuery,
            ) -> $crate::store::StoreResult<$crate::store::sql::NoticeSearchStart> {
                use $crate::store::sql::NoticeSearchStart;
                if !query.lookups.is_empty() {
                    return Ok(NoticeSearchStart::Person);
                }
                let probed = $crate::store::sql::indexable_text(query)
                    .filter(|_| <$store>::counts_text_matches_first());
                if let Some(text) = probed {
                    let text_matches = |rows: &mut _| <$store>::push_text_matches(rows, &text);
                    if self.is_selective(text_matches).await? {
                        return Ok(NoticeSearchStart::Text);
                    }
                }
                if query.status.is_some() {
                    let in_status = |rows: &mut _| Self::push_selected_deliveries(rows, query);
                    if self.is_selective(in_status).await? {
                        return Ok(NoticeSearchStart::Status);
                    }
                }
                Ok(NoticeSearchStart::List)
            }

            /// Whether the rows `push` selects are at most `SELECTIVE_AT_MOST`.
            async fn is_selective<'q>(
                &self,
                push: impl FnOnce(&mut sqlx::QueryBuilder<'q, <Self as $crate::store::sql_proof::HasDatabase>::Database>),
            ) -> $crate::store::StoreResult<bool> {
                use $crate::store::sql::SELECTIVE_AT_MOST;
                let mut count = sqlx::QueryBuilder::new("SELECT COUNT(*) FROM (");
                push(&mut count);
                count.push(" LIMIT ");
                count.push_bind(SELECTIVE_AT_MOST + 1);
                count.push(") selected");
                let found: i64 = count.build_query_scalar().fetch_one(&self.pool).await?;
                Ok(found <= SELECTIVE_AT_MOST)
            }

            /// The notices of a person's deliveries (by lookup hash) or of the deliveries in
            /// the query's status: the few a selective filter starts from.
            fn push_selected_deliveries<'q>(
                builder: &mut sqlx::QueryBuilder<'q, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                query: &'q $crate::store::NoticeQuery,
            ) {
                builder.push("SELECT DISTINCT notice_id FROM deliveries WHERE organisation_id = ");
                builder.push_bind(query.organisation_id);
                if query.lookups.is_empty() {
                    builder.push(" AND status = ");
                    builder.push_bind(query.status.map(|status| status.as_str()).unwrap_or_default());
                } else {
                    builder.push(" AND identity_lookup IN (");
                    let mut lookups = builder.separated(", ");
                    for lookup in &query.lookups {
                        lookups.push_bind(lookup.as_slice());
                    }
                    builder.push(")");
                }
            }

            /// The free-text filter while walking the list: through the trigram index where the
            /// database plans it freely, else a `LIKE` on the columns themselves.
            fn push_text_filter<'q>(
                builder: &mut sqlx::QueryBuilder<'q, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                query: &'q $crate::store::NoticeQuery,
                text: &str,
            ) {
                let planned_freely = $crate::store::sql::indexable_text(query)
                    .filter(|_| !<$store>::counts_text_matches_first());
                if let Some(indexable) = planned_freely {
                    builder.push(" AND n.id IN (");
                    <$store>::push_text_matches(builder, &indexable);
                    builder.push(")");
                    return;
                }
                let pattern = $crate::store::sql::contains_pattern(text);
                let folded = $crate::store::sql::folded;
                builder.push(format!(" AND ({} LIKE ", folded("n.case_reference")));
                builder.push_bind(pattern.clone());
                builder.push(format!(" ESCAPE '\\' OR {} LIKE ", folded("n.title")));
                builder.push_bind(pattern.clone());
                builder.push(format!(
                    " ESCAPE '\\' OR EXISTS (SELECT 1 FROM deliveries d WHERE d.notice_id = n.id \
                     AND {} LIKE ",
                    folded("d.recipient_name")
                ));
                builder.push_bind(pattern);
                builder.push(" ESCAPE '\\'))");
            }

            /// The notice list's query: organisation, filters, keyset, order, limit.
            fn push_notice_search<'q>(
                builder: &mut sqlx::QueryBuilder<'q, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                query: &'q $crate::store::NoticeQuery,
                start: &$crate::store::sql::NoticeSearchStart,
            ) {
                use $crate::store::sql::NoticeSearchStart;
                let columns =
                    $crate::store::sql::qualified("n", $crate::store::sql::NOTICE_COLUMNS);
                // A selective filter's few notices are found first and then sorted, rather
                // than the whole list walked checking each. CROSS JOIN keeps that order on
                // SQLite; PostgreSQL plans it freely.
                builder.push(format!("SELECT {columns} FROM "));
                match start {
                    NoticeSearchStart::List => builder.push("notices n WHERE "),
                    NoticeSearchStart::Person | NoticeSearchStart::Status => {
                        builder.push("(");
                        Self::push_selected_deliveries(builder, query);
                        builder.push(") selected CROSS JOIN notices n WHERE n.id = selected.notice_id AND ")
                    }
                    NoticeSearchStart::Text => {
                        builder.push("(");
                        let text = $crate::store::sql::indexable_text(query).unwrap_or_default();
                        <$store>::push_text_matches(builder, &text);
                        builder.push(") selected CROSS JOIN notices n WHERE n.id = selected.notice_id AND ")
                    }
                };
                builder.push("n.organisation_id = ");
                builder.push_bind(query.organisation_id);
                if let Some(kind) = &query.notice_type {
                    builder.push(" AND n.notice_type = ");
                    builder.push_bind(kind.as_str());
                }
                if let Some(from) = query.created_from {
                    builder.push(" AND n.created_at >= ");
                    builder.push_bind(from);
                }
                if let Some(before) = query.created_before {
                    builder.push(" AND n.created_at < ");
                    builder.push_bind(before);
                }
                if let (Some(text), false) =
                    (&query.text, matches!(start, NoticeSearchStart::Text))
                {
                    Self::push_text_filter(builder, query, text);
                }
                if let (Some(status), false) =
                    (query.status, matches!(start, NoticeSearchStart::Status))
                {
                    builder.push(
                        " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.notice_id = n.id AND d.status = ",
                    );
                    builder.push_bind(status.as_str());
                    builder.push(")");
                }
                if query.needs_attention {
                    builder.push(format!(
                        " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.notice_id = n.id AND {})",
                        $crate::store::sql::NEEDS_ATTENTION
                    ));
                }
                // Newest first unless asked; a page before a place runs the other way and is
                // turned back by the caller.
                let descending = !query.oldest_first ^ query.before.is_some();
                if let Some((at, id)) = query.after.or(query.before) {
                    builder.push(if descending {
                        " AND (n.created_at, n.id) < ("
                    } else {
                        " AND (n.created_at, n.id) > ("
                    });
                    builder.push_bind(at);
                    builder.push(", ");
                    builder.push_bind(id);
                    builder.push(")");
                }
                builder.push(if descending {
                    " ORDER BY n.created_at DESC, n.id DESC LIMIT "
                } else {
                    " ORDER BY n.created_at ASC, n.id ASC LIMIT "
                });
                builder.push_bind(query.limit);
            }

            /// A queued delivery needs a person; a late give-up never moves one Suomi.fi has.
            async fn set_needs_attention(
                tx: &mut sqlx::Transaction<'_, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                id: uuid::Uuid,
                reason: &str,
                at: $crate::store::Timestamp,
            ) -> $crate::store::StoreResult<Option<uuid::Uuid>> {
                use app::domain::lifecycle::DeliveryStatus;
                // The write comes first in its transaction: SQLite (WAL) cannot upgrade a
                // read snapshot that another connection has written past.
                Ok(sqlx::query_scalar(
                    "UPDATE deliveries SET \
                     status = CASE WHEN status = $3 THEN $2 ELSE status END, \
                     needs_attention_reason = CASE WHEN status = $3 THEN $4 \
                                                   ELSE needs_attention_reason END, \
                     updated_at = $5 WHERE id = $1 RETURNING organisation_id",
                )
                .bind(id)
                .bind(DeliveryStatus::NeedsAttention.as_str())
                .bind(DeliveryStatus::Queued.as_str())
                .bind(reason)
                .bind(at)
                .fetch_optional(&mut **tx)
                .await?)
            }

            /// Writes the update over exactly the values it was computed from, with its
            /// history entry; `false` (nothing written) when the delivery moved meanwhile.
            async fn apply_legal_dates(
                tx: &mut sqlx::Transaction<'_, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                delivery_id: uuid::Uuid,
                update: &$crate::store::LegalDatesUpdate,
            ) -> Result<bool, sqlx::Error> {
                let (previous_channel, previous_receipt, previous_deadline) = &update.previous;
                let changed = sqlx::query(
                    "UPDATE deliveries SET channel_taken = $2, deemed_receipt = $3, \
                     appeal_deadline = $4, legal_rule = $5, updated_at = $6, legal_basis = $11 \
                     WHERE id = $1 \
                     AND channel_taken IS NOT DISTINCT FROM $7 \
                     AND deemed_receipt IS NOT DISTINCT FROM $8 \
                     AND appeal_deadline IS NOT DISTINCT FROM $9 \
                     AND legal_rule IS NOT DISTINCT FROM $10",
                )
                .bind(delivery_id)
                .bind(&update.channel_taken)
                .bind(&update.deemed_receipt)
                .bind(&update.appeal_deadline)
                .bind(&update.legal_rule)
                .bind(update.history.occurred_at)
                .bind(previous_channel)
                .bind(previous_receipt)
                .bind(previous_deadline)
                .bind(&update.previous_rule)
                .bind(&update.legal_basis)
                .execute(&mut **tx)
                .await?
                .rows_affected()
                    == 1;
                if changed {
                    let entry = &update.history;
                    Self::insert_history(tx, entry.organisation_id, entry.delivery_id, entry.occurred_at, &entry.kind, &entry.details)
                        .await?;
                }
                Ok(changed)
            }

            async fn insert_history(
                tx: &mut sqlx::Transaction<'_, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                organisation_id: uuid::Uuid,
                delivery_id: uuid::Uuid,
                at: $crate::store::Timestamp,
                kind: &str,
                details: &str,
            ) -> Result<(), sqlx::Error> {
                sqlx::query($crate::store::sql::INSERT_HISTORY)
                .bind(uuid::Uuid::now_v7())
                .bind(organisation_id)
                .bind(delivery_id)
                .bind(at)
                .bind(kind)
                .bind(details)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn insert_audit_event<'e, E>(
                executor: E,
                event: &$crate::store::AuditEvent,
            ) -> Result<(), sqlx::Error>
            where
                E: sqlx::Executor<'e, Database = <Self as $crate::store::sql_proof::HasDatabase>::Database>,
            {
                sqlx::query(
                    "INSERT INTO audit_events (id, organisation_id, occurred_at, actor_user_id, \
                     actor_label, action, subject_kind, subject_id, client_ip, details) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(event.id)
                .bind(event.organisation_id)
                .bind(event.occurred_at)
                .bind(event.actor_user_id)
                .bind(&event.actor_label)
                .bind(&event.action)
                .bind(&event.subject_kind)
                .bind(&event.subject_id)
                .bind(&event.client_ip)
                .bind(&event.details)
                .execute(executor)
                .await?;
                Ok(())
            }

            async fn existing_notice(
                &self,
                notice: &$crate::store::NewNotice,
            ) -> Result<Option<uuid::Uuid>, sqlx::Error> {
                sqlx::query_scalar(
                    "SELECT id FROM notices \
                     WHERE organisation_id = $1 AND author_id = $2 AND idempotency_key = $3",
                )
                .bind(notice.organisation_id)
                .bind(notice.author_id)
                .bind(&notice.idempotency_key)
                .fetch_optional(&self.pool)
                .await
            }

            async fn insert_notice(&self, notice: &$crate::store::NewNotice) -> Result<(), sqlx::Error> {
                let now = $crate::store::Timestamp::now();
                let mut tx = self.writer.begin().await?;
                sqlx::query(
                    "INSERT INTO notices (id, organisation_id, author_id, notice_type, \
                     case_reference, title, body, body_format, language, verifiable, appeal_days, \
                     service_id, idempotency_key, created_at, appeal_instructions, \
                     paper_letter_sha256, decision_date, decision_maker, parties, contact_person, \
                     contact_details, automated_decision, electronic_body, in_reply_to_message_id, \
                     template_id, template_version, replies_allowed, letter_input, request_sha256) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                     $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)",
                )
                .bind(notice.id)
                .bind(notice.organisation_id)
                .bind(notice.author_id)
                .bind(&notice.notice_type)
                .bind(&notice.case_reference)
                .bind(&notice.title)
                .bind(&notice.body)
                .bind(&notice.body_format)
                .bind(&notice.language)
                .bind(notice.verifiable)
                .bind(notice.appeal_days)
                .bind(&notice.service_id)
                .bind(&notice.idempotency_key)
                .bind(now)
                .bind(&notice.appeal_instructions)
                .bind(&notice.paper_letter_sha256)
                .bind(&notice.decision.decision_date)
                .bind(&notice.decision.decision_maker)
                .bind((!notice.decision.parties.is_empty())
                    .then(|| serde_json::json!(notice.decision.parties).to_string()))
                .bind(&notice.decision.contact_person)
                .bind(&notice.decision.contact_details)
                .bind(notice.decision.automated_decision)
                .bind(&notice.electronic_body)
                .bind(notice.in_reply_to_message_id)
                .bind(notice.template.map(|t| t.id))
                .bind(notice.template.map(|t| t.version))
                .bind(notice.replies_allowed)
                .bind(&notice.letter_input)
                .bind(&notice.request_sha256)
                .execute(&mut *tx)
                .await?;
                for attachment in &notice.attachments {
                    sqlx::query(
                        "INSERT INTO notice_attachments (notice_id, position, filename, \
                         media_type, sha256, size_bytes) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(notice.id)
                    .bind(attachment.position)
                    .bind(&attachment.filename)
                    .bind(&attachment.media_type)
                    .bind(&attachment.sha256)
                    .bind(attachment.size_bytes)
                    .execute(&mut *tx)
                    .await?;
                }
                for (position, delivery) in notice.deliveries.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO deliveries (id, organisation_id, notice_id, position, role, \
                         recipient_name, identity_kind, identity_sealed, identity_lookup, \
                         identity_masked, address_sealed, facts, requested_mode, decided_mode, \
                         channel_reasons, paper_addressee, status, created_at, updated_at, \
                         address_protected, content_not_for_others, recipient_minor, \
                         mailbox_check_deferred) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                         $15, $16, 'queued', $17, $17, $18, $19, $20, $21)",
                    )
                    .bind(delivery.id)
                    .bind(notice.organisation_id)
                    .bind(notice.id)
                    .bind(position as i32)
                    .bind(&delivery.role)
                    .bind(&delivery.recipient_name)
                    .bind(&delivery.identity_kind)
                    .bind(&delivery.identity_sealed)
                    .bind(&delivery.identity_lookup)
                    .bind(&delivery.identity_masked)
                    .bind(&delivery.address_sealed)
                    .bind(&delivery.facts)
                    .bind(delivery.requested_mode.as_str())
                    .bind(delivery.decided_mode.as_str())
                    .bind(serde_json::json!(delivery.channel_reasons).to_string())
                    .bind(delivery.paper_addressee.as_str())
                    .bind(now)
                    .bind(delivery.address_protected)
                    .bind(delivery.content_not_for_others)
                    .bind(delivery.recipient_minor)
                    .bind(delivery.mailbox_check_deferred)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO outbox_jobs (id, organisation_id, kind, subject_id, state, \
                         run_after, created_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
                    )
                    .bind(uuid::Uuid::now_v7())
                    .bind(notice.organisation_id)
                    .bind($crate::store::JobKind::SendDelivery.as_str())
                    .bind(delivery.id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    let details = serde_json::json!({
                        "requested_mode": delivery.requested_mode,
                        "decided_mode": delivery.decided_mode,
                        "reasons": delivery.channel_reasons,
                        "paper_addressee": delivery.paper_addressee,
                        "mailbox_check_deferred": delivery.mailbox_check_deferred,
                    });
                    Self::insert_history(&mut tx, notice.organisation_id, delivery.id, now, app::domain::lifecycle::HistoryKind::Queued.as_str(), &details.to_string())
                        .await?;
                }
                sqlx::query("INSERT INTO notice_search (notice_id, search_text) VALUES ($1, $2)")
                    .bind(notice.id)
                    .bind($crate::store::sql::notice_search_text(notice))
                    .execute(&mut *tx)
                    .await?;
                if let Some(event) = &notice.audit {
                    Self::insert_audit_event(&mut *tx, event).await?;
                }
                tx.commit().await
            }
        }
    };
}

macro_rules! impl_shared_event_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::EventStore for $store {
            async fn continuation_token(
                &self,
                service_id: &str,
            ) -> $crate::store::StoreResult<Option<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT continuation_token FROM suomifi_cursors WHERE service_id = $1",
                )
                .bind(service_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn save_continuation_token(
                &self,
                service_id: &str,
                token: &str,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO suomifi_cursors (service_id, continuation_token, updated_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (service_id) DO UPDATE \
                     SET continuation_token = excluded.continuation_token, \
                         updated_at = excluded.updated_at",
                )
                .bind(service_id)
                .bind(token)
                .bind($crate::store::Timestamp::now())
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn record_events(
                &self,
                events: &[($crate::store::StoredEvent, Option<app::domain::lifecycle::DeliveryStatus>)],
            ) -> $crate::store::StoreResult<Vec<bool>> {
                let now = $crate::store::Timestamp::now();
                let mut tx = self.writer.begin().await?;
                // The deliveries' rows first (in id order; a delivery's own events in feed
                // order), then the history and its feed lock: the order every writer keeps, so
                // that two instances never wait on each other.
                let mut in_row_order: Vec<usize> = (0..events.len()).collect();
                in_row_order.sort_by_key(|&n| events[n].0.delivery_id);
                let mut new = vec![false; events.len()];
                for n in in_row_order {
                    let (event, moves_to) = &events[n];
                    new[n] = Self::record_event(&mut tx, event, *moves_to, now).await?;
                }
                for ((event, moves_to), _) in events.iter().zip(&new).filter(|(_, new)| **new) {
                    Self::record_event_history(&mut tx, event, *moves_to, now).await?;
                }
                tx.commit().await?;
                Ok(new)
            }

            async fn delivery_events(
                &self,
                delivery_id: uuid::Uuid,
            ) -> $crate::store::StoreResult<Vec<$crate::store::StoredEvent>> {
                Ok(sqlx::query_as(
                    "SELECT id, organisation_id, delivery_id, message_id, service_id, event_type, \
                     event_time, payload FROM suomifi_events WHERE delivery_id = $1 \
                     ORDER BY event_time, fetched_at",
                )
                .bind(delivery_id)
                .fetch_all(&self.pool)
                .await?)
            }
        }

        impl $store {
            /// One event, unless stored already (`true` when new), and the status it moves
            /// its delivery to, as `record_events` says; the history entry comes after.
            async fn record_event(
                tx: &mut sqlx::Transaction<'_, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                event: &$crate::store::StoredEvent,
                moves_to: Option<app::domain::lifecycle::DeliveryStatus>,
                now: $crate::store::Timestamp,
            ) -> Result<bool, sqlx::Error> {
                let inserted = sqlx::query(
                    "INSERT INTO suomifi_events (id, organisation_id, delivery_id, message_id, \
                     service_id, event_type, event_time, payload, fetched_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (message_id, event_type, event_time) DO NOTHING",
                )
                .bind(event.id)
                .bind(event.organisation_id)
                .bind(event.delivery_id)
                .bind(event.message_id)
                .bind(&event.service_id)
                .bind(&event.event_type)
                .bind(&event.event_time)
                .bind(&event.payload)
                .bind(now)
                .execute(&mut **tx)
                .await?
                .rows_affected()
                    == 1;
                if let (true, Some(delivery_id), Some(to)) = (inserted, event.delivery_id, moves_to) {
                    // Decided in the statement, from whatever the status is now: only forward.
                    let earlier = $crate::store::sql::status_list(
                        &app::domain::lifecycle::DeliveryStatus::before(to),
                    );
                    if !earlier.is_empty() {
                        sqlx::query(&format!(
                            "UPDATE deliveries SET status = $2, updated_at = $3 \
                             WHERE id = $1 AND status IN ({earlier})"
                        ))
                        .bind(delivery_id)
                        .bind(to.as_str())
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                    }
                }
                Ok(inserted)
            }

            /// A new event's entry in its delivery's history.
            async fn record_event_history(
                tx: &mut sqlx::Transaction<'_, <Self as $crate::store::sql_proof::HasDatabase>::Database>,
                event: &$crate::store::StoredEvent,
                moves_to: Option<app::domain::lifecycle::DeliveryStatus>,
                now: $crate::store::Timestamp,
            ) -> Result<(), sqlx::Error> {
                let (Some(delivery_id), Some(organisation_id)) =
                    (event.delivery_id, event.organisation_id)
                else {
                    return Ok(());
                };
                let details = serde_json::json!({
                    "event_type": event.event_type,
                    "event_time": event.event_time,
                    "message_id": event.message_id,
                    "status": moves_to,
                });
                Self::insert_history(tx, organisation_id, delivery_id, now, app::domain::lifecycle::HistoryKind::SuomifiEvent.as_str(), &details.to_string())
                    .await
            }
        }
    };
}

pub(super) use impl_shared_event_store;
pub(super) use impl_shared_job_queue;
pub(super) use impl_shared_notice_store;
pub(super) use impl_shared_stores;

#[cfg(test)]
mod tests {
    use super::number_in;

    #[test]
    fn a_case_references_number_is_what_the_index_is_asked_for() {
        assert_eq!(number_in("dnro 123456/2026"), Some("123456"));
        assert_eq!(number_in("dnro 4/2026"), Some("2026"));
        assert_eq!(
            number_in("dnro 1234/2026"),
            Some("1234"),
            "the number, not its year"
        );
        assert_eq!(number_in("päätös"), None, "no number");
        assert_eq!(number_in("12/34"), None, "no part of three");
        assert_eq!(number_in("2026"), None, "the whole text already");
        assert_eq!(number_in("vastaanottaja 17"), None);
    }
}
