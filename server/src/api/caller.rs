//! Who calls `/api/v1`: the live API key in `Authorization: Bearer`, as an actor of its
//! organisation (its account authors, its name is what the audit log says). Sessions do not
//! count here, so the pages' cross-site checks do not apply either.

use std::sync::Arc;

use app::auth::{Actor, Principal};
use axum::http::{header, HeaderMap};

use super::problem::Problem;
use crate::store::{ApiKeyRow, Store};

pub struct ApiCaller {
    pub key: ApiKeyRow,
    pub actor: Actor,
    /// The language of `Accept-Language` (fi, sv, en; else Finnish) for the problems' words.
    pub locale: app::i18n::Locale,
}

impl axum::extract::FromRequestParts<super::ApiState> for ApiCaller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &super::ApiState,
    ) -> Result<Self, Problem> {
        let client_ip = parts
            .extensions
            .get::<app::auth::ssr::ClientIp>()
            .map(|ip| ip.0.clone())
            .unwrap_or_default();
        Self::from_headers(&state.store, &state.pace, &parts.headers, client_ip).await
    }
}

/// Each key's pace: a burst of a minute's worth, then evenly.
pub struct ApiRateLimit {
    limiter: governor::DefaultKeyedRateLimiter<uuid::Uuid>,
}

impl ApiRateLimit {
    pub fn per_minute(per_minute: u32) -> Arc<Self> {
        let quota = governor::Quota::per_minute(
            std::num::NonZeroU32::new(per_minute.max(1)).expect("at least one"),
        );
        Arc::new(Self {
            limiter: governor::RateLimiter::keyed(quota),
        })
    }

    /// `Err` with the seconds to wait when the key is over its pace.
    fn check(&self, key: uuid::Uuid) -> Result<(), u64> {
        use governor::clock::{Clock, DefaultClock};
        self.limiter.check_key(&key).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }
}

impl ApiCaller {
    pub async fn from_headers(
        store: &Arc<dyn Store>,
        pace: &ApiRateLimit,
        headers: &HeaderMap,
        client_ip: String,
    ) -> Result<Self, Problem> {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(Problem::unauthorized)?;
        let key = match super::keys::authenticate(store, presented).await {
            Ok(Some(key)) => key,
            Ok(None) => return Err(Problem::unauthorized()),
            Err(error) => {
                tracing::error!(%error, "could not check an API key");
                return Err(Problem::unavailable());
            }
        };
        if let Err(seconds) = pace.check(key.id) {
            return Err(Problem::too_many_requests(seconds));
        }
        let organisation = match store.organisation(key.organisation_id).await {
            Ok(Some(organisation)) => organisation,
            Ok(None) => return Err(Problem::unauthorized()),
            Err(error) => {
                tracing::error!(%error, "could not read an API key's organisation");
                return Err(Problem::unavailable());
            }
        };
        let actor = Actor {
            organisation_id: organisation.id,
            organisation_name: organisation.name,
            principal: Principal::ApiKey {
                key_id: key.id,
                account_id: key.account_id,
                label: format!("API: {}", key.name),
            },
            client_ip,
        };
        Ok(Self {
            key,
            actor,
            locale: crate::language::request_locale(headers),
        })
    }
}
