//! Who may hand mail to the bridge: the envelope sender's domain must be registered by an
//! organisation (that names the organisation), and the client must be on one of its relay
//! networks. `tiedoksi smtp senders …` / `relays …` manage both until the admin screens do.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use uuid::Uuid;

use subtle::ConstantTimeEq;

use super::address::MailAddress;
use crate::blobs::Sha256Hex;
use crate::store::{Store, StoreResult, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SenderRefusal {
    #[error("Sender domain {0} is not registered with Tiedoksi")]
    UnknownDomain(String),
    #[error("This client is not allowed to send for {0}")]
    ClientNotAllowed(String),
    #[error("The credential used may not send for {0}")]
    NotTheCredentialsDomain(String),
}

/// A client that authenticated with an SMTP credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub organisation_id: Uuid,
    pub credential: String,
}

#[derive(Clone)]
pub struct Senders {
    pub store: Arc<dyn Store>,
}

/// A relay network as written (`10.0.0.0/8`, `192.0.2.7`, `::1`).
pub fn parse_network(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

impl Senders {
    /// The organisation a credential's name and secret belong to, if they match a live one.
    pub async fn authenticate(
        &self,
        name: &str,
        secret: &str,
    ) -> StoreResult<Option<Authenticated>> {
        let Some(credential) = self.store.smtp_credential(name).await? else {
            return Ok(None);
        };
        let given = Sha256Hex::of(secret.as_bytes());
        let matches: bool = given
            .as_str()
            .as_bytes()
            .ct_eq(credential.secret_sha256.as_bytes())
            .into();
        if !matches || credential.revoked_at.is_some() {
            return Ok(None);
        }
        self.store
            .smtp_credential_used(credential.id, Timestamp::now())
            .await?;
        Ok(Some(Authenticated {
            organisation_id: credential.organisation_id,
            credential: credential.name,
        }))
    }

    /// The organisation this sender sends for, or why not: the domain's organisation, and
    /// the client either authenticated for it or on one of its relay networks.
    pub async fn authorise(
        &self,
        sender: &MailAddress,
        client: IpAddr,
        authenticated: Option<&Authenticated>,
    ) -> StoreResult<Result<Uuid, SenderRefusal>> {
        let Some(organisation_id) = self
            .store
            .organisation_of_sender_domain(&sender.domain)
            .await?
        else {
            return Ok(Err(SenderRefusal::UnknownDomain(sender.domain.clone())));
        };
        if let Some(authenticated) = authenticated {
            return Ok(if authenticated.organisation_id == organisation_id {
                Ok(organisation_id)
            } else {
                Err(SenderRefusal::NotTheCredentialsDomain(
                    sender.domain.clone(),
                ))
            });
        }
        let client = canonical(client);
        let allowed = self
            .store
            .relay_networks(organisation_id)
            .await?
            .iter()
            .filter_map(|network| parse_network(network))
            .any(|network| network.contains(&client));
        Ok(if allowed {
            Ok(organisation_id)
        } else {
            Err(SenderRefusal::ClientNotAllowed(sender.domain.clone()))
        })
    }
}

/// An IPv4 client seen through an IPv6 socket (`::ffff:10.0.0.1`) is the IPv4 client.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(address),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_single_addresses_parse() {
        let network = parse_network("10.1.0.0/16").unwrap();
        assert!(network.contains(&"10.1.2.3".parse::<IpAddr>().unwrap()));
        assert!(!network.contains(&"10.2.0.1".parse::<IpAddr>().unwrap()));
        let single = parse_network("192.0.2.7").unwrap();
        assert!(single.contains(&"192.0.2.7".parse::<IpAddr>().unwrap()));
        assert!(parse_network("not a network").is_none());
        assert_eq!(
            canonical("::ffff:127.0.0.1".parse().unwrap()),
            "127.0.0.1".parse::<IpAddr>().unwrap()
        );
    }
}
