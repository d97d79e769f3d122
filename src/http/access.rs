//! Access checks and audit records every write shares: a token is required ([`writer`]), the
//! caller's role and scope must allow the write ([`permit`]), and the write's audit record
//! ([`audit_entry`]) commits with it on the write path.

use axum::http::StatusCode;
use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::extract::Caller;
use crate::auth::{self, AuditEntry, Principal, Scope, Target};
use crate::model::AreaShape;
use crate::readmodel::Snapshot;

/// A 401 refusal.
pub(crate) fn unauthorised(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
}

/// The caller's principal, or 401: writes need a token.
pub fn writer(caller: &Caller) -> ApiResult<&Principal> {
    caller.principal.as_ref().ok_or_else(|| {
        unauthorised(
            "unauthenticated",
            "this route changes data: send Authorization: Bearer <token> (gridcircle token create)",
        )
    })
}

/// The polygon of a principal's street office or community in `snapshot`.
pub fn scope_area<'a>(snapshot: &'a Snapshot, principal: &Principal) -> Option<&'a AreaShape> {
    match principal.scope {
        Scope::StreetOffice(id) => snapshot.street_offices.get(id).map(|s| &s.boundary),
        Scope::Community(id) => snapshot.communities.get(id).map(|c| &c.boundary),
        Scope::Everything | Scope::Owner(_) => None,
    }
}

/// 401 without a token, 403 when the caller's role or scope does not allow `target`.
pub fn permit(caller: &Caller, snapshot: &Snapshot, target: Target<'_>) -> ApiResult<()> {
    let principal = writer(caller)?;
    auth::authorise(principal, &target, scope_area(snapshot, principal))
        .map_err(|d| ApiError::new(StatusCode::FORBIDDEN, d.code(), d.to_string()))
}

/// The audit record of an accepted write by `caller`: the write path appends it in the
/// write's own transaction, so a committed change never lacks its record.
pub fn audit_entry(
    caller: &Caller,
    action: &str,
    layer: &str,
    feature_id: impl ToString,
    before: Option<Value>,
    after: Option<Value>,
) -> AuditEntry {
    AuditEntry {
        token_id: caller.principal.as_ref().map(|p| p.token_id),
        role: caller.principal.as_ref().map(|p| p.role),
        actor: caller.actor.clone(),
        action: action.to_owned(),
        layer: layer.to_owned(),
        feature_id: Some(feature_id.to_string()),
        before,
        after,
    }
}

/// Any serialisable record as audit JSON.
pub fn record(value: &impl serde::Serialize) -> Option<Value> {
    serde_json::to_value(value).ok()
}
