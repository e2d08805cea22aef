//! `/welcome/{token}`: a new user (or one whose password an admin reset) chooses a password
//! through a one-time link. A plain form: it posts to the server, which checks the password
//! (at least 12 characters, not a common one) and comes back here with the problem, or goes
//! on to the sign-in page.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::error::AppError;
use crate::i18n::*;

/// The address of the link's user, or `None` for a link that is used, expired or unknown.
#[server(prefix = "/api", endpoint = "welcome_link")]
pub async fn welcome_link(token: String) -> Result<Option<String>, AppError> {
    crate::error::with_status(
        async {
            let backend = use_context::<std::sync::Arc<dyn super::ssr::AuthBackend>>()
                .ok_or_else(|| AppError::internal("AuthBackend missing from context"))?;
            backend.welcome_email(&token).await
        }
        .await,
    )
}

#[component]
pub fn WelcomePage() -> impl IntoView {
    let i18n = use_i18n();
    let token = use_params_map()
        .read_untracked()
        .get("token")
        .unwrap_or_default();
    let problem = use_query_map().read_untracked().get("problem");
    let link = Resource::new_blocking(
        {
            let token = token.clone();
            move || token.clone()
        },
        welcome_link,
    );
    view! {
        <leptos_meta::Title text={format!("{} – {}", t_string!(i18n, welcome.title), t_string!(i18n, app_name))} />
        <div class="narrow">
            <h1>{t!(i18n, welcome.title)}</h1>
            <Suspense>
                {move || {
                    let token = token.clone();
                    let problem = problem.clone();
                    Suspend::new(async move {
                        match link.await {
                            Ok(Some(email)) => view! { <PasswordForm token email problem /> }.into_any(),
                            _ => view! { <p data-testid="link-invalid">{t!(i18n, welcome.invalid)}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </div>
    }
}

#[component]
fn PasswordForm(token: String, email: String, problem: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    let message = problem.map(|code| match code.as_str() {
        "too_short" => t_string!(i18n, welcome.too_short).to_string(),
        "too_long" => t_string!(i18n, welcome.too_long).to_string(),
        "common" => t_string!(i18n, welcome.common).to_string(),
        _ => t_string!(i18n, welcome.differ).to_string(),
    });
    let invalid = message.is_some().then_some("true");
    view! {
        {message.map(|message| view! {
            <div class="error-summary" role="alert" tabindex="-1" aria-labelledby="welcome-error-title">
                <h2 id="welcome-error-title" class="error-summary__title">{t!(i18n, form.error_summary_title)}</h2>
                <p><a href="#password" id="password-error">{message}</a></p>
            </div>
        })}
        <p>{t!(i18n, welcome.intro, email = email.clone())}</p>
        <form method="post" action=format!("/welcome/{token}") class="form" novalidate="">
            <input type="hidden" name="username" value=email autocomplete="username" />
            <div class="field">
                <label for="password">{t!(i18n, welcome.password)}</label>
                <p class="hint" id="password-hint">{t!(i18n, welcome.hint)}</p>
                <input id="password" name="password" type="password" autocomplete="new-password"
                    required minlength="12" aria-invalid=invalid
                    aria-describedby=if invalid.is_some() { "password-hint password-error" } else { "password-hint" } />
            </div>
            <div class="field">
                <label for="password_confirmation">{t!(i18n, welcome.confirmation)}</label>
                <input id="password_confirmation" name="password_confirmation" type="password"
                    autocomplete="new-password" required />
            </div>
            <button type="submit" class="button button--primary">{t!(i18n, welcome.submit)}</button>
        </form>
    }
}
