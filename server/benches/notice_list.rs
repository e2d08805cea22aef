//! The notice list at a million: 1 000 000 notices with 1 200 000 deliveries in one
//! organisation, then the server time of what the list page asks the store for — the page of
//! notices, their deliveries and which need attention — for the first page, a page deep in the
//! list, a search by a whole identity code (its lookup hash), by case reference and by status,
//! on SQLite and PostgreSQL. p50 / p95 / p99 per query.
//!
//! The load is set-based SQL (a generated series), not the UI or one call per notice: it writes
//! rows of the shape the store writes, so that loading takes seconds instead of hours. The
//! queries go through the store, as the page's do. `TIEDOKSI_LIST_NOTICES` sets the size.

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::auth::Role;
use app::domain::lifecycle::DeliveryStatus;
use tiedoksi::store::{NewUser, NoticeQuery, Store, Timestamp};
use uuid::Uuid;

const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const POSTGRES_BENCH: &str = "postgres://postgres@127.0.0.1:5432/tiedoksi_bench_list";
/// The list page's size plus the one row that says there is a next page.
const PAGE: i64 = 26;
const SAMPLES: usize = 200;
/// Distinct people among the deliveries: each has about three notices.
const PEOPLE: i64 = 400_000;

fn notices() -> i64 {
    std::env::var("TIEDOKSI_LIST_NOTICES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

/// The lookup hash the load gives person `n` (32 bytes, as the keyed hash is).
fn lookup_of(person: i64) -> Vec<u8> {
    let mut bytes = vec![0u8; 24];
    bytes.extend_from_slice(&(person as u64).to_be_bytes());
    bytes
}

/// Loads `count` notices: every fifth has a second delivery; one in a thousand needs
/// attention, one in a hundred is still queued, the rest are read.
async fn load(url: &str, organisation: Uuid, author: Uuid, count: i64) {
    let statements: Vec<String> = if url.starts_with("sqlite") {
        let series =
            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < $3 - 1)";
        let at = "strftime('%Y-%m-%dT%H:%M:%S', 1735689600 + i, 'unixepoch') || '.000000Z'";
        vec![
            format!(
                "{series} INSERT INTO notices (id, organisation_id, author_id, notice_type, \
                 case_reference, title, body, body_format, language, verifiable, appeal_days, \
                 service_id, idempotency_key, created_at) \
                 SELECT unhex(printf('%032x', i)), $1, $2, \
                 CASE i % 10 WHEN 0 THEN 'summons' ELSE 'decision' END, \
                 'DNRO ' || i || '/2026', 'Päätös ' || i, 'B', 'Text', 'fi', 0, 30, \
                 'sim-service', 'load-' || i, {at} FROM s"
            ),
            format!(
                "{series} INSERT INTO deliveries (id, organisation_id, notice_id, position, role, \
                 recipient_name, identity_kind, identity_lookup, identity_masked, facts, \
                 requested_mode, decided_mode, channel_reasons, paper_addressee, status, \
                 created_at, updated_at) \
                 SELECT unhex(printf('%032x', i + 4294967296 * (1 + copy))), $1, \
                 unhex(printf('%032x', i)), copy, 'party', 'Vastaanottaja ' || i, 'person', \
                 unhex(printf('%064x', (i + copy * 7) % {PEOPLE})), '010101-****', '{{}}', \
                 'multichannel', 'multichannel', '[]', 'recipient', \
                 CASE WHEN i % 1000 = 7 THEN 'needs_attention' WHEN i % 100 = 3 THEN 'queued' \
                      ELSE 'read' END, {at}, {at} \
                 FROM s CROSS JOIN (SELECT 0 AS copy UNION ALL SELECT 1) \
                 WHERE copy = 0 OR i % 5 = 0 AND $2 = $2"
            ),
            "INSERT INTO notice_search (notice_id, search_text) \
             SELECT n.id, LOWER(n.case_reference || char(10) || n.title || char(10) || \
             (SELECT group_concat(d.recipient_name, char(10)) FROM deliveries d \
              WHERE d.notice_id = n.id)) FROM notices n"
                .to_string(),
            "ANALYZE".to_string(),
        ]
    } else {
        let at = "to_timestamp(1735689600 + i)";
        vec![
            format!(
                "INSERT INTO notices (id, organisation_id, author_id, notice_type, \
                 case_reference, title, body, body_format, language, verifiable, appeal_days, \
                 service_id, idempotency_key, created_at) \
                 SELECT lpad(to_hex(i), 32, '0')::uuid, $1, $2, \
                 CASE i % 10 WHEN 0 THEN 'summons' ELSE 'decision' END, \
                 'DNRO ' || i || '/2026', 'Päätös ' || i, 'B', 'Text', 'fi', FALSE, 30, \
                 'sim-service', 'load-' || i, {at} FROM generate_series(0, $3 - 1) i"
            ),
            format!(
                "INSERT INTO deliveries (id, organisation_id, notice_id, position, role, \
                 recipient_name, identity_kind, identity_lookup, identity_masked, facts, \
                 requested_mode, decided_mode, channel_reasons, paper_addressee, status, \
                 created_at, updated_at) \
                 SELECT lpad(to_hex(i + 4294967296 * (1 + copy)), 32, '0')::uuid, $1, \
                 lpad(to_hex(i), 32, '0')::uuid, copy, 'party', 'Vastaanottaja ' || i, 'person', \
                 decode(lpad(to_hex((i + copy * 7) % {PEOPLE}), 64, '0'), 'hex'), \
                 '010101-****', '{{}}', 'multichannel', 'multichannel', '[]', 'recipient', \
                 CASE WHEN i % 1000 = 7 THEN 'needs_attention' WHEN i % 100 = 3 THEN 'queued' \
                      ELSE 'read' END, {at}, {at} \
                 FROM generate_series(0, $3 - 1) i CROSS JOIN (VALUES (0), (1)) c(copy) \
                 WHERE (copy = 0 OR i % 5 = 0) AND $2 = $2"
            ),
            "INSERT INTO notice_search (notice_id, search_text) \
             SELECT n.id, LOWER(n.case_reference || E'\\n' || n.title || E'\\n' || \
             (SELECT string_agg(d.recipient_name, E'\\n' ORDER BY d.position) FROM deliveries d \
              WHERE d.notice_id = n.id)) FROM notices n"
                .to_string(),
            "ANALYZE".to_string(),
        ]
    };
    // Bound as the store binds them (a UUID is a 16-byte blob in SQLite, a uuid in PostgreSQL).
    macro_rules! run {
        ($pool:expr) => {{
            let pool = $pool;
            for statement in &statements {
                let mut query = sqlx::query(statement);
                if statement.contains("$1") {
                    query = query.bind(organisation).bind(author).bind(count);
                }
                query.execute(&pool).await.unwrap();
            }
            pool.close().await;
        }};
    }
    if url.starts_with("sqlite") {
        run!(sqlx::SqlitePool::connect(url).await.unwrap());
    } else {
        run!(sqlx::PgPool::connect(url).await.unwrap());
    }
}

/// The store calls one list page makes.
async fn page(store: &Arc<dyn Store>, query: &NoticeQuery) -> usize {
    let notices = store.search_notices(query).await.unwrap();
    let ids: Vec<Uuid> = notices.iter().map(|notice| notice.id).collect();
    store
        .deliveries_of(query.organisation_id, &ids)
        .await
        .unwrap();
    store
        .deliveries_needing_attention_among(query.organisation_id, &ids)
        .await
        .unwrap();
    notices.len()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

async fn measure(
    store: &Arc<dyn Store>,
    database: &str,
    name: &str,
    queries: &[NoticeQuery],
) -> (f64, f64, f64) {
    let mut times = Vec::with_capacity(SAMPLES);
    let measuring = Instant::now();
    // A slow query gets fewer samples (at least 20): the bench must end.
    for n in 0..SAMPLES {
        if n >= 20 && measuring.elapsed() > Duration::from_secs(20) {
            break;
        }
        let query = &queries[n % queries.len()];
        let started = Instant::now();
        let rows = page(store, query).await;
        times.push(started.elapsed());
        assert!(rows > 0, "{name} found nothing");
    }
    times.sort();
    let figures = (
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
    );
    println!("list_{database}_{name}_samples {} pages", times.len());
    println!("list_{database}_{name}_p50 {:.1} ms", figures.0);
    println!("list_{database}_{name}_p95 {:.1} ms", figures.1);
    println!("list_{database}_{name}_p99 {:.1} ms", figures.2);
    figures
}

async fn fresh_postgres_database() {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(POSTGRES_ADMIN).await.unwrap();
    for statement in [
        "DROP DATABASE IF EXISTS tiedoksi_bench_list WITH (FORCE)",
        "CREATE DATABASE tiedoksi_bench_list",
    ] {
        sqlx::query(statement).execute(&mut admin).await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    let count = notices();
    println!(
        "the notice list at {count} notices, {} deliveries; {SAMPLES} pages per query",
        count + count / 5
    );
    let mut table = Vec::new();
    for database in ["sqlite", "postgres"] {
        let directory = tempfile::tempdir().unwrap();
        let url = if database == "sqlite" {
            format!("sqlite://{}", directory.path().join("list.db").display())
        } else {
            fresh_postgres_database().await;
            POSTGRES_BENCH.to_string()
        };
        let store = tiedoksi::store::connect(&url).await.unwrap();
        let organisation = store.create_organisation("Miljoonala").await.unwrap();
        let author = store
            .create_user(&NewUser {
                organisation_id: organisation.id,
                email: "kasittelija@miljoonala.fi".into(),
                display_name: "Käsittelijä".into(),
                password_hash: "-".into(),
                role: Role::Caseworker,
            })
            .await
            .unwrap();
        let started = Instant::now();
        load(&url, organisation.id, author.id, count).await;
        println!(
            "list_{database}_load {:.1} s",
            started.elapsed().as_secs_f64()
        );

        let base = NoticeQuery {
            organisation_id: organisation.id,
            limit: PAGE,
            ..NoticeQuery::default()
        };
        let at = |n: i64| {
            Timestamp::from(time::OffsetDateTime::from_unix_timestamp(1_735_689_600 + n).unwrap())
        };
        let deep: Vec<NoticeQuery> = (0..20)
            .map(|k| NoticeQuery {
                after: Some((
                    at(count / 10 + k * 997),
                    Uuid::from_u128((count / 10 + k) as u128),
                )),
                ..base.clone()
            })
            .collect();
        let people: Vec<NoticeQuery> = (0..50)
            .map(|k| NoticeQuery {
                lookups: vec![lookup_of(k * 7919 % PEOPLE)],
                ..base.clone()
            })
            .collect();
        let references: Vec<NoticeQuery> = (0..20)
            .map(|k| NoticeQuery {
                text: Some(format!("DNRO {}/2026", count - 1 - k * 37)),
                ..base.clone()
            })
            .collect();
        // Every notice's title holds it: the list's own index finds a page of them at once.
        let broad_text = vec![NoticeQuery {
            text: Some("päätös".into()),
            ..base.clone()
        }];
        let statuses: Vec<NoticeQuery> = [DeliveryStatus::NeedsAttention, DeliveryStatus::Queued]
            .into_iter()
            .map(|status| NoticeQuery {
                status: Some(status),
                ..base.clone()
            })
            .collect();
        let mut row = vec![database.to_string()];
        for (name, queries) in [
            ("first_page", vec![base.clone()]),
            ("deep_page", deep),
            ("identity_code", people),
            ("case_reference", references),
            ("common_word", broad_text),
            ("status", statuses),
        ] {
            let (p50, p95, p99) = measure(&store, database, name, &queries).await;
            row.push(format!("{p50:.1} / {p95:.1} / {p99:.1} ms"));
        }
        table.push(row);
        store.close().await;
    }
    println!();
    println!("p50 / p95 / p99 of the page's store calls:");
    println!(
        "| database | first page | deep page | identity code | case reference | common word | status |"
    );
    println!("|---|---|---|---|---|---|---|");
    for row in table {
        println!("| {} |", row.join(" | "));
    }
}
