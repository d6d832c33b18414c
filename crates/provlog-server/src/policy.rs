//! What a registered source demands of its submissions: its JSON Schema (reject or flag), its
//! Ed25519 keys, and whether it must sign. Also the checks of signed submissions: the RFC 9421
//! request signature (clock window, nonce store) and the record-level source signatures.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, Uri};
use ed25519_dalek::VerifyingKey;
use provlog_core::httpsig::{self, HttpSigError, ParsedSignature};
use provlog_core::record::{QualityCheck, SourceSignature, MAX_QUALITY_DETAIL_LEN};
use provlog_store::SourceRow;
use serde_json::Value;

use crate::{now_ms, ApiError, AppState};

/// Name of the quality check a source schema produces in records.
pub const SCHEMA_CHECK: &str = "schema";
/// Most schema errors reported per request.
const MAX_REPORTED_ERRORS: usize = 20;

/// A source's rules, compiled.
pub struct SourcePolicy {
    pub id: String,
    pub require_signature: bool,
    /// `reject` (true) or `flag`.
    pub reject: bool,
    schema: Option<jsonschema::Validator>,
    /// key id → (public key, still active).
    keys: HashMap<String, ([u8; 32], bool)>,
}

impl std::fmt::Debug for SourcePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourcePolicy")
            .field("id", &self.id)
            .field("require_signature", &self.require_signature)
            .field("reject", &self.reject)
            .field("schema", &self.schema.is_some())
            .finish_non_exhaustive()
    }
}

/// Compiles a source schema; remote references are not fetched (no HTTP client is built in).
pub fn compile_schema(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::validator_for(schema).map_err(|e| e.to_string())
}

/// How a key of a source stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStanding {
    Active,
    Retired,
    /// Not a key of this source, or another key under its id.
    Unregistered,
}

impl SourcePolicy {
    pub fn from_row(row: &SourceRow) -> Result<Self, String> {
        let schema = match &row.schema {
            Some(text) => {
                let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
                Some(compile_schema(&value)?)
            }
            None => None,
        };
        Ok(SourcePolicy {
            id: row.id.clone(),
            require_signature: row.require_signature,
            reject: row.schema_policy == "reject",
            schema,
            keys: row
                .keys
                .iter()
                .map(|k| (k.key_id.clone(), (k.public_key, k.revoked_ms.is_none())))
                .collect(),
        })
    }

    pub fn has_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    pub fn has_schema(&self) -> bool {
        self.schema.is_some()
    }

    /// An active key by id.
    pub fn active_key(&self, key_id: &str) -> Option<VerifyingKey> {
        match self.keys.get(key_id) {
            Some((bytes, true)) => VerifyingKey::from_bytes(bytes).ok(),
            _ => None,
        }
    }

    pub fn standing(&self, key_id: &str, public_key: &[u8; 32]) -> KeyStanding {
        match self.keys.get(key_id) {
            Some((bytes, active)) if bytes == public_key => {
                if *active {
                    KeyStanding::Active
                } else {
                    KeyStanding::Retired
                }
            }
            _ => KeyStanding::Unregistered,
        }
    }

    /// Schema errors of `values` (a signal's payload, or a snapshot's items), each naming the
    /// item (for snapshots) and the JSON pointer.
    pub fn schema_errors(&self, values: &[&Value], snapshot: bool) -> Vec<String> {
        let Some(schema) = &self.schema else {
            return vec![];
        };
        let mut errors = vec![];
        for (i, value) in values.iter().enumerate() {
            for e in schema.iter_errors(value) {
                if errors.len() == MAX_REPORTED_ERRORS {
                    errors.push("(more errors not shown)".to_string());
                    return errors;
                }
                let at = if snapshot {
                    format!("item {i}: ")
                } else {
                    String::new()
                };
                let path = e.instance_path().to_string();
                let path = if path.is_empty() {
                    "/".to_string()
                } else {
                    path
                };
                errors.push(format!("{at}{path}: {}", e.masked()));
            }
        }
        errors
    }
}

/// The quality result a schema check leaves in a record.
pub fn schema_quality(errors: &[String]) -> QualityCheck {
    if errors.is_empty() {
        return QualityCheck {
            check: SCHEMA_CHECK.into(),
            passed: true,
            detail: None,
        };
    }
    let mut detail = errors.join("; ");
    if detail.len() > MAX_QUALITY_DETAIL_LEN {
        let mut end = MAX_QUALITY_DETAIL_LEN - 3;
        while !detail.is_char_boundary(end) {
            end -= 1;
        }
        detail.truncate(end);
        detail.push_str("...");
    }
    QualityCheck {
        check: SCHEMA_CHECK.into(),
        passed: false,
        detail: Some(detail),
    }
}

/// A cached lookup: when it was made, and the policy (`None`: not registered).
type Cached = (Instant, Option<Arc<SourcePolicy>>);

/// Registered sources as this replica knows them (unknown ones too), for a short time.
#[derive(Debug)]
pub struct SourceCache {
    ttl: Duration,
    map: Mutex<HashMap<String, Cached>>,
    last_nonce_purge_ms: AtomicI64,
}

impl SourceCache {
    pub fn new(ttl: Duration) -> Self {
        SourceCache {
            ttl,
            map: Mutex::new(HashMap::new()),
            last_nonce_purge_ms: AtomicI64::new(0),
        }
    }

    /// The policy of `id`, `None` when it is not registered.
    pub async fn get(
        &self,
        state: &AppState,
        id: &str,
    ) -> Result<Option<Arc<SourcePolicy>>, ApiError> {
        {
            let map = self
                .map
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((at, policy)) = map.get(id) {
                if at.elapsed() < self.ttl {
                    return Ok(policy.clone());
                }
            }
        }
        let policy = match state.store.source(id).await? {
            Some(row) => Some(Arc::new(SourcePolicy::from_row(&row).map_err(|e| {
                ApiError::Internal(format!("stored policy of source {id}: {e}"))
            })?)),
            None => None,
        };
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= 100_000 {
            map.clear();
        }
        map.insert(id.to_string(), (Instant::now(), policy.clone()));
        Ok(policy)
    }

    /// Forgets `id` (after this replica changed it).
    pub fn forget(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
    }
}

fn unix_secs() -> u64 {
    u64::try_from(now_ms() / 1000).unwrap_or(0)
}

/// Checks a claimed creation time (and expiry) against the configured window.
pub fn check_window(state: &AppState, created: u64, expires: Option<u64>) -> Result<(), ApiError> {
    let now = unix_secs();
    let (max_age, skew) = (
        state.config.signature_max_age_secs,
        state.config.signature_max_skew_secs,
    );
    if created > now.saturating_add(skew) {
        return Err(ApiError::SignatureFromFuture { created, now });
    }
    let too_old = created.saturating_add(max_age) < now;
    if too_old || expires.is_some_and(|e| e <= now) {
        return Err(ApiError::SignatureExpired {
            created,
            expires: expires.unwrap_or(created.saturating_add(max_age)),
            max_age_secs: max_age,
        });
    }
    Ok(())
}

fn sig_error(e: HttpSigError) -> ApiError {
    match e {
        HttpSigError::DigestMismatch => ApiError::DigestMismatch(e.to_string()),
        other => ApiError::BadSignature(other.to_string()),
    }
}

/// The `@target-uri` of this request: `public_url` (or `http://` and the `Host` header) and
/// the path and query.
fn target_uri(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<String, ApiError> {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if let Some(base) = &state.config.public_url {
        return Ok(format!("{base}{path}"));
    }
    if uri.scheme().is_some() {
        return Ok(uri.to_string());
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| ApiError::BadSignature("a signed request needs a Host header".into()))?;
    Ok(format!("http://{host}{path}"))
}

/// The request's verified signature.
#[derive(Debug, Clone)]
pub struct VerifiedRequest {
    pub key_id: String,
}

/// Verifies the RFC 9421 signature of a submission for `policy`'s source, if the request has
/// one: profile, clock window, key, `Content-Digest` against `body`, signature, then the nonce
/// (recorded only once everything else holds, so refused requests burn no nonce).
pub async fn verify_request(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
    uri: &Uri,
    body: &[u8],
    policy: &SourcePolicy,
) -> Result<Option<VerifiedRequest>, ApiError> {
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    let (input, signature) = match (text("signature-input"), text("signature")) {
        (None, None) => return Ok(None),
        (Some(i), Some(s)) => (i, s),
        _ => {
            return Err(ApiError::BadSignature(
                "a signed request has both Signature-Input and Signature".into(),
            ))
        }
    };
    let parsed = ParsedSignature::parse(input, signature).map_err(sig_error)?;
    let params = parsed.profile_params().map_err(sig_error)?;
    if params.nonce.len() < 16 || params.nonce.len() > 128 {
        return Err(ApiError::BadSignature(
            "the nonce must be 16 to 128 characters".into(),
        ));
    }
    check_window(state, params.created, Some(params.expires))?;
    let key = policy.active_key(&params.keyid).ok_or_else(|| {
        ApiError::UnknownSigningKey(format!(
            "source {:?} has no active key {:?}",
            policy.id, params.keyid
        ))
    })?;
    let digest = text("content-digest")
        .ok_or_else(|| ApiError::DigestMismatch("the Content-Digest header is missing".into()))?;
    httpsig::check_content_digest(digest, body).map_err(sig_error)?;
    let target = target_uri(state, headers, uri)?;
    parsed
        .verify(
            &[
                ("@method", method.as_str()),
                ("@target-uri", &target),
                ("content-digest", digest),
            ],
            &key,
        )
        .map_err(sig_error)?;
    let keep_until_ms = i64::try_from(
        params
            .created
            .saturating_add(state.config.signature_max_age_secs)
            .saturating_add(1)
            .saturating_mul(1000),
    )
    .unwrap_or(i64::MAX);
    if !state
        .store
        .use_nonce(&policy.id, &params.keyid, &params.nonce, keep_until_ms)
        .await?
    {
        return Err(ApiError::ReplayedNonce {
            key_id: params.keyid,
            nonce: params.nonce,
        });
    }
    purge_nonces_now_and_then(state);
    Ok(Some(VerifiedRequest {
        key_id: params.keyid,
    }))
}

/// Deletes expired nonces at most once a minute per replica, off the request path.
fn purge_nonces_now_and_then(state: &AppState) {
    let cache = &state.trust.sources;
    let now = now_ms();
    let last = cache.last_nonce_purge_ms.load(Ordering::Relaxed);
    if now - last < 60_000
        || cache
            .last_nonce_purge_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    let store = state.store.clone();
    tokio::spawn(async move {
        if let Err(e) = store.purge_nonces().await {
            tracing::warn!(error = %e, "purging expired signature nonces");
        }
    });
}

/// Checks a record's source signature against the source's registered keys: an active key of
/// the source, with a `created` inside the window. (The signature itself is verified when the
/// record is built.)
pub fn check_record_signature(
    state: &AppState,
    policy: &SourcePolicy,
    sig: &SourceSignature,
) -> Result<(), ApiError> {
    match policy.standing(sig.key_id.as_str(), &sig.public_key) {
        KeyStanding::Active => {}
        KeyStanding::Retired => {
            return Err(ApiError::UnknownSigningKey(format!(
                "key {:?} of source {:?} is retired",
                sig.key_id.as_str(),
                policy.id
            )))
        }
        KeyStanding::Unregistered => {
            return Err(ApiError::UnknownSigningKey(format!(
                "source {:?} has no key {:?} with this public key",
                policy.id,
                sig.key_id.as_str()
            )))
        }
    }
    check_window(state, sig.created, None)
}
