//! What a call can fail with: the transport, an RFC 9457 problem the server answered, or a
//! response that is not what the API documents. Problems keep their `type`, `status`, `detail`
//! and `Retry-After`, so callers can branch on [`ProblemKind`] and back off as told.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Prefix of every problem `type` the server sends.
pub const PROBLEM_BASE: &str = "urn:provlog:problem:";

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL or a URL built from it is not valid.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// No HTTP answer: connection refused or reset, timeout, a body cut short.
    #[error("{method} {url}: {source}")]
    Transport {
        method: &'static str,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error as `application/problem+json`.
    #[error(transparent)]
    Problem(Box<Problem>),
    /// An error status without a problem document (a proxy, a crash mid-answer).
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
    /// An input this client cannot send (a record it cannot sign, a bad key id).
    #[error("{0}")]
    Invalid(String),
    /// A success status whose body is not what the API documents.
    #[error("{url}: unexpected response body: {reason}")]
    Decode { url: String, reason: String },
}

impl From<Problem> for ClientError {
    fn from(p: Problem) -> Self {
        ClientError::Problem(Box::new(p))
    }
}

impl ClientError {
    /// The problem the server answered, if it answered one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Problem(p) => Some(p),
            _ => None,
        }
    }

    /// The problem's kind, if the server answered one.
    pub fn kind(&self) -> Option<&ProblemKind> {
        self.problem().map(|p| &p.kind)
    }

    /// HTTP status of the answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Problem(p) => Some(p.status),
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether no HTTP answer arrived; the request may or may not have been processed.
    pub fn is_transport(&self) -> bool {
        matches!(self, ClientError::Transport { .. })
    }

    /// Whether the server said it is temporarily unable to serve (503: backpressure, database).
    pub fn is_unavailable(&self) -> bool {
        self.status() == Some(503)
    }

    /// Whether the server refused for the API key's rate limit (429): retry after
    /// [`ClientError::retry_after`].
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// How long the server asked the client to wait before retrying.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::Problem(p) => p.retry_after,
            ClientError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// An RFC 9457 problem document, with the headers that go with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("HTTP {status} {kind}: {detail}")]
pub struct Problem {
    pub kind: ProblemKind,
    /// The `type` URI as sent.
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// `Retry-After`, when the server sent one.
    pub retry_after: Option<Duration>,
    /// `x-request-id`: what the server logged a 500's details under.
    pub request_id: Option<String>,
}

impl Problem {
    /// Parses a problem body; `None` when it is not a problem document.
    pub fn parse(
        body: &[u8],
        retry_after: Option<Duration>,
        request_id: Option<String>,
    ) -> Option<Problem> {
        #[derive(Deserialize)]
        struct Doc {
            #[serde(rename = "type")]
            type_uri: String,
            #[serde(default)]
            title: String,
            status: u16,
            #[serde(default)]
            detail: String,
        }
        let doc: Doc = serde_json::from_slice(body).ok()?;
        Some(Problem {
            kind: ProblemKind::from_type(&doc.type_uri),
            type_uri: doc.type_uri,
            title: doc.title,
            status: doc.status,
            detail: doc.detail,
            retry_after,
            request_id,
        })
    }
}

/// The problem `type`s of the provlog API (`urn:provlog:problem:<slug>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    BadRequest,
    InvalidRecord,
    UnknownParent,
    BodyTooLarge,
    BatchTooLarge,
    UnsupportedMediaType,
    Unauthorized,
    WritesDisabled,
    NotFound,
    IdempotencyConflict,
    NotYetIncluded,
    Backpressure,
    Unavailable,
    Internal,
    // Trust and policy.
    UnknownKey,
    KeyRevoked,
    KeyExpired,
    WrongScope,
    WrongSource,
    BootstrapSpent,
    UnknownSource,
    Conflict,
    SignatureRequired,
    BadSignature,
    UnknownSigningKey,
    SignatureExpired,
    SignatureFromFuture,
    ReplayedNonce,
    DigestMismatch,
    SchemaViolation,
    RateLimited,
    // Commitments and reveals.
    NotACommitment,
    RevealDoesNotOpen,
    RevealOutsideWindow,
    AlreadyRevealed,
    /// A type this client does not know (a newer server, another service).
    Other(String),
}

const SLUGS: [(&str, ProblemKind); 35] = [
    ("bad-request", ProblemKind::BadRequest),
    ("invalid-record", ProblemKind::InvalidRecord),
    ("unknown-parent", ProblemKind::UnknownParent),
    ("body-too-large", ProblemKind::BodyTooLarge),
    ("batch-too-large", ProblemKind::BatchTooLarge),
    ("unsupported-media-type", ProblemKind::UnsupportedMediaType),
    ("unauthorized", ProblemKind::Unauthorized),
    ("writes-disabled", ProblemKind::WritesDisabled),
    ("not-found", ProblemKind::NotFound),
    ("idempotency-conflict", ProblemKind::IdempotencyConflict),
    ("not-yet-included", ProblemKind::NotYetIncluded),
    ("backpressure", ProblemKind::Backpressure),
    ("unavailable", ProblemKind::Unavailable),
    ("internal", ProblemKind::Internal),
    ("unknown-key", ProblemKind::UnknownKey),
    ("key-revoked", ProblemKind::KeyRevoked),
    ("key-expired", ProblemKind::KeyExpired),
    ("wrong-scope", ProblemKind::WrongScope),
    ("wrong-source", ProblemKind::WrongSource),
    ("bootstrap-spent", ProblemKind::BootstrapSpent),
    ("unknown-source", ProblemKind::UnknownSource),
    ("conflict", ProblemKind::Conflict),
    ("signature-required", ProblemKind::SignatureRequired),
    ("bad-signature", ProblemKind::BadSignature),
    ("unknown-signing-key", ProblemKind::UnknownSigningKey),
    ("signature-expired", ProblemKind::SignatureExpired),
    ("signature-from-future", ProblemKind::SignatureFromFuture),
    ("replayed-nonce", ProblemKind::ReplayedNonce),
    ("digest-mismatch", ProblemKind::DigestMismatch),
    ("schema-violation", ProblemKind::SchemaViolation),
    ("rate-limited", ProblemKind::RateLimited),
    ("not-a-commitment", ProblemKind::NotACommitment),
    ("reveal-does-not-open", ProblemKind::RevealDoesNotOpen),
    ("reveal-outside-window", ProblemKind::RevealOutsideWindow),
    ("already-revealed", ProblemKind::AlreadyRevealed),
];

impl ProblemKind {
    /// The kind named by a problem `type` URI.
    pub fn from_type(type_uri: &str) -> ProblemKind {
        type_uri
            .strip_prefix(PROBLEM_BASE)
            .and_then(|slug| SLUGS.iter().find(|(s, _)| *s == slug))
            .map(|(_, kind)| kind.clone())
            .unwrap_or_else(|| ProblemKind::Other(type_uri.to_string()))
    }

    /// The slug after [`PROBLEM_BASE`], or the whole unknown type.
    pub fn slug(&self) -> &str {
        match self {
            ProblemKind::Other(t) => t,
            known => SLUGS
                .iter()
                .find(|(_, k)| k == known)
                .map(|(s, _)| *s)
                .unwrap_or_default(),
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// `Retry-After` as delta-seconds (what provlog sends). An HTTP-date is not understood and
/// gives `None`, so the caller falls back to its own backoff.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn problems_parse_with_their_kind_and_headers() {
        let body = br#"{"type":"urn:provlog:problem:backpressure","title":"Busy","status":503,"detail":"the log is busy"}"#;
        let p = Problem::parse(body, Some(Duration::from_secs(1)), Some("req-1".into())).unwrap();
        assert_eq!(p.kind, ProblemKind::Backpressure);
        assert_eq!((p.status, p.title.as_str()), (503, "Busy"));
        assert_eq!(p.detail, "the log is busy");
        assert_eq!(p.retry_after, Some(Duration::from_secs(1)));
        assert_eq!(p.request_id.as_deref(), Some("req-1"));
        let e = ClientError::from(p);
        assert!(e.is_unavailable() && !e.is_transport());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
        assert_eq!(e.kind(), Some(&ProblemKind::Backpressure));
        assert_eq!(
            e.to_string(),
            "HTTP 503 backpressure: the log is busy",
            "the message names kind and detail"
        );
    }

    #[test]
    fn every_known_slug_round_trips_and_unknown_types_are_kept() {
        for (slug, kind) in SLUGS {
            assert_eq!(
                ProblemKind::from_type(&format!("{PROBLEM_BASE}{slug}")),
                kind
            );
            assert_eq!(kind.slug(), slug);
        }
        let other = ProblemKind::from_type("https://example.com/probs/out-of-credit");
        assert_eq!(
            other,
            ProblemKind::Other("https://example.com/probs/out-of-credit".into())
        );
        assert_eq!(
            ProblemKind::from_type("urn:provlog:problem:brand-new"),
            ProblemKind::Other("urn:provlog:problem:brand-new".into())
        );
    }

    #[test]
    fn non_problem_bodies_are_not_problems() {
        for body in [
            &b"<html>502</html>"[..],
            b"{}",
            b"{\"type\":1,\"status\":500}",
            b"",
        ] {
            assert_eq!(Problem::parse(body, None, None), None, "{body:?}");
        }
        // Missing optional members are fine.
        let p = Problem::parse(br#"{"type":"about:blank","status":404}"#, None, None).unwrap();
        assert_eq!((p.status, p.detail.as_str()), (404, ""));
    }

    #[test]
    fn retry_after_is_delta_seconds() {
        assert_eq!(parse_retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
