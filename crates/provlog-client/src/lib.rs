//! # provlog-client
//!
//! A typed async client of the provlog HTTP API (see `crates/provlog-server/src/api`): submit
//! records, look them up, fetch receipts, checkpoints, consistency proofs and C2SP tiles. Used by
//! the end-to-end tests and the load generator; verification itself is `provlog_core`'s, so what
//! this client fetches can be checked without trusting the server.
//!
//! Errors are [`ClientError`]: a server's RFC 9457 problem keeps its `type` ([`ProblemKind`]),
//! status, detail and `Retry-After`. [`Client::submit_with_retry`] backs off on 503.
//!
//! ```no_run
//! # async fn demo() -> Result<(), provlog_client::ClientError> {
//! use provlog_client::{signal, Client, Submission};
//! let client = Client::new("http://127.0.0.1:8080")?.with_token("admin-token-0123456789");
//! let ack = client
//!     .submit(&Submission::one(&signal("acme", serde_json::json!({"grade": 71}))))
//!     .await?;
//! let receipt = client.receipt(ack.records[0].index, None, None).await?;
//! # Ok(()) }
//! ```

mod error;
pub mod paths;
mod payload;
mod retry;
mod trust;
mod types;

use std::fmt;
use std::sync::Arc;

use provlog_core::receipt::Receipt;
use provlog_core::Hash;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

pub use error::{parse_retry_after, ClientError, Problem, ProblemKind, PROBLEM_BASE};
pub use payload::{Evidence, PayloadFailure, PayloadRecord, RecordEvidence};
pub use retry::RetryPolicy;
pub use trust::{random_nonce, IssuedKey, SourceSigner, REQUEST_SIGNATURE_LIFETIME_SECS};
pub use types::{
    digest, outcome, signal, snapshot, Ack, AnchorEntry, AnchorPage, CheckpointEntry,
    CheckpointPage, ConsistencyProof, FindQuery, LogInfo, RecordPage, RecordSummary, RecordView,
    Submission, SubmitResponse,
};

/// A handle to one provlog server. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<Arc<str>>,
    /// Signs every submission (RFC 9421) as this source key.
    signer: Option<Arc<SourceSigner>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "redacted"))
            .field("signer", &self.signer)
            .finish()
    }
}

/// A response read whole: status, headers, body.
struct Raw {
    url: String,
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Client {
    /// A client of the server at `base` (`http://host:port`, optionally with a path prefix).
    pub fn new(base: &str) -> Result<Self, ClientError> {
        Ok(Client {
            http: reqwest::Client::new(),
            base: paths::base_url(base)?,
            token: None,
            signer: None,
        })
    }

    /// A client over an existing `reqwest::Client` (timeouts, pool settings).
    pub fn with_http(base: &str, http: reqwest::Client) -> Result<Self, ClientError> {
        Ok(Client {
            http,
            base: paths::base_url(base)?,
            token: None,
            signer: None,
        })
    }

    /// The bearer token that writes need.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Arc::from(token.into()));
        self
    }

    /// Signs every submission with `signer` (RFC 9421 `Signature-Input`, `Signature` and
    /// `Content-Digest`), as sources that require signatures need. Records' own `signature`
    /// members are the caller's: [`SourceSigner::sign_record`].
    pub fn with_signer(mut self, signer: SourceSigner) -> Self {
        self.signer = Some(Arc::new(signer));
        self
    }

    /// Adds the request signature when this client has a signer.
    fn signed(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
        body: &[u8],
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let Some(signer) = &self.signer else {
            return Ok(request);
        };
        let h = signer.sign_request("POST", url.as_str(), body)?;
        Ok(request
            .header("content-digest", h.content_digest)
            .header("signature-input", h.signature_input)
            .header("signature", h.signature))
    }

    /// The same client (pool, token) pointed at another server, e.g. a restarted one.
    pub fn with_base(&self, base: &str) -> Result<Self, ClientError> {
        Ok(Client {
            base: paths::base_url(base)?,
            ..self.clone()
        })
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The URL of `path` with `query`; exposed for tools that fetch routes this client lacks.
    pub fn url(&self, path: &str, query: &[(&str, Option<String>)]) -> Result<Url, ClientError> {
        paths::join(&self.base, path, query)
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        method: &'static str,
        url: &Url,
    ) -> Result<Raw, ClientError> {
        let transport = |source| ClientError::Transport {
            method,
            url: url.to_string(),
            source,
        };
        let resp = request.send().await.map_err(transport)?;
        let (status, headers) = (resp.status(), resp.headers().clone());
        let body = resp.bytes().await.map_err(transport)?.to_vec();
        let raw = Raw {
            url: url.to_string(),
            status,
            headers,
            body,
        };
        if raw.status.is_success() {
            Ok(raw)
        } else {
            Err(error_of(raw))
        }
    }

    async fn get_raw(
        &self,
        path: &str,
        query: &[(&str, Option<String>)],
    ) -> Result<Raw, ClientError> {
        let url = self.url(path, query)?;
        self.send(self.http.request(Method::GET, url.clone()), "GET", &url)
            .await
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, Option<String>)],
    ) -> Result<T, ClientError> {
        decode(self.get_raw(path, query).await?)
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.header(AUTHORIZATION, format!("Bearer {token}")),
            None => request,
        }
    }

    /// `POST /v1/records`: one record or a batch, sequenced atomically. One attempt.
    pub async fn submit(&self, submission: &Submission) -> Result<SubmitResponse, ClientError> {
        let wait = submission
            .waits_for_receipts()
            .then(|| "receipt".to_string());
        let url = self.url("v1/records", &[("wait", wait)])?;
        let request = self
            .authorized(self.http.post(url.clone()))
            .header(CONTENT_TYPE, "application/json")
            .body(submission.body().to_vec());
        let mut request = self.signed(request, &url, submission.body())?;
        if let Some(key) = submission.key() {
            request = request.header("idempotency-key", key);
        }
        decode(self.send(request, "POST", &url).await?)
    }

    /// [`Client::submit`], retried as `policy` says: 503 after `Retry-After`, and lost
    /// connections when the submission has an idempotency key.
    pub async fn submit_with_retry(
        &self,
        submission: &Submission,
        policy: &RetryPolicy,
    ) -> Result<SubmitResponse, ClientError> {
        let mut attempt = 1;
        loop {
            match self.submit(submission).await {
                Ok(r) => return Ok(r),
                Err(e) => match policy.delay(attempt, &e, submission.key().is_some()) {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => return Err(e),
                },
            }
            attempt += 1;
        }
    }

    /// `POST /v1/records/snapshot`: one snapshot whose items are NDJSON lines.
    pub async fn submit_ndjson_snapshot(
        &self,
        source: &str,
        ndjson: Vec<u8>,
        idempotency_key: Option<&str>,
    ) -> Result<SubmitResponse, ClientError> {
        let url = self.url(
            "v1/records/snapshot",
            &[("source", Some(source.to_string()))],
        )?;
        let signed = self.signed(self.http.post(url.clone()), &url, &ndjson)?;
        let mut request = self
            .authorized(signed)
            .header(CONTENT_TYPE, "application/x-ndjson")
            .body(ndjson);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        decode(self.send(request, "POST", &url).await?)
    }

    /// `GET /v1/records/{index}`.
    pub async fn record(&self, index: u64) -> Result<RecordView, ClientError> {
        self.get_json(&format!("v1/records/{index}"), &[]).await
    }

    /// `GET /v1/records?…`: one page of a lookup.
    pub async fn find(&self, query: &FindQuery) -> Result<RecordPage, ClientError> {
        self.get_json("v1/records", &query.pairs()).await
    }

    /// The receipt of record `index` as the server sent it (JSON bytes), for `item` of a
    /// snapshot and at the checkpoint of `size` when given (else the latest).
    pub async fn receipt_json(
        &self,
        index: u64,
        item: Option<u64>,
        size: Option<u64>,
    ) -> Result<Vec<u8>, ClientError> {
        let query = [
            ("item", item.map(|i| i.to_string())),
            ("size", size.map(|s| s.to_string())),
        ];
        Ok(self
            .get_raw(&format!("v1/records/{index}/receipt"), &query)
            .await?
            .body)
    }

    /// [`Client::receipt_json`], parsed. Verify it with `provlog_core::receipt::verify_receipt`.
    pub async fn receipt(
        &self,
        index: u64,
        item: Option<u64>,
        size: Option<u64>,
    ) -> Result<Receipt, ClientError> {
        let url = self.url(&format!("v1/records/{index}/receipt"), &[])?;
        let bytes = self.receipt_json(index, item, size).await?;
        Receipt::from_json(&bytes).map_err(|e| ClientError::Decode {
            url: url.to_string(),
            reason: e.to_string(),
        })
    }

    /// `GET /v1/sources/{source}/track-record`: the bundle of `window` as the server sent it
    /// (JSON bytes). A window reaching the present waits about a checkpoint interval.
    pub async fn track_record_json(
        &self,
        source: &str,
        window: &provlog_core::track_record::Window,
    ) -> Result<Vec<u8>, ClientError> {
        Ok(self
            .get_raw(
                &format!("v1/sources/{}/track-record", paths::segment(source)),
                &window_query(window),
            )
            .await?
            .body)
    }

    /// `GET /v1/sources/{source}/score`: the server's score of the same window's track record
    /// (a `provlog-score/v1` object); recompute it from [`Client::track_record`] to trust it.
    pub async fn score(
        &self,
        source: &str,
        window: &provlog_core::track_record::Window,
    ) -> Result<serde_json::Value, ClientError> {
        let path = format!("v1/sources/{}/score", paths::segment(source));
        self.get_json(&path, &window_query(window)).await
    }

    /// [`Client::track_record_json`], parsed. Verify it with
    /// `provlog_core::track_record::verify_track_record`.
    pub async fn track_record(
        &self,
        source: &str,
        window: &provlog_core::track_record::Window,
    ) -> Result<provlog_core::track_record::TrackRecord, ClientError> {
        let url = self.url(&format!("v1/sources/{source}/track-record"), &[])?;
        let bytes = self.track_record_json(source, window).await?;
        provlog_core::track_record::TrackRecord::from_json(&bytes).map_err(|e| {
            ClientError::Decode {
                url: url.to_string(),
                reason: e.to_string(),
            }
        })
    }

    /// `GET /v1/checkpoint`: the latest signed checkpoint (C2SP signed note text).
    pub async fn checkpoint(&self) -> Result<String, ClientError> {
        let raw = self.get_raw("v1/checkpoint", &[]).await?;
        String::from_utf8(raw.body).map_err(|e| ClientError::Decode {
            url: raw.url,
            reason: e.to_string(),
        })
    }

    /// `GET /v1/checkpoints`: stored checkpoints, newest first, below `before` when given.
    pub async fn checkpoints(
        &self,
        before: Option<u64>,
        limit: Option<u32>,
    ) -> Result<CheckpointPage, ClientError> {
        let query = [
            ("before", before.map(|b| b.to_string())),
            ("limit", limit.map(|l| l.to_string())),
        ];
        self.get_json("v1/checkpoints", &query).await
    }

    /// `GET /v1/anchors`: anchoring transactions, newest first, optionally of one status.
    pub async fn anchors(
        &self,
        status: Option<&str>,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<AnchorPage, ClientError> {
        let query = [
            ("status", status.map(str::to_string)),
            ("before", before.map(|b| b.to_string())),
            ("limit", limit.map(|l| l.to_string())),
        ];
        self.get_json("v1/anchors", &query).await
    }

    /// Every stored checkpoint, newest first, following the pages.
    pub async fn all_checkpoints(&self) -> Result<Vec<CheckpointEntry>, ClientError> {
        let mut all = vec![];
        let mut before = None;
        loop {
            let page = self.checkpoints(before, Some(1000)).await?;
            all.extend(page.checkpoints);
            match page.next {
                Some(next) => before = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// `GET /v1/proofs/consistency?from=&to=` between two signed checkpoints' sizes.
    pub async fn consistency(&self, from: u64, to: u64) -> Result<ConsistencyProof, ClientError> {
        let query = [
            ("from", Some(from.to_string())),
            ("to", Some(to.to_string())),
        ];
        self.get_json("v1/proofs/consistency", &query).await
    }

    /// `GET /v1/log`.
    pub async fn log_info(&self) -> Result<LogInfo, ClientError> {
        self.get_json("v1/log", &[]).await
    }

    /// `GET /readyz`: whether the server answers and some replica leads.
    pub async fn ready(&self) -> Result<bool, ClientError> {
        match self.get_raw("readyz", &[]).await {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(503) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A raw C2SP tile (`tile/…`, see [`paths`]).
    pub async fn tile(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        Ok(self.get_raw(path, &[]).await?.body)
    }

    /// The entries (exact record bytes) of entries tile `n` of `width` entries.
    pub async fn entries_tile(&self, n: u64, width: u64) -> Result<Vec<Vec<u8>>, ClientError> {
        let path = paths::entries_tile_path(n, width);
        let bytes = self.tile(&path).await?;
        let entries = paths::decode_entries(&bytes).map_err(|reason| ClientError::Decode {
            url: path.clone(),
            reason,
        })?;
        Ok(entries.into_iter().map(<[u8]>::to_vec).collect())
    }

    /// The hashes of hash tile `n` at tile level `level`, `width` of them.
    pub async fn hash_tile(&self, level: u8, n: u64, width: u64) -> Result<Vec<Hash>, ClientError> {
        let path = paths::hash_tile_path(level, n, width);
        let bytes = self.tile(&path).await?;
        paths::decode_hashes(&bytes).map_err(|reason| ClientError::Decode { url: path, reason })
    }
}

fn decode<T: DeserializeOwned>(raw: Raw) -> Result<T, ClientError> {
    serde_json::from_slice(&raw.body).map_err(|e| ClientError::Decode {
        url: raw.url,
        reason: e.to_string(),
    })
}

fn error_of(raw: Raw) -> ClientError {
    let header = |name: &str| raw.headers.get(name).and_then(|v| v.to_str().ok());
    let retry_after = header(RETRY_AFTER.as_str()).and_then(parse_retry_after);
    let is_problem =
        header(CONTENT_TYPE.as_str()).is_some_and(|ct| ct.starts_with("application/problem+json"));
    let request_id = header("x-request-id").map(str::to_string);
    match is_problem
        .then(|| Problem::parse(&raw.body, retry_after, request_id))
        .flatten()
    {
        Some(problem) => ClientError::from(problem),
        None => ClientError::Status {
            url: raw.url,
            status: raw.status.as_u16(),
            body: String::from_utf8_lossy(&raw.body)
                .chars()
                .take(500)
                .collect(),
            retry_after,
        },
    }
}

/// The query parameters of a track-record window.
fn window_query(
    window: &provlog_core::track_record::Window,
) -> [(&'static str, Option<String>); 4] {
    [
        ("since", window.since.map(|t| t.to_string())),
        ("until", window.until.map(|t| t.to_string())),
        ("from_seq", window.from_seq.map(|s| s.to_string())),
        ("to_seq", window.to_seq.map(|s| s.to_string())),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn raw(status: u16, content_type: &str, retry_after: Option<&str>, body: &str) -> Raw {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, content_type.parse().unwrap());
        if let Some(r) = retry_after {
            headers.insert(RETRY_AFTER, r.parse().unwrap());
        }
        headers.insert("x-request-id", "rid-7".parse().unwrap());
        Raw {
            url: "http://h/v1/records".into(),
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn error_responses_become_problems_with_their_headers() {
        let e = error_of(raw(
            503,
            "application/problem+json",
            Some("1"),
            r#"{"type":"urn:provlog:problem:unavailable","title":"Unavailable","status":503,"detail":"the database is unavailable; retry shortly"}"#,
        ));
        let p = e.problem().unwrap();
        assert_eq!(p.kind, ProblemKind::Unavailable);
        assert_eq!(p.retry_after, Some(std::time::Duration::from_secs(1)));
        assert_eq!(p.request_id.as_deref(), Some("rid-7"));
        assert!(e.is_unavailable());
    }

    #[test]
    fn error_responses_without_a_problem_keep_status_and_body() {
        let e = error_of(raw(502, "text/html", Some("5"), "<h1>Bad gateway</h1>"));
        assert!(e.problem().is_none());
        assert_eq!(e.status(), Some(502));
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(5)));
        assert!(e.to_string().contains("Bad gateway"));
        // A problem content type with a body that is not one.
        let e = error_of(raw(500, "application/problem+json", None, "oops"));
        assert!(matches!(e, ClientError::Status { status: 500, .. }));
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let c = Client::new("http://h:1")
            .unwrap()
            .with_token("secret-token-0123456789");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("secret") && shown.contains("redacted"),
            "{shown}"
        );
        let moved = c.with_base("http://h:2/x").unwrap();
        assert_eq!(
            moved.url("v1/log", &[]).unwrap().as_str(),
            "http://h:2/x/v1/log"
        );
        assert!(moved.token.is_some(), "with_base keeps the token");
    }
}
