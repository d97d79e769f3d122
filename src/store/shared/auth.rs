// Tokens (stored as SHA-256 hashes only) and the audit log: written once for both backends.
// This file is compiled once per backend (`include!` in `geopackage/mod` and `postgres/mod`)
// with `b` naming that backend's connection and pool types; see `src/store/shared/README`
// comment in `src/store/mod.rs`. The SQL is the same text on both (`$N` parameters, which
// SQLite reads as numbered parameters too).

use chrono::Utc;
use sqlx::Row;

use crate::auth::{AuditEntry, AuditRecord, Principal, Role, Scope, TokenRecord};
use crate::store::{StoreError, history_time};

fn corrupt(id: i64, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table: "auth_tokens",
        id,
        message: message.into(),
    }
}

fn json_text(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(serde_json::Value::to_string)
}

/// Stores a new token's hash; returns its id. Recorded in the audit log in the same
/// transaction.
pub(crate) async fn create_token(
    tx: &mut b::Conn,
    hash: &str,
    role: Role,
    scope: &Scope,
    label: &str,
) -> Result<i64, StoreError> {
    let at = history_time(Utc::now());
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO auth_tokens (token_hash, role, scope, label, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(hash)
    .bind(role.as_str())
    .bind(scope.stored())
    .bind(label)
    .bind(&at)
    .fetch_one(&mut *tx)
    .await?;
    let after =
        serde_json::json!({ "id": id, "role": role, "scope": scope.stored(), "label": label });
    sqlx::query(
        "INSERT INTO audit_log (at, token_id, role, actor, action, layer, feature_id, before, after) VALUES ($1, NULL, NULL, 'cli', 'token_create', 'auth_tokens', $2, NULL, $3)",
    )
    .bind(&at)
    .bind(id.to_string())
    .bind(after.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

/// Revokes token `id` (from now on it is refused); false when no such unrevoked token.
pub(crate) async fn revoke_token(tx: &mut b::Conn, id: i64) -> Result<bool, StoreError> {
    let at = history_time(Utc::now());
    let done =
        sqlx::query("UPDATE auth_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(&at)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
    if done {
        sqlx::query(
            "INSERT INTO audit_log (at, token_id, role, actor, action, layer, feature_id, before, after) VALUES ($1, NULL, NULL, 'cli', 'token_revoke', 'auth_tokens', $2, NULL, NULL)",
        )
        .bind(&at)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    }
    Ok(done)
}

/// The id of the unrevoked token with this hash, if any.
pub(crate) async fn token_id_by_hash(
    reader: &b::Pool,
    hash: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM auth_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(reader)
    .await?)
}

/// The principal of an unrevoked token, by its hash.
pub(crate) async fn principal(
    reader: &b::Pool,
    hash: &str,
) -> Result<Option<Principal>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT id, role, scope, label FROM auth_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(reader)
    .await?
    else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    let role: Role = row
        .try_get::<String, _>("role")?
        .parse()
        .map_err(|e: String| corrupt(id, e))?;
    let scope_text: Option<String> = row.try_get("scope")?;
    let scope = Scope::from_stored(role, scope_text.as_deref()).map_err(|e| corrupt(id, e))?;
    Ok(Some(Principal {
        token_id: id,
        role,
        scope,
        label: row.try_get("label")?,
    }))
}

/// Every token (never the secret), oldest first.
pub(crate) async fn tokens(reader: &b::Pool) -> Result<Vec<TokenRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, role, scope, label, created_at, revoked_at FROM auth_tokens ORDER BY id",
    )
    .fetch_all(reader)
    .await?;
    rows.iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            Ok(TokenRecord {
                id,
                role: row
                    .try_get::<String, _>("role")?
                    .parse()
                    .map_err(|e: String| corrupt(id, e))?,
                scope: row.try_get("scope")?,
                label: row.try_get("label")?,
                created_at: row.try_get("created_at")?,
                revoked_at: row.try_get("revoked_at")?,
            })
        })
        .collect()
}

/// Appends one audit record.
pub(crate) async fn append_audit(tx: &mut b::Conn, e: &AuditEntry) -> Result<i64, StoreError> {
    let at = history_time(Utc::now());
    Ok(sqlx::query_scalar(
        "INSERT INTO audit_log (at, token_id, role, actor, action, layer, feature_id, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(&at)
    .bind(e.token_id)
    .bind(e.role.map(Role::as_str))
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.layer)
    .bind(&e.feature_id)
    .bind(json_text(&e.before))
    .bind(json_text(&e.after))
    .fetch_one(&mut *tx)
    .await?)
}

/// Audit records with id greater than `after_id`, oldest first, at most `limit`; only of
/// `layer` (and `feature_id`) when given.
pub(crate) async fn audit(
    reader: &b::Pool,
    after_id: i64,
    limit: i64,
    layer: Option<&str>,
    feature_id: Option<&str>,
) -> Result<Vec<AuditRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, at, token_id, role, actor, action, layer, feature_id, before, after FROM audit_log
         WHERE id > $1 AND (CAST($2 AS TEXT) IS NULL OR layer = $2) AND (CAST($3 AS TEXT) IS NULL OR feature_id = $3)
         ORDER BY id LIMIT $4",
    )
    .bind(after_id)
    .bind(layer)
    .bind(feature_id)
    .bind(limit)
    .fetch_all(reader)
    .await?;
    let parse = |id: i64, text: Option<String>| -> Result<Option<serde_json::Value>, StoreError> {
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StoreError::Corrupt {
                table: "audit_log",
                id,
                message: e.to_string(),
            })
        })
        .transpose()
    };
    rows.iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            Ok(AuditRecord {
                id,
                at: row.try_get("at")?,
                token_id: row.try_get("token_id")?,
                role: row.try_get("role")?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                layer: row.try_get("layer")?,
                feature_id: row.try_get("feature_id")?,
                before: parse(id, row.try_get("before")?)?,
                after: parse(id, row.try_get("after")?)?,
            })
        })
        .collect()
}
