//! SQL is built only from string literals with sqlx parameters (`?1`, `.bind(…)`): this test
//! reads every source file that uses sqlx and fails on a query whose SQL is built at run time —
//! `format!`, `concat!`, `+`, `String`, `.to_string()`, `push_str`, `join` in the SQL argument of
//! `query`, `query_as`, `query_scalar`, `raw_sql`, `QueryBuilder`…, or in the `let` that binds a
//! variable passed as SQL — and on any escape hatch (`AssertSqlSafe`, `into_sql_str` fed by
//! `format!`). sqlx 0.9 already refuses a `String` in `query()`; this keeps the escape hatches
//! shut.

use std::path::{Path, PathBuf};

const CALLS: [&str; 9] = [
    "query",
    "query_as",
    "query_scalar",
    "query_with",
    "query_as_with",
    "query_scalar_with",
    "raw_sql",
    "QueryBuilder::new",
    "AssertSqlSafe",
];

const BUILDERS: [&str; 9] = [
    "format!",
    "format_args!",
    "concat!",
    "String",
    "to_string",
    "to_owned",
    "push_str",
    ".join(",
    " + ",
];

/// The source with the contents of string literals and comments blanked (so SQL text cannot
/// look like code), same length and line breaks.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                out[i] = b' ';
                i += 1;
            }
        } else if b[i] == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            j += 1;
            while j < b.len() && !b[j..].starts_with(&close) {
                if b[j] != b'\n' {
                    out[j] = b' ';
                }
                j += 1;
            }
            i = j + close.len();
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                if b[j] == b'\\' {
                    out[j] = b' ';
                    j += 1;
                }
                if j < b.len() && b[j] != b'\n' {
                    out[j] = b' ';
                }
                j += 1;
            }
            i = j + 1;
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            out[i + 1] = b' ';
            i += 3;
        } else {
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The text between the parenthesis at `open` and its match.
fn argument(code: &str, open: usize) -> &str {
    let mut depth = 0;
    for (k, c) in code[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &code[open + 1..open + k];
                }
            }
            _ => {}
        }
    }
    &code[open + 1..]
}

/// The first top-level argument of an argument list.
fn first_argument(args: &str) -> &str {
    let mut depth = 0i32;
    for (k, c) in args.char_indices() {
        match c {
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth -= 1,
            ',' if depth == 0 => return args[..k].trim(),
            _ => {}
        }
    }
    args.trim()
}

/// Every SQL argument built at run time in `src`: (line, what).
fn string_built_queries(src: &str) -> Vec<(usize, String)> {
    let code = code_only(src);
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    for call in CALLS {
        let mut from = 0;
        while let Some(pos) = code[from..].find(call) {
            let at = from + pos;
            from = at + call.len();
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                || code[..at].trim_end().ends_with("fn")
            {
                continue;
            }
            // `call(` or `call::<…>(`.
            let rest = &code[from..];
            let open = if rest.starts_with('(') {
                from
            } else if rest.starts_with("::<") {
                let mut depth = 0;
                let Some(end) = rest.char_indices().find_map(|(k, c)| {
                    match c {
                        '<' => depth += 1,
                        '>' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(k);
                            }
                        }
                        _ => {}
                    }
                    None
                }) else {
                    continue;
                };
                if !rest[end + 1..].starts_with('(') {
                    continue;
                }
                from + end + 1
            } else {
                continue;
            };
            let arg = argument(&code, open);
            let first = first_argument(arg);
            let mut suspects: Vec<&str> = BUILDERS
                .iter()
                .copied()
                .filter(|b| first.contains(b))
                .collect();
            // A variable: look at the `let` that binds it.
            if !first.is_empty()
                && first
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '&')
            {
                let name = first.trim_start_matches('&');
                let binding = format!("let {name} =");
                if let Some(l) = code[..at].rfind(&binding) {
                    let end = code[l..].find(';').map_or(code.len(), |e| l + e);
                    suspects.extend(
                        BUILDERS
                            .iter()
                            .copied()
                            .filter(|b| code[l..end].contains(b)),
                    );
                }
            }
            if call == "AssertSqlSafe" {
                suspects.push("AssertSqlSafe");
            }
            if !suspects.is_empty() {
                found.push((
                    line_of(at),
                    format!("{call}({first}…) built with {suspects:?}"),
                ));
            }
        }
    }
    for (at, _) in code.match_indices("into_sql_str") {
        let start = code[..at].rmatch_indices('\n').nth(5).map_or(0, |(i, _)| i);
        if code[start..at].contains("format!") {
            found.push((line_of(at), "into_sql_str fed by format!".into()));
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn sql_is_never_built_from_strings() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut checked = 0;
    let mut problems = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        if !src.contains("sqlx") {
            continue;
        }
        checked += 1;
        for (line, what) in string_built_queries(&src) {
            problems.push(format!("{}:{line}: {what}", f.display()));
        }
    }
    assert!(checked >= 5, "only {checked} files use sqlx?");
    assert!(
        problems.is_empty(),
        "string-built SQL:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_catches_string_built_sql() {
    let bad = [
        r#"sqlx::query(&format!("SELECT * FROM {table}")).fetch_all(p)"#,
        r#"let sql = format!("DELETE FROM t WHERE id = {id}"); sqlx::query(&sql).execute(p)"#,
        r#"sqlx::query_scalar(&("SELECT ".to_string() + col))"#,
        r#"query_as::<_, (i64,)>(&sql_text.to_owned())"#,
        r#"sqlx::query(AssertSqlSafe(text))"#,
        r#"let mut qb = QueryBuilder::new(format!("SELECT {x}"));"#,
        r#"sqlx::raw_sql(&[a, b].join(";"))"#,
        r#"let s = format!("x{y}");
           Migration::new(1, d, t, s.into_sql_str(), false)"#,
    ];
    for b in bad {
        assert!(!string_built_queries(b).is_empty(), "missed: {b}");
    }
    let good = [
        r#"sqlx::query("SELECT format!('x') FROM t WHERE a = ?1").bind(format!("{x}"))"#,
        r#"sqlx::query("INSERT INTO t (a) VALUES (?1)").bind(name.to_string())"#,
        r#"let sql = match layer { A => "SELECT 1", B => "SELECT 2" }; sqlx::query(sql)"#,
        r##"sqlx::query(r#"SELECT "a" + 1, String FROM t"#)"##,
        "fn query(x: &str) {}",
        "// sqlx::query(&format!(\"{t}\")) in a comment",
    ];
    for g in good {
        assert!(
            string_built_queries(g).is_empty(),
            "false alarm: {g}: {:?}",
            string_built_queries(g)
        );
    }
}
