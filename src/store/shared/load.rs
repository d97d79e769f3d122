// Reading the layers back into validated model types: written once for both backends.
// Compiled once per backend (see `src/store/shared/mod.rs`), with `b` naming that backend
// (`geopackage/backend.rs`, `postgres/backend.rs`: the read transaction, geometry and
// `node_ids` decoding) and `sql` its statements that differ (how `geom` is read, the
// time-zone setting).
//
// Every row goes through the model's validating constructors; a row that fails (edited in
// QGIS into something the service cannot use) is a `StoreError::Corrupt` naming the table and
// fid. Rows come in fid order, from a single read transaction, so a load is a consistent
// snapshot and deterministic.

use std::fmt::Display;

use sqlx::Row;

use crate::model::{
    AreaShape, Building, Community, CommunityCode, Facility, FacilityDraft, Grid, GridCode,
    HouseholdSource, KindCatalogue, LandArea, LandClass, LonLat, OsmRef, Person, StreetOffice,
    StreetOfficeCode, StreetWay, parse_name,
};
use crate::store::{Dataset, LayerSelection, StoreError};

/// Every layer.
pub(super) const ALL: LayerSelection = LayerSelection {
    admin: true,
    grids: true,
    osm: true,
    facilities: true,
};

/// Loads the selected layers (the others are left empty) from one read transaction.
pub(super) async fn load(
    pool: &b::Pool,
    catalogue: &KindCatalogue,
    which: LayerSelection,
) -> Result<Dataset, StoreError> {
    let mut tx = b::read_tx(pool).await?;
    let conn: &mut b::Conn = &mut tx;
    let mut data = Dataset::default();
    if which.admin {
        data.street_offices = street_offices(conn).await?;
        data.communities = communities(conn).await?;
    }
    if which.grids {
        data.grids = grids(conn).await?;
    }
    if which.osm {
        data.buildings = buildings(conn).await?;
    }
    if which.facilities {
        data.facilities = facilities(conn, catalogue).await?;
    }
    if which.osm {
        data.ways = ways(conn).await?;
        data.land = land(conn).await?;
        data.timezone = timezone(conn).await?;
    }
    tx.rollback().await?;
    Ok(data)
}

/// Reads one row: a column that cannot be read, or a value that does not validate, is a
/// `Corrupt` error for this table and fid.
struct RowReader<'r> {
    row: &'r b::Row,
    table: &'static str,
    fid: i64,
}

impl<'r> RowReader<'r> {
    fn new(row: &'r b::Row, table: &'static str) -> Result<Self, StoreError> {
        let fid: i64 = row.try_get("fid")?;
        Ok(RowReader { row, table, fid })
    }

    fn corrupt(&self, message: impl Display) -> StoreError {
        StoreError::Corrupt {
            table: self.table,
            id: self.fid,
            message: message.to_string(),
        }
    }

    fn get<T>(&self, column: &str) -> Result<T, StoreError>
    where
        T: sqlx::Decode<'r, <b::Row as Row>::Database> + sqlx::Type<<b::Row as Row>::Database>,
    {
        self.row
            .try_get(column)
            .map_err(|e| self.corrupt(format!("column {column}: {e}")))
    }

    /// A model validation result, reported under this row.
    fn check<T, E: Display>(&self, result: Result<T, E>) -> Result<T, StoreError> {
        result.map_err(|e| self.corrupt(e))
    }

    /// The `geom` column, as stored bytes (borrowed from the row).
    fn geom(&self) -> Result<&'r [u8], StoreError> {
        self.get("geom")
    }

    fn area(&self) -> Result<AreaShape, StoreError> {
        let shape = self.check(b::decode_area(self.geom()?))?;
        self.check(AreaShape::from_multi_polygon(shape, "geom"))
    }

    fn u32(&self, column: &str) -> Result<u32, StoreError> {
        let v: i64 = self.get(column)?;
        u32::try_from(v).map_err(|_| self.corrupt(format!("{column} {v} is out of range")))
    }

    fn lonlat(&self, lon: &str, lat: &str) -> Result<Option<LonLat>, StoreError> {
        match (self.get::<Option<f64>>(lon)?, self.get::<Option<f64>>(lat)?) {
            (Some(x), Some(y)) => Ok(Some(self.check(LonLat::new(x, y))?)),
            (None, None) => Ok(None),
            _ => Err(self.corrupt(format!("{lon} and {lat} must both be set or both be empty"))),
        }
    }
}

async fn street_offices(conn: &mut b::Conn) -> Result<Vec<StreetOffice>, StoreError> {
    let rows = sqlx::query(sql::SELECT_STREET_OFFICES)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let r = RowReader::new(row, "street_offices")?;
            Ok(StreetOffice {
                id: r.fid,
                code: r.check(StreetOfficeCode::parse(&r.get::<String>("code")?, "code"))?,
                name: r.check(parse_name(&r.get::<String>("name")?, "name"))?,
                boundary: r.area()?,
                demo: r.get("demo")?,
            })
        })
        .collect()
}

async fn communities(conn: &mut b::Conn) -> Result<Vec<Community>, StoreError> {
    let rows = sqlx::query(sql::SELECT_COMMUNITIES)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let r = RowReader::new(row, "communities")?;
            Ok(Community {
                id: r.fid,
                code: r.check(CommunityCode::parse(&r.get::<String>("code")?, "code"))?,
                name: r.check(parse_name(&r.get::<String>("name")?, "name"))?,
                street_office_id: r.get("street_office_id")?,
                boundary: r.area()?,
                demo: r.get("demo")?,
            })
        })
        .collect()
}

async fn grids(conn: &mut b::Conn) -> Result<Vec<Grid>, StoreError> {
    let rows = sqlx::query(sql::SELECT_GRIDS)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let r = RowReader::new(row, "grids")?;
            let chief = match (
                r.get::<Option<String>>("chief_name")?,
                r.get::<Option<String>>("chief_phone")?,
            ) {
                (Some(name), phone) => Some(r.check(Person::new(&name, phone.as_deref()))?),
                (None, None) => None,
                (None, Some(_)) => return Err(r.corrupt("chief_phone is set without chief_name")),
            };
            let workers: Vec<crate::store::WorkerJson> =
                r.check(serde_json::from_str(&r.get::<String>("workers")?))?;
            let workers = workers
                .iter()
                .map(|w| r.check(Person::new(&w.name, w.phone.as_deref())))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Grid {
                id: r.fid,
                code: r.check(GridCode::parse(&r.get::<String>("code")?, "code"))?,
                name: r.check(parse_name(&r.get::<String>("name")?, "name"))?,
                community_id: r.get("community_id")?,
                chief,
                workers,
                boundary: r.area()?,
                demo: r.get("demo")?,
                version: r.get("version")?,
            })
        })
        .collect()
}

/// `buildings.household_source` as stored.
pub(super) fn household_source_name(source: HouseholdSource) -> &'static str {
    match source {
        HouseholdSource::Estimated => "estimated",
        HouseholdSource::Counted => "counted",
        HouseholdSource::None => "none",
    }
}

fn parse_household_source(text: &str) -> Result<HouseholdSource, String> {
    match text {
        "estimated" => Ok(HouseholdSource::Estimated),
        "counted" => Ok(HouseholdSource::Counted),
        "none" => Ok(HouseholdSource::None),
        other => Err(format!(
            "household_source {other:?} is not estimated, counted or none"
        )),
    }
}

async fn buildings(conn: &mut b::Conn) -> Result<Vec<Building>, StoreError> {
    let rows = sqlx::query(sql::SELECT_BUILDINGS)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let r = RowReader::new(row, "buildings")?;
            let levels = match r.get::<Option<i64>>("levels")? {
                None => None,
                Some(v) => Some(
                    u16::try_from(v)
                        .map_err(|_| r.corrupt(format!("levels {v} is out of range")))?,
                ),
            };
            Ok(Building {
                id: r.fid,
                osm: r.check(r.get::<String>("osm")?.parse::<OsmRef>())?,
                name: r.get("name")?,
                building: r.get("building")?,
                footprint: r.area()?,
                point: r
                    .lonlat("point_lon", "point_lat")?
                    .ok_or_else(|| r.corrupt("point_lon/point_lat missing"))?,
                entrance: r.lonlat("entrance_lon", "entrance_lat")?,
                levels,
                households: r.u32("households")?,
                residents: r.u32("residents")?,
                household_source: r.check(parse_household_source(
                    &r.get::<String>("household_source")?,
                ))?,
            })
        })
        .collect()
}

async fn facilities(
    conn: &mut b::Conn,
    catalogue: &KindCatalogue,
) -> Result<Vec<Facility>, StoreError> {
    let rows = sqlx::query(sql::SELECT_FACILITIES)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let r = RowReader::new(row, "facilities")?;
            let point = r.check(b::decode_point(r.geom()?))?;
            let osm = match r.get::<Option<String>>("osm")? {
                None => None,
                Some(text) => Some(r.check(text.parse::<OsmRef>())?),
            };
            let draft = FacilityDraft {
                osm,
                lon: point.x(),
                lat: point.y(),
                kind: r.get("kind")?,
                name: r.get("name")?,
                owner: r.get("owner")?,
                audience: r.get("audience")?,
                opening_hours: r.get("opening_hours")?,
                capacity: r.get("capacity")?,
                free: r.get("free")?,
                shared: r.get("shared")?,
                demo: r.get("demo")?,
            };
            r.check(draft.validate(r.fid, catalogue))
        })
        .collect()
}

async fn ways(conn: &mut b::Conn) -> Result<Vec<StreetWay>, StoreError> {
    let rows = sqlx::query(sql::SELECT_WAYS)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let r = RowReader::new(row, "ways")?;
            let line = r.check(b::decode_line(r.geom()?))?;
            if line.0.len() < 2 {
                return Err(r.corrupt("a way needs at least 2 points"));
            }
            for c in &line.0 {
                r.check(LonLat::new(c.x, c.y))?;
            }
            let node_ids = r.check(b::decode_node_ids(r.get("node_ids")?))?;
            if node_ids.len() != line.0.len() {
                return Err(r.corrupt(format!(
                    "{} node ids for {} points",
                    node_ids.len(),
                    line.0.len()
                )));
            }
            Ok(StreetWay {
                id: r.fid,
                highway: r.get("highway")?,
                name: r.get("name")?,
                foot: r.get("foot")?,
                access: r.get("access")?,
                area: r.get("area")?,
                node_ids,
                line,
            })
        })
        .collect()
}

async fn land(conn: &mut b::Conn) -> Result<Vec<LandArea>, StoreError> {
    let rows = sqlx::query(sql::SELECT_LAND_AREAS)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let r = RowReader::new(row, "land_areas")?;
            let shape = r.area()?;
            Ok(LandArea {
                id: r.fid,
                osm: r.check(r.get::<String>("osm")?.parse::<OsmRef>())?,
                class: r.check(LandClass::parse(&r.get::<String>("class")?, "class"))?,
                name: r.get("name")?,
                shape,
            })
        })
        .collect()
}

/// Parses a stored time zone name.
fn parse_timezone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse::<chrono_tz::Tz>()
        .map_err(|e| format!("unknown time zone {name:?}: {e}"))
}

async fn timezone(conn: &mut b::Conn) -> Result<Option<chrono_tz::Tz>, StoreError> {
    let row = sqlx::query(sql::SELECT_TIMEZONE)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        None => Ok(None),
        Some(row) => {
            let r = RowReader::new(&row, "settings")?;
            Ok(Some(r.check(parse_timezone(&r.get::<String>("value")?))?))
        }
    }
}

/// True when nothing was imported yet (no buildings, no street offices).
pub(crate) async fn is_empty(reader: &b::Pool) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM buildings) + (SELECT COUNT(*) FROM street_offices)",
    )
    .fetch_one(reader)
    .await?;
    Ok(n == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn household_sources_round_trip() {
        for s in [
            HouseholdSource::Estimated,
            HouseholdSource::Counted,
            HouseholdSource::None,
        ] {
            assert_eq!(parse_household_source(household_source_name(s)).unwrap(), s);
        }
        assert!(parse_household_source("guessed").is_err());
    }

    #[test]
    fn timezones() {
        assert_eq!(
            parse_timezone("Asia/Shanghai").unwrap(),
            chrono_tz::Asia::Shanghai
        );
        assert!(parse_timezone("Mars/Olympus").is_err());
    }
}
