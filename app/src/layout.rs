//! The frame around every page: skip link, header with navigation, the signed-in user,
//! the language switcher, and the footer.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::auth::{current_user, Logout, Role, SessionUser};
use crate::i18n::*;
use crate::replies::unread_replies;

/// Each language named in itself, as language pickers should (WCAG 3.1.2: marked with `lang`).
const LANGUAGES: [(Locale, &str); 3] = [
    (Locale::fi, "Suomi"),
    (Locale::sv, "Svenska"),
    (Locale::en, "English"),
];

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let i18n = use_i18n();
    // Keyed on the path so signing in or out (which navigates) refreshes the header.
    let location = use_location();
    let user = Resource::new_blocking(move || location.pathname.get(), |_| current_user());
    let unread = Resource::new_blocking(move || location.pathname.get(), |_| unread_replies());

    view! {
        <a class="skip-link" href="#main">{t!(i18n, skip_to_content)}</a>
        <header class="site-header">
            <div class="site-header__inner">
                <a class="site-header__brand" href="/">{t!(i18n, app_name)}</a>
                <Suspense>
                    {move || Suspend::new(async move {
                        let user = user.await.ok().flatten();
                        let unread = match user {
                            Some(_) => unread.await.unwrap_or(0),
                            None => 0,
                        };
                        user.map(|user| view! { <SignedInHeader user unread /> })
                    })}
                </Suspense>
                <LanguageSwitcher />
            </div>
        </header>
        <main id="main" class="page" tabindex="-1">
            {children()}
        </main>
        <footer class="site-footer">
            <p>{t!(i18n, footer.service)}</p>
            <p><a href="/accessibility">{t!(i18n, accessibility.link)}</a></p>
        </footer>
    }
}

#[component]
fn SignedInHeader(user: SessionUser, unread: u32) -> impl IntoView {
    let i18n = use_i18n();
    let logout = ServerAction::<Logout>::new();
    let is_admin = user.role == Role::Admin;
    let reads_audit = matches!(user.role, Role::Admin | Role::Auditor);
    let composes = matches!(user.role, Role::Admin | Role::Caseworker);
    let name = user.display_name.clone();
    view! {
        <nav class="site-nav" aria-label=move || t_string!(i18n, nav.label)>
            <ul>
                <li><NavLink href="/">{t!(i18n, nav.notices)}</NavLink></li>
                <li><NavLink href="/attention">{t!(i18n, nav.attention)}</NavLink></li>
                <li>
                    <NavLink href="/inbox">
                        {t!(i18n, nav.inbox)}
                        {(unread > 0).then(|| view! {
                            " "<span class="count-badge" data-testid="unread-badge">{unread}</span>
                            <span class="visually-hidden">{move || t_string!(i18n, nav.unread, count = unread).to_string()}</span>
                        })}
                    </NavLink>
                </li>
                <li><NavLink href="/compose">{t!(i18n, nav.compose)}</NavLink></li>
                {composes.then(|| view! {
                    <li><NavLink href="/batches">{t!(i18n, nav.batches)}</NavLink></li>
                })}
                {is_admin.then(|| view! {
                    <li><NavLink href="/admin">{t!(i18n, nav.admin)}</NavLink></li>
                })}
                {reads_audit.then(|| view! {
                    <li><NavLink href="/audit">{t!(i18n, nav.audit)}</NavLink></li>
                })}
            </ul>
        </nav>
        <div class="site-header__user">
            <span class="site-header__organisation">{user.organisation_name.clone()}</span>
            <span data-testid="signed-in-user">
                {move || t_string!(i18n, user.signed_in_as, name = name.clone()).to_string()}
            </span>
            <ActionForm action=logout attr:class="inline-form">
                <button type="submit" class="button button--secondary">{t!(i18n, user.logout)}</button>
            </ActionForm>
        </div>
    }
}

/// A navigation link that tells assistive technology which page is current.
#[component]
fn NavLink(href: &'static str, children: Children) -> impl IntoView {
    let location = use_location();
    let current = move || {
        let path = location.pathname.get();
        let is_current = if href == "/" {
            path == "/"
        } else {
            path.starts_with(href)
        };
        is_current.then_some("page")
    };
    view! { <a href=href aria-current=current>{children()}</a> }
}

/// Plain links to a server route that sets the language cookie and comes back: it works
/// before the wasm loads and without it.
#[component]
fn LanguageSwitcher() -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    let here = move || {
        let search = location.search.get();
        let path = location.pathname.get();
        if search.is_empty() {
            path
        } else {
            format!("{path}?{search}")
        }
    };
    view! {
        <nav class="language-switcher" aria-label=move || t_string!(i18n, language.label)>
            <ul>
                {LANGUAGES.into_iter().map(|(locale, name)| {
                    let code = locale.as_str();
                    let href = move || format!("/language/{code}?next={}", encode_query_value(&here()));
                    let current = move || (i18n.get_locale() == locale).then_some("true");
                    view! {
                        <li>
                            <a href=href rel="external" lang=code hreflang=code aria-current=current>
                                {name}
                            </a>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </nav>
    }
}

/// Percent-encodes a local path for use as one query value (`?next=…`).
pub fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                encoded.push(byte as char)
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

/// Sets the response's HTTP status while the page renders on the server.
pub fn set_http_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(status)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::StatusCode::from_u16(status),
    ) {
        response.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

#[component]
pub fn NotFound() -> impl IntoView {
    let i18n = use_i18n();
    set_http_status(404);
    view! {
        <leptos_meta::Title text={t_string!(i18n, errors.not_found_title)} />
        <h1>{t!(i18n, errors.not_found_title)}</h1>
        <p>{t!(i18n, errors.not_found_body)}</p>
        <p><a href="/">{t!(i18n, errors.back_home)}</a></p>
    }
}

#[component]
pub fn Forbidden() -> impl IntoView {
    let i18n = use_i18n();
    set_http_status(403);
    view! {
        <h1>{t!(i18n, errors.forbidden_title)}</h1>
        <p>{t!(i18n, errors.forbidden_body)}</p>
        <p><a href="/">{t!(i18n, errors.back_home)}</a></p>
    }
}

#[cfg(test)]
mod tests {
    use super::encode_query_value;

    #[test]
    fn encodes_everything_that_could_end_the_query_value() {
        assert_eq!(
            encode_query_value("/admin?x=1&y=2#z"),
            "/admin%3Fx%3D1%26y%3D2%23z"
        );
        assert_eq!(encode_query_value("/ä"), "/%C3%A4");
    }
}
