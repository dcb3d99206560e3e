//! Short clips and the tag heads: a clip shorter than 1.2 s is also heard with digital silence
//! after it, and every tag head scores it from that vector — in a scan, when stored tags are
//! recomputed, in `earmark predict` and in `earmark eval` — while the clip vector that search
//! uses stays the clip's own.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed assertion

mod common;
#[path = "common/offline.rs"]
mod offline;

use std::path::{Path, PathBuf};

use common::{WavFormat, max_abs_diff, write_wav};
use earmark::config::TagLimits;
use earmark::dsp::frame_count;
use earmark::engine::Engine;
use earmark::library::Library;
use earmark::library::analyse::{Budget, MIN_TAG_SAMPLES, decode_stage, prepare};
use earmark::library::encoding::encode_stage;
use earmark::library::model_id::ModelIdentity;
use earmark::library::tagging::{HeadChoice, retag};
use earmark::model::bundled::starter_head_bytes;
use earmark::model::chunk::ChunkEncoder;
use earmark::model::{EmbedOptions, embed};
use earmark::tags::Head;
use offline::Offline;

/// A decaying 440 Hz tone with a few harmonics, `secs` long at 16 kHz (no resampling).
fn burst(secs: f64) -> Vec<f64> {
    let n = (secs * 16_000.0) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / 16_000.0;
            let tone: f64 = (1..5)
                .map(|k| (std::f64::consts::TAU * 440.0 * k as f64 * t).sin() / k as f64)
                .sum();
            0.4 * tone * (-t * 12.0).exp()
        })
        .collect()
}

fn write(dir: &Path, name: &str, samples: &[f64]) -> PathBuf {
    let path = dir.join(name);
    write_wav(&path, 1, 16_000, WavFormat::S16, samples);
    path
}

#[test]
fn the_tag_input_of_a_short_clip_is_the_clip_followed_by_silence() {
    let dir = tempfile::tempdir().unwrap();
    let sound = burst(0.3);
    let short = write(dir.path(), "short.wav", &sound);
    let mut followed = sound.clone();
    followed.resize(MIN_TAG_SAMPLES as usize, 0.0);
    let padded = write(dir.path(), "padded.wav", &followed);

    let p = prepare(&short, Budget::Full, 608, 16).unwrap();
    let q = prepare(&padded, Budget::Full, 608, 16).unwrap();
    assert_eq!(
        p.mel.frames,
        frame_count(sound.len()),
        "the clip vector hears the clip"
    );
    assert!(q.tag_input.is_none(), "a 1.2 s clip needs no silence");
    let tag = p.tag_input.expect("a 0.3 s clip has a tag input");
    assert_eq!(tag.frames, q.mel.frames);
    let diff = tag
        .data
        .iter()
        .zip(&q.mel.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        diff < 1e-6,
        "the file with real silence after it: max diff {diff}"
    );
    // Stored measures are the file's own.
    assert!(
        (p.meta.duration_s - 0.3).abs() < 1e-3,
        "{}",
        p.meta.duration_s
    );
}

/// The score `earmark predict --json` gives `label` for `file`.
fn predicted(world: &Offline, file: &Path, label: &str) -> f64 {
    let out = world.earmark_ok(&["predict", file.to_str().unwrap(), "--json", "--top", "47"]);
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    v["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == label)
        .and_then(|l| l["score"].as_f64())
        .unwrap()
}

/// Checks that every stored tag of each clip is the starter head's score of its tag vector, and
/// that the tag vector is the clip vector exactly when the clip is long. Returns the tags checked.
fn check_stored(lib: &Library, head: &Head, short: &Path) -> usize {
    let mut clips = Vec::new();
    lib.for_each_clip(1, |c, v| clips.push((c.file_id, c.path, v)))
        .unwrap();
    assert_eq!(clips.len(), 2, "one model, two files");
    let labels = earmark::model::bundled::starter_labels();
    let mut checked = 0;
    for (id, path, clip) in &clips {
        let tag_vector = lib.tag_vector(*id, 1).unwrap().unwrap();
        let is_short = Path::new(path) == short;
        assert_eq!(
            &tag_vector != clip,
            is_short,
            "{path}: own vector only when long"
        );
        let scores = head.probabilities(&tag_vector).unwrap();
        if is_short {
            // Its timeline: the whole clip, scored from the same vector.
            let (_, timeline) = lib.segment_tags(*id, None).unwrap().expect("a timeline");
            assert_eq!(timeline.starts, vec![0.0]);
            assert!(!timeline.labels.is_empty());
            for (row, label) in timeline.labels.iter().enumerate() {
                let i = labels.iter().position(|l| l == label).unwrap();
                let got = timeline.row(row)[0];
                assert!((got - scores[i]).abs() < 2e-3, "timeline {label}: {got}");
            }
        }
        let stored = lib.tags_of_file(*id).unwrap();
        assert!(!stored.is_empty(), "{path} has starter tags");
        for (_, label, p) in &stored {
            let i = labels.iter().position(|l| l == label).unwrap();
            let want = f64::from(scores[i]);
            assert!(
                (want - p).abs() < 2e-3,
                "{path} {label}: stored {p}, head {want}"
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn scan_retag_and_predict_score_a_short_clip_from_its_tag_vector() {
    let world = Offline::new();
    let root = world.path().join("sounds");
    std::fs::create_dir_all(&root).unwrap();
    let short = write(&root, "short.wav", &burst(0.3));
    let long = write(&root, "long.wav", &burst(2.0));
    let lib_path = world.path().join("lib.sqlite");
    let lib_arg = lib_path.to_str().unwrap();
    world.earmark_ok(&[
        "scan",
        root.to_str().unwrap(),
        "--library",
        lib_arg,
        "--quiet",
    ]);

    let heads = world.path().join("heads");
    std::fs::create_dir_all(&heads).unwrap();
    let head_path = heads.join("earmark-default-tags.safetensors");
    std::fs::write(&head_path, starter_head_bytes()).unwrap();
    let vocab = heads.join("earmark-default-tags.vocab.txt");
    let labels = earmark::model::bundled::starter_labels();
    std::fs::write(&vocab, labels.join("\n")).unwrap();
    let head = Head::load(&head_path).unwrap();

    // The scan tagged both files.
    let mut lib = Library::open(&lib_path).unwrap();
    assert!(check_stored(&lib, &head, &short) >= 2);

    // New limits: the stored vectors are scored again, every label kept.
    let choice = HeadChoice {
        path: head_path.clone(),
        labels: Some(vocab),
        limits: TagLimits {
            threshold: 0.0,
            top_n: labels.len(),
        },
        device: Default::default(),
    };
    let (tx, _rx) = crossbeam_channel::unbounded();
    let ctx = earmark::jobs::JobContext {
        events: earmark::jobs::EventSink::new(tx),
        control: std::sync::Arc::new(earmark::jobs::JobControl::new()),
    };
    retag(&mut lib, 1, &choice, Budget::Full, &ctx).unwrap();
    assert_eq!(check_stored(&lib, &head, &short), 2 * labels.len());

    // `earmark predict` hears each file as the scan did: for the short clip, on the label where
    // the clip heard bare and the clip followed by silence differ most.
    let id = lib
        .file_by_path(short.to_str().unwrap())
        .unwrap()
        .unwrap()
        .0;
    let bare = head
        .probabilities(&lib.clip_vector(id, 1).unwrap().unwrap())
        .unwrap();
    let heard = head
        .probabilities(&lib.tag_vector(id, 1).unwrap().unwrap())
        .unwrap();
    let (i, gap) = (0..labels.len())
        .map(|i| (i, (heard[i] - bare[i]).abs()))
        .fold((0, 0.0f32), |a, b| if b.1 > a.1 { b } else { a });
    assert!(
        gap > 0.05,
        "silence after the clip changes its scores: {gap}"
    );
    let got = predicted(&world, &short, labels[i]);
    assert!(
        (got - f64::from(heard[i])).abs() < 0.01,
        "{}: predict {got}, scan {}",
        labels[i],
        heard[i]
    );
    let id = lib.file_by_path(long.to_str().unwrap()).unwrap().unwrap().0;
    let scores = head
        .probabilities(&lib.tag_vector(id, 1).unwrap().unwrap())
        .unwrap();
    let got = predicted(&world, &long, labels[i]);
    assert!(
        (got - f64::from(scores[i])).abs() < 0.01,
        "long: predict {got}, scan {}",
        scores[i]
    );
}

/// The bundled encoder, counting its forward passes.
struct Counting {
    engine: Engine,
    calls: std::cell::Cell<usize>,
}

impl ChunkEncoder for Counting {
    fn config(&self) -> &earmark::model::EncoderConfig {
        self.engine.config()
    }

    fn input_device(&self) -> &candle_core::Device {
        self.engine.input_device()
    }

    fn forward_chunks(
        &self,
        x: &candle_core::Tensor,
        all_layers: bool,
    ) -> earmark::error::Result<Vec<candle_core::Tensor>> {
        self.calls.set(self.calls.get() + 1);
        self.engine.forward_chunks(x, all_layers)
    }
}

#[test]
fn the_tag_inputs_of_short_clips_in_one_scan_share_a_batch_and_stay_their_own() {
    let dir = tempfile::tempdir().unwrap();
    // Three short clips of different lengths (2, 3 and 6 patch columns heard bare; all of one
    // length with silence after them) and one long file.
    let files: Vec<PathBuf> = [0.2, 0.45, 0.9, 2.0]
        .iter()
        .enumerate()
        .map(|(i, &secs)| {
            let pitch: Vec<f64> = burst(secs)
                .iter()
                .enumerate()
                .map(|(n, v)| v * (1.0 + 0.5 * ((n as f64) * 0.001 * (i + 1) as f64).sin()))
                .collect();
            write(dir.path(), &format!("clip{i}.wav"), &pitch)
        })
        .collect();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/earmark-default.safetensors");
    let engine = Engine::load(&path, earmark::model::device::DeviceChoice::Cpu).unwrap();
    let model = ModelIdentity::of_file(&path, engine.config()).unwrap();
    let encoder = Counting {
        engine,
        calls: Default::default(),
    };
    let cfg = encoder.config().clone();

    let (piece_tx, piece_rx) = crossbeam_channel::unbounded();
    let work = files
        .iter()
        .enumerate()
        .map(|(i, p)| (i as i64, p.display().to_string(), p.clone()));
    let control = earmark::jobs::JobControl::new();
    decode_stage(
        work,
        Budget::Full,
        cfg.n_t,
        cfg.patch_size,
        &control,
        &piece_tx,
    );
    drop(piece_tx);
    let (done_tx, done_rx) = crossbeam_channel::unbounded();
    encode_stage(&encoder, &model, 8, Vec::new(), &piece_rx, &done_tx);
    drop(done_tx);
    // One forward pass per chunk length: 2, 3, 6 and 13 columns, and one for the three tag
    // inputs together (each encoded on its own would take three).
    assert_eq!(encoder.calls.get(), 5);

    let results: Vec<_> = done_rx.iter().collect();
    assert_eq!(results.len(), files.len());
    let opts = EmbedOptions::default();
    for (id, _, analysis) in results {
        let analysis = analysis.unwrap();
        let file = &files[id as usize];
        let prepared = prepare(file, Budget::Full, cfg.n_t, cfg.patch_size).unwrap();
        let want = embed(&encoder.engine, &prepared.mel, &opts).unwrap();
        assert!(max_abs_diff(&analysis.clip, &want.clip_vector()) < 1e-5);
        match (&prepared.tag_input, &analysis.tag_clip) {
            (Some(mel), Some(tag)) => {
                let want = embed(&encoder.engine, mel, &opts).unwrap().clip_vector();
                let diff = max_abs_diff(tag, &want);
                assert!(diff < 1e-5, "{}: tag vector off by {diff}", file.display());
                assert!(max_abs_diff(tag, &analysis.clip) > 1e-3);
            }
            (None, None) => assert_eq!(id, 3, "only the long file has no tag input"),
            _ => panic!(
                "{}: tag vector without tag input, or the reverse",
                file.display()
            ),
        }
    }
}

/// An index made before tag vectors were kept has none for its short clips: the next scan
/// analyses those clips again (and only those), after which nothing is left to do.
#[test]
fn the_next_scan_gives_an_older_index_the_tag_vectors_of_its_short_clips() {
    let world = Offline::new();
    let root = world.path().join("sounds");
    std::fs::create_dir_all(&root).unwrap();
    let short = write(&root, "short.wav", &burst(0.3));
    write(&root, "long.wav", &burst(2.0));
    let lib_path = world.path().join("lib.sqlite");
    let scan = [
        "scan",
        root.to_str().unwrap(),
        "--library",
        lib_path.to_str().unwrap(),
        "--quiet",
    ];
    world.earmark_ok(&scan);
    let lib = Library::open(&lib_path).unwrap();
    let short_id = lib
        .file_by_path(short.to_str().unwrap())
        .unwrap()
        .unwrap()
        .0;
    let heard = lib.tag_vector(short_id, 1).unwrap().unwrap();
    let roots: Vec<i64> = lib.roots().unwrap().iter().map(|r| r.0).collect();
    assert!(lib.files_to_analyse(&roots, 1).unwrap().is_empty());
    drop(lib);

    // As an earlier version left it: no tag vectors.
    let db = rusqlite::Connection::open(&lib_path).unwrap();
    db.execute("UPDATE clip_embeddings SET tag_vector = NULL", [])
        .unwrap();
    db.execute("UPDATE tags SET score = 0.5 WHERE file_id = ?1", [short_id])
        .unwrap();
    drop(db);
    let lib = Library::open(&lib_path).unwrap();
    let queued = lib.files_to_analyse(&roots, 1).unwrap();
    assert_eq!(queued.len(), 1, "only the short clip: {queued:?}");
    assert_eq!(queued[0].0, short_id);
    assert_eq!(
        lib.tag_vector(short_id, 1).unwrap().unwrap(),
        lib.clip_vector(short_id, 1).unwrap().unwrap()
    );
    drop(lib);

    world.earmark_ok(&scan);
    let lib = Library::open(&lib_path).unwrap();
    assert_eq!(lib.tag_vector(short_id, 1).unwrap().unwrap(), heard);
    assert!(lib.files_to_analyse(&roots, 1).unwrap().is_empty());
    // Its starter tags (and timeline) are scored again from that vector.
    let head_path = world.path().join("starter.safetensors");
    std::fs::write(&head_path, starter_head_bytes()).unwrap();
    let head = Head::load(&head_path).unwrap();
    assert!(check_stored(&lib, &head, &short) >= 2);
}
