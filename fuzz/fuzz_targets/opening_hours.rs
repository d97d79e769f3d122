//! opening_hours as a facility write takes it (parse, holiday calendar, state at instants).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gridcircle::http::fuzz::opening_hours(text);
    }
});
