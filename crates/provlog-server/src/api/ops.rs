//! Liveness, readiness and Prometheus metrics.

use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use utoipa::ToSchema;

use super::State;

/// The process-wide Prometheus recorder (metrics macros record into it).
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Another recorder may be installed (tests embedding the app); then ours stays unused.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "`ok`", body = String, content_type = "text/plain; charset=utf-8", example = "ok"))
)]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: `leader` when ready, `reason` when not.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Readiness {
    #[serde(skip_serializing_if = "Option::is_none")]
    leader: Option<String>,
    ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

impl Readiness {
    fn not_ready(reason: &'static str) -> Response {
        let body = Readiness {
            leader: None,
            ready: false,
            reason: Some(reason),
        };
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    }
}

/// Ready when the database answers and some replica holds the leader lease.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Ready; `leader` names the replica holding the leader lease", body = Readiness,
            example = json!({"leader": "replica-a", "ready": true})),
        (status = 503, description = "Not ready: `reason` says why (no leader yet, or the database is unreachable)", body = Readiness,
            example = json!({"ready": false, "reason": "no replica holds the leader lease yet"})),
    )
)]
pub(crate) async fn readyz(state: State) -> Response {
    let leader = state.store.lease_holder(provlog_store::LEADER_LEASE).await;
    match leader {
        Ok(Some(leader)) => Json(Readiness {
            leader: Some(leader),
            ready: true,
            reason: None,
        })
        .into_response(),
        Ok(None) => Readiness::not_ready("no replica holds the leader lease yet"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            Readiness::not_ready("database unreachable")
        }
    }
}

/// Prometheus metrics, in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security(()),
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain; version=0.0.4"))
)]
pub(crate) async fn metrics(state: State) -> Response {
    let sequenced = state.sequenced.load(Ordering::Relaxed);
    let integrated = state.integrated.load(Ordering::Relaxed);
    metrics::gauge!("provlog_log_size").set(sequenced as f64);
    metrics::gauge!("provlog_integrated_size").set(integrated as f64);
    metrics::gauge!("provlog_integration_lag").set(sequenced.saturating_sub(integrated) as f64);
    metrics::gauge!("provlog_checkpoint_size").set(*state.checkpoint_size.borrow() as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics_handle().render(),
    )
        .into_response()
}
