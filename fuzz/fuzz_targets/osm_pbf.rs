//! The OSM PBF import of a mutated file: seed the corpus with a small real extract
//! (`cp ../shared/data/nanjing-xinjiekou.osm.pbf fuzz/corpus/osm_pbf/`); any bytes give an
//! import or an error, never a panic.
#![no_main]

use std::io::Write;
use std::sync::LazyLock;

use gridcircle::config::HouseholdEstimate;
use gridcircle::model::KindCatalogue;
use libfuzzer_sys::fuzz_target;

static CATALOGUE: LazyLock<KindCatalogue> = LazyLock::new(KindCatalogue::bundled);

fuzz_target!(|data: &[u8]| {
    let mut file = tempfile::Builder::new()
        .suffix(".osm.pbf")
        .tempfile()
        .unwrap();
    file.write_all(data).unwrap();
    let _ = gridcircle::import::read_osm_pbf(
        file.path(),
        &CATALOGUE,
        &HouseholdEstimate::default(),
        false,
    );
});
