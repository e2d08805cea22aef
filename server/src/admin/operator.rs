//! The operator's commands for hosting several organisations (a shared service centre serves
//! many municipalities): `tiedoksi organisations create` and `tiedoksi users create`, which
//! bootstrap each organisation's first admin with a one-time link.

use std::sync::Arc;

use app::auth::Role;
use app::domain::BusinessId;
use serde_json::json;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::store::{Organisation, Store};

const OPERATOR: &str = "operator: command line";

pub async fn create_organisation(
    store: &Arc<dyn Store>,
    name: &str,
    business_id: &str,
) -> anyhow::Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        anyhow::bail!("the name must be 1–200 characters");
    }
    let business_id = BusinessId::parse(business_id.trim())
        .map_err(|_| anyhow::anyhow!("{business_id:?} is not a valid business ID (1234567-8)"))?;
    if store
        .organisation_by_business_id(business_id.as_str())
        .await?
        .is_some()
    {
        anyhow::bail!(
            "an organisation with business ID {} exists already",
            business_id.as_str()
        );
    }
    let organisation = store.create_organisation(name).await?;
    store
        .set_business_id(organisation.id, business_id.as_str())
        .await?;
    Audit::new(store.clone())
        .record(
            AuditEntry::new(AuditAction::OrganisationCreated)
                .organisation(organisation.id)
                .actor_label(OPERATOR)
                .subject("organisation", organisation.id)
                .details(json!({ "name": name, "business_id": business_id.as_str() })),
        )
        .await?;
    Ok(format!(
        "created {name} ({}), id {}",
        business_id.as_str(),
        organisation.id
    ))
}

/// The organisation by business ID, id or exact name.
pub async fn find_organisation(
    store: &Arc<dyn Store>,
    named: &str,
) -> anyhow::Result<Organisation> {
    let named = named.trim();
    if let Some(organisation) = store.organisation_by_business_id(named).await? {
        return Ok(organisation);
    }
    crate::smtp::admin::organisation(store, Some(named)).await
}

/// A user with a one-time link to choose their password; `base_url` is where users reach
/// Tiedoksi.
pub async fn create_user(
    store: &Arc<dyn Store>,
    organisation: &Organisation,
    email: &str,
    display_name: &str,
    role: Role,
    base_url: &str,
) -> anyhow::Result<String> {
    use super::links::NewUserError;
    let (user, path) =
        match super::links::add_user(store, organisation.id, email, display_name, role).await {
            Ok(added) => added,
            Err(NewUserError::EmailInvalid) => anyhow::bail!("{email:?} is not an e-mail address"),
            Err(NewUserError::EmailTaken) => anyhow::bail!("a user with {email} exists already"),
            Err(NewUserError::Store(error)) => return Err(error.into()),
        };
    Audit::new(store.clone())
        .record(
            AuditEntry::new(AuditAction::UserCreated)
                .organisation(organisation.id)
                .actor_label(OPERATOR)
                .subject("user", user.id)
                .details(json!({ "role": role.as_str() })),
        )
        .await?;
    Ok(format!(
        "created {} ({}) in {}.\nOne-time link to set the password (valid {} days):\n  {}{path}",
        user.email,
        role.as_str(),
        organisation.name,
        super::links::LINK_DAYS,
        base_url.trim_end_matches('/'),
    ))
}
