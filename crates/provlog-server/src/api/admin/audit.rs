//! The audit trail of admin actions, read a page at a time.

use axum::Json;
use provlog_store::AuditEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{time, Admin};
use crate::api::{State, Q};
use crate::error::{AdminErrors, Problem, PROBLEM_JSON};
use crate::ApiError;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Only events with a larger id (the previous page's `next_after`).
    after: Option<u64>,
    /// At most this many events (1..=1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// One admin action.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditView {
    id: u64,
    #[schema(format = DateTime)]
    at: String,
    /// The admin key's id, or `bootstrap`.
    actor: String,
    /// `source.created`, `source.changed`, `source.key_added`, `source.key_revoked`,
    /// `key.created`, `key.rotated` or `key.revoked`.
    action: String,
    /// The source id or the key id acted on.
    target: String,
    #[schema(value_type = Object)]
    detail: Value,
}

impl From<&AuditEvent> for AuditView {
    fn from(e: &AuditEvent) -> Self {
        AuditView {
            id: e.id,
            at: time(e.at_ms),
            actor: e.actor.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            detail: serde_json::from_str(&e.detail).unwrap_or(Value::Null),
        }
    }
}

/// A page of the audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditPage {
    events: Vec<AuditView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_after: Option<u64>,
}

/// The audit trail of admin actions, oldest first. Append-only: the database refuses to
/// change or delete an event.
#[utoipa::path(
    get,
    path = "/v1/admin/audit",
    tag = "admin",
    security(("bearer" = ["admin"])),
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events", body = AuditPage),
        (status = 400, description = "A malformed query (`bad-request`)", body = Problem, content_type = PROBLEM_JSON),
        AdminErrors,
    )
)]
pub(crate) async fn audit(
    state: State,
    _: Admin,
    query: Result<Q<AuditQuery>, ApiError>,
) -> Result<Json<AuditPage>, ApiError> {
    let state = state.0;
    let Q(query) = query?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit: 1..=1000".into()));
    }
    let events = state.store.audit_events(query.after, limit).await?;
    let next_after = if events.len() == limit as usize {
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok(Json(AuditPage {
        events: events.iter().map(AuditView::from).collect(),
        next_after,
    }))
}
