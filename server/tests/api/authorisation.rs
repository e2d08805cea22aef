//! The authorisation matrix. Every method and path the router answers — read from the router
//! itself (`Application::routes`), so a new page, form, server function or API route is in it
//! without anyone adding it — is asked by no session, a caseworker, an auditor and an admin,
//! about their own organisation's object and about another organisation's. A route the matrix
//! does not know whom it is for, or a path parameter it does not know how to fill, fails the
//! test: whoever adds a route says who may use it here. The whole matrix is printed.
//!
//! What each cell must be:
//! - no session: a page goes to sign-in (303 → `/login`), anything else 401; public routes
//!   answer as for anyone; the API wants a key (401), never a session;
//! - a role the route is not for: refused (a page 403, a form or function any 4xx);
//! - the role it is for: not refused (not 401/403, not sent to sign-in);
//! - another organisation's object: not found or refused (4xx), never served;
//! - never a 5xx, whatever the input.

use std::collections::BTreeMap;
use std::fmt::Write;

use app::auth::Role;
use reqwest::header::{ACCEPT, ORIGIN};
use tiedoksi::route_census::RouteEntry;
use uuid::Uuid;

use crate::helpers::{
    new_client, spawn_app_with, TestApp, TestBackend, ADMIN_EMAIL, ADMIN_PASSWORD,
};

/// Whom a route is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// Anyone, signed in or not: sign-in, probes, assets, the welcome link.
    Public,
    /// Everyone of the organisation: reading notices, replies, statuses.
    Readers,
    /// Caseworkers and admins: composing and acting on notices (auditors only read).
    Senders,
    /// Admins and auditors: the audit log.
    Auditors,
    /// Admins: users, services, templates, keys, settings.
    Admins,
    /// Programs with an API key, never a session.
    ApiKeys,
}

/// Server functions, by whom they are for. A new one goes in one of these lists.
const PUBLIC_FUNCTIONS: &[&str] = &[
    "current_user",
    "login",
    "logout",
    "single_sign_on",
    "welcome_link",
];
const READER_FUNCTIONS: &[&str] = &[
    "delivery_statuses",
    "find_notices",
    "list_notices",
    "list_replies",
    "load_batch",
    "needs_attention",
    "open_notice",
    "open_reply",
    "progress_of_batch",
    "unread_replies",
];
const SENDER_FUNCTIONS: &[&str] = &[
    "change_to_multichannel",
    "check_draft",
    "check_notice",
    "letter_preview",
    "list_batches",
    "list_drafts",
    "list_mail_drafts",
    "list_templates",
    "open_draft",
    "record_forwarding",
    "record_service",
    "reserve_on_paper",
    "retry_delivery",
    "send_notice",
    "uploads",
];
const AUDITOR_FUNCTIONS: &[&str] = &["audit_log"];
const ADMIN_FUNCTIONS: &[&str] = &[
    "mail_bridge_settings",
    "organisation_api_keys",
    "organisation_settings",
    "organisation_users",
    "suomifi_services",
    "take_shown_api_key",
    "take_shown_link",
    "template_for_editing",
];

fn audience(route: &RouteEntry) -> Audience {
    let path = route.path.as_str();
    // The API's own description is public, like any API reference.
    if path == "/api/v1/openapi.json" || path == "/api/v1/reference" {
        return Audience::Public;
    }
    if path.starts_with("/api/v1/") {
        return Audience::ApiKeys;
    }
    if let Some(function) = path.strip_prefix("/api/") {
        for (list, audience) in [
            (PUBLIC_FUNCTIONS, Audience::Public),
            (READER_FUNCTIONS, Audience::Readers),
            (SENDER_FUNCTIONS, Audience::Senders),
            (AUDITOR_FUNCTIONS, Audience::Auditors),
            (ADMIN_FUNCTIONS, Audience::Admins),
        ] {
            if list.contains(&function) {
                return audience;
            }
        }
        panic!(
            "{} {path}: say in the authorisation matrix whom it is for",
            route.method
        );
    }
    match (route.method.as_str(), path) {
        (_, "/login" | "/accessibility" | "/healthz" | "/readyz")
        | (_, "/welcome/{token}" | "/language/{code}")
        | (_, "/auth/oidc/start" | "/auth/oidc/callback") => Audience::Public,
        (_, p)
            if p.starts_with("/pkg/") || p.starts_with("/fonts/") || p.starts_with("/favicon") =>
        {
            Audience::Public
        }
        (_, "/audit" | "/audit.csv") => Audience::Auditors,
        (_, p) if p.starts_with("/admin") => Audience::Admins,
        // A blank file of the columns, nobody's data.
        ("GET", "/batches/example.csv") => Audience::Readers,
        // Sending to many is the composers' (its pages, its files).
        (_, p) if p.starts_with("/compose") || p.starts_with("/batches") => Audience::Senders,
        ("POST", "/notices/{id}/actions") => Audience::Senders,
        ("POST", "/search") => Audience::Readers,
        (
            "GET",
            "/"
            | "/attention"
            | "/statuses"
            | "/inbox"
            | "/inbox/{id}"
            | "/notices/{id}"
            | "/notices/{id}/letter.pdf"
            | "/notices/{id}/attachments/{position}"
            | "/notices/{id}/deliveries/{delivery}/proof.pdf"
            | "/inbox/{id}/attachments/{position}",
        ) => Audience::Readers,
        _ => panic!(
            "{} {path}: say in the authorisation matrix whom it is for",
            route.method
        ),
    }
}

/// One organisation's objects, to fill paths with.
#[derive(Debug, Clone)]
struct Objects {
    notice: Uuid,
    delivery: Uuid,
    draft: Uuid,
    batch: Uuid,
    user: Uuid,
    service: Uuid,
    template: Uuid,
    api_key: Uuid,
}

/// The path with its parameters filled from `objects`; `None` for a catch-all (assets).
fn filled(path: &str, objects: &Objects) -> Option<String> {
    if path.contains("{*") {
        return None;
    }
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        let name = &rest[open + 1..close];
        let value = match (name, &out) {
            ("id", before)
                if before.starts_with("/notices/") || before.starts_with("/api/v1/notices/") =>
            {
                objects.notice.to_string()
            }
            ("id", before) if before.starts_with("/api/v1/deliveries/") => {
                objects.delivery.to_string()
            }
            ("delivery", _) => objects.delivery.to_string(),
            ("id", before) if before.starts_with("/compose/") => objects.draft.to_string(),
            ("id", before)
                if before.starts_with("/batches/") || before.starts_with("/api/v1/batches/") =>
            {
                objects.batch.to_string()
            }
            ("id", before) if before.starts_with("/admin/users/") => objects.user.to_string(),
            ("action", _) => "unlock".to_string(),
            ("id", before) if before.starts_with("/admin/services/") => objects.service.to_string(),
            ("id", before) if before.starts_with("/admin/templates/") => {
                objects.template.to_string()
            }
            ("id", before) if before.starts_with("/admin/api-keys/") => objects.api_key.to_string(),
            // A citizen's message: none in either organisation, so not found for everyone.
            ("id", before) if before.starts_with("/inbox/") => Uuid::now_v7().to_string(),
            ("position" | "n", _) => "0".to_string(),
            ("token", _) => "no-such-token".to_string(),
            ("code", _) => "sv".to_string(),
            _ => panic!("{path}: say in the authorisation matrix what {{{name}}} is"),
        };
        out.push_str(&value);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Whether the path names an object that belongs to an organisation.
fn names_an_object(path: &str) -> bool {
    ["{id}", "{delivery}"].iter().any(|p| path.contains(p))
        && !path.starts_with("/inbox/")
        && !path.starts_with("/welcome/")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Nobody,
    Caseworker,
    Auditor,
    Admin,
}

impl Who {
    fn may(self, audience: Audience) -> bool {
        match (self, audience) {
            (_, Audience::Public) => true,
            (Who::Nobody, _) => false,
            (_, Audience::Readers) => true,
            (Who::Caseworker | Who::Admin, Audience::Senders) => true,
            (Who::Auditor | Who::Admin, Audience::Auditors) => true,
            (Who::Admin, Audience::Admins) => true,
            _ => false,
        }
    }
}

async fn ask(
    app: &TestApp,
    client: &reqwest::Client,
    route: &RouteEntry,
    path: &str,
    key: Option<&str>,
) -> (u16, String) {
    let url = app.url(path);
    let mut request = match route.method.as_str() {
        "POST" => client
            .post(&url)
            .header(ORIGIN, app.origin())
            .form(&[("probe", "1")]),
        "DELETE" => client.delete(&url).header(ORIGIN, app.origin()),
        "PUT" => client.put(&url).header(ORIGIN, app.origin()),
        _ => client.get(&url),
    };
    if path.starts_with("/api/") && !path.starts_with("/api/v1/") {
        request = request.header(ACCEPT, "application/json");
    }
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    let location = answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, location)
}

fn to_sign_in(status: u16, location: &str) -> bool {
    status == 303 && location.starts_with("/login")
}

/// What is wrong with an answer, if anything.
fn judged(
    route: &RouteEntry,
    audience: Audience,
    who: Who,
    theirs: bool,
    status: u16,
    location: &str,
) -> Option<String> {
    if status >= 500 {
        return Some("server error".into());
    }
    let refused = matches!(status, 401 | 403) || to_sign_in(status, location);
    let is_page = route.method == "GET" && !route.path.starts_with("/api/");
    if who == Who::Nobody && audience != Audience::Public {
        let properly = if is_page {
            to_sign_in(status, location) || status == 401
        } else {
            status == 401 || (audience != Audience::ApiKeys && to_sign_in(status, location))
        };
        return (!properly).then(|| "open without a session".into());
    }
    if audience == Audience::Public {
        return None;
    }
    if !who.may(audience) {
        let properly = if is_page {
            matches!(status, 403 | 404)
        } else {
            (400..500).contains(&status)
        };
        return (!properly).then(|| format!("open to the {who:?}"));
    }
    if theirs {
        // A form may go back to its list (a double-click's second delete): not served, so
        // long as the other organisation's object is untouched (checked at the end).
        let back_to_a_list = route.method == "POST" && status == 303 && !location.contains('-');
        let properly = if is_page {
            matches!(status, 403 | 404)
        } else {
            (400..500).contains(&status) || back_to_a_list
        };
        return (!properly).then(|| "another organisation's object served".into());
    }
    refused.then(|| format!("refused to the {who:?}, whom it is for"))
}

async fn user(app: &TestApp, organisation: Uuid, email: &str, role: Role) -> Uuid {
    app.store
        .create_user(&tiedoksi::store::NewUser {
            organisation_id: organisation,
            email: email.into(),
            display_name: email.into(),
            password_hash: tiedoksi::auth::password::hash_password("matrix-password-1".into())
                .await
                .unwrap(),
            role,
        })
        .await
        .unwrap()
        .id
}

/// An organisation's objects, made as its admin (`client`) would make them.
async fn objects_of(
    app: &TestApp,
    organisation: Uuid,
    admin: &reqwest::Client,
    n: usize,
) -> Objects {
    let author = app
        .store
        .users_in_organisation(organisation)
        .await
        .unwrap()
        .into_iter()
        .find(|user| user.role == Role::Admin)
        .unwrap();
    let notice =
        crate::delivery::electronic_notice(&app.data_key, organisation, author.id, 9000 + n);
    app.store.create_notice(&notice).await.unwrap();
    let template = crate::templates::add_template_as(
        app,
        admin,
        &format!("Matriisi {n}"),
        "Ilmoitus",
        "Tiedoksi.",
    )
    .await;
    let drafted = crate::accounts::post_as(app, admin, "/compose/new", &[]).await;
    let draft = crate::accounts::location(&drafted)
        .strip_prefix("/compose/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .unwrap_or_else(|| panic!("a new draft: {drafted:?}"));
    let csv = format!(
        "tunnus;nimi;katuosoite;postinumero;postitoimipaikka\n{};Vastaanottaja;Katu 1;00100;Helsinki\n",
        crate::notices::hetu("150680", '-', 201)
    );
    let form = reqwest::multipart::Form::new()
        .text("template", template.to_string())
        .text("case_reference", "DNRO 1/2027")
        .text("mode", "multichannel")
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes())
                .file_name("vastaanottajat.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let checked = admin
        .post(app.url("/batches"))
        .header(ORIGIN, app.origin())
        .multipart(form)
        .send()
        .await
        .unwrap();
    let batch = crate::accounts::location(&checked)
        .strip_prefix("/batches/")
        .and_then(|id| Uuid::parse_str(id).ok())
        .unwrap_or_else(|| panic!("a batch: {checked:?}"));
    let service = match app.store.services(organisation).await.unwrap().first() {
        Some(service) => service.id,
        None => {
            let mut service = app.store.all_services().await.unwrap()[0].clone();
            service.id = Uuid::now_v7();
            service.organisation_id = organisation;
            service.service_id = format!("matrix-service-{n}");
            app.store.create_service(&service).await.unwrap();
            service.id
        }
    };
    let api_key =
        tiedoksi::api::keys::create_key(&app.store, organisation, &format!("Matriisi {n}"), "test")
            .await
            .unwrap()
            .row
            .id;
    Objects {
        notice: notice.id,
        delivery: notice.deliveries[0].id,
        draft,
        batch,
        user: user(
            app,
            organisation,
            &format!("uhri{n}@example.fi"),
            Role::Caseworker,
        )
        .await,
        service,
        template,
        api_key,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_answers_only_whom_it_is_for() {
    let app = spawn_app_with(TestBackend::Sqlite, |config| {
        config.worker.events_interval = std::time::Duration::from_secs(3600);
    })
    .await;
    let ours = app.organisation.id;
    app.store
        .set_delivery_settings(ours, &crate::notices::settings(false).to_string())
        .await
        .unwrap();
    let theirs = app
        .store
        .create_organisation("Toinen kunta")
        .await
        .unwrap()
        .id;
    app.store
        .set_delivery_settings(theirs, &crate::notices::settings(false).to_string())
        .await
        .unwrap();
    user(&app, ours, "kasittelija@example.fi", Role::Caseworker).await;
    user(&app, ours, "tarkastaja@example.fi", Role::Auditor).await;
    user(&app, theirs, "admin@toinen.fi", Role::Admin).await;
    let admin = crate::notices::signed_in_client(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let their_admin =
        crate::notices::signed_in_client(&app, "admin@toinen.fi", "matrix-password-1").await;
    let own = objects_of(&app, ours, &admin, 1).await;
    let other = objects_of(&app, theirs, &their_admin, 2).await;
    let people = [
        (Who::Nobody, new_client()),
        (
            Who::Caseworker,
            crate::notices::signed_in_client(&app, "kasittelija@example.fi", "matrix-password-1")
                .await,
        ),
        (
            Who::Auditor,
            crate::notices::signed_in_client(&app, "tarkastaja@example.fi", "matrix-password-1")
                .await,
        ),
        (Who::Admin, admin),
    ];
    let our_key = tiedoksi::api::keys::create_key(&app.store, ours, "Matriisi", "test")
        .await
        .unwrap()
        .secret;

    let routes = app.routes.clone();
    // The census must see every kind of route, or it is not reading the router.
    for expected in [
        "/notices/{id}",
        "/api/send_notice",
        "/api/v1/notices",
        "/admin/users",
        "/healthz",
    ] {
        assert!(
            routes.iter().any(|route| route.path == expected),
            "the census misses {expected}: {routes:?}"
        );
    }
    let mut matrix = String::new();
    let mut wrong = Vec::new();
    let mut cells = 0;
    let mut by_audience: BTreeMap<String, usize> = BTreeMap::new();
    for route in &routes {
        let audience = audience(route);
        *by_audience.entry(format!("{audience:?}")).or_default() += 1;
        let Some(own_path) = filled(&route.path, &own) else {
            continue;
        };
        let other_path = filled(&route.path, &other).unwrap();
        let mut row = format!("{:<6} {:<52}", route.method, route.path);
        if audience == Audience::ApiKeys {
            for (label, client, key, path, theirs) in [
                ("no key", &people[3].1, None, &own_path, false),
                (
                    "key",
                    &people[0].1,
                    Some(our_key.as_str()),
                    &own_path,
                    false,
                ),
                (
                    "key, theirs",
                    &people[0].1,
                    Some(our_key.as_str()),
                    &other_path,
                    true,
                ),
            ] {
                if theirs && !names_an_object(&route.path) {
                    continue;
                }
                let (status, location) = ask(&app, client, route, path, key).await;
                cells += 1;
                let _ = write!(row, " {label}:{status}");
                let who = if key.is_some() {
                    Who::Admin
                } else {
                    Who::Nobody
                };
                // The API is for keys: judged as an admin's route would be, a session counting
                // for nothing.
                let as_audience = if key.is_some() {
                    Audience::Readers
                } else {
                    Audience::ApiKeys
                };
                if let Some(problem) = judged(route, as_audience, who, theirs, status, &location) {
                    wrong.push(format!(
                        "{} {} ({label}): {status} {location} — {problem}",
                        route.method, route.path
                    ));
                }
            }
        } else {
            for (who, client) in &people {
                // Signing out would end the session the rest of the matrix asks with.
                if route.path == "/api/logout" && *who != Who::Nobody {
                    continue;
                }
                for theirs in [false, true] {
                    if theirs && (*who == Who::Nobody || !names_an_object(&route.path)) {
                        continue;
                    }
                    let path = if theirs { &other_path } else { &own_path };
                    let (status, location) = ask(&app, client, route, path, None).await;
                    cells += 1;
                    let _ = write!(
                        row,
                        " {}{}:{status}",
                        format!("{who:?}").to_lowercase(),
                        if theirs { "/theirs" } else { "" }
                    );
                    if let Some(problem) = judged(route, audience, *who, theirs, status, &location)
                    {
                        wrong.push(format!(
                            "{} {} ({who:?}{}): {status} {location} — {problem}",
                            route.method,
                            route.path,
                            if theirs { ", theirs" } else { "" }
                        ));
                    }
                }
            }
        }
        let _ = writeln!(matrix, "{row}   [{audience:?}]");
    }
    println!(
        "authorisation matrix: {} routes, {cells} answers ({by_audience:?})\n{matrix}",
        routes.len()
    );

    // Whatever the answers said, the other organisation's objects are as they were.
    let their_admin_row = app
        .store
        .user_by_email("admin@toinen.fi")
        .await
        .unwrap()
        .unwrap();
    assert!(
        app.store
            .draft(theirs, their_admin_row.id, other.draft)
            .await
            .unwrap()
            .is_some(),
        "their draft is still there"
    );
    assert_eq!(
        app.store
            .batch(theirs, other.batch)
            .await
            .unwrap()
            .unwrap()
            .status,
        "checked",
        "their batch neither confirmed nor cancelled"
    );
    assert!(
        !app.store
            .template(theirs, other.template)
            .await
            .unwrap()
            .unwrap()
            .archived,
        "their template not archived"
    );
    assert!(
        app.store
            .api_keys(theirs)
            .await
            .unwrap()
            .iter()
            .all(|key| key.revoked_at.is_none()),
        "their keys not revoked"
    );
    assert!(
        wrong.is_empty(),
        "{} wrong answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
