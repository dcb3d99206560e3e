//! The library end to end through the CLI: a generated library of every format with 20 broken
//! files is scanned; every file ends indexed or listed with its error; after changing 3 files,
//! deleting 2 and moving 1, a rescan touches exactly those; status and export agree.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use common::WavFormat;
use earmark::library::{FileStatus, Library};
use synth::{canon, earmark, generate_library, sound, tiny_model, write_broken, write_stereo};

fn scan_json(lib: &Path, root: &Path) -> serde_json::Value {
    let out = earmark(&[
        OsStr::new("scan"),
        root.as_os_str(),
        OsStr::new("--library"),
        lib.as_os_str(),
        OsStr::new("--model"),
        tiny_model().as_os_str(),
        OsStr::new("--json"),
    ]);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn strings(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn scan_indexes_everything_and_rescan_touches_only_changes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("music");
    let good = generate_library(&root, 236, 8);
    let pick = |ext: &str| {
        good.iter()
            .find(|p| p.extension() == Some(OsStr::new(ext)))
            .unwrap()
    };
    let broken = write_broken(&root, pick("flac"), pick("mp3"), pick("ogg"));
    // A hidden folder is skipped by default; a symlink loop must not hang the walk.
    std::fs::create_dir_all(root.join(".hidden")).unwrap();
    write_stereo(
        &root.join(".hidden/secret.wav"),
        &sound(0, 1, 0.5, 44_100),
        WavFormat::S16,
    );
    std::os::unix::fs::symlink(&root, root.join("wav/loop")).unwrap();
    assert_eq!(good.len() + broken.len(), 320);

    let lib_path = dir.path().join("lib.sqlite");
    let report = scan_json(&lib_path, &root);
    let lib = Library::open(&lib_path).unwrap();
    let status = lib.status().unwrap();
    assert_eq!(
        status.files, 320,
        "every generated file has a row (hidden one skipped)"
    );
    assert_eq!(status.pending, 0);
    let errors: BTreeSet<String> = lib.errors().unwrap().into_iter().map(|(p, _)| p).collect();
    let want_errors: BTreeSet<String> = broken.iter().map(|p| canon(p)).collect();
    assert_eq!(errors, want_errors, "exactly the broken files are errors");
    for (path, reason) in lib.errors().unwrap() {
        assert!(!reason.trim().is_empty(), "{path}: error without a reason");
    }
    assert_eq!(status.indexed, 300);
    assert_eq!(report["analysed"].as_array().unwrap().len(), 300);
    assert_eq!(report["failed"].as_array().unwrap().len(), 20);
    let rows = lib.export_rows().unwrap();
    for p in &good {
        let row = rows.iter().find(|r| r.path == canon(p)).unwrap();
        assert_eq!(row.status, "indexed", "{}", row.path);
        assert!(
            row.duration_s.unwrap() > 0.4,
            "{}: {:?}",
            row.path,
            row.duration_s
        );
        assert!(
            row.codec.is_some() && matches!(row.sample_rate, Some(44_100 | 48_000)),
            "{row:?}"
        );
    }
    drop(lib);

    // Change 3 files (new content), delete 2, move 1 to another folder.
    let changed: Vec<&PathBuf> = vec![&good[3], &good[50], &good[290]];
    for (i, p) in changed.iter().enumerate() {
        let x = sound(4, 500 + i as u64, 1.3, 44_100);
        if p.extension() == Some(OsStr::new("wav")) {
            write_stereo(p, &x, WavFormat::S16);
        } else {
            let tmp = dir.path().join("tmp.wav");
            write_stereo(&tmp, &x, WavFormat::S16);
            let args: &[&str] = synth::FFMPEG_FORMATS
                .iter()
                .find(|(e, _)| p.extension() == Some(OsStr::new(e)))
                .unwrap()
                .1;
            common::ffmpeg(&tmp, p, args);
        }
    }
    let deleted = [good[10].clone(), good[200].clone()];
    let deleted_canon: BTreeSet<String> = deleted.iter().map(|p| canon(p)).collect();
    for p in &deleted {
        std::fs::remove_file(p).unwrap();
    }
    let from = good[120].clone();
    let from_canon = canon(&from);
    std::fs::create_dir_all(root.join("moved")).unwrap();
    let to = root.join("moved/renamed.wav");
    std::fs::rename(&from, &to).unwrap();
    let lib = Library::open(&lib_path).unwrap();
    let moved_id = lib.file_by_path(&from_canon).unwrap().unwrap().0;
    let moved_model = lib.latest_model().unwrap().unwrap().0;
    let moved_vec = lib.clip_vector(moved_id, moved_model).unwrap().unwrap();
    drop(lib);

    let report = scan_json(&lib_path, &root);
    let r = &report["roots"][0];
    let want_changed: BTreeSet<String> = changed.iter().map(|p| canon(p)).collect();
    assert_eq!(strings(&r["changed"]), want_changed);
    assert_eq!(strings(&r["removed"]), deleted_canon);
    assert_eq!(r["moved"], serde_json::json!([[from_canon, canon(&to)]]));
    assert!(strings(&r["new"]).is_empty());
    assert_eq!(
        strings(&report["analysed"]),
        want_changed,
        "only changed files re-analysed"
    );
    assert_eq!(r["unchanged"], 320 - 3 - 2 - 1);

    let lib = Library::open(&lib_path).unwrap();
    let (id_after, _) = lib.file_by_path(&canon(&to)).unwrap().unwrap();
    assert_eq!(id_after, moved_id, "a move keeps the row");
    assert_eq!(
        lib.clip_vector(id_after, moved_model).unwrap().unwrap(),
        moved_vec
    );
    assert_eq!(lib.status().unwrap().files, 318);
    let known = lib.all_known_files().unwrap();
    assert!(known.iter().all(|k| k.status != FileStatus::Pending));

    // A third scan with nothing changed analyses nothing.
    let report = scan_json(&lib_path, &root);
    assert!(report["analysed"].as_array().unwrap().is_empty());
    assert_eq!(report["roots"][0]["unchanged"], 318);

    // The CLI views agree with the index.
    let lib_arg = ["--library", lib_path.to_str().unwrap()];
    let errs = earmark(&[
        OsStr::new("errors"),
        OsStr::new(lib_arg[0]),
        OsStr::new(lib_arg[1]),
    ]);
    assert_eq!(errs.lines().filter(|l| !l.starts_with(' ')).count(), 20);
    let csv = earmark(&[
        OsStr::new("export"),
        OsStr::new("--format"),
        OsStr::new("csv"),
        OsStr::new(lib_arg[0]),
        OsStr::new(lib_arg[1]),
    ]);
    assert_eq!(csv.lines().count(), 1 + 318);
    let json = earmark(&[
        OsStr::new("export"),
        OsStr::new("--format"),
        OsStr::new("json"),
        OsStr::new(lib_arg[0]),
        OsStr::new(lib_arg[1]),
    ]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 318);
}
