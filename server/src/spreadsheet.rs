//! CSV files we hand out are opened in spreadsheets: a cell that begins with `=`, `+`, `-`,
//! `@`, a tab or a carriage return is read there as a formula (CSV injection). Such a cell is
//! written with a leading apostrophe, which spreadsheets show as text and do not evaluate.

use std::borrow::Cow;

pub fn inert_cell(value: &str) -> Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// One CSV record with every cell made inert (RFC 4180 quoting by the csv crate).
pub fn record(delimiter: u8, fields: &[&str]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    // Writing to memory does not fail.
    let _ = writer.write_record(fields.iter().map(|field| inert_cell(field).into_owned()));
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_written_as_text() {
        assert_eq!(
            inert_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(inert_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert_cell("Maija Meikäläinen"), "Maija Meikäläinen");
        assert_eq!(
            String::from_utf8(record(b';', &["1", "+358 40", "ok"])).unwrap(),
            "1;'+358 40;ok\n"
        );
    }
}
