//! The results of a batch as CSV: every row, what became of it, in the reader's language.

use app::compose::{problem_text, FieldProblem};
use app::domain::lifecycle::DeliveryStatus;
use app::i18n::Locale;

use crate::store::BatchRowOutcome;

/// A recipient's name from an uploaded file may be `=HYPERLINK(…)`: written inert.
fn line(fields: &[&str]) -> String {
    String::from_utf8(crate::spreadsheet::record(b';', fields)).unwrap_or_default()
}

pub fn header_line(locale: Locale) -> String {
    let names = app::batches::results_header(locale);
    line(&names.iter().map(String::as_str).collect::<Vec<_>>())
}

pub fn row_line(locale: Locale, row: &BatchRowOutcome) -> String {
    let problems: Vec<FieldProblem> = serde_json::from_str(&row.problems).unwrap_or_default();
    let problems = problems
        .iter()
        .map(|p| {
            let field =
                app::words::recipient_field(locale, &p.field).unwrap_or_else(|| p.field.clone());
            format!("{field}: {}", problem_text(locale, &p.problem))
        })
        .collect::<Vec<_>>()
        .join(" / ");
    let delivery = row
        .delivery_status
        .as_deref()
        .and_then(DeliveryStatus::parse)
        .map(|status| app::words::status(locale, status))
        .unwrap_or_default();
    line(&[
        &row.row_number.to_string(),
        &row.recipient_name,
        row.identity_masked.as_deref().unwrap_or(""),
        &app::batches::row_status(locale, &row.status),
        &delivery,
        &row.notice_id.map(|id| id.to_string()).unwrap_or_default(),
        &problems,
    ])
}
