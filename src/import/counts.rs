//! CSV import of real household and resident counts per building.

use std::path::Path;

use anyhow::{Context, bail};

use crate::store::HouseholdCount;

/// Reads a CSV with header `osm,households,residents` (e.g. `way/123,42,110`). Every row is
/// checked; the first bad row fails the whole file, naming its line, so nothing half-applies.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("counts.csv");
/// std::fs::write(&path, "osm,households,residents\nway/27811140,40,104\n").unwrap();
/// let counts = gridcircle::import::read_household_counts(&path).unwrap();
/// assert_eq!(counts[0].households, 40);
/// ```
pub fn read_household_counts(path: &Path) -> anyhow::Result<Vec<HouseholdCount>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| format!("{}: missing column {name}", path.display()))
    };
    let (c_osm, c_h, c_r) = (col("osm")?, col("households")?, col("residents")?);
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("line {line}"))?;
        let osm = row
            .get(c_osm)
            .unwrap_or("")
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("line {line}: {e}"))?;
        let households: u32 = row
            .get(c_h)
            .unwrap_or("")
            .trim()
            .parse()
            .with_context(|| format!("line {line}: households"))?;
        let residents: u32 = row
            .get(c_r)
            .unwrap_or("")
            .trim()
            .parse()
            .with_context(|| format!("line {line}: residents"))?;
        if households > 100_000 || residents > 1_000_000 {
            bail!("line {line}: counts are implausibly large");
        }
        out.push(HouseholdCount {
            osm,
            households,
            residents,
        });
    }
    Ok(out)
}
