//! Every error the API returns, mapped to HTTP at this one boundary as RFC 9457
//! `application/problem+json` with a stable `type`. A 500 never carries internal text: the full
//! error is logged with the request id, the client gets the id.

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use provlog_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoResponses, ToResponse, ToSchema};

/// Media type of every error body (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Prefix of every problem `type`.
pub const PROBLEM_BASE: &str = "urn:provlog:problem:";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    InvalidRecord(String),
    #[error("{0}")]
    UnknownParent(String),
    #[error("request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("a batch holds at most {limit} records, got {got}")]
    BatchTooLarge { limit: usize, got: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("missing or wrong bearer token")]
    Unauthorized,
    #[error("writes are disabled: no admin token is configured")]
    WritesDisabled,
    #[error("{0}")]
    NotFound(String),
    #[error("idempotency key {0:?} was used with a different request")]
    IdempotencyConflict(String),
    #[error("{0}")]
    NotYetIncluded(String),
    #[error("the log is busy integrating earlier records; retry shortly")]
    Backpressure,
    #[error("the database is unavailable; retry shortly")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
    // ---- trust and policy ----
    #[error("unknown API key")]
    UnknownKey,
    #[error("this API key was revoked")]
    KeyRevoked,
    #[error("this API key expired (it was rotated away and its overlap has passed)")]
    KeyExpired,
    #[error("this route needs an API key with scope {needed}; this key has scope {has}")]
    WrongScope { needed: &'static str, has: String },
    #[error("this API key writes for source {bound:?} only, not {requested:?}")]
    WrongSource { bound: String, requested: String },
    #[error("the bootstrap token was spent: an admin key exists; use an API key")]
    BootstrapSpent,
    #[error("{0}")]
    UnknownSource(String),
    #[error("{0}")]
    Conflict(String),
    #[error("source {source_id:?} requires signed submissions: {reason}")]
    SignatureRequired { source_id: String, reason: String },
    #[error("{0}")]
    BadSignature(String),
    #[error("{0}")]
    UnknownSigningKey(String),
    #[error(
        "signature created at {created}, more than {max_age_secs} s ago, or expired at {expires}"
    )]
    SignatureExpired {
        created: u64,
        expires: u64,
        max_age_secs: u64,
    },
    #[error("signature created at {created}, in the future (now {now})")]
    SignatureFromFuture { created: u64, now: u64 },
    #[error("nonce {nonce:?} of key {key_id:?} was already used")]
    ReplayedNonce { key_id: String, nonce: String },
    #[error("{0}")]
    DigestMismatch(String),
    #[error("{} schema check(s) failed", .0.len())]
    SchemaViolation(Vec<String>),
    /// A reveal the log refuses (nothing is stored).
    #[error("{1}")]
    RevealRefused(RevealRefusal, String),
    #[error("rate limit of this API key exceeded; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    // ---- answered outside the handlers ----
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("the request target is longer than {limit} bytes")]
    UriTooLong { limit: usize },
    #[error("the request's header fields are larger than {limit} bytes")]
    HeadersTooLarge { limit: usize },
    /// Another error status produced outside the handlers (an extractor's or the router's own
    /// answer), kept with its status; see [`problem_for_every_error`].
    #[error("{1}")]
    Status(StatusCode, String),
}

/// Why a reveal is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevealRefusal {
    /// Its parent is not a commitment of the same source.
    NotACommitment,
    /// The payload and salt do not open the commitment.
    DoesNotOpen,
    /// Before the commitment's `reveal_after` or not before its `reveal_by`.
    OutsideWindow,
    /// The commitment was revealed before.
    AlreadyRevealed,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            InvalidRecord(_) => (StatusCode::BAD_REQUEST, "invalid-record", "Invalid record"),
            UnknownParent(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-parent",
                "Unknown parent",
            ),
            BodyTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "Body too large",
            ),
            BatchTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "batch-too-large",
                "Batch too large",
            ),
            UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            WritesDisabled => (StatusCode::FORBIDDEN, "writes-disabled", "Writes disabled"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            IdempotencyConflict(_) => (
                StatusCode::CONFLICT,
                "idempotency-conflict",
                "Idempotency conflict",
            ),
            NotYetIncluded(_) => (
                StatusCode::CONFLICT,
                "not-yet-included",
                "Not yet in a checkpoint",
            ),
            Backpressure => (StatusCode::SERVICE_UNAVAILABLE, "backpressure", "Busy"),
            Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Unavailable",
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
            UnknownKey => (StatusCode::UNAUTHORIZED, "unknown-key", "Unknown API key"),
            KeyRevoked => (StatusCode::UNAUTHORIZED, "key-revoked", "API key revoked"),
            KeyExpired => (StatusCode::UNAUTHORIZED, "key-expired", "API key expired"),
            WrongScope { .. } => (StatusCode::FORBIDDEN, "wrong-scope", "Wrong scope"),
            WrongSource { .. } => (StatusCode::FORBIDDEN, "wrong-source", "Wrong source"),
            BootstrapSpent => (
                StatusCode::UNAUTHORIZED,
                "bootstrap-spent",
                "Bootstrap token spent",
            ),
            UnknownSource(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-source",
                "Unknown source",
            ),
            Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            SignatureRequired { .. } => (
                StatusCode::UNAUTHORIZED,
                "signature-required",
                "Signature required",
            ),
            BadSignature(_) => (StatusCode::UNAUTHORIZED, "bad-signature", "Bad signature"),
            UnknownSigningKey(_) => (
                StatusCode::UNAUTHORIZED,
                "unknown-signing-key",
                "Unknown signing key",
            ),
            SignatureExpired { .. } => (
                StatusCode::UNAUTHORIZED,
                "signature-expired",
                "Signature expired",
            ),
            SignatureFromFuture { .. } => (
                StatusCode::UNAUTHORIZED,
                "signature-from-future",
                "Signature from the future",
            ),
            ReplayedNonce { .. } => (StatusCode::UNAUTHORIZED, "replayed-nonce", "Replayed nonce"),
            DigestMismatch(_) => (
                StatusCode::BAD_REQUEST,
                "digest-mismatch",
                "Content-Digest mismatch",
            ),
            RevealRefused(RevealRefusal::NotACommitment, _) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "not-a-commitment",
                "Not a commitment",
            ),
            RevealRefused(RevealRefusal::DoesNotOpen, _) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "reveal-does-not-open",
                "Reveal does not open its commitment",
            ),
            RevealRefused(RevealRefusal::OutsideWindow, _) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "reveal-outside-window",
                "Reveal outside its window",
            ),
            RevealRefused(RevealRefusal::AlreadyRevealed, _) => {
                (StatusCode::CONFLICT, "already-revealed", "Already revealed")
            }
            SchemaViolation(_) => (
                StatusCode::BAD_REQUEST,
                "schema-violation",
                "Schema violation",
            ),
            RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Rate limited",
            ),
            MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            UriTooLong { .. } => (StatusCode::URI_TOO_LONG, "uri-too-long", "URI too long"),
            HeadersTooLarge { .. } => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers-too-large",
                "Header fields too large",
            ),
            Status(status, _) => match *status {
                StatusCode::NOT_FOUND => (*status, "not-found", "Not found"),
                StatusCode::PAYLOAD_TOO_LARGE => (*status, "body-too-large", "Body too large"),
                StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                    (*status, "unsupported-media-type", "Unsupported media type")
                }
                StatusCode::SERVICE_UNAVAILABLE => (*status, "unavailable", "Unavailable"),
                s if s.is_client_error() => (s, "bad-request", "Bad request"),
                _ => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                ),
            },
        }
    }

    /// The problem `type` of this error.
    pub fn problem_type(&self) -> String {
        format!("{PROBLEM_BASE}{}", self.parts().1)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::IdempotencyConflict { key } => ApiError::IdempotencyConflict(key),
            e @ StoreError::RevealTooLate { .. } => {
                ApiError::RevealRefused(RevealRefusal::OutsideWindow, e.to_string())
            }
            StoreError::AlreadyRevealed { commitment, reveal } => ApiError::RevealRefused(
                RevealRefusal::AlreadyRevealed,
                format!("commitment {commitment} was revealed by record {reveal}; a commitment is revealed once"),
            ),
            // A number from the request beyond what the database stores (i64): no index,
            // size or cursor of the log is that large.
            StoreError::OutOfRange(v) => ApiError::BadRequest(format!(
                "{v} is out of range: indexes, sizes and cursors are at most {}",
                i64::MAX
            )),
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                metrics::counter!("provlog_database_unavailable_total", "where" => "request")
                    .increment(1);
                ApiError::Unavailable
            }
            e => ApiError::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title) = self.parts();
        let detail = match &self {
            ApiError::Status(status, text) if status.is_server_error() => {
                tracing::error!(status = %status, error = %text, "internal error outside a handler");
                metrics::counter!("provlog_internal_errors_total").increment(1);
                "internal error; the server logged the details under this request's id".to_string()
            }
            ApiError::Internal(internal) => {
                tracing::error!(error = %internal, "internal error");
                metrics::counter!("provlog_internal_errors_total").increment(1);
                "internal error; the server logged the details under this request's id".to_string()
            }
            ApiError::SchemaViolation(errors) => {
                format!(
                    "{} schema check(s) failed: {}",
                    errors.len(),
                    errors.join("; ")
                )
            }
            other => other.to_string(),
        };
        let errors = match &self {
            ApiError::SchemaViolation(errors) => Some(errors.clone()),
            _ => None,
        };
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            metrics::counter!("provlog_auth_failures_total", "reason" => slug).increment(1);
        }
        // The documented schema is the wire format: one type for both.
        let body = Problem {
            problem_type: format!("{PROBLEM_BASE}{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            errors,
        };
        let body = serde_json::to_string(&body).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let ApiError::RateLimited { retry_after_secs } = &self {
            metrics::counter!("provlog_rate_limited_total").increment(1);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Largest body of a non-problem error answer read back by [`problem_for_every_error`].
const MAX_PLAIN_ERROR_BODY: usize = 4096;

/// Makes every error answer a problem: an error status produced outside the handlers without a
/// problem body — the router's 405 for a known path under another method, an extractor's
/// plain-text rejection — gets one, with the same status and its other headers (`Allow`).
pub async fn problem_for_every_error(response: Response) -> Response {
    let status = response.status();
    // Problems, and the JSON bodies handlers document for an error status (`/readyz`'s 503
    // `Readiness`), are left as they are.
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with("application/problem+json") || ct.starts_with("application/json")
        });
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_PLAIN_ERROR_BODY)
        .await
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("error")
                .to_ascii_lowercase()
        });
    let error = match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed(
            match parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
            {
                Some(allow) => format!("this route takes {allow}"),
                None => "this route does not take this method".to_string(),
            },
        ),
        other => ApiError::Status(other, text),
    };
    let mut problem = error.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().append(name, value.clone());
        }
    }
    problem
}

/// An error (RFC 9457 problem details).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "type": "urn:provlog:problem:not-found",
    "title": "Not found",
    "status": 404,
    "detail": "no record 7"
}))]
pub struct Problem {
    /// `urn:provlog:problem:` followed by one of `bad-request`, `invalid-record`,
    /// `unknown-parent`, `body-too-large`, `batch-too-large`, `unsupported-media-type`,
    /// `unauthorized`, `writes-disabled`, `not-found`, `idempotency-conflict`,
    /// `not-yet-included`, `backpressure`, `unavailable`, `internal`; and of trust and policy:
    /// `unknown-key`, `key-revoked`, `key-expired`, `wrong-scope`, `wrong-source`,
    /// `bootstrap-spent`, `unknown-source`, `conflict`, `signature-required`, `bad-signature`,
    /// `unknown-signing-key`, `signature-expired`, `signature-from-future`, `replayed-nonce`,
    /// `digest-mismatch`, `schema-violation`, `rate-limited`; and for requests no route takes:
    /// `method-not-allowed`, `uri-too-long`, `headers-too-large`.
    #[serde(rename = "type")]
    #[schema(pattern = "^urn:provlog:problem:[a-z-]+$")]
    pub problem_type: String,
    /// A short summary of the `type`; the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this request. For `internal`, only a pointer to the server's log
    /// (found by the `x-request-id` response header).
    pub detail: String,
    /// `schema-violation`: each failed check (`records[i]`, the item, the JSON pointer, why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
}

/// The database is unavailable (`unavailable`); retry after `Retry-After` seconds.
#[derive(Debug, ToResponse)]
#[response(
    content_type = PROBLEM_JSON,
    headers(("Retry-After" = u32, description = "Seconds to wait before retrying")),
)]
pub struct Unavailable(pub Problem);

/// Internal error (`internal`): logged in full under the response's `x-request-id`.
#[derive(Debug, ToResponse)]
#[response(content_type = PROBLEM_JSON)]
pub struct Internal(pub Problem);

/// No bearer token (`unauthorized`); an unknown, revoked or expired API key (`unknown-key`,
/// `key-revoked`, `key-expired`) or a spent bootstrap token (`bootstrap-spent`); on writes, a
/// refused signature (`signature-required`, `bad-signature`, `unknown-signing-key`,
/// `signature-expired`, `signature-from-future`, `replayed-nonce`).
#[derive(Debug, ToResponse)]
#[response(
    content_type = PROBLEM_JSON,
    headers(("WWW-Authenticate" = String, description = "`Bearer`")),
)]
pub struct Unauthorized(pub Problem);

/// The key's scope does not allow this route (`wrong-scope`), or an ingest key writes for
/// another source (`wrong-source`); the bootstrap route without a configured bootstrap token
/// (`writes-disabled`).
#[derive(Debug, ToResponse)]
#[response(content_type = PROBLEM_JSON)]
pub struct WritesDisabled(pub Problem);

/// The key's scope does not allow this route (`wrong-scope`); the bootstrap route without a
/// configured bootstrap token (`writes-disabled`).
#[derive(Debug, ToResponse)]
#[response(content_type = PROBLEM_JSON)]
pub struct Forbidden(pub Problem);

/// The `Idempotency-Key` was used with a different body (`idempotency-conflict`), or a
/// reveal's commitment was revealed before (`already-revealed`)
#[derive(Debug, ToResponse)]
#[response(content_type = PROBLEM_JSON)]
pub struct IdempotencyConflict(pub Problem);

/// A parent is not a record of this log (`unknown-parent`), the source is not registered
/// (`unknown-source`), or a reveal is refused: its parent is not a commitment of its source
/// (`not-a-commitment`), it does not open it (`reveal-does-not-open`), or it comes outside the
/// commitment's window (`reveal-outside-window`)
#[derive(Debug, ToResponse)]
#[response(content_type = PROBLEM_JSON)]
pub struct UnknownReference(pub Problem);

/// Too many records wait to be integrated (`backpressure`), or the database is unavailable
/// (`unavailable`); retry after `Retry-After` seconds
#[derive(Debug, ToResponse)]
#[response(
    content_type = PROBLEM_JSON,
    headers(("Retry-After" = u32, description = "Seconds to wait before retrying")),
)]
pub struct Backpressure(pub Problem);

/// A body that is not `application/json` (`unsupported-media-type`)
#[derive(Debug, ToResponse)]
#[response(content_type = PROBLEM_JSON)]
pub struct NotJson(pub Problem);

/// The API key's rate limit is exhausted (`rate-limited`); retry after `Retry-After` seconds.
#[derive(Debug, ToResponse)]
#[response(
    content_type = PROBLEM_JSON,
    headers(("Retry-After" = u32, description = "Seconds until the key's bucket has a token again")),
)]
pub struct RateLimited(pub Problem);

/// Declares the error responses a class of routes shares, as `IntoResponses` types a
/// handler's `responses(...)` names next to its own: references to the components above.
macro_rules! shared_errors {
    ($($(#[$doc:meta])* $name:ident { $($status:literal => $response:ty),* $(,)? })*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
                BTreeMap::from([$((
                    $status.to_string(),
                    RefOr::Ref(Ref::from_response_name(<$response as ToResponse>::response().0)),
                )),*])
            }
        }
    )*};
}

shared_errors! {
    /// What any route that reads the store may answer besides its own: 500 and 503.
    ReadErrors { "500" => Internal, "503" => Unavailable }
    /// The write routes' 401, 403, 409, 422, 429, 500 and 503 (which also names backpressure).
    WriteErrors {
        "401" => Unauthorized,
        "403" => WritesDisabled,
        "409" => IdempotencyConflict,
        "422" => UnknownReference,
        "429" => RateLimited,
        "500" => Internal,
        "503" => Backpressure,
    }
    /// The admin routes' 401, 403, 429, 500 and 503.
    AdminErrors {
        "401" => Unauthorized,
        "403" => Forbidden,
        "429" => RateLimited,
        "500" => Internal,
        "503" => Unavailable,
    }
    /// The admin routes' that take a JSON body: theirs and 415.
    AdminBodyErrors {
        "401" => Unauthorized,
        "403" => Forbidden,
        "415" => NotJson,
        "429" => RateLimited,
        "500" => Internal,
        "503" => Unavailable,
    }
    /// The bootstrap route's: the admin routes' but 429, as the rate limit is per API key and
    /// bootstrap takes the bootstrap token.
    BootstrapErrors {
        "401" => Unauthorized,
        "403" => Forbidden,
        "500" => Internal,
        "503" => Unavailable,
    }
}
