//! Single sign-on through the organisation's OpenID Connect provider: the authorisation-code
//! flow with PKCE, `state` and `nonce`; the ID token's signature, issuer, audience, expiry and
//! nonce checked by the `openidconnect` crate against the provider's discovered keys.
//!
//! `GET /auth/oidc/start` keeps the attempt (state hash, nonce, PKCE verifier) in the database
//! for ten minutes and binds it to the browser with a `SameSite=Lax` cookie (the session
//! cookie is `Strict`, which a browser does not send when the provider sends it back).
//! `GET /auth/oidc/callback` takes the attempt once — a replayed or unknown state is refused
//! before anything is asked of the provider — exchanges the code, checks the token, maps the
//! role claim and the organisation, and signs the user in: created on first sign-in, their role
//! following the claim at each one, refused when deactivated here.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use app::auth::Role;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AsyncHttpClient, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    HttpClientError, HttpRequest, HttpResponse, IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse,
    TokenResponse,
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tower_sessions::Session;

use crate::audit::{Audit, AuditAction, AuditEntry};
use crate::config::OidcConfig;
use crate::store::{NewUser, OidcAttempt, Store, StoreError, Timestamp, User};

/// Every claim of the ID token besides the standard ones, by name: the role and organisation
/// claims are named in the configuration.
#[derive(Debug, Clone, Default, serde::Serialize, Deserialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    claims: HashMap<String, serde_json::Value>,
}
impl AdditionalClaims for OtherClaims {}

type TokenFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<TokenFields, CoreTokenType>;
type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The crate's HTTP over our reqwest (its own `reqwest` feature would bring a second one).
/// Redirects are not followed: a provider answer that redirects is an error, not a hop.
#[derive(Clone)]
pub struct ProviderHttp(reqwest::Client);

impl<'c> AsyncHttpClient<'c> for ProviderHttp {
    type Error = HttpClientError<reqwest::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut outgoing = self.0.request(parts.method, parts.uri.to_string());
            for (name, value) in &parts.headers {
                outgoing = outgoing.header(name, value);
            }
            let response = outgoing.body(body).send().await.map_err(Box::new)?;
            let mut built = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                built = built.header(name, value);
            }
            let bytes = response.bytes().await.map_err(Box::new)?;
            built.body(bytes.to_vec()).map_err(HttpClientError::Http)
        })
    }
}

const ATTEMPT_COOKIE: &str = "tiedoksi_oidc";
const ATTEMPT_MINUTES: i64 = 10;
const DISCOVERY_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

#[derive(Clone)]
pub struct SingleSignOn {
    config: OidcConfig,
    store: Arc<dyn Store>,
    audit: Audit,
    http: ProviderHttp,
    redirect_url: String,
    secure_cookie: bool,
    /// Discovered on first use, again an hour later (the provider's keys rotate), and again
    /// after a token that did not pass (a key we have not seen).
    client: Arc<Mutex<Option<(OidcClient, std::time::Instant)>>>,
}

/// Why a sign-in through the provider did not go through; each has a page of its own.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("the sign-in link is unknown, used already or expired")]
    Stale,
    #[error("the provider refused or could not be reached: {0}")]
    Provider(String),
    #[error("the ID token did not pass the checks: {0}")]
    Token(String),
    #[error("the user has no Tiedoksi role in the provider")]
    NoRole,
    #[error("the user's organisation is not known here")]
    NoOrganisation,
    #[error("the account is deactivated")]
    Deactivated,
    #[error("the e-mail address belongs to an account the provider's user cannot be linked to")]
    EmailInUse,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SingleSignOn {
    pub fn new(config: OidcConfig, store: Arc<dyn Store>, audit: Audit, base_url: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        Self {
            config,
            store,
            audit,
            http: ProviderHttp(http),
            redirect_url: format!("{}/auth/oidc/callback", base_url.trim_end_matches('/')),
            secure_cookie: base_url.starts_with("https://"),
            client: Arc::new(Mutex::new(None)),
        }
    }

    pub fn provider_name(&self) -> &str {
        &self.config.provider_name
    }

    async fn client(&self) -> Result<OidcClient, Refusal> {
        let mut cached = self.client.lock().await;
        if let Some((client, fetched)) = cached.as_ref() {
            if fetched.elapsed() < DISCOVERY_LIFETIME {
                return Ok(client.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| Refusal::Provider(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| Refusal::Provider(format!("discovery: {e}")))?;
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.config
                .client_secret
                .as_ref()
                .map(|secret| ClientSecret::new(secret.expose_secret().to_string())),
        )
        .set_redirect_uri(
            RedirectUrl::new(self.redirect_url.clone())
                .map_err(|e| Refusal::Provider(e.to_string()))?,
        );
        *cached = Some((client.clone(), std::time::Instant::now()));
        Ok(client)
    }

    async fn forget_provider(&self) {
        *self.client.lock().await = None;
    }

    fn attempt_cookie(&self, value: &str, max_age: i64) -> String {
        format!(
            "{ATTEMPT_COOKIE}={value}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
            if self.secure_cookie { "; Secure" } else { "" }
        )
    }

    /// The organisation the user belongs to, by the configuration.
    async fn organisation(&self, claims: &OtherClaims) -> Result<uuid::Uuid, Refusal> {
        let wanted = match (&self.config.organisation_claim, &self.config.organisation) {
            (Some(claim), _) => claims
                .claims
                .get(claim)
                .and_then(|value| value.as_str())
                .map(str::to_string),
            (None, fixed) => fixed.clone(),
        }
        .ok_or(Refusal::NoOrganisation)?;
        let wanted = wanted.trim();
        if let Some(organisation) = self.store.organisation_by_business_id(wanted).await? {
            return Ok(organisation.id);
        }
        // By name only the operator's fixed choice, and only when the name is one
        // organisation's (names are not unique, and admins rename).
        if self.config.organisation_claim.is_some() {
            return Err(Refusal::NoOrganisation);
        }
        match self
            .store
            .organisations()
            .await?
            .into_iter()
            .filter(|organisation| organisation.name == wanted)
            .collect::<Vec<_>>()
            .as_slice()
        {
            [only] => Ok(only.id),
            _ => Err(Refusal::NoOrganisation),
        }
    }

    /// The most powerful known role among the claim's values.
    fn role(&self, claims: &OtherClaims) -> Option<Role> {
        let values: Vec<String> = match claims.claims.get(&self.config.role_claim) {
            Some(serde_json::Value::Array(values)) => values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(serde_json::Value::String(value)) => vec![value.clone()],
            _ => Vec::new(),
        };
        [
            ("tiedoksi-admin", Role::Admin),
            ("tiedoksi-caseworker", Role::Caseworker),
            ("tiedoksi-auditor", Role::Auditor),
        ]
        .into_iter()
        .find(|(name, _)| values.iter().any(|value| value == name))
        .map(|(_, role)| role)
    }

    /// The user signing in: known by subject, else the organisation's user with the e-mail
    /// (linked now), else created; the role follows the claim.
    async fn user(
        &self,
        subject: &str,
        email: &str,
        email_verified: bool,
        name: &str,
        organisation_id: uuid::Uuid,
        role: Role,
    ) -> Result<User, Refusal> {
        let found = match self.store.user_by_oidc_subject(subject).await? {
            Some(user) => Some(user),
            None => match self.store.user_by_email(email).await? {
                // Linked only on the provider's word that the address is theirs, and only an
                // account no one has signed in to through the provider before.
                Some(user) if user.organisation_id == organisation_id && email_verified => {
                    if !self.store.link_oidc_subject(user.id, subject).await? {
                        return Err(Refusal::EmailInUse);
                    }
                    Some(user)
                }
                Some(_) => return Err(Refusal::EmailInUse),
                None => None,
            },
        };
        let user = match found {
            Some(user) if user.organisation_id != organisation_id => {
                return Err(Refusal::NoOrganisation)
            }
            Some(user) => user,
            None => {
                let user = self
                    .store
                    .create_user(&NewUser {
                        organisation_id,
                        email: email.to_string(),
                        display_name: name.to_string(),
                        // Never a password: such a user signs in through the provider only.
                        password_hash: "!single-sign-on".into(),
                        role,
                    })
                    .await?;
                self.store.link_oidc_subject(user.id, subject).await?;
                let entry = AuditEntry::new(AuditAction::UserCreated)
                    .organisation(organisation_id)
                    .actor_label(format!("OIDC {}", self.config.issuer))
                    .subject("user", user.id)
                    .details(serde_json::json!({ "role": role.as_str(), "single_sign_on": true }));
                let _ = self.audit.record(entry).await;
                user
            }
        };
        if !user.active {
            return Err(Refusal::Deactivated);
        }
        if user.role != role {
            // The last active admin stays one (the store refuses), whatever the claim says.
            if self.store.set_role(organisation_id, user.id, role).await? {
                let entry = AuditEntry::new(AuditAction::UserRoleChanged)
                    .organisation(organisation_id)
                    .actor_label(format!("OIDC {}", self.config.issuer))
                    .subject("user", user.id)
                    .details(
                        serde_json::json!({ "from": user.role.as_str(), "to": role.as_str() }),
                    );
                let _ = self.audit.record(entry).await;
            }
        }
        Ok(self.store.user_by_id(user.id).await?.unwrap_or(user))
    }

    async fn complete(
        &self,
        callback: &Callback,
        binding: Option<&str>,
    ) -> Result<(User, String), Refusal> {
        let state = callback.state.as_deref().ok_or(Refusal::Stale)?;
        let attempt = self
            .store
            .take_oidc_attempt(&sha256_hex(state), Timestamp::now())
            .await?
            .ok_or(Refusal::Stale)?;
        // Started in another browser (a link someone was sent): not this one's sign-in.
        if binding.map(sha256_hex).as_deref() != Some(attempt.binding_sha256.as_str()) {
            return Err(Refusal::Stale);
        }
        if let Some(error) = &callback.error {
            return Err(Refusal::Provider(error.clone()));
        }
        let code = callback.code.clone().ok_or(Refusal::Stale)?;
        let client = self.client().await?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| Refusal::Provider(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(attempt.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| Refusal::Provider(format!("token: {e}")))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| Refusal::Token("no ID token".into()))?;
        let claims = match id_token.claims(
            &client.id_token_verifier(),
            &Nonce::new(attempt.nonce.clone()),
        ) {
            Ok(claims) => claims,
            Err(error) => {
                // Perhaps signed with a key published since: discover again next time.
                self.forget_provider().await;
                return Err(Refusal::Token(error.to_string()));
            }
        };
        let subject = format!("{} {}", self.config.issuer, claims.subject().as_str());
        let email = claims
            .email()
            .map(|e| e.as_str().trim().to_lowercase())
            .ok_or_else(|| Refusal::Token("no e-mail claim".into()))?;
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string())
            .unwrap_or_else(|| email.clone());
        let other = claims.additional_claims();
        let role = self.role(other).ok_or(Refusal::NoRole)?;
        let organisation_id = self.organisation(other).await?;
        let user = self
            .user(
                &subject,
                &email,
                claims.email_verified().unwrap_or(false),
                &name,
                organisation_id,
                role,
            )
            .await?;
        Ok((user, attempt.next_path))
    }
}

fn sha256_hex(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

#[derive(Debug, Deserialize)]
pub struct Start {
    #[serde(default)]
    next: Option<String>,
}

/// `GET /auth/oidc/start`: to the provider.
pub async fn start(State(sso): State<SingleSignOn>, Query(query): Query<Start>) -> Response {
    let client = match sso.client().await {
        Ok(client) => client,
        Err(refusal) => return refused(&refusal),
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let binding = CsrfToken::new_random();
    let now = Timestamp::now();
    let attempt = OidcAttempt {
        state_sha256: sha256_hex(state.secret()),
        binding_sha256: sha256_hex(binding.secret()),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        next_path: app::auth::safe_next(query.next.as_deref()),
        created_at: now,
        expires_at: now + time::Duration::minutes(ATTEMPT_MINUTES),
    };
    if let Err(error) = sso.store.create_oidc_attempt(&attempt).await {
        tracing::error!(%error, "could not keep a single sign-on attempt");
        return crate::auth::middleware::app_unavailable();
    }
    (
        [
            (
                SET_COOKIE,
                sso.attempt_cookie(binding.secret(), ATTEMPT_MINUTES * 60),
            ),
            (CACHE_CONTROL, "no-store".to_string()),
        ],
        Redirect::to(url.as_str()),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// `GET /auth/oidc/callback`: back from the provider.
pub async fn callback(
    State(sso): State<SingleSignOn>,
    session: Session,
    headers: HeaderMap,
    Query(callback): Query<Callback>,
) -> Response {
    let binding = cookie_value(&headers, ATTEMPT_COOKIE);
    let clear = sso.attempt_cookie("", 0);
    let (user, next) = match sso.complete(&callback, binding.as_deref()).await {
        Ok(signed_in) => signed_in,
        Err(refusal) => {
            tracing::warn!(%refusal, "a single sign-on was refused");
            // A stale or forged callback is anyone's to send: not worth an audit row each.
            if !matches!(refusal, Refusal::Stale) {
                let entry = AuditEntry::new(AuditAction::LoginFailed)
                    .actor_label(format!("OIDC {}", sso.config.issuer))
                    .details(serde_json::json!({ "single_sign_on": true, "reason": refusal.to_string() }));
                let _ = sso.audit.record(entry).await;
            }
            let mut response = refused(&refusal);
            if let Ok(value) = clear.parse() {
                response.headers_mut().append(SET_COOKIE, value);
            }
            return response;
        }
    };
    if let Err(error) = sign_in(&session, &user).await {
        tracing::error!(%error, "could not start a session after single sign-on");
        return crate::auth::middleware::app_unavailable();
    }
    let _ = sso
        .store
        .record_successful_login(user.id, Timestamp::now())
        .await;
    let entry = AuditEntry::new(AuditAction::LoginSucceeded)
        .organisation(user.organisation_id)
        .actor(user.id, user.email.clone())
        .subject("user", user.id)
        .details(serde_json::json!({ "single_sign_on": true }));
    let _ = sso.audit.record(entry).await;
    // A page, not a redirect: the browser came here from the provider's site, and a redirect
    // in that navigation would not carry the new `SameSite=Strict` session cookie.
    let target = crate::notices::preview::escape(&next);
    let page = format!(
        "<!doctype html><html lang=\"fi\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\
         <meta http-equiv=\"refresh\" content=\"0; url={target}\"><title>Tiedoksi</title></head>\
         <body><p><a href=\"{target}\">Jatka / Fortsätt / Continue</a></p></body></html>"
    );
    (
        [(SET_COOKIE, clear), (CACHE_CONTROL, "no-store".to_string())],
        Html(page),
    )
        .into_response()
}

async fn sign_in(session: &Session, user: &User) -> Result<(), tower_sessions::session::Error> {
    use app::auth::ssr::{SESSION_SIGNED_IN_AT, SESSION_USER_ID};
    session.cycle_id().await?;
    session.insert(SESSION_USER_ID, user.id).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    session.insert(SESSION_SIGNED_IN_AT, now).await
}

/// A clear page for each refusal, in the three languages, with the way back to sign-in.
fn refused(refusal: &Refusal) -> Response {
    let (status, fi, sv, en) = match refusal {
        Refusal::Stale => (
            StatusCode::BAD_REQUEST,
            "Kirjautuminen vanhentui tai se on jo käytetty. Aloita kirjautuminen alusta.",
            "Inloggningen har gått ut eller redan använts. Börja om.",
            "The sign-in expired or was used already. Start again.",
        ),
        Refusal::NoRole => (
            StatusCode::FORBIDDEN,
            "Sinulla ei ole Tiedoksi-käyttöoikeutta. Pyydä sitä organisaatiosi pääkäyttäjältä.",
            "Du har ingen behörighet till Tiedoksi. Be din organisations huvudanvändare om den.",
            "You have no Tiedoksi role. Ask your organisation's administrator for one.",
        ),
        Refusal::NoOrganisation => (
            StatusCode::FORBIDDEN,
            "Organisaatiotasi ei ole otettu Tiedoksissa käyttöön.",
            "Din organisation använder inte Tiedoksi.",
            "Your organisation does not use Tiedoksi.",
        ),
        Refusal::EmailInUse => (
            StatusCode::FORBIDDEN,
            "Sähköpostiosoitteesi on jo toisen Tiedoksi-käyttäjätunnuksen käytössä. Ota yhteyttä pääkäyttäjään.",
            "Din e-postadress används redan av ett annat konto i Tiedoksi. Kontakta huvudanvändaren.",
            "Your e-mail address is already another Tiedoksi account's. Contact your administrator.",
        ),
        Refusal::Deactivated => (
            StatusCode::FORBIDDEN,
            "Käyttäjätunnuksesi on poistettu käytöstä.",
            "Ditt konto har inaktiverats.",
            "Your account has been deactivated.",
        ),
        Refusal::Token(_) | Refusal::Provider(_) => (
            StatusCode::BAD_GATEWAY,
            "Kirjautumispalvelun vastausta ei voitu hyväksyä. Yritä uudelleen.",
            "Svaret från inloggningstjänsten kunde inte godkännas. Försök igen.",
            "The sign-in service's answer could not be accepted. Try again.",
        ),
        Refusal::Store(_) => return crate::auth::middleware::app_unavailable(),
    };
    let page = format!(
        "<!doctype html><html lang=\"fi\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Kirjautuminen ei onnistunut – Tiedoksi</title></head><body><main>\
         <h1>Kirjautuminen ei onnistunut</h1><p data-testid=\"sso-refused\">{fi}</p>\
         <p lang=\"sv\">{sv}</p><p lang=\"en\">{en}</p>\
         <p><a href=\"/login\">Kirjautumiseen / Till inloggningen / To sign-in</a></p>\
         </main></body></html>"
    );
    (status, [(CACHE_CONTROL, "no-store")], Html(page)).into_response()
}
