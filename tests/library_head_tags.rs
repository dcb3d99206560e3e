//! Heads on the library through `earmark scan --head`: the probe head tags files from the
//! scan's embeddings, the AudioSet head through its own encoder pass; the stored clip tags equal
//! the official code's probabilities for the fixture signals, and every timeline cell equals the
//! head's probability for that segment computed directly.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::ffi::OsStr;
use std::path::Path;

use candle_core::Device;
use common::{fixture, load};
use earmark::library::Library;
use earmark::library::analyse::{Budget, prepare, segment_means};
use earmark::model::{EmbedOptions, Encoder, embed};
use earmark::tags::{Head, Vocabulary, top_k};
use synth::{canon, earmark, tiny_model};

const PROB_TOL: f32 = 1e-4;
const SIGNALS: [&str; 2] = ["sig_7p5s", "sig_13s"];

fn library_of_signals(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("sounds");
    std::fs::create_dir_all(&root).unwrap();
    for sig in SIGNALS {
        std::fs::copy(
            fixture(&format!("{sig}.wav")),
            root.join(format!("{sig}.wav")),
        )
        .unwrap();
    }
    root
}

fn scan(root: &Path, lib: &Path, head: Option<(&str, &str)>) -> serde_json::Value {
    let (h, l) = head.map_or((None, None), |(h, l)| (Some(fixture(h)), Some(fixture(l))));
    let model = tiny_model();
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("scan"),
        root.as_os_str(),
        OsStr::new("--library"),
        lib.as_os_str(),
        OsStr::new("--model"),
        model.as_os_str(),
        OsStr::new("--full"),
        // Compared with f32 encoder runs below at 1e-4.
        OsStr::new("--precision"),
        OsStr::new("f32"),
        OsStr::new("--json"),
        OsStr::new("--threshold"),
        OsStr::new("0"),
    ];
    if let Some(h) = &h {
        args.extend([OsStr::new("--head"), h.as_os_str()]);
    }
    // An empty vocabulary name: the head's numbered classes.
    if let Some(l) = l.as_ref().filter(|l| l.is_file()) {
        args.extend([OsStr::new("--labels"), l.as_os_str()]);
    }
    let out = earmark(&args);
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn stored_tags(lib: &Library, path: &str, source: &str) -> Vec<(String, f32)> {
    let (id, _) = lib.file_by_path(path).unwrap().unwrap();
    lib.tags_of_file(id)
        .unwrap()
        .into_iter()
        .filter(|(s, _, _)| s == source)
        .map(|(_, l, p)| (l, p as f32))
        .collect()
}

fn assert_tags(what: &str, got: &[(String, f32)], probs: &[f32], vocab: &Vocabulary) {
    let want: Vec<(String, f32)> = top_k(probs, 5)
        .into_iter()
        .map(|(i, p)| (vocab.labels[i].clone(), p))
        .collect();
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for ((gl, gp), (wl, wp)) in got.iter().zip(&want) {
        assert_eq!(gl, wl, "{what}");
        assert!((gp - wp).abs() <= PROB_TOL, "{what}: {gl} {gp} vs {wp}");
    }
}

/// Checks every cell of the stored timeline against the head's probability of that segment's
/// mean embedding, computed here from a direct encoder run with `opts`.
fn assert_timeline(lib: &Library, path: &str, source: &str, enc: &Encoder, head: &Head) {
    let (id, _) = lib.file_by_path(path).unwrap().unwrap();
    let (_, timeline) = lib.segment_tags(id, Some(source)).unwrap().unwrap();
    let cfg = enc.config();
    let p = prepare(Path::new(path), Budget::Full, cfg.n_t, cfg.patch_size).unwrap();
    let opts = EmbedOptions {
        pool_time: false,
        ..head.embed_options()
    };
    let segments = segment_means(&embed(enc, &p.mel, &opts).unwrap(), &p.column_times);
    assert_eq!(timeline.count(), segments.len(), "{source} {path}");
    assert!(
        timeline.count() >= 7,
        "a 7.5 s file has ≥ 7 one-second segments"
    );
    assert!(!timeline.labels.is_empty());
    let vocab_index = |label: &str| -> usize {
        let v = match head {
            Head::AudioSet { .. } => Vocabulary::load(&fixture("audioset_test_mapping.csv")),
            Head::Probe(_) | Head::MultiLabel(_) => {
                Vocabulary::load(&fixture("probe_tiny_labels.txt"))
            }
        };
        v.unwrap().labels.iter().position(|l| l == label).unwrap()
    };
    for (row, label) in timeline.labels.iter().enumerate() {
        let class = vocab_index(label);
        for (i, &got) in timeline.row(row).iter().enumerate() {
            let want = head.probabilities(segments.vector(i)).unwrap()[class];
            assert!(
                (got - want).abs() <= PROB_TOL,
                "{source} {path} {label} segment {i}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn the_audioset_head_runs_its_own_encoder_pass_and_matches_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let root = library_of_signals(dir.path());
    let lib_path = dir.path().join("lib.sqlite");
    let report = scan(
        &root,
        &lib_path,
        Some(("tiny_as.safetensors", "audioset_test_mapping.csv")),
    );
    assert_eq!(report["tagged"][0], "2 files tagged by tiny_as", "{report}");
    let lib = Library::open(&lib_path).unwrap();
    let vocab = Vocabulary::load(&fixture("audioset_test_mapping.csv")).unwrap();
    let enc = Encoder::load(&fixture("tiny_as.safetensors"), &Device::Cpu).unwrap();
    let head = Head::load(&fixture("tiny_as.safetensors")).unwrap();
    for sig in SIGNALS {
        let path = canon(&root.join(format!("{sig}.wav")));
        // The official code's probabilities for this signal (spec §4.5).
        let reference = load("as_head_case.safetensors", &format!("{sig}.probs")).data;
        assert_tags(
            sig,
            &stored_tags(&lib, &path, "tiny_as"),
            &reference,
            &vocab,
        );
        assert_timeline(&lib, &path, "tiny_as", &enc, &head);
    }
    // A second scan finds nothing new to tag.
    let again = scan(
        &root,
        &lib_path,
        Some(("tiny_as.safetensors", "audioset_test_mapping.csv")),
    );
    assert_eq!(again["tagged"][0], "0 files tagged by tiny_as", "{again}");
}

#[test]
fn a_probe_head_tags_during_the_scan_and_later_from_stored_embeddings() {
    let dir = tempfile::tempdir().unwrap();
    let root = library_of_signals(dir.path());
    let vocab = Vocabulary::load(&fixture("probe_tiny_labels.txt")).unwrap();
    let enc = Encoder::load(&tiny_model(), &Device::Cpu).unwrap();
    let head = Head::load(&fixture("probe_tiny.pth")).unwrap();
    let probe = Some(("probe_tiny.pth", "probe_tiny_labels.txt"));
    let path7 = canon(&root.join("sig_7p5s.wav"));

    // Tagged while scanning.
    let during = dir.path().join("during.sqlite");
    let report = scan(&root, &during, probe);
    assert_eq!(report["analysed"].as_array().unwrap().len(), 2);
    let lib = Library::open(&during).unwrap();
    let reference = load("probe_tiny.safetensors", "probs").data;
    assert_tags(
        "sig_7p5s",
        &stored_tags(&lib, &path7, "probe_tiny"),
        &reference,
        &vocab,
    );
    for sig in SIGNALS {
        assert_timeline(
            &lib,
            &canon(&root.join(format!("{sig}.wav"))),
            "probe_tiny",
            &enc,
            &head,
        );
    }

    // Scanned first, tagged by a later scan that only runs the head on stored embeddings.
    let later = dir.path().join("later.sqlite");
    scan(&root, &later, None);
    let lib = Library::open(&later).unwrap();
    assert!(stored_tags(&lib, &path7, "probe_tiny").is_empty());
    let report = scan(&root, &later, probe);
    assert!(
        report["analysed"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert_eq!(report["tagged"][0], "2 files tagged by probe_tiny");
    // Stored clip embeddings are f16: the probabilities agree to f16 precision.
    let got = stored_tags(&lib, &path7, "probe_tiny");
    assert_eq!(got[0].0, "class_6");
    assert!((got[0].1 - reference[6]).abs() < 2e-3, "{got:?}");
    let (id, _) = lib.file_by_path(&path7).unwrap().unwrap();
    let (_, t) = lib.segment_tags(id, Some("probe_tiny")).unwrap().unwrap();
    assert!(t.count() >= 7, "tiny segments are stored at full width");

    // A changed file loses its tags until it is analysed and tagged again.
    std::fs::copy(fixture("sig_13s.wav"), root.join("sig_7p5s.wav")).unwrap();
    scan(&root, &later, None);
    let lib = Library::open(&later).unwrap();
    assert!(stored_tags(&lib, &path7, "probe_tiny").is_empty());
    assert!(lib.segment_tags(id, Some("probe_tiny")).unwrap().is_none());
}

#[test]
fn a_head_that_does_not_fit_is_reported_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = library_of_signals(dir.path());
    let lib_path = dir.path().join("lib.sqlite");
    let report = scan(&root, &lib_path, Some(("probe_3840.pth", "")));
    assert_eq!(report["analysed"].as_array().unwrap().len(), 2);
    assert_eq!(
        report["tagged"][0],
        "probe_3840 not run: it takes 3840-d embeddings, the model gives 320-d"
    );
    std::fs::write(dir.path().join("broken.pth"), b"not a head").unwrap();
    let broken = dir.path().join("broken.pth");
    let out = earmark(&[
        OsStr::new("scan"),
        root.as_os_str(),
        OsStr::new("--library"),
        lib_path.as_os_str(),
        OsStr::new("--model"),
        tiny_model().as_os_str(),
        OsStr::new("--head"),
        broken.as_os_str(),
        OsStr::new("--json"),
    ]);
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let line = report["tagged"][0].as_str().unwrap();
    assert!(line.starts_with("broken not used: "), "{line}");
    let lib = Library::open(&lib_path).unwrap();
    assert_eq!(lib.status().unwrap().indexed, 2);
}
