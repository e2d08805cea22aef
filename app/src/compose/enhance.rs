//! What wasm adds to the compose pages, as islands: the draft saved while typing (and a
//! warning before leaving unsaved changes), identity codes checked as they are typed, a title
//! counter, the message preview kept up to date, upload progress and drag-and-drop, and a
//! send button that shows it is busy and does nothing on a second click. Without wasm the
//! pages work the same, by form posts.

use leptos::prelude::*;
use uuid::Uuid;

use crate::i18n::*;

/// Strings the browser-side code shows, resolved in the page's language.
#[derive(Clone)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct Texts {
    autosaved: String,
    code_valid: String,
    code_format: String,
    code_date: String,
    code_checksum: String,
    code_individual: String,
    characters: String,
    uploading: String,
    upload_failed: String,
}

#[island]
pub fn ComposeEnhancements(draft_id: Uuid) -> impl IntoView {
    let i18n = use_i18n();
    let texts = Texts {
        autosaved: t_string!(i18n, compose.autosaved).to_string(),
        code_valid: t_string!(i18n, compose.identity_code_valid).to_string(),
        code_format: t_string!(i18n, problems.identity_format).to_string(),
        code_date: t_string!(i18n, problems.identity_date).to_string(),
        code_checksum: t_string!(i18n, problems.identity_checksum).to_string(),
        code_individual: t_string!(i18n, problems.identity_individual_number).to_string(),
        characters: t_string!(i18n, compose.characters).to_string(),
        uploading: t_string!(i18n, compose.uploading).to_string(),
        upload_failed: t_string!(i18n, compose.upload_failed).to_string(),
    };
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| client::enhance(draft_id, texts.clone()));
    #[cfg(not(feature = "hydrate"))]
    let _ = (draft_id, texts);
    view! { <p id="autosave-status" class="muted autosave-status" role="status" aria-live="polite"></p> }
}

/// The send button: states the action and the count; once pressed it says it is working
/// (`aria-busy`) and a second press does nothing (the server would queue nothing twice
/// anyway: the draft's idempotency key).
#[island]
pub fn SendButton(label: String) -> impl IntoView {
    let i18n = use_i18n();
    let busy = RwSignal::new(false);
    // Back to this page from the notice (the browser's page cache keeps it as it was): ready
    // to press again; the server answers with the same notice.
    #[cfg(feature = "hydrate")]
    let _ = leptos::prelude::window_event_listener_untyped("pageshow", move |_| busy.set(false));
    let sending = t_string!(i18n, compose.sending).to_string();
    view! {
        <button type="submit" class="button button--primary button--large" data-testid="send"
            aria-busy=move || busy.get().then_some("true")
            aria-disabled=move || busy.get().then_some("true")
            on:click=move |event| {
                if busy.get_untracked() {
                    event.prevent_default();
                } else {
                    // After the submit has started: marking it busy first could cancel it.
                    set_timeout(move || busy.set(true), std::time::Duration::ZERO);
                }
            }>
            {move || if busy.get() { sending.clone() } else { label.clone() }}
        </button>
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use std::cell::RefCell;
    use std::rc::Rc;

    use uuid::Uuid;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{
        BeforeUnloadEvent, DragEvent, Element, Event, FormData, HtmlFormElement, HtmlInputElement,
        ProgressEvent, Request, RequestInit, XmlHttpRequest,
    };

    use super::Texts;
    use crate::compose::form::field_id;
    use crate::domain::{IdentityError, RecipientId};

    const AUTOSAVE_AFTER_MS: i32 = 1500;
    const PREVIEW_AFTER_MS: i32 = 700;

    #[derive(Default)]
    struct State {
        dirty: bool,
        autosave: Option<i32>,
        preview: Option<i32>,
    }

    fn by_id(id: &str) -> Option<Element> {
        leptos::prelude::document().get_element_by_id(id)
    }

    fn listen<E: wasm_bindgen::convert::FromWasmAbi + 'static>(
        target: &web_sys::EventTarget,
        event: &str,
        handler: impl FnMut(E) + 'static,
    ) {
        let closure = Closure::<dyn FnMut(E)>::new(handler);
        let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        // Lives as long as the page.
        closure.forget();
    }

    fn later(
        state: &Rc<RefCell<State>>,
        slot: fn(&mut State) -> &mut Option<i32>,
        ms: i32,
        run: impl FnOnce() + 'static,
    ) {
        let window = leptos::prelude::window();
        if let Some(handle) = slot(&mut state.borrow_mut()).take() {
            window.clear_timeout_with_handle(handle);
        }
        let closure = Closure::once_into_js(run);
        if let Ok(handle) = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(closure.unchecked_ref(), ms)
        {
            *slot(&mut state.borrow_mut()) = Some(handle);
        }
    }

    /// Posts the form with `action` and hands the answer's text to `then`.
    fn post_form(
        form: &HtmlFormElement,
        url: &str,
        action: &str,
        then: impl FnOnce(Option<String>) + 'static,
    ) {
        let Ok(data) = FormData::new_with_form(form) else {
            return;
        };
        let _ = data.set_with_str("action", action);
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&data);
        let Ok(request) = Request::new_with_str_and_init(url, &init) else {
            return;
        };
        let _ = request.headers().set("X-Requested-With", "fetch");
        let promise = leptos::prelude::window().fetch_with_request(&request);
        wasm_bindgen_futures::spawn_local(async move {
            let text = async {
                let response: web_sys::Response = wasm_bindgen_futures::JsFuture::from(promise)
                    .await
                    .ok()?
                    .dyn_into()
                    .ok()?;
                if !response.ok() {
                    return None;
                }
                let text = wasm_bindgen_futures::JsFuture::from(response.text().ok()?)
                    .await
                    .ok()?;
                text.as_string()
            }
            .await;
            then(text);
        });
    }

    fn check_code(input: &HtmlInputElement, texts: &Texts) {
        let Some(live) = by_id(&format!("{}-live", field_id(&input.name()))) else {
            return;
        };
        let value = input.value();
        let message = if value.trim().is_empty() {
            let _ = input.remove_attribute("aria-invalid");
            String::new()
        } else {
            match RecipientId::parse(&value) {
                Ok(_) => {
                    let _ = input.remove_attribute("aria-invalid");
                    texts.code_valid.clone()
                }
                Err(error) => {
                    let _ = input.set_attribute("aria-invalid", "true");
                    match error {
                        IdentityError::Checksum => texts.code_checksum.clone(),
                        IdentityError::Date => texts.code_date.clone(),
                        IdentityError::IndividualNumber => texts.code_individual.clone(),
                        IdentityError::Format | IdentityError::CenturySign => {
                            texts.code_format.clone()
                        }
                    }
                }
            }
        };
        live.set_text_content(Some(&message));
    }

    fn count_title(texts: &Texts) {
        let (Some(title), Some(counter)) = (by_id("title"), by_id("title-counter")) else {
            return;
        };
        if let Ok(title) = title.dyn_into::<HtmlInputElement>() {
            let count = title.value().chars().count();
            counter.set_text_content(Some(&format!("{count} / 256 {}", texts.characters)));
        }
    }

    pub fn enhance(draft_id: Uuid, texts: Texts) {
        let Some(form) = by_id("draft-form").and_then(|f| f.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        let state = Rc::new(RefCell::new(State::default()));
        let save_url = format!("/compose/{draft_id}/save");
        let preview_url = format!("/compose/{draft_id}/preview");
        count_title(&texts);

        // Typing: mark unsaved, check codes at once, save and preview a moment later.
        {
            let (state, form_for_save, texts) = (state.clone(), form.clone(), texts.clone());
            listen(&form, "input", move |event: Event| {
                state.borrow_mut().dirty = true;
                if let Some(input) = event
                    .target()
                    .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                {
                    if input.name().ends_with(".identity_code") {
                        check_code(&input, &texts);
                    }
                    if input.name() == "title" {
                        count_title(&texts);
                    }
                }
                let (form, url, status, done_state) = (
                    form_for_save.clone(),
                    save_url.clone(),
                    texts.autosaved.clone(),
                    state.clone(),
                );
                later(
                    &state,
                    |s| &mut s.autosave,
                    AUTOSAVE_AFTER_MS,
                    move || {
                        post_form(&form, &url, "autosave", move |answer| {
                            if answer.is_some() {
                                done_state.borrow_mut().dirty = false;
                                if let Some(element) = by_id("autosave-status") {
                                    element.set_text_content(Some(&status));
                                }
                            }
                        });
                    },
                );
                let (form, url) = (form_for_save.clone(), preview_url.clone());
                later(
                    &state,
                    |s| &mut s.preview,
                    PREVIEW_AFTER_MS,
                    move || {
                        post_form(&form, &url, "preview", |answer| {
                            if let (Some(html), Some(preview)) = (answer, by_id("body-preview")) {
                                preview.set_inner_html(&html);
                            }
                        });
                    },
                );
            });
        }
        // Posting the form is saving it: no warning on the way out.
        {
            let state = state.clone();
            listen(&form, "submit", move |_: Event| {
                state.borrow_mut().dirty = false
            });
        }
        {
            let state = state.clone();
            listen(
                &leptos::prelude::window(),
                "beforeunload",
                move |event: BeforeUnloadEvent| {
                    if state.borrow().dirty {
                        event.prevent_default();
                        event.set_return_value("unsaved");
                    }
                },
            );
        }
        enhance_upload(&texts);
    }

    /// The attachment form: sent with progress shown, files dropped on the section taken.
    fn enhance_upload(texts: &Texts) {
        let Some(upload) = by_id("upload-form").and_then(|f| f.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        if let Some(section) = by_id("attachments") {
            listen(&section, "dragover", |event: DragEvent| {
                event.prevent_default()
            });
            listen(&section, "drop", |event: DragEvent| {
                event.prevent_default();
                let files = event.data_transfer().and_then(|transfer| transfer.files());
                let input = by_id("file").and_then(|i| i.dyn_into::<HtmlInputElement>().ok());
                if let (Some(files), Some(input)) = (files, input) {
                    input.set_files(Some(&files));
                }
            });
        }
        let texts = texts.clone();
        let form = upload.clone();
        listen(&upload, "submit", move |event: Event| {
            let (Ok(data), Ok(request)) = (FormData::new_with_form(&form), XmlHttpRequest::new())
            else {
                return;
            };
            event.prevent_default();
            if request.open("POST", &form.action()).is_err() {
                return;
            }
            let _ = request.set_request_header("X-Requested-With", "fetch");
            let progress = by_id("upload-progress");
            let uploading = texts.uploading.clone();
            if let (Ok(upload), Some(progress)) = (request.upload(), progress.clone()) {
                let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(
                    move |event: ProgressEvent| {
                        if event.length_computable() && event.total() > 0.0 {
                            let percent = (event.loaded() / event.total() * 100.0).round();
                            progress.set_inner_html(&format!(
                            "<progress max=\"100\" value=\"{percent}\"></progress> {uploading} {percent} %"
                        ));
                        }
                    },
                );
                upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
                on_progress.forget();
            }
            let failed = texts.upload_failed.clone();
            let done = request.clone();
            let on_load = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
                if done.status().unwrap_or(0) < 400 {
                    // The page shows the new attachment (or the file's problems).
                    let _ = leptos::prelude::window().location().reload();
                } else if let Some(progress) = by_id("upload-progress") {
                    progress.set_text_content(Some(&failed));
                }
            });
            request.set_onload(Some(on_load.as_ref().unchecked_ref()));
            on_load.forget();
            let _ = request.send_with_opt_form_data(Some(&data));
        });
    }
}
