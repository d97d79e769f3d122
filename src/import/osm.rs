//! OpenStreetMap PBF import: buildings, facilities and street ways, with a report of what was
//! read, made and skipped.
//!
//! The file is read in up to three passes, each keeping only what a later step needs, so memory
//! grows with what is imported (tags and node ids of the kept ways, coordinates of their nodes),
//! not with the file:
//! 1. every blob: tagged nodes (facilities, entrances, buildings on nodes), ways that are
//!    buildings, streets or facility areas, and `type=multipolygon` relations that are buildings
//!    or facilities; it also notes which blobs hold nodes and which hold ways;
//! 2. the way blobs again, only when some relation member ways were not kept in pass 1 (plain
//!    outer and inner ways are untagged, and come before their relation in a sorted file);
//! 3. the node blobs again: coordinates of the nodes the kept ways use, and no others.
//!
//! Coordinates are the exact nanodegree values of the file (`nano_lon()`/`nano_lat()`).

mod multipolygon;
mod report;

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use anyhow::{Context, bail};
use geo::orient::{Direction, Orient};
use geo::{Coord, LineString, Polygon};
use indicatif::{ProgressBar, ProgressStyle};
use osmpbf::{BlobDecode, BlobReader, ByteOffset, PrimitiveBlock, RelMemberType};

use crate::config::HouseholdEstimate;
use crate::model::{
    AreaShape, Building, Facility, FacilityDraft, HouseholdSource, KindCatalogue, LandArea,
    LandClass, LonLat, OsmRef, StreetWay,
};

pub use report::ImportReport;
use report::REPORT_LIST_CAP;

/// What an OSM import produced: validated records (ids are 0 until the store assigns them),
/// sorted so that importing the same file twice gives equal values.
///
/// ```
/// use gridcircle::config::HouseholdEstimate;
/// use gridcircle::import::read_osm_pbf;
/// use gridcircle::model::{KindCatalogue, OsmRef};
/// let path = std::path::Path::new("../shared/data/nanjing-xinjiekou.osm.pbf");
/// let import = read_osm_pbf(path, &KindCatalogue::bundled(), &HouseholdEstimate::default(), false)?;
/// let first = &import.buildings[0];
/// assert!(matches!(first.osm, OsmRef::Way(_)));
/// assert!(first.footprint.contains(first.point));
/// assert!(import.ways.windows(2).all(|w| w[0].id < w[1].id));
/// # Ok::<(), anyhow::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsmImport {
    /// Buildings, sorted by OSM reference (ways, then relations).
    pub buildings: Vec<Building>,
    /// Facilities from nodes and areas, sorted by OSM reference.
    pub facilities: Vec<Facility>,
    /// Streets and paths (every `highway=*` way), sorted by way id.
    pub ways: Vec<StreetWay>,
    /// Water and green areas for the base map, sorted by OSM reference.
    pub land: Vec<LandArea>,
    /// Counts of what was read, made and skipped.
    pub report: ImportReport,
}

impl<'a> From<&'a OsmImport> for crate::store::OsmRows<'a> {
    fn from(import: &'a OsmImport) -> Self {
        crate::store::OsmRows {
            buildings: &import.buildings,
            facilities: &import.facilities,
            ways: &import.ways,
            land: &import.land,
        }
    }
}

/// Reads a `.osm.pbf` file into buildings, facilities and street ways.
///
/// - **Buildings**: closed ways and `type=multipolygon` relations tagged `building=*` (not
///   `no`), with holes. Households and residents are estimated with `estimate` when the
///   `building` value is one of its `residential_tags` and the object has no `amenity`, `shop`,
///   `office`, `tourism` or `leisure` tag.
/// - **Facilities**: nodes, closed ways and multipolygon relations whose tags match a kind of
///   `catalogue` (areas at their representative point). An `opening_hours` value that does not
///   parse, or that is too complex to evaluate ([`crate::model::Hours::check_budget`]), is
///   dropped (the facility is kept) and counted.
/// - **Street ways**: every way tagged `highway=*`.
///
/// Objects with nodes or member ways outside the file, and outlines that are not valid
/// polygons, are skipped and counted in [`ImportReport`]; they never fail the import. A file
/// that cannot be read or decoded is an error (never a panic). `progress` shows a progress bar
/// on stderr.
///
/// ```
/// use gridcircle::config::HouseholdEstimate;
/// use gridcircle::import::read_osm_pbf;
/// use gridcircle::model::KindCatalogue;
/// let path = std::path::Path::new("../shared/data/nanjing-xinjiekou.osm.pbf");
/// let import = read_osm_pbf(path, &KindCatalogue::bundled(), &HouseholdEstimate::default(), false)?;
/// assert_eq!(import.buildings.len() as u64, import.report.buildings());
/// assert_eq!(import.report.buildings_from_relations, 7);
/// assert_eq!(import.ways.len(), 384);
/// # Ok::<(), anyhow::Error>(())
/// ```
pub fn read_osm_pbf(
    path: &Path,
    catalogue: &KindCatalogue,
    estimate: &HouseholdEstimate,
    progress: bool,
) -> anyhow::Result<OsmImport> {
    let file_len = std::fs::metadata(path)
        .with_context(|| format!("cannot read OSM file {}", path.display()))?
        .len();
    let bar = if progress {
        let bar = ProgressBar::new(file_len);
        bar.set_style(
            ProgressStyle::with_template("{msg:28} [{bar:40}] {bytes}/{total_bytes}")
                .expect("valid progress template")
                .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    // The PBF decoder does unchecked arithmetic and unwraps on some malformed input (delta
    // overflow, unknown enum values); a damaged file must be an error, not a crash.
    let result = catch_unwind(AssertUnwindSafe(|| {
        Importer::new(catalogue, estimate).run(path, file_len, &bar)
    }));
    bar.finish_and_clear();
    match result {
        Ok(import) => import.with_context(|| format!("cannot import OSM file {}", path.display())),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            bail!(
                "cannot import OSM file {}: the file is damaged (decoder panicked: {what})",
                path.display()
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tags kept from pass 1

type Tags<'a> = [(&'a str, &'a str)];

fn tag<'a>(tags: &Tags<'a>, key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn owned(tags: &Tags<'_>, key: &str) -> Option<String> {
    tag(tags, key).map(str::to_owned)
}

/// Keys that make a building something other than a home.
const NON_RESIDENTIAL_KEYS: [&str; 5] = ["amenity", "shop", "office", "tourism", "leisure"];

/// `building:levels`: the leading whole number (junk after it ignored), clamped to 1..=200.
fn parse_levels(value: &str) -> Option<u16> {
    let value = value.trim_start();
    let digits = &value[..value.bytes().take_while(u8::is_ascii_digit).count()];
    if digits.is_empty() {
        return None;
    }
    Some(digits.parse::<u64>().unwrap_or(u64::MAX).clamp(1, 200) as u16)
}

#[derive(Debug)]
struct BuildingTags {
    value: String,
    name: Option<String>,
    levels: Option<u16>,
    residential: bool,
}

impl BuildingTags {
    fn from_tags(tags: &Tags<'_>, estimate: &HouseholdEstimate) -> Option<Self> {
        let value = tag(tags, "building").filter(|v| *v != "no")?;
        let residential = estimate.residential_tags.iter().any(|t| t == value)
            && !tags.iter().any(|(k, _)| NON_RESIDENTIAL_KEYS.contains(k));
        Some(BuildingTags {
            value: value.to_owned(),
            name: owned(tags, "name"),
            levels: tag(tags, "building:levels").and_then(parse_levels),
            residential,
        })
    }
}

#[derive(Debug)]
struct StreetTags {
    highway: String,
    name: Option<String>,
    foot: Option<String>,
    access: Option<String>,
    area: bool,
}

impl StreetTags {
    fn from_tags(tags: &Tags<'_>) -> Option<Self> {
        Some(StreetTags {
            highway: owned(tags, "highway")?,
            name: owned(tags, "name"),
            foot: owned(tags, "foot"),
            access: owned(tags, "access"),
            area: tag(tags, "area") == Some("yes"),
        })
    }
}

#[derive(Debug)]
struct FacilityTags {
    kind: String,
    name: Option<String>,
    opening_hours: Option<String>,
    capacity: Option<String>,
    operator: Option<String>,
}

impl FacilityTags {
    fn from_tags(tags: &Tags<'_>, catalogue: &KindCatalogue) -> Option<Self> {
        let kind = catalogue.kind_for_tags(tags.iter().copied())?;
        Some(FacilityTags {
            kind: kind.id.clone(),
            name: owned(tags, "name"),
            opening_hours: owned(tags, "opening_hours"),
            capacity: owned(tags, "capacity"),
            operator: owned(tags, "operator"),
        })
    }
}

/// The tags of a water or green area.
#[derive(Debug)]
struct LandTags {
    class: LandClass,
    name: Option<String>,
}

impl LandTags {
    fn from_tags(tags: &Tags<'_>) -> Option<Self> {
        Some(LandTags {
            class: LandClass::from_tags(|k| tag(tags, k))?,
            name: owned(tags, "name"),
        })
    }
}

/// A way kept in pass 1 for at least one output.
#[derive(Debug)]
struct WayRec {
    id: i64,
    refs: Vec<i64>,
    building: Option<BuildingTags>,
    street: Option<StreetTags>,
    facility: Option<FacilityTags>,
    land: Option<LandTags>,
}

/// A multipolygon relation kept in pass 1.
#[derive(Debug)]
struct RelRec {
    id: i64,
    member_ways: Vec<i64>,
    building: Option<BuildingTags>,
    facility: Option<FacilityTags>,
    land: Option<LandTags>,
}

/// The outputs an object would have fed, for counting skips.
#[derive(Debug, Clone, Copy, Default)]
struct Outputs<'a> {
    building: bool,
    facility: Option<&'a str>,
    street: bool,
    land: bool,
}

impl Outputs<'_> {
    fn any(&self) -> bool {
        self.building || self.facility.is_some() || self.street || self.land
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.building {
            parts.push("building".to_owned());
        }
        if let Some(kind) = self.facility {
            parts.push(format!("facility {kind}"));
        }
        if self.street {
            parts.push("street".to_owned());
        }
        if self.land {
            parts.push("water or green area".to_owned());
        }
        parts.join(", ")
    }
}

// ---------------------------------------------------------------------------------------------
// Node coordinates

fn degrees(nano: i64) -> f64 {
    // Both operands are exact in f64, so the quotient is the double nearest the file's value.
    nano as f64 / 1e9
}

/// Coordinates of the nodes the kept ways use: sorted ids and, in pass 3, their positions
/// (16 bytes a node; NaN until the node is read).
struct NodeTable {
    ids: Vec<i64>,
    coords: Vec<Coord<f64>>,
}

impl NodeTable {
    fn new(mut ids: Vec<i64>) -> Self {
        ids.sort_unstable();
        ids.dedup();
        ids.shrink_to_fit();
        let coords = vec![
            Coord {
                x: f64::NAN,
                y: f64::NAN
            };
            ids.len()
        ];
        NodeTable { ids, coords }
    }

    fn set(&mut self, id: i64, nano_lon: i64, nano_lat: i64) {
        if let Ok(i) = self.ids.binary_search(&id) {
            self.coords[i] = Coord {
                x: degrees(nano_lon),
                y: degrees(nano_lat),
            };
        }
    }

    fn get(&self, id: i64) -> Option<Coord<f64>> {
        let i = self.ids.binary_search(&id).ok()?;
        Some(self.coords[i]).filter(|c| !c.x.is_nan())
    }

    /// The coordinates of `refs`, or how many of them are not in the file.
    fn resolve(&self, refs: &[i64]) -> Result<Vec<Coord<f64>>, usize> {
        let coords: Vec<_> = refs.iter().filter_map(|&id| self.get(id)).collect();
        if coords.len() == refs.len() {
            Ok(coords)
        } else {
            Err(refs.len() - coords.len())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The import

/// A blob's place in the file and what it holds (from pass 1).
struct BlobSpan {
    offset: u64,
    len: u64,
    has_nodes: bool,
    has_ways: bool,
}

struct Importer<'a> {
    catalogue: &'a KindCatalogue,
    estimate: &'a HouseholdEstimate,
    report: ImportReport,
    // Pass 1
    ways: Vec<WayRec>,
    relations: Vec<RelRec>,
    /// `entrance=*` nodes: id → whether it is `entrance=main`.
    entrances: HashMap<i64, bool>,
    // Pass 2: member ways not kept in pass 1.
    member_ways: HashMap<i64, Vec<i64>>,
    // Outputs
    buildings: Vec<Building>,
    facilities: Vec<Facility>,
    streets: Vec<StreetWay>,
    land: Vec<LandArea>,
    /// Every skip and every invalid opening_hours; sorted and capped into the report at the end.
    skipped: Vec<(OsmRef, String)>,
    bad_hours: Vec<(OsmRef, String)>,
}

impl<'a> Importer<'a> {
    fn new(catalogue: &'a KindCatalogue, estimate: &'a HouseholdEstimate) -> Self {
        Importer {
            catalogue,
            estimate,
            report: ImportReport::default(),
            ways: Vec::new(),
            relations: Vec::new(),
            entrances: HashMap::new(),
            member_ways: HashMap::new(),
            buildings: Vec::new(),
            facilities: Vec::new(),
            streets: Vec::new(),
            land: Vec::new(),
            skipped: Vec::new(),
            bad_hours: Vec::new(),
        }
    }

    fn run(mut self, path: &Path, file_len: u64, bar: &ProgressBar) -> anyhow::Result<OsmImport> {
        let mut reader = BlobReader::seekable_from_path(path)?;

        bar.set_message("pass 1/3: tags");
        let blobs = self.pass1(&mut reader, file_len, bar)?;

        // Relation member ways that pass 1 did not keep.
        let mut missing = self.member_way_ids();
        if !missing.is_empty() {
            for way in &self.ways {
                missing.remove(&way.id);
            }
        }
        let pass2: Vec<&BlobSpan> = if missing.is_empty() {
            Vec::new()
        } else {
            blobs.iter().filter(|b| b.has_ways).collect()
        };
        let pass3: Vec<&BlobSpan> = blobs.iter().filter(|b| b.has_nodes).collect();
        bar.set_length(file_len + pass2.iter().chain(&pass3).map(|b| b.len).sum::<u64>());

        bar.set_message("pass 2/3: relation members");
        for span in pass2 {
            let block = read_block(&mut reader, span)?;
            for group in block.groups() {
                for way in group.ways() {
                    if missing.contains(&way.id()) {
                        self.member_ways.insert(way.id(), way.refs().collect());
                    }
                }
            }
            bar.inc(span.len);
        }

        bar.set_message("pass 3/3: node locations");
        let mut nodes = NodeTable::new(
            self.ways
                .iter()
                .flat_map(|w| w.refs.iter())
                .chain(self.member_ways.values().flatten())
                .copied()
                .collect(),
        );
        for span in pass3 {
            let block = read_block(&mut reader, span)?;
            for group in block.groups() {
                for node in group.nodes() {
                    nodes.set(node.id(), node.nano_lon(), node.nano_lat());
                }
                for node in group.dense_nodes() {
                    nodes.set(node.id(), node.nano_lon(), node.nano_lat());
                }
            }
            bar.inc(span.len);
        }

        bar.set_message("assembling");
        Ok(self.assemble(&nodes))
    }

    fn member_way_ids(&self) -> HashSet<i64> {
        self.relations
            .iter()
            .flat_map(|r| r.member_ways.iter().copied())
            .collect()
    }

    /// Pass 1: reads every blob; returns where the blobs are and what they hold.
    fn pass1(
        &mut self,
        reader: &mut BlobReader<std::io::BufReader<std::fs::File>>,
        file_len: u64,
        bar: &ProgressBar,
    ) -> anyhow::Result<Vec<BlobSpan>> {
        let mut blobs: Vec<BlobSpan> = Vec::new();
        for blob in reader.by_ref() {
            let blob = blob?;
            let offset = blob.offset().context("the PBF reader lost its position")?.0;
            if let Some(last) = blobs.last_mut() {
                last.len = offset.saturating_sub(last.offset);
            }
            bar.set_position(offset);
            let mut span = BlobSpan {
                offset,
                len: file_len.saturating_sub(offset),
                has_nodes: false,
                has_ways: false,
            };
            match blob.decode()? {
                BlobDecode::OsmHeader(header) => {
                    for feature in header.required_features() {
                        if !matches!(feature.as_str(), "OsmSchema-V0.6" | "DenseNodes") {
                            bail!("the file needs a feature this importer lacks: {feature}");
                        }
                    }
                }
                BlobDecode::OsmData(block) => self.pass1_block(&block, &mut span),
                BlobDecode::Unknown(_) => {}
            }
            blobs.push(span);
        }
        bar.set_position(file_len);
        Ok(blobs)
    }

    fn pass1_block(&mut self, block: &PrimitiveBlock, span: &mut BlobSpan) {
        for group in block.groups() {
            for node in group.nodes() {
                span.has_nodes = true;
                self.node(node.id(), node.nano_lon(), node.nano_lat(), node.tags());
            }
            for node in group.dense_nodes() {
                span.has_nodes = true;
                self.node(node.id(), node.nano_lon(), node.nano_lat(), node.tags());
            }
            for way in group.ways() {
                span.has_ways = true;
                self.report.ways_read += 1;
                let tags: Vec<_> = way.tags().collect();
                let building = BuildingTags::from_tags(&tags, self.estimate);
                let street = StreetTags::from_tags(&tags);
                let facility = FacilityTags::from_tags(&tags, self.catalogue);
                let land = LandTags::from_tags(&tags);
                if building.is_some() || street.is_some() || facility.is_some() || land.is_some() {
                    self.ways.push(WayRec {
                        id: way.id(),
                        refs: way.refs().collect(),
                        building,
                        street,
                        facility,
                        land,
                    });
                }
            }
            for relation in group.relations() {
                self.report.relations_read += 1;
                let tags: Vec<_> = relation.tags().collect();
                if tag(&tags, "type") != Some("multipolygon") {
                    continue;
                }
                let building = BuildingTags::from_tags(&tags, self.estimate);
                let facility = FacilityTags::from_tags(&tags, self.catalogue);
                let land = LandTags::from_tags(&tags);
                if building.is_some() || facility.is_some() || land.is_some() {
                    // Node members (labels) and relation members are not part of the outline.
                    let member_ways = relation
                        .members()
                        .filter(|m| m.member_type == RelMemberType::Way)
                        .map(|m| m.member_id)
                        .collect();
                    self.relations.push(RelRec {
                        id: relation.id(),
                        member_ways,
                        building,
                        facility,
                        land,
                    });
                }
            }
        }
    }

    fn node<'t>(
        &mut self,
        id: i64,
        nano_lon: i64,
        nano_lat: i64,
        tags: impl Iterator<Item = (&'t str, &'t str)>,
    ) {
        self.report.nodes_read += 1;
        let tags: Vec<_> = tags.collect();
        if tags.is_empty() {
            return;
        }
        if tag(&tags, "building").is_some_and(|v| v != "no") {
            self.report.building_nodes_not_imported += 1;
        }
        if let Some(entrance) = tag(&tags, "entrance").filter(|v| *v != "no") {
            self.entrances.insert(id, entrance == "main");
        }
        if let Some(facility) = FacilityTags::from_tags(&tags, self.catalogue) {
            let at = Coord {
                x: degrees(nano_lon),
                y: degrees(nano_lat),
            };
            if self.push_facility(OsmRef::Node(id), at, facility) {
                self.report.facilities_from_nodes += 1;
            }
        }
    }

    /// Builds every output from the kept ways and relations, sorts them, and finishes the report.
    fn assemble(mut self, nodes: &NodeTable) -> OsmImport {
        let members = self.member_way_ids();
        let ways = std::mem::take(&mut self.ways);
        let member_ways = std::mem::take(&mut self.member_ways);
        let by_id: HashMap<i64, &[i64]> = ways
            .iter()
            .filter(|w| members.contains(&w.id))
            .map(|w| (w.id, w.refs.as_slice()))
            .chain(member_ways.iter().map(|(id, refs)| (*id, refs.as_slice())))
            .collect();
        for relation in std::mem::take(&mut self.relations) {
            if let Some((footprint, entrance)) = self.relation_area(&relation, &by_id, nodes) {
                if let Some(land) = relation.land {
                    self.push_land(OsmRef::Relation(relation.id), footprint.clone(), land);
                }
                self.push_area(
                    OsmRef::Relation(relation.id),
                    footprint,
                    entrance,
                    relation.building,
                    relation.facility,
                );
            }
        }
        drop(by_id);
        drop(member_ways);
        for way in ways {
            self.finish_way(way, nodes);
        }

        self.buildings.sort_by_key(|b| b.osm);
        self.facilities.sort_by_key(|f| f.osm);
        self.land.sort_by_key(|l| l.osm);
        self.streets.sort_by_key(|w| w.id);
        self.skipped.sort();
        self.bad_hours.sort();
        self.report.skipped = self.skipped.into_iter().take(REPORT_LIST_CAP).collect();
        self.report.invalid_opening_hours_refs =
            self.bad_hours.into_iter().take(REPORT_LIST_CAP).collect();
        self.report.street_ways = self.streets.len() as u64;
        OsmImport {
            buildings: self.buildings,
            facilities: self.facilities,
            ways: self.streets,
            land: self.land,
            report: self.report,
        }
    }

    fn finish_way(&mut self, way: WayRec, nodes: &NodeTable) {
        let osm = OsmRef::Way(way.id);
        let kind = way.facility.as_ref().map(|f| f.kind.clone());
        let wanted = Outputs {
            building: way.building.is_some(),
            facility: kind.as_deref(),
            street: way.street.is_some(),
            land: way.land.is_some(),
        };
        let coords = match nodes.resolve(&way.refs) {
            Ok(coords) => coords,
            Err(missing) => {
                let why = format!(
                    "incomplete: {missing} of {} nodes are outside the file",
                    way.refs.len()
                );
                self.skip(osm, true, why, wanted);
                return;
            }
        };
        let mut failed = Outputs::default();
        let mut why = String::new();
        if let Some(street) = way.street {
            if coords.len() >= 2 {
                self.streets.push(StreetWay {
                    id: way.id,
                    highway: street.highway,
                    name: street.name,
                    foot: street.foot,
                    access: street.access,
                    area: street.area,
                    node_ids: way.refs.clone(),
                    line: LineString::new(coords.clone()),
                });
            } else {
                failed.street = true;
                why = "too_few_nodes: a street needs at least 2 nodes".into();
            }
        }
        let area_wanted = way.building.is_some() || way.facility.is_some() || way.land.is_some();
        if area_wanted && !is_closed(&way.refs) {
            if way.land.is_some() {
                failed.land = true;
                why = "not_closed: an area way must end where it starts".into();
            }
            if way.facility.is_some() {
                // A facility mapped as a line (rare) is not an area: counted, not imported.
                self.report.facility_lines_not_imported += 1;
            }
            if way.building.is_some() {
                failed.building = true;
                why = "not_closed: a building way must end where it starts".into();
            }
        } else if area_wanted {
            let polygon =
                Polygon::new(multipolygon::ring(coords), vec![]).orient(Direction::Default);
            match AreaShape::from_polygon(polygon, "geometry") {
                Ok(footprint) => {
                    if let Some(land) = way.land {
                        self.push_land(osm, footprint.clone(), land);
                    }
                    if way.building.is_some() || way.facility.is_some() {
                        let entrance = self.entrance(&way.refs, nodes);
                        self.push_area(osm, footprint, entrance, way.building, way.facility);
                    }
                }
                Err(e) => {
                    failed.building = wanted.building;
                    failed.facility = wanted.facility;
                    failed.land = wanted.land;
                    why = format!("{}: {}", e.code, e.message);
                }
            }
        }
        if failed.any() {
            self.skip(osm, false, why, failed);
        }
    }

    /// Assembles a relation's footprint, or records why it is skipped.
    fn relation_area(
        &mut self,
        relation: &RelRec,
        ways: &HashMap<i64, &[i64]>,
        nodes: &NodeTable,
    ) -> Option<(AreaShape, Option<LonLat>)> {
        let osm = OsmRef::Relation(relation.id);
        let wanted = Outputs {
            building: relation.building.is_some(),
            facility: relation.facility.as_ref().map(|f| f.kind.as_str()),
            street: false,
            land: relation.land.is_some(),
        };
        let members: Vec<&[i64]> = relation
            .member_ways
            .iter()
            .filter_map(|id| ways.get(id).copied())
            .collect();
        let total = relation.member_ways.len();
        if members.len() < total {
            let why = format!(
                "incomplete: {} of {total} member ways are outside the file",
                total - members.len()
            );
            self.skip(osm, true, why, wanted);
            return None;
        }
        let missing_nodes: usize = members
            .iter()
            .map(|refs| refs.iter().filter(|&&id| nodes.get(id).is_none()).count())
            .sum();
        if missing_nodes > 0 {
            let why = format!(
                "incomplete: {missing_nodes} nodes of its member ways are outside the file"
            );
            self.skip(osm, true, why, wanted);
            return None;
        }
        match self.relation_footprint(&members, nodes) {
            Ok((footprint, rings)) => {
                let entrance = self.entrance(&rings.concat(), nodes);
                Some((footprint, entrance))
            }
            Err(why) => {
                self.skip(osm, false, why, wanted);
                None
            }
        }
    }

    /// Joins complete member ways into rings and a valid footprint, repairing rings that touch
    /// along a line. Returns the footprint and the rings' node ids.
    fn relation_footprint(
        &mut self,
        members: &[&[i64]],
        nodes: &NodeTable,
    ) -> Result<(AreaShape, Vec<Vec<i64>>), String> {
        let rings = multipolygon::join_rings(members).map_err(|e| e.to_string())?;
        let coords = rings
            .iter()
            .map(|ring| multipolygon::ring(ring.iter().filter_map(|&id| nodes.get(id))))
            .collect();
        let shape = multipolygon::nest_rings(coords).map_err(|e| e.to_string())?;
        let footprint = match AreaShape::from_multi_polygon(shape.clone(), "geometry") {
            Ok(footprint) => footprint,
            Err(e) => {
                let repaired = multipolygon::repair(&shape);
                let footprint = AreaShape::from_multi_polygon(repaired, "geometry")
                    .map_err(|_| format!("{}: {}", e.code, e.message))?;
                self.report.repaired_geometry += 1;
                footprint
            }
        };
        Ok((footprint, rings))
    }

    /// The `entrance=*` node on an outline: the first `entrance=main`, else the first one.
    fn entrance(&self, outline: &[i64], nodes: &NodeTable) -> Option<LonLat> {
        if self.entrances.is_empty() {
            return None;
        }
        let mut first = None;
        for id in outline {
            match self.entrances.get(id) {
                Some(true) => {
                    first = Some(*id);
                    break;
                }
                Some(false) if first.is_none() => first = Some(*id),
                _ => {}
            }
        }
        let c = nodes.get(first?)?;
        LonLat::new(c.x, c.y).ok()
    }

    /// Keeps a water or green area.
    fn push_land(&mut self, osm: OsmRef, shape: AreaShape, tags: LandTags) {
        match tags.class {
            LandClass::Water => self.report.water_areas += 1,
            LandClass::Park => self.report.park_areas += 1,
        }
        self.land.push(LandArea {
            id: 0,
            osm,
            class: tags.class,
            name: tags.name,
            shape,
        });
    }

    /// Makes the building and the facility of a valid area.
    fn push_area(
        &mut self,
        osm: OsmRef,
        footprint: AreaShape,
        entrance: Option<LonLat>,
        building: Option<BuildingTags>,
        facility: Option<FacilityTags>,
    ) {
        let point = footprint.representative_point();
        let at = Coord {
            x: point.lon(),
            y: point.lat(),
        };
        if let Some(facility) = facility
            && self.push_facility(osm, at, facility)
        {
            self.report.facilities_from_areas += 1;
        }
        let Some(tags) = building else { return };
        let (households, residents, household_source) = if tags.residential {
            let households = self.estimate.households(footprint.area_m2(), tags.levels);
            (
                households,
                self.estimate.residents(households),
                HouseholdSource::Estimated,
            )
        } else {
            (0, 0, HouseholdSource::None)
        };
        match osm {
            OsmRef::Relation(_) => self.report.buildings_from_relations += 1,
            _ => self.report.buildings_from_ways += 1,
        }
        if tags.residential {
            self.report.residential_buildings += 1;
            self.report.households += u64::from(households);
            self.report.residents += u64::from(residents);
        }
        self.buildings.push(Building {
            id: 0,
            osm,
            name: tags.name,
            building: tags.value,
            footprint,
            point,
            entrance,
            levels: tags.levels,
            households,
            residents,
            household_source,
        });
    }

    /// Validates and keeps a facility. Invalid optional tags are dropped and counted, so that a
    /// bad `opening_hours` or `capacity` never loses the facility. Returns whether it was kept.
    fn push_facility(&mut self, osm: OsmRef, at: Coord<f64>, tags: FacilityTags) -> bool {
        let capacity = tags.capacity.as_deref().map(|c| c.trim().parse::<i64>());
        if let Some(Err(_)) = capacity {
            *self
                .report
                .invalid_facility_tags
                .entry("capacity".into())
                .or_default() += 1;
        }
        let mut draft = FacilityDraft {
            osm: Some(osm),
            lon: at.x,
            lat: at.y,
            kind: tags.kind.clone(),
            name: tags.name,
            owner: tags.operator,
            audience: None,
            opening_hours: tags.opening_hours,
            capacity: capacity.and_then(Result::ok),
            free: None,
            shared: false,
            demo: false,
        };
        // Each round drops the field at fault (a field that is still set), so this ends.
        loop {
            let err = match draft.clone().validate_write(0, self.catalogue) {
                Ok(facility) => {
                    *self
                        .report
                        .facilities_per_kind
                        .entry(tags.kind)
                        .or_default() += 1;
                    self.facilities.push(facility);
                    return true;
                }
                Err(err) => err,
            };
            match err.field.as_str() {
                "opening_hours" if draft.opening_hours.is_some() => {
                    self.report.invalid_opening_hours += 1;
                    self.bad_hours
                        .push((osm, draft.opening_hours.take().unwrap_or_default()));
                }
                "name" if draft.name.is_some() => {
                    drop_tag(&mut self.report, "name", &mut draft.name)
                }
                "owner" if draft.owner.is_some() => {
                    drop_tag(&mut self.report, "operator", &mut draft.owner)
                }
                "capacity" if draft.capacity.is_some() => {
                    *self
                        .report
                        .invalid_facility_tags
                        .entry("capacity".into())
                        .or_default() += 1;
                    draft.capacity = None;
                }
                _ => {
                    // The position or kind itself is wrong: nothing left to drop.
                    let why = format!("{}: {}", err.code, err.message);
                    self.skip(
                        osm,
                        false,
                        why,
                        Outputs {
                            facility: Some(&tags.kind),
                            ..Outputs::default()
                        },
                    );
                    return false;
                }
            }
        }
    }

    /// Records a skipped object. `incomplete` tells a missing node or member from an invalid
    /// geometry; `outputs` are the records the object would have made.
    fn skip(&mut self, osm: OsmRef, incomplete: bool, why: String, outputs: Outputs<'_>) {
        let r = &mut self.report;
        match (incomplete, osm) {
            (true, OsmRef::Relation(_)) => r.skipped_incomplete_relations += 1,
            (true, _) => r.skipped_incomplete_ways += 1,
            (false, _) => r.skipped_invalid_geometry += 1,
        }
        if outputs.building {
            match osm {
                OsmRef::Relation(_) => r.skipped_building_relations += 1,
                _ => r.skipped_building_ways += 1,
            }
        }
        if let Some(kind) = outputs.facility {
            *r.skipped_facilities_per_kind
                .entry(kind.to_owned())
                .or_default() += 1;
        }
        if outputs.street {
            r.skipped_street_ways += 1;
        }
        if outputs.land {
            r.skipped_land_areas += 1;
        }
        self.skipped
            .push((osm, format!("{why} ({})", outputs.describe())));
    }
}

fn drop_tag(report: &mut ImportReport, tag: &str, value: &mut Option<String>) {
    *report
        .invalid_facility_tags
        .entry(tag.to_owned())
        .or_default() += 1;
    *value = None;
}

fn is_closed(refs: &[i64]) -> bool {
    refs.len() >= 4 && refs.first() == refs.last()
}

/// Reads and decodes the data blob at `span` (pass 2 and 3).
fn read_block(
    reader: &mut BlobReader<std::io::BufReader<std::fs::File>>,
    span: &BlobSpan,
) -> anyhow::Result<PrimitiveBlock> {
    let blob = reader.blob_from_offset(ByteOffset(span.offset))?;
    match blob.decode()? {
        BlobDecode::OsmData(block) => Ok(block),
        _ => bail!("the blob at byte {} changed between passes", span.offset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_take_the_leading_number() {
        assert_eq!(parse_levels("5"), Some(5));
        assert_eq!(parse_levels(" 12;13"), Some(12));
        assert_eq!(parse_levels("3.5"), Some(3));
        assert_eq!(parse_levels("0"), Some(1));
        assert_eq!(parse_levels("999999999999999999999999"), Some(200));
        assert_eq!(parse_levels("many"), None);
        assert_eq!(parse_levels("-1"), None);
    }
}
