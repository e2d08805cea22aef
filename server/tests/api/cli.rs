//! The `tiedoksi` command line for support staff.

use std::process::Command;

fn tiedoksi(args: &[&str]) -> (bool, String, String) {
    tiedoksi_with(args, &[])
}

fn tiedoksi_with(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tiedoksi"))
        .args(args)
        .envs(env.iter().copied())
        // Errors are for people: one line, whatever the backtrace setting.
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn legal_dates_prints_json() {
    let (ok, stdout, _) = tiedoksi(&[
        "legal-dates",
        "--sent",
        "2026-12-18",
        "--channel",
        "paper",
        "--appeal-days",
        "30",
    ]);
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["deemed_receipt"], "2026-12-25");
    assert_eq!(json["appeal_deadline"], "2027-01-25");
    assert_eq!(json["moved_from"], "2027-01-24");
    assert!(json["rule"].as_str().unwrap().contains("HL 59"));

    let (ok, stdout, _) = tiedoksi(&[
        "legal-dates",
        "--sent",
        "2026-12-18",
        "--channel",
        "electronic",
        "--acknowledged",
        "2026-12-22",
    ]);
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["deemed_receipt"], "2026-12-22");
    assert_eq!(json["appeal_deadline"], "2027-01-21");
    assert_eq!(json["moved_from"], serde_json::Value::Null);
}

#[test]
fn legal_dates_refuses_bad_input_clearly() {
    for (args, says) in [
        (
            vec!["legal-dates", "--sent", "2026-02-30", "--channel", "paper"],
            "--sent must be a real date",
        ),
        (
            vec!["legal-dates", "--sent", "18.12.2026", "--channel", "paper"],
            "YYYY-MM-DD",
        ),
        (
            vec!["legal-dates", "--sent", "9999-12-31", "--channel", "paper"],
            "between 1900 and 2200",
        ),
        (
            vec!["legal-dates", "--sent", "2026-12-18", "--channel", "pigeon"],
            "invalid value 'pigeon'",
        ),
        (
            vec![
                "legal-dates",
                "--sent",
                "2026-12-18",
                "--channel",
                "paper",
                "--appeal-days",
                "0",
            ],
            "--appeal-days",
        ),
        (
            vec![
                "legal-dates",
                "--sent",
                "2026-12-18",
                "--channel",
                "paper",
                "--acknowledged",
                "2026-12-01",
            ],
            "cannot be before",
        ),
    ] {
        let (ok, stdout, stderr) = tiedoksi(&args);
        assert!(!ok, "{args:?}");
        assert!(stdout.is_empty(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("backtrace"), "{args:?}: {stderr}");
    }
    // Ours are one line (clap's usage errors have their own short form).
    let (_, _, stderr) = tiedoksi(&["legal-dates", "--sent", "2026-02-30", "--channel", "paper"]);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("tiedoksi: "), "{stderr}");
}

#[test]
fn the_server_refuses_unsafe_production_settings() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("t.db").display());
    let common = [
        ("TIEDOKSI_DATABASE_URL", database.as_str()),
        ("TIEDOKSI_DATA_KEY_FILE", "/nonexistent/never-written.key"),
    ];
    for (extra, says) in [
        (
            vec![("TIEDOKSI_ADDR", "0.0.0.0:0")],
            "TIEDOKSI_SIMULATOR=1 for a lab",
        ),
        (
            vec![("TIEDOKSI_ADDR", "0.0.0.0:0"), ("TIEDOKSI_SIMULATOR", "1")],
            "https://",
        ),
        (
            vec![("TIEDOKSI_SUOMIFI_URL", "https://api.messages-qa.suomi.fi")],
            "TIEDOKSI_SUOMIFI_USERNAME",
        ),
    ] {
        let mut env = common.to_vec();
        env.extend(extra);
        let (ok, _, stderr) = tiedoksi_with(&["serve"], &env);
        assert!(!ok, "{env:?}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(says), "{env:?}: {stderr}");
    }
}

crate::on_both_backends!(the_data_key_rotates_without_losing_anything);

/// Values sealed under one key are re-sealed under a new one by `tiedoksi rotate-data-key`,
/// in batches, and a second run finds nothing left to do.
async fn the_data_key_rotates_without_losing_anything(backend: crate::helpers::TestBackend) {
    use tiedoksi::secrets::{Column, DataKey, DataKeys};
    let (store, database) = crate::helpers::fresh_store(backend).await;
    let organisation = store.create_organisation("Kunta").await.unwrap();
    let author = store
        .create_user(&tiedoksi::store::NewUser {
            organisation_id: organisation.id,
            email: "k@example.fi".into(),
            display_name: "K".into(),
            password_hash: "x".into(),
            role: app::auth::Role::Caseworker,
        })
        .await
        .unwrap();
    let old = DataKey::generate();
    let old_keys = DataKeys::from(old.clone());
    let mut ids = Vec::new();
    for n in 0..7 {
        let mut notice =
            crate::delivery::electronic_notice(&old_keys, organisation.id, author.id, n);
        notice.deliveries[0].address_sealed =
            Some(old_keys.seal(Column::PostalAddress, &format!("{{\"n\":{n}}}")));
        ids.push(notice.deliveries[0].id);
        store.create_notice(&notice).await.unwrap();
    }
    let draft_id = uuid::Uuid::now_v7();
    let now = tiedoksi::store::Timestamp::now();
    store
        .save_draft(&tiedoksi::store::DraftRow {
            id: draft_id,
            organisation_id: organisation.id,
            author_id: author.id,
            title: "Luonnos".into(),
            content_sealed: old_keys.seal(Column::Draft, "{\"secret\":1}"),
            problems: "[]".into(),
            notice_id: None,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    let reply_id = uuid::Uuid::now_v7();
    assert!(store
        .record_reply(&tiedoksi::store::CitizenReply {
            id: reply_id,
            organisation_id: Some(organisation.id),
            message_id: 900_001,
            service_id: "palvelu".into(),
            notice_id: None,
            delivery_id: None,
            in_reply_to: None,
            sender_name: Some("Maija".into()),
            sender_sealed: Some(old_keys.seal(Column::ReplySender, "131052-308T")),
            sender_lookup: Some(old_keys.lookup_hash("131052-308T")),
            sender_masked: Some("131052-****".into()),
            on_behalf_name: None,
            title: "Kysymys".into(),
            body: "Hei".into(),
            attachments: "[]".into(),
            unavailable: false,
            sent_at: now,
            fetched_at: now,
        })
        .await
        .unwrap());
    let service_id = uuid::Uuid::now_v7();
    store
        .create_service(&tiedoksi::store::SuomiFiServiceRow {
            id: service_id,
            organisation_id: organisation.id,
            name: "Palvelu".into(),
            service_id: "palvelu".into(),
            username: "palvelu-user".into(),
            password_sealed: old_keys.seal(Column::Credential, "rest-salasana"),
            pending_password_sealed: None,
            password_changed_at: now,
            posti_username: "posti".into(),
            posti_password_sealed: Some(old_keys.seal(Column::Credential, "posti-salasana")),
            posti_email: String::new(),
            cost_pool: None,
            is_default: true,
            last_check_at: None,
            last_check_ok: None,
            last_check_message: None,
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
    let new = DataKey::generate();
    let run = || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tiedoksi"))
            .args(["rotate-data-key", "--batch", "3"])
            .env("TIEDOKSI_DATABASE_URL", &database.url)
            .env("TIEDOKSI_DATA_KEY", new.to_base64())
            .env("TIEDOKSI_DATA_KEY_PREVIOUS", old.to_base64())
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let first = run();
    assert!(
        first.contains(
            "re-sealed 7 deliveries, 1 drafts, 1 replies, 0 mails and 1 Suomi.fi services"
        ),
        "{first}"
    );
    let only_new = DataKeys::from(new.clone());
    for (n, id) in ids.iter().enumerate() {
        let delivery = store.delivery(*id).await.unwrap().unwrap();
        let code = only_new
            .open(
                Column::IdentityCode,
                delivery.identity_sealed.as_deref().unwrap(),
            )
            .unwrap();
        assert_eq!(
            delivery.identity_lookup.as_deref(),
            Some(only_new.lookup_hash(&code).as_slice()),
            "the search hash follows the key"
        );
        assert_eq!(
            only_new
                .open(
                    Column::PostalAddress,
                    delivery.address_sealed.as_deref().unwrap()
                )
                .unwrap(),
            format!("{{\"n\":{n}}}")
        );
        assert!(old_keys
            .open(
                Column::IdentityCode,
                delivery.identity_sealed.as_deref().unwrap()
            )
            .is_err());
    }
    let draft = store
        .draft(organisation.id, author.id, draft_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        only_new.open(Column::Draft, &draft.content_sealed).unwrap(),
        "{\"secret\":1}"
    );
    let reply = store
        .reply(organisation.id, reply_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        only_new
            .open(Column::ReplySender, reply.sender_sealed.as_deref().unwrap())
            .unwrap(),
        "131052-308T"
    );
    assert_eq!(
        reply.sender_lookup.as_deref(),
        Some(only_new.lookup_hash("131052-308T").as_slice())
    );
    let service = store
        .service(organisation.id, service_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        only_new
            .open(Column::Credential, &service.password_sealed)
            .unwrap(),
        "rest-salasana"
    );
    assert_eq!(
        only_new
            .open(
                Column::Credential,
                service.posti_password_sealed.as_deref().unwrap()
            )
            .unwrap(),
        "posti-salasana"
    );
    let second = run();
    assert!(
        second.contains(
            "re-sealed 0 deliveries, 0 drafts, 0 replies, 0 mails and 0 Suomi.fi services"
        ),
        "{second}"
    );
    assert!(
        second.contains("7 deliveries were already under it"),
        "{second}"
    );
}
