//! Form fields with their label, hint and errors wired for assistive technology: a label for
//! every input, the hint and the errors named by `aria-describedby`, `aria-invalid` when
//! wrong, and what was typed kept when the page comes back with errors.

use leptos::prelude::*;

use super::{described_by, invalid, FieldErrors};
use crate::compose::form::field_id;
use crate::compose::FieldProblem;

/// A text input (`kind`: text, date, number, email…).
#[component]
pub fn TextField(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    #[prop(into)] value: String,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] maxlength: Option<usize>,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] class: Option<&'static str>,
    #[prop(into)] problems: Vec<FieldProblem>,
) -> impl IntoView {
    let id = field_id(&name);
    let hint_id = format!("{id}-hint");
    let describedby = described_by(&name, hint.is_some(), &problems);
    let aria_invalid = invalid(&name, &problems);
    let field_class = match class {
        Some(extra) => format!("field {extra}"),
        None => "field".to_string(),
    };
    view! {
        <div class=field_class>
            <label for=id.clone()>{label}</label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id>{hint}</p> })}
            <FieldErrors field=name.clone() problems />
            <input id=id name=name type=kind value=value maxlength=maxlength
                autocomplete=autocomplete aria-describedby=describedby aria-invalid=aria_invalid />
        </div>
    }
}

#[component]
pub fn TextArea(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    #[prop(into)] value: String,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(default = 6)] rows: u32,
    #[prop(optional)] maxlength: Option<usize>,
    #[prop(into)] problems: Vec<FieldProblem>,
) -> impl IntoView {
    let id = field_id(&name);
    let hint_id = format!("{id}-hint");
    let describedby = described_by(&name, hint.is_some(), &problems);
    let aria_invalid = invalid(&name, &problems);
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id>{hint}</p> })}
            <FieldErrors field=name.clone() problems />
            <textarea id=id name=name rows=rows maxlength=maxlength
                aria-describedby=describedby aria-invalid=aria_invalid>{value}</textarea>
        </div>
    }
}

/// A select of `(value, label)` options.
#[component]
pub fn SelectField(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    #[prop(into)] selected: String,
    options: Vec<(String, String)>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(into)] problems: Vec<FieldProblem>,
) -> impl IntoView {
    let id = field_id(&name);
    let hint_id = format!("{id}-hint");
    let describedby = described_by(&name, hint.is_some(), &problems);
    let aria_invalid = invalid(&name, &problems);
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id>{hint}</p> })}
            <FieldErrors field=name.clone() problems />
            <select id=id name=name aria-describedby=describedby aria-invalid=aria_invalid>
                {options.into_iter().map(|(value, label)| {
                    let is_selected = value == selected;
                    view! { <option value=value selected=is_selected>{label}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}

/// A checkbox whose label says what ticking it means, with an optional one-line explanation.
#[component]
pub fn CheckboxField(
    #[prop(into)] name: String,
    #[prop(into)] label: String,
    checked: bool,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(into)] problems: Vec<FieldProblem>,
) -> impl IntoView {
    let id = field_id(&name);
    let hint_id = format!("{id}-hint");
    let describedby = described_by(&name, hint.is_some(), &problems);
    let aria_invalid = invalid(&name, &problems);
    view! {
        <div class="checkbox">
            <FieldErrors field=name.clone() problems />
            <input id=id.clone() name=name type="checkbox" value="true" checked=checked
                aria-describedby=describedby aria-invalid=aria_invalid />
            <label for=id>{label}</label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id>{hint}</p> })}
        </div>
    }
}

/// A group of radio buttons (`(value, label)`), one choice.
#[component]
pub fn RadioGroup(
    #[prop(into)] name: String,
    #[prop(into)] legend: String,
    #[prop(into)] selected: Option<String>,
    options: Vec<(String, String)>,
    #[prop(optional, into)] hint: Option<String>,
    /// The form the inputs belong to, when the group stands outside it.
    #[prop(optional)]
    form: Option<&'static str>,
    #[prop(into)] problems: Vec<FieldProblem>,
) -> impl IntoView {
    let id = field_id(&name);
    let hint_id = format!("{id}-hint");
    let describedby = described_by(&name, hint.is_some(), &problems);
    view! {
        <fieldset class="fieldset" id=id.clone() aria-describedby=describedby>
            <legend>{legend}</legend>
            {hint.map(|hint| view! { <p class="hint" id=hint_id>{hint}</p> })}
            <FieldErrors field=name.clone() problems />
            {options.into_iter().enumerate().map(|(index, (value, label))| {
                let option_id = format!("{id}-{index}");
                let checked = selected.as_deref() == Some(value.as_str());
                view! {
                    <div class="radio">
                        <input id=option_id.clone() type="radio" name=name.clone() value=value checked=checked form=form />
                        <label for=option_id>{label}</label>
                    </div>
                }
            }).collect_view()}
        </fieldset>
    }
}
