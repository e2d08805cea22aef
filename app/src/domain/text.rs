//! What may be in a notice's text. Suomi.fi shows titles in mailbox lists, e-mail and SMS
//! notifications and prints names and addresses on envelopes: characters that are not text
//! there are refused where they are typed, with a reason, rather than sent on.

use serde::{Deserialize, Serialize};

/// Why a text cannot be sent as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextProblem {
    /// A control character (NUL, escape, …); a body may have line breaks and tabs.
    ControlCharacter,
    /// An invisible direction override or isolate (U+202A–U+202E, U+2066–U+2069) that makes
    /// text read otherwise than it is stored ("Trojan Source").
    DirectionOverride,
    /// An invisible character that hides text (zero-width space, tag characters, …).
    HiddenCharacter,
    /// A line break in a one-line field (a title, a name, an address line).
    LineBreak,
    /// An HTML element (`<script>`, `<img …>`): notices are plain text or Markdown.
    Markup,
}

fn is_direction_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that are there without being seen, and hide or smuggle text: zero-width space
/// and word joiner, invisible operators, the byte-order mark, tag characters. (Zero-width
/// joiners stay: some scripts and emoji need them.)
fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{200B}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E007F}')
}

/// `<` opening an HTML element, comment or declaration — not a Markdown autolink
/// (`<https://…>`, `<mailto:…>`) and not a comparison (`a < b`).
fn opens_markup(after: &str) -> bool {
    let mut chars = after.chars();
    match chars.next() {
        Some('!' | '/' | '?') => true,
        Some(c) if c.is_ascii_alphabetic() => {
            let word: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
                .collect();
            let rest = &after[word.len()..];
            // A scheme followed by `:` is an autolink; an e-mail autolink has `@`.
            !(rest.starts_with(':') || rest.starts_with('@'))
        }
        _ => false,
    }
}

fn check(value: &str, one_line: bool) -> Result<(), TextProblem> {
    for (at, c) in value.char_indices() {
        if is_direction_override(c) {
            return Err(TextProblem::DirectionOverride);
        }
        if is_hidden(c) {
            return Err(TextProblem::HiddenCharacter);
        }
        if matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}') {
            if one_line {
                return Err(TextProblem::LineBreak);
            }
            continue;
        }
        if c == '\t' && !one_line {
            continue;
        }
        if c.is_control() {
            return Err(TextProblem::ControlCharacter);
        }
        if c == '<' && opens_markup(&value[at + 1..]) {
            return Err(TextProblem::Markup);
        }
    }
    Ok(())
}

/// A one-line field: a title, a case reference, a name, an address line.
pub fn check_line(value: &str) -> Result<(), TextProblem> {
    check(value, true)
}

/// A body or instructions: line breaks and tabs are text there.
pub fn check_text(value: &str) -> Result<(), TextProblem> {
    check(value, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_passes() {
        for line in [
            "Päätös toimeentulotuesta",
            "DNRO 123/02.05/2026",
            "Åsa Öberg-Ståhl",
            "a < b ja c > d",
            "Katso <https://www.suomi.fi/viestit>",
            "<kirjaamo@kunta.fi>",
            "علي بن أبي طالب",
        ] {
            assert_eq!(check_line(line), Ok(()), "{line}");
        }
        assert_eq!(check_text("Rivi 1\nRivi 2\r\n\tsisennys"), Ok(()));
    }

    #[test]
    fn what_is_not_text_is_refused() {
        assert_eq!(check_line("Päätös\0"), Err(TextProblem::ControlCharacter));
        assert_eq!(
            check_text("\u{1b}[31mpunainen"),
            Err(TextProblem::ControlCharacter)
        );
        assert_eq!(check_line("tab\there"), Err(TextProblem::ControlCharacter));
        assert_eq!(
            check_line("Lasku \u{202E}fdp.exe"),
            Err(TextProblem::DirectionOverride)
        );
        assert_eq!(
            check_text("a\u{2066}b"),
            Err(TextProblem::DirectionOverride)
        );
        assert_eq!(check_line("Otsikko\nToinen"), Err(TextProblem::LineBreak));
        assert_eq!(
            check_line("pää\u{200B}tös"),
            Err(TextProblem::HiddenCharacter)
        );
        assert_eq!(check_line("a\u{E0041}b"), Err(TextProblem::HiddenCharacter));
        assert_eq!(
            check_line("👩\u{200D}💻"),
            Ok(()),
            "a joiner in an emoji is text"
        );
        assert_eq!(check_line("a\u{2028}b"), Err(TextProblem::LineBreak));
        for markup in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "teksti <!-- kommentti -->",
            "</title>",
            "<svg/onload=alert(1)>",
        ] {
            assert_eq!(check_text(markup), Err(TextProblem::Markup), "{markup}");
        }
    }
}
