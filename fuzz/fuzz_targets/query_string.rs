//! Query strings as every GET route parses them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gridcircle::http::fuzz::query_string(text);
    }
});
