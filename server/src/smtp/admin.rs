//! `tiedoksi smtp …`: the operator's commands for the bridge's sender domains, relay
//! networks and mail settings, until the organisation admin screens offer them.

use std::sync::Arc;

use app::domain::notice::NoticeType;
use uuid::Uuid;

use super::senders::parse_network;
use crate::store::{Organisation, Store};

/// The organisation named (by id or exact name), or the only one there is.
pub async fn organisation(
    store: &Arc<dyn Store>,
    named: Option<&str>,
) -> anyhow::Result<Organisation> {
    let organisations = store.organisations().await?;
    match named.map(str::trim) {
        Some(named) => organisations
            .into_iter()
            .find(|organisation| {
                organisation.name == named
                    || Uuid::parse_str(named).is_ok_and(|id| id == organisation.id)
            })
            .ok_or_else(|| anyhow::anyhow!("no organisation {named:?} (give its id or name)")),
        None => match organisations.as_slice() {
            [only] => Ok(only.clone()),
            [] => anyhow::bail!("there is no organisation yet: start Tiedoksi once first"),
            _ => anyhow::bail!("there are several organisations: name one with --organisation"),
        },
    }
}

/// A domain as registered: lower case, no surrounding dots or `@`.
pub fn normalised_domain(domain: &str) -> anyhow::Result<String> {
    let domain = domain
        .trim()
        .trim_start_matches('@')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let valid = !domain.is_empty()
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !valid {
        anyhow::bail!("{domain:?} is not a domain name such as kunta.fi");
    }
    Ok(domain)
}

pub async fn add_sender(
    store: &Arc<dyn Store>,
    org: &Organisation,
    domain: &str,
) -> anyhow::Result<String> {
    let domain = normalised_domain(domain)?;
    Ok(match store.add_sender_domain(org.id, &domain).await {
        Ok(true) => format!("{domain} may now send mail for {}", org.name),
        Ok(false) => format!("{domain} was already a sender domain of {}", org.name),
        Err(crate::store::StoreError::Conflict(_)) => {
            anyhow::bail!("{domain} is another organisation's sender domain")
        }
        Err(error) => return Err(error.into()),
    })
}

pub async fn remove_sender(
    store: &Arc<dyn Store>,
    org: &Organisation,
    domain: &str,
) -> anyhow::Result<String> {
    let domain = normalised_domain(domain)?;
    Ok(if store.remove_sender_domain(org.id, &domain).await? {
        format!("{domain} may no longer send mail for {}", org.name)
    } else {
        format!("{domain} was not a sender domain of {}", org.name)
    })
}

pub async fn add_relay(
    store: &Arc<dyn Store>,
    org: &Organisation,
    network: &str,
) -> anyhow::Result<String> {
    let network = parse_network(network)
        .ok_or_else(|| {
            anyhow::anyhow!("{network:?} is not an address or network such as 10.0.0.0/8")
        })?
        .trunc()
        .to_string();
    Ok(if store.add_relay_network(org.id, &network).await? {
        format!(
            "clients in {network} may now hand over mail for {}",
            org.name
        )
    } else {
        format!("{network} was already a relay network of {}", org.name)
    })
}

pub async fn remove_relay(
    store: &Arc<dyn Store>,
    org: &Organisation,
    network: &str,
) -> anyhow::Result<String> {
    let network = parse_network(network)
        .ok_or_else(|| anyhow::anyhow!("{network:?} is not an address or network"))?
        .trunc()
        .to_string();
    Ok(if store.remove_relay_network(org.id, &network).await? {
        format!("{network} removed from the relay networks of {}", org.name)
    } else {
        format!("{network} was not a relay network of {}", org.name)
    })
}

pub async fn list(store: &Arc<dyn Store>, org: &Organisation) -> anyhow::Result<String> {
    let settings = store.mail_settings(org.id).await?;
    let domains = store.sender_domains(org.id).await?;
    let networks = store.relay_networks(org.id).await?;
    let or_none = |items: Vec<String>| {
        if items.is_empty() {
            "(none)".to_string()
        } else {
            items.join(", ")
        }
    };
    Ok(format!(
        "{}\n  sender domains: {}\n  relay networks: {}\n  notice type: {}, verifiable: {}, \
         draft mode: {}, language: {}\n  acknowledgements: {}, citizens' replies to: {}",
        org.name,
        or_none(domains),
        or_none(networks),
        settings.notice_type,
        if settings.verifiable { "yes" } else { "no" },
        if settings.draft_mode { "on" } else { "off" },
        settings.language,
        if settings.acknowledgements {
            "on"
        } else {
            "off"
        },
        settings.replies_to.as_deref().unwrap_or("(not forwarded)"),
    ))
}

/// What `tiedoksi smtp settings` changes; `None` keeps a value.
#[derive(Debug, Default, Clone, Copy)]
pub struct SettingsChange<'a> {
    pub notice_type: Option<&'a str>,
    pub verifiable: Option<bool>,
    pub draft_mode: Option<bool>,
    pub language: Option<&'a str>,
    pub acknowledgements: Option<bool>,
    /// `Some("")` stops forwarding replies.
    pub replies_to: Option<&'a str>,
}

/// Changes the defaults a mail's notice gets.
pub async fn configure(
    store: &Arc<dyn Store>,
    org: &Organisation,
    change: SettingsChange<'_>,
) -> anyhow::Result<String> {
    let mut settings = store.mail_settings(org.id).await?;
    if let Some(notice_type) = change.notice_type {
        let parsed = NoticeType::parse(notice_type).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown notice type {notice_type:?}; one of: {}",
                NoticeType::ALL.map(NoticeType::as_str).join(", ")
            )
        })?;
        settings.notice_type = parsed.as_str().to_string();
    }
    if let Some(verifiable) = change.verifiable {
        settings.verifiable = verifiable;
    }
    if let Some(draft_mode) = change.draft_mode {
        settings.draft_mode = draft_mode;
    }
    if let Some(acknowledgements) = change.acknowledgements {
        settings.acknowledgements = acknowledgements;
    }
    if let Some(address) = change.replies_to.map(str::trim) {
        settings.replies_to = if address.is_empty() {
            None
        } else {
            // Replies carry identity codes: only to the organisation's own domains.
            let parsed = super::address::MailAddress::parse(address)
                .ok_or_else(|| anyhow::anyhow!("{address:?} is not a mail address"))?;
            let domains = store.sender_domains(org.id).await?;
            if !parsed.in_domains(&domains) {
                anyhow::bail!(
                    "replies go only to the organisation's sender domains ({}); add the domain first",
                    domains.join(", ")
                );
            }
            Some(address.to_string())
        };
    }
    if let Some(language) = change.language {
        if !matches!(language, "fi" | "sv" | "en") {
            anyhow::bail!("language must be fi, sv or en");
        }
        settings.language = language.to_string();
    }
    store.save_mail_settings(&settings).await?;
    list(store, org).await
}

/// A new SMTP AUTH credential: its secret is shown here once and kept only as a hash.
pub async fn create_credential(
    store: &Arc<dyn Store>,
    org: &Organisation,
    name: &str,
) -> anyhow::Result<String> {
    use base64::Engine;
    use rand::RngCore;
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.contains(char::is_whitespace) {
        anyhow::bail!("the name must be 1–100 characters without spaces");
    }
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    let credential = crate::store::SmtpCredential {
        id: Uuid::now_v7(),
        organisation_id: org.id,
        name: name.to_string(),
        secret_sha256: crate::blobs::Sha256Hex::of(secret.as_bytes()).to_string(),
        created_at: crate::store::Timestamp::now(),
        last_used_at: None,
        revoked_at: None,
    };
    match store.create_smtp_credential(&credential).await {
        Ok(()) => {}
        Err(crate::store::StoreError::Conflict(_)) => {
            anyhow::bail!("an SMTP credential named {name:?} exists already")
        }
        Err(error) => return Err(error.into()),
    }
    Ok(format!(
        "SMTP AUTH (PLAIN or LOGIN, after STARTTLS) for {}:\n  username: {name}\n  password: {secret}\nThe password is shown only this once.",
        org.name
    ))
}

pub async fn revoke_credential(
    store: &Arc<dyn Store>,
    org: &Organisation,
    name: &str,
) -> anyhow::Result<String> {
    let revoked = store
        .revoke_smtp_credential(org.id, name.trim(), crate::store::Timestamp::now())
        .await?;
    Ok(if revoked {
        format!("{name} may no longer sign in")
    } else {
        format!("{} has no live SMTP credential named {name}", org.name)
    })
}

pub async fn list_credentials(
    store: &Arc<dyn Store>,
    org: &Organisation,
) -> anyhow::Result<String> {
    let credentials = store.smtp_credentials(org.id).await?;
    if credentials.is_empty() {
        return Ok(format!("{} has no SMTP credentials", org.name));
    }
    Ok(credentials
        .iter()
        .map(|credential| {
            let state = match (&credential.revoked_at, &credential.last_used_at) {
                (Some(at), _) => format!("revoked {}", at.to_rfc3339()),
                (None, Some(at)) => format!("last used {}", at.to_rfc3339()),
                (None, None) => "never used".to_string(),
            };
            format!("{}  ({state})", credential.name)
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_kept_in_lower_case_and_checked() {
        assert_eq!(normalised_domain(" @Kunta.FI. ").unwrap(), "kunta.fi");
        assert!(normalised_domain("kunta").is_err());
        assert!(normalised_domain("ku nta.fi").is_err());
        assert!(normalised_domain("a..fi").is_err());
    }
}
