//! The GeoJSON Feature parser and validators of facility and grid writes: any bytes give an
//! answer (Ok or a JSON error), never a panic.
#![no_main]

use std::sync::LazyLock;

use gridcircle::model::KindCatalogue;
use libfuzzer_sys::fuzz_target;

static CATALOGUE: LazyLock<KindCatalogue> = LazyLock::new(KindCatalogue::bundled);

fuzz_target!(|data: &[u8]| {
    let _ = gridcircle::http::fuzz::feature_body(data, &CATALOGUE);
});
