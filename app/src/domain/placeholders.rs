//! Placeholders in a template's title and body: `{{asianumero}}` and the like, filled in
//! from the notice when it is checked and sent, so a template serves every case. Names come
//! in Finnish, Swedish and English; an unknown name is a problem to fix, never sent as such.

/// What a placeholder may stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    CaseReference,
    Recipient,
    Today,
    DecisionDate,
}

impl Placeholder {
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_lowercase().as_str() {
            "asianumero" | "diarienummer" | "case_reference" => Some(Self::CaseReference),
            "vastaanottaja" | "mottagare" | "recipient" => Some(Self::Recipient),
            "päivämäärä" | "datum" | "date" => Some(Self::Today),
            "päätöspäivä" | "beslutsdatum" | "decision_date" => Some(Self::DecisionDate),
            _ => None,
        }
    }
}

/// The values of one notice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaceholderValues {
    pub case_reference: String,
    /// The parties' names, joined.
    pub recipient: String,
    /// `D.M.YYYY`.
    pub today: String,
    pub decision_date: String,
}

/// The text with every `{{name}}` replaced; `Err` with the first unknown name.
pub fn fill(text: &str, values: &PlaceholderValues) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        let value = match Placeholder::parse(name) {
            Some(Placeholder::CaseReference) => &values.case_reference,
            Some(Placeholder::Recipient) => &values.recipient,
            Some(Placeholder::Today) => &values.today,
            Some(Placeholder::DecisionDate) => &values.decision_date,
            None => return Err(name.trim().to_string()),
        };
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> PlaceholderValues {
        PlaceholderValues {
            case_reference: "DNRO 12/2026".into(),
            recipient: "Maija Meikäläinen".into(),
            today: "30.11.2026".into(),
            decision_date: "27.11.2026".into(),
        }
    }

    #[test]
    fn placeholders_are_filled_in_any_of_the_three_languages() {
        assert_eq!(
            fill("Päätös {{asianumero}}, {{ vastaanottaja }}", &values()).unwrap(),
            "Päätös DNRO 12/2026, Maija Meikäläinen"
        );
        assert_eq!(
            fill("Beslut {{Diarienummer}} {{datum}}", &values()).unwrap(),
            "Beslut DNRO 12/2026 30.11.2026"
        );
        assert_eq!(
            fill("Decision of {{decision_date}}", &values()).unwrap(),
            "Decision of 27.11.2026"
        );
    }

    #[test]
    fn an_unknown_placeholder_is_named_and_unclosed_braces_stay() {
        assert_eq!(fill("Hei {{nimi}}", &values()), Err("nimi".to_string()));
        assert_eq!(fill("a {{ b", &values()).unwrap(), "a {{ b");
        assert_eq!(
            fill("ei paikkamerkkejä", &values()).unwrap(),
            "ei paikkamerkkejä"
        );
    }
}
