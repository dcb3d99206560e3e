//! The crate's layering, checked on its source text (no build of anything else):
//! - imports between the files of `src/` point one way: no file imports, directly or through
//!   others, a file that imports it back;
//! - between top-level modules they point down the [`LAYERS`]: `gpu` may import `model`, never
//!   the reverse, and nothing below the window imports `gui` or `cli`;
//! - only `src/library/` speaks SQL: no other file names `rusqlite`, writes a statement
//!   (`SELECT … FROM`, `INSERT … INTO`, `UPDATE … SET`, `DELETE FROM`) or calls a statement
//!   method (`.execute(`, `.prepare(`, `.query_row(`, …).
//!
//! Imports are read the way `/work/shared/tools/modcycles.py` reads them: every `use crate::…`,
//! `use super::…`, `use self::…` (braces expanded) and every `crate::…`/`super::…`/`self::…`
//! path in the code, each resolved to the deepest file of `src/` it names. Comments and doc
//! lines are ignored, and so is a file's `#[cfg(test)] mod tests` and what follows it. A
//! module's own `mod.rs` naming its children (its `mod` declarations, its re-exports) is not a
//! dependency on them.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "architecture/source.rs"]
mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use source::{Crate, Module, cycles, sql_findings};

/// Files allowed to be part of an import cycle (an entry ending in `*` is a prefix). Empty: no
/// file of the crate is in one. The test fails when an entry no longer matches a file in a
/// cycle, so this list only shrinks.
const ALLOWED_CYCLE_FILES: &[&str] = &[];

/// Files outside `src/library/` allowed to contain SQL or name `rusqlite` while their storage
/// moves behind the library (paths under `src/`). The test fails when an entry no longer has
/// any, so this list only shrinks; the goal is an empty list.
const ALLOWED_SQL_FILES: &[&str] = &[];

/// Top-level modules from the bottom up: a module may import only modules of lower layers.
const LAYERS: &[&[&str]] = &[
    &["error"],
    &[
        "atomic_file",
        "calendar",
        "jobs",
        "stderr_filter",
        "wording",
    ],
    &["config", "audio", "dsp"],
    &["model"],
    &["gpu"],
    &["engine"],
    &["tags"],
    &["library"],
    &[
        "personal",
        "search",
        "train",
        "writeback",
        "catalog",
        "live",
    ],
    &["eval"],
    &["gui", "cli"],
];

fn name(m: &[String]) -> String {
    m.join("/")
}

/// Each cycle with the imports that close it, for the failure message.
fn describe(cycles: &[Vec<Module>], edges: &BTreeMap<Module, BTreeSet<Module>>) -> String {
    let mut s = String::new();
    for c in cycles {
        let names: Vec<String> = c.iter().map(|m| name(m)).collect();
        s.push_str(&format!(
            "cycle of {} files: {}\n",
            c.len(),
            names.join(", ")
        ));
        for v in c {
            for w in edges[v].iter().filter(|w| c.contains(w)) {
                s.push_str(&format!("    {} -> {}\n", name(v), name(w)));
            }
        }
    }
    s
}

fn allowed(patterns: &[&str], file: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => file.starts_with(prefix),
        None => file == *p,
    })
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_import_cycle_between_files() {
    let krate = Crate::read(&src_dir());
    let edges = krate.imports();
    let found = cycles(&edges);
    let in_cycle: BTreeSet<String> = found.iter().flatten().map(|m| name(m)).collect();
    let unexpected: Vec<&String> = in_cycle
        .iter()
        .filter(|f| !allowed(ALLOWED_CYCLE_FILES, f))
        .collect();
    let stale: Vec<&&str> = ALLOWED_CYCLE_FILES
        .iter()
        .filter(|p| !in_cycle.iter().any(|f| allowed(&[p], f)))
        .collect();
    let report = describe(&found, &edges);
    println!("{report}");
    assert!(
        unexpected.is_empty(),
        "files in an import cycle: {unexpected:?}\n{report}"
    );
    assert!(
        stale.is_empty(),
        "ALLOWED_CYCLE_FILES entries no longer in a cycle (remove them): {stale:?}\n{report}"
    );
}

#[test]
fn top_level_modules_import_only_lower_layers() {
    let krate = Crate::read(&src_dir());
    let layer_of = |m: &str| LAYERS.iter().position(|l| l.contains(&m));
    let mut wrong = Vec::new();
    for (from, targets) in krate.imports() {
        let Some(top) = from.first() else { continue };
        for to in targets.iter().filter(|t| t[0] != *top) {
            match (layer_of(top), layer_of(&to[0])) {
                (Some(a), Some(b)) if b < a => {}
                (Some(_), Some(_)) => wrong.push(format!("{} imports {}", name(&from), name(to))),
                _ => wrong.push(format!(
                    "{} imports {}: add its top-level module to LAYERS",
                    name(&from),
                    name(to)
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn only_the_library_speaks_sql() {
    let krate = Crate::read(&src_dir());
    let mut offending = BTreeMap::new();
    for (rel, src) in krate.files.values() {
        if rel.starts_with("library/") {
            continue;
        }
        let found = sql_findings(src);
        if !found.is_empty() {
            offending.insert(rel.clone(), found);
        }
    }
    let report: String = offending
        .iter()
        .map(|(f, why)| format!("{f}:\n    {}\n", why.join("\n    ")))
        .collect();
    println!("{report}");
    let unexpected: Vec<&String> = offending
        .keys()
        .filter(|f| !ALLOWED_SQL_FILES.contains(&f.as_str()))
        .collect();
    let stale: Vec<&&str> = ALLOWED_SQL_FILES
        .iter()
        .filter(|f| !offending.contains_key(**f))
        .collect();
    assert!(
        unexpected.is_empty(),
        "SQL outside src/library/ in {unexpected:?}:\n{report}"
    );
    assert!(
        stale.is_empty(),
        "ALLOWED_SQL_FILES entries without SQL any more (remove them): {stale:?}"
    );
}

// The checks themselves, on made-up sources: they must see what they look for.

fn made_up(files: &[(&str, &str)]) -> Crate {
    Crate::from_sources(
        files
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect(),
    )
}

fn module(s: &str) -> Module {
    s.split('/').map(str::to_string).collect()
}

#[test]
fn the_import_reader_finds_a_cycle_through_use_trees_and_paths() {
    let krate = made_up(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("a/mod.rs", "pub mod x;\npub use x::X;\n"),
        ("a/x.rs", "use crate::{b::{Y, self}, c};\npub struct X;\n"),
        ("b.rs", "pub fn f() { super::c::g(); }\npub struct Y;\n"),
        ("c.rs", "pub fn g() -> crate::a::x::X { crate::a::x::X }\n"),
    ]);
    let edges = krate.imports();
    assert_eq!(
        edges[&module("a/x")],
        BTreeSet::from([module("b"), module("c")])
    );
    assert_eq!(edges[&module("b")], BTreeSet::from([module("c")]));
    assert_eq!(edges[&module("a")], BTreeSet::new(), "own children");
    assert_eq!(
        cycles(&edges),
        [vec![module("a/x"), module("b"), module("c")]]
    );
}

#[test]
fn comments_strings_and_unit_tests_are_not_imports() {
    let krate = made_up(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "a.rs",
            "//! See [`crate::b`].\n/* use crate::b; */\nfn f() -> char { '\"' }\n\
             const S: &str = r#\"\" // \"#; fn g() { crate::b::h() }\n\
             #[cfg(test)]\nmod tests { use crate::b; }\n",
        ),
        (
            "b.rs",
            "/// Calls [`crate::a`].\npub fn h() {}\n#[cfg(test)]\nmod tests { use super::super::a; }\n",
        ),
    ]);
    let edges = krate.imports();
    assert_eq!(
        edges[&module("a")],
        BTreeSet::from([module("b")]),
        "the path after a string"
    );
    assert!(edges[&module("b")].is_empty());
    assert!(cycles(&edges).is_empty());
}

#[test]
fn the_sql_finder_sees_statements_and_calls_but_not_comments() {
    let src = "use rusqlite::params;\n\
               fn f(c: &C) { c.prepare(\"SELECT id, path\n FROM files\")?; }\n\
               fn g() { conn.execute(\"UPDATE files SET x = 1\", []); }\n";
    let found = sql_findings(src);
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("line 1: names rusqlite")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f == "line 2: calls .prepare("),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f == "line 2: SELECT … FROM"),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f == "line 4: UPDATE … SET"),
        "{found:?}"
    );
    let clean = "//! Stored by rusqlite: `SELECT path FROM files`.\n\
                 /// DELETE FROM tags when gone.\nfn prepare(x: u8) {}\nfn h() { prepare(1); }\n\
                 const MSG: &str = \"Select a file from the list\";\n";
    assert_eq!(sql_findings(clean), Vec::<String>::new());
}
