//! The legal service rules the core follows (Hallintolaki, asiointilaki): what a decision
//! must carry in every channel, an explicit choice of verifiable service, turvakielto
//! forwarding that is not service until staff serve onwards, substitute service and public
//! notice, the 7-day window from the message's arrival with the first service counting once,
//! minors, identity codes that are nobody's — and composing that goes on through an outage.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tiedoksi::delivery::legal::finnish_date;
use tiedoksi::delivery::watch::AcknowledgementWatch;
use tiedoksi::store::Timestamp;
use uuid::Uuid;

use crate::helpers::{TestApp, TestBackend};
use crate::notices::{
    advance_sim_clock, delivery, delivery_ids, draft, hetu, history_kinds, paper_ready,
    paper_ready_with, poller, problems, queued, recipient, send_by_hand, send_notice, sim,
    sim_message, wait_sent, wait_until, with_mailbox, without_mailbox,
};
use crate::on_both_backends;

on_both_backends!(
    a_decision_carries_its_header_and_appeal_instructions_in_every_channel,
    a_decision_needs_its_content_and_an_explicit_choice_of_service,
    a_forwarded_letter_is_not_service_until_staff_record_how_it_went_on,
    substitute_service_and_public_notice_follow_a_letter_posti_could_not_deliver,
    the_seven_days_run_from_arrival_and_the_first_service_counts_once,
    minors_are_warned_about_and_judged_on_the_sending_day,
    identity_codes_that_are_nobodys_are_refused_or_sent_without_id,
    composing_goes_on_through_an_outage_and_the_mailbox_is_checked_before_sending,
);

fn today() -> String {
    finnish_date(time::OffsetDateTime::now_utc()).to_string()
}

async fn call_json(app: &TestApp, function: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/{function}")))
        .header("origin", app.origin())
        .header("accept", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn refusal(response: reqwest::Response) -> Vec<(String, Value)> {
    assert_eq!(response.status(), 422);
    problems(&response.json().await.unwrap())
}

async fn a_decision_carries_its_header_and_appeal_instructions_in_every_channel(
    backend: TestBackend,
) {
    let app = paper_ready(backend, false).await;
    let mut notice = draft(
        "header-1",
        vec![
            recipient(
                "Maija Meikäläinen",
                Some(&with_mailbox()),
                "electronic_only",
            ),
            recipient(
                "Matti Meikäläinen",
                Some(&without_mailbox()),
                "multichannel",
            ),
        ],
    );
    notice["decision"]["automated"] = json!(true);
    let queued = queued(&app, &notice).await;
    let ids = delivery_ids(&queued);
    wait_sent(&app, ids[0]).await;
    let body = sim_message(&app, ids[0]).await["request"]["electronic"]["body"]
        .as_str()
        .unwrap()
        .to_string();
    for expected in [
        "Päätöksen päivämäärä: 27.11.2026",
        "Päätöksen tekijä: Sosiaalijohtaja Maija Virtanen",
        "Diaarinumero: DNRO 123/2026",
        "Asianosaiset: Maija Meikäläinen, Matti Meikäläinen",
        "Yhteyshenkilö: Liisa Käsittelijä, puh. 09 123 4567",
        "automaattisesti",
        "Hakemuksenne on hyväksytty.",
        "MUUTOKSENHAKUOHJEET",
        "Oikaisuvaatimus 30 päivän kuluessa tiedoksisaannista.",
    ] {
        assert!(body.contains(expected), "{expected:?} missing from {body}");
    }
    // The paper copy is the letter, with the same header and instructions.
    wait_sent(&app, ids[1]).await;
    let notice_id = queued["notice_id"].as_str().unwrap();
    let detail: Value = app
        .call("open_notice", &[("id", notice_id)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["decision_date"], "2026-11-27");
    assert_eq!(detail["automated_decision"], true);
    assert_eq!(detail["electronic_body"], body, "kept exactly as sent");
    assert_eq!(
        detail["deliveries"][1]["documents"][0]["kind"],
        "paper_letter"
    );
}

async fn a_decision_needs_its_content_and_an_explicit_choice_of_service(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let one = || vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")];
    let mut notice = draft("content-1", one());
    notice.as_object_mut().unwrap().remove("verifiable");
    notice["decision"] = json!({ "decision_date": "27.11.2026" });
    notice["appeal_instructions"] = json!("  ");
    let found = refusal(send_notice(&app, &notice).await).await;
    for (field, problem) in [
        ("verifiable", json!("choice_required")),
        ("decision.decision_date", json!("date_invalid")),
        ("decision.decision_maker", json!("required")),
        ("decision.contact_person", json!("required")),
        ("appeal_instructions", json!("required")),
    ] {
        assert!(
            found.contains(&(field.to_string(), problem.clone())),
            "{field}: {problem} not in {found:?}"
        );
    }
    let mut future = draft("content-2", one());
    let tomorrow = finnish_date(time::OffsetDateTime::now_utc()) + time::Duration::days(1);
    future["decision"]["decision_date"] = json!(tomorrow.to_string());
    assert_eq!(
        refusal(send_notice(&app, &future).await).await,
        [(
            "decision.decision_date".to_string(),
            json!("date_in_future")
        )]
    );
    crate::notices::nothing_was_written(&app).await;

    // A decision that cannot be appealed (0 days) needs no instructions; verifiable service
    // is then the caseworker's explicit choice.
    let mut final_decision = draft("content-3", one());
    final_decision["appeal_days"] = json!(0);
    final_decision["appeal_instructions"] = Value::Null;
    final_decision["verifiable"] = json!(true);
    let id = delivery_ids(&queued(&app, &final_decision).await)[0];
    let sent = wait_sent(&app, id).await;
    let notice = app
        .store
        .notice(app.organisation.id, sent.notice_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((notice.verifiable, notice.appeal_days), (true, None));
}

async fn a_forwarded_letter_is_not_service_until_staff_record_how_it_went_on(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let mut protected = recipient("Nuori Meikäläinen", Some(&without_mailbox()), "paper_only");
    protected["address_protected"] = json!(true);
    let mut notice = draft("forward-1", vec![protected]);
    notice["verifiable"] = json!(true);
    let id = delivery_ids(&queued(&app, &notice).await)[0];
    wait_sent(&app, id).await;
    let message = sim_message(&app, id).await;
    assert_eq!(
        message["request"]["paperMail"]["messageServiceType"], "Normal",
        "a letter to our own forwarding address is never one against a receipt"
    );

    poller(&app).poll_once().await.unwrap();
    advance_sim_clock(&app, 2 * 3600).await;
    poller(&app).poll_once().await.unwrap();
    let printed = wait_until(&app, id, "printed", |d| {
        d.status.as_str() == "sent_for_printing"
    })
    .await;
    assert_eq!(printed.deemed_receipt, None, "printing is not service");
    let list: Value = app.call("list_notices", &[]).await.json().await.unwrap();
    assert_eq!(list[0]["needs_attention"], 1, "to be forwarded by hand");
    assert!(
        printed
            .legal_rule
            .as_deref()
            .unwrap()
            .contains("forwarding address"),
        "{printed:?}"
    );

    let record = |method: &str, forwarded_on: &str, received_on: Option<&str>| {
        json!({ "record": {
            "delivery_id": id,
            "method": method,
            "forwarded_on": forwarded_on,
            "received_on": received_on,
        }})
    };
    // The notice is verifiable, so it goes on against a receipt too.
    assert_eq!(
        refusal(
            call_json(
                &app,
                "record_forwarding",
                record("ordinary_letter", &today(), None)
            )
            .await
        )
        .await,
        [("method".to_string(), json!("receipt_required"))]
    );
    assert_eq!(
        refusal(
            call_json(
                &app,
                "record_forwarding",
                record("verifiable_letter", &today(), None)
            )
            .await
        )
        .await,
        [("received_on".to_string(), json!("receipt_required"))]
    );
    assert_eq!(
        refusal(
            call_json(
                &app,
                "record_forwarding",
                record("verifiable_letter", "2020-01-01", Some(&today()))
            )
            .await
        )
        .await,
        [("forwarded_on".to_string(), json!("date_before_sending"))]
    );
    // The notice page offers the record, and its form (no wasm) posts it.
    let notice_id = printed.notice_id;
    let page = app
        .get(&format!("/notices/{notice_id}?confirm=forwarding:{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-testid=\"forwarding-form\""), "{page}");
    let post = |fields: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(app.url(&format!("/notices/{notice_id}/actions")))
                .header(reqwest::header::ORIGIN, app.origin())
                .form(&fields)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 303);
            response.headers()["location"].to_str().unwrap().to_string()
        }
    };
    let refused = post(vec![
        ("action", "forwarding".into()),
        ("delivery_id", id.to_string()),
        ("method", "ordinary_letter".into()),
        ("served_on", today()),
        ("second", String::new()),
    ])
    .await;
    assert!(
        refused.contains("problem=") && refused.contains("receipt_required"),
        "{refused}"
    );
    let recorded = post(vec![
        ("action", "forwarding".into()),
        ("delivery_id", id.to_string()),
        ("method", "verifiable_letter".into()),
        ("served_on", today()),
        ("second", today()),
    ])
    .await;
    assert_eq!(recorded, format!("/notices/{notice_id}#delivery-{id}"));
    let served = delivery(&app, id).await;
    assert_eq!(served.deemed_receipt, Some(today()));
    assert!(served.appeal_deadline.is_some());
    assert!(served.legal_rule.unwrap().contains("against a receipt"));
    assert!(history_kinds(&app, id)
        .await
        .contains(&"forwarding_recorded".to_string()));
    assert!(app
        .audit_actions()
        .await
        .contains(&"service.recorded".to_string()));
    let list: Value = app.call("list_notices", &[]).await.json().await.unwrap();
    assert_eq!(list[0]["needs_attention"], 0, "forwarded and recorded");

    // Only a forwarded letter is forwarded.
    let plain = draft(
        "forward-2",
        vec![recipient("Matti", Some(&without_mailbox()), "paper_only")],
    );
    let other = delivery_ids(&queued(&app, &plain).await)[0];
    wait_sent(&app, other).await;
    let mut elsewhere = record("ordinary_letter", &today(), None);
    elsewhere["record"]["delivery_id"] = json!(other);
    assert_eq!(
        refusal(call_json(&app, "record_forwarding", elsewhere).await).await,
        [("delivery_id".to_string(), json!("not_forwarded"))]
    );
}

async fn substitute_service_and_public_notice_follow_a_letter_posti_could_not_deliver(
    backend: TestBackend,
) {
    let app = paper_ready(backend, false).await;
    sim(
        &app,
        reqwest::Method::POST,
        "/__sim/behaviours",
        Some(json!([{ "key": "Palautuva Vastaanottaja", "paper_outcome": "returned" }])),
    )
    .await;
    let mut notice = draft(
        "substitute-1",
        vec![recipient(
            "Palautuva Vastaanottaja",
            None,
            "paper_without_id",
        )],
    );
    notice["verifiable"] = json!(true);
    let id = delivery_ids(&queued(&app, &notice).await)[0];
    wait_sent(&app, id).await;
    let service = |kind: &str, on: &str| {
        json!({ "record": {
            "delivery_id": id, "kind": kind, "served_on": on, "reference": "Todistus 12/2026",
        }})
    };
    assert_eq!(
        refusal(
            call_json(
                &app,
                "record_service",
                service("substitute_service", &today())
            )
            .await
        )
        .await,
        [("delivery_id".to_string(), json!("letter_not_undelivered"))]
    );

    poller(&app).poll_once().await.unwrap();
    advance_sim_clock(&app, 4 * 24 * 3600).await;
    poller(&app).poll_once().await.unwrap();
    let returned = wait_until(&app, id, "returned", |d| d.status.as_str() == "returned").await;
    assert_eq!(returned.deemed_receipt, None);

    let list: Value = app.call("list_notices", &[]).await.json().await.unwrap();
    assert_eq!(list[0]["needs_attention"], 1, "not served");
    let recorded = call_json(
        &app,
        "record_service",
        service("substitute_service", &today()),
    )
    .await;
    assert_eq!(recorded.status(), 200, "{:?}", recorded.text().await);
    let list: Value = app.call("list_notices", &[]).await.json().await.unwrap();
    assert_eq!(
        list[0]["needs_attention"], 0,
        "served by substitute service"
    );
    let today_date = finnish_date(time::OffsetDateTime::now_utc());
    let substitute = delivery(&app, id).await;
    assert_eq!(
        substitute.deemed_receipt,
        Some((today_date + time::Duration::days(3)).to_string()),
        "the 3rd day after the certificate"
    );
    assert!(substitute.legal_rule.unwrap().contains("HL 61"));

    // A later public notice is the latest record: the 7th day after publication.
    let published = call_json(&app, "record_service", service("public_notice", &today())).await;
    assert_eq!(published.status(), 200);
    let public = delivery(&app, id).await;
    assert_eq!(
        public.deemed_receipt,
        Some((today_date + time::Duration::days(7)).to_string())
    );
    assert!(public.legal_rule.unwrap().contains("HL 62"));
    let kinds = history_kinds(&app, id).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "service_recorded").count(),
        2,
        "{kinds:?}"
    );
}

async fn the_seven_days_run_from_arrival_and_the_first_service_counts_once(backend: TestBackend) {
    // The worker is run by hand, so the re-serve waits until the test sends it.
    let app = paper_ready_with(backend, true, |config| {
        config.worker.idle = Duration::from_secs(3600);
    })
    .await;
    // Suomi.fi's clock is three days ahead: the message arrives three days after our submit.
    advance_sim_clock(&app, 3 * 24 * 3600).await;
    let mut notice = draft(
        "window-1",
        vec![recipient("Maija", Some(&with_mailbox()), "electronic_only")],
    );
    notice["verifiable"] = json!(true);
    let id = delivery_ids(&queued(&app, &notice).await)[0];
    send_by_hand(&app).await;
    poller(&app).poll_once().await.unwrap();
    wait_until(&app, id, "delivered", |d| {
        d.status.as_str() == "delivered_electronically"
    })
    .await;

    let watch = AcknowledgementWatch {
        store: app.store.clone(),
        acknowledgement_days: 7,
    };
    let eight_days_after_submit = Timestamp::now() + time::Duration::days(8);
    assert_eq!(
        watch
            .run_once(eight_days_after_submit)
            .await
            .unwrap()
            .flagged,
        0,
        "five days after its arrival"
    );
    let eleven_days = Timestamp::now() + time::Duration::days(11);
    let outcome = watch.run_once(eleven_days).await.unwrap();
    assert_eq!((outcome.flagged, outcome.reserved), (1, 1));

    // The first try at the paper fails before anything is sent (Suomi.fi errs)...
    sim(
        &app,
        reqwest::Method::POST,
        "/__sim/faults",
        Some(json!({ "error_rate": 1.0 })),
    )
    .await;
    let outcome = send_by_hand(&app).await;
    assert_eq!(outcome.retried, 1, "{outcome:?}");
    sim(&app, reqwest::Method::DELETE, "/__sim/faults", None).await;
    // ...and the recipient acknowledges before the paper goes out: it is cancelled, unsent.
    advance_sim_clock(&app, 2 * 3600).await;
    poller(&app).poll_once().await.unwrap();
    wait_until(&app, id, "acknowledged", |d| {
        d.status.as_str() == "receipt_confirmed"
    })
    .await;
    let reserve = app.store.reserve_of(id).await.unwrap().unwrap();
    let started = Instant::now();
    while delivery(&app, reserve.id).await.status.as_str() == "queued" {
        send_by_hand(&app).await;
        assert!(started.elapsed() < Duration::from_secs(30), "still queued");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let cancelled = delivery(&app, reserve.id).await;
    assert_eq!(cancelled.status.as_str(), "cancelled");
    assert_eq!(cancelled.suomifi_message_id, None);
    assert_eq!(
        history_kinds(&app, reserve.id).await,
        ["queued", "attempt_failed", "cancelled"]
    );
    assert_eq!(crate::notices::counters_messages(&app).await, 1);
    let original = delivery(&app, id).await;
    assert!(
        original.deemed_receipt.is_some(),
        "the one service that counts"
    );
}

async fn minors_are_warned_about_and_judged_on_the_sending_day(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    let today = finnish_date(time::OffsetDateTime::now_utc());
    let born = |years: i32| {
        let date = today.replace_year(today.year() - years).unwrap() - time::Duration::days(30);
        format!(
            "{:02}{:02}{:02}",
            date.day(),
            u8::from(date.month()),
            date.year() % 100
        )
    };
    let child = hetu(&born(12), 'A', 903);
    let youth = hetu(&born(16), 'A', 905);
    let guardian = hetu("150680", '-', 907);
    let check = |key: &str, recipients: Vec<Value>, personal: bool| {
        let mut notice = draft(key, recipients);
        notice["notice_type"] = json!("summons");
        notice["minor_personal_matter"] = json!(personal);
        json!({ "draft": notice })
    };
    let warnings = |body: &Value| -> Vec<String> {
        body["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["warning"].as_str().unwrap().to_string())
            .collect()
    };
    let alone = call_json(
        &app,
        "check_notice",
        check(
            "minor-1",
            vec![recipient("Lapsi", Some(&child), "multichannel")],
            false,
        ),
    )
    .await;
    assert_eq!(alone.status(), 200);
    assert_eq!(
        warnings(&alone.json().await.unwrap()),
        ["minor_without_guardian"]
    );
    let youth_alone = call_json(
        &app,
        "check_notice",
        check(
            "minor-2",
            vec![recipient("Nuori", Some(&youth), "multichannel")],
            true,
        ),
    )
    .await;
    assert_eq!(
        warnings(&youth_alone.json().await.unwrap()),
        ["personal_matter_only_to_minor"]
    );
    let mut to_guardian = recipient("Huoltaja", Some(&guardian), "multichannel");
    to_guardian["role"] = json!("guardian");
    let guardian_alone = call_json(
        &app,
        "check_notice",
        check("minor-3", vec![to_guardian.clone()], true),
    )
    .await;
    assert_eq!(
        warnings(&guardian_alone.json().await.unwrap()),
        ["personal_matter_only_to_guardian"]
    );
    let both = call_json(
        &app,
        "check_notice",
        check(
            "minor-4",
            vec![
                recipient("Nuori", Some(&youth), "multichannel"),
                to_guardian,
            ],
            true,
        ),
    )
    .await;
    assert!(warnings(&both.json().await.unwrap()).is_empty());
    crate::notices::nothing_was_written(&app).await;

    // Queuing answers with the same warnings.
    let sent = queued(
        &app,
        &check(
            "minor-5",
            vec![recipient("Lapsi", Some(&child), "multichannel")],
            false,
        )["draft"],
    )
    .await;
    assert_eq!(sent["warnings"][0]["warning"], "minor_without_guardian");

    // Composed as a minor, sent after turning 18: the facts kept are the sending day's.
    let adult_today = hetu(&born(18), 'A', 909);
    let mut notice = crate::delivery::electronic_notice(
        &app.data_key,
        app.organisation.id,
        app.store
            .user_by_email(crate::helpers::ADMIN_EMAIL)
            .await
            .unwrap()
            .unwrap()
            .id,
        0,
    );
    notice.deliveries[0].identity_sealed = Some(
        app.data_key
            .seal(tiedoksi::secrets::Column::IdentityCode, &adult_today),
    );
    notice.deliveries[0].recipient_minor = true;
    app.store.create_notice(&notice).await.unwrap();
    let id = notice.deliveries[0].id;
    wait_sent(&app, id).await;
    let sent = delivery(&app, id).await;
    assert!(!sent.recipient_minor, "of age on the sending day");
    assert!(history_kinds(&app, id)
        .await
        .contains(&"facts_at_sending".to_string()));
}

async fn identity_codes_that_are_nobodys_are_refused_or_sent_without_id(backend: TestBackend) {
    let app = paper_ready(backend, false).await;
    for unused in [0, 1] {
        let code = hetu("150680", '-', unused);
        let response = send_notice(
            &app,
            &draft(
                &format!("unused-{unused}"),
                vec![recipient("Ei kukaan", Some(&code), "multichannel")],
            ),
        )
        .await;
        assert_eq!(
            refusal(response).await,
            [(
                "recipients[0].identity_code".to_string(),
                json!({ "identity_code": "IndividualNumber" })
            )]
        );
    }

    // Against the real Suomi.fi a temporary code (900–999) is nobody's own: paper without ID.
    let real = paper_ready_with(backend, false, |config| {
        config.allow_test_identity_codes = false;
    })
    .await;
    let temporary = hetu("150680", '-', 903);
    let queued = queued(
        &real,
        &draft(
            "temporary-1",
            vec![recipient("Väliaikainen", Some(&temporary), "multichannel")],
        ),
    )
    .await;
    assert_eq!(queued["deliveries"][0]["mode"], "paper_without_id");
    assert_eq!(
        queued["warnings"][0],
        json!({ "field": "recipients[0].identity_code", "warning": "temporary_identity_code" })
    );
    let id = delivery_ids(&queued)[0];
    wait_sent(&real, id).await;
    let message = sim_message(&real, id).await;
    assert_eq!(message["endpoint"], "/v2/paper-mail-without-id");
    assert!(!message.to_string().contains(&temporary));
}

async fn composing_goes_on_through_an_outage_and_the_mailbox_is_checked_before_sending(
    backend: TestBackend,
) {
    let app = paper_ready_with(backend, false, |config| {
        config.worker.idle = Duration::from_secs(3600);
    })
    .await;
    sim(
        &app,
        reqwest::Method::POST,
        "/__sim/faults",
        Some(json!({ "outage_seconds": 600 })),
    )
    .await;
    let mut ids: Vec<Uuid> = Vec::new();
    for n in 0..3 {
        // Electronic only needs no postal address, outage or not.
        let mut maija = recipient("Maija", Some(&with_mailbox()), "electronic_only");
        if n == 2 {
            maija.as_object_mut().unwrap().remove("address");
        }
        let response = send_notice(&app, &draft(&format!("outage-{n}"), vec![maija])).await;
        assert_eq!(response.status(), 200, "queued during the outage");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["warnings"][0]["warning"], "mailbox_check_deferred");
        ids.extend(delivery_ids(&body));
    }
    let closed = queued(
        &app,
        &draft(
            "outage-closed",
            vec![recipient(
                "Matti",
                Some(&without_mailbox()),
                "electronic_only",
            )],
        ),
    )
    .await;
    let closed_id = delivery_ids(&closed)[0];
    let outcome = send_by_hand(&app).await;
    assert_eq!(outcome.retried, 4, "waits out the outage: {outcome:?}");
    assert_eq!(crate::notices::counters_messages(&app).await, 0);

    sim(&app, reqwest::Method::DELETE, "/__sim/faults", None).await;
    let started = Instant::now();
    loop {
        send_by_hand(&app).await;
        let mut pending = 0;
        for id in ids.iter().chain([&closed_id]) {
            let current = delivery(&app, *id).await;
            if current.status.as_str() == "queued" {
                pending += 1;
            }
        }
        if pending == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "still sending");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for id in &ids {
        let sent = delivery(&app, *id).await;
        assert!(sent.suomifi_message_id.is_some(), "{sent:?}");
        assert!(history_kinds(&app, *id)
            .await
            .contains(&"mailbox_checked".to_string()));
    }
    assert_eq!(
        crate::notices::counters_messages(&app).await,
        3,
        "each once"
    );

    // The closed mailbox waits for a person, who sends it multichannel in one step.
    let waiting = delivery(&app, closed_id).await;
    assert_eq!(waiting.status.as_str(), "needs_attention");
    assert!(waiting
        .needs_attention_reason
        .as_deref()
        .unwrap()
        .starts_with("no_active_mailbox"));
    let changed = app
        .call(
            "change_to_multichannel",
            &[("delivery_id", &closed_id.to_string())],
        )
        .await;
    assert_eq!(changed.status(), 200, "{:?}", changed.text().await);
    send_by_hand(&app).await;
    let sent = delivery(&app, closed_id).await;
    assert_eq!(sent.decided_mode.as_str(), "multichannel");
    assert!(sent.suomifi_message_id.is_some());
    assert_eq!(
        sim_message(&app, closed_id).await["endpoint"],
        "/v2/messages"
    );
    assert_eq!(crate::notices::counters_messages(&app).await, 4);
    assert!(app
        .audit_actions()
        .await
        .contains(&"delivery.mode_changed".to_string()));
}
