//! The HTML document, the router and the routes.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::admin::{AdminPage, AuditPage, ServicePage, ServicesPage};
use crate::auth::{LoginPage, WelcomePage};
use crate::compose::{CheckPage, ComposePage, DraftPage};
use crate::i18n::*;
use crate::i18n_root::I18nRoot;
use crate::info::{AccessibilityStatement, StatusGlossary};
use crate::layout::{Layout, NotFound};
use crate::notices::{AttentionPage, NoticePage, NoticesPage};
use crate::replies::{InboxPage, ReplyPage};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        // The language context for the server's rendering and for every island. leptos_meta
        // renders `<html lang>` (and the `<title>`) after the page's reactive sandbox has ended,
        // so they are plain values read while the page renders; the language only changes by
        // reloading.
        <I18nRoot>
            <DocumentLanguage />
            <Stylesheet id="leptos" href="/pkg/tiedoksi.css" />
            <Router>
                <Layout>
                    // Async: the whole page is rendered before it is sent, so it works before
                    // (and without) the wasm and can carry the right HTTP status.
                    <Routes fallback=NotFound>
                        <Route path=path!("/") view=NoticesPage ssr=SsrMode::Async />
                        <Route path=path!("/attention") view=AttentionPage ssr=SsrMode::Async />
                        <Route path=path!("/compose") view=ComposePage ssr=SsrMode::Async />
                        <Route path=path!("/compose/:id") view=DraftPage ssr=SsrMode::Async />
                        <Route path=path!("/compose/:id/check") view=CheckPage ssr=SsrMode::Async />
                        <Route path=path!("/notices/:id") view=NoticePage ssr=SsrMode::Async />
                        <Route path=path!("/batches") view=crate::batches::BatchesPage ssr=SsrMode::Async />
                        <Route path=path!("/batches/:id") view=crate::batches::BatchPage ssr=SsrMode::Async />
                        <Route path=path!("/inbox") view=InboxPage ssr=SsrMode::Async />
                        <Route path=path!("/inbox/:id") view=ReplyPage ssr=SsrMode::Async />
                        <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async />
                        <Route path=path!("/admin/services") view=ServicesPage ssr=SsrMode::Async />
                        <Route path=path!("/admin/services/:id") view=ServicePage ssr=SsrMode::Async />
                        <Route path=path!("/admin/templates") view=crate::templates::TemplatesPage ssr=SsrMode::Async />
                        <Route path=path!("/admin/templates/:id") view=crate::templates::TemplatePage ssr=SsrMode::Async />
                        <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async />
                        <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                        <Route path=path!("/welcome/:token") view=WelcomePage ssr=SsrMode::Async />
                        <Route path=path!("/statuses") view=StatusGlossary ssr=SsrMode::Async />
                        <Route path=path!("/accessibility") view=AccessibilityStatement ssr=SsrMode::Async />
                    </Routes>
                </Layout>
            </Router>
            <HydratedMarker />
        </I18nRoot>
    }
}

/// `<html lang dir>` from the locale as the page renders.
#[component]
fn DocumentLanguage() -> impl IntoView {
    let locale = use_i18n().get_locale_untracked();
    view! { <leptos_meta::Html attr:lang=locale.as_str() attr:dir="ltr" /> }
}

/// Islands hydrate in document order, and this one comes last: when it runs, every island
/// has taken over its part of the page. Browser tests wait for this marker.
#[island]
fn HydratedMarker() -> impl IntoView {
    Effect::new(|_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
