//! The compose form as HTML posts it: flat `name=value` pairs with names like
//! `recipients[0].address.city`, the same names the compose service reports problems under,
//! so a problem finds its field. Pure: parsed on the server, named in the page.

use crate::domain::channel::DeliveryMode;
use crate::domain::notice::{NoticeLanguage, NoticeType, PostalAddress, RecipientRole};

use super::{DecisionDraft, NoticeDraft, RecipientDraft};
use uuid::Uuid;

/// The HTML id of a field: `recipients[0].address` → `recipients-0-address`.
pub fn field_id(name: &str) -> String {
    name.replace("].", "-")
        .replace('[', "-")
        .replace(']', "")
        .replace('.', "-")
}

/// Which button sent the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormAction {
    Save,
    /// Saved while typing (wasm): nothing to show, no problems to find.
    Autosave,
    AddRecipient,
    RemoveRecipient(usize),
    RemoveAttachment(usize),
    /// Save, and ask Suomi.fi now whether this recipient's mailbox is in use.
    CheckMailbox(usize),
    /// Save, check, and go on to the check page when all is well.
    Continue,
}

impl FormAction {
    pub fn parse(value: &str) -> Self {
        let index = |prefix: &str| value.strip_prefix(prefix).and_then(|n| n.parse().ok());
        match value {
            "autosave" => FormAction::Autosave,
            "add_recipient" => FormAction::AddRecipient,
            "continue" => FormAction::Continue,
            _ => {
                if let Some(n) = index("remove_recipient:") {
                    FormAction::RemoveRecipient(n)
                } else if let Some(n) = index("remove_attachment:") {
                    FormAction::RemoveAttachment(n)
                } else if let Some(n) = index("check_mailbox:") {
                    FormAction::CheckMailbox(n)
                } else {
                    FormAction::Save
                }
            }
        }
    }
}

/// A posted recipient's identity code: the page never shows a saved code in full, so an empty
/// field keeps the saved one unless "no identity code" is ticked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostedCode {
    Typed(String),
    Keep,
    None,
}

/// What one post of the form says.
#[derive(Debug, Clone, PartialEq)]
pub struct PostedDraft {
    /// Without identity codes (see `codes`), attachments and idempotency key: the server
    /// holds those.
    pub draft: NoticeDraft,
    pub codes: Vec<PostedCode>,
    pub action: FormAction,
}

impl PostedDraft {
    /// The draft with the codes filled in from what was typed or saved before (by position,
    /// before any recipient is removed).
    pub fn merged(mut self, saved: &NoticeDraft) -> NoticeDraft {
        for (index, (recipient, code)) in self
            .draft
            .recipients
            .iter_mut()
            .zip(&self.codes)
            .enumerate()
        {
            recipient.identity_code = match code {
                PostedCode::Typed(code) => Some(code.clone()),
                PostedCode::None => None,
                PostedCode::Keep => saved
                    .recipients
                    .get(index)
                    .and_then(|saved| saved.identity_code.clone()),
            };
        }
        self.draft.attachments = saved.attachments.clone();
        self.draft.idempotency_key = saved.idempotency_key.clone();
        self.draft.in_reply_to = saved.in_reply_to;
        self.draft.template = saved.template;
        self.draft.replies_allowed = saved.replies_allowed;
        self.draft
    }
}

fn flag(value: Option<&str>) -> bool {
    matches!(value, Some("true" | "on" | "1" | "yes"))
}

fn text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_string)
}

/// Reads the posted fields; unknown names are ignored and unknown choices fall back to the
/// form's defaults (the service checks what matters).
pub fn parse(fields: &[(String, String)]) -> PostedDraft {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let count = fields
        .iter()
        .filter_map(|(key, _)| key.strip_prefix("recipients["))
        .filter_map(|rest| rest.split(']').next()?.parse::<usize>().ok())
        .max()
        .map_or(0, |max| max + 1);
    let mut recipients = Vec::new();
    let mut codes = Vec::new();
    for index in 0..count.min(super::MAX_FORM_RECIPIENTS) {
        let field = |name: &str| get(&format!("recipients[{index}].{name}"));
        let address_field =
            |name: &str| field(&format!("address.{name}")).unwrap_or("").to_string();
        let address = PostalAddress {
            name: address_field("name"),
            additional_name: text(field("address.additional_name")),
            street_address: address_field("street_address"),
            zip_code: address_field("zip_code"),
            city: address_field("city"),
            country_code: field("address.country_code")
                .filter(|code| !code.trim().is_empty())
                .unwrap_or("FI")
                .to_string(),
        };
        let has_address = [
            &address.name,
            &address.street_address,
            &address.zip_code,
            &address.city,
        ]
        .iter()
        .any(|value| !value.trim().is_empty());
        codes.push(
            match (
                text(field("identity_code")),
                flag(field("no_identity_code")),
            ) {
                (Some(code), _) => PostedCode::Typed(code),
                (None, true) => PostedCode::None,
                (None, false) => PostedCode::Keep,
            },
        );
        recipients.push(RecipientDraft {
            role: field("role")
                .and_then(RecipientRole::parse)
                .unwrap_or(RecipientRole::Party),
            name: field("name").unwrap_or("").to_string(),
            identity_code: None,
            address: has_address.then_some(address),
            mode: field("mode")
                .and_then(DeliveryMode::parse)
                .unwrap_or_default(),
            address_protected: flag(field("address_protected")),
            content_not_for_others: flag(field("content_not_for_others")),
        });
    }
    let notice_type = get("notice_type")
        .and_then(NoticeType::parse)
        .unwrap_or(NoticeType::Decision);
    let draft = NoticeDraft {
        idempotency_key: String::new(),
        notice_type,
        case_reference: get("case_reference").unwrap_or("").to_string(),
        title: get("title").unwrap_or("").to_string(),
        body: get("body").unwrap_or("").to_string(),
        markdown: flag(get("markdown")),
        language: match get("language") {
            Some("sv") => NoticeLanguage::Sv,
            Some("en") => NoticeLanguage::En,
            _ => NoticeLanguage::Fi,
        },
        verifiable: match get("verifiable") {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        },
        appeal_days: get("appeal_days").and_then(|days| days.trim().parse().ok()),
        appeal_instructions: text(get("appeal_instructions")),
        attachments: Vec::new(),
        recipients,
        decision: DecisionDraft {
            decision_date: text(get("decision.decision_date")),
            decision_maker: text(get("decision.decision_maker")),
            parties: get("decision.parties")
                .unwrap_or("")
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_string)
                .collect(),
            contact_person: text(get("decision.contact_person")),
            contact_details: text(get("decision.contact_details")),
            automated: flag(get("decision.automated")),
        },
        minor_personal_matter: flag(get("minor_personal_matter")),
        in_reply_to: None,
        service: get("service").and_then(|id| Uuid::parse_str(id.trim()).ok()),
        template: None,
        replies_allowed: false,
    };
    PostedDraft {
        draft,
        codes,
        action: FormAction::parse(get("action").unwrap_or("save")),
    }
}

/// What the page shows of a saved draft: everything but the identity codes (never whole in
/// HTML; `saved_codes` holds them masked) — `NoticeDraft` as the form's fields.
pub fn without_codes(draft: &NoticeDraft) -> NoticeDraft {
    let mut shown = draft.clone();
    for recipient in &mut shown.recipients {
        recipient.identity_code = None;
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn field_ids_are_plain() {
        assert_eq!(field_id("recipients[0].address"), "recipients-0-address");
        assert_eq!(field_id("decision.decision_date"), "decision-decision_date");
        assert_eq!(field_id("attachments[12]"), "attachments-12");
        assert_eq!(field_id("title"), "title");
    }

    #[test]
    fn a_posted_form_becomes_a_draft() {
        let posted = parse(&fields(&[
            ("notice_type", "summons"),
            ("case_reference", "DNRO 1/2026"),
            ("title", "Kutsu"),
            ("body", "Tervetuloa."),
            ("markdown", "on"),
            ("language", "sv"),
            ("verifiable", "yes"),
            ("appeal_days", "14"),
            ("decision.parties", "Maija\n\n Matti \n"),
            ("recipients[0].role", "guardian"),
            ("recipients[0].name", "Maija"),
            ("recipients[0].identity_code", " 131052-308T "),
            ("recipients[0].mode", "electronic_only"),
            ("recipients[1].name", "Matti"),
            ("recipients[1].no_identity_code", "on"),
            ("recipients[1].address.street_address", "Katu 1"),
            ("recipients[2].name", "Liisa"),
            ("action", "remove_recipient:1"),
        ]));
        assert_eq!(posted.action, FormAction::RemoveRecipient(1));
        let draft = &posted.draft;
        assert_eq!(draft.notice_type, NoticeType::Summons);
        assert_eq!(draft.language, NoticeLanguage::Sv);
        assert_eq!(draft.verifiable, Some(true));
        assert_eq!(draft.appeal_days, Some(14));
        assert!(draft.markdown);
        assert_eq!(draft.decision.parties, ["Maija", "Matti"]);
        assert_eq!(draft.recipients.len(), 3);
        assert_eq!(draft.recipients[0].role, RecipientRole::Guardian);
        assert_eq!(draft.recipients[0].mode, DeliveryMode::ElectronicOnly);
        assert_eq!(draft.recipients[0].address, None, "nothing typed");
        assert_eq!(
            draft.recipients[1].address.as_ref().unwrap().country_code,
            "FI"
        );
        assert_eq!(
            posted.codes,
            [
                PostedCode::Typed("131052-308T".into()),
                PostedCode::None,
                PostedCode::Keep
            ]
        );
    }

    #[test]
    fn a_saved_code_is_kept_unless_replaced_or_removed() {
        let mut saved = parse(&fields(&[
            ("recipients[0].name", "A"),
            ("recipients[1].name", "B"),
            ("recipients[2].name", "C"),
        ]))
        .draft;
        for (recipient, code) in saved.recipients.iter_mut().zip(["1", "2", "3"]) {
            recipient.identity_code = Some(code.into());
        }
        saved.idempotency_key = "draft-1".into();
        let merged = parse(&fields(&[
            ("recipients[0].name", "A"),
            ("recipients[0].identity_code", "9"),
            ("recipients[1].name", "B"),
            ("recipients[1].no_identity_code", "on"),
            ("recipients[2].name", "C"),
        ]))
        .merged(&saved);
        let codes: Vec<_> = merged
            .recipients
            .iter()
            .map(|r| r.identity_code.as_deref())
            .collect();
        assert_eq!(codes, [Some("9"), None, Some("3")]);
        assert_eq!(merged.idempotency_key, "draft-1");
        assert!(without_codes(&merged)
            .recipients
            .iter()
            .all(|r| r.identity_code.is_none()));
    }
}
