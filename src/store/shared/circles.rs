// Circle definitions and the materialised facility circles: written once for both backends.
// Compiled once per backend (see `src/store/shared/mod.rs`), with `b` naming that backend
// (`geopackage/backend.rs`, `postgres/backend.rs`) and `sql` its statements that differ.

use geo::{BoundingRect, MultiPolygon};
use sqlx::Row;

use crate::model::{CircleDef, CircleDraft, KindCatalogue, ReachMode};
use crate::store::{FacilityCircle, Layer, StoreError};

fn definition_json(def: &CircleDef) -> String {
    serde_json::json!({
        "id": def.id, "name": def.name, "name_en": def.name_en, "kinds": def.kinds,
        "minutes": def.minutes, "speed_kmh": def.speed_kmh, "mode": def.mode,
    })
    .to_string()
}

/// Reads the definitions, validating each against the catalogue.
pub(crate) async fn load_circles(
    reader: &b::Pool,
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

/// Inserts or replaces one definition (by its id), only if the stored one is still
/// `expected` (None: there is none yet), else [`StoreError::Stale`]; its stored circles are
/// dropped so they are recomputed for the new definition.
pub(crate) async fn put_circle(
    tx: &mut b::Conn,
    origin: &str,
    def: &CircleDef,
    expected: Option<&CircleDef>,
) -> Result<(), StoreError> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT definition FROM circles WHERE circle_id = $1")
            .bind(&def.id)
            .fetch_optional(&mut *tx)
            .await?;
    let same = |text: &str, e: &CircleDef| {
        serde_json::from_str::<serde_json::Value>(text).ok()
            == serde_json::from_str(&definition_json(e)).ok()
    };
    let unchanged = match (stored.as_deref(), expected) {
        (None, None) => true,
        (Some(text), Some(e)) => same(text, e),
        _ => false,
    };
    if !unchanged {
        return Err(StoreError::Stale(format!("circle {}", def.id)));
    }
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
    b::layer_changed(tx, origin, Layer::Circles).await
}

/// Every stored facility circle.
pub(crate) async fn load_facility_circles(
    reader: &b::Pool,
) -> Result<Vec<FacilityCircle>, StoreError> {
    let rows = sqlx::query(sql::SELECT_FACILITY_CIRCLES)
        .fetch_all(reader)
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
            let polygon = b::decode_area(&blob).map_err(corrupt)?;
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

/// Replaces the stored circles of the given facilities: every row of those facility ids is
/// removed, then `circles` are written. A circle of a facility that is no longer stored
/// (deleted meanwhile by another replica) is skipped rather than failing the refresh.
pub(crate) async fn replace_facility_circles(
    tx: &mut b::Conn,
    origin: &str,
    facility_ids: &[i64],
    circles: &[FacilityCircle],
) -> Result<(), StoreError> {
    for id in facility_ids {
        sqlx::query("DELETE FROM facility_circles WHERE facility_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    for c in circles {
        let [min_x, min_y, max_x, max_y] = bbox(&c.polygon);
        sqlx::query(sql::UPSERT_FACILITY_CIRCLE)
            .bind(b::encode_area(&c.polygon))
            .bind(c.facility_id)
            .bind(&c.circle_id)
            .bind(c.minutes)
            .bind(match c.mode {
                ReachMode::Walk => "walk",
                ReachMode::Radius => "radius",
            })
            .bind(&c.source_hash)
            .bind(min_x)
            .bind(min_y)
            .bind(max_x)
            .bind(max_y)
            .execute(&mut *tx)
            .await?;
    }
    b::layer_changed(tx, origin, Layer::FacilityCircles).await
}
