//! Admin routes (`/v1/admin/…`): the one-time bootstrap, sources (keys, schema, policy), API
//! keys (create, list, rotate, revoke) and the audit trail. Every route needs an API key with
//! scope `admin`, except the bootstrap, which takes the bootstrap token once. Every change is
//! written to the audit trail in the same transaction.

pub(super) mod audit;
pub(super) mod bootstrap;
pub(super) mod keys;
pub(super) mod sources;

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use provlog_core::record::{self, Limits, Timestamp};
use provlog_store::Change;
use serde::de::DeserializeOwned;

use crate::auth::{self, Principal, Scope};
use crate::{ApiError, AppState};

fn time(ms: i64) -> String {
    Timestamp::from_unix_millis(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Largest admin request body (a source's schema is the big part).
const MAX_ADMIN_BODY: usize = 1 << 20;

/// The caller of an admin route, authenticated as an API key of scope `admin` before the
/// handler runs (and before its body is read).
pub(crate) struct Admin(Principal);

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        auth::require(state, &parts.headers, Scope::Admin)
            .await
            .map(Admin)
    }
}

/// The body, refused beyond [`MAX_ADMIN_BODY`].
async fn read_body(body: Body) -> Result<axum::body::Bytes, ApiError> {
    to_bytes(body, MAX_ADMIN_BODY)
        .await
        .map_err(|_| ApiError::BodyTooLarge {
            limit: MAX_ADMIN_BODY,
        })
}

/// Parses a JSON body strictly (unknown members refused).
fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value = record::parse_json(bytes, &Limits::default())
        .map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    // serde would read a struct of optional members from `[]` too.
    if !value.is_object() {
        return Err(ApiError::BadRequest("body: expected a JSON object".into()));
    }
    serde_json::from_value(value).map_err(|e| ApiError::BadRequest(format!("body: {e}")))
}

/// A JSON body: `Content-Type: application/json` (UTF-8), then [`parse_body`].
async fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, ApiError> {
    require_json(headers)?;
    parse_body(&read_body(body).await?)
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    super::require_media_type(headers, "application/json", "this admin route")
}

fn audited(action: &'static str) {
    metrics::counter!("provlog_audit_events_total", "action" => action).increment(1);
}

/// A store change's outcome as the route's answer: what it did, or its not-found or conflict.
fn applied<T>(change: Change<T>, not_found: impl FnOnce() -> ApiError) -> Result<T, ApiError> {
    match change {
        Change::Done(done) => Ok(done),
        Change::NotFound => Err(not_found()),
        Change::Conflict(m) => Err(ApiError::Conflict(m)),
    }
}
