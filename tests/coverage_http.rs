//! `/coverage` for big answers over HTTP: paging the building lists (limit/offset, next links,
//! CSV Link header) and the summary-only form, on the real Nanjing demo data through the real
//! binary. The default (every uncovered building) is the reference every page is checked
//! against.

mod common;

use std::time::{Duration, Instant};

use common::{Server, demo};
use serde_json::Value;

fn ok(server: &Server, path: &str) -> Value {
    let (status, body) = server.get(path);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn ids(fc: &Value) -> Vec<i64> {
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["id"]
                .as_i64()
                .unwrap_or_else(|| f["properties"]["id"].as_i64().unwrap())
        })
        .collect()
}

fn link(body: &Value, rel: &str) -> Option<String> {
    body["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == rel)
        .map(|l| l["href"].as_str().unwrap().to_owned())
}

/// Follows `next` links from `first`, returning every page.
fn pages(server: &Server, first: &str) -> Vec<Value> {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(path) = next {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "paging did not finish"
        );
        let page = ok(server, &path);
        next = link(&page, "next");
        out.push(page);
    }
    out
}

#[test]
fn pages_reassemble_the_full_list_and_keep_the_query() {
    let (_dir, server) = demo();
    // Three minutes of walking leaves many homes uncovered: several pages.
    let query = "circle=health&minutes=3&compare=radius";
    let full = ok(&server, &format!("/coverage?{query}"));
    assert!(
        full.get("links").is_none(),
        "the default answer is not paged"
    );
    let all = ids(&full["uncovered"]);
    let matched = full["summary"]["buildings_uncovered"].as_u64().unwrap() as usize;
    assert_eq!(all.len(), matched);
    assert!(matched > 150, "{matched} uncovered");
    let all_compare = ids(&full["compare"]["covered_by_radius_not_by_walking"]);

    let limit = 40;
    let pages = pages(&server, &format!("/coverage?{query}&limit={limit}"));
    assert_eq!(pages.len(), matched.div_ceil(limit));
    let mut joined = Vec::new();
    let mut joined_compare = Vec::new();
    for (n, page) in pages.iter().enumerate() {
        // The query is kept: same circle, minutes and summary on every page.
        assert_eq!(page["minutes"], 3.0);
        assert_eq!(page["circle"]["id"], "health");
        assert_eq!(page["summary"], full["summary"]);
        assert_eq!(page["breakdown"], full["breakdown"]);
        let u = &page["uncovered"];
        assert_eq!(u["numberMatched"].as_u64().unwrap() as usize, matched);
        let got = ids(u);
        assert_eq!(u["numberReturned"].as_u64().unwrap() as usize, got.len());
        assert_eq!(got.len(), limit.min(matched - n * limit), "page {n}");
        joined.extend(got);
        let c = &page["compare"]["covered_by_radius_not_by_walking"];
        assert_eq!(
            c["numberMatched"].as_u64().unwrap() as usize,
            all_compare.len()
        );
        joined_compare.extend(ids(c));
        let me = link(page, "self").unwrap();
        assert!(
            me.contains(&format!("offset={}", n * limit)) && me.contains("minutes=3"),
            "{me}"
        );
        assert_eq!(link(page, "prev").is_some(), n > 0);
    }
    assert_eq!(joined, all, "pages in order make the full list");
    assert_eq!(joined_compare, all_compare);
    // Features of a page are those of the full answer, property for property.
    let page2 = &pages[1]["uncovered"]["features"][0];
    let same = full["uncovered"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == page2["id"])
        .unwrap();
    assert_eq!(same, page2);

    // An offset alone takes the default limit (100); past the end, an empty page.
    let tail = ok(&server, &format!("/coverage?{query}&offset=10"));
    assert_eq!(ids(&tail["uncovered"]), all[10..110.min(matched)].to_vec());
    let past = ok(
        &server,
        &format!("/coverage?{query}&offset={}", matched + 5),
    );
    assert!(ids(&past["uncovered"]).is_empty());
    assert_eq!(
        past["uncovered"]["numberMatched"].as_u64().unwrap() as usize,
        matched
    );
    assert!(link(&past, "next").is_none() && link(&past, "prev").is_some());
    // A limit above the server's maximum (10,000) is not an error: the maximum applies.
    let big = ok(&server, &format!("/coverage?{query}&limit=1000000"));
    assert_eq!(ids(&big["uncovered"]), all);
    assert!(link(&big, "self").unwrap().contains("limit=10000"));
    assert!(link(&big, "next").is_none());
}

#[test]
fn summary_only_and_csv_pages() {
    let (_dir, server) = demo();
    let query = "circle=daily_life&minutes=4&compare=radius";
    let full = ok(&server, &format!("/coverage?{query}"));
    let short = ok(&server, &format!("/coverage?{query}&summary_only=true"));
    assert!(
        short.get("uncovered").is_none(),
        "no building list: {short}"
    );
    assert!(
        short["compare"]
            .get("covered_by_radius_not_by_walking")
            .is_none()
    );
    for key in [
        "summary",
        "breakdown",
        "circle",
        "minutes",
        "metres",
        "facilities_counted",
    ] {
        assert_eq!(short[key], full[key], "{key}");
    }
    assert_eq!(short["compare"]["count"], full["compare"]["count"]);
    assert_eq!(
        short["compare"]["households"],
        full["compare"]["households"]
    );
    assert!(full["summary"]["buildings_uncovered"].as_u64().unwrap() > 30);
    let text = serde_json::to_string(&short).unwrap();
    let whole = serde_json::to_string(&full).unwrap();
    assert!(
        text.len() * 5 < whole.len(),
        "{} vs {} bytes",
        text.len(),
        whole.len()
    );
    assert_eq!(
        ok(&server, &format!("/coverage?{query}&summary_only=false")),
        full
    );

    // CSV: a window of the full CSV's rows, with a Link header to the next one.
    let client = reqwest::blocking::Client::new();
    let csv = |path: &str| {
        let r = client.get(server.url(path)).send().unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let link = r
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_owned());
        (r.text().unwrap(), link)
    };
    let (all, none) = csv(&format!("/coverage?{query}&format=csv"));
    assert!(none.is_none(), "the default CSV is not paged");
    let rows: Vec<&str> = all.lines().collect();
    let (page, link) = csv(&format!("/coverage?{query}&format=csv&limit=10&offset=5"));
    let got: Vec<&str> = page.lines().collect();
    assert_eq!(got[0], rows[0], "header");
    assert_eq!(&got[1..], &rows[6..16]);
    let link = link.expect("a Link header");
    assert!(
        link.contains("rel=\"next\"") && link.contains("offset=15") && link.contains("format=csv"),
        "{link}"
    );
    assert!(
        link.contains("rel=\"prev\"") && link.contains("offset=0"),
        "{link}"
    );
}

#[test]
fn bad_paging_parameters_are_refused() {
    let (_dir, server) = demo();
    for (path, status, code, field) in [
        (
            "/coverage?circle=health&limit=0",
            422,
            "out_of_range",
            "limit",
        ),
        (
            "/coverage?circle=health&limit=ten",
            400,
            "not_a_number",
            "limit",
        ),
        (
            "/coverage?circle=health&offset=-1",
            400,
            "not_a_number",
            "offset",
        ),
        (
            "/coverage?circle=health&summary_only=maybe",
            400,
            "not_a_boolean",
            "summary_only",
        ),
        (
            "/coverage?circle=health&summary_only=true&limit=5",
            422,
            "conflicting_parameters",
            "limit",
        ),
        (
            "/coverage?circle=health&summary_only=true&offset=5",
            422,
            "conflicting_parameters",
            "offset",
        ),
        (
            "/coverage?circle=health&summary_only=true&format=csv",
            422,
            "conflicting_parameters",
            "summary_only",
        ),
        (
            "/coverage?circle=health&page=2",
            400,
            "unknown_parameter",
            "page",
        ),
    ] {
        let (got, body) = server.get(path);
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["error"], code, "{path}: {body}");
        assert_eq!(body["field"], field, "{path}: {body}");
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
    // The OpenAPI document describes the new parameters.
    let (status, api) = server.get("/api");
    assert_eq!(status, 200);
    let params = api["paths"]["/coverage"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for name in ["limit", "offset", "summary_only"] {
        assert!(names.contains(&name), "{names:?}");
    }
}

/// Reports are cached with the walk they read; a grid edit keeps the walk but must show in the
/// next report's per-grid breakdown (the cache of reports is not carried to the new snapshot).
#[test]
fn a_grid_rename_shows_in_the_next_report() {
    let (_dir, server) = demo();
    let path = "/coverage?circle=health&summary_only=true";
    let before = ok(&server, path);
    // Asked twice: the second answer comes from the cache and is the same.
    assert_eq!(ok(&server, path), before);
    let row = before["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["grid_id"].is_i64())
        .expect("the demo's buildings lie in grids")
        .clone();
    let id = row["grid_id"].as_i64().unwrap();
    let item = format!("/collections/grids/items/{id}");
    let grid = ok(&server, &item);
    let p = &grid["properties"];
    let body = serde_json::json!({ "type": "Feature", "geometry": grid["geometry"], "properties": {
        "code": p["code"], "name": "改名后的网格", "community_id": p["community_id"] } });
    let (status, answer) = server.send("PUT", &item, body.to_string());
    assert_eq!(status, 200, "{answer}");
    let after = ok(&server, path);
    let renamed = after["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["grid_id"] == id)
        .expect("the grid is still in the breakdown");
    assert_eq!(renamed["name"], "改名后的网格");
    assert_ne!(row["name"], renamed["name"]);
    // Same buildings, same facilities: the same totals.
    assert_eq!(after["summary"], before["summary"]);
}
