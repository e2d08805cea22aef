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

/// The reader's language for what the server writes itself (a PDF): the chosen language's
/// cookie, else the browser's first language we have, else Finnish.
pub fn request_locale(headers: &axum::http::HeaderMap) -> Locale {
    let from_cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LANGUAGE_COOKIE)
        .and_then(|(_, code)| code.parse::<Locale>().ok());
    if let Some(locale) = from_cookie {
        return locale;
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .into_iter()
        .flat_map(|value| value.split(','))
        .filter_map(|tag| tag.split(';').next())
        .filter_map(|tag| tag.trim().split('-').next())
        .find_map(|code| code.to_ascii_lowercase().parse::<Locale>().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn the_cookie_wins_then_the_browser_then_finnish() {
        let mut headers = HeaderMap::new();
        assert_eq!(request_locale(&headers), Locale::fi);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("de-DE, sv-FI;q=0.8, en;q=0.5"),
        );
        assert_eq!(request_locale(&headers), Locale::sv);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("id=x; i18n_pref_locale=en"),
        );
        assert_eq!(request_locale(&headers), Locale::en);
    }
}
