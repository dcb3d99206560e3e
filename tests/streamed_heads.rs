//! Heads on long files stream: `earmark predict` on audio and the AudioSet head's own encoder
//! pass during a scan encode a file a few chunks at a time, and give the in-memory results
//! (whole log-mel → encoder → clip vector and segments) for files of many chunks.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed assertion

mod common;
#[path = "common/synth.rs"]
mod synth;

use std::ffi::OsStr;
use std::path::Path;

use candle_core::Device;
use common::{WavFormat, fixture, write_wav};
use earmark::dsp::log_mel_normalised;
use earmark::library::analyse::{Budget, prepare, segment_means};
use earmark::library::tagging::encode_for_head;
use earmark::model::embed_stream::file_clip_vector;
use earmark::model::{EmbedOptions, Encoder, embed};
use synth::{earmark, tiny_model};

/// A tone sweeping slowly with a little noise, so every second differs.
fn signal(secs: f64, rate: u32) -> Vec<f64> {
    let n = (secs * f64::from(rate)) as usize;
    let mut seed = 11u64;
    (0..n)
        .map(|i| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let t = i as f64 / f64::from(rate);
            let f = 180.0 + 25.0 * t;
            0.3 * (std::f64::consts::TAU * f * t).sin() + 0.02 * ((seed >> 40) as f64 / 8e6 - 1.0)
        })
        .collect()
}

/// A 100 s file at 22.05 kHz: 17 chunks of 608 frames, 11 of 992, with a short last one.
fn long_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("long.wav");
    write_wav(&path, 1, 22_050, WavFormat::S16, &signal(100.3, 22_050));
    path
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// One chunk per batch: the stream encodes the file a chunk at a time as it is decoded.
fn one_at_a_time(opts: EmbedOptions) -> EmbedOptions {
    EmbedOptions {
        max_batch: 1,
        ..opts
    }
}

#[test]
fn a_streamed_clip_vector_equals_the_in_memory_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = long_file(dir.path());
    let clip = earmark::audio::load_mono_16k(&path).unwrap();
    let mel = log_mel_normalised(&clip.samples).unwrap();
    for (model, opts) in [
        ("tiny.safetensors", EmbedOptions::for_probe()),
        ("tiny_as.safetensors", EmbedOptions::for_audioset_head()),
    ] {
        let enc = Encoder::load(&fixture(model), &Device::Cpu).unwrap();
        let want = embed(&enc, &mel, &opts).unwrap().clip_vector();
        let got = file_clip_vector(&enc, &path, &one_at_a_time(opts.clone())).unwrap();
        assert!(max_diff(&got, &want) < 1e-5, "{model}");
        let batched = file_clip_vector(&enc, &path, &opts).unwrap();
        assert!(max_diff(&batched, &want) < 1e-5, "{model} batched");
    }
}

#[test]
fn predict_on_audio_equals_predict_on_its_log_mel() {
    let dir = tempfile::tempdir().unwrap();
    let path = long_file(dir.path());
    let mel = dir.path().join("long.safetensors");
    earmark(&[
        OsStr::new("logmel"),
        path.as_os_str(),
        OsStr::new("--out"),
        mel.as_os_str(),
    ]);
    let model = tiny_model();
    let head = fixture("probe_tiny.pth");
    let predict = |input: &Path| {
        earmark(&[
            OsStr::new("predict"),
            input.as_os_str(),
            OsStr::new("--model"),
            model.as_os_str(),
            OsStr::new("--head"),
            head.as_os_str(),
            OsStr::new("--top"),
            OsStr::new("10"),
        ])
    };
    let streamed = predict(&path);
    assert_eq!(streamed.lines().count(), 10, "{streamed}");
    assert_eq!(streamed, predict(&mel));
}

#[test]
fn predict_on_audio_too_short_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blip.wav");
    write_wav(&path, 1, 16_000, WavFormat::S16, &signal(0.01, 16_000));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args([
            OsStr::new("predict"),
            path.as_os_str(),
            OsStr::new("--model"),
        ])
        .arg(tiny_model())
        .arg("--head")
        .arg(fixture("probe_tiny.pth"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("too short"), "{err}");
}

/// The reference for a head's own encoder pass: the prepared file in memory, encoded whole.
fn in_memory(
    enc: &Encoder,
    opts: &EmbedOptions,
    path: &Path,
    budget: Budget,
) -> (Vec<f32>, Vec<f32>, usize) {
    let cfg = enc.config();
    let p = prepare(path, budget, cfg.n_t, cfg.patch_size).unwrap();
    let opts = EmbedOptions {
        pool_time: false,
        ..opts.clone()
    };
    let emb = embed(enc, &p.mel, &opts).unwrap();
    let segments = segment_means(&emb, &p.column_times);
    let n = segments.len();
    (emb.clip_vector(), segments.vectors, n)
}

#[test]
fn the_audioset_pass_streams_to_the_in_memory_result() {
    let dir = tempfile::tempdir().unwrap();
    let path = long_file(dir.path());
    let enc = Encoder::load(&fixture("tiny_as.safetensors"), &Device::Cpu).unwrap();
    let opts = EmbedOptions::for_audioset_head();
    for budget in [
        Budget::Full,
        Budget::Windows {
            count: 3,
            full_up_to_s: 30.0,
        },
    ] {
        let (clip, segments) =
            encode_for_head(&enc, &one_at_a_time(opts.clone()), &path, budget).unwrap();
        let (want_clip, want_segments, n) = in_memory(&enc, &opts, &path, budget);
        assert_eq!(segments.len(), n, "{budget:?}");
        assert_eq!(segments.dim, 64, "frequency mean: the token width");
        assert!(max_diff(&clip, &want_clip) < 1e-5, "{budget:?} clip");
        assert!(
            max_diff(&segments.vectors, &want_segments) < 1e-5,
            "{budget:?} segments"
        );
    }
    assert!(encode_for_head(&enc, &opts, &dir.path().join("missing.wav"), Budget::Full).is_err());
}
