//! Notice templates: an admin adds one and saves changes as new versions (never over someone
//! else's); a caseworker starts a notice from it, the placeholders are filled from the notice,
//! and the notice keeps the version it was made from even after the template changes.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::accounts::{location, post_as, signed_in};
use crate::helpers::{new_client, TestApp, TestBackend};
use crate::notices::{delivery_ids, quiet_app, sim_message, wait_sent, with_mailbox};
use crate::on_both_backends;

on_both_backends!(
    a_notice_started_from_a_template_keeps_its_version,
    template_changes_are_versions_and_never_undo_anothers,
    only_the_organisations_admins_manage_its_templates,
);

pub(crate) fn template_form<'a>(
    name: &'a str,
    title: &'a str,
    body: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("notice_type", "decision"),
        ("language", "fi"),
        ("title", title),
        ("body", body),
        ("reasons", "Tulot ylittävät normin."),
        ("decision_maker", "Sosiaalijohtaja Maija Virtanen"),
        ("contact_person", "Liisa Käsittelijä"),
        ("contact_details", "puh. 09 123 4567"),
        (
            "appeal_instructions",
            "Oikaisuvaatimus 30 päivän kuluessa tiedoksisaannista.",
        ),
        ("appeal_days", "30"),
        ("appeal_basis", "HL 49 c §"),
        ("verifiable", "on"),
        ("replies_allowed", "on"),
    ]
}

pub(crate) async fn add_template(app: &TestApp, name: &str, title: &str, body: &str) -> Uuid {
    add_template_as(app, &app.client, name, title, body).await
}

/// A template added by whoever `client` is signed in as.
pub(crate) async fn add_template_as(
    app: &TestApp,
    client: &reqwest::Client,
    name: &str,
    title: &str,
    body: &str,
) -> Uuid {
    let added = post_as(
        app,
        client,
        "/admin/templates",
        &template_form(name, title, body),
    )
    .await;
    let page = location(&added);
    let id = page
        .strip_prefix("/admin/templates/")
        .unwrap_or_else(|| panic!("to the template's page: {page}"));
    Uuid::parse_str(id).unwrap()
}

/// `POST /compose/new` with a template: the new draft's page.
async fn draft_from(app: &TestApp, template: Uuid) -> Uuid {
    let created = post_as(
        app,
        &app.client,
        "/compose/new",
        &[("template", template.to_string().as_str())],
    )
    .await;
    let page = location(&created);
    Uuid::parse_str(page.strip_prefix("/compose/").unwrap()).unwrap()
}

async fn open_draft(app: &TestApp, id: Uuid) -> Value {
    let response = app
        .call("open_draft", &[("id", id.to_string().as_str())])
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn a_notice_started_from_a_template_keeps_its_version(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let template = add_template(
        &app,
        "Toimeentulotuki, kielteinen",
        "Päätös {{asianumero}}",
        "Hei {{vastaanottaja}},\n\nhakemuksenne on käsitelty {{päivämäärä}}.",
    )
    .await;

    let draft_id = draft_from(&app, template).await;
    let view = open_draft(&app, draft_id).await;
    let draft = &view["draft"];
    assert_eq!(draft["title"], "Päätös {{asianumero}}");
    assert!(draft["body"]
        .as_str()
        .unwrap()
        .contains("Perustelut\n\nTulot ylittävät normin."));
    assert_eq!(draft["verifiable"], true);
    assert_eq!(draft["appeal_days"], 30);
    assert!(draft["appeal_instructions"]
        .as_str()
        .unwrap()
        .contains("HL 49 c §"));
    assert_eq!(
        draft["decision"]["decision_maker"],
        "Sosiaalijohtaja Maija Virtanen"
    );
    assert_eq!(draft["template"]["version"], 1);
    assert_eq!(draft["replies_allowed"], true);

    // The caseworker fills in the case and the recipient and sends.
    let mut notice = draft.clone();
    notice["idempotency_key"] = json!(format!("template-{draft_id}"));
    notice["case_reference"] = json!("DNRO 77/2026");
    notice["recipients"] = json!([{
        "role": "party",
        "name": "Maija Meikäläinen",
        "identity_code": with_mailbox(),
        "address": crate::notices::address("Maija Meikäläinen"),
        "mode": "electronic_only",
    }]);
    let queued = crate::notices::queued(&app, &notice).await;
    let id = delivery_ids(&queued)[0];
    let sent = wait_sent(&app, id).await;
    let message = sim_message(&app, id).await;
    let electronic = &message["request"]["electronic"];
    assert_eq!(electronic["title"], "Päätös DNRO 77/2026");
    let body = electronic["body"].as_str().unwrap();
    assert!(body.contains("Hei Maija Meikäläinen,"), "{body}");
    assert!(!body.contains("{{"), "{body}");
    assert_eq!(electronic["replyAllowedBy"], "Anyone");

    // The template changes; the notice still names version 1.
    let changed = post_as(
        &app,
        &app.client,
        &format!("/admin/templates/{template}"),
        &[
            template_form(
                "Toimeentulotuki, kielteinen",
                "Päätös {{asianumero}} (korjattu)",
                "Uusi teksti.",
            )
            .as_slice(),
            &[("after", "1")],
        ]
        .concat(),
    )
    .await;
    assert_eq!(location(&changed), format!("/admin/templates/{template}"));
    let stored = app
        .store
        .notice(app.organisation.id, sent.notice_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.template_id, Some(template));
    assert_eq!(stored.template_version, Some(1));
    let page = app
        .get(&format!("/notices/{}", sent.notice_id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Toimeentulotuki, kielteinen, versio 1"),
        "{page}"
    );
    // A new draft from it now starts from version 2.
    let again = open_draft(&app, draft_from(&app, template).await).await;
    assert_eq!(again["draft"]["template"]["version"], 2);
    assert_eq!(again["draft"]["title"], "Päätös {{asianumero}} (korjattu)");

    // An unknown placeholder in what the caseworker typed is a problem, not sent as is.
    let mut unknown = notice.clone();
    unknown["idempotency_key"] = json!("unknown-placeholder");
    unknown["title"] = json!("Päätös {{nimi}}");
    let refused = crate::notices::send_notice(&app, &unknown).await;
    let body = refused.text().await.unwrap();
    assert!(
        body.contains(r#""field":"title","problem":{"unknown_placeholder":{"name":"nimi"}}"#),
        "{body}"
    );
}

async fn template_changes_are_versions_and_never_undo_anothers(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let template = add_template(&app, "Kutsu", "Kutsu {{asianumero}}", "Tervetuloa.").await;
    let edit = |title: &'static str, after: &'static str| {
        let app = &app;
        async move {
            let form = [
                template_form("Kutsu", title, "Tervetuloa.").as_slice(),
                &[("after", after)],
            ]
            .concat();
            location(
                &post_as(
                    app,
                    &app.client,
                    &format!("/admin/templates/{template}"),
                    &form,
                )
                .await,
            )
        }
    };
    assert_eq!(
        edit("Kutsu A", "1").await,
        format!("/admin/templates/{template}")
    );
    // Another admin's form still shows version 1: refused, nothing lost.
    assert_eq!(
        edit("Kutsu B", "1").await,
        format!("/admin/templates/{template}?problem=edited_meanwhile#problem")
    );
    let versions = app
        .store
        .template_versions(app.organisation.id, template)
        .await
        .unwrap();
    assert_eq!(versions.len(), 2);
    assert!(versions[0].content.contains("Kutsu A"));
    assert!(versions[1].content.contains("Kutsu {{asianumero}}"));

    // Unknown placeholders and bad numbers are refused when the template is saved.
    let bad = post_as(
        &app,
        &app.client,
        "/admin/templates",
        &template_form("X", "Hei {{nimi}}", "x"),
    )
    .await;
    assert_eq!(
        location(&bad),
        "/admin/templates?problem=placeholder_unknown#problem"
    );
    let mut form = template_form("Y", "Otsikko", "x");
    form.retain(|(k, _)| *k != "appeal_days");
    form.push(("appeal_days", "kolmekymmentä"));
    let bad = post_as(&app, &app.client, "/admin/templates", &form).await;
    assert_eq!(
        location(&bad),
        "/admin/templates?problem=appeal_days_invalid#problem"
    );
    assert_eq!(
        app.store
            .templates(app.organisation.id)
            .await
            .unwrap()
            .len(),
        1
    );

    // Archived: out of the caseworkers' choice, its versions kept.
    post_as(
        &app,
        &app.client,
        &format!("/admin/templates/{template}/archive"),
        &[("archived", "true")],
    )
    .await;
    let caseworker = signed_in(
        &app,
        app.organisation.id,
        "k@kunta.example",
        app::auth::Role::Caseworker,
    )
    .await;
    let listed: Value = caseworker
        .post(app.url("/api/list_templates"))
        .header(reqwest::header::ORIGIN, app.origin())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]));
    let actions = app.audit_actions().await;
    for action in [
        "template.created",
        "template.version_saved",
        "template.archived",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}");
    }
}

async fn only_the_organisations_admins_manage_its_templates(backend: TestBackend) {
    let app = quiet_app(backend).await;
    let template = add_template(&app, "Päätöspohja", "Päätös", "Teksti.").await;
    let form = template_form("Kaapattu", "X", "Y");
    let caseworker = signed_in(
        &app,
        app.organisation.id,
        "k@kunta.example",
        app::auth::Role::Caseworker,
    )
    .await;
    let auditor = signed_in(
        &app,
        app.organisation.id,
        "t@kunta.example",
        app::auth::Role::Auditor,
    )
    .await;
    for client in [&caseworker, &auditor] {
        assert_eq!(
            post_as(&app, client, "/admin/templates", &form)
                .await
                .status(),
            403
        );
        assert_eq!(
            post_as(&app, client, &format!("/admin/templates/{template}"), &form)
                .await
                .status(),
            403
        );
    }
    let anonymous = post_as(&app, &new_client(), "/admin/templates", &form).await;
    assert_eq!(anonymous.status(), 401);
    let other = app.store.create_organisation("Toinen kunta").await.unwrap();
    let stranger = signed_in(
        &app,
        other.id,
        "admin@toinen.example",
        app::auth::Role::Admin,
    )
    .await;
    let foreign = post_as(
        &app,
        &stranger,
        &format!("/admin/templates/{template}"),
        &form,
    )
    .await;
    assert_eq!(foreign.status(), 404);
    let foreign = post_as(
        &app,
        &stranger,
        &format!("/admin/templates/{template}/archive"),
        &[("archived", "true")],
    )
    .await;
    assert_eq!(foreign.status(), 404);
    // Nor can another organisation's caseworker start from it.
    let started = post_as(
        &app,
        &stranger,
        "/compose/new",
        &[("template", template.to_string().as_str())],
    )
    .await;
    assert_ne!(
        started.status(),
        303,
        "no draft from another organisation's template"
    );
    let versions = app
        .store
        .template_versions(app.organisation.id, template)
        .await
        .unwrap();
    assert_eq!(versions.len(), 1);
}
