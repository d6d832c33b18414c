//! Liveness, readiness and Prometheus metrics.

use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;

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

pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and some replica holds the leader lease.
pub(crate) async fn readyz(state: State) -> Response {
    let leader = state.store.lease_holder(provlog_store::LEADER_LEASE).await;
    match leader {
        Ok(Some(leader)) => Json(json!({"ready": true, "leader": leader})).into_response(),
        Ok(None) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ready": false, "reason": "no replica holds the leader lease yet"})),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"ready": false, "reason": "database unreachable"})),
            )
                .into_response()
        }
    }
}

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
