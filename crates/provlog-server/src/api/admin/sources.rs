//! Sources: registration, their schema and policy, and the Ed25519 keys that sign for them.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_core::record::{KeyId, LogOrigin, SourceId};
use provlog_core::registry::{schema_sha256, verify_possession};
use provlog_core::score::ScoringSpec;
// The store's name for a change to the registry; `SourceChange` here is the PATCH body.
use provlog_store::{SourceChange as Registry, SourceRow, SourceSettings};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{applied, audited, json_body, time, Admin};
use crate::api::{openapi, State};
use crate::error::{AdminBodyErrors, AdminErrors, Problem, PROBLEM_JSON};
use crate::policy::compile_schema;
use crate::{ApiError, AppState};

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
    /// How the source's records are scored, once declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<openapi::ScoringSpec>)]
    scoring: Option<Value>,
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
            scoring: s
                .scoring
                .as_deref()
                .and_then(|t| serde_json::from_str(t).ok()),
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
            // Its registry record states its hash over the canonical form.
            schema_sha256(s).map_err(|e| ApiError::BadRequest(format!("schema: {e}")))?;
            Ok(Some(s.to_string()))
        }
    }
}

fn no_source(id: &str) -> ApiError {
    ApiError::NotFound(format!("no source {id:?}"))
}

async fn source_view(state: &AppState, id: &str) -> Result<SourceView, ApiError> {
    let row = state.store.source(id).await?.ok_or_else(|| no_source(id))?;
    Ok(SourceView::from(&row))
}

/// Applies a change to the registry (its audit event commits with it), then answers with the
/// source as it is now.
async fn apply(
    state: &AppState,
    change: Registry<'_>,
    actor: &str,
    not_found: impl FnOnce() -> ApiError,
) -> Result<SourceView, ApiError> {
    let (id, action) = (change.source().to_string(), change.action());
    applied(state.store.change_source(change, actor).await?, not_found)?;
    audited(action);
    state.trust.sources.forget(&id);
    source_view(state, &id).await
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
        (status = 409, description = "The id is taken (`conflict`)", body = Problem, content_type = PROBLEM_JSON),
        AdminBodyErrors,
    )
)]
pub(crate) async fn create_source(
    state: State,
    Admin(p): Admin,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let state = state.0;
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
    let change = Registry::Create(new.id.as_str(), &settings);
    let created = apply(&state, change, &p.key_id, || {
        ApiError::Internal("create found nothing".into())
    });
    Ok((StatusCode::CREATED, Json(created.await?)).into_response())
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
pub(crate) async fn sources(state: State, _: Admin) -> Result<Json<Vec<SourceView>>, ApiError> {
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
    _: Admin,
    Path(id): Path<String>,
) -> Result<Json<SourceView>, ApiError> {
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
        (status = 404, description = "No such source (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        AdminBodyErrors,
    )
)]
pub(crate) async fn change_source(
    state: State,
    Admin(p): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<SourceView>, ApiError> {
    let state = state.0;
    let change: SourceChange = json_body(&headers, body).await?;
    let current = state
        .store
        .source(&id)
        .await?
        .ok_or_else(|| no_source(&id))?;
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
    let change = Registry::Update(&id, &settings);
    Ok(Json(
        apply(&state, change, &p.key_id, || no_source(&id)).await?,
    ))
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
    /// Proof of possession: the key's Ed25519 signature (base64 of 64 bytes) over
    /// `provlog source key possession v1\n` followed by the RFC 8785 JSON of
    /// `{"key_id","origin","public_key","source"}` (docs/formats.md; `provlog sources add-key
    /// --key-file` makes it).
    #[schema(format = Byte)]
    proof: String,
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
        (status = 404, description = "No such source (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "The source has a key with this id (`conflict`)", body = Problem, content_type = PROBLEM_JSON),
        AdminBodyErrors,
    )
)]
pub(crate) async fn add_source_key(
    state: State,
    Admin(p): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let state = state.0;
    let new: NewSourceKey = json_body(&headers, body).await?;
    let bytes = BASE64_STANDARD
        .decode(&new.public_key)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .filter(|b| ed25519_dalek::VerifyingKey::from_bytes(b).is_ok_and(|k| !k.is_weak()))
        .ok_or_else(|| {
            ApiError::BadRequest("public_key: base64 of a 32-byte Ed25519 public key".into())
        })?;
    let proof = BASE64_STANDARD
        .decode(&new.proof)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .ok_or_else(|| {
            ApiError::BadRequest("proof: base64 of a 64-byte Ed25519 signature".into())
        })?;
    // A source id that is no valid id names no source.
    let source = SourceId::new(id.as_str()).map_err(|_| no_source(&id))?;
    let origin = LogOrigin::new(state.config.origin.as_str())
        .map_err(|e| ApiError::Internal(format!("the configured origin: {e}")))?;
    verify_possession(&origin, &source, &new.key_id, &bytes, &proof).map_err(|e| {
        ApiError::BadRequest(format!(
            "proof: {e}; it signs this log's origin {:?}, the source id and the key id",
            state.config.origin
        ))
    })?;
    let change = Registry::AddKey {
        source: &id,
        key_id: new.key_id.as_str(),
        public_key: &bytes,
        proof: &proof,
    };
    let added = apply(&state, change, &p.key_id, || no_source(&id));
    Ok((StatusCode::CREATED, Json(added.await?)).into_response())
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
    Admin(p): Admin,
    Path((id, key_id)): Path<(String, String)>,
) -> Result<Json<SourceView>, ApiError> {
    let state = state.0;
    let change = Registry::RetireKey {
        source: &id,
        key_id: &key_id,
    };
    let retired = apply(&state, change, &p.key_id, || {
        ApiError::NotFound(format!("source {id:?} has no active key {key_id:?}"))
    });
    Ok(Json(retired.await?))
}

/// Declares how the source's records are scored (`docs/track-records.md`): a registry record
/// states the spec, once — a declaration is final, so that no one can choose the rules after
/// seeing the outcomes. Records logged before it are not scored.
#[utoipa::path(
    put,
    path = "/v1/admin/sources/{id}/scoring",
    tag = "admin",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "The source id")),
    request_body(content = openapi::ScoringSpec, content_type = "application/json"),
    responses(
        (status = 201, description = "The source, with its spec declared", body = SourceView),
        (status = 400, description = "A malformed spec (`bad-request`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 404, description = "No such source (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 409, description = "The source declared its scoring before, or the outcome source is not registered (`conflict`)",
            body = Problem, content_type = PROBLEM_JSON),
        AdminBodyErrors,
    )
)]
pub(crate) async fn declare_scoring(
    state: State,
    Admin(p): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let state = state.0;
    let spec: ScoringSpec = json_body(&headers, body).await?;
    spec.check().map_err(ApiError::BadRequest)?;
    let change = Registry::DeclareScoring {
        source: &id,
        spec: &spec,
    };
    let declared = apply(&state, change, &p.key_id, || no_source(&id));
    Ok((StatusCode::CREATED, Json(declared.await?)).into_response())
}
