//! The compose pages: the caseworker's drafts, a draft's form in sections, and the check page
//! before sending. Rendered on the server and complete without wasm: every button is a form
//! post that saves the draft and comes back (or goes on); the `enhance` islands add saving
//! while typing, live checks, the preview and upload progress.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

use super::enhance::{ComposeEnhancements, SendButton};
use super::form::field_id;
use super::{
    check_draft, list_drafts, list_mail_drafts, open_draft, CheckedNotice, DraftCheck, DraftView,
    FieldProblem, PlannedDelivery, ProblemText, RecipientDraft, WarningText,
};
use crate::components::fields::{CheckboxField, RadioGroup, SelectField, TextArea, TextField};
use crate::components::{ErrorSummary, FieldErrors, SummaryRow};
use crate::domain::channel::{ChannelReason, DeliveryMode, PaperAddressee};
use crate::domain::notice::{NoticeLanguage, NoticeType, RecipientRole};
use crate::error::{AppError, ErrorText};
use crate::i18n::*;
use crate::layout::{set_http_status, Forbidden};

/// The page title, with "Virhe: " first when the page shows errors (GOV.UK).
pub(crate) fn page_title(title: String, has_errors: bool) -> String {
    let i18n = use_i18n();
    let app = t_string!(i18n, app_name).to_string();
    if has_errors {
        format!(
            "{} {title} – {app}",
            t_string!(i18n, form.title_error_prefix)
        )
    } else {
        format!("{title} – {app}")
    }
}

fn draft_id() -> Option<Uuid> {
    use_params_map()
        .read_untracked()
        .get("id")
        .and_then(|id| Uuid::parse_str(&id).ok())
}

/// How a failed read shows on a page.
pub(crate) fn failure(error: AppError) -> AnyView {
    match error {
        AppError::Forbidden => view! { <Forbidden /> }.into_any(),
        AppError::NotFound => {
            set_http_status(404);
            view! { <crate::layout::NotFound /> }.into_any()
        }
        error => view! { <p class="error-text" role="alert"><ErrorText error /></p> }.into_any(),
    }
}

/// `/compose`: start a notice, or go on with a draft.
#[component]
pub fn ComposePage() -> impl IntoView {
    let i18n = use_i18n();
    let drafts = Resource::new_blocking(|| (), |_| list_drafts());
    view! {
        <leptos_meta::Title text=page_title(t_string!(i18n, compose.title).to_string(), false) />
        <h1>{t!(i18n, compose.title)}</h1>
        <form method="post" action="/compose/new" class="form">
            <button type="submit" class="button button--primary" data-testid="new-draft">
                {t!(i18n, compose.start)}
            </button>
        </form>
        <crate::templates::StartFromTemplate />
        <MailDrafts />
        <h2 id="drafts-heading">{t!(i18n, compose.drafts_title)}</h2>
        <Suspense>
            {move || Suspend::new(async move {
                match drafts.await {
                    Ok(list) if list.is_empty() => view! {
                        <p data-testid="no-drafts">{t!(i18n, compose.no_drafts)}</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="draft-list" aria-labelledby="drafts-heading" data-testid="drafts">
                            {list.into_iter().map(|draft| {
                                let href = format!("/compose/{}", draft.id);
                                let title = if draft.title.trim().is_empty() {
                                    t_string!(i18n, compose.draft_untitled).to_string()
                                } else {
                                    draft.title.clone()
                                };
                                let updated = draft.updated_at.clone();
                                view! {
                                    <li>
                                        <a href=href>{title}</a>
                                        " "
                                        <span class="muted">
                                            {draft.case_reference.clone()}
                                            " · "
                                            {move || t_string!(i18n, compose.draft_updated, at = updated.clone()).to_string()}
                                        </span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => failure(error),
                }
            })}
        </Suspense>
    }
}

/// Drafts that arrived by mail, each with a button that makes it the caseworker's own; the
/// section shows only when there are some.
#[component]
fn MailDrafts() -> impl IntoView {
    let i18n = use_i18n();
    let drafts = Resource::new_blocking(|| (), |_| list_mail_drafts());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match drafts.await {
                    Ok(list) if !list.is_empty() => view! {
                        <section class="mail-drafts" aria-labelledby="mail-drafts-heading" data-testid="mail-drafts">
                            <h2 id="mail-drafts-heading">{t!(i18n, compose.mail_drafts_title)}</h2>
                            <p class="hint">{t!(i18n, compose.mail_drafts_hint)}</p>
                            <ul class="draft-list">
                                {list.into_iter().map(|draft| {
                                    let action = format!("/compose/{}/claim", draft.id);
                                    let title = draft.title.clone();
                                    let updated = draft.updated_at.clone();
                                    view! {
                                        <li>
                                            <form method="post" action=action class="inline-form">
                                                <span>{title}</span>
                                                " "
                                                <span class="muted">
                                                    {draft.case_reference.clone()}
                                                    " · "
                                                    {move || t_string!(i18n, compose.draft_updated, at = updated.clone()).to_string()}
                                                </span>
                                                " "
                                                <button type="submit" class="button button--secondary">
                                                    {t!(i18n, compose.claim)}
                                                </button>
                                            </form>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        </section>
                    }.into_any(),
                    Ok(_) => ().into_any(),
                    Err(error) => failure(error),
                }
            })}
        </Suspense>
    }
}

/// `/compose/{id}`: the draft's form.
#[component]
pub fn DraftPage() -> impl IntoView {
    let draft = Resource::new_blocking(
        || (),
        |_| async move {
            match draft_id() {
                Some(id) => open_draft(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match draft.await {
                    Ok(view) if view.notice_id.is_some() => view! { <SentAlready view /> }.into_any(),
                    Ok(view) => view! { <DraftForm view /> }.into_any(),
                    Err(error) => failure(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SentAlready(view: DraftView) -> impl IntoView {
    let i18n = use_i18n();
    let href = format!("/notices/{}", view.notice_id.unwrap_or_default());
    view! {
        <leptos_meta::Title text=page_title(t_string!(i18n, compose.edit_title).to_string(), false) />
        <h1>{t!(i18n, compose.edit_title)}</h1>
        <p>{t!(i18n, compose.sent_already)}</p>
        <p><a href=href>{t!(i18n, compose.open_notice)}</a></p>
    }
}

fn notice_type_options() -> Vec<(String, String)> {
    let locale = use_i18n().get_locale();
    NoticeType::ALL
        .into_iter()
        .map(|kind| {
            (
                kind.as_str().to_string(),
                crate::words::notice_type(locale, kind.as_str()),
            )
        })
        .collect()
}

pub fn role_label(role: RecipientRole) -> String {
    crate::words::role(use_i18n().get_locale(), role)
}

pub fn mode_label(mode: DeliveryMode) -> String {
    crate::words::mode(use_i18n().get_locale(), mode)
}

pub fn reason_text(reason: ChannelReason) -> String {
    crate::words::reason(use_i18n().get_locale(), reason)
}

const ROLES: [RecipientRole; 4] = [
    RecipientRole::Party,
    RecipientRole::Guardian,
    RecipientRole::LegalRepresentative,
    RecipientRole::Agent,
];

const MODES: [DeliveryMode; 4] = [
    DeliveryMode::Multichannel,
    DeliveryMode::ElectronicOnly,
    DeliveryMode::PaperOnly,
    DeliveryMode::PaperWithoutId,
];

#[component]
fn DraftForm(view: DraftView) -> impl IntoView {
    let i18n = use_i18n();
    let DraftView {
        id,
        draft,
        saved_codes,
        problems,
        attachments,
        updated_at,
        preview_html,
        services,
        ..
    } = view;
    let saved = use_query_map().read_untracked().get("saved").is_some();
    let action = format!("/compose/{id}/save");
    let upload_action = format!("/compose/{id}/upload");
    let delete_action = format!("/compose/{id}/delete");
    let title = page_title(
        t_string!(i18n, compose.edit_title).to_string(),
        !problems.is_empty(),
    );
    let p = problems.clone();
    let recipients = draft.recipients.clone();
    let decision = draft.decision.clone();
    let verifiable = draft
        .verifiable
        .map(|v| if v { "yes" } else { "no" }.to_string());
    let language = draft.language;
    view! {
        <leptos_meta::Title text=title />
        <ErrorSummary problems=problems.clone() />
        <h1>{t!(i18n, compose.edit_title)}</h1>
        {saved.then(|| view! {
            <p class="notice-banner" role="status">{t!(i18n, compose.saved)}</p>
        })}
        <p class="muted">{move || t_string!(i18n, compose.draft_updated, at = updated_at.clone()).to_string()}</p>
        <form id="draft-form" method="post" action=action class="form compose-form" novalidate>
            <section aria-labelledby="section-type" id="type">
                <h2 id="section-type">{t!(i18n, compose.section_type)}</h2>
                <SelectField name="notice_type" label=t_string!(i18n, compose.notice_type).to_string()
                    selected=draft.notice_type.as_str().to_string() options=notice_type_options()
                    problems=p.clone() />
                <TextField name="case_reference" label=t_string!(i18n, compose.case_reference).to_string()
                    value=draft.case_reference.clone() hint=t_string!(i18n, compose.case_reference_hint).to_string()
                    maxlength=100 problems=p.clone() />
                {(services.len() > 1).then(|| {
                    let selected = draft.service.or(services.first().map(|(id, _)| *id))
                        .map(|id| id.to_string()).unwrap_or_default();
                    let options = services.iter().map(|(id, name)| (id.to_string(), name.clone())).collect();
                    view! {
                        <SelectField name="service" label=t_string!(i18n, compose.service).to_string()
                            selected options hint=t_string!(i18n, compose.service_hint).to_string()
                            problems=p.clone() />
                    }
                })}
                <FieldErrors field="service".to_string() problems=p.clone() />
            </section>

            <section aria-labelledby="section-recipients" id="recipients">
                <h2 id="section-recipients">{t!(i18n, compose.section_recipients)}</h2>
                <FieldErrors field="recipients".to_string() problems=p.clone() />
                {recipients.into_iter().enumerate().map(|(index, recipient)| {
                    let saved_code = saved_codes.get(index).cloned().flatten();
                    view! { <RecipientFields index recipient saved_code problems=p.clone() /> }
                }).collect_view()}
                <button type="submit" name="action" value="add_recipient" class="button button--secondary">
                    {t!(i18n, compose.add_recipient)}
                </button>
            </section>

            <section aria-labelledby="section-content" id="content">
                <h2 id="section-content">{t!(i18n, compose.section_content)}</h2>
                <TextField name="title" label=t_string!(i18n, compose.title_field).to_string()
                    value=draft.title.clone() hint=t_string!(i18n, compose.title_hint).to_string()
                    maxlength=256 problems=p.clone() />
                <p id="title-counter" class="hint" aria-live="polite"></p>
                <TextArea name="body" label=t_string!(i18n, compose.body).to_string()
                    value=draft.body.clone() hint=t_string!(i18n, compose.body_hint).to_string()
                    rows=12 problems=p.clone() />
                <CheckboxField name="markdown" label=t_string!(i18n, compose.markdown).to_string()
                    checked=draft.markdown problems=p.clone() />
                <SelectField name="language" label=t_string!(i18n, compose.language).to_string()
                    selected=language.as_str().to_string()
                    options=vec![
                        (NoticeLanguage::Fi.as_str().to_string(), t_string!(i18n, languages.fi).to_string()),
                        (NoticeLanguage::Sv.as_str().to_string(), t_string!(i18n, languages.sv).to_string()),
                        (NoticeLanguage::En.as_str().to_string(), t_string!(i18n, languages.en).to_string()),
                    ]
                    hint=t_string!(i18n, compose.language_hint).to_string() problems=p.clone() />
                <fieldset class="fieldset" id="decision">
                    <legend>{t!(i18n, compose.decision_legend)}</legend>
                    <p class="hint">{t!(i18n, compose.decision_hint)}</p>
                    <TextField name="decision.decision_date" label=t_string!(i18n, compose.decision_date).to_string()
                        value=decision.decision_date.clone().unwrap_or_default() kind="date"
                        hint=t_string!(i18n, compose.decision_date_hint).to_string() problems=p.clone() />
                    <TextField name="decision.decision_maker" label=t_string!(i18n, compose.decision_maker).to_string()
                        value=decision.decision_maker.clone().unwrap_or_default() maxlength=500 problems=p.clone() />
                    <TextArea name="decision.parties" label=t_string!(i18n, compose.parties).to_string()
                        value=decision.parties.join("\n") rows=3
                        hint=t_string!(i18n, compose.parties_hint).to_string() problems=p.clone() />
                    <TextField name="decision.contact_person" label=t_string!(i18n, compose.contact_person).to_string()
                        value=decision.contact_person.clone().unwrap_or_default() maxlength=500 problems=p.clone() />
                    <TextField name="decision.contact_details" label=t_string!(i18n, compose.contact_details).to_string()
                        value=decision.contact_details.clone().unwrap_or_default() maxlength=500 problems=p.clone() />
                    <CheckboxField name="decision.automated" label=t_string!(i18n, compose.automated).to_string()
                        checked=decision.automated problems=p.clone() />
                </fieldset>
                <TextField name="appeal_days" label=t_string!(i18n, compose.appeal_days).to_string()
                    value=draft.appeal_days.map(|d| d.to_string()).unwrap_or_default() kind="number"
                    hint=t_string!(i18n, compose.appeal_days_hint).to_string() class="field--short" problems=p.clone() />
                <TextArea name="appeal_instructions" label=t_string!(i18n, compose.appeal_instructions).to_string()
                    value=draft.appeal_instructions.clone().unwrap_or_default() rows=6
                    hint=t_string!(i18n, compose.appeal_instructions_hint).to_string() problems=p.clone() />
                <CheckboxField name="minor_personal_matter" label=t_string!(i18n, compose.minor_personal_matter).to_string()
                    checked=draft.minor_personal_matter
                    hint=t_string!(i18n, compose.minor_personal_matter_hint).to_string() problems=p.clone() />
                <section class="message-preview" aria-labelledby="preview-heading">
                    <h3 id="preview-heading">{t!(i18n, compose.preview_title)}</h3>
                    <div id="body-preview" class="message-preview__body" inner_html=preview_html></div>
                </section>
            </section>
        </form>

        <section aria-labelledby="section-attachments" id="attachments">
            <h2 id="section-attachments">{t!(i18n, compose.section_attachments)}</h2>
            <FieldErrors field="attachments".to_string() problems=p.clone() />
            {if attachments.is_empty() {
                view! { <p>{t!(i18n, compose.attachments_none)}</p> }.into_any()
            } else {
                view! {
                    <ul class="attachment-list" data-testid="attachments">
                        {attachments.into_iter().enumerate().map(|(index, attachment)| {
                            let field = format!("attachments[{index}]");
                            let name = attachment.filename.clone();
                            let size = format_size(attachment.size_bytes);
                            view! {
                                <li id=field_id(&field)>
                                    <span class="attachment-list__name">{attachment.filename.clone()}</span>
                                    " "
                                    <span class="muted">"(" {size} ")"</span>
                                    <FieldErrors field=field.clone() problems=p.clone() />
                                    <button type="submit" form="draft-form" name="action"
                                        value=format!("remove_attachment:{index}") class="button button--secondary">
                                        {move || t_string!(i18n, compose.remove_attachment, name = name.clone()).to_string()}
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <form id="upload-form" method="post" action=upload_action enctype="multipart/form-data" class="form upload-form" novalidate>
                <TextField name="attachment_name" label=t_string!(i18n, compose.attachment_name).to_string()
                    value="" hint=t_string!(i18n, compose.attachment_name_hint).to_string() maxlength=150 problems=p.clone() />
                <div class="field">
                    <label for="file">{t!(i18n, compose.attachment_file)}</label>
                    <p class="hint" id="file-hint">{t!(i18n, compose.attachment_file_hint)}</p>
                    <FieldErrors field="file".to_string() problems=p.clone() />
                    <input id="file" name="file" type="file"
                        aria-describedby=crate::components::described_by("file", true, &p)
                        aria-invalid=crate::components::invalid("file", &p) />
                </div>
                <div id="upload-progress" class="upload-progress" aria-live="polite"></div>
                <button type="submit" class="button button--secondary">{t!(i18n, compose.upload)}</button>
            </form>
        </section>

        <section aria-labelledby="section-delivery" id="delivery">
            <h2 id="section-delivery">{t!(i18n, compose.section_delivery)}</h2>
            <RadioGroup name="verifiable" legend=t_string!(i18n, compose.verifiable).to_string()
                selected=verifiable form="draft-form"
                options=vec![
                    ("yes".to_string(), t_string!(i18n, compose.verifiable_yes).to_string()),
                    ("no".to_string(), t_string!(i18n, compose.verifiable_no).to_string()),
                ]
                hint=t_string!(i18n, compose.verifiable_rule).to_string() problems=p.clone() />
            <div class="button-row">
                <button type="submit" form="draft-form" name="action" value="continue" class="button button--primary">
                    {t!(i18n, compose.proceed)}
                </button>
                <button type="submit" form="draft-form" name="action" value="save" class="button button--secondary">
                    {t!(i18n, compose.save)}
                </button>
            </div>
        </section>
        <form method="post" action=delete_action class="form">
            <button type="submit" class="button button--link">{t!(i18n, compose.delete_draft)}</button>
        </form>
        <ComposeEnhancements draft_id=id />
    }
}

/// Sizes as people read them: `12 kt`, `1,4 Mt` (SI-style, Finnish decimal comma).
pub fn format_size(bytes: i64) -> String {
    if bytes < 1_000_000 {
        format!("{} kB", (bytes + 999) / 1000)
    } else {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0).replace('.', ",")
    }
}

/// The answer of a "Check mailbox" for this recipient, from the URL it came back to.
fn mailbox_answer(index: usize) -> Option<String> {
    let i18n = use_i18n();
    let query = use_query_map().read_untracked();
    let (n, answer) = query
        .get("mailbox")?
        .split_once(':')
        .map(|(n, a)| (n.to_string(), a.to_string()))?;
    if n.parse::<usize>().ok()? != index {
        return None;
    }
    let at = query.get("at").unwrap_or_default();
    let at = match at.split_once(' ') {
        Some((date, time)) => t_string!(
            i18n,
            timeline.at,
            date = date.to_string(),
            time = time.to_string()
        )
        .to_string(),
        None => at,
    };
    Some(match answer.as_str() {
        "active" => t_string!(i18n, compose.mailbox_active, at = at).to_string(),
        "inactive" => t_string!(i18n, compose.mailbox_inactive, at = at).to_string(),
        "unknown" => t_string!(i18n, compose.mailbox_unknown, at = at).to_string(),
        "limited" => t_string!(i18n, compose.mailbox_limited).to_string(),
        _ => t_string!(i18n, compose.mailbox_invalid).to_string(),
    })
}

#[component]
fn RecipientFields(
    index: usize,
    recipient: RecipientDraft,
    saved_code: Option<String>,
    problems: Vec<FieldProblem>,
) -> impl IntoView {
    let i18n = use_i18n();
    let field = move |name: &str| format!("recipients[{index}].{name}");
    let number = index + 1;
    let address = recipient.address.clone().unwrap_or_default();
    let p = problems;
    let code_hint = match &saved_code {
        Some(masked) => {
            let masked = masked.clone();
            t_string!(i18n, compose.identity_code_saved, masked = masked).to_string()
        }
        None => t_string!(i18n, compose.identity_code_hint).to_string(),
    };
    let legend_id = format!("recipient-{index}-legend");
    let labelled_by = legend_id.clone();
    view! {
        <fieldset class="fieldset recipient" id=field_id(&format!("recipients[{index}]")) aria-labelledby=labelled_by>
            <legend id=legend_id>{move || t_string!(i18n, compose.recipient_legend, n = number).to_string()}</legend>
            <SelectField name=field("role") label=t_string!(i18n, compose.role).to_string()
                selected=recipient.role.as_str().to_string()
                options=ROLES.into_iter().map(|role| (role.as_str().to_string(), role_label(role))).collect()
                problems=p.clone() />
            <TextField name=field("name") label=t_string!(i18n, compose.name).to_string()
                value=recipient.name.clone() maxlength=256 autocomplete="off" problems=p.clone() />
            <TextField name=field("identity_code") label=t_string!(i18n, compose.identity_code).to_string()
                value="" hint=code_hint maxlength=11 autocomplete="off" class="field--identity" problems=p.clone() />
            <p class="live-check" id=format!("{}-live", field_id(&field("identity_code"))) aria-live="polite"></p>
            <div class="mailbox-check">
                <button type="submit" name="action" value=format!("check_mailbox:{index}")
                    class="button button--secondary" data-testid=format!("check-mailbox-{index}")>
                    {t!(i18n, compose.check_mailbox)}
                </button>
                {mailbox_answer(index).map(|text| view! {
                    <p class="mailbox-check__answer" role="status" data-testid=format!("mailbox-answer-{index}")>{text}</p>
                })}
            </div>
            <CheckboxField name=field("no_identity_code") label=t_string!(i18n, compose.no_identity_code).to_string()
                checked=false hint=t_string!(i18n, compose.no_identity_code_hint).to_string() problems=p.clone() />
            <SelectField name=field("mode") label=t_string!(i18n, compose.mode).to_string()
                selected=recipient.mode.as_str().to_string()
                options=MODES.into_iter().map(|mode| (mode.as_str().to_string(), mode_label(mode))).collect()
                hint=t_string!(i18n, compose.mode_hint).to_string() problems=p.clone() />
            <fieldset class="fieldset fieldset--nested" id=field_id(&field("address"))>
                <legend>{t!(i18n, compose.address_legend)}</legend>
                <p class="hint">{t!(i18n, compose.address_hint)}</p>
                <FieldErrors field=field("address") problems=p.clone() />
                <TextField name=field("address.name") label=t_string!(i18n, compose.address_name).to_string()
                    value=address.name.clone() autocomplete="off" problems=p.clone() />
                <TextField name=field("address.additional_name") label=t_string!(i18n, compose.address_additional_name).to_string()
                    value=address.additional_name.clone().unwrap_or_default() autocomplete="off" problems=p.clone() />
                <TextField name=field("address.street_address") label=t_string!(i18n, compose.address_street).to_string()
                    value=address.street_address.clone() autocomplete="off" problems=p.clone() />
                <TextField name=field("address.zip_code") label=t_string!(i18n, compose.address_zip).to_string()
                    value=address.zip_code.clone() autocomplete="off" class="field--short" problems=p.clone() />
                <TextField name=field("address.city") label=t_string!(i18n, compose.address_city).to_string()
                    value=address.city.clone() autocomplete="off" problems=p.clone() />
                <TextField name=field("address.country_code") label=t_string!(i18n, compose.address_country).to_string()
                    value=if address.country_code.is_empty() { "FI".to_string() } else { address.country_code.clone() }
                    hint=t_string!(i18n, compose.address_country_hint).to_string() maxlength=2 class="field--short" problems=p.clone() />
            </fieldset>
            <CheckboxField name=field("address_protected") label=t_string!(i18n, compose.address_protected).to_string()
                checked=recipient.address_protected hint=t_string!(i18n, compose.address_protected_hint).to_string()
                problems=p.clone() />
            <CheckboxField name=field("content_not_for_others") label=t_string!(i18n, compose.content_not_for_others).to_string()
                checked=recipient.content_not_for_others hint=t_string!(i18n, compose.content_not_for_others_hint).to_string()
                problems=p.clone() />
            <button type="submit" name="action" value=format!("remove_recipient:{index}") class="button button--secondary">
                {move || t_string!(i18n, compose.remove_recipient, n = number).to_string()}
            </button>
        </fieldset>
    }
}

/// `/compose/{id}/check`: everything in summary lists with "Change" links, each recipient's
/// channel and why, the letter as it will be printed, and one button that says what it does.
#[component]
pub fn CheckPage() -> impl IntoView {
    let check = Resource::new_blocking(
        || (),
        |_| async move {
            match draft_id() {
                Some(id) => check_draft(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match check.await {
                    Ok(check) if check.view.notice_id.is_some() => view! { <SentAlready view=check.view /> }.into_any(),
                    Ok(check) => view! { <CheckSummary check /> }.into_any(),
                    Err(error) => failure(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CheckSummary(check: DraftCheck) -> impl IntoView {
    let i18n = use_i18n();
    let DraftCheck { view, outcome } = check;
    let id = view.id;
    let edit = move |anchor: &str| format!("/compose/{id}#{anchor}");
    let draft = view.draft.clone();
    let problems: Vec<FieldProblem> = outcome.as_ref().err().cloned().unwrap_or_default();
    let title = page_title(
        t_string!(i18n, compose.check_title).to_string(),
        !problems.is_empty(),
    );
    let type_label = notice_type_options()
        .into_iter()
        .find(|(value, _)| value == draft.notice_type.as_str())
        .map(|(_, label)| label)
        .unwrap_or_default();
    let verifiable = match draft.verifiable {
        Some(true) => t_string!(i18n, compose.verifiable_yes).to_string(),
        Some(false) => t_string!(i18n, compose.verifiable_no).to_string(),
        None => String::new(),
    };
    let attachments = view
        .attachments
        .iter()
        .map(|a| a.filename.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let count = draft.recipients.len();
    let send_label = if count == 1 {
        t_string!(i18n, compose.send_one).to_string()
    } else {
        t_string!(i18n, compose.send_many, count = count).to_string()
    };
    let letter = format!("/compose/{id}/letter.pdf");
    let send_action = format!("/compose/{id}/send");
    let title_value = draft.title.clone();
    let case_value = draft.case_reference.clone();
    // Left empty, the type's default applies: say which.
    let appeal_value = match (draft.appeal_days, draft.notice_type.default_appeal_days()) {
        (Some(days), _) => days.to_string(),
        (None, Some(days)) => t_string!(i18n, compose.appeal_days_default, days = days).to_string(),
        (None, None) => "–".into(),
    };
    let deliveries = outcome.ok().map(|checked| {
        let draft = draft.clone();
        let saved_codes = view.saved_codes.clone();
        view! { <Deliveries id draft saved_codes checked /> }
    });
    view! {
        <leptos_meta::Title text=title />
        <h1>{t!(i18n, compose.check_title)}</h1>
        {(!problems.is_empty()).then(|| view! {
            <div class="error-summary" id="error-summary" role="alert" tabindex="-1" autofocus
                aria-labelledby="error-summary-title">
                <h2 id="error-summary-title" class="error-summary__title">{t!(i18n, compose.problems_back)}</h2>
                <ul class="error-summary__list">
                    {problems.iter().cloned().map(|problem| {
                        let href = format!("/compose/{id}#{}", field_id(&problem.field));
                        view! { <li><a href=href><ProblemText problem=problem.problem /></a></li> }
                    }).collect_view()}
                </ul>
            </div>
        })}
        <p>{t!(i18n, compose.check_intro)}</p>
        <h2>{t!(i18n, compose.section_content)}</h2>
        <dl class="summary-list">
            <SummaryRow term=t_string!(i18n, compose.notice_type).to_string() change=edit("type")>{type_label}</SummaryRow>
            <SummaryRow term=t_string!(i18n, compose.case_reference).to_string() change=edit("case_reference")>{case_value}</SummaryRow>
            <SummaryRow term=t_string!(i18n, compose.title_field).to_string() change=edit("title")>{title_value}</SummaryRow>
            <SummaryRow term=t_string!(i18n, compose.verifiable).to_string() change=edit("verifiable")>{verifiable}</SummaryRow>
            <SummaryRow term=t_string!(i18n, compose.appeal_days).to_string() change=edit("appeal_days")>
                {appeal_value}
            </SummaryRow>
            <SummaryRow term=t_string!(i18n, compose.section_attachments).to_string() change=edit("attachments")>
                {if attachments.is_empty() { "–".to_string() } else { attachments }}
            </SummaryRow>
        </dl>
        <section class="message-preview" aria-labelledby="check-preview-heading">
            <h2 id="check-preview-heading">{t!(i18n, compose.preview_title)}</h2>
            <div class="message-preview__body" inner_html=view.preview_html.clone()></div>
        </section>
        {deliveries}
        <section aria-labelledby="letter-heading">
            <h2 id="letter-heading">{t!(i18n, compose.letter_preview)}</h2>
            <iframe class="letter-preview" src=letter.clone() title=t_string!(i18n, compose.letter_preview).to_string()></iframe>
            <p><a href=letter>{t!(i18n, compose.letter_preview_link)}</a></p>
        </section>
        {problems.is_empty().then(|| view! {
            <form method="post" action=send_action class="form" id="send-form">
                <SendButton label=send_label />
            </form>
        })}
    }
}

#[component]
fn Deliveries(
    id: Uuid,
    draft: super::NoticeDraft,
    saved_codes: Vec<Option<String>>,
    checked: CheckedNotice,
) -> impl IntoView {
    let i18n = use_i18n();
    let CheckedNotice {
        deliveries,
        warnings,
    } = checked;
    view! {
        {(!warnings.is_empty()).then(|| view! {
            <div class="warning-panel" role="note" aria-labelledby="warnings-heading">
                <h2 id="warnings-heading">{t!(i18n, compose.warnings_title)}</h2>
                <ul>
                    {warnings.into_iter().map(|warning| {
                        let href = format!("/compose/{id}#{}", field_id(&warning.field));
                        view! { <li><a href=href><WarningText warning=warning.warning /></a></li> }
                    }).collect_view()}
                </ul>
            </div>
        })}
        <h2 id="recipients-heading">{t!(i18n, compose.decision_heading)}</h2>
        {deliveries.into_iter().zip(draft.recipients).enumerate().map(|(index, (planned, recipient))| {
            let code = saved_codes.get(index).cloned().flatten();
            view! { <PlannedRecipient id index planned recipient code /> }
        }).collect_view()}
    }
}

#[component]
fn PlannedRecipient(
    id: Uuid,
    index: usize,
    planned: PlannedDelivery,
    recipient: RecipientDraft,
    code: Option<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let change = format!(
        "/compose/{id}#{}",
        field_id(&format!("recipients[{index}]"))
    );
    let reasons = planned
        .reasons
        .iter()
        .map(|reason| reason_text(*reason))
        .collect::<Vec<_>>();
    let age = planned.age;
    let forwarded = planned.paper_addressee == PaperAddressee::OrganisationForwarding;
    view! {
        <section class="planned-recipient" data-testid="planned-recipient">
            <h3>{recipient.name.clone()}</h3>
            <dl class="summary-list">
                <SummaryRow term=t_string!(i18n, compose.role).to_string() change=change.clone()>{role_label(recipient.role)}</SummaryRow>
                <SummaryRow term=t_string!(i18n, compose.identity_code).to_string() change=change.clone()>
                    {code.unwrap_or_else(|| t_string!(i18n, compose.no_identity_code).to_string())}
                    {age.map(|age| view! { " " <span class="muted">{move || t_string!(i18n, compose.age, age = age).to_string()}</span> })}
                </SummaryRow>
                <SummaryRow term=t_string!(i18n, compose.channel_label).to_string() change=change.clone()>
                    <strong data-testid="decided-mode">{mode_label(planned.mode)}</strong>
                    <ul class="reasons" data-testid="reasons">
                        {reasons.into_iter().map(|reason| view! { <li>{reason}</li> }).collect_view()}
                        {forwarded.then(|| view! { <li>{t!(i18n, compose.forwarded_note)}</li> })}
                    </ul>
                </SummaryRow>
                <SummaryRow term=t_string!(i18n, compose.options_label).to_string()>
                    <ul class="options">
                        {planned.options.into_iter().filter(|(mode, _)| *mode != planned.mode).map(|(mode, refusal)| {
                            view! {
                                <li>
                                    {mode_label(mode)} ": "
                                    {match refusal {
                                        None => t_string!(i18n, compose.option_available).to_string().into_any(),
                                        Some(refusal) => view! { <ProblemText problem=super::Problem::Channel(refusal) /> }.into_any(),
                                    }}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </SummaryRow>
            </dl>
        </section>
    }
}
