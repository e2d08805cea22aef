//! Fuzzing (bolero) of what reads hostile text: the identity-code and business-ID parsers, the
//! postal-address check, the text check and the Markdown preview, the letter renderer, and the
//! simulator's request validation.
//!
//! Each target takes raw bytes. Its corpus (`__fuzz__/<target>/corpus`, committed) holds
//! readable seeds written by hand and the inputs libFuzzer found to reach new code (named by
//! their SHA-1; `scripts/fuzz.sh`): every file there is replayed on each run, then random
//! inputs follow for `BOLERO_RANDOM_TEST_TIME_MS` (one second unless set; `make chaos` gives
//! each a minute, then a minute of libFuzzer).
//! A crash found is saved under `crashes/` beside the corpus; commit it with its fix.

use std::sync::LazyLock;

use app::domain::notice::PostalAddress;
use app::domain::text::{check_line, check_text};
use app::domain::{BusinessId, PersonalIdentityCode, RecipientId};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use tiedoksi::notices::preview::body_html;
use tiedoksi::pdf::{self, Letter, LetterHeader, LetterLanguage};
use tiedoksi::suomifi::limits::Limits;
use tiedoksi::suomifi::sim::{router, SimConfig};
use tower::ServiceExt;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Fields of one input, separated by line feeds: `a\nb` is `["a", "b"]`.
fn fields(bytes: &[u8], count: usize) -> Vec<String> {
    let text = text(bytes);
    let mut fields: Vec<String> = text.splitn(count, '\n').map(str::to_string).collect();
    fields.resize(count, String::new());
    fields
}

/// Every input of a target's corpus and crashes, each one. bolero replays them too, but within
/// the run's time (`BOLERO_RANDOM_TEST_TIME_MS`), which the slow targets' corpora outgrow.
/// Under libFuzzer the fuzzer reads the corpus itself.
fn replay_corpus(target: &str, check: &dyn Fn(&[u8])) {
    if cfg!(fuzzing) {
        return;
    }
    let work = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/__fuzz__")
        .join(target);
    let mut replayed = 0;
    for folder in ["corpus", "crashes"] {
        let Ok(entries) = std::fs::read_dir(work.join(folder)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a corpus entry").path();
            let input = std::fs::read(&path).expect("a corpus file");
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&input)));
            assert!(outcome.is_ok(), "{} fails (above)", path.display());
            replayed += 1;
        }
    }
    assert!(replayed > 0, "{target} has a corpus of its own");
}

#[test]
fn identity_codes() {
    let check = |bytes: &[u8]| {
        let input = text(bytes);
        if let Ok(code) = PersonalIdentityCode::parse(&input) {
            let exposed = code.expose().to_string();
            assert_eq!(PersonalIdentityCode::parse(&exposed), Ok(code.clone()));
            assert_eq!(exposed.len(), 11, "stored in its one form");
            assert!(
                !format!("{code} {code:?}").contains(&exposed[7..]),
                "shown only masked"
            );
            assert_eq!(
                RecipientId::parse(&input),
                Ok(RecipientId::Person(code.clone()))
            );
        }
        if let Ok(id) = BusinessId::parse(&input) {
            assert_eq!(BusinessId::parse(id.as_str()), Ok(id.clone()));
            assert_eq!(
                RecipientId::parse(&input),
                Ok(RecipientId::Organisation(id))
            );
        }
    };
    replay_corpus("identity_codes", &check);
    bolero::check!().for_each(check);
}

#[test]
fn postal_addresses() {
    let check = |bytes: &[u8]| {
        let [name, additional_name, street_address, zip_code, city, country_code]: [String; 6] =
            fields(bytes, 6).try_into().expect("six fields");
        let address = PostalAddress {
            name,
            additional_name: Some(additional_name),
            street_address,
            zip_code,
            city,
            country_code,
        };
        let Ok(normalised) = address.normalised() else {
            return;
        };
        assert_eq!(
            normalised.normalised(),
            Ok(normalised.clone()),
            "idempotent"
        );
        let lines = [
            &normalised.name,
            &normalised.street_address,
            &normalised.zip_code,
            &normalised.city,
        ];
        for line in lines.into_iter().chain(normalised.additional_name.as_ref()) {
            assert!(
                !line.is_empty() && line.trim() == line,
                "trimmed and present"
            );
            assert_eq!(check_line(line), Ok(()), "what passes is safe to print");
        }
        assert!(normalised.country_code.len() == 2);
    };
    replay_corpus("postal_addresses", &check);
    bolero::check!().for_each(check);
}

#[test]
fn notice_text_and_its_preview() {
    let check = |bytes: &[u8]| {
        let body = text(bytes);
        if check_line(&body).is_ok() {
            assert!(!body.contains('\n'), "a line is one line");
        }
        let _ = check_text(&body);
        for markdown in [true, false] {
            let html = body_html(&body, markdown).to_ascii_lowercase();
            for tag in [
                "<script",
                "<img",
                "<iframe",
                "<a href=\"javascript",
                "<style",
            ] {
                assert!(!html.contains(tag), "{tag} in the preview of {body:?}");
            }
            // Text keeps its quotes but never a bare `<`: every `<a ` is a real link.
            for link in html.split("<a ").skip(1) {
                assert!(
                    link.starts_with("href=\"https://"),
                    "only https links: {body:?}"
                );
            }
        }
    };
    replay_corpus("notice_text_and_its_preview", &check);
    bolero::check!().for_each(check);
}

#[test]
fn letters_render_or_refuse() {
    // Rendering is slow next to the others: shorter inputs, fewer of them.
    let check = |bytes: &[u8]| {
        let [flags, title, case_reference, body]: [String; 4] =
            fields(bytes, 4).try_into().expect("four fields");
        let letter = Letter {
            organisation_name: "Esimerkkilän kunta".into(),
            sender_lines: vec!["PL 1".into(), "00100 Helsinki".into()],
            language: LetterLanguage::parse(flags.get(..2).unwrap_or("fi")),
            date: time::macros::date!(2026 - 12 - 1),
            case_reference,
            title,
            body,
            markdown: flags.contains('m'),
            appeal_instructions: flags.contains('a').then(|| "Oikaisuvaatimus".into()),
            header: LetterHeader {
                is_decision: flags.contains('d'),
                ..LetterHeader::default()
            },
            logo: None,
        };
        if let Ok(rendered) = pdf::render(&letter, &[], &Limits::default()) {
            assert!(rendered.bytes.starts_with(b"%PDF-"));
            assert!(rendered.letter_pages >= 1);
        }
    };
    replay_corpus("letters_render_or_refuse", &check);
    bolero::check!().with_max_len(2048).for_each(check);
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
});

const MESSAGE_PATHS: [&str; 4] = [
    "/v2/messages/electronic",
    "/v2/messages",
    "/v2/paper-mail-without-id",
    "/v1/mailboxes/active",
];

fn a_valid_message() -> Value {
    json!({
        "externalId": "fuzz-1",
        "recipient": { "id": "010594Y9032" },
        "sender": { "serviceId": "sim-service" },
        "electronic": {
            "title": "T", "body": "B", "bodyFormat": "Text", "messageServiceType": "Normal",
            "replyAllowedBy": "Anyone", "attachments": [],
            "notifications": { "senderDetailsInNotifications": "None",
                               "unreadMessageNotification": { "reminder": "No reminders" } }
        },
        "paperMail": {
            "createAddressPage": true, "colorPrinting": false, "twoSidedPrinting": false,
            "messageServiceType": "Normal", "attachments": [],
            "recipient": { "address": { "name": "N", "streetAddress": "S 1", "zipCode": "00100",
                                        "city": "Helsinki", "countryCode": "FI" } },
            "sender": { "address": { "name": "O", "streetAddress": "PL 1", "zipCode": "00100",
                                     "city": "Helsinki", "countryCode": "FI" } }
        },
        "endpoints": ["010594Y9032"]
    })
}

/// Every place in `value` a fuzz input can replace, as a path of keys and indexes.
fn leaves(value: &Value, path: Vec<String>, into: &mut Vec<Vec<String>>) {
    into.push(path.clone());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let mut deeper = path.clone();
                deeper.push(key.clone());
                leaves(child, deeper, into);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let mut deeper = path.clone();
                deeper.push(index.to_string());
                leaves(child, deeper, into);
            }
        }
        _ => {}
    }
}

fn replace(value: &mut Value, path: &[String], with: Value) {
    let Some((last, parents)) = path.split_last() else {
        *value = with;
        return;
    };
    let mut place = value;
    for key in parents {
        place = match place {
            Value::Object(map) => map.get_mut(key).expect("a leaf's parent"),
            Value::Array(items) => &mut items[key.parse::<usize>().expect("an index")],
            _ => return,
        };
    }
    match place {
        Value::Object(map) if with.is_null() => {
            map.remove(last);
        }
        Value::Object(map) => {
            map.insert(last.clone(), with);
        }
        Value::Array(items) => items[last.parse::<usize>().expect("an index")] = with,
        _ => {}
    }
}

/// The input's first byte picks the endpoint and the place in a valid message, the rest is
/// the value put there (JSON when it parses, text otherwise, removed when empty) — or, when
/// the first byte is 0xFF, the whole request body as it is.
fn request_of(bytes: &[u8]) -> (&'static str, Vec<u8>) {
    let Some((&pick, rest)) = bytes.split_first() else {
        return (MESSAGE_PATHS[0], Vec::new());
    };
    let path = MESSAGE_PATHS[usize::from(pick) % MESSAGE_PATHS.len()];
    if pick == 0xFF {
        return (path, rest.to_vec());
    }
    let mut message = a_valid_message();
    let mut places = Vec::new();
    leaves(&message, Vec::new(), &mut places);
    let place = &places[usize::from(pick) % places.len()];
    let value = match std::str::from_utf8(rest) {
        Ok("") => Value::Null,
        Ok(text) => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into())),
        Err(_) => Value::String(text(rest)),
    };
    replace(&mut message, place, value);
    (path, serde_json::to_vec(&message).expect("JSON"))
}

#[test]
fn simulator_requests_are_answered_never_failed() {
    // The router is only cloned, never shared mutably, across a panic.
    let simulator = std::panic::AssertUnwindSafe(router(SimConfig::default()));
    let token = RUNTIME.block_on(async {
        let response = simulator
            .0
            .clone()
            .oneshot(
                Request::post("/v1/token")
                    .header("content-type", "application/json")
                    .body(Body::from(
                        json!({ "username": "sim-user", "password": "sim-password" }).to_string(),
                    ))
                    .expect("a request"),
            )
            .await
            .expect("an answer");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("a body");
        serde_json::from_slice::<Value>(&body).expect("JSON")["access_token"]
            .as_str()
            .expect("a token")
            .to_string()
    });
    let check = |bytes: &[u8]| {
        let (path, body) = request_of(bytes);
        let request = Request::post(path)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body))
            .expect("a request");
        let status = RUNTIME
            .block_on(axum::Router::clone(&simulator).oneshot(request))
            .expect("an answer")
            .status();
        assert!(
            status.is_success() || status.is_client_error() || status == StatusCode::CONFLICT,
            "{path}: {status} for {:?}",
            String::from_utf8_lossy(bytes)
        );
    };
    replay_corpus("simulator_requests_are_answered_never_failed", &check);
    bolero::check!().for_each(check);
}
