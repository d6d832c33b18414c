//! API keys: create, list, rotate, revoke. The token of a new key is shown once, in the answer.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use provlog_core::record::SourceId;
use provlog_store::ApiKeyRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{applied, audited, json_body, parse_body, read_body, require_json, time, Admin};
use crate::api::State;
use crate::auth::Scope;
use crate::error::{AdminBodyErrors, AdminErrors, Problem, PROBLEM_JSON};
use crate::{now_ms, ApiError, AppState};

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

fn no_key(id: &str) -> ApiError {
    ApiError::NotFound(format!("no key {id:?}"))
}

pub(super) async fn issued_response(
    state: &AppState,
    id: &str,
    token: &str,
) -> Result<Response, ApiError> {
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
        (status = 422, description = "The ingest key's source is not registered (`unknown-source`)", body = Problem, content_type = PROBLEM_JSON),
        AdminBodyErrors,
    )
)]
pub(crate) async fn create_key(
    state: State,
    Admin(p): Admin,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let state = state.0;
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
    let created = state.store.create_api_key(&row, &p.key_id).await?;
    applied(created, || {
        ApiError::UnknownSource(format!(
            "source {:?} is not registered",
            source.unwrap_or_default()
        ))
    })?;
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
pub(crate) async fn keys(state: State, _: Admin) -> Result<Json<Vec<KeyView>>, ApiError> {
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
        (status = 404, description = "No such key (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "The key is revoked or expired (`conflict`)", body = Problem, content_type = PROBLEM_JSON),
        AdminBodyErrors,
    )
)]
pub(crate) async fn rotate_key(
    state: State,
    Admin(p): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let state = state.0;
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
    let old = state.store.api_key(&id).await?.ok_or_else(|| no_key(&id))?;
    let scope = Scope::parse(&old.scope)
        .ok_or_else(|| ApiError::Internal(format!("key {id} has scope {:?}", old.scope)))?;
    let label = rotation.label.unwrap_or_else(|| old.label.clone());
    let (row, issued) = state.trust.issue(scope, old.source.clone(), label);
    let rotated = state.store.rotate_api_key(&id, &row, overlap, &p.key_id);
    applied(rotated.await?, || no_key(&id))?;
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
    Admin(p): Admin,
    Path(id): Path<String>,
) -> Result<Json<KeyView>, ApiError> {
    let state = state.0;
    applied(state.store.revoke_api_key(&id, &p.key_id).await?, || {
        no_key(&id)
    })?;
    state.trust.forget_key(&id);
    audited("key.revoked");
    let row = state.store.api_key(&id).await?.ok_or_else(|| no_key(&id))?;
    Ok(Json(KeyView::from(&row)))
}
