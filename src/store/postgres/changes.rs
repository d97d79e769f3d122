//! The change log (`migrations/postgres/0002_change_log.sql`) that keeps replicas in sync.

use chrono::Utc;
use sqlx::{PgConnection, PgPool, Row};

use crate::store::{Change, StoreError, history_time};

/// The NOTIFY channel: the payload is the new row's sequence number.
pub(crate) const CHANNEL: &str = "gridcircle_changes";

/// Appends a change row for `layers` inside the write transaction `conn` (which holds the
/// write lock) and queues a NOTIFY, delivered by PostgreSQL only if the transaction commits.
pub(super) async fn log(
    conn: &mut PgConnection,
    origin: &str,
    layers: &[&str],
) -> Result<i64, StoreError> {
    let layers: Vec<String> = layers.iter().map(|s| (*s).to_owned()).collect();
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO change_log (at, origin, layers) VALUES ($1, $2, $3) RETURNING seq",
    )
    .bind(history_time(Utc::now()))
    .bind(origin)
    .bind(&layers)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(seq.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(seq)
}

/// Rows after `after`, in sequence order, at most `limit`.
pub(super) async fn since(
    pool: &PgPool,
    after: i64,
    limit: i64,
) -> Result<Vec<Change>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, at, origin, layers FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Change {
                seq: r.try_get("seq")?,
                at: r.try_get("at")?,
                origin: r.try_get("origin")?,
                layers: r.try_get("layers")?,
            })
        })
        .collect()
}

/// The latest sequence number (0 when the log is empty).
pub(super) async fn latest(pool: &PgPool) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0)::bigint FROM change_log")
            .fetch_one(pool)
            .await?,
    )
}
