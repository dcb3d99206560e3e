#![allow(clippy::unwrap_used)] // test code: a panic is the failure report
//! Supervised fine-tuning: the embedding it trains is the one inference computes, a run learns
//! labels of synthetic sounds, resumes exactly, and exports a model and a multi-label tag head
//! that the rest of Earmark loads.

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::path::{Path, PathBuf};

use candle_core::Device;
use common::{WavFormat, write_wav};
use earmark::dsp::LogMel;
use earmark::model::{EmbedOptions, Encoder, embed};
use earmark::tags::Head;
use earmark::train::finetune::{FineTune, FineTuneConfig};
use earmark::train::finetune_io::{encoder_tensors, latest_checkpoint, load_checkpoint};
use earmark::train::labelled::{COLUMN, CropGroup};

const LABELS: [&str; 4] = ["chord", "noise", "clicks", "unused"];

#[test]
fn the_training_embedding_equals_the_inference_clip_embedding() {
    let model = synth::tiny_model();
    let (cfg, tensors) = encoder_tensors(&model, &Device::Cpu).unwrap();
    let labels = LABELS.iter().map(|s| s.to_string()).collect();
    let run = FineTune::new(
        FineTuneConfig::default(),
        cfg.clone(),
        labels,
        &tensors,
        &Device::Cpu,
    )
    .unwrap();
    let encoder = Encoder::load(&model, &Device::Cpu).unwrap();
    let mut rng = synth::Rng(5);
    for frames in [7usize, 70, cfg.time_patches() * COLUMN] {
        let mel: Vec<f32> = (0..80 * frames).map(|_| rng.signed() as f32).collect();
        let cols = frames.div_ceil(COLUMN);
        let mut padded = Vec::new();
        for band in 0..80 {
            padded.extend_from_slice(&mel[band * frames..(band + 1) * frames]);
            padded.extend(std::iter::repeat_n(0.0, cols * COLUMN - frames));
        }
        let group = CropGroup {
            cols,
            data: padded,
            labels: vec![0],
        };
        let trained = run.embed(&group).unwrap().to_vec2::<f32>().unwrap();
        let input = LogMel { data: mel, frames };
        let inferred = embed(&encoder, &input, &EmbedOptions::for_probe())
            .unwrap()
            .clip_vector();
        assert_eq!(trained[0].len(), inferred.len());
        let worst = trained[0]
            .iter()
            .zip(&inferred)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{frames} frames: largest difference {worst}");
    }
}

/// Three kinds of sound, eight files each, 0.6–1.6 s; the label table and the vocabulary.
fn dataset(dir: &Path) -> (PathBuf, PathBuf) {
    let mut table = String::from("path\tlabel\tpackage\tsplit\n");
    for (kind, label) in [(0usize, "chord"), (1, "noise"), (4, "clicks")] {
        for i in 0..8u64 {
            let path = dir.join(format!("{label}-{i}.wav"));
            let secs = 0.6 + 0.125 * i as f64;
            let x = synth::sound(kind, 10 + i, secs, 16_000);
            write_wav(&path, 1, 16_000, WavFormat::F32, &x);
            let split = if i < 6 { "train" } else { "val" };
            table.push_str(&format!("{}\t{label}\tsynth\t{split}\n", path.display()));
        }
    }
    let labels = dir.join("labels.tsv");
    std::fs::write(&labels, table).unwrap();
    let vocab = dir.join("vocab.tsv");
    let rows: String = LABELS
        .iter()
        .map(|l| format!("{l}\tgroup\ta sound\n"))
        .collect();
    std::fs::write(&vocab, format!("label\tgroup\tdefinition\n{rows}")).unwrap();
    (labels, vocab)
}

fn finetune(labels: &Path, vocab: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args: Vec<std::ffi::OsString> = vec![
        "finetune".into(),
        "--labels".into(),
        labels.into(),
        "--out".into(),
        out.into(),
    ];
    if extra.first() != Some(&"--resume") {
        args.extend([
            "--model".into(),
            synth::tiny_model().into(),
            "--vocab".into(),
            vocab.into(),
            "--steps".into(),
            "40".into(),
            "--batch".into(),
            "8".into(),
            "--lr".into(),
            "1e-3".into(),
            "--every".into(),
            "20".into(),
        ]);
    }
    args.extend(extra.iter().map(Into::into));
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    synth::earmark(&refs)
}

fn losses(log: &Path) -> Vec<f64> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "step")
        .map(|v| v["stats"]["loss"].as_f64().unwrap())
        .collect()
}

#[test]
fn fine_tuning_learns_resumes_exactly_and_exports_a_model_and_a_tag_head() {
    let dir = tempfile::tempdir().unwrap();
    let (labels, vocab) = dataset(dir.path());
    let straight = dir.path().join("straight");
    let out = finetune(&labels, &vocab, &straight, &[]);
    assert!(out.contains("train: 15 files, 3 of 4 labels"), "{out}");
    assert!(out.contains("val    "), "the val split is scored: {out}");

    // 20 updates, stop, resume to 40: the same losses and the same final weights.
    let halves = dir.path().join("halves");
    finetune(&labels, &vocab, &halves, &["--stop-at", "20"]);
    assert_eq!(losses(&halves.join("log.jsonl")).len(), 20);
    let resumed = halves.to_str().unwrap();
    finetune(&labels, &vocab, &halves, &["--resume", resumed]);
    let (a, b) = (
        losses(&straight.join("log.jsonl")),
        losses(&halves.join("log.jsonl")),
    );
    assert_eq!(a, b, "a resumed run repeats the straight one");
    let (ca, cb) = (
        latest_checkpoint(&straight).unwrap(),
        latest_checkpoint(&halves).unwrap(),
    );
    let (ra, rb) = (
        load_checkpoint(&ca, &Device::Cpu).unwrap(),
        load_checkpoint(&cb, &Device::Cpu).unwrap(),
    );
    assert_eq!(
        (ra.step, ra.adam.t, ra.rng.0),
        (rb.step, rb.adam.t, rb.rng.0)
    );
    for (name, var) in &ra.params {
        let x = var
            .as_tensor()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let y = rb.params[name].as_tensor().flatten_all().unwrap();
        assert!(
            x == y.to_vec1::<f32>().unwrap(),
            "`{name}` differs after a resume"
        );
    }

    // It learned: the loss fell, and the exported model with its head names the kinds.
    let early: f64 = a[..5].iter().sum::<f64>() / 5.0;
    let late: f64 = a[a.len() - 5..].iter().sum::<f64>() / 5.0;
    assert!(late < early * 0.8, "loss {early:.3} → {late:.3}");
    let head = Head::load(&straight.join("head.safetensors")).unwrap();
    assert!(matches!(head, Head::MultiLabel(_)));
    assert_eq!(head.classes(), 4);
    let vocab_text = std::fs::read_to_string(straight.join("head.vocab.txt")).unwrap();
    assert_eq!(vocab_text.lines().collect::<Vec<_>>(), LABELS);
    let encoder = Encoder::load(&straight.join("model.safetensors"), &Device::Cpu).unwrap();
    let mut right = 0;
    let mut total = 0;
    for (kind, label) in [(0usize, 0usize), (1, 1), (4, 2)] {
        for i in 0..8u64 {
            let x: Vec<f32> = synth::sound(kind, 10 + i, 1.0, 16_000)
                .iter()
                .map(|&v| v as f32)
                .collect();
            let mel = earmark::dsp::log_mel_normalised(&x).unwrap();
            let clip = embed(&encoder, &mel, &head.embed_options())
                .unwrap()
                .clip_vector();
            let p = head.probabilities(&clip).unwrap();
            let best = earmark::tags::top_k(&p, 1)[0].0;
            right += usize::from(best == label);
            total += 1;
            assert!(p[3] < 0.5, "a label without files stays unlikely: {p:?}");
        }
    }
    assert!(right * 10 >= total * 8, "{right} of {total} named right");

    // `earmark eval --head` scores the head on folders named by its labels.
    let folders = dir.path().join("folders");
    for (kind, label) in [(0usize, "chord"), (1, "noise"), (4, "clicks")] {
        std::fs::create_dir_all(folders.join(label)).unwrap();
        for i in 0..5u64 {
            let x = synth::sound(kind, 40 + i, 1.2, 16_000);
            write_wav(
                &folders.join(label).join(format!("{i}.wav")),
                1,
                16_000,
                WavFormat::F32,
                &x,
            );
        }
    }
    std::fs::create_dir_all(folders.join("gong")).unwrap();
    for i in 0..2u64 {
        let x = synth::sound(2, 60 + i, 1.2, 16_000);
        write_wav(
            &folders.join("gong").join(format!("{i}.wav")),
            1,
            16_000,
            WavFormat::F32,
            &x,
        );
    }
    let report = synth::earmark(&[
        "eval".as_ref(),
        "--folders".as_ref(),
        folders.as_os_str(),
        "--model".as_ref(),
        straight.join("model.safetensors").as_os_str(),
        "--head".as_ref(),
        straight.join("head.safetensors").as_os_str(),
        "--shots".as_ref(),
        "1".as_ref(),
        "--repeats".as_ref(),
        "2".as_ref(),
        "--json".as_ref(),
    ]);
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    let h = &v["head"];
    assert_eq!(h["files"], 15, "{h}");
    assert!(h["top1_accuracy"].as_f64().unwrap() >= 0.8, "{h}");
    assert_eq!(h["unknown_classes"], serde_json::json!(["gong"]));
    assert_eq!(h["labels"].as_array().unwrap().len(), 3);
}
