//! The language switcher's target: remembers the choice in the cookie leptos_i18n reads,
//! then goes back to the page the user was on. Works without wasm.

use std::collections::HashMap;

use app::auth::safe_next;
use app::i18n::Locale;
use axum::extract::{Path, Query};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};

/// leptos_i18n's cookie name (`I18nContextProvider`'s default).
pub const LANGUAGE_COOKIE: &str = "i18n_pref_locale";

pub async fn choose_language(
    Path(code): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let locale: Locale = code.parse().unwrap_or_default();
    let next = safe_next(query.get("next").map(String::as_str));
    let cookie = format!("{LANGUAGE_COOKIE}={locale}; Path=/; Max-Age=31536000; SameSite=Lax");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next))
}
