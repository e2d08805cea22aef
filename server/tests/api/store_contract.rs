//! The store contract: the same cases on SQLite and PostgreSQL.

use app::auth::Role;
use std::collections::HashSet;
use std::sync::Arc;

use app::domain::channel::{ChannelReason, DeliveryMode, PaperAddressee};
use app::domain::lifecycle::{DeliveryStatus, HistoryKind};
use tiedoksi::store::{
    AuditEvent, HistoryEntry, JobKind, LegalDatesUpdate, NewDelivery, NewNotice, NewUser,
    NoticeAttachment, NoticeCreation, NoticeQuery, SentDocument, Store, StoreError,
    SuomiFiServiceRow, Timestamp,
};
use time::Duration;
use uuid::Uuid;

use crate::helpers::{fresh_store, TestBackend};
use crate::on_both_backends;

on_both_backends!(
    a_leader_lease_has_one_holder_until_it_lapses,
    organisations_are_created_and_found,
    users_are_found_by_email_case_insensitively,
    an_email_address_belongs_to_one_user,
    failed_logins_lock_at_the_threshold_and_success_resets,
    login_attempts_are_counted_per_address_within_the_window,
    audit_events_are_listed_newest_first_per_organisation,
    audit_events_cannot_be_changed_or_deleted,
    timestamps_round_trip_exactly,
    a_job_is_queued_once_per_subject,
    claims_take_due_jobs_under_a_lease,
    a_job_whose_lease_ran_out_is_claimed_again,
    a_job_whose_lease_ran_out_is_claimed_before_due_ones,
    only_the_lease_holder_settles_a_job,
    retried_jobs_wait_and_failed_jobs_stay,
    concurrent_claims_never_share_a_job,
    a_notice_is_written_with_its_deliveries_and_jobs_at_once,
    a_repeated_compose_finds_the_first_notice,
    a_failing_notice_leaves_nothing_behind,
    a_letter_rendered_later_is_kept_once,
    notices_are_visible_only_in_their_organisation,
    a_delivery_is_read_to_send_with_its_notice_and_settings,
    a_sent_delivery_keeps_its_documents_and_history,
    sends_recorded_at_once_commit_together_and_a_bad_one_fails_only_itself,
    sends_recorded_together_keep_each_ones_dates_and_a_repeat_records_nothing,
    a_send_stores_its_first_legal_dates_in_the_same_commit,
    delivery_history_and_sent_documents_cannot_be_changed,
    legal_dates_are_current_and_their_history_kept,
    an_overdue_delivery_is_flagged_and_re_served_once,
    organisation_delivery_settings_are_kept,
    the_notice_list_pages_by_keyset_and_filters,
    the_notice_list_and_identity_search_use_indexes,
    a_mail_is_kept_once_per_recipient_and_never_deleted,
);

fn new_user(organisation_id: Uuid, email: &str, role: Role) -> NewUser {
    NewUser {
        organisation_id,
        email: email.to_string(),
        display_name: "Testi Käyttäjä".to_string(),
        password_hash: "$argon2id$placeholder".to_string(),
        role,
    }
}

async fn organisations_are_created_and_found(backend: TestBackend) {
    let (store, _db) = fresh_store(backend).await;
    assert_eq!(store.count_organisations().await.unwrap(), 0);
    let created = store.create_organisation("Esimerkkikunta").await.unwrap();
    assert_eq!(store.count_organisations().await.unwrap(), 1);
    assert_eq!(store.organisation(created.id).await.unwrap(), Some(created));
    assert_eq!(store.organisation(Uuid::now_v7()).await.unwrap(), None);
}

async fn users_are_found_by_email_case_insensitively(backend: TestBackend) {
    let (store, _db) = fresh_store(backend).await;
    let organisation = store.create_organisation("Esimerkkikunta").await.unwrap();
    let created = store
        .create_user(&new_user(
            organisation.id,
            " Liisa.Virtanen@Example.FI ",
            Role::Caseworker,
        ))
        .await
        .unwrap();
    assert_eq!(created.email, "liisa.virtanen@example.fi");
    assert_eq!(created.role, Role::Caseworker);
    assert!(created.active);
    assert_eq!(created.failed_login_count, 0);

    let found = store
        .user_by_email("LIISA.VIRTANEN@example.fi")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, created);
    assert_eq!(
        store.user_by_id(created.id).await.unwrap().unwrap(),
        created
    );
    assert_eq!(
        store.users_in_organisation(organisation.id).await.unwrap(),
        vec![created]
    );
    let other = store.create_organisation("Toinen").await.unwrap();
    assert!(store
        .users_in_organisation(other.id)
        .await
        .unwrap()
        .is_empty());
}

async fn an_email_address_belongs_to_one_user(backend: TestBackend) {
    let (store, _db) = fresh_store(backend).await;
    let organisation = store.create_organisation("Esimerkkikunta").await.unwrap();
    store
        .create_user(&new_user(organisation.id, "sama@example.fi", Role::Admin))
        .await
        .unwrap();
    let error = store
        .create_user(&new_user(organisation.id, "SAMA@example.fi", Role::Auditor))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
}

async fn failed_logins_lock_at_the_threshold_and_success_resets(backend: TestBackend) {
    let (store, _db) = fresh_store(backend).await;
    let organisation = store.create_organisation("Esimerkkikunta").await.unwrap();
    let user = store
        .create_user(&new_user(organisation.id, "a@example.fi", Role::Caseworker))
        .await
        .unwrap();
    let now = Timestamp::now();
    let lock_until = now + Duration::minutes(15);

    let once = store
        .record_failed_login(user.id, 3, lock_until, now)
        .await
        .unwrap();
    assert_eq!((once.failed_login_count, once.locked_until), (1, None));
    store
        .record_failed_login(user.id, 3, lock_until, now)
        .await
        .unwrap();
    let third = store
        .record_failed_login(user.id, 3, lock_until, now)
        .await
        .unwrap();
    assert_eq!(third.failed_login_count, 3);
    assert_eq!(third.locked_until, Some(lock_until));

    // After the lock has run out, one more mistake starts the count again instead of
    // locking the account for another full period.
    let after_lock = lock_until + Duration::seconds(1);
    let next_lock = after_lock + Duration::minutes(15);
    let typo = store
        .record_failed_login(user.id, 3, next_lock, after_lock)
        .await
        .unwrap();
    assert_eq!((typo.failed_login_count, typo.locked_until), (1, None));
    store
        .record_failed_login(user.id, 3, next_lock, after_lock)
        .await
        .unwrap();
    let relocked = store
        .record_failed_login(user.id, 3, next_lock, after_lock)
        .await
        .unwrap();
    assert_eq!(relocked.locked_until, Some(next_lock));

    let signed_in_at = Timestamp::now();
    store
        .record_successful_login(user.id, signed_in_at)
        .await
        .unwrap();
    let reset = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(reset.failed_login_count, 0);
    assert_eq!(reset.locked_until, None);
    assert_eq!(reset.last_login_at, Some(signed_in_at));
}

async fn login_attempts_are_counted_per_address_within_the_window(backend: TestBackend) {
    let (store, _db) = fresh_store(backend).await;
    let now = Timestamp::now();
    store
        .record_login_attempt("192.0.2.1", false, now - Duration::hours(1))
        .await
        .unwrap();
    store
        .record_login_attempt("192.0.2.1", false, now)
        .await
        .unwrap();
    store
        .record_login_attempt("192.0.2.1", false, now)
        .await
        .unwrap();
    // Recorded as failed before its password is checked, then found right.
    let right = store
        .record_login_attempt("192.0.2.1", false, now)
        .await
        .unwrap();
    store.mark_login_attempt_succeeded(right).await.unwrap();
    store
        .record_login_attempt("192.0.2.2", false, now)
        .await
        .unwrap();

    let since = now - Duration::minutes(15);
    assert_eq!(
        store
            .failed_login_attempts_since("192.0.2.1", since)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .failed_login_attempts_since("192.0.2.2", since)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .failed_login_attempts_since("192.0.2.3", since)
            .await
            .unwrap(),
        0
    );
    // After their window they no longer count for anything, and are deleted.
    assert_eq!(store.prune_login_attempts(since).await.unwrap(), 1);
    assert_eq!(
        store
            .failed_login_attempts_since("192.0.2.1", now - Duration::hours(2))
            .await
            .unwrap(),
        2
    );
}

fn audit_event(organisation_id: Option<Uuid>, action: &str, at: Timestamp) -> AuditEvent {
    AuditEvent {
        id: Uuid::now_v7(),
        organisation_id,
        occurred_at: at,
        actor_user_id: None,
        actor_label: Some("tester".into()),
        action: action.into(),
        subject_kind: Some("user".into()),
        subject_id: Some("42".into()),
        client_ip: Some("192.0.2.1".into()),
        details: r#"{"k":"v"}"#.into(),
    }
}

async fn audit_events_are_listed_newest_first_per_organisation(backend: TestBackend) {
    let (store, _db) = fresh_store(backend).await;
    let ours = store.create_organisation("Meidän").await.unwrap();
    let theirs = store.create_organisation("Heidän").await.unwrap();
    let now = Timestamp::now();
    let older = audit_event(Some(ours.id), "first", now - Duration::seconds(5));
    let newer = audit_event(Some(ours.id), "second", now);
    let foreign = audit_event(Some(theirs.id), "foreign", now);
    let orphan = audit_event(None, "unknown-account", now);
    for event in [&older, &newer, &foreign, &orphan] {
        store.append_audit_event(event).await.unwrap();
    }

    assert_eq!(
        store.audit_events(Some(ours.id), 10).await.unwrap(),
        vec![newer.clone(), older]
    );
    assert_eq!(
        store.audit_events(Some(ours.id), 1).await.unwrap(),
        vec![newer]
    );
    assert_eq!(store.audit_events(None, 10).await.unwrap(), vec![orphan]);
}

async fn audit_events_cannot_be_changed_or_deleted(backend: TestBackend) {
    let (store, db) = fresh_store(backend).await;
    store
        .append_audit_event(&audit_event(None, "kept", Timestamp::now()))
        .await
        .unwrap();

    let update = "UPDATE audit_events SET action = 'changed'";
    let delete = "DELETE FROM audit_events";
    let (updated, deleted) = match backend {
        TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            (
                sqlx::query(update).execute(&pool).await.is_err(),
                sqlx::query(delete).execute(&pool).await.is_err(),
            )
        }
        TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            (
                sqlx::query(update).execute(&pool).await.is_err(),
                sqlx::query(delete).execute(&pool).await.is_err(),
            )
        }
    };
    assert!(updated, "update must be refused");
    assert!(deleted, "delete must be refused");
    assert_eq!(
        store.audit_events(None, 10).await.unwrap()[0].action,
        "kept"
    );
}

async fn timestamps_round_trip_exactly(backend: TestBackend) {
    let (store, _db) = fresh_store(backend).await;
    let organisation = store.create_organisation("Esimerkkikunta").await.unwrap();
    let user = store
        .create_user(&new_user(organisation.id, "t@example.fi", Role::Admin))
        .await
        .unwrap();
    let at = Timestamp::from(time::macros::datetime!(2026-12-24 23:59:59.123456 UTC));
    store.record_successful_login(user.id, at).await.unwrap();
    let read = store.user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(read.last_login_at, Some(at));
}

async fn store_with_organisation(
    backend: TestBackend,
) -> (Arc<dyn Store>, crate::helpers::TestDatabase, Uuid) {
    let (store, db) = fresh_store(backend).await;
    let organisation = store.create_organisation("Esimerkkikunta").await.unwrap();
    (store, db, organisation.id)
}

async fn a_job_is_queued_once_per_subject(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let delivery = Uuid::now_v7();
    let now = Timestamp::now();
    assert!(store
        .enqueue_job(organisation, JobKind::SendDelivery, delivery, now)
        .await
        .unwrap());
    assert!(!store
        .enqueue_job(organisation, JobKind::SendDelivery, delivery, now)
        .await
        .unwrap());
    assert_eq!(store.job_counts().await.unwrap().pending, 1);
}

async fn claims_take_due_jobs_under_a_lease(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let now = Timestamp::now();
    let due = Uuid::now_v7();
    let later = Uuid::now_v7();
    store
        .enqueue_job(organisation, JobKind::SendDelivery, due, now)
        .await
        .unwrap();
    store
        .enqueue_job(
            organisation,
            JobKind::SendDelivery,
            later,
            now + Duration::minutes(5),
        )
        .await
        .unwrap();

    let lease = now + Duration::seconds(30);
    let claimed = store.claim_jobs("worker-a", now, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1, "only the due job");
    let job = &claimed[0];
    assert_eq!(job.subject_id, due);
    assert_eq!(job.kind, "send_delivery");
    assert_eq!(job.state, "running");
    assert_eq!(job.attempts, 1);
    assert_eq!(job.leased_until, Some(lease));
    assert_eq!(job.lease_owner.as_deref(), Some("worker-a"));

    assert!(
        store
            .claim_jobs("worker-b", now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
}

async fn a_job_whose_lease_ran_out_is_claimed_again(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let now = Timestamp::now();
    store
        .enqueue_job(organisation, JobKind::SendDelivery, Uuid::now_v7(), now)
        .await
        .unwrap();
    let first = store
        .claim_jobs("crashed", now, now + Duration::seconds(30), 1)
        .await
        .unwrap();

    let after_lease = now + Duration::seconds(31);
    let again = store
        .claim_jobs(
            "rescuer",
            after_lease,
            after_lease + Duration::seconds(30),
            1,
        )
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, first[0].id);
    assert_eq!(again[0].attempts, 2, "the crashed attempt counts");
    assert_eq!(again[0].lease_owner.as_deref(), Some("rescuer"));
}

/// A job whose worker died was started, and may have reached Suomi.fi: it is finished before
/// newer work, even work due earlier.
async fn a_job_whose_lease_ran_out_is_claimed_before_due_ones(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let now = Timestamp::now();
    let started = Uuid::now_v7();
    store
        .enqueue_job(organisation, JobKind::SendDelivery, started, now)
        .await
        .unwrap();
    store
        .claim_jobs("crashed", now, now + Duration::seconds(30), 1)
        .await
        .unwrap();
    let due_earlier = Uuid::now_v7();
    store
        .enqueue_job(
            organisation,
            JobKind::SendDelivery,
            due_earlier,
            now - Duration::minutes(1),
        )
        .await
        .unwrap();

    let after_lease = now + Duration::seconds(31);
    let lease = after_lease + Duration::seconds(30);
    let first = store
        .claim_jobs("rescuer", after_lease, lease, 1)
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|job| job.subject_id).collect::<Vec<_>>(),
        [started]
    );
    let next = store
        .claim_jobs("rescuer", after_lease, lease, 5)
        .await
        .unwrap();
    assert_eq!(
        next.iter().map(|job| job.subject_id).collect::<Vec<_>>(),
        [due_earlier],
        "then the due one, and a claim takes no more than there is"
    );
}

async fn only_the_lease_holder_settles_a_job(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let now = Timestamp::now();
    store
        .enqueue_job(organisation, JobKind::SendDelivery, Uuid::now_v7(), now)
        .await
        .unwrap();
    let job = store
        .claim_jobs("worker-a", now, now + Duration::seconds(30), 1)
        .await
        .unwrap()
        .remove(0);

    assert_eq!(
        store
            .complete_jobs(&[job.id], "worker-b", now)
            .await
            .unwrap(),
        0,
        "not its job"
    );
    assert_eq!(
        store
            .complete_jobs(&[job.id], "worker-a", now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .complete_jobs(&[job.id], "worker-a", now)
            .await
            .unwrap(),
        0,
        "settled once"
    );
    let done = store.job(job.id).await.unwrap().unwrap();
    assert_eq!(done.state, "done");
    assert_eq!(
        store
            .complete_jobs(&[job.id, Uuid::now_v7()], "worker-a", now)
            .await
            .unwrap(),
        0,
        "done already, and one that does not exist: none completed"
    );
    assert_eq!(
        done.lease_owner.as_deref(),
        Some("worker-a"),
        "a finished job names who finished it"
    );
    assert_eq!(done.leased_until, None);
    assert_eq!(store.job_counts().await.unwrap().done, 1);
    let much_later = now + Duration::days(1);
    assert!(store
        .claim_jobs("w", much_later, much_later, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn retried_jobs_wait_and_failed_jobs_stay(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let now = Timestamp::now();
    store
        .enqueue_job(organisation, JobKind::SendDelivery, Uuid::now_v7(), now)
        .await
        .unwrap();
    store
        .enqueue_job(organisation, JobKind::SendDelivery, Uuid::now_v7(), now)
        .await
        .unwrap();
    let lease = now + Duration::seconds(30);
    let mut jobs = store.claim_jobs("w", now, lease, 2).await.unwrap();
    let (retried, failed) = (jobs.remove(0), jobs.remove(0));

    let retry_at = now + Duration::minutes(1);
    assert!(store
        .retry_job(retried.id, "w", retry_at, "503 from Suomi.fi")
        .await
        .unwrap());
    assert!(store
        .fail_job(failed.id, "w", "400: title too long", now)
        .await
        .unwrap());

    let counts = store.job_counts().await.unwrap();
    assert_eq!((counts.pending, counts.running, counts.failed), (1, 0, 1));
    assert!(
        store
            .claim_jobs("w", now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "not yet"
    );
    let again = store
        .claim_jobs("w", retry_at, retry_at + Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, retried.id);
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].last_error.as_deref(), Some("503 from Suomi.fi"));
    let failed = store.job(failed.id).await.unwrap().unwrap();
    assert_eq!(failed.state, "failed");
    assert_eq!(failed.last_error.as_deref(), Some("400: title too long"));
}

async fn concurrent_claims_never_share_a_job(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let now = Timestamp::now();
    for _ in 0..60 {
        store
            .enqueue_job(organisation, JobKind::SendDelivery, Uuid::now_v7(), now)
            .await
            .unwrap();
    }
    let mut workers = Vec::new();
    for worker in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let name = format!("worker-{worker}");
            let mut mine = Vec::new();
            loop {
                let lease = now + Duration::minutes(5);
                let claimed = store.claim_jobs(&name, now, lease, 4).await.unwrap();
                if claimed.is_empty() {
                    break mine;
                }
                mine.extend(claimed.into_iter().map(|job| job.id));
            }
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    let distinct: HashSet<Uuid> = all.iter().copied().collect();
    assert_eq!(all.len(), 60, "every job claimed");
    assert_eq!(distinct.len(), 60, "and none twice");
}

fn new_notice(organisation_id: Uuid, author_id: Uuid, key: &str, recipients: usize) -> NewNotice {
    NewNotice {
        id: Uuid::now_v7(),
        organisation_id,
        author_id,
        notice_type: "decision".into(),
        case_reference: "DNRO 123/2026".into(),
        title: "Päätös".into(),
        body: "Päätös liitteenä.".into(),
        body_format: "Text".into(),
        language: "fi".into(),
        verifiable: false,
        appeal_days: Some(30),
        service_id: "sim-service".into(),
        idempotency_key: key.into(),
        appeal_instructions: None,
        paper_letter_sha256: None,
        letter_input: None,
        audit: None,
        request_sha256: None,
        decision: Default::default(),
        electronic_body: "Päätös liitteenä.".into(),
        in_reply_to_message_id: None,
        template: None,
        replies_allowed: false,
        attachments: Vec::new(),
        deliveries: (0..recipients)
            .map(|n| NewDelivery {
                id: Uuid::now_v7(),
                role: if n == 0 {
                    "party".into()
                } else {
                    "guardian".into()
                },
                recipient_name: format!("Vastaanottaja {n}"),
                identity_kind: "person".into(),
                identity_sealed: Some(vec![1, 2, 3, n as u8]),
                identity_lookup: Some(vec![9, 9, n as u8]),
                identity_masked: Some("131052-****".into()),
                address_sealed: None,
                facts: "{}".into(),
                requested_mode: DeliveryMode::Multichannel,
                decided_mode: DeliveryMode::Multichannel,
                channel_reasons: vec![ChannelReason::AsRequested],
                paper_addressee: PaperAddressee::Recipient,
                address_protected: n == 2,
                content_not_for_others: false,
                recipient_minor: false,
                mailbox_check_deferred: false,
            })
            .collect(),
    }
}

async fn author(store: &Arc<dyn Store>, organisation: Uuid, email: &str) -> Uuid {
    store
        .create_user(&new_user(organisation, email, Role::Caseworker))
        .await
        .unwrap()
        .id
}

async fn a_notice_is_written_with_its_deliveries_and_jobs_at_once(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let author = author(&store, organisation, "k@example.fi").await;
    let mut notice = new_notice(organisation, author, "form-1", 3);
    let queued = audit_event(Some(organisation), "notice.queued", Timestamp::now());
    notice.audit = Some(queued.clone());

    assert_eq!(
        store.create_notice(&notice).await.unwrap(),
        NoticeCreation::Created(notice.id)
    );
    assert_eq!(
        store.audit_events(Some(organisation), 10).await.unwrap(),
        vec![queued],
        "on record with it"
    );
    let stored = store
        .notice(organisation, notice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.title.as_str(), stored.appeal_days),
        ("Päätös", Some(30))
    );
    let deliveries = store.deliveries(organisation, notice.id).await.unwrap();
    assert_eq!(deliveries.len(), 3);
    for (position, (stored, sent)) in deliveries.iter().zip(&notice.deliveries).enumerate() {
        assert_eq!(stored.id, sent.id, "recipient order kept");
        assert_eq!(stored.position, position as i32);
        assert_eq!(stored.status, DeliveryStatus::Queued);
        assert_eq!(
            stored.address_protected, sent.address_protected,
            "a typed column"
        );
        assert_eq!(
            stored.identity_sealed, sent.identity_sealed,
            "sealed bytes round-trip"
        );
        assert_eq!(stored.suomifi_message_id, None);
    }
    assert_eq!(
        store
            .delivery(notice.deliveries[1].id)
            .await
            .unwrap()
            .unwrap()
            .role,
        "guardian"
    );
    let now = Timestamp::now();
    let jobs = store
        .claim_jobs("w", now, now + Duration::minutes(1), 10)
        .await
        .unwrap();
    let mut subjects: Vec<Uuid> = jobs.iter().map(|job| job.subject_id).collect();
    subjects.sort();
    let mut expected: Vec<Uuid> = notice.deliveries.iter().map(|d| d.id).collect();
    expected.sort();
    assert_eq!(subjects, expected, "one send job per delivery");
}

async fn a_repeated_compose_finds_the_first_notice(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let author = author(&store, organisation, "k@example.fi").await;
    let first = new_notice(organisation, author, "form-1", 1);
    store.create_notice(&first).await.unwrap();

    let double_click = new_notice(organisation, author, "form-1", 1);
    assert_eq!(
        store.create_notice(&double_click).await.unwrap(),
        NoticeCreation::AlreadyCreated(first.id)
    );
    assert!(store
        .notice(organisation, double_click.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.job_counts().await.unwrap().pending,
        1,
        "nothing queued twice"
    );

    let other_form = new_notice(organisation, author, "form-2", 1);
    assert_eq!(
        store.create_notice(&other_form).await.unwrap(),
        NoticeCreation::Created(other_form.id)
    );
}

async fn a_failing_notice_leaves_nothing_behind(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let author = author(&store, organisation, "k@example.fi").await;
    let mut broken = new_notice(organisation, author, "form-1", 2);
    broken.deliveries[1].id = broken.deliveries[0].id; // the second insert fails
    broken.audit = Some(audit_event(
        Some(organisation),
        "notice.queued",
        Timestamp::now(),
    ));

    assert!(store.create_notice(&broken).await.is_err());
    assert!(store
        .notice(organisation, broken.id)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .delivery(broken.deliveries[0].id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.job_counts().await.unwrap(),
        Default::default(),
        "no job without its notice"
    );
    assert_eq!(
        store.audit_events(Some(organisation), 10).await.unwrap(),
        [],
        "nothing on record of what was not queued"
    );
}

async fn a_letter_rendered_later_is_kept_once(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let author = author(&store, organisation, "k@example.fi").await;
    let mut notice = new_notice(organisation, author, "form-1", 1);
    notice.letter_input = Some(r#"{"frozen":true}"#.to_string());
    store.create_notice(&notice).await.unwrap();
    let read = store
        .notice(organisation, notice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.letter_input.as_deref(), Some(r#"{"frozen":true}"#));
    assert_eq!(read.paper_letter_sha256, None);

    let (first, second) = ("a".repeat(64), "b".repeat(64));
    assert_eq!(
        store.keep_notice_letter(notice.id, &first).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.keep_notice_letter(notice.id, &second).await.unwrap(),
        Some(first.clone()),
        "the first one rendered stays"
    );
    let read = store
        .notice(organisation, notice.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.paper_letter_sha256, Some(first));
    assert_eq!(
        store
            .keep_notice_letter(Uuid::now_v7(), &second)
            .await
            .unwrap(),
        None,
        "no such notice"
    );
}

async fn notices_are_visible_only_in_their_organisation(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let other = store.create_organisation("Toinen kunta").await.unwrap().id;
    let author = author(&store, organisation, "k@example.fi").await;
    let notice = new_notice(organisation, author, "form-1", 1);
    store.create_notice(&notice).await.unwrap();

    assert!(store.notice(other, notice.id).await.unwrap().is_none());
    assert!(store.deliveries(other, notice.id).await.unwrap().is_empty());
}

/// The send job's one read: the delivery as read alone, its notice as read alone, the
/// organisation's settings, the notice's Suomi.fi service as read alone, and the
/// attachments only of a notice that has them.
async fn a_delivery_is_read_to_send_with_its_notice_and_settings(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    store
        .set_delivery_settings(organisation, r#"{"auto_reserve_unacknowledged":true}"#)
        .await
        .unwrap();
    let now = Timestamp::now();
    let service = SuomiFiServiceRow {
        id: Uuid::now_v7(),
        organisation_id: organisation,
        name: "Rakennusvalvonta".into(),
        service_id: "sim-service".into(),
        username: "rakennus-user".into(),
        password_sealed: vec![1, 2, 3],
        pending_password_sealed: Some(vec![4, 5]),
        password_changed_at: now - Duration::days(3),
        posti_username: "posti-user".into(),
        posti_password_sealed: Some(vec![6]),
        posti_email: "posti@example.fi".into(),
        cost_pool: Some("pool-1".into()),
        is_default: true,
        last_check_at: Some(now),
        last_check_ok: Some(false),
        last_check_message: Some("refused".into()),
        created_at: now,
        updated_at: now,
    };
    store.create_service(&service).await.unwrap();
    let author = author(&store, organisation, "k@example.fi").await;
    let mut notice = new_notice(organisation, author, "form-1", 2);
    let attachment = NoticeAttachment {
        position: 0,
        filename: "päätös.pdf".into(),
        media_type: "application/pdf".into(),
        sha256: "cd".repeat(32),
        size_bytes: 4321,
    };
    notice.attachments = vec![attachment.clone()];
    store.create_notice(&notice).await.unwrap();
    let plain = new_notice(organisation, author, "form-2", 1);
    store.create_notice(&plain).await.unwrap();
    let second = notice.deliveries[1].id;

    let to_send = store.delivery_to_send(second).await.unwrap().unwrap();
    assert_eq!(
        to_send.delivery,
        store.delivery(second).await.unwrap().unwrap()
    );
    assert_eq!(
        to_send.notice,
        store
            .notice(organisation, notice.id)
            .await
            .unwrap()
            .unwrap(),
        "the notice as read alone, its own id and all"
    );
    assert_eq!(to_send.attachments, [attachment]);
    assert!(to_send.settings.auto_reserve_unacknowledged);
    assert_eq!(
        to_send.service.as_ref(),
        Some(&service),
        "every column of the notice's service, none mistaken for the delivery's"
    );
    assert_eq!(
        to_send.service,
        store.service_by_service_id("sim-service").await.unwrap()
    );

    let plain_to_send = store
        .delivery_to_send(plain.deliveries[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plain_to_send.notice.id, plain.id);
    assert!(plain_to_send.attachments.is_empty());
    let mut elsewhere = new_notice(organisation, author, "form-3", 1);
    elsewhere.service_id = "no-such-service".into();
    store.create_notice(&elsewhere).await.unwrap();
    let unknown_service = store
        .delivery_to_send(elsewhere.deliveries[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unknown_service.service, None, "no service has its id");
    assert_eq!(unknown_service.delivery.id, elsewhere.deliveries[0].id);
    assert!(store
        .delivery_to_send(Uuid::now_v7())
        .await
        .unwrap()
        .is_none());
}

/// A notice of one delivery, written; returns the delivery id.
async fn one_delivery(
    store: &Arc<dyn Store>,
    organisation: Uuid,
    key: &str,
    verifiable: bool,
) -> Uuid {
    let author = author(store, organisation, &format!("{key}@example.fi")).await;
    let mut notice = new_notice(organisation, author, key, 1);
    notice.verifiable = verifiable;
    store.create_notice(&notice).await.unwrap();
    notice.deliveries[0].id
}

fn kinds(history: &[HistoryEntry]) -> Vec<&str> {
    history.iter().map(|entry| entry.kind.as_str()).collect()
}

async fn a_sent_delivery_keeps_its_documents_and_history(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let id = one_delivery(&store, organisation, "sent", false).await;
    let letter = SentDocument {
        kind: "paper_letter".into(),
        filename: "kirje.pdf".into(),
        media_type: "application/pdf".into(),
        sha256: "ab".repeat(32),
        size_bytes: 1234,
    };
    let at = Timestamp::now();
    store
        .record_delivery_sent(id, 42, at, std::slice::from_ref(&letter), None)
        .await
        .unwrap();
    // A 409 answered later records the same message again: the first submit time stays.
    store
        .record_delivery_sent(id, 42, at + Duration::seconds(5), &[], None)
        .await
        .unwrap();
    let delivery = store.delivery(id).await.unwrap().unwrap();
    assert_eq!(
        (delivery.status.as_str(), delivery.suomifi_message_id),
        ("sent", Some(42))
    );
    assert_eq!(delivery.submitted_at, Some(at));
    let by_message = store.delivery_by_message_id(42).await.unwrap().unwrap();
    assert_eq!(
        by_message.id, id,
        "events without our externalId find it by message id"
    );
    assert!(store.delivery_by_message_id(43).await.unwrap().is_none());
    assert_eq!(store.delivery_documents(id).await.unwrap(), vec![letter]);
    let history = store.delivery_history(id).await.unwrap();
    assert_eq!(
        kinds(&history),
        ["queued", "submitted"],
        "the first record keeps the history; a repeat (a job run again) adds nothing"
    );
    assert!(history[1].details.contains("kirje.pdf"));

    store
        .record_delivery_needs_attention(id, "late give-up", at)
        .await
        .unwrap();
    let delivery = store.delivery(id).await.unwrap().unwrap();
    assert_eq!(
        delivery.status,
        DeliveryStatus::Sent,
        "a sent delivery never goes back"
    );
}

/// Send records that arrive while another commits go to the database together; one the
/// database refuses (a document of a kind it does not take) fails alone, and the others in its
/// group are recorded all the same.
async fn sends_recorded_at_once_commit_together_and_a_bad_one_fails_only_itself(
    backend: TestBackend,
) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let mut ids = Vec::new();
    for n in 0..9 {
        ids.push(one_delivery(&store, organisation, &format!("group-{n}"), false).await);
    }
    let document = |kind: &str| SentDocument {
        kind: kind.into(),
        filename: "kirje.pdf".into(),
        media_type: "application/pdf".into(),
        sha256: "ef".repeat(32),
        size_bytes: 10,
    };
    const REFUSED: usize = 4;
    let at = Timestamp::now();
    // All at once: the first commits alone, the other eight queue behind it as one group.
    let answers = futures_util::future::join_all(ids.iter().enumerate().map(|(n, id)| {
        let documents = vec![document(if n == REFUSED { "fax" } else { "paper_letter" })];
        let store = store.clone();
        async move {
            store
                .record_delivery_sent(*id, 100 + n as i64, at, &documents, None)
                .await
        }
    }))
    .await;
    for (n, (id, answer)) in ids.iter().zip(answers).enumerate() {
        let delivery = store.delivery(*id).await.unwrap().unwrap();
        if n == REFUSED {
            assert!(answer.is_err(), "the refused record fails");
            assert_eq!(delivery.suomifi_message_id, None, "and records nothing");
            assert!(store.delivery_documents(*id).await.unwrap().is_empty());
        } else {
            assert!(answer.is_ok(), "record {n}: {answer:?}");
            assert_eq!(delivery.suomifi_message_id, Some(100 + n as i64));
            assert_eq!(delivery.status, DeliveryStatus::Sent);
            assert_eq!(
                store.delivery_documents(*id).await.unwrap(),
                vec![document("paper_letter")]
            );
            assert_eq!(
                kinds(&store.delivery_history(*id).await.unwrap()),
                ["queued", "submitted"],
                "record {n}: one history entry"
            );
        }
    }
}

async fn sends_recorded_together_keep_each_ones_dates_and_a_repeat_records_nothing(
    backend: TestBackend,
) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let mut deliveries = Vec::new();
    for n in 0..8 {
        let id = one_delivery(&store, organisation, &format!("together-{n}"), false).await;
        deliveries.push(store.delivery(id).await.unwrap().unwrap());
    }
    const STALE: usize = 3;
    const REPEATED: usize = 5;
    // Record k's dates for delivery n.
    let dates = |n: usize, k: usize| LegalDatesUpdate {
        previous: (None, None, None),
        // Computed against an explanation that is no longer the delivery's.
        previous_rule: (n == STALE).then(|| "stale".to_string()),
        channel_taken: Some("electronic".into()),
        deemed_receipt: Some(format!("2026-12-{:02}", 10 + k)),
        appeal_deadline: Some("2027-01-25".into()),
        legal_rule: Some("electronic".into()),
        legal_basis: None,
        history: HistoryEntry::new(
            &deliveries[n],
            HistoryKind::LegalDates,
            serde_json::json!({ "record": k }),
        ),
    };
    let document = |n: usize| SentDocument {
        kind: "paper_letter".into(),
        filename: format!("{n}.pdf"),
        media_type: "application/pdf".into(),
        sha256: "ab".repeat(32),
        size_bytes: 10,
    };
    // Record n for delivery n, and a ninth that repeats delivery REPEATED (its job run beside
    // itself), all at once: the first commits alone, the rest queue behind it as one group.
    let records: Vec<usize> = (0..8).chain([REPEATED]).collect();
    let at = Timestamp::now();
    let answers = futures_util::future::join_all(records.iter().enumerate().map(|(k, &n)| {
        let (store, id) = (store.clone(), deliveries[n].id);
        let (documents, dates) = (vec![document(k)], dates(n, k));
        async move {
            store
                .record_delivery_sent(id, 200 + k as i64, at, &documents, Some(&dates))
                .await
        }
    }))
    .await;
    let answers: Vec<bool> = answers.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        answers,
        [true, true, true, false, true, true, true, true, false],
        "each record's dates stored unless stale; the repeat records nothing"
    );
    for (n, delivery) in deliveries.iter().enumerate() {
        let sent = store.delivery(delivery.id).await.unwrap().unwrap();
        assert_eq!(
            sent.suomifi_message_id,
            Some(200 + n as i64),
            "delivery {n}"
        );
        assert_eq!(sent.status, DeliveryStatus::Sent);
        let expected_receipt = (n != STALE).then(|| format!("2026-12-{:02}", 10 + n));
        assert_eq!(sent.deemed_receipt, expected_receipt, "delivery {n}");
        assert_eq!(
            store.delivery_documents(delivery.id).await.unwrap(),
            vec![document(n)],
            "delivery {n}: its own document, once"
        );
        let history = store.delivery_history(delivery.id).await.unwrap();
        let expected: &[&str] = if n == STALE {
            &["queued", "submitted"]
        } else {
            &["queued", "submitted", "legal_dates"]
        };
        assert_eq!(kinds(&history), expected, "delivery {n}");
        if n != STALE {
            let details: serde_json::Value = serde_json::from_str(&history[2].details).unwrap();
            assert_eq!(details, serde_json::json!({ "record": n }), "delivery {n}");
        }
    }
}

async fn delivery_history_and_sent_documents_cannot_be_changed(backend: TestBackend) {
    let (store, db, organisation) = store_with_organisation(backend).await;
    let id = one_delivery(&store, organisation, "kept", false).await;
    let document = SentDocument {
        kind: "attachment".into(),
        filename: "liite.pdf".into(),
        media_type: "application/pdf".into(),
        sha256: "cd".repeat(32),
        size_bytes: 1,
    };
    store
        .record_delivery_sent(id, 7, Timestamp::now(), &[document], None)
        .await
        .unwrap();
    let delivery = store.delivery(id).await.unwrap().unwrap();
    store
        .record_service(&tiedoksi::store::ServiceRecord {
            id: Uuid::now_v7(),
            organisation_id: organisation,
            delivery_id: id,
            kind: "substitute_service".into(),
            method: None,
            served_on: "2026-12-01".into(),
            receipt_on: None,
            reference: Some("Todistus 1".into()),
            recorded_by: None,
            recorded_at: Timestamp::now(),
        })
        .await
        .unwrap();
    assert_eq!(store.service_records(id).await.unwrap().len(), 1);
    store
        .append_audit_event(&AuditEvent {
            id: Uuid::now_v7(),
            organisation_id: Some(delivery.organisation_id),
            occurred_at: Timestamp::now(),
            actor_user_id: None,
            actor_label: None,
            action: "notice.viewed".into(),
            subject_kind: None,
            subject_id: None,
            client_ip: None,
            details: "{}".into(),
        })
        .await
        .unwrap();
    let statements = [
        "UPDATE delivery_history SET kind = 'changed'",
        "DELETE FROM delivery_history",
        "UPDATE delivery_documents SET sha256 = 'forged'",
        "DELETE FROM delivery_documents",
        "UPDATE service_records SET served_on = '2000-01-01'",
        "DELETE FROM service_records",
        "UPDATE audit_events SET action = 'forged'",
        "DELETE FROM audit_events",
    ];
    for statement in statements {
        let refused = match backend {
            TestBackend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
                sqlx::query(statement).execute(&pool).await.is_err()
            }
            TestBackend::Postgres => {
                let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
                sqlx::query(statement).execute(&pool).await.is_err()
            }
        };
        assert!(refused, "{statement} must be refused");
    }
    assert_eq!(
        kinds(&store.delivery_history(id).await.unwrap()),
        ["queued", "submitted", "service_recorded"]
    );
    assert_eq!(
        store.delivery_documents(id).await.unwrap()[0].sha256,
        "cd".repeat(32)
    );
}

async fn a_send_stores_its_first_legal_dates_in_the_same_commit(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let id = one_delivery(&store, organisation, "first dates", false).await;
    let delivery = store.delivery(id).await.unwrap().unwrap();
    let first = |deemed: &str, previous_rule: Option<&str>| LegalDatesUpdate {
        previous: (None, None, None),
        previous_rule: previous_rule.map(str::to_string),
        channel_taken: Some("electronic".into()),
        deemed_receipt: Some(deemed.into()),
        appeal_deadline: Some("2027-01-25".into()),
        legal_rule: Some("electronic".into()),
        legal_basis: None,
        history: HistoryEntry::new(
            &delivery,
            HistoryKind::LegalDates,
            serde_json::json!({ "deemed_receipt": deemed }),
        ),
    };
    let at = Timestamp::now();
    assert!(store
        .record_delivery_sent(id, 51, at, &[], Some(&first("2026-12-25", None)))
        .await
        .unwrap());
    // The same send recorded again (a job run twice) writes neither the send nor dates.
    assert!(!store
        .record_delivery_sent(id, 51, at, &[], Some(&first("2026-12-26", None)))
        .await
        .unwrap());
    let sent = store.delivery(id).await.unwrap().unwrap();
    assert_eq!(
        (sent.status, sent.deemed_receipt.as_deref()),
        (DeliveryStatus::Sent, Some("2026-12-25"))
    );
    assert_eq!(
        kinds(&store.delivery_history(id).await.unwrap()),
        ["queued", "submitted", "legal_dates"],
        "the dates follow the send they come from"
    );

    // Dates computed against values no longer current are not stored; the send still is.
    let other = one_delivery(&store, organisation, "moved", false).await;
    assert!(!store
        .record_delivery_sent(
            other,
            52,
            Timestamp::now(),
            &[],
            Some(&first("2026-12-25", Some("stale")))
        )
        .await
        .unwrap());
    let moved = store.delivery(other).await.unwrap().unwrap();
    assert_eq!(
        (moved.suomifi_message_id, moved.deemed_receipt),
        (Some(52), None)
    );
    assert_eq!(
        kinds(&store.delivery_history(other).await.unwrap()),
        ["queued", "submitted"]
    );
}

async fn legal_dates_are_current_and_their_history_kept(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let id = one_delivery(&store, organisation, "dates", false).await;
    let delivery = store.delivery(id).await.unwrap().unwrap();
    let update =
        |previous: (Option<&str>, Option<&str>), deemed: &str, deadline: &str| LegalDatesUpdate {
            previous: (
                previous.0.map(str::to_string),
                previous.1.map(str::to_string),
                previous.1.map(|_| "2027-01-25".to_string()),
            ),
            previous_rule: previous.0.map(|_| "ordinary letter".to_string()),
            channel_taken: Some("paper".into()),
            deemed_receipt: Some(deemed.into()),
            appeal_deadline: Some(deadline.into()),
            legal_rule: Some("ordinary letter".into()),
            legal_basis: Some("\"not_sent_yet\"".into()),
            history: HistoryEntry::new(
                &delivery,
                HistoryKind::LegalDates,
                serde_json::json!({ "deemed_receipt": deemed }),
            ),
        };
    let first = update((None, None), "2026-12-25", "2027-01-25");
    assert!(store.record_legal_dates(id, &first).await.unwrap());
    // Computed against values that are no longer current: refused, nothing recorded.
    let stale = update((None, None), "2026-12-24", "2027-01-24");
    assert!(!store.record_legal_dates(id, &stale).await.unwrap());
    // The same dates but another explanation read before: stale too.
    let mut stale_rule = update(
        (Some("paper"), Some("2026-12-25")),
        "2026-12-28",
        "2027-01-27",
    );
    stale_rule.previous_rule = Some("an older rule".into());
    assert!(!store.record_legal_dates(id, &stale_rule).await.unwrap());
    let second = update(
        (Some("paper"), Some("2026-12-25")),
        "2026-12-28",
        "2027-01-27",
    );
    assert!(store.record_legal_dates(id, &second).await.unwrap());

    let current = store.delivery(id).await.unwrap().unwrap();
    assert_eq!(current.deemed_receipt.as_deref(), Some("2026-12-28"));
    assert_eq!(current.appeal_deadline.as_deref(), Some("2027-01-27"));
    assert_eq!(current.channel_taken.as_deref(), Some("paper"));
    let history = store.delivery_history(id).await.unwrap();
    assert_eq!(kinds(&history), ["queued", "legal_dates", "legal_dates"]);
    assert!(
        history[1].details.contains("2026-12-25"),
        "the first computation is kept"
    );
}

async fn an_overdue_delivery_is_flagged_and_re_served_once(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let ordinary = one_delivery(&store, organisation, "ordinary", false).await;
    let verifiable = one_delivery(&store, organisation, "verifiable", true).await;
    let sent_at = Timestamp::now() - Duration::days(8);
    for id in [ordinary, verifiable] {
        store
            .record_delivery_sent(id, 1, sent_at, &[], None)
            .await
            .unwrap();
        let delivery = store.delivery(id).await.unwrap().unwrap();
        let update = LegalDatesUpdate {
            previous: (None, None, None),
            previous_rule: None,
            channel_taken: Some("electronic".into()),
            deemed_receipt: None,
            appeal_deadline: None,
            legal_rule: None,
            legal_basis: None,
            history: HistoryEntry::new(&delivery, HistoryKind::LegalDates, serde_json::json!({})),
        };
        store.record_legal_dates(id, &update).await.unwrap();
    }
    let cutoff = Timestamp::now() - Duration::days(7);
    let overdue = store
        .unacknowledged_verifiable(cutoff, None, 10)
        .await
        .unwrap();
    assert_eq!(
        overdue.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![verifiable]
    );
    assert!(store
        .unacknowledged_verifiable(sent_at - Duration::days(1), None, 10)
        .await
        .unwrap()
        .is_empty());

    assert!(store
        .flag_unacknowledged(verifiable, Timestamp::now(), None)
        .await
        .unwrap());
    assert!(!store
        .flag_unacknowledged(verifiable, Timestamp::now(), None)
        .await
        .unwrap());
    assert!(store
        .unacknowledged_verifiable(cutoff, None, 10)
        .await
        .unwrap()
        .is_empty());

    assert_eq!(
        store
            .create_reserve(ordinary, Uuid::now_v7(), Timestamp::now())
            .await
            .unwrap(),
        None,
        "only a flagged delivery is re-served"
    );
    let jobs_before = store.job_counts().await.unwrap().pending;
    let (first, second) = tokio::join!(
        store.create_reserve(verifiable, Uuid::now_v7(), Timestamp::now()),
        store.create_reserve(verifiable, Uuid::now_v7(), Timestamp::now()),
    );
    let created: Vec<Uuid> = [first.unwrap(), second.unwrap()]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(created.len(), 1, "one re-serve however many ask");
    assert_eq!(store.job_counts().await.unwrap().pending, jobs_before + 1);
    let reserve = store.delivery(created[0]).await.unwrap().unwrap();
    assert_eq!(reserve.reserve_of, Some(verifiable));
    assert_eq!(
        (reserve.decided_mode.as_str(), reserve.status.as_str()),
        ("paper_only", "queued")
    );
    assert_eq!(reserve.position, 1);
    assert_eq!(
        kinds(&store.delivery_history(reserve.id).await.unwrap()),
        ["queued"]
    );
}

async fn organisation_delivery_settings_are_kept(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    assert_eq!(store.delivery_settings(organisation).await.unwrap(), "{}");
    let settings = r#"{"auto_reserve_unacknowledged":true}"#;
    store
        .set_delivery_settings(organisation, settings)
        .await
        .unwrap();
    assert_eq!(
        store.delivery_settings(organisation).await.unwrap(),
        settings
    );
}

/// Seven notices, oldest first: titles `Päätös 0`…`Päätös 6`, even ones summons; notice 3's
/// first recipient has the lookup `[7, 7, 7]`, notice 5's first delivery needs attention.
async fn seven_notices(store: &Arc<dyn Store>, organisation: Uuid) -> Vec<Uuid> {
    let author = author(
        store,
        organisation,
        &format!("lista-{organisation}@example.fi"),
    )
    .await;
    let mut ids = Vec::new();
    for n in 0..7 {
        let mut notice = new_notice(organisation, author, &format!("list-{n}"), 1);
        notice.title = format!("Päätös {n}");
        notice.case_reference = format!("DNRO {n}/2026");
        if n % 2 == 0 {
            notice.notice_type = "summons".into();
        }
        if n == 3 {
            notice.deliveries[0].identity_lookup = Some(vec![7, 7, 7]);
            notice.deliveries[0].recipient_name = "Matti 100% MEIKÄLÄINEN".into();
        }
        store.create_notice(&notice).await.unwrap();
        if n == 5 {
            store
                .record_delivery_needs_attention(
                    notice.deliveries[0].id,
                    "rejected",
                    Timestamp::now(),
                )
                .await
                .unwrap();
        }
        ids.push(notice.id);
        // Distinct creation instants (the order's first key).
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    ids
}

fn titles(notices: &[tiedoksi::store::Notice]) -> Vec<String> {
    notices.iter().map(|n| n.title.clone()).collect()
}

async fn the_notice_list_pages_by_keyset_and_filters(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    let other = store.create_organisation("Toinen kunta").await.unwrap().id;
    seven_notices(&store, other).await;
    seven_notices(&store, organisation).await;
    let query = |limit| NoticeQuery {
        organisation_id: organisation,
        limit,
        ..NoticeQuery::default()
    };

    // Newest first, three at a time, forward and back again.
    let first = store.search_notices(&query(3)).await.unwrap();
    assert_eq!(titles(&first), ["Päätös 6", "Päätös 5", "Päätös 4"]);
    let place = |n: &tiedoksi::store::Notice| (n.created_at, n.id);
    let second = store
        .search_notices(&NoticeQuery {
            after: Some(place(&first[2])),
            ..query(3)
        })
        .await
        .unwrap();
    assert_eq!(titles(&second), ["Päätös 3", "Päätös 2", "Päätös 1"]);
    let back = store
        .search_notices(&NoticeQuery {
            before: Some(place(&second[0])),
            ..query(3)
        })
        .await
        .unwrap();
    assert_eq!(
        titles(&back),
        titles(&first),
        "the page before, in the list's order"
    );
    let oldest = store
        .search_notices(&NoticeQuery {
            oldest_first: true,
            ..query(2)
        })
        .await
        .unwrap();
    assert_eq!(titles(&oldest), ["Päätös 0", "Päätös 1"]);

    // Filters, each alone; only this organisation's notices.
    let found = |query: NoticeQuery| {
        let store = store.clone();
        async move { titles(&store.search_notices(&query).await.unwrap()) }
    };
    assert_eq!(
        found(NoticeQuery {
            text: Some("dnro 4/".into()),
            ..query(10)
        })
        .await,
        ["Päätös 4"],
        "the case reference, case-insensitively"
    );
    assert_eq!(
        found(NoticeQuery {
            text: Some("DNRO 4/2026".into()),
            ..query(10)
        })
        .await,
        ["Päätös 4"],
        "the whole reference, not only its year that every notice has"
    );
    assert_eq!(
        found(NoticeQuery {
            text: Some("100%".into()),
            ..query(10)
        })
        .await,
        ["Päätös 3"],
        "a recipient's name; % is a character, not a wildcard"
    );
    assert!(found(NoticeQuery {
        text: Some("_".into()),
        ..query(10)
    })
    .await
    .is_empty());
    // Three characters or more are found by the trigram index, fewer by walking the list:
    // the same answers either way, pages included.
    let by_index = found(NoticeQuery {
        text: Some("PÄÄTÖS".into()),
        ..query(3)
    })
    .await;
    assert_eq!(by_index, ["Päätös 6", "Päätös 5", "Päätös 4"]);
    let second_by_index = store
        .search_notices(&NoticeQuery {
            text: Some("päätös".into()),
            after: Some(place(&first[2])),
            ..query(3)
        })
        .await
        .unwrap();
    assert_eq!(
        titles(&second_by_index),
        ["Päätös 3", "Päätös 2", "Päätös 1"]
    );
    assert_eq!(
        found(NoticeQuery {
            text: Some("4/".into()),
            ..query(10)
        })
        .await,
        ["Päätös 4"],
        "two characters, without the index"
    );
    assert_eq!(
        found(NoticeQuery {
            text: Some("ti 100% meik".into()),
            ..query(10)
        })
        .await,
        ["Päätös 3"],
        "any part of a name, through the index"
    );
    for syntax in [
        "\"meikä",
        "meikä OR päätös",
        "päätös*",
        "NEAR(päätös)",
        "a\\_%",
    ] {
        assert!(
            found(NoticeQuery {
                text: Some(syntax.into()),
                ..query(10)
            })
            .await
            .is_empty(),
            "{syntax:?} is text to find, not query syntax"
        );
    }
    assert_eq!(
        found(NoticeQuery {
            text: Some("meikäläinen".into()),
            ..query(10)
        })
        .await,
        ["Päätös 3"],
        "Finnish capitals fold too, on SQLite as well"
    );
    assert_eq!(
        found(NoticeQuery {
            lookups: vec![vec![1], vec![7, 7, 7]],
            ..query(10)
        })
        .await,
        ["Päätös 3"],
        "any of the lookup hashes"
    );
    assert_eq!(
        found(NoticeQuery {
            notice_type: Some("summons".into()),
            ..query(10)
        })
        .await,
        ["Päätös 6", "Päätös 4", "Päätös 2", "Päätös 0"]
    );
    assert_eq!(
        found(NoticeQuery {
            status: Some(DeliveryStatus::NeedsAttention),
            ..query(10)
        })
        .await,
        ["Päätös 5"]
    );
    assert_eq!(
        found(NoticeQuery {
            needs_attention: true,
            ..query(10)
        })
        .await,
        ["Päätös 5"]
    );
    let all = store.search_notices(&query(10)).await.unwrap();
    assert_eq!(
        found(NoticeQuery {
            created_from: Some(all[4].created_at),
            created_before: Some(all[1].created_at),
            ..query(10)
        })
        .await,
        ["Päätös 4", "Päätös 3", "Päätös 2"],
        "from inclusive, before exclusive"
    );

    // The list's recipients and attention flags, in one query each.
    let ids: Vec<Uuid> = all.iter().map(|n| n.id).collect();
    let deliveries = store.deliveries_of(organisation, &ids).await.unwrap();
    assert_eq!(deliveries.len(), 7);
    assert!(store.deliveries_of(other, &ids).await.unwrap().is_empty());
    let flagged = store
        .deliveries_needing_attention_among(organisation, &ids)
        .await
        .unwrap();
    let needing = store
        .deliveries_needing_attention(organisation, 10)
        .await
        .unwrap();
    assert_eq!(flagged, vec![needing[0].id]);
    assert_eq!(needing.len(), 1);
    assert_eq!(needing[0].notice_id, all[1].id);
}

/// At a million notices a page must come from an index, not a scan and a sort: the plans of
/// the list's pages and of the identity-code search name the indexes made for them.
async fn the_notice_list_and_identity_search_use_indexes(backend: TestBackend) {
    let (store, _db, organisation) = store_with_organisation(backend).await;
    seven_notices(&store, organisation).await;
    let first_page = NoticeQuery {
        organisation_id: organisation,
        limit: 26,
        ..NoticeQuery::default()
    };
    let later_page = NoticeQuery {
        after: Some((Timestamp::now(), Uuid::now_v7())),
        ..first_page.clone()
    };
    let identity = NoticeQuery {
        lookups: vec![vec![7, 7, 7], vec![8, 8, 8]],
        ..first_page.clone()
    };
    for (what, query) in [("first page", &first_page), ("later page", &later_page)] {
        let plan = store.explain_notice_search(query).await.unwrap();
        println!("{backend:?} {what}:\n{plan}");
        assert!(
            plan.contains("notices_by_organisation_created"),
            "{what} walks the list's index: {plan}"
        );
        assert!(
            !plan.contains("TEMP B-TREE") && !plan.contains("Sort"),
            "{what} needs no sort: {plan}"
        );
    }
    // A rare word and a rare status: their few notices are found first by their own
    // indexes, then sorted.
    for (what, query, index) in [
        (
            "free text",
            NoticeQuery {
                text: Some("dnro 4".into()),
                ..first_page.clone()
            },
            if backend == TestBackend::Sqlite {
                "notice_search VIRTUAL TABLE"
            } else {
                "notice_search_trigrams"
            },
        ),
        (
            "status",
            NoticeQuery {
                status: Some(DeliveryStatus::NeedsAttention),
                ..first_page.clone()
            },
            "deliveries_by_status_in_organisation",
        ),
    ] {
        let plan = store.explain_notice_search(&query).await.unwrap();
        println!("{backend:?} {what}:\n{plan}");
        // PostgreSQL weighs its statistics: at seven notices it may walk the list instead,
        // as it should (`cargo bench --bench notice_list` shows the index at a million).
        if backend == TestBackend::Sqlite || what == "status" {
            assert!(plan.contains(index), "{what} starts from {index}: {plan}");
        }
    }
    // A person has few notices: found by the hash first, the few sorted.
    let plan = store.explain_notice_search(&identity).await.unwrap();
    println!("{backend:?} identity search:\n{plan}");
    assert!(
        plan.contains("deliveries_by_identity"),
        "the identity search finds deliveries by their lookup hash: {plan}"
    );
    if backend == TestBackend::Sqlite {
        // SQLite plans by rules, not statistics: the plan it shows is the plan at any size.
        let driving = plan
            .lines()
            .find(|line| line.contains("SEARCH"))
            .unwrap_or_default();
        assert!(
            driving.contains("deliveries_by_identity"),
            "starting from the person's deliveries: {plan}"
        );
    }
}

fn accepted_mail(
    organisation_id: Uuid,
    key: &str,
    lookups: &[&[u8]],
) -> tiedoksi::store::AcceptedMail {
    tiedoksi::store::AcceptedMail {
        id: Uuid::now_v7(),
        organisation_id,
        message_key: key.to_string(),
        raw_sha256: "ab".repeat(32),
        size_bytes: 100,
        envelope_from: "kirjaamo@kunta.example".into(),
        recipients_sealed: vec![1, 2, 3],
        recipient_lookups: lookups.iter().map(|lookup| lookup.to_vec()).collect(),
        client_ip: "127.0.0.1".into(),
        helo: "mail.kunta.example".into(),
        tls: true,
        received_at: Timestamp::now(),
    }
}

async fn a_mail_is_kept_once_per_recipient_and_never_deleted(backend: TestBackend) {
    use tiedoksi::store::{MailAcceptance, MailSettlement, StoreError};
    let (store, db, organisation) = store_with_organisation(backend).await;
    let first = accepted_mail(organisation, "id:<a@kunta>", &[b"x", b"y"]);
    assert_eq!(
        store.accept_mail(&first).await.unwrap(),
        MailAcceptance::Accepted
    );
    assert_eq!(
        store.job_counts().await.unwrap().pending,
        1,
        "its job with it"
    );
    let had = store
        .recipients_with_mail(
            organisation,
            "id:<a@kunta>",
            &[b"x".to_vec(), b"z".to_vec()],
        )
        .await
        .unwrap();
    assert_eq!(had, vec![b"x".to_vec()]);
    let again = accepted_mail(organisation, "id:<a@kunta>", &[b"y"]);
    assert_eq!(
        store.accept_mail(&again).await.unwrap(),
        MailAcceptance::AlreadyAccepted
    );
    let racing = accepted_mail(organisation, "id:<a@kunta>", &[b"y", b"z"]);
    assert!(matches!(
        store.accept_mail(&racing).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        store.inbound_mail(racing.id).await.unwrap().is_none(),
        "nothing half kept"
    );
    let other_mail = accepted_mail(organisation, "id:<b@kunta>", &[b"x"]);
    assert_eq!(
        store.accept_mail(&other_mail).await.unwrap(),
        MailAcceptance::Accepted
    );
    assert_eq!(store.job_counts().await.unwrap().pending, 2);

    assert!(store
        .settle_mail(first.id, &MailSettlement::Refused, "{}", Timestamp::now())
        .await
        .unwrap());
    assert!(
        !store
            .settle_mail(first.id, &MailSettlement::Refused, "{}", Timestamp::now())
            .await
            .unwrap(),
        "settled once"
    );
    let delete = "DELETE FROM smtp_messages";
    let refused = match backend {
        TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(delete).execute(&pool).await.is_err()
        }
        TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query(delete).execute(&pool).await.is_err()
        }
    };
    assert!(refused, "mails are kept with the proof");
    assert_eq!(
        store.inbound_mails(organisation, 10).await.unwrap().len(),
        2
    );
}

async fn a_leader_lease_has_one_holder_until_it_lapses(backend: TestBackend) {
    let (store, _database) = fresh_store(backend).await;
    let now = Timestamp::now();
    let later = |seconds: i64| now + Duration::seconds(seconds);
    assert!(store
        .hold_lease("events", "a", now, later(30))
        .await
        .unwrap());
    assert!(
        !store
            .hold_lease("events", "b", later(1), later(31))
            .await
            .unwrap(),
        "held by a"
    );
    assert!(
        store
            .hold_lease("events", "a", later(10), later(40))
            .await
            .unwrap(),
        "a renews"
    );
    assert!(
        store
            .hold_lease("watch", "b", later(10), later(40))
            .await
            .unwrap(),
        "another loop, another lease"
    );
    assert!(
        !store
            .hold_lease("events", "b", later(35), later(65))
            .await
            .unwrap(),
        "renewed until 40"
    );
    assert!(
        store
            .hold_lease("events", "b", later(41), later(71))
            .await
            .unwrap(),
        "lapsed: b takes over"
    );
    assert!(!store
        .hold_lease("events", "a", later(42), later(72))
        .await
        .unwrap());
    store.release_leases("b").await.unwrap();
    assert!(
        store
            .hold_lease("events", "a", later(43), later(73))
            .await
            .unwrap(),
        "handed on at a graceful stop"
    );
}

/// Another writer holds `delivery`'s row in an open transaction on a connection of its own,
/// and checks for deadlocks at once (so that, were there one, it is this writer that fails).
async fn hold_row(url: &str, delivery: Uuid) -> sqlx::PgConnection {
    use sqlx::{Connection, Executor};
    let mut other = sqlx::PgConnection::connect(url).await.unwrap();
    other
        .execute("SET deadlock_timeout = '10ms'; BEGIN")
        .await
        .unwrap();
    sqlx::query("UPDATE deliveries SET updated_at = updated_at WHERE id = $1")
        .bind(delivery)
        .execute(&mut other)
        .await
        .unwrap();
    other
}

/// Then writes a history entry (taking the change feed's lock) and commits.
async fn write_history_and_commit(
    mut other: sqlx::PgConnection,
    organisation: Uuid,
    delivery: Uuid,
) {
    use sqlx::Executor;
    sqlx::query(
        "INSERT INTO delivery_history (id, organisation_id, delivery_id, occurred_at, kind, \
         details) VALUES ($1, $2, $3, $4, 'suomifi_event', '{}')",
    )
    .bind(Uuid::now_v7())
    .bind(organisation)
    .bind(delivery)
    .bind(Timestamp::now())
    .execute(&mut other)
    .await
    .expect("the other writer is not in a deadlock");
    other.execute("COMMIT").await.unwrap();
}

/// Until `n` of the store's statements wait for a row lock (seen from a connection of its
/// own: within a transaction `pg_stat_activity` shows one snapshot): an update, or a group's
/// taking of its rows.
async fn until_updates_wait(url: &str, n: i64) {
    use sqlx::Connection;
    let mut watch = sqlx::PgConnection::connect(url).await.unwrap();
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock' AND (query LIKE 'UPDATE deliveries SET %' \
         OR query LIKE 'SELECT id FROM deliveries WHERE id IN (%FOR UPDATE')";
    for _ in 0..1000 {
        let now: i64 = sqlx::query_scalar(waiting)
            .fetch_one(&mut watch)
            .await
            .unwrap();
        if now >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the store's update should wait for the held row");
}

fn created_event(
    delivery: Uuid,
    organisation: Uuid,
    message_id: i64,
) -> tiedoksi::store::StoredEvent {
    tiedoksi::store::StoredEvent {
        id: Uuid::now_v7(),
        organisation_id: Some(organisation),
        delivery_id: Some(delivery),
        message_id,
        service_id: "sim-service".into(),
        event_type: "Electronic message created".into(),
        event_time: "2026-12-01T10:00:00Z".into(),
        payload: "{}".into(),
    }
}

/// A page of events is kept in one transaction: it takes every delivery's row before the
/// history's feed lock, the order every writer keeps, so a writer that holds one of the rows
/// and then writes history never waits on it in a deadlock. PostgreSQL only: SQLite has one
/// writer at a time, and no row locks.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_page_of_events_takes_the_rows_before_the_feed_lock() {
    let (store, db, organisation) = store_with_organisation(TestBackend::Postgres).await;
    let first = one_delivery(&store, organisation, "events-first", false).await;
    let second = one_delivery(&store, organisation, "events-second", false).await;
    for (id, message_id) in [(first, 501), (second, 502)] {
        store
            .record_delivery_sent(id, message_id, Timestamp::now(), &[], None)
            .await
            .unwrap();
    }
    let other = hold_row(&db.url, second).await;
    let events = vec![
        (
            created_event(first, organisation, 501),
            Some(DeliveryStatus::DeliveredElectronically),
        ),
        (
            created_event(second, organisation, 502),
            Some(DeliveryStatus::DeliveredElectronically),
        ),
    ];
    let page = {
        let store = store.clone();
        tokio::spawn(async move { store.record_events(&events).await })
    };
    until_updates_wait(&db.url, 1).await;
    write_history_and_commit(other, organisation, second).await;
    assert_eq!(page.await.unwrap().unwrap(), [true, true]);
    for id in [first, second] {
        let delivery = store.delivery(id).await.unwrap().unwrap();
        assert_eq!(delivery.status, DeliveryStatus::DeliveredElectronically);
    }
}

/// Sends recorded together take their rows before the feed lock too (as above).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sends_recorded_together_take_the_rows_before_the_feed_lock() {
    let (store, db, organisation) = store_with_organisation(TestBackend::Postgres).await;
    let leader = one_delivery(&store, organisation, "group-leader", false).await;
    let first = one_delivery(&store, organisation, "group-first", false).await;
    let second = one_delivery(&store, organisation, "group-second", false).await;
    let record = |id: Uuid, message_id: i64| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .record_delivery_sent(id, message_id, Timestamp::now(), &[], None)
                .await
        })
    };
    // The first record waits for its row; the next two queue behind it as one group.
    let holds_leader = hold_row(&db.url, leader).await;
    let holds_second = hold_row(&db.url, second).await;
    let leading = record(leader, 600);
    until_updates_wait(&db.url, 1).await;
    let (in_group_first, in_group_second) = (record(first, 601), record(second, 602));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    {
        use sqlx::Executor;
        let mut holds_leader = holds_leader;
        holds_leader.execute("COMMIT").await.unwrap();
    }
    assert!(leading.await.unwrap().is_ok());
    // The group has the first row and waits for the second's.
    until_updates_wait(&db.url, 1).await;
    write_history_and_commit(holds_second, organisation, second).await;
    assert!(in_group_first.await.unwrap().is_ok());
    assert!(in_group_second.await.unwrap().is_ok());
    for (id, message_id) in [(leader, 600), (first, 601), (second, 602)] {
        let delivery = store.delivery(id).await.unwrap().unwrap();
        assert_eq!(delivery.suomifi_message_id, Some(message_id));
    }
}
