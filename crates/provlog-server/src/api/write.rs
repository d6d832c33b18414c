//! `POST /v1/records` (one record or a batch, JSON) and `POST /v1/records/snapshot` (one
//! snapshot streamed as NDJSON). Records are built and canonicalised here, sequenced in one
//! transaction, and acknowledged only after it commits.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{to_bytes, Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use provlog_core::record::{
    self, digest_content, signal_content, snapshot_content_bytes, snapshot_content_json, Content,
    ContentAlg, FormatVersion, Kind, Limits, LogOrigin, MediaType, Record, SourceId,
    SourceSignature, Timestamp,
};
use provlog_core::Hash;
use provlog_store::{NewRecord, SequenceOutcome, Sequenced};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{proofs, State, Q};
use crate::{ApiError, AppState};

/// One record as a client submits it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Submission {
    kind: Kind,
    source: SourceId,
    /// `signal`: the JSON value.
    #[serde(default)]
    payload: Option<Value>,
    /// `snapshot`: JSON items…
    #[serde(default)]
    items: Option<Vec<Value>>,
    /// …or byte items, base64, with `media_type`.
    #[serde(default)]
    items_base64: Option<Vec<String>>,
    #[serde(default)]
    media_type: Option<MediaType>,
    /// `digest`: the client-computed content (the data never leaves the client).
    #[serde(default)]
    content: Option<DigestContent>,
    #[serde(default)]
    parents: Vec<Hash>,
    #[serde(default)]
    metadata: Map<String, Value>,
    #[serde(default)]
    signature: Option<SourceSignature>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DigestContent {
    alg: ContentAlg,
    root: Hash,
    #[serde(default = "one")]
    items: u64,
    #[serde(default)]
    media_type: Option<MediaType>,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Deserialize)]
pub(crate) struct WriteQuery {
    /// `receipt`: answer once a checkpoint covers the records.
    wait: Option<String>,
}

/// A record ready to sequence, with what the response needs.
struct Built {
    new: NewRecord,
}

fn limits(state: &AppState) -> Limits {
    Limits {
        max_metadata_bytes: state.config.max_metadata_bytes,
        ..Limits::default()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &state.admin_token else {
        return Err(ApiError::WritesDisabled);
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    // Constant time: compare digests, so neither length nor prefix leaks through timing.
    let (a, b) = (
        Hash::sha256(given.as_bytes()),
        Hash::sha256(expected.expose().as_bytes()),
    );
    let diff = a
        .as_bytes()
        .iter()
        .zip(b.as_bytes())
        .fold(0u8, |d, (x, y)| d | (x ^ y));
    if diff != 0 {
        return Err(ApiError::Unauthorized);
    }
    Ok(())
}

fn check_backpressure(state: &AppState) -> Result<(), ApiError> {
    if state.pending() > state.config.max_pending {
        metrics::counter!("provlog_backpressure_total").increment(1);
        return Err(ApiError::Backpressure);
    }
    Ok(())
}

fn invalid(e: impl std::fmt::Display) -> ApiError {
    ApiError::InvalidRecord(e.to_string())
}

fn build_content(
    state: &AppState,
    s: &mut Submission,
) -> Result<(Content, Vec<Vec<u8>>), ApiError> {
    let max_items = state.config.max_snapshot_items;
    match s.kind {
        Kind::Signal => {
            let payload = s
                .payload
                .take()
                .ok_or_else(|| invalid("a signal needs a JSON `payload`"))?;
            if s.items.is_some() || s.items_base64.is_some() || s.content.is_some() {
                return Err(invalid("a signal has only a `payload`"));
            }
            let (content, _) = signal_content(&payload).map_err(invalid)?;
            Ok((content, vec![]))
        }
        Kind::Snapshot => {
            if s.payload.is_some() || s.content.is_some() {
                return Err(invalid("a snapshot has `items` or `items_base64`"));
            }
            match (s.items.take(), s.items_base64.take()) {
                (Some(items), None) => {
                    if items.len() > max_items {
                        return Err(invalid(format!(
                            "a snapshot holds at most {max_items} items"
                        )));
                    }
                    let (content, canonical) = snapshot_content_json(&items).map_err(invalid)?;
                    check_item_sizes(state, &canonical)?;
                    Ok((content, canonical))
                }
                (None, Some(encoded)) => {
                    if encoded.len() > max_items {
                        return Err(invalid(format!(
                            "a snapshot holds at most {max_items} items"
                        )));
                    }
                    let items = encoded
                        .iter()
                        .enumerate()
                        .map(|(i, e)| {
                            BASE64_STANDARD
                                .decode(e)
                                .map_err(|err| invalid(format!("items_base64[{i}]: {err}")))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    check_item_sizes(state, &items)?;
                    let media = s.media_type.take().unwrap_or_else(MediaType::octet_stream);
                    let content = snapshot_content_bytes(&items, media).map_err(invalid)?;
                    Ok((content, items))
                }
                _ => Err(invalid(
                    "a snapshot needs exactly one of `items` and `items_base64`",
                )),
            }
        }
        Kind::Digest => {
            if s.payload.is_some() || s.items.is_some() || s.items_base64.is_some() {
                return Err(invalid(
                    "a digest has only `content` (its data stays with you)",
                ));
            }
            let c = s
                .content
                .take()
                .ok_or_else(|| invalid("a digest needs `content`"))?;
            let media = c.media_type.unwrap_or_else(MediaType::octet_stream);
            Ok((
                digest_content(c.alg, c.root, c.items, media).map_err(invalid)?,
                vec![],
            ))
        }
    }
}

fn check_item_sizes(state: &AppState, items: &[Vec<u8>]) -> Result<(), ApiError> {
    let limit = state.config.max_item_bytes;
    match items.iter().position(|i| i.len() > limit) {
        Some(i) => Err(invalid(format!("item {i} is larger than {limit} bytes"))),
        None => Ok(()),
    }
}

/// Builds, validates and canonicalises one record.
fn build(
    state: &AppState,
    mut s: Submission,
    received_ms: i64,
    parents: Vec<u64>,
) -> Result<Built, ApiError> {
    let (content, items) = build_content(state, &mut s)?;
    let origin = LogOrigin::new(state.config.origin.clone())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let record = Record {
        content,
        kind: s.kind,
        metadata: s.metadata,
        origin,
        parents: s.parents,
        quality: vec![],
        received_at: Timestamp::from_unix_millis(received_ms)
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        signature: s.signature,
        source: s.source,
        v: FormatVersion::V1,
    };
    record.validate(&limits(state)).map_err(invalid)?;
    if record.signature.is_some() {
        record
            .verify_source_signature()
            .map_err(|e| invalid(format!("source signature: {e}")))?;
    }
    let leaf = record.to_canonical_bytes().map_err(invalid)?;
    Ok(Built {
        new: NewRecord {
            leaf_hash: provlog_core::leaf_hash(&leaf),
            leaf,
            source: record.source.as_str().to_string(),
            kind: record.kind.as_str(),
            content_root: record.content.root,
            received_ms,
            parents,
            items,
        },
    })
}

/// Resolves every named parent to an index; any unknown parent refuses the whole request.
async fn resolve_parents(state: &AppState, subs: &[Submission]) -> Result<Vec<Vec<u64>>, ApiError> {
    let wanted: Vec<Hash> = subs
        .iter()
        .flat_map(|s| s.parents.iter().copied())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let found = state.store.resolve_parents(&wanted).await?;
    let map: std::collections::HashMap<Hash, u64> = wanted
        .iter()
        .zip(found)
        .filter_map(|(h, i)| i.map(|i| (*h, i)))
        .collect();
    subs.iter()
        .map(|s| {
            s.parents
                .iter()
                .map(|p| {
                    map.get(p).copied().ok_or_else(|| {
                        ApiError::UnknownParent(format!(
                            "parent {} is not a record of this log",
                            p.to_base64()
                        ))
                    })
                })
                .collect()
        })
        .collect()
}

fn idempotency_key(headers: &HeaderMap, body: &[u8]) -> Result<Option<(String, Hash)>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            ApiError::BadRequest("Idempotency-Key must be 1 to 200 visible ASCII characters".into())
        })?;
    Ok(Some((key.to_string(), Hash::sha256(body))))
}

async fn read_body(state: &AppState, body: Body) -> Result<Bytes, ApiError> {
    let limit = state.config.max_body_bytes;
    to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::BodyTooLarge { limit })
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "POST /v1/records takes application/json, got {ct:?} (snapshots as NDJSON go to /v1/records/snapshot)"
        )));
    }
    Ok(())
}

pub(crate) async fn submit(
    state: State,
    Q(query): Q<WriteQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let state = state.0;
    authorize(&state, &headers)?;
    require_json(&headers)?;
    check_backpressure(&state)?;
    let body = read_body(&state, body).await?;
    let value = record::parse_json(&body, &Limits::default())
        .map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let subs: Vec<Value> = match value {
        Value::Object(mut o) if o.contains_key("records") => {
            if o.len() != 1 {
                return Err(ApiError::BadRequest(
                    "a batch is {\"records\": [...]} and nothing else".into(),
                ));
            }
            match o.remove("records") {
                Some(Value::Array(a)) => a,
                _ => return Err(ApiError::BadRequest("`records` must be an array".into())),
            }
        }
        Value::Object(o) => vec![Value::Object(o)],
        _ => {
            return Err(ApiError::BadRequest(
                "expected a record object or {\"records\": [...]}".into(),
            ))
        }
    };
    if subs.is_empty() {
        return Err(ApiError::BadRequest("`records` is empty".into()));
    }
    if subs.len() > state.config.max_batch {
        return Err(ApiError::BatchTooLarge {
            limit: state.config.max_batch,
            got: subs.len(),
        });
    }
    let subs = subs
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value::<Submission>(v)
                .map_err(|e| invalid(format!("records[{i}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let idem = idempotency_key(&headers, &body)?;
    let parents = resolve_parents(&state, &subs).await?;
    let received_ms = now_ms();
    let batch = subs
        .into_iter()
        .zip(parents)
        .enumerate()
        .map(|(i, (s, p))| {
            build(&state, s, received_ms, p).map_err(|e| match e {
                ApiError::InvalidRecord(m) => ApiError::InvalidRecord(format!("records[{i}]: {m}")),
                other => other,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    sequence_and_answer(&state, batch, idem, query.wait.as_deref()).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct SnapshotQuery {
    source: SourceId,
    /// Comma-separated base64 leaf hashes of parent records.
    #[serde(default)]
    parents: Option<String>,
    wait: Option<String>,
}

/// One snapshot as NDJSON: each non-empty line is one JSON item.
pub(crate) async fn submit_ndjson(
    state: State,
    Q(query): Q<SnapshotQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let state = state.0;
    authorize(&state, &headers)?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-ndjson") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "expected application/x-ndjson, got {ct:?}"
        )));
    }
    check_backpressure(&state)?;
    let body = read_body(&state, body).await?;
    let mut items = vec![];
    for (line_no, line) in body.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if items.len() == state.config.max_snapshot_items {
            return Err(invalid(format!(
                "a snapshot holds at most {} items",
                state.config.max_snapshot_items
            )));
        }
        let value = record::parse_json(line, &Limits::default())
            .map_err(|e| invalid(format!("line {}: {e}", line_no + 1)))?;
        items.push(value);
    }
    let parents = match &query.parents {
        Some(list) if !list.is_empty() => list
            .split(',')
            .map(|p| {
                p.parse::<Hash>()
                    .map_err(|e| ApiError::BadRequest(format!("parents: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => vec![],
    };
    let sub = Submission {
        kind: Kind::Snapshot,
        source: query.source,
        payload: None,
        items: Some(items),
        items_base64: None,
        media_type: None,
        content: None,
        parents,
        metadata: Map::new(),
        signature: None,
    };
    let idem = idempotency_key(&headers, &body)?;
    let resolved = resolve_parents(&state, std::slice::from_ref(&sub)).await?;
    let built = build(
        &state,
        sub,
        now_ms(),
        resolved.into_iter().next().unwrap_or_default(),
    )?;
    sequence_and_answer(&state, vec![built], idem, query.wait.as_deref()).await
}

async fn sequence_and_answer(
    state: &AppState,
    batch: Vec<Built>,
    idem: Option<(String, Hash)>,
    wait: Option<&str>,
) -> Result<Response, ApiError> {
    let wait_for_receipts = match wait {
        None => false,
        Some("receipt") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "wait={other:?}: the only value is `receipt`"
            )))
        }
    };
    let records: Vec<NewRecord> = batch.into_iter().map(|b| b.new).collect();
    let outcome = state
        .store
        .sequence(&records, idem.as_ref().map(|(k, h)| (k.as_str(), *h)))
        .await?;
    let (status, replayed, done) = match outcome {
        SequenceOutcome::New(done) => (StatusCode::CREATED, false, done),
        SequenceOutcome::Replayed(done) => (StatusCode::OK, true, done),
    };
    if let Some(last) = done.last() {
        state.sequenced.fetch_max(last.index + 1, Ordering::Relaxed);
    }
    metrics::counter!("provlog_records_ingested_total").increment(if replayed {
        0
    } else {
        done.len() as u64
    });
    let mut body = json!({
        "records": done.iter().map(ack).collect::<Vec<_>>(),
        "replayed": replayed,
    });
    if wait_for_receipts {
        let covered =
            wait_for_checkpoint(state, done.iter().map(|d| d.index).max().unwrap_or(0)).await;
        if covered {
            let mut receipts = vec![];
            for d in &done {
                receipts.push(proofs::build_receipt(state, d.index, None, None).await?);
            }
            body["receipts"] = json!(receipts);
            body["receipt_status"] = json!("ready");
        } else {
            body["receipt_status"] = json!("timeout");
            body["detail"] = json!("the records are durably logged; no checkpoint covered them in time — fetch their receipts later");
        }
    }
    Ok((status, Json(body)).into_response())
}

fn ack(s: &Sequenced) -> Value {
    json!({
        "id": s.index.to_string(),
        "index": s.index,
        "leaf_hash": s.leaf_hash,
        "content_root": s.content_root,
    })
}

/// Waits until a signed checkpoint covers `index`, up to the configured timeout.
async fn wait_for_checkpoint(state: &AppState, index: u64) -> bool {
    let mut rx = state.checkpoint_size.subscribe();
    let deadline = Duration::from_millis(state.config.wait_timeout_ms);
    tokio::time::timeout(deadline, rx.wait_for(|&size| size > index))
        .await
        .map(|r| r.is_ok())
        .unwrap_or(false)
}
