//! Circle definitions and the materialised facility circles (PostgreSQL).

use sqlx::{PgConnection, PgPool, Row};

use super::changes;
use super::wkb::{decode_multi_polygon, encode};
use crate::model::{CircleDef, CircleDraft, KindCatalogue, ReachMode};
use crate::store::{FacilityCircle, StoreError};

fn definition_json(def: &CircleDef) -> String {
    serde_json::json!({
        "id": def.id, "name": def.name, "name_en": def.name_en, "kinds": def.kinds,
        "minutes": def.minutes, "speed_kmh": def.speed_kmh, "mode": def.mode,
    })
    .to_string()
}

/// Reads the definitions, validating each against the catalogue.
pub(super) async fn load_circles(
    pool: &PgPool,
    catalogue: &KindCatalogue,
) -> Result<Vec<CircleDef>, StoreError> {
    let rows = sqlx::query("SELECT fid, definition FROM circles ORDER BY fid")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            let fid: i64 = row.try_get("fid")?;
            let text: String = row.try_get("definition")?;
            let corrupt = |message: String| StoreError::Corrupt {
                table: "circles",
                id: fid,
                message,
            };
            let draft: CircleDraft =
                serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
            draft
                .validate(catalogue)
                .map_err(|e| corrupt(e.to_string()))
        })
        .collect()
}

/// Inserts or replaces one definition; its stored circles are dropped (recomputed).
pub(crate) async fn put_circle(
    tx: &mut PgConnection,
    origin: &str,
    def: &CircleDef,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO circles (circle_id, definition) VALUES ($1, $2) \
         ON CONFLICT (circle_id) DO UPDATE SET definition = excluded.definition",
    )
    .bind(&def.id)
    .bind(definition_json(def))
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM facility_circles WHERE circle_id = $1")
        .bind(&def.id)
        .execute(&mut *tx)
        .await?;
    changes::log(&mut *tx, origin, &["circles"]).await?;
    Ok(())
}

/// Every stored facility circle.
pub(super) async fn load_facility_circles(
    pool: &PgPool,
) -> Result<Vec<FacilityCircle>, StoreError> {
    let rows = sqlx::query(
        "SELECT fid, facility_id, circle_id, minutes, mode, source_hash, ST_AsBinary(geom) AS geom \
         FROM facility_circles ORDER BY fid",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let fid: i64 = row.try_get("fid")?;
            let corrupt = |message: String| StoreError::Corrupt {
                table: "facility_circles",
                id: fid,
                message,
            };
            let blob: Vec<u8> = row.try_get("geom")?;
            let polygon = decode_multi_polygon(&blob).map_err(corrupt)?;
            let mode: String = row.try_get("mode")?;
            Ok(FacilityCircle {
                facility_id: row.try_get("facility_id")?,
                circle_id: row.try_get("circle_id")?,
                minutes: row.try_get("minutes")?,
                mode: mode
                    .parse()
                    .map_err(|e: crate::model::ModelError| corrupt(e.message))?,
                source_hash: row.try_get("source_hash")?,
                polygon,
            })
        })
        .collect()
}

/// Replaces the stored circles of the given facilities, in one transaction. Derived data that
/// every replica computes the same way, so it is not a logged change. A facility deleted
/// meanwhile (by another replica) is skipped rather than failing the whole refresh.
pub(crate) async fn replace_facility_circles(
    tx: &mut PgConnection,
    facility_ids: &[i64],
    circles: &[FacilityCircle],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM facility_circles WHERE facility_id = ANY($1)")
        .bind(facility_ids)
        .execute(&mut *tx)
        .await?;
    for c in circles {
        sqlx::query(
            "INSERT INTO facility_circles (geom, facility_id, circle_id, minutes, mode, source_hash) \
             SELECT ST_Multi(ST_GeomFromWKB($1, 4326)), $2, $3, $4, $5, $6 \
             WHERE EXISTS (SELECT 1 FROM facilities WHERE fid = $2) \
             ON CONFLICT (facility_id, circle_id) DO UPDATE SET geom = excluded.geom, minutes = excluded.minutes, \
             mode = excluded.mode, source_hash = excluded.source_hash",
        )
        .bind(encode(&c.polygon))
        .bind(c.facility_id)
        .bind(&c.circle_id)
        .bind(c.minutes)
        .bind(match c.mode {
            ReachMode::Walk => "walk",
            ReachMode::Radius => "radius",
        })
        .bind(&c.source_hash)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
