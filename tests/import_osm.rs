//! OSM PBF import on the real extracts in `../shared/data/`, checked against independent counts
//! made with osmium-tool from the same files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use chrono::Utc;
use geo::{Contains, Distance, Euclidean, Polygon};
use gridcircle::config::HouseholdEstimate;
use gridcircle::import::{OsmImport, read_osm_pbf};
use gridcircle::model::{AreaShape, Hours, HouseholdSource, KindCatalogue, MAX_EVAL_STEPS, OsmRef};

const NANJING: &str = "nanjing-xinjiekou.osm.pbf";
const PORTO: &str = "porto.osm.pbf";
const MONACO: &str = "monaco.osm.pbf";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name)
}

fn catalogue() -> &'static KindCatalogue {
    static CATALOGUE: OnceLock<KindCatalogue> = OnceLock::new();
    CATALOGUE.get_or_init(KindCatalogue::bundled)
}

fn import_file(path: &Path) -> anyhow::Result<OsmImport> {
    read_osm_pbf(path, catalogue(), &HouseholdEstimate::default(), false)
}

/// Each file is imported once and shared by the tests.
fn imported(name: &str) -> &'static OsmImport {
    static CELLS: [OnceLock<OsmImport>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let i = [NANJING, PORTO, MONACO]
        .iter()
        .position(|n| *n == name)
        .expect("known file");
    CELLS[i].get_or_init(|| import_file(&data(name)).expect("import succeeds"))
}

// ---------------------------------------------------------------------------------------------
// Independent counts with osmium-tool

fn osmium(args: &[&str]) -> String {
    let out = Command::new("osmium")
        .args(args)
        .output()
        .expect("osmium-tool is installed");
    assert!(
        out.status.success(),
        "osmium {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("osmium writes UTF-8")
}

/// One OSM object as osmium writes it in OPL.
#[derive(Debug)]
struct Opl {
    kind: char,
    id: i64,
    tags: Vec<(String, String)>,
    nodes: Vec<i64>,
    members: Vec<(char, i64, String)>,
    /// A node's location (OPL writes the file's 7 decimals).
    xy: Option<(f64, f64)>,
}

impl Opl {
    fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn is_building(&self) -> bool {
        self.tag("building").is_some_and(|v| v != "no")
    }

    fn is_multipolygon(&self) -> bool {
        self.kind == 'r' && self.tag("type") == Some("multipolygon")
    }

    fn is_closed_way(&self) -> bool {
        self.kind == 'w' && self.nodes.len() >= 4 && self.nodes.first() == self.nodes.last()
    }

    fn osm_ref(&self) -> OsmRef {
        match self.kind {
            'n' => OsmRef::Node(self.id),
            'w' => OsmRef::Way(self.id),
            _ => OsmRef::Relation(self.id),
        }
    }
}

/// OPL escapes characters as `%<hex code point>%`.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut parts = s.split('%');
    out.push_str(parts.next().unwrap_or_default());
    let mut escaped = true;
    for part in parts {
        if escaped {
            out.push(
                char::from_u32(u32::from_str_radix(part, 16).expect("hex escape"))
                    .expect("code point"),
            );
        } else {
            out.push_str(part);
        }
        escaped = !escaped;
    }
    out
}

fn parse_opl(text: &str) -> Vec<Opl> {
    text.lines()
        .map(|line| {
            let mut fields = line.split(' ');
            let head = fields.next().expect("object id");
            let mut obj = Opl {
                kind: head.chars().next().expect("type"),
                id: head[1..].parse().expect("id"),
                tags: vec![],
                nodes: vec![],
                members: vec![],
                xy: None,
            };
            let (mut x, mut y) = (None, None);
            for field in fields {
                let (first, rest) = field.split_at(1);
                match first {
                    "T" if !rest.is_empty() => {
                        obj.tags = rest
                            .split(',')
                            .map(|kv| {
                                let (k, v) = kv.split_once('=').expect("key=value");
                                (unescape(k), unescape(v))
                            })
                            .collect()
                    }
                    "N" if !rest.is_empty() => {
                        obj.nodes = rest.split(',').map(|n| n[1..].parse().unwrap()).collect()
                    }
                    "M" if !rest.is_empty() => {
                        obj.members = rest
                            .split(',')
                            .map(|m| {
                                let (r, role) = m.split_once('@').expect("member@role");
                                (
                                    r.chars().next().unwrap(),
                                    r[1..].parse().unwrap(),
                                    unescape(role),
                                )
                            })
                            .collect()
                    }
                    "x" => x = rest.parse::<f64>().ok(),
                    "y" => y = rest.parse::<f64>().ok(),
                    _ => {}
                }
            }
            obj.xy = x.zip(y);
            obj
        })
        .collect()
}

/// `osmium tags-filter` on the file, as OPL; `omit_referenced` drops the member ways and nodes.
fn tags_filter(name: &str, filters: &[&str], omit_referenced: bool) -> Vec<Opl> {
    let path = data(name);
    let mut args = vec!["tags-filter", path.to_str().unwrap()];
    args.extend_from_slice(filters);
    if omit_referenced {
        args.push("--omit-referenced");
    }
    args.extend_from_slice(&["-f", "opl,add_metadata=false", "-o", "-"]);
    parse_opl(&osmium(&args))
}

fn fileinfo_count(name: &str, what: &str) -> u64 {
    let path = data(name);
    osmium(&[
        "fileinfo",
        "-e",
        "-g",
        &format!("data.count.{what}"),
        path.to_str().unwrap(),
    ])
    .trim()
    .parse()
    .unwrap()
}

/// `osmium check-refs`: how many nodes referenced by ways are missing from the file.
fn way_nodes_missing(name: &str) -> u64 {
    let path = data(name);
    let out = Command::new("osmium")
        .args(["check-refs", path.to_str().unwrap()])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("Nodes") && l.contains("in ways"))
        .expect("check-refs summary");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// What osmium says about a file, counted the way the import defines its outputs.
#[derive(Debug, Default)]
struct Expected {
    building_ways: u64,
    building_relations: u64,
    /// Building multipolygons with a member way that is not in the file.
    building_relations_missing_members: u64,
    building_nodes: u64,
    highway_ways: u64,
    /// Per kind: (nodes, closed ways + multipolygon relations).
    facilities: BTreeMap<String, (u64, u64)>,
    /// Ways and multipolygon relations tagged as water or green areas.
    land: u64,
    /// Multipolygon relations (buildings or land areas) with a member way not in the file.
    relations_missing_members: u64,
}

/// The osmium filters for the base map's water and green areas (`LandClass::from_tags`).
const LAND_FILTERS: [&str; 4] = [
    "wr/natural=water,wood,grassland,scrub",
    "wr/waterway=riverbank,dock",
    "wr/landuse=reservoir,basin,grass,forest,meadow,recreation_ground,village_green",
    "wr/leisure=park,garden,nature_reserve",
];

fn is_land(o: &Opl) -> bool {
    gridcircle::model::LandClass::from_tags(|k| o.tag(k)).is_some()
}

fn expected(name: &str) -> Expected {
    let mut e = Expected::default();
    for obj in tags_filter(name, &["nwr/building"], true) {
        match obj.kind {
            _ if !obj.is_building() => {}
            'n' => e.building_nodes += 1,
            'w' => e.building_ways += 1,
            _ if obj.is_multipolygon() => e.building_relations += 1,
            _ => {}
        }
    }
    // Without --omit-referenced, osmium adds the member ways that are in the file.
    let with_members = tags_filter(name, &["r/building"], false);
    let ways: HashSet<i64> = with_members
        .iter()
        .filter(|o| o.kind == 'w')
        .map(|o| o.id)
        .collect();
    e.building_relations_missing_members = with_members
        .iter()
        .filter(|o| o.is_multipolygon() && o.is_building())
        .filter(|o| {
            o.members
                .iter()
                .any(|(k, id, _)| *k == 'w' && !ways.contains(id))
        })
        .count() as u64;
    e.highway_ways = tags_filter(name, &["w/highway"], true).len() as u64;
    e.land = tags_filter(name, &LAND_FILTERS, true)
        .iter()
        .filter(|o| is_land(o) && (o.kind == 'w' || o.is_multipolygon()))
        .count() as u64;
    let mut filters = vec!["r/building"];
    filters.extend(LAND_FILTERS.iter().map(|f| f.trim_start_matches('w')));
    let with_members = tags_filter(name, &filters, false);
    let ways: HashSet<i64> = with_members
        .iter()
        .filter(|o| o.kind == 'w')
        .map(|o| o.id)
        .collect();
    e.relations_missing_members = with_members
        .iter()
        .filter(|o| o.is_multipolygon() && (o.is_building() || is_land(o)))
        .filter(|o| {
            o.members
                .iter()
                .any(|(k, id, _)| *k == 'w' && !ways.contains(id))
        })
        .count() as u64;

    let tags: Vec<String> = catalogue()
        .kinds()
        .iter()
        .flat_map(|k| k.osm.iter().map(|t| format!("nwr/{t}")))
        .collect();
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    for obj in tags_filter(name, &tags, true) {
        let Some(kind) =
            catalogue().kind_for_tags(obj.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        else {
            continue;
        };
        let counts = e.facilities.entry(kind.id.clone()).or_default();
        match obj.kind {
            'n' => counts.0 += 1,
            _ if obj.is_closed_way() || obj.is_multipolygon() => counts.1 += 1,
            _ => {}
        }
    }
    e
}

/// The import's counts add up to osmium's: every object is imported or skipped with a reason.
fn check_against_osmium(name: &str) {
    let import = imported(name);
    let r = &import.report;
    let e = expected(name);
    println!("{name}:\n{r}\nosmium: {e:?}");

    assert_eq!(r.nodes_read, fileinfo_count(name, "nodes"));
    assert_eq!(r.ways_read, fileinfo_count(name, "ways"));
    assert_eq!(r.relations_read, fileinfo_count(name, "relations"));

    // Buildings.
    assert_eq!(
        r.buildings_from_ways + r.skipped_building_ways,
        e.building_ways,
        "building ways"
    );
    assert_eq!(
        r.buildings_from_relations + r.skipped_building_relations,
        e.building_relations,
        "building relations"
    );
    assert_eq!(r.building_nodes_not_imported, e.building_nodes);
    assert_eq!(
        import.buildings.len() as u64,
        r.buildings_from_ways + r.buildings_from_relations
    );
    let by_ways = import
        .buildings
        .iter()
        .filter(|b| matches!(b.osm, OsmRef::Way(_)))
        .count() as u64;
    assert_eq!(by_ways, r.buildings_from_ways);
    // Incomplete relations: exactly the ones osmium finds with member ways outside the file
    // (no building relation here misses only nodes: check-refs finds no way without its nodes).
    assert_eq!(way_nodes_missing(name), 0);
    assert_eq!(r.skipped_incomplete_ways, 0);
    assert_eq!(r.skipped_incomplete_relations, e.relations_missing_members);
    assert!(e.building_relations_missing_members <= e.relations_missing_members);

    // Water and green areas: every tagged way and multipolygon is an area or a counted skip.
    assert_eq!(
        r.water_areas + r.park_areas + r.skipped_land_areas,
        e.land,
        "water and green areas"
    );
    assert_eq!(import.land.len() as u64, r.water_areas + r.park_areas);
    for l in &import.land {
        assert!(l.shape.area_m2() > 0.0, "{}", l.osm);
    }

    // Streets.
    assert_eq!(
        r.street_ways + r.skipped_street_ways,
        e.highway_ways,
        "highway ways"
    );
    assert_eq!(import.ways.len() as u64, r.street_ways);

    // Facilities per kind, nodes and areas.
    let mut got: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for f in &import.facilities {
        let counts = got.entry(f.kind.as_str().to_owned()).or_default();
        match f.osm {
            Some(OsmRef::Node(_)) => counts.0 += 1,
            _ => counts.1 += 1,
        }
    }
    for (kind, n) in &r.skipped_facilities_per_kind {
        got.entry(kind.clone()).or_default().1 += n;
    }
    assert_eq!(got, e.facilities, "facilities per kind (nodes, areas)");
    let per_kind: BTreeMap<String, u64> =
        import.facilities.iter().fold(BTreeMap::new(), |mut m, f| {
            *m.entry(f.kind.as_str().to_owned()).or_default() += 1;
            m
        });
    assert_eq!(per_kind, r.facilities_per_kind);
    let from_nodes = import
        .facilities
        .iter()
        .filter(|f| matches!(f.osm, Some(OsmRef::Node(_))))
        .count() as u64;
    assert_eq!(
        (from_nodes, import.facilities.len() as u64 - from_nodes),
        (r.facilities_from_nodes, r.facilities_from_areas)
    );

    // Households add up, and only residential buildings have them.
    let households: u64 = import
        .buildings
        .iter()
        .map(|b| u64::from(b.households))
        .sum();
    let residents: u64 = import
        .buildings
        .iter()
        .map(|b| u64::from(b.residents))
        .sum();
    assert_eq!((households, residents), (r.households, r.residents));
    let residential = import
        .buildings
        .iter()
        .filter(|b| b.household_source == HouseholdSource::Estimated)
        .count();
    assert_eq!(residential as u64, r.residential_buildings);
    for b in &import.buildings {
        assert_eq!(
            b.household_source == HouseholdSource::Estimated,
            b.households > 0,
            "{}",
            b.osm
        );
        assert!(b.levels.is_none_or(|l| (1..=200).contains(&l)));
        assert_eq!(b.id, 0);
    }

    // The report serialises for the CLI.
    let json = serde_json::to_value(r).unwrap();
    assert_eq!(json["buildings_from_ways"], r.buildings_from_ways);
}

#[test]
fn nanjing_matches_osmium_and_the_readme() {
    check_against_osmium(NANJING);
    let r = &imported(NANJING).report;
    // README: 1,277 building polygons = 1,270 ways + 7 relations that assemble; an 8th relation
    // lacks members; 1 more building is tagged on a node.
    assert_eq!(
        (r.buildings_from_ways, r.buildings_from_relations),
        (1270, 7)
    );
    assert_eq!(
        (
            r.skipped_building_ways,
            r.skipped_building_relations,
            r.skipped_incomplete_relations
        ),
        (0, 1, 1)
    );
    assert_eq!(r.skipped_invalid_geometry, 0);
    assert_eq!(r.building_nodes_not_imported, 1);
    assert_eq!(r.street_ways, 384);
    // README: 10 toilets, 13 parking, 2 libraries, 6 police, 2 townhalls, 5 hospitals, 1 clinic,
    // 3 pharmacies, 9 supermarkets, 7 convenience stores.
    let kinds = &r.facilities_per_kind;
    for (kind, n) in [
        ("toilet", 10),
        ("parking", 13),
        ("reading_room", 2),
        ("police", 6),
        ("street_office", 2),
        ("hospital", 5),
        ("clinic", 1),
        ("pharmacy", 3),
        ("supermarket", 9),
        ("convenience", 7),
    ] {
        assert_eq!(kinds.get(kind).copied().unwrap_or(0), n, "{kind}");
    }
}

#[test]
fn porto_matches_osmium_and_the_readme() {
    check_against_osmium(PORTO);
    let r = &imported(PORTO).report;
    // README: 11,404 building polygons = 11,353 ways + 51 relations; 28 more on nodes.
    assert_eq!(
        (r.buildings_from_ways, r.buildings_from_relations),
        (11353, 51)
    );
    assert_eq!(r.building_nodes_not_imported, 28);
    // Three multipolygons (two buildings, one building + sports ground) have outers sharing a
    // wall or holes sharing an edge: osmium assembles them, the import repairs them.
    assert_eq!(r.repaired_geometry, 3);
    // One `type=multipolygon` relation tagged amenity=drinking_water has only node members.
    assert_eq!(r.skipped_incomplete_relations, 0);
    // …and one leisure=garden way does not close.
    assert_eq!(r.skipped_invalid_geometry, 2);
    assert!(r.skipped[&OsmRef::Relation(9756217)].starts_with("no_rings"));
    assert!(r.skipped[&OsmRef::Way(501865245)].starts_with("not_closed"));
    assert_eq!(
        (r.water_areas, r.park_areas, r.skipped_land_areas),
        (58, 1270, 1)
    );
}

#[test]
fn monaco_matches_osmium_and_the_readme() {
    check_against_osmium(MONACO);
    let r = &imported(MONACO).report;
    // README: 1,151 buildings.
    assert_eq!(r.buildings(), 1151);
}

#[test]
fn multipolygon_holes_are_kept() {
    // A real building relation with inner members, found with osmium rather than hard-coded.
    let relations = tags_filter(NANJING, &["r/building"], true);
    let with_hole = relations
        .iter()
        .filter(|o| o.is_multipolygon())
        .find(|o| {
            o.members
                .iter()
                .any(|(k, _, role)| *k == 'w' && role == "inner")
        })
        .expect("Nanjing has a building multipolygon with an inner ring");
    let inner_members = with_hole
        .members
        .iter()
        .filter(|(_, _, role)| role == "inner")
        .count();
    let building = imported(NANJING)
        .buildings
        .iter()
        .find(|b| b.osm == with_hole.osm_ref())
        .expect("the relation is imported");
    let shape = building.footprint.shape();
    let holes: usize = shape.0.iter().map(|p| p.interiors().len()).sum();
    assert!(
        holes >= 1 && holes <= inner_members,
        "{holes} holes from {inner_members} inner members"
    );
    let outers_only = AreaShape::from_multi_polygon(
        shape
            .0
            .iter()
            .map(|p| Polygon::new(p.exterior().clone(), vec![]))
            .collect(),
        "g",
    )
    .unwrap();
    assert!(
        building.area_m2() < outers_only.area_m2() - 1.0,
        "{} m² with holes, {} m² without",
        building.area_m2(),
        outers_only.area_m2()
    );
    // Holes in every file come out as interior rings.
    for name in [PORTO, MONACO] {
        assert!(imported(name).buildings.iter().any(|b| {
            b.footprint
                .shape()
                .0
                .iter()
                .any(|p| !p.interiors().is_empty())
        }));
    }
}

#[test]
fn representative_point_is_inside_every_footprint() {
    for name in [NANJING, PORTO, MONACO] {
        let import = imported(name);
        for b in &import.buildings {
            assert!(
                b.footprint.shape().contains(&b.point.point()),
                "{name} {}: point on or outside",
                b.osm
            );
        }
        for f in &import.facilities {
            // An area that is both a building and a facility has one representative point.
            if let Some(osm @ (OsmRef::Way(_) | OsmRef::Relation(_))) = f.osm
                && let Some(b) = import.buildings.iter().find(|b| b.osm == osm)
            {
                assert_eq!(b.point, f.point);
            }
        }
    }
}

#[test]
fn entrances_are_the_entrance_nodes_on_the_outline() {
    let import = imported(PORTO);
    // Independently: entrance nodes (with their exact coordinates) and building ways from osmium.
    let entrances: HashMap<i64, (bool, (f64, f64))> = tags_filter(PORTO, &["n/entrance"], true)
        .into_iter()
        .filter(|n| n.tag("entrance") != Some("no"))
        .map(|n| {
            (
                n.id,
                (
                    n.tag("entrance") == Some("main"),
                    n.xy.expect("node location"),
                ),
            )
        })
        .collect();
    let mut with_entrance = 0;
    for way in tags_filter(PORTO, &["w/building"], true) {
        let on_outline: Vec<&(bool, (f64, f64))> = way
            .nodes
            .iter()
            .filter_map(|id| entrances.get(id))
            .collect();
        let want = on_outline
            .iter()
            .find(|(main, _)| *main)
            .or(on_outline.first())
            .map(|(_, xy)| *xy);
        let b = import
            .buildings
            .iter()
            .find(|b| b.osm == way.osm_ref())
            .expect("every Porto building way is imported");
        assert_eq!(b.entrance.map(|e| (e.lon(), e.lat())), want, "{}", b.osm);
        with_entrance += usize::from(want.is_some());
    }
    assert!(
        with_entrance > 50,
        "Porto has entrance nodes on building ways: {with_entrance}"
    );
    // Relations: on the outline too, or inside when a repair dissolved the shared wall the
    // entrance stood on (boolean ops also snap vertices by ~1e-9°).
    for b in import
        .buildings
        .iter()
        .filter(|b| matches!(b.osm, OsmRef::Relation(_)))
    {
        if let Some(e) = b.entrance {
            assert!(
                Euclidean.distance(b.footprint.shape(), &e.point()) < 1e-7,
                "{}",
                b.osm
            );
        }
    }
}

#[test]
fn opening_hours_are_kept_or_counted() {
    for name in [NANJING, PORTO, MONACO] {
        let import = imported(name);
        let with_hours = import
            .facilities
            .iter()
            .filter(|f| f.hours.is_some())
            .count() as u64;
        let r = &import.report;
        // Every imported facility with an opening_hours tag either parsed or was counted.
        let tags: Vec<String> = catalogue()
            .kinds()
            .iter()
            .flat_map(|k| k.osm.iter().map(|t| format!("nwr/{t}")))
            .collect();
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        let imported_refs: HashSet<OsmRef> =
            import.facilities.iter().filter_map(|f| f.osm).collect();
        let tagged = tags_filter(name, &tags, true)
            .iter()
            .filter(|o| {
                imported_refs.contains(&o.osm_ref())
                    && o.tag("opening_hours").is_some_and(|h| !h.trim().is_empty())
            })
            .count() as u64;
        assert_eq!(with_hours + r.invalid_opening_hours, tagged, "{name}");
        assert_eq!(
            r.invalid_opening_hours_refs.len() as u64,
            r.invalid_opening_hours.min(50)
        );
        for osm in r.invalid_opening_hours_refs.keys() {
            let f = import
                .facilities
                .iter()
                .find(|f| f.osm == Some(*osm))
                .expect("kept without hours");
            assert!(f.hours.is_none());
        }
    }
}

#[test]
fn no_real_opening_hours_are_too_complex_to_evaluate() {
    // Every opening_hours value in the extracts (osmium's reading), whatever the object.
    for name in [NANJING, PORTO, MONACO] {
        let values: BTreeMap<String, u64> = tags_filter(name, &["nwr/opening_hours"], true)
            .iter()
            .filter_map(|o| o.tag("opening_hours"))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .fold(BTreeMap::new(), |mut m, h| {
                *m.entry(h.to_owned()).or_default() += 1;
                m
            });
        assert!(!values.is_empty(), "{name}");
        let mut costliest = (0, String::new());
        for value in values.keys() {
            let Ok(hours) = Hours::parse(value, "opening_hours") else {
                continue;
            };
            // The write-time budget refuses none of them, with a wide margin.
            assert!(
                hours.check_budget("opening_hours").is_ok(),
                "{name}: {value:?}"
            );
            let steps = hours.evaluation_steps(Utc::now().naive_utc());
            assert!(
                steps <= MAX_EVAL_STEPS / 4,
                "{name}: {value:?} costs {steps}"
            );
            costliest = costliest.max((steps, value.clone()));
        }
        println!("{name}: costliest opening_hours {costliest:?}");
        // So the import dropped only the values that do not parse: as many as it counted.
        let import = imported(name);
        for (osm, value) in &import.report.invalid_opening_hours_refs {
            assert!(
                Hours::parse(value, "opening_hours").is_err(),
                "{name}: {osm} {value:?} parses but was dropped"
            );
        }
        for f in &import.facilities {
            if let Some(h) = &f.hours {
                assert!(values.contains_key(h.raw()), "{name}: {:?}", f.osm);
            }
        }
    }
}

#[test]
fn import_is_deterministic() {
    let started = std::time::Instant::now();
    let again = import_file(&data(PORTO)).unwrap();
    println!("Porto import: {:?}", started.elapsed());
    assert_eq!(&again, imported(PORTO));
    assert_eq!(format!("{again:?}"), format!("{:?}", imported(PORTO)));
    assert!(again.buildings.windows(2).all(|w| w[0].osm < w[1].osm));
    assert!(again.facilities.windows(2).all(|w| w[0].osm < w[1].osm));
    assert!(again.ways.windows(2).all(|w| w[0].id < w[1].id));
}

#[test]
fn damaged_files_give_an_error_or_a_report_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.osm.pbf");
    let (mut reports, mut errors) = (0, 0);
    let mut try_bytes = |content: &[u8]| {
        std::fs::write(&path, content).unwrap();
        // Either outcome is fine; a panic fails the test.
        match import_file(&path) {
            Ok(import) => {
                assert!(import.report.buildings() <= 1277);
                reports += 1;
            }
            Err(e) => {
                assert!(e.to_string().contains("damaged.osm.pbf"), "{e:#}");
                errors += 1;
            }
        }
    };
    // The real file's blobs are zlib-compressed, so flipped bytes there mostly fail the
    // checksum; an uncompressed copy lets damage reach the protobuf and element decoders.
    let compressed = std::fs::read(data(NANJING)).unwrap();
    let raw_path = dir.path().join("raw.osm.pbf");
    osmium(&[
        "cat",
        data(NANJING).to_str().unwrap(),
        "-f",
        "pbf,pbf_compression=none",
        "-o",
        raw_path.to_str().unwrap(),
    ]);
    let raw = std::fs::read(&raw_path).unwrap();
    for bytes in [&compressed, &raw] {
        // Truncated at many lengths: inside the first blob header, mid-blob, one byte short.
        for len in [
            0,
            1,
            3,
            4,
            5,
            13,
            100,
            1000,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len() - 1,
        ] {
            try_bytes(&bytes[..len]);
        }
        // Bytes flipped at pseudo-random places (a fixed LCG, so failures reproduce).
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..100 {
            let mut damaged = bytes.clone();
            for _ in 0..3 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let at = (state >> 33) as usize % damaged.len();
                damaged[at] ^= (state >> 20) as u8 | 1;
            }
            try_bytes(&damaged);
        }
    }
    println!("damaged files: {reports} imported with a report, {errors} errors");
    assert!(reports > 0 && errors > 0);
    // A missing file is an error too.
    assert!(import_file(&dir.path().join("missing.osm.pbf")).is_err());
}
