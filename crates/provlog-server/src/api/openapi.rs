//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and the
//! response types, served at `GET /openapi.json`; and Swagger UI at `/docs`, whose assets are
//! compiled into the binary (`utoipa-swagger-ui`'s `vendored` feature: no download at build time).
//!
//! Also here: schemas of shapes that other code owns — receipts and source signatures
//! (`provlog_core`) — described by hand. `tests/openapi.rs` parses real responses into them and
//! into [`Problem`] (unknown members refused), so they cannot drift unnoticed. The problem schema
//! and the shared error responses live with the errors, in [`crate::error`].

use std::sync::OnceLock;

use axum::Json;
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{
    Backpressure, Forbidden, IdempotencyConflict, Internal, NotJson, RateLimited, Unauthorized,
    Unavailable, UnknownReference, WritesDisabled,
};
// Where the tests (and older code) look for them.
pub use crate::error::{Problem, PROBLEM_JSON};

/// The document's name for the bearer-token security scheme of the write routes.
pub const BEARER: &str = "bearer";

/// The document but its paths, which [`super::Paths`] holds: info, the shared components, the
/// security scheme and the tags.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "provlog",
        version = env!("CARGO_PKG_VERSION"),
        description = "A verifiable provenance log. Records are sequenced into an RFC 9162 Merkle \
            tree; signed checkpoints (C2SP signed notes) commit to it, receipts prove a record is \
            in it, and the C2SP tlog-tiles routes let any tlog client audit the whole log. \
            Every error is `application/problem+json` (RFC 9457) with a stable `type`."
    ),
    components(
        schemas(Wait),
        responses(
            Internal, Unavailable, Unauthorized, WritesDisabled, Forbidden, NotJson, RateLimited,
            IdempotencyConflict, UnknownReference, Backpressure,
        ),
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "records", description = "Submitting records and looking them up"),
        (name = "proofs", description = "Receipts, consistency proofs and verification"),
        (name = "checkpoints", description = "Signed checkpoints (C2SP signed notes)"),
        (name = "sources", description = "The source registry as the log's registry records \
            state it: each source's keys and settings, with the records to prove them"),
        (name = "tlog-tiles", description = "The C2SP tlog-tiles read API: \
            <https://c2sp.org/tlog-tiles>"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
        (name = "admin", description = "Sources, API keys and the audit trail (scope `admin`)"),
    )
)]
pub struct ApiDoc;

/// Registers the bearer scheme the write routes name in their `security`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "An API key (`plk_<id>_<secret>`) with the route's scope: `ingest` (bound to one \
                 source) for writes, `admin` for `/v1/admin/…`, any scope for reads when reads \
                 are not public. The bootstrap token (`PROVLOG_ADMIN_TOKEN`) creates the first \
                 admin key (`POST /v1/admin/bootstrap`) and, until then, writes for any source. \
                 Each operation's security requirement names the role it needs: `ingest`, \
                 `admin`, `bootstrap`, or `read` next to an empty requirement (anonymous reads \
                 unless `public_reads` is off).",
            ))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// The document, built once: [`ApiDoc`] with the routes' [`super::Paths`].
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().merge_from(super::Paths::openapi()))
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object))
)]
pub(crate) async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(document())
}

/// Swagger UI at `/docs` (`/docs` redirects to `/docs/`), reading `/openapi.json`. Its online
/// validator badge is off: it would send the document's address to validator.swagger.io.
pub(crate) fn swagger_ui<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let config = utoipa_swagger_ui::Config::from("/openapi.json").validator_url("none");
    SwaggerUi::new("/docs").config(config).into()
}

/// A SHA-256 hash: standard base64 with padding (44 characters). Query parameters also take
/// 64 hex digits.
#[derive(Debug, ToSchema)]
#[schema(format = Byte, example = "U5Nu6YzPFpNB+lJOxsAGWlAeuqanKeXA7uKKG98Yeyk=")]
pub struct Hash(pub String);

/// What a submission logs.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum SubmittedKind {
    /// One JSON value (`payload`); the log keeps its hash, the content root.
    Signal,
    /// A list of items (`items` or `items_base64`), each provable on its own.
    Snapshot,
    /// A root computed by the client (`content`) over data that never leaves it.
    Digest,
    /// A hiding commitment to a payload (`commitment`), revealed later.
    Commitment,
    /// The payload and salt (`reveal`) of the commitment named as the only parent.
    Reveal,
    /// What happened (`payload`) for the one record named as parent: what scores read.
    Outcome,
}

/// A record's kind: what was submitted, or `source` for the registry records the log writes
/// itself (docs/formats.md, "Registry records").
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum RecordKind {
    Signal,
    Snapshot,
    Digest,
    /// A change to a source's registration; its one item is the change.
    Source,
    /// A mark the log writes into a source's chain to end a track-record window.
    Close,
    Commitment,
    Reveal,
    Outcome,
}

/// The `wait` query parameter of the write routes: `receipt` answers once a checkpoint covers
/// the records (or the server's wait runs out), with their receipts.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Wait {
    Receipt,
}

/// The `Idempotency-Key` header of the write routes.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// Makes the request safe to retry: 1 to 200 visible ASCII characters. A repeat with the
    /// same key and the same body answers 200 with the first request's records
    /// (`replayed: true`); with another body, 409.
    #[param(rename = "Idempotency-Key", value_type = String, required = false)]
    pub key: Option<String>,
}

/// The headers of a signed submission (RFC 9421 profile; see `docs/formats.md`, "Signed
/// requests"). Required when the source requires signatures, checked whenever present.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct SignedRequest {
    /// `provlog=("@method" "@target-uri" "content-digest");created=…;expires=…;nonce="…";keyid="…";alg="ed25519"`
    #[param(rename = "Signature-Input", value_type = String, required = false)]
    pub signature_input: Option<String>,
    /// `provlog=:<base64 Ed25519 signature>:`
    #[param(rename = "Signature", value_type = String, required = false)]
    pub signature: Option<String>,
    /// `sha-256=:<base64 SHA-256 of the body>:` (RFC 9530).
    #[param(rename = "Content-Digest", value_type = String, required = false)]
    pub content_digest: Option<String>,
    /// NDJSON snapshots only: the record's source `signature` object, as JSON.
    #[param(rename = "Provlog-Source-Signature", value_type = String, required = false)]
    pub source_signature: Option<String>,
}

/// A record's `signature`: the source's Ed25519 signature over a statement of what it submits
/// (see `docs/formats.md`, "Source signature").
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSignature {
    #[schema(pattern = "^ed25519$")]
    pub alg: String,
    /// 1..=64 characters of `[A-Za-z0-9._:-]`.
    #[schema(pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub key_id: String,
    /// Ed25519 public key, base64 of 32 bytes.
    #[schema(format = Byte)]
    pub public_key: String,
    /// Unique per key: 16..=128 characters of `[A-Za-z0-9_-]`.
    #[schema(pattern = "^[A-Za-z0-9_-]{16,128}$")]
    pub nonce: String,
    /// Unix seconds at signing, as claimed by the source.
    pub created: u64,
    /// Ed25519 signature, base64 of 64 bytes.
    #[schema(format = Byte)]
    pub sig: String,
}

/// A receipt (`provlog-receipt/v1`): self-contained evidence that a record is in the log, which
/// a consumer verifies offline (see `docs/formats.md`, "Receipts").
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// `provlog-receipt/v1`.
    #[schema(pattern = "^provlog-receipt/v1$")]
    pub format: String,
    /// The record's canonical bytes, exactly as hashed into the log (RFC 8785 JSON text).
    pub record: String,
    /// SHA-256(0x00 || record).
    #[schema(value_type = Hash)]
    pub leaf_hash: String,
    pub leaf_index: u64,
    /// Audit path from the leaf to the root of `checkpoint`.
    #[schema(value_type = Vec<Hash>)]
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint (C2SP signed note) the proof leads to.
    pub checkpoint: String,
    /// For one item of a snapshot: the item and its proof up to the record's content root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemInclusion>,
    /// Where the checkpoint was anchored on chain (absent until a confirmed anchor covers the
    /// record). Offline verification checks its size and log id; `provlog verify receipt
    /// --rpc-url` checks that the contract holds the checkpoint's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<AnchorRef>,
}

/// The registry records that establish a record's signing key (`docs/formats.md`, "Source-key
/// evidence"): item receipts (item 0, the event) at the record's checkpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceEvidence {
    /// `provlog-source-evidence/v1`.
    #[schema(pattern = "^provlog-source-evidence/v1$")]
    pub format: String,
    /// The registry record that added the key.
    pub key_added: Receipt,
    /// The registry record that retired it, when one is in the checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_retired: Option<Receipt>,
}

/// A track-record bundle (`provlog-track-record/v1`, `docs/formats.md`, "Track records"): a
/// source's records over a window in sequence order, with the records just before and after
/// it, all at one signed checkpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackRecord {
    /// `provlog-track-record/v1`.
    #[schema(pattern = "^provlog-track-record/v1$")]
    pub format: String,
    pub source: String,
    /// The window the bundle shows complete (as asked, narrowed to what can be shown).
    pub window: TrackWindow,
    /// The signed checkpoint (C2SP signed note) every proof leads to.
    pub checkpoint: String,
    /// The window's records, in sequence order.
    pub records: Vec<TrackEntry>,
    /// The source's record just before the window; absent when the window starts at its first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<TrackEntry>,
    /// The source's record just after the window (a `close` record when it reaches the present).
    pub after: TrackEntry,
    /// The commitments, from before the window, that reveals in the window open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commitments: Vec<TrackEntry>,
    /// Registry evidence of every key that signed in the window, by key id.
    #[serde(default)]
    pub evidence: std::collections::BTreeMap<String, SourceEvidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<AnchorRef>,
    /// The registry record declaring the source's scoring spec, once declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoring: Option<TrackEntry>,
    /// With a scoring spec: the outcome source's records from before the first scored record
    /// to the checkpoint, as a bundle of its own at the same checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub outcomes: Option<Box<TrackRecord>>,
}

/// A track record's score (`provlog-score/v1`, `docs/track-records.md`), as
/// `provlog track-record score` computes it from the bundle.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Score {
    #[schema(pattern = "^provlog-score/v1$")]
    pub format: String,
    pub source: String,
    pub window: TrackWindow,
    pub checkpoint_size: u64,
    #[schema(value_type = Hash)]
    pub checkpoint_root: String,
    pub spec: ScoringSpec,
    /// SHA-256 of the spec's RFC 8785 canonical JSON.
    #[schema(value_type = Hash)]
    pub spec_sha256: String,
    /// Sequence number of the registry record that declared the spec.
    pub declared_seq: u64,
    pub outcome_source: String,
    /// Signals and commitments of the window after the declaration…
    pub records: u64,
    /// …of which these have an outcome that counts.
    pub scored: u64,
    pub unresolved: u64,
    pub pending: u64,
    /// Commitments whose `reveal_by` passed unrevealed.
    pub expired_unrevealed: u64,
    pub unscorable: u64,
    pub before_declaration: u64,
    /// Signals: hits, misses, flat, hit_rate, cumulative_return, mean_return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub signals: Option<serde_json::Value>,
    /// Predictions: mae, rmse, directional_accuracy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub predictions: Option<serde_json::Value>,
    /// Every record that counted, in sequence order.
    #[schema(value_type = Vec<Object>)]
    pub scores: Vec<serde_json::Value>,
}

/// How a source's records are scored (`docs/track-records.md`), declared once in its registry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoringSpec {
    /// `signals` (−1/0/1 positions scored by returns) or `predictions` (numbers scored by the
    /// numbers that came true).
    #[schema(pattern = "^(signals|predictions)$")]
    pub kind: String,
    /// RFC 6901 JSON Pointer to the value in a record's payload.
    pub value: String,
    /// JSON Pointer to the number in an outcome's payload.
    pub outcome: String,
    /// Predictions only: JSON Pointer to the reference value the direction is measured from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// The source whose outcome records count; absent: the source itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_source: Option<String>,
    /// Seconds after a record before which no outcome counts for it.
    #[schema(minimum = 1, maximum = 316_224_000)]
    pub horizon_s: u64,
}

/// The bounds of a track-record window; each optional.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackWindow {
    /// Records received at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub since: Option<String>,
    /// Records received before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_seq: Option<u64>,
}

/// One record of a track record, with its inclusion proof at the bundle's checkpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackEntry {
    pub leaf_index: u64,
    /// The record's canonical bytes (RFC 8785 JSON text).
    pub record: String,
    #[schema(value_type = Vec<Hash>)]
    pub inclusion_proof: Vec<String>,
    /// The record's one item (base64), for the kinds whose content is one JSON item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub item: Option<String>,
}

/// One item of a snapshot record, with its content-tree inclusion proof.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInclusion {
    pub index: u64,
    /// The item's leaf data, base64: the JCS bytes of a JSON item, or the raw bytes.
    #[schema(format = Byte)]
    pub data: String,
    #[schema(value_type = Vec<Hash>)]
    pub proof: Vec<String>,
}

/// The transaction that anchored a checkpoint on an EVM chain.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnchorRef {
    pub chain_id: u64,
    /// `0x`-prefixed contract address.
    pub contract: String,
    /// `0x`-prefixed bytes32 log id: keccak256 of the checkpoint's origin line.
    pub log_id: String,
    /// The transaction that anchored it, and its block (at least the log's configured number
    /// of confirmations deep when the receipt was built).
    pub tx_hash: String,
    pub block_number: u64,
    pub block_hash: String,
    /// Unix seconds of that block: the record was logged no later than this. Absent in
    /// receipts of anchors confirmed before the log recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_timestamp: Option<u64>,
    /// The anchored tree size (the checkpoint's).
    pub tree_size: u64,
}
