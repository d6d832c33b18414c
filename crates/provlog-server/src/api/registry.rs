//! The public source registry: every source's keys and settings as its registry records in the
//! log state them — not as the admin tables say — with the leaf index of each statement, so a
//! consumer can prove each one with its receipt.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::Json;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_core::record::{Record, Timestamp};
use provlog_core::registry::{SchemaPolicy, SourceHistory, Stated};
use provlog_core::Hash;
use provlog_store::RegistryRow;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{openapi, State};
use crate::error::{Problem, ReadErrors, PROBLEM_JSON};
use crate::ApiError;

/// Where and when a registry record stated something.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Statement {
    /// The registry record's log index (its id); `GET /v1/records/{id}/receipt` proves it.
    leaf_index: u64,
    /// Its `received_at`.
    #[schema(value_type = String, format = DateTime)]
    at: Timestamp,
}

impl From<Stated> for Statement {
    fn from(s: Stated) -> Self {
        Statement {
            leaf_index: s.leaf_index,
            at: s.at,
        }
    }
}

/// An Ed25519 key of a source, with the records that added and (if so) retired it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegisteredKey {
    key_id: String,
    /// Base64 of 32 bytes.
    #[schema(format = Byte)]
    public_key: String,
    /// Added with a proof of possession (false only for keys registered before the registry
    /// was logged, whose records were backfilled).
    proven: bool,
    added: Statement,
    #[schema(required = true)]
    retired: Option<Statement>,
}

/// One registry record: its leaf index and the change it states.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegistryEntry {
    leaf_index: u64,
    #[schema(value_type = String, format = DateTime)]
    received_at: Timestamp,
    /// The change (the record's one content item): `content.root` of the record is its RFC 9162
    /// leaf hash over its RFC 8785 canonical bytes.
    #[schema(value_type = Object)]
    event: Value,
}

/// A source as its registry records state it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegisteredSource {
    id: String,
    registered: Statement,
    /// SHA-256 (base64) of the RFC 8785 canonical JSON of its JSON Schema; null: none.
    #[schema(value_type = Option<openapi::Hash>, required = true)]
    schema_sha256: Option<Hash>,
    #[schema(value_type = crate::api::admin::sources::SchemaPolicy)]
    schema_policy: SchemaPolicy,
    /// Every submission must be signed by one of its active keys.
    require_signature: bool,
    /// The record that stated the settings above.
    settings_stated: Statement,
    /// In the order they were added.
    keys: Vec<RegisteredKey>,
    /// How its records are scored, and the record that declared it; absent until declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    scoring: Option<DeclaredScoring>,
    /// Every registry record of the source, in log order.
    records: Vec<RegistryEntry>,
}

/// A source's scoring spec (`docs/track-records.md`) and where its registry declared it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeclaredScoring {
    #[schema(value_type = openapi::ScoringSpec)]
    spec: provlog_core::score::ScoringSpec,
    declared: Statement,
}

fn corrupt(index: u64, e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("registry record {index}: {e}"))
}

/// A source's registry rows, in log order, folded and shown.
fn registered_source(rows: &[&RegistryRow]) -> Result<Option<RegisteredSource>, ApiError> {
    let records = rows
        .iter()
        .map(|r| Record::from_canonical_bytes(&r.leaf).map_err(|e| corrupt(r.index, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let folded = SourceHistory::fold(
        rows.iter()
            .zip(&records)
            .map(|(row, record)| (row.index, record, row.item.as_slice())),
    );
    let Some(history) = folded.map_err(|e| corrupt(rows[0].index, e))? else {
        return Ok(None);
    };
    let entries = rows
        .iter()
        .zip(&records)
        .map(|(row, record)| {
            let event = serde_json::from_slice(&row.item).map_err(|e| corrupt(row.index, e))?;
            Ok(RegistryEntry {
                leaf_index: row.index,
                received_at: record.received_at,
                event,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Some(RegisteredSource {
        id: history.source.to_string(),
        registered: history.registered.into(),
        schema_sha256: history.settings.schema_sha256,
        schema_policy: history.settings.schema_policy,
        require_signature: history.settings.require_signature,
        settings_stated: history.settings.stated.into(),
        keys: history
            .keys
            .into_iter()
            .map(|k| RegisteredKey {
                key_id: k.key_id.to_string(),
                public_key: BASE64_STANDARD.encode(k.public_key),
                proven: k.proven,
                added: k.added.into(),
                retired: k.retired.map(Into::into),
            })
            .collect(),
        scoring: history.scoring.map(|(spec, stated)| DeclaredScoring {
            spec,
            declared: stated.into(),
        }),
        records: entries,
    }))
}

/// Every source, by id, as the log's registry records state it.
#[utoipa::path(
    get,
    path = "/v1/sources",
    tag = "sources",
    security((), ("bearer" = ["read"])),
    responses(
        (status = 200, description = "The sources, by id", body = Vec<RegisteredSource>),
        ReadErrors,
    )
)]
pub(crate) async fn sources(state: State) -> Result<Json<Vec<RegisteredSource>>, ApiError> {
    let rows = state.0.store.registry(None).await?;
    let mut by_source: BTreeMap<&str, Vec<&RegistryRow>> = BTreeMap::new();
    for row in &rows {
        by_source.entry(&row.source).or_default().push(row);
    }
    let mut sources = Vec::with_capacity(by_source.len());
    for rows in by_source.values() {
        sources.extend(registered_source(rows)?);
    }
    Ok(Json(sources))
}

/// One source, as the log's registry records state it.
#[utoipa::path(
    get,
    path = "/v1/sources/{id}",
    tag = "sources",
    security((), ("bearer" = ["read"])),
    params(("id" = String, Path, description = "The source id")),
    responses(
        (status = 200, description = "The source", body = RegisteredSource),
        (status = 404, description = "No source of that id in the registry (`not-found`)", body = Problem, content_type = PROBLEM_JSON),
        ReadErrors,
    )
)]
pub(crate) async fn source(
    state: State,
    Path(id): Path<String>,
) -> Result<Json<RegisteredSource>, ApiError> {
    let rows = state.0.store.registry(Some(&id)).await?;
    let rows: Vec<&RegistryRow> = rows.iter().collect();
    let source = if rows.is_empty() {
        None
    } else {
        registered_source(&rows)?
    };
    source
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no source {id:?} in the registry")))
}
