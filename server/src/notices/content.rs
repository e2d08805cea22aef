//! What a notice says, in each channel. The paper letter and the electronic message carry the
//! same parts — the decision's header (date, decision-maker, case, parties, contact person),
//! the body and the appeal instructions — because HL 46–47 § attach the instructions to the
//! decision in whatever form it reaches the recipient. The electronic body is composed here,
//! once, when the notice is queued, and kept: it is the exact text sent.
//!
//! Decided: the header and the instructions go into the electronic body as clear sections
//! rather than as the letter PDF attached. The body is what the recipient reads first (on a
//! phone, with a screen reader); a PDF copy would be a second, less accessible version of the
//! same decision, and the letter with the attachments appended can reach the 3 MB paper
//! ceiling, doubling what every electronic recipient downloads.

use crate::pdf::Letter;

/// The electronic message's body: the letter's header lines, the body, the appeal
/// instructions; Markdown when the body is Markdown, plain text otherwise.
pub fn electronic_body(letter: &Letter) -> String {
    let labels = letter.language.labels();
    let mut out = String::new();
    if letter.markdown {
        for (label, value) in letter.header_lines() {
            out.push_str(&format!("- **{label}:** {}\n", escape_markdown(&value)));
        }
        if letter.header.automated_decision {
            out.push_str(&format!("\n*{}*\n", escape_markdown(labels.automated)));
        }
        out.push_str("\n---\n\n");
        out.push_str(letter.body.trim_end());
        out.push('\n');
        if let Some(instructions) = &letter.appeal_instructions {
            out.push_str(&format!("\n## {}\n\n", labels.appeal));
            for line in instructions.trim().lines() {
                out.push_str(&escape_markdown(line));
                out.push('\n');
            }
        }
    } else {
        for (label, value) in letter.header_lines() {
            out.push_str(&format!("{label}: {value}\n"));
        }
        if letter.header.automated_decision {
            out.push('\n');
            out.push_str(labels.automated);
            out.push('\n');
        }
        out.push('\n');
        out.push_str(letter.body.trim_end());
        out.push('\n');
        if let Some(instructions) = &letter.appeal_instructions {
            let heading = labels.appeal.to_uppercase();
            out.push_str(&format!(
                "\n{heading}\n{}\n\n",
                "=".repeat(heading.chars().count())
            ));
            out.push_str(instructions.trim());
            out.push('\n');
        }
    }
    out
}

/// Text that must read as written in a Markdown body (names, instructions typed as text).
fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '[' | ']' | '#' | '`' | '<' | '>' | '|' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::{LetterHeader, LetterLanguage};

    fn decision(markdown: bool) -> Letter {
        Letter {
            organisation_name: "Esimerkkikunta".into(),
            sender_lines: vec![],
            language: LetterLanguage::Fi,
            date: time::macros::date!(2026 - 11 - 27),
            case_reference: "DNRO 123/2026".into(),
            title: "Päätös".into(),
            body: "Hakemus hyväksytään.".into(),
            markdown,
            appeal_instructions: Some("Oikaisuvaatimus 30 päivässä.\nOsoite: PL 1".into()),
            header: LetterHeader {
                is_decision: true,
                decision_maker: Some("Sosiaalijohtaja M_V".into()),
                parties: vec!["Matti Meikäläinen".into()],
                contact: Some("Liisa Käsittelijä, 09 123".into()),
                automated_decision: true,
            },
            logo: None,
        }
    }

    #[test]
    fn the_electronic_body_carries_the_header_and_the_appeal_instructions() {
        let text = electronic_body(&decision(false));
        for expected in [
            "Päätöksen päivämäärä: 27.11.2026",
            "Päätöksen tekijä: Sosiaalijohtaja M_V",
            "Diaarinumero: DNRO 123/2026",
            "Asianosaiset: Matti Meikäläinen",
            "Yhteyshenkilö: Liisa Käsittelijä, 09 123",
            "automaattisesti",
            "Hakemus hyväksytään.",
            "MUUTOKSENHAKUOHJEET",
            "Oikaisuvaatimus 30 päivässä.",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert!(text.find("Hakemus").unwrap() < text.find("MUUTOKSENHAKUOHJEET").unwrap());
    }

    #[test]
    fn in_markdown_what_was_typed_as_text_stays_text() {
        let text = electronic_body(&decision(true));
        assert!(text.contains("- **Päätöksen tekijä:** Sosiaalijohtaja M\\_V"));
        assert!(text.contains("## Muutoksenhakuohjeet"));
        assert!(text.contains("Hakemus hyväksytään."));
    }
}
