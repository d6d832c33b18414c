//! The web explorer at `/explorer`: one page and its scripts, embedded in the binary and served
//! under a strict Content-Security-Policy. The page reads the public API like any other client
//! and verifies receipts in the browser with its own verifier (`explorer/src/verify.ts`), so its
//! verdict does not rest on the server's word.
//!
//! The scripts are `explorer/dist/`, compiled from `explorer/src/` by the pinned `tsc` and
//! committed, so building the server needs no node; `explorer/scripts/check-dist.mjs` (run by
//! `tests/all.sh`) fails when they are stale.

use std::sync::Arc;

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::api::State;
use crate::{ApiError, AppState};

/// Only the page's own files: no inline code, no other origin, no framing, no forms elsewhere.
/// `connect-src 'self'` is the API; links to a block explorer are navigations, which CSP leaves
/// alone.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

const JS: &str = "text/javascript; charset=utf-8";

/// `(file name, content type, bytes)` of every file under `/explorer/`.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../explorer/static/index.html"),
    ),
    (
        "explorer.css",
        "text/css; charset=utf-8",
        include_bytes!("../explorer/static/explorer.css"),
    ),
    ("app.js", JS, include_bytes!("../explorer/dist/app.js")),
    (
        "verify.js",
        JS,
        include_bytes!("../explorer/dist/verify.js"),
    ),
    (
        "evidence.js",
        JS,
        include_bytes!("../explorer/dist/evidence.js"),
    ),
    (
        "trackrecord.js",
        JS,
        include_bytes!("../explorer/dist/trackrecord.js"),
    ),
    ("score.js", JS, include_bytes!("../explorer/dist/score.js")),
    ("bytes.js", JS, include_bytes!("../explorer/dist/bytes.js")),
    ("jcs.js", JS, include_bytes!("../explorer/dist/jcs.js")),
    (
        "keccak.js",
        JS,
        include_bytes!("../explorer/dist/keccak.js"),
    ),
];

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/explorer", get(index))
        .route("/explorer/", get(index))
        .route("/explorer/config.json", get(config))
        .route("/explorer/{file}", get(asset))
}

fn serve(content_type: &'static str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            // Small files that change with each release: revalidate rather than go stale.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn index() -> Result<Response, ApiError> {
    asset(Path("index.html".to_string())).await
}

async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| ApiError::NotFound(format!("no explorer file {file:?}")))?;
    Ok(serve(content_type, *body))
}

/// What the page needs to know of the server's configuration.
#[derive(Debug, Serialize)]
struct ExplorerConfig<'a> {
    /// Block-explorer URL of a transaction, `{tx}` standing for its hash; null: no links.
    explorer_tx_url: Option<&'a str>,
    /// Whether the page can read without an API key.
    public_reads: bool,
}

async fn config(state: State) -> Response {
    let config = ExplorerConfig {
        explorer_tx_url: state.config.explorer_tx_url.as_deref(),
        public_reads: state.config.public_reads,
    };
    serve("application/json", axum::Json(config))
}
