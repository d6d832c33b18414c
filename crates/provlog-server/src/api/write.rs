//! `POST /v1/records` (one record or a batch, JSON) and `POST /v1/records/snapshot` (one
//! snapshot streamed as NDJSON). Records are built and canonicalised by [`crate::ingest`],
//! sequenced in one transaction, and acknowledged only after it commits.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use provlog_core::record::{self, Limits, SourceId, SourceSignature};
use provlog_core::Hash;
use provlog_store::{NewRecord, SequenceOutcome, Sequenced};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::openapi;
use super::{proofs, State, Q};
use crate::auth::{self, Scope};
use crate::error::{Problem, WriteErrors, PROBLEM_JSON};
use crate::ingest::{
    build, check_reveals, idempotency_key, invalid, limits, resolve_parents, write_context, Built,
    Submission,
};
use crate::sequencer::GROUPED_MAX_RECORDS;
use crate::{now_ms, ApiError, AppState};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct WriteQuery {
    /// `receipt`: answer once a checkpoint covers the records (or the server's wait times
    /// out), with their receipts.
    #[param(value_type = Option<openapi::Wait>)]
    wait: Option<String>,
}

fn check_backpressure(state: &AppState) -> Result<(), ApiError> {
    if state.pending() > state.config.max_pending {
        metrics::counter!("provlog_backpressure_total").increment(1);
        return Err(ApiError::Backpressure);
    }
    Ok(())
}

async fn read_body(state: &AppState, body: Body) -> Result<Bytes, ApiError> {
    let limit = state.config.max_body_bytes;
    to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::BodyTooLarge { limit })
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    super::require_media_type(
        headers,
        "application/json",
        "POST /v1/records (snapshots as NDJSON go to /v1/records/snapshot)",
    )
}

/// Submits one record, or a batch of records sequenced atomically (all or none). The answer
/// comes once the records are durably sequenced.
#[utoipa::path(
    post,
    path = "/v1/records",
    tag = "records",
    security(("bearer" = ["ingest"])),
    params(WriteQuery, openapi::IdempotencyKey, openapi::SignedRequest),
    request_body(content = SubmitBody, content_type = "application/json",
        example = json!({"kind": "signal", "source": "acme-signals", "payload": {"token": "ETH", "signal": 1}})),
    responses(
        (status = 201, description = "Sequenced", body = SubmitResponse),
        (status = 200, description = "A retry with a known `Idempotency-Key`: the first request's records", body = SubmitResponse),
        (status = 400, description = "Malformed JSON, query parameter or `Idempotency-Key` (`bad-request`), a record \
            that is not valid (`invalid-record`, naming `records[i]` in a batch), a payload or item that fails its \
            source's schema under policy `reject` (`schema-violation`, with `errors`), or a `Content-Digest` that does \
            not match the body (`digest-mismatch`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "The body is larger than the server's limit (`body-too-large`), or the batch has more \
            records than it takes (`batch-too-large`)", body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "The body is not `application/json` (`unsupported-media-type`)",
            body = Problem, content_type = PROBLEM_JSON),
        WriteErrors,
    )
)]
pub(crate) async fn submit(
    state: State,
    Q(query): Q<WriteQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let state = state.0;
    let principal = auth::require(&state, &headers, Scope::Ingest).await?;
    require_json(&headers)?;
    check_backpressure(&state)?;
    let body = read_body(&state, body).await?;
    // A batch wraps payloads three levels deep ({"records": [{"payload": …}]}); payloads and
    // items are held to the configured depth one by one below.
    let body_depth = Limits {
        max_payload_depth: state.config.max_payload_depth.saturating_add(3),
        ..Limits::default()
    };
    let value = record::parse_json(&body, &body_depth)
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
    let sources: Vec<&SourceId> = subs.iter().map(|s| &s.source).collect();
    let ctx = write_context(
        &state,
        &principal,
        (&headers, &method, &uri, &body),
        &sources,
    )
    .await?;
    let idem = idempotency_key(&headers, &body)?;
    let parents = resolve_parents(&state, &subs).await?;
    let received_ms = now_ms();
    let reveals = check_reveals(&state, &subs, &parents, received_ms).await?;
    let batch = subs
        .into_iter()
        .zip(parents)
        .zip(reveals)
        .enumerate()
        .map(|(i, ((s, p), reveals))| {
            let policy = ctx.policy(&s.source);
            let built = build(&state, s, received_ms, p, policy).map(|mut b| {
                b.new.reveals = reveals;
                b
            });
            built.map_err(|e| match e {
                ApiError::InvalidRecord(m) => ApiError::InvalidRecord(format!("records[{i}]: {m}")),
                ApiError::SchemaViolation(errors) => ApiError::SchemaViolation(
                    errors
                        .into_iter()
                        .map(|m| format!("records[{i}]: {m}"))
                        .collect(),
                ),
                other => other,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    sequence_and_answer(&state, batch, idem, query.wait.as_deref()).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SnapshotQuery {
    /// The snapshot's source.
    #[param(value_type = String, pattern = "^[a-z0-9][a-z0-9._-]{0,63}$", example = "acme-grades")]
    source: SourceId,
    /// Comma-separated base64 leaf hashes of parent records.
    #[serde(default)]
    parents: Option<String>,
    /// `receipt`: answer once a checkpoint covers the record (or the server's wait times out),
    /// with its receipt.
    #[param(value_type = Option<openapi::Wait>)]
    wait: Option<String>,
}

/// One snapshot as NDJSON: each non-empty line is one JSON item.
#[utoipa::path(
    post,
    path = "/v1/records/snapshot",
    tag = "records",
    security(("bearer" = ["ingest"])),
    params(SnapshotQuery, openapi::IdempotencyKey, openapi::SignedRequest),
    request_body(content = String, content_type = "application/x-ndjson",
        description = "The snapshot's items, one JSON value per line (`\\n` or `\\r\\n`); blank lines are skipped",
        example = "{\"token\":\"BTC\",\"grade\":88}\n{\"token\":\"ETH\",\"grade\":81}\n"),
    responses(
        (status = 201, description = "Sequenced", body = SubmitResponse),
        (status = 200, description = "A retry with a known `Idempotency-Key`: the first request's record", body = SubmitResponse),
        (status = 400, description = "A malformed query parameter or `Idempotency-Key` (`bad-request`), or a line that is \
            not valid JSON, too many items, or another reason the record is not valid (`invalid-record`)",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "The body is larger than the server's limit (`body-too-large`)",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 415, description = "The body is not `application/x-ndjson` (`unsupported-media-type`)",
            body = Problem, content_type = PROBLEM_JSON),
        WriteErrors,
    )
)]
pub(crate) async fn submit_ndjson(
    state: State,
    query: Result<Q<SnapshotQuery>, ApiError>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let state = state.0;
    // Authentication first: an anonymous caller learns nothing about the query's rules.
    let principal = auth::require(&state, &headers, Scope::Ingest).await?;
    let Q(query) = query?;
    if let Some(bound) = principal
        .source
        .as_deref()
        .filter(|b| *b != query.source.as_str())
    {
        return Err(ApiError::WrongSource {
            bound: bound.to_string(),
            requested: query.source.to_string(),
        });
    }
    super::require_media_type(
        &headers,
        "application/x-ndjson",
        "POST /v1/records/snapshot",
    )?;
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
        let value = record::parse_json(line, &limits(&state))
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
    let sub = Submission::snapshot(
        query.source,
        items,
        parents,
        record_signature_header(&headers)?,
    );
    let ctx = write_context(
        &state,
        &principal,
        (&headers, &method, &uri, &body),
        &[&sub.source],
    )
    .await?;
    let idem = idempotency_key(&headers, &body)?;
    let resolved = resolve_parents(&state, std::slice::from_ref(&sub)).await?;
    let policy = ctx.policy(&sub.source);
    let built = build(
        &state,
        sub,
        now_ms(),
        resolved.into_iter().next().unwrap_or_default(),
        policy,
    )?;
    sequence_and_answer(&state, vec![built], idem, query.wait.as_deref()).await
}

/// The NDJSON route's record signature: the `Provlog-Source-Signature` header, the record's
/// `signature` member as JSON (see `docs/formats.md`).
fn record_signature_header(headers: &HeaderMap) -> Result<Option<SourceSignature>, ApiError> {
    let Some(value) = headers.get("provlog-source-signature") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::BadRequest("Provlog-Source-Signature must be ASCII JSON".into()))?;
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| ApiError::BadRequest(format!("Provlog-Source-Signature: {e}")))
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
    // Small anonymous writes share transactions; keyed and large ones keep their own, so
    // an idempotency key always maps to exactly one transaction.
    // A reveal keeps its own transaction too: if its commitment was revealed meanwhile, only
    // its request fails.
    let reveals = records.iter().any(|r| r.reveals.is_some());
    let outcome = match &idem {
        None if records.len() <= GROUPED_MAX_RECORDS && !reveals => {
            SequenceOutcome::New(state.sequencer.sequence(records).await?)
        }
        _ => {
            state
                .store
                .sequence(&records, idem.as_ref().map(|(k, h)| (k.as_str(), *h)))
                .await?
        }
    };
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
    let mut body = SubmitResponse {
        detail: None,
        receipt_status: None,
        receipts: None,
        records: done.iter().map(Ack::from).collect(),
        replayed,
    };
    if wait_for_receipts {
        let covered =
            wait_for_checkpoint(state, done.iter().map(|d| d.index).max().unwrap_or(0)).await;
        if covered {
            let mut receipts = vec![];
            for d in &done {
                let receipt = proofs::build_receipt(state, d.index, None, None).await?;
                receipts.push(
                    serde_json::to_value(receipt).map_err(|e| ApiError::Internal(e.to_string()))?,
                );
            }
            body.receipts = Some(receipts);
            body.receipt_status = Some(ReceiptStatus::Ready);
        } else {
            body.receipt_status = Some(ReceiptStatus::Timeout);
            body.detail = Some("the records are durably logged; no checkpoint covered them in time — fetch their receipts later");
        }
    }
    Ok((status, Json(body)).into_response())
}

/// The body of `POST /v1/records`: one record, or `{"records": [...]}`, a batch sequenced
/// atomically.
// Documentation only: the handler parses the body by hand, for errors that name `records[i]`.
#[derive(ToSchema)]
#[serde(untagged)]
#[expect(
    dead_code,
    reason = "describes the request body for the OpenAPI document only"
)]
enum SubmitBody {
    One(Box<Submission>),
    Batch { records: Vec<Submission> },
}

/// The answer to a write.
// Members in alphabetical order: the order this body has always had on the wire (it began as a
// `serde_json` map, which sorts its keys).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubmitResponse {
    /// With `wait=receipt` and no checkpoint in time: what to do instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'static str>,
    /// With `wait=receipt`: whether `receipts` came.
    #[serde(skip_serializing_if = "Option::is_none")]
    receipt_status: Option<ReceiptStatus>,
    /// With `wait=receipt` and `receipt_status: ready`: a receipt for each record, in order.
    // JSON values, so their members stay sorted as they always were here.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<openapi::Receipt>>)]
    receipts: Option<Vec<Value>>,
    /// Where each record landed, in the order submitted.
    records: Vec<Ack>,
    /// True when this answers a retry with a known `Idempotency-Key`.
    replayed: bool,
}

/// Whether a checkpoint covered the records before the server's wait ran out.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ReceiptStatus {
    Ready,
    Timeout,
}

/// Where a record landed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Ack {
    #[schema(value_type = openapi::Hash)]
    content_root: Hash,
    /// The record's id: its log index in decimal.
    id: String,
    index: u64,
    #[schema(value_type = openapi::Hash)]
    leaf_hash: Hash,
}

impl From<&Sequenced> for Ack {
    fn from(s: &Sequenced) -> Self {
        Ack {
            content_root: s.content_root,
            id: s.index.to_string(),
            index: s.index,
            leaf_hash: s.leaf_hash,
        }
    }
}

/// Waits until a signed checkpoint covers `index`, up to the configured timeout.
pub(crate) async fn wait_for_checkpoint(state: &AppState, index: u64) -> bool {
    let mut rx = state.checkpoint_size.subscribe();
    let deadline = Duration::from_millis(state.config.wait_timeout_ms);
    tokio::time::timeout(deadline, rx.wait_for(|&size| size > index))
        .await
        .map(|r| r.is_ok())
        .unwrap_or(false)
}
