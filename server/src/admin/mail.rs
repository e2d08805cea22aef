//! The SMTP bridge's settings on the admin's Suomi.fi services page, as form posts: sender
//! domains, relay client networks, and what a mail becomes (draft mode, acknowledgements,
//! where citizens' replies go, the notice's type, verifiability and language). The same rules
//! as `tiedoksi smtp …`; each change audited.

use std::sync::Arc;

use app::auth::Actor;
use app::domain::notice::NoticeType;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use serde_json::json;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::smtp::admin::{normalised_domain, organisation, SettingsChange};
use crate::smtp::senders::parse_network;
use crate::store::{Store, StoreError};

#[derive(Clone)]
pub struct MailAdmin {
    pub store: Arc<dyn Store>,
    pub audit: Audit,
}

fn back(problem: Option<&str>) -> Response {
    match problem {
        Some(code) => {
            Redirect::to(&format!("/admin/services?problem={code}#problem")).into_response()
        }
        None => Redirect::to("/admin/services#mail-bridge").into_response(),
    }
}

fn failed(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "a mail bridge setting failed");
    crate::auth::middleware::app_unavailable()
}

fn forbidden() -> Response {
    (
        axum::http::StatusCode::FORBIDDEN,
        "Only an organisation's admins may do this.",
    )
        .into_response()
}

#[derive(Debug, Clone, Copy)]
enum MailList {
    SenderDomains,
    RelayNetworks,
}

impl MailAdmin {
    /// Adds a checked value to one of the lists (or with `action=remove` takes it away),
    /// audits it, and goes back to the page.
    async fn change_list(
        &self,
        actor: &Actor,
        list: MailList,
        value: String,
        action: &str,
    ) -> Response {
        let organisation = actor.organisation_id;
        let store = &self.store;
        let outcome = match (list, action == "remove") {
            (MailList::SenderDomains, true) => {
                store.remove_sender_domain(organisation, &value).await
            }
            (MailList::SenderDomains, false) => store.add_sender_domain(organisation, &value).await,
            (MailList::RelayNetworks, true) => {
                store.remove_relay_network(organisation, &value).await
            }
            (MailList::RelayNetworks, false) => store.add_relay_network(organisation, &value).await,
        };
        let field = match list {
            MailList::SenderDomains => "sender_domain",
            MailList::RelayNetworks => "relay_network",
        };
        match outcome {
            Ok(_) => {
                self.audit(actor, json!({ field: value, "action": action }))
                    .await;
                back(None)
            }
            // A sender domain another organisation has.
            Err(StoreError::Conflict(_)) => back(Some("domain_taken")),
            Err(error) => failed(error),
        }
    }

    async fn audit(&self, actor: &Actor, details: serde_json::Value) {
        let entry = AuditEntry::new(AuditAction::MailBridgeChanged)
            .by(actor)
            .subject("organisation", actor.organisation_id)
            .details(details);
        if let Err(error) = self.audit.record(entry).await {
            tracing::error!(%error, "could not audit a mail bridge change");
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ListForm {
    #[serde(default)]
    value: String,
    /// `add` or `remove`.
    #[serde(default)]
    action: String,
}

/// `POST /admin/mail/domains`.
pub async fn domains(
    State(admin): State<MailAdmin>,
    actor: Actor,
    Form(form): Form<ListForm>,
) -> Response {
    if !actor.is_admin() {
        return forbidden();
    }
    let Ok(domain) = normalised_domain(&form.value) else {
        return back(Some("domain_invalid"));
    };
    admin
        .change_list(&actor, MailList::SenderDomains, domain, &form.action)
        .await
}

/// `POST /admin/mail/networks`.
pub async fn networks(
    State(admin): State<MailAdmin>,
    actor: Actor,
    Form(form): Form<ListForm>,
) -> Response {
    if !actor.is_admin() {
        return forbidden();
    }
    let Some(network) = parse_network(&form.value) else {
        return back(Some("network_invalid"));
    };
    // An admin names their own mail servers, not a whole region of the internet.
    let narrow_enough = match network {
        ipnet::IpNet::V4(net) => net.prefix_len() >= 16,
        ipnet::IpNet::V6(net) => net.prefix_len() >= 48,
    };
    if form.action != "remove" && !narrow_enough {
        return back(Some("network_too_wide"));
    }
    let network = network.trunc().to_string();
    admin
        .change_list(&actor, MailList::RelayNetworks, network, &form.action)
        .await
}

#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    notice_type: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    verifiable: Option<String>,
    #[serde(default)]
    draft_mode: Option<String>,
    #[serde(default)]
    acknowledgements: Option<String>,
    #[serde(default)]
    replies_to: String,
}

/// `POST /admin/mail/settings`.
pub async fn settings(
    State(admin): State<MailAdmin>,
    actor: Actor,
    Form(form): Form<SettingsForm>,
) -> Response {
    if !actor.is_admin() {
        return forbidden();
    }
    if NoticeType::parse(form.notice_type.trim()).is_none()
        || !matches!(form.language.trim(), "fi" | "sv" | "en")
    {
        return back(Some("mail_settings_invalid"));
    }
    let Ok(org) = organisation(&admin.store, Some(&actor.organisation_id.to_string())).await else {
        return failed("the admin's organisation is gone");
    };
    let change = SettingsChange {
        notice_type: Some(form.notice_type.trim()),
        verifiable: Some(form.verifiable.is_some()),
        draft_mode: Some(form.draft_mode.is_some()),
        language: Some(form.language.trim()),
        acknowledgements: Some(form.acknowledgements.is_some()),
        replies_to: Some(form.replies_to.trim()),
    };
    match crate::smtp::admin::configure(&admin.store, &org, change).await {
        Ok(_) => {
            let details = json!({
                "notice_type": form.notice_type.trim(),
                "language": form.language.trim(),
                "verifiable": form.verifiable.is_some(),
                "draft_mode": form.draft_mode.is_some(),
                "acknowledgements": form.acknowledgements.is_some(),
                "replies_to": form.replies_to.trim(),
            });
            admin.audit(&actor, details).await;
            back(None)
        }
        // The only refusal left: a replies address outside the sender domains.
        Err(_) => back(Some("replies_to_invalid")),
    }
}
