//! A probe of a wide model's width tags files during the scan from their full-width segments
//! scored as they are produced (none kept): on a file of several pieces, its stored clip tags
//! and timeline equal the head's probabilities of the in-memory full-width segment means.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed assertion

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::ffi::OsStr;
use std::path::Path;

use common::{WavFormat, write_wav};
use earmark::engine::Engine;
use earmark::library::Library;
use earmark::library::analyse::{Budget, prepare, segment_means};
use earmark::model::device::DeviceChoice;
use earmark::model::{EmbedOptions, embed};
use earmark::tags::{Head, top_k};
use synth::{canon, earmark};

const CLASSES: usize = 12;
const TOL: f32 = 1e-5;

fn bundled() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/earmark-default.safetensors")
}

/// A probe of `inputs` inputs with weights that make its classes differ over time.
fn write_probe(path: &Path, inputs: usize) {
    let weight: Vec<f32> = (0..CLASSES * inputs)
        .map(|i| ((i as f32 * 0.618).sin()) * 0.2)
        .collect();
    let bias: Vec<f32> = (0..CLASSES).map(|c| c as f32 * 0.01).collect();
    let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let (w, b) = (bytes(&weight), bytes(&bias));
    let views = [
        (
            "probe.weight",
            safetensors::tensor::TensorView::new(
                safetensors::Dtype::F32,
                vec![CLASSES, inputs],
                &w,
            )
            .unwrap(),
        ),
        (
            "probe.bias",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![CLASSES], &b)
                .unwrap(),
        ),
    ];
    safetensors::serialize_to_file(views, None, path).unwrap();
}

#[test]
fn a_wide_models_probe_tags_from_segments_scored_as_they_come() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sounds");
    std::fs::create_dir(&root).unwrap();
    let wav = root.join("long.wav");
    // 110 s: more than one piece of 16 chunks, with a short last chunk.
    let x: Vec<f64> = (0..110 * 16_000 + 3_000)
        .map(|i| {
            let t = f64::from(i) / 16_000.0;
            let f = 120.0 + 40.0 * t + 300.0 * (t / 7.0).sin().abs();
            0.3 * (std::f64::consts::TAU * f * t).sin()
        })
        .collect();
    write_wav(&wav, 1, 16_000, WavFormat::S16, &x);
    let engine = Engine::load(&bundled(), DeviceChoice::Cpu).unwrap();
    let clip_dim = engine.config().freq_patches() * engine.config().embed_dim;
    let probe = dir.path().join("wide_probe.safetensors");
    write_probe(&probe, clip_dim);
    let lib_path = dir.path().join("lib.sqlite");
    let model = bundled();
    let out = earmark(&[
        OsStr::new("scan"),
        root.as_os_str(),
        OsStr::new("--library"),
        lib_path.as_os_str(),
        OsStr::new("--model"),
        model.as_os_str(),
        OsStr::new("--full"),
        // Compared with f32 encoder runs below.
        OsStr::new("--precision"),
        OsStr::new("f32"),
        OsStr::new("--json"),
        OsStr::new("--threshold"),
        OsStr::new("0"),
        OsStr::new("--head"),
        probe.as_os_str(),
    ]);
    assert!(out.contains("1 files tagged by wide_probe"), "{out}");

    // The reference: the whole file in memory, full-width segment means, the head on each.
    let cfg = engine.config();
    let p = prepare(&wav, Budget::Full, cfg.n_t, cfg.patch_size).unwrap();
    let opts = EmbedOptions {
        pool_time: false,
        ..EmbedOptions::default()
    };
    let emb = embed(&engine, &p.mel, &opts).unwrap();
    let segments = segment_means(&emb, &p.column_times);
    assert_eq!(segments.dim, clip_dim, "the model's width");
    let head = Head::load(&probe).unwrap();
    let probs: Vec<Vec<f32>> = (0..segments.len())
        .map(|i| head.probabilities(segments.vector(i)).unwrap())
        .collect();

    let lib = Library::open(&lib_path).unwrap();
    let (id, _) = lib.file_by_path(&canon(&wav)).unwrap().unwrap();
    let stored = lib.segments(id, 1).unwrap();
    assert!(
        stored.is_none_or(|s| s.dim < clip_dim),
        "the library keeps reduced segments"
    );
    let (_, timeline) = lib.segment_tags(id, Some("wide_probe")).unwrap().unwrap();
    assert_eq!(timeline.count(), segments.len());
    assert!(timeline.count() > 100);
    assert_eq!(timeline.starts, segments.starts);
    assert!(!timeline.labels.is_empty());
    for (row, label) in timeline.labels.iter().enumerate() {
        let class: usize = label.trim_start_matches("class_").parse().unwrap();
        for (i, &got) in timeline.row(row).iter().enumerate() {
            let want = probs[i][class];
            assert!(
                (got - want).abs() <= TOL,
                "{label} segment {i}: {got} vs {want}"
            );
        }
    }
    let clip_probs = head.probabilities(&emb.clip_vector()).unwrap();
    let tags: Vec<(String, f32)> = lib
        .tags_of_file(id)
        .unwrap()
        .into_iter()
        .filter(|(s, _, _)| s == "wide_probe")
        .map(|(_, l, p)| (l, p as f32))
        .collect();
    let want = top_k(&clip_probs, 5);
    assert_eq!(tags.len(), want.len());
    for ((label, got), (class, p)) in tags.iter().zip(want) {
        assert_eq!(label, &format!("class_{class}"));
        assert!((got - p).abs() <= TOL, "{label}: {got} vs {p}");
    }
}
