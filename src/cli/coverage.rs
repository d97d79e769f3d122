//! `gridcircle coverage`: the coverage report of one service circle, as JSON, GeoJSON or CSV.

use std::sync::Arc;

use anyhow::Context;

use crate::model::KindCatalogue;
use crate::store::Store;

/// The arguments of `gridcircle coverage`.
#[derive(Debug, clap::Args)]
pub(super) struct CoverageArgs {
    /// The store.
    #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
    pub(super) db: String,
    /// Circle id or name (政务 生活 健康 文体 平安, or government daily_life health culture_sports safety).
    #[arg(long)]
    circle: String,
    /// Budget in minutes (default: the circle's).
    #[arg(long)]
    minutes: Option<f64>,
    /// walk or radius (default: the circle's).
    #[arg(long)]
    mode: Option<String>,
    /// Only facilities open at this RFC 3339 instant count.
    #[arg(long)]
    at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// grid:ID, community:ID or street_office:ID.
    #[arg(long)]
    within: Option<String>,
    /// Output: json (the full report), geojson (uncovered buildings) or csv (uncovered buildings).
    #[arg(long, default_value = "json")]
    format: String,
}

impl CoverageArgs {
    /// Loads the snapshot, prints the report on stdout and its summary on stderr.
    pub(super) async fn run(self, catalogue: Arc<KindCatalogue>) -> anyhow::Result<()> {
        let Self {
            db,
            circle,
            minutes,
            mode,
            at,
            within,
            format,
        } = self;
        anyhow::ensure!(super::store_exists(&db), "no store at {db}");
        let store = Store::open(&db).await?;
        let snapshot = crate::app::load_snapshot(&store, catalogue).await?;
        let def = snapshot.circle(&circle).cloned().with_context(|| {
            format!(
                "unknown circle {circle:?}; circles: {}",
                snapshot
                    .circles
                    .iter()
                    .map(|c| format!("{} ({})", c.id, c.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let minutes = crate::model::parse_minutes(minutes.unwrap_or(def.minutes), "minutes")?;
        let mode: crate::model::ReachMode = mode
            .as_deref()
            .map(str::parse)
            .transpose()?
            .unwrap_or(def.mode);
        let within: Option<crate::readmodel::coverage::Within> =
            within.as_deref().map(str::parse).transpose()?;
        let at = at.map(|t| t.with_timezone(&chrono::Utc));
        let report =
            crate::readmodel::coverage::report(&snapshot, &def, minutes, mode, at, within, false)?;
        match format.as_str() {
            "csv" => print!("{}", crate::http::coverage_csv(&snapshot, &def, &report)),
            "geojson" => println!(
                "{}",
                crate::http::coverage_json(&snapshot, &def, minutes, mode, at, &report)["uncovered"]
            ),
            "json" => println!(
                "{}",
                serde_json::to_string_pretty(&crate::http::coverage_json(
                    &snapshot, &def, minutes, mode, at, &report
                ))?
            ),
            other => anyhow::bail!("--format is json, geojson or csv, not {other:?}"),
        }
        let s = report.summary;
        eprintln!(
            "{} ({}) {mode:?} {minutes} min: {} of {} households covered ({}%), {} buildings uncovered",
            def.name,
            def.id,
            s.households_covered,
            s.households,
            s.coverage_pct,
            s.buildings_uncovered
        );
        Ok(())
    }
}
