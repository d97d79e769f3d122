//! Circle definitions and the materialised facility circles.

use geo::{BoundingRect, MultiPolygon};
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::gpkg_binary::{decode_multi_polygon, encode_multi_polygon};
use crate::model::{CircleDef, CircleDraft, KindCatalogue};
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
    reader: &SqlitePool,
    catalogue: &KindCatalogue,
) -> Result<Vec<CircleDef>, StoreError> {
    let rows = sqlx::query("SELECT fid, definition FROM circles ORDER BY fid")
        .fetch_all(reader)
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

/// Inserts or replaces one definition (by its id); its stored circles are dropped so they are
/// recomputed for the new definition.
pub(crate) async fn put_circle(
    tx: &mut SqliteConnection,
    def: &CircleDef,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO circles (circle_id, definition) VALUES (?1, ?2) ON CONFLICT (circle_id) DO UPDATE SET definition = excluded.definition")
        .bind(&def.id)
        .bind(definition_json(def))
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM facility_circles WHERE circle_id = ?1")
        .bind(&def.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name IN ('circles', 'facility_circles')")
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Every stored facility circle.
pub(super) async fn load_facility_circles(
    reader: &SqlitePool,
) -> Result<Vec<FacilityCircle>, StoreError> {
    let rows = sqlx::query("SELECT fid, facility_id, circle_id, minutes, mode, source_hash, geom FROM facility_circles ORDER BY fid").fetch_all(reader).await?;
    rows.iter()
        .map(|row| {
            let fid: i64 = row.try_get("fid")?;
            let blob: Vec<u8> = row.try_get("geom")?;
            let polygon = decode_multi_polygon(&blob).map_err(|e| StoreError::Corrupt {
                table: "facility_circles",
                id: fid,
                message: e.to_string(),
            })?;
            let mode: String = row.try_get("mode")?;
            Ok(FacilityCircle {
                facility_id: row.try_get("facility_id")?,
                circle_id: row.try_get("circle_id")?,
                minutes: row.try_get("minutes")?,
                mode: mode
                    .parse()
                    .map_err(|e: crate::model::ModelError| StoreError::Corrupt {
                        table: "facility_circles",
                        id: fid,
                        message: e.message,
                    })?,
                source_hash: row.try_get("source_hash")?,
                polygon,
            })
        })
        .collect()
}

fn bbox(p: &MultiPolygon<f64>) -> [Option<f64>; 4] {
    match p.bounding_rect() {
        Some(r) => [
            Some(r.min().x),
            Some(r.min().y),
            Some(r.max().x),
            Some(r.max().y),
        ],
        None => [None; 4],
    }
}

/// Replaces the stored circles of the given facilities (every row for those facility ids is
/// removed, then `circles` inserted), in one transaction.
pub(crate) async fn replace_facility_circles(
    tx: &mut SqliteConnection,
    facility_ids: &[i64],
    circles: &[FacilityCircle],
) -> Result<(), StoreError> {
    for id in facility_ids {
        sqlx::query("DELETE FROM facility_circles WHERE facility_id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    for c in circles {
        let [a, b, cc, d] = bbox(&c.polygon);
        sqlx::query(
            "INSERT INTO facility_circles (geom, facility_id, circle_id, minutes, mode, source_hash, min_x, min_y, max_x, max_y)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (facility_id, circle_id) DO UPDATE SET geom = excluded.geom, minutes = excluded.minutes,
               mode = excluded.mode, source_hash = excluded.source_hash, min_x = excluded.min_x, min_y = excluded.min_y,
               max_x = excluded.max_x, max_y = excluded.max_y",
        )
        .bind(encode_multi_polygon(&c.polygon))
        .bind(c.facility_id)
        .bind(&c.circle_id)
        .bind(c.minutes)
        .bind(match c.mode {
            crate::model::ReachMode::Walk => "walk",
            crate::model::ReachMode::Radius => "radius",
        })
        .bind(&c.source_hash)
        .bind(a)
        .bind(b)
        .bind(cc)
        .bind(d)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE gpkg_contents SET (min_x, min_y, max_x, max_y) = (SELECT MIN(min_x), MIN(min_y), MAX(max_x), MAX(max_y) FROM facility_circles),
           last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = 'facility_circles'",
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
