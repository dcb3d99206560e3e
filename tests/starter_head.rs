//! The bundled model's starter tag head: compiled in, with a definition per label and the width
//! of the bundled encoder's clip embedding; active by default for `earmark predict`, `earmark
//! scan` (so `earmark export` shows its tags in a fresh library, with no download), and not
//! applied to another model or when the user turned tags off.
//!
//! The head is retrained from time to time, so the tests check that labels of its vocabulary
//! appear, not which ones.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/offline.rs"]
mod offline;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use earmark::model::bundled::{
    bundled_bytes, definition, starter_definitions, starter_head_bytes, starter_labels,
};
use earmark::tags::Head;
use offline::Offline;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The four small sounds of `tests/fixtures/starter` (see its README).
fn sounds() -> Vec<PathBuf> {
    ["kick", "hihat", "note", "speech"]
        .iter()
        .map(|n| fixtures().join(format!("starter/{n}.wav")))
        .collect()
}

#[test]
fn the_compiled_in_head_loads_defines_each_label_and_fits_the_bundled_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let head_path = dir.path().join("earmark-default-tags.safetensors");
    std::fs::write(&head_path, starter_head_bytes()).unwrap();
    let head = Head::load(&head_path).unwrap();
    assert!(matches!(head, Head::MultiLabel(_)), "a multi-label head");
    let labels = starter_labels();
    assert!(labels.len() >= 40, "{} labels", labels.len());
    assert_eq!(head.classes(), labels.len());
    for label in &labels {
        let d = definition(label).unwrap_or_else(|| panic!("`{label}` has no definition"));
        assert!(d.split_whitespace().count() >= 3, "{label}: {d}");
    }
    // Every definition names a label of the head, once.
    let defined: std::collections::BTreeSet<&str> =
        starter_definitions().iter().map(|(l, _, _)| *l).collect();
    assert_eq!(defined.len(), starter_definitions().len());
    assert!(defined.iter().all(|l| labels.contains(l)));

    let model = dir.path().join("earmark-default.safetensors");
    std::fs::write(&model, bundled_bytes()).unwrap();
    let file = earmark::model::WeightFile::open(&model).unwrap();
    let cfg = earmark::model::load::resolve_config(&file).unwrap();
    assert_eq!(
        head.inputs(),
        cfg.concat_dim(),
        "the clip embedding's width"
    );
}

#[test]
fn predict_with_no_other_argument_uses_the_starter_head() {
    let fresh = Offline::new();
    let files = sounds();
    let (ok, out, err) = fresh.earmark(&[
        OsStr::new("predict"),
        files[0].as_os_str(),
        files[3].as_os_str(),
    ]);
    assert!(ok, "{err}");
    let labels = starter_labels();
    // Per file: its path, then its five best labels with their scores (sigmoid scores).
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2 * 6, "{out}");
    for (i, file) in [&files[0], &files[3]].iter().enumerate() {
        assert_eq!(lines[i * 6], format!("{}:", file.display()));
        for line in &lines[i * 6 + 1..i * 6 + 6] {
            let (label, score) = line.trim().split_once(" (score ").expect(line);
            assert!(labels.contains(&label), "{line}");
            let score: f32 = score.trim_end_matches(')').parse().unwrap();
            assert!((0.0..=1.0).contains(&score), "{line}");
        }
    }
    // The head was written beside the bundled model in the data folder.
    let heads = fresh.data.join("models/heads/earmark-default");
    assert!(heads.join("earmark-default-tags.safetensors").is_file());
    assert!(heads.join("earmark-default-tags.vocab.txt").is_file());

    // One file: the lines alone.
    let (ok, out, err) = fresh.earmark(&[OsStr::new("predict"), files[1].as_os_str()]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 5, "{out}");
    assert!(out.lines().all(|l| l.contains("(score ")), "{out}");
}

#[test]
fn predict_json_gives_each_file_its_labels_best_first() {
    let fresh = Offline::new();
    let files = sounds();
    let mut args: Vec<&OsStr> = vec![OsStr::new("predict"), OsStr::new("--json")];
    args.extend([OsStr::new("--top"), OsStr::new("3")]);
    args.extend(files.iter().map(|f| f.as_os_str()));
    let (ok, out, err) = fresh.earmark(&args);
    assert!(ok, "{err}");
    let labels = starter_labels();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), files.len(), "{out}");
    for (line, file) in lines.iter().zip(&files) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["path"].as_str(), file.to_str());
        assert_eq!(v["head"], "earmark-default-tags");
        let got = v["labels"].as_array().unwrap();
        assert_eq!(got.len(), 3, "{line}");
        let scores: Vec<f64> = got.iter().map(|l| l["score"].as_f64().unwrap()).collect();
        assert!(
            scores.windows(2).all(|w| w[0] >= w[1]),
            "best first: {line}"
        );
        assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)), "{line}");
        for l in got {
            assert!(labels.contains(&l["label"].as_str().unwrap()), "{line}");
        }
    }
}

/// Scans `root` into `lib` (no `--model`: a new library uses the bundled model) and returns
/// the exported CSV's rows as (path, tags).
fn scan_and_export(
    fresh: &Offline,
    root: &Path,
    lib: &Path,
    extra: &[&str],
) -> Vec<(String, String)> {
    let mut args = vec![
        "scan",
        root.to_str().unwrap(),
        "--library",
        lib.to_str().unwrap(),
    ];
    args.extend(extra);
    args.push("--quiet");
    let (ok, out, err) = fresh.earmark(&args);
    assert!(ok, "{out}{err}");
    let (ok, csv_text, err) = fresh.earmark(&[
        "export",
        "--format",
        "csv",
        "--library",
        lib.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (path, tags) = (col("path"), col("tags"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[path].to_string(), r[tags].to_string())
        })
        .collect()
}

/// A folder with copies of the four sounds.
fn sound_folder(dir: &Path) -> PathBuf {
    let root = dir.join("sounds");
    std::fs::create_dir_all(&root).unwrap();
    for f in sounds() {
        std::fs::copy(&f, root.join(f.file_name().unwrap())).unwrap();
    }
    root
}

#[test]
fn a_fresh_library_exports_starter_tags_after_a_scan() {
    let fresh = Offline::new();
    let dir = tempfile::tempdir().unwrap();
    let root = sound_folder(dir.path());
    let rows = scan_and_export(&fresh, &root, &dir.path().join("lib.sqlite"), &[]);
    assert_eq!(rows.len(), 4, "{rows:?}");
    let labels = starter_labels();
    let tagged: Vec<&(String, String)> = rows.iter().filter(|(_, t)| !t.is_empty()).collect();
    assert!(!tagged.is_empty(), "no file got a starter tag: {rows:?}");
    for (_, tags) in &tagged {
        for tag in tags.split(';') {
            let (label, _) = tag.split_once(':').expect(tag);
            assert!(labels.contains(&label), "{tag} is not a starter label");
        }
    }
}

#[test]
fn another_model_or_tags_turned_off_get_no_starter_tags() {
    let fresh = Offline::new();
    let dir = tempfile::tempdir().unwrap();
    let root = sound_folder(dir.path());
    let tiny = fixtures().join("matpac/tiny.safetensors");
    // Another model: the starter head does not fit it, so no tags, and predict says why.
    let rows = scan_and_export(
        &fresh,
        &root,
        &dir.path().join("tiny.sqlite"),
        &["--model", tiny.to_str().unwrap()],
    );
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|(_, t)| t.is_empty()), "{rows:?}");
    let (ok, _, err) = fresh.earmark(&[
        OsStr::new("predict"),
        sounds()[0].as_os_str(),
        OsStr::new("--model"),
        tiny.as_os_str(),
    ]);
    assert!(
        !ok && err.contains("bundled model") && err.contains("--head"),
        "{err}"
    );

    // Tags turned off (Models › No tag head): the bundled model tags nothing either.
    std::fs::create_dir_all(&fresh.config).unwrap();
    std::fs::write(fresh.config.join("settings.toml"), "no_head = true\n").unwrap();
    let rows = scan_and_export(&fresh, &root, &dir.path().join("off.sqlite"), &[]);
    assert!(rows.iter().all(|(_, t)| t.is_empty()), "{rows:?}");
    let (ok, _, err) = fresh.earmark(&[OsStr::new("predict"), sounds()[0].as_os_str()]);
    assert!(!ok && err.contains("off"), "{err}");
}
