//! The notice list, its search, and the "Needs attention" view.
//!
//! An identity code typed into the search box arrives only in a POST body (`/search`), which
//! answers with the list's URL holding a sealed token in its place: the code is in no URL,
//! history or log, and the bookmark still works while the data key that sealed it is known.
//! The search itself matches the code's lookup hashes, so the code is never compared in clear.

use std::collections::{HashMap, HashSet};

use app::auth::Actor;
use app::compose::{FieldProblem, Problem};
use app::domain::lifecycle::DeliveryStatus;
use app::domain::notice::NoticeType;
use app::domain::RecipientId;
use app::error::AppError;
use app::notices::list::{
    AttentionItem, AttentionKind, NoticeFilter, NoticeListPage, NoticeRow, RecipientRow, PAGE_SIZE,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use time::Date;
use uuid::Uuid;

use super::view::NoticeViews;
use crate::audit::{AuditAction, AuditEntry};
use crate::local_time::{finnish_local, start_of_finnish_day};
use crate::secrets::{Column, DataKeys};
use crate::store::{Delivery, Notice, NoticeQuery, Timestamp};

/// Longer search text than this is cut: no case reference, title or name is longer.
const MAX_SEARCH_CHARS: usize = 200;
/// How many deliveries the "Needs attention" view lists at once.
const ATTENTION_LIMIT: i64 = 200;

/// `{microseconds since 1970}.{uuid}`: a row's place in the list's order.
fn cursor(at: Timestamp, id: Uuid) -> String {
    let micros = at.as_offset_date_time().unix_timestamp_nanos() / 1_000;
    format!("{micros}.{id}")
}

fn parse_cursor(text: &str) -> Option<(Timestamp, Uuid)> {
    let (micros, id) = text.split_once('.')?;
    let nanos = micros.parse::<i128>().ok()?.checked_mul(1_000)?;
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?;
    Some((Timestamp::from(at), Uuid::parse_str(id).ok()?))
}

/// The token that stands for an identity code in the list's URL.
pub fn identity_token(keys: &DataKeys, id: &RecipientId) -> String {
    URL_SAFE_NO_PAD.encode(keys.seal(Column::SearchToken, id.expose()))
}

fn open_identity_token(keys: &DataKeys, token: &str) -> Option<RecipientId> {
    let sealed = URL_SAFE_NO_PAD.decode(token).ok()?;
    let code = keys.open(Column::SearchToken, &sealed).ok()?;
    RecipientId::parse(&code).ok()
}

fn finnish_day(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format).ok()
}

/// The filter as the store takes it, or the fields that could not be read.
struct ReadFilter {
    query: NoticeQuery,
    searched: Option<RecipientId>,
    problems: Vec<FieldProblem>,
}

fn read_filter(keys: &DataKeys, actor: &Actor, filter: &NoticeFilter) -> ReadFilter {
    let mut problems = Vec::new();
    let mut query = NoticeQuery {
        organisation_id: actor.organisation_id,
        oldest_first: filter.oldest_first,
        limit: PAGE_SIZE as i64 + 1,
        ..NoticeQuery::default()
    };
    query.text = filter
        .q
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| text.chars().take(MAX_SEARCH_CHARS).collect());
    let searched = filter.who.as_deref().and_then(|token| {
        let id = open_identity_token(keys, token);
        if id.is_none() {
            problems.push(FieldProblem::new("q", Problem::SearchExpired));
        }
        id
    });
    if let Some(id) = &searched {
        query.lookups = keys.lookup_hashes(id.expose());
    }
    query.notice_type = filter
        .notice_type
        .as_deref()
        .and_then(NoticeType::parse)
        .map(|kind| kind.as_str().to_string());
    query.status = filter.status.as_deref().and_then(DeliveryStatus::parse);
    query.needs_attention = filter.attention;
    if let Some(from) = &filter.from {
        match finnish_day(from).and_then(start_of_finnish_day) {
            Some(start) => query.created_from = Some(start),
            None => problems.push(FieldProblem::new("from", Problem::DateInvalid)),
        }
    }
    if let Some(to) = &filter.to {
        match finnish_day(to)
            .and_then(|day| day.next_day())
            .and_then(start_of_finnish_day)
        {
            Some(end) => query.created_before = Some(end),
            None => problems.push(FieldProblem::new("to", Problem::DateInvalid)),
        }
    }
    query.after = filter.after.as_deref().and_then(parse_cursor);
    query.before = filter.before.as_deref().and_then(parse_cursor);
    if query.after.is_some() {
        query.before = None;
    }
    ReadFilter {
        query,
        searched,
        problems,
    }
}

/// One page of the list.
pub async fn find(
    views: &NoticeViews,
    actor: &Actor,
    filter: NoticeFilter,
) -> Result<NoticeListPage, AppError> {
    let ReadFilter {
        query,
        searched,
        problems,
    } = read_filter(&views.keys, actor, &filter);
    let who_masked = searched.as_ref().map(RecipientId::masked);
    if !problems.is_empty() {
        return Ok(NoticeListPage {
            rows: Vec::new(),
            next: None,
            previous: None,
            who_masked,
            problems,
        });
    }
    if searched.is_some() {
        // Looking a person up is recorded like a mailbox check: by the lookup hash only.
        let entry = AuditEntry::new(AuditAction::NoticesSearchedByIdentity)
            .by(actor)
            .details(
                json!({ "lookup_hashes": [crate::blobs::hex(&views.keys.lookup_hash(
                searched.as_ref().map(RecipientId::expose).unwrap_or_default()
            ))] }),
            );
        views
            .audit
            .record(entry)
            .await
            .map_err(AppError::internal)?;
    }
    let mut notices = views
        .store
        .search_notices(&query)
        .await
        .map_err(AppError::internal)?;
    let more = notices.len() > PAGE_SIZE;
    if more {
        // The extra row is the farthest from where the page starts.
        if query.before.is_some() {
            notices.remove(0);
        } else {
            notices.truncate(PAGE_SIZE);
        }
    }
    let first = notices.first().map(|n| cursor(n.created_at, n.id));
    let last = notices.last().map(|n| cursor(n.created_at, n.id));
    let (previous, next) = if query.before.is_some() {
        (first.filter(|_| more), last)
    } else if query.after.is_some() {
        (first, last.filter(|_| more))
    } else {
        (None, last.filter(|_| more))
    };
    let ids: Vec<Uuid> = notices.iter().map(|n| n.id).collect();
    let deliveries = views
        .store
        .deliveries_of(actor.organisation_id, &ids)
        .await
        .map_err(AppError::internal)?;
    let attention: HashSet<Uuid> = views
        .store
        .deliveries_needing_attention_among(actor.organisation_id, &ids)
        .await
        .map_err(AppError::internal)?
        .into_iter()
        .collect();
    let mut by_notice: HashMap<Uuid, Vec<RecipientRow>> = HashMap::new();
    for delivery in deliveries {
        by_notice
            .entry(delivery.notice_id)
            .or_default()
            .push(recipient_row(&attention, delivery));
    }
    let rows = notices
        .into_iter()
        .map(|notice| NoticeRow {
            id: notice.id,
            notice_type: notice.notice_type,
            case_reference: notice.case_reference,
            title: notice.title,
            created_at: notice.created_at.to_rfc3339(),
            created_local: finnish_local(notice.created_at),
            recipients: by_notice.remove(&notice.id).unwrap_or_default(),
        })
        .collect();
    Ok(NoticeListPage {
        rows,
        next,
        previous,
        who_masked,
        problems,
    })
}

fn recipient_row(attention: &HashSet<Uuid>, delivery: Delivery) -> RecipientRow {
    RecipientRow {
        delivery_id: delivery.id,
        needs_attention: attention.contains(&delivery.id),
        name: delivery.recipient_name,
        identity_masked: delivery.identity_masked,
        status: delivery.status,
        deemed_receipt: delivery.deemed_receipt,
        appeal_deadline: delivery.appeal_deadline,
    }
}

/// Why a delivery the store found needing a person does.
fn attention_kind(delivery: &Delivery) -> AttentionKind {
    match delivery.status {
        DeliveryStatus::NeedsAttention
            if delivery
                .needs_attention_reason
                .as_deref()
                .is_some_and(app::domain::lifecycle::is_no_active_mailbox) =>
        {
            AttentionKind::NoMailbox
        }
        DeliveryStatus::NeedsAttention => AttentionKind::Failed,
        DeliveryStatus::Returned | DeliveryStatus::Unresolved => AttentionKind::Undelivered,
        _ if delivery.unacknowledged_at.is_some() => AttentionKind::Unacknowledged,
        _ => AttentionKind::Forwarding,
    }
}

/// The deliveries that wait for a person, oldest first, with their notices' names.
pub async fn needs_attention(
    views: &NoticeViews,
    actor: &Actor,
) -> Result<Vec<AttentionItem>, AppError> {
    let deliveries = views
        .store
        .deliveries_needing_attention(actor.organisation_id, ATTENTION_LIMIT)
        .await
        .map_err(AppError::internal)?;
    let notice_ids: Vec<Uuid> = deliveries.iter().map(|d| d.notice_id).collect();
    let notices: HashMap<Uuid, Notice> = views
        .store
        .notices_by_ids(actor.organisation_id, &notice_ids)
        .await
        .map_err(AppError::internal)?
        .into_iter()
        .map(|notice| (notice.id, notice))
        .collect();
    let mut items = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        let Some(notice) = notices.get(&delivery.notice_id) else {
            continue;
        };
        let kind = attention_kind(&delivery);
        items.push(AttentionItem {
            notice_id: notice.id,
            delivery_id: delivery.id,
            case_reference: notice.case_reference.clone(),
            title: notice.title.clone(),
            kind,
            reason: (kind == AttentionKind::Failed)
                .then(|| delivery.needs_attention_reason.clone())
                .flatten(),
            recipient_name: delivery.recipient_name,
            identity_masked: delivery.identity_masked,
            status: delivery.status,
        });
    }
    Ok(items)
}

/// What the list's search form posts.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    who: Option<String>,
    #[serde(default, rename = "type")]
    notice_type: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    attention: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    sort: Option<String>,
}

/// The list's URL for a posted search: a whole identity code or business ID typed in becomes
/// a sealed token; anything else is searched as text.
pub fn search_url(keys: &DataKeys, form: SearchForm) -> String {
    let text = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let typed = text(form.q);
    let (q, who) = match typed.as_deref().map(|q| RecipientId::parse(q.trim())) {
        Some(Ok(id)) => (None, Some(identity_token(keys, &id))),
        _ => (typed, text(form.who)),
    };
    NoticeFilter {
        q,
        who,
        notice_type: text(form.notice_type),
        status: text(form.status),
        attention: text(form.attention).is_some(),
        from: text(form.from),
        to: text(form.to),
        oldest_first: form.sort.as_deref() == Some("oldest"),
        after: None,
        before: None,
    }
    .to_url()
}

/// `POST /search`: answers with the list's URL (303), so the code stays out of it.
pub async fn search(
    axum::extract::State(views): axum::extract::State<NoticeViews>,
    _actor: Actor,
    axum::Form(form): axum::Form<SearchForm>,
) -> axum::response::Redirect {
    axum::response::Redirect::to(&search_url(&views.keys, form))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written() {
        let at = Timestamp::now();
        let id = Uuid::now_v7();
        assert_eq!(parse_cursor(&cursor(at, id)), Some((at, id)));
        assert_eq!(parse_cursor("nonsense"), None);
        assert_eq!(parse_cursor("12.not-a-uuid"), None);
    }

    #[test]
    fn an_identity_code_searched_for_is_not_in_the_url() {
        let keys = DataKeys::generate();
        let url = search_url(
            &keys,
            SearchForm {
                q: Some(" 131052-308T ".into()),
                status: Some("read".into()),
                ..SearchForm::default()
            },
        );
        assert!(!url.contains("131052"), "{url}");
        assert!(url.contains("status=read"), "{url}");
        let token = url
            .split('&')
            .find_map(|pair| pair.split_once("who=").map(|(_, token)| token.to_string()))
            .expect("a token");
        let id = open_identity_token(&keys, &token).expect("opens");
        assert_eq!(id.expose(), "131052-308T");
        // Another key cannot open it.
        assert!(open_identity_token(&DataKeys::generate(), &token).is_none());
    }

    #[test]
    fn other_text_is_searched_as_text() {
        let url = search_url(
            &DataKeys::generate(),
            SearchForm {
                q: Some("Dnro 12/2026".into()),
                sort: Some("oldest".into()),
                ..SearchForm::default()
            },
        );
        assert_eq!(url, "/?q=Dnro%2012/2026&sort=oldest");
    }
}
