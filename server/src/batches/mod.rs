//! Sending to many: one notice to every recipient of a file (or of an API request). The dry
//! run checks every row as queuing would check its recipient and keeps the result (bad rows
//! with their spreadsheet row numbers and reasons, good rows sealed, counts per delivery
//! mode); nothing is queued until a caseworker confirms. Confirming writes one outbox job per
//! good row in one transaction; each job queues its row's notice through the compose service
//! under a key of its own, so a crash, a restart or a second worker never sends a row twice.

pub mod file;
pub mod job;
pub mod pages;
pub mod results;
mod views;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use app::auth::Actor;
use app::compose::{FieldProblem, NoticeDraft, Problem, RecipientDraft};
use app::domain::channel::DeliveryMode;
use app::domain::notice::{PostalAddress, RecipientRole};
use app::error::AppError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use self::file::{Column, FileProblem, FileRow};
use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::notices::compose::ComposeService;
use crate::secrets::{Column as Sealed, DataKeys};
use crate::store::{delivery_settings, Batch, BatchCheck, BatchRowRecord, Store, Timestamp};

/// Rows written per transaction during the dry run.
const ROWS_PER_WRITE: usize = 500;

#[derive(Clone)]
pub struct BatchService {
    pub store: Arc<dyn Store>,
    pub compose: ComposeService,
    pub keys: DataKeys,
    pub audit: Audit,
    /// How long a check may go without writing a step before it counts as interrupted.
    pub check_lease: std::time::Duration,
}

/// One recipient to check: from a file's row or an API request's.
#[derive(Clone)]
pub struct InputRow {
    pub row_number: u64,
    pub recipient: RecipientDraft,
    pub case_reference: Option<String>,
    /// Problems found while reading the row (a mode that names nothing).
    pub problems: Vec<FieldProblem>,
}

/// What a row keeps sealed until it is queued.
#[derive(Serialize, Deserialize)]
struct SealedRecipient {
    recipient: RecipientDraft,
    case_reference: Option<String>,
}

/// A new batch: the common notice and where its rows came from.
pub struct NewBatch {
    /// Every row's notice, recipients empty; its case reference is the rows' default.
    pub draft: NoticeDraft,
    pub filename: String,
    pub file_sha256: String,
}

/// A file's row as a recipient, with the form's default delivery mode.
pub fn input_row(row: &FileRow, default_mode: DeliveryMode) -> InputRow {
    let mut problems = Vec::new();
    let mode = match row.get(Column::Mode) {
        None => default_mode,
        Some(text) => parse_mode(text).unwrap_or_else(|| {
            problems.push(FieldProblem::new("mode", Problem::ChoiceRequired));
            default_mode
        }),
    };
    let name = row.get(Column::Name).unwrap_or_default().to_string();
    let street = row.get(Column::StreetAddress);
    let zip = row.get(Column::ZipCode);
    let city = row.get(Column::City);
    let address = (street.is_some() || zip.is_some() || city.is_some()).then(|| PostalAddress {
        name: name.clone(),
        additional_name: row.get(Column::AdditionalName).map(str::to_string),
        street_address: street.unwrap_or_default().to_string(),
        zip_code: zip.unwrap_or_default().to_string(),
        city: city.unwrap_or_default().to_string(),
        country_code: row.get(Column::CountryCode).unwrap_or("FI").to_string(),
    });
    InputRow {
        row_number: row.row_number,
        recipient: RecipientDraft {
            role: RecipientRole::Party,
            name,
            identity_code: row.get(Column::IdentityCode).map(str::to_string),
            address,
            mode,
            address_protected: row.get(Column::AddressProtected).is_some_and(is_yes),
            content_not_for_others: false,
        },
        case_reference: row.get(Column::CaseReference).map(str::to_string),
        problems,
    }
}

/// A mode as the file may write it (the API's names, or the words of the pages).
pub fn parse_mode(text: &str) -> Option<DeliveryMode> {
    match text.trim().to_lowercase().as_str() {
        "multichannel" | "monikanava" | "flerkanal" => Some(DeliveryMode::Multichannel),
        "paper_only" | "paperi" | "papper" | "paper" => Some(DeliveryMode::PaperOnly),
        "paper_without_id" => Some(DeliveryMode::PaperWithoutId),
        "electronic_only" | "sähköinen" | "elektronisk" | "electronic" => {
            Some(DeliveryMode::ElectronicOnly)
        }
        _ => None,
    }
}

fn is_yes(text: &str) -> bool {
    matches!(
        text.trim().to_lowercase().as_str(),
        "x" | "1" | "kyllä" | "k" | "ja" | "yes" | "y" | "true"
    )
}

/// The dry run's tally while rows stream in.
#[derive(Default)]
struct Tally {
    total: i64,
    good: i64,
    modes: BTreeMap<String, i64>,
    /// Lookup hashes of the identity codes seen, with their rows: the same recipient twice
    /// is pointed out.
    seen: HashMap<Vec<u8>, u64>,
    /// A good row's recipient, to check the common notice with.
    sample: Option<InputRow>,
    pending: Vec<BatchRowRecord>,
}

impl BatchService {
    fn lease_until(&self) -> Timestamp {
        Timestamp::now()
            + time::Duration::try_from(self.check_lease).unwrap_or(time::Duration::MINUTE)
    }

    /// Writes the rows checked so far, renewing the check's lease; `false` when the check was
    /// given up meanwhile.
    async fn write_rows(&self, batch_id: Uuid, tally: &mut Tally) -> Result<bool, AppError> {
        self.store
            .add_batch_rows(
                batch_id,
                &std::mem::take(&mut tally.pending),
                self.lease_until(),
            )
            .await
            .map_err(AppError::internal)
    }

    /// Cancels the checks a crash interrupted (their lease ran out), each with the file
    /// problem that tells its caseworker to upload the file again.
    pub async fn abandon_interrupted_checks(&self) -> Result<usize, crate::store::StoreError> {
        let problem = serde_json::to_string(&FileProblem::Interrupted).unwrap_or_default();
        let abandoned = self
            .store
            .abandon_batch_checks(Timestamp::now(), &problem)
            .await?;
        for (id, organisation_id) in &abandoned {
            tracing::warn!(batch = %id, "a recipients file's check was interrupted; cancelled");
            self.audit
                .record(
                    AuditEntry::new(AuditAction::BatchCancelled)
                        .organisation(*organisation_id)
                        .actor_label("system: interrupted check")
                        .subject("batch", *id)
                        .details(json!({ "interrupted": true })),
                )
                .await?;
        }
        Ok(abandoned.len())
    }

    /// Starts a batch's dry run: the batch row comes first, the rows follow.
    pub async fn begin(&self, actor: &Actor, new: &NewBatch) -> Result<Uuid, AppError> {
        let created_by = actor.user_id().ok_or(AppError::Forbidden)?;
        let mut draft = new.draft.clone();
        draft.recipients.clear();
        let batch = Batch {
            id: Uuid::now_v7(),
            organisation_id: actor.organisation_id,
            created_by,
            created_at: Timestamp::now(),
            filename: new.filename.clone(),
            file_sha256: new.file_sha256.clone(),
            draft: serde_json::to_string(&draft).map_err(AppError::internal)?,
            template_id: draft.template.map(|t| t.id),
            template_version: draft.template.map(|t| t.version),
            status: "checking".into(),
            file_problem: None,
            notice_problems: "[]".into(),
            ignored_columns: "[]".into(),
            rows_total: 0,
            rows_good: 0,
            modes: "{}".into(),
            confirmed_at: None,
            confirmed_by: None,
        };
        self.store
            .create_batch(&batch, self.lease_until())
            .await
            .map_err(AppError::internal)?;
        Ok(batch.id)
    }

    /// Checks the rows as they come and keeps them; `ended` is how the reading ended (the
    /// ignored columns, or why the file was refused).
    pub async fn check_rows(
        &self,
        actor: &Actor,
        batch_id: Uuid,
        draft: &NoticeDraft,
        mut rows: tokio::sync::mpsc::Receiver<InputRow>,
        ended: impl std::future::Future<Output = Result<Vec<String>, FileProblem>>,
    ) -> Result<(), AppError> {
        let settings = delivery_settings(self.store.as_ref(), actor.organisation_id)
            .await
            .map_err(AppError::internal)?;
        let verifiable = draft
            .verifiable
            .unwrap_or_else(|| draft.notice_type.verifiable_by_default());
        let mut tally = Tally::default();
        while let Some(row) = rows.recv().await {
            let record = self.check_row(actor, batch_id, row, verifiable, &settings, &mut tally);
            tally.pending.push(record);
            if tally.pending.len() >= ROWS_PER_WRITE
                && !self.write_rows(batch_id, &mut tally).await?
            {
                // Given up as interrupted meanwhile (its lease ran out): its report says so.
                return Ok(());
            }
        }
        if !self.write_rows(batch_id, &mut tally).await? {
            return Ok(());
        }
        let ended = ended.await;
        let notice_problems = match (&ended, &tally.sample) {
            (Ok(_), Some(sample)) => self.notice_problems(actor, draft, sample).await?,
            _ => Vec::new(),
        };
        let check = BatchCheck {
            file_problem: ended
                .as_ref()
                .err()
                .map(|problem| serde_json::to_string(problem).unwrap_or_default()),
            notice_problems: serde_json::to_string(&notice_problems)
                .unwrap_or_else(|_| "[]".into()),
            ignored_columns: serde_json::to_string(ended.as_ref().unwrap_or(&Vec::new()))
                .unwrap_or_else(|_| "[]".into()),
            rows_total: tally.total,
            rows_good: tally.good,
            modes: serde_json::to_string(&tally.modes).unwrap_or_else(|_| "{}".into()),
        };
        let finished = self
            .store
            .finish_batch_check(batch_id, &check)
            .await
            .map_err(AppError::internal)?;
        if !finished {
            return Ok(());
        }
        if ended.is_err() {
            // Nothing of a refused file is used: its rows' recipients go at once.
            self.store
                .cancel_batch(actor.organisation_id, batch_id)
                .await
                .map_err(AppError::internal)?;
        }
        let entry = AuditEntry::new(AuditAction::BatchChecked)
            .by(actor)
            .subject("batch", batch_id)
            .details(json!({
                "rows": tally.total,
                "good": tally.good,
                "file_problem": ended.is_err(),
                "notice_problems": notice_problems.len(),
            }));
        self.audit.record(entry).await.map_err(AppError::internal)?;
        Ok(())
    }

    fn check_row(
        &self,
        actor: &Actor,
        batch_id: Uuid,
        row: InputRow,
        verifiable: bool,
        settings: &app::domain::notice::DeliverySettings,
        tally: &mut Tally,
    ) -> BatchRowRecord {
        tally.total += 1;
        let mut problems = row.problems.clone();
        let checked = self
            .compose
            .check_batch_recipient(&row.recipient, verifiable, settings);
        let mut decided = None;
        let mut masked = None;
        match checked {
            Ok((mode, id)) => {
                if let Some(id) = &id {
                    masked = Some(id.masked());
                    let lookup = self.keys.lookup_hash(id.expose());
                    if let Some(first) = tally.seen.get(&lookup) {
                        problems.push(FieldProblem::new(
                            "identity_code",
                            Problem::DuplicateRow { row: *first as u32 },
                        ));
                    } else {
                        tally.seen.insert(lookup, row.row_number);
                    }
                }
                decided = Some(mode);
            }
            Err(found) => problems.extend(found),
        }
        // The row's own case reference, checked now, not first when its notice is composed.
        if let Some(problem) = row
            .case_reference
            .as_deref()
            .and_then(crate::notices::compose::case_reference_problem)
        {
            problems.push(FieldProblem::new("case_reference", problem));
        }
        let good = problems.is_empty();
        let sealed = good.then(|| {
            let content = serde_json::to_string(&SealedRecipient {
                recipient: row.recipient.clone(),
                case_reference: row.case_reference.clone(),
            })
            .unwrap_or_default();
            self.keys.seal(Sealed::BatchRecipient, &content)
        });
        if good {
            tally.good += 1;
            if let Some(mode) = decided {
                *tally.modes.entry(mode.as_str().to_string()).or_default() += 1;
            }
            if tally.sample.is_none() {
                tally.sample = Some(row.clone());
            }
        }
        BatchRowRecord {
            id: Uuid::now_v7(),
            batch_id,
            organisation_id: actor.organisation_id,
            row_number: row.row_number as i64,
            status: if good { "ready" } else { "invalid" }.into(),
            problems: serde_json::to_string(&problems).unwrap_or_else(|_| "[]".into()),
            recipient_name: row.recipient.name.chars().take(200).collect(),
            identity_masked: masked,
            recipient_sealed: sealed,
            decided_mode: decided.filter(|_| good).map(|m| m.as_str().to_string()),
            notice_id: None,
            delivery_id: None,
        }
    }

    /// The common notice checked once, with a good row as its recipient: what is wrong with
    /// it is wrong for every row (the recipient's own problems were the row's).
    async fn notice_problems(
        &self,
        actor: &Actor,
        draft: &NoticeDraft,
        sample: &InputRow,
    ) -> Result<Vec<FieldProblem>, AppError> {
        let draft = row_draft(
            draft,
            sample.recipient.clone(),
            sample.case_reference.clone(),
            "check",
        );
        match self.compose.check(actor, &draft).await {
            Ok(_) => Ok(Vec::new()),
            Err(AppError::Invalid(problems)) => Ok(problems
                .into_iter()
                .filter(|p| !p.field.starts_with("recipients["))
                .collect()),
            Err(error) => Err(error),
        }
    }

    /// Confirms a checked batch: every good row queued, in one transaction.
    pub async fn confirm(&self, actor: &Actor, id: Uuid) -> Result<(), AppError> {
        let by = actor.user_id().ok_or(AppError::Forbidden)?;
        let confirmed = self
            .store
            .confirm_batch(actor.organisation_id, id, by, Timestamp::now())
            .await
            .map_err(AppError::internal)?;
        if !confirmed {
            self.ours(actor, id).await?;
            return Err(AppError::Invalid(vec![FieldProblem::new(
                "batch",
                Problem::NotNeedingAttention,
            )]));
        }
        let entry = AuditEntry::new(AuditAction::BatchConfirmed)
            .by(actor)
            .subject("batch", id);
        self.audit.record(entry).await.map_err(AppError::internal)?;
        Ok(())
    }

    pub async fn cancel(&self, actor: &Actor, id: Uuid) -> Result<(), AppError> {
        let cancelled = self
            .store
            .cancel_batch(actor.organisation_id, id)
            .await
            .map_err(AppError::internal)?;
        if !cancelled {
            // Confirmed or cancelled already: nothing to do. Another organisation's: not found.
            return self.ours(actor, id).await;
        }
        let entry = AuditEntry::new(AuditAction::BatchCancelled)
            .by(actor)
            .subject("batch", id);
        self.audit.record(entry).await.map_err(AppError::internal)?;
        Ok(())
    }

    /// `NotFound` unless the batch is the actor's organisation's.
    async fn ours(&self, actor: &Actor, id: Uuid) -> Result<(), AppError> {
        match self
            .store
            .batch(actor.organisation_id, id)
            .await
            .map_err(AppError::internal)?
        {
            Some(_) => Ok(()),
            None => Err(AppError::NotFound),
        }
    }

    /// Opens a row's sealed recipient.
    fn unseal(&self, sealed: &[u8]) -> Result<(RecipientDraft, Option<String>), AppError> {
        let content = self
            .keys
            .open(Sealed::BatchRecipient, sealed)
            .map_err(AppError::internal)?;
        let found: SealedRecipient = serde_json::from_str(&content).map_err(AppError::internal)?;
        Ok((found.recipient, found.case_reference))
    }
}

/// A row's notice: the common one with the row's recipient and case reference.
pub fn row_draft(
    common: &NoticeDraft,
    recipient: RecipientDraft,
    case_reference: Option<String>,
    key: &str,
) -> NoticeDraft {
    let mut draft = common.clone();
    draft.recipients = vec![recipient];
    if let Some(reference) = case_reference {
        draft.case_reference = reference;
    }
    draft.idempotency_key = key.to_string();
    draft
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_yes_read_as_people_write_them() {
        assert_eq!(parse_mode(" Monikanava"), Some(DeliveryMode::Multichannel));
        assert_eq!(parse_mode("papper"), Some(DeliveryMode::PaperOnly));
        assert_eq!(parse_mode("kirjekyyhky"), None);
        assert!(is_yes("Kyllä") && is_yes("x") && !is_yes("ei") && !is_yes(""));
    }

    #[test]
    fn a_file_row_becomes_a_party_with_its_address_when_it_has_one() {
        let row = FileRow {
            row_number: 7,
            cells: vec![
                (Column::IdentityCode, "150680-9039".into()),
                (Column::Name, "Maija".into()),
                (Column::ZipCode, "00100".into()),
                (Column::Mode, "teleportti".into()),
            ],
        };
        let input = input_row(&row, DeliveryMode::Multichannel);
        assert_eq!(input.row_number, 7);
        assert_eq!(input.recipient.address.as_ref().unwrap().country_code, "FI");
        assert_eq!(input.problems[0].field, "mode");
        let bare = FileRow {
            row_number: 8,
            cells: vec![(Column::Name, "Yritys".into())],
        };
        assert!(input_row(&bare, DeliveryMode::PaperOnly)
            .recipient
            .address
            .is_none());
    }
}
