//! `earmark eval` on a generated labelled set: four classes of synthetic sounds (tones, noise
//! bursts, chirps, clicks), each file with its own random pitch, timing, length and level.
//! The run prints few-shot accuracy at 5 examples per class for the tiny fixture model and the
//! log-mel baseline; on the baseline the classes are well apart. A file that does not decode
//! is reported and left out.
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::f64::consts::PI;
use std::ffi::OsStr;
use std::path::Path;

use common::{WavFormat, write_wav};
use synth::{Rng, earmark, tiny_model};

const RATE: u32 = 16_000;
const CLASSES: [&str; 4] = ["chirps", "clicks", "noise_bursts", "tones"];
const PER_CLASS: usize = 12;

/// One sound of `class` with variation from `rng`: 0.8–1.6 s, level −12…0 dB.
fn labelled_sound(class: &str, rng: &mut Rng) -> Vec<f64> {
    let fs = f64::from(RATE);
    let n = ((0.8 + 0.8 * rng.next()) * fs) as usize;
    let gain = 10f64.powf(-0.6 * rng.next());
    let x: Vec<f64> = match class {
        "tones" => {
            let f0 = 200.0 + 800.0 * rng.next();
            let h2 = rng.next() * 0.5;
            (0..n)
                .map(|i| {
                    let t = i as f64 / fs;
                    let env = (t * 20.0).min(1.0);
                    env * 0.5 * ((2.0 * PI * f0 * t).sin() + h2 * (4.0 * PI * f0 * t).sin())
                })
                .collect()
        }
        "noise_bursts" => {
            let period = (0.15 + 0.2 * rng.next()) * fs;
            let on = period * (0.3 + 0.4 * rng.next());
            (0..n)
                .map(|i| {
                    let inside = (i as f64 % period) < on;
                    if inside { 0.5 * rng.signed() } else { 0.0 }
                })
                .collect()
        }
        "chirps" => {
            let f_start = 300.0 + 700.0 * rng.next();
            let f_end = 2500.0 + 3000.0 * rng.next();
            let dur = n as f64 / fs;
            (0..n)
                .map(|i| {
                    let t = i as f64 / fs;
                    let phase = f_start * t + (f_end - f_start) * t * t / (2.0 * dur);
                    0.5 * (2.0 * PI * phase).sin()
                })
                .collect()
        }
        _ => {
            let period = ((0.03 + 0.1 * rng.next()) * fs) as usize;
            let mut env: f64 = 0.0;
            (0..n)
                .map(|i| {
                    if i % period == 0 {
                        env = 0.9;
                    }
                    env *= 0.97;
                    env * rng.signed()
                })
                .collect()
        }
    };
    x.into_iter().map(|v| v * gain).collect()
}

fn write_set(root: &Path) {
    let mut rng = Rng(2024);
    for class in CLASSES {
        let dir = root.join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..PER_CLASS {
            let x = labelled_sound(class, &mut rng);
            write_wav(
                &dir.join(format!("{i:02}.wav")),
                1,
                RATE,
                WavFormat::S16,
                &x,
            );
        }
    }
    std::fs::write(root.join("tones/broken.wav"), b"RIFF....WAVEnot audio").unwrap();
}

fn eval_args<'a>(root: &'a Path, model: &'a Path, extra: &'a [&'a str]) -> Vec<&'a OsStr> {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("eval"),
        OsStr::new("--folders"),
        root.as_os_str(),
        OsStr::new("--model"),
        model.as_os_str(),
        OsStr::new("--device"),
        OsStr::new("cpu"),
        OsStr::new("--repeats"),
        OsStr::new("5"),
    ];
    args.extend(extra.iter().map(OsStr::new));
    args
}

#[test]
fn eval_prints_few_shot_accuracy_for_model_and_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("set");
    write_set(&root);
    let model = tiny_model();

    let json: serde_json::Value =
        serde_json::from_str(&earmark(&eval_args(&root, &model, &["--json"]))).unwrap();
    assert_eq!(json["items"], 4 * PER_CLASS, "{json:#}");
    let skipped = json["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{json:#}");
    assert!(skipped[0]["path"].as_str().unwrap().ends_with("broken.wav"));
    assert_eq!(json["chance"], 0.25);
    let five = |scores: &serde_json::Value| -> (f64, f64) {
        let s = scores["few_shot"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["shots"] == 5)
            .unwrap();
        assert_eq!(s["classes"], 4);
        assert_eq!(s["repeats"], 5);
        (s["mean"].as_f64().unwrap(), s["std"].as_f64().unwrap())
    };
    let (model_acc, _) = five(&json["model"]);
    let (base_acc, base_std) = five(&json["baseline"]);
    eprintln!(
        "5-shot accuracy: model {model_acc:.3}, baseline {base_acc:.3} ± {base_std:.3}; \
         baseline k-NN P@1 {}",
        json["baseline"]["knn_precision_at_1"]
    );
    assert_eq!(
        json["model"]["dim"], 320,
        "tiny model: 5 frequency tokens × 64"
    );
    assert_eq!(json["baseline"]["dim"], 160);
    assert!((0.0..=1.0).contains(&model_acc));
    assert!(
        base_acc > 0.85,
        "the baseline must separate the synthetic classes (chance 0.25): {base_acc}"
    );
    let p1 = json["baseline"]["knn_precision_at_1"].as_f64().unwrap();
    assert!(p1 > 0.75, "baseline k-NN P@1 {p1}");

    // The same set as a CSV of relative paths and labels (baseline only: no model needed).
    let mut csv = String::from("path,label\n");
    for class in CLASSES {
        for i in 0..PER_CLASS {
            csv.push_str(&format!("set/{class}/{i:02}.wav,{class}\n"));
        }
    }
    let csv_path = dir.path().join("labels.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let from_csv: serde_json::Value = serde_json::from_str(&earmark(&[
        OsStr::new("eval"),
        OsStr::new("--labels"),
        csv_path.as_os_str(),
        OsStr::new("--baseline-only"),
        OsStr::new("--repeats"),
        OsStr::new("5"),
        OsStr::new("--json"),
    ]))
    .unwrap();
    assert!(from_csv["model"].is_null());
    assert_eq!(
        from_csv["baseline"], json["baseline"],
        "same files, same seeds, same scores"
    );

    let text = earmark(&eval_args(&root, &model, &["--quiet"]));
    assert!(text.contains("5-shot acc."), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("tiny (320-d)")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("log-mel statistics (160-d)")),
        "{text}"
    );
}

/// A headless run on a machine without a desktop session (no `XDG_RUNTIME_DIR`): looking for a
/// GPU prints nothing about Wayland (Mesa's Vulkan device-selection layer used to make the
/// Wayland client library say "XDG_RUNTIME_DIR is invalid" once per enumeration).
#[test]
fn a_headless_eval_prints_no_desktop_session_noise() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("set");
    for (class, seed) in [("tones", 1), ("noise", 2)] {
        let d = root.join(class);
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..3 {
            let mut rng = Rng(seed * 10 + i);
            let x = labelled_sound(
                if class == "tones" {
                    "tones"
                } else {
                    "noise_bursts"
                },
                &mut rng,
            );
            write_wav(&d.join(format!("{i}.wav")), 1, RATE, WavFormat::S16, &x);
        }
    }
    let model = tiny_model();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_earmark"))
        .arg("eval")
        .arg("--folders")
        .arg(&root)
        .arg("--model")
        .arg(&model)
        .args([
            "--device",
            "auto",
            "--repeats",
            "1",
            "--shots",
            "1",
            "--quiet",
        ])
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("XDG_RUNTIME_DIR"), "noise on stderr:\n{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 classes"));
}
