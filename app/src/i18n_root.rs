//! The language context for every island. leptos_i18n's generated islands provider cannot
//! keep our cookie's options (a year, the whole site) and would replace the cookie with a
//! session cookie on every page, so this island provides the context itself: on the server
//! from the cookie (or the browser's languages), in the browser from `<html lang>`, which the
//! server set.

use leptos::prelude::*;
use leptos_i18n::context::{init_i18n_context_with_options, CookieOptions, I18nContextOptions};

use crate::i18n::Locale;

/// How long the language choice is remembered: a year, in milliseconds.
const LANGUAGE_COOKIE_MAX_AGE_MS: i64 = 365 * 24 * 60 * 60 * 1000;

#[island]
pub fn I18nRoot(children: Children) -> impl IntoView {
    let cookie: CookieOptions<Locale> = CookieOptions::default()
        .path("/")
        .max_age(LANGUAGE_COOKIE_MAX_AGE_MS);
    let options = I18nContextOptions::<Locale> {
        // In the browser the page's `<html lang>` says which language the server chose.
        enable_cookie: cfg!(feature = "ssr"),
        cookie_options: cookie,
        ..Default::default()
    };
    provide_context(init_i18n_context_with_options(options));
    children()
}
