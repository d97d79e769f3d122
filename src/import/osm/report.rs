//! The import report: what was read, made and skipped, and why.

use std::collections::BTreeMap;
use std::fmt;

use crate::model::OsmRef;

/// How many skipped objects and invalid opening hours the report lists by reference (the ones
/// with the smallest references; the counts are always complete).
pub(super) const REPORT_LIST_CAP: usize = 50;

/// Counts of what an OSM import read, made and skipped, and why.
///
/// An object is *skipped* when it would have become a building, a facility area or a street way
/// but cannot: a way with nodes outside the file, a relation with member ways or nodes outside
/// the file (both "incomplete"), or an outline that does not make a valid polygon. The
/// `skipped_*` object counts count each object once; the per-output counts
/// (`skipped_building_ways`, …) count it once for each output it would have fed.
///
/// ```
/// use gridcircle::config::HouseholdEstimate;
/// use gridcircle::import::read_osm_pbf;
/// use gridcircle::model::KindCatalogue;
/// let path = std::path::Path::new("../shared/data/nanjing-xinjiekou.osm.pbf");
/// let import = read_osm_pbf(path, &KindCatalogue::bundled(), &HouseholdEstimate::default(), false)?;
/// let report = &import.report;
/// assert_eq!(report.buildings_from_ways + report.skipped_building_ways, 1270);
/// assert_eq!(serde_json::to_value(report)?["facilities_per_kind"]["toilet"], 10);
/// println!("{report}"); // a multi-line summary
/// # Ok::<(), anyhow::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImportReport {
    /// Nodes in the file.
    pub nodes_read: u64,
    /// Ways in the file.
    pub ways_read: u64,
    /// Relations in the file.
    pub relations_read: u64,

    /// Buildings made from closed ways tagged `building=*` (not `no`).
    pub buildings_from_ways: u64,
    /// Buildings made from `type=multipolygon` relations tagged `building=*`.
    pub buildings_from_relations: u64,
    /// Nodes tagged `building=*`: counted, not imported (a building needs a footprint).
    pub building_nodes_not_imported: u64,
    /// Of the buildings, those counted as homes (`HouseholdSource::Estimated`).
    pub residential_buildings: u64,
    /// Estimated households over all buildings.
    pub households: u64,
    /// Estimated residents over all buildings.
    pub residents: u64,

    /// Facilities made from tagged nodes.
    pub facilities_from_nodes: u64,
    /// Facilities made from closed ways and multipolygon relations (at their representative
    /// point).
    pub facilities_from_areas: u64,
    /// Facilities made, per kind id.
    pub facilities_per_kind: BTreeMap<String, u64>,
    /// Ways tagged as a facility that are not closed (so not an area): not imported.
    pub facility_lines_not_imported: u64,
    /// Facilities whose `opening_hours` does not parse or is too complex to evaluate
    /// (`opening_hours_too_complex`): imported without hours.
    pub invalid_opening_hours: u64,
    /// The first 50 of them (smallest references): reference → the `opening_hours` value.
    pub invalid_opening_hours_refs: BTreeMap<OsmRef, String>,
    /// Other facility tags dropped because they are invalid, per tag (`capacity` that is not a
    /// whole number in 0..=1000000, `name` or `operator` over 128 characters).
    pub invalid_facility_tags: BTreeMap<String, u64>,

    /// Street ways made from ways tagged `highway=*`.
    pub street_ways: u64,
    /// Water areas for the base map (`natural=water`, `waterway=riverbank|dock`,
    /// `landuse=reservoir|basin`; closed ways and multipolygon relations).
    pub water_areas: u64,
    /// Green areas for the base map (`leisure=park|garden|nature_reserve`,
    /// `landuse=grass|forest|meadow|recreation_ground|village_green`,
    /// `natural=wood|grassland|scrub`).
    pub park_areas: u64,

    /// Ways skipped because some of their nodes are outside the file.
    pub skipped_incomplete_ways: u64,
    /// Relations skipped because some of their member ways, or those ways' nodes, are outside
    /// the file.
    pub skipped_incomplete_relations: u64,
    /// Objects skipped because their geometry is invalid (an open building way, rings that do
    /// not close, a self-intersection…).
    pub skipped_invalid_geometry: u64,
    /// Relations whose rings touch or overlap along a line (outers sharing a wall, holes
    /// sharing an edge), made valid by a union of the outers minus the holes, and imported.
    pub repaired_geometry: u64,
    /// The first 50 skipped objects (smallest references): reference → `reason: details (outputs)`.
    pub skipped: BTreeMap<OsmRef, String>,
    /// Building ways skipped (incomplete or invalid).
    pub skipped_building_ways: u64,
    /// Building relations skipped (incomplete or invalid).
    pub skipped_building_relations: u64,
    /// Facility areas skipped (incomplete or invalid), per kind id.
    pub skipped_facilities_per_kind: BTreeMap<String, u64>,
    /// `highway=*` ways skipped (incomplete, or fewer than 2 nodes).
    pub skipped_street_ways: u64,
    /// Water and green areas skipped (incomplete, not closed, or invalid).
    pub skipped_land_areas: u64,
}

impl ImportReport {
    /// All buildings made.
    pub fn buildings(&self) -> u64 {
        self.buildings_from_ways + self.buildings_from_relations
    }

    /// All facilities made.
    pub fn facilities(&self) -> u64 {
        self.facilities_from_nodes + self.facilities_from_areas
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "read:        {} nodes, {} ways, {} relations",
            self.nodes_read, self.ways_read, self.relations_read
        )?;
        writeln!(
            f,
            "buildings:   {} ({} from ways, {} from relations); {} tagged on nodes not imported",
            self.buildings(),
            self.buildings_from_ways,
            self.buildings_from_relations,
            self.building_nodes_not_imported
        )?;
        writeln!(
            f,
            "residential: {} buildings, {} households, {} residents (estimated)",
            self.residential_buildings, self.households, self.residents
        )?;
        writeln!(
            f,
            "facilities:  {} ({} from nodes, {} from areas)",
            self.facilities(),
            self.facilities_from_nodes,
            self.facilities_from_areas
        )?;
        for (kind, n) in &self.facilities_per_kind {
            writeln!(f, "  {kind:<20} {n:>6}")?;
        }
        if self.facility_lines_not_imported > 0 {
            writeln!(
                f,
                "  {} facility ways are not closed: not imported",
                self.facility_lines_not_imported
            )?;
        }
        if self.invalid_opening_hours > 0 {
            writeln!(
                f,
                "  {} invalid opening_hours (kept without hours):",
                self.invalid_opening_hours
            )?;
            for (osm, value) in &self.invalid_opening_hours_refs {
                writeln!(f, "    {osm}: {value:?}")?;
            }
        }
        for (tag, n) in &self.invalid_facility_tags {
            writeln!(f, "  {n} invalid {tag} tags dropped")?;
        }
        writeln!(f, "streets:     {} ways", self.street_ways)?;
        writeln!(
            f,
            "base map:    {} water and {} green areas ({} skipped)",
            self.water_areas, self.park_areas, self.skipped_land_areas
        )?;
        if self.repaired_geometry > 0 {
            writeln!(
                f,
                "repaired:    {} multipolygons with rings touching along a line",
                self.repaired_geometry
            )?;
        }
        let skipped = self.skipped_incomplete_ways
            + self.skipped_incomplete_relations
            + self.skipped_invalid_geometry;
        write!(
            f,
            "skipped:     {skipped} objects: {} incomplete ways, {} incomplete relations, {} invalid geometries",
            self.skipped_incomplete_ways,
            self.skipped_incomplete_relations,
            self.skipped_invalid_geometry
        )?;
        if skipped > 0 {
            writeln!(f)?;
            write!(
                f,
                "  as outputs: {} building ways, {} building relations, {} street ways",
                self.skipped_building_ways,
                self.skipped_building_relations,
                self.skipped_street_ways
            )?;
            for (kind, n) in &self.skipped_facilities_per_kind {
                write!(f, ", {n} {kind}")?;
            }
            for (osm, why) in &self.skipped {
                write!(f, "\n    {osm}: {why}")?;
            }
            if (self.skipped.len() as u64) < skipped {
                write!(
                    f,
                    "\n    … and {} more",
                    skipped - self.skipped.len() as u64
                )?;
            }
        }
        Ok(())
    }
}
