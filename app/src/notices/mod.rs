//! The notice list: the caseworker's front page.

use leptos::prelude::*;

use crate::i18n::*;

#[component]
pub fn NoticesPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <leptos_meta::Title text=move || format!("{} – {}", t_string!(i18n, notices.title), t_string!(i18n, app_name)) />
        <h1>{t!(i18n, notices.title)}</h1>
        <div class="empty-state" data-testid="notices-empty">
            <p>{t!(i18n, notices.empty)}</p>
            <p><a class="button button--primary" href="/compose">{t!(i18n, notices.compose_first)}</a></p>
        </div>
    }
}
