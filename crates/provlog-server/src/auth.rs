//! Who is calling: API keys (scoped, stored as keyed hashes), the one-time bootstrap token, and
//! the per-key rate limit.
//!
//! A key is `plk_<id>_<secret>`: `id` is 12 hex digits, public, the row's primary key; `secret`
//! is 256 random bits (base64url). The database holds only HMAC-SHA256(pepper, token), compared
//! in constant time: a dump of the database does not yield a usable key, and checking a key costs
//! one HMAC (a slow password hash buys nothing for 256-bit secrets and would let anyone with
//! random tokens burn the server's CPU). Keys are cached per replica for `trust_cache_ttl_ms`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};
use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use provlog_core::checkpoint::NoteSigner;
use provlog_store::{ApiKeyRow, NewApiKey};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::Secret;
use crate::{now_ms, ApiError, AppState};

/// Every API key starts with this.
pub const KEY_PREFIX: &str = "plk_";
/// Actor name of the bootstrap token in the audit trail.
pub const BOOTSTRAP_ACTOR: &str = "bootstrap";

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Write records for one source.
    Ingest,
    /// Read when reads are not public.
    Read,
    /// Manage sources and keys, read the audit trail.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "ingest" => Some(Scope::Ingest),
            "read" => Some(Scope::Read),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The API key's public id, or [`BOOTSTRAP_ACTOR`].
    pub key_id: String,
    pub scope: Scope,
    /// An ingest key's source; `None` for the bootstrap token (any source, before the first
    /// admin key exists) and for other scopes.
    pub source: Option<String>,
}

impl Principal {
    pub fn is_bootstrap(&self) -> bool {
        self.key_id == BOOTSTRAP_ACTOR
    }
}

/// The default pepper when none is configured: HMAC-SHA256 keyed by the checkpoint signing
/// key's secret text (a secret the server already keeps out of the database).
pub fn derived_pepper(signer: &NoteSigner) -> Secret {
    let secret = signer.to_secret_text();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"provlog api-key pepper v1");
    Secret::new(hex::encode(mac.finalize().into_bytes()))
}

/// A freshly made key: its public id and the token (shown once).
#[derive(Debug)]
pub struct IssuedKey {
    pub id: String,
    pub token: Secret,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// API keys, sources and rate limits as this replica knows them.
pub struct Trust {
    pepper: Secret,
    ttl: Duration,
    keys: Mutex<HashMap<String, (Instant, ApiKeyRow)>>,
    /// Once an admin key is seen, the bootstrap token is spent for good.
    bootstrapped: AtomicBool,
    checked_bootstrap: Mutex<Option<Instant>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    pub(crate) sources: crate::policy::SourceCache,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("pepper", &self.pepper)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Cached entries beyond which a cache is cleared rather than grown.
const CACHE_MAX: usize = 100_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Trust {
    pub fn new(pepper: Secret, ttl_ms: u64) -> Self {
        let ttl = Duration::from_millis(ttl_ms);
        Trust {
            pepper,
            ttl,
            keys: Mutex::new(HashMap::new()),
            bootstrapped: AtomicBool::new(false),
            checked_bootstrap: Mutex::new(None),
            buckets: Mutex::new(HashMap::new()),
            sources: crate::policy::SourceCache::new(ttl),
        }
    }

    /// HMAC-SHA256(pepper, token).
    pub fn hash(&self, token: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.pepper.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A new random key for `scope` (and an ingest key's `source`), ready to store.
    pub fn issue(
        &self,
        scope: Scope,
        source: Option<String>,
        label: String,
    ) -> (NewApiKey, IssuedKey) {
        let mut rng = rand::thread_rng();
        let mut id = [0u8; 6];
        rng.fill_bytes(&mut id);
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        let id = hex::encode(id);
        let token = format!("{KEY_PREFIX}{id}_{}", BASE64_URL_SAFE_NO_PAD.encode(secret));
        let new = NewApiKey {
            id: id.clone(),
            key_hash: self.hash(&token),
            scope: scope.as_str().to_string(),
            source,
            label,
        };
        (
            new,
            IssuedKey {
                id,
                token: Secret::new(token),
            },
        )
    }

    /// Forgets a cached key (after this replica revoked or rotated it).
    pub fn forget_key(&self, id: &str) {
        lock(&self.keys).remove(id);
    }

    pub fn mark_bootstrapped(&self) {
        self.bootstrapped.store(true, Ordering::Relaxed);
    }

    /// Whether an admin key exists: once seen true it stays true; false is re-checked at most
    /// once per cache period.
    pub async fn is_bootstrapped(&self, state: &AppState) -> Result<bool, ApiError> {
        if self.bootstrapped.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let fresh = lock(&self.checked_bootstrap).is_some_and(|at| at.elapsed() < self.ttl);
        if fresh {
            return Ok(false);
        }
        let exists = state.store.has_admin_key().await?;
        if exists {
            self.mark_bootstrapped();
        } else {
            *lock(&self.checked_bootstrap) = Some(Instant::now());
        }
        Ok(exists)
    }

    async fn key(&self, state: &AppState, id: &str) -> Result<Option<ApiKeyRow>, ApiError> {
        if let Some((at, row)) = lock(&self.keys).get(id) {
            if at.elapsed() < self.ttl {
                return Ok(Some(row.clone()));
            }
        }
        let row = state.store.api_key(id).await?;
        if let Some(row) = &row {
            let mut keys = lock(&self.keys);
            if keys.len() >= CACHE_MAX {
                keys.clear();
            }
            keys.insert(id.to_string(), (Instant::now(), row.clone()));
        }
        Ok(row)
    }

    /// Takes one token from the key's bucket, or says how long until one is there.
    fn take(&self, state: &AppState, key_id: &str) -> Result<(), ApiError> {
        let rate = f64::from(state.config.rate_limit_per_second);
        if rate <= 0.0 {
            return Ok(());
        }
        let burst = f64::from(state.config.rate_limit_burst);
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        if buckets.len() >= CACHE_MAX {
            buckets.clear();
        }
        let bucket = buckets.entry(key_id.to_string()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        // Whole seconds until a token is there (Retry-After takes seconds), at least 1.
        let wait = ((1.0 - bucket.tokens) / rate).ceil().max(1.0);
        Err(ApiError::RateLimited {
            retry_after_secs: wait as u64,
        })
    }
}

/// The bearer token of the request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Whether the request carries credentials at all.
pub fn has_credentials(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION)
}

/// Constant-time equality of two secrets of any length (compares their SHA-256).
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (
        provlog_core::Hash::sha256(a.as_bytes()),
        provlog_core::Hash::sha256(b.as_bytes()),
    );
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Authenticates the request: an API key (checked, rate limited), or the bootstrap token while
/// no admin key exists (which then acts as an ingest key for any source).
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let token = bearer(headers).ok_or(ApiError::Unauthorized)?;
    let trust = &state.trust;
    if let Some(rest) = token.strip_prefix(KEY_PREFIX) {
        let id = rest.split('_').next().unwrap_or("");
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::UnknownKey);
        }
        let row = trust.key(state, id).await?.ok_or(ApiError::UnknownKey)?;
        if !bool::from(trust.hash(token).ct_eq(&row.key_hash)) {
            return Err(ApiError::UnknownKey);
        }
        if row.revoked_ms.is_some() {
            return Err(ApiError::KeyRevoked);
        }
        if row.expires_ms.is_some_and(|e| e <= now_ms()) {
            return Err(ApiError::KeyExpired);
        }
        let scope = Scope::parse(&row.scope)
            .ok_or_else(|| ApiError::Internal(format!("key {id} has scope {:?}", row.scope)))?;
        trust.take(state, &row.id)?;
        return Ok(Principal {
            key_id: row.id,
            scope,
            source: row.source,
        });
    }
    let Some(expected) = &state.admin_token else {
        return Err(ApiError::UnknownKey);
    };
    if !same_secret(token, expected.expose()) {
        return Err(ApiError::UnknownKey);
    }
    if trust.is_bootstrapped(state).await? {
        return Err(ApiError::BootstrapSpent);
    }
    Ok(Principal {
        key_id: BOOTSTRAP_ACTOR.into(),
        scope: Scope::Ingest,
        source: None,
    })
}

/// Authenticates and requires `scope`. Admin keys also read; ingest keys also read.
pub async fn require(
    state: &AppState,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<Principal, ApiError> {
    let p = authenticate(state, headers).await?;
    let ok = match scope {
        Scope::Read => true,
        other => p.scope == other,
    };
    if !ok {
        return Err(ApiError::WrongScope {
            needed: scope.as_str(),
            has: if p.is_bootstrap() {
                "bootstrap".into()
            } else {
                p.scope.as_str().into()
            },
        });
    }
    Ok(p)
}

/// The bootstrap token itself (for `POST /v1/admin/bootstrap`).
pub fn check_bootstrap_token(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = &state.admin_token else {
        return Err(ApiError::WritesDisabled);
    };
    let token = bearer(headers).ok_or(ApiError::Unauthorized)?;
    if !same_secret(token, expected.expose()) {
        return Err(ApiError::UnknownKey);
    }
    Ok(())
}
