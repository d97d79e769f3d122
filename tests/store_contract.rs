//! The store contract: one suite of cases, written once against the public API of
//! [`gridcircle::store::Store`], run on both backends in the same `cargo test` run — every case
//! is instantiated as `geopackage::<case>` (a file in a temp dir) and `postgres::<case>` (a fresh
//! database with PostGIS, dropped when the case ends). The PostgreSQL server is
//! `GRIDCIRCLE_TEST_PG` (default `postgres://postgres@127.0.0.1:5432`); when it is unreachable
//! the `postgres::` cases fail, they never skip.
//!
//! Every case writes real inputs (the Monaco and Nanjing OSM extracts in `../shared/data`, the
//! demo layers in `data/demo/`) and compares what `load` (or the matching read) returns with
//! what was written. Calls into the store go through the thin helpers of [`ops`], one per store
//! operation, so a renamed method or a new argument is a change in one place.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use geo::{BooleanOps, Intersects, LineString, MultiPolygon, Polygon};
use gridcircle::auth::{AuditEntry, Principal, Role, Scope, generate_token};
use gridcircle::config::HouseholdEstimate;
use gridcircle::grids::CodeChange;
use gridcircle::import::{OsmImport, read_osm_pbf};
use gridcircle::model::{
    AreaShape, Building, CircleDef, Community, CommunityCode, Facility, FacilityDraft, Grid,
    GridCode, HouseholdSource, KindCatalogue, LonLat, OsmRef, Person, ReachMode, StreetOffice,
    StreetOfficeCode,
};
use gridcircle::store::{
    BoundaryAction, BoundaryChange, BoundaryLayer, BoundaryState, ChangeBy, Committed, Dataset,
    FacilityCircle, GridRemoval, HouseholdCount, MembersOnDelete, Store, StoreError,
};
use serde_json::{Value, json};

// ================================================================ the two backends

/// Instantiates every case once per backend: `geopackage::<case>` and `postgres::<case>`.
macro_rules! contract {
    ($($case:ident),+ $(,)?) => {
        mod geopackage {
            $(
                #[tokio::test]
                async fn $case() {
                    let target = super::Target::new(super::Backend::GeoPackage).await;
                    super::$case(&target).await;
                    target.finish().await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let target = super::Target::new(super::Backend::Postgres).await;
                    super::$case(&target).await;
                    target.finish().await;
                }
            )+
        }
    };
}

contract!(
    empty_store,
    osm_import_and_reimport,
    facility_writes,
    boundaries_history_and_membership,
    grid_removal,
    community_map_and_renumbering,
    building_chiefs,
    tokens_and_audit,
    circles,
    change_log,
    stale_versions_are_refused,
    write_path_commits_the_audit_with_the_change,
    write_path_outlives_its_caller,
    write_path_rolls_back_failures,
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    GeoPackage,
    Postgres,
}

/// A fresh, empty store of one backend, and where it lives (to open it again).
struct Target {
    backend: Backend,
    location: String,
    store: Store,
    _dir: Option<tempfile::TempDir>,
    _database: Option<PgDatabase>,
}

impl Target {
    async fn new(backend: Backend) -> Target {
        let (location, dir, database) = match backend {
            Backend::GeoPackage => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("contract.gpkg");
                (path.to_str().unwrap().to_owned(), Some(dir), None)
            }
            Backend::Postgres => {
                let database = PgDatabase::create();
                (database.url(), None, Some(database))
            }
        };
        let store = ops::open(&location).await;
        let name = match backend {
            Backend::GeoPackage => "geopackage",
            Backend::Postgres => "postgres",
        };
        assert_eq!(store.backend(), name, "{location} opened the wrong backend");
        Target {
            backend,
            location,
            store,
            _dir: dir,
            _database: database,
        }
    }

    /// Closes the store (the database or the directory goes when `self` drops).
    async fn finish(self) {
        self.store.close().await;
    }
}

/// The PostgreSQL server, without a database.
fn pg_server() -> String {
    std::env::var("GRIDCIRCLE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

/// Runs `psql` on `database`; its unaligned output, or its error text.
fn psql(database: &str, sql: &str) -> Result<String, String> {
    let url = format!("{}/{database}", pg_server());
    let out = Command::new("psql")
        .args([
            url.as_str(),
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .map_err(|e| format!("cannot run psql ({e}); install postgresql-client-15"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// A database made for one case (`gcsc_<pid>_<n>`, with PostGIS), dropped on drop — also when
/// the case panics.
struct PgDatabase {
    name: String,
}

impl PgDatabase {
    fn create() -> PgDatabase {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        static STALE: Once = Once::new();
        let server = pg_server();
        if let Err(e) = psql("postgres", "SELECT 1") {
            panic!(
                "PostgreSQL is unreachable at {server}: the postgres variants of the store \
                 contract need a server with PostGIS (user postgres, trust auth; set \
                 GRIDCIRCLE_TEST_PG to another one). They fail rather than skip. psql said: {e}"
            );
        }
        STALE.call_once(drop_stale_databases);
        let name = format!(
            "gcsc_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        psql("postgres", &format!("CREATE DATABASE \"{name}\""))
            .unwrap_or_else(|e| panic!("cannot create database {name} on {server}: {e}"));
        let database = PgDatabase { name };
        psql(&database.name, "CREATE EXTENSION IF NOT EXISTS postgis").unwrap_or_else(|e| {
            panic!(
                "PostGIS is not available on {server} (apt-get install postgresql-15-postgis-3): {e}"
            )
        });
        database
    }

    fn url(&self) -> String {
        format!("{}/{}", pg_server(), self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        );
    }
}

/// Drops the databases of earlier runs of this suite whose process is gone (killed mid-case).
fn drop_stale_databases() {
    let Ok(names) = psql(
        "postgres",
        "SELECT datname FROM pg_database WHERE datname LIKE 'gcsc\\_%'",
    ) else {
        return;
    };
    for name in names.lines() {
        let pid = name.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && pid != std::process::id()
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = psql(
                "postgres",
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            );
        }
    }
}

// ================================================================ the store, one helper per call

/// Every call the cases make into the store. Only these functions name store methods.
mod ops {
    use super::*;

    /// Runs one store operation in its own write transaction: committed when it succeeds,
    /// rolled back when not.
    macro_rules! in_tx {
        ($s:expr, |$tx:ident| $op:expr) => {
            async {
                let mut $tx = $s.begin_write().await?;
                let result = $op.await;
                match result {
                    Ok(v) => {
                        $tx.commit().await?;
                        Ok::<_, StoreError>(v)
                    }
                    Err(e) => {
                        $tx.rollback().await;
                        Err(e)
                    }
                }
            }
            .await
        };
    }

    pub async fn open(location: &str) -> Store {
        Store::open(location)
            .await
            .unwrap_or_else(|e| panic!("open {location}: {e}"))
    }

    pub async fn schema_version(s: &Store) -> i64 {
        s.schema_version().await.expect("schema_version")
    }

    pub async fn is_empty(s: &Store) -> bool {
        s.is_empty().await.expect("is_empty")
    }

    pub async fn load(s: &Store) -> Dataset {
        s.load(&catalogue()).await.expect("load")
    }

    pub async fn import_osm(s: &Store, import: &OsmImport, timezone: Tz) {
        s.write_osm_import(import, timezone)
            .await
            .expect("write_osm_import");
    }

    pub async fn household_counts(s: &Store, counts: &[HouseholdCount]) -> usize {
        s.write_household_counts(counts)
            .await
            .expect("write_household_counts")
    }

    pub async fn insert_facility(s: &Store, f: &Facility) -> i64 {
        in_tx!(s, |tx| tx.insert_facility(f)).expect("insert_facility")
    }

    pub async fn delete_facility(s: &Store, id: i64) -> bool {
        let stored = load(s).await.facilities.into_iter().find(|f| f.id == id);
        match stored {
            None => false,
            Some(old) => delete_facility_if(s, &old).await.expect("delete_facility"),
        }
    }

    pub async fn replace_facility_if(
        s: &Store,
        f: &Facility,
        expected: &Facility,
    ) -> Result<bool, StoreError> {
        in_tx!(s, |tx| tx.replace_facility_if(f, expected))
    }

    pub async fn delete_facility_if(s: &Store, expected: &Facility) -> Result<bool, StoreError> {
        in_tx!(s, |tx| tx.delete_facility_if(expected))
    }

    pub async fn create_street_office(s: &Store, o: &StreetOffice, by: &ChangeBy) -> Committed {
        in_tx!(s, |tx| tx.create_street_office(o, by)).expect("create_street_office")
    }

    pub async fn create_community(s: &Store, c: &Community, by: &ChangeBy) -> Committed {
        in_tx!(s, |tx| tx.create_community(c, by)).expect("create_community")
    }

    pub async fn create_grid(s: &Store, g: &Grid, by: &ChangeBy) -> Result<Committed, StoreError> {
        in_tx!(s, |tx| tx.create_grid(g, by))
    }

    pub async fn update_grid(
        s: &Store,
        g: &Grid,
        by: &ChangeBy,
    ) -> Result<Option<Committed>, StoreError> {
        in_tx!(s, |tx| tx.update_grid(g, by))
    }

    pub async fn remove_grid(
        s: &Store,
        id: i64,
        members: &MembersOnDelete,
        by: &ChangeBy,
    ) -> Result<GridRemoval, StoreError> {
        // Conditional on the version stored now (what a caller reading the store would see).
        let version = load(s)
            .await
            .grids
            .iter()
            .find(|g| g.id == id)
            .map_or(0, |g| g.version);
        in_tx!(s, |tx| tx.remove_grid(id, version, members, by))
    }

    pub async fn replace_community_grids(
        s: &Store,
        community_id: i64,
        grids: &[Grid],
        by: &ChangeBy,
    ) -> Result<gridcircle::store::PartitionCommitted, StoreError> {
        // Conditional on the community's grids as stored now.
        let expected: Vec<(i64, i64)> = load(s)
            .await
            .grids
            .iter()
            .filter(|g| g.community_id == community_id)
            .map(|g| (g.id, g.version))
            .collect();
        let expected = &expected;
        in_tx!(s, |tx| tx.replace_community_grids(
            community_id,
            expected,
            grids,
            by
        ))
    }

    pub async fn renumber_grids(
        s: &Store,
        changes: &[CodeChange],
        by: &ChangeBy,
    ) -> Result<DateTime<Utc>, StoreError> {
        in_tx!(s, |tx| tx.renumber_grids(changes, by))
    }

    pub async fn history(s: &Store, layer: BoundaryLayer, id: i64) -> Vec<BoundaryChange> {
        s.boundary_history(layer, id)
            .await
            .expect("boundary_history")
    }

    pub async fn as_of(
        s: &Store,
        layer: BoundaryLayer,
        at: DateTime<Utc>,
    ) -> Vec<(i64, BoundaryState)> {
        s.boundaries_as_of(layer, at)
            .await
            .expect("boundaries_as_of")
    }

    pub async fn membership(s: &Store) -> Vec<(i64, Option<i64>)> {
        let mut m = s.grid_membership().await.expect("grid_membership");
        m.sort_unstable();
        m
    }

    pub async fn set_chief(s: &Store, building: i64, chief: Option<&Person>) -> bool {
        in_tx!(s, |tx| tx.set_building_chief(building, chief)).expect("set_building_chief")
    }

    pub async fn chiefs(s: &Store, buildings: &[i64]) -> HashMap<i64, Person> {
        s.building_chiefs(buildings).await.expect("building_chiefs")
    }

    pub async fn create_token(
        s: &Store,
        hash: &str,
        role: Role,
        scope: &Scope,
        label: &str,
    ) -> i64 {
        s.create_token(hash, role, scope, label)
            .await
            .expect("create_token")
    }

    pub async fn revoke_token(s: &Store, id: i64) -> bool {
        s.revoke_token(id).await.expect("revoke_token")
    }

    pub async fn principal(s: &Store, hash: &str) -> Option<Principal> {
        s.principal(hash).await.expect("principal")
    }

    pub async fn token_id(s: &Store, hash: &str) -> Option<i64> {
        s.token_id_by_hash(hash).await.expect("token_id_by_hash")
    }

    pub async fn tokens(s: &Store) -> Vec<gridcircle::auth::TokenRecord> {
        s.tokens().await.expect("tokens")
    }

    pub async fn append_audit(s: &Store, e: &AuditEntry) -> i64 {
        in_tx!(s, |tx| tx.append_audit(e)).expect("append_audit")
    }

    pub async fn audit(
        s: &Store,
        after: i64,
        limit: i64,
        layer: Option<&str>,
        feature: Option<&str>,
    ) -> Vec<gridcircle::auth::AuditRecord> {
        s.audit(after, limit, layer, feature).await.expect("audit")
    }

    /// Puts `def` over whatever is stored now under its id (read first: the write is
    /// conditional on it).
    pub async fn put_circle(s: &Store, def: &CircleDef) {
        let stored = circles(s).await.into_iter().find(|c| c.id == def.id);
        in_tx!(s, |tx| tx.put_circle(def, stored.as_ref())).expect("put_circle");
    }

    pub async fn circles(s: &Store) -> Vec<CircleDef> {
        s.load_circles(&catalogue()).await.expect("load_circles")
    }

    pub async fn replace_facility_circles(s: &Store, ids: &[i64], circles: &[FacilityCircle]) {
        in_tx!(s, |tx| tx.replace_facility_circles(ids, circles))
            .expect("replace_facility_circles");
    }

    pub async fn facility_circles(s: &Store) -> Vec<FacilityCircle> {
        let mut c = s
            .load_facility_circles()
            .await
            .expect("load_facility_circles");
        c.sort_by(|a, b| (a.facility_id, &a.circle_id).cmp(&(b.facility_id, &b.circle_id)));
        c
    }

    pub async fn latest_change(s: &Store) -> i64 {
        s.latest_change().await.expect("latest_change")
    }

    pub async fn changes_since(
        s: &Store,
        after: i64,
        limit: i64,
    ) -> Vec<gridcircle::store::Change> {
        s.changes_since(after, limit).await.expect("changes_since")
    }
}

// ================================================================ real inputs

fn catalogue() -> KindCatalogue {
    KindCatalogue::bundled()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_city(name: &str) -> OsmImport {
    let path = repo().join("../shared/data").join(name);
    read_osm_pbf(&path, &catalogue(), &HouseholdEstimate::default(), false)
        .unwrap_or_else(|e| panic!("reading {}: {e:#}", path.display()))
}

/// `../shared/data/monaco.osm.pbf`, read once per test binary.
fn monaco() -> &'static OsmImport {
    static CITY: OnceLock<OsmImport> = OnceLock::new();
    CITY.get_or_init(|| read_city("monaco.osm.pbf"))
}

/// `../shared/data/nanjing-xinjiekou.osm.pbf` (the demo city), read once per test binary.
fn nanjing() -> &'static OsmImport {
    static CITY: OnceLock<OsmImport> = OnceLock::new();
    CITY.get_or_init(|| read_city("nanjing-xinjiekou.osm.pbf"))
}

fn shanghai() -> Tz {
    chrono_tz::Asia::Shanghai
}

/// The features of `data/demo/<layer>.geojson`.
fn demo_features(layer: &str) -> Vec<Value> {
    let path = repo().join("data/demo").join(format!("{layer}.geojson"));
    let text = std::fs::read_to_string(&path).unwrap();
    let collection: Value = serde_json::from_str(&text).unwrap();
    collection["features"].as_array().unwrap().clone()
}

fn demo_feature(layer: &str, code: &str) -> Value {
    demo_features(layer)
        .into_iter()
        .find(|f| f["properties"]["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in data/demo/{layer}.geojson"))
}

fn ring(coords: &Value) -> LineString<f64> {
    LineString::from(
        coords
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
            .collect::<Vec<_>>(),
    )
}

fn shape_of(feature: &Value) -> AreaShape {
    let geometry = &feature["geometry"];
    assert_eq!(geometry["type"], "Polygon", "demo layers are polygons");
    let rings = geometry["coordinates"].as_array().unwrap();
    let polygon = Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect());
    AreaShape::from_polygon(polygon, "geometry").unwrap()
}

fn text(feature: &Value, name: &str) -> String {
    feature["properties"][name].as_str().unwrap().to_owned()
}

/// The demo street office (新街口街道（示例）).
fn demo_office() -> StreetOffice {
    let f = &demo_features("street_offices")[0];
    StreetOffice {
        id: 0,
        code: StreetOfficeCode::parse(&text(f, "code"), "code").unwrap(),
        name: text(f, "name"),
        boundary: shape_of(f),
        demo: true,
    }
}

/// Demo community 甲 (320104001001), whose grids the cases use.
const COMMUNITY: &str = "320104001001";

fn demo_community(street_office_id: i64) -> Community {
    let f = demo_feature("communities", COMMUNITY);
    Community {
        id: 0,
        code: CommunityCode::parse(&text(&f, "code"), "code").unwrap(),
        name: text(&f, "name"),
        street_office_id,
        boundary: shape_of(&f),
        demo: true,
    }
}

/// The code of grid `seq` of community 甲.
fn code(seq: u16) -> GridCode {
    GridCode::in_community(&CommunityCode::parse(COMMUNITY, "code").unwrap(), seq).unwrap()
}

/// Demo grid `seq` of community 甲 as a new grid (id 0, version 1).
fn demo_grid(seq: u16, community_id: i64) -> Grid {
    let f = demo_feature("grids", code(seq).as_str());
    let chief = Person::new(&text(&f, "chief_name"), Some(&text(&f, "chief_phone"))).unwrap();
    Grid {
        id: 0,
        code: code(seq),
        name: text(&f, "name"),
        community_id,
        chief: Some(chief),
        workers: if seq.is_multiple_of(2) {
            vec![
                Person::new("周网格员（示例）", Some("+86 25-8400 0001")).unwrap(),
                Person::new("吴网格员（示例）", None).unwrap(),
            ]
        } else {
            Vec::new()
        },
        boundary: shape_of(&f),
        demo: true,
        version: 1,
    }
}

/// A facility a user made (no OSM reference), with every attribute set.
fn shared_parking() -> Facility {
    FacilityDraft {
        osm: None,
        lon: 118.780_146_2,
        lat: 32.040_317_9,
        kind: "parking".into(),
        name: Some("金陵饭店共享车位（示例）".into()),
        owner: Some("金陵饭店".into()),
        audience: Some("outdoor_workers".into()),
        opening_hours: Some("Mo-Fr 08:00-18:00; PH off".into()),
        capacity: Some(20),
        free: Some(5),
        shared: true,
        demo: true,
    }
    .validate(0, &catalogue())
    .unwrap()
}

/// A facility a user made with only the required attributes.
fn plain_toilet() -> Facility {
    FacilityDraft {
        lon: 7.419_874_3,
        lat: 43.731_163_8,
        kind: "toilet".into(),
        ..Default::default()
    }
    .validate(0, &catalogue())
    .unwrap()
}

fn by(actor: &str) -> ChangeBy {
    ChangeBy::new(actor)
}

// ================================================================ comparisons

/// Panics naming the first differing element (whole city layers are too long to print).
fn same<T: PartialEq + std::fmt::Debug>(what: &str, got: &[T], want: &[T]) {
    if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
        panic!(
            "{what}: element {i} differs\n got: {:?}\nwant: {:?}",
            got[i], want[i]
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
}

fn sorted_by<T: Clone, K: Ord>(items: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut v = items.to_vec();
    v.sort_by_key(|x| key(x));
    v
}

/// What an OSM import wrote, without store ids, each layer in OSM order: comparable with the
/// [`OsmImport`] it came from.
struct OsmLayers {
    buildings: Vec<Building>,
    facilities: Vec<Facility>,
    ways: Vec<gridcircle::model::StreetWay>,
    land: Vec<gridcircle::model::LandArea>,
}

fn osm_layers(data: &Dataset) -> OsmLayers {
    let buildings = data
        .buildings
        .iter()
        .cloned()
        .map(|mut b| {
            b.id = 0;
            b
        })
        .collect::<Vec<_>>();
    let facilities = data
        .facilities
        .iter()
        .filter(|f| f.osm.is_some())
        .cloned()
        .map(|mut f| {
            f.id = 0;
            f
        })
        .collect::<Vec<_>>();
    let land = data
        .land
        .iter()
        .cloned()
        .map(|mut l| {
            l.id = 0;
            l
        })
        .collect::<Vec<_>>();
    OsmLayers {
        buildings: sorted_by(&buildings, |b| b.osm),
        facilities: sorted_by(&facilities, |f| f.osm),
        ways: sorted_by(&data.ways, |w| w.id),
        land: sorted_by(&land, |l| l.osm),
    }
}

fn assert_holds_import(data: &Dataset, import: &OsmImport, city: &str) {
    let got = osm_layers(data);
    assert_eq!(
        (
            got.buildings.len(),
            got.facilities.len(),
            got.ways.len(),
            got.land.len()
        ),
        (
            import.buildings.len(),
            import.facilities.len(),
            import.ways.len(),
            import.land.len()
        ),
        "{city}: (buildings, OSM facilities, ways, land) loaded vs imported"
    );
    same(
        &format!("{city} buildings"),
        &got.buildings,
        &sorted_by(&import.buildings, |b| b.osm),
    );
    same(
        &format!("{city} facilities"),
        &got.facilities,
        &sorted_by(&import.facilities, |f| f.osm),
    );
    same(
        &format!("{city} ways"),
        &got.ways,
        &sorted_by(&import.ways, |w| w.id),
    );
    same(
        &format!("{city} land"),
        &got.land,
        &sorted_by(&import.land, |l| l.osm),
    );
}

/// Membership by brute force: each building's representative point against every grid's
/// polygon (boundary included), the lowest grid id when several hold it.
fn expected_membership(buildings: &[Building], grids: &[Grid]) -> Vec<(i64, Option<i64>)> {
    let grids = sorted_by(grids, |g| g.id);
    let mut out: Vec<(i64, Option<i64>)> = buildings
        .iter()
        .map(|b| {
            let p = b.point.point();
            (
                b.id,
                grids
                    .iter()
                    .find(|g| g.boundary.shape().intersects(&p))
                    .map(|g| g.id),
            )
        })
        .collect();
    out.sort_unstable();
    out
}

fn members_of(membership: &[(i64, Option<i64>)], grid: i64) -> Vec<i64> {
    membership
        .iter()
        .filter(|(_, g)| *g == Some(grid))
        .map(|(b, _)| *b)
        .collect()
}

/// Checks the stored membership against brute force over what `load` returns; returns it.
async fn assert_membership(s: &Store) -> Vec<(i64, Option<i64>)> {
    let data = ops::load(s).await;
    let stored = ops::membership(s).await;
    same(
        "grid membership (store vs brute-force point-in-polygon)",
        &stored,
        &expected_membership(&data.buildings, &data.grids),
    );
    stored
}

/// One history row as `(action, old code, new code, actor)`.
type Row = (BoundaryAction, Option<String>, Option<String>, String);

fn rows(history: &[BoundaryChange]) -> Vec<Row> {
    history
        .iter()
        .map(|h| {
            (
                h.action,
                h.old.as_ref().map(|s| s.code.clone()),
                h.new.as_ref().map(|s| s.code.clone()),
                h.actor.clone(),
            )
        })
        .collect()
}

fn row(action: BoundaryAction, old: Option<&GridCode>, new: Option<&GridCode>, actor: &str) -> Row {
    (
        action,
        old.map(|c| c.to_string()),
        new.map(|c| c.to_string()),
        actor.to_owned(),
    )
}

/// The state a history row records for `grid`.
fn state_of(grid: &Grid) -> BoundaryState {
    BoundaryState {
        code: grid.code.to_string(),
        name: grid.name.clone(),
        parent_id: Some(grid.community_id),
        boundary: grid.boundary.shape().clone(),
    }
}

/// Everything a refused grid write must leave as it was.
#[derive(Debug, PartialEq)]
struct GridsObserved {
    grids: Vec<Grid>,
    membership: Vec<(i64, Option<i64>)>,
    history: Vec<BoundaryChange>,
}

async fn observe_grids(s: &Store, ids: &[i64]) -> GridsObserved {
    let mut history = Vec::new();
    for &id in ids {
        history.extend(ops::history(s, BoundaryLayer::Grids, id).await);
    }
    GridsObserved {
        grids: ops::load(s).await.grids,
        membership: ops::membership(s).await,
        history,
    }
}

fn grid_by_id(data: &Dataset, id: i64) -> Grid {
    data.grids
        .iter()
        .find(|g| g.id == id)
        .unwrap_or_else(|| panic!("grid {id} is not loaded"))
        .clone()
}

/// A lon/lat polygon `rect` from two corners.
fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> AreaShape {
    AreaShape::from_polygon(
        Polygon::new(
            LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            vec![],
        ),
        "geometry",
    )
    .unwrap()
}

fn bbox(shape: &AreaShape) -> (f64, f64, f64, f64) {
    let b = shape.bbox();
    (b.min().x, b.min().y, b.max().x, b.max().y)
}

/// The Nanjing import with the demo street office and community 甲 created by `setup`:
/// `(street office id, community id)`.
async fn nanjing_admin(s: &Store) -> (i64, i64) {
    ops::import_osm(s, nanjing(), shanghai()).await;
    let office = ops::create_street_office(s, &demo_office(), &by("setup")).await;
    let community = ops::create_community(s, &demo_community(office.id), &by("setup")).await;
    (office.id, community.id)
}

/// Creates demo grids `seqs` of community 甲 by `actor`; the loaded grids, in `seqs` order.
async fn create_demo_grids(s: &Store, community: i64, seqs: &[u16], actor: &str) -> Vec<Grid> {
    let mut out = Vec::new();
    for &seq in seqs {
        let grid = demo_grid(seq, community);
        let committed = ops::create_grid(s, &grid, &by(actor))
            .await
            .unwrap_or_else(|e| panic!("create grid {}: {e}", grid.code));
        out.push(Grid {
            id: committed.id,
            ..grid
        });
    }
    let data = ops::load(s).await;
    for want in &out {
        assert_eq!(
            &grid_by_id(&data, want.id),
            want,
            "a created grid loads as written, at version 1"
        );
    }
    out
}

/// A short pause so that two changes get different history timestamps (milliseconds).
async fn tick() {
    tokio::time::sleep(Duration::from_millis(25)).await;
}

// ================================================================ 1. an empty store

async fn empty_store(t: &Target) {
    let s = &t.store;
    let version = ops::schema_version(s).await;
    assert!(version > 0, "schema_version {version} after open");
    assert!(ops::is_empty(s).await);
    let data = ops::load(s).await;
    assert!(data.street_offices.is_empty());
    assert!(data.communities.is_empty());
    assert!(data.grids.is_empty());
    assert!(data.buildings.is_empty());
    assert!(data.facilities.is_empty());
    assert!(data.ways.is_empty());
    assert!(data.land.is_empty());
    assert_eq!(data.timezone, None);
    assert!(ops::circles(s).await.is_empty());
    assert!(ops::facility_circles(s).await.is_empty());
    assert!(ops::membership(s).await.is_empty());
    assert!(ops::tokens(s).await.is_empty());
    assert!(ops::audit(s, 0, 100, None, None).await.is_empty());

    // Opening again (twice, the first store still open) migrates nothing and changes nothing.
    for _ in 0..2 {
        let again = ops::open(&t.location).await;
        assert_eq!(ops::schema_version(&again).await, version);
        assert!(ops::is_empty(&again).await);
        let reloaded = ops::load(&again).await;
        assert!(reloaded.facilities.is_empty() && reloaded.buildings.is_empty());
        again.close().await;
    }

    // "Empty" means nothing imported: no buildings and no street offices. A user's facility
    // does not count; a street office does.
    let id = ops::insert_facility(s, &shared_parking()).await;
    assert!(ops::is_empty(s).await, "a facility alone is not an import");
    let again = ops::open(&t.location).await;
    assert_eq!(ops::schema_version(&again).await, version);
    assert_eq!(
        ops::load(&again).await.facilities,
        vec![Facility {
            id,
            ..shared_parking()
        }],
        "a second open sees what the first one wrote"
    );
    again.close().await;
    ops::create_street_office(s, &demo_office(), &by("setup")).await;
    assert!(
        !ops::is_empty(s).await,
        "a street office makes the store non-empty"
    );
}

// ================================================================ 2. OSM import and re-import

async fn osm_import_and_reimport(t: &Target) {
    let s = &t.store;
    let (monaco, nanjing) = (monaco(), nanjing());
    assert!(monaco.buildings.len() > 100 && nanjing.buildings.len() > 100);

    ops::import_osm(s, monaco, chrono_tz::Europe::Monaco).await;
    assert!(!ops::is_empty(s).await);
    let data = ops::load(s).await;
    assert_holds_import(&data, monaco, "Monaco");
    assert_eq!(data.timezone, Some(chrono_tz::Europe::Monaco));
    assert!(
        ops::membership(s).await.iter().all(|(_, g)| g.is_none()),
        "no grids, so no building belongs to one"
    );

    // A user's facility, then Nanjing over Monaco: every Monaco OSM row goes, the user's
    // facility stays with its id.
    let user = ops::insert_facility(s, &plain_toilet()).await;
    ops::import_osm(s, nanjing, shanghai()).await;
    let first = ops::load(s).await;
    assert_holds_import(&first, nanjing, "Nanjing over Monaco");
    assert_eq!(first.timezone, Some(shanghai()));
    let users: Vec<&Facility> = first
        .facilities
        .iter()
        .filter(|f| f.osm.is_none())
        .collect();
    assert_eq!(
        users,
        vec![&Facility {
            id: user,
            ..plain_toilet()
        }]
    );

    // The same file again: the same dataset, ids included.
    ops::import_osm(s, nanjing, shanghai()).await;
    let second = ops::load(s).await;
    same(
        "buildings after re-import",
        &second.buildings,
        &first.buildings,
    );
    same(
        "facilities after re-import",
        &second.facilities,
        &first.facilities,
    );
    same("ways after re-import", &second.ways, &first.ways);
    same("land after re-import", &second.land, &first.land);
    assert_eq!(second.timezone, first.timezone);

    // Counted households: two estimated buildings and one more, plus a reference that is not in
    // the file (not matched).
    let targets: Vec<&Building> = first
        .buildings
        .iter()
        .filter(|b| b.household_source == HouseholdSource::Estimated)
        .take(2)
        .chain(
            first
                .buildings
                .iter()
                .filter(|b| b.household_source == HouseholdSource::None)
                .take(1),
        )
        .collect();
    assert_eq!(
        targets.len(),
        3,
        "Nanjing has estimated and non-residential buildings"
    );
    let absent = OsmRef::Way(1);
    assert!(first.buildings.iter().all(|b| b.osm != absent));
    let mut counts: Vec<HouseholdCount> = targets
        .iter()
        .enumerate()
        .map(|(i, b)| HouseholdCount {
            osm: b.osm,
            households: 17 + i as u32,
            residents: 41 + 3 * i as u32,
        })
        .collect();
    counts.push(HouseholdCount {
        osm: absent,
        households: 9,
        residents: 9,
    });
    assert_eq!(ops::household_counts(s, &counts).await, 3);
    let counted = ops::load(s).await;
    let mut expected = first.buildings.clone();
    for c in &counts[..3] {
        let b = expected.iter_mut().find(|b| b.osm == c.osm).unwrap();
        b.households = c.households;
        b.residents = c.residents;
        b.household_source = HouseholdSource::Counted;
    }
    same("buildings after counts", &counted.buildings, &expected);

    // Re-import: counts stick, ids and everything else stay.
    ops::import_osm(s, nanjing, shanghai()).await;
    let third = ops::load(s).await;
    same(
        "buildings after counts and re-import",
        &third.buildings,
        &expected,
    );
    same(
        "facilities after counts and re-import",
        &third.facilities,
        &first.facilities,
    );
    same("ways after counts and re-import", &third.ways, &first.ways);
    same("land after counts and re-import", &third.land, &first.land);
}

// ================================================================ 3. facilities

async fn facility_writes(t: &Target) {
    let s = &t.store;
    let a = Facility {
        id: ops::insert_facility(s, &shared_parking()).await,
        ..shared_parking()
    };
    let b = Facility {
        id: ops::insert_facility(s, &plain_toilet()).await,
        ..plain_toilet()
    };
    assert!(b.id > a.id, "ids increase");
    assert_eq!(ops::load(s).await.facilities, vec![a.clone(), b.clone()]);

    // Compare-and-swap with the stored row: written.
    let updated = Facility {
        name: Some("金陵饭店共享车位（夜间）".into()),
        free: Some(0),
        hours: Some(gridcircle::model::Hours::parse("18:00-08:00", "opening_hours").unwrap()),
        audience: gridcircle::model::Audience::Everyone,
        ..a.clone()
    };
    assert!(ops::replace_facility_if(s, &updated, &a).await.unwrap());
    assert_eq!(
        ops::load(s).await.facilities,
        vec![updated.clone(), b.clone()]
    );

    // With a stale `expected` — the old row, or the stored row with any one column different —
    // it is Stale and nothing is written.
    let attempt = Facility {
        name: Some("不应写入".into()),
        ..updated.clone()
    };
    let one_off: Vec<(&str, Facility)> = vec![
        ("the old row", a.clone()),
        (
            "point",
            Facility {
                point: LonLat::new(updated.point.lon() + 1e-7, updated.point.lat()).unwrap(),
                ..updated.clone()
            },
        ),
        (
            "osm",
            Facility {
                osm: Some(OsmRef::Node(5_001)),
                ..updated.clone()
            },
        ),
        (
            "kind",
            Facility {
                kind: catalogue().parse_kind("canteen", "kind").unwrap(),
                ..updated.clone()
            },
        ),
        (
            "name",
            Facility {
                name: None,
                ..updated.clone()
            },
        ),
        (
            "owner",
            Facility {
                owner: Some("别的单位".into()),
                ..updated.clone()
            },
        ),
        (
            "audience",
            Facility {
                audience: gridcircle::model::Audience::Elderly,
                ..updated.clone()
            },
        ),
        (
            "hours",
            Facility {
                hours: None,
                ..updated.clone()
            },
        ),
        (
            "capacity",
            Facility {
                capacity: Some(21),
                ..updated.clone()
            },
        ),
        (
            "free",
            Facility {
                free: None,
                ..updated.clone()
            },
        ),
        (
            "shared",
            Facility {
                shared: false,
                ..updated.clone()
            },
        ),
        (
            "demo",
            Facility {
                demo: false,
                ..updated.clone()
            },
        ),
    ];
    for (what, stale) in &one_off {
        match ops::replace_facility_if(s, &attempt, stale).await {
            Err(StoreError::Stale(_)) => {}
            other => panic!("replace with a stale expected ({what}): {other:?}"),
        }
        match ops::delete_facility_if(s, stale).await {
            Err(StoreError::Stale(_)) => {}
            other => panic!("delete with a stale expected ({what}): {other:?}"),
        }
        assert_eq!(
            ops::load(s).await.facilities,
            vec![updated.clone(), b.clone()],
            "a stale write ({what}) changed the facilities"
        );
    }

    // No such id: false, for both.
    let ghost = Facility {
        id: b.id + 1000,
        ..b.clone()
    };
    assert!(!ops::replace_facility_if(s, &ghost, &ghost).await.unwrap());
    assert!(!ops::delete_facility_if(s, &ghost).await.unwrap());

    // Delete with the stored row: gone; again: false.
    assert!(ops::delete_facility_if(s, &b).await.unwrap());
    assert_eq!(ops::load(s).await.facilities, vec![updated.clone()]);
    assert!(!ops::delete_facility_if(s, &b).await.unwrap());
    assert!(!ops::delete_facility(s, b.id).await);

    // Ids are never reused: not the deleted highest id, nor any below it.
    let c = ops::insert_facility(s, &plain_toilet()).await;
    assert!(
        c > b.id,
        "new id {c} reuses or precedes deleted id {}",
        b.id
    );
    assert_eq!(
        ops::load(s).await.facilities,
        vec![
            updated,
            Facility {
                id: c,
                ..plain_toilet()
            }
        ]
    );
}

// ================================================================ 4. boundaries, history, membership

async fn boundaries_history_and_membership(t: &Target) {
    let s = &t.store;
    ops::import_osm(s, nanjing(), shanghai()).await;
    let office = ops::create_street_office(s, &demo_office(), &by("alice")).await;
    tick().await;
    let community = ops::create_community(s, &demo_community(office.id), &by("alice")).await;
    let data = ops::load(s).await;
    assert_eq!(
        data.street_offices,
        vec![StreetOffice {
            id: office.id,
            ..demo_office()
        }]
    );
    assert_eq!(
        data.communities,
        vec![Community {
            id: community.id,
            ..demo_community(office.id)
        }]
    );
    let office_history = ops::history(s, BoundaryLayer::StreetOffices, office.id).await;
    assert_eq!(office_history.len(), 1);
    let h = &office_history[0];
    assert_eq!(
        (h.action, h.actor.as_str(), h.at, h.old.is_none()),
        (BoundaryAction::Create, "alice", office.at, true)
    );
    assert_eq!(
        h.new,
        Some(BoundaryState {
            code: demo_office().code.to_string(),
            name: demo_office().name,
            parent_id: None,
            boundary: demo_office().boundary.shape().clone(),
        })
    );
    let community_history = ops::history(s, BoundaryLayer::Communities, community.id).await;
    assert_eq!(community_history.len(), 1);
    assert_eq!(
        community_history[0].new.as_ref().unwrap().parent_id,
        Some(office.id)
    );
    // Communities as of the office's creation (before the community's): none yet.
    assert!(office.at < community.at);
    assert!(
        ops::as_of(s, BoundaryLayer::Communities, office.at)
            .await
            .is_empty()
    );
    assert_eq!(
        ops::as_of(s, BoundaryLayer::Communities, community.at).await,
        vec![(community.id, community_history[0].new.clone().unwrap())]
    );

    // Five grids, one with a note.
    tick().await;
    let mut grids = create_demo_grids(s, community.id, &[1, 2, 3, 6, 8], "bob").await;
    let noted = Grid {
        id: 0,
        ..demo_grid(12, community.id)
    };
    let noted_by = ChangeBy {
        actor: "bob".into(),
        note: Some("首次划分（示例）".into()),
    };
    let noted_commit = ops::create_grid(s, &noted, &noted_by).await.unwrap();
    grids.push(Grid {
        id: noted_commit.id,
        ..noted
    });
    let noted_history = ops::history(s, BoundaryLayer::Grids, noted_commit.id).await;
    assert_eq!(noted_history[0].note.as_deref(), Some("首次划分（示例）"));
    let ids: Vec<i64> = grids.iter().map(|g| g.id).collect();
    let first_created = ops::history(s, BoundaryLayer::Grids, ids[0]).await[0].at;

    let membership = assert_membership(s).await;
    let inside = membership.iter().filter(|(_, g)| g.is_some()).count();
    assert!(
        inside >= 10 && inside < membership.len(),
        "the demo grids hold some of Nanjing's buildings ({inside} of {})",
        membership.len()
    );

    // A duplicate code: Conflict, nothing written.
    let before = observe_grids(s, &ids).await;
    match ops::create_grid(s, &demo_grid(1, community.id), &by("bob")).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a duplicate grid code: {other:?}"),
    }
    assert_eq!(observe_grids(s, &ids).await, before);

    // Update grid 6: new code, name, chief and workers, and only its northern half.
    tick().await;
    let old6 = grids[3].clone();
    let (x0, y0, x1, y1) = bbox(&old6.boundary);
    let new6 = Grid {
        code: code(20),
        name: "第20网格（北半）".into(),
        chief: Some(Person::new("陈网格长（示例）", Some("13900019999")).unwrap()),
        workers: vec![Person::new("郑网格员（示例）", None).unwrap()],
        boundary: rect(x0, (y0 + y1) / 2.0, x1, y1),
        version: 2,
        ..old6.clone()
    };
    let buildings = ops::load(s).await.buildings;
    let south: Vec<i64> = members_of(&membership, old6.id)
        .into_iter()
        .filter(|b| {
            let point = buildings.iter().find(|x| x.id == *b).unwrap().point;
            !new6.boundary.shape().intersects(&point.point())
        })
        .collect();
    assert!(
        !south.is_empty(),
        "grid 6 has buildings in its southern half"
    );
    let updated = ops::update_grid(s, &new6, &by("carol"))
        .await
        .unwrap()
        .expect("grid 6 exists");
    assert_eq!(updated.id, old6.id);
    let data = ops::load(s).await;
    assert_eq!(
        grid_by_id(&data, old6.id),
        new6,
        "the update loads as written"
    );
    for g in grids.iter().filter(|g| g.id != old6.id) {
        assert_eq!(&grid_by_id(&data, g.id), g, "another grid changed");
    }
    let membership = assert_membership(s).await;
    for b in &south {
        assert_eq!(
            membership.iter().find(|(x, _)| x == b).unwrap().1,
            None,
            "building {b} in the dropped southern half still belongs to grid {}",
            old6.id
        );
    }

    // A write based on version 1 again: VersionMismatch, nothing written.
    let before = observe_grids(s, &ids).await;
    let stale = Grid {
        name: "过期的写".into(),
        ..new6.clone()
    };
    match ops::update_grid(s, &stale, &by("carol")).await {
        Err(StoreError::VersionMismatch {
            id,
            expected,
            found,
        }) => assert_eq!((id, expected, found), (old6.id, 1, 2)),
        other => panic!("a stale version: {other:?}"),
    }
    // Another grid's code: Conflict, nothing written.
    let duplicate = Grid {
        code: code(1),
        version: 3,
        ..new6.clone()
    };
    match ops::update_grid(s, &duplicate, &by("carol")).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("an update to a duplicate code: {other:?}"),
    }
    assert_eq!(observe_grids(s, &ids).await, before);
    // No such grid: None.
    let ghost = Grid {
        id: ids.iter().max().unwrap() + 1000,
        code: code(30),
        version: 2,
        ..new6.clone()
    };
    assert_eq!(
        ops::update_grid(s, &ghost, &by("carol")).await.unwrap(),
        None
    );

    // The history of grid 6: exactly its create and its replace.
    let history = ops::history(s, BoundaryLayer::Grids, old6.id).await;
    assert_eq!(
        rows(&history),
        vec![
            row(BoundaryAction::Create, None, Some(&old6.code), "bob"),
            row(
                BoundaryAction::Replace,
                Some(&old6.code),
                Some(&new6.code),
                "carol"
            ),
        ]
    );
    assert_eq!(history[1].at, updated.at);
    assert!(history[0].at < history[1].at);
    assert_eq!(history[0].new, Some(state_of(&old6)));
    assert_eq!(history[1].old, Some(state_of(&old6)));
    assert_eq!(history[1].new, Some(state_of(&new6)));
    assert!(
        history
            .iter()
            .all(|h| h.layer == BoundaryLayer::Grids && h.feature_id == old6.id)
    );
    for g in &grids {
        let h = ops::history(s, BoundaryLayer::Grids, g.id).await;
        if g.id != old6.id {
            assert_eq!(
                rows(&h),
                vec![row(BoundaryAction::Create, None, Some(&g.code), "bob")]
            );
        }
    }

    // As of a moment between the grids' creation and the update: the six as created.
    let created_last = ops::history(s, BoundaryLayer::Grids, noted_commit.id).await[0].at;
    assert!(created_last < updated.at);
    let between = created_last + (updated.at - created_last) / 2;
    let mut expected: Vec<(i64, BoundaryState)> =
        grids.iter().map(|g| (g.id, state_of(g))).collect();
    expected.sort_by_key(|(id, _)| *id);
    assert_eq!(ops::as_of(s, BoundaryLayer::Grids, between).await, expected);
    // As of the update: grid 6 as updated.
    for (id, state) in expected.iter_mut() {
        if *id == old6.id {
            *state = state_of(&new6);
        }
    }
    assert_eq!(
        ops::as_of(s, BoundaryLayer::Grids, updated.at).await,
        expected
    );
    // Before the first grid: no grids.
    assert!(
        ops::as_of(
            s,
            BoundaryLayer::Grids,
            first_created - chrono::Duration::milliseconds(1)
        )
        .await
        .is_empty()
    );
    assert_eq!(
        ops::as_of(s, BoundaryLayer::StreetOffices, updated.at).await,
        vec![(office.id, office_history[0].new.clone().unwrap())]
    );

    // Overlapping grids (the store takes them; the HTTP checks refuse them): a building in
    // several belongs to the lowest grid id, so a later grid over grids 1 and 2 takes none of
    // their buildings, only those no earlier grid holds.
    let (g1, g2) = (&grids[0], &grids[1]);
    let ((ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1)) = (bbox(&g1.boundary), bbox(&g2.boundary));
    let cover = Grid {
        id: 0,
        code: code(13),
        name: "第13网格（重叠）".into(),
        boundary: rect(ax0.min(bx0), ay0.min(by0), ax1.max(bx1), ay1.max(by1)),
        ..demo_grid(13, community.id)
    };
    let cover_id = ops::create_grid(s, &cover, &by("bob")).await.unwrap().id;
    let after = assert_membership(s).await;
    assert_eq!(members_of(&after, g1.id), members_of(&membership, g1.id));
    assert_eq!(members_of(&after, g2.id), members_of(&membership, g2.id));
    assert!(!members_of(&membership, g1.id).is_empty());
    let taken = members_of(&after, cover_id);
    assert!(
        !taken.is_empty(),
        "the covering grid holds the buildings between 1 and 2"
    );
    assert!(
        taken
            .iter()
            .all(|b| membership.iter().any(|(x, g)| x == b && g.is_none()))
    );
}

// ================================================================ 5. removing a grid

async fn grid_removal(t: &Target) {
    let s = &t.store;
    let (_, community) = nanjing_admin(s).await;
    // 1 and 6 share an edge (6 is south of 1); 4 is a third grid.
    let grids = create_demo_grids(s, community, &[1, 6, 4], "bob").await;
    let (a, b, c) = (grids[0].clone(), grids[1].clone(), grids[2].clone());
    let ids: Vec<i64> = grids.iter().map(|g| g.id).collect();
    let membership = assert_membership(s).await;
    let (in_a, in_c) = (members_of(&membership, a.id), members_of(&membership, c.id));
    assert!(
        !in_a.is_empty() && !in_c.is_empty(),
        "grids 1 and 4 hold buildings"
    );

    // Refuse while it has buildings: refused with their number, nothing changes.
    let before = observe_grids(s, &ids).await;
    assert_eq!(
        ops::remove_grid(s, a.id, &MembersOnDelete::Refuse, &by("dave"))
            .await
            .unwrap(),
        GridRemoval::HasMembers(in_a.len() as u64)
    );
    assert_eq!(observe_grids(s, &ids).await, before);

    // Refuse on a grid without buildings: deleted.
    let (x0, y0, _, _) = bbox(&demo_community(0).boundary);
    let empty = Grid {
        code: code(40),
        name: "第40网格（空）".into(),
        boundary: rect(x0 + 1e-5, y0 + 1e-5, x0 + 3e-5, y0 + 3e-5),
        ..demo_grid(5, community)
    };
    let empty_id = ops::create_grid(s, &empty, &by("bob")).await.unwrap().id;
    assert!(members_of(&assert_membership(s).await, empty_id).is_empty());
    match ops::remove_grid(s, empty_id, &MembersOnDelete::Refuse, &by("dave"))
        .await
        .unwrap()
    {
        GridRemoval::Deleted(c) => assert_eq!(c.id, empty_id),
        other => panic!("an empty grid with Refuse: {other:?}"),
    }

    // Release: deleted, its buildings in no grid.
    let released = match ops::remove_grid(s, c.id, &MembersOnDelete::Release, &by("dave"))
        .await
        .unwrap()
    {
        GridRemoval::Deleted(committed) => committed,
        other => panic!("release: {other:?}"),
    };
    assert_eq!(released.id, c.id);
    let data = ops::load(s).await;
    assert_eq!(data.grids, vec![a.clone(), b.clone()]);
    let membership = assert_membership(s).await;
    for building in &in_c {
        assert_eq!(
            membership.iter().find(|(x, _)| x == building).unwrap().1,
            None
        );
    }
    let history = ops::history(s, BoundaryLayer::Grids, c.id).await;
    assert_eq!(
        rows(&history),
        vec![
            row(BoundaryAction::Create, None, Some(&c.code), "bob"),
            row(BoundaryAction::Delete, Some(&c.code), None, "dave"),
        ]
    );
    assert_eq!(history[1].at, released.at);
    assert_eq!(history[1].old, Some(state_of(&c)));

    // Reassign to the neighbour: it grows over the deleted grid and takes its buildings.
    tick().await;
    let union = a.boundary.shape().union(b.boundary.shape());
    let grown = Grid {
        boundary: AreaShape::from_multi_polygon(union, "geometry").unwrap(),
        version: b.version + 1,
        ..b.clone()
    };
    let reassigned = match ops::remove_grid(
        s,
        a.id,
        &MembersOnDelete::Reassign(Box::new(grown.clone())),
        &by("dave"),
    )
    .await
    .unwrap()
    {
        GridRemoval::Deleted(committed) => committed,
        other => panic!("reassign: {other:?}"),
    };
    assert_eq!(reassigned.id, a.id);
    let data = ops::load(s).await;
    assert_eq!(
        data.grids,
        vec![grown.clone()],
        "only the grown neighbour is left"
    );
    let membership = assert_membership(s).await;
    for building in &in_a {
        assert_eq!(
            membership.iter().find(|(x, _)| x == building).unwrap().1,
            Some(b.id),
            "building {building} of the deleted grid did not go to the neighbour"
        );
    }
    let deleted = ops::history(s, BoundaryLayer::Grids, a.id).await;
    assert_eq!(
        rows(&deleted),
        vec![
            row(BoundaryAction::Create, None, Some(&a.code), "bob"),
            row(BoundaryAction::Delete, Some(&a.code), None, "dave"),
        ]
    );
    let neighbour = ops::history(s, BoundaryLayer::Grids, b.id).await;
    assert_eq!(
        rows(&neighbour),
        vec![
            row(BoundaryAction::Create, None, Some(&b.code), "bob"),
            row(
                BoundaryAction::Reassign,
                Some(&b.code),
                Some(&b.code),
                "dave"
            ),
        ]
    );
    assert_eq!(
        (deleted[1].at, neighbour[1].at),
        (reassigned.at, reassigned.at)
    );
    assert_eq!(neighbour[1].old, Some(state_of(&b)));
    assert_eq!(neighbour[1].new, Some(state_of(&grown)));

    // Gone: NotFound.
    assert_eq!(
        ops::remove_grid(s, a.id, &MembersOnDelete::Release, &by("dave"))
            .await
            .unwrap(),
        GridRemoval::NotFound
    );
}

// ================================================================ 6. a community's map, renumbering

async fn community_map_and_renumbering(t: &Target) {
    let s = &t.store;
    let (_, community) = nanjing_admin(s).await;
    let grids = create_demo_grids(s, community, &[1, 2, 3], "bob").await;
    let (g1, g2, g3) = (grids[0].clone(), grids[1].clone(), grids[2].clone());
    tick().await;

    // Keep 1 as it is, change 2 (name, chief, its western half), delete 3, add 10.
    let (x0, y0, x1, y1) = bbox(&g2.boundary);
    let g2_changed = Grid {
        name: "第2网格（调整）".into(),
        chief: Some(Person::new("孙网格长（示例）", Some("13900012222")).unwrap()),
        boundary: rect(x0, y0, (x0 + x1) / 2.0, y1),
        ..g2.clone()
    };
    let g10 = demo_grid(10, community);
    let map = vec![g1.clone(), g2_changed.clone(), g10.clone()];
    let committed = ops::replace_community_grids(s, community, &map, &by("erin"))
        .await
        .unwrap();
    assert_eq!(&committed.ids[..2], &[g1.id, g2.id]);
    assert_eq!(committed.ids.len(), 3);
    assert!(committed.ids[2] > g3.id, "a new grid gets a new id");
    assert_eq!(committed.deleted, vec![g3.id]);
    let g10 = Grid {
        id: committed.ids[2],
        ..g10
    };
    let g1 = Grid { version: 2, ..g1 };
    let g2 = Grid {
        version: 2,
        ..g2_changed
    };
    assert_eq!(
        ops::load(s).await.grids,
        vec![g1.clone(), g2.clone(), g10.clone()],
        "kept and changed grids are replaced (version 2), the new one is at version 1"
    );
    assert_membership(s).await;
    let at = committed.at;
    let expect = [
        (
            g1.id,
            vec![
                row(BoundaryAction::Create, None, Some(&g1.code), "bob"),
                row(
                    BoundaryAction::Replace,
                    Some(&g1.code),
                    Some(&g1.code),
                    "erin",
                ),
            ],
        ),
        (
            g2.id,
            vec![
                row(BoundaryAction::Create, None, Some(&g2.code), "bob"),
                row(
                    BoundaryAction::Replace,
                    Some(&g2.code),
                    Some(&g2.code),
                    "erin",
                ),
            ],
        ),
        (
            g3.id,
            vec![
                row(BoundaryAction::Create, None, Some(&g3.code), "bob"),
                row(BoundaryAction::Delete, Some(&g3.code), None, "erin"),
            ],
        ),
        (
            g10.id,
            vec![row(BoundaryAction::Create, None, Some(&g10.code), "erin")],
        ),
    ];
    for (id, want) in &expect {
        let history = ops::history(s, BoundaryLayer::Grids, *id).await;
        assert_eq!(&rows(&history), want, "history of grid {id}");
        assert_eq!(
            history.last().unwrap().at,
            at,
            "one timestamp for the whole map"
        );
    }
    let g2_history = ops::history(s, BoundaryLayer::Grids, g2.id).await;
    assert_eq!(g2_history[1].new, Some(state_of(&g2)));

    // Refused maps change nothing: two grids with one code, and a grid that is not stored.
    let ids = [g1.id, g2.id, g3.id, g10.id];
    let before = observe_grids(s, &ids).await;
    let twice = vec![
        g1.clone(),
        g2.clone(),
        g10.clone(),
        demo_grid(11, community),
        Grid {
            boundary: rect(x0, y0, x0 + 1e-4, y0 + 1e-4),
            ..demo_grid(11, community)
        },
    ];
    match ops::replace_community_grids(s, community, &twice, &by("erin")).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a map with a duplicate code: {other:?}"),
    }
    let foreign = vec![
        g1.clone(),
        Grid {
            id: g10.id + 1000,
            ..g2.clone()
        },
    ];
    match ops::replace_community_grids(s, community, &foreign, &by("erin")).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a map naming a grid that is not the community's: {other:?}"),
    }
    assert_eq!(observe_grids(s, &ids).await, before);

    // Swap the codes of 1 and 2.
    tick().await;
    let swap = [
        CodeChange {
            id: g1.id,
            old: g1.code.clone(),
            new: g2.code.clone(),
        },
        CodeChange {
            id: g2.id,
            old: g2.code.clone(),
            new: g1.code.clone(),
        },
    ];
    let renumbered = ops::renumber_grids(s, &swap, &by("frank")).await.unwrap();
    let swapped = vec![
        Grid {
            code: g2.code.clone(),
            version: 3,
            ..g1.clone()
        },
        Grid {
            code: g1.code.clone(),
            version: 3,
            ..g2.clone()
        },
        g10.clone(),
    ];
    assert_eq!(ops::load(s).await.grids, swapped);
    for (grid, old, new) in [(&g1, &g1.code, &g2.code), (&g2, &g2.code, &g1.code)] {
        let history = ops::history(s, BoundaryLayer::Grids, grid.id).await;
        assert_eq!(history.len(), 3, "one renumber row for grid {}", grid.id);
        assert_eq!(
            rows(&history[2..]),
            vec![row(BoundaryAction::Renumber, Some(old), Some(new), "frank")]
        );
        assert_eq!(history[2].at, renumbered);
        assert_eq!(
            history[2].new.as_ref().unwrap().boundary,
            *grid.boundary.shape()
        );
    }
    assert_eq!(ops::history(s, BoundaryLayer::Grids, g10.id).await.len(), 1);
    assert_membership(s).await;

    // A renumbering based on old codes: Conflict, nothing changes.
    let before = observe_grids(s, &ids).await;
    let stale = [CodeChange {
        id: g1.id,
        old: g1.code.clone(),
        new: code(11),
    }];
    match ops::renumber_grids(s, &stale, &by("frank")).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("a renumbering from a stale code: {other:?}"),
    }
    assert_eq!(observe_grids(s, &ids).await, before);
}

// ================================================================ 7. building chiefs

async fn building_chiefs(t: &Target) {
    let s = &t.store;
    ops::import_osm(s, nanjing(), shanghai()).await;
    let data = ops::load(s).await;
    let ids: Vec<i64> = data.buildings.iter().take(3).map(|b| b.id).collect();
    let (b1, b2, b3) = (ids[0], ids[1], ids[2]);
    let unknown = data.buildings.iter().map(|b| b.id).max().unwrap() + 1000;
    let wang = Person::new("王楼栋长（示例）", Some("13800000001")).unwrap();
    let li = Person::new("李楼栋长（示例）", None).unwrap();
    let zhao = Person::new("赵楼栋长（示例）", Some("+86 25-8888 0000")).unwrap();

    assert!(ops::chiefs(s, &ids).await.is_empty());
    assert!(ops::set_chief(s, b1, Some(&wang)).await);
    assert!(ops::set_chief(s, b2, Some(&li)).await);
    assert_eq!(
        ops::chiefs(s, &ids).await,
        HashMap::from([(b1, wang.clone()), (b2, li.clone())])
    );
    // Replace.
    assert!(ops::set_chief(s, b1, Some(&zhao)).await);
    assert_eq!(
        ops::chiefs(s, &ids).await,
        HashMap::from([(b1, zhao.clone()), (b2, li.clone())])
    );
    assert_eq!(
        ops::chiefs(s, &[b2, b3]).await,
        HashMap::from([(b2, li.clone())]),
        "only the buildings asked for"
    );
    // Remove; removing where there is none is still true (the building exists).
    assert!(ops::set_chief(s, b2, None).await);
    assert!(ops::set_chief(s, b3, None).await);
    assert_eq!(
        ops::chiefs(s, &ids).await,
        HashMap::from([(b1, zhao.clone())])
    );
    // Unknown building: false, nothing stored.
    assert!(!ops::set_chief(s, unknown, Some(&wang)).await);
    assert!(!ops::set_chief(s, unknown, None).await);
    assert!(ops::chiefs(s, &[unknown]).await.is_empty());
    assert_eq!(
        ops::chiefs(s, &[b1, b2, b3, unknown]).await,
        HashMap::from([(b1, zhao)])
    );
}

// ================================================================ 8. tokens and audit

async fn tokens_and_audit(t: &Target) {
    let s = &t.store;
    let (admin, community, organisation) = (generate_token(), generate_token(), generate_token());
    let owner = Scope::Owner("金陵饭店".into());
    let id1 = ops::create_token(s, &admin.hash, Role::Admin, &Scope::Everything, "运维").await;
    let id2 = ops::create_token(
        s,
        &community.hash,
        Role::Community,
        &Scope::Community(7),
        "社区甲",
    )
    .await;
    let id3 = ops::create_token(s, &organisation.hash, Role::Organisation, &owner, "饭店").await;
    assert!(id1 < id2 && id2 < id3);

    assert_eq!(
        ops::principal(s, &admin.hash).await,
        Some(Principal {
            token_id: id1,
            role: Role::Admin,
            scope: Scope::Everything,
            label: "运维".into()
        })
    );
    assert_eq!(
        ops::principal(s, &community.hash).await,
        Some(Principal {
            token_id: id2,
            role: Role::Community,
            scope: Scope::Community(7),
            label: "社区甲".into()
        })
    );
    assert_eq!(
        ops::principal(s, &organisation.hash).await,
        Some(Principal {
            token_id: id3,
            role: Role::Organisation,
            scope: owner.clone(),
            label: "饭店".into()
        })
    );
    assert_eq!(ops::principal(s, &generate_token().hash).await, None);
    assert_eq!(ops::token_id(s, &community.hash).await, Some(id2));

    // Revoke: refused from then on; a second revoke is false.
    assert!(ops::revoke_token(s, id2).await);
    assert!(!ops::revoke_token(s, id2).await);
    assert!(!ops::revoke_token(s, id3 + 1000).await);
    assert_eq!(ops::principal(s, &community.hash).await, None);
    assert_eq!(ops::token_id(s, &community.hash).await, None);
    assert_eq!(ops::token_id(s, &admin.hash).await, Some(id1));

    // The list: every token, oldest first, without hashes or secrets.
    let list = ops::tokens(s).await;
    let summary: Vec<(i64, Role, Option<String>, String, bool)> = list
        .iter()
        .map(|r| {
            (
                r.id,
                r.role,
                r.scope.clone(),
                r.label.clone(),
                r.revoked_at.is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (id1, Role::Admin, None, "运维".into(), false),
            (
                id2,
                Role::Community,
                Some("7".into()),
                "社区甲".into(),
                true
            ),
            (
                id3,
                Role::Organisation,
                Some("金陵饭店".into()),
                "饭店".into(),
                false
            ),
        ]
    );
    for r in &list {
        DateTime::parse_from_rfc3339(&r.created_at).expect("created_at is RFC 3339");
        if let Some(at) = &r.revoked_at {
            DateTime::parse_from_rfc3339(at).expect("revoked_at is RFC 3339");
        }
    }
    let listed = format!("{list:?}");
    for token in [&admin, &community, &organisation] {
        assert!(!listed.contains(&token.hash) && !listed.contains(&token.secret));
    }

    // Audit: issuing and revoking were recorded; then our own records.
    let entries: Vec<AuditEntry> = [
        (
            "facilities",
            "create",
            Some("1"),
            None,
            Some(json!({"name": "共享车位", "capacity": 20})),
        ),
        (
            "facilities",
            "replace",
            Some("2"),
            Some(json!({"free": 5})),
            Some(json!({"free": 0})),
        ),
        (
            "grids",
            "renumber",
            Some("1"),
            Some(json!({"code": "320104001001001"})),
            Some(json!({"code": "320104001001002"})),
        ),
        (
            "facilities",
            "replace",
            Some("1"),
            Some(json!({"free": 1})),
            Some(json!({"free": 2, "tags": ["a", "b"]})),
        ),
        (
            "facilities",
            "delete",
            Some("3"),
            Some(json!({"name": null})),
            None,
        ),
        (
            "circles",
            "put",
            Some("health"),
            None,
            Some(json!({"minutes": 12.5})),
        ),
        (
            "facilities",
            "delete",
            Some("1"),
            Some(json!({"free": 2})),
            None,
        ),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (layer, action, feature, before, after))| AuditEntry {
        token_id: (i % 2 == 0).then_some(id1),
        role: (i % 2 == 0).then_some(Role::Admin),
        actor: format!("审计员{i}"),
        action: action.into(),
        layer: layer.into(),
        feature_id: feature.map(str::to_owned),
        before,
        after,
    })
    .collect();
    let mut appended = Vec::new();
    for e in &entries {
        appended.push(ops::append_audit(s, e).await);
    }
    assert!(appended.windows(2).all(|w| w[0] < w[1]));

    let all = ops::audit(s, 0, 1000, None, None).await;
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
    let token_rows: Vec<(String, String, Option<String>)> = all[..all.len() - entries.len()]
        .iter()
        .map(|r| (r.action.clone(), r.layer.clone(), r.feature_id.clone()))
        .collect();
    assert_eq!(
        token_rows,
        vec![
            (
                "token_create".into(),
                "auth_tokens".into(),
                Some(id1.to_string())
            ),
            (
                "token_create".into(),
                "auth_tokens".into(),
                Some(id2.to_string())
            ),
            (
                "token_create".into(),
                "auth_tokens".into(),
                Some(id3.to_string())
            ),
            (
                "token_revoke".into(),
                "auth_tokens".into(),
                Some(id2.to_string())
            ),
        ]
    );
    let ours = &all[all.len() - entries.len()..];
    for ((record, entry), id) in ours.iter().zip(&entries).zip(&appended) {
        assert_eq!(record.id, *id);
        assert_eq!(
            (
                record.token_id,
                record.role.clone(),
                &record.actor,
                &record.action,
                &record.layer,
                &record.feature_id,
                &record.before,
                &record.after
            ),
            (
                entry.token_id,
                entry.role.map(|r| r.as_str().to_owned()),
                &entry.actor,
                &entry.action,
                &entry.layer,
                &entry.feature_id,
                &entry.before,
                &entry.after
            )
        );
        DateTime::parse_from_rfc3339(&record.at).expect("audit time is RFC 3339");
    }

    // Filters and pages agree with filtering the whole log.
    let id2_text = id2.to_string();
    let filters: [(Option<&str>, Option<&str>); 8] = [
        (None, None),
        (Some("facilities"), None),
        (Some("facilities"), Some("1")),
        (Some("grids"), None),
        (None, Some("1")),
        (Some("auth_tokens"), None),
        (Some("auth_tokens"), Some(id2_text.as_str())),
        (Some("nothing"), None),
    ];
    for (layer, feature) in filters {
        let want: Vec<_> = all
            .iter()
            .filter(|r| layer.is_none_or(|l| r.layer == l))
            .filter(|r| feature.is_none_or(|f| r.feature_id.as_deref() == Some(f)))
            .cloned()
            .collect();
        assert_eq!(
            ops::audit(s, 0, 1000, layer, feature).await,
            want,
            "audit filtered by layer {layer:?}, feature {feature:?}"
        );
        let mut paged = Vec::new();
        let mut after = 0;
        loop {
            let page = ops::audit(s, after, 2, layer, feature).await;
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            after = last.id;
            paged.extend(page);
        }
        assert_eq!(
            paged, want,
            "pages of 2 by layer {layer:?}, feature {feature:?}"
        );
    }
    assert_eq!(
        ops::audit(s, 0, 1000, Some("facilities"), Some("1"))
            .await
            .len(),
        3
    );
    assert!(
        ops::audit(s, *appended.last().unwrap(), 10, None, None)
            .await
            .is_empty()
    );
}

// ================================================================ 9. circles

/// A ring of `n` points at `radius_m` around (lon, lat), closed.
fn around(lon: f64, lat: f64, radius_m: f64, n: usize) -> LineString<f64> {
    let dlat = radius_m / 111_320.0;
    let dlon = dlat / lat.to_radians().cos();
    let mut points: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n as f64;
            (lon + dlon * a.cos(), lat + dlat * a.sin())
        })
        .collect();
    points.push(points[0]);
    LineString::from(points)
}

fn circle_of(
    facility: &Facility,
    circle_id: &str,
    minutes: f64,
    mode: ReachMode,
    hash: &str,
    polygon: MultiPolygon<f64>,
) -> FacilityCircle {
    FacilityCircle {
        facility_id: facility.id,
        circle_id: circle_id.into(),
        minutes,
        mode,
        source_hash: hash.into(),
        polygon,
    }
}

fn assert_circles_equal(got: &[FacilityCircle], want: &[FacilityCircle]) {
    let key = |c: &FacilityCircle| (c.facility_id, c.circle_id.clone());
    let want = sorted_by(want, key);
    assert_eq!(
        got.iter().map(key).collect::<Vec<_>>(),
        want.iter().map(key).collect::<Vec<_>>(),
        "stored facility circles"
    );
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (g.minutes, g.mode, &g.source_hash),
            (w.minutes, w.mode, &w.source_hash),
            "circle {:?}",
            key(w)
        );
        assert_eq!(
            g.polygon.0.len(),
            w.polygon.0.len(),
            "parts of {:?}",
            key(w)
        );
        for (gp, wp) in g.polygon.0.iter().zip(&w.polygon.0) {
            let g_rings: Vec<&LineString<f64>> = std::iter::once(gp.exterior())
                .chain(gp.interiors())
                .collect();
            let w_rings: Vec<&LineString<f64>> = std::iter::once(wp.exterior())
                .chain(wp.interiors())
                .collect();
            assert_eq!(g_rings.len(), w_rings.len(), "rings of {:?}", key(w));
            for (gr, wr) in g_rings.iter().zip(&w_rings) {
                assert_eq!(gr.0.len(), wr.0.len(), "points of {:?}", key(w));
                for (a, b) in gr.0.iter().zip(&wr.0) {
                    assert!(
                        (a.x - b.x).abs() <= 1e-9 && (a.y - b.y).abs() <= 1e-9,
                        "circle {:?}: {a:?} vs {b:?}",
                        key(w)
                    );
                }
            }
        }
    }
}

async fn circles(t: &Target) {
    let s = &t.store;
    let bundled = CircleDef::bundled(&catalogue());
    assert!(ops::circles(s).await.is_empty());
    for def in &bundled {
        ops::put_circle(s, def).await;
    }
    let by_id = |defs: Vec<CircleDef>| -> BTreeMap<String, CircleDef> {
        defs.into_iter().map(|d| (d.id.clone(), d)).collect()
    };
    assert_eq!(by_id(ops::circles(s).await), by_id(bundled.clone()));

    let f1 = Facility {
        id: ops::insert_facility(s, &shared_parking()).await,
        ..shared_parking()
    };
    let f2 = Facility {
        id: ops::insert_facility(s, &plain_toilet()).await,
        ..plain_toilet()
    };
    let (p1, p2) = (f1.point, f2.point);
    let walk = MultiPolygon(vec![Polygon::new(
        around(p1.lon(), p1.lat(), 750.0, 48),
        vec![],
    )]);
    let with_hole = MultiPolygon(vec![Polygon::new(
        around(p1.lon(), p1.lat(), 750.0, 32)
            .into_iter()
            .rev()
            .collect(),
        vec![around(p1.lon() + 0.001, p1.lat(), 120.0, 12)],
    )]);
    let two_parts = MultiPolygon(vec![
        Polygon::new(around(p2.lon(), p2.lat(), 400.0, 24), vec![]),
        Polygon::new(around(p2.lon() + 0.02, p2.lat(), 150.0, 16), vec![]),
    ]);
    let first = vec![
        circle_of(&f1, "health", 10.0, ReachMode::Walk, "h1", walk.clone()),
        circle_of(
            &f1,
            "daily_life",
            10.0,
            ReachMode::Radius,
            "d1",
            with_hole.clone(),
        ),
        circle_of(
            &f2,
            "health",
            15.0,
            ReachMode::Walk,
            "h2",
            two_parts.clone(),
        ),
    ];
    ops::replace_facility_circles(s, &[f1.id, f2.id], &first).await;
    assert_circles_equal(&ops::facility_circles(s).await, &first);

    // Replacing f1's circles drops those not given again and leaves f2's alone.
    let smaller = MultiPolygon(vec![Polygon::new(
        around(p1.lon(), p1.lat(), 600.0, 40),
        vec![],
    )]);
    let second = vec![circle_of(
        &f1,
        "health",
        8.0,
        ReachMode::Walk,
        "h1b",
        smaller.clone(),
    )];
    ops::replace_facility_circles(s, &[f1.id], &second).await;
    let mut expected = vec![second[0].clone(), first[2].clone()];
    assert_circles_equal(&ops::facility_circles(s).await, &expected);
    ops::replace_facility_circles(
        s,
        &[f1.id],
        &[
            second[0].clone(),
            circle_of(
                &f1,
                "daily_life",
                10.0,
                ReachMode::Radius,
                "d1b",
                with_hole.clone(),
            ),
        ],
    )
    .await;
    expected.push(circle_of(
        &f1,
        "daily_life",
        10.0,
        ReachMode::Radius,
        "d1b",
        with_hole,
    ));
    assert_circles_equal(&ops::facility_circles(s).await, &expected);

    // Putting a definition replaces it and drops its stored circles (every facility's), only its.
    let mut health = bundled.iter().find(|d| d.id == "health").unwrap().clone();
    health.minutes = 12.0;
    health.name_en = "Health (12 min)".into();
    // Based on a definition that is no longer stored: refused, nothing changes.
    let stale = CircleDef {
        minutes: 9.0,
        ..health.clone()
    };
    let mut tx = s.begin_write().await.unwrap();
    let refused = tx.put_circle(&health, Some(&stale)).await;
    tx.rollback().await;
    assert!(matches!(refused, Err(StoreError::Stale(_))), "{refused:?}");
    assert_eq!(by_id(ops::circles(s).await), by_id(bundled.clone()));
    ops::put_circle(s, &health).await;
    let loaded = ops::circles(s).await;
    assert_eq!(loaded.len(), bundled.len());
    let mut want = by_id(bundled);
    want.insert(health.id.clone(), health.clone());
    assert_eq!(by_id(loaded), want);
    expected.retain(|c| c.circle_id != "health");
    assert_eq!(expected.len(), 1);
    assert_circles_equal(&ops::facility_circles(s).await, &expected);
}

// ================================================================ 10. the change log

async fn change_log(t: &Target) {
    let s = &t.store;
    let before = ops::latest_change(s).await;
    ops::insert_facility(s, &shared_parking()).await;
    ops::create_street_office(s, &demo_office(), &by("alice")).await;
    let health = CircleDef::bundled(&catalogue())
        .into_iter()
        .find(|d| d.id == "health")
        .unwrap();
    ops::put_circle(s, &health).await;
    let after = ops::latest_change(s).await;
    let rows = ops::changes_since(s, before, 100).await;
    match t.backend {
        Backend::Postgres => {
            assert!(
                after > before,
                "latest_change {before} → {after} after three writes"
            );
            let layers: Vec<Vec<String>> = rows.iter().map(|c| c.layers.clone()).collect();
            assert_eq!(
                layers,
                vec![
                    vec!["facilities".to_owned()],
                    vec!["street_offices".to_owned()],
                    vec!["circles".to_owned()],
                ],
                "one change row per write, naming its layer"
            );
            assert!(rows[0].seq > before);
            assert!(rows.windows(2).all(|w| w[0].seq < w[1].seq));
            assert_eq!(rows.last().unwrap().seq, after);
            assert!(!rows[0].origin.is_empty());
            assert!(
                rows.iter().all(|c| c.origin == rows[0].origin),
                "one process wrote them"
            );
            for c in &rows {
                DateTime::parse_from_rfc3339(&c.at).expect("change time is RFC 3339");
            }
            assert_eq!(ops::changes_since(s, before, 1).await, rows[..1].to_vec());
            assert_eq!(
                ops::changes_since(s, rows[0].seq, 100).await,
                rows[1..].to_vec()
            );
            assert!(ops::changes_since(s, after, 100).await.is_empty());
        }
        Backend::GeoPackage => {
            assert_eq!((before, after), (0, 0), "a GeoPackage has no change log");
            assert!(rows.is_empty());
            assert!(ops::changes_since(s, -1, 100).await.is_empty());
        }
    }
}

// ---------------------------------------------------------------- versions and the write path

/// Writes conditional on versions: a reassignment whose neighbour changed since it was read,
/// and a whole-map replace that does not know a grid created meanwhile, are
/// `VersionMismatch` naming the grid, and change nothing.
async fn stale_versions_are_refused(t: &Target) {
    let s = &t.store;
    let (_, community) = nanjing_admin(s).await;
    let grids = create_demo_grids(s, community, &[1, 6, 4], "bob").await;
    let (a, b) = (grids[0].clone(), grids[1].clone());
    let ids: Vec<i64> = grids.iter().map(|g| g.id).collect();
    // Someone renames the neighbour: it is now at version 2.
    let renamed = Grid {
        name: "改名后的网格".into(),
        version: b.version + 1,
        ..b.clone()
    };
    ops::update_grid(s, &renamed, &by("carol")).await.unwrap();
    let before = observe_grids(s, &ids).await;
    // A reassignment based on the neighbour as it was (version 1 → 2 expected, 3 wanted).
    let union = a.boundary.shape().union(b.boundary.shape());
    let grown = Grid {
        boundary: AreaShape::from_multi_polygon(union, "geometry").unwrap(),
        version: b.version + 1,
        ..b.clone()
    };
    let mut tx = s.begin_write().await.unwrap();
    let refused = tx
        .remove_grid(
            a.id,
            a.version,
            &MembersOnDelete::Reassign(Box::new(grown)),
            &by("dave"),
        )
        .await;
    tx.rollback().await;
    match refused {
        Err(StoreError::VersionMismatch {
            id,
            expected,
            found,
        }) => {
            assert_eq!((id, expected, found), (b.id, b.version, b.version + 1))
        }
        other => panic!("a stale neighbour: {other:?}"),
    }
    assert_eq!(observe_grids(s, &ids).await, before);
    // A delete based on a stale version of the grid itself.
    let mut tx = s.begin_write().await.unwrap();
    let refused = tx
        .remove_grid(b.id, b.version, &MembersOnDelete::Release, &by("dave"))
        .await;
    tx.rollback().await;
    assert!(
        matches!(refused, Err(StoreError::VersionMismatch { id, .. }) if id == b.id),
        "{refused:?}"
    );
    assert_eq!(observe_grids(s, &ids).await, before);
    // A whole-map replace by a caller who read the map before grid 4 existed.
    let seen: Vec<(i64, i64)> = vec![(a.id, a.version), (renamed.id, renamed.version)];
    let mut tx = s.begin_write().await.unwrap();
    let refused = tx
        .replace_community_grids(community, &seen, std::slice::from_ref(&a), &by("erin"))
        .await;
    tx.rollback().await;
    match refused {
        Err(StoreError::VersionMismatch {
            id,
            expected,
            found,
        }) => {
            assert_eq!((id, expected, found), (grids[2].id, 0, grids[2].version))
        }
        other => panic!("a grid created meanwhile: {other:?}"),
    }
    assert_eq!(observe_grids(s, &ids).await, before);
}

/// The write path over this store, with a snapshot loaded from it.
async fn write_path(
    s: &Store,
) -> (
    gridcircle::app::WritePath,
    gridcircle::readmodel::SnapshotCell,
) {
    let snapshot = gridcircle::app::load_snapshot(s, std::sync::Arc::new(catalogue()))
        .await
        .unwrap();
    let cell = gridcircle::readmodel::SnapshotCell::new(snapshot);
    (
        gridcircle::app::WritePath::new(s.clone(), cell.clone()),
        cell,
    )
}

fn audit_of(layer: &str, id: i64) -> AuditEntry {
    AuditEntry {
        token_id: None,
        role: None,
        actor: "write-path-test".into(),
        action: "create".into(),
        layer: layer.into(),
        feature_id: Some(id.to_string()),
        before: None,
        after: Some(json!({"id": id})),
    }
}

/// Inserts `f` through the write path, audited, publishing the next snapshot; `pause` after
/// the insert, before the commit.
fn insert_command(
    f: Facility,
    pause: Duration,
) -> impl for<'w> FnOnce(
    &'w mut gridcircle::app::Write,
) -> gridcircle::app::BoxFuture<'w, Result<i64, StoreError>>
+ Send
+ 'static {
    move |w| {
        Box::pin(async move {
            let id = w.tx().await?.insert_facility(&f).await?;
            tokio::time::sleep(pause).await;
            w.audit(audit_of("facilities", id));
            let mut items = w.snapshot().facilities.layer.items().to_vec();
            items.push(Facility { id, ..f });
            let next = w.snapshot().with_facilities(items);
            w.next_snapshot(next);
            Ok(id)
        })
    }
}

/// A write's audit record commits in the write's own transaction: the change, its record and
/// the published snapshot agree.
async fn write_path_commits_the_audit_with_the_change(t: &Target) {
    let s = &t.store;
    let (writes, cell) = write_path(s).await;
    let id = writes
        .run(insert_command(shared_parking(), Duration::ZERO))
        .await
        .unwrap();
    assert!(ops::load(s).await.facilities.iter().any(|f| f.id == id));
    let records = ops::audit(s, 0, 100, Some("facilities"), Some(&id.to_string())).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].actor, "write-path-test");
    assert!(cell.current().facilities.layer.index_of(id).is_some());
    assert!(writes.health().failure().is_none());
}

/// A caller that stops waiting (a request timeout, a client gone) after the transaction
/// began does not stop the write: it commits with its audit record and is published.
async fn write_path_outlives_its_caller(t: &Target) {
    let s = &t.store;
    let (writes, cell) = write_path(s).await;
    let before = cell.current().facilities.layer.items().len();
    let gave_up = tokio::time::timeout(
        Duration::from_millis(50),
        writes.run(insert_command(plain_toilet(), Duration::from_millis(400))),
    )
    .await;
    assert!(
        gave_up.is_err(),
        "the caller gave up before the write ended"
    );
    // The next write waits for the writer lock, so it runs after the abandoned one ended.
    let next = writes
        .run(insert_command(shared_parking(), Duration::ZERO))
        .await
        .unwrap();
    let stored = ops::load(s).await.facilities;
    let abandoned = stored
        .iter()
        .find(|f| f.name == plain_toilet().name)
        .expect("the abandoned write committed");
    assert_eq!(
        ops::audit(
            s,
            0,
            100,
            Some("facilities"),
            Some(&abandoned.id.to_string())
        )
        .await
        .len(),
        1,
        "the abandoned write's audit record committed with it"
    );
    let published = cell.current();
    assert_eq!(published.facilities.layer.items().len(), before + 2);
    assert!(published.facilities.layer.index_of(abandoned.id).is_some());
    assert!(published.facilities.layer.index_of(next).is_some());
}

/// A command that fails after writing, or panics, leaves nothing (no row, no audit record,
/// no new snapshot), and the next write works.
async fn write_path_rolls_back_failures(t: &Target) {
    let s = &t.store;
    let (writes, cell) = write_path(s).await;
    let version = cell.current().version;
    let failed: Result<(), StoreError> = writes
        .run(|w| {
            Box::pin(async move {
                let id = w.tx().await?.insert_facility(&plain_toilet()).await?;
                w.audit(audit_of("facilities", id));
                Err(StoreError::Conflict("refused after writing".into()))
            })
        })
        .await;
    assert!(matches!(failed, Err(StoreError::Conflict(_))));
    let panicking = writes.clone();
    let panicked = tokio::spawn(async move {
        panicking
            .run(
                |w| -> gridcircle::app::BoxFuture<'_, Result<(), StoreError>> {
                    Box::pin(async move {
                        w.tx().await?.insert_facility(&plain_toilet()).await?;
                        panic!("a bug in a command");
                    })
                },
            )
            .await
    })
    .await;
    assert!(
        panicked.unwrap_err().is_panic(),
        "the panic reaches the caller"
    );
    assert!(ops::load(s).await.facilities.is_empty(), "nothing was kept");
    assert!(
        ops::audit(s, 0, 100, Some("facilities"), None)
            .await
            .is_empty()
    );
    assert_eq!(cell.current().version, version, "nothing was published");
    // The connection is usable: the next write commits.
    let id = writes
        .run(insert_command(shared_parking(), Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(ops::load(s).await.facilities.len(), 1);
    assert_eq!(cell.current().facilities.layer.items()[0].id, id);
    assert!(writes.health().failure().is_none());
}
