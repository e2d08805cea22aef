//! First start: an empty database gets a demo organisation and its first admin, and the
//! operator is told how to sign in.

use std::sync::Arc;

use app::auth::Role;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::auth::password::{generate_password, hash_password};
use crate::store::{NewUser, Store};

pub const FIRST_ADMIN_EMAIL: &str = "admin@tiedoksi.local";
pub const DEMO_ORGANISATION: &str = "Demo-organisaatio";
/// The demo organisation's sender domain for the SMTP bridge.
pub const DEMO_SENDER_DOMAIN: &str = "tiedoksi.local";

pub struct FirstStart {
    pub email: String,
    /// Shown once when it was generated; `None` when it came from the environment.
    pub generated_password: Option<String>,
}

/// Postal details so that the demo can send paper at once; an admin replaces them.
fn demo_delivery_settings() -> serde_json::Value {
    let address = |name: &str, street: &str| {
        json!({
            "name": name,
            "street_address": street,
            "zip_code": "00100",
            "city": "Helsinki",
            "country_code": "FI",
        })
    };
    json!({
        "return_address": address(DEMO_ORGANISATION, "PL 1"),
        "forwarding_address": address("Demo-organisaatio / kirjaamo", "PL 2"),
        "letter_sender_lines": ["Kirjaamo, PL 1, 00100 Helsinki", "kirjaamo@tiedoksi.local"],
        "auto_reserve_unacknowledged": false,
    })
}

/// Creates the first organisation and admin when there is no organisation yet; otherwise
/// does nothing (a second start reuses the data).
pub async fn ensure_first_admin(
    store: &Arc<dyn Store>,
    admin_password: Option<&SecretString>,
) -> anyhow::Result<Option<FirstStart>> {
    if store.count_organisations().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match admin_password {
        Some(password) => (password.expose_secret().to_string(), false),
        None => {
            let password = generate_password();
            (password.clone(), true)
        }
    };
    let organisation = store.create_organisation(DEMO_ORGANISATION).await?;
    store
        .set_delivery_settings(organisation.id, &demo_delivery_settings().to_string())
        .await?;
    // The SMTP bridge works out of the box on the demo: mail from tiedoksi.local handed over
    // on this machine (`make run` listens on loopback only).
    store
        .add_sender_domain(organisation.id, DEMO_SENDER_DOMAIN)
        .await?;
    for network in ["127.0.0.0/8", "::1/128"] {
        store.add_relay_network(organisation.id, network).await?;
    }
    let admin = store
        .create_user(&NewUser {
            organisation_id: organisation.id,
            email: FIRST_ADMIN_EMAIL.to_string(),
            display_name: "Ylläpitäjä".to_string(),
            password_hash: hash_password(password.clone()).await?,
            role: Role::Admin,
        })
        .await?;

    let audit = Audit::new(store.clone());
    audit
        .record(
            AuditEntry::new(AuditAction::OrganisationCreated)
                .organisation(organisation.id)
                .actor_label("system: first start")
                .subject("organisation", organisation.id)
                .details(json!({ "name": organisation.name })),
        )
        .await?;
    audit
        .record(
            AuditEntry::new(AuditAction::UserCreated)
                .organisation(organisation.id)
                .actor_label("system: first start")
                .subject("user", admin.id)
                .details(json!({ "role": "admin" })),
        )
        .await?;

    Ok(Some(FirstStart {
        email: admin.email,
        generated_password: generated.then_some(password),
    }))
}
