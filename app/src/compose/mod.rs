//! Composing a notice: the wizard arrives with the delivery pipeline.

use leptos::prelude::*;

use crate::i18n::*;

#[component]
pub fn ComposePage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <leptos_meta::Title text=move || format!("{} – {}", t_string!(i18n, compose.title), t_string!(i18n, app_name)) />
        <h1>{t!(i18n, compose.title)}</h1>
        <p>{t!(i18n, compose.coming)}</p>
    }
}
