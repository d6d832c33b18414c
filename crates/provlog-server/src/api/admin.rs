//! Admin routes (`/v1/admin/…`): the one-time bootstrap, sources (keys, schema, policy), API
//! keys (create, list, rotate, revoke) and the audit trail. Every route needs an API key with
//! scope `admin`, except the bootstrap, which takes the bootstrap token once. Every change is
//! written to the audit trail in the same transaction.

use axum::body::{to_bytes, Body};
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_core::record::{self, KeyId, Limits, SourceId, Timestamp};
use provlog_store::{ApiKeyRow, AuditEvent, Change, SourceRow, SourceSettings};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{State, Q};
use crate::auth::{self, Principal, Scope};
use crate::error::{AdminErrors, BootstrapErrors, Problem, PROBLEM_JSON};
use crate::policy::compile_schema;
use crate::{now_ms, ApiError, AppState};

fn time(ms: i64) -> String {
    Timestamp::from_unix_millis(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Largest admin request body (a source's schema is the big part).
const MAX_ADMIN_BODY: usize = 1 << 20;

async fn admin(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    auth::require(state, headers, Scope::Admin).await
}

/// Parses a JSON body strictly (unknown members refused).
async fn read_body(body: Body) -> Result<axum::body::Bytes, ApiError> {
    to_bytes(body, MAX_ADMIN_BODY)
        .await
        .map_err(|_| ApiError::BodyTooLarge {
            limit: MAX_ADMIN_BODY,
        })
}

fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value = record::parse_json(bytes, &Limits::default())
        .map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    // serde would read a struct of optional members from `[]` too.
    if !value.is_object() {
        return Err(ApiError::BadRequest("body: expected a JSON object".into()));
    }
    serde_json::from_value(value).map_err(|e| ApiError::BadRequest(format!("body: {e}")))
}

/// A JSON body: `Content-Type: application/json` (UTF-8), then [`parse_body`].
async fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, ApiError> {
    require_json(headers)?;
    parse_body(&read_body(body).await?)
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    super::require_media_type(headers, "application/json", "this admin route")
}

fn audited(action: &'static str) {
    metrics::counter!("provlog_audit_events_total", "action" => action).increment(1);
}

// ---- views ----

/// An API key, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyView {
    /// The key's public id (the token's `plk_<id>_` part).
    #[schema(example = "3f9a0c11b2d4")]
    id: String,
    #[schema(value_type = KeyScope)]
    scope: String,
    /// The source an `ingest` key writes for.
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    label: String,
    #[schema(format = DateTime)]
    created_at: String,
    /// When a rotated-away key stops working.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    revoked_at: Option<String>,
    /// The key this one replaced by rotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<String>,
    /// `active`, `expiring` (rotated away, still in its overlap), `expired` or `revoked`.
    #[schema(example = "active")]
    status: &'static str,
}

impl From<&ApiKeyRow> for KeyView {
    fn from(k: &ApiKeyRow) -> Self {
        let now = now_ms();
        let status = match (k.revoked_ms, k.expires_ms) {
            (Some(_), _) => "revoked",
            (None, Some(e)) if e <= now => "expired",
            (None, Some(_)) => "expiring",
            (None, None) => "active",
        };
        KeyView {
            id: k.id.clone(),
            scope: k.scope.clone(),
            source: k.source.clone(),
            label: k.label.clone(),
            created_at: time(k.created_ms),
            expires_at: k.expires_ms.map(time),
            revoked_at: k.revoked_ms.map(time),
            replaces: k.replaces.clone(),
            status,
        }
    }
}

/// A new API key and its token: the token is shown only here, once; the server keeps only a
/// keyed hash of it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IssuedKey {
    key: KeyView,
    /// `plk_<id>_<secret>`: send as `Authorization: Bearer <token>`.
    token: String,
}

/// An API key's scope.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
#[expect(
    dead_code,
    reason = "describes the scope strings for the OpenAPI document only"
)]
pub(crate) enum KeyScope {
    /// Writes records for one source.
    Ingest,
    /// Reads when reads are not public.
    Read,
    /// Manages sources and keys; reads the audit trail.
    Admin,
}

/// A source's Ed25519 public key.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SourceKeyView {
    key_id: String,
    /// Base64 of 32 bytes.
    #[schema(format = Byte)]
    public_key: String,
    #[schema(format = DateTime)]
    created_at: String,
    /// A retired key verifies no new submission.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    revoked_at: Option<String>,
}

/// A registered source.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SourceView {
    id: String,
    display_name: String,
    /// JSON Schema of signal payloads and JSON snapshot items.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    schema: Option<Value>,
    #[schema(value_type = SchemaPolicy)]
    schema_policy: String,
    /// Submissions must be signed by one of `keys`.
    require_signature: bool,
    keys: Vec<SourceKeyView>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl From<&SourceRow> for SourceView {
    fn from(s: &SourceRow) -> Self {
        SourceView {
            id: s.id.clone(),
            display_name: s.display_name.clone(),
            schema: s
                .schema
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok()),
            schema_policy: s.schema_policy.clone(),
            require_signature: s.require_signature,
            keys: s
                .keys
                .iter()
                .map(|k| SourceKeyView {
                    key_id: k.key_id.clone(),
                    public_key: BASE64_STANDARD.encode(k.public_key),
                    created_at: time(k.created_ms),
                    revoked_at: k.revoked_ms.map(time),
                })
                .collect(),
            created_at: time(s.created_ms),
            updated_at: time(s.updated_ms),
        }
    }
}

/// What a payload or item failing the source's schema gets.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SchemaPolicy {
    /// Refused: 400 `schema-violation` with the errors.
    Reject,
    /// Stored, with the failed check in the record's `quality` (and so in its receipt).
    Flag,
}

impl SchemaPolicy {
    fn as_str(self) -> &'static str {
        match self {
            SchemaPolicy::Reject => "reject",
            SchemaPolicy::Flag => "flag",
        }
    }
}

// ---- bootstrap ----

/// Creates the first admin key with the bootstrap token (`PROVLOG_ADMIN_TOKEN`). Works once:
/// when an admin key exists it answers 409, and the bootstrap token is refused everywhere.
#[utoipa::path(
    post,
    path = "/v1/admin/bootstrap",
    tag = "admin",
    security(("bearer" = ["bootstrap"])),
    responses(
        (status = 201, description = "The first admin key; its token is shown only here", body = IssuedKey),
        (status = 409, description = "An admin key already exists (`conflict`)", body = Problem, content_type = PROBLEM_JSON),
        BootstrapErrors,
    )
)]
pub(crate) async fn bootstrap(state: State, headers: HeaderMap) -> Result<Response, ApiError> {
    let state = state.0;
    auth::check_bootstrap_token(&state, &headers)?;
    let (new, issued) = state
        .trust
        .issue(Scope::Admin, None, "bootstrap admin".into());
    match state.store.bootstrap_admin_key(&new).await? {
        Change::Done(()) => {}
        Change::Conflict(m) => {
            state.trust.mark_bootstrapped();
            return Err(ApiError::Conflict(m));
        }
        Change::NotFound => return Err(ApiError::Internal("bootstrap found nothing".into())),
    }
    state.trust.mark_bootstrapped();
    audited("key.created");
    tracing::info!(key = %issued.id, "bootstrap admin key created");
    issued_response(&state, &issued.id, issued.token.expose()).await
}

async fn issued_response(state: &AppState, id: &str, token: &str) -> Result<Response, ApiError> {
    let row = state
        .store
        .api_key(id)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("key {id} vanished")))?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedKey {
            key: KeyView::from(&row),
            token: token.to_string(),
        }),
    )
        .into_response())
}

// ---- sources ----

fn some<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A source to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSource {
    #[schema(value_type = String, pattern = "^[a-z0-9][a-z0-9._-]{0,63}$", example = "acme-signals")]
    id: SourceId,
    #[schema(example = "ACME trading signals")]
    display_name: String,
    /// JSON Schema (any draft the `jsonschema` crate knows; no remote `$ref`) of signal
    /// payloads and JSON snapshot items.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    schema: Option<Value>,
    /// Default `reject`.
    #[serde(default)]
    schema_policy: Option<SchemaPolicy>,
    /// Default false.
    #[serde(default)]
    require_signature: bool,
}

/// Changes to a source; absent members stay as they are, `"schema": null` removes the schema.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SourceChange {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<Object>)]
    schema: Option<Value>,
    #[serde(default)]
    schema_policy: Option<SchemaPolicy>,
    #[serde(default)]
    require_signature: Option<bool>,
}

fn check_display_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "display_name must be 1 to 200 bytes without control characters".into(),
        ));
    }
    Ok(())
}

/// The schema as stored (JSON text), after checking it compiles.
fn schema_text(schema: &Option<Value>) -> Result<Option<String>, ApiError> {
    match schema {
        None | Some(Value::Null) => Ok(None),
        // The documented type: a boolean schema (`true`, `false`) is JSON Schema too, but the
        // API describes and returns schemas as objects.
        Some(s) if !s.is_object() => Err(ApiError::BadRequest(
            "schema: a JSON Schema object, or null to remove it".into(),
        )),
        Some(s) => {
            compile_schema(s).map_err(|e| ApiError::BadRequest(format!("schema: {e}")))?;
            Ok(Some(s.to_string()))
        }
    }
}

fn settings_detail(s: &SourceSettings) -> String {
    serde_json::json!({
        "display_name": s.display_name,
        "schema": s.schema.is_some(),
        "schema_policy": s.schema_policy,
        "require_signature": s.require_signature,
    })
    .to_string()
}

async fn source_view(state: &AppState, id: &str) -> Result<SourceView, ApiError> {
    let row = state
        .store
        .source(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no source {id:?}")))?;
    Ok(SourceView::from(&row))
}

/// Registers a source.
#[utoipa::path(
    post,
    path = "/v1/admin/sources",
    tag = "admin",
    security(("bearer" = ["admin"])),
    request_body(content = NewSource, content_type = "application/json",
        example = json!({"id": "acme-signals", "display_name": "ACME signals", "schema_policy": "flag",
            "schema": {"type": "object", "required": ["token"]}})),
    responses(
        (status = 201, description = "Registered", body = SourceView),
        (status = 400, description = "A malformed body or schema (`bad-request`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "A body that is not `application/json` (`unsupported-media-type`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "The id is taken (`conflict`)", body = Problem, content_type = PROBLEM_JSON),
        AdminErrors,
    )
)]
pub(crate) async fn create_source(
    state: State,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let state = state.0;
    let p = admin(&state, &headers).await?;
    let new: NewSource = json_body(&headers, body).await?;
    check_display_name(&new.display_name)?;
    let settings = SourceSettings {
        display_name: new.display_name,
        schema: schema_text(&new.schema)?,
        schema_policy: new
            .schema_policy
            .unwrap_or(SchemaPolicy::Reject)
            .as_str()
            .into(),
        require_signature: new.require_signature,
    };
    let id = new.id.as_str();
    match state
        .store
        .create_source(id, &settings, &p.key_id, &settings_detail(&settings))
        .await?
    {
        Change::Done(()) => {}
        Change::Conflict(m) => return Err(ApiError::Conflict(m)),
        Change::NotFound => return Err(ApiError::Internal("create found nothing".into())),
    }
    audited("source.created");
    state.trust.sources.forget(id);
    Ok((StatusCode::CREATED, Json(source_view(&state, id).await?)).into_response())
}

/// Every registered source.
#[utoipa::path(
    get,
    path = "/v1/admin/sources",
    tag = "admin",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The sources, by id", body = Vec<SourceView>),
        AdminErrors,
    )
)]
pub(crate) async fn sources(
    state: State,
    headers: HeaderMap,
) -> Result<Json<Vec<SourceView>>, ApiError> {
    admin(&state.0, &headers).await?;
    let rows = state.0.store.sources().await?;
    Ok(Json(rows.iter().map(SourceView::from).collect()))
}

/// One source.
#[utoipa::path(
    get,
    path = "/v1/admin/sources/{id}",
    tag = "admin",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "The source id")),
    responses(
        (status = 200, description = "The source", body = SourceView),
        (status = 404, description = "No such source (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        AdminErrors,
    )
)]
pub(crate) async fn source(
    state: State,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<SourceView>, ApiError> {
    admin(&state.0, &headers).await?;
    Ok(Json(source_view(&state.0, &id).await?))
}

/// Changes a source's name, schema, schema policy or signing requirement.
#[utoipa::path(
    patch,
    path = "/v1/admin/sources/{id}",
    tag = "admin",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "The source id")),
    request_body(content = SourceChange, content_type = "application/json",
        example = json!({"require_signature": true})),
    responses(
        (status = 200, description = "The changed source", body = SourceView),
        (status = 400, description = "A malformed body or schema (`bad-request`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "A body that is not `application/json` (`unsupported-media-type`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such source (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        AdminErrors,
    )
)]
pub(crate) async fn change_source(
    state: State,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<SourceView>, ApiError> {
    let state = state.0;
    let p = admin(&state, &headers).await?;
    let change: SourceChange = json_body(&headers, body).await?;
    let current = state
        .store
        .source(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no source {id:?}")))?;
    if let Some(name) = &change.display_name {
        check_display_name(name)?;
    }
    let settings = SourceSettings {
        display_name: change.display_name.unwrap_or(current.display_name),
        schema: match &change.schema {
            Some(_) => schema_text(&change.schema)?,
            None => current.schema,
        },
        schema_policy: change
            .schema_policy
            .map(|p| p.as_str().to_string())
            .unwrap_or(current.schema_policy),
        require_signature: change
            .require_signature
            .unwrap_or(current.require_signature),
    };
    match state
        .store
        .update_source(&id, &settings, &p.key_id, &settings_detail(&settings))
        .await?
    {
        Change::Done(()) => {}
        Change::NotFound => return Err(ApiError::NotFound(format!("no source {id:?}"))),
        Change::Conflict(m) => return Err(ApiError::Conflict(m)),
    }
    audited("source.changed");
    state.trust.sources.forget(&id);
    Ok(Json(source_view(&state, &id).await?))
}

/// A public key to add to a source.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSourceKey {
    /// 1..=64 characters of `[A-Za-z0-9._:-]`; the `keyid` of its signatures.
    #[schema(value_type = String, pattern = "^[A-Za-z0-9._:-]{1,64}$", example = "acme-2026-01")]
    key_id: KeyId,
    /// Ed25519 public key, base64 of 32 bytes.
    #[schema(format = Byte)]
    public_key: String,
}

/// Adds an Ed25519 public key to a source (several may be active, for rotation).
#[utoipa::path(
    post,
    path = "/v1/admin/sources/{id}/keys",
    tag = "admin",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "The source id")),
    request_body(content = NewSourceKey, content_type = "application/json"),
    responses(
        (status = 201, description = "The source with its new key", body = SourceView),
        (status = 400, description = "A malformed body or key (`bad-request`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "A body that is not `application/json` (`unsupported-media-type`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such source (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "The source has a key with this id (`conflict`)", body = Problem, content_type = PROBLEM_JSON),
        AdminErrors,
    )
)]
pub(crate) async fn add_source_key(
    state: State,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let state = state.0;
    let p = admin(&state, &headers).await?;
    let new: NewSourceKey = json_body(&headers, body).await?;
    let bytes = BASE64_STANDARD
        .decode(&new.public_key)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .filter(|b| ed25519_dalek::VerifyingKey::from_bytes(b).is_ok_and(|k| !k.is_weak()))
        .ok_or_else(|| {
            ApiError::BadRequest("public_key: base64 of a 32-byte Ed25519 public key".into())
        })?;
    match state
        .store
        .add_source_key(&id, new.key_id.as_str(), &bytes, &p.key_id)
        .await?
    {
        Change::Done(()) => {}
        Change::NotFound => return Err(ApiError::NotFound(format!("no source {id:?}"))),
        Change::Conflict(m) => return Err(ApiError::Conflict(m)),
    }
    audited("source.key_added");
    state.trust.sources.forget(&id);
    Ok((StatusCode::CREATED, Json(source_view(&state, &id).await?)).into_response())
}

/// Retires a source key: it verifies no new submission (records it signed stay valid).
#[utoipa::path(
    delete,
    path = "/v1/admin/sources/{id}/keys/{key_id}",
    tag = "admin",
    security(("bearer" = ["admin"])),
    params(
        ("id" = String, Path, description = "The source id"),
        ("key_id" = String, Path, description = "The key's id"),
    ),
    responses(
        (status = 200, description = "The source", body = SourceView),
        (status = 404, description = "No such source, or no active key of that id (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        AdminErrors,
    )
)]
pub(crate) async fn retire_source_key(
    state: State,
    Path((id, key_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<SourceView>, ApiError> {
    let state = state.0;
    let p = admin(&state, &headers).await?;
    match state
        .store
        .revoke_source_key(&id, &key_id, &p.key_id)
        .await?
    {
        Change::Done(()) => {}
        Change::NotFound | Change::Conflict(_) => {
            return Err(ApiError::NotFound(format!(
                "source {id:?} has no active key {key_id:?}"
            )))
        }
    }
    audited("source.key_revoked");
    state.trust.sources.forget(&id);
    Ok(Json(source_view(&state, &id).await?))
}

// ---- API keys ----

/// An API key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    #[schema(value_type = KeyScope)]
    scope: String,
    /// Required for (and only for) `ingest`: the registered source it writes for.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    source: Option<SourceId>,
    /// A note for humans (at most 200 bytes).
    #[serde(default)]
    label: String,
}

/// Creates an API key; its token is in the answer, and nowhere else.
#[utoipa::path(
    post,
    path = "/v1/admin/keys",
    tag = "admin",
    security(("bearer" = ["admin"])),
    request_body(content = NewKey, content_type = "application/json",
        example = json!({"scope": "ingest", "source": "acme-signals", "label": "ingest pipeline"})),
    responses(
        (status = 201, description = "The key and its token (shown once)", body = IssuedKey),
        (status = 400, description = "A malformed body, or a source given for a scope other than `ingest` \
            (`bad-request`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "A body that is not `application/json` (`unsupported-media-type`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "The ingest key's source is not registered (`unknown-source`)", body = Problem, content_type = PROBLEM_JSON),
        AdminErrors,
    )
)]
pub(crate) async fn create_key(
    state: State,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let state = state.0;
    let p = admin(&state, &headers).await?;
    let new: NewKey = json_body(&headers, body).await?;
    let scope = Scope::parse(&new.scope).ok_or_else(|| {
        ApiError::BadRequest(format!("scope {:?}: one of ingest, read, admin", new.scope))
    })?;
    if (scope == Scope::Ingest) != new.source.is_some() {
        return Err(ApiError::BadRequest(
            "an ingest key names its `source`; other scopes name none".into(),
        ));
    }
    if new.label.len() > 200 || new.label.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "label: at most 200 bytes without control characters".into(),
        ));
    }
    let source = new.source.map(|s| s.to_string());
    let (row, issued) = state.trust.issue(scope, source.clone(), new.label);
    match state.store.create_api_key(&row, &p.key_id).await? {
        Change::Done(()) => {}
        Change::NotFound => {
            return Err(ApiError::UnknownSource(format!(
                "source {:?} is not registered",
                source.unwrap_or_default()
            )))
        }
        Change::Conflict(m) => return Err(ApiError::Conflict(m)),
    }
    audited("key.created");
    issued_response(&state, &issued.id, issued.token.expose()).await
}

/// Every API key (never their secrets).
#[utoipa::path(
    get,
    path = "/v1/admin/keys",
    tag = "admin",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The keys, oldest first", body = Vec<KeyView>),
        AdminErrors,
    )
)]
pub(crate) async fn keys(state: State, headers: HeaderMap) -> Result<Json<Vec<KeyView>>, ApiError> {
    admin(&state.0, &headers).await?;
    let rows = state.0.store.api_keys().await?;
    Ok(Json(rows.iter().map(KeyView::from).collect()))
}

/// Options of a rotation.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rotation {
    /// How long the old key keeps working, in milliseconds (default: the server's
    /// `key_rotation_overlap_ms`).
    #[serde(default)]
    overlap_ms: Option<u64>,
    #[serde(default)]
    label: Option<String>,
}

/// Replaces a key by a new one of the same scope and source; the old one keeps working for
/// the overlap, then is refused (`key-expired`).
#[utoipa::path(
    post,
    path = "/v1/admin/keys/{id}/rotate",
    tag = "admin",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "The key's public id")),
    request_body(content = Option<Rotation>, content_type = "application/json"),
    responses(
        (status = 201, description = "The new key and its token (shown once)", body = IssuedKey),
        (status = 400, description = "A malformed body (`bad-request`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "A body that is not `application/json` (`unsupported-media-type`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such key (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "The key is revoked or expired (`conflict`)", body = Problem, content_type = PROBLEM_JSON),
        AdminErrors,
    )
)]
pub(crate) async fn rotate_key(
    state: State,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let state = state.0;
    let p = admin(&state, &headers).await?;
    let bytes = read_body(body).await?;
    let rotation: Rotation = if bytes.iter().all(u8::is_ascii_whitespace) {
        Rotation::default()
    } else {
        require_json(&headers)?;
        parse_body(&bytes)?
    };
    let overlap = rotation
        .overlap_ms
        .unwrap_or(state.config.key_rotation_overlap_ms);
    let overlap = i64::try_from(overlap)
        .map_err(|_| ApiError::BadRequest("overlap_ms is too large".into()))?;
    let old = state
        .store
        .api_key(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no key {id:?}")))?;
    let scope = Scope::parse(&old.scope)
        .ok_or_else(|| ApiError::Internal(format!("key {id} has scope {:?}", old.scope)))?;
    let label = rotation.label.unwrap_or_else(|| old.label.clone());
    let (row, issued) = state.trust.issue(scope, old.source.clone(), label);
    match state
        .store
        .rotate_api_key(&id, &row, overlap, &p.key_id)
        .await?
    {
        Change::Done(_) => {}
        Change::NotFound => return Err(ApiError::NotFound(format!("no key {id:?}"))),
        Change::Conflict(m) => return Err(ApiError::Conflict(m)),
    }
    state.trust.forget_key(&id);
    audited("key.rotated");
    issued_response(&state, &issued.id, issued.token.expose()).await
}

/// Revokes a key at once.
#[utoipa::path(
    post,
    path = "/v1/admin/keys/{id}/revoke",
    tag = "admin",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "The key's public id")),
    responses(
        (status = 200, description = "The revoked key", body = KeyView),
        (status = 404, description = "No such key (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "Already revoked (`conflict`)", body = Problem, content_type = PROBLEM_JSON),
        AdminErrors,
    )
)]
pub(crate) async fn revoke_key(
    state: State,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<KeyView>, ApiError> {
    let state = state.0;
    let p = admin(&state, &headers).await?;
    match state.store.revoke_api_key(&id, &p.key_id).await? {
        Change::Done(_) => {}
        Change::NotFound => return Err(ApiError::NotFound(format!("no key {id:?}"))),
        Change::Conflict(m) => return Err(ApiError::Conflict(m)),
    }
    state.trust.forget_key(&id);
    audited("key.revoked");
    let row = state
        .store
        .api_key(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no key {id:?}")))?;
    Ok(Json(KeyView::from(&row)))
}

// ---- audit ----

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Only events with a larger id (the previous page's `next_after`).
    after: Option<u64>,
    /// At most this many events (1..=1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// One admin action.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditView {
    id: u64,
    #[schema(format = DateTime)]
    at: String,
    /// The admin key's id, or `bootstrap`.
    actor: String,
    /// `source.created`, `source.changed`, `source.key_added`, `source.key_revoked`,
    /// `key.created`, `key.rotated` or `key.revoked`.
    action: String,
    /// The source id or the key id acted on.
    target: String,
    #[schema(value_type = Object)]
    detail: Value,
}

impl From<&AuditEvent> for AuditView {
    fn from(e: &AuditEvent) -> Self {
        AuditView {
            id: e.id,
            at: time(e.at_ms),
            actor: e.actor.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            detail: serde_json::from_str(&e.detail).unwrap_or(Value::Null),
        }
    }
}

/// A page of the audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditPage {
    events: Vec<AuditView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_after: Option<u64>,
}

/// The audit trail of admin actions, oldest first. Append-only: the database refuses to
/// change or delete an event.
#[utoipa::path(
    get,
    path = "/v1/admin/audit",
    tag = "admin",
    security(("bearer" = ["admin"])),
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events", body = AuditPage),
        (status = 400, description = "A malformed query (`bad-request`)", body = Problem, content_type = PROBLEM_JSON),
        AdminErrors,
    )
)]
pub(crate) async fn audit(
    state: State,
    headers: HeaderMap,
    query: Result<Q<AuditQuery>, ApiError>,
) -> Result<Json<AuditPage>, ApiError> {
    let state = state.0;
    admin(&state, &headers).await?;
    let Q(query) = query?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit: 1..=1000".into()));
    }
    let events = state.store.audit_events(query.after, limit).await?;
    let next_after = if events.len() == limit as usize {
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok(Json(AuditPage {
        events: events.iter().map(AuditView::from).collect(),
        next_after,
    }))
}
