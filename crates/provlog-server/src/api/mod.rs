//! Routes. Handlers are thin: parse, call the store and the core, map errors at one boundary
//! ([`crate::ApiError`]).

mod ops;
mod proofs;
mod read;
mod tiles;
mod write;

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::HeaderName;
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::{ApiError, AppState};

pub use ops::metrics_handle;
pub use proofs::build_receipt;

pub(crate) type State = axum::extract::State<Arc<AppState>>;

pub fn router(state: Arc<AppState>) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/v1/records", post(write::submit).get(read::find))
        .route("/v1/records/snapshot", post(write::submit_ndjson))
        .route("/v1/records/{id}", get(read::record))
        .route("/v1/records/{id}/lineage", get(read::lineage))
        .route("/v1/records/{id}/receipt", get(proofs::receipt))
        .route("/v1/checkpoint", get(read::latest_checkpoint))
        .route("/v1/checkpoints", get(read::checkpoints))
        .route("/v1/proofs/consistency", get(proofs::consistency))
        .route("/v1/log", get(read::log_info))
        .route("/v1/verify", post(proofs::verify))
        .route("/checkpoint", get(read::latest_checkpoint))
        .route("/tile/{*path}", get(tiles::tile))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// `Query` whose rejections are problem+json like every other error.
pub(crate) struct Q<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Q(v))
            .map_err(|e: QueryRejection| ApiError::BadRequest(e.body_text()))
    }
}

/// Record ids are their decimal log index.
pub(crate) fn parse_id(id: &str) -> Result<u64, ApiError> {
    id.parse::<u64>()
        .ok()
        .filter(|v| v.to_string() == id)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no record {id:?}: record ids are decimal log indexes"
            ))
        })
}
