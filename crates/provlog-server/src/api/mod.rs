//! Routes. Handlers are thin: parse, call the store and the core, map errors at one boundary
//! ([`crate::ApiError`]). Each carries its OpenAPI description ([`openapi`]).

mod admin;
mod anchors;
pub mod openapi;
mod ops;
mod proofs;
mod read;
mod registry;
mod tiles;
mod track_record;
mod write;

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::HeaderName;
use axum::Router;
use serde::de::DeserializeOwned;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::{ApiError, AppState};

pub use ops::metrics_handle;
pub use proofs::build_receipt;

pub(crate) type State = axum::extract::State<Arc<AppState>>;

/// Declares every route once: [`ROUTES`] lists them, `routes()` builds them and [`Paths`]
/// documents them, from the same lines; a handler without a `#[utoipa::path]` does not compile.
/// `tests/openapi.rs` checks that `/openapi.json` documents each of [`ROUTES`] under its own
/// method and path.
macro_rules! routes {
    ($($method:ident $path:literal => $($handler:ident)::+,)*) => {
        /// `(method, axum path)` of every route the API serves (Swagger UI's `/docs` and the
        /// explorer's `/explorer` pages aside: they are not API).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path),)*];

        fn routes() -> Router<Arc<AppState>> {
            Router::new()$(.route($path, axum::routing::$method($($handler)::+)))*
        }

        /// The paths of the OpenAPI document: every route's `#[utoipa::path]`, merged into
        /// [`openapi::ApiDoc`] by [`openapi::document`].
        #[derive(Debug, utoipa::OpenApi)]
        #[openapi(paths($($($handler)::+),*))]
        pub struct Paths;
    };
}

routes! {
    post "/v1/records" => write::submit,
    get "/v1/records" => read::find,
    get "/v1/items" => read::items,
    post "/v1/records/snapshot" => write::submit_ndjson,
    get "/v1/records/{id}" => read::record,
    get "/v1/records/{id}/lineage" => read::lineage,
    get "/v1/records/{id}/receipt" => proofs::receipt,
    get "/v1/records/{id}/evidence" => proofs::evidence,
    get "/v1/checkpoint" => read::latest_checkpoint,
    get "/v1/checkpoints" => read::checkpoints,
    get "/v1/anchors" => anchors::anchors,
    get "/v1/proofs/consistency" => proofs::consistency,
    get "/v1/log" => read::log_info,
    get "/v1/sources" => registry::sources,
    get "/v1/sources/{id}" => registry::source,
    get "/v1/sources/{id}/track-record" => track_record::track_record,
    get "/v1/sources/{id}/score" => track_record::score,
    post "/v1/verify" => proofs::verify,
    get "/checkpoint" => read::c2sp_checkpoint,
    get "/tile/{*path}" => tiles::tile,
    get "/healthz" => ops::healthz,
    get "/readyz" => ops::readyz,
    get "/metrics" => ops::metrics,
    get "/openapi.json" => openapi::openapi_json,
    post "/v1/admin/bootstrap" => admin::bootstrap::bootstrap,
    get "/v1/admin/sources" => admin::sources::sources,
    post "/v1/admin/sources" => admin::sources::create_source,
    get "/v1/admin/sources/{id}" => admin::sources::source,
    patch "/v1/admin/sources/{id}" => admin::sources::change_source,
    post "/v1/admin/sources/{id}/keys" => admin::sources::add_source_key,
    delete "/v1/admin/sources/{id}/keys/{key_id}" => admin::sources::retire_source_key,
    put "/v1/admin/sources/{id}/scoring" => admin::sources::declare_scoring,
    get "/v1/admin/keys" => admin::keys::keys,
    post "/v1/admin/keys" => admin::keys::create_key,
    post "/v1/admin/keys/{id}/rotate" => admin::keys::rotate_key,
    post "/v1/admin/keys/{id}/revoke" => admin::keys::revoke_key,
    get "/v1/admin/audit" => admin::audit::audit,
}

pub fn router(state: Arc<AppState>) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    routes()
        .merge(openapi::swagger_ui())
        .merge(crate::explorer::routes())
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            read_gate,
        ))
        .layer(axum::middleware::from_fn(size_limits))
        .layer(axum::middleware::map_response(
            crate::error::problem_for_every_error,
        ))
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

/// Longest request target (path and query) served.
pub const MAX_URI_BYTES: usize = 16 << 10;
/// Largest sum of header names and values served.
pub const MAX_HEADER_BYTES: usize = 64 << 10;

/// Refuses request targets and header fields larger than any client of this API sends, before
/// anything else looks at them (hyper's own buffer, about 400 KB, caps both in any case).
async fn size_limits(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return Err(ApiError::UriTooLong {
            limit: MAX_URI_BYTES,
        });
    }
    // No name, id or value of this API holds a NUL, and the database refuses one in text.
    let raw = req.uri().path_and_query().map_or("", |p| p.as_str());
    if raw.contains("%00") {
        return Err(ApiError::BadRequest(
            "the request target holds a NUL (%00)".into(),
        ));
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers > MAX_HEADER_BYTES {
        return Err(ApiError::HeadersTooLarge {
            limit: MAX_HEADER_BYTES,
        });
    }
    Ok(next.run(req).await)
}

/// Unless reads are public, read routes need an API key (any scope). Write and admin routes
/// check their own scopes; health, readiness, metrics, the API description and the explorer's
/// static page stay open (the page then asks for a read key).
async fn read_gate(
    state: State,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    let path = req.uri().path();
    let open = state.0.config.public_reads
        || path.starts_with("/v1/admin/")
        || (req.method() == axum::http::Method::POST && path.starts_with("/v1/records"))
        || ["/healthz", "/readyz", "/metrics", "/openapi.json"].contains(&path)
        || path == "/docs"
        || path.starts_with("/docs/")
        || path == "/explorer"
        || path.starts_with("/explorer/");
    if !open {
        crate::auth::require(&state.0, req.headers(), crate::auth::Scope::Read).await?;
    }
    Ok(next.run(req).await)
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

/// Requires the body's `Content-Type` to be `want` (`type/subtype`, any case), with no
/// `charset` but UTF-8 (JSON is UTF-8, RFC 8259; so is NDJSON). `route` names the route in the
/// error.
pub(crate) fn require_media_type(
    headers: &axum::http::HeaderMap,
    want: &str,
    route: &str,
) -> Result<(), ApiError> {
    let refuse = |got: &str| {
        Err(ApiError::UnsupportedMediaType(format!(
            "{route} takes {want} (UTF-8), got {got}"
        )))
    };
    let Some(value) = headers.get(axum::http::header::CONTENT_TYPE) else {
        return refuse("no Content-Type");
    };
    let Ok(text) = value.to_str() else {
        return refuse("a Content-Type that is not ASCII");
    };
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(want) {
        return refuse(&format!("{text:?}"));
    }
    for param in parts {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        if name.trim().eq_ignore_ascii_case("charset") {
            let charset = value.trim().trim_matches('"');
            if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("utf8") {
                return refuse(&format!("{text:?}"));
            }
        }
    }
    Ok(())
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
