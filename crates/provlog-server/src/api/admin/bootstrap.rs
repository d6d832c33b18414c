//! `POST /v1/admin/bootstrap`: the first admin key, made with the bootstrap token.

use axum::http::HeaderMap;
use axum::response::Response;
use provlog_store::Change;

use super::audited;
use super::keys::{issued_response, IssuedKey};
use crate::api::State;
use crate::auth::{self, Scope};
use crate::error::{BootstrapErrors, Problem, PROBLEM_JSON};
use crate::ApiError;

/// Creates the first admin key with the bootstrap token (`PROVLOG_ADMIN_TOKEN`). Works once:
/// when an admin key exists it answers 409, and the bootstrap token is refused everywhere.
#[utoipa::path(
    post,
    path = "/v1/admin/bootstrap",
    tag = "admin",
    security(("bearer" = ["bootstrap"])),
    responses(
        (status = 201, description = "The first admin key; its token is shown only here", body = IssuedKey),
        (status = 409, description = "An admin key already exists (`conflict`)", body = Problem, content_type = PROBLEM_JSON),
        BootstrapErrors,
    )
)]
pub(crate) async fn bootstrap(state: State, headers: HeaderMap) -> Result<Response, ApiError> {
    let state = state.0;
    auth::check_bootstrap_token(&state, &headers)?;
    let (new, issued) = state
        .trust
        .issue(Scope::Admin, None, "bootstrap admin".into());
    match state.store.bootstrap_admin_key(&new).await? {
        Change::Done(()) => {}
        Change::Conflict(m) => {
            state.trust.mark_bootstrapped();
            return Err(ApiError::Conflict(m));
        }
        Change::NotFound => return Err(ApiError::Internal("bootstrap found nothing".into())),
    }
    state.trust.mark_bootstrapped();
    audited("key.created");
    tracing::info!(key = %issued.id, "bootstrap admin key created");
    issued_response(&state, &issued.id, issued.token.expose()).await
}
