//! Mail addresses as the bridge reads them: the sender's domain names the organisation, the
//! recipient's local part is an identity code (or, as our extension, a business ID).

use app::domain::RecipientId;

/// `local@domain`, the domain in lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddress {
    pub local: String,
    pub domain: String,
}

impl MailAddress {
    pub fn parse(address: &str) -> Option<Self> {
        let address = address.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, domain) = address.rsplit_once('@')?;
        if local.is_empty() || domain.is_empty() || domain.contains(['@', ' ']) {
            return None;
        }
        Some(Self {
            local: local.to_string(),
            domain: domain.trim_end_matches('.').to_ascii_lowercase(),
        })
    }

    pub fn in_domains(&self, domains: &[String]) -> bool {
        domains
            .iter()
            .any(|domain| domain.eq_ignore_ascii_case(&self.domain))
    }
}

/// The recipient a `HETU@asiointitili.fi` address names: its local part, in either case,
/// parsed as an identity code (the 2023 century signs included) or a business ID.
pub fn recipient_of(address: &MailAddress) -> Option<RecipientId> {
    RecipientId::parse(&address.local.to_ascii_uppercase()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_at_the_last_at_sign_with_the_domain_in_lower_case() {
        let address = MailAddress::parse("<010280-952L@AsiointiTili.FI>").unwrap();
        assert_eq!(address.local, "010280-952L");
        assert_eq!(address.domain, "asiointitili.fi");
        assert!(MailAddress::parse("no-at-sign").is_none());
        assert!(MailAddress::parse("@asiointitili.fi").is_none());
        assert!(MailAddress::parse("").is_none());
    }

    #[test]
    fn identity_codes_of_every_century_sign_and_business_ids_are_recipients() {
        for local in [
            "010280-952L",
            "010280-952l",
            "010594Y9032",
            "010516B903X",
            "1234567-1",
        ] {
            let address = MailAddress::parse(&format!("{local}@asiointitili.fi")).unwrap();
            assert!(recipient_of(&address).is_some(), "{local}");
        }
        for local in ["010280-952X", "kirjaamo", "131052-000T"] {
            let address = MailAddress::parse(&format!("{local}@asiointitili.fi")).unwrap();
            assert!(recipient_of(&address).is_none(), "{local}");
        }
    }
}
