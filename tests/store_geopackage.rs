//! The GeoPackage store against real files: round trips of every layer, write semantics,
//! idempotent OSM re-imports, and the file as GDAL sees it (`ogrinfo`, `validate_gpkg.py`).
//!
//! Model values are built with the real validating constructors; nothing here depends on the
//! OSM importer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use geo::{LineString, MultiPolygon, Polygon, line_string, polygon};
use gridcircle::import::OsmImport;
use gridcircle::model::{
    AreaShape, Building, Community, CommunityCode, Facility, FacilityDraft, Grid, GridCode,
    HouseholdSource, KindCatalogue, LandArea, LandClass, LonLat, OsmRef, Person, StreetOffice,
    StreetOfficeCode, StreetWay,
};
use gridcircle::store::{HouseholdCount, Store, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow};
use sqlx::{Row, TypeInfo, ValueRef};

// ---------------------------------------------------------------- model values

/// A lon/lat rectangle in Nanjing (around Xinjiekou) or anywhere else.
fn rect(lon: f64, lat: f64, width: f64, height: f64) -> Polygon<f64> {
    polygon![
        (x: lon, y: lat),
        (x: lon + width, y: lat),
        (x: lon + width, y: lat + height),
        (x: lon, y: lat + height),
    ]
}

fn area(lon: f64, lat: f64, size: f64) -> AreaShape {
    AreaShape::from_polygon(rect(lon, lat, size, size), "geometry").unwrap()
}

fn street_office() -> StreetOffice {
    StreetOffice {
        id: 0,
        code: StreetOfficeCode::parse("320104001", "code").unwrap(),
        name: "新街口街道".into(),
        boundary: area(118.77, 32.03, 0.03),
        demo: true,
    }
}

fn community(street_office_id: i64) -> Community {
    Community {
        id: 0,
        code: CommunityCode::parse("320104001002", "code").unwrap(),
        name: "石鼓路社区".into(),
        street_office_id,
        boundary: area(118.775, 32.035, 0.01),
        demo: true,
    }
}

fn grid(community_id: i64, seq: u16, chief: bool) -> Grid {
    let community = CommunityCode::parse("320104001002", "code").unwrap();
    Grid {
        id: 0,
        code: GridCode::in_community(&community, seq).unwrap(),
        name: format!("第{seq}网格"),
        community_id,
        chief: chief.then(|| Person::new("王芳", Some("13800000000")).unwrap()),
        workers: if chief {
            vec![
                Person::new("李强", None).unwrap(),
                Person::new("张伟", Some("+86 25-1234 5678")).unwrap(),
            ]
        } else {
            Vec::new()
        },
        boundary: area(118.776 + 0.002 * f64::from(seq), 32.036, 0.002),
        demo: true,
        version: 1,
    }
}

fn facility(osm: Option<OsmRef>, lon: f64, lat: f64, kind: &str, name: &str) -> Facility {
    FacilityDraft {
        osm,
        lon,
        lat,
        kind: kind.into(),
        name: Some(name.into()),
        ..Default::default()
    }
    .validate(0, &KindCatalogue::bundled())
    .unwrap()
}

fn user_facility() -> Facility {
    FacilityDraft {
        osm: None,
        lon: 118.7801,
        lat: 32.0402,
        kind: "parking".into(),
        name: Some("金陵饭店共享车位".into()),
        owner: Some("金陵饭店".into()),
        audience: Some("outdoor_workers".into()),
        opening_hours: Some("Mo-Fr 08:00-18:00; PH off".into()),
        capacity: Some(20),
        free: Some(5),
        shared: true,
        demo: true,
    }
    .validate(0, &KindCatalogue::bundled())
    .unwrap()
}

fn building(way: i64, lon: f64, lat: f64) -> Building {
    let footprint = area(lon, lat, 0.0004);
    Building {
        id: 0,
        osm: OsmRef::Way(way),
        name: None,
        building: "residential".into(),
        point: footprint.representative_point(),
        footprint,
        entrance: None,
        levels: Some(6),
        households: 40,
        residents: 105,
        household_source: HouseholdSource::Estimated,
    }
}

/// A relation building with two parts, one with a courtyard, and an entrance.
fn courtyard_building() -> Building {
    let outer = rect(118.781, 32.041, 0.001, 0.001);
    let with_hole = Polygon::new(
        outer.exterior().clone(),
        vec![LineString::from(vec![
            (118.7813, 32.0413),
            (118.7817, 32.0413),
            (118.7817, 32.0417),
            (118.7813, 32.0417),
            (118.7813, 32.0413),
        ])],
    );
    let footprint = AreaShape::from_multi_polygon(
        MultiPolygon(vec![with_hole, rect(118.783, 32.041, 0.0005, 0.0005)]),
        "geometry",
    )
    .unwrap();
    Building {
        id: 0,
        osm: OsmRef::Relation(42),
        name: Some("华侨大厦".into()),
        building: "apartments".into(),
        point: footprint.representative_point(),
        footprint,
        entrance: Some(LonLat::new(118.781, 32.0412).unwrap()),
        levels: None,
        households: 0,
        residents: 0,
        household_source: HouseholdSource::None,
    }
}

fn way(id: i64, lon: f64, name: Option<&str>) -> StreetWay {
    StreetWay {
        id,
        highway: "residential".into(),
        name: name.map(str::to_owned),
        foot: Some("yes".into()),
        access: None,
        area: false,
        node_ids: vec![id * 10, id * 10 + 1, id * 10 + 2],
        line: line_string![(x: lon, y: 32.040), (x: lon + 0.001, y: 32.0405), (x: lon + 0.002, y: 32.041)],
    }
}

fn osm_import() -> OsmImport {
    OsmImport {
        buildings: vec![
            building(1001, 118.7790, 32.0400),
            building(1002, 118.7795, 32.0400),
            courtyard_building(),
        ],
        facilities: vec![
            facility(
                Some(OsmRef::Node(5001)),
                118.7785,
                32.0410,
                "toilet",
                "公厕",
            ),
            facility(
                Some(OsmRef::Way(5002)),
                118.7786,
                32.0411,
                "pharmacy",
                "国药大药房",
            ),
        ],
        ways: vec![way(301, 118.778, Some("中山路")), way(302, 118.779, None)],
        land: vec![
            LandArea {
                id: 0,
                osm: OsmRef::Way(401),
                class: LandClass::Water,
                name: Some("乌龙潭".into()),
                shape: area(118.776, 32.042, 0.0005),
            },
            LandArea {
                id: 0,
                osm: OsmRef::Relation(402),
                class: LandClass::Park,
                name: None,
                shape: area(118.777, 32.043, 0.0008),
            },
        ],
        ..Default::default()
    }
}

fn shanghai() -> chrono_tz::Tz {
    "Asia/Shanghai".parse().unwrap()
}

// ---------------------------------------------------------------- file helpers

fn temp_gpkg(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

async fn open(path: &Path) -> Store {
    Store::open(path.to_str().unwrap()).await.unwrap()
}

/// A raw connection to the file, for checks behind the store's back.
async fn raw(path: &Path) -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

fn render(row: &SqliteRow) -> Vec<String> {
    (0..row.len())
        .map(|i| {
            let value = row.try_get_raw(i).unwrap();
            if value.is_null() {
                return "NULL".to_owned();
            }
            match value.type_info().name() {
                "INTEGER" => row.try_get_unchecked::<i64, _>(i).unwrap().to_string(),
                "REAL" => format!("{:?}", row.try_get_unchecked::<f64, _>(i).unwrap()),
                "TEXT" => format!("{:?}", row.try_get_unchecked::<String, _>(i).unwrap()),
                "BLOB" => format!(
                    "x'{}'",
                    hex::encode(row.try_get_unchecked::<Vec<u8>, _>(i).unwrap())
                ),
                other => panic!("unexpected SQLite type {other}"),
            }
        })
        .collect()
}

/// Every stored row of every table (gpkg_contents without its last_change timestamp), and
/// the AUTOINCREMENT sequences.
async fn dump(path: &Path) -> BTreeMap<&'static str, Vec<Vec<String>>> {
    let pool = raw(path).await;
    let queries: [(&str, &'static str); 10] = [
        (
            "street_offices",
            "SELECT * FROM street_offices ORDER BY fid",
        ),
        ("communities", "SELECT * FROM communities ORDER BY fid"),
        ("grids", "SELECT * FROM grids ORDER BY fid"),
        ("buildings", "SELECT * FROM buildings ORDER BY fid"),
        ("facilities", "SELECT * FROM facilities ORDER BY fid"),
        ("ways", "SELECT * FROM ways ORDER BY fid"),
        ("settings", "SELECT * FROM settings ORDER BY fid"),
        (
            "gpkg_contents",
            "SELECT table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id \
             FROM gpkg_contents ORDER BY table_name",
        ),
        (
            "gpkg_geometry_columns",
            "SELECT * FROM gpkg_geometry_columns ORDER BY table_name",
        ),
        (
            "sqlite_sequence",
            "SELECT name, seq FROM sqlite_sequence ORDER BY name",
        ),
    ];
    let mut out = BTreeMap::new();
    for (name, sql) in queries {
        let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
        out.insert(name, rows.iter().map(render).collect());
    }
    pool.close().await;
    out
}

async fn contents_extent(path: &Path, table: &str) -> Option<[f64; 4]> {
    let pool = raw(path).await;
    let row =
        sqlx::query("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?")
            .bind(table)
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    let v: [Option<f64>; 4] = [row.get(0), row.get(1), row.get(2), row.get(3)];
    match v {
        [Some(a), Some(b), Some(c), Some(d)] => Some([a, b, c, d]),
        [None, None, None, None] => None,
        other => panic!("half-set extent {other:?}"),
    }
}

fn tool_exists(name: &str) -> bool {
    Command::new(name).arg("--version").output().is_ok()
}

/// `ogrinfo -ro -so -al FILE`: layer name → (geometry, feature count). Panics on any GDAL
/// error; returns None when GDAL is not installed.
fn ogrinfo_layers(path: &Path) -> Option<BTreeMap<String, (String, u64)>> {
    if !tool_exists("ogrinfo") {
        eprintln!("SKIPPED: ogrinfo (gdal-bin) is not installed");
        return None;
    }
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", "-al"])
        .arg(path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("ogrinfo stdout:\n{stdout}");
    println!("ogrinfo stderr:\n{stderr}");
    assert!(out.status.success(), "ogrinfo failed: {stderr}");
    assert!(
        !stderr.contains("ERROR"),
        "GDAL reported an error: {stderr}"
    );
    assert!(
        !stderr.contains("Warning"),
        "GDAL warned about the file: {stderr}"
    );
    let mut layers = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix("Layer name: ") {
            current = Some((name.trim().to_owned(), String::new()));
        } else if let Some(geometry) = line.strip_prefix("Geometry: ") {
            if let Some(c) = current.as_mut() {
                c.1 = geometry.trim().to_owned();
            }
        } else if let Some(count) = line.strip_prefix("Feature Count: ") {
            let (name, geometry) = current.take().expect("Feature Count after Layer name");
            layers.insert(name, (geometry, count.trim().parse().unwrap()));
        }
    }
    Some(layers)
}

/// GDAL's `validate_gpkg.py` (`--extra` also checks column contents), when installed.
fn validate_gpkg(path: &Path) {
    let script = [
        "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py",
        "/usr/share/doc/python3-gdal/examples/validate_gpkg.py",
    ]
    .into_iter()
    .map(Path::new)
    .find(|p| p.exists());
    let Some(script) = script else {
        eprintln!("SKIPPED: validate_gpkg.py is not installed (Debian package python3-gdal)");
        return;
    };
    // The system interpreter has the osgeo bindings, which enable the WKB checks.
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let out = Command::new(python)
        .arg(script)
        .args(["-k", "--extra"])
        .arg(path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("validate_gpkg.py:\n{stdout}{stderr}");
    assert!(
        out.status.success(),
        "validate_gpkg.py found problems:\n{stdout}{stderr}"
    );
    assert!(
        stdout.trim().is_empty() && stderr.trim().is_empty(),
        "validate_gpkg.py warned:\n{stdout}{stderr}"
    );
}

/// The store's writes as the old one-call operations, each in its own write transaction.
mod ops {
    use gridcircle::model::{Community, Facility, Grid, KindCatalogue, StreetOffice};
    use gridcircle::store::{ChangeBy, GridRemoval, MembersOnDelete, Store, StoreError};

    pub async fn insert_street_office(store: &Store, o: &StreetOffice) -> Result<i64, StoreError> {
        let mut tx = store.begin_write().await?;
        let id = tx.create_street_office(o, &ChangeBy::system()).await?.id;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn insert_community(store: &Store, c: &Community) -> Result<i64, StoreError> {
        let mut tx = store.begin_write().await?;
        let id = tx.create_community(c, &ChangeBy::system()).await?.id;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn insert_grid(store: &Store, g: &Grid) -> Result<i64, StoreError> {
        let mut tx = store.begin_write().await?;
        let id = tx.create_grid(g, &ChangeBy::system()).await?.id;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn insert_facility(store: &Store, f: &Facility) -> Result<i64, StoreError> {
        let mut tx = store.begin_write().await?;
        let id = tx.insert_facility(f).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn stored_facility(store: &Store, id: i64) -> Option<Facility> {
        let data = store.load(&KindCatalogue::bundled()).await.unwrap();
        data.facilities.into_iter().find(|f| f.id == id)
    }

    async fn stored_grid_version(store: &Store, id: i64) -> Option<i64> {
        let data = store.load(&KindCatalogue::bundled()).await.unwrap();
        data.grids.iter().find(|g| g.id == id).map(|g| g.version)
    }

    /// Replaces facility `f.id` over whatever is stored; false when there is none.
    pub async fn replace_facility(store: &Store, f: &Facility) -> Result<bool, StoreError> {
        let Some(old) = stored_facility(store, f.id).await else {
            return Ok(false);
        };
        let mut tx = store.begin_write().await?;
        let done = tx.replace_facility_if(f, &old).await?;
        tx.commit().await?;
        Ok(done)
    }

    pub async fn delete_facility(store: &Store, id: i64) -> Result<bool, StoreError> {
        let Some(old) = stored_facility(store, id).await else {
            return Ok(false);
        };
        let mut tx = store.begin_write().await?;
        let done = tx.delete_facility_if(&old).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Replaces grid `g.id` at its stored version + 1; false when there is none.
    pub async fn replace_grid(store: &Store, g: &Grid) -> Result<bool, StoreError> {
        let Some(version) = stored_grid_version(store, g.id).await else {
            return Ok(false);
        };
        let mut g = g.clone();
        g.version = version + 1;
        let mut tx = store.begin_write().await?;
        let done = tx.update_grid(&g, &ChangeBy::system()).await?.is_some();
        tx.commit().await?;
        Ok(done)
    }

    pub async fn delete_grid(store: &Store, id: i64) -> Result<bool, StoreError> {
        let Some(version) = stored_grid_version(store, id).await else {
            return Ok(false);
        };
        let mut tx = store.begin_write().await?;
        let removal = tx
            .remove_grid(id, version, &MembersOnDelete::Release, &ChangeBy::system())
            .await?;
        tx.commit().await?;
        Ok(matches!(removal, GridRemoval::Deleted(_)))
    }
}

// ---------------------------------------------------------------- tests

/// Writes one of everything; returns the ids the store gave.
async fn populate(store: &Store) -> (i64, i64, i64, i64, i64) {
    let office = ops::insert_street_office(store, &street_office())
        .await
        .unwrap();
    let community = ops::insert_community(store, &community(office))
        .await
        .unwrap();
    let grid1 = ops::insert_grid(store, &grid(community, 1, true))
        .await
        .unwrap();
    let grid2 = ops::insert_grid(store, &grid(community, 2, false))
        .await
        .unwrap();
    let user = ops::insert_facility(store, &user_facility()).await.unwrap();
    store
        .write_osm_import(&osm_import(), shanghai())
        .await
        .unwrap();
    (office, community, grid1, grid2, user)
}

#[tokio::test]
async fn every_layer_round_trips_through_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_gpkg(&dir, "roundtrip.gpkg");
    let store = open(&path).await;
    let catalogue = KindCatalogue::bundled();

    let empty = store.load(&catalogue).await.unwrap();
    assert!(empty.street_offices.is_empty() && empty.buildings.is_empty() && empty.ways.is_empty());
    assert_eq!(empty.timezone, None);

    let (office, community_id, grid1, grid2, user) = populate(&store).await;
    assert_eq!((office, community_id, grid1, grid2, user), (1, 1, 1, 2, 1));

    let mut expected_office = street_office();
    expected_office.id = office;
    let mut expected_community = community(office);
    expected_community.id = community_id;
    let mut g1 = grid(community_id, 1, true);
    g1.id = grid1;
    let mut g2 = grid(community_id, 2, false);
    g2.id = grid2;
    let mut expected_user = user_facility();
    expected_user.id = user;
    let import = osm_import();
    let mut buildings = import.buildings.clone();
    for (i, b) in buildings.iter_mut().enumerate() {
        b.id = i as i64 + 1; // inserted in import order
    }
    let mut facilities = vec![expected_user];
    facilities.extend(
        import
            .facilities
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, mut f)| {
                f.id = i as i64 + 2;
                f
            }),
    );

    for round in ["open store", "after reopening"] {
        let data = store_for_round(&store, &path, round)
            .await
            .load(&catalogue)
            .await
            .unwrap();
        assert_eq!(
            data.street_offices,
            vec![expected_office.clone()],
            "{round}"
        );
        assert_eq!(
            data.communities,
            vec![expected_community.clone()],
            "{round}"
        );
        assert_eq!(data.grids, vec![g1.clone(), g2.clone()], "{round}");
        assert_eq!(data.buildings, buildings, "{round}");
        assert_eq!(data.facilities, facilities, "{round}");
        assert_eq!(data.ways, import.ways, "{round}");
        let land: Vec<LandArea> = import
            .land
            .iter()
            .enumerate()
            .map(|(i, l)| LandArea {
                id: i as i64 + 1,
                ..l.clone()
            })
            .collect();
        assert_eq!(data.land, land, "{round}");
        assert_eq!(data.timezone, Some(shanghai()), "{round}");
    }
    store.close().await;
    let reopened = open(&path).await;
    reopened.close().await;

    // Closing checkpointed the WAL: the .gpkg alone is the whole database.
    let wal = path.with_extension("gpkg-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "WAL left behind"
    );
    let header = std::fs::read(&path).unwrap();
    assert_eq!(&header[68..72], b"GPKG", "application_id");
    assert_eq!(
        u32::from_be_bytes(header[60..64].try_into().unwrap()),
        10300,
        "user_version"
    );

    if let Some(layers) = ogrinfo_layers(&path) {
        let expect = |geometry: &str, n: u64| (geometry.to_owned(), n);
        assert_eq!(
            layers.get("street_offices"),
            Some(&expect("Multi Polygon", 1))
        );
        assert_eq!(layers.get("communities"), Some(&expect("Multi Polygon", 1)));
        assert_eq!(layers.get("grids"), Some(&expect("Multi Polygon", 2)));
        assert_eq!(layers.get("buildings"), Some(&expect("Multi Polygon", 3)));
        assert_eq!(layers.get("facilities"), Some(&expect("Point", 3)));
        assert_eq!(layers.get("ways"), Some(&expect("Line String", 2)));
        assert_eq!(layers.get("settings"), Some(&expect("None", 1)));
        assert_eq!(layers.get("land_areas"), Some(&expect("Multi Polygon", 2)));
        // One history row per boundary written: the office, the community, two grids.
        assert_eq!(
            layers.get("boundary_history"),
            Some(&expect("Multi Polygon", 4))
        );
        assert_eq!(layers.len(), 11, "{layers:?}");
    }
    validate_gpkg(&path);
}

/// The first round uses the open store; the second a fresh one on the same file.
async fn store_for_round(store: &Store, path: &Path, round: &str) -> Store {
    if round == "open store" {
        store.clone()
    } else {
        Store::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn facility_and_grid_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_gpkg(&dir, "writes.gpkg");
    let store = open(&path).await;
    let catalogue = KindCatalogue::bundled();
    let (_, community_id, grid1, grid2, user) = populate(&store).await;

    // Replace a facility: every field is written.
    let mut moved = facility(None, 118.7900, 32.0500, "drinking_water", "直饮水点");
    moved.id = user;
    assert!(ops::replace_facility(&store, &moved).await.unwrap());
    let data = store.load(&catalogue).await.unwrap();
    assert_eq!(data.facilities.iter().find(|f| f.id == user), Some(&moved));
    assert_eq!(
        contents_extent(&path, "facilities").await,
        Some([118.7785, 32.0410, 118.79, 32.05])
    );

    let mut missing = moved.clone();
    missing.id = 999;
    assert!(!ops::replace_facility(&store, &missing).await.unwrap());
    assert!(ops::delete_facility(&store, user).await.unwrap());
    assert!(!ops::delete_facility(&store, user).await.unwrap());
    assert_eq!(
        contents_extent(&path, "facilities").await,
        Some([118.7785, 32.0410, 118.7786, 32.0411])
    );

    // Insert grows the extent; fids are never reused (AUTOINCREMENT).
    let again = ops::insert_facility(&store, &user_facility())
        .await
        .unwrap();
    assert_eq!(again, 4);
    assert_eq!(
        contents_extent(&path, "facilities").await,
        Some([118.7785, 32.0402, 118.7801, 32.0411])
    );

    // Replace a grid: new fields, version goes up by one per replace.
    let mut g = grid(community_id, 1, false);
    g.id = grid1;
    g.name = "第一网格".into();
    g.boundary = area(118.70, 32.00, 0.01);
    assert!(ops::replace_grid(&store, &g).await.unwrap());
    assert!(ops::replace_grid(&store, &g).await.unwrap());
    let grids = store.load(&catalogue).await.unwrap().grids;
    let stored = grids.iter().find(|x| x.id == grid1).unwrap();
    assert_eq!(stored.version, 3);
    assert_eq!(stored.name, "第一网格");
    assert_eq!(stored.chief, None);
    assert!(stored.workers.is_empty());
    assert_eq!(stored.boundary, g.boundary);
    let ext = contents_extent(&path, "grids").await.unwrap();
    assert_eq!([ext[0], ext[1]], [118.70, 32.00]);

    g.id = 999;
    assert!(!ops::replace_grid(&store, &g).await.unwrap());
    assert!(ops::delete_grid(&store, grid2).await.unwrap());
    assert!(!ops::delete_grid(&store, grid2).await.unwrap());
    assert!(ops::delete_grid(&store, grid1).await.unwrap());
    assert!(store.load(&catalogue).await.unwrap().grids.is_empty());
    assert_eq!(
        contents_extent(&path, "grids").await,
        None,
        "an empty table has no extent"
    );
    store.close().await;
    validate_gpkg(&path);
}

#[tokio::test]
async fn duplicate_codes_and_missing_parents_are_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_gpkg(&dir, "conflicts.gpkg");
    let store = open(&path).await;
    let (office, community_id, grid1, _grid2, _) = populate(&store).await;

    let err = ops::insert_grid(&store, &grid(community_id, 1, false))
        .await
        .unwrap_err();
    match err {
        StoreError::Conflict(message) => {
            assert_eq!(message, "grid code 320104001002001 already exists")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Replacing a grid with another grid's code is the same conflict.
    let mut g = grid(community_id, 2, false);
    g.id = grid1;
    assert!(
        matches!(ops::replace_grid(&store, &g).await, Err(StoreError::Conflict(m)) if m.contains("already exists"))
    );
    assert!(matches!(
        ops::insert_street_office(&store, &street_office()).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        ops::insert_community(&store, &community(office)).await,
        Err(StoreError::Conflict(_))
    ));
    let orphan = grid(12345, 9, false);
    assert!(matches!(
        ops::insert_grid(&store, &orphan).await,
        Err(StoreError::Conflict(m)) if m == "community 12345 does not exist"
    ));
    let dup_osm = facility(Some(OsmRef::Node(5001)), 118.78, 32.04, "toilet", "又一个");
    assert!(matches!(
        ops::insert_facility(&store, &dup_osm).await,
        Err(StoreError::Conflict(_))
    ));

    // Nothing of the failed writes was stored.
    let data = store.load(&KindCatalogue::bundled()).await.unwrap();
    assert_eq!(data.grids.len(), 2);
    assert_eq!(
        data.grids
            .iter()
            .find(|x| x.id == grid1)
            .unwrap()
            .code
            .as_str(),
        "320104001002001"
    );
    assert_eq!(data.street_offices.len(), 1);
    assert_eq!(data.communities.len(), 1);
    assert_eq!(data.facilities.len(), 3);
    store.close().await;
}

#[tokio::test]
async fn reimporting_gives_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_gpkg(&dir, "reimport.gpkg");
    let store = open(&path).await;
    populate(&store).await;
    store.close().await;
    let first = dump(&path).await;

    let store = open(&path).await;
    store
        .write_osm_import(&osm_import(), shanghai())
        .await
        .unwrap();
    store.close().await;
    assert_eq!(
        dump(&path).await,
        first,
        "importing the same data twice changed the database"
    );

    // A changed extract: building 1002 gone, 1003 new, 1001 renamed; a way gone and one new;
    // a facility gone; the user facility stays.
    let store = open(&path).await;
    let mut next = osm_import();
    next.buildings.retain(|b| b.osm != OsmRef::Way(1002));
    next.buildings[0].name = Some("新名字".into());
    next.buildings.push(building(1003, 118.7800, 32.0400));
    next.facilities.truncate(1);
    next.ways = vec![way(302, 118.779, Some("汉中路")), way(303, 118.780, None)];
    store
        .write_osm_import(&next, "Europe/Lisbon".parse().unwrap())
        .await
        .unwrap();
    let data = store.load(&KindCatalogue::bundled()).await.unwrap();
    let building_ids: Vec<(i64, String)> = data
        .buildings
        .iter()
        .map(|b| (b.id, b.osm.to_string()))
        .collect();
    assert_eq!(
        building_ids,
        vec![
            (1, "way/1001".to_owned()),
            (3, "relation/42".to_owned()),
            (4, "way/1003".to_owned())
        ],
        "kept rows keep their fid; new rows get the next one"
    );
    assert_eq!(data.buildings[0].name.as_deref(), Some("新名字"));
    let facility_ids: Vec<(i64, Option<OsmRef>)> =
        data.facilities.iter().map(|f| (f.id, f.osm)).collect();
    assert_eq!(facility_ids, vec![(1, None), (2, Some(OsmRef::Node(5001)))]);
    let way_ids: Vec<(i64, Option<String>)> =
        data.ways.iter().map(|w| (w.id, w.name.clone())).collect();
    assert_eq!(way_ids, vec![(302, Some("汉中路".into())), (303, None)]);
    assert_eq!(data.timezone, Some("Europe/Lisbon".parse().unwrap()));
    store.close().await;
    let second = dump(&path).await;

    let store = open(&path).await;
    store
        .write_osm_import(&next, "Europe/Lisbon".parse().unwrap())
        .await
        .unwrap();
    store.close().await;
    assert_eq!(dump(&path).await, second);
    assert_eq!(second["settings"].len(), 1);
    validate_gpkg(&path);
}

#[tokio::test]
async fn counted_households_survive_a_reimport() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_gpkg(&dir, "counts.gpkg");
    let store = open(&path).await;
    let catalogue = KindCatalogue::bundled();
    store
        .write_osm_import(&osm_import(), shanghai())
        .await
        .unwrap();
    let counts = [
        HouseholdCount {
            osm: OsmRef::Way(1001),
            households: 12,
            residents: 30,
        },
        HouseholdCount {
            osm: OsmRef::Relation(42),
            households: 3,
            residents: 7,
        },
        HouseholdCount {
            osm: OsmRef::Way(9999),
            households: 1,
            residents: 1,
        },
    ];
    assert_eq!(store.write_household_counts(&counts).await.unwrap(), 2);

    // The import estimates again (different numbers), and renames a counted building.
    let mut again = osm_import();
    for b in &mut again.buildings {
        b.households += 1;
        b.residents += 1;
    }
    again.buildings[0].name = Some("改名".into());
    store.write_osm_import(&again, shanghai()).await.unwrap();

    let data = store.load(&catalogue).await.unwrap();
    let by_osm = |osm: OsmRef| data.buildings.iter().find(|b| b.osm == osm).unwrap();
    let counted = by_osm(OsmRef::Way(1001));
    assert_eq!(
        (
            counted.households,
            counted.residents,
            counted.household_source
        ),
        (12, 30, HouseholdSource::Counted)
    );
    assert_eq!(
        counted.name.as_deref(),
        Some("改名"),
        "other fields still follow OSM"
    );
    let counted = by_osm(OsmRef::Relation(42));
    assert_eq!(
        (
            counted.households,
            counted.residents,
            counted.household_source
        ),
        (3, 7, HouseholdSource::Counted)
    );
    let estimated = by_osm(OsmRef::Way(1002));
    assert_eq!(
        (
            estimated.households,
            estimated.residents,
            estimated.household_source
        ),
        (41, 106, HouseholdSource::Estimated)
    );
    store.close().await;
}

#[tokio::test]
async fn rows_edited_into_nonsense_are_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_gpkg(&dir, "corrupt.gpkg");
    let store = open(&path).await;
    let catalogue = KindCatalogue::bundled();
    let (_, _, _, grid2, _) = populate(&store).await;
    store.close().await;

    // Each edit, made behind the store's back, makes load fail on exactly that row.
    let edits: [(&'static str, &'static str, i64); 5] = [
        (
            "UPDATE grids SET workers = '[{\"name\": \"  \"}]' WHERE fid = 2",
            "grids",
            grid2,
        ),
        (
            "UPDATE facilities SET kind = 'spaceport' WHERE fid = 2",
            "facilities",
            2,
        ),
        (
            "UPDATE buildings SET geom = x'47500003e6100000' WHERE fid = 3",
            "buildings",
            3,
        ),
        (
            "UPDATE ways SET node_ids = x'0100000000000000' WHERE fid = 301",
            "ways",
            301,
        ),
        (
            "UPDATE settings SET value = 'Mars/Olympus' WHERE key = 'timezone'",
            "settings",
            1,
        ),
    ];
    for (sql, table, id) in edits {
        let copy = dir.path().join(format!("corrupt-{table}.gpkg"));
        std::fs::copy(&path, &copy).unwrap();
        let pool = raw(&copy).await;
        sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
        let store = open(&copy).await;
        match store.load(&catalogue).await {
            Err(StoreError::Corrupt {
                table: t,
                id: i,
                message,
            }) => {
                assert_eq!((t, i), (table, id), "{message}");
            }
            other => panic!("{sql}: expected Corrupt, got {other:?}"),
        }
        store.close().await;
    }
}

/// A row added by GDAL (as QGIS would) loads like any other.
#[tokio::test]
async fn rows_written_by_gdal_load() {
    if !tool_exists("ogr2ogr") {
        eprintln!("SKIPPED: ogr2ogr (gdal-bin) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = temp_gpkg(&dir, "gdal.gpkg");
    let store = open(&path).await;
    populate(&store).await;
    store.close().await;
    let geojson = dir.path().join("new.geojson");
    std::fs::write(
        &geojson,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature",
            "properties":{"kind":"toilet","name":"QGIS toilet","opening_hours":"24/7"},
            "geometry":{"type":"Point","coordinates":[118.7701,32.0301]}}]}"#,
    )
    .unwrap();
    let out = Command::new("ogr2ogr")
        .args(["-append", "-update", "-nln", "facilities"])
        .arg(&path)
        .arg(&geojson)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ogr2ogr: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let store = open(&path).await;
    let data = store.load(&KindCatalogue::bundled()).await.unwrap();
    let added = data.facilities.last().unwrap();
    assert_eq!(added.id, 4);
    assert_eq!(added.name.as_deref(), Some("QGIS toilet"));
    assert_eq!(added.point, LonLat::new(118.7701, 32.0301).unwrap());
    assert_eq!(added.hours.as_ref().map(|h| h.raw()), Some("24/7"));
    // The service's own next write still works on the GDAL-edited file.
    assert_eq!(
        ops::insert_facility(&store, &user_facility())
            .await
            .unwrap(),
        5
    );
    store.close().await;
    validate_gpkg(&path);
}

#[tokio::test]
async fn locations_that_are_not_a_geopackage_file() {
    assert!(matches!(
        Store::open("postgres://localhost/x").await,
        Err(StoreError::Location(_))
    ));
    let dir = tempfile::tempdir().unwrap();
    let missing_dir = dir.path().join("no/such/dir/x.gpkg");
    assert!(matches!(
        Store::open(missing_dir.to_str().unwrap()).await,
        Err(StoreError::Location(_))
    ));
    let not_sqlite = dir.path().join("notes.gpkg");
    std::fs::write(
        &not_sqlite,
        "this is not a database, just some text that is long enough ".repeat(20),
    )
    .unwrap();
    assert!(Store::open(not_sqlite.to_str().unwrap()).await.is_err());
}

/// Porto-sized: ~11k buildings and ~6k ways in one transaction, twice.
#[tokio::test]
async fn a_city_sized_import_is_fast_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = temp_gpkg(&dir, "city.gpkg");
    let mut import = OsmImport::default();
    for i in 0..11_000i64 {
        let (col, row) = ((i % 100) as f64, (i / 100) as f64);
        import.buildings.push(building(
            10_000 + i,
            -8.65 + col * 0.0006,
            41.14 + row * 0.0006,
        ));
    }
    for i in 0..6_000i64 {
        let mut w = way(1_000_000 + i, -8.65 + (i % 100) as f64 * 0.0006, None);
        w.line = LineString::from(
            w.line
                .0
                .iter()
                .map(|c| (c.x, c.y + (i / 100) as f64 * 0.0006))
                .collect::<Vec<_>>(),
        );
        import.ways.push(w);
    }
    let store = open(&path).await;
    let started = Instant::now();
    store
        .write_osm_import(&import, "Europe/Lisbon".parse().unwrap())
        .await
        .unwrap();
    let first = started.elapsed();
    let started = Instant::now();
    store
        .write_osm_import(&import, "Europe/Lisbon".parse().unwrap())
        .await
        .unwrap();
    let second = started.elapsed();
    let started = Instant::now();
    let data = store.load(&KindCatalogue::bundled()).await.unwrap();
    let load = started.elapsed();
    println!("import {first:?}, re-import {second:?}, load {load:?}");
    assert_eq!(data.buildings.len(), 11_000);
    assert_eq!(data.ways.len(), 6_000);
    assert_eq!(
        data.buildings.last().unwrap().id,
        11_000,
        "re-import inserted nothing new"
    );
    assert!(
        first.as_secs() < 60 && second.as_secs() < 60,
        "import too slow: {first:?}, {second:?}"
    );
    let ext = contents_extent(&path, "buildings").await.unwrap();
    assert!(
        (ext[0] - -8.65).abs() < 1e-12 && (ext[3] - (41.14 + 109.0 * 0.0006 + 0.0004)).abs() < 1e-9,
        "{ext:?}"
    );
    store.close().await;
    if let Some(layers) = ogrinfo_layers(&path) {
        assert_eq!(layers["buildings"].1, 11_000);
        assert_eq!(layers["ways"].1, 6_000);
    }
}
