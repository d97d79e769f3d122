// Facility writes (insert, compare-and-swap replace and delete), the OSM import and counted
// households: written once for both backends. Compiled once per backend (see
// `src/store/shared/mod.rs`), with `b` naming that backend (`geopackage/backend.rs`,
// `postgres/backend.rs`) and `sql` its statements that differ. What the two do differently in
// the import stays in `b`: the GeoPackage inserts new buildings and writes ways one row a
// statement and never upserts (see `osm_import`), PostgreSQL batches them through `UNNEST`.

use std::collections::{HashMap, HashSet};

use chrono_tz::Tz;
use geo::Rect;
use sqlx::Row;

use super::load::household_source_name;
use crate::model::{Building, Facility, LandArea, StreetWay};
use crate::store::{HouseholdCount, Layer, StoreError, constraint_conflict};

type Query<'q> = sqlx::query::Query<'q, b::Db, <b::Db as sqlx::Database>::Arguments>;

// ---------------------------------------------------------------- facilities

/// Binds the 11 facility columns ($1..$11 of `sql::INSERT_FACILITY` and the others; see
/// `sql.rs`).
fn bind_facility<'q>(query: Query<'q>, f: &Facility) -> Query<'q> {
    query
        .bind(b::encode_point(f.point.point()))
        .bind(f.osm.map(|o| o.to_string()))
        .bind(f.kind.as_str())
        .bind(f.name.as_deref())
        .bind(f.owner.as_deref())
        .bind(f.audience.as_str())
        .bind(f.hours.as_ref().map(|h| h.raw()))
        .bind(f.capacity.map(i64::from))
        .bind(f.free.map(i64::from))
        .bind(f.shared)
        .bind(f.demo)
}

/// Binds the point's longitude and latitude: the GeoPackage's `lon`/`lat` columns, trailing
/// parameters that PostgreSQL's statements leave unused.
fn bind_lon_lat<'q>(query: Query<'q>, f: &Facility) -> Query<'q> {
    query.bind(f.point.lon()).bind(f.point.lat())
}

fn facility_conflict(e: sqlx::Error, f: &Facility) -> StoreError {
    constraint_conflict(
        e,
        || match f.osm {
            Some(osm) => format!("a facility from {osm} already exists"),
            None => "the facility already exists".into(),
        },
        || "the facility refers to a missing row".into(),
    )
}

/// Inserts a facility (its `id` is ignored); returns the new id.
pub(crate) async fn insert_facility(
    tx: &mut b::Conn,
    origin: &str,
    facility: &Facility,
) -> Result<i64, StoreError> {
    let fid: i64 = bind_lon_lat(
        bind_facility(sqlx::query(sql::INSERT_FACILITY), facility),
        facility,
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| facility_conflict(e, facility))?
    .try_get(0)?;
    b::layer_changed(tx, origin, Layer::Facilities).await?;
    Ok(fid)
}

/// Whether facility `id` is stored (on PostgreSQL its row is locked for the transaction).
async fn facility_exists(conn: &mut b::Conn, id: i64) -> Result<bool, StoreError> {
    let found: Option<i64> = sqlx::query_scalar(sql::FACILITY_EXISTS)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(found.is_some())
}

/// Replaces a facility only if its stored row still equals `expected` (a compare-and-swap
/// inside the write transaction); otherwise `Stale`. False when no such id.
pub(crate) async fn replace_facility_if(
    tx: &mut b::Conn,
    origin: &str,
    facility: &Facility,
    expected: &Facility,
) -> Result<bool, StoreError> {
    if !facility_exists(&mut *tx, facility.id).await? {
        return Ok(false);
    }
    let query = bind_facility(sqlx::query(sql::REPLACE_FACILITY_IF), facility).bind(facility.id);
    let query = bind_lon_lat(bind_lon_lat(bind_facility(query, expected), facility), expected);
    let matched = query
        .execute(&mut *tx)
        .await
        .map_err(|e| facility_conflict(e, facility))?
        .rows_affected();
    swapped(tx, origin, matched, facility.id).await
}

/// Deletes a facility only if its stored row still equals `expected`; otherwise `Stale`.
/// False when no such id.
pub(crate) async fn delete_facility_if(
    tx: &mut b::Conn,
    origin: &str,
    expected: &Facility,
) -> Result<bool, StoreError> {
    if !facility_exists(&mut *tx, expected.id).await? {
        return Ok(false);
    }
    let query = bind_facility(sqlx::query(sql::DELETE_FACILITY_IF), expected).bind(expected.id);
    let matched = bind_lon_lat(query, expected)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    swapped(tx, origin, matched, expected.id).await
}

/// The end of a compare-and-swap on facility `id`: `Stale` when the stored row no longer
/// matched (`matched` rows were written), else the change is noted.
async fn swapped(
    tx: &mut b::Conn,
    origin: &str,
    matched: u64,
    id: i64,
) -> Result<bool, StoreError> {
    if matched == 0 {
        return Err(StoreError::Stale(format!("facility {id}")));
    }
    b::layer_changed(tx, origin, Layer::Facilities).await?;
    Ok(true)
}

// ---------------------------------------------------------------- household counts

/// Sets counted households and residents by OSM reference, in one transaction; returns the
/// rows matched.
pub(crate) async fn household_counts(
    pool: &b::Pool,
    origin: &str,
    counts: &[HouseholdCount],
) -> Result<usize, StoreError> {
    let mut tx = b::begin(pool).await?;
    let mut matched = 0u64;
    for c in counts {
        matched += sqlx::query(
            "UPDATE buildings SET households = $1, residents = $2, household_source = 'counted' WHERE osm = $3",
        )
        .bind(i64::from(c.households))
        .bind(i64::from(c.residents))
        .bind(c.osm.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    if matched > 0 {
        b::households_changed(&mut tx, origin).await?;
    }
    tx.commit().await?;
    Ok(matched as usize)
}

// ---------------------------------------------------------------- OSM import

/// Writes an OSM import in one transaction.
///
/// Rows are matched by OSM reference (buildings, facilities, land areas) or way id (ways): a
/// matched row is updated in place and keeps its fid; a new one is inserted, in import order;
/// OSM rows not in the import are deleted. Facilities without an OSM reference are never
/// touched. Buildings whose households were counted keep their counts.
///
/// The GeoPackage deliberately never runs `INSERT … ON CONFLICT`: in SQLite an upsert that
/// ends as an update still advances the AUTOINCREMENT sequence, so re-importing would change
/// the next fids. PostgreSQL inserts new buildings and ways in `UNNEST` batches (a large first
/// import is almost all inserts).
pub(crate) async fn osm_import(
    pool: &b::Pool,
    origin: &str,
    import: crate::store::OsmRows<'_>,
    timezone: Tz,
) -> Result<(), StoreError> {
    check_import(&import)?;
    let mut tx = b::begin(pool).await?;
    import_buildings(&mut tx, import.buildings).await?;
    import_facilities(&mut tx, import.facilities).await?;
    import_ways(&mut tx, import.ways).await?;
    import_land(&mut tx, import.land).await?;
    // New or moved buildings: membership follows their representative points.
    super::grids::recompute_members(&mut tx, None).await?;
    // Update, else insert: no upsert (see above); the write transaction is the only writer.
    let updated = sqlx::query("UPDATE settings SET value = $1 WHERE key = 'timezone'")
        .bind(timezone.name())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated == 0 {
        sqlx::query("INSERT INTO settings (key, value) VALUES ('timezone', $1)")
            .bind(timezone.name())
            .execute(&mut *tx)
            .await?;
    }
    b::osm_import_changed(&mut tx, origin).await?;
    tx.commit().await?;
    Ok(())
}

/// Refuses, before any transaction, an import the matching rules cannot write: a facility
/// without an OSM reference, or a way whose node ids and points differ in number.
fn check_import(import: &crate::store::OsmRows<'_>) -> Result<(), StoreError> {
    for f in import.facilities {
        if f.osm.is_none() {
            return Err(StoreError::Conflict(format!(
                "an imported facility ({}, {:?}) has no OSM reference",
                f.kind.as_str(),
                f.name
            )));
        }
    }
    for w in import.ways {
        if w.node_ids.len() != w.line.0.len() {
            return Err(StoreError::Conflict(format!(
                "way {} has {} node ids for {} points",
                w.id,
                w.node_ids.len(),
                w.line.0.len()
            )));
        }
    }
    Ok(())
}

/// Binds a bounding box (min x, min y, max x, max y): the GeoPackage's per-row columns for
/// `gpkg_contents`' extents, trailing parameters that PostgreSQL's statements leave unused.
fn bind_bbox<'q>(query: Query<'q>, bbox: Rect<f64>) -> Query<'q> {
    query
        .bind(bbox.min().x)
        .bind(bbox.min().y)
        .bind(bbox.max().x)
        .bind(bbox.max().y)
}

/// Existing `(key, fid)` pairs, from a two-column query.
async fn existing_keys(
    conn: &mut b::Conn,
    query: &'static str,
) -> Result<HashMap<String, i64>, StoreError> {
    let rows = sqlx::query(query).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
        .collect()
}

/// Deletes the `existing` rows the import did not keep, with one statement (`delete`: the
/// table's `sql::DELETE_…`, given the fids as `b::fid_list`).
async fn delete_gone(
    conn: &mut b::Conn,
    delete: &'static str,
    existing: impl IntoIterator<Item = i64>,
    kept: &HashSet<i64>,
) -> Result<(), StoreError> {
    let mut gone: Vec<i64> = existing
        .into_iter()
        .filter(|fid| !kept.contains(fid))
        .collect();
    if gone.is_empty() {
        return Ok(());
    }
    gone.sort_unstable();
    sqlx::query(delete)
        .bind(b::fid_list(gone))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Binds a building's 11 columns ($1..$11 of `sql::UPDATE_BUILDING`; the GeoPackage's
/// per-row insert binds them too).
pub(crate) fn bind_building<'q>(query: Query<'q>, b: &Building) -> Query<'q> {
    query
        .bind(b::encode_area(b.footprint.shape()))
        .bind(b.name.as_deref())
        .bind(&b.building)
        .bind(b.levels.map(i64::from))
        .bind(i64::from(b.households))
        .bind(i64::from(b.residents))
        .bind(household_source_name(b.household_source))
        .bind(b.point.lon())
        .bind(b.point.lat())
        .bind(b.entrance.map(|e| e.lon()))
        .bind(b.entrance.map(|e| e.lat()))
}

async fn import_buildings(conn: &mut b::Conn, buildings: &[Building]) -> Result<(), StoreError> {
    let mut existing = existing_keys(conn, "SELECT osm, fid FROM buildings").await?;
    let mut kept = HashSet::with_capacity(buildings.len());
    let mut fresh: Vec<&Building> = Vec::new();
    for b in buildings {
        let Some(&fid) = existing.get(&b.osm.to_string()) else {
            fresh.push(b);
            continue;
        };
        let query = bind_building(sqlx::query(sql::UPDATE_BUILDING), b).bind(fid);
        bind_bbox(query, b.footprint.bbox())
            .execute(&mut *conn)
            .await?;
        kept.insert(fid);
    }
    // New buildings after the updates, in import order, so their fids follow it.
    for (osm, fid) in b::insert_buildings(conn, &fresh).await? {
        existing.insert(osm, fid);
        kept.insert(fid);
    }
    delete_gone(conn, sql::DELETE_BUILDINGS, existing.into_values(), &kept).await
}

async fn import_facilities(
    conn: &mut b::Conn,
    facilities: &[Facility],
) -> Result<(), StoreError> {
    let mut existing = existing_keys(
        conn,
        "SELECT osm, fid FROM facilities WHERE osm IS NOT NULL",
    )
    .await?;
    let mut kept = HashSet::with_capacity(facilities.len());
    for f in facilities {
        let osm = f.osm.expect("checked before the transaction").to_string();
        if let Some(&fid) = existing.get(&osm) {
            let query = bind_facility(sqlx::query(sql::UPDATE_FACILITY), f).bind(fid);
            bind_lon_lat(query, f).execute(&mut *conn).await?;
            kept.insert(fid);
        } else {
            let fid: i64 = bind_lon_lat(bind_facility(sqlx::query(sql::INSERT_FACILITY), f), f)
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            existing.insert(osm, fid);
            kept.insert(fid);
        }
    }
    delete_gone(conn, sql::DELETE_FACILITIES, existing.into_values(), &kept).await
}

async fn import_ways(conn: &mut b::Conn, ways: &[StreetWay]) -> Result<(), StoreError> {
    let existing: HashSet<i64> = sqlx::query_scalar("SELECT fid FROM ways")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    b::write_ways(conn, ways, &existing).await?;
    let kept: HashSet<i64> = ways.iter().map(|w| w.id).collect();
    delete_gone(conn, sql::DELETE_WAYS, existing, &kept).await
}

/// Brings the land areas (water and green, the base map) in line with the import, matched by
/// OSM reference like buildings (a matched row keeps its fid; re-importing the same file
/// changes nothing).
async fn import_land(conn: &mut b::Conn, land: &[LandArea]) -> Result<(), StoreError> {
    let mut existing = existing_keys(conn, "SELECT osm, fid FROM land_areas").await?;
    let mut kept = HashSet::with_capacity(land.len());
    for l in land {
        let osm = l.osm.to_string();
        let geom = b::encode_area(l.shape.shape());
        let fid = match existing.get(&osm) {
            Some(&fid) => {
                let query = sqlx::query(sql::UPDATE_LAND)
                    .bind(geom)
                    .bind(l.class.as_str())
                    .bind(l.name.as_deref())
                    .bind(fid);
                bind_bbox(query, l.shape.bbox())
                    .execute(&mut *conn)
                    .await?;
                fid
            }
            None => {
                let query = sqlx::query(sql::INSERT_LAND)
                    .bind(geom)
                    .bind(l.class.as_str())
                    .bind(l.name.as_deref())
                    .bind(&osm);
                let fid: i64 = bind_bbox(query, l.shape.bbox())
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get(0)?;
                existing.insert(osm, fid);
                fid
            }
        };
        kept.insert(fid);
    }
    delete_gone(conn, sql::DELETE_LAND, existing.into_values(), &kept).await
}
