//! Channel rules: how one recipient's notice may travel, and why. Pure: the facts in, a
//! decision (with the reasons the caseworker sees and the proof keeps) out.
//!
//! The rules (domain-rules.md):
//! - no identity code → paper without ID;
//! - content that authorised persons or guardians must not read → paper only, addressed to
//!   the recipient (for a minor: to the minor), because DVV says to prevent electronic
//!   delivery then;
//! - turvakielto → paper is routed to the organisation's own address for manual forwarding,
//!   so the protected address is printed on nothing;
//! - electronic only to someone without an active mailbox → refused before sending, with
//!   multichannel offered instead.

use serde::{Deserialize, Serialize};

/// What the caseworker asks for. Multichannel is the default: Suomi.fi picks electronic when
/// the recipient has a mailbox, paper otherwise.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMode {
    ElectronicOnly,
    #[default]
    Multichannel,
    PaperOnly,
    PaperWithoutId,
}

impl DeliveryMode {
    /// The stored form (the same as the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMode::ElectronicOnly => "electronic_only",
            DeliveryMode::Multichannel => "multichannel",
            DeliveryMode::PaperOnly => "paper_only",
            DeliveryMode::PaperWithoutId => "paper_without_id",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            DeliveryMode::ElectronicOnly,
            DeliveryMode::Multichannel,
            DeliveryMode::PaperOnly,
            DeliveryMode::PaperWithoutId,
        ]
        .into_iter()
        .find(|mode| mode.as_str() == value)
    }
}

/// What is known of a recipient at send time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientFacts {
    pub has_identity_code: bool,
    pub is_minor: bool,
    /// Turvakielto: the address must not be disclosed.
    pub address_protected: bool,
    /// The content must not be readable by persons the recipient authorised, or guardians.
    pub content_not_for_others: bool,
    /// The mailbox check's answer, when one was made.
    pub mailbox_active: Option<bool>,
}

/// Where paper mail is addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaperAddressee {
    Recipient,
    /// The organisation's manual-forwarding address (turvakielto).
    OrganisationForwarding,
}

impl PaperAddressee {
    /// The stored form (the same as the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            PaperAddressee::Recipient => "recipient",
            PaperAddressee::OrganisationForwarding => "organisation_forwarding",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            PaperAddressee::Recipient,
            PaperAddressee::OrganisationForwarding,
        ]
        .into_iter()
        .find(|addressee| addressee.as_str() == value)
    }
}

impl TryFrom<String> for PaperAddressee {
    type Error = crate::domain::UnknownValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or(crate::domain::UnknownValue(value))
    }
}

/// Why the channel is what it is; shown to the caseworker and kept as proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelReason {
    AsRequested,
    NoIdentityCode,
    ContentNotForOthers,
    MinorContentNotForGuardians,
    AddressProtectedPaperForwarded,
    /// A paper re-serve: the verifiable electronic notice was not acknowledged in time.
    VerifiableNotAcknowledged,
    /// Electronic only, but the mailbox check made before sending found no active mailbox:
    /// a caseworker changed it to multichannel.
    NoActiveMailboxAtSending,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelDecision {
    pub mode: DeliveryMode,
    pub paper_addressee: PaperAddressee,
    pub reasons: Vec<ChannelReason>,
}

/// A request the rules do not allow, and what the caseworker can do instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum ChannelRefusal {
    #[error("the recipient has no active Suomi.fi mailbox; send multichannel instead")]
    NoActiveMailbox,
    #[error("electronic delivery needs an identity code or business ID")]
    ElectronicNeedsIdentityCode,
    #[error("the content must not reach others who can read the mailbox; send on paper")]
    ElectronicForbidden,
    #[error("paper without ID is only for recipients without an identity code")]
    IdentityCodeKnown,
}

impl ChannelRefusal {
    /// The mode the caseworker can switch to.
    pub fn alternative(self) -> DeliveryMode {
        match self {
            ChannelRefusal::NoActiveMailbox => DeliveryMode::Multichannel,
            ChannelRefusal::ElectronicNeedsIdentityCode => DeliveryMode::PaperWithoutId,
            ChannelRefusal::ElectronicForbidden => DeliveryMode::PaperOnly,
            ChannelRefusal::IdentityCodeKnown => DeliveryMode::PaperOnly,
        }
    }
}

pub fn decide(
    requested: DeliveryMode,
    facts: &RecipientFacts,
) -> Result<ChannelDecision, ChannelRefusal> {
    let mut reasons = Vec::new();
    let mode = if !facts.has_identity_code {
        if requested == DeliveryMode::ElectronicOnly {
            return Err(ChannelRefusal::ElectronicNeedsIdentityCode);
        }
        if requested != DeliveryMode::PaperWithoutId {
            reasons.push(ChannelReason::NoIdentityCode);
        }
        DeliveryMode::PaperWithoutId
    } else if facts.content_not_for_others {
        if requested == DeliveryMode::ElectronicOnly {
            return Err(ChannelRefusal::ElectronicForbidden);
        }
        reasons.push(if facts.is_minor {
            ChannelReason::MinorContentNotForGuardians
        } else {
            ChannelReason::ContentNotForOthers
        });
        DeliveryMode::PaperOnly
    } else {
        match requested {
            DeliveryMode::ElectronicOnly if facts.mailbox_active == Some(false) => {
                return Err(ChannelRefusal::NoActiveMailbox)
            }
            DeliveryMode::PaperWithoutId => return Err(ChannelRefusal::IdentityCodeKnown),
            mode => mode,
        }
    };
    if reasons.is_empty() {
        reasons.push(ChannelReason::AsRequested);
    }
    // Also for electronic only: a later paper re-serve (unacknowledged verifiable notice)
    // must not print the protected address either.
    let paper_addressee = if facts.address_protected {
        if mode != DeliveryMode::ElectronicOnly {
            reasons.push(ChannelReason::AddressProtectedPaperForwarded);
        }
        PaperAddressee::OrganisationForwarding
    } else {
        PaperAddressee::Recipient
    };
    Ok(ChannelDecision {
        mode,
        paper_addressee,
        reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChannelReason::*;
    use DeliveryMode::*;

    fn adult_with_code() -> RecipientFacts {
        RecipientFacts {
            has_identity_code: true,
            ..RecipientFacts::default()
        }
    }

    #[test]
    fn multichannel_by_default_as_requested() {
        let decision = decide(DeliveryMode::default(), &adult_with_code()).unwrap();
        assert_eq!(decision.mode, Multichannel);
        assert_eq!(decision.reasons, vec![AsRequested]);
        assert_eq!(decision.paper_addressee, PaperAddressee::Recipient);
    }

    #[test]
    fn no_identity_code_means_paper_without_id() {
        let facts = RecipientFacts::default();
        for requested in [Multichannel, PaperOnly] {
            let decision = decide(requested, &facts).unwrap();
            assert_eq!(decision.mode, PaperWithoutId, "{requested:?}");
            assert_eq!(decision.reasons, vec![NoIdentityCode]);
        }
        assert_eq!(
            decide(PaperWithoutId, &facts).unwrap().reasons,
            vec![AsRequested]
        );
        assert_eq!(
            decide(ElectronicOnly, &facts),
            Err(ChannelRefusal::ElectronicNeedsIdentityCode)
        );
    }

    #[test]
    fn a_minors_notice_guardians_must_not_read_goes_on_paper_to_the_minor() {
        let facts = RecipientFacts {
            is_minor: true,
            content_not_for_others: true,
            ..adult_with_code()
        };
        let decision = decide(Multichannel, &facts).unwrap();
        assert_eq!(decision.mode, PaperOnly);
        assert_eq!(decision.reasons, vec![MinorContentNotForGuardians]);
        assert_eq!(decision.paper_addressee, PaperAddressee::Recipient);
        let refusal = decide(ElectronicOnly, &facts).unwrap_err();
        assert_eq!(refusal, ChannelRefusal::ElectronicForbidden);
        assert_eq!(refusal.alternative(), PaperOnly);
    }

    #[test]
    fn content_not_for_authorised_persons_of_an_adult_is_paper_too() {
        let facts = RecipientFacts {
            content_not_for_others: true,
            ..adult_with_code()
        };
        assert_eq!(
            decide(Multichannel, &facts).unwrap().reasons,
            vec![ContentNotForOthers]
        );
    }

    #[test]
    fn protected_address_routes_paper_to_the_organisation() {
        let facts = RecipientFacts {
            address_protected: true,
            ..adult_with_code()
        };
        let decision = decide(Multichannel, &facts).unwrap();
        assert_eq!(
            decision.paper_addressee,
            PaperAddressee::OrganisationForwarding
        );
        assert_eq!(
            decision.reasons,
            vec![AsRequested, AddressProtectedPaperForwarded]
        );
        let electronic = decide(
            ElectronicOnly,
            &RecipientFacts {
                mailbox_active: Some(true),
                ..facts
            },
        )
        .unwrap();
        assert_eq!(
            electronic.paper_addressee,
            PaperAddressee::OrganisationForwarding,
            "a later re-serve on paper is forwarded too"
        );
        assert_eq!(electronic.reasons, vec![AsRequested], "nothing printed now");
        let minor = RecipientFacts {
            is_minor: true,
            content_not_for_others: true,
            ..facts
        };
        let paper = decide(Multichannel, &minor).unwrap();
        assert_eq!(
            paper.reasons,
            vec![MinorContentNotForGuardians, AddressProtectedPaperForwarded]
        );
    }

    #[test]
    fn electronic_only_without_a_mailbox_is_refused_with_multichannel_offered() {
        let facts = RecipientFacts {
            mailbox_active: Some(false),
            ..adult_with_code()
        };
        let refusal = decide(ElectronicOnly, &facts).unwrap_err();
        assert_eq!(refusal, ChannelRefusal::NoActiveMailbox);
        assert_eq!(refusal.alternative(), Multichannel);
        assert_eq!(decide(Multichannel, &facts).unwrap().mode, Multichannel);
        let unknown = RecipientFacts {
            mailbox_active: None,
            ..adult_with_code()
        };
        assert_eq!(
            decide(ElectronicOnly, &unknown).unwrap().mode,
            ElectronicOnly,
            "checked at send time"
        );
    }

    #[test]
    fn paper_without_id_is_not_for_someone_with_a_code() {
        let refusal = decide(PaperWithoutId, &adult_with_code()).unwrap_err();
        assert_eq!(refusal, ChannelRefusal::IdentityCodeKnown);
        assert_eq!(refusal.alternative(), PaperOnly);
    }

    #[test]
    fn stored_forms_match_the_serde_names() {
        for mode in [ElectronicOnly, Multichannel, PaperOnly, PaperWithoutId] {
            assert_eq!(serde_json::to_value(mode).unwrap(), mode.as_str());
            assert_eq!(DeliveryMode::parse(mode.as_str()), Some(mode));
        }
        for addressee in [
            PaperAddressee::Recipient,
            PaperAddressee::OrganisationForwarding,
        ] {
            assert_eq!(serde_json::to_value(addressee).unwrap(), addressee.as_str());
            assert_eq!(PaperAddressee::parse(addressee.as_str()), Some(addressee));
        }
    }
}
