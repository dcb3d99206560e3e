//! The whole path from the WAV files — decode, front end, encoder, heads — against the official
//! implementation's golden numbers, with the `.pt` and the `.safetensors` weights.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use candle_core::Device;
use common::*;
use earmark::dsp::LogMel;
use earmark::model::{EmbedOptions, Encoder, FreqLayout, Mode, embed};
use earmark::tags::{Head, top_k};

/// Probabilities end to end (the reference's own f32 log-mel rounding is part of the budget).
const PROB_TOL_E2E: f32 = 1e-5;

fn mel_from_wav(sig: &str) -> LogMel {
    let clip = earmark::audio::load_mono_16k(&fixture(&format!("{sig}.wav"))).unwrap();
    earmark::dsp::log_mel_normalised(&clip.samples).unwrap()
}

fn opts(mode: Mode, freq: FreqLayout, pool: bool) -> EmbedOptions {
    embed_opts(mode, freq, pool)
}

#[test]
fn every_mode_matches_the_reference_from_wav() {
    let mut worst = 0.0f32;
    for model in TINY {
        let enc = Encoder::load(&fixture(model), &Device::Cpu).unwrap();
        for sig in SIGNALS {
            let mel = mel_from_wav(sig);
            let file = format!("{sig}.safetensors");
            let mut cases = vec![
                ("precise", opts(Mode::Precise, FreqLayout::Concat, false)),
                ("precise", opts(Mode::Precise, FreqLayout::Concat, true)),
                ("fast", opts(Mode::Fast, FreqLayout::Concat, false)),
                ("fast", opts(Mode::Fast, FreqLayout::Concat, true)),
            ];
            if sig == "sig_7p5s" {
                cases.push((
                    "precise_noconcat",
                    opts(Mode::Precise, FreqLayout::Tokens, false),
                ));
                cases.push((
                    "precise_noconcat",
                    opts(Mode::Precise, FreqLayout::Tokens, true),
                ));
            }
            for (prefix, o) in cases {
                let e = embed(&enc, &mel, &o).unwrap();
                let suffix = if o.pool_time { "_pooled" } else { "" };
                let layers = load(&file, &format!("{prefix}.layers{suffix}"));
                let emb = load(&file, &format!("{prefix}.emb{suffix}"));
                let case = format!("{model} {sig} {prefix}{suffix}");
                assert_eq!(layers.shape[1], e.num_layers(), "{case}");
                worst = worst.max(assert_close(&case, &e.data, &layers.data, TOL));
                worst = worst.max(assert_close(&case, e.last(), &emb.data, TOL));
            }
        }
    }
    println!("end to end from WAV: worst max abs error {worst:e}");
}

#[test]
fn probe_from_wav_matches_the_reference() {
    let want = load("probe_tiny.safetensors", "probs");
    for model in TINY {
        let enc = Encoder::load(&fixture(model), &Device::Cpu).unwrap();
        let head = Head::load(&fixture("probe_tiny.pth")).unwrap();
        let e = embed(&enc, &mel_from_wav("sig_7p5s"), &head.embed_options()).unwrap();
        let probs = head.probabilities(&e.clip_vector()).unwrap();
        let err = assert_close(model, &probs, &want.data, PROB_TOL_E2E);
        println!("{model}: probe probabilities from WAV, max abs error {err:e}");
        let top: Vec<usize> = top_k(&probs, 5).iter().map(|t| t.0).collect();
        assert_eq!(top, [6, 0, 2, 8, 7]);
    }
}

#[test]
fn audioset_head_from_wav_matches_the_reference() {
    for model in TINY_AS {
        let enc = Encoder::load(&fixture(model), &Device::Cpu).unwrap();
        let head = Head::load(&fixture(model)).unwrap();
        for sig in ["sig_7p5s", "sig_13s"] {
            let e = embed(&enc, &mel_from_wav(sig), &head.embed_options()).unwrap();
            let probs = head.probabilities(&e.clip_vector()).unwrap();
            let want = load("as_head_case.safetensors", &format!("{sig}.probs"));
            let err = assert_close(&format!("{model} {sig}"), &probs, &want.data, PROB_TOL_E2E);
            println!("{model} {sig}: AudioSet probabilities from WAV, max abs error {err:e}");
            let idx = load("as_head_case.safetensors", &format!("{sig}.top5_idx"));
            let got: Vec<f32> = top_k(&probs, 5).iter().map(|t| t.0 as f32).collect();
            assert_eq!(got, idx.data, "{model} {sig}: top-5 indices");
        }
    }
}
