//! Reduced-precision CPU inference (`--precision`): the encoder's outputs in bf16 and int8 stay
//! within cosine 0.999 of f32 on the reference fixtures' model and signals, and on a ViT-B of
//! random weights; a precision the CPU lacks is refused with a reason; `auto` picks one it runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use candle_core::{Device, Tensor};
use earmark::model::lowp::{self, Precision};
use earmark::model::{EmbedOptions, Encoder, EncoderConfig, embed};

mod common;

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// The reduced precisions this CPU runs (the others are checked to be refused).
fn runnable() -> Vec<Precision> {
    [Precision::Bf16, Precision::Int8]
        .into_iter()
        .filter(|p| {
            let ok = p.supported();
            if !ok {
                let err = lowp::resolve(*p).err().map(|e| e.to_string());
                assert!(
                    err.is_some_and(|e| e.contains("lacks")),
                    "{p} refused without reason"
                );
            }
            ok
        })
        .collect()
}

#[test]
fn fixture_model_clip_embeddings_stay_within_cosine_0999_of_f32() {
    let mut encoder = Encoder::load(&common::fixture("tiny.safetensors"), &Device::Cpu)
        .expect("fixture model loads");
    let signals: Vec<(&str, earmark::dsp::LogMel)> = ["sig_1p3s", "sig_7p5s", "sig_13s"]
        .into_iter()
        .map(|s| (s, common::logmel_norm(s)))
        .collect();
    for precision in runnable() {
        for (name, mel) in &signals {
            encoder.set_precision(Precision::F32).expect("f32");
            let want = embed(&encoder, mel, &EmbedOptions::default()).expect("f32 embeds");
            assert_eq!(encoder.set_precision(precision).ok(), Some(precision));
            let got = embed(&encoder, mel, &EmbedOptions::default()).expect("embeds");
            let c = cosine(&want.clip_vector(), &got.clip_vector());
            assert!(c >= 0.999, "{precision} on {name}: cosine {c}");
            assert!(
                c < 1.0 - 1e-9 || precision == Precision::F32,
                "{precision} changed nothing"
            );
        }
    }
}

#[test]
fn vit_b_tokens_stay_within_cosine_0999_of_f32() {
    let cfg = EncoderConfig::vit_base();
    let mut encoder = Encoder::random(&cfg, 7, &Device::Cpu).expect("random ViT-B");
    let values: Vec<f32> = (0..80 * 160)
        .map(|i| ((i * 7919 % 1009) as f32 / 504.5 - 1.0) + 0.5 * (i as f32 * 0.01).sin())
        .collect();
    let x = Tensor::from_vec(values, (1, 80, 160), &Device::Cpu).expect("input");
    let rows = |e: &Encoder| -> Vec<Vec<f32>> {
        let out = e.forward(&x, false).expect("forward");
        let last = out.last().expect("a layer").squeeze(0).expect("squeeze");
        last.to_vec2::<f32>().expect("rows")
    };
    let want = rows(&encoder);
    for precision in runnable() {
        encoder.set_precision(precision).expect("supported");
        let got = rows(&encoder);
        for (i, (a, b)) in want.iter().zip(&got).enumerate() {
            let c = cosine(a, b);
            assert!(c >= 0.999, "{precision}, token {i}: cosine {c}");
        }
    }
    assert_eq!(
        encoder.set_precision(Precision::F32).ok(),
        Some(Precision::F32)
    );
    assert_eq!(
        rows(&encoder),
        want,
        "back to f32 gives the f32 result again"
    );
}

#[test]
fn auto_runs_a_precision_this_cpu_has() {
    let mut encoder =
        Encoder::random(&EncoderConfig::vit_base(), 1, &Device::Cpu).expect("random ViT-B");
    let used = encoder
        .set_precision(Precision::Auto)
        .expect("auto always resolves");
    assert_ne!(used, Precision::Auto);
    assert!(used.supported());
    assert_eq!(encoder.precision(), used);
}

#[test]
fn the_command_line_refuses_an_unknown_precision() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_earmark"))
        .args([
            "embed",
            "--precision",
            "fp8",
            "--model",
            "x.safetensors",
            "--out",
            "y",
            "z.wav",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("f32, bf16, int8 or auto"), "{err}");
}
