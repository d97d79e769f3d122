//! Authentication and authorisation at the HTTP edge (issue 8).
//!
//! - [`authenticate`] (middleware, outermost after the rate limiter): an `Authorization: Bearer`
//!   header is checked against the store's token hashes; an unknown, revoked or malformed token
//!   is a 401 on any route. A valid one puts its [`Principal`] in the request's extensions,
//!   where [`super::extract::Caller`] finds it.
//! - [`writer`] (401 without a token) and [`permit`] (403 outside the role or the scope), called
//!   by every write handler before anything is stored.
//! - [`audit_entry`]: every accepted write appends who, what, when, before and after to the
//!   audit log in its own store transaction (through [`crate::app::WritePath`]); `GET /audit`
//!   shows it to admins.

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use utoipa::OpenApi;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::Caller;
use super::params::Params;
use crate::auth::{self, Principal, Role};

/// The OpenAPI description of these routes (merged into `/api`).
#[derive(OpenApi)]
#[openapi(paths(audit_log, whoami))]
pub struct AuthApi;

/// Routes of this group.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(audit_log))
        .route("/whoami", get(whoami))
}

/// Middleware: resolves a bearer token into a [`Principal`] (request extension), or refuses
/// the request with 401 when a token is sent but not valid.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    // A principal can only come from here.
    request.extensions_mut().remove::<Principal>();
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return next.run(request).await;
    };
    let text = value.to_str().unwrap_or("");
    let Some(token) = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .map(str::trim)
    else {
        return super::access::unauthorised(
            "bad_authorization",
            "the Authorization header must be \"Bearer <token>\"",
        )
        .into_response();
    };
    if !auth::looks_like_token(token) {
        return super::access::unauthorised(
            "invalid_token",
            "the token is not valid (unknown, revoked or mistyped)",
        )
        .into_response();
    }
    match state.store.principal(&auth::hash_token(token)).await {
        Ok(Some(principal)) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Ok(None) => super::access::unauthorised(
            "invalid_token",
            "the token is not valid (unknown, revoked or mistyped)",
        )
        .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET /audit?after=&limit=&layer=&feature_id=` (admin)
#[utoipa::path(get, path = "/audit",
    params(("after" = Option<i64>, Query, description = "records with a greater id (paging)"), ("limit" = Option<usize>, Query, description = "1..=1000, default 100"),
           ("layer" = Option<String>, Query), ("feature_id" = Option<String>, Query)),
    responses((status = 200, description = "Audit records, oldest first: who (token, role, actor), what (action, layer, id), when, before and after"), (status = 401), (status = 403)))]
pub async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> ApiResult<Json<Value>> {
    let principal = super::access::writer(&caller)?;
    if principal.role != Role::Admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_role",
            "the audit log is for admin tokens",
        ));
    }
    params.only(&["after", "limit", "layer", "feature_id"])?;
    let after = match params.text("after") {
        None => 0,
        Some(v) => v.parse::<i64>().map_err(|_| {
            ApiError::bad_request(
                "not_a_number",
                Some("after"),
                format!("after is a record id, got {v:?}"),
            )
        })?,
    };
    let limit = params.count("limit", 100, 1..=1000)?;
    let records = state
        .store
        .audit(
            after,
            limit as i64,
            params.text("layer"),
            params.text("feature_id"),
        )
        .await?;
    let next = (records.len() == limit)
        .then(|| records.last().map(|r| r.id))
        .flatten();
    Ok(Json(json!({ "records": records, "next_after": next })))
}

/// `GET /whoami`: the caller's role, scope and label (anonymous without a token).
#[utoipa::path(get, path = "/whoami", responses((status = 200, description = "{authenticated, role, scope, label, token_id}"), (status = 401)))]
pub async fn whoami(caller: Caller) -> Json<Value> {
    Json(match &caller.principal {
        None => json!({ "authenticated": false, "role": null }),
        Some(p) => json!({
            "authenticated": true, "role": p.role, "scope": p.scope, "label": p.label, "token_id": p.token_id,
        }),
    })
}
